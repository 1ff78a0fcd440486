/* libconfuse helpers shared by the collector's and the signer's loaders. */
#include "config.h"

#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <confuse.h>

#include "conf.h"
#include "err.h"
#include "hs_keys.h"
#include "log.h"

void
conf_log_error(cfg_t *cfg, const char *fmt, va_list ap)
{
	char	msg[512];

	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	if (cfg != NULL && cfg->filename != NULL)
		log_warnx("%s:%d: %s", cfg->filename, cfg->line, msg);
	else
		log_warnx("config: %s", msg);
}

int
conf_int_range(cfg_t *c, const char *where, const char *opt, long lo,
    long hi, long *out)
{
	long	v = cfg_getint(c, opt);

	if (v < lo || v > hi) {
		log_warnx("%s: %s = %ld is out of range [%ld, %ld]", where,
		    opt, v, lo, hi);
		return -1;
	}
	*out = v;
	return 0;
}

int
conf_uint_range(cfg_t *c, const char *where, const char *opt, long lo,
    long hi, unsigned *out)
{
	long	v;

	if (lo < 0 || hi > (long)UINT_MAX)
		fatalx("%s: %s: range [%ld, %ld] does not fit", __func__, opt,
		    lo, hi);
	if (conf_int_range(c, where, opt, lo, hi, &v) == -1)
		return -1;
	*out = (unsigned)v;
	return 0;
}

int
conf_onion_addr(char out[HS_ADDR_LEN + 1], uint8_t pk[ED25519_PK_LEN],
    const char *in, const char *where)
{
	size_t	n = strlen(in);
	char	tmp[HS_ADDR_LEN + 1];
	size_t	i;
	int	e;

	if (n == HS_ADDR_LEN + 6 && strcmp(in + HS_ADDR_LEN, ".onion") == 0)
		n = HS_ADDR_LEN;
	if (n != HS_ADDR_LEN) {
		log_warnx("%s: \"%s\" is not a v3 onion address "
		    "(56 base32 characters)", where, in);
		return -1;
	}
	/* One spelling (tor's, lower case) for every comparison later. */
	for (i = 0; i < HS_ADDR_LEN; i++)
		tmp[i] = (char)tolower((unsigned char)in[i]);
	tmp[HS_ADDR_LEN] = '\0';
	if ((e = hs_address_decode(pk, tmp)) != 0) {
		log_warnx("%s: \"%s\" is not a valid v3 onion address: %s",
		    where, in, ob_strerror(e));
		return -1;
	}
	/* out only on success: callers may pass the field they keep. */
	memcpy(out, tmp, HS_ADDR_LEN + 1);
	return 0;
}
