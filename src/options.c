/*
 * options.c - the option table and its parsers.
 *
 * The only file that knows the LOCKONFAULT_* names. It reads environ
 * directly, not getenv(), so it works before libc is fully set up.
 * Rules: a bad value prints one line naming the variable, the value and
 * the accepted form, and the default stays; out-of-range numbers are
 * refused the same way, never silently clamped.
 */
#include "config.h"
#include "options.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "log.h"

struct lof_config lof_config = {
	.batch = LOF_BATCH_DEFAULT,
	.max_batch = LOF_MAX_BATCH_DEFAULT,
	.lock_batch = LOF_LOCK_BATCH_DEFAULT,
	.min_size = LOF_MIN_SIZE_DEFAULT,
	.engine = LOF_ENGINE_AUTO,
	.log_level = LOF_LOG_WARN,
};

static const char *const engine_names[] = { "auto", "sigsegv", "native", "off",
					  NULL };
static const char *const charge_names[] = { "range", "touched", NULL };
static const char *const bool_names[] = { "0", "1", "no", "yes", "false",
					  "true", "off", "on", NULL };
static const char *const log_names[] = { "error", "warn", "info", "debug",
					 NULL };

#define OFF(field) offsetof(struct lof_config, field)
/* 1 TiB, or all a 32-bit size can say. */
#define SIZE_MAX_BOUND \
	(sizeof(long) > 4 ? (unsigned long)(1ULL << 40) : ULONG_MAX)

const struct lof_option lof_options[] = {
	{ "BATCH", "batch", LOF_OPT_COUNT, OFF(batch), 1, 1UL << 20, NULL,
	  "16", "a page count from 1 to 1048576",
	  "pages resolved by the first fault in a region" },
	{ "MAX_BATCH", "max-batch", LOF_OPT_COUNT, OFF(max_batch), 1,
	  1UL << 20, NULL, "4096", "a page count from 1 to 1048576",
	  "bound for adaptive batch growth, in pages" },
	{ "LOCK_BATCH", "lock-batch", LOF_OPT_COUNT, OFF(lock_batch), 1,
	  1UL << 20, NULL, "1", "a page count from 1 to 1048576",
	  "first batch where opening a batch locks all of it (sigsegv engine without kernel MLOCK_ONFAULT, private writable memory)" },
	{ "MIN_SIZE", "min-size", LOF_OPT_SIZE, OFF(min_size), 0,
	  SIZE_MAX_BOUND, NULL, "1M", "a size such as 0, 4096, 64K, 1M or 1G",
	  "lock calls smaller than this are passed to the kernel unchanged" },
	{ "ENGINE", "engine", LOF_OPT_ENUM, OFF(engine), 0, 0, engine_names,
	  "auto", "auto, sigsegv, native or off",
	  "auto: the kernel's ONFAULT flags where it has them, else sigsegv; sigsegv: user-space engine; native: kernel flags only; off: pass through" },
	{ "CHARGE", "charge", LOF_OPT_ENUM, OFF(charge), 0, 0, charge_names,
	  "range", "range or touched",
	  "RLIMIT_MEMLOCK charge: the whole range at the call, or batches as touched" },
	{ "LOG", "log", LOF_OPT_ENUM, OFF(log_level), 0, 0, log_names, "warn",
	  "error, warn, info or debug", "what the library prints on stderr" },
	{ "STATS", "stats", LOF_OPT_STRING, OFF(stats), 0, 0, NULL, "",
	  "1, stderr or a file path (%p becomes the pid)",
	  "print a statistics report at exit" },
	{ "BACKTRACE", "backtrace", LOF_OPT_BOOL, OFF(backtrace), 0, 0, NULL,
	  "0", "1 or 0 (also yes/no, true/false, on/off)",
	  "print a backtrace on stderr when the program crashes" },
	{ "ONLY", "only", LOF_OPT_STRING, OFF(only), 0, 0, NULL, "",
	  "comma-separated program names",
	  "act only in these programs (argv[0] or executable basename); others run as without the library" },
	{ "SKIP", "skip", LOF_OPT_STRING, OFF(skip), 0, 0, NULL, "",
	  "comma-separated program names",
	  "stay out of these programs, even if LOCKONFAULT_ONLY names them" },
};

