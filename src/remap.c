/*
 * remap.c - mremap over a range the engine split into several kernel
 * mappings.
 *
 * The kernel moves or grows one mapping (VMA) only: an old range that
 * spans two gets EFAULT. Under the kernel's own lock-on-fault a locked
 * range stays one VMA; under the engine its pending and opened pieces
 * are separate VMAs, and opening them all again does not always make
 * them one: a piece first faulted while its neighbours were PROT_NONE
 * got an anon_vma of its own, and the kernel never merges two VMAs
 * with different anon_vmas. The program, which asked for one range,
 * would get EFAULT where the kernel grows or moves it (issue 12 d).
 *
 * So when the kernel answers EFAULT for a released managed range, and
 * the VMAs covering it differ only where the engine cut them (the
 * range lay inside one managed piece, and its VMAs now have the same
 * protection, sharing and file at consecutive offsets, and the same
 * VmFlags but for protection and lock), the call is
 * done piece by piece, as the kernel would have done it on one VMA:
 *  - growth in place extends the last piece, when the range ends where
 *    the program's mapping ends; ENOMEM, as the kernel, when there is
 *    no room and the call may not move;
 *  - a move (MREMAP_MAYMOVE without room, MREMAP_FIXED, MREMAP_DONTUNMAP)
 *    reserves the destination, then moves each piece to its offset
 *    there with MREMAP_FIXED, the last one grown; if one fails, the
 *    pieces moved already go back, and the kernel's errno is returned.
 * Anything else keeps the kernel's EFAULT.
 *
 * The pieces may outlive the table: once the program unlocks the range
 * (munlock, munlockall) nothing managed is left, but the VMAs the
 * engine cut stay apart where their anon_vmas differ, and the kernel
 * refuses an mremap it grows in place under its own lock-on-fault
 * (the fuzzer's sim43 ret:mremap, got EFAULT). So every private range
 * the engine cuts is remembered as a scar (sig_scar), and a kernel
 * EFAULT inside one scar is treated as inside one managed piece. The
 * list is bounded: when it is full the two closest scars become one,
 * which can only widen what is taken for one range, the difference
 * below.
 *
 * Known difference: two mappings the program made side by side, both
 * locked, that the kernel keeps apart only by their anon_vma, look to
 * the engine like one range it split, so an mremap across them moves
 * where the kernel says EFAULT (liblockonfault(7), BUGS).
 *
 * Context: table lock held, not in a signal handler (reads
 * /proc/self/maps).
 */
#include "config.h"
#include "sigsegv.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "maps.h"
#include "region.h"

#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif

#define MAX_PIECES 64

struct vma {
	uintptr_t start, end;	/* clipped to the old range */
	uintptr_t vma_end;
	unsigned long offset, inode, path;
	int prot, shared;
};

struct vmas {
	struct vma v[MAX_PIECES];
	size_t n;
	int overflow;
};

static unsigned long path_hash(const char *p)
{
	unsigned long h = 5381;

	while (*p)
		h = h * 33 + (unsigned char)*p++;
	return h;
}

static int collect(const struct maps_entry *m, void *arg)
{
	struct vmas *w = arg;
	struct vma *v;

	if (w->n == MAX_PIECES) {
		w->overflow = 1;
		return 1;
	}
	v = &w->v[w->n++];
	v->start = m->start;
	v->end = m->end;
	v->vma_end = m->vma_end;
	v->offset = m->offset;
	v->inode = m->inode;
	v->path = path_hash(m->path);
	v->prot = m->prot;
	v->shared = m->shared;
	return 0;
}

/* Would the kernel have kept a and b (a just below b) as one VMA? */
static int joinable(const struct vma *a, const struct vma *b)
{
	return a->end == b->start && a->prot == b->prot &&
	       a->shared == b->shared && a->inode == b->inode &&
	       a->path == b->path &&
	       (!a->inode || a->offset + (a->end - a->start) == b->offset);
}

/*
 * The VmFlags of the mappings of [s, e) must be the same but for what
 * the engine changes (the protection: rd wr ex; the lock: lo lf) and
 * the accounting (ac): a hint the program gave part of the range
 * (madvise: rr sr dc wf hg nh mg ...) or its own lock splits a VMA the
 * kernel would not remap as one either.
 */
struct hints_ctx {
	uintptr_t s, e;
	int in;			/* the current VMA intersects [s, e) */
	char first[256];	/* the first VMA's flags, normalized */
	int have, differ;
};

