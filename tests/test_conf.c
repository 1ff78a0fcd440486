/*
 * Tests for common/conf.c: the libconfuse helpers both daemons' loaders
 * use (range checks, onion addresses, libconfuse's errors in our log).
 */
#include "config.h"

#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <confuse.h>

#include "conf.h"
#include "crypto.h"
#include "hs_keys.h"
#include "tests.h"

/* RFC 8032 section 7.1 TEST 1's public key and its onion address (tor's
 * src/test/test_hs_common.c, test_build_address). */
#define RFC_PK		"d75a980182b10ab7d54bfed3c964073a" \
			"0ee172f3daa62325af021a68f707511a"
#define RFC_ADDR	"25njqamcweflpvkl73j4szahhihoc4xt3" \
			"ktcgjnpaingr5yhkenl5sid"

static cfg_opt_t test_opts[] = {
	CFG_INT("n", 0, CFGF_NONE),
	CFG_STR("addr", "", CFGF_NONE),
	CFG_END()
};

/* What the code under test logs (to stderr) between these two. */
static char	log_path[PATH_MAX];
static int	log_saved = -1;

static void
log_capture(void)
{
	int	fd;

	(void)snprintf(log_path, sizeof(log_path), "%s/conf_test.log",
	    test_tmpdir());
	fflush(stderr);
	CU_ASSERT_FATAL((log_saved = dup(2)) != -1);
	CU_ASSERT_FATAL((fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC,
	    0600)) != -1);
	CU_ASSERT_FATAL(dup2(fd, 2) == 2);
	close(fd);
}

/* 1 if the log since log_capture() holds want. */
static int
log_has(const char *want)
{
	uint8_t	*d;
	size_t	 n;
	int	 r;

	fflush(stderr);
	if (log_saved != -1) {
		(void)dup2(log_saved, 2);
		close(log_saved);
		log_saved = -1;
	}
	if ((d = test_read_file(log_path, &n)) == NULL)
		return 0;
	r = strstr((const char *)d, want) != NULL;
	if (!r)
		fprintf(stderr, "\n    wanted \"%s\" in: %s", want, d);
	free(d);
	return r;
}

/* A parsed config from text; NULL if libconfuse refused it. */
static cfg_t *
parse(const char *text)
{
	cfg_t	*c;

	CU_ASSERT_FATAL((c = cfg_init(test_opts, CFGF_NONE)) != NULL);
	cfg_set_error_function(c, conf_log_error);
	if (cfg_parse_buf(c, text) != CFG_SUCCESS) {
		cfg_free(c);
		return NULL;
	}
	return c;
}

static void
test_conf_int_range(void)
{
	cfg_t		*c;
	long		 v = 7;
	unsigned	 u = 7;

	CU_ASSERT_FATAL((c = parse("n = 5\n")) != NULL);
	CU_ASSERT(conf_int_range(c, "config", "n", 1, 10, &v) == 0 && v == 5);
	CU_ASSERT(conf_int_range(c, "config", "n", 5, 5, &v) == 0 && v == 5);
	CU_ASSERT(conf_uint_range(c, "config", "n", 0, 65535, &u) == 0 &&
	    u == 5);
	/* Out of range on either side: refused, out untouched. */
	v = 7;
	u = 7;
	log_capture();
	CU_ASSERT(conf_int_range(c, "service \"a\"", "n", 6, 10, &v) == -1);
	CU_ASSERT(log_has("service \"a\": n = 5 is out of range [6, 10]"));
	CU_ASSERT(conf_int_range(c, "config", "n", -3, 4, &v) == -1);
	CU_ASSERT(conf_uint_range(c, "config", "n", 6, 10, &u) == -1);
	CU_ASSERT(v == 7 && u == 7);
	cfg_free(c);

	/* Negative values: fine for a signed field that allows them. */
	CU_ASSERT_FATAL((c = parse("n = -1\n")) != NULL);
	CU_ASSERT(conf_int_range(c, "config", "n", -1, 0x7fffffff, &v) == 0 &&
	    v == -1);
	CU_ASSERT(conf_uint_range(c, "config", "n", 0, 10, &u) == -1);
	CU_ASSERT(u == 7);
	cfg_free(c);

	/* The default when the option is absent is checked too. */
	CU_ASSERT_FATAL((c = parse("")) != NULL);
	CU_ASSERT(conf_int_range(c, "config", "n", 1, 10, &v) == -1);
	CU_ASSERT(conf_int_range(c, "config", "n", 0, 10, &v) == 0 && v == 0);
	cfg_free(c);
}

