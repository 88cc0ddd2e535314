#!/usr/bin/env python3
"""Shadow part of `make bench`: does a secondary that hangs cost the
clients anything?  The gateway serves the demo data from SQLite with the
MongoDB-compatible server beside it (copied there by `cutover migrate`);
wrk measures GET /api/invoices/{id}/ three times in one run:

  1. legacy mode (shadow off): the baseline;
  2. shadow mode, every read compared against MongoDB;
  3. shadow mode with the MongoDB server stopped by SIGSTOP (hung: it
     accepts nothing and answers nothing).

The MongoDB-compatible server runs at nice 10, as the shadow workers do:
it would have a machine of its own.  Figures: the client p99 of 2 and of 3 against 1 (goals: at most 1.2 and
1.10), and what comparing costs: the CPU time of the shadow workers (the
second read, its conversion and the comparison) per comparison made, and
the gateway's whole CPU time per client request in 2 against 1."""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "contract"))
from harness import ADMIN_TOKEN, ROOT, free_port  # noqa: E402
from mongo import Mongo  # noqa: E402
from common import figure, ms, profiled, stop, wrk_latency, wrk_run  # noqa: E402

SECRET = "bench-secret-not-real-00000"
CONFIG = "etc/examples/hisabpro/cutover.json"


def wrk(url, token, seconds, conns):
    """(req/s, p99 ms, p50 ms)"""
    report = wrk_run(url, token, seconds, conns)
    return (float(re.search(r"Requests/sec:\s+([\d.]+)", report).group(1)), ms(wrk_latency(report, 99)),
            ms(wrk_latency(report, 50)))


def cpu_seconds(pid, comm=None):
    """CPU time of the process's threads (those named comm, when given),
    from the scheduler's nanosecond counts: the shadow workers' share is
    too small for clock ticks."""
    total = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        base = "/proc/%d/task/%s" % (pid, tid)
        try:
            if comm and open(base + "/comm").read().strip() != comm:
                continue
            total += int(open(base + "/schedstat").read().split()[0])
        except OSError:
            continue                        # a thread that has just left
    return total / 1e9


