#!/bin/sh
# test-deb.sh - TAP: the Debian packages in DIST (default dist/) hold
# what they should, their dependencies are met here, and once installed
# the wrapper runs a program with the library preloaded, lazily, with no
# other step; the -dev package builds a program against the library.
#
# "Installed" without changing this machine: each package is unpacked
# (dpkg -x) into a temporary root, and the checks run in a private mount
# namespace (unshare -m) where an overlay puts that root's usr/ over /usr,
# so /usr/bin/lockonfault and /usr/lib/<multiarch>/liblockonfault.so are
# where dpkg -i would put them. The namespace ends with the checks.
# Needs root (mount); without it the installed-path checks are skipped.
#
# Usage: test/deb/test-deb.sh [DIST]   (run by .ci/run after build.sh deb)

DIST=${1:-dist}
arch=$(dpkg --print-architecture)
ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
T=$(mktemp -d "${TMPDIR:-/tmp}/lof-deb.XXXXXX") || {
	echo "Bail out! mktemp failed"
	exit 1
}
trap 'rm -rf "$T"' EXIT
trap 'exit 1' INT TERM HUP
unset LD_PRELOAD

n=0
pass=0
fail=0
skip=0
check() {
	d=$1
	shift
	n=$((n + 1))
	if "$@" >"$T/log" 2>&1; then
		echo "ok $n - $d"
		pass=$((pass + 1))
	else
		echo "not ok $n - $d"
		fail=$((fail + 1))
		sed 's/^/# /' "$T/log" | tail -n 20
	fi
}
skipped() {
	n=$((n + 1))
	skip=$((skip + 1))
	echo "ok $n - $1 # SKIP $2"
}

lib=$(ls "$DIST"/liblockonfault0_*_"$arch".deb 2>/dev/null | tail -n 1)
dev=$(ls "$DIST"/liblockonfault-dev_*_"$arch".deb 2>/dev/null | tail -n 1)
bin=$(ls "$DIST"/lockonfault_*_"$arch".deb 2>/dev/null | tail -n 1)
check "three packages for $arch in $DIST" \
	test -n "$lib" -a -n "$dev" -a -n "$bin"
if [ -z "$lib" ] || [ -z "$dev" ] || [ -z "$bin" ]; then
	echo "1..$n"
	echo "# PASS: $pass"
	echo "# FAIL: $fail"
	exit 1
fi

has() { dpkg-deb -c "$1" | awk '{ print $6 }' | grep -qx "$2"; }
check "liblockonfault0 holds /usr/lib/$ma/liblockonfault.so" \
	has "$lib" "./usr/lib/$ma/liblockonfault.so"
check "liblockonfault0 is Multi-Arch: same" \
	sh -c "dpkg-deb -f '$lib' Multi-Arch | grep -qx same"
check "lockonfault holds the wrapper and both man pages" sh -c "
	dpkg-deb -c '$bin' | grep -q ' ./usr/bin/lockonfault\$' &&
	dpkg-deb -c '$bin' | grep -q ' ./usr/share/man/man1/lockonfault.1.gz\$' &&
	dpkg-deb -c '$bin' | grep -q ' ./usr/share/man/man7/liblockonfault.7.gz\$'"
check "lockonfault depends on the same version of liblockonfault0" \
	sh -c "dpkg-deb -f '$bin' Depends | grep -q 'liblockonfault0 (= '"
check "liblockonfault-dev holds the header and the .pc" sh -c "
	dpkg-deb -c '$dev' | grep -q ' ./usr/include/lockonfault.h\$' &&
	dpkg-deb -c '$dev' | grep -q ' ./usr/lib/$ma/pkgconfig/lockonfault.pc\$'"
