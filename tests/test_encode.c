/* Tests for common/encode.c. Vectors: RFC 4648 section 10. */
#include "config.h"

#include <string.h>

#include "buf.h"
#include "encode.h"
#include "err.h"
#include "tests.h"

static void
test_b64_rfc4648(void)
{
	static const char *in[] = { "", "f", "fo", "foo", "foob", "fooba",
	    "foobar" };
	static const char *pad[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==",
	    "Zm9vYmE=", "Zm9vYmFy" };
	static const char *nopad[] = { "", "Zg", "Zm8", "Zm9v", "Zm9vYg",
	    "Zm9vYmE", "Zm9vYmFy" };
	char		out[16];
	uint8_t		dec[16];
	size_t		i, n;
	struct buf	b;

	for (i = 0; i < 7; i++) {
		CU_ASSERT(b64_encode(out, sizeof(out), in[i], strlen(in[i]),
		    B64_PAD) == 0 && strcmp(out, pad[i]) == 0);
		CU_ASSERT(b64_encode(out, sizeof(out), in[i], strlen(in[i]),
		    B64_NOPAD) == 0 && strcmp(out, nopad[i]) == 0);
		buf_init_ro(&b, pad[i], strlen(pad[i]));
		CU_ASSERT(b64_decode(dec, sizeof(dec), &n, &b, B64_PAD) == 0);
		CU_ASSERT(n == strlen(in[i]) && memcmp(dec, in[i], n) == 0);
		buf_init_ro(&b, nopad[i], strlen(nopad[i]));
		CU_ASSERT(b64_decode(dec, sizeof(dec), &n, &b, B64_NOPAD) == 0);
		CU_ASSERT(n == strlen(in[i]) && memcmp(dec, in[i], n) == 0);
	}
	/* Wrong padding variant, bad characters, too small an output. */
	buf_init_ro(&b, "Zg==", 4);
	CU_ASSERT(b64_decode(dec, sizeof(dec), &n, &b, B64_NOPAD) ==
	    OB_ERR_FORMAT);
	buf_init_ro(&b, "Zg", 2);
	CU_ASSERT(b64_decode(dec, sizeof(dec), &n, &b, B64_PAD) ==
	    OB_ERR_FORMAT);
	buf_init_ro(&b, "Zm9v\n", 5);
	CU_ASSERT(b64_decode(dec, sizeof(dec), &n, &b, B64_PAD) ==
	    OB_ERR_FORMAT);
	buf_init_ro(&b, "Zm9vYmFy", 8);
	CU_ASSERT(b64_decode(dec, 3, &n, &b, B64_PAD) == OB_ERR_FORMAT);
	/* libsodium 1.0.18 alone would take high bytes as digits. */
	buf_init_ro(&b, "Zm9\xc3", 4);
	CU_ASSERT(b64_decode(dec, sizeof(dec), &n, &b, B64_PAD) ==
	    OB_ERR_FORMAT);
}

static void
test_b64_wrap(void)
{
	uint8_t		 data[100];
	struct buf	*b = buf_new(0), *d = buf_new(0), line, view;
	int		 nl;

	memset(data, 0xa5, sizeof(data));
	CU_ASSERT_FATAL(b != NULL && d != NULL);
	CU_ASSERT(b64_encode_buf(b, data, sizeof(data), B64_PAD, 1) == 0);
	/* 136 chars: lines of 64, 64, 8, each ending in '\n'. */
	CU_ASSERT(buf_len(b) == 136 + 3);
	CU_ASSERT(buf_get_line(b, 64, &line, &nl) == 0 && buf_len(&line) == 64);
	CU_ASSERT(buf_get_line(b, 64, &line, &nl) == 0 && buf_len(&line) == 64);
	CU_ASSERT(buf_get_line(b, 64, &line, &nl) == 0 && buf_len(&line) == 8);
	CU_ASSERT(buf_end(b) == 0);
	buf_reset(b);
	CU_ASSERT(b64_encode_buf(b, data, sizeof(data), B64_PAD, 0) == 0);
	buf_init_ro(&view, buf_ptr(b), buf_len(b));
	CU_ASSERT(b64_decode_buf(d, &view, B64_PAD) == 0);
	CU_ASSERT(buf_len(d) == sizeof(data) &&
	    memcmp(buf_ptr(d), data, sizeof(data)) == 0);
	buf_free(b);
	buf_free(d);
}

