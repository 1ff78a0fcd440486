/*
 * Tor v3 onion service key arithmetic; see hs_keys.h for the contracts.
 *
 * Hashes go through crypto.h (OpenSSL); group and scalar operations go
 * through libsodium's ed25519 core primitives, because OpenSSL has no API
 * for an Ed25519 key that is not a seed.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "crypto.h"
#include "encode.h"
#include "err.h"
#include "hs_keys.h"

#define ADDR_CHECKSUM_PREFIX	".onion checksum"
#define ADDR_RAW_LEN		(ED25519_PK_LEN + 2 + 1)
#define ONION_SUFFIX		".onion"

/* rend-spec [KEYBLIND]; tor hashes the string with its NUL (sizeof). */
static const char blind_string[] = "Derive temporary signing key";
#define BLIND_NONCE_PREFIX	"key-blind"
#define BLIND_HASH_INPUT	"Derive temporary signing key hash input"
/* The ed25519 basepoint as rend-spec spells it out for the blinding hash. */
#define BASEPOINT_STR							\
	"(15112221349535400772501151409588531511454012693041857206046113"\
	"283949847762202, 46316835694926478169428394003475163141307993866"\
	"256225615783033603165251855960)"

#define CREDENTIAL_PREFIX	"credential"
#define SUBCREDENTIAL_PREFIX	"subcredential"
#define SRV_DISASTER_PREFIX	"shared-random-disaster"
#define HS_INDEX_PREFIX		"store-at-idx"
#define HSDIR_INDEX_PREFIX	"node-idx"
/* tor's generate_ope_cipher_for_desc() hashes sizeof() of a char[]. */
static const char ope_key_prefix[] = "rev-counter-generation";

/* Bounds tor applies to the consensus parameters (hs_common.c). */
#define HS_N_REPLICAS_MAX	16
#define HS_SPREAD_MAX		128

static void
address_checksum(uint8_t out[2], const uint8_t pk[ED25519_PK_LEN])
{
	uint8_t		h[SHA3_256_LEN], ver = HS_ADDR_VERSION;
	struct ob_iov	v[3] = {
		{ ADDR_CHECKSUM_PREFIX, sizeof(ADDR_CHECKSUM_PREFIX) - 1 },
		{ pk, ED25519_PK_LEN },
		{ &ver, 1 },
	};

	/* SHA3 over fixed inputs cannot fail short of a broken library. */
	if (ob_sha3_256(h, v, 3) != 0)
		memset(h, 0, sizeof(h));
	memcpy(out, h, 2);
}

int
hs_address_encode(char out[HS_ADDR_LEN + 1],
    const uint8_t pk[ED25519_PK_LEN])
{
	uint8_t	raw[ADDR_RAW_LEN];
	int	r;

	memcpy(raw, pk, ED25519_PK_LEN);
	address_checksum(raw + ED25519_PK_LEN, pk);
	raw[ADDR_RAW_LEN - 1] = HS_ADDR_VERSION;
	if ((r = b32_encode(out, HS_ADDR_LEN + 1, raw, sizeof(raw))) != 0)
		return r;
	return 0;
}

int
hs_address_decode(uint8_t pk[ED25519_PK_LEN], const char *addr)
{
	char	lower[HS_ADDR_LEN];
	uint8_t	raw[ADDR_RAW_LEN], sum[2];
	size_t	len, i;
	int	r;

	len = strnlen(addr, HS_ADDR_LEN + sizeof(ONION_SUFFIX));
	if (len == HS_ADDR_LEN + sizeof(ONION_SUFFIX) - 1 &&
	    strcmp(addr + HS_ADDR_LEN, ONION_SUFFIX) == 0)
		len = HS_ADDR_LEN;
	if (len != HS_ADDR_LEN)
		return OB_ERR_FORMAT;
	/* Tor's base32 decoder takes either case; so do we. */
	for (i = 0; i < HS_ADDR_LEN; i++)
		lower[i] = (addr[i] >= 'A' && addr[i] <= 'Z') ?
		    (char)(addr[i] - 'A' + 'a') : addr[i];
	if ((r = b32_decode(raw, sizeof(raw), lower, HS_ADDR_LEN)) != 0)
		return r;
	if (raw[ADDR_RAW_LEN - 1] != HS_ADDR_VERSION)
		return OB_ERR_VERSION;
	address_checksum(sum, raw);
	if (memcmp(sum, raw + ED25519_PK_LEN, 2) != 0)
		return OB_ERR_FORMAT;
	/* Rejects non-canonical, small-order and torsion (rend-spec 2.2.7). */
	if (crypto_core_ed25519_is_valid_point(raw) != 1)
		return OB_ERR_KEY;
	memcpy(pk, raw, ED25519_PK_LEN);
	return 0;
}

