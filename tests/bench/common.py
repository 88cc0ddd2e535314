"""What every part of `make bench` shares: wrk, the figures each part
reports (collected by all.py), the demo data and a gateway on it."""
import json
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "contract"))
from harness import ROOT, free_port  # noqa: E402

SECRET = "bench-secret-not-real-00000"
CONFIG = "etc/examples/hisabpro/cutover.json"
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
CONNS = int(os.environ.get("BENCH_CONNECTIONS", "32"))


def more_descriptors():
    """Raise this process's descriptor limit (children inherit it) to the
    hard limit: a thousand connections need more than the default 1,024."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def figure(key, value, goal=None):
    """One figure for all.py's table.  goal: ">=0.70" or "<=1.3", or None
    for a figure that is reported, not judged."""
    print("FIGURE %s %.6g %s" % (key, value, goal or "-"), flush=True)


def wrk_run(url, token, seconds=SECONDS, conns=CONNS, threads=2):
    """wrk's report for GET url with the token; fails on any non-2xx answer."""
    r = subprocess.run(["wrk", "-t%d" % threads, "-c%d" % conns, "-d%ds" % seconds, "--latency", "-H",
                        "Authorization: Bearer " + token, url], capture_output=True, text=True, check=True)
    if "Non-2xx" in r.stdout:
        raise RuntimeError("the server answered errors:\n" + r.stdout)
    return r.stdout


def wrk_latency(report, pct):
    """A latency percentile of a wrk report, as wrk prints it ("2.91ms")."""
    return re.search(r"^\s+%d%%\s+(\S+)" % pct, report, re.M).group(1)


def ms(text):
    """wrk's "2.91ms" (or us, or s) in milliseconds."""
    v, unit = float(re.match(r"([\d.]+)", text).group(1)), re.search(r"(us|ms|s)$", text).group(1)
    return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v


def rate(report):
    return float(re.search(r"Requests/sec:\s+([\d.]+)", report).group(1))


def wrk(url, token, seconds=SECONDS, conns=CONNS):
    """(requests/s, p99 as wrk prints it)"""
    report = wrk_run(url, token, seconds, conns)
    return rate(report), wrk_latency(report, 99)


def demo_sqlite(path):
    """The demo database (240 invoices with 1-5 items each, two users)."""
    subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "demo_data.py"), "--schema",
                    os.path.join(ROOT, "etc", "examples", "hisabpro", "schema.sqlite.sql"), "--out", path],
                   check=True, stdout=subprocess.DEVNULL)


def curl(*args):
    return subprocess.run(["curl", "-sf"] + list(args), capture_output=True, text=True)


class Served:
    """`cutover serve` on the example configuration with env; its URL, a
    token for user 1 and the newest invoice of that user."""

    def __init__(self, binary, env, log, config=CONFIG):
        self.port = free_port()
        self.env = dict(os.environ, JWT_SECRET=SECRET, CUTOVER_LISTEN="127.0.0.1:%d" % self.port, **env)
        self.base = "http://127.0.0.1:%d" % self.port
        self.proc = subprocess.Popen([binary, "serve", "-c", config], cwd=ROOT, env=self.env,
                                     stderr=open(log, "w"))
        self.token = subprocess.run([binary, "token", "--user-id", "1", "-c", config], cwd=ROOT, env=self.env,
                                    capture_output=True, text=True, check=True).stdout.strip()
        for _ in range(200):
            if self.get("/api/invoices/").returncode == 0:
                break
            if self.proc.poll() is not None:
                raise RuntimeError("the gateway did not start:\n" + open(log).read())
            time.sleep(0.05)
        else:
            raise RuntimeError("the gateway did not answer:\n" + open(log).read())
        self.invoice = json.loads(self.get("/api/invoices/recent/").stdout)[0]["id"]

    def get(self, path):
        return curl(self.base + path, "-H", "Authorization: Bearer " + self.token)

    def cpu_seconds(self):
        """The process's user + system time so far."""
        with open("/proc/%d/stat" % self.proc.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_kib(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))

    def close(self):
        stop(self.proc)


COMPONENTS = [("kernel", ("[kernel",)), ("SQLite", ("libsqlite",)), ("libpq", ("libpq",)),
              ("mongoc/bson", ("libmongoc", "libbson")), ("TLS", ("libssl", "libcrypto")),
              ("libevent", ("libevent",)), ("libc", ("libc.", "ld-linux", "libm.")), ("gateway", ("cutover",))]


def profiled(pid, label, fn):
    """fn(), with the process pid sampled by perf meanwhile when
    BENCH_PROFILE=1: prints the share of its CPU samples by component and
    its own busiest functions.  Without perf, fn() alone."""
    if os.environ.get("BENCH_PROFILE") != "1":
        return fn()
    data = os.path.join(tempfile.mkdtemp(prefix="cutover-perf-"), "perf.data")
    hz = os.environ.get("BENCH_PROFILE_HZ", "499")
    p = subprocess.Popen(["perf", "record", "-F", hz, "-p", str(pid), "-o", data],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.3)
    try:
        result = fn()
    finally:
        p.send_signal(signal.SIGINT)
        p.wait()
    report = subprocess.run(["perf", "report", "-i", data, "--no-children", "--sort", "dso,symbol", "--stdio"],
                            capture_output=True, text=True).stdout
    shares, own = {}, []
    for line in report.splitlines():
        m = re.match(r"\s+([\d.]+)%\s+(\S+)\s+\[.\]\s+(.*)", line)
        if not m:
            continue
        pct, dso, sym = float(m.group(1)), m.group(2), re.split(r"\s{2,}", m.group(3).strip())[0]
        name = next((c for c, keys in COMPONENTS if any(k in dso for k in keys)), "other")
        shares[name] = shares.get(name, 0) + pct
        if name == "gateway" and len(own) < 8:
            own.append("%s %.1f%%" % (sym, pct))
    print("  profile, %s: %s" % (label, ", ".join("%s %.0f%%" % (c, shares[c])
                                               for c, _ in COMPONENTS + [("other", ())] if shares.get(c))))
    print("    the gateway's own busiest: %s" % ", ".join(own))
    return result


def paced(base, path, token, rate, seconds, conns=8):
    """GET path at about rate requests a second over conns kept-alive
    connections, one after another; the number made."""
    import http.client
    port = int(base.rsplit(":", 1)[1])
    cs = [http.client.HTTPConnection("127.0.0.1", port, timeout=30) for _ in range(conns)]
    n, t0 = 0, time.time()
    while time.time() - t0 < seconds:
        c = cs[n % conns]
        c.request("GET", path, headers={"Authorization": "Bearer " + token})
        r = c.getresponse()
        r.read()
        if r.status != 200:
            raise RuntimeError("the server answered %d" % r.status)
        n += 1
        ahead = t0 + n / rate - time.time()
        if ahead > 0:
            time.sleep(ahead)
    for c in cs:
        c.close()
    return n


def stop(proc, what="the gateway"):
    """SIGTERM, then a minute to exit; killed and an error past that."""
    proc.terminate()
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise RuntimeError("%s did not stop within 60 s of SIGTERM" % what)
