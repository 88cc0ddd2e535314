#!/usr/bin/env python3
"""`cutover init` on live schemas.

The example's own schemas, SQLite and PostgreSQL: the draft passes `cutover
check`, the edits a person makes (etc/examples/hisabpro/init-*.diff, applied
with patch) turn it into exactly the example's resources, and the whole
contract suite passes against the gateway serving that edited draft.

A schema written to exercise every guess, on both stores: owners found (and
an ambiguous one warned about and chosen with --owner), children embedded,
enumerations from CHECK constraints and PostgreSQL enums, bounds, defaults,
cascades, JSON columns, tables that cannot be served and why, the options.

A hostile schema, on both stores: defaults, choices, table, column and index
names and CHECK text holding ${VAR}, $${, star-slash, quotes, newlines and
`", "mode": …`.  The draft parses, holds each of them as it was (no key
injected), `check` refuses the unusual names saying why and accepts the
rest, and the gateway serving that never answers with a value from the
environment.
"""
import json
import os
import sqlite3
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from harness import (CONFIG, ROOT, SCHEMA, SECRET, Gateway, Runner, binary_arg, eq, make_token,  # noqa: E402
                     uncomment)

EXAMPLE = os.path.join(ROOT, "etc", "examples", "hisabpro")


def init(binary, url, *args, out=None):
    """Run cutover init; (exit code, draft text, stderr)."""
    d = tempfile.mkdtemp(prefix="cutover-init-")
    out = out or os.path.join(d, "cutover.json")
    r = subprocess.run([binary, "init", "--from", url, "-o", out] + list(args), capture_output=True, text=True)
    text = open(out).read() if r.returncode == 0 else ""
    return r.returncode, text, r.stderr, out


def check(binary, path):
    env = dict(os.environ, JWT_SECRET=SECRET)
    r = subprocess.run([binary, "check", "-c", path], capture_output=True, text=True, env=env)
    eq(r.returncode, 0, r.stdout + r.stderr)


def patched(draft_path, diff):
    """The draft with a person's edits applied by patch(1), as JSON."""
    r = subprocess.run(["patch", "--quiet", "--no-backup-if-mismatch", draft_path, diff],
                       capture_output=True, text=True)
    eq(r.returncode, 0, "the edits no longer apply to the draft:\n" + r.stdout + r.stderr)
    with open(draft_path) as f:
        return uncomment(f.read())


def hisabpro_draft(binary, url, kind):
    """init on the example's schema → (its resources after the documented
    edits, stderr)."""
    rc, text, err, path = init(binary, url)
    eq(rc, 0, err)
    check(binary, path)
    # Each guess on stderr, and beside what it made in the draft.
    for table, guess in (("invoices_invoice", "owner user_id: its only foreign key to auth_user"),
                         ("invoices_invoiceitem", "embedded in invoices as \"items\""),
                         ("invoices_invoice", "unique invoices_invoice_user_id_invoice_number_0ae8bd1d_uniq: "
                                              "The fields user, invoice_number must make a unique set."),
                         ("invoices_invoice", "deleting one deletes the payments that refer to it")):
        assert "init: %s: %s" % (table, guess) in err, err
        assert "// " + guess in text, text
    # SQLite keeps no decimal precision: every decimal is said to be assumed.
    eq(err.count("the schema gives the decimal no precision"), 7 if kind == "sqlite" else 0, err)
    doc = patched(path, os.path.join(EXAMPLE, "init-%s.diff" % kind))
    with open(CONFIG) as f:
        want = json.load(f)["resources"]
    eq(doc["resources"], want, "the edited draft is not the example's configuration")
    return doc["resources"]


def sqlite_url(schema_sql):
    db = os.path.join(tempfile.mkdtemp(prefix="cutover-init-"), "db.sqlite3")
    conn = sqlite3.connect(db)
    conn.executescript(schema_sql)
    conn.close()
    return "sqlite://" + db