/* Reduce a 32-byte little-endian integer mod l. */
static void
scalar_reduce32(uint8_t out[32], const uint8_t in[32])
{
	uint8_t	wide[64];

	memcpy(wide, in, 32);
	memset(wide + 32, 0, 32);
	crypto_core_ed25519_scalar_reduce(out, wide);
	sodium_memzero(wide, sizeof(wide));
}

int
hs_expanded_from_seed(uint8_t sk[ED25519_EXPANDED_LEN],
    const uint8_t seed[ED25519_SEED_LEN])
{
	struct ob_iov	v = { seed, ED25519_SEED_LEN };
	int		r;

	if ((r = ob_sha512(sk, &v, 1)) != 0)
		return r;
	/* RFC 8032 5.1.5 clamping of the first half. */
	sk[0] &= 248;
	sk[31] &= 127;
	sk[31] |= 64;
	return 0;
}

int
hs_expanded_pubkey(uint8_t pk[ED25519_PK_LEN],
    const uint8_t sk[ED25519_EXPANDED_LEN])
{
	uint8_t	a[32];
	int	r = 0;

	/* a may exceed l (a clamped key) or be reduced (a blinded one). */
	scalar_reduce32(a, sk);
	if (crypto_scalarmult_ed25519_base_noclamp(pk, a) != 0)
		r = OB_ERR_KEY;
	sodium_memzero(a, sizeof(a));
	return r;
}

int
hs_expanded_sign(uint8_t sig[ED25519_SIG_LEN], const void *msg, size_t len,
    const uint8_t sk[ED25519_EXPANDED_LEN], const uint8_t pk[ED25519_PK_LEN])
{
	uint8_t		h[64], rs[32], a[32], hram[32], s[32];
	struct ob_iov	v[3];
	int		r;

	/* r = H(k | M) mod l, R = rB */
	v[0].p = sk + 32;
	v[0].n = 32;
	v[1].p = msg;
	v[1].n = len;
	if ((r = ob_sha512(h, v, 2)) != 0)
		goto err;
	crypto_core_ed25519_scalar_reduce(rs, h);
	if (crypto_scalarmult_ed25519_base_noclamp(sig, rs) != 0) {
		r = OB_ERR_INTERNAL;
		goto err;
	}
	/* S = r + H(R | A | M) a mod l */
	v[0].p = sig;
	v[0].n = 32;
	v[1].p = pk;
	v[1].n = ED25519_PK_LEN;
	v[2].p = msg;
	v[2].n = len;
	if ((r = ob_sha512(h, v, 3)) != 0)
		goto err;
	crypto_core_ed25519_scalar_reduce(hram, h);
	scalar_reduce32(a, sk);
	crypto_core_ed25519_scalar_mul(s, hram, a);
	crypto_core_ed25519_scalar_add(sig + 32, s, rs);
	r = 0;
 err:
	sodium_memzero(h, sizeof(h));
	sodium_memzero(rs, sizeof(rs));
	sodium_memzero(a, sizeof(a));
	sodium_memzero(s, sizeof(s));
	return r;
}

/*
 * The signer callback for an expanded key.  ctx is the caller's key; the
 * public key is derived again so that a wrong pk given to
 * hs_signer_expanded() cannot produce signatures that claim another key.
 */
static int
expanded_signer_sign(void *ctx, uint8_t sig[ED25519_SIG_LEN],
    const uint8_t *msg, size_t len)
{
	const uint8_t	*sk = ctx;
	uint8_t		 pk[ED25519_PK_LEN];

	if (sk == NULL || hs_expanded_pubkey(pk, sk) != 0)
		return -1;
	return hs_expanded_sign(sig, msg, len, sk, pk) == 0 ? 0 : -1;
}

