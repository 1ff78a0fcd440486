/*
 * obhsm-signer end to end: the real daemon (built next to this runner)
 * against a throwaway SoftHSM token, spoken to through its socket.
 *
 * The happy path feeds verified backend descriptors in and gets a signed
 * master descriptor out, which our decoder (and stem, when installed)
 * accepts.  Then a compromised collector tries what it should not get:
 * each attempt is refused with its reason, and the audit log (one record
 * per token signature) does not grow.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "buf.h"
#include "crypto.h"
#include "encode.h"
#include "err.h"
#include "hs_cert.h"
#include "hs_desc.h"
#include "hs_desc_int.h"
#include "hs_keys.h"
#include "hsm.h"
#include "msg.h"
#include "proto.h"
#include "provision.h"
#include "signer_fixture.h"
#include "tests.h"

#define PERIOD		1440
#define ROT		720
#define N_BACKENDS	2
#define N_INTRO		3	/* per backend */
#define N_IP		(N_BACKENDS * N_INTRO)
#define T_MS		20000	/* reply timeout: ASan + SoftHSM */
#define START_MS	30000
#define STOP_MS		10000

/* snprintf that fails the test on truncation. */
#define FMT(...)	CU_ASSERT_FATAL(sfx_fmt(__VA_ARGS__) == 0)

static struct {
	int		 ready;		/* set up (1), skipped (-1) */
	char		 dir[PATH_MAX];
	char		 sockdir[PATH_MAX];
	char		 sock[PATH_MAX];
	char		 audit[PATH_MAX];
	char		 log[PATH_MAX];
	char		 conf[PATH_MAX];
	struct sfx_signer signer;
	uint64_t	 tp;
	struct sfx_key	 master;
	struct sfx_backend bk[N_BACKENDS];	/* as the backends built */
	/* What the signer handed out in the happy path. */
	uint8_t		 cert08[HS_CERT_LEN];
	uint8_t		 signing_pk[ED25519_PK_LEN];
	uint8_t		 cert09[N_IP][HS_CERT_LEN];
	uint8_t		 cert0b[N_IP][HS_CERT_LEN];
	uint64_t	 last_rev;
	size_t		 audit_base;	/* records when started */
	/* Offline services: B provisioned for tp and tp + 1, C only for a
	 * period long over. */
	struct sfx_key	 svc_b, svc_c;
	struct provision *store_b;
} F;

static struct buf *
backend_desc_encode(size_t b)
{
	struct buf	*out;

	CU_ASSERT_FATAL((out = sfx_backend_desc_encode(&F.bk[b].desc,
	    &F.bk[b].key, &F.bk[b].ds_signer)) != NULL);
	return out;
}

/* Every backend's intro points, in the order of F.cert09 and F.cert0b. */
static void
all_intro(struct hs_intro_point ips[N_IP])
{
	size_t	i;

	for (i = 0; i < N_IP; i++)
		ips[i] = F.bk[i / N_INTRO].desc.intro[i % N_INTRO];
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	CU_ASSERT_FATAL(sfx_write_file(path, text, mode) == 0);
}

static const char *
signer_binary(void)
{
	static char	path[PATH_MAX];

	return sfx_signer_binary(path, sizeof(path));
}

static size_t
audit_records(void)
{
	struct audit_result	res;

	CU_ASSERT(audit_verify_file(F.audit, &res) == 0);
	return res.nrecords;
}

static void
signer_stop(void)
{
	int	st;

	(void)sfx_signer_reap(&F.signer, &st, STOP_MS);
	if (F.sockdir[0] != '\0') {
		(void)unlink(F.sock);
		(void)rmdir(F.sockdir);
	}
}

static void
signer_start(void)
{
	F.audit_base = access(F.audit, F_OK) == 0 ? audit_records() : 0;
	CU_ASSERT_FATAL(sfx_signer_start(&F.signer, START_MS) == 0);
}

/*
 * Token work for the tests happens in a child: SoftHSM leaks a little in
 * C_GenerateKeyPair, which LeakSanitizer would blame on the runner, and
 * the module had better not stay loaded next to the daemon's.  In the
 * child: the test token, open, or the child exits.
 */
static struct hsm *
child_token_open(void)
{
	static char		 pin[PATH_MAX];
	struct hsm_config	 hc;
	struct hsm		*h;

	if (sfx_fmt(pin, sizeof(pin), "file:%s/pin", F.dir) != 0)
		_exit(1);
	memset(&hc, 0, sizeof(hc));
	hc.module = SFX_SOFTHSM;
	hc.uri = "pkcs11:token=obhsm-test";
	hc.pin_source = pin;
	if ((h = hsm_new(&hc)) == NULL || hsm_open(h) != 0)
		_exit(1);
	return h;
}

/* The child's exit status said it succeeded. */
static int
child_ok(pid_t pid)
{
	int	stat;

	return waitpid(pid, &stat, 0) == pid && WIFEXITED(stat) &&
	    WEXITSTATUS(stat) == 0;
}

/*
 * Offline mode as "obhsm-keytool token/certify/import" leave it: token
 * keys named by provision_key_label(), a store certified by the identity
 * key (which then leaves), here for periods first..last.
 */
static void
offline_provision(struct sfx_key *k, uint64_t first, uint64_t last,
    struct provision **keep)
{
	struct hsm		*h;
	struct hsm_key		 hk;
	struct provision	*st;
	struct provision_period	*pp;
	char			 label[PROVISION_LABEL_MAX + 1];
	char			 state[PATH_MAX];
	uint8_t			 id[PROVISION_KEY_ID_LEN];
	uint64_t		 tp;
	pid_t			 pid;

	FMT(state, sizeof(state), "%s/state", F.dir);
	CU_ASSERT_FATAL((pid = fork()) != -1);
	if (pid == 0) {
		h = child_token_open();
		if (provision_new(&st, PROVISION_STORE, k->addr, PERIOD,
		    ROT) != 0)
			_exit(1);
		for (tp = first; tp <= last; tp++) {
			if (provision_key_label(label, k->addr, tp) != 0)
				_exit(1);
			provision_key_id(id, k->pk, tp);
			if (hsm_key_generate(h, &hk, label, id,
			    sizeof(id)) != 0 ||
			    provision_period_add(st, tp, &pp) != 0)
				_exit(1);
			memcpy(pp->token_pk, hk.pk, sizeof(pp->token_pk));
			if (provision_certify_period(pp, k->sk, k->pk,
			    PERIOD, ROT) != 0)
				_exit(1);
		}
		if (provision_store_save(state, st) != 0)
			_exit(1);
		hsm_free(h);
		_exit(0);
	}
	CU_ASSERT_FATAL(child_ok(pid));
	if (keep != NULL)
		CU_ASSERT_FATAL(provision_store_load(keep, state,
		    k->addr) == 0);
}

/* Destroy the token key of (k, tp), in a child. */
static void
token_key_destroy(const struct sfx_key *k, uint64_t tp)
{
	struct hsm		*h;
	struct hsm_key		 hk;
	char			 label[PROVISION_LABEL_MAX + 1];
	uint8_t			 id[PROVISION_KEY_ID_LEN];
	pid_t			 pid;

	CU_ASSERT_FATAL(provision_key_label(label, k->addr, tp) == 0);
	provision_key_id(id, k->pk, tp);
	CU_ASSERT_FATAL((pid = fork()) != -1);
	if (pid == 0) {
		h = child_token_open();
		if (hsm_key_find(h, &hk, label, id, sizeof(id)) != 0 ||
		    hsm_key_destroy(h, &hk) != 0)
			_exit(1);
		hsm_free(h);
		_exit(0);
	}
	CU_ASSERT(child_ok(pid));
}

static void
fixture(void)
{
	struct sfx_conf	 sc;
	struct buf	*t;
	const char	*backends[N_BACKENDS];
	char		 path[PATH_MAX], softhsm_conf[PATH_MAX];
	char		 b1[HS_ADDR_LEN + 7];
	time_t		 now = time(NULL);
	size_t		 b;
	struct hs_desc	*d;

	if (F.ready != 0)
		return;
	F.ready = -1;
	if (!sfx_have_softhsm())
		return;
	if (access(signer_binary(), X_OK) != 0) {
		fprintf(stderr, "  (no %s)\n", signer_binary());
		return;
	}
	/*
	 * The socket lives where another uid can reach it (peer test):
	 * search permission only on the way down, nothing else shared.
	 */
	CU_ASSERT_FATAL(chmod(test_tmpdir(), 0711) == 0);
	FMT(F.dir, sizeof(F.dir), "%s/signer", test_tmpdir());
	CU_ASSERT_FATAL(mkdir(F.dir, 0711) == 0);
	FMT(F.sockdir, sizeof(F.sockdir), "%s/sock", F.dir);
	CU_ASSERT_FATAL(mkdir(F.sockdir, 0755) == 0);
	FMT(F.sock, sizeof(F.sock), "%s/signer.sock", F.sockdir);
	FMT(F.audit, sizeof(F.audit), "%s/audit.log", F.dir);
	FMT(F.log, sizeof(F.log), "%s/signer.log", F.dir);
	FMT(F.conf, sizeof(F.conf), "%s/signer.conf", F.dir);

	/* A throwaway token, for this process (offline_provision) and the
	 * daemon alike. */
	CU_ASSERT_FATAL(sfx_token_init(F.dir, "obhsm-test", softhsm_conf,
	    sizeof(softhsm_conf)) == 0);
	CU_ASSERT_FATAL(setenv("SOFTHSM2_CONF", softhsm_conf, 1) == 0);

	/* The master (online identity mode) and its backends. */
	F.tp = hs_time_period(now, PERIOD, ROT);
	CU_ASSERT_FATAL(sfx_key_make(&F.master, F.tp, PERIOD) == 0);
	FMT(path, sizeof(path), "%s/identity", F.dir);
	CU_ASSERT_FATAL(sfx_identity_write(path, &F.master) == 0);
	for (b = 0; b < N_BACKENDS; b++) {
		CU_ASSERT_FATAL(sfx_backend_make(&F.bk[b], F.tp, PERIOD,
		    N_INTRO, 1000 + b, now) == 0);
		/* What tor 0.4.8 and later publish. */
		d = &F.bk[b].desc;
		d->has_flow_control = 1;
		FMT(d->flow_control_versions,
		    sizeof(d->flow_control_versions), "1-2");
		d->flow_control_sendme_inc = 31;
	}
	FMT(path, sizeof(path), "%s/state", F.dir);
	CU_ASSERT_FATAL(mkdir(path, 0700) == 0);
	CU_ASSERT_FATAL(sfx_key_make(&F.svc_b, F.tp, PERIOD) == 0);
	CU_ASSERT_FATAL(sfx_key_make(&F.svc_c, F.tp, PERIOD) == 0);
	offline_provision(&F.svc_b, F.tp, F.tp + 1, &F.store_b);
	offline_provision(&F.svc_c, F.tp - 3, F.tp - 3, NULL);

	sc = (struct sfx_conf){ .module = SFX_SOFTHSM, .token = "obhsm-test",
	    .dir = F.dir, .sock = F.sock, .audit = F.audit,
	    .socket_mode = 0666, .period_len = PERIOD, .rot_offset = ROT,
	    .hsm_timeout = -1, .sandbox = "kill" };
	CU_ASSERT_FATAL((t = buf_new(8192)) != NULL);
	CU_ASSERT_FATAL(sfx_conf_head(t, &sc) == 0);
	/* One backend with ".onion", as operators may write it. */
	FMT(b1, sizeof(b1), "%s.onion", F.bk[1].key.addr);
	backends[0] = F.bk[0].key.addr;
	backends[1] = b1;
	FMT(path, sizeof(path), "%s/identity", F.dir);
	CU_ASSERT_FATAL(sfx_conf_service(t, F.master.addr, backends, 2,
	    path) == 0);
	/* Offline (the default key mode). */
	CU_ASSERT_FATAL(sfx_conf_service(t, F.svc_b.addr, &backends[0], 1,
	    NULL) == 0);
	CU_ASSERT_FATAL(sfx_conf_service(t, F.svc_c.addr,
	    (const char *const[]){ F.bk[1].key.addr }, 1, NULL) == 0);
	CU_ASSERT_FATAL(buf_put_u8(t, 0) == 0);
	write_file(F.conf, (const char *)buf_ptr(t), 0600);
	buf_free(t);

	F.signer.bin = signer_binary();
	F.signer.conf = F.conf;
	F.signer.log = F.log;
	F.signer.sock = F.sock;
	F.signer.verbose = 1;
	/* Before the start: a daemon that never answers is reaped too. */
	atexit(signer_stop);
	signer_start();
	F.ready = 1;
}

