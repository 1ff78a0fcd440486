/*
 * obhsm-signer against a failing token: the real daemon (from
 * $OBHSM_BUILDDIR) on a throwaway SoftHSM token seen through the
 * fault-injecting module (tests/p11fault, doc/p11fault.md).
 *
 * A token pulled mid-run makes requests fail with PROTO_R_HSM while the
 * daemon stays up (the outage logged once, not once per request), and
 * signing resumes once it is back, without a restart.  A hung token
 * fails a request within hsm-timeout and the daemon keeps answering.  A
 * wrong PIN at start is tried exactly once and the daemon exits
 * non-zero saying so.  One service's key gone from a working token
 * refuses that service alone, with PROTO_R_TOKEN_KEY.
 *
 * The fixture is tests/signer_fixture.c's, as in tests/test_signer.c
 * (online identity mode, backend descriptors fed through the socket,
 * RECERTIFY for token signatures).
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "hs_desc.h"
#include "hs_keys.h"
#include "msg.h"
#include "proto.h"
#include "provision.h"
#include "signer_fixture.h"
#include "tests.h"

#define PERIOD		1440
#define ROT		720
#define N_BACKENDS	2
#define N_INTRO		3	/* per backend */
#define T_MS		20000	/* reply timeout: ASan + SoftHSM */
#define HSM_T_MS	2000	/* the signer's hsm-timeout */
#define START_MS	30000
#define STOP_MS		5000

static struct {
	int		 ready;		/* set up (1), skipped (-1) */
	char		 dir[PATH_MAX];
	char		 sock[PATH_MAX];
	char		 log[PATH_MAX];
	char		 conf[PATH_MAX];
	char		 bin[PATH_MAX];
	char		 ctl[PATH_MAX];
	char		 counters[PATH_MAX];
	char		 module[PATH_MAX];
	char		 softhsm_conf[PATH_MAX];
	const char	*env[9];	/* the daemon's: see fixture() */
	struct sfx_signer signer;
	uint64_t	 tp;
	struct sfx_key	 master;
	struct sfx_key	 master2;	/* a second service, same backends */
	struct sfx_backend bk[N_BACKENDS];
} F;

/* The fault module's control file, replaced whole (doc/p11fault.md). */
static void
ctl_set(const char *text)
{
	char	tmp[PATH_MAX];

	CU_ASSERT_FATAL(sfx_fmt(tmp, sizeof(tmp), "%s.new", F.ctl) == 0);
	CU_ASSERT_FATAL(sfx_write_file(tmp, text, 0600) == 0);
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
	return sfx_file_has(F.log, s);
}