static void
test_conf_onion_addr(void)
{
	char	out[HS_ADDR_LEN + 1], bad[HS_ADDR_LEN + 1];
	char	in[HS_ADDR_LEN + 16];
	uint8_t	pk[ED25519_PK_LEN], want[ED25519_PK_LEN];
	size_t	i;

	test_unhex(want, sizeof(want), RFC_PK);
	memset(out, 'x', sizeof(out));
	CU_ASSERT(conf_onion_addr(out, pk, RFC_ADDR, "config") == 0);
	CU_ASSERT_STRING_EQUAL(out, RFC_ADDR);
	CU_ASSERT(memcmp(pk, want, sizeof(pk)) == 0);
	/* With ".onion": the same canonical form. */
	memset(out, 'x', sizeof(out));
	memset(pk, 0, sizeof(pk));
	CU_ASSERT(conf_onion_addr(out, pk, RFC_ADDR ".onion", "config") == 0);
	CU_ASSERT_STRING_EQUAL(out, RFC_ADDR);
	CU_ASSERT(memcmp(pk, want, sizeof(pk)) == 0);
	/* Capitals (tor accepts them): the same lower-case spelling, so
	 * the signer's and the collector's configs compare equal. */
	for (i = 0; i < HS_ADDR_LEN; i++)
		in[i] = (char)toupper((unsigned char)RFC_ADDR[i]);
	in[HS_ADDR_LEN] = '\0';
	memset(out, 'x', sizeof(out));
	memset(pk, 0, sizeof(pk));
	CU_ASSERT(conf_onion_addr(out, pk, in, "config") == 0);
	CU_ASSERT_STRING_EQUAL(out, RFC_ADDR);
	CU_ASSERT(memcmp(pk, want, sizeof(pk)) == 0);

	/* Refusals leave out alone. */
	memset(out, 'x', sizeof(out));
	out[HS_ADDR_LEN] = '\0';
	memcpy(bad, out, sizeof(bad));
	CU_ASSERT(conf_onion_addr(out, pk, "", "config") == -1);
	log_capture();
	CU_ASSERT(conf_onion_addr(out, pk, "nope.onion", "pool \"p\"") == -1);
	CU_ASSERT(log_has("pool \"p\": \"nope.onion\" is not a v3 onion "
	    "address"));
	/* One character short, one too many, a wrong suffix. */
	(void)snprintf(in, sizeof(in), "%.55s", RFC_ADDR);
	CU_ASSERT(conf_onion_addr(out, pk, in, "config") == -1);
	(void)snprintf(in, sizeof(in), "%sa", RFC_ADDR);
	CU_ASSERT(conf_onion_addr(out, pk, in, "config") == -1);
	(void)snprintf(in, sizeof(in), "%s.onio", RFC_ADDR);
	CU_ASSERT(conf_onion_addr(out, pk, in, "config") == -1);
	(void)snprintf(in, sizeof(in), "%s.onionx", RFC_ADDR);
	CU_ASSERT(conf_onion_addr(out, pk, in, "config") == -1);
	/* A changed checksum character, a changed key character, a
	 * character outside base32. */
	(void)snprintf(in, sizeof(in), "%s", RFC_ADDR);
	in[HS_ADDR_LEN - 2] = in[HS_ADDR_LEN - 2] == 'a' ? 'b' : 'a';
	log_capture();
	CU_ASSERT(conf_onion_addr(out, pk, in, "config: backend") == -1);
	CU_ASSERT(log_has("config: backend: \"25njq"));
	CU_ASSERT(log_has("is not a valid v3 onion address"));
	(void)snprintf(in, sizeof(in), "%s", RFC_ADDR);
	in[0] = in[0] == 'a' ? 'b' : 'a';
	CU_ASSERT(conf_onion_addr(out, pk, in, "config") == -1);
	(void)snprintf(in, sizeof(in), "%s", RFC_ADDR);
	in[0] = '1';
	CU_ASSERT(conf_onion_addr(out, pk, in, "config") == -1);
	CU_ASSERT_STRING_EQUAL(out, bad);
}

/* libconfuse's own errors come through conf_log_error without harm,
 * from a string and from a file (whose name it then knows). */
static void
test_conf_log_error(void)
{
	char	 path[1024];
	FILE	*f;
	cfg_t	*c;

	/* A string: libconfuse names it "[buf]". */
	log_capture();
	CU_ASSERT(parse("no-such-option = 1\n") == NULL);
	CU_ASSERT(log_has("[buf]:1: "));
	CU_ASSERT(log_has("no-such-option"));
	CU_ASSERT(parse("n = \"text\"\n") == NULL);
	CU_ASSERT(parse("n = {\n") == NULL);
	(void)snprintf(path, sizeof(path), "%s/conf_test.conf",
	    test_tmpdir());
	CU_ASSERT_FATAL((f = fopen(path, "w")) != NULL);
	CU_ASSERT(fputs("n = 1\nbogus = 2\n", f) >= 0);
	CU_ASSERT(fclose(f) == 0);
	CU_ASSERT_FATAL((c = cfg_init(test_opts, CFGF_NONE)) != NULL);
	cfg_set_error_function(c, conf_log_error);
	log_capture();
	CU_ASSERT(cfg_parse(c, path) == CFG_PARSE_ERROR);
	CU_ASSERT(log_has("conf_test.conf:2: "));
	CU_ASSERT(log_has("bogus"));
	cfg_free(c);
}

static const struct test_case conf_tests[] = {
	{ "int_range",	test_conf_int_range },
	{ "onion_addr",	test_conf_onion_addr },
	{ "log_error",	test_conf_log_error },
	{ NULL, NULL }
};

void
test_register_conf(void)
{
	test_add_suite("conf", conf_tests);
}