def main():
    seconds = int(os.environ.get("BENCH_SECONDS", "10"))
    conns = int(os.environ.get("BENCH_CONNECTIONS", "32"))
    binary = os.path.abspath(sys.argv[1])
    tmp = tempfile.mkdtemp(prefix="cutover-bench-")
    mongo = Mongo()
    gw = None
    try:
        db = os.path.join(tmp, "demo.sqlite3")
        subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "demo_data.py"), "--schema",
                        os.path.join(ROOT, "etc", "examples", "hisabpro", "schema.sqlite.sql"), "--out", db],
                       check=True, stdout=subprocess.DEVNULL)
        port = free_port()
        env = dict(os.environ, DATABASE_URL="sqlite://" + db, MONGODB_URI=mongo.fresh_url("shadow_bench"),
                   MONGODB_DECIMAL=mongo.DECIMAL, DATABASE_MODE="legacy", JWT_SECRET=SECRET,
                   CUTOVER_LISTEN="127.0.0.1:%d" % port, CUTOVER_ADMIN_TOKEN=ADMIN_TOKEN,
                   CUTOVER_JOURNAL=os.path.join(tmp, "journal.sqlite3"))
        subprocess.run([binary, "migrate", "-c", CONFIG, "--state", os.path.join(tmp, "m.json")], cwd=ROOT,
                       env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        gw = subprocess.Popen([binary, "serve", "-c", CONFIG], cwd=ROOT, env=env,
                              stderr=open(os.path.join(tmp, "gw.log"), "w"))
        token = subprocess.run([binary, "token", "--user-id", "1", "-c", CONFIG], cwd=ROOT, env=env,
                               capture_output=True, text=True, check=True).stdout.strip()
        base = "http://127.0.0.1:%d" % port

        def curl(*args):
            return subprocess.run(["curl", "-sf"] + list(args), capture_output=True, text=True)

        for _ in range(100):
            if curl(base + "/api/invoices/", "-H", "Authorization: Bearer " + token).returncode == 0:
                break
            time.sleep(0.1)
        inv = json.loads(curl(base + "/api/invoices/recent/", "-H", "Authorization: Bearer " + token).stdout)[0]["id"]
        url = "%s/api/invoices/%s/" % (base, inv)

        def mode(m):
            r = curl("-X", "PUT", base + "/_cutover/mode", "-H", "Authorization: Bearer " + ADMIN_TOKEN,
                     "-d", json.dumps({"mode": m, "force": True}))     # the data is in both stores already
            assert r.returncode == 0, r

        def counters():
            return json.loads(curl(base + "/_cutover/routes/invoices", "-H",
                                   "Authorization: Bearer " + ADMIN_TOKEN).stdout)

        def measured(label):
            c0, s0 = cpu_seconds(gw.pid), cpu_seconds(gw.pid, "cutover-shadow")
            r = (label,) + profiled(gw.pid, label, lambda: wrk(url, token, seconds, conns))
            return r, cpu_seconds(gw.pid) - c0, cpu_seconds(gw.pid, "cutover-shadow") - s0

        # In production the secondary runs on its own machine; here it
        # shares two cores with wrk and the gateway, and FerretDB spends
        # milliseconds of CPU on a find.  It runs at the shadow workers' own
        # priority (nice 10, BENCH_SECONDARY_NICE): the client p99 follows
        # the share of the two cores it gets (see BENCHMARKS.md).
        for tid in os.listdir("/proc/%d/task" % mongo.proc.pid):
            os.setpriority(os.PRIO_PROCESS, int(tid), int(os.environ.get("BENCH_SECONDARY_NICE", "10")))
        rows = []
        mode("legacy")
        row, off_cpu, _ = measured("legacy (shadow off)")
        rows.append(row)
        mode("shadow")
        before = counters()
        row, on_cpu, shadow_cpu = measured("shadow, MongoDB healthy")
        rows.append(row)
        healthy = counters()
        mongo.proc.send_signal(signal.SIGSTOP)
        try:
            rows.append(("shadow, MongoDB hung (SIGSTOP)",) + wrk(url, token, seconds, conns))
        finally:
            mongo.proc.send_signal(signal.SIGCONT)
        hung = counters()
        for name, rate, p99, p50 in rows:
            print("%-44s %9.0f req/s  p50 %7.3f ms  p99 %7.3f ms" % (name, rate, p50, p99))
        print("shadow reads while healthy: compared %d, dropped %d" % (healthy["compared"], healthy["dropped"]))
        print("shadow reads while hung: %d more dropped, %d more timed out or failed" % (
            hung["dropped"] - healthy["dropped"],
            hung["secondary_timeouts"] + hung["secondary_errors"] - healthy["secondary_timeouts"] -
            healthy["secondary_errors"]))
        print("p99 ratio hung/off: %.2f (target <= 1.10); healthy/off: %.2f (target <= 1.2)" %
              (rows[2][2] / rows[0][2], rows[1][2] / rows[0][2]))
        compared = healthy["compared"] - before["compared"]
        per_compare = shadow_cpu / compared * 1e6 if compared else float("nan")
        off_req, on_req = off_cpu / (rows[0][1] * seconds) * 1e6, on_cpu / (rows[1][1] * seconds) * 1e6
        print("shadow workers' CPU per comparison: %.0f us (%d compared); gateway CPU per request: "
              "%.0f us shadow off, %.0f us shadow on" % (per_compare, compared, off_req, on_req))
        figure("shadow.healthy.p99_over_off", rows[1][2] / rows[0][2], "<=1.2")
        figure("shadow.hung.p99_over_off", rows[2][2] / rows[0][2], "<=1.10")
        figure("shadow.compare_cpu_us", per_compare)
        figure("shadow.gateway_cpu_per_request_on_over_off", on_req / off_req)
    finally:
        try:
            if gw:
                stop(gw)
        finally:
            mongo.close()


if __name__ == "__main__":
    main()
