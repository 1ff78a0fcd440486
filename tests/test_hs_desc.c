/*
 * The v3 descriptor codec: known-answer decodes of descriptors made by C
 * tor (arti's testdata) and stem, round trips through our builder, one
 * negative test per rejection path, and cross-checks against stem.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "buf.h"
#include "crypto.h"
#include "encode.h"
#include "err.h"
#include "hs_cert.h"
#include "hs_desc.h"
#include "hs_desc_int.h"
#include "hs_keys.h"
#include "tests.h"

/* arti crates/tor-netdoc/src/doc/hsdesc.rs (test_data, tests), commit
 * cadcd0d310831ba237fff4c1a39ef51c53b506db. */
#define ARTI1_BLIND	"43cc0d62fc6252f578705ca645a46109" \
			"e265290343b1137e90189744b20b3f2d"
#define ARTI1_SUBCRED	"78210A0D2C72BB7A0CAF606BCD938B9A" \
			"3696894FDDDBC3B87D424753A7E3DF37"
#define ARTI1_NTOR0	"553BF9F9E1979D6F5D5D7D20BB3FE727" \
			"2E32E22B6E86E35C76A7CA8A377E402F"
#define ARTI1_NOW	1674486000	/* 2023-01-23T15:00:00Z */
#define ARTI1_CERT_EXP	1674702000	/* 2023-01-26T03:00:00Z */
#define ARTI2_HSID	"781D978CE6CE9CAA8BCA306F53E82D2C" \
			"993E5C91346625F1C151DCFC56D753D3"
#define ARTI2_BLIND	"706628758208395D461AA0F460A5E76E" \
			"7B828C66B5E794768592B451302E961D"
#define ARTI2_SUBCRED	"24A133E905102BDA9A6AFE57F901366A" \
			"1B8281865A91F1FE0853E4B50CC8B070"
#define ARTI2_CLIENT_SK	"90F2D60F917F2423F0989CE997963943" \
			"5A5B01CF7AB3E0A1B900BEB892BAE443"
#define ARTI2_CLIENT_PK	"900467008E194C2C635A6E335E772491" \
			"5E558CCB606C50094476F9731C129019"
#define ARTI2_TP	19397
#define ARTI2_NOW	1675944000	/* 2023-02-09T12:00:00Z */
/* stem test/unit/descriptor/hidden_service_v3.py, commit d5012a10. */
#define STEM_ADDR	"sltib6sxkuxh2scmtuvd5w2g7pahnzk" \
			"ovefxpo4e4ptnkzl5kkq5h2ad"

#define PERIOD		1440
#define TP		20000

