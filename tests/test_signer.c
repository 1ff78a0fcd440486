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

#include "audit.h"
#include "buf.h"
#include "crypto.h"
#include "encode.h"
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

struct key {
	uint8_t			sk[ED25519_EXPANDED_LEN];
	uint8_t			pk[ED25519_PK_LEN];
	char			addr[HS_ADDR_LEN + 1];
	uint8_t			bl_sk[ED25519_EXPANDED_LEN];
	uint8_t			bl_pk[ED25519_PK_LEN];
	struct hs_signer	bl_signer;
};

static struct {
	int		 ready;		/* set-up ran (1) or was skipped (-1) */
	char		 dir[PATH_MAX];
	char		 sockdir[PATH_MAX];
	char		 sock[PATH_MAX];
	char		 audit[PATH_MAX];
	char		 log[PATH_MAX];
	pid_t		 pid;
	uint64_t	 tp;
	struct key	 master;
	struct key	 backend[N_BACKENDS];
	struct key	 ds[N_BACKENDS];	/* backends' desc signing */
	struct hs_signer ds_signer[N_BACKENDS];
	struct hs_desc	 bdesc[N_BACKENDS];	/* as the backends built */
	/* What the signer handed out in the happy path. */
	uint8_t		 cert08[HS_CERT_LEN];
	uint8_t		 signing_pk[ED25519_PK_LEN];
	uint8_t		 cert09[N_BACKENDS * N_INTRO][HS_CERT_LEN];
	uint8_t		 cert0b[N_BACKENDS * N_INTRO][HS_CERT_LEN];
	uint64_t	 last_rev;
} F;

static void fmt(char *, size_t, const char *, ...)
    __attribute__((format(printf, 3, 4)));

/* snprintf that fails the test on truncation. */
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

static struct buf *
backend_desc_encode(size_t b)
{
	struct hs_desc_encode_params	 ep;
	struct buf			*out;

	memset(&ep, 0, sizeof(ep));
	ep.identity_pk = F.backend[b].pk;
	ep.blinded_pk = F.backend[b].bl_pk;
	CU_ASSERT_FATAL((out = buf_new(HS_DESC_MAX_LEN + 1)) != NULL);
	CU_ASSERT_FATAL(hs_desc_encode(out, &F.bdesc[b], &ep,
	    &F.ds_signer[b]) == 0);
	return out;
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

/* The daemon binary: $OBHSM_BUILDDIR, else next to tests/. */
static const char *
signer_binary(void)
{
	static char	 path[PATH_MAX];
	char		 self[PATH_MAX];
	const char	*bd = getenv("OBHSM_BUILDDIR");
	ssize_t		 n;
	char		*slash;

	if (bd != NULL) {
		fmt(path, sizeof(path), "%s/obhsm-signer", bd);
		return path;
	}
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) <= 0)
		return "obhsm-signer";
	self[n] = '\0';
	if ((slash = strrchr(self, '/')) != NULL)
		*slash = '\0';	/* .../tests */
	if ((slash = strrchr(self, '/')) != NULL)
		*slash = '\0';
	fmt(path, sizeof(path), "%s/obhsm-signer", self);
	return path;
}