/* VmFlags' two-letter names, less those the engine may change. */
static void normalize(const char *flags, char *out, size_t outlen)
{
	static const char *const ignored[] = { "rd", "wr", "ex", "lo", "lf",
					       "ac" };
	size_t o = 0;

	for (const char *p = flags; *p; p++) {
		int skip = 0;

		if (p[0] == ' ' || !p[1])
			continue;
		for (size_t i = 0; i < ARRAY_SIZE(ignored); i++)
			skip |= p[0] == ignored[i][0] && p[1] == ignored[i][1];
		if (!skip && o + 3 < outlen) {
			out[o++] = p[0];
			out[o++] = p[1];
			out[o++] = ' ';
		}
		p++;
	}
	out[o] = '\0';
}

static int hints_line(char *line, void *arg)
{
	struct hints_ctx *c = arg;
	struct maps_entry m;
	char norm[256];

	if (maps_parse_line(line, &m) == 0) {
		if (m.start >= c->e)
			return 1;	/* sorted: done */
		c->in = m.end > c->s;
		return 0;
	}
	if (!c->in || strncmp(line, "VmFlags:", 8))
		return 0;
	normalize(line + 8, norm, sizeof(norm));
	if (!c->have) {
		memcpy(c->first, norm, sizeof(norm));
		c->have = 1;
	} else if (strcmp(c->first, norm)) {
		c->differ = 1;
		return 1;
	}
	c->in = 0;
	return 0;
}

static int same_hints(uintptr_t s, uintptr_t e)
{
	struct hints_ctx c = { .s = s, .e = e };

	maps_read_lines("/proc/self/smaps", hints_line, &c);
	return !c.differ;
}

/* Private ranges the engine cut into pieces; table lock held. */
static struct sig_pieces scars;

void sig_scar(uintptr_t s, uintptr_t e)
{
	size_t i, j, best = 0;
	uintptr_t gap = UINTPTR_MAX;

	for (i = 0; i < scars.n; i++)
		if (scars.start[i] <= e && s <= scars.end[i])
			break;
	if (i < scars.n) {	/* overlaps or touches: widen that one */
		if (s < scars.start[i])
			scars.start[i] = s;
		if (e > scars.end[i])
			scars.end[i] = e;
		return;
	}
	if (scars.n == ARRAY_SIZE(scars.start)) {
		/* Full: the two closest become one (in address order). */
		for (i = 0; i < scars.n; i++)
			for (j = 0; j < scars.n; j++) {
				uintptr_t d;

				if (scars.start[j] < scars.end[i])
					continue;
				d = scars.start[j] - scars.end[i];
				if (d < gap) {
					gap = d;
					best = i * scars.n + j;
				}
			}
		i = best / scars.n;
		j = best % scars.n;
		scars.end[i] = scars.end[j];
		scars.start[j] = scars.start[--scars.n];
		scars.end[j] = scars.end[scars.n];
	}
	scars.start[scars.n] = s;
	scars.end[scars.n++] = e;
}

int sig_scarred(uintptr_t s, uintptr_t e)
{
	for (size_t i = 0; i < scars.n; i++)
		if (scars.start[i] < e && s < scars.end[i])
			return 1;
	return 0;
}

/* Is [s, e) inside one managed piece (what the kernel keeps one VMA)? */
static int inside_one(const struct sig_pieces *pc, uintptr_t s, uintptr_t e)
{
	for (size_t i = 0; i < pc->n; i++)
		if (pc->start[i] <= s && e <= pc->end[i])
			return 1;
	return 0;
}

/*
 * Where the caller found no lock edge in the range: could the engine
 * have made each boundary between the VMAs of w? Those inside or at the
 * edge of a scar (or of a managed piece) it could: its pieces got
 * anon_vmas of their own, and so did the memory beside them, first
 * written while they were pending or locked the ordinary way.
 */
static int ours_all(const struct vmas *w, const struct sig_pieces *pc)
{
	for (size_t i = 1; i < w->n; i++) {
		uintptr_t b = w->v[i].start;
		int ok = 0;

		for (size_t j = 0; !ok && j < pc->n; j++)
			ok = pc->start[j] <= b && b <= pc->end[j];
		for (size_t j = 0; !ok && j < scars.n; j++)
			ok = scars.start[j] <= b && b <= scars.end[j];
		if (!ok)
			return 0;
	}
	return 1;
}

/* Is the boundary at b strictly inside one of the managed pieces? */
static int cut_by_us(const struct sig_pieces *pc, uintptr_t b)
{
	for (size_t i = 0; i < pc->n; i++)
		if (pc->start[i] < b && b < pc->end[i])
			return 1;
	return 0;
}

