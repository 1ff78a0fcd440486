/*
 * obhsm-signer against a failing token: the real daemon (from
 * $OBHSM_BUILDDIR) on a throwaway SoftHSM token seen through the
 * fault-injecting module (tests/p11fault, doc/p11fault.md).
 *
 * A token pulled mid-run makes requests fail with PROTO_R_HSM while the
 * daemon stays up, and signing resumes once it is back, without a
 * restart.  A hung token fails a request within hsm-timeout and the
 * daemon keeps answering.  A wrong PIN at start is tried exactly once
 * and the daemon exits non-zero saying so.
 *
 * The fixture follows tests/test_signer.c (online identity mode, backend
 * descriptors fed through the socket, RECERTIFY for token signatures).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "crypto.h"
#include "err.h"
#include "hs_cert.h"
#include "hs_desc.h"
#include "hs_keys.h"
#include "msg.h"
#include "proto.h"
#include "provision.h"
#include "tests.h"

#define PERIOD		1440
#define ROT		720
#define N_BACKENDS	2
#define N_INTRO		3	/* per backend */
#define T_MS		20000	/* reply timeout: ASan + SoftHSM */
#define HSM_T_MS	2000	/* the signer's hsm-timeout */
#define HANG_MS		5000	/* longer than HSM_T_MS */

struct key {
	uint8_t			sk[ED25519_EXPANDED_LEN];
	uint8_t			pk[ED25519_PK_LEN];
	char			addr[HS_ADDR_LEN + 1];
	uint8_t			bl_sk[ED25519_EXPANDED_LEN];
	uint8_t			bl_pk[ED25519_PK_LEN];
	struct hs_signer	bl_signer;
};

static struct {
	int		 ready;		/* set up (1), skipped (-1) */
	char		 dir[PATH_MAX];
	char		 sock[PATH_MAX];
	char		 log[PATH_MAX];
	char		 ctl[PATH_MAX];
	char		 counters[PATH_MAX];
	char		 module[PATH_MAX];
	char		 softhsm_conf[PATH_MAX];
	pid_t		 pid;
	uint64_t	 tp;
	struct key	 master;
	struct key	 backend[N_BACKENDS];
	struct key	 ds[N_BACKENDS];
	struct hs_signer ds_signer[N_BACKENDS];
	struct hs_desc	 bdesc[N_BACKENDS];
} F;

