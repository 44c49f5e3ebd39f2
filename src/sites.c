/*
 * sites.c - the report by lock call site: for each place in the program
 * that called mlock, mlock2, mlockall, mmap with MAP_LOCKED or
 * lof_lock_onfault, what it asked to lock, and how much of that is
 * touched and locked when the report is made.
 *
 * Recording is cheap, because lock calls may come from inside a malloc
 * or another preload: the key is the call's return address (the
 * exported function's __builtin_return_address(0), which is the first
 * frame outside this library), kept in a uthash table whose memory
 * comes from mmap (uthash_malloc/uthash_free below), never malloc. A
 * site remembers the page-aligned ranges its calls locked (merged, at
 * most SITE_RANGES_MAX of them; further ones are counted as lost).
 *
 * Measuring is done only when a report is made, the same way for every
 * engine, from the kernel's state then:
 *  - "pagemap": /proc/self/smaps gives each mapping's VmFlags; a page of
 *    a remembered range is touched when /proc/self/pagemap says it is
 *    present or swapped, and locked when it is present in a mapping
 *    with VM_LOCKED ("lo"): the kernel's own definition of locked
 *    memory (VmLck, Locked:), exact per page. A range unlocked or
 *    unmapped since counts for nothing.
 *  - "smaps", when pagemap cannot be read: each mapping's Rss: and
 *    Locked: shared out in proportion to the part of it a range covers.
 * (/proc/kpageflags's PG_mlocked is not used: it describes the page
 * frame, which may be locked by another process, is not set on the
 * tail pages of a huge page, and needs root.)
 *
 * mlockall asks for the whole address space: its asked figure is VmSize
 * at the call (the largest over its calls; with MCL_FUTURE, VmSize at
 * the report if larger), and its touched and locked figures are the
 * process's beyond what the other sites account for (given to the site
 * that called mlockall last; earlier mlockall sites show 0).
 * Symbol names are found at report time with libunwind.
 */
#include "config.h"
#include "sites.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>

#include "log.h"
#include "maps.h"
#include "sys.h"

#ifdef HAVE_LIBUNWIND
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#endif

/* ------------------------------------------------------------------ */
/* Memory: mmap, never malloc                                          */
/* ------------------------------------------------------------------ */

/*
 * Blocks come first from a static arena, so that recording a call needs
 * no system call and adds nothing to the process's locked memory: after
 * mlockall(MCL_FUTURE) a new mapping of ours would be locked and
 * charged to RLIMIT_MEMLOCK like the program's own (test/preload/
 * t-rlimit.c counts VmLck to the page). The arena's pages are part of
 * the library's data, mapped from the start. When it is used up, each
 * block is a mapping of its own, unlocked at once. Arena blocks are
 * never given back (uthash frees only its old bucket arrays).
 */
#define ALLOC_HDR 16
#define ARENA_SIZE (64 * 1024)

static char arena[ARENA_SIZE] __attribute__((aligned(16)));
static size_t arena_used;
static pthread_mutex_t arena_mutex = PTHREAD_MUTEX_INITIALIZER;

/* A mapping of its own; for the report's passing needs, too. */
static void *map_alloc(size_t n)
{
	size_t len = page_up(n + ALLOC_HDR);
	long p = sys_mmap(NULL, len, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p < 0 && p > -4096)
		return NULL;
	sys_munlock((void *)p, len);	/* mlockall(MCL_FUTURE) locked it */
	*(size_t *)p = len;
	return (char *)p + ALLOC_HDR;
}

static void *site_alloc(size_t n)
{
	size_t len = (n + ALLOC_HDR + 15) & ~(size_t)15;
	char *a = NULL;

	pthread_mutex_lock(&arena_mutex);
	if (len <= ARENA_SIZE - arena_used) {
		a = arena + arena_used;
		arena_used += len;
	}
	pthread_mutex_unlock(&arena_mutex);
	if (a) {
		*(size_t *)a = 0;	/* 0: in the arena */
		return a + ALLOC_HDR;
	}
	return map_alloc(n);
}

static void site_free(void *q)
{
	char *p = q;

	if (p && *(size_t *)(p - ALLOC_HDR))
		sys_munmap(p - ALLOC_HDR, *(size_t *)(p - ALLOC_HDR));
}

static int hash_oom;

#define HASH_NONFATAL_OOM 1
#define uthash_malloc(sz) site_alloc(sz)
#define uthash_free(ptr, sz) site_free(ptr)
#define uthash_nonfatal_oom(obj) (hash_oom = 1)
#include <uthash.h>

