/*
 * The collector's side of the signer protocol (common/proto.h): one
 * non-blocking connection driven by the poll() loop, and one stub per
 * signer handler (sc_backend_desc reaches the signer's BACKEND_DESC
 * handler, and so on), as OpenSSH's mm_* stubs mirror mm_answer_*.
 *
 * Each request carries an id and a deadline.  The signer answers in
 * order; a reply with an unexpected id, a malformed reply or a timeout
 * means the two processes are out of step, so the connection is dropped,
 * every pending request fails, and a new connection is made after a
 * back-off.  Replies are parsed here, with msg.h's typed getters, into
 * struct sc_reply: nothing outside this file reads the wire.
 *
 * The connection's output queue is capped (MSG_OUTQ_MAX, a few full
 * messages), while a hosting collector may have dozens of publish jobs
 * and backend descriptors bound for the signer at once.  A request that
 * does not fit is held here, in order, and sent as the queue drains:
 * callers see a full queue as latency, never as a failure.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "collector.h"
#include "err.h"
#include "log.h"
#include "msg.h"
#include "proto.h"

#define SC_MAX_PENDING	4096
/* Held requests: bounded by the callers' own concurrency (publish jobs,
 * the verify pass), capped here so a stalled signer cannot grow it. */
#define SC_HELD_MAX	(256 * (PROTO_HDR_LEN + PROTO_MAX_PAYLOAD))
#define SC_BACKOFF_MIN	1000	/* ms */
#define SC_BACKOFF_MAX	30000

struct sc_req {
	uint32_t	 id;
	uint16_t	 want;		/* expected *_OK type */
	int64_t		 deadline;	/* ms, monotonic */
	sc_cb		*cb;
	void		*arg;
	uint16_t	 type;
	struct buf	*held;		/* not in the output queue yet */
};

struct signer_client {
	char		*path;
	int		 timeout_ms;
	struct msg_conn	 conn;
	int		 connected;
	int		 ready;		/* HELLO_OK seen */
	int		 warned;	/* connect failure logged */
	int64_t		 retry_at;
	int		 backoff;
	uint32_t	 next_id;
	struct sc_req	*pending;	/* FIFO; the held ones at its end */
	size_t		 npending;
	size_t		 nheld;
	size_t		 held_bytes;
	struct sc_hello	 hello;
	uint64_t	 requests, failures;
};

static int64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct signer_client *
sc_new(const char *path, unsigned timeout_s)
{
	struct signer_client	*sc;

	if ((sc = calloc(1, sizeof(*sc))) == NULL)
		return NULL;
	if ((sc->path = strdup(path)) == NULL ||
	    (sc->pending = calloc(SC_MAX_PENDING,
	    sizeof(*sc->pending))) == NULL) {
		free(sc->path);
		free(sc);
		return NULL;
	}
	sc->conn.fd = -1;
	sc->timeout_ms = (int)timeout_s * 1000;
	sc->backoff = SC_BACKOFF_MIN;
	sc->next_id = 1;
	return sc;
}

static void
fail_all(struct signer_client *sc, const char *why)
{
	struct sc_reply	r;
	size_t		i, n = sc->npending;
	struct sc_req	*copy;

	if (n == 0)
		return;
	/* Callbacks may send new requests: detach the queue first. */
	if ((copy = calloc(n, sizeof(*copy))) == NULL)
		fatal("%s", __func__);
	memcpy(copy, sc->pending, n * sizeof(*copy));
	sc->npending = sc->nheld = sc->held_bytes = 0;
	for (i = 0; i < n; i++) {
		buf_free(copy[i].held);		/* wipes */
		memset(&r, 0, sizeof(r));
		r.ok = 0;
		r.reason = 0;
		(void)snprintf(r.detail, sizeof(r.detail), "%s", why);
		sc->failures++;
		copy[i].cb(&r, copy[i].arg);
	}
	free(copy);
}

