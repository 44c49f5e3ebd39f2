/*
 * lockonfault.c - the wrapper command: lockonfault [OPTIONS] [--] COMMAND.
 *
 * Responsible for turning command-line options into the environment the
 * preload library reads, and nothing else: it finds liblockonfault.so,
 * prepends it to LD_PRELOAD, sets one LOCKONFAULT_* variable per option
 * given and execs COMMAND. The options, their help, defaults and checks
 * all come from the table in options.c (lof_options), so the wrapper, the
 * library and the documentation cannot disagree about them.
 *
 * It also answers, without running anything, what the library would do
 * here: --probe prints what this kernel and this process can do about
 * locking (kernel.c's side-effect-free probe, the same the library runs
 * at load) and the engine LOCKONFAULT_ENGINE=auto and the options given
 * would choose, and --dry-run adds that engine to what it prints.
 *
 * Exit status, as env(1), nice(1) and timeout(1): COMMAND's own, 125 for
 * an error of the wrapper itself, 126 when COMMAND cannot be executed and
 * 127 when it cannot be found. --probe exits 0.
 *
 * This is an ordinary program, not a signal handler: stdio is fine here.
 */
#include "config.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "kernel.h"
#include "options.h"
#include "supervise.h"

#ifndef LOF_LIBDIR
#error "LOF_LIBDIR must be defined by the build (the install libdir)"
#endif
#ifndef LOF_LIBDIR32
#define LOF_LIBDIR32 "/usr/lib/i386-linux-gnu"
#endif

#define PROGRAM "lockonfault"
#define LIBNAME "liblockonfault.so"
#define ENV_PREFIX "LOCKONFAULT_"
#define USAGE "Usage: " PROGRAM " [OPTIONS] [--] COMMAND [ARG...]\n" \
	"   or: " PROGRAM " [OPTIONS] --probe"

#define EXIT_WRAPPER 125	/* the wrapper itself failed */
#define EXIT_CANNOT_RUN 126	/* COMMAND found but not executable */
#define EXIT_NOT_FOUND 127	/* COMMAND not found */

#define HELP_INDENT 6
#define HELP_WIDTH 79

/* getopt_long values for options without a short form. */
enum {
	OPT_LIBRARY = 256,
	OPT_PROBE,
	OPT_SUPERVISE,
	OPT_SUPERVISE_MODE,
	OPT_TABLE,		/* OPT_TABLE + i is lof_options[i] */
};

/* The option that may be given without a value, and what it then means. */
#define OPTIONAL_OPT "stats"
#define OPTIONAL_VALUE "stderr"

static const char *const short_opts = "+:hnV";

/* Print "lockonfault: <what>" and the usage line, then exit 125. */
static void __attribute__((noreturn, format(printf, 1, 2)))
usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs(PROGRAM ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n" USAGE "\n", stderr);
	exit(EXIT_WRAPPER);
}

/* Print "lockonfault: <what>" without the usage line, then exit 125. */
static void __attribute__((noreturn, format(printf, 1, 2)))
fatal(const char *fmt, ...)
{
	va_list ap;

	fputs(PROGRAM ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EXIT_WRAPPER);
}

/* Exit 0 if everything reached stdout, else report it and exit 125. */
static void __attribute__((noreturn)) exit_flushed(void)
{
	if (fflush(stdout) != 0 || ferror(stdout))
		fatal("write error on standard output: %s", strerror(errno));
	exit(EXIT_SUCCESS);
}

static int takes_optional_value(const struct lof_option *opt)
{
	return strcmp(opt->longopt, OPTIONAL_OPT) == 0;
}

/* Print the value placeholder of opt for --help, e.g. "N" or "{a|b}". */
static void print_meta(const struct lof_option *opt)
{
	switch (opt->type) {
	case LOF_OPT_COUNT:
		fputs("N", stdout);
		break;
	case LOF_OPT_SIZE:
		fputs("SIZE", stdout);
		break;
	case LOF_OPT_ENUM:
		putchar('{');
		for (int i = 0; opt->names[i]; i++)
			printf("%s%s", i ? "|" : "", opt->names[i]);
		putchar('}');
		break;
	default:
		fputs("VALUE", stdout);
		break;
	}
}

