/*
 * fuzz.h - the differential fuzzer's shared types (issue 12).
 *
 * lof-fuzz generates a program-like sequence of memory calls from a
 * seed (fuzz-gen.c), runs it against the kernel while keeping a shadow
 * model of the data (fuzz-model.c), and prints what the program can
 * observe (fuzz-trace.c): return values, errno, faults, data, and at
 * checkpoints the lock state of the pages it touched. The same binary
 * is the oracle (-r: the kernel's own MLOCK_ONFAULT/MCL_ONFAULT calls,
 * no library) and the subject (the plain calls, under LD_PRELOAD).
 *
 * Addresses: every mapping lives in an arena at a fixed address, far
 * from where the kernel places anything, one 256 MiB region per
 * mapping record; traces print offsets into the arena, never absolute
 * addresses, so two runs compare line by line.
 */
#ifndef LOF_FUZZ_H
#define LOF_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#define FZ_PAGE		4096UL
#define FZ_NREC		8			/* mapping records */
#define FZ_REGION	(256UL << 20)		/* arena bytes per record */
#define FZ_ARENA_BASE	0x300000000000UL
#define FZ_ARENA_LEN	(FZ_NREC * FZ_REGION)
#define FZ_ARENA_PAGES	(FZ_ARENA_LEN / FZ_PAGE)
/* The model follows the arena and the page below it, which r0-0x1000
 * (gen_off's page before a record) reaches: a MAP_FIXED mapping or an
 * mremap there is the program's own memory like any other. */
#define FZ_MODEL_BASE	(FZ_ARENA_BASE - FZ_PAGE)
#define FZ_MODEL_PAGES	(FZ_ARENA_PAGES + 1)
#define FZ_FILE_PAGES	4096UL			/* the data file: 16 MiB */
#define FZ_MAX_OPS	4096
#define FZ_NOLIB	125	/* lof-fuzz's status: LOF_FUZZ_LIB, no library */

/* Kinds of mapping. */
enum fz_kind { K_NONE, K_ANON_P, K_ANON_S, K_FILE_S, K_FILE_P, K_NKIND };

/* Operations. */
enum fz_optype {
	O_MMAP, O_MMAP_FIXED, O_MUNMAP, O_MLOCK, O_MLOCK2, O_MUNLOCK,
	O_MLOCKALL, O_MUNLOCKALL, O_MPROTECT, O_MREMAP, O_MADVISE,
	O_WRITE, O_READ, O_SYSREAD, O_SYSWRITE, O_PIPEREAD, O_READV,
	O_MINCORE, O_FORK, O_THREAD, O_CHECK, O_NOPS
};

/* Switches in the operation mask that are not operations (lof-fuzz -x). */
enum { F_PLAINPOP = O_NOPS, F_POPULATE, F_NBITS };

/* mremap shapes. */
enum { RM_INPLACE, RM_MAYMOVE, RM_FIXED, RM_DUP };

struct fz_op {
	int type;
	int r, q;		/* record, second record */
	long off, off2;		/* byte offsets from the records' bases */
	unsigned long len, len2;
	int kind, prot, flags;	/* mmap: kind, prot, MAP_LOCKED etc. */
	int arg;		/* mlock2 flags, mlockall flags, advice, shape */
	unsigned long foff;	/* file offset, pages */
	int val;		/* byte written */
};

struct fz_prog {
	unsigned long seed;
	int nops;
	struct fz_op op[FZ_MAX_OPS];
	unsigned int opmask;	/* allowed operation types, bit per type */
};

/* fuzz-gen.c; fz_linux43: only calls Linux 4.3 knows (lof-fuzz -4) */
extern int fz_linux43;
/* The reference: tag pages the kernel lost the lock of (fuzz-trace.c). */
extern int fz_tag_lost;
void fz_generate(struct fz_prog *p, unsigned long seed, int nops,
		 unsigned int opmask);
int fz_describe(const struct fz_op *o, char *buf, size_t n);
const char *fz_opname(int type);
int fz_opnum(const char *name);

/* fuzz-model.c: the shadow of every arena page (and the one below). */
struct fz_page {
	uint8_t kind;		/* K_NONE: not mapped */
	uint8_t prot;
	uint8_t touched;	/* the program accessed it since it was mapped */
	uint8_t unknown;	/* contents not modelled: not checked */
	uint8_t cow;		/* file private: data holds the private copy */
	uint32_t fpg;		/* file page (file kinds), object page (K_ANON_S) */
	uint32_t objpages;	/* K_ANON_S: pages in its object; past: SIGBUS */
	uint8_t *data;		/* anon / cow copy; NULL: zero (anon) */
};

extern struct fz_page *fz_pages;
extern uint8_t *fz_file;	/* the data file's content */

void fz_model_init(void);
struct fz_page *fz_pg(unsigned long addr);	/* NULL outside the model */
void fz_model_map(unsigned long a, unsigned long len, int kind, int prot,
		  unsigned long fpg);
void fz_model_unmap(unsigned long a, unsigned long len);
void fz_model_protect(unsigned long a, unsigned long len, int prot);
void fz_model_remap(unsigned long old, unsigned long olen,
		    unsigned long nw, unsigned long nlen, int keep_old);
void fz_model_dontneed(unsigned long a, unsigned long len);
void fz_model_store(unsigned long a, const uint8_t *src, int val,
		    unsigned long n);
int fz_model_expect(unsigned long a, uint8_t *dst, unsigned long n);
void fz_model_unknown(unsigned long a, unsigned long len);
void fz_model_touch(unsigned long a, unsigned long len);
uint8_t fz_file_byte(unsigned long off);

/* fuzz-trace.c */
void fz_out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fz_lockstate(int idx);
const char *fz_errname(int e);

#endif
