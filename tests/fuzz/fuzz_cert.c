/*
 * libFuzzer target: the certificate parser and checker of
 * common/hs_cert.c, and onion address decoding (hs_keys.c), on hostile
 * bytes.  Beyond "no crash", it checks the invariants callers rely on:
 * a parsed cert keeps its exact bytes, and a canonical 140-byte cert is
 * exactly what hs_cert_tbs() would encode from its fields.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crypto.h"
#include "hs_cert.h"
#include "hs_keys.h"

int LLVMFuzzerInitialize(int *, char ***);
int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (ob_crypto_init() != 0)
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static const uint8_t	 types[] = { HS_CERT_TYPE_DESC_SIGNING,
	    HS_CERT_TYPE_AUTH_HS_IP_KEY, HS_CERT_TYPE_CROSS_HS_IP_KEYS };
	struct hs_cert		 c;
	uint8_t			 tbs[HS_CERT_TBS_LEN], pk[ED25519_PK_LEN];
	char			 addr[80];
	size_t			 i, n;

	if (hs_cert_parse(&c, data, len) == 0) {
		if (c.encoded_len != len || memcmp(c.encoded, data, len) != 0)
			abort();
		for (i = 0; i < sizeof(types); i++)
			(void)hs_cert_verify(&c, types[i], NULL, 0);
		(void)hs_cert_verify(&c, c.type, c.certified_key,
		    (time_t)c.expiry_hours * 3600);
		if (len == HS_CERT_LEN && c.has_signing_key &&
		    c.key_type == HS_CERT_KEY_TYPE_ED25519 &&
		    data[39] == 1 && data[43] == 0) {
			if (hs_cert_tbs(tbs, c.type, c.expiry_hours,
			    c.certified_key, c.signing_key) != 0 ||
			    memcmp(tbs, data, HS_CERT_TBS_LEN) != 0)
				abort();
		}
	}

	/* The same bytes as a NUL-terminated address string. */
	n = len < sizeof(addr) - 1 ? len : sizeof(addr) - 1;
	memcpy(addr, data, n);
	addr[n] = '\0';
	if (hs_address_decode(pk, addr) == 0) {
		char	back[HS_ADDR_LEN + 1];

		if (hs_address_encode(back, pk) != 0 ||
		    strncasecmp(back, addr, HS_ADDR_LEN) != 0)
			abort();
	}
	return 0;
}