/* ------------------------------------------------------------------ */
/* The table                                                           */
/* ------------------------------------------------------------------ */

#define SITE_RANGES_MAX 65536

struct range {
	uintptr_t start, end;
};

struct site {
	uintptr_t pc;		/* key: the call's return address */
	int call;		/* LOF_CALL_* of the first call */
	uint64_t calls;
	uint64_t asked;		/* bytes */
	uint64_t seq;		/* order of the last call, over all sites */
	uint64_t lost;		/* ranges not remembered (table full) */
	int future;		/* mlockall with MCL_FUTURE */
	struct range *ranges;
	size_t nranges, cap;
	UT_hash_handle hh;
};

static struct site *sites;
static uint64_t site_seq;
static pthread_mutex_t sites_mutex = PTHREAD_MUTEX_INITIALIZER;

static void sites_lock(sigset_t *saved)
{
	sys_block_async(saved);
	pthread_mutex_lock(&sites_mutex);
}

static void sites_unlock(const sigset_t *saved)
{
	pthread_mutex_unlock(&sites_mutex);
	sys_sigprocmask(SIG_SETMASK, saved, NULL);
}

/* Per thread, as region-lock.c explains (issue 12 j). */
static LOF_TLS sigset_t fork_saved;

void sites_atfork_prepare(void)
{
	sites_lock(&fork_saved);
}

void sites_atfork_release(void)
{
	sites_unlock(&fork_saved);
}

static int range_cmp_lt(const struct range *a, const struct range *b)
{
	return a->start < b->start;
}

/* Sort (insertion sort on a mostly sorted array) and merge. */
static void compact(struct site *s)
{
	size_t n = 0;

	for (size_t i = 1; i < s->nranges; i++) {
		struct range r = s->ranges[i];
		size_t j = i;

		while (j > 0 && range_cmp_lt(&r, &s->ranges[j - 1])) {
			s->ranges[j] = s->ranges[j - 1];
			j--;
		}
		s->ranges[j] = r;
	}
	for (size_t i = 0; i < s->nranges; i++) {
		if (n && s->ranges[i].start <= s->ranges[n - 1].end) {
			if (s->ranges[i].end > s->ranges[n - 1].end)
				s->ranges[n - 1].end = s->ranges[i].end;
		} else {
			s->ranges[n++] = s->ranges[i];
		}
	}
	s->nranges = n;
}

static void add_range(struct site *s, uintptr_t start, uintptr_t end)
{
	/* The same range again, or one next to the last: merge. */
	if (s->nranges) {
		struct range *l = &s->ranges[s->nranges - 1];

		if (start <= l->end && end >= l->start) {
			if (start < l->start)
				l->start = start;
			if (end > l->end)
				l->end = end;
			return;
		}
	}
	if (s->nranges == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 32;
		struct range *r;

		compact(s);
		if (s->nranges < s->cap)
			goto add;
		if (cap > SITE_RANGES_MAX || !(r = site_alloc(cap * sizeof(*r)))) {
			s->lost++;
			return;
		}
		if (s->nranges)
			memcpy(r, s->ranges, s->nranges * sizeof(*r));
		site_free(s->ranges);
		s->ranges = r;
		s->cap = cap;
	}
add:
	s->ranges[s->nranges].start = start;
	s->ranges[s->nranges].end = end;
	s->nranges++;
}

/* VmSize of the process, in bytes, or 0. */
static uint64_t vm_size(void)
{
	char buf[4096];
	const char *p;
	uint64_t kb = 0;
	int fd = sys_open("/proc/self/status", O_RDONLY, 0);
	ssize_t n;

	if (fd < 0)
		return 0;
	n = sys_read(fd, buf, sizeof(buf) - 1);
	sys_close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strstr(buf, "\nVmSize:");
	if (!p)
		return 0;
	for (p += 8; *p == ' ' || *p == '\t'; p++)
		;
	while (*p >= '0' && *p <= '9')
		kb = kb * 10 + (uint64_t)(*p++ - '0');
	return kb << 10;
}

