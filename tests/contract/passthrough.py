#!/usr/bin/env python3
"""Passthrough to the application (design.md §10): the real gateway in
front of real upstream servers started here, nginx (Debian's, for static
and large files) and upstream.py (a stand-in application that echoes what
reached it and serves the login), all over real sockets.
"""
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid

sys.path.insert(0, os.path.dirname(__file__))
from harness import (ADMIN_TOKEN, SECRET, Gateway, Runner, binary_arg, eq, exchange_to_close,  # noqa: E402
                     free_port, logged, make_token, stop_clean)
from upstream import pattern  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
NGINX = "/usr/sbin/nginx"
BIG = 100 * 1024 * 1024
GROWTH_LIMIT_KB = 48 * 1024         # far below one 100 MB body


class Upstream:
    """upstream.py on a free port."""

    def __init__(self, tls=None):
        """tls: (certificate, key) for localhost: the application serves https."""
        self.port = free_port()
        self.proc = subprocess.Popen([sys.executable, os.path.join(HERE, "upstream.py"), "--port", str(self.port),
                                      "--secret", SECRET] + (["--tls"] + list(tls) if tls else []),
                                     stdout=subprocess.PIPE, text=True)
        if self.proc.stdout.readline().strip() != "ready":
            raise RuntimeError("the stand-in application did not start")
        self.url = ("https://localhost:%d" if tls else "http://127.0.0.1:%d") % self.port

    def close(self):
        self.proc.kill()
        self.proc.wait()


class Nginx:
    """Debian's nginx as a static file server, in a throwaway directory."""

    def __init__(self):
        if not os.access(NGINX, os.X_OK):
            raise RuntimeError("nginx is missing (%s); scripts/deps.sh installs it" % NGINX)
        self.dir = tempfile.mkdtemp(prefix="cutover-nginx-")
        os.chmod(self.dir, 0o755)           # nginx's workers drop to another user under root
        self.port = free_port()
        www = os.path.join(self.dir, "www")
        os.makedirs(os.path.join(www, "static"))
        with open(os.path.join(www, "static", "big.bin"), "wb") as f:
            for b in pattern(BIG):
                f.write(b)
        with open(os.path.join(www, "static", "hello.txt"), "w") as f:
            f.write("hello from nginx\n")
        conf = os.path.join(self.dir, "nginx.conf")
        with open(conf, "w") as f:
            f.write("""worker_processes 1;
pid %(d)s/nginx.pid;
error_log %(d)s/error.log;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path %(d)s/body; proxy_temp_path %(d)s/proxy; fastcgi_temp_path %(d)s/fcgi;
    uwsgi_temp_path %(d)s/uwsgi; scgi_temp_path %(d)s/scgi;
    keepalive_requests 10000;
    server {
        listen 127.0.0.1:%(p)d;
        root %(d)s/www;
        client_max_body_size 200m;
        location = /upload { return 201; }
    }
}
""" % {"d": self.dir, "p": self.port})
        self.proc = subprocess.Popen([NGINX, "-p", self.dir, "-c", conf, "-e", os.path.join(self.dir, "error.log"),
                                      "-g", "daemon off;"], stderr=subprocess.PIPE)
        deadline = time.time() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if self.proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError("nginx did not start: %s" % self.proc.stderr.read())
                time.sleep(0.05)
        self.url = "http://127.0.0.1:%d" % self.port

    def close(self):
        self.proc.terminate()
        self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def gateway(binary, upstream_url, **over):
    up = {"url": upstream_url, "timeout_ms": 1500, "connect_timeout_ms": 1000}
    up.update(over)
    # Under AddressSanitizer freed memory is held back (quarantine) and would
    # count as peak memory: keep that small so the memory checks still mean
    # something there.
    return Gateway(binary, config={"threads": 1, "upstream": up},
                   extra_env={"CUTOVER_ADMIN_TOKEN": ADMIN_TOKEN,
                              "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:handle_abort=1:"
                                              "quarantine_size_mb=4:thread_local_quarantine_size_kb=256"})


def call(gw, method, path, body=None, headers=None, conn=None):
    """(status, reason, [(name, value)], body) over conn or a new connection."""
    c = conn or http.client.HTTPConnection("127.0.0.1", gw.port, timeout=30)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    if not conn:
        c.close()
    return r.status, r.reason, r.getheaders(), data


def header(headers, name):
    return [v for k, v in headers if k.lower() == name.lower()]


def vm_hwm_kb(gw):
    with open("/proc/%d/status" % gw.proc.pid) as f:
        return int(re.search(r"VmHWM:\s+(\d+)", f.read()).group(1))


