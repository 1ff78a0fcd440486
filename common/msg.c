/* Framing and typed fields for proto.h; see msg.h for the contract. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "buf.h"
#include "err.h"
#include "msg.h"
#include "proto.h"

#define MSG_IN_CAP	(PROTO_HDR_LEN + PROTO_MAX_PAYLOAD)

struct buf *
msg_payload_new(void)
{
	return buf_new(PROTO_MAX_PAYLOAD);
}

int
msg_put_u8(struct buf *b, uint8_t v)
{
	return buf_put_u8(b, v);
}

int
msg_put_u16(struct buf *b, uint16_t v)
{
	return buf_put_u16(b, v);
}

int
msg_put_u32(struct buf *b, uint32_t v)
{
	return buf_put_u32(b, v);
}

int
msg_put_u64(struct buf *b, uint64_t v)
{
	return buf_put_u64(b, v);
}

int
msg_put_fixed(struct buf *b, const void *p, size_t n)
{
	return buf_put(b, p, n);
}

static int
msg_str_ok(const uint8_t *p, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] > 0x7e)
			return 0;
	return 1;
}

int
msg_put_str(struct buf *b, const char *s)
{
	size_t	n = strlen(s);
	int	r;

	if (n > PROTO_STR_MAX || !msg_str_ok((const uint8_t *)s, n))
		return OB_ERR_RANGE;
	/* On failure, take the length back off: b is left as it was. */
	if ((r = buf_put_u16(b, (uint16_t)n)) != 0)
		return r;
	if ((r = buf_put(b, s, n)) != 0) {
		b->len -= 2;
		return r;
	}
	return 0;
}

int
msg_put_data(struct buf *b, const void *p, size_t n)
{
	int	r;

	if (n > PROTO_MAX_PAYLOAD)
		return OB_ERR_TOO_LARGE;
	if ((r = buf_put_u32(b, (uint32_t)n)) != 0)
		return r;
	if ((r = buf_put(b, p, n)) != 0) {
		b->len -= 4;
		return r;
	}
	return 0;
}

int
msg_get_u8(struct msg *m, uint8_t *v)
{
	return buf_get_u8(&m->body, v);
}

int
msg_get_u16(struct msg *m, uint16_t *v)
{
	return buf_get_u16(&m->body, v);
}

int
msg_get_u32(struct msg *m, uint32_t *v)
{
	return buf_get_u32(&m->body, v);
}

int
msg_get_u64(struct msg *m, uint64_t *v)
{
	return buf_get_u64(&m->body, v);
}

int
msg_get_fixed(struct msg *m, void *out, size_t n)
{
	return buf_get_bytes(&m->body, out, n);
}

int
msg_get_str(struct msg *m, char *out, size_t outsz)
{
	struct buf	 save = m->body;
	uint16_t	 n;
	int		 r;

	if ((r = buf_get_u16(&m->body, &n)) != 0)
		return r;
	if (n > PROTO_STR_MAX || (size_t)n >= outsz) {
		r = OB_ERR_TOO_LARGE;
		goto err;
	}
	if (n > buf_len(&m->body)) {
		r = OB_ERR_TRUNCATED;
		goto err;
	}
	if (!msg_str_ok(buf_ptr(&m->body), n)) {
		r = OB_ERR_FORMAT;
		goto err;
	}
	if ((r = buf_get_bytes(&m->body, out, n)) != 0)
		goto err;
	out[n] = '\0';
	return 0;
 err:
	m->body = save;
	return r;
}

int
msg_get_data(struct msg *m, struct buf *view, size_t max)
{
	struct buf	 save = m->body;
	uint32_t	 n;
	int		 r;

	if ((r = buf_get_u32(&m->body, &n)) != 0)
		return r;
	if (n > max) {
		r = OB_ERR_TOO_LARGE;
		goto err;
	}
	if ((r = buf_get_view(&m->body, n, view)) != 0)
		goto err;
	return 0;
 err:
	m->body = save;
	return r;
}

