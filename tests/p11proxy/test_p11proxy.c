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

#include <sys/prctl.h>
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
#include "p11proxy.h"
#include "../signer_fixture.h"
#include "../tests.h"

#define PX_PIN		"1234"
#define PX_URI		"pkcs11:token=proxy-a"

static char	px_dir[PATH_MAX];
static char	px_conf[PATH_MAX + 32];
static char	px_sock[PATH_MAX + 32];
static char	px_pin[PATH_MAX + 48];
static char	px_badpin[PATH_MAX + 48];
static char	px_so[PATH_MAX + 64];
static char	px_server[PATH_MAX + 64];
static int	px_state;	/* 0 not yet, 1 ready, -1 broken */
static pid_t	px_kids[8];	/* servers and signers still running */

/*
 * A CU_ASSERT_FATAL leaves a test before it stops what it started:
 * whatever is still recorded here is killed by the next test's setup or
 * at exit, never left running.
 */
static void
px_reap_all(void)
{
	size_t	i;
	int	st;

	for (i = 0; i < sizeof(px_kids) / sizeof(px_kids[0]); i++)
		if (px_kids[i] > 0) {
			(void)kill(px_kids[i], SIGKILL);
			(void)waitpid(px_kids[i], &st, 0);
			px_kids[i] = 0;
		}
}

static void
px_track(pid_t pid, int on)
{
	size_t	i;

	for (i = 0; i < sizeof(px_kids) / sizeof(px_kids[0]); i++)
		if (on ? px_kids[i] == 0 : px_kids[i] == pid) {
			px_kids[i] = on ? pid : 0;
			return;
		}
}

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
	if (atexit(px_reap_all) != 0)
		return -1;
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
	px_reap_all();							\
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

/*
 * A server on sock (0700 directory) for module, or -1.  Waits for the
 * socket path, which appears only once it listens; the 30 s bound is on
 * a wait, not a measurement.
 */
