/* Tests for common/buf.c: the bounded buffer under every parser. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "tests.h"

static void
test_buf_roundtrip(void)
{
	struct buf	*b = buf_new(0);
	uint8_t		 u8, raw[3];
	uint16_t	 u16;
	uint32_t	 u32;
	uint64_t	 u64;

	CU_ASSERT_FATAL(b != NULL);
	CU_ASSERT(buf_put_u8(b, 0xab) == 0);
	CU_ASSERT(buf_put_u16(b, 0x1234) == 0);
	CU_ASSERT(buf_put_u32(b, 0xdeadbeef) == 0);
	CU_ASSERT(buf_put_u64(b, 0x0102030405060708ULL) == 0);
	CU_ASSERT(buf_put(b, "xyz", 3) == 0);
	CU_ASSERT(buf_len(b) == 1 + 2 + 4 + 8 + 3);
	/* Big-endian on the wire, as trunnel. */
	CU_ASSERT(memcmp(buf_ptr(b), "\xab\x12\x34\xde\xad\xbe\xef", 7) == 0);
	CU_ASSERT(buf_get_u8(b, &u8) == 0 && u8 == 0xab);
	CU_ASSERT(buf_get_u16(b, &u16) == 0 && u16 == 0x1234);
	CU_ASSERT(buf_get_u32(b, &u32) == 0 && u32 == 0xdeadbeef);
	CU_ASSERT(buf_get_u64(b, &u64) == 0 &&
	    u64 == 0x0102030405060708ULL);
	CU_ASSERT(buf_end(b) == OB_ERR_LEFTOVER);
	CU_ASSERT(buf_get_bytes(b, raw, 3) == 0 && memcmp(raw, "xyz", 3) == 0);
	CU_ASSERT(buf_end(b) == 0);
	buf_free(b);
	buf_free(NULL);
}

static void
test_buf_truncated_consumes_nothing(void)
{
	struct buf	b;
	uint32_t	v = 7;
	uint64_t	w = 9;

	buf_init_ro(&b, "\x01\x02\x03", 3);
	CU_ASSERT(buf_get_u32(&b, &v) == OB_ERR_TRUNCATED);
	CU_ASSERT(v == 7);
	CU_ASSERT(buf_len(&b) == 3);
	CU_ASSERT(buf_get_u64(&b, &w) == OB_ERR_TRUNCATED && w == 9);
	CU_ASSERT(buf_consume(&b, 4) == OB_ERR_TRUNCATED);
	CU_ASSERT(buf_consume(&b, 3) == 0);
	CU_ASSERT(buf_end(&b) == 0);
}

static void
test_buf_max(void)
{
	struct buf	*b = buf_new(10);
	int		 i;

	CU_ASSERT_FATAL(b != NULL);
	CU_ASSERT(buf_put(b, "0123456789", 10) == 0);
	CU_ASSERT(buf_put_u8(b, 'x') == OB_ERR_TOO_LARGE);
	CU_ASSERT(buf_len(b) == 10);
	buf_free(b);

	b = buf_new(100000);
	CU_ASSERT_FATAL(b != NULL);
	for (i = 0; i < 20000; i++)
		if (buf_putf(b, "%d", i % 10) != 0)
			break;
	CU_ASSERT(i == 20000);
	CU_ASSERT(buf_putf(b, "%090000d", 1) == OB_ERR_TOO_LARGE);
	buf_free(b);

	/* Room made ahead: contents kept, no growth for what fits, and
	 * capped at max. */
	b = buf_new(100);
	CU_ASSERT_FATAL(b != NULL);
	CU_ASSERT(buf_put(b, "abc", 3) == 0);
	CU_ASSERT(buf_ensure(b, 60) == 0);
	CU_ASSERT(buf_len(b) == 3 && memcmp(buf_ptr(b), "abc", 3) == 0);
	CU_ASSERT(b->alloc >= 63);
	{
		const uint8_t	*d = b->d;

		CU_ASSERT(buf_put(b, "0123456789012345678901234567890123456789"
		    "01234567890123456789", 60) == 0);
		CU_ASSERT(b->d == d && buf_len(b) == 63);
	}
	CU_ASSERT(buf_ensure(b, 1000) == 0 && b->alloc >= 100);
	CU_ASSERT(buf_put(b, "0123456789012345678901234567890123456", 37) ==
	    0 && buf_len(b) == 100);
	CU_ASSERT(buf_put_u8(b, 'x') == OB_ERR_TOO_LARGE);
	buf_free(b);
	{
		struct buf	ro;

		buf_init_ro(&ro, "abc", 3);
		CU_ASSERT(buf_ensure(&ro, 1) == OB_ERR_INTERNAL);
	}
}

static void
test_buf_readonly(void)
{
	struct buf	b;

	buf_init_ro(&b, "abc", 3);
	CU_ASSERT(buf_put_u8(&b, 1) == OB_ERR_INTERNAL);
}

