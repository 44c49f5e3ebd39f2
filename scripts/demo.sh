#!/bin/bash
#
# demo.sh - run bench/demo natively and under lockonfault, side by side.
#
# Usage: scripts/demo.sh BUILDDIR      (or: make demo)
#
# bench/demo is a legacy program: it maps DEMO_SIZE bytes, mlock()s all of
# it and then uses only DEMO_TOUCH bytes of it, spread over the mapping.
# Natively the kernel pre-faults and locks the whole mapping in mlock();
# under lockonfault only the pages touched (and the batches around them)
# are locked, when they are first touched. The script prints one table
# row per run, then runs a case the native kernel cannot: DEMO_BIG_SIZE
# (48G), more than this machine's RAM, under lockonfault only.
#
# Environment:
#   DEMO_SIZE      mapping size of the side-by-side runs (default 8G; it
#                  must fit in memory, since the native run locks it all)
#   DEMO_TOUCH     how much of the mapping is used (default 256M)
#   DEMO_BIG_SIZE  mapping size of the lockonfault-only run (default 48G)
#   DEMO_TIMEOUT   seconds allowed for each run (default 600)
# Sizes take K, M, G or T suffixes. LOCKONFAULT_* variables in the
# environment apply to the lockonfault runs.
#
# Exit status: 0 when every run succeeds and lockonfault locked less memory,
# held less resident and returned from mlock() sooner than the native
# kernel; 1 when a run fails or the numbers show no benefit; 2 on a usage
# or setup error.

set -u

prog=${0##*/}
builddir=${1:-}

SIZE=${DEMO_SIZE:-8G}
TOUCH=${DEMO_TOUCH:-256M}
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
[ -x "$demo" ] || die "$demo not found or not executable (run make first)"
[ -x "$wrapper" ] || die "$wrapper not found or not executable"

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

# run LABEL CMD...: run the demo quietly, leave its -q line in $out.
# Return: 0 on success, 1 (with a message) when the run failed.
run() {
	local label=$1 rc key

	shift
	out=$(timeout "$TIMEOUT" "$@")
	rc=$?
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

# table_row RUN MLOCK TOUCH LOCKED RSS: one row of the table.
table_row() {
	printf '%-24s %12s %12s %12s %12s\n' "$@"
}

row() {
	local label=$1 line=$2

	table_row "$label" \
		"$(field mlock_ms "$line") ms" "$(field touch_ms "$line") ms" \
		"$(human_kb "$(field locked_kb "$line")")" \
		"$(human_kb "$(field rss_kb "$line")")"
}

echo "lockonfault demo: a program maps $SIZE, mlock()s all of it and uses $TOUCH,"
echo "spread evenly over the mapping. Natively mlock() pre-faults and locks"
echo "the whole mapping; under lockonfault pages are locked on first touch."
echo

table_row run mlock touch Locked RSS
table_row --- ----- ----- ------ ---

native=
if run "native $SIZE" env -u LD_PRELOAD "$demo" -q -s "$SIZE" -t "$TOUCH"; then
	native=$out
	row "native $SIZE" "$native"
else
	table_row "native $SIZE" FAILED - - -
	failed=1
fi

lof=
if run "lockonfault $SIZE" "$wrapper" -- "$demo" -q -s "$SIZE" -t "$TOUCH"; then
	lof=$out
	row "lockonfault $SIZE" "$lof"
else
	table_row "lockonfault $SIZE" FAILED - - -
	failed=1
fi

if [ -n "$native" ] && [ -n "$lof" ]; then
	n_mlock=$(field mlock_ms "$native")
	l_mlock=$(field mlock_ms "$lof")
	n_locked=$(field locked_kb "$native")
	l_locked=$(field locked_kb "$lof")
	n_rss=$(field rss_kb "$native")
	l_rss=$(field rss_kb "$lof")
	n_touch=$(field touch_ms "$native")
	l_touch=$(field touch_ms "$lof")

	echo
	echo "Under lockonfault:"
	echo "  mlock() returned in $l_mlock ms instead of $n_mlock ms" \
	     "($(ratio "$n_mlock" "$l_mlock") times faster);"
	echo "  touching took $l_touch ms instead of $n_touch ms: the faults" \
	     "happen here now;"
	echo "  mlock() and touching together: $(sum "$l_mlock" "$l_touch") ms" \
	     "instead of $(sum "$n_mlock" "$n_touch") ms;"
	echo "  $(human_kb "$l_locked") locked instead of" \
	     "$(human_kb "$n_locked") ($(ratio "$n_locked" "$l_locked") times" \
	     "less), $(ratio "$l_locked" "$touched_kb") times the" \
	     "$(human_kb "$touched_kb") the demo used."

	if ! less_than "$l_locked" "$n_locked"; then
		echo "$prog: no benefit: lockonfault locked $l_locked kB," \
		     "native $n_locked kB" >&2
		failed=1
	fi
	if ! less_than "$l_rss" "$n_rss"; then
		echo "$prog: no benefit: lockonfault RSS $l_rss kB," \
		     "native $n_rss kB" >&2
		failed=1
	fi
	if ! less_than "$l_mlock" "$n_mlock"; then
		echo "$prog: no benefit: lockonfault mlock() took $l_mlock ms," \
		     "native $n_mlock ms" >&2
		failed=1
	fi
	if [ "$l_locked" -lt "$touched_kb" ]; then
		echo "$prog: lockonfault locked $l_locked kB, less than the" \
		     "$touched_kb kB the demo touched" >&2
		failed=1
	fi
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

table_row run mlock touch Locked RSS
table_row --- ----- ----- ------ ---
table_row "native $BIG_SIZE" "(not run)" - - -
if run "lockonfault $BIG_SIZE" "$wrapper" -- "$demo" -q -s "$BIG_SIZE" -t "$TOUCH"; then
	big=$out
	row "lockonfault $BIG_SIZE" "$big"
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
	table_row "lockonfault $BIG_SIZE" FAILED - - -
	failed=1
fi

echo
if [ $failed -ne 0 ]; then
	echo "$prog: FAILED" >&2
	exit 1
fi
echo "$prog: ok"
exit 0