/* Lines of the daemon's log that hold s, -1 if it cannot be read. */
static long
file_count(const char *path, const char *s)
{
	uint8_t	*d;
	char	*line, *save = NULL;
	size_t	 n;
	long	 c = 0;

	if ((d = test_read_file(path, &n)) == NULL)
		return -1;
	for (line = strtok_r((char *)d, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		if (strstr(line, s) != NULL)
			c++;
	free(d);
	return c;
}

static long
log_count(const char *s)
{
	return file_count(F.log, s);
}

static long
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
signer_stop(void)
{
	int	st;

	(void)sfx_signer_reap(&F.signer, &st, STOP_MS);
	if (F.sock[0] != '\0')
		(void)unlink(F.sock);
}

static void
fixture(void)
{
	struct sfx_conf	 sc;
	struct buf	*t;
	const char	*backends[N_BACKENDS];
	char		 path[PATH_MAX];
	time_t		 now = time(NULL);
	size_t		 b;

	if (F.ready != 0)
		return;
	F.ready = -1;
	if (!sfx_have_softhsm())
		return;
	CU_ASSERT_FATAL(sfx_fmt(F.module, sizeof(F.module), "%s/%s",
	    getenv("OBHSM_BUILDDIR") != NULL ? getenv("OBHSM_BUILDDIR") : ".",
	    "tests/p11fault/.libs/obhsm-p11fault.so") == 0);
	sfx_signer_binary(F.bin, sizeof(F.bin));
	if (access(F.bin, X_OK) != 0 || access(F.module, R_OK) != 0) {
		fprintf(stderr, "  (no %s or %s; set OBHSM_BUILDDIR)\n", F.bin,
		    F.module);
		return;
	}
	CU_ASSERT_FATAL(sfx_fmt(F.dir, sizeof(F.dir), "%s/signer_fault",
	    test_tmpdir()) == 0);
	CU_ASSERT_FATAL(mkdir(F.dir, 0700) == 0);
	CU_ASSERT_FATAL(sfx_fmt(F.sock, sizeof(F.sock), "%s/signer.sock",
	    F.dir) == 0 &&
	    sfx_fmt(F.log, sizeof(F.log), "%s/signer.log", F.dir) == 0 &&
	    sfx_fmt(F.conf, sizeof(F.conf), "%s/signer.conf", F.dir) == 0 &&
	    sfx_fmt(F.ctl, sizeof(F.ctl), "%s/p11fault.ctl", F.dir) == 0 &&
	    sfx_fmt(F.counters, sizeof(F.counters), "%s/p11fault.counters",
	    F.dir) == 0);

	/* A throwaway token, seen by the daemon only through the fault
	 * module: other suites load it and SoftHSM with their own
	 * environment. */
	CU_ASSERT_FATAL(sfx_token_init(F.dir, "obhsm-fault", F.softhsm_conf,
	    sizeof(F.softhsm_conf)) == 0);
	F.env[0] = "SOFTHSM2_CONF";
	F.env[1] = F.softhsm_conf;
	F.env[2] = "OBHSM_P11FAULT_MODULE";
	F.env[3] = SFX_SOFTHSM;
	F.env[4] = "OBHSM_P11FAULT_CONTROL";
	F.env[5] = F.ctl;
	F.env[6] = "OBHSM_P11FAULT_COUNTERS";
	F.env[7] = F.counters;
	F.env[8] = NULL;
	ctl_set("removed 0\n");

	/* The master (online identity mode) and its backends. */
	F.tp = hs_time_period(now, PERIOD, ROT);
	CU_ASSERT_FATAL(sfx_key_make(&F.master, F.tp, PERIOD) == 0);
	CU_ASSERT_FATAL(sfx_fmt(path, sizeof(path), "%s/identity",
	    F.dir) == 0);
	CU_ASSERT_FATAL(sfx_identity_write(path, &F.master) == 0);
	CU_ASSERT_FATAL(sfx_key_make(&F.master2, F.tp, PERIOD) == 0);
	CU_ASSERT_FATAL(sfx_fmt(path, sizeof(path), "%s/identity2",
	    F.dir) == 0);
	CU_ASSERT_FATAL(sfx_identity_write(path, &F.master2) == 0);
	for (b = 0; b < N_BACKENDS; b++) {
		CU_ASSERT_FATAL(sfx_backend_make(&F.bk[b], F.tp, PERIOD,
		    N_INTRO, 1000 + b, now) == 0);
		backends[b] = F.bk[b].key.addr;
	}
	CU_ASSERT_FATAL(sfx_fmt(path, sizeof(path), "%s/state", F.dir) == 0);
	CU_ASSERT_FATAL(mkdir(path, 0700) == 0);
	CU_ASSERT_FATAL(sfx_fmt(path, sizeof(path), "%s/audit.log",
	    F.dir) == 0);
	/* The seccomp filter in mode errno (test_signer runs mode kill,
	 * without the watchdog thread): the "sandbox" test shows that the
	 * thread making the token calls is filtered. */
	sc = (struct sfx_conf){ .module = F.module, .token = "obhsm-fault",
	    .dir = F.dir, .sock = F.sock, .audit = path,
	    .socket_mode = 0600, .period_len = PERIOD, .rot_offset = ROT,
	    .hsm_timeout = HSM_T_MS, .sandbox = "errno" };
	CU_ASSERT_FATAL((t = buf_new(8192)) != NULL);
	CU_ASSERT_FATAL(sfx_conf_head(t, &sc) == 0);
	CU_ASSERT_FATAL(sfx_fmt(path, sizeof(path), "%s/identity",
	    F.dir) == 0);
	CU_ASSERT_FATAL(sfx_conf_service(t, F.master.addr, backends,
	    N_BACKENDS, path) == 0);
	CU_ASSERT_FATAL(sfx_fmt(path, sizeof(path), "%s/identity2",
	    F.dir) == 0);
	CU_ASSERT_FATAL(sfx_conf_service(t, F.master2.addr, backends,
	    N_BACKENDS, path) == 0 && buf_put_u8(t, 0) == 0);
	CU_ASSERT_FATAL(sfx_write_file(F.conf, (const char *)buf_ptr(t),
	    0600) == 0);
	buf_free(t);

	F.signer.bin = F.bin;
	F.signer.conf = F.conf;
	F.signer.log = F.log;
	F.signer.sock = F.sock;
	F.signer.verbose = 1;
	F.signer.env = F.env;
	atexit(signer_stop);
	CU_ASSERT_FATAL(sfx_signer_start(&F.signer, START_MS) == 0);
	F.ready = 1;
}

static void
conn_open(struct msg_conn *c)
{
	struct msg	m;

	CU_ASSERT_FATAL(sfx_conn_open(c, F.sock, "test_signer_fault", &m,
	    T_MS) == 0);
}

/* Expect a PROTO_ERROR with this reason and a detail that says so. */
static void
expect_error(struct msg *m, uint16_t want)
{
	char	detail[PROTO_STR_MAX + 1];

	CU_ASSERT_FATAL(m->type == PROTO_ERROR);
	CU_ASSERT(sfx_error_is(m, want, detail, sizeof(detail)));
	CU_ASSERT(detail[0] != '\0');
}

/* Feed backend b's descriptor for a service: verification needs no
 * token. */
static void
feed_backend_to(struct msg_conn *c, const char *svc, size_t b)
{
	struct buf	*desc, *p;
	struct msg	 m;

	CU_ASSERT_FATAL((desc = sfx_backend_desc_encode(&F.bk[b].desc,
	    &F.bk[b].key, &F.bk[b].ds_signer)) != NULL);
	CU_ASSERT_FATAL((p = sfx_backend_desc_msg(svc,
	    F.bk[b].key.addr, F.tp, desc)) != NULL);
	CU_ASSERT_FATAL(msg_conn_call(c, PROTO_BACKEND_DESC, p, &m,
	    T_MS) == 0);
	buf_free(p);
	buf_free(desc);
	CU_ASSERT_FATAL(m.type == PROTO_BACKEND_DESC_OK);
}

static void
feed_backend(struct msg_conn *c, size_t b)
{
	feed_backend_to(c, F.master.addr, b);
}

/* RECERTIFY backend b's intro points for a service: token signatures. */
static void
recertify_to(struct msg_conn *c, const char *svc, size_t b,
    struct msg *m)
{
	struct buf	*p;

	CU_ASSERT_FATAL((p = sfx_recertify_msg(svc, F.tp,
	    F.bk[b].desc.intro, N_INTRO)) != NULL);
	CU_ASSERT_FATAL(msg_conn_call(c, PROTO_RECERTIFY, p, m, T_MS) == 0);
	buf_free(p);
}

static void
recertify(struct msg_conn *c, size_t b, struct msg *m)
{
	recertify_to(c, F.master.addr, b, m);
}

/* The certs came back and cost token signatures. */
static void
expect_recertified(struct msg *m, size_t b)
{
	uint8_t		c09[N_INTRO][HS_CERT_LEN], c0b[N_INTRO][HS_CERT_LEN];
	uint32_t	sigs = 0;

	CU_ASSERT_FATAL(m->type == PROTO_RECERTIFY_OK);
	CU_ASSERT(sfx_recertify_reply(m, &sigs, F.bk[b].desc.intro, N_INTRO,
	    c09, c0b) == 0);
	CU_ASSERT(sigs > 0);
}

/* STATUS answers on a fresh connection, and the daemon is alive. */
static void
expect_serving(void)
{
	struct msg_conn	 c;
	struct msg	 m;

	CU_ASSERT_FATAL(F.signer.pid > 0 &&
	    waitpid(F.signer.pid, NULL, WNOHANG) == 0);
	conn_open(&c);
	CU_ASSERT_FATAL(msg_conn_call(&c, PROTO_STATUS, NULL, &m, T_MS) == 0);
	CU_ASSERT(m.type == PROTO_STATUS_OK);
	sfx_conn_close(&c);
}

/*
 * A fresh daemon and a connection to it, and backend b's descriptor
 * replaced by one with new intro points: certs the token has not made
 * (so a RECERTIFY reaches the token, not the signer's cache).
 */
static void
backend_renew(size_t b)
{
	struct hs_desc	d;

	CU_ASSERT_FATAL(sfx_backend_desc(&d, &F.bk[b].key, &F.bk[b].ds_signer,
	    N_INTRO, F.bk[b].desc.revision_counter + 1, time(NULL)) == 0);
	hs_desc_clear(&F.bk[b].desc);
	F.bk[b].desc = d;
}

static void
fresh_start(struct msg_conn *c, size_t b)
{
	signer_stop();
	ctl_set("removed 0\n");
	CU_ASSERT_FATAL(sfx_signer_start(&F.signer, START_MS) == 0);
	conn_open(c);
	backend_renew(b);
}

/* Pulled mid-run: a clear refusal, still up, and back without restart. */
static void
test_signer_fault_removed(void)
{
	struct timespec	 ts = { 0, 500 * 1000 * 1000 };
	struct msg_conn	 c;
	struct msg	 m;
	long		 out0, refused0, back0, hsm0;
	int		 i;

	fixture();
	if (F.ready != 1)
		TEST_SKIP("no signer, SoftHSM or fault module");
	conn_open(&c);
	feed_backend(&c, 0);
	out0 = log_count("token out: ");
	refused0 = log_count("refused (hsm)");
	back0 = log_count("token back after");
	ctl_set("removed 1\n");
	recertify(&c, 0, &m);
	expect_error(&m, PROTO_R_HSM);
	recertify(&c, 0, &m);
	expect_error(&m, PROTO_R_HSM);
	hsm0 = log_count(": hsm_");
	/* The outage is logged when it begins, not at every refusal (a
	 * collector tries again every few seconds while it lasts), and
	 * hsm/ says each failure of the token once a minute. */
	for (i = 0; i < 3; i++) {
		recertify(&c, 0, &m);
		expect_error(&m, PROTO_R_HSM);
	}
	CU_ASSERT(log_count(": hsm_") == hsm0);
	if (log_count(": hsm_") != hsm0)
		fprintf(stderr, "\n    %ld hsm lines, then %ld\n", hsm0,
		    log_count(": hsm_"));
	CU_ASSERT(log_count("token out: ") == out0 + 1);
	CU_ASSERT(log_count("refused (hsm)") == refused0);
	CU_ASSERT(log_count("token back after") == back0);
	/* The same connection and a new one are still served. */
	CU_ASSERT_FATAL(msg_conn_call(&c, PROTO_STATUS, NULL, &m, T_MS) == 0);
	CU_ASSERT(m.type == PROTO_STATUS_OK);
	expect_serving();

	/* Re-inserted: the signer reopens the token by itself (give it a
	 * few tries: it may notice only on the next call). */
	ctl_set("removed 0\n");
	for (i = 0; i < 60; i++) {
		recertify(&c, 0, &m);
		if (m.type != PROTO_ERROR)
			break;
		nanosleep(&ts, NULL);
	}
	expect_recertified(&m, 0);
	CU_ASSERT(counter_get("C_Sign") > 0);
	CU_ASSERT(log_count("token back after") == back0 + 1);
	CU_ASSERT(log_count("token out: ") == out0 + 1);
	sfx_conn_close(&c);
	expect_serving();
}

/* Hung in C_Sign: the request fails within hsm-timeout, STATUS goes on. */
static void
test_signer_fault_hung(void)
{
	struct msg_conn	 c;
	struct msg	 m;
	long		 t0, dt, end;

	fixture();
	if (F.ready != 1 || F.signer.pid <= 0)
		TEST_SKIP("no signer");
	conn_open(&c);
	feed_backend(&c, 1);
	/*
	 * Stuck until the control file lets it go: checked by order, not by
	 * speed.  The refusal comes while C_Sign is still in the module
	 * ("hanging" 1), and not before the watchdog's timeout.
	 */
	ctl_set("hang C_Sign 600000\n");
	t0 = now_ms();
	recertify(&c, 1, &m);
	dt = now_ms() - t0;
	expect_error(&m, PROTO_R_HSM);
	CU_ASSERT(dt >= HSM_T_MS - 100);
	CU_ASSERT(counter_get("hanging") == 1);
	/* Other messages are served while the token is stuck. */
	CU_ASSERT_FATAL(msg_conn_call(&c, PROTO_STATUS, NULL, &m, T_MS) == 0);
	CU_ASSERT(m.type == PROTO_STATUS_OK);
	CU_ASSERT(counter_get("hanging") == 1);
	ctl_set("removed 0\n");
	/* Let the call go before the next test (a bound, not a measure). */
	end = now_ms() + T_MS;
	while (counter_get("hanging") != 0 && now_ms() < end)
		usleep(20 * 1000);
	CU_ASSERT(counter_get("hanging") == 0);
	sfx_conn_close(&c);
	expect_serving();
}

/* Records in the audit log (lines), -1 if it cannot be read. */
static long
audit_lines(void)
{
	char	 path[PATH_MAX];
	uint8_t	*d;
	size_t	 n, i;
	long	 lines = 0;

	if (sfx_fmt(path, sizeof(path), "%s/audit.log", F.dir) == -1)
		return -1;
	if ((d = test_read_file(path, &n)) == NULL)
		return access(path, F_OK) == 0 ? -1 : 0;
	for (i = 0; i < n; i++)
		if (d[i] == '\n')
			lines++;
	free(d);
	return lines;
}

/*
 * The token hands back wrong signatures with CKR_OK (corrupt_sign): the
 * signer refuses with PROTO_R_HSM, audits nothing, stays up, and once
 * the token behaves issues certs that verify.  Backend 1 publishes a
 * new descriptor first, so its intro points have no certs yet and every
 * RECERTIFY here costs token signatures.
 */
static void
test_signer_fault_corrupt(void)
{
	struct hs_cert	 hc;
	struct msg_conn	 c;
	struct msg	 m;
	struct buf	*desc, *p;
	char		 detail[PROTO_STR_MAX + 1];
	uint8_t		 c09[N_INTRO][HS_CERT_LEN];
	uint8_t		 c0b[N_INTRO][HS_CERT_LEN];
	uint32_t	 sigs = 0;
	long		 a0, k0;
	size_t		 i;

	fixture();
	if (F.ready != 1)
		TEST_SKIP("no signer, SoftHSM or fault module");
	/* A fresh daemon: a second hang in a row makes the signer exit. */
	fresh_start(&c, 1);
	CU_ASSERT_FATAL((desc = sfx_backend_desc_encode(&F.bk[1].desc,
	    &F.bk[1].key, &F.bk[1].ds_signer)) != NULL);
	CU_ASSERT_FATAL((p = sfx_backend_desc_msg(F.master.addr,
	    F.bk[1].key.addr, F.tp, desc)) != NULL);
	CU_ASSERT_FATAL(msg_conn_call(&c, PROTO_BACKEND_DESC, p, &m,
	    T_MS) == 0);
	buf_free(p);
	buf_free(desc);
	CU_ASSERT_FATAL(m.type == PROTO_BACKEND_DESC_OK);
	a0 = audit_lines();
	k0 = counter_get("corrupted");
	CU_ASSERT_FATAL(a0 >= 0);

	/* Every signature bad. */
	ctl_set("corrupt_sign 0\n");
	recertify(&c, 1, &m);
	CU_ASSERT_FATAL(m.type == PROTO_ERROR);
	CU_ASSERT(sfx_error_is(&m, PROTO_R_HSM, detail, sizeof(detail)));
	CU_ASSERT(strstr(detail, "does not verify") != NULL);
	if (strstr(detail, "does not verify") == NULL)
		fprintf(stderr, "\n    refusal: \"%s\" ", detail);
	CU_ASSERT(counter_get("corrupted") > (k0 > 0 ? k0 : 0));
	CU_ASSERT(audit_lines() == a0);
	expect_serving();

	/* One bad signature (a bit in S): still refused, nothing audited;
	 * then the count is spent and the same request is served. */
	k0 = counter_get("corrupted");
	ctl_set("corrupt_sign 1 400\n");
	recertify(&c, 1, &m);
	expect_error(&m, PROTO_R_HSM);
	CU_ASSERT(counter_get("corrupted") == k0 + 1);
	CU_ASSERT(audit_lines() == a0);
	recertify(&c, 1, &m);
	CU_ASSERT_FATAL(m.type == PROTO_RECERTIFY_OK);
	CU_ASSERT(sfx_recertify_reply(&m, &sigs, F.bk[1].desc.intro, N_INTRO,
	    c09, c0b) == 0);
	CU_ASSERT(sigs == 2 * N_INTRO);
	CU_ASSERT(counter_get("corrupted") == k0 + 1);
	CU_ASSERT(audit_lines() == a0 + 2 * N_INTRO);

	/* What came out is good: every cert verifies under its key. */
	for (i = 0; i < N_INTRO; i++) {
		CU_ASSERT(hs_cert_parse(&hc, c09[i], HS_CERT_LEN) == 0 &&
		    hs_cert_verify(&hc, HS_CERT_TYPE_AUTH_HS_IP_KEY, NULL,
		    time(NULL)) == 0);
		CU_ASSERT(hs_cert_parse(&hc, c0b[i], HS_CERT_LEN) == 0 &&
		    hs_cert_verify(&hc, HS_CERT_TYPE_CROSS_HS_IP_KEYS, NULL,
		    time(NULL)) == 0);
	}
	ctl_set("removed 0\n");
	sfx_conn_close(&c);
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
	CU_ASSERT_FATAL(sfx_fmt(path, sizeof(path), "%s/pin", F.dir) == 0);
	CU_ASSERT_FATAL(sfx_write_file(path, "9999\n", 0600) == 0);
	CU_ASSERT_FATAL(sfx_signer_spawn(&F.signer) == 0);
	for (i = 0; i < 400; i++) {
		if (waitpid(F.signer.pid, &st, WNOHANG) == F.signer.pid) {
			F.signer.pid = 0;
			done = 1;
			break;
		}
		nanosleep(&ts, NULL);
	}
	if (!done) {
		(void)sfx_signer_reap(&F.signer, &st, STOP_MS);
		CU_FAIL_FATAL("signer with a wrong PIN did not exit");
	}
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) != 0);
	CU_ASSERT(counter_get("C_Login") == 1);
	CU_ASSERT(log_has("PIN_INCORRECT"));
	if (!log_has("PIN_INCORRECT"))
		fprintf(stderr, "\n    no PIN_INCORRECT in %s ", F.log);
	CU_ASSERT(sfx_write_file(path, "1234\n", 0600) == 0);
}