static void
test_b32(void)
{
	char	out[64];
	uint8_t	dec[5];

	/* RFC 4648 "fooba" = MZXW6YTB, lower-cased as tor writes it. */
	CU_ASSERT(b32_encode(out, sizeof(out), "fooba", 5) == 0);
	CU_ASSERT(strcmp(out, "mzxw6ytb") == 0);
	CU_ASSERT(b32_decode(dec, 5, "mzxw6ytb", 8) == 0);
	CU_ASSERT(memcmp(dec, "fooba", 5) == 0);
	CU_ASSERT(b32_decode(dec, 5, "MZXW6YTB", 8) == OB_ERR_FORMAT);
	CU_ASSERT(b32_decode(dec, 5, "mzxw6yt1", 8) == OB_ERR_FORMAT);
	CU_ASSERT(b32_decode(dec, 5, "mzxw6yt", 7) == OB_ERR_FORMAT);
}

static void
test_hex(void)
{
	char	out[16];
	uint8_t	dec[3];

	CU_ASSERT(hex_encode(out, sizeof(out), "\x01\xab\xff", 3, 0) == 0 &&
	    strcmp(out, "01abff") == 0);
	CU_ASSERT(hex_encode(out, sizeof(out), "\x01\xab\xff", 3, 1) == 0 &&
	    strcmp(out, "01ABFF") == 0);
	CU_ASSERT(hex_decode(dec, 3, "01ABff", 6) == 0 &&
	    memcmp(dec, "\x01\xab\xff", 3) == 0);
	CU_ASSERT(hex_decode(dec, 3, "01ABf", 5) == OB_ERR_FORMAT);
	CU_ASSERT(hex_decode(dec, 3, "01ABfg", 6) == OB_ERR_FORMAT);
}

/*
 * b64_decode_pub() against b64_decode() on every string of up to len
 * symbols from alpha, padded and not, into room that fits and room one
 * byte short; and with lines set, against b64_decode() of the string
 * with its '\n' removed (what the descriptor parser did before).
 * Returns the number of disagreements.
 */
static size_t
b64_pub_exhaust(const char *alpha, size_t nalpha, size_t maxlen)
{
	uint8_t		s[16], t[16], o1[16], o2[16];
	size_t		idx[16], len, i, k, room, n1, n2, bad = 0;
	struct buf	v, w;
	int		pad, lines, r1, r2;

	for (len = 0; len <= maxlen; len++) {
		memset(idx, 0, sizeof(idx));
		for (;;) {
			for (i = k = 0; i < len; i++) {
				s[i] = (uint8_t)alpha[idx[i]];
				if (s[i] != '\n')
					t[k++] = s[i];
			}
			buf_init_ro(&v, s, len);
			buf_init_ro(&w, t, k);
			for (pad = 0; pad < 2; pad++)
			    for (lines = 0; lines < 2; lines++)
				/* len * 3 / 4 bytes hold any answer. */
				for (room = len * 3 / 4 > 0 ? len * 3 / 4 - 1 :
				    0; room <= len * 3 / 4; room++) {
					r1 = b64_decode(o1, room, &n1,
					    lines ? &w : &v, pad);
					r2 = b64_decode_pub(o2, room, &n2, &v,
					    pad, lines);
					if ((r1 == 0) != (r2 == 0) || (r1 == 0 &&
					    (n1 != n2 || memcmp(o1, o2, n1) != 0)))
						bad++;
				}
			/* Next string of this length. */
			for (i = 0; i < len && ++idx[i] == nalpha; i++)
				idx[i] = 0;
			if (i == len)
				break;
		}
	}
	return bad;
}

