/*
 * maps.c - a reader of /proc/self/maps that never allocates.
 *
 * Lines are assembled in a fixed stack buffer from raw read(2) calls.
 * A line longer than the buffer keeps its numeric columns and loses the
 * tail of its path, which callers only compare against short names.
 */
#include "config.h"
#include "maps.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>

#include "sys.h"

#define LINE_MAX_ 1024
#define CHUNK 4096

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static char *parse_hex(char *p, unsigned long *out)
{
	unsigned long v = 0;
	int d, any = 0;

	while ((d = hexval(*p)) >= 0) {
		v = v * 16 + (unsigned long)d;
		p++;
		any = 1;
	}
	*out = v;
	return any ? p : NULL;
}

static char *parse_dec(char *p, unsigned long *out)
{
	unsigned long v = 0;
	int any = 0;

	while (*p >= '0' && *p <= '9') {
		v = v * 10 + (unsigned long)(*p - '0');
		p++;
		any = 1;
	}
	*out = v;
	return any ? p : NULL;
}

static char *skip_field(char *p)
{
	while (*p && *p != ' ')
		p++;
	while (*p == ' ')
		p++;
	return p;
}

int maps_parse_line(char *line, struct maps_entry *e)
{
	unsigned long start, end, inode;
	char *p = line;

	p = parse_hex(p, &start);
	if (!p || *p++ != '-')
		return -EINVAL;
	p = parse_hex(p, &end);
	if (!p || *p++ != ' ' || end <= start)
		return -EINVAL;
	if (!p[0] || !p[1] || !p[2] || !p[3])
		return -EINVAL;
	e->prot = (p[0] == 'r' ? PROT_READ : 0) |
		  (p[1] == 'w' ? PROT_WRITE : 0) |
		  (p[2] == 'x' ? PROT_EXEC : 0);
	e->shared = p[3] == 's';
	p = skip_field(p);	/* perms */
	if (!parse_hex(p, &e->offset))
		return -EINVAL;
	p = skip_field(p);	/* offset */
	p = skip_field(p);	/* device */
	p = parse_dec(p, &inode);
	if (!p)
		return -EINVAL;
	while (*p == ' ')
		p++;
	e->start = e->vma_start = start;
	e->end = e->vma_end = end;
	e->inode = inode;
	e->path = p;
	return 0;
}

int maps_walk(uintptr_t start, uintptr_t end,
	      int (*fn)(const struct maps_entry *e, void *arg), void *arg)
{
	char buf[CHUNK], line[LINE_MAX_];
	uintptr_t floor = start;	/* everything below was handed out */
	size_t llen = 0;
	int fd, r = 0, past = 0;
	ssize_t n = 0;

	fd = sys_open("/proc/self/maps", O_RDONLY, 0);
	if (fd < 0)
		return fd;
	while (r == 0 && !past && (n = sys_read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n && r == 0 && !past; i++) {
			struct maps_entry e;

			if (buf[i] != '\n') {
				if (llen < sizeof(line) - 1)
					line[llen++] = buf[i];
				continue;
			}
			line[llen] = '\0';
			llen = 0;
			if (maps_parse_line(line, &e) != 0)
				continue;
			/*
			 * The kernel resumes each read at the mapping that
			 * holds the last address shown. If mappings changed
			 * meanwhile (fn's own mprotect, another thread's), a
			 * mapping may be shown again, grown backwards over
			 * what fn already had: each address goes out once.
			 */
			if (e.end <= floor)
				continue;
			if (e.start >= end) {
				past = 1;	/* sorted: nothing further matters */
				break;
			}
			if (e.start < floor) {
				e.offset += floor - e.start;
				e.start = floor;
			}
			if (e.end > end)
				e.end = end;
			if (e.end <= e.start)
				continue;	/* an empty range holds nothing */
			floor = e.end;
			r = fn(&e, arg);
		}
	}
	if (n < 0 && r == 0)
		r = (int)n;
	sys_close(fd);
	return r;
}

int maps_read_lines(const char *path, int (*fn)(char *line, void *arg),
		    void *arg)
{
	char buf[CHUNK], line[LINE_MAX_];
	size_t llen = 0;
	int fd, r = 0;
	ssize_t n = 0;

	fd = sys_open(path, O_RDONLY, 0);
	if (fd < 0)
		return fd;
	while (r == 0 && (n = sys_read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n && r == 0; i++) {
			if (buf[i] != '\n') {
				if (llen < sizeof(line) - 1)
					line[llen++] = buf[i];
				continue;
			}
			line[llen] = '\0';
			llen = 0;
			r = fn(line, arg);
		}
	}
	if (n < 0 && r == 0)
		r = (int)n;
	sys_close(fd);
	return r;
}
