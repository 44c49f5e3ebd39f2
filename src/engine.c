/*
 * engine.c - which engine runs, and the calls that go to it.
 *
 * Three engines (kernel.h): the kernel's own flags (engine-native.c),
 * the user-space SIGSEGV engine (sigsegv.h and its files), and off.
 * LOCKONFAULT_ENGINE=auto, the default, takes the kernel's flags where
 * the kernel has MLOCK_ONFAULT/MCL_ONFAULT and CHARGE=range: the kernel
 * then ends in exactly the state the SIGSEGV engine would reach, with
 * none of its faults or blind spots. Elsewhere (Linux before 4.4, a
 * sandbox that refuses the flags, CHARGE=touched) it takes the SIGSEGV
 * engine, which supplies what the kernel lacks. The choice is made once,
 * at load, from a probe with no side effects (kernel.c), and said at
 * info level, in the statistics and by lof_engine().
 */
#include "config.h"
#include "engine.h"

#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <sys/mman.h>

#include "kernel.h"
#include "log.h"
#include "maps.h"
#include "options.h"
#include "region.h"
#include "sigchain.h"
#include "sigsegv.h"
#include "stats.h"
#include "sys.h"

int lof_mode = LOF_MODE_PASS;
const char *lof_engine_why = "";

/*
 * LOCKONFAULT_ENGINE=native on a kernel without MLOCK_ONFAULT: the
 * errno the probe got. Said once, at the first lock call, so that a
 * process that never locks anything stays quiet.
 */
static int native_missing;

static void passed_on(void)
{
	if (native_missing)
		log_warn_once("the kernel has no MLOCK_ONFAULT (errno %d): LOCKONFAULT_ENGINE=native passes lock calls on unchanged; auto or sigsegv would supply it",
			      native_missing);
}

/*
 * The loaded object whose PT_LOAD page range meets [addr, end), and
 * that range. dl_iterate_phdr takes the loader's list lock (recursive,
 * and never held across a call back into us), so it is called under the
 * table lock, never from the fault path.
 */
struct object_range {
	uintptr_t addr, end;
	uintptr_t lo, hi;
};

static int find_object(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct object_range *o = arg;
	uintptr_t lo = UINTPTR_MAX, hi = 0;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t s = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type != PT_LOAD)
			continue;
		if (s < lo)
			lo = s;
		if (s + ph->p_memsz > hi)
			hi = s + ph->p_memsz;
	}
	if (lo >= hi || o->end <= page_down(lo) || o->addr >= page_up(hi))
		return 0;
	o->lo = page_down(lo);
	o->hi = page_up(hi);
	return 1;
}

/*
 * Does [start, end) meet a loaded object (the program, ld.so, a shared
 * library, one dlopen loaded)? Its executable mappings are code; the
 * executable mapping of a file the program made itself is data.
 * Context: table lock held or init, not in a signal handler.
 */
int engine_is_object(uintptr_t start, uintptr_t end)
{
	struct object_range o = { start, end, 0, 0 };

	return dl_iterate_phdr(find_object, &o) != 0;
}

static int count_map(const struct maps_entry *e, void *arg)
{
	(*(unsigned long *)arg)++;
	return 0;
}

void engine_init(void)
{
	struct lof_kernel k;
	unsigned long maps = 0;
	int touched = lof_config.charge == LOF_CHARGE_TOUCHED;

	kernel_probe(&k);
	lof_mode = engine_choose(lof_config.engine, lof_config.charge, &k,
				 &lof_engine_why);
	if (lof_mode == LOF_MODE_SIGSEGV) {
		/*
		 * Our own object, and libc's: glibc's internal system calls
		 * take pointers to its read-only data (the full signal set
		 * posix_spawn, pthread_create and abort block with), where
		 * no interposed call can open them first.
		 */
		struct object_range self = {
			(uintptr_t)&find_object, (uintptr_t)&find_object + 1,
			0, 0 };
		uintptr_t spawn = (uintptr_t)dlsym(RTLD_NEXT, "posix_spawn");
		struct object_range libc = { spawn, spawn + 1, 0, 0 };

		if (dl_iterate_phdr(find_object, &self)) {
			sig_self_lo = self.lo;
			sig_self_hi = self.hi;
		}
		if (libc.addr && dl_iterate_phdr(find_object, &libc)) {
			sig_libc_lo = libc.lo;
			sig_libc_hi = libc.hi;
		}
		sig_stacks_init();
		maps_walk(0, UINTPTR_MAX, count_map, &maps);
		sig_budget_init(k.max_map_count, maps);
		sig_init(touched, !k.has_onfault, !k.has_onfault && !touched);
		/*
		 * Own SIGSEGV from the start, so that no thread can really
		 * block it before the first lock call (sigchain.c keeps its
		 * view).
		 */
		if (sigchain_install(engine_handler)) {
			log_warn("cannot install the SIGSEGV handler: memory is locked the ordinary way");
			lof_mode = LOF_MODE_PASS;
			lof_engine_why = "the SIGSEGV handler could not be installed";
		}
	}
	stat_engine(lof_mode == LOF_MODE_SIGSEGV && sig_batch_lock,
		    lof_mode == LOF_MODE_SIGSEGV && sig_emulate);
	log_info("engine %s: %s", engine_mode_name(lof_mode), lof_engine_why);
	if (lof_config.engine == LOF_ENGINE_NATIVE && !k.has_onfault)
		native_missing = k.onfault_errno;
	log_debug("engine mode %d, batch lock %d, batch %zu, max batch %zu, min size %zu",
		  lof_mode, sig_batch_lock, lof_config.batch,
		  lof_config.max_batch, lof_config.min_size);
}

