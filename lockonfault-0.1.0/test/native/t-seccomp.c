/*
 * t-seccomp.c - each engine on a kernel that refuses the ONFAULT flags:
 * auto (the default) falls back to the sigsegv engine and says so at
 * info level, and memory is still locked on touch; native passes the
 * lock calls on unchanged (eager, as without the library) and warns
 * once; sigsegv locks on touch.
 *
 * A kernel before 4.4 answers mlock2() with ENOSYS and MLOCK_ONFAULT or
 * MCL_ONFAULT with EINVAL. A child makes this kernel do the same with a
 * hand-written seccomp filter (no new privileges needed beyond
 * PR_SET_NO_NEW_PRIVS): mlock2 with MLOCK_ONFAULT and mlockall with
 * MCL_ONFAULT fail with EINVAL, or in a second run with ENOSYS; every
 * other call is allowed. It then execs the demo with the library
 * preloaded, under each LOCKONFAULT_ENGINE.
 *
 * This program is not preloaded itself (it lives outside test/preload).
 * Environment: LOF_TOP_BUILDDIR (where src/.libs and bench/demo are).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../preload/tap.h"

#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 1
#endif
#ifndef MCL_ONFAULT
#define MCL_ONFAULT 4
#endif

#if defined(__x86_64__)
#define ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define ARCH AUDIT_ARCH_AARCH64
#endif

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define LOW(i) offsetof(struct seccomp_data, args[i])
#else
#define LOW(i) (offsetof(struct seccomp_data, args[i]) + 4)
#endif

#define DEMO_SIZE "64M"
#define DEMO_TOUCH "1M"
#define DEMO_KB (64 * 1024)

#ifdef ARCH
/* Refuse mlock2(MLOCK_ONFAULT) and mlockall(MCL_ONFAULT) with err. */
static int refuse_onfault(int err)
{
	struct sock_filter f[] = {
		/* 0 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
				 offsetof(struct seccomp_data, arch)),
		/* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ARCH, 0, 7),
		/* 2 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
				 offsetof(struct seccomp_data, nr)),
		/* 3 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mlock2, 0, 2),
		/* 4 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, LOW(2)),
		/* 5 */ BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, MLOCK_ONFAULT, 4, 3),
		/* 6 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mlockall, 0, 2),
		/* 7 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, LOW(0)),
		/* 8 */ BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, MCL_ONFAULT, 1, 0),
		/* 9 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		/* 10 */ BPF_STMT(BPF_RET | BPF_K,
				  SECCOMP_RET_ERRNO | (err & SECCOMP_RET_DATA)),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -1;
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
}

/*
 * The control: under the filter, the kernel itself refuses the flags
 * with err and still takes the calls without them. Exit status: a bit
 * per broken expectation.
 */
static int control(int err)
{
	size_t len = 1 << 20;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int bad = 0;

	if (p == MAP_FAILED || refuse_onfault(err))
		return 64;
	errno = 0;
	if (syscall(SYS_mlock2, p, len, MLOCK_ONFAULT) != -1 || errno != err)
		bad |= 1;
	errno = 0;
	if (syscall(SYS_mlockall, MCL_CURRENT | MCL_ONFAULT) != -1 ||
	    errno != err)
		bad |= 2;
	if (syscall(SYS_mlock2, p, len, 0) != 0)
		bad |= 4;
	return bad;
}

/* Read a whole small file into buf. */
static void slurp(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "re");
	size_t n = f ? fread(buf, 1, size - 1, f) : 0;

	buf[n] = '\0';
	if (f)
		fclose(f);
}

