/*
 * fuzz-gen.c - the differential fuzzer's program generator (issue 12).
 *
 * fz_generate() turns a seed into a whole program at once, before any
 * operation runs, from a rough model of its own (which records are
 * mapped and how long they are, assuming every call succeeds). An
 * operation therefore never depends on what the kernel answered, and
 * skipping operations (lof-fuzz -k, the driver's delta debugging) leaves
 * the others exactly as they were. Operations name a record and byte
 * offsets from its base; lof-fuzz resolves them when it runs them.
 *
 * fz_describe() writes an operation as a C-like call: the trace's lines
 * and the reproducers under test/fuzz/cases/ read as a program.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "fuzz.h"

static unsigned long rng_state;
static unsigned int gen_mask;
int fz_linux43;

static unsigned long rnd(void)
{
	unsigned long z = (rng_state += 0x9e3779b97f4a7c15UL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9UL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebUL;
	return z ^ (z >> 31);
}

static unsigned long below(unsigned long n)
{
	return n ? rnd() % n : 0;
}

static int pct(int p)
{
	return (int)below(100) < p;
}

static const char *const names[O_NOPS] = {
	"mmap", "mmap_fixed", "munmap", "mlock", "mlock2", "munlock",
	"mlockall", "munlockall", "mprotect", "mremap", "madvise",
	"write", "read", "pread", "pwrite", "piperead", "readv",
	"mincore", "fork", "thread", "check",
};

/* Relative weights of the operations in a program. */
static const int weight[O_NOPS] = {
	[O_MMAP] = 8, [O_MMAP_FIXED] = 3, [O_MUNMAP] = 4, [O_MLOCK] = 10,
	[O_MLOCK2] = 6, [O_MUNLOCK] = 6, [O_MLOCKALL] = 2,
	[O_MUNLOCKALL] = 2, [O_MPROTECT] = 7, [O_MREMAP] = 5,
	[O_MADVISE] = 5, [O_WRITE] = 14, [O_READ] = 10, [O_SYSREAD] = 3,
	[O_SYSWRITE] = 3, [O_PIPEREAD] = 2, [O_READV] = 2, [O_MINCORE] = 2,
	[O_FORK] = 3, [O_THREAD] = 3, [O_CHECK] = 5,
};

const char *fz_opname(int type)
{
	return type >= 0 && type < O_NOPS ? names[type] : "?";
}

int fz_opnum(const char *name)
{
	for (int i = 0; i < O_NOPS; i++)
		if (!strcmp(name, names[i]))
			return i;
	if (!strcmp(name, "plainpop"))
		return F_PLAINPOP;
	if (!strcmp(name, "populate"))
		return F_POPULATE;
	return -1;
}

/* The generator's own view of the records. */
static struct {
	int mapped;
	int kind;
	unsigned long len;
} g[FZ_NREC];

static unsigned long gen_pages(void)
{
	int c = (int)below(100);

	if (c < 25)
		return 1;
	if (c < 60)
		return 2 + below(15);
	if (c < 85)
		return 17 + below(240);
	if (c < 95)
		return 257 + below(3840);
	return 4097 + below(12288);	/* up to 64 MiB */
}

/* An offset into a record of gen length len: aligned, unaligned, or a
 * page before it (a hole). */
static long gen_off(unsigned long len)
{
	int c = (int)below(100);

	if (c < 30)
		return 0;
	if (c < 35)
		return -(long)FZ_PAGE;
	if (c < 75)
		return (long)(below(len / FZ_PAGE + 1) * FZ_PAGE);
	return (long)below(len + 1);
}

/* A length from off in a record of gen length len: zero, huge, to the
 * end, a few pages or bytes, or past the end. */
static unsigned long gen_len(long off, unsigned long len)
{
	int c = (int)below(100);
	unsigned long rest = off < (long)len ? len - (unsigned long)off : 0;

	if (c < 4)
		return 0;
	if (c < 7)
		/* 16 TiB from the arena ends in the hole above it, below
		 * the program's own text and heap: a huge munmap or
		 * madvise must not reach them. */
		return pct(50) ? 1UL << 44 : -FZ_PAGE;
	if (c < 35)
		return rest ? rest : FZ_PAGE;
	if (c < 70)
		return (1 + below(4)) * FZ_PAGE - (pct(30) ? below(FZ_PAGE) : 0);
	if (c < 90)
		return 1 + below(rest + 1);
	return rest + (1 + below(3)) * FZ_PAGE;	/* past the end */
}

/* Access lengths stay bounded: no huge ones. */
static unsigned long gen_acc_len(long off, unsigned long len)
{
	unsigned long l = gen_len(off, len);

	if (l > (80UL << 20))
		l = FZ_PAGE + below(FZ_PAGE);
	return l;
}

