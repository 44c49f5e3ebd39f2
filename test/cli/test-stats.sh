#!/bin/sh
# test-stats.sh - TAP: the demo under "lockonfault --stats" prints a
# report whose figures agree with the kernel's (the demo's own reading of
# /proc/self/smaps as it finishes) and with the demo's own touch count,
# under the default engine (auto: native on a kernel with MLOCK_ONFAULT),
# LOCKONFAULT_ENGINE=sigsegv (the handler's figures: faults > 0) and
# --engine=native; engine_why= is the reason --probe gives.
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

# The engine LOCKONFAULT_ENGINE=auto runs here (test-probe.sh checks
# that the probe and the library agree): native on a kernel with
# MLOCK_ONFAULT, sigsegv before 4.4.
AUTO=$("$W" --probe | sed -n 's/^engine_auto: //p')

# common LABEL: the checks that hold for a report under any engine that
# locks ($T/report, the demo's line in $T/out).
common() {
	check "$1: demo's smaps Locked: is its $TOUCHED touched pages ($(d locked_kb) kB)" \
		[ "$(d locked_kb)" = $((TOUCHED * PAGE / 1024)) ]
	check "$1: report locked_kb $(r locked_kb) = the demo's smaps Locked: $(d locked_kb)" \
		[ "$(r locked_kb)" = "$(d locked_kb)" ]
	check "$1: report locked_pages $(r locked_pages) = the demo's touch count $TOUCHED" \
		[ "$(r locked_pages)" = $TOUCHED ]
	check "$1: peak_locked_kb $(r peak_locked_kb) >= locked_kb" \
		[ "$(r peak_locked_kb)" -ge "$(r locked_kb)" ]
	check "$1: no failure, no fault passed on" \
		eval '[ "$(r failures)" = 0 ] && [ "$(r faults_passed)" = 0 ]'
	hist=0
	for v in $(sed -n 's/^lockonfault: handler_us_[0-9]*_[0-9inf]*=//p' "$T/report"); do
		hist=$((hist + v))
	done
	check "$1: 12 histogram buckets summing to faults ($hist)" \
		eval '[ "$(grep -c "^lockonfault: handler_us_" "$T/report")" = 12 ] &&
		      [ $hist = "$(r faults)" ]'
	check "$1: max_map_count $(r max_map_count) = vm.max_map_count $MAXMAP" \
		[ "$(r max_map_count)" = "$MAXMAP" ]
	check "$1: peak_maps $(r peak_maps) >= maps $(r maps) > 0" \
		eval '[ "$(r maps)" -gt 0 ] && [ "$(r peak_maps)" -ge "$(r maps)" ]'
	want_why=$2
	check "$1: engine_why is one line of text, as --probe gives it" \
		eval '[ "$(grep -c "^lockonfault: engine_why=." "$T/report")" = 1 ] &&
		      [ "$(r engine_why)" = "$want_why" ]'
	check "$1: every other line is 'lockonfault: name=value', a site line of name=value words, or the summary" \
		eval '! grep -v -e "^lockonfault: [a-z0-9_]*=[a-z0-9]*$" \
			-e "^lockonfault: engine_why=" \
			-e "^lockonfault: summary=." \
			-e "^lockonfault: site=[0-9][0-9]*\( [a-z_]*=[^ ]*\)*$" \
			"$T/report"'
	# The demo's one mlock() of 64 MiB, in main, of which 4 MiB touched.
	site=$(sed -n "s/^lockonfault: site=1 //p" "$T/report")
	s() { echo " $site" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
	check "$1: one call site, measured by pagemap" \
		eval '[ "$(r sites)" = 1 ] && [ "$(r sites_method)" = pagemap ]'
	check "$1: site 1: call=mlock in main of the demo, once" \
		eval '[ "$(s call)" = mlock ] && [ "$(s object)" = "$(readlink -f "$DEMO")" ] &&
		      [ "$(s calls)" = 1 ] && case $(s function) in
		      main+0x*) true ;; *) false ;; esac'
	check "$1: site 1: asked 64 MiB, touched and locked the demo's Locked: $(d locked_kb) kB" \
		eval '[ "$(s asked_kb)" = 65536 ] &&
		      [ "$(s touched_kb)" = "$(d locked_kb)" ] &&
		      [ "$(s locked_kb)" = "$(d locked_kb)" ]'
	check "$1: summary: asked to lock 64 MiB; 4.0 MiB locked (6.2%) at exit" \
		[ "$(r summary)" = "asked to lock 64 MiB; 4.0 MiB locked (6.2%) at exit" ]
}

