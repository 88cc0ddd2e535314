#!/usr/bin/env python3
"""Agora, the second example (etc/examples/agora): a social marketplace of
51 PostgreSQL tables, its configuration made by `cutover init` and the
edits of init.diff, served in the express profile.

Its own application stands beside the gateway (tests/agora_app: Node.js,
Express and the pg driver, from the npm registry), and every endpoint of it
is compared with the gateway body for body: lists (pages, limits, every
filter, every ordering both ways, search), records, records that are not
there, other users' lists, requests without a token; writes made through
one and read through the other.  The gateway serves in legacy mode from
PostgreSQL and from a SQLite copy of the same rows, in mongodb mode after
`cutover migrate` and `cutover verify`, and in shadow mode, where every
route is compared and none mismatches.
"""
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid

sys.path.insert(0, os.path.dirname(__file__))
from harness import ROOT, SECRET, Gateway, Runner, binary_arg, eq, free_port, make_token, stop_clean, uncomment  # noqa: E402

AGORA = os.path.join(ROOT, "etc", "examples", "agora")
T1, T2 = make_token(1), make_token(2)
USERS, PER = 3, 8


def camel(name):
    head = name.lstrip("_")
    lead = name[:len(name) - len(head)]
    parts = [p for p in head.split("_")]
    return lead + parts[0] + "".join(p[:1].upper() + p[1:] for p in parts[1:] if p) if parts else name


def api_name(f):
    return "_id" if f.get("primary_key") else camel(f["name"])


