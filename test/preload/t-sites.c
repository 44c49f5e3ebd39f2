/*
 * t-sites.c - the report by lock call site (liblockonfault(7)
 * STATISTICS, site= lines) and lof_sites_get().
 *
 * The test re-executes itself as a worker, with LOCKONFAULT_STATS set
 * to a file, so that the worker's report at exit can be read. The
 * worker locks from four functions of its own:
 *   lock_big     mlock() of 64 MiB, twice (two calls, one site), and
 *                touches 1 MiB of it;
 *   lock_mid     mlock2(flags 0) of 16 MiB, touches 4 MiB;
 *   lock_mapped  mmap(MAP_LOCKED) of 8 MiB, touches 2 MiB;
 *   lock_api     lof_lock_onfault() of 2 MiB, touches 512 KiB;
 * then prints, per site, what lof_sites_get() says and what the kernel
 * says of the range (smaps Rss: and Locked:), and exits. The parent
 * checks the API figures and the report's lines against the kernel's
 * and against the bytes touched: exact, within two pages, except where
 * the engine emulates lock-on-fault (sim43), whose batches are locked
 * whole when opened: there the kernel's figures are the truth and the
 * touched bytes a lower bound.
 *
 * A second worker calls mlockall(MCL_CURRENT) from lock_all: its site
 * asks for VmSize at the call, and is given what is locked beyond the
 * other sites.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lockonfault.h"
#include "probe.h"
#include "tap.h"

#define MIB (1024UL * 1024UL)
#define NOINLINE __attribute__((noinline, noclone))

static int (*sites_get)(struct lof_site *, size_t, size_t);
static int (*lock_onfault)(const void *, size_t);

struct want {
	const char *fn;
	const char *call;
	unsigned long calls;
	size_t asked, touched;
	char *addr;
	size_t len;
};

static struct want wants[] = {
	{ "lock_big", "mlock", 2, 128 * MIB, 1 * MIB, NULL, 64 * MIB },
	{ "lock_mid", "mlock2", 1, 16 * MIB, 4 * MIB, NULL, 16 * MIB },
	{ "lock_mapped", "mmap", 1, 8 * MIB, 2 * MIB, NULL, 8 * MIB },
	{ "lock_api", "lof_lock_onfault", 1, 2 * MIB, MIB / 2, NULL, 2 * MIB },
};

static char *anon(size_t len, int flags)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);

	if (p == MAP_FAILED) {
		fprintf(stderr, "mmap: %s\n", strerror(errno));
		exit(2);
	}
	return p;
}

static void touch(char *p, size_t len)
{
	for (size_t i = 0; i < len; i += probe_page_size())
		p[i] = 1;
}

static volatile int twice = 2;

static NOINLINE char *lock_big(void)
{
	char *p = anon(64 * MIB, 0);

	for (int i = 0; i < twice; i++)	/* one call site, two calls */
		if (mlock(p, 64 * MIB))
			exit(3);
	touch(p, MIB);
	return p;
}

static NOINLINE char *lock_mid(void)
{
	char *p = anon(16 * MIB, 0);

	if (mlock2(p, 16 * MIB, 0))
		exit(3);
	touch(p, 4 * MIB);
	return p;
}

static NOINLINE char *lock_mapped(void)
{
	char *p = mmap(NULL, 8 * MIB, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0);

	if (p == MAP_FAILED)
		exit(3);
	touch(p, 2 * MIB);
	return p;
}

static NOINLINE char *lock_api(void)
{
	char *p = anon(2 * MIB, 0);

	if (lock_onfault(p, 2 * MIB))
		exit(3);
	touch(p, MIB / 2);
	return p;
}

static NOINLINE int lock_all(void)
{
	int r = mlockall(MCL_CURRENT);

	touch(anon(MIB, 0), MIB);	/* not locked: no MCL_FUTURE */
	return r;
}

