/*
 * v3 descriptor codec: the parts shared by the parser and the builder
 * (lifetime of struct hs_desc, the layer cipher, client-auth keys, link
 * specifier blocks).  See hs_desc.h for the contract.
 */
#include "config.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "crypto.h"
#include "encode.h"
#include "err.h"
#include "hs_desc.h"
#include "hs_desc_int.h"

void
hs_desc_init(struct hs_desc *d)
{
	memset(d, 0, sizeof(*d));
}

void
hs_desc_clear(struct hs_desc *d)
{
	size_t	n;

	if (d->auth_clients != NULL) {
		ob_wipe(d->auth_clients,
		    d->n_auth_clients * sizeof(*d->auth_clients));
		free(d->auth_clients);
	}
	if (d->pow_params != NULL) {
		ob_wipe(d->pow_params, strlen(d->pow_params));
		free(d->pow_params);
	}
	/*
	 * The intro point array is most of the struct (55 kB), and the
	 * decoder clears a struct three times per descriptor: wipe the
	 * points in use only.  Nothing lies above n_intro: the decoder
	 * zeroes a point it skips, and builders count what they fill.
	 */
	n = d->n_intro < HS_DESC_MAX_INTRO ? d->n_intro : HS_DESC_MAX_INTRO;
	ob_wipe(d->intro, n * sizeof(d->intro[0]));
	ob_wipe(d, offsetof(struct hs_desc, intro));
	ob_wipe(&d->n_intro, sizeof(*d) - offsetof(struct hs_desc, n_intro));
}

/* SHAKE-256(SECRET | subcred | INT_8(rev) | SALT | constant) -> 80 bytes:
 * key(32) | iv(16) | mac key(32). */
static int
layer_keys(uint8_t keys[AES256_KEY_LEN + AES_IV_LEN + SHA3_256_LEN],
    const uint8_t *secret, size_t secretlen,
    const uint8_t subcred[HS_SUBCRED_LEN], uint64_t rev,
    const uint8_t salt[HS_DESC_SALT_LEN], const char *constant)
{
	uint8_t		rev8[8];
	struct ob_iov	v[5];

	be64_put(rev8, rev);
	v[0].p = secret;	v[0].n = secretlen;
	v[1].p = subcred;	v[1].n = HS_SUBCRED_LEN;
	v[2].p = rev8;		v[2].n = sizeof(rev8);
	v[3].p = salt;		v[3].n = HS_DESC_SALT_LEN;
	v[4].p = constant;	v[4].n = strlen(constant);
	return ob_shake256(keys, AES256_KEY_LEN + AES_IV_LEN + SHA3_256_LEN,
	    v, 5);
}

/* SHA3-256(INT_8(32) | MAC_KEY | INT_8(16) | SALT | ENCRYPTED). */
static int
layer_mac(uint8_t mac[HS_DESC_MAC_LEN], const uint8_t mac_key[32],
    const uint8_t salt[HS_DESC_SALT_LEN], const uint8_t *ct, size_t ctlen)
{
	uint8_t		l1[8], l2[8];
	struct ob_iov	v[5];

	be64_put(l1, SHA3_256_LEN);
	be64_put(l2, HS_DESC_SALT_LEN);
	v[0].p = l1;		v[0].n = sizeof(l1);
	v[1].p = mac_key;	v[1].n = SHA3_256_LEN;
	v[2].p = l2;		v[2].n = sizeof(l2);
	v[3].p = salt;		v[3].n = HS_DESC_SALT_LEN;
	v[4].p = ct;		v[4].n = ctlen;
	return ob_sha3_256(mac, v, 5);
}

/*
 * Check blob's MAC and, if it verifies, decrypt its ciphertext into out
 * (which may be where the ciphertext lies in blob: AES-CTR runs in
 * place), *ctlenp bytes.
 */