static size_t
audit_records(void)
{
	struct audit_result	res;

	CU_ASSERT(audit_verify_file(F.audit, &res) == 0);
	return res.nrecords;
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

static void
signer_stop(void)
{
	int	st;

	if (F.pid <= 0)
		return;
	(void)kill(F.pid, SIGTERM);
	(void)waitpid(F.pid, &st, 0);
	F.pid = 0;
	if (F.sockdir[0] != '\0') {
		(void)unlink(F.sock);
		(void)rmdir(F.sockdir);
	}
}

static void
signer_start(void)
{
	struct timespec	ts = { 0, 50 * 1000 * 1000 };
	int		fd, i, logfd;

	F.pid = fork();
	CU_ASSERT_FATAL(F.pid != -1);
	if (F.pid == 0) {
		char	conf[PATH_MAX];

		fmt(conf, sizeof(conf), "%s/signer.conf", F.dir);
		logfd = open(F.log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (logfd != -1) {
			dup2(logfd, 2);
			close(logfd);
		}
		execl(signer_binary(), "obhsm-signer", "-d", "-v", "-f", conf,
		    (char *)NULL);
		_exit(127);
	}
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
	char	text[4096], path[PATH_MAX];
	time_t	now = time(NULL);
	size_t	b;
	int	r;

	if (F.ready != 0)
		return;
	F.ready = -1;
	if (access("/usr/lib/softhsm/libsofthsm2.so", R_OK) != 0 ||
	    system("command -v softhsm2-util >/dev/null") != 0)
		return;
	if (access(signer_binary(), X_OK) != 0) {
		fprintf(stderr, "  (no %s)\n", signer_binary());
		return;
	}
	fmt(F.dir, sizeof(F.dir), "%s/signer", test_tmpdir());
	CU_ASSERT_FATAL(mkdir(F.dir, 0700) == 0);
	/* The socket lives where another uid can reach it (peer test). */
	fmt(F.sockdir, sizeof(F.sockdir), "/tmp/obhsm-sock.XXXXXX");
	CU_ASSERT_FATAL(mkdtemp(F.sockdir) != NULL);
	CU_ASSERT_FATAL(chmod(F.sockdir, 0755) == 0);
	fmt(F.sock, sizeof(F.sock), "%s/signer.sock", F.sockdir);
	fmt(F.audit, sizeof(F.audit), "%s/audit.log", F.dir);
	fmt(F.log, sizeof(F.log), "%s/signer.log", F.dir);

	/* A throwaway token. */
	fmt(path, sizeof(path), "%s/tokens", F.dir);
	CU_ASSERT_FATAL(mkdir(path, 0700) == 0);
	fmt(text, sizeof(text), "directories.tokendir = %s\n"
	    "objectstore.backend = file\nlog.level = ERROR\n", path);
	fmt(path, sizeof(path), "%s/softhsm2.conf", F.dir);
	write_file(path, text, 0600);
	CU_ASSERT_FATAL(setenv("SOFTHSM2_CONF", path, 1) == 0);
	r = system("softhsm2-util --init-token --free --label obhsm-test "
	    "--pin 1234 --so-pin 5678 >/dev/null");
	CU_ASSERT_FATAL(r == 0);
	fmt(path, sizeof(path), "%s/pin", F.dir);
	write_file(path, "1234\n", 0600);

	/* The master (online identity mode) and its backends. */
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
	fmt(text, sizeof(text),
	    "pkcs11-module = \"/usr/lib/softhsm/libsofthsm2.so\"\n"
	    "token-uri = \"pkcs11:token=obhsm-test\"\n"
	    "pin-source = \"file:%s/pin\"\n"
	    "socket = \"%s\"\n"
	    "socket-mode = 0666\n"
	    "collector-uid = %lu\n"
	    "state-dir = \"%s/state\"\n"
	    "audit-log = \"%s\"\n"
	    "period-length = %d\n"
	    "rotation-offset = %d\n"
	    "sandbox = \"kill\"\n"
	    "service \"%s\" {\n"
	    "  backends = { \"%s\", \"%s.onion\" }\n"
	    "  key-mode = \"online\"\n"
	    "  identity-key = \"%s/identity/hs_ed25519_secret_key\"\n"
	    "}\n",
	    F.dir, F.sock, (unsigned long)getuid(), F.dir, F.audit, PERIOD,
	    ROT, F.master.addr, F.backend[0].addr, F.backend[1].addr, F.dir);
	fmt(path, sizeof(path), "%s/signer.conf", F.dir);
	write_file(path, text, 0600);
	signer_start();
	atexit(signer_stop);
	F.ready = 1;
}

/* A connection that has done the handshake. */
static void
conn_open(struct msg_conn *c, int hello)
{
	struct buf	*p;
	struct msg	 m;
	uint32_t	 v, max, plen, rot;
	uint8_t		 role, mode;
	int		 fd;

	CU_ASSERT_FATAL((fd = sock_connect()) != -1);
	CU_ASSERT_FATAL(msg_conn_init(c, fd) == 0);
	if (!hello)
		return;
	CU_ASSERT_FATAL((p = msg_payload_new()) != NULL);
	CU_ASSERT_FATAL(msg_put_u32(p, PROTO_VERSION) == 0 &&
	    msg_put_u8(p, PROTO_ROLE_COLLECTOR) == 0 &&
	    msg_put_str(p, "test_signer") == 0);
	CU_ASSERT_FATAL(msg_conn_call(c, PROTO_HELLO, p, &m, T_MS) == 0);
	buf_free(p);
	CU_ASSERT_FATAL(m.type == PROTO_HELLO_OK);
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
	close(c->fd);
	msg_conn_clear(c);
}

/* Expect a PROTO_ERROR with this reason. */
static void
expect_error(struct msg *m, uint16_t want)
{
	uint16_t	reason = 0;
	char		detail[PROTO_STR_MAX + 1];

	CU_ASSERT_FATAL(m->type == PROTO_ERROR);
	CU_ASSERT(msg_error_get(m, &reason, detail, sizeof(detail)) == 0);
	if (reason != want)
		fprintf(stderr, "\n    want %s, got %s: %s ",
		    msg_reason_name(want), msg_reason_name(reason), detail);
	CU_ASSERT(reason == want);
}

/* After a connection error: the signer has closed its end. */
static void
expect_closed(struct msg_conn *c)
{
	struct msg	m;

	CU_ASSERT(msg_conn_recv(c, &m, T_MS) == -1 && errno == ECONNRESET);
}

static int
send_backend_desc(struct msg_conn *c, const char *svc, const char *backend,
    uint64_t tp, const struct buf *desc, struct msg *m)
{
	struct buf	*p;
	int		 r;

	CU_ASSERT_FATAL((p = msg_payload_new()) != NULL);
	CU_ASSERT_FATAL(msg_put_str(p, svc) == 0 &&
	    msg_put_str(p, backend) == 0 && msg_put_u64(p, tp) == 0 &&
	    msg_put_data(p, buf_ptr(desc), buf_len(desc)) == 0);
	r = msg_conn_call(c, PROTO_BACKEND_DESC, p, m, T_MS);
	buf_free(p);
	return r;
}

static int
send_sign(struct msg_conn *c, const char *svc, uint64_t tp,
    const uint8_t *body, size_t len, struct msg *m)
{
	struct buf	*p;
	int		 r;

	CU_ASSERT_FATAL((p = msg_payload_new()) != NULL);
	CU_ASSERT_FATAL(msg_put_str(p, svc) == 0 && msg_put_u64(p, tp) == 0 &&
	    msg_put_u8(p, 0) == 0 && msg_put_data(p, body, len) == 0);
	r = msg_conn_call(c, PROTO_SIGN_DESC, p, m, T_MS);
	buf_free(p);
	return r;
}

static int
send_params(struct msg_conn *c, const char *svc, uint64_t tp, struct msg *m)
{
	struct buf	*p;
	int		 r;

	CU_ASSERT_FATAL((p = msg_payload_new()) != NULL);
	CU_ASSERT_FATAL(msg_put_str(p, svc) == 0 && msg_put_u64(p, tp) == 0);
	r = msg_conn_call(c, PROTO_DESC_PARAMS, p, m, T_MS);
	buf_free(p);
	return r;
}

/* Get the revision counter and 08 cert for the master, now. */
static uint64_t
get_params(struct msg_conn *c)
{
	struct msg	m;
	struct buf	cert;
	uint8_t		bl[32];
	uint64_t	rev, now;

	CU_ASSERT_FATAL(send_params(c, F.master.addr, F.tp, &m) == 0);
	CU_ASSERT_FATAL(m.type == PROTO_DESC_PARAMS_OK);
	CU_ASSERT(msg_get_fixed(&m, bl, 32) == 0);
	CU_ASSERT(memcmp(bl, F.master.bl_pk, 32) == 0);
	CU_ASSERT(msg_get_fixed(&m, F.signing_pk, 32) == 0);
	CU_ASSERT(msg_get_u64(&m, &rev) == 0);
	CU_ASSERT(msg_get_u64(&m, &now) == 0);
	CU_ASSERT(msg_get_data(&m, &cert, HS_CERT_MAX_LEN) == 0);
	CU_ASSERT_FATAL(buf_len(&cert) == HS_CERT_LEN);
	memcpy(F.cert08, buf_ptr(&cert), HS_CERT_LEN);
	CU_ASSERT(msg_end(&m) == 0);
	return rev;
}

/*
 * A master body from intro points (backend b, index i) pairs with the
 * certs the signer issued, the 08 cert and the counter given.
 */
static struct buf *
master_body(const size_t *which, size_t n, uint64_t rev,
    const uint8_t *cert08)
{
	struct hs_desc_encode_params	 ep;
	struct hs_desc			 d;
	struct hs_intro_point		*ip;
	struct buf			*out;
	size_t				 i, b, k;

	hs_desc_init(&d);
	d.lifetime_min = HS_DESC_LIFETIME_DEFAULT;
	d.revision_counter = rev;
	CU_ASSERT_FATAL(hs_cert_parse(&d.signing_cert, cert08,
	    HS_CERT_LEN) == 0);
	for (i = 0; i < n; i++) {
		b = which[i] / N_INTRO;
		k = which[i] % N_INTRO;
		ip = &d.intro[i];
		*ip = F.bdesc[b].intro[k];
		CU_ASSERT_FATAL(hs_cert_parse(&ip->auth_key_cert,
		    F.cert09[which[i]], HS_CERT_LEN) == 0);
		CU_ASSERT_FATAL(hs_cert_parse(&ip->enc_key_cert,
		    F.cert0b[which[i]], HS_CERT_LEN) == 0);
	}
	d.n_intro = n;
	memset(&ep, 0, sizeof(ep));
	ep.identity_pk = F.master.pk;
	ep.blinded_pk = F.master.bl_pk;
	CU_ASSERT_FATAL((out = buf_new(HS_DESC_MAX_LEN + 1)) != NULL);
	CU_ASSERT_FATAL(hs_desc_encode_body(out, &d, &ep) == 0);
	hs_desc_clear(&d);
	return out;
}

static const size_t happy_pick[] = { 0, 1, 3, 4 };

/* Backend descriptors in, certs, params, a signed master out. */
static void
test_signer_happy(void)
{
	struct msg_conn			 c;
	struct msg			 m;
	struct buf			*desc, *p, *body, cert, ls;
	struct hs_desc			 out;
	struct hs_desc_decode_params	 dp;
	uint8_t				 auth[32], enc[32], sig[64];
	uint64_t			 rev, seq, brev;
	uint32_t			 sigs;
	uint8_t				 n, skipped;
	size_t				 b, i, before;
	char				 path[PATH_MAX], cmd[PATH_MAX * 2];

	fixture();
	if (F.ready != 1)
		TEST_SKIP("no SoftHSM or no obhsm-signer");
	before = audit_records();
	conn_open(&c, 1);
	for (b = 0; b < N_BACKENDS; b++) {
		desc = backend_desc_encode(b);
		CU_ASSERT_FATAL(send_backend_desc(&c, F.master.addr,
		    F.backend[b].addr, F.tp, desc, &m) == 0);
		buf_free(desc);
		if (m.type == PROTO_ERROR)
			expect_error(&m, 0);
		CU_ASSERT_FATAL(m.type == PROTO_BACKEND_DESC_OK);
		CU_ASSERT(msg_get_u64(&m, &brev) == 0 && brev == 1000 + b);
		CU_ASSERT(msg_get_u8(&m, &skipped) == 0 && skipped == 0);
		CU_ASSERT(msg_get_u8(&m, &n) == 0 && n == N_INTRO);
		for (i = 0; i < n; i++) {
			CU_ASSERT(msg_get_fixed(&m, auth, 32) == 0);
			CU_ASSERT(memcmp(auth, F.bdesc[b].intro[i]
			    .auth_key_cert.certified_key, 32) == 0);
			CU_ASSERT(msg_get_fixed(&m, enc, 32) == 0);
			CU_ASSERT(msg_get_data(&m, &ls, 256) == 0);
		}
		CU_ASSERT(msg_end(&m) == 0);
	}

	/* Recertify every intro point: 2 signatures each, then none. */
	for (i = 0; i < 2; i++) {
		CU_ASSERT_FATAL((p = msg_payload_new()) != NULL);
		CU_ASSERT_FATAL(msg_put_str(p, F.master.addr) == 0 &&
		    msg_put_u64(p, F.tp) == 0 &&
		    msg_put_u8(p, N_BACKENDS * N_INTRO) == 0);
		for (b = 0; b < N_BACKENDS * N_INTRO; b++)
			CU_ASSERT_FATAL(msg_put_fixed(p,
			    F.bdesc[b / N_INTRO].intro[b % N_INTRO]
			    .auth_key_cert.certified_key, 32) == 0);
		CU_ASSERT_FATAL(msg_conn_call(&c, PROTO_RECERTIFY, p, &m,
		    T_MS) == 0);
		buf_free(p);
		if (m.type == PROTO_ERROR)
			expect_error(&m, 0);
		CU_ASSERT_FATAL(m.type == PROTO_RECERTIFY_OK);
		CU_ASSERT(msg_get_u32(&m, &sigs) == 0);
		CU_ASSERT(sigs == (i == 0 ? 2 * N_BACKENDS * N_INTRO : 0));
		CU_ASSERT(msg_get_u8(&m, &n) == 0 && n == N_BACKENDS * N_INTRO);
		for (b = 0; b < n; b++) {
			struct hs_cert	hc;

			CU_ASSERT(msg_get_fixed(&m, auth, 32) == 0);
			CU_ASSERT(msg_get_data(&m, &cert, HS_CERT_MAX_LEN) ==
			    0 && buf_len(&cert) == HS_CERT_LEN);
			memcpy(F.cert09[b], buf_ptr(&cert), HS_CERT_LEN);
			CU_ASSERT(msg_get_data(&m, &cert, HS_CERT_MAX_LEN) ==
			    0 && buf_len(&cert) == HS_CERT_LEN);
			memcpy(F.cert0b[b], buf_ptr(&cert), HS_CERT_LEN);
			CU_ASSERT(hs_cert_parse(&hc, F.cert09[b],
			    HS_CERT_LEN) == 0);
			CU_ASSERT(memcmp(hc.certified_key, auth, 32) == 0);
		}
		CU_ASSERT(msg_end(&m) == 0);
	}
	CU_ASSERT(audit_records() == before + 2 * N_BACKENDS * N_INTRO);

	rev = get_params(&c);
	body = master_body(happy_pick, 4, rev, F.cert08);
	CU_ASSERT_FATAL(send_sign(&c, F.master.addr, F.tp, buf_ptr(body),
	    buf_len(body), &m) == 0);
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
		fmt(path, sizeof(path), "%s/master.desc", F.dir);
		CU_ASSERT(buf_put_u8(body, 0) == 0);
		write_file(path, (const char *)buf_ptr(body), 0600);
		/* check_ours.py lives in tests/stem, next to vectors/. */
		fmt(cmd, sizeof(cmd), "/usr/bin/python3 "
		    "%s/../stem/check_ours.py %s %s.onion >/dev/null",
		    getenv("OBHSM_TESTDATA") != NULL ?
		    getenv("OBHSM_TESTDATA") : "tests/vectors", path,
		    F.master.addr);
		CU_ASSERT(system(cmd) == 0);
	}
	buf_free(body);
	conn_close(&c);
}

/* Each policy refusal: reason, and no token signature. */
static void
test_signer_policy(void)
{
	struct msg_conn	 c;
	struct msg	 m;
	struct key	 other;
	struct buf	*body, *desc;
	uint8_t		 raw[HS_CERT_LEN], k[32], *big;
	uint64_t	 rev;
	size_t		 before, pick[1] = { 0 };

	fixture();
	if (F.ready != 1 || F.last_rev == 0)
		TEST_SKIP("happy path did not run");
	before = audit_records();
	conn_open(&c, 1);
	key_make(&other, F.tp);

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
	F.bdesc[0].intro[0].linkspec[5] ^= 0x55;
	body = master_body(pick, 1, rev, F.cert08);
	F.bdesc[0].intro[0].linkspec[5] ^= 0x55;
	CU_ASSERT_FATAL(send_sign(&c, F.master.addr, F.tp, buf_ptr(body),
	    buf_len(body), &m) == 0);
	expect_error(&m, PROTO_R_INTRO);
	buf_free(body);
	/* Same intro point with another onion key (a relay-side swap). */
	{
		struct hs_intro_point	save = F.bdesc[0].intro[2];

		CU_ASSERT(ob_random(F.bdesc[0].intro[2].onion_key, 32) == 0);
		body = master_body((const size_t[]){ 2 }, 1, rev, F.cert08);
		F.bdesc[0].intro[2] = save;
	}
	CU_ASSERT_FATAL(send_sign(&c, F.master.addr, F.tp, buf_ptr(body),
	    buf_len(body), &m) == 0);
	expect_error(&m, PROTO_R_INTRO);
	buf_free(body);
	/* An intro point nobody published, with certs the collector made
	 * itself (it has no token key): the body does not even decode. */
	{
		struct hs_intro_point	save = F.bdesc[1].intro[0];
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
		F.bdesc[1].intro[0] = save;
	}
	CU_ASSERT_FATAL(send_sign(&c, F.master.addr, F.tp, buf_ptr(body),
	    buf_len(body), &m) == 0);
	expect_error(&m, PROTO_R_DESC);
	buf_free(body);

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
	    F.backend[1].addr, F.tp, desc, &m) == 0);
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
	CU_ASSERT_FATAL(msg_conn_call(&c, PROTO_STATUS, NULL, &m, T_MS) == 0);
	expect_error(&m, PROTO_R_NOT_PERMITTED);
	expect_closed(&c);
	conn_close(&c);

	/* Another protocol version. */
	conn_open(&c, 0);
	CU_ASSERT_FATAL((p = msg_payload_new()) != NULL);
	CU_ASSERT(msg_put_u32(p, PROTO_VERSION + 1) == 0 &&
	    msg_put_u8(p, PROTO_ROLE_COLLECTOR) == 0 &&
	    msg_put_str(p, "future") == 0);
	CU_ASSERT_FATAL(msg_conn_call(&c, PROTO_HELLO, p, &m, T_MS) == 0);
	buf_free(p);
	expect_error(&m, PROTO_R_VERSION);
	expect_closed(&c);
	conn_close(&c);

	/* An unknown message type. */
	conn_open(&c, 1);
	CU_ASSERT_FATAL(msg_conn_call(&c, 0x0999, NULL, &m, T_MS) == 0);
	expect_error(&m, PROTO_R_UNKNOWN_TYPE);
	expect_closed(&c);
	conn_close(&c);

	/* A second HELLO is not permitted. */
	conn_open(&c, 1);
	CU_ASSERT_FATAL((p = msg_payload_new()) != NULL);
	CU_ASSERT(msg_put_u32(p, PROTO_VERSION) == 0 &&
	    msg_put_u8(p, PROTO_ROLE_COLLECTOR) == 0 &&
	    msg_put_str(p, "again") == 0);
	CU_ASSERT_FATAL(msg_conn_call(&c, PROTO_HELLO, p, &m, T_MS) == 0);
	buf_free(p);
	expect_error(&m, PROTO_R_NOT_PERMITTED);
	expect_closed(&c);
	conn_close(&c);

	/* Leftover bytes in a payload. */
	conn_open(&c, 1);
	CU_ASSERT_FATAL((p = msg_payload_new()) != NULL);
	CU_ASSERT(msg_put_u8(p, 1) == 0);
	CU_ASSERT_FATAL(msg_conn_call(&c, PROTO_STATUS, p, &m, T_MS) == 0);
	buf_free(p);
	expect_error(&m, PROTO_R_MALFORMED);
	expect_closed(&c);
	conn_close(&c);

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
		    (fd = sock_connect()) != -1 &&
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