/* Print text word-wrapped at HELP_WIDTH, every line indented. */
static void print_wrapped_at(int indent, const char *text)
{
	const char *p = text;

	while (*p) {
		const char *end = p, *brk = NULL;
		size_t room = (size_t)(HELP_WIDTH - indent);

		while (*end && (size_t)(end - p) < room) {
			if (*end == ' ')
				brk = end;
			end++;
		}
		if (*end && brk)
			end = brk;
		printf("%*s%.*s\n", indent, "", (int)(end - p), p);
		p = end;
		while (*p == ' ')
			p++;
	}
}

static void print_wrapped(const char *text)
{
	print_wrapped_at(HELP_INDENT, text);
}

static void print_entry(const char *head, const char *text)
{
	printf("  %s\n", head);
	print_wrapped(text);
}

static void __attribute__((noreturn)) help(void)
{
	char line[512];

	puts(USAGE);
	puts("Run COMMAND with " LIBNAME " preloaded, so that its mlock(), "
	     "mlock2(),\nmlockall() and mmap(MAP_LOCKED) lock memory on first "
	     "touch instead of\nfaulting it all in at once.");
	puts("\nOptions that set LOCKONFAULT_* variables (sizes take K, M "
	     "and G suffixes):");
	for (size_t i = 0; i < lof_noptions; i++) {
		const struct lof_option *opt = &lof_options[i];
		int optional = takes_optional_value(opt);

		printf("  --%s%s", opt->longopt, optional ? "[=" : "=");
		print_meta(opt);
		printf("%s\n", optional ? "]" : "");
		print_wrapped(opt->help);
		snprintf(line, sizeof(line), "value: %s%s%s", opt->accepted,
			 optional ? "; without a value: " : "",
			 optional ? OPTIONAL_VALUE : "");
		print_wrapped(line);
		snprintf(line, sizeof(line), "sets " ENV_PREFIX "%s, default: %s",
			 opt->name, opt->def[0] ? opt->def : "off");
		print_wrapped(line);
	}
	puts("\nOther options:");
	print_entry("-n, --dry-run",
		    "print the environment assignments, a comment line "
		    "naming the engine the library would run and why, and "
		    "the command, one per line, and exit without running it");
	print_entry("--probe",
		    "print what this kernel and process can do about locking "
		    "(mlock2, MLOCK_ONFAULT and MCL_ONFAULT, RLIMIT_MEMLOCK, "
		    "CAP_IPC_LOCK, vm.max_map_count) and the engine auto and "
		    "the options given would choose, with the reason, one "
		    "'name: value' line each; run no command, exit 0");
	print_entry("--supervise[=WHEN]",
		    "when to run COMMAND under the supervisor, which rewrites "
		    "lock system calls made without libc (static programs, "
		    "inline system calls) into MLOCK_ONFAULT and MCL_ONFAULT: "
		    "auto "
		    "(the default: where LD_PRELOAD cannot reach, i.e. a "
		    "static program, a 32-bit one without the i386 library, "
		    "a set-user-ID one run by root), always (without a "
		    "value), or never");
	print_entry("--supervise-mode=MODE",
		    "how the supervisor works: auto (the default: notify "
		    "where it can run, else trace), notify (the program is "
		    "traced only during its lock calls; Linux 5.19), or "
		    "trace (traced all its life, every signal a stop; no "
		    "EINTR window for handlers without SA_RESTART)");
	print_entry("--library=PATH",
		    "preload this file instead of searching for " LIBNAME);
	print_entry("-h, --help", "print this help and exit");
	print_entry("-V, --version", "print the version and exit");
	putchar('\n');
	print_wrapped_at(0, "Without --library, " LIBNAME " is searched in "
			 "the build tree (src/.libs next to this program), "
			 "then in ../lib next to this program, then in "
			 LOF_LIBDIR ". For a 32-bit (i386) COMMAND, "
			 "found through PATH as execvp finds it, or whose #! "
			 "interpreter is one, the i386 " LIBNAME " is used "
			 "instead: build32/src/.libs, then "
			 "../lib/i386-linux-gnu next to this program, then "
			 LOF_LIBDIR32 "; without it, the supervisor serves "
			 "COMMAND (or a warning when it cannot).");
	puts("\nExit status: COMMAND's own; 125 if " PROGRAM " itself fails, "
	     "126 if COMMAND\ncannot be executed, 127 if COMMAND is not "
	     "found.");
	puts("\nSee lockonfault(1) for the details.");
	exit_flushed();
}

