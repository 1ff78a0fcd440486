/*
 * v3 descriptor builder: tor's exact layout (desc_encode_v3 and the
 * get_*_layer_plaintext functions in tor's hs_descriptor.c), with the
 * signature left to whoever holds the descriptor signing key.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "crypto.h"
#include "encode.h"
#include "err.h"
#include "hs_desc.h"
#include "hs_desc_int.h"

#define SIG_B64_LEN	86
#define SIG_LINE_LEN	(sizeof("signature ") - 1 + SIG_B64_LEN + 1)
#define LAYER_BUF_MAX	(HS_DESC_MAX_LEN * 2)

static int
put_cert(struct buf *b, const char *kw, const struct hs_cert *c)
{
	int	r;

	if (c->encoded_len == 0 || c->encoded_len > sizeof(c->encoded))
		return OB_ERR_MISSING;
	if ((r = buf_putf(b, "%s\n-----BEGIN ED25519 CERT-----\n", kw)) != 0 ||
	    (r = b64_encode_pub_buf(b, c->encoded, c->encoded_len, B64_PAD,
	    1)) != 0 ||
	    (r = buf_put_str(b, "-----END ED25519 CERT-----\n")) != 0)
		return r;
	return 0;
}

static int
put_key_line(struct buf *b, const char *prefix, const uint8_t key[32])
{
	int	r;

	if ((r = buf_put_str(b, prefix)) != 0 ||
	    (r = b64_encode_pub_buf(b, key, 32, B64_PAD, 0)) != 0 ||
	    (r = buf_put_u8(b, '\n')) != 0)
		return r;
	return 0;
}

/* get_inner_encrypted_layer_plaintext(): header lines, then each intro
 * point as encode_intro_point() writes it. */
static int
inner_build(struct buf *b, const struct hs_desc *d)
{
	const struct hs_intro_point	*ip;
	size_t				 i, n;
	int				 r;

	if ((r = buf_put_str(b, "create2-formats 2\n")) != 0)
		return r;
	if (d->single_onion &&
	    (r = buf_put_str(b, "single-onion-service\n")) != 0)
		return r;
	if (d->has_flow_control) {
		/* What the parser accepts: a version range, a byte. */
		if (d->flow_control_versions[0] == '\0' ||
		    memchr(d->flow_control_versions, '\0',
		    sizeof(d->flow_control_versions)) == NULL ||
		    strspn(d->flow_control_versions, "0123456789,-") !=
		    strlen(d->flow_control_versions) ||
		    d->flow_control_sendme_inc > UINT8_MAX)
			return OB_ERR_FORMAT;
		if ((r = buf_putf(b, "flow-control %s %u\n",
		    d->flow_control_versions,
		    d->flow_control_sendme_inc)) != 0)
			return r;
	}
	for (i = 0; i < d->n_intro; i++) {
		ip = &d->intro[i];
		if (ip->linkspec_len == 0 ||
		    ip->linkspec_len > sizeof(ip->linkspec) ||
		    (r = hs_linkspec_split(NULL, 0, &n, ip->linkspec,
		    ip->linkspec_len)) != 0)
			return OB_ERR_FORMAT;
		if ((r = buf_put_str(b, "introduction-point ")) != 0 ||
		    (r = b64_encode_pub_buf(b, ip->linkspec, ip->linkspec_len,
		    B64_PAD, 0)) != 0 ||
		    (r = buf_put_u8(b, '\n')) != 0 ||
		    (r = put_key_line(b, "onion-key ntor ",
		    ip->onion_key)) != 0 ||
		    (r = put_cert(b, "auth-key", &ip->auth_key_cert)) != 0 ||
		    (r = put_key_line(b, "enc-key ntor ", ip->enc_key)) != 0 ||
		    (r = put_cert(b, "enc-key-cert", &ip->enc_key_cert)) != 0)
			return r;
	}
	return 0;
}

/* Fisher-Yates with the system CSPRNG, so that the real auth-client
 * lines sit at random places among the fake ones (tor shuffles too). */
