/*
 * lof-fuzz.c - the differential fuzzer's program (issue 12): run one
 * generated program and print what it observes.
 *
 *   lof-fuzz [-r] [-s SEED] [-n OPS] [-k SKIP] [-x OPS] [-l]
 *
 *   -r       reference: make the kernel's own lock-on-fault calls (mlock
 *            -> mlock2(MLOCK_ONFAULT), mlock2(0) -> mlock2(MLOCK_ONFAULT),
 *            mlockall(f) -> mlockall(f|MCL_ONFAULT), MAP_LOCKED -> mmap
 *            without it, then mlock2(MLOCK_ONFAULT)). Run without the
 *            library, this is the oracle. Without -r the program makes
 *            the plain calls, for the library to serve.
 *   -s SEED  the program (default 1); -n OPS its length (default 60)
 *   -k SKIP  operation indices not to run: "3,7,10-12" (the driver's
 *            delta debugging)
 *   -x OPS   operation names never generated ("fork,thread"): the
 *            bounded check's per-engine switches for open defects;
 *            "plainpop" is not an operation: a plain mlock or mlock2(0)
 *            of a range the kernel cannot populate (class
 *            plain-mlock-populate) is made as mlock2(MLOCK_ONFAULT) in
 *            every mode instead, and tagged ",made-onfault";
 *            "populate" is no MAP_POPULATE and no MADV_POPULATE_READ or
 *            _WRITE (MADV_WILLNEED instead); "check" also drops the
 *            final checkpoint (no lock state is compared at all)
 *   -l       list the program (with SKIP applied), do not run it
 *   -4       a program for Linux 4.3: no madvise advice it lacks (the
 *            same draws otherwise), for runs under test/sim43/lof-kernel43
 *
 * The trace (stdout) has a line per operation run, "#I call = result",
 * and lines "#I.what ..." for what the operation observed: acc (per
 * page: o accessible, S SIGSEGV, B SIGBUS), data (the shadow model's
 * check and a checksum), child (a fork child's own observations),
 * status (how the child ended), lock (checkpoints: fuzz-trace.c). A
 * call whose answer liblockonfault(7) documents as the library's own
 * carries a class tag, "[class=NAME]", for the driver's allow-list.
 *
 * Files: the data file (16 MiB, content fz_file_byte) and a scratch
 * file are created in $LOF_FUZZ_DIR (default .) and unlinked at once.
 *
 * LOF_FUZZ_LIB set (the driver's engine runs): without -r, exit with
 * FZ_NOLIB before anything runs if liblockonfault is not in the
 * process. ld.so only warns when it cannot load an LD_PRELOAD object
 * (a library being relinked, no memory) and runs the program without
 * it: the plain calls then go to the kernel, and under sim43 glibc's
 * mlock2 answers EINVAL for the kernel's ENOSYS, which is no answer
 * of the library's.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fuzz.h"

static struct fz_prog prog;
static unsigned char skip[FZ_MAX_OPS];
static int ref_mode;
static int data_fd = -1, scratch_fd = -1, pipe_fd[2] = { -1, -1 };

/* The records as they really are now. */
static struct {
	unsigned long addr, len;
	int mapped;
} rt[FZ_NREC];

static unsigned long region(int r)
{
	return FZ_ARENA_BASE + (unsigned long)r * FZ_REGION;
}

static const char *aoff(unsigned long a)
{
	static char b[4][32];
	static int i;
	char *s = b[i++ & 3];

	if (a >= FZ_ARENA_BASE && a < FZ_ARENA_BASE + FZ_ARENA_LEN)
		snprintf(s, 32, "A+0x%lx", a - FZ_ARENA_BASE);
	else if (a >= FZ_MODEL_BASE && a < FZ_ARENA_BASE)
		snprintf(s, 32, "A-0x%lx", FZ_ARENA_BASE - a);
	else
		snprintf(s, 32, "outside");
	return s;
}

/* ---- faults: a page at a time, under sigsetjmp ---- */

static __thread sigjmp_buf *tl_env;

static void on_fault(int sig, siginfo_t *si, void *uc)
{
	(void)si;
	(void)uc;
	if (tl_env)
		siglongjmp(*tl_env, sig);
	signal(sig, SIG_DFL);	/* a fault of the fuzzer itself: die */
}

static int try_piece(unsigned long x, unsigned long n, int wr, int val,
		     uint8_t *copy)
{
	sigjmp_buf env;
	int sig;

	tl_env = &env;
	sig = sigsetjmp(env, 1);
	if (!sig) {
		if (wr)
			memset((void *)x, val, n);
		else
			memcpy(copy, (const void *)x, n);
	}
	tl_env = NULL;
	return sig;
}

struct acc {
	unsigned long a, len;
	int wr, val;
	uint8_t *out;		/* per piece: 'o', 'S', 'B' */
	uint8_t *copy;		/* reads: the bytes */
	unsigned long npieces;
};

static unsigned long piece_len(unsigned long x, unsigned long end)
{
	unsigned long n = FZ_PAGE - (x & (FZ_PAGE - 1));

	return n < end - x ? n : end - x;
}

