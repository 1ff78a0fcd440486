/*
 * obbench: the descriptor throughput driver of "make bench" (issue 7).
 *
 *   obbench desc SIGNER S ROUNDS   hosting case through the real signer
 *   obbench raw SECONDS LEN        raw C_Sign rate of the same token
 *
 * Both take the token from SOFTHSM2_CONF (token "obbench", PIN file
 * $OBBENCH_DIR/pin) and print "key value" lines for bench/run.sh.
 *
 * desc: S master services in online identity mode (the signer generates
 * and certifies its own token keys) over one pool of 4 backends with 2
 * intro points each, both live periods.  The backend descriptors are
 * built with hs_desc_encode() from generated keys, as a stock tor would
 * publish them.  The driver then does what collector/publish.c does per
 * publish job, over the real Unix socket: BACKEND_DESC (cold only),
 * RECERTIFY, DESC_PARAMS, the body with hs_desc_encode_body(), SIGN_DESC.
 * publish.c itself needs a tor control connection and an HSDir view, so
 * its message sequence is replayed here with the same codec calls rather
 * than linked.  Requests are pipelined over one connection as the
 * collector's signer_client does (several in flight, answered in order).
 * Token signatures are counted from the audit log, which has one record
 * per token signature.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "buf.h"
#include "crypto.h"
#include "err.h"
#include "hs_cert.h"
#include "hs_desc.h"
#include "hs_keys.h"
#include "hsm.h"
#include "log.h"
#include "msg.h"
#include "proto.h"
#include "provision.h"

#define PERIOD		1440
#define ROT		720
#define N_BACKENDS	4
#define N_INTRO		2	/* per backend */
#define N_IP		(N_BACKENDS * N_INTRO)
#define BATCH		32	/* services in flight at once */
#define T_MS		600000

struct key {
	uint8_t			sk[ED25519_EXPANDED_LEN];
	uint8_t			pk[ED25519_PK_LEN];
	char			addr[HS_ADDR_LEN + 1];
};

struct master {
	uint8_t		pk[ED25519_PK_LEN];
	char		addr[HS_ADDR_LEN + 1];
	uint8_t		bl_pk[2][ED25519_PK_LEN];
};

static struct {
	char		 dir[PATH_MAX];
	char		 sock[PATH_MAX];
	char		 audit[PATH_MAX];
	pid_t		 pid;
	uint64_t	 tp[2];
	struct key	 backend[N_BACKENDS];
	struct buf	*bdesc[N_BACKENDS];
	struct hs_desc	 bd[N_BACKENDS];
	struct master	*m;
	size_t		 nm;
	struct msg_conn	 c;
	uint32_t	 next_id;
	double		 t_body;	/* s in hs_desc_encode_body() */
	size_t		 body_len;
} B;

