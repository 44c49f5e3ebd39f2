/*
 * test-options.c - unit tests of the option table (src/options.h).
 *
 * The parsers, config_set and config_defaults are pure. config_load
 * writes the globals lof_config and lof_log_level and may print on fd
 * 2 with write(2), so its tests save and restore both globals and put
 * a pipe on fd 2 around the call to read back what it printed.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lof-test.h"
#include "log.h"
#include "options.h"

static const struct lof_option *find_opt(const char *name)
{
	for (size_t i = 0; i < lof_noptions; i++)
		if (strcmp(lof_options[i].name, name) == 0)
			return &lof_options[i];
	fail_msg("no option %s in lof_options", name);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Capturing fd 2                                                      */
/* ------------------------------------------------------------------ */

struct capture {
	int rd;
	int saved;
	char buf[8192];
	size_t len;
};

static void capture_begin(struct capture *c)
{
	int p[2];

	fflush(stderr);
	assert_int_equal(pipe(p), 0);
	c->rd = p[0];
	c->saved = dup(2);
	assert_true(c->saved >= 0);
	assert_true(dup2(p[1], 2) == 2);
	close(p[1]);
	c->len = 0;
}

/* Restore fd 2 and read what was written; the pipe holds 64K at least. */
static void capture_end(struct capture *c)
{
	ssize_t n;

	fflush(stderr);
	assert_true(dup2(c->saved, 2) == 2);
	close(c->saved);
	while ((n = read(c->rd, c->buf + c->len,
			 sizeof(c->buf) - 1 - c->len)) > 0)
		c->len += (size_t)n;
	close(c->rd);
	c->buf[c->len] = '\0';
}

static size_t capture_lines(const struct capture *c)
{
	size_t n = 0;

	for (size_t i = 0; i < c->len; i++)
		n += c->buf[i] == '\n';
	return n;
}

/* The number of lines that contain s. */
static size_t capture_count(const struct capture *c, const char *s)
{
	const char *line = c->buf;
	size_t n = 0;

	while (*line) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		char tmp[1024];

		if (len >= sizeof(tmp))
			len = sizeof(tmp) - 1;
		memcpy(tmp, line, len);
		tmp[len] = '\0';
		n += strstr(tmp, s) != NULL;
		line += nl ? (size_t)(nl - line) + 1 : len;
	}
	return n;
}

/* config_load with envp, capturing what it prints. */
static void load(char **envp, struct capture *c)
{
	capture_begin(c);
	config_load(envp);
	capture_end(c);
}

/* The globals config_load writes, saved around each of its tests. */
struct saved_globals {
	struct lof_config config;
	int log_level;
};

static int save_globals(void **state)
{
	static struct saved_globals g;

	g.config = lof_config;
	g.log_level = lof_log_level;
	*state = &g;
	return 0;
}

static int restore_globals(void **state)
{
	struct saved_globals *g = *state;

	lof_config = g->config;
	lof_log_level = g->log_level;
	return 0;
}

static void expect_defaults(const struct lof_config *cfg)
{
	assert_uint_equal(cfg->batch, LOF_BATCH_DEFAULT);
	assert_uint_equal(cfg->max_batch, LOF_MAX_BATCH_DEFAULT);
	assert_uint_equal(cfg->min_size, LOF_MIN_SIZE_DEFAULT);
	assert_int_equal(cfg->engine, LOF_ENGINE_AUTO);
	assert_int_equal(cfg->log_level, LOF_LOG_WARN);
	assert_string_equal(cfg->stats, "");
}

/* ------------------------------------------------------------------ */
/* Parsers                                                             */
/* ------------------------------------------------------------------ */