static void __attribute__((noreturn)) version(void)
{
	puts(PROGRAM " " PACKAGE_VERSION);
	exit_flushed();
}

/* Return path if it names a readable file, else NULL. */
static const char *existing(const char *path)
{
	return access(path, R_OK) == 0 ? path : NULL;
}

/*
 * Find the library: next to an installed wrapper, then in the configured
 * libdir, then in the build tree. Return: a malloc'ed path, or NULL.
 */
static char *find_library(void)
{
	/* Relative to the wrapper's directory; NULL stands for LOF_LIBDIR. */
	static const char *const rel[] = { "/src/.libs/" LIBNAME,
					   "/../lib/" LIBNAME, NULL };
	char exe[PATH_MAX], path[PATH_MAX + 64];
	ssize_t n;
	char *slash;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		n = 0;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	else
		exe[0] = '\0';

	for (size_t i = 0; i < ARRAY_SIZE(rel); i++) {
		if (!rel[i])
			snprintf(path, sizeof(path), "%s", LOF_LIBDIR "/" LIBNAME);
		else if (slash)
			snprintf(path, sizeof(path), "%s%s", exe, rel[i]);
		else
			continue;
		if (existing(path))
			return realpath(path, NULL);
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Which library: the command's ELF class                              */
/* ------------------------------------------------------------------ */

/*
 * The file execvp would run for cmd: cmd itself if it has a '/', else
 * the first executable regular file in PATH (default "/bin:/usr/bin").
 * Return: a malloc'ed path, or NULL (execvp will then report it).
 */
static char *which(const char *cmd)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];

	if (strchr(cmd, '/'))
		return strdup(cmd);
	if (!path)
		path = "/bin:/usr/bin";
	while (*path) {
		size_t n = strcspn(path, ":");

		snprintf(buf, sizeof(buf), "%.*s%s%s", (int)n, path,
			 n ? "/" : "", cmd);
		if (access(buf, X_OK) == 0 && existing(buf))
			return strdup(buf);
		path += n;
		if (*path == ':')
			path++;
	}
	return NULL;
}

/* What the wrapper needs to know about the program it runs. */
struct prog_info {
	int is_i386;		/* runs as i386 (ELFCLASS32 EM_386) */
	int is_static;		/* an ELF without PT_INTERP: no ld.so */
	int secure;		/* ld.so would run it in secure mode */
	int no_lib;		/* i386, and no i386 library to preload */
};

/* Whether an ELF image (first n bytes in h) has a PT_INTERP header. */
static int elf_has_interp(int fd, const unsigned char *h, ssize_t n)
{
	int is32 = h[EI_CLASS] == ELFCLASS32;
	uint64_t phoff;
	unsigned phnum, phentsize;

	if (is32) {
		const Elf32_Ehdr *e = (const void *)h;

		if (n < (ssize_t)sizeof(*e))
			return 1;
		phoff = e->e_phoff;
		phnum = e->e_phnum;
		phentsize = e->e_phentsize;
	} else {
		const Elf64_Ehdr *e = (const void *)h;

		if (n < (ssize_t)sizeof(*e))
			return 1;
		phoff = e->e_phoff;
		phnum = e->e_phnum;
		phentsize = e->e_phentsize;
	}
	if (phentsize < (is32 ? sizeof(Elf32_Phdr) : sizeof(Elf64_Phdr)))
		return 1;	/* unreadable: assume dynamic, as before */
	for (unsigned i = 0; i < phnum && i < 256; i++) {
		uint32_t type;

		if (pread(fd, &type, sizeof(type),
			  (off_t)(phoff + (uint64_t)i * phentsize)) !=
		    sizeof(type))
			return 1;
		if (type == PT_INTERP)
			return 1;
	}
	return 0;
}

/*
 * Whether ld.so would run path in secure mode (AT_SECURE), ignoring
 * LD_PRELOAD: set-user-ID to another user, set-group-ID to another
 * group, or file capabilities for a non-root caller.
 */
static int runs_secure(const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return 0;
	if ((st.st_mode & S_ISUID) && st.st_uid != getuid())
		return 1;
	if ((st.st_mode & S_ISGID) && (st.st_mode & S_IXGRP) &&
	    st.st_gid != getgid())
		return 1;
	return getuid() != 0 &&
	       getxattr(path, "security.capability", NULL, 0) > 0;
}

