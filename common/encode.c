/* base64, base32 and hex; see encode.h. */
#include "config.h"

#include <endian.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "encode.h"
#include "err.h"

static int
b64_variant(int pad)
{
	return pad ? sodium_base64_VARIANT_ORIGINAL :
	    sodium_base64_VARIANT_ORIGINAL_NO_PADDING;
}

size_t
b64_encoded_len(size_t n, int pad)
{
	/* sodium counts the NUL; we do not. */
	return sodium_base64_encoded_len(n, b64_variant(pad)) - 1;
}

int
b64_encode(char *out, size_t outsz, const void *in, size_t n, int pad)
{
	if (outsz < b64_encoded_len(n, pad) + 1)
		return OB_ERR_TOO_LARGE;
	sodium_bin2base64(out, outsz, in, n, b64_variant(pad));
	return 0;
}

int
b64_encode_buf(struct buf *b, const void *in, size_t n, int pad, int wrap)
{
	size_t	 elen = b64_encoded_len(n, pad), i, chunk;
	char	*tmp;
	int	 r = OB_ERR_NOMEM;

	if ((tmp = malloc(elen + 1)) == NULL)
		return OB_ERR_NOMEM;
	sodium_bin2base64(tmp, elen + 1, in, n, b64_variant(pad));
	if (!wrap) {
		r = buf_put(b, tmp, elen);
		goto out;
	}
	for (i = 0; i < elen; i += chunk) {
		chunk = elen - i > 64 ? 64 : elen - i;
		if ((r = buf_put(b, tmp + i, chunk)) != 0 ||
		    (r = buf_put_u8(b, '\n')) != 0)
			goto out;
	}
	r = 0;
 out:
	free(tmp);
	return r;
}

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Four characters for the 1-3 bytes at in; '=' for missing ones. */
static void
b64_quad(uint8_t *o, const uint8_t *in, size_t n)
{
	uint32_t	v;

	v = (uint32_t)in[0] << 16;
	if (n > 1)
		v |= (uint32_t)in[1] << 8;
	if (n > 2)
		v |= in[2];
	o[0] = (uint8_t)b64_alphabet[v >> 18];
	o[1] = (uint8_t)b64_alphabet[(v >> 12) & 0x3f];
	o[2] = n > 1 ? (uint8_t)b64_alphabet[(v >> 6) & 0x3f] : '=';
	o[3] = n > 2 ? (uint8_t)b64_alphabet[v & 0x3f] : '=';
}

/*
 * The two characters of every 12-bit value, built by the compiler: three
 * bytes are two lookups here instead of four in b64_alphabet (8 kB, for
 * public data only: the index is the data).
 */
#define B64_CHR(k)	((char)((k) < 26 ? 'A' + (k) :			\
			    (k) < 52 ? 'a' + (k) - 26 :			\
			    (k) < 62 ? '0' + (k) - 52 : (k) == 62 ? '+' : '/'))
#define B64_P1(v)	{ B64_CHR((v) >> 6), B64_CHR((v) & 63) },
#define B64_P4(v)	B64_P1(v) B64_P1((v) + 1) B64_P1((v) + 2)	\
			    B64_P1((v) + 3)
#define B64_P16(v)	B64_P4(v) B64_P4((v) + 4) B64_P4((v) + 8)	\
			    B64_P4((v) + 12)
#define B64_P64(v)	B64_P16(v) B64_P16((v) + 16) B64_P16((v) + 32)	\
			    B64_P16((v) + 48)
#define B64_P256(v)	B64_P64(v) B64_P64((v) + 64) B64_P64((v) + 128)	\
			    B64_P64((v) + 192)
#define B64_P1024(v)	B64_P256(v) B64_P256((v) + 256)		\
			    B64_P256((v) + 512) B64_P256((v) + 768)
static const char b64_pair[4096][2] = {
	B64_P1024(0) B64_P1024(1024) B64_P1024(2048) B64_P1024(3072)
};

