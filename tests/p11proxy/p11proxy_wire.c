/*
 * obhsm-p11proxy: framing and the encodings the client module and the
 * server share (the contract is in p11proxy.h).  Every getter consumes
 * nothing on failure, as buf.c's do, and checks its bound before it
 * allocates or points at anything.
 */
#include "config.h"

#include <sys/socket.h>

#include <poll.h>

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "p11proxy.h"

/* A new frame for op: the length is filled in by p11p_frame_send(). */
struct buf *
p11p_frame_new(uint32_t op)
{
	struct buf	*b;

	if ((b = buf_new(P11P_MSG_MAX + 4)) == NULL)
		return NULL;
	if (buf_put_u32(b, 0) != 0 || buf_put_u32(b, op) != 0) {
		buf_free(b);
		return NULL;
	}
	return b;
}

/*
 * Wait until fd is ready for ev, at most tmo_ms (-1: no bound); a wait
 * that runs out is EAGAIN.  poll, not SO_RCVTIMEO: the signer's seccomp
 * filter allows poll but not setsockopt.
 */
static int
p11p_wait(int fd, short ev, int tmo_ms)
{
	struct pollfd	pfd;
	int		n;

	if (tmo_ms < 0)
		return 0;
	pfd.fd = fd;
	pfd.events = ev;
	while ((n = poll(&pfd, 1, tmo_ms)) == -1 && errno == EINTR)
		;
	if (n == 0)
		errno = EAGAIN;
	return n == 1 ? 0 : -1;
}

/*
 * send(2) with MSG_NOSIGNAL: a server that went away must give the
 * application an error, not a SIGPIPE it never asked for.
 */