static void test_parse_size(void **state)
{
	static const struct {
		const char *s;
		unsigned long v;
	} ok[] = {
		{ "0", 0 },
		{ "1", 1 },
		{ "4096", 4096 },
		{ "010", 10 },
		{ "64K", 64UL << 10 },
		{ "64k", 64UL << 10 },
		{ "2M", 2UL << 20 },
		{ "2m", 2UL << 20 },
		{ "1G", 1UL << 30 },
		{ "3g", 3UL << 30 },
		{ "1KiB", 1024 },
		{ "1kb", 1024 },
		{ "1KB", 1024 },
		{ "4MiB", 4UL << 20 },
		{ "0K", 0 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		unsigned long v = 12345;
		int r = config_parse_size(ok[i].s, &v);

		if (r != 0 || v != ok[i].v)
			fail_msg("config_parse_size(\"%s\") = %d, %lu; expected 0, %lu",
				 ok[i].s, r, v, ok[i].v);
	}
}

static void test_parse_size_invalid(void **state)
{
	static const char *const bad[] = {
		"", "abc", "12Q", "-1", "1.5M", " 1", "1 ", "1 K", "+1",
		"K", "M", "0x10", "1KK", "1Kx", "1KiBB", "1T", "1e6",
		"64K\n",
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		unsigned long v = 0;
		int r = config_parse_size(bad[i], &v);

		if (r != -EINVAL)
			fail_msg("config_parse_size(\"%s\") = %d (%lu), expected -EINVAL",
				 bad[i], r, v);
	}
}

static void test_parse_size_overflow(void **state)
{
	static const char *const big[] = {
		"99999999999999999999",
		"99999999999G",
		"999999999999999999999999999999999999999K",
#if ULONG_MAX == 0xffffffffffffffffUL
		"18446744073709551616",
		"17179869184G",
		"17592186044416M",
		"18014398509481984K",
#else
		"4294967296",
		"4G",
#endif
	};
	unsigned long v = 0;

	for (size_t i = 0; i < ARRAY_SIZE(big); i++) {
		int r = config_parse_size(big[i], &v);

		if (r != -ERANGE)
			fail_msg("config_parse_size(\"%s\") = %d (%lu), expected -ERANGE",
				 big[i], r, v);
	}
	/* the largest values still fit */
#if ULONG_MAX == 0xffffffffffffffffUL
	assert_int_equal(config_parse_size("18446744073709551615", &v), 0);
	assert_true(v == ULONG_MAX);
	assert_int_equal(config_parse_size("17179869183G", &v), 0);
	assert_true(v == ULONG_MAX - ((1UL << 30) - 1));
#else
	assert_int_equal(config_parse_size("4294967295", &v), 0);
	assert_true(v == ULONG_MAX);
	assert_int_equal(config_parse_size("3G", &v), 0);
	assert_true(v == 3UL << 30);
#endif
}

static void test_parse_count(void **state)
{
	static const struct {
		const char *s;
		unsigned long v;
	} ok[] = {
		{ "0", 0 }, { "1", 1 }, { "16", 16 }, { "1048576", 1048576 },
		{ "010", 10 },
	};
	static const char *const bad[] = {
		"", "64K", "1M", "1G", "1k", "16B", "abc", "-1", " 1", "1 ",
		"1.0", "+1", "0x10",
	};
	unsigned long v;

	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		int r = config_parse_count(ok[i].s, &v);

		if (r != 0 || v != ok[i].v)
			fail_msg("config_parse_count(\"%s\") = %d, %lu; expected 0, %lu",
				 ok[i].s, r, v, ok[i].v);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		int r = config_parse_count(bad[i], &v);

		if (r != -EINVAL)
			fail_msg("config_parse_count(\"%s\") = %d, expected -EINVAL",
				 bad[i], r);
	}
	assert_int_equal(config_parse_count("99999999999999999999", &v),
			 -ERANGE);
}

static void test_parse_enum(void **state)
{
	static const char *const names[] = { "auto", "sigsegv", "native",
					     "off", NULL };
	static const char *const empty[] = { NULL };

	assert_int_equal(config_parse_enum("auto", names), 0);
	assert_int_equal(config_parse_enum("AUTO", names), 0);
	assert_int_equal(config_parse_enum("sigsegv", names), 1);
	assert_int_equal(config_parse_enum("SIGSEGV", names), 1);
	assert_int_equal(config_parse_enum("SigSegv", names), 1);
	assert_int_equal(config_parse_enum("native", names), 2);
	assert_int_equal(config_parse_enum("NATIVE", names), 2);
	assert_int_equal(config_parse_enum("off", names), 3);
	assert_int_equal(config_parse_enum("Off", names), 3);
	assert_int_equal(config_parse_enum("OFF", names), 3);

	assert_int_equal(config_parse_enum("", names), -EINVAL);
	assert_int_equal(config_parse_enum("aut", names), -EINVAL);
	assert_int_equal(config_parse_enum("o", names), -EINVAL);
	assert_int_equal(config_parse_enum("of", names), -EINVAL);
	assert_int_equal(config_parse_enum("offf", names), -EINVAL);
	assert_int_equal(config_parse_enum("nat", names), -EINVAL);
	assert_int_equal(config_parse_enum("sigsegv ", names), -EINVAL);
	assert_int_equal(config_parse_enum(" off", names), -EINVAL);
	assert_int_equal(config_parse_enum("1", names), -EINVAL);
	assert_int_equal(config_parse_enum("off", empty), -EINVAL);
}