int
msg_end(const struct msg *m)
{
	return buf_end(&m->body);
}

int
msg_frame_parse(struct msg *m, size_t *used, const uint8_t *p, size_t n)
{
	struct buf	hdr;
	uint16_t	type, flags;
	uint32_t	id, len;

	if (n < PROTO_HDR_LEN)
		return 0;
	buf_init_ro(&hdr, p, PROTO_HDR_LEN);
	if (buf_get_u16(&hdr, &type) != 0 || buf_get_u16(&hdr, &flags) != 0 ||
	    buf_get_u32(&hdr, &id) != 0 || buf_get_u32(&hdr, &len) != 0)
		return OB_ERR_INTERNAL;
	if (len > PROTO_MAX_PAYLOAD)
		return OB_ERR_TOO_LARGE;
	if (flags != 0 || type == 0)
		return OB_ERR_FORMAT;
	if (n - PROTO_HDR_LEN < len)
		return 0;
	m->type = type;
	m->id = id;
	buf_init_ro(&m->body, p + PROTO_HDR_LEN, len);
	*used = PROTO_HDR_LEN + (size_t)len;
	return 1;
}

int
msg_frame_put(struct buf *out, uint16_t type, uint32_t id,
    const struct buf *payload)
{
	size_t	len = payload != NULL ? buf_len(payload) : 0;
	uint8_t	*p;
	int	r;

	if (len > PROTO_MAX_PAYLOAD)
		return OB_ERR_TOO_LARGE;
	if ((r = buf_reserve(out, PROTO_HDR_LEN + len, &p)) != 0)
		return r;
	p[0] = (uint8_t)(type >> 8);
	p[1] = (uint8_t)type;
	p[2] = p[3] = 0;
	p[4] = (uint8_t)(id >> 24);
	p[5] = (uint8_t)(id >> 16);
	p[6] = (uint8_t)(id >> 8);
	p[7] = (uint8_t)id;
	p[8] = (uint8_t)(len >> 24);
	p[9] = (uint8_t)(len >> 16);
	p[10] = (uint8_t)(len >> 8);
	p[11] = (uint8_t)len;
	if (len > 0)
		memcpy(p + PROTO_HDR_LEN, buf_ptr(payload), len);
	return 0;
}

int
msg_conn_init(struct msg_conn *c, int fd)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->next_id = 1;
	if ((c->in = malloc(MSG_IN_CAP)) == NULL)
		return -1;
	return 0;
}

