#!/bin/sh
# run.sh - the benchmarks of issue 5; make bench runs it.
#
# Usage: bench/run.sh [BUILDDIR [SRCDIR]]
#
# Writes OUT/results.csv (every run), OUT/RESULTS.md (medians, ratios
# against the kernel's MLOCK_ONFAULT, the machine) and OUT/results.png.
# Native runs and runs under lockonfault alternate, so that a noisy
# machine slows both alike; figures are medians of the repetitions.
#
# Parameters (environment; the defaults are issue 5's sizes):
#   BENCH_FILE_SIZE   cover-letter file size in bytes, K/M/G ok    (5G)
#   BENCH_READS       cover-letter random reads                     (15000000)
#   BENCH_COVER_REPS  alternated native/lockonfault pairs, warm     (5)
#   BENCH_NAIVE       naive handler batch sizes, "" for none        (1 8 16)
#   BENCH_FRESH       1: also a pair with the page cache dropped    (1)
#   BENCH_ANON_SIZE   anonymous mapping of the other patterns       (2G)
#   BENCH_REPS        alternated pairs of the anonymous patterns    (5)
#   BENCH_SIM43       1: rows under test/sim43/lof-kernel43 (Linux 4.3,
#                     no MLOCK_ONFAULT: the SIGSEGV engine emulates it) (1)
#   BENCH_TRADE_SIZES sizes of the 4.3 sparse trade-off over
#                     LOCKONFAULT_LOCK_BATCH    (half BENCH_ANON_SIZE, and it)
#   BENCH_TRADE_REPS  alternated rounds of the trade-off            (3)
#   BENCH_OUT         where the three results go                    (SRCDIR/bench)
#   BENCH_DATA        the data file (kept: make clean-bench)        (BUILDDIR/bench/cover.data)
#
# Page cache: the cover-letter rows run warm (the file read once
# first), because that is repeatable and where the user-space technique
# costs most; with BENCH_FRESH=1 one extra pair runs after
# "echo 3 > /proc/sys/vm/drop_caches" each (root only; not a lasting
# change). The naive rows raise vm.max_map_count for their own run only
# and restore it, on any exit too.
set -eu

B=$(cd "${1:-.}" && pwd)
S=$(cd "${2:-$B}" && pwd)
LIB=$B/src/.libs/liblockonfault.so
OUT=${BENCH_OUT:-$S/bench}
DATA=${BENCH_DATA:-$B/bench/cover.data}
READS=${BENCH_READS:-15000000}
CREPS=${BENCH_COVER_REPS:-5}
NAIVE=${BENCH_NAIVE-1 8 16}
FRESH=${BENCH_FRESH:-1}
REPS=${BENCH_REPS:-5}
SIM43=${BENCH_SIM43:-1}
TREPS=${BENCH_TRADE_REPS:-3}
K43=$B/test/sim43/lof-kernel43
LOCK_BATCHES="1 2 4 8 16"
NAIVE_MAPS=4000000

bytes() {
	case $1 in
	*[kK]) echo $((${1%?} * 1024)) ;;
	*[mM]) echo $((${1%?} * 1048576)) ;;
	*[gG]) echo $((${1%?} * 1073741824)) ;;
	*) echo "$1" ;;
	esac
}
FSIZE=$(bytes "${BENCH_FILE_SIZE:-5G}")
ASIZE=$(bytes "${BENCH_ANON_SIZE:-2G}")
TSIZES=""
for t in ${BENCH_TRADE_SIZES:-$((ASIZE / 2)) $ASIZE}; do TSIZES="$TSIZES $(bytes "$t")"; done
# gib BYTES: "1.00 GiB"
gib() { awk -v b="$1" 'BEGIN { if (b < 1073741824) printf "%d MiB", b / 1048576; else printf "%.2f GiB", b / 1073741824 }'; }

for p in cover anon faultcost; do
	[ -x "$B/bench/$p" ] || { echo "run.sh: $B/bench/$p not built" >&2; exit 1; }
done
[ -f "$LIB" ] || { echo "run.sh: $LIB not built" >&2; exit 1; }
[ "$SIM43" != 1 ] || [ -x "$K43" ] || { echo "run.sh: $K43 not built" >&2; exit 1; }
if ! command -v gnuplot >/dev/null 2>&1; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "run.sh: installing gnuplot-nox"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gnuplot-nox >/dev/null
	else
		echo "run.sh: gnuplot is missing (apt-get install gnuplot-nox)" >&2
		exit 1
	fi
fi

MMC=/proc/sys/vm/max_map_count
MMC0=$(cat $MMC)
WORK=$(mktemp -d "$B/bench/work.XXXXXX")
restore() {
	if [ "$(cat $MMC)" != "$MMC0" ]; then
		echo "$MMC0" > $MMC
	fi
	rm -rf "$WORK"
}
trap restore EXIT
trap 'exit 130' INT TERM

CSV=$WORK/results.csv
echo "bench,row,rep,setup_ms,proc_ms,total_ms,cpu_ms,locked_kb,maps,peak_maps,faults,handler_ns,checksum,status,touched_kb,engine" > "$CSV"

# kv KEY < line: the value of KEY=VALUE
kv() { tr ' ' '\n' | sed -n "s/^$1=//p" | head -n 1; }

log() { printf '%s\n' "$*" >&2; }

# stat_of KEY: KEY from the library's report of the last run, if any
stat_of() { [ -f "$WORK/stats" ] && sed -n "s/^lockonfault: $1=//p" "$WORK/stats" || true; }

# wrapper ROW: the command a row runs under: lof-kernel43 for the rows
# of the simulated Linux 4.3 (sim43*, k43*), nothing otherwise
wrapper() { case $1 in sim43*|k43*) echo "$K43" ;; esac; }

