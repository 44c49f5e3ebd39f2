#!/bin/sh
# fuzz-cases.sh - make check's replay of the fuzzer's minimized cases
# (test/fuzz/cases/*.case, issue 12): each is a regression test, which
# passes when the case no longer diverges from the reference, or only in
# a class test/fuzz/allow.list documents for its engine.
S=${LOF_TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
exec sh "$S/test/fuzz/run-fuzz.sh" -r -t "$S"/test/fuzz/cases/*.case
