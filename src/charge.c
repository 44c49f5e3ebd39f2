/*
 * charge.c - RLIMIT_MEMLOCK as a 4.4+ kernel charges it, for the
 * user-space engine where the kernel cannot (no MLOCK_ONFAULT: pending
 * ranges are not VM_LOCKED, so the kernel does not count them).
 *
 * In emulation every managed range is VM_LOCKED (sigsegv.h), so what
 * the program has locked, as a 4.4+ kernel would count it, is the
 * kernel's own count (VmLck). The kernel's mlock would charge a range
 * exactly right, but it cannot be asked first: it would populate. The
 * engine checks ahead, by the kernel's rules (mm/mlock.c):
 *  - mlock, mlock2: locked + the range's pages over the limit, without
 *    CAP_IPC_LOCK, is ENOMEM unless the pages of the range that are
 *    locked already bring it back under; nothing is changed.
 *  - mlockall(MCL_CURRENT): the whole address space (VmSize) must fit.
 *  - a mapping made under MCL_FUTURE: locked + its pages over the limit
 *    is EAGAIN.
 *  - mmap(MAP_FIXED|MAP_LOCKED), under every engine (charge_map_locked):
 *    the kernel checks the limit before it replaces the old mapping,
 *    which cannot be undone, so its answer is needed before the mmap
 *    without MAP_LOCKED: a limit of 0 without CAP_IPC_LOCK is EPERM,
 *    locked + its pages over the limit EAGAIN (can_do_mlock and
 *    mlock_future_ok in mm/mmap.c).
 * A limit of 0 without CAP_IPC_LOCK is EPERM, which the callers take
 * from the kernel itself (an mlock of no bytes).
 *
 * Everything here reads /proc (status, and smaps only near the limit), under the table lock, outside any signal handler. Where /proc
 * cannot be read the call is let through: the kernel still enforces
 * the limit on every batch it locks.
 */
#include "config.h"
#include "sigsegv.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>

#include "kernel.h"
#include "log.h"
#include "maps.h"
#include "region.h"
#include "sys.h"

/* A "Name:   123 kB" field of /proc/self/status, in pages, or -1. */
static long status_pages(const char *name)
{
	char buf[4096];
	size_t nlen = strlen(name);
	int fd = sys_open("/proc/self/status", O_RDONLY, 0);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = sys_read(fd, buf, sizeof(buf) - 1);
	sys_close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	for (char *p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : p) {
		unsigned long kb = 0;

		if (strncmp(p, name, nlen) != 0)
			continue;
		for (p += nlen; *p == ' ' || *p == '\t'; p++)
			;
		for (; *p >= '0' && *p <= '9'; p++)
			kb = kb * 10 + (unsigned long)(*p - '0');
		return (long)((kb << 10) >> lof_page_shift);
	}
	return -1;
}

/* Pages of [s, e) the kernel locks (VmFlags "lo"), from smaps. */
struct smaps_ctx {
	uintptr_t s, e;
	uintptr_t vs, ve;	/* the VMA whose fields are being read */
	unsigned long pages;
};

static int smaps_line(char *line, void *arg)
{
	struct smaps_ctx *c = arg;
	struct maps_entry m;

	if (maps_parse_line(line, &m) == 0) {
		c->vs = m.start > c->s ? m.start : c->s;
		c->ve = m.end < c->e ? m.end : c->e;
		return 0;
	}
	if (strncmp(line, "VmFlags:", 8) || c->vs >= c->ve)
		return 0;
	for (char *p = line + 8; *p; p++) {
		if (p[0] == ' ' && p[1] == 'l' && p[2] == 'o' &&
		    (p[3] == ' ' || p[3] == '\0')) {
			c->pages += (c->ve - c->vs) >> lof_page_shift;
			break;
		}
	}
	c->vs = c->ve = 0;
	return 0;
}

static long kernel_locked_in(uintptr_t s, uintptr_t e)
{
	struct smaps_ctx c = { .s = s, .e = e };

	if (maps_read_lines("/proc/self/smaps", smaps_line, &c) < 0)
		return -1;
	return (long)c.pages;
}

/*
 * What the program has locked, in pages: the kernel's own count, since
 * pending pages are VM_LOCKED in emulation.
 */
static long locked_now(void)
{
	return status_pages("VmLck:");
}

static int over(unsigned long pages)
{
	uint64_t lim = kernel_memlock_limit();

	if (lim == UINT64_MAX || kernel_cap_ipc_lock())
		return 0;
	return pages > (lim >> lof_page_shift);
}

int charge_range(uintptr_t s, uintptr_t e)
{
	long locked = locked_now(), already;
	unsigned long pages = (e - s) >> lof_page_shift;

	if (locked < 0 || !over((unsigned long)locked + pages))
		return 0;
	/* The pages of the range that are locked already are not new. */
	already = kernel_locked_in(s, e);
	if (already < 0)
		return 0;
	if (over((unsigned long)(locked - already) + pages))
		return -ENOMEM;
	return 0;
}

int charge_all(void)
{
	long total = status_pages("VmSize:");

	return total >= 0 && over((unsigned long)total) ? -ENOMEM : 0;
}

int charge_future(size_t len)
{
	long locked = locked_now();
	unsigned long pages = page_up(len) >> lof_page_shift;

	return locked >= 0 && over((unsigned long)locked + pages) ? -EAGAIN : 0;
}

int charge_map_locked(size_t len)
{
	if (!kernel_cap_ipc_lock() && kernel_memlock_limit() == 0)
		return -EPERM;
	return charge_future(len);
}