/*
 * Fill in what the program at path is: an ELF file, or a #! script
 * whose interpreter is one (followed a few levels, as the kernel does).
 * Anything else, or an unreadable file: all zero (a dynamic program).
 */
static void program_info(const char *path, int depth, struct prog_info *pi)
{
	unsigned char h[256];
	ssize_t n;
	int fd;

	if (!path || depth > 4)
		return;
	if (depth == 0)
		pi->secure = runs_secure(path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, h, sizeof(h) - 1);
	if (n >= 2 && h[0] == '#' && h[1] == '!') {
		char *p = (char *)h + 2, *end;

		close(fd);
		h[n] = '\0';
		p += strspn(p, " \t");
		end = p + strcspn(p, " \t\n");
		*end = '\0';
		if (*p)
			program_info(p, depth + 1, pi);
		return;
	}
	if (n >= (ssize_t)sizeof(Elf32_Ehdr) && !memcmp(h, ELFMAG, SELFMAG) &&
	    h[EI_DATA] == ELFDATA2LSB) {
		/* e_machine is at the same offset in both classes. */
		pi->is_i386 = h[EI_CLASS] == ELFCLASS32 &&
			   (h[18] | h[19] << 8) == EM_386;
		pi->is_static = !elf_has_interp(fd, h, n);
	}
	close(fd);
}

/* ------------------------------------------------------------------ */
/* The supervisor: for what LD_PRELOAD cannot reach                     */
/* ------------------------------------------------------------------ */

enum { SV_NEVER, SV_AUTO, SV_ALWAYS };

/* --supervise[=WHEN]: bare means always. */
static int supervise_when(const char *arg)
{
	if (!arg || !strcmp(arg, "always"))
		return SV_ALWAYS;
	if (!strcmp(arg, "auto"))
		return SV_AUTO;
	if (!strcmp(arg, "never"))
		return SV_NEVER;
	usage_error("invalid value '%s' for --supervise (expected auto, "
		    "always or never)", arg);
}

/* --supervise-mode=MODE. */
static int supervise_mode(const char *arg)
{
	if (!strcmp(arg, "auto"))
		return SV_MODE_AUTO;
	if (!strcmp(arg, "notify"))
		return SV_MODE_NOTIFY;
	if (!strcmp(arg, "trace"))
		return SV_MODE_TRACE;
	usage_error("invalid value '%s' for --supervise-mode (expected "
		    "auto, notify or trace)", arg);
}

/* One line on stderr: we cannot serve cmd, because of why and then. */
static void warn_unserved(const char *cmd, const char *why,
			  const char *then)
{
	fprintf(stderr, PROGRAM ": warning: '%s': %s%s%s: running it "
		"without lockonfault\n", cmd, why, then ? ", and " : "",
		then ? then : "");
}

/* Why LD_PRELOAD cannot serve the program, or NULL when it can. */
static const char *unreachable(const struct prog_info *pi)
{
	if (pi->secure)
		return "it is set-user-ID, set-group-ID or has file "
		       "capabilities (ld.so ignores LD_PRELOAD for it)";
	if (pi->is_static)
		return "it is statically linked (LD_PRELOAD cannot reach it)";
	if (pi->no_lib)
		return "it is a 32-bit program and the i386 " LIBNAME " is "
		       "not installed (looked in build32/src/.libs and "
		       "../lib/i386-linux-gnu next to this program and in "
		       LOF_LIBDIR32 ")";
	return NULL;
}

/*
 * Whether to start the supervisor for cmd. auto: where LD_PRELOAD cannot
 * serve it (unreachable()). always: a dynamic program too, for its raw
 * syscall() lock calls. never: no. It cannot serve a secure program for
 * a non-root user (tracing it would drop the privileges it execs with),
 * nor anything on a kernel without MLOCK_ONFAULT (it rewrites calls into
 * the kernel's own flags). Every command left unserved gets one warning
 * line, and so does a dynamic one whose raw calls stay eager.
 */
