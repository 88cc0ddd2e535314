#!/usr/bin/env python3
"""Modes, shadow reads, dual writes and the journal (docs/design.md §3, §8, §9):
the real gateway on a real SQLite file and the real MongoDB-compatible
server, both inspected behind the gateway's back (sqlite3, Node.js driver).
"""
import argparse
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid

sys.path.insert(0, os.path.dirname(__file__))
from harness import ADMIN_TOKEN, Gateway, Runner, eq, make_token, stop_clean  # noqa: E402
from mongo import Mongo  # noqa: E402

T1 = make_token(1)
MODES = ["legacy", "dual-write", "shadow", "live", "rampdown", "mongodb"]
LEGACY_FIRST = {"legacy", "dual-write", "shadow"}
# mongodb mode keeps the legacy store up in the background (rollback_copy,
# on by default), so a flip back loses nothing.
WRITES_LEGACY = {"legacy", "dual-write", "shadow", "live", "rampdown", "mongodb"}
WRITES_MONGO = {"dual-write", "shadow", "live", "rampdown", "mongodb"}
COMPARES = {"shadow": "mongodb", "live": "legacy"}


def invoice(n, **over):
    doc = {"invoice_number": "M-%05d" % n, "client_name": "Client %d" % n, "issue_date": "2025-11-01",
           "total_amount": "%d.25" % n, "items": [{"description": "Widget", "unit_price": "5.00", "amount": "10.00",
                                                   "quantity": "2", "position": 0}]}
    doc.update(over)
    return doc


def create(gw, n, token=T1, **over):
    r = gw.request("POST", "/api/invoices/", invoice(n, **over), token)
    eq(r.status, 201, r.text)
    return r.json()


