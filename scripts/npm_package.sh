#!/bin/sh
# npm_package.sh NAME VERSION: prints a NODE_PATH holding that package from
# the npm registry, installing it the first time into the cache outside the
# build tree ($CUTOVER_CACHE, default ~/.cache/cutover).
set -eu

name=$1 version=$2
cache=${CUTOVER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cutover}
dir="$cache/node-$name-$version"

if [ ! -f "$dir/node_modules/$name/package.json" ]; then
	# Suites run side by side: one installs, the others wait for it.
	mkdir -p "$cache"
	exec 9>"$cache/node-$name.lock"
	flock 9
fi
if [ ! -f "$dir/node_modules/$name/package.json" ]; then
	command -v npm >/dev/null 2>&1 || {
		echo "npm_package: npm is needed (apt-get install nodejs npm)" >&2
		exit 1
	}
	mkdir -p "$dir"
	echo "npm_package: installing $name@$version from the npm registry (once)" >&2
	npm install --silent --no-audit --no-fund --prefix "$dir" "$name@$version" >&2
fi
echo "$dir/node_modules"
