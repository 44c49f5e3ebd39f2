#!/bin/sh
# build.sh - build lockonfault from a fresh checkout and run one make
# target (demo, check, bench, ...). Missing Debian build dependencies
# are installed with apt-get when run as root; otherwise they are named.
#
# Usage: scripts/build.sh [TARGET]     (default: all)
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
make -s -j"$(nproc)"
exec make -s -j"$(nproc)" "$target"
