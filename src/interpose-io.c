/*
 * interpose-io.c - calls whose buffers the kernel reads or writes.
 *
 * When the kernel touches a pending (PROT_NONE) page for a system call,
 * no signal comes: the call fails with EFAULT, and for a socket or a
 * pipe the data read is lost. Each function here opens the pending
 * pages of its buffers (engine_resolve) before calling libc's own
 * version, never after a failure. A buffer outside every managed
 * region costs one lock-free table lookup.
 *
 * stdio: fread and fwrite hand large transfers straight to read(2) and
 * write(2) on the caller's buffer from inside libc, where no
 * interposer sees them, so the caller's buffer is opened here.
 */
#include "config.h"

#include <dlfcn.h>
#include <dirent.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "interpose.h"
#include "sigchain.h"
#include "sys.h"

/* libc's version: resolved by interpose_io_init(), or on a call before. */
#define REAL(name)                                                         \
	({                                                                 \
		if (!real_##name)                                          \
			real_##name = (__typeof__(real_##name))dlsym(      \
				RTLD_NEXT, #name);                         \
		real_##name;                                               \
	})

/* The opening of a buffer, as the address the kernel will be given. */
#define OPEN(p, n) engine_resolve((uintptr_t)(p), (n))
/* ... for a buffer the kernel only reads (engine_resolve_in). */
#define OPEN_IN(p, n) engine_resolve_in((uintptr_t)(p), (n))
/* The same for a path name (resolve-str.c). */
#define PATH(p) engine_resolve_str((p), PATH_MAX)

ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen);
ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags);
ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off, size_t buflen);
ssize_t __pread64_chk(int fd, void *buf, size_t n, off64_t off, size_t buflen);
ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
		       struct sockaddr *addr, socklen_t *alen);
size_t __fread_chk(void *buf, size_t buflen, size_t size, size_t n, FILE *f);
char *__fgets_chk(char *s, size_t size, int n, FILE *f);

static ssize_t (*real_read)(int, void *, size_t);
static ssize_t (*real___read_chk)(int, void *, size_t, size_t);
static ssize_t (*real_pread)(int, void *, size_t, off_t);
static ssize_t (*real_pread64)(int, void *, size_t, off64_t);
static ssize_t (*real_readv)(int, const struct iovec *, int);
static ssize_t (*real_preadv)(int, const struct iovec *, int, off_t);
static ssize_t (*real_preadv64)(int, const struct iovec *, int, off64_t);
static ssize_t (*real_preadv2)(int, const struct iovec *, int, off_t, int);
static ssize_t (*real_recv)(int, void *, size_t, int);
static ssize_t (*real___recv_chk)(int, void *, size_t, size_t, int);
static ssize_t (*real_recvfrom)(int, void *, size_t, int, struct sockaddr *,
				socklen_t *);
static ssize_t (*real_recvmsg)(int, struct msghdr *, int);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_pwrite64)(int, const void *, size_t, off64_t);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static ssize_t (*real_pwritev)(int, const struct iovec *, int, off_t);
static ssize_t (*real_send)(int, const void *, size_t, int);
static ssize_t (*real_sendto)(int, const void *, size_t, int,
			      const struct sockaddr *, socklen_t);
static ssize_t (*real_sendmsg)(int, const struct msghdr *, int);
static int (*real_fstat)(int, struct stat *);
static int (*real_stat)(const char *, struct stat *);
static int (*real_lstat)(const char *, struct stat *);
static int (*real_fstatat)(int, const char *, struct stat *, int);
static size_t (*real_fread)(void *, size_t, size_t, FILE *);
static size_t (*real_fwrite)(const void *, size_t, size_t, FILE *);
static char *(*real_fgets)(char *, int, FILE *);
static ssize_t (*real_getline)(char **, size_t *, FILE *);
static ssize_t (*real_getdelim)(char **, size_t *, int, FILE *);
static int (*real_setvbuf)(FILE *, char *, int, size_t);
static ssize_t (*real_getrandom)(void *, size_t, unsigned int);
static ssize_t (*real_getdents64)(int, void *, size_t);
static int (*real_pipe)(int *);
static int (*real_pipe2)(int *, int);
static int (*real_socketpair)(int, int, int, int *);
static int (*real_accept)(int, struct sockaddr *, socklen_t *);
static int (*real_accept4)(int, struct sockaddr *, socklen_t *, int);
static int (*real_getsockopt)(int, int, int, void *, socklen_t *);
static int (*real_getsockname)(int, struct sockaddr *, socklen_t *);
static int (*real_getpeername)(int, struct sockaddr *, socklen_t *);
static int (*real_select)(int, fd_set *, fd_set *, fd_set *,
			  struct timeval *);
