"""A real PostgreSQL for the tests: Debian's server started on a free port in
a throwaway directory (initdb as the `postgres` user when running as root),
with the example schema loaded into a fresh database.  When DATABASE_URL
names a PostgreSQL server, a fresh database is created there instead (but
for a server with TLS, which is always our own)."""
import glob
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse

from harness import ROOT, free_port

SCHEMA = os.path.join(ROOT, "etc", "examples", "hisabpro", "schema.postgres.sql")


def _bindir():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(re.search(r"/(\d+)/bin", p).group(1)))
    if not found:
        raise RuntimeError("PostgreSQL server not installed: no /usr/lib/postgresql/*/bin/initdb "
                           "(scripts/deps.sh installs the 'postgresql' package)")
    return os.path.dirname(found[-1])


def _as_server_user(cmd, **kw):
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--"] + cmd
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def schema_sql():
    """The dump minus psql meta-commands newer than the client (\\restrict)."""
    with open(SCHEMA) as f:
        return "".join(l for l in f if not l.startswith("\\"))


class Postgres:
    def __init__(self, tls=None, icu_locale=None):
        """tls: (certificate, key) files the server serves TLS with;
        icu_locale: the database's collation, an ICU locale ("en-US")."""
        self.dir = None
        self.tls = tls
        given = os.environ.get("DATABASE_URL", "")
        if given.startswith(("postgres://", "postgresql://")) and not tls:
            self.admin_url = given
        else:
            self._start_server()
        self.dbname = "cutover_test_%d_%d" % (os.getpid(), int(time.time() * 1000) % 100000)
        self.psql(self.admin_url, "CREATE DATABASE %s" % self.dbname + (
            " TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE '%s' LOCALE 'C.UTF-8'" % icu_locale
            if icu_locale else ""))
        u = urllib.parse.urlsplit(self.admin_url)
        self.url = urllib.parse.urlunsplit((u.scheme, u.netloc, "/" + self.dbname, u.query, ""))
        self.psql(self.url, schema_sql())

    def _start_server(self):
        bindir = _bindir()
        self.dir = tempfile.mkdtemp(prefix="cutover-pg-")
        os.chmod(self.dir, 0o777)
        data = os.path.join(self.dir, "data")
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
        _as_server_user([os.path.join(bindir, "initdb"), "-D", data, "-U", "cutover", "--auth=trust",
                         "-E", "UTF8", "--locale=C.UTF-8"])
        self.port = free_port()
        self.bindir = bindir
        self.data = data
        self.ssl_opts = ""
        if self.tls:
            # The server reads its key only when the server's user alone may.
            for src, name in zip(self.tls, ("server.crt", "server.key")):
                dst = os.path.join(self.dir, name)
                shutil.copy(src, dst)
                os.chmod(dst, 0o600)
                if os.geteuid() == 0:
                    shutil.chown(dst, "postgres")
            self.ssl_opts = " -c ssl=on -c ssl_cert_file=%s/server.crt -c ssl_key_file=%s/server.key" % (
                self.dir, self.dir)
        self.start()
        self.admin_url = "postgres://cutover@127.0.0.1:%d/postgres" % self.port

    def start(self):
        _as_server_user([os.path.join(self.bindir, "pg_ctl"), "-D", self.data, "-l",
                         os.path.join(self.dir, "server.log"), "-w", "-t", "60", "-o",
                         "-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off "
                         "-c max_connections=100%s" % (self.port, self.dir, self.ssl_opts), "start"])

    def stop(self, mode="fast"):
        _as_server_user([os.path.join(self.bindir, "pg_ctl"), "-D", self.data, "-m", mode, "-w", "stop"])

    def psql(self, url, sql):
        r = subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-q", "-At", "-F", "\x1f"],
                           input=sql, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("psql failed: %s" % r.stderr)
        return r.stdout

    def sql(self, query, args=()):
        """Run one statement with '?' placeholders (test-controlled values)."""
        parts = query.split("?")
        assert len(parts) == len(args) + 1, query
        text = parts[0]
        for a, rest in zip(args, parts[1:]):
            if a is None:
                lit = "NULL"
            elif isinstance(a, (int, float)):
                lit = repr(a)
            else:
                lit = "'" + str(a).replace("'", "''") + "'"
            text += lit + rest
        out = self.psql(self.url, text + ";")
        rows = []
        for line in out.splitlines():
            vals = []
            for v in line.split("\x1f"):
                if re.fullmatch(r"-?\d+", v):
                    v = int(v)
                vals.append(v)
            rows.append(tuple(vals))
        return rows

    def close(self):
        if self.dir:
            try:
                self.stop("immediate")
            except subprocess.CalledProcessError:
                pass
            shutil.rmtree(self.dir, ignore_errors=True)
        else:
            self.psql(self.admin_url, "DROP DATABASE IF EXISTS %s" % self.dbname)


TABLES = ["auth_user", "invoices_invoice", "invoices_invoiceitem", "invoices_payment"]


def demo_sqlite(path, *args):
    """A demo database made by scripts/demo_data.py (args: its options)."""
    subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "demo_data.py"), "--schema",
                    os.path.join(ROOT, "etc", "examples", "hisabpro", "schema.sqlite.sql"), "--out", path]
                   + list(args), check=True, stdout=subprocess.DEVNULL)
    return path


def load_sqlite(pg, db):
    """Every row of a SQLite database of the example schema, copied into
    PostgreSQL with COPY (Django's column formats read the same)."""
    src = sqlite3.connect(db)
    try:
        for table in TABLES:
            cur = src.execute("SELECT * FROM %s" % table)
            cols = [d[0] for d in cur.description]
            lines = []
            for row in cur:
                vals = []
                for c, v in zip(cols, row):
                    if v is None:
                        vals.append("\\N")
                    elif c in ("is_superuser", "is_staff", "is_active"):
                        vals.append("t" if v else "f")
                    else:
                        vals.append(str(v).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n"))
                lines.append("\t".join(vals))
            data = "SET TIME ZONE 'UTC';\nCOPY %s (%s) FROM STDIN;\n%s\n\\.\nANALYZE %s;\n" % (
                table, ",".join('"%s"' % c for c in cols), "\n".join(lines), table)
            r = subprocess.run(["psql", pg.url, "-v", "ON_ERROR_STOP=1", "-q"], input=data, capture_output=True,
                               text=True)
            if r.returncode != 0:
                raise RuntimeError("loading %s into PostgreSQL: %s" % (table, r.stderr[-2000:]))
    finally:
        src.close()


def copy_demo(pg, tmp):
    """The demo data, made for SQLite, copied into PostgreSQL."""
    load_sqlite(pg, demo_sqlite(os.path.join(tmp, "demo.sqlite3")))
