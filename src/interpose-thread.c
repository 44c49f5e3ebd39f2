/*
 * interpose-thread.c - the exported pthread_create: every new thread
 * starts by setting up its alternate signal stack (altstack.c) before
 * running the program's start routine. The start routine and its
 * argument travel at the low end of that stack, so nothing is
 * allocated with malloc (see altstack.c).
 */
#include "config.h"

#include <dlfcn.h>
#include <pthread.h>

#include "altstack.h"
#include "engine.h"
#include "interpose.h"

typedef int (*create_fn)(pthread_t *, const pthread_attr_t *,
			 void *(*)(void *), void *);

/* libc's pthread_create, resolved at init (or on a call before). */
static create_fn real_pthread_create;

struct start {
	void *(*fn)(void *);
	void *arg;
};

static void *trampoline(void *p)
{
	struct start s = *(struct start *)p;

	altstack_use(p);
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
	r = real_pthread_create(t, attr, trampoline, s);
	if (r)
		altstack_free(s);
	return r;
}
