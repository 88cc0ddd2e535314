#!/bin/sh
# Prints a NODE_PATH holding the official MongoDB Node.js driver, installing
# it from the npm registry the first time into the cache outside the build
# tree ($CUTOVER_CACHE, default ~/.cache/cutover).  The tests use it to read
# back what the gateway wrote with a client that is not the gateway's own.
set -eu

version=${MONGODB_DRIVER_VERSION:-6.10.0}
cache=${CUTOVER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cutover}
dir="$cache/node-mongodb-$version"

if [ ! -f "$dir/node_modules/mongodb/package.json" ]; then
	command -v npm >/dev/null 2>&1 || {
		echo "mongo_driver: npm is needed (apt-get install nodejs npm)" >&2
		exit 1
	}
	mkdir -p "$dir"
	echo "mongo_driver: installing mongodb@$version from the npm registry (once)" >&2
	npm install --silent --no-audit --no-fund --prefix "$dir" "mongodb@$version" >&2
fi
echo "$dir/node_modules"
