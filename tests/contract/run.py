#!/usr/bin/env python3
"""HTTP contract suite for the HisabPro API (shared/examples/hisabpro/API.md).

Runs the real gateway on a real SQLite file and compares whole responses:
status, exact JSON bytes (key order and formatting included), page links.
"""
import argparse
import datetime as dt
import json
import os
import re
import signal
import socket
import sys
import tempfile
import time
import urllib.parse
import uuid
from decimal import Decimal

sys.path.insert(0, os.path.dirname(__file__))
from harness import ADMIN_TOKEN, JSON_NULL, ROOT, Certs, free_port, Gateway, Runner, eq, logged, make_token  # noqa: E402

ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3}000)?Z$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
T1, T2 = make_token(1), make_token(2)
NOT_PROVIDED = b'{"detail":"Authentication credentials were not provided."}'


def dumps(obj):
    """DRF's compact rendering."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def money(v, places=2):
    return str(Decimal(str(v)).quantize(Decimal(1).scaleb(-places)))


def expected_invoice(inp, got):
    """The representation the API must give for input `inp`, using the ids and
    timestamps the server chose (checked for shape separately)."""
    items = []
    ordered = sorted(inp.get("items", []), key=lambda it: it.get("position", 0))
    for it, g in zip(ordered, got["items"]):
        items.append({"id": g["id"], "description": it["description"].strip(),
                      "quantity": money(it.get("quantity", "1")), "unit_price": money(it["unit_price"]),
                      "amount": money(it["amount"]), "position": it.get("position", 0)})
    return {"id": got["id"], "invoice_number": inp["invoice_number"], "client_name": inp["client_name"],
            "client_email": inp.get("client_email", ""), "issue_date": inp["issue_date"],
            "due_date": inp.get("due_date"), "status": inp.get("status", "draft"),
            "subtotal": money(inp.get("subtotal", 0)), "tax_amount": money(inp.get("tax_amount", 0)),
            "total_amount": money(inp.get("total_amount", 0)), "currency": inp.get("currency", "INR"),
            "notes": inp.get("notes", ""), "items": items,
            "created_at": got["created_at"], "updated_at": got["updated_at"]}


def check_shape(doc):
    assert UUID.match(doc["id"]), doc["id"]
    assert ISO.match(doc["created_at"]), doc["created_at"]
    assert ISO.match(doc["updated_at"]), doc["updated_at"]
    for it in doc.get("items", []):
        assert UUID.match(it["id"]), it["id"]


def invoice_input(n, **over):
    inp = {"invoice_number": "INV-%04d" % n, "client_name": "Client %d" % n,
           "client_email": "c%d@example.com" % n, "issue_date": "2025-11-%02d" % (n % 28 + 1),
           "status": "sent", "subtotal": "100.00", "tax_amount": "18.00",
           "total_amount": "%d.50" % (100 + n), "currency": "INR", "notes": "",
           "items": [{"description": "Widget", "quantity": "2.00", "unit_price": "50.00",
                      "amount": "100.00", "position": 0}]}
    inp.update(over)
    return inp


def ts(text):
    """An API datetime as a datetime: the fraction is printed only when
    non-zero, so the text itself does not sort."""
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def newest_first(docs):
    """Default ordering: -created_at, ties broken by id ascending."""
    return sorted(sorted(docs, key=lambda d: d["id"]), key=lambda d: ts(d["created_at"]), reverse=True)


def create(gw, inp, token=T1):
    r = gw.request("POST", "/api/invoices/", inp, token)
    eq(r.status, 201, r.text)
    return r.json()


def count_rows(gw):
    """Invoices, items and payments stored, whichever store serves."""
    if gw.mongo:
        return tuple(gw.docs("const inv = await db.collection('invoices').find().toArray();"
                             "return [inv.length, inv.reduce((n, d) => n + (d.items || []).length, 0),"
                             " await db.collection('payments').countDocuments()];"))
    return tuple(gw.sql("SELECT COUNT(*) FROM %s" % t)[0][0]
                 for t in ("invoices_invoice", "invoices_invoiceitem", "invoices_payment"))


def owner_of(gw, invoice_id):
    if gw.mongo:
        return gw.docs("const d = await db.collection('invoices').findOne({_id: %s}); return d.user_id;"
                       % json.dumps(invoice_id))
    return gw.sql("SELECT user_id FROM invoices_invoice WHERE id=?", (invoice_id.replace("-", ""),))[0][0]


def items_stored(gw, item_id=None, invoice_id=None):
    """How many stored items have this id, or belong to this invoice."""
    if gw.mongo:
        q = {"items.id": item_id} if item_id else {"_id": invoice_id}
        return gw.docs("const ds = await db.collection('invoices').find(%s).toArray();"
                       "return ds.reduce((n, d) => n + d.items.filter(i => %s).length, 0);"
                       % (json.dumps(q), "i.id === %s" % json.dumps(item_id) if item_id else "true"))
    col, val = ("id", item_id) if item_id else ("invoice_id", invoice_id)
    return gw.sql("SELECT COUNT(*) FROM invoices_invoiceitem WHERE %s=?" % col, (val.replace("-", ""),))[0][0]


def payments_stored(gw, invoice_id):
    if gw.mongo:
        return gw.docs("return await db.collection('payments').countDocuments({invoice_id: %s});"
                       % json.dumps(invoice_id))
    return gw.sql("SELECT COUNT(*) FROM invoices_payment WHERE invoice_id=?", (invoice_id.replace("-", ""),))[0][0]


# --- authentication ---------------------------------------------------------

def test_no_credentials(gw):
    r = gw.request("GET", "/api/invoices/")
    eq(r.status, 401)
    eq(r.body, NOT_PROVIDED)
    eq(r.headers["www-authenticate"], 'Bearer realm="api"')
    eq(r.headers["content-type"], "application/json")
    # another scheme is "not provided" too
    r = gw.request("GET", "/api/payments/", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    eq((r.status, r.body), (401, NOT_PROVIDED))


def refused(why):
    """simplejwt's 401 body for an access token it refuses, naming why."""
    return (b'{"detail":"Given token not valid for any token type","code":"token_not_valid",'
            b'"messages":[{"token_class":"AccessToken","token_type":"access","message":"%s"}]}' % why.encode())


def test_bad_tokens(gw):
    """Each claim rule, with the answer simplejwt 5 (on PyJWT 2) gives."""
    now = int(time.time())
    table = [
        (make_token(1, secret="another-secret-entirely-000000"), "Token is invalid or expired"),
        (make_token(1, ttl=-10), "Token is invalid or expired"),
        (make_token(1, ttl=-10, jti=None, token_type=None), "Token is invalid or expired"),
        (make_token(1, nbf=now + 600), "Token is invalid or expired"),
        (make_token(1, iat=now + 600), "Token is invalid or expired"),
        (make_token(1, iat="yesterday"), "Token is invalid or expired"),
        (make_token(1, jti=7), "Token is invalid or expired"),
        (make_token(1, sub=7), "Token is invalid or expired"),
        (make_token(1, header={"alg": "none"}), "Token is invalid or expired"),
        (make_token(1, header={"alg": "HS512"}), "Token is invalid or expired"),
        ("not-a-token", "Token is invalid or expired"),
        ("a.b.c", "Token is invalid or expired"),
        (T1[:-4] + "AAAA", "Token is invalid or expired"),
        (make_token(1, exp=None), "Token has no 'exp' claim"),
        (make_token(1, exp=None, jti=None, token_type="refresh"), "Token has no 'exp' claim"),
        (make_token(1, jti=None), "Token has no id"),
        (make_token(1, jti=None, token_type="refresh"), "Token has no id"),
        (make_token(1, token_type=None), "Token has no type"),
        (make_token(1, token_type="refresh"), "Token has wrong type"),
        (make_token(1, token_type=1), "Token has wrong type"),
        (make_token(1, token_type=JSON_NULL), "Token has wrong type"),
    ]
    for tok, why in table:
        r = gw.request("GET", "/api/invoices/", token=tok)
        eq((r.status, r.body), (401, refused(why)), tok)
        eq(r.headers["www-authenticate"], 'Bearer realm="api"')
        eq(r.headers["content-type"], "application/json")


def test_bad_authorization_header(gw):
    r = gw.request("GET", "/api/invoices/", headers={"Authorization": "Bearer"})
    eq(r.status, 401)
    eq(r.body, b'{"detail":"Authorization header must contain two space-delimited values",'
               b'"code":"bad_authorization_header"}')
    r = gw.request("GET", "/api/invoices/", headers={"Authorization": "Bearer a b"})
    eq(r.status, 401)


def test_token_without_user(gw):
    r = gw.request("GET", "/api/invoices/", token=make_token(None))
    eq(r.status, 401)
    eq(r.body, b'{"detail":"Token contained no recognizable user identification","code":"token_not_valid"}')


