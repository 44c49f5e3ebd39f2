#!/bin/bash
#
# demo.sh - run bench/demo natively and under lockonfault's engines,
# side by side.
#
# Usage: scripts/demo.sh BUILDDIR      (or: make demo)
#
# bench/demo is a legacy program: it maps DEMO_SIZE bytes, mlock()s all of
# it and then uses only DEMO_TOUCH bytes of it, in runs of DEMO_RUN bytes
# (buffers, objects) spread evenly over the mapping.
# Natively the kernel pre-faults and locks the whole mapping in mlock();
# under lockonfault only the pages touched (and the batches around them)
# are locked, when they are first touched. The same unmodified program
# runs four times, one table row each:
#
#   native          no library: the kernel's eager mlock()
#   lockonfault     the default engine, auto: on a kernel with
#                   MLOCK_ONFAULT (4.4+), the kernel's own flags
#   LOCKONFAULT_ENGINE=sigsegv
#                   the user-space engine (PROT_NONE, SIGSEGV handler)
#   simulated 4.3   the default engine again, under
#                   test/sim43/lof-kernel43 (a seccomp filter answering
#                   as Linux 4.3: no mlock2, no MCL_ONFAULT), where auto
#                   must choose the sigsegv engine
#
# Each lockonfault row names the engine that ran, from the engine= line
# of its statistics report. Then a case the native kernel cannot:
# DEMO_BIG_SIZE (48G), more than this machine's RAM, under lockonfault
# only (the default engine).
#
# Sizes: the defaults, 8G mapped and 256M touched in runs of 64K, take
# under a minute on the development machine (2 cores, 24 GiB, 2026-12):
# the native mlock() of 8G 12 to 20 s (up to a minute when the machine
# is busy), the other rows under a second each. Keep the whole run under
# 3 minutes there.
#
# DEMO_RUN=4K (single pages, one in 32) shows the SIGSEGV engine's limit
# on a kernel without MLOCK_ONFAULT: every opened page there splits a
# kernel mapping, 65,536 scattered pages would need more mappings than
# vm.max_map_count allows, so batches widen and most of the mapping ends
# up locked (liblockonfault(7), LIMITS).
#
# Environment:
#   DEMO_SIZE      mapping size of the side-by-side runs (default 8G; it
#                  must fit in memory, since the native run locks it all)
#   DEMO_TOUCH     how much of the mapping is used (default 256M)
#   DEMO_RUN       the used pages come in runs of this size (default 64K)
#   DEMO_BIG_SIZE  mapping size of the lockonfault-only run (default 48G)
#   DEMO_TIMEOUT   seconds allowed for each run (default 600)
# Sizes take K, M, G or T suffixes. LOCKONFAULT_* variables in the
# environment apply to the lockonfault runs, except LOCKONFAULT_ENGINE
# and LOCKONFAULT_STATS, which each row sets.
#
# Exit status: 0 when every run succeeds, each row ran the engine it is
# meant to, and every lockonfault run locked less memory, held less
# resident and returned from mlock() sooner than the native kernel; 1
# when a run fails or the numbers show no benefit; 2 on a usage or setup
# error.

set -u

prog=${0##*/}
builddir=${1:-}

SIZE=${DEMO_SIZE:-8G}
TOUCH=${DEMO_TOUCH:-256M}
RUN=${DEMO_RUN:-64K}
BIG_SIZE=${DEMO_BIG_SIZE:-48G}
TIMEOUT=${DEMO_TIMEOUT:-600}

die() {
	echo "$prog: $*" >&2
	exit 2
}

if [ $# -ne 1 ] || [ -z "$builddir" ]; then
	echo "Usage: $prog BUILDDIR" >&2
	exit 2
fi

demo=$builddir/bench/demo
wrapper=$builddir/lockonfault
k43=$builddir/test/sim43/lof-kernel43
[ -x "$demo" ] || die "$demo not found or not executable (run make first)"
[ -x "$wrapper" ] || die "$wrapper not found or not executable"
[ -x "$k43" ] || die "$k43 not found or not executable (run make first)"
unset LOCKONFAULT_ENGINE LOCKONFAULT_STATS

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lof-demo.XXXXXX") || die "mktemp failed"
trap 'rm -rf "$tmp"' EXIT

# Print the byte count of a size with an optional K/M/G/T suffix.
to_bytes() {
	local v=$1 n unit

	[[ $v =~ ^([0-9]+)([kKmMgGtT]?)(i?[bB])?$ ]] || return 1
	n=${BASH_REMATCH[1]}
	unit=${BASH_REMATCH[2]}
	case $unit in
	k|K) n=$((n << 10)) ;;
	m|M) n=$((n << 20)) ;;
	g|G) n=$((n << 30)) ;;
	t|T) n=$((n << 40)) ;;
	esac
	echo "$n"
}