static void
sc_close(struct signer_client *sc, const char *why)
{
	if (sc->connected) {
		log_warnx("signer connection lost: %s", why);
		msg_conn_clear(&sc->conn);
		close(sc->conn.fd);
	}
	sc->conn.fd = -1;
	sc->connected = sc->ready = 0;
	sc->retry_at = now_ms() + sc->backoff;
	sc->backoff = sc->backoff * 2 > SC_BACKOFF_MAX ? SC_BACKOFF_MAX :
	    sc->backoff * 2;
	fail_all(sc, why);
}

void
sc_free(struct signer_client *sc)
{
	if (sc == NULL)
		return;
	sc_close(sc, "shutting down");
	free(sc->pending);
	free(sc->path);
	free(sc);
}

/* Send held requests, oldest first, while the output queue has room. */
static int
sc_flush_held(struct signer_client *sc)
{
	struct sc_req	*q;
	int		 e;

	while (sc->nheld > 0) {
		q = &sc->pending[sc->npending - sc->nheld];
		e = msg_conn_send(&sc->conn, q->type, q->id, q->held);
		if (e == OB_ERR_TOO_LARGE)
			return 0;		/* still full */
		if (e != 0) {
			log_warnx("%s: %s: %s", __func__,
			    msg_type_name(q->type), ob_strerror(e));
			return -1;
		}
		sc->held_bytes -= buf_len(q->held);
		buf_free(q->held);
		q->held = NULL;
		q->deadline = now_ms() + sc->timeout_ms;
		sc->nheld--;
	}
	return 0;
}

static int
sc_queue(struct signer_client *sc, uint16_t type, uint16_t want,
    const struct buf *payload, sc_cb *cb, void *arg)
{
	struct sc_req	*q;
	size_t		 len = payload != NULL ? buf_len(payload) : 0;
	int		 e = OB_ERR_TOO_LARGE;

	if (!sc->connected)
		return -1;
	if (sc->npending == SC_MAX_PENDING) {
		log_warnx("%s: too many requests in flight", __func__);
		return -1;
	}
	if (len > PROTO_MAX_PAYLOAD) {
		log_warnx("%s: %s: %s", __func__, msg_type_name(type),
		    ob_strerror(OB_ERR_TOO_LARGE));
		return -1;
	}
	q = &sc->pending[sc->npending];
	memset(q, 0, sizeof(*q));
	q->id = sc->next_id;
	q->want = want;
	q->type = type;
	q->deadline = now_ms() + sc->timeout_ms;
	q->cb = cb;
	q->arg = arg;
	/* Behind held requests, or into the queue if it has room. */
	if (sc->nheld == 0 &&
	    (e = msg_conn_send(&sc->conn, type, q->id, payload)) != 0 &&
	    e != OB_ERR_TOO_LARGE) {
		log_warnx("%s: %s: %s", __func__, msg_type_name(type),
		    ob_strerror(e));
		return -1;
	}
	if (e == OB_ERR_TOO_LARGE) {
		if (sc->held_bytes + len > SC_HELD_MAX) {
			log_warnx("%s: %s: the signer is not reading; %zu "
			    "requests held", __func__, msg_type_name(type),
			    sc->nheld);
			return -1;
		}
		if ((q->held = msg_payload_new()) == NULL ||
		    (len > 0 && buf_put(q->held, buf_ptr(payload), len) !=
		    0)) {
			buf_free(q->held);
			q->held = NULL;
			log_warnx("%s: out of memory", __func__);
			return -1;
		}
		sc->nheld++;
		sc->held_bytes += len;
	}
	if (++sc->next_id == 0)
		sc->next_id = 1;
	sc->npending++;
	sc->requests++;
	return 0;
}

static void hello_cb(const struct sc_reply *, void *);

