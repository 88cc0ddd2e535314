#!/usr/bin/env python3
"""The fixed costs part of `make bench`: what does a configured MongoDB
cost while every route is still `legacy`, what does the access log cost,
and what do the metrics cost?

Four gateways of the same build serve the same demo SQLite file side by
side, in legacy mode, each on its own port:

  A. no MongoDB configured, access log on (to a file), metrics on;
  B. MongoDB configured (the MongoDB-compatible server running), access
     log on (to a file);
  C. no MongoDB configured, access log off;
  D. as A, with "metrics": false.

wrk measures GET /api/invoices/{id}/ on each in interleaved rounds (the
order rotates, so drift over the run falls on every variant alike); only
one is under load at a time.  Many short rounds, because this machine's
speed drifts by more than the differences measured: each round's ratios
are taken between runs seconds apart, and the figures are the medians of
those ratios, of the rate and of the gateway's CPU time per request: B/A
(target >= 0.97), A/C (target >= 0.95) and A/D (target >= 0.97).  Knobs: IDLE_BENCH_SECONDS (4),
IDLE_BENCH_ROUNDS (9), BENCH_CONNECTIONS (32)."""
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "contract"))
from harness import ROOT, free_port  # noqa: E402
from mongo import Mongo  # noqa: E402
from common import wrk_run  # noqa: E402

SECRET = "bench-secret-not-real-00000"
CONFIG = os.path.join(ROOT, "etc", "examples", "hisabpro", "cutover.json")


def start(binary, tmp, name, db, mongo_url, access_log, metrics):
    with open(CONFIG) as f:
        doc = json.load(f)
    doc["access_log"] = access_log
    doc["metrics"] = metrics
    cfg = os.path.join(tmp, name + ".json")
    with open(cfg, "w") as f:
        json.dump(doc, f)
    port = free_port()
    env = dict(os.environ, DATABASE_URL="sqlite://" + db, MONGODB_URI=mongo_url, MONGODB_DECIMAL=Mongo.DECIMAL,
               DATABASE_MODE="legacy", JWT_SECRET=SECRET, CUTOVER_LISTEN="127.0.0.1:%d" % port,
               CUTOVER_JOURNAL=os.path.join(tmp, name + "-journal.sqlite3"))
    proc = subprocess.Popen([binary, "serve", "-c", cfg], cwd=ROOT, env=env,
                            stderr=open(os.path.join(tmp, name + ".log"), "w"))
    return proc, "http://127.0.0.1:%d" % port


def cpu_seconds(pid):
    """User + system CPU time of a process so far."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def get(url, token):
    req = urllib.request.Request(url, headers={"Authorization": "Bearer " + token})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.read()


def wait_up(proc, base, token, log):
    deadline = time.time() + 30
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the gateway exited at start:\n" + open(log).read())
        try:
            return get(base + "/api/invoices/recent/", token)
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the gateway did not answer within 30 s:\n" + open(log).read())


def main():
    seconds = int(os.environ.get("IDLE_BENCH_SECONDS", "4"))
    conns = int(os.environ.get("BENCH_CONNECTIONS", "32"))
    rounds = int(os.environ.get("IDLE_BENCH_ROUNDS", "9"))
    binary = os.path.abspath(sys.argv[1])
    tmp = tempfile.mkdtemp(prefix="cutover-bench-")
    mongo = Mongo()
    procs = []
    try:
        db = os.path.join(tmp, "demo.sqlite3")
        subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "demo_data.py"), "--schema",
                        os.path.join(ROOT, "etc", "examples", "hisabpro", "schema.sqlite.sql"), "--out", db],
                       check=True, stdout=subprocess.DEVNULL)
        token = subprocess.run([binary, "token", "--user-id", "1", "-c", CONFIG], cwd=ROOT,
                               env=dict(os.environ, JWT_SECRET=SECRET), capture_output=True, text=True,
                               check=True).stdout.strip()
        variants = [
            ("A", "legacy, no MongoDB, access log on", "", os.path.join(tmp, "A-access.log"), True),
            ("B", "legacy, MongoDB configured, access log on", mongo.fresh_url("idle_bench"),
             os.path.join(tmp, "B-access.log"), True),
            ("C", "legacy, no MongoDB, access log off", "", "", True),
            ("D", "as A, metrics off", "", os.path.join(tmp, "D-access.log"), False),
        ]
        urls = {}
        for name, _, mongo_url, log, metrics in variants:
            proc, base = start(binary, tmp, name, db, mongo_url, log, metrics)
            procs.append(proc)
            inv = json.loads(wait_up(proc, base, token, os.path.join(tmp, name + ".log")))[0]["id"]
            urls[name] = "%s/api/invoices/%s/" % (base, inv)
        threads = {name: len(os.listdir("/proc/%d/task" % p.pid)) for (name, *_), p in zip(variants, procs)}
        rates = {name: [] for name, *_ in variants}
        cpu = {name: [] for name, *_ in variants}
        pids = {name: p.pid for (name, *_), p in zip(variants, procs)}
        for r in range(rounds):
            order = [v[0] for v in variants]
            order = order[r % len(order):] + order[:r % len(order)]
            for name in order:
                t0 = cpu_seconds(pids[name])
                report = wrk_run(urls[name], token, seconds, conns)
                used = cpu_seconds(pids[name]) - t0
                rates[name].append(float(re.search(r"Requests/sec:\s+([\d.]+)", report).group(1)))
                cpu[name].append(used * 1e6 / int(re.search(r"(\d+) requests in", report).group(1)))
        print("wrk -t2 -c%d -d%ds, %d interleaved rounds, GET /api/invoices/{id}/ from SQLite" % (
            conns, seconds, rounds))
        for name, what, *_ in variants:
            v, c = rates[name], cpu[name]
            print("%s %-42s %2d threads  req/s %6.0f %6.0f %6.0f  CPU us/req %5.1f %5.1f %5.1f" % (
                name, what, threads[name], min(v), statistics.median(v), max(v), min(c), statistics.median(c),
                max(c)))
        print("  (min, median, max of the rounds; CPU: the gateway's user + system time per request)")
        def paired(x, y, v):
            """The median over the rounds of x/y within each round."""
            return statistics.median(v[x][i] / v[y][i] for i in range(rounds))

        for what, x, y, target in (("MongoDB configured / not (B/A)", "B", "A", 0.97),
                                   ("access log on / off (A/C)", "A", "C", 0.95),
                                   ("metrics on / off (A/D)", "A", "D", 0.97)):
            print("ratio %s: req/s %.3f, CPU per request %.3f (target >= %.2f; medians of the rounds' "
                  "ratios, from %.3f to %.3f)" % (what, paired(x, y, rates), paired(y, x, cpu), target,
                                                  min(rates[x][i] / rates[y][i] for i in range(rounds)),
                                                  max(rates[x][i] / rates[y][i] for i in range(rounds))))
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=60)
        mongo.close()


if __name__ == "__main__":
    main()
