/*
 * libFuzzer target: the request/bundle/store parser of common/provision.c
 * and the identity key parser.  Whatever parses must re-encode to the
 * same bytes and survive verification, lookups, merge and purge.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "crypto.h"
#include "provision.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
fuzz_one(const uint8_t *data, size_t len, enum provision_kind kind)
{
	struct provision	*p = NULL, *store = NULL;
	struct buf		*b;
	uint8_t			 cert[HS_CERT_LEN];
	time_t			 ws, we;
	size_t			 i, n, line;

	if (provision_parse(&p, kind, data, len, &line) != 0)
		return;
	if ((b = buf_new(PROVISION_FILE_MAX)) == NULL)
		abort();
	/* The grammar has one spelling per file: encode gives it back. */
	if (provision_encode(b, p) != 0 || buf_len(b) != len ||
	    memcmp(buf_ptr(b), data, len) != 0)
		abort();
	buf_free(b);
	for (i = 0; i < p->nperiods; i++) {
		(void)provision_verify_period(p, &p->periods[i],
		    p->periods[i].token_pk, NULL);
		if (provision_window(p->periods[i].tp, p->period_len,
		    p->rot_offset, NULL, NULL, &ws, &we) != 0)
			abort();
		if (kind != PROVISION_REQUEST &&
		    (provision_cert_at(cert, &p->periods[i], ws) != 0 ||
		    provision_cert_at(cert, &p->periods[i], we) != 0))
			abort();
	}
	(void)provision_horizon(p);
	if (kind != PROVISION_REQUEST &&
	    provision_store_merge(&store, p) == 0) {
		(void)provision_store_purge(store, (time_t)1 << 31, &n);
		provision_free(store);
	}
	provision_free(p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static int	init;
	uint8_t		sk[ED25519_EXPANDED_LEN], pk[ED25519_PK_LEN];

	if (!init) {
		if (ob_crypto_init() != 0)
			abort();
		init = 1;
	}
	fuzz_one(data, len, PROVISION_REQUEST);
	fuzz_one(data, len, PROVISION_BUNDLE);
	fuzz_one(data, len, PROVISION_STORE);
	(void)provision_identity_parse(sk, pk, data, len);
	return 0;
}