int
b64_encode_pub_buf(struct buf *b, const void *in, size_t n, int pad,
    int wrap)
{
	const uint8_t	*p = in;
	size_t		 elen = b64_encoded_len(n, pad), total, i, end, run;
	size_t		 rest, k;
	int		 partial = 0;	/* the last line needs its '\n' */
	uint64_t	 w;
	uint32_t	 v;
	uint8_t		*o, q[4];
	int		 r;

	/* One line break after every 64 characters and after the rest. */
	total = elen + (wrap ? (elen + 63) / 64 : 0);
	if ((r = buf_reserve(b, total, &o)) != 0)
		return r;
	/* A line (48 bytes, 64 characters) at a time: no line test in
	 * the inner loop. */
	for (i = 0; n - i >= 3;) {
		run = (n - i) / 3 * 3;
		if (wrap && run > 48)
			run = 48;
		/* Six bytes per 8-byte load, while 8 can be read. */
		end = i + run;
		k = run / 6;
		if (k > 0 && i + k * 6 + 2 > n)
			k--;
		for (; k > 0; k--, i += 6, o += 8) {
			memcpy(&w, p + i, sizeof(w));
			w = be64toh(w);
			memcpy(o, b64_pair[w >> 52], 2);
			memcpy(o + 2, b64_pair[(w >> 40) & 0xfff], 2);
			memcpy(o + 4, b64_pair[(w >> 28) & 0xfff], 2);
			memcpy(o + 6, b64_pair[(w >> 16) & 0xfff], 2);
		}
		for (; i < end; i += 3, o += 4) {
			v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 |
			    p[i + 2];
			memcpy(o, b64_pair[v >> 12], 2);
			memcpy(o + 2, b64_pair[v & 0xfff], 2);
		}
		partial = run < 48;
		if (wrap && !partial)
			*o++ = '\n';
	}
	if ((rest = n - i) > 0) {
		/* Without padding, 1 or 2 bytes give 2 or 3 characters. */
		b64_quad(q, p + i, rest);
		memcpy(o, q, pad ? 4 : rest + 1);
		o += pad ? 4 : rest + 1;
		partial = 1;
	}
	if (wrap && partial)
		*o = '\n';
	return 0;
}

int
b64_decode(uint8_t *out, size_t outsz, size_t *decoded,
    const struct buf *in, int pad)
{
	const char	*end;
	const uint8_t	*p = buf_ptr(in);
	size_t		 i, n = 0;

	if (buf_len(in) == 0) {
		*decoded = 0;
		return 0;
	}
	/* libsodium 1.0.18 takes bytes >= 0x80 as digits: check ourselves. */
	for (i = 0; i < buf_len(in); i++)
		if (!((p[i] >= 'A' && p[i] <= 'Z') ||
		    (p[i] >= 'a' && p[i] <= 'z') ||
		    (p[i] >= '0' && p[i] <= '9') ||
		    p[i] == '+' || p[i] == '/' || p[i] == '='))
			return OB_ERR_FORMAT;
	if (sodium_base642bin(out, outsz, (const char *)buf_ptr(in),
	    buf_len(in), NULL, &n, &end, b64_variant(pad)) != 0)
		return OB_ERR_FORMAT;
	if (end != (const char *)buf_ptr(in) + buf_len(in))
		return OB_ERR_FORMAT;
	*decoded = n;
	return 0;
}

