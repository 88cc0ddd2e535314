#!/usr/bin/env python3
"""Watching the cutover (design.md §14): /metrics scraped by Debian's real
Prometheus server and checked by promtool, the probes while the MongoDB
server goes away and comes back, the admin listener, and the dashboard in
Debian's headless Chromium (Playwright)."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from harness import ADMIN_TOKEN, ROOT, Gateway, Response, Runner, binary_arg, eq, free_port, make_token  # noqa: E402
from modes import create, wait_journal_empty  # noqa: E402
from mongo import Mongo  # noqa: E402
from passthrough import Upstream  # noqa: E402

T1 = make_token(1)
T2 = make_token(2)
PROMETHEUS = "/usr/bin/prometheus"
PROMTOOL = "/usr/bin/promtool"
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = os.path.join(ROOT, "build", "test-artifacts")


def admin_config(**over):
    cfg = {"admin": {"prefix": "/_cutover/", "token": ADMIN_TOKEN, "listen": "127.0.0.1:0"}}
    cfg.update(over)
    return cfg


def admin_port(gw):
    assert gw.admin_port != gw.port, "no admin listener in the log:\n" + gw.read_log()
    return gw.admin_port


def fetch(port, path, token=None, method="GET", body=None):
    """A request to any port: a harness Response."""
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    h = {"Authorization": "Bearer " + token} if token else {}
    if body is not None:
        h["Content-Type"] = "application/json"
        body = json.dumps(body).encode()
    conn.request(method, path, body=body, headers=h)
    r = conn.getresponse()
    resp = Response(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
    conn.close()
    return resp


def admin_json(port, path):
    r = fetch(port, "/_cutover/" + path, ADMIN_TOKEN)
    eq(r.status, 200, (path, r.text))
    return r.json()


def samples(text):
    """The exposition as {(name, frozenset(labels)): value}."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$', line)
        assert m, "not an exposition line: %r" % line
        labels = frozenset(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        out[(m.group(1), labels)] = float(m.group(4))
    return out


def total(smp, name, **labels):
    want = set(labels.items())
    return sum(v for (n, ls), v in smp.items() if n == name and want <= set(ls))


def wait_for(what, fn, timeout=20):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError("%s: still %r after %d s" % (what, last, timeout))


def mismatch_on_purpose(gw, inv_id, value):
    """Change a document behind the gateway's back: the next compared read differs."""
    gw.docs("await db.collection('invoices').updateOne({_id: %s}, {$set: {client_name: %s}});"
            % (json.dumps(inv_id), json.dumps(value)))


class Prometheus:
    """Debian's Prometheus server, scraping the gateway's admin listener every second."""

    def __init__(self, target_port):
        for tool in (PROMETHEUS, PROMTOOL):
            if not os.access(tool, os.X_OK):
                raise RuntimeError("%s is missing: scripts/deps.sh installs Debian's prometheus package" % tool)
        self.dir = tempfile.mkdtemp(prefix="cutover-prometheus-")
        self.port = free_port()
        cfg = os.path.join(self.dir, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\n"
                    "scrape_configs:\n  - job_name: cutover\n    metrics_path: /metrics\n"
                    "    authorization:\n      type: Bearer\n      credentials: %s\n"
                    "    static_configs:\n      - targets: ['127.0.0.1:%d']\n" % (ADMIN_TOKEN, target_port))
        self.log = open(os.path.join(self.dir, "prometheus.log"), "wb")
        self.proc = subprocess.Popen([PROMETHEUS, "--config.file=" + cfg, "--storage.tsdb.path=" + self.dir + "/data",
                                      "--web.listen-address=127.0.0.1:%d" % self.port, "--log.level=warn"],
                                     stdout=self.log, stderr=self.log)
        wait_for("prometheus ready", self.ready, 30)

    def ready(self):
        if self.proc.poll() is not None:
            raise RuntimeError("prometheus exited:\n" + open(self.log.name).read()[-3000:])
        try:
            return urllib.request.urlopen("http://127.0.0.1:%d/-/ready" % self.port, timeout=2).status == 200
        except OSError:
            return False

    def query(self, expr):
        """An instant query: {frozenset(labels): value}."""
        url = "http://127.0.0.1:%d/api/v1/query?%s" % (self.port, urllib.parse.urlencode({"query": expr}))
        doc = json.load(urllib.request.urlopen(url, timeout=10))
        assert doc["status"] == "success", doc
        return {frozenset(r["metric"].items()): float(r["value"][1]) for r in doc["data"]["result"]}

    def close(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def load(gw, seconds, counts):
    """A read/write mix on two threads: creates, updates, lists and details."""
    stop = time.time() + seconds
    lock = threading.Lock()
    errors = []

    def worker(n0, token):
        ids = []
        n = n0
        while time.time() < stop:
            n += 1
            r = gw.request("POST", "/api/invoices/", {"invoice_number": "O-%06d" % n, "client_name": "Load",
                                                     "issue_date": "2025-11-01", "items": []}, token)
            if r.status != 201:
                errors.append(r.status)
                continue
            ids.append(r.json()["id"])
            reqs = [("GET", "/api/invoices/%s/" % ids[-1]), ("GET", "/api/invoices/?page_size=5"),
                    ("PATCH", "/api/invoices/%s/" % ids[0]), ("GET", "/api/payments/")]
            for method, path in reqs:
                r = gw.request(method, path, {"notes": "n%d" % n} if method == "PATCH" else None, token)
                if r.status != 200:
                    errors.append((method, path, r.status))
            with lock:
                counts["invoices"] = counts.get("invoices", 0) + 4
                counts["payments"] = counts.get("payments", 0) + 1
    threads = [threading.Thread(target=worker, args=(i * 100000, t)) for i, t in enumerate((T1, T2))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:10]


def settle(gw, port):
    """Every comparison made and every copy applied: the counters stand still."""
    wait_journal_empty(gw)
    prev = None
    for _ in range(100):
        cur = json.dumps(admin_json(port, "routes"), sort_keys=True)
        if cur == prev:
            return
        prev = cur
        time.sleep(0.3)
    raise AssertionError("the admin counters never settled")


def test_prometheus_scrapes_what_the_admin_api_reports(binary, mongo):
    gw = Gateway(binary, mongo=mongo, mode="shadow", config=admin_config())
    prom = None
    try:
        port = admin_port(gw)
        prom = Prometheus(port)
        wait_for("a first scrape", lambda: prom.query('up{job="cutover"}') and
                 list(prom.query('up{job="cutover"}').values()) == [1.0], 15)
        counts = {}
        load(gw, 4, counts)
        inv = create(gw, 900001)
        settle(gw, port)
        mismatch_on_purpose(gw, inv["id"], "Changed behind the gateway")
        eq(gw.request("GET", "/api/invoices/%s/" % inv["id"], token=T1).status, 200)
        counts["invoices"] += 2
        settle(gw, port)

        text = fetch(port, "/metrics", ADMIN_TOKEN)
        eq(text.status, 200)
        assert text.headers["content-type"].startswith("text/plain; version=0.0.4"), text.headers
        chk = subprocess.run([PROMTOOL, "check", "metrics"], input=text.body, capture_output=True)
        eq((chk.returncode, chk.stdout + chk.stderr), (0, b""), "promtool check metrics")

        routes = {r["route"]: r for r in admin_json(port, "routes")["routes"]}
        journal = admin_json(port, "journal")
        inv_r = routes["invoices"]
        assert inv_r["mismatched"] == 1 and inv_r["matched"] > 10, inv_r

        def scraped(expr, want):
            got = prom.query(expr)
            return sum(got.values()) == want and got

        # Prometheus holds what the gateway reports, once a scrape has seen it.
        checks = [
            ('sum(cutover_requests_total{route="invoices",mode="shadow",store="legacy"})', counts["invoices"]),
            ('sum(cutover_requests_total{route="payments",mode="shadow",store="legacy"})', counts["payments"]),
            ('cutover_comparisons_total{route="invoices",outcome="match"}', inv_r["matched"]),
            ('cutover_comparisons_total{route="invoices",outcome="mismatch"}', inv_r["mismatched"]),
            ('cutover_comparisons_total{route="invoices",outcome="raced"}', inv_r["raced"]),
            ('cutover_comparisons_total{route="payments",outcome="match"}', routes["payments"]["matched"]),
            ('cutover_mismatched_paths_total{route="invoices",path="/client_name"}',
             inv_r["mismatched_paths"]["/client_name"]),
            ('sum(cutover_store_latency_seconds_count{route="invoices",store="legacy"})',
             inv_r["latency_ms"]["legacy"]["calls"]),
            ('sum(cutover_store_latency_seconds_count{route="invoices",store="mongodb"})',
             inv_r["latency_ms"]["mongodb"]["calls"]),
            ('cutover_journal_depth', journal["depth"]),
            ('cutover_journal_drained_total', journal["drained"]),
            ('cutover_route_mode{route="invoices",mode="shadow"}', 1),
            ('cutover_route_mode{route="invoices",mode="legacy"}', 0),
            ('cutover_route_ready{route="invoices"}', 0),
            ('up{job="cutover"}', 1),
        ]
        for expr, want in checks:
            wait_for("%s == %r" % (expr, want), lambda: scraped(expr, want), 15)
        assert journal["drained"] > 0, journal
        # Authoritative and secondary apart: the comparisons read MongoDB.
        sec = prom.query('cutover_store_latency_seconds_count{route="invoices",store="mongodb",role="secondary"}')
        assert sum(sec.values()) >= inv_r["compared"], (sec, inv_r)
        # The p99 Prometheus interpolates lies in the bucket whose upper bound the admin API reports.
        p99 = prom.query('histogram_quantile(0.99, sum by (le) (cutover_store_latency_seconds_bucket'
                         '{route="invoices",store="legacy"}))')
        want = inv_r["latency_ms"]["legacy"]["p99"] / 1000
        assert p99 and want / 2 <= list(p99.values())[0] <= want, (p99, want)
        # Every query of the Grafana dashboard runs, on metrics the gateway exposes.
        with open(os.path.join(ROOT, "etc", "grafana-dashboard.json")) as f:
            exprs = [t["expr"] for p in json.load(f)["panels"] for t in p["targets"]]
        families = set(re.findall(r"^# TYPE (\S+) ", text.text, re.M))
        for expr in exprs:
            for name in re.findall(r"\bcutover_[a-z_]+", expr):
                assert re.sub(r"_bucket$", "", name) in families, (name, expr)
            prom.query(expr.replace("$route", ".*"))
        # The scrape example is a valid Prometheus configuration.
        example = os.path.join(prom.dir, "example.yml")
        with open(os.path.join(ROOT, "etc", "prometheus.yml")) as f, open(example, "w") as g:
            g.write(f.read().replace("/etc/prometheus/cutover-admin-token", os.path.join(prom.dir, "token")))
        with open(os.path.join(prom.dir, "token"), "w") as g:
            g.write(ADMIN_TOKEN)
        chk = subprocess.run([PROMTOOL, "check", "config", example], capture_output=True, text=True)
        eq(chk.returncode, 0, chk.stdout + chk.stderr)
        # A flip shows in the mode series.
        eq(fetch(port, "/_cutover/routes/invoices", ADMIN_TOKEN, "PUT", {"mode": "dual-write"}).status, 200)
        wait_for("mode series follow the flip", lambda: scraped(
            'cutover_route_mode{route="invoices",mode="dual-write"}', 1), 15)
    finally:
        if prom:
            prom.close()
        problems, log = gw.stop()
        assert not problems, (problems, log[-3000:])


def test_metrics_need_the_token_and_count_refusals(binary, mongo):
    gw = Gateway(binary, config={"admin": {"prefix": "/_cutover/", "token": ADMIN_TOKEN}})
    try:
        eq(gw.request("GET", "/_cutover/metrics").status, 401)
        eq(gw.request("GET", "/api/invoices/").status, 401)
        eq(gw.request("GET", "/api/nothing-here/").status, 404)
        eq(gw.request("PUT", "/api/invoices/", {}, T1).status, 405)
        eq(gw.request("POST", "/api/invoices/", raw=b"x", token=T1, headers={"Content-Type": "text/plain"}).status,
           415)
        eq(gw.request("GET", "/api/invoices/", token=T1).status, 200)
        smp = samples(gw.request("GET", "/_cutover/metrics", headers={"Authorization": "Bearer " + ADMIN_TOKEN}).text)
        # The gateway's own refusals are no store's answers; the list is the legacy store's.
        for code in ("401", "405", "415"):
            eq(total(smp, "cutover_requests_total", route="invoices", code=code, store="none"), 1)
        eq(total(smp, "cutover_requests_total", route="invoices", store="legacy"), 1)
        eq(total(smp, "cutover_requests_total", route="-", code="404"), 1)
        eq(total(smp, "cutover_requests_total", route="admin", code="401"), 1)
        # Refused before any store was asked: no latency counted but the list's.
        eq(total(smp, "cutover_store_latency_seconds_count", route="invoices"), 1)
        eq(total(smp, "cutover_build_info"), 1)
        # Without MongoDB configured, only the legacy store is checked.
        eq(total(smp, "cutover_store_up", store="legacy"), 1)
        assert not any(n == "cutover_store_up" and ("store", "mongodb") in ls for n, ls in smp), smp
    finally:
        problems, log = gw.stop()
        assert not problems, (problems, log[-3000:])


def test_metrics_off_stop_the_request_counters(binary, mongo):
    gw = Gateway(binary, config={"metrics": False, "admin": {"prefix": "/_cutover/", "token": ADMIN_TOKEN}})
    try:
        eq(gw.request("GET", "/api/invoices/", token=T1).status, 200)
        smp = samples(gw.request("GET", "/_cutover/metrics", headers={"Authorization": "Bearer " + ADMIN_TOKEN}).text)
        eq(total(smp, "cutover_requests_total"), 0)
        eq(total(smp, "cutover_store_latency_seconds_count"), 0)
        eq(total(smp, "cutover_route_mode", route="invoices", mode="legacy"), 1)
    finally:
        problems, log = gw.stop()
        assert not problems, (problems, log[-3000:])


def test_readiness_follows_the_store_the_modes_need(binary, mongo):
    # Without the automatic fallback, which would move the route off the
    # store that went away (and so make the gateway ready again).
    gw = Gateway(binary, mongo=mongo, mode="shadow", config=admin_config(fallback={"enabled": False}))
    try:
        port = admin_port(gw)
        ready = lambda: fetch(port, "/_cutover/ready")  # noqa: E731
        live = lambda: fetch(port, "/_cutover/health")  # noqa: E731
        eq(ready().status, 200)
        eq(ready().json(), {"status": "ready"})
        mongo.stop()
        try:
            # Shadow answers from the legacy store: still ready.
            time.sleep(2.5)
            eq((ready().status, live().status), (200, 200), "MongoDB away in shadow mode")
            eq(gw.request("GET", "/api/invoices/", token=T1).status, 200)
            # Live answers from MongoDB: not ready, and says why.
            eq(fetch(port, "/_cutover/mode", ADMIN_TOKEN, "PUT", {"mode": "live", "force": True}).status, 200)
            r = wait_for("readiness 503", lambda: ready().status == 503 and ready(), 15)
            # a look fails (refused), or waits past its limit first
            assert re.search(r"the MongoDB server (does not answer|has not answered a look)", r.json()["reason"]), \
                r.json()
            eq(r.json()["status"], "unavailable")
            eq(live().status, 200)
            wait_for("a look that failed", lambda: "does not answer" in ready().json().get("reason", ""), 15)
            # The driver's words (the server's address among them) are for
            # the admin token's holder only, not for whoever can reach the probe.
            plain = ready().json()["reason"]
            assert "127.0.0.1" not in plain and ":%d" % mongo.port not in plain, plain
            told = fetch(port, "/_cutover/ready", ADMIN_TOKEN).json()["reason"]
            assert ":%d" % mongo.port in told, told
            smp = samples(fetch(port, "/metrics", ADMIN_TOKEN).text)
            eq(total(smp, "cutover_store_up", store="mongodb"), 0)
        finally:
            mongo.start()
        wait_for("readiness 200 again", lambda: ready().status == 200, 15)
        eq(live().status, 200)
        eq(gw.request("GET", "/api/invoices/", token=T1).status, 200)
        # A server that stalls (SIGSTOP) rather than refuses: not ready once
        # a look has waited past the time limit, ready when it answers.
        os.kill(mongo.proc.pid, signal.SIGSTOP)
        try:
            r = wait_for("readiness 503 on a stall", lambda: ready().status == 503 and ready(), 15)
            assert "MongoDB server has not answered a look for" in r.json()["reason"], r.json()
            eq(live().status, 200)
        finally:
            os.kill(mongo.proc.pid, signal.SIGCONT)
        wait_for("readiness 200 after the stall", lambda: ready().status == 200, 15)
        assert "MongoDB server does not answer" in gw.read_log() and "MongoDB server answers again" in gw.read_log()
    finally:
        problems, log = gw.stop()
        assert not problems, (problems, log[-3000:])


ADMIN_PATHS = ["/_cutover/routes", "/_cutover/metrics", "/_cutover/health", "/_cutover/ready", "/_cutover/",
               "/_cutover/dashboard.js", "/metrics"]


def test_admin_listener_keeps_the_client_port_clean(binary, mongo):
    gw = Gateway(binary, mongo=mongo, mode="shadow", config=admin_config())
    try:
        port = admin_port(gw)
        for path in ADMIN_PATHS:
            eq(fetch(gw.port, path, ADMIN_TOKEN).status, 404, ("client port", path))
            want = 200
            eq(fetch(port, path, ADMIN_TOKEN).status, want, ("admin port", path))
        eq(fetch(port, "/_cutover/routes").status, 401)
        eq(fetch(port, "/api/invoices/", T1).status, 404)        # the API is the client port's
        eq(gw.request("GET", "/api/invoices/", token=T1).status, 200)
        # cutover mode finds the admin listener in the config.
        env = dict(gw.env, CUTOVER_ADMIN_LISTEN="127.0.0.1:%d" % port)
        r = subprocess.run([binary, "mode", "-c", gw.cfg_path], env=env, capture_output=True, text=True)
        eq(r.returncode, 0, r.stderr)
        assert re.search(r"^invoices\s+shadow", r.stdout, re.M), r.stdout
    finally:
        problems, log = gw.stop()
        assert not problems, (problems, log[-3000:])
    # In passthrough, the admin paths of the client port are the application's.
    up = Upstream()
    try:
        gw = Gateway(binary, config=admin_config(upstream=up.url, mode="passthrough"))
        try:
            port = admin_port(gw)
            for path in ADMIN_PATHS:
                r = fetch(gw.port, path, ADMIN_TOKEN)
                eq((r.status, r.json().get("target")), (200, path), ("proxied", path))
            eq(fetch(port, "/_cutover/health").status, 200)
        finally:
            problems, log = gw.stop()
            assert not problems, (problems, log[-3000:])
    finally:
        up.close()


def test_admin_listener_refuses_a_taken_port(binary, mongo):
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    try:
        taken = s.getsockname()[1]
        try:
            gw = Gateway(binary, config=admin_config(admin={"prefix": "/_cutover/", "token": ADMIN_TOKEN,
                                                            "listen": "127.0.0.1:%d" % taken}))
        except RuntimeError as e:
            assert "served by another process" in str(e), str(e)
        else:
            gw.kill()
            raise AssertionError("started on a taken admin port")
    finally:
        s.close()


def test_dashboard_in_chromium(binary, mongo):
    if not os.access(CHROMIUM, os.X_OK):
        raise RuntimeError("%s is missing: scripts/deps.sh installs Debian's chromium package" % CHROMIUM)
    node_path = subprocess.run([os.path.join(ROOT, "scripts", "npm_package.sh"), "playwright-core", "1.64.1"],
                               capture_output=True, text=True, check=True).stdout.strip()
    gw = Gateway(binary, mongo=mongo, mode="shadow", config=admin_config())
    try:
        port = admin_port(gw)
        inv = create(gw, 910001)
        wait_journal_empty(gw)
        mismatch_on_purpose(gw, inv["id"], "Renamed in MongoDB")
        eq(gw.request("GET", "/api/invoices/%s/" % inv["id"], token=T1).status, 200)
        wait_for("the mismatch", lambda: admin_json(port, "routes/invoices")["mismatched"] == 1)
        expect = {r["route"]: r["mode"] for r in admin_json(port, "routes")["routes"]}
        os.makedirs(ARTIFACTS, exist_ok=True)
        env = dict(gw.env, NODE_PATH=node_path, DASH_URL="http://127.0.0.1:%d/_cutover/" % port,
                   ADMIN_TOKEN=ADMIN_TOKEN, EXPECT=json.dumps(expect), FLIP_ROUTE="invoices", FLIP_TO="live",
                   CUTOVER_BIN=binary, CUTOVER_CONFIG=gw.cfg_path, CUTOVER_ADMIN_LISTEN="127.0.0.1:%d" % port,
                   GATEWAY_PID=str(gw.proc.pid), SHOTS=ARTIFACTS, MISMATCH_ROUTE="invoices",
                   MISMATCH_VALUE="Renamed in MongoDB", CHROMIUM=CHROMIUM)
        r = subprocess.run(["node", os.path.join(ROOT, "tests", "browser", "dashboard.js")], env=env,
                           capture_output=True, text=True, timeout=180)
        print(r.stdout, end="")
        assert r.returncode == 0, r.stdout + r.stderr
        for step in ("every route listed", "diff", "not ready for is refused", "cutover mode shows",
                     "refused flip", "unreachable", "no console errors"):
            assert step in r.stdout, (step, r.stdout)
        assert re.search(r"readiness overridden \(forced by dashboard from 127\.0\.0\.1\): invoices is not ready for "
                         r"live: unexplained mismatches", gw.read_log()), gw.read_log()[-3000:]
        for shot in ("dashboard-routes.png", "dashboard-mismatch.png", "dashboard-unreachable.png"):
            assert os.path.getsize(os.path.join(ARTIFACTS, shot)) > 10000, shot
    finally:
        problems, log = gw.stop()
        assert not problems, (problems, log[-3000:])


def main():
    binary = binary_arg()
    mongo = Mongo()
    runner = Runner()
    try:
        runner.run([test_metrics_need_the_token_and_count_refusals, test_metrics_off_stop_the_request_counters,
                    test_admin_listener_keeps_the_client_port_clean, test_admin_listener_refuses_a_taken_port,
                    test_prometheus_scrapes_what_the_admin_api_reports, test_dashboard_in_chromium,
                    test_readiness_follows_the_store_the_modes_need], binary, mongo)
    finally:
        mongo.close()
    return runner.finish()


if __name__ == "__main__":
    sys.exit(main())