def test_hisabpro_sqlite(binary, runner):
    import run
    with open(SCHEMA) as f:
        resources = hisabpro_draft(binary, sqlite_url(f.read()), "sqlite")
    run.suite(runner, binary, "sqlite, served from the edited init draft", {"resources": resources})


def test_hisabpro_postgres(binary, runner, pg):
    import run
    resources = hisabpro_draft(binary, pg.url, "postgres")
    run.suite(runner, binary, "postgres, served from the edited init draft", {"resources": resources}, pg=pg)


GUESSES_PG = """
CREATE TYPE post_kind AS ENUM ('text', 'photo', 'video');
CREATE TABLE accounts (id bigserial PRIMARY KEY, email varchar(254) NOT NULL UNIQUE);
CREATE TABLE posts (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  author_id bigint NOT NULL REFERENCES accounts (id),
  kind post_kind NOT NULL DEFAULT 'text',
  title varchar(200) NOT NULL CHECK (char_length(title) > 0),
  body text NOT NULL DEFAULT '',
  published boolean NOT NULL DEFAULT false,
  score integer NOT NULL DEFAULT 0 CHECK (score BETWEEN 0 AND 100),
  rating double precision,
  meta jsonb,
  price numeric(10,2) NOT NULL DEFAULT 9.5,
  views bigint NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL
);
CREATE INDEX posts_author_kind ON posts (author_id, kind);
CREATE INDEX posts_title ON posts (title);
CREATE INDEX posts_price ON posts (price);
CREATE TABLE post_images (
  id uuid PRIMARY KEY, post_id uuid NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
  url text NOT NULL, position integer NOT NULL CHECK (position >= 0));
CREATE TABLE comments (
  id uuid PRIMARY KEY, post_id uuid NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
  author_id bigint NOT NULL REFERENCES accounts (id),
  status varchar(10) NOT NULL CHECK (status IN ('shown', 'hidden')),
  body text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE follows (
  id uuid PRIMARY KEY, follower_id bigint NOT NULL REFERENCES accounts (id),
  followee_id bigint NOT NULL REFERENCES accounts (id), UNIQUE (follower_id, followee_id));
CREATE TABLE tags (id serial PRIMARY KEY, name varchar(50) NOT NULL UNIQUE);
CREATE TABLE categories (id uuid PRIMARY KEY, name varchar(50) NOT NULL);
"""


def resource(doc, name):
    found = [r for r in doc["resources"] if r["name"] == name]
    assert found, "no resource %s in %s" % (name, [r["name"] for r in doc["resources"]])
    return found[0]


def field(res, name):
    found = [f for f in res["fields"] if f["name"] == name]
    assert found, "no field %s in %s" % (name, res["name"])
    return found[0]


def test_guesses_postgres(binary, pg):
    # A database of its own: no Django tables beside it.
    pg.psql(pg.admin_url, "CREATE DATABASE %s_guesses" % pg.dbname)
    try:
        url = pg.url.replace(pg.dbname, pg.dbname + "_guesses")
        pg.psql(url, GUESSES_PG)
        guesses_postgres(binary, url)
    finally:
        pg.psql(pg.admin_url, "DROP DATABASE %s_guesses" % pg.dbname)


