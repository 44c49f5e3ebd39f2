#!/bin/sh
# fuzz-check.sh - make check's bounded differential fuzz run (issue 12):
# run-fuzz.sh -t over LOF_FUZZ_CHECK_SEEDS seeds (default 24) from
# LOF_FUZZ_CHECK_FIRST (default 1), two at a time, under every engine.
# See run-fuzz.sh for the per-engine switches of open defects.
S=${LOF_TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
exec sh "$S/test/fuzz/run-fuzz.sh" -t -j 2 \
	-n "${LOF_FUZZ_CHECK_SEEDS:-24}" -f "${LOF_FUZZ_CHECK_FIRST:-1}"