static int
clients_shuffle(struct hs_auth_client *c, size_t n)
{
	struct hs_auth_client	tmp;
	uint32_t		rnd;
	size_t			i, j;
	int			r;

	for (i = n; i > 1; i--) {
		if ((r = ob_random(&rnd, sizeof(rnd))) != 0)
			return r;
		j = rnd % i;	/* bias below 2^-22 for n <= 512 */
		tmp = c[i - 1];
		c[i - 1] = c[j];
		c[j] = tmp;
	}
	ob_wipe(&tmp, sizeof(tmp));
	return 0;
}

int
hs_desc_auth_keypair(uint8_t sk[X25519_KEY_LEN], uint8_t pk[X25519_KEY_LEN])
{
	int	r;

	if ((r = ob_random(sk, X25519_KEY_LEN)) != 0 ||
	    (r = ob_x25519_pubkey(pk, sk)) != 0)
		ob_wipe(sk, X25519_KEY_LEN);
	return r;
}

/*
 * get_outer_encrypted_layer_plaintext(): auth type, ephemeral key, the
 * auth-client lines (real ones for each client, random ones up to a
 * multiple of 16, at least 16), then the encrypted layer 2.  No newline
 * after the END line.
 */
static int
middle_build(struct buf *b, const struct hs_desc *d,
    const struct hs_desc_encode_params *ep, const uint8_t *subcred,
    const uint8_t blinded[ED25519_PK_LEN], struct buf *inner)
{
	struct hs_auth_client	*cl = NULL;
	uint8_t			 eph_sk[X25519_KEY_LEN];
	uint8_t			 eph_pk[X25519_KEY_LEN];
	uint8_t			 secret[HS_DESC_SECRET_MAX];
	uint8_t			 cookie_key[AES256_KEY_LEN];
	size_t			 i, ncl, secretlen = ED25519_PK_LEN;
	int			 r;

	if (ep->n_client_pks > HS_DESC_MAX_AUTH_CLIENTS)
		return OB_ERR_LIMIT;
	ncl = ep->n_client_pks == 0 ? HS_DESC_AUTH_CLIENT_MULTIPLE :
	    (ep->n_client_pks + HS_DESC_AUTH_CLIENT_MULTIPLE - 1) /
	    HS_DESC_AUTH_CLIENT_MULTIPLE * HS_DESC_AUTH_CLIENT_MULTIPLE;
	if ((cl = calloc(ncl, sizeof(*cl))) == NULL)
		return OB_ERR_NOMEM;
	memcpy(secret, blinded, ED25519_PK_LEN);
	/* The caller's ephemeral pair, or a fresh one: used or not, as
	 * tor puts one in every descriptor. */
	if (ep->auth_ephemeral_sk != NULL) {
		memcpy(eph_sk, ep->auth_ephemeral_sk, sizeof(eph_sk));
		memcpy(eph_pk, ep->auth_ephemeral_pk, sizeof(eph_pk));
	} else if ((r = hs_desc_auth_keypair(eph_sk, eph_pk)) != 0)
		goto err;
	if ((r = ob_random(cl, ncl * sizeof(*cl))) != 0)
		goto err;
	if (ep->n_client_pks > 0) {
		if ((r = ob_random(secret + ED25519_PK_LEN,
		    HS_DESC_COOKIE_LEN)) != 0)
			goto err;
		secretlen += HS_DESC_COOKIE_LEN;
		for (i = 0; i < ep->n_client_pks; i++) {
			if ((r = hs_desc_client_keys(cl[i].client_id,
			    cookie_key, subcred, eph_sk,
			    ep->client_pks[i])) != 0 ||
			    (r = ob_aes256_ctr(cl[i].encrypted_cookie,
			    secret + ED25519_PK_LEN, HS_DESC_COOKIE_LEN,
			    cookie_key, cl[i].iv)) != 0)
				goto err;
		}
		if ((r = clients_shuffle(cl, ncl)) != 0)
			goto err;
	}

	if ((r = buf_put_str(b, "desc-auth-type x25519\n")) != 0 ||
	    (r = put_key_line(b, "desc-auth-ephemeral-key ", eph_pk)) != 0)
		goto err;
	/*
	 * The three fields are published (to anyone who can read the
	 * middle layer), so the table-driven encoder for public data
	 * does: the constant-time one and a format string cost a
	 * tenth of building a body.
	 */
	for (i = 0; i < ncl; i++) {
		if ((r = buf_put_str(b, "auth-client ")) != 0 ||
		    (r = b64_encode_pub_buf(b, cl[i].client_id,
		    HS_DESC_CLIENT_ID_LEN, B64_NOPAD, 0)) != 0 ||
		    (r = buf_put_u8(b, ' ')) != 0 ||
		    (r = b64_encode_pub_buf(b, cl[i].iv, AES_IV_LEN,
		    B64_NOPAD, 0)) != 0 ||
		    (r = buf_put_u8(b, ' ')) != 0 ||
		    (r = b64_encode_pub_buf(b, cl[i].encrypted_cookie,
		    HS_DESC_COOKIE_LEN, B64_NOPAD, 0)) != 0 ||
		    (r = buf_put_u8(b, '\n')) != 0)
			goto err;
	}
	if ((r = buf_put_str(b, "encrypted\n-----BEGIN MESSAGE-----\n")) != 0 ||
	    (r = hs_desc_layer_encrypt(b, buf_ptr(inner), buf_len(inner), 0,
	    secret, secretlen, subcred, d->revision_counter,
	    HS_DESC_CONST_ENC)) != 0 ||
	    (r = buf_put_str(b, "-----END MESSAGE-----")) != 0)
		goto err;
	r = 0;
 err:
	ob_wipe(eph_sk, sizeof(eph_sk));
	ob_wipe(secret, sizeof(secret));
	ob_wipe(cookie_key, sizeof(cookie_key));
	ob_wipe(cl, ncl * sizeof(*cl));
	free(cl);
	return r;
}