void
hs_signer_expanded(struct hs_signer *s, const uint8_t sk[ED25519_EXPANDED_LEN],
    const uint8_t pk[ED25519_PK_LEN])
{
	s->sign = expanded_signer_sign;
	s->ctx = (void *)(uintptr_t)sk;	/* only read by the callback */
	memcpy(s->pk, pk, ED25519_PK_LEN);
}

int
hs_blind_param(uint8_t param[HS_BLIND_PARAM_LEN],
    const uint8_t pk[ED25519_PK_LEN], uint64_t tp, uint64_t period_len)
{
	uint8_t		nonce[sizeof(BLIND_NONCE_PREFIX) - 1 + 16];
	size_t		plen = sizeof(BLIND_NONCE_PREFIX) - 1;
	struct ob_iov	v[4] = {
		{ blind_string, sizeof(blind_string) },
		{ pk, ED25519_PK_LEN },
		{ BASEPOINT_STR, sizeof(BASEPOINT_STR) - 1 },
		{ nonce, sizeof(nonce) },
	};

	memcpy(nonce, BLIND_NONCE_PREFIX, plen);
	be64_put(nonce + plen, tp);
	be64_put(nonce + plen + 8, period_len);
	return ob_sha3_256(param, v, 4);
}

/* tor's ed25519_donna_gettweak(): clamp h the way the spec says. */
static void
blind_tweak(uint8_t t[32], const uint8_t param[HS_BLIND_PARAM_LEN])
{
	memcpy(t, param, 32);
	t[0] &= 248;
	t[31] &= 63;
	t[31] |= 64;
}

int
hs_blind_pubkey_param(uint8_t out[ED25519_PK_LEN],
    const uint8_t pk[ED25519_PK_LEN], const uint8_t param[HS_BLIND_PARAM_LEN])
{
	uint8_t	t[32];
	int	r = 0;

	blind_tweak(t, param);
	/* Fails on a non-canonical, small-order or off-subgroup A. */
	if (crypto_scalarmult_ed25519_noclamp(out, t, pk) != 0)
		r = OB_ERR_KEY;
	sodium_memzero(t, sizeof(t));
	return r;
}

int
hs_blind_seckey_param(uint8_t out[ED25519_EXPANDED_LEN],
    const uint8_t sk[ED25519_EXPANDED_LEN],
    const uint8_t param[HS_BLIND_PARAM_LEN])
{
	uint8_t		t[32], tr[32], a[32], h[64];
	struct ob_iov	v[2] = {
		{ BLIND_HASH_INPUT, sizeof(BLIND_HASH_INPUT) - 1 },
		{ sk + 32, 32 },
	};
	int		r;

	if ((r = ob_sha512(h, v, 2)) != 0)
		goto err;
	/* a' = h a mod l, both reduced first: scalar_mul wants inputs < l. */
	blind_tweak(t, param);
	scalar_reduce32(tr, t);
	scalar_reduce32(a, sk);
	crypto_core_ed25519_scalar_mul(out, tr, a);
	/* k' = SHA-512("...hash input" | k)[0:32] */
	memcpy(out + 32, h, 32);
	r = 0;
 err:
	sodium_memzero(t, sizeof(t));
	sodium_memzero(tr, sizeof(tr));
	sodium_memzero(a, sizeof(a));
	sodium_memzero(h, sizeof(h));
	return r;
}

int
hs_blind_pubkey(uint8_t out[ED25519_PK_LEN], const uint8_t pk[ED25519_PK_LEN],
    uint64_t tp, uint64_t period_len)
{
	uint8_t	param[HS_BLIND_PARAM_LEN];
	int	r;

	if ((r = hs_blind_param(param, pk, tp, period_len)) != 0)
		return r;
	return hs_blind_pubkey_param(out, pk, param);
}

int
hs_blind_seckey(uint8_t out[ED25519_EXPANDED_LEN],
    const uint8_t sk[ED25519_EXPANDED_LEN], const uint8_t pk[ED25519_PK_LEN],
    uint64_t tp, uint64_t period_len)
{
	uint8_t	param[HS_BLIND_PARAM_LEN];
	int	r;

	if ((r = hs_blind_param(param, pk, tp, period_len)) != 0)
		return r;
	return hs_blind_seckey_param(out, sk, param);
}

