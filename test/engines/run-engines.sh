#!/bin/sh
# run-engines.sh - TAP: every preload test again, under one engine
# variant other than the default run of make check.
#
#   run-engines.sh VARIANT [TEST...]
#
#   native   LOCKONFAULT_ENGINE=native: the kernel's MLOCK_ONFAULT and
#            MCL_ONFAULT, nothing made PROT_NONE
#   sigsegv  LOCKONFAULT_ENGINE=sigsegv: table, PROT_NONE, fault handler
#   sim43    LOCKONFAULT_ENGINE unset (the default, auto) under
#            test/sim43/lof-kernel43, a seccomp filter that answers as
#            Linux 4.3 does: the library must pick the sigsegv engine and
#            supply lock-on-fault itself
#   sim43-touched  the same with LOCKONFAULT_CHARGE=touched (each batch
#            charged as it is locked); only tests that know that mode
#            (sim43-touched.sh names it: most others assume the
#            default CHARGE=range)
#
# The tests are the TEST names given (t-mlock2 ...), else
# $LOF_PRELOAD_TESTS (make check passes PRELOAD_TESTS), else every
# test/preload/t-* program built. Each test's lines are renumbered and
# prefixed with the variant and its name; a test that crashes, bails out
# or prints another number of lines than it planned fails. Its stderr is
# shown as comments when it fails.
#
# A test that runs longer than LOF_TEST_TIMEOUT seconds (default 300) is
# killed and fails (a hang must not stall make check).
#
# t-stress runs LOF_STRESS_SECONDS (default here 10, not its own 30)
# of churn, to keep make check -j2 short; set it to run longer.
#
# Environment: LOF_TOP_BUILDDIR, LOF_TOP_SRCDIR (set by make check).

B=${LOF_TOP_BUILDDIR:-$(pwd)}
S=${LOF_TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
V=$1
K43=$B/test/sim43/lof-kernel43

case $V in
native|sigsegv) ;;
sim43|sim43-touched)
	if [ ! -x "$K43" ]; then
		echo "Bail out! $K43 is not built"
		exit 1
	fi
	;;
*)
	echo "Bail out! usage: run-engines.sh native|sigsegv|sim43|sim43-touched [TEST...]"
	exit 1
	;;
esac
shift

if [ $# -gt 0 ]; then
	TESTS=$*
elif [ -n "$LOF_PRELOAD_TESTS" ]; then
	TESTS=$LOF_PRELOAD_TESTS
else
	TESTS=$(cd "$B" && ls test/preload/t-* 2>/dev/null | grep -v '\.')
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/lof-$V.XXXXXX") || {
	echo "Bail out! mktemp failed"
	exit 1
}
trap 'rm -rf "$T"' EXIT
trap 'exit 1' INT TERM HUP

LOF_STRESS_SECONDS=${LOF_STRESS_SECONDS:-10}
TO=
command -v timeout >/dev/null 2>&1 && TO="timeout ${LOF_TEST_TIMEOUT:-300}"
LOF_TOP_BUILDDIR=$B
export LOF_STRESS_SECONDS LOF_TOP_BUILDDIR

# run_one PROGRAM: the program under the variant, output in $T.
run_one() {
	case $V in
	sim43)
		(unset LOCKONFAULT_ENGINE
		 exec $TO "$K43" -- sh "$S/test/preload/run.sh" "$1")
		;;
	sim43-touched)
		(unset LOCKONFAULT_ENGINE
		 LOCKONFAULT_CHARGE=touched
		 export LOCKONFAULT_CHARGE
		 exec $TO "$K43" -- sh "$S/test/preload/run.sh" "$1")
		;;
	*)
		LOCKONFAULT_ENGINE=$V $TO sh "$S/test/preload/run.sh" "$1"
		;;
	esac >"$T/out" 2>"$T/err"
}

n=0
for t in $TESTS; do
	t=${t##*/}
	run_one "$B/test/preload/$t"
	rc=$?
	plan=$(sed -n 's/^1\.\.\([0-9]*\).*/\1/p' "$T/out" | head -n 1)
	seen=0
	bad=0
	while IFS= read -r l; do
		case $l in
		"ok "*|"not ok "*)
			seen=$((seen + 1))
			n=$((n + 1))
			case $l in
			"not ok "*) st="not ok"; bad=1 ;;
			*) st="ok" ;;
			esac
			desc=$(printf '%s\n' "$l" | sed 's/^\(not \)*ok [0-9]* *-* *//')
			case $desc in
			"#"*) echo "$st $n - $V $t $desc" ;;
			*) echo "$st $n - $V $t: $desc" ;;
			esac
			;;
		"Bail out!"*)
			n=$((n + 1))
			bad=1
			echo "not ok $n - $V $t: ${l#Bail out! }"
			;;
		"1.."*"# SKIP"*|"1.."*"# skip"*)
			n=$((n + 1))
			echo "ok $n - $V $t # SKIP ${l#*# [Ss][Kk][Ii][Pp]}"
			seen=$plan
			;;
		"#"*)
			echo "$l"
			;;
		esac
	done <"$T/out"
	if [ $rc -ne 0 ] || [ -z "$plan" ] || [ "$plan" != $seen ]; then
		n=$((n + 1))
		bad=1
		echo "not ok $n - $V $t: exit $rc, planned ${plan:-none}, ran $seen"
	fi
	[ $bad -eq 0 ] || sed 's/^/# stderr: /' "$T/err"
done
echo "1..$n"
