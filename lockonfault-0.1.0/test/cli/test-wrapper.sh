#!/bin/sh
# test-wrapper.sh - TAP tests for the lockonfault wrapper command and its
# man page.
#
# Checks the wrapper's interface (options, exit statuses, LD_PRELOAD and
# LOCKONFAULT_* handling, library search) and that --help,
# doc/lockonfault.1, doc/liblockonfault.7 and the README's table document
# every entry of the option table in src/options.c with its default. Runs under any POSIX sh.
#
# Environment: LOF_TOP_BUILDDIR (where the built lockonfault is; default
# the current directory), LOF_TOP_SRCDIR (default two levels above this
# script). TAP carries the result: the script exits 0 when tests fail.

B=${LOF_TOP_BUILDDIR:-$(pwd)}
S=${LOF_TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
W=$B/lockonfault
USAGE='Usage: lockonfault [OPTIONS] [--] COMMAND [ARG...]'

if [ ! -x "$W" ]; then
	echo "Bail out! wrapper not built: $W"
	exit 1
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/lof-wrapper.XXXXXX") || {
	echo "Bail out! mktemp failed"
	exit 1
}
trap 'rm -rf "$T"' EXIT
trap 'exit 1' INT TERM HUP
T=$(cd "$T" && pwd -P)

# The tests decide what LD_PRELOAD holds.
unset LD_PRELOAD
for v in $(env | sed -n 's/^\(LOCKONFAULT_[A-Za-z0-9_]*\)=.*/\1/p'); do
	unset "$v"
done

# ---------------------------------------------------------------------
# TAP plumbing: results are collected, then printed after the plan.
# ---------------------------------------------------------------------
n=0
: >"$T/results"

ok() {
	n=$((n + 1))
	echo "ok $n - $1" >>"$T/results"
}

# not_ok DESC: also records the last command's status and output.
not_ok() {
	n=$((n + 1))
	{
		echo "not ok $n - $1"
		echo "# status $rc"
		sed 's/^/# stdout: /' "$T/out"
		sed 's/^/# stderr: /' "$T/err"
	} >>"$T/results"
}

skip() {
	n=$((n + 1))
	echo "ok $n - $1 # SKIP $2" >>"$T/results"
}

# check DESC COMMAND...: one test, passing when COMMAND succeeds.
check() {
	check_desc=$1
	shift
	if "$@"; then
		ok "$check_desc"
	else
		not_ok "$check_desc"
	fi
}

# run COMMAND...: run it, keeping rc, $T/out and $T/err.
run() {
	"$@" >"$T/out" 2>"$T/err"
	rc=$?
}

has_out() { grep -qxF -e "$1" "$T/out"; }
has_err() { grep -qF -e "$1" "$T/err"; }
first_out() { [ "$(sed -n 1p "$T/out")" = "$1" ]; }
last_out() { [ "$(sed -n '$p' "$T/out")" = "$1" ]; }
no_out() { [ ! -s "$T/out" ]; }
no_err() { [ ! -s "$T/err" ]; }

# A wrapper error: 125, "lockonfault: <what>" first, then the usage line,
# nothing on stdout (so COMMAND did not run either).
wrapper_error() {
	[ "$rc" -eq 125 ] && no_out &&
		sed -n 1p "$T/err" | grep -q '^lockonfault: ' &&
		grep -qxF -e "$USAGE" "$T/err"
}