static int pick_rec(int want_mapped)
{
	int r = (int)below(FZ_NREC);

	for (int i = 0; i < FZ_NREC; i++) {
		int c = (r + i) % FZ_NREC;

		if (g[c].mapped == want_mapped)
			return c;
	}
	return r;
}

static int gen_prot(void)
{
	static const int p[] = {
		PROT_READ | PROT_WRITE, PROT_READ | PROT_WRITE,
		PROT_READ | PROT_WRITE, PROT_READ, PROT_NONE,
		PROT_READ | PROT_EXEC, PROT_READ | PROT_WRITE | PROT_EXEC,
	};
	return p[below(sizeof(p) / sizeof(p[0]))];
}

static int gen_kind(void)
{
	int c = (int)below(100);

	if (c < 35)
		return K_ANON_P;
	if (c < 55)
		return K_ANON_S;
	if (c < 80)
		return K_FILE_S;
	return K_FILE_P;
}

static void gen_mmap(struct fz_op *o, int r)
{
	o->type = O_MMAP;
	o->r = r;
	o->kind = gen_kind();
	o->len = gen_pages() * FZ_PAGE;
	if (pct(5))
		o->len -= below(FZ_PAGE);	/* unaligned length */
	o->prot = pct(80) ? PROT_READ | PROT_WRITE : gen_prot();
	o->flags = 0;
	if (pct(25))
		o->flags |= MAP_LOCKED;
	if (pct(5) && (gen_mask & (1U << F_POPULATE)))
		o->flags |= MAP_POPULATE;
	/* arg: 1 = place right after the previous record's mapping */
	o->arg = r > 0 && g[r - 1].mapped && pct(30);
	o->foff = below(FZ_FILE_PAGES);
	if (o->kind == K_FILE_S || o->kind == K_FILE_P)
		if (o->foff * FZ_PAGE + o->len > FZ_FILE_PAGES * FZ_PAGE &&
		    pct(70))
			o->foff = 0;
	g[r].mapped = 1;
	g[r].kind = o->kind;
	g[r].len = (o->len + FZ_PAGE - 1) & ~(FZ_PAGE - 1);
}

static int pick_type(unsigned int mask)
{
	int total = 0, c;

	for (int i = 0; i < O_NOPS; i++)
		if (mask & (1U << i))
			total += weight[i];
	if (!total)
		return O_CHECK;
	c = (int)below((unsigned long)total);
	for (int i = 0; i < O_NOPS; i++) {
		if (!(mask & (1U << i)))
			continue;
		if (c < weight[i])
			return i;
		c -= weight[i];
	}
	return O_CHECK;
}

