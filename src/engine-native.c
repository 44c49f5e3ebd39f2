/*
 * engine-native.c - the kernel-flags engine: each lock call is rewritten
 * into the kernel's own lock-on-fault form (Linux 4.4 and later), and
 * the kernel does the rest. Nothing is made PROT_NONE, there is no
 * table and no handler: memory the kernel reaches without a system call
 * from the program (KVM guest RAM, vhost rings, io_uring and AIO
 * buffers, another process's process_vm_readv) behaves exactly as with
 * the kernel's own flags.
 *
 *  - mlock(a, n) and mlock2(a, n, 0) become mlock2(a, n, MLOCK_ONFAULT).
 *    The kernel's answer is the same for both flags, but for what its
 *    populate would have refused: a PROT_NONE piece (the kernel's own
 *    mlock locks it and answers ENOMEM) and file pages past the end of
 *    the file (ENOMEM). Those are checked after the call, so the program
 *    sees the errno a plain mlock gives.
 *  - mlockall(f) becomes mlockall(f | MCL_ONFAULT): adding the flag never
 *    changes the kernel's answer. A sandbox that refuses MCL_ONFAULT
 *    alone (EINVAL for flags the kernel accepts) gets the call as it
 *    was, said once.
 *  - mmap(MAP_LOCKED) becomes mmap without it, then mlock2(MLOCK_ONFAULT)
 *    on the result; a refusal unmaps it again and answers as mmap does
 *    (EPERM, else EAGAIN). With MAP_FIXED the old mapping is gone once
 *    the mmap is made, so the limit is checked first by the kernel's
 *    rules (charge_map_locked): over it, the call goes to the kernel as
 *    it is, which refuses before it touches the old mapping, with its
 *    own errno (EPERM, EAGAIN, or what it says of the arguments first).
 *    Should the lock still fail (another thread locked more in between),
 *    the new mapping stays, unlocked, and that is said once.
 * MIN_SIZE does not apply: lock-on-fault costs nothing here.
 */
#include "config.h"
#include "engine.h"

#include <errno.h>
#include <sys/mman.h>

#include "log.h"
#include "maps.h"
#include "region.h"
#include "sigsegv.h"
#include "stats.h"
#include "sys.h"


/* What the kernel's populate would have refused, piece by piece. */
static int native_piece(const struct maps_entry *e, void *arg)
{
	int *err = arg, r = 0;

	if (e->prot == PROT_NONE)
		r = sys_mlock((void *)e->start, e->end - e->start);
	else if (engine_past_eof(e))
		r = -ENOMEM;
	if (r && !*err)
		*err = r;
	return 0;
}

int native_mlock(const void *addr, size_t len, unsigned int flags)
{
	uintptr_t a = (uintptr_t)addr, s, e;
	int r, err = 0;

	if (flags & ~(unsigned int)MLOCK_ONFAULT)
		return -EINVAL;
	r = sys_mlock2(addr, len, MLOCK_ONFAULT);
	if (r || (flags & MLOCK_ONFAULT) || a + len < a)
		return r;
	s = page_down(a);
	e = page_up(a + len);
	if (e <= s)
		return r;
	/* Calls from a handler our own reads of /proc raise go straight on. */
	lof_in_engine++;
	maps_walk(s, e, native_piece, &err);
	lof_in_engine--;
	return err;
}

int native_mlockall(int flags)
{
	int r = sys_mlockall(flags | MCL_ONFAULT);

	if (r == -EINVAL && flags && flags != MCL_ONFAULT &&
	    !(flags & ~(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT)) &&
	    !(flags & MCL_ONFAULT)) {
		log_warn_once("the kernel refuses MCL_ONFAULT: mlockall(0x%x) is passed on unchanged",
			      flags);
		r = sys_mlockall(flags);
	}
	return r;
}

long native_mmap(void *addr, size_t len, int prot, int flags, int fd,
		 off_t off)
{
	long p;
	int r;

	if (!(flags & MAP_LOCKED) ||
	    ((flags & MAP_FIXED) && charge_map_locked(len)))
		return sys_mmap(addr, len, prot, flags, fd, off);
	p = sys_mmap(addr, len, prot, flags & ~MAP_LOCKED, fd, off);
	if (p < 0 && p > -4096)
		return p;
	r = sys_mlock2((void *)p, len, MLOCK_ONFAULT);
	if (r && (flags & MAP_FIXED)) {
		stat_add(failures, 1);
		log_warn_once("mmap(MAP_FIXED|MAP_LOCKED): the old mapping is replaced, the new one cannot be locked (errno %d)",
			      -r);
	} else if (r) {
		sys_munmap((void *)p, len);
		return r == -EPERM ? -EPERM : -EAGAIN;
	}
	return p;
}
