#!/usr/bin/env python3
"""The example's API in the express profile, end to end: camelCase names in
and out, `_id`, the success envelope, page/limit pagination and its edges,
errors and validation errors in the profile's shape, `sort` for ordering,
a delete answered with a body, the summary view; served from SQLite, from
PostgreSQL and from MongoDB, and in shadow mode compared without a single
mismatch.  Profiles of the configuration's own (offset pagination and a
bare list; cursors) are served too.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import Gateway, Runner, binary_arg, eq, make_token, stop_clean  # noqa: E402

T1, T2 = make_token(1), make_token(2)
EXPRESS = {"profile": "express"}


def instant(text):
    """An ISO 8601 time as the API gives it ("Z" or an offset, a fraction or none)."""
    import datetime
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def invoice(n, **over):
    body = {"invoiceNumber": "INV-%03d" % n, "clientName": "Client %d" % n, "clientEmail": "c%d@example.com" % n,
            "issueDate": "2025-01-%02d" % (n % 28 + 1), "status": "sent" if n % 2 else "draft",
            "totalAmount": "%d.50" % (100 + n),
            "items": [{"description": "Work %d" % n, "unitPrice": "10.00", "amount": "10.00", "position": 0}]}
    body.update(over)
    return body


def ok(r, status=200):
    eq(r.status, status, r.text)
    doc = r.json()
    eq(doc["success"], True, r.text)
    return doc


def failed(r, status, message):
    eq((r.status, r.json()), (status, {"success": False, "message": message}), r.text)


def test_create_and_read(gw):
    doc = ok(gw.request("POST", "/api/invoices/", invoice(1), T1), 201)["data"]
    eq(list(doc), ["_id", "invoiceNumber", "clientName", "clientEmail", "issueDate", "dueDate", "status",
                   "subtotal", "taxAmount", "totalAmount", "currency", "notes", "items", "createdAt", "updatedAt"])
    eq((doc["invoiceNumber"], doc["currency"], doc["totalAmount"], doc["dueDate"]), ("INV-001", "INR", "101.50", None))
    eq(list(doc["items"][0]), ["_id", "description", "quantity", "unitPrice", "amount", "position"])
    got = ok(gw.request("GET", "/api/invoices/%s/" % doc["_id"], token=T1))
    eq(got, {"success": True, "data": doc})
    # Another user's record is not found, in the profile's error shape.
    failed(gw.request("GET", "/api/invoices/%s/" % doc["_id"], token=T2), 404, "Not found.")
    # PATCH with camelCase names; the snake_case ones are unknown, so ignored.
    upd = ok(gw.request("PATCH", "/api/invoices/%s/" % doc["_id"], {"clientName": "New", "client_name": "x"}, T1))
    eq(upd["data"]["clientName"], "New")


def test_validation_errors(gw):
    r = gw.request("POST", "/api/invoices/", {"clientEmail": "nope", "items": []}, T1)
    eq(r.status, 400, r.text)
    eq(r.json(), {"success": False, "message": "Validation failed",
                  "errors": {"invoiceNumber": ["This field is required."],
                             "clientName": ["This field is required."],
                             "clientEmail": ["Enter a valid email address."],
                             "issueDate": ["This field is required."]}})
    r = gw.request("POST", "/api/invoices/", invoice(1), T1)    # made by test_create_and_read
    eq((r.status, r.json()["errors"]), (400, {"non_field_errors": ["The fields user, invoice_number must make a "
                                                                  "unique set."]}), r.text)
    r = gw.request("POST", "/api/invoices/", [1], T1)
    eq((r.status, r.json()["errors"]),
       (400, {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}), r.text)
    r = gw.request("GET", "/api/invoices/?issueDate=2025-13-01", token=T1)
    eq(r.status, 200, r.text)       # issueDate is no filter: ignored
    r = gw.request("GET", "/api/payments/?invoice=not-a-uuid", token=T1)
    eq((r.status, r.json()["message"]), (400, "Validation failed"), r.text)
    failed(gw.request("POST", "/api/invoices/", raw=b"{", token=T1), 400,
           "JSON parse error - parse error: premature EOF")


def test_pagination(gw):
    for n in range(2, 8):
        ok(gw.request("POST", "/api/invoices/", invoice(n), T1), 201)
    doc = ok(gw.request("GET", "/api/invoices/?page=2&limit=3", token=T1))
    eq(doc["pagination"], {"page": 2, "limit": 3, "total": 7, "pages": 3})
    eq(len(doc["data"]), 3)
    # Newest first; records made in the same millisecond by id.  By time,
    # not text: a time on the second has no fraction ("…:23Z").
    every = ok(gw.request("GET", "/api/invoices/?limit=100", token=T1))["data"]
    eq([d["_id"] for d in every], [d["_id"] for d in sorted(sorted(every, key=lambda d: d["_id"]),
                                                            key=lambda d: instant(d["createdAt"]), reverse=True)],
       [(d["_id"], d["createdAt"]) for d in every])
    newest = [d["invoiceNumber"] for d in every]
    eq(sorted(newest), ["INV-%03d" % n for n in range(1, 8)])
    eq([d["invoiceNumber"] for d in doc["data"]], newest[3:6])
    # Past the end: an empty page; nonsense: the first page; too large a limit: the largest.
    eq(ok(gw.request("GET", "/api/invoices/?page=9&limit=3", token=T1))["data"], [])
    eq(ok(gw.request("GET", "/api/invoices/?page=x&limit=-1", token=T1))["pagination"],
       {"page": 1, "limit": 20, "total": 7, "pages": 1})
    eq(ok(gw.request("GET", "/api/invoices/?limit=5000", token=T1))["pagination"]["limit"], 100)
    # Filters and search by their API names; ordering by `sort`.
    drafts = ok(gw.request("GET", "/api/invoices/?status=draft", token=T1))
    eq({d["status"] for d in drafts["data"]}, {"draft"})
    eq(drafts["pagination"]["total"], 3)
    by_total = ok(gw.request("GET", "/api/invoices/?sort=totalAmount&limit=3", token=T1))["data"]
    eq([d["totalAmount"] for d in by_total], ["101.50", "102.50", "103.50"])
    found = ok(gw.request("GET", "/api/invoices/?search=INV-005", token=T1))["data"]
    eq([d["invoiceNumber"] for d in found], ["INV-005"])


def test_views_payments_delete(gw):
    summary = ok(gw.request("GET", "/api/invoices/summary/", token=T1))["data"]
    eq(sorted(summary), ["byStatus", "count", "totalAmount"])
    eq(summary["count"], 7)
    eq(sorted(g["status"] for g in summary["byStatus"]), ["draft", "sent"])
    eq(len(ok(gw.request("GET", "/api/invoices/recent/", token=T1))["data"]), 5)
    inv = ok(gw.request("GET", "/api/invoices/?limit=1", token=T1))["data"][0]
    pay = ok(gw.request("POST", "/api/payments/", {"invoice": inv["_id"], "amount": "5.00", "method": "upi",
                                                   "paidAt": "2025-02-01T10:00:00Z"}, T1), 201)["data"]
    eq((pay["invoice"], pay["transactionId"], pay["paidAt"]), (inv["_id"], "", "2025-02-01T10:00:00Z"))
    failed(gw.request("PUT", "/api/payments/%s/" % pay["_id"], {}, T1), 405, "Method \"PUT\" not allowed.")
    eq(gw.request("DELETE", "/api/invoices/%s/" % inv["_id"], token=T1).json(),
       {"success": True, "message": "Deleted"})
    failed(gw.request("GET", "/api/payments/%s/" % pay["_id"], token=T1), 404, "Not found.")


def test_tokens(gw):
    r = gw.request("GET", "/api/invoices/")
    failed(r, 401, "Authentication credentials were not provided.")
    eq(r.headers["www-authenticate"], 'Bearer realm="api"')
    failed(gw.request("GET", "/api/invoices/", token=make_token(1, secret="another-secret-entirely-00")), 401,
           "Given token not valid for any token type")


SUITE = [test_tokens, test_create_and_read, test_validation_errors, test_pagination, test_views_payments_delete]


def run_suite(runner, gw, label):
    print("== express profile, %s" % label, flush=True)
    try:
        runner.run(SUITE, gw)
    finally:
        runner.shutdown(gw)


def test_shadow_compares_clean(binary, mongo, runner):
    """Shadow mode: both stores answer in the profile's shape; every read
    compared, none mismatched."""
    gw = Gateway(binary, config=EXPRESS, mongo=mongo, mode="shadow")
    try:
        runner.run(SUITE, gw)
        deadline = time.time() + 20
        while time.time() < deadline:
            st, rt = gw.admin("GET", "routes/invoices")
            if rt["compared"] >= 10:
                break
            time.sleep(0.2)
        eq(st, 200)
        assert rt["compared"] >= 10, rt
        eq((rt["mismatched"], rt["secondary_errors"]), (0, 0), rt)
    finally:
        runner.shutdown(gw)


def test_declared_profile(binary):
    """A profile of the configuration's own: offset pagination and a bare
    list of records, on top of express."""
    gw = Gateway(binary, config={"profile": "bare", "profiles": {"bare": {
        "base": "express", "list": {"items": "$results", "next": "$next", "total": "$count", "offset": "$offset"},
        "pagination": {"scheme": "offset", "offset": "skip", "limit": "take", "max_limit": 4}}}})
    try:
        for n in range(1, 7):
            ok(gw.request("POST", "/api/invoices/", invoice(n), T1), 201)
        r = gw.request("GET", "/api/invoices/?skip=1&take=9&status=draft", token=T1)
        eq(r.status, 200, r.text)
        doc = r.json()
        eq((doc["total"], doc["offset"], len(doc["items"])), (3, 1, 2))
        eq(doc["next"], None)
        doc = gw.request("GET", "/api/invoices/?take=2", token=T1).json()
        eq(doc["next"], "http://127.0.0.1:%d/api/invoices/?skip=2&take=2" % gw.port)
    finally:
        stop_clean(gw)


def test_cursor_profile(binary):
    """The cursor scheme: pages reached only through the links' opaque
    cursors, every record once, a forged cursor refused."""
    gw = Gateway(binary, config={"profile": "cursors", "profiles": {"cursors": {
        "base": "express", "list": {"data": "$results", "next": "$next", "previous": "$previous"},
        "pagination": {"scheme": "cursor", "cursor": "cursor", "limit": "limit"}}}})
    try:
        for n in range(1, 8):
            ok(gw.request("POST", "/api/invoices/", invoice(n), T1), 201)
        seen, path, pages = [], "/api/invoices/?limit=3", 0
        while path:
            r = gw.request("GET", path, token=T1)
            eq(r.status, 200, r.text)
            doc = r.json()
            seen += [d["invoiceNumber"] for d in doc["data"]]
            assert "offset" not in (doc["next"] or "") and "page" not in (doc["next"] or ""), doc["next"]
            path = doc["next"] and doc["next"].split("127.0.0.1:%d" % gw.port, 1)[1]
            pages += 1
        every = [d["invoiceNumber"] for d in gw.request("GET", "/api/invoices/?limit=100", token=T1).json()["data"]]
        eq((pages, seen), (3, every))
        eq(sorted(seen), ["INV-%03d" % n for n in range(1, 8)])
        back = gw.request("GET", "/api/invoices/?limit=3&cursor=bz0z", token=T1).json()    # o=3
        eq(back["previous"], "http://127.0.0.1:%d/api/invoices/?limit=3" % gw.port)
        failed(gw.request("GET", "/api/invoices/?cursor=forged", token=T1), 404, "Invalid cursor")
    finally:
        stop_clean(gw)


def main():
    binary = binary_arg()
    runner = Runner()
    run_suite(runner, Gateway(binary, config=EXPRESS), "sqlite")
    runner.run([test_declared_profile, test_cursor_profile], binary)
    from pg import Postgres
    pg = Postgres()
    try:
        run_suite(runner, Gateway(binary, config=EXPRESS, pg=pg), "postgres")
    finally:
        pg.close()
    from mongo import Mongo
    mongo = Mongo()
    try:
        run_suite(runner, Gateway(binary, config=EXPRESS, mongo=mongo), "mongodb")
        runner.run([test_shadow_compares_clean], binary, mongo, runner)
    finally:
        mongo.close()
    return runner.finish()


if __name__ == "__main__":
    sys.exit(main())
