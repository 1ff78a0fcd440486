/*
 * Text encodings used by tor documents: base64 (RFC 4648, with and without
 * padding), lower-case base32 (onion addresses) and hex.
 *
 * Decoders are strict: the whole input must be valid, padding must match
 * the variant asked for, and the output must fit exactly where a fixed
 * size is given.  They return 0 or a negative enum ob_err.
 */
#ifndef OB_ENCODE_H
#define OB_ENCODE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define B64_PAD		1
#define B64_NOPAD	0

/* Length of the encoding of n bytes (no NUL). */
size_t	b64_encoded_len(size_t n, int pad);
/* Append base64 to b, wrapping at 64 chars with '\n' if wrap is set. */
int	b64_encode_buf(struct buf *, const void *, size_t, int pad, int wrap)
	    __attribute__((warn_unused_result));
/* The same for public data (ciphertext, public keys, certs), several
 * times faster: a table lookup per character, whose timing depends on
 * the data.  Output identical to b64_encode_buf(). */
int	b64_encode_pub_buf(struct buf *, const void *, size_t, int pad,
	    int wrap) __attribute__((warn_unused_result));
/* Encode into a NUL-terminated string; out must hold len+1 bytes. */
int	b64_encode(char *, size_t, const void *, size_t, int pad)
	    __attribute__((warn_unused_result));
/*
 * Decode exactly outlen bytes from a text view (no whitespace allowed);
 * *decoded receives the length.  Fails if the output would not fit.
 */
int	b64_decode(uint8_t *, size_t, size_t *, const struct buf *, int pad)
	    __attribute__((warn_unused_result));
/*
 * The same for public data (documents, keys and ciphertext from the
 * network), several times faster: a table lookup per character, whose
 * timing depends on the data, where b64_decode() is constant-time for
 * callers that may hold secrets.  Same strictness and result: canonical
 * encodings only, exactly the padding asked for, OB_ERR_FORMAT for
 * anything else or an output that would not fit.  With lines set, '\n'
 * may appear anywhere and is skipped (an object's 64-character lines).
 */
int	b64_decode_pub(uint8_t *, size_t, size_t *, const struct buf *,
	    int pad, int lines)
	    __attribute__((warn_unused_result));
/* Same, into a buffer that grows (bounded by its max). */
int	b64_decode_buf(struct buf *, const struct buf *, int pad)
	    __attribute__((warn_unused_result));

size_t	b32_encoded_len(size_t n);
int	b32_encode(char *, size_t, const void *, size_t)
	    __attribute__((warn_unused_result));
/* Lower-case only, no padding; n*5 must be a whole number of bytes. */
int	b32_decode(uint8_t *, size_t, const char *, size_t)
	    __attribute__((warn_unused_result));

int	hex_encode(char *, size_t, const void *, size_t, int upper)
	    __attribute__((warn_unused_result));
int	hex_decode(uint8_t *, size_t, const char *, size_t)
	    __attribute__((warn_unused_result));

#endif /* OB_ENCODE_H */