# engine_ok ROW: a sim43 row must have run the SIGSEGV engine in
# emulation (the library's report); sets st=fail and says so otherwise
engine_ok() {
	case $1 in
	sim43*)
		if [ "$(stat_of engine)" != sigsegv ] || [ "$(stat_of emulation)" != 1 ]; then
			st=fail
			log "  $1: engine=$(stat_of engine) emulation=$(stat_of emulation), not the emulation"
		fi ;;
	esac
}
# t43 START_NS ROW: add a run's elapsed time to the 4.3 rows' total when
# it is one of them (the trade-off's onfault runs included)
t43() {
	case $2 in sim43*|k43*) ;; *) [ -n "${BENCH:-}" ] || return 0 ;; esac
	echo $(( ($(date +%s%N) - $1) / 1000000 )) >> "$WORK/t43"
}
engine_of() { e=$(stat_of engine); [ -z "$e" ] || [ "$(stat_of emulation)" != 1 ] || e="$e-emulation"; echo "$e"; }

# cover ROW REP [ENV...] -- ARGS: one cover-letter run, one CSV line
cover() {
	row=$1 rep=$2
	shift 2
	envs=""
	while [ "$1" != "--" ]; do envs="$envs $1"; shift; done
	shift
	rm -f "$WORK/stats"
	t0=$(date +%s%N)
	if out=$($(wrapper $row) env $envs LOCKONFAULT_STATS="$WORK/stats" "$B/bench/cover" -f "$DATA" -n "$READS" "$@" 2>"$WORK/err"); then
		st=ok
	else
		st=fail
	fi
	t43 $t0 $row
	engine_ok $row
	su=$(echo "$out" | kv setup_ms); pr=$(echo "$out" | kv proc_ms)
	tot=$(awk -v a="${su:-0}" -v b="${pr:-0}" 'BEGIN { printf "%.3f", a + b }')
	[ "$st" = ok ] || { tot=""; log "  $row: $(head -c 200 "$WORK/err")"; }
	echo "cover,$row,$rep,$su,$pr,$tot,$(echo "$out" | kv cpu_ms),$(echo "$out" | kv locked_kb),$(echo "$out" | kv maps),$(echo "$out" | kv peak_maps),$(stat_of faults),$(stat_of handler_ns),$(echo "$out" | kv sum),$st,$(echo "$out" | kv touched_kb),$(engine_of)" >> "$CSV"
	log "  cover $row #$rep: $out ($st)"
}

# anon PATTERN ROW REP [ENV...] -- ARGS: one run on ASIZE bytes (or
# on $SIZE bytes, for the trade-off, whose bench column is BENCH)
anon() {
	pat=$1 row=$2 rep=$3
	shift 3
	envs=""
	while [ "$1" != "--" ]; do envs="$envs $1"; shift; done
	shift
	rm -f "$WORK/stats"
	t0=$(date +%s%N)
	if out=$($(wrapper $row) env $envs LOCKONFAULT_STATS="$WORK/stats" "$B/bench/anon" -p "$pat" -s "${SIZE:-$ASIZE}" "$@" 2>"$WORK/err"); then
		st=ok
	else
		st=fail
		log "  $pat $row: $(head -c 200 "$WORK/err")"
	fi
	t43 $t0 $row
	engine_ok $row
	ms=$(echo "$out" | kv ms)
	# peak maps: the library's own samples where it ran, else the end
	pk=$(stat_of peak_maps); [ -n "$pk" ] || pk=$(echo "$out" | kv maps)
	echo "${BENCH:-$pat},$row,$rep,,$ms,$ms,$(echo "$out" | kv cpu_ms),$(echo "$out" | kv locked_kb),$(echo "$out" | kv maps),$pk,$(stat_of faults),$(stat_of handler_ns),$(echo "$out" | kv sum),$st,$(echo "$out" | kv touched_kb),$(engine_of)" >> "$CSV"
	log "  ${BENCH:-$pat} $row #$rep: $out ($st)"
}

PRE="LD_PRELOAD=$LIB"
START=$(date +%s)

# --- the cover-letter benchmark -----------------------------------------
if [ ! -f "$DATA" ] || [ "$(stat -c %s "$DATA")" != "$FSIZE" ]; then
	log "creating $DATA ($FSIZE bytes)"
	"$B/bench/cover" -c "$FSIZE" -f "$DATA"
fi
log "warming the page cache"
cat "$DATA" > /dev/null

log "cover-letter benchmark, warm page cache"
cover warmup 1 -- -m onfault
cover none 1 -- -m none
cover mlock 1 -- -m mlock
# Native, lockonfault and (BENCH_SIM43) the default engine under the
# simulated 4.3 kernel, in turn; every other round in reverse order.
i=1
while [ $i -le "$CREPS" ]; do
	if [ $((i % 2)) = 1 ]; then
		cover onfault $i -- -m onfault
		cover lockonfault $i $PRE -- -m mlock
		[ "$SIM43" != 1 ] || cover sim43 $i $PRE -- -m mlock
	else
		[ "$SIM43" != 1 ] || cover sim43 $i $PRE -- -m mlock
		cover lockonfault $i $PRE -- -m mlock
		cover onfault $i -- -m onfault
	fi
	i=$((i + 1))
done
# Issue 5, point 4: the smallest batches still stay inside the limit.
cover lockonfault-batch1 1 $PRE LOCKONFAULT_BATCH=1 LOCKONFAULT_MAX_BATCH=1 -- -m mlock
# The cover letter's handler fails at the default limit...
cover naive16-defaultmap 1 -- -m naive -b 16
# ...and needs it raised (for these rows only).
for n in $NAIVE; do
	echo $NAIVE_MAPS > $MMC
	cover naive$n 1 -- -m naive -b "$n"
	echo "$MMC0" > $MMC