int
hs_desc_encode_body(struct buf *out, const struct hs_desc *d,
    const struct hs_desc_encode_params *ep)
{
	struct buf	*inner = NULL, *mid = NULL;
	uint8_t		 subcred[HS_SUBCRED_LEN];
	size_t		 padded;
	int		 r;

	buf_reset(out);
	if (d->n_intro > HS_DESC_MAX_INTRO)
		return OB_ERR_LIMIT;
	if (d->lifetime_min == 0 || d->lifetime_min > HS_DESC_LIFETIME_MAX)
		return OB_ERR_RANGE;
	if (d->signing_cert.type != HS_CERT_TYPE_DESC_SIGNING)
		return OB_ERR_FORMAT;
	if (ep->identity_pk == NULL || ep->blinded_pk == NULL ||
	    (ep->n_client_pks > 0 && ep->client_pks == NULL) ||
	    (ep->auth_ephemeral_sk == NULL) != (ep->auth_ephemeral_pk == NULL))
		return OB_ERR_INTERNAL;
	if ((r = hs_subcredential(subcred, ep->identity_pk,
	    ep->blinded_pk)) != 0)
		return r;
	if ((inner = buf_new(LAYER_BUF_MAX)) == NULL ||
	    (mid = buf_new(LAYER_BUF_MAX)) == NULL) {
		r = OB_ERR_NOMEM;
		goto err;
	}
	/*
	 * Room for each layer at once, not by doublings that each copy
	 * and wipe it: an intro point takes about 750 bytes, an
	 * auth-client line 70, the encrypted inner layer 4/3 of itself.
	 */
	if ((r = buf_ensure(inner, 128 + d->n_intro * 1024)) != 0 ||
	    (r = inner_build(inner, d)) != 0 ||
	    (r = buf_ensure(mid, 256 + (ep->n_client_pks +
	    HS_DESC_AUTH_CLIENT_MULTIPLE) * 72 + (buf_len(inner) + 48) / 3 *
	    4 * 65 / 64 + 64)) != 0 ||
	    (r = middle_build(mid, d, ep, subcred, ep->blinded_pk,
	    inner)) != 0)
		goto err;
	/* NUL padding to a multiple of 10,000 hides the layer's size. */
	padded = (buf_len(mid) + HS_DESC_PAD_MULTIPLE - 1) /
	    HS_DESC_PAD_MULTIPLE * HS_DESC_PAD_MULTIPLE;
	if (padded > HS_DESC_MAX_LEN) {
		r = OB_ERR_TOO_LARGE;
		goto err;
	}
	if ((r = buf_putf(out, "hs-descriptor %d\ndescriptor-lifetime %u\n",
	    HS_DESC_VERSION, (unsigned)d->lifetime_min)) != 0 ||
	    (r = put_cert(out, "descriptor-signing-key-cert",
	    &d->signing_cert)) != 0 ||
	    (r = buf_putf(out, "revision-counter %llu\n",
	    (unsigned long long)d->revision_counter)) != 0 ||
	    (r = buf_put_str(out,
	    "superencrypted\n-----BEGIN MESSAGE-----\n")) != 0 ||
	    (r = hs_desc_layer_encrypt(out, buf_ptr(mid), buf_len(mid),
	    padded, ep->blinded_pk, ED25519_PK_LEN, subcred,
	    d->revision_counter, HS_DESC_CONST_SUPERENC)) != 0 ||
	    (r = buf_put_str(out, "-----END MESSAGE-----\n")) != 0)
		goto err;
	/* tor: the signed document must stay under 50,000 bytes. */
	if (buf_len(out) + SIG_LINE_LEN > HS_DESC_MAX_LEN) {
		r = OB_ERR_TOO_LARGE;
		goto err;
	}
	r = 0;
 err:
	if (r != 0)
		buf_reset(out);
	buf_free(inner);
	buf_free(mid);
	ob_wipe(subcred, sizeof(subcred));
	return r;
}

