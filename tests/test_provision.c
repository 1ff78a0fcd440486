/*
 * Tests for common/provision.c: identity key files (tor's format and
 * OnionBalance's PEM), the request/bundle/store formats, certification,
 * and every way a bundle must be refused.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "crypto.h"
#include "encode.h"
#include "err.h"
#include "hs_cert.h"
#include "hs_keys.h"
#include "provision.h"
#include "tests.h"

/* RFC 8032 section 7.1 TEST 1; its address is in tor's
 * src/test/test_hs_common.c (test_build_address). */
#define RFC_SEED	"9d61b19deffd5a60ba844af492ec2cc4" \
			"4449c5697b326919703bac031cae7f60"
#define RFC_PK		"d75a980182b10ab7d54bfed3c964073a" \
			"0ee172f3daa62325af021a68f707511a"
#define RFC_ADDR	"25njqamcweflpvkl73j4szahhihoc4xt3" \
			"ktcgjnpaingr5yhkenl5sid"
/* The same seed as python3-cryptography writes it (what OnionBalance's
 * config generator stores), produced with private_bytes(PEM, PKCS8). */
#define RFC_PEM		"-----BEGIN PRIVATE KEY-----\n" \
	"MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n" \
	"-----END PRIVATE KEY-----\n"
/* SHA-512 of the seed, clamped: tor's expanded form of the key. */
#define RFC_EXPANDED	"307c83864f2833cb427a2ef1c00a013c" \
			"fdff2768d980c0a3a520f006904de94f" \
			"9b4f0afe280b746a778684e75442502" \
			"057b7473a03f08f96f5a38e9287e01f8f"

#define PLEN	1440
#define ROT	720
/* 2016-04-13 12:00 UTC starts period 16904 (tor test_hs_common.c). */
#define TP0	16904
#define TP0_START	((time_t)1460548800)

struct fixture {
	uint8_t			 sk[ED25519_EXPANDED_LEN];
	uint8_t			 pk[ED25519_PK_LEN];
	char			 addr[HS_ADDR_LEN + 1];
	uint8_t			 tok_seed[3][ED25519_SEED_LEN];
	uint8_t			 tok_pk[3][ED25519_PK_LEN];
};

static void
fixture_init(struct fixture *f, int rfc)
{
	uint8_t	seed[32];
	int	i;

	if (rfc)
		test_unhex(seed, 32, RFC_SEED);
	else
		CU_ASSERT_FATAL(ob_random(seed, sizeof(seed)) == 0);
	CU_ASSERT_FATAL(hs_expanded_from_seed(f->sk, seed) == 0);
	CU_ASSERT_FATAL(hs_expanded_pubkey(f->pk, f->sk) == 0);
	CU_ASSERT_FATAL(hs_address_encode(f->addr, f->pk) == 0);
	for (i = 0; i < 3; i++) {
		CU_ASSERT_FATAL(ob_random(f->tok_seed[i], 32) == 0);
		CU_ASSERT_FATAL(ob_ed25519_seed_pubkey(f->tok_pk[i],
		    f->tok_seed[i]) == 0);
	}
}

/* A request for periods TP0 and TP0 + 1 with the fixture's token keys. */
static struct provision *
fixture_request(const struct fixture *f)
{
	struct provision	*req = NULL;
	struct provision_period	*pp;
	int			 i;

	CU_ASSERT_FATAL(provision_new(&req, PROVISION_REQUEST, f->addr, PLEN,
	    ROT) == 0);
	for (i = 0; i < 2; i++) {
		CU_ASSERT_FATAL(provision_period_add(req, TP0 + i, &pp) == 0);
		memcpy(pp->token_pk, f->tok_pk[i], 32);
	}
	return req;
}

static struct provision *
fixture_bundle(const struct fixture *f)
{
	struct provision	*req, *b = NULL;

	req = fixture_request(f);
	CU_ASSERT_FATAL(provision_certify(&b, req, f->sk, TP0_START) == 0);
	provision_free(req);
	return b;
}

static struct buf *
encode(const struct provision *p)
{
	struct buf	*b = buf_new(PROVISION_FILE_MAX);

	CU_ASSERT_FATAL(b != NULL);
	CU_ASSERT_FATAL(provision_encode(b, p) == 0);
	return b;
}

/* Would import accept this text (token keys as the fixture's)? */
static int
accepted(const struct fixture *f, const uint8_t *d, size_t n)
{
	struct provision	*p = NULL;
	size_t			 i;
	int			 ok = 1;

	if (provision_parse(&p, PROVISION_BUNDLE, d, n, NULL) != 0)
		return 0;
	if (strcmp(p->address, f->addr) != 0)
		ok = 0;
	for (i = 0; ok && i < p->nperiods; i++)
		if (p->periods[i].tp < TP0 || p->periods[i].tp > TP0 + 2 ||
		    provision_verify_period(p, &p->periods[i],
		    f->tok_pk[p->periods[i].tp - TP0], NULL) != 0)
			ok = 0;
	provision_free(p);
	return ok;
}

static void
test_window(void)
{
	uint32_t	first, last;
	time_t		ws, we;
	char		label[PROVISION_LABEL_MAX + 1];
	uint8_t		id[PROVISION_KEY_ID_LEN], pk[32], back[32];
	uint64_t	tp;

	CU_ASSERT(hs_time_period(TP0_START, PLEN, ROT) == TP0);
	CU_ASSERT(provision_window(TP0, PLEN, ROT, &first, &last, &ws,
	    &we) == 0);
	/* 48 hours: [TP start - 12h, TP start + 36h], both ends' hours. */
	CU_ASSERT(ws == TP0_START - 12 * 3600);
	CU_ASSERT(we == TP0_START + 36 * 3600);
	CU_ASSERT(first == (uint32_t)(ws / 3600));
	CU_ASSERT(last - first == 48);
	CU_ASSERT(provision_window(TP0, 4, 0, NULL, NULL, NULL, NULL) ==
	    OB_ERR_RANGE);
	CU_ASSERT(provision_window(TP0, PLEN, PLEN + 1, NULL, NULL, NULL,
	    NULL) == OB_ERR_RANGE);
	CU_ASSERT(provision_window(UINT64_MAX / 2, PLEN, ROT, NULL, NULL,
	    NULL, NULL) == OB_ERR_RANGE);
	/* Test networks: a 5-minute period still gets whole-hour certs. */
	CU_ASSERT(provision_window(1000, 5, 2, &first, &last, &ws, &we) == 0);
	CU_ASSERT(last - first <= 1);

	test_unhex(pk, 32, RFC_PK);
	CU_ASSERT(provision_key_label(label, RFC_ADDR, TP0) == 0);
	CU_ASSERT_STRING_EQUAL(label, "obhsm-" RFC_ADDR "-16904");
	provision_key_id(id, pk, TP0);
	CU_ASSERT(provision_key_id_parse(back, &tp, id, sizeof(id)) == 0);
	CU_ASSERT(memcmp(back, pk, 32) == 0 && tp == TP0);
	CU_ASSERT(provision_key_id_parse(back, &tp, id, sizeof(id) - 1) ==
	    OB_ERR_FORMAT);
}