done
if [ "$FRESH" = 1 ] && [ "$(id -u)" = 0 ]; then
	log "cover-letter benchmark, fresh page cache"
	sync
	echo 3 > /proc/sys/vm/drop_caches
	cover onfault-fresh 1 -- -m onfault
	sync
	echo 3 > /proc/sys/vm/drop_caches
	cover lockonfault-fresh 1 $PRE -- -m mlock
fi

# --- anonymous patterns -------------------------------------------------
for pat in sparse seq threads; do
	log "$pat pattern on $ASIZE bytes of anonymous memory"
	i=1
	while [ $i -le "$REPS" ]; do
		s43=0
		[ "$SIM43" != 1 ] || [ $pat = threads ] || s43=1
		if [ $((i % 2)) = 1 ]; then
			anon $pat onfault $i -- -k onfault
			anon $pat lockonfault $i $PRE -- -k mlock
			[ $s43 = 0 ] || anon $pat sim43 $i $PRE -- -k mlock
		else
			[ $s43 = 0 ] || anon $pat sim43 $i $PRE -- -k mlock
			anon $pat lockonfault $i $PRE -- -k mlock
			anon $pat onfault $i -- -k onfault
		fi
		i=$((i + 1))
	done
	anon $pat lockonfault-batch1 1 $PRE LOCKONFAULT_BATCH=1 LOCKONFAULT_MAX_BATCH=1 -- -k mlock
done

# --- the 4.3 trade-off: sparse over LOCKONFAULT_LOCK_BATCH ----------------
# Rows: sim43-lbN, the default engine under lof-kernel43 with
# LOCKONFAULT_LOCK_BATCH=N; k43-mlock, the 4.3 kernel's own eager mlock
# (no library); sim43-lb1-maps, LOCK_BATCH=1 with vm.max_map_count raised
# (no mapping budget: what the budget costs). Each round runs native
# MLOCK_ONFAULT too, the order reversed every other round.
trade_point() {
	case $1 in
	onfault) anon sparse onfault $2 -- -k onfault ;;
	k43-mlock) anon sparse k43-mlock $2 -- -k mlock ;;
	sim43-lb1-maps)
		echo $NAIVE_MAPS > $MMC
		anon sparse sim43-lb1-maps $2 $PRE LOCKONFAULT_LOCK_BATCH=1 -- -k mlock
		echo "$MMC0" > $MMC ;;
	sim43-lb*) anon sparse $1 $2 $PRE LOCKONFAULT_LOCK_BATCH=${1#sim43-lb} -- -k mlock ;;
	esac
}
TPOINTS="onfault $(for n in $LOCK_BATCHES; do printf 'sim43-lb%s ' $n; done)k43-mlock"
[ "$(id -u)" != 0 ] || TPOINTS="$TPOINTS sim43-lb1-maps"
if [ "$SIM43" = 1 ]; then
	for SIZE in $TSIZES; do
		BENCH=trade-$SIZE
		log "4.3 trade-off: sparse on $SIZE bytes over LOCKONFAULT_LOCK_BATCH"
		i=1
		while [ $i -le "$TREPS" ]; do
			order=$TPOINTS
			[ $((i % 2)) = 1 ] || order=$(echo $TPOINTS | tr ' ' '\n' | sed -n '1!G;h;$p')
			for t in $order; do trade_point $t $i; done
			i=$((i + 1))
		done
	done
	unset SIZE BENCH
fi

# --- the cost of one fault ---------------------------------------------
log "fault cost"
"$B/bench/faultcost" > "$WORK/parts"
# One fault per touch under lockonfault: the SIGSEGV engine (the default
# engine, the kernel's flags here, takes no fault), batches fixed at 16 pages.
"$B/bench/faultcost" -t -k onfault > "$WORK/touch"
env $PRE LOCKONFAULT_ENGINE=sigsegv LOCKONFAULT_BATCH=16 LOCKONFAULT_MAX_BATCH=16 \
	LOCKONFAULT_STATS="$WORK/stats" "$B/bench/faultcost" -t -k mlock >> "$WORK/touch"
cat "$WORK/parts" "$WORK/touch" >&2
# Handler time per fault, from the library's own statistics.
hns=$(sed -n 's/^lockonfault: handler_ns_per_fault=//p' "$WORK/stats")

END=$(date +%s)

# --- results ------------------------------------------------------------
mkdir -p "$OUT"
cp "$CSV" "$OUT/results.csv"

# med BENCH ROW FIELD: median of FIELD over the ok runs of a row
med() {
	awk -F, -v b="$1" -v r="$2" -v f="$3" '
	NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
	$1 == b && $2 == r && $14 == "ok" && $col[f] != "" { v[n++] = $col[f] }
	END {
		if (!n) { print "-"; exit }
		for (i = 0; i < n; i++) for (j = i + 1; j < n; j++)
			if (v[j] + 0 < v[i] + 0) { t = v[i]; v[i] = v[j]; v[j] = t }
		print (n % 2) ? v[int(n / 2)] : (v[n / 2 - 1] + v[n / 2]) / 2
	}' "$CSV"
}
# first BENCH ROW FIELD: the field of the row's first run, any status
first() {
	awk -F, -v b="$1" -v r="$2" -v f="$3" '
	NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
	$1 == b && $2 == r { print $col[f]; exit }' "$CSV"
}
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a == "-" || b == "-" || a == "" || b == "" || b + 0 == 0) print "-";
		else printf "%.2f", a / b }'
}
ms() { awk -v a="$1" 'BEGIN { if (a == "-" || a == "") print "-"; else printf "%.1f", a }'; }
num() { sed -n "s/^$1=//p" "$2"; }

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
ncpu=$(grep -c '^processor' /proc/cpuinfo)
mem=$(free -g | awk '/^Mem:/ { print $2 " GiB total, " $7 " GiB available" }')
thp=$(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null || echo "?")

