/*
 * fuzz-model.c - the differential fuzzer's shadow of the arena's data.
 *
 * One entry per arena page, and one for the page below the arena (the
 * program reaches it as r0-0x1000): what is mapped there (kind, protection,
 * file page), whether the program touched it, and its data. Anonymous
 * pages hold a private copy once written (NULL reads as zeros); shared
 * file pages read the shadow of the file, which writes through any
 * shared mapping change; private file pages read the file until their
 * first write copies them. lof-fuzz applies an operation to the model
 * only after the kernel accepted it, with the kernel's answer (what was
 * really mapped, moved, read), so the model predicts the data and never
 * the return values: those the trace compares against the oracle.
 *
 * What the model does not follow (a shared anonymous page aliased by
 * mremap, a buffer filled with random bytes) is marked unknown and left
 * unchecked; the trace still prints a checksum of it.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "fuzz.h"

struct fz_page *fz_pages;
uint8_t *fz_file;

uint8_t fz_file_byte(unsigned long off)
{
	return (uint8_t)((off >> 12) * 31 + (off & 0xfff) * 7 + 1);
}

void fz_model_init(void)
{
	fz_pages = calloc(FZ_MODEL_PAGES, sizeof(*fz_pages));
	fz_file = malloc(FZ_FILE_PAGES * FZ_PAGE);
	if (!fz_pages || !fz_file)
		abort();
	for (unsigned long i = 0; i < FZ_FILE_PAGES * FZ_PAGE; i++)
		fz_file[i] = fz_file_byte(i);
}

struct fz_page *fz_pg(unsigned long addr)
{
	if (addr < FZ_MODEL_BASE || addr >= FZ_ARENA_BASE + FZ_ARENA_LEN)
		return NULL;
	return &fz_pages[(addr - FZ_MODEL_BASE) / FZ_PAGE];
}

static void pg_clear(struct fz_page *p)
{
	free(p->data);
	memset(p, 0, sizeof(*p));
}

/* Page range [a, a + len) rounded out to pages, clipped to the model. */
#define FOR_PAGES(a, len, p)						\
	for (unsigned long _x = (a) & ~(FZ_PAGE - 1);			\
	     _x < (a) + (len) && _x >= ((a) & ~(FZ_PAGE - 1)); _x += FZ_PAGE) \
		if (((p) = fz_pg(_x)))

void fz_model_map(unsigned long a, unsigned long len, int kind, int prot,
		  unsigned long fpg)
{
	struct fz_page *p;
	unsigned long i = 0;

	FOR_PAGES(a, len, p) {
		pg_clear(p);
		p->kind = (uint8_t)kind;
		p->prot = (uint8_t)prot;
		p->fpg = (uint32_t)(fpg + (_x - (a & ~(FZ_PAGE - 1))) / FZ_PAGE);
		if (kind == K_ANON_S) {
			p->fpg = (uint32_t)i;
			p->objpages = (uint32_t)((len + FZ_PAGE - 1) / FZ_PAGE);
		}
		i++;
	}
}

void fz_model_unmap(unsigned long a, unsigned long len)
{
	struct fz_page *p;

	FOR_PAGES(a, len, p)
		pg_clear(p);
}

void fz_model_protect(unsigned long a, unsigned long len, int prot)
{
	struct fz_page *p;

	FOR_PAGES(a, len, p)
		if (p->kind)
			p->prot = (uint8_t)prot;
}

void fz_model_unknown(unsigned long a, unsigned long len)
{
	struct fz_page *p;

	FOR_PAGES(a, len, p)
		p->unknown = 1;
}

void fz_model_touch(unsigned long a, unsigned long len)
{
	struct fz_page *p;

	FOR_PAGES(a, len, p)
		if (p->kind)
			p->touched = 1;
}

/*
 * mremap: the pages of [old, old + olen) now live at [nw, nw + nlen);
 * growth is new memory of the same kind; keep_old for a duplicate of a
 * shared mapping (old_len 0), whose pages alias and are left unchecked.
 */
