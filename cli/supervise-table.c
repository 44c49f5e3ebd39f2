/*
 * supervise-table.c - the supervisor's tasks, by TID: their rewrite in
 * flight (struct sv_tracee, supervise-call.h).
 *
 * Open addressing on the TID, linear probing, grown at half full. In
 * trace mode it holds every task of the command; in notify mode only the
 * few in a rewrite. The supervisor is single-threaded.
 *
 * This is an ordinary program, not a signal handler.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "supervise-call.h"

static struct sv_tracee *tab;
static size_t tab_size, tab_used;

static struct sv_tracee *slot(pid_t pid)
{
	size_t i = (size_t)pid * 2654435761u & (tab_size - 1);

	while (tab[i].pid && tab[i].pid != pid)
		i = (i + 1) & (tab_size - 1);
	return &tab[i];
}

static void grow(void)
{
	struct sv_tracee *old = tab;
	size_t n = tab_size;

	tab_size = n ? n * 2 : 64;
	tab = calloc(tab_size, sizeof(*tab));
	if (!tab) {
		fprintf(stderr, "lockonfault: supervisor: out of memory\n");
		_exit(1);	/* PTRACE_O_EXITKILL: the tracees go too */
	}
	tab_used = 0;
	for (size_t i = 0; i < n; i++) {
		if (old[i].pid > 0) {
			*slot(old[i].pid) = old[i];
			tab_used++;
		}
	}
	free(old);
}

struct sv_tracee *sv_tracee(pid_t pid)
{
	struct sv_tracee *t;

	if (2 * (tab_used + 1) > tab_size)
		grow();
	t = slot(pid);
	if (t->pid != pid) {
		memset(t, 0, sizeof(*t));
		t->pid = pid;
		tab_used++;
	}
	return t;
}

struct sv_tracee *sv_tracee_find(pid_t pid)
{
	struct sv_tracee *t;

	if (!tab_size)
		return NULL;
	t = slot(pid);
	return t->pid == pid ? t : NULL;
}

/* Forget pid, re-inserting the cluster after it (linear probing). */
void sv_tracee_forget(pid_t pid)
{
	struct sv_tracee *t = sv_tracee_find(pid);
	size_t i;

	if (!t)
		return;
	t->pid = 0;
	tab_used--;
	i = (size_t)(t - tab);
	for (i = (i + 1) & (tab_size - 1); tab[i].pid;
	     i = (i + 1) & (tab_size - 1)) {
		struct sv_tracee e = tab[i];

		tab[i].pid = 0;
		*slot(e.pid) = e;
	}
}

void sv_tracee_reset(struct sv_tracee *t)
{
	pid_t pid = t->pid;

	memset(t, 0, sizeof(*t));
	t->pid = pid;
}
