/*
 * kernel.c - probe the kernel's locking abilities without side effects,
 * and choose the engine from them (see kernel.h).
 *
 * MLOCK_ONFAULT and MCL_ONFAULT came together in Linux 4.4, with the
 * mlock2 system call itself. A zero-length mlock2 checks its flags and
 * the caller's right to lock and does nothing else: 0 or EPERM means
 * the flag is known, EINVAL that it is not, ENOSYS that mlock2 is
 * missing (a kernel before 4.4, or a seccomp sandbox that answers as
 * one). mlockall has no call without effect, so MCL_ONFAULT is taken to
 * come with MLOCK_ONFAULT; a sandbox that refuses only MCL_ONFAULT gets
 * the native engine's fallback (engine-native.c).
 */
#include "config.h"
#include "kernel.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include "options.h"
#include "sys.h"


int kernel_cap_ipc_lock(void)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0,
	};
	struct __user_cap_data_struct d[2] = { { 0 } };

	if (syscall(SYS_capget, &h, d))
		return 0;
	return !!(d[CAP_IPC_LOCK / 32].effective & (1u << (CAP_IPC_LOCK % 32)));
}

uint64_t kernel_memlock_limit(void)
{
	struct rlimit64 rl;	/* prlimit64's: 64-bit fields on 32-bit too */

	if (syscall(SYS_prlimit64, 0, RLIMIT_MEMLOCK, NULL, &rl))
		return UINT64_MAX;
	return rl.rlim_cur == RLIM64_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_cur;
}

void kernel_probe(struct lof_kernel *k)
{
	struct rlimit64 rl;

	k->mlock2_errno = -sys_mlock2(NULL, 0, 0);
	k->onfault_errno = -sys_mlock2(NULL, 0, MLOCK_ONFAULT);
	k->has_onfault = k->onfault_errno == 0 || k->onfault_errno == EPERM;
	k->cap_ipc_lock = kernel_cap_ipc_lock();
	k->memlock_cur = k->memlock_max = UINT64_MAX;
	if (syscall(SYS_prlimit64, 0, RLIMIT_MEMLOCK, NULL, &rl) == 0) {
		if (rl.rlim_cur != RLIM64_INFINITY)
			k->memlock_cur = rl.rlim_cur;
		if (rl.rlim_max != RLIM64_INFINITY)
			k->memlock_max = rl.rlim_max;
	}
	k->max_map_count = sys_read_ulong("/proc/sys/vm/max_map_count");
}

int engine_choose(int engine, int charge, const struct lof_kernel *k,
		  const char **why)
{
	switch (engine) {
	case LOF_ENGINE_OFF:
		*why = "LOCKONFAULT_ENGINE=off: lock calls go to the kernel unchanged";
		return LOF_MODE_PASS;
	case LOF_ENGINE_SIGSEGV:
		*why = k->has_onfault ?
			"LOCKONFAULT_ENGINE=sigsegv: the user-space engine, asked for" :
			"LOCKONFAULT_ENGINE=sigsegv: the user-space engine, supplying MLOCK_ONFAULT the kernel lacks";
		return LOF_MODE_SIGSEGV;
	case LOF_ENGINE_NATIVE:
		*why = k->has_onfault ?
			"LOCKONFAULT_ENGINE=native: the kernel's MLOCK_ONFAULT/MCL_ONFAULT" :
			"LOCKONFAULT_ENGINE=native, but the kernel has no MLOCK_ONFAULT: lock calls go to it unchanged";
		return k->has_onfault ? LOF_MODE_NATIVE : LOF_MODE_PASS;
	default:
		break;
	}
	if (!k->has_onfault) {
		*why = k->onfault_errno == ENOSYS ?
			"auto: the kernel has no mlock2 (before Linux 4.4, or a sandbox refuses it): the user-space engine supplies MLOCK_ONFAULT" :
			"auto: the kernel refuses MLOCK_ONFAULT: the user-space engine supplies it";
		return LOF_MODE_SIGSEGV;
	}
	if (charge == LOF_CHARGE_TOUCHED) {
		*why = "auto: LOCKONFAULT_CHARGE=touched needs the user-space engine (the kernel charges whole ranges)";
		return LOF_MODE_SIGSEGV;
	}
	*why = "auto: the kernel has MLOCK_ONFAULT/MCL_ONFAULT: lock calls are rewritten to them";
	return LOF_MODE_NATIVE;
}

const char *engine_mode_name(int mode)
{
	switch (mode) {
	case LOF_MODE_NATIVE:
		return "native";
	case LOF_MODE_PASS:
		return "off";
	default:
		return "sigsegv";
	}
}