# Print a kB count as "8.0 GiB".
human_kb() {
	awk -v kb="$1" 'BEGIN {
		split("KiB MiB GiB TiB", u, " ")
		v = kb; i = 1
		while (v >= 1024 && i < 4) { v /= 1024; i++ }
		printf "%.1f %s", v, u[i]
	}'
}

# Print the value of KEY in a "key=value key=value" line.
field() {
	local key=$1 line=$2 kv

	for kv in $line; do
		if [ "${kv%%=*}" = "$key" ]; then
			echo "${kv#*=}"
			return 0
		fi
	done
	return 1
}

meminfo_kb() {
	awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo
}

# Succeed when float a < b.
less_than() {
	awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'
}

# Print a / b as "12.3" (or "1234" from 100 up), or "inf" when b is 0.
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (b == 0)
			print "inf"
		else if (a / b >= 100)
			printf "%.0f", a / b
		else
			printf "%.1f", a / b
	}'
}

# Print a + b with three decimals.
sum() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a + b }'
}

size_b=$(to_bytes "$SIZE") || die "bad DEMO_SIZE '$SIZE' (expected e.g. 8G)"
touch_b=$(to_bytes "$TOUCH") || die "bad DEMO_TOUCH '$TOUCH' (expected e.g. 256M)"
big_b=$(to_bytes "$BIG_SIZE") ||
	die "bad DEMO_BIG_SIZE '$BIG_SIZE' (expected e.g. 48G)"
[[ $TIMEOUT =~ ^[1-9][0-9]*$ ]] ||
	die "bad DEMO_TIMEOUT '$TIMEOUT' (expected seconds)"
[ "$size_b" -gt 0 ] || die "DEMO_SIZE must not be 0"
[ "$touch_b" -le "$size_b" ] || die "DEMO_TOUCH ($TOUCH) exceeds DEMO_SIZE ($SIZE)"
[ "$touch_b" -le "$big_b" ] ||
	die "DEMO_TOUCH ($TOUCH) exceeds DEMO_BIG_SIZE ($BIG_SIZE)"

page=$(getconf PAGESIZE)
# Memory the demo itself writes: TOUCH rounded up to whole pages.
touched_kb=$(( (touch_b + page - 1) / page * page / 1024 ))
size_kb=$(( (size_b + page - 1) / page * page / 1024 ))
big_kb=$(( (big_b + page - 1) / page * page / 1024 ))
total_kb=$(meminfo_kb MemTotal)
avail_kb=$(meminfo_kb MemAvailable)

# The native run locks all of SIZE: refuse what would not fit with room to
# spare, rather than invite the OOM killer.
if [ "$size_kb" -gt $((avail_kb * 3 / 4)) ]; then
	die "DEMO_SIZE=$SIZE does not fit comfortably in the $(human_kb "$avail_kb") available: the native run locks all of it; pick a smaller DEMO_SIZE"
fi

if [ "$(id -u)" -ne 0 ] && [ "$(ulimit -l)" != unlimited ] &&
   [ "$(ulimit -l)" -lt "$size_kb" ]; then
	echo "$prog: warning: not root and RLIMIT_MEMLOCK is $(ulimit -l) kB:" \
	     "mlock() of $SIZE will fail with ENOMEM (run as root or raise" \
	     "ulimit -l)" >&2
fi

failed=0
out=
engine=