/* Value + 1 of each base64 digit; 0 for every other byte. */
static const uint8_t b64_digit[256] = {
	['A'] = 1, ['B'] = 2, ['C'] = 3, ['D'] = 4, ['E'] = 5,
	['F'] = 6, ['G'] = 7, ['H'] = 8, ['I'] = 9, ['J'] = 10,
	['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14, ['O'] = 15,
	['P'] = 16, ['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20,
	['U'] = 21, ['V'] = 22, ['W'] = 23, ['X'] = 24, ['Y'] = 25,
	['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30,
	['e'] = 31, ['f'] = 32, ['g'] = 33, ['h'] = 34, ['i'] = 35,
	['j'] = 36, ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40,
	['o'] = 41, ['p'] = 42, ['q'] = 43, ['r'] = 44, ['s'] = 45,
	['t'] = 46, ['u'] = 47, ['v'] = 48, ['w'] = 49, ['x'] = 50,
	['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55,
	['3'] = 56, ['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60,
	['8'] = 61, ['9'] = 62, ['+'] = 63, ['/'] = 64
};

/*
 * The same digits for the four places of a group, shifted into place (a
 * group is b64_dec[0][c0] | b64_dec[1][c1] | b64_dec[2][c2] |
 * b64_dec[3][c3]), with bit 31 set for every other byte: a group takes
 * four lookups, three ORs and one test.  Built by the compiler, 4 kB,
 * for public data only (the index is the data).
 */
#define B64_VAL(c)	((c) >= 'A' && (c) <= 'Z' ? (c) - 'A' :		\
			    (c) >= 'a' && (c) <= 'z' ? (c) - 'a' + 26 :	\
			    (c) >= '0' && (c) <= '9' ? (c) - '0' + 52 :	\
			    (c) == '+' ? 62 : (c) == '/' ? 63 : -1)
#define B64_BAD		0x80000000U
#define B64_D1(c, s)	(B64_VAL(c) < 0 ? B64_BAD :			\
			    (uint32_t)B64_VAL(c) << (s)),
#define B64_D4(c, s)	B64_D1(c, s) B64_D1((c) + 1, s) B64_D1((c) + 2, s) \
			    B64_D1((c) + 3, s)
#define B64_D16(c, s)	B64_D4(c, s) B64_D4((c) + 4, s) B64_D4((c) + 8, s) \
			    B64_D4((c) + 12, s)
#define B64_D64(c, s)	B64_D16(c, s) B64_D16((c) + 16, s)		\
			    B64_D16((c) + 32, s) B64_D16((c) + 48, s)
#define B64_D256(s)	{ B64_D64(0, s) B64_D64(64, s) B64_D64(128, s)	\
			    B64_D64(192, s) }
static const uint32_t b64_dec[4][256] = {
	B64_D256(18), B64_D256(12), B64_D256(6), B64_D256(0)
};

/* Skip '\n' from i on when lines is set. */
static size_t
b64_skip_nl(const uint8_t *p, size_t n, size_t i, int lines)
{
	while (lines && i < n && p[i] == '\n')
		i++;
	return i;
}

int
b64_decode_pub(uint8_t *out, size_t outsz, size_t *decoded,
    const struct buf *in, int pad, int lines)
{
	const uint8_t	*p = buf_ptr(in);
	size_t		 n = buf_len(in), i, o = 0, npad, k;
	uint32_t	 acc = 0, g;
	unsigned	 bits = 0, v;

	*decoded = 0;
	for (i = 0; i < n; i++) {
		/*
		 * Whole groups of four digits at once, the common case, as
		 * many as the input and out hold, with one test of all four.
		 * A non-digit (the '\n' after each 64-character line, the
		 * padding), or the last bytes of out, go one by one.
		 */
		if (bits == 0) {
			k = (n - i) / 4;
			if (k > (outsz - o) / 3)
				k = (outsz - o) / 3;
			for (; k > 0; k--, i += 4, o += 3) {
				g = b64_dec[0][p[i]] |
				    b64_dec[1][p[i + 1]] |
				    b64_dec[2][p[i + 2]] |
				    b64_dec[3][p[i + 3]];
				if (g & B64_BAD)
					break;
				out[o] = (uint8_t)(g >> 16);
				out[o + 1] = (uint8_t)(g >> 8);
				out[o + 2] = (uint8_t)g;
			}
			if (i == n)
				break;
		}
		if ((v = b64_digit[p[i]]) == 0) {
			if (lines && p[i] == '\n')
				continue;
			break;
		}
		acc = (acc << 6) | (v - 1);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= outsz)
				return OB_ERR_FORMAT;
			out[o++] = (uint8_t)(acc >> bits);
			acc &= (1U << bits) - 1;
		}
	}
	/* One digit alone cannot end a group; the unused bits must be 0
	 * (a canonical encoding, as libsodium demands). */
	if (bits > 4 || acc != 0)
		return OB_ERR_FORMAT;
	if (pad) {
		/* Exactly the '=' the last group needs: two after 4 bits
		 * left over, one after 2. */
		for (npad = bits / 2; npad > 0; npad--) {
			i = b64_skip_nl(p, n, i, lines);
			if (i == n || p[i] != '=')
				return OB_ERR_FORMAT;
			i++;
		}
	}
	if (b64_skip_nl(p, n, i, lines) != n)
		return OB_ERR_FORMAT;
	*decoded = o;
	return 0;
}