static void acc_run(struct acc *c)
{
	unsigned long x = c->a, end = c->a + c->len, i = 0;

	c->npieces = 0;
	if (!c->len)
		return;
	c->out = malloc(c->len / FZ_PAGE + 2);
	c->copy = c->wr ? NULL : malloc(c->len);
	if (!c->out || (!c->wr && !c->copy))
		abort();
	for (; x < end; i++) {
		unsigned long n = piece_len(x, end);
		int sig = try_piece(x, n, c->wr, c->val,
				    c->copy ? c->copy + (x - c->a) : NULL);

		c->out[i] = sig == SIGSEGV ? 'S' : sig == SIGBUS ? 'B' :
			sig ? '?' : 'o';
		x += n;
	}
	c->npieces = i;
}

static void acc_print(int idx, const char *tag, struct acc *c)
{
	char b[256];
	int o = 0;

	for (unsigned long i = 0; i < c->npieces && o < 200;) {
		unsigned long j = i;

		while (j < c->npieces && c->out[j] == c->out[i])
			j++;
		o += snprintf(b + o, sizeof(b) - (size_t)o, "%s%c%lu",
			      o ? "," : "", c->out[i], j - i);
		i = j;
	}
	b[o] = 0;
	fz_out("#%d.%s %s", idx, tag, c->npieces ? b : "none");
}

/* Writes: the model takes the pieces that went through. */
static void acc_model_write(struct acc *c)
{
	unsigned long x = c->a, end = c->a + c->len;

	for (unsigned long i = 0; x < end; i++) {
		unsigned long n = piece_len(x, end);

		if (c->out[i] == 'o')
			fz_model_store(x, NULL, c->val, n);
		x += n;
	}
}

/* Reads: compare with the model; print the check and a checksum. */
static void acc_check(int idx, const char *tag, struct acc *c)
{
	unsigned long x = c->a, end = c->a + c->len, unk = 0, mis = 0;
	uint32_t sum = 2166136261u;
	uint8_t want[FZ_PAGE];
	char bad[96] = "";

	for (unsigned long i = 0; x < end; i++) {
		unsigned long n = piece_len(x, end);
		const uint8_t *got = c->copy + (x - c->a);
		int k;

		if (c->out[i] != 'o') {
			x += n;
			continue;
		}
		fz_model_touch(x, n);
		for (unsigned long j = 0; j < n; j++)
			sum = (sum ^ got[j]) * 16777619u;
		k = fz_model_expect(x, want, n);
		if (k == 0)
			unk++;
		if (k < 0)
			mis++;
		if (k > 0 && !bad[0] && memcmp(got, want, n)) {
			unsigned long j = 0;

			while (got[j] == want[j])
				j++;
			snprintf(bad, sizeof(bad), "BAD at +0x%lx got 0x%02x want 0x%02x",
				 x + j - c->a, got[j], want[j]);
		}
		x += n;
	}
	fz_out("#%d.%s %s sum=%08x unk=%lu nofault=%lu", idx, tag,
	       bad[0] ? bad : "ok", sum, unk, mis);
}

static void acc_free(struct acc *c)
{
	free(c->out);
	free(c->copy);
	c->out = c->copy = NULL;
}

/* ---- the second thread ---- */

static pthread_mutex_t th_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t th_cv = PTHREAD_COND_INITIALIZER;
static struct acc *th_job;
static int th_done;

static void *th_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&th_mu);
	for (;;) {
		while (!th_job)
			pthread_cond_wait(&th_cv, &th_mu);
		pthread_mutex_unlock(&th_mu);
		acc_run(th_job);
		pthread_mutex_lock(&th_mu);
		th_job = NULL;
		th_done = 1;
		pthread_cond_broadcast(&th_cv);
	}
	return NULL;
}

/* ---- helpers for the calls ---- */

static void res(int idx, const char *desc, long r, int e, const char *tag)
{
	if (r < 0)
		fz_out("#%d %s = -1 %s%s", idx, desc, fz_errname(e), tag);
	else
		fz_out("#%d %s = %ld%s", idx, desc, r, tag);
}

/*
 * A plain mlock (not ONFAULT) of a range the kernel cannot populate: a
 * mapped PROT_NONE page, or a file page past the end of the file (or
 * of a shared anonymous object, grown by mremap). The
 * kernel answers ENOMEM there and its MLOCK_ONFAULT 0; liblockonfault(7)
 * documents that the library gives the plain call's answer. The model
 * follows every page the program can map, the page below the arena
 * (r0-0x1000) included: a page it has no entry for is a hole.
 */
static const char *plain_tag(unsigned long a, unsigned long len)
{
	if (len > FZ_ARENA_LEN)
		return "";
	for (unsigned long x = a & ~(FZ_PAGE - 1); x < a + len; x += FZ_PAGE) {
		struct fz_page *p = fz_pg(x);

		if (!p || !p->kind)
			return "";	/* a hole: ENOMEM either way */
	}
	for (unsigned long x = a & ~(FZ_PAGE - 1); x < a + len; x += FZ_PAGE) {
		struct fz_page *p = fz_pg(x);

		if (!(p->prot & PROT_READ) && !(p->prot & PROT_WRITE))
			return " [class=plain-mlock-populate]";
		if ((p->kind == K_FILE_S || p->kind == K_FILE_P) && !p->cow &&
		    p->fpg >= FZ_FILE_PAGES)
			return " [class=plain-mlock-populate]";
		if (p->kind == K_ANON_S && p->fpg >= p->objpages)
			return " [class=plain-mlock-populate]";
	}
	return "";
}