def wait_journal_empty(gw, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        st, j = gw.admin("GET", "journal")
        if st == 200 and j["depth"] == 0:
            return
        time.sleep(0.1)
    raise AssertionError("journal did not drain: %r" % (gw.admin("GET", "journal"),))


def route(gw, name="invoices"):
    st, body = gw.admin("GET", "routes/" + name)
    eq(st, 200)
    return body


def in_legacy(gw, inv_id):
    return gw.sql("SELECT COUNT(*) FROM invoices_invoice WHERE id=?", (inv_id.replace("-", ""),))[0][0] == 1


def in_mongo(gw, inv_id):
    return gw.docs("return await db.collection('invoices').countDocuments({_id: %s});" % json.dumps(inv_id)) == 1


def legacy_only(gw, n):
    """A row written straight into the legacy store, as the old application would."""
    inv = uuid.uuid4()
    gw.sql("INSERT INTO invoices_invoice VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
           (inv.hex, "L-%d" % n, "Legacy only", "", "2025-11-01", None, "sent", 1, 0, 1, "INR", "",
            "2026-01-01 00:00:00", "2026-01-01 00:00:00", 1))
    return str(inv)


def mongo_only(gw, n):
    inv = str(uuid.uuid4())
    gw.docs("""const {Long} = require('mongodb');
await db.collection('invoices').insertOne({_id: %s, invoice_number: 'D-%d', client_name: 'Mongo only',
  client_email: '', issue_date: new Date('2025-11-01T00:00:00Z'), due_date: null, status: 'sent',
  subtotal: Long.fromNumber(100), tax_amount: Long.fromNumber(0), total_amount: Long.fromNumber(100),
  currency: 'INR', notes: '', items: [], created_at: new Date('2026-01-01T00:00:00Z'),
  updated_at: new Date('2026-01-01T00:00:00Z'), user_id: 1});""" % (json.dumps(inv), n))
    return inv


def both_stores(gw):
    """Every invoice, as the API renders it, from each store: (legacy, mongodb)."""
    out = []
    for mode in ("legacy", "mongodb"):
        flip(gw, "invoices", mode)
        docs, url = [], "/api/invoices/"
        while url:
            r = gw.request("GET", url, token=T1)
            eq(r.status, 200, r.text)
            body = r.json()
            docs += body["results"]
            url = body["next"] and body["next"].split("%d" % gw.port, 1)[1]
        out.append(sorted(docs, key=lambda d: d["id"]))
    return out


# --- every mode ---------------------------------------------------------------------

def check_mode(gw, mode, n):
    # These suites are about what each mode does; the readiness gate has
    # its own tests (test_readiness_gate), so their flips are forced.
    eq(gw.admin("PUT", "mode", {"mode": mode, "force": True}), (200, {"mode": mode}))
    eq(route(gw)["mode"], mode)
    # which store is written
    got = create(gw, n)
    wait_journal_empty(gw)
    eq((in_legacy(gw, got["id"]), in_mongo(gw, got["id"])), (mode in WRITES_LEGACY, mode in WRITES_MONGO), mode)
    # an update and a delete reach the same stores
    r = gw.request("PATCH", "/api/invoices/%s/" % got["id"], {"client_name": "Patched"}, T1)
    eq(r.status, 200, r.text)
    wait_journal_empty(gw)
    if mode in WRITES_LEGACY:
        eq(gw.sql("SELECT client_name FROM invoices_invoice WHERE id=?", (got["id"].replace("-", ""),)),
           [("Patched",)])
    if mode in WRITES_MONGO:
        eq(gw.docs("return (await db.collection('invoices').findOne({_id: %s})).client_name;"
                   % json.dumps(got["id"])), "Patched")
    # which store answers
    lo, mo = legacy_only(gw, n), mongo_only(gw, n)
    legacy_first = mode in LEGACY_FIRST
    before = route(gw)
    eq(gw.request("GET", "/api/invoices/%s/" % lo, token=T1).status, 200 if legacy_first else 404, mode)
    eq(gw.request("GET", "/api/invoices/%s/" % mo, token=T1).status, 404 if legacy_first else 200, mode)
    eq(gw.request("GET", "/api/invoices/%s/" % got["id"], token=T1).status, 200)
    # what is compared: both one-store reads differ from the other store
    if mode in COMPARES:
        deadline = time.time() + 10
        while time.time() < deadline and route(gw)["compared"] - before["compared"] < 3:
            time.sleep(0.05)
        after = route(gw)
        eq(after["compared"] - before["compared"], 3, mode)
        eq(after["mismatched"] - before["mismatched"], 2, mode)     # the one-store records
        other = COMPARES[mode]
        assert after["latency_ms"][other]["calls"] > before["latency_ms"][other]["calls"], after
    else:
        time.sleep(0.3)
        eq(route(gw)["compared"], before["compared"], mode)
    r = gw.request("DELETE", "/api/invoices/%s/" % got["id"], token=T1)
    eq(r.status, 204)
    wait_journal_empty(gw)
    eq((in_legacy(gw, got["id"]), in_mongo(gw, got["id"])), (False, False), mode)
    for inv in (lo, mo):
        gw.sql("DELETE FROM invoices_invoice WHERE id=?", (inv.replace("-", ""),))
        gw.docs("await db.collection('invoices').deleteOne({_id: %s});" % json.dumps(inv))


def test_every_mode(gw):
    for i, mode in enumerate(MODES):
        check_mode(gw, mode, 100 + i)
    eq(gw.admin("PUT", "mode", {"mode": "shadow"})[0], 200)


def test_route_override_and_admin_errors(gw):
    eq(gw.admin("PUT", "routes/payments", {"mode": "live", "sample": 25, "force": True})[0], 200)
    p = route(gw, "payments")
    eq((p["mode"], p["mode_source"], p["sample"]), ("live", "route", 25))
    eq(route(gw)["mode_source"], "global")
    eq(gw.admin("PUT", "routes/payments", {"mode": None})[0], 200)
    eq(route(gw, "payments")["mode_source"], "global")
    eq(gw.admin("PUT", "routes/nope", {"mode": "live"})[0], 404)
    eq(gw.admin("PUT", "routes/invoices", {"mode": "sideways"})[0], 400)
    eq(gw.admin("PUT", "routes/invoices", {"sample": 101})[0], 400)
    r = gw.request("GET", "/_cutover/routes", headers={"Authorization": "Bearer wrong"})
    eq(r.status, 401)
    eq(gw.request("GET", "/_cutover/routes").status, 401)
    for near in (ADMIN_TOKEN[:-1], ADMIN_TOKEN + "x", ADMIN_TOKEN[:-1] + "x", "x"):
        eq(gw.request("GET", "/_cutover/routes", headers={"Authorization": "Bearer " + near}).status, 401, near)
    eq(gw.request("GET", "/_cutover/health").status, 200)
    # A route's name is the whole segment: nothing after it, nothing above it.
    eq(gw.admin("PUT", "routes/invoices/x", {"mode": "live", "force": True})[0], 404)
    eq(gw.admin("PUT", "routes/invoices/../payments", {"mode": "live", "force": True})[0], 200)
    eq((route(gw)["mode_source"], route(gw, "payments")["mode"]), ("global", "live"))
    eq(gw.admin("PUT", "routes/payments/", {"mode": None})[0], 200)
    eq(route(gw, "payments")["mode_source"], "global")


def test_mismatch_with_patch(gw):
    """A document edited behind the gateway's back: a mismatch with the exact
    JSON Patch, and the route is not ready."""
    eq(gw.admin("PUT", "mode", {"mode": "shadow"})[0], 200)
    got = create(gw, 300)
    wait_journal_empty(gw)
    gw.docs("await db.collection('invoices').updateOne({_id: %s}, {$set: {client_name: 'Edited', "
            "'items.0.description': 'Gadget'}});" % json.dumps(got["id"]))
    before = route(gw)
    r = gw.request("GET", "/api/invoices/%s/" % got["id"], token=T1)
    eq(r.status, 200)
    eq(r.json()["client_name"], "Client 300")      # the client sees the authoritative answer
    deadline = time.time() + 10
    while time.time() < deadline and route(gw)["mismatched"] == before["mismatched"]:
        time.sleep(0.05)
    after = route(gw)
    eq(after["mismatched"], before["mismatched"] + 1)
    eq((after["ready"], after["readiness"]), (False, "not ready: unexplained mismatches"))
    assert after["mismatched_paths"].get("/client_name", 0) >= 1, after["mismatched_paths"]
    st, mm = gw.admin("GET", "mismatches?route=invoices&limit=1")
    eq(st, 200)
    m = mm[0]
    eq((m["method"], m["url"], m["principal"]), ("GET", "/api/invoices/%s/" % got["id"], 1))
    eq(m["authoritative"]["status"], 200)
    eq(json.loads(m["authoritative"]["body"]), r.json())
    eq(m["patch"], [{"op": "replace", "path": "/client_name", "value": "Edited"},
                    {"op": "replace", "path": "/items/0/description", "value": "Gadget"}])


def test_modes_persist_and_reach_other_instances(gw):
    """A flip is kept in the control store: a second instance on the same
    stores follows it within two seconds, and a restart keeps it."""
    other = Gateway(gw.binary, mongo=gw.mongo, mode="legacy", same_as=gw)
    try:
        eq(other.admin("GET", "routes/invoices")[1]["mode"], route(gw)["mode"])
        eq(gw.admin("PUT", "routes/invoices", {"mode": "live", "force": True})[0], 200)
        deadline = time.time() + 2.0
        while time.time() < deadline and other.admin("GET", "routes/invoices")[1]["mode"] != "live":
            time.sleep(0.05)
        eq(other.admin("GET", "routes/invoices")[1]["mode"], "live")
    finally:
        problems, log = other.stop()
    eq(problems, [], log[-2000:])
    eq(gw.admin("PUT", "routes/invoices", {"mode": None})[0], 200)


def mixed_writes(gw, n0, count):
    """Creates, updates and deletes; every one must succeed."""
    made = []
    for i in range(count):
        made.append(create(gw, n0 + i)["id"])
        if i % 3 == 1:
            r = gw.request("PUT", "/api/invoices/%s/" % made[-2], invoice(n0 + i - 1, client_name="Put %d" % i,
                                                                          items=[]), T1)
            eq(r.status, 200, r.text)
        if i % 5 == 4:
            eq(gw.request("DELETE", "/api/invoices/%s/" % made.pop(0), token=T1).status, 204)
        eq(gw.request("GET", "/api/invoices/", token=T1).status, 200)
    return made


def die_with_entries(gw, mongo, n0):
    """MongoDB killed, six writes journaled, the gateway killed, MongoDB
    back: returns how many entries the gateway left."""
    mongo.stop(signal.SIGKILL)
    mixed_writes(gw, n0, 6)
    depth = gw.admin("GET", "journal")[1]["depth"]
    assert depth >= 6, depth
    gw.kill()
    mongo.start()
    return depth


def test_nothing_lost_when_mongodb_dies(binary, mongo):
    """MongoDB killed (SIGKILL) in shadow: clients see no error, the journal
    grows; MongoDB back: the journal drains by itself and the stores are
    identical.  Then the gateway itself is killed with entries in its
    journal: a new gateway on the same journal applies them."""
    gw = Gateway(binary, mongo=mongo, mode="shadow", config={"store_threads": 4, "shadow": {"timeout_ms": 500}})
    try:
        mixed_writes(gw, 1000, 5)
        wait_journal_empty(gw)
        mongo.stop(signal.SIGKILL)
        mixed_writes(gw, 2000, 15)
        st, j = gw.admin("GET", "journal")
        assert j["depth"] >= 10, j
        assert j["entries"][0]["from"] == "legacy", j
        mongo.start()
        wait_journal_empty(gw, timeout=60)
        legacy, docs = both_stores(gw)
        eq(len(legacy), 5 - 1 + 15 - 3)
        eq(docs, legacy)
        flip(gw, "invoices", "shadow")
        # the gateway dies with entries not applied; restarted, it applies them
        die_with_entries(gw, mongo, 3000)
        gw = Gateway(binary, mongo=mongo, mode="shadow", same_as=gw)
        assert "entries to apply from an earlier run" in gw.read_log(), gw.read_log()
        wait_journal_empty(gw, timeout=60)
        legacy, docs = both_stores(gw)
        eq(len(legacy), 5 - 1 + 15 - 3 + 6 - 1)
        eq(docs, legacy)
        # once more, with the journal applied by hand (cutover repair --journal)
        flip(gw, "invoices", "shadow")
        depth = die_with_entries(gw, mongo, 4000)
        import subprocess
        r = subprocess.run([binary, "repair", "--journal", "-c", gw.cfg_path], env=gw.env, capture_output=True,
                           text=True, timeout=120)
        eq(r.returncode, 0, r.stdout + r.stderr)
        assert "journal had %d entries: %d applied, 0 failed, 0 left" % (depth, depth) in r.stdout, r.stdout
        gw = Gateway(binary, mongo=mongo, mode="shadow", same_as=gw)
        legacy, docs = both_stores(gw)
        eq(len(legacy), 5 - 1 + 15 - 3 + 6 - 1 + 6 - 1)
        eq(docs, legacy)
    finally:
        problems, log = gw.stop()
    eq(problems, [], log[-3000:])


def stop_all(*gateways):
    """Stop every gateway started (None: not started); fail on any unclean stop."""
    problems = []
    for g in gateways:
        if g:
            p, log = g.stop()
            problems += [(x, log[-2000:]) for x in p]
    eq(problems, [])


def flip(gw, name, mode, timeout=30):
    """Flip a route and wait until the flip has taken effect (a flip that
    hands the route to the other store waits for pending writes).  Forced:
    the load tests flip at once, ready or not (the gate has its own test)."""
    st, body = gw.admin("PUT", "routes/" + name, {"mode": mode, "force": True})
    assert st in (200, 202), (st, body)
    deadline = time.time() + timeout
    while route(gw, name)["mode"] != mode:
        assert time.time() < deadline, (route(gw, name), gw.admin("GET", "journal"),
                                        [l for l in gw.read_log().splitlines() if '"method"' not in l][-15:])
        if os.environ.get("FLIP_DEBUG"):
            j = gw.admin("GET", "journal")[1]
            print("    waiting: depth %d %s" % (j["depth"], [(e["seq"], e["attempts"]) for e in j["entries"]]))
            time.sleep(1)
        time.sleep(0.02)


def flip_global(gw, mode, timeout=30):
    """Flip the global mode and wait until the routes that follow it are in
    it (one with writes pending follows once they are in both stores)."""
    st, body = gw.admin("PUT", "mode", {"mode": mode, "force": True})
    assert st in (200, 202), (st, body)
    eq(body["mode"], mode)
    deadline = time.time() + timeout
    while route(gw)["mode"] != mode:
        assert time.time() < deadline, (route(gw), gw.admin("GET", "journal"))
        time.sleep(0.02)


def test_zero_downtime_flips_under_load(binary, mongo):
    """Readers and writers run without pause while the route goes legacy →
    dual-write → (migrate) → shadow → live → rampdown → mongodb → shadow,
    and back to legacy as they stop: no request fails, and the stores end
    up identical, record by record."""
    flips_under_load(binary, mongo, lambda gw, mode: flip(gw, "invoices", mode))


def test_zero_downtime_global_flips_under_load(binary, mongo):
    """The same with the global mode flipped instead of the route's."""
    flips_under_load(binary, mongo, flip_global)


def test_global_flip_waits_for_pending_writes(binary, mongo):
    """A global flip from shadow to live while a write's copy to MongoDB is
    still pending: the global mode changes at once, the route keeps shadow
    (answering from the legacy store, which has the write) until the copy is
    in, and then reads MongoDB, which has it too."""
    gw = Gateway(binary, mongo=mongo, mode="shadow", config={"shadow": {"timeout_ms": 300}})
    try:
        inv = create(gw, 700)
        wait_journal_empty(gw)
        os.kill(mongo.proc.pid, signal.SIGSTOP)
        try:
            r = gw.request("PATCH", "/api/invoices/%s/" % inv["id"], {"client_name": "Written while away"}, T1)
            eq(r.status, 200, r.text)
            eq(gw.admin("GET", "journal")[1]["depth"], 1)       # the copy waits in the journal
            st, body = gw.admin("PUT", "mode", {"mode": "live", "force": True})
            eq((st, body), (202, {"mode": "live"}))
            rt = route(gw)
            eq((rt["mode"], rt["pending_mode"]), ("shadow", "global"))
            r = gw.request("GET", "/api/invoices/%s/" % inv["id"], token=T1)
            eq(r.json()["client_name"], "Written while away")
        finally:
            os.kill(mongo.proc.pid, signal.SIGCONT)
        deadline = time.time() + 30
        while route(gw)["mode"] != "live":
            assert time.time() < deadline, (route(gw), gw.admin("GET", "journal"))
            time.sleep(0.05)
        eq(route(gw)["mode_source"], "global")
        r = gw.request("GET", "/api/invoices/%s/" % inv["id"], token=T1)
        eq(r.json()["client_name"], "Written while away")
        assert "global mode live; routes with writes pending follow" in gw.read_log()
    finally:
        problems, log = gw.stop()
    eq(problems, [], log[-3000:])


def test_readiness_gate(binary, mongo):
    """shadow → live is refused for a route that is not ready, for each
    reason in turn, and allowed once it is; the global mode too; --force
    (API and CLI) passes the gate and is logged with who forced it; flips
    back towards the legacy store are never refused."""
    import subprocess
    gw = Gateway(binary, mongo=mongo, mode="shadow",
                 config={"readiness": {"min_comparisons": 5, "window_seconds": 3, "max_latency_ms": 250},
                         "shadow": {"timeout_ms": 300}})

    def to_live(**extra):
        return gw.admin("PUT", "routes/invoices", dict({"mode": "live"}, **extra))

    def refused(why):
        st, body = to_live()
        eq(st, 409, body)
        assert body["detail"].startswith("invoices is not ready for live: " + why), body
        assert body["detail"].endswith('Flip with "force": true to override.'), body
        eq(route(gw)["mode"], "shadow")
        return body["detail"]

    def compared_at_least(n):
        deadline = time.time() + 15
        while route(gw)["compared"] < n:
            assert time.time() < deadline, route(gw)
            time.sleep(0.05)

    def ready_again():
        deadline = time.time() + 20
        while not route(gw)["ready"]:
            assert time.time() < deadline, route(gw)
            gw.request("GET", "/api/invoices/%s/" % inv["id"], token=T1)
            time.sleep(0.2)

    try:
        inv = create(gw, 800)
        wait_journal_empty(gw)
        def plan():
            r = subprocess.run([binary, "plan", "-c", gw.cfg_path], capture_output=True, text=True, timeout=30,
                               env=dict(gw.env, CUTOVER_ADMIN_URL="127.0.0.1:%d" % gw.port))
            eq(r.returncode, 0, r.stderr)
            return r.stdout

        # too few comparisons; the global mode is gated route by route
        assert "0 comparisons of 5 needed" in refused("too few comparisons")
        out = plan()
        assert re.search(r"^invoices +shadow -> live +not ready: too few comparisons \(0 comparisons of 5 "
                         r"needed\)\n +when it is ready: cutover mode -c \S+ invoices live\n +checks: comparisons NOT "
                         r"\(0 of 5 needed\); mismatches ok \(none unexplained in the last 3 s\); copies ok "
                         r"\(0 writes waiting to be copied\); secondary_p99 ok \(0\.0 ms, the bound 250 ms\)$",
                         out, re.M), out
        st, body = gw.admin("PUT", "mode", {"mode": "live"})
        eq(st, 409, body)
        assert "invoices is not ready for live" in body["detail"] and "payments is not ready for live" in \
            body["detail"], body
        eq(gw.admin("GET", "mode")[1]["mode"], "shadow")
        for _ in range(6):
            eq(gw.request("GET", "/api/invoices/%s/" % inv["id"], token=T1).status, 200)
        compared_at_least(6)
        eq(route(gw)["ready"], True)
        # an unexplained mismatch, within the window
        gw.docs("await db.collection('invoices').updateOne({_id: %s}, {$set: {client_name: 'Edited'}});"
                % json.dumps(inv["id"]))
        gw.request("GET", "/api/invoices/%s/" % inv["id"], token=T1)
        compared_at_least(7)
        assert "1 unexplained mismatch, the last" in refused("unexplained mismatches")
        gw.docs("await db.collection('invoices').updateOne({_id: %s}, {$set: {client_name: %s}});"
                % (json.dumps(inv["id"]), json.dumps(inv["client_name"])))
        ready_again()                   # the window passed, the stores agree again
        # a write not yet copied
        os.kill(mongo.proc.pid, signal.SIGSTOP)
        try:
            eq(gw.request("PATCH", "/api/invoices/%s/" % inv["id"], {"notes": "away"}, T1).status, 200)
            assert "1 writes not yet in the secondary store" in refused("writes not yet copied")
        finally:
            os.kill(mongo.proc.pid, signal.SIGCONT)
        wait_journal_empty(gw)
        ready_again()
        # ready: the plan says so, and the flip is allowed
        assert re.search(r"^invoices +shadow -> live +ready \(\d+ comparisons, no unexplained mismatch in 3 s, "
                         r"nothing to copy, secondary p99 [\d.]+ ms\)\n +cutover mode -c \S+ invoices live$", plan(), re.M)
        eq(to_live()[0], 200)
        eq(route(gw)["mode"], "live")
        assert re.search(r"^invoices +live -> rampdown", plan(), re.M)
        # flips back are never refused, ready or not: an edit behind the
        # gateway's back makes live's comparison (against the legacy store) differ
        gw.sql("UPDATE invoices_invoice SET client_name='Edited in SQL' WHERE id=?", (inv["id"].replace("-", ""),))
        gw.request("GET", "/api/invoices/%s/" % inv["id"], token=T1)
        deadline = time.time() + 10
        while route(gw)["ready"]:
            assert time.time() < deadline, route(gw)
            time.sleep(0.05)
        eq(gw.admin("PUT", "routes/invoices", {"mode": "shadow"})[0], 200)
        # forced past the gate, through the API and the CLI, logged with who
        refused("unexplained mismatches")
        st, body = to_live(force=True, by="alice")
        eq((st, body["mode"]), (200, "live"))
        assert re.search(r"readiness overridden \(forced by alice from 127\.0\.0\.1\): invoices is not ready for "
                         r"live: unexplained mismatches", gw.read_log()), gw.read_log()[-2000:]
        eq(gw.admin("PUT", "routes/invoices", {"mode": "legacy"})[0], 200)
        # straight from legacy to shadow is gated too (nothing reached MongoDB meanwhile)
        eq(gw.admin("PUT", "routes/invoices", {"mode": "shadow"})[0], 409)
        eq(gw.admin("PUT", "routes/invoices", {"mode": "shadow", "force": True})[0], 200)
        env = dict(gw.env, USER="bob", CUTOVER_ADMIN_URL="127.0.0.1:%d" % gw.port)
        r = subprocess.run([binary, "mode", "-c", gw.cfg_path, "invoices", "live"], env=env, capture_output=True,
                           text=True, timeout=30)
        eq(r.returncode, 1, r.stdout + r.stderr)
        assert "invoices is not ready for live: unexplained mismatches" in r.stderr, r.stderr
        assert r.stderr.rstrip().endswith("Run it again with --force to override.") and '"force"' not in r.stderr, \
            r.stderr
        r = subprocess.run([binary, "mode", "-c", gw.cfg_path, "invoices", "live", "--force"], env=env,
                           capture_output=True, text=True, timeout=30)
        eq(r.returncode, 0, r.stdout + r.stderr)
        eq(route(gw)["mode"], "live")
        assert "forced by bob from 127.0.0.1" in gw.read_log()
        eq(gw.admin("PUT", "routes/invoices", {"mode": None})[0], 200)
    finally:
        problems, log = gw.stop()
    eq(problems, [], log[-3000:])
    # a slow secondary: its p99 over the bound
    gw = Gateway(binary, mongo=mongo, mode="shadow", extra_env={"CUTOVER_TEST_SHADOW_DELAY_MS": "5"},
                 config={"readiness": {"min_comparisons": 2, "max_latency_ms": 1}})
    try:
        inv = create(gw, 801)
        for _ in range(3):
            gw.request("GET", "/api/invoices/%s/" % inv["id"], token=T1)
        compared_at_least(3)
        assert re.search(r"\(secondary p99 \d+\.\d ms, over 1 ms\)", refused("secondary latency over the bound"))
    finally:
        problems, log = gw.stop()
    eq(problems, [], log[-3000:])


def test_fallback_under_load(binary, mongo):
    """A route in live on two instances sharing the control store, under
    reads and writes; the MongoDB server stops (SIGSTOP) for a few seconds:
    the route falls back to shadow by itself on both, says why, no client
    request fails, and it stays in shadow afterwards."""
    cfg = {"fallback": {"window_seconds": 20, "min_requests": 5}, "store_threads": 4}
    gw = Gateway(binary, mongo=mongo, mode="live", config=cfg)
    other = None
    try:
        other = Gateway(binary, mongo=mongo, mode="live", same_as=gw, config=cfg)
        fallback_under_load(gw, other, mongo)
    finally:
        stop_all(other, gw)


def fallback_under_load(gw, other, mongo):
    stop = threading.Event()
    failures, counts = [], {"requests": 0}
    lock = threading.Lock()

    def worker(k, g):
        mine, n = [], 0
        while not stop.is_set():
            n += 1
            try:
                if n % 3 == 0 or not mine:
                    r = g.request("POST", "/api/invoices/", invoice(20000 * (k + 1) + n), T1)
                    ok = r.status == 201
                    if ok:
                        mine.append(r.json()["id"])
                else:
                    r = g.request("GET", "/api/invoices/%s/" % mine[-1], token=T1)
                    ok = r.status == 200
                with lock:
                    counts["requests"] += 1
                    if not ok:
                        failures.append((r.status, r.text[:200]))
            except Exception as e:      # noqa: BLE001 - a failed request, reported below
                with lock:
                    failures.append(("exception", repr(e)))
            time.sleep(0.02)

    threads = [threading.Thread(target=worker, args=(k, g)) for k, g in enumerate((gw, other, gw))]
    try:
        for t in threads:
            t.start()
        time.sleep(2)
        eq((route(gw)["mode"], route(other)["mode"]), ("live", "live"))
        os.kill(mongo.proc.pid, signal.SIGSTOP)
        try:
            time.sleep(4)
        finally:
            os.kill(mongo.proc.pid, signal.SIGCONT)
        deadline = time.time() + 30
        while route(gw)["mode"] != "shadow" or route(other)["mode"] != "shadow":
            assert time.time() < deadline, (route(gw), route(other))
            time.sleep(0.1)
        time.sleep(3)                   # the load goes on, MongoDB answers again: it stays in shadow
        eq((route(gw)["mode"], route(other)["mode"]), ("shadow", "shadow"))
        # A person flips it back: it is judged on MongoDB from then on, not
        # on the stall that is still in the window.
        assert gw.admin("PUT", "routes/invoices", {"mode": "live", "force": True})[0] in (200, 202)
        follow = time.time() + 15
        while route(gw)["mode"] != "live" or route(other)["mode"] != "live":
            assert time.time() < follow, (route(gw), route(other))
            time.sleep(0.05)
        time.sleep(2)
        eq((route(gw)["mode"], route(other)["mode"]), ("live", "live"))
        assert gw.admin("PUT", "routes/invoices", {"mode": "shadow"})[0] in (200, 202)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
    eq(failures, [])
    assert counts["requests"] > 50, counts
    print("     %(requests)d requests across the stall" % counts)
    for g in (gw, other):
        deadline = time.time() + 15
        while route(g)["mode"] != "shadow":
            assert time.time() < deadline, route(g)
            time.sleep(0.05)
        eq(route(g)["mode_source"], "route")
    fell = [g for g in (gw, other) if route(g)["fallback"]]
    assert fell, (route(gw), route(other))
    eq(route(fell[0])["fallbacks"], 1)
    assert "MongoDB" in route(fell[0])["fallback"]["reason"], route(fell[0])
    assert re.search(r"fallback: invoices from live to shadow, by itself: .*MongoDB", fell[0].read_log())
    smp = gw.request("GET", "/_cutover/metrics", headers={"Authorization": "Bearer " + ADMIN_TOKEN}).text
    assert re.search(r'^cutover_fallbacks_total\{route="invoices"\} %d$' % route(gw)["fallbacks"], smp, re.M)


def test_flip_before_migrate_is_gated(binary, mongo):
    """A route whose records are not in MongoDB yet: dual-write is allowed,
    a flip to shadow (or further) is refused, naming cutover migrate, and
    plan says how many are there; forced, it is logged; once migrate has
    copied them the flip is allowed."""
    gw = Gateway(binary, mongo=mongo, mode="legacy")
    try:
        for n in range(3):
            create(gw, 9500 + n)
        # from legacy nothing reached MongoDB: the way is dual-write, then the copy
        st, body = gw.admin("PUT", "routes/invoices", {"mode": "shadow"})
        eq(st, 409, body)
        assert body["detail"].startswith("invoices is not ready for shadow: not copied to MongoDB (in legacy its "
                                         "writes do not reach MongoDB: first cutover mode invoices dual-write, then "
                                         "cutover migrate --resource invoices)"), body
        eq(route(gw)["copy"], None)         # legacy mode does not look at MongoDB
        eq(gw.admin("PUT", "routes/invoices", {"mode": "dual-write"})[0], 200)
        deadline = time.time() + 15         # counted every 5 s in dual-write
        while not route(gw)["copy"]:
            assert time.time() < deadline, route(gw)
            time.sleep(0.1)
        eq((route(gw)["copy"]["legacy"], route(gw)["copy"]["mongodb"]), (3, 0))
        for to in ("shadow", "live"):
            st, body = gw.admin("PUT", "routes/invoices", {"mode": to})
            eq(st, 409, body)
            assert body["detail"].startswith("invoices is not ready for %s: not copied to MongoDB (MongoDB holds "
                                             "0 of the legacy store's 3 records: copy them first, cutover migrate "
                                             "--resource invoices). Flip with" % to), body
        eq(route(gw)["mode"], "dual-write")
        env = dict(gw.env, CUTOVER_ADMIN_URL="127.0.0.1:%d" % gw.port)
        r = subprocess.run([binary, "plan", "-c", gw.cfg_path], env=env, capture_output=True, text=True, timeout=30)
        assert re.search(r"^invoices +dual-write -> shadow +MongoDB holds 0 of the legacy store's 3 records "
                         r"\(counted [\d.]+ s ago\); copy the rows", r.stdout, re.M), r.stdout
        st, body = gw.admin("PUT", "routes/invoices", {"mode": "shadow", "force": True, "by": "dana"})
        eq(st, 200, body)
        assert "readiness overridden (forced by dana from 127.0.0.1): invoices is not ready for shadow: not " \
               "copied to MongoDB" in gw.read_log(), gw.read_log()[-2000:]
        eq(gw.admin("PUT", "routes/invoices", {"mode": "dual-write"})[0], 200)
        r = subprocess.run([binary, "migrate", "--resource", "invoices", "-c", gw.cfg_path], env=env,
                           capture_output=True, text=True, timeout=120)
        eq(r.returncode, 0, r.stdout + r.stderr)
        # at once: a refusal rests on a count made then, not on the one from before the migrate
        eq(gw.admin("PUT", "routes/invoices", {"mode": "shadow"})[0], 200)
        eq(route(gw)["copy"], None)         # counted in dual-write only
    finally:
        stop_clean(gw)


def test_evidence_follows_the_data(binary, mongo):
    """Mismatches recorded before a repair, a migrate or a verify that finds
    no difference stop holding readiness back, on every instance (they
    stay in the record); `cutover mode ROUTE --reset-evidence` does the same
    by hand, logged with who asked."""
    cfg = {"readiness": {"min_comparisons": 2, "window_seconds": 3600}}
    gw = Gateway(binary, mongo=mongo, mode="shadow", config=cfg)
    other = None
    env = dict(gw.env, USER="carol", CUTOVER_ADMIN_URL="127.0.0.1:%d" % gw.port)

    def cli(*args):
        r = subprocess.run([binary] + list(args) + ["-c", gw.cfg_path] if args[0] != "mode" else
                           [binary, "mode", "-c", gw.cfg_path] + list(args[1:]), env=env, capture_output=True,
                           text=True, timeout=120)
        eq(r.returncode, 0, r.stdout + r.stderr)
        return r

    def mismatch_on(g, inv):
        gw.docs("await db.collection('invoices').updateOne({_id: %s}, {$set: {client_name: 'Behind its back'}});"
                % json.dumps(inv["id"]))
        before = route(g)["mismatched"]
        g.request("GET", "/api/invoices/%s/" % inv["id"], token=T1)
        deadline = time.time() + 15
        while route(g)["mismatched"] == before:
            assert time.time() < deadline, route(g)
            time.sleep(0.05)
        assert route(g)["readiness"] == "not ready: unexplained mismatches", route(g)

    def held_back_no_more(g, mismatched):
        deadline = time.time() + 10     # the control store is read every second
        while route(g)["readiness"] == "not ready: unexplained mismatches":
            assert time.time() < deadline, route(g)
            time.sleep(0.05)
        eq(route(g)["mismatched"], mismatched)      # kept for the record

    try:
        other = Gateway(binary, mongo=mongo, mode="shadow", same_as=gw, config=cfg)
        inv = create(gw, 9400)
        wait_journal_empty(gw)
        for g in (gw, other):
            for _ in range(2):
                eq(g.request("GET", "/api/invoices/%s/" % inv["id"], token=T1).status, 200)
        # a repair: on both instances
        mismatch_on(gw, inv)
        mismatch_on(other, inv)
        r = cli("repair", "--resource", "invoices")
        assert "invoices: mismatches recorded until now no longer hold its readiness back" in r.stderr, r.stderr
        held_back_no_more(gw, 1)
        held_back_no_more(other, 1)
        assert "the mismatches until now no longer hold readiness back (cutover repair made MongoDB hold " \
               "what the legacy store holds)" in other.read_log(), other.read_log()[-2000:]
        # a verify that finds the stores identical; not one of a sample
        mismatch_on(gw, inv)
        gw.docs("await db.collection('invoices').updateOne({_id: %s}, {$set: {client_name: %s}});"
                % (json.dumps(inv["id"]), json.dumps(inv["client_name"])))
        r = subprocess.run([binary, "verify", "--sample", "50", "-c", gw.cfg_path], env=env, capture_output=True,
                           text=True, timeout=120)
        eq(r.returncode, 0, r.stdout + r.stderr)
        assert "no longer hold" not in r.stderr, r.stderr
        time.sleep(1.5)
        eq(route(gw)["readiness"], "not ready: unexplained mismatches")
        cli("verify", "--resource", "invoices")
        held_back_no_more(gw, 2)
        # a migrate
        mismatch_on(gw, inv)
        cli("migrate", "--resource", "invoices", "--restart")
        held_back_no_more(gw, 3)
        # by hand, through the CLI; the other instance follows
        mismatch_on(other, inv)
        cli("mode", "invoices", "--reset-evidence")
        held_back_no_more(other, 2)
        assert re.search(r"invoices: the mismatches until now no longer hold readiness back \(reset by carol from "
                         r"127\.0\.0\.1\)", gw.read_log()), gw.read_log()[-2000:]
        st, body = gw.admin("PUT", "routes/invoices", {"reset_evidence": "yes"})
        eq(st, 400, body)
        r = subprocess.run([binary, "mode", "-c", gw.cfg_path, "--reset-evidence"], env=env, capture_output=True,
                           text=True, timeout=30)
        eq(r.returncode, 2, r.stderr)
        assert "--reset-evidence goes with a route" in r.stderr, r.stderr
    finally:
        stop_all(other, gw)


OUTCOMES = ("matched", "mismatched", "raced", "secondary_errors", "secondary_timeouts", "dropped", "noise",
            "ordering")
LATE = {"detail": "The data store did not answer in time. Try again shortly."}


def access_lines(gw, since):
    """The access log's lines after the first since bytes of the log."""
    return [json.loads(l) for l in gw.read_log()[since:].splitlines() if l.startswith('{"time"')]


def test_stalled_mongodb_waits_are_bounded(binary, mongo):
    """The MongoDB server stops (SIGSTOP) under reads and writes.  In
    shadow mode no client waits on it and every shadow read ends within
    shadow.timeout_ms + 100 ms, counted a timeout.  In live mode no request
    waits longer than store_timeout_ms + 100 ms, those in flight when the
    stall began included; the only failure is the documented 503; the
    route falls back to shadow by itself; and the stores agree afterwards."""
    shadow_ms, store_ms = 400, 700
    gw = Gateway(binary, mongo=mongo, mode="shadow",
                 config={"shadow": {"timeout_ms": shadow_ms}, "store_timeout_ms": store_ms, "store_threads": 4,
                         "fallback": {"window_seconds": 10, "min_requests": 5}})
    stop, lock = threading.Event(), threading.Lock()
    answered, failures = [], []

    def client(k, ids, writes):
        n = 0
        while not stop.is_set():
            n += 1
            try:
                if writes and n % 3 == 0:
                    r = gw.request("PATCH", "/api/invoices/%s/" % ids[k % len(ids)], {"notes": "n%d" % n}, T1)
                else:
                    r = gw.request("GET", "/api/invoices/%s/" % ids[(k + n) % len(ids)], token=T1)
                with lock:
                    answered.append(time.monotonic())
                    if r.status not in (200, 503) or (r.status == 503 and r.json() != LATE):
                        failures.append((r.status, r.text[:200]))
            except Exception as e:      # noqa: BLE001 - a failed request, reported below
                with lock:
                    failures.append(("exception", repr(e)))
            time.sleep(0.01)

    def load(ids, writes, seconds):
        """Clients for seconds, the server stopped from the first second on."""
        threads = [threading.Thread(target=client, args=(k, ids, writes)) for k in range(4)]
        stop.clear()
        for t in threads:
            t.start()
        time.sleep(0.5)
        os.kill(mongo.proc.pid, signal.SIGSTOP)
        try:
            time.sleep(seconds)
            with lock:
                due = sum(1 for t in answered if t < time.monotonic() - (shadow_ms + 100) / 1000.0)
            counted = sum(route(gw)[o] for o in OUTCOMES)
            fell = route(gw)["fallback"]
        finally:
            os.kill(mongo.proc.pid, signal.SIGCONT)
            stop.set()
            for t in threads:
                t.join(timeout=60)
        return due, counted, fell

    try:
        ids = [create(gw, 9300 + k)["id"] for k in range(3)]
        wait_journal_empty(gw)
        # shadow: the client's reads never wait; every shadow read has ended
        since = len(gw.read_log())
        before = sum(route(gw)[o] for o in OUTCOMES)
        due, counted, _ = load(ids, False, 3)
        eq(failures, [])
        lines = [l for l in access_lines(gw, since) if l["route"].startswith("invoices")]
        assert lines and all(l["status"] == 200 for l in lines), lines[:5]
        slowest = max(l["duration_ms"] for l in lines)
        assert slowest < shadow_ms / 2, "a shadow-mode read waited %.1f ms on the stalled server" % slowest
        assert counted - before >= due, (counted - before, due, route(gw))
        assert route(gw)["secondary_timeouts"] > 0, route(gw)
        wait_journal_empty(gw)
        # live: nobody waits past the store's time limit
        flip(gw, "invoices", "live")
        since = len(gw.read_log())
        answered.clear()
        _, _, fell = load(ids, True, 3)
        eq(failures, [])
        lines = [l for l in access_lines(gw, since) if l["route"].startswith("invoices")]
        slowest = max(l["duration_ms"] for l in lines)
        assert slowest <= store_ms + 100, "a live request waited %.1f ms" % slowest
        late = [l for l in lines if l["status"] == 503]
        assert late, "no request was answered when the store's time ran out"
        assert fell and "MongoDB" in fell["reason"], route(gw)
        deadline = time.time() + 20     # once its writes pending are in both stores
        while route(gw)["mode"] != "shadow":
            assert time.time() < deadline, (route(gw), gw.admin("GET", "journal"))
            time.sleep(0.05)
        wait_journal_empty(gw)
        v = subprocess.run([binary, "verify", "-c", gw.cfg_path], env=gw.env, capture_output=True, text=True,
                           timeout=120)
        eq(v.returncode, 0, v.stdout + v.stderr)
        smp = gw.request("GET", "/_cutover/metrics", headers={"Authorization": "Bearer " + ADMIN_TOKEN}).text
        # counted as the store's: live's from MongoDB, and writes that
        # waited for the fallback to complete from the legacy store
        counted = re.findall(r'^cutover_requests_total\{route="invoices",mode="(\w+)",store="(\w+)",code="503"\} (\d+)$',
                             smp, re.M)
        assert ("live", "mongodb") in [c[:2] for c in counted], counted
        assert all(c[:2] in (("live", "mongodb"), ("shadow", "legacy")) for c in counted), counted
        assert sum(int(c[2]) for c in counted) >= len(late), (counted, len(late))
    finally:
        stop.set()
        stop_clean(gw)


NOISY = {"name": "clocks", "path": "/api/clocks/", "table": "noisy_view", "collection": "clocks",
         "owner_column": "user_id",
         "fields": [{"name": "id", "type": "uuid", "primary_key": True, "auto": "uuid4"},
                    {"name": "name", "type": "string", "max_length": 50, "required": True},
                    {"name": "nonce", "type": "integer", "min": 0, "max": 2000000000, "default": 0}]}


def wait_compared(gw, name, n, timeout=15):
    """Until route name has n comparisons (any outcome but raced)."""
    deadline = time.time() + timeout
    while route(gw, name)["noise"] + route(gw, name)["mismatched"] + route(gw, name)["matched"] < n:
        assert time.time() < deadline, route(gw, name)
        time.sleep(0.02)
    return route(gw, name)


def test_noise_baseline(binary, mongo):
    """A route whose legacy answers carry a value that changes on every read
    (a view with a random number, as a server clock would): once re-reads
    of three distinct records differed at that path, the baseline holds it
    noisy and its differences are classed noise, not mismatch; readiness is
    not held up by them, the admin API, the metrics and cutover mode give
    the rule that would ignore it with its evidence; a real difference in
    the same route is still a mismatch."""
    import subprocess
    with open(os.path.join(os.path.dirname(__file__), "..", "..", "etc", "examples", "hisabpro",
                           "cutover.json")) as f:
        resources = json.load(f)["resources"] + [NOISY]
    gw = Gateway(binary, mongo=mongo, mode="shadow",
                 config={"resources": resources, "shadow": {"noise_sample": 100},
                         "readiness": {"min_comparisons": 5, "window_seconds": 2}})
    try:
        gw.sql("CREATE TABLE noisy_base (id char(32) PRIMARY KEY, user_id integer NOT NULL, name varchar(50) NOT NULL)")
        gw.sql("CREATE VIEW noisy_view AS SELECT id, user_id, name, abs(random()) % 1000000000 AS nonce FROM noisy_base")
        ids = [uuid.uuid4() for _ in range(3)]
        for k, i in enumerate(ids):
            gw.sql("INSERT INTO noisy_base VALUES (?,?,?)", (i.hex, 1, "clock %d" % k))
        r = subprocess.run([binary, "migrate", "--resource", "clocks", "-c", gw.cfg_path], env=gw.env,
                           capture_output=True, text=True, timeout=120)
        eq(r.returncode, 0, r.stdout + r.stderr)
        # One record's re-reads are no evidence: the first two records'
        # differences are mismatches, the third makes the path noise.
        for n, i in enumerate(ids):
            eq(gw.request("GET", "/api/clocks/%s/" % i, token=T1).status, 200)
            wait_compared(gw, "clocks", n + 1)
        rt = route(gw, "clocks")
        eq((rt["mismatched"], rt["noise"], rt["noise_baseline"]["paths"]), (2, 1, {"/nonce": 3}), rt)
        eq(rt["noise_baseline"]["evidence"], {"/nonce": {"reads": 3, "records": 3, "noisy": True,
                                                         "identity": False}})
        for _ in range(2):
            for i in ids:
                eq(gw.request("GET", "/api/clocks/%s/" % i, token=T1).status, 200)
        rt = wait_compared(gw, "clocks", 9)
        eq((rt["noise"], rt["mismatched"]), (7, 2), rt)
        eq(rt["noise_baseline"]["paths"], {"/nonce": 9})
        eq(rt["noise_baseline"]["ignore_rule"], {"compare": {"ignore": ["/nonce"]}})
        eq(rt["noise_baseline"]["withheld"], None)
        time.sleep(2.2)                 # the first two mismatches leave the window
        eq(gw.admin("PUT", "routes/clocks", {"mode": "live"})[0], 200)     # noise does not hold it up
        eq(gw.admin("PUT", "routes/clocks", {"mode": "shadow"})[0], 200)
        env = dict(gw.env, CUTOVER_ADMIN_URL="127.0.0.1:%d" % gw.port)
        out = subprocess.run([binary, "mode", "-c", gw.cfg_path], env=env, capture_output=True, text=True,
                             timeout=30).stdout
        assert 'clocks: noise (two reads of its authoritative store differ, 9 of 9): /nonce (9 reads of 3 ' \
               'records)\n  to stop comparing them, in the route: {"compare": {"ignore": ["/nonce"]}}' in out, out
        smp = gw.request("GET", "/_cutover/metrics", headers={"Authorization": "Bearer " + ADMIN_TOKEN}).text
        assert 'cutover_comparisons_total{route="clocks",outcome="noise"} 7' in smp
        assert 'cutover_noisy_paths_total{route="clocks",path="/nonce"} 9' in smp
        # a real difference beside the noise is a mismatch
        gw.docs("await db.collection('clocks').updateOne({_id: %s}, {$set: {name: 'renamed'}});"
                % json.dumps(str(ids[0])))
        gw.request("GET", "/api/clocks/%s/" % ids[0], token=T1)
        deadline = time.time() + 15
        while route(gw, "clocks")["mismatched"] < 3:
            assert time.time() < deadline, route(gw, "clocks")
            time.sleep(0.05)
        rt = route(gw, "clocks")
        eq((rt["mismatched"], rt["ready"], rt["mismatched_paths"]), (3, False, {"/name": 1, "/nonce": 3}))
    finally:
        problems, log = gw.stop()
    eq(problems, [], log[-3000:])


def test_noise_baseline_not_blinded(binary, mongo):
    """Ordinary traffic, reads and writes of two users interleaved on one
    route, with every read re-read: a re-read that a write overlapped is
    raced and teaches nothing, so no path is called noise and no rule is
    offered (one racing list re-read once offered to ignore every field)."""
    gw = Gateway(binary, mongo=mongo, mode="shadow", config={"shadow": {"noise_sample": 100}})
    t1, t2 = make_token(1), make_token(2)
    stop = time.time() + 4
    made = {t1: [], t2: []}

    def writer(token, n0):
        n = n0
        while time.time() < stop:
            inv = create(gw, n, token)
            made[token].append(inv["id"])
            gw.request("PATCH", "/api/invoices/%s/" % inv["id"], {"client_name": "Edited %d" % n}, token)
            n += 1

    def reader(token):
        while time.time() < stop:
            gw.request("GET", "/api/invoices/?ordering=-created_at", token=token)
            if made[token]:
                gw.request("GET", "/api/invoices/%s/" % made[token][-1], token=token)
            gw.request("GET", "/api/invoices/?page=1&search=Client", token=token)
    try:
        ts = [threading.Thread(target=writer, args=(t1, 7000)), threading.Thread(target=writer, args=(t2, 8000)),
              threading.Thread(target=reader, args=(t1,)), threading.Thread(target=reader, args=(t2,))]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        wait_journal_empty(gw)
        time.sleep(0.5)
        nb = route(gw)["noise_baseline"]
        assert nb["reads"] + nb["raced"] > 20 and nb["raced"] > 0, nb
        eq((nb["paths"], nb["ignore_rule"]), ({}, None), nb)
        assert all(not e["noisy"] for e in nb["evidence"].values()), nb
    finally:
        problems, log = gw.stop()
    eq(problems, [], log[-3000:])


def test_control_store_moves_to_mongodb(binary, mongo):
    """cutover mode --control-store mongodb: the modes move from the legacy
    store's cutover_routes table to MongoDB's collection; both running
    instances follow, later flips reach the other instance through MongoDB
    alone, and a gateway started afterwards reads them there."""
    import subprocess
    gw = Gateway(binary, mongo=mongo, mode="shadow")
    other = Gateway(binary, mongo=mongo, mode="shadow", same_as=gw)
    third = None

    def follows(g, mode):
        deadline = time.time() + 15
        while route(g)["mode"] != mode:
            assert time.time() < deadline, route(g)
            time.sleep(0.05)

    try:
        eq(gw.admin("PUT", "routes/invoices", {"mode": "dual-write"})[0], 200)
        follows(other, "dual-write")
        r = subprocess.run([binary, "mode", "-c", gw.cfg_path, "--control-store", "mongodb"], env=gw.env,
                           capture_output=True, text=True, timeout=60)
        eq(r.returncode, 0, r.stdout + r.stderr)
        assert "are in MongoDB's cutover_routes now" in r.stdout, r.stdout
        for g in (gw, other):
            deadline = time.time() + 15
            while "the modes are in MongoDB (cutover_routes) from now on" not in g.read_log():
                assert time.time() < deadline, g.read_log()[-2000:]
                time.sleep(0.05)
        eq(route(gw)["mode"], "dual-write")
        eq(gw.admin("PUT", "routes/invoices", {"mode": "legacy"})[0], 200)
        follows(other, "legacy")
        # the flip went to MongoDB only: the legacy table still holds the old mode
        docs = gw.docs("return await db.collection('cutover_routes').find({_id: 'invoices'}).toArray();")
        eq(docs[0]["mode"], "legacy")
        eq(gw.sql("SELECT mode FROM cutover_routes WHERE route='invoices'"), [("dual-write",)])
        # a gateway started now reads the modes in MongoDB
        third = Gateway(binary, mongo=mongo, mode="shadow", same_as=gw)
        eq(route(third)["mode"], "legacy")
        assert "the modes are in MongoDB (cutover_routes) from now on" in third.read_log()
        r = subprocess.run([binary, "mode", "--control-store", "sqlite"], capture_output=True, text=True, timeout=30)
        eq(r.returncode, 2, r.stderr)
    finally:
        problems = []
        for g in (third, other, gw):
            if g:
                p, log = g.stop()
                problems += p
    eq(problems, [])


def flips_under_load(binary, mongo, flip_to):
    import subprocess
    gw = Gateway(binary, mongo=mongo, mode="legacy", config={"store_threads": 4})
    stop = threading.Event()
    failures, counts = [], {"reads": 0, "writes": 0}
    lock = threading.Lock()

    def worker(k):
        mine, n = [], 0
        while not stop.is_set():
            n += 1
            try:
                op = n % 6
                if op in (0, 3) or not mine:
                    r = gw.request("POST", "/api/invoices/", invoice(10000 * (k + 1) + n), T1)
                    ok = r.status == 201
                    if ok:
                        mine.append(r.json()["id"])
                    kind = "writes"
                elif op == 1:
                    r = gw.request("PATCH", "/api/invoices/%s/" % mine[n % len(mine)],
                                   {"notes": "n%d" % n, "items": [{"description": "d%d" % n, "unit_price": "1",
                                                                   "amount": "1"}]}, T1)
                    ok, kind = r.status == 200, "writes"
                elif op == 4 and len(mine) > 3:
                    r = gw.request("DELETE", "/api/invoices/%s/" % mine.pop(0), token=T1)
                    ok, kind = r.status == 204, "writes"
                elif op == 2:
                    r = gw.request("GET", "/api/invoices/%s/" % mine[-1], token=T1)
                    ok, kind = r.status == 200, "reads"
                else:
                    r = gw.request("GET", "/api/invoices/?search=Client", token=T1)
                    ok, kind = r.status == 200, "reads"
                with lock:
                    counts[kind] += 1
                    if not ok:
                        failures.append((route(gw)["mode"], r.status, r.text[:200]))
            except Exception as e:      # noqa: BLE001 - a failed request, reported below
                with lock:
                    failures.append(("exception", repr(e)))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(3)]
    try:
        for i in range(10):             # data from before the migration
            create(gw, 500 + i)
        for t in threads:
            t.start()
        time.sleep(1)
        flip_to(gw, "dual-write")
        time.sleep(0.5)
        # the rows written before dual-write reach MongoDB
        r = subprocess.run([binary, "migrate", "--resource", "invoices", "--state",
                            os.path.join(gw.dir, "migrate.json")],
                           env=gw.env, capture_output=True, text=True, timeout=300)
        eq(r.returncode, 0, r.stdout + r.stderr)
        for mode in ("shadow", "live", "rampdown", "mongodb", "shadow"):
            flip_to(gw, mode)
            time.sleep(1)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
    # Back to legacy as the load stops (writes in legacy mode go to the
    # legacy store only, by definition).
    flip_to(gw, "legacy")
    try:
        eq(failures, [])
        assert counts["reads"] > 50 and counts["writes"] > 50, counts
        print("     %(reads)d reads, %(writes)d writes during the flips" % counts)
        # legacy mode copies nothing: compare what both stores hold now
        wait_journal_empty(gw)
        legacy, docs = both_stores(gw)
        assert len(legacy) > 10, len(legacy)
        ml, dl = {d["id"]: d for d in legacy}, {d["id"]: d for d in docs}
        eq(sorted(set(dl) - set(ml)), [], "only in MongoDB")
        eq(sorted(set(ml) - set(dl)), [], "only in the legacy store")
        for k in ml:
            eq(dl[k], ml[k], k)
    finally:
        problems, log = gw.stop()
    eq(problems, [], log[-3000:])


