/*
 * Tests for common/hs_cert.c: round trips, real certificates from stem
 * and arti, and one negative test per rejection path.
 */
#include "config.h"

#include <string.h>

#include "buf.h"
#include "crypto.h"
#include "err.h"
#include "hs_cert.h"
#include "hs_keys.h"
#include "tests.h"

struct keypair {
	uint8_t	sk[ED25519_EXPANDED_LEN];
	uint8_t	pk[ED25519_PK_LEN];
};

static void
keypair_make(struct keypair *kp, uint8_t fill)
{
	uint8_t	seed[ED25519_SEED_LEN];

	memset(seed, fill, sizeof(seed));
	CU_ASSERT_FATAL(hs_expanded_from_seed(kp->sk, seed) == 0);
	CU_ASSERT_FATAL(hs_expanded_pubkey(kp->pk, kp->sk) == 0);
}

/*
 * Assemble a cert by hand (not through hs_cert_tbs, so that the tests
 * do not take the encoder's word for the layout), with any header
 * values and extensions, signed by kp over everything before the
 * signature.  ext is the raw extension area, n_ext the count byte.
 */
static size_t
cert_assemble(uint8_t *out, size_t outsz, uint8_t version, uint8_t type,
    uint32_t exp, uint8_t key_type, const uint8_t certified[32],
    uint8_t n_ext, const uint8_t *ext, size_t extlen,
    const struct keypair *kp)
{
	struct buf	*b;
	uint8_t		 sig[64];
	size_t		 len;

	CU_ASSERT_FATAL((b = buf_new(4096)) != NULL);
	CU_ASSERT_FATAL(buf_put_u8(b, version) == 0);
	CU_ASSERT_FATAL(buf_put_u8(b, type) == 0);
	CU_ASSERT_FATAL(buf_put_u32(b, exp) == 0);
	CU_ASSERT_FATAL(buf_put_u8(b, key_type) == 0);
	CU_ASSERT_FATAL(buf_put(b, certified, 32) == 0);
	CU_ASSERT_FATAL(buf_put_u8(b, n_ext) == 0);
	CU_ASSERT_FATAL(buf_put(b, ext, extlen) == 0);
	CU_ASSERT_FATAL(hs_expanded_sign(sig, buf_ptr(b), buf_len(b),
	    kp->sk, kp->pk) == 0);
	CU_ASSERT_FATAL(buf_put(b, sig, 64) == 0);
	len = buf_len(b);
	CU_ASSERT_FATAL(len <= outsz);
	memcpy(out, buf_ptr(b), len);
	buf_free(b);
	return len;
}

/* Extension 04 (ext_length 32, flags 0) carrying pk, at p. */
static size_t
ext_signing_key(uint8_t *p, const uint8_t pk[32], uint16_t len)
{
	p[0] = (uint8_t)(len >> 8);
	p[1] = (uint8_t)len;
	p[2] = HS_CERT_EXT_SIGNED_WITH_KEY;
	p[3] = 0;
	memcpy(p + 4, pk, 32);
	return 4 + (size_t)len;
}