# ---------------------------------------------------------------------
# The option table, read from the source: NAME<TAB>longopt<TAB>default
# (an empty default is shown as "off").
# ---------------------------------------------------------------------
TABLE_SRC=$S/src/options.c
[ -f "$TABLE_SRC" ] || TABLE_SRC=$S/src/config.c
awk '
/lof_options\[\][ \t]*=[ \t]*\{/ { intable = 1; next }
intable && /^\};/ { intable = 0 }
intable { buf = buf " " $0 }
END {
	# Each entry starts with "{"; its first three string literals are
	# the variable name, the long option and the default.
	nent = split(buf, ents, "{")
	for (i = 2; i <= nent; i++) {
		e = ents[i]
		k = 0
		while (k < 3 && match(e, /"([^"\\]|\\.)*"/)) {
			lit[++k] = substr(e, RSTART + 1, RLENGTH - 2)
			e = substr(e, RSTART + RLENGTH)
		}
		if (k == 3)
			printf "%s\t%s\t%s\n", lit[1], lit[2],
			       lit[3] == "" ? "off" : lit[3]
	}
}' "$TABLE_SRC" >"$T/table" 2>/dev/null
: >"$T/out"
: >"$T/err"
rc=0
nopts=$(wc -l <"$T/table" | tr -d ' ')
check "option table parsed from $(basename "$TABLE_SRC") ($nopts entries)" \
	[ "$nopts" -gt 0 ]

# ---------------------------------------------------------------------
# --help and --version
# ---------------------------------------------------------------------
run "$W" --help
cp "$T/out" "$T/help"
check "--help exits 0 with the usage line first on stdout" \
	eval '[ "$rc" -eq 0 ] && first_out "$USAGE" && no_err'

TAB=$(printf '\t')
while IFS=$TAB read -r name lo def; do
	check "--help documents --$lo, LOCKONFAULT_$name and default $def" \
		eval 'grep -q -e "^  --$lo=" -e "^  --$lo\[" "$T/help" &&
		      grep -qxF -e "      sets LOCKONFAULT_$name, default: $def" \
			      "$T/help"'
done <"$T/table"

check "--help lists --dry-run, --library, --help and --version" \
	eval 'grep -q -e "--dry-run" "$T/help" &&
	      grep -q -e "--library=PATH" "$T/help" &&
	      grep -q -e "-h, --help" "$T/help" &&
	      grep -q -e "-V, --version" "$T/help"'

run "$W" -h
check "-h prints the same help as --help" \
	eval '[ "$rc" -eq 0 ] && cmp -s "$T/out" "$T/help"'

VERSION=$(sed -n 's/^AC_INIT(\[lockonfault\], *\[\([^]]*\)\].*/\1/p' \
	"$S/configure.ac")
run "$W" --version
check "--version prints 'lockonfault ${VERSION:-?}' and exits 0" \
	eval '[ -n "$VERSION" ] && [ "$rc" -eq 0 ] &&
	      [ "$(cat "$T/out")" = "lockonfault $VERSION" ] && no_err'
run "$W" -V
check "-V prints the version" \
	eval '[ "$rc" -eq 0 ] && [ "$(cat "$T/out")" = "lockonfault $VERSION" ]'

if [ -w /dev/full ]; then
	"$W" --help >/dev/full 2>"$T/err"
	rc=$?
	: >"$T/out"
	check "--help on a full disk reports the write error (125)" \
		eval '[ "$rc" -eq 125 ] && has_err "write error"'
else
	skip "--help on a full disk reports the write error" "no /dev/full"
fi

# ---------------------------------------------------------------------
# Wrapper errors: 125 and a usage line, COMMAND never runs.
# ---------------------------------------------------------------------
mkdir "$T/lib"
FAKE=$T/lib/fake.so
: >"$FAKE"

run "$W" --library="$FAKE" --bogus sh -c 'echo COMMAND-RAN'
check "unknown long option: 125, message naming it, usage line" \
	eval 'wrapper_error && has_err "--bogus"'

run "$W" --library="$FAKE" -x sh -c 'echo COMMAND-RAN'
check "unknown short option: 125 and a usage line" \
	eval 'wrapper_error && has_err "-x"'

for bad in --batch=abc --batch=0 --batch=1048577 --max-batch=-1 \
	--engine=bogus --min-size=12Q --min-size=2048G --log=loud --batch=; do
	opt=${bad%%=*}
	run "$W" --library="$FAKE" "$bad" sh -c 'echo COMMAND-RAN'
	check "bad value $bad: 125, message naming $opt, usage line" \
		eval 'wrapper_error && has_err "$opt"'
done

run "$W" --library="$FAKE" --engine bogus sh -c 'echo COMMAND-RAN'
check "bad value in separate-argument form (--engine bogus): 125" \
	wrapper_error

