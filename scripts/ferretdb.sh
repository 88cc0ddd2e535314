#!/bin/sh
# Prints the path of a FerretDB binary for the tests, building it from the
# Go module proxy the first time.  The build is cached outside the build
# tree ($CUTOVER_CACHE, default ~/.cache/cutover), so `make clean` and fresh
# clones reuse it.  FerretDB 1.x is the last line with the SQLite handler.
set -eu

version=${FERRETDB_VERSION:-v1.24.0}
cache=${CUTOVER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cutover}
bin="$cache/ferretdb-$version"

if [ -x "$bin" ] && "$bin" --version >/dev/null 2>&1; then
	echo "$bin"
	exit 0
fi
# Suites run side by side: one builds, the others wait for it.
mkdir -p "$cache"
exec 9>"$cache/ferretdb.lock"
flock 9
if [ -x "$bin" ] && "$bin" --version >/dev/null 2>&1; then
	echo "$bin"
	exit 0
fi
command -v go >/dev/null 2>&1 || {
	echo "ferretdb: the Go toolchain is needed to build FerretDB (apt-get install golang-go)" >&2
	exit 1
}
mkdir -p "$cache"
work=$(mktemp -d "$cache/build.XXXXXX")
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
echo "ferretdb: building $version from the Go module proxy (once; cached in $cache)" >&2
dir=$(cd "$work" && GOFLAGS=-mod=mod go mod download -json "github.com/FerretDB/FerretDB@$version" |
	sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -n "$dir" ] && [ -d "$dir" ] || { echo "ferretdb: go mod download failed" >&2; exit 1; }
cp -R "$dir" "$work/src"
chmod -R u+w "$work/src"
# FerretDB's packaging notes: the version file must exist before building.
mkdir -p "$work/src/build/version"
echo "$version" >"$work/src/build/version/version.txt"
(cd "$work/src" && CGO_ENABLED=0 go build -trimpath -o "$work/ferretdb" ./cmd/ferretdb) >&2
mv "$work/ferretdb" "$bin"
echo "$bin"