const size_t lof_noptions = ARRAY_SIZE(lof_options);

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static int parse_number(const char *s, unsigned long *out, int allow_suffix)
{
	unsigned long v = 0;
	unsigned int shift = 0;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (ULONG_MAX - (unsigned long)(*p - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	if (*p && allow_suffix) {
		switch (lower(*p)) {
		case 'k':
			shift = 10;
			break;
		case 'm':
			shift = 20;
			break;
		case 'g':
			shift = 30;
			break;
		default:
			return -EINVAL;
		}
		p++;
		/* Accept "64K", "64KB", "64KiB". */
		if (lower(*p) == 'i')
			p++;
		if (lower(*p) == 'b')
			p++;
	}
	if (*p)
		return -EINVAL;
	if (shift && v > (ULONG_MAX >> shift))
		return -ERANGE;
	*out = v << shift;
	return 0;
}

int config_parse_size(const char *s, unsigned long *out)
{
	return parse_number(s, out, 1);
}

int config_parse_count(const char *s, unsigned long *out)
{
	return parse_number(s, out, 0);
}

int config_parse_enum(const char *s, const char *const *names)
{
	for (int i = 0; names[i]; i++) {
		const char *a = s, *b = names[i];

		while (*a && lower(*a) == lower(*b)) {
			a++;
			b++;
		}
		if (!*a && !*b)
			return i;
	}
	return -EINVAL;
}

int config_parse_bool(const char *s)
{
	int i = config_parse_enum(s, bool_names);

	return i < 0 ? i : i % 2;
}

int config_set(struct lof_config *cfg, const struct lof_option *opt,
	       const char *value)
{
	char *field = (char *)cfg + opt->offset;
	unsigned long v;
	int r;

	switch (opt->type) {
	case LOF_OPT_COUNT:
	case LOF_OPT_SIZE:
		r = opt->type == LOF_OPT_SIZE ? config_parse_size(value, &v)
					      : config_parse_count(value, &v);
		if (r)
			return r;
		if (v < opt->min || v > opt->max)
			return -ERANGE;
		*(size_t *)field = v;
		return 0;
	case LOF_OPT_ENUM:
		r = config_parse_enum(value, opt->names);
		if (r < 0)
			return r;
		*(int *)field = r;
		return 0;
	case LOF_OPT_BOOL:
		r = config_parse_bool(value);
		if (r < 0)
			return r;
		*(int *)field = r;
		return 0;
	case LOF_OPT_STRING:
		if (strlen(value) >= LOF_STATS_MAX)
			return -ERANGE;
		strcpy(field, value);
		return 0;
	}
	return -EINVAL;
}

void config_defaults(struct lof_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < lof_noptions; i++)
		config_set(cfg, &lof_options[i], lof_options[i].def);
}

/* Return the value of LOCKONFAULT_<name> in envp, or NULL. */
static const char *lookup(char **envp, const char *name)
{
	static const char prefix[] = "LOCKONFAULT_";
	size_t plen = sizeof(prefix) - 1, nlen = strlen(name);

	for (char **e = envp; e && *e; e++) {
		if (strncmp(*e, prefix, plen) == 0 &&
		    strncmp(*e + plen, name, nlen) == 0 &&
		    (*e)[plen + nlen] == '=')
			return *e + plen + nlen + 1;
	}
	return NULL;
}

int config_list_has(const char *list, const char *name)
{
	size_t n = strlen(name);

	if (!n)
		return 0;
	for (const char *p = list; *p;) {
		size_t len = strcspn(p, ",");

		if (len == n && strncmp(p, name, n) == 0)
			return 1;
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}

int config_selects(const struct lof_config *cfg, const char *name,
		   const char *exe)
{
	if (cfg->only[0] && !config_list_has(cfg->only, name) &&
	    !config_list_has(cfg->only, exe))
		return 0;
	return !config_list_has(cfg->skip, name) &&
	       !config_list_has(cfg->skip, exe);
}

void config_load(char **envp)
{
	char exe[256];
	const char *base = exe;
	ssize_t n;

	config_load_env(envp, getauxval(AT_SECURE) != 0);
	if (!lof_config.only[0] && !lof_config.skip[0])
		return;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	if (strrchr(exe, '/'))
		base = strrchr(exe, '/') + 1;
	if (config_selects(&lof_config, program_invocation_short_name, base))
		return;
	log_info("%s is not selected by LOCKONFAULT_ONLY/LOCKONFAULT_SKIP: every call passes through",
		 program_invocation_short_name);
	lof_config.engine = LOF_ENGINE_OFF;
	lof_config.stats[0] = '\0';
	lof_config.backtrace = 0;
}

void config_load_env(char **envp, int secure)
{
	struct lof_config cfg;
	const char *bad[ARRAY_SIZE(lof_options)];
	size_t nbad = 0;

	config_defaults(&cfg);
	if (secure) {
		lof_log_level = cfg.log_level;
		lof_config = cfg;
		for (char **e = envp; e && *e; e++) {
			if (strncmp(*e, "LOCKONFAULT_", 12) == 0) {
				log_info("setuid or setgid program: LOCKONFAULT_* variables ignored");
				break;
			}
		}
		return;
	}
	/* LOG first, so the warnings below obey it. */
	for (size_t i = 0; i < lof_noptions; i++) {
		const struct lof_option *opt = &lof_options[i];
		const char *v = lookup(envp, opt->name);

		if (v && config_set(&cfg, opt, v) != 0)
			bad[nbad++] = opt->name;
	}
	lof_log_level = cfg.log_level;
	for (size_t i = 0; i < nbad; i++) {
		for (size_t j = 0; j < lof_noptions; j++) {
			const struct lof_option *opt = &lof_options[j];

			if (opt->name != bad[i])
				continue;
			log_error("LOCKONFAULT_%s=%s is not valid (expected %s), using %s",
				 opt->name, lookup(envp, opt->name),
				 opt->accepted, opt->def[0] ? opt->def : "off");
		}
	}
	if (cfg.max_batch < cfg.batch) {
		log_warn("LOCKONFAULT_MAX_BATCH=%zu is below LOCKONFAULT_BATCH=%zu, using %zu",
			 cfg.max_batch, cfg.batch, cfg.batch);
		cfg.max_batch = cfg.batch;
	}
	lof_config = cfg;
}