/*
 * The PKCS#11 module runs on the hsm watchdog thread, started with the
 * token before the seccomp filter: the filter must cover it too.  A
 * system call no sandbox allows, made from inside C_Sign, is refused.
 * Last, on a fresh daemon, with intro points the token has not
 * certified yet (so the token is called, not the signer's cache).
 */
static void
test_signer_fault_sandbox(void)
{
	struct msg_conn	 c;
	struct msg	 m;

	fixture();
	if (F.ready != 1)
		TEST_SKIP("no signer, SoftHSM or fault module");
	fresh_start(&c, 0);
	feed_backend(&c, 0);
	ctl_set("syscall_probe C_Sign\n");
	recertify(&c, 0, &m);
	expect_recertified(&m, 0);
	CU_ASSERT(counter_get("probe_denied") > 0);
	CU_ASSERT(counter_get("probe_allowed") == 0);
	ctl_set("removed 0\n");
	sfx_conn_close(&c);
	expect_serving();
}

/* Destroy a service's token key for F.tp behind the signer's back, as
 * another process (or a careless operator) may: 0, or -1 if it cannot
 * be done here (no pkcs11-tool). */
static int
key_destroy(const char *svc)
{
	char	label[PROVISION_LABEL_MAX + 1], cmd[PATH_MAX * 2];

	if (access("/usr/bin/pkcs11-tool", X_OK) != 0 ||
	    provision_key_label(label, svc, F.tp) != 0 ||
	    sfx_fmt(cmd, sizeof(cmd), "SOFTHSM2_CONF='%s' pkcs11-tool "
	    "--module %s --token-label obhsm-fault --login --pin 1234 "
	    "--delete-object --type privkey --label '%s' >/dev/null 2>&1",
	    F.softhsm_conf, SFX_SOFTHSM, label) != 0)
		return -1;
	return system(cmd) == 0 ? 0 : -1;
}