/* Case-insensitive means on both sides, as strcasecmp. */
static void test_parse_enum_mixed_case_names(void **state)
{
	static const char *const names[] = { "Foo", "BAR", NULL };

	assert_int_equal(config_parse_enum("Foo", names), 0);
	assert_int_equal(config_parse_enum("foo", names), 0);
	assert_int_equal(config_parse_enum("FOO", names), 0);
	assert_int_equal(config_parse_enum("bar", names), 1);
	assert_int_equal(config_parse_enum("BAR", names), 1);
}

/* ------------------------------------------------------------------ */
/* The table, config_set and config_defaults                           */
/* ------------------------------------------------------------------ */

static void test_table(void **state)
{
	static const char *const known[] = { "BATCH", "MAX_BATCH", "MIN_SIZE",
					     "ENGINE", "LOG", "STATS" };

	for (size_t i = 0; i < ARRAY_SIZE(known); i++)
		assert_non_null(find_opt(known[i]));
	assert_true(lof_noptions >= ARRAY_SIZE(known));
	for (size_t i = 0; i < lof_noptions; i++) {
		const struct lof_option *o = &lof_options[i];

		assert_non_null(o->name);
		assert_non_null(o->longopt);
		assert_non_null(o->def);
		assert_non_null(o->accepted);
		assert_non_null(o->help);
		assert_true(o->name[0] != '\0');
		for (const char *p = o->name; *p; p++)
			assert_true((*p >= 'A' && *p <= 'Z') || *p == '_');
		assert_true(o->offset < sizeof(struct lof_config));
		if (o->type == LOF_OPT_ENUM)
			assert_non_null(o->names);
		if (o->type == LOF_OPT_COUNT || o->type == LOF_OPT_SIZE)
			assert_true(o->min <= o->max);
		for (size_t j = 0; j < i; j++) {
			assert_string_not_equal(o->name, lof_options[j].name);
			assert_string_not_equal(o->longopt,
						lof_options[j].longopt);
		}
	}
}

/*
 * LOCKONFAULT_ENGINE: its names in the order of enum lof_engine (the
 * parser returns the index), auto first and the default.
 */
static void test_engine_names(void **state)
{
	static const char *const want[] = { "auto", "sigsegv", "native", "off" };
	static const int code[] = { LOF_ENGINE_AUTO, LOF_ENGINE_SIGSEGV,
				    LOF_ENGINE_NATIVE, LOF_ENGINE_OFF };
	const struct lof_option *o = find_opt("ENGINE");
	size_t i;

	assert_non_null(o);
	assert_int_equal(o->type, LOF_OPT_ENUM);
	for (i = 0; o->names[i]; i++) {
		assert_true(i < ARRAY_SIZE(want));
		assert_string_equal(o->names[i], want[i]);
		assert_int_equal(config_parse_enum(want[i], o->names), code[i]);
	}
	assert_uint_equal(i, ARRAY_SIZE(want));
	assert_string_equal(o->def, "auto");
	assert_string_equal(o->accepted, "auto, sigsegv, native or off");
}

/* config_set(cfg, NAME, value) must fail with err, cfg unchanged. */
static void expect_set_fails(const char *name, const char *value, int err)
{
	struct lof_config cfg, before;
	int r;

	config_defaults(&cfg);
	before = cfg;
	r = config_set(&cfg, find_opt(name), value);
	if (r != err)
		fail_msg("config_set(%s=\"%s\") = %d, expected %d", name, value,
			 r, err);
	if (memcmp(&cfg, &before, sizeof(cfg)) != 0)
		fail_msg("config_set(%s=\"%s\") failed but changed cfg", name,
			 value);
}

