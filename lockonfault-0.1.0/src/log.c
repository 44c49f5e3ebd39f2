/*
 * log.c - the allocation-free formatter and the stderr writer.
 *
 * Owns lof_log_level. A line longer than the buffer (512 bytes) is
 * truncated, never split. errno is preserved by sys_write().
 */
#include "config.h"
#include "log.h"

#include <stdint.h>

#include "sys.h"

int lof_log_level = LOF_LOG_WARN;

struct out {
	char *buf;
	size_t size;
	size_t len;
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void put_str(struct out *o, const char *s)
{
	if (!s)
		s = "(null)";
	while (*s)
		put(o, *s++);
}

static void put_num(struct out *o, unsigned long long v, unsigned int base,
		    int negative)
{
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	if (negative)
		put(o, '-');
	while (n)
		put(o, tmp[--n]);
}

size_t lof_vformat(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = { buf, size, 0 };

	for (; *fmt; fmt++) {
		int lng = 0;
		long long sv;

		if (*fmt != '%') {
			put(&o, *fmt);
			continue;
		}
		fmt++;
		while (*fmt == 'l' || *fmt == 'z') {
			lng++;
			fmt++;
		}
		switch (*fmt) {
		case 's':
			put_str(&o, va_arg(ap, const char *));
			break;
		case 'c':
			put(&o, (char)va_arg(ap, int));
			break;
		case 'd':
		case 'i':
			sv = lng ? va_arg(ap, long) : va_arg(ap, int);
			put_num(&o, sv < 0 ? -(unsigned long long)sv
					     : (unsigned long long)sv, 10,
				sv < 0);
			break;
		case 'u':
			put_num(&o, lng ? va_arg(ap, unsigned long)
					: va_arg(ap, unsigned int),
				10, 0);
			break;
		case 'x':
			put_num(&o, lng ? va_arg(ap, unsigned long)
					: va_arg(ap, unsigned int),
				16, 0);
			break;
		case 'p':
			put_str(&o, "0x");
			put_num(&o, (uintptr_t)va_arg(ap, void *), 16, 0);
			break;
		case '%':
			put(&o, '%');
			break;
		case '\0':
			fmt--;
			break;
		default:
			put(&o, '%');
			put(&o, *fmt);
		}
	}
	if (size)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return o.len < size ? o.len : (size ? size - 1 : 0);
}

size_t lof_format(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	n = lof_vformat(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

void log_msg(int level, const char *fmt, ...)
{
	static const char prefix[] = "lockonfault: ";
	char line[512];
	size_t n = sizeof(prefix) - 1;
	va_list ap;

	if (level > lof_log_level)
		return;
	__builtin_memcpy(line, prefix, n);
	va_start(ap, fmt);
	n += lof_vformat(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	line[n++] = '\n';
	sys_write(2, line, n);
}
