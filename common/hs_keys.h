/*
 * Tor v3 onion service keys and the public arithmetic around them:
 * onion addresses, key blinding, credentials, time periods, shared random
 * values, the HSDir hash ring, and the OPE revision counter.
 *
 * Spec: torspec rend-spec-v3 ([ONIONADDRESS], [KEYBLIND], [SUBCRED],
 * [TIME-PERIODS], [WHERE-HSDESC], Appendix F); see
 * shared/reference/tor-v3-notes.md sections 1.5-1.7 and 2.1-2.3.
 *
 * Ed25519 keys come in two secret forms: a 32-byte RFC 8032 seed (what a
 * PKCS#11 token holds) and tor's 64-byte "expanded" key a|k (the clamped
 * scalar and the nonce prefix), the only form a blinded key can take.
 * Signing with an expanded key goes through libsodium's scalar and point
 * primitives; nothing here does field arithmetic by hand.
 *
 * Functions return 0 or a negative enum ob_err.
 */
#ifndef OB_HS_KEYS_H
#define OB_HS_KEYS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "crypto.h"

#define HS_ADDR_LEN		56	/* base32, without ".onion" */
#define HS_ADDR_VERSION		3
#define HS_SUBCRED_LEN		32
#define HS_SRV_LEN		32
#define HS_INDEX_LEN		32
#define HS_BLIND_PARAM_LEN	32
#define HS_OPE_KEY_LEN		32
#define HS_RSA_ID_LEN		20

/* Defaults from the consensus parameters' documentation (dir-spec). */
#define HS_PERIOD_LEN_DEFAULT	1440	/* minutes, "hsdir_interval" */
#define HS_PERIOD_LEN_MIN	5	/* tor's bounds on hsdir_interval */
#define HS_PERIOD_LEN_MAX	14400
#define HS_N_REPLICAS_DEFAULT	2	/* "hsdir_n_replicas" */
#define HS_SPREAD_STORE_DEFAULT	4	/* "hsdir_spread_store" */
#define HS_SPREAD_FETCH_DEFAULT	3	/* "hsdir_spread_fetch" */

/*
 * A signature oracle.  The codec never holds signing keys: whatever has
 * the key (a PKCS#11 token, an expanded key in memory) implements this.
 * sign() writes a 64-byte Ed25519 signature over msg and returns 0, or
 * returns nonzero on failure.  pk is the matching public key.
 */
struct hs_signer {
	int		(*sign)(void *ctx, uint8_t sig[ED25519_SIG_LEN],
			    const uint8_t *msg, size_t len);
	void		*ctx;
	uint8_t		 pk[ED25519_PK_LEN];
};

/*
 * Onion addresses: 56 lower-case base32 chars, ".onion" optional on
 * decode (either case accepted, as tor's base32 decoder does).  Decode
 * checks, in this order: length and alphabet (OB_ERR_FORMAT), version
 * byte 3 (OB_ERR_VERSION), checksum (OB_ERR_FORMAT), and that the key is
 * a canonical point of the prime-order subgroup, i.e. no torsion and not
 * small order (OB_ERR_KEY).  Encode does not check the key.
 */
int	hs_address_encode(char [HS_ADDR_LEN + 1],
	    const uint8_t [ED25519_PK_LEN])
	    __attribute__((warn_unused_result));
int	hs_address_decode(uint8_t [ED25519_PK_LEN], const char *)
	    __attribute__((warn_unused_result));

/* Expanded keys (tor's hs_ed25519_secret_key body). */
int	hs_expanded_from_seed(uint8_t [ED25519_EXPANDED_LEN],
	    const uint8_t [ED25519_SEED_LEN])
	    __attribute__((warn_unused_result));
int	hs_expanded_pubkey(uint8_t [ED25519_PK_LEN],
	    const uint8_t [ED25519_EXPANDED_LEN])
	    __attribute__((warn_unused_result));
/* Ed25519 signature made with an expanded key (a, k); pk = aB. */
int	hs_expanded_sign(uint8_t [ED25519_SIG_LEN], const void *, size_t,
	    const uint8_t [ED25519_EXPANDED_LEN],
	    const uint8_t [ED25519_PK_LEN])
	    __attribute__((warn_unused_result));
/*
 * Fill an hs_signer that signs with sk.  ctx points at the caller's sk
 * (no copy is made): the caller keeps sk alive while the signer is used
 * and wipes it after.  s->pk is a copy of pk; each signature derives the
 * public key from sk again, so a wrong pk cannot yield signatures that
 * claim another key (they just fail to verify under s->pk).
 */
