/*
 * t-syscalls.c - a buffer the program never touched can be handed to the
 * kernel: read, pread, readv, recv (socket pair and TCP on 127.0.0.1),
 * recvfrom, fread, fstat and write get full counts and correct data,
 * and nothing is lost from the stream.
 *
 * Each case uses fresh pending pages of an mlock()ed region. A raw
 * syscall(SYS_read) into pending pages first shows they really are
 * pending (the kernel answers EFAULT), so the cases can fail. Under
 * the native engine nothing is pending: the kernel itself faults the
 * page in and locks it (MLOCK_ONFAULT), and the control checks that.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probe.h"
#include "tap.h"

#define CHUNK (256 * 1024)	/* bytes per case: many pages, one read */

static size_t pg;
static char *region;		/* mlocked, never touched */
static size_t next_off;
static char pattern[CHUNK];

/*
 * Fresh pending bytes, 4 MiB from any others (a fault opens a batch of
 * up to 2 MiB around it by default), at an odd offset in the page.
 */
#define SLOT (4UL << 20)

static char *fresh(size_t n)
{
	char *p = region + next_off + 123;

	if (next_off + SLOT > (64UL << 20) || n > SLOT - 123)
		bail("out of test slots");
	next_off += SLOT;
	return p;
}

/* Write CHUNK bytes of the pattern to fd from a child process. */
static void feed(int fd, size_t n)
{
	pid_t pid = fork();

	if (pid == 0) {
		size_t done = 0;

		alarm(10);	/* never outlive a reader that gave up */
		while (done < n) {
			ssize_t w = write(fd, pattern + done, n - done);

			if (w <= 0)
				_exit(1);
			done += (size_t)w;
		}
		_exit(0);
	}
}

/* Read exactly n bytes with fn, the way a careful program would. */
static size_t read_all(int fd, char *buf, size_t n, int use_recv)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = use_recv ? recv(fd, buf + got, n - got, 0)
				     : read(fd, buf + got, n - got);

		if (r <= 0) {
			diag("read failed after %zu bytes: %s", got,
			     r < 0 ? strerror(errno) : "EOF");
			break;
		}
		got += (size_t)r;
	}
	return got;
}

static void reap(void)
{
	while (wait(NULL) > 0)
		;
}

