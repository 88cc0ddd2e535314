#!/bin/sh
# Run every cmocka unit-test binary; fail if any fails.
set -u
status=0
for t in "$@"; do
	echo "== $t"
	"$t" || status=1
done
exit $status
