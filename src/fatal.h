/*
 * fatal.h - the LOCKONFAULT_STATS report when a signal's default action
 * ends the process (fatal.c).
 */
#ifndef LOF_FATAL_H
#define LOF_FATAL_H

#include <signal.h>

#include "internal.h"

/*
 * Put the catcher in place of SIG_DFL for the signals that end the
 * process, when a report was asked for. Context: init only, after
 * engine_init() and stats_init().
 */
void fatal_init(void);

/*
 * The program's sigaction for sig, as far as the catcher is concerned.
 * Return: 0 (not concerned: the caller goes on), 1 (done here: *old
 * holds what the program last gave), 2 (the program installs a handler
 * or SIG_IGN over the catcher: the caller installs it and reports *was
 * as the old action), or -errno.
 * Context: as sigaction(2).
 */
int fatal_sigaction(int sig, const struct sigaction *act,
		    struct sigaction *old, struct sigaction *was);

#endif /* LOF_FATAL_H */
