#!/usr/bin/env python3
"""`make bench`: passthrough throughput.  The same requests with wrk, in
this one run, straight to nginx and through the gateway in front of it: a
small static file (request rate) and a 1 MiB one (bytes per second).  Also
what the passthrough filter costs a route the gateway serves itself: the
same GET /api/invoices/{id}/ with and without an upstream configured."""
import os
import re
import sys

from common import CONNS, SECONDS, figure, profiled, wrk, wrk_run  # noqa: E402
from harness import Gateway, make_token  # noqa: E402
from passthrough import Nginx  # noqa: E402


def transfer(url, conns):
    """MB/s and requests/s of wrk fetching url."""
    report = wrk_run(url, "x", SECONDS, conns)
    rate = re.search(r"Transfer/sec:\s+([\d.]+)(\w+)", report)
    mb = float(rate.group(1)) * {"KB": 1 / 1024, "MB": 1, "GB": 1024}[rate.group(2)]
    return mb, float(re.search(r"Requests/sec:\s+([\d.]+)", report).group(1))


def row(label, value, unit, p99=""):
    print("%-52s %12.1f %s%s" % (label, value, unit, "  p99 " + p99 if p99 else ""))


def main():
    binary = os.path.abspath(sys.argv[1])
    nginx = Nginx()
    with open(os.path.join(nginx.dir, "www", "static", "1m.bin"), "wb") as f:
        f.write(os.urandom(1 << 20))
    gws = []
    try:
        gw = Gateway(binary, config={"upstream": nginx.url})
        gws.append(gw)
        print("wrk -t2 -c%d -d%ds, %d cores; nginx 1.22 with 1 worker as the application" %
              (CONNS, SECONDS, os.cpu_count()))
        direct, dp99 = wrk(nginx.url + "/static/hello.txt", "x", SECONDS, CONNS)
        through, tp99 = profiled(gw.proc.pid, "passthrough, small",
                                 lambda: wrk("http://127.0.0.1:%d/static/hello.txt" % gw.port, "x", SECONDS, CONNS))
        row("nginx directly, 17-byte file", direct, "req/s", dp99)
        row("through the gateway", through, "req/s", tp99)
        print("ratio gateway/direct (requests): %.2f" % (through / direct))
        figure("passthrough.small.gateway_over_direct", through / direct, ">=0.60")
        dmb, _ = transfer(nginx.url + "/static/1m.bin", 8)
        tmb, _ = profiled(gw.proc.pid, "passthrough, 1 MiB",
                          lambda: transfer("http://127.0.0.1:%d/static/1m.bin" % gw.port, 8))
        row("nginx directly, 1 MiB file, 8 connections", dmb, "MB/s")
        row("through the gateway", tmb, "MB/s")
        print("ratio gateway/direct (bytes): %.2f" % (tmb / dmb))
        figure("passthrough.1mib.gateway_over_direct", tmb / dmb, ">=0.60")
        # The filter's cost on the gateway's own routes.
        tok = make_token(1)
        plain = Gateway(binary)
        gws.append(plain)
        inv = plain.request("POST", "/api/invoices/", {"invoice_number": "B-1", "client_name": "Bench",
                                                       "issue_date": "2025-11-01", "items": []}, tok).json()
        filt = Gateway(binary, config={"upstream": nginx.url}, same_as=plain)
        gws.append(filt)
        path = "/api/invoices/%s/" % inv["id"]
        a, ap99 = wrk("http://127.0.0.1:%d%s" % (plain.port, path), tok, SECONDS, CONNS)
        b, bp99 = wrk("http://127.0.0.1:%d%s" % (filt.port, path), tok, SECONDS, CONNS)
        row("GET /api/invoices/{id}/, no upstream", a, "req/s", ap99)
        row("the same with an upstream (through the filter)", b, "req/s", bp99)
        print("ratio with/without the filter: %.2f" % (b / a))
        figure("passthrough.filter.with_over_without", b / a)
    finally:
        for g in gws:
            g.stop()
        nginx.close()


if __name__ == "__main__":
    main()