def guesses_postgres(binary, url):
    rc, text, err, path = init(binary, url)
    eq(rc, 0, err)
    check(binary, path)
    doc = uncomment(text)
    eq([r["name"] for r in doc["resources"]], ["posts", "comments", "follows"])
    posts = resource(doc, "posts")
    eq(posts["owner_column"], "author_id")
    eq(field(posts, "id"), {"name": "id", "type": "uuid", "primary_key": True, "auto": "uuid4"})
    eq(field(posts, "kind"), {"name": "kind", "type": "string", "choices": ["text", "photo", "video"],
                              "default": "text"})
    eq(field(posts, "title"), {"name": "title", "type": "string", "max_length": 200, "required": True})
    eq(field(posts, "body"), {"name": "body", "type": "text", "default": ""})
    eq(field(posts, "published"), {"name": "published", "type": "boolean", "default": False})
    eq(field(posts, "score"), {"name": "score", "type": "integer", "min": 0, "max": 100, "default": 0})
    eq(field(posts, "meta"), {"name": "meta", "type": "json", "null": True, "default": None})
    eq(field(posts, "price"), {"name": "price", "type": "decimal", "digits": 10, "places": 2, "default": "9.50"})
    eq(field(posts, "views"), {"name": "views", "type": "integer", "default": 0})
    eq(field(posts, "created_at")["auto"], "now_on_create")
    eq(field(posts, "updated_at")["auto"], "now")
    assert "rating" not in [f["name"] for f in posts["fields"]]
    assert "WARNING: rating is double precision, which has no canonical type" in err, err
    # A check of another kind is named, not dropped in silence.
    assert "posts: WARNING: CHECK ((char_length((title)::text) > 0)) is not of a kind init reads" in err, err
    assert "// WARNING: CHECK ((char_length((title)::text) > 0))" in text, text
    eq(posts["filters"], ["kind", "title"])
    eq(posts["ordering_fields"], ["price", "created_at"])
    eq(posts["ordering"], ["-created_at"])
    eq(posts["cascade"], [{"resource": "comments", "field": "post"}])
    assert "(ON DELETE CASCADE)" in err, err
    images = posts["children"][0]
    eq((images["name"], images["table"], images["fk_column"], images["ordering"]),
       ("images", "post_images", "post_id", ["position"]))
    eq(field(images, "position"), {"name": "position", "type": "integer", "min": 0, "max": 2147483647,
                                   "required": True})
    comments = resource(doc, "comments")
    eq(field(comments, "post"), {"name": "post", "type": "uuid", "column": "post_id", "references": "posts",
                                 "required": True})
    eq(field(comments, "status")["choices"], ["shown", "hidden"])
    eq(comments["filters"], ["status"])
    follows = resource(doc, "follows")
    eq(follows["owner_column"], "follower_id")
    assert "WARNING: owner ambiguous: follower_id, followee_id all lead to accounts; follower_id chosen, " \
           "choose with --owner follows=COLUMN" in err, err
    eq(field(follows, "followee"), {"name": "followee", "type": "integer", "column": "followee_id",
                                    "required": True})
    eq(follows["unique"], [{"fields": ["followee"],
                            "message": "The fields follower, followee must make a unique set."}])
    for line in ("tags: not served: its key id is integer; the gateway serves records keyed by a uuid",
                 "categories: not served: no column ties its rows to a user"):
        assert line in err, err
    assert "// Not served: tags: its key id is integer" in text, text

    # The ambiguous owner chosen; only some tables.
    rc, text, err, _ = init(binary, url, "--tables", "follows", "--users-table", "accounts",
                            "--owner", "follows=followee_id")
    eq(rc, 0, err)
    doc = uncomment(text)
    eq([r["name"] for r in doc["resources"]], ["follows"])
    eq(resource(doc, "follows")["owner_column"], "followee_id")
    assert "ambiguous" not in err and "owner followee_id: given with --owner" in err, err

    # A password in the URL never reaches the draft.
    assert "@" in url and ":" not in url.split("://")[1].split("@")[0], url
    secret_url = url.replace("@", ":not-a-real-password@", 1)
    rc, text, err, path = init(binary, secret_url, "--tables", "posts")
    eq(rc, 0, err)
    assert "not-a-real-password" not in text and '"database_url": "${DATABASE_URL}"' in text, text
    # An existing file is kept unless --force.
    rc2 = subprocess.run([binary, "init", "--from", url, "-o", path], capture_output=True, text=True)
    eq(rc2.returncode, 1)
    assert "File exists (--force overwrites it)" in rc2.stderr, rc2.stderr
    eq(open(path).read(), text)
    eq(init(binary, url, "--force", out=path)[0], 0)


