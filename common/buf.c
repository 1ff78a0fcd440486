/* Bounded byte buffer; see buf.h for the contract. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "err.h"

struct buf *
buf_new(size_t max)
{
	struct buf	*b;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	b->max = max ? max : BUF_MAX_DEFAULT;
	b->owned = 1;
	return b;
}

void
buf_free(struct buf *b)
{
	if (b == NULL)
		return;
	if (b->owned && b->d != NULL) {
		sodium_memzero(b->d, b->alloc);
		free(b->d);
	}
	sodium_memzero(b, sizeof(*b));
	free(b);
}

void
buf_init_ro(struct buf *b, const void *p, size_t n)
{
	memset(b, 0, sizeof(*b));
	b->d = (uint8_t *)(uintptr_t)p;	/* never written: readonly */
	b->len = b->alloc = b->max = n;
	b->readonly = 1;
}

const uint8_t	buf_empty_[1];

void
buf_reset(struct buf *b)
{
	if (b->readonly)
		return;
	if (b->d != NULL)
		sodium_memzero(b->d, b->alloc);
	b->off = b->len = 0;
}


int
buf_consume(struct buf *b, size_t n)
{
	if (n > buf_len(b))
		return OB_ERR_TRUNCATED;
	b->off += n;
	return 0;
}

int
buf_get_bytes(struct buf *b, void *out, size_t n)
{
	if (n > buf_len(b))
		return OB_ERR_TRUNCATED;
	if (n > 0)
		memcpy(out, buf_ptr(b), n);
	b->off += n;
	return 0;
}

int
buf_get_u8(struct buf *b, uint8_t *v)
{
	return buf_get_bytes(b, v, 1);
}

int
buf_get_u16(struct buf *b, uint16_t *v)
{
	uint8_t	t[2];
	int	r;

	if ((r = buf_get_bytes(b, t, sizeof(t))) != 0)
		return r;
	*v = (uint16_t)((t[0] << 8) | t[1]);
	return 0;
}

int
buf_get_u32(struct buf *b, uint32_t *v)
{
	uint8_t	t[4];
	int	r;

	if ((r = buf_get_bytes(b, t, sizeof(t))) != 0)
		return r;
	*v = ((uint32_t)t[0] << 24) | ((uint32_t)t[1] << 16) |
	    ((uint32_t)t[2] << 8) | t[3];
	return 0;
}

int
buf_get_u64(struct buf *b, uint64_t *v)
{
	uint8_t	t[8];
	int	r;

	if ((r = buf_get_bytes(b, t, sizeof(t))) != 0)
		return r;
	*v = be64_get(t);
	return 0;
}

int
buf_get_view(struct buf *b, size_t n, struct buf *view)
{
	if (n > buf_len(b))
		return OB_ERR_TRUNCATED;
	buf_init_ro(view, buf_ptr(b), n);
	b->off += n;
	return 0;
}

int
buf_end(const struct buf *b)
{
	return buf_len(b) == 0 ? 0 : OB_ERR_LEFTOVER;
}

/*
 * buf_get_line_nonul(), then the NUL check over the line alone: a failed
 * getter consumes nothing (buf.h), so the line is given back on a NUL.
 */
int
buf_get_line(struct buf *b, size_t maxlen, struct buf *line, int *had_nl)
{
	size_t	off = b->off;
	int	r;

	if ((r = buf_get_line_nonul(b, maxlen, line)) != 0)
		return r;
	if (memchr(buf_ptr(line), '\0', buf_len(line)) != NULL) {
		b->off = off;
		return OB_ERR_FORMAT;
	}
	/* Consumed beyond the line: its '\n'. */
	if (had_nl != NULL)
		*had_nl = b->off - off > buf_len(line);
	return 0;
}

int
buf_get_line_nonul(struct buf *b, size_t maxlen, struct buf *line)
{
	const uint8_t	*p = buf_ptr(b), *nl;
	size_t		 avail = buf_len(b), n;

	if (avail == 0)
		return OB_ERR_TRUNCATED;
	nl = memchr(p, '\n', avail);
	n = nl != NULL ? (size_t)(nl - p) : avail;
	if (n > maxlen)
		return OB_ERR_TOO_LARGE;
	buf_init_ro(line, p, n);
	b->off += n + (nl != NULL ? 1 : 0);
	return 0;
}

int
buf_has_prefix(const struct buf *b, const char *s)
{
	size_t	n = strlen(s);

	return buf_len(b) >= n && memcmp(buf_ptr(b), s, n) == 0;
}

int
buf_eq_str(const struct buf *b, const char *s)
{
	size_t	n = strlen(s);

	return buf_len(b) == n && memcmp(buf_ptr(b), s, n) == 0;
}

int
buf_get_word(struct buf *b, struct buf *word)
{
	const uint8_t	*p = buf_ptr(b), *sp;
	size_t		 avail = buf_len(b), n;

	if (avail == 0)
		return OB_ERR_TRUNCATED;
	sp = memchr(p, ' ', avail);
	n = sp != NULL ? (size_t)(sp - p) : avail;
	if (n == 0)
		return OB_ERR_FORMAT;
	/* A trailing space would leave an empty last word: reject it. */
	if (sp != NULL && n + 1 == avail)
		return OB_ERR_FORMAT;
	buf_init_ro(word, p, n);
	b->off += n + (sp != NULL ? 1 : 0);
	return 0;
}

