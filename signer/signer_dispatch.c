/*
 * The signer's side of proto.h: a table of the message types a collector
 * may send, in the manner of OpenSSH's monitor (mon_table), and one
 * handler per type that reads the payload with the typed getters, asks
 * signer_policy.c, and queues the reply.  Unknown or unpermitted types,
 * and malformed payloads, close the connection.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "log.h"
#include "msg.h"
#include "proto.h"
#include "signer.h"

#define DISPATCH_PRE_HELLO	0x01	/* allowed before the handshake */
#define DISPATCH_POST_HELLO	0x02	/* allowed after it */

struct signer_handler {
	uint16_t	 type;
	int		 flags;
	int		(*fn)(struct signer *, struct signer_conn *,
			    struct msg *);
};

static int	answer_hello(struct signer *, struct signer_conn *,
		    struct msg *);
static int	answer_backend_desc(struct signer *, struct signer_conn *,
		    struct msg *);
static int	answer_recertify(struct signer *, struct signer_conn *,
		    struct msg *);
static int	answer_desc_params(struct signer *, struct signer_conn *,
		    struct msg *);
static int	answer_sign_desc(struct signer *, struct signer_conn *,
		    struct msg *);
static int	answer_status(struct signer *, struct signer_conn *,
		    struct msg *);

static const struct signer_handler signer_table[] = {
	{ PROTO_HELLO,		DISPATCH_PRE_HELLO,	answer_hello },
	{ PROTO_BACKEND_DESC,	DISPATCH_POST_HELLO,	answer_backend_desc },
	{ PROTO_RECERTIFY,	DISPATCH_POST_HELLO,	answer_recertify },
	{ PROTO_DESC_PARAMS,	DISPATCH_POST_HELLO,	answer_desc_params },
	{ PROTO_SIGN_DESC,	DISPATCH_POST_HELLO,	answer_sign_desc },
	{ PROTO_STATUS,		DISPATCH_POST_HELLO,	answer_status },
};

/* Handler results. */
#define ANSWER_OK	0	/* reply queued, keep the connection */
#define ANSWER_CLOSE	(-1)	/* reply queued, close after flushing */

void
signer_reply_error(struct signer_conn *c, uint32_t id, uint16_t reason,
    const char *detail)
{
	struct buf	*p;

	if ((p = msg_payload_new()) == NULL)
		fatal("%s", __func__);
	if (msg_error_put(p, reason, detail) != 0 ||
	    msg_conn_send(&c->mc, PROTO_ERROR, id, p) != 0)
		c->closing = 1;
	buf_free(p);
}

/* Queue a built reply; a full queue means a peer that does not read. */
static int
signer_reply(struct signer_conn *c, uint16_t type, uint32_t id,
    struct buf *p)
{
	int	r;

	r = msg_conn_send(&c->mc, type, id, p);
	buf_free(p);
	if (r != 0) {
		log_warnx("%s: peer uid %lu pid %ld: cannot queue %s: %s",
		    __func__, (unsigned long)c->peer.uid, (long)c->peer.pid,
		    msg_type_name(type), ob_strerror(r));
		return ANSWER_CLOSE;
	}
	return ANSWER_OK;
}

static int
malformed(struct signer_conn *c, struct msg *m, int r)
{
	log_warnx("peer uid %lu pid %ld: malformed %s: %s; closing",
	    (unsigned long)c->peer.uid, (long)c->peer.pid,
	    msg_type_name(m->type), ob_strerror(r));
	signer_reply_error(c, m->id, PROTO_R_MALFORMED, ob_strerror(r));
	return ANSWER_CLOSE;
}

static int
refused(struct signer_conn *c, struct msg *m, const struct signer_verdict *v)
{
	signer_reply_error(c, m->id, v->reason, v->detail);
	return ANSWER_OK;
}