/* The fast decoder for public data answers exactly as the strict one. */
static void
test_b64_pub_exhaustive(void)
{
	/* Digits with the low bits clear and set, padding, newline, and
	 * bytes outside the alphabet (NUL, high bit). */
	static const char	wide[] = "AQBE/=\n!\xc3";
	static const char	narrow[] = "AB/=\n";

	CU_ASSERT(b64_pub_exhaust(wide, sizeof(wide), 5) == 0);
	CU_ASSERT(b64_pub_exhaust(narrow, sizeof(narrow) - 1, 8) == 0);
}

/*
 * The fast encoder for public data writes exactly what the constant-time
 * one writes: every length up to three full lines and a bit, padded or
 * not, wrapped or not, appended after what the buffer holds.
 */
static void
test_b64_pub_encode(void)
{
	uint8_t		 data[200];
	struct buf	*a = buf_new(0), *b = buf_new(0);
	size_t		 n, i;
	int		 pad, wrap, bad = 0;

	CU_ASSERT_FATAL(a != NULL && b != NULL);
	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 151 + 7);
	for (n = 0; n <= sizeof(data); n++)
		for (pad = 0; pad < 2; pad++)
			for (wrap = 0; wrap < 2; wrap++) {
				buf_reset(a);
				buf_reset(b);
				if (buf_put_str(a, "x") != 0 ||
				    buf_put_str(b, "x") != 0 ||
				    b64_encode_buf(a, data, n, pad,
				    wrap) != 0 ||
				    b64_encode_pub_buf(b, data, n, pad,
				    wrap) != 0 ||
				    buf_len(a) != buf_len(b) ||
				    memcmp(buf_ptr(a), buf_ptr(b),
				    buf_len(a)) != 0)
					bad++;
			}
	CU_ASSERT(bad == 0);
	buf_free(a);
	buf_free(b);
}

/* Every 12-bit value in both halves of a 3-byte group: each entry of the
 * public encoder's table, against libsodium. */
static void
test_b64_pub_table(void)
{
	static uint8_t	 data[4096 * 3];
	struct buf	*a = buf_new(0), *b = buf_new(0);
	uint32_t	 v;
	int		 wrap;

	CU_ASSERT_FATAL(a != NULL && b != NULL);
	for (v = 0; v < 4096; v++) {
		data[v * 3] = (uint8_t)(v >> 4);
		data[v * 3 + 1] = (uint8_t)((v & 0xf) << 4 | v >> 8);
		data[v * 3 + 2] = (uint8_t)v;
	}
	for (wrap = 0; wrap < 2; wrap++) {
		buf_reset(a);
		buf_reset(b);
		CU_ASSERT_FATAL(b64_encode_buf(a, data, sizeof(data), 1,
		    wrap) == 0);
		CU_ASSERT_FATAL(b64_encode_pub_buf(b, data, sizeof(data), 1,
		    wrap) == 0);
		CU_ASSERT(buf_len(a) == buf_len(b) &&
		    memcmp(buf_ptr(a), buf_ptr(b), buf_len(a)) == 0);
	}
	buf_free(a);
	buf_free(b);
}

static const struct test_case tests[] = {
	{ "base64 RFC 4648", test_b64_rfc4648 },
	{ "base64 public encoder", test_b64_pub_encode },
	{ "base64 public encoder table", test_b64_pub_table },
	{ "base64 wrapping", test_b64_wrap },
	{ "base64 public decoder", test_b64_pub_exhaustive },
	{ "base32", test_b32 },
	{ "hex", test_hex },
	{ NULL, NULL }
};

void
test_register_encode(void)
{
	test_add_suite("encode", tests);
}
