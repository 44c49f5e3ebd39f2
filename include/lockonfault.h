/*
 * lockonfault.h - public interface of liblockonfault.
 *
 * Most programs never include this: preloading the library (or running
 * them under the lockonfault command) is enough. Programs that link the
 * library directly (pkg-config --libs lockonfault) or find it with
 * dlsym() can check its version, read its statistics while they run,
 * and ask for lock-on-fault explicitly. See liblockonfault(7).
 *
 * Every function here may be called at any time, from any thread, also
 * before the library's constructor has run; none calls malloc.
 */
#ifndef LOCKONFAULT_H
#define LOCKONFAULT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LOF_VERSION_MAJOR 0
#define LOF_VERSION_MINOR 1
#define LOF_VERSION_PATCH 0
#define LOF_VERSION_STRING "0.1.0"
#define LOF_VERSION_NUMBER                                                 \
	(LOF_VERSION_MAJOR * 10000 + LOF_VERSION_MINOR * 100 + LOF_VERSION_PATCH)

/*
 * The version of the library actually loaded, as "MAJOR.MINOR.PATCH".
 * Thread-safe and async-signal-safe; the string is static.
 */
const char *lof_version(void);

/*
 * The engine that runs in this process: "native" (the kernel's own
 * MLOCK_ONFAULT/MCL_ONFAULT), "sigsegv" (the user-space engine) or "off".
 * LOCKONFAULT_ENGINE=auto resolves to one of the first two at load.
 * Thread-safe; the string is static.
 */
const char *lof_engine(void);

/* ------------------------------------------------------------------ */
/* Statistics                                                          */
/* ------------------------------------------------------------------ */

/* Buckets of the handler-time histogram: see handler_hist below. */
#define LOF_STATS_HIST 12

/*
 * The figures LOCKONFAULT_STATS reports at exit, as the library counts
 * them now. Fields are only ever appended: a program built against an
 * older header passes its smaller size and gets the fields it knows.
 */
struct lof_stats {
	uint32_t size;		/* bytes the library filled in */
	uint32_t engine;	/* engine in use: 0 sigsegv, 1 native, 2 off */

	uint64_t regions;	/* lock calls that made ranges pending */
	uint64_t regions_live;	/* table entries now */
	uint64_t faults;	/* faults on pending pages resolved */
	uint64_t faults_passed;	/* faults handed to the program's handler */
	uint64_t retries;	/* faults retried after a race */
	uint64_t pages_resolved; /* pages made accessible by faults */
	uint64_t buffers_resolved; /* system-call buffers opened beforehand */
	uint64_t failures;	/* kernel calls that failed inside the engine */

	uint64_t handler_ns;	/* time inside the handler, total */
	/*
	 * Faults by handler time: bucket 0 is under 1 us, bucket i (1..10)
	 * is [2^(i-1), 2^i) us, bucket 11 is 1024 us and more.
	 */
	uint64_t handler_hist[LOF_STATS_HIST];

	uint64_t locked_kb;	/* Locked: of the process now (smaps_rollup) */
	uint64_t peak_locked_kb; /* highest Locked: sampled so far */
	uint64_t maps;		/* kernel mappings now (/proc/self/maps) */
	uint64_t peak_maps;	/* highest mapping count sampled so far */
	uint64_t max_map_count;	/* vm.max_map_count */
};

/*
 * Fill *st (size bytes, normally sizeof(*st)) with the current figures.
 * Counters are read one by one with atomic loads, so each is exact but
 * they are not one snapshot; locked_kb and maps are read from /proc
 * (tens of microseconds) and update the peaks.
 * Thread-safe and async-signal-safe.
 * Return: 0, or -1 with errno EINVAL when st is NULL or size is smaller
 * than the first two fields.
 */
int lof_stats_get(struct lof_stats *st, size_t size);

/* ------------------------------------------------------------------ */
/* Lock call sites                                                     */
/* ------------------------------------------------------------------ */

/* What a call site called: struct lof_site's call field. */
#define LOF_CALL_MLOCK 1	/* mlock() */
#define LOF_CALL_MLOCK2 2	/* mlock2() */
#define LOF_CALL_MLOCKALL 3	/* mlockall() */
#define LOF_CALL_MMAP 4		/* mmap() or mmap64() with MAP_LOCKED */
#define LOF_CALL_LOCK_ONFAULT 5	/* lof_lock_onfault() */

/*
 * One place in the program that made lock calls: the figures of the
 * LOCKONFAULT_STATS "site=" lines (liblockonfault(7) STATISTICS).
 * Fields are only ever appended, as in struct lof_stats.
 */
struct lof_site {
	uint32_t size;		/* bytes the library filled in */
	uint32_t call;		/* LOF_CALL_* */
	uint64_t pc;		/* return address of the call */
	uint64_t calls;		/* successful calls made there */
	/*
	 * Bytes asked for, summed over the calls: each range rounded out
	 * to whole pages; for mlockall, the address space size (VmSize)
	 * at the call (the largest over the calls; with MCL_FUTURE, also
	 * VmSize now, if larger).
	 */
	uint64_t asked_bytes;
	/*
	 * Of the pages asked for, those present now (touched and still
	 * mapped), and those of them that are locked (in a VM_LOCKED
	 * mapping). For mlockall, what the process has beyond the other
	 * sites (see liblockonfault(7)).
	 */
	uint64_t touched_bytes;
	uint64_t locked_bytes;
	char function[128];	/* "name+0xoffset", or "" if unknown */
	char object[256];	/* the file the call is in, or "" */
};

/*
 * Fill out[0..n-1] (each size bytes, normally sizeof(struct lof_site))
 * with the lock call sites seen so far, the most bytes asked first,
 * measured now (/proc/self/smaps and /proc/self/pagemap: milliseconds
 * for a large process). n may be 0 to count them.
 * Thread-safe; not async-signal-safe (it takes a lock and reads
 * symbol tables). Memory it needs comes from mmap, never malloc.
 * Return: the number of sites (more than n when out was too small), or
 * -1 with errno EINVAL when size is smaller than the first two fields,
 * or ENOMEM.
 */
int lof_sites_get(struct lof_site *out, size_t n, size_t size);

/* ------------------------------------------------------------------ */
/* Explicit calls                                                      */
/* ------------------------------------------------------------------ */

/*
 * Lock [addr, addr + len) on fault: what mlock2(addr, len,
 * MLOCK_ONFAULT) does, through the library's engine (ranges smaller
 * than LOCKONFAULT_MIN_SIZE go to the kernel as they are). Same errors
 * as mlock2().
 * Thread-safe; not async-signal-safe (it takes the table lock).
 * Return: 0, or -1 with errno set.
 */
int lof_lock_onfault(const void *addr, size_t len);

/*
 * Make the pending pages of [addr, addr + len) accessible now (they
 * are locked as soon as they are touched), for memory handed to a
 * consumer the library cannot see: a raw syscall(), io_uring, a device.
 * Ranges with no pending page cost almost nothing.
 * Thread-safe and async-signal-safe.
 */
void lof_resolve(const void *addr, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* LOCKONFAULT_H */