static void test_set_counts(void **state)
{
	struct lof_config cfg;

	config_defaults(&cfg);
	assert_int_equal(config_set(&cfg, find_opt("BATCH"), "1"), 0);
	assert_uint_equal(cfg.batch, 1);
	assert_int_equal(config_set(&cfg, find_opt("BATCH"), "1048576"), 0);
	assert_uint_equal(cfg.batch, 1048576);
	assert_int_equal(config_set(&cfg, find_opt("BATCH"), "64"), 0);
	assert_uint_equal(cfg.batch, 64);
	assert_int_equal(config_set(&cfg, find_opt("MAX_BATCH"), "2048"), 0);
	assert_uint_equal(cfg.max_batch, 2048);
	/* only its own field moved */
	assert_uint_equal(cfg.batch, 64);
	assert_uint_equal(cfg.min_size, LOF_MIN_SIZE_DEFAULT);

	expect_set_fails("BATCH", "0", -ERANGE);
	expect_set_fails("BATCH", "1048577", -ERANGE);
	expect_set_fails("BATCH", "99999999999999999999", -ERANGE);
	expect_set_fails("BATCH", "64K", -EINVAL);
	expect_set_fails("BATCH", "", -EINVAL);
	expect_set_fails("BATCH", "-16", -EINVAL);
	expect_set_fails("MAX_BATCH", "0", -ERANGE);
	expect_set_fails("MAX_BATCH", "1048577", -ERANGE);
}

static void test_set_sizes(void **state)
{
	struct lof_config cfg;

	config_defaults(&cfg);
	assert_int_equal(config_set(&cfg, find_opt("MIN_SIZE"), "64K"), 0);
	assert_uint_equal(cfg.min_size, 65536);
	assert_int_equal(config_set(&cfg, find_opt("MIN_SIZE"), "0"), 0);
	assert_uint_equal(cfg.min_size, 0);
	assert_int_equal(config_set(&cfg, find_opt("MIN_SIZE"), "1024G"), 0);
	assert_uint_equal(cfg.min_size, (size_t)1 << 40);

	expect_set_fails("MIN_SIZE", "1025G", -ERANGE);
	expect_set_fails("MIN_SIZE", "99999999999G", -ERANGE);
	expect_set_fails("MIN_SIZE", "1T", -EINVAL);
	expect_set_fails("MIN_SIZE", "1.5M", -EINVAL);
	expect_set_fails("MIN_SIZE", "", -EINVAL);
}

static void test_set_enums(void **state)
{
	struct lof_config cfg;

	config_defaults(&cfg);
	assert_int_equal(config_set(&cfg, find_opt("ENGINE"), "sigsegv"), 0);
	assert_int_equal(cfg.engine, LOF_ENGINE_SIGSEGV);
	assert_int_equal(config_set(&cfg, find_opt("ENGINE"), "Auto"), 0);
	assert_int_equal(cfg.engine, LOF_ENGINE_AUTO);
	assert_int_equal(config_set(&cfg, find_opt("ENGINE"), "native"), 0);
	assert_int_equal(cfg.engine, LOF_ENGINE_NATIVE);
	assert_int_equal(config_set(&cfg, find_opt("ENGINE"), "OFF"), 0);
	assert_int_equal(cfg.engine, LOF_ENGINE_OFF);
	assert_int_equal(config_set(&cfg, find_opt("ENGINE"), "SigSegv"), 0);
	assert_int_equal(cfg.engine, LOF_ENGINE_SIGSEGV);
	assert_int_equal(config_set(&cfg, find_opt("LOG"), "debug"), 0);
	assert_int_equal(cfg.log_level, LOF_LOG_DEBUG);
	assert_int_equal(config_set(&cfg, find_opt("LOG"), "ERROR"), 0);
	assert_int_equal(cfg.log_level, LOF_LOG_ERROR);
	assert_int_equal(config_set(&cfg, find_opt("LOG"), "Info"), 0);
	assert_int_equal(cfg.log_level, LOF_LOG_INFO);

	expect_set_fails("ENGINE", "bogus", -EINVAL);
	expect_set_fails("ENGINE", "", -EINVAL);
	expect_set_fails("ENGINE", "1", -EINVAL);
	expect_set_fails("LOG", "verbose", -EINVAL);
}

