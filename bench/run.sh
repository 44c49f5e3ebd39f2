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
#   BENCH_COVER_REPS  alternated native/lockonfault pairs, warm     (3)
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
CREPS=${BENCH_COVER_REPS:-3}
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
echo "bench,row,rep,setup_ms,proc_ms,total_ms,locked_kb,maps,peak_maps,checksum,status" > "$CSV"

# kv KEY < line: the value of KEY=VALUE
kv() { tr ' ' '\n' | sed -n "s/^$1=//p" | head -n 1; }

log() { printf '%s\n' "$*" >&2; }

# cover ROW REP [ENV...] -- ARGS: one cover-letter run, one CSV line
cover() {
	row=$1 rep=$2
	shift 2
	envs=""
	while [ "$1" != "--" ]; do envs="$envs $1"; shift; done
	shift
	if out=$(env $envs "$B/bench/cover" -f "$DATA" -n "$READS" "$@" 2>"$WORK/err"); then
		st=ok
	else
		st=fail
	fi
	su=$(echo "$out" | kv setup_ms); pr=$(echo "$out" | kv proc_ms)
	tot=$(awk -v a="${su:-0}" -v b="${pr:-0}" 'BEGIN { printf "%.3f", a + b }')
	[ "$st" = ok ] || { tot=""; log "  $row: $(head -c 200 "$WORK/err")"; }
	echo "cover,$row,$rep,$su,$pr,$tot,$(echo "$out" | kv locked_kb),$(echo "$out" | kv maps),$(echo "$out" | kv peak_maps),$(echo "$out" | kv sum),$st" >> "$CSV"
	log "  cover $row #$rep: $out ($st)"
}

# anon PATTERN ROW REP [ENV...] -- ARGS
anon() {
	pat=$1 row=$2 rep=$3
	shift 3
	envs=""
	while [ "$1" != "--" ]; do envs="$envs $1"; shift; done
	shift
	if out=$(env $envs "$B/bench/anon" -p "$pat" -s "$ASIZE" "$@" 2>"$WORK/err"); then
		st=ok
	else
		st=fail
		log "  $pat $row: $(head -c 200 "$WORK/err")"
	fi
	ms=$(echo "$out" | kv ms)
	echo "$pat,$row,$rep,,$ms,$ms,$(echo "$out" | kv locked_kb),$(echo "$out" | kv maps),$(echo "$out" | kv maps),$(echo "$out" | kv sum),$st" >> "$CSV"
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
	$1 == b && $2 == r && $11 == "ok" && $col[f] != "" { v[n++] = $col[f] }
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

w_on=$(med cover onfault total_ms)
w_lof=$(med cover lockonfault total_ms)
w_ratio=$(ratio "$w_lof" "$w_on")
f_ratio=$(ratio "$(med cover lockonfault-fresh total_ms)" "$(med cover onfault-fresh total_ms)")
sum_on=$(first cover onfault checksum)
sums_same=yes
for r in none mlock lockonfault lockonfault-batch1 onfault-fresh lockonfault-fresh $(for n in $NAIVE; do echo naive$n; done); do
	s=$(awk -F, -v r="$r" '$1 == "cover" && $2 == r && $11 == "ok" { print $10 }' "$CSV" | sort -u)
	for x in $s; do [ "$x" = "$sum_on" ] || sums_same=no; done
done
lof_fail=$(awk -F, '$2 ~ /^lockonfault/ && $11 != "ok"' "$CSV" | wc -l)
peak_all=$(awk -F, '$2 ~ /^lockonfault/ && $9 + 0 > m { m = $9 + 0 } END { print m + 0 }' "$CSV")

{
echo "# lockonfault benchmarks"
echo
echo "Generated by \`make bench\` (bench/run.sh) on $(date -u '+%Y-%m-%d %H:%M UTC') in $((END - START)) s; do not edit."
echo "Every run is in [results.csv](results.csv); the plot is [results.png](results.png)."
echo
echo "## Machine"
echo
echo "- CPU: $cpu, $ncpu CPUs (shared with other work: ratios come from runs alternated in one session)"
echo "- Memory: $mem; transparent huge pages: $thp"
echo "- Kernel: $(uname -srvm)"
echo "- vm.max_map_count: $MMC0 (raised to $NAIVE_MAPS for the naive rows only)"
echo
echo "## Summary against issue 5"
echo
echo "| target | measured | met |"
echo "|---|---|---|"
yes_no() { awk -v v="$1" -v t="$2" 'BEGIN { print (v != "-" && v + 0 <= t + 0) ? "yes" : "no" }'; }
echo "| cover letter, defaults, total time <= 1.25x native MLOCK_ONFAULT (warm) | ${w_ratio}x | $(yes_no "$w_ratio" 1.25) |"
[ "$f_ratio" = "-" ] || echo "| same, fresh page cache (one pair) | ${f_ratio}x | $(yes_no "$f_ratio" 1.25) |"
echo "| same checksum in every row, lockonfault never fails | checksums equal: $sums_same; lockonfault failures: $lof_fail | $([ "$sums_same" = yes ] && [ "$lof_fail" = 0 ] && echo yes || echo no) |"
for pat in sparse seq threads; do
	on=$(med $pat onfault total_ms); lo=$(med $pat lockonfault total_ms)
	kon=$(med $pat onfault locked_kb); klo=$(med $pat lockonfault locked_kb)
	case $pat in
	sparse)
		echo "| sparse: time <= 1.5x | $(ratio "$lo" "$on")x | $(yes_no "$(ratio "$lo" "$on")" 1.5) |"
		echo "| sparse: Locked <= 1.5x | $(ratio "$klo" "$kon")x | $(yes_no "$(ratio "$klo" "$kon")" 1.5) |" ;;
	seq)
		echo "| sequential: time <= 1.1x | $(ratio "$lo" "$on")x | $(yes_no "$(ratio "$lo" "$on")" 1.1) |" ;;
	threads)
		echo "| two threads: time (reported, no target) | $(ratio "$lo" "$on")x | - |" ;;
	esac
