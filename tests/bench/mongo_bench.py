#!/usr/bin/env python3
"""MongoDB part of `make bench`: the gateway in mongodb mode serving the
demo data from a real MongoDB-compatible server (FerretDB, or MONGODB_URI),
against the same finds issued straight through mongoc by a loop of as many
threads as the gateway has store workers, on the same server in the same
run (the ceiling)."""
import datetime as dt
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from decimal import Decimal

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "contract"))
from harness import ROOT, free_port  # noqa: E402
from mongo import Mongo  # noqa: E402
from common import Served, figure, paced, profiled, stop, wrk  # noqa: E402

SECRET = "bench-secret-not-real-00000"
CONFIG = "etc/examples/hisabpro/cutover.json"
WORKERS = 8     # the gateway's store workers for a network store


def ms(text):
    t = dt.datetime.fromisoformat(text.replace(" ", "T")).replace(tzinfo=dt.timezone.utc)
    return {"$date": {"$numberLong": str(int(t.timestamp() * 1000))}}


def units(v):
    return {"$numberLong": str(int((Decimal(str(v)) * 100).quantize(Decimal(1))))}


def uid(hexid):
    return "%s-%s-%s-%s-%s" % (hexid[:8], hexid[8:12], hexid[12:16], hexid[16:20], hexid[20:])


def demo_documents(tmp):
    """The demo data, made for SQLite, as the documents the gateway writes."""
    db = os.path.join(tmp, "demo.sqlite3")
    subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "demo_data.py"), "--schema",
                    os.path.join(ROOT, "etc", "examples", "hisabpro", "schema.sqlite.sql"), "--out", db],
                   check=True, stdout=subprocess.DEVNULL)
    src = sqlite3.connect(db)
    src.row_factory = sqlite3.Row
    items = {}
    for it in src.execute("SELECT * FROM invoices_invoiceitem ORDER BY invoice_id, position, id"):
        items.setdefault(it["invoice_id"], []).append(
            {"id": uid(it["id"]), "description": it["description"], "quantity": units(it["quantity"]),
             "unit_price": units(it["unit_price"]), "amount": units(it["amount"]),
             "position": {"$numberInt": str(it["position"])}})
    invoices = []
    for r in src.execute("SELECT * FROM invoices_invoice"):
        invoices.append({"_id": uid(r["id"]), "invoice_number": r["invoice_number"], "client_name": r["client_name"],
                         "client_email": r["client_email"], "issue_date": ms(r["issue_date"]),
                         "due_date": ms(r["due_date"]) if r["due_date"] else None, "status": r["status"],
                         "subtotal": units(r["subtotal"]), "tax_amount": units(r["tax_amount"]),
                         "total_amount": units(r["total_amount"]), "currency": r["currency"], "notes": r["notes"],
                         "items": items.get(r["id"], []), "created_at": ms(r["created_at"]),
                         "updated_at": ms(r["updated_at"]), "user_id": {"$numberInt": str(r["user_id"])}})
    return invoices


