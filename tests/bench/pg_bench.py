#!/usr/bin/env python3
"""PostgreSQL part of `make bench`: the gateway serving the demo data from a
real PostgreSQL, against pgbench running the same queries on the same
server in the same run (the ceiling)."""
import os
import re
import subprocess
import sys
import tempfile
import time

from common import ROOT, SECRET, figure, free_port, profiled, stop, wrk  # noqa: E402
from pg import Postgres, copy_demo  # noqa: E402


def pgbench(pg, script, seconds, conns):
    r = subprocess.run(["pgbench", "-n", "-M", "prepared", "-c", str(conns), "-j", "2", "-T", str(seconds),
                        "-f", script, pg.url], capture_output=True, text=True, check=True)
    return float(re.search(r"tps = ([\d.]+)", r.stdout).group(1))


def main():
    seconds = int(os.environ.get("BENCH_SECONDS", "10"))
    conns = int(os.environ.get("BENCH_CONNECTIONS", "32"))
    binary = os.path.abspath(sys.argv[1])
    tmp = tempfile.mkdtemp(prefix="cutover-bench-")
    pg = Postgres()
    gw = None
    try:
        copy_demo(pg, tmp)
        inv = pg.sql("SELECT id::text FROM invoices_invoice WHERE user_id=1 ORDER BY created_at DESC LIMIT 1")[0][0]
        port = free_port()
        env = dict(os.environ, DATABASE_URL=pg.url, JWT_SECRET=SECRET, CUTOVER_LISTEN="127.0.0.1:%d" % port)
        gw = subprocess.Popen([binary, "serve", "-c", "etc/examples/hisabpro/cutover.json"], cwd=ROOT, env=env,
                              stderr=open(os.path.join(tmp, "gw.log"), "w"))
        token = subprocess.run([binary, "token", "--user-id", "1"], cwd=ROOT, env=env, capture_output=True,
                               text=True, check=True).stdout.strip()
        for _ in range(100):
            if subprocess.run(["curl", "-sf", "-o", "/dev/null", "http://127.0.0.1:%d/api/invoices/" % port, "-H",
                               "Authorization: Bearer " + token]).returncode == 0:
                break
            time.sleep(0.1)
        # The same statements the gateway runs for each request.
        detail = os.path.join(tmp, "detail.sql")
        with open(detail, "w") as f:
            f.write("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;\n"
                    "SELECT * FROM invoices_invoice WHERE id='%s' AND user_id=1;\n"
                    "SELECT *, invoice_id FROM invoices_invoiceitem WHERE invoice_id IN ('%s') "
                    "ORDER BY invoice_id, position, id;\n"
                    "COMMIT;\n" % (inv, inv))
        page = os.path.join(tmp, "page.sql")
        with open(page, "w") as f:
            f.write("SELECT COUNT(*) FROM invoices_invoice WHERE user_id=1;\n"
                    "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;\n"
                    "SELECT * FROM invoices_invoice WHERE user_id=1 ORDER BY created_at DESC NULLS LAST, id LIMIT 20;\n")
            # the items of the 20 rows in one query, as the gateway does
            ids = [r[0] for r in pg.sql("SELECT id::text FROM invoices_invoice WHERE user_id=1 "
                                        "ORDER BY created_at DESC, id LIMIT 20")]
            f.write("SELECT *, invoice_id FROM invoices_invoiceitem WHERE invoice_id IN (%s) "
                    "ORDER BY invoice_id, position, id;\n" % ",".join("'%s'" % i for i in ids))
            f.write("COMMIT;\n")
        base = "http://127.0.0.1:%d" % port
        # The same statements pipelined, as the gateway sends them: the
        # database's own floor for them.
        detail_pipelined = os.path.join(tmp, "detail-pipelined.sql")
        with open(detail) as f, open(detail_pipelined, "w") as g:
            g.write("\\startpipeline\n" + f.read() + "\\endpipeline\n")
        d_gw, d_p99 = profiled(gw.pid, "PostgreSQL detail",
                               lambda: wrk("%s/api/invoices/%s/" % (base, inv), token, seconds, conns))
        d_pg = pgbench(pg, detail, seconds, conns)
        d_pipe = pgbench(pg, detail_pipelined, seconds, conns)
        l_gw, l_p99 = profiled(gw.pid, "PostgreSQL page",
                               lambda: wrk("%s/api/invoices/" % base, token, seconds, conns))
        l_pg = pgbench(pg, page, seconds, conns)
        print("%-52s %10.0f req/s  p99 %s" % ("gateway GET /api/invoices/{id}/ (PostgreSQL)", d_gw, d_p99))
        print("%-52s %10.0f tx/s" % ("pgbench, the same statements", d_pg))
        print("%-52s %10.0f tx/s" % ("pgbench, the same statements in one pipeline", d_pipe))
        print("ratio gateway/pgbench (detail): %.2f; against the pipelined statements %.2f" %
              (d_gw / d_pg, d_gw / d_pipe))
        figure("pg.detail.gateway_over_pgbench", d_gw / d_pg, ">=0.80")
        figure("pg.detail.gateway_over_pgbench_pipelined", d_gw / d_pipe)
        print("%-52s %10.0f req/s  p99 %s" % ("gateway GET /api/invoices/ page (PostgreSQL)", l_gw, l_p99))
        print("%-52s %10.0f tx/s" % ("pgbench, the same statements", l_pg))
        print("ratio gateway/pgbench (page): %.2f" % (l_gw / l_pg))
        figure("pg.page.gateway_over_pgbench", l_gw / l_pg, ">=0.80")
    finally:
        try:
            if gw:
                stop(gw)
        finally:
            pg.close()


if __name__ == "__main__":
    main()
