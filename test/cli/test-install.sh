#!/bin/sh
# test-install.sh - TAP: "make install DESTDIR=..." puts every piece in
# place under a prefix chosen at install time, the installed wrapper
# finds the installed library (../lib next to itself), the pkg-config
# file describes it, and a program linked against the installed library
# locks on fault, under the default engine and the SIGSEGV engine, and
# reads its statistics.
#
# Everything goes to a temporary directory, removed at the end.
# Environment: LOF_TOP_BUILDDIR, and MAKE (set by make check).

B=${LOF_TOP_BUILDDIR:-$(pwd)}
MAKE=${MAKE:-make}
PREFIX=/opt/lof-install-test

T=$(mktemp -d "${TMPDIR:-/tmp}/lof-install.XXXXXX") || {
	echo "Bail out! mktemp failed"
	exit 1
}
trap 'rm -rf "$T"' EXIT
trap 'exit 1' INT TERM HUP
unset LD_PRELOAD
D=$T/dest
P=$D$PREFIX

n=0
check() {
	d=$1
	shift
	n=$((n + 1))
	if "$@"; then
		echo "ok $n - $d"
	else
		echo "not ok $n - $d"
		[ -s "$T/log" ] && sed 's/^/# /' "$T/log" | tail -n 20
	fi
}

(cd "$B" && $MAKE -s install prefix=$PREFIX DESTDIR="$D") >"$T/log" 2>&1
check "make install prefix=$PREFIX DESTDIR=... succeeds" [ $? -eq 0 ]
for f in lib/liblockonfault.so include/lockonfault.h bin/lockonfault \
	share/man/man1/lockonfault.1 share/man/man7/liblockonfault.7 \
	lib/pkgconfig/lockonfault.pc; do
	check "installed $PREFIX/$f" [ -s "$P/$f" ]
done
(cd "$B" && $MAKE -s uninstall prefix=$PREFIX DESTDIR="$D") >"$T/log" 2>&1
left=$(find "$D" -type f | sed "s|^$D||")
check "make uninstall removes every file ($left)" [ -z "$left" ]
(cd "$B" && $MAKE -s install prefix=$PREFIX DESTDIR="$D") >"$T/log" 2>&1
check "the installed wrapper is executable" [ -x "$P/bin/lockonfault" ]

"$P/bin/lockonfault" --dry-run true >"$T/log" 2>&1
check "the installed wrapper preloads the installed library" \
	eval '[ "$(sed -n 1p "$T/log")" = "LD_PRELOAD=$(cd "$P/lib" && pwd -P)/liblockonfault.so" ]'

"$P/bin/lockonfault" --stats -- false >"$T/out" 2>"$T/log"
rc=$?
check "the installed wrapper runs a command under the installed library" \
	eval '[ $rc -eq 1 ] && grep -q "^lockonfault: engine=" "$T/log"'

if command -v pkg-config >/dev/null 2>&1; then
	PKG_CONFIG_PATH=$P/lib/pkgconfig pkg-config --cflags --libs lockonfault \
		>"$T/log" 2>&1
	check "pkg-config: -I$PREFIX/include -L$PREFIX/lib -llockonfault" \
		eval 'grep -q -- "-I$PREFIX/include" "$T/log" &&
		      grep -q -- "-L$PREFIX/lib" "$T/log" &&
		      grep -q -- "-llockonfault" "$T/log"'
else
	n=$((n + 1))
	echo "ok $n # SKIP pkg-config not installed"
fi

cat >"$T/use.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <lockonfault.h>

int main(void)
{
	size_t len = 8 << 20;
	struct lof_stats s;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (strcmp(lof_version(), LOF_VERSION_STRING) ||
	    lof_lock_onfault(p, len))
		return 1;
	p[0] = 1;
	if (lof_stats_get(&s, sizeof(s)) || s.size != sizeof(s))
		return 2;
	printf("engine=%s faults=%lu locked_kb=%lu\n", lof_engine(),
	       (unsigned long)s.faults, (unsigned long)s.locked_kb);
	return 0;
}
C
# The engine auto runs here, as the installed wrapper's probe says:
# native (the kernel's MLOCK_ONFAULT: no fault goes through the
# handler, faults=0) on a 4.4+ kernel, else sigsegv (one fault).
AUTO=$("$P/bin/lockonfault" --probe | sed -n 's/^engine_auto: //p')
PAGE_KB=$(($(getconf PAGESIZE) / 1024))
${CC:-cc} -I"$P/include" -o "$T/use" "$T/use.c" -L"$P/lib" -llockonfault \
	>"$T/log" 2>&1 &&
	LD_LIBRARY_PATH=$P/lib "$T/use" >"$T/out" 2>>"$T/log"
case $AUTO in
native) want="engine=native faults=0 locked_kb=$PAGE_KB" ;;
*) want="engine=sigsegv faults=1 locked_kb=[1-9]" ;;
esac
check "a program linked with -llockonfault locks on fault under the default engine ($AUTO) and reads its statistics ($(cat "$T/out"))" \
	grep -q "^$want" "$T/out"
LOCKONFAULT_ENGINE=sigsegv LD_LIBRARY_PATH=$P/lib "$T/use" >"$T/out" 2>>"$T/log"
check "the same under LOCKONFAULT_ENGINE=sigsegv: one fault ($(cat "$T/out"))" \
	grep -q "^engine=sigsegv faults=1 locked_kb=[1-9]" "$T/out"
# The i386 library, where make all built one: installed next to the
# x86_64 one (lib/i386-linux-gnu), and the installed wrapper gives it to
# a 32-bit program.
if [ -f "$B/build32/src/.libs/liblockonfault.so" ]; then
	check "installed $PREFIX/lib/i386-linux-gnu/liblockonfault.so" \
		[ -s "$P/lib/i386-linux-gnu/liblockonfault.so" ]
	echo 'int main(void) { return 3; }' >"$T/p32.c"
	${CC32:-gcc -m32} -o "$T/p32" "$T/p32.c" >>"$T/log" 2>&1
	"$P/bin/lockonfault" --dry-run "$T/p32" >"$T/out" 2>>"$T/log"
	check "the installed wrapper preloads the installed i386 library for a 32-bit program" \
		eval '[ "$(sed -n 1p "$T/out")" = "LD_PRELOAD=$(cd "$P/lib/i386-linux-gnu" && pwd -P)/liblockonfault.so" ]'
	"$P/bin/lockonfault" --stats -- "$T/p32" >"$T/out" 2>"$T/log"
	rc=$?
	check "the installed wrapper runs a 32-bit program under it (exit $rc)" \
		eval '[ $rc -eq 3 ] && grep -q "^lockonfault: engine=" "$T/log" && ! grep -q "wrong ELF class" "$T/log"'
fi
echo "1..$n"
