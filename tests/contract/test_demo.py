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


def test_demo_curl_lines(binary):
    tmp = tempfile.mkdtemp(prefix="cutover-demo-")
    db = os.path.join(tmp, "demo.sqlite3")
    subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "demo_data.py"), "--schema",
                    os.path.join(ROOT, "etc", "examples", "hisabpro", "schema.sqlite.sql"), "--out", db,
                    "--invoices", "60"], check=True, stdout=subprocess.DEVNULL)
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
        curls = [l.strip() for l in lines if l.strip().startswith("curl ")]
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
        mode = [l.strip() for l in lines if l.strip().startswith("CUTOVER_ADMIN_TOKEN=")]
        eq(len(mode), 1, lines)
        out = subprocess.run(mode[0], shell=True, capture_output=True, text=True, timeout=30, cwd=ROOT)
        eq(out.returncode, 0, out.stdout + out.stderr)
        assert "invoices" in out.stdout and "payments" in out.stdout and "legacy" in out.stdout, out.stdout
        # a second POST of the same invoice number is the unique-constraint error
        post = [l for l in curls if " -d " in l][0]
        body = subprocess.run(post, shell=True, capture_output=True, text=True, timeout=30).stdout
        eq(body, '{"non_field_errors":["The fields user, invoice_number must make a unique set."]}')
    finally:
        proc.send_signal(signal.SIGTERM)
        eq(proc.wait(timeout=30), 0)


def main():
    binary = os.path.abspath(sys.argv[sys.argv.index("--binary") + 1])
    r = Runner()
    r.run([test_demo_curl_lines], binary)
    return r.finish()


if __name__ == "__main__":
    sys.exit(main())
