/*
 * Tor Ed25519 certificates (cert-spec 2.1); see hs_cert.h for the layout
 * and the contracts.  Parsing follows tor's ed25519_cert.trunnel field by
 * field through the buf API.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "crypto.h"
#include "err.h"
#include "hs_cert.h"
#include "hs_keys.h"

#define HOUR	3600

/* One extension: u16 ext_length, u8 ext_type, u8 ext_flags, body. */
static int
cert_ext_parse(struct buf *b, struct hs_cert *c)
{
	struct buf	body;
	uint16_t	elen;
	uint8_t		etype, eflags;
	int		r;

	if ((r = buf_get_u16(b, &elen)) != 0 ||
	    (r = buf_get_u8(b, &etype)) != 0 ||
	    (r = buf_get_u8(b, &eflags)) != 0 ||
	    (r = buf_get_view(b, elen, &body)) != 0)
		return r;
	if (etype == HS_CERT_EXT_SIGNED_WITH_KEY) {
		/* trunnel's "with length": the body is the key, exactly. */
		if (c->has_signing_key)
			return OB_ERR_DUPLICATE;
		if ((r = buf_get_bytes(&body, c->signing_key,
		    ED25519_PK_LEN)) != 0 || (r = buf_end(&body)) != 0)
			return OB_ERR_FORMAT;
		c->has_signing_key = 1;
	} else if (eflags & HS_CERT_EXT_FLAG_AFFECTS) {
		/* An extension we cannot check that says it matters. */
		return OB_ERR_FORMAT;
	}
	return 0;
}

int
hs_cert_parse(struct hs_cert *c, const uint8_t *p, size_t len)
{
	struct buf	b;
	uint8_t		version, n_ext, i;
	int		r;

	memset(c, 0, sizeof(*c));
	if (len > HS_CERT_MAX_LEN)
		return OB_ERR_TOO_LARGE;
	buf_init_ro(&b, p, len);
	if ((r = buf_get_u8(&b, &version)) != 0)
		goto err;
	if (version != HS_CERT_VERSION) {
		r = OB_ERR_VERSION;
		goto err;
	}
	if ((r = buf_get_u8(&b, &c->type)) != 0 ||
	    (r = buf_get_u32(&b, &c->expiry_hours)) != 0 ||
	    (r = buf_get_u8(&b, &c->key_type)) != 0 ||
	    (r = buf_get_bytes(&b, c->certified_key, ED25519_PK_LEN)) != 0 ||
	    (r = buf_get_u8(&b, &n_ext)) != 0)
		goto err;
	for (i = 0; i < n_ext; i++)
		if ((r = cert_ext_parse(&b, c)) != 0)
			goto err;
	if ((r = buf_get_bytes(&b, c->signature, ED25519_SIG_LEN)) != 0 ||
	    (r = buf_end(&b)) != 0)
		goto err;
	memcpy(c->encoded, p, len);
	c->encoded_len = len;
	return 0;
 err:
	memset(c, 0, sizeof(*c));
	return r;
}

int
hs_cert_check(const struct hs_cert *c, uint8_t want_type,
    const uint8_t signer[ED25519_PK_LEN], time_t now)
{
	if (c->type != want_type)
		return OB_ERR_MISMATCH;
	if (c->key_type != HS_CERT_KEY_TYPE_ED25519)
		return OB_ERR_KEY;
	if (!c->has_signing_key)
		return OB_ERR_MISSING;
	if (signer != NULL &&
	    !ob_ct_eq(signer, c->signing_key, ED25519_PK_LEN))
		return OB_ERR_MISMATCH;
	/* tor_cert_checksig(): expired only once now is past the hour. */
	if ((int64_t)now > (int64_t)c->expiry_hours * HOUR)
		return OB_ERR_EXPIRED;
	if (c->encoded_len <= ED25519_SIG_LEN ||
	    c->encoded_len > HS_CERT_MAX_LEN)
		return OB_ERR_FORMAT;
	return 0;
}

