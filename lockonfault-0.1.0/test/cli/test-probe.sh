#!/bin/sh
# test-probe.sh - TAP: "lockonfault --probe" and the engine line of
# "lockonfault --dry-run".
#
# Checks that --probe prints every field, one "name: value" line each,
# that the facts agree with what the shell can read itself (ulimit -l,
# vm.max_map_count, CapEff), that the engine it names for each setting
# is the one the library then runs (the stats report's engine= and
# engine_why= lines), and the same under test/sim43/lof-kernel43, a
# seccomp filter answering as Linux 4.3: no ONFAULT, auto chooses
# sigsegv, native passes lock calls on unchanged.
#
# Environment: LOF_TOP_BUILDDIR (default: the current directory).

B=${LOF_TOP_BUILDDIR:-$(pwd)}
W=$B/lockonfault
K43=$B/test/sim43/lof-kernel43

if [ ! -x "$W" ]; then
	echo "Bail out! wrapper not built: $W"
	exit 1
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/lof-probe.XXXXXX") || {
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
check() {
	d=$1
	shift
	n=$((n + 1))
	if "$@"; then
		echo "ok $n - $d"
	else
		echo "not ok $n - $d"
		echo "# status $rc"
		sed 's/^/# out: /' "$T/out"
		sed 's/^/# err: /' "$T/err"
	fi
}
skip() {
	n=$((n + 1))
	echo "ok $n - $1 # SKIP $2"
}

# run COMMAND...: keep its status in rc, its output in $T/out and $T/err.
run() {
	"$@" >"$T/out" 2>"$T/err"
	rc=$?
}

# p NAME: the value of NAME in the last output ("name: value" lines).
p() { sed -n "s/^$1: //p" "$T/out"; }
# r NAME: the value of NAME in the last stats report (on stderr).
r() { sed -n "s/^lockonfault: $1=//p" "$T/err"; }

FIELDS="kernel mlock2 mlock_onfault mcl_onfault rlimit_memlock_soft
rlimit_memlock_hard cap_ipc_lock max_map_count engine_auto engine_auto_why
setting_engine setting_charge engine engine_why"

# ---------------------------------------------------------------------
# This kernel, default settings.
# ---------------------------------------------------------------------
run "$W" --probe
cp "$T/out" "$T/probe"
check "--probe exits 0, prints on stdout only" \
	eval '[ $rc -eq 0 ] && [ -s "$T/out" ] && [ ! -s "$T/err" ]'
check "every line is 'name: value'" \
	eval '! grep -v "^[a-z0-9_]*: [^ ]" "$T/out"'
for f in $FIELDS; do
	check "field $f present, once" \
		eval '[ "$(grep -c "^$f: " "$T/out")" = 1 ]'
done
check "mlock2, mlock_onfault, mcl_onfault, cap_ipc_lock: yes or no" \
	eval 'for f in mlock2 mlock_onfault mcl_onfault cap_ipc_lock; do
		p $f | grep -Eq "^(yes|no)( |\$)" || exit 1
	      done'
check "mlock2 and mlock_onfault give the errno the probe got" \
	eval 'p mlock2 | grep -q "(mlock2(NULL, 0, 0): [0-9A-Z]" &&
	      p mlock_onfault | grep -q "(mlock2(NULL, 0, MLOCK_ONFAULT): [0-9A-Z]"'

want_limit() {
	case $1 in
	unlimited) echo unlimited ;;
	*) echo $(($1 * 1024)) ;;
	esac
}
check "rlimit_memlock_soft $(p rlimit_memlock_soft) = ulimit -Sl in bytes" \
	[ "$(p rlimit_memlock_soft)" = "$(want_limit "$(ulimit -Sl)")" ]
check "rlimit_memlock_hard $(p rlimit_memlock_hard) = ulimit -Hl in bytes" \
	[ "$(p rlimit_memlock_hard)" = "$(want_limit "$(ulimit -Hl)")" ]
check "max_map_count $(p max_map_count) = vm.max_map_count" \
	[ "$(p max_map_count)" = "$(cat /proc/sys/vm/max_map_count)" ]
capeff=$(sed -n 's/^CapEff:[ \t]*//p' /proc/self/status)
if [ -n "$capeff" ]; then
	[ $(((0x$capeff >> 14) & 1)) = 1 ] && want=yes || want=no
	check "cap_ipc_lock $(p cap_ipc_lock) = bit 14 of CapEff ($want)" \
		[ "$(p cap_ipc_lock)" = $want ]
else
	skip "cap_ipc_lock against CapEff" "no CapEff in /proc/self/status"
fi

onfault=$(p mlock_onfault | cut -d' ' -f1)
if [ "$onfault" = yes ]; then
	want=native
else
	want=sigsegv
fi
check "engine_auto $(p engine_auto): native exactly when MLOCK_ONFAULT is there ($onfault)" \
	[ "$(p engine_auto)" = $want ]
check "default settings: setting_engine auto (default), setting_charge range (default)" \
	eval '[ "$(p setting_engine)" = "auto (default)" ] &&
	      [ "$(p setting_charge)" = "range (default)" ]'
check "default settings: engine and engine_why are auto's" \
	eval '[ "$(p engine)" = "$(p engine_auto)" ] &&
	      [ "$(p engine_why)" = "$(p engine_auto_why)" ] &&
	      p engine_why | grep -q "^auto: "'