void	hs_signer_expanded(struct hs_signer *,
	    const uint8_t sk[ED25519_EXPANDED_LEN],
	    const uint8_t pk[ED25519_PK_LEN]);

/* Blinding ([KEYBLIND]).  period_len in minutes. */
int	hs_blind_param(uint8_t [HS_BLIND_PARAM_LEN],
	    const uint8_t [ED25519_PK_LEN], uint64_t tp, uint64_t period_len)
	    __attribute__((warn_unused_result));
int	hs_blind_pubkey(uint8_t [ED25519_PK_LEN],
	    const uint8_t [ED25519_PK_LEN], uint64_t tp, uint64_t period_len)
	    __attribute__((warn_unused_result));
int	hs_blind_seckey(uint8_t [ED25519_EXPANDED_LEN],
	    const uint8_t [ED25519_EXPANDED_LEN],
	    const uint8_t [ED25519_PK_LEN], uint64_t tp, uint64_t period_len)
	    __attribute__((warn_unused_result));
/*
 * The step under both: blind with a given parameter h (the unclamped
 * 32-byte hash hs_blind_param() returns; it is clamped here as tor's
 * ed25519_donna_gettweak() does).  The public form fails with OB_ERR_KEY
 * for a key that is not a canonical point of the prime-order subgroup.
 * The secret form gives a' = h a mod l and
 * k' = SHA-512("Derive temporary signing key hash input" | k)[0:32].
 */
int	hs_blind_pubkey_param(uint8_t [ED25519_PK_LEN],
	    const uint8_t [ED25519_PK_LEN], const uint8_t [HS_BLIND_PARAM_LEN])
	    __attribute__((warn_unused_result));
int	hs_blind_seckey_param(uint8_t [ED25519_EXPANDED_LEN],
	    const uint8_t [ED25519_EXPANDED_LEN],
	    const uint8_t [HS_BLIND_PARAM_LEN])
	    __attribute__((warn_unused_result));

/* [SUBCRED]: credential from the identity key, subcredential from it and
 * the blinded key. */
int	hs_credential(uint8_t [SHA3_256_LEN], const uint8_t [ED25519_PK_LEN])
	    __attribute__((warn_unused_result));
int	hs_subcredential(uint8_t [HS_SUBCRED_LEN],
	    const uint8_t identity_pk[ED25519_PK_LEN],
	    const uint8_t blinded_pk[ED25519_PK_LEN])
	    __attribute__((warn_unused_result));

/*
 * Time periods ([TIME-PERIODS]).  All times are consensus valid-after
 * times (seconds since the epoch), never the wall clock.  rotation_offset
 * is the SR phase length in minutes (720 on the live network; the voting
 * interval times 12 on test networks).
 */
/*
 * Where the two numbers come from (tor hs_common.c get_time_period_length,
 * hs_get_time_period_num; shared_random_client.c):
 *  - voting interval V = fresh-until - valid-after of the consensus, in
 *    seconds (3600 on the live network);
 *  - rot_offset = 12 V / 60 minutes (one SR phase: 12 rounds);
 *  - period_len: on a TestingTorNetwork, one whole SR protocol run,
 *    24 V / 60 minutes, whatever the consensus says; otherwise the
 *    consensus parameter "hsdir_interval" (default 1440), clamped to
 *    [5, 14400] as tor clamps out-of-range parameters.
 * hs_period_params() does exactly that.  hsdir_interval < 0 means the
 * parameter is absent.  Fails with OB_ERR_RANGE when the voting interval
 * is under 3 seconds (a period of less than a minute).
 */
int	hs_period_params(uint64_t *period_len, uint64_t *rot_offset,
	    time_t valid_after, time_t fresh_until, int testing_network,
	    int64_t hsdir_interval)
	    __attribute__((warn_unused_result));
/* tp = (t / 60 - rot_offset) / period_len.  Returns 0 for period_len 0,
 * negative t or t before the first period (tor asserts there). */
uint64_t hs_time_period(time_t, uint64_t period_len, uint64_t rot_offset);
/* (tp * period_len + rot_offset) * 60, or (time_t)-1 on overflow. */
time_t	 hs_time_period_start(uint64_t tp, uint64_t period_len,
	    uint64_t rot_offset);
/* SRV used when the consensus has none (rend-spec 2.3.1). */
int	hs_disaster_srv(uint8_t [HS_SRV_LEN], uint64_t tp, uint64_t period_len)
	    __attribute__((warn_unused_result));

