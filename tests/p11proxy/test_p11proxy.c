/*
 * tests/p11proxy: hsm/'s key paths with the token in another process,
 * through obhsm-p11proxy.so and obhsm-p11proxyd (doc/p11proxy.md), and
 * the proxy's own edges: length queries and CKR_BUFFER_TOO_SMALL carried
 * attribute by attribute, the callee's CK_RV passed through, a server
 * that dies or was never there, a peer that speaks garbage either way.
 *
 * The real obhsm-signer runs through it under its seccomp filter in mode
 * kill, and survives the token server's death and return.
 *
 * Each test starts its own server (its own child, ended by PID) on a
 * SoftHSM token directory of this suite; SOFTHSM2_CONF is set only in
 * the server's environment, never in the runner's.  The module and the
 * server come from the build tree ($OBHSM_BUILDDIR, else next to the
 * runner).
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <p11-kit/pkcs11.h>
#include <sodium.h>

#include "buf.h"
#include "hs_desc.h"
#include "hs_keys.h"
#include "hsm.h"
#include "msg.h"
#include "proto.h"
#include "../signer_fixture.h"
#include "../tests.h"

#define PX_PIN		"1234"
#define PX_URI		"pkcs11:token=proxy-a"
#define PX_SOFTHSM	"/usr/lib/softhsm/libsofthsm2.so"

static char	px_dir[PATH_MAX];
static char	px_conf[PATH_MAX + 32];
static char	px_sock[PATH_MAX + 32];
static char	px_pin[PATH_MAX + 48];
static char	px_badpin[PATH_MAX + 48];
static char	px_so[PATH_MAX + 64];
static char	px_server[PATH_MAX + 64];
static int	px_state;	/* 0 not yet, 1 ready, -1 broken */

static int
px_write(const char *path, const char *text)
{
	FILE	*f;
	int	 ok;

	if ((f = fopen(path, "w")) == NULL)
		return -1;
	ok = fputs(text, f) >= 0;
	return fclose(f) == 0 && ok ? 0 : -1;
}

static void
px_find_build(void)
{
	const char	*b = getenv("OBHSM_BUILDDIR");
	char		 exe[PATH_MAX], *slash;
	ssize_t		 n;

	if (b == NULL) {
		/* The runner is BUILDDIR/tests/runner. */
		n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		if (n <= 0)
			return;
		exe[n] = '\0';
		if ((slash = strrchr(exe, '/')) == NULL ||
		    (*slash = '\0', (slash = strrchr(exe, '/')) == NULL))
			return;
		*slash = '\0';
		b = exe;
	}
	snprintf(px_so, sizeof(px_so),
	    "%s/tests/p11proxy/.libs/obhsm-p11proxy.so", b);
	snprintf(px_server, sizeof(px_server),
	    "%s/tests/p11proxy/obhsm-p11proxyd", b);
}

/* The suite's token directory with one token, made once. */
static int
px_env(void)
{
	char	tok[PATH_MAX + 8], text[PATH_MAX + 128], cmd[PATH_MAX + 256];
	char	path[PATH_MAX + 16];

	if (px_state != 0)
		return px_state;
	px_state = -1;
	snprintf(px_dir, sizeof(px_dir), "%s/p11proxy", test_tmpdir());
	snprintf(tok, sizeof(tok), "%s/tokens", px_dir);
	if (mkdir(px_dir, 0700) == -1 || mkdir(tok, 0700) == -1)
		return -1;
	snprintf(px_conf, sizeof(px_conf), "%s/softhsm2.conf", px_dir);
	snprintf(text, sizeof(text), "directories.tokendir = %s\n"
	    "objectstore.backend = file\nlog.level = ERROR\n", tok);
	if (px_write(px_conf, text) == -1)
		return -1;
	snprintf(cmd, sizeof(cmd), "SOFTHSM2_CONF=%s softhsm2-util "
	    "--init-token --free --label proxy-a --pin " PX_PIN
	    " --so-pin 5678 >/dev/null", px_conf);
	if (system(cmd) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/pin", px_dir);
	snprintf(px_pin, sizeof(px_pin), "file:%s", path);
	if (px_write(path, PX_PIN "\n") == -1 || chmod(path, 0600) == -1)
		return -1;
	snprintf(path, sizeof(path), "%s/badpin", px_dir);
	snprintf(px_badpin, sizeof(px_badpin), "file:%s", path);
	if (px_write(path, "9999\n") == -1 || chmod(path, 0600) == -1)
		return -1;
	snprintf(path, sizeof(path), "%s/run", px_dir);
	if (mkdir(path, 0700) == -1)
		return -1;
	snprintf(px_sock, sizeof(px_sock), "%s/run/sock", px_dir);
	setenv("OBHSM_P11PROXY_SOCKET", px_sock, 1);
	px_find_build();
	px_state = 1;
	return 1;
}

#define NEED_PROXY() do {						\
	if (px_env() != 1) {						\
		CU_FAIL("cannot set up the SoftHSM token");		\
		return;							\
	}								\
	if (access(px_so, R_OK) != 0 || access(px_server, X_OK) != 0) { \
		fprintf(stderr, "no proxy at %s\n", px_so);		\
		CU_FAIL("p11proxy not built (make all)");		\
		return;							\
	}								\
} while (0)

