#!/usr/bin/env python3
"""SQLite part of `make bench`: GET /api/invoices/{id}/ and a page of 20
invoices with their items, through the gateway on the demo database,
against two baselines measured in the same run with wrk:

  - a bare libevent server (tests/bench/bare_server.c, shaped like the
    gateway) answering a fixed body of exactly the size of the gateway's
    answer: what HTTP itself costs;
  - the same server running first, on each loop's own SQLite connection,
    the statements the gateway runs for the request, in one read
    transaction, prepared: what the store itself costs (SQLite's pgbench).

usage: sqlite_bench.py CUTOVER BARE_SERVER"""
import os
import subprocess
import sys
import tempfile
import time

from common import CONNS, SECONDS, Served, demo_sqlite, figure, free_port, profiled, wrk  # noqa: E402


class Bare:
    def __init__(self, binary, size, db=None, statements=()):
        self.port = free_port()
        args = [binary, str(self.port), str(size), str(os.cpu_count())]
        if db:
            args += [db] + list(statements)
        self.proc = subprocess.Popen(args, stderr=subprocess.PIPE, text=True)
        for _ in range(100):
            if subprocess.run(["curl", "-sf", "-o", "/dev/null", self.url()]).returncode == 0:
                return
            if self.proc.poll() is not None:
                raise RuntimeError("bare-server did not start: " + self.proc.stderr.read())
            time.sleep(0.05)
        raise RuntimeError("bare-server did not answer")

    def url(self):
        return "http://127.0.0.1:%d/x" % self.port

    def close(self):
        self.proc.terminate()
        self.proc.wait()


def main():
    binary, bare_bin = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    tmp = tempfile.mkdtemp(prefix="cutover-bench-")
    db = os.path.join(tmp, "demo.sqlite3")
    demo_sqlite(db)
    gw = Served(binary, {"DATABASE_URL": "sqlite://" + db}, os.path.join(tmp, "gw.log"))
    try:
        hexid = gw.invoice.replace("-", "")
        page_ids = [r[0] for r in __import__("sqlite3").connect(db).execute(
            "SELECT id FROM invoices_invoice WHERE user_id=1 ORDER BY created_at DESC, id LIMIT 20")]
        items = "SELECT *, invoice_id FROM invoices_invoiceitem WHERE invoice_id IN (%s) " \
                "ORDER BY invoice_id, position, id"
        cases = [
            ("detail", "/api/invoices/%s/" % gw.invoice,
             ["SELECT * FROM invoices_invoice WHERE id='%s' AND user_id=1" % hexid, items % ("'%s'" % hexid)]),
            ("page", "/api/invoices/",
             ["SELECT COUNT(*) FROM invoices_invoice WHERE user_id=1",
              "SELECT * FROM invoices_invoice WHERE user_id=1 ORDER BY created_at DESC, id LIMIT 20",
              items % ",".join("'%s'" % i for i in page_ids)]),
        ]
        print("wrk -t2 -c%d -d%ds, %d cores" % (CONNS, SECONDS, os.cpu_count()))
        for name, path, statements in cases:
            size = len(gw.get(path).stdout.encode())
            bare, store = Bare(bare_bin, size), Bare(bare_bin, size, db, statements)
            try:
                b, bp99 = wrk(bare.url(), "x")
                s, sp99 = wrk(store.url(), "x")
                g, gp99 = profiled(gw.proc.pid, "SQLite " + name, lambda: wrk(gw.base + path, gw.token))
            finally:
                bare.close()
                store.close()
            print("%s (%d-byte answer)" % (path if name == "page" else "/api/invoices/{id}/", size))
            print("  %-48s %10.0f req/s  p99 %s" % ("bare libevent, fixed body", b, bp99))
            print("  %-48s %10.0f req/s  p99 %s" % ("bare libevent + the same SQLite reads", s, sp99))
            print("  %-48s %10.0f req/s  p99 %s" % ("gateway", g, gp99))
            print("  ratio gateway/bare %.2f, gateway/(bare + SQLite) %.2f, (bare + SQLite)/bare %.2f" %
                  (g / b, g / s, s / b))
            figure("sqlite.%s.gateway_over_bare" % name, g / b, ">=0.70")
            figure("sqlite.%s.gateway_over_bare_sqlite" % name, g / s)
            figure("sqlite.%s.bare_sqlite_over_bare" % name, s / b)
    finally:
        gw.close()


if __name__ == "__main__":
    main()
