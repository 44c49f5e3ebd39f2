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
 *
 * A stack glibc maps is recorded with the thread's alternate stack, as
 * the thread starts, so that no lock call makes it pending (stacks.c).
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
	size_t stack_size;	/* of a stack glibc maps, else 0 */
};

/*
 * The size of the stack glibc will map for the thread, or 0 if the
 * program gives one (its mapping is the program's: a pool it may lock).
 */
static size_t glibc_stack_size(const pthread_attr_t *attr)
{
	pthread_attr_t d;
	size_t size = 0;
	void *stk;

	if (attr) {
		if (pthread_attr_getstack(attr, &stk, &size) == 0 && stk)
			return 0;
		if (pthread_attr_getstacksize(attr, &size))
			return 0;
		return size;
	}
	if (pthread_getattr_default_np(&d))
		return 0;
	if (pthread_attr_getstacksize(&d, &size))
		size = 0;
	pthread_attr_destroy(&d);
	return size;
}

static void *trampoline(void *p)
{
	struct start s = *(struct start *)p;

	/*
	 * glibc puts the thread descriptor at the top of the stack it
	 * maps (x86: the thread pointer is the descriptor).
	 */
	if (s.stack_size) {
		uintptr_t top = page_up((uintptr_t)pthread_self());

		if (top > s.stack_size)
			altstack_thread_stack(p, top - s.stack_size, top);
	}
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
	s->stack_size = glibc_stack_size(attr);
	open_given_stack(attr);
	r = real_pthread_create(t, attr, trampoline, s);
	if (r)
		altstack_free(s);
	return r;
}