/* A connection that has done the handshake. */
static void
conn_open(struct msg_conn *c, int hello)
{
	struct msg	 m;
	uint32_t	 v, max, plen, rot;
	uint8_t		 role, mode;

	CU_ASSERT_FATAL(sfx_conn_open(c, F.sock, hello ? "test_signer" : NULL,
	    &m, T_MS) == 0);
	if (!hello)
		return;
	CU_ASSERT(msg_get_u32(&m, &v) == 0 && v == PROTO_VERSION);
	CU_ASSERT(msg_get_u8(&m, &role) == 0 && role == PROTO_ROLE_SIGNER);
	CU_ASSERT(msg_get_u32(&m, &max) == 0 && max == PROTO_MAX_PAYLOAD);
	CU_ASSERT(msg_get_u32(&m, &plen) == 0 && plen == PERIOD);
	CU_ASSERT(msg_get_u32(&m, &rot) == 0 && rot == ROT);
	CU_ASSERT(msg_get_u8(&m, &mode) == 0 && mode == PROTO_ICERT_PERIOD);
	CU_ASSERT(msg_end(&m) == 0);
}

static void
conn_close(struct msg_conn *c)
{
	sfx_conn_close(c);
}

/* Expect a PROTO_ERROR with this reason (0: say which error came). */
static void
expect_error(struct msg *m, uint16_t want)
{
	char	detail[PROTO_STR_MAX + 1];

	CU_ASSERT_FATAL(m->type == PROTO_ERROR);
	CU_ASSERT(sfx_error_is(m, want, detail, sizeof(detail)));
}

/* After a connection error: the signer has closed its end. */
static void
expect_closed(struct msg_conn *c)
{
	struct msg	m;

	CU_ASSERT(msg_conn_recv(c, &m, T_MS) == -1 && errno == ECONNRESET);
}

/* Send payload p (freed) as a request of type, 0 or -1. */
static int
call(struct msg_conn *c, uint16_t type, struct buf *p, struct msg *m)
{
	int	r;

	CU_ASSERT_FATAL(p != NULL);
	r = msg_conn_call(c, type, p, m, T_MS);
	buf_free(p);
	return r;
}

static int
send_backend_desc(struct msg_conn *c, const char *svc, const char *backend,
    uint64_t tp, const struct buf *desc, struct msg *m)
{
	return call(c, PROTO_BACKEND_DESC, sfx_backend_desc_msg(svc, backend,
	    tp, desc), m);
}

static int
send_sign(struct msg_conn *c, const char *svc, uint64_t tp,
    const uint8_t *body, size_t len, struct msg *m)
{
	return call(c, PROTO_SIGN_DESC, sfx_sign_msg(svc, tp, body, len), m);
}

static int
send_params(struct msg_conn *c, const char *svc, uint64_t tp, struct msg *m)
{
	return call(c, PROTO_DESC_PARAMS, sfx_params_msg(svc, tp), m);
}

/* RECERTIFY every intro point of the master's backends. */
static int
send_recertify_all(struct msg_conn *c, struct msg *m)
{
	struct hs_intro_point	ips[N_IP];

	all_intro(ips);
	return call(c, PROTO_RECERTIFY, sfx_recertify_msg(F.master.addr,
	    F.tp, ips, N_IP), m);
}

/* Get the revision counter and 08 cert for the master, now. */
static uint64_t
get_params(struct msg_conn *c)
{
	struct msg	m;
	uint8_t		bl[32];
	uint64_t	rev = 0, now;

	struct timespec	ts = { 1, 100 * 1000 * 1000 };
	int		i;

	/* The counter moves once a second: after a signature in the same
	 * second the signer has none to give yet. */
	for (i = 0; i < 3; i++) {
		CU_ASSERT_FATAL(send_params(c, F.master.addr, F.tp, &m) == 0);
		if (m.type != PROTO_ERROR)
			break;
		nanosleep(&ts, NULL);
	}
	CU_ASSERT_FATAL(m.type == PROTO_DESC_PARAMS_OK);
	CU_ASSERT_FATAL(sfx_params_reply(&m, bl, F.signing_pk, &rev, &now,
	    F.cert08) == 0);
	CU_ASSERT(memcmp(bl, F.master.bl_pk, 32) == 0);
	return rev;
}

/* Restricted discovery for master_body(): authorized clients. */
static const uint8_t	(*mb_clients)[X25519_KEY_LEN];
static size_t		  mb_nclients;

/*
 * A master body from intro points (backend b, index i) pairs with the
 * certs the signer issued, the 08 cert and the counter given.
 */
static struct buf *
master_body(const size_t *which, size_t n, uint64_t rev,
    const uint8_t *cert08)
{
	struct hs_intro_point	 ips[HS_DESC_MAX_INTRO];
	uint8_t			 c09[HS_DESC_MAX_INTRO][HS_CERT_LEN];
	uint8_t			 c0b[HS_DESC_MAX_INTRO][HS_CERT_LEN];
	struct buf		*out;
	size_t			 i;

	CU_ASSERT_FATAL(n <= HS_DESC_MAX_INTRO);
	for (i = 0; i < n; i++) {
		ips[i] = F.bk[which[i] / N_INTRO].desc
		    .intro[which[i] % N_INTRO];
		memcpy(c09[i], F.cert09[which[i]], HS_CERT_LEN);
		memcpy(c0b[i], F.cert0b[which[i]], HS_CERT_LEN);
	}
	out = sfx_master_body(F.master.pk, F.master.bl_pk, ips,
	    (const uint8_t (*)[HS_CERT_LEN])c09,
	    (const uint8_t (*)[HS_CERT_LEN])c0b, n, rev, cert08, mb_clients,
	    mb_nclients, NULL, NULL);
	CU_ASSERT_FATAL(out != NULL);
	return out;
}


/* Decode the base64 between begin and end markers of text. */
static uint8_t *
b64_between(const char *text, const char *begin, const char *end,
    size_t *outlen, const char **after)
{
	const char	*a, *e;
	struct buf	*raw, *out, view;
	uint8_t		*res;

	CU_ASSERT_PTR_NOT_NULL_FATAL(a = strstr(text, begin));
	a += strlen(begin);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e = strstr(a, end));
	CU_ASSERT_FATAL((raw = buf_new(HS_DESC_MAX_LEN * 2)) != NULL);
	CU_ASSERT_FATAL((out = buf_new(HS_DESC_MAX_LEN * 2)) != NULL);
	for (; a < e; a++)
		if (*a != '\n')
			CU_ASSERT_FATAL(buf_put_u8(raw, (uint8_t)*a) == 0);
	buf_init_ro(&view, buf_ptr(raw), buf_len(raw));
	CU_ASSERT_FATAL(b64_decode_buf(out, &view, B64_PAD) == 0);
	*outlen = buf_len(out);
	CU_ASSERT_FATAL((res = malloc(*outlen)) != NULL);
	memcpy(res, buf_ptr(out), *outlen);
	buf_free(raw);
	buf_free(out);
	*after = e;
	return res;
}

/*
 * Bodies our builder refuses to make: build one (20 intro points when
 * extra_intro, else 4), open both layers with the codec's own cipher,
 * repeat the last intro point (extra_intro) and insert a line after the
 * first of the inner layer (insert), and close them again.
 */