static int
sc_connect(struct signer_client *sc)
{
	struct sockaddr_un	 sun;
	struct buf		*p = NULL;
	char			 name[64];
	int			 fd, e;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(sc->path) >= sizeof(sun.sun_path)) {
		log_warnx("%s: socket path too long", sc->path);
		return -1;
	}
	memcpy(sun.sun_path, sc->path, strlen(sc->path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		log_warn("%s: socket", __func__);
		return -1;
	}
	/* A Unix stream connect completes at once or fails. */
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		/* Once per outage, not once per retry. */
		if (!sc->warned)
			log_warn("signer %s (retrying)", sc->path);
		sc->warned = 1;
		close(fd);
		return -1;
	}
	sc->warned = 0;
	if (msg_conn_init(&sc->conn, fd) != 0) {
		close(fd);
		return -1;
	}
	sc->conn.fd = fd;
	sc->connected = 1;
	(void)snprintf(name, sizeof(name), "obhsm-collector:%ld",
	    (long)getpid());
	if ((p = msg_payload_new()) == NULL ||
	    (e = msg_put_u32(p, PROTO_VERSION)) != 0 ||
	    (e = msg_put_u8(p, PROTO_ROLE_COLLECTOR)) != 0 ||
	    (e = msg_put_str(p, name)) != 0 ||
	    sc_queue(sc, PROTO_HELLO, PROTO_HELLO_OK, p, hello_cb, sc) != 0) {
		buf_free(p);
		sc_close(sc, "cannot send HELLO");
		return -1;
	}
	buf_free(p);
	return 0;
}

static void
hello_cb(const struct sc_reply *r, void *arg)
{
	struct signer_client	*sc = arg;

	if (!r->ok) {
		log_warnx("signer refused HELLO: %s", r->detail);
		return;
	}
	sc->hello = r->u.hello;
	sc->ready = 1;
	sc->backoff = SC_BACKOFF_MIN;
	log_info("signer ready (period %u min, offset %u min, intro certs "
	    "%s)", sc->hello.period_len, sc->hello.rot_offset,
	    sc->hello.icert_mode == PROTO_ICERT_HOURLY ? "hourly" :
	    "per period");
}

int
sc_ready(const struct signer_client *sc)
{
	return sc->ready;
}

const struct sc_hello *
sc_hello_info(const struct signer_client *sc)
{
	return sc->ready ? &sc->hello : NULL;
}

void
sc_stats(const struct signer_client *sc, uint64_t *req, uint64_t *fail,
    size_t *pending)
{
	*req = sc->requests;
	*fail = sc->failures;
	*pending = sc->npending;
}

void
sc_pollfd(struct signer_client *sc, struct pollfd *pfd)
{
	if (!sc->connected && now_ms() >= sc->retry_at &&
	    sc_connect(sc) != 0 && !sc->connected) {
		sc->retry_at = now_ms() + sc->backoff;
		sc->backoff = sc->backoff * 2 > SC_BACKOFF_MAX ?
		    SC_BACKOFF_MAX : sc->backoff * 2;
	}
	pfd->fd = sc->connected ? sc->conn.fd : -1;
	pfd->events = POLLIN;
	if (sc->connected && msg_conn_pending(&sc->conn) > 0)
		pfd->events |= POLLOUT;
	pfd->revents = 0;
}

int
sc_timeout(const struct signer_client *sc)
{
	int64_t	t, now = now_ms();

	if (!sc->connected)
		t = sc->retry_at - now;
	else if (sc->npending > 0)
		t = sc->pending[0].deadline - now;
	else
		return -1;
	return t < 0 ? 0 : (int)(t > 60000 ? 60000 : t);
}

