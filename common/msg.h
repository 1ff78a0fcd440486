/*
 * Framing and typed fields for the collector-signer protocol (proto.h).
 *
 * Reading, in the style of OpenSMTPD's m_get_* / m_end: a received
 * struct msg holds a read-only view of its payload; each msg_get_*()
 * checks the remaining length, consumes nothing on failure and returns 0
 * or a negative enum ob_err; msg_end() fails with OB_ERR_LEFTOVER when
 * bytes remain.  Never memcpy a struct off the wire.
 *
 * Writing: build a payload in a struct buf (msg_payload_new()) with the
 * msg_put_*() helpers, then queue it with msg_conn_send().
 *
 * I/O: struct msg_conn wraps a non-blocking socket for a poll() loop.
 * msg_conn_read() takes what the kernel has, msg_conn_next() returns
 * complete messages one at a time, msg_conn_write() writes what it can
 * of the output queue.  Partial reads and writes are normal.  The blocking
 * helpers msg_conn_flush(), msg_conn_recv() and msg_conn_call() are for a
 * client (the collector's stubs, tests) and take a timeout.
 */
#ifndef OB_MSG_H
#define OB_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "proto.h"

/* Cap on queued output per connection: a peer that never reads its
 * replies is disconnected instead of growing the signer's memory. */
#define MSG_OUTQ_MAX		(4 * (PROTO_HDR_LEN + PROTO_MAX_PAYLOAD))

struct msg {
	uint16_t	type;
	uint32_t	id;
	struct buf	body;	/* view; valid until the next msg_conn_* */
};

struct msg_conn {
	int		 fd;
	uint8_t		*in;		/* PROTO_HDR_LEN + PROTO_MAX_PAYLOAD */
	size_t		 in_len;	/* bytes held */
	size_t		 in_used;	/* bytes of messages returned */
	uint8_t		*out;		/* queued bytes [out_off, out_len) */
	size_t		 out_off;
	size_t		 out_len;
	size_t		 out_alloc;
	uint32_t	 next_id;	/* for msg_conn_call() */
};

/* Payload of a message being built: a buffer capped at PROTO_MAX_PAYLOAD
 * (NULL on allocation failure; free with buf_free). */
struct buf	*msg_payload_new(void);

/* Writers: 0 or a negative enum ob_err (OB_ERR_TOO_LARGE past the cap,
 * OB_ERR_RANGE for a string that is too long or not printable ASCII). */
int	msg_put_u8(struct buf *, uint8_t) __attribute__((warn_unused_result));
int	msg_put_u16(struct buf *, uint16_t)
	    __attribute__((warn_unused_result));
int	msg_put_u32(struct buf *, uint32_t)
	    __attribute__((warn_unused_result));
int	msg_put_u64(struct buf *, uint64_t)
	    __attribute__((warn_unused_result));
int	msg_put_fixed(struct buf *, const void *, size_t)
	    __attribute__((warn_unused_result));
int	msg_put_str(struct buf *, const char *)
	    __attribute__((warn_unused_result));
int	msg_put_data(struct buf *, const void *, size_t)
	    __attribute__((warn_unused_result));

/*
 * Getters.  msg_get_str() copies into out (size outsz, NUL-terminated)
 * and fails with OB_ERR_TOO_LARGE if it does not fit and OB_ERR_FORMAT
 * for a byte outside 0x20-0x7e.  msg_get_data() returns a view of at most
 * max bytes (OB_ERR_TOO_LARGE beyond) that lives as long as the message.
 */
int	msg_get_u8(struct msg *, uint8_t *)
	    __attribute__((warn_unused_result));
int	msg_get_u16(struct msg *, uint16_t *)
	    __attribute__((warn_unused_result));
int	msg_get_u32(struct msg *, uint32_t *)
	    __attribute__((warn_unused_result));
int	msg_get_u64(struct msg *, uint64_t *)
	    __attribute__((warn_unused_result));
int	msg_get_fixed(struct msg *, void *, size_t)
	    __attribute__((warn_unused_result));
int	msg_get_str(struct msg *, char *, size_t)
	    __attribute__((warn_unused_result));
int	msg_get_data(struct msg *, struct buf *, size_t max)
	    __attribute__((warn_unused_result));
int	msg_end(const struct msg *) __attribute__((warn_unused_result));

/*
 * Frame parsing without I/O (used by msg_conn_next() and the fuzzer):
 * look at n bytes; return 1 and fill *m (a view into p) and *used when a
 * whole message is there, 0 when more bytes are needed, or a negative
 * enum ob_err for a header that can never be valid (OB_ERR_TOO_LARGE:
 * len > PROTO_MAX_PAYLOAD; OB_ERR_FORMAT: flags != 0; type 0).
 */
int	msg_frame_parse(struct msg *, size_t *used, const uint8_t *p, size_t n)
	    __attribute__((warn_unused_result));
/* Header + payload appended to out. */
int	msg_frame_put(struct buf *out, uint16_t type, uint32_t id,
	    const struct buf *payload) __attribute__((warn_unused_result));

/* Connection.  init returns 0 or -1 (ENOMEM); the fd is not closed by
 * clear, which frees the buffers. */
int	msg_conn_init(struct msg_conn *, int fd);
void	msg_conn_clear(struct msg_conn *);

/*
 * Read what is available.  Returns 1 on progress or EAGAIN, 0 on EOF,
 * -1 on error (errno set).  Never reads more than fits the input buffer:
 * the caller must drain msg_conn_next() before reading again.
 */
int	msg_conn_read(struct msg_conn *);
/* 1 and *m for the next complete message, 0 for none yet, or a negative
 * enum ob_err for a malformed header (close the connection). */
int	msg_conn_next(struct msg_conn *, struct msg *)
	    __attribute__((warn_unused_result));
/* Queue a message (payload may be NULL for an empty one).  0, or a
 * negative enum ob_err: OB_ERR_TOO_LARGE for a payload over the cap or a
 * full output queue. */
int	msg_conn_send(struct msg_conn *, uint16_t type, uint32_t id,
	    const struct buf *payload) __attribute__((warn_unused_result));
/* Write what the socket takes: 0 (check msg_conn_pending()), or -1 with
 * errno set.  EAGAIN is not an error. */
int	msg_conn_write(struct msg_conn *);
size_t	msg_conn_pending(const struct msg_conn *);

/*
 * Blocking helpers over a non-blocking fd, with a timeout in
 * milliseconds for the whole call.  0 on success, -1 with errno set:
 * ETIMEDOUT, ECONNRESET (peer closed), EBADMSG (malformed frame or a
 * reply with another id), or what read/write/poll said.
 */
int	msg_conn_flush(struct msg_conn *, int timeout_ms);
int	msg_conn_recv(struct msg_conn *, struct msg *, int timeout_ms);
/* Send a request with a fresh id and wait for the reply with that id
 * (which may be a PROTO_ERROR: see msg_error_get()). */
int	msg_conn_call(struct msg_conn *, uint16_t type,
	    const struct buf *payload, struct msg *reply, int timeout_ms);

/* A PROTO_ERROR payload, built and parsed. */
int	msg_error_put(struct buf *, uint16_t reason, const char *detail)
	    __attribute__((warn_unused_result));
int	msg_error_get(struct msg *, uint16_t *reason, char *detail,
	    size_t detailsz) __attribute__((warn_unused_result));

/* Names for logs ("unknown" for numbers not in proto.h). */
const char	*msg_type_name(uint16_t);
const char	*msg_reason_name(uint16_t);

#endif /* OB_MSG_H */