/* STATUS, the audit log, and a clean SIGTERM. */
static void
test_signer_status_stop(void)
{
	struct msg_conn	 c;
	struct msg	 m;
	char		 svc[PROTO_STR_MAX + 1], warn[PROTO_STR_MAX + 1];
	uint64_t	 now, sigs, horizon;
	uint8_t		 n, state;
	int		 st;

	fixture();
	if (F.ready != 1)
		TEST_SKIP("no signer");
	conn_open(&c, 1);
	CU_ASSERT_FATAL(msg_conn_call(&c, PROTO_STATUS, NULL, &m, T_MS) == 0);
	CU_ASSERT_FATAL(m.type == PROTO_STATUS_OK);
	CU_ASSERT(msg_get_u64(&m, &now) == 0);
	CU_ASSERT(msg_get_u64(&m, &sigs) == 0);
	CU_ASSERT(sigs == audit_records());
	CU_ASSERT(msg_get_u8(&m, &n) == 0 && n == 1);
	CU_ASSERT(msg_get_str(&m, svc, sizeof(svc)) == 0);
	CU_ASSERT_STRING_EQUAL(svc, F.master.addr);
	CU_ASSERT(msg_get_u8(&m, &state) == 0 && state == PROTO_HORIZON_OK);
	CU_ASSERT(msg_get_u64(&m, &horizon) == 0 && horizon > now);
	CU_ASSERT(msg_get_str(&m, warn, sizeof(warn)) == 0);
	CU_ASSERT(msg_end(&m) == 0);
	conn_close(&c);

	CU_ASSERT(kill(F.pid, SIGTERM) == 0);
	CU_ASSERT(waitpid(F.pid, &st, 0) == F.pid);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	F.pid = 0;
	/* Never killed by its own seccomp filter along the way. */
	CU_ASSERT(!WIFSIGNALED(st));
	signer_stop();
}

static const struct test_case signer_tests[] = {
	{ "happy",		test_signer_happy },
	{ "policy",		test_signer_policy },
	{ "session",		test_signer_session },
	{ "peer",		test_signer_peer },
	{ "status_stop",	test_signer_status_stop },
	{ NULL, NULL }
};

void
test_register_signer(void)
{
	test_add_suite("signer", signer_tests);
}