/* The worker: lock, report through the API, exit (the report). */
static int worker(void)
{
	struct lof_site s[16];
	int n;

	wants[0].addr = lock_big();
	wants[1].addr = lock_mid();
	wants[2].addr = lock_mapped();
	wants[3].addr = lock_api();
	n = sites_get(s, 16, sizeof(s[0]));
	printf("api n=%d count=%d\n", n, sites_get(NULL, 0, sizeof(s[0])));
	for (int i = 0; i < n && i < 16; i++)
		printf("api i=%d call=%u function=%s object=%s calls=%lu asked=%lu touched=%lu locked=%lu size=%u\n",
		       i, s[i].call, s[i].function[0] ? s[i].function : "?",
		       s[i].object[0] ? s[i].object : "?",
		       (unsigned long)s[i].calls,
		       (unsigned long)s[i].asked_bytes,
		       (unsigned long)s[i].touched_bytes,
		       (unsigned long)s[i].locked_bytes, s[i].size);
	/*
	 * The kernel's view of each range, page by page, read apart from
	 * the library: present (pagemap), and present and mlocked
	 * (kpageflags, root only: -1 otherwise).
	 */
	for (size_t i = 0; i < sizeof(wants) / sizeof(wants[0]); i++) {
		long present = 0, locked = 0;
		size_t pg = probe_page_size();

		for (size_t o = 0; o < wants[i].len; o += pg) {
			int l = probe_page_locked(wants[i].addr + o);

			present += probe_present(wants[i].addr + o) == 1;
			locked = l < 0 || locked < 0 ? -1 : locked + l;
		}
		printf("kernel fn=%s rss_kb=%ld locked_kb=%ld\n", wants[i].fn,
		       present * (long)pg / 1024,
		       locked < 0 ? -1 : locked * (long)pg / 1024);
	}
	fflush(stdout);
	return 0;
}

static int worker_all(void)
{
	long vm = probe_status_kb("VmSize:");

	printf("vmsize_kb=%ld\n", vm);
	printf("mlockall=%d\n", lock_all());
	fflush(stdout);
	return 0;
}

/* ------------------------------------------------------------------ */
/* The checker                                                         */
/* ------------------------------------------------------------------ */

static char out[65536], report[65536];

static void slurp(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "re");
	size_t n = 0;

	buf[0] = '\0';
	if (!f)
		return;
	n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
	fclose(f);
}

