/*
 * hsm/: Ed25519 keys on throwaway SoftHSM2 tokens, and every recovery
 * path through our fault-injecting module (tests/p11fault).
 *
 * One SoftHSM token directory serves the suite (SOFTHSM2_CONF in the
 * run's scratch directory) with two tokens, "obhsm-a" and "obhsm-b";
 * each test names its keys uniquely.  The fault module is loaded from
 * the build tree ($OBHSM_BUILDDIR, else next to the runner) and steered
 * through its control file; its counters file shows what reached the
 * token (e.g. that a wrong PIN was sent exactly once).
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"
#include "hs_keys.h"
#include "hsm.h"
#include "tests.h"

#define PIN		"1234"
#define SO_PIN		"5678"
#define URI_A		"pkcs11:token=obhsm-a"
#define URI_B		"pkcs11:token=obhsm-b"

static char	hsm_dir[PATH_MAX];
static char	pin_file[PATH_MAX + 16];
static char	pin_src[PATH_MAX + 32];
static char	bad_pin_file[PATH_MAX + 16];
static char	bad_pin_src[PATH_MAX + 32];
static char	fault_so[PATH_MAX + 64];
static char	fault_ctl[PATH_MAX + 16];
static char	fault_cnt[PATH_MAX + 16];
static int	hsm_env_state;	/* 0 not yet, 1 ready, -1 broken */

static int
write_file(const char *path, const char *text, mode_t mode)
{
	char	tmp[PATH_MAX + 8];
	int	fd;
	size_t	n = strlen(text);

	/* Via rename: a new inode, so the fault module sees the change. */
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode)) == -1)
		return -1;
	if (write(fd, text, n) != (ssize_t)n) {
		close(fd);
		return -1;
	}
	fchmod(fd, mode);
	close(fd);
	return rename(tmp, path);
}

static int
init_token(const char *label)
{
	char	cmd[512];

	snprintf(cmd, sizeof(cmd), "softhsm2-util --init-token --free "
	    "--label %s --pin " PIN " --so-pin " SO_PIN " >/dev/null", label);
	return system(cmd) == 0 ? 0 : -1;
}

static void
find_fault_module(void)
{
	const char	*b = getenv("OBHSM_BUILDDIR");
	char		 exe[PATH_MAX], *slash;
	ssize_t		 n;

	if (b != NULL) {
		snprintf(fault_so, sizeof(fault_so),
		    "%s/tests/p11fault/.libs/obhsm-p11fault.so", b);
		return;
	}
	/* The runner is BUILDDIR/tests/runner (or .libs/lt-runner). */
	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) <= 0)
		return;
	exe[n] = '\0';
	if ((slash = strrchr(exe, '/')) == NULL)
		return;
	*slash = '\0';
	snprintf(fault_so, sizeof(fault_so),
	    "%s/p11fault/.libs/obhsm-p11fault.so", exe);
}

/* The suite's environment, made once. */
static int
hsm_env(void)
{
	char	conf[PATH_MAX + 32], text[PATH_MAX + 128];
	char	tok[PATH_MAX + 8];

	if (hsm_env_state != 0)
		return hsm_env_state;
	hsm_env_state = -1;
	snprintf(hsm_dir, sizeof(hsm_dir), "%s/hsm", test_tmpdir());
	snprintf(tok, sizeof(tok), "%s/tokens", hsm_dir);
	if (mkdir(hsm_dir, 0700) == -1 || mkdir(tok, 0700) == -1)
		return -1;
	snprintf(conf, sizeof(conf), "%s/softhsm2.conf", hsm_dir);
	snprintf(text, sizeof(text), "directories.tokendir = %s\n"
	    "objectstore.backend = file\nlog.level = ERROR\n", tok);
	if (write_file(conf, text, 0600) == -1)
		return -1;
	setenv("SOFTHSM2_CONF", conf, 1);
	if (init_token("obhsm-a") == -1 || init_token("obhsm-b") == -1)
		return -1;
	snprintf(pin_file, sizeof(pin_file), "%s/pin", hsm_dir);
	snprintf(pin_src, sizeof(pin_src), "file:%s", pin_file);
	snprintf(bad_pin_file, sizeof(bad_pin_file), "%s/badpin", hsm_dir);
	snprintf(bad_pin_src, sizeof(bad_pin_src), "file:%s", bad_pin_file);
	if (write_file(pin_file, PIN "\n", 0600) == -1 ||
	    write_file(bad_pin_file, "9999\n", 0600) == -1)
		return -1;
	find_fault_module();
	/* Never unloaded: leak reports then name SoftHSM's frames right
	 * (after a dlclose its addresses may belong to another module). */
	(void)dlopen("/usr/lib/softhsm/libsofthsm2.so", RTLD_NOW |
	    RTLD_NODELETE);
	snprintf(fault_ctl, sizeof(fault_ctl), "%s/fault.ctl", hsm_dir);
	snprintf(fault_cnt, sizeof(fault_cnt), "%s/fault.cnt", hsm_dir);
	setenv("OBHSM_P11FAULT_CONTROL", fault_ctl, 1);
	setenv("OBHSM_P11FAULT_COUNTERS", fault_cnt, 1);
	if (write_file(fault_ctl, "# nothing\n", 0600) == -1)
		return -1;
	hsm_env_state = 1;
	return 1;
}

#define NEED_ENV() do {							\
	if (hsm_env() != 1) {						\
		CU_FAIL("cannot set up SoftHSM tokens");		\
		return;							\
	}								\
} while (0)

#define NEED_FAULT() do {						\
	NEED_ENV();							\
	if (access(fault_so, R_OK) != 0) {				\
		fprintf(stderr, "no fault module at %s\n", fault_so);	\
		CU_FAIL("fault module not built (make all)");		\
		return;							\
	}								\
} while (0)

static void
fault_set(const char *text)
{
	CU_ASSERT_FATAL(write_file(fault_ctl, text, 0600) == 0);
}

/* A counter from the fault module's counters file, -1 if absent. */
static long
fault_counter(const char *name)
{
	FILE	*fp;
	char	 key[64];
	long	 v, ret = -1;

	if ((fp = fopen(fault_cnt, "r")) == NULL)
		return -1;
	while (fscanf(fp, "%63s %ld", key, &v) == 2)
		if (strcmp(key, name) == 0)
			ret = v;
	fclose(fp);
	return ret;
}

static int
sign_ok(struct hsm *h, struct hsm_key *k, const char *msg)
{
	uint8_t	sig[ED25519_SIG_LEN];

	if (hsm_key_sign(h, k, sig, msg, strlen(msg)) == -1) {
		fprintf(stderr, "  sign: %s\n", hsm_last_error(h));
		return 0;
	}
	return ob_ed25519_verify(sig, msg, strlen(msg), k->pk) == 0;
}

/*
 * After a hang is let go: the worker's call returns a moment later, and
 * until it has, the handle still answers HSM_E_HUNG.  Retry within a
 * deadline (a bound on a wait, not a measurement).
 */
static int
sign_after_hang(struct hsm *h, struct hsm_key *k)
{
	double	end = test_now() + 30;

	for (;;) {
		if (sign_ok(h, k, "after"))
			return 1;
		if (hsm_last_status(h) != HSM_E_HUNG || test_now() > end)
			return 0;
		usleep(20 * 1000);
	}
}

static void
test_hsm_rv_names(void)
{
	unsigned long	rv;

	CU_ASSERT_STRING_EQUAL(hsm_rv_name(0xa0), "CKR_PIN_INCORRECT");
	CU_ASSERT_STRING_EQUAL(hsm_rv_name(0), "CKR_OK");
	CU_ASSERT_STRING_EQUAL(hsm_rv_name(0x7777), "CKR_0x00007777");
	CU_ASSERT(hsm_rv_parse("CKR_DEVICE_REMOVED", &rv) == 0 && rv == 0x32);
	CU_ASSERT(hsm_rv_parse("0x1b", &rv) == 0 && rv == 0x1b);
	CU_ASSERT(hsm_rv_parse("CKR_NOPE", &rv) == -1);
	CU_ASSERT(hsm_rv_parse("0x", &rv) == -1);
	CU_ASSERT(hsm_rv_parse("0x1g", &rv) == -1);
	CU_ASSERT_STRING_EQUAL(hsm_status_name(HSM_E_PIN),
	    "wrong or missing PIN");
}

static void
test_hsm_pin_sources(void)
{
	char	pin[64], path[PATH_MAX + 16], src[PATH_MAX + 32];
	int	p[2];

	NEED_ENV();
	CU_ASSERT(hsm_pin_read(pin, sizeof(pin), pin_src) == 0);
	CU_ASSERT_STRING_EQUAL(pin, PIN);

	/* Readable by others: refused. */
	snprintf(path, sizeof(path), "%s/pin-world", hsm_dir);
	snprintf(src, sizeof(src), "file:%s", path);
	CU_ASSERT_FATAL(write_file(path, "4321\n", 0644) == 0);
	CU_ASSERT(hsm_pin_read(pin, sizeof(pin), src) == -1);
	/* CRLF, no newline, empty, missing. */
	CU_ASSERT_FATAL(write_file(path, "4321\r\nrest", 0600) == 0);
	CU_ASSERT(hsm_pin_read(pin, sizeof(pin), src) == 0);
	CU_ASSERT_STRING_EQUAL(pin, "4321");
	CU_ASSERT_FATAL(write_file(path, "77", 0600) == 0);
	CU_ASSERT(hsm_pin_read(pin, sizeof(pin), src) == 0);
	CU_ASSERT_STRING_EQUAL(pin, "77");
	CU_ASSERT_FATAL(write_file(path, "\n", 0600) == 0);
	CU_ASSERT(hsm_pin_read(pin, sizeof(pin), src) == -1);
	CU_ASSERT(hsm_pin_read(pin, sizeof(pin), "file:/nonexistent/x") == -1);
	/* Longer than the buffer. */
	CU_ASSERT_FATAL(write_file(path, "0123456789abcdef\n", 0600) == 0);
	CU_ASSERT(hsm_pin_read(pin, 8, src) == -1);

	/* fd: read, then closed. */
	CU_ASSERT_FATAL(pipe(p) == 0);
	CU_ASSERT(write(p[1], "5555\n", 5) == 5);
	close(p[1]);
	snprintf(src, sizeof(src), "fd:%d", p[0]);
	CU_ASSERT(hsm_pin_read(pin, sizeof(pin), src) == 0);
	CU_ASSERT_STRING_EQUAL(pin, "5555");
	CU_ASSERT(fcntl(p[0], F_GETFD) == -1 && errno == EBADF);
	CU_ASSERT(hsm_pin_read(pin, sizeof(pin), "fd:x1") == -1);
	CU_ASSERT(hsm_pin_read(pin, sizeof(pin), "fd:01") == -1);

	/* env: read, then unset. */
	setenv("OBHSM_TEST_PIN", "6666", 1);
	CU_ASSERT(hsm_pin_read(pin, sizeof(pin), "env:OBHSM_TEST_PIN") == 0);
	CU_ASSERT_STRING_EQUAL(pin, "6666");
	CU_ASSERT(getenv("OBHSM_TEST_PIN") == NULL);
	CU_ASSERT(hsm_pin_read(pin, sizeof(pin), "env:OBHSM_TEST_PIN") == -1);

	CU_ASSERT(hsm_pin_read(pin, sizeof(pin), "1234") == -1);
	CU_ASSERT(hsm_pin_read(pin, sizeof(pin), "") == -1);
	CU_ASSERT(hsm_pin_read(pin, sizeof(pin), NULL) == -1);
}

