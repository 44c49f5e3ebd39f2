/*
 * lof-kernel518.c - run a command on this kernel as if it were Linux
 * 5.18, as far as the wrapper's supervisor can tell.
 *
 *   lof-kernel518 [--] COMMAND [ARG...]
 *
 * Installs a seccomp filter that refuses, with EINVAL as 5.18 does, a
 * seccomp(SECCOMP_SET_MODE_FILTER) whose flags hold
 * SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (added in 5.19), then executes
 * COMMAND (execvp). The filter is inherited by the whole process tree.
 * The supervisor then runs in trace mode (cli/supervise.c), which is
 * what test-supervise.sh tests with it. Everything else is allowed.
 *
 * Exit status: COMMAND's, or as env(1): 127 if COMMAND is not found,
 * 126 if it cannot be executed, 125 for a usage error or a filter the
 * kernel refuses. x86_64 only (the supervisor's architecture).
 *
 * Plain test program: stdio is fine.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define OFF(f) offsetof(struct seccomp_data, f)
#define LD(off) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (off))
#define JEQ(k, jt, jf) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (k), (jt), (jf))
#define JSET(k, jt, jf) BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, (k), (jt), (jf))
#define RET(k) BPF_STMT(BPF_RET | BPF_K, (k))

int main(int argc, char **argv)
{
#if defined(__x86_64__)
	struct sock_filter f[] = {
		LD(OFF(arch)),
		JEQ(AUDIT_ARCH_X86_64, 0, 6),
		LD(OFF(nr)),
		JEQ(SYS_seccomp, 0, 4),
		LD(OFF(args[0])),	/* the low word: little-endian */
		JEQ(SECCOMP_SET_MODE_FILTER, 0, 2),
		LD(OFF(args[1])),
		JSET(SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, 1, 0),
		RET(SECCOMP_RET_ALLOW),
		RET(SECCOMP_RET_ERRNO | EINVAL),
	};
	struct sock_fprog prog = { sizeof(f) / sizeof(f[0]), f };
	int i = 1;

	if (i < argc && !strcmp(argv[i], "--"))
		i++;
	if (i >= argc) {
		fprintf(stderr, "usage: lof-kernel518 [--] COMMAND [ARG...]\n");
		return 125;
	}
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0 &&
	    (errno != EACCES || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	     prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)) {
		fprintf(stderr, "lof-kernel518: seccomp filter: %s\n",
			strerror(errno));
		return 125;
	}
	execvp(argv[i], argv + i);
	fprintf(stderr, "lof-kernel518: %s: %s\n", argv[i], strerror(errno));
	return errno == ENOENT ? 127 : 126;
#else
	(void)argc;
	(void)argv;
	fprintf(stderr, "lof-kernel518: x86_64 only\n");
	return 125;
#endif
}