# Ratios against native MLOCK_ONFAULT: CPU time (the primary figure,
# see RESULTS.md) and elapsed time.
w_on=$(med cover onfault cpu_ms)
w_lof=$(med cover lockonfault cpu_ms)
w_ratio=$(ratio "$w_lof" "$w_on")
w_eratio=$(ratio "$(med cover lockonfault total_ms)" "$(med cover onfault total_ms)")
f_ratio=$(ratio "$(med cover lockonfault-fresh cpu_ms)" "$(med cover onfault-fresh cpu_ms)")
f_eratio=$(ratio "$(med cover lockonfault-fresh total_ms)" "$(med cover onfault-fresh total_ms)")
sum_on=$(first cover onfault checksum)
sums_same=yes
for r in none mlock lockonfault lockonfault-batch1 sim43 onfault-fresh lockonfault-fresh $(for n in $NAIVE; do echo naive$n; done); do
	s=$(awk -F, -v r="$r" '$1 == "cover" && $2 == r && $14 == "ok" { print $13 }' "$CSV" | sort -u)
	for x in $s; do [ "$x" = "$sum_on" ] || sums_same=no; done
done
lof_fail=$(awk -F, '$2 ~ /^lockonfault/ && $14 != "ok"' "$CSV" | wc -l)
peak_all=$(awk -F, '$2 ~ /^lockonfault/ && $10 + 0 > m { m = $10 + 0 } END { print m + 0 }' "$CSV")

# The simulated Linux 4.3 (issue 11): the default engine (sim43 rows)
# against native MLOCK_ONFAULT of the same run; Locked against the pages
# the pattern touched (anon's touched_kb).
lt() { ratio "$(med "$1" "$2" locked_kb)" "$(med "$1" "$2" touched_kb)"; }
if [ "$SIM43" = 1 ]; then
	c43=$(ratio "$(med cover sim43 cpu_ms)" "$w_on")
	c43e=$(ratio "$(med cover sim43 total_ms)" "$(med cover onfault total_ms)")
	sp43=$(ratio "$(med sparse sim43 cpu_ms)" "$(med sparse onfault cpu_ms)")
	sp43e=$(ratio "$(med sparse sim43 total_ms)" "$(med sparse onfault total_ms)")
	sp43l=$(lt sparse sim43)
	sq43=$(ratio "$(med seq sim43 cpu_ms)" "$(med seq onfault cpu_ms)")
	sq43e=$(ratio "$(med seq sim43 total_ms)" "$(med seq onfault total_ms)")
	sq43l=$(lt seq sim43)
	# every sim43 run ran the emulation and did not fail; the anonymous
	# checksums of a bench agree with its first onfault run
	f43=$(awk -F, '$2 ~ /^(sim43|k43)/ && $14 != "ok"' "$CSV" | wc -l)
	sums43=$(awk -F, 'NR > 1 && $1 != "cover" && $14 == "ok" {
		if ($2 == "onfault" && !($1 in s)) s[$1] = $13
		v[NR] = $1; c[NR] = $13 }
		END { ok = "yes"; for (k in v) if ((v[k] in s) && s[v[k]] != c[k]) ok = "no"; print ok }' "$CSV")
	peak43=$(awk -F, '$2 ~ /^sim43/ && $2 != "sim43-lb1-maps" && $10 + 0 > m { m = $10 + 0 } END { print m + 0 }' "$CSV")
fi

