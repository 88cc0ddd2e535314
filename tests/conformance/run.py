#!/usr/bin/env python3
"""Run the adapter conformance suite against every store (a fresh SQLite
file and a real PostgreSQL) and require byte-identical transcripts."""
import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "contract"))
from harness import ROOT, SCHEMA  # noqa: E402
from pg import Postgres  # noqa: E402

USERS = (7, 8)


def run(binary, url, transcript):
    env = dict(os.environ, CONFORMANCE_URL=url, CONFORMANCE_TRANSCRIPT=transcript)
    r = subprocess.run([binary], cwd=ROOT, env=env, capture_output=True, text=True)
    sys.stdout.write(r.stdout)
    sys.stderr.write(r.stderr)
    return r.returncode == 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    binary = os.path.abspath(ap.parse_args().binary)
    tmp = tempfile.mkdtemp(prefix="cutover-conformance-")
    ok = True
    db = os.path.join(tmp, "conformance.sqlite3")
    conn = sqlite3.connect(db)
    with open(SCHEMA) as f:
        conn.executescript(f.read())
    for uid in USERS:
        conn.execute("INSERT INTO auth_user (id,password,is_superuser,username,last_name,email,is_staff,"
                     "is_active,date_joined,first_name) VALUES (?,'!',0,?,'','',0,1,'2025-01-01 00:00:00','')",
                     (uid, "u%d" % uid))
    conn.commit()
    conn.close()
    print("== conformance: sqlite", flush=True)
    ok &= run(binary, "sqlite://" + db, os.path.join(tmp, "sqlite.txt"))
    pg = Postgres()
    try:
        for uid in USERS:
            pg.sql("INSERT INTO auth_user (id,password,is_superuser,username,last_name,email,is_staff,"
                   "is_active,date_joined,first_name) VALUES (?,'!','f',?,'','','f','t','2025-01-01 00:00:00+00','')",
                   (uid, "u%d" % uid))
        print("== conformance: postgres", flush=True)
        ok &= run(binary, pg.url, os.path.join(tmp, "postgres.txt"))
    finally:
        pg.close()
    with open(os.path.join(tmp, "sqlite.txt")) as a, open(os.path.join(tmp, "postgres.txt")) as b:
        la, lb = a.read().splitlines(), b.read().splitlines()
    same = la == lb and len(la) > 100
    if not same:
        for x, y in zip(la, lb):
            if x != y:
                print("transcripts differ:\n  sqlite:   %s\n  postgres: %s" % (x, y))
                break
        else:
            print("transcripts: %d and %d lines (a full run writes over 100)" % (len(la), len(lb)))
    print("%d passed, %d failed" % (1 if same else 0, 0 if same else 1))
    print("conformance: %s (%d transcript lines)" % ("identical" if same else "DIFFERENT", len(la)))
    return 0 if ok and same else 1


if __name__ == "__main__":
    sys.exit(main())
