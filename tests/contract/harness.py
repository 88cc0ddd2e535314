"""Test harness: start the real gateway on a throwaway SQLite database and a
free port, talk real HTTP to it, and fail on any sanitizer report."""
import base64
import hashlib
import hmac
import http.client
import json
import os
import re
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import time
import traceback

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SCHEMA = os.path.join(ROOT, "etc", "examples", "hisabpro", "schema.sqlite.sql")
CONFIG = os.path.join(ROOT, "etc", "examples", "hisabpro", "cutover.json")
SECRET = "contract-test-secret-not-real-000"
ADMIN_TOKEN = "admin-test-token-not-real-0000"


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


JSON_NULL = object()     # a claim of null, where None leaves the claim out


def make_token(user_id=1, secret=SECRET, ttl=3600, header=None, **claims):
    """A simplejwt-style access token, made independently of the gateway."""
    now = int(time.time())
    payload = {"token_type": "access", "exp": now + ttl, "iat": now, "jti": "t", "user_id": user_id}
    payload.update(claims)
    payload = {k: None if v is JSON_NULL else v for k, v in payload.items() if v is not None}
    head = b64(json.dumps(header or {"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps(payload).encode())
    sig = hmac.new(secret.encode(), (head + "." + body).encode(), hashlib.sha256).digest()
    return head + "." + body + "." + b64(sig)


def openssl(*args, data=None):
    r = subprocess.run(["openssl"] + list(args), input=data, capture_output=True)
    if r.returncode != 0:
        raise RuntimeError("openssl %s: %s" % (" ".join(args), r.stderr.decode()))
    return r.stdout


class Certs:
    """A throwaway certificate authority in directory d, and certificates it
    signs: cert(name, sans) → (certificate, key) file paths."""

    def __init__(self, d, name="ca"):
        self.dir = d
        self.ca = os.path.join(d, name + ".pem")
        self.ca_key = os.path.join(d, name + ".key")
        self.serial = int(time.time() * 1000) % 10 ** 9
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                "-subj", "/CN=cutover test %s" % name, "-keyout", self.ca_key, "-out", self.ca)

    def cert(self, name, sans="IP:127.0.0.1,DNS:localhost", client=False):
        key, csr, crt = (os.path.join(self.dir, name + ext) for ext in (".key", ".csr", ".pem"))
        ext = os.path.join(self.dir, name + ".ext")
        with open(ext, "w") as f:
            f.write("subjectAltName=%s\nextendedKeyUsage=%s\n" % (sans, "clientAuth" if client else "serverAuth"))
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=" + name,
                "-keyout", key, "-out", csr)
        self.serial += 1
        openssl("x509", "-req", "-in", csr, "-CA", self.ca, "-CAkey", self.ca_key, "-set_serial", str(self.serial),
                "-days", "2", "-extfile", ext, "-out", crt)
        return crt, key

    def client_context(self, cert=None):
        ctx = ssl.create_default_context(cafile=self.ca)
        if cert:
            ctx.load_cert_chain(*cert)
        return ctx


class Response:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body)

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")


def uncomment(text):
    """A configuration's JSON without its // comments (outside strings)."""
    out, i, n, in_str = [], 0, len(text), False
    while i < n:
        c = text[i]
        if in_str:
            out.append(c)
            if c == "\\":
                out.append(text[i + 1])
                i += 1
            elif c == '"':
                in_str = False
        elif c == '"':
            in_str = True
            out.append(c)
        elif text.startswith("//", i):
            while i < n and text[i] != "\n":
                i += 1
            continue
        else:
            out.append(c)
        i += 1
    return json.loads("".join(out))


