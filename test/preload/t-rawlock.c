/*
 * t-rawlock.c - lock and memory calls made through syscall(3) instead of
 * their libc functions (issue 13: a dynamic program's
 * syscall(SYS_mlockall, ...) locked everything eagerly under the
 * library). Each must lock on fault as the function does, give the
 * kernel's errno, and keep the SIGSEGV engine's table right (a raw
 * munmap or mprotect over a pending range).
 *
 * Plain test program, run under the library by the harness: stdio is
 * fine.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <setjmp.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "probe.h"
#include "tap.h"

#define MB (1024UL * 1024)
#define LEN (16 * MB)

static char *anon(size_t len)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		bail("mmap: %s", strerror(errno));
	return p;
}

/* Locked: of [p, p + len) after touching its first 3 pages. */
static long touched_locked(char *p, size_t len)
{
	size_t pg = probe_page_size();

	for (int i = 0; i < 3; i++)
		p[i * pg] = 1;
	return probe_locked_kb(p, len);
}

static sigjmp_buf jb;

static void on_segv(int sig)
{
	(void)sig;
	siglongjmp(jb, 1);
}

int main(void)
{
	long kb3 = 3 * (long)probe_page_size() / 1024;
	struct sigaction sa = { .sa_handler = on_segv };
	volatile int wrote;
	char *p;
	long r;

	plan(0);
	p = anon(LEN);
	r = syscall(SYS_mlock, p, LEN);
	ok(r == 0 && touched_locked(p, LEN) == kb3,
	   "syscall(SYS_mlock): 3 pages touched, %ld kB locked",
	   probe_locked_kb(p, LEN));
	ok(syscall(SYS_munlock, p, LEN) == 0 && probe_locked_kb(p, LEN) == 0,
	   "syscall(SYS_munlock): nothing locked");
	munmap(p, LEN);

	p = anon(LEN);
	r = syscall(SYS_mlock2, p, LEN, 0);
	ok(r == 0 && touched_locked(p, LEN) == kb3,
	   "syscall(SYS_mlock2, flags 0): %ld kB locked",
	   probe_locked_kb(p, LEN));
	errno = 0;
	ok(syscall(SYS_mlock2, p, LEN, 2) == -1 && errno == EINVAL,
	   "syscall(SYS_mlock2) with an unknown flag: EINVAL");
	errno = 0;
	ok(syscall(SYS_mlock, (void *)probe_page_size(), LEN) == -1 &&
	   errno == ENOMEM, "syscall(SYS_mlock) of a hole: ENOMEM");
	/* A raw munmap of the pending range: the table forgets it. */
	ok(syscall(SYS_munmap, p, LEN) == 0, "syscall(SYS_munmap)");
	p = anon(LEN);
	ok(touched_locked(p, LEN) == 0,
	   "a new mapping where it was: nothing locked, no fault trouble");
	munmap(p, LEN);

	p = anon(LEN);
	ok(mlock(p, LEN) == 0 &&
	   syscall(SYS_mprotect, p, LEN, PROT_READ) == 0,
	   "mlock, then syscall(SYS_mprotect, PROT_READ)");
	sigaction(SIGSEGV, &sa, NULL);
	wrote = 0;
	if (sigsetjmp(jb, 1) == 0) {
		((volatile char *)p)[5 * probe_page_size()] = 1;
		wrote = 1;
	}
	ok(!wrote, "a write after the raw mprotect(PROT_READ) faults");
	signal(SIGSEGV, SIG_DFL);
	ok(p[6 * probe_page_size()] == 0, "and a read sees zero");
	munmap(p, LEN);

	r = syscall(SYS_mlockall, MCL_CURRENT | MCL_FUTURE);
	p = anon(LEN);
	ok(r == 0 && touched_locked(p, LEN) == kb3,
	   "syscall(SYS_mlockall): a new mapping, %ld kB locked",
	   probe_locked_kb(p, LEN));
	ok(syscall(SYS_munlockall) == 0, "syscall(SYS_munlockall)");
	munmap(p, LEN);
	errno = 0;
	ok(syscall(SYS_mlockall, 0) == -1 && errno == EINVAL,
	   "syscall(SYS_mlockall, 0): EINVAL");

#if defined(SYS_mmap2)
	r = syscall(SYS_mmap2, NULL, LEN, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0);
#else
	r = syscall(SYS_mmap, NULL, LEN, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0);
#endif
	p = (char *)r;
	ok(r != -1 && touched_locked(p, LEN) == kb3,
	   "syscall(SYS_mmap, MAP_LOCKED): %ld kB locked",
	   r != -1 ? probe_locked_kb(p, LEN) : -1L);
	r = syscall(SYS_mremap, p, LEN, 2 * LEN, MREMAP_MAYMOVE);
	ok(r != -1 && ((char *)r)[0] == 1,
	   "syscall(SYS_mremap): grown, data kept");
	if (r != -1)
		munmap((void *)r, 2 * LEN);
	return done();
}
