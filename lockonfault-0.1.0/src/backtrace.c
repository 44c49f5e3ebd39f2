/*
 * backtrace.c - LOCKONFAULT_BACKTRACE: what the crashing thread was
 * doing, printed just before the default action kills the process.
 *
 * libunwind's local unwinder (UNW_LOCAL_ONLY) walks through the signal
 * frame into the faulting code; it is async-signal-safe. The frames up
 * to the signal frame (ours) are left out. Each address
 * is named by the mapping it lies in, read from /proc/self/maps with
 * the allocation-free reader, and by a symbol where libunwind finds
 * one. Without libunwind at build time, one line says so.
 */
#include "config.h"
#include "backtrace.h"

#include <stdint.h>

#include "log.h"
#include "maps.h"

#ifdef HAVE_LIBUNWIND
#define UNW_LOCAL_ONLY
#include <libunwind.h>

struct where {
	uintptr_t ip;
	char text[200];
};

static int name_mapping(const struct maps_entry *e, void *arg)
{
	struct where *w = arg;

	lof_format(w->text, sizeof(w->text), "%s+0x%lx",
		   e->path[0] ? e->path : "[anonymous]",
		   (unsigned long)(w->ip - e->start + e->offset));
	return 1;
}

void backtrace_print(void)
{
	unw_context_t ctx;
	unw_cursor_t cur;
	int n = 0, skip = 0, depth = 0;

	log_error("backtrace of the crashing thread:");
	/* Our own frames end at the signal frame: start after it. */
	if (unw_getcontext(&ctx) || unw_init_local(&cur, &ctx))
		return;
	while (unw_step(&cur) > 0 && depth < 64) {
		depth++;
		if (unw_is_signal_frame(&cur) > 0) {
			skip = depth;
			break;
		}
	}
	if (unw_init_local(&cur, &ctx))
		return;
	for (int i = 0; i < skip; i++)
		unw_step(&cur);
	do {
		struct where w = { 0 };
		char sym[128];
		unw_word_t ip, off;

		if (unw_get_reg(&cur, UNW_REG_IP, &ip))
			break;
		w.ip = (uintptr_t)ip;
		lof_format(w.text, sizeof(w.text), "?");
		maps_walk(w.ip, w.ip + 1, name_mapping, &w);
		if (unw_get_proc_name(&cur, sym, sizeof(sym), &off) == 0)
			log_error("#%d %p %s+0x%lx (%s)", n, (void *)ip, sym,
				  (unsigned long)off, w.text);
		else
			log_error("#%d %p (%s)", n, (void *)ip, w.text);
		n++;
	} while (unw_step(&cur) > 0 && n < 64);
}
#else
void backtrace_print(void)
{
	log_error("no backtrace: built without libunwind");
}
#endif