/* "prompt": a terminal with echo off (a pseudo-terminal here). */
static void
test_hsm_pin_prompt(void)
{
	char	buf[256], pin[64];
	pid_t	pid;
	ssize_t	n;
	size_t	got = 0;
	int	master, st, i;

	if ((pid = forkpty(&master, NULL, NULL, NULL)) == -1)
		TEST_SKIP("no pseudo-terminal");
	if (pid == 0) {
		/* The child reads the PIN and says what it got. */
		if (hsm_pin_read(pin, sizeof(pin), "prompt") == -1)
			_exit(2);
		printf("got[%s]\n", pin);
		fflush(stdout);
		_exit(0);
	}
	/* Wait for the prompt, then type. */
	for (i = 0; i < 100 && got < sizeof(buf) - 1; i++) {
		if ((n = read(master, buf + got, sizeof(buf) - 1 - got)) <= 0)
			break;
		got += (size_t)n;
		buf[got] = '\0';
		if (strstr(buf, "PIN: ") != NULL)
			break;
	}
	CU_ASSERT(strstr(buf, "PIN: ") != NULL);
	CU_ASSERT(write(master, "4242\n", 5) == 5);
	got = 0;
	for (i = 0; i < 100 && got < sizeof(buf) - 1; i++) {
		if ((n = read(master, buf + got, sizeof(buf) - 1 - got)) <= 0)
			break;
		got += (size_t)n;
		buf[got] = '\0';
		if (strstr(buf, "]") != NULL)
			break;
	}
	CU_ASSERT(waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	    WEXITSTATUS(st) == 0);
	CU_ASSERT(strstr(buf, "got[4242]") != NULL);
	/* Echo was off: the typed PIN appears only in the child's report. */
	CU_ASSERT(strstr(buf, "got[4242]") != NULL &&
	    strstr(buf, "4242") == strstr(buf, "got[4242]") + 4);
	close(master);
}

/* Each PIN source logs in for real (SoftHSM checks the PIN). */
static void
test_hsm_login_sources(void)
{
	struct hsm	*h;
	char		 src[32];
	int		 p[2];

	NEED_FAULT();
	h = test_open_token(fault_so, URI_A, pin_src, 0);
	CU_ASSERT(h != NULL);
	hsm_free(h);

	CU_ASSERT_FATAL(pipe(p) == 0);
	CU_ASSERT(write(p[1], PIN "\n", 5) == 5);
	close(p[1]);
	snprintf(src, sizeof(src), "fd:%d", p[0]);
	h = test_open_token(fault_so, URI_A, src, 0);
	CU_ASSERT(h != NULL);
	hsm_free(h);

	setenv("OBHSM_TEST_PIN", PIN, 1);
	h = test_open_token(fault_so, URI_A, "env:OBHSM_TEST_PIN", 0);
	CU_ASSERT(h != NULL);
	hsm_free(h);

	/* RFC 7512 pin-source in the URI, a bare path meaning file:. */
	snprintf(src, sizeof(src), "%s", "");
	{
		char	uri[PATH_MAX + 64];

		snprintf(uri, sizeof(uri), URI_A "?pin-source=%s", pin_file);
		h = test_open_token(fault_so, uri, NULL, 0);
		CU_ASSERT(h != NULL);
		hsm_free(h);
	}
}

static void
test_hsm_generate_sign(void)
{
	struct hsm		*h;
	struct hsm_key		 k, f;
	struct hs_signer	 s;
	struct hsm_stats	 st;
	uint8_t			 sig[ED25519_SIG_LEN];
	static const char	 msg[] = "Tor onion service descriptor sig v3"
	    "hello";
	static const uint8_t	 id[] = { 0x01, 0x00, 0x00, 0x4a, 0x2b };

	NEED_FAULT();
	h = test_open_token(fault_so, URI_A, pin_src, 0);
	CU_ASSERT_FATAL(h != NULL);
	CU_ASSERT_FATAL(hsm_key_generate(h, &k, "gen-svc-19000", id,
	    sizeof(id)) == 0);
	CU_ASSERT_STRING_EQUAL(k.label, "gen-svc-19000");
	CU_ASSERT(k.id_len == sizeof(id) && memcmp(k.id, id, sizeof(id)) ==
	    0);
	CU_ASSERT(hsm_key_sign(h, &k, sig, msg, sizeof(msg) - 1) == 0);
	CU_ASSERT(ob_ed25519_verify(sig, msg, sizeof(msg) - 1, k.pk) == 0);
	sig[5] ^= 1;
	CU_ASSERT(ob_ed25519_verify(sig, msg, sizeof(msg) - 1, k.pk) != 0);
	/* Empty messages are messages too. */
	CU_ASSERT(hsm_key_sign(h, &k, sig, "", 0) == 0);
	CU_ASSERT(ob_ed25519_verify(sig, "", 0, k.pk) == 0);

	/* Found again by label, by id, by both: the same key. */
	CU_ASSERT(hsm_key_find(h, &f, "gen-svc-19000", NULL, 0) == 0);
	CU_ASSERT(memcmp(f.pk, k.pk, 32) == 0);
	CU_ASSERT(hsm_key_find(h, &f, NULL, id, sizeof(id)) == 0);
	CU_ASSERT(memcmp(f.pk, k.pk, 32) == 0);
	CU_ASSERT_STRING_EQUAL(f.label, "gen-svc-19000");
	CU_ASSERT(hsm_key_find(h, &f, "gen-svc-19000", id, sizeof(id)) == 0);
	CU_ASSERT(hsm_key_find(h, &f, "gen-svc-19000", "x", 1) == -1);
	CU_ASSERT(hsm_last_status(h) == HSM_E_NOT_FOUND);

	/* A failed find leaves the key as it was. */
	CU_ASSERT(memcmp(f.pk, k.pk, 32) == 0);
	CU_ASSERT_STRING_EQUAL(f.label, "gen-svc-19000");
	/* The codec's signer interface. */
	hsm_key_signer(&s, &f);
	CU_ASSERT(memcmp(s.pk, k.pk, 32) == 0);
	CU_ASSERT(s.sign(s.ctx, sig, (const uint8_t *)msg, 10) == 0);
	CU_ASSERT(ob_ed25519_verify(sig, msg, 10, k.pk) == 0);

	/* Names are unique; bad names are refused before the token. */
	CU_ASSERT(hsm_key_generate(h, &f, "gen-svc-19000", "zz", 2) == -1);
	CU_ASSERT(hsm_last_status(h) == HSM_E_EXISTS);
	CU_ASSERT(hsm_key_generate(h, &f, "gen-other", id, sizeof(id)) == -1);
	CU_ASSERT(hsm_last_status(h) == HSM_E_EXISTS);
	CU_ASSERT(hsm_key_generate(h, &f, "", id, sizeof(id)) == -1);
	CU_ASSERT(hsm_last_status(h) == HSM_E_CONFIG);
	CU_ASSERT(hsm_key_generate(h, &f, "x", NULL, 0) == -1);
	CU_ASSERT(hsm_key_find(h, &f, NULL, NULL, 0) == -1);
	CU_ASSERT(hsm_key_find(h, &f, "no-such-key", NULL, 0) == -1);
	CU_ASSERT(hsm_last_status(h) == HSM_E_NOT_FOUND);
	hsm_stats_get(h, &st);
	CU_ASSERT(st.signatures == 3);
	CU_ASSERT(st.logins == 1);
	hsm_free(h);
}

/* The private key really is sensitive and not extractable. */
static void
test_hsm_key_attributes(void)
{
	char		cmd[1024];
	struct hsm	*h;
	struct hsm_key	 k;
	FILE		*fp;
	char		 line[512];
	int		 priv_ok = 0;

	NEED_FAULT();
	h = test_open_token(fault_so, URI_A, pin_src, 0);
	CU_ASSERT_FATAL(h != NULL);
	CU_ASSERT_FATAL(hsm_key_generate(h, &k, "attr-key", "\x07", 1) == 0);
	hsm_free(h);
	/* pkcs11-tool (OpenSC) as an independent reader. */
	if (access("/usr/bin/pkcs11-tool", X_OK) != 0)
		TEST_SKIP("no pkcs11-tool");
	snprintf(cmd, sizeof(cmd), "pkcs11-tool --module "
	    "/usr/lib/softhsm/libsofthsm2.so --token-label obhsm-a --login "
	    "--pin " PIN " --list-objects --label attr-key 2>/dev/null");
	CU_ASSERT_FATAL((fp = popen(cmd, "r")) != NULL);
	while (fgets(line, sizeof(line), fp) != NULL)
		if (strstr(line, "Access:") != NULL &&
		    strstr(line, "sensitive") != NULL &&
		    strstr(line, "never extractable") != NULL)
			priv_ok = 1;
	pclose(fp);
	CU_ASSERT(priv_ok);
}

static void
test_hsm_uri_select(void)
{
	struct hsm		*h;
	struct hsm_token_info	 ti;
	struct hsm_config	 c;
	char			 uri[128];

	NEED_FAULT();
	h = test_open_token(fault_so, URI_B, pin_src, 0);
	CU_ASSERT_FATAL(h != NULL);
	CU_ASSERT(hsm_token_info(h, &ti) == 0);
	CU_ASSERT_STRING_EQUAL(ti.label, "obhsm-b");
	CU_ASSERT_STRING_EQUAL(ti.manufacturer, "SoftHSM project");
	snprintf(uri, sizeof(uri), "pkcs11:serial=%s", ti.serial);
	hsm_free(h);

	/* By serial alone, and with the module named in the URI. */
	h = test_open_token(fault_so, uri, pin_src, 0);
	CU_ASSERT_FATAL(h != NULL);
	CU_ASSERT(hsm_token_info(h, &ti) == 0);
	CU_ASSERT_STRING_EQUAL(ti.label, "obhsm-b");
	hsm_free(h);
	h = test_open_token(NULL, "pkcs11:token=obhsm-a;manufacturer="
	    "SoftHSM%20project?module-path=/usr/lib/softhsm/libsofthsm2.so",
	    pin_src, 0);
	CU_ASSERT_FATAL(h != NULL);
	CU_ASSERT(hsm_token_info(h, &ti) == 0);
	CU_ASSERT_STRING_EQUAL(ti.label, "obhsm-a");
	hsm_free(h);

	memset(&c, 0, sizeof(c));
	c.pin_source = pin_src;
	/* Two initialised tokens: a bare URI is ambiguous. */
	c.uri = "pkcs11:";
	CU_ASSERT_FATAL((h = hsm_new(&c)) != NULL);
	CU_ASSERT(hsm_open(h) == -1);
	CU_ASSERT(hsm_last_status(h) == HSM_E_AMBIGUOUS);
	hsm_free(h);
	c.uri = "pkcs11:token=obhsm-zz";
	CU_ASSERT_FATAL((h = hsm_new(&c)) != NULL);
	CU_ASSERT(hsm_open(h) == -1);
	CU_ASSERT(hsm_last_status(h) == HSM_E_NO_TOKEN);
	hsm_free(h);
	c.uri = "https://example.com/";
	CU_ASSERT_FATAL((h = hsm_new(&c)) != NULL);
	CU_ASSERT(hsm_open(h) == -1);
	CU_ASSERT(hsm_last_status(h) == HSM_E_CONFIG);
	hsm_free(h);
	c.uri = URI_A;
	c.module = "/nonexistent/module.so";
	CU_ASSERT_FATAL((h = hsm_new(&c)) != NULL);
	CU_ASSERT(hsm_open(h) == -1);
	CU_ASSERT(hsm_last_status(h) == HSM_E_MODULE);
	hsm_free(h);
	c.module = "no-such-registered-module";
	CU_ASSERT_FATAL((h = hsm_new(&c)) != NULL);
	CU_ASSERT(hsm_open(h) == -1);
	CU_ASSERT(hsm_last_status(h) == HSM_E_MODULE);
	hsm_free(h);
	/* Wrong PIN on SoftHSM: the error names the call and CK_RV. */
	c.module = NULL;
	c.pin_source = bad_pin_src;
	CU_ASSERT_FATAL((h = hsm_new(&c)) != NULL);
	CU_ASSERT(hsm_open(h) == -1);
	CU_ASSERT(hsm_last_status(h) == HSM_E_PIN);
	CU_ASSERT(hsm_last_rv(h) == 0xa0);
	CU_ASSERT_STRING_EQUAL(hsm_last_call(h), "C_Login");
	CU_ASSERT(strstr(hsm_last_error(h), "CKR_PIN_INCORRECT") != NULL);
	hsm_free(h);
}

/* Two handles on one module: freeing one leaves the other working. */
static void
test_hsm_two_handles(void)
{
	struct hsm	*a, *b;
	struct hsm_key	 ka, kb;

	NEED_FAULT();
	fault_set("\n");
	a = test_open_token(fault_so, URI_A, pin_src, 0);
	b = test_open_token(fault_so, URI_B, pin_src, 2000);
	CU_ASSERT_FATAL(a != NULL && b != NULL);
	CU_ASSERT_FATAL(hsm_key_generate(a, &ka, "two-a", "\xa1", 1) == 0);
	CU_ASSERT_FATAL(hsm_key_generate(b, &kb, "two-b", "\xb1", 1) == 0);
	/* Each sees its own token only. */
	CU_ASSERT(hsm_key_find(a, &kb, "two-b", NULL, 0) == -1);
	CU_ASSERT(hsm_key_find(b, &kb, "two-b", NULL, 0) == 0);
	CU_ASSERT(sign_ok(a, &ka, "a"));
	hsm_free(a);
	CU_ASSERT(sign_ok(b, &kb, "b after a is gone"));
	hsm_free(b);
}