def stats(gw):
    st, body = gw.admin("GET", "passthrough")
    eq(st, 200, body)
    return body


# ---- tests -----------------------------------------------------------------

def test_methods_queries_and_headers(gw, up, nginx):
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "PROPFIND"):
        body = b'{"n": 1}' if method in ("POST", "PUT", "PATCH") else None
        st, _, hs, data = call(gw, method, "/app/things/?q=a%20b&x=1&x=2&empty=", body, {
            "Authorization": "Bearer opaque-app-token", "X-Custom": "kept",
            "X-Forwarded-For": "10.1.2.3", "X-Request-Id": "trace-%s" % method,
            "Connection": "keep-alive, X-Drop", "X-Drop": "hop", "Keep-Alive": "timeout=5",
            "TE": "trailers", "Proxy-Authorization": "Basic eA==", "Host": "app.example"})
        eq(st, 200, data)
        echo = json.loads(data)
        got = {k.lower(): v for k, v in echo["headers"]}
        eq(echo["method"], method)
        eq(echo["target"], "/app/things/?q=a%20b&x=1&x=2&empty=", "query string intact")
        eq(got.get("authorization"), "Bearer opaque-app-token", "Authorization is the application's business")
        eq(got.get("x-custom"), "kept")
        eq(got.get("host"), "app.example")
        eq(got.get("x-forwarded-for"), "10.1.2.3, 127.0.0.1")
        eq(got.get("x-forwarded-proto"), "http")
        eq(got.get("x-forwarded-host"), "app.example")
        eq(got.get("x-request-id"), "trace-%s" % method)
        for hop in ("connection", "x-drop", "keep-alive", "te", "proxy-authorization"):
            assert hop not in got, "hop-by-hop %s reached the application: %r" % (hop, got)
        eq(echo["body_len"], len(body or b""))
        eq(echo["body_sha256"], hashlib.sha256(body or b"").hexdigest())
        # The answer as it came, without its hop-by-hop headers.
        eq(header(hs, "Set-Cookie"), ["a=1; Path=/", "b=2; Path=/"])
        eq(header(hs, "X-Upstream"), ["echo"])
        eq(header(hs, "X-Request-Id"), ["trace-%s" % method])
        eq(header(hs, "X-Hop") + header(hs, "Keep-Alive"), [], "hop-by-hop answer headers")
    # No id given: the one the gateway makes reaches the application and the client.
    st, _, hs, data = call(gw, "GET", "/app/noid")
    eq([v for k, v in json.loads(data)["headers"] if k == "X-Request-Id"], header(hs, "X-Request-Id"))
    # Status and reason as they came; HEAD gets the length and no body.
    st, reason, _, _ = call(gw, "GET", "/app/teapot?status=418")
    eq((st, reason), (418, "I'm a Teapot"))
    st, _, hs, data = call(gw, "HEAD", "/app/head")
    eq((st, data), (200, b""))
    assert int(header(hs, "Content-Length")[0]) > 0, hs
    # Routes the gateway serves never reach the application.
    st, _, _, data = call(gw, "GET", "/api/invoices/")
    eq(st, 401, data)
    logged(gw, lambda e: e["uri"] == "/app/teapot?status=418" and e["status"] == 418 and
           e["route"] == "passthrough")


def test_static_files_from_nginx(gw, up, nginx):
    st, _, hs, data = call(gw, "GET", "/static/hello.txt")
    eq((st, data), (200, b"hello from nginx\n"))
    eq(header(hs, "Content-Length"), ["17"])
    st, _, _, _ = call(gw, "GET", "/static/missing.txt")
    eq(st, 404)
    st, _, _, _ = call(gw, "POST", "/upload", b"x" * 1000, {"Content-Type": "application/octet-stream"})
    eq(st, 201)


def chunked_body(total):
    yield from pattern(total)