void
msg_conn_clear(struct msg_conn *c)
{
	/* Payloads carry descriptors and client keys: wipe them. */
	if (c->in != NULL) {
		sodium_memzero(c->in, MSG_IN_CAP);
		free(c->in);
	}
	if (c->out != NULL) {
		sodium_memzero(c->out, c->out_alloc);
		free(c->out);
	}
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

/* Drop the messages msg_conn_next() returned. */
static void
msg_conn_compact(struct msg_conn *c)
{
	if (c->in_used == 0)
		return;
	memmove(c->in, c->in + c->in_used, c->in_len - c->in_used);
	c->in_len -= c->in_used;
	c->in_used = 0;
}

int
msg_conn_read(struct msg_conn *c)
{
	ssize_t	n;

	msg_conn_compact(c);
	if (c->in_len == MSG_IN_CAP)
		return 1;	/* a whole message is waiting in the buffer */
	n = read(c->fd, c->in + c->in_len, MSG_IN_CAP - c->in_len);
	if (n == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return 1;
		return -1;
	}
	if (n == 0)
		return 0;
	c->in_len += (size_t)n;
	return 1;
}

int
msg_conn_next(struct msg_conn *c, struct msg *m)
{
	size_t	used = 0;
	int	r;

	/* No move per message: with several descriptors buffered that
	 * costs more than their framing.  msg_conn_read() compacts. */
	if ((r = msg_frame_parse(m, &used, c->in + c->in_used,
	    c->in_len - c->in_used)) != 1)
		return r;
	c->in_used += used;
	return 1;
}

int
msg_conn_send(struct msg_conn *c, uint16_t type, uint32_t id,
    const struct buf *payload)
{
	struct buf	 frame;
	size_t		 len = payload != NULL ? buf_len(payload) : 0;
	size_t		 need, pending, nalloc;
	uint8_t		*nb;
	int		 r;

	if (len > PROTO_MAX_PAYLOAD)
		return OB_ERR_TOO_LARGE;
	need = PROTO_HDR_LEN + len;
	pending = c->out_len - c->out_off;
	if (pending + need > MSG_OUTQ_MAX)
		return OB_ERR_TOO_LARGE;
	if (c->out_off > 0) {
		memmove(c->out, c->out + c->out_off, pending);
		c->out_len = pending;
		c->out_off = 0;
	}
	if (c->out_len + need > c->out_alloc) {
		nalloc = c->out_len + need;
		if ((nb = malloc(nalloc)) == NULL)
			return OB_ERR_NOMEM;
		if (c->out != NULL) {
			memcpy(nb, c->out, c->out_len);
			sodium_memzero(c->out, c->out_alloc);
			free(c->out);
		}
		c->out = nb;
		c->out_alloc = nalloc;
	}
	/* Frame straight into the queue's free tail. */
	memset(&frame, 0, sizeof(frame));
	frame.d = c->out + c->out_len;
	frame.alloc = frame.max = need;
	if ((r = msg_frame_put(&frame, type, id, payload)) != 0)
		return r;
	c->out_len += need;
	return 0;
}

int
msg_conn_write(struct msg_conn *c)
{
	ssize_t	n;

	while (c->out_off < c->out_len) {
		n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -1;
		}
		c->out_off += (size_t)n;
	}
	c->out_off = c->out_len = 0;
	return 0;
}

size_t
msg_conn_pending(const struct msg_conn *c)
{
	return c->out_len - c->out_off;
}

static long long
msg_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for events on c->fd until deadline: 1 ready, -1 with errno. */
static int
msg_conn_wait(struct msg_conn *c, short events, long long deadline)
{
	struct pollfd	pfd;
	long long	left;
	int		r;

	for (;;) {
		left = deadline - msg_now_ms();
		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		pfd.fd = c->fd;
		pfd.events = events;
		pfd.revents = 0;
		r = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r > 0)
			return 1;
	}
}

static int
msg_conn_flush_until(struct msg_conn *c, long long deadline)
{
	while (msg_conn_pending(c) > 0) {
		if (msg_conn_write(c) == -1)
			return -1;
		if (msg_conn_pending(c) == 0)
			break;
		if (msg_conn_wait(c, POLLOUT, deadline) == -1)
			return -1;
	}
	return 0;
}

int
msg_conn_flush(struct msg_conn *c, int timeout_ms)
{
	return msg_conn_flush_until(c, msg_now_ms() + timeout_ms);
}

static int
msg_conn_recv_until(struct msg_conn *c, struct msg *m, long long deadline)
{
	int	r;

	for (;;) {
		r = msg_conn_next(c, m);
		if (r == 1)
			return 0;
		if (r < 0) {
			errno = EBADMSG;
			return -1;
		}
		if (msg_conn_wait(c, POLLIN, deadline) == -1)
			return -1;
		r = msg_conn_read(c);
		if (r == -1)
			return -1;
		if (r == 0) {
			errno = ECONNRESET;
			return -1;
		}
	}
}

int
msg_conn_recv(struct msg_conn *c, struct msg *m, int timeout_ms)
{
	return msg_conn_recv_until(c, m, msg_now_ms() + timeout_ms);
}

int
msg_conn_call(struct msg_conn *c, uint16_t type, const struct buf *payload,
    struct msg *reply, int timeout_ms)
{
	long long	deadline = msg_now_ms() + timeout_ms;
	uint32_t	id;