/* Run this program with arg, stdout to out, report to report. */
static int run(char *self, const char *arg, const char *dir)
{
	char rpath[4096], opath[4096];
	pid_t pid;
	int status;

	snprintf(rpath, sizeof(rpath), "%s/report", dir);
	snprintf(opath, sizeof(opath), "%s/out", dir);
	unlink(rpath);
	pid = fork();
	if (pid < 0)
		bail("fork: %s", strerror(errno));
	if (pid == 0) {
		int fd = open(opath, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd < 0 || dup2(fd, 1) < 0)
			_exit(98);
		setenv("LOCKONFAULT_STATS", rpath, 1);
		execl(self, self, arg, (char *)NULL);
		_exit(99);
	}
	if (waitpid(pid, &status, 0) != pid)
		bail("waitpid: %s", strerror(errno));
	slurp(opath, out, sizeof(out));
	slurp(rpath, report, sizeof(report));
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The line of text starting with head and containing needle, or NULL. */
static const char *find_line(const char *text, const char *head,
			     const char *needle, char *line, size_t size)
{
	for (const char *p = text; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		if (len < size && !strncmp(p, head, strlen(head))) {
			memcpy(line, p, len);
			line[len] = '\0';
			if (!needle || strstr(line, needle))
				return line;
		}
		p = nl ? nl + 1 : NULL;
	}
	return NULL;
}

/* The value of " key=" in line as a number, or -1. */
static long num(const char *line, const char *key)
{
	char k[64];
	const char *p;

	snprintf(k, sizeof(k), " %s=", key);
	p = line ? strstr(line, k) : NULL;
	return p ? strtol(p + strlen(k), NULL, 10) : -1;
}

static int near(long got, long want, long slack)
{
	return got >= want - slack && got <= want + slack;
}

int main(int argc, char **argv)
{
	char dir[2048], line[2048], kline[512], need[128];
	long pgkb;
	int emulated, rc;

	sites_get = (int (*)(struct lof_site *, size_t, size_t))dlsym(
		RTLD_DEFAULT, "lof_sites_get");
	lock_onfault = (int (*)(const void *, size_t))dlsym(
		RTLD_DEFAULT, "lof_lock_onfault");
	if (argc > 1 && !strcmp(argv[1], "--worker"))
		return sites_get && lock_onfault ? worker() : 97;
	if (argc > 1 && !strcmp(argv[1], "--worker-all"))
		return worker_all();

	plan(0);
	probe_require_preloaded();
	if (!sites_get)
		bail("lof_sites_get not exported");
	if (probe_tmpdir(dir, sizeof(dir), "sites"))
		bail("no temporary directory");
	emulated = probe_emulated();
	pgkb = (long)probe_page_size() / 1024;
	diag("engine %s%s", probe_engine(), emulated ? ", emulated" : "");

	rc = run(argv[0], "--worker", dir);
	if (!ok(rc == 0, "worker ran (status %d)", rc))
		diag("out: %s", out);
	ok(num(find_line(out, "api n=", NULL, line, sizeof(line)), "n") == 4 &&
		   num(line, "count") == 4,
	   "lof_sites_get: 4 sites, also counted with n = 0");
	ok(find_line(report, "lockonfault: sites=4", NULL, line,
		     sizeof(line)) != NULL, "report: sites=4");
	ok(find_line(report, "lockonfault: sites_method=pagemap", NULL, line,
		     sizeof(line)) != NULL, "report: sites_method=pagemap");

	for (size_t i = 0; i < sizeof(wants) / sizeof(wants[0]); i++) {
		const struct want *w = &wants[i];
		long krss, klck, touched = (long)(w->touched / 1024);
		const char *api, *rep;
		char aline[2048];

		snprintf(need, sizeof(need), " function=%s+", w->fn);
		api = find_line(out, "api i=", need, aline, sizeof(aline));
		rep = find_line(report, "lockonfault: site=", need, line,
				sizeof(line));
		snprintf(need, sizeof(need), "kernel fn=%s ", w->fn);
		find_line(out, need, NULL, kline, sizeof(kline));
		krss = num(kline, "rss_kb");
		klck = num(kline, "locked_kb");
		if (!ok(api && rep, "%s: named by the API and the report",
			w->fn)) {
			diag("out: %s", out);
			diag("report: %s", report);
			continue;
		}
		diag("%s", rep);
		snprintf(need, sizeof(need), " call=%s ", w->call);
		ok(strstr(rep, need) != NULL && strstr(rep, "/t-sites "),
		   "%s: call=%s, object t-sites", w->fn, w->call);
		ok(num(rep, "calls") == (long)w->calls &&
			   num(api, "calls") == (long)w->calls,
		   "%s: calls=%lu", w->fn, w->calls);
		ok(num(rep, "asked_kb") == (long)(w->asked / 1024) &&
			   num(api, "asked") == (long)w->asked,
		   "%s: asked %lu kB (report %ld)", w->fn, w->asked / 1024,
		   num(rep, "asked_kb"));
		ok(near(num(rep, "touched_kb"), krss, 2 * pgkb) &&
			   (klck < 0 ||
			    near(num(rep, "locked_kb"), klck, 2 * pgkb)),
		   "%s: touched %ld, locked %ld kB: the kernel's present %ld, mlocked %ld (kpageflags)",
		   w->fn, num(rep, "touched_kb"), num(rep, "locked_kb"), krss,
		   klck);
		ok(near(num(api, "touched") / 1024, num(rep, "touched_kb"), 0) &&
			   near(num(api, "locked") / 1024,
				num(rep, "locked_kb"), 0),
		   "%s: the API's figures are the report's", w->fn);
		if (emulated)
			ok(num(rep, "locked_kb") >= touched - 2 * pgkb,
			   "%s: locked %ld kB >= touched %ld kB (batches are locked whole)",
			   w->fn, num(rep, "locked_kb"), touched);
		else
			ok(near(num(rep, "touched_kb"), touched, 2 * pgkb) &&
				   near(num(rep, "locked_kb"), touched,
					2 * pgkb),
			   "%s: touched and locked are the %ld kB touched",
			   w->fn, touched);
	}
	ok(find_line(report, "lockonfault: site=1 ", " function=lock_big+",
		     line, sizeof(line)) != NULL,
	   "the largest asked (lock_big) is site 1");
	ok(find_line(report, "lockonfault: summary=asked to lock 154 MiB; ",
		     " locked (", line, sizeof(line)) != NULL,
	   "summary: %s", find_line(report, "lockonfault: summary=", NULL,
				    line, sizeof(line)) ? line : "(none)");

	/* mlockall. */
	rc = run(argv[0], "--worker-all", dir);
	ok(rc == 0 && find_line(out, "mlockall=0", NULL, line, sizeof(line)),
	   "mlockall worker ran, mlockall returned 0 (status %d)", rc);
	{
		long vm = strtol(strstr(out, "vmsize_kb=") ?
				 strstr(out, "vmsize_kb=") + 10 : "0", NULL, 10);
		const char *rep = find_line(report, "lockonfault: site=",
					    " function=lock_all+", line,
					    sizeof(line));

		if (rep)
			diag("%s", rep);
		ok(rep && strstr(rep, " call=mlockall ") &&
			   num(rep, "calls") == 1,
		   "mlockall: named lock_all, call=mlockall");
		ok(rep && near(num(rep, "asked_kb"), vm, vm / 10 + 1024),
		   "mlockall: asked %ld kB, VmSize %ld kB at the call",
		   num(rep, "asked_kb"), vm);
		ok(rep && num(rep, "locked_kb") > 0 &&
			   num(rep, "locked_kb") <= num(rep, "touched_kb"),
		   "mlockall: 0 < locked %ld <= touched %ld kB",
		   num(rep, "locked_kb"), num(rep, "touched_kb"));
	}
	snprintf(line, sizeof(line), "rm -rf '%.2000s'", dir);
	if (system(line))
		diag("could not remove %s", dir);
	return done();
}