static int want_supervisor(int when, const struct prog_info *pi,
			   const char *cmd)
{
	const char *reach = unreachable(pi);
	struct lof_kernel k;

	if (when == SV_NEVER || (when == SV_AUTO && !reach)) {
		if (reach)
			warn_unserved(cmd, reach, "--supervise=never was given");
		return 0;
	}
	if (pi->secure && getuid() != 0) {
		warn_unserved(cmd, reach, "tracing it would drop its "
			      "privileges");
		return 0;
	}
	if (!sv_available()) {
		if (reach)
			warn_unserved(cmd, reach, "this build has no "
				      "supervisor (x86_64 only)");
		return 0;
	}
	kernel_probe(&k);
	if (!k.has_onfault) {
		if (reach)
			warn_unserved(cmd, reach, "this kernel has no "
				      "MLOCK_ONFAULT (Linux 4.4) for the "
				      "supervisor to rewrite its lock calls "
				      "into");
		else
			fprintf(stderr, PROGRAM ": warning: '%s': no "
				"supervisor: this kernel has no MLOCK_ONFAULT "
				"(Linux 4.4); its raw lock system calls stay "
				"eager\n", cmd);
		return 0;
	}
	return 1;
}

/*
 * The i386 library: in the build tree (build32/src/.libs next to this
 * program), then in ../lib/i386-linux-gnu next to it (the default
 * LOF_LIBDIR32 of an install under any prefix), then in LOF_LIBDIR32.
 * Return: a malloc'ed path, or NULL.
 */
static char *find_library32(void)
{
	char exe[PATH_MAX], path[PATH_MAX + 64];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	exe[n < 0 ? 0 : n] = '\0';
	slash = strrchr(exe, '/');
	if (slash) {
		*slash = '\0';
		snprintf(path, sizeof(path), "%s/build32/src/.libs/" LIBNAME,
			 exe);
		if (existing(path))
			return realpath(path, NULL);
		snprintf(path, sizeof(path),
			 "%s/../lib/i386-linux-gnu/" LIBNAME, exe);
		if (existing(path))
			return realpath(path, NULL);
	}
	if (existing(LOF_LIBDIR32 "/" LIBNAME))
		return realpath(LOF_LIBDIR32 "/" LIBNAME, NULL);
	return NULL;
}

/*
 * Check the --library file and make its path absolute, as COMMAND may
 * change directory. Return: a malloc'ed path.
 */
static char *check_library(const char *arg)
{
	char *lib;

	if (!arg[0])
		usage_error("--library needs a file name");
	if (!existing(arg))
		usage_error("library '%s' not found: %s", arg,
			    strerror(errno));
	lib = arg[0] == '/' ? strdup(arg) : realpath(arg, NULL);
	if (!lib)
		fatal("library '%s': %s", arg, strerror(errno));
	return lib;
}

/* Return "<lib>:<old>", or "<lib>" when LD_PRELOAD is unset or empty. */
static char *new_preload(const char *lib)
{
	const char *old = getenv("LD_PRELOAD");
	size_t len = strlen(lib) + (old ? strlen(old) : 0) + 2;
	char *val = malloc(len);

	if (!val)
		fatal("out of memory");
	if (old && old[0])
		snprintf(val, len, "%s:%s", lib, old);
	else
		snprintf(val, len, "%s", lib);
	return val;
}

/* Print one argument so that a POSIX shell would read it back as is. */
static void print_quoted(const char *s)
{
	if (s[0] && !s[strspn(s, "abcdefghijklmnopqrstuvwxyz"
			      "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
			      "%+,-./:=@_^")]) {
		fputs(s, stdout);
		return;
	}
	putchar('\'');
	for (; *s; s++) {
		if (*s == '\'')
			fputs("'\\''", stdout);
		else
			putchar(*s);
	}
	putchar('\'');
}

/* ------------------------------------------------------------------ */
/* What the library would do here: --probe, and a line of --dry-run    */
/* ------------------------------------------------------------------ */

/* The value of opt's LOCKONFAULT_ variable, or NULL. */
static const char *env_value(const struct lof_option *opt)
{
	char name[128];

	snprintf(name, sizeof(name), ENV_PREFIX "%s", opt->name);
	return getenv(name);
}

/*
 * The settings the library would load: each option's value from the
 * command line, else from the environment, else its default. A bad
 * value in the environment is ignored, as the library ignores it.
 * from[i] says where option i came from: "--" (the command line),
 * ENV_PREFIX (the environment), "bad" (the default, the environment's
 * value being invalid) or "default".
 */
