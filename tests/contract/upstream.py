#!/usr/bin/env python3
"""A stand-in for the application behind the gateway, for the passthrough
tests: it echoes what reached it (bodies hashed as they stream, never held
whole), streams large answers, answers late on request, and serves the
application's login and token refresh (HS256 tokens, as simplejwt makes).

    upstream.py --port N --secret S [--tls CERT KEY]
                                         prints "ready" once listening
"""
import argparse
import hashlib
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, __import__("os").path.dirname(__file__))
from harness import make_token  # noqa: E402

BLOCK = bytes(range(256)) * 256          # 64 KiB of a known pattern


def pattern(n):
    """The bytes /big?n= sends, in blocks."""
    while n > 0:
        b = BLOCK[:n]
        n -= len(b)
        yield b


class App(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    secret = None

    def log_message(self, *args):
        pass

    def body(self):
        """(length, sha256) of the request body, read as it streams."""
        h, n = hashlib.sha256(), 0
        self.trailers = []
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while True:
                        line = self.rfile.readline()
                        if line in (b"\r\n", b"\n", b""):
                            break
                        self.trailers.append(line.decode("latin-1").rstrip("\r\n"))
                    break
                while size:
                    part = self.rfile.read(min(size, 1 << 16))
                    h.update(part)
                    n += len(part)
                    size -= len(part)
                self.rfile.readline()
        else:
            left = int(self.headers.get("Content-Length") or 0)
            while left:
                part = self.rfile.read(min(left, 1 << 16))
                if not part:
                    break
                h.update(part)
                n += len(part)
                left -= len(part)
        return n, h.hexdigest(), h

    def answer(self, status, doc, headers=()):
        data = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def handle_any(self):
        u = urlsplit(self.path)
        q = {k: v[0] for k, v in parse_qs(u.query).items()}
        n, sha, h = self.body()
        if u.path == "/api/auth/login/" and self.command == "POST":
            return self.login(h)
        if u.path == "/api/auth/token/refresh/" and self.command == "POST":
            return self.answer(200, {"access": make_token(1, self.secret)})
        if u.path == "/big":
            return self.big(int(q["n"]), q.get("chunked") == "1", int(q.get("cut", "-1")))
        if u.path == "/slow":
            time.sleep(int(q.get("ms", "2000")) / 1000)
        if u.path == "/close":
            self.close_connection = True
        self.answer(int(q.get("status", "200")), {
            "method": self.command, "target": self.path, "http": self.request_version,
            "headers": [[k, v] for k, v in self.headers.items()],
            "body_len": n, "body_sha256": sha, "peer_port": self.client_address[1], "trailers": self.trailers,
        }, [("Set-Cookie", "a=1; Path=/"), ("Set-Cookie", "b=2; Path=/"), ("X-Upstream", "echo"),
            ("Connection", "X-Hop"), ("X-Hop", "secret"), ("Keep-Alive", "timeout=30")]
            + ([("Connection", "close")] if u.path == "/close" else []))

    def login(self, h):
        # The body was hashed while read; the app needs it, and it is small.
        creds = getattr(self, "_creds", None)
        if creds is None:
            return self.answer(400, {"detail": "unreadable"})
        if creds != {"username": "user1", "password": "pass-not-real-1"}:
            return self.answer(401, {"detail": "No active account found with the given credentials"})
        return self.answer(200, {"refresh": make_token(1, self.secret, token_type="refresh"),
                                 "access": make_token(1, self.secret)})

    def big(self, n, chunked, cut=-1):
        """n bytes of the pattern; with cut, the connection closes after
        that many, short of the length announced."""
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(n))
        self.end_headers()
        for b in pattern(n if cut < 0 else cut):
            self.wfile.write(b"%x\r\n%s\r\n" % (len(b), b) if chunked else b)
        if cut >= 0:
            self.wfile.flush()
            self.close_connection = True
            return
        if chunked:
            self.wfile.write(b"0\r\n\r\n")


class LoginApp(App):
    """Keeps the (small) login body so login() can read the credentials."""

    def body(self):
        if urlsplit(self.path).path == "/api/auth/login/":
            data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                self._creds = json.loads(data)
            except ValueError:
                self._creds = None
            return len(data), hashlib.sha256(data).hexdigest(), hashlib.sha256(data)
        return App.body(self)


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        """Clients (the gateway) leaving mid-answer are part of the tests."""
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


for m in ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD", "PROPFIND"):
    setattr(App, "do_" + m, App.handle_any)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--secret", required=True)
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    a = ap.parse_args()
    LoginApp.secret = a.secret
    srv = Server(("127.0.0.1", a.port), LoginApp)
    if a.tls:
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(*a.tls)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    print("ready", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
