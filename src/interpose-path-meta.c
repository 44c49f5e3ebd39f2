/*
 * interpose-path-meta.c - the other calls that hand the kernel a path
 * name: ownership, times, special files, links made relative to a
 * directory, file-system statistics, extended attributes, mounts,
 * chroot, inotify and fanotify marks, file handles and execveat.
 *
 * As in interpose-path.c: the kernel copies a path with
 * strncpy_from_user and a small structure with copy_from_user or
 * copy_to_user, and neither can fault a pending page in (EFAULT). Each
 * call opens the pending pages of its strings (engine_resolve_str,
 * which never faults on a bad pointer) and of the structures and
 * buffers the kernel reads or fills (engine_resolve), then calls libc.
 * A path nowhere near managed memory costs two table lookups.
 *
 * dlopen is not interposed: it takes its caller's address ($ORIGIN,
 * the namespace) from its return address, which a wrapper would
 * change, and it reads the whole name in user space (the fault path
 * opens it) before the kernel sees it.
 */
#include "config.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/fanotify.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <utime.h>

#include "engine.h"
#include "interpose.h"
#include "report.h"

#define REAL(name)                                                        \
	static __typeof__(name) *real_##name;                             \
	if (!real_##name)                                                 \
		real_##name = (__typeof__(name) *)dlsym(RTLD_NEXT, #name)

/* Longest extended attribute name (XATTR_NAME_MAX) and its NUL. */
#define NAME_MAX_XATTR 256
/* Longest argument or environment string the kernel takes. */
#define ARG_MAX_STR (32 * 4096)

static void path(const char *p)
{
	if (lof_ready())
		engine_resolve_str(p, PATH_MAX);
}

static void xname(const char *p)
{
	if (lof_ready())
		engine_resolve_str(p, NAME_MAX_XATTR);
}

static void buf(const void *p, size_t n)
{
	if (p && n && lof_ready())
		engine_resolve((uintptr_t)p, n);
}

/* Ownership and modes. */

LOF_EXPORT int chown(const char *p, uid_t u, gid_t g)
{
	REAL(chown);
	path(p);
	return real_chown(p, u, g);
}

LOF_EXPORT int lchown(const char *p, uid_t u, gid_t g)
{
	REAL(lchown);
	path(p);
	return real_lchown(p, u, g);
}

LOF_EXPORT int fchownat(int dirfd, const char *p, uid_t u, gid_t g, int flags)
{
	REAL(fchownat);
	path(p);
	return real_fchownat(dirfd, p, u, g, flags);
}

LOF_EXPORT int fchmodat(int dirfd, const char *p, mode_t mode, int flags)
{
	REAL(fchmodat);
	path(p);
	return real_fchmodat(dirfd, p, mode, flags);
}

LOF_EXPORT int lchmod(const char *p, mode_t mode)
{
	REAL(lchmod);
	path(p);
	return real_lchmod(p, mode);
}

LOF_EXPORT int euidaccess(const char *p, int mode)
{
	REAL(euidaccess);
	path(p);
	return real_euidaccess(p, mode);
}

LOF_EXPORT int eaccess(const char *p, int mode)
{
	REAL(eaccess);
	path(p);
	return real_eaccess(p, mode);
}

/* Times: the path and the times the kernel copies in. */

LOF_EXPORT int utime(const char *p, const struct utimbuf *t)
{
	REAL(utime);
	path(p);
	buf(t, sizeof(*t));
	return real_utime(p, t);
}

LOF_EXPORT int utimes(const char *p, const struct timeval t[2])
{
	REAL(utimes);
	path(p);
	buf(t, 2 * sizeof(t[0]));
	return real_utimes(p, t);
}

LOF_EXPORT int lutimes(const char *p, const struct timeval t[2])
{
	REAL(lutimes);
	path(p);
	buf(t, 2 * sizeof(t[0]));
	return real_lutimes(p, t);
}

LOF_EXPORT int futimesat(int dirfd, const char *p, const struct timeval t[2])
{
	REAL(futimesat);
	path(p);
	buf(t, 2 * sizeof(t[0]));
	return real_futimesat(dirfd, p, t);
}

LOF_EXPORT int utimensat(int dirfd, const char *p, const struct timespec t[2],
			 int flags)
{
	REAL(utimensat);
	path(p);
	buf(t, 2 * sizeof(t[0]));
	return real_utimensat(dirfd, p, t, flags);
}

LOF_EXPORT int futimens(int fd, const struct timespec t[2])
{
	REAL(futimens);
	buf(t, 2 * sizeof(t[0]));
	return real_futimens(fd, t);
}

/* Special files and links. */

LOF_EXPORT int mknod(const char *p, mode_t mode, dev_t dev)
{
	REAL(mknod);
	path(p);
	return real_mknod(p, mode, dev);
}

LOF_EXPORT int mknodat(int dirfd, const char *p, mode_t mode, dev_t dev)
{
	REAL(mknodat);
	path(p);
	return real_mknodat(dirfd, p, mode, dev);
}

LOF_EXPORT int mkfifo(const char *p, mode_t mode)
{
	REAL(mkfifo);
	path(p);
	return real_mkfifo(p, mode);
}

LOF_EXPORT int mkfifoat(int dirfd, const char *p, mode_t mode)
{
	REAL(mkfifoat);
	path(p);
	return real_mkfifoat(dirfd, p, mode);
}

LOF_EXPORT int linkat(int olddir, const char *p, int newdir, const char *q,
		      int flags)
{
	REAL(linkat);
	path(p);
	path(q);
	return real_linkat(olddir, p, newdir, q, flags);
}

LOF_EXPORT int symlinkat(const char *p, int newdir, const char *q)
{
	REAL(symlinkat);
	path(p);
	path(q);
	return real_symlinkat(p, newdir, q);
}

LOF_EXPORT int renameat2(int olddir, const char *p, int newdir, const char *q,
			 unsigned int flags)
{
	REAL(renameat2);
	path(p);
	path(q);
	return real_renameat2(olddir, p, newdir, q, flags);
}

/* The large-file names of the stat family (interpose-io.c has stat). */

LOF_EXPORT int stat64(const char *p, struct stat64 *st)
{
	REAL(stat64);
	path(p);
	buf(st, sizeof(*st));
	return real_stat64(p, st);
}

LOF_EXPORT int lstat64(const char *p, struct stat64 *st)
{
	REAL(lstat64);
	path(p);
	buf(st, sizeof(*st));
	return real_lstat64(p, st);
}

LOF_EXPORT int fstatat64(int dirfd, const char *p, struct stat64 *st, int flags)
{
	REAL(fstatat64);
	path(p);
	buf(st, sizeof(*st));
	return real_fstatat64(dirfd, p, st, flags);
}

/* File-system statistics: the kernel fills struct statfs itself. */

LOF_EXPORT int statfs(const char *p, struct statfs *st)
{
	REAL(statfs);
	path(p);
	buf(st, sizeof(*st));
	return real_statfs(p, st);
}

LOF_EXPORT int statfs64(const char *p, struct statfs64 *st)
{
	REAL(statfs64);
	path(p);
	buf(st, sizeof(*st));
	return real_statfs64(p, st);
}

LOF_EXPORT int fstatfs(int fd, struct statfs *st)
{
	REAL(fstatfs);
	buf(st, sizeof(*st));
	return real_fstatfs(fd, st);
}

LOF_EXPORT int fstatfs64(int fd, struct statfs64 *st)
{
	REAL(fstatfs64);
	buf(st, sizeof(*st));
	return real_fstatfs64(fd, st);
}

/* statvfs fills its result in user space; only the path matters. */
LOF_EXPORT int statvfs(const char *p, struct statvfs *st)
{
	REAL(statvfs);
	path(p);
	return real_statvfs(p, st);
}

LOF_EXPORT int statvfs64(const char *p, struct statvfs64 *st)
{
	REAL(statvfs64);
	path(p);
	return real_statvfs64(p, st);
}

LOF_EXPORT long pathconf(const char *p, int name)
{
	REAL(pathconf);
	path(p);
	return real_pathconf(p, name);
}

LOF_EXPORT char *getcwd(char *b, size_t n)
{
	REAL(getcwd);
	buf(b, n);
	return real_getcwd(b, n);
}

/* Extended attributes: path, name, and the value or list buffer. */

#define XSET(name, T, A)                                                  \
	LOF_EXPORT int name(T a, const char *n, const void *v, size_t size, \
			    int flags)                                    \
	{                                                                 \
		REAL(name);                                               \
		A;                                                        \
		xname(n);                                                 \
		buf(v, size);                                             \
		return real_##name(a, n, v, size, flags);                 \
	}

#define XGET(name, T, A)                                                  \
	LOF_EXPORT ssize_t name(T a, const char *n, void *v, size_t size) \
	{                                                                 \
		REAL(name);                                               \
		A;                                                        \
		xname(n);                                                 \
		buf(v, size);                                             \
		return real_##name(a, n, v, size);                        \
	}

#define XLIST(name, T, A)                                                 \
	LOF_EXPORT ssize_t name(T a, char *l, size_t size)                \
	{                                                                 \
		REAL(name);                                               \
		A;                                                        \
		buf(l, size);                                             \
		return real_##name(a, l, size);                           \
	}

#define XREMOVE(name, T, A)                                               \
	LOF_EXPORT int name(T a, const char *n)                           \
	{                                                                 \
		REAL(name);                                               \
		A;                                                        \
		xname(n);                                                 \
		return real_##name(a, n);                                 \
	}

XSET(setxattr, const char *, path(a))
XSET(lsetxattr, const char *, path(a))
XSET(fsetxattr, int, (void)a)
XGET(getxattr, const char *, path(a))
XGET(lgetxattr, const char *, path(a))
XGET(fgetxattr, int, (void)a)
XLIST(listxattr, const char *, path(a))
XLIST(llistxattr, const char *, path(a))
XLIST(flistxattr, int, (void)a)
XREMOVE(removexattr, const char *, path(a))
XREMOVE(lremovexattr, const char *, path(a))
XREMOVE(fremovexattr, int, (void)a)

/* Mounts and the root. */

LOF_EXPORT int mount(const char *src, const char *dst, const char *type,
		     unsigned long flags, const void *data)
{
	REAL(mount);
	path(src);
	path(dst);
	path(type);
	/* The kernel copies what is left of data's page, at most. */
	if (data && lof_ready())
		engine_resolve((uintptr_t)data,
			       lof_page_size -
			       ((uintptr_t)data & (lof_page_size - 1)));
	return real_mount(src, dst, type, flags, data);
}

LOF_EXPORT int umount(const char *p)
{
	REAL(umount);
	path(p);
	return real_umount(p);
}

LOF_EXPORT int umount2(const char *p, int flags)
{
	REAL(umount2);
	path(p);
	return real_umount2(p, flags);
}

LOF_EXPORT int chroot(const char *p)
{
	REAL(chroot);
	path(p);
	return real_chroot(p);
}

/* Watches and handles. */

LOF_EXPORT int inotify_add_watch(int fd, const char *p, uint32_t mask)
{
	REAL(inotify_add_watch);
	path(p);
	return real_inotify_add_watch(fd, p, mask);
}

LOF_EXPORT int fanotify_mark(int fd, unsigned int flags, uint64_t mask,
			     int dirfd, const char *p)
{
	REAL(fanotify_mark);
	path(p);
	return real_fanotify_mark(fd, flags, mask, dirfd, p);
}

LOF_EXPORT int name_to_handle_at(int dirfd, const char *p,
				 struct file_handle *h, int *mount_id,
				 int flags)
{
	REAL(name_to_handle_at);
	path(p);
	if (h && lof_ready()) {
		/* Reading handle_bytes opens its page if pending. */
		buf(h, sizeof(*h) + h->handle_bytes);
	}
	buf(mount_id, sizeof(*mount_id));
	return real_name_to_handle_at(dirfd, p, h, mount_id, flags);
}

/* execveat: the path and the strings, as the exec family does. */
LOF_EXPORT int execveat(int dirfd, const char *p, char *const argv[],
			char *const envp[], int flags)
{
	int r;

	REAL(execveat);
	if (lof_ready()) {
		engine_resolve_str(p, ARG_MAX_STR);
		engine_resolve_strv(argv, ARG_MAX_STR);
		engine_resolve_strv(envp, ARG_MAX_STR);
	}
	report_exec_begin();
	r = real_execveat(dirfd, p, argv, envp, flags);
	report_exec_failed();
	return r;
}