int
hs_credential(uint8_t out[SHA3_256_LEN], const uint8_t pk[ED25519_PK_LEN])
{
	struct ob_iov	v[2] = {
		{ CREDENTIAL_PREFIX, sizeof(CREDENTIAL_PREFIX) - 1 },
		{ pk, ED25519_PK_LEN },
	};

	return ob_sha3_256(out, v, 2);
}

int
hs_subcredential(uint8_t out[HS_SUBCRED_LEN],
    const uint8_t identity_pk[ED25519_PK_LEN],
    const uint8_t blinded_pk[ED25519_PK_LEN])
{
	uint8_t		cred[SHA3_256_LEN];
	struct ob_iov	v[3] = {
		{ SUBCREDENTIAL_PREFIX, sizeof(SUBCREDENTIAL_PREFIX) - 1 },
		{ cred, sizeof(cred) },
		{ blinded_pk, ED25519_PK_LEN },
	};
	int		r;

	if ((r = hs_credential(cred, identity_pk)) != 0)
		return r;
	return ob_sha3_256(out, v, 3);
}

int
hs_period_params(uint64_t *period_len, uint64_t *rot_offset,
    time_t valid_after, time_t fresh_until, int testing_network,
    int64_t hsdir_interval)
{
	int64_t	voting;

	if (fresh_until <= valid_after)
		return OB_ERR_RANGE;
	voting = (int64_t)fresh_until - (int64_t)valid_after;
	/* One SR round per voting interval; 12 rounds a phase, 24 a run.
	 * Test networks vote every few seconds; a run must last a minute. */
	if (voting < 3 || voting > INT64_MAX / 24)
		return OB_ERR_RANGE;
	*rot_offset = (uint64_t)(voting * 12 / 60);
	if (testing_network)
		*period_len = (uint64_t)(voting * 24 / 60);
	else if (hsdir_interval < 0)
		*period_len = HS_PERIOD_LEN_DEFAULT;
	else if (hsdir_interval < HS_PERIOD_LEN_MIN)
		*period_len = HS_PERIOD_LEN_MIN;	/* tor clamps */
	else if (hsdir_interval > HS_PERIOD_LEN_MAX)
		*period_len = HS_PERIOD_LEN_MAX;
	else
		*period_len = (uint64_t)hsdir_interval;
	return 0;
}

uint64_t
hs_time_period(time_t t, uint64_t period_len, uint64_t rot_offset)
{
	uint64_t	min;

	if (t < 0 || period_len == 0)
		return 0;
	min = (uint64_t)t / 60;
	if (min < rot_offset)
		return 0;
	return (min - rot_offset) / period_len;
}

time_t
hs_time_period_start(uint64_t tp, uint64_t period_len, uint64_t rot_offset)
{
	uint64_t	min;

	if (period_len != 0 && tp > (UINT64_MAX - rot_offset) / period_len)
		return (time_t)-1;
	min = tp * period_len + rot_offset;
	if (min > (uint64_t)INT64_MAX / 60)
		return (time_t)-1;
	return (time_t)(min * 60);
}

int
hs_disaster_srv(uint8_t out[HS_SRV_LEN], uint64_t tp, uint64_t period_len)
{
	uint8_t		nums[16];
	struct ob_iov	v[2] = {
		{ SRV_DISASTER_PREFIX, sizeof(SRV_DISASTER_PREFIX) - 1 },
		{ nums, sizeof(nums) },
	};

	be64_put(nums, period_len);
	be64_put(nums + 8, tp);
	return ob_sha3_256(out, v, 2);
}

int
hs_service_index(uint8_t out[HS_INDEX_LEN], const uint8_t blinded[32],
    uint64_t replica, uint64_t period_len, uint64_t tp)
{
	uint8_t		nums[24];
	struct ob_iov	v[3] = {
		{ HS_INDEX_PREFIX, sizeof(HS_INDEX_PREFIX) - 1 },
		{ blinded, ED25519_PK_LEN },
		{ nums, sizeof(nums) },
	};

	be64_put(nums, replica);
	be64_put(nums + 8, period_len);
	be64_put(nums + 16, tp);
	return ob_sha3_256(out, v, 3);
}