def test_cli_token_works(gw, binary):
    import subprocess
    tok = subprocess.run([binary, "token", "--user-id", "3"], capture_output=True, text=True,
                         env=dict(os.environ, JWT_SECRET="contract-test-secret-not-real-000"),
                         check=True).stdout.strip()
    r = gw.request("GET", "/api/invoices/", token=tok)
    eq(r.status, 200, r.text)
    eq(r.json()["count"], 0)


# --- invoices: create, read, update, delete ------------------------------------

def test_create_and_get(gw):
    inp = invoice_input(1, items=[
        {"description": "  Second  ", "quantity": 3, "unit_price": 10.5, "amount": "31.5", "position": 1},
        {"description": "First", "unit_price": "50", "amount": "50.00"}])
    r = gw.request("POST", "/api/invoices/", inp, T1)
    eq(r.status, 201, r.text)
    got = r.json()
    check_shape(got)
    eq(got["created_at"], got["updated_at"])
    want = expected_invoice(inp, got)
    eq(r.body, dumps(want), "create body")
    g = gw.request("GET", "/api/invoices/%s/" % got["id"], token=T1)
    eq(g.status, 200)
    eq(g.body, r.body, "GET equals the create response")
    # the id without dashes and in capitals is the same record, as in Django
    g2 = gw.request("GET", "/api/invoices/%s/" % got["id"].replace("-", "").upper(), token=T1)
    eq(g2.body, r.body)


def test_defaults_unknown_and_read_only_fields(gw):
    inp = {"invoice_number": "INV-DEF", "client_name": "Defaults", "issue_date": "2025-01-31",
           "id": "00000000-0000-0000-0000-000000000000", "created_at": "2000-01-01T00:00:00Z",
           "user": 2, "unexpected": {"$gt": 1}}
    got = create(gw, inp)
    assert got["id"] != inp["id"]
    assert got["created_at"] != inp["created_at"]
    eq(got, {"id": got["id"], "invoice_number": "INV-DEF", "client_name": "Defaults", "client_email": "",
             "issue_date": "2025-01-31", "due_date": None, "status": "draft", "subtotal": "0.00",
             "tax_amount": "0.00", "total_amount": "0.00", "currency": "INR", "notes": "", "items": [],
             "created_at": got["created_at"], "updated_at": got["updated_at"]})
    eq(owner_of(gw, got["id"]), 1)


def test_put_replaces_items(gw):
    got = create(gw, invoice_input(2))
    old_item = got["items"][0]["id"]
    inp = invoice_input(2, client_name="Renamed", status="paid", items=[
        {"description": "New A", "unit_price": "1.00", "amount": "1.00", "position": 0},
        {"description": "New B", "unit_price": "2.00", "amount": "4.00", "quantity": "2", "position": 1}])
    r = gw.request("PUT", "/api/invoices/%s/" % got["id"], inp, T1)
    eq(r.status, 200, r.text)
    upd = r.json()
    eq(upd["created_at"], got["created_at"])
    assert ts(upd["updated_at"]) >= ts(got["updated_at"])
    eq(r.body, dumps(expected_invoice(inp, upd)))
    assert old_item not in [i["id"] for i in upd["items"]]
    eq(items_stored(gw, item_id=old_item), 0)
    eq(items_stored(gw, invoice_id=got["id"]), 2)
    eq(gw.request("GET", "/api/invoices/%s/" % got["id"], token=T1).body, r.body)
    # PUT without items keeps them; PUT still needs the required fields
    inp2 = dict(inp)
    del inp2["items"]
    r2 = gw.request("PUT", "/api/invoices/%s/" % got["id"], inp2, T1)
    eq(r2.status, 200)
    eq(r2.json()["items"], upd["items"])
    r3 = gw.request("PUT", "/api/invoices/%s/" % got["id"], {"client_name": "x"}, T1)
    eq(r3.status, 400)
    eq(r3.body, b'{"invoice_number":["This field is required."],"issue_date":["This field is required."]}')


def test_patch(gw):
    got = create(gw, invoice_input(3))
    r = gw.request("PATCH", "/api/invoices/%s/" % got["id"], {"notes": "Paid in full", "status": "paid"}, T1)
    eq(r.status, 200, r.text)
    want = dict(got, notes="Paid in full", status="paid", updated_at=r.json()["updated_at"])
    eq(r.body, dumps(want))
    r = gw.request("PATCH", "/api/invoices/%s/" % got["id"], {"status": "nope"}, T1)
    eq((r.status, r.body), (400, b'{"status":["\\"nope\\" is not a valid choice."]}'))


def test_delete_cascades(gw):
    got = create(gw, invoice_input(4))
    p = gw.request("POST", "/api/payments/", {"invoice": got["id"], "amount": "10", "method": "upi",
                                             "paid_at": "2025-11-02T10:00:00Z"}, T1)
    eq(p.status, 201, p.text)
    eq((items_stored(gw, invoice_id=got["id"]), payments_stored(gw, got["id"])), (1, 1))
    r = gw.request("DELETE", "/api/invoices/%s/" % got["id"], token=T1)
    eq((r.status, r.body), (204, b""))
    eq((items_stored(gw, invoice_id=got["id"]), payments_stored(gw, got["id"])), (0, 0))
    eq(gw.request("GET", "/api/invoices/%s/" % got["id"], token=T1).status, 404)
    eq(gw.request("GET", "/api/payments/%s/" % p.json()["id"], token=T1).status, 404)
    eq(gw.request("DELETE", "/api/invoices/%s/" % got["id"], token=T1).status, 404)


def unowned(gw, path, want):
    """What a path under a route's prefix that none of its views matches
    ("12.5/", "<id>/extra/") answers: want from the gateway, or, with an
    application configured (down, in these suites), the application's."""
    rest = path.split("?")[0].split("/", 3)[3]
    if "upstream" in gw.config and not re.fullmatch(r"[^/.]*/?|[^/.]+/", rest):
        return 502, b'{"detail":"The application is unavailable."}'
    return want


def test_not_found_cases(gw):
    got = create(gw, invoice_input(5))
    nf = b'{"detail":"Not found."}'
    for path, tok in [("/api/invoices/%s/" % uuid.uuid4(), T1), ("/api/invoices/not-a-uuid/", T1),
                      ("/api/invoices/%s/" % got["id"], T2), ("/api/invoices/12.5/", T1),
                      ("/api/invoices/%s/extra/" % got["id"], T1)]:
        r = gw.request("GET", path, token=tok)
        eq((r.status, r.body), unowned(gw, path, (404, nf)), path)
    # another user can neither change nor delete it
    eq(gw.request("PATCH", "/api/invoices/%s/" % got["id"], {"notes": "x"}, T2).status, 404)
    eq(gw.request("PUT", "/api/invoices/%s/" % got["id"], invoice_input(5), T2).status, 404)
    eq(gw.request("DELETE", "/api/invoices/%s/" % got["id"], token=T2).status, 404)
    eq(gw.request("GET", "/api/invoices/%s/" % got["id"], token=T1).json(), got)


def test_method_not_allowed(gw):
    pid = str(uuid.uuid4())
    for method, path in [("PATCH", "/api/payments/%s/" % pid), ("PUT", "/api/payments/%s/" % pid),
                         ("DELETE", "/api/invoices/"), ("POST", "/api/invoices/summary/"),
                         ("PUT", "/api/payments/")]:
        r = gw.request(method, path, {}, T1)
        eq(r.status, 405, path)
        eq(r.body, ('{"detail":"Method \\"%s\\" not allowed."}' % method).encode())
        assert "allow" in r.headers
    r = gw.request("PATCH", "/api/payments/%s/" % pid, {}, T1)
    eq(r.headers["allow"], "GET, DELETE, HEAD, OPTIONS")  # DRF's own order


# --- validation ---------------------------------------------------------------------

def test_missing_required(gw):
    r = gw.request("POST", "/api/invoices/", {"client_name": "Acme"}, T1)
    eq(r.status, 400)
    eq(r.body, b'{"invoice_number":["This field is required."],"issue_date":["This field is required."]}')
    r = gw.request("POST", "/api/invoices/", raw=b"", token=T1)
    eq(r.status, 400)
    eq(r.body, b'{"invoice_number":["This field is required."],"client_name":["This field is required."],'
               b'"issue_date":["This field is required."]}')


def test_malformed_bodies(gw):
    before = count_rows(gw)
    r = gw.request("POST", "/api/invoices/", raw=b"{bad json", token=T1)
    eq(r.status, 400)
    assert r.json()["detail"].startswith("JSON parse error - "), r.text
    r = gw.request("POST", "/api/invoices/", raw=b"[]", token=T1)
    eq((r.status, r.body), (400, b'{"non_field_errors":["Invalid data. Expected a dictionary, but got list."]}'))
    r = gw.request("POST", "/api/invoices/", raw=b'"text"', token=T1)
    eq((r.status, r.body), (400, b'{"non_field_errors":["Invalid data. Expected a dictionary, but got str."]}'))
    r = gw.request("POST", "/api/invoices/", raw=b"null", token=T1)
    eq((r.status, r.body), (400, b'{"non_field_errors":["No data provided"]}'))
    r = gw.request("POST", "/api/invoices/", raw=b'{"invoice_number":"\xff\xfe"}', token=T1)
    eq(r.status, 400)
    assert r.json()["detail"].startswith("JSON parse error - ")
    r = gw.request("POST", "/api/invoices/", raw=b"[" * 5000, token=T1)
    eq(r.status, 400)
    r = gw.request("POST", "/api/invoices/", raw=b'{"a":1} trailing', token=T1)
    eq(r.status, 400)
    r = gw.request("POST", "/api/invoices/", token=T1, raw=b"invoice_number=1",
                   headers={"Content-Type": "text/plain"})
    eq((r.status, r.body), (415, b'{"detail":"Unsupported media type \\"text/plain\\" in request."}'))
    eq(count_rows(gw), before)
    assert gw.alive()