def test_chunked_both_ways(gw, up, nginx):
    c = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=30)
    c.request("POST", "/app/chunked", body=chunked_body(3_000_000), encode_chunked=True,
              headers={"Transfer-Encoding": "chunked"})
    r = c.getresponse()
    echo = json.loads(r.read())
    eq(r.status, 200)
    eq(echo["body_len"], 3_000_000)
    eq(echo["body_sha256"], hashlib.sha256(b"".join(pattern(3_000_000))).hexdigest())
    assert any(k == "Transfer-Encoding" and v == "chunked" for k, v in echo["headers"]), echo["headers"]
    # A chunked answer on the same connection, then a gateway route on it too.
    c.request("GET", "/big?n=2500000&chunked=1")
    r = c.getresponse()
    eq(r.getheader("Transfer-Encoding"), "chunked")
    eq(hashlib.sha256(r.read()).hexdigest(), hashlib.sha256(b"".join(pattern(2_500_000))).hexdigest())
    c.request("GET", "/api/invoices/")
    r = c.getresponse()
    r.read()
    eq(r.status, 401)
    c.close()
    # Trailers are not passed on: a Content-Length among them would be a
    # header the gateway never looked at.
    data = exchange_to_close(gw, b"POST /app/trailers HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                                 b"Connection: close\r\n\r\n5\r\nhello\r\n0\r\nContent-Length: 99\r\n"
                                 b"X-Trailer: 1\r\n\r\n")
    echo = json.loads(data.split(b"\r\n\r\n", 1)[1])
    eq((echo["body_len"], echo["trailers"]), (5, []))
    # Broken framing from the client: 400, and the connection closes.
    for raw in (b"POST /app/bad HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n",
                b"POST /app/bad HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nhello"):
        data = exchange_to_close(gw, raw)
        assert data.startswith(b"HTTP/1.1 400 Bad Request\r\n"), data
        assert b"Connection: close" in data and data.endswith(b'"}'), data


def sha_of_pattern(n):
    h = hashlib.sha256()
    for b in pattern(n):
        h.update(b)
    return h.hexdigest()


def bytes_until_closed(s):
    """How many bytes s gives until the other side closes (or resets) it."""
    n = 0
    while True:
        try:
            b = s.recv(1 << 20)
        except ConnectionResetError:
            return n
        if not b:
            return n
        n += len(b)


def read_all(r):
    h, n = hashlib.sha256(), 0
    while True:
        b = r.read(1 << 16)
        if not b:
            return n, h.hexdigest()
        h.update(b)
        n += len(b)


def test_large_bodies_streamed(gw, up, nginx):
    """100 MB up, with a length and chunked, and 100 MB down, chunked: every
    byte arrives, and the gateway's memory grows by far less than one body."""
    want = sha_of_pattern(BIG)
    before = vm_hwm_kb(gw)
    c = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=120)
    c.putrequest("PUT", "/app/upload")
    c.putheader("Content-Length", str(BIG))
    c.endheaders()
    for b in pattern(BIG):
        c.send(b)
    r = c.getresponse()
    echo = json.loads(r.read())
    eq((r.status, echo["body_len"], echo["body_sha256"]), (200, BIG, want), "100 MB upload with a length")
    c.request("POST", "/app/upload", body=chunked_body(BIG), encode_chunked=True,
              headers={"Transfer-Encoding": "chunked"})
    r = c.getresponse()
    echo = json.loads(r.read())
    eq((r.status, echo["body_len"], echo["body_sha256"]), (200, BIG, want), "100 MB chunked upload")
    c.request("GET", "/big?n=%d&chunked=1" % BIG)
    r = c.getresponse()
    eq(read_all(r), (BIG, want), "100 MB chunked download")
    c.close()
    growth = vm_hwm_kb(gw) - before
    assert growth < GROWTH_LIMIT_KB, "peak memory grew by %d KiB over 300 MB of bodies" % growth
    s = stats(gw)
    assert s["bytes_up"] >= 2 * BIG and s["bytes_down"] >= BIG, s


def test_large_file_from_nginx(gw, up, nginx):
    """nginx's 100 MB file, with its length, through the gateway."""
    before = vm_hwm_kb(gw)
    c = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=120)
    c.request("GET", "/static/big.bin")
    r = c.getresponse()
    eq(r.getheader("Content-Length"), str(BIG))
    spliced = stats(gw)["bytes_spliced"]
    eq(read_all(r), (BIG, sha_of_pattern(BIG)), "100 MB download from nginx")
    c.close()
    growth = vm_hwm_kb(gw) - before
    assert growth < GROWTH_LIMIT_KB, "peak memory grew by %d KiB over a 100 MB file" % growth
    spliced = stats(gw)["bytes_spliced"] - spliced
    assert spliced > BIG - (1 << 20), "only %d bytes went kernel to kernel" % spliced