static void effective_config(struct lof_config *cfg,
			     const char *const *values, const char **from)
{
	config_defaults(cfg);
	for (size_t i = 0; i < lof_noptions; i++) {
		const struct lof_option *opt = &lof_options[i];
		const char *v = env_value(opt);

		from[i] = "default";
		if (v)
			from[i] = config_set(cfg, opt, v) == 0 ? ENV_PREFIX : "bad";
		if (values[i] && config_set(cfg, opt, values[i]) == 0)
			from[i] = "--";
	}
}

/* The option of the table named name (without the prefix). */
static size_t option_index(const char *name)
{
	for (size_t i = 0; i < lof_noptions; i++) {
		if (strcmp(lof_options[i].name, name) == 0)
			return i;
	}
	fatal("internal error: no option %s", name);
}

/* The name of a value of an enum option, e.g. "auto" for ENGINE 0. */
static const char *enum_name(size_t opt, int v)
{
	return lof_options[opt].names[v];
}

/* "0", or "ENOSYS (Function not implemented)" and the like. */
static const char *errno_text(int e)
{
	static char buf[96];
	const char *name;

	switch (e) {
	case 0:
		return "0";
	case EPERM:
		name = "EPERM";
		break;
	case EINVAL:
		name = "EINVAL";
		break;
	case ENOSYS:
		name = "ENOSYS";
		break;
	case ENOMEM:
		name = "ENOMEM";
		break;
	case EAGAIN:
		name = "EAGAIN";
		break;
	default:
		snprintf(buf, sizeof(buf), "errno %d (%s)", e, strerror(e));
		return buf;
	}
	snprintf(buf, sizeof(buf), "%s (%s)", name, strerror(e));
	return buf;
}

/* A limit in bytes, or "unlimited". */
static void print_limit(const char *name, uint64_t v)
{
	if (v == UINT64_MAX)
		printf("%s: unlimited\n", name);
	else
		printf("%s: %llu\n", name, (unsigned long long)v);
}

/* Where option i's value came from, for --probe. */
static void print_source(const char *what, size_t i, const char *from,
			 int v)
{
	const struct lof_option *opt = &lof_options[i];

	if (strcmp(from, "--") == 0)
		printf("%s: %s (--%s)\n", what, enum_name(i, v), opt->longopt);
	else if (strcmp(from, ENV_PREFIX) == 0)
		printf("%s: %s (" ENV_PREFIX "%s)\n", what, enum_name(i, v),
		       opt->name);
	else if (strcmp(from, "bad") == 0)
		printf("%s: %s (default: " ENV_PREFIX "%s=%s is not valid)\n",
		       what, enum_name(i, v), opt->name, env_value(opt));
	else
		printf("%s: %s (default)\n", what, enum_name(i, v));
}

/*
 * --probe: one "name: value" line per fact, the kernel's first, then the
 * engine auto would choose and the one the settings choose, each with
 * the reason the library gives in its info log and its report.
 */
static void __attribute__((noreturn)) probe(const char *const *values)
{
	const char **from = calloc(lof_noptions, sizeof(*from));
	size_t ie = option_index("ENGINE"), ic = option_index("CHARGE");
	struct lof_config cfg;
	struct lof_kernel k;
	struct utsname u;
	const char *why;
	int mode;

	if (!from)
		fatal("out of memory");
	effective_config(&cfg, values, from);
	kernel_probe(&k);

	if (uname(&u) == 0)
		printf("kernel: %s %s %s\n", u.sysname, u.release, u.machine);
	printf("mlock2: %s (mlock2(NULL, 0, 0): %s)\n",
	       k.mlock2_errno == ENOSYS ? "no" : "yes",
	       errno_text(k.mlock2_errno));
	printf("mlock_onfault: %s (mlock2(NULL, 0, MLOCK_ONFAULT): %s)\n",
	       k.has_onfault ? "yes" : "no", errno_text(k.onfault_errno));
	printf("mcl_onfault: %s (not probed, as mlockall has no call without effect: it came with MLOCK_ONFAULT in Linux 4.4)\n",
	       k.has_onfault ? "yes" : "no");
	print_limit("rlimit_memlock_soft", k.memlock_cur);
	print_limit("rlimit_memlock_hard", k.memlock_max);
	printf("cap_ipc_lock: %s\n", k.cap_ipc_lock ? "yes" : "no");
	if (k.max_map_count)
		printf("max_map_count: %lu\n", k.max_map_count);
	else
		printf("max_map_count: unknown (/proc/sys/vm/max_map_count unreadable)\n");

	mode = engine_choose(LOF_ENGINE_AUTO, LOF_CHARGE_RANGE, &k, &why);
	printf("engine_auto: %s\n", engine_mode_name(mode));
	printf("engine_auto_why: %s\n", why);

	print_source("setting_engine", ie, from[ie], cfg.engine);
	print_source("setting_charge", ic, from[ic], cfg.charge);
	mode = engine_choose(cfg.engine, cfg.charge, &k, &why);
	printf("engine: %s\n", engine_mode_name(mode));
	printf("engine_why: %s\n", why);
	exit_flushed();
}

