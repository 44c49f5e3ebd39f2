/*
 * supervise.c - what the wrapper's supervisor costs a program that makes
 * no lock call (issue 13): 10^6 system calls (getppid through syscall(),
 * which the seccomp filter lets through after a few BPF instructions)
 * and 10^4 signals sent to itself and handled (each one a ptrace stop
 * in the supervisor). Built static, so that ./lockonfault runs it under
 * the supervisor; bench/supervise.sh runs it natively and under it.
 *
 * Prints one line: syscalls_ms=... signals_ms=... ns_per_syscall=...
 * us_per_signal=...
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define CALLS 1000000L
#define SIGNALS 10000L

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
	double t0, t1, t2;
	pid_t me = getpid();

	sigaction(SIGUSR1, &sa, NULL);
	t0 = now_ms();
	for (long i = 0; i < CALLS; i++)
		syscall(SYS_getppid);
	t1 = now_ms();
	for (long i = 0; i < SIGNALS; i++)
		kill(me, SIGUSR1);
	t2 = now_ms();
	if (got != SIGNALS) {
		fprintf(stderr, "supervise: %d of %ld signals handled\n",
			(int)got, SIGNALS);
		return 1;
	}
	printf("syscalls_ms=%.1f signals_ms=%.1f ns_per_syscall=%.1f "
	       "us_per_signal=%.2f\n", t1 - t0, t2 - t1,
	       (t1 - t0) * 1e6 / CALLS, (t2 - t1) * 1e3 / SIGNALS);
	return 0;
}
