/*
 * supervise-call.h - one tracee's rewrite in flight (supervise-call.c).
 */
#ifndef LOF_SUPERVISE_CALL_H
#define LOF_SUPERVISE_CALL_H

#include <sys/types.h>
#include <sys/user.h>

enum sv_state {
	SV_IDLE,		/* running with PTRACE_CONT */
	SV_AT_EXIT,		/* rewritten; waiting for its exit stop */
	SV_INJECT_ENTRY,	/* mlock2 injected; waiting for its entry */
	SV_INJECT_EXIT,		/* mlock2 running; waiting for its exit */
};

struct sv_tracee {
	pid_t pid;
	int state;			/* enum sv_state */
	int abi, call;			/* of the rewrite in flight */
	int other;			/* handler calls entered, not exited */
	struct user_regs_struct saved;	/* the program's, at the trap */
	unsigned long long map_len;	/* MAP_LOCKED: its length */
	long map_ret;			/* MAP_LOCKED: mmap's result */
	unsigned long rewrites;		/* calls rewritten */
	unsigned long inject_failed;	/* injected mlock2 calls refused */
};

/*
 * At a PTRACE_EVENT_SECCOMP stop with the filter's data msg: rewrite
 * the call. Return: the ptrace request to resume with.
 */
int sv_call_trap(struct sv_tracee *t, unsigned long msg);

/* At a syscall stop (only while t->state != SV_IDLE). Same return. */
int sv_call_syscall_stop(struct sv_tracee *t);

#endif
