#!/usr/bin/env python3
"""The migration toolkit (design.md §13) against real stores: the demo
data (480 invoices with 1-5 items, 126 payments) in SQLite and in
PostgreSQL, copied into the real MongoDB-compatible server."""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid

sys.path.insert(0, os.path.dirname(__file__))
from harness import ROOT, Gateway, Runner, binary_arg, eq, make_token, migrate_summary as summary  # noqa: E402
from mongo import Mongo  # noqa: E402

CONFIG = os.path.join(ROOT, "etc", "examples", "hisabpro", "cutover.json")
T1 = make_token(1)


class Tool:
    """cutover migrate/verify/repair against one pair of stores."""

    def __init__(self, binary, mongo, legacy_url, tmp):
        self.binary, self.mongo, self.tmp = binary, mongo, tmp
        self.mongo_url = mongo.fresh_url("migrate")
        self.env = dict(os.environ, DATABASE_URL=legacy_url, MONGODB_URI=self.mongo_url,
                        MONGODB_DECIMAL=mongo.DECIMAL, JWT_SECRET="migrate-test-secret-not-real")
        self.state = os.path.join(tmp, "state-%s.json" % uuid.uuid4().hex[:8])

    def run(self, *args, timeout=600):
        extra = ["--state", self.state] if args[0] == "migrate" else []
        return subprocess.run([self.binary] + list(args) + extra + ["-c", CONFIG], env=self.env, cwd=ROOT,
                              capture_output=True, text=True, timeout=timeout)

    def docs(self, body):
        return self.mongo.node(self.mongo_url, body)

    def verify_json(self):
        r = self.run("verify", "--json")
        return r.returncode, json.loads(r.stdout)


def demo_sqlite(tmp):
    from pg import demo_sqlite as make
    return make(os.path.join(tmp, "demo-%s.sqlite3" % uuid.uuid4().hex[:6]))


def test_migrate_and_verify_sqlite(binary, mongo, tmp):
    db = demo_sqlite(tmp)
    conn = sqlite3.connect(db)
    n_inv = conn.execute("SELECT COUNT(*) FROM invoices_invoice").fetchone()[0]
    n_pay = conn.execute("SELECT COUNT(*) FROM invoices_invoice").fetchone()[0] and \
        conn.execute("SELECT COUNT(*) FROM invoices_payment").fetchone()[0]
    # a row that cannot be converted: a decimal column holding text
    bad = conn.execute("SELECT id FROM invoices_invoice ORDER BY id LIMIT 1 OFFSET 7").fetchone()[0]
    conn.execute("UPDATE invoices_invoice SET subtotal='lots' WHERE id=?", (bad,))
    conn.commit()
    t = Tool(binary, mongo, "sqlite://" + db, tmp)
    r = t.run("migrate")
    eq(r.returncode, 3, r.stdout + r.stderr)          # done, with a row that could not be copied
    eq(summary(r.stdout, "invoices"), (n_inv, n_inv - 1, 0, 1))
    eq(summary(r.stdout, "payments"), (n_pay, n_pay, 0, 0))
    bad_id = str(uuid.UUID(bad))
    assert "invoices %s: " % bad_id in r.stderr and "subtotal" in r.stderr, r.stderr
    code, rep = t.verify_json()
    eq(code, 1)
    inv = rep["resources"]["invoices"]
    eq((inv["missing"], inv["extra"], inv["different"]), (1, 0, 0))
    eq(inv["ids"]["missing"][0][0], bad_id)
    # fixed at the source, the next run copies it; verify is then clean
    conn.execute("UPDATE invoices_invoice SET subtotal=100 WHERE id=?", (bad,))
    conn.commit()
    conn.close()
    r = t.run("migrate", "--restart")
    eq(r.returncode, 0, r.stdout + r.stderr)
    eq(summary(r.stdout, "invoices"), (n_inv, 1, n_inv - 1, 0))   # the others are there already
    r = t.run("verify")
    eq(r.returncode, 0, r.stdout + r.stderr)
    assert "identical" in r.stdout, r.stdout
    # a document's items embedded, decimals as minor units
    doc = t.docs("return await db.collection('invoices').findOne({_id: %s});" % json.dumps(bad_id))
    eq(doc["subtotal"], 10000)
    assert isinstance(doc["items"], list) and doc["items"], doc