GUESSES_SQLITE = """
CREATE TABLE "users" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "name" text NOT NULL);
CREATE TABLE "notes" ("id" char(32) NOT NULL PRIMARY KEY,
  "user_id" integer NOT NULL REFERENCES "users" ("id"),
  "state" varchar(8) NOT NULL DEFAULT 'open' CHECK ("state" IN ('open', 'done')),
  "data" text NOT NULL CHECK ((JSON_VALID("data") OR "data" IS NULL)),
  "price" decimal(8,3) NOT NULL DEFAULT 1.5,
  "done" bool NOT NULL DEFAULT 0,
  "level" smallint NOT NULL CHECK (-5 <= "level" AND "level" < 10));
CREATE TABLE "plain" ("id" integer PRIMARY KEY, "user_id" integer REFERENCES "users" ("id"));
"""


def test_guesses_sqlite(binary):
    rc, text, err, path = init(binary, sqlite_url(GUESSES_SQLITE))
    eq(rc, 0, err)
    check(binary, path)
    doc = uncomment(text)
    eq([r["name"] for r in doc["resources"]], ["notes"])
    notes = resource(doc, "notes")
    eq(notes["owner_column"], "user_id")
    eq(field(notes, "id")["type"], "uuid")
    eq(field(notes, "state"), {"name": "state", "type": "string", "max_length": 8, "choices": ["open", "done"],
                               "default": "open"})
    eq(field(notes, "data"), {"name": "data", "type": "json", "required": True})
    eq(field(notes, "price"), {"name": "price", "type": "decimal", "digits": 8, "places": 3, "default": "1.500"})
    eq(field(notes, "done"), {"name": "done", "type": "boolean", "default": False})
    eq(field(notes, "level"), {"name": "level", "type": "integer", "min": -5, "max": 9, "required": True})
    eq(notes["filters"], ["state"])
    assert "plain: not served: its key id is integer" in err, err
    assert "users table: users" in err, err
    # The draft can name a response profile.
    rc, text, err, path = init(binary, sqlite_url(GUESSES_SQLITE), "--profile", "express")
    eq(rc, 0, err)
    check(binary, path)
    eq(uncomment(text)["profile"], "express")


def test_nothing_to_serve(binary):
    rc, _, err, _ = init(binary, sqlite_url('CREATE TABLE "t" ("id" integer PRIMARY KEY);'))
    eq(rc, 1)
    assert "no table can be served as a resource" in err, err
    r = subprocess.run([binary, "init"], capture_output=True, text=True)
    eq(r.returncode, 2)
    assert "init needs --from URL" in r.stderr, r.stderr
    r = subprocess.run([binary, "init", "--from", "sqlite:///nonexistent/db.sqlite3"], capture_output=True,
                       text=True)
    eq(r.returncode, 1)
    assert "cutover: init: sqlite /nonexistent/db.sqlite3" in r.stderr, r.stderr


# What a hostile schema holds, and what must never come back: the token
# secret (the gateway's own JWT_SECRET) and a variable set for the test.
CANARY = "canary-value-from-the-environment-0000"
HOSTILE_TABLE = 'shop_a", "mode": "passthrough", //'
BROKEN_TABLE = "shop_bad\nname */ {"
LABEL = "${JWT_SECRET}"
QUOTED = 'it\'s "q" */ {\n// x ${CUTOVER_TEST_CANARY:-y}'
KINDS = ["$${JWT_SECRET}", "${JWT_SECRET}", 'a", "mode": "passthrough', "x */ y", "${CUTOVER_TEST_CANARY}"]
META = {"k": "${JWT_SECRET}"}


def sql_str(s):
    return "'" + s.replace("'", "''") + "'"


def sql_ident(s):
    return '"' + s.replace('"', '""') + '"'


