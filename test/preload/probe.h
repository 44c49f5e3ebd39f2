/*
 * probe.h - read the kernel's truth about this process's memory.
 *
 * The preload tests never trust the library's own view: they read
 * /proc/self/smaps (Locked:, Rss:, VmFlags), /proc/self/maps (protection,
 * mapping count), /proc/self/status (VmLck:), /proc/self/pagemap (present
 * bit) and /proc/kpageflags (UNEVICTABLE, MLOCKED; root only). None of
 * these reads touch the memory they describe, so probing a pending page
 * never resolves it.
 *
 * Everything here runs outside signal handlers: stdio and malloc are fine.
 */
#ifndef LOF_PROBE_H
#define LOF_PROBE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

/* The kernel's lock-on-fault flags, for headers older than Linux 4.4. */
#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 1
#endif
#ifndef MCL_ONFAULT
#define MCL_ONFAULT 4
#endif

/* Bits of /proc/kpageflags (include/uapi/linux/kernel-page-flags.h). */
#define PROBE_KPF_UNEVICTABLE	18
#define PROBE_KPF_MLOCKED	33
/* probe_kpageflags() when the flags cannot be read or the page is absent. */
#define PROBE_KPF_NONE		(~(uint64_t)0)

size_t probe_page_size(void);

/*
 * Sum of a /proc/self/smaps field (e.g. "Locked:", "Rss:"), in kB, over
 * the VMAs that intersect [addr, addr + len). -1 if smaps cannot be read.
 */
long probe_smaps_kb(const void *addr, size_t len, const char *field);
long probe_locked_kb(const void *addr, size_t len);
long probe_rss_kb(const void *addr, size_t len);

/*
 * 1 if the VmFlags of the VMA containing addr has the two-letter flag
 * (e.g. "lo", "lf"), 0 if not, -1 if no VMA contains addr.
 */
int probe_vmflag(const void *addr, const char *flag);

/*
 * Copies the permissions ("rw-p") of the VMA containing addr from
 * /proc/self/maps into perms[5]. 0 on success, -1 if no VMA contains addr.
 */
int probe_perms(const void *addr, char perms[5]);

/* A field of /proc/self/status in kB (e.g. "VmLck:"), -1 on error. */
long probe_status_kb(const char *field);

/* Number of lines of /proc/self/maps (the process's mapping count). */
int probe_map_count(void);

/* 1 if the page of addr is present (pagemap bit 63), 0 if not, -1 on error. */
int probe_present(const void *addr);

/*
 * The /proc/kpageflags word of the page mapped at addr (pagemap PFN, root
 * only), or PROBE_KPF_NONE if it is absent or cannot be read.
 */
uint64_t probe_kpageflags(const void *addr);

/*
 * 1 if the page at addr is present and mlocked (KPF_MLOCKED or
 * KPF_UNEVICTABLE), 0 if it is absent or present and not locked, -1 if
 * the flags cannot be read (not root).
 */
int probe_page_locked(const void *addr);

/*
 * 1 if the mlock the program calls resolves into a library whose path
 * contains "liblockonfault" (dlsym(RTLD_DEFAULT) + dladdr), 0 if not.
 */
int probe_preloaded(void);

/*
 * Prints "Bail out!" and exits unless the library is preloaded, so a test
 * can never pass without it. Built with -DPROBE_ALLOW_NATIVE (for
 * developing the tests against the bare kernel) it only prints a note.
 */
void probe_require_preloaded(void);

/*
 * The engine the preloaded library really runs: "native" (lock calls go
 * to the kernel with MLOCK_ONFAULT/MCL_ONFAULT, nothing is protected),
 * "sigsegv" (table, PROT_NONE, fault handler) or "off". Asks the
 * library's lof_engine() when it has one; an older library is judged by
 * LOCKONFAULT_ENGINE: "native" or "off" as named, anything else sigsegv.
 */
const char *probe_engine(void);

/* 1 if probe_engine() is "native", 0 if not. */
int probe_native(void);

/*
 * 1 if the page at addr is pending lock-on-fault as the running engine
 * leaves it, 0 if not: for sigsegv, protected "---p" in maps; for
 * native, what the kernel's own MLOCK_ONFAULT gives: the protection the
 * program asked for (prot, e.g. "rw-p"), VmFlags lo and lf, and the
 * page absent. Only for pages nobody touched since the lock call.
 */
int probe_pending(const void *addr, const char *prot);

/*
 * As probe_pending, for a read-write page written before the lock call
 * (so present): "---p" under sigsegv; under native the kernel locked it
 * at once: rw-p, VmFlags lo and lf.
 */
int probe_onfault_written(const void *addr);

/*
 * A file for data that must sit in pending pages: a memfd of len bytes
 * (zeros), close-on-exec. The fd, or -1 with errno set.
 */
int probe_memfd(const char *name, size_t len);

/*
 * A read-write MAP_PRIVATE mapping of fd's first len bytes: at at
 * (MAP_FIXED; whatever was there is unmapped first) or, at NULL,
 * anywhere. Its pages hold the file's data (written beforehand with
 * pwrite) but none is in this process's page tables until the program
 * touches it, so a lock call on the fresh mapping leaves every page
 * pending under every mode of the sigsegv engine: the emulation
 * (kernel without MLOCK_ONFAULT) leaves pages already present open and
 * locked, as the kernel's MLOCK_ONFAULT does, and only absent ones are
 * made PROT_NONE. Under native they are absent, lo and lf. This is how
 * a test gets data into pending pages; writing it and then locking
 * does not (under emulation the written pages stay accessible).
 * Return: the mapping, or MAP_FAILED.
 */