static int kind_fd(int kind, int *flags)
{
	switch (kind) {
	case K_ANON_P:
		*flags |= MAP_PRIVATE | MAP_ANONYMOUS;
		return -1;
	case K_ANON_S:
		*flags |= MAP_SHARED | MAP_ANONYMOUS;
		return -1;
	case K_FILE_S:
		*flags |= MAP_SHARED;
		return data_fd;
	default:
		*flags |= MAP_PRIVATE;
		return data_fd;
	}
}

static void *do_mmap(void *hint, unsigned long len, int prot, int flags,
		     int fd, off_t off)
{
	void *p;
	int locked = flags & MAP_LOCKED;

	if (ref_mode && locked)
		flags &= ~MAP_LOCKED;
	p = mmap(hint, len, prot, flags, fd, off);
	if (ref_mode && locked && p != MAP_FAILED) {
		int e = errno;

		mlock2(p, len, MLOCK_ONFAULT);
		errno = e;
	}
	return p;
}

static int do_mlock2(void *a, unsigned long len, int flags)
{
	if (ref_mode && (flags & ~MLOCK_ONFAULT) == 0)
		flags = MLOCK_ONFAULT;
	return mlock2(a, len, flags);
}

/* ---- the operations ---- */

/*
 * The kernel populated [a, a + len) for the program (MAP_POPULATE,
 * MADV_POPULATE_*): the pages count as touched, and a populate for
 * writing gave each private file page its own copy.
 */
static void populated(unsigned long a, unsigned long len, int wr)
{
	unsigned long end = a + len;

	if (end < a || end > FZ_ARENA_BASE + FZ_ARENA_LEN)
		end = FZ_ARENA_BASE + FZ_ARENA_LEN;
	for (unsigned long x = a & ~(FZ_PAGE - 1); x < end; x += FZ_PAGE) {
		struct fz_page *p = fz_pg(x);
		uint8_t buf[FZ_PAGE];

		if (!p || !p->kind)
			continue;
		p->touched = 1;
		if (wr && p->kind == K_FILE_P &&
		    fz_model_expect(x, buf, FZ_PAGE) > 0)
			fz_model_store(x, buf, 0, FZ_PAGE);
	}
}

static void op_mmap(int i, const struct fz_op *o, const char *d)
{
	unsigned long hint = region(o->r);
	int flags = o->flags, fd, e;
	void *p;

	if (o->arg && o->r > 0 && rt[o->r - 1].mapped)
		hint = rt[o->r - 1].addr + rt[o->r - 1].len;
	fd = kind_fd(o->kind, &flags);
	p = do_mmap((void *)hint, o->len, o->prot, flags, fd,
		    (off_t)(o->foff * FZ_PAGE));
	e = errno;
	if (p == MAP_FAILED) {
		res(i, d, -1, e, "");
		return;
	}
	if ((unsigned long)p != hint) {
		munmap(p, o->len);
		fz_out("#%d %s = busy", i, d);
		return;
	}
	fz_out("#%d %s = %s", i, d, aoff(hint));
	rt[o->r].addr = hint;
	rt[o->r].len = (o->len + FZ_PAGE - 1) & ~(FZ_PAGE - 1);
	rt[o->r].mapped = 1;
	fz_model_map(hint, o->len, o->kind, o->prot, o->foff);
	if (o->flags & MAP_POPULATE)
		populated(hint, o->len, o->prot & PROT_WRITE);
}

static void op_mmap_fixed(int i, const struct fz_op *o, const char *d)
{
	unsigned long a = rt[o->r].addr + (unsigned long)o->off;
	int flags = MAP_FIXED | o->flags, fd, e;
	void *p;

	fd = kind_fd(o->kind, &flags);
	p = do_mmap((void *)a, o->len, o->prot, flags, fd,
		    (off_t)(o->foff * FZ_PAGE));
	e = errno;
	if (p == MAP_FAILED) {
		res(i, d, -1, e, "");
		return;
	}
	fz_out("#%d %s = %s", i, d, aoff((unsigned long)p));
	fz_model_map((unsigned long)p, o->len, o->kind, o->prot, o->foff);
}

/*
 * Is [a, a + len) in several VMAs that differ in nothing /proc/self/smaps
 * shows (protection, file, offset, VmFlags)? Then the kernel keeps them
 * apart only by their anon_vma, which no program (and not the library)
 * can see, and an mremap that needs one VMA gets EFAULT from it: the
 * tag names the BUGS entry of liblockonfault(7). Any visible edge in
 * the range (a lock, a protection) and there is no tag: the library
 * must answer as the kernel does there. Only the reference tags: an
 * EFAULT the library gets from splits of its own is its to avoid
 * (remap.c), and run-fuzz.sh compares lines without their tags.
 */
struct vma_line {
	unsigned long start, end, off, inode;
	char perms[8], dev[16], flags[200];
};

