/*
 * internal.h - definitions shared by every file of the library.
 *
 * Visibility and signal-safety markers, page arithmetic and the small
 * helpers that have no better home. Included after config.h.
 */
#ifndef LOF_INTERNAL_H
#define LOF_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#define LOF_EXPORT __attribute__((visibility("default")))
#define LOF_HIDDEN __attribute__((visibility("hidden")))

/*
 * LOF_AS_SAFE marks a function the SIGSEGV handler may call: it is
 * async-signal-safe (no malloc, no stdio, no lock a handler can deadlock
 * on). It expands to nothing; `git grep LOF_AS_SAFE` lists them.
 */
#define LOF_AS_SAFE

/* Initial-exec TLS: a TLS access never allocates, so handlers may use it. */
#define LOF_TLS __thread __attribute__((tls_model("initial-exec")))

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
/* Tell the CPU we are spinning. */
static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* The kernel's lock-on-fault flags (Linux 4.4), for older headers. */
#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 0x01
#endif
#ifndef MCL_ONFAULT
#define MCL_ONFAULT 0x04
#endif

/* Set once by lof_page_init() before anything else runs; read-only after. */
extern size_t lof_page_size;
extern unsigned int lof_page_shift;

static inline uintptr_t page_down(uintptr_t a)
{
	return a & ~(uintptr_t)(lof_page_size - 1);
}

static inline uintptr_t page_up(uintptr_t a)
{
	return (a + lof_page_size - 1) & ~(uintptr_t)(lof_page_size - 1);
}

void lof_page_init(void);

#endif /* LOF_INTERNAL_H */