int main(void)
{
	char dir[4096], path[4200], *b;
	struct iovec iov[2];
	struct stat *st;
	int p[2], sv[2], fd;
	size_t got;
	ssize_t r;
	FILE *f;

	probe_require_preloaded();
	pg = probe_page_size();
	plan(14);
	for (size_t i = 0; i < CHUNK; i++)
		pattern[i] = (char)(i * 7 + (i >> 9) + 1);

	region = mmap(NULL, 64 << 20, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (region == MAP_FAILED || mlock(region, 64 << 20))
		bail("mmap/mlock: %s", strerror(errno));

	/* The control: the kernel itself cannot use pending pages. */
	if (pipe(p))
		bail("pipe: %s", strerror(errno));
	if (write(p[1], "x", 1) != 1)
		bail("write: %s", strerror(errno));
	b = fresh(pg);
	r = syscall(SYS_read, p[0], b, 1);
	if (probe_native()) {
		ok(r == 1 && probe_vmflag(b, "lf") == 1,
		   "control, native: a raw read(2) into lock-on-fault pages "
		   "works (r=%zd)", r);
		ok(probe_present(b) == 1 && probe_page_locked(b) != 0,
		   "the kernel faulted that page in and locked it");
	} else {
		ok(r == -1 && errno == EFAULT,
		   "control: a raw read(2) into pending pages fails with "
		   "EFAULT (r=%zd)", r);
		ok(read(p[0], fresh(pg), 1) == 1,
		   "the byte the raw read could not take is still in the pipe");
	}

	/* read from a pipe */
	b = fresh(CHUNK);
	feed(p[1], CHUNK);
	got = read_all(p[0], b, CHUNK, 0);
	ok(got == CHUNK && !memcmp(b, pattern, CHUNK),
	   "read from a pipe: %zu of %d bytes, data %s", got, CHUNK,
	   memcmp(b, pattern, got) ? "differs" : "equal");
	reap();

	/* write from pending pages: the reader sees zeros */
	b = fresh(CHUNK);
	r = write(p[1], b, 4096);
	{
		char back[4096];
		size_t zeros = 0;

		if (r == 4096 && read(p[0], back, sizeof(back)) == 4096)
			for (size_t i = 0; i < sizeof(back); i++)
				zeros += back[i] == 0;
		ok(r == 4096 && zeros == 4096,
		   "write from never-touched pages: %zd bytes, %zu zeros", r,
		   zeros);
	}

	/* readv into two pending buffers */
	iov[0].iov_base = fresh(CHUNK / 2);
	iov[0].iov_len = CHUNK / 2;
	iov[1].iov_base = fresh(CHUNK / 2);
	iov[1].iov_len = CHUNK / 2;
	if (write(p[1], pattern, 4096) != 4096)
		bail("write: %s", strerror(errno));
	r = readv(p[0], iov, 2);
	ok(r == 4096 && !memcmp(iov[0].iov_base, pattern, 4096),
	   "readv into pending buffers: %zd bytes", r);

	/* recv from a socket pair */
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		bail("socketpair: %s", strerror(errno));
	b = fresh(CHUNK);
	feed(sv[1], CHUNK);
	got = read_all(sv[0], b, CHUNK, 1);
	ok(got == CHUNK && !memcmp(b, pattern, CHUNK),
	   "recv from a socket pair: %zu of %d bytes", got, CHUNK);
	reap();

	/* recvfrom from a datagram socket pair */
	{
		int dv[2];

		if (socketpair(AF_UNIX, SOCK_DGRAM, 0, dv))
			bail("socketpair: %s", strerror(errno));
		if (send(dv[1], pattern, 1000, 0) != 1000)
			bail("send: %s", strerror(errno));
		b = fresh(2000);
		r = recvfrom(dv[0], b, 2000, 0, NULL, NULL);
		ok(r == 1000 && !memcmp(b, pattern, 1000),
		   "recvfrom a datagram: %zd bytes", r);
		close(dv[0]);
		close(dv[1]);
	}

	/* recv over TCP on 127.0.0.1 */
	{
		struct sockaddr_in a = { .sin_family = AF_INET };
		socklen_t al = sizeof(a);
		int ls = socket(AF_INET, SOCK_STREAM, 0), cs, as;

		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof(a)) ||
		    listen(ls, 1) ||
		    getsockname(ls, (struct sockaddr *)&a, &al))
			bail("listen: %s", strerror(errno));
		cs = socket(AF_INET, SOCK_STREAM, 0);
		if (cs < 0 || connect(cs, (struct sockaddr *)&a, sizeof(a)))
			bail("connect: %s", strerror(errno));
		as = accept(ls, NULL, NULL);
		if (as < 0)
			bail("accept: %s", strerror(errno));
		b = fresh(CHUNK);
		feed(cs, CHUNK);
		got = read_all(as, b, CHUNK, 1);
		ok(got == CHUNK && !memcmp(b, pattern, CHUNK),
		   "recv over TCP on 127.0.0.1: %zu of %d bytes", got, CHUNK);
		reap();
		close(cs);
		close(as);
		close(ls);
	}

	/* A file: pread, fread, fstat */
	if (probe_tmpdir(dir, sizeof(dir), "t-syscalls"))
		bail("mkdtemp: %s", strerror(errno));
	snprintf(path, sizeof(path), "%s/data", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, pattern, CHUNK) != CHUNK)
		bail("file: %s", strerror(errno));
	b = fresh(CHUNK);
	r = pread(fd, b, CHUNK, 0);
	ok(r == CHUNK && !memcmp(b, pattern, CHUNK), "pread: %zd bytes", r);

	b = fresh(CHUNK);
	iov[0].iov_base = b;
	iov[0].iov_len = CHUNK;
	r = preadv(fd, iov, 1, 0);
	ok(r == CHUNK && !memcmp(b, pattern, CHUNK), "preadv: %zd bytes", r);

	st = (struct stat *)fresh(sizeof(*st));
	ok(fstat(fd, st) == 0 && st->st_size == CHUNK,
	   "fstat into a pending struct stat");
	st = (struct stat *)fresh(sizeof(*st));
	ok(stat(path, st) == 0 && st->st_size == CHUNK,
	   "stat into a pending struct stat");

	f = fopen(path, "r");
	b = fresh(CHUNK);
	got = f ? fread(b, 1, CHUNK, f) : 0;
	ok(got == CHUNK && !memcmp(b, pattern, CHUNK),
	   "fread into a pending buffer: %zu bytes", got);
	if (f)
		fclose(f);

	/* Nothing of the region was locked that nobody used. */
	ok(probe_locked_kb(region, 64 << 20) < 16 * 1024,
	   "Locked stays near what was used: %ld kB of 65536",
	   probe_locked_kb(region, 64 << 20));

	close(fd);
	unlink(path);
	rmdir(dir);
	return done();
}
