/*
 * arch.h - what kind of access raised a fault: the one file with
 * architecture-specific code.
 *
 * Knowing a write from a read lets the engine decline, without a second
 * fault, a write to a page the program made read-only.
 */
#ifndef LOF_ARCH_H
#define LOF_ARCH_H

#include <signal.h>
#include <stdint.h>
#include <ucontext.h>

enum lof_access {
	LOF_ACCESS_UNKNOWN,
	LOF_ACCESS_READ,
	LOF_ACCESS_WRITE,
	LOF_ACCESS_EXEC,
};

/*
 * The access that faulted, from the signal context.
 * Context: any, including the SIGSEGV handler (async-signal-safe).
 */
static inline int arch_fault_access(void *ctx)
{
#if defined(__x86_64__)
	ucontext_t *uc = ctx;
	unsigned long err = (unsigned long)uc->uc_mcontext.gregs[REG_ERR];

	/* Page-fault error code: bit 1 write, bit 4 instruction fetch. */
	if (err & 0x10)
		return LOF_ACCESS_EXEC;
	return err & 0x2 ? LOF_ACCESS_WRITE : LOF_ACCESS_READ;
#elif defined(__aarch64__)
	ucontext_t *uc = ctx;
	struct ctx_head {
		uint32_t magic;
		uint32_t size;
	} *h = (struct ctx_head *)uc->uc_mcontext.__reserved;

	/* Walk the records for the ESR one (ESR_MAGIC). */
	while (h->magic && h->size) {
		if (h->magic == 0x45535201) {
			uint64_t esr = *(uint64_t *)(h + 1);
			unsigned int ec = (unsigned int)(esr >> 26) & 0x3f;

			if (ec == 0x20 || ec == 0x21)
				return LOF_ACCESS_EXEC;
			return esr & (1u << 6) ? LOF_ACCESS_WRITE
					       : LOF_ACCESS_READ;
		}
		h = (struct ctx_head *)((char *)h + h->size);
	}
	return LOF_ACCESS_UNKNOWN;
#else
	(void)ctx;
	return LOF_ACCESS_UNKNOWN;
#endif
}

#endif /* LOF_ARCH_H */