# Every Depends of the three, met by what is installed here or by one
# of the three (read-only: dpkg-query, no dpkg lock, which apt-get or
# dpkg --dry-run would take and another job on the machine may hold).
deps_met() {
	for p in "$lib" "$dev" "$bin"; do
		dpkg-deb -f "$p" Depends | tr ',' '\n'
	done | sed 's/^ *//; s/ *$//' | sort -u | while IFS= read -r alt; do
		[ -n "$alt" ] || continue
		ok=no
		for one in $(echo "$alt" | tr -d ' ' | tr '|' ' '); do
			name=${one%%(*}
			name=${name%%:*}
			cond=$(echo "$one" | sed -n 's/^[^(]*(\([<>=]*\)\(.*\))$/\1 \2/p')
			have=""
			for p in "$lib" "$dev" "$bin"; do
				[ "$(dpkg-deb -f "$p" Package)" = "$name" ] &&
					have=$(dpkg-deb -f "$p" Version)
			done
			[ -n "$have" ] || have=$(dpkg-query -W -f '${db:Status-Status} ${Version}' "$name" 2>/dev/null |
				sed -n 's/^installed //p' | head -n 1)
			[ -n "$have" ] || continue
			if [ -z "$cond" ] || dpkg --compare-versions "$have" $(echo "$cond" | sed 's/^=/eq/; s/^>=/ge/; s/^<=/le/; s/^>>/gt/; s/^<</lt/'); then
				ok=yes
				break
			fi
		done
		[ $ok = yes ] || { echo "unmet: $alt"; return 1; }
		echo "met: $alt"
	done
}
check "every dependency of the packages is met here (dpkg-query)" deps_met

mkdir -p "$T/root"
for p in "$lib" "$dev" "$bin"; do
	dpkg -x "$p" "$T/root" || echo "dpkg -x $p failed" >>"$T/xlog"
done
check "dpkg -x unpacks every package" test ! -s "$T/xlog"
check "the unpacked wrapper's search ends at the multiarch libdir" \
	sh -c "'$T/root/usr/bin/lockonfault' --help | tr -s ' \\n' '  ' |
	       grep -q 'then in /usr/lib/$ma\\.'"

# A program that locks 256 MiB and touches 4 MiB of it, then prints the
# kB that smaps counts Locked for that mapping; and one built against the
# installed library with the -dev package's pkg-config file.
cat >"$T/lazy.c" <<'EOF'
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
int main(void)
{
	size_t len = 256UL << 20;
	char line[256], *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned long lo, hi, kb = 0;
	int in = 0;
	FILE *f;

	if (p == MAP_FAILED || mlock(p, len) != 0)
		return 2;
	memset(p, 1, 4UL << 20);
	f = fopen("/proc/self/smaps", "r");
	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-')
		    && strchr(line, ' ') > strchr(line, '-'))
			in = lo == (unsigned long)p;
		else if (in && sscanf(line, "Locked: %lu kB", &kb) == 1)
			break;
	}
	printf("%lu\n", kb);
	return 0;
}
EOF
cat >"$T/api.c" <<'EOF'
#include <stdio.h>
#include <lockonfault.h>
int main(void)
{
	printf("%s %s\n", lof_version(), lof_engine());
	return 0;
}
EOF
cc -O1 -o "$T/lazy" "$T/lazy.c" >"$T/cc.log" 2>&1
check "a test program builds" test -x "$T/lazy"

# The i386 library package, when built (DEB_HOST_ARCH=i386 build.sh deb),
# goes into the same root, as dpkg -i liblockonfault0:i386 would put it,
# and a 32-bit copy of the program runs under the same installed wrapper.
lib32=$(ls "$DIST"/liblockonfault0_*_i386.deb 2>/dev/null | tail -n 1)
if [ -n "$lib32" ] && [ "$arch" = amd64 ]; then
	dpkg -x "$lib32" "$T/root"
	cc -m32 -O1 -o "$T/lazy32" "$T/lazy.c" >>"$T/cc.log" 2>&1
fi

# The checks that need the packages at their installed paths, run in the
# private mount namespace; each prints "ok"/"not ok" itself.
cat >"$T/inside.sh" <<EOF
set -u
mount -t overlay lof-deb -o lowerdir="$T/root/usr":/usr /usr || exit 3
t() { if eval "\$2"; then echo "ok - \$1"; else echo "not ok - \$1"; cat "$T/ilog" 2>/dev/null | sed 's/^/# /'; fi; }
t "lockonfault is on PATH at /usr/bin/lockonfault" \
  '[ "\$(command -v lockonfault)" = /usr/bin/lockonfault ]'
t "lockonfault --dry-run preloads /usr/lib/$ma/liblockonfault.so" \
  'lockonfault --dry-run true 2>"$T/ilog" | head -n 1 | grep -qx "LD_PRELOAD=/usr/lib/$ma/liblockonfault.so"'
lockonfault --stats="$T/stats" -- "$T/lazy" >"$T/out" 2>"$T/ilog"
rc=\$?
t "lockonfault -- PROG runs it (exit \$rc)" '[ \$rc -eq 0 ]'
t "the library loaded, engine native: \$(grep -m1 engine= "$T/stats" 2>/dev/null)" \
  'grep -qx "lockonfault: engine=native" "$T/stats"'
t "Locked small: \$(cat "$T/out") kB of 262144 locked, 4096 touched" \
  '[ -s "$T/out" ] && [ "\$(cat "$T/out")" -ge 4096 ] && [ "\$(cat "$T/out")" -lt 65536 ]'
