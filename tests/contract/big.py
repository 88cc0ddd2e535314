#!/usr/bin/env python3
"""The migration at full size: 100,000 invoices (1-5 items each) and
50,000 payments, from SQLite and from PostgreSQL into the real
MongoDB-compatible server, and Agora (the second example) at over a
million rows across its 51 tables; verify must report identical and exit
0, and neither command may grow past 64 MiB of resident memory."""
import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.dirname(__file__))
from harness import ROOT, Runner, eq, migrate_summary as summary  # noqa: E402
from mongo import Mongo  # noqa: E402

CONFIG = os.path.join(ROOT, "etc", "examples", "hisabpro", "cutover.json")
LIMIT_KB = 64 * 1024


def run(binary, env, *args, config=CONFIG):
    """Run a cutover command; (exit status, stdout, stderr, peak RSS in KiB).

    The peak is the process's VmHWM, read until it exits: rusage's maxrss
    would also count the memory of the (forked) test process before exec."""
    peak = 0
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        p = subprocess.Popen([binary] + list(args) + ["-c", config], env=env, cwd=ROOT, stdout=out, stderr=err)
        while p.poll() is None:
            try:
                with open("/proc/%d/status" % p.pid) as f:
                    for line in f:
                        if line.startswith("VmHWM:"):
                            peak = max(peak, int(line.split()[1]))
            except (OSError, ValueError):
                pass
            time.sleep(0.02)
        out.seek(0)
        err.seek(0)
        return p.returncode, out.read(), err.read(), peak


def big_sqlite(tmp):
    """100,000 invoices (50,000 per user), half of them with a payment."""
    from pg import demo_sqlite
    return demo_sqlite(os.path.join(tmp, "big.sqlite3"), "--invoices", "50000", "--payments", "0.5")


def counts(db):
    c = sqlite3.connect(db)
    try:
        return tuple(c.execute("SELECT COUNT(*) FROM %s" % t).fetchone()[0]
                     for t in ("invoices_invoice", "invoices_invoiceitem", "invoices_payment"))
    finally:
        c.close()


def migrate_and_verify(binary, mongo, legacy_url, n_inv, n_pay, tmp):
    env = dict(os.environ, DATABASE_URL=legacy_url, MONGODB_URI=mongo.fresh_url("big"),
               MONGODB_DECIMAL=mongo.DECIMAL, JWT_SECRET="big-test-secret-not-real-0000")
    code, out, err, rss = run(binary, env, "migrate", "--state", os.path.join(tmp, uuid.uuid4().hex + ".json"))
    eq(code, 0, out + err[-2000:])
    eq(summary(out, "invoices"), (n_inv, n_inv, 0, 0))
    eq(summary(out, "payments"), (n_pay, n_pay, 0, 0))
    print("     migrate: %s" % " | ".join(l.strip() for l in out.splitlines()[-2:]))
    assert rss < LIMIT_KB, "migrate peak RSS %d KiB" % rss
    code, out, err, rss2 = run(binary, env, "verify")
    eq(code, 0, out + err[-2000:])
    assert out.count("identical") == 2, out
    assert rss2 < LIMIT_KB, "verify peak RSS %d KiB" % rss2
    print("     peak RSS: migrate %d KiB, verify %d KiB (limit %d)" % (rss, rss2, LIMIT_KB))


def test_100k_from_sqlite(binary, mongo, db, tmp):
    n_inv, n_items, n_pay = counts(db)
    eq((n_inv, n_pay), (100000, 50000))
    assert 100000 <= n_items <= 500000, n_items
    migrate_and_verify(binary, mongo, "sqlite://" + db, n_inv, n_pay, tmp)


def test_100k_from_postgres(binary, mongo, db, tmp):
    from pg import Postgres, load_sqlite
    pg = Postgres()
    try:
        load_sqlite(pg, db)
        n_inv, _, n_pay = counts(db)
        migrate_and_verify(binary, mongo, pg.url, n_inv, n_pay, tmp)
    finally:
        pg.close()


AGORA_USERS, AGORA_PER = 950, 20       # 1,042,800 rows


def agora_at_size(pg):
    """Agora's database with over a million rows; (url, rows, resources)."""
    from agora import AGORA, agora_database
    _, url = agora_database(pg, AGORA_USERS, AGORA_PER)
    tables = pg.psql(url, "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()").split()
    rows = sum(int(pg.psql(url, "SELECT COUNT(*) FROM %s" % t)) for t in tables)
    return url, rows, os.path.join(AGORA, "cutover.json")


def test_agora_million_rows(binary, mongo, tmp):
    from pg import Postgres
    pg = Postgres()
    try:
        url, rows, cfg = agora_at_size(pg)
        assert rows >= 1000000, rows
        print("     agora: %d rows in %s" % (rows, url.rsplit("/", 1)[1]))
        env = dict(os.environ, DATABASE_URL=url, MONGODB_URI=mongo.fresh_url("agora"),
                   MONGODB_DECIMAL=mongo.DECIMAL, JWT_SECRET="big-test-secret-not-real-0000")
        code, out, err, rss = run(binary, env, "migrate", "--state", os.path.join(tmp, "agora.json"), config=cfg)
        eq(code, 0, out[-3000:] + err[-2000:])
        eq(summary(out, "posts"), (AGORA_USERS * AGORA_PER,) * 2 + (0, 0))
        eq(summary(out, "wallets"), (AGORA_USERS * 3,) * 2 + (0, 0))
        code, vout, err, rss2 = run(binary, env, "verify", config=cfg)
        eq(code, 0, vout[-3000:] + err[-2000:])
        eq(vout.count("identical"), 38, vout)
        assert rss < LIMIT_KB and rss2 < LIMIT_KB, (rss, rss2)
        print("     peak RSS: migrate %d KiB, verify %d KiB (limit %d)" % (rss, rss2, LIMIT_KB))
    finally:
        pg.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    a = ap.parse_args()
    binary = os.path.abspath(a.binary)
    tmp = tempfile.mkdtemp(prefix="cutover-big-")
    db = big_sqlite(tmp)
    runner = Runner()
    mongo = Mongo()
    print("== migrate at full size (100,000 invoices)", flush=True)
    try:
        runner.run([test_100k_from_sqlite, test_100k_from_postgres], binary, mongo, db, tmp)
        print("== Agora at over a million rows", flush=True)
        runner.run([test_agora_million_rows], binary, mongo, tmp)
    finally:
        mongo.close()
    return runner.finish()


if __name__ == "__main__":
    sys.exit(main())