def test_several_bad_fields(gw):
    body = {"invoice_number": "INV-X", "client_name": "X", "client_email": "not-an-email",
            "issue_date": "01/11/2025", "status": "nope", "total_amount": "abc",
            "items": [{"description": "", "amount": None}]}
    body["items"][0].pop("amount")
    r = gw.request("POST", "/api/invoices/", body, T1)
    eq(r.status, 400)
    eq(r.body, b'{"client_email":["Enter a valid email address."],"issue_date":["Date has wrong format. '
               b'Use one of these formats instead: YYYY-MM-DD."],"status":["\\"nope\\" is not a valid choice."],'
               b'"total_amount":["A valid number is required."],"items":[{"description":["This field may not '
               b'be blank."],"unit_price":["This field is required."],"amount":["This field is required."]}]}')


def test_decimal_rules(gw):
    base = invoice_input(90)
    cases = [("1234567890123.00", b'{"total_amount":["Ensure that there are no more than 12 digits in total."]}'),
             ("1.234", b'{"total_amount":["Ensure that there are no more than 2 decimal places."]}'),
             ("12345678901.0", b'{"total_amount":["Ensure that there are no more than 10 digits before the decimal point."]}'),
             (True, b'{"total_amount":["A valid number is required."]}'),
             ({"$gt": 0}, b'{"total_amount":["A valid number is required."]}'),
             (None, b'{"total_amount":["This field may not be null."]}'),
             ("NaN", b'{"total_amount":["A valid number is required."]}')]
    for val, want in cases:
        r = gw.request("POST", "/api/invoices/", dict(base, total_amount=val), T1)
        eq((r.status, r.body), (400, want), repr(val))
    got = create(gw, dict(base, total_amount=-0.5, subtotal=" 7 ", tax_amount=0))
    eq((got["total_amount"], got["subtotal"], got["tax_amount"]), ("-0.50", "7.00", "0.00"))


def test_injection_and_types(gw):
    before = count_rows(gw)
    cases = [({"invoice_number": {"$gt": ""}}, b'{"invoice_number":["Not a valid string."]}'),
             ({"invoice_number": ["a"]}, b'{"invoice_number":["Not a valid string."]}'),
             ({"invoice_number": True}, b'{"invoice_number":["Not a valid string."]}'),
             ({"client_name": "x" * 201}, b'{"client_name":["Ensure this field has no more than 200 characters."]}'),
             ({"invoice_number": "   "}, b'{"invoice_number":["This field may not be blank."]}'),
             ({"invoice_number": "a\u0000b"}, b'{"invoice_number":["Null characters are not allowed."]}'),
             ({"status": {"$ne": "x"}}, b'{"status":["\\"{\'$ne\': \'x\'}\\" is not a valid choice."]}'),
             ({"due_date": "2025-02-30"}, b'{"due_date":["Date has wrong format. Use one of these formats instead: YYYY-MM-DD."]}'),
             ({"items": {"description": "x"}}, b'{"items":{"non_field_errors":["Expected a list of items but got type \\"dict\\"."]}}'),
             ({"items": ["x"]}, b'{"items":[{"non_field_errors":["Invalid data. Expected a dictionary, but got str."]}]}'),
             ({"items": [{"description": "ok", "unit_price": 1, "amount": 1, "position": -1}]},
              b'{"items":[{"position":["Ensure this value is greater than or equal to 0."]}]}'),
             ({"items": None}, b'{"items":["This field may not be null."]}')]
    for over, want in cases:
        r = gw.request("POST", "/api/invoices/", invoice_input(91, **over), T1)
        eq((r.status, r.body), (400, want), repr(over))
    eq(count_rows(gw), before)
    # non-ASCII text within the limit is fine and comes back intact
    got = create(gw, invoice_input(92, client_name="\u0939\u093f\u0938\u093e\u092c \u20b9 \U0001F600" + "x" * 191))
    eq(len(got["client_name"]), 200)


def test_unique_invoice_number(gw):
    create(gw, invoice_input(6))
    r = gw.request("POST", "/api/invoices/", invoice_input(6), T1)
    eq((r.status, r.body), (400, b'{"non_field_errors":["The fields user, invoice_number must make a unique set."]}'))
    create(gw, invoice_input(6), T2)          # per user
    other = create(gw, invoice_input(7))
    r = gw.request("PATCH", "/api/invoices/%s/" % other["id"], {"invoice_number": "INV-0006"}, T1)
    eq((r.status, r.body), (400, b'{"non_field_errors":["The fields user, invoice_number must make a unique set."]}'))


def test_operators_in_every_field(gw):
    """$-operators as JSON values are rejected field by field; $-text is text."""
    before = count_rows(gw)
    base = invoice_input(93)
    for field in list(base):
        for op in ({"$gt": ""}, {"$where": "1"}, [{"$ne": None}]):
            r = gw.request("POST", "/api/invoices/", dict(base, **{field: op}), T1)
            eq(r.status, 400, "%s=%r: %s" % (field, op, r.text))
            assert field in r.json(), r.text
    for field in base["items"][0]:
        item = dict(base["items"][0], **{field: {"$gt": ""}})
        r = gw.request("POST", "/api/invoices/", dict(base, items=[item]), T1)
        eq(r.status, 400, "items.%s: %s" % (field, r.text))
    eq(count_rows(gw), before)
    texts = dict(invoice_number="$gt", client_name='{"$ne": null}', notes="$where: sleep(1000)",
                 client_email="", items=[dict(base["items"][0], description="$set")])
    got = create(gw, dict(base, **texts))
    for k in ("invoice_number", "client_name", "notes"):
        eq(got[k], texts[k])
    eq(got["items"][0]["description"], "$set")
    r = gw.request("GET", "/api/invoices/%s/" % got["id"], token=T1)
    eq(r.json(), got)
    r = gw.request("GET", "/api/invoices/?search=%24gt", token=T1).json()
    eq([d["id"] for d in r["results"]], [got["id"]])
    # filter values are compared as values, never parsed; unknown parameters are ignored
    total = gw.request("GET", "/api/invoices/", token=T1).json()["count"]
    for q, want in (("currency=%24ne", 0), ("currency=%24gt", 0), ("currency%5B%24ne%5D=x", total)):
        r = gw.request("GET", "/api/invoices/?" + q, token=T1)
        eq((r.status, r.json()["count"]), (200, want), q)
    r = gw.request("GET", "/api/invoices/?currency=%7B%22%24ne%22%3A%22x%22%7D", token=T1)
    eq((r.status, r.body), (400, b'{"currency":["Ensure this field has no more than 3 characters."]}'))


def test_search_metacharacters(gw):
    """Regular-expression and LIKE metacharacters in search terms are plain
    text.  Runs as user 3 before seed_user3 and deletes what it made."""
    t4 = make_token(3)
    eq(gw.request("GET", "/api/invoices/", token=t4).json()["count"], 0)
    names = ["Alpha.Beta", "AlphaXBeta", "a+b", "aab", "(x)", "[y]", "c\\d", "cd", "^e$", "e",
             "f|g", "$where", "{h}", "?i*", "100%", "1000", "a_b", "axb", "dot.", "star*"]
    docs = [create(gw, invoice_input(300 + i, client_name=n, client_email=""), t4) for i, n in enumerate(names)]
    terms = [".", ".*", "a.b", "a+b", "(x)", "(", ")", "[y]", "[", "]", "\\", "c\\d", "^e", "e$", "$",
             "f|g", "|", "$where", "{h}", "{", "}", "?", "*", "\\w", "%", "_", "a_b", "^", "+", "\\d"]
    for term in terms:
        want = sorted(d["id"] for d in docs
                      if any(term.lower() in d[f].lower() for f in ("invoice_number", "client_name", "client_email")))
        r = gw.request("GET", "/api/invoices/?search=" + urllib.parse.quote(term), token=t4)
        eq(r.status, 200, term)
        body = r.json()
        got = sorted(d["id"] for d in body["results"])
        if body["next"]:
            got += [d["id"] for d in gw.request("GET", "/api/invoices/?page=2&search=" + urllib.parse.quote(term),
                                                 token=t4).json()["results"]]
            got.sort()
        eq((body["count"], got), (len(want), want), "search %r" % term)
    for d in docs:
        eq(gw.request("DELETE", "/api/invoices/%s/" % d["id"], token=t4).status, 204)