static int anon_split(unsigned long a, unsigned long len)
{
	unsigned long e = a + ((len + FZ_PAGE - 1) & ~(FZ_PAGE - 1));
	struct vma_line prev = { 0 }, cur = { 0 };
	unsigned long first = 0;
	int n = 0, visible = 0, have = 0;
	char line[512];
	FILE *f;

	if (!len || e < a || !(f = fopen("/proc/self/smaps", "re")))
		return 0;
	while (fgets(line, sizeof(line), f)) {
		struct vma_line v = { 0 };

		if (sscanf(line, "%lx-%lx %7s %lx %15s %lu", &v.start, &v.end,
			   v.perms, &v.off, v.dev, &v.inode) == 6) {
			if (v.start >= e)
				break;
			have = v.end > a;
			if (have)
				cur = v;
			continue;
		}
		if (!have || strncmp(line, "VmFlags:", 8))
			continue;
		snprintf(cur.flags, sizeof(cur.flags), "%.190s", line + 8);
		if (!n)
			first = cur.start;
		if (n++ && (prev.end != cur.start ||
			    strcmp(prev.perms, cur.perms) ||
			    strcmp(prev.dev, cur.dev) || prev.inode != cur.inode ||
			    (cur.inode && /* maps shows anonymous offsets as 0 */
			     prev.off + (prev.end - prev.start) != cur.off) ||
			    strcmp(prev.flags, cur.flags)))
			visible = 1;
		prev = cur;
		have = 0;
	}
	fclose(f);
	return n > 1 && !visible && first <= a && prev.end >= e;
}

static void op_mremap(int i, const struct fz_op *o, const char *d)
{
	unsigned long a = rt[o->r].addr + (unsigned long)o->off;
	unsigned long dest = region(o->q) + FZ_REGION / 2;
	const char *tag = ref_mode && anon_split(a, o->len)
				  ? " [class=anon-vma-split]" : "";
	void *p = MAP_FAILED;
	int e;

	switch (o->arg) {
	case RM_INPLACE:
		p = mremap((void *)a, o->len, o->len2, 0);
		break;
	case RM_MAYMOVE:
		dest = region(o->r) + FZ_REGION / 2;
		p = mremap((void *)a, o->len, o->len2, MREMAP_MAYMOVE);
		break;
	case RM_FIXED:
	case RM_DUP:
		p = mremap((void *)a, o->len, o->len2,
			   MREMAP_MAYMOVE | MREMAP_FIXED, (void *)dest);
		break;
	}
	e = errno;
	if (p == MAP_FAILED) {
		res(i, d, -1, e, tag);
		return;
	}
	if (o->arg == RM_MAYMOVE && (unsigned long)p != a) {
		/* Moved where the kernel chose: bring it back to the arena. */
		void *q = mremap(p, o->len2, o->len2,
				 MREMAP_MAYMOVE | MREMAP_FIXED, (void *)dest);

		e = errno;
		if (q == MAP_FAILED) {
			fz_out("#%d %s = moved, back = -1 %s", i, d,
			       fz_errname(e));
			fz_model_unmap(a, o->len);
			if (o->off == 0)
				rt[o->r].mapped = 0;
			return;
		}
		fz_out("#%d %s = moved, back = %s", i, d, aoff((unsigned long)q));
		p = q;
	} else {
		fz_out("#%d %s = %s", i, d, aoff((unsigned long)p));
	}
	fz_model_remap(a, o->len, (unsigned long)p, o->len2, o->arg == RM_DUP);
	if (o->off == 0 && o->arg != RM_DUP) {
		rt[o->r].addr = (unsigned long)p;
		rt[o->r].len = (o->len2 + FZ_PAGE - 1) & ~(FZ_PAGE - 1);
	}
}

static void untouch(unsigned long a, unsigned long len);

/*
 * MADV_DONTNEED refused by a mapping (VM_LOCKED: EINVAL) or failed
 * otherwise: the kernel (mm/madvise.c, madvise_walk_vmas) zapped the
 * mappings before the one it refused and stopped there. The private
 * pages before the first locked page of the range are unknown, and
 * untouched again like any zapped page; nothing from there on changed.
 * Where no page is locked (another error), the whole range is taken as
 * zapped: that may only leave pages unchecked.
 */
static void dontneed_stopped(unsigned long a, unsigned long len)
{
	unsigned long end = a + len, x;

	if (end > FZ_ARENA_BASE + FZ_ARENA_LEN)
		end = FZ_ARENA_BASE + FZ_ARENA_LEN;
	for (x = a & ~(FZ_PAGE - 1); x < end; x += FZ_PAGE) {
		struct fz_page *p = fz_pg(x);

		if (msync((void *)x, FZ_PAGE, MS_INVALIDATE) && errno == EBUSY)
			break;
		if (p && (p->kind == K_ANON_P || p->kind == K_FILE_P))
			p->unknown = 1;
	}
	if (x > a)
		untouch(a, x - a);
}