done
echo "| no lockonfault run above 90% of vm.max_map_count ($((MMC0 * 9 / 10))), LOCKONFAULT_BATCH=1 included | peak $peak_all | $([ "$peak_all" -lt $((MMC0 * 9 / 10)) ] && echo yes || echo no) |"
echo
echo "## Cover-letter benchmark"
echo
echo "A $(awk -v b="$FSIZE" 'BEGIN { printf "%.2f GiB", b / 1073741824 }') file of random bytes, mapped private and read-only and locked whole (mlock or mlock2),"
echo "then $READS one-byte reads at random offsets, summed into a checksum. Page cache warm"
echo "(the file was read once first) except the two fresh rows, each run after dropping the page cache."
echo "Setup is mmap plus the lock call; processing is the reads. Times in ms, medians of"
echo "$CREPS alternated runs for onfault and lockonfault, one run otherwise. Maps: lines of"
echo "/proc/self/maps at the end; peak: the largest of 17 samples taken during the reads."
echo
echo "| row | setup ms | processing ms | total ms | vs onfault | Locked kB | maps | peak maps | checksum | status |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for r in none mlock onfault lockonfault lockonfault-batch1 naive16-defaultmap $(for n in $NAIVE; do echo naive$n; done) onfault-fresh lockonfault-fresh; do
	[ -n "$(first cover $r status)" ] || continue
	st=$(first cover $r status)
	if [ "$st" = ok ]; then
		tot=$(med cover $r total_ms)
		echo "| $r | $(ms "$(med cover $r setup_ms)") | $(ms "$(med cover $r proc_ms)") | $(ms "$tot") | $(ratio "$tot" "$([ "${r%-fresh}" != "$r" ] && med cover onfault-fresh total_ms || echo "$w_on")") | $(med cover $r locked_kb) | $(med cover $r maps) | $(med cover $r peak_maps) | $(first cover $r checksum) | ok |"
	else
		echo "| $r | - | - | - | - | - | - | - | - | failed (see below) |"
	fi