/*
 * p11-kit's registry: the module by name and through the proxy.  The key
 * is made and used through the fault module (which keeps SoftHSM's own
 * leaks out of LeakSanitizer's report); here it is only found, which
 * shows the same token and key through each way of loading.
 */
static void
test_hsm_p11kit(void)
{
	struct hsm		*h;
	struct hsm_key		 k, f;

	NEED_FAULT();
	if (access("/usr/share/p11-kit/modules/softhsm2.module", R_OK) != 0)
		TEST_SKIP("softhsm2 not registered with p11-kit");
	h = test_open_token(fault_so, URI_A, pin_src, 0);
	CU_ASSERT_FATAL(h != NULL);
	CU_ASSERT_FATAL(hsm_key_generate(h, &k, "p11kit-name", "\x11", 1) ==
	    0);
	CU_ASSERT(sign_ok(h, &k, "by path"));
	hsm_free(h);
	h = test_open_token("softhsm2", URI_A, pin_src, 0);
	CU_ASSERT_FATAL(h != NULL);
	CU_ASSERT(hsm_key_find(h, &f, "p11kit-name", NULL, 0) == 0);
	CU_ASSERT(memcmp(f.pk, k.pk, ED25519_PK_LEN) == 0);
	hsm_free(h);
	h = test_open_token(NULL, URI_A "?module-name=softhsm2", pin_src, 0);
	CU_ASSERT_FATAL(h != NULL);
	CU_ASSERT(hsm_key_find(h, &f, "p11kit-name", NULL, 0) == 0);
	CU_ASSERT(memcmp(f.pk, k.pk, ED25519_PK_LEN) == 0);
	hsm_free(h);
	h = test_open_token("p11-kit-proxy", URI_A, pin_src, 0);
	CU_ASSERT_FATAL(h != NULL);
	CU_ASSERT(hsm_key_find(h, &f, NULL, "\x11", 1) == 0);
	CU_ASSERT(memcmp(f.pk, k.pk, ED25519_PK_LEN) == 0);
	hsm_free(h);
}

static int
label_period(const char *label, unsigned *tp)
{
	return sscanf(label, "purge-svc-%u", tp) == 1 ? 0 : -1;
}

static void
test_hsm_list_purge(void)
{
	struct hsm	*h;
	struct hsm_key	 k, *keys = NULL;
	size_t		 n = 0, i, mine = 0;
	unsigned	 tp;
	char		 label[64];
	uint8_t		 id[8];

	NEED_FAULT();
	h = test_open_token(fault_so, URI_B, pin_src, 5000);
	CU_ASSERT_FATAL(h != NULL);
	for (tp = 20000; tp < 20004; tp++) {
		snprintf(label, sizeof(label), "purge-svc-%u", tp);
		memcpy(id, "pg", 2);
		id[2] = (uint8_t)(tp >> 8);
		id[3] = (uint8_t)tp;
		CU_ASSERT_FATAL(hsm_key_generate(h, &k, label, id, 4) == 0);
	}
	CU_ASSERT_FATAL(hsm_key_list(h, &keys, &n) == 0);
	for (i = 0; i < n; i++)
		if (label_period(keys[i].label, &tp) == 0) {
			mine++;
			CU_ASSERT(sign_ok(h, &keys[i], "listed"));
		}
	CU_ASSERT(mine == 4);
	/* The caller's purge loop: periods before 20002 have expired. */
	for (i = 0; i < n; i++)
		if (label_period(keys[i].label, &tp) == 0 && tp < 20002)
			CU_ASSERT(hsm_key_destroy(h, &keys[i]) == 0);
	free(keys);
	CU_ASSERT_FATAL(hsm_key_list(h, &keys, &n) == 0);
	for (i = 0, mine = 0; i < n; i++)
		if (label_period(keys[i].label, &tp) == 0) {
			mine++;
			CU_ASSERT(tp >= 20002);
		}
	CU_ASSERT(mine == 2);
	free(keys);
	CU_ASSERT(hsm_key_find(h, &k, "purge-svc-20000", NULL, 0) == -1);
	CU_ASSERT(hsm_last_status(h) == HSM_E_NOT_FOUND);
	CU_ASSERT(hsm_key_find(h, &k, "purge-svc-20003", NULL, 0) == 0);
	hsm_free(h);
}

/* More keys than one C_FindObjects chunk (16), then purge them all. */
static void
test_hsm_list_many(void)
{
	struct hsm	*h;
	struct hsm_key	 k, *keys = NULL;
	size_t		 n = 0, i, mine = 0;
	char		 label[64];
	unsigned	 j;

	NEED_FAULT();
	h = test_open_token(fault_so, URI_B, pin_src, 0);
	CU_ASSERT_FATAL(h != NULL);
	for (j = 0; j < 20; j++) {
		snprintf(label, sizeof(label), "many-%u", j);
		CU_ASSERT_FATAL(hsm_key_generate(h, &k, label, label,
		    strlen(label)) == 0);
	}
	CU_ASSERT_FATAL(hsm_key_list(h, &keys, &n) == 0);
	for (i = 0; i < n; i++)
		if (strncmp(keys[i].label, "many-", 5) == 0) {
			mine++;
			CU_ASSERT(hsm_key_destroy(h, &keys[i]) == 0);
		}
	CU_ASSERT(mine == 20);
	free(keys);
	CU_ASSERT_FATAL(hsm_key_list(h, &keys, &n) == 0);
	for (i = 0, mine = 0; i < n; i++)
		if (strncmp(keys[i].label, "many-", 5) == 0)
			mine++;
	CU_ASSERT(mine == 0);
	free(keys);
	hsm_free(h);
}

/*
 * Wrong PIN: sent once, never again; the try counter is reported; a
 * final try is not risked; a locked token is not even asked.
 */
static void
test_hsm_wrong_pin(void)
{
	struct hsm_config	 c;
	struct hsm		*h;
	long			 logins;

	NEED_FAULT();
	fault_set("pin_tries 3\n");
	memset(&c, 0, sizeof(c));
	c.module = fault_so;
	c.uri = URI_A;
	c.pin_source = bad_pin_src;
	c.timeout_ms = 5000;
	logins = fault_counter("C_Login");
	if (logins < 0)
		logins = 0;
	CU_ASSERT_FATAL((h = hsm_new(&c)) != NULL);
	CU_ASSERT(hsm_open(h) == -1);
	CU_ASSERT(hsm_last_status(h) == HSM_E_PIN);
	CU_ASSERT(hsm_last_rv(h) == 0xa0);
	CU_ASSERT(strstr(hsm_last_error(h), "count low") != NULL);
	hsm_free(h);
	CU_ASSERT(fault_counter("C_Login") == logins + 1);
	CU_ASSERT(fault_counter("pin_tries_left") == 2);

	/* Second wrong PIN: one try left, and the token says so. */
	CU_ASSERT_FATAL((h = hsm_new(&c)) != NULL);
	CU_ASSERT(hsm_open(h) == -1);
	CU_ASSERT(strstr(hsm_last_error(h), "1 try left") != NULL);
	hsm_free(h);
	CU_ASSERT(fault_counter("C_Login") == logins + 2);

	/* Final try: refused without calling C_Login, even the right PIN. */
	c.pin_source = pin_src;
	CU_ASSERT_FATAL((h = hsm_new(&c)) != NULL);
	CU_ASSERT(hsm_open(h) == -1);
	CU_ASSERT(hsm_last_status(h) == HSM_E_PIN_LOCKED);
	hsm_free(h);
	CU_ASSERT(fault_counter("C_Login") == logins + 2);
	/* ... unless the operator allows it; success resets the count. */
	c.allow_final_try = 1;
	CU_ASSERT_FATAL((h = hsm_new(&c)) != NULL);
	CU_ASSERT(hsm_open(h) == 0);
	hsm_free(h);
	CU_ASSERT(fault_counter("pin_tries_left") == 3);

	/* Locked: never sent. */
	fault_set("pin_tries 3\npin_tries_left 0\n");
	CU_ASSERT_FATAL((h = hsm_new(&c)) != NULL);
	CU_ASSERT(hsm_open(h) == -1);
	CU_ASSERT(hsm_last_status(h) == HSM_E_PIN_LOCKED);
	CU_ASSERT(strstr(hsm_last_error(h), "locked") != NULL);
	hsm_free(h);
	CU_ASSERT(fault_counter("C_Login") == logins + 3);
	fault_set("\n");
}

/*
 * The token forgets the login (sessions closed) and then refuses the
 * kept PIN: the failure is reported, and no later call sends it again.
 */
static void
test_hsm_relogin_refused(void)
{
	struct hsm	*h;
	struct hsm_key	 k;
	uint8_t		 sig[ED25519_SIG_LEN];
	long		 logins;

	NEED_FAULT();
	fault_set("\n");
	h = test_open_token(fault_so, URI_A, pin_src, 2000);
	CU_ASSERT_FATAL(h != NULL);
	CU_ASSERT_FATAL(hsm_key_generate(h, &k, "relogin-key", "\x81", 1) ==
	    0);
	logins = fault_counter("C_Login");
	fault_set("invalidate_sessions 7\nfail C_Login CKR_PIN_INCORRECT 1\n");
	CU_ASSERT(hsm_key_sign(h, &k, sig, "x", 1) == -1);
	CU_ASSERT(hsm_last_status(h) == HSM_E_PIN);
	CU_ASSERT_STRING_EQUAL(hsm_last_call(h), "C_Login");
	CU_ASSERT(fault_counter("C_Login") == logins + 1);
	/* The token would take the PIN again now; we do not offer it. */
	fault_set("invalidate_sessions 7\n");
	CU_ASSERT(hsm_key_sign(h, &k, sig, "x", 1) == -1);
	CU_ASSERT(hsm_last_status(h) == HSM_E_PIN);
	CU_ASSERT(hsm_reinit(h) == -1);
	CU_ASSERT(hsm_last_status(h) == HSM_E_PIN);
	CU_ASSERT(fault_counter("C_Login") == logins + 1);
	hsm_free(h);
	fault_set("\n");
}

/* A PIN pad (protected authentication path): C_Login without a PIN. */
static void
test_hsm_protected_path(void)
{
	struct hsm	*h;
	struct hsm_key	 k;

	NEED_FAULT();
	/* Without a PIN pad the token refuses "protected". */
	fault_set("\n");
	h = test_open_token(fault_so, URI_A, "protected", 0);
	CU_ASSERT(h == NULL);
	fault_set("pinpad_pin " PIN "\n");
	h = test_open_token(fault_so, URI_A, "protected", 0);
	CU_ASSERT_FATAL(h != NULL);
	CU_ASSERT(hsm_key_generate(h, &k, "pinpad-key", "\x21", 1) == 0);
	CU_ASSERT(sign_ok(h, &k, "pin pad"));
	hsm_free(h);
	fault_set("\n");
}

