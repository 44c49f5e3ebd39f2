/*
 * fuzz-trace.c - the differential fuzzer's output: trace lines and the
 * lock state of the pages the program touched.
 *
 * Lines are written with write(2) one at a time, so a crash loses none
 * and a forked child inherits nothing unprinted.
 *
 * fz_lockstate() prints, for every page of the model (the arena and the
 * page below it, A-0x1000) that the program touched and that is still
 * mapped, what /proc/self/pagemap and /proc/kpageflags say: P present,
 * L KPF_MLOCKED, Z the zero page; runs of equal pages share a line
 * ("#12.lock A+0x10000000 3 PL-"). KPF_UNEVICTABLE is not printed: the
 * kernel sets it when a per-CPU batch of mlocked folios is drained,
 * which a page faulted into a lock-on-fault range waits for and a page
 * locked by a later mlock call does not, so it differs between two
 * correct runs. KPF_MLOCKED is set at once, but cleared through the
 * same batches: drain() empties them before a checkpoint.
 *
 * Untouched pages are left out: their presence may differ where
 * liblockonfault(7) documents it, and the program never observed them.
 *
 * Every run (fz_tag_lost) tags a run of present pages that are not
 * mlocked in a locked mapping (VM_LOCKED: msync(MS_INVALIDATE) answers
 * EBUSY) "[class=kernel-lost-mlock]": the kernel's lock-on-fault lost
 * their lock. A page unmapped from a locked mapping is munlocked
 * through the current CPU's batch; mapped by a fault into a locked
 * mapping before that batch drains, it is queued to be mlocked while
 * still marked mlocked, and the drain then munlocks it and drops the
 * mlock (mm/mlock.c: __mlock_folio finds it evictable). Any call that
 * drains the batch in between (an mlock(2) that populates) keeps the
 * page locked, as the emulation's own calls do (liblockonfault(7),
 * BUGS). The driver compares lock lines page by page, so a run the tag
 * cuts is no difference.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fuzz.h"

#define KPF_ZERO_PAGE	24
#define KPF_MLOCKED	33

void fz_out(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	for (int o = 0; o < n;) {
		ssize_t w = write(1, buf + o, (size_t)(n - o));

		if (w <= 0) {
			if (w < 0 && errno == EINTR)
				continue;
			return;
		}
		o += (int)w;
	}
}

const char *fz_errname(int e)
{
	switch (e) {
	case 0: return "0";
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case EINTR: return "EINTR";
	case EBADF: return "EBADF";
	case EAGAIN: return "EAGAIN";
	case ENOMEM: return "ENOMEM";
	case EACCES: return "EACCES";
	case EFAULT: return "EFAULT";
	case EBUSY: return "EBUSY";
	case EEXIST: return "EEXIST";
	case EINVAL: return "EINVAL";
	case ENOSYS: return "ENOSYS";
	case EOVERFLOW: return "EOVERFLOW";
	case EIO: return "EIO";
	case ENODEV: return "ENODEV";
	case EHWPOISON: return "EHWPOISON";
	}
	static char b[16];
	snprintf(b, sizeof(b), "E%d", e);
	return b;
}

static int pm_fd = -2, kpf_fd = -2;
int fz_tag_lost = 1;

static void state_str(unsigned long addr, char s[32])
{
	uint64_t pm = 0, fl = 0;

	strcpy(s, "---");
	if (pm_fd == -2)
		pm_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (kpf_fd == -2)
		kpf_fd = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
	if (pm_fd < 0 || pread(pm_fd, &pm, 8, (off_t)(addr / FZ_PAGE * 8)) != 8) {
		strcpy(s, "???");
		return;
	}
	if (!(pm >> 63 & 1))
		return;
	s[0] = 'P';
	if (kpf_fd < 0 ||
	    pread(kpf_fd, &fl, 8, (off_t)((pm & ((1UL << 55) - 1)) * 8)) != 8) {
		s[1] = s[2] = '?';
		return;
	}
	if (fl >> KPF_MLOCKED & 1)
		s[1] = 'L';
	if (fl >> KPF_ZERO_PAGE & 1)
		s[2] = 'Z';
	if (fz_tag_lost && !strcmp(s, "P--") &&
	    msync((void *)addr, FZ_PAGE, MS_INVALIDATE) && errno == EBUSY)
		strcpy(s, "P-- [class=kernel-lost-mlock]");
}

/*
 * Drain every CPU's batches of folios waiting to be (un)mlocked, so
 * KPF_MLOCKED is up to date: munlocking a folio (munlock, a copy on
 * write out of a locked mapping) only queues it on the current CPU.
 * mbind() with MPOL_MF_MOVE disables the LRU caches, which drains them
 * all (lru_cache_disable); a page of our own, default policy, nothing
 * moves.
 */
