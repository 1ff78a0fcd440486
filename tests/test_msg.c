/* Tests for common/msg.c: framing, typed fields, partial I/O. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "msg.h"
#include "proto.h"
#include "tests.h"

static void
pair_nb(int sv[2])
{
	CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CU_ASSERT_FATAL(fcntl(sv[0], F_SETFL, O_NONBLOCK) == 0);
	CU_ASSERT_FATAL(fcntl(sv[1], F_SETFL, O_NONBLOCK) == 0);
}

/* Every field type survives a trip through two connections. */
static void
test_msg_roundtrip(void)
{
	struct msg_conn	 a, b;
	struct msg	 m;
	struct buf	*p, view;
	uint8_t		 fx[32], fx2[32];
	uint8_t		 u8;
	uint16_t	 u16;
	uint32_t	 u32;
	uint64_t	 u64;
	char		 s[64];
	int		 sv[2];

	pair_nb(sv);
	CU_ASSERT_FATAL(msg_conn_init(&a, sv[0]) == 0);
	CU_ASSERT_FATAL(msg_conn_init(&b, sv[1]) == 0);
	memset(fx, 0xa5, sizeof(fx));
	CU_ASSERT_FATAL((p = msg_payload_new()) != NULL);
	CU_ASSERT(msg_put_u8(p, 7) == 0);
	CU_ASSERT(msg_put_u16(p, 0xbeef) == 0);
	CU_ASSERT(msg_put_u32(p, 0xdeadbeef) == 0);
	CU_ASSERT(msg_put_u64(p, 0x0102030405060708ULL) == 0);
	CU_ASSERT(msg_put_fixed(p, fx, sizeof(fx)) == 0);
	CU_ASSERT(msg_put_str(p, "hello world") == 0);
	CU_ASSERT(msg_put_data(p, "abc", 3) == 0);
	CU_ASSERT(msg_conn_send(&a, PROTO_STATUS, 42, p) == 0);
	CU_ASSERT(msg_conn_send(&a, PROTO_HELLO, 43, NULL) == 0);
	CU_ASSERT(msg_conn_flush(&a, 1000) == 0);
	CU_ASSERT(msg_conn_recv(&b, &m, 1000) == 0);
	CU_ASSERT(m.type == PROTO_STATUS);
	CU_ASSERT(m.id == 42);
	CU_ASSERT(msg_get_u8(&m, &u8) == 0 && u8 == 7);
	CU_ASSERT(msg_get_u16(&m, &u16) == 0 && u16 == 0xbeef);
	CU_ASSERT(msg_get_u32(&m, &u32) == 0 && u32 == 0xdeadbeef);
	CU_ASSERT(msg_get_u64(&m, &u64) == 0 && u64 == 0x0102030405060708ULL);
	CU_ASSERT(msg_get_fixed(&m, fx2, sizeof(fx2)) == 0);
	CU_ASSERT(memcmp(fx, fx2, sizeof(fx)) == 0);
	CU_ASSERT(msg_get_str(&m, s, sizeof(s)) == 0);
	CU_ASSERT_STRING_EQUAL(s, "hello world");
	CU_ASSERT(msg_get_data(&m, &view, 3) == 0);
	CU_ASSERT(buf_len(&view) == 3 &&
	    memcmp(buf_ptr(&view), "abc", 3) == 0);
	CU_ASSERT(msg_end(&m) == 0);
	CU_ASSERT(msg_conn_recv(&b, &m, 1000) == 0);
	CU_ASSERT(m.type == PROTO_HELLO && m.id == 43);
	CU_ASSERT(msg_end(&m) == 0);
	/* Nothing more: a short timeout. */
	CU_ASSERT(msg_conn_recv(&b, &m, 50) == -1 && errno == ETIMEDOUT);
	/* EOF is reported as ECONNRESET. */
	close(sv[0]);
	CU_ASSERT(msg_conn_recv(&b, &m, 1000) == -1 && errno == ECONNRESET);
	buf_free(p);
	msg_conn_clear(&a);
	msg_conn_clear(&b);
	close(sv[1]);
}

