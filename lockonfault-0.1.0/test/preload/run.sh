#!/bin/sh
# run.sh - the automake LOG_COMPILER: run.sh PROGRAM [ARG...]
#
# Programs under test/preload/ run with the freshly built library
# preloaded (LD_PRELOAD=$LOF_TOP_BUILDDIR/src/.libs/liblockonfault.so,
# prepended to any existing value) and LOCKONFAULT_MIN_SIZE=0, so that
# the small ranges of the tests are managed too; a test that needs
# another value sets it and re-executes itself. Every other program (the
# unit tests in test/unit/) is executed as it is.
#
# A missing library is a hard error (exit 99), never a skip: a preload
# test must not be able to pass without the library.
#
# Environment: LOF_TOP_BUILDDIR (default: the current directory, which
# is the top build directory under make check).

if [ $# -lt 1 ]; then
	echo "usage: run.sh PROGRAM [ARG...]" >&2
	exit 99
fi

case $1 in
*test/preload/*) ;;
*) exec "$@" ;;
esac

B=${LOF_TOP_BUILDDIR:-$(pwd)}
LIB=$B/src/.libs/liblockonfault.so

if [ ! -f "$LIB" ]; then
	echo "Bail out! library not built: $LIB"
	echo "run.sh: $LIB is missing; build the library first" >&2
	exit 99
fi

LOF_TOP_BUILDDIR=$B
LD_PRELOAD=$LIB${LD_PRELOAD:+:$LD_PRELOAD}
LOCKONFAULT_MIN_SIZE=0
export LOF_TOP_BUILDDIR LD_PRELOAD LOCKONFAULT_MIN_SIZE
exec "$@"