class Gateway:
    """The real binary, serving a database created from the example schema."""

    def __init__(self, binary, extra_env=None, config=None, pg=None, mongo=None, mode=None, same_as=None,
                 tls=None, links_as_http=False, base=CONFIG, url=None):
        """mongo alone: everything from MongoDB.  mongo and mode: the legacy
        store (SQLite, or pg) and MongoDB both, in that mode, with the admin
        API on.  same_as: another Gateway whose stores and journal to use
        (a restart, or a second instance).  tls: a Certs whose "server"
        certificate the listeners serve (every request then goes over TLS);
        links_as_http: page links in bodies read as http:// (so suites
        written for plain HTTP compare).  base: another application's
        configuration (comments allowed) to start from; url: the legacy
        store it serves, ready (nothing is created or seeded)."""
        self.dir = same_as.dir if same_as else tempfile.mkdtemp(prefix="cutover-test-")
        self.pg = pg
        self.mongo = mongo
        self.binary = binary
        self.config = config or {}
        self.check = None       # called with (method, path, response) after each request
        self.tls = tls
        self.links_as_http = links_as_http
        cfg_path = base
        if config:
            with open(base) as f:
                doc = uncomment(f.read())
            doc.update(config)
            cfg_path = os.path.join(self.dir, "cutover.json")
            with open(cfg_path, "w") as f:
                json.dump(doc, f)
        self.cfg_path = cfg_path
        self.db = os.path.join(self.dir, "hisabpro.sqlite3")
        if same_as:
            self.url = same_as.url
        elif url:
            self.url = url
        elif pg:
            self.url = pg.url
            for uid in (1, 2, 3):
                pg.sql("INSERT INTO auth_user (id,password,is_superuser,username,last_name,email,"
                       "is_staff,is_active,date_joined,first_name) VALUES (?,?,?,?,?,?,?,?,?,?) "
                       "ON CONFLICT (id) DO NOTHING",
                       (uid, "!", "f", "user%d" % uid, "", "", "f", "t", "2025-01-01 00:00:00+00", ""))
        if not same_as and not pg and not url:
            self.url = "sqlite://" + self.db
            conn = sqlite3.connect(self.db)
            with open(SCHEMA) as f:
                conn.executescript(f.read())
            for uid in (1, 2, 3):
                conn.execute("INSERT INTO auth_user (id,password,is_superuser,username,last_name,email,"
                             "is_staff,is_active,date_joined,first_name) VALUES (?,?,?,?,?,?,?,?,?,?)",
                             (uid, "!", 0, "user%d" % uid, "", "", 0, 1, "2025-01-01 00:00:00", ""))
            conn.commit()
            conn.close()
        self.log = os.path.join(self.dir, "gateway%s.log" % ("-%d" % time.time_ns() if same_as else ""))
        env = dict(os.environ)
        env.update({"DATABASE_URL": self.url, "JWT_SECRET": SECRET,
                    "CUTOVER_LISTEN": "127.0.0.1:0", "DATABASE_MODE": "legacy",
                    "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:handle_abort=1",
                    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1"})
        if mongo:
            # Its indexes come first, as in a real cutover (cutover migrate
            # --indexes-only).
            self.mongo_url = same_as.mongo_url if same_as else mongo.fresh_url()
            env.update({"MONGODB_URI": self.mongo_url, "DATABASE_MODE": mode or "mongodb",
                        "MONGODB_DECIMAL": mongo.DECIMAL, "CUTOVER_ADMIN_TOKEN": ADMIN_TOKEN,
                        "CUTOVER_JOURNAL": os.path.join(self.dir, "journal.sqlite3")})
            r = subprocess.run([binary, "migrate", "--indexes-only", "-c", cfg_path], env=env,
                               capture_output=True, text=True)
            if r.returncode != 0 or "indexes created" not in r.stdout:
                raise RuntimeError("cutover migrate --indexes-only failed:\n" + r.stdout + r.stderr)
        if tls:
            self.tls_cert, self.tls_key = os.path.join(tls.dir, "server.pem"), os.path.join(tls.dir, "server.key")
            if not os.path.exists(self.tls_cert):
                tls.cert("server")
            env.update({"CUTOVER_TLS_CERT": self.tls_cert, "CUTOVER_TLS_KEY": self.tls_key})
        self.env = env
        env.update(extra_env or {})
        self.proc = subprocess.Popen([binary, "serve", "-c", cfg_path], env=env,
                                     stdout=subprocess.DEVNULL, stderr=open(self.log, "wb"))
        deadline = time.time() + 30
        self.port = None
        while time.time() < deadline and self.port is None:
            if self.proc.poll() is not None:
                raise RuntimeError("gateway exited at start:\n" + self.read_log())
            for line in self.read_log().splitlines():
                m = re.search(r"listening on https?://(\S+)", line)
                if m:
                    self.port = int(m.group(1).rsplit(":", 1)[1])
            time.sleep(0.05)
        if self.port is None:
            raise RuntimeError("gateway did not start:\n" + self.read_log())
        # admin.listen: the admin API has a port of its own.
        m = re.search(r"dashboard on https?://[^ ]*:(\d+)/", self.read_log())
        self.admin_port = int(m.group(1)) if m else self.port

    def read_log(self):
        with open(self.log, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def connection(self, port=None, timeout=30, context=None):
        """An HTTP client connection to the gateway (over TLS when it serves TLS)."""
        if self.tls:
            return http.client.HTTPSConnection("127.0.0.1", port or self.port, timeout=timeout,
                                               context=context or self.tls.client_context())
        return http.client.HTTPConnection("127.0.0.1", port or self.port, timeout=timeout)

    def connect(self, timeout=10, port=None):
        """A raw socket to the gateway (TLS-wrapped when it serves TLS)."""
        s = socket.create_connection(("127.0.0.1", port or self.port), timeout=timeout)
        return self.tls.client_context().wrap_socket(s, server_hostname="127.0.0.1") if self.tls else s

    def request(self, method, path, body=None, token=None, headers=None, raw=None, host=None, port=None):
        conn = self.connection(port)
        h = {}
        if token:
            h["Authorization"] = "Bearer " + token
        if body is not None:
            raw = json.dumps(body).encode()
        if raw is not None:
            h["Content-Type"] = "application/json"
        if host:
            h["Host"] = host
        h.update(headers or {})
        conn.request(method, path, body=raw, headers=h)
        r = conn.getresponse()
        resp = Response(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
        conn.close()
        if self.links_as_http:
            resp.body = resp.body.replace(b'"https://', b'"http://')
        if self.check:
            self.check(method, path, resp)
        return resp

    def admin(self, method, path, body=None):
        """The admin API: (status, parsed JSON)."""
        r = self.request(method, "/_cutover/" + path, body,
                         headers={"Authorization": "Bearer " + ADMIN_TOKEN}, port=self.admin_port)
        return r.status, (json.loads(r.body) if r.body else None)

    def kill(self):
        self.proc.kill()
        self.proc.wait(timeout=30)

    def docs(self, body, relaxed=True):
        """Run JS against the gateway's MongoDB database (see mongo.Mongo.node)."""
        return self.mongo.node(self.mongo_url, body, relaxed)

    def sql(self, query, args=()):
        if self.pg:
            return self.pg.sql(query, args)
        conn = sqlite3.connect(self.db)
        try:
            rows = conn.execute(query, args).fetchall()
            conn.commit()
            return rows
        finally:
            conn.close()

    def alive(self):
        return self.proc.poll() is None and self.request("GET", "/api/invoices/").status == 401

    def stop(self):
        """SIGTERM; the gateway must drain and exit 0 with a clean log."""
        self.proc.send_signal(signal.SIGTERM)
        problems = []
        try:
            rc = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()            # never left behind, spinning
            rc = self.proc.wait()
            problems.append("gateway did not stop within 30 s of SIGTERM; killed")
        log = self.read_log()
        if rc != 0:
            problems.append("gateway exit status %d" % rc)
        for marker in ("AddressSanitizer", "LeakSanitizer", "runtime error:", "UndefinedBehavior"):
            if marker in log:
                problems.append("sanitizer report in gateway log: " + marker)
        if "cutover: stopped" not in log:
            problems.append("gateway did not log a clean stop")
        return problems, log


def read_to_close(s):
    """Everything s receives until the other side closes: (bytes, closed);
    closed is False when the socket's timeout passed or it was reset first."""
    data = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                return data, True
            data += b
    except (socket.timeout, ConnectionResetError):
        return data, False


def exchange_to_close(gw, raw, timeout=10):
    """Send raw bytes on one connection; everything that comes back until it closes."""
    s = socket.create_connection(("127.0.0.1", gw.port), timeout=timeout)
    s.sendall(raw)
    data = read_to_close(s)[0]
    s.close()
    return data


def sanitized(binary):
    """Is binary built with AddressSanitizer (whose allocator keeps freed
    memory in quarantine, so memory figures mean nothing)?"""
    with open(binary, "rb") as f:
        return b"__asan_init" in f.read()      # the runtime's entry, linked in or imported


def stop_clean(gw):
    """Stop a gateway a test started; fail the test on an unclean stop."""
    problems, log = gw.stop()
    assert not problems, (problems, log[-3000:])


def access_log(gw):
    return [json.loads(line) for line in gw.read_log().splitlines() if line.startswith('{"time"')]


def logged(gw, pred, timeout=5):
    """Is there an access log line pred accepts?  Lines are written once the
    loop has nothing else to do, so one may follow its response by a moment."""
    deadline = time.time() + timeout
    while True:
        log = access_log(gw)
        if any(pred(e) for e in log):
            return True
        if time.time() > deadline:
            raise AssertionError("no such access log line in the last ones: %r" % log[-5:])
        time.sleep(0.05)


def binary_arg():
    """The suites' one argument: --binary, the gateway to test."""
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    return os.path.abspath(ap.parse_args().binary)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Runner:
    """Runs test functions, printing each one's outcome and duration.
    TESTS (a regular expression) in the environment runs only the tests
    whose names it matches; the others are counted as not selected, never
    as passed."""

    def __init__(self):
        self.passed = self.failed = self.unselected = 0
        self.only = os.environ.get("TESTS", "")

    def run(self, tests, *args):
        for t in tests:
            name = t.__name__
            if self.only and not re.search(self.only, name):
                self.unselected += 1
                continue
            start = time.monotonic()
            try:
                t(*args)
            except Exception:
                self.failed += 1
                print("FAIL %s  (%.1f s)\n%s" % (name, time.monotonic() - start, traceback.format_exc()), flush=True)
            else:
                self.passed += 1
                print("ok   %s  (%.1f s)" % (name, time.monotonic() - start), flush=True)

    def shutdown(self, gw):
        """Stop a suite's gateway and count its clean shutdown as a test."""
        problems, log = gw.stop()
        if problems:
            self.failed += 1
            print("FAIL gateway shutdown: %s\n%s" % ("; ".join(problems), log[-4000:]))
        else:
            self.passed += 1
            print("ok   gateway shutdown clean")

    def finish(self):
        print("%d passed, %d failed%s" % (self.passed, self.failed, ", %d not selected by TESTS=%s" %
                                            (self.unselected, self.only) if self.unselected else ""))
        if self.only and not self.passed and not self.failed:
            return 0        # asked for tests this suite does not have
        return 1 if self.failed or not self.passed else 0


def migrate_summary(out, name):
    """A resource's row of cutover migrate's summary: read, written, skipped, failed."""
    for line in out.splitlines():
        f = line.split()
        if f and f[0] == name:
            return tuple(int(x) for x in f[1:5])
    raise AssertionError("no summary for %s in:\n%s" % (name, out))


def eq(got, want, what=""):
    if got != want:
        raise AssertionError("%s\n  got:  %r\n  want: %r" % (what, got, want))