def hostile_schema(kind):
    """The hostile schema in kind's SQL (sqlite or postgres)."""
    sqlite = kind == "sqlite"
    key = "char(32)" if sqlite else "uuid"
    users = '"users" ("id" integer PRIMARY KEY AUTOINCREMENT' if sqlite else '"users" ("id" bigserial PRIMARY KEY'
    json_col = ('"meta" text NOT NULL DEFAULT %s CHECK (JSON_VALID("meta"))' if sqlite else
                '"meta" jsonb NOT NULL DEFAULT %s') % sql_str(json.dumps(META))
    # Text that is no JSON: never written into the draft as it is.
    inj = ',\n  "inj" text NOT NULL DEFAULT \'1, "mode": "passthrough"\' CHECK (JSON_VALID("inj"))' if sqlite else ""
    return """
CREATE TABLE %s, "name" text NOT NULL);
CREATE TABLE "notes" ("id" %s NOT NULL PRIMARY KEY,
  "user_id" integer NOT NULL REFERENCES "users" ("id"),
  "title" varchar(200) NOT NULL,
  "label" varchar(200) NOT NULL DEFAULT %s,
  "quoted" varchar(200) NOT NULL DEFAULT %s,
  "kind" varchar(100) NOT NULL DEFAULT %s CHECK ("kind" IN (%s)),
  %s%s,
  "t2" text CHECK (length("t2") < 9 /* ${JWT_SECRET} */ OR "t2" <> %s));
CREATE INDEX %s ON "notes" ("title");
CREATE TABLE %s ("id" %s PRIMARY KEY, "user_id" integer REFERENCES "users" ("id"), "${JWT_SECRET}" text,
  "c*/d" text);
CREATE TABLE %s ("id" integer PRIMARY KEY);
""" % (users, key, sql_str(LABEL), sql_str(QUOTED), sql_str(KINDS[0]), ", ".join(map(sql_str, KINDS)),
       json_col, inj, sql_str("${JWT_SECRET} */ {\nline"), sql_ident("idx ${JWT_SECRET} */\nx"),
       sql_ident(HOSTILE_TABLE), key, sql_ident(BROKEN_TABLE))


def escaped(s):
    """s as the draft must hold it: every ${ written $${, which the loader
    reads back as ${ (so nothing is taken from the environment)."""
    return s.replace("${", "$${")


def run_check(binary, path):
    env = dict(os.environ, JWT_SECRET=SECRET, CUTOVER_TEST_CANARY=CANARY)
    r = subprocess.run([binary, "check", "-c", path], capture_output=True, text=True, env=env)
    out = r.stdout + r.stderr
    assert SECRET not in out and CANARY not in out, out
    return r.returncode, out


def hostile(binary, url, kind):
    rc, text, err, path = init(binary, url)
    eq(rc, 0, err)
    doc = uncomment(text)       # the head's comment and every note stay comments
    eq(sorted(r["name"] for r in doc["resources"]), sorted(["notes", HOSTILE_TABLE + "s"]))
    for r in doc["resources"]:
        assert "mode" not in r and "mode" not in r.get("fields", [{}])[0], r
    eq(doc["mode"], "${DATABASE_MODE:-legacy}")
    shop = resource(doc, HOSTILE_TABLE + "s")
    eq((shop["table"], shop["path"]), (HOSTILE_TABLE, "/api/%ss/" % HOSTILE_TABLE))
    eq(sorted(f["name"] for f in shop["fields"]), sorted(["id", "$${JWT_SECRET}", "c*/d"]))
    assert "// Not served: shop_bad\\nname *\\/ {: its key id is integer" in text, text
    notes = resource(doc, "notes")
    eq(field(notes, "label")["default"], escaped(LABEL))
    eq(field(notes, "quoted")["default"], escaped(QUOTED))
    eq(field(notes, "kind")["choices"], [escaped(k) for k in KINDS])
    eq(field(notes, "kind")["default"], escaped(KINDS[0]))
    eq(field(notes, "meta")["default"], META)        # a json default is kept as it is, never interpolated
    if kind == "sqlite":
        eq(field(notes, "inj"), {"name": "inj", "type": "json", "required": True})
    # The names the loader refuses, each with its reason.
    rc, out = run_check(binary, path)
    eq(rc, 1, out)
    for why in ('"table": "shop_a\\", \\"mode\\": \\"passthrough\\", //" is not a plain identifier',
                'field ${JWT_SECRET}: name is not a plain identifier; give "column"'):
        assert why in out, out
    # The rest is accepted, and served: every value from the schema comes
    # back as the schema holds it, nothing from the environment.
    rc, text, err, path = init(binary, url, "--tables", "notes")
    eq(rc, 0, err)
    rc, out = run_check(binary, path)
    eq(rc, 0, out)
    serve_hostile(binary, url, path)


