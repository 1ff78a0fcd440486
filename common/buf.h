/*
 * Bounded byte buffer: the one API under every parser and encoder.
 *
 * Modelled on OpenSSH's sshbuf.  A buffer holds bytes [off, len) that
 * have not been read yet, in storage of capacity "alloc" that never grows
 * past "max".  Readers consume from the front, writers append at the end.
 *
 * Contract for every getter:
 *  - returns 0 on success or a negative enum ob_err on failure;
 *  - consumes nothing and writes no output on failure;
 *  - never reads past the end of the buffer.
 * so parsers chain them:
 *	if ((r = buf_get_u8(b, &t)) != 0 || (r = buf_get_u32(b, &v)) != 0)
 *		goto err;
 * and finish with buf_end(b), which fails on leftover bytes.
 *
 * Read-only views (buf_init_ro, buf_get_view) point into memory owned by
 * someone else; they must not outlive it and cannot be written to.
 * Integers on the wire are big-endian, as in tor's trunnel formats.
 */
#ifndef OB_BUF_H
#define OB_BUF_H

#include <stddef.h>
#include <stdint.h>

#define BUF_MAX_DEFAULT	(1024 * 1024)	/* 1 MiB unless told otherwise */

struct buf {
	uint8_t		*d;
	size_t		 off;		/* read position */
	size_t		 len;		/* end of valid data */
	size_t		 alloc;
	size_t		 max;		/* hard cap for writers */
	int		 readonly;
	int		 owned;		/* d was allocated by us */
};

/* Lifetime. buf_new() returns NULL on allocation failure. */
struct buf	*buf_new(size_t max);
void		 buf_free(struct buf *);	/* NULL ok; wipes contents */
void		 buf_init_ro(struct buf *, const void *, size_t);
void		 buf_reset(struct buf *);	/* empty it, keep storage */

/*
 * Inspection: the unread bytes and the first of them.  Inline, as the
 * parsers ask several times per token.  An empty buffer may have no
 * storage (NULL + 0 is undefined): its pointer is then buf_empty_, one
 * NUL (declared without a size, so that no compiler takes the bounds
 * of an empty buffer for those of a full one).
 */
extern const uint8_t	buf_empty_[];

static inline size_t
buf_len(const struct buf *b)
{
	return b->len - b->off;
}

static inline const uint8_t *
buf_ptr(const struct buf *b)
{
	return b->d != NULL ? b->d + b->off : buf_empty_;
}

/* Reading. */
int	buf_consume(struct buf *, size_t)
	    __attribute__((warn_unused_result));
int	buf_get_u8(struct buf *, uint8_t *)
	    __attribute__((warn_unused_result));
int	buf_get_u16(struct buf *, uint16_t *)
	    __attribute__((warn_unused_result));
int	buf_get_u32(struct buf *, uint32_t *)
	    __attribute__((warn_unused_result));
int	buf_get_u64(struct buf *, uint64_t *)
	    __attribute__((warn_unused_result));
int	buf_get_bytes(struct buf *, void *, size_t)
	    __attribute__((warn_unused_result));
/* A read-only sub-buffer over the next n bytes, which are consumed. */
int	buf_get_view(struct buf *, size_t, struct buf *)
	    __attribute__((warn_unused_result));
/* Fails with OB_ERR_LEFTOVER if unread bytes remain. */
int	buf_end(const struct buf *)
	    __attribute__((warn_unused_result));

/*
 * Text.  buf_get_line() returns a view of the next line without its
 * terminating '\n' and consumes it with the '\n'.  The last line may lack
 * a '\n' (that case is reported through *had_nl, which may be NULL).
 * Lines longer than maxlen fail with OB_ERR_TOO_LARGE; a NUL byte inside
 * a line fails with OB_ERR_FORMAT.
 */
int	buf_get_line(struct buf *, size_t, struct buf *, int *)
	    __attribute__((warn_unused_result));
/*
 * The same for text the caller has checked holds no NUL byte (one
 * memchr() over a whole document instead of one per line).
 */
int	buf_get_line_nonul(struct buf *, size_t, struct buf *)
	    __attribute__((warn_unused_result));
/* 1 if the unread bytes start with the string, else 0. */
int	buf_has_prefix(const struct buf *, const char *);
/* Compare a view with a C string (exact). 1 if equal. */
int	buf_eq_str(const struct buf *, const char *);
/*
 * Split the next space-separated word off a line view: returns a view of
 * it and consumes it and one following space.  Empty words (two spaces in
 * a row, leading space) fail with OB_ERR_FORMAT.
 */
int	buf_get_word(struct buf *, struct buf *)
	    __attribute__((warn_unused_result));
/* Parse the whole view as a decimal uint64 without sign or leading 0s. */
int	buf_to_u64(const struct buf *, uint64_t *)
	    __attribute__((warn_unused_result));
/* Copy a view out as a NUL-terminated string (malloc'd). */
int	buf_to_cstr(const struct buf *, char **)
	    __attribute__((warn_unused_result));

/* Writing: fail with OB_ERR_TOO_LARGE past max, OB_ERR_NOMEM on ENOMEM. */
int	buf_reserve(struct buf *, size_t, uint8_t **)
	    __attribute__((warn_unused_result));
/*
 * Room for n more bytes without growing again (each growth copies and
 * wipes what the buffer holds), for a writer that knows its size; the
 * contents do not change.  n is capped at what max leaves.
 */
int	buf_ensure(struct buf *, size_t)
	    __attribute__((warn_unused_result));
int	buf_put(struct buf *, const void *, size_t)
	    __attribute__((warn_unused_result));
int	buf_put_u8(struct buf *, uint8_t)
	    __attribute__((warn_unused_result));
int	buf_put_u16(struct buf *, uint16_t)
	    __attribute__((warn_unused_result));
int	buf_put_u32(struct buf *, uint32_t)
	    __attribute__((warn_unused_result));
int	buf_put_u64(struct buf *, uint64_t)
	    __attribute__((warn_unused_result));
int	buf_put_str(struct buf *, const char *)
	    __attribute__((warn_unused_result));
int	buf_putf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3), warn_unused_result));
/* Detach the unread bytes as a malloc'd NUL-terminated copy. */
int	buf_dup_cstr(const struct buf *, char **)
	    __attribute__((warn_unused_result));

/* Big-endian helpers for fixed arrays that are already bounds-checked. */
void		 be64_put(uint8_t [8], uint64_t);
uint64_t	 be64_get(const uint8_t [8]);

#endif /* OB_BUF_H */
