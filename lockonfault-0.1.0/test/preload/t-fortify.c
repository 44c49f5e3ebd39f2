/*
 * t-fortify.c - the _FORTIFY_SOURCE variants (__read_chk, __pread_chk,
 * __recv_chk, __fread_chk, __fgets_chk) get pending buffers opened too.
 *
 * Built with -D_FORTIFY_SOURCE=2: the buffers are parts of a static
 * array of known size, so the compiler calls the checking variants. The
 * array is mlock()ed whole (the program's .bss), so its pages are
 * pending until used.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "probe.h"
#include "tap.h"

#define SLOT (4 << 20)

/* Far apart: a fault opens a batch of up to 2 MiB around it. */
static struct {
	char a[SLOT], b[SLOT], c[SLOT], d[SLOT], e[SLOT];
} big __attribute__((aligned(1 << 21)));

/* A length the compiler cannot see, so it calls the checking variant. */
static volatile size_t len = SLOT;

int main(void)
{
	char dir[4096], path[4200];
	int p[2], sv[2], fd;
	FILE *f;

	probe_require_preloaded();
	plan(5);
	if (mlock(&big, sizeof(big)))
		bail("mlock: %s", strerror(errno));

	if (pipe(p) || write(p[1], "pipe data", 9) != 9)
		bail("pipe: %s", strerror(errno));
	ok(read(p[0], big.a, len) == 9 && !memcmp(big.a, "pipe", 4),
	   "__read_chk into a pending static buffer");

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) ||
	    write(sv[1], "sock data", 9) != 9)
		bail("socketpair: %s", strerror(errno));
	ok(recv(sv[0], big.b, len, 0) == 9 &&
	   !memcmp(big.b, "sock", 4), "__recv_chk into a pending static buffer");

	if (probe_tmpdir(dir, sizeof(dir), "t-fortify"))
		bail("mkdtemp: %s", strerror(errno));
	snprintf(path, sizeof(path), "%s/f", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, "file line\n", 10) != 10)
		bail("file: %s", strerror(errno));
	ok(pread(fd, big.c, len, 0) == 10 &&
	   !memcmp(big.c, "file", 4), "__pread_chk into a pending static buffer");

	f = fopen(path, "r");
	ok(f && fread(big.d, 1, len, f) == 10 &&
	   !memcmp(big.d, "file", 4), "__fread_chk into a pending static buffer");
	if (f)
		rewind(f);
	ok(f && fgets(big.e, (int)len, f) && !strcmp(big.e, "file line\n"),
	   "__fgets_chk into a pending static buffer");
	if (f)
		fclose(f);
	close(fd);
	unlink(path);
	rmdir(dir);
	return done();
}
