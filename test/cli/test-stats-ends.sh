#!/bin/sh
# test-stats-ends.sh - TAP: the LOCKONFAULT_STATS report is written however
# the process ends: exit, _exit, _Exit, an exec (before it, taken back
# if it fails), and the signals whose default action kills (a real
# fault, a sent SIGSEGV, abort, SIGTERM, SIGBUS). The program
# (stats-ends) locks 16 MiB, touches 1 MiB and ends as told; each report
# must be there once, say how the process ended (at=, signal=), carry
# the program's pid, and give the kernel's Locked: of the touched 1 MiB
# (at least; the emulation may lock a little more, as its batches grow:
# the report must then agree with the program's own reading of Locked:).
# The catcher that writes the report on a signal must be invisible:
# sigaction() shows the program SIG_DFL, and the exit status is the
# kernel's (killed by the same signal).
#
# Runs under the default engine, LOCKONFAULT_ENGINE=sigsegv and, where
# the kernel has MLOCK_ONFAULT, the simulated 4.3 (the emulation).
#
# Environment: LOF_TOP_BUILDDIR (default: the current directory).

B=${LOF_TOP_BUILDDIR:-$(pwd)}
W=$B/lockonfault
P=$B/test/cli/stats-ends
SIM=$B/test/sim43/lof-kernel43

if [ ! -x "$W" ] || [ ! -x "$P" ]; then
	echo "Bail out! wrapper or stats-ends not built in $B"
	exit 1
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/lof-ends.XXXXXX") || {
	echo "Bail out! mktemp failed"
	exit 1
}
trap 'rm -rf "$T"' EXIT
trap 'exit 1' INT TERM HUP
unset LD_PRELOAD
for v in $(env | sed -n 's/^\(LOCKONFAULT_[A-Za-z0-9_]*\)=.*/\1/p'); do
	unset "$v"
done
# No core files from the signal cases.
ulimit -c 0 2>/dev/null

n=0
ok() {
	n=$((n + 1))
	echo "ok $n - $1"
}
not_ok() {
	n=$((n + 1))
	echo "not ok $n - $1"
	for f in "$T"/r.*; do
		[ -f "$f" ] && sed "s|^|# $(basename "$f"): |" "$f" | grep -v handler_us_
	done
	[ -f "$T/out" ] && sed 's/^/# out: /' "$T/out"
	[ -f "$T/err" ] && sed 's/^/# err: /' "$T/err"
}
check() {
	d=$1
	shift
	if "$@"; then ok "$d"; else not_ok "$d"; fi
}

# v FILE KEY: the value of KEY in FILE (each occurrence on a line).
v() { sed -n "s/^lockonfault: $2=//p" "$1"; }
# d KEY: the program's own value for KEY.
d() { head -n 1 "$T/out" | tr ' ' '\n' | sed -n "s/^$1=//p"; }

# run ENGINE HOW: run the program, the reports in $T/r.<pid>.
run() {
	rm -f "$T"/r.* "$T/out" "$T/err"
	case $1 in
	sim43) set -- "$2" "$SIM" -- ;;
	*) LOCKONFAULT_ENGINE=$1; export LOCKONFAULT_ENGINE; set -- "$2" ;;
	esac
	how=$1
	shift
	"$@" "$W" --stats="$T/r.%p" -- "$P" "$how" >"$T/out" 2>"$T/err"
	rc=$?
	unset LOCKONFAULT_ENGINE
	set -- "$T"/r.*
	nfiles=$#
	rep=$1
}

# one LABEL AT [SIGNAL]: one report file, one report in it, at=AT,
# signal=SIGNAL (or none), and Locked: the touched 1 MiB.
one() {
	label=$1 at=$2 sig=${3:-}
	check "$label: one report, in the file of the program's pid" \
		eval '[ $nfiles -eq 1 ] && [ "$(v "$rep" pid)" = "${rep##*/r.}" ] &&
		      [ "$(grep -c "^lockonfault: pid=" "$rep")" = 1 ]'
	check "$label: at=$at${sig:+ signal=$sig}" \
		eval '[ "$(v "$rep" at)" = "$at" ] && [ "$(v "$rep" signal)" = "$sig" ]'
	check "$label: locked_kb $(v "$rep" locked_kb) is the program's Locked: $(d locked_kb) kB, at least the touched 1024 kB" \
		eval '[ "$(v "$rep" locked_kb)" = "$(d locked_kb)" ] &&
		      [ "$(d locked_kb)" -ge 1024 ]' 
}