int
buf_to_u64(const struct buf *b, uint64_t *v)
{
	const uint8_t	*p = buf_ptr(b);
	size_t		 i, n = buf_len(b);
	uint64_t	 x = 0;

	if (n == 0 || n > 20)
		return OB_ERR_FORMAT;
	if (n > 1 && p[0] == '0')
		return OB_ERR_FORMAT;
	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return OB_ERR_FORMAT;
		if (x > (UINT64_MAX - (uint64_t)(p[i] - '0')) / 10)
			return OB_ERR_RANGE;
		x = x * 10 + (uint64_t)(p[i] - '0');
	}
	*v = x;
	return 0;
}

int
buf_to_cstr(const struct buf *b, char **out)
{
	return buf_dup_cstr(b, out);
}

int
buf_ensure(struct buf *b, size_t n)
{
	uint8_t	*nd;

	if (b->readonly)
		return OB_ERR_INTERNAL;
	if (b->len > b->max)
		return OB_ERR_TOO_LARGE;
	if (n > b->max - b->len)
		n = b->max - b->len;
	if (b->len + n <= b->alloc)
		return 0;
	/* Exactly that much: a wipe on free covers what was allocated. */
	if ((nd = malloc(b->len + n)) == NULL)
		return OB_ERR_NOMEM;
	if (b->d != NULL) {
		memcpy(nd, b->d, b->len);
		sodium_memzero(b->d, b->alloc);
		free(b->d);
	}
	b->d = nd;
	b->alloc = b->len + n;
	return 0;
}

int
buf_reserve(struct buf *b, size_t n, uint8_t **dp)
{
	size_t	 need, nalloc;
	uint8_t	*nd;

	if (b->readonly)
		return OB_ERR_INTERNAL;
	if (n > b->max || b->len > b->max - n)
		return OB_ERR_TOO_LARGE;
	need = b->len + n;
	if (need > b->alloc) {
		nalloc = b->alloc ? b->alloc : 256;
		while (nalloc < need)
			nalloc = nalloc > b->max / 2 ? b->max : nalloc * 2;
		/* Copy rather than realloc so old bytes can be wiped. */
		if ((nd = malloc(nalloc)) == NULL)
			return OB_ERR_NOMEM;
		if (b->d != NULL) {
			memcpy(nd, b->d, b->len);
			sodium_memzero(b->d, b->alloc);
			free(b->d);
		}
		b->d = nd;
		b->alloc = nalloc;
	}
	if (n == 0 && b->d == NULL) {
		if (dp != NULL)
			*dp = NULL;
		return 0;
	}
	if (dp != NULL)
		*dp = b->d + b->len;
	b->len += n;
	return 0;
}

int
buf_put(struct buf *b, const void *p, size_t n)
{
	uint8_t	*dp;
	int	 r;

	if ((r = buf_reserve(b, n, &dp)) != 0)
		return r;
	if (n > 0)
		memcpy(dp, p, n);
	return 0;
}

int
buf_put_u8(struct buf *b, uint8_t v)
{
	return buf_put(b, &v, 1);
}

int
buf_put_u16(struct buf *b, uint16_t v)
{
	uint8_t	t[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	return buf_put(b, t, sizeof(t));
}

int
buf_put_u32(struct buf *b, uint32_t v)
{
	uint8_t	t[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16),
		    (uint8_t)(v >> 8), (uint8_t)v };

	return buf_put(b, t, sizeof(t));
}

int
buf_put_u64(struct buf *b, uint64_t v)
{
	uint8_t	t[8];

	be64_put(t, v);
	return buf_put(b, t, sizeof(t));
}

int
buf_put_str(struct buf *b, const char *s)
{
	return buf_put(b, s, strlen(s));
}

int
buf_putf(struct buf *b, const char *fmt, ...)
{
	va_list	 ap;
	char	 small[256], *big = NULL;
	int	 n, r;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return OB_ERR_INTERNAL;
	if ((size_t)n < sizeof(small))
		return buf_put(b, small, (size_t)n);
	if ((big = malloc((size_t)n + 1)) == NULL)
		return OB_ERR_NOMEM;
	va_start(ap, fmt);
	(void)vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	r = buf_put(b, big, (size_t)n);
	free(big);
	return r;
}

int
buf_dup_cstr(const struct buf *b, char **out)
{
	char	*s;
	size_t	 n = buf_len(b);

	if (memchr(buf_ptr(b), '\0', n) != NULL)
		return OB_ERR_FORMAT;
	if ((s = malloc(n + 1)) == NULL)
		return OB_ERR_NOMEM;
	if (n > 0)
		memcpy(s, buf_ptr(b), n);
	s[n] = '\0';
	*out = s;
	return 0;
}

void
be64_put(uint8_t t[8], uint64_t v)
{
	int	i;

	for (i = 7; i >= 0; i--) {
		t[i] = (uint8_t)v;
		v >>= 8;
	}
}

uint64_t
be64_get(const uint8_t t[8])
{
	uint64_t	v = 0;
	int		i;

	for (i = 0; i < 8; i++)
		v = (v << 8) | t[i];
	return v;
}
