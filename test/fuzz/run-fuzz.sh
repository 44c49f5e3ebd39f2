#!/bin/sh
# run-fuzz.sh - the differential fuzzer's driver (issue 12).
#
#   run-fuzz.sh [-n SEEDS] [-f FIRST] [-o OPS] [-e ENGINES] [-j JOBS]
#               [-m] [-c DIR] [-x OPS]
#   run-fuzz.sh -t [-n SEEDS] [-f FIRST]        TAP, for make check
#   run-fuzz.sh -r [-t] CASE...                 replay saved cases
#
# For each seed it runs test/fuzz/lof-fuzz -r (the kernel's own
# MLOCK_ONFAULT/MCL_ONFAULT, no library: the oracle), then the same
# program with the plain calls under each engine:
#
#   native   LOCKONFAULT_ENGINE=native
#   sigsegv  LOCKONFAULT_ENGINE=sigsegv
#   sim43    the default engine under test/sim43/lof-kernel43 (a Linux
#            4.3 answer to mlock2 and MCL_ONFAULT: the emulation)
#
# (a program for Linux 4.3 under sim43: lof-fuzz -4, the reference too)
# always with LD_PRELOAD=src/.libs/liblockonfault.so and
# LOCKONFAULT_MIN_SIZE=0, and compares the traces line by line. A seed
# diverges under an engine when its trace differs from the reference;
# its class comes from the first differing line (classify below). A
# class listed for the engine in test/fuzz/allow.list is a documented
# divergence (liblockonfault(7) names it); anything else counts.
#
# Output: a line per diverging seed and engine,
#   "diverge ENGINE SEED CLASS | ref: LINE | got: LINE"
# ("documented" instead of "diverge" for an allowed class;
# "kernelvar ENGINE SEED CLASS" where a rerun of the reference ends
# exactly as the engine did: ref_varies), then per engine the number
# of seeds run, diverging, documented and kernelvar, and the count by
# class.
#
#   -n SEEDS  how many seeds (default 100), from -f FIRST (default 1)
#   -o OPS    operations per program (default 60)
#   -e LIST   engines, comma-separated (default native,sigsegv,sim43)
#   -j JOBS   seeds run in parallel (default 1)
#   -m        minimize the first diverging seed of each (engine, class)
#             into a reproducer, written to -c DIR (default
#             $LOF_FUZZ_CASES, else test/fuzz/cases in the build tree)
#   -x OPS    operation names left out of every program (lof-fuzz -x)
#   -t        TAP for make check: one test per engine, which fails if
#             any seed diverges in an undocumented class, one that the
#             reference gives the same trace twice, and one that an
#             engine run without the library is refused (run_one)
#   -r        replay cases (files written by -m): say for each whether
#             it still diverges, and in which class ("documented" when
#             the allow-list has it); with -t as TAP, a case passing
#             when it no longer diverges or only in a documented class
#
# Environment: LOF_TOP_BUILDDIR, LOF_TOP_SRCDIR (as in make check),
# LOF_FUZZ_TIMEOUT (seconds per run, default 30).

