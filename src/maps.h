/*
 * maps.h - walk /proc/self/maps without allocating.
 *
 * The kernel's list of mappings is the only truth about memory the
 * program got from elsewhere (glibc's internal mmap calls never pass
 * through our interposer). The reader uses a fixed buffer and raw
 * system calls, so it works before libc is ready and under any malloc.
 */
#ifndef LOF_MAPS_H
#define LOF_MAPS_H

#include <stdint.h>

#include "internal.h"

struct maps_entry {
	uintptr_t start;
	uintptr_t end;
	int prot;		/* PROT_* from the rwx columns */
	int shared;		/* 's' in the fourth column */
	uintptr_t vma_start;	/* the whole mapping, before clipping */
	uintptr_t vma_end;
	unsigned long offset;	/* file offset of start */
	unsigned long inode;
	const char *path;	/* "" for anonymous; valid during the callback */
};

/*
 * Call fn for every mapping intersecting [start, end), in address
 * order, with the entry clipped to the range; each address is handed
 * out at most once, even when mappings change during the walk. fn
 * returns 0 to go on, anything else to stop; that value is returned.
 * Context: not in a signal handler (reads a file), allocation-free.
 * Return: fn's non-zero value, 0 when done, or -errno if the file
 * cannot be read.
 */
int maps_walk(uintptr_t start, uintptr_t end,
	      int (*fn)(const struct maps_entry *e, void *arg), void *arg);

/*
 * Parse one line of /proc/PID/maps (without the newline) into *e; the
 * path points into line.
 * Return: 0, or -EINVAL for a line that is not a mapping.
 */
int maps_parse_line(char *line, struct maps_entry *e);

/*
 * Call fn for every line of the file at path (a /proc file: smaps,
 * status), without its newline; a line longer than the buffer is cut.
 * fn returns 0 to go on, anything else to stop; that value is returned.
 * Context: not in a signal handler (reads a file), allocation-free.
 * Return: fn's non-zero value, 0 at the end, or -errno.
 */
int maps_read_lines(const char *path, int (*fn)(char *line, void *arg),
		    void *arg);

#endif /* LOF_MAPS_H */