"$P" query | sed 1d >"$T/query.native"

engines="auto sigsegv"
if [ -x "$SIM" ] && "$SIM" -- true 2>/dev/null && "$W" --probe | grep -q '^mlock_onfault: yes'; then
	engines="$engines sim43"
fi

for e in $engines; do
	run $e exit
	check "$e exit: status 0" [ $rc -eq 0 ]
	one "$e exit" exit
	check "$e exit: with the lines by call site" \
		eval '[ "$(v "$rep" sites)" = 1 ]'

	run $e _exit
	check "$e _exit: status 3" [ $rc -eq 3 ]
	one "$e _exit" _exit
	check "$e _exit: with the lines by call site" \
		eval '[ "$(v "$rep" sites)" = 1 ]'
	run $e _Exit
	check "$e _Exit: status 4" [ $rc -eq 4 ]
	one "$e _Exit" _exit

	# The new image is /bin/true under the same preload: its own
	# report follows the one written before the exec, in the same file.
	run $e exec
	check "$e exec: status 0, the two images' reports in one file" \
		eval '[ $rc -eq 0 ] && [ $nfiles -eq 1 ] &&
		      [ "$(v "$rep" at | tr "\n" " ")" = "exec exit " ] &&
		      [ "$(v "$rep" pid | sort -u | wc -l)" = 1 ]'
	check "$e exec: the first report has the program's Locked: $(d locked_kb) kB, the new image's none" \
		eval '[ "$(v "$rep" locked_kb | tr "\n" " ")" = "$(d locked_kb) 0 " ]'

	run $e execfail
	check "$e execfail: status 5" [ $rc -eq 5 ]
	one "$e execfail" exit

	# The vfork child is a process of its own: its report is written
	# before its exec, and /bin/true's follows it; the parent's at exit.
	run $e vforkexec
	child=$(sed -n 's/^child=\([0-9]*\).*/\1/p' "$T/out")
	check "$e vforkexec: the parent's report at exit, the child's before its exec, then /bin/true's" \
		eval '[ $rc -eq 0 ] && [ $nfiles -eq 2 ] && [ -n "$child" ] &&
		      [ "$(v "$T/r.$child" at | tr "\n" " ")" = "exec exit " ] &&
		      for f in "$T"/r.*; do [ "$f" = "$T/r.$child" ] ||
		      [ "$(v "$f" at)" = exit ] || exit 1; done'

	run $e segv
	check "$e segv: killed by SIGSEGV (status $rc)" [ $rc -eq $((128 + 11)) ]
	one "$e segv" signal 11
	run $e sentsegv
	check "$e sentsegv: killed by SIGSEGV (status $rc)" [ $rc -eq $((128 + 11)) ]
	one "$e sentsegv" signal 11
	run $e abort
	check "$e abort: killed by SIGABRT (status $rc)" [ $rc -eq $((128 + 6)) ]
	one "$e abort" signal 6
	run $e term
	check "$e term: killed by SIGTERM (status $rc)" [ $rc -eq $((128 + 15)) ]
	one "$e term" signal 15
	run $e bus
	check "$e bus: killed by SIGBUS (status $rc)" [ $rc -eq $((128 + 7)) ]
	one "$e bus" signal 7

	run $e query
	sed 1d "$T/out" >"$T/query"
	check "$e query: sigaction shows SIGTERM's dispositions as natively ($(tr '\n' ';' <"$T/query"))" \
		eval '[ $rc -eq 0 ] && [ -s "$T/query" ] && cmp -s "$T/query" "$T/query.native"'
done

echo "1..$n"
