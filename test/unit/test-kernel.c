/*
 * test-kernel.c - engine_choose(): which engine LOCKONFAULT_ENGINE and
 * LOCKONFAULT_CHARGE give on kernels with and without MLOCK_ONFAULT,
 * and why; and that the probe of this kernel has no side effects.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "lof-test.h"
#include "kernel.h"
#include "options.h"

static const struct lof_kernel k44 = { .mlock2_errno = 0,
				       .onfault_errno = 0,
				       .has_onfault = 1 };
static const struct lof_kernel k43 = { .mlock2_errno = ENOSYS,
				       .onfault_errno = ENOSYS,
				       .has_onfault = 0 };
static const struct lof_kernel kbox = { .mlock2_errno = 0,
					.onfault_errno = EINVAL,
					.has_onfault = 0 };

static int choose(int engine, int charge, const struct lof_kernel *k,
		  const char **why)
{
	*why = NULL;
	return engine_choose(engine, charge, k, why);
}

static void test_auto(void **state)
{
	const char *why;

	(void)state;
	/* 4.4+: the kernel's flags. */
	assert_int_equal(choose(LOF_ENGINE_AUTO, LOF_CHARGE_RANGE, &k44, &why),
			 LOF_MODE_NATIVE);
	assert_non_null(strstr(why, "auto"));
	/* Before 4.4, or a sandbox refusing the flag: the SIGSEGV engine. */
	assert_int_equal(choose(LOF_ENGINE_AUTO, LOF_CHARGE_RANGE, &k43, &why),
			 LOF_MODE_SIGSEGV);
	assert_non_null(strstr(why, "no mlock2"));
	assert_int_equal(choose(LOF_ENGINE_AUTO, LOF_CHARGE_RANGE, &kbox, &why),
			 LOF_MODE_SIGSEGV);
	assert_non_null(strstr(why, "refuses"));
	/* CHARGE=touched needs the SIGSEGV engine on any kernel. */
	assert_int_equal(choose(LOF_ENGINE_AUTO, LOF_CHARGE_TOUCHED, &k44,
				&why), LOF_MODE_SIGSEGV);
	assert_non_null(strstr(why, "touched"));
}

static void test_forced(void **state)
{
	const char *why;

	(void)state;
	assert_int_equal(choose(LOF_ENGINE_SIGSEGV, LOF_CHARGE_RANGE, &k44,
				&why), LOF_MODE_SIGSEGV);
	assert_int_equal(choose(LOF_ENGINE_SIGSEGV, LOF_CHARGE_RANGE, &k43,
				&why), LOF_MODE_SIGSEGV);
	assert_non_null(strstr(why, "supplying"));
	assert_int_equal(choose(LOF_ENGINE_NATIVE, LOF_CHARGE_RANGE, &k44,
				&why), LOF_MODE_NATIVE);
	/* native without the flags: calls pass on unchanged. */
	assert_int_equal(choose(LOF_ENGINE_NATIVE, LOF_CHARGE_RANGE, &k43,
				&why), LOF_MODE_PASS);
	assert_non_null(strstr(why, "unchanged"));
	assert_int_equal(choose(LOF_ENGINE_OFF, LOF_CHARGE_TOUCHED, &k44, &why),
			 LOF_MODE_PASS);
	assert_string_equal(engine_mode_name(LOF_MODE_NATIVE), "native");
	assert_string_equal(engine_mode_name(LOF_MODE_SIGSEGV), "sigsegv");
	assert_string_equal(engine_mode_name(LOF_MODE_PASS), "off");
}

/* The probe answers the same twice and locks nothing. */
static void test_probe(void **state)
{
	struct lof_kernel a, b;

	(void)state;
	kernel_probe(&a);
	kernel_probe(&b);
	assert_memory_equal(&a, &b, sizeof(a));
	assert_true(a.mlock2_errno == 0 || a.mlock2_errno == EPERM ||
		    a.mlock2_errno == ENOSYS);
	assert_int_equal(a.has_onfault, a.onfault_errno == 0 ||
			 a.onfault_errno == EPERM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_auto),
		cmocka_unit_test(test_forced),
		cmocka_unit_test(test_probe),
	};

	return cmocka_run_group_tests_name("kernel", tests, NULL, NULL);
}
