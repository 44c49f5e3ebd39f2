#!/bin/sh
# programs-deps.sh - install the programs `make check-programs` runs
# (memcached, memtester, fio, stress-ng, vmtouch, python3, golang-go for
# test/programs/go-vault.py, and setpriv
# and prlimit from util-linux) with apt-get when any is missing. As
# root only; otherwise it names what is missing and the tests that need
# it skip. Waits for another apt-get to let go of its lock.
set -eu

# command to look for, Debian package that provides it
deps="memcached:memcached memtester:memtester fio:fio stress-ng:stress-ng
vmtouch:vmtouch python3:python3 setpriv:util-linux prlimit:util-linux
go:golang-go"
missing=""
for d in $deps; do
	command -v "${d%%:*}" >/dev/null 2>&1 || missing="$missing ${d#*:}"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
	echo "programs-deps.sh: missing:$missing (apt-get install$missing)" >&2
	exit 0
fi
echo "programs-deps.sh: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=300 update -qq
apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends \
	$missing >/dev/null </dev/null
