#!/usr/bin/env python3
"""Migration part of `make bench`: `cutover migrate` copying 100,000
invoices (1-5 items each) and about 50,000 payments from SQLite into the
MongoDB-compatible server, and Agora (the second example, 1,042,816 rows
of 51 PostgreSQL tables into 38 collections), each against the raw
bulk-insert rate of the same server for the same documents
(tests/bench/mongo_loop.c copy: the migrated documents read back into
memory, then inserted into a fresh database with the same indexes, in
unordered bulks of 100, timed alone), in the same run.  Also the peak
resident memory of migrate and verify."""
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "contract"))
from big import agora_at_size, big_sqlite, run  # noqa: E402
from harness import ROOT, migrate_summary, uncomment  # noqa: E402
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
        agora(binary, loop, mongo, tmp)
    finally:
        mongo.close()


def agora(binary, loop, mongo, tmp):
    """Agora at over a million rows from PostgreSQL: documents a second over
    the whole copy, against the raw loop over every collection."""
    from pg import Postgres
    pg = Postgres()
    try:
        url, rows, cfg = agora_at_size(pg)
        a, b = mongo.fresh_url("bench_agora"), mongo.fresh_url("bench_agora_raw")
        env = dict(os.environ, DATABASE_URL=url, MONGODB_URI=a, MONGODB_DECIMAL=mongo.DECIMAL,
                   JWT_SECRET="bench-secret-not-real-00000")
        t = time.time()
        code, out, err, rss_m = run(binary, env, "migrate", "--state", os.path.join(tmp, "agora.json"), config=cfg)
        took = time.time() - t
        if code != 0:
            raise SystemExit("agora migrate failed:\n" + out + err)
        code, vout, err, rss_v = run(binary, env, "verify", config=cfg)
        if code != 0 or vout.count("identical") != 38:
            raise SystemExit("agora verify failed:\n" + vout + err)
        with open(cfg) as f:
            names = [r["name"] for r in uncomment(f.read())["resources"]]
        docs = {name: migrate_summary(out, name)[1] for name in names}
        subprocess.run([binary, "migrate", "--indexes-only", "-c", cfg], env=dict(env, MONGODB_URI=b), cwd=ROOT,
                       capture_output=True, text=True, check=True)
        raw_s = 0.0
        for name, n in docs.items():
            r = subprocess.run([loop, a, "copy", b, name], capture_output=True, text=True, check=True)
            raw_s += n / float(r.stdout.strip())
        total = sum(docs.values())
        print("agora: %d rows (%d documents in %d collections) migrated in %.1f s: %.0f rows/s, %.0f documents/s; "
              "raw bulk insert %.0f documents/s; ratio %.2f" % (rows, total, len(docs), took, rows / took,
                                                                 total / took, total / raw_s, raw_s / took))
        print("agora peak RSS: migrate %.1f MiB, verify %.1f MiB (limit 64 MiB)" % (rss_m / 1024, rss_v / 1024))
    finally:
        pg.close()


if __name__ == "__main__":
    main()