done
echo
echo "Rows: *none* maps only; *mlock* is the kernel's mlock (pre-faults the file);"
echo "*onfault* is the kernel's mlock2(MLOCK_ONFAULT); *lockonfault* is the same plain-mlock"
echo "binary under LD_PRELOAD of the library, default settings, default vm.max_map_count;"
echo "*lockonfault-batch1* the same with LOCKONFAULT_BATCH=1 and LOCKONFAULT_MAX_BATCH=1;"
echo "*naiveN* the cover letter's handler (PROT_NONE, then mprotect + mlock of the faulting"
echo "page and the N-1 after it) with vm.max_map_count raised to $NAIVE_MAPS;"
echo "*naive16-defaultmap* the same at the default vm.max_map_count, where it fails"
echo "(mprotect or mlock gives ENOMEM once the mappings run out)."
echo
echo "## Anonymous patterns"
echo
echo "$(awk -v b="$ASIZE" 'BEGIN { printf "%.2f GiB", b / 1073741824 }') of private anonymous memory, locked whole, then: *sparse*, a hot tenth of the"
echo "pages (by a hash of the page number, so spread over the whole mapping) each written 4"
echo "times in a scattered order; *seq*, every page written once in order; *threads*, the sparse"
echo "pattern by two threads at once, each over its own half. Time covers the lock call and the"
echo "pattern; medians of $REPS alternated runs (one run for batch1)."
echo
echo "| pattern | onfault ms | lockonfault ms | ratio | onfault Locked kB | lockonfault Locked kB | ratio | lockonfault maps | batch1 ms | batch1 maps |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for pat in sparse seq threads; do
	on=$(med $pat onfault total_ms); lo=$(med $pat lockonfault total_ms)
	kon=$(med $pat onfault locked_kb); klo=$(med $pat lockonfault locked_kb)
	echo "| $pat | $(ms "$on") | $(ms "$lo") | $(ratio "$lo" "$on") | $kon | $klo | $(ratio "$klo" "$kon") | $(med $pat lockonfault maps) | $(ms "$(med $pat lockonfault-batch1 total_ms)") | $(med $pat lockonfault-batch1 maps) |"
done
echo
echo "## The cost of one fault"
echo
echo "Medians in microseconds, from bench/faultcost (one page in the middle of a 64-page mapping,"
echo "so every call splits a mapping and the next merges it back)."
echo
us() { awk -v a="$1" 'BEGIN { if (a == "") print "-"; else printf "%.2f", a / 1000 }'; }
echo "| part | us |"
echo "|---|---|"
echo "| signal delivery (exception, signal frame, sigreturn) | $(us "$(num signal "$WORK/parts")") |"
echo "| mprotect of the batch (the one system call lockonfault makes) | $(us "$(num mprotect "$WORK/parts")") |"
echo "| mlock of one page (the naive handler's second call; lockonfault needs none) | $(us "$(num mlock "$WORK/parts")") |"
echo "| MADV_COLD probe (lockonfault's stale-entry check) | $(us "$(num probe "$WORK/parts")") |"
for n in 1 64 4096; do
	echo "| region_lookup, table of $n entries | $(us "$(num lookup_$n "$WORK/parts")") |"
done
echo "| lockonfault handler, whole (its own statistics, 16-page batches) | $(us "$hns") |"
echo "| a first touch, native MLOCK_ONFAULT (kernel fault) | $(us "$(num touch_onfault "$WORK/touch")") |"
echo "| a first touch under lockonfault (signal + handler + kernel fault) | $(us "$(num touch_mlock "$WORK/touch")") |"
echo
echo "lockonfault never calls mlock in a fault: the lock call made the range"
echo "VM_LOCKED|VM_LOCKONFAULT with the kernel's mlock2(MLOCK_ONFAULT), and the kernel locks"
echo "every page faulted into it, also while it is PROT_NONE in between. What remains is the"
echo "signal, one mprotect, the probe and the lookup; the signal dominates, so the batch"
echo "policy's job is to take few faults."
if grep -q ',fail$' "$CSV"; then
	echo
	echo "## Failed runs"
	echo
	awk -F, '$11 != "ok" && NR > 1 { print "- " $1 " " $2 " #" $3 }' "$CSV"
fi
} > "$OUT/RESULTS.md"

# --- the plot -------------------------------------------------------------
{
	for r in mlock onfault lockonfault naive16 naive8 naive1; do
		v=$(med cover $r total_ms)
		[ "$v" = "-" ] || echo "\"$r\" $(awk -v a="$v" 'BEGIN { print a / 1000 }')"
	done
} > "$WORK/cover.dat"
{
	echo "\"cover warm\" $w_ratio"
	[ "$f_ratio" = "-" ] || echo "\"cover fresh\" $f_ratio"
	for pat in sparse seq threads; do
		echo "\"$pat\" $(ratio "$(med $pat lockonfault total_ms)" "$(med $pat onfault total_ms)")"
	done
} > "$WORK/ratio.dat"
gnuplot -e "cover='$WORK/cover.dat'; ratio='$WORK/ratio.dat'; out='$OUT/results.png'" \
	"$S/bench/plot.gp"
log "wrote $OUT/results.csv, $OUT/RESULTS.md, $OUT/results.png in $((END - START)) s"
