/*
 * util.h - what the benchmark programs share (util.c): clocks, the
 * process's mapping count and Locked:, and dying with a message.
 */
#ifndef LOF_BENCH_UTIL_H
#define LOF_BENCH_UTIL_H

/* CLOCK_MONOTONIC, in milliseconds. */
double now_ms(void);

/* CPU time of the process (every thread, user and system), in ms. */
double cpu_ms(void);

/* Lines of /proc/self/maps, or -1. */
long count_maps(void);

/* Locked: of /proc/self/smaps_rollup in kB, or -1. */
long locked_kb(void);

/* Print "prog: what: strerror(errno)" on stderr and exit 1. */
void die(const char *prog, const char *what) __attribute__((noreturn));

#endif /* LOF_BENCH_UTIL_H */
