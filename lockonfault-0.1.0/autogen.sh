#!/bin/sh
# Regenerate the build system from configure.ac and Makefile.am.
set -e
cd "$(dirname "$0")"
autoreconf -fi
# automake installs no TAP driver by itself; the test harness needs it.
cp -f "$(automake --print-libdir)/tap-driver.sh" build-aux/tap-driver.sh