static void fmt(char *, size_t, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static void
fmt(char *out, size_t len, const char *f, ...)
{
	va_list	ap;
	int	n;

	va_start(ap, f);
	n = vsnprintf(out, len, f, ap);
	va_end(ap);
	CU_ASSERT_FATAL(n >= 0 && (size_t)n < len);
}

static void
key_make(struct key *k, uint64_t tp)
{
	uint8_t	seed[32];

	CU_ASSERT_FATAL(ob_random(seed, sizeof(seed)) == 0);
	CU_ASSERT_FATAL(hs_expanded_from_seed(k->sk, seed) == 0);
	CU_ASSERT_FATAL(hs_expanded_pubkey(k->pk, k->sk) == 0);
	CU_ASSERT_FATAL(hs_address_encode(k->addr, k->pk) == 0);
	CU_ASSERT_FATAL(hs_blind_seckey(k->bl_sk, k->sk, k->pk, tp,
	    PERIOD) == 0);
	CU_ASSERT_FATAL(hs_blind_pubkey(k->bl_pk, k->pk, tp, PERIOD) == 0);
	hs_signer_expanded(&k->bl_signer, k->bl_sk, k->bl_pk);
}

static void
cert_make(struct hs_cert *c, uint8_t type, uint32_t exp,
    const uint8_t certified[32], const struct hs_signer *s)
{
	uint8_t	raw[HS_CERT_LEN];

	CU_ASSERT_FATAL(hs_cert_build(raw, type, exp, certified, s) == 0);
	CU_ASSERT_FATAL(hs_cert_parse(c, raw, sizeof(raw)) == 0);
}

/* A backend descriptor as a stock tor would publish it. */
static void
backend_desc_make(size_t b, time_t now)
{
	struct hs_desc		*d = &F.bdesc[b];
	struct hs_intro_point	*ip;
	uint8_t			 k[32];
	size_t			 i, n;

	hs_desc_init(d);
	d->lifetime_min = HS_DESC_LIFETIME_DEFAULT;
	d->revision_counter = 1000 + b;
	cert_make(&d->signing_cert, HS_CERT_TYPE_DESC_SIGNING,
	    hs_cert_expiry_desc_signing(now), F.ds[b].pk,
	    &F.backend[b].bl_signer);
	d->has_flow_control = 1;
	fmt(d->flow_control_versions, sizeof(d->flow_control_versions),
	    "1-2");
	d->flow_control_sendme_inc = 31;
	for (i = 0; i < N_INTRO; i++) {
		ip = &d->intro[i];
		n = 0;
		ip->linkspec[n++] = 2;
		ip->linkspec[n++] = 0;	/* IPv4 */
		ip->linkspec[n++] = 6;
		CU_ASSERT_FATAL(ob_random(ip->linkspec + n, 6) == 0);
		n += 6;
		ip->linkspec[n++] = 2;	/* legacy id */
		ip->linkspec[n++] = 20;
		CU_ASSERT_FATAL(ob_random(ip->linkspec + n, 20) == 0);
		n += 20;
		ip->linkspec_len = n;
		CU_ASSERT_FATAL(ob_random(ip->onion_key, 32) == 0);
		CU_ASSERT_FATAL(ob_random(ip->enc_key, 32) == 0);
		CU_ASSERT_FATAL(ob_random(k, 32) == 0);
		cert_make(&ip->auth_key_cert, HS_CERT_TYPE_AUTH_HS_IP_KEY,
		    hs_cert_expiry_intro(now), k, &F.ds_signer[b]);
		CU_ASSERT_FATAL(ob_random(k, 32) == 0);
		cert_make(&ip->enc_key_cert, HS_CERT_TYPE_CROSS_HS_IP_KEYS,
		    hs_cert_expiry_intro(now), k, &F.ds_signer[b]);
	}
	d->n_intro = N_INTRO;
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	FILE	*f;

	CU_ASSERT_FATAL((f = fopen(path, "w")) != NULL);
	CU_ASSERT(fputs(text, f) >= 0);
	CU_ASSERT(fclose(f) == 0);
	CU_ASSERT(chmod(path, mode) == 0);
}

/* The fault module's control file, replaced whole (doc/p11fault.md). */
static void
ctl_set(const char *text)
{
	char	tmp[PATH_MAX];

	fmt(tmp, sizeof(tmp), "%s.new", F.ctl);
	write_file(tmp, text, 0600);
	CU_ASSERT_FATAL(rename(tmp, F.ctl) == 0);
}

/* A counter from the fault module's counters file, -1 if absent. */
static long
counter_get(const char *name)
{
	uint8_t	*d;
	char	*line, *save = NULL, key[64];
	size_t	 n;
	long	 v, r = -1;

	if ((d = test_read_file(F.counters, &n)) == NULL)
		return -1;
	for (line = strtok_r((char *)d, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		if (sscanf(line, "%63s %ld", key, &v) == 2 &&
		    strcmp(key, name) == 0)
			r = v;
	free(d);
	return r;
}

static int
log_has(const char *s)
{
	uint8_t	*d;
	size_t	 n;
	int	 r;

	if ((d = test_read_file(F.log, &n)) == NULL)
		return 0;
	r = strstr((const char *)d, s) != NULL;
	free(d);
	return r;
}

static long
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *
builddir_path(char *out, size_t len, const char *rel)
{
	const char	*bd = getenv("OBHSM_BUILDDIR");

	fmt(out, len, "%s/%s", bd != NULL ? bd : ".", rel);
	return out;
}

static int
sock_connect(void)
{
	struct sockaddr_un	sun;
	int			fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	fmt(sun.sun_path, sizeof(sun.sun_path), "%s", F.sock);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(fd);
		return -1;
	}
	(void)fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

/* SIGTERM, wait up to 5 s, then SIGKILL: never leave a daemon behind. */
static int
signer_reap(int *st)
{
	struct timespec	ts = { 0, 50 * 1000 * 1000 };
	int		i;

	if (F.pid <= 0)
		return -1;
	(void)kill(F.pid, SIGTERM);
	for (i = 0; i < 100; i++) {
		if (waitpid(F.pid, st, WNOHANG) == F.pid) {
			F.pid = 0;
			return 0;
		}
		nanosleep(&ts, NULL);
	}
	fprintf(stderr, "obhsm-signer %ld did not exit; killed\n",
	    (long)F.pid);
	(void)kill(F.pid, SIGKILL);
	(void)waitpid(F.pid, st, 0);
	F.pid = 0;
	return -1;
}

static void
signer_stop(void)
{
	int	st;

	if (F.pid > 0)
		(void)signer_reap(&st);
	if (F.sock[0] != '\0')
		(void)unlink(F.sock);
}

static void
signer_spawn(void)
{
	char	conf[PATH_MAX], bin[PATH_MAX];
	int	logfd;

	fmt(conf, sizeof(conf), "%s/signer.conf", F.dir);
	builddir_path(bin, sizeof(bin), "obhsm-signer");
	F.pid = fork();
	CU_ASSERT_FATAL(F.pid != -1);
	if (F.pid == 0) {
		/* Only the daemon's environment: other suites load the
		 * fault module and SoftHSM with their own. */
		if (setenv("SOFTHSM2_CONF", F.softhsm_conf, 1) != 0 ||
		    setenv("OBHSM_P11FAULT_MODULE",
		    "/usr/lib/softhsm/libsofthsm2.so", 1) != 0 ||
		    setenv("OBHSM_P11FAULT_CONTROL", F.ctl, 1) != 0 ||
		    setenv("OBHSM_P11FAULT_COUNTERS", F.counters, 1) != 0)
			_exit(126);
		logfd = open(F.log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (logfd != -1) {
			dup2(logfd, 2);
			close(logfd);
		}
		execl(bin, "obhsm-signer", "-d", "-v", "-f", conf,
		    (char *)NULL);
		_exit(127);
	}
}

static void
signer_start(void)
{
	struct timespec	ts = { 0, 50 * 1000 * 1000 };
	int		fd, i;

	signer_spawn();
	for (i = 0; i < 600; i++) {
		if ((fd = sock_connect()) != -1) {
			close(fd);
			return;
		}
		if (waitpid(F.pid, NULL, WNOHANG) == F.pid) {
			F.pid = 0;
			break;
		}
		nanosleep(&ts, NULL);
	}
	fprintf(stderr, "signer did not start; see %s\n", F.log);
	CU_FAIL_FATAL("signer did not start");
}

static void
fixture(void)
{
	char	text[8192], path[PATH_MAX], bin[PATH_MAX], cmd[PATH_MAX + 128];
	time_t	now = time(NULL);
	size_t	b;
	int	r;

	if (F.ready != 0)
		return;
	F.ready = -1;
	if (access("/usr/lib/softhsm/libsofthsm2.so", R_OK) != 0 ||
	    system("command -v softhsm2-util >/dev/null") != 0)
		return;
	builddir_path(F.module, sizeof(F.module),
	    "tests/p11fault/.libs/obhsm-p11fault.so");
	if (access(builddir_path(bin, sizeof(bin), "obhsm-signer"),
	    X_OK) != 0 || access(F.module, R_OK) != 0) {
		fprintf(stderr, "  (no %s or %s; set OBHSM_BUILDDIR)\n", bin,
		    F.module);
		return;
	}
	fmt(F.dir, sizeof(F.dir), "%s/signer_fault", test_tmpdir());
	CU_ASSERT_FATAL(mkdir(F.dir, 0700) == 0);
	fmt(F.sock, sizeof(F.sock), "%s/signer.sock", F.dir);
	fmt(F.log, sizeof(F.log), "%s/signer.log", F.dir);
	fmt(F.ctl, sizeof(F.ctl), "%s/p11fault.ctl", F.dir);
	fmt(F.counters, sizeof(F.counters), "%s/p11fault.counters", F.dir);

	/* A throwaway token. */
	fmt(path, sizeof(path), "%s/tokens", F.dir);
	CU_ASSERT_FATAL(mkdir(path, 0700) == 0);
	fmt(text, sizeof(text), "directories.tokendir = %s\n"
	    "objectstore.backend = file\nlog.level = ERROR\n", path);
	fmt(F.softhsm_conf, sizeof(F.softhsm_conf), "%s/softhsm2.conf",
	    F.dir);
	write_file(F.softhsm_conf, text, 0600);
	fmt(cmd, sizeof(cmd), "SOFTHSM2_CONF='%s' softhsm2-util --init-token "
	    "--free --label obhsm-fault --pin 1234 --so-pin 5678 >/dev/null",
	    F.softhsm_conf);
	r = system(cmd);
	CU_ASSERT_FATAL(r == 0);
	fmt(path, sizeof(path), "%s/pin", F.dir);
	write_file(path, "1234\n", 0600);

	ctl_set("removed 0\n");

	F.tp = hs_time_period(now, PERIOD, ROT);
	key_make(&F.master, F.tp);
	fmt(path, sizeof(path), "%s/identity", F.dir);
	CU_ASSERT_FATAL(mkdir(path, 0700) == 0);
	CU_ASSERT_FATAL(provision_identity_write(path, F.master.sk,
	    F.master.pk) == 0);
	for (b = 0; b < N_BACKENDS; b++) {
		key_make(&F.backend[b], F.tp);
		key_make(&F.ds[b], F.tp);
		hs_signer_expanded(&F.ds_signer[b], F.ds[b].sk, F.ds[b].pk);
		backend_desc_make(b, now);
	}
	fmt(path, sizeof(path), "%s/state", F.dir);
	CU_ASSERT_FATAL(mkdir(path, 0700) == 0);
	/* The fault module stats its control file on every call: no
	 * seccomp filter here (test_signer covers the sandbox). */
	fmt(text, sizeof(text),
	    "pkcs11-module = \"%s\"\n"
	    "token-uri = \"pkcs11:token=obhsm-fault\"\n"
	    "pin-source = \"file:%s/pin\"\n"
	    "socket = \"%s\"\n"
	    "socket-mode = 0600\n"
	    "collector-uid = %lu\n"
	    "state-dir = \"%s/state\"\n"
	    "audit-log = \"%s/audit.log\"\n"
	    "period-length = %d\n"
	    "rotation-offset = %d\n"
	    "hsm-timeout = %d\n"
	    "sandbox = \"off\"\n"
	    "service \"%s\" {\n"
	    "  backends = { \"%s\", \"%s\" }\n"
	    "  key-mode = \"online\"\n"
	    "  identity-key = \"%s/identity/hs_ed25519_secret_key\"\n"
	    "}\n",
	    F.module, F.dir, F.sock, (unsigned long)getuid(), F.dir, F.dir,
	    PERIOD, ROT, HSM_T_MS, F.master.addr, F.backend[0].addr,
	    F.backend[1].addr, F.dir);
	fmt(path, sizeof(path), "%s/signer.conf", F.dir);
	write_file(path, text, 0600);
	atexit(signer_stop);
	signer_start();
	F.ready = 1;
}

static void
conn_open(struct msg_conn *c)
{
	struct buf	*p;
	struct msg	 m;
	int		 fd;

	CU_ASSERT_FATAL((fd = sock_connect()) != -1);
	CU_ASSERT_FATAL(msg_conn_init(c, fd) == 0);
	CU_ASSERT_FATAL((p = msg_payload_new()) != NULL);
	CU_ASSERT_FATAL(msg_put_u32(p, PROTO_VERSION) == 0 &&
	    msg_put_u8(p, PROTO_ROLE_COLLECTOR) == 0 &&
	    msg_put_str(p, "test_signer_fault") == 0);
	CU_ASSERT_FATAL(msg_conn_call(c, PROTO_HELLO, p, &m, T_MS) == 0);
	buf_free(p);
	CU_ASSERT_FATAL(m.type == PROTO_HELLO_OK);
}

static void
conn_close(struct msg_conn *c)
{
	close(c->fd);
	msg_conn_clear(c);
}

/* Expect a PROTO_ERROR with this reason and a detail that says so. */
static void
expect_error(struct msg *m, uint16_t want)
{
	uint16_t	reason = 0;
	char		detail[PROTO_STR_MAX + 1];

	CU_ASSERT_FATAL(m->type == PROTO_ERROR);
	detail[0] = '\0';
	CU_ASSERT(msg_error_get(m, &reason, detail, sizeof(detail)) == 0);
	if (reason != want)
		fprintf(stderr, "\n    want %s, got %s: %s ",
		    msg_reason_name(want), msg_reason_name(reason), detail);
	CU_ASSERT(reason == want);
	CU_ASSERT(detail[0] != '\0');
}

/* Feed backend b's descriptor: verification needs no token. */
static void
feed_backend(struct msg_conn *c, size_t b)
{
	struct hs_desc_encode_params	 ep;
	struct buf			*desc, *p;
	struct msg			 m;

	memset(&ep, 0, sizeof(ep));
	ep.identity_pk = F.backend[b].pk;
	ep.blinded_pk = F.backend[b].bl_pk;
	CU_ASSERT_FATAL((desc = buf_new(HS_DESC_MAX_LEN + 1)) != NULL);
	CU_ASSERT_FATAL(hs_desc_encode(desc, &F.bdesc[b], &ep,
	    &F.ds_signer[b]) == 0);
	CU_ASSERT_FATAL((p = msg_payload_new()) != NULL);
	CU_ASSERT_FATAL(msg_put_str(p, F.master.addr) == 0 &&
	    msg_put_str(p, F.backend[b].addr) == 0 &&
	    msg_put_u64(p, F.tp) == 0 &&
	    msg_put_data(p, buf_ptr(desc), buf_len(desc)) == 0);
	CU_ASSERT_FATAL(msg_conn_call(c, PROTO_BACKEND_DESC, p, &m,
	    T_MS) == 0);
	buf_free(p);
	buf_free(desc);
	CU_ASSERT_FATAL(m.type == PROTO_BACKEND_DESC_OK);
}

/* RECERTIFY backend b's intro points: token signatures. */
static void
recertify(struct msg_conn *c, size_t b, struct msg *m)
{
	struct buf	*p;
	size_t		 i;

	CU_ASSERT_FATAL((p = msg_payload_new()) != NULL);
	CU_ASSERT_FATAL(msg_put_str(p, F.master.addr) == 0 &&
	    msg_put_u64(p, F.tp) == 0 && msg_put_u8(p, N_INTRO) == 0);
	for (i = 0; i < N_INTRO; i++)
		CU_ASSERT_FATAL(msg_put_fixed(p, F.bdesc[b].intro[i]
		    .auth_key_cert.certified_key, 32) == 0);
	CU_ASSERT_FATAL(msg_conn_call(c, PROTO_RECERTIFY, p, m, T_MS) == 0);
	buf_free(p);
}

/* The certs came back and cost token signatures. */
static void
expect_recertified(struct msg *m)
{
	uint32_t	sigs = 0;
	uint8_t		n = 0;

	CU_ASSERT_FATAL(m->type == PROTO_RECERTIFY_OK);
	CU_ASSERT(msg_get_u32(m, &sigs) == 0 && sigs > 0);
	CU_ASSERT(msg_get_u8(m, &n) == 0 && n == N_INTRO);
}

/* STATUS answers on a fresh connection, and the daemon is alive. */
static void
expect_serving(void)
{
	struct msg_conn	 c;
	struct msg	 m;

	CU_ASSERT_FATAL(F.pid > 0 && waitpid(F.pid, NULL, WNOHANG) == 0);
	conn_open(&c);
	CU_ASSERT_FATAL(msg_conn_call(&c, PROTO_STATUS, NULL, &m, T_MS) == 0);
	CU_ASSERT(m.type == PROTO_STATUS_OK);
	conn_close(&c);
}

/* Pulled mid-run: a clear refusal, still up, and back without restart. */
static void
test_signer_fault_removed(void)
{
	struct timespec	 ts = { 0, 500 * 1000 * 1000 };
	struct msg_conn	 c;
	struct msg	 m;
	int		 i;

	fixture();
	if (F.ready != 1)
		TEST_SKIP("no signer, SoftHSM or fault module");
	conn_open(&c);
	feed_backend(&c, 0);
	ctl_set("removed 1\n");
	recertify(&c, 0, &m);
	expect_error(&m, PROTO_R_HSM);
	/* The same connection and a new one are still served. */
	CU_ASSERT_FATAL(msg_conn_call(&c, PROTO_STATUS, NULL, &m, T_MS) == 0);
	CU_ASSERT(m.type == PROTO_STATUS_OK);
	expect_serving();

	/* Re-inserted: the signer reopens the token by itself (give it a
	 * few tries: it may notice only on the next call). */
	ctl_set("removed 0\n");
	for (i = 0; i < 10; i++) {
		recertify(&c, 0, &m);
		if (m.type != PROTO_ERROR)
			break;
		nanosleep(&ts, NULL);
	}
	expect_recertified(&m);
	CU_ASSERT(counter_get("C_Sign") > 0);
	conn_close(&c);
	expect_serving();
}

/* Hung in C_Sign: the request fails within hsm-timeout, STATUS goes on. */
static void
test_signer_fault_hung(void)
{
	struct msg_conn	 c;
	struct msg	 m;
	char		 text[64];
	long		 t0, dt;

	fixture();
	if (F.ready != 1 || F.pid <= 0)
		TEST_SKIP("no signer");
	conn_open(&c);
	feed_backend(&c, 1);
	fmt(text, sizeof(text), "hang C_Sign %d\n", HANG_MS);
	ctl_set(text);
	t0 = now_ms();
	recertify(&c, 1, &m);
	dt = now_ms() - t0;
	expect_error(&m, PROTO_R_HSM);
	/* Within the watchdog, not after the hang (slack for ASan). */
	CU_ASSERT(dt >= HSM_T_MS - 100);
	CU_ASSERT(dt < HANG_MS);
	if (dt >= HANG_MS)
		fprintf(stderr, "\n    RECERTIFY on a hung token took %ld ms ",
		    dt);
	ctl_set("removed 0\n");
	/* Other messages are still served, at once. */
	t0 = now_ms();
	CU_ASSERT_FATAL(msg_conn_call(&c, PROTO_STATUS, NULL, &m, T_MS) == 0);
	CU_ASSERT(m.type == PROTO_STATUS_OK);
	CU_ASSERT(now_ms() - t0 < HSM_T_MS);
	conn_close(&c);
	expect_serving();
}

/* Wrong PIN at start: one C_Login, a message, a non-zero exit. */
static void
test_signer_fault_pin(void)
{
	struct timespec	ts = { 0, 50 * 1000 * 1000 };
	char		path[PATH_MAX];
	int		st = 0, i, done = 0;

	fixture();
	if (F.ready != 1)
		TEST_SKIP("no signer");
	signer_stop();
	ctl_set("removed 0\n");
	(void)unlink(F.counters);
	(void)unlink(F.log);
	fmt(path, sizeof(path), "%s/pin", F.dir);
	write_file(path, "9999\n", 0600);
	signer_spawn();
	for (i = 0; i < 400; i++) {
		if (waitpid(F.pid, &st, WNOHANG) == F.pid) {
			F.pid = 0;
			done = 1;
			break;
		}
		nanosleep(&ts, NULL);
	}
	if (!done) {
		(void)signer_reap(&st);
		CU_FAIL_FATAL("signer with a wrong PIN did not exit");
	}
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) != 0);
	CU_ASSERT(counter_get("C_Login") == 1);
	CU_ASSERT(log_has("PIN_INCORRECT"));
	if (!log_has("PIN_INCORRECT"))
		fprintf(stderr, "\n    no PIN_INCORRECT in %s ", F.log);
	write_file(path, "1234\n", 0600);
}

static const struct test_case signer_fault_tests[] = {
	{ "removed",	test_signer_fault_removed },
	{ "hung",	test_signer_fault_hung },
	{ "pin",	test_signer_fault_pin },
	{ NULL, NULL }
};

void
test_register_signer_fault(void)
{
	test_add_suite("signer_fault", signer_fault_tests);
}
