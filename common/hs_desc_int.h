/*
 * Internals shared by hs_desc.c, hs_desc_parse.c and hs_desc_build.c:
 * the layer cipher (rend-spec [HS-DESC-ENCRYPTION-KEYS]) and the client
 * authorization keys (rend-spec 2.5.1.2).  Not for use outside the codec.
 */
#ifndef OB_HS_DESC_INT_H
#define OB_HS_DESC_INT_H

#include <stddef.h>
#include <stdint.h>

#include "hs_desc.h"

#define HS_DESC_CONST_SUPERENC	"hsdir-superencrypted-data"
#define HS_DESC_CONST_ENC	"hsdir-encrypted-data"
#define HS_DESC_SECRET_MAX	(ED25519_PK_LEN + HS_DESC_COOKIE_LEN)

/*
 * Decrypt blob = SALT(16) | ENCRYPTED | MAC(32) into a malloc'd,
 * NUL-terminated plaintext cut at the first NUL (tor pads the middle
 * layer with NULs).  secret is KP_blind, or KP_blind | cookie.  Fails
 * with OB_ERR_TRUNCATED on a blob too short for salt and MAC, OB_ERR_MAC
 * when the MAC does not verify.
 */
int	hs_desc_layer_decrypt(char **, size_t *, const uint8_t *, size_t,
	    const uint8_t *secret, size_t secretlen,
	    const uint8_t subcred[HS_SUBCRED_LEN], uint64_t rev,
	    const char *constant)
	    __attribute__((warn_unused_result));
/*
 * The same in place, without a copy: on success *pt points into blob
 * (just after the salt) at the plaintext, NUL-terminated where the MAC
 * began.  On failure blob is unchanged.  The caller wipes blob.
 */
int	hs_desc_layer_decrypt_inplace(char **, size_t *, uint8_t *, size_t,
	    const uint8_t *secret, size_t secretlen,
	    const uint8_t subcred[HS_SUBCRED_LEN], uint64_t rev,
	    const char *constant)
	    __attribute__((warn_unused_result));
/*
 * Encrypt pt, NUL-padded to padded_len (>= ptlen; 0 for no padding), with
 * a fresh salt; append the blob base64'd in 64-character lines to out.
 */
int	hs_desc_layer_encrypt(struct buf *, const uint8_t *, size_t,
	    size_t padded_len, const uint8_t *secret, size_t secretlen,
	    const uint8_t subcred[HS_SUBCRED_LEN], uint64_t rev,
	    const char *constant)
	    __attribute__((warn_unused_result));
/*
 * Client-auth keys: SHAKE-256(subcred | X25519(sk, pk)) -> CLIENT-ID(8) |
 * COOKIE-KEY(32).  The service uses its ephemeral secret and the client's
 * public key; the client its secret and the descriptor's ephemeral key.
 */
int	hs_desc_client_keys(uint8_t [HS_DESC_CLIENT_ID_LEN],
	    uint8_t [AES256_KEY_LEN], const uint8_t subcred[HS_SUBCRED_LEN],
	    const uint8_t sk[X25519_KEY_LEN], const uint8_t pk[X25519_KEY_LEN])
	    __attribute__((warn_unused_result));

#endif /* OB_HS_DESC_INT_H */
