/*
 * Tor Ed25519 certificates, version 1 (torspec cert-spec section 2.1;
 * tor's trunnel/ed25519_cert.trunnel, field by field):
 *
 *	u8  version = 1
 *	u8  cert_type			08, 09 or 0B here
 *	u32 exp_field			expiry, HOURS since the epoch
 *	u8  cert_key_type = 1		ed25519
 *	u8  certified_key[32]
 *	u8  n_extensions
 *	struct ext {
 *		u16 ext_length; u8 ext_type; u8 ext_flags;
 *		u8  un_unparsed[ext_length];	(type 04: signing key, 32)
 *	} ext[n_extensions]
 *	u8  signature[64]		plain Ed25519 over every byte before it
 *
 * Onion service certs must carry extension 04 (signed-with-ed25519-key);
 * an unknown extension with flag 01 (affects validation) or a second 04
 * makes the cert invalid, as in tor's hs_descriptor.c cert_is_valid().
 */
#ifndef OB_HS_CERT_H
#define OB_HS_CERT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "hs_keys.h"

#define HS_CERT_VERSION			1
#define HS_CERT_TYPE_DESC_SIGNING	0x08	/* blinded -> desc signing */
#define HS_CERT_TYPE_AUTH_HS_IP_KEY	0x09	/* desc signing -> intro */
#define HS_CERT_TYPE_CROSS_HS_IP_KEYS	0x0b	/* desc signing -> enc key */
#define HS_CERT_KEY_TYPE_ED25519	0x01
#define HS_CERT_EXT_SIGNED_WITH_KEY	0x04
#define HS_CERT_EXT_FLAG_AFFECTS	0x01

#define HS_CERT_LEN		140	/* with exactly one extension 04 */
#define HS_CERT_TBS_LEN		76	/* the part the signature covers */
#define HS_CERT_MAX_LEN		1024	/* cap on hostile input */

struct hs_cert {
	uint8_t		type;
	uint32_t	expiry_hours;
	uint8_t		key_type;		/* cert_key_type (01) */
	uint8_t		certified_key[ED25519_PK_LEN];
	int		has_signing_key;	/* extension 04 present */
	uint8_t		signing_key[ED25519_PK_LEN];
	uint8_t		signature[ED25519_SIG_LEN];
	uint8_t		encoded[HS_CERT_MAX_LEN];
	size_t		encoded_len;		/* signed part = len - 64 */
};

/*
 * Syntax (tor's tor_cert_parse()): version 1, every field present, each
 * extension body exactly ext_length bytes (32 for type 04), no second 04,
 * no unknown extension flagged AFFECTS_VALIDATION, nothing after the
 * signature, at most HS_CERT_MAX_LEN bytes.  Any cert_type and
 * cert_key_type are accepted here (relay certs carry other key types);
 * no signature or expiry check.  Errors: OB_ERR_TOO_LARGE, _TRUNCATED,
 * _VERSION, _FORMAT, _DUPLICATE, _LEFTOVER.
 */
int	hs_cert_parse(struct hs_cert *, const uint8_t *, size_t)
	    __attribute__((warn_unused_result));
/*
 * Full check: type is want_type, extension 04 present, signing key equals
 * signer (when signer is non-NULL), signature verifies under the
 * extension's key, and not expired at now (tor: now > expiry*3600 fails).
 * Checks in that order, after the cert_key_type, which must be 01
 * (OB_ERR_KEY).  Returns OB_ERR_MISMATCH (type or signer), OB_ERR_MISSING
 * (no extension 04), OB_ERR_EXPIRED, OB_ERR_SIGNATURE, OB_ERR_KEY.
 */
int	hs_cert_verify(const struct hs_cert *, uint8_t want_type,
	    const uint8_t signer[ED25519_PK_LEN], time_t now)
	    __attribute__((warn_unused_result));
/*
 * hs_cert_verify() but for the signature: the same checks in the same
 * order with the same errors.  Only for a cert whose exact encoding the
 * caller has itself verified before: the signature covers every byte of
 * the encoding but itself and depends on nothing else, so identical
 * bytes get the identical verdict, while expiry (now) and the expected
 * signer and type are judged afresh here.
 */
int	hs_cert_check(const struct hs_cert *, uint8_t want_type,
	    const uint8_t signer[ED25519_PK_LEN], time_t now)
	    __attribute__((warn_unused_result));
/* The 76 bytes a signer signs for a cert with one extension 04. */
int	hs_cert_tbs(uint8_t [HS_CERT_TBS_LEN], uint8_t type,
	    uint32_t expiry_hours, const uint8_t certified[ED25519_PK_LEN],
	    const uint8_t signing_pk[ED25519_PK_LEN])
	    __attribute__((warn_unused_result));
/*
 * Build and sign: tbs then signer->sign; out holds HS_CERT_LEN bytes.
 * The signature is checked under signer->pk before it is returned, so a
 * faulty token cannot hand out a bad cert (OB_ERR_SIGNATURE); a failing
 * callback gives OB_ERR_CALLBACK.
 */
int	hs_cert_build(uint8_t [HS_CERT_LEN], uint8_t type,
	    uint32_t expiry_hours, const uint8_t certified[ED25519_PK_LEN],
	    const struct hs_signer *)
	    __attribute__((warn_unused_result));

/* Expiry hours as tor computes them (rend-spec; hs_service.c):
 * 08 cert: ceil((now + 54h) / 1h); 09/0B: floor(now / 1h) + 54. */
#define HS_CERT_LIFETIME_HOURS	54
uint32_t hs_cert_expiry_desc_signing(time_t now);
uint32_t hs_cert_expiry_intro(time_t now);

#endif /* OB_HS_CERT_H */
