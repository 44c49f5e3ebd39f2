/*
 * log.h - allocation-free messages to stderr.
 *
 * Every line starts with "lockonfault: " and is written with one
 * write(2), so lines from several threads do not interleave. The
 * formatter understands %s %c %d %i %u %x %p and the l/z length
 * modifiers, which is all the library needs; it uses no stdio and no
 * malloc, so the signal handler may log.
 */
#ifndef LOF_LOG_H
#define LOF_LOG_H

#include <stdarg.h>
#include <stddef.h>

#include "internal.h"

enum lof_log_level {
	LOF_LOG_ERROR,
	LOF_LOG_WARN,
	LOF_LOG_INFO,
	LOF_LOG_DEBUG,
};

/* Written by config_load() before any thread exists; read-only after. */
extern int lof_log_level;

/*
 * Format into buf (always NUL-terminated when size > 0).
 * Context: any, including the SIGSEGV handler (async-signal-safe).
 * Return: the length written, without the NUL.
 */
LOF_AS_SAFE size_t lof_vformat(char *buf, size_t size, const char *fmt,
			       va_list ap);
LOF_AS_SAFE size_t lof_format(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Write "lockonfault: <message>\n" to fd 2 if level is enabled.
 * Context: any, including the SIGSEGV handler (async-signal-safe).
 */
LOF_AS_SAFE void log_msg(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOF_LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOF_LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOF_LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOF_LOG_DEBUG, __VA_ARGS__)

/*
 * Warn at most once per call site: the flag is a static int at the site.
 * Context: any, including the SIGSEGV handler (async-signal-safe).
 */
#define log_warn_once(...)                                                 \
	do {                                                               \
		static int once_;                                          \
		if (!__atomic_exchange_n(&once_, 1, __ATOMIC_RELAXED))     \
			log_warn(__VA_ARGS__);                             \
	} while (0)

#endif /* LOF_LOG_H */