static void
test_round_trip(void)
{
	struct keypair		signer, subject;
	struct hs_signer	s;
	struct hs_cert		c;
	uint8_t			cert[HS_CERT_LEN], tbs[HS_CERT_TBS_LEN];
	uint8_t			want[HS_CERT_LEN], ext[36];
	uint32_t		exp = 405761;

	keypair_make(&signer, 1);
	keypair_make(&subject, 2);
	hs_signer_expanded(&s, signer.sk, signer.pk);
	CU_ASSERT(hs_cert_build(cert, HS_CERT_TYPE_DESC_SIGNING, exp,
	    subject.pk, &s) == 0);
	/* Byte for byte what the hand assembler makes (Ed25519 signatures
	 * are deterministic). */
	ext_signing_key(ext, signer.pk, 32);
	CU_ASSERT(cert_assemble(want, sizeof(want), 1, 0x08, exp, 1,
	    subject.pk, 1, ext, sizeof(ext), &signer) == HS_CERT_LEN);
	CU_ASSERT(memcmp(cert, want, HS_CERT_LEN) == 0);
	CU_ASSERT(hs_cert_tbs(tbs, HS_CERT_TYPE_DESC_SIGNING, exp, subject.pk,
	    signer.pk) == 0);
	CU_ASSERT(memcmp(tbs, cert, HS_CERT_TBS_LEN) == 0);

	CU_ASSERT_FATAL(hs_cert_parse(&c, cert, sizeof(cert)) == 0);
	CU_ASSERT(c.type == HS_CERT_TYPE_DESC_SIGNING);
	CU_ASSERT(c.expiry_hours == exp);
	CU_ASSERT(c.key_type == HS_CERT_KEY_TYPE_ED25519);
	CU_ASSERT(memcmp(c.certified_key, subject.pk, 32) == 0);
	CU_ASSERT(c.has_signing_key);
	CU_ASSERT(memcmp(c.signing_key, signer.pk, 32) == 0);
	CU_ASSERT(memcmp(c.signature, cert + HS_CERT_TBS_LEN, 64) == 0);
	CU_ASSERT(c.encoded_len == HS_CERT_LEN);
	CU_ASSERT(memcmp(c.encoded, cert, HS_CERT_LEN) == 0);
	CU_ASSERT(hs_cert_verify(&c, HS_CERT_TYPE_DESC_SIGNING, signer.pk,
	    (time_t)exp * 3600 - 1) == 0);
	CU_ASSERT(hs_cert_verify(&c, HS_CERT_TYPE_DESC_SIGNING, NULL,
	    (time_t)exp * 3600 - 1) == 0);

	/* The other two types tor puts in descriptors. */
	CU_ASSERT(hs_cert_build(cert, HS_CERT_TYPE_AUTH_HS_IP_KEY, exp,
	    subject.pk, &s) == 0);
	CU_ASSERT_FATAL(hs_cert_parse(&c, cert, sizeof(cert)) == 0);
	CU_ASSERT(hs_cert_verify(&c, HS_CERT_TYPE_AUTH_HS_IP_KEY, signer.pk,
	    0) == 0);
	CU_ASSERT(hs_cert_build(cert, HS_CERT_TYPE_CROSS_HS_IP_KEYS, exp,
	    subject.pk, &s) == 0);
	CU_ASSERT_FATAL(hs_cert_parse(&c, cert, sizeof(cert)) == 0);
	CU_ASSERT(hs_cert_verify(&c, HS_CERT_TYPE_CROSS_HS_IP_KEYS, signer.pk,
	    0) == 0);
}

/*
 * A type-08 cert made by C tor, from stem test/unit/descriptor/
 * hidden_service_v3.py EXPECTED_SIGNING_CERT (torproject/stem; the
 * descriptor "for a testing hidden service from asn"), base64-decoded.
 */
static const char stem_cert_hex[] =
    "010800065e7f0192e680fa57552e7d484c9d2a3edb46fbc076e54ea90b77bb84"
    "e3e6d5657d52a10100200400548697defd6777a7f33be03a61b0670831e7bf9e"
    "943d053ce4cc2c93c959836f291e93611c89668e4c2559255ca228f12b9e07d6"
    "043c1067cae1a74e680aa861637a051ea1bd292ec71b3bfd836bf5fcfad524c6"
    "e47e9c2ed582b86f7cc86409";

/*
 * Certs made by C tor, from zydou/arti (cadcd0d310831ba237fff4c1a39ef51c
 * 53b506db) crates/tor-netdoc/testdata: the 08 cert of hsdesc1.txt
 * (signed by blinded id 43cc0d62..., expiring 2023-01-26T03:00Z per
 * src/doc/hsdesc.rs), and the first intro point's 09 and 0B certs of
 * hsdesc-inner.txt.  Base64-decoded.
 */
static const char arti_08_hex[] =
    "01080007192b010ad8ae6ea2c13f5302be247d4b1016f5bae330a4a0b90144fe"
    "f1e4bb7904e17a010020040043cc0d62fc6252f578705ca645a46109e2652903"
    "43b1137e90189744b20b3f2df5b8d5185f252a40c24ff593ef8b9093a895f691"
    "9dfbaf05487a797c82543b73898dde235c730e1b077c076f66159b13ee723655"
    "50dfe37b7e246f7dd93a8c0e";