/* Each getter fails on too few bytes, consumes nothing, and msg_end()
 * catches leftovers. */
static void
test_msg_getter_bounds(void)
{
	struct msg	m;
	struct buf	view;
	uint8_t		raw[64], fx[8];
	uint8_t		u8;
	uint16_t	u16;
	uint32_t	u32;
	uint64_t	u64;
	char		s[8];
	size_t		n;

	memset(raw, 'a', sizeof(raw));
	for (n = 0; n < 8; n++) {
		buf_init_ro(&m.body, raw, n);
		if (n < 1)
			CU_ASSERT(msg_get_u8(&m, &u8) == OB_ERR_TRUNCATED);
		if (n < 2)
			CU_ASSERT(msg_get_u16(&m, &u16) == OB_ERR_TRUNCATED);
		if (n < 4)
			CU_ASSERT(msg_get_u32(&m, &u32) == OB_ERR_TRUNCATED);
		CU_ASSERT(msg_get_u64(&m, &u64) == OB_ERR_TRUNCATED);
		CU_ASSERT(msg_get_fixed(&m, fx, 8) == OB_ERR_TRUNCATED);
		CU_ASSERT(buf_len(&m.body) == n);
	}
	/* str: length says 5, 4 bytes there. */
	raw[0] = 0; raw[1] = 5;
	buf_init_ro(&m.body, raw, 6);
	CU_ASSERT(msg_get_str(&m, s, sizeof(s)) == OB_ERR_TRUNCATED);
	CU_ASSERT(buf_len(&m.body) == 6);
	/* str: does not fit out (needs n + 1). */
	raw[1] = 8;
	buf_init_ro(&m.body, raw, 10);
	CU_ASSERT(msg_get_str(&m, s, sizeof(s)) == OB_ERR_TOO_LARGE);
	CU_ASSERT(buf_len(&m.body) == 10);
	/* str: a control byte, a NUL. */
	raw[1] = 3; raw[3] = '\n';
	buf_init_ro(&m.body, raw, 5);
	CU_ASSERT(msg_get_str(&m, s, sizeof(s)) == OB_ERR_FORMAT);
	raw[3] = '\0';
	buf_init_ro(&m.body, raw, 5);
	CU_ASSERT(msg_get_str(&m, s, sizeof(s)) == OB_ERR_FORMAT);
	CU_ASSERT(buf_len(&m.body) == 5);
	/* str: exact, then leftover. */
	raw[3] = 'b';
	buf_init_ro(&m.body, raw, 6);
	CU_ASSERT(msg_get_str(&m, s, sizeof(s)) == 0);
	CU_ASSERT_STRING_EQUAL(s, "aba");
	CU_ASSERT(msg_end(&m) == OB_ERR_LEFTOVER);
	/* data: over its cap, truncated, exact. */
	raw[0] = 0; raw[1] = 0; raw[2] = 0; raw[3] = 10;
	buf_init_ro(&m.body, raw, 14);
	CU_ASSERT(msg_get_data(&m, &view, 9) == OB_ERR_TOO_LARGE);
	CU_ASSERT(buf_len(&m.body) == 14);
	buf_init_ro(&m.body, raw, 13);
	CU_ASSERT(msg_get_data(&m, &view, 10) == OB_ERR_TRUNCATED);
	CU_ASSERT(buf_len(&m.body) == 13);
	buf_init_ro(&m.body, raw, 14);
	CU_ASSERT(msg_get_data(&m, &view, 10) == 0);
	CU_ASSERT(buf_len(&view) == 10);
	CU_ASSERT(msg_end(&m) == 0);
	/* data: a length near 2^32 cannot wrap. */
	raw[0] = 0xff; raw[1] = 0xff; raw[2] = 0xff; raw[3] = 0xff;
	buf_init_ro(&m.body, raw, 14);
	CU_ASSERT(msg_get_data(&m, &view, 0xffffffffU) == OB_ERR_TRUNCATED);
}

