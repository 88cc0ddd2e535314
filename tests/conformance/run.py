#!/usr/bin/env python3
"""Run the adapter conformance suite against every store (a fresh SQLite
file, a real PostgreSQL and a real MongoDB-compatible server) and require
byte-identical transcripts."""
import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "contract"))
from harness import ROOT, SCHEMA  # noqa: E402
from mongo import Mongo  # noqa: E402
from pg import Postgres  # noqa: E402

USERS = (7, 8)
# The json field's table (test_conformance.c declares its resource): text in
# SQLite, json in PostgreSQL, which keep the text as written (jsonb would
# reorder keys and respell numbers itself).
SQLITE_DOCS = ('CREATE TABLE "conformance_docs" ("id" char(32) NOT NULL PRIMARY KEY, "body" text NULL, '
               '"user_id" integer NOT NULL)')
POSTGRES_DOCS = "CREATE TABLE conformance_docs (id uuid PRIMARY KEY, body json, user_id integer NOT NULL)"


def run(binary, url, transcript, **extra):
    env = dict(os.environ, CONFORMANCE_URL=url, CONFORMANCE_TRANSCRIPT=transcript, **extra)
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
    conn.execute(SQLITE_DOCS)
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
        pg.sql(POSTGRES_DOCS)
        print("== conformance: postgres", flush=True)
        ok &= run(binary, pg.url, os.path.join(tmp, "postgres.txt"))
    finally:
        pg.close()
    mongo = Mongo()
    try:
        url = mongo.fresh_url("conformance")
        env = dict(os.environ, MONGODB_URI=url, MONGODB_DECIMAL=mongo.DECIMAL)
        cutover = os.path.join(os.path.dirname(binary), "..", "cutover")
        r = subprocess.run([cutover, "migrate", "--indexes-only"], cwd=ROOT, env=env,
                           capture_output=True, text=True)
        sys.stdout.write(r.stdout + r.stderr)
        ok &= r.returncode == 0
        print("== conformance: mongodb", flush=True)
        ok &= run(binary, url, os.path.join(tmp, "mongodb.txt"), MONGODB_DECIMAL=mongo.DECIMAL)
    finally:
        mongo.close()
    texts = {}
    for name in ("sqlite", "postgres", "mongodb"):
        with open(os.path.join(tmp, name + ".txt")) as f:
            texts[name] = f.read().splitlines()
    la = texts["sqlite"]
    same = len(la) > 100
    for name in ("postgres", "mongodb"):
        lb = texts[name]
        if la == lb:
            continue
        same = False
        for x, y in zip(la, lb):
            if x != y:
                print("transcripts differ:\n  sqlite:   %s\n  %-9s %s" % (x, name + ":", y))
                break
        else:
            print("transcripts: sqlite %d lines, %s %d lines" % (len(la), name, len(lb)))
    if len(la) <= 100:
        print("transcripts: %d lines (a full run writes over 100)" % len(la))
    print("%d passed, %d failed" % (1 if same else 0, 0 if same else 1))
    print("conformance: %s (%d transcript lines)" % ("identical" if same else "DIFFERENT", len(la)))
    return 0 if ok and same else 1


if __name__ == "__main__":
    sys.exit(main())
