#!/bin/sh
# `make run-mongo`: the demo with a MongoDB-compatible server beside the
# legacy store (FerretDB, built once and cached by scripts/ferretdb.sh),
# and the whole cutover printed as commands to run in another terminal:
# dual-write, migrate and verify, shadow, the dashboard filling, a flip to
# live and back.  Every run starts afresh: a copy of the demo database and
# an empty MongoDB, in $CUTOVER_DEMO_DIR (build/demo-mongo).
set -eu
bin=$1 db=$2
state=${CUTOVER_DEMO_DIR:-build/demo-mongo}
rm -rf "$state"
mkdir -p "$state/mongo"
cp "$db" "$state/legacy.sqlite3"

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
listen=${CUTOVER_LISTEN:-127.0.0.1:8080}
case $listen in *:0) listen="${listen%:0}:$(free_port)" ;; esac
mport=$(free_port)

ferretdb=$(scripts/ferretdb.sh)
"$ferretdb" --handler=sqlite --sqlite-url="file:$state/mongo/" --listen-addr="127.0.0.1:$mport" \
	--debug-addr=127.0.0.1:0 --telemetry=disable --log-level=error --state-dir="$state/mongo" \
	>"$state/ferretdb.log" 2>&1 &
fpid=$!
gpid=
# The gateway drains and stops, then the server: a stop is a clean exit.
stop() {
	set +e
	[ -z "$gpid" ] || { kill "$gpid"; wait "$gpid"; } 2>/dev/null
	kill "$fpid" 2>/dev/null
	wait "$fpid" 2>/dev/null
	return 0
}
trap 'trap - EXIT; stop; exit 0' INT TERM
trap stop EXIT

export DATABASE_URL="sqlite://$state/legacy.sqlite3"
export MONGODB_URI="mongodb://127.0.0.1:$mport/hisabpro"
export MONGODB_DECIMAL=int64        # FerretDB 1.x keeps no Decimal128
export CUTOVER_LISTEN="$listen" DATABASE_MODE=legacy
export CUTOVER_JOURNAL="$state/journal.sqlite3"
CUTOVER_ADMIN_TOKEN="${CUTOVER_ADMIN_TOKEN:-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')}"
export CUTOVER_ADMIN_TOKEN
T1=$("$bin" token --user-id 1 --ttl 86400)
i=0
until python3 -c "import socket; socket.create_connection(('127.0.0.1', $mport), 1)" 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 300 ] || { echo "the MongoDB-compatible server did not start:" >&2; cat "$state/ferretdb.log" >&2; exit 1; }
	sleep 0.1
done

# The example's configuration, but for readiness's latency bound: the test
# server (FerretDB on SQLite) is slower than a MongoDB, and a demo should
# not wait on it.
python3 - "$state/cutover.json" <<'PY'
import json, sys
cfg = json.load(open("etc/cutover.json"))
cfg["readiness"] = dict(cfg.get("readiness", {}), max_latency_ms=2000)
json.dump(cfg, open(sys.argv[1], "w"), indent=2)
PY
"$bin" serve -c "$state/cutover.json" &
gpid=$!
i=0
until curl -s -o /dev/null "http://$listen/_cutover/health"; do
	i=$((i + 1))
	kill -0 "$gpid" 2>/dev/null && [ $i -lt 300 ] || { echo "the gateway did not start" >&2; exit 1; }
	sleep 0.1
done

url="http://$listen"
number="INV-$(date +%s)"
cat <<MSG

cutover demo — the HisabPro API from SQLite, with MongoDB beside it

In another terminal, from this directory, set the scene once:

  export DATABASE_URL=$DATABASE_URL MONGODB_URI=$MONGODB_URI MONGODB_DECIMAL=int64 CUTOVER_LISTEN=$listen CUTOVER_JOURNAL=$CUTOVER_JOURNAL CUTOVER_ADMIN_TOKEN=$CUTOVER_ADMIN_TOKEN T1=$T1

then walk the cutover of the invoices route, one step at a time:

  1. writes reach both stores:
     $bin mode invoices dual-write
  2. copy what was there before, and prove the copy:
     $bin migrate --resource invoices && $bin verify --resource invoices
  3. compare: every read is served from SQLite and read again from MongoDB:
     $bin mode invoices shadow
  4. reads, paced for the MongoDB-compatible server (the dashboard fills: $url/_cutover/):
     ids=\$(curl -s -H "Authorization: Bearer \$T1" $url/api/invoices/ | grep -o '"id":"[0-9a-f-]*","invoice_number' | cut -d'"' -f4)
     for i in 1 2 3 4 5 6; do for id in \$ids; do curl -s -o /dev/null -H "Authorization: Bearer \$T1" $url/api/invoices/\$id/; sleep 0.1; done; done
  5. a write, which both stores get:
     curl -s -H "Authorization: Bearer \$T1" -H 'Content-Type: application/json' -d '{"invoice_number":"$number","client_name":"Acme Traders","issue_date":"2026-11-21","items":[{"description":"Widget","quantity":"2","unit_price":"50","amount":"100"}]}' $url/api/invoices/; echo
  6. the evidence, and each route's next safe step:
     $bin mode invoices
     $bin plan
  7. serve it from MongoDB:
     $bin mode invoices live
  8. and back, in a second, with nothing lost:
     $bin mode invoices shadow

The dashboard asks for the admin token ($CUTOVER_ADMIN_TOKEN).  Ctrl-C stops
the gateway and the MongoDB-compatible server.
MSG
wait "$gpid"