B=${LOF_TOP_BUILDDIR:-$(pwd)}
S=${LOF_TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
FUZZ=$B/test/fuzz/lof-fuzz
LIB=$B/src/.libs/liblockonfault.so
K43=$B/test/sim43/lof-kernel43
ALLOW=$S/test/fuzz/allow.list
TMO=${LOF_FUZZ_TIMEOUT:-30}

NSEEDS=100
FIRST=1
OPS=60
ENGINES=native,sigsegv,sim43
JOBS=1
MIN=0
TAP=0
REPLAY=0
CASES=${LOF_FUZZ_CASES:-$B/test/fuzz/cases}
XOPS=

# ---------------------------------------------------------------------
# Open defects: operations the bounded check (-t) leaves out under one
# engine until the defect is fixed. Each names the defect; the campaign
# (make fuzz) never leaves anything out.
# ---------------------------------------------------------------------
#
# Names the fuzzer found (campaign of seeds 1..2000, cases in
# test/fuzz/cases/) that are not among the defects issue 12 lists:
#   F1  a plain mlock (or mlock2(0)) of a range the kernel cannot
#       populate (PROT_NONE, past the end of a file) answers ENOMEM
#       under every engine, as the plain call does; the kernel's
#       MLOCK_ONFAULT answers 0. The project's choice, documented
#       for every engine (liblockonfault(7), "Calls and their
#       effect"; class plain-mlock-populate in allow.list). Seed
#       2874 (ret:mlock2, every engine) was F1 untagged: a PROT_NONE
#       mapping at r0-0x1000, below the arena, which the model did not
#       follow; it follows that page now (fuzz.h, FZ_MODEL_BASE)
#   F2  madvise(MADV_POPULATE_READ/WRITE) over pending pages gave
#       EINVAL under the sigsegv engine (ret:madvise); fixed
#   F3  under the emulation a lock call or mremap that fails at a hole
#       (ENOMEM, EFAULT) leaves touched pages of the range unlocked
#       (lockstate:PL->P--); fixed for mlock, mlock2, munlock under the
#       emulation (branch fsim); mremap with defect d
#   F4  under the emulation mlockall(MCL_CURRENT|MCL_ONFAULT) then
#       munlockall turns a page only read (the zero page) into a real
#       page (lockstate:P-Z>P--); inherent, documented (allow.list)
#   F5  MAP_POPULATE under MCL_FUTURE: the kernel's MCL_ONFAULT does
#       not populate, the sigsegv engine populates and locks
#       (lockstate:--->PL-). Under the sigsegv engine the cause was
#       mlockall(MCL_CURRENT) taking shared anonymous memory made
#       executable for code and populating it; fixed
tap_exclude() {
	case $1 in
	native)
		echo "" ;;
	sigsegv)
		# F1 is documented (allow.list), F2 and F5 are fixed,
		# defect e (mincore) too.
		echo "" ;;
	sim43)
		# F1 and F4 are documented (allow.list), F3, F5 and
		# defect d (mremap across a lock edge) fixed, defect e no
		# longer shows; mremap across an anon_vma split is
		# documented (anon-vma-split).
		echo "" ;;
	esac
}

while getopts n:f:o:e:j:mc:x:tr opt; do
	case $opt in
	n) NSEEDS=$OPTARG ;;
	f) FIRST=$OPTARG ;;
	o) OPS=$OPTARG ;;
	e) ENGINES=$OPTARG ;;
	j) JOBS=$OPTARG ;;
	m) MIN=1 ;;
	c) CASES=$OPTARG ;;
	x) XOPS=$OPTARG ;;
	t) TAP=1 ;;
	r) REPLAY=1 ;;
	*) echo "usage: run-fuzz.sh [-n SEEDS] [-f FIRST] [-o OPS] [-e ENGINES] [-j JOBS] [-m] [-c DIR] [-x OPS] [-t] [-r CASE...]" >&2
	   exit 2 ;;
	esac
done
shift $((OPTIND - 1))

for f in "$FUZZ" "$LIB"; do
	if [ ! -f "$f" ]; then
		[ $TAP = 1 ] && echo "Bail out! $f is not built"
		echo "run-fuzz.sh: $f is not built" >&2
		exit 99
	fi
done

T=$(mktemp -d "$B/test/fuzz/run.XXXXXX") || exit 99
trap 'rm -rf "$T"' EXIT
trap 'exit 1' INT TERM HUP
# The data and scratch files of lof-fuzz (unlinked once open).
LOF_FUZZ_DIR=$T
export LOF_FUZZ_DIR

# run_one OUT ENGINE SEED SKIP XOPS: one run, its trace in OUT, then a
# last line "#status rc=N". The run is a process group of its own,
# killed whole when it ends (a forked child must not outlive it). An
# engine run in which the library was not loaded (lof-fuzz's status
# 125 under LOF_FUZZ_LIB) is no run of the library's: it is made again,
# and after three such the trace is one line "#nolib ...", which
# classify names harness:nolib (never allowed).
run_one() {
	tries=0
	while :; do
		run_once "$@"
		# 125: lof-fuzz found no library in the process (ld.so
		# could not load it, e.g. while make relinks it): run again.
		[ "$rc" != 125 ] || [ "$2" = ref ] && break
		tries=$((tries + 1))
		if [ $tries -ge 3 ]; then
			echo "#nolib liblockonfault was not loaded: $(head -c 200 "$1.err" | tr '\n' ' ')" >"$1"
			echo "#status rc=$rc" >>"$1"
			break
		fi
		sleep 1
	done
}