static void op_madvise(int i, const struct fz_op *o, const char *d)
{
	unsigned long a = rt[o->r].addr + (unsigned long)o->off;
	int r = madvise((void *)a, o->len, o->arg), e = errno;

	res(i, d, r, e, "");
	if (r && o->arg == MADV_DONTNEED && e == ENOMEM) {
		/*
		 * A hole in the range: the kernel carries on past it and
		 * answers ENOMEM once every mapping of the range is zapped
		 * (madvise_walk_vmas; a refused mapping answers EINVAL
		 * instead), as a call that succeeds. Seed 7519 (sim43): a
		 * madvise from the unmapped page below the arena zapped
		 * pages a pwrite(2) had read; kept as touched, the two of
		 * them the emulation's growing batch locked (liblockonfault(7),
		 * LIMITATIONS: untouched pages present and locked) were
		 * compared, though the program had not come back to them.
		 * (The range may run 16 TiB past the arena: the model ends
		 * there.)
		 */
		unsigned long end = a + o->len;

		if (end > FZ_ARENA_BASE + FZ_ARENA_LEN)
			end = FZ_ARENA_BASE + FZ_ARENA_LEN;
		if (end > a) {
			fz_model_dontneed(a, end - a);
			untouch(a, end - a);
		}
		return;
	}
	if (r && o->arg == MADV_DONTNEED && a + o->len > a)
		dontneed_stopped(a, o->len);
	if (r)
		return;
	if (o->arg == MADV_DONTNEED) {
		/* Zapped: untouched again until the program comes back. */
		fz_model_dontneed(a, o->len);
		untouch(a, o->len);
	}
	if (o->arg == MADV_PAGEOUT)
		/* Which pages the kernel reclaims depends on timing (a page
		 * still in a per-CPU LRU batch is skipped): untouched too. */
		untouch(a, o->len);
	if (o->arg == 22 || o->arg == 23)
		populated(a, o->len, o->arg == 23);
}

static void untouch(unsigned long a, unsigned long len)
{
	unsigned long end = a + len;

	if (end < a || end > FZ_ARENA_BASE + FZ_ARENA_LEN)
		end = FZ_ARENA_BASE + FZ_ARENA_LEN;
	for (unsigned long x = a & ~(FZ_PAGE - 1); x < end; x += FZ_PAGE) {
		struct fz_page *p = fz_pg(x);

		if (p)
			p->touched = 0;
	}
}

/* Store n bytes of src at a, in the model, page by page. */
static void model_store_bytes(unsigned long a, const uint8_t *src,
			      unsigned long n)
{
	unsigned long x = a, end = a + n;

	while (x < end) {
		unsigned long k = piece_len(x, end);

		fz_model_store(x, src + (x - a), 0, k);
		x += k;
	}
}

/*
 * A read that stops short (a fault in the buffer) may still have stored
 * bytes past what it returns: the kernel copies a chunk, fails on the
 * next page, and reports only whole chunks. Those bytes are unknown.
 */
static void short_fill(unsigned long a, unsigned long len, long r)
{
	unsigned long done = r > 0 ? (unsigned long)r : 0;

	if (done < len && len <= FZ_ARENA_LEN)
		fz_model_unknown(a + done, len - done);
}

static int range_has_kind(unsigned long a, unsigned long n, int kind)
{
	for (unsigned long x = a & ~(FZ_PAGE - 1); x < a + n; x += FZ_PAGE) {
		struct fz_page *p = fz_pg(x);

		if (p && p->kind == kind)
			return 1;
	}
	return 0;
}

static void op_sysread(int i, const struct fz_op *o, const char *d)
{
	unsigned long a = rt[o->r].addr + (unsigned long)o->off;
	unsigned long fsz = FZ_FILE_PAGES * FZ_PAGE;
	unsigned long avail = o->foff < fsz ? fsz - o->foff : 0;
	unsigned long n = o->len < avail ? o->len : avail;
	uint8_t *snap = malloc(n ? n : 1);
	ssize_t r;
	int e;

	if (!snap)
		abort();
	memcpy(snap, fz_file + (o->foff < fsz ? o->foff : 0), n);
	r = pread(data_fd, (void *)a, o->len, (off_t)o->foff);
	e = errno;
	res(i, d, r, e, "");
	short_fill(a, o->len, r);
	if (r > 0) {
		model_store_bytes(a, snap, (unsigned long)r);
		if (range_has_kind(a, (unsigned long)r, K_FILE_S))
			fz_model_unknown(a, (unsigned long)r);
	}
	free(snap);
}

static void op_syswrite(int i, const struct fz_op *o, const char *d)
{
	unsigned long a = rt[o->r].addr + (unsigned long)o->off;
	ssize_t r = pwrite(scratch_fd, (void *)a, o->len, 0);
	int e = errno;
	struct acc c = { 0 };

	res(i, d, r, e, "");
	if (r <= 0)
		return;
	/* Check what the kernel read against the model. */
	c.a = a;
	c.len = (unsigned long)r;
	c.copy = malloc(c.len);
	c.out = malloc(c.len / FZ_PAGE + 2);
	if (!c.copy || !c.out)
		abort();
	if (pread(scratch_fd, c.copy, c.len, 0) != r)
		fz_out("#%d.data short read-back", i);
	for (unsigned long x = a, k = 0; x < a + c.len; k++) {
		c.out[k] = 'o';
		x += piece_len(x, a + c.len);
		c.npieces = k + 1;
	}
	acc_check(i, "data", &c);
	acc_free(&c);
}

static void pipe_drain(void)
{
	char b[4096];

	while (read(pipe_fd[0], b, sizeof(b)) > 0)
		;
}

static void pipe_fill(unsigned long n, int val)
{
	uint8_t b[4096];

	for (unsigned long k = 0; k < sizeof(b); k++)
		b[k] = (uint8_t)(val + k);
	while (n) {
		unsigned long k = n < sizeof(b) ? n : sizeof(b);
		ssize_t w = write(pipe_fd[1], b, k);

		if (w <= 0)
			break;
		n -= (unsigned long)w;
	}
}

