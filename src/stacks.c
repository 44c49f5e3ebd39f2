/*
 * stacks.c - memory the engine runs on, which it must never make
 * pending: stacks, and the main thread's TLS.
 *
 * Why. A pending page is opened by the fault handler (fault.c), which
 * reads the region table without a lock but waits while a writer is in
 * the middle of an update (the table's sequence count is odd), and in
 * emulation while a writer has a range protected but not yet locked
 * (sig_unsettled is odd). The writer is a thread inside the engine with
 * the table's writer lock held and every asynchronous signal blocked.
 * If that thread itself touches a pending page inside such a window,
 * the handler it runs waits for itself: a hang for ever, which not even
 * timeout's SIGTERM can end. Seen (gdb, before this file): mlock ->
 * lock_range -> maps_walk -> sig_register_piece -> region_insert ->
 * begin_range -> split_at, whose frame was the first to touch a pending
 * page of the main thread's stack; the handler's region_lookup slept in
 * read_begin on the odd sequence count for ever. So nothing that thread
 * touches there may be pending. What it touches:
 *  - its stack, below the stack pointer it entered the engine with, as
 *    deep as the engine's frames go (maps_walk alone has 5 KiB of
 *    buffers). The stack only grows into memory it has not used
 *    before, which is exactly the memory a lock call finds absent and
 *    makes pending;
 *  - its TLS and thread descriptor (lof_in_engine, errno, the stack
 *    protector's canary): present, since every thread reads them all
 *    the time, but a lock call over them over the kernel's own
 *    lock-on-fault protects present pages too;
 *  - the region table (region_is_self), the library's own code and data
 *    (sig_self_lo/hi), the alternate signal stacks (altstack_within):
 *    each already excluded where sig_eligible asks.
 * Besides, a stack page that is pending loses signals: the kernel cannot
 * write a program handler's signal frame there and delivers SIGSEGV in
 * its place.
 *
 * The main thread's stack. /proc/self/maps labels "[stack]" only the
 * mapping that holds the stack's start (the kernel's mm->start_stack).
 * Once the stack mapping is split, which a lock call on part of it does
 * (the program's mlock; mlockall under CHARGE=touched, which locks only
 * the stack's present pages; an mprotect of part of it), the pieces
 * below are plain anonymous mappings, and the check on the caller's
 * stack pointer only saw the piece that holds it. The lower pieces
 * used to become pending; the next time the main thread went deeper
 * than before while inside the engine, it hung (t-stackhang). Now the
 * whole range the main stack can occupy is never pending: from its top,
 * fixed for the life of the process, down to the lowest address seen
 * in it, and at least as far down as RLIMIT_STACK (at load) lets it
 * grow. Only anonymous private mappings in that range count: the
 * kernel keeps the program's other mappings below it (mmap_base leaves
 * at least RLIMIT_STACK of room), so what lies there is the stack,
 * unless the program placed a mapping there with MAP_FIXED, which then
 * is locked the ordinary way.
 *
 * Other threads' stacks. Each thread that pthread_create starts records
 * the stack glibc mapped for it, [top - size, top) where top is the
 * page above its thread descriptor, with its alternate stack
 * (altstack.c), until it exits: every mapping that meets it, whichever
 * piece of the stack it is, is never pending. And the calling thread's
 * stack pointer is known at each registration (struct reg_ctx's sp):
 * the mapping that holds it and any mapping within ENGINE_STACK below
 * it are never pending, so the engine's frames on this call never meet
 * a page it made pending.
 *
 * Not covered: a stack the program gives (pthread_attr_setstack) lies
 * in the program's own memory, a pool it may lock as a whole; only its
 * top is kept open (sigsegv.c, kept[]), and below it, pages the thread
 * has not used yet can be pending. Threads started before the library
 * was loaded, or with clone() directly, are not recorded, and a lock
 * call on another thread between a thread's start and its record (a
 * few instructions in its trampoline) can still make its stack
 * pending. A stack glibc keeps in its cache after its thread exits is
 * the program's to lock again until a new thread takes it. With no
 * RLIMIT_STACK at load, a piece of the main stack below everything the
 * engine has seen of it, split off by the program itself, is not known
 * for a stack piece.
 *
 * Context: under the table's writer lock (sig_eligible's callers), and
 * at init; never in the signal handler.
 */
#include "config.h"
#include "sigsegv.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/resource.h>

#include "altstack.h"
#include "maps.h"
#include "region.h"

/* How deep the engine's frames may reach below the caller's sp. */
#define ENGINE_STACK (64UL << 10)
/* Room above the thread pointer for glibc's thread descriptor. */
#define DESCRIPTOR (4UL << 10)

/* The main thread's stack: its top and the lowest address seen in it. */
static uintptr_t main_top, main_lo;
/* How far below main_top RLIMIT_STACK let it grow, at load; 0: no limit. */
static uintptr_t main_reach;
/* The main thread's TLS block and thread descriptor. */
static uintptr_t tls_lo, tls_hi;

static int note_stack(const struct maps_entry *e, void *arg)
{
	(void)arg;
	main_top = e->vma_end;
	main_lo = e->vma_start;
	return 1;
}

void sig_stacks_init(void)
{
	uintptr_t here = (uintptr_t)__builtin_frame_address(0);
	uintptr_t tp = (uintptr_t)pthread_self();
	uintptr_t lo = tp;
	struct rlimit rl;

	/* The library is initialized on the main thread, on its stack. */
	maps_walk(page_down(here), page_down(here) + lof_page_size,
		  note_stack, NULL);
	if (getrlimit(RLIMIT_STACK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < main_top)
		main_reach = page_up(rl.rlim_cur);
	/* x86 keeps the TLS blocks below the thread pointer. */
	if ((uintptr_t)&errno < lo)
		lo = (uintptr_t)&errno;
	if ((uintptr_t)&lof_in_engine < lo)
		lo = (uintptr_t)&lof_in_engine;
	tls_lo = page_down(lo);
	tls_hi = page_up(tp + DESCRIPTOR);
}

int sig_runs_on(const struct maps_entry *e, uintptr_t sp)
{
	uintptr_t lo = main_lo;

	if (main_reach && main_top - main_reach < lo)
		lo = main_top - main_reach;
	/* The main thread's stack, whichever piece of it. */
	if (strncmp(e->path, "[stack]", 7) == 0 ||
	    (!e->inode && !e->path[0] && !e->shared &&
	     e->vma_start < main_top && e->vma_end > lo)) {
		if (e->vma_start < main_lo && e->vma_end <= main_top)
			main_lo = e->vma_start;
		return 1;
	}
	/*
	 * Another thread's stack, mapped by glibc (interpose-thread.c).
	 * The piece asked about, not its whole mapping: the kernel merges
	 * a stack with anonymous neighbours of the same flags (the
	 * alternate stack above it, and what lies above that), and a lock
	 * call on such a neighbour must not lose its laziness to it.
	 */
	if (altstack_thread_stack_within(e->start, e->end))
		return 1;
	/* The caller's stack, and where the engine's frames go below it. */
	if (sp && e->vma_start <= sp && e->vma_end + ENGINE_STACK > sp)
		return 1;
	/* The main thread's TLS and descriptor. */
	return e->vma_start < tls_hi && e->vma_end > tls_lo;
}
