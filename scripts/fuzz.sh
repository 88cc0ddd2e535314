#!/bin/sh
# make fuzz: each fuzz target under libFuzzer with AddressSanitizer and
# UndefinedBehaviorSanitizer, SECONDS each, growing its corpus in
# build-fuzz/corpus/TARGET (seeded from tests/fuzz/corpus/TARGET).  Crashes
# land in build-fuzz/crashes/; copy one into tests/fuzz/corpus/TARGET to make
# it a regression test that `make test` replays.
#   scripts/fuzz.sh SECONDS TARGET...
#   scripts/fuzz.sh --runs N TARGET...   N executions each, from the seeds
#                                        only, growing nothing (make test)
set -eu
runs=""
if [ "$1" = --runs ]; then
	runs=$2
	shift 2
else
	seconds=$1
	shift
fi
{ command -v clang >/dev/null 2>&1 && ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; } || {
	echo "fuzz: installing clang (libFuzzer)" >&2
	SUDO=""
	[ "$(id -u)" = 0 ] || SUDO=sudo
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get update -qq >&2
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends clang libclang-rt-dev >&2
}
out=build-fuzz
mkdir -p "$out/obj" "$out/crashes"
flags="-g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all"
cflags="-std=c11 -D_GNU_SOURCE -DCUTOVER_VERSION=\"fuzz\" -Iinclude $(pkg-config --cflags libevent yajl libbson-1.0)"
libs="$(pkg-config --libs libevent libevent_pthreads libevent_openssl libmongoc-1.0 libbson-1.0 libpq sqlite3 yajl openssl) -lpthread -lm"
objs=""
# The newest header: an object older than it is built again (any source may
# include any header; a struct that grew must not meet old code).
newest=$(ls -t include/*.h src/*/*.h | head -1)
for src in src/*/*.c backends/*.c middleware/*.c migrate/*.c; do
	obj="$out/obj/$(echo "$src" | tr / _).o"
	if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ] || [ "$newest" -nt "$obj" ]; then
		# shellcheck disable=SC2086
		clang $flags $cflags $(pkg-config --cflags libmongoc-1.0 libpq sqlite3 openssl) -c "$src" -o "$obj"
	fi
	objs="$objs $obj"
done
for t in "$@"; do
	bin="$out/fuzz_$t"
	if [ ! -f "$bin" ] || [ -n "$(find "tests/fuzz/fuzz_$t.c" include $objs -newer "$bin" 2>/dev/null | head -1)" ]; then
		# shellcheck disable=SC2086
		clang $flags -fsanitize=fuzzer $cflags -o "$bin" "tests/fuzz/fuzz_$t.c" $objs $libs
	fi
	if [ -n "$runs" ]; then
		echo "== fuzz $t: $runs executions" >&2
		scratch=$(mktemp -d)
		"$bin" -runs="$runs" -seed=1 -artifact_prefix="$out/crashes/$t-" "$scratch" "tests/fuzz/corpus/$t" \
			2>"$scratch.log" || { tail -40 "$scratch.log" >&2; rm -rf "$scratch" "$scratch.log"; exit 1; }
		grep -E "^Done|DONE" "$scratch.log" >&2 || true
		rm -rf "$scratch" "$scratch.log"
		continue
	fi
	echo "== fuzz $t: $seconds s" >&2
	mkdir -p "$out/corpus/$t"
	"$bin" -max_total_time="$seconds" -artifact_prefix="$out/crashes/$t-" -print_final_stats=1 \
		"$out/corpus/$t" "tests/fuzz/corpus/$t"
done