/* Writers refuse what the protocol cannot carry. */
static void
test_msg_put_limits(void)
{
	struct buf	*p;
	char		 big[PROTO_STR_MAX + 2];
	uint8_t		*blob;
	size_t		 len;

	CU_ASSERT_FATAL((p = msg_payload_new()) != NULL);
	memset(big, 'x', sizeof(big));
	big[PROTO_STR_MAX + 1] = '\0';
	CU_ASSERT(msg_put_str(p, big) == OB_ERR_RANGE);
	big[PROTO_STR_MAX] = '\0';
	CU_ASSERT(msg_put_str(p, big) == 0);
	CU_ASSERT(msg_put_str(p, "tab\there") == OB_ERR_RANGE);
	len = buf_len(p);
	CU_ASSERT_FATAL((blob = calloc(1, PROTO_MAX_PAYLOAD)) != NULL);
	/* Would pass the payload cap: refused, and p is unchanged. */
	CU_ASSERT(msg_put_data(p, blob, PROTO_MAX_PAYLOAD - 4) ==
	    OB_ERR_TOO_LARGE);
	CU_ASSERT(buf_len(p) == len);
	CU_ASSERT(msg_put_data(p, blob, PROTO_MAX_PAYLOAD + 1) ==
	    OB_ERR_TOO_LARGE);
	CU_ASSERT(buf_len(p) == len);
	free(blob);
	buf_free(p);
}

static void
hdr(uint8_t h[PROTO_HDR_LEN], uint16_t type, uint16_t flags, uint32_t id,
    uint32_t len)
{
	h[0] = (uint8_t)(type >> 8); h[1] = (uint8_t)type;
	h[2] = (uint8_t)(flags >> 8); h[3] = (uint8_t)flags;
	h[4] = (uint8_t)(id >> 24); h[5] = (uint8_t)(id >> 16);
	h[6] = (uint8_t)(id >> 8); h[7] = (uint8_t)id;
	h[8] = (uint8_t)(len >> 24); h[9] = (uint8_t)(len >> 16);
	h[10] = (uint8_t)(len >> 8); h[11] = (uint8_t)len;
}

/* Header checks: oversize, flags, type 0, short input. */
static void
test_msg_frame(void)
{
	uint8_t		h[PROTO_HDR_LEN + 4];
	struct msg	m;
	size_t		used = 0;
	uint8_t		u8;

	hdr(h, PROTO_STATUS, 0, 1, PROTO_MAX_PAYLOAD + 1);
	CU_ASSERT(msg_frame_parse(&m, &used, h, PROTO_HDR_LEN) ==
	    OB_ERR_TOO_LARGE);
	hdr(h, PROTO_STATUS, 1, 1, 0);
	CU_ASSERT(msg_frame_parse(&m, &used, h, PROTO_HDR_LEN) ==
	    OB_ERR_FORMAT);
	hdr(h, 0, 0, 1, 0);
	CU_ASSERT(msg_frame_parse(&m, &used, h, PROTO_HDR_LEN) ==
	    OB_ERR_FORMAT);
	hdr(h, PROTO_STATUS, 0, 9, 4);
	memcpy(h + PROTO_HDR_LEN, "wxyz", 4);
	CU_ASSERT(msg_frame_parse(&m, &used, h, PROTO_HDR_LEN - 1) == 0);
	CU_ASSERT(msg_frame_parse(&m, &used, h, PROTO_HDR_LEN + 3) == 0);
	CU_ASSERT(msg_frame_parse(&m, &used, h, sizeof(h)) == 1);
	CU_ASSERT(used == sizeof(h) && m.id == 9 && buf_len(&m.body) == 4);
	CU_ASSERT(msg_get_u8(&m, &u8) == 0 && u8 == 'w');
	CU_ASSERT(msg_end(&m) == OB_ERR_LEFTOVER);
}