static double
px_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * A server on sock (0700 directory) for module, or -1.  Waits for the
 * socket path, which appears only once it listens; the 30 s bound is on
 * a wait, not a measurement.
 */
static pid_t
px_server_start(const char *sock, const char *module)
{
	double	end = px_now() + 30;
	pid_t	pid;
	int	st;

	(void)unlink(sock);
	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		setenv("SOFTHSM2_CONF", px_conf, 1);
		execl(px_server, px_server, module, sock, (char *)NULL);
		_exit(127);
	}
	while (access(sock, F_OK) != 0) {
		if (waitpid(pid, &st, WNOHANG) == pid || px_now() > end) {
			(void)kill(pid, SIGKILL);
			(void)waitpid(pid, &st, 0);
			return -1;
		}
		usleep(10 * 1000);
	}
	return pid;
}

/* End it (by PID); its exit status, -1 if it did not exit normally. */
static int
px_server_stop(pid_t pid, int sig)
{
	int	st;

	if (pid <= 0)
		return -1;
	(void)kill(pid, sig);
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static struct hsm *
px_open(const char *pin, unsigned timeout_ms)
{
	struct hsm_config	 c;
	struct hsm		*h;

	memset(&c, 0, sizeof(c));
	c.module = px_so;
	c.uri = PX_URI;
	c.pin_source = pin;
	c.timeout_ms = timeout_ms;
	if ((h = hsm_new(&c)) == NULL)
		return NULL;
	if (hsm_open(h) == -1) {
		fprintf(stderr, "  open: %s\n", hsm_last_error(h));
		hsm_free(h);
		return NULL;
	}
	return h;
}

/* CKM_EDDSA through the proxy, checked here with libsodium as well. */
static int
px_sign_verify(struct hsm *h, struct hsm_key *k, const char *msg)
{
	uint8_t	sig[ED25519_SIG_LEN];

	if (hsm_key_sign(h, k, sig, msg, strlen(msg)) == -1) {
		fprintf(stderr, "  sign: %s\n", hsm_last_error(h));
		return 0;
	}
	return crypto_sign_verify_detached(sig, (const uint8_t *)msg,
	    strlen(msg), k->pk) == 0;
}

/* Generate, find, sign, list, destroy: every key path of hsm/. */
static void
test_p11proxy_keys(void)
{
	struct hsm	*h;
	struct hsm_key	 k, f, *all = NULL;
	size_t		 n = 0, i;
	pid_t		 pid;
	int		 found = 0;

	NEED_PROXY();
	CU_ASSERT_FATAL((pid = px_server_start(px_sock, PX_SOFTHSM)) > 0);
	/* Through hsm/'s watchdog thread, as the signer calls. */
	h = px_open(px_pin, 20000);
	CU_ASSERT_FATAL(h != NULL);
	CU_ASSERT(hsm_key_generate(h, &k, "px-keys", "\x01\x02", 2) == 0);
	CU_ASSERT(px_sign_verify(h, &k, "through the proxy"));
	CU_ASSERT(hsm_key_generate(h, &f, "px-keys", "\x03", 1) == -1);
	CU_ASSERT(hsm_last_status(h) == HSM_E_EXISTS);
	memset(&f, 0, sizeof(f));
	CU_ASSERT(hsm_key_find(h, &f, "px-keys", NULL, 0) == 0);
	CU_ASSERT(memcmp(f.pk, k.pk, sizeof(k.pk)) == 0);
	CU_ASSERT(px_sign_verify(h, &f, "found again"));
	CU_ASSERT(hsm_key_list(h, &all, &n) == 0);
	for (i = 0; i < n; i++)
		found += memcmp(all[i].pk, k.pk, sizeof(k.pk)) == 0;
	CU_ASSERT(found == 1);
	free(all);
	CU_ASSERT(hsm_key_destroy(h, &f) == 0);
	CU_ASSERT(hsm_key_find(h, &f, "px-keys", NULL, 0) == -1);
	CU_ASSERT(hsm_last_status(h) == HSM_E_NOT_FOUND);
	hsm_free(h);
	/* Directly, without the watchdog. */
	h = px_open(px_pin, 0);
	CU_ASSERT_FATAL(h != NULL);
	CU_ASSERT(hsm_key_generate(h, &k, "px-keys-2", "\x04", 1) == 0);
	CU_ASSERT(px_sign_verify(h, &k, "no watchdog"));
	CU_ASSERT(hsm_key_destroy(h, &k) == 0);
	hsm_free(h);
	CU_ASSERT(px_server_stop(pid, SIGTERM) == 0);
	CU_ASSERT(access(px_sock, F_OK) != 0);
}

/* The token's CKR_PIN_INCORRECT reaches the application as it was. */
static void
test_p11proxy_wrong_pin(void)
{
	struct hsm_config	 c;
	struct hsm		*h;
	pid_t			 pid;

	NEED_PROXY();
	CU_ASSERT_FATAL((pid = px_server_start(px_sock, PX_SOFTHSM)) > 0);
	memset(&c, 0, sizeof(c));
	c.module = px_so;
	c.uri = PX_URI;
	c.pin_source = px_badpin;
	h = hsm_new(&c);
	CU_ASSERT_FATAL(h != NULL);
	CU_ASSERT(hsm_open(h) == -1);
	CU_ASSERT(hsm_last_status(h) == HSM_E_PIN);
	CU_ASSERT(hsm_last_rv(h) == CKR_PIN_INCORRECT);
	CU_ASSERT_STRING_EQUAL(hsm_last_call(h), "C_Login");
	hsm_free(h);
	/* And the right PIN still works: the token was not locked. */
	h = px_open(px_pin, 0);
	CU_ASSERT(h != NULL);
	hsm_free(h);
	CU_ASSERT(px_server_stop(pid, SIGTERM) == 0);
}

/*
 * The server killed under an open handle: errors, no crash, no SIGPIPE;
 * a new server on the same path and a re-initialisation bring the key
 * back (the connection is made again by C_Initialize).
 */
static void
test_p11proxy_server_killed(void)
{
	struct hsm	*h;
	struct hsm_key	 k;
	uint8_t		 sig[ED25519_SIG_LEN];
	pid_t		 pid;

	NEED_PROXY();
	CU_ASSERT_FATAL((pid = px_server_start(px_sock, PX_SOFTHSM)) > 0);
	h = px_open(px_pin, 20000);
	CU_ASSERT_FATAL(h != NULL);
	CU_ASSERT_FATAL(hsm_key_generate(h, &k, "px-killed", "\x05", 1) == 0);
	CU_ASSERT(px_server_stop(pid, SIGKILL) == -1);
	CU_ASSERT(hsm_key_sign(h, &k, sig, "x", 1) == -1);
	CU_ASSERT(hsm_last_status(h) != HSM_OK);
	CU_ASSERT(hsm_last_rv(h) == CKR_DEVICE_REMOVED ||
	    hsm_last_rv(h) == CKR_DEVICE_ERROR);
	/* Nobody listens: re-initialising fails cleanly. */
	CU_ASSERT(hsm_reinit(h) == -1);
	CU_ASSERT(hsm_key_sign(h, &k, sig, "x", 1) == -1);
	/* Back: the same key, from the token's files. */
	CU_ASSERT_FATAL((pid = px_server_start(px_sock, PX_SOFTHSM)) > 0);
	CU_ASSERT(hsm_reinit(h) == 0);
	CU_ASSERT(hsm_key_find(h, &k, "px-killed", NULL, 0) == 0);
	CU_ASSERT(px_sign_verify(h, &k, "after the restart"));
	CU_ASSERT(hsm_key_destroy(h, &k) == 0);
	hsm_free(h);
	CU_ASSERT(px_server_stop(pid, SIGTERM) == 0);
}

/*
 * Below hsm/: the module's own function list.  Length queries and
 * CKR_BUFFER_TOO_SMALL per attribute, C_Sign's size query, a function
 * not carried, calls before C_Initialize.
 */
static void
test_p11proxy_module(void)
{
	CK_RV			(*get)(CK_FUNCTION_LIST **);
	CK_FUNCTION_LIST	*fl = NULL;
	CK_SLOT_ID		 slots[8];
	CK_ULONG		 nslots = 0, n = 0, len;
	CK_SESSION_HANDLE	 s;
	CK_OBJECT_HANDLE	 pub, priv;
	CK_MECHANISM		 gen = { CKM_EC_EDWARDS_KEY_PAIR_GEN, NULL,
	    0 };
	CK_MECHANISM		 eddsa = { CKM_EDDSA, NULL, 0 };
	CK_BBOOL		 yes = CK_TRUE, no = CK_FALSE;
	/* PrintableString "edwards25519" */
	CK_BYTE			 params[] = { 0x13, 0x0c, 'e', 'd', 'w',
	    'a', 'r', 'd', 's', '2', '5', '5', '1', '9' };
	CK_BYTE			 label[] = "px-module", small[4];
	CK_BYTE			 point[64], sig[64], rnd[8];
	CK_ATTRIBUTE		 tpub[] = {
		{ CKA_TOKEN, &no, sizeof(no) },
		{ CKA_EC_PARAMS, params, sizeof(params) },
		{ CKA_VERIFY, &yes, sizeof(yes) },
	};
	CK_ATTRIBUTE		 tpriv[] = {
		{ CKA_TOKEN, &no, sizeof(no) },
		{ CKA_SIGN, &yes, sizeof(yes) },
		{ CKA_LABEL, label, sizeof(label) - 1 },
	};
	CK_ATTRIBUTE		 q[3];
	void			*dl;
	pid_t			 pid;

	NEED_PROXY();
	CU_ASSERT_FATAL((pid = px_server_start(px_sock, PX_SOFTHSM)) > 0);
	dl = dlopen(px_so, RTLD_NOW | RTLD_LOCAL);
	CU_ASSERT_FATAL(dl != NULL);
	get = (CK_RV (*)(CK_FUNCTION_LIST **))dlsym(dl, "C_GetFunctionList");
	CU_ASSERT_FATAL(get != NULL && get(&fl) == CKR_OK && fl != NULL);
	CU_ASSERT(fl->C_GetSlotList(CK_TRUE, NULL, &nslots) ==
	    CKR_CRYPTOKI_NOT_INITIALIZED);
	CU_ASSERT_FATAL(fl->C_Initialize(NULL) == CKR_OK);
	CU_ASSERT(fl->C_Initialize(NULL) == CKR_CRYPTOKI_ALREADY_INITIALIZED);
	CU_ASSERT(fl->C_GenerateRandom(0, rnd, sizeof(rnd)) ==
	    CKR_FUNCTION_NOT_SUPPORTED);
	/* Slot list: count query, too small, then the list. */
	CU_ASSERT(fl->C_GetSlotList(CK_TRUE, NULL, &nslots) == CKR_OK);
	CU_ASSERT(nslots >= 1);
	n = 0;
	CU_ASSERT(fl->C_GetSlotList(CK_TRUE, slots, &n) ==
	    CKR_BUFFER_TOO_SMALL);
	CU_ASSERT(n == nslots);
	n = 8;
	CU_ASSERT_FATAL(fl->C_GetSlotList(CK_TRUE, slots, &n) == CKR_OK);
	CU_ASSERT_FATAL(fl->C_OpenSession(slots[0], CKF_SERIAL_SESSION |
	    CKF_RW_SESSION, NULL, NULL, &s) == CKR_OK);
	CU_ASSERT(fl->C_Login(s, CKU_USER, (CK_UTF8CHAR *)"0000", 4) ==
	    CKR_PIN_INCORRECT);
	CU_ASSERT_FATAL(fl->C_Login(s, CKU_USER, (CK_UTF8CHAR *)PX_PIN, 4) ==
	    CKR_OK);
	CU_ASSERT_FATAL(fl->C_GenerateKeyPair(s, &gen, tpub, 3, tpriv, 3,
	    &pub, &priv) == CKR_OK);
	/* Lengths only (pValue NULL). */
	q[0] = (CK_ATTRIBUTE){ CKA_EC_POINT, NULL, 0 };
	q[1] = (CK_ATTRIBUTE){ CKA_LABEL, NULL, 0 };
	CU_ASSERT(fl->C_GetAttributeValue(s, pub, q, 1) == CKR_OK);
	len = q[0].ulValueLen;
	CU_ASSERT(len == 34);	/* DER OCTET STRING 04 20 + 32 bytes */
	CU_ASSERT(fl->C_GetAttributeValue(s, priv, &q[1], 1) == CKR_OK);
	CU_ASSERT(q[1].ulValueLen == sizeof(label) - 1);
	/* One fits, one does not: per attribute. */
	q[0] = (CK_ATTRIBUTE){ CKA_EC_POINT, point, sizeof(point) };
	q[1] = (CK_ATTRIBUTE){ CKA_EC_PARAMS, small, sizeof(small) };
	CU_ASSERT(fl->C_GetAttributeValue(s, pub, q, 2) ==
	    CKR_BUFFER_TOO_SMALL);
	CU_ASSERT(q[0].ulValueLen == len && point[0] == 0x04 &&
	    point[1] == 0x20);
	CU_ASSERT(q[1].ulValueLen == CK_UNAVAILABLE_INFORMATION);
	/* Sensitive private value: not given, said so. */
	q[0] = (CK_ATTRIBUTE){ CKA_VALUE, point, sizeof(point) };
	CU_ASSERT(fl->C_GetAttributeValue(s, priv, q, 1) ==
	    CKR_ATTRIBUTE_SENSITIVE);
	CU_ASSERT(q[0].ulValueLen == CK_UNAVAILABLE_INFORMATION);
	/* Sign: size query, too small, then the signature. */
	CU_ASSERT_FATAL(fl->C_SignInit(s, &eddsa, priv) == CKR_OK);
	len = 0;
	CU_ASSERT(fl->C_Sign(s, (CK_BYTE *)"m", 1, NULL, &len) == CKR_OK);
	CU_ASSERT(len == 64);
	len = 10;
	CU_ASSERT(fl->C_Sign(s, (CK_BYTE *)"m", 1, sig, &len) ==
	    CKR_BUFFER_TOO_SMALL);
	len = sizeof(sig);
	CU_ASSERT(fl->C_Sign(s, (CK_BYTE *)"m", 1, sig, &len) == CKR_OK);
	CU_ASSERT(len == 64);
	CU_ASSERT(crypto_sign_verify_detached(sig, (const uint8_t *)"m", 1,
	    point + 2) == 0);
	/* Mechanism parameters are not carried: refused, not dropped. */
	eddsa.pParameter = rnd;
	eddsa.ulParameterLen = 1;
	CU_ASSERT(fl->C_SignInit(s, &eddsa, priv) ==
	    CKR_MECHANISM_PARAM_INVALID);
	CU_ASSERT(fl->C_CloseSession(s) == CKR_OK);
	CU_ASSERT(fl->C_CloseSession(s) == CKR_SESSION_HANDLE_INVALID);
	CU_ASSERT(fl->C_Finalize(NULL) == CKR_OK);
	CU_ASSERT(fl->C_Finalize(NULL) == CKR_CRYPTOKI_NOT_INITIALIZED);
	dlclose(dl);
	CU_ASSERT(px_server_stop(pid, SIGTERM) == 0);
}

static int
px_sun(struct sockaddr_un *sun, const char *path)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path))
		return -1;
	memcpy(sun->sun_path, path, strlen(path));
	return 0;
}