static int (*real_poll)(struct pollfd *, nfds_t, int);
static int (*real_ppoll)(struct pollfd *, nfds_t, const struct timespec *,
			 const sigset_t *);
static int (*real_epoll_wait)(int, struct epoll_event *, int, int);
static int (*real_epoll_pwait)(int, struct epoll_event *, int, int,
			       const sigset_t *);
static int (*real_pselect)(int, fd_set *, fd_set *, fd_set *,
			   const struct timespec *, const sigset_t *);
static int (*real_nanosleep)(const struct timespec *, struct timespec *);
static int (*real_clock_nanosleep)(clockid_t, int, const struct timespec *,
				   struct timespec *);
static long (*real_syscall)(long, ...);
static int (*real_recvmmsg)(int, struct mmsghdr *, unsigned int, int,
			    struct timespec *);
static int (*real_sendmmsg)(int, struct mmsghdr *, unsigned int, int);
static int (*real_statx)(int, const char *, int, unsigned int,
			 struct statx *);
static int (*real_clock_gettime)(clockid_t, struct timespec *);
static ssize_t (*real___pread_chk)(int, void *, size_t, off_t, size_t);
static ssize_t (*real___pread64_chk)(int, void *, size_t, off64_t, size_t);
static ssize_t (*real___recvfrom_chk)(int, void *, size_t, size_t, int,
				      struct sockaddr *, socklen_t *);
static size_t (*real___fread_chk)(void *, size_t, size_t, size_t, FILE *);
static char *(*real___fgets_chk)(char *, size_t, int, FILE *);

void interpose_io_init(void)
{
	REAL(read); REAL(__read_chk); REAL(pread); REAL(pread64);
	REAL(readv); REAL(preadv); REAL(preadv64); REAL(preadv2);
	REAL(recv); REAL(__recv_chk); REAL(recvfrom); REAL(recvmsg);
	REAL(write); REAL(pwrite); REAL(pwrite64); REAL(writev);
	REAL(pwritev); REAL(send); REAL(sendto); REAL(sendmsg);
	REAL(fstat); REAL(stat); REAL(lstat); REAL(fstatat);
	REAL(fread); REAL(fwrite); REAL(fgets); REAL(getline);
	REAL(getdelim); REAL(setvbuf); REAL(getrandom); REAL(getdents64);
	REAL(pipe); REAL(pipe2); REAL(socketpair); REAL(accept);
	REAL(accept4); REAL(getsockopt); REAL(getsockname);
	REAL(getpeername); REAL(select); REAL(poll); REAL(ppoll);
	REAL(epoll_wait); REAL(epoll_pwait); REAL(nanosleep); REAL(pselect);
	REAL(clock_nanosleep); REAL(syscall); REAL(recvmmsg);
	REAL(sendmmsg); REAL(statx); REAL(clock_gettime);
	sys_vdso_clock_gettime = real_clock_gettime;
	REAL(__pread_chk); REAL(__pread64_chk); REAL(__recvfrom_chk);
	REAL(__fread_chk); REAL(__fgets_chk);
}

/* in: the kernel only reads the buffers (writev). */
static void resolve_iov(const struct iovec *iov, int n, int in)
{
	/* The kernel refuses more than IOV_MAX entries before any copy. */
	for (int i = 0; iov && i < n && i < 1024; i++) {
		if (in)
			OPEN_IN(iov[i].iov_base, iov[i].iov_len);
		else
			OPEN(iov[i].iov_base, iov[i].iov_len);
	}
}

static void resolve_msg(const struct msghdr *m)
{
	if (!m)
		return;
	resolve_iov(m->msg_iov, (int)m->msg_iovlen, 0);
	OPEN(m->msg_name, m->msg_namelen);
	OPEN(m->msg_control, m->msg_controllen);
}

static size_t mul(size_t a, size_t b)
{
	size_t r;

	return __builtin_mul_overflow(a, b, &r) ? (size_t)-1 : r;
}

LOF_EXPORT ssize_t read(int fd, void *buf, size_t n)
{
	OPEN(buf, n);
	return REAL(read)(fd, buf, n);
}

LOF_EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	OPEN(buf, n);
	return REAL(__read_chk)(fd, buf, n, buflen);
}

LOF_EXPORT ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
	OPEN(buf, n);
	return REAL(pread)(fd, buf, n, off);
}

