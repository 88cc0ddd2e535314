#!/usr/bin/env python3
"""The commands as an operator meets them: `serve` on a port another gateway
already serves, with a legacy store that does not answer, with a MongoDB that
does not; each command's --help; where migrate keeps its checkpoint; the progress of
migrate, verify and repair.
"""
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import ADMIN_TOKEN, CONFIG, SECRET, Gateway, Runner, binary_arg, eq, free_port, make_token, stop_clean  # noqa: E402


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


def test_help_per_command(binary):
    """Each command's --help: its usage line, every option it takes, its
    exit codes; exit 0.  The options listed are the ones it accepts."""
    opts = {"serve": [], "check": ["--connect", "--keys"], "token": ["--user-id", "--ttl"],
            "migrate": ["--resource", "--batch", "--rate", "--resume", "--restart", "--state", "--indexes-only"],
            "verify": ["--resource", "--sample", "--json"], "repair": ["--resource", "--from-verify", "--journal"],
            "mode": ["--force", "--reset-evidence"], "plan": []}
    for cmd, want in opts.items():
        r = subprocess.run([binary, cmd, "--help"], capture_output=True, text=True, timeout=10)
        eq(r.returncode, 0, (cmd, r.stderr))
        assert r.stdout.startswith("usage: cutover %s" % cmd), (cmd, r.stdout)
        assert "exit: 0" in r.stdout and "--config" in r.stdout, (cmd, r.stdout)
        listed = set(re.findall(r"^  (--[a-z-]+)", r.stdout, re.M))
        for o in want:
            assert o in listed, (cmd, o, r.stdout)
        other = set(o for v in opts.values() for o in v) - set(want)
        for o in sorted(other):
            r2 = subprocess.run([binary, cmd, o, "1"], capture_output=True, text=True, timeout=10)
            if r2.returncode == 2 and "not for this command" in r2.stderr + r2.stdout:
                assert o not in listed, (cmd, o, "listed, but refused")
    r = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=10)
    assert "COMMAND --help" in r.stdout, r.stdout


def test_invalid_values_list_the_valid_ones(binary):
    for args, want in ((["mode", "invoices", "bogus"], "one of legacy, dual-write, shadow, dual, live, rampdown, "
                                                      "mongodb, passthrough"),
                       (["migrate", "--batch", "0"], "from 1 to 100000"),
                       (["migrate", "--rate", "-1"], "from 0 (no limit)"),
                       (["verify", "--sample", "101"], "from 0 to 100")):
        r = subprocess.run([binary] + args, capture_output=True, text=True, timeout=10)
        eq(r.returncode, 2, (args, r.stderr))
        assert want in r.stderr, (args, r.stderr)


def test_migrate_state_beside_the_journal(binary):
    """The checkpoint file goes to the journal's directory, not the working
    directory: build/ for the example."""
    from mongo import Mongo
    mongo = Mongo()
    work = tempfile.mkdtemp(prefix="cutover-cli-cwd-")
    try:
        gw = Gateway(binary, mongo=mongo, mode="legacy")
        try:
            env = dict(gw.env)
            r = subprocess.run([binary, "migrate", "-c", gw.cfg_path], env=env, capture_output=True, text=True,
                               timeout=120, cwd=work)
            eq(r.returncode, 0, r.stdout + r.stderr)
            journal_dir = os.path.dirname(env["CUTOVER_JOURNAL"])
            assert os.path.exists(os.path.join(journal_dir, "cutover-migrate.state.json")), os.listdir(journal_dir)
            eq(os.listdir(work), [])
        finally:
            stop_clean(gw)
    finally:
        mongo.close()


def test_progress_of_migrate_verify_and_repair(binary):
    """Each walk of the tables says how far it is, on stderr, and finishes
    with the whole count."""
    from mongo import Mongo
    mongo = Mongo()
    try:
        gw = Gateway(binary, mongo=mongo, mode="legacy")
        try:
            t1 = make_token(1)
            for n in range(30):
                r = gw.request("POST", "/api/invoices/", {"invoice_number": "P-%03d" % n, "client_name": "P",
                                                         "issue_date": "2025-11-01", "items": []}, t1)
                eq(r.status, 201, r.text)
            stop_clean(gw)

            def run(*args):
                r = subprocess.run([binary] + list(args) + ["-c", gw.cfg_path], env=gw.env, capture_output=True,
                                   text=True, timeout=120)
                return r.returncode, r.stderr

            want = r"^%s: invoices 30/30 rows \(100\.0%%\), \d+ rows/s, ETA 0s$"
            rc, err = run("migrate")
            eq(rc, 0, err)
            assert re.search(want % "migrate", err, re.M), err
            rc, err = run("verify")
            eq(rc, 0, err)
            assert re.search(want % "verify", err, re.M), err
            assert re.search(r"^verify: payments 0/0 rows \(100\.0%\)", err, re.M), err
            rc, err = run("repair")
            eq(rc, 0, err)
            assert re.search(want % "repair", err, re.M), err
            rc, err = run("repair", "--journal")
            eq(rc, 0, err)
            assert re.search(r"^repair: journal 0/0 entries \(100\.0%\)", err, re.M), err
        finally:
            if gw.alive():
                stop_clean(gw)
    finally:
        mongo.close()