def test_sighup_reloads_modes(gw):
    """SIGHUP reads the file again and applies its modes, without closing
    connections."""
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=30)
    conn.request("GET", "/api/invoices/", headers={"Authorization": "Bearer " + T1})
    eq(conn.getresponse().read()[:9], b'{"count":')
    with open(gw.cfg_path) as f:
        original = f.read()
    doc = json.loads(original)
    for r in doc["resources"]:
        if r["name"] == "payments":
            r.update(mode="dual-write", sample=40)
    with open(gw.cfg_path, "w") as f:
        json.dump(doc, f)
    try:
        gw.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 10
        while route(gw, "payments")["mode"] != "dual-write":
            assert time.time() < deadline, route(gw, "payments")
            time.sleep(0.05)
        eq((route(gw, "payments")["sample"], route(gw, "payments")["mode_source"]), (40, "route"))
        # the connection opened before the reload still serves
        conn.request("GET", "/api/invoices/", headers={"Authorization": "Bearer " + T1})
        eq(conn.getresponse().status, 200)
        conn.close()
        # a broken file is refused and the gateway runs on
        with open(gw.cfg_path, "w") as f:
            f.write("{broken")
        gw.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 10
        while "reload of" not in gw.read_log():
            assert time.time() < deadline
            time.sleep(0.05)
        assert gw.alive()
    finally:
        with open(gw.cfg_path, "w") as f:
            f.write(original)
        gw.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 10
        while route(gw, "payments")["mode_source"] != "global":
            assert time.time() < deadline, route(gw, "payments")
            time.sleep(0.05)