def test_spliced_answers_keep_the_connection(gw, up, nginx):
    """Answers of known length, spliced, one after the other on one
    connection, then a gateway route on the same connection: each arrives
    whole and in order; small ones are not spliced."""
    before = stats(gw)["bytes_spliced"]
    c = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=60)
    for n in (5 << 20, 70 << 10, 3 << 20):
        c.request("GET", "/big?n=%d" % n)
        r = c.getresponse()
        eq((r.status, r.getheader("Content-Length")), (200, str(n)))
        eq(read_all(r), (n, sha_of_pattern(n)), "a %d-byte answer" % n)
    st, _, _, data = call(gw, "GET", "/app/after", conn=c)
    eq((st, json.loads(data)["target"]), (200, "/app/after"))
    st, _, _, data = call(gw, "GET", "/big?n=100", conn=c)
    eq((st, data), (200, b"".join(pattern(100))), "a small answer after them")
    c.close()
    spliced = stats(gw)["bytes_spliced"] - before
    assert (8 << 20) - (2 << 20) < spliced <= (8 << 20) + (70 << 10), spliced


def test_answer_cut_short_while_spliced(gw, up, nginx):
    """The application closes half-way through an answer of announced
    length: the client's connection closes short of it (it cannot be told
    otherwise), the exchange is logged, and the gateway carries on."""
    s = socket.create_connection(("127.0.0.1", gw.port), timeout=30)
    s.sendall(b"GET /big?n=%d&cut=%d HTTP/1.1\r\nHost: x\r\n\r\n" % (8 << 20, 3 << 20))
    got = b""
    while b"\r\n\r\n" not in got:
        b = s.recv(1 << 16)
        assert b, "no answer head"
        got += b
    head, body = got.split(b"\r\n\r\n", 1)
    assert b"Content-Length: %d" % (8 << 20) in head, head
    n = len(body) + bytes_until_closed(s)
    s.close()
    eq(n, 3 << 20, "the bytes the application sent, and no more")
    logged(gw, lambda e: e["uri"].startswith("/big?n=%d&cut=" % (8 << 20)))
    st, _, _, data = call(gw, "GET", "/app/still-fine")
    eq(st, 200, "the next request goes through")


def test_slow_client_download(gw, up, nginx):
    """A client reading slowly holds the application back instead of the
    gateway buffering for it; one leaving half-way costs nothing later."""
    before = vm_hwm_kb(gw)
    s = socket.create_connection(("127.0.0.1", gw.port))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    s.sendall(b"GET /static/big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
    got = 0
    while got < 20 * 1024 * 1024:
        b = s.recv(1 << 16)
        assert b, "connection closed early"
        got += len(b)
        if got < 2 * 1024 * 1024:
            time.sleep(0.002)
    s.close()                               # half-way through 100 MB
    time.sleep(0.3)
    assert vm_hwm_kb(gw) - before < GROWTH_LIMIT_KB
    st, _, _, data = call(gw, "GET", "/static/hello.txt")
    eq((st, data), (200, b"hello from nginx\n"))
    st, body = gw.admin("GET", "passthrough")
    eq(st, 200, "the gateway is still well")


def test_keepalive_reuse(gw, up, nginx):
    """Upstream connections outlive client ones: ten clients, one after the
    other, reach the application over the same connection."""
    first = stats(gw)
    ports = set()
    for i in range(10):
        st, _, _, data = call(gw, "GET", "/app/reuse/%d" % i)
        eq(st, 200)
        ports.add(json.loads(data)["peer_port"])
    eq(len(ports), 1, "the application saw these connections: %r" % ports)
    later = stats(gw)
    assert later["connections_reused"] - first["connections_reused"] >= 9, (first, later)
    # The application closing its side is noticed: the next request goes fresh.
    st, _, hs, _ = call(gw, "GET", "/close")
    eq(st, 200)
    eq(header(hs, "Connection"), [], "the application's Connection header is its own hop")
    st, _, _, data = call(gw, "GET", "/app/after-close")
    eq(st, 200)
    assert json.loads(data)["peer_port"] not in ports


def test_passthrough_mode_for_a_route(gw, up, nginx):
    """A resource route handed back to the application wholesale, and back."""
    st, body = gw.admin("PUT", "routes/payments", {"mode": "passthrough"})
    eq((st, body["mode"]), (200, "passthrough"), body)
    st, _, _, data = call(gw, "GET", "/api/payments/?invoice=x", headers={"Authorization": "Bearer app"})
    eq(st, 200, data)
    eq(json.loads(data)["target"], "/api/payments/?invoice=x")
    logged(gw, lambda e: e["route"] == "payments.passthrough")
    st, _, _, data = call(gw, "GET", "/api/invoices/")
    eq(st, 401, "other routes stay with the gateway")
    st, body = gw.admin("PUT", "routes/payments", {"mode": "legacy"})
    eq(st, 200, body)
    st, _, _, data = call(gw, "GET", "/api/payments/")
    eq(st, 401, data)


def test_login_then_gateway_route(gw, up, nginx):
    """Login and token refresh stay with the application; its token then
    works on a route the gateway serves from its own store."""
    c = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=30)

    def post(path, doc, token=None):
        h = {"Content-Type": "application/json"}
        if token:
            h["Authorization"] = "Bearer " + token
        c.request("POST", path, body=json.dumps(doc), headers=h)
        r = c.getresponse()
        return r.status, json.loads(r.read())

    st, body = post("/api/auth/login/", {"username": "user1", "password": "wrong"})
    eq(st, 401, body)
    eq(body["detail"], "No active account found with the given credentials")
    st, tokens = post("/api/auth/login/", {"username": "user1", "password": "pass-not-real-1"})
    eq(st, 200, tokens)
    st, inv = post("/api/invoices/", {"invoice_number": "PT-1", "client_name": "Through", "issue_date":
                                      "2025-11-01", "items": []}, tokens["access"])
    eq(st, 201, inv)
    st, fresh = post("/api/auth/token/refresh/", {"refresh": tokens["refresh"]})
    eq(st, 200, fresh)
    c.request("GET", "/api/invoices/%s/" % inv["id"], headers={"Authorization": "Bearer " + fresh["access"]})
    r = c.getresponse()
    got = json.loads(r.read())
    eq((r.status, got["invoice_number"]), (200, "PT-1"))
    eq(gw.sql("SELECT COUNT(*) FROM invoices_invoice WHERE invoice_number='PT-1'")[0][0], 1)
    c.close()


