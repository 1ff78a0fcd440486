/* Shared test helpers; see tests.h. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "encode.h"
#include "hsm.h"
#include "tests.h"

extern char **environ;

static char	**saved_env;

/*
 * Each suite runs in the environment the runner started with: suites set
 * SOFTHSM2_CONF, fault-module knobs and the like for themselves, and one
 * suite's settings must not leak into the next.
 */
static int
suite_env_save(void)
{
	size_t	n = 0, i;

	while (environ[n] != NULL)
		n++;
	if ((saved_env = calloc(n + 1, sizeof(char *))) == NULL)
		return -1;
	for (i = 0; i < n; i++)
		if ((saved_env[i] = strdup(environ[i])) == NULL)
			return -1;
	return 0;
}

static int
suite_env_restore(void)
{
	size_t	 i;
	char	*eq;
	int	 r = 0;

	if (saved_env == NULL)
		return 0;
	if (clearenv() != 0)
		r = -1;
	for (i = 0; saved_env[i] != NULL; i++) {
		/* setenv copies, so the saved strings can go. */
		if ((eq = strchr(saved_env[i], '=')) != NULL) {
			*eq = '\0';
			if (setenv(saved_env[i], eq + 1, 1) != 0)
				r = -1;
		}
		free(saved_env[i]);
	}
	free(saved_env);
	saved_env = NULL;
	return r;
}

void
test_add_suite(const char *name, const struct test_case *tc)
{
	CU_pSuite	s;

	if ((s = CU_add_suite(name, suite_env_save, suite_env_restore)) ==
	    NULL) {
		fprintf(stderr, "CU_add_suite %s: %s\n", name,
		    CU_get_error_msg());
		exit(1);
	}
	for (; tc->name != NULL; tc++)
		if (CU_add_test(s, tc->name, tc->fn) == NULL) {
			fprintf(stderr, "CU_add_test %s: %s\n", tc->name,
			    CU_get_error_msg());
			exit(1);
		}
}

const char *
test_vector_path(const char *name)
{
	static char	 path[PATH_MAX];
	const char	*dir = getenv("OBHSM_TESTDATA");

	if (dir == NULL)
		dir = "tests/vectors";
	(void)snprintf(path, sizeof(path), "%s/%s", dir, name);
	return path;
}

uint8_t *
test_read_file(const char *path, size_t *lenp)
{
	FILE	*f;
	uint8_t	*p = NULL;
	long	 n;

	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0)
		goto out;
	if ((p = malloc((size_t)n + 1)) == NULL)
		goto out;
	if (fread(p, 1, (size_t)n, f) != (size_t)n) {
		free(p);
		p = NULL;
		goto out;
	}
	p[n] = '\0';
	*lenp = (size_t)n;
 out:
	fclose(f);
	return p;
}

void
test_unhex(uint8_t *out, size_t n, const char *hex)
{
	CU_ASSERT_FATAL(hex_decode(out, n, hex, strlen(hex)) == 0);
}

static char	tmpdir[PATH_MAX];

static void
tmpdir_cleanup(void)
{
	char	cmd[PATH_MAX + 16];

	if (tmpdir[0] == '\0' || getenv("OBHSM_KEEP_TMP") != NULL)
		return;
	(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	(void)system(cmd);
}

const char *
test_tmpdir(void)
{
	const char	*base;

	if (tmpdir[0] != '\0')
		return tmpdir;
	if ((base = getenv("TMPDIR")) == NULL)
		base = "/tmp";
	(void)snprintf(tmpdir, sizeof(tmpdir), "%s/obhsm-test.XXXXXX", base);
	if (mkdtemp(tmpdir) == NULL) {
		fprintf(stderr, "mkdtemp: %s\n", strerror(errno));
		exit(1);
	}
	atexit(tmpdir_cleanup);
	return tmpdir;
}

int
test_have_stem(void)
{
	static int	have = -1;

	if (have == -1)
		have = access("/usr/bin/python3", X_OK) == 0 &&
		    system("/usr/bin/python3 -c 'import stem' "
		    ">/dev/null 2>&1") == 0;
	return have;
}

uint32_t
test_rand(void)
{
	static uint32_t	x = 0x12345678;

	/* xorshift32: deterministic so failures reproduce. */
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return x;
}

struct hsm *
test_open_token(const char *module, const char *uri, const char *pin,
    unsigned timeout_ms)
{
	struct hsm_config	 c;
	struct hsm		*h;

	memset(&c, 0, sizeof(c));
	c.module = module;
	c.uri = uri;
	c.pin_source = pin;
	c.timeout_ms = timeout_ms;
	c.copy_check_s = 60;	/* as the signer's */
	if ((h = hsm_new(&c)) == NULL)
		return NULL;
	if (hsm_open(h) == -1) {
		fprintf(stderr, "  open: %s\n", hsm_last_error(h));
		hsm_free(h);
		return NULL;
	}
	return h;
}

double
test_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
