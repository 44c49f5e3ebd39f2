/*
 * interpose-exec.c - the exported exec and spawn calls: execve, execv,
 * execvp, execvpe, execl, execlp, execle, fexecve, posix_spawn,
 * posix_spawnp, system and popen.
 *
 * The kernel copies the path, the argument and environment strings and
 * the arrays that point to them with copy_from_user: a string in a
 * pending page would make exec fail with EFAULT instead of faulting.
 * Each call opens the pending pages of all of them first
 * (resolve-str.c, which never faults on a bad pointer), then hands over
 * to libc. The l-variants collect their arguments
 * into an array on the stack, as libc does, and call the v-variants.
 *
 * The exec calls also write the LOCKONFAULT_STATS report first, and
 * take it back if the exec fails (report.c). The spawn calls start a
 * new process: the report is this one's, written at its own end.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "engine.h"
#include "interpose.h"
#include "report.h"

extern char **environ;

/* Longest argument or environment string the kernel takes. */
#define ARG_MAX_STR (32 * 4096)

static void resolve_str(const char *s)
{
	if (lof_ready())
		engine_resolve_str(s, ARG_MAX_STR);
}

static void resolve_vec(char *const v[])
{
	if (lof_ready())
		engine_resolve_strv(v, ARG_MAX_STR);
}

/* After an exec that came back: it failed; take its report back. */
static int exec_end(int r)
{
	report_exec_failed();
	return r;
}

static void *next(const char *name)
{
	return dlsym(RTLD_NEXT, name);
}

#define REAL(type, name) \
	static type real_##name; \
	if (!real_##name) \
		real_##name = (type)next(#name)

typedef int (*execve_fn)(const char *, char *const[], char *const[]);
typedef int (*execv_fn)(const char *, char *const[]);
typedef int (*fexecve_fn)(int, char *const[], char *const[]);
typedef int (*spawn_fn)(pid_t *, const char *,
			const posix_spawn_file_actions_t *,
			const posix_spawnattr_t *, char *const[],
			char *const[]);
typedef int (*system_fn)(const char *);
typedef FILE *(*popen_fn)(const char *, const char *);

LOF_EXPORT int execve(const char *path, char *const argv[],
		      char *const envp[])
{
	REAL(execve_fn, execve);
	resolve_str(path);
	resolve_vec(argv);
	resolve_vec(envp);
	report_exec_begin();
	return exec_end(real_execve(path, argv, envp));
}

LOF_EXPORT int execv(const char *path, char *const argv[])
{
	REAL(execv_fn, execv);
	resolve_str(path);
	resolve_vec(argv);
	resolve_vec(environ);
	report_exec_begin();
	return exec_end(real_execv(path, argv));
}

LOF_EXPORT int execvp(const char *file, char *const argv[])
{
	REAL(execv_fn, execvp);
	resolve_str(file);
	resolve_vec(argv);
	resolve_vec(environ);
	report_exec_begin();
	return exec_end(real_execvp(file, argv));
}

LOF_EXPORT int execvpe(const char *file, char *const argv[],
		       char *const envp[])
{
	REAL(execve_fn, execvpe);
	resolve_str(file);
	resolve_vec(argv);
	resolve_vec(envp);
	report_exec_begin();
	return exec_end(real_execvpe(file, argv, envp));
}

LOF_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	REAL(fexecve_fn, fexecve);
	resolve_vec(argv);
	resolve_vec(envp);
	report_exec_begin();
	return exec_end(real_fexecve(fd, argv, envp));
}

/* Arguments of an l-variant: arg0 and the rest up to NULL. */
/*
 * Both take the list by address: a va_list passed by value is left
 * indeterminate for the caller (it is a structure on some ABIs).
 */
static size_t count_args(const char *arg0, va_list *ap)
{
	size_t n = 1;

	if (!arg0)
		return 0;
	while (va_arg(*ap, const char *))
		n++;
	return n;
}

static void collect_args(char **argv, size_t n, const char *arg0, va_list *ap)
{
	argv[0] = (char *)arg0;
	for (size_t i = 1; i < n; i++)
		argv[i] = va_arg(*ap, char *);
	argv[n] = NULL;
}

enum { LIST_PATH, LIST_SEARCH, LIST_ENV };

/*
 * execl, execlp and execle: the arguments after arg0 up to NULL (then,
 * for execle, the environment) become an array on the stack for
 * execv, execvp or execve.
 */
static int exec_list(int kind, const char *file, const char *arg0, va_list *ap)
{
	va_list again;
	size_t n;

	va_copy(again, *ap);
	n = count_args(arg0, &again);
	va_end(again);
	{
		char *argv[n + 1];
		char *const *envp;

		collect_args(argv, n, arg0, ap);
		if (kind == LIST_SEARCH)
			return execvp(file, argv);
		if (kind == LIST_PATH)
			return execv(file, argv);
		if (n)
			(void)va_arg(*ap, char *);	/* the NULL */
		envp = va_arg(*ap, char *const *);
		return execve(file, argv, envp);
	}
}

LOF_EXPORT int execl(const char *path, const char *arg0, ...)
{
	va_list ap;
	int r;

	va_start(ap, arg0);
	r = exec_list(LIST_PATH, path, arg0, &ap);
	va_end(ap);
	return r;
}

LOF_EXPORT int execlp(const char *file, const char *arg0, ...)
{
	va_list ap;
	int r;

	va_start(ap, arg0);
	r = exec_list(LIST_SEARCH, file, arg0, &ap);
	va_end(ap);
	return r;
}

LOF_EXPORT int execle(const char *path, const char *arg0, ...)
{
	va_list ap;
	int r;

	va_start(ap, arg0);
	r = exec_list(LIST_ENV, path, arg0, &ap);
	va_end(ap);
	return r;
}

LOF_EXPORT int posix_spawn(pid_t *pid, const char *path,
			   const posix_spawn_file_actions_t *fa,
			   const posix_spawnattr_t *attr, char *const argv[],
			   char *const envp[])
{
	REAL(spawn_fn, posix_spawn);
	resolve_str(path);
	resolve_vec(argv);
	resolve_vec(envp);
	return real_posix_spawn(pid, path, fa, attr, argv, envp);
}

LOF_EXPORT int posix_spawnp(pid_t *pid, const char *file,
			    const posix_spawn_file_actions_t *fa,
			    const posix_spawnattr_t *attr, char *const argv[],
			    char *const envp[])
{
	REAL(spawn_fn, posix_spawnp);
	resolve_str(file);
	resolve_vec(argv);
	resolve_vec(envp);
	return real_posix_spawnp(pid, file, fa, attr, argv, envp);
}

LOF_EXPORT int system(const char *cmd)
{
	REAL(system_fn, system);
	resolve_str(cmd);
	resolve_vec(environ);
	return real_system(cmd);
}

LOF_EXPORT FILE *popen(const char *cmd, const char *type)
{
	REAL(popen_fn, popen);
	resolve_str(cmd);
	resolve_vec(environ);
	return real_popen(cmd, type);
}
