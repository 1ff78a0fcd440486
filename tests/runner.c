/*
 * The one CUnit runner: registers every module's suite and exits non-zero
 * on any failure.  "runner NAME..." runs only the named suites.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "crypto.h"
#include "tests.h"

static const struct {
	const char	*name;
	void		(*reg)(void);
} registry[] = {
	{ "buf",	test_register_buf },
	{ "hsm",	test_register_hsm },
	{ "encode",	test_register_encode },
	{ "crypto",	test_register_crypto },
	{ "hs_keys",	test_register_hs_keys },
	{ "hs_cert",	test_register_hs_cert },
	{ "hs_desc",	test_register_hs_desc },
	{ "msg",	test_register_msg },
	{ "audit",	test_register_audit },
	{ "signer",	test_register_signer },
	{ "signer_fault", test_register_signer_fault },
	{ "provision",	test_register_provision },
	{ "keytool",	test_register_keytool },
	{ "torctl",	test_register_torctl },
	{ "select",	test_register_select },
	{ "collector",	test_register_collector },
	{ "hsdir",	test_register_hsdir },
	{ "conf",	test_register_conf },
	{ "usock",	test_register_usock },
	{ "p11proxy",	test_register_p11proxy },
};

static int
wanted(const char *name, int argc, char **argv)
{
	int	i;

	if (argc < 2)
		return 1;
	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return 1;
	return 0;
}

int
main(int argc, char **argv)
{
	size_t		i;
	unsigned int	failed;

	if (ob_crypto_init() != 0) {
		fprintf(stderr, "runner: crypto init failed\n");
		return 1;
	}
	if (CU_initialize_registry() != CUE_SUCCESS) {
		fprintf(stderr, "runner: %s\n", CU_get_error_msg());
		return 1;
	}
	for (i = 0; i < sizeof(registry) / sizeof(registry[0]); i++)
		if (wanted(registry[i].name, argc, argv))
			registry[i].reg();
	CU_basic_set_mode(CU_BRM_VERBOSE);
	if (CU_basic_run_tests() != CUE_SUCCESS) {
		fprintf(stderr, "runner: %s\n", CU_get_error_msg());
		CU_cleanup_registry();
		return 1;
	}
	failed = CU_get_number_of_failures() +
	    CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return failed == 0 ? 0 : 1;
}
