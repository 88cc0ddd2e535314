#!/usr/bin/env python3
"""`cutover serve` at start, as an operator meets it: a port another gateway
already serves, a legacy store that does not answer, a MongoDB that does not.
"""
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import CONFIG, SECRET, Gateway, Runner, binary_arg, eq, free_port, make_token, stop_clean  # noqa: E402


def serve(binary, env, timeout=20):
    """Start serve; (exit code or None while running, log so far, process)."""
    p = subprocess.Popen([binary, "serve", "-c", CONFIG], env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    try:
        _, err = p.communicate(timeout=timeout)
        return p.returncode, err, p
    except subprocess.TimeoutExpired:
        return None, "", p


def base_env(gw, port):
    env = dict(gw.env)
    env["CUTOVER_LISTEN"] = "127.0.0.1:%d" % port
    return env


def test_port_served_by_another_gateway(binary):
    """A second gateway on a port the first serves is refused (SO_REUSEPORT
    would split the traffic between them) unless sharing is asked for."""
    port = free_port()
    gw = Gateway(binary, extra_env={"CUTOVER_LISTEN": "127.0.0.1:%d" % port})
    try:
        eq(gw.port, port)
        rc, err, _ = serve(binary, base_env(gw, port), timeout=10)
        eq(rc, 1, err)
        assert "127.0.0.1:%d is served by another process already" % port in err, err
        assert "listen_shared" in err, err
        shared = Gateway(binary, config={"listen_shared": True}, same_as=gw,
                         extra_env={"CUTOVER_LISTEN": "127.0.0.1:%d" % port})
        try:
            eq(shared.port, port)
        finally:
            stop_clean(shared)
    finally:
        stop_clean(gw)


def test_unreachable_legacy_store(binary):
    """A legacy store that does not answer stops the start at once, saying why."""
    dead = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MONGODB_", "CUTOVER_"))}
    env.update({"DATABASE_URL": "postgres://cutover:not-real@127.0.0.1:%d/none" % dead, "JWT_SECRET": SECRET,
                "CUTOVER_LISTEN": "127.0.0.1:%d" % free_port(), "DATABASE_MODE": "legacy"})
    t0 = time.time()
    rc, err, _ = serve(binary, env)
    eq(rc, 1, err)
    assert time.time() - t0 < 10
    assert "the legacy store does not answer; not starting" in err, err
    assert "listening" not in err, err


def test_unreachable_mongodb(binary):
    """MongoDB configured but down: the gateway says so, starts, and serves
    the routes in legacy mode."""
    journal = os.path.join(tempfile.mkdtemp(prefix="cutover-cli-"), "journal.sqlite3")
    gw = Gateway(binary, extra_env={"MONGODB_URI": "mongodb://127.0.0.1:%d/none" % free_port(),
                                    "CUTOVER_JOURNAL": journal})
    try:
        log = gw.read_log()
        assert "MongoDB does not answer; starting anyway" in log, log
        r = gw.request("GET", "/api/invoices/", token=make_token(1))
        eq(r.status, 200, r.text)
    finally:
        stop_clean(gw)


def main():
    binary = binary_arg()
    runner = Runner()
    print("== serve at start", flush=True)
    runner.run([test_port_served_by_another_gateway, test_unreachable_legacy_store, test_unreachable_mongodb],
               binary)
    return runner.finish()


if __name__ == "__main__":
    sys.exit(main())
