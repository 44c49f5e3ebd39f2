#!/bin/sh
# sim43-touched.sh - make check's entry for the fault-and-fix tests under
# a simulated Linux 4.3 with LOCKONFAULT_CHARGE=touched: run-engines.sh
# sim43-touched on t-fuzzfix-sim, which knows that mode (it skips what
# that mode does differently, with the documentation's reason), and on
# t-relockrace (first touches racing a re-lock: a SIGSEGV there before
# sig_unsettle marked the release's window in this mode). The
# emulation's re-lock and PROT_NONE paths differ there (src/sigsegv.c:
# sig_release, sig_remember_none, relazy_piece).
S=${LOF_TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
exec sh "$S/test/engines/run-engines.sh" sim43-touched t-fuzzfix-sim \
	t-relockrace
