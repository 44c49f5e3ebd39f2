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

/* maps_walk()'s state between lines. */
struct walk_ctx {
	uintptr_t end;
	uintptr_t floor;	/* everything below was handed out */
	int (*fn)(const struct maps_entry *e, void *arg);
	void *arg;
	int r;			/* fn's non-zero value */
};

static int walk_line(char *line, void *arg)
{
	struct walk_ctx *c = arg;
	struct maps_entry e;

	if (maps_parse_line(line, &e) != 0)
		return 0;
	/*
	 * The kernel resumes each read at the mapping that holds the last
	 * address shown. If mappings changed meanwhile (fn's own mprotect,
	 * another thread's), a mapping may be shown again, grown backwards
	 * over what fn already had: each address goes out once.
	 */
	if (e.end <= c->floor)
		return 0;
	if (e.start >= c->end)
		return 1;	/* sorted: nothing further matters */
	if (e.start < c->floor) {
		e.offset += c->floor - e.start;
		e.start = c->floor;
	}
	if (e.end > c->end)
		e.end = c->end;
	if (e.end <= e.start)
		return 0;	/* an empty range holds nothing */
	c->floor = e.end;
	c->r = c->fn(&e, c->arg);
	return c->r;
}

int maps_walk(uintptr_t start, uintptr_t end,
	      int (*fn)(const struct maps_entry *e, void *arg), void *arg)
{
	struct walk_ctx c = { end, start, fn, arg, 0 };
	int r = maps_read_lines("/proc/self/maps", walk_line, &c);

	return r < 0 && c.r == 0 ? r : c.r;
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