def main():
    seconds = int(os.environ.get("BENCH_SECONDS", "10"))
    conns = int(os.environ.get("BENCH_CONNECTIONS", "32"))
    binary, loop = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    tmp = tempfile.mkdtemp(prefix="cutover-bench-")
    mongo = Mongo()
    gw = None
    try:
        url = mongo.fresh_url("bench")
        docs = os.path.join(tmp, "invoices.json")
        with open(docs, "w") as f:
            json.dump(demo_documents(tmp), f)
        mongo.node(url, "const fs = require('fs'); const {BSON} = require('mongodb');"
                        "await db.collection('invoices').insertMany(BSON.EJSON.parse(fs.readFileSync(%s, 'utf8')));"
                   % json.dumps(docs))
        port = free_port()
        # The legacy store is configured (and must answer) even when every
        # route is served from MongoDB: the demo copy the documents came from.
        env = dict(os.environ, MONGODB_URI=url, DATABASE_MODE="mongodb", MONGODB_DECIMAL=mongo.DECIMAL,
                   DATABASE_URL="sqlite://" + os.path.join(tmp, "demo.sqlite3"),
                   JWT_SECRET=SECRET, CUTOVER_LISTEN="127.0.0.1:%d" % port, ACCESS_LOG="")
        subprocess.run([binary, "migrate", "--indexes-only", "-c", CONFIG], cwd=ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL)
        gw = subprocess.Popen([binary, "serve", "-c", CONFIG], cwd=ROOT, env=env,
                              stderr=open(os.path.join(tmp, "gw.log"), "w"))
        token = subprocess.run([binary, "token", "--user-id", "1", "-c", CONFIG], cwd=ROOT, env=env,
                               capture_output=True, text=True, check=True).stdout.strip()
        base = "http://127.0.0.1:%d" % port
        for _ in range(100):
            if subprocess.run(["curl", "-sf", "-o", "/dev/null", base + "/api/invoices/", "-H",
                               "Authorization: Bearer " + token]).returncode == 0:
                break
            time.sleep(0.1)
        inv = json.loads(subprocess.run(["curl", "-sf", base + "/api/invoices/recent/", "-H",
                                         "Authorization: Bearer " + token],
                                        capture_output=True, text=True, check=True).stdout)[0]["id"]

        tick = os.sysconf("SC_CLK_TCK")

        def gw_cpu():
            with open("/proc/%d/stat" % gw.pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / tick

        def children_cpu():
            ru = resource.getrusage(resource.RUSAGE_CHILDREN)
            return ru.ru_utime + ru.ru_stime

        def raw(mode, secs):
            c0 = children_cpu()
            r = subprocess.run([loop, url, mode, inv, "1", str(secs), str(WORKERS)],
                               capture_output=True, text=True, check=True)
            rate = float(r.stdout.strip())
            return rate, (children_cpu() - c0) / (rate * secs) * 1e6

        def served(path, secs):
            c0 = gw_cpu()
            rate, p99 = profiled(gw.pid, "MongoDB " + path, lambda: wrk(base + path, token, secs, conns))
            return rate, p99, (gw_cpu() - c0) / (rate * secs) * 1e6

        d_gw, d_p99, d_cpu = served("/api/invoices/%s/" % inv, seconds)
        d_raw, d_raw_cpu = raw("detail", seconds)
        # A page costs the test server far more than a detail: run longer.
        l_gw, l_p99, l_cpu = served("/api/invoices/", 3 * seconds)
        l_raw, l_raw_cpu = raw("page", 3 * seconds)
        print("%-52s %10.0f req/s  p99 %-9s %6.0f us CPU/req" % ("gateway GET /api/invoices/{id}/ (MongoDB)",
                                                               d_gw, d_p99, d_cpu))
        print("%-52s %10.0f ops/s  %-13s %6.0f us CPU/op" % ("mongoc loop, the same find (%d threads)" % WORKERS,
                                                            d_raw, "", d_raw_cpu))
        print("ratio gateway/mongoc (detail): %.2f" % (d_gw / d_raw))
        print("%-52s %10.0f req/s  p99 %-9s %6.0f us CPU/req" % ("gateway GET /api/invoices/ page (MongoDB)",
                                                               l_gw, l_p99, l_cpu))
        print("%-52s %10.0f ops/s  %-13s %6.0f us CPU/op" % ("mongoc loop, the same count + find", l_raw, "",
                                                            l_raw_cpu))
        print("ratio gateway/mongoc (page): %.2f" % (l_gw / l_raw))
        print("CPU per request, gateway/mongoc: detail %.2f, page %.2f" % (d_cpu / d_raw_cpu, l_cpu / l_raw_cpu))
        # What a request costs the gateway at this rate whatever the store:
        # the same request from SQLite (the demo copy), paced to the rate
        # MongoDB allowed.  An idle loop pays its wake-ups per request.
        legacy = Served(binary, {"DATABASE_URL": env["DATABASE_URL"], "ACCESS_LOG": ""},
                        os.path.join(tmp, "legacy.log"))
        try:
            c0 = legacy.cpu_seconds()
            made = paced(legacy.base, "/api/invoices/%s/" % legacy.invoice, legacy.token, d_gw, seconds)
            floor = (legacy.cpu_seconds() - c0) / made * 1e6
        finally:
            legacy.close()
        print("the same request from SQLite at %.0f req/s: %.0f us CPU/req; gateway/(mongoc + that): %.2f" %
              (d_gw, floor, d_cpu / (d_raw_cpu + floor)))
        figure("mongo.detail.cpu_over_mongoc", d_cpu / d_raw_cpu, "<=1.3")
        figure("mongo.page.cpu_over_mongoc", l_cpu / l_raw_cpu, "<=1.3")
        figure("mongo.detail.rate_over_mongoc", d_gw / d_raw)
        figure("mongo.detail.sqlite_same_rate_cpu_us", floor)
        figure("mongo.detail.cpu_over_mongoc_plus_sqlite_same_rate", d_cpu / (d_raw_cpu + floor))
        figure("mongo.page.rate_over_mongoc", l_gw / l_raw)
    finally:
        try:
            if gw:
                stop(gw)
        finally:
            mongo.close()


if __name__ == "__main__":
    main()
