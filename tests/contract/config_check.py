#!/usr/bin/env python3
"""`cutover check` against every key of the example configuration, and
every other key a module declares (`cutover check --keys`), each given a
value of the wrong type, an unset variable, and a second time in the same
object: never a signal, and every refusal names file:line:column.

Values only the checks after the environment judge (mode, listen, the store
URLs) are refused with their position too, as `serve` refuses them, and a
huge value is quoted cut short.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from harness import CONFIG, Runner, binary_arg, eq  # noqa: E402

UNSET = "${CUTOVER_CHECK_TEST_UNSET}"
POSITIONED = re.compile(r"^[^:\n]+:\d+:\d+: ", re.M)


def dump(v, dup=None, path=()):
    """JSON text of v; the member at path dup is written twice."""
    if isinstance(v, dict):
        parts = []
        for k, x in v.items():
            here = path + (k,)
            member = json.dumps(k) + ": " + dump(x, dup, here)
            parts.append(member)
            if dup == here:
                parts.append(member)
        return "{\n" + ",\n".join(parts) + "}"
    if isinstance(v, list):
        return "[" + ", ".join(dump(x, dup, path + (i,)) for i, x in enumerate(v)) + "]"
    return json.dumps(v)


def leaves(v, path=()):
    """Every position in the document, containers included."""
    yield path, v
    if isinstance(v, dict):
        for k, x in v.items():
            yield from leaves(x, path + (k,))
    elif isinstance(v, list):
        for i, x in enumerate(v):
            yield from leaves(x, path + (i,))


def replaced(doc, path, value):
    doc = json.loads(json.dumps(doc))
    cur = doc
    for p in path[:-1]:
        cur = cur[p]
    cur[path[-1]] = value
    return doc


def wrong_type(v):
    if isinstance(v, bool) or isinstance(v, (int, float)) or v is None:
        return "not-a-number"
    if isinstance(v, str):
        return 5
    return 5


def check(binary, text, tmp, command="check", **env_over):
    path = os.path.join(tmp, "cutover.json")
    with open(path, "w") as f:
        f.write(text)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "MONGODB_", "CUTOVER_"))}
    env.update({"JWT_SECRET": "check-test-secret-not-real-0000", "DATABASE_URL": "sqlite:///tmp/none.sqlite3"})
    env.pop("CUTOVER_CHECK_TEST_UNSET", None)
    for k, v in env_over.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    r = subprocess.run([binary, command, "-c", path], env=env, capture_output=True, text=True, timeout=60)
    return r.returncode, r.stdout + r.stderr


def declared(binary):
    """(section or None, name, type, default) of every declared key."""
    out = subprocess.run([binary, "check", "--keys"], capture_output=True, text=True, check=True).stdout
    keys = []
    for line in out.splitlines()[1:]:
        f = line.split()
        section, _, name = f[0].rpartition(".")
        keys.append((section or None, name, f[1], f[3]))
    return keys


def with_every_key(binary, doc):
    """doc, and a valid value for each scalar key it lacks: its default."""
    doc = json.loads(json.dumps(doc))
    added = 0
    for section, name, typ, default in declared(binary):
        if typ == "other":
            continue
        value = json.loads(default) if default != "-" else ("x" if typ == "string" else 0)
        if section is None:
            target = doc
        else:
            target = doc.setdefault(section, {})
            if not isinstance(target, dict):
                continue
        if name not in target:
            target[name] = value
            added += 1
    return doc, added


def test_every_key(binary):
    with open(CONFIG) as f:
        doc, added = with_every_key(binary, json.load(f))
    assert added >= 10, added          # the example does not give every key
    tmp = tempfile.mkdtemp(prefix="cutover-check-")
    eq(check(binary, dump(doc), tmp)[0], 0, "every key at its default is a valid configuration")
    runs = refused = 0
    failures = []
    for path, value in leaves(doc):
        if not path:
            continue
        where = "/".join(map(str, path))
        variants = [("wrong type", dump(replaced(doc, path, wrong_type(value))), False)]
        if isinstance(value, str):
            variants.append(("unset variable", dump(replaced(doc, path, UNSET)), True))
        if isinstance(path[-1], str):
            variants.append(("duplicate", dump(doc, dup=path), True))
        for what, text, must_refuse in variants:
            rc, out = check(binary, text, tmp)
            runs += 1
            if rc < 0 or rc not in (0, 1):
                failures.append("%s %s: exit %d\n%s" % (where, what, rc, out[-500:]))
            elif rc == 1:
                refused += 1
                if not POSITIONED.search(out):
                    failures.append("%s %s: no file:line:column in\n%s" % (where, what, out[-500:]))
            elif must_refuse:
                failures.append("%s %s: accepted" % (where, what))
            if "AddressSanitizer" in out or "runtime error" in out:
                failures.append("%s %s: sanitizer report\n%s" % (where, what, out[-2000:]))
    print("     %d configurations checked, %d refused" % (runs, refused), flush=True)
    assert not failures, "\n".join(failures[:20])
    assert refused > runs * 0.8, (runs, refused)


def position(text, key):
    """line:column where the loader places key's value in text: just past it."""
    for n, line in enumerate(text.splitlines(), 1):
        if line.startswith(json.dumps(key) + ": "):
            return n, len(line.rstrip(",}")) + 1
    raise AssertionError("no %s in %s" % (key, text))