LOF_EXPORT ssize_t pread64(int fd, void *buf, size_t n, off64_t off)
{
	OPEN(buf, n);
	return REAL(pread64)(fd, buf, n, off);
}

LOF_EXPORT ssize_t readv(int fd, const struct iovec *iov, int n)
{
	resolve_iov(iov, n, 0);
	return REAL(readv)(fd, iov, n);
}

LOF_EXPORT ssize_t preadv(int fd, const struct iovec *iov, int n, off_t off)
{
	resolve_iov(iov, n, 0);
	return REAL(preadv)(fd, iov, n, off);
}

LOF_EXPORT ssize_t preadv64(int fd, const struct iovec *iov, int n, off64_t off)
{
	resolve_iov(iov, n, 0);
	return REAL(preadv64)(fd, iov, n, off);
}

LOF_EXPORT ssize_t preadv2(int fd, const struct iovec *iov, int n, off_t off,
			   int flags)
{
	resolve_iov(iov, n, 0);
	return REAL(preadv2)(fd, iov, n, off, flags);
}

LOF_EXPORT ssize_t recv(int fd, void *buf, size_t n, int flags)
{
	OPEN(buf, n);
	return REAL(recv)(fd, buf, n, flags);
}

LOF_EXPORT ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen,
			      int flags)
{
	OPEN(buf, n);
	return REAL(__recv_chk)(fd, buf, n, buflen, flags);
}

LOF_EXPORT ssize_t recvfrom(int fd, void *buf, size_t n, int flags,
			    struct sockaddr *addr, socklen_t *alen)
{
	OPEN(buf, n);
	if (alen) {
		OPEN(alen, sizeof(*alen));
		OPEN(addr, *alen);
	}
	return REAL(recvfrom)(fd, buf, n, flags, addr, alen);
}

LOF_EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	resolve_msg(msg);
	return REAL(recvmsg)(fd, msg, flags);
}

LOF_EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
	OPEN_IN(buf, n);
	return REAL(write)(fd, buf, n);
}

LOF_EXPORT ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	OPEN_IN(buf, n);
	return REAL(pwrite)(fd, buf, n, off);
}

LOF_EXPORT ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
	OPEN_IN(buf, n);
	return REAL(pwrite64)(fd, buf, n, off);
}

LOF_EXPORT ssize_t writev(int fd, const struct iovec *iov, int n)
{
	resolve_iov(iov, n, 1);
	return REAL(writev)(fd, iov, n);
}

LOF_EXPORT ssize_t pwritev(int fd, const struct iovec *iov, int n, off_t off)
{
	resolve_iov(iov, n, 1);
	return REAL(pwritev)(fd, iov, n, off);
}

LOF_EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags)
{
	OPEN_IN(buf, n);
	return REAL(send)(fd, buf, n, flags);
}

LOF_EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags,
			  const struct sockaddr *addr, socklen_t alen)
{
	OPEN_IN(buf, n);
	OPEN(addr, alen);
	return REAL(sendto)(fd, buf, n, flags, addr, alen);
}

LOF_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	resolve_msg(msg);
	return REAL(sendmsg)(fd, msg, flags);
}

LOF_EXPORT int fstat(int fd, struct stat *st)
{
	OPEN(st, sizeof(*st));
	return REAL(fstat)(fd, st);
}

LOF_EXPORT int stat(const char *path, struct stat *st)
{
	PATH(path);
	OPEN(st, sizeof(*st));
	return REAL(stat)(path, st);
}

LOF_EXPORT int lstat(const char *path, struct stat *st)
{
	PATH(path);
	OPEN(st, sizeof(*st));
	return REAL(lstat)(path, st);
}

LOF_EXPORT int fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	PATH(path);
	OPEN(st, sizeof(*st));
	return REAL(fstatat)(dirfd, path, st, flags);
}

LOF_EXPORT size_t fread(void *buf, size_t size, size_t n, FILE *f)
{
	OPEN(buf, mul(size, n));
	return REAL(fread)(buf, size, n, f);
}

LOF_EXPORT size_t fwrite(const void *buf, size_t size, size_t n, FILE *f)
{
	OPEN(buf, mul(size, n));
	return REAL(fwrite)(buf, size, n, f);
}

LOF_EXPORT char *fgets(char *s, int n, FILE *f)
{
	if (n > 0)
		OPEN(s, (size_t)n);
	return REAL(fgets)(s, n, f);
}

/*
 * getline and getdelim write through *lineptr, growing it with realloc:
 * the kernel never sees it, but open the first buffer anyway, so a
 * buffer of ours passed in is never half pending.
 */