static const char arti_09_hex[] =
    "010900071abc017bfaa01bd1719e182d270cd8985dbd6f428adf883783a62429"
    "13277adb2d59a00100200400260286ebb04c705f53a5a4071f90aa04727bca51"
    "b5b1fc57f2948bc7ef23b16df3313ac19021d4843289a0127b31f703e47ef7a0"
    "ae71b7b87a288f3292f8fd65dd17736c1d1358304769dec0fb102a4114891638"
    "92b7a85bbce69aa10f4f5e0d";
static const char arti_0b_hex[] =
    "010b00071abc019f7db20d4b2ad7cbc0d58c971453aa649d348d6254d931a2cc"
    "dd6e903fa88b550100200400260286ebb04c705f53a5a4071f90aa04727bca51"
    "b5b1fc57f2948bc7ef23b16d1a8d80fb8df89f8e515eb0072d7ec93942f2c9dc"
    "31f815568f98b81ee63e81daf16e663166ae27d0005cdcfbb1ec4b60f8e10c26"
    "a301838ca29bca43e984310d";

static void
test_tor_made_certs(void)
{
	struct hs_cert	c;
	uint8_t		raw[140], key[32], dsk[32];

	test_unhex(raw, sizeof(raw), arti_08_hex);
	CU_ASSERT_FATAL(hs_cert_parse(&c, raw, sizeof(raw)) == 0);
	test_unhex(key, 32, "43cc0d62fc6252f578705ca645a46109"
	    "e265290343b1137e90189744b20b3f2d");
	CU_ASSERT((time_t)c.expiry_hours * 3600 == 1674702000);
	CU_ASSERT(hs_cert_verify(&c, HS_CERT_TYPE_DESC_SIGNING, key,
	    1674702000) == 0);
	CU_ASSERT(hs_cert_verify(&c, HS_CERT_TYPE_DESC_SIGNING, key,
	    1674702001) == OB_ERR_EXPIRED);
	/* Our encoder rebuilds the signed part byte for byte. */
	CU_ASSERT(hs_cert_tbs(raw, c.type, c.expiry_hours, c.certified_key,
	    c.signing_key) == 0);
	CU_ASSERT(memcmp(raw, c.encoded, HS_CERT_TBS_LEN) == 0);

	test_unhex(raw, sizeof(raw), arti_09_hex);
	CU_ASSERT_FATAL(hs_cert_parse(&c, raw, sizeof(raw)) == 0);
	memcpy(dsk, c.signing_key, 32);
	CU_ASSERT(hs_cert_verify(&c, HS_CERT_TYPE_AUTH_HS_IP_KEY, NULL,
	    (time_t)c.expiry_hours * 3600) == 0);
	test_unhex(raw, sizeof(raw), arti_0b_hex);
	CU_ASSERT_FATAL(hs_cert_parse(&c, raw, sizeof(raw)) == 0);
	CU_ASSERT(hs_cert_verify(&c, HS_CERT_TYPE_CROSS_HS_IP_KEYS, dsk,
	    (time_t)c.expiry_hours * 3600) == 0);
	CU_ASSERT(hs_cert_verify(&c, HS_CERT_TYPE_AUTH_HS_IP_KEY, dsk, 0) ==
	    OB_ERR_MISMATCH);
}