static void
die(const char *f, ...)
{
	va_list	ap;

	va_start(ap, f);
	fprintf(stderr, "obbench: ");
	vfprintf(stderr, f, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	if (B.pid > 0)
		(void)kill(B.pid, SIGKILL);
	exit(1);
}

static double
now_s(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
fmt(char *out, size_t len, const char *f, ...)
{
	va_list	ap;
	int	n;

	va_start(ap, f);
	n = vsnprintf(out, len, f, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len)
		die("path too long");
}

static void
key_make(struct key *k)
{
	uint8_t	seed[32];

	if (ob_random(seed, sizeof(seed)) != 0 ||
	    hs_expanded_from_seed(k->sk, seed) != 0 ||
	    hs_expanded_pubkey(k->pk, k->sk) != 0 ||
	    hs_address_encode(k->addr, k->pk) != 0)
		die("key_make");
}

static void
cert_make(struct hs_cert *c, uint8_t type, uint32_t exp,
    const uint8_t certified[32], const struct hs_signer *s)
{
	uint8_t	raw[HS_CERT_LEN];

	if (hs_cert_build(raw, type, exp, certified, s) != 0 ||
	    hs_cert_parse(c, raw, sizeof(raw)) != 0)
		die("cert_make");
}

/* Backend b's descriptor for period tp, as a stock tor publishes it. */
static void
backend_make(size_t b, uint64_t tp, time_t now)
{
	struct hs_desc			*d = &B.bd[b];
	struct hs_desc_encode_params	 ep;
	struct hs_intro_point		*ip;
	struct hs_signer		 bls, dss;
	struct key			 ds;
	uint8_t				 bl_sk[ED25519_EXPANDED_LEN];
	uint8_t				 bl_pk[32], k[32];
	size_t				 i, n;

	key_make(&B.backend[b]);
	key_make(&ds);
	if (hs_blind_seckey(bl_sk, B.backend[b].sk, B.backend[b].pk, tp,
	    PERIOD) != 0 || hs_blind_pubkey(bl_pk, B.backend[b].pk, tp,
	    PERIOD) != 0)
		die("blind");
	hs_signer_expanded(&bls, bl_sk, bl_pk);
	hs_signer_expanded(&dss, ds.sk, ds.pk);
	hs_desc_init(d);
	d->lifetime_min = HS_DESC_LIFETIME_DEFAULT;
	d->revision_counter = 1000 + b;
	cert_make(&d->signing_cert, HS_CERT_TYPE_DESC_SIGNING,
	    hs_cert_expiry_desc_signing(now), ds.pk, &bls);
	for (i = 0; i < N_INTRO; i++) {
		ip = &d->intro[i];
		n = 0;
		ip->linkspec[n++] = 2;
		ip->linkspec[n++] = 0;	/* IPv4 */
		ip->linkspec[n++] = 6;
		if (ob_random(ip->linkspec + n, 6) != 0)
			die("random");
		n += 6;
		ip->linkspec[n++] = 2;	/* legacy id */
		ip->linkspec[n++] = 20;
		if (ob_random(ip->linkspec + n, 20) != 0)
			die("random");
		n += 20;
		ip->linkspec_len = n;
		if (ob_random(ip->onion_key, 32) != 0 ||
		    ob_random(ip->enc_key, 32) != 0 ||
		    ob_random(k, 32) != 0)
			die("random");
		cert_make(&ip->auth_key_cert, HS_CERT_TYPE_AUTH_HS_IP_KEY,
		    hs_cert_expiry_intro(now), k, &dss);
		if (ob_random(k, 32) != 0)
			die("random");
		cert_make(&ip->enc_key_cert, HS_CERT_TYPE_CROSS_HS_IP_KEYS,
		    hs_cert_expiry_intro(now), k, &dss);
	}
	d->n_intro = N_INTRO;
	memset(&ep, 0, sizeof(ep));
	ep.identity_pk = B.backend[b].pk;
	ep.blinded_pk = bl_pk;
	if ((B.bdesc[b] = buf_new(HS_DESC_MAX_LEN + 1)) == NULL ||
	    hs_desc_encode(B.bdesc[b], d, &ep, &dss) != 0)
		die("backend descriptor");
	ob_wipe(bl_sk, sizeof(bl_sk));
}

static void
write_file(const char *path, const char *text)
{
	FILE	*f;

	if ((f = fopen(path, "w")) == NULL || fputs(text, f) < 0 ||
	    fclose(f) != 0 || chmod(path, 0600) != 0)
		die("%s: %s", path, strerror(errno));
}

static uint64_t
bench_audit_records(void)
{
	struct audit_result	res;

	if (access(B.audit, F_OK) != 0)
		return 0;
	if (audit_verify_file(B.audit, &res) != 0)
		die("audit log does not verify: %s",
		    audit_fault_name(res.fault));
	return res.nrecords;
}

/* Peak RSS of a process in KiB (VmHWM). */
static long
proc_hwm(pid_t pid)
{
	char	path[64], line[256];
	FILE	*f;
	long	v = -1;

	fmt(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmHWM: %ld", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* CPU seconds (user + system) a process has used, from /proc. */
static double
proc_cpu(pid_t pid)
{
	char		 path[64], line[1024], *p;
	unsigned long	 ut, st;
	FILE		*f;
	int		 ok;

	fmt(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	ok = fgets(line, sizeof(line), f) != NULL;
	fclose(f);
	/* Fields after the ")" that ends the command name: state is 3,
	 * utime 14 and stime 15. */
	if (!ok || (p = strrchr(line, ')')) == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
	    "%lu %lu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double
self_cpu(void)
{
	struct rusage	ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
	    ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
}

static int
sock_connect(void)
{
	struct sockaddr_un	sun;
	int			fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	fmt(sun.sun_path, sizeof(sun.sun_path), "%s", B.sock);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(fd);
		return -1;
	}
	(void)fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

/* The config: every service online, the same 4 backends. */
static void
conf_write(const char *module)
{
	struct buf	*t;
	char		 path[PATH_MAX], line[PATH_MAX * 2];
	size_t		 i, b;

	if ((t = buf_new(256 + B.nm * 600)) == NULL)
		die("conf");
	fmt(line, sizeof(line),
	    "pkcs11-module = \"%s\"\n"
	    "token-uri = \"pkcs11:token=obbench\"\n"
	    "pin-source = \"file:%s/pin\"\n"
	    "socket = \"%s\"\n"
	    "socket-mode = 0600\n"
	    "collector-uid = %lu\n"
	    "state-dir = \"%s/state\"\n"
	    "audit-log = \"%s\"\n"
	    "period-length = %d\nrotation-offset = %d\n"
	    "online-periods = 1\n"
	    "hsm-timeout = 0\n"
	    "sandbox = \"%s\"\n", module, B.dir, B.sock,
	    (unsigned long)getuid(), B.dir, B.audit, PERIOD, ROT,
	    getenv("OBBENCH_SANDBOX") != NULL ? getenv("OBBENCH_SANDBOX") :
	    "kill");
	if (buf_put_str(t, line) != 0)
		die("conf");
	for (i = 0; i < B.nm; i++) {
		fmt(line, sizeof(line), "service \"%s\" {\n  backends = {",
		    B.m[i].addr);
		if (buf_put_str(t, line) != 0)
			die("conf");
		for (b = 0; b < N_BACKENDS; b++) {
			fmt(line, sizeof(line), "%s\"%s\"", b ? ", " : " ",
			    B.backend[b].addr);
			if (buf_put_str(t, line) != 0)
				die("conf");
		}
		fmt(line, sizeof(line), " }\n  key-mode = \"online\"\n"
		    "  identity-key = "
		    "\"%s/id/%zu/hs_ed25519_secret_key\"\n}\n",
		    B.dir, i);
		if (buf_put_str(t, line) != 0)
			die("conf");
	}
	if (buf_put_u8(t, 0) != 0)
		die("conf");
	fmt(path, sizeof(path), "%s/signer.conf", B.dir);
	write_file(path, (const char *)buf_ptr(t));
	buf_free(t);
}

static void
signer_start(const char *bin)
{
	struct timespec	ts = { 0, 20 * 1000 * 1000 };
	char		conf[PATH_MAX], log[PATH_MAX];
	int		fd, logfd;

	fmt(conf, sizeof(conf), "%s/signer.conf", B.dir);
	fmt(log, sizeof(log), "%s/signer.log", B.dir);
	if ((B.pid = fork()) == -1)
		die("fork");
	if (B.pid == 0) {
		logfd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (logfd != -1) {
			dup2(logfd, 2);
			close(logfd);
		}
		/* Profiling: OBBENCH_WRAP="valgrind --tool=callgrind" or
		 * "strace -c -f" runs in front of the signer (with
		 * OBBENCH_SANDBOX=off). */
		if (getenv("OBBENCH_WRAP") != NULL)
			execl("/bin/sh", "sh", "-c",
			    "exec $OBBENCH_WRAP \"$@\"", "sh", bin, "-d",
			    "-f", conf, (char *)NULL);
		else
			execl(bin, "obhsm-signer", "-d", "-f", conf,
			    (char *)NULL);
		_exit(127);
	}
	for (;;) {
		if ((fd = sock_connect()) != -1)
			break;
		if (waitpid(B.pid, NULL, WNOHANG) == B.pid) {
			B.pid = 0;
			die("signer did not start; see %s", log);
		}
		nanosleep(&ts, NULL);
	}
	if (msg_conn_init(&B.c, fd) != 0)
		die("msg_conn_init");
}

static void
signer_stop(void)
{
	int	st, i;
	struct timespec	ts = { 0, 50 * 1000 * 1000 };

	if (B.pid <= 0)
		return;
	(void)kill(B.pid, SIGTERM);
	for (i = 0; i < 200; i++) {
		if (waitpid(B.pid, &st, WNOHANG) == B.pid) {
			B.pid = 0;
			return;
		}
		nanosleep(&ts, NULL);
	}
	(void)kill(B.pid, SIGKILL);
	(void)waitpid(B.pid, &st, 0);
	B.pid = 0;
}

static void
send_req(uint16_t type, struct buf *p)
{
	/* A full output queue (MSG_OUTQ_MAX): wait for the signer to
	 * take what is queued, as signer_client does. */
	if (msg_conn_send(&B.c, type, ++B.next_id, p) != 0 &&
	    (msg_conn_flush(&B.c, T_MS) != 0 ||
	    msg_conn_send(&B.c, type, B.next_id, p) != 0))
		die("msg_conn_send %s", msg_type_name(type));
	buf_free(p);
	if (msg_conn_write(&B.c) != 0)
		die("write: %s", strerror(errno));
}

/* The next reply, which must be of type want. */
static void
recv_reply(struct msg *m, uint16_t want)
{
	uint16_t	reason = 0;
	char		detail[PROTO_STR_MAX + 1] = "";

	if (msg_conn_flush(&B.c, T_MS) != 0 ||
	    msg_conn_recv(&B.c, m, T_MS) != 0)
		die("recv: %s", strerror(errno));
	if (m->type == want)
		return;
	if (m->type == PROTO_ERROR &&
	    msg_error_get(m, &reason, detail, sizeof(detail)) != 0)
		die("malformed ERROR reply");
	die("want %s, got %s %s: %s", msg_type_name(want),
	    msg_type_name(m->type), msg_reason_name(reason), detail);
}

static struct buf *
payload(void)
{
	struct buf	*p;

	if ((p = msg_payload_new()) == NULL)
		die("msg_payload_new");
	return p;
}

static void
hello(void)
{
	struct buf	*p = payload();
	struct msg	 m;

	if (msg_put_u32(p, PROTO_VERSION) != 0 ||
	    msg_put_u8(p, PROTO_ROLE_COLLECTOR) != 0 ||
	    msg_put_str(p, "obbench") != 0)
		die("hello");
	send_req(PROTO_HELLO, p);
	recv_reply(&m, PROTO_HELLO_OK);
}

static void
send_backends(size_t i)
{
	struct buf	*p;
	size_t		 b;

	for (b = 0; b < N_BACKENDS; b++) {
		p = payload();
		if (msg_put_str(p, B.m[i].addr) != 0 ||
		    msg_put_str(p, B.backend[b].addr) != 0 ||
		    msg_put_u64(p, B.tp[0]) != 0 ||
		    msg_put_data(p, buf_ptr(B.bdesc[b]),
		    buf_len(B.bdesc[b])) != 0)
			die("backend payload");
		send_req(PROTO_BACKEND_DESC, p);
	}
}

static void
send_recert(size_t i, int w)
{
	struct buf	*p = payload();
	size_t		 k;

	if (msg_put_str(p, B.m[i].addr) != 0 ||
	    msg_put_u64(p, B.tp[w]) != 0 || msg_put_u8(p, N_IP) != 0)
		die("recert payload");
	for (k = 0; k < N_IP; k++)
		if (msg_put_fixed(p, B.bd[k / N_INTRO].intro[k % N_INTRO]
		    .auth_key_cert.certified_key, 32) != 0)
			die("recert payload");
	send_req(PROTO_RECERTIFY, p);
}

static void
send_params(size_t i, int w)
{
	struct buf	*p = payload();

	if (msg_put_str(p, B.m[i].addr) != 0 ||
	    msg_put_u64(p, B.tp[w]) != 0)
		die("params payload");
	send_req(PROTO_DESC_PARAMS, p);
}

/* The certs RECERTIFY_OK returns, in request order. */
struct certs {
	uint8_t	c09[N_IP][HS_CERT_LEN];
	uint8_t	c0b[N_IP][HS_CERT_LEN];
};

static uint32_t
recv_recert(struct certs *ce)
{
	struct msg	m;
	struct buf	cert;
	uint8_t		auth[32], n;
	uint32_t	sigs;
	size_t		k;

	recv_reply(&m, PROTO_RECERTIFY_OK);
	if (msg_get_u32(&m, &sigs) != 0 || msg_get_u8(&m, &n) != 0 ||
	    n != N_IP)
		die("RECERTIFY_OK");
	for (k = 0; k < N_IP; k++) {
		if (msg_get_fixed(&m, auth, 32) != 0 ||
		    msg_get_data(&m, &cert, HS_CERT_MAX_LEN) != 0 ||
		    buf_len(&cert) != HS_CERT_LEN)
			die("RECERTIFY_OK cert");
		memcpy(ce->c09[k], buf_ptr(&cert), HS_CERT_LEN);
		if (msg_get_data(&m, &cert, HS_CERT_MAX_LEN) != 0 ||
		    buf_len(&cert) != HS_CERT_LEN)
			die("RECERTIFY_OK cert");
		memcpy(ce->c0b[k], buf_ptr(&cert), HS_CERT_LEN);
	}
	if (msg_end(&m) != 0)
		die("RECERTIFY_OK end");
	return sigs;
}

/* DESC_PARAMS_OK in, the master body built and SIGN_DESC sent. */
static void
params_to_sign(size_t i, int w, const struct certs *ce)
{
	struct hs_desc_encode_params	 ep;
	struct hs_desc			 d;
	struct msg			 m;
	struct buf			 cert, *body, *p;
	uint8_t				 bl[32], spk[32];
	uint64_t			 rev, now;
	size_t				 k;
	double				 t0;

	recv_reply(&m, PROTO_DESC_PARAMS_OK);
	if (msg_get_fixed(&m, bl, 32) != 0 || msg_get_fixed(&m, spk, 32) !=
	    0 || msg_get_u64(&m, &rev) != 0 || msg_get_u64(&m, &now) != 0 ||
	    msg_get_data(&m, &cert, HS_CERT_MAX_LEN) != 0 ||
	    msg_end(&m) != 0 || memcmp(bl, B.m[i].bl_pk[w], 32) != 0)
		die("DESC_PARAMS_OK");
	t0 = now_s();
	hs_desc_init(&d);
	d.lifetime_min = HS_DESC_LIFETIME_DEFAULT;
	d.revision_counter = rev;
	if (hs_cert_parse(&d.signing_cert, buf_ptr(&cert),
	    buf_len(&cert)) != 0)
		die("08 cert");
	for (k = 0; k < N_IP; k++) {
		d.intro[k] = B.bd[k / N_INTRO].intro[k % N_INTRO];
		if (hs_cert_parse(&d.intro[k].auth_key_cert, ce->c09[k],
		    HS_CERT_LEN) != 0 || hs_cert_parse(
		    &d.intro[k].enc_key_cert, ce->c0b[k], HS_CERT_LEN) != 0)
			die("intro certs");
	}
	d.n_intro = N_IP;
	memset(&ep, 0, sizeof(ep));
	ep.identity_pk = B.m[i].pk;
	ep.blinded_pk = B.m[i].bl_pk[w];
	if ((body = buf_new(HS_DESC_MAX_LEN + 1)) == NULL ||
	    hs_desc_encode_body(body, &d, &ep) != 0)
		die("hs_desc_encode_body");
	hs_desc_clear(&d);
	B.t_body += now_s() - t0;
	B.body_len = buf_len(body);
	p = payload();
	if (msg_put_str(p, B.m[i].addr) != 0 ||
	    msg_put_u64(p, B.tp[w]) != 0 || msg_put_u8(p, 0) != 0 ||
	    msg_put_data(p, buf_ptr(body), buf_len(body)) != 0)
		die("sign payload");
	buf_free(body);
	send_req(PROTO_SIGN_DESC, p);
}

static void
recv_sign(void)
{
	struct msg	m;
	uint8_t		sig[64];
	uint64_t	seq;

	recv_reply(&m, PROTO_SIGN_DESC_OK);
	if (msg_get_fixed(&m, sig, 64) != 0 || msg_get_u64(&m, &seq) != 0 ||
	    msg_end(&m) != 0)
		die("SIGN_DESC_OK");
}

/*
 * One publish round over every service and both periods, BATCH services
 * in flight: what a collector does when every descriptor is due.
 */
static uint64_t
round_run(int cold)
{
	static struct certs	ce[BATCH][2];
	struct msg		m;
	size_t			i, j, n, b;
	int			w;
	uint64_t		sigs = 0;

	for (i = 0; i < B.nm; i += n) {
		n = B.nm - i < BATCH ? B.nm - i : BATCH;
		if (cold) {
			for (j = 0; j < n; j++)
				send_backends(i + j);
			for (j = 0; j < n; j++)
				for (b = 0; b < N_BACKENDS; b++)
					recv_reply(&m,
					    PROTO_BACKEND_DESC_OK);
		}
		for (j = 0; j < n; j++)
			for (w = 0; w < 2; w++)
				send_recert(i + j, w);
		for (j = 0; j < n; j++)
			for (w = 0; w < 2; w++) {
				sigs += recv_recert(&ce[j][w]);
				send_params(i + j, w);
			}
		for (j = 0; j < n; j++)
			for (w = 0; w < 2; w++)
				params_to_sign(i + j, w, &ce[j][w]);
		for (j = 0; j < n; j++)
			for (w = 0; w < 2; w++)
				recv_sign();
	}
	return sigs;
}

/* The other live period: tp - 1 early in tp, tp + 1 late. */
static uint64_t
other_live(uint64_t tp, time_t now)
{
	uint32_t	fh, lh;
	time_t		ws, we;

	if (provision_window(tp + 1, PERIOD, ROT, &fh, &lh, &ws, &we) == 0 &&
	    now >= ws + 120)
		return tp + 1;
	return tp - 1;
}

static void
setup_token(void)
{
	char	path[PATH_MAX], text[PATH_MAX * 2];

	if (getenv("OBBENCH_DIR") != NULL)
		fmt(B.dir, sizeof(B.dir), "%s", getenv("OBBENCH_DIR"));
	else
		die("OBBENCH_DIR not set");
	fmt(path, sizeof(path), "%s/tokens", B.dir);
	if (mkdir(path, 0700) != 0)
		die("%s: %s", path, strerror(errno));
	fmt(text, sizeof(text), "directories.tokendir = %s\n"
	    "objectstore.backend = file\nlog.level = ERROR\n", path);
	fmt(path, sizeof(path), "%s/softhsm2.conf", B.dir);
	write_file(path, text);
	if (setenv("SOFTHSM2_CONF", path, 1) != 0)
		die("setenv");
	if (system("softhsm2-util --init-token --free --label obbench "
	    "--pin 1234 --so-pin 5678 >/dev/null") != 0)
		die("softhsm2-util --init-token failed");
	fmt(path, sizeof(path), "%s/pin", B.dir);
	write_file(path, "1234\n");
}

static int
bench_desc(const char *bin, size_t s, unsigned rounds)
{
	struct rusage	ru;
	char		path[PATH_MAX];
	const char	*module;
	time_t		now = time(NULL);
	double		t0, t_start, t_cold, t_steady = 0, t_last;
	double		sc0, sc1, dc0, dc1, sc_steady = 0, dc_steady = 0;
	uint64_t	a0, a1, a2, rsig;
	long		hwm_cold;
	size_t		i, b;
	unsigned	r;

	setup_token();
	module = getenv("OBBENCH_MODULE") != NULL ?
	    getenv("OBBENCH_MODULE") : "/usr/lib/softhsm/libsofthsm2.so";
	fmt(B.sock, sizeof(B.sock), "%s/signer.sock", B.dir);
	fmt(B.audit, sizeof(B.audit), "%s/state/audit.log", B.dir);
	fmt(path, sizeof(path), "%s/state", B.dir);
	if (mkdir(path, 0700) != 0)
		die("%s", path);
	fmt(path, sizeof(path), "%s/id", B.dir);
	if (mkdir(path, 0700) != 0)
		die("%s", path);
	B.tp[0] = hs_time_period(now, PERIOD, ROT);
	B.tp[1] = other_live(B.tp[0], now);
	for (b = 0; b < N_BACKENDS; b++)
		backend_make(b, B.tp[0], now);
	B.nm = s;
	if ((B.m = calloc(s, sizeof(*B.m))) == NULL)
		die("calloc");
	for (i = 0; i < s; i++) {
		struct key	k;

		key_make(&k);
		memcpy(B.m[i].pk, k.pk, 32);
		memcpy(B.m[i].addr, k.addr, sizeof(k.addr));
		if (hs_blind_pubkey(B.m[i].bl_pk[0], k.pk, B.tp[0],
		    PERIOD) != 0 || hs_blind_pubkey(B.m[i].bl_pk[1], k.pk,
		    B.tp[1], PERIOD) != 0)
			die("blind");
		fmt(path, sizeof(path), "%s/id/%zu", B.dir, i);
		if (mkdir(path, 0700) != 0 ||
		    provision_identity_write(path, k.sk, k.pk) != 0)
			die("identity %s", path);
		ob_wipe(&k, sizeof(k));
	}
	conf_write(module);

	t0 = now_s();
	signer_start(bin);
	/* The socket listens before the keys are loaded and generated:
	 * HELLO_OK is the signer's first answer, so it ends the start. */
	hello();
	t_start = now_s() - t0;

	a0 = bench_audit_records();
	sc0 = proc_cpu(B.pid);
	dc0 = self_cpu();
	t0 = now_s();
	rsig = round_run(1);
	t_cold = now_s() - t0;
	sc1 = proc_cpu(B.pid);
	dc1 = self_cpu();
	a1 = bench_audit_records();
	hwm_cold = proc_hwm(B.pid);
	printf("services %zu\n", s);
	printf("descriptor_bytes %zu\n", B.body_len);
	printf("signer_start_s %.3f\n", t_start);
	printf("cold_desc %zu\n", 2 * s);
	printf("cold_s %.4f\n", t_cold);
	printf("cold_sigs %" PRIu64 "\n", a1 - a0);
	printf("cold_recert_sigs %" PRIu64 "\n", rsig);
	printf("cold_signer_hwm_kb %ld\n", hwm_cold);
	printf("cold_signer_cpu_s %.4f\n", sc1 - sc0);
	printf("cold_driver_cpu_s %.4f\n", dc1 - dc0);
	fflush(stdout);

	/*
	 * Steady state: republish with the same intro set.  The revision
	 * counter moves once a second per period, so a round starts at
	 * least 1.1 s after the previous one; only busy time is counted.
	 */
	t_last = now_s();
	for (r = 0; r < rounds; r++) {
		double	wait = t_last + 1.1 - now_s();

		if (wait > 0) {
			struct timespec	ts;

			ts.tv_sec = (time_t)wait;
			ts.tv_nsec = (long)((wait - (double)ts.tv_sec) * 1e9);
			nanosleep(&ts, NULL);
		}
		t0 = t_last = now_s();
		sc0 = proc_cpu(B.pid);
		dc0 = self_cpu();
		B.t_body = 0;
		rsig += round_run(0);
		t_steady += now_s() - t0;
		sc_steady += proc_cpu(B.pid) - sc0;
		dc_steady += self_cpu() - dc0;
	}
	a2 = bench_audit_records();
	getrusage(RUSAGE_SELF, &ru);
	printf("steady_desc %zu\n", 2 * s * rounds);
	printf("steady_s %.4f\n", t_steady);
	printf("steady_sigs %" PRIu64 "\n", a2 - a1);
	printf("steady_body_s %.4f\n", B.t_body * rounds);
	printf("steady_signer_cpu_s %.4f\n", sc_steady);
	printf("steady_driver_cpu_s %.4f\n", dc_steady);
	printf("signer_hwm_kb %ld\n", proc_hwm(B.pid));
	printf("driver_hwm_kb %ld\n", ru.ru_maxrss);
	close(B.c.fd);
	msg_conn_clear(&B.c);
	signer_stop();
	for (b = 0; b < N_BACKENDS; b++) {
		buf_free(B.bdesc[b]);
		hs_desc_clear(&B.bd[b]);
	}
	free(B.m);
	return 0;
}

/* Raw CKM_EDDSA C_Sign on a fresh key of the same kind of token. */
static int
bench_raw(double secs, size_t len)
{
	struct hsm_config	 hc;
	struct hsm		*h;
	struct hsm_key		 k;
	char			 pin[PATH_MAX];
	uint8_t			 sig[64], *msg;
	double			 t0, t;
	unsigned long		 n = 0;

	setup_token();
	fmt(pin, sizeof(pin), "file:%s/pin", B.dir);
	memset(&hc, 0, sizeof(hc));
	hc.module = getenv("OBBENCH_MODULE") != NULL ?
	    getenv("OBBENCH_MODULE") : "/usr/lib/softhsm/libsofthsm2.so";
	hc.uri = "pkcs11:token=obbench";
	hc.pin_source = pin;
	if ((msg = calloc(1, len)) == NULL || ob_random(msg, len) != 0)
		die("msg");
	if ((h = hsm_new(&hc)) == NULL || hsm_open(h) != 0 ||
	    hsm_key_generate(h, &k, "obbench-raw", "r", 1) != 0)
		die("token: %s", h != NULL ? hsm_last_error(h) : "hsm_new");
	t0 = now_s();
	do {
		if (hsm_key_sign(h, &k, sig, msg, len) != 0)
			die("sign: %s", hsm_last_error(h));
		n++;
	} while ((t = now_s() - t0) < secs);
	printf("raw_sigs %lu\nraw_s %.4f\nraw_len %zu\n", n, t, len);
	hsm_free(h);
	free(msg);
	return 0;
}

/* run.sh's timeout: never leave a signer behind. */
static void
bench_sigterm(int sig)
{
	if (B.pid > 0)
		(void)kill(B.pid, SIGKILL);
	_exit(128 + sig);
}

int
main(int argc, char **argv)
{
	struct sigaction	sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = bench_sigterm;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) == -1 ||
	    sigaction(SIGINT, &sa, NULL) == -1)
		die("sigaction");
	log_init("obbench", 1, 0);
	if (argc == 5 && strcmp(argv[1], "desc") == 0)
		return bench_desc(argv[2], strtoul(argv[3], NULL, 10),
		    (unsigned)strtoul(argv[4], NULL, 10));
	if (argc == 4 && strcmp(argv[1], "raw") == 0)
		return bench_raw(strtod(argv[2], NULL),
		    strtoul(argv[3], NULL, 10));
	fprintf(stderr, "usage: obbench desc SIGNER S ROUNDS | "
	    "obbench raw SECONDS LEN\n");
	return 2;
}
