#!/usr/bin/env python3
"""Migration part of `make bench`: `cutover migrate` copying 100,000
invoices (1-5 items each) and about 50,000 payments from SQLite into the
MongoDB-compatible server, against the raw bulk-insert rate of the same
server for the same documents (tests/bench/mongo_loop.c copy: the migrated
documents read back into memory, then inserted into a fresh database with
the same indexes, in unordered bulks of 100, timed alone), in the same run.  Also the peak
resident memory of migrate and verify."""
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "contract"))
from big import big_sqlite, run  # noqa: E402
from harness import ROOT  # noqa: E402
from mongo import Mongo  # noqa: E402


def main():
    binary, loop = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    tmp = tempfile.mkdtemp(prefix="cutover-bench-")
    db = big_sqlite(tmp)
    mongo = Mongo()
    try:
        a, b = mongo.fresh_url("bench_migrate"), mongo.fresh_url("bench_raw")
        env = dict(os.environ, DATABASE_URL="sqlite://" + db, MONGODB_URI=a, MONGODB_DECIMAL=mongo.DECIMAL,
                   JWT_SECRET="bench-secret-not-real-00000")
        code, out, err, rss_m = run(binary, env, "migrate", "--state", os.path.join(tmp, "m.json"))
        if code != 0:
            raise SystemExit("migrate failed:\n" + out + err)
        code, vout, err, rss_v = run(binary, env, "verify")
        if code != 0:
            raise SystemExit("verify failed:\n" + vout + err)
        rates = {}
        for line in out.splitlines():
            f = line.split()
            if f and f[0] in ("invoices", "payments"):
                rates[f[0]] = float(f[-1])
        # the raw rate: the same documents, bulk-inserted by a plain mongoc
        # loop into collections with the same indexes
        r = subprocess.run([binary, "migrate", "--indexes-only", "-c", "etc/examples/hisabpro/cutover.json"],
                           env=dict(env, MONGODB_URI=b), cwd=ROOT, capture_output=True, text=True, check=True)
        raw = {}
        for name in ("invoices", "payments"):
            r = subprocess.run([loop, a, "copy", b, name], capture_output=True, text=True, check=True)
            raw[name] = float(r.stdout.strip())
        print(out.rstrip())
        for name in ("invoices", "payments"):
            print("%-10s migrate %8.0f rows/s, raw bulk insert %8.0f docs/s, ratio %.2f (target >= 0.70)" % (
                name, rates[name], raw[name], rates[name] / raw[name]))
        print("peak RSS: migrate %.1f MiB, verify %.1f MiB (limit 64 MiB)" % (rss_m / 1024, rss_v / 1024))
        m = re.findall(r"legacy (\d+), mongodb (\d+)", vout)
        print("verify: %s" % ", ".join("%s = %s" % x for x in m))
    finally:
        mongo.close()


if __name__ == "__main__":
    main()