static void model_store_pattern(unsigned long a, unsigned long n, int val,
				unsigned long from)
{
	uint8_t *b = malloc(n ? n : 1);

	if (!b)
		abort();
	for (unsigned long k = 0; k < n; k++)
		b[k] = (uint8_t)(val + ((from + k) & 4095));
	model_store_bytes(a, b, n);
	free(b);
}

static void op_piperead(int i, const struct fz_op *o, const char *d)
{
	unsigned long a = rt[o->r].addr + (unsigned long)o->off;
	ssize_t r;
	int e;

	pipe_drain();
	pipe_fill(o->len, o->val);
	r = read(pipe_fd[0], (void *)a, o->len);
	e = errno;
	res(i, d, r, e, "");
	short_fill(a, o->len, r);
	if (r > 0)
		model_store_pattern(a, (unsigned long)r, o->val, 0);
	pipe_drain();
}

static void op_readv(int i, const struct fz_op *o, const char *d)
{
	unsigned long a = rt[o->r].addr + (unsigned long)o->off;
	unsigned long b = rt[o->q].addr + (unsigned long)o->off2;
	struct iovec iov[2] = {
		{ (void *)a, o->len }, { (void *)b, o->len2 },
	};
	ssize_t r;
	int e;

	pipe_drain();
	pipe_fill(o->len + o->len2, o->val);
	r = readv(pipe_fd[0], iov, 2);
	e = errno;
	res(i, d, r, e, "");
	short_fill(a, o->len, r);
	short_fill(b, o->len2, r > (ssize_t)o->len ? r - (ssize_t)o->len : 0);
	if (r > 0) {
		unsigned long n1 = (unsigned long)r < o->len ? (unsigned long)r : o->len;

		model_store_pattern(a, n1, o->val, 0);
		if ((unsigned long)r > o->len)
			model_store_pattern(b, (unsigned long)r - o->len, o->val,
					    o->len);
	}
	pipe_drain();
}

static void op_mincore(int i, const struct fz_op *o, const char *d)
{
	unsigned long a = rt[o->r].addr + (unsigned long)o->off;
	/*
	 * The kernel writes one byte per page of [a & ~(FZ_PAGE - 1), +len):
	 * none for a length of 0 (seed 4610 counted a vector page it never
	 * wrote as touched).
	 */
	unsigned long np = (o->len + FZ_PAGE - 1) / FZ_PAGE;
	unsigned char *heap = malloc(np + 1), *vec = heap;
	int r, e;

	if (!heap)
		abort();
	if (o->arg)
		vec = (unsigned char *)(rt[o->q].addr + (unsigned long)o->off2);
	r = mincore((void *)(a & ~(FZ_PAGE - 1)), o->len, vec);
	e = errno;
	res(i, d, r, e, "");
	/*
	 * The vector itself is not traced: for pages the program touched
	 * the kernel's answer changed between two runs of the oracle (a
	 * private file page, written, then locked, read as not resident
	 * one time in three), so only the return value and errno are.
	 */
	if (!r && o->arg) {
		fz_model_unknown((unsigned long)vec, np);
		fz_model_touch((unsigned long)vec, np);
	}
	free(heap);
}

static void op_access(int i, const struct fz_op *o, const char *d, int wr)
{
	struct acc c = { 0 };

	c.a = rt[o->r].addr + (unsigned long)o->off;
	c.len = o->len;
	c.wr = wr;
	c.val = o->val;
	fz_out("#%d %s", i, d);
	acc_run(&c);
	acc_print(i, "acc", &c);
	if (wr)
		acc_model_write(&c);
	else if (c.npieces)
		acc_check(i, "data", &c);
	acc_free(&c);
}

static void op_thread(int i, const struct fz_op *o, const char *d)
{
	struct acc t = { 0 }, m = { 0 };
	int overlap;

	t.a = rt[o->r].addr + (unsigned long)o->off;
	t.len = o->len;
	t.wr = 1;
	t.val = o->val;
	m.a = rt[o->q].addr + (unsigned long)o->off2;
	m.len = o->len2;
	/* Ranges that share a page run one after the other: the data a
	 * read sees must not depend on the scheduler. */
	overlap = t.len && m.len &&
		(t.a & ~(FZ_PAGE - 1)) < m.a + m.len &&
		(m.a & ~(FZ_PAGE - 1)) < t.a + t.len;
	/* A shared page may be mapped twice (file offsets, mremap): a
	 * thread writing shared pages runs alone too. */
	if (range_has_kind(t.a, t.len, K_FILE_S) ||
	    range_has_kind(t.a, t.len, K_ANON_S))
		overlap = 1;
	fz_out("#%d %s", i, d);
	pthread_mutex_lock(&th_mu);
	th_done = 0;
	th_job = &t;
	pthread_cond_broadcast(&th_cv);
	if (overlap)
		while (!th_done)
			pthread_cond_wait(&th_cv, &th_mu);
	pthread_mutex_unlock(&th_mu);
	if (overlap)
		acc_model_write(&t);
	acc_run(&m);
	pthread_mutex_lock(&th_mu);
	while (!th_done)
		pthread_cond_wait(&th_cv, &th_mu);
	pthread_mutex_unlock(&th_mu);
	acc_print(i, "acc", &t);
	if (!overlap)
		acc_model_write(&t);
	acc_print(i, "acc2", &m);
	if (m.npieces)
		acc_check(i, "data", &m);
	acc_free(&t);
	acc_free(&m);
}

