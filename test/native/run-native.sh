#!/bin/sh
# run-native.sh - TAP: the preload tests whose checks hold for both
# engines, run again with LOCKONFAULT_ENGINE=native (lock calls go to
# the kernel with MLOCK_ONFAULT/MCL_ONFAULT; nothing is made PROT_NONE).
# Each test's lines are renumbered and prefixed with its name; a test
# that crashes, bails out or plans more lines than it prints fails.
#
# Not run here, because they check what only the sigsegv engine does:
#   t-syscalls  its control expects EFAULT from a pending buffer
#   t-sigmask   SIGSEGV is kept unblocked for the engine's handler
#   t-backtrace LOCKONFAULT_BACKTRACE prints from the engine's handler
#   t-signals   3 of its checks expect pages to be pending (---p)
#   t-charge    LOCKONFAULT_CHARGE=touched is a sigsegv-engine mode
#   t-dontfork  expects the parent's untouched pages to stay pending
#   t-stats     counts the handler's faults (test-stats.sh covers native)
#
# Environment: LOF_TOP_BUILDDIR, LOF_TOP_SRCDIR (set by make check).

B=${LOF_TOP_BUILDDIR:-$(pwd)}
S=${LOF_TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
TESTS="t-bigmlock t-filemap t-mlock2 t-table t-crash t-errors t-threads
t-syscalls2 t-fortify t-stale"

T=$(mktemp -d "${TMPDIR:-/tmp}/lof-native.XXXXXX") || {
	echo "Bail out! mktemp failed"
	exit 1
}
trap 'rm -rf "$T"' EXIT
trap 'exit 1' INT TERM HUP

n=0
for t in $TESTS; do
	LOCKONFAULT_ENGINE=native LOF_TOP_BUILDDIR=$B \
		sh "$S/test/preload/run.sh" "$B/test/preload/$t" \
		>"$T/out" 2>"$T/err"
	rc=$?
	plan=$(sed -n 's/^1\.\.\([0-9]*\).*/\1/p' "$T/out" | head -n 1)
	seen=0
	while IFS= read -r l; do
		case $l in
		"ok "*|"not ok "*)
			seen=$((seen + 1))
			n=$((n + 1))
			case $l in
			"not ok "*) st="not ok" ;;
			*) st="ok" ;;
			esac
			desc=$(printf '%s\n' "$l" | sed 's/^\(not \)*ok [0-9]* *-* *//')
			echo "$st $n - native $t: $desc"
			;;
		"Bail out!"*)
			n=$((n + 1))
			echo "not ok $n - native $t: ${l#Bail out! }"
			;;
		"#"*)
			echo "$l"
			;;
		esac
	done <"$T/out"
	if [ $rc -ne 0 ] || [ -z "$plan" ] || [ "$plan" != $seen ]; then
		n=$((n + 1))
		echo "not ok $n - native $t: exit $rc, planned ${plan:-none}, ran $seen"
		sed 's/^/# stderr: /' "$T/err"
	fi
done
echo "1..$n"