run "$W" --library="$FAKE" --batch
check "option without its value (--batch at the end): 125" wrapper_error

run "$W" --library="$FAKE" --help=yes true
check "value given to --help: 125" wrapper_error

run "$W"
check "no arguments at all: 125 and a usage line" wrapper_error
run "$W" --library="$FAKE" --batch=8
check "options but no command: 125 and a usage line" wrapper_error
run "$W" --library="$FAKE" -n --
check "-- but no command: 125 and a usage line" wrapper_error

run "$W" --library="$T/no/such/lib.so" sh -c 'echo COMMAND-RAN'
check "--library naming a missing file: 125 and a usage line" \
	eval 'wrapper_error && has_err "$T/no/such/lib.so"'

mkdir "$T/a:b"
: >"$T/a:b/lib.so"
run "$W" --library="$T/a:b/lib.so" sh -c 'echo COMMAND-RAN'
check "--library with ':' in its path (LD_PRELOAD cannot hold it): 125" \
	wrapper_error

# ---------------------------------------------------------------------
# Running COMMAND: 126, 127 and COMMAND's own status.
# ---------------------------------------------------------------------
# A library ld.so can preload without a word: the C library already
# mapped into this awk. Falls back to the empty fake (ld.so then
# complains on stderr, which the status tests do not look at).
LIBC=$(awk '$6 ~ /\/libc(-[^\/]*)?\.so[^\/]*$/ { print $6; exit }' \
	/proc/self/maps 2>/dev/null)
case $LIBC in
*:* | *' '*) LIBC= ;;
esac
[ -n "$LIBC" ] && [ -r "$LIBC" ] || LIBC=
PRE=${LIBC:-$FAKE}

NOCMD=lof-no-such-command-$$
run "$W" --library="$PRE" "$NOCMD" arg
check "command not found in PATH: 127, message names it" \
	eval '[ "$rc" -eq 127 ] && no_out && has_err "$NOCMD" &&
	      has_err "No such file or directory"'

run "$W" --library="$PRE" "$T/no-such-file"
check "command path that does not exist: 127" \
	eval '[ "$rc" -eq 127 ] && has_err "$T/no-such-file"'

printf '#!/bin/sh\necho COMMAND-RAN\n' >"$T/noexec"
chmod 644 "$T/noexec"
run "$W" --library="$PRE" "$T/noexec"
check "command that is not executable: 126, message names it" \
	eval '[ "$rc" -eq 126 ] && no_out && has_err "$T/noexec" &&
	      has_err "Permission denied"'

run "$W" --library="$PRE" "$T"
check "command that is a directory: 126" eval '[ "$rc" -eq 126 ]'

run "$W" --library="$PRE" -- sh -c 'exit 7'
check "exit status of the command passes through (7)" eval '[ "$rc" -eq 7 ]'

run "$W" --library="$PRE" true
check "exit status of the command passes through (0)" eval '[ "$rc" -eq 0 ]'

# In an inner shell, so that no shell reports "Terminated" on our stderr.
run sh -c '"$@"; echo $?' sh "$W" --library="$PRE" sh -c 'kill -TERM $$'
rc=$(cat "$T/out")
check "death by signal passes through (SIGTERM: 143)" \
	eval '[ "$rc" -eq 143 ]'

run "$W" --library="$PRE" sh -c 'printf "%s|" "$@"' zero 'a b' '' \
	--batch=3 -n
check "arguments after the command reach it unchanged" \
	eval '[ "$(cat "$T/out")" = "a b||--batch=3|-n|" ]'

# ---------------------------------------------------------------------
# --dry-run: the environment and the command line, nothing run.
# ---------------------------------------------------------------------
run "$W" --library="$FAKE" --dry-run touch "$T/ran"
check "--dry-run exits 0 without running the command" \
	eval '[ "$rc" -eq 0 ] && [ ! -e "$T/ran" ]'
check "--dry-run without LD_PRELOAD: LD_PRELOAD=<library> first" \
	first_out "LD_PRELOAD=$FAKE"