def test_check_connect(binary):
    """check --connect reaches every store and the upstream, and says which
    it could not."""
    import socket
    from mongo import Mongo
    mongo = Mongo()
    app = socket.socket()
    app.bind(("127.0.0.1", 0))
    app.listen(4)
    try:
        gw = Gateway(binary, mongo=mongo, mode="legacy")
        stop_clean(gw)

        def check(**env):
            r = subprocess.run([binary, "check", "--connect", "-c", gw.cfg_path], env=dict(gw.env, **env),
                               capture_output=True, text=True, timeout=60)
            return r.returncode, r.stdout

        up = "http://127.0.0.1:%d" % app.getsockname()[1]
        rc, out = check(CUTOVER_UPSTREAM=up)
        eq(rc, 0, out)
        assert re.search(r"^legacy store \(sqlite\): answers$", out, re.M), out
        assert re.search(r"^mongodb \(mongodb\): answers$", out, re.M), out
        assert re.search(r"^upstream %s: connected$" % re.escape(up), out, re.M), out
        dead = free_port()
        rc, out = check(MONGODB_URI="mongodb://127.0.0.1:%d/x" % dead, CUTOVER_UPSTREAM="http://127.0.0.1:%d" % dead)
        eq(rc, 1, out)
        assert re.search(r"^legacy store \(sqlite\): answers$", out, re.M), out
        assert re.search(r"^mongodb: does not answer: .+", out, re.M), out
        assert re.search(r"^upstream http://127.0.0.1:%d: cannot connect to 127.0.0.1:%d: Connection refused$"
                         % (dead, dead), out, re.M), out
        # Without --connect nothing is reached: the same configuration is valid.
        r = subprocess.run([binary, "check", "-c", gw.cfg_path], capture_output=True, text=True, timeout=60,
                           env=dict(gw.env, MONGODB_URI="mongodb://127.0.0.1:%d/x" % dead))
        eq(r.returncode, 0, r.stdout + r.stderr)
        r = subprocess.run([binary, "verify", "--connect", "-c", gw.cfg_path], capture_output=True, text=True,
                           env=gw.env, timeout=60)
        eq(r.returncode, 2, r.stderr)
    finally:
        app.close()
        mongo.close()


def test_plan_reaches_the_same_gateway(binary):
    """cutover plan -c FILE, the gateway's admin API on a listener of its own:
    the commands it prints carry the -c, and run as printed (without the
    environment that found the gateway) they reach that gateway.  Whether
    MongoDB is there is the running gateway's to say, not plan's
    environment's."""
    import shlex
    from mongo import Mongo
    mongo = Mongo()
    try:
        admin = free_port()
        gw = Gateway(binary, mongo=mongo, mode="legacy", config={"admin": {"listen": "127.0.0.1:%d" % admin}})
        try:
            eq(gw.admin_port, admin)
            cfg = os.path.join(tempfile.mkdtemp(prefix="cutover plan "), "other's.json")
            with open(gw.cfg_path) as f, open(cfg, "w") as g:
                g.write(f.read())
            env = dict(gw.env)
            env.pop("CUTOVER_ADMIN_URL", None)
            env.pop("MONGODB_URI", None)        # plan's own environment has none: the gateway has one
            r = subprocess.run([binary, "plan", "-c", cfg], env=env, capture_output=True, text=True, timeout=30,
                               cwd="/")
            eq(r.returncode, 0, r.stdout + r.stderr)
            m = re.search(r"^ +(cutover mode -c .* invoices dual-write)$", r.stdout, re.M)
            assert m, r.stdout
            argv = shlex.split(m.group(1))
            eq(argv[1:4], ["mode", "-c", cfg])
            r = subprocess.run([binary] + argv[1:], env=env, capture_output=True, text=True, timeout=30, cwd="/")
            eq(r.returncode, 0, r.stdout + r.stderr)
            eq(gw.admin("GET", "routes/invoices")[1]["mode"], "dual-write")
            r = subprocess.run([binary, "plan", "-c", cfg], env=env, capture_output=True, text=True, timeout=30,
                               cwd="/")
            assert re.search(r"^ +cutover migrate -c .* --resource invoices && cutover verify -c .* --resource "
                             r"invoices && cutover mode -c .* invoices shadow$", r.stdout, re.M), r.stdout
        finally:
            stop_clean(gw)
        # A gateway without MongoDB, whatever plan's environment says
        gw = Gateway(binary, mode="legacy", extra_env={"CUTOVER_ADMIN_TOKEN": ADMIN_TOKEN})
        try:
            r = subprocess.run([binary, "plan", "-c", gw.cfg_path], capture_output=True, text=True, timeout=30,
                               env=dict(gw.env, MONGODB_URI=mongo.fresh_url("plan"),
                                        CUTOVER_ADMIN_URL="127.0.0.1:%d" % gw.port))
            eq(r.returncode, 0, r.stdout + r.stderr)
            assert re.search(r"^invoices +legacy -> dual-write +needs MongoDB: the gateway has none", r.stdout,
                             re.M), r.stdout
            assert "mode invoices dual-write" not in r.stdout, r.stdout
        finally:
            stop_clean(gw)
    finally:
        mongo.close()


def main():
    binary = binary_arg()
    runner = Runner()
    print("== serve at start", flush=True)
    runner.run([test_port_served_by_another_gateway, test_unreachable_legacy_store, test_unreachable_mongodb,
                test_help_per_command, test_invalid_values_list_the_valid_ones,
                test_migrate_state_beside_the_journal, test_progress_of_migrate_verify_and_repair,
                test_check_connect, test_plan_reaches_the_same_gateway], binary)
    return runner.finish()


if __name__ == "__main__":
    sys.exit(main())