"$T/lazy" >"$T/out0" 2>"$T/ilog"
t "natively the same program locks all of it: \$(cat "$T/out0") kB" \
  '[ "\$(cat "$T/out0")" -eq 262144 ]'
if [ -x "$T/lazy32" ]; then
  lockonfault --stats="$T/stats32" -- "$T/lazy32" >"$T/out32" 2>"$T/ilog"
  t "a 32-bit program under the installed wrapper: engine \$(sed -n 's/^lockonfault: engine=//p' "$T/stats32"), \$(cat "$T/out32") kB of 262144 locked, 4096 touched" \
    '[ -s "$T/out32" ] && [ "\$(cat "$T/out32")" -ge 4096 ] && [ "\$(cat "$T/out32")" -lt 65536 ] && ! grep -q "wrong ELF class" "$T/ilog"'
fi
t "man -w lockonfault finds the installed page" \
  '! command -v man >/dev/null || man -w lockonfault 2>"$T/ilog" | grep -q "^/usr/share/man/man1/lockonfault.1.gz\$"'
t "pkg-config lockonfault: libdir /usr/lib/$ma" \
  '[ "\$(PKG_CONFIG_PATH=/usr/lib/$ma/pkgconfig pkg-config --variable=libdir lockonfault 2>"$T/ilog")" = /usr/lib/$ma ]'
cc -o "$T/api" "$T/api.c" \$(PKG_CONFIG_PATH=/usr/lib/$ma/pkgconfig pkg-config --cflags --libs lockonfault) >"$T/ilog" 2>&1
t "a program built with the -dev package runs: \$("$T/api" 2>&1)" \
  '"$T/api" >"$T/ilog" 2>&1 && grep -q "^[0-9]" "$T/ilog"'
EOF
before=$(ls /usr/bin/lockonfault /usr/lib/"$ma"/liblockonfault.so 2>/dev/null)
if [ "$(id -u)" -ne 0 ] || ! command -v unshare >/dev/null; then
	for d in "the installed wrapper, library, man page and -dev package"; do
		skipped "$d" "needs root and unshare for a private mount namespace"
	done
else
	unshare -m --propagation private sh "$T/inside.sh" >"$T/inside" 2>&1
	urc=$?
	if [ $urc -eq 3 ]; then
		skipped "the installed wrapper, library, man page and -dev package" \
			"no overlay mount here ($(head -n 1 "$T/inside"))"
	else
		while IFS= read -r l; do
			case $l in
			"ok - "*) n=$((n + 1)); pass=$((pass + 1)); echo "ok $n ${l#ok }" ;;
			"not ok - "*) n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n ${l#not ok }" ;;
			*) echo "# $l" ;;
			esac
		done <"$T/inside"
	fi
fi
# The i386 library package, when dist/ has one (DEB_HOST_ARCH=i386
# scripts/build.sh deb): its file is 32-bit, at the i386 multiarch path,
# and it can be installed beside the amd64 one (Multi-Arch: same: every
# path the two share has the same content).
lib32=$(ls "$DIST"/liblockonfault0_*_i386.deb 2>/dev/null | tail -n 1)
if [ "$arch" = amd64 ] && [ -n "$lib32" ]; then
	mkdir -p "$T/r32" "$T/r64"
	dpkg -x "$lib32" "$T/r32" && dpkg -x "$lib" "$T/r64"
	check "liblockonfault0:i386 holds a 32-bit /usr/lib/i386-linux-gnu/liblockonfault.so" \
		sh -c "od -An -tx1 -j4 -N1 '$T/r32/usr/lib/i386-linux-gnu/liblockonfault.so' | grep -q 01"
	check "liblockonfault0 amd64 and i386 are co-installable (shared paths identical)" \
		sh -c "cd '$T/r32' && find . -type f | while read -r f; do
			[ ! -e '$T/r64/'\"\$f\" ] || cmp \"\$f\" '$T/r64/'\"\$f\" || exit 1; done"
else
	skipped "liblockonfault0:i386 in $DIST, 32-bit and co-installable with amd64" \
		"no i386 package in $DIST (DEB_HOST_ARCH=i386 scripts/build.sh deb; needs src/ built for i386)"
fi

after=$(ls /usr/bin/lockonfault /usr/lib/"$ma"/liblockonfault.so 2>/dev/null)
check "this machine's /usr is unchanged (before: '$before')" \
	test "$before" = "$after"

echo "1..$n"
echo "# PASS: $pass"
echo "# SKIP: $skip"
echo "# FAIL: $fail"
[ "$fail" -eq 0 ]