void sites_record(uintptr_t pc, int call, const void *addr, size_t len,
		  int flags)
{
	uintptr_t start = page_down((uintptr_t)addr);
	uintptr_t end = page_up((uintptr_t)addr + len);
	uint64_t asked = call == LOF_CALL_MLOCKALL ? vm_size() : end - start;
	struct site *s;
	sigset_t saved;

	sites_lock(&saved);
	HASH_FIND(hh, sites, &pc, sizeof(pc), s);
	if (!s) {
		s = site_alloc(sizeof(*s));
		if (!s)
			goto out;
		memset(s, 0, sizeof(*s));
		s->pc = pc;
		s->call = call;
		hash_oom = 0;
		HASH_ADD(hh, sites, pc, sizeof(s->pc), s);
		if (hash_oom) {
			site_free(s);
			goto out;
		}
	}
	s->calls++;
	if (call != LOF_CALL_MLOCKALL)
		s->asked += asked;
	else if (asked > s->asked)
		s->asked = asked;	/* the one address space, not a sum */
	if (call == LOF_CALL_MLOCKALL && (flags & MCL_FUTURE))
		s->future = 1;
	s->seq = ++site_seq;
	if (call != LOF_CALL_MLOCKALL && end > start)
		add_range(s, start, end);
out:
	sites_unlock(&saved);
}

/* ------------------------------------------------------------------ */
/* The kernel's view: mappings from smaps, pages from pagemap          */
/* ------------------------------------------------------------------ */

struct vma {
	uintptr_t start, end;
	int locked;		/* VmFlags has lo */
	uint64_t rss_kb, locked_kb;
};

struct view {
	struct vma *v;
	size_t n, cap;
	int pagemap;		/* fd of /proc/self/pagemap, or -1 */
};

static int view_add(struct view *w, uintptr_t start, uintptr_t end)
{
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 256;
		struct vma *v = map_alloc(cap * sizeof(*v));

		if (!v)
			return -1;
		if (w->n)
			memcpy(v, w->v, w->n * sizeof(*v));
		site_free(w->v);
		w->v = v;
		w->cap = cap;
	}
	memset(&w->v[w->n], 0, sizeof(w->v[0]));
	w->v[w->n].start = start;
	w->v[w->n].end = end;
	w->n++;
	return 0;
}

static uint64_t kb_of(const char *p)
{
	uint64_t v = 0;

	while (*p == ' ' || *p == '\t')
		p++;
	while (*p >= '0' && *p <= '9')
		v = v * 10 + (uint64_t)(*p++ - '0');
	return v;
}

static int has_flag(const char *flags, const char *f)
{
	for (const char *p = flags; (p = strstr(p, f)); p++)
		if ((p == flags || p[-1] == ' ') && (p[2] == ' ' || !p[2]))
			return 1;
	return 0;
}

static void view_line(struct view *w, char *line)
{
	struct vma *last = w->n ? &w->v[w->n - 1] : NULL;
	struct maps_entry e;
	char *sp = strchr(line, ' ');

	if (sp && sp > line && sp[-1] == ':') {
		if (!last)
			return;
		if (!strncmp(line, "Rss:", 4))
			last->rss_kb = kb_of(line + 4);
		else if (!strncmp(line, "Locked:", 7))
			last->locked_kb = kb_of(line + 7);
		else if (!strncmp(line, "VmFlags:", 8))
			last->locked = has_flag(line + 8, "lo");
		return;
	}
	if (maps_parse_line(line, &e) == 0)
		view_add(w, e.start, e.end);
}

/* Read /proc/self/smaps into w. Return: 0 or -1. */
static int view_read(struct view *w)
{
	const size_t size = 65536;
	char *buf;	/* mapped: lof_sites_get may run in several threads */
	size_t have = 0;
	int fd = sys_open("/proc/self/smaps", O_RDONLY, 0);

	memset(w, 0, sizeof(*w));
	w->pagemap = -1;
	if (fd < 0)
		return -1;
	buf = map_alloc(size);
	if (!buf) {
		sys_close(fd);
		return -1;
	}
	for (;;) {
		ssize_t n = sys_read(fd, buf + have, size - 1 - have);
		char *p = buf, *nl;

		if (n <= 0)
			break;
		have += (size_t)n;
		buf[have] = '\0';
		while ((nl = memchr(p, '\n', have - (size_t)(p - buf)))) {
			*nl = '\0';
			view_line(w, p);
			p = nl + 1;
		}
		have -= (size_t)(p - buf);
		memmove(buf, p, have);
		if (have == size - 1)
			have = 0;	/* a line longer than the buffer */
	}
	sys_close(fd);
	site_free(buf);
	w->pagemap = sys_open("/proc/self/pagemap", O_RDONLY, 0);
	if (w->pagemap >= 0) {
		uint64_t word;

		/* Readable, and giving answers (not a 0-byte read). */
		if (sys_pread(w->pagemap, &word, sizeof(word), 0) !=
		    sizeof(word)) {
			sys_close(w->pagemap);
			w->pagemap = -1;
		}
	}
	return 0;
}

