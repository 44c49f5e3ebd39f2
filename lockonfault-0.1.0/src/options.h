/*
 * options.h - the LOCKONFAULT_* environment variables.
 *
 * One table (lof_options) names every variable, its type, default,
 * bounds and help line. config_load() walks it once, fills lof_config
 * and is then done: everything else only reads lof_config. The wrapper
 * and the documentation check use the same table.
 */
#ifndef LOF_OPTIONS_H
#define LOF_OPTIONS_H

#include <stddef.h>

#include "internal.h"

enum lof_engine {
	LOF_ENGINE_AUTO,
	LOF_ENGINE_SIGSEGV,
	LOF_ENGINE_NATIVE,
	LOF_ENGINE_OFF,
};

enum lof_charge {
	LOF_CHARGE_RANGE,	/* the whole range, at the lock call */
	LOF_CHARGE_TOUCHED,	/* each batch, when it is first touched */
};

#define LOF_BATCH_DEFAULT 16
/*
 * Where opening a batch locks every page of it (the SIGSEGV engine on a
 * kernel without MLOCK_ONFAULT, private writable memory), the first
 * batch is one page, so that only what is touched is locked; batches
 * still grow on sequential faults. Measured in bench/RESULTS.md.
 */
#define LOF_LOCK_BATCH_DEFAULT 1
/*
 * 4096 pages (16 MiB of 4K pages), measured (bench/RESULTS.md): the
 * 5 GiB cover-letter benchmark took 5040 faults with a bound of 512,
 * 2870 with 4096 and 2601 with 32768, at about 20 us a fault. A larger
 * batch locks no more memory (the kernel locks touched pages only).
 */
#define LOF_MAX_BATCH_DEFAULT 4096
#define LOF_MIN_SIZE_DEFAULT (1UL << 20)
#define LOF_STATS_MAX 256

struct lof_config {
	size_t batch;		/* pages resolved by a region's first fault */
	size_t max_batch;	/* bound for batch growth, pages */
	size_t lock_batch;	/* first batch where opening locks it all */
	size_t min_size;	/* smaller lock calls go to the kernel as is */
	int engine;		/* enum lof_engine */
	int charge;		/* enum lof_charge */
	int log_level;		/* enum lof_log_level */
	char stats[LOF_STATS_MAX]; /* "" off, "stderr", or a path (%p) */
	int backtrace;		/* print a backtrace before a genuine crash */
	char only[LOF_STATS_MAX]; /* "" all, or the programs to act in */
	char skip[LOF_STATS_MAX]; /* programs to stay out of */
};

/*
 * Set once by config_load(), from the constructor or the first
 * interposed call, before the engine can run; read-only afterwards.
 */
extern struct lof_config lof_config;

enum lof_opt_type {
	LOF_OPT_COUNT,	/* unsigned integer, no suffix */
	LOF_OPT_SIZE,	/* bytes, with optional K, M, G suffix */
	LOF_OPT_ENUM,	/* one of names[] */
	LOF_OPT_STRING,	/* free text up to LOF_STATS_MAX - 1 bytes */
	LOF_OPT_BOOL,	/* 1/0, yes/no, true/false, on/off */
};

struct lof_option {
	const char *name;	/* without the LOCKONFAULT_ prefix */
	const char *longopt;	/* the wrapper's --option */
	int type;		/* enum lof_opt_type */
	size_t offset;		/* into struct lof_config */
	unsigned long min, max;	/* bounds for COUNT and SIZE */
	const char *const *names; /* for ENUM, NULL-terminated */
	const char *def;	/* the default, as text */
	const char *accepted;	/* the accepted form, for messages */
	const char *help;	/* one line */
};

extern const struct lof_option lof_options[];
extern const size_t lof_noptions;

/*
 * Parse "123", "64K", "2M", "1G" (binary units, case-insensitive).
 * Return: 0, or -EINVAL for malformed text, -ERANGE on overflow.
 */
int config_parse_size(const char *s, unsigned long *out);

/* Parse a boolean (1/0, yes/no, true/false, on/off). Return: 0/1 or -EINVAL. */
int config_parse_bool(const char *s);

/* Parse a decimal count without suffix. Return: 0, -EINVAL or -ERANGE. */
int config_parse_count(const char *s, unsigned long *out);

/* Return: the index of s in names[] (case-insensitive), or -EINVAL. */
int config_parse_enum(const char *s, const char *const *names);

/*
 * Parse value for option opt into cfg.
 * Return: 0, or -EINVAL/-ERANGE (cfg unchanged).
 */
int config_set(struct lof_config *cfg, const struct lof_option *opt,
	       const char *value);

/* Fill cfg with every default. */
void config_defaults(struct lof_config *cfg);

/*
 * Read every LOCKONFAULT_* variable from envp into lof_config, warning
 * once on stderr for each bad value and keeping its default.
 * Context: init only (constructor or first interposed call).
 */
void config_load(char **envp);

/*
 * config_load() for a process that is secure (setuid, setgid or given
 * capabilities: AT_SECURE) or not. A secure process ignores every
 * LOCKONFAULT_* variable, as ld.so ignores most of LD_*: the user who
 * runs it must not choose, say, a file it writes as another user.
 * Context: init only.
 */
void config_load_env(char **envp, int secure);

/*
 * Is name one of the comma-separated items of list? Items are compared
 * whole and case-sensitively; empty items never match.
 */
int config_list_has(const char *list, const char *name);

/*
 * LOCKONFAULT_ONLY and LOCKONFAULT_SKIP: does the library act in a
 * program that calls itself name (the basename of argv[0]) and runs the
 * executable exe (the basename of /proc/self/exe)? A list matches when
 * it names either. ONLY, when set, must match; SKIP must not (SKIP wins).
 */
int config_selects(const struct lof_config *cfg, const char *name,
		   const char *exe);

#endif /* LOF_OPTIONS_H */
