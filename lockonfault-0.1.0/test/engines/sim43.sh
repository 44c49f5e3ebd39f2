#!/bin/sh
# sim43.sh - make check's entry for the sim43 variant of the preload tests:
# run-engines.sh sim43 (see there).
S=${LOF_TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
exec sh "$S/test/engines/run-engines.sh" sim43