def test_kill_between_commit_and_copy(binary, mongo):
    """The gateway killed right after the legacy store committed a write and
    before anything else (CUTOVER_TEST_KILL_AFTER_COMMIT): the copy was
    journaled before the commit, so a restarted gateway makes it and verify
    finds the stores identical."""
    import subprocess
    gw = Gateway(binary, mongo=mongo, mode="shadow", config={"store_threads": 2},
                 extra_env={"CUTOVER_TEST_KILL_AFTER_COMMIT": "1"})
    n0 = 5000
    for i, (method, make) in enumerate((("POST", None), ("PATCH", {"client_name": "Patched"}), ("DELETE", None))):
        if method == "POST":
            try:
                gw.request("POST", "/api/invoices/", invoice(n0), T1)
            except (OSError, http.client.HTTPException):
                pass
            target = gw.sql("SELECT id FROM invoices_invoice WHERE invoice_number=?", ("M-%05d" % n0,))
            eq(len(target), 1, "the legacy store committed the create")
            inv = str(uuid.UUID(target[0][0]))
        else:
            try:
                gw.request(method, "/api/invoices/%s/" % inv, make, T1)
            except (OSError, http.client.HTTPException):
                pass
        eq(gw.proc.wait(timeout=30), -signal.SIGKILL, "killed after the commit")
        gw = Gateway(binary, mongo=mongo, mode="shadow", same_as=gw)
        wait_journal_empty(gw, timeout=60)
        r = subprocess.run([binary, "verify", "--resource", "invoices", "-c", gw.cfg_path], env=gw.env,
                           capture_output=True, text=True, timeout=120)
        eq(r.returncode, 0, (method, r.stdout + r.stderr))
        if method == "PATCH":
            eq(gw.docs("return (await db.collection('invoices').findOne({_id: %s})).client_name;" % json.dumps(inv)),
               "Patched")
        if method == "DELETE":
            assert not in_mongo(gw, inv)
        if i < 2:
            gw.stop()
            gw = Gateway(binary, mongo=mongo, mode="shadow", same_as=gw,
                         extra_env={"CUTOVER_TEST_KILL_AFTER_COMMIT": "1"})
    problems, log = gw.stop()
    eq(problems, [], log[-3000:])


