/*
 * sys.c - raw system calls, the only place the library enters the kernel
 * for memory management, signals and its own I/O.
 *
 * The libc wrappers for mmap, mlock, read and friends, and syscall()
 * itself, are names we interpose: calling them from the library would
 * recurse. So each call here enters the kernel directly (arch.h) and
 * returns the kernel's result, -errno on failure; errno is never
 * touched, and callers decide what errno the program finally sees.
 */
#include "config.h"
#include "sys.h"

#include "arch.h"

#include <errno.h>
#include <stdint.h>
#include <linux/futex.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Pad the arguments of a system call to six. */
#define RAW_N(_1, _2, _3, _4, _5, _6, _7, N, ...) N
#define RAW(...)                                                           \
	RAW_N(__VA_ARGS__, RAW6, RAW5, RAW4, RAW3, RAW2, RAW1, RAW0)(__VA_ARGS__)
#define L(x) ((long)(x))
#define RAW0(n) arch_syscall6(n, 0, 0, 0, 0, 0, 0)
#define RAW1(n, a) arch_syscall6(n, L(a), 0, 0, 0, 0, 0)
#define RAW2(n, a, b) arch_syscall6(n, L(a), L(b), 0, 0, 0, 0)
#define RAW3(n, a, b, c) arch_syscall6(n, L(a), L(b), L(c), 0, 0, 0)
#define RAW4(n, a, b, c, d) arch_syscall6(n, L(a), L(b), L(c), L(d), 0, 0)
#define RAW5(n, a, b, c, d, e)                                             \
	arch_syscall6(n, L(a), L(b), L(c), L(d), L(e), 0)
#define RAW6(n, a, b, c, d, e, f)                                          \
	arch_syscall6(n, L(a), L(b), L(c), L(d), L(e), L(f))

long sys_mmap(void *addr, size_t len, int prot, int flags, int fd,
	      off64_t off)
{
#ifdef SYS_mmap2
	/* 32-bit: mmap2 takes the offset in 4096-byte units. */
	if (off & 4095)
		return -EINVAL;
	return RAW(SYS_mmap2, addr, len, prot, flags, fd,
		   (unsigned long)((uint64_t)off >> 12));
#else
	return RAW(SYS_mmap, addr, len, prot, flags, fd, off);
#endif
}

int sys_munmap(void *addr, size_t len)
{
	return RAW(SYS_munmap, addr, len);
}

long sys_mremap(void *old, size_t old_len, size_t new_len, int flags,
		void *new_addr)
{
	return RAW(SYS_mremap, old, old_len, new_len, flags, new_addr);
}

int sys_mprotect(void *addr, size_t len, int prot)
{
	return RAW(SYS_mprotect, addr, len, prot);
}

int sys_mlock(const void *addr, size_t len)
{
	return RAW(SYS_mlock, addr, len);
}

int sys_mlock2(const void *addr, size_t len, unsigned int flags)
{
#ifdef SYS_mlock2
	return RAW(SYS_mlock2, addr, len, flags);
#else
	return -ENOSYS;
#endif
}

int sys_munlock(const void *addr, size_t len)
{
	return RAW(SYS_munlock, addr, len);
}

int sys_mlockall(int flags)
{
	return RAW(SYS_mlockall, flags);
}

int sys_munlockall(void)
{
	return RAW(SYS_munlockall);
}

int sys_madvise(void *addr, size_t len, int advice)
{
	return RAW(SYS_madvise, addr, len, advice);
}

int sys_msync(void *addr, size_t len, int flags)
{
	return RAW(SYS_msync, addr, len, flags);
}

int sys_mincore(void *addr, size_t len, unsigned char *vec)
{
	return RAW(SYS_mincore, addr, len, vec);
}

int sys_sigprocmask(int how, const sigset_t *set, sigset_t *old)
{
	/* The kernel's sigset is 64 bits on Linux, not glibc's 1024. */
	return RAW(SYS_rt_sigprocmask, how, set, old, _NSIG / 8);
}