/* A message dribbled in one byte at a time, and an oversize header on a
 * connection. */
static void
test_msg_partial_io(void)
{
	struct msg_conn	 b;
	struct msg	 m;
	struct buf	*p, *wire;
	uint8_t		 h[PROTO_HDR_LEN];
	size_t		 i;
	int		 sv[2], got = 0;

	pair_nb(sv);
	CU_ASSERT_FATAL(msg_conn_init(&b, sv[1]) == 0);
	CU_ASSERT_FATAL((p = msg_payload_new()) != NULL);
	CU_ASSERT_FATAL((wire = buf_new(0)) != NULL);
	CU_ASSERT(msg_put_str(p, "slowly") == 0);
	CU_ASSERT(msg_frame_put(wire, PROTO_STATUS, 5, p) == 0);
	for (i = 0; i < buf_len(wire); i++) {
		CU_ASSERT(write(sv[0], buf_ptr(wire) + i, 1) == 1);
		CU_ASSERT(msg_conn_read(&b) == 1);
		got = msg_conn_next(&b, &m);
		CU_ASSERT(got == (i + 1 == buf_len(wire)));
	}
	CU_ASSERT(got == 1 && m.id == 5 && m.type == PROTO_STATUS);
	CU_ASSERT(msg_conn_next(&b, &m) == 0);
	/* Nothing to read: EAGAIN is progress, not an error. */
	CU_ASSERT(msg_conn_read(&b) == 1);
	hdr(h, PROTO_SIGN_DESC, 0, 6, 0x7fffffff);
	CU_ASSERT(write(sv[0], h, sizeof(h)) == (ssize_t)sizeof(h));
	CU_ASSERT(msg_conn_read(&b) == 1);
	CU_ASSERT(msg_conn_next(&b, &m) == OB_ERR_TOO_LARGE);
	buf_free(p);
	buf_free(wire);
	msg_conn_clear(&b);
	close(sv[0]);
	close(sv[1]);
}

/* The biggest payload fits; the output queue has a cap; partial writes
 * resume where they stopped. */
static void
test_msg_big(void)
{
	struct msg_conn	 a, b;
	struct msg	 m;
	struct buf	*p, view;
	uint8_t		*blob;
	size_t		 i;
	int		 sv[2], r = 0;

	pair_nb(sv);
	CU_ASSERT_FATAL(msg_conn_init(&a, sv[0]) == 0);
	CU_ASSERT_FATAL(msg_conn_init(&b, sv[1]) == 0);
	CU_ASSERT_FATAL((p = msg_payload_new()) != NULL);
	CU_ASSERT_FATAL((blob = malloc(PROTO_MAX_PAYLOAD)) != NULL);
	for (i = 0; i < PROTO_MAX_PAYLOAD; i++)
		blob[i] = (uint8_t)i;
	CU_ASSERT(msg_put_data(p, blob, PROTO_MAX_PAYLOAD - 4) == 0);
	CU_ASSERT(buf_len(p) == PROTO_MAX_PAYLOAD);
	for (i = 0; i < 10 && r == 0; i++)
		r = msg_conn_send(&a, PROTO_SIGN_DESC, (uint32_t)i, p);
	/* The queue cap stops a peer that does not read. */
	CU_ASSERT(r == OB_ERR_TOO_LARGE);
	CU_ASSERT(i - 1 == MSG_OUTQ_MAX / (PROTO_HDR_LEN + PROTO_MAX_PAYLOAD));
	/* The socket buffer is smaller than the queue: partial writes. */
	CU_ASSERT(msg_conn_write(&a) == 0);
	CU_ASSERT(msg_conn_pending(&a) > 0);
	for (i = 0; i < MSG_OUTQ_MAX / (PROTO_HDR_LEN + PROTO_MAX_PAYLOAD);
	    i++) {
		while (msg_conn_next(&b, &m) != 1) {
			CU_ASSERT_FATAL(msg_conn_write(&a) == 0);
			CU_ASSERT_FATAL(msg_conn_read(&b) == 1);
		}
		CU_ASSERT(m.id == i);
		CU_ASSERT(msg_get_data(&m, &view, PROTO_MAX_PAYLOAD) == 0);
		CU_ASSERT(buf_len(&view) == PROTO_MAX_PAYLOAD - 4);
		CU_ASSERT(memcmp(buf_ptr(&view), blob,
		    PROTO_MAX_PAYLOAD - 4) == 0);
		CU_ASSERT(msg_end(&m) == 0);
	}
	CU_ASSERT(msg_conn_pending(&a) == 0);
	free(blob);
	buf_free(p);
	msg_conn_clear(&a);
	msg_conn_clear(&b);
	close(sv[0]);
	close(sv[1]);
}