/* Parse one *_OK payload into r; 0 or a negative enum ob_err. */
static int
parse_ok(struct sc_reply *r, struct msg *m)
{
	struct buf	v;
	uint8_t		n, i, role;
	uint16_t	n16;
	uint32_t	u32;
	int		e;

	switch (m->type) {
	case PROTO_HELLO_OK:
		if ((e = msg_get_u32(m, &u32)) != 0 ||
		    (e = msg_get_u8(m, &role)) != 0 ||
		    (e = msg_get_u32(m, &r->u.hello.max_payload)) != 0 ||
		    (e = msg_get_u32(m, &r->u.hello.period_len)) != 0 ||
		    (e = msg_get_u32(m, &r->u.hello.rot_offset)) != 0 ||
		    (e = msg_get_u8(m, &r->u.hello.icert_mode)) != 0)
			return e;
		if (u32 != PROTO_VERSION)
			return OB_ERR_VERSION;
		if (role != PROTO_ROLE_SIGNER)
			return OB_ERR_MISMATCH;
		break;
	case PROTO_BACKEND_DESC_OK:
		if ((e = msg_get_u64(m, &r->u.bdesc.revision)) != 0 ||
		    (e = msg_get_u8(m, &r->u.bdesc.n_skipped)) != 0 ||
		    (e = msg_get_u8(m, &n)) != 0)
			return e;
		if (n > PROTO_MAX_INTRO)
			return OB_ERR_LIMIT;
		for (i = 0; i < n; i++) {
			struct sc_intro *ip = &r->u.bdesc.intro[i];

			if ((e = msg_get_fixed(m, ip->auth_key, 32)) != 0 ||
			    (e = msg_get_fixed(m, ip->enc_key, 32)) != 0 ||
			    (e = msg_get_data(m, &v,
			    HS_LINKSPEC_MAX_LEN)) != 0 ||
			    (e = buf_get_bytes(&v, ip->linkspec,
			    buf_len(&v))) != 0)
				return e;
			ip->linkspec_len = buf_len(&v);
		}
		r->u.bdesc.n = n;
		break;
	case PROTO_RECERTIFY_OK:
		if ((e = msg_get_u32(m, &r->u.recert.token_sigs)) != 0 ||
		    (e = msg_get_u8(m, &n)) != 0)
			return e;
		if (n > PROTO_MAX_INTRO)
			return OB_ERR_LIMIT;
		for (i = 0; i < n; i++) {
			struct sc_icert *c = &r->u.recert.cert[i];

			if ((e = msg_get_fixed(m, c->auth_key, 32)) != 0 ||
			    (e = msg_get_data(m, &v, HS_CERT_MAX_LEN)) != 0 ||
			    (e = hs_cert_parse(&c->auth_cert, buf_ptr(&v),
			    buf_len(&v))) != 0 ||
			    (e = msg_get_data(m, &v, HS_CERT_MAX_LEN)) != 0 ||
			    (e = hs_cert_parse(&c->enc_cert, buf_ptr(&v),
			    buf_len(&v))) != 0)
				return e;
		}
		r->u.recert.n = n;
		break;
	case PROTO_DESC_PARAMS_OK:
		if ((e = msg_get_fixed(m, r->u.params.blinded_pk, 32)) != 0 ||
		    (e = msg_get_fixed(m, r->u.params.signing_pk, 32)) != 0 ||
		    (e = msg_get_u64(m, &r->u.params.revision)) != 0 ||
		    (e = msg_get_u64(m, &r->u.params.now)) != 0 ||
		    (e = msg_get_data(m, &v, HS_CERT_MAX_LEN)) != 0 ||
		    (e = hs_cert_parse(&r->u.params.cert, buf_ptr(&v),
		    buf_len(&v))) != 0)
			return e;
		break;
	case PROTO_SIGN_DESC_OK:
		if ((e = msg_get_fixed(m, r->u.sig.signature,
		    ED25519_SIG_LEN)) != 0 ||
		    (e = msg_get_u64(m, &r->u.sig.audit_seq)) != 0)
			return e;
		break;
	case PROTO_STATUS_OK:
		if ((e = msg_get_u64(m, &r->u.status.now)) != 0 ||
		    (e = msg_get_u64(m, &r->u.status.token_sigs)) != 0 ||
		    (e = msg_get_u32(m, &r->u.status.total)) != 0 ||
		    (e = msg_get_u32(m, &r->u.status.first)) != 0 ||
		    (e = msg_get_u16(m, &n16)) != 0)
			return e;
		if (n16 > PROTO_STATUS_PAGE ||
		    (uint64_t)r->u.status.first + n16 > r->u.status.total)
			return OB_ERR_RANGE;
		for (i = 0; i < n16; i++) {
			struct sc_horizon *h = &r->u.status.svc[i];

			if ((e = msg_get_str(m, h->service,
			    sizeof(h->service))) != 0 ||
			    (e = msg_get_u8(m, &h->state)) != 0 ||
			    (e = msg_get_u64(m, &h->horizon)) != 0 ||
			    (e = msg_get_str(m, h->warning,
			    sizeof(h->warning))) != 0)
				return e;
		}
		r->u.status.n = n16;
		break;
	default:
		return OB_ERR_FORMAT;
	}
	return msg_end(m);
}