# --- lists -----------------------------------------------------------------------

def seed_user3(gw):
    """47 invoices for user 3, made through the API."""
    out = []
    for n in range(47):
        out.append(create(gw, invoice_input(100 + n, client_name=("Client Alpha %d" if n % 3 else "Beta %d") % n,
                                            status=["draft", "sent", "paid"][n % 3],
                                            currency="USD" if n % 5 == 0 else "INR",
                                            total_amount="%d.%02d" % (1000 - n * 7 % 300, n)), make_token(3)))
    return out


def test_pagination(gw, data):
    t3 = make_token(3)
    host = "api.example.com:8080"
    r = gw.request("GET", "/api/invoices/", token=t3, host=host)
    eq(r.status, 200)
    body = r.json()
    eq(body["count"], 47)
    eq(body["next"], "http://api.example.com:8080/api/invoices/?page=2")
    eq(body["previous"], None)
    newest = newest_first(data)
    eq([d["id"] for d in body["results"]], [d["id"] for d in newest[:20]])
    r = gw.request("GET", "/api/invoices/?page=2", token=t3, host=host).json()
    eq(r["previous"], "http://api.example.com:8080/api/invoices/")
    eq(r["next"], "http://api.example.com:8080/api/invoices/?page=3")
    r3 = gw.request("GET", "/api/invoices/?page=3", token=t3, host=host).json()
    eq((len(r3["results"]), r3["next"], r3["previous"]),
       (7, None, "http://api.example.com:8080/api/invoices/?page=2"))
    eq(gw.request("GET", "/api/invoices/?page=last", token=t3).json()["results"], r3["results"])
    seen = set()
    for p in (1, 2, 3):
        seen |= {d["id"] for d in gw.request("GET", "/api/invoices/?page=%d" % p, token=t3).json()["results"]}
    eq(seen, {d["id"] for d in data})
    for bad in ("0", "4", "abc", "2.0", "", "-1"):
        r = gw.request("GET", "/api/invoices/?page=" + bad, token=t3)
        eq((r.status, r.body), (404, b'{"detail":"Invalid page."}'), bad)
    # the example of API.md: parameters sorted, page replaced or removed
    r = gw.request("GET", "/api/invoices/?search=example&page=2&ordering=-total_amount", token=t3, host=host).json()
    eq(r["next"], "http://api.example.com:8080/api/invoices/?ordering=-total_amount&page=3&search=example")
    eq(r["previous"], "http://api.example.com:8080/api/invoices/?ordering=-total_amount&search=example")
    # an empty list has one empty page
    r = gw.request("GET", "/api/invoices/?status=overdue", token=t3)
    eq(r.body, b'{"count":0,"next":null,"previous":null,"results":[]}')


def test_null_ordering(gw):
    """Ordering by a nullable field places null as the legacy store does:
    below every value on SQLite (first ascending), above it on PostgreSQL
    (last ascending), and MongoDB follows the legacy store it came from."""
    t5 = T2                 # users must exist in auth_user
    dues = [None, "2025-12-01", None, "2025-10-05", "2026-01-20", None, "2025-12-01"]
    docs = [create(gw, invoice_input(9200 + i, due_date=d, total_amount="%d.00" % (10 + i)), t5)
            for i, d in enumerate(dues)]
    high = gw.pg is not None or gw.url.startswith("postgres")

    def ordered(keys):
        """The ids in the store's order: the primary key last, then each key
        from the last to the first (sorts are stable)."""
        res = sorted(docs, key=lambda d: d["id"].replace("-", ""))
        for k in reversed(keys):
            name = k.lstrip("-")

            def one(d, name=name):
                v = d[name]
                if v is None:
                    return (1 if high else 0, "")
                return (0 if high else 1, Decimal(v) if name == "total_amount" else v)
            res = sorted(res, key=one, reverse=k.startswith("-"))
        return [d["id"] for d in res]

    for q in ("due_date", "-due_date", "due_date,-total_amount", "-due_date,total_amount", "issue_date,due_date"):
        mine = {d["id"] for d in docs}      # the user may have others from earlier tests
        got = [d["id"] for d in gw.request("GET", "/api/invoices/?ordering=" + q, token=t5).json()["results"]
               if d["id"] in mine]
        eq(got, ordered(q.split(",")), q)
    for d in docs:
        eq(gw.request("DELETE", "/api/invoices/%s/" % d["id"], token=t5).status, 204)


def test_filters_and_ordering(gw, data):
    t3 = make_token(3)

    def ids(path):
        out, url = [], path
        while url:
            r = gw.request("GET", url, token=t3)
            eq(r.status, 200, url)
            out += [d["id"] for d in r.json()["results"]]
            url = r.json()["next"]
            url = url and url.split("%d" % gw.port, 1)[1]
        return out

    paid = [d for d in data if d["status"] == "paid"]
    eq(ids("/api/invoices/?status=paid"),
       [d["id"] for d in newest_first(paid)])
    eq(sorted(ids("/api/invoices/?status=paid&currency=USD")),
       sorted(d["id"] for d in paid if d["currency"] == "USD"))
    r = gw.request("GET", "/api/invoices/?status=bogus", token=t3)
    eq((r.status, r.body), (400, b'{"status":["Select a valid choice. bogus is not one of the available choices."]}'))
    by_total = sorted(data, key=lambda d: (-Decimal(d["total_amount"]), d["id"]))
    eq(ids("/api/invoices/?ordering=-total_amount"), [d["id"] for d in by_total])
    eq(ids("/api/invoices/?ordering=invoice_number"), [d["id"] for d in sorted(data, key=lambda d: d["invoice_number"])])
    # unknown fields are dropped; none left means the default ordering
    eq(ids("/api/invoices/?ordering=nope,-total_amount"), [d["id"] for d in by_total])
    default = [d["id"] for d in newest_first(data)]
    eq(ids("/api/invoices/?ordering=user_id"), default)
    eq(ids("/api/invoices/?ordering=status,-total_amount"), [d["id"] for d in sorted(
        data, key=lambda d: (-Decimal(d["total_amount"]), d["id"]))])  # status is not orderable
    eq(ids("/api/invoices/?ordering=issue_date,-total_amount"), [d["id"] for d in sorted(
        sorted(data, key=lambda d: (-Decimal(d["total_amount"]), d["id"])), key=lambda d: d["issue_date"])])


def test_search(gw, data):
    t3 = make_token(3)
    r = gw.request("GET", "/api/invoices/?search=ALPHA", token=t3).json()
    eq(r["count"], len([d for d in data if "alpha" in d["client_name"].lower()]))
    r = gw.request("GET", "/api/invoices/?search=alpha,+1", token=t3).json()
    eq(r["count"], len([d for d in data if "alpha" in d["client_name"].lower() and
                        any("1" in d[f] for f in ("invoice_number", "client_name", "client_email"))]))
    # LIKE metacharacters are plain text
    eq(gw.request("GET", "/api/invoices/?search=%25", token=t3).json()["count"], 0)
    eq(gw.request("GET", "/api/invoices/?search=_", token=t3).json()["count"], 0)
    r = gw.request("GET", "/api/invoices/search/?q=beta+c1", token=t3, host="h").json()
    want = sorted([d for d in data if "beta" in d["client_name"].lower() and
                   any("c1" in d[f].lower() for f in ("invoice_number", "client_name", "client_email"))],
                  key=lambda d: d["id"])
    want = newest_first(want)
    eq([d["id"] for d in r["results"]], [d["id"] for d in want][:20])
    eq(r["count"], len(want))
    r = gw.request("GET", "/api/invoices/search/?q=a&page=2", token=t3, host="h").json()
    eq(r["previous"], "http://h/api/invoices/search/?q=a")


def test_recent_and_summary(gw, data):
    t3 = make_token(3)
    r = gw.request("GET", "/api/invoices/recent/", token=t3)
    eq(r.status, 200)
    newest = newest_first(data)[:5]
    eq(r.body, dumps(newest))
    r = gw.request("GET", "/api/invoices/summary/", token=t3)
    groups = {}
    for d in data:
        c, s = groups.get(d["status"], (0, Decimal(0)))
        groups[d["status"]] = (c + 1, s + Decimal(d["total_amount"]))
    want = {"count": len(data), "total_amount": money(sum(Decimal(d["total_amount"]) for d in data)),
            "by_status": [{"status": k, "count": v[0], "total_amount": money(v[1])} for k, v in sorted(groups.items())]}
    eq(r.body, dumps(want))
    empty = gw.request("GET", "/api/invoices/summary/", token=make_token(99))
    eq(empty.body, b'{"count":0,"total_amount":"0.00","by_status":[]}')


# --- payments --------------------------------------------------------------------------

