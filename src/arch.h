/*
 * arch.h - the one file with architecture-specific code: entering the
 * kernel, and what kind of access raised a fault.
 *
 * The library enters the kernel itself rather than through libc's
 * syscall(), which it interposes (and which sets errno). Knowing a
 * write from a read lets the engine decline, without a second fault, a
 * write to a page the program made read-only.
 */
#ifndef LOF_ARCH_H
#define LOF_ARCH_H

#include <signal.h>
#include <stdint.h>
#include <ucontext.h>

/*
 * A system call with six arguments.
 * Context: any, including the SIGSEGV handler (async-signal-safe).
 * Return: the kernel's result: a value, or -errno.
 */
#if defined(__x86_64__)
static inline long arch_syscall6(long n, long a, long b, long c, long d,
				 long e, long f)
{
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	long ret;

	__asm__ __volatile__("syscall"
			     : "=a"(ret)
			     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10),
			       "r"(r8), "r"(r9)
			     : "rcx", "r11", "memory");
	return ret;
}
#elif defined(__aarch64__)
static inline long arch_syscall6(long n, long a, long b, long c, long d,
				 long e, long f)
{
	register long x8 __asm__("x8") = n;
	register long x0 __asm__("x0") = a;
	register long x1 __asm__("x1") = b;
	register long x2 __asm__("x2") = c;
	register long x3 __asm__("x3") = d;
	register long x4 __asm__("x4") = e;
	register long x5 __asm__("x5") = f;

	__asm__ __volatile__("svc 0"
			     : "+r"(x0)
			     : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4),
			       "r"(x5)
			     : "memory", "cc");
	return x0;
}
#elif defined(__i386__)
/*
 * int $0x80: number in eax, arguments in ebx, ecx, edx, esi, edi, ebp.
 * ebp may be the frame pointer and ebx the PIC register, so the first
 * and sixth arguments go through memory and ebp is saved around the
 * call. (int $0x80 costs more than the vDSO's sysenter, but the calls
 * that matter here are memory management, not hot paths.)
 */
static inline long arch_syscall6(long n, long a, long b, long c, long d,
				 long e, long f)
{
	long af[2] = { a, f };
	long *p = af;
	long ret;

	__asm__ __volatile__("pushl %%ebp\n\t"
			     "movl 4(%%ebx), %%ebp\n\t"
			     "movl (%%ebx), %%ebx\n\t"
			     "int $0x80\n\t"
			     "popl %%ebp"
			     : "=a"(ret), "+b"(p)
			     : "0"(n), "c"(b), "d"(c), "S"(d), "D"(e), "m"(af)
			     : "memory", "cc");
	return ret;
}
#else
#error "lockonfault: add this architecture's system call to src/arch.h"
#endif

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
#if defined(__x86_64__) || defined(__i386__)
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
