/*
 * interpose-malloc.c - malloc and its family, watched for memory glibc
 * maps behind the program's back while mlockall(MCL_FUTURE) is in force
 * and the kernel was not told of it (the SIGSEGV engine without the
 * kernel's MCL_ONFAULT, or CHARGE=touched: lockall.c).
 *
 * The kernel's MCL_FUTURE locks every later mapping, glibc's internal
 * ones too: malloc's mmap'd chunks, its arenas, brk growth. Those never
 * pass through our mmap, so each allocation is looked at after the
 * real call (sig_future_cover, lockall.c), and what is new is locked as
 * the kernel would have locked it. When nothing is watched, each call
 * costs one load and an indirect call.
 *
 * The real functions come from dlsym(RTLD_NEXT), so the program's own
 * allocator (jemalloc, tcmalloc) is the one called. dlsym may allocate
 * itself: calls made while it runs are served from a small static
 * arena, whose blocks free() and realloc() recognise and never hand on.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "interpose.h"
#include "sigsegv.h"

typedef void *(*malloc_fn)(size_t);
typedef void *(*calloc_fn)(size_t, size_t);
typedef void *(*realloc_fn)(void *, size_t);
typedef void (*free_fn)(void *);
typedef void *(*memalign_fn)(size_t, size_t);
typedef int (*posix_memalign_fn)(void **, size_t, size_t);
typedef void *(*valloc_fn)(size_t);

static malloc_fn real_malloc;
static calloc_fn real_calloc;
static realloc_fn real_realloc;
static free_fn real_free;
static memalign_fn real_memalign, real_aligned_alloc;
static posix_memalign_fn real_posix_memalign;
static valloc_fn real_valloc, real_pvalloc;

/* The arena for calls made while dlsym runs; never freed. */
static _Alignas(16) char boot[16384];
static size_t boot_used;
static int resolving;

static void *boot_alloc(size_t n)
{
	size_t at = __atomic_fetch_add(&boot_used, (n + 15) & ~(size_t)15,
				       __ATOMIC_RELAXED);

	if (at + n > sizeof(boot))
		return NULL;
	return boot + at;
}

static int from_boot(const void *p)
{
	return (const char *)p >= boot && (const char *)p < boot + sizeof(boot);
}

static void resolve(void)
{
	if (__atomic_load_n(&real_free, __ATOMIC_ACQUIRE) || resolving)
		return;
	resolving = 1;
	real_malloc = (malloc_fn)dlsym(RTLD_NEXT, "malloc");
	real_calloc = (calloc_fn)dlsym(RTLD_NEXT, "calloc");
	real_realloc = (realloc_fn)dlsym(RTLD_NEXT, "realloc");
	real_memalign = (memalign_fn)dlsym(RTLD_NEXT, "memalign");
	real_aligned_alloc = (memalign_fn)dlsym(RTLD_NEXT, "aligned_alloc");
	real_posix_memalign =
		(posix_memalign_fn)dlsym(RTLD_NEXT, "posix_memalign");
	real_valloc = (valloc_fn)dlsym(RTLD_NEXT, "valloc");
	real_pvalloc = (valloc_fn)dlsym(RTLD_NEXT, "pvalloc");
	__atomic_store_n(&real_free, (free_fn)dlsym(RTLD_NEXT, "free"),
			 __ATOMIC_RELEASE);
	resolving = 0;
}

void interpose_malloc_init(void)
{
	resolve();
}

/* After a successful allocation of n bytes at p. */
static inline void *watched(void *p, size_t n)
{
	if (p && __atomic_load_n(&sig_future_watch, __ATOMIC_RELAXED))
		sig_future_cover((uintptr_t)p, n);
	return p;
}

LOF_EXPORT void *malloc(size_t n)
{
	resolve();
	if (!real_malloc)
		return boot_alloc(n);
	return watched(real_malloc(n), n);
}

LOF_EXPORT void *calloc(size_t k, size_t n)
{
	size_t total;

	resolve();
	if (__builtin_mul_overflow(k, n, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	if (!real_calloc)
		return boot_alloc(total);	/* static: already zero */
	return watched(real_calloc(k, n), total);
}

LOF_EXPORT void *realloc(void *p, size_t n)
{
	resolve();
	if (p && !from_boot(p) && !real_realloc) {
		errno = ENOMEM;
		return NULL;
	}
	if (from_boot(p) || !real_realloc) {
		void *q = real_malloc ? real_malloc(n) : boot_alloc(n);
		size_t room = p ? (size_t)(boot + sizeof(boot) - (char *)p) : 0;

		if (q && p)
			memcpy(q, p, n < room ? n : room);
		return watched(q, n);
	}
	return watched(real_realloc(p, n), n);
}

LOF_EXPORT void free(void *p)
{
	if (!p || from_boot(p))
		return;
	resolve();
	if (real_free)
		real_free(p);
}

LOF_EXPORT void *memalign(size_t a, size_t n)
{
	resolve();
	return real_memalign ? watched(real_memalign(a, n), n) : NULL;
}

LOF_EXPORT void *aligned_alloc(size_t a, size_t n)
{
	resolve();
	return real_aligned_alloc ? watched(real_aligned_alloc(a, n), n) : NULL;
}

LOF_EXPORT int posix_memalign(void **out, size_t a, size_t n)
{
	int r;

	resolve();
	if (!real_posix_memalign)
		return ENOMEM;
	r = real_posix_memalign(out, a, n);
	if (r == 0)
		watched(*out, n);
	return r;
}

LOF_EXPORT void *valloc(size_t n)
{
	resolve();
	return real_valloc ? watched(real_valloc(n), n) : NULL;
}

/*
 * The program's own brk and sbrk: growth is locked as glibc's is
 * (sig_future_cover sees the break move).
 */
typedef int (*brk_fn)(void *);
typedef void *(*sbrk_fn)(intptr_t);

LOF_EXPORT int brk(void *end)
{
	static brk_fn real_brk;
	int r;

	if (!real_brk)
		real_brk = (brk_fn)dlsym(RTLD_NEXT, "brk");
	if (!real_brk) {
		errno = ENOMEM;
		return -1;
	}
	r = real_brk(end);
	if (r == 0 && __atomic_load_n(&sig_future_watch, __ATOMIC_RELAXED))
		sig_future_cover((uintptr_t)end - 1, 1);
	return r;
}

LOF_EXPORT void *sbrk(intptr_t inc)
{
	static sbrk_fn real_sbrk;
	void *p;

	if (!real_sbrk)
		real_sbrk = (sbrk_fn)dlsym(RTLD_NEXT, "sbrk");
	if (!real_sbrk) {
		errno = ENOMEM;
		return (void *)-1;
	}
	p = real_sbrk(inc);
	if (p != (void *)-1 && inc > 0 &&
	    __atomic_load_n(&sig_future_watch, __ATOMIC_RELAXED))
		sig_future_cover((uintptr_t)p, (size_t)inc);
	return p;
}

LOF_EXPORT void *pvalloc(size_t n)
{
	resolve();
	return real_pvalloc ? watched(real_pvalloc(n), n) : NULL;
}