# The trade-off: for every size, per LOCK_BATCH value, the CPU ratio
# against that size's onfault runs and Locked/touched. The default the
# curve supports: a value that meets both targets at every size (the
# fastest such), else the lowest Locked/touched averaged over the sizes,
# ties within 5% going to the lowest mean CPU ratio.
if [ "$SIM43" = 1 ]; then
	for SZ in $TSIZES; do
		on=$(med trade-$SZ onfault cpu_ms)
		for n in $LOCK_BATCHES; do
			echo "$n $(ratio "$(med trade-$SZ sim43-lb$n cpu_ms)" "$on") $(lt trade-$SZ sim43-lb$n)"
		done
	done > "$WORK/trade.all"
	choice=$(awk '
	$2 == "-" || $3 == "-" { bad[$1] = 1; next }
	{ c[$1] += $2; l[$1] += $3; k[$1]++; if (!($2 <= 1.5 && $3 <= 1.25)) miss[$1] = 1; if (!($1 in seen)) { seen[$1] = 1; ord[n++] = $1 } }
	END {
		best = ""
		for (i = 0; i < n; i++) { v = ord[i]; if (v in bad || v in miss) continue
			if (best == "" || c[v] < c[best]) best = v }
		if (best != "") { printf "%s both", best; exit }
		for (i = 0; i < n; i++) { v = ord[i]; if (v in bad) continue
			if (min == "" || l[v] / k[v] < min) min = l[v] / k[v] }
		for (i = 0; i < n; i++) { v = ord[i]; if (v in bad || l[v] / k[v] > min * 1.05) continue
			if (best == "" || c[v] / k[v] < c[best] / k[best]) best = v }
		printf "%s lowest", best
	}' "$WORK/trade.all")
fi
yes_no() { awk -v v="$1" -v t="$2" 'BEGIN { print (v != "-" && v + 0 <= t + 0) ? "yes" : "no" }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b + 0 == 0) print "-"; else printf "%.1f%%", 100 * a / b }'; }

{
echo "# lockonfault benchmarks"
echo
t43s=""
[ "$SIM43" != 1 ] || t43s=" ($(awk '{ t += $1 } END { printf "%d", t / 1000 }' "$WORK/t43" 2>/dev/null || echo 0) s of it the simulated Linux 4.3 runs)"
echo "Generated by \`make bench\` (bench/run.sh) on $(date -u '+%Y-%m-%d %H:%M UTC') in $((END - START)) s$t43s; do not edit."
echo "Every run is in [results.csv](results.csv); the plot is [results.png](results.png)."
echo
echo "## Machine"
echo
echo "- CPU: $cpu, $ncpu CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end (shared with other work)"
echo "- Memory: $mem; transparent huge pages: $thp"
echo "- Kernel: $(uname -srvm)"
echo "- vm.max_map_count: $MMC0 (raised to $NAIVE_MAPS for the naive rows only, then restored)"
echo
echo "## How to read it"
echo
echo "Native MLOCK_ONFAULT and lockonfault runs alternate, and every figure is a median."
echo "The machine is shared, so ratios are given on **CPU time** (user plus system time of"
echo "the process, every thread; signal delivery, the handler and the kernel's page faults"
echo "all count), which does not count waiting for a CPU, and on elapsed time beside it."
echo "Neither is steady here: memory stalls of this virtual machine count as CPU time, and"
echo "single runs of the same row can differ several times over (every run is in"
echo "results.csv); the medians of alternated runs are what to compare. Single-run rows"
echo "(none, mlock, naive) show orders of magnitude, not exact ratios."
echo "lockonfault rows also give the faults its handler took and their time (its own"
echo "LOCKONFAULT_STATS report)."
echo
echo "## Summary against issue 5"
echo
echo "| target | CPU time | elapsed | met (CPU) |"
echo "|---|---|---|---|"
echo "| cover letter, defaults, total <= 1.25x native MLOCK_ONFAULT (warm page cache) | ${w_ratio}x | ${w_eratio}x | $(yes_no "$w_ratio" 1.25) |"
[ "$f_ratio" = "-" ] || echo "| same, fresh page cache (one pair) | ${f_ratio}x | ${f_eratio}x | $(yes_no "$f_ratio" 1.25) |"
echo "| same checksum in every row; lockonfault never fails | checksums equal: $sums_same | lockonfault failures: $lof_fail | $([ "$sums_same" = yes ] && [ "$lof_fail" = 0 ] && echo yes || echo no) |"
for pat in sparse seq threads; do
	rc=$(ratio "$(med $pat lockonfault cpu_ms)" "$(med $pat onfault cpu_ms)")
	re=$(ratio "$(med $pat lockonfault total_ms)" "$(med $pat onfault total_ms)")
	rk=$(ratio "$(med $pat lockonfault locked_kb)" "$(med $pat onfault locked_kb)")
	case $pat in
	sparse)
		echo "| sparse: time <= 1.5x | ${rc}x | ${re}x | $(yes_no "$rc" 1.5) |"
		echo "| sparse: Locked <= 1.5x | ${rk}x | | $(yes_no "$rk" 1.5) |" ;;
	seq)
		echo "| sequential: time <= 1.1x | ${rc}x | ${re}x | $(yes_no "$rc" 1.1) |" ;;
	threads)
		echo "| two threads at once: time (reported, no target) | ${rc}x | ${re}x | - |" ;;
	esac