# The library runs what the probe says: the report's engine lines.
# check_agrees LABEL [WRAPPER-PREFIX...] -- OPTIONS...: --probe with
# OPTIONS, then true under the library with them and --stats.
check_agrees() {
	label=$1
	shift
	pre=
	while [ "$1" != -- ]; do
		pre="$pre $1"
		shift
	done
	shift
	run $pre "$W" --probe "$@"
	e=$(p engine)
	why=$(p engine_why)
	run $pre "$W" --stats "$@" -- true
	check "$label: the library runs engine=$e, engine_why as the probe says" \
		eval '[ $rc -eq 0 ] && [ -n "$e" ] && [ "$(r engine)" = "$e" ] &&
		      [ "$(r engine_why)" = "$why" ]'
}
check_agrees "default" --
check_agrees "--engine=sigsegv" -- --engine=sigsegv
check_agrees "--engine=native" -- --engine=native
check_agrees "--engine=off" -- --engine=off
check_agrees "--charge=touched" -- --charge=touched

# ---------------------------------------------------------------------
# Where the settings come from.
# ---------------------------------------------------------------------
run "$W" --probe --engine=sigsegv
check "--engine=sigsegv: engine sigsegv, said to come from --engine" \
	eval '[ "$(p engine)" = sigsegv ] &&
	      [ "$(p setting_engine)" = "sigsegv (--engine)" ] &&
	      p engine_why | grep -q "^LOCKONFAULT_ENGINE=sigsegv"'
run env LOCKONFAULT_ENGINE=sigsegv "$W" --probe
check "LOCKONFAULT_ENGINE=sigsegv: engine sigsegv, from the environment" \
	eval '[ "$(p engine)" = sigsegv ] &&
	      [ "$(p setting_engine)" = "sigsegv (LOCKONFAULT_ENGINE)" ]'
run env LOCKONFAULT_ENGINE=sigsegv "$W" --probe --engine=off
check "--engine=off wins over LOCKONFAULT_ENGINE=sigsegv" \
	eval '[ "$(p engine)" = off ] && [ "$(p setting_engine)" = "off (--engine)" ]'
run env LOCKONFAULT_ENGINE=bogus "$W" --probe
check "LOCKONFAULT_ENGINE=bogus: the default, and says the value is not valid" \
	eval '[ $rc -eq 0 ] && [ "$(p engine)" = "$(p engine_auto)" ] &&
	      p setting_engine | grep -q "^auto (default: LOCKONFAULT_ENGINE=bogus is not valid)"'
run "$W" --probe --charge=touched
check "--charge=touched: engine sigsegv, the reason names CHARGE=touched" \
	eval '[ "$(p engine)" = sigsegv ] &&
	      [ "$(p setting_charge)" = "touched (--charge)" ] &&
	      p engine_why | grep -q "touched"'
run "$W" --probe true
check "--probe with a command: 125 and the usage, nothing on stdout" \
	eval '[ $rc -eq 125 ] && [ ! -s "$T/out" ] &&
	      grep -q "^Usage: lockonfault" "$T/err"'
run "$W" --probe --engine=bogus
check "--probe with a bad option value: 125" eval '[ $rc -eq 125 ]'

# ---------------------------------------------------------------------
# --dry-run names the engine in one comment line, before the command.
# ---------------------------------------------------------------------
run "$W" --probe
e=$(p engine)
why=$(p engine_why)
run "$W" --dry-run echo hi
check "--dry-run: one '# engine $e: <why>' line, just before the command" \
	eval '[ $rc -eq 0 ] && [ "$(grep -c "^# engine " "$T/out")" = 1 ] &&
	      [ "$(sed -n "\$p" "$T/out")" = "echo hi" ] &&
	      [ "$(tail -n 2 "$T/out" | head -n 1)" = "# engine $e: $why" ]'
run "$W" --dry-run --engine=off true
check "--dry-run --engine=off: '# engine off: LOCKONFAULT_ENGINE=off...'" \
	eval 'grep -q "^# engine off: LOCKONFAULT_ENGINE=off" "$T/out"'

# ---------------------------------------------------------------------
# The simulated Linux 4.3.
# ---------------------------------------------------------------------
if [ ! -x "$K43" ]; then
	skip "sim43: the probe" "$K43 not built"
elif ! "$K43" true 2>/dev/null; then
	skip "sim43: the probe" "lof-kernel43 cannot install its filter here"
else
	run "$K43" "$W" --probe
	check "sim43: --probe exits 0" eval '[ $rc -eq 0 ]'
	check "sim43: mlock2 no (ENOSYS)" \
		eval 'p mlock2 | grep -q "^no (mlock2(NULL, 0, 0): ENOSYS"'
	check "sim43: mlock_onfault no, mcl_onfault no" \
		eval 'p mlock_onfault | grep -q "^no (.*ENOSYS" &&
		      p mcl_onfault | grep -q "^no"'
	check "sim43: engine_auto sigsegv, the reason says the kernel has no mlock2" \
		eval '[ "$(p engine_auto)" = sigsegv ] &&
		      p engine_auto_why | grep -q "no mlock2"'
	check "sim43: default settings run sigsegv" \
		[ "$(p engine)" = sigsegv ]
	run "$K43" "$W" --probe --engine=native
	check "sim43: --engine=native: lock calls pass on unchanged (engine off)" \
		eval '[ "$(p engine)" = off ] &&
		      p engine_why | grep -q "no MLOCK_ONFAULT: lock calls go to it unchanged"'
	run "$K43" "$W" --dry-run --engine=native true
	check "sim43: --dry-run --engine=native says the calls pass unchanged" \
		eval 'grep -q "^# engine off: .*unchanged" "$T/out"'
	run "$K43" "$W" --dry-run true
	check "sim43: --dry-run says sigsegv" \
		eval 'grep -q "^# engine sigsegv: auto: " "$T/out"'
	check_agrees "sim43, default" "$K43" --
	check_agrees "sim43, --engine=native" "$K43" -- --engine=native
	check_agrees "sim43, --engine=sigsegv" "$K43" -- --engine=sigsegv
fi

echo "1..$n"
