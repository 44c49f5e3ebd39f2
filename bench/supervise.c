/*
 * supervise.c - what the wrapper's supervisor costs a program (issue
 * 13): 10^6 system calls (getppid through syscall(), which the seccomp
 * filter lets through after a few BPF instructions), 10^4 signals sent
 * to itself and handled (in trace mode each one a ptrace stop in the
 * supervisor; in notify mode none), and 10^3 mlock + munlock pairs of
 * one touched page (each mlock a rewrite). Built static, so that
 * ./lockonfault runs it under the supervisor; bench/supervise.sh runs it
 * natively and under each mode.
 *
 * Prints one line: syscalls_ms=... signals_ms=... locks_ms=...
 * ns_per_syscall=... us_per_signal=... us_per_lock=...
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define CALLS 1000000L
#define SIGNALS 10000L
#define LOCKS 1000L

static volatile sig_atomic_t got;

static void on_usr1(int sig)
{
	(void)sig;
	got++;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(void)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	double t0, t1, t2, t3;
	pid_t me = getpid();
	char *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	sigaction(SIGUSR1, &sa, NULL);
	t0 = now_ms();
	for (long i = 0; i < CALLS; i++)
		syscall(SYS_getppid);
	t1 = now_ms();
	for (long i = 0; i < SIGNALS; i++)
		kill(me, SIGUSR1);
	t2 = now_ms();
	if (page == MAP_FAILED) {
		perror("supervise: mmap");
		return 1;
	}
	page[0] = 1;
	for (long i = 0; i < LOCKS; i++) {
		if (mlock(page, 4096) != 0 || munlock(page, 4096) != 0) {
			perror("supervise: mlock");
			return 1;
		}
	}
	t3 = now_ms();
	if (got != SIGNALS) {
		fprintf(stderr, "supervise: %d of %ld signals handled\n",
			(int)got, SIGNALS);
		return 1;
	}
	printf("syscalls_ms=%.1f signals_ms=%.1f locks_ms=%.1f "
	       "ns_per_syscall=%.1f us_per_signal=%.2f us_per_lock=%.2f\n",
	       t1 - t0, t2 - t1, t3 - t2, (t1 - t0) * 1e6 / CALLS,
	       (t2 - t1) * 1e3 / SIGNALS, (t3 - t2) * 1e3 / LOCKS);
	return 0;
}
