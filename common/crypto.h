/*
 * Thin wrappers over OpenSSL 3 for the primitives tor's v3 onion service
 * protocol uses: SHA3-256, SHAKE-256 (arbitrary output), AES-256-CTR,
 * Ed25519 verification, and the system CSPRNG.  Hashes take a list of
 * parts because every tor construction hashes a concatenation.
 *
 * All return 0 or a negative enum ob_err.
 */
#ifndef OB_CRYPTO_H
#define OB_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define SHA3_256_LEN		32
#define ED25519_PK_LEN		32
#define ED25519_SIG_LEN		64
#define ED25519_SEED_LEN	32
#define ED25519_EXPANDED_LEN	64	/* tor's a | k (clamped scalar, prefix) */
#define X25519_KEY_LEN		32
#define AES256_KEY_LEN		32
#define AES_IV_LEN		16

struct ob_iov {
	const void	*p;
	size_t		 n;
};

/* Call once at start-up, before any other function here. */
int	ob_crypto_init(void) __attribute__((warn_unused_result));

int	ob_sha3_256(uint8_t [SHA3_256_LEN], const struct ob_iov *, size_t)
	    __attribute__((warn_unused_result));
int	ob_shake256(uint8_t *, size_t, const struct ob_iov *, size_t)
	    __attribute__((warn_unused_result));
int	ob_sha512(uint8_t [64], const struct ob_iov *, size_t)
	    __attribute__((warn_unused_result));
/* out may equal in. */
int	ob_aes256_ctr(uint8_t *, const uint8_t *, size_t,
	    const uint8_t [AES256_KEY_LEN], const uint8_t [AES_IV_LEN])
	    __attribute__((warn_unused_result));
/* 0, or OB_ERR_SIGNATURE / OB_ERR_KEY. Plain Ed25519, no prefix. */
int	ob_ed25519_verify(const uint8_t [ED25519_SIG_LEN], const void *,
	    size_t, const uint8_t [ED25519_PK_LEN])
	    __attribute__((warn_unused_result));
/* Seed (RFC 8032) key: public key and signature, for tests and tools. */
int	ob_ed25519_seed_pubkey(uint8_t [ED25519_PK_LEN],
	    const uint8_t [ED25519_SEED_LEN])
	    __attribute__((warn_unused_result));
int	ob_ed25519_seed_sign(uint8_t [ED25519_SIG_LEN], const void *, size_t,
	    const uint8_t [ED25519_SEED_LEN])
	    __attribute__((warn_unused_result));
int	ob_x25519(uint8_t [X25519_KEY_LEN], const uint8_t [X25519_KEY_LEN],
	    const uint8_t [X25519_KEY_LEN])
	    __attribute__((warn_unused_result));
int	ob_x25519_pubkey(uint8_t [X25519_KEY_LEN],
	    const uint8_t [X25519_KEY_LEN])
	    __attribute__((warn_unused_result));
int	ob_random(void *, size_t) __attribute__((warn_unused_result));
/* Constant-time equality: 1 if equal. */
int	ob_ct_eq(const void *, const void *, size_t);
void	ob_wipe(void *, size_t);

#endif /* OB_CRYPTO_H */