/* The request already left the queue: fail it here, then the session
 * (the caller closes it, which fails the rest). */
static int
handle_fail(struct signer_client *sc, const struct sc_req *q,
    struct sc_reply *r, const char *why)
{
	memset(r, 0, sizeof(*r));
	(void)snprintf(r->detail, sizeof(r->detail), "%s", why);
	sc->failures++;
	q->cb(r, q->arg);
	free(r);
	return -1;
}

/*
 * Lead the signer's detail with its reason's name ("horizon: ..."), as
 * the signer's own log does ("refused (horizon): ..."): the detail
 * alone says what the signer saw, the name says which rule refused, and
 * every caller passes the detail on to the log and the status.  Cut
 * short if it must be: it is for people to read.
 */
static void
reason_prefix(struct sc_reply *r)
{
	char	detail[sizeof(r->detail)];

	memcpy(detail, r->detail, sizeof(detail));
	detail[sizeof(detail) - 1] = '\0';
	if (snprintf(r->detail, sizeof(r->detail), "%s%s%.*s",
	    msg_reason_name(r->reason), detail[0] != '\0' ? ": " : "",
	    (int)(sizeof(detail) - 1), detail) < 0)
		r->detail[0] = '\0';
}

/* 0, or -1 when the connection must go. */
static int
handle(struct signer_client *sc, struct msg *m)
{
	struct sc_req	 q;
	struct sc_reply	*r;
	uint16_t	 reason;
	int		 e;

	/* A held request was never sent: no reply can be its own. */
	if (sc->npending == 0 || m->id != sc->pending[0].id ||
	    sc->pending[0].held != NULL) {
		log_warnx("signer: unexpected reply %s id %u",
		    msg_type_name(m->type), m->id);
		return -1;
	}
	q = sc->pending[0];
	sc->npending--;
	memmove(sc->pending, sc->pending + 1,
	    sc->npending * sizeof(*sc->pending));
	if ((r = calloc(1, sizeof(*r))) == NULL)
		fatal("%s", __func__);
	if (m->type == PROTO_ERROR) {
		if ((e = msg_error_get(m, &r->reason, r->detail,
		    sizeof(r->detail))) != 0) {
			log_warnx("signer: malformed ERROR: %s",
			    ob_strerror(e));
			return handle_fail(sc, &q, r, "malformed reply");
		}
		sc->failures++;
		r->ok = 0;
		reason = r->reason;
		reason_prefix(r);
		q.cb(r, q.arg);
		free(r);
		/* Errors that end the session close it on the signer side;
		 * mirror that here. */
		return reason < PROTO_R_SERVICE ? -1 : 0;
	}
	if (m->type != q.want) {
		log_warnx("signer: %s in reply to a request for %s",
		    msg_type_name(m->type), msg_type_name(q.want));
		return handle_fail(sc, &q, r, "unexpected reply");
	}
	if ((e = parse_ok(r, m)) != 0) {
		log_warnx("signer: malformed %s: %s", msg_type_name(m->type),
		    ob_strerror(e));
		return handle_fail(sc, &q, r, "malformed reply");
	}
	r->ok = 1;
	q.cb(r, q.arg);
	free(r);
	return 0;
}

void
sc_process(struct signer_client *sc, short revents)
{
	struct msg	m;
	int		r;

	if (!sc->connected)
		return;
	if (revents & (POLLIN | POLLHUP | POLLERR)) {
		for (;;) {
			r = msg_conn_read(&sc->conn);
			if (r == 0) {
				sc_close(sc, "signer closed the connection");
				return;
			}
			if (r < 0) {
				sc_close(sc, strerror(errno));
				return;
			}
			while ((r = msg_conn_next(&sc->conn, &m)) == 1) {
				if (handle(sc, &m) != 0) {
					sc_close(sc, "protocol error");
					return;
				}
				if (!sc->connected)
					return;
			}
			if (r < 0) {
				sc_close(sc, ob_strerror(r));
				return;
			}
			/* Read more only if the buffer was drained full. */
			if (!(revents & POLLIN))
				break;
			revents &= ~POLLIN;
		}
	}
	if (msg_conn_pending(&sc->conn) > 0 && msg_conn_write(&sc->conn) ==
	    -1) {
		sc_close(sc, strerror(errno));
		return;
	}
	if (sc->nheld > 0 && sc_flush_held(sc) != 0) {
		sc_close(sc, "cannot queue a held request");
		return;
	}
	if (sc->npending > 0 && now_ms() >= sc->pending[0].deadline)
		sc_close(sc, "request timed out");
}