static void
test_real_certs(void)
{
	struct hs_cert	c;
	uint8_t		raw[140], key[32], wrong[32];

	test_unhex(raw, sizeof(raw), stem_cert_hex);
	CU_ASSERT_FATAL(hs_cert_parse(&c, raw, sizeof(raw)) == 0);
	CU_ASSERT(c.type == 0x08 && c.expiry_hours == 0x00065e7f);
	test_unhex(key, 32, "548697defd6777a7f33be03a61b0670831e7bf9e"
	    "943d053ce4cc2c93c959836f");
	CU_ASSERT(memcmp(c.signing_key, key, 32) == 0);
	/* Valid through the expiry hour itself, as tor_cert_checksig. */
	CU_ASSERT(hs_cert_verify(&c, 0x08, key, 0x00065e7fL * 3600) == 0);
	CU_ASSERT(hs_cert_verify(&c, 0x08, key, 0x00065e7fL * 3600 + 1) ==
	    OB_ERR_EXPIRED);
	memcpy(wrong, key, 32);
	wrong[5] ^= 1;
	CU_ASSERT(hs_cert_verify(&c, 0x08, wrong, 0) == OB_ERR_MISMATCH);

	/*
	 * arti crates/tor-cert/tests/testvec_certs.rs test_valid_ed
	 * (zydou/arti cadcd0d310831ba237fff4c1a39ef51c53b506db), from a
	 * CERTS cell in a chutney network: a type-04 cert (identity ->
	 * signing key) checked at 2020-09-25T02:13:20Z, expiring
	 * 2020-10-26T18:00:00Z ...
	 */
	test_unhex(raw, 140,
	    "0104" "0006CC2A" "01"
	    "F82294B866A31F01FC5D0DA8572850A9"
	    "B929545C3266558D7D2316E3B74172B0"
	    "01" "0020" "04" "00"
	    "DCB604DB2034B00FD16986D4ADB9D16B"
	    "21CB4E4457A33DEC0F538903683E96E9"
	    "FF1A5203FA27F86EF7528D89A0845D25"
	    "20166E340754FFEA2AAE0F612B7CE5DA"
	    "094A0236CDAC45034B0B6842C18E7F6B"
	    "51B93A3CF7E60663B8AD061C30A62602");
	CU_ASSERT_FATAL(hs_cert_parse(&c, raw, 140) == 0);
	CU_ASSERT(c.type == 4 && c.key_type == 1);
	test_unhex(key, 32, "F82294B866A31F01FC5D0DA8572850A9"
	    "B929545C3266558D7D2316E3B74172B0");
	CU_ASSERT(memcmp(c.certified_key, key, 32) == 0);
	test_unhex(key, 32, "DCB604DB2034B00FD16986D4ADB9D16B"
	    "21CB4E4457A33DEC0F538903683E96E9");
	CU_ASSERT(memcmp(c.signing_key, key, 32) == 0);
	CU_ASSERT((time_t)c.expiry_hours * 3600 == 1603735200);
	CU_ASSERT(hs_cert_verify(&c, 4, key, 1601000000) == 0);
	CU_ASSERT(hs_cert_verify(&c, HS_CERT_TYPE_DESC_SIGNING, key,
	    1601000000) == OB_ERR_MISMATCH);

	/* ... and a type-05 link cert: key type 03 (SHA-256 of an X.509
	 * cert), no extensions.  Parses; never verifies as an HS cert. */
	test_unhex(raw, 104,
	    "0105" "0006C98A" "03"
	    "B4FD606B64E4CBD466B8D76CB131069B"
	    "AE6F3AA1878857C9F624E31D77A799B8"
	    "00"
	    "7173E5F8068431D0D3F5EE16B4C9FFD5"
	    "9DF373E152A87281BAE744AA5FCF7217"
	    "1BF4B27C4E8FC1C6A9FC5CA11058BC49"
	    "647063D7903CFD9F512F89099B27BC0C");
	CU_ASSERT_FATAL(hs_cert_parse(&c, raw, 104) == 0);
	CU_ASSERT(c.type == 5 && c.key_type == 3 && !c.has_signing_key);
	CU_ASSERT((time_t)c.expiry_hours * 3600 == 1601316000);
	CU_ASSERT(hs_cert_verify(&c, 5, NULL, 1601000000) == OB_ERR_KEY);
}