int
p11p_frame_send(int fd, struct buf *b, int tmo_ms)
{
	const uint8_t	*p;
	size_t		 left = buf_len(b), body;
	ssize_t		 n;

	if (left < 8 || left - 4 > P11P_MSG_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	body = left - 4;
	b->d[b->off] = (uint8_t)(body >> 24);
	b->d[b->off + 1] = (uint8_t)(body >> 16);
	b->d[b->off + 2] = (uint8_t)(body >> 8);
	b->d[b->off + 3] = (uint8_t)body;
	p = buf_ptr(b);
	while (left > 0) {
		if (p11p_wait(fd, POLLOUT, tmo_ms) == -1)
			return -1;
		if ((n = send(fd, p, left, MSG_NOSIGNAL |
		    (tmo_ms < 0 ? 0 : MSG_DONTWAIT))) == -1) {
			if (errno == EINTR || (tmo_ms >= 0 &&
			    (errno == EAGAIN || errno == EWOULDBLOCK)))
				continue;
			return -1;
		}
		p += n;
		left -= (size_t)n;
	}
	return 0;
}

static int
p11p_read_full(int fd, uint8_t *p, size_t len, int tmo_ms)
{
	ssize_t	n;

	while (len > 0) {
		if (p11p_wait(fd, POLLIN, tmo_ms) == -1)
			return -1;
		if ((n = read(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0) {
			errno = ECONNRESET;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * One frame into b (emptied first), its op read: what is left in b is
 * the op's payload; each wait for bytes at most tmo_ms (-1: no bound).
 * A length beyond P11P_MSG_MAX is refused before
 * anything is allocated for it.
 */
int
p11p_frame_recv(int fd, struct buf *b, uint32_t *op, int tmo_ms)
{
	uint8_t	 hdr[4], *p;
	uint32_t len;

	buf_reset(b);
	if (p11p_read_full(fd, hdr, sizeof(hdr), tmo_ms) == -1)
		return -1;
	len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
	    (uint32_t)hdr[2] << 8 | hdr[3];
	if (len < 4 || len > P11P_MSG_MAX) {
		errno = EPROTO;
		return -1;
	}
	if (buf_reserve(b, len, &p) != 0) {
		errno = ENOMEM;
		return -1;
	}
	if (p11p_read_full(fd, p, len, tmo_ms) == -1)
		return -1;
	if (buf_get_u32(b, op) != 0) {
		errno = EPROTO;
		return -1;
	}
	return 0;
}

/*
 * A CK_ULONG that fits ours; all-ones is CK_UNAVAILABLE_INFORMATION
 * whatever the width.
 */
int
p11p_get_ulong(struct buf *b, CK_ULONG *v)
{
	struct buf	save = *b;
	uint64_t	u;
	int		r;

	if ((r = buf_get_u64(b, &u)) != 0)
		return r;
	if (u == UINT64_MAX) {
		*v = CK_UNAVAILABLE_INFORMATION;
		return 0;
	}
#if ULONG_MAX < UINT64_MAX
	if (u > ULONG_MAX) {
		*b = save;
		return -1;
	}
#endif
	(void)save;
	*v = (CK_ULONG)u;
	return 0;
}

int
p11p_put_ulong(struct buf *b, CK_ULONG v)
{
	return buf_put_u64(b, (uint64_t)v);
}

/* A view of the next byte string, at most max bytes, consumed. */
int
p11p_get_string(struct buf *b, const uint8_t **p, size_t *len, size_t max)
{
	struct buf	save = *b;
	uint32_t	n;
	int		r;

	if ((r = buf_get_u32(b, &n)) != 0)
		return r;
	if (n > max || n > buf_len(b)) {
		*b = save;
		return -1;
	}
	*p = buf_ptr(b);
	*len = n;
	if ((r = buf_consume(b, n)) != 0) {
		*b = save;
		return r;
	}
	return 0;
}

int
p11p_put_string(struct buf *b, const void *p, size_t len)
{
	int	r;

	if (len > UINT32_MAX)
		return -1;
	if ((r = buf_put_u32(b, (uint32_t)len)) != 0)
		return r;
	return len == 0 ? 0 : buf_put(b, p, len);
}

/* An input template; a CKR_ for what cannot be carried. */
CK_RV
p11p_put_tmpl(struct buf *b, const CK_ATTRIBUTE *t, CK_ULONG n)
{
	CK_ULONG	i;

	if (n > P11P_ATTRS_MAX || (n > 0 && t == NULL))
		return CKR_ARGUMENTS_BAD;
	if (buf_put_u32(b, (uint32_t)n) != 0)
		return CKR_HOST_MEMORY;
	for (i = 0; i < n; i++) {
		if (t[i].type & CKF_ARRAY_ATTRIBUTE)
			return CKR_ATTRIBUTE_TYPE_INVALID;
		if (t[i].ulValueLen > P11P_VALUE_MAX)
			return CKR_ATTRIBUTE_VALUE_INVALID;
		if (t[i].pValue == NULL && t[i].ulValueLen != 0)
			return CKR_ARGUMENTS_BAD;
		if (p11p_put_ulong(b, t[i].type) != 0 ||
		    buf_put_u8(b, t[i].pValue != NULL) != 0 ||
		    buf_put_u32(b, (uint32_t)t[i].ulValueLen) != 0 ||
		    (t[i].pValue != NULL && t[i].ulValueLen > 0 &&
		    buf_put(b, t[i].pValue, t[i].ulValueLen) != 0))
			return CKR_HOST_MEMORY;
	}
	return CKR_OK;
}

/*
 * An input template into t[P11P_ATTRS_MAX], values pointing into b's
 * storage (b must outlive the call that uses t).
 */
int
p11p_get_tmpl(struct buf *b, CK_ATTRIBUTE *t, CK_ULONG *n)
{
	struct buf	 save = *b;
	CK_ULONG	 type;
	uint32_t	 cnt, i, len;
	uint8_t		 has;

	if (buf_get_u32(b, &cnt) != 0 || cnt > P11P_ATTRS_MAX)
		goto err;
	for (i = 0; i < cnt; i++) {
		if (p11p_get_ulong(b, &type) != 0 ||
		    buf_get_u8(b, &has) != 0 || has > 1 ||
		    buf_get_u32(b, &len) != 0 || len > P11P_VALUE_MAX ||
		    (type & CKF_ARRAY_ATTRIBUTE) || (!has && len != 0))
			goto err;
		t[i].type = type;
		t[i].ulValueLen = len;
		t[i].pValue = NULL;
		if (has) {
			if (len > buf_len(b))
				goto err;
			/* A module reads input values only; the
			 * storage is ours and writable. */
			t[i].pValue = len > 0 ? (void *)(uintptr_t)buf_ptr(b) :
			    (void *)b->d;
			if (buf_consume(b, len) != 0)
				goto err;
		}
	}
	*n = cnt;
	return 0;
 err:
	*b = save;
	return -1;
}

/*
 * The info structs, field by field (never a struct off the wire).
 */

static int
p11p_put_version(struct buf *b, const CK_VERSION *v)
{
	if (buf_put_u8(b, v->major) != 0 || buf_put_u8(b, v->minor) != 0)
		return -1;
	return 0;
}

static int
p11p_get_version(struct buf *b, CK_VERSION *v)
{
	struct buf	save = *b;

	if (buf_get_u8(b, &v->major) != 0 || buf_get_u8(b, &v->minor) != 0) {
		*b = save;
		return -1;
	}
	return 0;
}

int
p11p_put_info(struct buf *b, const CK_INFO *i)
{
	if (p11p_put_version(b, &i->cryptokiVersion) != 0 ||
	    buf_put(b, i->manufacturerID, sizeof(i->manufacturerID)) != 0 ||
	    p11p_put_ulong(b, i->flags) != 0 ||
	    buf_put(b, i->libraryDescription,
	    sizeof(i->libraryDescription)) != 0 ||
	    p11p_put_version(b, &i->libraryVersion) != 0)
		return -1;
	return 0;
}

int
p11p_get_info(struct buf *b, CK_INFO *i)
{
	struct buf	save = *b;

	if (p11p_get_version(b, &i->cryptokiVersion) != 0 ||
	    buf_get_bytes(b, i->manufacturerID,
	    sizeof(i->manufacturerID)) != 0 ||
	    p11p_get_ulong(b, &i->flags) != 0 ||
	    buf_get_bytes(b, i->libraryDescription,
	    sizeof(i->libraryDescription)) != 0 ||
	    p11p_get_version(b, &i->libraryVersion) != 0) {
		*b = save;
		return -1;
	}
	return 0;
}

int
p11p_put_slot_info(struct buf *b, const CK_SLOT_INFO *s)
{
	if (buf_put(b, s->slotDescription, sizeof(s->slotDescription)) != 0 ||
	    buf_put(b, s->manufacturerID, sizeof(s->manufacturerID)) != 0 ||
	    p11p_put_ulong(b, s->flags) != 0 ||
	    p11p_put_version(b, &s->hardwareVersion) != 0 ||
	    p11p_put_version(b, &s->firmwareVersion) != 0)
		return -1;
	return 0;
}

int
p11p_get_slot_info(struct buf *b, CK_SLOT_INFO *s)
{
	struct buf	save = *b;

	if (buf_get_bytes(b, s->slotDescription,
	    sizeof(s->slotDescription)) != 0 ||
	    buf_get_bytes(b, s->manufacturerID,
	    sizeof(s->manufacturerID)) != 0 ||
	    p11p_get_ulong(b, &s->flags) != 0 ||
	    p11p_get_version(b, &s->hardwareVersion) != 0 ||
	    p11p_get_version(b, &s->firmwareVersion) != 0) {
		*b = save;
		return -1;
	}
	return 0;
}

int
p11p_put_token_info(struct buf *b, const CK_TOKEN_INFO *t)
{
	if (buf_put(b, t->label, sizeof(t->label)) != 0 ||
	    buf_put(b, t->manufacturerID, sizeof(t->manufacturerID)) != 0 ||
	    buf_put(b, t->model, sizeof(t->model)) != 0 ||
	    buf_put(b, t->serialNumber, sizeof(t->serialNumber)) != 0 ||
	    p11p_put_ulong(b, t->flags) != 0 ||
	    p11p_put_ulong(b, t->ulMaxSessionCount) != 0 ||
	    p11p_put_ulong(b, t->ulSessionCount) != 0 ||
	    p11p_put_ulong(b, t->ulMaxRwSessionCount) != 0 ||
	    p11p_put_ulong(b, t->ulRwSessionCount) != 0 ||
	    p11p_put_ulong(b, t->ulMaxPinLen) != 0 ||
	    p11p_put_ulong(b, t->ulMinPinLen) != 0 ||
	    p11p_put_ulong(b, t->ulTotalPublicMemory) != 0 ||
	    p11p_put_ulong(b, t->ulFreePublicMemory) != 0 ||
	    p11p_put_ulong(b, t->ulTotalPrivateMemory) != 0 ||
	    p11p_put_ulong(b, t->ulFreePrivateMemory) != 0 ||
	    p11p_put_version(b, &t->hardwareVersion) != 0 ||
	    p11p_put_version(b, &t->firmwareVersion) != 0 ||
	    buf_put(b, t->utcTime, sizeof(t->utcTime)) != 0)
		return -1;
	return 0;
}

int
p11p_get_token_info(struct buf *b, CK_TOKEN_INFO *t)
{
	struct buf	save = *b;

	if (buf_get_bytes(b, t->label, sizeof(t->label)) != 0 ||
	    buf_get_bytes(b, t->manufacturerID,
	    sizeof(t->manufacturerID)) != 0 ||
	    buf_get_bytes(b, t->model, sizeof(t->model)) != 0 ||
	    buf_get_bytes(b, t->serialNumber, sizeof(t->serialNumber)) != 0 ||
	    p11p_get_ulong(b, &t->flags) != 0 ||
	    p11p_get_ulong(b, &t->ulMaxSessionCount) != 0 ||
	    p11p_get_ulong(b, &t->ulSessionCount) != 0 ||
	    p11p_get_ulong(b, &t->ulMaxRwSessionCount) != 0 ||
	    p11p_get_ulong(b, &t->ulRwSessionCount) != 0 ||
	    p11p_get_ulong(b, &t->ulMaxPinLen) != 0 ||
	    p11p_get_ulong(b, &t->ulMinPinLen) != 0 ||
	    p11p_get_ulong(b, &t->ulTotalPublicMemory) != 0 ||
	    p11p_get_ulong(b, &t->ulFreePublicMemory) != 0 ||
	    p11p_get_ulong(b, &t->ulTotalPrivateMemory) != 0 ||
	    p11p_get_ulong(b, &t->ulFreePrivateMemory) != 0 ||
	    p11p_get_version(b, &t->hardwareVersion) != 0 ||
	    p11p_get_version(b, &t->firmwareVersion) != 0 ||
	    buf_get_bytes(b, t->utcTime, sizeof(t->utcTime)) != 0) {
		*b = save;
		return -1;
	}
	return 0;
}

int
p11p_put_session_info(struct buf *b, const CK_SESSION_INFO *s)
{
	if (p11p_put_ulong(b, s->slotID) != 0 ||
	    p11p_put_ulong(b, s->state) != 0 ||
	    p11p_put_ulong(b, s->flags) != 0 ||
	    p11p_put_ulong(b, s->ulDeviceError) != 0)
		return -1;
	return 0;
}

int
p11p_get_session_info(struct buf *b, CK_SESSION_INFO *s)
{
	struct buf	save = *b;

	if (p11p_get_ulong(b, &s->slotID) != 0 ||
	    p11p_get_ulong(b, &s->state) != 0 ||
	    p11p_get_ulong(b, &s->flags) != 0 ||
	    p11p_get_ulong(b, &s->ulDeviceError) != 0) {
		*b = save;
		return -1;
	}
	return 0;
}