static void
test_hsm_removal(void)
{
	struct hsm		*h;
	struct hsm_key		 k;
	struct hsm_stats	 st;
	uint8_t			 sig[ED25519_SIG_LEN];

	NEED_FAULT();
	fault_set("\n");
	h = test_open_token(fault_so, URI_A, pin_src, 5000);
	CU_ASSERT_FATAL(h != NULL);
	CU_ASSERT_FATAL(hsm_key_generate(h, &k, "removal-key", "\x31", 1) ==
	    0);
	CU_ASSERT(sign_ok(h, &k, "before"));

	fault_set("removed 1\n");
	CU_ASSERT(hsm_key_sign(h, &k, sig, "during", 6) == -1);
	CU_ASSERT(hsm_last_status(h) == HSM_E_NO_TOKEN);
	CU_ASSERT(hsm_last_rv(h) == 0x32);	/* CKR_DEVICE_REMOVED */
	CU_ASSERT_STRING_EQUAL(hsm_last_call(h), "C_SignInit");
	/* Still out: fails at once, no hang, no crash. */
	CU_ASSERT(hsm_key_sign(h, &k, sig, "during", 6) == -1);
	CU_ASSERT(hsm_last_status(h) == HSM_E_NO_TOKEN);
	CU_ASSERT(hsm_key_find(h, &k, "removal-key", NULL, 0) == -1);

	fault_set("removed 0\n");
	CU_ASSERT(sign_ok(h, &k, "after"));
	hsm_stats_get(h, &st);
	CU_ASSERT(st.reinits >= 1);
	CU_ASSERT(st.logins >= 2);
	CU_ASSERT(hsm_key_find(h, &k, "removal-key", NULL, 0) == 0);
	hsm_free(h);

	/* Absent at start: open fails, and works on the same handle later. */
	{
		struct hsm_config	c;

		memset(&c, 0, sizeof(c));
		c.module = fault_so;
		c.uri = URI_A;
		c.pin_source = pin_src;
		c.timeout_ms = 5000;
		fault_set("removed 1\n");
		CU_ASSERT_FATAL((h = hsm_new(&c)) != NULL);
		CU_ASSERT(hsm_open(h) == -1);
		CU_ASSERT(hsm_last_status(h) == HSM_E_NO_TOKEN);
		fault_set("removed 0\n");
		CU_ASSERT(hsm_open(h) == 0);
		CU_ASSERT(hsm_key_find(h, &k, "removal-key", NULL, 0) == 0);
		CU_ASSERT(sign_ok(h, &k, "late start"));
		hsm_free(h);
	}
	fault_set("\n");
}

static void
test_hsm_session_invalid(void)
{
	struct hsm		*h;
	struct hsm_key		 k;
	struct hsm_stats	 st;
	long			 closed;

	NEED_FAULT();
	fault_set("\n");
	h = test_open_token(fault_so, URI_A, pin_src, 0);
	CU_ASSERT_FATAL(h != NULL);
	CU_ASSERT_FATAL(hsm_key_generate(h, &k, "session-key", "\x41", 1) ==
	    0);
	CU_ASSERT(sign_ok(h, &k, "before"));
	closed = fault_counter("sessions_closed");
	fault_set("invalidate_sessions 1\n");
	/* Transparent: the session is reopened, the key found again. */
	CU_ASSERT(sign_ok(h, &k, "after"));
	CU_ASSERT(fault_counter("sessions_closed") > closed);
	hsm_stats_get(h, &st);
	CU_ASSERT(st.session_reopens == 1);
	CU_ASSERT(st.reinits == 0);
	fault_set("invalidate_sessions 2\n");
	CU_ASSERT(hsm_key_destroy(h, &k) == 0);
	hsm_stats_get(h, &st);
	CU_ASSERT(st.session_reopens == 2);
	CU_ASSERT(hsm_key_find(h, &k, "session-key", NULL, 0) == -1);
	hsm_free(h);
	fault_set("\n");
}

static void
test_hsm_hung_call(void)
{
	struct hsm		*h;
	struct hsm_key		 k;
	struct hsm_stats	 st;
	uint8_t			 sig[ED25519_SIG_LEN];
	double			 t0, dt;
	long			 signs;

	NEED_FAULT();
	fault_set("\n");
	h = test_open_token(fault_so, URI_A, pin_src, 1000);
	CU_ASSERT_FATAL(h != NULL);
	CU_ASSERT_FATAL(hsm_key_generate(h, &k, "hang-key", "\x51", 1) == 0);
	/*
	 * The hang lasts until the control file lets it go, so what is
	 * checked is order, not speed: the watchdog gave up while the call
	 * was still stuck in the module ("hanging" 1), and not before its
	 * timeout (a lower bound no load can break).
	 */
	fault_set("hang C_Sign 600000\n");
	t0 = test_now();
	CU_ASSERT(hsm_key_sign(h, &k, sig, "hang", 4) == -1);
	dt = test_now() - t0;
	CU_ASSERT(dt >= 0.95);
	CU_ASSERT(fault_counter("hanging") == 1);
	CU_ASSERT(hsm_last_status(h) == HSM_E_HUNG);
	CU_ASSERT_STRING_EQUAL(hsm_last_call(h), "C_Sign");
	/* Unusable: the next call does not enter the module. */
	signs = fault_counter("C_Sign");
	CU_ASSERT(hsm_key_sign(h, &k, sig, "hang", 4) == -1);
	CU_ASSERT(hsm_last_status(h) == HSM_E_HUNG);
	CU_ASSERT(fault_counter("C_Sign") == signs);
	CU_ASSERT(hsm_reinit(h) == -1);
	CU_ASSERT(fault_counter("hanging") == 1);
	/* Once the call returns, the module is re-initialised. */
	fault_set("\n");
	CU_ASSERT(sign_after_hang(h, &k));
	hsm_stats_get(h, &st);
	CU_ASSERT(st.timeouts == 1);
	CU_ASSERT(st.reinits >= 1);
	hsm_free(h);
}

static void
test_hsm_slow_sign(void)
{
	struct hsm	*h;
	struct hsm_key	 k;
	uint8_t		 sig[ED25519_SIG_LEN];
	double		 t0, fast, slow;
	long		 before;
	int		 i;

	NEED_FAULT();
	fault_set("\n");
	h = test_open_token(fault_so, URI_A, pin_src, 2000);
	CU_ASSERT_FATAL(h != NULL);
	CU_ASSERT_FATAL(hsm_key_generate(h, &k, "slow-key", "\x61", 1) == 0);
	t0 = test_now();
	for (i = 0; i < 10; i++)
		CU_ASSERT(hsm_key_sign(h, &k, sig, "x", 1) == 0);
	fast = test_now() - t0;
	before = fault_counter("signatures");
	fault_set("sign_rate 20\n");
	t0 = test_now();
	for (i = 0; i < 10; i++)
		CU_ASSERT(hsm_key_sign(h, &k, sig, "x", 1) == 0);
	slow = test_now() - t0;
	fprintf(stderr, "  10 signatures: %.3f s unthrottled, %.3f s at "
	    "20/s\n", fast, slow);
	/* 20/s: 10 signatures need at least 9 gaps of 50 ms. */
	CU_ASSERT(slow >= 0.44);
	CU_ASSERT(fault_counter("signatures") == before + 10);
	fault_set("\n");
	hsm_free(h);
}

/* Injected errors: a clean failure naming the call, then recovery. */
static void
test_hsm_injected_errors(void)
{
	struct hsm	*h;
	struct hsm_key	 k;
	uint8_t		 sig[ED25519_SIG_LEN];
	int		 i, failed = 0, ok = 0;

	NEED_FAULT();
	fault_set("\n");
	h = test_open_token(fault_so, URI_A, pin_src, 2000);
	CU_ASSERT_FATAL(h != NULL);
	CU_ASSERT_FATAL(hsm_key_generate(h, &k, "inject-key", "\x71", 1) ==
	    0);
	fault_set("fail C_Sign CKR_GENERAL_ERROR 1\n");
	CU_ASSERT(hsm_key_sign(h, &k, sig, "x", 1) == -1);
	CU_ASSERT(hsm_last_status(h) == HSM_E_FAILED);
	CU_ASSERT(hsm_last_rv(h) == 0x05);
	CU_ASSERT_STRING_EQUAL(hsm_last_call(h), "C_Sign");
	CU_ASSERT(strstr(hsm_last_error(h), "CKR_GENERAL_ERROR") != NULL);
	CU_ASSERT(sign_ok(h, &k, "next one works"));

	/*
	 * Every 50th call fails: each result is a clean 0 or -1.  (A
	 * period shorter than a recovery, which after a failed C_Sign takes
	 * a session reopen and a key refresh, ~15 calls, can lock into
	 * failing every time: a token that broken is not usable anyway.)
	 */
	fault_set("error_every 50 CKR_FUNCTION_FAILED\n");
	for (i = 0; i < 80; i++) {
		if (hsm_key_sign(h, &k, sig, "y", 1) == 0) {
			ok++;
			CU_ASSERT(ob_ed25519_verify(sig, "y", 1, k.pk) == 0);
		} else {
			failed++;
			CU_ASSERT(hsm_last_rv(h) == 0x06);
		}
	}
	CU_ASSERT(ok > 0 && failed > 0);
	fault_set("\n");

	/* A token that answers CKA_EC_POINT as the bare 32 bytes, and
	 * CKA_EC_PARAMS as the OID. */
	fault_set("raw_ec_point 1\nec_params_oid 1\n");
	{
		struct hsm_key	raw;

		CU_ASSERT(hsm_key_find(h, &raw, "inject-key", NULL, 0) == 0);
		CU_ASSERT(memcmp(raw.pk, k.pk, ED25519_PK_LEN) == 0);
	}
	fault_set("\n");

	/* A token that wants the OID: generation falls back to it. */
	fault_set("fail C_GenerateKeyPair CKR_ATTRIBUTE_VALUE_INVALID 1\n");
	CU_ASSERT(hsm_key_generate(h, &k, "oid-key", "\x72", 1) == 0);
	CU_ASSERT(sign_ok(h, &k, "oid"));
	fault_set("fail C_GenerateKeyPair CKR_TEMPLATE_INCONSISTENT 2\n");
	CU_ASSERT(hsm_key_generate(h, &k, "oid-key2", "\x73", 1) == -1);
	CU_ASSERT(hsm_last_rv(h) == 0xd1);
	fault_set("\n");
	hsm_free(h);
}

/*
 * A token that returns a wrong signature with CKR_OK (corrupt_sign in
 * the fault module): hsm_key_sign() must refuse it, clearly, leave the
 * caller's buffer alone, and sign again once the token behaves.
 */
static int
sig_untouched(const uint8_t sig[ED25519_SIG_LEN])
{
	size_t	i;

	for (i = 0; i < ED25519_SIG_LEN; i++)
		if (sig[i] != 0xa5)
			return 0;
	return 1;
}

static void
test_hsm_corrupt_sign(void)
{
	static const char	 msg[] = "corrupt me";
	struct hsm		*h;
	struct hsm_key		 k;
	struct hsm_stats	 st0, st1;
	uint8_t			 sig[ED25519_SIG_LEN];
	uint8_t			 good[ED25519_SIG_LEN];
	long			 c0;
	int			 i;

	NEED_FAULT();
	fault_set("\n");
	h = test_open_token(fault_so, URI_A, pin_src, 2000);
	CU_ASSERT_FATAL(h != NULL);
	CU_ASSERT_FATAL(hsm_key_generate(h, &k, "corrupt-key", "\xc1", 1) ==
	    0);
	CU_ASSERT_FATAL(hsm_key_sign(h, &k, good, msg, strlen(msg)) == 0);
	c0 = fault_counter("corrupted");
	CU_ASSERT_FATAL(c0 >= 0);
	hsm_stats_get(h, &st0);

	/* One bad signature: refused, named, and the buffer untouched. */
	fault_set("corrupt_sign 1\n");
	memset(sig, 0xa5, sizeof(sig));
	CU_ASSERT(hsm_key_sign(h, &k, sig, msg, strlen(msg)) == -1);
	CU_ASSERT(fault_counter("corrupted") == c0 + 1);
	CU_ASSERT(hsm_last_status(h) == HSM_E_FAILED);
	CU_ASSERT_STRING_EQUAL(hsm_last_call(h), "C_Sign");
	CU_ASSERT(strstr(hsm_last_error(h), "does not verify") != NULL);
	CU_ASSERT(sig_untouched(sig));
	hsm_stats_get(h, &st1);
	CU_ASSERT(st1.signatures == st0.signatures);
	/* The count is spent: the same message signs, deterministically. */
	CU_ASSERT(hsm_key_sign(h, &k, sig, msg, strlen(msg)) == 0);
	CU_ASSERT(memcmp(sig, good, sizeof(sig)) == 0);
	CU_ASSERT(fault_counter("corrupted") == c0 + 1);

	/* Every signature bad (a bit in S this time): every one refused. */
	fault_set("corrupt_sign 0 300\n");
	for (i = 0; i < 3; i++) {
		memset(sig, 0xa5, sizeof(sig));
		CU_ASSERT(hsm_key_sign(h, &k, sig, msg, strlen(msg)) == -1);
		CU_ASSERT(sig_untouched(sig));
		CU_ASSERT(hsm_last_rv(h) == 0);
	}
	CU_ASSERT(fault_counter("corrupted") == c0 + 4);
	/* Through the codec's signature oracle too. */
	{
		struct hs_signer	s;

		memset(&s, 0, sizeof(s));
		hsm_key_signer(&s, &k);
		memset(sig, 0xa5, sizeof(sig));
		CU_ASSERT(s.sign(s.ctx, sig, (const uint8_t *)msg,
		    strlen(msg)) == -1);
		CU_ASSERT(sig_untouched(sig));
	}
	CU_ASSERT(fault_counter("corrupted") == c0 + 5);

	/* The same fault from the environment (read with the file). */
	setenv("OBHSM_P11FAULT_CORRUPT_SIGN", "1", 1);
	fault_set("\n");
	CU_ASSERT(hsm_key_sign(h, &k, sig, msg, strlen(msg)) == -1);
	unsetenv("OBHSM_P11FAULT_CORRUPT_SIGN");
	CU_ASSERT(fault_counter("corrupted") == c0 + 6);

	/* Cleared: signing works and nothing more is corrupted. */
	fault_set("# cleared\n");
	CU_ASSERT(sign_ok(h, &k, "after the fault"));
	CU_ASSERT(hsm_key_sign(h, &k, sig, msg, strlen(msg)) == 0);
	CU_ASSERT(memcmp(sig, good, sizeof(sig)) == 0);
	CU_ASSERT(fault_counter("corrupted") == c0 + 6);
	hsm_stats_get(h, &st1);
	CU_ASSERT(st1.signatures == st0.signatures + 3);
	CU_ASSERT(hsm_key_destroy(h, &k) == 0);
	hsm_free(h);
}