static void
test_reject_parse(void)
{
	struct keypair	kp, sub;
	struct hs_cert	c;
	uint8_t		cert[2048], ext[2048];
	size_t		len, elen, i;

	keypair_make(&kp, 3);
	keypair_make(&sub, 4);
	elen = ext_signing_key(ext, kp.pk, 32);
	len = cert_assemble(cert, sizeof(cert), 1, 8, 1000, 1, sub.pk, 1, ext,
	    elen, &kp);
	CU_ASSERT_FATAL(len == HS_CERT_LEN);
	CU_ASSERT(hs_cert_parse(&c, cert, len) == 0);

	/* Truncated anywhere. */
	for (i = 0; i < len; i++)
		CU_ASSERT(hs_cert_parse(&c, cert, i) == OB_ERR_TRUNCATED);
	/* Trailing bytes. */
	cert[len] = 0;
	CU_ASSERT(hs_cert_parse(&c, cert, len + 1) == OB_ERR_LEFTOVER);
	/* A failed parse leaves nothing behind. */
	CU_ASSERT(c.encoded_len == 0 && !c.has_signing_key);

	/* Wrong version. */
	len = cert_assemble(cert, sizeof(cert), 2, 8, 1000, 1, sub.pk, 1, ext,
	    elen, &kp);
	CU_ASSERT(hs_cert_parse(&c, cert, len) == OB_ERR_VERSION);
	len = cert_assemble(cert, sizeof(cert), 0, 8, 1000, 1, sub.pk, 1, ext,
	    elen, &kp);
	CU_ASSERT(hs_cert_parse(&c, cert, len) == OB_ERR_VERSION);

	/* Unknown extension flagged "affects validation"; without the
	 * flag it is ignored. */
	elen = ext_signing_key(ext, kp.pk, 32);
	memcpy(ext + elen, "\x00\x03\x55\x01" "abc", 7);
	len = cert_assemble(cert, sizeof(cert), 1, 8, 1000, 1, sub.pk, 2, ext,
	    elen + 7, &kp);
	CU_ASSERT(hs_cert_parse(&c, cert, len) == OB_ERR_FORMAT);
	ext[elen + 3] = 0x00;
	len = cert_assemble(cert, sizeof(cert), 1, 8, 1000, 1, sub.pk, 2, ext,
	    elen + 7, &kp);
	CU_ASSERT_FATAL(hs_cert_parse(&c, cert, len) == 0);
	CU_ASSERT(hs_cert_verify(&c, 8, kp.pk, 0) == 0);
	ext[elen + 3] = 0x02;	/* other flag bits do not matter */
	len = cert_assemble(cert, sizeof(cert), 1, 8, 1000, 1, sub.pk, 2, ext,
	    elen + 7, &kp);
	CU_ASSERT(hs_cert_parse(&c, cert, len) == 0);

	/* Extension 04 twice, even with the same key. */
	elen = ext_signing_key(ext, kp.pk, 32);
	elen += ext_signing_key(ext + elen, kp.pk, 32);
	len = cert_assemble(cert, sizeof(cert), 1, 8, 1000, 1, sub.pk, 2, ext,
	    elen, &kp);
	CU_ASSERT(hs_cert_parse(&c, cert, len) == OB_ERR_DUPLICATE);

	/* Extension 04 whose body is not exactly 32 bytes. */
	elen = ext_signing_key(ext, kp.pk, 32);
	ext[1] = 31;
	len = cert_assemble(cert, sizeof(cert), 1, 8, 1000, 1, sub.pk, 1, ext,
	    elen - 1, &kp);
	CU_ASSERT(hs_cert_parse(&c, cert, len) == OB_ERR_FORMAT);
	ext[1] = 33;
	ext[elen] = 0;
	len = cert_assemble(cert, sizeof(cert), 1, 8, 1000, 1, sub.pk, 1, ext,
	    elen + 1, &kp);
	CU_ASSERT(hs_cert_parse(&c, cert, len) == OB_ERR_FORMAT);
	/* An extension length running past the end. */
	ext[0] = 0x40;
	ext[1] = 0x00;
	len = cert_assemble(cert, sizeof(cert), 1, 8, 1000, 1, sub.pk, 1, ext,
	    elen, &kp);
	CU_ASSERT(hs_cert_parse(&c, cert, len) == OB_ERR_TRUNCATED);
	/* n_extensions larger than what follows. */
	elen = ext_signing_key(ext, kp.pk, 32);
	len = cert_assemble(cert, sizeof(cert), 1, 8, 1000, 1, sub.pk, 3, ext,
	    elen, &kp);
	CU_ASSERT(hs_cert_parse(&c, cert, len) != 0);

	/* Oversized: 1024 bytes parse, 1025 do not. */
	elen = ext_signing_key(ext, kp.pk, 32);
	ext[elen] = 880 >> 8;
	ext[elen + 1] = 880 & 0xff;
	ext[elen + 2] = 0x77;
	ext[elen + 3] = 0;
	memset(ext + elen + 4, 0xaa, 881);
	len = cert_assemble(cert, sizeof(cert), 1, 8, 1000, 1, sub.pk, 2, ext,
	    elen + 4 + 880, &kp);
	CU_ASSERT_FATAL(len == HS_CERT_MAX_LEN);
	CU_ASSERT_FATAL(hs_cert_parse(&c, cert, len) == 0);
	CU_ASSERT(hs_cert_verify(&c, 8, kp.pk, 0) == 0);
	ext[elen + 1] = (880 & 0xff) + 1;
	len = cert_assemble(cert, sizeof(cert), 1, 8, 1000, 1, sub.pk, 2, ext,
	    elen + 4 + 881, &kp);
	CU_ASSERT(len == HS_CERT_MAX_LEN + 1);
	CU_ASSERT(hs_cert_parse(&c, cert, len) == OB_ERR_TOO_LARGE);
}