check "--dry-run sets no LOCKONFAULT_* variable unless asked" \
	eval '! grep -q "^LOCKONFAULT_" "$T/out"'
check "--dry-run prints the command line last" \
	last_out "touch $T/ran"

run env LD_PRELOAD=/lof-test/old.so "$W" --library="$FAKE" -n true
check "--dry-run keeps an existing LD_PRELOAD after the library" \
	first_out "LD_PRELOAD=$FAKE:/lof-test/old.so"

run env LD_PRELOAD= "$W" --library="$FAKE" -n true
check "--dry-run with an empty LD_PRELOAD: just the library" \
	first_out "LD_PRELOAD=$FAKE"

# A valid value for every option of the table (its default for options
# this test does not know).
set --
while IFS=$TAB read -r name lo def; do
	case $lo in
	batch) val=32 ;;
	max-batch) val=1024 ;;
	min-size) val=64K ;;
	engine) val=native ;;
	log) val=debug ;;
	stats) val=/tmp/lof-stats.%p ;;
	*) val=$def ;;
	esac
	[ "$val" = off ] && continue
	set -- "$@" "--$lo=$val"
	printf '%s\t%s\n' "$name" "$val" >>"$T/values"
done <"$T/table"
run "$W" --library="$FAKE" -n "$@" -- true
cp "$T/out" "$T/dry"
check "--dry-run with every option exits 0" eval '[ "$rc" -eq 0 ]'
while IFS=$TAB read -r name val; do
	check "--dry-run shows LOCKONFAULT_$name=$val" \
		grep -qxF -e "LOCKONFAULT_$name=$val" "$T/dry"
done <"$T/values"

run "$W" --library="$FAKE" -n --batch 48 --engine off true
check "--option VALUE form works like --option=VALUE" \
	eval 'has_out LOCKONFAULT_BATCH=48 && has_out LOCKONFAULT_ENGINE=off &&
	      last_out true'

run "$W" --library="$FAKE" -n --stats echo hi
check "--stats without a value means stderr, next word is the command" \
	eval '[ "$rc" -eq 0 ] && has_out LOCKONFAULT_STATS=stderr &&
	      last_out "echo hi"'

run "$W" --library="$FAKE" -n --batch=8 --batch=9 true
check "the last of a repeated option wins" \
	eval 'has_out LOCKONFAULT_BATCH=9 &&
	      [ "$(grep -c ^LOCKONFAULT_BATCH= "$T/out")" -eq 1 ]'

run "$W" --library="$FAKE" -n echo --batch=5 -V
check "options stop at the first non-option argument" \
	eval '[ "$rc" -eq 0 ] && ! grep -q ^LOCKONFAULT_ "$T/out" &&
	      last_out "echo --batch=5 -V"'

run "$W" --library="$FAKE" -n -- --batch=5
check "options stop at --" \
	eval '[ "$rc" -eq 0 ] && ! grep -q ^LOCKONFAULT_ "$T/out" &&
	      last_out "--batch=5"'

