/*
 * Shared test helpers.  Each tests/test_<module>.c ends with a table of
 * its tests and a test_register_<module>() that adds its suite; runner.c
 * calls them all and exits non-zero on any failure.
 */
#ifndef OB_TESTS_H
#define OB_TESTS_H

#include <stddef.h>
#include <stdint.h>

#include <CUnit/CUnit.h>

struct test_case {
	const char	*name;
	void		(*fn)(void);
};

/* Adds a suite named name with the NULL-terminated cases. */
void	 test_add_suite(const char *name, const struct test_case *);

/* Path of a file under tests/vectors (static storage). */
const char *test_vector_path(const char *);
/* Read a whole file; returns malloc'd bytes (NUL-terminated), or NULL. */
uint8_t	*test_read_file(const char *, size_t *);
/* Hex string to bytes; CU_FAIL on bad input. */
void	 test_unhex(uint8_t *, size_t, const char *);
/* A scratch directory for this run (created once, removed at exit). */
const char *test_tmpdir(void);
/* 1 if /usr/bin/python3 can import stem. */
int	 test_have_stem(void);
/* Deterministic PRNG for fuzz-style loops. */
uint32_t test_rand(void);
/* CLOCK_MONOTONIC in seconds, for deadlines on waits (never asserted). */
double	 test_now(void);
/* A token opened through hsm/ (module, token URI, PIN source, watchdog
 * timeout); NULL, with the reason on stderr, if it does not open. */
struct hsm;
struct hsm *test_open_token(const char *module, const char *uri,
	    const char *pin, unsigned timeout_ms);

#define TEST_SKIP(why) do {						\
	fprintf(stderr, "  SKIP %s: %s\n", __func__, (why));		\
	return;								\
} while (0)

/* The registry: one line per module's test file. */
void	test_register_buf(void);
void	test_register_hsm(void);
void	test_register_encode(void);
void	test_register_crypto(void);
void	test_register_hs_keys(void);
void	test_register_hs_cert(void);
void	test_register_hs_desc(void);
void	test_register_msg(void);
void	test_register_audit(void);
void	test_register_signer(void);
void	test_register_signer_fault(void);
void	test_register_provision(void);
void	test_register_keytool(void);
void	test_register_torctl(void);
void	test_register_select(void);
void	test_register_collector(void);
void	test_register_hsdir(void);
void	test_register_conf(void);
void	test_register_usock(void);
void	test_register_p11proxy(void);

#endif /* OB_TESTS_H */
