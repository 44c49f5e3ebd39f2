#!/bin/sh
# test-i386.sh - TAP: 32-bit programs under the wrapper (issue 14). A
# 32-bit program (test/i386/lock32.c, built here with CC32, default
# gcc -m32) makes each kind of lock call over 256 MiB and touches 1 MiB:
# natively the eager kinds lock all 256 MiB; under ./lockonfault the
# i386 library is preloaded (no "wrong ELF class" from ld.so, its report
# names the engine) and Locked: is about what was touched, under the
# default engine (the kernel's flags here), the SIGSEGV engine, and the
# default engine on the simulated Linux 4.3 (test/sim43/lof-kernel43).
# Last, a wrapper with no i386 library next to it: the supervisor
# (issue 13) serves the program, lazily; with --supervise=never it warns
# once and runs the program unchanged, with its exit status.
#
# Skips (exit 77 with a reason) where there is no i386 library or no
# 32-bit compiler: configure leaves the library out without gcc-multilib.
#
# Environment: LOF_TOP_BUILDDIR, LOF_TOP_SRCDIR, CC32.

B=${LOF_TOP_BUILDDIR:-$(pwd)}
S=${LOF_TOP_SRCDIR:-$B}
W=$B/lockonfault
K43=$B/test/sim43/lof-kernel43
LIB32=$B/build32/src/.libs/liblockonfault.so
CC32=${CC32:-gcc -m32}

if [ ! -x "$W" ]; then
	echo "Bail out! wrapper not built in $B"
	exit 1
fi
if [ ! -f "$LIB32" ]; then
	echo "1..0 # SKIP no i386 library ($LIB32): configure found no 32-bit compiler (gcc-multilib)"
	exit 0
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/lof-i386.XXXXXX") || {
	echo "Bail out! mktemp failed"
	exit 1
}
trap 'rm -rf "$T"' EXIT
trap 'exit 1' INT TERM HUP
unset LD_PRELOAD
for v in $(env | sed -n 's/^\(LOCKONFAULT_[A-Za-z0-9_]*\)=.*/\1/p'); do
	unset "$v"
done

P=$T/lock32
if ! $CC32 -O2 -o "$P" "$S/test/i386/lock32.c" 2>"$T/cc"; then
	echo "1..0 # SKIP $CC32 cannot build a 32-bit program: $(head -n 1 "$T/cc")"
	exit 0
fi

KINDS="mlock mlock2 mlock2-onfault mlockall mlockall-onfault map-locked"
FULL=262144	# kB: the 256 MiB the program locks
LAZY_MAX=32768	# kB: 1 MiB touched, plus what mlockall finds mapped
n=0
echo "1..$((6 * 4 + 3))"

# run NAME COMMAND...: run it, stdout in $T/out, stderr in $T/err; sets
# kb (Locked: in kB) and rc.
run() {
	"$@" >"$T/out" 2>"$T/err"
	rc=$?
	kb=$(sed -n 's/.*locked_kb=\([0-9-]*\).*/\1/p' "$T/out")
	[ -n "$kb" ] || kb=-1
}

# check DESC COND: one TAP line; on failure, the output as comments.
check() {
	n=$((n + 1))
	if eval "$2"; then
		echo "ok $n - $1"
	else
		echo "not ok $n - $1"
		sed 's/^/# out: /' "$T/out"
		grep -v '^lockonfault:   ' "$T/err" | head -n 20 | sed 's/^/# err: /'
	fi
}

# The library's report went to stderr, its engine as said, and ld.so
# said nothing about an ELF class.
loaded() {
	grep -q "^lockonfault: engine=$1\$" "$T/err" &&
		! grep -q 'wrong ELF class' "$T/err"
}

# The SIGSEGV engine's handler ran, and never failed.
faulted() {
	grep -q '^lockonfault: faults=[1-9]' "$T/err" &&
		grep -q '^lockonfault: failures=0$' "$T/err"
}

for k in $KINDS; do
	run "$P" "$k"
	case $k in
	*-onfault)
		check "$k natively: locks on fault by itself (Locked: $kb kB)" \
			'[ $rc = 0 ] && [ $kb -ge 1024 ] && [ $kb -le $LAZY_MAX ]' ;;
	*)
		check "$k natively: locks all 256 MiB (Locked: $kb kB)" \
			'[ $rc = 0 ] && [ $kb -ge $FULL ]' ;;
	esac

	run "$W" --stats -- "$P" "$k"
	check "$k under the wrapper: i386 library, engine native, Locked: $kb kB" \
		'[ $rc = 0 ] && loaded native && [ $kb -ge 1024 ] && [ $kb -le $LAZY_MAX ]'

	run "$W" --stats --engine=sigsegv -- "$P" "$k"
	check "$k under the SIGSEGV engine: faults handled, Locked: $kb kB" \
		'[ $rc = 0 ] && loaded sigsegv && faulted && [ $kb -ge 1024 ] && [ $kb -le $LAZY_MAX ]'

	if [ -x "$K43" ]; then
		run "$K43" "$W" --stats -- "$P" "$k"
		check "$k on the simulated 4.3: engine sigsegv (auto), faults handled, Locked: $kb kB" \
			'[ $rc = 0 ] && loaded sigsegv && faulted && [ $kb -ge 1024 ] && [ $kb -le $LAZY_MAX ]'
	else
		n=$((n + 1))
		echo "ok $n # SKIP $k on the simulated 4.3: $K43 not built"
	fi
done

# A 64-bit program still gets the x86_64 library.
"$W" -n -- /bin/sh -c : >"$T/out" 2>"$T/err"
check "a 64-bit program gets src/.libs/liblockonfault.so" \
	'grep -q "^LD_PRELOAD=.*/src/.libs/liblockonfault.so\$" "$T/out" && ! grep -q build32 "$T/out"'

# A wrapper with no i386 library next to it (and none installed).
mkdir "$T/bin" && cp "$W" "$T/bin/lockonfault"
if "$T/bin/lockonfault" -n -- "$P" mlock 2>/dev/null | grep -q '^LD_PRELOAD='; then
	n=$((n + 1))
	echo "ok $n # SKIP an i386 library is installed: cannot test its absence"
else
	run "$T/bin/lockonfault" --supervise=never -- "$P" bogus
	check "no i386 library, --supervise=never: one warning line, the program runs unchanged (exit $rc)" \
		'[ $rc = 2 ] && [ $(grep -c "^lockonfault: warning: .*32-bit program.*not installed" "$T/err") = 1 ] && grep -q "unknown kind" "$T/err" && [ $(wc -l <"$T/err") = 2 ]'
	run "$T/bin/lockonfault" -- "$P" mlock
	check "no i386 library: the supervisor serves it, no warning, Locked: $kb kB" \
		'[ $rc = 0 ] && [ ! -s "$T/err" ] && [ $kb -ge 1024 ] && [ $kb -le $LAZY_MAX ]'
fi