void sig_pieces_collect(struct sig_pieces *pc, uintptr_t s, uintptr_t e)
{
	struct region buf[MAX_PIECES];
	size_t n = region_collect(&lof_regions, s, e, buf, ARRAY_SIZE(buf));

	pc->n = 0;
	for (size_t i = 0; i < n && i < ARRAY_SIZE(buf); i++) {
		uintptr_t a = buf[i].start, b = buf[i].end;

		if (pc->n && pc->end[pc->n - 1] == a)
			pc->end[pc->n - 1] = b;	/* one piece for us */
		else if (pc->n < ARRAY_SIZE(pc->start)) {
			pc->start[pc->n] = a;
			pc->end[pc->n++] = b;
		}
	}
}

/* Put pieces [0, k) moved to d back where they were. */
static void undo(const struct vmas *w, size_t k, uintptr_t s, uintptr_t d)
{
	for (size_t i = 0; i < k; i++) {
		size_t len = w->v[i].end - w->v[i].start;

		sys_mremap((void *)(d + (w->v[i].start - s)), len, len,
			   MREMAP_MAYMOVE | MREMAP_FIXED,
			   (void *)w->v[i].start);
	}
}

/* Move the pieces of [s, e) to d, the last one grown to end at d + n. */
static long move(const struct vmas *w, uintptr_t s, uintptr_t e, size_t n,
		 int flags, uintptr_t d)
{
	int mflags = MREMAP_MAYMOVE | MREMAP_FIXED | (flags & MREMAP_DONTUNMAP);

	for (size_t i = 0; i < w->n; i++) {
		const struct vma *v = &w->v[i];
		size_t len = v->end - v->start, nlen = len;
		long r;

		if (i == w->n - 1)
			nlen = d + n - (d + (v->start - s));
		r = sys_mremap((void *)v->start, len, nlen, mflags,
			       (void *)(d + (v->start - s)));
		if (r < 0 && r > -4096) {
			undo(w, i, s, d);
			return r;
		}
	}
	(void)e;
	return (long)d;
}

/*
 * The other half: an edge the engine erases. Under the kernel's own
 * lock-on-fault a locked range is a VMA apart from an unlocked
 * neighbour (VM_LOCKED|VM_LOCKONFAULT differ), so an mremap that needs
 * one VMA and crosses such an edge gets EFAULT. In batch-lock mode the
 * release opens and unlocks the whole old range first, the edge is
 * gone, and the kernel would grow or move what it refuses under its
 * own lock-on-fault (issue 12 d, the fuzzer's sim43 ret:mremap).
 *
 * Which calls need one VMA, and over how much of the old range, as
 * Linux 6.18 answers (probed across an MLOCK_ONFAULT edge): growth (in
 * place or MREMAP_MAYMOVE) over the old range; a move to a new address
 * (MREMAP_FIXED, MREMAP_DONTUNMAP) over the old range, or over its
 * first new_len bytes when it shrinks (the kernel cuts the tail off
 * first); never a pure move (MREMAP_FIXED, same length), which the
 * kernel does VMA by VMA since Linux 6.17, nor a shrink in place or a
 * same-length call without a new address.
 * Return: the length from the old address that must be one VMA, or 0.
 */
static size_t needs_one_vma(uintptr_t s, size_t old_len, size_t new_len,
			    int flags, uintptr_t d)
{
	size_t o = page_up(old_len), n = page_up(new_len);

	/* The kernel's EINVAL comes first (check_mremap_params). */
	if (!o || !n || (flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED |
				   MREMAP_DONTUNMAP)))
		return 0;	/* EINVAL, or a duplicate */
	if ((flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) &&
	    !(flags & MREMAP_MAYMOVE))
		return 0;
	if ((flags & MREMAP_DONTUNMAP) && o != n)
		return 0;
	if ((flags & MREMAP_FIXED) &&
	    ((d & (lof_page_size - 1)) || (d < s + o && s < d + n)))
		return 0;	/* unaligned, or overlapping the old range */
	if (flags & MREMAP_FIXED)
		return o == n ? 0 : n < o ? n : o;
	return n > o || (flags & MREMAP_DONTUNMAP) ? o : 0;
}

struct edge_ctx {
	const struct sig_pieces *pc;
	uintptr_t at;		/* where the walk has got to */
	int locked, unlocked;
};

