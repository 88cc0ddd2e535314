#!/bin/sh
# make deb: the layout of make install (PREFIX=/usr) as a Debian package,
# its library dependencies found by dpkg-shlibdeps.  Prints the package path.
set -eu
build=$1 version=$2
case $build in /*) ;; *) build=$(pwd)/$build ;; esac
command -v dpkg-shlibdeps >/dev/null 2>&1 || {
	echo "deb: dpkg-shlibdeps is missing: install dpkg-dev (make deps does)" >&2
	exit 1
}
root=$build/deb/root
rm -rf "$build/deb"
make --no-print-directory BUILD="$build" PREFIX=/usr STATEDIR=/var/lib/cutover \
	UNITDIR=/usr/lib/systemd/system DESTDIR="$root" install >&2
gzip -9n "$root/usr/share/man/man1/cutover.1"
arch=$(dpkg --print-architecture)
# dpkg-shlibdeps reads a debian/control; an empty one of our own will do.
mkdir -p "$build/deb/src/debian" "$root/DEBIAN"
printf 'Source: cutover\n\nPackage: cutover\nArchitecture: any\n' >"$build/deb/src/debian/control"
bin=$root/usr/bin/cutover
depends=$(cd "$build/deb/src" && dpkg-shlibdeps -O "$bin" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
size=$(du -sk "$root" | cut -f1)
cat >"$root/DEBIAN/control" <<CONTROL
Package: cutover
Version: $version
Architecture: $arch
Maintainer: cutover maintainers <maintainers@cutover.invalid>
Installed-Size: $size
Depends: $depends, procps
Section: net
Priority: optional
Homepage: https://cutover.invalid/
Description: gateway that moves a REST API's data from SQL to MongoDB
 cutover serves an application's REST API per route from its SQLite or
 PostgreSQL store, from MongoDB, or from both; in shadow mode it compares
 the two answers and records every difference, so each route can be flipped
 on evidence and rolled back in seconds.  Dual writes go through a durable
 journal; migrate, verify and repair move and check the data.
CONTROL
printf '/etc/cutover/cutover.json\n/etc/cutover/cutover.env\n' >"$root/DEBIAN/conffiles"
# The unit is installed, not enabled: the configuration comes first.
cat >"$root/DEBIAN/postinst" <<'SCRIPT'
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload || true
fi
SCRIPT
cat >"$root/DEBIAN/prerm" <<'SCRIPT'
#!/bin/sh
set -e
if [ -d /run/systemd/system ] && [ "$1" = remove ]; then
	systemctl stop cutover.service || true
fi
SCRIPT
chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm"
deb="$build/cutover_${version}_$arch.deb"
dpkg-deb --root-owner-group --build "$root" "$deb" >&2
echo "$deb"