LOF_EXPORT ssize_t getline(char **line, size_t *n, FILE *f)
{
	if (line && n && *line)
		OPEN(*line, *n);
	return REAL(getline)(line, n, f);
}

LOF_EXPORT ssize_t getdelim(char **line, size_t *n, int delim, FILE *f)
{
	if (line && n && *line)
		OPEN(*line, *n);
	return REAL(getdelim)(line, n, delim, f);
}

/* stdio reads into and writes from a setvbuf buffer with read(2) itself. */
LOF_EXPORT int setvbuf(FILE *f, char *buf, int mode, size_t size)
{
	OPEN(buf, size);
	return REAL(setvbuf)(f, buf, mode, size);
}

LOF_EXPORT ssize_t getrandom(void *buf, size_t n, unsigned int flags)
{
	OPEN(buf, n);
	return REAL(getrandom)(buf, n, flags);
}

LOF_EXPORT ssize_t getdents64(int fd, void *buf, size_t n)
{
	OPEN(buf, n);
	return REAL(getdents64)(fd, buf, n);
}

LOF_EXPORT int pipe(int fds[2])
{
	OPEN(fds, 2 * sizeof(int));
	return REAL(pipe)(fds);
}

LOF_EXPORT int pipe2(int fds[2], int flags)
{
	OPEN(fds, 2 * sizeof(int));
	return REAL(pipe2)(fds, flags);
}

LOF_EXPORT int socketpair(int domain, int type, int proto, int sv[2])
{
	OPEN(sv, 2 * sizeof(int));
	return REAL(socketpair)(domain, type, proto, sv);
}

/* An address buffer whose length the kernel reads, then writes. */
static void open_addr(const void *addr, const socklen_t *len)
{
	if (!len)
		return;
	OPEN(len, sizeof(*len));
	OPEN(addr, *len);
}

LOF_EXPORT int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
	open_addr(addr, len);
	return REAL(accept)(fd, addr, len);
}

LOF_EXPORT int accept4(int fd, struct sockaddr *addr, socklen_t *len,
		       int flags)
{
	open_addr(addr, len);
	return REAL(accept4)(fd, addr, len, flags);
}

LOF_EXPORT int getsockopt(int fd, int level, int name, void *val,
			  socklen_t *len)
{
	open_addr(val, len);
	return REAL(getsockopt)(fd, level, name, val, len);
}

LOF_EXPORT int getsockname(int fd, struct sockaddr *addr, socklen_t *len)
{
	open_addr(addr, len);
	return REAL(getsockname)(fd, addr, len);
}

LOF_EXPORT int getpeername(int fd, struct sockaddr *addr, socklen_t *len)
{
	open_addr(addr, len);
	return REAL(getpeername)(fd, addr, len);
}

LOF_EXPORT int select(int n, fd_set *r, fd_set *w, fd_set *e,
		      struct timeval *tv)
{
	OPEN(r, sizeof(*r));
	OPEN(w, sizeof(*w));
	OPEN(e, sizeof(*e));
	OPEN(tv, sizeof(*tv));
	return REAL(select)(n, r, w, e, tv);
}

LOF_EXPORT int pselect(int n, fd_set *r, fd_set *w, fd_set *e,
		       const struct timespec *ts, const sigset_t *mask)
{
	sigset_t copy;

	OPEN(r, sizeof(*r));
	OPEN(w, sizeof(*w));
	OPEN(e, sizeof(*e));
	OPEN(ts, sizeof(*ts));
	return REAL(pselect)(n, r, w, e, ts, sigchain_wait_mask(mask, &copy));
}

LOF_EXPORT int poll(struct pollfd *fds, nfds_t n, int timeout)
{
	OPEN(fds, mul(n, sizeof(*fds)));
	return REAL(poll)(fds, n, timeout);
}

LOF_EXPORT int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts,
		     const sigset_t *mask)
{
	sigset_t copy;

	OPEN(fds, mul(n, sizeof(*fds)));
	OPEN(ts, sizeof(*ts));
	return REAL(ppoll)(fds, n, ts, sigchain_wait_mask(mask, &copy));
}

LOF_EXPORT int epoll_wait(int ep, struct epoll_event *ev, int max, int timeout)
{
	if (max > 0)
		OPEN(ev, mul((size_t)max, sizeof(*ev)));
	return REAL(epoll_wait)(ep, ev, max, timeout);
}

