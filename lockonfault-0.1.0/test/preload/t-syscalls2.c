/*
 * t-syscalls2.c - more calls whose arguments the kernel writes: each
 * gets its buffer, array or struct in pages the program never touched
 * (getrandom, pipe, socketpair, accept, getsockname, getsockopt, poll,
 * select, epoll_wait, nanosleep, getdents64, futex through syscall(),
 * and a setvbuf buffer that stdio fills with read(2) itself).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "probe.h"
#include "tap.h"

static size_t pg;
static char *region;
static size_t next_off;

/*
 * Fresh pending bytes, 4 MiB from any others: a fault opens a whole
 * batch of pages (up to 2 MiB by default) around it, so buffers closer
 * together would be opened by each other's faults.
 */
#define SLOT (4UL << 20)
#define SLOTS 32

static void *fresh(size_t n)
{
	char *p = region + next_off + 64;

	if (next_off + SLOT > SLOTS * SLOT || n > SLOT - 64)
		bail("out of test slots");
	next_off += SLOT;
	return p;
}

int main(void)
{
	char dir[4096], path[4200];
	int *fds, r, ls, cs, as, ep, fd;
	struct sockaddr_in a = { .sin_family = AF_INET }, *pa;
	socklen_t al = sizeof(a), *pl;
	struct pollfd *pfd;
	struct epoll_event ev = { .events = EPOLLIN }, *pev;
	fd_set *rs;
	struct timespec *ts;
	unsigned char *rnd;
	FILE *f;
	char *buf, line[64];
	size_t zeros = 0;

	probe_require_preloaded();
	pg = probe_page_size();
	plan(13);
	region = mmap(NULL, SLOTS * SLOT, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (region == MAP_FAILED || mlock(region, SLOTS * SLOT))
		bail("mmap/mlock: %s", strerror(errno));

	rnd = fresh(4096);
	r = (int)getrandom(rnd, 4096, 0);
	for (int i = 0; i < 4096; i++)
		zeros += rnd[i] == 0;
	ok(r == 4096 && zeros < 64, "getrandom fills a pending buffer");

	fds = fresh(2 * sizeof(int));
	ok(pipe(fds) == 0 && write(fds[1], "ab", 2) == 2,
	   "pipe writes its descriptors into pending memory");

	pfd = fresh(sizeof(*pfd));
	pfd->fd = fds[0];
	pfd->events = POLLIN;
	ok(poll(pfd, 1, 1000) == 1 && (pfd->revents & POLLIN),
	   "poll on a pending pollfd array");

	rs = fresh(sizeof(*rs));
	FD_ZERO(rs);
	FD_SET(fds[0], rs);
	ok(select(fds[0] + 1, rs, NULL, NULL, NULL) == 1 &&
	   FD_ISSET(fds[0], rs), "select with a pending fd_set");

	ep = epoll_create1(0);
	ev.data.fd = fds[0];
	epoll_ctl(ep, EPOLL_CTL_ADD, fds[0], &ev);
	pev = fresh(8 * sizeof(*pev));
	ok(epoll_wait(ep, pev, 8, 1000) == 1 && pev[0].data.fd == fds[0],
	   "epoll_wait into pending events");
	close(ep);

	fds = fresh(2 * sizeof(int));
	ok(socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0 && fds[0] >= 0 &&
	   fds[1] >= 0, "socketpair writes its descriptors into pending memory");

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ls = socket(AF_INET, SOCK_STREAM, 0);
	if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(ls, 1))
		bail("listen: %s", strerror(errno));
	pa = fresh(sizeof(*pa));
	pl = fresh(sizeof(*pl));
	*pl = sizeof(*pa);
	ok(getsockname(ls, (struct sockaddr *)pa, pl) == 0 &&
	   pa->sin_port != 0, "getsockname into a pending address");
	a = *pa;
	cs = socket(AF_INET, SOCK_STREAM, 0);
	if (cs < 0 || connect(cs, (struct sockaddr *)&a, al))
		bail("connect: %s", strerror(errno));
	pa = fresh(sizeof(*pa));
	pl = fresh(sizeof(*pl));
	*pl = sizeof(*pa);
	as = accept(ls, (struct sockaddr *)pa, pl);
	ok(as >= 0 && pa->sin_addr.s_addr == htonl(INADDR_LOOPBACK),
	   "accept into a pending address");
	{
		int *val = fresh(sizeof(int));
		socklen_t *vl = fresh(sizeof(socklen_t));

		*vl = sizeof(int);
		ok(getsockopt(as, SOL_SOCKET, SO_TYPE, val, vl) == 0 &&
		   *val == SOCK_STREAM, "getsockopt into pending memory");
	}
	close(as);
	close(cs);
	close(ls);

	ts = fresh(2 * sizeof(*ts));
	ts[0].tv_sec = 0;
	ts[0].tv_nsec = 1000;
	ok(nanosleep(&ts[0], &ts[1]) == 0, "nanosleep with pending timespecs");

	{
		int *word = fresh(sizeof(int));

		ok(syscall(SYS_futex, word, FUTEX_WAKE, 1, NULL, NULL, 0) == 0,
		   "futex(FUTEX_WAKE) through syscall() on a pending word");
	}

	buf = fresh(64 * 1024);
	fd = open(".", O_RDONLY | O_DIRECTORY);
	r = (int)getdents64(fd, buf, 64 * 1024);
	ok(r > 0, "getdents64 into a pending buffer (%d bytes)", r);
	close(fd);

	if (probe_tmpdir(dir, sizeof(dir), "t-syscalls2"))
		bail("mkdtemp: %s", strerror(errno));
	snprintf(path, sizeof(path), "%s/lines", dir);
	f = fopen(path, "w");
	if (!f)
		bail("fopen: %s", strerror(errno));
	fputs("first line\nsecond line\n", f);
	fclose(f);
	f = fopen(path, "r");
	buf = fresh(8192);
	ok(f && setvbuf(f, buf, _IOFBF, 8192) == 0 &&
	   fgets(line, sizeof(line), f) && !strcmp(line, "first line\n"),
	   "stdio reads through a pending setvbuf buffer");
	if (f)
		fclose(f);
	unlink(path);
	rmdir(dir);
	return done();
}
