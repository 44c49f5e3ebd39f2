#!/bin/sh
# sigsegv.sh - make check's entry for the sigsegv variant of the preload tests:
# run-engines.sh sigsegv (see there).
S=${LOF_TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
exec sh "$S/test/engines/run-engines.sh" sigsegv