int
signer_dispatch(struct signer *sg, struct signer_conn *c, struct msg *m)
{
	const struct signer_handler	*h = NULL;
	char				 why[128];
	size_t				 i;

	for (i = 0; i < sizeof(signer_table) / sizeof(signer_table[0]); i++)
		if (signer_table[i].type == m->type) {
			h = &signer_table[i];
			break;
		}
	if (h == NULL) {
		(void)snprintf(why, sizeof(why), "message type 0x%04x",
		    m->type);
		log_warnx("peer uid %lu pid %ld: unknown %s; closing",
		    (unsigned long)c->peer.uid, (long)c->peer.pid, why);
		signer_reply_error(c, m->id, PROTO_R_UNKNOWN_TYPE, why);
		return ANSWER_CLOSE;
	}
	if (!(h->flags & (c->hello ? DISPATCH_POST_HELLO :
	    DISPATCH_PRE_HELLO))) {
		(void)snprintf(why, sizeof(why), "%s not permitted %s",
		    msg_type_name(m->type), c->hello ? "after HELLO" :
		    "before HELLO");
		log_warnx("peer uid %lu pid %ld: %s; closing",
		    (unsigned long)c->peer.uid, (long)c->peer.pid, why);
		signer_reply_error(c, m->id, PROTO_R_NOT_PERMITTED, why);
		return ANSWER_CLOSE;
	}
	log_debug("peer uid %lu pid %ld: %s id %" PRIu32,
	    (unsigned long)c->peer.uid, (long)c->peer.pid,
	    msg_type_name(m->type), m->id);
	return h->fn(sg, c, m);
}

static int
answer_hello(struct signer *sg, struct signer_conn *c, struct msg *m)
{
	struct buf	*p;
	uint32_t	 version;
	uint8_t		 role;
	char		 why[128];
	int		 r;

	if ((r = msg_get_u32(m, &version)) != 0 ||
	    (r = msg_get_u8(m, &role)) != 0 ||
	    (r = msg_get_str(m, c->name, sizeof(c->name))) != 0 ||
	    (r = msg_end(m)) != 0)
		return malformed(c, m, r);
	if (version != PROTO_VERSION) {
		(void)snprintf(why, sizeof(why), "protocol version %" PRIu32
		    " (this signer speaks %d)", version, PROTO_VERSION);
		log_warnx("peer uid %lu pid %ld: %s; closing",
		    (unsigned long)c->peer.uid, (long)c->peer.pid, why);
		signer_reply_error(c, m->id, PROTO_R_VERSION, why);
		return ANSWER_CLOSE;
	}
	if (role != PROTO_ROLE_COLLECTOR) {
		signer_reply_error(c, m->id, PROTO_R_ROLE, "not a collector");
		return ANSWER_CLOSE;
	}
	c->hello = 1;
	log_info("collector \"%s\" (uid %lu pid %ld) connected", c->name,
	    (unsigned long)c->peer.uid, (long)c->peer.pid);
	if ((p = msg_payload_new()) == NULL)
		fatal("%s", __func__);
	if (msg_put_u32(p, PROTO_VERSION) != 0 ||
	    msg_put_u8(p, PROTO_ROLE_SIGNER) != 0 ||
	    msg_put_u32(p, PROTO_MAX_PAYLOAD) != 0 ||
	    msg_put_u32(p, (uint32_t)sg->conf->period_len) != 0 ||
	    msg_put_u32(p, (uint32_t)sg->conf->rot_offset) != 0 ||
	    msg_put_u8(p, (uint8_t)sg->conf->icert_mode) != 0)
		fatal("%s: payload", __func__);
	return signer_reply(c, PROTO_HELLO_OK, m->id, p);
}