static void gen_one(struct fz_op *o, unsigned int mask)
{
	int t = pick_type(mask);
	int r = pick_rec(pct(90));
	unsigned long len = g[r].mapped ? g[r].len : 4 * FZ_PAGE;

	memset(o, 0, sizeof(*o));
	o->type = t;
	o->r = r;
	o->q = pick_rec(pct(50));
	if (o->q == r)
		o->q = (r + 1) % FZ_NREC;
	o->off = gen_off(len);
	o->val = 1 + (int)below(255);
	switch (t) {
	case O_MMAP:
		gen_mmap(o, pick_rec(pct(80) ? 0 : 1));
		return;
	case O_MMAP_FIXED:
		o->kind = gen_kind();
		o->prot = pct(80) ? PROT_READ | PROT_WRITE : gen_prot();
		o->len = (1 + below(len / FZ_PAGE + 1)) * FZ_PAGE;
		o->off &= ~(long)(FZ_PAGE - 1);
		o->flags = pct(20) ? MAP_LOCKED : 0;
		o->foff = below(FZ_FILE_PAGES);
		return;
	case O_MUNMAP:
		o->len = pct(50) ? len : gen_len(o->off, len);
		if (pct(50))
			o->off = 0;
		if (o->off <= 0 && o->len >= len)
			g[r].mapped = 0;
		return;
	case O_MLOCK:
	case O_MUNLOCK:
	case O_MPROTECT:
	case O_MADVISE:
	case O_MLOCK2:
		o->len = gen_len(o->off, len);
		if (t == O_MLOCK2) {
			static const int f[] = { 0, 0, 0, MLOCK_ONFAULT,
						 MLOCK_ONFAULT, MLOCK_ONFAULT,
						 MLOCK_ONFAULT, 2 };
			o->arg = f[below(8)];
		}
		if (t == O_MPROTECT)
			o->prot = gen_prot();
		if (t == O_MADVISE) {
			static const int a[] = {
				MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL,
				MADV_WILLNEED, MADV_DONTNEED, MADV_DONTNEED,
				MADV_COLD, MADV_PAGEOUT, 22 /* POPULATE_READ */,
				23 /* POPULATE_WRITE */, MADV_DONTFORK,
				MADV_DOFORK, 999,
			};
			/* The same draw for Linux 4.3 (-4), which lacks
			 * COLD, PAGEOUT and POPULATE_*: older advice. */
			static const int a43[] = {
				MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL,
				MADV_WILLNEED, MADV_DONTNEED, MADV_DONTNEED,
				MADV_SEQUENTIAL, MADV_RANDOM, MADV_WILLNEED,
				MADV_WILLNEED, MADV_DONTFORK, MADV_DOFORK, 999,
			};
			unsigned long k = below(sizeof(a) / sizeof(a[0]));

			o->arg = fz_linux43 ? a43[k] : a[k];
			if (!(mask & (1U << F_POPULATE)) &&
			    (o->arg == 22 || o->arg == 23))
				o->arg = MADV_WILLNEED;
		}
		return;
	case O_MLOCKALL: {
		static const int f[] = {
			MCL_CURRENT, MCL_FUTURE, MCL_CURRENT | MCL_FUTURE,
			MCL_CURRENT | MCL_ONFAULT, MCL_FUTURE | MCL_ONFAULT,
			MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT, 0, MCL_ONFAULT,
			8,
		};
		o->arg = f[below(sizeof(f) / sizeof(f[0]))];
		return;
	}
	case O_MUNLOCKALL:
	case O_CHECK:
	case O_FORK:
		o->len = gen_acc_len(o->off, len);
		o->off2 = gen_off(g[o->q].len);
		o->len2 = gen_acc_len(o->off2, g[o->q].len);
		return;
	case O_MREMAP:
		o->off = pct(70) ? 0 : o->off & ~(long)(FZ_PAGE - 1);
		o->len = pct(70) ? len : (1 + below(len / FZ_PAGE + 1)) * FZ_PAGE;
		o->arg = (int)below(4);
		if (o->arg == RM_DUP)
			o->len = 0;
		o->len2 = pct(50) ? o->len * 2 :
			(1 + below(2 * len / FZ_PAGE + 1)) * FZ_PAGE;
		if (pct(5))
			o->len2 = 0;
		if (o->off == 0 && o->len >= len && o->arg != RM_FIXED)
			g[r].len = o->len2 ? o->len2 : g[r].len;
		return;
	case O_WRITE:
	case O_READ:
	case O_SYSREAD:
	case O_SYSWRITE:
	case O_PIPEREAD:
	case O_MINCORE:
		o->len = gen_acc_len(o->off, len);
		if (t == O_PIPEREAD && o->len > 65536)
			o->len = 1 + below(65536);
		o->foff = below(FZ_FILE_PAGES * FZ_PAGE);
		o->arg = pct(30);	/* mincore: vec in the arena */
		o->off2 = gen_off(g[o->q].len);
		return;
	case O_READV:
		o->len = 1 + below(16384);
		o->off2 = gen_off(g[o->q].len);
		o->len2 = 1 + below(16384);
		return;
	case O_THREAD:
		o->len = gen_acc_len(o->off, len);
		o->off2 = gen_off(g[o->q].len);
		o->len2 = gen_acc_len(o->off2, g[o->q].len);
		return;
	}
}

void fz_generate(struct fz_prog *p, unsigned long seed, int nops,
		 unsigned int opmask)
{
	int i = 0;

	memset(g, 0, sizeof(g));
	rng_state = seed * 0x2545f4914f6cdd1dUL + 1;
	p->seed = seed;
	p->opmask = opmask;
	gen_mask = opmask;
	if (nops > FZ_MAX_OPS)
		nops = FZ_MAX_OPS;
	/* A program starts by mapping a few records. */
	for (; i < 3 && i < nops; i++) {
		memset(&p->op[i], 0, sizeof(p->op[i]));
		gen_mmap(&p->op[i], i * 3 % FZ_NREC == 0 ? 0 : i);
		if (!(opmask & (1U << O_MMAP)))
			p->op[i].type = O_CHECK;
	}
	for (; i < nops; i++)
		gen_one(&p->op[i], opmask);
	/* A program ends with a checkpoint, unless checkpoints are out. */
	if (nops > 0 && (opmask & (1U << O_CHECK)))
		p->op[nops - 1].type = O_CHECK;
	p->nops = nops;
}

static const char *kname(int k)
{
	static const char *const n[K_NKIND] = {
		"none", "anon_private", "anon_shared", "file_shared",
		"file_private"
	};
	return k >= 0 && k < K_NKIND ? n[k] : "?";
}