def test_cascade_delete_reads_are_raced(binary, mongo):
    """Shadow reads of an invoice's payments queued while the invoice is
    deleted (its payments go with it): raced, never a mismatch.  The
    secondary reads are held back 0.7 s so the delete lands first."""
    gw = Gateway(binary, mongo=mongo, mode="shadow", config={"store_threads": 4},
                 extra_env={"CUTOVER_TEST_SHADOW_DELAY_MS": "700"})
    try:
        inv = create(gw, 9300)
        pays = [gw.request("POST", "/api/payments/", {"invoice": inv["id"], "amount": "5.00", "method": "upi",
                                                      "paid_at": "2025-11-02T10:00:00Z"}, T1).json()
                for _ in range(2)]
        wait_journal_empty(gw)
        before = route(gw, "payments")
        reads = ["/api/payments/?invoice=%s" % inv["id"], "/api/payments/",
                 "/api/payments/%s/" % pays[0]["id"], "/api/payments/%s/" % pays[1]["id"]]
        for path in reads:
            r = gw.request("GET", path, token=T1)
            eq(r.status, 200, r.text)
            assert inv["id"] in r.text, r.text
        eq(gw.request("DELETE", "/api/invoices/%s/" % inv["id"], token=T1).status, 204)
        deadline = time.time() + 30
        while time.time() < deadline:
            after = route(gw, "payments")
            done = sum(after[k] - before[k] for k in ("matched", "mismatched", "raced"))
            if done >= len(reads):
                break
            time.sleep(0.1)
        eq((after["mismatched"] - before["mismatched"], after["raced"] - before["raced"]), (0, len(reads)))
        eq(gw.request("GET", "/api/payments/?invoice=%s" % inv["id"], token=T1).json()["count"], 0)
    finally:
        problems, log = gw.stop()
    eq(problems, [], log[-3000:])


