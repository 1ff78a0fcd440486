/* OpenSSL 3 wrappers; see crypto.h. */
#include "config.h"

#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sodium.h>

#include "crypto.h"
#include "err.h"

/*
 * OpenSSL 3 looks an algorithm up by name on every EVP_sha3_256()-style
 * init (locks, a hash table, string compares): a descriptor takes a
 * dozen digests and ciphers, so fetch each once here.  Until (or
 * without) ob_crypto_init() the implicit fetch is used, as before.
 */
static EVP_MD		*md_sha3_256, *md_shake256, *md_sha512;
static EVP_CIPHER	*ciph_aes256_ctr;

int
ob_crypto_init(void)
{
	if (sodium_init() < 0)
		return OB_ERR_INTERNAL;
	if (md_sha3_256 == NULL)
		md_sha3_256 = EVP_MD_fetch(NULL, "SHA3-256", NULL);
	if (md_shake256 == NULL)
		md_shake256 = EVP_MD_fetch(NULL, "SHAKE-256", NULL);
	if (md_sha512 == NULL)
		md_sha512 = EVP_MD_fetch(NULL, "SHA2-512", NULL);
	if (ciph_aes256_ctr == NULL)
		ciph_aes256_ctr = EVP_CIPHER_fetch(NULL, "AES-256-CTR", NULL);
	return 0;
}

static int
digest_parts(const EVP_MD *md, uint8_t *out, size_t outlen, int xof,
    const struct ob_iov *v, size_t nv)
{
	EVP_MD_CTX	*ctx;
	size_t		 i;
	int		 r = OB_ERR_INTERNAL;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return OB_ERR_NOMEM;
	if (EVP_DigestInit_ex(ctx, md, NULL) != 1)
		goto err;
	for (i = 0; i < nv; i++)
		if (v[i].n > 0 && EVP_DigestUpdate(ctx, v[i].p, v[i].n) != 1)
			goto err;
	if (xof) {
		if (EVP_DigestFinalXOF(ctx, out, outlen) != 1)
			goto err;
	} else if (EVP_DigestFinal_ex(ctx, out, NULL) != 1)
		goto err;
	r = 0;
 err:
	EVP_MD_CTX_free(ctx);
	return r;
}

int
ob_sha3_256(uint8_t out[SHA3_256_LEN], const struct ob_iov *v, size_t nv)
{
	return digest_parts(md_sha3_256 != NULL ? md_sha3_256 :
	    EVP_sha3_256(), out, SHA3_256_LEN, 0, v, nv);
}

int
ob_shake256(uint8_t *out, size_t outlen, const struct ob_iov *v, size_t nv)
{
	return digest_parts(md_shake256 != NULL ? md_shake256 :
	    EVP_shake256(), out, outlen, 1, v, nv);
}

int
ob_sha512(uint8_t out[64], const struct ob_iov *v, size_t nv)
{
	return digest_parts(md_sha512 != NULL ? md_sha512 : EVP_sha512(),
	    out, 64, 0, v, nv);
}

int
ob_aes256_ctr(uint8_t *out, const uint8_t *in, size_t len,
    const uint8_t key[AES256_KEY_LEN], const uint8_t iv[AES_IV_LEN])
{
	EVP_CIPHER_CTX	*ctx;
	size_t		 done = 0, chunk;
	int		 outl, r = OB_ERR_INTERNAL;

	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return OB_ERR_NOMEM;
	if (EVP_EncryptInit_ex(ctx, ciph_aes256_ctr != NULL ?
	    ciph_aes256_ctr : EVP_aes_256_ctr(), NULL, key, iv) != 1)
		goto err;
	/* EVP takes int lengths: go in bounded chunks. */
	while (done < len) {
		chunk = len - done > (1U << 30) ? (1U << 30) : len - done;
		if (EVP_EncryptUpdate(ctx, out + done, &outl, in + done,
		    (int)chunk) != 1 || (size_t)outl != chunk)
			goto err;
		done += chunk;
	}
	r = 0;
 err:
	EVP_CIPHER_CTX_free(ctx);
	return r;
}

int
ob_ed25519_verify(const uint8_t sig[ED25519_SIG_LEN], const void *msg,
    size_t len, const uint8_t pk[ED25519_PK_LEN])
{
	/*
	 * libsodium, not OpenSSL: twice as fast here (verification dominates
	 * decoding a descriptor), and stricter on hostile input (rejects
	 * small-order keys and R, and non-canonical S).
	 */
	if (crypto_sign_ed25519_verify_detached(sig, msg, len, pk) != 0)
		return OB_ERR_SIGNATURE;
	return 0;
}

int
ob_ed25519_seed_pubkey(uint8_t pk[ED25519_PK_LEN],
    const uint8_t seed[ED25519_SEED_LEN])
{
	EVP_PKEY	*pkey;
	size_t		 n = ED25519_PK_LEN;
	int		 r = OB_ERR_INTERNAL;

	if ((pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL,
	    seed, ED25519_SEED_LEN)) == NULL)
		return OB_ERR_KEY;
	if (EVP_PKEY_get_raw_public_key(pkey, pk, &n) == 1 &&
	    n == ED25519_PK_LEN)
		r = 0;
	EVP_PKEY_free(pkey);
	return r;
}

int
ob_ed25519_seed_sign(uint8_t sig[ED25519_SIG_LEN], const void *msg,
    size_t len, const uint8_t seed[ED25519_SEED_LEN])
{
	EVP_PKEY	*pkey;
	EVP_MD_CTX	*ctx = NULL;
	size_t		 siglen = ED25519_SIG_LEN;
	int		 r = OB_ERR_INTERNAL;

	if ((pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL,
	    seed, ED25519_SEED_LEN)) == NULL)
		return OB_ERR_KEY;
	if ((ctx = EVP_MD_CTX_new()) == NULL) {
		r = OB_ERR_NOMEM;
		goto err;
	}
	if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, pkey) != 1 ||
	    EVP_DigestSign(ctx, sig, &siglen, msg, len) != 1 ||
	    siglen != ED25519_SIG_LEN)
		goto err;
	r = 0;
 err:
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	return r;
}

int
ob_x25519(uint8_t out[X25519_KEY_LEN], const uint8_t sk[X25519_KEY_LEN],
    const uint8_t pk[X25519_KEY_LEN])
{
	/* libsodium rejects the all-zero (small order) result for us. */
	if (crypto_scalarmult_curve25519(out, sk, pk) != 0)
		return OB_ERR_KEY;
	return 0;
}

int
ob_x25519_pubkey(uint8_t pk[X25519_KEY_LEN],
    const uint8_t sk[X25519_KEY_LEN])
{
	if (crypto_scalarmult_curve25519_base(pk, sk) != 0)
		return OB_ERR_KEY;
	return 0;
}

int
ob_random(void *p, size_t n)
{
	if (n > 0 && RAND_bytes(p, (int)n) != 1)
		return OB_ERR_INTERNAL;
	return 0;
}

int
ob_ct_eq(const void *a, const void *b, size_t n)
{
	return sodium_memcmp(a, b, n) == 0;
}

void
ob_wipe(void *p, size_t n)
{
	sodium_memzero(p, n);
}