static int
layer_open(uint8_t *out, size_t *ctlenp,
    const uint8_t *blob, size_t bloblen, const uint8_t *secret,
    size_t secretlen, const uint8_t subcred[HS_SUBCRED_LEN], uint64_t rev,
    const char *constant)
{
	uint8_t		 keys[AES256_KEY_LEN + AES_IV_LEN + SHA3_256_LEN];
	uint8_t		 salt[HS_DESC_SALT_LEN], mac[HS_DESC_MAC_LEN];
	uint8_t		 want[HS_DESC_MAC_LEN];
	struct buf	 b, ct;
	size_t		 ctlen;
	int		 r;

	/* At least one byte of ciphertext: tor rejects an empty layer. */
	if (bloblen <= HS_DESC_SALT_LEN + HS_DESC_MAC_LEN)
		return OB_ERR_TRUNCATED;
	ctlen = bloblen - HS_DESC_SALT_LEN - HS_DESC_MAC_LEN;
	buf_init_ro(&b, blob, bloblen);
	if ((r = buf_get_bytes(&b, salt, sizeof(salt))) != 0 ||
	    (r = buf_get_view(&b, ctlen, &ct)) != 0 ||
	    (r = buf_get_bytes(&b, mac, sizeof(mac))) != 0 ||
	    (r = buf_end(&b)) != 0)
		goto err;
	if ((r = layer_keys(keys, secret, secretlen, subcred, rev, salt,
	    constant)) != 0 ||
	    (r = layer_mac(want, keys + AES256_KEY_LEN + AES_IV_LEN, salt,
	    buf_ptr(&ct), ctlen)) != 0)
		goto err;
	if (!ob_ct_eq(want, mac, sizeof(mac))) {
		r = OB_ERR_MAC;
		goto err;
	}
	if ((r = ob_aes256_ctr(out, buf_ptr(&ct), ctlen, keys,
	    keys + AES256_KEY_LEN)) != 0)
		goto err;
	*ctlenp = ctlen;
	r = 0;
 err:
	ob_wipe(keys, sizeof(keys));
	return r;
}

int
hs_desc_layer_decrypt(char **ptp, size_t *ptlenp, const uint8_t *blob,
    size_t bloblen, const uint8_t *secret, size_t secretlen,
    const uint8_t subcred[HS_SUBCRED_LEN], uint64_t rev,
    const char *constant)
{
	char		*pt = NULL;
	size_t		 ctlen = 0;
	int		 r;

	*ptp = NULL;
	*ptlenp = 0;
	if (bloblen <= HS_DESC_SALT_LEN + HS_DESC_MAC_LEN)
		return OB_ERR_TRUNCATED;
	if ((pt = malloc(bloblen - HS_DESC_SALT_LEN - HS_DESC_MAC_LEN +
	    1)) == NULL)
		return OB_ERR_NOMEM;
	if ((r = layer_open((uint8_t *)pt, &ctlen, blob, bloblen,
	    secret, secretlen, subcred, rev, constant)) != 0) {
		ob_wipe(pt, bloblen - HS_DESC_SALT_LEN - HS_DESC_MAC_LEN + 1);
		free(pt);
		return r;
	}
	pt[ctlen] = '\0';
	/* The padding (and anything after a NUL) is not part of the text. */
	*ptlenp = strlen(pt);
	*ptp = pt;
	return 0;
}

int
hs_desc_layer_decrypt_inplace(char **ptp, size_t *ptlenp, uint8_t *blob,
    size_t bloblen, const uint8_t *secret, size_t secretlen,
    const uint8_t subcred[HS_SUBCRED_LEN], uint64_t rev,
    const char *constant)
{
	char		*pt;
	size_t		 ctlen = 0;
	int		 r;

	*ptp = NULL;
	*ptlenp = 0;
	if (bloblen <= HS_DESC_SALT_LEN + HS_DESC_MAC_LEN)
		return OB_ERR_TRUNCATED;
	if ((r = layer_open(blob + HS_DESC_SALT_LEN, &ctlen, blob, bloblen,
	    secret, secretlen, subcred, rev, constant)) != 0)
		return r;
	/* The MAC has been checked: its first byte becomes the NUL. */
	pt = (char *)blob + HS_DESC_SALT_LEN;
	pt[ctlen] = '\0';
	*ptlenp = strlen(pt);
	*ptp = pt;
	return 0;
}