static void child_write(struct acc *c)
{
	/* Only private pages: a shared page would change the parent's. */
	unsigned long x = c->a, end = c->a + c->len;

	c->out = malloc(c->len / FZ_PAGE + 2);
	if (!c->out)
		abort();
	c->npieces = 0;
	for (unsigned long k = 0; x < end; k++) {
		unsigned long n = piece_len(x, end);
		struct fz_page *p = fz_pg(x);
		int sig = 0;

		if (p && (p->kind == K_ANON_P || p->kind == K_FILE_P))
			sig = try_piece(x, n, 1, c->val, NULL);
		else
			sig = -1;
		c->out[k] = sig == -1 ? '-' : sig == SIGSEGV ? 'S' :
			sig == SIGBUS ? 'B' : sig ? '?' : 'o';
		x += n;
		c->npieces = k + 1;
	}
}

static void op_fork(int i, const struct fz_op *o, const char *d)
{
	int st = 0;
	pid_t pid;

	fz_out("#%d %s", i, d);
	pid = fork();
	if (pid < 0) {
		fz_out("#%d.status fork = -1 %s", i, fz_errname(errno));
		return;
	}
	if (pid == 0) {
		struct acc r = { 0 }, w = { 0 };
		unsigned long nl = 4UL << 20;
		uint8_t *p;

		r.a = rt[o->r].addr + (unsigned long)o->off;
		r.len = o->len;
		acc_run(&r);
		acc_print(i, "child.acc", &r);
		if (r.npieces)
			acc_check(i, "child.data", &r);
		w.a = rt[o->q].addr + (unsigned long)o->off2;
		w.len = o->len2;
		w.wr = 1;
		w.val = o->val;
		child_write(&w);
		acc_model_write(&w);
		acc_print(i, "child.wacc", &w);
		/* A new mapping in the child (MCL_FUTURE is not inherited). */
		p = mmap(NULL, nl, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			fz_out("#%d.child.new mmap = -1 %s", i, fz_errname(errno));
		} else {
			struct acc n = { .a = (unsigned long)p + nl / 2,
					 .len = 3 * FZ_PAGE, .wr = 1, .val = 7 };

			acc_run(&n);
			acc_print(i, "child.new", &n);
		}
		_exit(0);
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(st))
		fz_out("#%d.status exit=%d", i, WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		fz_out("#%d.status signal=%d", i, WTERMSIG(st));
	else
		fz_out("#%d.status other=0x%x", i, st);
}

/*
 * mprotect failed at a hole: the kernel changed the mappings from a up
 * to the hole (if a itself is mapped) before it answered ENOMEM.
 */
static void protect_prefix(unsigned long a, unsigned long len, int prot)
{
	unsigned long end = a + len;

	if (end < a)
		return;
	for (unsigned long x = a & ~(FZ_PAGE - 1); x < end; x += FZ_PAGE) {
		struct fz_page *p = fz_pg(x);

		if (!p || !p->kind)
			return;
		p->prot = (uint8_t)prot;
	}
}

static void run_op(int i, const struct fz_op *o)
{
	unsigned long a = rt[o->r].addr + (unsigned long)o->off;
	char d[256];
	long r;
	int e;

	fz_describe(o, d, sizeof(d));
	switch (o->type) {
	case O_MMAP:
		op_mmap(i, o, d);
		return;
	case O_MMAP_FIXED:
		op_mmap_fixed(i, o, d);
		return;
	case O_MUNMAP:
		r = munmap((void *)a, o->len);
		e = errno;
		res(i, d, r, e, "");
		if (!r) {
			fz_model_unmap(a, o->len);
			if (o->off <= 0 && a + o->len >= rt[o->r].addr + rt[o->r].len)
				rt[o->r].mapped = 0;
		}
		return;
	case O_MLOCK: {
		const char *tag = plain_tag(a, o->len);

		if (*tag && !(prog.opmask & (1U << F_PLAINPOP)))
			tag = " [class=plain-mlock-populate,made-onfault]";
		r = ref_mode || strstr(tag, "made-onfault") ?
			mlock2((void *)a, o->len, MLOCK_ONFAULT) :
			mlock((void *)a, o->len);
		e = errno;
		res(i, d, r, e, tag);
		return;
	}
	case O_MLOCK2: {
		const char *tag = o->arg == 0 ? plain_tag(a, o->len) : "";
		int f = o->arg;

		if (*tag && !(prog.opmask & (1U << F_PLAINPOP))) {
			tag = " [class=plain-mlock-populate,made-onfault]";
			f = MLOCK_ONFAULT;
		}
		r = do_mlock2((void *)a, o->len, f);
		e = errno;
		res(i, d, r, e, tag);
		return;
	}
	case O_MUNLOCK:
		r = munlock((void *)a, o->len);
		e = errno;
		res(i, d, r, e, "");
		return;
	case O_MLOCKALL: {
		int f = o->arg;

		if (ref_mode && (f & (MCL_CURRENT | MCL_FUTURE)) &&
		    !(f & ~(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT)))
			f |= MCL_ONFAULT;
		r = mlockall(f);
		e = errno;
		res(i, d, r, e, "");
		return;
	}
	case O_MUNLOCKALL:
		r = munlockall();
		e = errno;
		res(i, d, r, e, "");
		return;
	case O_MPROTECT:
		r = mprotect((void *)a, o->len, o->prot);
		e = errno;
		res(i, d, r, e, "");
		if (!r)
			fz_model_protect(a, o->len, o->prot);
		else if (e == ENOMEM)
			protect_prefix(a, o->len, o->prot);
		return;
	case O_MREMAP:
		op_mremap(i, o, d);
		return;
	case O_MADVISE:
		op_madvise(i, o, d);
		return;
	case O_WRITE:
	case O_READ:
		op_access(i, o, d, o->type == O_WRITE);
		return;
	case O_SYSREAD:
		op_sysread(i, o, d);
		return;
	case O_SYSWRITE:
		op_syswrite(i, o, d);
		return;
	case O_PIPEREAD:
		op_piperead(i, o, d);
		return;
	case O_READV:
		op_readv(i, o, d);
		return;
	case O_MINCORE:
		op_mincore(i, o, d);
		return;
	case O_FORK:
		op_fork(i, o, d);
		return;
	case O_THREAD:
		op_thread(i, o, d);
		return;
	case O_CHECK:
		fz_out("#%d %s", i, d);
		fz_lockstate(i);
		return;
	}
}

/* ---- set-up ---- */

static int tmpfile_in(const char *dir, const char *what)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/lof-fuzz-%s.XXXXXX", dir, what);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0) {
		perror(path);
		exit(2);
	}
	unlink(path);
	return fd;
}