int
b64_decode_buf(struct buf *out, const struct buf *in, int pad)
{
	size_t	 maxout = buf_len(in) / 4 * 3 + 3, n = 0;
	uint8_t	*dp;
	int	 r;

	if ((r = buf_reserve(out, maxout, &dp)) != 0)
		return r;
	if ((r = b64_decode(dp, maxout, &n, in, pad)) != 0) {
		out->len -= maxout;
		return r;
	}
	out->len -= maxout - n;
	return 0;
}

static const char b32_alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";

size_t
b32_encoded_len(size_t n)
{
	return (n * 8 + 4) / 5;
}

int
b32_encode(char *out, size_t outsz, const void *in, size_t n)
{
	const uint8_t	*p = in;
	size_t		 i, o = 0, bits = 0;
	uint32_t	 acc = 0;

	if (outsz < b32_encoded_len(n) + 1)
		return OB_ERR_TOO_LARGE;
	for (i = 0; i < n; i++) {
		acc = (acc << 8) | p[i];
		bits += 8;
		while (bits >= 5) {
			out[o++] = b32_alphabet[(acc >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	if (bits > 0)
		out[o++] = b32_alphabet[(acc << (5 - bits)) & 31];
	out[o] = '\0';
	return 0;
}

int
b32_decode(uint8_t *out, size_t outsz, const char *in, size_t n)
{
	size_t		 i, o = 0, bits = 0;
	uint32_t	 acc = 0;
	const char	*c;

	if ((n * 5) % 8 != 0 || n * 5 / 8 != outsz)
		return OB_ERR_FORMAT;
	for (i = 0; i < n; i++) {
		if (in[i] == '\0' ||
		    (c = strchr(b32_alphabet, in[i])) == NULL)
			return OB_ERR_FORMAT;
		acc = (acc << 5) | (uint32_t)(c - b32_alphabet);
		bits += 5;
		if (bits >= 8) {
			out[o++] = (uint8_t)(acc >> (bits - 8));
			bits -= 8;
		}
	}
	return 0;
}

int
hex_encode(char *out, size_t outsz, const void *in, size_t n, int upper)
{
	size_t	i;

	if (outsz < n * 2 + 1)
		return OB_ERR_TOO_LARGE;
	sodium_bin2hex(out, outsz, in, n);
	if (upper)
		for (i = 0; i < n * 2; i++)
			if (out[i] >= 'a' && out[i] <= 'f')
				out[i] = (char)(out[i] - 'a' + 'A');
	return 0;
}

int
hex_decode(uint8_t *out, size_t outsz, const char *in, size_t n)
{
	size_t	got = 0;
	const char *end;

	if (n != outsz * 2)
		return OB_ERR_FORMAT;
	if (sodium_hex2bin(out, outsz, in, n, NULL, &got, &end) != 0 ||
	    got != outsz || end != in + n)
		return OB_ERR_FORMAT;
	return 0;
}