static void
test_reject_verify(void)
{
	struct keypair		kp, sub, other;
	struct hs_signer	s;
	struct hs_cert		c;
	uint8_t			cert[HS_CERT_LEN], bad[HS_CERT_LEN];
	uint8_t			ext[64];
	size_t			len, elen, i;

	keypair_make(&kp, 5);
	keypair_make(&sub, 6);
	keypair_make(&other, 7);
	hs_signer_expanded(&s, kp.sk, kp.pk);
	CU_ASSERT_FATAL(hs_cert_build(cert, 8, 500000, sub.pk, &s) == 0);
	CU_ASSERT_FATAL(hs_cert_parse(&c, cert, sizeof(cert)) == 0);

	/* Expiry: valid at exactly expiry*3600, expired a second later. */
	CU_ASSERT(hs_cert_verify(&c, 8, kp.pk, (time_t)500000 * 3600) == 0);
	CU_ASSERT(hs_cert_verify(&c, 8, kp.pk, (time_t)500000 * 3600 + 1) ==
	    OB_ERR_EXPIRED);
	/* Wrong type, wrong signer. */
	CU_ASSERT(hs_cert_verify(&c, 9, kp.pk, 0) == OB_ERR_MISMATCH);
	CU_ASSERT(hs_cert_verify(&c, 8, other.pk, 0) == OB_ERR_MISMATCH);

	/* Any flipped bit breaks the signature (or the parse). */
	for (i = 0; i < HS_CERT_LEN * 8; i += 7) {
		int	r;

		memcpy(bad, cert, sizeof(bad));
		bad[i / 8] ^= (uint8_t)(1 << (i % 8));
		if (hs_cert_parse(&c, bad, sizeof(bad)) != 0)
			continue;	/* header bytes: parse refuses */
		r = hs_cert_verify(&c, c.type, NULL, 0);
		CU_ASSERT(r != 0);
	}
	memcpy(bad, cert, sizeof(bad));
	bad[HS_CERT_LEN - 1] ^= 0x10;
	CU_ASSERT_FATAL(hs_cert_parse(&c, bad, sizeof(bad)) == 0);
	CU_ASSERT(hs_cert_verify(&c, 8, kp.pk, 0) == OB_ERR_SIGNATURE);
	/* Extension 04 names "other", but kp signed: a forged claim. */
	elen = ext_signing_key(ext, other.pk, 32);
	len = cert_assemble(bad, sizeof(bad), 1, 8, 500000, 1, sub.pk, 1, ext,
	    elen, &kp);
	CU_ASSERT_FATAL(hs_cert_parse(&c, bad, len) == 0);
	CU_ASSERT(hs_cert_verify(&c, 8, other.pk, 0) == OB_ERR_SIGNATURE);

	/* No extension 04 at all. */
	len = cert_assemble(bad, sizeof(bad), 1, 8, 500000, 1, sub.pk, 0,
	    NULL, 0, &kp);
	CU_ASSERT_FATAL(hs_cert_parse(&c, bad, len) == 0);
	CU_ASSERT(!c.has_signing_key);
	CU_ASSERT(hs_cert_verify(&c, 8, NULL, 0) == OB_ERR_MISSING);
	CU_ASSERT(hs_cert_verify(&c, 8, kp.pk, 0) == OB_ERR_MISSING);

	/* Certified key type other than ed25519. */
	elen = ext_signing_key(ext, kp.pk, 32);
	len = cert_assemble(bad, sizeof(bad), 1, 8, 500000, 3, sub.pk, 1, ext,
	    elen, &kp);
	CU_ASSERT_FATAL(hs_cert_parse(&c, bad, len) == 0);
	CU_ASSERT(hs_cert_verify(&c, 8, kp.pk, 0) == OB_ERR_KEY);
}