static int
answer_backend_desc(struct signer *sg, struct signer_conn *c, struct msg *m)
{
	struct signer_verdict		 v;
	const struct signer_intro	*in[HS_DESC_MAX_INTRO];
	struct buf			 desc, *p;
	char				 service[PROTO_STR_MAX + 1];
	char				 backend[PROTO_STR_MAX + 1];
	uint64_t			 tp, rev = 0;
	size_t				 i, n, skipped;
	int				 r;

	if ((r = msg_get_str(m, service, sizeof(service))) != 0 ||
	    (r = msg_get_str(m, backend, sizeof(backend))) != 0 ||
	    (r = msg_get_u64(m, &tp)) != 0 ||
	    (r = msg_get_data(m, &desc, PROTO_DESC_MAX)) != 0 ||
	    (r = msg_end(m)) != 0)
		return malformed(c, m, r);
	memset(&v, 0, sizeof(v));
	if (signer_backend_desc(sg, &v, service, backend, tp, buf_ptr(&desc),
	    buf_len(&desc), &rev, in, &n, &skipped) == -1)
		return refused(c, m, &v);
	if ((p = msg_payload_new()) == NULL)
		fatal("%s", __func__);
	if (msg_put_u64(p, rev) != 0 ||
	    msg_put_u8(p, (uint8_t)(skipped > 255 ? 255 : skipped)) != 0 ||
	    msg_put_u8(p, (uint8_t)n) != 0)
		fatal("%s: payload", __func__);
	for (i = 0; i < n; i++)
		if (msg_put_fixed(p, in[i]->auth_key, ED25519_PK_LEN) != 0 ||
		    msg_put_fixed(p, in[i]->enc_key, X25519_KEY_LEN) != 0 ||
		    msg_put_data(p, in[i]->linkspec,
		    in[i]->linkspec_len) != 0)
			fatal("%s: payload", __func__);
	return signer_reply(c, PROTO_BACKEND_DESC_OK, m->id, p);
}

static int
answer_recertify(struct signer *sg, struct signer_conn *c, struct msg *m)
{
	struct signer_verdict		 v;
	struct signer_icert		 out[PROTO_MAX_INTRO];
	uint8_t				 auth[PROTO_MAX_INTRO][ED25519_PK_LEN];
	struct buf			*p;
	char				 service[PROTO_STR_MAX + 1];
	uint64_t			 tp;
	uint32_t			 sigs = 0;
	uint8_t				 n, i;
	int				 r;

	if ((r = msg_get_str(m, service, sizeof(service))) != 0 ||
	    (r = msg_get_u64(m, &tp)) != 0 ||
	    (r = msg_get_u8(m, &n)) != 0)
		return malformed(c, m, r);
	if (n == 0 || n > PROTO_MAX_INTRO)
		return malformed(c, m, OB_ERR_RANGE);
	for (i = 0; i < n; i++)
		if ((r = msg_get_fixed(m, auth[i], ED25519_PK_LEN)) != 0)
			return malformed(c, m, r);
	if ((r = msg_end(m)) != 0)
		return malformed(c, m, r);
	memset(&v, 0, sizeof(v));
	if (signer_recertify(sg, &v, &c->peer, service, tp,
	    (const uint8_t (*)[ED25519_PK_LEN])auth, n, out, &sigs) == -1)
		return refused(c, m, &v);
	if ((p = msg_payload_new()) == NULL)
		fatal("%s", __func__);
	if (msg_put_u32(p, sigs) != 0 || msg_put_u8(p, n) != 0)
		fatal("%s: payload", __func__);
	for (i = 0; i < n; i++)
		if (msg_put_fixed(p, out[i].auth_key, ED25519_PK_LEN) != 0 ||
		    msg_put_data(p, out[i].cert09, HS_CERT_LEN) != 0 ||
		    msg_put_data(p, out[i].cert0b, HS_CERT_LEN) != 0)
			fatal("%s: payload", __func__);
	return signer_reply(c, PROTO_RECERTIFY_OK, m->id, p);
}

static int
answer_desc_params(struct signer *sg, struct signer_conn *c, struct msg *m)
{
	struct signer_verdict	 v;
	struct buf		*p;
	uint8_t			 cert[HS_CERT_LEN];
	uint8_t			 blinded[ED25519_PK_LEN];
	uint8_t			 signing[ED25519_PK_LEN];
	char			 service[PROTO_STR_MAX + 1];
	uint64_t		 tp, rev = 0;
	int			 r;

	if ((r = msg_get_str(m, service, sizeof(service))) != 0 ||
	    (r = msg_get_u64(m, &tp)) != 0 ||
	    (r = msg_end(m)) != 0)
		return malformed(c, m, r);
	memset(&v, 0, sizeof(v));
	if (signer_desc_params(sg, &v, service, tp, blinded, signing, &rev,
	    cert) == -1)
		return refused(c, m, &v);
	if ((p = msg_payload_new()) == NULL)
		fatal("%s", __func__);
	if (msg_put_fixed(p, blinded, sizeof(blinded)) != 0 ||
	    msg_put_fixed(p, signing, sizeof(signing)) != 0 ||
	    msg_put_u64(p, rev) != 0 ||
	    msg_put_u64(p, (uint64_t)time(NULL)) != 0 ||
	    msg_put_data(p, cert, HS_CERT_LEN) != 0)
		fatal("%s: payload", __func__);
	return signer_reply(c, PROTO_DESC_PARAMS_OK, m->id, p);
}