int
hs_desc_sig_message(uint8_t **msgp, size_t *lenp, const uint8_t *body,
    size_t len)
{
	const size_t	 plen = strlen(HS_DESC_SIG_PREFIX);
	uint8_t		*msg;

	*msgp = NULL;
	*lenp = 0;
	if (len > HS_DESC_MAX_LEN)
		return OB_ERR_TOO_LARGE;
	if ((msg = malloc(plen + len + 1)) == NULL)
		return OB_ERR_NOMEM;
	memcpy(msg, HS_DESC_SIG_PREFIX, plen);
	if (len > 0)
		memcpy(msg + plen, body, len);
	*msgp = msg;
	*lenp = plen + len;
	return 0;
}

int
hs_desc_append_signature(struct buf *b, const uint8_t sig[ED25519_SIG_LEN])
{
	int	r;

	if ((r = buf_put_str(b, "signature ")) != 0 ||
	    (r = b64_encode_pub_buf(b, sig, ED25519_SIG_LEN, B64_NOPAD, 0)) != 0 ||
	    (r = buf_put_u8(b, '\n')) != 0)
		return r;
	return 0;
}

int
hs_desc_encode(struct buf *out, const struct hs_desc *d,
    const struct hs_desc_encode_params *ep, const struct hs_signer *signer)
{
	uint8_t	*msg = NULL, sig[ED25519_SIG_LEN];
	size_t	 msglen = 0;
	int	 r;

	/* The 08 cert must certify the key that signs. */
	if (!ob_ct_eq(signer->pk, d->signing_cert.certified_key,
	    ED25519_PK_LEN))
		return OB_ERR_MISMATCH;
	if ((r = hs_desc_encode_body(out, d, ep)) != 0)
		return r;
	if ((r = hs_desc_sig_message(&msg, &msglen, buf_ptr(out),
	    buf_len(out))) != 0)
		goto err;
	if (signer->sign(signer->ctx, sig, msg, msglen) != 0) {
		r = OB_ERR_CALLBACK;
		goto err;
	}
	if ((r = hs_desc_append_signature(out, sig)) != 0)
		goto err;
	if (buf_len(out) > HS_DESC_MAX_LEN) {
		r = OB_ERR_TOO_LARGE;
		goto err;
	}
	r = 0;
 err:
	if (r != 0)
		buf_reset(out);
	free(msg);
	return r;
}