int
hs_hsdir_index(uint8_t out[HS_INDEX_LEN], const uint8_t ed_id[32],
    const uint8_t srv[HS_SRV_LEN], uint64_t tp, uint64_t period_len)
{
	uint8_t		nums[16];
	struct ob_iov	v[4] = {
		{ HSDIR_INDEX_PREFIX, sizeof(HSDIR_INDEX_PREFIX) - 1 },
		{ ed_id, ED25519_PK_LEN },
		{ srv, HS_SRV_LEN },
		{ nums, sizeof(nums) },
	};

	/* Note the order: tp before period_len here, unlike store-at-idx. */
	be64_put(nums, tp);
	be64_put(nums + 8, period_len);
	return ob_sha3_256(out, v, 4);
}

static int
relay_index_cmp(const void *a, const void *b)
{
	const struct hs_relay	*ra = *(const struct hs_relay *const *)a;
	const struct hs_relay	*rb = *(const struct hs_relay *const *)b;

	return memcmp(ra->index, rb->index, HS_INDEX_LEN);
}

/* First position in the sorted ring whose index is >= key. */
static size_t
ring_lower_bound(struct hs_relay *const *ring, size_t n,
    const uint8_t key[HS_INDEX_LEN])
{
	size_t	lo = 0, hi = n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (memcmp(ring[mid]->index, key, HS_INDEX_LEN) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int
hs_responsible_hsdirs(size_t *out, size_t max, size_t *nout,
    struct hs_relay *relays, size_t nrelays,
    const uint8_t blinded[ED25519_PK_LEN], uint64_t tp,
    uint64_t period_len, const uint8_t srv[HS_SRV_LEN],
    unsigned n_replicas, unsigned spread)
{
	struct hs_relay	**ring = NULL;
	uint8_t		  key[HS_INDEX_LEN];
	size_t		  i, j, idx, start, added, pos;
	unsigned	  replica;
	int		  r, seen;

	*nout = 0;
	if (n_replicas < 1 || n_replicas > HS_N_REPLICAS_MAX ||
	    spread < 1 || spread > HS_SPREAD_MAX)
		return OB_ERR_RANGE;
	if (nrelays == 0)
		return 0;
	if ((ring = calloc(nrelays, sizeof(*ring))) == NULL)
		return OB_ERR_NOMEM;
	for (i = 0; i < nrelays; i++) {
		if ((r = hs_hsdir_index(relays[i].index, relays[i].ed_id, srv,
		    tp, period_len)) != 0)
			goto err;
		ring[i] = &relays[i];
	}
	qsort(ring, nrelays, sizeof(*ring), relay_index_cmp);

	for (replica = 1; replica <= n_replicas; replica++) {
		if ((r = hs_service_index(key, blinded, replica, period_len,
		    tp)) != 0)
			goto err;
		start = idx = ring_lower_bound(ring, nrelays, key);
		if (idx == nrelays)
			start = idx = 0;
		added = 0;
		while (added < spread) {
			pos = (size_t)(ring[idx] - relays);
			/* A relay already chosen for an earlier replica is
			 * skipped and does not count (rend-spec). */
			for (seen = 0, j = 0; j < *nout && !seen; j++)
				seen = out[j] == pos;
			if (!seen) {
				if (*nout == max) {
					r = OB_ERR_TOO_LARGE;
					goto err;
				}
				out[(*nout)++] = pos;
				added++;
			}
			if (++idx == nrelays)
				idx = 0;
			if (idx == start)
				break;	/* went round the whole ring */
		}
	}
	r = 0;
 err:
	free(ring);
	return r;
}

int
hs_ope_key(uint8_t key[HS_OPE_KEY_LEN],
    const uint8_t blinded_sk[ED25519_EXPANDED_LEN])
{
	struct ob_iov	v[2] = {
		{ ope_key_prefix, sizeof(ope_key_prefix) },
		{ blinded_sk, ED25519_EXPANDED_LEN },
	};

	return ob_sha3_256(key, v, 2);
}

void
hs_ope_init(struct hs_ope *ope, const uint8_t key[HS_OPE_KEY_LEN])
{
	memcpy(ope->key, key, HS_OPE_KEY_LEN);
	ope->pos = 0;
	ope->sum = 0;
}

void
hs_ope_wipe(struct hs_ope *ope)
{
	sodium_memzero(ope, sizeof(*ope));
}

/* Keystream per call: a multiple of the AES block so chunks stay aligned. */
#define OPE_CHUNK	4096

/*
 * Add the OPE values of inputs [from, to) to *sum: value i is the
 * little-endian 16-bit word at byte 2i of AES-256-CTR(key, IV = 0)
 * keystream, plus one.  The CTR counter is the whole 128-bit IV, so the
 * stream can start at block (2 from) / 16 with IV = that block number.
 */
static int
ope_sum_range(const uint8_t key[HS_OPE_KEY_LEN], uint32_t from, uint32_t to,
    uint64_t *sum)
{
	uint8_t		ks[OPE_CHUNK], iv[AES_IV_LEN];
	uint64_t	total = 0;
	size_t		skip, want, i;
	uint32_t	block, left = to - from;
	int		r = 0;

	if (to < from || to > HS_OPE_INPUT_MAX)
		return OB_ERR_INTERNAL;
	block = from / 8;
	skip = (size_t)(from % 8) * 2;
	while (left > 0) {
		want = skip + (size_t)left * 2;
		if (want > OPE_CHUNK)
			want = OPE_CHUNK;
		memset(ks, 0, want);
		memset(iv, 0, sizeof(iv));
		iv[12] = (uint8_t)(block >> 24);
		iv[13] = (uint8_t)(block >> 16);
		iv[14] = (uint8_t)(block >> 8);
		iv[15] = (uint8_t)block;
		if ((r = ob_aes256_ctr(ks, ks, want, key, iv)) != 0)
			goto err;
		for (i = skip; i < want; i += 2)
			total += (uint64_t)ks[i] +
			    ((uint64_t)ks[i + 1] << 8) + 1;
		left -= (uint32_t)((want - skip) / 2);
		block += (uint32_t)(want / 16);
		skip = 0;
	}
	*sum += total;
 err:
	sodium_memzero(ks, sizeof(ks));
	return r;
}

int
hs_ope_encrypt(struct hs_ope *ope, uint32_t plaintext, uint64_t *out)
{
	uint64_t	sum;
	uint32_t	pos;
	int		r;

	if (plaintext < 1 || plaintext > HS_OPE_INPUT_MAX)
		return OB_ERR_RANGE;
	pos = ope->pos;
	sum = ope->sum;
	/* The cache only runs forwards; going back means starting over. */
	if (plaintext < pos || pos > HS_OPE_INPUT_MAX) {
		pos = 0;
		sum = 0;
	}
	if ((r = ope_sum_range(ope->key, pos, plaintext, &sum)) != 0)
		return r;
	ope->pos = plaintext;
	ope->sum = sum;
	*out = sum;
	return 0;
}

int
hs_revision_plaintext(uint32_t *out, time_t now, uint64_t tp,
    uint64_t period_len, uint64_t rot_offset)
{
	time_t		tp_start;
	int64_t		srv_start, window, t;

	if (period_len == 0 || period_len > UINT32_MAX ||
	    rot_offset > UINT32_MAX ||
	    (tp_start = hs_time_period_start(tp, period_len, rot_offset)) ==
	    (time_t)-1)
		return OB_ERR_RANGE;
	/* The SR run whose SRV places this period's "second" descriptor. */
	srv_start = (int64_t)tp_start - (int64_t)rot_offset * 60;
	/* Second descriptor from srv_start, first until a rotation offset
	 * after the period ends: 48 h on the live network. */
	window = ((int64_t)period_len + 2 * (int64_t)rot_offset) * 60;
	if ((int64_t)now < srv_start || (int64_t)now - srv_start >= window)
		return OB_ERR_RANGE;
	t = (int64_t)now - srv_start + 1;
	if (t > HS_OPE_INPUT_MAX)
		return OB_ERR_RANGE;
	*out = (uint32_t)t;
	return 0;
}