static void
test_identity_formats(void)
{
	uint8_t		sk[64], pk[32], want_sk[64], want_pk[32];
	uint8_t		seed[32];
	uint8_t		file[96], der[83];
	char		pem[512], b64[200];
	struct buf	*b;

	test_unhex(want_sk, 64, RFC_EXPANDED);
	test_unhex(want_pk, 32, RFC_PK);
	test_unhex(seed, 32, RFC_SEED);

	/* OnionBalance's PEM: seed -> tor's expanded key. */
	CU_ASSERT(provision_identity_parse(sk, pk, (const uint8_t *)RFC_PEM,
	    strlen(RFC_PEM)) == 0);
	CU_ASSERT(memcmp(sk, want_sk, 64) == 0);
	CU_ASSERT(memcmp(pk, want_pk, 32) == 0);

	/* Tor's file. */
	memset(file, 0, sizeof(file));
	memcpy(file, PROVISION_TOR_SECRET_TAG,
	    strlen(PROVISION_TOR_SECRET_TAG));
	memcpy(file + 32, want_sk, 64);
	memset(sk, 0, 64);
	CU_ASSERT(provision_identity_parse(sk, pk, file, 96) == 0);
	CU_ASSERT(memcmp(sk, want_sk, 64) == 0);
	CU_ASSERT(memcmp(pk, want_pk, 32) == 0);
	CU_ASSERT(provision_identity_parse(sk, pk, file, 95) != 0);
	file[3] ^= 1;		/* another header */
	CU_ASSERT(provision_identity_parse(sk, pk, file, 96) != 0);
	file[3] ^= 1;
	file[32] |= 1;		/* a scalar that is not clamped */
	CU_ASSERT(provision_identity_parse(sk, pk, file, 96) == OB_ERR_KEY);
	file[32] &= ~1;

	/* PKCS#8 v2 (RFC 8410 OneAsymmetricKey with the public key). */
	memcpy(der, "\x30\x51\x02\x01\x01\x30\x05\x06\x03\x2b\x65\x70"
	    "\x04\x22\x04\x20", 16);
	memcpy(der + 16, seed, 32);
	memcpy(der + 48, "\x81\x21\x00", 3);
	memcpy(der + 51, want_pk, 32);
	CU_ASSERT_FATAL(b64_encode(b64, sizeof(b64), der, 83, B64_PAD) == 0);
	(void)snprintf(pem, sizeof(pem), "-----BEGIN PRIVATE KEY-----\n%.64s"
	    "\n%s\n-----END PRIVATE KEY-----\n", b64, b64 + 64);
	CU_ASSERT(provision_identity_parse(sk, pk, (uint8_t *)pem,
	    strlen(pem)) == 0);
	CU_ASSERT(memcmp(sk, want_sk, 64) == 0);
	der[60] ^= 1;		/* public key that does not match */
	CU_ASSERT_FATAL(b64_encode(b64, sizeof(b64), der, 83, B64_PAD) == 0);
	(void)snprintf(pem, sizeof(pem), "-----BEGIN PRIVATE KEY-----\n%.64s"
	    "\n%s\n-----END PRIVATE KEY-----\n", b64, b64 + 64);
	CU_ASSERT(provision_identity_parse(sk, pk, (uint8_t *)pem,
	    strlen(pem)) == OB_ERR_MISMATCH);

	/* Another algorithm (X25519, OID 1.3.101.110). */
	memcpy(der, "\x30\x2e\x02\x01\x00\x30\x05\x06\x03\x2b\x65\x6e"
	    "\x04\x22\x04\x20", 16);
	memcpy(der + 16, seed, 32);
	CU_ASSERT_FATAL(b64_encode(b64, sizeof(b64), der, 48, B64_PAD) == 0);
	(void)snprintf(pem, sizeof(pem), "-----BEGIN PRIVATE KEY-----\n%s\n"
	    "-----END PRIVATE KEY-----\n", b64);
	CU_ASSERT(provision_identity_parse(sk, pk, (uint8_t *)pem,
	    strlen(pem)) != 0);
	/* Truncated PEM, garbage, empty. */
	CU_ASSERT(provision_identity_parse(sk, pk, (const uint8_t *)RFC_PEM,
	    strlen(RFC_PEM) - 27) != 0);
	CU_ASSERT(provision_identity_parse(sk, pk, (const uint8_t *)RFC_PEM,
	    40) != 0);
	CU_ASSERT(provision_identity_parse(sk, pk, (const uint8_t *)"", 0) !=
	    0);
	b = buf_new(4096);
	CU_ASSERT_FATAL(b != NULL);
	CU_ASSERT(buf_put_str(b, RFC_PEM) == 0 && buf_put_str(b, "x\n") == 0);
	CU_ASSERT(provision_identity_parse(sk, pk, buf_ptr(b), buf_len(b)) ==
	    OB_ERR_LEFTOVER);
	buf_free(b);
}

