"""A real MongoDB-compatible server for the tests: FerretDB 1.x (built once
from the Go module proxy by scripts/ferretdb.sh and cached) with its SQLite
handler, on a free port in a throwaway directory.  When MONGODB_URI is set,
that server is used instead, with a fresh database per use.

Documents are read back with the official Node.js driver (scripts/
mongo_driver.sh), a client independent of the gateway."""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from harness import ROOT, free_port


def _script(name):
    r = subprocess.run([os.path.join(ROOT, "scripts", name)], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("%s failed:\n%s" % (name, r.stderr))
    return r.stdout.strip()


class Mongo:
    # FerretDB 1.x cannot store Decimal128 (design.md §5 allows int64 minor units).
    DECIMAL = "int64"

    def __init__(self, tls=None):
        """tls: a harness.Certs; the server then listens with TLS only, on
        localhost, with a certificate for that name (a server of our own)."""
        self.proc = None
        self.dir = None
        self.tls = tls
        self.query = ""
        self.node_path = _script("mongo_driver.sh")
        given = os.environ.get("MONGODB_URI", "") if not tls else ""
        if given:
            self.base = given.split("?")[0].rstrip("/")
            if self.base.count("/") > 2:
                self.base = self.base.rsplit("/", 1)[0]
        else:
            self.binary = _script("ferretdb.sh")
            self.dir = tempfile.mkdtemp(prefix="cutover-ferretdb-")
            self.port = free_port()
            self.base = "mongodb://127.0.0.1:%d" % self.port
            if tls:
                self.tls_files = tls.cert("ferretdb", "DNS:localhost")
                self.base = "mongodb://localhost:%d" % self.port
                self.query = "?tls=true&tlsCAFile=" + tls.ca
            self.start()
        self.serial = 0
        self.used = []

    def start(self):
        log = open(os.path.join(self.dir, "ferretdb.log"), "ab")
        listen = ["--listen-addr=127.0.0.1:%d" % self.port]
        if self.tls:
            listen = ["--listen-addr=", "--listen-tls=127.0.0.1:%d" % self.port,
                      "--listen-tls-cert-file=%s" % self.tls_files[0], "--listen-tls-key-file=%s" % self.tls_files[1]]
        self.proc = subprocess.Popen(
            # A throwaway server: its SQLite need not wait for the disk on
            # each commit (a killed process still loses nothing written).
            [self.binary, "--handler=sqlite", "--sqlite-url=file:%s/?_pragma=synchronous(off)" % self.dir] +
            listen +
            ["--debug-addr=127.0.0.1:0", "--telemetry=disable", "--log-level=error", "--state-dir=%s" % self.dir],
            stdout=log, stderr=log)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("ferretdb exited at start:\n" + self.log())
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("ferretdb did not start:\n" + self.log())

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=30)
        self.proc = None

    def log(self):
        with open(os.path.join(self.dir, "ferretdb.log"), "rb") as f:
            return f.read().decode("utf-8", "replace")[-4000:]

    def fresh_url(self, prefix="cutover_test"):
        """The URI of a database no test has used."""
        self.serial += 1
        url = "%s/%s_%d_%d%s" % (self.base, prefix, os.getpid(), self.serial, self.query)
        self.used.append(url)
        return url

    def node(self, url, body, relaxed=True):
        """Run `body` (an async JS function body with `db` bound) with the
        official driver; returns what it returns, as JSON.  relaxed=False
        keeps every BSON type as read and returns canonical extended JSON,
        so {"$numberLong": "5"} and {"$numberInt": "5"} differ."""
        script = """
const {MongoClient, BSON} = require('mongodb');
const EJSON = BSON.EJSON;
(async () => {
  const client = new MongoClient(%s, {serverSelectionTimeoutMS: 10000, promoteValues: %s});
  await client.connect();
  try {
    const db = client.db();
    const out = await (async (db) => { %s })(db);
    process.stdout.write(EJSON.stringify(out === undefined ? null : out, {relaxed: %s}));
  } finally { await client.close(); }
})().catch(e => { console.error(e); process.exit(1); });
""" % (json.dumps(url), "true" if relaxed else "false", body, "true" if relaxed else "false")
        env = dict(os.environ, NODE_PATH=self.node_path)
        r = subprocess.run(["node", "-e", script], capture_output=True, text=True, env=env, timeout=60)
        if r.returncode != 0:
            raise RuntimeError("node: " + r.stderr[-2000:])
        return json.loads(r.stdout)

    def close(self):
        if not self.dir:        # a server we were given: leave it as we found it
            for url in self.used:
                try:
                    self.node(url, "await db.dropDatabase();")
                except RuntimeError:
                    pass
        self.stop()
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