/* A call that hangs while opening: the open fails, the handle frees. */
static void
test_hsm_hung_open(void)
{
	struct hsm_config	 c;
	struct hsm		*h;
	double			 end;

	NEED_FAULT();
	fault_set("hang C_Login 600000\n");
	memset(&c, 0, sizeof(c));
	c.module = fault_so;
	c.uri = URI_A;
	c.pin_source = pin_src;
	c.timeout_ms = 1000;
	CU_ASSERT_FATAL((h = hsm_new(&c)) != NULL);
	CU_ASSERT(hsm_open(h) == -1);
	CU_ASSERT(hsm_last_status(h) == HSM_E_HUNG);
	CU_ASSERT_STRING_EQUAL(hsm_last_call(h), "C_Login");
	CU_ASSERT(fault_counter("hanging") == 1);
	/*
	 * Let it go, and give the real C_Login a moment to return, so that
	 * hsm_free() finds the worker idle instead of leaking the module.
	 */
	fault_set("\n");
	end = test_now() + 30;
	while (fault_counter("hanging") != 0 && test_now() < end)
		usleep(20 * 1000);
	usleep(200 * 1000);
	hsm_free(h);
	/* The module is usable again in this process. */
	h = test_open_token(fault_so, URI_A, pin_src, 1000);
	CU_ASSERT(h != NULL);
	hsm_free(h);
}

/* Garbage in the fault module's control file: reported, ignored. */
static void
test_hsm_fault_control_garbage(void)
{
	static const char	 bad[] = "removed 2\nremoved\nhang C_Nope 5\n"
	    "fail C_Sign\nsign_rate -1\nerror_every 0x5\n"
	    "fail C_Sign CKR_BOGUS\npin_tries 01\n\x01\x02\n removed 1\n"
	    "removed 1 \nremoved  1\n";
	struct hsm		*h;
	struct hsm_key		 k;
	char			 text[2048];

	NEED_FAULT();
	/* The bad lines, then one over-long line. */
	memset(text, 'x', sizeof(text));
	memcpy(text, bad, sizeof(bad) - 1);
	text[sizeof(text) - 1] = '\0';
	fault_set(text);
	h = test_open_token(fault_so, URI_A, pin_src, 2000);
	CU_ASSERT_FATAL(h != NULL);
	CU_ASSERT_FATAL(hsm_key_generate(h, &k, "garbage-key", "\x91", 1) ==
	    0);
	CU_ASSERT(sign_ok(h, &k, "still works"));
	CU_ASSERT(fault_counter("injected") >= 0);
	hsm_free(h);
	fault_set("\n");
}

/*
 * The key index: built from a token that already holds keys, answers
 * finds and clears generations without token searches (counted in
 * hsm_stats), falls back to the token for names outside it, and is
 * rebuilt after removal and after a lost session.
 */
static void
ix_name(char *label, size_t len, uint8_t id[4], const char *pfx,
    unsigned i)
{
	snprintf(label, len, "%s%u", pfx, i);
	memcpy(id, "ix", 2);
	id[2] = (uint8_t)(i >> 8);
	id[3] = (uint8_t)i;
}

static void
test_hsm_index_find_generate(void)
{
	struct hsm		*h, *g;
	struct hsm_key		 k[6], f, other;
	struct hsm_stats	 st0, st;
	char			 label[64];
	uint8_t			 id[4];
	unsigned		 i;

	NEED_FAULT();
	fault_set("\n");
	/* Keys already on the token, made without an index; one outside
	 * the prefix. */
	g = test_open_token(fault_so, URI_B, pin_src, 0);
	CU_ASSERT_FATAL(g != NULL);
	for (i = 0; i < 5; i++) {
		ix_name(label, sizeof(label), id, "ixp-", i);
		CU_ASSERT_FATAL(hsm_key_generate(g, &k[i], label, id, 4) ==
		    0);
	}
	ix_name(label, sizeof(label), id, "ixq-", 900);
	CU_ASSERT_FATAL(hsm_key_generate(g, &other, label, id, 4) == 0);

	h = test_open_token(fault_so, URI_B, pin_src, 5000);
	CU_ASSERT_FATAL(h != NULL);
	CU_ASSERT(hsm_index_count(h) == 0);
	CU_ASSERT_FATAL(hsm_index_load(h, "ixp-") == 0);
	CU_ASSERT(hsm_index_count(h) == 5);
	hsm_stats_get(h, &st0);
	CU_ASSERT(st0.index_builds == 1);

	/* Found from the index: no search, the same keys. */
	for (i = 0; i < 5; i++) {
		ix_name(label, sizeof(label), id, "ixp-", i);
		CU_ASSERT_FATAL(hsm_key_find(h, &f, label, id, 4) == 0);
		CU_ASSERT(memcmp(f.pk, k[i].pk, 32) == 0);
		CU_ASSERT(sign_ok(h, &f, "indexed"));
	}
	CU_ASSERT(hsm_key_find(h, &f, NULL, id, 4) == 0);
	CU_ASSERT_STRING_EQUAL(f.label, "ixp-4");
	CU_ASSERT(hsm_key_find(h, &f, "ixp-4", "zz", 2) == -1);
	CU_ASSERT(hsm_last_status(h) == HSM_E_NOT_FOUND);
	CU_ASSERT(hsm_key_find(h, &f, "ixp-77", NULL, 0) == -1);
	CU_ASSERT(hsm_last_status(h) == HSM_E_NOT_FOUND);
	hsm_stats_get(h, &st);
	CU_ASSERT(st.searches == st0.searches);

	/* Outside the prefix: the token is searched. */
	CU_ASSERT(hsm_key_find(h, &f, "ixq-900", NULL, 0) == 0);
	CU_ASSERT(memcmp(f.pk, other.pk, 32) == 0);
	hsm_stats_get(h, &st);
	CU_ASSERT(st.searches > st0.searches);

	/* Generation where the index says free: no existence search. */
	hsm_stats_get(h, &st0);
	ix_name(label, sizeof(label), id, "ixp-", 5);
	CU_ASSERT_FATAL(hsm_key_generate(h, &k[5], label, id, 4) == 0);
	hsm_stats_get(h, &st);
	CU_ASSERT(st.searches == st0.searches);
	CU_ASSERT(hsm_index_count(h) == 6);
	CU_ASSERT(hsm_key_find(h, &f, label, id, 4) == 0);
	CU_ASSERT(memcmp(f.pk, k[5].pk, 32) == 0);
	CU_ASSERT(sign_ok(h, &f, "generated"));
	/* ... and the token agrees (a handle without index). */
	CU_ASSERT(hsm_key_find(g, &f, label, id, 4) == 0);
	CU_ASSERT(memcmp(f.pk, k[5].pk, 32) == 0);

	/* Taken names: an indexed key's label or id, refused at once; an
	 * id only an unindexed key carries, refused by the token. */
	hsm_stats_get(h, &st0);
	CU_ASSERT(hsm_key_generate(h, &f, "ixp-3", "new", 3) == -1);
	CU_ASSERT(hsm_last_status(h) == HSM_E_EXISTS);
	ix_name(label, sizeof(label), id, "ixp-", 2);
	CU_ASSERT(hsm_key_generate(h, &f, "ixp-new", id, 4) == -1);
	CU_ASSERT(hsm_last_status(h) == HSM_E_EXISTS);
	hsm_stats_get(h, &st);
	CU_ASSERT(st.searches == st0.searches);
	ix_name(label, sizeof(label), id, "ixq-", 900);
	CU_ASSERT(hsm_key_generate(h, &f, "ixp-900", id, 4) == -1);
	CU_ASSERT(hsm_last_status(h) == HSM_E_EXISTS);
	hsm_stats_get(h, &st);
	CU_ASSERT(st.searches > st0.searches);
	CU_ASSERT(hsm_index_count(h) == 6);

	/* Destroyed: gone from the index and from the token. */
	CU_ASSERT_FATAL(hsm_key_find(h, &f, "ixp-0", NULL, 0) == 0);
	CU_ASSERT(hsm_key_destroy(h, &f) == 0);
	CU_ASSERT(hsm_index_count(h) == 5);
	CU_ASSERT(hsm_key_find(h, &f, "ixp-0", NULL, 0) == -1);
	CU_ASSERT(hsm_last_status(h) == HSM_E_NOT_FOUND);
	CU_ASSERT(hsm_key_find(g, &f, "ixp-0", NULL, 0) == -1);
	CU_ASSERT(hsm_last_status(g) == HSM_E_NOT_FOUND);

	/* Dropped: back to token searches, same answers. */
	hsm_index_drop(h);
	CU_ASSERT(hsm_index_count(h) == 0);
	hsm_stats_get(h, &st0);
	CU_ASSERT(hsm_key_find(h, &f, "ixp-1", NULL, 0) == 0);
	CU_ASSERT(memcmp(f.pk, k[1].pk, 32) == 0);
	hsm_stats_get(h, &st);
	CU_ASSERT(st.searches > st0.searches);
	hsm_free(h);
	hsm_free(g);
}

/*
 * A key the index forgets (hsm_index_forget) is still on the token:
 * found there by label or id, its names still taken, and indexed again
 * by the next load.  The other keys are still answered by the index.
 */
static void
test_hsm_index_forget(void)
{
	struct hsm		*h;
	struct hsm_key		 k[3], f;
	struct hsm_stats	 st0, st;
	char			 label[64];
	uint8_t			 id[4];
	unsigned		 i;

	NEED_FAULT();
	fault_set("\n");
	/* Ids of their own: the token holds the other tests' keys. */
	h = test_open_token(fault_so, URI_B, pin_src, 5000);
	CU_ASSERT_FATAL(h != NULL);
	CU_ASSERT_FATAL(hsm_index_load(h, "ixf-") == 0);
	for (i = 0; i < 3; i++) {
		ix_name(label, sizeof(label), id, "ixf-", 300 + i);
		CU_ASSERT_FATAL(hsm_key_generate(h, &k[i], label, id, 4) ==
		    0);
	}
	CU_ASSERT(hsm_index_count(h) == 3);
	ix_name(label, sizeof(label), id, "ixf-", 301);
	hsm_index_forget(h, label, id, 4);
	CU_ASSERT(hsm_index_count(h) == 2);
	/* Names no entry has together: nothing more goes. */
	hsm_index_forget(h, "ixf-77", id, 4);
	hsm_index_forget(h, "ixf-302", "zz", 2);
	CU_ASSERT(hsm_index_count(h) == 2);

	hsm_stats_get(h, &st0);
	CU_ASSERT(hsm_key_find(h, &f, label, id, 4) == 0 &&
	    memcmp(f.pk, k[1].pk, 32) == 0);
	CU_ASSERT(hsm_key_find(h, &f, NULL, id, 4) == 0 &&
	    memcmp(f.pk, k[1].pk, 32) == 0);
	CU_ASSERT(sign_ok(h, &f, "forgotten"));
	hsm_stats_get(h, &st);
	CU_ASSERT(st.searches > st0.searches);
	CU_ASSERT(hsm_key_generate(h, &f, label, "new", 3) == -1);
	CU_ASSERT(hsm_last_status(h) == HSM_E_EXISTS);
	CU_ASSERT(hsm_key_generate(h, &f, "ixf-new", id, 4) == -1);
	CU_ASSERT(hsm_last_status(h) == HSM_E_EXISTS);

	hsm_stats_get(h, &st0);
	ix_name(label, sizeof(label), id, "ixf-", 302);
	CU_ASSERT(hsm_key_find(h, &f, label, id, 4) == 0 &&
	    memcmp(f.pk, k[2].pk, 32) == 0);
	hsm_stats_get(h, &st);
	CU_ASSERT(st.searches == st0.searches);

	CU_ASSERT_FATAL(hsm_index_load(h, "ixf-") == 0);
	CU_ASSERT(hsm_index_count(h) == 3);
	/* The token as it was, for the tests after. */
	for (i = 0; i < 3; i++) {
		ix_name(label, sizeof(label), id, "ixf-", 300 + i);
		CU_ASSERT(hsm_key_find(h, &f, label, id, 4) == 0 &&
		    hsm_key_destroy(h, &f) == 0);
	}
	hsm_free(h);
}