	id = c->next_id++;
	if (c->next_id == 0)
		c->next_id = 1;
	if (msg_conn_send(c, type, id, payload) != 0) {
		errno = EMSGSIZE;
		return -1;
	}
	if (msg_conn_flush_until(c, deadline) == -1 ||
	    msg_conn_recv_until(c, reply, deadline) == -1)
		return -1;
	if (reply->id != id) {
		errno = EBADMSG;
		return -1;
	}
	return 0;
}

int
msg_error_put(struct buf *b, uint16_t reason, const char *detail)
{
	char	clean[PROTO_STR_MAX + 1];
	size_t	i;
	int	r;

	/* Details quote hostile input: keep them printable and short. */
	for (i = 0; detail[i] != '\0' && i < PROTO_STR_MAX; i++)
		clean[i] = (detail[i] >= 0x20 && detail[i] <= 0x7e) ?
		    detail[i] : '?';
	clean[i] = '\0';
	if ((r = msg_put_u16(b, reason)) != 0 ||
	    (r = msg_put_str(b, clean)) != 0)
		return r;
	return 0;
}

int
msg_error_get(struct msg *m, uint16_t *reason, char *detail,
    size_t detailsz)
{
	int	r;

	if ((r = msg_get_u16(m, reason)) != 0 ||
	    (r = msg_get_str(m, detail, detailsz)) != 0 ||
	    (r = msg_end(m)) != 0)
		return r;
	return 0;
}

const char *
msg_type_name(uint16_t t)
{
	switch (t) {
	case PROTO_HELLO:		return "HELLO";
	case PROTO_HELLO_OK:		return "HELLO_OK";
	case PROTO_ERROR:		return "ERROR";
	case PROTO_BACKEND_DESC:	return "BACKEND_DESC";
	case PROTO_BACKEND_DESC_OK:	return "BACKEND_DESC_OK";
	case PROTO_RECERTIFY:		return "RECERTIFY";
	case PROTO_RECERTIFY_OK:	return "RECERTIFY_OK";
	case PROTO_DESC_PARAMS:		return "DESC_PARAMS";
	case PROTO_DESC_PARAMS_OK:	return "DESC_PARAMS_OK";
	case PROTO_SIGN_DESC:		return "SIGN_DESC";
	case PROTO_SIGN_DESC_OK:	return "SIGN_DESC_OK";
	case PROTO_STATUS:		return "STATUS";
	case PROTO_STATUS_OK:		return "STATUS_OK";
	}
	return "unknown";
}

const char *
msg_reason_name(uint16_t r)
{
	switch (r) {
	case PROTO_R_MALFORMED:		return "malformed";
	case PROTO_R_VERSION:		return "version";
	case PROTO_R_ROLE:		return "role";
	case PROTO_R_NOT_PERMITTED:	return "not-permitted";
	case PROTO_R_UNKNOWN_TYPE:	return "unknown-type";
	case PROTO_R_PEER:		return "peer";
	case PROTO_R_SERVICE:		return "service";
	case PROTO_R_BACKEND:		return "backend";
	case PROTO_R_PERIOD:		return "period";
	case PROTO_R_NO_KEYS:		return "no-keys";
	case PROTO_R_HORIZON:		return "horizon";
	case PROTO_R_BACKEND_DESC:	return "backend-desc";
	case PROTO_R_INTRO:		return "intro";
	case PROTO_R_TOO_MANY_INTRO:	return "too-many-intro";
	case PROTO_R_TOO_LARGE:		return "too-large";
	case PROTO_R_DESC:		return "desc";
	case PROTO_R_CERT:		return "cert";
	case PROTO_R_REVISION:		return "revision";
	case PROTO_R_LIMIT:		return "limit";
	case PROTO_R_HSM:		return "hsm";
	case PROTO_R_AUDIT:		return "audit";
	case PROTO_R_INTERNAL:		return "internal";
	case PROTO_R_TOKEN_KEY:		return "token-key";
	}
	return "unknown";
}