int
hs_cert_verify(const struct hs_cert *c, uint8_t want_type,
    const uint8_t signer[ED25519_PK_LEN], time_t now)
{
	int	r;

	if ((r = hs_cert_check(c, want_type, signer, now)) != 0)
		return r;
	return ob_ed25519_verify(c->signature, c->encoded,
	    c->encoded_len - ED25519_SIG_LEN, c->signing_key);
}

int
hs_cert_tbs(uint8_t out[HS_CERT_TBS_LEN], uint8_t type, uint32_t expiry_hours,
    const uint8_t certified[ED25519_PK_LEN],
    const uint8_t signing_pk[ED25519_PK_LEN])
{
	struct buf	*b;
	int		 r;

	if ((b = buf_new(HS_CERT_TBS_LEN)) == NULL)
		return OB_ERR_NOMEM;
	if ((r = buf_put_u8(b, HS_CERT_VERSION)) != 0 ||
	    (r = buf_put_u8(b, type)) != 0 ||
	    (r = buf_put_u32(b, expiry_hours)) != 0 ||
	    (r = buf_put_u8(b, HS_CERT_KEY_TYPE_ED25519)) != 0 ||
	    (r = buf_put(b, certified, ED25519_PK_LEN)) != 0 ||
	    (r = buf_put_u8(b, 1)) != 0 ||		/* n_extensions */
	    (r = buf_put_u16(b, ED25519_PK_LEN)) != 0 ||	/* ext_len */
	    (r = buf_put_u8(b, HS_CERT_EXT_SIGNED_WITH_KEY)) != 0 ||
	    (r = buf_put_u8(b, 0)) != 0 ||			/* ext_flags */
	    (r = buf_put(b, signing_pk, ED25519_PK_LEN)) != 0)
		goto err;
	if (buf_len(b) != HS_CERT_TBS_LEN) {
		r = OB_ERR_INTERNAL;
		goto err;
	}
	memcpy(out, buf_ptr(b), HS_CERT_TBS_LEN);
 err:
	buf_free(b);
	return r;
}

int
hs_cert_build(uint8_t out[HS_CERT_LEN], uint8_t type, uint32_t expiry_hours,
    const uint8_t certified[ED25519_PK_LEN], const struct hs_signer *s)
{
	uint8_t	sig[ED25519_SIG_LEN];
	int	r;

	if ((r = hs_cert_tbs(out, type, expiry_hours, certified, s->pk)) != 0)
		return r;
	if (s->sign(s->ctx, sig, out, HS_CERT_TBS_LEN) != 0)
		return OB_ERR_CALLBACK;
	/* A token that returns garbage must not yield a cert. */
	if ((r = ob_ed25519_verify(sig, out, HS_CERT_TBS_LEN, s->pk)) != 0)
		return OB_ERR_SIGNATURE;
	memcpy(out + HS_CERT_TBS_LEN, sig, ED25519_SIG_LEN);
	return 0;
}

static uint32_t
hours_clamp(int64_t h)
{
	if (h < 0)
		return 0;
	if (h > (int64_t)UINT32_MAX)
		return UINT32_MAX;
	return (uint32_t)h;
}

uint32_t
hs_cert_expiry_desc_signing(time_t now)
{
	int64_t	t = (int64_t)now;

	if (t < 0)
		t = 0;
	if (t > INT64_MAX - (int64_t)HS_CERT_LIFETIME_HOURS * HOUR - HOUR)
		return UINT32_MAX;
	/* tor_cert_create_raw(): CEIL_DIV(now + lifetime, 3600). */
	t += (int64_t)HS_CERT_LIFETIME_HOURS * HOUR;
	return hours_clamp((t + HOUR - 1) / HOUR);
}

uint32_t
hs_cert_expiry_intro(time_t now)
{
	int64_t	t = (int64_t)now;

	if (t < 0)
		t = 0;
	/* Created at the hour before now (setup_desc_intro_point()). */
	return hours_clamp(t / HOUR + HS_CERT_LIFETIME_HOURS);
}