static int
px_connect(const char *path)
{
	struct sockaddr_un	sun;
	int			fd;

	if (px_sun(&sun, path) == -1)
		return -1;
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * 1 if the server closed fd after what it was sent, without a reply: EOF,
 * or a reset when it left some of our bytes unread.
 */
static int
px_closed_after(int fd, const void *p, size_t len)
{
	uint8_t	b[64];
	ssize_t	n;

	if (write(fd, p, len) != (ssize_t)len)
		return 0;
	shutdown(fd, SHUT_WR);
	n = read(fd, b, sizeof(b));
	return n == 0 || (n == -1 && errno == ECONNRESET);
}

/*
 * Garbage to the server: each bad frame ends that connection and the
 * server goes on to the next client.
 */
static void
test_p11proxy_server_input(void)
{
	/* Length beyond the cap; an unknown op; a template count beyond
	 * the cap; a string longer than the frame; leftover bytes. */
	static const uint8_t huge[] = { 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1 };
	static const uint8_t badop[] = { 0, 0, 0, 4, 0, 0, 0x03, 0xe7 };
	static const uint8_t tmpl[] = { 0, 0, 0, 16, 0, 0, 0, 13,
	    0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t str[] = { 0, 0, 0, 25, 0, 0, 0, 11,
	    0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0,
	    0x7f, 0xff, 0xff, 0xff };
	static const uint8_t extra[] = { 0, 0, 0, 5, 0, 0, 0, 1, 0 };
	static const uint8_t shortf[] = { 0, 0, 0, 2, 0, 0 };
	const struct { const uint8_t *p; size_t len; } bad[] = {
		{ huge, sizeof(huge) }, { badop, sizeof(badop) },
		{ tmpl, sizeof(tmpl) }, { str, sizeof(str) },
		{ extra, sizeof(extra) }, { shortf, sizeof(shortf) },
	};
	char	sock[PATH_MAX + 32], dir[PATH_MAX + 16];
	struct hsm *h;
	size_t	i;
	pid_t	pid;
	int	fd;

	NEED_PROXY();
	snprintf(dir, sizeof(dir), "%s/run2", px_dir);
	snprintf(sock, sizeof(sock), "%s/sock", dir);
	CU_ASSERT_FATAL(mkdir(dir, 0700) == 0 || errno == EEXIST);
	CU_ASSERT_FATAL((pid = px_server_start(sock, PX_SOFTHSM)) > 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_FATAL((fd = px_connect(sock)) != -1);
		CU_ASSERT(px_closed_after(fd, bad[i].p, bad[i].len));
		close(fd);
		CU_ASSERT(kill(pid, 0) == 0);
	}
	/* Still serving: a real client after all that. */
	setenv("OBHSM_P11PROXY_SOCKET", sock, 1);
	h = px_open(px_pin, 0);
	CU_ASSERT(h != NULL);
	hsm_free(h);
	setenv("OBHSM_P11PROXY_SOCKET", px_sock, 1);
	CU_ASSERT(px_server_stop(pid, SIGTERM) == 0);
}

/*
 * Garbage to the client: a "server" that answers with the wrong op, then
 * one that answers a frame too short.  C_Initialize fails with
 * CKR_DEVICE_ERROR; the application is not harmed.
 */
static void
test_p11proxy_client_input(void)
{
	static const uint8_t wrongop[] = { 0, 0, 0, 13, 0, 0, 0, 9,
	    0, 0, 0, 0, 0, 0, 0, 0, 0 };
	static const uint8_t shortr[] = { 0, 0, 0, 4, 0, 0, 0, 1 };
	const uint8_t	*replies[] = { wrongop, shortr };
	size_t		 lens[] = { sizeof(wrongop), sizeof(shortr) };
	struct sockaddr_un sun;
	char		 sock[PATH_MAX + 32], dir[PATH_MAX + 16];
	struct hsm	*h;
	uint8_t		 b[256];
	size_t		 i;
	pid_t		 pid;
	int		 lfd, fd, st;

	NEED_PROXY();
	snprintf(dir, sizeof(dir), "%s/run3", px_dir);
	snprintf(sock, sizeof(sock), "%s/sock", dir);
	CU_ASSERT_FATAL(mkdir(dir, 0700) == 0 || errno == EEXIST);
	for (i = 0; i < 2; i++) {
		(void)unlink(sock);
		CU_ASSERT_FATAL(px_sun(&sun, sock) == 0);
		CU_ASSERT_FATAL((lfd = socket(AF_UNIX, SOCK_STREAM, 0)) != -1);
		CU_ASSERT_FATAL(bind(lfd, (struct sockaddr *)&sun,
		    sizeof(sun)) == 0 && listen(lfd, 4) == 0);
		CU_ASSERT_FATAL((pid = fork()) != -1);
		if (pid == 0) {
			/* Each connection: one request read, the
			 * garbage answered, closed. */
			for (;;) {
				if ((fd = accept(lfd, NULL, NULL)) == -1)
					_exit(0);
				(void)read(fd, b, sizeof(b));
				(void)write(fd, replies[i], lens[i]);
				close(fd);
			}
		}
		close(lfd);
		setenv("OBHSM_P11PROXY_SOCKET", sock, 1);
		h = px_open(px_pin, 0);
		CU_ASSERT(h == NULL);
		hsm_free(h);
		(void)kill(pid, SIGKILL);
		(void)waitpid(pid, &st, 0);
	}
	setenv("OBHSM_P11PROXY_SOCKET", px_sock, 1);
}

/* A socket directory others could reach: the server will not start. */
static void
test_p11proxy_server_dir(void)
{
	char	dir[PATH_MAX + 16], sock[PATH_MAX + 32];
	pid_t	pid;
	int	st;

	NEED_PROXY();
	snprintf(dir, sizeof(dir), "%s/open", px_dir);
	snprintf(sock, sizeof(sock), "%s/sock", dir);
	CU_ASSERT_FATAL(mkdir(dir, 0755) == 0 || errno == EEXIST);
	CU_ASSERT_FATAL(chmod(dir, 0755) == 0);
	CU_ASSERT_FATAL((pid = fork()) != -1);
	if (pid == 0) {
		execl(px_server, px_server, PX_SOFTHSM, sock, (char *)NULL);
		_exit(127);
	}
	CU_ASSERT(waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	    WEXITSTATUS(st) == 1);
	CU_ASSERT(access(sock, F_OK) != 0);
	/* A module that is not one: refused as well. */
	CU_ASSERT_FATAL(chmod(dir, 0700) == 0);
	CU_ASSERT_FATAL((pid = fork()) != -1);
	if (pid == 0) {
		execl(px_server, px_server, "/nonexistent.so", sock,
		    (char *)NULL);
		_exit(127);
	}
	CU_ASSERT(waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	    WEXITSTATUS(st) == 1);
}

#define SG_PERIOD	1440
#define SG_ROT		720
#define SG_T_MS		20000	/* reply timeout: ASan + SoftHSM */

static void
sg_feed(struct msg_conn *c, const char *master, struct sfx_backend *bk,
    uint64_t tp)
{
	struct buf	*desc, *p;
	struct msg	 m;

	CU_ASSERT_FATAL((desc = sfx_backend_desc_encode(&bk->desc, &bk->key,
	    &bk->ds_signer)) != NULL);
	CU_ASSERT_FATAL((p = sfx_backend_desc_msg(master, bk->key.addr, tp,
	    desc)) != NULL);
	CU_ASSERT_FATAL(msg_conn_call(c, PROTO_BACKEND_DESC, p, &m,
	    SG_T_MS) == 0);
	buf_free(p);
	buf_free(desc);
	CU_ASSERT_FATAL(m.type == PROTO_BACKEND_DESC_OK);
}

/* RECERTIFY: 1 if certs came back (token signatures), 0 on an error. */
static int
sg_recertify(struct msg_conn *c, const char *master, struct sfx_backend *bk,
    uint64_t tp)
{
	uint8_t		 c09[2][HS_CERT_LEN], c0b[2][HS_CERT_LEN];
	struct buf	*p;
	struct msg	 m;
	uint32_t	 sigs = 0;

	CU_ASSERT_FATAL((p = sfx_recertify_msg(master, tp, bk->desc.intro,
	    2)) != NULL);
	CU_ASSERT_FATAL(msg_conn_call(c, PROTO_RECERTIFY, p, &m,
	    SG_T_MS) == 0);
	buf_free(p);
	if (m.type == PROTO_ERROR)
		return 0;
	CU_ASSERT_FATAL(m.type == PROTO_RECERTIFY_OK);
	CU_ASSERT(sfx_recertify_reply(&m, &sigs, bk->desc.intro, 2, c09,
	    c0b) == 0);
	return sigs > 0;
}

/*
 * obhsm-signer, seccomp filter in mode kill, token behind the proxy: it
 * generates its keys and signs through it; with the token server killed
 * it refuses (PROTO_R_HSM) and stays up; with the server back on the
 * same path it signs again without a restart: the client module made
 * its connection again under the filter.
 */
static void
test_p11proxy_signer(void)
{
	struct timespec	 ts = { 0, 200 * 1000 * 1000 };
	struct sfx_conf	 sc;
	struct sfx_signer sg;
	struct sfx_key	 master;
	struct sfx_backend bk[2];
	struct msg_conn	 c;
	struct msg	 m;
	struct buf	*t;
	const char	*backends[2], *env[3];
	char		 dir[PATH_MAX + 16], path[PATH_MAX + 48];
	char		 sock[PATH_MAX + 48], log[PATH_MAX + 48];
	char		 conf[PATH_MAX + 48], bin[PATH_MAX];
	time_t		 now = time(NULL);
	uint64_t	 tp;
	size_t		 b;
	pid_t		 pid;
	int		 i, ok = 0, st;

	NEED_PROXY();
	sfx_signer_binary(bin, sizeof(bin));
	if (access(bin, X_OK) != 0)
		TEST_SKIP("no obhsm-signer (set OBHSM_BUILDDIR)");
	snprintf(dir, sizeof(dir), "%s/signer", px_dir);
	CU_ASSERT_FATAL(mkdir(dir, 0700) == 0);
	snprintf(sock, sizeof(sock), "%s/signer.sock", dir);
	snprintf(log, sizeof(log), "%s/signer.log", dir);
	snprintf(conf, sizeof(conf), "%s/signer.conf", dir);
	snprintf(path, sizeof(path), "%s/pin", dir);
	CU_ASSERT_FATAL(sfx_write_file(path, PX_PIN "\n", 0600) == 0);
	snprintf(path, sizeof(path), "%s/state", dir);
	CU_ASSERT_FATAL(mkdir(path, 0700) == 0);

	tp = hs_time_period(now, SG_PERIOD, SG_ROT);
	CU_ASSERT_FATAL(sfx_key_make(&master, tp, SG_PERIOD) == 0);
	snprintf(path, sizeof(path), "%s/identity", dir);
	CU_ASSERT_FATAL(sfx_identity_write(path, &master) == 0);
	for (b = 0; b < 2; b++) {
		CU_ASSERT_FATAL(sfx_backend_make(&bk[b], tp, SG_PERIOD, 2,
		    2000 + b, now) == 0);
		backends[b] = bk[b].key.addr;
	}
	snprintf(path, sizeof(path), "%s/audit.log", dir);
	sc = (struct sfx_conf){ .module = px_so, .token = "proxy-a",
	    .dir = dir, .sock = sock, .audit = path, .socket_mode = 0600,
	    .period_len = SG_PERIOD, .rot_offset = SG_ROT,
	    .hsm_timeout = 5000, .sandbox = "kill" };
	CU_ASSERT_FATAL((t = buf_new(8192)) != NULL);
	CU_ASSERT_FATAL(sfx_conf_head(t, &sc) == 0);
	snprintf(path, sizeof(path), "%s/identity", dir);
	CU_ASSERT_FATAL(sfx_conf_service(t, master.addr, backends, 2,
	    path) == 0 && buf_put_u8(t, 0) == 0);
	CU_ASSERT_FATAL(sfx_write_file(conf, (const char *)buf_ptr(t),
	    0600) == 0);
	buf_free(t);

	CU_ASSERT_FATAL((pid = px_server_start(px_sock, PX_SOFTHSM)) > 0);
	env[0] = "OBHSM_P11PROXY_SOCKET";
	env[1] = px_sock;
	env[2] = NULL;
	memset(&sg, 0, sizeof(sg));
	sg.bin = bin;
	sg.conf = conf;
	sg.log = log;
	sg.sock = sock;
	sg.verbose = 1;
	sg.env = env;
	if (sfx_signer_start(&sg, 60000) != 0) {
		CU_FAIL("signer did not start through the proxy");
		(void)px_server_stop(pid, SIGTERM);
		return;
	}
	CU_ASSERT_FATAL(sfx_conn_open(&c, sock, "test_p11proxy", &m,
	    SG_T_MS) == 0);
	sg_feed(&c, master.addr, &bk[0], tp);
	sg_feed(&c, master.addr, &bk[1], tp);
	CU_ASSERT(sg_recertify(&c, master.addr, &bk[0], tp) == 1);

	/* The token server gone: refused, still serving. */
	CU_ASSERT(px_server_stop(pid, SIGKILL) == -1);
	CU_ASSERT(sg_recertify(&c, master.addr, &bk[1], tp) == 0);
	CU_ASSERT(waitpid(sg.pid, &st, WNOHANG) == 0);
	CU_ASSERT_FATAL(msg_conn_call(&c, PROTO_STATUS, NULL, &m,
	    SG_T_MS) == 0);
	CU_ASSERT(m.type == PROTO_STATUS_OK);

	/* Back: the signer re-initialises (it may notice only on the
	 * next call; a bound on the wait, not a measurement). */
	CU_ASSERT_FATAL((pid = px_server_start(px_sock, PX_SOFTHSM)) > 0);
	for (i = 0; i < 100 && !ok; i++) {
		if ((ok = sg_recertify(&c, master.addr, &bk[1], tp)) == 0)
			nanosleep(&ts, NULL);
	}
	CU_ASSERT(ok == 1);
	CU_ASSERT(waitpid(sg.pid, &st, WNOHANG) == 0);
	sfx_conn_close(&c);
	CU_ASSERT(sfx_signer_reap(&sg, &st, 10000) == 0);
	CU_ASSERT(px_server_stop(pid, SIGTERM) == 0);
	for (b = 0; b < 2; b++)
		hs_desc_clear(&bk[b].desc);
}

static const struct test_case p11proxy_tests[] = {
	{ "keys", test_p11proxy_keys },
	{ "wrong_pin", test_p11proxy_wrong_pin },
	{ "server_killed", test_p11proxy_server_killed },
	{ "module", test_p11proxy_module },
	{ "server_input", test_p11proxy_server_input },
	{ "client_input", test_p11proxy_client_input },
	{ "server_dir", test_p11proxy_server_dir },
	{ "signer", test_p11proxy_signer },
	{ NULL, NULL }
};

void
test_register_p11proxy(void)
{
	test_add_suite("p11proxy", p11proxy_tests);
}