# run LABEL CMD...: run the demo quietly, leave its -q line in $out and
# the engine= of its statistics report (if it made one) in $engine. A
# lockonfault command line gets --stats=$tmp/report.%p from the caller.
# Return: 0 on success, 1 (with a message) when the run failed.
run() {
	local label=$1 rc key

	shift
	rm -f "$tmp"/report.*
	out=$(timeout "$TIMEOUT" "$@")
	rc=$?
	engine=$(sed -n 's/^lockonfault: engine=//p' "$tmp"/report.* 2>/dev/null |
		head -n 1)
	if [ $rc -eq 124 ]; then
		echo "$prog: $label: timed out after ${TIMEOUT}s" >&2
		return 1
	fi
	if [ $rc -ne 0 ]; then
		echo "$prog: $label: demo exited with status $rc" >&2
		return 1
	fi
	for key in mlock_ms touch_ms locked_kb rss_kb; do
		if ! [[ $(field "$key" "$out") =~ ^[0-9]+(\.[0-9]+)?$ ]]; then
			echo "$prog: $label: no $key in the output: $out" >&2
			return 1
		fi
	done
	if [ "$(field ok "$out")" != 1 ]; then
		echo "$prog: $label: unexpected output: $out" >&2
		return 1
	fi
	return 0
}

# table_row RUN ENGINE MLOCK TOUCH LOCKED RSS: one row of the table.
table_row() {
	printf '%-24s %-13s %12s %12s %10s %10s\n' "$@"
}

row() {
	local label=$1 eng=$2 line=$3

	table_row "$label" "$eng" \
		"$(field mlock_ms "$line") ms" "$(field touch_ms "$line") ms" \
		"$(human_kb "$(field locked_kb "$line")")" \
		"$(human_kb "$(field rss_kb "$line")")"
}

# benefit LABEL LINE: check one lockonfault run against the native one
# ($native) and print its summary line; set failed=1 on no benefit.
benefit() {
	local label=$1 line=$2 n_mlock l_mlock n_locked l_locked n_rss l_rss \
		n_touch l_touch

	n_mlock=$(field mlock_ms "$native")
	l_mlock=$(field mlock_ms "$line")
	n_locked=$(field locked_kb "$native")
	l_locked=$(field locked_kb "$line")
	n_rss=$(field rss_kb "$native")
	l_rss=$(field rss_kb "$line")
	n_touch=$(field touch_ms "$native")
	l_touch=$(field touch_ms "$line")

	echo "  $label: mlock() returned in $l_mlock ms instead of" \
	     "$n_mlock ms ($(ratio "$n_mlock" "$l_mlock") times faster);"
	echo "    touching took $l_touch ms instead of $n_touch ms, both" \
	     "together $(sum "$l_mlock" "$l_touch") ms instead of" \
	     "$(sum "$n_mlock" "$n_touch") ms;"
	echo "    $(human_kb "$l_locked") locked instead of" \
	     "$(human_kb "$n_locked") ($(ratio "$n_locked" "$l_locked") times" \
	     "less), $(ratio "$l_locked" "$touched_kb") times the" \
	     "$(human_kb "$touched_kb") the demo used."

	if ! less_than "$l_locked" "$n_locked"; then
		echo "$prog: $label: no benefit: lockonfault locked $l_locked kB," \
		     "native $n_locked kB" >&2
		failed=1
	fi
	if ! less_than "$l_rss" "$n_rss"; then
		echo "$prog: $label: no benefit: lockonfault RSS $l_rss kB," \
		     "native $n_rss kB" >&2
		failed=1
	fi
	if ! less_than "$l_mlock" "$n_mlock"; then
		echo "$prog: $label: no benefit: lockonfault mlock() took" \
		     "$l_mlock ms, native $n_mlock ms" >&2
		failed=1
	fi
	if [ "$l_locked" -lt "$touched_kb" ]; then
		echo "$prog: $label: lockonfault locked $l_locked kB, less than" \
		     "the $touched_kb kB the demo touched" >&2
		failed=1
	fi
}

# The engine auto chooses on this kernel, as the library will.
auto=$("$wrapper" --probe | sed -n 's/^engine_auto: //p')
[ -n "$auto" ] || die "$wrapper --probe names no engine_auto"
k43_ok=1
"$k43" true 2>/dev/null || k43_ok=0