def test_migrate_from_postgres(binary, mongo, tmp):
    from pg import Postgres, copy_demo
    pg = Postgres()
    try:
        copy_demo(pg, tmp)
        t = Tool(binary, mongo, pg.url, tmp)
        r = t.run("migrate")
        eq(r.returncode, 0, r.stdout + r.stderr)
        n = int(pg.sql("SELECT COUNT(*) FROM invoices_invoice")[0][0])
        eq(summary(r.stdout, "invoices")[:2], (n, n))
        r = t.run("verify")
        eq(r.returncode, 0, r.stdout + r.stderr)
    finally:
        pg.close()


def test_killed_and_resumed(binary, mongo, tmp):
    db = demo_sqlite(tmp)
    t = Tool(binary, mongo, "sqlite://" + db, tmp)
    p = subprocess.Popen([binary, "migrate", "--batch", "20", "--rate", "150", "--state", t.state, "-c", CONFIG],
                         env=t.env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(1.5)
    p.send_signal(signal.SIGKILL)
    p.wait()
    with open(t.state) as f:
        state = json.load(f)
    done = state["resources"]["invoices"]["read"]
    assert 0 < done < 480, state
    r = t.run("migrate")
    eq(r.returncode, 0, r.stdout + r.stderr)
    assert "resumes after row %d" % done in r.stderr, r.stderr
    read, written, skipped, failed = summary(r.stdout, "invoices")
    eq((read, failed), (480, 0))
    # the rows of the batch in flight at the kill were there already, unchanged
    assert skipped <= 20, (read, written, skipped)
    r = t.run("verify")
    eq(r.returncode, 0, r.stdout + r.stderr)


def test_verify_finds_and_repair_fixes(binary, mongo, tmp):
    db = demo_sqlite(tmp)
    t = Tool(binary, mongo, "sqlite://" + db, tmp)
    eq(t.run("migrate").returncode, 0)
    ids = t.docs("return (await db.collection('invoices').find({}, {projection: {_id: 1}}).sort({_id: 1})"
                 ".limit(3).toArray()).map(d => d._id);")
    extra = str(uuid.uuid4())
    t.docs("""
await db.collection('invoices').updateOne({_id: %s}, {$set: {client_name: 'Edited behind its back'}});
await db.collection('invoices').updateOne({_id: %s}, {$set: {'items.0.description': 'Changed'}});
await db.collection('invoices').deleteOne({_id: %s});
const copy = await db.collection('invoices').findOne({_id: %s});
copy._id = %s; copy.invoice_number = 'EXTRA-1';
await db.collection('invoices').insertOne(copy);
""" % (json.dumps(ids[0]), json.dumps(ids[1]), json.dumps(ids[2]), json.dumps(ids[0]), json.dumps(extra)))
    code, rep = t.verify_json()
    eq(code, 1)
    inv = rep["resources"]["invoices"]
    eq(sorted(i[0] for i in inv["ids"]["different"]), sorted(ids[:2]))
    eq([i[0] for i in inv["ids"]["missing"]], [ids[2]])
    eq([i[0] for i in inv["ids"]["extra"]], [extra])
    eq(rep["resources"]["payments"]["different"], 0)
    r = t.run("verify")
    assert "client_name" in r.stdout and "items" in r.stdout, r.stdout
    report = os.path.join(tmp, "verify.json")
    with open(report, "w") as f:
        json.dump(rep, f)
    r = t.run("repair", "--from-verify", report)
    eq(r.returncode, 0, r.stdout + r.stderr)
    assert "4 records rewritten or deleted" in r.stdout, r.stdout
    eq(t.run("verify").returncode, 0)
    # and without a report: repair finds the differences itself
    t.docs("await db.collection('payments').deleteMany({method: 'cash'});")
    eq(t.run("verify").returncode, 1)
    eq(t.run("repair").returncode, 0)
    eq(t.run("verify").returncode, 0)


def test_unique_conflict_reported(binary, mongo, tmp):
    """A row whose unique values another MongoDB document holds (here: the
    same invoice under a new id in the legacy store) is refused with the
    reason and counted failed; the rest are left alone."""
    db = demo_sqlite(tmp)
    t = Tool(binary, mongo, "sqlite://" + db, tmp)
    r = t.run("migrate")
    eq(r.returncode, 0, r.stdout + r.stderr)
    conn = sqlite3.connect(db)
    n_inv = conn.execute("SELECT COUNT(*) FROM invoices_invoice").fetchone()[0]
    old = conn.execute("SELECT id FROM invoices_invoice WHERE id NOT IN (SELECT invoice_id FROM invoices_payment) "
                       "ORDER BY id LIMIT 1").fetchone()[0]
    new = uuid.uuid4().hex
    conn.execute("UPDATE invoices_invoice SET id=? WHERE id=?", (new, old))
    conn.execute("UPDATE invoices_invoiceitem SET invoice_id=? WHERE invoice_id=?", (new, old))
    conn.commit()
    conn.close()
    r = t.run("migrate", "--restart")
    eq(r.returncode, 3, r.stdout + r.stderr)
    eq(summary(r.stdout, "invoices"), (n_inv, 0, n_inv - 1, 1))
    assert "invoices %s: unique constraint: another document has these values" % uuid.UUID(new) in r.stderr, \
        r.stderr


def test_migrate_beside_dual_writes(binary, mongo, tmp):
    """The gateway in dual-write takes creates, updates and deletes on the
    same resource while migrate runs; verify is identical afterwards."""
    gw = Gateway(binary, mongo=mongo, mode="dual-write", config={"store_threads": 4})
    stop = threading.Event()
    errors = []

    def writer():
        mine, n = [], 0
        while not stop.is_set():
            n += 1
            body = {"invoice_number": "DW-%d" % n, "client_name": "c", "issue_date": "2025-11-01",
                    "items": [{"description": "x", "unit_price": "1", "amount": "1"}]}
            r = gw.request("POST", "/api/invoices/", body, T1)
            if r.status != 201:
                errors.append(r.text)
                continue
            mine.append(r.json()["id"])
            if n % 3 == 0:
                gw.request("PATCH", "/api/invoices/%s/" % mine[0], {"notes": "p%d" % n}, T1)
            if n % 4 == 0:
                gw.request("DELETE", "/api/invoices/%s/" % mine.pop(0), token=T1)

    try:
        # rows from before dual-write, written straight to the legacy store
        for i in range(300):
            gw.sql("INSERT INTO invoices_invoice VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                   (uuid.uuid4().hex, "OLD-%d" % i, "Old", "", "2025-01-01", None, "sent", 1, 0, 1, "INR", "",
                    "2025-01-01 00:00:00", "2025-01-01 00:00:00", 1))
        th = threading.Thread(target=writer)
        th.start()
        env = dict(gw.env)
        r = subprocess.run([binary, "migrate", "--batch", "25", "--state", os.path.join(gw.dir, "m.json"), "-c",
                            gw.cfg_path], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
        stop.set()
        th.join(timeout=60)
        eq(r.returncode, 0, r.stdout + r.stderr)
        eq(errors, [])
        deadline = time.time() + 30
        while gw.admin("GET", "journal")[1]["depth"] and time.time() < deadline:
            time.sleep(0.1)
        v = subprocess.run([binary, "verify", "-c", gw.cfg_path], env=env, cwd=ROOT, capture_output=True,
                           text=True, timeout=300)
        eq(v.returncode, 0, v.stdout + v.stderr)
    finally:
        stop.set()
        problems, log = gw.stop()
    eq(problems, [], log[-2000:])


def main():
    binary = binary_arg()
    runner = Runner()
    tmp = tempfile.mkdtemp(prefix="cutover-migrate-")
    mongo = Mongo()
    print("== migrate, verify, repair", flush=True)
    try:
        runner.run([test_migrate_and_verify_sqlite, test_migrate_from_postgres, test_killed_and_resumed,
                    test_verify_finds_and_repair_fixes, test_unique_conflict_reported], binary, mongo, tmp)
        runner.run([test_migrate_beside_dual_writes], binary, mongo, tmp)
    finally:
        mongo.close()
    return runner.finish()


if __name__ == "__main__":
    sys.exit(main())
