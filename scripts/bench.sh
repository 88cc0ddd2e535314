#!/bin/sh
# `make bench`: GET /api/invoices/{id}/ through the gateway (demo SQLite
# database) against a bare libevent server answering a fixed body of the
# same size, both measured with wrk on loopback in this one run.
set -eu
bin=$1 bare=$2
DUR=${BENCH_SECONDS:-10}
CONNS=${BENCH_CONNECTIONS:-32}
THREADS=${BENCH_THREADS:-2}
dir=$(mktemp -d)
trap 'kill $gw $bs 2>/dev/null || true; rm -rf "$dir"' EXIT INT TERM
gw= bs=

python3 scripts/demo_data.py --schema etc/examples/hisabpro/schema.sqlite.sql --out "$dir/db.sqlite3" >/dev/null
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
gport=$(free_port)
DATABASE_URL="sqlite://$dir/db.sqlite3" CUTOVER_LISTEN="127.0.0.1:$gport" JWT_SECRET=bench-secret-not-real-00000 \
	"$bin" serve -c etc/examples/hisabpro/cutover.json 2>"$dir/gw.log" &
gw=$!
tok=$(JWT_SECRET=bench-secret-not-real-00000 "$bin" token --user-id 1 --ttl 3600 -c etc/examples/hisabpro/cutover.json)
for _ in $(seq 50); do curl -sf -o /dev/null -H "Authorization: Bearer $tok" "http://127.0.0.1:$gport/api/invoices/" && break; sleep 0.1; done
# Silence the access log's cost on the terminal but keep it: it is part of the work.
id=$(curl -sf -H "Authorization: Bearer $tok" "http://127.0.0.1:$gport/api/invoices/recent/" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
url="http://127.0.0.1:$gport/api/invoices/$id/"
size=$(curl -sf -H "Authorization: Bearer $tok" "$url" | wc -c)

bport=$(free_port)
"$bare" "$bport" "$size" "$(nproc)" 2>/dev/null &
bs=$!
sleep 0.3

rps() { sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p'; }
lat() { sed -n 's/^ *99% *\(.*\)$/\1/p'; }
echo "wrk -t$THREADS -c$CONNS -d${DUR}s, body $size bytes, $(nproc) cores"
wrk -t"$THREADS" -c"$CONNS" -d"${DUR}s" --latency "http://127.0.0.1:$bport/api/invoices/$id/" >"$dir/bare.txt"
wrk -t"$THREADS" -c"$CONNS" -d"${DUR}s" --latency -H "Authorization: Bearer $tok" "$url" >"$dir/gw.txt"
b=$(rps <"$dir/bare.txt") g=$(rps <"$dir/gw.txt")
printf '%-44s %12s req/s  p99 %s\n' "bare libevent, fixed body" "$b" "$(lat <"$dir/bare.txt")"
printf '%-44s %12s req/s  p99 %s\n' "gateway GET /api/invoices/{id}/ (SQLite)" "$g" "$(lat <"$dir/gw.txt")"
python3 -c "print('ratio gateway/bare: %.2f (target >= 0.50)' % ($g / $b))"
grep -q ' 200 ' "$dir/gw.txt" 2>/dev/null || true
if grep -q "Non-2xx" "$dir/gw.txt"; then echo "bench: the gateway answered errors:"; cat "$dir/gw.txt"; exit 1; fi
python3 tests/bench/pg_bench.py "$bin"
