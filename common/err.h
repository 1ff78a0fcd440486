/*
 * Error codes shared by every parser and codec in common/.
 *
 * Parsers return 0 or one of these (always negative), so that callers can
 * chain calls with "if ((r = f()) != 0 || (r = g()) != 0)" and still tell
 * the operator exactly why input was rejected.  ob_strerror() names them.
 */
#ifndef OB_ERR_H
#define OB_ERR_H

enum ob_err {
	OB_OK			= 0,
	OB_ERR_INTERNAL		= -1,	/* a bug or a library failure */
	OB_ERR_NOMEM		= -2,
	OB_ERR_TRUNCATED	= -3,	/* input ends before a field */
	OB_ERR_TOO_LARGE	= -4,	/* a size cap was hit */
	OB_ERR_FORMAT		= -5,	/* malformed syntax */
	OB_ERR_SIGNATURE	= -6,	/* a signature does not verify */
	OB_ERR_KEY		= -7,	/* not a valid key or point */
	OB_ERR_EXPIRED		= -8,	/* a certificate has expired */
	OB_ERR_MISMATCH		= -9,	/* valid, but not the expected key */
	OB_ERR_MAC		= -10,	/* an encrypted layer's MAC fails */
	OB_ERR_LIMIT		= -11,	/* a protocol limit (e.g. 20 intro points) */
	OB_ERR_LEFTOVER		= -12,	/* trailing bytes after a message */
	OB_ERR_VERSION		= -13,	/* unknown version */
	OB_ERR_RANGE		= -14,	/* a number out of its range */
	OB_ERR_DUPLICATE	= -15,	/* a field that must appear once repeats */
	OB_ERR_MISSING		= -16,	/* a required field is absent */
	OB_ERR_NOT_AUTHORIZED	= -17,	/* client auth: no entry for our key */
	OB_ERR_CALLBACK		= -18,	/* a caller-supplied callback failed */
};

const char	*ob_strerror(int);

#endif /* OB_ERR_H */