echo "lockonfault demo: a program maps $SIZE, mlock()s all of it and uses $TOUCH,"
echo "in runs of $RUN spread evenly over the mapping. Natively mlock() pre-faults and locks"
echo "the whole mapping; under lockonfault pages are locked on first touch:"
echo "by the kernel's own MLOCK_ONFAULT where it has it (the default engine,"
echo "auto), or by the SIGSEGV engine (asked for, or on a kernel before 4.4,"
echo "here a simulated Linux 4.3). The engine column is the one that ran."
echo

table_row run engine mlock touch Locked RSS
table_row --- ------ ----- ----- ------ ---

native=
if run "native $SIZE" env -u LD_PRELOAD "$demo" -q -s "$SIZE" -t "$TOUCH" -c "$RUN"; then
	native=$out
	row "native $SIZE" "kernel mlock" "$native"
else
	table_row "native $SIZE" - FAILED - - -
	failed=1
fi

# lof_row LABEL WANT [PREFIX...]: the demo under the wrapper (after
# PREFIX, e.g. env or lof-kernel43), which must run engine WANT.
# Leaves the demo's line in $lof ("" on failure).
lof_row() {
	local label=$1 want=$2

	shift 2
	lof=
	if ! run "$label" "$@" "$wrapper" --stats="$tmp/report.%p" -- \
		"$demo" -q -s "$SIZE" -t "$TOUCH" -c "$RUN"; then
		table_row "$label" - FAILED - - -
		failed=1
		return
	fi
	row "$label" "${engine:-?}" "$out"
	if [ "$engine" != "$want" ]; then
		echo "$prog: $label: ran engine '${engine:-?}', expected $want" >&2
		failed=1
	fi
	lof=$out
}

lof_row "lockonfault $SIZE" "$auto"
lof_auto=$lof
lof_row "ENGINE=sigsegv $SIZE" sigsegv env LOCKONFAULT_ENGINE=sigsegv
lof_sigsegv=$lof
lof_43=
if [ $k43_ok -eq 1 ]; then
	lof_row "simulated 4.3, $SIZE" sigsegv "$k43"
	lof_43=$lof
else
	table_row "simulated 4.3, $SIZE" "(not run: no seccomp filter here)" - - - -
fi

if [ -n "$native" ]; then
	echo
	echo "Against the native kernel:"
	[ -n "$lof_auto" ] && benefit "lockonfault ($auto)" "$lof_auto"
	[ -n "$lof_sigsegv" ] && benefit "sigsegv engine" "$lof_sigsegv"
	[ -n "$lof_43" ] && benefit "sigsegv engine on 4.3" "$lof_43"
fi

echo
echo "Now $BIG_SIZE, under lockonfault only. This machine has $(human_kb "$total_kb") of RAM:"
if [ "$big_kb" -ge "$total_kb" ]; then
	echo "a native mlock() of $BIG_SIZE would have to pre-fault more memory than"
	echo "exists, so it would fail with ENOMEM or invoke the OOM killer. It is not run."
else
	echo "a native mlock() of $BIG_SIZE would pre-fault and lock all of it, so it"
	echo "is not run."
fi
echo

table_row run engine mlock touch Locked RSS
table_row --- ------ ----- ----- ------ ---
table_row "native $BIG_SIZE" - "(not run)" - - -
if run "lockonfault $BIG_SIZE" "$wrapper" --stats="$tmp/report.%p" -- \
	"$demo" -q -s "$BIG_SIZE" -t "$TOUCH" -c "$RUN"; then
	big=$out
	row "lockonfault $BIG_SIZE" "${engine:-?}" "$big"
	b_locked=$(field locked_kb "$big")
	if [ "$b_locked" -lt "$touched_kb" ]; then
		echo "$prog: lockonfault locked $b_locked kB of $BIG_SIZE, less" \
		     "than the $touched_kb kB the demo touched" >&2
		failed=1
	fi
	if [ "$b_locked" -ge "$big_kb" ]; then
		echo "$prog: no benefit: lockonfault locked all of $BIG_SIZE" >&2
		failed=1
	fi
else
	table_row "lockonfault $BIG_SIZE" - FAILED - - -
	failed=1
fi

echo
if [ $failed -ne 0 ]; then
	echo "$prog: FAILED" >&2
	exit 1
fi
echo "$prog: ok"
exit 0