run_once() {
	out=$1 eng=$2 seed=$3 skp=$4 xo=$5 k43=$6
	set -- -s "$seed" -n "$OPS"
	[ -n "$k43" ] && set -- "$@" -4
	[ -n "$skp" ] && set -- "$@" -k "$skp"
	[ -n "$xo" ] && set -- "$@" -x "$xo"
	case $eng in
	ref)
		env -u LD_PRELOAD timeout -k 2 "$TMO" "$FUZZ" -r "$@" ;;
	native|sigsegv)
		env LD_PRELOAD="$LIB" LOCKONFAULT_MIN_SIZE=0 LOF_FUZZ_LIB=1 \
			LOCKONFAULT_ENGINE="$eng" \
			timeout -k 2 "$TMO" "$FUZZ" "$@" ;;
	sim43)
		env -u LOCKONFAULT_ENGINE timeout -k 2 "$TMO" "$K43" -- \
			env LD_PRELOAD="$LIB" LOCKONFAULT_MIN_SIZE=0 \
			LOF_FUZZ_LIB=1 "$FUZZ" "$@" ;;
	esac >"$out" 2>"$out.err" &
	pid=$!
	wait $pid
	rc=$?
	kill -KILL -- -"$pid" 2>/dev/null
	echo "#status rc=$rc" >>"$out"
}