static void setup(void)
{
	const char *dir = getenv("LOF_FUZZ_DIR");
	struct sigaction sa;
	pthread_t th;

	if (!dir || !*dir)
		dir = ".";
	fz_model_init();
	data_fd = tmpfile_in(dir, "data");
	scratch_fd = tmpfile_in(dir, "scratch");
	/*
	 * A page per write: the page cache then holds order-0 folios. One
	 * large write gives large folios, which the kernel does not mark
	 * mlocked when they are mapped by page table entries, and the lock
	 * state of touched file pages would not be seen at all.
	 */
	for (unsigned long o = 0; o < FZ_FILE_PAGES * FZ_PAGE; o += FZ_PAGE) {
		if (pwrite(data_fd, fz_file + o, FZ_PAGE, (off_t)o) !=
		    (ssize_t)FZ_PAGE) {
			perror("data file");
			exit(2);
		}
	}
	if (pipe2(pipe_fd, O_NONBLOCK | O_CLOEXEC)) {
		perror("pipe");
		exit(2);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	for (int r = 0; r < FZ_NREC; r++)
		rt[r].addr = region(r);
	if (pthread_create(&th, NULL, th_main, NULL)) {
		fprintf(stderr, "lof-fuzz: pthread_create failed\n");
		exit(2);
	}
}

static int parse_skip(const char *s)
{
	while (*s) {
		char *e;
		long a = strtol(s, &e, 10), b = a;

		if (e == s)
			return -1;
		if (*e == '-')
			b = strtol(e + 1, &e, 10);
		for (long k = a; k <= b && k < FZ_MAX_OPS; k++)
			if (k >= 0)
				skip[k] = 1;
		if (*e == ',')
			e++;
		else if (*e)
			return -1;
		s = e;
	}
	return 0;
}

static int parse_exclude(const char *s, unsigned int *mask)
{
	char b[256], *t, *sv;

	snprintf(b, sizeof(b), "%s", s);
	for (t = strtok_r(b, ",", &sv); t; t = strtok_r(NULL, ",", &sv)) {
		int k = fz_opnum(t);

		if (k < 0)
			return -1;
		*mask &= ~(1U << k);
	}
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long seed = 1;
	unsigned int mask = (1U << F_NBITS) - 1;
	int nops = 60, list = 0, c;

	while ((c = getopt(argc, argv, "rs:n:k:x:l4")) != -1) {
		switch (c) {
		case 'r':
			ref_mode = 1;
			break;
		case 's':
			seed = strtoul(optarg, NULL, 0);
			break;
		case 'n':
			nops = atoi(optarg);
			break;
		case 'k':
			if (parse_skip(optarg))
				goto usage;
			break;
		case 'x':
			if (parse_exclude(optarg, &mask))
				goto usage;
			break;
		case 'l':
			list = 1;
			break;
		case '4':
			fz_linux43 = 1;
			break;
		default:
			goto usage;
		}
	}
	fz_generate(&prog, seed, nops, mask);
	if (list) {
		char d[256];

		for (int i = 0; i < prog.nops; i++) {
			if (skip[i])
				continue;
			fz_describe(&prog.op[i], d, sizeof(d));
			printf("#%d %s;\n", i, d);
		}
		return 0;
	}
	if (!ref_mode && getenv("LOF_FUZZ_LIB") &&
	    !dlsym(RTLD_DEFAULT, "lof_engine")) {
		fprintf(stderr, "lof-fuzz: LOF_FUZZ_LIB is set, but liblockonfault is not loaded\n");
		return FZ_NOLIB;
	}
	setup();
	fz_out("lof-fuzz seed=%lu ops=%d", seed, prog.nops);
	for (int i = 0; i < prog.nops; i++)
		if (!skip[i])
			run_op(i, &prog.op[i]);
	fz_out("#end");
	return 0;
usage:
	fprintf(stderr, "usage: lof-fuzz [-r] [-s SEED] [-n OPS] [-k SKIP] "
		"[-x OPS] [-l] [-4]\n");
	return 2;
}