int
hs_desc_layer_encrypt(struct buf *out, const uint8_t *pt, size_t ptlen,
    size_t padded_len, const uint8_t *secret, size_t secretlen,
    const uint8_t subcred[HS_SUBCRED_LEN], uint64_t rev,
    const char *constant)
{
	uint8_t		 keys[AES256_KEY_LEN + AES_IV_LEN + SHA3_256_LEN];
	uint8_t		*blob = NULL, *ct;
	size_t		 ctlen, bloblen = 0;
	int		 r;

	ctlen = padded_len > ptlen ? padded_len : ptlen;
	if (ctlen == 0 || ctlen > HS_DESC_MAX_LEN * 2)
		return OB_ERR_TOO_LARGE;
	bloblen = HS_DESC_SALT_LEN + ctlen + HS_DESC_MAC_LEN;
	if ((blob = calloc(1, bloblen)) == NULL)
		return OB_ERR_NOMEM;
	ct = blob + HS_DESC_SALT_LEN;
	memcpy(ct, pt, ptlen);		/* calloc gave the NUL padding */
	if ((r = ob_random(blob, HS_DESC_SALT_LEN)) != 0 ||
	    (r = layer_keys(keys, secret, secretlen, subcred, rev, blob,
	    constant)) != 0 ||
	    (r = ob_aes256_ctr(ct, ct, ctlen, keys,
	    keys + AES256_KEY_LEN)) != 0 ||
	    (r = layer_mac(ct + ctlen, keys + AES256_KEY_LEN + AES_IV_LEN,
	    blob, ct, ctlen)) != 0 ||
	    (r = b64_encode_pub_buf(out, blob, bloblen, B64_PAD, 1)) != 0)
		goto err;
	r = 0;
 err:
	ob_wipe(keys, sizeof(keys));
	ob_wipe(blob, bloblen);
	free(blob);
	return r;
}

int
hs_desc_client_keys(uint8_t client_id[HS_DESC_CLIENT_ID_LEN],
    uint8_t cookie_key[AES256_KEY_LEN], const uint8_t subcred[HS_SUBCRED_LEN],
    const uint8_t sk[X25519_KEY_LEN], const uint8_t pk[X25519_KEY_LEN])
{
	uint8_t		seed[X25519_KEY_LEN];
	uint8_t		keys[HS_DESC_CLIENT_ID_LEN + AES256_KEY_LEN];
	struct ob_iov	v[2];
	int		r;

	if ((r = ob_x25519(seed, sk, pk)) != 0)
		goto err;
	v[0].p = subcred;	v[0].n = HS_SUBCRED_LEN;
	v[1].p = seed;		v[1].n = sizeof(seed);
	if ((r = ob_shake256(keys, sizeof(keys), v, 2)) != 0)
		goto err;
	memcpy(client_id, keys, HS_DESC_CLIENT_ID_LEN);
	memcpy(cookie_key, keys + HS_DESC_CLIENT_ID_LEN, AES256_KEY_LEN);
 err:
	ob_wipe(seed, sizeof(seed));
	ob_wipe(keys, sizeof(keys));
	return r;
}

/* Fixed lengths of the link specifier types tor's trunnel parser knows. */
static int
linkspec_fixed_len(uint8_t type)
{
	switch (type) {
	case HS_LINKSPEC_IPV4:		return 6;
	case HS_LINKSPEC_IPV6:		return 18;
	case HS_LINKSPEC_LEGACY_ID:	return 20;
	case HS_LINKSPEC_ED25519_ID:	return 32;
	default:			return -1;
	}
}

int
hs_linkspec_split(struct hs_linkspec *ls, size_t max, size_t *np,
    const uint8_t *p, size_t len)
{
	struct buf	b, v;
	uint8_t		nspec, type, slen;
	size_t		i;
	int		r, fixed;

	*np = 0;
	if (len > HS_LINKSPEC_MAX_LEN)
		return OB_ERR_TOO_LARGE;
	buf_init_ro(&b, p, len);
	if ((r = buf_get_u8(&b, &nspec)) != 0)
		return r;
	for (i = 0; i < nspec; i++) {
		if ((r = buf_get_u8(&b, &type)) != 0 ||
		    (r = buf_get_u8(&b, &slen)) != 0 ||
		    (r = buf_get_view(&b, slen, &v)) != 0)
			return r;
		fixed = linkspec_fixed_len(type);
		if (fixed >= 0 && slen != fixed)
			return OB_ERR_FORMAT;
		if (ls != NULL) {
			if (i >= max)
				return OB_ERR_LIMIT;
			ls[i].type = type;
			ls[i].len = slen;
			ls[i].data = buf_ptr(&v);
		}
	}
	if ((r = buf_end(&b)) != 0)
		return r;
	*np = nspec;
	return 0;
}
