#!/usr/bin/env python3
"""`make run` as a user meets it: the demo script prints tokens and curl
lines; every printed curl line must work against the server it starts."""
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import ROOT, Runner, eq, free_port  # noqa: E402


def demo_db(tmp):
    """A small demo database in tmp, as make run's (60 invoices a user)."""
    db = os.path.join(tmp, "demo.sqlite3")
    subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "demo_data.py"), "--schema",
                    os.path.join(ROOT, "etc", "examples", "hisabpro", "schema.sqlite.sql"), "--out", db,
                    "--invoices", "60"], check=True, stdout=subprocess.DEVNULL)
    return db


def test_demo_curl_lines(binary):
    tmp = tempfile.mkdtemp(prefix="cutover-demo-")
    db = demo_db(tmp)
    port = free_port()
    env = dict(os.environ, CUTOVER_LISTEN="127.0.0.1:%d" % port)
    env.pop("JWT_SECRET", None)
    env.pop("DATABASE_URL", None)
    log = open(os.path.join(tmp, "demo.log"), "w+")
    proc = subprocess.Popen([os.path.join(ROOT, "scripts", "run_demo.sh"), binary, db], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 20
        text = ""
        while time.time() < deadline and "listening on" not in text:
            time.sleep(0.1)
            log.seek(0)
            text = log.read()
        assert "listening on" in text, text
        lines = text.replace("\\\n", " ").splitlines()
        exports = [l.strip() for l in lines if l.strip().startswith("export T1=")]
        eq(len(exports), 1, lines)
        assert "CUTOVER_LISTEN=127.0.0.1:%d" % port in exports[0], exports
        curls = [exports[0] + "; " + l.strip() for l in lines if l.strip().startswith("curl ")]
        assert len(curls) >= 5, curls
        for line in curls:
            out = subprocess.run(line + " -o /dev/null -w '%{http_code}'", shell=True, capture_output=True,
                                 text=True, timeout=30).stdout
            assert out in ("200", "201"), (line, out)
        # the printed dashboard address serves the page
        dash = [l.split(": ", 1)[1].strip() for l in lines if l.startswith("the dashboard")]
        eq(len(dash), 1, lines)
        out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{content_type}", dash[0]],
                             capture_output=True, text=True, timeout=30).stdout
        eq(out, "200 text/html; charset=utf-8")
        # the printed `cutover mode` line lists every route of the example
        mode = [l.strip() for l in lines if l.strip().endswith(" mode")]
        eq(len(mode), 1, lines)
        out = subprocess.run(exports[0] + "; " + mode[0], shell=True, capture_output=True, text=True, timeout=30,
                             cwd=ROOT, env=env)
        eq(out.returncode, 0, out.stdout + out.stderr)
        assert "invoices" in out.stdout and "payments" in out.stdout and "legacy" in out.stdout, out.stdout
        # a second POST of the same invoice number is the unique-constraint error
        post = [l for l in curls if " -d " in l][0]
        body = subprocess.run(post, shell=True, capture_output=True, text=True, timeout=30).stdout
        eq(body, '{"non_field_errors":["The fields user, invoice_number must make a unique set."]}')
    finally:
        proc.send_signal(signal.SIGTERM)
        eq(proc.wait(timeout=30), 0)


def test_mongo_demo_walks_the_cutover(binary):
    """`make run-mongo` as a user meets it: the script starts the
    MongoDB-compatible server and the gateway and prints the cutover as
    commands; run as printed, in order, in one shell, they take the invoices
    route from legacy through dual-write, migrate and verify, shadow, to live
    and back to shadow, while a client reads without one failed request."""
    import threading
    import urllib.request
    tmp = tempfile.mkdtemp(prefix="cutover-mongo-demo-")
    db = demo_db(tmp)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CUTOVER_", "DATABASE_", "MONGODB_", "JWT_"))}
    env.update(CUTOVER_LISTEN="127.0.0.1:%d" % port, CUTOVER_DEMO_DIR=os.path.join(tmp, "state"))
    log = open(os.path.join(tmp, "demo.log"), "w+")
    proc = subprocess.Popen([os.path.join(ROOT, "scripts", "run_mongo_demo.sh"), binary, db], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    stop, failures, reads = threading.Event(), [], [0]

    def reader(token):
        url = "http://127.0.0.1:%d/api/invoices/" % port
        while not stop.is_set():
            try:
                req = urllib.request.Request(url, headers={"Authorization": "Bearer " + token})
                with urllib.request.urlopen(req, timeout=30) as r:
                    if r.status != 200:
                        failures.append(r.status)
                reads[0] += 1
            except Exception as e:      # noqa: BLE001 - a failed request, reported below
                failures.append(repr(e))
            time.sleep(0.3)

    t = None
    try:
        deadline = time.time() + 300    # the first run builds the server
        text = ""
        while time.time() < deadline and "Ctrl-C stops" not in text:
            assert proc.poll() is None, text
            time.sleep(0.2)
            log.seek(0)
            text = log.read()
        assert "Ctrl-C stops" in text, text
        lines = text.splitlines()
        exports = [l.strip() for l in lines if l.strip().startswith("export ")]
        eq(len(exports), 1, lines)
        assert "127.0.0.1:%d" % port in exports[0], exports        # the real port
        steps = [l[5:] for l in lines if l.startswith("     ") and not l.startswith("      ")]
        eq([s.split()[1:3] for s in steps if s.startswith(binary)],
           [["mode", "invoices"], ["migrate", "--resource"], ["mode", "invoices"], ["mode", "invoices"], ["plan"],
            ["mode", "invoices"], ["mode", "invoices"]])
        token = re.search(r"\bT1=(\S+)", exports[0]).group(1)
        t = threading.Thread(target=reader, args=(token,))
        t.start()
        script = "set -e\n" + exports[0] + "\n" + "\n".join(steps) + "\n"
        r = subprocess.run(["sh", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
        eq(r.returncode, 0, r.stdout[-3000:] + r.stderr[-3000:])
        modes = re.findall(r"^invoices +(\S+) +route ", r.stdout, re.M)
        eq(modes, ["dual-write", "shadow", "shadow", "live", "shadow"])
        assert re.search(r"^invoices +shadow -> live +ready \(", r.stdout, re.M), r.stdout
        assert "0 missing, 0 extra, 0 different" in r.stdout, r.stdout
        # the write reached both stores: the demo POST, answered 201 with its id
        assert re.search(r'"invoice_number":"INV-\d+"', r.stdout), r.stdout
    finally:
        stop.set()
        if t:
            t.join(timeout=60)
        proc.send_signal(signal.SIGTERM)
        eq(proc.wait(timeout=60), 0)
    eq(failures, [])
    assert reads[0] > 20, reads
    print("     %d reads during the cutover" % reads[0])


def main():
    binary = os.path.abspath(sys.argv[sys.argv.index("--binary") + 1])
    r = Runner()
    r.run([test_demo_curl_lines, test_mongo_demo_walks_the_cutover], binary)
    return r.finish()


if __name__ == "__main__":
    sys.exit(main())