def threads(gw):
    return len(os.listdir("/proc/%d/task" % gw.proc.pid))


def traffic(gw, n0):
    """The same mix on every gateway: a write, its read, a page, a delete."""
    inv = create(gw, n0)
    eq(gw.request("GET", "/api/invoices/%s/" % inv["id"], token=T1).status, 200)
    eq(gw.request("GET", "/api/invoices/", token=T1).status, 200)
    eq(gw.request("DELETE", "/api/invoices/%s/" % inv["id"], token=T1).status, 204)


def named_threads(gw, name):
    n = 0
    for tid in os.listdir("/proc/%d/task" % gw.proc.pid):
        try:
            with open("/proc/%d/task/%s/comm" % (gw.proc.pid, tid)) as f:
                n += f.read().strip() == name
        except OSError:
            pass                            # a thread that has just left
    return n


def test_shadow_reads_answered_on_the_loop(binary, mongo):
    """In shadow mode a read from an inline legacy store (SQLite) is
    answered on the event loop: no store worker starts for it, while the
    shadow workers compare it once the client has its answer."""
    gw = Gateway(binary, mongo=mongo, mode="legacy")
    try:
        inv = gw.request("POST", "/api/invoices/", invoice(9200), T1).json()
        wait_journal_empty(gw)
        flip(gw, "invoices", "shadow")
        before = route(gw)["compared"]
        for _ in range(20):
            eq(gw.request("GET", "/api/invoices/%s/" % inv["id"], token=T1).status, 200)
            eq(gw.request("GET", "/api/invoices/", token=T1).status, 200)
        deadline = time.time() + 20
        while route(gw)["compared"] < before + 2:
            assert time.time() < deadline, route(gw)
            time.sleep(0.05)
        assert named_threads(gw, "cutover-shadow") > 0, "no shadow worker compared the reads"
        eq(named_threads(gw, "cutover-engine"), 0, "store workers started for reads from SQLite")
    finally:
        problems, log = gw.stop()
    eq(problems, [], log[-3000:])