/* Mark the part [a, b) of a mapping: locked (VM_LOCKED) or not. */
static void edge_part(struct edge_ctx *c, uintptr_t a, uintptr_t b,
		      int vm_locked)
{
	const struct sig_pieces *pc = c->pc;
	uintptr_t covered = 0;

	if (vm_locked) {
		c->locked = 1;
		return;
	}
	for (size_t i = 0; i < pc->n; i++) {
		uintptr_t x = pc->start[i] > a ? pc->start[i] : a;
		uintptr_t y = pc->end[i] < b ? pc->end[i] : b;

		if (x < y)
			covered += y - x;
	}
	if (covered)
		c->locked = 1;
	if (covered < b - a)
		c->unlocked = 1;
}

static int edge_entry(const struct maps_entry *m, void *arg)
{
	struct edge_ctx *c = arg;

	if (m->start > c->at)
		c->unlocked = 1;	/* a hole: the kernel's EFAULT anyway */
	edge_part(c, m->start, m->end,
		  sys_msync((void *)m->start, m->end - m->start,
			    MS_INVALIDATE) == -EBUSY);
	c->at = m->end;
	return c->locked && c->unlocked;
}

int sig_remap_crosses_lock(uintptr_t s, size_t old_len, size_t new_len,
			   int flags, void *new_addr,
			   const struct sig_pieces *pc)
{
	size_t len = needs_one_vma(s, old_len, new_len, flags,
				   (uintptr_t)new_addr);
	uintptr_t e = s + len;
	struct edge_ctx c = { .pc = pc, .at = s };

	if (!len)
		return 0;
	if (maps_walk(s, e, edge_entry, &c) < 0)
		return 0;
	if (c.at < e)
		c.unlocked = 1;
	return c.locked && c.unlocked;
}

long sig_remap_pieces(void *old, size_t old_len, size_t new_len, int flags,
		      void *new_addr, const struct sig_pieces *pc, int scar_ok)
{
	long p = sys_mremap(old, old_len, new_len, flags, new_addr);
	uintptr_t s = (uintptr_t)old, e = page_up(s + old_len), ce = e, d;
	size_t n = page_up(new_len);
	struct vmas w = { .n = 0 };
	int at_end;

	if (p != -EFAULT || !old_len || !new_len)
		return p;
	/* A move that shrinks cuts the tail off first: only the rest counts. */
	if ((flags & MREMAP_FIXED) && n < e - s)
		ce = s + n;
	if (maps_walk(s, ce, collect, &w) || w.overflow || !w.n ||
	    w.v[0].start != s || w.v[w.n - 1].end != ce)
		return p;
	if (!inside_one(pc, s, ce) && !(scar_ok && ours_all(&w, pc)))
		return p;
	for (size_t i = 1; i < w.n; i++)
		if (!joinable(&w.v[i - 1], &w.v[i]))
			return p;
	if (!same_hints(s, ce))
		return p;

	if (flags & MREMAP_FIXED) {
		d = (uintptr_t)new_addr;
		if (ce < e) {
			/* The kernel shrinks first: the tail goes. */
			sys_munmap((void *)ce, e - ce);
			e = ce;
		}
		return move(&w, s, e, n, flags, d);
	}
	if (n < e - s || (n == e - s && !(flags & MREMAP_DONTUNMAP)))
		return p;	/* a shrink: not the kernel's EFAULT case */

	/*
	 * Where does the program's mapping end, as the kernel sees it? A
	 * managed piece going on past e, still pending or opened like
	 * the range, is the same mapping: no growth in place.
	 */
	at_end = w.v[w.n - 1].vma_end == e;
	if (at_end && cut_by_us(pc, e)) {
		struct vmas nx = { .n = 0 };

		if (maps_walk(e, e + 1, collect, &nx) == 0 && nx.n == 1) {
			struct vma last = w.v[w.n - 1];

			last.end = e;
			nx.v[0].start = e;
			if (nx.v[0].prot == PROT_NONE ||
			    joinable(&last, &nx.v[0]))
				at_end = 0;
		}
	}
	if (at_end && n > e - s) {
		const struct vma *l = &w.v[w.n - 1];
		long r = sys_mremap((void *)l->start, e - l->start,
				    e - l->start + (n - (e - s)), 0, NULL);

		if (!(r < 0 && r > -4096))
			return (long)s;
		if (r != -ENOMEM || !(flags & MREMAP_MAYMOVE))
			return r;
	} else if (!(flags & MREMAP_MAYMOVE)) {
		return -ENOMEM;
	}

	/* A move: the kernel picks the place, as for a new mapping. */
	p = sys_mmap(NULL, n, PROT_NONE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p < 0 && p > -4096)
		return -ENOMEM;
	d = (uintptr_t)p;
	p = move(&w, s, e, n, flags, d);
	if (p < 0 && p > -4096)
		sys_munmap((void *)d, n);
	return p;
}