int
sc_backend_desc(struct signer_client *sc, const char *service,
    const char *backend, uint64_t tp, const uint8_t *desc, size_t len,
    sc_cb *cb, void *arg)
{
	struct buf	*p;
	int		 r = -1;

	if (!sc->ready || (p = msg_payload_new()) == NULL)
		return -1;
	if (msg_put_str(p, service) == 0 && msg_put_str(p, backend) == 0 &&
	    msg_put_u64(p, tp) == 0 && msg_put_data(p, desc, len) == 0)
		r = sc_queue(sc, PROTO_BACKEND_DESC, PROTO_BACKEND_DESC_OK, p,
		    cb, arg);
	buf_free(p);
	return r;
}

int
sc_recertify(struct signer_client *sc, const char *service, uint64_t tp,
    const uint8_t (*keys)[ED25519_PK_LEN], size_t n, sc_cb *cb, void *arg)
{
	struct buf	*p;
	size_t		 i;
	int		 r = -1;

	if (!sc->ready || n == 0 || n > PROTO_MAX_INTRO ||
	    (p = msg_payload_new()) == NULL)
		return -1;
	if (msg_put_str(p, service) != 0 || msg_put_u64(p, tp) != 0 ||
	    msg_put_u8(p, (uint8_t)n) != 0)
		goto out;
	for (i = 0; i < n; i++)
		if (msg_put_fixed(p, keys[i], ED25519_PK_LEN) != 0)
			goto out;
	r = sc_queue(sc, PROTO_RECERTIFY, PROTO_RECERTIFY_OK, p, cb, arg);
 out:
	buf_free(p);
	return r;
}

int
sc_desc_params(struct signer_client *sc, const char *service, uint64_t tp,
    sc_cb *cb, void *arg)
{
	struct buf	*p;
	int		 r = -1;

	if (!sc->ready || (p = msg_payload_new()) == NULL)
		return -1;
	if (msg_put_str(p, service) == 0 && msg_put_u64(p, tp) == 0)
		r = sc_queue(sc, PROTO_DESC_PARAMS, PROTO_DESC_PARAMS_OK, p,
		    cb, arg);
	buf_free(p);
	return r;
}

int
sc_sign_desc(struct signer_client *sc, const char *service, uint64_t tp,
    const uint8_t *client_sk, const uint8_t *body, size_t len, sc_cb *cb,
    void *arg)
{
	struct buf	*p;
	int		 r = -1;

	if (!sc->ready || (p = msg_payload_new()) == NULL)
		return -1;
	if (msg_put_str(p, service) != 0 || msg_put_u64(p, tp) != 0 ||
	    msg_put_u8(p, client_sk != NULL) != 0)
		goto out;
	if (client_sk != NULL &&
	    msg_put_fixed(p, client_sk, X25519_KEY_LEN) != 0)
		goto out;
	if (msg_put_data(p, body, len) != 0)
		goto out;
	r = sc_queue(sc, PROTO_SIGN_DESC, PROTO_SIGN_DESC_OK, p, cb, arg);
 out:
	buf_free(p);	/* wipes the client secret */
	return r;
}

int
sc_status(struct signer_client *sc, uint32_t first, sc_cb *cb, void *arg)
{
	struct buf	*p;
	int		 r;

	if (!sc->ready)
		return -1;
	if ((p = msg_payload_new()) == NULL)
		return -1;
	if (msg_put_u32(p, first) != 0) {
		buf_free(p);
		return -1;
	}
	r = sc_queue(sc, PROTO_STATUS, PROTO_STATUS_OK, p, cb, arg);
	buf_free(p);
	return r;
}
