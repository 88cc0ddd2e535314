#!/usr/bin/env python3
"""`make bench`: every part, each figure measured BENCH_RUNS times (3 by
default) in rounds, then one table of every figure's min / median / max
against its goal.  The migration and fixed-cost parts, long and not
repeated, run once after the rounds.  A part that fails (a server that
cannot start, an error answer) fails the whole run, after the others.

usage: all.py CUTOVER BARE_SERVER MONGO_LOOP
  BENCH_RUNS     rounds (3)
  BENCH_PARTS    parts to run, comma-separated (all): sqlite, pg, mongo,
                 passthrough, shadow, scaling, fixed, migrate
  BENCH_SECONDS  seconds per wrk run (10); BENCH_CONNECTIONS (32)
  BENCH_SUMMARY  where the table is also written as Markdown
                 (build/bench-summary.md)
  BENCH_PROFILE  1: a perf summary of the gateway on each path, every
                 round; first: in the first round only (perf's sampling
                 costs the gateway a little)"""
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def parts(cutover, bare, loop):
    repeated = [
        ("sqlite", ["sqlite_bench.py", cutover, bare]),
        ("pg", ["pg_bench.py", cutover]),
        ("mongo", ["mongo_bench.py", cutover, loop]),
        ("passthrough", ["passthrough_bench.py", cutover]),
        ("shadow", ["shadow_bench.py", cutover]),
        ("scaling", ["scaling_bench.py", cutover]),
    ]
    once = [
        ("fixed", ["idle_mongo_bench.py", cutover]),
        ("migrate", ["migrate_bench.py", cutover, loop]),
    ]
    return repeated, once


def run_part(name, argv, figures, failed, profile=False):
    """Runs one part, its output passed through; its FIGURE lines kept."""
    print("\n== %s: %s" % (name, " ".join(argv)), flush=True)
    t0 = time.time()
    env = dict(os.environ, BENCH_PROFILE="1" if profile else "")
    p = subprocess.Popen([sys.executable, os.path.join(HERE, argv[0])] + argv[1:], stdout=subprocess.PIPE,
                         text=True, env=env)
    for line in p.stdout:
        if line.startswith("FIGURE "):
            _, key, value, goal = line.split()
            figures.setdefault(key, {"goal": goal, "values": []})["values"].append(float(value))
        else:
            sys.stdout.write(line)
            sys.stdout.flush()
    if p.wait() != 0:
        failed.append(name)
        print("bench: part %s FAILED (exit %d)" % (name, p.returncode), flush=True)
    else:
        print("(%s: %.0f s)" % (name, time.time() - t0), flush=True)


def verdict(goal, value):
    if goal == "-":
        return ""
    bound = float(goal[2:])
    ok = value >= bound if goal.startswith(">=") else value <= bound
    return "met" if ok else "NOT MET"


def table(figures):
    rows = ["| figure | goal | min | median | max | runs | median vs goal |",
            "|---|---|---:|---:|---:|---:|---|"]
    for key, f in figures.items():
        v = f["values"]
        med = statistics.median(v)
        fmt = "%.0f" if med >= 100 else "%.2f"
        rows.append("| %s | %s | %s | %s | %s | %d | %s |" % (
            key, f["goal"].replace(">=", "≥ ").replace("<=", "≤ ") if f["goal"] != "-" else "",
            fmt % min(v), fmt % med, fmt % max(v), len(v), verdict(f["goal"], med)))
    return "\n".join(rows)


def main():
    cutover, bare, loop = (os.path.abspath(a) for a in sys.argv[1:4])
    runs = int(os.environ.get("BENCH_RUNS", "3"))
    repeated, once = parts(cutover, bare, loop)
    wanted = os.environ.get("BENCH_PARTS", "")
    wanted = set(wanted.split(",")) if wanted else {n for n, _ in repeated + once}
    unknown = wanted - {n for n, _ in repeated + once}
    if unknown:
        sys.exit("bench: no such part: %s" % ", ".join(sorted(unknown)))
    profile = os.environ.get("BENCH_PROFILE", "")
    figures, failed = {}, []
    for r in range(runs):
        print("\n######## round %d of %d" % (r + 1, runs), flush=True)
        for name, argv in repeated:
            if name in wanted:
                run_part(name, argv, figures, failed, profile == "1" or (profile == "first" and r == 0))
    for name, argv in once:
        if name in wanted:
            run_part(name, argv, figures, failed)
    text = table(figures)
    print("\n" + text)
    out = os.environ.get("BENCH_SUMMARY", os.path.join("build", "bench-summary.md"))
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    with open(out, "w") as f:
        f.write(text + "\n")
    print("(written to %s)" % out)
    if failed:
        sys.exit("bench: FAILED parts: %s" % ", ".join(failed))


if __name__ == "__main__":
    main()
