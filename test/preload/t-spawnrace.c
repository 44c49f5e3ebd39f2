/*
 * t-spawnrace.c - posix_spawn under mlockall(MCL_CURRENT|MCL_FUTURE)
 * keeps the signal mask, and a fresh mapping touched after it is served.
 *
 * glibc's posix_spawn blocks every signal around its clone with a set
 * kept in libc's read-only data (rt_sigprocmask reads it with
 * copy_from_user), stores the old mask on its stack and restores it,
 * in the child before exec and in the parent after. If the SIGSEGV
 * engine made the page of that set pending (PROT_NONE), the kernel
 * answered EFAULT instead of faulting: no old mask was stored, both
 * processes set their mask from stack garbage, and with SIGSEGV blocked
 * in it the parent's next touch of a pending page killed it (t-mlockall
 * died so under sim43 after its posix_spawn check, a few runs in 40).
 * The kernel's own MCL_ONFAULT faults the page in.
 *
 * Whether that page is pending depends on which of libc's read-only
 * pages the process has touched before mlockall (the engine locks the
 * present ones where they are). Each round here makes libc's read-only
 * mappings absent first (MADV_DONTNEED where no page of their own is
 * there: file pages, read back from the page cache), as in a process that never used them, then:
 * mlockall(MCL_CURRENT|MCL_FUTURE), posix_spawn of /bin/true, the
 * kernel's own view of the mask (/proc/self/status SigBlk) compared
 * with the one before, a touch of one page per MiB of a new 64 MiB
 * mapping, munlockall. Which of those pages the process touches again
 * (and the kernel's fault-around maps with them) depends on where libc
 * lies, so the rounds run in several processes, each this program
 * executed again (a new layout), under an alarm: a crash or a hang
 * fails the check instead of the run.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probe.h"
#include "tap.h"

#define MB (1UL << 20)
#define BIG (64 * MB)
#define ROUNDS 4
#define PROCESSES 16

extern char **environ;

/* The kernel's blocked mask of this thread, or ~0 if unreadable. */
static unsigned long long sigblk(void)
{
	char line[256];
	unsigned long long v = ~0ULL;
	FILE *f = fopen("/proc/thread-self/status", "r");

	if (!f)
		return v;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "SigBlk: %llx", &v) == 1)
			break;
	fclose(f);
	return v;
}

/*
 * MADV_DONTNEED over libc's mappings that are not writable and hold no
 * page of their own (smaps Anonymous: 0; the RELRO part was written
 * by the dynamic linker, and dropping it would undo the relocations).
 */
static int libc_absent(void)
{
	char line[512];
	unsigned long s = 0, e = 0;
	int cand = 0, n = 0;
	FILE *f = fopen("/proc/self/smaps", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long a, b;
		char perms[5];
		long kb;

		if (sscanf(line, "%lx-%lx %4s", &a, &b, perms) == 3) {
			s = a;
			e = b;
			cand = strstr(line, "/libc.so") && perms[1] != 'w' &&
			       perms[2] != 'x';
		} else if (cand && sscanf(line, "Anonymous: %ld", &kb) == 1) {
			if (kb == 0 &&
			    madvise((void *)s, e - s, MADV_DONTNEED) == 0)
				n++;
			cand = 0;
		}
	}
	fclose(f);
	return n;
}

static void rounds(void)
{
	for (int r = 0; r < ROUNDS; r++) {
		char *argv[] = { "/bin/true", NULL };
		unsigned long long before, after;
		pid_t pid;
		int st = -1;
		char *m;

		if (libc_absent() <= 0)
			_exit(10);
		before = sigblk();
		if (mlockall(MCL_CURRENT | MCL_FUTURE))
			_exit(11);
		if (posix_spawn(&pid, "/bin/true", NULL, NULL, argv, environ) ||
		    waitpid(pid, &st, 0) != pid ||
		    !WIFEXITED(st) || WEXITSTATUS(st))
			_exit(12);
		after = sigblk();
		if (after != before)
			_exit(13);
		m = mmap(NULL, BIG, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED)
			_exit(14);
		for (size_t i = 0; i < BIG; i += MB)
			m[i] = 1;
		if (munlockall())
			_exit(15);
		munmap(m, BIG);
	}
	_exit(0);
}

/* One process of rounds: this program again, so libc lies elsewhere. */
static int process(const char *self)
{
	pid_t pid;
	int st;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		execl(self, self, "rounds", (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return st;
}

int main(int argc, char **argv)
{
	char buf[64];
	int st = 0, i;

	if (argc > 1 && !strcmp(argv[1], "rounds")) {
		/* The watchdog: a hang fails instead of stalling. */
		alarm(60);
		rounds();
	}
	probe_require_preloaded();
	plan(1);
	diag("engine %s", probe_engine());
	for (i = 0; i < PROCESSES; i++) {
		st = process("/proc/self/exe");
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			break;
	}
	ok(i == PROCESSES,
	   "%d processes of %d rounds (mlockall, posix_spawn, touching a new mapping): %s%s%d "
	   "(10 no libc mapping, 12 spawn failed, 13 signal mask changed)",
	   PROCESSES, ROUNDS, i < PROCESSES ? probe_status_str(st, buf, sizeof(buf)) : "all exited 0",
	   i < PROCESSES ? " in process " : ", ", i);
	return done();
}
