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
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "engine.h"
#include "interpose.h"

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

ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen);
ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags);

static ssize_t (*real_read)(int, void *, size_t);
static ssize_t (*real___read_chk)(int, void *, size_t, size_t);
static ssize_t (*real_pread)(int, void *, size_t, off_t);
static ssize_t (*real_pread64)(int, void *, size_t, off_t);
static ssize_t (*real_readv)(int, const struct iovec *, int);
static ssize_t (*real_preadv)(int, const struct iovec *, int, off_t);
static ssize_t (*real_preadv64)(int, const struct iovec *, int, off_t);
static ssize_t (*real_preadv2)(int, const struct iovec *, int, off_t, int);
static ssize_t (*real_recv)(int, void *, size_t, int);
static ssize_t (*real___recv_chk)(int, void *, size_t, size_t, int);
static ssize_t (*real_recvfrom)(int, void *, size_t, int, struct sockaddr *,
				socklen_t *);
static ssize_t (*real_recvmsg)(int, struct msghdr *, int);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_pwrite64)(int, const void *, size_t, off_t);
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

void interpose_io_init(void)
{
	REAL(read); REAL(__read_chk); REAL(pread); REAL(pread64);
	REAL(readv); REAL(preadv); REAL(preadv64); REAL(preadv2);
	REAL(recv); REAL(__recv_chk); REAL(recvfrom); REAL(recvmsg);
	REAL(write); REAL(pwrite); REAL(pwrite64); REAL(writev);
	REAL(pwritev); REAL(send); REAL(sendto); REAL(sendmsg);
	REAL(fstat); REAL(stat); REAL(lstat); REAL(fstatat);
	REAL(fread); REAL(fwrite); REAL(fgets);
}

static void resolve_iov(const struct iovec *iov, int n)
{
	/* The kernel refuses more than IOV_MAX entries before any copy. */
	for (int i = 0; iov && i < n && i < 1024; i++)
		OPEN(iov[i].iov_base, iov[i].iov_len);
}

static void resolve_msg(const struct msghdr *m)
{
	if (!m)
		return;
	resolve_iov(m->msg_iov, (int)m->msg_iovlen);
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

LOF_EXPORT ssize_t pread64(int fd, void *buf, size_t n, off_t off)
{
	OPEN(buf, n);
	return REAL(pread64)(fd, buf, n, off);
}

LOF_EXPORT ssize_t readv(int fd, const struct iovec *iov, int n)
{
	resolve_iov(iov, n);
	return REAL(readv)(fd, iov, n);
}

LOF_EXPORT ssize_t preadv(int fd, const struct iovec *iov, int n, off_t off)
{
	resolve_iov(iov, n);
	return REAL(preadv)(fd, iov, n, off);
}

LOF_EXPORT ssize_t preadv64(int fd, const struct iovec *iov, int n, off_t off)
{
	resolve_iov(iov, n);
	return REAL(preadv64)(fd, iov, n, off);
}

LOF_EXPORT ssize_t preadv2(int fd, const struct iovec *iov, int n, off_t off,
			   int flags)
{
	resolve_iov(iov, n);
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
	OPEN(buf, n);
	return REAL(write)(fd, buf, n);
}

LOF_EXPORT ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	OPEN(buf, n);
	return REAL(pwrite)(fd, buf, n, off);
}

LOF_EXPORT ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off)
{
	OPEN(buf, n);
	return REAL(pwrite64)(fd, buf, n, off);
}

LOF_EXPORT ssize_t writev(int fd, const struct iovec *iov, int n)
{
	resolve_iov(iov, n);
	return REAL(writev)(fd, iov, n);
}

LOF_EXPORT ssize_t pwritev(int fd, const struct iovec *iov, int n, off_t off)
{
	resolve_iov(iov, n);
	return REAL(pwritev)(fd, iov, n, off);
}

LOF_EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags)
{
	OPEN(buf, n);
	return REAL(send)(fd, buf, n, flags);
}

LOF_EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags,
			  const struct sockaddr *addr, socklen_t alen)
{
	OPEN(buf, n);
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
	OPEN(st, sizeof(*st));
	return REAL(stat)(path, st);
}

LOF_EXPORT int lstat(const char *path, struct stat *st)
{
	OPEN(st, sizeof(*st));
	return REAL(lstat)(path, st);
}

LOF_EXPORT int fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
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
