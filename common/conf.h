/*
 * What both daemons' configuration loaders need on top of libconfuse:
 * its parse errors in our log, and the checks its grammar cannot express
 * (integer ranges, onion addresses).  Each check logs what is wrong,
 * prefixed by "where" (e.g. "config" or "service \"name\""), and returns
 * 0 or -1.  Only the daemons link libconfuse; keytool never calls these.
 */
#ifndef OB_CONF_H
#define OB_CONF_H

#include <stdarg.h>
#include <stdint.h>

#include <confuse.h>

#include "crypto.h"
#include "hs_keys.h"

/* For cfg_set_error_function(): "file:line: message" through log_warnx,
 * or "config: message" when libconfuse knows no file (a parsed string). */
void	conf_log_error(cfg_t *, const char *, va_list)
	    __attribute__((format(printf, 2, 0)));

/* The integer option opt of c, within [lo, hi]. */
int	conf_int_range(cfg_t *c, const char *where, const char *opt,
	    long lo, long hi, long *out)
	    __attribute__((warn_unused_result));
/* The same for an unsigned field; lo must be >= 0. */
int	conf_uint_range(cfg_t *c, const char *where, const char *opt,
	    long lo, long hi, unsigned *out)
	    __attribute__((warn_unused_result));

/* A v3 onion address, with or without ".onion": the canonical 56
 * characters (NUL-terminated) and the identity key it encodes. */
int	conf_onion_addr(char out[HS_ADDR_LEN + 1],
	    uint8_t pk[ED25519_PK_LEN], const char *in, const char *where)
	    __attribute__((warn_unused_result));

#endif /* OB_CONF_H */