done
echo "| no lockonfault run above 90% of vm.max_map_count ($((MMC0 * 9 / 10))), LOCKONFAULT_BATCH=1 included | peak $peak_all mappings | | $([ "$peak_all" -lt $((MMC0 * 9 / 10)) ] && echo yes || echo no) |"
echo
if [ "$SIM43" = 1 ]; then
echo "## Summary against issue 11: a simulated Linux 4.3"
echo
echo "The same benchmarks under test/sim43/lof-kernel43, a seccomp filter that answers as"
echo "Linux 4.3 (no mlock2, no MLOCK_ONFAULT): the library's default engine picks the SIGSEGV"
echo "engine in emulation (pending ranges PROT_NONE and VM_LOCKED by plain mlock; a batch of"
echo "private writable memory is populated whole when opened, so batches start at"
echo "LOCKONFAULT_LOCK_BATCH=1 page and grow on sequential faults only). Targets are against"
echo "the kernel's own MLOCK_ONFAULT on this machine, alternated in the same run."
echo
echo "| target (4.3, default settings) | CPU time | elapsed | met (CPU) |"
echo "|---|---|---|---|"
echo "| cover letter, warm, total <= 1.25x MLOCK_ONFAULT | ${c43}x | ${c43e}x | $(yes_no "$c43" 1.25) |"
echo "| sparse: time <= 1.5x | ${sp43}x | ${sp43e}x | $(yes_no "$sp43" 1.5) |"
echo "| sparse: Locked <= 1.25x the pages touched | ${sp43l}x | | $(yes_no "$sp43l" 1.25) |"
echo "| sequential: time (no issue 11 target; issue 5 asked <= 1.1x) | ${sq43}x | ${sq43e}x | $(yes_no "$sq43" 1.1) (1.1x) |"
echo "| sequential: Locked / pages touched (reported) | ${sq43l}x | | - |"
echo "| every 4.3 run ran the emulation and did not fail; checksums equal | failures: $f43 | checksums equal: $sums43 | $([ "$f43" = 0 ] && [ "$sums43" = yes ] && [ "$sums_same" = yes ] && echo yes || echo no) |"
echo "| peak mappings of the 4.3 runs (vm.max_map_count $MMC0; the engine's budget widens batches from a quarter of it) | peak $peak43 | | - |"
echo
fi
echo "## Cover-letter benchmark"
echo
echo "A $(awk -v b="$FSIZE" 'BEGIN { printf "%.2f GiB", b / 1073741824 }') file of random bytes, mapped private and read-only and locked whole (mlock or"
echo "mlock2), then $READS one-byte reads at random offsets, summed into a checksum. Page"
echo "cache warm (the file was read once first) except the two fresh rows, each run after"
echo "dropping the page cache. Setup is mmap plus the lock call; processing is the reads."
echo "Medians of $CREPS alternated runs for onfault and lockonfault, one run otherwise."
echo "Maps: lines of /proc/self/maps at the end; peak: the largest of 17 samples taken"
echo "during the reads."
echo
echo "| row | setup ms | processing ms | elapsed ms | CPU ms | CPU vs onfault | faults (handler ms) | Locked kB | maps | peak maps | checksum |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for r in none mlock onfault lockonfault lockonfault-batch1 sim43 naive16-defaultmap $(for n in $NAIVE; do echo naive$n; done) onfault-fresh lockonfault-fresh; do
	st=$(first cover $r status)
	[ -n "$st" ] || continue
	if [ "$st" = ok ]; then
		base=$w_on
		[ "${r%-fresh}" = "$r" ] || base=$(med cover onfault-fresh cpu_ms)
		f=$(med cover $r faults)
		[ "$f" = "-" ] || f="$f ($(ms "$(awk -v a="$(med cover $r handler_ns)" 'BEGIN { print a / 1e6 }')"))"
		echo "| $r | $(ms "$(med cover $r setup_ms)") | $(ms "$(med cover $r proc_ms)") | $(ms "$(med cover $r total_ms)") | $(ms "$(med cover $r cpu_ms)") | $(ratio "$(med cover $r cpu_ms)" "$base") | $f | $(med cover $r locked_kb) | $(med cover $r maps) | $(med cover $r peak_maps) | $(first cover $r checksum) |"
	else
		echo "| $r | failed | | | | | | | | | |"
	fi
done
echo
echo "Rows: *none* maps only; *mlock* is the kernel's mlock (pre-faults the file);"
echo "*onfault* is the kernel's mlock2(MLOCK_ONFAULT); *lockonfault* is the plain-mlock"
echo "binary under LD_PRELOAD of the library, default settings, default vm.max_map_count;"
echo "*lockonfault-batch1* the same with LOCKONFAULT_BATCH=1 and LOCKONFAULT_MAX_BATCH=1;"
[ "$SIM43" != 1 ] || echo "*sim43* the same under test/sim43/lof-kernel43 (a simulated Linux 4.3, see below);"
echo "*naiveN* the cover letter's handler (PROT_NONE, then mprotect + mlock of the faulting"
echo "page and of the N-1 after it) with vm.max_map_count raised to $NAIVE_MAPS;"
echo "*naive16-defaultmap* the same at the default vm.max_map_count, where mprotect or"
echo "mlock fails with ENOMEM once the mappings run out and the program dies."
echo
echo "## Anonymous patterns"
echo
echo "$(awk -v b="$ASIZE" 'BEGIN { printf "%.2f GiB", b / 1073741824 }') of private anonymous memory, locked whole, then: *sparse*, a hot tenth of"
echo "the pages (by a hash of the page number, so spread over the whole mapping) each written"
echo "4 times in a scattered order; *seq*, every page written once in order; *threads*, the"
echo "sparse pattern by two threads at once, each over its own half. Times cover the lock"
echo "call and the pattern; medians of $REPS alternated runs (one run for batch1, which has"
echo "LOCKONFAULT_BATCH=1 and LOCKONFAULT_MAX_BATCH=1)."
echo
echo "| pattern | onfault CPU ms | lockonfault CPU ms | ratio | onfault elapsed ms | lockonfault elapsed ms | ratio | faults | onfault Locked kB | lockonfault Locked kB | maps | batch1 CPU ms | batch1 maps |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for pat in sparse seq threads; do
	oc=$(med $pat onfault cpu_ms); lc=$(med $pat lockonfault cpu_ms)
	oe=$(med $pat onfault total_ms); le=$(med $pat lockonfault total_ms)
	echo "| $pat | $(ms "$oc") | $(ms "$lc") | $(ratio "$lc" "$oc") | $(ms "$oe") | $(ms "$le") | $(ratio "$le" "$oe") | $(med $pat lockonfault faults) | $(med $pat onfault locked_kb) | $(med $pat lockonfault locked_kb) | $(med $pat lockonfault maps) | $(ms "$(med $pat lockonfault-batch1 cpu_ms)") | $(med $pat lockonfault-batch1 maps) |"
done
echo
if [ "$SIM43" = 1 ]; then
echo "## Simulated Linux 4.3"
echo
echo "The default engine under lof-kernel43 (*4.3* columns, the sim43 rows of results.csv)"
echo "against native MLOCK_ONFAULT, medians of the same alternated runs as above ($CREPS for"
echo "the cover letter, $REPS for the anonymous patterns). Pages touched: the distinct pages"
echo "the pattern wrote or the cover letter read (touched_kb of bench/anon and bench/cover,"
echo "counted after the timed part by replaying the pattern over a bitmap)."
echo
echo "| benchmark | onfault CPU ms | 4.3 CPU ms | CPU ratio | elapsed ratio | 4.3 faults (handler ms) | pages touched kB | onfault Locked kB | 4.3 Locked kB | 4.3 Locked / touched | 4.3 peak maps |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for b in cover sparse seq; do
	f=$(med $b sim43 faults)
	[ "$f" = "-" ] || f="$f ($(ms "$(awk -v a="$(med $b sim43 handler_ns)" 'BEGIN { print a / 1e6 }')"))"
	echo "| $b | $(ms "$(med $b onfault cpu_ms)") | $(ms "$(med $b sim43 cpu_ms)") | $(ratio "$(med $b sim43 cpu_ms)" "$(med $b onfault cpu_ms)") | $(ratio "$(med $b sim43 total_ms)" "$(med $b onfault total_ms)") | $f | $(med $b onfault touched_kb) | $(med $b onfault locked_kb) | $(med $b sim43 locked_kb) | $(lt $b sim43) | $(med $b sim43 peak_maps) |"
