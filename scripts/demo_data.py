#!/usr/bin/env python3
"""Create the demo database: the example schema filled with realistic
invoices, items and payments for two users, stored in Django's formats."""
import argparse
import datetime as dt
import os
import random
import sqlite3
import uuid

CLIENTS = [
    ("Acme Traders", "ap@acme.in"), ("Bharat Textiles", "accounts@bharattex.in"),
    ("Chennai Spices Co", "billing@chennaispices.com"), ("Deccan Logistics", "finance@deccanlog.in"),
    ("Everest Software", "ap@everest.io"), ("Fabindia Retail", "payables@fabretail.in"),
    ("Ganga Foods", "accounts@gangafoods.in"), ("Himalaya Crafts", ""),
    ("Indus Motors", "ap@indusmotors.in"), ("Jaipur Gems", "billing@jaipurgems.com"),
]
ITEMS = [("Consulting hours", 2500), ("Widget", 50), ("Annual licence", 12000),
         ("Shipping", 450), ("Support plan", 3000), ("Design work", 1800), ("Cotton bales", 760)]
STATUSES = ["draft", "sent", "paid", "overdue", "cancelled"]
METHODS = ["razorpay", "upi", "bank_transfer", "cash", "card"]


def dtext(t):
    """Django's SQLite datetime text: naive UTC, micro-seconds only when set."""
    return t.strftime("%Y-%m-%d %H:%M:%S") + (".%06d" % t.microsecond if t.microsecond else "")


def money(cents):
    return "%d.%02d" % divmod(cents, 100)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--schema", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--invoices", type=int, default=240, help="per user")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--payments", type=float, default=None,
                    help="share of invoices with a payment (default: 70%% of paid and sent ones)")
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    tmp = a.out + ".tmp"
    for p in (tmp, tmp + "-wal", tmp + "-shm"):
        if os.path.exists(p):
            os.remove(p)
    db = sqlite3.connect(tmp)
    with open(a.schema) as f:
        db.executescript(f.read())
    now = dt.datetime(2026, 11, 1, 9, 0, 0)
    for uid, name in ((1, "asha"), (2, "ravi")):
        db.execute("INSERT INTO auth_user (id,password,last_login,is_superuser,username,last_name,"
                   "email,is_staff,is_active,date_joined,first_name) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                   (uid, "!", None, 0, name, "", name + "@example.com", 0, 1, dtext(now), name.title()))
        for n in range(1, a.invoices + 1):
            inv = uuid.UUID(int=rnd.getrandbits(128), version=4)
            client, email = rnd.choice(CLIENTS)
            created = now - dt.timedelta(days=rnd.randint(0, 400), seconds=rnd.randint(0, 86399),
                                         microseconds=rnd.randint(0, 999) * 1000)
            issue = created.date()
            due = issue + dt.timedelta(days=30) if rnd.random() < 0.8 else None
            items, subtotal = [], 0
            for pos in range(rnd.randint(1, 5)):
                desc, price = rnd.choice(ITEMS)
                qty = rnd.randint(1, 8) * 100
                unit = price * 100
                amount = qty * unit // 100
                subtotal += amount
                items.append((uuid.UUID(int=rnd.getrandbits(128), version=4).hex, desc,
                              money(qty), money(unit), money(amount), pos, inv.hex))
            tax = subtotal * 18 // 100
            status = rnd.choice(STATUSES)
            db.execute("INSERT INTO invoices_invoice VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                       (inv.hex, "INV-%04d" % n, client, email, issue.isoformat(),
                        due.isoformat() if due else None, status, money(subtotal), money(tax),
                        money(subtotal + tax), "INR", rnd.choice(["", "", "Net 30", "Thank you!"]),
                        dtext(created), dtext(created), uid))
            db.executemany("INSERT INTO invoices_invoiceitem VALUES (?,?,?,?,?,?,?)", items)
            # --payments: exactly that share of each user's invoices
            if (int(n * a.payments) != int((n - 1) * a.payments) if a.payments is not None else
                    status in ("paid", "sent") and rnd.random() < 0.7):
                paid = created + dt.timedelta(days=rnd.randint(1, 20), hours=rnd.randint(0, 23))
                db.execute("INSERT INTO invoices_payment VALUES (?,?,?,?,?,?,?,?,?)",
                           (uuid.UUID(int=rnd.getrandbits(128), version=4).hex,
                            money(subtotal + tax), rnd.choice(METHODS), "TXN%08d" % rnd.randint(0, 10**8),
                            "captured", dtext(paid.replace(microsecond=0)), dtext(paid), inv.hex, uid))
    db.commit()
    db.close()
    os.replace(tmp, a.out)
    print("demo database: %s (%d invoices for each of 2 users)" % (a.out, a.invoices))


if __name__ == "__main__":
    main()