void sig_init(int batch_lock, int emulate, int charge)
{
	sig_batch_lock = batch_lock;
	sig_emulate = emulate;
	sig_charge = charge;
}

int engine_past_eof(const struct maps_entry *e)
{
	char link[64];
	long size;

	if (!e->inode || e->path[0] != '/')
		return 0;
	/* The mapping's own file, even when unlinked (root only)... */
	lof_format(link, sizeof(link), "/proc/self/map_files/%lx-%lx",
		   (unsigned long)e->vma_start, (unsigned long)e->vma_end);
	size = sys_file_size(link);
	/* ...else the path it was mapped from. */
	if (size < 0)
		size = sys_file_size(e->path);
	if (size < 0)
		return 0;
	return e->offset + (e->end - e->start) > page_up((uintptr_t)size);
}

/* ------------------------------------------------------------------ */
/* The calls                                                           */
/* ------------------------------------------------------------------ */

/*
 * The engine to use for a call: none when this thread is already inside
 * it (a synchronous signal raised by the engine's own system call ran a
 * handler that called us): the call goes to the kernel as it is, which
 * can only leave a stale entry behind, never a deadlock.
 */
static int mode(void)
{
	return lof_in_engine ? LOF_MODE_PASS : lof_mode;
}

int engine_mlock(const void *addr, size_t len, unsigned int flags,
		 int is_mlock2)
{
	switch (mode()) {
	case LOF_MODE_NATIVE:
		return native_mlock(addr, len, flags);
	case LOF_MODE_SIGSEGV:
		if (flags & ~(unsigned int)MLOCK_ONFAULT)
			return -EINVAL;
		return sig_mlock(addr, len, flags, is_mlock2);
	default:
		passed_on();
		return is_mlock2 ? sys_mlock2(addr, len, flags)
				 : sys_mlock(addr, len);
	}
}

int engine_munlock(const void *addr, size_t len)
{
	if (mode() == LOF_MODE_SIGSEGV)
		return sig_munlock(addr, len);
	return sys_munlock(addr, len);
}

int engine_mlockall(int flags)
{
	switch (mode()) {
	case LOF_MODE_NATIVE:
		return native_mlockall(flags);
	case LOF_MODE_SIGSEGV:
		return sig_mlockall(flags);
	default:
		passed_on();
		return sys_mlockall(flags);
	}
}

int engine_munlockall(void)
{
	if (mode() == LOF_MODE_SIGSEGV)
		return sig_munlockall();
	return sys_munlockall();
}

int engine_munmap(void *addr, size_t len)
{
	if (mode() == LOF_MODE_SIGSEGV)
		return sig_munmap(addr, len);
	return sys_munmap(addr, len);
}

int engine_mprotect(void *addr, size_t len, int prot)
{
	if (mode() == LOF_MODE_SIGSEGV)
		return sig_mprotect(addr, len, prot);
	return sys_mprotect(addr, len, prot);
}

long engine_mmap(void *addr, size_t len, int prot, int flags, int fd,
		 off_t off)
{
	switch (mode()) {
	case LOF_MODE_NATIVE:
		return native_mmap(addr, len, prot, flags, fd, off);
	case LOF_MODE_SIGSEGV:
		return sig_mmap(addr, len, prot, flags, fd, off);
	default:
		if (flags & MAP_LOCKED)
			passed_on();
		return sys_mmap(addr, len, prot, flags, fd, off);
	}
}

long engine_mremap(void *old, size_t old_len, size_t new_len, int flags,
		   void *new_addr)
{
	if (mode() == LOF_MODE_SIGSEGV)
		return sig_mremap(old, old_len, new_len, flags, new_addr);
	return sys_mremap(old, old_len, new_len, flags, new_addr);
}

/* ------------------------------------------------------------------ */
/* fork                                                                */
/* ------------------------------------------------------------------ */

void engine_atfork_prepare(void)
{
	region_atfork_prepare();
	if (lof_mode == LOF_MODE_SIGSEGV)
		sig_atfork_prepare();
}

void engine_atfork_parent(void)
{
	region_atfork_release();
}

void engine_atfork_child(void)
{
	sig_atfork_child();
	region_atfork_child();
}
