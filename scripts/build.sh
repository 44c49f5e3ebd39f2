#!/bin/sh
# build.sh - build lockonfault from a fresh checkout and run one make
# target (demo, check, bench, ...). Missing Debian build dependencies
# are installed with apt-get when run as root; otherwise they are named.
#
# Usage: scripts/build.sh [TARGET]     (default: all)
#        scripts/build.sh deb          Debian packages into dist/ (below)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
target=${1:-all}
cd "$top"

# command to look for, Debian package that provides it
deps="autoreconf:autoconf automake:automake libtoolize:libtool
pkg-config:pkg-config make:make gcc:gcc"
missing=""
for d in $deps; do
	command -v "${d%%:*}" >/dev/null 2>&1 || missing="$missing ${d#*:}"
done
[ -f /usr/include/stdio.h ] || missing="$missing libc6-dev"
[ -f /usr/include/cmocka.h ] || missing="$missing libcmocka-dev"
have_unwind=no
for h in /usr/include/libunwind.h /usr/include/*/libunwind.h; do
	[ -f "$h" ] && have_unwind=yes
done
[ "$have_unwind" = yes ] || missing="$missing libunwind-dev"
[ -f /usr/include/uthash.h ] || missing="$missing uthash-dev"
# The i386 library (for 32-bit programs) on x86_64: gcc -m32's headers
# and libraries. configure leaves the i386 library out without them.
if [ "$(uname -m)" = x86_64 ] &&
	! echo 'int main(void) { return 0; }' |
	gcc -m32 -x c - -o /dev/null >/dev/null 2>&1; then
	missing="$missing gcc-multilib"
fi
if [ "$target" = deb ]; then
	for d in dh:debhelper dpkg-buildpackage:dpkg-dev lintian:lintian; do
		command -v "${d%%:*}" >/dev/null 2>&1 || missing="$missing ${d#*:}"
	done
	# dh_strip of an i386 build calls the i686 binutils by name.
	[ "${DEB_HOST_ARCH:-}" != i386 ] ||
		command -v i686-linux-gnu-objcopy >/dev/null 2>&1 ||
		missing="$missing binutils-i686-linux-gnu"
fi
if [ -n "$missing" ]; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "build.sh: installing$missing"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		apt-get install -y -qq $missing >/dev/null
	else
		echo "build.sh: missing build dependencies:$missing" >&2
		echo "build.sh: install them (apt-get install$missing) or run as root" >&2
		exit 1
	fi
fi

[ -x configure ] && [ configure -nt configure.ac ] && [ -f build-aux/tap-driver.sh ] ||
	./autogen.sh
[ -f Makefile ] && [ config.status -nt configure ] || ./configure -q

# Debian packages: the release tarball (make dist, debian/ included) is
# unpacked in build/deb/ and built there with dpkg-buildpackage, so the
# source tree itself is never configured for /usr nor written by
# debhelper. The packages go to dist/; lintian checks them and fails the
# build on an error. make check is left to CI (DEB_BUILD_OPTIONS=nocheck
# unless DEB_BUILD_OPTIONS is set). DEB_HOST_ARCH=i386 cross-builds the
# i386 packages (dpkg-buildpackage -a i386: debian/rules, gcc-multilib).
if [ "$target" = deb ]; then
	ver=$(sed -n 's/^PACKAGE_VERSION = //p' Makefile)
	work=$top/build/deb
	rm -rf "$work"
	mkdir -p "$work" dist
	make -s dist-gzip
	mv "lockonfault-$ver.tar.gz" "$work/lockonfault_$ver.orig.tar.gz"
	tar -C "$work" -xzf "$work/lockonfault_$ver.orig.tar.gz"
	arch=${DEB_HOST_ARCH:-$(dpkg --print-architecture)}
	aopt=""
	[ "$arch" = "$(dpkg --print-architecture)" ] || aopt="-a$arch -d"
	(cd "$work/lockonfault-$ver" &&
		DEB_BUILD_OPTIONS=${DEB_BUILD_OPTIONS-nocheck} \
		dpkg-buildpackage -b -us -uc -j"$(nproc)" $aopt >../build.log 2>&1) || {
		tail -n 40 "$work/build.log" >&2
		echo "build.sh: dpkg-buildpackage failed; log: $work/build.log" >&2
		exit 1
	}
	rm -f dist/*_"$arch".deb
	cp "$work"/*_"$arch".deb dist/
	echo "build.sh: packages in dist/:"
	ls -l dist/*_"$arch".deb
	echo "build.sh: lintian:"
	lintian --fail-on error "$work"/*_"$arch".changes
	exit $?
fi

make -s -j"$(nproc)"
exec make -s -j"$(nproc)" "$target"