def test_checked_values(binary):
    tmp = tempfile.mkdtemp(prefix="cutover-check-")
    base = {"database_url": "sqlite:///tmp/none.sqlite3", "resources": []}
    mongo = "; the forms: mongodb://user:password@host:27017/db or mongodb+srv://host/db"
    legacy = ("; the forms: sqlite:///path/to/db.sqlite3 (sqlite://relative/path.sqlite3), "
              "postgres://user:password@host:5432/db or postgresql://\u2026, mongodb://user:password@host:27017/db "
              "or mongodb+srv://host/db")
    cases = [
        ({"mode": "bogus"}, 'mode "bogus" is not one of legacy, dual-write'),
        ({"listen": "1.2.3.4:99999"}, 'listen address "1.2.3.4:99999" needs a port from 1 to 65535'),
        ({"listen": "no such/host:80"}, 'listen address "no such/host:80" has a host that is no address'),
        ({"listen": "[::1:80"}, 'listen address "[::1:80" has a host that is no IPv6 address'),
        # every form the stores refuse, each with the forms its role takes
        ({"database_url": "nonsense"}, '"database_url": "nonsense" is no store URL' + legacy),
        ({"database_url": "mysql://x/y"}, '"database_url": "mysql://x/y" is no store URL' + legacy),
        ({"database_url": "/var/db/app.sqlite3"}, '"database_url": "/var/db/app.sqlite3" is no store URL' + legacy),
        ({"database_url": "sqlite:app.db"}, '"database_url": "sqlite:app.db" is no store URL' + legacy),
        ({"mongodb_uri": "mysql://x/y"}, '"mongodb_uri": "mysql://x/y" is no MongoDB server' + mongo),
        ({"mongodb_uri": "http://x"}, '"mongodb_uri": "http://x" is no MongoDB server' + mongo),
        ({"mongodb_uri": "sqlite:///x.db"}, '"mongodb_uri": "sqlite:///x.db" is no MongoDB server' + mongo),
        ({"mongodb_uri": "postgres://h/db"}, '"mongodb_uri": "postgres://h/db" is no MongoDB server' + mongo),
    ]
    for over, want in cases:
        text = dump(dict(base, **over))
        for command in ("check", "serve"):        # refused alike: serve never starts on what check passed
            rc, out = check(binary, text, tmp, command, DATABASE_URL=None)
            eq(rc, 1, out)
            assert "cutover.json:%d:%d: %s" % (position(text, *over) + (want,)) in out, (command, want, out)
    for good in ("127.0.0.1:0", "[::1]:8080", "localhost:65535", ":8080"):
        rc, out = check(binary, dump(dict(base, listen=good)), tmp, DATABASE_URL=None)
        eq(rc, 0, (good, out))
    # Given by a variable: the variable named, as there is no position.
    rc, out = check(binary, dump(base), tmp, DATABASE_URL="nonsense", CUTOVER_LISTEN="x:70000")
    eq(rc, 1, out)
    assert 'DATABASE_URL (from the environment): "database_url": "nonsense" is no store URL' in out, out
    assert 'CUTOVER_LISTEN (from the environment): listen address "x:70000" needs a port' in out, out
    # A 10 MB value is named by its first bytes, not echoed whole (the
    # stores' message keeps 64 of them).
    for key, quoted in (("mode", '"' + "v" * 80 + '\u2026"'), ("listen", '"' + "v" * 80 + '\u2026"'),
                        ("database_url", '"' + "v" * 64 + '\u2026"')):
        rc, out = check(binary, dump(dict(base, **{key: "v" * (10 << 20)})), tmp, DATABASE_URL=None)
        eq(rc, 1, out[:500])
        assert len(out) < 1000 and quoted in out, out[:2000]


def main():
    binary = binary_arg()
    runner = Runner()
    print("== cutover check, every key", flush=True)
    runner.run([test_every_key], binary)
    print("== cutover check, values judged after the environment", flush=True)
    runner.run([test_checked_values], binary)
    return runner.finish()


if __name__ == "__main__":
    sys.exit(main())
