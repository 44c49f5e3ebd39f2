/*
 * report.h - when the LOCKONFAULT_STATS report is written (report.c):
 * exit, _exit, exec; fatal signals are in fatal.h.
 */
#ifndef LOF_REPORT_H
#define LOF_REPORT_H

/* Resolve libc's _exit and _Exit. Context: init only. */
void report_init(void);

/*
 * Write the whole report, counters and call sites, with at= how the
 * process ends ("exit", "_exit"), unless this process wrote it already.
 * Context: not in a signal handler that interrupted the report itself.
 */
void report_final(const char *at);

/*
 * An exec is about to be made: write the report now (at=exec); if the
 * exec fails, report_exec_failed() takes it back and the process's real
 * end writes it. errno is kept. Context: as exec.
 */
void report_exec_begin(void);
void report_exec_failed(void);

#endif /* LOF_REPORT_H */