static void
test_identity_files(void)
{
	char		dir[PATH_MAX], path[PATH_MAX + 32];
	uint8_t		sk[64], pk[32], sk2[64], pk2[32], *d;
	size_t		n;
	struct stat	st;
	struct fixture	f;

	fixture_init(&f, 1);
	(void)snprintf(dir, sizeof(dir), "%s/provision-id", test_tmpdir());
	CU_ASSERT_FATAL(provision_identity_write(dir, f.sk, f.pk) == 0);
	(void)snprintf(path, sizeof(path), "%s/hostname", dir);
	d = test_read_file(path, &n);
	CU_ASSERT_FATAL(d != NULL);
	CU_ASSERT(n == HS_ADDR_LEN + 7);
	CU_ASSERT(strcmp((char *)d, RFC_ADDR ".onion\n") == 0);
	free(d);
	(void)snprintf(path, sizeof(path), "%s/hs_ed25519_public_key", dir);
	d = test_read_file(path, &n);
	CU_ASSERT_FATAL(d != NULL);
	CU_ASSERT(n == 64 && memcmp(d, "== ed25519v1-public: type0 ==\0\0\0",
	    32) == 0 && memcmp(d + 32, f.pk, 32) == 0);
	free(d);
	(void)snprintf(path, sizeof(path), "%s/hs_ed25519_secret_key", dir);
	CU_ASSERT(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	CU_ASSERT(provision_identity_load(sk, pk, path) == 0);
	CU_ASSERT(memcmp(sk, f.sk, 64) == 0 && memcmp(pk, f.pk, 32) == 0);
	/* Never overwrite a key. */
	fixture_init(&f, 0);
	CU_ASSERT(provision_identity_write(dir, f.sk, f.pk) != 0);
	CU_ASSERT(provision_identity_load(sk2, pk2, path) == 0);
	CU_ASSERT(memcmp(sk2, sk, 64) == 0);
	/* A key others can read is refused. */
	CU_ASSERT(chmod(path, 0644) == 0);
	CU_ASSERT(provision_identity_load(sk2, pk2, path) ==
	    OB_ERR_NOT_AUTHORIZED);
	CU_ASSERT(provision_identity_load(sk2, pk2, "/nonexistent/key") ==
	    OB_ERR_MISSING);
}

static void
test_request_roundtrip(void)
{
	struct fixture		 f;
	struct provision	*req, *back = NULL;
	struct buf		*b, *b2;
	size_t			 line;

	fixture_init(&f, 1);
	req = fixture_request(&f);
	b = encode(req);
	CU_ASSERT(buf_has_prefix(b, "obhsm-request 1\nservice " RFC_ADDR
	    "\nperiod-length 1440\nrotation-offset 720\nperiod 16904\n"
	    "token-key "));
	CU_ASSERT_FATAL(provision_parse(&back, PROVISION_REQUEST,
	    buf_ptr(b), buf_len(b), &line) == 0);
	CU_ASSERT(back->nperiods == 2 && back->periods[1].tp == TP0 + 1);
	CU_ASSERT(memcmp(back->periods[1].token_pk, f.tok_pk[1], 32) == 0);
	CU_ASSERT(memcmp(back->identity_pk, f.pk, 32) == 0);
	b2 = encode(back);
	CU_ASSERT(buf_len(b) == buf_len(b2) &&
	    memcmp(buf_ptr(b), buf_ptr(b2), buf_len(b)) == 0);
	provision_free(back);
	back = NULL;
	/* A request is not a bundle. */
	CU_ASSERT(provision_parse(&back, PROVISION_BUNDLE, buf_ptr(b),
	    buf_len(b), &line) == OB_ERR_FORMAT && back == NULL);
	buf_free(b);
	buf_free(b2);
	provision_free(req);
}

static int
no_secret(const uint8_t *p, size_t n, const uint8_t sk[64],
    const uint8_t bsk[64])
{
	size_t	i;

	for (i = 0; i + 32 <= n; i++)
		if (memcmp(p + i, sk, 32) == 0 ||
		    memcmp(p + i, sk + 32, 32) == 0 ||
		    memcmp(p + i, bsk, 32) == 0 ||
		    memcmp(p + i, bsk + 32, 32) == 0)
			return 0;
	return 1;
}

static void
test_certify(void)
{
	struct fixture			 f;
	struct provision		*b, *back = NULL;
	const struct provision_period	*pp;
	struct hs_cert			 c;
	struct buf			*t, *t2;
	uint8_t				 bsk[64], bpk[32], ope[32];
	uint8_t				 cert[HS_CERT_LEN];
	time_t				 now;
	size_t				 i;

	fixture_init(&f, 1);
	b = fixture_bundle(&f);
	CU_ASSERT_FATAL(b->nperiods == 2);
	for (i = 0; i < 2; i++) {
		pp = &b->periods[i];
		CU_ASSERT(pp->ncerts == 49);
		CU_ASSERT(provision_verify_period(b, pp, f.tok_pk[i], NULL) ==
		    0);
		/* The OPE key is tor's: from the blinded secret. */
		CU_ASSERT(hs_blind_seckey(bsk, f.sk, f.pk, pp->tp, PLEN) == 0);
		CU_ASSERT(hs_ope_key(ope, bsk) == 0);
		CU_ASSERT(memcmp(ope, pp->ope_key, 32) == 0);
	}
	/* The cert used at any upload time: type 08 from the blinded key,
	 * over the token key, expiring as tor's would for that upload. */
	CU_ASSERT(hs_blind_pubkey(bpk, f.pk, TP0, PLEN) == 0);
	pp = &b->periods[0];
	for (now = TP0_START - 12 * 3600; now <= TP0_START + 36 * 3600;
	    now += 1799) {
		CU_ASSERT_FATAL(provision_cert_at(cert, pp, now) == 0);
		CU_ASSERT_FATAL(hs_cert_parse(&c, cert, HS_CERT_LEN) == 0);
		CU_ASSERT(hs_cert_verify(&c, HS_CERT_TYPE_DESC_SIGNING, bpk,
		    now) == 0);
		CU_ASSERT(memcmp(c.certified_key, f.tok_pk[0], 32) == 0);
		if (now % 3600 != 0)
			CU_ASSERT(c.expiry_hours ==
			    hs_cert_expiry_desc_signing(now));
	}
	CU_ASSERT(provision_cert_at(cert, pp,
	    TP0_START - 12 * 3600 - 1) == OB_ERR_RANGE);
	CU_ASSERT(provision_cert_at(cert, pp,
	    TP0_START + 37 * 3600) == OB_ERR_RANGE);
	CU_ASSERT(provision_horizon(b) == TP0_START + 60 * 3600);

	/* Text round trip, byte for byte. */
	t = encode(b);
	CU_ASSERT_FATAL(provision_parse(&back, PROVISION_BUNDLE, buf_ptr(t),
	    buf_len(t), NULL) == 0);
	t2 = encode(back);
	CU_ASSERT(buf_len(t) == buf_len(t2) &&
	    memcmp(buf_ptr(t), buf_ptr(t2), buf_len(t)) == 0);
	CU_ASSERT(accepted(&f, buf_ptr(t), buf_len(t)));
	/* Nothing secret in it: no 32-byte window of any binary field is
	 * half of the identity key or of a blinded secret. */
	CU_ASSERT(hs_blind_seckey(bsk, f.sk, f.pk, TP0, PLEN) == 0);
	for (i = 0; i < back->nperiods; i++) {
		pp = &back->periods[i];
		CU_ASSERT(no_secret(pp->token_pk, 32, f.sk, bsk));
		CU_ASSERT(no_secret(pp->ope_key, 32, f.sk, bsk));
		CU_ASSERT(no_secret(pp->ope_sig, 64, f.sk, bsk));
		CU_ASSERT(no_secret(pp->cert_tbs, HS_CERT_TBS_LEN, f.sk,
		    bsk));
		CU_ASSERT(no_secret(pp->cert_sigs[0],
		    pp->ncerts * ED25519_SIG_LEN, f.sk, bsk));
	}
	buf_free(t);
	buf_free(t2);
	provision_free(back);
	provision_free(b);
	ob_wipe(bsk, sizeof(bsk));
}

static void
test_request_refused(void)
{
	struct fixture		 f, g;
	struct provision	*req, *b = NULL;

	fixture_init(&f, 1);
	fixture_init(&g, 0);
	req = fixture_request(&f);
	/* Another identity key than the request's address. */
	CU_ASSERT(provision_certify(&b, req, g.sk, TP0_START) ==
	    OB_ERR_MISMATCH && b == NULL);
	/* A period that is over. */
	CU_ASSERT(provision_certify(&b, req, f.sk, TP0_START + 40 * 3600) ==
	    OB_ERR_RANGE && b == NULL);
	CU_ASSERT(provision_certify(&b, req, f.sk, TP0_START) == 0);
	provision_free(b);
	provision_free(req);
}

/* Replace the first occurrence of from by to in a text buffer. */
static struct buf *
edit(const struct buf *in, const char *from, const char *to)
{
	struct buf	*out = buf_new(PROVISION_FILE_MAX);
	const char	*s = (const char *)buf_ptr(in), *p;
	char		*z;

	CU_ASSERT_FATAL(out != NULL);
	CU_ASSERT_FATAL((z = strndup(s, buf_len(in))) != NULL);
	p = strstr(z, from);
	CU_ASSERT_FATAL(p != NULL);
	CU_ASSERT(buf_put(out, z, (size_t)(p - z)) == 0);
	CU_ASSERT(buf_put_str(out, to) == 0);
	CU_ASSERT(buf_put_str(out, p + strlen(from)) == 0);
	free(z);
	return out;
}

#define CERT_B64_LEN	187	/* 140 bytes, no padding */

/*
 * Where cert k of the n-th period starts in the text t (the "cert "
 * keyword), and its line, from 1 as provision_parse() counts.
 */
static size_t
cert_find(const struct buf *t, size_t n, size_t k, size_t *linep)
{
	const char	*s = (const char *)buf_ptr(t), *l, *nl;
	const char	*end = s + buf_len(t);
	size_t		 line = 1, np = 0, nc = 0;
	int		 in = 0;

	for (l = s; l < end; l = nl + 1, line++) {
		nl = memchr(l, '\n', (size_t)(end - l));
		CU_ASSERT_FATAL(nl != NULL);
		if (strncmp(l, "period ", 7) == 0) {
			in = np++ == n;
			nc = 0;
		} else if (in && strncmp(l, "cert ", 5) == 0 && nc++ == k) {
			CU_ASSERT_FATAL(nl - l == 5 + CERT_B64_LEN);
			if (linep != NULL)
				*linep = line;
			return (size_t)(l - s);
		}
	}
	CU_FAIL_FATAL("no such cert in the text");
	return 0;
}

static size_t
cert_line(const struct buf *t, size_t n, size_t k)
{
	size_t	line;

	(void)cert_find(t, n, k, &line);
	return line;
}

/* The bytes of cert k of the n-th period, as the text has them. */
static void
cert_text(const struct buf *t, size_t n, size_t k, uint8_t c[HS_CERT_LEN])
{
	struct buf	a;
	size_t		off, len;

	off = cert_find(t, n, k, NULL) + 5;
	buf_init_ro(&a, buf_ptr(t) + off, CERT_B64_LEN);
	CU_ASSERT_FATAL(b64_decode(c, HS_CERT_LEN, &len, &a,
	    B64_NOPAD) == 0 && len == HS_CERT_LEN);
}

/* A copy of t with cert k of the n-th period replaced by c. */
static struct buf *
cert_replaced(const struct buf *t, size_t n, size_t k,
    const uint8_t c[HS_CERT_LEN])
{
	struct buf	*out = buf_new(PROVISION_FILE_MAX);
	char		 b64[CERT_B64_LEN + 1];
	size_t		 off;

	CU_ASSERT_FATAL(out != NULL);
	off = cert_find(t, n, k, NULL) + 5;
	CU_ASSERT_FATAL(b64_encode(b64, sizeof(b64), c, HS_CERT_LEN,
	    B64_NOPAD) == 0);
	CU_ASSERT_FATAL(buf_put(out, buf_ptr(t), off) == 0 &&
	    buf_put_str(out, b64) == 0 &&
	    buf_put(out, buf_ptr(t) + off + CERT_B64_LEN,
	    buf_len(t) - off - CERT_B64_LEN) == 0);
	return out;
}

/*
 * The 08 certs are held as one shared part per period and a signature
 * per hour: every cert rebuilt is byte for byte the one in the text and
 * verifies; the certs for two hours stand side by side; a cert
 * that differs from its period's others in a byte they share is refused
 * at its line.
 */
static void
test_compact(void)
{
	struct fixture			 f;
	struct provision		*b, *back = NULL, *p = NULL;
	const struct provision_period	*pp;
	struct hs_cert			 hc;
	struct buf			*t, *e;
	uint8_t				 c[HS_CERT_LEN], want[HS_CERT_LEN];
	uint8_t				 bpk[ED25519_PK_LEN];
	uint8_t				 c0[HS_CERT_LEN], c1[HS_CERT_LEN];
	uint8_t				 c2[HS_CERT_LEN];
	char				 path[PATH_MAX];
	time_t				 now;
	size_t				 i, k, off, line;
	int				 r;

	fixture_init(&f, 0);
	b = fixture_bundle(&f);
	t = encode(b);
	CU_ASSERT_FATAL(provision_parse(&back, PROVISION_BUNDLE, buf_ptr(t),
	    buf_len(t), NULL) == 0);
	CU_ASSERT_FATAL(back->nperiods == 2);
	for (i = 0; i < back->nperiods; i++) {
		pp = &back->periods[i];
		CU_ASSERT_FATAL(pp->ncerts == 49);
		CU_ASSERT(hs_blind_pubkey(bpk, f.pk, pp->tp, PLEN) == 0);
		for (k = 0; k < pp->ncerts; k++) {
			cert_text(t, i, k, want);
			CU_ASSERT_FATAL(provision_cert_get(pp, k, c) == 0);
			CU_ASSERT(memcmp(c, want, HS_CERT_LEN) == 0);
			/* And what certification made, unparsed. */
			CU_ASSERT(provision_cert_get(&b->periods[i], k,
			    want) == 0 && memcmp(c, want, HS_CERT_LEN) == 0);
			CU_ASSERT(hs_cert_parse(&hc, c, HS_CERT_LEN) == 0 &&
			    hs_cert_verify(&hc, HS_CERT_TYPE_DESC_SIGNING,
			    bpk, 0) == 0);
		}
		CU_ASSERT(provision_cert_get(pp, pp->ncerts, c) ==
		    OB_ERR_RANGE);
	}

	/* The cert for a time is the hour's, copied out: two hours side
	 * by side, each the one cert_get rebuilds for its index. */
	pp = &back->periods[0];
	now = TP0_START + 5 * 3600 + 10;
	k = (size_t)((uint64_t)now / 3600 - pp->first_hour);
	CU_ASSERT_FATAL(provision_cert_at(c0, pp, now) == 0);
	CU_ASSERT_FATAL(provision_cert_at(c1, pp, now - 3600) == 0);
	CU_ASSERT_FATAL(provision_cert_at(c2, pp, now + 1) == 0);
	CU_ASSERT(memcmp(c0, c2, HS_CERT_LEN) == 0);
	CU_ASSERT(memcmp(c0, c1, HS_CERT_LEN) != 0);
	CU_ASSERT(provision_cert_get(pp, k, c) == 0 &&
	    memcmp(c, c0, HS_CERT_LEN) == 0);
	CU_ASSERT(provision_cert_get(pp, k - 1, c) == 0 &&
	    memcmp(c, c1, HS_CERT_LEN) == 0);
	CU_ASSERT(provision_cert_at(c, pp, TP0_START + 37 * 3600) ==
	    OB_ERR_RANGE);

	/*
	 * Every shared byte of cert 7 of period 1 changed alone.  Those
	 * that leave a well-formed cert for the token key (cert key type,
	 * extension flags, signing key) are the compact form's own
	 * refusal, OB_ERR_MISMATCH; the rest fail the cert's own checks.
	 */
	for (off = 0; off < HS_CERT_TBS_LEN; off++) {
		if (off >= PROVISION_CERT_EXPIRY_OFF &&
		    off < PROVISION_CERT_EXPIRY_OFF + 4)
			continue;
		CU_ASSERT_FATAL(provision_cert_get(&b->periods[1], 7,
		    c) == 0);
		c[off] ^= 0x01;
		e = cert_replaced(t, 1, 7, c);
		line = 0;
		r = provision_parse(&p, PROVISION_BUNDLE, buf_ptr(e),
		    buf_len(e), &line);
		CU_ASSERT(r != 0 && p == NULL);
		CU_ASSERT(line == cert_line(t, 1, 7));
		if (off == 6 || off >= 43)
			CU_ASSERT(r == OB_ERR_MISMATCH);
		provision_free(p);
		p = NULL;
		buf_free(e);
	}
	/* Cert 0 sets what the others must share: refused at cert 1. */
	CU_ASSERT_FATAL(provision_cert_get(&b->periods[0], 0, c) == 0);
	c[HS_CERT_TBS_LEN - 1] ^= 0x80;
	e = cert_replaced(t, 0, 0, c);
	CU_ASSERT(provision_parse(&p, PROVISION_BUNDLE, buf_ptr(e),
	    buf_len(e), &line) == OB_ERR_MISMATCH && p == NULL);
	CU_ASSERT(line == cert_line(t, 0, 1));
	/* The same from a file, as obhsm-keytool import reads it (its
	 * warning names the line and why). */
	(void)snprintf(path, sizeof(path), "%s/provision-compact.bundle",
	    test_tmpdir());
	CU_ASSERT_FATAL(provision_write_atomic(path, buf_ptr(e), buf_len(e),
	    0600) == 0);
	CU_ASSERT(provision_load_file(&p, PROVISION_BUNDLE, path) ==
	    OB_ERR_MISMATCH && p == NULL);
	(void)unlink(path);
	buf_free(e);
	/* A signature changed parses (held as given) and fails only
	 * verification, at that cert. */
	CU_ASSERT_FATAL(provision_cert_get(&b->periods[0], 9, c) == 0);
	c[HS_CERT_LEN - 1] ^= 0x01;
	e = cert_replaced(t, 0, 9, c);
	CU_ASSERT_FATAL(provision_parse(&p, PROVISION_BUNDLE, buf_ptr(e),
	    buf_len(e), NULL) == 0);
	CU_ASSERT(provision_cert_get(&p->periods[0], 9, want) == 0 &&
	    memcmp(c, want, HS_CERT_LEN) == 0);
	CU_ASSERT(provision_verify_period(p, &p->periods[0], f.tok_pk[0],
	    &k) == OB_ERR_SIGNATURE && k == 9);
	provision_free(p);
	buf_free(e);
	buf_free(t);
	provision_free(back);
	provision_free(b);
}

static void
test_bundle_refused(void)
{
	struct fixture		 f, g;
	struct provision	*b, *gb, *p = NULL;
	struct provision_period	*pp;
	struct hs_signer	 s;
	struct buf		*t, *e;
	uint8_t			 bsk[64], bpk[32], nc[HS_CERT_LEN];
	uint8_t			 save_tbs[HS_CERT_TBS_LEN];
	uint8_t			(*save_sigs)[ED25519_SIG_LEN];
	char			 from[128], to[128];
	size_t			 i, j, bad;

	fixture_init(&f, 1);
	fixture_init(&g, 0);
	b = fixture_bundle(&f);
	t = encode(b);

	/* Another token key for the period. */
	CU_ASSERT(provision_verify_period(b, &b->periods[0], f.tok_pk[2],
	    NULL) == OB_ERR_MISMATCH);
	/* The period keys swapped. */
	CU_ASSERT(provision_verify_period(b, &b->periods[0], f.tok_pk[1],
	    NULL) == OB_ERR_MISMATCH);

	/* A bundle for another address, relabelled as ours. */
	memcpy(g.tok_pk, f.tok_pk, sizeof(f.tok_pk));
	gb = fixture_bundle(&g);
	e = encode(gb);
	{
		struct buf *e2 = edit(e, g.addr, f.addr);

		CU_ASSERT(!accepted(&f, buf_ptr(e2), buf_len(e2)));
		CU_ASSERT_FATAL(provision_parse(&p, PROVISION_BUNDLE,
		    buf_ptr(e2), buf_len(e2), NULL) == 0);
		CU_ASSERT(provision_verify_period(p, &p->periods[0],
		    f.tok_pk[0], &bad) == OB_ERR_MISMATCH && bad == 0);
		provision_free(p);
		p = NULL;
		buf_free(e2);
	}
	buf_free(e);
	provision_free(gb);

	/* Another period's blinded key signing this period's hours. */
	pp = &b->periods[0];
	CU_ASSERT(hs_blind_seckey(bsk, f.sk, f.pk, TP0 + 1, PLEN) == 0);
	CU_ASSERT(hs_expanded_pubkey(bpk, bsk) == 0);
	hs_signer_expanded(&s, bsk, bpk);
	/* One such cert among ours cannot even be held (the signing key
	 * differs from cert 0's); a whole period of them is held and
	 * refused by verification. */
	CU_ASSERT_FATAL(hs_cert_build(nc, HS_CERT_TYPE_DESC_SIGNING,
	    pp->first_hour + 5 + 55, f.tok_pk[0], &s) == 0);
	e = cert_replaced(t, 0, 5, nc);
	CU_ASSERT(provision_parse(&p, PROVISION_BUNDLE, buf_ptr(e),
	    buf_len(e), &bad) == OB_ERR_MISMATCH && p == NULL);
	CU_ASSERT(bad == cert_line(t, 0, 5));
	buf_free(e);
	memcpy(save_tbs, pp->cert_tbs, sizeof(save_tbs));
	save_sigs = calloc(pp->ncerts, ED25519_SIG_LEN);
	CU_ASSERT_FATAL(save_sigs != NULL);
	memcpy(save_sigs, pp->cert_sigs, pp->ncerts * ED25519_SIG_LEN);
	for (i = 0; i < pp->ncerts; i++) {
		CU_ASSERT_FATAL(hs_cert_build(nc, HS_CERT_TYPE_DESC_SIGNING,
		    pp->first_hour + (uint32_t)i + 55, f.tok_pk[0], &s) == 0);
		memcpy(pp->cert_tbs, nc, HS_CERT_TBS_LEN);
		memset(pp->cert_tbs + PROVISION_CERT_EXPIRY_OFF, 0, 4);
		memcpy(pp->cert_sigs[i], nc + HS_CERT_TBS_LEN,
		    ED25519_SIG_LEN);
	}
	CU_ASSERT(provision_verify_period(b, pp, f.tok_pk[0], &bad) ==
	    OB_ERR_MISMATCH && bad == 0);
	memcpy(pp->cert_tbs, save_tbs, sizeof(save_tbs));
	memcpy(pp->cert_sigs, save_sigs, pp->ncerts * ED25519_SIG_LEN);
	free(save_sigs);
	CU_ASSERT(provision_verify_period(b, pp, f.tok_pk[0], NULL) == 0);
	ob_wipe(bsk, sizeof(bsk));
	/* A period relabelled in the text. */
	(void)snprintf(from, sizeof(from), "period %d\n", TP0 + 1);
	(void)snprintf(to, sizeof(to), "period %d\n", TP0 + 2);
	e = edit(t, from, to);
	CU_ASSERT(!accepted(&f, buf_ptr(e), buf_len(e)));
	buf_free(e);

	/* Tampered: every byte of a cert held (the expiry is not held:
	 * it is the hour's), the OPE key, its signature. */
	for (j = 0; j < HS_CERT_LEN; j++) {
		if (j >= PROVISION_CERT_EXPIRY_OFF &&
		    j < PROVISION_CERT_EXPIRY_OFF + 4)
			continue;
		if (j < HS_CERT_TBS_LEN)
			pp->cert_tbs[j] ^= 0x20;
		else
			pp->cert_sigs[3][j - HS_CERT_TBS_LEN] ^= 0x20;
		CU_ASSERT(provision_verify_period(b, pp, f.tok_pk[0], &bad) !=
		    0);
		if (j < HS_CERT_TBS_LEN)
			pp->cert_tbs[j] ^= 0x20;
		else
			pp->cert_sigs[3][j - HS_CERT_TBS_LEN] ^= 0x20;
	}
	pp->first_hour++;
	CU_ASSERT(provision_verify_period(b, pp, f.tok_pk[0], &bad) ==
	    OB_ERR_RANGE);
	pp->first_hour--;
	pp->ope_key[7] ^= 1;
	CU_ASSERT(provision_verify_period(b, pp, f.tok_pk[0], &bad) ==
	    OB_ERR_SIGNATURE && bad == pp->ncerts);
	pp->ope_key[7] ^= 1;
	pp->ope_sig[63] ^= 0x10;
	CU_ASSERT(provision_verify_period(b, pp, f.tok_pk[0], &bad) != 0);
	pp->ope_sig[63] ^= 0x10;
	CU_ASSERT(provision_verify_period(b, pp, f.tok_pk[0], NULL) == 0);
	/* Tampered text: every character of a cert line changed. */
	{
		const char	*s0 = (const char *)buf_ptr(t);
		const char	*c = strstr(s0, "\ncert ");
		uint8_t		*copy;
		size_t		 off;

		CU_ASSERT_FATAL(c != NULL);
		off = (size_t)(c - s0) + 6;
		copy = malloc(buf_len(t));
		CU_ASSERT_FATAL(copy != NULL);
		for (i = 0; i < 187; i++) {
			memcpy(copy, buf_ptr(t), buf_len(t));
			copy[off + i] = copy[off + i] == 'A' ? 'B' : 'A';
			CU_ASSERT(!accepted(&f, copy, buf_len(t)));
		}
		free(copy);
	}

	/* Truncated anywhere. */
	for (i = 0; i < buf_len(t); i += (i < 400 ||
	    i + 400 > buf_len(t)) ? 1 : 97)
		CU_ASSERT(!accepted(&f, buf_ptr(t), i));
	CU_ASSERT(accepted(&f, buf_ptr(t), buf_len(t)));

	/* Trailing data, missing end, other version, duplicate key. */
	e = edit(t, "end\n", "end\nx\n");
	CU_ASSERT(provision_parse(&p, PROVISION_BUNDLE, buf_ptr(e),
	    buf_len(e), NULL) == OB_ERR_LEFTOVER);
	buf_free(e);
	e = edit(t, "obhsm-bundle 1\n", "obhsm-bundle 2\n");
	CU_ASSERT(provision_parse(&p, PROVISION_BUNDLE, buf_ptr(e),
	    buf_len(e), NULL) == OB_ERR_VERSION);
	buf_free(e);
	buf_free(t);
	memcpy(b->periods[1].token_pk, b->periods[0].token_pk, 32);
	t = encode(b);
	CU_ASSERT(provision_parse(&p, PROVISION_BUNDLE, buf_ptr(t),
	    buf_len(t), NULL) == OB_ERR_DUPLICATE && p == NULL);
	buf_free(t);
	provision_free(b);
}

static void
test_limits(void)
{
	struct buf		*b = buf_new(PROVISION_FILE_MAX + 1024);
	struct provision	*p = NULL;
	size_t			 line = 0;
	int			 i;
	uint8_t			 pk[32];
	char			 k64[64];

	CU_ASSERT_FATAL(b != NULL);
	/* Too many periods. */
	CU_ASSERT(buf_putf(b, "obhsm-request 1\nservice %s\nperiod-length "
	    "1440\nrotation-offset 720\n", RFC_ADDR) == 0);
	for (i = 0; i <= PROVISION_MAX_PERIODS; i++) {
		memset(pk, 0, sizeof(pk));
		memcpy(pk, &i, sizeof(i));
		CU_ASSERT_FATAL(b64_encode(k64, sizeof(k64), pk, 32,
		    B64_NOPAD) == 0);
		CU_ASSERT(buf_putf(b, "period %d\ntoken-key %s\n", TP0 + i,
		    k64) == 0);
	}
	CU_ASSERT(buf_put_str(b, "end\n") == 0);
	CU_ASSERT(provision_parse(&p, PROVISION_REQUEST, buf_ptr(b),
	    buf_len(b), &line) == OB_ERR_LIMIT && p == NULL);
	/* A huge line. */
	buf_reset(b);
	CU_ASSERT(buf_put_str(b, "obhsm-request 1\nservice ") == 0);
	for (i = 0; i < 1000; i++)
		CU_ASSERT(buf_put_u8(b, 'a') == 0);
	CU_ASSERT(buf_put_str(b, "\n") == 0);
	CU_ASSERT(provision_parse(&p, PROVISION_REQUEST, buf_ptr(b),
	    buf_len(b), &line) == OB_ERR_TOO_LARGE && line == 2);
	/* Periods out of order, bad numbers, bad address. */
	buf_reset(b);
	CU_ASSERT(buf_putf(b, "obhsm-request 1\nservice %s\nperiod-length "
	    "1440\nrotation-offset 720\nperiod 5\ntoken-key %s\nperiod 4\n"
	    "token-key %s\nend\n", RFC_ADDR, k64, k64) == 0);
	CU_ASSERT(provision_parse(&p, PROVISION_REQUEST, buf_ptr(b),
	    buf_len(b), &line) == OB_ERR_FORMAT && line == 7);
	buf_reset(b);
	CU_ASSERT(buf_putf(b, "obhsm-request 1\nservice %s\nperiod-length "
	    "01440\nrotation-offset 720\nend\n", RFC_ADDR) == 0);
	CU_ASSERT(provision_parse(&p, PROVISION_REQUEST, buf_ptr(b),
	    buf_len(b), &line) == OB_ERR_FORMAT && line == 3);
	buf_reset(b);
	CU_ASSERT(buf_putf(b, "obhsm-request 1\nservice %s\nperiod-length "
	    "1440\nrotation-offset 720\nend\n",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaad") == 0);
	CU_ASSERT(provision_parse(&p, PROVISION_REQUEST, buf_ptr(b),
	    buf_len(b), &line) != 0 && p == NULL);
	/* An empty request. */
	buf_reset(b);
	CU_ASSERT(buf_putf(b, "obhsm-request 1\nservice %s\nperiod-length "
	    "1440\nrotation-offset 720\nend\n", RFC_ADDR) == 0);
	CU_ASSERT(provision_parse(&p, PROVISION_REQUEST, buf_ptr(b),
	    buf_len(b), &line) == OB_ERR_MISSING);
	/* Too large a file. */
	CU_ASSERT(provision_parse(&p, PROVISION_REQUEST, buf_ptr(b),
	    PROVISION_FILE_MAX + 1, &line) == OB_ERR_TOO_LARGE);
	buf_free(b);
}

static void
test_store(void)
{
	struct fixture		 f;
	struct provision	*b, *store = NULL, *back = NULL, *b2;
	char			 dir[PATH_MAX], path[PATH_MAX + 80];
	struct stat		 st;
	size_t			 n;

	fixture_init(&f, 0);
	b = fixture_bundle(&f);
	(void)snprintf(dir, sizeof(dir), "%s/provision-store", test_tmpdir());
	CU_ASSERT_FATAL(mkdir(dir, 0700) == 0 || errno == EEXIST);
	CU_ASSERT(provision_store_load(&store, dir, f.addr) ==
	    OB_ERR_MISSING);
	CU_ASSERT(provision_store_merge(&store, b) == 0);
	CU_ASSERT_FATAL(store != NULL && store->kind == PROVISION_STORE);
	CU_ASSERT(provision_store_save(dir, store) == 0);
	CU_ASSERT(provision_store_path(path, sizeof(path), dir, f.addr) == 0);
	CU_ASSERT(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	CU_ASSERT_FATAL(provision_store_load(&back, dir, f.addr) == 0);
	CU_ASSERT(back->nperiods == 2);
	CU_ASSERT(provision_verify_period(back, &back->periods[1],
	    f.tok_pk[1], NULL) == 0);
	provision_free(back);
	back = NULL;

	/* A second bundle for period TP0 + 1 (new key) and TP0 + 2. */
	b2 = NULL;
	{
		struct provision	*req;
		struct provision_period	*pp;

		CU_ASSERT_FATAL(provision_new(&req, PROVISION_REQUEST, f.addr,
		    PLEN, ROT) == 0);
		CU_ASSERT_FATAL(provision_period_add(req, TP0 + 2, &pp) == 0);
		memcpy(pp->token_pk, f.tok_pk[2], 32);
		CU_ASSERT_FATAL(provision_certify(&b2, req, f.sk,
		    TP0_START) == 0);
		provision_free(req);
	}
	CU_ASSERT(provision_store_merge(&store, b2) == 0);
	CU_ASSERT(store->nperiods == 3 && store->periods[2].tp == TP0 + 2);
	CU_ASSERT(provision_horizon(store) == TP0_START + 84 * 3600);
	/* The same key twice (bundle for TP0 + 2 reusing TP0's key). */
	memcpy(b2->periods[0].token_pk, f.tok_pk[0], 32);
	CU_ASSERT(provision_store_merge(&store, b2) == OB_ERR_DUPLICATE);
	CU_ASSERT(store->nperiods == 3);
	/* Another rotation offset: refused, store unchanged. */
	b2->rot_offset = 0;
	CU_ASSERT(provision_store_merge(&store, b2) == OB_ERR_MISMATCH);
	CU_ASSERT(store->nperiods == 3);

	/* Purge: at TP0 + 36h + 1s period TP0 is over. */
	CU_ASSERT(provision_store_purge(store, TP0_START + 36 * 3600, &n) ==
	    0 && n == 0);
	CU_ASSERT(provision_store_purge(store, TP0_START + 36 * 3600 + 1,
	    &n) == 0 && n == 1);
	CU_ASSERT(store->nperiods == 2 && store->periods[0].tp == TP0 + 1);
	CU_ASSERT(provision_store_save(dir, store) == 0);
	CU_ASSERT_FATAL(provision_store_load(&back, dir, f.addr) == 0);
	CU_ASSERT(back->nperiods == 2);
	CU_ASSERT(provision_period_find(back, TP0) == NULL);
	CU_ASSERT(provision_period_find(back, TP0 + 2) != NULL);
	provision_free(back);
	provision_free(b2);
	provision_free(store);
	provision_free(b);
}

static void
test_online(void)
{
	struct fixture		 f;
	struct provision	*store = NULL, *b;
	size_t			 bad;

	fixture_init(&f, 0);
	/* The signer's own certification, period by period. */
	CU_ASSERT_FATAL(provision_store_certify(&store, f.sk, PLEN, ROT,
	    TP0 + 1, f.tok_pk[1]) == 0);
	CU_ASSERT_FATAL(provision_store_certify(&store, f.sk, PLEN, ROT, TP0,
	    f.tok_pk[0]) == 0);
	CU_ASSERT(store->kind == PROVISION_STORE);
	CU_ASSERT(strcmp(store->address, f.addr) == 0);
	CU_ASSERT(store->nperiods == 2 && store->periods[0].tp == TP0);
	CU_ASSERT(provision_verify(store, &bad) == 0);
	/* The same as the ceremony's bundle (signatures are deterministic). */
	b = fixture_bundle(&f);
	CU_ASSERT(memcmp(b->periods[0].cert_tbs, store->periods[0].cert_tbs,
	    HS_CERT_TBS_LEN) == 0);
	CU_ASSERT(b->periods[0].ncerts == 49 &&
	    store->periods[0].ncerts == 49 &&
	    memcmp(b->periods[0].cert_sigs, store->periods[0].cert_sigs,
	    49 * ED25519_SIG_LEN) == 0);
	CU_ASSERT(memcmp(b->periods[1].ope_sig, store->periods[1].ope_sig,
	    64) == 0);
	/* A key already used for another period is refused. */
	CU_ASSERT(provision_store_certify(&store, f.sk, PLEN, ROT, TP0 + 2,
	    f.tok_pk[0]) == OB_ERR_DUPLICATE);
	CU_ASSERT(store->nperiods == 2);
	store->periods[1].cert_sigs[7][100 - HS_CERT_TBS_LEN] ^= 1;
	CU_ASSERT(provision_verify(store, &bad) == OB_ERR_SIGNATURE &&
	    bad == 1);
	provision_free(b);
	provision_free(store);
}

/*
 * The signer's online mode holds a few hours' 08 certs and makes the
 * next ones as the hours come: each byte for byte the full
 * certification's, those held kept, the others refused as missing, and
 * a period so held is neither written out nor taken as verified.
 */
static void
test_hours(void)
{
	struct fixture		 f;
	struct provision	*full = NULL, *held = NULL;
	struct provision_period	*pp, save;
	const struct provision_period *fp;
	struct buf		*t;
	uint8_t			 c[HS_CERT_LEN], want[HS_CERT_LEN];
	uint32_t		 first;
	size_t			 i, bad;

	fixture_init(&f, 0);
	CU_ASSERT_FATAL(provision_store_certify(&full, f.sk, PLEN, ROT, TP0,
	    f.tok_pk[0]) == 0);
	fp = &full->periods[0];
	first = fp->first_hour;
	CU_ASSERT_FATAL(fp->ncerts == 49 && fp->nsigs == 49);
	CU_ASSERT_FATAL(provision_new(&held, PROVISION_STORE, f.addr, PLEN,
	    ROT) == 0);
	CU_ASSERT_FATAL(provision_period_add(held, TP0, &pp) == 0);
	memcpy(pp->token_pk, f.tok_pk[0], ED25519_PK_LEN);

	/* Refused: an empty range; nothing made. */
	CU_ASSERT(provision_certify_hours(pp, f.sk, f.pk, PLEN, ROT,
	    first + 6, first + 5) == OB_ERR_RANGE);
	CU_ASSERT(pp->ncerts == 0 && pp->cert_sigs == NULL);

	CU_ASSERT_FATAL(provision_certify_hours(pp, f.sk, f.pk, PLEN, ROT,
	    first + 5, first + 7) == 0);
	CU_ASSERT(pp->ncerts == 49 && pp->first_hour == first);
	CU_ASSERT(pp->sigs_first == 5 && pp->nsigs == 3);
	CU_ASSERT(memcmp(pp->cert_tbs, fp->cert_tbs, HS_CERT_TBS_LEN) == 0);
	CU_ASSERT(memcmp(pp->ope_key, fp->ope_key, HS_OPE_KEY_LEN) == 0);
	CU_ASSERT(memcmp(pp->ope_sig, fp->ope_sig, ED25519_SIG_LEN) == 0);
	for (i = 0; i < 49; i++) {
		CU_ASSERT_FATAL(provision_cert_get(fp, i, want) == 0);
		if (i >= 5 && i <= 7) {
			CU_ASSERT(provision_cert_get(pp, i, c) == 0 &&
			    memcmp(c, want, HS_CERT_LEN) == 0);
		} else {
			CU_ASSERT(provision_cert_get(pp, i, c) ==
			    OB_ERR_MISSING);
		}
	}
	CU_ASSERT(provision_cert_get(pp, 49, c) == OB_ERR_RANGE);
	CU_ASSERT(provision_cert_at(c, pp, (time_t)(first + 6) * 3600 +
	    59) == 0);
	CU_ASSERT(provision_cert_at(c, pp, (time_t)(first + 8) * 3600) ==
	    OB_ERR_MISSING);
	/* Written out or verified, it would lack certs: refused. */
	CU_ASSERT_FATAL((t = buf_new(PROVISION_FILE_MAX)) != NULL);
	CU_ASSERT(provision_encode(t, held) != 0);
	buf_free(t);
	CU_ASSERT(provision_verify_period(held, pp, f.tok_pk[0], &bad) ==
	    OB_ERR_MISSING);

	/* The hours move on: two kept, two made, all as the full set. */
	CU_ASSERT_FATAL(provision_certify_hours(pp, f.sk, f.pk, PLEN, ROT,
	    first + 6, first + 9) == 0);
	CU_ASSERT(pp->sigs_first == 6 && pp->nsigs == 4);
	for (i = 6; i <= 9; i++)
		CU_ASSERT(provision_cert_get(fp, i, want) == 0 &&
		    provision_cert_get(pp, i, c) == 0 &&
		    memcmp(c, want, HS_CERT_LEN) == 0);
	/* The same hours again: nothing changes. */
	save = *pp;
	CU_ASSERT(provision_certify_hours(pp, f.sk, f.pk, PLEN, ROT,
	    first + 6, first + 9) == 0);
	CU_ASSERT(pp->cert_sigs == save.cert_sigs);
	/* Clipped to the window: before it, its first hour; after, its
	 * last. */
	CU_ASSERT_FATAL(provision_certify_hours(pp, f.sk, f.pk, PLEN, ROT,
	    first - 30, first - 20) == 0);
	CU_ASSERT(pp->sigs_first == 0 && pp->nsigs == 1);
	CU_ASSERT(provision_cert_get(fp, 0, want) == 0 &&
	    provision_cert_get(pp, 0, c) == 0 &&
	    memcmp(c, want, HS_CERT_LEN) == 0);
	CU_ASSERT_FATAL(provision_certify_hours(pp, f.sk, f.pk, PLEN, ROT,
	    first + 47, first + 60) == 0);
	CU_ASSERT(pp->sigs_first == 47 && pp->nsigs == 2);
	CU_ASSERT(provision_cert_get(fp, 48, want) == 0 &&
	    provision_cert_get(pp, 48, c) == 0 &&
	    memcmp(c, want, HS_CERT_LEN) == 0);
	/* Another identity key: refused, the period left as it was. */
	save = *pp;
	{
		struct fixture	g;

		fixture_init(&g, 1);
		CU_ASSERT(provision_certify_hours(pp, g.sk, f.pk, PLEN, ROT,
		    first, first + 2) == OB_ERR_MISMATCH);
	}
	CU_ASSERT(pp->cert_sigs == save.cert_sigs &&
	    pp->sigs_first == 47 && pp->nsigs == 2 &&
	    memcmp(pp->ope_key, fp->ope_key, HS_OPE_KEY_LEN) == 0);
	provision_free(held);
	provision_free(full);
}

/*
 * The signer's offline mode holds a few hours' 08 certs and reads the
 * next ones from the store file: byte for byte the parsed ones, read
 * only when missing, and a file changed since (a cert altered, the file
 * cut short or replaced by another) gives no cert and leaves the period
 * as it was.
 */
static void
test_hold_file(void)
{
	struct fixture		 f;
	struct provision	*b, *full = NULL, *p = NULL;
	struct provision_period	*pp, save;
	const struct provision_period *fp;
	struct buf		*t;
	uint8_t			 c[HS_CERT_LEN], want[HS_CERT_LEN];
	char			 path[PATH_MAX];
	uint32_t		 first;
	size_t			 i, off;
	int			 fd;

	fixture_init(&f, 0);
	b = fixture_bundle(&f);
	t = encode(b);
	(void)snprintf(path, sizeof(path), "%s/provision-hold.bundle",
	    test_tmpdir());
	CU_ASSERT_FATAL(provision_write_atomic(path, buf_ptr(t), buf_len(t),
	    0600) == 0);
	CU_ASSERT_FATAL(provision_load_file(&full, PROVISION_BUNDLE,
	    path) == 0);
	CU_ASSERT_FATAL(provision_load_file(&p, PROVISION_BUNDLE, path) == 0);
	fp = &full->periods[1];
	pp = &p->periods[1];
	first = pp->first_hour;
	CU_ASSERT(pp->cert_off > 0 && pp->nsigs == 49);

	/* Held already (all of them): trimmed without reading. */
	CU_ASSERT(provision_hold_needs_read(pp, first + 5, first + 7) == 0);
	CU_ASSERT_FATAL(provision_hold_file(pp, -1, first + 5,
	    first + 7) == 0);
	CU_ASSERT(pp->sigs_first == 5 && pp->nsigs == 3);
	CU_ASSERT(provision_cert_get(pp, 4, c) == OB_ERR_MISSING);
	/* Moving on needs the file. */
	CU_ASSERT(provision_hold_needs_read(pp, first + 6, first + 9) == 1);
	CU_ASSERT(provision_hold_file(pp, -1, first + 6, first + 9) ==
	    OB_ERR_MISSING);
	CU_ASSERT(pp->sigs_first == 5 && pp->nsigs == 3);
	CU_ASSERT_FATAL((fd = open(path, O_RDONLY)) != -1);
	CU_ASSERT_FATAL(provision_hold_file(pp, fd, first + 6,
	    first + 9) == 0);
	CU_ASSERT(pp->sigs_first == 6 && pp->nsigs == 4);
	for (i = 0; i < 49; i++) {
		CU_ASSERT_FATAL(provision_cert_get(fp, i, want) == 0);
		if (i >= 6 && i <= 9) {
			CU_ASSERT(provision_cert_get(pp, i, c) == 0 &&
			    memcmp(c, want, HS_CERT_LEN) == 0);
		} else {
			CU_ASSERT(provision_cert_get(pp, i, c) ==
			    OB_ERR_MISSING);
		}
	}
	/* The last hours, and past them: clipped to the last. */
	CU_ASSERT(provision_hold_file(pp, fd, first + 47, first + 80) == 0);
	CU_ASSERT(pp->sigs_first == 47 && pp->nsigs == 2);
	CU_ASSERT(provision_cert_get(fp, 48, want) == 0 &&
	    provision_cert_get(pp, 48, c) == 0 &&
	    memcmp(c, want, HS_CERT_LEN) == 0);
	close(fd);

	/* One base64 character of cert 20's signature changed on disk. */
	off = (size_t)pp->cert_off + 20 * (5 + 187 + 1) + 5 + 180;
	CU_ASSERT_FATAL(off < buf_len(t));
	((uint8_t *)buf_ptr(t))[off] = buf_ptr(t)[off] == 'A' ? 'B' : 'A';
	CU_ASSERT_FATAL(provision_write_atomic(path, buf_ptr(t), buf_len(t),
	    0600) == 0);
	save = *pp;
	CU_ASSERT_FATAL((fd = open(path, O_RDONLY)) != -1);
	CU_ASSERT(provision_hold_file(pp, fd, first + 19, first + 21) ==
	    OB_ERR_SIGNATURE);
	CU_ASSERT(pp->cert_sigs == save.cert_sigs &&
	    pp->sigs_first == 47 && pp->nsigs == 2);
	/* Those around it still come. */
	CU_ASSERT(provision_hold_file(pp, fd, first + 21, first + 22) == 0);
	close(fd);
	/* Cut short, then another period's text in its place. */
	CU_ASSERT_FATAL(provision_write_atomic(path, buf_ptr(t),
	    (size_t)pp->cert_off + 30 * (5 + 187 + 1) + 7, 0600) == 0);
	CU_ASSERT_FATAL((fd = open(path, O_RDONLY)) != -1);
	CU_ASSERT(provision_hold_file(pp, fd, first + 30, first + 31) ==
	    OB_ERR_FORMAT);
	close(fd);
	CU_ASSERT_FATAL(provision_write_atomic(path, buf_ptr(t),
	    buf_len(t), 0600) == 0);
	CU_ASSERT_FATAL((fd = open(path, O_RDONLY)) != -1);
	save = *pp;
	pp->cert_off = p->periods[0].cert_off;
	CU_ASSERT(provision_hold_file(pp, fd, first + 30, first + 31) != 0);
	pp->cert_off = save.cert_off;
	CU_ASSERT(pp->cert_sigs == save.cert_sigs);
	close(fd);
	(void)unlink(path);
	buf_free(t);
	provision_free(p);
	provision_free(full);
	provision_free(b);
}

static const struct test_case provision_tests[] = {
	{ "offline 08 certs from the file", test_hold_file },
	{ "online identity mode", test_online },
	{ "online 08 certs by the hour", test_hours },
	{ "window and key names", test_window },
	{ "identity formats", test_identity_formats },
	{ "identity files", test_identity_files },
	{ "request round trip", test_request_roundtrip },
	{ "certify", test_certify },
	{ "compact 08 certs", test_compact },
	{ "request refused", test_request_refused },
	{ "bundle refused", test_bundle_refused },
	{ "limits", test_limits },
	{ "store", test_store },
	{ NULL, NULL }
};

void
test_register_provision(void)
{
	test_add_suite("provision", provision_tests);
}