static int
sign_fail(void *ctx, uint8_t sig[ED25519_SIG_LEN], const uint8_t *msg,
    size_t len)
{
	return -1;
}

static int
sign_garbage(void *ctx, uint8_t sig[ED25519_SIG_LEN], const uint8_t *msg,
    size_t len)
{
	memset(sig, 0x5a, ED25519_SIG_LEN);
	return 0;
}

static int
sign_wrong_key(void *ctx, uint8_t sig[ED25519_SIG_LEN], const uint8_t *msg,
    size_t len)
{
	const struct keypair	*kp = ctx;

	return hs_expanded_sign(sig, msg, len, kp->sk, kp->pk) == 0 ? 0 : -1;
}

/* A signer that fails or lies must not produce a cert. */
static void
test_build_faulty_signer(void)
{
	struct keypair		kp, other;
	struct hs_signer	s;
	uint8_t			cert[HS_CERT_LEN];

	keypair_make(&kp, 8);
	keypair_make(&other, 9);
	memcpy(s.pk, kp.pk, 32);
	s.ctx = &other;
	s.sign = sign_fail;
	CU_ASSERT(hs_cert_build(cert, 8, 1, kp.pk, &s) == OB_ERR_CALLBACK);
	s.sign = sign_garbage;
	CU_ASSERT(hs_cert_build(cert, 8, 1, kp.pk, &s) == OB_ERR_SIGNATURE);
	s.sign = sign_wrong_key;
	CU_ASSERT(hs_cert_build(cert, 8, 1, kp.pk, &s) == OB_ERR_SIGNATURE);
	s.ctx = &kp;
	CU_ASSERT(hs_cert_build(cert, 8, 1, other.pk, &s) == 0);
}

/* rend-spec / tor hs_service.c: 08 certs ceil((now + 54h) / 1h),
 * intro certs floor(now / 1h) + 54. */
static void
test_expiry_helpers(void)
{
	time_t	t = 1460545200;		/* 2016-04-13 11:00:00, on the hour */

	CU_ASSERT(hs_cert_expiry_desc_signing(t) == 405707 + 54);
	CU_ASSERT(hs_cert_expiry_desc_signing(t + 1) == 405707 + 55);
	CU_ASSERT(hs_cert_expiry_desc_signing(t + 3599) == 405707 + 55);
	CU_ASSERT(hs_cert_expiry_intro(t) == 405707 + 54);
	CU_ASSERT(hs_cert_expiry_intro(t + 3599) == 405707 + 54);
	CU_ASSERT(hs_cert_expiry_intro(t + 3600) == 405708 + 54);
	/* A cert made with them is valid for 54 hours. */
	CU_ASSERT((time_t)hs_cert_expiry_desc_signing(t + 1) * 3600 >=
	    t + 1 + 54 * 3600);
	CU_ASSERT(hs_cert_expiry_intro(-5) == 54);
}

static const struct test_case hs_cert_tests[] = {
	{ "round_trip", test_round_trip },
	{ "real_certs", test_real_certs },
	{ "tor_made_certs", test_tor_made_certs },
	{ "reject_parse", test_reject_parse },
	{ "reject_verify", test_reject_verify },
	{ "build_faulty_signer", test_build_faulty_signer },
	{ "expiry_helpers", test_expiry_helpers },
	{ NULL, NULL },
};

void
test_register_hs_cert(void)
{
	test_add_suite("hs_cert", hs_cert_tests);
}