static const char *pname(int p)
{
	static char b[8][24];
	static int i;
	char *s = b[i++ & 7];

	if (!p)
		return "PROT_NONE";
	snprintf(s, 24, "%s%s%s", p & PROT_READ ? "R" : "",
		 p & PROT_WRITE ? "W" : "", p & PROT_EXEC ? "X" : "");
	return s;
}

/* "r3+0x1000" style address of record r, byte offset off. */
static const char *at(int r, long off)
{
	static char b[8][32];
	static int i;
	char *s = b[i++ & 7];

	if (off < 0)
		snprintf(s, 32, "r%d-0x%lx", r, (unsigned long)-off);
	else
		snprintf(s, 32, "r%d+0x%lx", r, (unsigned long)off);
	return s;
}

int fz_describe(const struct fz_op *o, char *b, size_t n)
{
	const char *nm = fz_opname(o->type);

	switch (o->type) {
	case O_MMAP:
		return snprintf(b, n, "r%d = mmap(%s, 0x%lx, %s, %s%s%s, pg %lu)%s",
				o->r, o->arg ? "after r-1" : "own", o->len,
				pname(o->prot), kname(o->kind),
				o->flags & MAP_LOCKED ? "|LOCKED" : "",
				o->flags & MAP_POPULATE ? "|POPULATE" : "",
				o->foff, "");
	case O_MMAP_FIXED:
		return snprintf(b, n, "mmap(%s, 0x%lx, %s, %s|FIXED%s, pg %lu)",
				at(o->r, o->off), o->len, pname(o->prot),
				kname(o->kind),
				o->flags & MAP_LOCKED ? "|LOCKED" : "", o->foff);
	case O_MLOCK2:
		return snprintf(b, n, "mlock2(%s, 0x%lx, %d)", at(o->r, o->off),
				o->len, o->arg);
	case O_MPROTECT:
		return snprintf(b, n, "mprotect(%s, 0x%lx, %s)",
				at(o->r, o->off), o->len, pname(o->prot));
	case O_MADVISE:
		return snprintf(b, n, "madvise(%s, 0x%lx, %d)",
				at(o->r, o->off), o->len, o->arg);
	case O_MLOCKALL:
		return snprintf(b, n, "mlockall(%d)", o->arg);
	case O_MUNLOCKALL:
		return snprintf(b, n, "munlockall()");
	case O_CHECK:
		return snprintf(b, n, "check()");
	case O_MREMAP: {
		static const char *const s[] = { "0", "MAYMOVE",
						 "MAYMOVE|FIXED", "dup" };
		return snprintf(b, n, "mremap(%s, 0x%lx, 0x%lx, %s%s%s)",
				at(o->r, o->off), o->len, o->len2, s[o->arg & 3],
				o->arg == RM_FIXED || o->arg == RM_DUP ?
				" -> " : "",
				o->arg == RM_FIXED || o->arg == RM_DUP ?
				at(o->q, (long)(FZ_REGION / 2)) : "");
	}
	case O_WRITE:
		return snprintf(b, n, "memset(%s, 0x%02x, 0x%lx)",
				at(o->r, o->off), o->val, o->len);
	case O_READ:
		return snprintf(b, n, "read_check(%s, 0x%lx)",
				at(o->r, o->off), o->len);
	case O_SYSREAD:
		return snprintf(b, n, "pread(datafd, %s, 0x%lx, 0x%lx)",
				at(o->r, o->off), o->len, o->foff);
	case O_SYSWRITE:
		return snprintf(b, n, "pwrite(scratchfd, %s, 0x%lx, 0)",
				at(o->r, o->off), o->len);
	case O_PIPEREAD:
		return snprintf(b, n, "read(pipe, %s, 0x%lx)",
				at(o->r, o->off), o->len);
	case O_READV:
		return snprintf(b, n, "readv(pipe, {%s, 0x%lx}, {%s, 0x%lx})",
				at(o->r, o->off), o->len, at(o->q, o->off2),
				o->len2);
	case O_MINCORE:
		return snprintf(b, n, "mincore(%s, 0x%lx, %s)",
				at(o->r, o->off), o->len,
				o->arg ? at(o->q, o->off2) : "heap");
	case O_FORK:
		return snprintf(b, n, "fork(child: read_check(%s, 0x%lx), "
				"memset(%s, 0x%02x, 0x%lx), new mapping)",
				at(o->r, o->off), o->len, at(o->q, o->off2),
				o->val, o->len2);
	case O_THREAD:
		return snprintf(b, n, "thread(memset(%s, 0x%02x, 0x%lx)) || "
				"read_check(%s, 0x%lx)", at(o->r, o->off),
				o->val, o->len, at(o->q, o->off2), o->len2);
	default:
		return snprintf(b, n, "%s(%s, 0x%lx)", nm, at(o->r, o->off),
				o->len);
	}
}