static pid_t
px_server_start(const char *sock, const char *module)
{
	double	end = test_now() + 30;
	pid_t	pid;
	int	st;

	(void)unlink(sock);
	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		/* Gone with the runner, whatever the test did. */
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		setenv("SOFTHSM2_CONF", px_conf, 1);
		execl(px_server, px_server, module, sock, (char *)NULL);
		_exit(127);
	}
	px_track(pid, 1);
	while (access(sock, F_OK) != 0) {
		if (waitpid(pid, &st, WNOHANG) == pid || test_now() > end) {
			(void)kill(pid, SIGKILL);
			(void)waitpid(pid, &st, 0);
			px_track(pid, 0);
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
	px_track(pid, 0);
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static struct hsm *
px_open(const char *pin, unsigned timeout_ms)
{
	return test_open_token(px_so, PX_URI, pin, timeout_ms);
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
	struct hsm		*h;
	struct hsm_key		 k, f, *all = NULL;
	struct hsm_stats	 st;
	size_t			 n = 0, i;
	pid_t			 pid;
	int			 found = 0;

	NEED_PROXY();
	CU_ASSERT_FATAL((pid = px_server_start(px_sock, SFX_SOFTHSM)) > 0);
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
	/* Signed with one session copy, made in the server (C_CopyObject
	 * carried), and destroyed there with the key below. */
	hsm_stats_get(h, &st);
	CU_ASSERT(st.copies_made == 1 && st.copies == 1);
	CU_ASSERT(hsm_key_list(h, &all, &n) == 0);
	for (i = 0; i < n; i++)
		found += memcmp(all[i].pk, k.pk, sizeof(k.pk)) == 0;
	CU_ASSERT(found == 1);
	free(all);
	CU_ASSERT(hsm_key_destroy(h, &f) == 0);
	hsm_stats_get(h, &st);
	CU_ASSERT(st.copies == 0);
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
	CU_ASSERT_FATAL((pid = px_server_start(px_sock, SFX_SOFTHSM)) > 0);
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
	CU_ASSERT_FATAL((pid = px_server_start(px_sock, SFX_SOFTHSM)) > 0);
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
	CU_ASSERT_FATAL((pid = px_server_start(px_sock, SFX_SOFTHSM)) > 0);
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
	CU_ASSERT_FATAL((pid = px_server_start(px_sock, SFX_SOFTHSM)) > 0);
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
	struct { const uint8_t *p; size_t len; } bad[] = {
		{ huge, sizeof(huge) }, { badop, sizeof(badop) },
		{ tmpl, sizeof(tmpl) }, { str, sizeof(str) },
		{ extra, sizeof(extra) }, { shortf, sizeof(shortf) },
		{ NULL, 0 },
	};
	uint8_t	many[8 + 8 + 4 + (P11P_ATTRS_MAX + 1) * 13];
	char	sock[PATH_MAX + 32], dir[PATH_MAX + 16];
	struct hsm *h;
	size_t	i, len;
	pid_t	pid;
	int	fd, st;

	NEED_PROXY();
	/* A well-formed FIND_INIT of P11P_ATTRS_MAX + 1 entries: its
	 * count alone must refuse it (the server's template is an array
	 * of P11P_ATTRS_MAX). */
	len = sizeof(many) - 4;
	memset(many, 0, sizeof(many));
	many[2] = (uint8_t)(len >> 8);
	many[3] = (uint8_t)len;
	many[7] = P11P_FIND_INIT;
	many[15] = 1;
	many[19] = P11P_ATTRS_MAX + 1;
	bad[6].p = many;
	bad[6].len = 4 + len;
	snprintf(dir, sizeof(dir), "%s/run2", px_dir);
	snprintf(sock, sizeof(sock), "%s/sock", dir);
	CU_ASSERT_FATAL(mkdir(dir, 0700) == 0 || errno == EEXIST);
	CU_ASSERT_FATAL((pid = px_server_start(sock, SFX_SOFTHSM)) > 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_FATAL((fd = px_connect(sock)) != -1);
		CU_ASSERT(px_closed_after(fd, bad[i].p, bad[i].len));
		close(fd);
		/* Alive, not a zombie (an ASan abort would be one). */
		CU_ASSERT(waitpid(pid, &st, WNOHANG) == 0);
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

/*
 * A fake server for the client's reply checks: it answers a whole
 * session validly (INITIALIZE with our version and ABI, OPEN_SESSION
 * with handle 7, everything else CKR_OK without outputs) except the
 * op under test, which gets the reply the test built.  One connection.
 */
#define PX_FAKE_SESSION	7

static int
px_read_all(int fd, uint8_t *p, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		if ((n = read(fd, p, len)) <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* A reply frame's body up to its outputs: op, rv, the outputs flag. */
static struct buf *
px_rep(uint32_t op, CK_RV rv, int out)
{
	struct buf	*b;

	if ((b = buf_new(P11P_MSG_MAX)) == NULL)
		return NULL;
	if (buf_put_u32(b, op) != 0 || buf_put_u64(b, rv) != 0 ||
	    buf_put_u8(b, (uint8_t)out) != 0) {
		buf_free(b);
		return NULL;
	}
	return b;
}

static int
px_rep_send(int fd, const struct buf *b)
{
	uint8_t	hdr[4];
	size_t	len = buf_len(b);

	hdr[0] = (uint8_t)(len >> 24);
	hdr[1] = (uint8_t)(len >> 16);
	hdr[2] = (uint8_t)(len >> 8);
	hdr[3] = (uint8_t)len;
	return write(fd, hdr, 4) == 4 &&
	    write(fd, buf_ptr(b), len) == (ssize_t)len ? 0 : -1;
}

static void
px_fake_serve(int lfd, uint32_t target, const struct buf *bad)
{
	struct buf	*r;
	uint8_t		 hdr[4], *body;
	uint32_t	 len, op;
	int		 fd, ok;

	if ((fd = accept(lfd, NULL, NULL)) == -1)
		_exit(1);
	for (;;) {
		if (px_read_all(fd, hdr, 4) == -1)
			_exit(0);
		len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
		    (uint32_t)hdr[2] << 8 | hdr[3];
		if (len < 4 || len > P11P_MSG_MAX ||
		    (body = malloc(len)) == NULL ||
		    px_read_all(fd, body, len) == -1)
			_exit(1);
		op = (uint32_t)body[0] << 24 | (uint32_t)body[1] << 16 |
		    (uint32_t)body[2] << 8 | body[3];
		free(body);
		if (op == target) {
			(void)px_rep_send(fd, bad);
			continue;
		}
		r = px_rep(op, CKR_OK, op == P11P_INITIALIZE ||
		    op == P11P_OPEN_SESSION);
		if (r == NULL)
			_exit(1);
		ok = op != P11P_INITIALIZE ||
		    (buf_put_u32(r, P11P_VERSION) == 0 &&
		    buf_put_u8(r, sizeof(CK_ULONG)) == 0);
		if (op == P11P_OPEN_SESSION)
			ok = buf_put_u64(r, PX_FAKE_SESSION) == 0;
		if (!ok || px_rep_send(fd, r) == -1)
			_exit(1);
		buf_free(r);
	}
}

/* A fake server on sock answering target with bad (freed); its pid. */
static pid_t
px_fake_start(const char *sock, uint32_t target, struct buf *bad)
{
	struct sockaddr_un	sun;
	pid_t			pid;
	int			lfd;

	(void)unlink(sock);
	if (bad == NULL || px_sun(&sun, sock) == -1 ||
	    (lfd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1) {
		buf_free(bad);
		return -1;
	}
	if (bind(lfd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    listen(lfd, 1) == -1 || (pid = fork()) == -1) {
		close(lfd);
		buf_free(bad);
		return -1;
	}
	if (pid == 0) {
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		px_fake_serve(lfd, target, bad);
		_exit(0);
	}
	px_track(pid, 1);
	close(lfd);
	buf_free(bad);
	return pid;
}

static void
px_fake_stop(pid_t pid)
{
	int	st;

	(void)kill(pid, SIGKILL);
	px_track(pid, 0);
	(void)waitpid(pid, &st, 0);
}

#define PX_CANARY	0xa5a5a5a5a5a5a5a5UL

/* The fake server stopped (SIGSTOP): alive, never answering. */
static int
px_stall(pid_t pid)
{
	int	st;

	if (kill(pid, SIGSTOP) == -1 ||
	    waitpid(pid, &st, WUNTRACED) != pid || !WIFSTOPPED(st))
		return -1;
	return 0;
}

/*
 * One case: a session against a fake server whose reply to op is bad;
 * the call under test is made by the caller between px_case_begin and
 * px_case_end.
 */
static int
px_case_begin(CK_FUNCTION_LIST *fl, const char *sock, uint32_t op,
    struct buf *bad, pid_t *pid)
{
	CK_SESSION_HANDLE	s = 0;

	if ((*pid = px_fake_start(sock, op, bad)) == -1)
		return -1;
	if (fl->C_Initialize(NULL) != CKR_OK ||
	    fl->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &s) !=
	    CKR_OK || s != PX_FAKE_SESSION) {
		px_fake_stop(*pid);
		return -1;
	}
	return 0;
}

static void
px_case_end(CK_FUNCTION_LIST *fl, pid_t pid)
{
	CU_ASSERT(fl->C_Finalize(NULL) == CKR_OK);
	px_fake_stop(pid);
}

/*
 * Replies that break their op's rules, each against an otherwise valid
 * session: the exact CKR, the connection closed, and nothing written
 * past (or, under an error, into) the caller's buffers.  Valid replies
 * of the same shapes pass, so the checks are not vacuous.
 */
static void
test_p11proxy_replies(void)
{
	CK_RV			(*get)(CK_FUNCTION_LIST **);
	CK_FUNCTION_LIST	*fl = NULL;
	CK_MECHANISM		 mech = { CKM_EDDSA, NULL, 0 };
	CK_SLOT_ID		 slots[3];
	CK_OBJECT_HANDLE	 objs[3], hpub, hpriv;
	CK_ATTRIBUTE		 a;
	CK_INFO			 info;
	CK_ULONG		 n, cnt, sl;
	CK_BYTE			 sig[65];
	uint8_t			 val[5];
	char			 sock[PATH_MAX + 32], dir[PATH_MAX + 16];
	struct buf		*b;
	void			*dl;
	pid_t			 pid, kid;
	int			 st;

	NEED_PROXY();
	snprintf(dir, sizeof(dir), "%s/run5", px_dir);
	snprintf(sock, sizeof(sock), "%s/sock", dir);
	CU_ASSERT_FATAL(mkdir(dir, 0700) == 0 || errno == EEXIST);
	CU_ASSERT_FATAL((dl = dlopen(px_so, RTLD_NOW | RTLD_LOCAL)) != NULL);
	get = (CK_RV (*)(CK_FUNCTION_LIST **))dlsym(dl, "C_GetFunctionList");
	CU_ASSERT_FATAL(get != NULL && get(&fl) == CKR_OK && fl != NULL);
	setenv("OBHSM_P11PROXY_SOCKET", sock, 1);

	/* The reply to another op: not ours, whatever it holds. */
	b = px_rep(P11P_GET_INFO, CKR_OK, 1);
	CU_ASSERT_FATAL(b != NULL && buf_put_u64(b, 9) == 0 &&
	    buf_put_u64(b, 9) == 0);
	CU_ASSERT_FATAL(px_case_begin(fl, sock, P11P_GENERATE_KEY_PAIR, b,
	    &pid) == 0);
	hpub = hpriv = PX_CANARY;
	CU_ASSERT(fl->C_GenerateKeyPair(PX_FAKE_SESSION, &mech, NULL, 0,
	    NULL, 0, &hpub, &hpriv) == CKR_DEVICE_REMOVED);
	CU_ASSERT(hpub == PX_CANARY && hpriv == PX_CANARY);
	/* Dropped: the next call finds no connection. */
	CU_ASSERT(fl->C_CloseSession(PX_FAKE_SESSION) == CKR_DEVICE_REMOVED);
	px_case_end(fl, pid);

	/* The same outputs under the right op: accepted (the control). */
	b = px_rep(P11P_GENERATE_KEY_PAIR, CKR_OK, 1);
	CU_ASSERT_FATAL(b != NULL && buf_put_u64(b, 9) == 0 &&
	    buf_put_u64(b, 10) == 0);
	CU_ASSERT_FATAL(px_case_begin(fl, sock, P11P_GENERATE_KEY_PAIR, b,
	    &pid) == 0);
	CU_ASSERT(fl->C_GenerateKeyPair(PX_FAKE_SESSION, &mech, NULL, 0,
	    NULL, 0, &hpub, &hpriv) == CKR_OK);
	CU_ASSERT(hpub == 9 && hpriv == 10);
	px_case_end(fl, pid);

	/* CKR_OK without its outputs. */
	CU_ASSERT_FATAL(px_case_begin(fl, sock, P11P_GENERATE_KEY_PAIR,
	    px_rep(P11P_GENERATE_KEY_PAIR, CKR_OK, 0), &pid) == 0);
	hpub = hpriv = PX_CANARY;
	CU_ASSERT(fl->C_GenerateKeyPair(PX_FAKE_SESSION, &mech, NULL, 0,
	    NULL, 0, &hpub, &hpriv) == CKR_DEVICE_REMOVED);
	CU_ASSERT(hpub == PX_CANARY && hpriv == PX_CANARY);
	px_case_end(fl, pid);

	/* C_CopyObject: the new handle exactly under CKR_OK. */
	b = px_rep(P11P_COPY_OBJECT, CKR_OK, 1);
	CU_ASSERT_FATAL(b != NULL && buf_put_u64(b, 77) == 0);
	CU_ASSERT_FATAL(px_case_begin(fl, sock, P11P_COPY_OBJECT, b, &pid) ==
	    0);
	hpub = PX_CANARY;
	CU_ASSERT(fl->C_CopyObject(PX_FAKE_SESSION, 5, NULL, 0, &hpub) ==
	    CKR_OK);
	CU_ASSERT(hpub == 77);
	px_case_end(fl, pid);

	CU_ASSERT_FATAL(px_case_begin(fl, sock, P11P_COPY_OBJECT,
	    px_rep(P11P_COPY_OBJECT, CKR_OK, 0), &pid) == 0);
	hpub = PX_CANARY;
	CU_ASSERT(fl->C_CopyObject(PX_FAKE_SESSION, 5, NULL, 0, &hpub) ==
	    CKR_DEVICE_REMOVED);
	CU_ASSERT(hpub == PX_CANARY);
	px_case_end(fl, pid);

	b = px_rep(P11P_COPY_OBJECT, CKR_ATTRIBUTE_READ_ONLY, 1);
	CU_ASSERT_FATAL(b != NULL && buf_put_u64(b, 77) == 0);
	CU_ASSERT_FATAL(px_case_begin(fl, sock, P11P_COPY_OBJECT, b, &pid) ==
	    0);
	hpub = PX_CANARY;
	CU_ASSERT(fl->C_CopyObject(PX_FAKE_SESSION, 5, NULL, 0, &hpub) ==
	    CKR_DEVICE_REMOVED);
	CU_ASSERT(hpub == PX_CANARY);
	px_case_end(fl, pid);

	CU_ASSERT_FATAL(px_case_begin(fl, sock, P11P_GET_INFO,
	    px_rep(P11P_GET_INFO, CKR_OK, 0), &pid) == 0);
	CU_ASSERT(fl->C_GetInfo(&info) == CKR_DEVICE_ERROR);
	px_case_end(fl, pid);

	CU_ASSERT_FATAL(px_case_begin(fl, sock, P11P_FIND,
	    px_rep(P11P_FIND, CKR_OK, 0), &pid) == 0);
	cnt = PX_CANARY;
	CU_ASSERT(fl->C_FindObjects(PX_FAKE_SESSION, objs, 2, &cnt) ==
	    CKR_DEVICE_REMOVED);
	CU_ASSERT(cnt == PX_CANARY);
	px_case_end(fl, pid);

	/* An error with outputs is no more ours than CKR_OK without. */
	b = px_rep(P11P_GET_INFO, CKR_TOKEN_NOT_PRESENT, 1);
	CU_ASSERT_FATAL(px_case_begin(fl, sock, P11P_GET_INFO, b, &pid) ==
	    0);
	CU_ASSERT(fl->C_GetInfo(&info) == CKR_DEVICE_ERROR);
	px_case_end(fl, pid);

	/* More slots than the caller's array: refused, array untouched
	 * beyond its end; a count alone beyond it without a list too. */
	b = px_rep(P11P_GET_SLOT_LIST, CKR_OK, 1);
	CU_ASSERT_FATAL(b != NULL && buf_put_u64(b, 3) == 0 &&
	    buf_put_u8(b, 1) == 0 && buf_put_u64(b, 1) == 0 &&
	    buf_put_u64(b, 2) == 0 && buf_put_u64(b, 3) == 0);
	CU_ASSERT_FATAL(px_case_begin(fl, sock, P11P_GET_SLOT_LIST, b,
	    &pid) == 0);
	slots[2] = PX_CANARY;
	cnt = 2;
	CU_ASSERT(fl->C_GetSlotList(CK_TRUE, slots, &cnt) ==
	    CKR_DEVICE_ERROR);
	CU_ASSERT(cnt == 2 && slots[2] == PX_CANARY);
	px_case_end(fl, pid);

	b = px_rep(P11P_GET_SLOT_LIST, CKR_OK, 1);
	CU_ASSERT_FATAL(b != NULL && buf_put_u64(b, 12918456320ULL) == 0 &&
	    buf_put_u8(b, 0) == 0);
	CU_ASSERT_FATAL(px_case_begin(fl, sock, P11P_GET_SLOT_LIST, b,
	    &pid) == 0);
	cnt = 2;
	CU_ASSERT(fl->C_GetSlotList(CK_TRUE, slots, &cnt) ==
	    CKR_DEVICE_ERROR);
	CU_ASSERT(cnt == 2);
	px_case_end(fl, pid);

	b = px_rep(P11P_GET_SLOT_LIST, CKR_OK, 1);
	CU_ASSERT_FATAL(b != NULL && buf_put_u64(b, 2) == 0 &&
	    buf_put_u8(b, 1) == 0 && buf_put_u64(b, 1) == 0 &&
	    buf_put_u64(b, 2) == 0);
	CU_ASSERT_FATAL(px_case_begin(fl, sock, P11P_GET_SLOT_LIST, b,
	    &pid) == 0);
	cnt = 2;
	CU_ASSERT(fl->C_GetSlotList(CK_TRUE, slots, &cnt) == CKR_OK);
	CU_ASSERT(cnt == 2 && slots[0] == 1 && slots[1] == 2 &&
	    slots[2] == PX_CANARY);
	px_case_end(fl, pid);

	/* More handles than asked for. */
	b = px_rep(P11P_FIND, CKR_OK, 1);
	CU_ASSERT_FATAL(b != NULL && buf_put_u64(b, 3) == 0 &&
	    buf_put_u64(b, 1) == 0 && buf_put_u64(b, 2) == 0 &&
	    buf_put_u64(b, 3) == 0);
	CU_ASSERT_FATAL(px_case_begin(fl, sock, P11P_FIND, b, &pid) == 0);
	objs[2] = PX_CANARY;
	cnt = PX_CANARY;
	CU_ASSERT(fl->C_FindObjects(PX_FAKE_SESSION, objs, 2, &cnt) ==
	    CKR_DEVICE_REMOVED);
	CU_ASSERT(cnt == PX_CANARY && objs[2] == PX_CANARY);
	px_case_end(fl, pid);

	/* A signature longer than the room given; a length under
	 * CKR_OK without the signature the buffer asked for. */
	b = px_rep(P11P_SIGN, CKR_OK, 1);
	CU_ASSERT_FATAL(b != NULL && buf_put_u64(b, 65) == 0 &&
	    buf_put_u8(b, 1) == 0 && buf_put_u32(b, 65) == 0);
	memset(val, 0x11, sizeof(val));
	for (n = 0; n < 13; n++)
		CU_ASSERT_FATAL(buf_put(b, val, 5) == 0);
	CU_ASSERT_FATAL(px_case_begin(fl, sock, P11P_SIGN, b, &pid) == 0);
	memset(sig, 0, sizeof(sig));
	sig[64] = 0xa5;
	sl = 64;
	CU_ASSERT(fl->C_Sign(PX_FAKE_SESSION, (CK_BYTE *)"m", 1, sig, &sl) ==
	    CKR_DEVICE_REMOVED);
	CU_ASSERT(sl == 64 && sig[64] == 0xa5 && sig[0] == 0);
	px_case_end(fl, pid);

	b = px_rep(P11P_SIGN, CKR_OK, 1);
	CU_ASSERT_FATAL(b != NULL &&
	    buf_put_u64(b, 72057594054705152ULL) == 0 &&
	    buf_put_u8(b, 0) == 0);
	CU_ASSERT_FATAL(px_case_begin(fl, sock, P11P_SIGN, b, &pid) == 0);
	sl = 64;
	CU_ASSERT(fl->C_Sign(PX_FAKE_SESSION, (CK_BYTE *)"m", 1, sig, &sl) ==
	    CKR_DEVICE_REMOVED);
	CU_ASSERT(sl == 64);
	px_case_end(fl, pid);

	b = px_rep(P11P_SIGN, CKR_OK, 1);
	CU_ASSERT_FATAL(b != NULL && buf_put_u64(b, 64) == 0 &&
	    buf_put_u8(b, 1) == 0 && buf_put_u32(b, 64) == 0);
	for (n = 0; n < 16; n++)
		CU_ASSERT_FATAL(buf_put(b, val, 4) == 0);
	CU_ASSERT_FATAL(px_case_begin(fl, sock, P11P_SIGN, b, &pid) == 0);
	sl = 64;
	CU_ASSERT(fl->C_Sign(PX_FAKE_SESSION, (CK_BYTE *)"m", 1, sig, &sl) ==
	    CKR_OK);
	CU_ASSERT(sl == 64 && sig[0] == 0x11 && sig[63] == 0x11 &&
	    sig[64] == 0xa5);
	px_case_end(fl, pid);

	/* An attribute with a buffer, no value and a length that fits:
	 * the buffer would stay unwritten under CKR_OK. */
	b = px_rep(P11P_GET_ATTRS, CKR_OK, 1);
	CU_ASSERT_FATAL(b != NULL && buf_put_u32(b, 1) == 0 &&
	    buf_put_u64(b, 2) == 0 && buf_put_u8(b, 0) == 0);
	CU_ASSERT_FATAL(px_case_begin(fl, sock, P11P_GET_ATTRS, b, &pid) ==
	    0);
	memset(val, 0, sizeof(val));
	a.type = CKA_LABEL;
	a.pValue = val;
	a.ulValueLen = 4;
	CU_ASSERT(fl->C_GetAttributeValue(PX_FAKE_SESSION, 1, &a, 1) ==
	    CKR_DEVICE_REMOVED);
	CU_ASSERT(a.ulValueLen == 4);
	px_case_end(fl, pid);

	/* A value longer than the buffer. */
	b = px_rep(P11P_GET_ATTRS, CKR_OK, 1);
	CU_ASSERT_FATAL(b != NULL && buf_put_u32(b, 1) == 0 &&
	    buf_put_u64(b, 5) == 0 && buf_put_u8(b, 1) == 0 &&
	    buf_put_u32(b, 5) == 0 && buf_put(b, "abcde", 5) == 0);
	CU_ASSERT_FATAL(px_case_begin(fl, sock, P11P_GET_ATTRS, b, &pid) ==
	    0);
	memset(val, 0, sizeof(val));
	val[4] = 0xa5;
	a.ulValueLen = 4;
	CU_ASSERT(fl->C_GetAttributeValue(PX_FAKE_SESSION, 1, &a, 1) ==
	    CKR_DEVICE_REMOVED);
	CU_ASSERT(a.ulValueLen == 4 && val[0] == 0 && val[4] == 0xa5);
	px_case_end(fl, pid);

	/* Sensitive (CK_UNAVAILABLE_INFORMATION) and too small (a
	 * length beyond the buffer): both honest, both passed on. */
	b = px_rep(P11P_GET_ATTRS, CKR_ATTRIBUTE_SENSITIVE, 1);
	CU_ASSERT_FATAL(b != NULL && buf_put_u32(b, 1) == 0 &&
	    buf_put_u64(b, UINT64_MAX) == 0 && buf_put_u8(b, 0) == 0);
	CU_ASSERT_FATAL(px_case_begin(fl, sock, P11P_GET_ATTRS, b, &pid) ==
	    0);
	a.ulValueLen = 4;
	CU_ASSERT(fl->C_GetAttributeValue(PX_FAKE_SESSION, 1, &a, 1) ==
	    CKR_ATTRIBUTE_SENSITIVE);
	CU_ASSERT(a.ulValueLen == CK_UNAVAILABLE_INFORMATION);
	px_case_end(fl, pid);

	b = px_rep(P11P_GET_ATTRS, CKR_BUFFER_TOO_SMALL, 1);
	CU_ASSERT_FATAL(b != NULL && buf_put_u32(b, 1) == 0 &&
	    buf_put_u64(b, 5) == 0 && buf_put_u8(b, 0) == 0);
	CU_ASSERT_FATAL(px_case_begin(fl, sock, P11P_GET_ATTRS, b, &pid) ==
	    0);
	a.ulValueLen = 4;
	CU_ASSERT(fl->C_GetAttributeValue(PX_FAKE_SESSION, 1, &a, 1) ==
	    CKR_BUFFER_TOO_SMALL);
	CU_ASSERT(a.ulValueLen == 5 && val[4] == 0xa5);
	px_case_end(fl, pid);

	/* After fork the child has no session of its own: its call
	 * sends nothing on the parent's socket (the parent's next call
	 * still gets its own reply). */
	CU_ASSERT_FATAL(px_case_begin(fl, sock, P11P_GET_INFO,
	    px_rep(P11P_GET_INFO, CKR_OK, 0), &pid) == 0);
	if ((kid = fork()) == 0)
		_exit(fl->C_CloseSession(PX_FAKE_SESSION) ==
		    CKR_CRYPTOKI_NOT_INITIALIZED &&
		    fl->C_Finalize(NULL) == CKR_CRYPTOKI_NOT_INITIALIZED ?
		    0 : 1);
	CU_ASSERT_FATAL(kid != -1);
	CU_ASSERT(waitpid(kid, &st, 0) == kid && WIFEXITED(st) &&
	    WEXITSTATUS(st) == 0);
	CU_ASSERT(fl->C_CloseSession(PX_FAKE_SESSION) == CKR_OK);
	px_case_end(fl, pid);

	/* A server that never answers: CKR_DEVICE_ERROR once the wait
	 * (shortened here) runs out, and the connection closed. */
	setenv("OBHSM_P11PROXY_TIMEOUT_MS", "200", 1);
	CU_ASSERT_FATAL(px_case_begin(fl, sock, P11P_SIGN_INIT,
	    px_rep(P11P_GET_INFO, CKR_OK, 0), &pid) == 0);
	CU_ASSERT(px_stall(pid) == 0);
	CU_ASSERT(fl->C_SignInit(PX_FAKE_SESSION, &mech, 2) ==
	    CKR_DEVICE_ERROR);
	CU_ASSERT(fl->C_CloseSession(PX_FAKE_SESSION) == CKR_DEVICE_REMOVED);
	px_case_end(fl, pid);
	unsetenv("OBHSM_P11PROXY_TIMEOUT_MS");

	/* A server of another ABI or protocol version: refused. */
	b = px_rep(P11P_INITIALIZE, CKR_OK, 1);
	CU_ASSERT_FATAL(b != NULL && buf_put_u32(b, P11P_VERSION) == 0 &&
	    buf_put_u8(b, 4) == 0);
	CU_ASSERT_FATAL((pid = px_fake_start(sock, P11P_INITIALIZE, b)) > 0);
	CU_ASSERT(fl->C_Initialize(NULL) == CKR_DEVICE_ERROR);
	CU_ASSERT(fl->C_GetInfo(&info) == CKR_CRYPTOKI_NOT_INITIALIZED);
	px_fake_stop(pid);

	setenv("OBHSM_P11PROXY_SOCKET", px_sock, 1);
	dlclose(dl);
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
		execl(px_server, px_server, SFX_SOFTHSM, sock, (char *)NULL);
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

	CU_ASSERT_FATAL((pid = px_server_start(px_sock, SFX_SOFTHSM)) > 0);
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
	px_track(sg.pid, 1);
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
	CU_ASSERT_FATAL((pid = px_server_start(px_sock, SFX_SOFTHSM)) > 0);
	for (i = 0; i < 100 && !ok; i++) {
		if ((ok = sg_recertify(&c, master.addr, &bk[1], tp)) == 0)
			nanosleep(&ts, NULL);
	}
	CU_ASSERT(ok == 1);
	CU_ASSERT(waitpid(sg.pid, &st, WNOHANG) == 0);
	sfx_conn_close(&c);
	px_track(sg.pid, 0);
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
	{ "replies", test_p11proxy_replies },
	{ "server_dir", test_p11proxy_server_dir },
	{ "signer", test_p11proxy_signer },
	{ NULL, NULL }
};

void
test_register_p11proxy(void)
{
	test_add_suite("p11proxy", p11proxy_tests);
}
