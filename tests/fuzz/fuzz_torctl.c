/*
 * libFuzzer target: the control-port reply parser (collector/
 * torctl_parse.c), fed in pieces as a socket delivers them, then every
 * reply through the event and GETINFO helpers, and GETINFO bodies
 * through the consensus and microdescriptor parsers of hsdir.c.
 * The first input byte picks the piece size.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "hsdir.h"
#include "torctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
one_reply(const struct torctl_reply *rp)
{
	struct torctl_hs_desc		 d;
	struct torctl_hs_desc_content	 c;
	struct torctl_status		 s;
	struct hsdir_view		*v;
	const uint8_t			*val;
	size_t				 vl;
	char				 name[32], *kv;

	if (torctl_event_name(name, sizeof(name), rp) != 0)
		name[0] = '\0';
	if (torctl_parse_hs_desc(&d, rp) != 0)
		d.action = TORCTL_HS_FAILED;
	if (torctl_parse_hs_desc_content(&c, rp) == 0 && c.bodylen > 0 &&
	    c.body[c.bodylen] != '\0')
		abort();	/* bodies are NUL-terminated */
	if (torctl_parse_status(&s, rp) != 0)
		s.args = NULL;
	if (torctl_kv_get(rp->lines[0].text, "METHODS", &kv) == 0)
		free(kv);
	if (torctl_getinfo_value(rp, "ns", &val, &vl) != 0)
		return;
	if ((v = hsdir_view_new()) == NULL)
		return;
	if (hsdir_view_parse_consensus(v, val, vl) == 0 &&
	    hsdir_view_add_mds(v, val, vl) == 0 &&
	    hsdir_view_finish(v, vl & 1) == 0) {
		uint8_t	out[16][HS_RSA_ID_LEN], bl[32] = { 0 };
		size_t	n;

		if (hsdir_view_responsible(v, &hsdir_view_periods(v)->first,
		    bl, out, 16, &n) != 0)
			n = 0;
	}
	hsdir_view_free(v);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct torctl_parser	*p;
	struct torctl_reply	*rp;
	size_t			 piece, off, k;

	if (len < 1)
		return 0;
	piece = 1 + data[0] % 64;
	data++;
	len--;
	if ((p = torctl_parser_new(512, 64 * 1024)) == NULL)
		return 0;
	for (off = 0; off < len; off += k) {
		k = len - off < piece ? len - off : piece;
		if (torctl_parser_feed(p, data + off, k) != 0)
			break;
		while (torctl_parser_next(p, &rp) == 1) {
			one_reply(rp);
			torctl_reply_free(rp);
		}
	}
	torctl_parser_free(p);
	return 0;
}