static void test_set_string(void **state)
{
	struct lof_config cfg;
	char s[LOF_STATS_MAX + 1];

	config_defaults(&cfg);
	assert_int_equal(config_set(&cfg, find_opt("STATS"), "stderr"), 0);
	assert_string_equal(cfg.stats, "stderr");
	assert_int_equal(config_set(&cfg, find_opt("STATS"),
				    "/tmp/lof-%p.txt"), 0);
	assert_string_equal(cfg.stats, "/tmp/lof-%p.txt");
	assert_int_equal(config_set(&cfg, find_opt("STATS"), ""), 0);
	assert_string_equal(cfg.stats, "");

	/* LOF_STATS_MAX - 1 bytes fit, one more does not */
	memset(s, 'x', sizeof(s));
	s[LOF_STATS_MAX - 1] = '\0';
	assert_int_equal(config_set(&cfg, find_opt("STATS"), s), 0);
	assert_string_equal(cfg.stats, s);
	s[LOF_STATS_MAX - 1] = 'x';
	s[LOF_STATS_MAX] = '\0';
	expect_set_fails("STATS", s, -ERANGE);
}

static void test_defaults(void **state)
{
	struct lof_config cfg, again;

	memset(&cfg, 0x5a, sizeof(cfg));
	config_defaults(&cfg);
	expect_defaults(&cfg);

	/* each option's def is what config_defaults put there */
	for (size_t i = 0; i < lof_noptions; i++) {
		const struct lof_option *o = &lof_options[i];
		struct lof_config one;

		memcpy(&one, &cfg, sizeof(one));
		if (config_set(&one, o, o->def) != 0)
			fail_msg("option %s: default \"%s\" does not parse",
				 o->name, o->def);
		if (memcmp(&one, &cfg, sizeof(one)) != 0)
			fail_msg("option %s: config_defaults differs from its def \"%s\"",
				 o->name, o->def);
	}

	/* whatever was there before */
	memset(&again, 0xa5, sizeof(again));
	config_defaults(&again);
	assert_uint_equal(again.batch, cfg.batch);
	assert_uint_equal(again.max_batch, cfg.max_batch);
	assert_uint_equal(again.min_size, cfg.min_size);
	assert_int_equal(again.engine, cfg.engine);
	assert_int_equal(again.log_level, cfg.log_level);
	assert_string_equal(again.stats, cfg.stats);
}

/* ------------------------------------------------------------------ */
/* config_load                                                         */
/* ------------------------------------------------------------------ */

static void test_load_empty(void **state)
{
	char *envp[] = { NULL };
	struct capture c;

	lof_config.batch = 99;
	load(envp, &c);
	expect_defaults(&lof_config);
	assert_int_equal(lof_log_level, LOF_LOG_WARN);
	if (c.len)
		fail_msg("printed \"%s\"", c.buf);
}

static void test_load_valid(void **state)
{
	char *envp[] = {
		"HOME=/root",
		"LOCKONFAULT_BATCH=32",
		"LOCKONFAULT_MAX_BATCH=1024",
		"LOCKONFAULT_MIN_SIZE=2M",
		"LOCKONFAULT_ENGINE=native",
		"LOCKONFAULT_LOG=error",
		"LOCKONFAULT_STATS=stderr",
		NULL,
	};
	struct capture c;

	load(envp, &c);
	assert_uint_equal(lof_config.batch, 32);
	assert_uint_equal(lof_config.max_batch, 1024);
	assert_uint_equal(lof_config.min_size, 2UL << 20);
	assert_int_equal(lof_config.engine, LOF_ENGINE_NATIVE);
	assert_int_equal(lof_config.log_level, LOF_LOG_ERROR);
	assert_int_equal(lof_log_level, LOF_LOG_ERROR);
	assert_string_equal(lof_config.stats, "stderr");
	if (c.len)
		fail_msg("printed \"%s\"", c.buf);
}