static uint8_t *
vector(const char *name, size_t *len)
{
	uint8_t	*p;

	p = test_read_file(test_vector_path(name), len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	return p;
}

static void
test_arti_hsdesc1(void)
{
	struct hs_desc			 d;
	struct hs_desc_decode_params	 dp;
	uint8_t				 blind[32], subcred[32], ntor[32];
	uint8_t				*p;
	size_t				 len;

	p = vector("hsdesc/arti-hsdesc1.txt", &len);
	test_unhex(blind, 32, ARTI1_BLIND);
	test_unhex(subcred, 32, ARTI1_SUBCRED);
	test_unhex(ntor, 32, ARTI1_NTOR0);
	memset(&dp, 0, sizeof(dp));
	dp.blinded_pk = blind;
	dp.subcredential = subcred;
	dp.now = ARTI1_NOW;
	hs_desc_init(&d);
	CU_ASSERT_FATAL(hs_desc_decode(&d, p, len, &dp) == 0);
	CU_ASSERT(d.lifetime_min == 180);
	CU_ASSERT(d.revision_counter == 19655750);
	CU_ASSERT(d.signed_ == 1);
	CU_ASSERT((time_t)d.signing_cert.expiry_hours * 3600 ==
	    ARTI1_CERT_EXP);
	CU_ASSERT(memcmp(d.signing_cert.signing_key, blind, 32) == 0);
	CU_ASSERT(d.n_auth_clients == 16);
	CU_ASSERT(d.client_auth == 0);
	CU_ASSERT(d.single_onion == 0);
	CU_ASSERT(d.n_intro == 3);
	CU_ASSERT(d.n_intro_skipped == 0);
	CU_ASSERT(memcmp(d.intro[0].onion_key, ntor, 32) == 0);
	CU_ASSERT(d.intro[0].auth_key_cert.type == 0x09);
	CU_ASSERT(d.intro[0].enc_key_cert.type == 0x0b);
	CU_ASSERT(d.intro[0].linkspec_len > 0);
	hs_desc_clear(&d);

	/* Strict mode accepts it too: every intro point is valid. */
	dp.flags = HS_DESC_F_STRICT;
	CU_ASSERT(hs_desc_decode(&d, p, len, &dp) == 0);
	hs_desc_clear(&d);
	dp.flags = 0;

	/* The blinded key from the cert when the caller passes none. */
	dp.blinded_pk = NULL;
	CU_ASSERT(hs_desc_decode(&d, p, len, &dp) == 0);
	CU_ASSERT(d.n_intro == 3);
	hs_desc_clear(&d);

	/* Outer layer only: no subcredential needed. */
	dp.subcredential = NULL;
	dp.flags = HS_DESC_F_OUTER_ONLY;
	CU_ASSERT(hs_desc_decode(&d, p, len, &dp) == 0);
	CU_ASSERT(d.n_intro == 0);
	hs_desc_clear(&d);
	dp.flags = 0;
	dp.subcredential = subcred;

	/* Wrong blinded key (arti's [12; 32]). */
	memset(blind, 12, sizeof(blind));
	dp.blinded_pk = blind;
	CU_ASSERT(hs_desc_decode(&d, p, len, &dp) == OB_ERR_MISMATCH);
	test_unhex(blind, 32, ARTI1_BLIND);

	/* Wrong subcredential: the first layer's MAC fails. */
	subcred[0] ^= 1;
	CU_ASSERT(hs_desc_decode(&d, p, len, &dp) == OB_ERR_MAC);
	subcred[0] ^= 1;

	/* An hour after the 08 cert's expiry. */
	dp.now = ARTI1_CERT_EXP + 3600;
	CU_ASSERT(hs_desc_decode(&d, p, len, &dp) == OB_ERR_EXPIRED);
	/* Exactly at expiry it is still valid (tor: now > expiry). */
	dp.now = ARTI1_CERT_EXP;
	CU_ASSERT(hs_desc_decode(&d, p, len, &dp) == 0 ||
	    d.n_intro_skipped > 0);
	hs_desc_clear(&d);
	free(p);
}

static void
test_arti_hsdesc2(void)
{
	struct hs_desc			 d;
	struct hs_desc_decode_params	 dp;
	uint8_t				 hsid[32], blind[32], subcred[32];
	uint8_t				 want[32], sk[32], pk[32], other[32];
	uint8_t				*p;
	size_t				 len;

	test_unhex(hsid, 32, ARTI2_HSID);
	test_unhex(want, 32, ARTI2_BLIND);
	CU_ASSERT_FATAL(hs_blind_pubkey(blind, hsid, ARTI2_TP, PERIOD) == 0);
	CU_ASSERT(memcmp(blind, want, 32) == 0);
	test_unhex(want, 32, ARTI2_SUBCRED);
	CU_ASSERT_FATAL(hs_subcredential(subcred, hsid, blind) == 0);
	CU_ASSERT(memcmp(subcred, want, 32) == 0);
	test_unhex(sk, 32, ARTI2_CLIENT_SK);
	test_unhex(want, 32, ARTI2_CLIENT_PK);
	CU_ASSERT_FATAL(ob_x25519_pubkey(pk, sk) == 0);
	CU_ASSERT(memcmp(pk, want, 32) == 0);

	p = vector("hsdesc/arti-hsdesc2.txt", &len);
	memset(&dp, 0, sizeof(dp));
	dp.identity_pk = hsid;
	dp.blinded_pk = blind;
	dp.now = ARTI2_NOW;
	dp.client_auth_sk = sk;
	hs_desc_init(&d);
	CU_ASSERT_FATAL(hs_desc_decode(&d, p, len, &dp) == 0);
	CU_ASSERT(d.client_auth == 1);
	CU_ASSERT(d.n_intro == 3 && d.n_intro_skipped == 0);
	CU_ASSERT(d.has_flow_control == 1 && d.flow_control_sendme_inc == 31);
	CU_ASSERT(d.n_auth_clients % 16 == 0);
	hs_desc_clear(&d);

	/* No key, or a key that is not on the list. */
	dp.client_auth_sk = NULL;
	CU_ASSERT(hs_desc_decode(&d, p, len, &dp) == OB_ERR_NOT_AUTHORIZED);
	CU_ASSERT_FATAL(ob_random(other, sizeof(other)) == 0);
	dp.client_auth_sk = other;
	CU_ASSERT(hs_desc_decode(&d, p, len, &dp) == OB_ERR_NOT_AUTHORIZED);
	hs_desc_clear(&d);
	free(p);
}

/* stem's own test descriptor: identity from the address, blinded key from
 * the cert, time injected (its certs expired in 2017). */
static void
test_stem_vector(void)
{
	struct hs_desc			 d;
	struct hs_desc_decode_params	 dp;
	uint8_t				 hsid[32];
	uint8_t				*p;
	size_t				 len;

	CU_ASSERT_FATAL(hs_address_decode(hsid, STEM_ADDR) == 0);
	p = vector("hsdesc/stem-hidden_service_v3", &len);
	memset(&dp, 0, sizeof(dp));
	dp.identity_pk = hsid;
	dp.now = 1500000000;		/* 2017-07-14 */
	hs_desc_init(&d);
	CU_ASSERT_FATAL(hs_desc_decode(&d, p, len, &dp) == 0);
	CU_ASSERT(d.revision_counter == 42);
	CU_ASSERT(d.lifetime_min == 180);
	CU_ASSERT(d.n_auth_clients == 16);
	CU_ASSERT(d.single_onion == 1);
	CU_ASSERT(d.n_intro == 4 && d.n_intro_skipped == 0);
	/* First intro point: legacy id 0x43 * 20, then IPv4 1.2.3.4:9001. */
	CU_ASSERT(d.intro[0].linkspec_len == 1 + 22 + 8 &&
	    d.intro[0].linkspec[0] == 2 && d.intro[0].linkspec[1] == 2 &&
	    d.intro[0].linkspec[3] == 0x43 && d.intro[0].linkspec[23] == 0 &&
	    d.intro[0].linkspec[27] == 3 && d.intro[0].linkspec[28] == 4);
	hs_desc_clear(&d);
	free(p);
}

/* tor src/test/test_hs_descriptor.c test_build_authorized_client (tor
 * commit 1d8becd82801eb92d941e4b9d8178324e94b9b6b): rend-spec 2.5.1.2. */
static void
test_client_auth_kat(void)
{
	uint8_t	subcred[32], eph_sk[32], client_pk[32], cookie[16];
	uint8_t	iv[16], id[8], key[32], enc[16], want_id[8], want_enc[16];

	memset(subcred, 42, sizeof(subcred));
	memset(iv, 1, sizeof(iv));
	test_unhex(eph_sk, 32, "d023b674d993a5c8446bd2ca97e99611"
	    "49b3c0e88c7dc14e8777744dd3468d6a");
	test_unhex(cookie, 16, "07d087f1d8c68393721f6e70316d3b29");
	test_unhex(client_pk, 32, "8c1298fa6050e372f8598f6deca32e27"
	    "b0ad457741422c2629ebb132cf7fae37");
	test_unhex(want_id, 8, "EC19B7FF4D2DDA13");
	test_unhex(want_enc, 16, "B21222BE13F385F355BD07B2381F9F29");
	CU_ASSERT_FATAL(hs_desc_client_keys(id, key, subcred, eph_sk,
	    client_pk) == 0);
	CU_ASSERT(memcmp(id, want_id, 8) == 0);
	CU_ASSERT_FATAL(ob_aes256_ctr(enc, cookie, 16, key, iv) == 0);
	CU_ASSERT(memcmp(enc, want_enc, 16) == 0);
}

/* Inner-layer text from C tor with flow-control (arti testdata). */
static void
test_arti_inner(void)
{
	struct hs_desc	 d;
	uint8_t		*p;
	size_t		 len;

	p = vector("hsdesc/arti-hsdesc-inner.txt", &len);
	hs_desc_init(&d);
	CU_ASSERT(hs_desc_decode_inner(&d, p, len, NULL, 0,
	    HS_DESC_F_STRICT) == 0);
	CU_ASSERT(d.has_flow_control == 1);
	CU_ASSERT(strcmp(d.flow_control_versions, "1-2") == 0);
	CU_ASSERT(d.flow_control_sendme_inc == 31);
	CU_ASSERT(d.n_intro >= 1);
	CU_ASSERT(d.n_intro_skipped == 0);
	hs_desc_clear(&d);
	free(p);
}

/* --- A service of our own for round trips. --- */

struct svc {
	uint8_t			id_sk[64], id_pk[32];
	uint8_t			bl_sk[64], bl_pk[32];
	uint8_t			ds_sk[64], ds_pk[32];
	struct hs_signer	bl_signer, ds_signer;
	time_t			now;
};

static void
svc_init(struct svc *s)
{
	uint8_t	seed[32];

	CU_ASSERT_FATAL(ob_random(seed, sizeof(seed)) == 0);
	CU_ASSERT_FATAL(hs_expanded_from_seed(s->id_sk, seed) == 0);
	CU_ASSERT_FATAL(hs_expanded_pubkey(s->id_pk, s->id_sk) == 0);
	CU_ASSERT_FATAL(hs_blind_seckey(s->bl_sk, s->id_sk, s->id_pk, TP,
	    PERIOD) == 0);
	CU_ASSERT_FATAL(hs_blind_pubkey(s->bl_pk, s->id_pk, TP, PERIOD) == 0);
	CU_ASSERT_FATAL(ob_random(seed, sizeof(seed)) == 0);
	CU_ASSERT_FATAL(hs_expanded_from_seed(s->ds_sk, seed) == 0);
	CU_ASSERT_FATAL(hs_expanded_pubkey(s->ds_pk, s->ds_sk) == 0);
	hs_signer_expanded(&s->bl_signer, s->bl_sk, s->bl_pk);
	hs_signer_expanded(&s->ds_signer, s->ds_sk, s->ds_pk);
	s->now = time(NULL);
}

static void
make_cert(struct hs_cert *c, uint8_t type, uint32_t exp,
    const uint8_t certified[32], const struct hs_signer *signer)
{
	uint8_t	raw[HS_CERT_LEN];

	CU_ASSERT_FATAL(hs_cert_build(raw, type, exp, certified, signer) == 0);
	CU_ASSERT_FATAL(hs_cert_parse(c, raw, sizeof(raw)) == 0);
}

/* An intro point with IPv4, legacy id and ed25519 id link specifiers. */
static void
make_intro(struct hs_intro_point *ip, const struct svc *s, uint32_t exp)
{
	uint8_t	k[32];
	size_t	n = 0;

	memset(ip, 0, sizeof(*ip));
	ip->linkspec[n++] = 3;
	ip->linkspec[n++] = HS_LINKSPEC_IPV4;
	ip->linkspec[n++] = 6;
	CU_ASSERT_FATAL(ob_random(ip->linkspec + n, 6) == 0);
	n += 6;
	ip->linkspec[n++] = HS_LINKSPEC_LEGACY_ID;
	ip->linkspec[n++] = 20;
	CU_ASSERT_FATAL(ob_random(ip->linkspec + n, 20) == 0);
	n += 20;
	ip->linkspec[n++] = HS_LINKSPEC_ED25519_ID;
	ip->linkspec[n++] = 32;
	CU_ASSERT_FATAL(ob_random(ip->linkspec + n, 32) == 0);
	n += 32;
	ip->linkspec_len = n;
	CU_ASSERT_FATAL(ob_random(ip->onion_key, 32) == 0);
	CU_ASSERT_FATAL(ob_random(ip->enc_key, 32) == 0);
	CU_ASSERT_FATAL(ob_random(k, 32) == 0);
	make_cert(&ip->auth_key_cert, HS_CERT_TYPE_AUTH_HS_IP_KEY, exp, k,
	    &s->ds_signer);
	CU_ASSERT_FATAL(ob_random(k, 32) == 0);
	make_cert(&ip->enc_key_cert, HS_CERT_TYPE_CROSS_HS_IP_KEYS, exp, k,
	    &s->ds_signer);
}

static void
make_desc(struct hs_desc *d, const struct svc *s, size_t n_intro)
{
	size_t	i;

	hs_desc_init(d);
	d->lifetime_min = HS_DESC_LIFETIME_DEFAULT;
	d->revision_counter = 123456789012ULL;
	make_cert(&d->signing_cert, HS_CERT_TYPE_DESC_SIGNING,
	    hs_cert_expiry_desc_signing(s->now), s->ds_pk, &s->bl_signer);
	d->has_flow_control = 1;
	snprintf(d->flow_control_versions,
	    sizeof(d->flow_control_versions), "1-2");
	d->flow_control_sendme_inc = 31;
	d->single_onion = 1;
	for (i = 0; i < n_intro; i++)
		make_intro(&d->intro[i], s, hs_cert_expiry_intro(s->now));
	d->n_intro = n_intro;
}

static void
encode_params(struct hs_desc_encode_params *ep, const struct svc *s)
{
	memset(ep, 0, sizeof(*ep));
	ep->identity_pk = s->id_pk;
	ep->blinded_pk = s->bl_pk;
}

static void
decode_params(struct hs_desc_decode_params *dp, const struct svc *s)
{
	memset(dp, 0, sizeof(*dp));
	dp->identity_pk = s->id_pk;
	dp->blinded_pk = s->bl_pk;
	dp->now = s->now;
}

static int
cert_eq(const struct hs_cert *a, const struct hs_cert *b)
{
	return a->encoded_len == b->encoded_len &&
	    memcmp(a->encoded, b->encoded, a->encoded_len) == 0 &&
	    a->type == b->type && a->expiry_hours == b->expiry_hours;
}

static void
compare_desc(const struct hs_desc *a, const struct hs_desc *b)
{
	size_t	i;

	CU_ASSERT(a->lifetime_min == b->lifetime_min);
	CU_ASSERT(a->revision_counter == b->revision_counter);
	CU_ASSERT(cert_eq(&a->signing_cert, &b->signing_cert));
	CU_ASSERT(a->single_onion == b->single_onion);
	CU_ASSERT(a->has_flow_control == b->has_flow_control);
	CU_ASSERT(strcmp(a->flow_control_versions,
	    b->flow_control_versions) == 0);
	CU_ASSERT(a->flow_control_sendme_inc == b->flow_control_sendme_inc);
	CU_ASSERT(b->pow_params == NULL);
	CU_ASSERT_FATAL(a->n_intro == b->n_intro);
	CU_ASSERT(b->n_intro_skipped == 0);
	for (i = 0; i < a->n_intro; i++) {
		CU_ASSERT(a->intro[i].linkspec_len ==
		    b->intro[i].linkspec_len);
		CU_ASSERT(memcmp(a->intro[i].linkspec, b->intro[i].linkspec,
		    a->intro[i].linkspec_len) == 0);
		CU_ASSERT(memcmp(a->intro[i].onion_key, b->intro[i].onion_key,
		    32) == 0);
		CU_ASSERT(memcmp(a->intro[i].enc_key, b->intro[i].enc_key,
		    32) == 0);
		CU_ASSERT(cert_eq(&a->intro[i].auth_key_cert,
		    &b->intro[i].auth_key_cert));
		CU_ASSERT(cert_eq(&a->intro[i].enc_key_cert,
		    &b->intro[i].enc_key_cert));
	}
}

/* Length of the decoded "superencrypted" blob of a document. */
static size_t
superenc_blob_len(const struct buf *doc)
{
	const char	*s = (const char *)buf_ptr(doc), *a, *e;
	const char	*beg = "superencrypted\n-----BEGIN MESSAGE-----\n";
	struct buf	 txt;
	uint8_t		*out;
	char		*tmp;
	size_t		 n, k = 0, i, outlen = 0;

	a = strstr(s, beg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	a += strlen(beg);
	e = strstr(a, "-----END MESSAGE-----");
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	n = (size_t)(e - a);
	tmp = malloc(n);
	out = malloc(n);
	CU_ASSERT_FATAL(tmp != NULL && out != NULL);
	for (i = 0; i < n; i++)
		if (a[i] != '\n')
			tmp[k++] = a[i];
	buf_init_ro(&txt, tmp, k);
	CU_ASSERT(b64_decode(out, n, &outlen, &txt, B64_PAD) == 0);
	free(tmp);
	free(out);
	return outlen;
}

/* Encode and NUL-terminate (for strstr in the tests). */
static struct buf *
encode_desc(const struct hs_desc *d, const struct hs_desc_encode_params *ep,
    const struct svc *s)
{
	struct buf	*b;

	b = buf_new(HS_DESC_MAX_LEN + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_FATAL(hs_desc_encode(b, d, ep, &s->ds_signer) == 0);
	CU_ASSERT_FATAL(buf_put_u8(b, '\0') == 0);
	b->len--;
	return b;
}

static void
test_roundtrip(void)
{
	struct svc			 s;
	struct hs_desc			 d, out;
	struct hs_desc_encode_params	 ep;
	struct hs_desc_decode_params	 dp;
	struct buf			*b;
	size_t				 blob;

	svc_init(&s);
	make_desc(&d, &s, 3);
	encode_params(&ep, &s);
	b = encode_desc(&d, &ep, &s);
	CU_ASSERT(buf_len(b) < 50000);
	CU_ASSERT(memcmp(buf_ptr(b), "hs-descriptor 3\n"
	    "descriptor-lifetime 180\ndescriptor-signing-key-cert\n"
	    "-----BEGIN ED25519 CERT-----\n", 95) == 0);
	CU_ASSERT(buf_ptr(b)[buf_len(b) - 1] == '\n');
	blob = superenc_blob_len(b);
	CU_ASSERT(blob > 48 && (blob - 48) % HS_DESC_PAD_MULTIPLE == 0);

	decode_params(&dp, &s);
	hs_desc_init(&out);
	CU_ASSERT_FATAL(hs_desc_decode(&out, buf_ptr(b), buf_len(b),
	    &dp) == 0);
	compare_desc(&d, &out);
	CU_ASSERT(out.n_auth_clients == 16);
	CU_ASSERT(out.client_auth == 0);
	hs_desc_clear(&out);

	/* Strict mode, and the blinded key taken from the cert. */
	dp.flags = HS_DESC_F_STRICT;
	dp.blinded_pk = NULL;
	CU_ASSERT(hs_desc_decode(&out, buf_ptr(b), buf_len(b), &dp) == 0);
	hs_desc_clear(&out);

	/* Zero intro points is a valid descriptor. */
	d.n_intro = 0;
	buf_free(b);
	b = encode_desc(&d, &ep, &s);
	decode_params(&dp, &s);
	CU_ASSERT(hs_desc_decode(&out, buf_ptr(b), buf_len(b), &dp) == 0);
	CU_ASSERT(out.n_intro == 0);
	hs_desc_clear(&out);

	/* Two builds differ (fresh salts and keys) but both decode. */
	buf_free(b);
	hs_desc_clear(&d);
}

/* Body, then the signature through the split API, as the signer does. */
static void
test_split_signing(void)
{
	struct svc			 s;
	struct hs_desc			 d, out;
	struct hs_desc_encode_params	 ep;
	struct hs_desc_decode_params	 dp;
	struct buf			*b;
	uint8_t				*msg, sig[64];
	size_t				 msglen;

	svc_init(&s);
	make_desc(&d, &s, 2);
	encode_params(&ep, &s);
	b = buf_new(HS_DESC_MAX_LEN);
	CU_ASSERT_FATAL(b != NULL);
	CU_ASSERT_FATAL(hs_desc_encode_body(b, &d, &ep) == 0);
	CU_ASSERT(buf_len(b) > 10 &&
	    memcmp(buf_ptr(b) + buf_len(b) - 22, "-----END MESSAGE-----\n",
	    22) == 0);

	/* The unsigned body checks out as such. */
	decode_params(&dp, &s);
	dp.flags = HS_DESC_F_UNSIGNED;
	hs_desc_init(&out);
	CU_ASSERT(hs_desc_decode(&out, buf_ptr(b), buf_len(b), &dp) == 0);
	CU_ASSERT(out.signed_ == 0 && out.n_intro == 2);
	hs_desc_clear(&out);
	dp.flags = 0;
	CU_ASSERT(hs_desc_decode(&out, buf_ptr(b), buf_len(b), &dp) ==
	    OB_ERR_MISSING);

	CU_ASSERT_FATAL(hs_desc_sig_message(&msg, &msglen, buf_ptr(b),
	    buf_len(b)) == 0);
	CU_ASSERT(msglen == buf_len(b) + strlen(HS_DESC_SIG_PREFIX));
	CU_ASSERT(memcmp(msg, "Tor onion service descriptor sig v3", 35) == 0);
	CU_ASSERT_FATAL(hs_expanded_sign(sig, msg, msglen, s.ds_sk,
	    s.ds_pk) == 0);
	free(msg);
	CU_ASSERT_FATAL(hs_desc_append_signature(b, sig) == 0);
	CU_ASSERT(hs_desc_decode(&out, buf_ptr(b), buf_len(b), &dp) == 0);
	CU_ASSERT(out.signed_ == 1 && memcmp(out.signature, sig, 64) == 0);
	/* A signed document is not an unsigned body. */
	dp.flags = HS_DESC_F_UNSIGNED;
	CU_ASSERT(hs_desc_decode(&out, buf_ptr(b), buf_len(b), &dp) ==
	    OB_ERR_FORMAT);
	hs_desc_clear(&out);

	/* A signer whose key the 08 cert does not certify. */
	CU_ASSERT(hs_desc_encode(b, &d, &ep, &s.bl_signer) ==
	    OB_ERR_MISMATCH);
	buf_free(b);
	hs_desc_clear(&d);
}

static void
test_client_auth(void)
{
	struct svc			 s;
	struct hs_desc			 d, out;
	struct hs_desc_encode_params	 ep;
	struct hs_desc_decode_params	 dp;
	struct buf			*b;
	uint8_t				 sks[17][32], pks[17][32], other[32];
	size_t				 i;

	svc_init(&s);
	make_desc(&d, &s, 3);
	for (i = 0; i < 17; i++) {
		CU_ASSERT_FATAL(ob_random(sks[i], 32) == 0);
		CU_ASSERT_FATAL(ob_x25519_pubkey(pks[i], sks[i]) == 0);
	}
	CU_ASSERT_FATAL(ob_random(other, 32) == 0);
	encode_params(&ep, &s);
	ep.client_pks = (const uint8_t (*)[32])pks;
	ep.n_client_pks = 3;
	b = encode_desc(&d, &ep, &s);
	decode_params(&dp, &s);
	hs_desc_init(&out);
	for (i = 0; i < 3; i++) {
		dp.client_auth_sk = sks[i];
		CU_ASSERT(hs_desc_decode(&out, buf_ptr(b), buf_len(b),
		    &dp) == 0);
		CU_ASSERT(out.client_auth == 1);
		CU_ASSERT(out.n_auth_clients == 16);
		compare_desc(&d, &out);
		hs_desc_clear(&out);
	}
	dp.client_auth_sk = sks[3];
	CU_ASSERT(hs_desc_decode(&out, buf_ptr(b), buf_len(b), &dp) ==
	    OB_ERR_NOT_AUTHORIZED);
	dp.client_auth_sk = other;
	CU_ASSERT(hs_desc_decode(&out, buf_ptr(b), buf_len(b), &dp) ==
	    OB_ERR_NOT_AUTHORIZED);
	dp.client_auth_sk = NULL;
	CU_ASSERT(hs_desc_decode(&out, buf_ptr(b), buf_len(b), &dp) ==
	    OB_ERR_NOT_AUTHORIZED);
	/* The outer layer still verifies for anyone. */
	dp.flags = HS_DESC_F_OUTER_ONLY;
	CU_ASSERT(hs_desc_decode(&out, buf_ptr(b), buf_len(b), &dp) == 0);
	hs_desc_clear(&out);
	buf_free(b);

	/* 17 clients: padded to 32 lines; the last one decodes. */
	ep.n_client_pks = 17;
	b = encode_desc(&d, &ep, &s);
	decode_params(&dp, &s);
	dp.client_auth_sk = sks[16];
	CU_ASSERT(hs_desc_decode(&out, buf_ptr(b), buf_len(b), &dp) == 0);
	CU_ASSERT(out.n_auth_clients == 32);
	CU_ASSERT(out.client_auth == 1);
	/* A client-less key against a descriptor without client auth
	 * still decodes, as in tor. */
	hs_desc_clear(&out);
	buf_free(b);
	ep.n_client_pks = 0;
	b = encode_desc(&d, &ep, &s);
	dp.client_auth_sk = other;
	CU_ASSERT(hs_desc_decode(&out, buf_ptr(b), buf_len(b), &dp) == 0);
	CU_ASSERT(out.client_auth == 0);
	hs_desc_clear(&out);
	buf_free(b);
	hs_desc_clear(&d);
}

/*
 * A caller-held ephemeral pair (tor keeps one per descriptor across its
 * uploads): every body carries it, clients still decrypt, and half a
 * pair is refused.  Without one each body gets a fresh key.
 */
static void
test_auth_ephemeral(void)
{
	struct svc			 s;
	struct hs_desc			 d, out;
	struct hs_desc_encode_params	 ep;
	struct hs_desc_decode_params	 dp;
	struct buf			*b;
	uint8_t				 sks[3][32], pks[3][32];
	uint8_t				 esk[32], epk[32], first[32], chk[32];
	size_t				 i, round;

	svc_init(&s);
	make_desc(&d, &s, 2);
	for (i = 0; i < 3; i++) {
		CU_ASSERT_FATAL(ob_random(sks[i], 32) == 0);
		CU_ASSERT_FATAL(ob_x25519_pubkey(pks[i], sks[i]) == 0);
	}
	CU_ASSERT_FATAL(hs_desc_auth_keypair(esk, epk) == 0);
	CU_ASSERT_FATAL(ob_x25519_pubkey(chk, esk) == 0);
	CU_ASSERT(memcmp(chk, epk, 32) == 0);
	encode_params(&ep, &s);
	ep.auth_ephemeral_sk = esk;
	ep.auth_ephemeral_pk = epk;
	decode_params(&dp, &s);
	hs_desc_init(&out);
	/* Twice with clients, twice without: the same key each time. */
	for (round = 0; round < 4; round++) {
		ep.client_pks = round < 2 ?
		    (const uint8_t (*)[32])pks : NULL;
		ep.n_client_pks = round < 2 ? 3 : 0;
		d.revision_counter = 1000 + round;
		b = encode_desc(&d, &ep, &s);
		for (i = 0; i < (round < 2 ? 3 : 1); i++) {
			dp.client_auth_sk = round < 2 ? sks[i] : NULL;
			CU_ASSERT_FATAL(hs_desc_decode(&out, buf_ptr(b),
			    buf_len(b), &dp) == 0);
			CU_ASSERT(out.client_auth == (round < 2));
			CU_ASSERT(memcmp(out.auth_ephemeral_key, epk,
			    32) == 0);
			compare_desc(&d, &out);
			hs_desc_clear(&out);
		}
		buf_free(b);
	}
	/* Half a pair. */
	b = buf_new(HS_DESC_MAX_LEN + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	ep.auth_ephemeral_pk = NULL;
	CU_ASSERT(hs_desc_encode_body(b, &d, &ep) == OB_ERR_INTERNAL);
	ep.auth_ephemeral_sk = NULL;
	ep.auth_ephemeral_pk = epk;
	CU_ASSERT(hs_desc_encode_body(b, &d, &ep) == OB_ERR_INTERNAL);
	buf_free(b);
	/* No pair: a fresh key per body. */
	ep.auth_ephemeral_pk = NULL;
	dp.client_auth_sk = NULL;
	for (round = 0; round < 2; round++) {
		b = encode_desc(&d, &ep, &s);
		CU_ASSERT_FATAL(hs_desc_decode(&out, buf_ptr(b), buf_len(b),
		    &dp) == 0);
		if (round == 0)
			memcpy(first, out.auth_ephemeral_key, 32);
		else
			CU_ASSERT(memcmp(first, out.auth_ephemeral_key,
			    32) != 0);
		CU_ASSERT(memcmp(out.auth_ephemeral_key, epk, 32) != 0);
		hs_desc_clear(&out);
		buf_free(b);
	}
	ob_wipe(esk, sizeof(esk));
	hs_desc_clear(&d);
}

static void
test_limits(void)
{
	struct svc			 s;
	struct hs_desc			 d, out;
	struct hs_desc_encode_params	 ep;
	struct hs_desc_decode_params	 dp;
	struct buf			*b;
	size_t				 blob;

	svc_init(&s);
	make_desc(&d, &s, HS_DESC_MAX_INTRO);
	encode_params(&ep, &s);
	b = encode_desc(&d, &ep, &s);
	printf("\n    20 intro points: %zu bytes ", buf_len(b));
	CU_ASSERT(buf_len(b) < 50000);
	blob = superenc_blob_len(b);
	CU_ASSERT((blob - 48) % HS_DESC_PAD_MULTIPLE == 0);
	decode_params(&dp, &s);
	hs_desc_init(&out);
	CU_ASSERT(hs_desc_decode(&out, buf_ptr(b), buf_len(b), &dp) == 0);
	CU_ASSERT(out.n_intro == HS_DESC_MAX_INTRO);
	hs_desc_clear(&out);

	/* The builder refuses 21. */
	d.n_intro = HS_DESC_MAX_INTRO + 1;
	CU_ASSERT(hs_desc_encode(b, &d, &ep, &s.ds_signer) == OB_ERR_LIMIT);
	CU_ASSERT(buf_len(b) == 0);
	d.n_intro = HS_DESC_MAX_INTRO;

	/* Too many clients for 50,000 bytes with 20 intro points. */
	{
		static uint8_t	pks[HS_DESC_MAX_AUTH_CLIENTS][32];

		memset(pks, 9, sizeof(pks));
		ep.client_pks = (const uint8_t (*)[32])pks;
		ep.n_client_pks = 200;
		CU_ASSERT(hs_desc_encode(b, &d, &ep, &s.ds_signer) ==
		    OB_ERR_TOO_LARGE);
		ep.n_client_pks = HS_DESC_MAX_AUTH_CLIENTS + 1;
		CU_ASSERT(hs_desc_encode(b, &d, &ep, &s.ds_signer) ==
		    OB_ERR_LIMIT);
		ep.n_client_pks = 0;
	}
	d.lifetime_min = HS_DESC_LIFETIME_MAX + 1;
	CU_ASSERT(hs_desc_encode(b, &d, &ep, &s.ds_signer) == OB_ERR_RANGE);
	buf_free(b);
	hs_desc_clear(&d);
}

/* --- Negative tests: one per rejection path. --- */

/* Replace the first occurrence of from with to in a copy of doc. */
static uint8_t *
edit(const struct buf *doc, const char *from, const char *to, size_t *lenp)
{
	const char	*s = (const char *)buf_ptr(doc), *at;
	uint8_t		*p;
	size_t		 n = buf_len(doc), off;

	at = strstr(s, from);
	CU_ASSERT_PTR_NOT_NULL_FATAL(at);
	off = (size_t)(at - s);
	p = malloc(n - strlen(from) + strlen(to) + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	memcpy(p, s, off);
	memcpy(p + off, to, strlen(to));
	memcpy(p + off + strlen(to), at + strlen(from),
	    n - off - strlen(from));
	*lenp = n - strlen(from) + strlen(to);
	p[*lenp] = '\0';
	return p;
}

/* Re-sign an edited document (body up to "signature ") with the desc
 * signing key, so that checks after the signature are reached. */
static struct buf *
resign(const uint8_t *p, size_t len, const struct svc *s)
{
	const char	*sig;
	struct buf	*b;
	uint8_t		*msg, sg[64];
	size_t		 msglen, body;

	sig = strstr((const char *)p, "\nsignature ");
	CU_ASSERT_PTR_NOT_NULL_FATAL(sig);
	body = (size_t)(sig - (const char *)p) + 1;
	CU_ASSERT_FATAL(hs_desc_sig_message(&msg, &msglen, p, body) == 0);
	CU_ASSERT_FATAL(hs_expanded_sign(sg, msg, msglen, s->ds_sk,
	    s->ds_pk) == 0);
	free(msg);
	b = buf_new(HS_DESC_MAX_LEN * 2);
	CU_ASSERT_FATAL(b != NULL);
	CU_ASSERT_FATAL(buf_put(b, p, body) == 0);
	CU_ASSERT_FATAL(hs_desc_append_signature(b, sg) == 0);
	(void)len;
	return b;
}

static int
try_decode(const uint8_t *p, size_t len, const struct svc *s, int flags)
{
	struct hs_desc			d;
	struct hs_desc_decode_params	dp;
	int				r;

	decode_params(&dp, s);
	dp.flags = flags;
	hs_desc_init(&d);
	r = hs_desc_decode(&d, p, len, &dp);
	hs_desc_clear(&d);
	return r;
}

static void
test_negative(void)
{
	struct svc			 s;
	struct hs_desc			 d;
	struct hs_desc_encode_params	 ep;
	struct hs_desc_decode_params	 dp;
	struct hs_desc			 out;
	struct buf			*b, *b2;
	uint8_t				*p, *big, wrong[32];
	const char			*at;
	char				 line[128];
	size_t				 len, n;

	svc_init(&s);
	make_desc(&d, &s, 3);
	encode_params(&ep, &s);
	b = encode_desc(&d, &ep, &s);
	len = buf_len(b);
	CU_ASSERT_FATAL(try_decode(buf_ptr(b), len, &s, 0) == 0);

	/* Truncated: inside an object, and before the signature line. */
	CU_ASSERT(try_decode(buf_ptr(b), len / 2, &s, 0) ==
	    OB_ERR_TRUNCATED);
	at = strstr((const char *)buf_ptr(b), "signature ");
	CU_ASSERT(try_decode(buf_ptr(b), (size_t)(at - (const char *)
	    buf_ptr(b)), &s, 0) == OB_ERR_MISSING);
	CU_ASSERT(try_decode(buf_ptr(b), 0, &s, 0) == OB_ERR_TRUNCATED);

	/* Oversized: 50,000 bytes is one too many. */
	big = malloc(50000);
	CU_ASSERT_FATAL(big != NULL);
	memset(big, 'a', 50000);
	memcpy(big, buf_ptr(b), len);
	CU_ASSERT(try_decode(big, 50000, &s, 0) == OB_ERR_TOO_LARGE);
	free(big);

	/* Bad signature: one bit of the signature. */
	p = malloc(len + 1);
	CU_ASSERT_FATAL(p != NULL);
	memcpy(p, buf_ptr(b), len + 1);
	n = (size_t)(at - (const char *)buf_ptr(b)) + 20;
	p[n] = p[n] == 'A' ? 'B' : 'A';
	CU_ASSERT(try_decode(p, len, &s, 0) == OB_ERR_SIGNATURE);
	/* Bad signature: one byte of the signed body. */
	memcpy(p, buf_ptr(b), len + 1);
	at = strstr((const char *)p, "revision-counter 1");
	CU_ASSERT_FATAL(at != NULL);
	p[at - (const char *)p + 17] = '2';
	CU_ASSERT(try_decode(p, len, &s, 0) == OB_ERR_SIGNATURE);
	free(p);

	/* Wrong blinded key. */
	decode_params(&dp, &s);
	CU_ASSERT_FATAL(hs_blind_pubkey(wrong, s.id_pk, TP + 1, PERIOD) == 0);
	dp.blinded_pk = wrong;
	hs_desc_init(&out);
	CU_ASSERT(hs_desc_decode(&out, buf_ptr(b), len, &dp) ==
	    OB_ERR_MISMATCH);
	/* Wrong identity: the subcredential, so the first MAC, differs. */
	dp.blinded_pk = s.bl_pk;
	dp.identity_pk = wrong;
	CU_ASSERT(hs_desc_decode(&out, buf_ptr(b), len, &dp) == OB_ERR_MAC);

	/* Expired 08 cert. */
	decode_params(&dp, &s);
	dp.now = s.now + 56 * 3600;
	CU_ASSERT(hs_desc_decode(&out, buf_ptr(b), len, &dp) ==
	    OB_ERR_EXPIRED);
	hs_desc_clear(&out);

	/* Bad MAC: one base64 character of the middle layer, re-signed. */
	at = strstr((const char *)buf_ptr(b),
	    "superencrypted\n-----BEGIN MESSAGE-----\n");
	CU_ASSERT_FATAL(at != NULL);
	n = (size_t)(at - (const char *)buf_ptr(b)) + 39 + 64 * 3 + 30;
	p = malloc(len + 1);
	CU_ASSERT_FATAL(p != NULL);
	memcpy(p, buf_ptr(b), len + 1);
	p[n] = p[n] == 'A' ? 'B' : 'A';
	b2 = resign(p, len, &s);
	CU_ASSERT(try_decode(buf_ptr(b2), buf_len(b2), &s, 0) == OB_ERR_MAC);
	buf_free(b2);
	free(p);

	/* Duplicate, missing, out of order keywords. */
	snprintf(line, sizeof(line), "revision-counter %llu\n",
	    (unsigned long long)d.revision_counter);
	p = edit(b, "superencrypted\n", "revision-counter 5\nsuperencrypted\n",
	    &n);
	CU_ASSERT(try_decode(p, n, &s, 0) == OB_ERR_DUPLICATE);
	free(p);
	p = edit(b, "descriptor-lifetime 180\n", "", &n);
	CU_ASSERT(try_decode(p, n, &s, 0) == OB_ERR_MISSING);
	free(p);
	p = edit(b, "hs-descriptor 3\ndescriptor-lifetime 180\n",
	    "descriptor-lifetime 180\nhs-descriptor 3\n", &n);
	CU_ASSERT(try_decode(p, n, &s, 0) == OB_ERR_FORMAT);
	free(p);
	p = edit(b, line, "", &n);
	b2 = buf_new(HS_DESC_MAX_LEN);
	CU_ASSERT_FATAL(b2 != NULL);
	at = strstr((const char *)p, "superencrypted\n");
	CU_ASSERT_FATAL(buf_put(b2, p, (size_t)(at - (char *)p)) == 0 &&
	    buf_put(b2, at, strlen(at)) == 0);
	free(p);
	/* revision-counter after superencrypted. */
	p = edit(b, line, "", &n);
	at = strstr((const char *)p, "signature ");
	{
		struct buf	*b3 = buf_new(HS_DESC_MAX_LEN);

		CU_ASSERT_FATAL(b3 != NULL);
		CU_ASSERT_FATAL(buf_put(b3, p, (size_t)(at - (char *)p)) == 0 &&
		    buf_put_str(b3, line) == 0 &&
		    buf_put(b3, at, strlen(at)) == 0);
		CU_ASSERT(try_decode(buf_ptr(b3), buf_len(b3), &s, 0) ==
		    OB_ERR_FORMAT);
		buf_free(b3);
	}
	free(p);
	buf_free(b2);
	/* Anything after the signature line. */
	p = edit(b, "\nsignature ", "\nsignature ", &n);
	{
		struct buf	*b3 = buf_new(HS_DESC_MAX_LEN);

		CU_ASSERT_FATAL(b3 != NULL);
		CU_ASSERT_FATAL(buf_put(b3, p, n) == 0 &&
		    buf_put_str(b3, "extra-line\n") == 0);
		CU_ASSERT(try_decode(buf_ptr(b3), buf_len(b3), &s, 0) ==
		    OB_ERR_FORMAT);
		buf_free(b3);
	}
	free(p);

	/* Version, lifetime, counter syntax. */
	p = edit(b, "hs-descriptor 3\n", "hs-descriptor 2\n", &n);
	CU_ASSERT(try_decode(p, n, &s, 0) == OB_ERR_VERSION);
	free(p);
	p = edit(b, "descriptor-lifetime 180\n", "descriptor-lifetime 721\n",
	    &n);
	CU_ASSERT(try_decode(p, n, &s, 0) == OB_ERR_RANGE);
	free(p);
	p = edit(b, "descriptor-lifetime 180\n", "descriptor-lifetime 720\n",
	    &n);
	CU_ASSERT(try_decode(p, n, &s, 0) == OB_ERR_SIGNATURE);
	free(p);
	p = edit(b, "descriptor-lifetime 180\n", "descriptor-lifetime  180\n",
	    &n);
	CU_ASSERT(try_decode(p, n, &s, 0) == OB_ERR_FORMAT);
	free(p);
	p = edit(b, "revision-counter ", "revision-counter 0", &n);
	CU_ASSERT(try_decode(p, n, &s, 0) == OB_ERR_FORMAT);
	free(p);
	p = edit(b, "-----END ED25519 CERT-----", "-----END ED25519 CERX-----",
	    &n);
	CU_ASSERT(try_decode(p, n, &s, 0) == OB_ERR_FORMAT);
	free(p);

	/* Garbage and NUL bytes. */
	{
		uint8_t	g[300];
		size_t	i;

		for (i = 0; i < sizeof(g); i++)
			g[i] = (uint8_t)(test_rand() | 0x80);
		CU_ASSERT(try_decode(g, sizeof(g), &s, 0) == OB_ERR_FORMAT);
		CU_ASSERT(try_decode((const uint8_t *)"hs-descriptor 3",
		    15, &s, 0) == OB_ERR_MISSING);
	}
	p = malloc(len);
	CU_ASSERT_FATAL(p != NULL);
	memcpy(p, buf_ptr(b), len);
	p[len / 3] = '\0';
	CU_ASSERT(try_decode(p, len, &s, 0) == OB_ERR_FORMAT);
	free(p);

	buf_free(b);
	hs_desc_clear(&d);
}

/* An intro point with expired certs is skipped, or fails it all. */
static void
test_expired_intro(void)
{
	struct svc			 s;
	struct hs_desc			 d, out;
	struct hs_desc_encode_params	 ep;
	struct hs_desc_decode_params	 dp;
	struct buf			*b;

	svc_init(&s);
	make_desc(&d, &s, 3);
	make_intro(&d.intro[1], &s, (uint32_t)(s.now / 3600) - 1);
	encode_params(&ep, &s);
	b = encode_desc(&d, &ep, &s);
	decode_params(&dp, &s);
	hs_desc_init(&out);
	CU_ASSERT_FATAL(hs_desc_decode(&out, buf_ptr(b), buf_len(b),
	    &dp) == 0);
	CU_ASSERT(out.n_intro == 2);
	CU_ASSERT(out.n_intro_skipped == 1);
	CU_ASSERT(memcmp(out.intro[1].onion_key, d.intro[2].onion_key,
	    32) == 0);
	hs_desc_clear(&out);
	dp.flags = HS_DESC_F_STRICT;
	CU_ASSERT(hs_desc_decode(&out, buf_ptr(b), buf_len(b), &dp) ==
	    OB_ERR_EXPIRED);
	hs_desc_clear(&out);
	buf_free(b);

	/* An intro cert signed by another key. */
	make_intro(&d.intro[1], &s, hs_cert_expiry_intro(s.now));
	make_cert(&d.intro[1].auth_key_cert, HS_CERT_TYPE_AUTH_HS_IP_KEY,
	    hs_cert_expiry_intro(s.now), s.ds_pk, &s.bl_signer);
	b = encode_desc(&d, &ep, &s);
	CU_ASSERT(hs_desc_decode(&out, buf_ptr(b), buf_len(b), &dp) ==
	    OB_ERR_MISMATCH);
	dp.flags = 0;
	CU_ASSERT(hs_desc_decode(&out, buf_ptr(b), buf_len(b), &dp) == 0);
	CU_ASSERT(out.n_intro == 2 && out.n_intro_skipped == 1);
	hs_desc_clear(&out);
	buf_free(b);
	hs_desc_clear(&d);
}

/*
 * Layers we write by hand (through the codec's own cipher) for what the
 * builder refuses to make: 21 intro points, malformed middle layers.
 */
static struct buf *
assemble(const struct svc *s, const struct hs_desc *d, const char *middle)
{
	struct buf	*b;
	uint8_t		 subcred[32], *msg, sig[64];
	size_t		 msglen, padded;

	CU_ASSERT_FATAL(hs_subcredential(subcred, s->id_pk, s->bl_pk) == 0);
	b = buf_new(HS_DESC_MAX_LEN * 2);
	CU_ASSERT_FATAL(b != NULL);
	padded = (strlen(middle) + 9999) / 10000 * 10000;
	CU_ASSERT_FATAL(buf_putf(b, "hs-descriptor 3\ndescriptor-lifetime 180\n"
	    "descriptor-signing-key-cert\n-----BEGIN ED25519 CERT-----\n") ==
	    0);
	CU_ASSERT_FATAL(b64_encode_buf(b, d->signing_cert.encoded,
	    d->signing_cert.encoded_len, B64_PAD, 1) == 0);
	CU_ASSERT_FATAL(buf_putf(b, "-----END ED25519 CERT-----\n"
	    "revision-counter %llu\nsuperencrypted\n"
	    "-----BEGIN MESSAGE-----\n",
	    (unsigned long long)d->revision_counter) == 0);
	CU_ASSERT_FATAL(hs_desc_layer_encrypt(b, (const uint8_t *)middle,
	    strlen(middle), padded, s->bl_pk, 32, subcred,
	    d->revision_counter, HS_DESC_CONST_SUPERENC) == 0);
	CU_ASSERT_FATAL(buf_put_str(b, "-----END MESSAGE-----\n") == 0);
	CU_ASSERT_FATAL(hs_desc_sig_message(&msg, &msglen, buf_ptr(b),
	    buf_len(b)) == 0);
	CU_ASSERT_FATAL(hs_expanded_sign(sig, msg, msglen, s->ds_sk,
	    s->ds_pk) == 0);
	free(msg);
	CU_ASSERT_FATAL(hs_desc_append_signature(b, sig) == 0);
	return b;
}

/* A middle layer around an inner plaintext. */
static struct buf *
middle_for(const struct svc *s, const struct hs_desc *d, const char *inner,
    const char *extra)
{
	struct buf	*m;
	uint8_t		 subcred[32];
	int		 i;

	CU_ASSERT_FATAL(hs_subcredential(subcred, s->id_pk, s->bl_pk) == 0);
	m = buf_new(HS_DESC_MAX_LEN * 2);
	CU_ASSERT_FATAL(m != NULL);
	CU_ASSERT_FATAL(buf_put_str(m, "desc-auth-type x25519\n"
	    "desc-auth-ephemeral-key "
	    "WjZCU9sV1oxkxaPcd7/YozeZgq0lEs6DhWyrdYRNJR4=\n") == 0);
	for (i = 0; i < 16; i++)
		CU_ASSERT_FATAL(buf_put_str(m, "auth-client D0Bz0OlEMCg "
		    "or3nS3ScSPYfLJuP9osGiQ B40RdIWhw7kdA7lt3KJPvQ\n") == 0);
	if (extra != NULL)
		CU_ASSERT_FATAL(buf_put_str(m, extra) == 0);
	CU_ASSERT_FATAL(buf_put_str(m, "encrypted\n"
	    "-----BEGIN MESSAGE-----\n") == 0);
	CU_ASSERT_FATAL(hs_desc_layer_encrypt(m, (const uint8_t *)inner,
	    strlen(inner), 0, s->bl_pk, 32, subcred, d->revision_counter,
	    HS_DESC_CONST_ENC) == 0);
	CU_ASSERT_FATAL(buf_put_str(m, "-----END MESSAGE-----") == 0 &&
	    buf_put_u8(m, 0) == 0);
	return m;
}

static int
try_layers(const struct svc *s, const struct hs_desc *d, const char *inner,
    const char *extra, int flags, struct hs_desc *out)
{
	struct buf	*m, *b;
	int		 r;

	m = middle_for(s, d, inner, extra);
	b = assemble(s, d, (const char *)buf_ptr(m));
	{
		struct hs_desc_decode_params	dp;

		decode_params(&dp, s);
		dp.flags = flags;
		r = hs_desc_decode(out, buf_ptr(b), buf_len(b), &dp);
	}
	buf_free(m);
	buf_free(b);
	return r;
}

static void
test_inner_limits(void)
{
	struct svc	 s;
	struct hs_desc	 d, out;
	struct buf	*ipt, *inner;
	uint8_t		*p;
	const char	*a, *nx;
	size_t		 len, i;

	svc_init(&s);
	make_desc(&d, &s, 0);
	hs_desc_init(&out);

	/* One arti intro point section (its certs are not signed by our
	 * key: skipped), up to the next "introduction-point". */
	p = vector("hsdesc/arti-hsdesc-inner.txt", &len);
	a = strstr((const char *)p, "introduction-point ");
	CU_ASSERT_FATAL(a != NULL);
	nx = strstr(a, "\nintroduction-point ");
	CU_ASSERT_FATAL(nx != NULL);
	ipt = buf_new(0);
	inner = buf_new(0);
	CU_ASSERT_FATAL(ipt != NULL && inner != NULL);
	CU_ASSERT_FATAL(buf_put(ipt, a, (size_t)(nx - a) + 1) == 0);
	free(p);

	CU_ASSERT_FATAL(buf_put_str(inner, "create2-formats 2\n") == 0);
	for (i = 0; i < 20; i++)
		CU_ASSERT_FATAL(buf_put(inner, buf_ptr(ipt),
		    buf_len(ipt)) == 0);
	CU_ASSERT_FATAL(buf_put_u8(inner, 0) == 0);
	CU_ASSERT(try_layers(&s, &d, (const char *)buf_ptr(inner), NULL, 0,
	    &out) == 0);
	CU_ASSERT(out.n_intro == 0 && out.n_intro_skipped == 20);
	hs_desc_clear(&out);
	inner->len--;
	CU_ASSERT_FATAL(buf_put(inner, buf_ptr(ipt), buf_len(ipt)) == 0 &&
	    buf_put_u8(inner, 0) == 0);
	CU_ASSERT(try_layers(&s, &d, (const char *)buf_ptr(inner), NULL, 0,
	    &out) == OB_ERR_LIMIT);
	CU_ASSERT(hs_desc_decode_inner(&out, buf_ptr(inner),
	    buf_len(inner) - 1, NULL, 0, 0) == OB_ERR_LIMIT);
	hs_desc_clear(&out);

	/* An unpadded link specifier block is accepted (tor's decoder
	 * takes it); the arti block with its '=' removed. */
	{
		char	*t = malloc(buf_len(ipt) + 1), *eq;
		size_t	 k;

		CU_ASSERT_FATAL(t != NULL);
		memcpy(t, buf_ptr(ipt), buf_len(ipt));
		t[buf_len(ipt)] = '\0';
		eq = strchr(t, '=');
		CU_ASSERT_FATAL(eq != NULL && eq < strchr(t, '\n'));
		k = strspn(eq, "=");
		memmove(eq, eq + k, strlen(eq + k) + 1);
		CU_ASSERT(hs_desc_decode_inner(&out, (const uint8_t *)
		    "create2-formats 2\n", 18, NULL, 0, 0) == 0);
		hs_desc_clear(&out);
		{
			struct buf	*u = buf_new(0);

			CU_ASSERT_FATAL(u != NULL && buf_put_str(u,
			    "create2-formats 2\n") == 0 &&
			    buf_put_str(u, t) == 0);
			CU_ASSERT(hs_desc_decode_inner(&out, buf_ptr(u),
			    buf_len(u), NULL, 0, HS_DESC_F_STRICT) == 0);
			CU_ASSERT(out.n_intro == 1);
			hs_desc_clear(&out);
			buf_free(u);
		}
		free(t);
	}

	/* Inner layer rules. */
	CU_ASSERT(try_layers(&s, &d, "create2-formats 3\n", NULL, 0,
	    &out) == OB_ERR_FORMAT);
	CU_ASSERT(try_layers(&s, &d, "single-onion-service\n"
	    "create2-formats 2\n", NULL, 0, &out) == OB_ERR_FORMAT);
	CU_ASSERT(try_layers(&s, &d, "create2-formats 2\n"
	    "single-onion-service\nsingle-onion-service\n", NULL, 0,
	    &out) == OB_ERR_DUPLICATE);
	CU_ASSERT(try_layers(&s, &d, "create2-formats 2\n"
	    "flow-control 1-2 300\n", NULL, 0, &out) == OB_ERR_RANGE);
	CU_ASSERT(try_layers(&s, &d, "create2-formats 2\n"
	    "pow-params v1 a 1 2\npow-params v1 b 1 2\n", NULL, 0,
	    &out) == OB_ERR_DUPLICATE);
	CU_ASSERT(try_layers(&s, &d, "create2-formats 2 1\n"
	    "some-future-line x\n"
	    "pow-params v1 AAAA 10 2030-01-01T00:00:00\n", NULL, 0,
	    &out) == 0);
	CU_ASSERT(out.pow_params != NULL && strcmp(out.pow_params,
	    "pow-params v1 AAAA 10 2030-01-01T00:00:00\n") == 0);
	hs_desc_clear(&out);
	{
		struct buf	*pw = buf_new(0);
		int		 k;

		CU_ASSERT_FATAL(pw != NULL &&
		    buf_put_str(pw, "create2-formats 2\n") == 0);
		for (k = 0; k < 40; k++)
			CU_ASSERT_FATAL(buf_putf(pw, "pow-params v%d "
			    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA 1 x\n", k) == 0);
		CU_ASSERT(hs_desc_decode_inner(&out, buf_ptr(pw),
		    buf_len(pw), NULL, 0, 0) == OB_ERR_LIMIT);
		hs_desc_clear(&out);
		buf_free(pw);
	}

	/* Middle layer rules. */
	CU_ASSERT(try_layers(&s, &d, "create2-formats 2\n",
	    "desc-auth-type x25519\n", 0, &out) == OB_ERR_DUPLICATE);
	CU_ASSERT(try_layers(&s, &d, "create2-formats 2\n",
	    "auth-client AAAA AAAA AAAA\n", 0, &out) == OB_ERR_FORMAT);
	CU_ASSERT(try_layers(&s, &d, "create2-formats 2\n",
	    "auth-client D0Bz0OlEMCg or3nS3ScSPYfLJuP9osGiQ\n", 0, &out) ==
	    OB_ERR_FORMAT);
	hs_desc_clear(&out);

	buf_free(ipt);
	buf_free(inner);
	hs_desc_clear(&d);
}

static void
test_linkspec(void)
{
	struct hs_linkspec	ls[4];
	size_t			n;
	const uint8_t		ok[] = { 2, 0, 6, 1, 2, 3, 4, 0, 80,
				    9, 2, 0xaa, 0xbb };
	const uint8_t		badlen[] = { 1, 0, 5, 1, 2, 3, 4, 0 };
	const uint8_t		extra[] = { 1, 9, 0, 0 };
	const uint8_t		trunc[] = { 2, 9, 0 };

	CU_ASSERT(hs_linkspec_split(ls, 4, &n, ok, sizeof(ok)) == 0);
	CU_ASSERT(n == 2 && ls[0].type == 0 && ls[0].len == 6 &&
	    ls[1].type == 9 && ls[1].len == 2 && ls[1].data[1] == 0xbb);
	CU_ASSERT(hs_linkspec_split(ls, 1, &n, ok, sizeof(ok)) ==
	    OB_ERR_LIMIT);
	CU_ASSERT(hs_linkspec_split(ls, 4, &n, badlen, sizeof(badlen)) ==
	    OB_ERR_FORMAT);
	CU_ASSERT(hs_linkspec_split(ls, 4, &n, extra, sizeof(extra)) ==
	    OB_ERR_LEFTOVER);
	CU_ASSERT(hs_linkspec_split(ls, 4, &n, trunc, sizeof(trunc)) ==
	    OB_ERR_TRUNCATED);
	CU_ASSERT(hs_linkspec_split(ls, 4, &n, ok, 0) == OB_ERR_TRUNCATED);
}

/* --- stem cross-checks --- */

static int
run_cmd(const char *cmd)
{
	int	st = system(cmd);

	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static const char *
stem_script(const char *name)
{
	static char	path[1024];
	const char	*dir = getenv("OBHSM_TESTDATA");

	snprintf(path, sizeof(path), "%s/../stem/%s",
	    dir != NULL ? dir : "tests/vectors", name);
	return path;
}

/* Ours -> stem: stem parses, checks the signature, decrypts both layers
 * and reports what it saw, which must be what we built. */
static void
test_stem_reads_ours(void)
{
	struct svc			 s;
	struct hs_desc			 d;
	struct hs_desc_encode_params	 ep;
	struct buf			*b;
	char				 addr[HS_ADDR_LEN + 1], path[1024];
	char				 cmd[4096], want[256];
	uint8_t				*rep;
	size_t				 replen;
	FILE				*f;

	if (!test_have_stem())
		TEST_SKIP("stem is not installed for /usr/bin/python3");
	svc_init(&s);
	make_desc(&d, &s, 3);
	encode_params(&ep, &s);
	b = encode_desc(&d, &ep, &s);
	CU_ASSERT_FATAL(hs_address_encode(addr, s.id_pk) == 0);
	snprintf(path, sizeof(path), "%s/ours.desc", test_tmpdir());
	f = fopen(path, "wb");
	CU_ASSERT_FATAL(f != NULL);
	CU_ASSERT(fwrite(buf_ptr(b), 1, buf_len(b), f) == buf_len(b));
	fclose(f);
	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s %s %s > %s/ours.out",
	    stem_script("check_ours.py"), path, addr, test_tmpdir());
	CU_ASSERT_FATAL(run_cmd(cmd) == 0);
	snprintf(path, sizeof(path), "%s/ours.out", test_tmpdir());
	rep = test_read_file(path, &replen);
	CU_ASSERT_FATAL(rep != NULL);
	snprintf(want, sizeof(want), "revision %llu\nlifetime 180\n"
	    "intro 3\nsingle 1\n", (unsigned long long)d.revision_counter);
	CU_ASSERT(strstr((char *)rep, want) != NULL);
	if (strstr((char *)rep, want) == NULL)
		fprintf(stderr, "stem said: %s\n", rep);
	/* stem saw our intro points' ntor keys, in order. */
	{
		char	key[64], *at = (char *)rep;
		size_t	i;

		for (i = 0; i < d.n_intro; i++) {
			CU_ASSERT_FATAL(b64_encode(key, sizeof(key),
			    d.intro[i].onion_key, 32, B64_PAD) == 0);
			snprintf(want, sizeof(want), "ipt %s\n", key);
			at = strstr(at, want);
			CU_ASSERT(at != NULL);
			if (at == NULL)
				break;
		}
	}
	free(rep);
	buf_free(b);
	hs_desc_clear(&d);
}

/* stem -> ours: a descriptor stem builds with its own keys. */
static void
test_ours_reads_stem(void)
{
	struct hs_desc			 d;
	struct hs_desc_decode_params	 dp;
	uint8_t				 hsid[32];
	char				 cmd[4096], path[1024], addr[128];
	uint8_t				*p, *a;
	size_t				 len, alen;

	if (!test_have_stem())
		TEST_SKIP("stem is not installed for /usr/bin/python3");
	snprintf(path, sizeof(path), "%s/stem.desc", test_tmpdir());
	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s %s > %s/stem.addr",
	    stem_script("make_desc.py"), path, test_tmpdir());
	CU_ASSERT_FATAL(run_cmd(cmd) == 0);
	p = test_read_file(path, &len);
	CU_ASSERT_FATAL(p != NULL);
	snprintf(path, sizeof(path), "%s/stem.addr", test_tmpdir());
	a = test_read_file(path, &alen);
	CU_ASSERT_FATAL(a != NULL && alen >= HS_ADDR_LEN);
	memcpy(addr, a, HS_ADDR_LEN);
	addr[HS_ADDR_LEN] = '\0';
	free(a);
	CU_ASSERT_FATAL(hs_address_decode(hsid, addr) == 0);
	memset(&dp, 0, sizeof(dp));
	dp.identity_pk = hsid;
	dp.now = time(NULL);
	hs_desc_init(&d);
	CU_ASSERT(hs_desc_decode(&d, p, len, &dp) == 0);
	CU_ASSERT(d.revision_counter == 77);
	CU_ASSERT(d.n_intro == 2);
	CU_ASSERT(d.n_intro_skipped == 0);
	/* NSPEC 1, IPv4 1.2.3.<i>:9001. */
	{
		const uint8_t	ls[] = { 1, 0, 6, 1, 2, 3, 1, 0x23, 0x29 };

		CU_ASSERT(d.intro[0].linkspec_len == sizeof(ls) &&
		    memcmp(d.intro[0].linkspec, ls, sizeof(ls)) == 0);
	}
	hs_desc_clear(&d);
	free(p);
}

/* Ours -> C tor: HSPOST to a private tor (network namespace, no
 * network) that decodes the plaintext part: 08 cert and signature. */
static void
test_tor_accepts_ours(void)
{
	struct svc			 s;
	struct hs_desc			 d;
	struct hs_desc_encode_params	 ep;
	struct buf			*b;
	char				 addr[HS_ADDR_LEN + 1], dir[1024];
	char				 cmd[4096], path[1024];
	uint8_t				*rep;
	size_t				 replen, sigat;
	FILE				*f;
	const char			*at;
	int				 i;

	if (run_cmd("command -v tor >/dev/null && "
	    "unshare -rn true 2>/dev/null") != 0)
		TEST_SKIP("no tor, or no unshare -rn (network namespace)");
	svc_init(&s);
	make_desc(&d, &s, 3);
	encode_params(&ep, &s);
	b = encode_desc(&d, &ep, &s);
	CU_ASSERT_FATAL(hs_address_encode(addr, s.id_pk) == 0);
	at = strstr((const char *)buf_ptr(b), "\nsignature ");
	CU_ASSERT_FATAL(at != NULL);
	sigat = (size_t)(at - (const char *)buf_ptr(b)) + 30;
	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s.desc", test_tmpdir(),
		    i == 0 ? "good" : "bad");
		f = fopen(path, "wb");
		CU_ASSERT_FATAL(f != NULL);
		/* The second copy has one signature character changed. */
		CU_ASSERT(fwrite(buf_ptr(b), 1, sigat, f) == sigat);
		CU_ASSERT(fputc(i == 0 ? buf_ptr(b)[sigat] :
		    (buf_ptr(b)[sigat] == 'A' ? 'B' : 'A'), f) != EOF);
		CU_ASSERT(fwrite(buf_ptr(b) + sigat + 1, 1,
		    buf_len(b) - sigat - 1, f) == buf_len(b) - sigat - 1);
		fclose(f);
	}
	snprintf(dir, sizeof(dir), "%s/tor", test_tmpdir());
	snprintf(cmd, sizeof(cmd), "mkdir -p %s && timeout 120 unshare -rn "
	    "/usr/bin/python3 %s %s %s/good.desc %s %s/bad.desc %s "
	    "> %s/tor.out", dir, stem_script("tor_hspost.py"), dir,
	    test_tmpdir(), addr, test_tmpdir(), addr, test_tmpdir());
	CU_ASSERT_FATAL(run_cmd(cmd) == 0);
	snprintf(path, sizeof(path), "%s/tor.out", test_tmpdir());
	rep = test_read_file(path, &replen);
	CU_ASSERT_FATAL(rep != NULL);
	CU_ASSERT(strstr((char *)rep, "good.desc 250 OK") != NULL);
	CU_ASSERT(strstr((char *)rep, "bad.desc 554") != NULL);
	if (strstr((char *)rep, "good.desc 250 OK") == NULL)
		fprintf(stderr, "tor said: %s\n", rep);
	free(rep);
	buf_free(b);
	hs_desc_clear(&d);
}

/* --- Certs the caller has verified (hs_desc_decode_params.trusted). --- */

struct trust_set {
	const struct hs_cert	*c[2 * HS_DESC_MAX_INTRO + 1];
	size_t			 n;
	size_t			 asked;		/* calls */
	size_t			 yes;		/* answered 1 */
};

static int
trust_cb(void *arg, const uint8_t *enc, size_t len)
{
	struct trust_set	*t = arg;
	size_t			 i;

	t->asked++;
	for (i = 0; i < t->n; i++)
		if (t->c[i]->encoded_len == len &&
		    memcmp(t->c[i]->encoded, enc, len) == 0) {
			t->yes++;
			return 1;
		}
	return 0;
}

/* All the certs of d. */
static void
trust_all(struct trust_set *t, const struct hs_desc *d)
{
	size_t	i;

	memset(t, 0, sizeof(*t));
	t->c[t->n++] = &d->signing_cert;
	for (i = 0; i < d->n_intro; i++) {
		t->c[t->n++] = &d->intro[i].auth_key_cert;
		t->c[t->n++] = &d->intro[i].enc_key_cert;
	}
}

static void
test_trusted_certs(void)
{
	struct svc			 s;
	struct hs_desc			 d, good, out;
	struct hs_desc_encode_params	 ep;
	struct hs_desc_decode_params	 dp;
	struct trust_set		 t;
	struct buf			*b;
	struct hs_cert			*c;

	svc_init(&s);
	make_desc(&d, &s, 3);
	good = d;
	encode_params(&ep, &s);
	b = encode_desc(&d, &ep, &s);
	decode_params(&dp, &s);
	dp.flags = HS_DESC_F_STRICT;
	dp.trusted = trust_cb;
	dp.trusted_arg = &t;
	hs_desc_init(&out);

	/* Every cert trusted: the same result, each cert asked about. */
	trust_all(&t, &good);
	CU_ASSERT_FATAL(hs_desc_decode(&out, buf_ptr(b), buf_len(b),
	    &dp) == 0);
	compare_desc(&d, &out);
	CU_ASSERT(t.asked == 7 && t.yes == 7);
	hs_desc_clear(&out);

	/* Trust skips the signature only: a trusted cert is still judged
	 * on expiry and on the key it must come from. */
	dp.now = (time_t)d.signing_cert.expiry_hours * 3600 + 1;
	CU_ASSERT(hs_desc_decode(&out, buf_ptr(b), buf_len(b), &dp) ==
	    OB_ERR_EXPIRED);
	dp.now = s.now;
	dp.blinded_pk = s.id_pk;	/* not the blinded key */
	CU_ASSERT(hs_desc_decode(&out, buf_ptr(b), buf_len(b), &dp) ==
	    OB_ERR_MISMATCH);
	dp.blinded_pk = s.bl_pk;
	buf_free(b);

	/* One signature byte flipped in intro point 1's auth-key cert. */
	c = &d.intro[1].auth_key_cert;
	c->encoded[c->encoded_len - 1] ^= 0x01;
	c->signature[ED25519_SIG_LEN - 1] ^= 0x01;
	b = encode_desc(&d, &ep, &s);
	/* Not in the set (the set holds the good bytes): verified, fails. */
	trust_all(&t, &good);
	CU_ASSERT(hs_desc_decode(&out, buf_ptr(b), buf_len(b), &dp) ==
	    OB_ERR_SIGNATURE);
	CU_ASSERT(t.yes >= 1);
	/* A set without it at all, and no set: the same. */
	memset(&t, 0, sizeof(t));
	t.c[t.n++] = &good.signing_cert;
	CU_ASSERT(hs_desc_decode(&out, buf_ptr(b), buf_len(b), &dp) ==
	    OB_ERR_SIGNATURE);
	CU_ASSERT(t.yes == 1);
	dp.trusted = NULL;
	CU_ASSERT(hs_desc_decode(&out, buf_ptr(b), buf_len(b), &dp) ==
	    OB_ERR_SIGNATURE);
	/* Not strict: that intro point alone is dropped. */
	dp.trusted = trust_cb;
	dp.flags = 0;
	trust_all(&t, &good);
	CU_ASSERT(hs_desc_decode(&out, buf_ptr(b), buf_len(b), &dp) == 0);
	CU_ASSERT(out.n_intro == 2 && out.n_intro_skipped == 1);
	hs_desc_clear(&out);
	/* The caller vouching for exactly those bytes is what skips it. */
	dp.flags = HS_DESC_F_STRICT;
	trust_all(&t, &d);
	CU_ASSERT(hs_desc_decode(&out, buf_ptr(b), buf_len(b), &dp) == 0);
	hs_desc_clear(&out);
	buf_free(b);

	/* A flipped 08 cert signature outside the set fails the outer
	 * layer, in full and outer-only decoding alike. */
	d = good;
	c = &d.signing_cert;
	c->encoded[c->encoded_len - 1] ^= 0x80;
	c->signature[ED25519_SIG_LEN - 1] ^= 0x80;
	b = encode_desc(&d, &ep, &s);
	trust_all(&t, &good);
	CU_ASSERT(hs_desc_decode(&out, buf_ptr(b), buf_len(b), &dp) ==
	    OB_ERR_SIGNATURE);
	dp.flags = HS_DESC_F_OUTER_ONLY;
	dp.blinded_pk = NULL;
	CU_ASSERT(hs_desc_decode(&out, buf_ptr(b), buf_len(b), &dp) ==
	    OB_ERR_SIGNATURE);
	buf_free(b);
	hs_desc_clear(&out);
}

/*
 * Trust never crosses keys: service A's intro point certs, trusted byte
 * for byte, in a body of service B (another descriptor signing key) are
 * refused as certs of the wrong signer, and an expired trusted one as
 * expired.
 */
static void
test_trusted_other_key(void)
{
	struct svc			 a, b;
	struct hs_desc			 da, db, out;
	struct hs_desc_encode_params	 ep;
	struct hs_desc_decode_params	 dp;
	struct trust_set		 t;
	struct buf			*enc;
	size_t				 i;

	svc_init(&a);
	svc_init(&b);
	make_desc(&da, &a, 2);
	make_desc(&db, &b, 2);
	for (i = 0; i < 2; i++)
		db.intro[i] = da.intro[i];
	encode_params(&ep, &b);
	enc = encode_desc(&db, &ep, &b);
	decode_params(&dp, &b);
	dp.flags = HS_DESC_F_STRICT;
	dp.trusted = trust_cb;
	dp.trusted_arg = &t;
	hs_desc_init(&out);
	trust_all(&t, &da);
	t.c[t.n++] = &db.signing_cert;
	CU_ASSERT(hs_desc_decode(&out, buf_ptr(enc), buf_len(enc), &dp) ==
	    OB_ERR_MISMATCH);
	CU_ASSERT(t.yes >= 2);	/* B's 08 cert and an intro cert of A's */
	dp.flags = 0;
	CU_ASSERT(hs_desc_decode(&out, buf_ptr(enc), buf_len(enc), &dp) == 0);
	CU_ASSERT(out.n_intro == 0 && out.n_intro_skipped == 2);
	hs_desc_clear(&out);
	buf_free(enc);

	/* B's own intro certs, trusted, past their expiry. */
	make_desc(&db, &b, 1);
	make_intro(&db.intro[0], &b, hs_cert_expiry_intro(b.now) - 2);
	enc = encode_desc(&db, &ep, &b);
	trust_all(&t, &db);
	dp.flags = HS_DESC_F_STRICT;
	CU_ASSERT(hs_desc_decode(&out, buf_ptr(enc), buf_len(enc), &dp) ==
	    0);
	hs_desc_clear(&out);
	/* An hour on, the intro certs are past, the 08 cert is not. */
	dp.now = (time_t)db.intro[0].auth_key_cert.expiry_hours * 3600 + 1;
	CU_ASSERT(dp.now < (time_t)db.signing_cert.expiry_hours * 3600);
	CU_ASSERT(hs_desc_decode(&out, buf_ptr(enc), buf_len(enc), &dp) ==
	    OB_ERR_EXPIRED);
	CU_ASSERT(t.yes >= 2);
	hs_desc_clear(&out);
	buf_free(enc);
}

/* The descriptor parser's base64 decoder gives b64_decode()'s answers. */
static void
test_b64_pub(void)
{
	static const char	 alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef"
	    "ghijklmnopqrstuvwxyz0123456789+/=\n!\xc3";
	uint8_t			 in[64], txt[128], o1[64], o2[64];
	uint8_t			 rnd[8];
	struct buf		 v;
	char			 enc[128];
	size_t			 n, k, n1, n2, i, j;
	int			 pad, r1, r2, agree = 0, ok = 0;

	for (i = 0; i < 4000; i++) {
		CU_ASSERT_FATAL(ob_random(rnd, sizeof(rnd)) == 0);
		pad = rnd[0] & 1;
		n = rnd[1] % 40;
		CU_ASSERT_FATAL(ob_random(in, n) == 0);
		CU_ASSERT_FATAL(b64_encode(enc, sizeof(enc), in, n, pad) == 0);
		k = strlen(enc);
		memcpy(txt, enc, k);
		/* Mostly valid, then one or two bytes changed, added or
		 * cut, from the alphabet, padding, newline and beyond. */
		for (j = 0; j < (size_t)(rnd[2] % 3); j++) {
			if (k > 0 && (rnd[3 + j] & 3) != 0)
				txt[rnd[5 + j] % k] = (uint8_t)alpha[rnd[4 + j] %
				    (sizeof(alpha) - 1)];
			else if ((rnd[3 + j] & 4) && k > 0)
				k--;
			else
				txt[k++] = '=';
		}
		buf_init_ro(&v, txt, k);
		/* Outputs that fit exactly, or one byte short. */
		n = (rnd[6] & 1) && n > 0 ? n - 1 : n;
		r1 = b64_decode(o1, n, &n1, &v, pad);
		r2 = b64_decode_pub(o2, n, &n2, &v, pad, 0);
		if ((r1 == 0) != (r2 == 0))
			continue;
		if (r1 == 0 && (n1 != n2 || memcmp(o1, o2, n1) != 0))
			continue;
		if (r1 == 0)
			ok++;
		agree++;
	}
	CU_ASSERT(agree == 4000);
	CU_ASSERT(ok > 1000 && ok < 4000);

	/* Objects: 64-character lines, a byte changed now and then,
	 * against the strict decoder on the text without its '\n'. */
	for (i = 0; i < 300; i++) {
		uint8_t		 big[3000], d1[3000], d2[3000];
		struct buf	*wr = buf_new(0), *st = buf_new(0);
		uint8_t		*p;
		size_t		 m;

		CU_ASSERT_FATAL(wr != NULL && st != NULL);
		CU_ASSERT_FATAL(ob_random(rnd, sizeof(rnd)) == 0);
		n = (size_t)(rnd[0] | rnd[1] << 8) % sizeof(big);
		CU_ASSERT_FATAL(ob_random(big, n) == 0);
		CU_ASSERT_FATAL(b64_encode_buf(wr, big, n, B64_PAD, 1) == 0);
		p = wr->d;
		if ((rnd[2] & 1) && buf_len(wr) > 0)
			p[(size_t)(rnd[3] | rnd[4] << 8) % buf_len(wr)] =
			    (uint8_t)alpha[rnd[5] % (sizeof(alpha) - 1)];
		for (m = 0, r1 = 0; m < buf_len(wr); m++)
			if (p[m] != '\n')
				r1 |= buf_put_u8(st, p[m]);
		CU_ASSERT_FATAL(r1 == 0);
		r1 = b64_decode(d1, sizeof(d1), &n1, st, B64_PAD);
		r2 = b64_decode_pub(d2, sizeof(d2), &n2, wr, B64_PAD, 1);
		CU_ASSERT((r1 == 0) == (r2 == 0));
		if (r1 == 0 && r2 == 0)
			CU_ASSERT(n1 == n2 && memcmp(d1, d2, n1) == 0);
		if (!(rnd[2] & 1))
			CU_ASSERT(r2 == 0 && n2 == n &&
			    memcmp(d2, big, n) == 0);
		buf_free(wr);
		buf_free(st);
	}

	/* Lines: '\n' skipped anywhere, as an object's lines are. */
	buf_init_ro(&v, "AAEC\nAw=\n=\n", strlen("AAEC\nAw=\n=\n"));
	CU_ASSERT(b64_decode_pub(o2, sizeof(o2), &n2, &v, B64_PAD, 1) == 0);
	CU_ASSERT(n2 == 4 && memcmp(o2, "\x00\x01\x02\x03", 4) == 0);
	CU_ASSERT(b64_decode_pub(o2, sizeof(o2), &n2, &v, B64_PAD, 0) ==
	    OB_ERR_FORMAT);
	buf_init_ro(&v, "AAECAw=", 7);	/* one '=' short */
	CU_ASSERT(b64_decode_pub(o2, sizeof(o2), &n2, &v, B64_PAD, 1) ==
	    OB_ERR_FORMAT);
	buf_init_ro(&v, "AAECAx==", 8);	/* unused bits set */
	CU_ASSERT(b64_decode_pub(o2, sizeof(o2), &n2, &v, B64_PAD, 1) ==
	    OB_ERR_FORMAT);
}

/*
 * Decrypting a layer where it lies gives what the copying decrypt
 * gives; a bad MAC or a short blob fails and leaves the blob as it was.
 */
static void
test_layer_inplace(void)
{
	static const char	 text[] = "create2-formats 2\n";
	uint8_t			 secret[32], subcred[32], *blob, *orig;
	struct buf		*b;
	char			*pt1, *pt2;
	size_t			 n1, n2, len;

	CU_ASSERT_FATAL(ob_random(secret, sizeof(secret)) == 0 &&
	    ob_random(subcred, sizeof(subcred)) == 0);
	b = buf_new(0);
	CU_ASSERT_FATAL(b != NULL);
	CU_ASSERT_FATAL(hs_desc_layer_encrypt(b, (const uint8_t *)text,
	    strlen(text), 100, secret, 32, subcred, 7, HS_DESC_CONST_ENC) ==
	    0);
	blob = malloc(buf_len(b));
	orig = malloc(buf_len(b));
	CU_ASSERT_FATAL(blob != NULL && orig != NULL);
	CU_ASSERT_FATAL(b64_decode_pub(blob, buf_len(b), &len, b, B64_PAD,
	    1) == 0);
	memcpy(orig, blob, len);

	CU_ASSERT_FATAL(hs_desc_layer_decrypt(&pt1, &n1, blob, len, secret,
	    32, subcred, 7, HS_DESC_CONST_ENC) == 0);
	/* The wrong revision counter: another MAC key. */
	CU_ASSERT(hs_desc_layer_decrypt_inplace(&pt2, &n2, blob, len, secret,
	    32, subcred, 8, HS_DESC_CONST_ENC) == OB_ERR_MAC);
	CU_ASSERT(pt2 == NULL && n2 == 0);
	CU_ASSERT(memcmp(blob, orig, len) == 0);
	CU_ASSERT(hs_desc_layer_decrypt_inplace(&pt2, &n2, blob, 48, secret,
	    32, subcred, 7, HS_DESC_CONST_ENC) == OB_ERR_TRUNCATED);
	CU_ASSERT(memcmp(blob, orig, len) == 0);
	CU_ASSERT_FATAL(hs_desc_layer_decrypt_inplace(&pt2, &n2, blob, len,
	    secret, 32, subcred, 7, HS_DESC_CONST_ENC) == 0);
	CU_ASSERT(n1 == strlen(text) && n2 == n1);
	CU_ASSERT(strcmp(pt1, text) == 0 && strcmp(pt2, text) == 0);
	CU_ASSERT(pt2 == (char *)blob + HS_DESC_SALT_LEN);
	free(pt1);
	free(blob);
	free(orig);
	buf_free(b);
}

/* A middle layer of n auth-client lines (at most 600) and a layer 2. */
static struct buf *
middle_text(size_t n)
{
	struct buf	*b = buf_new(0);
	size_t		 i;

	CU_ASSERT_FATAL(b != NULL);
	CU_ASSERT_FATAL(buf_put_str(b, "desc-auth-type x25519\n"
	    "desc-auth-ephemeral-key "
	    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n") == 0);
	/* The last line's client id starts 04 10, the others' 00. */
	for (i = 0; i < n; i++)
		CU_ASSERT_FATAL(buf_putf(b, "auth-client %s "
		    "AAAAAAAAAAAAAAAAAAAAAA AAAAAAAAAAAAAAAAAAAAAA\n",
		    i + 1 == n ? "BBBBBBBBBBA" : "AAAAAAAAAAA") == 0);
	CU_ASSERT_FATAL(buf_put_str(b, "encrypted\n-----BEGIN MESSAGE-----\n"
	    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKiss"
	    "LS4v\nMDEyMzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9Q\n"
	    "-----END MESSAGE-----") == 0);
	return b;
}

/*
 * Tokens: a layer that fits the stack array and one that does not give
 * the same answers, up to the layer's cap.  Also: a cleared struct is
 * all zero, whatever the decode left in it.
 */
static void
test_tok_room(void)
{
	static const size_t		 ns[] = { 0, 1, 60, 61, 62, 100, 512,
	    513 };
	struct svc			 s;
	struct hs_desc_encode_params	 ep;
	struct hs_desc_decode_params	 dp;
	struct hs_desc			 d, src, zero;
	struct buf			*b;
	uint8_t				*blob;
	size_t				 i, bloblen;
	int				 r;

	hs_desc_init(&d);
	hs_desc_init(&zero);
	for (i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		b = middle_text(ns[i]);
		r = hs_desc_decode_middle(&d, &blob, &bloblen, buf_ptr(b),
		    buf_len(b));
		if (ns[i] == 0) {
			/* "auth-client" is required at least once. */
			CU_ASSERT(r == OB_ERR_MISSING);
		} else if (ns[i] > HS_DESC_MAX_AUTH_CLIENTS) {
			CU_ASSERT(r == OB_ERR_LIMIT);
		} else {
			CU_ASSERT(r == 0);
			CU_ASSERT_FATAL(d.n_auth_clients == ns[i]);
			CU_ASSERT(bloblen == 81);
			CU_ASSERT(blob != NULL && blob[80] == 0x50);
			CU_ASSERT(d.auth_clients[0].client_id[0] ==
			    (ns[i] == 1 ? 0x04 : 0));
			CU_ASSERT(d.auth_clients[ns[i] - 1].client_id[0] ==
			    0x04 && d.auth_clients[ns[i] - 1].client_id[1] ==
			    0x10);
		}
		free(blob);
		hs_desc_clear(&d);
		CU_ASSERT(memcmp(&d, &zero, sizeof(d)) == 0);
		buf_free(b);
	}

	/* Intro points too: clearing wipes those below n_intro. */
	svc_init(&s);
	make_desc(&src, &s, 3);
	encode_params(&ep, &s);
	b = encode_desc(&src, &ep, &s);
	decode_params(&dp, &s);
	CU_ASSERT_FATAL(hs_desc_decode(&d, buf_ptr(b), buf_len(b), &dp) ==
	    0);
	CU_ASSERT(d.n_intro == 3 && d.intro[2].enc_key_cert.encoded_len > 0);
	hs_desc_clear(&d);
	CU_ASSERT(memcmp(&d, &zero, sizeof(d)) == 0);
	hs_desc_clear(&src);
	buf_free(b);
}

static const struct test_case tests[] = {
	{ "arti_hsdesc1", test_arti_hsdesc1 },
	{ "arti_hsdesc2_client_auth", test_arti_hsdesc2 },
	{ "stem_vector", test_stem_vector },
	{ "arti_inner", test_arti_inner },
	{ "client_auth_kat", test_client_auth_kat },
	{ "roundtrip", test_roundtrip },
	{ "split_signing", test_split_signing },
	{ "client_auth", test_client_auth },
	{ "auth_ephemeral", test_auth_ephemeral },
	{ "limits", test_limits },
	{ "negative", test_negative },
	{ "expired_intro", test_expired_intro },
	{ "inner_limits", test_inner_limits },
	{ "linkspec", test_linkspec },
	{ "trusted_certs", test_trusted_certs },
	{ "trusted_other_key", test_trusted_other_key },
	{ "b64_pub", test_b64_pub },
	{ "layer_inplace", test_layer_inplace },
	{ "tok_room", test_tok_room },
	{ "stem_reads_ours", test_stem_reads_ours },
	{ "ours_reads_stem", test_ours_reads_stem },
	{ "tor_accepts_ours", test_tor_accepts_ours },
	{ NULL, NULL }
};

void
test_register_hs_desc(void)
{
	test_add_suite("hs_desc", tests);
}
