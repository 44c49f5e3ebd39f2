#!/bin/sh
# check-handler-symbols.sh - the files the SIGSEGV handler can reach
# must not call malloc, stdio, pthread locks or getenv. Lists the
# undefined symbols of their objects and fails on anything outside an
# allowlist of async-signal-safe calls. TAP output.
top=${LOF_TOP_BUILDDIR:-.}
allow='^(syscall|__errno_location|memcpy|memset|memmove|strncmp|strlen|strstr|clock_gettime|sigfillset|sigemptyset|sigaddset|sigdelset|sigorset|sigismember|maps_.*|__stack_chk_fail|__tls_get_addr|_GLOBAL_OFFSET_TABLE_|dl_iterate_phdr|sysconf|lof_.*|sys_.*|region_.*|batch_.*|sigchain_.*|log_.*|stats_.*|arch_.*|backtrace_.*|altstack_within|altstack_unlock_all|real_sigaction)$'
set -- engine region batch sys log sigchain backtrace
echo "1..$#"
n=0
for f in "$@"; do
	n=$((n + 1))
	obj=$(ls "$top"/src/.libs/*liblof_core_la-$f.o "$top"/src/*liblof_core_la-$f.o 2>/dev/null | head -n 1)
	if [ -z "$obj" ]; then
		echo "not ok $n - $f.o not found"
		continue
	fi
	# sigchain_init() resolves libc's sigaction once, at start-up.
	extra='^$'
	[ "$f" = sigchain ] && extra='^dlsym$'
	# libunwind's local unwinder is async-signal-safe.
	[ "$f" = backtrace ] && extra='^_U.*'
	bad=$(nm -u "$obj" | awk '{print $2}' | sed 's/@.*//' | grep -Ev "$allow" | grep -Ev "$extra")
	if [ -n "$bad" ]; then
		echo "not ok $n - $f.o calls unsafe symbols: $(echo $bad)"
	else
		echo "ok $n - $f.o calls only async-signal-safe symbols"
	fi
done