static void test_load_invalid(void **state)
{
	char *envp[] = { "LOCKONFAULT_BATCH=abc", NULL };
	struct capture c;

	load(envp, &c);
	assert_uint_equal(lof_config.batch, LOF_BATCH_DEFAULT);
	assert_uint_equal(lof_config.max_batch, LOF_MAX_BATCH_DEFAULT);
	if (capture_lines(&c) != 1 ||
	    capture_count(&c, "LOCKONFAULT_BATCH") != 1)
		fail_msg("expected one line naming LOCKONFAULT_BATCH, got \"%s\"",
			 c.buf);
	assert_non_null(strstr(c.buf, "abc"));
	assert_true(strncmp(c.buf, "lockonfault: ", 13) == 0);
	assert_true(c.buf[c.len - 1] == '\n');
}

/* The default, not whatever an earlier load set, replaces a bad value. */
static void test_load_invalid_after_valid(void **state)
{
	char *good[] = { "LOCKONFAULT_BATCH=32", "LOCKONFAULT_ENGINE=off",
			 NULL };
	char *bad[] = { "LOCKONFAULT_BATCH=0", "LOCKONFAULT_ENGINE=of",
			NULL };
	struct capture c;

	load(good, &c);
	assert_uint_equal(lof_config.batch, 32);
	assert_int_equal(lof_config.engine, LOF_ENGINE_OFF);
	assert_int_equal((int)c.len, 0);
	load(bad, &c);
	assert_uint_equal(lof_config.batch, LOF_BATCH_DEFAULT);
	assert_int_equal(lof_config.engine, LOF_ENGINE_AUTO);
	assert_uint_equal(capture_lines(&c), 2);
}

static void test_load_some_invalid(void **state)
{
	char *envp[] = {
		"LOCKONFAULT_BATCH=",
		"LOCKONFAULT_MIN_SIZE=64K",
		"LOCKONFAULT_ENGINE=warp",
		"LOCKONFAULT_MAX_BATCH=1048577",
		"LOCKONFAULT_LOG=error",
		NULL,
	};
	struct capture c;

	load(envp, &c);
	assert_uint_equal(lof_config.batch, LOF_BATCH_DEFAULT);
	assert_uint_equal(lof_config.max_batch, LOF_MAX_BATCH_DEFAULT);
	assert_uint_equal(lof_config.min_size, 65536);
	assert_int_equal(lof_config.engine, LOF_ENGINE_AUTO);
	assert_int_equal(lof_config.log_level, LOF_LOG_ERROR);
	/* one line per bad value, even with LOG=error */
	if (capture_lines(&c) != 3 ||
	    capture_count(&c, "LOCKONFAULT_BATCH") != 1 ||
	    capture_count(&c, "LOCKONFAULT_ENGINE") != 1 ||
	    capture_count(&c, "LOCKONFAULT_MAX_BATCH") != 1 ||
	    capture_count(&c, "LOCKONFAULT_MIN_SIZE") != 0 ||
	    capture_count(&c, "LOCKONFAULT_LOG") != 0)
		fail_msg("unexpected warnings: \"%s\"", c.buf);
	assert_int_equal(capture_count(&c, "warp"), 1);
}

static void test_load_bad_log(void **state)
{
	char *envp[] = { "LOCKONFAULT_LOG=loud", NULL };
	struct capture c;

	load(envp, &c);
	assert_int_equal(lof_config.log_level, LOF_LOG_WARN);
	assert_int_equal(lof_log_level, LOF_LOG_WARN);
	if (capture_lines(&c) != 1 ||
	    capture_count(&c, "LOCKONFAULT_LOG") != 1)
		fail_msg("expected one line naming LOCKONFAULT_LOG, got \"%s\"",
			 c.buf);
}

static void test_load_unrelated(void **state)
{
	char *envp[] = {
		"PATH=/usr/bin:/bin",
		"BATCH=99",
		"lockonfault_BATCH=99",
		"Lockonfault_BATCH=99",
		"XLOCKONFAULT_BATCH=99",
		"_LOCKONFAULT_BATCH=99",
		"LOCKONFAULT_BATCH",
		"=LOCKONFAULT_BATCH=99",
		"",
		NULL,
	};
	struct capture c;

	load(envp, &c);
	expect_defaults(&lof_config);
	if (c.len)
		fail_msg("printed \"%s\"", c.buf);
}