static void drain(void)
{
	static void *page;

	if (!page) {
		page = mmap(NULL, FZ_PAGE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (page == MAP_FAILED) {
			page = NULL;
			return;
		}
	}
	syscall(SYS_mbind, page, FZ_PAGE, 0 /* MPOL_DEFAULT */, NULL, 0UL,
		2 /* MPOL_MF_MOVE */);
}

/* A run of n equal pages from model page i; the page below the arena
 * is A-0x1000. */
static void run_out(int idx, unsigned long i, unsigned long n, const char *s)
{
	unsigned long x = FZ_MODEL_BASE + i * FZ_PAGE;

	if (x < FZ_ARENA_BASE)
		fz_out("#%d.lock A-0x%lx %lu %s", idx, FZ_ARENA_BASE - x, n, s);
	else
		fz_out("#%d.lock A+0x%lx %lu %s", idx, x - FZ_ARENA_BASE, n, s);
}

/*
 * A page the kernel still marks mlocked though no locked mapping of the
 * program holds it (for a file page: none of the arena pages that map
 * the same file page is in a VM_LOCKED mapping with that very page
 * present): "l". A locked mapping that covers the file page but never
 * faulted it in does not hold it: the kernel counts a folio's locks by
 * the locked mappings whose page tables map it (mlock_vma_folio at
 * fault, mlock_pte_range at the lock call), so its pages stay
 * unlocked under the kernel's own lock-on-fault (seed 9295 under
 * sim43: a second mapping of a locked file range, by mremap with old
 * size 0, never touched; the first unlocked, its page left one lock
 * too many by the emulation's munlock and mlock around the mremap,
 * racing the mlock a second thread's fault still had queued on its
 * CPU). The kernel keeps
 * a folio's mlock count approximately (mm/mlock.c); under the
 * emulation, threads faulting while lock calls open and lock batches,
 * it was seen to stay one too high after munlock or munlockall (seeds
 * 9 and 17, about one run in three under load), the page in no
 * VM_LOCKED mapping (smaps: Locked 0 kB, no "lo"); once under the
 * native engine too (seed 1422), the reference's own calls.
 * liblockonfault(7), LIMITATIONS. The frames the locked mappings of a
 * file page map are all kept, not the first one's only: under the
 * emulation a locked private mapping of the file may hold its own copy
 * of a page the program never touched there (liblockonfault(7),
 * LIMITATIONS: untouched pages present and locked), and its frame is
 * not the page cache page a locked shared mapping holds (seed 3484
 * under sim43). Shared anonymous memory: the model
 * does not tell its objects apart, so a page is "l" only if no page of
 * any object at the same offset is in a VM_LOCKED mapping.
 */
static uint8_t file_maps[FZ_FILE_PAGES];	/* arena pages mapping it, max 2 */
#define FILE_HOLDERS (FZ_NREC + 1)		/* mappings of one file page */
/* The frames (+ 1) those of them in VM_LOCKED mappings map; 0: none. */
static uint64_t file_locked[FZ_FILE_PAGES][FILE_HOLDERS];
#define SHM_PAGES (FZ_REGION / FZ_PAGE)		/* object pages, at most */
static uint8_t shm_locked[SHM_PAGES];		/* an object page so held */

static int page_cache(const struct fz_page *p)
{
	return (p->kind == K_FILE_S || (p->kind == K_FILE_P && !p->cow)) &&
	       p->fpg < FZ_FILE_PAGES;
}

static int vm_locked(unsigned long addr)
{
	return msync((void *)addr, FZ_PAGE, MS_INVALIDATE) && errno == EBUSY;
}

/* The page frame mapped at addr, + 1; 0 if none (or unknown). */
static uint64_t frame(unsigned long addr)
{
	uint64_t pm = 0;

	if (pm_fd == -2)
		pm_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (pm_fd < 0 ||
	    pread(pm_fd, &pm, 8, (off_t)(addr / FZ_PAGE * 8)) != 8 ||
	    !(pm >> 63 & 1))
		return 0;
	return (pm & ((1UL << 55) - 1)) + 1;
}

/* Add frame f (+ 1) to the holders h, once; 0 (absent) holds nothing. */
static void hold(uint64_t *h, uint64_t f)
{
	for (int k = 0; f && k < FILE_HOLDERS; k++) {
		if (h[k] == f)
			return;
		if (!h[k]) {
			h[k] = f;
			return;
		}
	}
}

/* Does a locked mapping hold frame f (+ 1), by the holders h? */
static int held(const uint64_t *h, uint64_t f)
{
	for (int k = 0; f && k < FILE_HOLDERS && h[k]; k++)
		if (h[k] == f)
			return 1;
	return 0;
}

static void count_file_maps(void)
{
	memset(file_maps, 0, sizeof(file_maps));
	memset(file_locked, 0, sizeof(file_locked));
	for (unsigned long i = 0; i < FZ_MODEL_PAGES; i++)
		if (page_cache(&fz_pages[i]) && file_maps[fz_pages[i].fpg] < 2)
			file_maps[fz_pages[i].fpg]++;
	memset(shm_locked, 0, sizeof(shm_locked));
	for (unsigned long i = 0; i < FZ_MODEL_PAGES; i++) {
		const struct fz_page *p = &fz_pages[i];

		if (page_cache(p) && file_maps[p->fpg] > 1 &&
		    vm_locked(FZ_MODEL_BASE + i * FZ_PAGE))
			hold(file_locked[p->fpg],
			     frame(FZ_MODEL_BASE + i * FZ_PAGE));
		if (p->kind == K_ANON_S && p->fpg < SHM_PAGES &&
		    !shm_locked[p->fpg] &&
		    vm_locked(FZ_MODEL_BASE + i * FZ_PAGE))
			shm_locked[p->fpg] = 1;
	}
}

/* Is the mlocked page at model page i held by no locked mapping? */
static int lock_left(const struct fz_page *p, unsigned long i)
{
	if (p->kind == K_ANON_S)
		return p->fpg < SHM_PAGES && !shm_locked[p->fpg];
	if (page_cache(p) && file_maps[p->fpg] > 1)
		return !held(file_locked[p->fpg],
			     frame(FZ_MODEL_BASE + i * FZ_PAGE));
	return !vm_locked(FZ_MODEL_BASE + i * FZ_PAGE);
}

void fz_lockstate(int idx)
{
	unsigned long run_start = 0, run_n = 0;
	char run_s[32] = "", s[32];

	drain();
	count_file_maps();

	for (unsigned long i = 0; i < FZ_MODEL_PAGES; i++) {
		struct fz_page *p = &fz_pages[i];

		if (!p->kind || !p->touched) {
			if (run_n)
				run_out(idx, run_start, run_n, run_s);
			run_n = 0;
			continue;
		}
		state_str(FZ_MODEL_BASE + i * FZ_PAGE, s);
		if (s[1] == 'L' && lock_left(p, i))
			s[1] = 'l';
		if (run_n && !strcmp(s, run_s)) {
			run_n++;
			continue;
		}
		if (run_n)
			run_out(idx, run_start, run_n, run_s);
		run_start = i;
		run_n = 1;
		strcpy(run_s, s);
	}
	if (run_n)
		run_out(idx, run_start, run_n, run_s);
}
