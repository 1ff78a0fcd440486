/* Tests for common/crypto.c against published known answers. */
#include "config.h"

#include <string.h>

#include "crypto.h"
#include "err.h"
#include "tests.h"

static void
test_sha3_shake(void)
{
	uint8_t		out[80], want[32];
	struct ob_iov	v[2] = { { "ab", 2 }, { "c", 1 } };

	/* FIPS 202 examples: SHA3-256("") and SHA3-256("abc"). */
	CU_ASSERT(ob_sha3_256(out, NULL, 0) == 0);
	test_unhex(want, 32, "a7ffc6f8bf1ed76651c14756a061d662"
	    "f580ff4de43b49fa82d80a4b80f8434a");
	CU_ASSERT(memcmp(out, want, 32) == 0);
	CU_ASSERT(ob_sha3_256(out, v, 2) == 0);
	test_unhex(want, 32, "3a985da74fe225b2045c172d6bd390bd"
	    "855f086e3e9d525b46bfe24511431532");
	CU_ASSERT(memcmp(out, want, 32) == 0);
	/* SHAKE256("", 256 bits). */
	CU_ASSERT(ob_shake256(out, 32, NULL, 0) == 0);
	test_unhex(want, 32, "46b9dd2b0ba88d13233b3feb743eeb24"
	    "3fcd52ea62b81b82b50c27646ed5762f");
	CU_ASSERT(memcmp(out, want, 32) == 0);
}

static void
test_aes_ctr(void)
{
	uint8_t	key[32], iv[16], pt[16], ct[16], want[16];

	/* NIST SP 800-38A F.5.5, CTR-AES256.Encrypt, block 1. */
	test_unhex(key, 32, "603deb1015ca71be2b73aef0857d7781"
	    "1f352c073b6108d72d9810a30914dff4");
	test_unhex(iv, 16, "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff");
	test_unhex(pt, 16, "6bc1bee22e409f96e93d7e117393172a");
	test_unhex(want, 16, "601ec313775789a5b7a7f504bbf3d228");
	CU_ASSERT(ob_aes256_ctr(ct, pt, 16, key, iv) == 0);
	CU_ASSERT(memcmp(ct, want, 16) == 0);
	CU_ASSERT(ob_aes256_ctr(ct, ct, 16, key, iv) == 0);
	CU_ASSERT(memcmp(ct, pt, 16) == 0);
}

static void
test_ed25519(void)
{
	uint8_t	seed[32], pk[32], want_pk[32], sig[64], want_sig[64];

	/* RFC 8032 section 7.1, TEST 1 (empty message). */
	test_unhex(seed, 32, "9d61b19deffd5a60ba844af492ec2cc4"
	    "4449c5697b326919703bac031cae7f60");
	test_unhex(want_pk, 32, "d75a980182b10ab7d54bfed3c964073a"
	    "0ee172f3daa62325af021a68f707511a");
	test_unhex(want_sig, 64, "e5564300c360ac729086e2cc806e828a"
	    "84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e3970"
	    "1cf9b46bd25bf5f0595bbe24655141438e7a100b");
	CU_ASSERT(ob_ed25519_seed_pubkey(pk, seed) == 0);
	CU_ASSERT(memcmp(pk, want_pk, 32) == 0);
	CU_ASSERT(ob_ed25519_seed_sign(sig, "", 0, seed) == 0);
	CU_ASSERT(memcmp(sig, want_sig, 64) == 0);
	CU_ASSERT(ob_ed25519_verify(sig, "", 0, pk) == 0);
	sig[10] ^= 1;
	CU_ASSERT(ob_ed25519_verify(sig, "", 0, pk) == OB_ERR_SIGNATURE);
	sig[10] ^= 1;
	CU_ASSERT(ob_ed25519_verify(sig, "x", 1, pk) == OB_ERR_SIGNATURE);
}

static void
test_x25519(void)
{
	uint8_t	ask[32], apk[32], bpk[32], want[32], k[32];

	/* RFC 7748 section 6.1. */
	test_unhex(ask, 32, "77076d0a7318a57d3c16c17251b26645"
	    "df4c2f87ebc0992ab177fba51db92c2a");
	test_unhex(want, 32, "8520f0098930a754748b7ddcb43ef75a"
	    "0dbf3a0d26381af4eba4a98eaa9b4e6a");
	CU_ASSERT(ob_x25519_pubkey(apk, ask) == 0);
	CU_ASSERT(memcmp(apk, want, 32) == 0);
	test_unhex(bpk, 32, "de9edb7d7b7dc1b4d35b61c2ece43537"
	    "3f8343c85b78674dadfc7e146f882b4f");
	test_unhex(want, 32, "4a5d9d5ba4ce2de1728e3bf480350f25"
	    "e07e21c947d19e3376f09b3c1e161742");
	CU_ASSERT(ob_x25519(k, ask, bpk) == 0);
	CU_ASSERT(memcmp(k, want, 32) == 0);
	memset(bpk, 0, 32);	/* small order point */
	CU_ASSERT(ob_x25519(k, ask, bpk) == OB_ERR_KEY);
}

static const struct test_case tests[] = {
	{ "SHA3-256 and SHAKE-256", test_sha3_shake },
	{ "AES-256-CTR", test_aes_ctr },
	{ "Ed25519 RFC 8032", test_ed25519 },
	{ "X25519 RFC 7748", test_x25519 },
	{ NULL, NULL }
};

void
test_register_crypto(void)
{
	test_add_suite("crypto", tests);
}