done
echo
echo "### Trade-off: sparse under 4.3 over LOCKONFAULT_LOCK_BATCH"
echo
echo "The sparse pattern under lof-kernel43 for each first-batch size (LOCKONFAULT_LOCK_BATCH,"
echo "pages), and as the far end the 4.3 kernel's own eager mlock without the library; medians"
echo "of $TREPS rounds, each alternating every row with native MLOCK_ONFAULT (the order"
echo "reversed every other round). Targets: CPU <= 1.5x, Locked <= 1.25x touched. The last"
echo "row raises vm.max_map_count to $NAIVE_MAPS for its runs only: no mapping budget, so"
echo "what the budget costs (not a setting the library can choose)."
for SZ in $TSIZES; do
	on=$(med trade-$SZ onfault cpu_ms)
	one=$(med trade-$SZ onfault total_ms)
	echo
	echo "$(gib $SZ), $(med trade-$SZ onfault touched_kb) kB touched:"
	echo
	echo "| row | CPU ms | CPU vs onfault | elapsed vs onfault | faults | Locked kB | Locked / touched | peak maps | both targets | vs LOCK_BATCH=1: pages locked more / faults saved |"
	echo "|---|---|---|---|---|---|---|---|---|---|"
	for r in onfault $(for n in $LOCK_BATCHES; do echo sim43-lb$n; done) k43-mlock sim43-lb1-maps; do
		[ -n "$(first trade-$SZ $r status)" ] || continue
		rc=$(ratio "$(med trade-$SZ $r cpu_ms)" "$on"); rl=$(lt trade-$SZ $r)
		case $r in
		onfault) name="MLOCK_ONFAULT (the kernel's, 4.4+)" ;;
		k43-mlock) name="4.3 kernel's mlock, no library (eager)" ;;
		sim43-lb1-maps) name="LOCK_BATCH=1, vm.max_map_count raised" ;;
		*) name="LOCK_BATCH=${r#sim43-lb}" ; [ "${r#sim43-lb}" != 1 ] || name="$name (default)" ;;
		esac
		both=$(awk -v c="$rc" -v l="$rl" 'BEGIN { print (c != "-" && l != "-" && c + 0 <= 1.5 && l + 0 <= 1.25) ? "yes" : "no" }')
		# what a larger first batch pays: pages it locks beyond
		# LOCK_BATCH=1's, for each fault it saves
		pay=-
		case $r in
		sim43-lb1|sim43-lb1-maps|onfault|k43-mlock) ;;
		*) pay=$(awk -v l="$(med trade-$SZ $r locked_kb)" -v l1="$(med trade-$SZ sim43-lb1 locked_kb)" \
			-v f="$(med trade-$SZ $r faults)" -v f1="$(med trade-$SZ sim43-lb1 faults)" -v pk="$(($(getconf PAGESIZE) / 1024))" 'BEGIN {
			if (l == "-" || l1 == "-" || f == "-" || f1 == "-") { print "-"; exit }
			p = (l - l1) / pk; s = f1 - f
			if (s <= 0) printf "%d / %d (no fault saved)", p, s; else printf "%d / %d = %.1f", p, s, p / s }') ;;
		esac
		echo "| $name | $(ms "$(med trade-$SZ $r cpu_ms)") | $rc | $(ratio "$(med trade-$SZ $r total_ms)" "$one") | $(med trade-$SZ $r faults) | $(med trade-$SZ $r locked_kb) | $rl | $(med trade-$SZ $r peak_maps) | $both | $pay |"
	done
done
echo
cv=${choice% *}
case $choice in
*both) echo "**The curve supports LOCKONFAULT_LOCK_BATCH=$cv**: the fastest value that meets both targets at every size." ;;
*) echo "**The curve supports LOCKONFAULT_LOCK_BATCH=$cv**: no value meets both targets at every size, so the default is the value with the lowest Locked / touched averaged over the sizes (ties within 5% go to the lowest CPU ratio), the memory a lock on fault saves being its purpose; the last column says how many pages each larger first batch locks for every fault it saves." ;;
esac
# What the data says beside the rule, size by size.
for SZ in $TSIZES; do
	g=$(gib $SZ)
	for n in $LOCK_BATCHES; do
		echo "$n $(ratio "$(med trade-$SZ sim43-lb$n cpu_ms)" "$(med trade-$SZ onfault cpu_ms)") $(lt trade-$SZ sim43-lb$n)"
	done | awk -v g="$g" '$2 != "-" && $3 != "-" {
		if (lo == "" || $3 < lo) lo = $3; if ($3 > hi) hi = $3
		if (fc == "" || $2 < fc) { fc = $2; fv = $1 } }
		END { if (lo != "" && hi <= lo * 1.05)
			printf "At %s every value locks the same (%.2fx the pages touched), so there the first batch changes only the time, and LOCK_BATCH=%s is the fastest (%.2fx).\n", g, lo, fv, fc }'
	l1=$(lt trade-$SZ sim43-lb1); lm=$(lt trade-$SZ sim43-lb1-maps)
	awk -v g="$g" -v a="$l1" -v b="$lm" -v c="$(ratio "$(med trade-$SZ sim43-lb1-maps cpu_ms)" "$(med trade-$SZ onfault cpu_ms)")" 'BEGIN {
		if (a != "-" && b != "-" && a + 0 > 1.25 && b + 0 <= 1.25)
			printf "At %s, LOCK_BATCH=1 with vm.max_map_count raised locks %.2fx the pages touched instead of %.2fx, at %.2fx the CPU time: the mapping budget (widening batches from a quarter of the limit, whole regions from three quarters), not the first batch, locks the rest.\n", g, b, a, c }'