run "$W" --library="$FAKE" -n printf '%s\n' 'a b' "it's" '' '$HOME'
cmdline=$(sed -n '$p' "$T/out")
# Read it back in a child shell: a syntax error must fail the test, not
# end this script.
check "--dry-run quotes the command line for the shell" \
	sh -c 'eval "set -- $1" && [ $# -eq 6 ] && [ "$1" = printf ] &&
	       [ "$2" = "%s\\n" ] && [ "$3" = "a b" ] && [ "$4" = "it'"'"'s" ] &&
	       [ -z "$5" ] && [ "$6" = "\$HOME" ]' sh "$cmdline" 2>/dev/null

run sh -c 'cd "$1" && "$2" --library=fake.so -n true' sh "$T/lib" "$W"
check "a relative --library is made absolute" \
	first_out "LD_PRELOAD=$FAKE"

# ---------------------------------------------------------------------
# Real runs: the variables reach the command's environment.
# ---------------------------------------------------------------------
if [ -n "$LIBC" ]; then
	run env LD_PRELOAD="$LIBC" "$W" --library="$LIBC" --batch=32 \
		--engine=off -- env
	check "real run: LD_PRELOAD and LOCKONFAULT_* reach the command" \
		eval '[ "$rc" -eq 0 ] && has_out "LD_PRELOAD=$LIBC:$LIBC" &&
		      has_out LOCKONFAULT_BATCH=32 &&
		      has_out LOCKONFAULT_ENGINE=off && no_err'
else
	skip "real run: LD_PRELOAD and LOCKONFAULT_* reach the command" \
		"no C library found to preload harmlessly"
fi

REAL=$B/src/.libs/liblockonfault.so
if [ -f "$REAL" ]; then
	run "$W" --batch=32 -- sh -c 'echo $LOCKONFAULT_BATCH'
	check "real run with the built library: LOCKONFAULT_BATCH=32" \
		eval '[ "$rc" -eq 0 ] && [ "$(cat "$T/out")" = 32 ]'
else
	skip "real run with the built library: LOCKONFAULT_BATCH=32" \
		"library not built"
fi

# ---------------------------------------------------------------------
# Library search, with copies of the wrapper in scratch trees.
# ---------------------------------------------------------------------
if [ "$(head -c 4 "$W" | tr -d '\177')" = ELF ]; then
	mkdir -p "$T/inst/bin" "$T/inst/lib" "$T/build/src/.libs" "$T/none"
	cp "$W" "$T/inst/bin/lockonfault"
	cp "$W" "$T/build/lockonfault"
	cp "$W" "$T/none/lockonfault"
	: >"$T/inst/lib/liblockonfault.so"
	: >"$T/build/src/.libs/liblockonfault.so"

	run "$T/inst/bin/lockonfault" -n true
	check "search: ../lib/liblockonfault.so next to an installed wrapper" \
		first_out "LD_PRELOAD=$T/inst/lib/liblockonfault.so"

	# The build tree comes first, so a wrapper built there never
	# preloads an older installed library; with no library anywhere
	# (and none installed in the configured libdir) the wrapper fails.
	run "$T/build/lockonfault" -n true
	check "search: the build tree's src/.libs" \
		first_out \
		"LD_PRELOAD=$T/build/src/.libs/liblockonfault.so"
	run "$T/none/lockonfault" -n true
	if [ "$rc" -eq 0 ]; then
		installed=$(sed -n 's/^LD_PRELOAD=//p' "$T/out")
		skip "search: no library anywhere gives 125" \
			"installed $installed exists"
	else
		check "search: no library anywhere gives 125 and a usage line" \
			eval 'wrapper_error && has_err liblockonfault.so'
	fi
else
	skip "search: ../lib next to the wrapper" "wrapper is not an ELF file"
	skip "search: the build tree's src/.libs" "wrapper is not an ELF file"
	skip "search: no library anywhere gives 125" \
		"wrapper is not an ELF file"
fi

# ---------------------------------------------------------------------
# The man page documents every option of the table, with its default.
# ---------------------------------------------------------------------
MAN=$S/doc/lockonfault.1
# Plain text of the source: no font, hyphen or no-break escapes.
sed -e 's/\\f[BIRP]//g' -e 's/\\%//g' -e 's/\\-/-/g' -e 's/\\c$//' \
	"$MAN" >"$T/man" 2>/dev/null

# man_entry SECTION HEADING DEFAULT: a .TP entry in SECTION whose
# heading starts with HEADING (then '=', '[', ' ' or the end) and whose
# text has a line "Default: DEFAULT" ('.' or ' ' or the end after it).
man_entry() {
	awk -v sec="$1" -v key="$2" -v def="$3" '
	function starts(s, p, c) {
		if (substr(s, 1, length(p)) != p)
			return 0
		c = substr(s, length(p) + 1, 1)
		return c == "" || c == "=" || c == "[" || c == " "
	}
	/^\.SH/ { cur = $2; inent = 0; next }
	/^\.TP/ { head = 1; inent = 0; next }
	head {
		head = 0
		h = $0
		sub(/^\.[A-Z]+ +/, "", h)
		inent = (cur == sec && starts(h, key))
		seen += inent
		next
	}
	inent && starts($0, "Default: " def) { found = 1 }
	inent && $0 == "Default: " def "." { found = 1 }
	END { exit !(seen && found) }' "$T/man"
}

while IFS=$TAB read -r name lo def; do
	check "man page OPTIONS: --$lo with default $def" \
		man_entry OPTIONS "--$lo" "$def"
	check "man page ENVIRONMENT: LOCKONFAULT_$name with default $def" \
		man_entry ENVIRONMENT "LOCKONFAULT_$name" "$def"
done <"$T/table"

check "man page OPTIONS: --dry-run, --library, --help, --version" \
	eval 'grep -qxF -e ".BR -n \", \" --dry-run" "$T/man" &&
	      grep -qxF -e ".BI --library= PATH" "$T/man" &&
	      grep -qxF -e ".BR -h \", \" --help" "$T/man" &&
	      grep -qxF -e ".BR -V \", \" --version" "$T/man"'

check "man page EXIT STATUS: 125, 126 and 127" \
	eval 'sed -n "/^\.SH \"*EXIT STATUS/,/^\.SH/p" "$T/man" >"$T/exit" &&
	      grep -qx "\.B 125" "$T/exit" && grep -qx "\.B 126" "$T/exit" &&
	      grep -qx "\.B 127" "$T/exit"'

# renders PAGE: man -l (or groff) formats it without a warning.
renders() {
	if command -v man >/dev/null 2>&1 &&
		man --help 2>/dev/null | grep -q -e --warnings; then
		run env MANWIDTH=80 man --warnings -l "$1"
		check "$(basename "$1") renders without warnings (man --warnings)" \
			eval '[ "$rc" -eq 0 ] && no_err && [ -s "$T/out" ]'
	elif command -v groff >/dev/null 2>&1; then
		run groff -man -ww -z "$1"
		check "$(basename "$1") renders without warnings (groff -ww)" \
			eval '[ "$rc" -eq 0 ] && no_err'
	else
		skip "$(basename "$1") renders without warnings" "neither man nor groff"
	fi
}
renders "$MAN"

# ---------------------------------------------------------------------
# liblockonfault(7): every variable of the table, with its default.
# ---------------------------------------------------------------------
MAN7=$S/doc/liblockonfault.7
sed -e 's/\\f[BIRP]//g' -e 's/\\%//g' -e 's/\\-/-/g' -e 's/\\c$//' \
	"$MAN7" >"$T/man" 2>/dev/null
while IFS=$TAB read -r name lo def; do
	check "liblockonfault.7 ENVIRONMENT: LOCKONFAULT_$name with default $def" \
		man_entry ENVIRONMENT "LOCKONFAULT_$name" "$def"
done <"$T/table"
check "liblockonfault.7 documents lof_stats_get, lof_lock_onfault, lof_resolve" \
	eval 'grep -q "^\.B lof_stats_get$" "$T/man" &&
	      grep -q "^\.B lof_lock_onfault$" "$T/man" &&
	      grep -q "^\.B lof_resolve$" "$T/man"'
renders "$MAN7"

# ---------------------------------------------------------------------
# README.md: a row of the environment table per option, its long option
# and its default in the last cell; and no row the table lacks.
# ---------------------------------------------------------------------
README=$S/README.md
while IFS=$TAB read -r name lo def; do
	check "README table: LOCKONFAULT_$name, --$lo, default $def" \
		eval 'grep "^| \`LOCKONFAULT_$name\` | \`--$lo[=[]" "$README" |
		      grep -q " | $def |\$"'
done <"$T/table"
extra=$(sed -n 's/^| `LOCKONFAULT_\([A-Z_]*\)`.*/\1/p' "$README" |
	while read -r v; do
		cut -f1 "$T/table" | grep -qx "$v" || echo "$v"
	done)
check "README table: no variable the option table lacks ($extra)" \
	[ -z "$extra" ]

echo "1..$n"
cat "$T/results"
exit 0