LOF_EXPORT int epoll_pwait(int ep, struct epoll_event *ev, int max,
			   int timeout, const sigset_t *mask)
{
	sigset_t copy;

	if (max > 0)
		OPEN(ev, mul((size_t)max, sizeof(*ev)));
	return REAL(epoll_pwait)(ep, ev, max, timeout,
				 sigchain_wait_mask(mask, &copy));
}

LOF_EXPORT int nanosleep(const struct timespec *req, struct timespec *rem)
{
	OPEN(req, sizeof(*req));
	OPEN(rem, sizeof(*rem));
	return REAL(nanosleep)(req, rem);
}

LOF_EXPORT int clock_nanosleep(clockid_t clk, int flags,
			       const struct timespec *req,
			       struct timespec *rem)
{
	OPEN(req, sizeof(*req));
	OPEN(rem, sizeof(*rem));
	return REAL(clock_nanosleep)(clk, flags, req, rem);
}

/*
 * syscall(): the memory and lock calls (mmap, mlock, mlockall...) are
 * served as their libc functions serve them (mm_syscall(), issue 13);
 * futex is understood (its words are what threads libraries hand the
 * kernel through syscall() directly), and so are the calls of
 * interpose-kio.c (io_submit, io_uring_register... as liburing makes
 * them); every other number passes through untouched. Six arguments are
 * always forwarded, as libc's own syscall() reads them.
 */
LOF_EXPORT long syscall(long nr, ...)
{
	long a[6], r;
	va_list ap;

	va_start(ap, nr);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (mm_syscall(nr, a, (uintptr_t)__builtin_return_address(0), &r))
		return r;
	kio_syscall(nr, a);
	if (nr == SYS_futex) {
		OPEN(a[0], sizeof(int));
		/* FUTEX_REQUEUE, CMP_REQUEUE, WAKE_OP: a second word. */
		switch (a[1] & 0x7f) {
		case 3: case 4: case 5: case 12:
			OPEN(a[4], sizeof(int));
			break;
		}
	}
	r = REAL(syscall)(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	kio_syscall_done(nr, a, r);
	return r;
}

static void open_mmsg(struct mmsghdr *v, unsigned int n)
{
	OPEN(v, mul(n, sizeof(*v)));
	for (unsigned int i = 0; v && i < n && i < 1024; i++)
		resolve_msg(&v[i].msg_hdr);
}

LOF_EXPORT int recvmmsg(int fd, struct mmsghdr *v, unsigned int n, int flags,
			struct timespec *timeout)
{
	open_mmsg(v, n);
	OPEN(timeout, sizeof(*timeout));
	return REAL(recvmmsg)(fd, v, n, flags, timeout);
}

LOF_EXPORT int sendmmsg(int fd, struct mmsghdr *v, unsigned int n, int flags)
{
	open_mmsg(v, n);
	return REAL(sendmmsg)(fd, v, n, flags);
}

LOF_EXPORT int statx(int dirfd, const char *path, int flags, unsigned int mask,
		     struct statx *buf)
{
	PATH(path);
	OPEN(buf, sizeof(*buf));
	return REAL(statx)(dirfd, path, flags, mask, buf);
}

/*
 * clock_gettime: the vDSO writes the result from user space (an
 * ordinary fault), but some clocks fall back to the system call.
 */
LOF_EXPORT int clock_gettime(clockid_t clk, struct timespec *ts)
{
	OPEN(ts, sizeof(*ts));
	return REAL(clock_gettime)(clk, ts);
}

/* The _FORTIFY_SOURCE variants of the calls above. */
LOF_EXPORT ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off,
			       size_t buflen)
{
	OPEN(buf, n);
	return REAL(__pread_chk)(fd, buf, n, off, buflen);
}

LOF_EXPORT ssize_t __pread64_chk(int fd, void *buf, size_t n, off64_t off,
				 size_t buflen)
{
	OPEN(buf, n);
	return REAL(__pread64_chk)(fd, buf, n, off, buflen);
}

LOF_EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen,
				  int flags, struct sockaddr *addr,
				  socklen_t *alen)
{
	OPEN(buf, n);
	open_addr(addr, alen);
	return REAL(__recvfrom_chk)(fd, buf, n, buflen, flags, addr, alen);
}

LOF_EXPORT size_t __fread_chk(void *buf, size_t buflen, size_t size,
			      size_t n, FILE *f)
{
	OPEN(buf, mul(size, n));
	return REAL(__fread_chk)(buf, buflen, size, n, f);
}

LOF_EXPORT char *__fgets_chk(char *s, size_t size, int n, FILE *f)
{
	if (n > 0)
		OPEN(s, (size_t)n);
	return REAL(__fgets_chk)(s, size, n, f);
}