static long value(const char *text, const char *key)
{
	const char *p = strstr(text, key);

	return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

/*
 * Run the demo under the filter, with the library or without, and put
 * its stdout and stderr in out and err. engine: LOCKONFAULT_ENGINE's
 * value, NULL to leave it unset (auto); log: LOCKONFAULT_LOG's, NULL for
 * the default (warn). Return: the demo's wait status.
 */
static int demo(int err, int preload, const char *engine, const char *log,
		char *out, char *errbuf, size_t size)
{
	const char *top = getenv("LOF_TOP_BUILDDIR");
	char dir[] = "/tmp/lof-seccomp.XXXXXX", o[64], e[64], lib[4096],
	     prog[4096], eng[64], lvl[64];
	pid_t pid;
	int st;

	if (!top)
		top = ".";
	if (!mkdtemp(dir))
		bail("mkdtemp: %s", strerror(errno));
	snprintf(o, sizeof(o), "%s/out", dir);
	snprintf(e, sizeof(e), "%s/err", dir);
	snprintf(lib, sizeof(lib), "LD_PRELOAD=%s/src/.libs/liblockonfault.so", top);
	snprintf(prog, sizeof(prog), "%s/bench/demo", top);
	snprintf(eng, sizeof(eng), "LOCKONFAULT_ENGINE=%s", engine ? engine : "");
	snprintf(lvl, sizeof(lvl), "LOCKONFAULT_LOG=%s", log ? log : "");
	pid = fork();
	if (pid == 0) {
		char *argv[] = { prog, "-s", DEMO_SIZE, "-t", DEMO_TOUCH, "-q",
				 NULL };
		char *env[5] = { NULL };
		int ne = 0;
		int fo = open(o, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int fe = open(e, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (fo < 0 || fe < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0)
			_exit(120);
		if (refuse_onfault(err))
			_exit(121);
		if (preload) {
			env[ne++] = lib;
			env[ne++] = "LOCKONFAULT_STATS=1";
			if (engine)
				env[ne++] = eng;
			if (log)
				env[ne++] = lvl;
		}
		execve(prog, argv, env);
		_exit(122);
	}
	waitpid(pid, &st, 0);
	slurp(o, out, size);
	slurp(e, errbuf, size);
	unlink(o);
	unlink(e);
	rmdir(dir);
	return st;
}

/* How many times needle occurs in hay. */
static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = strstr(hay, needle); p;
	     p = strstr(p + strlen(needle), needle))
		n++;
	return n;
}

/*
 * The demo under the library, engine engine (NULL: auto), must lock on
 * touch through the sigsegv engine: the report says engine=sigsegv and
 * emulation=1 (no MLOCK_ONFAULT: the engine supplies it, with ranges
 * VM_LOCKED by plain mlock, so batch_lock=0), the handler took faults,
 * and only about what was touched is locked.
 */
static void locks_on_touch(int err, const char *name, const char *label,
			   const char *engine, char *out, char *errbuf,
			   size_t size)
{
	long locked;
	int st;

	st = demo(err, 1, engine, "info", out, errbuf, size);
	locked = value(out, "locked_kb=");
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0 && strstr(out, "ok=1"),
	   "%s: %s: the demo runs and verifies its data (status %#x)",
	   name, label, st);
	ok(strstr(errbuf, "lockonfault: engine=sigsegv\n") &&
	   strstr(errbuf, "lockonfault: batch_lock=0\n") &&
	   strstr(errbuf, "lockonfault: emulation=1\n") &&
	   value(errbuf, "lockonfault: faults=") > 0,
	   "%s: %s: the report says engine=sigsegv, emulation=1, faults %ld",
	   name, label, value(errbuf, "lockonfault: faults="));
	ok(locked >= 1024 && locked < DEMO_KB / 2,
	   "%s: %s: locking works, on touch: %ld kB locked of %d (1024 touched)",
	   name, label, locked, DEMO_KB);
	ok(value(errbuf, "lockonfault: locked_kb=") == locked,
	   "%s: %s: the report's locked_kb equals the demo's smaps Locked:",
	   name, label);
}

static void run(int err, const char *name)
{
	static char out[4096], errbuf[16384];
	const char *why;
	long locked;
	pid_t pid;
	int st, fails = tap_failed;

	pid = fork();
	if (pid == 0)
		_exit(control(err));
	waitpid(pid, &st, 0);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	   "%s: under the filter the kernel refuses MLOCK_ONFAULT and MCL_ONFAULT with %s, takes mlock2(0) (status %#x)",
	   name, name, st);

	st = demo(err, 0, NULL, NULL, out, errbuf, sizeof(out));
	locked = value(out, "locked_kb=");
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0 && locked == DEMO_KB,
	   "%s: without the library the demo's mlock locks all %d kB (%ld)",
	   name, DEMO_KB, locked);

	/* auto, the default: the sigsegv engine supplies MLOCK_ONFAULT. */
	locks_on_touch(err, name, "auto", NULL, out, errbuf, sizeof(out));
	why = err == ENOSYS ?
	      "lockonfault: engine sigsegv: auto: the kernel has no mlock2" :
	      "lockonfault: engine sigsegv: auto: the kernel refuses MLOCK_ONFAULT";
	ok(strstr(errbuf, why) != NULL,
	   "%s: auto: the fallback to the sigsegv engine is said at info level (\"%s\")",
	   name, why);
	ok(!strstr(errbuf, "passes lock calls on unchanged"),
	   "%s: auto: no warning that calls pass unchanged", name);

	/* sigsegv, asked for: the same. */
	locks_on_touch(err, name, "sigsegv", "sigsegv", out, errbuf,
		       sizeof(out));

	/*
	 * native: kernel flags only. Without them the calls go to the
	 * kernel unchanged, so mlock is eager, as without the library;
	 * one warning at the default level says so.
	 */
	st = demo(err, 1, "native", NULL, out, errbuf, sizeof(out));
	locked = value(out, "locked_kb=");
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0 && strstr(out, "ok=1"),
	   "%s: native: the demo runs and verifies its data (status %#x)",
	   name, st);
	ok(locked == DEMO_KB,
	   "%s: native: lock calls pass on unchanged: all %d kB locked (%ld)",
	   name, DEMO_KB, locked);
	ok(count(errbuf, "LOCKONFAULT_ENGINE=native passes lock calls on unchanged") == 1,
	   "%s: native: one warning, at the default level, that lock calls pass on unchanged (%d)",
	   name, count(errbuf, "LOCKONFAULT_ENGINE=native passes lock calls on unchanged"));
	ok(strstr(errbuf, "lockonfault: engine=off\n") &&
	   value(errbuf, "lockonfault: faults=") == 0 &&
	   value(errbuf, "lockonfault: locked_kb=") == locked,
	   "%s: native: the report says engine=off, no fault, locked_kb as the demo's",
	   name);
	if (tap_failed != fails)
		diag("stderr: %s", errbuf);
}
#endif

int main(void)
{
	plan(0);
#ifdef ARCH
	run(EINVAL, "EINVAL");
	run(ENOSYS, "ENOSYS");
#else
	skip(1, "no seccomp architecture constant for this machine");
#endif
	return done();
}