/*
 * What the index does not see: a key another process makes after the
 * load.  The next load sees it, and a name given twice meanwhile is
 * then ambiguous, never silently one of the two.
 */
static void
test_hsm_index_behind_back(void)
{
	struct hsm	*h, *g;
	struct hsm_key	 k, f;

	NEED_FAULT();
	fault_set("\n");
	h = test_open_token(fault_so, URI_B, pin_src, 0);
	g = test_open_token(fault_so, URI_B, pin_src, 0);
	CU_ASSERT_FATAL(h != NULL && g != NULL);
	CU_ASSERT_FATAL(hsm_index_load(h, "ixb-") == 0);
	CU_ASSERT(hsm_index_count(h) == 0);
	CU_ASSERT_FATAL(hsm_key_generate(g, &k, "ixb-late", "L1", 2) == 0);
	CU_ASSERT(hsm_key_find(h, &f, "ixb-late", NULL, 0) == -1);
	CU_ASSERT(hsm_last_status(h) == HSM_E_NOT_FOUND);
	CU_ASSERT_FATAL(hsm_index_load(h, "ixb-") == 0);
	CU_ASSERT(hsm_index_count(h) == 1);
	CU_ASSERT(hsm_key_find(h, &f, "ixb-late", NULL, 0) == 0);
	CU_ASSERT(memcmp(f.pk, k.pk, 32) == 0);

	/* The same label made by g behind h's index, then by h. */
	CU_ASSERT_FATAL(hsm_key_generate(g, &k, "ixb-dup", "D1", 2) == 0);
	CU_ASSERT(hsm_key_generate(h, &f, "ixb-dup", "D2", 2) == 0);
	CU_ASSERT_FATAL(hsm_index_load(h, "ixb-") == 0);
	CU_ASSERT(hsm_key_find(h, &f, "ixb-dup", NULL, 0) == -1);
	CU_ASSERT(hsm_last_status(h) == HSM_E_AMBIGUOUS);
	/* By id each is still one key. */
	CU_ASSERT(hsm_key_find(h, &f, "ixb-dup", "D1", 2) == 0);
	CU_ASSERT(memcmp(f.pk, k.pk, 32) == 0);
	CU_ASSERT(hsm_key_destroy(h, &f) == 0);
	CU_ASSERT(hsm_key_find(h, &f, "ixb-dup", NULL, 0) == 0);
	CU_ASSERT(hsm_key_find(g, &f, "ixb-dup", NULL, 0) == 0);
	hsm_free(h);
	hsm_free(g);
}

/* Recovery: after removal and after a lost session the handles are
 * stale, and the index is rebuilt once, not searched key by key. */
static void
test_hsm_index_recovery(void)
{
	struct hsm		*h;
	struct hsm_key		 k[3], f;
	struct hsm_stats	 st0, st;
	uint8_t			 sig[ED25519_SIG_LEN], id[4];
	char			 label[64];
	unsigned		 i;

	NEED_FAULT();
	fault_set("\n");
	h = test_open_token(fault_so, URI_A, pin_src, 5000);
	CU_ASSERT_FATAL(h != NULL);
	CU_ASSERT_FATAL(hsm_index_load(h, "ixr-") == 0);
	for (i = 0; i < 3; i++) {
		ix_name(label, sizeof(label), id, "ixr-", i);
		CU_ASSERT_FATAL(hsm_key_generate(h, &k[i], label, id, 4) ==
		    0);
	}
	CU_ASSERT(hsm_index_count(h) == 3);
	hsm_stats_get(h, &st0);

	fault_set("removed 1\n");
	CU_ASSERT(hsm_key_sign(h, &k[0], sig, "out", 3) == -1);
	CU_ASSERT(hsm_last_status(h) == HSM_E_NO_TOKEN);
	CU_ASSERT(hsm_key_find(h, &f, "ixr-1", NULL, 0) == -1);
	CU_ASSERT(hsm_last_status(h) == HSM_E_NO_TOKEN);
	fault_set("removed 0\n");
	/* Every key signs again: one rebuild, no search per key. */
	for (i = 0; i < 3; i++)
		CU_ASSERT(sign_ok(h, &k[i], "back"));
	hsm_stats_get(h, &st);
	CU_ASSERT(st.reinits > st0.reinits);
	CU_ASSERT(st.index_builds == st0.index_builds + 1);
	CU_ASSERT(st.searches == st0.searches + 1);
	CU_ASSERT(hsm_index_count(h) == 3);
	CU_ASSERT(hsm_key_find(h, &f, "ixr-2", NULL, 0) == 0);
	CU_ASSERT(memcmp(f.pk, k[2].pk, 32) == 0);

	/* A lost session: the same. */
	hsm_stats_get(h, &st0);
	fault_set("invalidate_sessions 7\n");
	CU_ASSERT(sign_ok(h, &k[1], "new session"));
	hsm_stats_get(h, &st);
	CU_ASSERT(st.session_reopens == st0.session_reopens + 1);
	CU_ASSERT(st.index_builds == st0.index_builds + 1);
	/* Generated after the rebuild: joins the rebuilt index. */
	CU_ASSERT_FATAL(hsm_key_generate(h, &f, "ixr-3", "ixr3", 4) == 0);
	CU_ASSERT(hsm_index_count(h) == 4);
	CU_ASSERT(sign_ok(h, &f, "after"));

	/* A key swapped behind our back under the same name is refused:
	 * the rebuilt index holds the token's public key, not ours. */
	CU_ASSERT_FATAL(hsm_key_find(h, &f, "ixr-0", NULL, 0) == 0);
	CU_ASSERT(hsm_key_destroy(h, &f) == 0);
	ix_name(label, sizeof(label), id, "ixr-", 0);
	CU_ASSERT_FATAL(hsm_key_generate(h, &f, label, id, 4) == 0);
	CU_ASSERT(memcmp(f.pk, k[0].pk, 32) != 0);
	fault_set("invalidate_sessions 8\n");
	CU_ASSERT(hsm_key_sign(h, &k[0], sig, "swapped", 7) == -1);
	CU_ASSERT(hsm_last_status(h) == HSM_E_NOT_FOUND);
	CU_ASSERT(sign_ok(h, &f, "the new one"));
	hsm_free(h);
	fault_set("\n");
}

/* Public key objects on the token for label, counted by pkcs11-tool
 * (OpenSC) as an independent reader; -1 if it cannot be asked. */
static int
pub_objects(const char *token, const char *label)
{
	char	cmd[512], line[512], want[160], *p, *q;
	FILE	*fp;
	int	n = 0;

	if (access("/usr/bin/pkcs11-tool", X_OK) != 0)
		return -1;
	snprintf(cmd, sizeof(cmd), "pkcs11-tool --module "
	    "/usr/lib/softhsm/libsofthsm2.so --token-label %s --login "
	    "--pin " PIN " --list-objects --type pubkey --label %s "
	    "2>/dev/null", token, label);
	if ((fp = popen(cmd, "r")) == NULL)
		return -1;
	/* --label does not filter a listing: match the label lines. */
	snprintf(want, sizeof(want), "label:%s", label);
	while (fgets(line, sizeof(line), fp) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		for (p = q = line; *p != '\0'; p++)
			if (*p != ' ' || (q > line && q[-1] != ' ' &&
			    q[-1] != ':'))
				*q++ = *p;
		*q = '\0';
		if (strcmp(line, want) == 0)
			n++;
	}
	pclose(fp);
	return n;
}

/*
 * The public key kept on the private object (CKA_PUBLIC_KEY_INFO), one
 * token object per key; and a token that refuses the attribute gets
 * public key objects, as before.  Both kinds are found, listed,
 * indexed and sign.
 */
static void
test_hsm_spki(void)
{
	struct hsm	*h, *g;
	struct hsm_key	 a, b, c, f, *keys = NULL;
	size_t		 n = 0, i, seen = 0;

	NEED_FAULT();
	fault_set("\n");
	h = test_open_token(fault_so, URI_A, pin_src, 0);
	g = test_open_token(fault_so, URI_A, pin_src, 0);
	CU_ASSERT_FATAL(h != NULL && g != NULL);
	CU_ASSERT_FATAL(hsm_key_generate(h, &a, "spki-a", "sp-a", 4) == 0);
	CU_ASSERT(sign_ok(h, &a, "one object"));
	if (pub_objects("obhsm-a", "spki-a") >= 0)
		CU_ASSERT(pub_objects("obhsm-a", "spki-a") == 0);
	/* Another handle reads it from the private object. */
	CU_ASSERT_FATAL(hsm_key_find(g, &f, "spki-a", NULL, 0) == 0);
	CU_ASSERT(memcmp(f.pk, a.pk, 32) == 0);
	CU_ASSERT(sign_ok(g, &f, "found"));
	hsm_free(h);

	/* A token that will not keep it: one retry, then key objects. */
	fault_set("fail C_SetAttributeValue CKR_ATTRIBUTE_READ_ONLY 0\n");
	h = test_open_token(fault_so, URI_A, pin_src, 0);
	CU_ASSERT_FATAL(h != NULL);
	CU_ASSERT_FATAL(hsm_key_generate(h, &b, "spki-b", "sp-b", 4) == 0);
	CU_ASSERT_FATAL(hsm_key_generate(h, &c, "spki-c", "sp-c", 4) == 0);
	CU_ASSERT(sign_ok(h, &b, "two objects"));
	fault_set("\n");
	if (pub_objects("obhsm-a", "spki-b") >= 0) {
		CU_ASSERT(pub_objects("obhsm-a", "spki-b") == 1);
		CU_ASSERT(pub_objects("obhsm-a", "spki-c") == 1);
	}
	CU_ASSERT_FATAL(hsm_key_find(g, &f, "spki-b", NULL, 0) == 0);
	CU_ASSERT(memcmp(f.pk, b.pk, 32) == 0);
	CU_ASSERT(hsm_key_find(g, &f, "spki-b", "sp-a", 4) == -1);

	/* Listed and indexed alike. */
	CU_ASSERT_FATAL(hsm_key_list(g, &keys, &n) == 0);
	for (i = 0; i < n; i++) {
		if (strcmp(keys[i].label, "spki-a") == 0)
			seen += memcmp(keys[i].pk, a.pk, 32) == 0;
		if (strcmp(keys[i].label, "spki-b") == 0)
			seen += memcmp(keys[i].pk, b.pk, 32) == 0;
	}
	free(keys);
	CU_ASSERT(seen == 2);
	CU_ASSERT_FATAL(hsm_index_load(g, "spki-") == 0);
	CU_ASSERT(hsm_index_count(g) == 3);
	CU_ASSERT(hsm_key_find(g, &f, "spki-a", NULL, 0) == 0);
	CU_ASSERT(memcmp(f.pk, a.pk, 32) == 0);
	CU_ASSERT(hsm_key_find(g, &f, "spki-c", NULL, 0) == 0);
	CU_ASSERT(memcmp(f.pk, c.pk, 32) == 0);
	CU_ASSERT(sign_ok(g, &f, "indexed"));
	/* Destroyed, whichever kind. */
	CU_ASSERT(hsm_key_find(g, &f, "spki-a", NULL, 0) == 0);
	CU_ASSERT(hsm_key_destroy(g, &f) == 0);
	CU_ASSERT(hsm_key_find(g, &f, "spki-b", NULL, 0) == 0);
	CU_ASSERT(hsm_key_destroy(g, &f) == 0);
	CU_ASSERT(hsm_key_find(h, &f, "spki-a", NULL, 0) == -1);
	CU_ASSERT(hsm_last_status(h) == HSM_E_NOT_FOUND);
	CU_ASSERT(hsm_key_find(h, &f, "spki-b", NULL, 0) == -1);
	CU_ASSERT(hsm_last_status(h) == HSM_E_NOT_FOUND);
	if (pub_objects("obhsm-a", "spki-b") >= 0)
		CU_ASSERT(pub_objects("obhsm-a", "spki-b") == 0);
	hsm_free(h);
	hsm_free(g);
}

