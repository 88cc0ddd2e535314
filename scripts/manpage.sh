#!/bin/sh
# The man page: etc/system/cutover.1.in with each command's --help and every
# configuration key (cutover check --keys=man) put in, from the binary itself.
set -eu
bin=$1 template=$2 version=$3 sysconfdir=$4 statedir=$5
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The commands, in the order the global usage lists them.
for cmd in $("$bin" --help | sed -n 's/^  \([a-z][a-z]*\) .*/\1/p' | grep -vx cutover); do
	printf '.SS %s\n.nf\n' "$cmd"
	"$bin" "$cmd" --help | sed -e 's/\\/\\e/g' -e 's/…/.../g' -e 's/^\([.'\'']\)/\\\&\1/' -e 's/-/\\-/g'
	printf '.fi\n'
done >"$tmp/commands"
"$bin" check --keys=man >"$tmp/keys"
sed -e "/^@COMMANDS@\$/{r $tmp/commands" -e 'd}' \
    -e "/^@KEYS@\$/{r $tmp/keys" -e 'd}' \
    -e "s|@VERSION@|$version|g" -e "s|@SYSCONFDIR@|$sysconfdir|g" -e "s|@STATEDIR@|$statedir|g" \
    -e "s|@DATE@|$(date -u -d "@${SOURCE_DATE_EPOCH:-$(date +%s)}" +%Y-%m-%d)|g" "$template"