# sigsegv_figures LABEL: the user-space engine's own figures.
sigsegv_figures() {
	check "$1: engine=sigsegv, one region" \
		eval '[ "$(r engine)" = sigsegv ] && [ "$(r regions)" = 1 ]'
	check "$1: faults $(r faults): at least one, at most one per touched page" \
		eval '[ "$(r faults)" -ge 1 ] && [ "$(r faults)" -le $TOUCHED ]'
	check "$1: pages_resolved $(r pages_resolved) >= touched + untouched_pages $(r untouched_pages)" \
		[ "$(r pages_resolved)" -ge $((TOUCHED + $(r untouched_pages))) ]
	check "$1: handler_ns_per_fault = handler_ns / faults" \
		eval '[ "$(r faults)" -ge 1 ] &&
		      [ "$(r handler_ns_per_fault)" = $(($(r handler_ns) / $(r faults))) ]'
}

# native_figures LABEL: the kernel's flags, nothing through the handler.
native_figures() {
	check "$1: engine=native, no region, no fault, nothing resolved" \
		eval '[ "$(r engine)" = native ] && [ "$(r regions)" = 0 ] &&
		      [ "$(r faults)" = 0 ] && [ "$(r pages_resolved)" = 0 ] &&
		      [ "$(r handler_ns_per_fault)" = 0 ]'
}

# ---------------------------------------------------------------------
# The default engine (auto), report in a %p file.
# ---------------------------------------------------------------------
why=$("$W" --probe | sed -n 's/^engine_why: //p')
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
check "default: engine=$(r engine), the engine auto chooses here ($AUTO)" \
	eval '[ -n "$AUTO" ] && [ "$(r engine)" = "$AUTO" ]'
common default "$why"
case $AUTO in
native) native_figures default ;;
sigsegv) sigsegv_figures default ;;
esac

# Every name of the report is defined in liblockonfault(7) STATISTICS.
S=${LOF_TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
sed -n '/^\.SH STATISTICS/,/^\.SH /p' "$S/doc/liblockonfault.7" |
	sed -e 's/\\f[BIRP]//g' -e 's/\\%//g' >"$T/man7"
names() {
	sed -n 's/^lockonfault: \([a-z_]*\)=.*/\1/p' "$1" |
		sed 's/^handler_us_.*/handler_us_ lo _ hi/'
}

# ---------------------------------------------------------------------
# --stats alone: the report on stderr, the demo's output untouched.
# ---------------------------------------------------------------------
"$W" --stats -- "$DEMO" -s $SIZE -t $TOUCH -q >"$T/out" 2>"$T/report"
rc=$?
check "--stats: report on stderr, demo's line alone on stdout" \
	eval '[ $rc -eq 0 ] && [ "$(wc -l <"$T/out")" -eq 1 ] &&
	      [ "$(r locked_kb)" = "$(d locked_kb)" ]'
names "$T/report" >"$T/names"

# ---------------------------------------------------------------------
# The SIGSEGV engine, asked for: the handler's figures.
# ---------------------------------------------------------------------
why=$("$W" --engine=sigsegv --probe | sed -n 's/^engine_why: //p')
LOCKONFAULT_ENGINE=sigsegv "$W" --stats -- "$DEMO" -s $SIZE -t $TOUCH -q \
	>"$T/out" 2>"$T/report"
rc=$?
check "sigsegv: the demo ran and verified its data" \
	eval '[ $rc -eq 0 ] && [ "$(d ok)" = 1 ]'
common sigsegv "$why"
sigsegv_figures sigsegv
names "$T/report" >>"$T/names"

# ---------------------------------------------------------------------
# The native engine, asked for: the kernel's MLOCK_ONFAULT.
# ---------------------------------------------------------------------
if [ "$AUTO" = native ]; then
	why=$("$W" --engine=native --probe | sed -n 's/^engine_why: //p')
	"$W" --engine=native --stats -- "$DEMO" -s $SIZE -t $TOUCH -q \
		>"$T/out" 2>"$T/report"
	rc=$?
	check "native: the demo ran and verified its data" \
		eval '[ $rc -eq 0 ] && [ "$(d ok)" = 1 ]'
	common native "$why"
	native_figures native
	names "$T/report" >>"$T/names"
else
	n=$((n + 1))
	echo "ok $n - native: the kernel's MLOCK_ONFAULT # SKIP this kernel has none"
fi

missing=$(sort -u "$T/names" | while read -r k; do
		grep -qx -e "\.B $k" -e "\.BI $k" "$T/man7" || echo "$k"
	done)
check "liblockonfault.7 defines every name of the reports ($missing)" \
	[ -z "$missing" ]

# ---------------------------------------------------------------------
# Off: no report.
# ---------------------------------------------------------------------
LOCKONFAULT_STATS=0 "$W" -- "$DEMO" -s $SIZE -t $TOUCH -q >"$T/out" 2>"$T/report"
check "LOCKONFAULT_STATS=0: no report" eval '[ ! -s "$T/report" ]'

echo "1..$n"