def test_idle_mongodb_costs_no_thread(binary, mongo):
    """MongoDB configured and every route legacy: the process runs exactly
    the threads it runs without MongoDB.  A route flipped to shadow starts
    the secondary machinery (its reads are compared); flipped back, the
    machinery stops and the count returns to the baseline."""
    bare = Gateway(binary)
    try:
        traffic(bare, 9100)
        baseline = threads(bare)
    finally:
        problems, log = bare.stop()
    eq(problems, [], log[-3000:])
    gw = Gateway(binary, mongo=mongo, mode="legacy")
    try:
        traffic(gw, 9110)
        eq(threads(gw), baseline, "threads with MongoDB configured and every route legacy")
        flip(gw, "invoices", "shadow")
        before = route(gw)["compared"]
        for n in range(3):
            traffic(gw, 9120 + n)
        wait_journal_empty(gw)
        deadline = time.time() + 20
        while route(gw)["compared"] < before + 3:
            assert time.time() < deadline, route(gw)
            time.sleep(0.05)
        busy = threads(gw)
        assert busy > baseline, (busy, baseline)
        flip(gw, "invoices", "legacy")
        deadline = time.time() + 20
        while threads(gw) != baseline:
            assert time.time() < deadline, ("the secondary machinery did not stop", threads(gw), baseline)
            time.sleep(0.1)
        traffic(gw, 9130)
        eq(threads(gw), baseline, "threads after the flip back, under legacy traffic")
    finally:
        problems, log = gw.stop()
    eq(problems, [], log[-3000:])