# classify REF OUT: prints "CLASS<TAB>REFLINE<TAB>OUTLINE" for the
# first line that differs, nothing when the traces are equal.
classify() {
	awk -v tab='	' '
	function opname(l,  s) {
		s = l
		sub(/^#[0-9]+ /, "", s)
		sub(/^r[0-9]+ = /, "", s)
		sub(/\(.*/, "", s)
		return s
	}
	function opof(n) { return (n in op) ? op[n] : "?" }
	# A line without its class tag: tags name, they never differ.
	function bare(l) { gsub(/ \[class=[^]]*\]/, "", l); return l }
	function hex(h,  i, v, c) {
		v = 0
		h = tolower(h)
		for (i = 1; i <= length(h); i++) {
			c = index("0123456789abcdef", substr(h, i, 1))
			if (c == 0)
				break
			v = v * 16 + c - 1
		}
		return v
	}
	# The pages of checkpoint k, run lengths expanded: "ref>got" for
	# the first page whose state differs ("none": not listed).
	# tg: the class tag of each page'"'"'s run, if any.
	function expand(arr, cnt, k, m, tg,  i, f, p, j) {
		for (i = 1; i <= cnt; i++) {
			if (index(arr[i], "#" k ".lock ") != 1)
				continue
			split(arr[i], f, " ")
			p = hex(substr(f[2], 5)) / 4096
			for (j = 0; j < f[3]; j++) {
				m[p + j] = f[4]
				if (match(arr[i], /\[class=[^]]*\]/))
					tg[p + j] = substr(arr[i], RSTART + 7,
							   RLENGTH - 8)
			}
		}
	}
	# The class of checkpoint k'"'"'s first differing page, "" if none
	# differs. A page one run tags kernel-lost-mlock (present in a
	# locked mapping, yet not mlocked: the kernel lost its lock) is
	# that class where the other run has it locked (PL-), nowhere else.
	function lockclass(k,  rm, gm, rt, gt, p, best, rs, gs) {
		expand(ref, nref, k, rm, rt)
		expand(got, ngot, k, gm, gt)
		best = -1
		for (p in rm)
			if (!(p in gm) || gm[p] != rm[p])
				if (best < 0 || p + 0 < best)
					best = p + 0
		for (p in gm)
			if (!(p in rm))
				if (best < 0 || p + 0 < best)
					best = p + 0
		if (best < 0)
			return ""
		lockref = lineof(ref, nref, k, best)
		lockgot = lineof(got, ngot, k, best)
		rs = (best in rm) ? rm[best] : "none"
		gs = (best in gm) ? gm[best] : "none"
		if ((best in rt) && rt[best] == "kernel-lost-mlock" &&
		    rs == "P--" && gs == "PL-")
			return rt[best]
		if ((best in gt) && gt[best] == "kernel-lost-mlock" &&
		    gs == "P--" && rs == "PL-")
			return gt[best]
		return "lockstate:" rs ">" gs
	}
	# The lock line of checkpoint k that holds page p, else "none".
	function lineof(arr, cnt, k, p,  i, f, a) {
		for (i = 1; i <= cnt; i++) {
			if (index(arr[i], "#" k ".lock ") != 1)
				continue
			split(arr[i], f, " ")
			a = hex(substr(f[2], 5)) / 4096
			if (a <= p && p < a + f[3])
				return arr[i]
		}
		return "#" k ".lock none"
	}
	# Is l a lock line of checkpoint k?
	function islock(l, k) { return index(l, "#" k ".lock ") == 1 }
	NR == FNR { ref[FNR] = $0; nref = FNR; next }
	{
		got[FNR] = $0; ngot = FNR
	}
	END {
		# Two cursors: a checkpoint'"'"'s lock lines are compared page
		# by page, as a block (the reference may cut a run where
		# a tag starts), and each trace goes on after its block.
		i = 1; j = 1
		while (i <= nref || j <= ngot) {
			r = (i in ref) ? ref[i] : "<eof>"
			g = (j in got) ? got[j] : "<eof>"
			if (r ~ /^#[0-9]+ /) {
				k = r; sub(/^#/, "", k); sub(/ .*/, "", k)
				op[k] = opname(r)
				last = op[k]
			}
			if (r ~ /^#[0-9]+\.lock / && g ~ /^#[0-9]+\.lock /) {
				k = r; sub(/^#/, "", k); sub(/\..*/, "", k)
				if (islock(g, k)) {
					cls = lockclass(k)
					if (cls == "") {
						while (islock(ref[i], k))
							i++
						while (islock(got[j], k))
							j++
						continue
					}
					print cls tab lockref tab lockgot
					exit
				}
			}
			i++; j++
			if (bare(r) == bare(g))
				continue
			cls = ""
			if (match(r, /\[class=[^]]*\]/))
				cls = substr(r, RSTART + 7, RLENGTH - 8)
			else if (match(g, /\[class=[^]]*\]/))
				cls = substr(g, RSTART + 7, RLENGTH - 8)
			if (cls == "" && g ~ /^#status rc=/) {
				rc = g; sub(/.*rc=/, "", rc)
				if (rc == 124 || rc == 137)
					cls = "hang:" last
				else if (rc > 128)
					cls = "crash:sig" (rc - 128) ":" last
				else
					cls = "exit" rc ":" last
			}
			if (cls == "" && g ~ /^#nolib /)
				cls = "harness:nolib"
			if (cls == "" && r ~ /^#[0-9]+ /)
				cls = "ret:" opname(r)
			if (cls == "" && r ~ /^#[0-9]+\./) {
				k = r; sub(/^#/, "", k); sub(/\..*/, "", k)
				w = r; sub(/^#[0-9]+\./, "", w); sub(/ .*/, "", w)
				if (w == "lock") {
					cls = lockclass(k)
					if (cls == "")
						cls = "lockstate:runs"
				}
				else if (w ~ /^child/ || w == "status")
					cls = "fork:" w
				else if (w ~ /^acc/)
					cls = "fault:" opof(k)
				else
					cls = w ":" opof(k)
			}
			if (cls == "")
				cls = "trace"
			print cls tab r tab g
			exit
		}
	}' "$1" "$2"
}

# allowed ENGINE CLASS: 0 if the allow-list documents the class.
allowed() {
	[ -f "$ALLOW" ] || return 1
	awk -v e="$1" -v c="$2" '
		/^#/ || NF < 2 { next }
		($1 == e || $1 == "*") && ($2 == c) { found = 1 }
		END { exit !found }' "$ALLOW"
}

# check_seed ENGINE SEED SKIP XOPS: runs the pair, prints the class
# line of classify (nothing if equal). Keeps the traces in $T/ref.$$
# and $T/got.$$ of the calling shell's job.
check_seed() {
	k43=
	[ "$1" = sim43 ] && k43=1
	run_one "$T/ref.$JOB" ref "$2" "$3" "$4" "$k43"
	run_one "$T/got.$JOB" "$1" "$2" "$3" "$4" "$k43"
	classify "$T/ref.$JOB" "$T/got.$JOB"
}

# ---------------------------------------------------------------------
# Minimizing: ddmin over the operations kept (complements only).
# ---------------------------------------------------------------------
# skip_of KEEP: the skip list (lof-fuzz -k) that keeps only KEEP.
skip_of() {
	echo "$1" | awk -v n="$OPS" '{ for (i = 1; i <= NF; i++) k[$i] = 1 }
		END { s = ""; for (i = 0; i < n; i++) if (!(i in k))
			s = s (s == "" ? "" : ",") i; print s }'
}

same_class() {	# ENGINE SEED KEEP XOPS CLASS
	c=$(check_seed "$1" "$2" "$(skip_of "$3")" "$4" | cut -f1)
	[ "$c" = "$5" ]
}

minimize() {	# ENGINE SEED XOPS CLASS -> prints KEEP
	eng=$1 seed=$2 xo=$3 cls=$4
	keep=$(awk -v n="$OPS" 'BEGIN { for (i = 0; i < n; i++) printf "%d ", i }')
	n=2
	tries=0
	while :; do
		len=$(echo $keep | wc -w)
		[ "$len" -lt 2 ] && break
		[ $tries -gt 400 ] && break
		chunk=$(( (len + n - 1) / n ))
		reduced=0
		i=0
		while [ $i -lt $n ]; do
			cand=$(echo $keep | awk -v s=$((i * chunk)) -v c=$chunk '
				{ for (j = 1; j <= NF; j++)
					if (j - 1 < s || j - 1 >= s + c) printf "%s ", $j }')
			tries=$((tries + 1))
			if [ -n "$cand" ] && same_class "$eng" "$seed" "$cand" "$xo" "$cls"; then
				keep=$cand
				[ $n -gt 2 ] && n=$((n - 1))
				reduced=1
				break
			fi
			i=$((i + 1))
		done
		if [ $reduced = 0 ]; then
			[ $n -ge "$len" ] && break
			n=$((n * 2))
			[ $n -gt "$len" ] && n=$len
		fi
	done
	echo $keep
}

# save_case ENGINE SEED XOPS CLASS: minimize and write the case file.
save_case() {
	eng=$1 seed=$2 xo=$3 cls=$4
	mkdir -p "$CASES" || return
	keep=$(minimize "$eng" "$seed" "$xo" "$cls")
	skp=$(skip_of "$keep")
	line=$(check_seed "$eng" "$seed" "$skp" "$xo")
	f=$CASES/$eng-$(echo "$cls" | tr -c 'A-Za-z0-9_.\n-' '_').case
	{
		echo "# lof-fuzz reproducer (test/fuzz/run-fuzz.sh -m)"
		echo "engine=$eng"
		echo "class=$cls"
		echo "seed=$seed"
		echo "ops=$OPS"
		echo "exclude=$xo"
		echo "skip=$skp"
		echo "# ref: $(echo "$line" | cut -f2)"
		echo "# got: $(echo "$line" | cut -f3)"
		echo "# the program (operations kept):"
		k43=
		[ "$eng" = sim43 ] && k43=-4
		"$FUZZ" -s "$seed" -n "$OPS" ${skp:+-k "$skp"} ${xo:+-x "$xo"} $k43 -l |
			sed 's/^/# /'
		echo "# the reference trace:"
		sed 's/^/# /' "$T/ref.$JOB"
	} >"$f"
	echo "case $f: $(echo $keep | wc -w) operations"
}

# ---------------------------------------------------------------------
# Replaying saved cases.
# ---------------------------------------------------------------------
if [ $REPLAY = 1 ]; then
	JOB=0
	bad=0
	n=0
	for f in "$@"; do
		eng=$(sed -n 's/^engine=//p' "$f")
		seed=$(sed -n 's/^seed=//p' "$f")
		OPS=$(sed -n 's/^ops=//p' "$f")
		skp=$(sed -n 's/^skip=//p' "$f")
		xo=$(sed -n 's/^exclude=//p' "$f")
		line=$(check_seed "$eng" "$seed" "$skp" "$xo")
		n=$((n + 1))
		name=${f##*/}
		cls=$(echo "$line" | cut -f1)
		if [ $TAP = 1 ]; then
			if [ -z "$line" ]; then
				echo "ok $n - $name: no divergence"
			elif allowed "$eng" "$cls"; then
				echo "ok $n - $name: documented ($cls)"
			else
				echo "not ok $n - $name: diverges ($cls)"
			fi
		elif [ -n "$line" ] && allowed "$eng" "$cls"; then
			echo "documented $f: $cls"
		elif [ -n "$line" ]; then
			bad=$((bad + 1))
			echo "diverges $f: $cls"
		else
			echo "passes $f"
		fi
	done
	[ $TAP = 1 ] && echo "1..$n" && exit 0
	exit $((bad > 0))
fi

# ---------------------------------------------------------------------
# A campaign: JOBS shards of the seeds, results in $T/res.*
# ---------------------------------------------------------------------
ENGS=$(echo "$ENGINES" | tr ',' ' ')
LAST=$((FIRST + NSEEDS - 1))

# ref_varies ENGINE SEED XOPS K43: after an undocumented divergence,
# the reference runs again (REF_RERUNS times, default 3). The kernel itself does not
# always end a program in the same state: a page cache folio's mlock
# bit, for one, follows per-CPU batches and folio sizes that depend on
# timing. If the engine's trace equals one of the reference's own, the
# engine did what the kernel does: 0, and the driver counts the seed as
# the kernel's own variation ("kernelvar"), not as a divergence.
ref_varies() {
	i=0
	while [ $i -lt "${REF_RERUNS:-3}" ]; do
		run_one "$T/refv.$JOB" ref "$2" "" "$3" "$4"
		[ -z "$(classify "$T/refv.$JOB" "$T/got.$JOB")" ] && return 0
		i=$((i + 1))
	done
	return 1
}

shard() {	# JOB: seeds FIRST+JOB, FIRST+JOB+JOBS, ...
	JOB=$1
	s=$((FIRST + JOB))
	while [ $s -le $LAST ]; do
		lastkey=none
		for e in $ENGS; do
			xo=$XOPS
			if [ $TAP = 1 ]; then
				tx=$(tap_exclude "$e")
				[ -n "$tx" ] && xo=${xo:+$xo,}$tx
			fi
			k43=
			[ "$e" = sim43 ] && k43=1
			# One reference run per program: reuse it.
			rkey="$xo/$k43"
			if [ "$rkey" != "$lastkey" ]; then
				run_one "$T/ref.$JOB" ref "$s" "" "$xo" "$k43"
				lastkey=$rkey
			fi
			run_one "$T/got.$JOB" "$e" "$s" "" "$xo" "$k43"
			line=$(classify "$T/ref.$JOB" "$T/got.$JOB")
			if [ -n "$line" ] &&
			    ! allowed "$e" "$(echo "$line" | cut -f1)" &&
			    ref_varies "$e" "$s" "$xo" "$k43"; then
				printf 'kernelvar %s %s %s\n' "$e" "$s" \
					"$(echo "$line" | cut -f1)" >>"$T/res.$JOB"
			elif [ -n "$line" ]; then
				cls=$(echo "$line" | cut -f1)
				kind=diverge
				allowed "$e" "$cls" && kind=documented
				printf '%s %s %s %s | ref: %s | got: %s\n' "$kind" \
					"$e" "$s" "$cls" \
					"$(echo "$line" | cut -f2)" \
					"$(echo "$line" | cut -f3)" >>"$T/res.$JOB"
			else
				echo "same $e $s" >>"$T/res.$JOB"
			fi
		done
		if [ $TAP = 1 ] && [ $(( (s - FIRST) % 4 )) = 0 ]; then
			# The oracle must be deterministic, or nothing holds.
			run_one "$T/ref.$JOB" ref "$s" "" "$XOPS"
			run_one "$T/ref2.$JOB" ref "$s" "" "$XOPS"
			if cmp -s "$T/ref.$JOB" "$T/ref2.$JOB"; then
				echo "refsame $s" >>"$T/res.$JOB"
			else
				echo "refdiff $s $(classify "$T/ref.$JOB" "$T/ref2.$JOB" | cut -f1)" >>"$T/res.$JOB"
			fi
		fi
		s=$((s + JOBS))
	done
}

j=0
while [ $j -lt "$JOBS" ]; do
	: >"$T/res.$j"
	shard $j &
	j=$((j + 1))
done
wait
cat "$T"/res.* >"$T/all"

if [ $TAP = 1 ]; then
	n=0
	for e in $ENGS; do
		n=$((n + 1))
		runs=$(grep -c " $e " "$T/all")
		bad=$(grep -c "^diverge $e " "$T/all")
		doc=$(grep -c "^documented $e " "$T/all")
		kv=$(grep -c "^kernelvar $e " "$T/all")
		tx=$(tap_exclude "$e")
		grep -E "^(diverge|documented|kernelvar) $e " "$T/all" |
			sed 's/^/# /'
		kvs=
		[ "$kv" = 0 ] || kvs=", $kv as the reference ends on a rerun"
		if [ "$bad" = 0 ] && [ "$runs" -gt 0 ]; then
			echo "ok $n - $e: $runs seeds ($FIRST..$LAST), 0 undocumented divergences, $doc documented$kvs${tx:+ (left out: $tx)}"
		else
			echo "not ok $n - $e: $runs seeds ($FIRST..$LAST), $bad undocumented divergences, $doc documented$kvs${tx:+ (left out: $tx)}"
		fi
	done
	n=$((n + 1))
	rs=$(grep -c "^refsame" "$T/all")
	rd=$(grep -c "^refdiff" "$T/all")
	grep "^refdiff" "$T/all" | sed 's/^/# /'
	if [ "$rd" = 0 ] && [ "$rs" -gt 0 ]; then
		echo "ok $n - the reference gives the same trace twice ($rs seeds)"
	else
		echo "not ok $n - the reference differs from itself on $rd of $((rs + rd)) seeds"
	fi
	# An engine run without the library must not pass for one.
	n=$((n + 1))
	env -u LD_PRELOAD LOF_FUZZ_LIB=1 "$FUZZ" -s 1 -n 1 >/dev/null 2>&1
	rc=$?
	if [ "$rc" = 125 ]; then
		echo "ok $n - lof-fuzz refuses an engine run without the library"
	else
		echo "not ok $n - lof-fuzz ran as an engine without the library (status $rc)"
	fi
	echo "1..$n"
	exit 0
fi

grep -E "^(diverge|documented|kernelvar) " "$T/all" | sort -k2,2 -k3,3n
echo "== $NSEEDS seeds, $FIRST..$LAST, $OPS operations each${XOPS:+, without $XOPS}"
for e in $ENGS; do
	runs=$(grep -c " $e " "$T/all")
	bad=$(grep -c "^diverge $e " "$T/all")
	doc=$(grep -c "^documented $e " "$T/all")
	kv=$(grep -c "^kernelvar $e " "$T/all")
	echo "engine $e: $runs seeds, $bad diverging (undocumented), $doc documented, $kv ending as a rerun of the reference does"
	grep -E "^(diverge|documented) $e " "$T/all" |
		awk '{ c[$1 " " $4]++ } END { for (k in c) printf "  %6d %s\n", c[k], k }' |
		sort -k1,1nr
done

if [ $MIN = 1 ]; then
	JOB=m
	grep -E "^diverge " "$T/all" | sort -k2,2 -k3,3n |
		awk '!seen[$2 " " $4]++ { print $2, $3, $4 }' |
		while read -r e s c; do
			save_case "$e" "$s" "$XOPS" "$c"
		done
fi
exit 0