/* PROTO_ERROR payloads, calls with ids, and names. */
static void
test_msg_error_call(void)
{
	struct msg_conn	 a, b;
	struct msg	 m, req;
	struct buf	*p;
	uint16_t	 reason;
	char		 detail[PROTO_STR_MAX + 1];
	int		 sv[2];

	pair_nb(sv);
	CU_ASSERT_FATAL(msg_conn_init(&a, sv[0]) == 0);
	CU_ASSERT_FATAL(msg_conn_init(&b, sv[1]) == 0);
	/* Answer a request before it is made: the reply is already queued
	 * on b with the id a will use (1). */
	CU_ASSERT_FATAL((p = msg_payload_new()) != NULL);
	CU_ASSERT(msg_error_put(p, PROTO_R_VERSION, "bad\nversion") == 0);
	CU_ASSERT(msg_conn_send(&b, PROTO_ERROR, 1, p) == 0);
	CU_ASSERT(msg_conn_flush(&b, 1000) == 0);
	CU_ASSERT(msg_conn_call(&a, PROTO_STATUS, NULL, &m, 1000) == 0);
	CU_ASSERT(m.type == PROTO_ERROR);
	CU_ASSERT(msg_error_get(&m, &reason, detail, sizeof(detail)) == 0);
	CU_ASSERT(reason == PROTO_R_VERSION);
	CU_ASSERT_STRING_EQUAL(detail, "bad?version");
	CU_ASSERT(msg_conn_recv(&b, &req, 1000) == 0);
	CU_ASSERT(req.type == PROTO_STATUS && req.id == 1);
	/* A reply with the wrong id is EBADMSG. */
	CU_ASSERT(msg_conn_send(&b, PROTO_STATUS_OK, 77, NULL) == 0);
	CU_ASSERT(msg_conn_flush(&b, 1000) == 0);
	CU_ASSERT(msg_conn_call(&a, PROTO_STATUS, NULL, &m, 1000) == -1);
	CU_ASSERT(errno == EBADMSG);
	CU_ASSERT_STRING_EQUAL(msg_type_name(PROTO_SIGN_DESC), "SIGN_DESC");
	CU_ASSERT_STRING_EQUAL(msg_type_name(0x7777), "unknown");
	CU_ASSERT_STRING_EQUAL(msg_reason_name(PROTO_R_REVISION), "revision");
	buf_free(p);
	msg_conn_clear(&a);
	msg_conn_clear(&b);
	close(sv[0]);
	close(sv[1]);
}

static const struct test_case msg_tests[] = {
	{ "roundtrip",		test_msg_roundtrip },
	{ "getter_bounds",	test_msg_getter_bounds },
	{ "put_limits",		test_msg_put_limits },
	{ "frame",		test_msg_frame },
	{ "partial_io",		test_msg_partial_io },
	{ "big",		test_msg_big },
	{ "error_call",		test_msg_error_call },
	{ NULL, NULL }
};

void
test_register_msg(void)
{
	test_add_suite("msg", msg_tests);
}
