#!/bin/sh
# `make run`: serve the demo database and show how to call it.
set -eu
bin=$1 db=$2
export DATABASE_URL="${DATABASE_URL:-sqlite://$db}"
listen="${CUTOVER_LISTEN:-127.0.0.1:8080}"
t1=$("$bin" token --user-id 1 --ttl 86400)
t2=$("$bin" token --user-id 2 --ttl 86400)
# The admin API and `cutover mode` need a token: a fresh one per run.
CUTOVER_ADMIN_TOKEN="${CUTOVER_ADMIN_TOKEN:-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')}"
export CUTOVER_ADMIN_TOKEN
number="INV-$(date +%s)"         # a POST that works on every run
cat <<MSG

cutover demo — the HisabPro API from $DATABASE_URL

In another terminal, set the tokens once (users 1 and 2, and the admin API's):

  export T1=$t1 T2=$t2 CUTOVER_ADMIN_TOKEN=$CUTOVER_ADMIN_TOKEN CUTOVER_LISTEN=$listen

then try:
  curl -s -H "Authorization: Bearer \$T1" http://$listen/api/invoices/
  curl -s -H "Authorization: Bearer \$T1" 'http://$listen/api/invoices/?status=paid&ordering=-total_amount'
  curl -s -H "Authorization: Bearer \$T1" http://$listen/api/invoices/summary/
  curl -s -H "Authorization: Bearer \$T1" 'http://$listen/api/invoices/search/?q=acme'
  curl -s -H "Authorization: Bearer \$T2" http://$listen/api/payments/
  curl -s -H "Authorization: Bearer \$T1" -H 'Content-Type: application/json' \\
       -d '{"invoice_number":"$number","client_name":"Acme Traders","issue_date":"2026-11-21","items":[{"description":"Widget","quantity":"2","unit_price":"50","amount":"100"}]}' \\
       http://$listen/api/invoices/
  curl -s -H "Authorization: Bearer \$CUTOVER_ADMIN_TOKEN" http://$listen/_cutover/routes

the dashboard (it asks for the admin token): http://$listen/_cutover/
metrics for Prometheus:
  curl -s -H "Authorization: Bearer \$CUTOVER_ADMIN_TOKEN" http://$listen/_cutover/metrics

every route with its mode, comparisons and readiness:
  $bin mode

MongoDB beside it, and the whole cutover to walk: make run-mongo.  Ctrl-C stops it.
MSG
exec "$bin" serve
