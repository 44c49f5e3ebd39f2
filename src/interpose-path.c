/*
 * interpose-path.c - calls that hand the kernel a path name.
 *
 * The kernel copies a path with strncpy_from_user: in a pending page it
 * gets EFAULT, not a fault we could answer. Each call here opens the
 * pending pages of its path names first (engine_resolve_str, which
 * never faults on a bad pointer and costs two table lookups for a path
 * nowhere near managed memory), then calls libc. readlink also opens
 * its buffer, as the buffer calls of interpose-io.c do. The stat family
 * is in interpose-io.c, the exec family in interpose-exec.c.
 */
#include "config.h"

#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine.h"
#include "interpose.h"

#define REAL(name)                                                        \
	static __typeof__(name) *real_##name;                             \
	if (!real_##name)                                                 \
		real_##name = (__typeof__(name) *)dlsym(RTLD_NEXT, #name)

static void path(const char *p)
{
	if (lof_ready())
		engine_resolve_str(p, PATH_MAX);
}

/* The mode argument of open and openat, when the flags say there is one. */
#define MODE_ARG(flags, last, mode)                                       \
	do {                                                              \
		if ((flags) & (O_CREAT | O_TMPFILE)) {                    \
			va_list ap;                                       \
			va_start(ap, last);                               \
			mode = va_arg(ap, mode_t);                        \
			va_end(ap);                                       \
		}                                                         \
	} while (0)

LOF_EXPORT int open(const char *p, int flags, ...)
{
	mode_t mode = 0;

	REAL(open);
	MODE_ARG(flags, flags, mode);
	path(p);
	return real_open(p, flags, mode);
}

LOF_EXPORT int open64(const char *p, int flags, ...)
{
	mode_t mode = 0;

	REAL(open64);
	MODE_ARG(flags, flags, mode);
	path(p);
	return real_open64(p, flags, mode);
}

LOF_EXPORT int openat(int dirfd, const char *p, int flags, ...)
{
	mode_t mode = 0;

	REAL(openat);
	MODE_ARG(flags, flags, mode);
	path(p);
	return real_openat(dirfd, p, flags, mode);
}

LOF_EXPORT int openat64(int dirfd, const char *p, int flags, ...)
{
	mode_t mode = 0;

	REAL(openat64);
	MODE_ARG(flags, flags, mode);
	path(p);
	return real_openat64(dirfd, p, flags, mode);
}

/* _FORTIFY_SOURCE's open without a mode. */
int __open_2(const char *p, int flags);
int __open64_2(const char *p, int flags);
int __openat_2(int dirfd, const char *p, int flags);
int __openat64_2(int dirfd, const char *p, int flags);

LOF_EXPORT int __open_2(const char *p, int flags)
{
	REAL(__open_2);
	path(p);
	return real___open_2(p, flags);
}

LOF_EXPORT int __open64_2(const char *p, int flags)
{
	REAL(__open64_2);
	path(p);
	return real___open64_2(p, flags);
}

LOF_EXPORT int __openat_2(int dirfd, const char *p, int flags)
{
	REAL(__openat_2);
	path(p);
	return real___openat_2(dirfd, p, flags);
}

LOF_EXPORT int __openat64_2(int dirfd, const char *p, int flags)
{
	REAL(__openat64_2);
	path(p);
	return real___openat64_2(dirfd, p, flags);
}

/* One path, one more argument of type T, returning R. */
#define PATH1(R, name, T)                                                 \
	LOF_EXPORT R name(const char *p, T a)                             \
	{                                                                 \
		REAL(name);                                               \
		path(p);                                                  \
		return real_##name(p, a);                                 \
	}

/* Two paths. */
#define PATH2(name)                                                       \
	LOF_EXPORT int name(const char *p, const char *q)                 \
	{                                                                 \
		REAL(name);                                               \
		path(p);                                                  \
		path(q);                                                  \
		return real_##name(p, q);                                 \
	}

PATH1(int, creat, mode_t)
PATH1(int, creat64, mode_t)
PATH1(FILE *, fopen, const char *)
PATH1(FILE *, fopen64, const char *)
PATH1(int, access, int)
PATH1(int, mkdir, mode_t)
PATH1(int, chmod, mode_t)
PATH1(int, truncate, off_t)
PATH1(int, truncate64, off64_t)
PATH2(rename)
PATH2(link)
PATH2(symlink)

LOF_EXPORT FILE *freopen(const char *p, const char *mode, FILE *f)
{
	REAL(freopen);
	path(p);
	return real_freopen(p, mode, f);
}

LOF_EXPORT int unlink(const char *p)
{
	REAL(unlink);
	path(p);
	return real_unlink(p);
}

LOF_EXPORT int rmdir(const char *p)
{
	REAL(rmdir);
	path(p);
	return real_rmdir(p);
}

LOF_EXPORT int chdir(const char *p)
{
	REAL(chdir);
	path(p);
	return real_chdir(p);
}

LOF_EXPORT DIR *opendir(const char *p)
{
	REAL(opendir);
	path(p);
	return real_opendir(p);
}

LOF_EXPORT int unlinkat(int dirfd, const char *p, int flags)
{
	REAL(unlinkat);
	path(p);
	return real_unlinkat(dirfd, p, flags);
}

LOF_EXPORT int mkdirat(int dirfd, const char *p, mode_t mode)
{
	REAL(mkdirat);
	path(p);
	return real_mkdirat(dirfd, p, mode);
}

LOF_EXPORT int faccessat(int dirfd, const char *p, int mode, int flags)
{
	REAL(faccessat);
	path(p);
	return real_faccessat(dirfd, p, mode, flags);
}

LOF_EXPORT int renameat(int olddir, const char *p, int newdir, const char *q)
{
	REAL(renameat);
	path(p);
	path(q);
	return real_renameat(olddir, p, newdir, q);
}

LOF_EXPORT ssize_t readlink(const char *p, char *buf, size_t n)
{
	REAL(readlink);
	path(p);
	if (lof_ready())
		engine_resolve((uintptr_t)buf, n);
	return real_readlink(p, buf, n);
}

LOF_EXPORT ssize_t readlinkat(int dirfd, const char *p, char *buf, size_t n)
{
	REAL(readlinkat);
	path(p);
	if (lof_ready())
		engine_resolve((uintptr_t)buf, n);
	return real_readlinkat(dirfd, p, buf, n);
}