/*
 * Objects that are not keys (a data object has no CKA_KEY_TYPE and no
 * CKA_ID) do not stop the enumeration, and their labels still count as
 * taken when a key is generated.
 */
static void
test_hsm_index_other_objects(void)
{
	char		 cmd[PATH_MAX + 512], path[PATH_MAX + 16];
	struct hsm	*h;
	struct hsm_key	 k;

	NEED_FAULT();
	fault_set("\n");
	if (access("/usr/bin/pkcs11-tool", X_OK) != 0)
		TEST_SKIP("no pkcs11-tool");
	snprintf(path, sizeof(path), "%s/data.bin", hsm_dir);
	CU_ASSERT_FATAL(write_file(path, "not a key\n", 0600) == 0);
	snprintf(cmd, sizeof(cmd), "pkcs11-tool --module "
	    "/usr/lib/softhsm/libsofthsm2.so --token-label obhsm-b --login "
	    "--pin " PIN " --write-object %s --type data --label ixo-data "
	    ">/dev/null 2>&1", path);
	CU_ASSERT_FATAL(system(cmd) == 0);
	h = test_open_token(fault_so, URI_B, pin_src, 0);
	CU_ASSERT_FATAL(h != NULL);
	CU_ASSERT_FATAL(hsm_index_load(h, "ixo-") == 0);
	CU_ASSERT(hsm_index_count(h) == 0);
	CU_ASSERT(hsm_key_generate(h, &k, "ixo-data", "ixo1", 4) == -1);
	CU_ASSERT(hsm_last_status(h) == HSM_E_EXISTS);
	CU_ASSERT(hsm_key_generate(h, &k, "ixo-key", "ixo2", 4) == 0);
	CU_ASSERT(hsm_index_count(h) == 1);
	CU_ASSERT(hsm_key_find(h, &k, "ixo-data", NULL, 0) == -1);
	CU_ASSERT(hsm_last_status(h) == HSM_E_NOT_FOUND);
	CU_ASSERT(hsm_key_find(h, &k, "ixo-key", NULL, 0) == 0);
	CU_ASSERT(sign_ok(h, &k, "beside a data object"));
	hsm_free(h);
}

/*
 * Session copies of keys (hsm_key_sign() in hsm.h).  The fault module's
 * counters show what reached the token: C_CopyObject calls, and
 * session_key_signs, the C_SignInit calls whose key was a session
 * object (a copy) rather than the token object.
 */

/* A call counter, 0 when the module has not seen the call yet. */
static long
fault_count(const char *name)
{
	long	v = fault_counter(name);

	return v < 0 ? 0 : v;
}

/* Signs with its copy, made once; finds and lists see only the token's
 * key; destroying the key destroys the copy. */
static void
test_hsm_copy_used(void)
{
	struct hsm		*h;
	struct hsm_key		 k, f, *keys = NULL;
	struct hsm_stats	 st;
	uint8_t			 sig[ED25519_SIG_LEN];
	long			 c0, s0, d0;
	size_t			 n = 0, i, seen = 0;

	NEED_FAULT();
	fault_set("\n");
	h = test_open_token(fault_so, URI_A, pin_src, 0);
	CU_ASSERT_FATAL(h != NULL);
	CU_ASSERT_FATAL(hsm_key_generate(h, &k, "cp-used", "cpu1", 4) == 0);
	c0 = fault_count("C_CopyObject");
	s0 = fault_count("session_key_signs");
	for (i = 0; i < 3; i++)
		CU_ASSERT(sign_ok(h, &k, "with the copy"));
	CU_ASSERT(fault_count("C_CopyObject") == c0 + 1);
	CU_ASSERT(fault_count("session_key_signs") == s0 + 3);
	hsm_stats_get(h, &st);
	CU_ASSERT(st.copies == 1 && st.copies_made == 1);
	CU_ASSERT(st.signatures == 3);

	/* The copy carries the same label and id: never found or listed. */
	CU_ASSERT(hsm_key_find(h, &f, "cp-used", NULL, 0) == 0);
	CU_ASSERT(f.priv == k.priv);
	CU_ASSERT(hsm_key_find(h, &f, NULL, "cpu1", 4) == 0);
	CU_ASSERT(hsm_key_list(h, &keys, &n) == 0);
	for (i = 0; i < n; i++)
		if (strcmp(keys[i].label, "cp-used") == 0)
			seen++;
	CU_ASSERT(seen == 1);
	free(keys);
	CU_ASSERT(hsm_key_generate(h, &f, "cp-used", "cpu2", 4) == -1);
	CU_ASSERT(hsm_last_status(h) == HSM_E_EXISTS);

	/* The key goes, and its copy with it: it signs no more. */
	d0 = fault_count("C_DestroyObject");
	CU_ASSERT(hsm_key_destroy(h, &k) == 0);
	CU_ASSERT(fault_count("C_DestroyObject") == d0 + 2);
	hsm_stats_get(h, &st);
	CU_ASSERT(st.copies == 0);
	CU_ASSERT(hsm_key_sign(h, &k, sig, "gone", 4) == -1);
	CU_ASSERT(fault_count("session_key_signs") == s0 + 3);
	hsm_free(h);
}

/* With copies turned off (signer "key-copies false"), the token object
 * signs and the token is never asked for a copy. */
static void
test_hsm_copy_off(void)
{
	struct hsm_config	 c;
	struct hsm		*h;
	struct hsm_key		 k;
	struct hsm_stats	 st;
	long			 c0, s0;
	int			 i;

	NEED_FAULT();
	fault_set("\n");
	memset(&c, 0, sizeof(c));
	c.module = fault_so;
	c.uri = URI_A;
	c.pin_source = pin_src;
	c.no_key_copies = 1;
	CU_ASSERT_FATAL((h = hsm_new(&c)) != NULL);
	CU_ASSERT_FATAL(hsm_open(h) == 0);
	CU_ASSERT_FATAL(hsm_key_generate(h, &k, "cp-off", "cpo1", 4) == 0);
	c0 = fault_count("C_CopyObject");
	s0 = fault_count("session_key_signs");
	for (i = 0; i < 3; i++)
		CU_ASSERT(sign_ok(h, &k, "without a copy"));
	CU_ASSERT(fault_count("C_CopyObject") == c0);
	CU_ASSERT(fault_count("session_key_signs") == s0);
	hsm_stats_get(h, &st);
	CU_ASSERT(st.copies == 0 && st.copies_made == 0);
	CU_ASSERT(st.signatures == 3);
	CU_ASSERT(hsm_key_destroy(h, &k) == 0);
	hsm_free(h);
}

/* Opens token A through the fault module with copies checked against
 * their token objects every check_s seconds. */
static struct hsm *
copy_open(unsigned check_s)
{
	struct hsm_config	 c;
	struct hsm		*h;

	memset(&c, 0, sizeof(c));
	c.module = fault_so;
	c.uri = URI_A;
	c.pin_source = pin_src;
	c.copy_check_s = check_s;
	if ((h = hsm_new(&c)) == NULL)
		return NULL;
	if (hsm_open(h) == -1) {
		hsm_free(h);
		return NULL;
	}
	return h;
}

/*
 * A key destroyed by another process (revoked, purged) stops signing
 * through its copy once its token object is looked at again: at once
 * with copy_check_s 0, not within a long one (the signer's is 60 s).
 */
static void
test_hsm_copy_key_gone(void)
{
	char		 cmd[PATH_MAX + 512];
	struct hsm	*h, *g;
	struct hsm_key	 k, kg;
	uint8_t		 sig[ED25519_SIG_LEN];
	long		 s0;

	NEED_FAULT();
	fault_set("\n");
	if (access("/usr/bin/pkcs11-tool", X_OK) != 0)
		TEST_SKIP("no pkcs11-tool");
	CU_ASSERT_FATAL((h = copy_open(0)) != NULL);
	CU_ASSERT_FATAL((g = copy_open(3600)) != NULL);
	CU_ASSERT_FATAL(hsm_key_generate(h, &k, "cp-gone", "cpg1", 4) == 0);
	CU_ASSERT_FATAL(hsm_key_find(g, &kg, "cp-gone", NULL, 0) == 0);
	s0 = fault_count("session_key_signs");
	CU_ASSERT(sign_ok(h, &k, "before"));
	CU_ASSERT(sign_ok(g, &kg, "before"));
	CU_ASSERT(fault_count("session_key_signs") == s0 + 2);
	(void)snprintf(cmd, sizeof(cmd), "pkcs11-tool --module "
	    "/usr/lib/softhsm/libsofthsm2.so --token-label obhsm-a --login "
	    "--pin " PIN " --delete-object --type privkey --label cp-gone "
	    ">/dev/null 2>&1");
	CU_ASSERT_FATAL(system(cmd) == 0);
	CU_ASSERT(hsm_key_sign(h, &k, sig, "after", 5) == -1);
	/* The long check still signs with its copy: the documented delay. */
	CU_ASSERT(sign_ok(g, &kg, "within the delay"));
	CU_ASSERT(fault_count("session_key_signs") == s0 + 3);
	hsm_free(h);
	hsm_free(g);
}

/*
 * A copy that is not the key's (the token gave the handle to another
 * key: stood for here by a key whose public half is changed) is
 * dropped, and its signature is never handed out.
 */
static void
test_hsm_copy_not_the_key(void)
{
	struct hsm		*h;
	struct hsm_key		 k;
	struct hsm_stats	 st;
	uint8_t			 sig[ED25519_SIG_LEN];

	NEED_FAULT();
	fault_set("\n");
	CU_ASSERT_FATAL((h = copy_open(60)) != NULL);
	CU_ASSERT_FATAL(hsm_key_generate(h, &k, "cp-other", "cpx1", 4) == 0);
	CU_ASSERT(sign_ok(h, &k, "its own"));
	hsm_stats_get(h, &st);
	CU_ASSERT(st.copies == 1 && st.copies_made == 1);
	k.pk[0] ^= 1;
	CU_ASSERT(hsm_key_sign(h, &k, sig, "other", 5) == -1);
	hsm_stats_get(h, &st);
	/* Made again for the changed key, then dropped when it did not
	 * verify; the token object did not verify either. */
	CU_ASSERT(st.copies == 0 && st.copies_made == 2);
	k.pk[0] ^= 1;
	CU_ASSERT(sign_ok(h, &k, "its own again"));
	hsm_stats_get(h, &st);
	CU_ASSERT(st.copies == 1 && st.copies_made == 3);
	CU_ASSERT(hsm_key_destroy(h, &k) == 0);
	hsm_free(h);
}

/* A copy that reads back extractable or not sensitive is destroyed and
 * never used, and the token is not asked for copies again. */
static void
test_hsm_copy_exposed(void)
{
	struct hsm		*h;
	struct hsm_key		 k[2];
	struct hsm_stats	 st;
	long			 c0, s0, d0, g0;

	NEED_FAULT();
	fault_set("copy_exposed 1\n");
	h = test_open_token(fault_so, URI_A, pin_src, 0);
	CU_ASSERT_FATAL(h != NULL);
	CU_ASSERT_FATAL(hsm_key_generate(h, &k[0], "cp-exp-0", "cpe0", 4) ==
	    0);
	CU_ASSERT_FATAL(hsm_key_generate(h, &k[1], "cp-exp-1", "cpe1", 4) ==
	    0);
	c0 = fault_count("C_CopyObject");
	s0 = fault_count("session_key_signs");
	d0 = fault_count("C_DestroyObject");
	g0 = fault_count("signatures");
	CU_ASSERT(sign_ok(h, &k[0], "token object"));
	CU_ASSERT(sign_ok(h, &k[0], "token object"));
	CU_ASSERT(sign_ok(h, &k[1], "token object"));
	CU_ASSERT(fault_count("C_CopyObject") == c0 + 1);
	CU_ASSERT(fault_count("C_DestroyObject") == d0 + 1);
	CU_ASSERT(fault_count("session_key_signs") == s0);
	CU_ASSERT(fault_count("signatures") == g0 + 3);
	hsm_stats_get(h, &st);
	CU_ASSERT(st.copies == 0 && st.copies_made == 0);
	fault_set("\n");
	CU_ASSERT(hsm_key_destroy(h, &k[0]) == 0);
	CU_ASSERT(hsm_key_destroy(h, &k[1]) == 0);
	hsm_free(h);
}