/* The engine the library would run with these settings, and why. */
static void print_engine_comment(const char *const *values)
{
	const char **from = calloc(lof_noptions, sizeof(*from));
	struct lof_config cfg;
	struct lof_kernel k;
	const char *why;
	int mode;

	if (!from)
		fatal("out of memory");
	effective_config(&cfg, values, from);
	kernel_probe(&k);
	mode = engine_choose(cfg.engine, cfg.charge, &k, &why);
	printf("# engine %s: %s\n", engine_mode_name(mode), why);
	free(from);
}

/* sv_want: the --supervise-mode, or -1 for no supervisor. */
static void __attribute__((noreturn))
dry_run(const char *preload, const char *const *values, char **cmd,
	int sv_want)
{
	if (preload)
		printf("LD_PRELOAD=%s\n", preload);
	for (size_t i = 0; i < lof_noptions; i++) {
		if (values[i])
			printf(ENV_PREFIX "%s=%s\n", lof_options[i].name,
			       values[i]);
	}
	print_engine_comment(values);
	if (sv_want >= 0) {
		const char *fallback;
		int mode = sv_mode(sv_want, &fallback);

		printf("# supervisor: the lock calls made without libc "
		       "rewritten into MLOCK_ONFAULT and MCL_ONFAULT (%s%s%s)\n",
		       mode == SV_MODE_NOTIFY ? "notify mode" :
		       mode == SV_MODE_TRACE ? "trace mode" :
		       mode == SV_MODE_ABOVE ? "the supervisor above serves "
		       "it" : "cannot start here", fallback ? ": " : "",
		       fallback ? fallback : "");
	}
	for (char **a = cmd; *a; a++) {
		if (a != cmd)
			putchar(' ');
		print_quoted(*a);
	}
	putchar('\n');
	exit_flushed();
}

static void set_env(const char *name, const char *value)
{
	if (setenv(name, value, 1) != 0)
		fatal("cannot set %s: %s", name, strerror(errno));
}

/* Validate value for option opt as the library would, or fail with 125. */
static void check_value(const struct lof_option *opt, const char *value)
{
	struct lof_config scratch;

	config_defaults(&scratch);
	if (config_set(&scratch, opt, value) != 0)
		usage_error("invalid value '%s' for --%s (expected %s)",
			    value, opt->longopt, opt->accepted);
}

/*
 * Report what getopt_long refused (c is ':' or '?'), then exit 125. For
 * a long option glibc sets optopt to the option's val, or to 0 when the
 * name is unknown or ambiguous; arg is the argument it stopped at.
 */
static void __attribute__((noreturn)) bad_option(int c, const char *arg)
{
	int len;

	if (strncmp(arg, "--", 2) != 0) {
		if (c == ':')
			usage_error("option '-%c' needs a value", optopt);
		usage_error("unknown option '-%c'", optopt);
	}
	len = (int)strcspn(arg, "=");
	if (c == ':')
		usage_error("option '%.*s' needs a value", len, arg);
	if (optopt)
		usage_error("option '%.*s' takes no value", len, arg);
	usage_error("unknown or ambiguous option '%.*s'", len, arg);
}

/* Build getopt_long's table: every lof_options[] entry, then our own. */
static struct option *long_options(void)
{
	static const struct option own[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "library", required_argument, NULL, OPT_LIBRARY },
		{ "probe", no_argument, NULL, OPT_PROBE },
		{ "supervise", optional_argument, NULL, OPT_SUPERVISE },
		{ "supervise-mode", required_argument, NULL,
		  OPT_SUPERVISE_MODE },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct option *lo = calloc(lof_noptions + ARRAY_SIZE(own),
				   sizeof(*lo));

