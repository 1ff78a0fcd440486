/*
 * libFuzzer target: the v3 descriptor decoder.  Each input goes through
 * all three parsers: the whole document (the outer signature stops the
 * fuzzer there), and the middle and inner plaintext parsers directly, so
 * that the layers behind the encryption are reached too.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "hs_desc.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static int			 init;
	static struct hs_desc		 d;
	struct hs_desc_decode_params	 dp;
	uint8_t				 subcred[32], sk[32], *blob;
	size_t				 bloblen;

	if (!init) {
		if (ob_crypto_init() != 0)
			abort();
		init = 1;
	}
	memset(subcred, 0x5a, sizeof(subcred));
	memset(sk, 0xa5, sizeof(sk));
	memset(&dp, 0, sizeof(dp));
	dp.subcredential = subcred;
	dp.client_auth_sk = sk;
	dp.now = 1674486000;

	hs_desc_init(&d);
	(void)hs_desc_decode(&d, data, len, &dp);
	hs_desc_clear(&d);
	dp.flags = HS_DESC_F_UNSIGNED | HS_DESC_F_STRICT;
	(void)hs_desc_decode(&d, data, len, &dp);
	hs_desc_clear(&d);

	hs_desc_init(&d);
	if (hs_desc_decode_middle(&d, &blob, &bloblen, data, len) == 0)
		free(blob);
	hs_desc_clear(&d);

	hs_desc_init(&d);
	(void)hs_desc_decode_inner(&d, data, len, NULL, 0, 0);
	hs_desc_clear(&d);
	return 0;
}