void fz_model_remap(unsigned long old, unsigned long olen, unsigned long nw,
		    unsigned long nlen, int keep_old)
{
	unsigned long np = (nlen + FZ_PAGE - 1) / FZ_PAGE;
	unsigned long op = (olen + FZ_PAGE - 1) / FZ_PAGE;
	struct fz_page *tmp = calloc(np ? np : 1, sizeof(*tmp));
	struct fz_page *src = fz_pg(old), f0 = { 0 }, fl = { 0 };
	struct fz_page *first = src ? &f0 : NULL;

	if (!tmp)
		abort();
	/* Growth continues the first and last pages: copy them first, the
	 * loop below clears the old pages as it moves them. */
	if (src) {
		struct fz_page *l = op ? fz_pg(old + (op - 1) * FZ_PAGE) : NULL;

		f0 = *src;
		fl = l ? *l : f0;
	}
	for (unsigned long i = 0; i < np; i++) {
		struct fz_page *s = fz_pg(old + i * FZ_PAGE);

		if (keep_old) {
			if (s) {
				tmp[i] = *s;
				tmp[i].data = NULL;
				tmp[i].touched = 0;
				tmp[i].unknown = 1;
				tmp[i].fpg = s->fpg;
			}
			continue;
		}
		if (i < op && s) {
			tmp[i] = *s;
			memset(s, 0, sizeof(*s));
		} else if (first) {
			tmp[i].kind = first->kind;
			tmp[i].prot = fl.prot;
			tmp[i].fpg = first->fpg + (uint32_t)i;
			tmp[i].objpages = first->objpages;
			tmp[i].unknown = first->kind == K_ANON_S;
		}
	}
	if (!keep_old)
		for (unsigned long i = np; i < op; i++) {
			struct fz_page *s = fz_pg(old + i * FZ_PAGE);

			if (s)
				pg_clear(s);
		}
	for (unsigned long i = 0; i < np; i++) {
		struct fz_page *d = fz_pg(nw + i * FZ_PAGE);

		if (d) {
			pg_clear(d);
			*d = tmp[i];
		} else {
			free(tmp[i].data);
		}
	}
	free(tmp);
}

void fz_model_dontneed(unsigned long a, unsigned long len)
{
	struct fz_page *p;

	FOR_PAGES(a, len, p) {
		if (p->kind == K_ANON_P || p->kind == K_FILE_P) {
			free(p->data);
			p->data = NULL;
			p->cow = 0;
		}
	}
}

/* The bytes of page p, for reading; NULL: zeros; *bus: past the file. */
static const uint8_t *pg_bytes(struct fz_page *p, int *bus)
{
	*bus = 0;
	switch (p->kind) {
	case K_ANON_S:
		if (p->fpg >= p->objpages) {
			*bus = 1;
			return NULL;
		}
		return p->data;
	case K_ANON_P:
		return p->data;
	case K_FILE_P:
		if (p->cow)
			return p->data;
		/* fall through */
	case K_FILE_S:
		if (p->fpg >= FZ_FILE_PAGES) {
			*bus = 1;
			return NULL;
		}
		return fz_file + (unsigned long)p->fpg * FZ_PAGE;
	}
	return NULL;
}

/* The writable bytes of page p (copied on first write). */
static uint8_t *pg_wbytes(struct fz_page *p)
{
	switch (p->kind) {
	case K_FILE_S:
		if (p->fpg >= FZ_FILE_PAGES)
			return NULL;
		return fz_file + (unsigned long)p->fpg * FZ_PAGE;
	case K_FILE_P:
		if (!p->cow) {
			int bus;
			const uint8_t *s = pg_bytes(p, &bus);

			if (bus)
				return NULL;
			free(p->data);
			p->data = malloc(FZ_PAGE);
			if (!p->data)
				abort();
			memcpy(p->data, s, FZ_PAGE);
			p->cow = 1;
		}
		return p->data;
	case K_ANON_S:
		if (p->fpg >= p->objpages)
			return NULL;
		/* fall through */
	default:
		if (!p->data) {
			p->data = calloc(1, FZ_PAGE);
			if (!p->data)
				abort();
		}
		return p->data;
	}
}

/* n bytes stored at a (within one page): from src, or val if src NULL. */
void fz_model_store(unsigned long a, const uint8_t *src, int val,
		    unsigned long n)
{
	struct fz_page *p = fz_pg(a);
	uint8_t *d;

	if (!p || !p->kind)
		return;
	p->touched = 1;
	d = pg_wbytes(p);
	if (!d)
		return;
	if (src)
		memcpy(d + (a & (FZ_PAGE - 1)), src, n);
	else
		memset(d + (a & (FZ_PAGE - 1)), val, n);
}

/*
 * The n bytes expected at a (within one page) into dst. Returns 1 if
 * known, 0 if the model does not know them, -1 if a read must fault.
 */
int fz_model_expect(unsigned long a, uint8_t *dst, unsigned long n)
{
	struct fz_page *p = fz_pg(a);
	const uint8_t *s;
	int bus;

	if (!p)
		return 0;
	if (!p->kind || !(p->prot & PROT_READ))
		return -1;
	s = pg_bytes(p, &bus);
	if (bus)
		return -1;
	if (p->unknown)
		return 0;
	if (s)
		memcpy(dst, s + (a & (FZ_PAGE - 1)), n);
	else
		memset(dst, 0, n);
	return 1;
}