static int
answer_sign_desc(struct signer *sg, struct signer_conn *c, struct msg *m)
{
	struct signer_verdict	 v;
	struct buf		 body, *p;
	char			 service[PROTO_STR_MAX + 1];
	uint8_t			 client_sk[X25519_KEY_LEN];
	uint8_t			 sig[ED25519_SIG_LEN];
	uint64_t		 tp, seq = 0;
	uint8_t			 has_sk;
	int			 r;

	if ((r = msg_get_str(m, service, sizeof(service))) != 0 ||
	    (r = msg_get_u64(m, &tp)) != 0 ||
	    (r = msg_get_u8(m, &has_sk)) != 0)
		return malformed(c, m, r);
	if (has_sk > 1)
		return malformed(c, m, OB_ERR_RANGE);
	if (has_sk && (r = msg_get_fixed(m, client_sk,
	    sizeof(client_sk))) != 0)
		return malformed(c, m, r);
	if ((r = msg_get_data(m, &body, PROTO_DESC_MAX)) != 0 ||
	    (r = msg_end(m)) != 0) {
		ob_wipe(client_sk, sizeof(client_sk));
		return malformed(c, m, r);
	}
	memset(&v, 0, sizeof(v));
	r = signer_sign_desc(sg, &v, &c->peer, service, tp,
	    has_sk ? client_sk : NULL, buf_ptr(&body), buf_len(&body), sig,
	    &seq);
	ob_wipe(client_sk, sizeof(client_sk));
	if (r == -1)
		return refused(c, m, &v);
	if ((p = msg_payload_new()) == NULL)
		fatal("%s", __func__);
	if (msg_put_fixed(p, sig, sizeof(sig)) != 0 ||
	    msg_put_u64(p, seq) != 0)
		fatal("%s: payload", __func__);
	return signer_reply(c, PROTO_SIGN_DESC_OK, m->id, p);
}

static int
answer_status(struct signer *sg, struct signer_conn *c, struct msg *m)
{
	struct buf	*p;
	char		 warning[PROTO_STR_MAX + 1];
	uint64_t	 horizon;
	uint32_t	 first = 0;
	size_t		 i, n;
	int		 r, state;

	/* The page's first index is optional: absent means 0. */
	if (buf_len(&m->body) > 0 &&
	    (r = msg_get_u32(m, &first)) != 0)
		return malformed(c, m, r);
	if ((r = msg_end(m)) != 0)
		return malformed(c, m, r);
	if (first > sg->nservices)
		first = (uint32_t)sg->nservices;
	n = sg->nservices - first;
	if (n > PROTO_STATUS_PAGE)
		n = PROTO_STATUS_PAGE;
	if ((p = msg_payload_new()) == NULL)
		fatal("%s", __func__);
	if (msg_put_u64(p, (uint64_t)time(NULL)) != 0 ||
	    msg_put_u64(p, sg->token_sigs) != 0 ||
	    msg_put_u32(p, (uint32_t)sg->nservices) != 0 ||
	    msg_put_u32(p, first) != 0 ||
	    msg_put_u16(p, (uint16_t)n) != 0)
		fatal("%s: payload", __func__);
	for (i = first; i < first + n; i++) {
		state = signer_horizon(sg, &sg->services[i], &horizon,
		    warning, sizeof(warning));
		if (state != PROTO_HORIZON_OK)
			log_warnx("%s", warning);
		if (msg_put_str(p, sg->services[i].conf->address) != 0 ||
		    msg_put_u8(p, (uint8_t)state) != 0 ||
		    msg_put_u64(p, horizon) != 0 ||
		    msg_put_str(p, warning) != 0)
			fatal("%s: payload", __func__);
	}
	return signer_reply(c, PROTO_STATUS_OK, m->id, p);
}
