#!/bin/sh
# test-stats.sh - TAP: the demo under "lockonfault --stats" prints a
# report whose figures agree with the kernel's (the demo's own reading of
# /proc/self/smaps as it finishes) and with the demo's own touch count.
#
# The demo maps 64 MiB, mlock()s it and touches 4 MiB of it, one page in
# sixteen; it prints "locked_kb=" (the sum of Locked: over its mapping's
# VMAs) and nothing else in the process is locked, so the report's
# process-wide Locked: must equal it, page for page.
#
# Environment: LOF_TOP_BUILDDIR (default: the current directory).

B=${LOF_TOP_BUILDDIR:-$(pwd)}
W=$B/lockonfault
DEMO=$B/bench/demo
SIZE=64M
TOUCH=4M

if [ ! -x "$W" ] || [ ! -x "$DEMO" ]; then
	echo "Bail out! wrapper or demo not built in $B"
	exit 1
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/lof-stats.XXXXXX") || {
	echo "Bail out! mktemp failed"
	exit 1
}
trap 'rm -rf "$T"' EXIT
trap 'exit 1' INT TERM HUP
unset LD_PRELOAD
for v in $(env | sed -n 's/^\(LOCKONFAULT_[A-Za-z0-9_]*\)=.*/\1/p'); do
	unset "$v"
done

n=0
ok() {
	n=$((n + 1))
	echo "ok $n - $1"
}
not_ok() {
	n=$((n + 1))
	echo "not ok $n - $1"
	[ -f "$T/report" ] && sed 's/^/# /' "$T/report"
	[ -f "$T/out" ] && sed 's/^/# out: /' "$T/out"
}
check() {
	d=$1
	shift
	if "$@"; then ok "$d"; else not_ok "$d"; fi
}

# r KEY: the report's value for KEY (empty if absent).
r() { sed -n "s/^lockonfault: $1=//p" "$T/report"; }
# d KEY: the demo's value for KEY.
d() { tr ' ' '\n' <"$T/out" | sed -n "s/^$1=//p"; }

PAGE=$(getconf PAGESIZE)
TOUCHED=$((4 * 1024 * 1024 / PAGE))
MAXMAP=$(cat /proc/sys/vm/max_map_count)

# ---------------------------------------------------------------------
# The default engine, report in a %p file.
# ---------------------------------------------------------------------
"$W" --stats="$T/r.%p" -- "$DEMO" -s $SIZE -t $TOUCH -q >"$T/out" 2>"$T/err"
rc=$?
set -- "$T"/r.*
nreports=$#
first=$1
[ -f "$first" ] && cp "$first" "$T/report"
check "demo ran under the wrapper and verified its data (ok=1)" \
	eval '[ $rc -eq 0 ] && [ "$(d ok)" = 1 ]'
check "one report, in the file named with the demo's pid" \
	eval '[ $nreports -eq 1 ] && [ "$first" = "$T/r.$(r pid)" ]'
check "engine=sigsegv, one region, no failure, no fault passed on" \
	eval '[ "$(r engine)" = sigsegv ] && [ "$(r regions)" = 1 ] &&
	      [ "$(r failures)" = 0 ] && [ "$(r faults_passed)" = 0 ]'
check "demo's smaps Locked: is its $TOUCHED touched pages ($(d locked_kb) kB)" \
	[ "$(d locked_kb)" = $((TOUCHED * PAGE / 1024)) ]
check "report locked_kb $(r locked_kb) = the demo's smaps Locked: $(d locked_kb)" \
	[ "$(r locked_kb)" = "$(d locked_kb)" ]
check "report locked_pages $(r locked_pages) = the demo's touch count $TOUCHED" \
	[ "$(r locked_pages)" = $TOUCHED ]
check "peak_locked_kb $(r peak_locked_kb) >= locked_kb" \
	[ "$(r peak_locked_kb)" -ge "$(r locked_kb)" ]