def test_payments(gw):
    inv = create(gw, invoice_input(300))
    p_in = {"invoice": inv["id"], "amount": "59.5", "method": "upi", "transaction_id": "T1",
            "paid_at": "2025-11-02T15:30:00+05:30"}
    r = gw.request("POST", "/api/payments/", p_in, T1)
    eq(r.status, 201, r.text)
    got = r.json()
    assert UUID.match(got["id"]) and ISO.match(got["created_at"])
    eq(r.body, dumps({"id": got["id"], "invoice": inv["id"], "amount": "59.50", "method": "upi",
                      "transaction_id": "T1", "status": "captured", "paid_at": "2025-11-02T10:00:00Z",
                      "created_at": got["created_at"]}))
    eq(gw.request("GET", "/api/payments/%s/" % got["id"], token=T1).body, r.body)
    zero = "00000000-0000-0000-0000-000000000000"
    r = gw.request("POST", "/api/payments/", dict(p_in, invoice=zero), T1)
    eq((r.status, r.body), (400, ('{"invoice":["Invalid pk \\"%s\\" - object does not exist."]}' % zero).encode()))
    # another user's invoice does not exist for this user
    r = gw.request("POST", "/api/payments/", p_in, T2)
    eq(r.status, 400)
    eq(r.json(), {"invoice": ['Invalid pk "%s" - object does not exist.' % inv["id"]]})
    r = gw.request("POST", "/api/payments/", {"invoice": "nope", "amount": "x", "method": "cheque"}, T1)
    eq(r.status, 400)
    eq(r.body, '{"invoice":["\u201cnope\u201d is not a valid UUID."],"amount":["A valid number is required."],'
               '"method":["\\"cheque\\" is not a valid choice."],"paid_at":["This field is required."]}'.encode())
    r = gw.request("POST", "/api/payments/", dict(p_in, paid_at="2025-11-02"), T1)
    eq(r.json(), {"paid_at": ["Datetime has wrong format. Use one of these formats instead: "
                              "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."]})
    for n, when in enumerate(["2025-11-03T09:00:00Z", "2025-11-01T09:00:00Z"]):
        eq(gw.request("POST", "/api/payments/", dict(p_in, paid_at=when, transaction_id="T%d" % (n + 2),
                                                     method="cash"), T1).status, 201)
    lst = gw.request("GET", "/api/payments/?invoice=%s" % inv["id"], token=T1).json()
    eq([p["paid_at"] for p in lst["results"]], ["2025-11-03T09:00:00Z", "2025-11-02T10:00:00Z", "2025-11-01T09:00:00Z"])
    eq(gw.request("GET", "/api/payments/?invoice=%s&method=cash&ordering=paid_at" % inv["id"], token=T1)
       .json()["results"][0]["transaction_id"], "T3")
    eq(gw.request("GET", "/api/payments/?search=t2", token=T1).json()["count"], 1)
    r = gw.request("GET", "/api/payments/?invoice=zzz", token=T1)
    eq((r.status, r.body), (400, b'{"invoice":["Select a valid choice. That choice is not one of the available choices."]}'))
    eq(gw.request("DELETE", "/api/payments/%s/" % got["id"], token=T1).status, 204)
    eq(gw.request("GET", "/api/payments/%s/" % got["id"], token=T1).status, 404)


# --- storage in Django's formats ----------------------------------------------------

def test_stored_in_django_formats(gw):
    got = create(gw, invoice_input(400, due_date="2026-01-15", total_amount="118.00", subtotal="100.5"))
    row = gw.sql("SELECT id, issue_date, due_date, created_at, updated_at, typeof(total_amount), total_amount,"
                 " typeof(subtotal), subtotal, user_id, status FROM invoices_invoice WHERE id=?",
                 (got["id"].replace("-", ""),))
    eq(len(row), 1)
    (rid, issue, due, created, updated, ttype, total, stype, sub, uid, status) = row[0]
    assert re.match(r"^[0-9a-f]{32}$", rid), rid
    eq((issue, due, uid, status), (got["issue_date"], "2026-01-15", 1, "sent"))
    assert re.match(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{3}000)?$", created), created
    eq(created.replace(" ", "T") + "Z", got["created_at"])
    eq((ttype, total, stype, sub), ("integer", 118, "real", 100.5))  # NUMERIC affinity, as Django leaves it
    items = gw.sql("SELECT id, invoice_id, quantity, position FROM invoices_invoiceitem WHERE invoice_id=?", (rid,))
    eq(len(items), 1)
    assert re.match(r"^[0-9a-f]{32}$", items[0][0])
    eq(items[0][2:], (2, 0))


def check_django_rows_served(gw, inv, item, pay):
    """The rows that test_*rows_written_by_django_are_served store, as the API shows them."""
    r = gw.request("GET", "/api/invoices/%s/" % inv, token=T2)
    eq(r.status, 200, r.text)
    eq(r.body, dumps({"id": str(inv), "invoice_number": "DJ-1", "client_name": "Django Co",
                      "client_email": "dj@example.com", "issue_date": "2025-11-01", "due_date": None,
                      "status": "sent", "subtotal": "100.00", "tax_amount": "18.00", "total_amount": "118.40",
                      "currency": "INR", "notes": "from Django",
                      "items": [{"id": str(item), "description": "Widget", "quantity": "2.00",
                                 "unit_price": "50.00", "amount": "100.00", "position": 0}],
                      "created_at": "2026-11-21T17:30:39.794993Z", "updated_at": "2026-11-21T17:30:39Z"}))
    r = gw.request("GET", "/api/payments/%s/" % pay, token=T2)
    eq(r.body, dumps({"id": str(pay), "invoice": str(inv), "amount": "59.50", "method": "upi",
                      "transaction_id": "T1", "status": "captured", "paid_at": "2025-11-02T10:00:00Z",
                      "created_at": "2026-11-21T17:30:39.799983Z"}))


def test_rows_written_by_django_are_served(gw):
    inv, item, pay = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    gw.sql("INSERT INTO invoices_invoice VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
           (inv.hex, "DJ-1", "Django Co", "dj@example.com", "2025-11-01", None, "sent", 100, 18.0, 118.4,
            "INR", "from Django", "2026-11-21 17:30:39.794993", "2026-11-21 17:30:39", 2))
    gw.sql("INSERT INTO invoices_invoiceitem VALUES (?,?,?,?,?,?,?)",
           (item.hex, "Widget", 2, 50, 100, 0, inv.hex))
    gw.sql("INSERT INTO invoices_payment VALUES (?,?,?,?,?,?,?,?,?)",
           (pay.hex, "59.5", "upi", "T1", "captured", "2025-11-02 10:00:00", "2026-11-21 17:30:39.799983", inv.hex, 2))
    check_django_rows_served(gw, inv, item, pay)
    # and a write through the gateway leaves Django's other rows alone
    r = gw.request("PATCH", "/api/invoices/%s/" % inv, {"status": "paid"}, T2)
    eq(r.status, 200)
    eq(gw.sql("SELECT status, total_amount, notes FROM invoices_invoice WHERE id=?", (inv.hex,)),
       [("paid", 118.4, "from Django")])


def test_pg_stored_in_django_formats(gw):
    got = create(gw, invoice_input(400, due_date="2026-01-15", total_amount="118.00", subtotal="100.5"))
    row = gw.sql("SELECT id::text, pg_typeof(id)::text, issue_date::text, due_date::text, pg_typeof(created_at)::text,"
                 " created_at AT TIME ZONE 'UTC', total_amount::text, pg_typeof(total_amount)::text, user_id"
                 " FROM invoices_invoice WHERE id=?", (got["id"],))
    eq(len(row), 1)
    eq(row[0][:4], (got["id"], "uuid", got["issue_date"], "2026-01-15"))
    eq(row[0][4], "timestamp with time zone")
    eq(dt.datetime.fromisoformat(row[0][5]), dt.datetime.fromisoformat(got["created_at"].rstrip("Z")))
    eq(row[0][6:], ("118.00", "numeric", 1))
    items = gw.sql("SELECT quantity::text, position FROM invoices_invoiceitem WHERE invoice_id=?", (got["id"],))
    eq(items, [("2.00", 0)])


def test_pg_rows_written_by_django_are_served(gw):
    inv, item, pay = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    gw.sql("INSERT INTO invoices_invoice VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
           (str(inv), "DJ-1", "Django Co", "dj@example.com", "2025-11-01", None, "sent", "100.00", "18.00",
            "118.40", "INR", "from Django", "2026-11-21 17:30:39.794993+00", "2026-11-21 23:00:39+05:30", 2))
    gw.sql("INSERT INTO invoices_invoiceitem VALUES (?,?,?,?,?,?,?)",
           (str(item), "Widget", "2.00", "50.00", "100.00", 0, str(inv)))
    gw.sql("INSERT INTO invoices_payment VALUES (?,?,?,?,?,?,?,?,?)",
           (str(pay), "59.50", "upi", "T1", "captured", "2025-11-02 10:00:00+00", "2026-11-21 17:30:39.799983+00",
            str(inv), 2))
    check_django_rows_served(gw, inv, item, pay)
    r = gw.request("PATCH", "/api/invoices/%s/" % inv, {"status": "paid"}, T2)
    eq(r.status, 200)
    eq(gw.sql("SELECT status, total_amount::text, notes FROM invoices_invoice WHERE id=?", (str(inv),)),
       [("paid", "118.40", "from Django")])