void *probe_map_fresh(void *at, size_t len, int fd);

/*
 * 1 if the kernel itself has lock-on-fault (the raw mlock2 system call
 * exists), 0 if it answers as Linux 4.3 does (ENOSYS: a real old kernel
 * or test/sim43/lof-kernel43's filter).
 */
int probe_kernel_onfault(void);

/*
 * 1 if lock-on-fault is emulated: the sigsegv engine over a kernel
 * without MLOCK_ONFAULT (src/sigsegv.h). A lock call then makes the
 * absent pages of a range PROT_NONE and mlock()s it (VM_LOCKED, no
 * VM_LOCKONFAULT); pages already present are locked at once and left
 * accessible; what the engine does not manage (a range under
 * LOCKONFAULT_MIN_SIZE; under mlockall, small and ineligible mappings)
 * is locked the ordinary way, populated.
 */
int probe_emulated(void);

/*
 * 1 if the VMA containing addr is locked as a lock-on-fault range is on
 * this kernel: VmFlags lo, and lf exactly when the kernel has
 * VM_LOCKONFAULT (probe_kernel_onfault()); under the emulation the
 * range is plain VM_LOCKED. 0 if not, or if no VMA contains addr.
 */
int probe_onfault_vma(const void *addr);

/*
 * Runs fn(arg) in a forked child (core dumps off, a 20 s alarm against
 * hangs) that then exits 0, and returns the child's wait status, or -1 if
 * fork or waitpid failed. Output is flushed before the fork.
 */
int probe_fork(void (*fn)(void *), void *arg);

/*
 * Wait for the child c, which made itself a process group leader
 * (setpgid(0, 0)), at most seconds; then kill its group, whatever a
 * hang left behind. The watchdog is the parent's: a deadlocked child
 * may have every signal blocked, so its own alarm() would never fire.
 * Return: 1 when it ended in time (*st its wait status), 0 when it was
 * killed (*st the status of the kill).
 */
int probe_watch(pid_t c, int seconds, int *st);

/* "exited 3", "killed by signal 11 (core dumped)"... for diagnostics. */
const char *probe_status_str(int status, char *buf, size_t n);

/* A field of /proc/self/smaps_rollup in kB (e.g. "Locked:"), -1 on error. */
long probe_rollup_kb(const char *field);

/*
 * The bounds of the VMA (one line of /proc/self/maps) containing addr.
 * 0, or -1 if no mapping contains it.
 */
int probe_vma(const void *addr, uintptr_t *start, uintptr_t *end);

/*
 * What the kernel says of one page, for comparing two ranges page by
 * page: present (pagemap), mlocked and unevictable (kpageflags: -1
 * when they cannot be read), lo (VmFlags of its VMA) and the first
 * three characters of its protection in /proc/self/maps.
 */
struct probe_page {
	int present;
	int mlocked;
	int unevictable;
	int lo;
	char perms[5];
};
void probe_page_state(const void *addr, struct probe_page *st);

/*
 * A system call straight to the kernel, through libc's own syscall()
 * (dlsym in libc.so.6): the library interposes syscall() as well, and
 * serves the lock and memory calls made through it (issue 13).
 */
long probe_raw_syscall(long nr, long a, long b, long c, long d, long e,
		       long f);

/*
 * The kernel's own calls, bypassing the library's mlock, mmap... and its
 * syscall() (probe_raw_syscall()). Same contract as libc's wrappers: -1
 * and errno on failure.
 */
int probe_sys_mlock(const void *addr, size_t len);
int probe_sys_mlock2(const void *addr, size_t len, unsigned int flags);
int probe_sys_munlock(const void *addr, size_t len);
int probe_sys_mlockall(int flags);
int probe_sys_munlockall(void);
void *probe_sys_mmap(void *addr, size_t len, int prot, int flags, int fd,
		     long off);

/*
 * Sets RLIMIT_MEMLOCK (soft and hard) to limit and becomes nobody
 * (setgroups, setresgid, setresuid 65534), so CAP_IPC_LOCK is gone and
 * the limit applies; the process stays dumpable, so it can still read
 * its own /proc files. 0, or -1 if a step failed. For forked children.
 */
int probe_become_nobody(unsigned long limit);

/* CLOCK_MONOTONIC in milliseconds. */
double probe_now_ms(void);

/*
 * A duration from environment variable name, in seconds: def if unset or
 * not positive.
 */
double probe_seconds(const char *name, double def);

/*
 * Creates a fresh directory "<base>/<tag>.XXXXXX" under $LOF_TOP_BUILDDIR
 * (or the current directory) and copies its path into buf. 0 or -1.
 */
int probe_tmpdir(char *buf, size_t n, const char *tag);

/* A small deterministic generator (xorshift64*); seed must not be 0. */
static inline uint64_t probe_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

/* A 64-bit value that depends on both arguments, never 0. */
static inline uint64_t probe_mix(uint64_t a, uint64_t b)
{
	uint64_t x = a * 0x9e3779b97f4a7c15ULL ^ (b + 0x632be59bd9b4e019ULL);

	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 29;
	return x | 1;
}

/*
 * Install fn as the program's SIGSEGV handler with SA_SIGINFO | flags
 * and SIGUSR1 in its mask (so that tests can check the mask is
 * honoured). Returns sigaction()'s result.
 */
int probe_install_segv(void (*fn)(int, siginfo_t *, void *), int flags);

#endif /* LOF_PROBE_H */
