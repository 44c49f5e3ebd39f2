/*
 * tap.h - a tiny Test Anything Protocol emitter for the preload tests.
 *
 * plan(n) prints the plan "1..n" at once; plan(0) leaves it to done(),
 * which then prints "1..<tests run>" (TAP allows the plan at the end).
 * ok() prints "ok N - msg" or "not ok N - msg" and returns its condition,
 * diag() prints "# msg", skip() records skipped tests, bail() prints
 * "Bail out! msg" and exits 1. done() returns the exit status for main:
 * 0, because TAP carries the failures; a crash kills the program, which
 * the harness reports as an error.
 *
 * Every line is flushed at once, so that a forked child never inherits
 * unprinted output and a crash never loses the lines before it. Only for
 * use outside signal handlers (stdio), but for the watchdog:
 * watchdog(what) makes SIGALRM print "Bail out! watchdog: what" and exit
 * 3, so that a test bounding itself with alarm() fails rather than hangs.
 */
#ifndef LOF_TAP_H
#define LOF_TAP_H

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int tap_planned = -1;	/* -1: no plan yet; 0: plan at the end */
static int tap_run;
static int tap_failed;

#if defined(__GNUC__)
#define TAP_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define TAP_UNUSED __attribute__((unused))
#else
#define TAP_PRINTF(a, b)
#define TAP_UNUSED
#endif

static TAP_UNUSED void plan(int n)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	tap_planned = n;
	if (n > 0)
		printf("1..%d\n", n);
	fflush(stdout);
}

static TAP_UNUSED TAP_PRINTF(2, 3) int ok(int cond, const char *fmt, ...)
{
	va_list ap;

	tap_run++;
	if (!cond)
		tap_failed++;
	printf("%sok %d - ", cond ? "" : "not ", tap_run);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	return cond;
}

static TAP_UNUSED TAP_PRINTF(1, 2) void diag(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* Records n skipped tests, each with the reason. */
static TAP_UNUSED void skip(int n, const char *why)
{
	while (n-- > 0) {
		tap_run++;
		printf("ok %d # SKIP %s\n", tap_run, why);
	}
	fflush(stdout);
}

static TAP_UNUSED TAP_PRINTF(1, 2) void bail(const char *fmt, ...)
{
	va_list ap;

	printf("Bail out! ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	exit(1);
}

static TAP_UNUSED int done(void)
{
	if (tap_planned <= 0)
		printf("1..%d\n", tap_run);
	else if (tap_run != tap_planned)
		printf("# planned %d tests but ran %d\n", tap_planned, tap_run);
	if (tap_failed)
		printf("# failed %d of %d tests\n", tap_failed, tap_run);
	fflush(stdout);
	return 0;
}

static char tap_watchdog_msg[256];
static size_t tap_watchdog_len;

/*
 * SIGALRM: the watchdog's line, then exit 3.
 * Context: signal handler (write and _exit only).
 */
static TAP_UNUSED void tap_watchdog_fire(int sig)
{
	(void)sig;
	if (write(1, tap_watchdog_msg, tap_watchdog_len) < 0)
		_exit(3);
	_exit(3);
}

/* From now on an alarm() that fires fails the test, saying what hung. */
static TAP_UNUSED void watchdog(const char *what)
{
	snprintf(tap_watchdog_msg, sizeof(tap_watchdog_msg),
		 "Bail out! watchdog: %s\n", what);
	tap_watchdog_len = strlen(tap_watchdog_msg);
	signal(SIGALRM, tap_watchdog_fire);
}

#endif /* LOF_TAP_H */