done
if [ "$cv" = 1 ]; then
	echo "Today's default (1, src/options.h) is that value."
else
	echo "Today's default is 1 (src/options.h); this run points to $cv."
fi
echo
fi
echo "## The cost of one fault"
echo
echo "Medians in microseconds, from bench/faultcost (one page in the middle of a 64-page"
echo "mapping, so every call splits a mapping and the next merges it back)."
echo
us() { awk -v a="$1" 'BEGIN { if (a == "") print "-"; else printf "%.2f", a / 1000 }'; }
echo "| part | us |"
echo "|---|---|"
echo "| signal delivery (exception, signal frame, sigreturn) | $(us "$(num signal "$WORK/parts")") |"
echo "| mprotect of the batch (the one system call lockonfault makes) | $(us "$(num mprotect "$WORK/parts")") |"
echo "| mlock of one page (the naive handler's second call; lockonfault makes none) | $(us "$(num mlock "$WORK/parts")") |"
echo "| msync(MS_INVALIDATE) probe (lockonfault's stale-entry check) | $(us "$(num probe "$WORK/parts")") |"
for n in 1 64 4096; do
	echo "| region_lookup, table of $n entries | $(us "$(num lookup_$n "$WORK/parts")") |"
done
echo "| lockonfault handler, whole (its own statistics, 16-page batches) | $(us "$hns") |"
echo "| a first touch, native MLOCK_ONFAULT (the kernel's fault alone) | $(us "$(num touch_onfault "$WORK/touch")") |"
echo "| a first touch under lockonfault (signal + handler + the kernel's fault) | $(us "$(num touch_mlock "$WORK/touch")") |"
echo
echo "lockonfault never calls mlock in a fault: the lock call made the range"
echo "VM_LOCKED|VM_LOCKONFAULT with the kernel's mlock2(MLOCK_ONFAULT), and the kernel locks"
echo "every page faulted into it, also after it was PROT_NONE for a while. What remains is"
echo "the signal, one mprotect, the probe and the lookup; the signal dominates, so the"
echo "batch policy's job is to take few faults (src/batch.h)."
if grep -q ',fail$' "$CSV"; then
	echo
	echo "## Failed runs"
	echo
	awk -F, '$14 != "ok" && NR > 1 { print "- " $1 " " $2 " #" $3 }' "$CSV"
fi
if [ -f "$OUT/programs.md" ]; then
	echo
	echo "## Real programs (issue 7)"
	echo
	echo "From the last \`make check-programs\` (bench/programs.md), not from this run:"
	echo
	sed '1d' "$OUT/programs.md" | sed '/./,$!d'
fi
if [ -f "$OUT/supervise.md" ]; then
	echo
	cat "$OUT/supervise.md"
fi
} > "$OUT/RESULTS.md"

# --- the plot -------------------------------------------------------------
{
	for r in mlock onfault lockonfault sim43 naive16 naive8 naive1; do
		v=$(med cover $r cpu_ms)
		[ "$v" = "-" ] || echo "\"$r\" $(awk -v a="$v" 'BEGIN { print a / 1000 }')"
	done
} > "$WORK/cover.dat"
{
	echo "\"cover warm\" $w_ratio"
	[ "$f_ratio" = "-" ] || echo "\"cover fresh\" $f_ratio"
	for pat in sparse seq threads; do
		echo "\"$pat\" $(ratio "$(med $pat lockonfault cpu_ms)" "$(med $pat onfault cpu_ms)")"
	done
	if [ "$SIM43" = 1 ]; then
		echo "\"cover 4.3\" $c43"
		echo "\"sparse 4.3\" $sp43"
		echo "\"seq 4.3\" $sq43"
	fi
} > "$WORK/ratio.dat"
# The trade-off curve, one block per size: Locked/touched, CPU ratio, label.
tlabels=""
: > "$WORK/trade.dat"
if [ "$SIM43" = 1 ]; then
	for SZ in $TSIZES; do
		on=$(med trade-$SZ onfault cpu_ms)
		for r in $(for n in $LOCK_BATCHES; do echo sim43-lb$n; done) k43-mlock; do
			rc=$(ratio "$(med trade-$SZ $r cpu_ms)" "$on"); rl=$(lt trade-$SZ $r)
			[ "$rc" = "-" ] || [ "$rl" = "-" ] || echo "$rl $rc \"$(echo ${r#sim43-lb} | sed 's/k43-mlock/mlock/')\""
		done
		printf '\n\n'
		tlabels="$tlabels $(gib $SZ | tr -d ' ')"
	done >> "$WORK/trade.dat"
fi
gnuplot -e "cover='$WORK/cover.dat'; ratio='$WORK/ratio.dat'; trade='$WORK/trade.dat'; tlabels='$tlabels'; out='$OUT/results.png'" \
	"$S/bench/plot.gp"
log "wrote $OUT/results.csv, $OUT/RESULTS.md, $OUT/results.png in $((END - START)) s"
