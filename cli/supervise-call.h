/*
 * supervise-call.h - one tracee's rewrite in flight (supervise-call.c),
 * and the table of tracees (supervise-table.c).
 */
#ifndef LOF_SUPERVISE_CALL_H
#define LOF_SUPERVISE_CALL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

enum sv_state {
	SV_IDLE,		/* trace: running with PTRACE_CONT */
	SV_SEIZED,		/* notify: seized and interrupted; waiting for
				   the stop after its trapped call */
	SV_ORPHAN,		/* notify: seized, its call gone (killed, or
				   the TID reused): released at its next stop */
	SV_AT_ENTRY,		/* notify: rewritten; waiting for the entry of
				   the call the kernel restarts */
	SV_AT_EXIT,		/* rewritten; waiting for its exit stop */
	SV_INJECT_ENTRY,	/* mlock2 injected; waiting for its entry */
	SV_INJECT_EXIT,		/* mlock2 running; waiting for its exit */
};

struct sv_tracee {
	pid_t pid;
	int state;			/* enum sv_state */
	int abi, call;			/* of the rewrite in flight */
	int other;			/* handler calls entered, not exited */
	long nr;			/* notify: the trapped call's number */
	uint64_t sigmask;		/* notify: the program's, while ours
					   blocks every signal */
	struct user_regs_struct saved;	/* the program's, at the trap */
	unsigned long long map_len;	/* MAP_LOCKED: its length */
	long map_ret;			/* MAP_LOCKED: mmap's result */
	unsigned long rewrites;		/* calls rewritten */
};

/*
 * Whether the call msg (SV_MSG()) of task pid, with these arguments, is
 * to be rewritten: 1, or 0 to let the kernel run it unchanged (a
 * MAP_LOCKED mapping the kernel would refuse, an old_mmap without
 * MAP_LOCKED).
 */
int sv_call_plan(pid_t pid, unsigned msg, const unsigned long long args[6]);

/*
 * Trace mode, at a PTRACE_EVENT_SECCOMP stop with the filter's data msg:
 * rewrite the call. Return: the ptrace request to resume with.
 */
int sv_call_trap(struct sv_tracee *t, unsigned long msg);

/*
 * Notify mode, at the stop after the trapped call t->nr (abi and call
 * set) returned -ERESTARTNOINTR: rewrite it in the registers, for the
 * kernel to restart. Return: PTRACE_SYSCALL, or -1 when the task is not
 * in that state (nothing changed).
 */
int sv_call_interrupted(struct sv_tracee *t);

/*
 * At a syscall stop (only while t->state is past SV_SEIZED). Return: the
 * ptrace request to resume with; t->state is SV_IDLE again when the
 * rewrite is over (its registers are the program's, with the result).
 */
int sv_call_syscall_stop(struct sv_tracee *t);

/* The table of tracees, by TID (supervise-table.c). */
struct sv_tracee *sv_tracee(pid_t pid);		/* found or added */
struct sv_tracee *sv_tracee_find(pid_t pid);	/* NULL: not there */
void sv_tracee_forget(pid_t pid);
void sv_tracee_reset(struct sv_tracee *t);	/* fresh, same TID */

#endif
