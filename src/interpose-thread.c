/*
 * interpose-thread.c - the exported pthread_create: every new thread
 * starts by setting up its alternate signal stack (altstack.c) before
 * running the program's start routine. The start routine and its
 * argument travel at the low end of that stack, so nothing is
 * allocated with malloc (see altstack.c).
 *
 * A stack the program gives (pthread_attr_setstack) may lie in memory
 * it locked, and so be pending. glibc writes the thread's descriptor
 * and TLS at its top, and the thread runs there before the trampoline
 * can install the alternate stack: a fault then could not be delivered
 * at all. The top START_OPEN bytes are opened before the thread starts.
 */
#include "config.h"

#include <dlfcn.h>
#include <pthread.h>

#include "altstack.h"
#include "engine.h"
#include "interpose.h"
#include "sigsegv.h"

typedef int (*create_fn)(pthread_t *, const pthread_attr_t *,
			 void *(*)(void *), void *);

/* libc's pthread_create, resolved at init (or on a call before). */
static create_fn real_pthread_create;

#define START_OPEN (64UL << 10)

/* Open the top of a stack the program gave, if it is pending. */
static void open_given_stack(const pthread_attr_t *attr)
{
	void *stk;
	size_t size, n;
	uintptr_t top;

	if (!attr || pthread_attr_getstack(attr, &stk, &size))
		return;
	top = (uintptr_t)stk + size;
	if (!stk || !size || top < size)
		return;		/* no stack given: glibc's own */
	n = size < START_OPEN ? size : START_OPEN;
	sig_keep_open(page_down(top - n), page_up(top));
	engine_resolve(top - n, n);
}

struct start {
	void *(*fn)(void *);
	void *arg;
};

static void *trampoline(void *p)
{
	struct start s = *(struct start *)p;

	altstack_use(p);
	if (__atomic_load_n(&sig_future_watch, __ATOMIC_RELAXED))
		sig_future_stack((uintptr_t)__builtin_frame_address(0));
	return s.fn(s.arg);
}

void interpose_thread_init(void)
{
	real_pthread_create = (create_fn)dlsym(RTLD_NEXT, "pthread_create");
}

LOF_EXPORT int pthread_create(pthread_t *t, const pthread_attr_t *attr,
			      void *(*fn)(void *), void *arg)
{
	struct start *s;
	int r;

	if (!real_pthread_create)
		interpose_thread_init();
	if (!lof_ready() || lof_mode != LOF_MODE_SIGSEGV)
		return real_pthread_create(t, attr, fn, arg);
	s = altstack_new();
	if (!s)
		return real_pthread_create(t, attr, fn, arg);
	s->fn = fn;
	s->arg = arg;
	open_given_stack(attr);
	r = real_pthread_create(t, attr, trampoline, s);
	if (r)
		altstack_free(s);
	return r;
}
