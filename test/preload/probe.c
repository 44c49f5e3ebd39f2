/*
 * probe.c - helpers that read the kernel's view of this process's memory
 * for the preload tests: smaps fields, VmFlags, maps permissions and
 * count, smaps_rollup, pagemap presence, kpageflags lock bits, and
 * whether the library is really preloaded and which engine runs; the
 * kernel's own lock calls, and becoming nobody under a given
 * RLIMIT_MEMLOCK; file-backed data that stays pending when locked
 * (probe_memfd, probe_map_fresh). Also forking a test case into a
 * child, timing and scratch directories in the build tree. See probe.h.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "probe.h"

#define PM_PRESENT	(1ULL << 63)
#define PM_PFN_MASK	((1ULL << 55) - 1)

size_t probe_page_size(void)
{
	static size_t ps;

	if (!ps)
		ps = (size_t)sysconf(_SC_PAGESIZE);
	return ps;
}

/* Parses a VMA header line of maps/smaps; 1 if it is one. */
static int vma_header(const char *line, unsigned long *start,
		      unsigned long *end, char perms[5])
{
	char p[8];

	if (sscanf(line, "%lx-%lx %7s", start, end, p) != 3)
		return 0;
	if (perms) {
		memcpy(perms, p, 4);
		perms[4] = '\0';
	}
	return 1;
}

long probe_smaps_kb(const void *addr, size_t len, const char *field)
{
	unsigned long a = (unsigned long)addr, e = a + len;
	unsigned long start, end;
	size_t flen = strlen(field), cap = 0;
	char *line = NULL;
	int in = 0;
	long sum = 0;
	FILE *f;

	f = fopen("/proc/self/smaps", "re");
	if (!f)
		return -1;
	while (getline(&line, &cap, f) > 0) {
		if (vma_header(line, &start, &end, NULL)) {
			in = start < e && end > a;
			continue;
		}
		if (in && !strncmp(line, field, flen))
			sum += strtol(line + flen, NULL, 10);
	}
	free(line);
	fclose(f);
	return sum;
}

long probe_locked_kb(const void *addr, size_t len)
{
	return probe_smaps_kb(addr, len, "Locked:");
}

long probe_rss_kb(const void *addr, size_t len)
{
	return probe_smaps_kb(addr, len, "Rss:");
}

int probe_vmflag(const void *addr, const char *flag)
{
	unsigned long a = (unsigned long)addr, start, end;
	size_t cap = 0, flen = strlen(flag);
	char *line = NULL, *tok, *save;
	int in = 0, ret = -1;
	FILE *f;

	f = fopen("/proc/self/smaps", "re");
	if (!f)
		return -1;
	while (getline(&line, &cap, f) > 0) {
		if (vma_header(line, &start, &end, NULL)) {
			in = start <= a && a < end;
			continue;
		}
		if (!in || strncmp(line, "VmFlags:", 8))
			continue;
		ret = 0;
		for (tok = strtok_r(line + 8, " \n", &save); tok;
		     tok = strtok_r(NULL, " \n", &save))
			if (strlen(tok) == flen && !strcmp(tok, flag))
				ret = 1;
		break;
	}
	free(line);
	fclose(f);
	return ret;
}

/* The bounds and permissions of the VMA holding addr: 0, or -1. */
static int find_vma(unsigned long a, unsigned long *start, unsigned long *end,
		    char perms[5])
{
	size_t cap = 0;
	char *line = NULL;
	int ret = -1;
	FILE *f;

	f = fopen("/proc/self/maps", "re");
	if (!f)
		return -1;
	while (getline(&line, &cap, f) > 0) {
		if (vma_header(line, start, end, perms) &&
		    *start <= a && a < *end) {
			ret = 0;
			break;
		}
	}
	free(line);
	fclose(f);
	return ret;
}

int probe_perms(const void *addr, char perms[5])
{
	unsigned long start, end;

	if (find_vma((unsigned long)addr, &start, &end, perms) == 0)
		return 0;
	strcpy(perms, "none");
	return -1;
}

/* The number after "field" on its line of the file at path, or -1. */
static long file_field(const char *path, const char *field)
{
	size_t cap = 0, flen = strlen(field);
	char *line = NULL;
	long ret = -1;
	FILE *f;

	f = fopen(path, "re");
	if (!f)
		return -1;
	while (getline(&line, &cap, f) > 0) {
		if (!strncmp(line, field, flen)) {
			ret = strtol(line + flen, NULL, 10);
			break;
		}
	}
	free(line);
	fclose(f);
	return ret;
}

long probe_status_kb(const char *field)
{
	return file_field("/proc/self/status", field);
}