static void
test_buf_lines(void)
{
	const char	*text = "one two\n\nthree";
	struct buf	 b, line, word;
	int		 nl;

	buf_init_ro(&b, text, strlen(text));
	CU_ASSERT(buf_get_line(&b, 100, &line, &nl) == 0 && nl == 1);
	CU_ASSERT(buf_eq_str(&line, "one two"));
	CU_ASSERT(buf_get_word(&line, &word) == 0 && buf_eq_str(&word, "one"));
	CU_ASSERT(buf_get_word(&line, &word) == 0 && buf_eq_str(&word, "two"));
	CU_ASSERT(buf_get_word(&line, &word) == OB_ERR_TRUNCATED);
	CU_ASSERT(buf_get_line(&b, 100, &line, &nl) == 0 && nl == 1);
	CU_ASSERT(buf_len(&line) == 0);
	CU_ASSERT(buf_get_line(&b, 3, &line, &nl) == OB_ERR_TOO_LARGE);
	CU_ASSERT(buf_get_line(&b, 5, &line, &nl) == 0 && nl == 0);
	CU_ASSERT(buf_eq_str(&line, "three"));
	CU_ASSERT(buf_get_line(&b, 5, &line, &nl) == OB_ERR_TRUNCATED);

	/* The same lines from the getter for text without NUL. */
	buf_init_ro(&b, text, strlen(text));
	CU_ASSERT(buf_get_line_nonul(&b, 100, &line) == 0 &&
	    buf_eq_str(&line, "one two"));
	CU_ASSERT(buf_get_line_nonul(&b, 100, &line) == 0 &&
	    buf_len(&line) == 0);
	CU_ASSERT(buf_get_line_nonul(&b, 4, &line) == OB_ERR_TOO_LARGE);
	CU_ASSERT(buf_len(&b) == 5);
	CU_ASSERT(buf_get_line_nonul(&b, 5, &line) == 0 &&
	    buf_eq_str(&line, "three"));
	CU_ASSERT(buf_get_line_nonul(&b, 5, &line) == OB_ERR_TRUNCATED);

	/* NUL inside a line, double and trailing spaces. */
	buf_init_ro(&b, "a\0b\n", 4);
	CU_ASSERT(buf_get_line(&b, 100, &line, NULL) == OB_ERR_FORMAT);
	/* A NUL fails its own line only, and consumes nothing: the
	 * buffer reads as before the call (sshbuf's rule, buf.h). */
	buf_init_ro(&b, "x\nab\0c\nd\0", 9);
	CU_ASSERT(buf_get_line(&b, 100, &line, &nl) == 0 && nl == 1 &&
	    buf_eq_str(&line, "x"));
	nl = -1;
	CU_ASSERT(buf_get_line(&b, 100, &line, &nl) == OB_ERR_FORMAT);
	CU_ASSERT(nl == -1);
	CU_ASSERT(buf_len(&b) == 7 && memcmp(buf_ptr(&b), "ab\0c\nd", 7) ==
	    0);
	CU_ASSERT(buf_get_line(&b, 100, &line, &nl) == OB_ERR_FORMAT);
	CU_ASSERT(buf_len(&b) == 7);
	CU_ASSERT(buf_get_line_nonul(&b, 100, &line) == 0 &&
	    buf_len(&line) == 4);
	CU_ASSERT(buf_get_line(&b, 100, &line, &nl) == OB_ERR_FORMAT);
	CU_ASSERT(buf_len(&b) == 2);
	buf_init_ro(&line, "a  b", 4);
	CU_ASSERT(buf_get_word(&line, &word) == 0);
	CU_ASSERT(buf_get_word(&line, &word) == OB_ERR_FORMAT);
	buf_init_ro(&line, "a ", 2);
	CU_ASSERT(buf_get_word(&line, &word) == OB_ERR_FORMAT);
}

static void
test_buf_u64_text(void)
{
	static const struct { const char *s; int r; uint64_t v; } cases[] = {
		{ "0", 0, 0 },
		{ "19655750", 0, 19655750 },
		{ "18446744073709551615", 0, UINT64_MAX },
		{ "18446744073709551616", OB_ERR_RANGE, 0 },
		{ "01", OB_ERR_FORMAT, 0 },
		{ "-1", OB_ERR_FORMAT, 0 },
		{ "+1", OB_ERR_FORMAT, 0 },
		{ "", OB_ERR_FORMAT, 0 },
		{ "12a", OB_ERR_FORMAT, 0 },
		{ "123456789012345678901", OB_ERR_FORMAT, 0 },
	};
	size_t		i;
	struct buf	b;
	uint64_t	v;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buf_init_ro(&b, cases[i].s, strlen(cases[i].s));
		v = 0;
		CU_ASSERT(buf_to_u64(&b, &v) == cases[i].r);
		if (cases[i].r == 0)
			CU_ASSERT(v == cases[i].v);
	}
}

/* Random operations on random bytes: never read out of bounds (ASan). */
static void
test_buf_fuzz(void)
{
	uint8_t		data[64], out[16];
	struct buf	b, v;
	uint64_t	u;
	int		i, j;

	for (i = 0; i < 2000; i++) {
		size_t n = test_rand() % sizeof(data);

		for (j = 0; j < (int)n; j++)
			data[j] = (uint8_t)test_rand();
		buf_init_ro(&b, data, n);
		for (j = 0; j < 20; j++) {
			int r;

			switch (test_rand() % 5) {
			case 0: r = buf_get_u64(&b, &u); break;
			case 1: r = buf_get_bytes(&b, out,
			    test_rand() % sizeof(out)); break;
			case 2: r = buf_get_line(&b, 8, &v, NULL); break;
			case 3: r = buf_get_word(&b, &v); break;
			default: r = buf_get_view(&b, test_rand() % 8, &v);
			}
			CU_ASSERT(r <= 0);
			CU_ASSERT(b.off <= b.len);
		}
	}
}

static const struct test_case tests[] = {
	{ "roundtrip", test_buf_roundtrip },
	{ "truncated consumes nothing", test_buf_truncated_consumes_nothing },
	{ "max enforced", test_buf_max },
	{ "readonly", test_buf_readonly },
	{ "lines and words", test_buf_lines },
	{ "decimal u64", test_buf_u64_text },
	{ "fuzz", test_buf_fuzz },
	{ NULL, NULL }
};

void
test_register_buf(void)
{
	test_add_suite("buf", tests);
}