/* A longer or shorter name is another variable. */
static void test_load_name_prefix(void **state)
{
	char *envp[] = {
		"LOCKONFAULT_BATCHX=99",
		"LOCKONFAULT_BATC=99",
		"LOCKONFAULT_BATCH_=99",
		"LOCKONFAULT_MIN_SIZEX=1",
		"LOCKONFAULT_ENGINE2=off",
		NULL,
	};
	struct capture c;

	load(envp, &c);
	expect_defaults(&lof_config);
	/* an unknown name may be warned about, but not as BATCH's value */
	assert_int_equal(capture_count(&c, "LOCKONFAULT_BATCH="), 0);
}

/* The value starts after the first '='. */
static void test_load_value(void **state)
{
	char *envp[] = { "LOCKONFAULT_STATS=/tmp/a=b", NULL };
	struct capture c;

	load(envp, &c);
	assert_string_equal(lof_config.stats, "/tmp/a=b");
	assert_int_equal((int)c.len, 0);
}

#define LOAD_TEST(f) \
	cmocka_unit_test_setup_teardown(f, save_globals, restore_globals)

/* A secure (setuid) process ignores every variable, STATS above all. */
static void test_load_secure(void **state)
{
	char *env[] = { "LOCKONFAULT_BATCH=64", "LOCKONFAULT_STATS=/etc/x",
			"LOCKONFAULT_LOG=debug", "LOCKONFAULT_BACKTRACE=1",
			NULL };
	struct lof_config def;

	(void)state;
	config_defaults(&def);
	config_load_env(env, 1);
	assert_int_equal(lof_config.batch, def.batch);
	assert_string_equal(lof_config.stats, "");
	assert_int_equal(lof_config.log_level, def.log_level);
	assert_int_equal(lof_config.backtrace, 0);
	/* The same environment, not secure, is taken. */
	config_load_env(env, 0);
	assert_int_equal(lof_config.batch, 64);
	assert_string_equal(lof_config.stats, "/etc/x");
	assert_int_equal(lof_config.backtrace, 1);
}

/* LOCKONFAULT_ONLY / LOCKONFAULT_SKIP lists. */
static void test_list_has(void **state)
{
	(void)state;
	assert_true(config_list_has("demo", "demo"));
	assert_true(config_list_has("a,demo,b", "demo"));
	assert_true(config_list_has(",,demo,", "demo"));
	assert_false(config_list_has("demo2,xdemo,dem", "demo"));
	assert_false(config_list_has("Demo", "demo"));
	assert_false(config_list_has("", "demo"));
	assert_false(config_list_has("a,,b", ""));
}

static void test_selects(void **state)
{
	struct lof_config cfg;

	(void)state;
	config_defaults(&cfg);
	assert_true(config_selects(&cfg, "python3", "python3.11"));
	strcpy(cfg.only, "python3,java");
	assert_true(config_selects(&cfg, "python3", "python3.11"));
	assert_true(config_selects(&cfg, "x", "java"));
	assert_false(config_selects(&cfg, "bash", "bash"));
	strcpy(cfg.skip, "python3.11");
	assert_false(config_selects(&cfg, "python3", "python3.11"));
	cfg.only[0] = '\0';
	assert_true(config_selects(&cfg, "bash", "bash"));
	assert_false(config_selects(&cfg, "python3.11", "python3.11"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_parse_size_invalid),
		cmocka_unit_test(test_parse_size_overflow),
		cmocka_unit_test(test_parse_count),
		cmocka_unit_test(test_parse_enum),
		cmocka_unit_test(test_parse_enum_mixed_case_names),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_engine_names),
		cmocka_unit_test(test_set_counts),
		cmocka_unit_test(test_set_sizes),
		cmocka_unit_test(test_set_enums),
		cmocka_unit_test(test_set_string),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_list_has),
		cmocka_unit_test(test_selects),
		cmocka_unit_test_setup_teardown(test_load_secure, save_globals,
						restore_globals),
		LOAD_TEST(test_load_empty),
		LOAD_TEST(test_load_valid),
		LOAD_TEST(test_load_invalid),
		LOAD_TEST(test_load_invalid_after_valid),
		LOAD_TEST(test_load_some_invalid),
		LOAD_TEST(test_load_bad_log),
		LOAD_TEST(test_load_unrelated),
		LOAD_TEST(test_load_name_prefix),
		LOAD_TEST(test_load_value),
	};

	return cmocka_run_group_tests_name("options", tests, NULL, NULL);
}
