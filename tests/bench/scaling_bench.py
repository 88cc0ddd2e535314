#!/usr/bin/env python3
"""Scaling part of `make bench`: GET /api/invoices/{id}/ from the demo
SQLite database with 1 and 2 event loops, each at 32, 256 and 1,024
connections (wrk -t2), and the memory one idle client connection costs:
the gateway's resident size before and after a thousand connections are
opened (and again once each has made one request and is kept alive),
divided by their number.

usage: scaling_bench.py CUTOVER"""
import json
import os
import socket
import sys
import tempfile
import time

from common import CONFIG, ROOT, SECONDS, Served, demo_sqlite, figure, more_descriptors, wrk  # noqa: E402

IDLE = 1000


def config_with(tmp, threads):
    with open(os.path.join(ROOT, CONFIG)) as f:
        doc = json.load(f)
    doc["threads"] = threads
    path = os.path.join(tmp, "cutover-%d.json" % threads)
    with open(path, "w") as f:
        json.dump(doc, f)
    return path


def settle(gw):
    time.sleep(0.5)
    return gw.rss_kib()


def idle_memory(gw):
    """KiB per connection: just opened, then after one request each."""
    path = "/api/invoices/%s/" % gw.invoice
    for _ in range(200):
        gw.get(path)                        # every loop warmed up
    before = settle(gw)
    socks = [socket.create_connection(("127.0.0.1", gw.port)) for _ in range(IDLE)]
    try:
        opened = settle(gw)
        req = ("GET %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n" % (path, gw.token)).encode()
        for s in socks:
            s.sendall(req)
        for s in socks:
            got = b""
            while b"\r\n\r\n" not in got or not got.endswith(b"}"):
                b = s.recv(65536)
                if not b:
                    raise RuntimeError("a connection closed before its answer")
                got += b
            if not got.startswith(b"HTTP/1.1 200"):
                raise RuntimeError("answer: %r" % got[:200])
        used = settle(gw)
    finally:
        for s in socks:
            s.close()
    return (opened - before) / IDLE, (used - before) / IDLE


def main():
    more_descriptors()
    binary = os.path.abspath(sys.argv[1])
    tmp = tempfile.mkdtemp(prefix="cutover-bench-")
    db = os.path.join(tmp, "demo.sqlite3")
    demo_sqlite(db)
    print("wrk -t2 -d%ds, GET /api/invoices/{id}/ from SQLite, %d cores" % (SECONDS, os.cpu_count()))
    print("%-10s %12s %12s %12s" % ("loops", "32 conns", "256 conns", "1024 conns"))
    for loops in (1, 2):
        gw = Served(binary, {"DATABASE_URL": "sqlite://" + db}, os.path.join(tmp, "gw-%d.log" % loops),
                    config_with(tmp, loops))
        try:
            url = gw.base + "/api/invoices/%s/" % gw.invoice
            rates = [wrk(url, gw.token, SECONDS, conns)[0] for conns in (32, 256, 1024)]
            print("%-10d %12.0f %12.0f %12.0f   req/s" % ((loops,) + tuple(rates)))
            for conns, r in zip((32, 256, 1024), rates):
                figure("scaling.loops%d.conns%d" % (loops, conns), r)
        finally:
            gw.close()
    # A fresh gateway: one that has served a thousand connections keeps
    # their memory for the next ones, and the difference would not show.
    gw = Served(binary, {"DATABASE_URL": "sqlite://" + db}, os.path.join(tmp, "gw-idle.log"), config_with(tmp, 2))
    try:
        fresh, used = idle_memory(gw)
    finally:
        gw.close()
    print("memory per idle connection: %.1f KiB opened, %.1f KiB after one request (%d connections)"
          % (fresh, used, IDLE))
    figure("idle_connection.kib.opened", fresh)
    figure("idle_connection.kib.after_request", used)


if __name__ == "__main__":
    main()