static void view_free(struct view *w)
{
	if (w->pagemap >= 0)
		sys_close(w->pagemap);
	site_free(w->v);
	w->v = NULL;
}

struct usage {
	uint64_t touched, locked;	/* bytes */
};

/* Add the usage of [start, end) within the mapping v. */
static void usage_piece(const struct view *w, const struct vma *v,
			uintptr_t start, uintptr_t end, struct usage *u)
{
	uint64_t words[512];

	if (w->pagemap < 0) {
		uint64_t size = v->end - v->start, part = end - start;

		u->touched += (v->rss_kb << 10) / size * part +
			      (v->rss_kb << 10) % size * part / size;
		u->locked += (v->locked_kb << 10) / size * part +
			     (v->locked_kb << 10) % size * part / size;
		return;
	}
	for (uintptr_t at = start; at < end;) {
		size_t want = (end - at) >> lof_page_shift;
		ssize_t n;

		if (want > ARRAY_SIZE(words))
			want = ARRAY_SIZE(words);
		n = sys_pread(w->pagemap, words, want * sizeof(words[0]),
			      (off_t)((at >> lof_page_shift) * sizeof(words[0])));
		if (n <= 0)
			return;
		n /= (ssize_t)sizeof(words[0]);
		for (ssize_t i = 0; i < n; i++) {
			int present = (int)(words[i] >> 63);
			int swapped = (int)(words[i] >> 62) & 1;

			if (present || swapped)
				u->touched += lof_page_size;
			if (present && v->locked)
				u->locked += lof_page_size;
		}
		at += (uintptr_t)n << lof_page_shift;
	}
}