def test_pipelined_requests_keep_order(gw, up, nginx):
    data = exchange_to_close(gw, b"GET /api/invoices/ HTTP/1.1\r\nHost: x\r\n\r\n"
                                 b"GET /app/one HTTP/1.1\r\nHost: x\r\n\r\n"
                                 b"GET /api/invoices/ HTTP/1.1\r\nHost: x\r\n\r\n"
                                 b"POST /app/two HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
                                 b"GET /app/three HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    eq(re.findall(rb"HTTP/1.1 (\d+)", data), [b"401", b"200", b"401", b"200", b"200"])
    eq(re.findall(rb'"target": "([^"]*)"', data), [b"/app/one", b"/app/two", b"/app/three"])


# ---- request smuggling ------------------------------------------------------

SMUGGLED = b"POST /capture HTTP/1.1\r\nHost: up\r\nContent-Length: 180\r\n\r\n"


def smuggling_cases():
    """(name, raw request) pairs: heads and bodies that two HTTP parsers can
    read two ways.  Each, passed on as the gateway once did, would leave
    SMUGGLED (or the rest of a body) at the front of a pooled connection."""
    body = b"0\r\n\r\n" + SMUGGLED
    cl = b"Content-Length: %d\r\n" % len(body)
    cases = [("NUL in Transfer-Encoding",
              b"POST /harmless HTTP/1.1\r\nHost: up\r\nTransfer-Encoding\0: chunked\r\n" + cl + b"\r\n" + body)]
    for name in (b"X-Forwarded-Proto", b"X-Forwarded-Host", b"X-Request-Id", b"Host", b"Proxy-Authorization",
                 b"Upgrade"):
        cases.append(("NUL in " + name.decode(),
                      b"GET /harmless HTTP/1.1\r\nHost: up\r\n" + name + b"\0: evil\r\n\r\n"))
    te = b"POST /harmless HTTP/1.1\r\nHost: up\r\nTransfer-Encoding: chunked\r\n\r\n"
    cases += [
        ("size 0x5", te + b"0x5\r\nhello\r\n0\r\n\r\n" + SMUGGLED),
        ("size 5 CR ZZ", te + b"5\rZZ\r\nhello\r\n0\r\n\r\n" + SMUGGLED),
        ("X LF after data", te + b"5\r\nhelloX\n0\r\n\r\n" + SMUGGLED),
        ("X LF ends the trailers", te + b"5\r\nhello\r\n0\r\nX\n" + SMUGGLED),
        ("LF-only chunk lines", te + b"5\nhello\n0\n\n" + SMUGGLED),
        ("space before the colon", b"POST /harmless HTTP/1.1\r\nHost: up\r\nContent-Length : %d\r\n\r\n"
                                   % len(SMUGGLED) + SMUGGLED),
        ("bare CR in a value", b"GET /harmless HTTP/1.1\r\nHost: up\r\nX-A: a\rTransfer-Encoding: chunked\r\n\r\n"),
        ("Content-Length and Transfer-Encoding", b"POST /harmless HTTP/1.1\r\nHost: up\r\n" + cl +
         b"Transfer-Encoding: chunked\r\n\r\n" + body),
        ("two Transfer-Encodings", b"POST /harmless HTTP/1.1\r\nHost: up\r\nTransfer-Encoding: chunked\r\n"
                                   b"Transfer-Encoding: identity\r\n\r\n" + body),
        ("folded header", b"GET /harmless HTTP/1.1\r\nHost: up\r\nX-A: 1\r\n Transfer-Encoding: chunked\r\n\r\n"),
        ("129 headers", b"GET /harmless HTTP/1.1\r\nHost: up\r\n" +
         b"".join(b"X-%03d: v\r\n" % i for i in range(129)) + b"\r\n"),
        ("Content-Length +0", b"POST /harmless HTTP/1.1\r\nHost: up\r\nContent-Length: +0\r\n\r\n" + SMUGGLED),
        ("two spaces in the request line", b"GET  /harmless HTTP/1.1\r\nHost: up\r\n\r\n"),
        ("two Content-Lengths", b"POST /harmless HTTP/1.1\r\nHost: up\r\nContent-Length: 0\r\n"
                                b"Content-Length: %d\r\n\r\n" % len(SMUGGLED) + SMUGGLED),
        ("no Host", b"GET /harmless HTTP/1.1\r\nX-A: 1\r\n\r\n"),
        ("two Hosts", b"GET /harmless HTTP/1.1\r\nHost: up\r\nHost: evil\r\n\r\n"),
        ("a Host that is markup", b"GET /harmless HTTP/1.1\r\nHost: evil.example/\"><script>\r\n\r\n"),
    ]
    return cases


def test_smuggling_is_refused(gw, up, nginx):
    """Every attack head is refused with 400 (431 for too many lines) and the
    connection closed, on a passthrough path, on the gateway's own route and
    on a route in passthrough mode; a second client then gets its own answer
    on the same pooled upstream connection (the upstream honours
    Transfer-Encoding over Content-Length, so a smuggled request would
    answer it)."""
    port = json.loads(call(gw, "GET", "/app/warm")[3])["peer_port"]
    heads = gw.admin("GET", "connections")[1]["refused_heads"]
    st, body = gw.admin("PUT", "routes/payments", {"mode": "passthrough"})
    eq(st, 200, body)
    try:
        for name, raw in smuggling_cases():
            for path in (b"/harmless", b"/api/invoices/", b"/api/payments/"):
                data = exchange_to_close(gw, raw.replace(b"/harmless", path, 1))
                assert re.match(rb"HTTP/1\.1 (400 Bad Request|431 Request Header Fields Too Large)\r\n", data), \
                    (name, path, data[:300])
                assert b"Connection: close" in data.split(b"\r\n\r\n")[0], (name, data[:300])
                eq(len(re.findall(rb"HTTP/1\.1 \d\d\d", data)), 1, (name, path, data))
                st, _, _, got = call(gw, "GET", "/app/victim",
                                     headers={"Authorization": "Bearer victim", "Cookie": "s=victim"})
                echo = json.loads(got)
                eq((st, echo["target"]), (200, "/app/victim"), (name, path))
                assert ["Authorization", "Bearer victim"] in echo["headers"], (name, echo["headers"])
                # A refused head never reaches the application: the pooled
                # connection serves the next client.  A body that broke off
                # had started on one, which is then closed, never reused.
                if b"chunked framing" not in data:
                    heads += 1
                    eq(echo["peer_port"], port, ("the same pooled upstream connection", name, path))
                port = echo["peer_port"]
    finally:
        gw.admin("PUT", "routes/payments", {"mode": None})
    guard = gw.admin("GET", "connections")[1]
    eq(guard["refused_heads"], heads, guard)


def spellings(path, host):
    """(target, Host, routed) for one path of a gateway route: the ways a
    client can spell it that an application's framework reads as that path
    (routed: the gateway serves them), and those it refuses (routed False)."""
    i = path.index("/", 1) + 1                   # the first letter after /api/
    c = path[i]
    return [
        (path, host, True),
        (path[:i] + "%%%02x" % ord(c) + path[i + 1:], host, True),
        (path[:i] + "%%%02X" % ord(c) + path[i + 1:], host, True),
        (path[:i] + "".join(ch if ch == "/" else "%%%02x" % ord(ch) for ch in path[i:]), host, True),
        ("/api/x/.." + path[4:], host, True),
        ("/api/./" + path[5:], host, True),
        ("/api/x/%2e%2E/" + path[5:], host, True),
        ("http://%s%s" % (host, path), host, True),
        ("HTTPS://%s%s" % (host.upper(), path), host, True),
        (path[:-1] + "%2F", host, False),
        (path[:-1] + "%2f?x=1", host, False),
        (path[:-1] + "%5C", host, False),
        ("https://x" + path, host, False),
        ("http://evil" + path, host, False),
        ("http://user@%s%s" % (host, path), host, False),
        (path + "%zz", host, False),
    ]


def test_every_spelling_of_a_route_stays_with_the_gateway(gw, up, nginx):
    """However a client spells a path the gateway serves (percent-encoded
    letters, dot segments, an absolute-form target), the gateway routes it
    as the application would read it: it answers, or refuses with a 400,
    and nothing reaches the application (which would decode and serve it)."""
    inv = gw.request("POST", "/api/invoices/", {"invoice_number": "SP-1", "client_name": "Spelled",
                                                "issue_date": "2025-11-01", "items": []}, make_token(1))
    eq(inv.status, 201, inv.text)
    host = "127.0.0.1:%d" % gw.port
    paths = ["/api/invoices/", "/api/payments/", "/api/invoices/%s/" % inv.json()["id"],
             "/api/payments/%s/" % uuid.uuid4()]
    served = refused = 0
    for path in paths:
        for target, h, routed in spellings(path, host):
            # (the invoice's own DELETE is the last, below)
            for method in ("GET", "POST", "PUT", "PATCH", "OPTIONS", "HEAD") + (("DELETE",) if path != paths[2] else ()):
                body = {"client_name": "Spelled"} if method in ("POST", "PUT", "PATCH") else None
                r = gw.request(method, target, body, make_token(1), host=h)
                what = (method, target, r.status, r.text[:200])
                assert "x-upstream" not in r.headers, ("reached the application",) + what
                if routed:
                    assert r.status != 400 or method in ("POST", "PUT"), what
                    served += 1
                else:
                    eq(r.status, 400, what)
                    refused += 1
    # A DELETE spelled another way deletes through the gateway.
    r = gw.request("DELETE", "/api/%%69nvoices/./%s/" % inv.json()["id"], token=make_token(1))
    eq((r.status, "x-upstream" in r.headers), (204, False), r.text)
    eq(gw.sql("SELECT COUNT(*) FROM invoices_invoice WHERE invoice_number='SP-1'")[0][0], 0)
    # A path under a route's prefix that none of its views matches is the
    # application's (its own 404, or a view the gateway does not serve).
    for target in ("/api/invoices/a.b/", "/api/invoices/%s/pdf/" % inv.json()["id"], "/api/payments/x/y"):
        st, _, headers, body = call(gw, "GET", target)
        eq((st, header(headers, "X-Upstream"), json.loads(body)["target"]), (200, ["echo"], target))
    # Paths of the application still reach it, in the form it was routed on.
    st, _, _, body = call(gw, "GET", "/app/%7euser/./x/../y?q=%2F")
    eq((st, json.loads(body)["target"]), (200, "/app/~user/y?q=%2F"))
    assert served and refused, (served, refused)


def test_chunk_size_with_leading_zeros(gw, up, nginx):
    """Thirty-nine zeros then 5 is five bytes, as the application reads it
    (a copy cut at 39 characters read 0 and forwarded the rest raw)."""
    s = socket.create_connection(("127.0.0.1", gw.port), timeout=10)
    s.sendall(b"POST /app/zeros HTTP/1.1\r\nHost: up\r\nTransfer-Encoding: chunked\r\n\r\n" +
              b"0" * 39 + b"5\r\nhello\r\n0\r\n\r\n")
    data = b""
    while b'"peer_port"' not in data:
        data += s.recv(65536)
    s.close()
    echo = json.loads(data.split(b"\r\n\r\n", 1)[1])
    eq((echo["target"], echo["body_len"]), ("/app/zeros", 5))
    eq(echo["body_sha256"], hashlib.sha256(b"hello").hexdigest())


def test_bad_gateway_and_timeout(binary, up, nginx):
    """The application down: 502; too slow: 504.  Both JSON, logged, counted."""
    dead = "http://127.0.0.1:%d" % free_port()
    gw = gateway(binary, dead)
    try:
        st, _, hs, data = call(gw, "GET", "/app/x", headers={"X-Request-Id": "down-1"})
        eq((st, json.loads(data)), (502, {"detail": "The application is unavailable."}))
        eq(header(hs, "Content-Type"), ["application/json"])
        eq(header(hs, "X-Request-Id"), ["down-1"])
        st, _, _, data = call(gw, "POST", "/app/x", b"y" * 300000)
        eq(st, 502, data)
        eq(stats(gw)["bad_gateway"], 2)
        logged(gw, lambda e: e["request_id"] == "down-1" and e["status"] == 502)
    finally:
        stop_clean(gw)
    gw = gateway(binary, up.url, timeout_ms=500)
    try:
        t0 = time.time()
        st, _, _, data = call(gw, "GET", "/slow?ms=3000")
        eq((st, json.loads(data)), (504, {"detail": "The application did not answer in time."}))
        assert time.time() - t0 < 2.5
        st, _, _, _ = call(gw, "GET", "/app/fine")
        eq(st, 200, "the next request goes through")
        eq(stats(gw)["gateway_timeout"], 1)
        logged(gw, lambda e: e["uri"] == "/slow?ms=3000" and e["status"] == 504)
    finally:
        stop_clean(gw)


def test_stalled_client_is_timed_out(binary, up, nginx):
    """A client that stops sending its body, or stops reading the answer, is
    cut off after the request timeout (its connection reset: what the
    kernel still queues for it is dropped, not fed to it for minutes); the
    gateway carries on."""
    gw = Gateway(binary, config={"threads": 1, "upstream": up.url,
                                 "limits": {"max_body_bytes": 1048576, "max_header_bytes": 16384,
                                            "request_timeout": 1}})
    try:
        s = socket.create_connection(("127.0.0.1", gw.port), timeout=10)
        s.sendall(b"POST /app/stall HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789")
        t0 = time.time()
        eq(s.recv(100), b"", "the connection is closed")
        assert time.time() - t0 < 5
        s.close()
        s = socket.create_connection(("127.0.0.1", gw.port), timeout=10)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.sendall(b"GET /big?n=%d HTTP/1.1\r\nHost: x\r\n\r\n" % BIG)
        time.sleep(3)                       # not reading
        t0 = time.time()
        got = bytes_until_closed(s)
        assert got < BIG, "a client that stopped reading got the whole answer"
        # reset, not drained: the kernel's queue for it is dropped
        assert time.time() - t0 < 10, "the cut answer was drained to the client for %.0f s" % (time.time() - t0)
        s.close()
        st, _, _, _ = call(gw, "GET", "/app/still-fine")
        eq(st, 200)
        logged(gw, lambda e: e["uri"] == "/app/stall" and e["status"] == 499)
    finally:
        stop_clean(gw)


def test_sigterm_waits_for_the_application(binary, up, nginx):
    """SIGTERM while an answer is on its way from the application: it
    arrives whole, then the gateway stops cleanly."""
    gw = gateway(binary, up.url, timeout_ms=5000)
    got = {}

    def slow():
        got["answer"] = call(gw, "GET", "/slow?ms=1500")

    t = threading.Thread(target=slow)
    t.start()
    time.sleep(0.4)
    gw.proc.send_signal(signal.SIGTERM)
    t.join(10)
    st, _, _, data = got["answer"]
    eq(st, 200, data)
    eq(json.loads(data)["target"], "/slow?ms=1500")
    stop_clean(gw)


def main():
    binary = binary_arg()
    runner = Runner()
    up = Upstream()
    nginx = Nginx()
    try:
        # One gateway for the application, one for nginx (each has one upstream).
        gw = gateway(binary, up.url)
        ngw = gateway(binary, nginx.url)
        print("== passthrough (%s)" % gw.read_log().strip().splitlines()[-1], flush=True)
        try:
            runner.run([test_methods_queries_and_headers, test_chunked_both_ways, test_keepalive_reuse,
                        test_passthrough_mode_for_a_route, test_login_then_gateway_route,
                        test_pipelined_requests_keep_order, test_smuggling_is_refused,
                        test_every_spelling_of_a_route_stays_with_the_gateway,
                        test_chunk_size_with_leading_zeros], gw, up, nginx)
            runner.run([test_large_bodies_streamed, test_spliced_answers_keep_the_connection,
                        test_answer_cut_short_while_spliced], gw, up, nginx)
            runner.run([test_static_files_from_nginx, test_large_file_from_nginx, test_slow_client_download],
                       ngw, up, nginx)
        finally:
            runner.shutdown(gw)
            runner.shutdown(ngw)
        runner.run([test_bad_gateway_and_timeout, test_stalled_client_is_timed_out,
                    test_sigterm_waits_for_the_application], binary, up, nginx)
    finally:
        nginx.close()
        up.close()
    return runner.finish()


if __name__ == "__main__":
    sys.exit(main())