# --- MongoDB documents (docs/design.md §5), read and written with the official driver -----

def test_mongo_bson_types(gw):
    got = create(gw, invoice_input(401, due_date="2026-01-15", total_amount="118.00", subtotal="100.5"))
    p = gw.request("POST", "/api/payments/", {"invoice": got["id"], "amount": "59.5", "method": "upi",
                                             "paid_at": "2025-11-02T10:00:00.123Z"}, T1)
    eq(p.status, 201, p.text)
    # Canonical extended JSON names every BSON type exactly.
    inv, pay = gw.docs("return [await db.collection('invoices').findOne({_id: %s}),"
                       " await db.collection('payments').findOne({_id: %s})];"
                       % (json.dumps(got["id"]), json.dumps(p.json()["id"])), relaxed=False)
    day = 86400000

    def date_ms(v):
        assert list(v) == ["$date"] and list(v["$date"]) == ["$numberLong"], v
        return int(v["$date"]["$numberLong"])

    eq(inv["_id"], got["id"])                            # uuid: the 36-char string
    assert "id" not in inv
    eq(inv["user_id"], {"$numberInt": "1"})
    eq(inv["invoice_number"], "INV-0401")
    eq(date_ms(inv["issue_date"]), int(dt.datetime.fromisoformat(got["issue_date"]).replace(
        tzinfo=dt.timezone.utc).timestamp()) * 1000)
    eq(date_ms(inv["due_date"]) % day, 0)                 # date: a Date at 00:00 UTC
    eq(date_ms(inv["created_at"]), int(ts(got["created_at"]).timestamp() * 1000))
    eq((inv["total_amount"], inv["subtotal"]), ({"$numberLong": "11800"}, {"$numberLong": "10050"}))
    eq(list(inv).index("items"), list(inv).index("notes") + 1)
    eq(len(inv["items"]), 1)                              # items embedded, not a collection
    it = inv["items"][0]
    eq(it, {"id": got["items"][0]["id"], "description": "Widget", "quantity": {"$numberLong": "200"},
            "unit_price": {"$numberLong": "5000"}, "amount": {"$numberLong": "10000"},
            "position": {"$numberInt": "0"}})
    names = gw.docs("return (await db.listCollections().toArray()).map(c => c.name).sort();")
    eq(names, ["invoices", "payments"])
    eq(pay["invoice_id"], got["id"])
    eq(pay["amount"], {"$numberLong": "5950"})
    eq(date_ms(pay["paid_at"]) % 1000, 123)


def test_mongo_documents_written_elsewhere_are_served(gw):
    inv, item, pay = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    gw.docs("""
const {Long} = require('mongodb');
await db.collection('invoices').insertOne({_id: %(inv)s, invoice_number: 'JS-1', client_name: 'Node Co',
  client_email: 'js@example.com', issue_date: new Date('2025-11-01T00:00:00Z'), due_date: null,
  status: 'sent', subtotal: Long.fromNumber(10000), tax_amount: Long.fromNumber(1800),
  total_amount: Long.fromNumber(11840), currency: 'INR', notes: 'from Node',
  items: [{id: %(item)s, description: 'Widget', quantity: Long.fromNumber(200), unit_price: Long.fromNumber(5000),
           amount: Long.fromNumber(10000), position: 0}],
  created_at: new Date('2026-11-21T17:30:39.794Z'), updated_at: new Date('2026-11-21T17:30:39Z'), user_id: 2});
await db.collection('payments').insertOne({_id: %(pay)s, invoice_id: %(inv)s, amount: Long.fromNumber(5950),
  method: 'upi', transaction_id: 'T1', status: 'captured', paid_at: new Date('2025-11-02T10:00:00Z'),
  created_at: new Date('2026-11-21T17:30:39.799Z'), user_id: 2});
""" % {"inv": json.dumps(inv), "item": json.dumps(item), "pay": json.dumps(pay)})
    r = gw.request("GET", "/api/invoices/%s/" % inv, token=T2)
    eq(r.status, 200, r.text)
    eq(r.body, dumps({"id": inv, "invoice_number": "JS-1", "client_name": "Node Co",
                      "client_email": "js@example.com", "issue_date": "2025-11-01", "due_date": None,
                      "status": "sent", "subtotal": "100.00", "tax_amount": "18.00", "total_amount": "118.40",
                      "currency": "INR", "notes": "from Node",
                      "items": [{"id": item, "description": "Widget", "quantity": "2.00",
                                 "unit_price": "50.00", "amount": "100.00", "position": 0}],
                      "created_at": "2026-11-21T17:30:39.794000Z", "updated_at": "2026-11-21T17:30:39Z"}))
    r = gw.request("GET", "/api/payments/%s/" % pay, token=T2)
    eq(r.body, dumps({"id": pay, "invoice": inv, "amount": "59.50", "method": "upi",
                      "transaction_id": "T1", "status": "captured", "paid_at": "2025-11-02T10:00:00Z",
                      "created_at": "2026-11-21T17:30:39.799000Z"}))
    r = gw.request("PATCH", "/api/invoices/%s/" % inv, {"status": "paid"}, T2)
    eq(r.status, 200)
    doc = gw.docs("const d = await db.collection('invoices').findOne({_id: %s});"
                  "return [d.status, d.total_amount, d.notes, d.items.length];" % json.dumps(inv))
    eq(doc, ["paid", 11840, "from Node", 1])
    # A document the gateway cannot read is a 500 for that request only.
    gw.docs("await db.collection('invoices').updateOne({_id: %s}, {$set: {total_amount: 'lots'}});" % json.dumps(inv))
    eq(gw.request("GET", "/api/invoices/%s/" % inv, token=T2).status, 500)
    assert gw.alive()


# --- limits and hostile input ------------------------------------------------------

def raw_exchange(gw, data, timeout=10):
    s = gw.connect(timeout)
    s.sendall(data)
    out = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
            if b"\r\n\r\n" in out and len(out) > 12:
                head = out.split(b"\r\n\r\n")[0]
                m = re.search(rb"Content-Length: (\d+)", head)
                if m and len(out) >= len(head) + 4 + int(m.group(1)):
                    break
    except socket.timeout:
        pass
    s.close()
    return out


