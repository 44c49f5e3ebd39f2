#!/bin/sh
# check-handler-symbols.sh - what the SIGSEGV handler can reach must not
# call malloc, stdio, a lock or getenv.
#
# The objects the fault path is built from are checked as a closed
# world: each may call only functions defined by one of them, a short
# list of async-signal-safe libc calls, and read the library's global
# configuration. A call out of the set (region_lock, which takes the
# table's mutex, or anything of init, interposition or the lock calls)
# fails the check, so a new path from the handler to an unsafe call is
# caught where it is added (sites.c, the report by call site, takes a
# mutex and is outside the set: no object here may call it). TAP output.
top=${LOF_TOP_BUILDDIR:-.}
objs="fault region batch sys log sigchain backtrace stats maps fatal"
libc='syscall|__errno_location|memcpy|memset|memmove|strncmp|strlen|strstr|clock_gettime|sigfillset|sigemptyset|sigaddset|sigdelset|sigorset|sigismember|__stack_chk_fail|__tls_get_addr|_GLOBAL_OFFSET_TABLE_|sysconf'
# Read-only after init: the configuration, the page size, the engine.
data='lof_config|lof_mode|lof_engine_why|lof_page_size|lof_page_shift'

obj_of() {
	ls "$top"/src/.libs/*liblof_core_la-$1.o "$top"/src/*liblof_core_la-$1.o 2>/dev/null | head -n 1
}

set -- $objs
echo "1..$#"
defined=
for f in $objs; do
	o=$(obj_of "$f")
	[ -n "$o" ] && defined="$defined $(nm --defined-only "$o" | awk '$2 ~ /[TtDdBbRr]/ {print $3}')"
done
defined=$(echo $defined | tr ' ' '|')
n=0
for f in "$@"; do
	n=$((n + 1))
	obj=$(obj_of "$f")
	if [ -z "$obj" ]; then
		echo "not ok $n - $f.o not found"
		continue
	fi
	extra='^$'
	# sigchain_init() resolves libc's sigaction once, at start-up;
	# dl_iterate_phdr is only in sigchain_install, at init.
	[ "$f" = sigchain ] && extra='^(dlsym|dl_iterate_phdr)$'
	# libunwind's local unwinder is async-signal-safe.
	[ "$f" = backtrace ] && extra='^_U.*'
	bad=$(nm -u "$obj" | awk '{print $2}' | sed 's/@.*//' |
		grep -Ev "^($libc|$data|$defined)\$" | grep -Ev "$extra")
	if [ -n "$bad" ]; then
		echo "not ok $n - $f.o calls outside the handler's world: $(echo $bad)"
	else
		echo "ok $n - $f.o calls only async-signal-safe symbols"
	fi
done