	if (!lo)
		fatal("out of memory");
	for (size_t i = 0; i < lof_noptions; i++) {
		lo[i].name = lof_options[i].longopt;
		lo[i].has_arg = takes_optional_value(&lof_options[i]) ?
				optional_argument : required_argument;
		lo[i].val = OPT_TABLE + (int)i;
	}
	memcpy(lo + lof_noptions, own, sizeof(own));
	return lo;
}

int main(int argc, char **argv)
{
	const char **values = calloc(lof_noptions, sizeof(*values));
	struct option *lo = long_options();
	const char *library = NULL;
	char *lib, *preload;
	int dry = 0, want_probe = 0, supervise = SV_AUTO, c;
	int sv_want = SV_MODE_AUTO;
	struct prog_info pi = { 0 };

	if (!values)
		fatal("out of memory");
	opterr = 0;
	while ((c = getopt_long(argc, argv, short_opts, lo, NULL)) != -1) {
		switch (c) {
		case 'h':
			help();
		case 'V':
			version();
		case 'n':
			dry = 1;
			break;
		case OPT_LIBRARY:
			library = optarg;
			break;
		case OPT_PROBE:
			want_probe = 1;
			break;
		case OPT_SUPERVISE:
			supervise = supervise_when(optarg);
			break;
		case OPT_SUPERVISE_MODE:
			sv_want = supervise_mode(optarg);
			break;
		case ':':
		case '?':
			bad_option(c, argv[optind - 1]);
		default: {
			size_t i = (size_t)(c - OPT_TABLE);
			const char *v = optarg;

			if (c < OPT_TABLE || i >= lof_noptions)
				usage_error("internal error: option %d", c);
			if (!v)
				v = OPTIONAL_VALUE;
			check_value(&lof_options[i], v);
			values[i] = v;
			break;
		}
		}
	}
	if (want_probe) {
		if (optind < argc)
			usage_error("--probe takes no command");
		probe(values);
	}
	if (optind >= argc)
		usage_error("no command given");

	program_info(which(argv[optind]), 0, &pi);
	lib = NULL;
	if (library)
		lib = check_library(library);
#if defined(__x86_64__)
	else if (pi.is_i386)	/* ld.so would refuse the x86_64 library */
		pi.no_lib = !(lib = find_library32());
#endif
	else if (!(lib = find_library()))
		usage_error("cannot find " LIBNAME " (looked in src/.libs "
			    "and ../lib next to this program, and in "
			    LOF_LIBDIR "); use --library=PATH");
	supervise = want_supervisor(supervise, &pi, argv[optind]);
	if (lib && strpbrk(lib, ": \t\n"))
		usage_error("library path '%s' cannot go in LD_PRELOAD "
			    "(it contains ':' or a space)", lib);
	preload = lib ? new_preload(lib) : NULL;

	if (dry)
		dry_run(preload, values, argv + optind,
			supervise ? sv_want : -1);

	if (preload)
		set_env("LD_PRELOAD", preload);
	for (size_t i = 0; i < lof_noptions; i++) {
		char name[128];

		if (!values[i])
			continue;
		snprintf(name, sizeof(name), ENV_PREFIX "%s",
			 lof_options[i].name);
		set_env(name, values[i]);
	}
	if (supervise) {
		char why[256];

		const char *fallback;
		int r = sv_start(sv_want, &fallback, why, sizeof(why));

		if (r == 0 && fallback && sv_want == SV_MODE_NOTIFY)
			fprintf(stderr, PROGRAM ": warning: '%s': "
				"--supervise-mode=notify: %s; trace mode\n",
				argv[optind], fallback);
		if (r == -2) {
			fprintf(stderr, PROGRAM ": cannot run '%s' under the "
				"supervisor: %s\n", argv[optind], why);
			return EXIT_CANNOT_RUN;
		} else if (r >= 0)
			;	/* served: by us, or by the supervisor above */
		else if (unreachable(&pi))
			warn_unserved(argv[optind], unreachable(&pi), why);
		else
			fprintf(stderr, PROGRAM ": warning: '%s': no "
				"supervisor (%s): its raw lock system calls "
				"stay eager\n", argv[optind], why);
	}
	execvp(argv[optind], argv + optind);
	c = errno;
	fprintf(stderr, PROGRAM ": cannot run '%s': %s\n", argv[optind],
		strerror(c));
	return c == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_RUN;
}