/* The hash ring ([WHERE-HSDESC]). */
int	hs_service_index(uint8_t [HS_INDEX_LEN], const uint8_t blinded[32],
	    uint64_t replica, uint64_t period_len, uint64_t tp)
	    __attribute__((warn_unused_result));
int	hs_hsdir_index(uint8_t [HS_INDEX_LEN], const uint8_t ed_id[32],
	    const uint8_t srv[HS_SRV_LEN], uint64_t tp, uint64_t period_len)
	    __attribute__((warn_unused_result));

/* A relay on the ring: one with the HSDir flag, HSDir=2 and an ed25519
 * id.  index is filled by hs_responsible_hsdirs(). */
struct hs_relay {
	uint8_t		ed_id[ED25519_PK_LEN];
	uint8_t		rsa_id[HS_RSA_ID_LEN];	/* for HSPOST SERVER= */
	uint8_t		index[HS_INDEX_LEN];
};

/*
 * The HSDirs responsible for a blinded key: for each replica 1..n_replicas,
 * the first "spread" relays at or after the service index on the ring
 * sorted by hsdir index, wrapping, skipping relays already chosen.
 * Writes up to max indexes into relays[] to out[] and the count to *nout.
 * Reorders nothing in relays[] (only fills relays[i].index).
 * Output order: replica 1's picks in ring order, then replica 2's, ...
 * (tor's hs_get_responsible_hsdirs()).  A ring with fewer relays than
 * n_replicas * spread yields each relay once, and no relays is not an
 * error (*nout = 0).  Fails with OB_ERR_RANGE for n_replicas outside
 * [1, 16] or spread outside [1, 128] (tor's bounds), OB_ERR_TOO_LARGE
 * when out[] fills up before the walk ends (out holds what fitted),
 * OB_ERR_NOMEM.  For fetching, pass spread = hsdir_spread_fetch.
 */
int	hs_responsible_hsdirs(size_t *out, size_t max, size_t *nout,
	    struct hs_relay *relays, size_t nrelays,
	    const uint8_t blinded[ED25519_PK_LEN], uint64_t tp,
	    uint64_t period_len, const uint8_t srv[HS_SRV_LEN],
	    unsigned n_replicas, unsigned spread)
	    __attribute__((warn_unused_result));

/*
 * Revision counters: tor's order-preserving encryption (crypto_ope.c;
 * rend-spec F.2).  Key = SHA3-256("rev-counter-generation\0" |
 * blinded expanded secret(64)), exactly as hs_service.c derives it.
 * struct hs_ope caches its position so successive calls with growing
 * plaintexts cost only the new keystream, not a loop from zero.
 */
#define HS_OPE_INPUT_MAX	(1U << 18)
struct hs_ope {
	uint8_t		key[HS_OPE_KEY_LEN];
	uint32_t	pos;	/* plaintext the cached sum is for */
	uint64_t	sum;
};
int	hs_ope_key(uint8_t [HS_OPE_KEY_LEN],
	    const uint8_t blinded_sk[ED25519_EXPANDED_LEN])
	    __attribute__((warn_unused_result));
void	hs_ope_init(struct hs_ope *, const uint8_t [HS_OPE_KEY_LEN]);
/* Wipe the key and the cache. */
void	hs_ope_wipe(struct hs_ope *);
/*
 * 1 <= plaintext <= HS_OPE_INPUT_MAX, else OB_ERR_RANGE.  The result is
 * tor's crypto_ope_encrypt(): sum over i < plaintext of
 * (LE16(AES-256-CTR(key, IV 0) at byte 2i) + 1).  A plaintext at or
 * above the cached one costs only the new keystream; a smaller one
 * starts again from zero.  Not constant time (neither is tor's).
 */
int	hs_ope_encrypt(struct hs_ope *, uint32_t plaintext, uint64_t *)
	    __attribute__((warn_unused_result));
/*
 * The plaintext tor feeds it for a descriptor of time period tp uploaded
 * at "now": seconds since the start of the SR run that began 12h (one
 * rotation offset) before the period, plus one.  Fails with OB_ERR_RANGE
 * when now is outside the period's 48-hour window of use, in general
 * [start - rot_offset, start + period_len + rot_offset) (minutes), or when
 * the result would exceed HS_OPE_INPUT_MAX.
 */
int	hs_revision_plaintext(uint32_t *, time_t now, uint64_t tp,
	    uint64_t period_len, uint64_t rot_offset)
	    __attribute__((warn_unused_result));

#endif /* OB_HS_KEYS_H */
