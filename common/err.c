/* Names for enum ob_err. */
#include "config.h"

#include "err.h"

const char *
ob_strerror(int r)
{
	switch (r) {
	case OB_OK:			return "success";
	case OB_ERR_INTERNAL:		return "internal error";
	case OB_ERR_NOMEM:		return "out of memory";
	case OB_ERR_TRUNCATED:		return "input truncated";
	case OB_ERR_TOO_LARGE:		return "input too large";
	case OB_ERR_FORMAT:		return "malformed input";
	case OB_ERR_SIGNATURE:		return "bad signature";
	case OB_ERR_KEY:		return "invalid key";
	case OB_ERR_EXPIRED:		return "certificate expired";
	case OB_ERR_MISMATCH:		return "key mismatch";
	case OB_ERR_MAC:		return "MAC check failed";
	case OB_ERR_LIMIT:		return "protocol limit exceeded";
	case OB_ERR_LEFTOVER:		return "trailing data";
	case OB_ERR_VERSION:		return "unsupported version";
	case OB_ERR_RANGE:		return "value out of range";
	case OB_ERR_DUPLICATE:		return "duplicate field";
	case OB_ERR_MISSING:		return "missing field";
	case OB_ERR_NOT_AUTHORIZED:	return "not an authorized client";
	case OB_ERR_CALLBACK:		return "callback failed";
	default:			return "unknown error";
	}
}
