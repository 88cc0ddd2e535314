#!/bin/sh
# Installs the Debian packages cutover builds and tests with, but only when
# pkg-config (or the command itself) says something is missing, so a machine
# that already has everything is left untouched.  Idempotent; safe to re-run.
#
#   scripts/deps.sh --build   print the build dependencies missing (Debian
#                             package names), install nothing
set -eu

build_pkgs="libevent:libevent-dev libevent_pthreads:libevent-dev \
libevent_openssl:libevent-dev libmongoc-1.0:libmongoc-dev \
libbson-1.0:libbson-dev libpq:libpq-dev sqlite3:libsqlite3-dev \
yajl:libyajl-dev openssl:libssl-dev"
if [ "${1:-}" = --build ]; then
	command -v pkg-config >/dev/null 2>&1 || { echo pkg-config; exit 0; }
	missing=""
	for pair in $build_pkgs; do
		pkg-config --exists "${pair%%:*}" 2>/dev/null || missing="$missing ${pair#*:}"
	done
	echo "$missing" | tr ' ' '\n' | sort -u | tr '\n' ' '
	exit 0
fi
pc_pkgs="$build_pkgs cmocka:libcmocka-dev"
# The package tests check the unit (systemd-analyze), build the .deb
# (dpkg-shlibdeps) and render the man page.
# Go builds the MongoDB-compatible test server (scripts/ferretdb.sh); Node.js
# reads documents back with the official driver (scripts/mongo_driver.sh).
cmds="pkg-config:pkg-config sqlite3:sqlite3 curl:curl wrk:wrk python3:python3 \
node:nodejs npm:npm go:golang-go patch:patch \
systemd-analyze:systemd dpkg-shlibdeps:dpkg-dev groff:groff-base man:man-db"

need=""
command -v pkg-config >/dev/null 2>&1 || need="pkg-config"
for pair in $pc_pkgs; do
	mod=${pair%%:*}; deb=${pair#*:}
	pkg-config --exists "$mod" 2>/dev/null || need="$need $deb"
done
for pair in $cmds; do
	cmd=${pair%%:*}; deb=${pair#*:}
	command -v "$cmd" >/dev/null 2>&1 || need="$need $deb"
done
# The tests start their own PostgreSQL server: Debian's, any version.
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need="$need postgresql"
command -v psql >/dev/null 2>&1 || need="$need postgresql-client"
command -v runuser >/dev/null 2>&1 || need="$need util-linux"
# The unit reloads with /bin/kill -HUP.
[ -x /bin/kill ] || need="$need procps"
# The passthrough tests put nginx behind the gateway (never started as a service).
[ -x /usr/sbin/nginx ] || need="$need nginx"
# The metrics are scraped by a real Prometheus server and checked by promtool;
# the dashboard is driven in a real headless browser.
[ -x /usr/bin/prometheus ] && [ -x /usr/bin/promtool ] || need="$need prometheus"
[ -x /usr/bin/chromium ] || need="$need chromium"
[ -n "$need" ] || exit 0

need=$(echo "$need" | tr ' ' '\n' | sort -u | tr '\n' ' ')
echo "deps: installing$need" >&2
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >&2
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $need >&2
