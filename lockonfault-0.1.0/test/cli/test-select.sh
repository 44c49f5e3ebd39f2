#!/bin/sh
# test-select.sh - TAP: LOCKONFAULT_ONLY and LOCKONFAULT_SKIP decide, by
# program name, whether the library acts. The demo mlock()s 16 MiB and
# touches 64 KiB: where the library acts, the kernel's Locked: is the
# 16 touched pages; where it stays out, mlock() locks all 16 MiB.
#
# Environment: LOF_TOP_BUILDDIR (default: the current directory).

B=${LOF_TOP_BUILDDIR:-$(pwd)}
W=$B/lockonfault
DEMO=$B/bench/demo

if [ ! -x "$W" ] || [ ! -x "$DEMO" ]; then
	echo "Bail out! wrapper or demo not built in $B"
	exit 1
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/lof-select.XXXXXX") || {
	echo "Bail out! mktemp failed"
	exit 1
}
trap 'rm -rf "$T"' EXIT
trap 'exit 1' INT TERM HUP
unset LD_PRELOAD
for v in $(env | sed -n 's/^\(LOCKONFAULT_[A-Za-z0-9_]*\)=.*/\1/p'); do
	unset "$v"
done

PAGE=$(getconf PAGESIZE)
LAZY=$((16 * PAGE / 1024))
EAGER=16384
n=0

# locked WRAPPER-ARGS...: the demo's Locked: in kB, run under the wrapper.
locked() {
	"$W" "$@" -- "$DEMO" -s 16M -t $((16 * PAGE)) -q >"$T/out" 2>"$T/err"
	tr ' ' '\n' <"$T/out" | sed -n 's/^locked_kb=//p'
}

# expect DESC KB WRAPPER-ARGS...
expect() {
	desc=$1
	want=$2
	shift 2
	got=$(locked "$@")
	n=$((n + 1))
	if [ "$got" = "$want" ]; then
		echo "ok $n - $desc ($got kB)"
	else
		echo "not ok $n - $desc (Locked: $got kB, expected $want)"
		sed 's/^/# /' "$T/err"
	fi
}

expect "no list: the library acts" $LAZY
expect "--only=demo: acts in demo" $LAZY --only=demo
expect "--only=a,demo,b: acts in demo" $LAZY --only=a,demo,b
expect "--only=cat: stays out of demo" $EAGER --only=cat
expect "--only=dem: whole names only" $EAGER --only=dem
expect "--skip=demo: stays out" $EAGER --skip=demo
expect "--skip=cat,sh: acts in demo" $LAZY --skip=cat,sh
expect "--only=demo --skip=demo: SKIP wins" $EAGER --only=demo --skip=demo

# The executable's name counts too: a symlink with another name.
ln -s "$DEMO" "$T/other"
"$W" --only=demo --log=info -- "$T/other" -s 16M -t $((16 * PAGE)) -q \
	>"$T/out" 2>"$T/err"
got=$(tr ' ' '\n' <"$T/out" | sed -n 's/^locked_kb=//p')
n=$((n + 1))
if [ "$got" = $LAZY ]; then
	echo "ok $n - run as 'other', --only=demo matches the executable"
else
	echo "not ok $n - run as 'other', --only=demo matches the executable ($got)"
fi
"$W" --only=cat --log=info -- "$T/other" -s 16M -t $((16 * PAGE)) -q \
	>"$T/out" 2>"$T/err"
n=$((n + 1))
if grep -q "^lockonfault: other is not selected by LOCKONFAULT_ONLY/LOCKONFAULT_SKIP" "$T/err"; then
	echo "ok $n - an unselected program says so at info level"
else
	echo "not ok $n - an unselected program says so at info level"
	sed 's/^/# /' "$T/err"
fi
"$W" --only=cat --stats -- "$DEMO" -s 16M -t 64K -q >"$T/out" 2>"$T/err"
n=$((n + 1))
if [ ! -s "$T/err" ]; then
	echo "ok $n - an unselected program writes no statistics"
else
	echo "not ok $n - an unselected program writes no statistics"
fi
echo "1..$n"