/* A module that refuses C_CopyObject: the token object signs, and the
 * refusal is remembered.  Out of device memory: no copies for the rest
 * of the session, copies again in the next. */
static void
test_hsm_copy_refused(void)
{
	struct hsm		*h;
	struct hsm_key		 k[2];
	struct hsm_stats	 st;
	long			 c0, s0;

	NEED_FAULT();
	fault_set("fail C_CopyObject CKR_FUNCTION_NOT_SUPPORTED 0\n");
	h = test_open_token(fault_so, URI_A, pin_src, 0);
	CU_ASSERT_FATAL(h != NULL);
	CU_ASSERT_FATAL(hsm_key_generate(h, &k[0], "cp-ref-0", "cpr0", 4) ==
	    0);
	CU_ASSERT_FATAL(hsm_key_generate(h, &k[1], "cp-ref-1", "cpr1", 4) ==
	    0);
	c0 = fault_count("C_CopyObject");
	s0 = fault_count("session_key_signs");
	CU_ASSERT(sign_ok(h, &k[0], "no copies"));
	CU_ASSERT(sign_ok(h, &k[1], "no copies"));
	CU_ASSERT(sign_ok(h, &k[0], "no copies"));
	CU_ASSERT(fault_count("C_CopyObject") == c0 + 1);
	CU_ASSERT(fault_count("session_key_signs") == s0);
	hsm_free(h);

	fault_set("fail C_CopyObject CKR_DEVICE_MEMORY 1\n");
	h = test_open_token(fault_so, URI_A, pin_src, 0);
	CU_ASSERT_FATAL(h != NULL);
	/* Handles are per handle: found again in the new one. */
	CU_ASSERT_FATAL(hsm_key_find(h, &k[0], "cp-ref-0", NULL, 0) == 0);
	CU_ASSERT_FATAL(hsm_key_find(h, &k[1], "cp-ref-1", NULL, 0) == 0);
	c0 = fault_count("C_CopyObject");
	CU_ASSERT(sign_ok(h, &k[0], "full"));
	CU_ASSERT(sign_ok(h, &k[1], "full"));
	CU_ASSERT(fault_count("C_CopyObject") == c0 + 1);
	CU_ASSERT(fault_count("session_key_signs") == s0);
	/* A new session has room again. */
	fault_set("invalidate_sessions 31\n");
	CU_ASSERT(sign_ok(h, &k[0], "room"));
	CU_ASSERT(sign_ok(h, &k[0], "room"));
	CU_ASSERT(fault_count("C_CopyObject") == c0 + 2);
	CU_ASSERT(fault_count("session_key_signs") == s0 + 2);
	hsm_stats_get(h, &st);
	CU_ASSERT(st.copies == 1);
	fault_set("\n");
	CU_ASSERT(hsm_key_destroy(h, &k[0]) == 0);
	CU_ASSERT(hsm_key_destroy(h, &k[1]) == 0);
	hsm_free(h);
}

/* Removal and re-insertion, and a lost session: the old copy's handle
 * is never used again; the key is found and copied anew. */
static void
test_hsm_copy_recovery(void)
{
	struct hsm		*h;
	struct hsm_key		 k;
	struct hsm_stats	 st;
	uint8_t			 sig[ED25519_SIG_LEN];
	long			 c0, s0;

	NEED_FAULT();
	fault_set("\n");
	h = test_open_token(fault_so, URI_B, pin_src, 5000);
	CU_ASSERT_FATAL(h != NULL);
	CU_ASSERT_FATAL(hsm_key_generate(h, &k, "cp-rec", "cprc", 4) == 0);
	c0 = fault_count("C_CopyObject");
	s0 = fault_count("session_key_signs");
	CU_ASSERT(sign_ok(h, &k, "before"));
	fault_set("removed 1\n");
	CU_ASSERT(hsm_key_sign(h, &k, sig, "out", 3) == -1);
	CU_ASSERT(hsm_last_status(h) == HSM_E_NO_TOKEN);
	hsm_stats_get(h, &st);
	CU_ASSERT(st.copies == 0);
	fault_set("removed 0\n");
	CU_ASSERT(sign_ok(h, &k, "back"));
	CU_ASSERT(sign_ok(h, &k, "back"));
	CU_ASSERT(fault_count("C_CopyObject") == c0 + 2);
	CU_ASSERT(fault_count("session_key_signs") == s0 + 3);
	fault_set("invalidate_sessions 32\n");
	CU_ASSERT(sign_ok(h, &k, "new session"));
	CU_ASSERT(fault_count("C_CopyObject") == c0 + 3);
	CU_ASSERT(fault_count("session_key_signs") == s0 + 4);
	hsm_stats_get(h, &st);
	CU_ASSERT(st.copies == 1 && st.copies_made == 3);
	fault_set("\n");
	CU_ASSERT(hsm_key_destroy(h, &k) == 0);
	hsm_free(h);
}

/* The index forgets a key: its copy is destroyed.  A new load destroys
 * every copy (a key destroyed elsewhere must stop signing). */
static void
test_hsm_copy_forget(void)
{
	struct hsm		*h;
	struct hsm_key		 k[2], f;
	struct hsm_stats	 st;
	char			 label[64];
	uint8_t			 id[4];
	long			 d0;
	unsigned		 i;

	NEED_FAULT();
	fault_set("\n");
	h = test_open_token(fault_so, URI_B, pin_src, 0);
	CU_ASSERT_FATAL(h != NULL);
	CU_ASSERT_FATAL(hsm_index_load(h, "cpf-") == 0);
	for (i = 0; i < 2; i++) {
		ix_name(label, sizeof(label), id, "cpf-", 400 + i);
		CU_ASSERT_FATAL(hsm_key_generate(h, &k[i], label, id, 4) ==
		    0);
		CU_ASSERT(sign_ok(h, &k[i], "copied"));
	}
	hsm_stats_get(h, &st);
	CU_ASSERT(st.copies == 2);
	d0 = fault_count("C_DestroyObject");
	ix_name(label, sizeof(label), id, "cpf-", 400);
	hsm_index_forget(h, label, id, 4);
	CU_ASSERT(fault_count("C_DestroyObject") == d0 + 1);
	hsm_stats_get(h, &st);
	CU_ASSERT(st.copies == 1);
	CU_ASSERT(sign_ok(h, &k[1], "still copied"));
	/* The forgotten key is still on the token, and signs. */
	CU_ASSERT(hsm_key_find(h, &f, label, id, 4) == 0);
	CU_ASSERT(sign_ok(h, &f, "found again"));
	hsm_stats_get(h, &st);
	CU_ASSERT(st.copies == 2);
	d0 = fault_count("C_DestroyObject");
	CU_ASSERT_FATAL(hsm_index_load(h, "cpf-") == 0);
	CU_ASSERT(fault_count("C_DestroyObject") == d0 + 2);
	hsm_stats_get(h, &st);
	CU_ASSERT(st.copies == 0);
	CU_ASSERT(hsm_index_count(h) == 2);
	for (i = 0; i < 2; i++)
		CU_ASSERT(hsm_key_destroy(h, &k[i]) == 0);
	hsm_free(h);
}

/*
 * Enough copies to grow the copy table, then every other key destroyed:
 * each key left still signs with its own copy, none made twice.
 */
#define CP_MANY	80
static void
test_hsm_copy_many(void)
{
	struct hsm		*h;
	struct hsm_key		*k;
	struct hsm_stats	 st;
	char			 label[64];
	uint8_t			 id[4];
	long			 c0, s0;
	unsigned		 i;

	NEED_FAULT();
	fault_set("\n");
	CU_ASSERT_FATAL((k = calloc(CP_MANY, sizeof(*k))) != NULL);
	h = test_open_token(fault_so, URI_B, pin_src, 0);
	CU_ASSERT_FATAL(h != NULL);
	for (i = 0; i < CP_MANY; i++) {
		ix_name(label, sizeof(label), id, "cpm-", 500 + i);
		CU_ASSERT_FATAL(hsm_key_generate(h, &k[i], label, id, 4) ==
		    0);
	}
	c0 = fault_count("C_CopyObject");
	s0 = fault_count("session_key_signs");
	for (i = 0; i < CP_MANY; i++)
		CU_ASSERT(sign_ok(h, &k[i], "many"));
	hsm_stats_get(h, &st);
	CU_ASSERT(st.copies == CP_MANY);
	for (i = 0; i < CP_MANY; i += 2)
		CU_ASSERT(hsm_key_destroy(h, &k[i]) == 0);
	hsm_stats_get(h, &st);
	CU_ASSERT(st.copies == CP_MANY / 2);
	for (i = 1; i < CP_MANY; i += 2)
		CU_ASSERT(sign_ok(h, &k[i], "many again"));
	CU_ASSERT(fault_count("C_CopyObject") == c0 + CP_MANY);
	CU_ASSERT(fault_count("session_key_signs") ==
	    s0 + CP_MANY + CP_MANY / 2);
	for (i = 1; i < CP_MANY; i += 2)
		CU_ASSERT(hsm_key_destroy(h, &k[i]) == 0);
	hsm_stats_get(h, &st);
	CU_ASSERT(st.copies == 0);
	hsm_free(h);
	free(k);
}

static const struct test_case tests[] = {
	{ "CK_RV names", test_hsm_rv_names },
	{ "PIN sources", test_hsm_pin_sources },
	{ "PIN prompt on a terminal", test_hsm_pin_prompt },
	{ "login with each PIN source", test_hsm_login_sources },
	{ "generate, sign, verify, find", test_hsm_generate_sign },
	{ "key attributes", test_hsm_key_attributes },
	{ "URI selection among two tokens", test_hsm_uri_select },
	{ "two handles on one module", test_hsm_two_handles },
	{ "p11-kit registered module and proxy", test_hsm_p11kit },
	{ "list and purge", test_hsm_list_purge },
	{ "list past one search chunk", test_hsm_list_many },
	{ "wrong PIN never retried", test_hsm_wrong_pin },
	{ "re-login refused, not retried", test_hsm_relogin_refused },
	{ "protected authentication path", test_hsm_protected_path },
	{ "removal and re-insertion", test_hsm_removal },
	{ "session invalidation", test_hsm_session_invalid },
	{ "hung call watchdog", test_hsm_hung_call },
	{ "slow signing rate", test_hsm_slow_sign },
	{ "hung call while opening", test_hsm_hung_open },
	{ "fault control garbage", test_hsm_fault_control_garbage },
	{ "injected errors", test_hsm_injected_errors },
	{ "token signature corrupted", test_hsm_corrupt_sign },
	{ "key index: find and generate", test_hsm_index_find_generate },
	{ "key index: forget", test_hsm_index_forget },
	{ "key index: keys made behind it", test_hsm_index_behind_back },
	{ "key index: rebuilt after recovery", test_hsm_index_recovery },
	{ "public key kept on the private key", test_hsm_spki },
	{ "key index beside other objects", test_hsm_index_other_objects },
	{ "session copy: used, not found, destroyed", test_hsm_copy_used },
	{ "session copy: turned off", test_hsm_copy_off },
	{ "session copy: key destroyed elsewhere", test_hsm_copy_key_gone },
	{ "session copy: not the key's", test_hsm_copy_not_the_key },
	{ "session copy: exposed copy refused", test_hsm_copy_exposed },
	{ "session copy: module refuses or is full", test_hsm_copy_refused },
	{ "session copy: removal, lost session", test_hsm_copy_recovery },
	{ "session copy: forget, index load", test_hsm_copy_forget },
	{ "session copy: many keys", test_hsm_copy_many },
	{ NULL, NULL }
};

void
test_register_hsm(void)
{
	test_add_suite("hsm", tests);
}