int sys_tgkill_self(int sig)
{
	long pid = RAW(SYS_getpid);
	long tid = RAW(SYS_gettid);

	return RAW(SYS_tgkill, pid, tid, sig);
}

void sys_async_set(sigset_t *set)
{
	sigfillset(set);
	sigdelset(set, SIGSEGV);
	sigdelset(set, SIGBUS);
	sigdelset(set, SIGILL);
	sigdelset(set, SIGFPE);
	sigdelset(set, SIGTRAP);
	sigdelset(set, SIGSYS);
}

void sys_block_async(sigset_t *saved)
{
	sigset_t set;

	sys_async_set(&set);
	sys_sigprocmask(SIG_BLOCK, &set, saved);
}

ssize_t sys_write(int fd, const void *buf, size_t len)
{
	return RAW(SYS_write, fd, buf, len);
}

ssize_t sys_read(int fd, void *buf, size_t len)
{
	return RAW(SYS_read, fd, buf, len);
}

ssize_t sys_pread(int fd, void *buf, size_t len, off_t off)
{
#if defined(__i386__)
	/* The 64-bit offset in two registers, low half first. */
	return RAW(SYS_pread64, fd, buf, len, (uint32_t)(uint64_t)off,
		   (uint32_t)((uint64_t)off >> 32));
#else
	return RAW(SYS_pread64, fd, buf, len, off);
#endif
}

int sys_open(const char *path, int flags, int mode)
{
	return RAW(SYS_openat, AT_FDCWD, path, flags | O_CLOEXEC, mode);
}

int sys_close(int fd)
{
	return RAW(SYS_close, fd);
}

long sys_file_size(const char *path)
{
#ifdef SYS_newfstatat
	struct stat st;
	long r = RAW(SYS_newfstatat, AT_FDCWD, path, &st, 0);
#else
	/* 32-bit: glibc's struct stat64 is the kernel's. */
	struct stat64 st;
	long r = RAW(SYS_fstatat64, AT_FDCWD, path, &st, 0);
#endif

	return r < 0 ? r : (long)st.st_size;
}

int sys_futex_wait(unsigned int *addr, unsigned int val, long ns)
{
	struct timespec ts = { ns / 1000000000L, ns % 1000000000L };

	return RAW(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, &ts);
}

void sys_futex_wake(unsigned int *addr)
{
	RAW(SYS_futex, addr, FUTEX_WAKE_PRIVATE, 0x7fffffff);
}

unsigned long sys_read_ulong(const char *path)
{
	char buf[32];
	unsigned long v = 0;
	int fd = sys_open(path, O_RDONLY, 0);
	ssize_t n;

	if (fd < 0)
		return 0;
	n = sys_read(fd, buf, sizeof(buf) - 1);
	sys_close(fd);
	for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; i++)
		v = v * 10 + (unsigned long)(buf[i] - '0');
	return v;
}

int sys_sched_yield(void)
{
	return RAW(SYS_sched_yield);
}

pid_t sys_getpid(void)
{
	return RAW(SYS_getpid);
}

size_t lof_page_size = 4096;
unsigned int lof_page_shift = 12;

void lof_page_init(void)
{
	lof_page_size = (size_t)sysconf(_SC_PAGESIZE);
	lof_page_shift = (unsigned int)__builtin_ctzl(lof_page_size);
}

int (*sys_vdso_clock_gettime)(clockid_t, struct timespec *);

long long sys_clock_ns(void)
{
	struct timespec ts;

	/*
	 * libc's clock_gettime (the vDSO: no system call) as resolved at
	 * init; the name itself is one we interpose.
	 */
	if (sys_vdso_clock_gettime)
		sys_vdso_clock_gettime(CLOCK_MONOTONIC, &ts);
	else
		RAW(SYS_clock_gettime, CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}