def serve_hostile(binary, url, path):
    d = tempfile.mkdtemp(prefix="cutover-init-")
    gw = Gateway(binary, base=path, url=url, extra_env={"CUTOVER_TEST_CANARY": CANARY,
                                                         "CUTOVER_JOURNAL": os.path.join(d, "journal.sqlite3")})
    answers = []
    try:
        token = make_token(1)
        body = {"title": "hi", "inj": {"a": 1}}
        r = gw.request("POST", "/api/notes/", body, token=token)
        answers.append(r)
        eq(r.status, 201, r.text)
        got = r.json()
        eq((got["label"], got["quoted"], got["kind"], got["meta"]), (LABEL, QUOTED, KINDS[0], META))
        for k in KINDS:
            r = gw.request("POST", "/api/notes/", dict(body, kind=k), token=token)
            answers.append(r)
            eq((r.status, r.json().get("kind")), (201, k), r.text)
        # Not a choice: the variable's value was never one.
        r = gw.request("POST", "/api/notes/", dict(body, kind="a"), token=token)
        answers.append(r)
        eq(r.status, 400, r.text)
        r = gw.request("GET", "/api/notes/", token=token)
        answers.append(r)
        eq((r.status, r.json()["count"]), (200, len(KINDS) + 1), r.text)
        answers.append(gw.request("OPTIONS", "/api/notes/", token=token))
    finally:
        problems, log = gw.stop()
    assert not problems, problems
    for r in answers:
        whole = r.text + json.dumps(r.headers)
        assert SECRET not in whole and CANARY not in whole and url not in whole, whole


def test_hostile_sqlite(binary):
    url = sqlite_url(hostile_schema("sqlite"))
    conn = sqlite3.connect(url[len("sqlite://"):])
    conn.execute("INSERT INTO users (id, name) VALUES (1, 'one')")
    conn.commit()
    conn.close()
    hostile(binary, url, "sqlite")


def test_hostile_postgres(binary, pg):
    pg.psql(pg.admin_url, "CREATE DATABASE %s_hostile" % pg.dbname)
    try:
        url = pg.url.replace(pg.dbname, pg.dbname + "_hostile")
        pg.psql(url, hostile_schema("postgres") + "INSERT INTO users (id, name) VALUES (1, 'one');")
        hostile(binary, url, "postgres")
    finally:
        pg.psql(pg.admin_url, "DROP DATABASE %s_hostile" % pg.dbname)


def main():
    binary = binary_arg()
    runner = Runner()
    runner.run([test_hisabpro_sqlite], binary, runner)
    runner.run([test_guesses_sqlite, test_nothing_to_serve, test_hostile_sqlite], binary)
    from pg import Postgres
    pg = Postgres()
    try:
        runner.run([test_hisabpro_postgres], binary, runner, pg)
    finally:
        pg.close()
    pg = Postgres()
    try:
        runner.run([test_guesses_postgres, test_hostile_postgres], binary, pg)
    finally:
        pg.close()
    return runner.finish()


if __name__ == "__main__":
    sys.exit(main())
