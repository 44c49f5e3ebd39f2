/*
 * demo.c - the "main job" demo: a legacy program that mlock()s a big,
 * mostly unused mapping.
 *
 * Usage: demo [-s SIZE] [-t TOUCH] [-c RUN] [-q]
 *
 * The program knows nothing of lockonfault. It maps SIZE bytes (default
 * 8G) of private anonymous MAP_NORESERVE memory, locks all of it with a
 * plain mlock(), then uses only TOUCH bytes of it (default 256M): that
 * many pages, in runs of RUN bytes (default one page: single pages)
 * spread evenly over the mapping, each written with a value
 * that is then read back and verified. It reports how long mlock() and
 * the touching took, and how much of the mapping the kernel says is
 * locked and resident: the sum of Locked: and Rss: over every VMA of
 * /proc/self/smaps that intersects the mapping (lockonfault splits it
 * into several VMAs), and VmLck and VmRSS from /proc/self/status.
 *
 * Run natively, mlock() pre-faults all of SIZE: it is slow and locks
 * SIZE bytes. Run under lockonfault, mlock() returns at once and only
 * the pages touched (and the batches around them) end up locked.
 *
 * -q prints one machine-readable line instead of the human-readable
 * block (scripts/demo.sh parses it):
 *   mlock_ms=... touch_ms=... locked_kb=... rss_kb=... vmlck_kb=... ok=1
 *
 * Exit status: 0 on success; 1 on a usage error or when mmap(), mlock()
 * or reading /proc fails (the message names the errno); 2 when a value
 * written to the mapping does not read back.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_SIZE (8ULL << 30)
#define DEFAULT_TOUCH (256ULL << 20)

#define EXIT_FAIL 1		/* usage, mmap, mlock or /proc failed */
#define EXIT_MISMATCH 2		/* a written value did not read back */

#define MAX_MISMATCH_REPORTS 5

static const char *prog = "demo";

struct usage {
	unsigned long locked_kb;	/* Locked: summed over our VMAs */
	unsigned long rss_kb;		/* Rss: summed over our VMAs */
	unsigned int vmas;		/* VMAs intersecting the mapping */
	unsigned long vmlck_kb;		/* VmLck: of the whole process */
	unsigned long vmrss_kb;		/* VmRSS: of the whole process */
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s [-s SIZE] [-t TOUCH] [-c RUN] [-q]\n"
		"  -s SIZE   size of the mapping to mlock() (default 8G)\n"
		"  -t TOUCH  how much of it to use, as pages spread evenly\n"
		"            over the mapping (default 256M)\n"
		"  -c RUN    the pages come in runs of RUN bytes (default one\n"
		"            page), the runs spread evenly\n"
		"  -q        print one machine-readable line\n"
		"Sizes take K, M, G or T suffixes (powers of 1024).\n",
		prog);
}

/*
 * Parse "123", "64K", "256M", "8G", "1T" (case-insensitive, an optional
 * trailing "B" or "iB" allowed). Return: 0, or -1 on a malformed value or
 * one that does not fit in 64 bits.
 */
static int parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	if (!*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case 'k': case 'K':
		shift = 10;
		break;
	case 'm': case 'M':
		shift = 20;
		break;
	case 'g': case 'G':
		shift = 30;
		break;
	case 't': case 'T':
		shift = 40;
		break;
	}
	if (shift) {
		end++;
		if (*end == 'i' && end[1] == 'B')
			end += 2;
		else if (*end == 'b' || *end == 'B')
			end++;
	}
	if (*end)
		return -1;
	if (shift && v > (UINT64_MAX >> shift))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

/* Format n bytes as "8.0 GiB" into buf. */
static const char *human(uint64_t n, char *buf, size_t len)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n;
	unsigned int i = 0;

	while (v >= 1024.0 && i < sizeof(unit) / sizeof(unit[0]) - 1) {
		v /= 1024.0;
		i++;
	}
	if (i == 0)
		snprintf(buf, len, "%" PRIu64 " B", n);
	else
		snprintf(buf, len, "%.1f %s", v, unit[i]);
	return buf;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* The value stored in the i-th touched page: never zero, differs per page. */