def test_spelled_writes_stay_in_both_stores(binary, mongo):
    """Shadow mode in front of the application: writes whose targets are
    spelled another way (an encoded letter, an absolute-form URL) are the
    gateway's, dual-written and journalled like any other, or refused; none
    reaches the application, and cutover verify finds the stores equal."""
    from passthrough import Upstream
    up = Upstream()
    gw = Gateway(binary, mongo=mongo, mode="shadow", config={"upstream": {"url": up.url}})
    try:
        host = "127.0.0.1:%d" % gw.port
        r = gw.request("POST", "/api/%69nvoices/", invoice(9100), T1)
        eq((r.status, "x-upstream" in r.headers), (201, False), r.text)
        inv = r.json()["id"]
        r = gw.request("PATCH", "http://%s/api/invoices/%s/" % (host, inv), {"client_name": "Absolute"}, T1,
                       host=host)
        eq((r.status, "x-upstream" in r.headers, r.json().get("client_name")), (200, False, "Absolute"), r.text)
        for target in ("https://x/api/invoices/%s/" % inv, "/api/invoices%%2F%s/" % inv, "/api/%%70ayments%%2f"):
            r = gw.request("PATCH", target, {"client_name": "Around"}, T1, host=host)
            eq((r.status, "x-upstream" in r.headers), (400, False), (target, r.text))
        r = gw.request("POST", "/api/x/../%70ayments/", {"invoice": inv, "amount": "1.00", "method": "cash",
                                                        "paid_at": "2025-11-02T10:00:00Z"}, T1)
        eq((r.status, "x-upstream" in r.headers), (201, False), r.text)
        wait_journal_empty(gw)
        v = subprocess.run([binary, "verify", "-c", gw.cfg_path], env=gw.env, capture_output=True, text=True,
                           timeout=120)
        eq(v.returncode, 0, v.stdout + v.stderr)
        eq(gw.sql("SELECT client_name FROM invoices_invoice WHERE id=?", (inv.replace("-", ""),)), [("Absolute",)])
    finally:
        stop_clean(gw)
        up.close()


def suite(runner, binary, mongo):
    gw = Gateway(binary, mongo=mongo, mode="shadow", config={"store_threads": 4})
    print("== modes (%s)" % gw.read_log().strip().splitlines()[-1], flush=True)
    try:
        runner.run([test_every_mode, test_route_override_and_admin_errors, test_mismatch_with_patch,
                    test_modes_persist_and_reach_other_instances, test_sighup_reloads_modes], gw)
    finally:
        runner.shutdown(gw)
    runner.run([test_noise_baseline, test_noise_baseline_not_blinded, test_control_store_moves_to_mongodb, test_idle_mongodb_costs_no_thread,
                test_shadow_reads_answered_on_the_loop,
                test_zero_downtime_flips_under_load,
                test_zero_downtime_global_flips_under_load, test_kill_between_commit_and_copy,
                test_cascade_delete_reads_are_raced, test_spelled_writes_stay_in_both_stores,
                test_evidence_follows_the_data, test_flip_before_migrate_is_gated], binary, mongo)
    if mongo.dir:       # a server of our own, so we may stop and kill it
        runner.run([test_readiness_gate, test_global_flip_waits_for_pending_writes, test_fallback_under_load,
                    test_stalled_mongodb_waits_are_bounded, test_nothing_lost_when_mongodb_dies], binary, mongo)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    a = ap.parse_args()
    runner = Runner()
    mongo = Mongo()
    try:
        suite(runner, os.path.abspath(a.binary), mongo)
    finally:
        mongo.close()
    return runner.finish()


if __name__ == "__main__":
    sys.exit(main())