def test_oversize_body(gw):
    before = count_rows(gw)
    big = json.dumps(invoice_input(500, notes="x" * (1024 * 1024 + 10))).encode()
    r = gw.request("POST", "/api/invoices/", raw=big, token=T1)
    eq((r.status, r.body), (413, b'{"detail":"Request body is too large."}'))
    # far over the limit: refused before the body is read
    huge = raw_exchange(gw, b"POST /api/invoices/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                            b"Content-Length: 100000000\r\n\r\n{")
    assert huge.startswith(b"HTTP/1.1 413"), huge[:80]
    # in JSON, as every answer of the gateway's, whether it came with a
    # length or chunked (an HTTP layer's own page once answered these)
    chunked = raw_exchange(gw, b"POST /api/invoices/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                               b"Transfer-Encoding: chunked\r\n\r\n" + b"100000\r\n" + b"x" * 0x100000 + b"\r\n" +
                               b"100000\r\n" + b"x" * 0x100000 + b"\r\n0\r\n\r\n")
    for out in (huge, chunked):
        assert re.match(rb"HTTP/1\.1 413 .*\r\nContent-Type: application/json\r\n.*\r\n\r\n"
                        rb'\{"detail":"Request body is too large."\}$', out, re.S), out[:300]
    eq(count_rows(gw), before)
    assert gw.alive()


def test_long_urls_headers_and_odd_methods(gw):
    before = count_rows(gw)
    out = raw_exchange(gw, b"GET /api/invoices/?q=" + b"a" * 70000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert re.match(rb"HTTP/1\.[01] 4\d\d", out) or out == b"", out[:80]
    out = raw_exchange(gw, b"GET /api/invoices/ HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 70000 + b"\r\n\r\n")
    assert re.match(rb"HTTP/1\.[01] 4\d\d", out) or out == b"", out[:80]
    for method in (b"FOO", b"TRACE", b"CONNECT", b"BREW"):
        out = raw_exchange(gw, method + b" /api/invoices/ HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        assert re.match(rb"HTTP/1\.[01] (400|405|501)", out), (method, out[:80])
        assert b"Content-Type: application/json" in out and out.endswith(b'"}'), (method, out[:300])
    out = raw_exchange(gw, b"\x00\x01garbage\r\n\r\n")
    assert out == b"" or re.match(rb"HTTP/1\.[01] 400", out), out[:80]
    r = gw.request("GET", "/api/invoices/?" + "&".join("search=%d" % i for i in range(500)), token=T1)
    eq(r.status, 200)
    r = gw.request("GET", "/api/invoices/?page=%ff%fe&ordering=%00", token=T1)
    eq(r.status, 404)
    eq(count_rows(gw), before)
    assert gw.alive()


def test_request_id_and_cors(gw):
    r = gw.request("GET", "/api/invoices/", token=T1, headers={"X-Request-Id": "abc-123"})
    eq(r.headers["x-request-id"], "abc-123")
    r = gw.request("GET", "/api/invoices/", token=T1, headers={"X-Request-Id": "bad id\u00e9".encode().decode("latin-1")})
    assert re.match(r"^[0-9a-f]{32}$", r.headers["x-request-id"])
    r = gw.request("OPTIONS", "/api/invoices/", headers={"Origin": "http://localhost:3000",
                                                        "Access-Control-Request-Method": "POST"})
    eq(r.status, 204)
    eq(r.headers["access-control-allow-origin"], "http://localhost:3000")
    assert "POST" in r.headers["access-control-allow-methods"]
    r = gw.request("GET", "/api/invoices/", token=T1, headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in r.headers
    assert logged(gw, lambda e: e.get("request_id") == "abc-123")


def test_head(gw):
    get = gw.request("GET", "/api/invoices/", token=T1)
    out = raw_exchange(gw, ("HEAD /api/invoices/ HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                            "Connection: close\r\n\r\n" % T1).encode())
    head, _, rest = out.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    assert ("Content-Length: %d" % len(get.body)).encode() in head, head
    eq(rest, b"", "HEAD sends no body")


def test_unknown_paths(gw):
    """Not found, or with an application behind the gateway (here one that
    is down), the application's business."""
    want = (502, b'{"detail":"The application is unavailable."}') if "upstream" in gw.config else \
        (404, b'{"detail":"Not found."}')
    r = gw.request("GET", "/api/unknown/", token=T1)
    eq((r.status, r.body), want)
    eq(gw.request("GET", "/api/invoices", token=T1).status, want[0])


ALLOW = {"invoices": ("GET, POST, HEAD, OPTIONS", "GET, PUT, PATCH, DELETE, HEAD, OPTIONS"),
         "payments": ("GET, POST, HEAD, OPTIONS", "GET, DELETE, HEAD, OPTIONS")}
VIEWS = {"summary/", "recent/", "search/"}
checked = {"answers": 0}


def view_headers(method, path, r):
    """The application's headers on every answer of its views: Allow (401s
    included), no Vary, JSON but for 204.  Paths no view serves get no
    Allow."""
    m = re.match(r"^/api/(invoices|payments)/([^?#]*)", path)
    if not m or r.status not in (200, 201, 204, 400, 401, 404, 405) or \
            "access-control-allow-methods" in r.headers:    # a CORS preflight: the middleware's
        return
    name, rest = m.groups()
    if rest == "":
        want = ALLOW[name][0]
    elif name == "invoices" and rest in VIEWS:
        want = "GET, HEAD, OPTIONS"
    elif re.fullmatch(r"[^/.]+/", rest):
        want = ALLOW[name][1]
    else:
        want = None
    eq(r.headers.get("allow"), want, (method, path, r.status))
    eq(r.headers.get("vary"), None, (method, path))
    if want:
        eq(r.headers.get("content-type"), None if r.status == 204 else "application/json", (method, path))
    checked["answers"] += 1


def test_allow_on_every_view(gw):
    """Each view's Allow on each kind of answer, and the order of DRF's checks:
    credentials, then the method, then the id."""
    inv = create(gw, invoice_input(9101))
    pay = gw.request("POST", "/api/payments/", {"invoice": inv["id"], "amount": "1.00", "method": "upi",
                                                "paid_at": "2025-11-02T10:00:00Z"}, T1).json()
    bad = "/api/invoices/not-a-uuid/"
    cases = [("GET", "/api/invoices/", None, 401), ("GET", "/api/invoices/", T1, 200),
             ("POST", "/api/invoices/", T1, 400), ("DELETE", "/api/invoices/", T1, 405),
             ("OPTIONS", "/api/invoices/", T1, 200), ("HEAD", "/api/invoices/", T1, 200),
             ("GET", "/api/invoices/%s/" % inv["id"], T1, 200), ("PATCH", "/api/invoices/%s/" % inv["id"], T2, 404),
             ("POST", "/api/invoices/%s/" % inv["id"], T1, 405), ("GET", bad, None, 401), ("GET", bad, T1, 404),
             ("PUT", bad, T1, 404), ("POST", bad, T1, 405),
             ("GET", "/api/invoices/summary/", None, 401), ("POST", "/api/invoices/summary/", T1, 405),
             ("GET", "/api/invoices/recent/", T1, 200), ("GET", "/api/invoices/search/?q=x", T1, 200),
             ("GET", "/api/payments/", T1, 200), ("PUT", "/api/payments/%s/" % pay["id"], T1, 405),
             ("PATCH", "/api/payments/not-a-uuid/", T1, 405), ("GET", "/api/payments/%s/" % pay["id"], None, 401),
             ("DELETE", "/api/payments/%s/" % pay["id"], T1, 204), ("GET", "/api/invoices/a.b/", T1, 404),
             ("GET", "/api/invoices/%s/x/" % inv["id"], T1, 404)]
    before, elsewhere = checked["answers"], 0
    for method, path, tok, status in cases:
        r = gw.request(method, path, {} if method in ("POST", "PUT") else None, tok)
        status = unowned(gw, path, (status,))[0]
        elsewhere += status == 502
        eq(r.status, status, (method, path, r.text))
    eq(checked["answers"] - before, len(cases) - elsewhere)
    eq(gw.request("DELETE", "/api/invoices/%s/" % inv["id"], token=T1).status, 204)


OPTIONS_DIR = os.path.join(ROOT, "..", "shared", "examples", "hisabpro", "options")


def captured(name):
    """(status, {header: value}, body) of an answer captured from the application."""
    path = os.path.join(OPTIONS_DIR, name + ".http")
    if not os.path.exists(path):
        raise AssertionError("the application's captured answers are missing: %s" % path)
    with open(path, "rb") as f:
        text = f.read().replace(b"\r\n", b"\n")
    head, body = text.split(b"\n\n", 1)
    lines = head.decode().splitlines()
    headers = dict((k.lower(), v.strip()) for k, v in (line.split(":", 1) for line in lines[1:]))
    return int(lines[0].split()[1]), headers, body.strip()


def test_options_metadata(gw):
    """OPTIONS on every view answers as the application does (DRF's
    SimpleMetadata), compared byte for byte with its captured answers:
    status, Allow, Content-Type and body; the PUT action only on a record
    the client may update."""
    inv = create(gw, invoice_input(9201))
    pay = gw.request("POST", "/api/payments/", {"invoice": inv["id"], "amount": "1.00", "method": "upi",
                                                "paid_at": "2025-11-02T10:00:00Z"}, T1)
    eq(pay.status, 201, pay.text)
    cases = [("invoices-list", "/api/invoices/", T1), ("invoice-detail", "/api/invoices/%s/" % inv["id"], T1),
             ("invoice-detail-other-user", "/api/invoices/%s/" % inv["id"], T2),
             ("invoices-summary", "/api/invoices/summary/", T1), ("invoices-search", "/api/invoices/search/", T1),
             ("payments-list", "/api/payments/", T1), ("payment-detail", "/api/payments/%s/" % pay.json()["id"], T1),
             ("invoices-list-no-token", "/api/invoices/", None)]
    for name, path, tok in cases:
        status, headers, body = captured(name)
        r = gw.request("OPTIONS", path, token=tok)
        eq((r.status, r.headers.get("allow"), r.headers.get("content-type")),
           (status, headers.get("allow"), headers.get("content-type")), name)
        eq(r.body, body, name)


def suite(runner, binary, label, config=None, pg=None, mongo=None, tls=None):
    """The whole contract against one gateway configuration (tls: over TLS,
    every answer the same but for the scheme of its page links)."""
    gw = Gateway(binary, config=config, pg=pg, mongo=mongo, tls=tls, links_as_http=tls is not None)
    gw.check = view_headers
    print("== %s (%s)" % (label, gw.read_log().strip().splitlines()[-1]), flush=True)
    if pg:
        storage = [test_pg_stored_in_django_formats, test_pg_rows_written_by_django_are_served,
                   test_pg_client_leaves_mid_request]
    elif mongo:
        storage = [test_mongo_bson_types, test_mongo_documents_written_elsewhere_are_served]
    else:
        storage = [test_stored_in_django_formats, test_rows_written_by_django_are_served]
    try:
        runner.run([test_no_credentials, test_bad_tokens, test_bad_authorization_header,
                    test_token_without_user, test_allow_on_every_view, test_options_metadata], gw)
        runner.run([test_cli_token_works], gw, binary)
        runner.run([test_create_and_get, test_defaults_unknown_and_read_only_fields, test_put_replaces_items,
                    test_patch, test_delete_cascades, test_not_found_cases, test_method_not_allowed,
                    test_missing_required, test_malformed_bodies, test_several_bad_fields, test_decimal_rules,
                    test_injection_and_types, test_operators_in_every_field, test_unique_invoice_number,
                    test_search_metacharacters, test_null_ordering], gw)
        data = seed_user3(gw)
        runner.run([test_pagination, test_filters_and_ordering, test_search, test_recent_and_summary], gw, data)
        runner.run([test_payments] + storage +
                   [test_oversize_body, test_long_urls_headers_and_odd_methods, test_request_id_and_cors,
                    test_head, test_unknown_paths], gw)
    finally:
        runner.shutdown(gw)


def test_pg_client_leaves_mid_request(gw):
    """Clients that hang up while their request waits on a store worker (held
    by a table lock): the gateway finishes the work, drops the answers, keeps
    serving, and shuts down clean (under the sanitizers too)."""
    import subprocess
    import threading
    holder = subprocess.Popen(["psql", gw.pg.url, "-q", "-c",
                               "BEGIN; LOCK TABLE invoices_invoice IN ACCESS EXCLUSIVE MODE; "
                               "SELECT pg_sleep(1.5); COMMIT;"], stdout=subprocess.DEVNULL)
    time.sleep(0.4)
    for _ in range(3):
        s = gw.connect()
        s.sendall(("GET /api/invoices/ HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n" % T1).encode())
        s.close()
    waiting = []
    t = threading.Thread(target=lambda: waiting.append(gw.request("GET", "/api/invoices/summary/", token=T1)))
    t.start()
    eq(holder.wait(timeout=30), 0)
    t.join(timeout=30)
    eq(waiting[0].status, 200)
    assert gw.alive()


def test_pg_restart(binary, pg):
    """PostgreSQL restarts under the running gateway: 503 JSON in the gap,
    service again with the first request after it is back."""
    gw = Gateway(binary, pg=pg, config={"store_threads": 3})
    try:
        t = make_token(1)
        eq(gw.request("GET", "/api/invoices/", token=t).status, 200)
        pg.stop("fast")
        for _ in range(6):
            r = gw.request("GET", "/api/invoices/", token=t)
            eq((r.status, r.body), (503, b'{"detail":"The data store is unavailable. Try again shortly."}'))
            eq(r.headers["content-type"], "application/json")
        r = gw.request("POST", "/api/invoices/", invoice_input(777), t)
        eq(r.status, 503)
        pg.start()
        for _ in range(6):
            r = gw.request("GET", "/api/invoices/", token=t)
            eq(r.status, 200, r.text)
        eq(gw.request("POST", "/api/invoices/", invoice_input(777), t).status, 201)
        # A restart with no request in between leaves every worker holding a
        # connection that only fails when used: the very first call succeeds.
        pg.stop("fast")
        pg.start()
        for _ in range(6):
            r = gw.request("GET", "/api/invoices/", token=t)
            eq(r.status, 200, r.text)
    finally:
        problems, log = gw.stop()
    eq(problems, [], log[-3000:])


def test_mongo_restart(binary, mongo):
    """The MongoDB server restarts under the running gateway: 503 JSON in
    the gap, service again once it is back, without a gateway restart.
    The URI's own shorter server selection (the gateway keeps what a URI
    says) makes each answer in the gap come sooner."""
    quick = mongo.fresh_url() + "?serverSelectionTimeoutMS=500&connectTimeoutMS=500"
    gw = Gateway(binary, mongo=mongo, config={"store_threads": 3}, extra_env={"MONGODB_URI": quick})
    try:
        t = make_token(1)
        eq(gw.request("POST", "/api/invoices/", invoice_input(778), t).status, 201)
        eq(gw.request("GET", "/api/invoices/", token=t).status, 200)
        mongo.stop()
        for _ in range(3):
            r = gw.request("GET", "/api/invoices/", token=t)
            eq((r.status, r.body), (503, b'{"detail":"The data store is unavailable. Try again shortly."}'))
            eq(r.headers["content-type"], "application/json")
        eq(gw.request("POST", "/api/invoices/", invoice_input(779), t).status, 503)
        mongo.start()
        for _ in range(6):
            r = gw.request("GET", "/api/invoices/", token=t)
            eq((r.status, r.json()["count"]), (200, 1), r.text)
        eq(gw.request("POST", "/api/invoices/", invoice_input(779), t).status, 201)
        # Killed and back with no request in between: pooled connections
        # are stale, and still the very first call succeeds.
        mongo.stop(signal.SIGKILL)
        mongo.start()
        for _ in range(6):
            r = gw.request("GET", "/api/invoices/", token=t)
            eq((r.status, r.json()["count"]), (200, 2), r.text)
    finally:
        problems, log = gw.stop()
    eq(problems, [], log[-3000:])


def test_mongo_follows_postgres_null_order(binary, mongo):
    """Served from MongoDB with PostgreSQL as the legacy store, in mongodb
    and live modes: nulls placed as PostgreSQL places them."""
    from pg import Postgres
    pg = Postgres()
    try:
        for mode in ("mongodb", "live"):
            gw = Gateway(binary, pg=pg, mongo=mongo, mode=mode)
            try:
                test_null_ordering(gw)
            finally:
                problems, log = gw.stop()
            eq(problems, [], log[-3000:])
    finally:
        pg.close()


def test_text_order_follows_the_collation(binary, mongo):
    """A PostgreSQL database with a linguistic collation (ICU en-US): text
    is ordered as Django's ORDER BY orders it there (case and accents
    folded), not by code point; in shadow mode MongoDB's code-point pages
    are counted as ordering, never as mismatches, while pages ordered by
    other fields still match."""
    from pg import Postgres
    pg = Postgres(icu_locale="en-US")
    try:
        gw = Gateway(binary, pg=pg, mongo=mongo, mode="shadow")
        try:
            names = ["bravo", "Alpha", "alpha", "\u00e9lan", "echo", "Zulu", "zeta", "Eve"]
            for k, name in enumerate(names):
                create(gw, invoice_input(9300 + k, invoice_number="K-" + name))
            django = [r[0] for r in pg.sql("SELECT invoice_number FROM invoices_invoice WHERE user_id = 1 "
                                           "AND invoice_number LIKE 'K-%' ORDER BY invoice_number, id")]
            assert django != sorted(django), django         # the collation is not code point order
            before = route_of(gw)
            for desc in ("", "-"):
                r = gw.request("GET", "/api/invoices/?search=K-&ordering=%sinvoice_number" % desc, token=T1)
                eq([x["invoice_number"] for x in r.json()["results"]], django[::-1] if desc else django, desc)
            r = gw.request("GET", "/api/invoices/?search=K-&ordering=total_amount", token=T1)
            eq(r.status, 200)
            deadline = time.time() + 15
            while route_of(gw)["compared"] - before["compared"] < 3:
                assert time.time() < deadline, route_of(gw)
                time.sleep(0.05)
            after = route_of(gw)
            eq((after["ordering"] - before["ordering"], after["mismatched"] - before["mismatched"],
                after["matched"] - before["matched"]), (2, 0, 1), after)
            smp = gw.request("GET", "/_cutover/metrics", headers={"Authorization": "Bearer " + ADMIN_TOKEN}).text
            assert 'cutover_comparisons_total{route="invoices",outcome="ordering"} 2' in smp, smp
        finally:
            problems, log = gw.stop()
        eq(problems, [], log[-3000:])
    finally:
        pg.close()


def route_of(gw, name="invoices"):
    st, body = gw.admin("GET", "routes/" + name)
    eq(st, 200, body)
    return body


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--store", choices=["sqlite", "postgres", "mongodb", "all"], default="all")
    a = ap.parse_args()
    runner = Runner()
    binary = os.path.abspath(a.binary)
    if a.store in ("sqlite", "all"):
        # SQLite inline on the event loops (the default), and the same store
        # served from the bounded worker pool that network stores use.
        suite(runner, binary, "sqlite inline")
        # Its connections run through the passthrough filter: an upstream
        # is configured (and down), and every route here is the gateway's.
        suite(runner, binary, "sqlite on store workers, behind the passthrough filter",
              {"store_threads": 3, "store_queue": 64, "upstream": "http://127.0.0.1:%d" % free_port()})
        # Over TLS, through the same filter.
        suite(runner, binary, "sqlite over TLS", {"upstream": "http://127.0.0.1:%d" % free_port()},
              tls=Certs(tempfile.mkdtemp(prefix="cutover-tls-")))
    if a.store in ("postgres", "all"):
        from pg import Postgres
        pg = Postgres()
        try:
            suite(runner, binary, "postgres", pg=pg)
            runner.run([test_pg_restart], binary, pg)
        finally:
            pg.close()
    if a.store in ("mongodb", "all"):
        from mongo import Mongo
        mongo = Mongo()
        try:
            suite(runner, binary, "mongodb", mongo=mongo)
            if mongo.dir:       # a server of our own, so we may restart it
                runner.run([test_mongo_restart], binary, mongo)
            runner.run([test_mongo_follows_postgres_null_order, test_text_order_follows_the_collation], binary,
                       mongo)
        finally:
            mongo.close()
    return runner.finish()


if __name__ == "__main__":
    sys.exit(main())