/* Add the usage of [start, end): every mapping it intersects. */
static void usage_range(const struct view *w, uintptr_t start,
			uintptr_t end, struct usage *u)
{
	size_t lo = 0, hi = w->n;

	/* The first mapping that ends after start. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (w->v[mid].end <= start)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < w->n && w->v[i].start < end; i++) {
		const struct vma *v = &w->v[i];

		usage_piece(w, v, v->start > start ? v->start : start,
			    v->end < end ? v->end : end, u);
	}
}

/* ------------------------------------------------------------------ */
/* Measuring                                                           */
/* ------------------------------------------------------------------ */

struct snap {
	uintptr_t pc;
	int call;
	uint64_t calls, asked, seq, lost;
	int future;
	struct usage use;
};

struct measure {
	struct snap *s;
	size_t n;
	int pagemap;		/* the method: 1 pagemap, 0 smaps */
	int have_view;
	uint64_t proc_locked;	/* the process's locked bytes */
};

/*
 * Snapshot and measure every site into m (mmap'd array, m->n entries),
 * the most bytes asked first. Return: 0, or -ENOMEM.
 */
static int measure(struct measure *m)
{
	struct view w;
	struct site *s, *tmp;
	sigset_t saved;
	size_t i = 0, cap;
	uint64_t other_touched = 0, other_locked = 0;
	struct snap *lastall = NULL;
	struct usage all = { 0, 0 };
	int any_all = 0;

	memset(m, 0, sizeof(*m));
	uint64_t vm_now = vm_size();

	m->have_view = view_read(&w) == 0;
	m->pagemap = w.pagemap >= 0;

	sites_lock(&saved);
	cap = HASH_COUNT(sites);
	m->s = cap ? map_alloc(cap * sizeof(*m->s)) : NULL;
	if (cap && !m->s) {
		sites_unlock(&saved);
		view_free(&w);
		return -ENOMEM;
	}
	HASH_ITER(hh, sites, s, tmp) {
		struct snap *p = &m->s[i++];

		memset(p, 0, sizeof(*p));
		p->pc = s->pc;
		p->call = s->call;
		p->calls = s->calls;
		p->asked = s->asked;
		p->seq = s->seq;
		p->lost = s->lost;
		p->future = s->future;
		compact(s);
		for (size_t r = 0; m->have_view && r < s->nranges; r++)
			usage_range(&w, s->ranges[r].start, s->ranges[r].end,
				    &p->use);
		if (p->call == LOF_CALL_MLOCKALL) {
			/* MCL_FUTURE asks for what was mapped since, too. */
			if (p->future && vm_now > p->asked)
				p->asked = vm_now;
			any_all = 1;
			if (!lastall || p->seq > lastall->seq)
				lastall = p;
		} else {
			other_touched += p->use.touched;
			other_locked += p->use.locked;
		}
	}
	sites_unlock(&saved);
	m->n = i;

	/* The process as a whole: locked everywhere; touched if needed. */
	for (size_t k = 0; m->have_view && k < w.n; k++) {
		struct usage u = { 0, 0 };
		const struct vma *v = &w.v[k];

		if (!v->locked && !any_all)
			continue;
		usage_piece(&w, v, v->start, v->end, &u);
		all.touched += u.touched;
		all.locked += u.locked;
	}
	m->proc_locked = all.locked;
	if (lastall) {
		lastall->use.touched = all.touched > other_touched ?
					       all.touched - other_touched : 0;
		lastall->use.locked = all.locked > other_locked ?
					      all.locked - other_locked : 0;
	}
	view_free(&w);

	/* Largest asked first (insertion sort: a handful of sites). */
	for (size_t a = 1; a < m->n; a++) {
		struct snap t = m->s[a];
		size_t b = a;

		while (b > 0 && (m->s[b - 1].asked < t.asked ||
				 (m->s[b - 1].asked == t.asked &&
				  m->s[b - 1].seq > t.seq))) {
			m->s[b] = m->s[b - 1];
			b--;
		}
		m->s[b] = t;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Names                                                               */
/* ------------------------------------------------------------------ */

struct where {
	uintptr_t pc;
	char *object;
	size_t size;
	unsigned long offset;	/* file offset of pc */
};

static int name_object(const struct maps_entry *e, void *arg)
{
	struct where *w = arg;

	lof_format(w->object, w->size, "%s", e->path);
	w->offset = (unsigned long)(w->pc - e->start + e->offset);
	return 1;
}

/*
 * The function (name+0xoffset of the return address) and the object
 * of pc; either is "" when unknown. Return: pc's offset in the
 * object's file (for addr2line), or 0.
 */
static unsigned long name_pc(uintptr_t pc, char *fn, size_t fn_size,
			     char *obj, size_t obj_size)
{
	struct where w = { pc, obj, obj_size, 0 };

	fn[0] = '\0';
	obj[0] = '\0';
	maps_walk(pc, pc + 1, name_object, &w);
#ifdef HAVE_LIBUNWIND
	{
		unw_context_t ctx;
		unw_cursor_t cur;
		unw_word_t off;
		char sym[sizeof(((struct lof_site *)0)->function)];

		/*
		 * Look up the call instruction (pc - 1): a call that is the
		 * last instruction of its function returns into the next.
		 */
		if (pc && unw_getcontext(&ctx) == 0 &&
		    unw_init_local(&cur, &ctx) == 0 &&
		    unw_set_reg(&cur, UNW_REG_IP, (unw_word_t)(pc - 1)) == 0 &&
		    unw_get_proc_name(&cur, sym, sizeof(sym) - 24, &off) == 0)
			lof_format(fn, fn_size, "%s+0x%lx", sym,
				   (unsigned long)off + 1);
	}
#endif
	return w.offset;
}

static const char *call_name(int call)
{
	switch (call) {
	case LOF_CALL_MLOCK:
		return "mlock";
	case LOF_CALL_MLOCK2:
		return "mlock2";
	case LOF_CALL_MLOCKALL:
		return "mlockall";
	case LOF_CALL_MMAP:
		return "mmap";
	case LOF_CALL_LOCK_ONFAULT:
		return "lof_lock_onfault";
	default:
		return "?";
	}
}

/* ------------------------------------------------------------------ */
/* The API and the report                                              */
/* ------------------------------------------------------------------ */

LOF_EXPORT int lof_sites_get(struct lof_site *out, size_t n, size_t size)
{
	struct measure m;
	int r;

	if (size < 2 * sizeof(uint32_t) || (n && !out)) {
		errno = EINVAL;
		return -1;
	}
	r = measure(&m);
	if (r < 0) {
		errno = -r;
		return -1;
	}
	for (size_t i = 0; i < n && i < m.n; i++) {
		struct lof_site s;
		size_t len = size < sizeof(s) ? size : sizeof(s);

		memset(&s, 0, sizeof(s));
		s.call = (uint32_t)m.s[i].call;
		s.pc = m.s[i].pc;
		s.calls = m.s[i].calls;
		s.asked_bytes = m.s[i].asked;
		s.touched_bytes = m.s[i].use.touched;
		s.locked_bytes = m.s[i].use.locked;
		name_pc(m.s[i].pc, s.function, sizeof(s.function), s.object,
			sizeof(s.object));
		s.size = (uint32_t)len;
		memcpy((char *)out + i * size, &s, len);
		if (size > sizeof(s))
			memset((char *)out + i * size + sizeof(s), 0,
			       size - sizeof(s));
	}
	site_free(m.s);
	return (int)m.n;
}

/* Copy s to d, spaces and % written as %20 and %25 (one word). */
static void word(char *d, size_t size, const char *s)
{
	size_t n = 0;

	if (!*s)
		s = "?";
	for (; *s && n + 4 < size; s++) {
		if (*s == ' ' || *s == '%' || *s == '\t' || *s == '\n') {
			lof_format(d + n, size - n, "%%%x%x",
				   (unsigned)(unsigned char)*s >> 4,
				   (unsigned)(unsigned char)*s & 15);
			n += 3;
		} else {
			d[n++] = *s;
		}
	}
	d[n] = '\0';
}

/* "2.0 GiB", "136 MiB", "512 KiB", "0 B": one decimal below 10. */
static void human(char *buf, size_t size, uint64_t bytes)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB",
					     "TiB", "PiB" };
	unsigned int u = 0;
	uint64_t tenths = bytes * 10;

	if (bytes >= (UINT64_MAX / 10))
		tenths = UINT64_MAX;
	while (tenths >= 10240 && u + 1 < ARRAY_SIZE(units)) {
		tenths = (tenths + 512) / 1024;
		u++;
	}
	if (u && tenths < 100)
		lof_format(buf, size, "%lu.%lu %s", (unsigned long)(tenths / 10),
			   (unsigned long)(tenths % 10), units[u]);
	else
		lof_format(buf, size, "%lu %s",
			   (unsigned long)((tenths + 5) / 10), units[u]);
}

void sites_report(int fd)
{
	struct measure m;
	uint64_t asked = 0;
	char buf[1400], fn[128], obj[256], fnw[400], objw[800], a[32], l[32];

	if (measure(&m) < 0) {
		sys_write(fd, "lockonfault: sites=0\n", 21);
		return;
	}
	sys_write(fd, buf, lof_format(buf, sizeof(buf),
				      "lockonfault: sites=%lu\n",
				      (unsigned long)m.n));
	sys_write(fd, buf, lof_format(buf, sizeof(buf),
				      "lockonfault: sites_method=%s\n",
				      !m.have_view ? "none" :
				      m.pagemap ? "pagemap" : "smaps"));
	for (size_t i = 0; i < m.n; i++) {
		const struct snap *s = &m.s[i];
		size_t n;

		unsigned long at;

		asked += s->asked;
		at = name_pc(s->pc, fn, sizeof(fn), obj, sizeof(obj));
		word(fnw, sizeof(fnw), fn);
		word(objw, sizeof(objw), obj);
		n = lof_format(buf, sizeof(buf),
			       "lockonfault: site=%lu call=%s function=%s object=%s offset=0x%lx pc=%p calls=%lu asked_kb=%lu touched_kb=%lu locked_kb=%lu",
			       (unsigned long)i + 1, call_name(s->call), fnw,
			       objw, at, (void *)s->pc,
			       (unsigned long)s->calls,
			       (unsigned long)(s->asked >> 10),
			       (unsigned long)(s->use.touched >> 10),
			       (unsigned long)(s->use.locked >> 10));
		if (s->lost)
			n += lof_format(buf + n, sizeof(buf) - n,
					" ranges_lost=%lu",
					(unsigned long)s->lost);
		buf[n++] = '\n';
		sys_write(fd, buf, n);
	}
	if (!m.n) {
		sys_write(fd, "lockonfault: summary=no lock call\n", 34);
	} else {
		uint64_t pm = asked ? m.proc_locked * 1000 / asked : 0;

		human(a, sizeof(a), asked);
		human(l, sizeof(l), m.proc_locked);
		sys_write(fd, buf, lof_format(buf, sizeof(buf),
					      "lockonfault: summary=asked to lock %s; %s locked (%lu.%lu%%) at exit\n",
					      a, l, (unsigned long)(pm / 10),
					      (unsigned long)(pm % 10)));
	}
	site_free(m.s);
}