static struct buf *
body_edit(uint64_t rev, int extra_intro, const char *insert)
{
	static const char	*sb =
	    "superencrypted\n-----BEGIN MESSAGE-----\n";
	static const char	*eb = "encrypted\n-----BEGIN MESSAGE-----\n";
	static const char	*em = "-----END MESSAGE-----";
	size_t			 which[20], i, n1, n2, mlen, ilen;
	struct buf		*b20, *inner, *mid, *out;
	uint8_t			 subcred[32], *blob1, *blob2;
	char			*mtext, *itext, *last;
	const char		*after, *after2;

	for (i = 0; i < 20; i++)
		which[i] = i % (N_BACKENDS * N_INTRO);
	b20 = master_body(which, extra_intro ? 20 : 4, rev, F.cert08);
	CU_ASSERT_FATAL(buf_put_u8(b20, 0) == 0);
	CU_ASSERT_FATAL(hs_subcredential(subcred, F.master.pk,
	    F.master.bl_pk) == 0);
	blob1 = b64_between((const char *)buf_ptr(b20), sb, em, &n1, &after);
	CU_ASSERT_FATAL(hs_desc_layer_decrypt(&mtext, &mlen, blob1, n1,
	    F.master.bl_pk, 32, subcred, rev, HS_DESC_CONST_SUPERENC) == 0);
	blob2 = b64_between(mtext, eb, em, &n2, &after2);
	CU_ASSERT_FATAL(hs_desc_layer_decrypt(&itext, &ilen, blob2, n2,
	    F.master.bl_pk, 32, subcred, rev, HS_DESC_CONST_ENC) == 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(last = strstr(itext,
	    "\nintroduction-point "));
	while (strstr(last + 1, "\nintroduction-point ") != NULL)
		last = strstr(last + 1, "\nintroduction-point ");
	CU_ASSERT_FATAL((inner = buf_new(HS_DESC_MAX_LEN * 2)) != NULL);
	if (insert != NULL) {
		/* After the first line ("create2-formats 2"). */
		const char	*nl = strchr(itext, '\n');

		CU_ASSERT_PTR_NOT_NULL_FATAL(nl);
		CU_ASSERT_FATAL(buf_put(inner, itext,
		    (size_t)(nl - itext) + 1) == 0 &&
		    buf_put_str(inner, insert) == 0 &&
		    buf_put_str(inner, nl + 1) == 0);
	} else
		CU_ASSERT_FATAL(buf_put_str(inner, itext) == 0);
	if (extra_intro)
		CU_ASSERT_FATAL(buf_put_str(inner, last + 1) == 0);
	CU_ASSERT_FATAL((mid = buf_new(HS_DESC_MAX_LEN * 2)) != NULL);
	CU_ASSERT_FATAL(buf_put(mid, mtext, (size_t)(strstr(mtext, eb) -
	    mtext) + strlen(eb)) == 0);
	CU_ASSERT_FATAL(hs_desc_layer_encrypt(mid, buf_ptr(inner),
	    buf_len(inner), 0, F.master.bl_pk, 32, subcred, rev,
	    HS_DESC_CONST_ENC) == 0);
	CU_ASSERT_FATAL(buf_put_str(mid, after2) == 0);
	CU_ASSERT_FATAL((out = buf_new(HS_DESC_MAX_LEN * 2)) != NULL);
	CU_ASSERT_FATAL(buf_put(out, buf_ptr(b20), (size_t)(strstr(
	    (const char *)buf_ptr(b20), sb) - (const char *)buf_ptr(b20)) +
	    strlen(sb)) == 0);
	CU_ASSERT_FATAL(hs_desc_layer_encrypt(out, buf_ptr(mid), buf_len(mid),
	    (buf_len(mid) + 9999) / 10000 * 10000, F.master.bl_pk, 32,
	    subcred, rev, HS_DESC_CONST_SUPERENC) == 0);
	CU_ASSERT_FATAL(buf_put_str(out, after) == 0);
	free(blob1);
	free(blob2);
	free(mtext);
	free(itext);
	buf_free(inner);
	buf_free(mid);
	buf_free(b20);
	return out;
}

static const size_t happy_pick[] = { 0, 1, 3, 4 };

static double
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int	audit_covers(uint64_t, const char *, const uint8_t *,
		    size_t);

/* Backend descriptors in, certs, params, a signed master out. */
static void
test_signer_happy(void)
{
	struct msg_conn			 c;
	struct msg			 m;
	struct buf			*desc, *body, ls;
	struct hs_desc			 out;
	struct hs_desc_decode_params	 dp;
	struct hs_intro_point		 ips[N_IP];
	struct hs_cert			 hc;
	uint8_t				 auth[32], enc[32], sig[64];
	uint8_t				 made09[N_IP][HS_CERT_LEN];
	uint8_t				 made0b[N_IP][HS_CERT_LEN];
	uint64_t			 rev, seq, brev;
	uint32_t			 sigs;
	uint8_t				 n, skipped;
	size_t				 b, i, before;
	char				 path[PATH_MAX], cmd[PATH_MAX * 2];
	double				 t0;

	fixture();
	if (F.ready != 1)
		TEST_SKIP("no SoftHSM or no obhsm-signer");
	before = audit_records();
	conn_open(&c, 1);
	for (b = 0; b < N_BACKENDS; b++) {
		desc = backend_desc_encode(b);
		CU_ASSERT_FATAL(send_backend_desc(&c, F.master.addr,
		    F.bk[b].key.addr, F.tp, desc, &m) == 0);
		buf_free(desc);
		if (m.type == PROTO_ERROR)
			expect_error(&m, 0);
		CU_ASSERT_FATAL(m.type == PROTO_BACKEND_DESC_OK);
		CU_ASSERT(msg_get_u64(&m, &brev) == 0 && brev == 1000 + b);
		CU_ASSERT(msg_get_u8(&m, &skipped) == 0 && skipped == 0);
		CU_ASSERT(msg_get_u8(&m, &n) == 0 && n == N_INTRO);
		for (i = 0; i < n; i++) {
			CU_ASSERT(msg_get_fixed(&m, auth, 32) == 0);
			CU_ASSERT(memcmp(auth, F.bk[b].desc.intro[i]
			    .auth_key_cert.certified_key, 32) == 0);
			CU_ASSERT(msg_get_fixed(&m, enc, 32) == 0);
			CU_ASSERT(msg_get_data(&m, &ls, 256) == 0);
		}
		CU_ASSERT(msg_end(&m) == 0);
	}

	/* Recertify every intro point: 2 signatures each, then none. */
	all_intro(ips);
	for (i = 0; i < 2; i++) {
		t0 = now_ms();
		CU_ASSERT_FATAL(send_recertify_all(&c, &m) == 0);
		if (m.type == PROTO_ERROR)
			expect_error(&m, 0);
		CU_ASSERT_FATAL(m.type == PROTO_RECERTIFY_OK);
		/* The auth keys come back in request order. */
		CU_ASSERT_FATAL(sfx_recertify_reply(&m, &sigs, ips, N_IP,
		    F.cert09, F.cert0b) == 0);
		CU_ASSERT(sigs == (i == 0 ? 2 * N_IP : 0));
		printf("\n    recertify %d intro points, %u token signatures: "
		    "%.1f ms", N_IP, sigs, now_ms() - t0);
		for (b = 0; b < N_IP; b++) {
			CU_ASSERT(hs_cert_parse(&hc, F.cert09[b],
			    HS_CERT_LEN) == 0);
			CU_ASSERT(memcmp(hc.certified_key,
			    ips[b].auth_key_cert.certified_key, 32) == 0);
		}
		if (i == 0) {
			memcpy(made09, F.cert09, sizeof(made09));
			memcpy(made0b, F.cert0b, sizeof(made0b));
		}
	}
	/*
	 * The signer keeps only the token's signatures and rebuilds the
	 * certs: the reused ones are byte for byte those it made, and
	 * those are the bytes the token signed (the audit records).
	 */
	CU_ASSERT(memcmp(made09, F.cert09, sizeof(made09)) == 0);
	CU_ASSERT(memcmp(made0b, F.cert0b, sizeof(made0b)) == 0);
	CU_ASSERT(audit_records() == before + 2 * N_BACKENDS * N_INTRO);
	for (b = 0; b < N_IP; b++) {
		CU_ASSERT(audit_covers(before + 1 + 2 * b, AUDIT_KIND_CERT09,
		    made09[b], HS_CERT_TBS_LEN));
		CU_ASSERT(audit_covers(before + 2 + 2 * b, AUDIT_KIND_CERT0B,
		    made0b[b], HS_CERT_TBS_LEN));
	}

	rev = get_params(&c);
	/* Every cert handed out, reused or not, verifies under the
	 * period's signing key and certifies the backend's keys. */
	for (b = 0; b < N_IP; b++) {
		CU_ASSERT(hs_cert_parse(&hc, F.cert09[b], HS_CERT_LEN) == 0 &&
		    hs_cert_verify(&hc, HS_CERT_TYPE_AUTH_HS_IP_KEY,
		    F.signing_pk, time(NULL)) == 0);
		CU_ASSERT(hs_cert_parse(&hc, F.cert0b[b], HS_CERT_LEN) == 0 &&
		    hs_cert_verify(&hc, HS_CERT_TYPE_CROSS_HS_IP_KEYS,
		    F.signing_pk, time(NULL)) == 0);
		CU_ASSERT(memcmp(hc.certified_key,
		    ips[b].enc_key_cert.certified_key, 32) == 0);
	}
	body = master_body(happy_pick, 4, rev, F.cert08);
	t0 = now_ms();
	CU_ASSERT_FATAL(send_sign(&c, F.master.addr, F.tp, buf_ptr(body),
	    buf_len(body), &m) == 0);
	printf("\n    sign a %zu-byte body (checks, token, audit fsync): "
	    "%.1f ms ", buf_len(body), now_ms() - t0);
	if (m.type == PROTO_ERROR)
		expect_error(&m, 0);
	CU_ASSERT_FATAL(m.type == PROTO_SIGN_DESC_OK);
	CU_ASSERT(msg_get_fixed(&m, sig, 64) == 0);
	CU_ASSERT(msg_get_u64(&m, &seq) == 0);
	CU_ASSERT(msg_end(&m) == 0);
	CU_ASSERT(seq == before + 2 * N_BACKENDS * N_INTRO + 1);
	CU_ASSERT(audit_records() == seq);
	F.last_rev = rev;

	/* The finished descriptor verifies as a client would check it. */
	CU_ASSERT_FATAL(hs_desc_append_signature(body, sig) == 0);
	memset(&dp, 0, sizeof(dp));
	dp.identity_pk = F.master.pk;
	dp.blinded_pk = F.master.bl_pk;
	dp.now = time(NULL);
	dp.flags = HS_DESC_F_STRICT;
	hs_desc_init(&out);
	CU_ASSERT(hs_desc_decode(&out, buf_ptr(body), buf_len(body), &dp) ==
	    0);
	CU_ASSERT(out.n_intro == 4);
	CU_ASSERT(out.revision_counter == rev);
	hs_desc_clear(&out);

	if (test_have_stem()) {
		FMT(path, sizeof(path), "%s/master.desc", F.dir);
		CU_ASSERT(buf_put_u8(body, 0) == 0);
		write_file(path, (const char *)buf_ptr(body), 0600);
		/* check_ours.py lives in tests/stem, next to vectors/. */
		FMT(cmd, sizeof(cmd), "/usr/bin/python3 "
		    "%s/../stem/check_ours.py %s %s.onion >/dev/null",
		    getenv("OBHSM_TESTDATA") != NULL ?
		    getenv("OBHSM_TESTDATA") : "tests/vectors", path,
		    F.master.addr);
		CU_ASSERT(system(cmd) == 0);
	}
	buf_free(body);
	conn_close(&c);
}

/*
 * Restricted discovery: the collector adds a throwaway client key to the
 * body and hands its secret to the signer, which can then check the
 * inner layer; without it the body cannot be checked and is refused.
 */
static void
test_signer_client_auth(void)
{
	struct msg_conn	 c;
	struct msg	 m;
	struct buf	*body, *p;
	struct timespec	 ts = { 1, 100 * 1000 * 1000 };
	uint8_t		 clients[3][32], sk[32], sig[64];
	uint64_t	 rev, seq;
	size_t		 i, before;

	fixture();
	if (F.ready != 1 || F.last_rev == 0)
		TEST_SKIP("happy path did not run");
	for (i = 0; i < 3; i++)
		CU_ASSERT(ob_random(clients[i], 32) == 0);
	CU_ASSERT(ob_random(sk, 32) == 0);
	CU_ASSERT(ob_x25519_pubkey(clients[1], sk) == 0);
	mb_clients = (const uint8_t (*)[32])clients;
	mb_nclients = 3;
	/* One counter per second: wait for a fresh one. */
	nanosleep(&ts, NULL);
	conn_open(&c, 1);
	before = audit_records();
	rev = get_params(&c);
	body = master_body(happy_pick, 4, rev, F.cert08);
	mb_clients = NULL;
	mb_nclients = 0;
	/* Without the key the inner layer stays closed. */
	CU_ASSERT_FATAL(send_sign(&c, F.master.addr, F.tp, buf_ptr(body),
	    buf_len(body), &m) == 0);
	expect_error(&m, PROTO_R_DESC);
	CU_ASSERT_FATAL((p = msg_payload_new()) != NULL);
	CU_ASSERT(msg_put_str(p, F.master.addr) == 0 &&
	    msg_put_u64(p, F.tp) == 0 && msg_put_u8(p, 1) == 0 &&
	    msg_put_fixed(p, sk, 32) == 0 &&
	    msg_put_data(p, buf_ptr(body), buf_len(body)) == 0);
	CU_ASSERT_FATAL(msg_conn_call(&c, PROTO_SIGN_DESC, p, &m, T_MS) == 0);
	buf_free(p);
	if (m.type == PROTO_ERROR)
		expect_error(&m, 0);
	CU_ASSERT_FATAL(m.type == PROTO_SIGN_DESC_OK);
	CU_ASSERT(msg_get_fixed(&m, sig, 64) == 0);
	CU_ASSERT(msg_get_u64(&m, &seq) == 0 && msg_end(&m) == 0);
	CU_ASSERT(seq == before + 1);
	F.last_rev = rev;
	buf_free(body);
	conn_close(&c);
}

/* Each policy refusal: reason, and no token signature. */
static void
test_signer_policy(void)
{
	struct msg_conn	 c;
	struct msg	 m;
	struct sfx_key	 other;
	struct buf	*body, *body2, *desc;
	uint8_t		 raw[HS_CERT_LEN], k[32], *big;
	uint64_t	 rev;
	size_t		 before, i, pick[1] = { 0 };

	fixture();
	if (F.ready != 1 || F.last_rev == 0)
		TEST_SKIP("happy path did not run");
	before = audit_records();
	conn_open(&c, 1);
	CU_ASSERT_FATAL(sfx_key_make(&other, F.tp, PERIOD) == 0);

	/* A service that is not configured. */
	rev = get_params(&c);
	body = master_body(happy_pick, 4, rev, F.cert08);
	CU_ASSERT_FATAL(send_sign(&c, other.addr, F.tp, buf_ptr(body),
	    buf_len(body), &m) == 0);
	expect_error(&m, PROTO_R_SERVICE);
	/* A period that is not live. */
	CU_ASSERT_FATAL(send_sign(&c, F.master.addr, F.tp + 3, buf_ptr(body),
	    buf_len(body), &m) == 0);
	expect_error(&m, PROTO_R_PERIOD);
	CU_ASSERT_FATAL(send_params(&c, F.master.addr, F.tp - 5, &m) == 0);
	expect_error(&m, PROTO_R_PERIOD);
	buf_free(body);

	/* A stale revision counter (the one already signed), a future one. */
	body = master_body(happy_pick, 4, F.last_rev, F.cert08);
	CU_ASSERT_FATAL(send_sign(&c, F.master.addr, F.tp, buf_ptr(body),
	    buf_len(body), &m) == 0);
	expect_error(&m, PROTO_R_REVISION);
	buf_free(body);
	body = master_body(happy_pick, 4, rev + 100000000ULL, F.cert08);
	CU_ASSERT_FATAL(send_sign(&c, F.master.addr, F.tp, buf_ptr(body),
	    buf_len(body), &m) == 0);
	expect_error(&m, PROTO_R_REVISION);
	buf_free(body);

	/* An intro point the backend published, redirected elsewhere. */
	F.bk[0].desc.intro[0].linkspec[5] ^= 0x55;
	body = master_body(pick, 1, rev, F.cert08);
	F.bk[0].desc.intro[0].linkspec[5] ^= 0x55;
	CU_ASSERT_FATAL(send_sign(&c, F.master.addr, F.tp, buf_ptr(body),
	    buf_len(body), &m) == 0);
	expect_error(&m, PROTO_R_INTRO);
	buf_free(body);
	/* Same intro point with another onion key (a relay-side swap). */
	{
		struct hs_intro_point	save = F.bk[0].desc.intro[2];

		CU_ASSERT(ob_random(F.bk[0].desc.intro[2].onion_key,
		    32) == 0);
		body = master_body((const size_t[]){ 2 }, 1, rev, F.cert08);
		F.bk[0].desc.intro[2] = save;
	}
	CU_ASSERT_FATAL(send_sign(&c, F.master.addr, F.tp, buf_ptr(body),
	    buf_len(body), &m) == 0);
	expect_error(&m, PROTO_R_INTRO);
	buf_free(body);
	/* An intro point nobody published, with certs the collector made
	 * itself (it has no token key): the body does not even decode. */
	{
		struct hs_intro_point	save = F.bk[1].desc.intro[0];
		uint8_t			c9[HS_CERT_LEN], cb[HS_CERT_LEN];

		memcpy(c9, F.cert09[N_INTRO], HS_CERT_LEN);
		memcpy(cb, F.cert0b[N_INTRO], HS_CERT_LEN);
		CU_ASSERT(ob_random(k, 32) == 0);
		CU_ASSERT_FATAL(hs_cert_build(F.cert09[N_INTRO],
		    HS_CERT_TYPE_AUTH_HS_IP_KEY, hs_cert_expiry_intro(
		    time(NULL)), k, &other.bl_signer) == 0);
		CU_ASSERT_FATAL(hs_cert_build(F.cert0b[N_INTRO],
		    HS_CERT_TYPE_CROSS_HS_IP_KEYS, hs_cert_expiry_intro(
		    time(NULL)), k, &other.bl_signer) == 0);
		body = master_body((const size_t[]){ N_INTRO }, 1, rev,
		    F.cert08);
		memcpy(F.cert09[N_INTRO], c9, HS_CERT_LEN);
		memcpy(F.cert0b[N_INTRO], cb, HS_CERT_LEN);
		F.bk[1].desc.intro[0] = save;
	}
	CU_ASSERT_FATAL(send_sign(&c, F.master.addr, F.tp, buf_ptr(body),
	    buf_len(body), &m) == 0);
	expect_error(&m, PROTO_R_DESC);
	buf_free(body);
	/*
	 * The token's own certs with one byte changed: the expiry (the
	 * token's signature kept), then the signature.  The signer keeps
	 * only the signatures and rebuilds the rest: neither is what it
	 * made, so neither is trusted, and neither verifies.
	 */
	for (i = 0; i < 2; i++) {
		uint8_t		c9[HS_CERT_LEN], cb[HS_CERT_LEN];
		size_t		off = i == 0 ? 5 : HS_CERT_LEN - 1;

		memcpy(c9, F.cert09[1], HS_CERT_LEN);
		memcpy(cb, F.cert0b[1], HS_CERT_LEN);
		F.cert09[1][off] ^= 0x01;
		body = master_body((const size_t[]){ 1 }, 1, rev, F.cert08);
		memcpy(F.cert09[1], c9, HS_CERT_LEN);
		F.cert0b[1][off] ^= 0x01;
		body2 = master_body((const size_t[]){ 1 }, 1, rev, F.cert08);
		memcpy(F.cert0b[1], cb, HS_CERT_LEN);
		CU_ASSERT_FATAL(send_sign(&c, F.master.addr, F.tp,
		    buf_ptr(body), buf_len(body), &m) == 0);
		expect_error(&m, PROTO_R_DESC);
		CU_ASSERT_FATAL(send_sign(&c, F.master.addr, F.tp,
		    buf_ptr(body2), buf_len(body2), &m) == 0);
		expect_error(&m, PROTO_R_DESC);
		buf_free(body);
		buf_free(body2);
	}

	/* A foreign 08 cert: certifies a key that is not the token's (made
	 * here with the blinded key, which a collector never has). */
	CU_ASSERT(ob_random(k, 32) == 0);
	CU_ASSERT_FATAL(hs_cert_build(raw, HS_CERT_TYPE_DESC_SIGNING,
	    hs_cert_expiry_desc_signing(time(NULL)), k,
	    &F.master.bl_signer) == 0);
	body = master_body(happy_pick, 4, rev, raw);
	CU_ASSERT_FATAL(send_sign(&c, F.master.addr, F.tp, buf_ptr(body),
	    buf_len(body), &m) == 0);
	expect_error(&m, PROTO_R_CERT);
	buf_free(body);

	/* 21 intro points. */
	body = body_edit(rev, 1, NULL);
	CU_ASSERT_FATAL(send_sign(&c, F.master.addr, F.tp, buf_ptr(body),
	    buf_len(body), &m) == 0);
	expect_error(&m, PROTO_R_TOO_MANY_INTRO);
	buf_free(body);
	/* A proof-of-work line: backends could never check it. */
	body = body_edit(rev, 0, "pow-params v1 "
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA 100 "
	    "2030-01-01T00:00:00\n");
	CU_ASSERT_FATAL(send_sign(&c, F.master.addr, F.tp, buf_ptr(body),
	    buf_len(body), &m) == 0);
	expect_error(&m, PROTO_R_DESC);
	buf_free(body);

	/* Oversized: over the 50,000-byte descriptor limit once signed. */
	CU_ASSERT_FATAL((big = malloc(HS_DESC_MAX_LEN)) != NULL);
	memset(big, 'a', HS_DESC_MAX_LEN);
	CU_ASSERT_FATAL(send_sign(&c, F.master.addr, F.tp, big,
	    HS_DESC_MAX_LEN - 50, &m) == 0);
	expect_error(&m, PROTO_R_TOO_LARGE);
	free(big);

	/* Garbage body. */
	CU_ASSERT_FATAL(send_sign(&c, F.master.addr, F.tp,
	    (const uint8_t *)"hs-descriptor 3\n", 16, &m) == 0);
	expect_error(&m, PROTO_R_DESC);

	/* Backend descriptors: a backend that is not configured, a
	 * descriptor that does not verify. */
	desc = backend_desc_encode(0);
	CU_ASSERT_FATAL(send_backend_desc(&c, F.master.addr, other.addr,
	    F.tp, desc, &m) == 0);
	expect_error(&m, PROTO_R_BACKEND);
	CU_ASSERT_FATAL(send_backend_desc(&c, F.master.addr,
	    F.bk[1].key.addr, F.tp, desc, &m) == 0);
	expect_error(&m, PROTO_R_BACKEND_DESC);
	buf_free(desc);
	/* A replay of an older descriptor of a backend. */
	F.bk[0].desc.revision_counter--;
	desc = backend_desc_encode(0);
	F.bk[0].desc.revision_counter++;
	CU_ASSERT_FATAL(send_backend_desc(&c, F.master.addr,
	    F.bk[0].key.addr, F.tp, desc, &m) == 0);
	expect_error(&m, PROTO_R_BACKEND_DESC);
	buf_free(desc);

	/* Recertify an intro point nobody verified. */
	{
		struct buf	*p;

		CU_ASSERT_FATAL((p = msg_payload_new()) != NULL);
		CU_ASSERT_FATAL(msg_put_str(p, F.master.addr) == 0 &&
		    msg_put_u64(p, F.tp) == 0 && msg_put_u8(p, 1) == 0 &&
		    msg_put_fixed(p, k, 32) == 0);
		CU_ASSERT_FATAL(msg_conn_call(&c, PROTO_RECERTIFY, p, &m,
		    T_MS) == 0);
		buf_free(p);
		expect_error(&m, PROTO_R_INTRO);
	}

	/* Policy refusals keep the connection: it still answers. */
	CU_ASSERT_FATAL(msg_conn_call(&c, PROTO_STATUS, NULL, &m, T_MS) == 0);
	CU_ASSERT(m.type == PROTO_STATUS_OK);
	CU_ASSERT(audit_records() == before);
	conn_close(&c);
}

/* Request type with payload p (freed; NULL for none): refused for
 * reason, then the signer hangs up. */
static void
expect_hangup(struct msg_conn *c, uint16_t type, struct buf *p,
    uint16_t reason)
{
	struct msg	m;

	CU_ASSERT_FATAL(msg_conn_call(c, type, p, &m, T_MS) == 0);
	buf_free(p);
	expect_error(&m, reason);
	expect_closed(c);
	conn_close(c);
}

/* Connection errors: a reason, then the signer hangs up. */
static void
test_signer_session(void)
{
	struct msg_conn	 c;
	struct msg	 m;
	struct buf	*p;
	size_t		 before;

	fixture();
	if (F.ready != 1)
		TEST_SKIP("no signer");
	before = audit_records();

	/* A message before the handshake. */
	conn_open(&c, 0);
	expect_hangup(&c, PROTO_STATUS, NULL, PROTO_R_NOT_PERMITTED);

	/* Another protocol version. */
	conn_open(&c, 0);
	CU_ASSERT_FATAL((p = msg_payload_new()) != NULL);
	CU_ASSERT(msg_put_u32(p, PROTO_VERSION + 1) == 0 &&
	    msg_put_u8(p, PROTO_ROLE_COLLECTOR) == 0 &&
	    msg_put_str(p, "future") == 0);
	expect_hangup(&c, PROTO_HELLO, p, PROTO_R_VERSION);

	/* An unknown message type. */
	conn_open(&c, 1);
	expect_hangup(&c, 0x0999, NULL, PROTO_R_UNKNOWN_TYPE);

	/* A second HELLO is not permitted. */
	conn_open(&c, 1);
	CU_ASSERT_FATAL((p = sfx_hello("again")) != NULL);
	expect_hangup(&c, PROTO_HELLO, p, PROTO_R_NOT_PERMITTED);

	/* Leftover bytes in a payload. */
	conn_open(&c, 1);
	CU_ASSERT_FATAL((p = msg_payload_new()) != NULL);
	CU_ASSERT(msg_put_u8(p, 1) == 0);
	expect_hangup(&c, PROTO_STATUS, p, PROTO_R_MALFORMED);

	/* A frame header announcing more than the cap. */
	conn_open(&c, 1);
	{
		uint8_t	h[PROTO_HDR_LEN] = { 0x03, 0x03, 0, 0, 0, 0, 0, 9,
			    0x7f, 0xff, 0xff, 0xff };

		CU_ASSERT(write(c.fd, h, sizeof(h)) == (ssize_t)sizeof(h));
		CU_ASSERT_FATAL(msg_conn_recv(&c, &m, T_MS) == 0);
		expect_error(&m, PROTO_R_MALFORMED);
		expect_closed(&c);
	}
	conn_close(&c);
	CU_ASSERT(audit_records() == before);
}

/* A peer whose uid is not the collector's is turned away. */
static void
test_signer_peer(void)
{
	struct msg_conn	 c;
	struct msg	 m;
	pid_t		 pid;
	int		 st, fd, ok;

	fixture();
	if (F.ready != 1)
		TEST_SKIP("no signer");
	if (geteuid() != 0)
		TEST_SKIP("needs root to connect as another uid");
	pid = fork();
	CU_ASSERT_FATAL(pid != -1);
	if (pid == 0) {
		ok = 0;
		if (setresgid(65534, 65534, 65534) == 0 &&
		    setresuid(65534, 65534, 65534) == 0 &&
		    (fd = sfx_connect(F.sock)) != -1 &&
		    msg_conn_init(&c, fd) == 0 &&
		    msg_conn_recv(&c, &m, T_MS) == 0 &&
		    m.type == PROTO_ERROR) {
			uint16_t	reason;
			char		d[PROTO_STR_MAX + 1];

			ok = msg_error_get(&m, &reason, d, sizeof(d)) == 0 &&
			    reason == PROTO_R_PEER &&
			    msg_conn_recv(&c, &m, T_MS) == -1 &&
			    errno == ECONNRESET;
		}
		_exit(ok ? 0 : 1);
	}
	CU_ASSERT(waitpid(pid, &st, 0) == pid);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}


/* 1 if the daemon's log mentions s. */
static int
log_has(const char *s)
{
	return sfx_file_has(F.log, s);
}

/* Feed both backend descriptors and recertify everything again. */
static void
feed_backends(struct msg_conn *c, uint32_t *sigs)
{
	struct hs_intro_point	 ips[N_IP];
	struct msg		 m;
	struct buf		*desc;
	uint8_t			 c09[N_IP][HS_CERT_LEN];
	uint8_t			 c0b[N_IP][HS_CERT_LEN];
	size_t			 b;

	for (b = 0; b < N_BACKENDS; b++) {
		desc = backend_desc_encode(b);
		CU_ASSERT_FATAL(send_backend_desc(c, F.master.addr,
		    F.bk[b].key.addr, F.tp, desc, &m) == 0);
		buf_free(desc);
		CU_ASSERT_FATAL(m.type == PROTO_BACKEND_DESC_OK);
	}
	CU_ASSERT_FATAL(send_recertify_all(c, &m) == 0);
	CU_ASSERT_FATAL(m.type == PROTO_RECERTIFY_OK);
	all_intro(ips);
	CU_ASSERT_FATAL(sfx_recertify_reply(&m, sigs, ips, N_IP, c09,
	    c0b) == 0);
	/* Ed25519 is deterministic: the same certs as before. */
	CU_ASSERT(memcmp(c09, F.cert09, sizeof(c09)) == 0);
	CU_ASSERT(memcmp(c0b, F.cert0b, sizeof(c0b)) == 0);
}

/*
 * A collector that sends half a message does not hold up another; a
 * restart keeps the revision floor and the audit chain; SIGHUP reloads
 * and keeps serving.
 */
static void
test_signer_restart(void)
{
	struct msg_conn	 slow, c;
	struct msg	 m;
	struct buf	*body;
	struct timespec	 ts = { 0, 50 * 1000 * 1000 };
	uint8_t		 half[5] = { 0x00, 0x01, 0x00, 0x00, 0x00 };
	uint8_t		 sig[ED25519_SIG_LEN];
	uint64_t	 rev, seq = 0;
	uint32_t	 sigs;
	size_t		 before;
	int		 st, i;

	fixture();
	if (F.ready != 1 || F.last_rev == 0)
		TEST_SKIP("happy path did not run");
	conn_open(&slow, 0);
	CU_ASSERT(write(slow.fd, half, sizeof(half)) == (ssize_t)sizeof(half));
	conn_open(&c, 1);
	CU_ASSERT_FATAL(msg_conn_call(&c, PROTO_STATUS, NULL, &m, T_MS) == 0);
	CU_ASSERT(m.type == PROTO_STATUS_OK);
	conn_close(&c);

	/* Restart: SIGTERM with a half-read peer still connected. */
	before = audit_records();
	CU_ASSERT(sfx_signer_reap(&F.signer, &st, STOP_MS) == 0);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	conn_close(&slow);
	signer_start();
	conn_open(&c, 1);
	feed_backends(&c, &sigs);
	CU_ASSERT(sigs == 2 * N_BACKENDS * N_INTRO);
	/* The counter signed before the restart is still spent. */
	body = master_body(happy_pick, 4, F.last_rev, F.cert08);
	(void)get_params(&c);
	CU_ASSERT_FATAL(send_sign(&c, F.master.addr, F.tp, buf_ptr(body),
	    buf_len(body), &m) == 0);
	expect_error(&m, PROTO_R_REVISION);
	buf_free(body);
	rev = get_params(&c);
	CU_ASSERT(rev > F.last_rev);
	body = master_body(happy_pick, 4, rev, F.cert08);
	CU_ASSERT_FATAL(send_sign(&c, F.master.addr, F.tp, buf_ptr(body),
	    buf_len(body), &m) == 0);
	CU_ASSERT_FATAL(m.type == PROTO_SIGN_DESC_OK);
	CU_ASSERT(msg_get_fixed(&m, sig, sizeof(sig)) == 0);
	CU_ASSERT(msg_get_u64(&m, &seq) == 0 && msg_end(&m) == 0);
	buf_free(body);
	F.last_rev = rev;
	/* The chain continued across the restart. */
	CU_ASSERT(seq == before + 2 * N_BACKENDS * N_INTRO + 1);
	CU_ASSERT(audit_records() == seq);

	/* SIGHUP: reloaded, same token session, still answering. */
	CU_ASSERT(kill(F.signer.pid, SIGHUP) == 0);
	for (i = 0; i < 1200 && !log_has("reloaded"); i++)
		nanosleep(&ts, NULL);
	CU_ASSERT(log_has("reloaded"));

	/*
	 * Take the key of period tp + 2 off the token: the next reload
	 * generates it again, under the seccomp filter.
	 */
	token_key_destroy(&F.master, F.tp + 2);
	CU_ASSERT(kill(F.signer.pid, SIGHUP) == 0);
	for (i = 0; i < 1200 && !log_has("generated token key"); i++)
		nanosleep(&ts, NULL);
	CU_ASSERT(log_has("generated token key"));
	CU_ASSERT(waitpid(F.signer.pid, &st, WNOHANG) == 0);
	CU_ASSERT_FATAL(msg_conn_call(&c, PROTO_STATUS, NULL, &m, T_MS) == 0);
	CU_ASSERT(m.type == PROTO_STATUS_OK);
	feed_backends(&c, &sigs);
	conn_close(&c);
}

/* Offline identity mode: the store is used, the horizon warns and then
 * refuses. */
static void
test_signer_offline(void)
{
	struct msg_conn			 c;
	struct msg			 m;
	struct buf			*p, cert;
	const struct provision_period	*pp;
	uint8_t				 want[HS_CERT_LEN];
	uint8_t				 bl[32], sk[32];
	uint64_t			 rev, now, sigs, horizon;
	char				 svc[PROTO_STR_MAX + 1];
	char				 warn[PROTO_STR_MAX + 1];
	char				 detail[PROTO_STR_MAX + 1];
	uint8_t				 n, i, state;
	uint32_t			 total, first;
	uint16_t			 n16;
	int				 seen = 0;

	fixture();
	if (F.ready != 1)
		TEST_SKIP("no signer");
	conn_open(&c, 1);
	CU_ASSERT_FATAL(send_params(&c, F.svc_b.addr, F.tp, &m) == 0);
	if (m.type == PROTO_ERROR)
		expect_error(&m, 0);
	CU_ASSERT_FATAL(m.type == PROTO_DESC_PARAMS_OK);
	CU_ASSERT_FATAL((pp = provision_period_find(F.store_b, F.tp)) != NULL);
	CU_ASSERT(provision_cert_at(want, pp, time(NULL)) == 0);
	CU_ASSERT(msg_get_fixed(&m, bl, 32) == 0 &&
	    memcmp(bl, F.svc_b.bl_pk, 32) == 0);
	CU_ASSERT(msg_get_fixed(&m, sk, 32) == 0 &&
	    memcmp(sk, pp->token_pk, 32) == 0);
	CU_ASSERT(msg_get_u64(&m, &rev) == 0 && rev > 0);
	CU_ASSERT(msg_get_u64(&m, &now) == 0);
	CU_ASSERT(msg_get_data(&m, &cert, HS_CERT_MAX_LEN) == 0);
	CU_ASSERT(buf_len(&cert) == HS_CERT_LEN &&
	    memcmp(buf_ptr(&cert), want, HS_CERT_LEN) == 0);
	CU_ASSERT(msg_end(&m) == 0);

	/* C's only period is over: past the horizon. */
	CU_ASSERT_FATAL(send_params(&c, F.svc_c.addr, F.tp, &m) == 0);
	CU_ASSERT_FATAL(m.type == PROTO_ERROR);
	/* The operator reads when it ended, in UTC, and what to do. */
	CU_ASSERT(sfx_error_is(&m, PROTO_R_HORIZON, detail, sizeof(detail)));
	CU_ASSERT(strstr(detail, "provisioned periods ended at ") != NULL);
	CU_ASSERT(strstr(detail, " UTC; import a new bundle") != NULL);
	/* has_client_sk is 0 or 1; anything else is malformed. */
	CU_ASSERT_FATAL((p = msg_payload_new()) != NULL);
	CU_ASSERT(msg_put_str(p, F.svc_b.addr) == 0 &&
	    msg_put_u64(p, F.tp) == 0 && msg_put_u8(p, 2) == 0);
	CU_ASSERT_FATAL(msg_conn_call(&c, PROTO_SIGN_DESC, p, &m, T_MS) == 0);
	buf_free(p);
	expect_error(&m, PROTO_R_MALFORMED);
	expect_closed(&c);
	conn_close(&c);

	conn_open(&c, 1);
	CU_ASSERT_FATAL(msg_conn_call(&c, PROTO_STATUS, NULL, &m, T_MS) == 0);
	CU_ASSERT_FATAL(m.type == PROTO_STATUS_OK);
	CU_ASSERT(msg_get_u64(&m, &now) == 0 && msg_get_u64(&m, &sigs) == 0);
	CU_ASSERT(msg_get_u32(&m, &total) == 0 && total == 3);
	CU_ASSERT(msg_get_u32(&m, &first) == 0 && first == 0);
	CU_ASSERT(msg_get_u16(&m, &n16) == 0 && n16 == 3);
	n = (uint8_t)n16;
	for (i = 0; i < n; i++) {
		CU_ASSERT(msg_get_str(&m, svc, sizeof(svc)) == 0);
		CU_ASSERT(msg_get_u8(&m, &state) == 0);
		CU_ASSERT(msg_get_u64(&m, &horizon) == 0);
		CU_ASSERT(msg_get_str(&m, warn, sizeof(warn)) == 0);
		if (strcmp(svc, F.svc_b.addr) == 0) {
			CU_ASSERT(state == PROTO_HORIZON_WARN);
			CU_ASSERT(horizon > now);
			CU_ASSERT(strstr(warn, "import a new bundle") != NULL);
			seen++;
		} else if (strcmp(svc, F.svc_c.addr) == 0) {
			CU_ASSERT(state == PROTO_HORIZON_PAST);
			CU_ASSERT(horizon < now);
			CU_ASSERT(warn[0] != '\0');
			seen++;
		} else
			CU_ASSERT(state == PROTO_HORIZON_OK);
	}
	CU_ASSERT(msg_end(&m) == 0);
	CU_ASSERT(seen == 2);
	conn_close(&c);
}

/*
 * More intro points and intro certs than the first sizes of the signer's
 * tables (which double from a few): a full descriptor for B's one
 * backend, recertified twice, the second time all from the table.  Also
 * a backend that B does not have (its slots are as configured).
 */
static void
test_signer_many_intro(void)
{
	struct msg_conn			 c;
	struct msg			 m;
	struct hs_desc			 d;
	struct hs_cert			 hc;
	struct buf			*desc, *ls;
	const struct provision_period	*pp;
	const struct hs_intro_point	*ip;
	uint8_t				 c09[PROTO_MAX_INTRO][HS_CERT_LEN];
	uint8_t				 c0b[PROTO_MAX_INTRO][HS_CERT_LEN];
	uint8_t				 a09[PROTO_MAX_INTRO][HS_CERT_LEN];
	uint8_t				 a0b[PROTO_MAX_INTRO][HS_CERT_LEN];
	uint8_t				 auth[32], enc[32], n, skipped;
	uint64_t			 brev;
	uint32_t			 sigs;
	struct buf			 lsv;
	size_t				 i;

	fixture();
	if (F.ready != 1)
		TEST_SKIP("no signer");
	CU_ASSERT_FATAL((pp = provision_period_find(F.store_b, F.tp)) !=
	    NULL);
	CU_ASSERT_FATAL(sfx_backend_desc(&d, &F.bk[0].key,
	    &F.bk[0].ds_signer, PROTO_MAX_INTRO, 5000, time(NULL)) == 0);
	CU_ASSERT_FATAL((desc = sfx_backend_desc_encode(&d, &F.bk[0].key,
	    &F.bk[0].ds_signer)) != NULL);
	conn_open(&c, 1);
	CU_ASSERT_FATAL(send_backend_desc(&c, F.svc_b.addr, F.bk[0].key.addr,
	    F.tp, desc, &m) == 0);
	buf_free(desc);
	if (m.type == PROTO_ERROR)
		expect_error(&m, 0);
	CU_ASSERT_FATAL(m.type == PROTO_BACKEND_DESC_OK);
	CU_ASSERT(msg_get_u64(&m, &brev) == 0 && brev == 5000);
	CU_ASSERT(msg_get_u8(&m, &skipped) == 0 && skipped == 0);
	CU_ASSERT_FATAL(msg_get_u8(&m, &n) == 0 && n == PROTO_MAX_INTRO);
	for (i = 0; i < n; i++) {
		ip = &d.intro[i];
		CU_ASSERT(msg_get_fixed(&m, auth, 32) == 0 && memcmp(auth,
		    ip->auth_key_cert.certified_key, 32) == 0);
		CU_ASSERT(msg_get_fixed(&m, enc, 32) == 0 && memcmp(enc,
		    ip->enc_key, 32) == 0);
		CU_ASSERT(msg_get_data(&m, &lsv, 256) == 0 &&
		    buf_len(&lsv) == ip->linkspec_len &&
		    memcmp(buf_ptr(&lsv), ip->linkspec, ip->linkspec_len) ==
		    0);
	}
	CU_ASSERT(msg_end(&m) == 0);

	/* Every cert certifies its key under B's token key for tp. */
	CU_ASSERT_FATAL(call(&c, PROTO_RECERTIFY, sfx_recertify_msg(
	    F.svc_b.addr, F.tp, d.intro, n), &m) == 0);
	if (m.type == PROTO_ERROR)
		expect_error(&m, 0);
	CU_ASSERT_FATAL(m.type == PROTO_RECERTIFY_OK);
	CU_ASSERT_FATAL(sfx_recertify_reply(&m, &sigs, d.intro, n, c09,
	    c0b) == 0);
	CU_ASSERT(sigs == 2 * (uint32_t)n);
	for (i = 0; i < n; i++) {
		ip = &d.intro[i];
		CU_ASSERT(hs_cert_parse(&hc, c09[i], HS_CERT_LEN) == 0 &&
		    hs_cert_verify(&hc, HS_CERT_TYPE_AUTH_HS_IP_KEY,
		    pp->token_pk, time(NULL)) == 0 &&
		    memcmp(hc.certified_key, ip->auth_key_cert.certified_key,
		    32) == 0);
		CU_ASSERT(hs_cert_parse(&hc, c0b[i], HS_CERT_LEN) == 0 &&
		    hs_cert_verify(&hc, HS_CERT_TYPE_CROSS_HS_IP_KEYS,
		    pp->token_pk, time(NULL)) == 0 &&
		    memcmp(hc.certified_key, ip->enc_key_cert.certified_key,
		    32) == 0);
	}
	/* The same certs again, without the token. */
	CU_ASSERT_FATAL(call(&c, PROTO_RECERTIFY, sfx_recertify_msg(
	    F.svc_b.addr, F.tp, d.intro, n), &m) == 0);
	CU_ASSERT_FATAL(m.type == PROTO_RECERTIFY_OK);
	CU_ASSERT_FATAL(sfx_recertify_reply(&m, &sigs, d.intro, n, a09,
	    a0b) == 0);
	CU_ASSERT(sigs == 0);
	CU_ASSERT(memcmp(a09, c09, sizeof(c09)) == 0 &&
	    memcmp(a0b, c0b, sizeof(c0b)) == 0);
	hs_desc_clear(&d);

	/* A backend of the master, not of B. */
	ls = backend_desc_encode(1);
	CU_ASSERT_FATAL(send_backend_desc(&c, F.svc_b.addr, F.bk[1].key.addr,
	    F.tp, ls, &m) == 0);
	buf_free(ls);
	expect_error(&m, PROTO_R_BACKEND);
	conn_close(&c);
}

/*
 * One backend descriptor listed by two services (the master and B):
 * the signer holds its intro points once (signer.h, struct
 * signer_ipool), but each service's certs are its own token key's, and
 * one service dropping them leaves them to the other.  Last in the
 * suite: the master's backend 0 is left with these intro points.  The
 * signer must then stop cleanly, every reference returned.
 */
static void
test_signer_shared_intro(void)
{
	struct msg_conn			 c;
	struct msg			 m;
	struct hs_desc			 d, d2;
	struct hs_cert			 hc;
	struct buf			*desc;
	struct provision		*st = NULL;
	const struct provision_period	*pp;
	char				 state[PATH_MAX];
	uint8_t				 m09[N_INTRO][HS_CERT_LEN];
	uint8_t				 m0b[N_INTRO][HS_CERT_LEN];
	uint8_t				 b09[N_INTRO][HS_CERT_LEN];
	uint8_t				 b0b[N_INTRO][HS_CERT_LEN];
	uint8_t				 a09[N_INTRO][HS_CERT_LEN];
	uint8_t				 a0b[N_INTRO][HS_CERT_LEN];
	uint32_t			 sigs;
	size_t				 i;
	int				 status;

	fixture();
	if (F.ready != 1)
		TEST_SKIP("no signer");
	if (F.signer.pid <= 0) {
		(void)mkdir(F.sockdir, 0755);
		signer_start();
	}
	/* B's store as the signer reads it (status_stop freed ours). */
	FMT(state, sizeof(state), "%s/state", F.dir);
	CU_ASSERT_FATAL(provision_store_load(&st, state, F.svc_b.addr) == 0);
	CU_ASSERT_FATAL((pp = provision_period_find(st, F.tp)) != NULL);
	CU_ASSERT_FATAL(sfx_backend_desc(&d, &F.bk[0].key,
	    &F.bk[0].ds_signer, N_INTRO, 90000, time(NULL)) == 0);
	CU_ASSERT_FATAL((desc = sfx_backend_desc_encode(&d, &F.bk[0].key,
	    &F.bk[0].ds_signer)) != NULL);
	conn_open(&c, 1);
	CU_ASSERT_FATAL(send_backend_desc(&c, F.master.addr,
	    F.bk[0].key.addr, F.tp, desc, &m) == 0);
	CU_ASSERT_FATAL(m.type == PROTO_BACKEND_DESC_OK);
	CU_ASSERT_FATAL(send_backend_desc(&c, F.svc_b.addr,
	    F.bk[0].key.addr, F.tp, desc, &m) == 0);
	CU_ASSERT_FATAL(m.type == PROTO_BACKEND_DESC_OK);
	buf_free(desc);

	CU_ASSERT_FATAL(call(&c, PROTO_RECERTIFY, sfx_recertify_msg(
	    F.master.addr, F.tp, d.intro, N_INTRO), &m) == 0);
	CU_ASSERT_FATAL(m.type == PROTO_RECERTIFY_OK);
	CU_ASSERT_FATAL(sfx_recertify_reply(&m, &sigs, d.intro, N_INTRO,
	    m09, m0b) == 0);
	CU_ASSERT(sigs == 2 * N_INTRO);
	CU_ASSERT_FATAL(call(&c, PROTO_RECERTIFY, sfx_recertify_msg(
	    F.svc_b.addr, F.tp, d.intro, N_INTRO), &m) == 0);
	CU_ASSERT_FATAL(m.type == PROTO_RECERTIFY_OK);
	CU_ASSERT_FATAL(sfx_recertify_reply(&m, &sigs, d.intro, N_INTRO,
	    b09, b0b) == 0);
	/* B's own: not the master's, reused. */
	CU_ASSERT(sigs == 2 * N_INTRO);
	for (i = 0; i < N_INTRO; i++) {
		CU_ASSERT(hs_cert_parse(&hc, m09[i], HS_CERT_LEN) == 0 &&
		    hs_cert_verify(&hc, HS_CERT_TYPE_AUTH_HS_IP_KEY,
		    F.signing_pk, time(NULL)) == 0 &&
		    memcmp(hc.certified_key,
		    d.intro[i].auth_key_cert.certified_key, 32) == 0);
		CU_ASSERT(hs_cert_parse(&hc, b0b[i], HS_CERT_LEN) == 0 &&
		    hs_cert_verify(&hc, HS_CERT_TYPE_CROSS_HS_IP_KEYS,
		    pp->token_pk, time(NULL)) == 0 &&
		    memcmp(hc.certified_key,
		    d.intro[i].enc_key_cert.certified_key, 32) == 0);
		CU_ASSERT(memcmp(m09[i], b09[i], HS_CERT_LEN) != 0);
	}

	/* B's backend moves on to other intro points... */
	CU_ASSERT_FATAL(sfx_backend_desc(&d2, &F.bk[0].key,
	    &F.bk[0].ds_signer, 1, 90001, time(NULL)) == 0);
	CU_ASSERT_FATAL((desc = sfx_backend_desc_encode(&d2, &F.bk[0].key,
	    &F.bk[0].ds_signer)) != NULL);
	CU_ASSERT_FATAL(send_backend_desc(&c, F.svc_b.addr,
	    F.bk[0].key.addr, F.tp, desc, &m) == 0);
	CU_ASSERT_FATAL(m.type == PROTO_BACKEND_DESC_OK);
	buf_free(desc);
	/* ...so B may no longer ask for the old ones, */
	CU_ASSERT_FATAL(call(&c, PROTO_RECERTIFY, sfx_recertify_msg(
	    F.svc_b.addr, F.tp, d.intro, 1), &m) == 0);
	expect_error(&m, PROTO_R_INTRO);
	/* while the master keeps them, and its certs, byte for byte. */
	CU_ASSERT_FATAL(call(&c, PROTO_RECERTIFY, sfx_recertify_msg(
	    F.master.addr, F.tp, d.intro, N_INTRO), &m) == 0);
	CU_ASSERT_FATAL(m.type == PROTO_RECERTIFY_OK);
	CU_ASSERT_FATAL(sfx_recertify_reply(&m, &sigs, d.intro, N_INTRO,
	    a09, a0b) == 0);
	CU_ASSERT(sigs == 0);
	CU_ASSERT(memcmp(a09, m09, sizeof(a09)) == 0 &&
	    memcmp(a0b, m0b, sizeof(a0b)) == 0);
	conn_close(&c);
	hs_desc_clear(&d);
	hs_desc_clear(&d2);

	/* A reference left behind stops the signer with an error. */
	CU_ASSERT(sfx_signer_reap(&F.signer, &status, STOP_MS) == 0 &&
	    WIFEXITED(status) && WEXITSTATUS(status) == 0);
	signer_stop();
	provision_free(st);
}

/* Whether audit record seq (line seq of F.audit) is of the given kind
 * and covers exactly the bytes msg[0..len). */
static int
audit_covers(uint64_t seq, const char *kind, const uint8_t *msg, size_t len)
{
	uint8_t		*d, want[SHA3_256_LEN], got[SHA3_256_LEN];
	char		*line, *next, f_kind[16], *dig;
	char		 f_dig[sizeof(AUDIT_DIGEST_TAG) + 2 * SHA3_256_LEN + 1];
	unsigned long long n;
	size_t		 dlen, tlen = sizeof(AUDIT_DIGEST_TAG) - 1;
	int		 ok = 0;

	/* Records are written with the tagged digest (audit.h). */
	if (audit_digest(want, msg, len) != 0 ||
	    (d = test_read_file(F.audit, &dlen)) == NULL)
		return 0;
	for (line = (char *)d; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (sscanf(line, "%llu %*s %*s %*s %15s %68s", &n, f_kind,
		    f_dig) != 3 || n != seq)
			continue;
		dig = f_dig + tlen;
		ok = strcmp(f_kind, kind) == 0 &&
		    strncmp(f_dig, AUDIT_DIGEST_TAG, tlen) == 0 &&
		    hex_decode(got, sizeof(got), dig, strlen(dig)) == 0 &&
		    memcmp(got, want, sizeof(got)) == 0;
		break;
	}
	free(d);
	return ok;
}

static void
signer_kill9(void)
{
	int	st;

	CU_ASSERT(kill(F.signer.pid, SIGKILL) == 0);
	CU_ASSERT(waitpid(F.signer.pid, &st, 0) == F.signer.pid);
	CU_ASSERT(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	F.signer.pid = 0;
}

/*
 * Group commit keeps durability: the signer is killed (-9) the moment a
 * reply arrives, and the log still verifies and holds the record of
 * every signature that left, with the digest of exactly what was signed:
 * a descriptor, then a RECERTIFY batch (many records, one fsync).
 */
static void
test_signer_crash(void)
{
	struct msg_conn	 c;
	struct msg	 m;
	struct audit_result res;
	struct buf	*body;
	uint8_t		 sig[ED25519_SIG_LEN], *msg = NULL;
	uint64_t	 rev, seq = 0;
	uint32_t	 sigs = 0;
	size_t		 mlen = 0, before, b;

	fixture();
	if (F.ready != 1 || F.last_rev == 0)
		TEST_SKIP("happy path did not run");
	conn_open(&c, 1);
	rev = get_params(&c);
	body = master_body(happy_pick, 4, rev, F.cert08);
	CU_ASSERT_FATAL(send_sign(&c, F.master.addr, F.tp, buf_ptr(body),
	    buf_len(body), &m) == 0);
	if (m.type == PROTO_ERROR)
		expect_error(&m, 0);
	CU_ASSERT_FATAL(m.type == PROTO_SIGN_DESC_OK);
	CU_ASSERT(msg_get_fixed(&m, sig, sizeof(sig)) == 0);
	CU_ASSERT(msg_get_u64(&m, &seq) == 0 && msg_end(&m) == 0);
	signer_kill9();
	conn_close(&c);
	F.last_rev = rev;
	CU_ASSERT(audit_verify_file(F.audit, &res) == 0);
	CU_ASSERT(res.last_seq == seq);
	CU_ASSERT_FATAL(hs_desc_sig_message(&msg, &mlen, buf_ptr(body),
	    buf_len(body)) == 0);
	CU_ASSERT(ob_ed25519_verify(sig, msg, mlen, F.signing_pk) == 0);
	CU_ASSERT(audit_covers(seq, AUDIT_KIND_DESC, msg, mlen));
	free(msg);
	buf_free(body);

	/* The cert cache died with it: RECERTIFY signs them all again. */
	signer_start();
	before = audit_records();
	conn_open(&c, 1);
	feed_backends(&c, &sigs);
	signer_kill9();
	conn_close(&c);
	CU_ASSERT(sigs == 2 * N_BACKENDS * N_INTRO);
	CU_ASSERT(audit_verify_file(F.audit, &res) == 0);
	CU_ASSERT(res.nrecords == before + sigs);
	for (b = 0; b < N_BACKENDS * N_INTRO; b++) {
		CU_ASSERT(audit_covers(before + 1 + 2 * b, AUDIT_KIND_CERT09,
		    F.cert09[b], HS_CERT_TBS_LEN));
		CU_ASSERT(audit_covers(before + 2 + 2 * b, AUDIT_KIND_CERT0B,
		    F.cert0b[b], HS_CERT_TBS_LEN));
	}
	/* It starts again on that log, and the floor of the descriptor
	 * signed before the first kill survived it too. */
	signer_start();
	conn_open(&c, 1);
	CU_ASSERT_FATAL(msg_conn_call(&c, PROTO_STATUS, NULL, &m, T_MS) == 0);
	CU_ASSERT(m.type == PROTO_STATUS_OK);
	(void)get_params(&c);
	body = master_body(happy_pick, 4, F.last_rev, F.cert08);
	CU_ASSERT_FATAL(send_sign(&c, F.master.addr, F.tp, buf_ptr(body),
	    buf_len(body), &m) == 0);
	expect_error(&m, PROTO_R_REVISION);
	buf_free(body);
	conn_close(&c);
}

/* STATUS, the audit log, and a clean SIGTERM. */
static void
test_signer_status_stop(void)
{
	struct msg_conn	 c;
	struct msg	 m;
	char		 svc[PROTO_STR_MAX + 1], warn[PROTO_STR_MAX + 1];
	uint64_t	 now, sigs, horizon, cur;
	time_t		 we1, we2;
	uint8_t		 state;
	uint32_t	 total, first;
	uint16_t	 n16;
	struct buf	*pg;
	int		 st;

	fixture();
	if (F.ready != 1)
		TEST_SKIP("no signer");
	conn_open(&c, 1);
	CU_ASSERT_FATAL(msg_conn_call(&c, PROTO_STATUS, NULL, &m, T_MS) == 0);
	CU_ASSERT_FATAL(m.type == PROTO_STATUS_OK);
	CU_ASSERT(msg_get_u64(&m, &now) == 0);
	CU_ASSERT(msg_get_u64(&m, &sigs) == 0);
	CU_ASSERT(sigs == audit_records() - F.audit_base);
	CU_ASSERT(msg_get_u32(&m, &total) == 0 && total == 3);
	CU_ASSERT(msg_get_u32(&m, &first) == 0 && first == 0);
	CU_ASSERT(msg_get_u16(&m, &n16) == 0 && n16 == 3);
	conn_close(&c);

	/* A later page: from service 2, one entry; past the end, none. */
	conn_open(&c, 1);
	CU_ASSERT_FATAL((pg = msg_payload_new()) != NULL);
	CU_ASSERT(msg_put_u32(pg, 2) == 0);
	CU_ASSERT_FATAL(msg_conn_call(&c, PROTO_STATUS, pg, &m, T_MS) == 0);
	CU_ASSERT_FATAL(m.type == PROTO_STATUS_OK);
	CU_ASSERT(msg_get_u64(&m, &now) == 0 && msg_get_u64(&m, &sigs) == 0);
	CU_ASSERT(msg_get_u32(&m, &total) == 0 && total == 3);
	CU_ASSERT(msg_get_u32(&m, &first) == 0 && first == 2);
	CU_ASSERT(msg_get_u16(&m, &n16) == 0 && n16 == 1);
	buf_reset(pg);
	CU_ASSERT(msg_put_u32(pg, 99) == 0);
	CU_ASSERT_FATAL(msg_conn_call(&c, PROTO_STATUS, pg, &m, T_MS) == 0);
	CU_ASSERT_FATAL(m.type == PROTO_STATUS_OK);
	CU_ASSERT(msg_get_u64(&m, &now) == 0 && msg_get_u64(&m, &sigs) == 0);
	CU_ASSERT(msg_get_u32(&m, &total) == 0 && total == 3);
	CU_ASSERT(msg_get_u32(&m, &first) == 0 && first == 3);
	CU_ASSERT(msg_get_u16(&m, &n16) == 0 && n16 == 0);
	CU_ASSERT(msg_end(&m) == 0);
	buf_free(pg);
	conn_close(&c);

	conn_open(&c, 1);
	CU_ASSERT_FATAL(msg_conn_call(&c, PROTO_STATUS, NULL, &m, T_MS) == 0);
	CU_ASSERT_FATAL(m.type == PROTO_STATUS_OK);
	CU_ASSERT(msg_get_u64(&m, &now) == 0 && msg_get_u64(&m, &sigs) == 0);
	CU_ASSERT(msg_get_u32(&m, &total) == 0 &&
	    msg_get_u32(&m, &first) == 0);
	CU_ASSERT(msg_get_u16(&m, &n16) == 0 && n16 == 3);
	/* The online service comes first, as configured. */
	CU_ASSERT(msg_get_str(&m, svc, sizeof(svc)) == 0);
	CU_ASSERT_STRING_EQUAL(svc, F.master.addr);
	CU_ASSERT(msg_get_u8(&m, &state) == 0 && state == PROTO_HORIZON_OK);
	CU_ASSERT(msg_get_u64(&m, &horizon) == 0 && horizon > now);
	/*
	 * Online: the end of the window of the last period made ahead
	 * (online-periods, default 2), whether its certs are made yet or
	 * only its token key; one period less if the period turned since
	 * the signer's last refresh.
	 */
	cur = hs_time_period((time_t)now, PERIOD, ROT);
	CU_ASSERT(provision_window(cur + 2, PERIOD, ROT, NULL, NULL, NULL,
	    &we2) == 0 && provision_window(cur + 1, PERIOD, ROT, NULL, NULL,
	    NULL, &we1) == 0);
	CU_ASSERT(horizon == (uint64_t)we2 || horizon == (uint64_t)we1);
	CU_ASSERT(msg_get_str(&m, warn, sizeof(warn)) == 0);
	conn_close(&c);

	CU_ASSERT(sfx_signer_reap(&F.signer, &st, STOP_MS) == 0);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	F.signer.pid = 0;
	provision_free(F.store_b);
	F.store_b = NULL;
	/* Never killed by its own seccomp filter along the way. */
	CU_ASSERT(!WIFSIGNALED(st));
	signer_stop();
}

/* "obhsm-signer -n": the sample configuration parses; bad ones fail with
 * a message naming the problem, and never crash. */
static int
conf_check(const char *text, const char *want)
{
	char	path[PATH_MAX], out[PATH_MAX], cmd[PATH_MAX * 3];
	uint8_t	*d;
	size_t	 n;
	int	 st, ok;

	FMT(path, sizeof(path), "%s/check.conf", test_tmpdir());
	FMT(out, sizeof(out), "%s/check.out", test_tmpdir());
	write_file(path, text, 0600);
	FMT(cmd, sizeof(cmd), "%s -n -f %s >%s 2>&1", signer_binary(), path,
	    out);
	st = system(cmd);
	if ((d = test_read_file(out, &n)) == NULL)
		return -1;
	ok = strstr((const char *)d, want) != NULL;
	if (!ok)
		fprintf(stderr, "\n    wanted \"%s\" in: %s", want, d);
	free(d);
	if (!WIFEXITED(st))
		return -1;
	return ok ? WEXITSTATUS(st) : -1;
}

static void
test_signer_conf(void)
{
	uint8_t		*sample;
	char		*text, *at;
	const char	*svc = "service \"pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y"
			    "2ymmju6nubxndf4pscryd\" {\n";
	char		 buf[2048];
	size_t		 n;

	if (access(signer_binary(), X_OK) != 0)
		TEST_SKIP("no obhsm-signer");
	/* The shipped sample, with a collector user that exists here. */
	sample = test_read_file(test_vector_path("../../etc/"
	    "obhsm-signer.conf"), &n);
	if (sample == NULL)
		TEST_SKIP("no etc/obhsm-signer.conf");
	text = (char *)sample;
	CU_ASSERT_FATAL((at = strstr(text, "collector-user = ")) != NULL);
	memcpy(at, "# ", 2);
	{
		char	*t2 = malloc(n + 32);

		CU_ASSERT_FATAL(t2 != NULL);
		FMT(t2, n + 32, "collector-uid = 0\n%s", text);
		CU_ASSERT(conf_check(t2, "configuration OK") == 0);
		free(t2);
	}
	free(sample);

	FMT(buf, sizeof(buf), "collector-uid = 0\n%s  backends = { "
	    "\"sp3k262uwy4r2k3ycr5awluarykdpag6a7y33jxop4cs2lu5uz5sseqe\" }\n"
	    "}\n", svc);
	CU_ASSERT(conf_check(buf, "config: backend: \"sp3k") == 1);
	FMT(buf, sizeof(buf), "collector-uid = 0\n%s  backends = { "
	    "\"sp3k262uwy4r2k3ycr5awluarykdpag6a7y33jxop4cs2lu5uz5sseqd\" }\n"
	    "  key-mode = \"sometimes\"\n}\n", svc);
	CU_ASSERT(conf_check(buf, "key-mode") == 1);
	FMT(buf, sizeof(buf), "%s  backends = { "
	    "\"sp3k262uwy4r2k3ycr5awluarykdpag6a7y33jxop4cs2lu5uz5sseqd\" }\n"
	    "}\n", svc);
	CU_ASSERT(conf_check(buf, "collector-uid or collector-user") == 1);
	FMT(buf, sizeof(buf), "collector-uid = 0\nperiod-length = 2\n%s"
	    "  backends = { "
	    "\"sp3k262uwy4r2k3ycr5awluarykdpag6a7y33jxop4cs2lu5uz5sseqd\" }\n"
	    "}\n", svc);
	CU_ASSERT(conf_check(buf, "period-length") == 1);
	CU_ASSERT(conf_check("collector-uid = 0\nno-such-option = 1\n",
	    "no-such-option") == 1);
	CU_ASSERT(conf_check("collector-uid = 0\n", "service") == 1);
	CU_ASSERT(conf_check("service \"x\" { backends = {\n",
	    "") == 1);
}

/*
 * The old layout's revision floor files (one per blinded key) are taken
 * into the journal at start-up, then removed; such a floor above the
 * clock stops the period.  Last: it leaves the master's period stopped.
 */
static void
test_signer_floors_migrate(void)
{
	struct msg_conn	 c;
	struct msg	 m;
	char		 path[PATH_MAX], hx[2 * ED25519_PK_LEN + 1];

	fixture();
	if (F.ready != 1 || F.last_rev == 0)
		TEST_SKIP("happy path did not run");
	signer_stop();
	CU_ASSERT_FATAL(hex_encode(hx, sizeof(hx), F.master.bl_pk,
	    ED25519_PK_LEN, 0) == 0);
	FMT(path, sizeof(path), "%s/state/revision-%s", F.dir, hx);
	write_file(path, "18446744073709551000\n", 0600);
	(void)mkdir(F.sockdir, 0755);
	signer_start();
	conn_open(&c, 1);
	CU_ASSERT_FATAL(send_params(&c, F.master.addr, F.tp, &m) == 0);
	expect_error(&m, PROTO_R_REVISION);
	conn_close(&c);
	CU_ASSERT(access(path, F_OK) == -1 && errno == ENOENT);
	FMT(path, sizeof(path), "%s/state/revision-floors", F.dir);
	CU_ASSERT(sfx_file_has(path, hx) == 1);
	CU_ASSERT(sfx_file_has(path, " 18446744073709551000 ") == 1);
	signer_stop();
}

/*
 * Material read from disk is verified at start-up even though the
 * signer skips that for certs it has just made itself (online mode):
 * one flipped signature bit in B's store makes the period unusable.
 * Last: it restarts the signer and stops it again.
 */
static void
test_signer_store_tampered(void)
{
	struct msg_conn		 c;
	struct msg		 m;
	struct provision	*st = NULL, *orig = NULL;
	char			 state[PATH_MAX];

	fixture();
	if (F.ready != 1)
		TEST_SKIP("no signer");
	signer_stop();
	FMT(state, sizeof(state), "%s/state", F.dir);
	CU_ASSERT_FATAL(provision_store_load(&st, state, F.svc_b.addr) ==
	    0 && provision_store_load(&orig, state, F.svc_b.addr) == 0);
	CU_ASSERT_FATAL(st->nperiods == 2 && st->periods[0].tp == F.tp);
	st->periods[0].cert_sigs[1][ED25519_SIG_LEN - 1] ^= 0x01;
	CU_ASSERT_FATAL(provision_store_save(state, st) == 0);
	provision_free(st);
	(void)mkdir(F.sockdir, 0755);
	signer_start();
	conn_open(&c, 1);
	CU_ASSERT_FATAL(send_params(&c, F.svc_b.addr, F.tp, &m) == 0);
	expect_error(&m, PROTO_R_NO_KEYS);
	conn_close(&c);
	CU_ASSERT(sfx_file_has(F.log, "does not verify against the token "
	    "key (cert 1)") == 1);
	signer_stop();
	/* As it was, for anything run after. */
	CU_ASSERT(provision_store_save(state, orig) == 0);
	provision_free(orig);
}

/*
 * More requests in one write than the signer answers in a turn: all are
 * answered, in order.  Whole frames left in its buffer are invisible to
 * poll(), so the signer must come back for them by itself.
 */
#define BURST_N	80
static void
test_signer_burst(void)
{
	struct msg_conn	c;
	struct msg	m;
	size_t		i, got = 0;

	fixture();
	if (F.ready != 1 || F.signer.pid <= 0)
		TEST_SKIP("no signer");
	conn_open(&c, 1);
	for (i = 0; i < BURST_N; i++)
		CU_ASSERT_FATAL(msg_conn_send(&c, PROTO_STATUS,
		    (uint32_t)(1000 + i), NULL) == 0);
	CU_ASSERT_FATAL(msg_conn_flush(&c, T_MS) == 0);
	for (i = 0; i < BURST_N; i++) {
		if (msg_conn_recv(&c, &m, T_MS) != 0)
			break;
		if (m.type == PROTO_STATUS_OK && m.id == 1000 + i)
			got++;
	}
	CU_ASSERT(got == BURST_N);
	conn_close(&c);
}

static const struct test_case signer_tests[] = {
	{ "happy",		test_signer_happy },
	{ "client_auth",	test_signer_client_auth },
	{ "policy",		test_signer_policy },
	{ "session",		test_signer_session },
	{ "burst",		test_signer_burst },
	{ "peer",		test_signer_peer },
	{ "restart",		test_signer_restart },
	{ "offline",		test_signer_offline },
	{ "many_intro",		test_signer_many_intro },
	{ "crash",		test_signer_crash },
	{ "status_stop",	test_signer_status_stop },
	{ "conf",		test_signer_conf },
	{ "floors_migrate",	test_signer_floors_migrate },
	{ "store_tampered",	test_signer_store_tampered },
	{ "shared_intro",	test_signer_shared_intro },
	{ NULL, NULL }
};

void
test_register_signer(void)
{
	test_add_suite("signer", signer_tests);
}