def agora_database(pg, users=USERS, per=PER):
    """A database of its own on the suite's server: the schema and the data."""
    name = pg.dbname + "_agora"
    pg.psql(pg.admin_url, "CREATE DATABASE %s" % name)
    url = pg.url.replace(pg.dbname, name)
    with open(os.path.join(AGORA, "schema.postgres.sql")) as f:
        pg.psql(url, f.read())
    r = subprocess.run(["psql", url, "-q", "-v", "users=%d" % users, "-v", "per=%d" % per, "-f",
                        os.path.join(AGORA, "data.sql")], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("loading Agora's data: " + r.stderr[-2000:])
    return name, url


def drafted_config(binary, url, d):
    """cutover init on the live schema, then the edits of init.diff; the
    result must be the configuration the example ships."""
    path = os.path.join(d, "cutover.json")
    r = subprocess.run([binary, "init", "--from", url, "--profile", "express", "--owner", "follows=follower_id",
                        "--owner", "blocks=blocker_id", "-o", path], capture_output=True, text=True)
    eq(r.returncode, 0, r.stderr)
    assert "38 resources, 8 embedded, 4 tables not served, 0 warnings" in r.stderr, r.stderr
    env = dict(os.environ, JWT_SECRET=SECRET, DATABASE_URL=url)
    r = subprocess.run([binary, "check", "-c", path], capture_output=True, text=True, env=env)
    eq(r.returncode, 0, "the draft as init wrote it: " + r.stdout + r.stderr)
    r = subprocess.run(["patch", "--quiet", "--no-backup-if-mismatch", path, os.path.join(AGORA, "init.diff")],
                       capture_output=True, text=True)
    eq(r.returncode, 0, "init.diff no longer applies to the draft:\n" + r.stdout + r.stderr)
    with open(path) as f:
        doc = uncomment(f.read())
    with open(os.path.join(AGORA, "cutover.json")) as f:
        shipped = uncomment(f.read())
    eq((doc["profile"], doc["resources"]), (shipped["profile"], shipped["resources"]),
       "etc/examples/agora/cutover.json is not what init and init.diff make")
    r = subprocess.run([binary, "check", "-c", path], capture_output=True, text=True, env=env)
    eq(r.returncode, 0, r.stdout + r.stderr)
    # The README shows the same edits.
    with open(os.path.join(AGORA, "README.md")) as f:
        readme = f.read()
    with open(os.path.join(AGORA, "init.diff")) as f:
        assert f.read() in readme, "etc/examples/agora/README.md does not show init.diff"
    return path, doc


class App:
    """The stand-in application, on a free port."""

    def __init__(self, config, url):
        node_path = ":".join(subprocess.run([os.path.join(ROOT, "scripts", "npm_package.sh"), name, version],
                                            check=True, capture_output=True, text=True).stdout.strip()
                             for name, version in (("express", "4.21.2"), ("pg", "8.13.1")))
        self.port = free_port()
        self.log = tempfile.NamedTemporaryFile(prefix="agora-app-", suffix=".log", delete=False)
        env = dict(os.environ, NODE_PATH=node_path, DATABASE_URL=url, JWT_SECRET=SECRET)
        self.proc = subprocess.Popen(["node", os.path.join(ROOT, "tests", "agora_app", "app.js"), config,
                                      str(self.port)], env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("the Agora app exited:\n" + self.read_log())
            if "listening" in self.read_log():
                return
            time.sleep(0.1)
        raise RuntimeError("the Agora app did not start:\n" + self.read_log())

    def read_log(self):
        with open(self.log.name) as f:
            return f.read()

    def request(self, method, path, body=None, token=None):
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (self.port, path), method=method,
                                     data=None if body is None else json.dumps(body).encode())
        if token:
            req.add_header("Authorization", "Bearer " + token)
        if body is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        assert "Error" not in self.read_log(), self.read_log()


def same(app, gw, method, path, body=None, token=T1):
    """One request to both: the same status and the same bytes."""
    want = app.request(method, path, body, token)
    r = gw.request(method, path, body, token)
    got = (r.status, r.body)
    if got != want:
        at = next((i for i, (a, b) in enumerate(zip(want[1], got[1])) if a != b), min(len(want[1]), len(got[1])))
        show = lambda b: b[max(0, at - 300):at + 300].decode(errors="replace")  # noqa: E731
        raise AssertionError("%s %s differs at byte %d\n  app:     %d …%s…\n  gateway: %d …%s…" % (
            method, path, at, want[0], show(want[1]), got[0], show(got[1])))
    return json.loads(want[1]) if want[1] else None


def read_paths(doc, nulls_follow_postgres=True):
    """Every read a client makes of every route, with values from the
    data itself: (path, token)."""
    out = []
    for res in doc["resources"]:
        p, fields = res["path"], {f["name"]: f for f in res["fields"]}
        out += [(p, T1), (p, T2), (p, None), (p + "?page=2&limit=3", T1), (p + "?limit=100", T1),
                (p + "?page=9&limit=7", T1), (p + "?page=x&limit=-2", T1),
                (p + "%s/" % uuid.UUID(int=7), T1), (p + "not-an-id/", T1)]
        # Null placement follows the legacy store: on SQLite nulls come
        # first, on PostgreSQL (where the application is) last.
        orderable = [n for n in res.get("ordering_fields", []) if nulls_follow_postgres or not fields[n].get("null")]
        for name in orderable:
            out += [(p + "?limit=100&sort=" + camel(name), T1), (p + "?limit=100&sort=-" + camel(name), T1)]
        for name in orderable[:1]:
            out.append((p + "?sort=nonsense,-" + camel(name), T1))
        out.append(("detail-of", res))
        for name in res.get("filters", []):
            out.append(("filter-of", res, name))
        for name in res.get("search", []):
            out.append(("search-of", res, name))
    return out


def compare_reads(app, gw, doc, nulls_follow_postgres=True):
    """Every read path answered the same by both; returns how many."""
    n = 0
    lists = {}
    for item in read_paths(doc, nulls_follow_postgres):
        if isinstance(item[0], str) and item[0].startswith("/"):
            path, token = item
            body = same(app, gw, "GET", path, token=token)
            if token == T1 and path.endswith("?limit=100"):
                lists[path[:-len("?limit=100")]] = body["data"]
            n += 1
            continue
        kind, res = item[0], item[1]
        rows = lists[res["path"]]
        assert rows, "no %s for user 1" % res["name"]
        if kind == "detail-of":
            for row in rows[:3]:
                same(app, gw, "GET", res["path"] + row["_id"] + "/")
                n += 1
            same(app, gw, "GET", res["path"] + rows[0]["_id"] + "/", token=T2)     # another user's
            n += 1
        elif kind == "filter-of":
            f = next(f for f in res["fields"] if f["name"] == item[2])
            value = next((r[api_name(f)] for r in rows if r[api_name(f)] is not None), None)
            text = {True: "true", False: "false"}.get(value, value) if isinstance(value, bool) else str(value)
            got = same(app, gw, "GET", res["path"] + "?%s=%s&limit=100" % (api_name(f), text))
            assert got["data"] and all(r[api_name(f)] == value for r in got["data"]), (res["name"], f["name"])
            n += 1
        elif kind == "search-of":
            f = next(f for f in res["fields"] if f["name"] == item[2])
            word = rows[0][api_name(f)].split()[-1] if rows[0][api_name(f)].split() else "x"
            got = same(app, gw, "GET", res["path"] + "?search=%s&limit=100" % urllib.request.quote(word))
            assert got["data"], (res["name"], word)
            n += 1
    return n


def test_legacy_postgres(binary, app, gw, doc):
    n = compare_reads(app, gw, doc)
    print("     %d reads compared" % n, flush=True)
    assert n > 38 * 15, n


def test_writes_cross(binary, app, gw, doc):
    """Written through one, read through the other: the same record."""
    # Through the gateway: a post with its media, then the app reads it.
    post = gw.request("POST", "/api/posts/", {"title": "Through the gateway", "kind": "photo", "media": [
        {"url": "https://cdn.example.com/x/2", "mediaType": "image", "position": 1},
        {"url": "https://cdn.example.com/x/1", "mediaType": "video", "position": 0}]}, T1)
    eq(post.status, 201, post.text)
    pid = post.json()["data"]["_id"]
    same(app, gw, "GET", "/api/posts/%s/" % pid)
    # Through the app: a store and a product with images and attributes.
    st, body = app.request("POST", "/api/stores/", {"name": "App store", "slug": "app-store"}, T1)
    eq(st, 201, body)
    sid = json.loads(body)["data"]["_id"]
    st, body = app.request("POST", "/api/products/", {
        "store": sid, "sku": "APP-1", "name": "App mug", "price": "199.00", "attributes": {"colour": "teal", "n": [1, 2]},
        "images": [{"url": "https://cdn.example.com/m/1", "position": 0}]}, T1)
    eq(st, 201, body)
    prod = json.loads(body)["data"]
    same(app, gw, "GET", "/api/products/%s/" % prod["_id"])
    same(app, gw, "GET", "/api/products/?search=APP-1")
    # Changed through the gateway, read through the app; a comment that refers to the post.
    r = gw.request("PATCH", "/api/products/%s/" % prod["_id"], {"stock": 5, "status": "active"}, T1)
    eq(r.status, 200, r.text)
    same(app, gw, "GET", "/api/products/%s/" % prod["_id"])
    r = gw.request("POST", "/api/comments/", {"post": pid, "body": "Nice one"}, T1)
    eq(r.status, 201, r.text)
    same(app, gw, "GET", "/api/comments/?post=%s" % pid)
    # Deleted through the app: gone for the gateway too, with its comments.
    st, _ = app.request("DELETE", "/api/posts/%s/" % pid, token=T1)
    eq(st, 200)
    same(app, gw, "GET", "/api/posts/%s/" % pid)
    same(app, gw, "GET", "/api/comments/?post=%s" % pid)
    # Refused alike: another user's record, a missing required field.
    same(app, gw, "PATCH", "/api/products/%s/" % prod["_id"], {"stock": 1}, token=T2)
    same(app, gw, "POST", "/api/stores/", {"slug": "no-name"})


# SQLite: the same rows in Django's formats -------------------------------

SQLITE_TYPES = {"uuid": "char(32)", "string": "varchar", "text": "text", "integer": "integer", "boolean": "bool",
                "decimal": "decimal", "date": "date", "datetime": "datetime", "json": "text"}


def sqlite_copy(pg, url, doc, path):
    """Every served table of the PostgreSQL database, copied into SQLite as
    Django stores each type there."""
    db = sqlite3.connect(path)
    tables = []
    for res in doc["resources"]:
        tables.append((res, res["owner_column"], None))
        tables += [(c, None, c["fk_column"]) for c in res.get("children", [])]
    for res, owner, fk in tables:
        cols = [(f.get("column", f["name"]), f["type"]) for f in res["fields"]]
        if owner:
            cols.append((owner, "integer"))
        if fk:
            cols.append((fk, "uuid"))
        db.execute("CREATE TABLE %s (%s)" % (res["table"], ", ".join(
            '"%s" %s%s' % (c, SQLITE_TYPES[t], " PRIMARY KEY" if c == "id" else "") for c, t in cols)))
        out = pg.psql(url, "SET TIME ZONE 'UTC'; SELECT %s FROM %s" % (", ".join(
            "coalesce(%s, '<null>')" % (("to_char(\"%s\", 'YYYY-MM-DD HH24:MI:SS.US')" % c) if t == "datetime"
                                        else '"%s"::text' % c)
            for c, t in cols), res["table"]))
        rows = []
        for line in out.splitlines():
            vals = []
            for (c, t), v in zip(cols, line.split("\x1f")):
                if v == "<null>":
                    vals.append(None)
                elif t == "uuid":
                    vals.append(v.replace("-", ""))
                elif t == "boolean":
                    vals.append(1 if v in ("t", "true") else 0)
                elif t == "integer":
                    vals.append(int(v))
                elif t == "datetime":
                    vals.append(v[:-7] if v.endswith(".000000") else v)
                else:
                    vals.append(v)
            rows.append(vals)
        db.executemany("INSERT INTO %s VALUES (%s)" % (res["table"], ",".join("?" * len(cols))), rows)
    db.commit()
    db.close()


def test_legacy_sqlite(binary, app, pg, url, cfg, doc):
    """The gateway on a SQLite copy of the rows, the app on PostgreSQL."""
    path = os.path.join(tempfile.mkdtemp(prefix="agora-sqlite-"), "agora.sqlite3")
    sqlite_copy(pg, url, doc, path)
    gw = Gateway(binary, base=cfg, url="sqlite://" + path)
    try:
        n = compare_reads(app, gw, doc, nulls_follow_postgres=False)
        print("     %d reads compared" % n, flush=True)
    finally:
        stop_clean(gw)


def test_mongodb_and_shadow(binary, app, mongo, url, cfg, doc):
    """cutover migrate and verify, then every read served from MongoDB the
    same as the app serves it from PostgreSQL; then shadow mode, every
    route compared and none mismatched."""
    gw = Gateway(binary, base=cfg, url=url, mongo=mongo, mode="mongodb")
    try:
        for cmd in ("migrate", "verify"):
            r = subprocess.run([binary, cmd, "-c", gw.cfg_path], env=gw.env, capture_output=True, text=True,
                               timeout=600)
            eq(r.returncode, 0, "%s: %s%s" % (cmd, r.stdout[-3000:], r.stderr[-3000:]))
        n = compare_reads(app, gw, doc)
        print("     %d reads compared from MongoDB" % n, flush=True)
    finally:
        stop_clean(gw)
    gw = Gateway(binary, base=cfg, url=url, mongo=mongo, mode="shadow", same_as=gw)
    try:
        compare_reads(app, gw, doc)
        names = [r["name"] for r in doc["resources"]]
        deadline = time.time() + 60
        while True:
            routes = {n: gw.admin("GET", "routes/" + n)[1] for n in names}
            if all(r["compared"] + r["dropped"] >= 10 for r in routes.values()) or time.time() > deadline:
                break
            time.sleep(0.5)
        for name, r in routes.items():
            eq((name, r["mismatched"], r["secondary_errors"]), (name, 0, 0), r)
            assert r["compared"] >= 10, (name, r)
        print("     shadow: %d routes, %d reads compared, 0 mismatched" % (
            len(routes), sum(r["compared"] for r in routes.values())), flush=True)
    finally:
        stop_clean(gw)


def main():
    binary = binary_arg()
    runner = Runner()
    from pg import Postgres
    pg = Postgres()
    app = None
    try:
        name, url = agora_database(pg)
        cfg, doc = drafted_config(binary, url, tempfile.mkdtemp(prefix="agora-"))
        app = App(cfg, url)
        gw = Gateway(binary, base=cfg, url=url)
        print("== agora, legacy mode on PostgreSQL", flush=True)
        try:
            runner.run([test_legacy_postgres, test_writes_cross], binary, app, gw, doc)
        finally:
            runner.shutdown(gw)
        print("== agora, legacy mode on SQLite", flush=True)
        runner.run([test_legacy_sqlite], binary, app, pg, url, cfg, doc)
        from mongo import Mongo
        mongo = Mongo()
        try:
            print("== agora, mongodb and shadow modes", flush=True)
            runner.run([test_mongodb_and_shadow], binary, app, mongo, url, cfg, doc)
        finally:
            mongo.close()
    finally:
        if app:
            app.stop()
        pg.close()
    return runner.finish()


if __name__ == "__main__":
    sys.exit(main())