/*
 * One service's token key gone from a token that works: that service
 * alone is refused, for its key (PROTO_R_TOKEN_KEY).  PROTO_R_HSM would
 * tell the collector the token is out, and it would pause every
 * service.  Nothing is audited for it, no token outage is logged, and
 * the other service on the same token still signs.
 */
static void
test_signer_fault_one_key(void)
{
	char		 path[PATH_MAX], detail[PROTO_STR_MAX + 1];
	struct msg_conn	 c;
	struct msg	 m;
	long		 a0, out0;
	int		 i;

	fixture();
	if (F.ready != 1)
		TEST_SKIP("no signer, SoftHSM or fault module");
	if (access("/usr/bin/pkcs11-tool", X_OK) != 0)
		TEST_SKIP("no pkcs11-tool");
	/* New intro points for backend 0 (fresh_start): a RECERTIFY of
	 * either service needs the token. */
	fresh_start(&c, 0);
	feed_backend_to(&c, F.master.addr, 0);
	feed_backend_to(&c, F.master2.addr, 0);
	CU_ASSERT_FATAL(key_destroy(F.master2.addr) == 0);
	CU_ASSERT_FATAL(sfx_fmt(path, sizeof(path), "%s/audit.log",
	    F.dir) == 0);
	a0 = audit_lines();
	out0 = log_count("token out: ");
	CU_ASSERT_FATAL(a0 >= 0);

	/* Refused for its key, every time: not a token outage. */
	for (i = 0; i < 2; i++) {
		recertify_to(&c, F.master2.addr, 0, &m);
		CU_ASSERT_FATAL(m.type == PROTO_ERROR);
		CU_ASSERT(sfx_error_is(&m, PROTO_R_TOKEN_KEY, detail,
		    sizeof(detail)));
		CU_ASSERT(strstr(detail, F.master2.addr) != NULL);
	}
	CU_ASSERT(audit_lines() == a0);

	/* The other service on the same token signs. */
	recertify_to(&c, F.master.addr, 0, &m);
	expect_recertified(&m, 0);
	CU_ASSERT(audit_lines() == a0 + 2 * N_INTRO);
	CU_ASSERT(file_count(path, F.master2.addr) == 0);
	CU_ASSERT(file_count(path, F.master.addr) >= 2 * N_INTRO);
	CU_ASSERT(log_count("token out: ") == out0);
	CU_ASSERT(log_count("refused (token-key)") >= 2);

	/* And the broken one is still refused for its key alone. */
	recertify_to(&c, F.master2.addr, 0, &m);
	expect_error(&m, PROTO_R_TOKEN_KEY);
	CU_ASSERT(audit_lines() == a0 + 2 * N_INTRO);

	/*
	 * The rule by CK_RV, with intro points the token has not certified
	 * (backend 1 renewed): a token that refuses the key object is the
	 * key's trouble, a general error is the token's.
	 */
	backend_renew(1);
	feed_backend_to(&c, F.master.addr, 1);
	ctl_set("fail C_SignInit CKR_KEY_HANDLE_INVALID 0\n");
	recertify_to(&c, F.master.addr, 1, &m);
	expect_error(&m, PROTO_R_TOKEN_KEY);
	CU_ASSERT(log_count("token out: ") == out0);
	ctl_set("fail C_Sign CKR_GENERAL_ERROR 0\n");
	recertify_to(&c, F.master.addr, 1, &m);
	expect_error(&m, PROTO_R_HSM);
	CU_ASSERT(log_count("token out: ") == out0 + 1);
	ctl_set("removed 0\n");
	recertify_to(&c, F.master.addr, 1, &m);
	expect_recertified(&m, 1);
	CU_ASSERT(log_count("token back after") >= 1);
	CU_ASSERT(audit_lines() == a0 + 4 * N_INTRO);
	sfx_conn_close(&c);
	expect_serving();
}

static const struct test_case signer_fault_tests[] = {
	{ "removed",	test_signer_fault_removed },
	{ "hung",	test_signer_fault_hung },
	{ "corrupt",	test_signer_fault_corrupt },
	{ "pin",	test_signer_fault_pin },
	{ "sandbox",	test_signer_fault_sandbox },
	{ "one key",	test_signer_fault_one_key },
	{ NULL, NULL }
};

void
test_register_signer_fault(void)
{
	test_add_suite("signer_fault", signer_fault_tests);
}
