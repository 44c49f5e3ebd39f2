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

for p in cover anon faultcost; do
	[ -x "$B/bench/$p" ] || { echo "run.sh: $B/bench/$p not built" >&2; exit 1; }
done
[ -f "$LIB" ] || { echo "run.sh: $LIB not built" >&2; exit 1; }
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
echo "bench,row,rep,setup_ms,proc_ms,total_ms,cpu_ms,locked_kb,maps,peak_maps,faults,handler_ns,checksum,status" > "$CSV"

# kv KEY < line: the value of KEY=VALUE
kv() { tr ' ' '\n' | sed -n "s/^$1=//p" | head -n 1; }

log() { printf '%s\n' "$*" >&2; }

# stat_of KEY: KEY from the library's report of the last run, if any
stat_of() { [ -f "$WORK/stats" ] && sed -n "s/^lockonfault: $1=//p" "$WORK/stats" || true; }

# cover ROW REP [ENV...] -- ARGS: one cover-letter run, one CSV line
cover() {
	row=$1 rep=$2
	shift 2
	envs=""
	while [ "$1" != "--" ]; do envs="$envs $1"; shift; done
	shift
	rm -f "$WORK/stats"
	if out=$(env $envs LOCKONFAULT_STATS="$WORK/stats" "$B/bench/cover" -f "$DATA" -n "$READS" "$@" 2>"$WORK/err"); then
		st=ok
	else
		st=fail
	fi
	su=$(echo "$out" | kv setup_ms); pr=$(echo "$out" | kv proc_ms)
	tot=$(awk -v a="${su:-0}" -v b="${pr:-0}" 'BEGIN { printf "%.3f", a + b }')
	[ "$st" = ok ] || { tot=""; log "  $row: $(head -c 200 "$WORK/err")"; }
	echo "cover,$row,$rep,$su,$pr,$tot,$(echo "$out" | kv cpu_ms),$(echo "$out" | kv locked_kb),$(echo "$out" | kv maps),$(echo "$out" | kv peak_maps),$(stat_of faults),$(stat_of handler_ns),$(echo "$out" | kv sum),$st" >> "$CSV"
	log "  cover $row #$rep: $out ($st)"
}

# anon PATTERN ROW REP [ENV...] -- ARGS
anon() {
	pat=$1 row=$2 rep=$3
	shift 3
	envs=""
	while [ "$1" != "--" ]; do envs="$envs $1"; shift; done
	shift
	rm -f "$WORK/stats"
	if out=$(env $envs LOCKONFAULT_STATS="$WORK/stats" "$B/bench/anon" -p "$pat" -s "$ASIZE" "$@" 2>"$WORK/err"); then
		st=ok
	else
		st=fail
		log "  $pat $row: $(head -c 200 "$WORK/err")"
	fi
	ms=$(echo "$out" | kv ms)
	echo "$pat,$row,$rep,,$ms,$ms,$(echo "$out" | kv cpu_ms),$(echo "$out" | kv locked_kb),$(echo "$out" | kv maps),$(echo "$out" | kv maps),$(stat_of faults),$(stat_of handler_ns),$(echo "$out" | kv sum),$st" >> "$CSV"
	log "  $pat $row #$rep: $out ($st)"
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
i=1
while [ $i -le "$CREPS" ]; do
	if [ $((i % 2)) = 1 ]; then
		cover onfault $i -- -m onfault
		cover lockonfault $i $PRE -- -m mlock
	else
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
		if [ $((i % 2)) = 1 ]; then
			anon $pat onfault $i -- -k onfault
			anon $pat lockonfault $i $PRE -- -k mlock
		else
			anon $pat lockonfault $i $PRE -- -k mlock
			anon $pat onfault $i -- -k onfault
		fi
		i=$((i + 1))
	done
	anon $pat lockonfault-batch1 1 $PRE LOCKONFAULT_BATCH=1 LOCKONFAULT_MAX_BATCH=1 -- -k mlock
done

# --- the cost of one fault ---------------------------------------------
log "fault cost"
"$B/bench/faultcost" > "$WORK/parts"
# One fault per touch under lockonfault: batches fixed at 16 pages.
"$B/bench/faultcost" -t -k onfault > "$WORK/touch"
env $PRE LOCKONFAULT_BATCH=16 LOCKONFAULT_MAX_BATCH=16 \
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
for r in none mlock lockonfault lockonfault-batch1 onfault-fresh lockonfault-fresh $(for n in $NAIVE; do echo naive$n; done); do
	s=$(awk -F, -v r="$r" '$1 == "cover" && $2 == r && $14 == "ok" { print $13 }' "$CSV" | sort -u)
	for x in $s; do [ "$x" = "$sum_on" ] || sums_same=no; done
done
lof_fail=$(awk -F, '$2 ~ /^lockonfault/ && $14 != "ok"' "$CSV" | wc -l)
peak_all=$(awk -F, '$2 ~ /^lockonfault/ && $10 + 0 > m { m = $10 + 0 } END { print m + 0 }' "$CSV")
yes_no() { awk -v v="$1" -v t="$2" 'BEGIN { print (v != "-" && v + 0 <= t + 0) ? "yes" : "no" }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b + 0 == 0) print "-"; else printf "%.1f%%", 100 * a / b }'; }

{
echo "# lockonfault benchmarks"
echo
echo "Generated by \`make bench\` (bench/run.sh) on $(date -u '+%Y-%m-%d %H:%M UTC') in $((END - START)) s; do not edit."
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
for r in none mlock onfault lockonfault lockonfault-batch1 naive16-defaultmap $(for n in $NAIVE; do echo naive$n; done) onfault-fresh lockonfault-fresh; do
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
echo "| MADV_COLD probe (lockonfault's stale-entry check) | $(us "$(num probe "$WORK/parts")") |"
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
} > "$OUT/RESULTS.md"

# --- the plot -------------------------------------------------------------
{
	for r in mlock onfault lockonfault naive16 naive8 naive1; do
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
} > "$WORK/ratio.dat"
gnuplot -e "cover='$WORK/cover.dat'; ratio='$WORK/ratio.dat'; out='$OUT/results.png'" \
	"$S/bench/plot.gp"
log "wrote $OUT/results.csv, $OUT/RESULTS.md, $OUT/results.png in $((END - START)) s"