static inline uint64_t pattern(uint64_t i)
{
	return (i + 1) * 0x9e3779b97f4a7c15ULL ^ 0x6c6f636b6f6e6661ULL;
}

/*
 * The page index of the i-th of n touched pages out of total, and the
 * offset of the word written in it: pages spread evenly over the mapping,
 * words at varying offsets so faults do not all land on page starts.
 */
static uint64_t run_pages = 1;	/* -c, in pages */

static inline uint64_t touch_page(uint64_t i, uint64_t n, uint64_t total)
{
	uint64_t runs = (n + run_pages - 1) / run_pages;
	uint64_t r = i / run_pages;

	/* r * total / runs without a 128-bit product (i386): r < runs. */
	return r * (total / runs) + r * (total % runs) / runs +
	       i % run_pages;
}

static inline size_t touch_off(uint64_t i, size_t page)
{
	return (size_t)((i * 64) % page);
}

/*
 * Sum Locked: and Rss: over every VMA of /proc/self/smaps intersecting
 * [start, end), and read VmLck: and VmRSS: from /proc/self/status.
 * Return: 0, or -1 with errno set when a file cannot be read.
 */
static int read_usage(uintptr_t start, uintptr_t end, struct usage *u)
{
	char line[512];
	int inside = 0;
	FILE *f;

	memset(u, 0, sizeof(*u));

	f = fopen("/proc/self/smaps", "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi, kb;
		char perms[8];
		int pos = 0;

		/* A VMA header: "lo-hi perms offset dev inode [path]". */
		if (sscanf(line, "%lx-%lx %7s %n", &lo, &hi, perms, &pos) == 3 &&
		    pos > 0) {
			inside = lo < end && hi > start;
			if (inside)
				u->vmas++;
			continue;
		}
		if (!inside)
			continue;
		if (sscanf(line, "Locked: %lu kB", &kb) == 1)
			u->locked_kb += kb;
		else if (sscanf(line, "Rss: %lu kB", &kb) == 1)
			u->rss_kb += kb;
	}
	if (ferror(f)) {
		fclose(f);
		errno = EIO;
		return -1;
	}
	fclose(f);

	f = fopen("/proc/self/status", "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long kb;

		if (sscanf(line, "VmLck: %lu kB", &kb) == 1)
			u->vmlck_kb = kb;
		else if (sscanf(line, "VmRSS: %lu kB", &kb) == 1)
			u->vmrss_kb = kb;
	}
	fclose(f);
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t size = DEFAULT_SIZE, touch = DEFAULT_TOUCH, run = 0;
	uint64_t total, n, i, stride, bad = 0;
	double t0, mlock_ms, touch_ms, verify_ms;
	char h1[32], h2[32], h3[32];
	size_t page;
	int quiet = 0, opt;
	struct usage u;
	char *p;

	if (argv[0] && argv[0][0]) {
		prog = strrchr(argv[0], '/');
		prog = prog ? prog + 1 : argv[0];
	}

	while ((opt = getopt(argc, argv, "s:t:c:qh")) != -1) {
		switch (opt) {
		case 's':
			if (parse_size(optarg, &size) || !size) {
				fprintf(stderr, "%s: bad size '%s' (expected "
					"a number with an optional K, M, G or "
					"T suffix)\n", prog, optarg);
				return EXIT_FAIL;
			}
			break;
		case 't':
			if (parse_size(optarg, &touch)) {
				fprintf(stderr, "%s: bad touch size '%s' "
					"(expected a number with an optional "
					"K, M, G or T suffix)\n", prog, optarg);
				return EXIT_FAIL;
			}
			break;
		case 'c':
			if (parse_size(optarg, &run) || !run) {
				fprintf(stderr, "%s: bad run size '%s' "
					"(expected a number with an optional "
					"K, M, G or T suffix)\n", prog, optarg);
				return EXIT_FAIL;
			}
			break;
		case 'q':
			quiet = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_FAIL;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", prog,
			argv[optind]);
		usage(stderr);
		return EXIT_FAIL;
	}

	page = (size_t)sysconf(_SC_PAGESIZE);
	if (size > SIZE_MAX - page) {
		fprintf(stderr, "%s: size too large\n", prog);
		return EXIT_FAIL;
	}
	size = (size + page - 1) / page * page;
	total = size / page;
	n = (touch + page - 1) / page;
	if (run)
		run_pages = (run + page - 1) / page;
	if (run_pages > n)
		run_pages = n ? n : 1;
	if (n > total) {
		fprintf(stderr, "%s: cannot touch %s of a %s mapping\n", prog,
			human(touch, h1, sizeof(h1)),
			human(size, h2, sizeof(h2)));
		return EXIT_FAIL;
	}

	p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		fprintf(stderr, "%s: mmap of %s failed: %s (errno %d)\n", prog,
			human(size, h1, sizeof(h1)), strerror(errno), errno);
		return EXIT_FAIL;
	}

	t0 = now_ms();
	if (mlock(p, size)) {
		int err = errno;

		fprintf(stderr, "%s: mlock of %s failed: %s (errno %d)\n", prog,
			human(size, h1, sizeof(h1)), strerror(err), err);
		return EXIT_FAIL;
	}
	mlock_ms = now_ms() - t0;

	t0 = now_ms();
	for (i = 0; i < n; i++) {
		volatile uint64_t *w = (volatile uint64_t *)
			(p + touch_page(i, n, total) * page + touch_off(i, page));

		*w = pattern(i);
	}
	touch_ms = now_ms() - t0;

	t0 = now_ms();
	for (i = 0; i < n; i++) {
		uint64_t pg = touch_page(i, n, total);
		volatile uint64_t *w = (volatile uint64_t *)
			(p + pg * page + touch_off(i, page));
		uint64_t got = *w;

		if (got == pattern(i))
			continue;
		if (bad++ < MAX_MISMATCH_REPORTS)
			fprintf(stderr, "%s: page %" PRIu64 " (+%zu): wrote "
				"%#" PRIx64 ", read %#" PRIx64 "\n", prog, pg,
				touch_off(i, page), pattern(i), got);
	}
	verify_ms = now_ms() - t0;
	if (bad) {
		fprintf(stderr, "%s: %" PRIu64 " of %" PRIu64 " pages did not "
			"read back what was written\n", prog, bad, n);
		return EXIT_MISMATCH;
	}

	if (read_usage((uintptr_t)p, (uintptr_t)p + size, &u)) {
		fprintf(stderr, "%s: cannot read /proc/self: %s (errno %d)\n",
			prog, strerror(errno), errno);
		return EXIT_FAIL;
	}

	if (quiet) {
		printf("mlock_ms=%.3f touch_ms=%.3f locked_kb=%lu rss_kb=%lu "
		       "vmlck_kb=%lu ok=1\n", mlock_ms, touch_ms, u.locked_kb,
		       u.rss_kb, u.vmlck_kb);
		return 0;
	}

	stride = n ? total / n : 0;	/* one touched page in every stride */
	printf("mapping: %s at %p (%" PRIu64 " pages of %zu bytes)\n",
	       human(size, h1, sizeof(h1)), (void *)p, total, page);
	printf("mlock:   %.3f ms\n", mlock_ms);
	if (n)
		printf("touch:   %.3f ms for %" PRIu64 " pages (%s), %s%" PRIu64
		       " in %" PRIu64 "\n", touch_ms, n,
		       human(n * page, h1, sizeof(h1)),
		       run_pages > 1 ? "runs of " : "", run_pages,
		       stride * run_pages);
	else
		printf("touch:   nothing (-t 0)\n");
	printf("verify:  %.3f ms, all %" PRIu64 " values read back\n",
	       verify_ms, n);
	printf("smaps:   Locked %lu kB (%s), Rss %lu kB (%s), over %u VMA%s\n",
	       u.locked_kb, human((uint64_t)u.locked_kb << 10, h1, sizeof(h1)),
	       u.rss_kb, human((uint64_t)u.rss_kb << 10, h2, sizeof(h2)),
	       u.vmas, u.vmas == 1 ? "" : "s");
	printf("status:  VmLck %lu kB (%s), VmRSS %lu kB (%s)\n",
	       u.vmlck_kb, human((uint64_t)u.vmlck_kb << 10, h1, sizeof(h1)),
	       u.vmrss_kb, human((uint64_t)u.vmrss_kb << 10, h3, sizeof(h3)));
	return 0;
}