check "faults $(r faults): at least one, at most one per touched page" \
	eval '[ "$(r faults)" -ge 1 ] && [ "$(r faults)" -le $TOUCHED ]'
check "pages_resolved $(r pages_resolved) >= touched + untouched_pages $(r untouched_pages)" \
	[ "$(r pages_resolved)" -ge $((TOUCHED + $(r untouched_pages))) ]
hist=0
for v in $(sed -n 's/^lockonfault: handler_us_[0-9]*_[0-9inf]*=//p' "$T/report"); do
	hist=$((hist + v))
done
check "12 histogram buckets summing to faults ($hist)" \
	eval '[ "$(grep -c "^lockonfault: handler_us_" "$T/report")" = 12 ] &&
	      [ $hist = "$(r faults)" ]'
check "handler_ns_per_fault = handler_ns / faults" \
	[ "$(r handler_ns_per_fault)" = $(($(r handler_ns) / $(r faults))) ]
check "max_map_count $(r max_map_count) = vm.max_map_count $MAXMAP" \
	[ "$(r max_map_count)" = "$MAXMAP" ]
check "peak_maps $(r peak_maps) >= maps $(r maps) > 0" \
	eval '[ "$(r maps)" -gt 0 ] && [ "$(r peak_maps)" -ge "$(r maps)" ]'
check "every line is 'lockonfault: name=value'" \
	eval '! grep -v "^lockonfault: [a-z0-9_]*=[a-z0-9]*$" "$T/report"'

# Every name of the report is defined in liblockonfault(7) STATISTICS.
S=${LOF_TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
sed -n '/^\.SH STATISTICS/,/^\.SH /p' "$S/doc/liblockonfault.7" |
	sed -e 's/\\f[BIRP]//g' -e 's/\\%//g' >"$T/man7"
missing=$(sed -n 's/^lockonfault: \([a-z_]*\)=.*/\1/p' "$T/report" |
	sed 's/^handler_us_.*/handler_us_ lo _ hi/' | sort -u |
	while read -r k; do
		grep -qx -e "\.B $k" -e "\.BI $k" "$T/man7" || echo "$k"
	done)
check "liblockonfault.7 defines every name of the report ($missing)" \
	[ -z "$missing" ]

# ---------------------------------------------------------------------
# --stats alone: the report on stderr, the demo's output untouched.
# ---------------------------------------------------------------------
"$W" --stats -- "$DEMO" -s $SIZE -t $TOUCH -q >"$T/out" 2>"$T/report"
rc=$?
check "--stats: report on stderr, demo's line alone on stdout" \
	eval '[ $rc -eq 0 ] && [ "$(wc -l <"$T/out")" -eq 1 ] &&
	      [ "$(r locked_kb)" = "$(d locked_kb)" ]'

# ---------------------------------------------------------------------
# The native engine: the kernel's MLOCK_ONFAULT, same locked memory.
# ---------------------------------------------------------------------
"$W" --engine=native --stats -- "$DEMO" -s $SIZE -t $TOUCH -q \
	>"$T/out" 2>"$T/report"
rc=$?
check "native: engine=native, no fault through the handler" \
	eval '[ $rc -eq 0 ] && [ "$(r engine)" = native ] && [ "$(r faults)" = 0 ]'
check "native: locked_kb $(r locked_kb) = demo's Locked: = the touched pages" \
	eval '[ "$(r locked_kb)" = "$(d locked_kb)" ] &&
	      [ "$(r locked_pages)" = $TOUCHED ]'

# ---------------------------------------------------------------------
# Off: no report.
# ---------------------------------------------------------------------
LOCKONFAULT_STATS=0 "$W" -- "$DEMO" -s $SIZE -t $TOUCH -q >"$T/out" 2>"$T/report"
check "LOCKONFAULT_STATS=0: no report" eval '[ ! -s "$T/report" ]'

echo "1..$n"