int probe_map_count(void)
{
	FILE *f = fopen("/proc/self/maps", "re");
	int c, n = 0;

	if (!f)
		return -1;
	while ((c = getc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

/*
 * The pagemap file must belong to the calling process: an fd opened
 * before a fork would still describe the parent, so it is reopened
 * whenever the pid changes.
 */
static int pagemap_fd(void)
{
	static int fd = -1;
	static pid_t owner;

	if (fd >= 0 && owner == getpid())
		return fd;
	if (fd >= 0)
		close(fd);
	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	owner = getpid();
	return fd;
}

static int pagemap_entry(const void *addr, uint64_t *ent)
{
	off_t off = (off_t)((uintptr_t)addr / probe_page_size()) * 8;
	int fd = pagemap_fd();

	if (fd < 0 || pread(fd, ent, 8, off) != 8)
		return -1;
	return 0;
}

int probe_present(const void *addr)
{
	uint64_t ent;

	if (pagemap_entry(addr, &ent))
		return -1;
	return !!(ent & PM_PRESENT);
}

uint64_t probe_kpageflags(const void *addr)
{
	static int kfd = -1;
	uint64_t ent, flags, pfn;

	if (pagemap_entry(addr, &ent) || !(ent & PM_PRESENT))
		return PROBE_KPF_NONE;
	pfn = ent & PM_PFN_MASK;
	if (!pfn)	/* PFNs read as 0 without CAP_SYS_ADMIN */
		return PROBE_KPF_NONE;
	if (kfd < 0)
		kfd = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
	if (kfd < 0 || pread(kfd, &flags, 8, (off_t)(pfn * 8)) != 8)
		return PROBE_KPF_NONE;
	return flags;
}

int probe_page_locked(const void *addr)
{
	uint64_t flags;
	int present = probe_present(addr);

	if (present < 0)
		return -1;
	if (!present)
		return 0;
	flags = probe_kpageflags(addr);
	if (flags == PROBE_KPF_NONE)
		return -1;
	return !!(flags & (1ULL << PROBE_KPF_MLOCKED |
			   1ULL << PROBE_KPF_UNEVICTABLE));
}

long probe_rollup_kb(const char *field)
{
	return file_field("/proc/self/smaps_rollup", field);
}

int probe_vma(const void *addr, uintptr_t *start, uintptr_t *end)
{
	unsigned long s, e;

	if (find_vma((unsigned long)addr, &s, &e, NULL))
		return -1;
	*start = s;
	*end = e;
	return 0;
}

void probe_page_state(const void *addr, struct probe_page *st)
{
	uint64_t flags;

	st->present = probe_present(addr);
	flags = st->present == 1 ? probe_kpageflags(addr) : 0;
	if (flags == PROBE_KPF_NONE) {
		st->mlocked = st->unevictable = -1;
	} else {
		st->mlocked = !!(flags & 1ULL << PROBE_KPF_MLOCKED);
		st->unevictable = !!(flags & 1ULL << PROBE_KPF_UNEVICTABLE);
	}
	st->lo = probe_vmflag(addr, "lo");
	if (probe_perms(addr, st->perms) == 0)
		st->perms[3] = '\0';
}

/*
 * libc's own syscall(): the library interposes syscall() too (a
 * program's raw lock calls are its business since issue 13), so the
 * kernel's answer is asked for through the C library's definition.
 */
long probe_raw_syscall(long nr, long a, long b, long c, long d, long e,
		       long f)
{
	static long (*raw)(long, ...);

	if (!raw) {
		void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);

		raw = libc ? (long (*)(long, ...))dlsym(libc, "syscall")
			   : NULL;
		if (!raw) {
			fprintf(stderr, "probe: no syscall() in libc.so.6\n");
			abort();
		}
	}
	return raw(nr, a, b, c, d, e, f);
}

#define RAW(nr, a, b, c, d, e, f) \
	probe_raw_syscall(nr, (long)(a), (long)(b), (long)(c), (long)(d), \
			  (long)(e), (long)(f))

int probe_sys_mlock(const void *addr, size_t len)
{
	return (int)RAW(SYS_mlock, addr, len, 0, 0, 0, 0);
}

int probe_sys_mlock2(const void *addr, size_t len, unsigned int flags)
{
	return (int)RAW(SYS_mlock2, addr, len, flags, 0, 0, 0);
}

int probe_sys_munlock(const void *addr, size_t len)
{
	return (int)RAW(SYS_munlock, addr, len, 0, 0, 0, 0);
}

int probe_sys_mlockall(int flags)
{
	return (int)RAW(SYS_mlockall, flags, 0, 0, 0, 0, 0);
}

int probe_sys_munlockall(void)
{
	return (int)RAW(SYS_munlockall, 0, 0, 0, 0, 0, 0);
}

void *probe_sys_mmap(void *addr, size_t len, int prot, int flags, int fd,
		     long off)
{
	return (void *)RAW(SYS_mmap, addr, len, prot, flags, fd, off);
}

int probe_become_nobody(unsigned long limit)
{
	struct rlimit rl = { limit, limit };

	if (setrlimit(RLIMIT_MEMLOCK, &rl) || setgroups(0, NULL) ||
	    setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
		return -1;
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	return 0;
}

int probe_preloaded(void)
{
	void *sym = dlsym(RTLD_DEFAULT, "mlock");
	Dl_info info;

	if (!sym || !dladdr(sym, &info) || !info.dli_fname)
		return 0;
	return strstr(info.dli_fname, "liblockonfault") != NULL;
}

void probe_require_preloaded(void)
{
	if (probe_preloaded())
		return;
#ifdef PROBE_ALLOW_NATIVE
	printf("# not preloaded: running against the bare kernel\n");
	fflush(stdout);
#else
	printf("Bail out! liblockonfault is not preloaded "
	       "(mlock does not resolve into it); run under run.sh\n");
	fflush(stdout);
	exit(1);
#endif
}

const char *probe_engine(void)
{
	const char *(*fn)(void) = (const char *(*)(void))
		dlsym(RTLD_DEFAULT, "lof_engine");
	const char *e;

	if (fn)
		return fn();
	e = getenv("LOCKONFAULT_ENGINE");
	if (e && strcmp(e, "native") == 0)
		return "native";
	if (e && strcmp(e, "off") == 0)
		return "off";
	return "sigsegv";
}

int probe_native(void)
{
	return strcmp(probe_engine(), "native") == 0;
}

int probe_pending(const void *addr, const char *prot)
{
	char perms[5];

	if (probe_perms(addr, perms))
		return 0;
	if (!probe_native())
		return strcmp(perms, "---p") == 0;
	return strcmp(perms, prot) == 0 && probe_vmflag(addr, "lo") == 1 &&
	       probe_vmflag(addr, "lf") == 1 && probe_present(addr) == 0;
}

int probe_onfault_written(const void *addr)
{
	char perms[5];

	if (probe_perms(addr, perms))
		return 0;
	if (!probe_native())
		return strcmp(perms, "---p") == 0;
	return strcmp(perms, "rw-p") == 0 && probe_vmflag(addr, "lo") == 1 &&
	       probe_vmflag(addr, "lf") == 1;
}

int probe_memfd(const char *name, size_t len)
{
	int fd = memfd_create(name, MFD_CLOEXEC);

	if (fd < 0)
		return -1;
	if (ftruncate(fd, (off_t)len)) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

void *probe_map_fresh(void *at, size_t len, int fd)
{
	if (at && munmap(at, len))
		return MAP_FAILED;
	return mmap(at, len, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | (at ? MAP_FIXED : 0), fd, 0);
}

int probe_kernel_onfault(void)
{
	errno = 0;
	return RAW(SYS_mlock2, NULL, 0, 0, 0, 0, 0) == 0 || errno != ENOSYS;
}

int probe_emulated(void)
{
	return strcmp(probe_engine(), "sigsegv") == 0 && !probe_kernel_onfault();
}

int probe_onfault_vma(const void *addr)
{
	return probe_vmflag(addr, "lo") == 1 &&
	       probe_vmflag(addr, "lf") == probe_kernel_onfault();
}

int probe_fork(void (*fn)(void *), void *arg)
{
	struct rlimit rl;
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (!getrlimit(RLIMIT_CORE, &rl)) {
			rl.rlim_cur = 0;
			setrlimit(RLIMIT_CORE, &rl);
		}
		alarm(20);
		fn(arg);
		fflush(NULL);
		_exit(0);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return status;
}

const char *probe_status_str(int status, char *buf, size_t n)
{
	if (status == -1)
		snprintf(buf, n, "fork/wait failed");
	else if (WIFEXITED(status))
		snprintf(buf, n, "exited %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, n, "killed by signal %d (%s)%s", WTERMSIG(status),
			 strsignal(WTERMSIG(status)),
			 WCOREDUMP(status) ? " (core dumped)" : "");
	else
		snprintf(buf, n, "status 0x%x", status);
	return buf;
}

double probe_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

double probe_seconds(const char *name, double def)
{
	const char *env = getenv(name);
	double s = env ? atof(env) : def;

	return s > 0 ? s : def;
}

int probe_tmpdir(char *buf, size_t n, const char *tag)
{
	const char *base = getenv("LOF_TOP_BUILDDIR");

	if (!base || !*base)
		base = ".";
	if ((size_t)snprintf(buf, n, "%s/%s.XXXXXX", base, tag) >= n)
		return -1;
	return mkdtemp(buf) ? 0 : -1;
}

int probe_install_segv(void (*fn)(int, siginfo_t *, void *), int flags)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = fn;
	sa.sa_flags = SA_SIGINFO | flags;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGUSR1);
	return sigaction(SIGSEGV, &sa, NULL);
}

int probe_watch(pid_t c, int seconds, int *st)
{
	int done = 0;

	setpgid(c, c);
	for (int i = 0; i < seconds * 10 && !done; i++) {
		done = waitpid(c, st, WNOHANG) == c;
		if (!done)
			usleep(100000);
	}
	kill(-c, SIGKILL);
	if (!done)
		waitpid(c, st, 0);
	return done;
}
