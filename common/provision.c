/*
 * Provisioning files (request, bundle, store), identity key files, and
 * the certification of token keys; see provision.h for the contract and
 * doc/obhsm-keytool.8 for the file formats.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "crypto.h"
#include "encode.h"
#include "err.h"
#include "hs_cert.h"
#include "hs_keys.h"
#include "log.h"
#include "provision.h"

#define PROVISION_IDENTITY_FILE_MAX	4096

static const char *provision_kind_names[] = {
	NULL, "obhsm-request", "obhsm-bundle", "obhsm-store"
};

/*
 * DER of an RFC 8410 PKCS#8 Ed25519 private key up to the seed:
 * SEQUENCE { INTEGER 0, SEQUENCE { OID 1.3.101.112 }, OCTET STRING {
 * OCTET STRING (32) } }.  What OnionBalance (python cryptography) writes.
 */
static const uint8_t provision_pkcs8_v1[16] = {
	0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06,
	0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20
};
/* The same with version 1 and the public key ([1] BIT STRING) after. */
static const uint8_t provision_pkcs8_v2[16] = {
	0x30, 0x51, 0x02, 0x01, 0x01, 0x30, 0x05, 0x06,
	0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20
};
static const uint8_t provision_pkcs8_v2_pk[3] = { 0x81, 0x21, 0x00 };

static int
provision_params_check(uint64_t period_len, uint64_t rot_offset)
{
	if (period_len < PROVISION_PERIOD_LEN_MIN ||
	    period_len > PROVISION_PERIOD_LEN_MAX || rot_offset > period_len)
		return OB_ERR_RANGE;
	return 0;
}

int
provision_new(struct provision **out, enum provision_kind kind,
    const char *address, uint64_t period_len, uint64_t rot_offset)
{
	struct provision	*p;
	int			 r;

	*out = NULL;
	if (kind < PROVISION_REQUEST || kind > PROVISION_STORE)
		return OB_ERR_INTERNAL;
	if ((r = provision_params_check(period_len, rot_offset)) != 0)
		return r;
	if (strlen(address) != HS_ADDR_LEN)
		return OB_ERR_FORMAT;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return OB_ERR_NOMEM;
	if ((r = hs_address_decode(p->identity_pk, address)) != 0) {
		free(p);
		return r;
	}
	memcpy(p->address, address, HS_ADDR_LEN + 1);
	p->kind = kind;
	p->period_len = period_len;
	p->rot_offset = rot_offset;
	*out = p;
	return 0;
}

static void
provision_period_clear(struct provision_period *pp)
{
	free(pp->cert_sigs);
	ob_wipe(pp, sizeof(*pp));
}

/* Room for n signatures: the period's window of certs, which ncerts
 * reaches once filled. */
static void *
provision_sigs_alloc(size_t n)
{
	return calloc(n, ED25519_SIG_LEN);
}

static uint32_t
provision_expiry_get(const uint8_t *c)
{
	return (uint32_t)c[0] << 24 | (uint32_t)c[1] << 16 |
	    (uint32_t)c[2] << 8 | c[3];
}

static int
provision_held(const struct provision_period *pp, size_t i)
{
	return i >= pp->sigs_first && i - pp->sigs_first < pp->nsigs;
}

/* What every cert of a period shares: its tbs with the expiry zeroed. */
static void
provision_cert_shared(uint8_t tbs[HS_CERT_TBS_LEN],
    const uint8_t c[HS_CERT_LEN])
{
	memcpy(tbs, c, HS_CERT_TBS_LEN);
	memset(tbs + PROVISION_CERT_EXPIRY_OFF, 0, 4);
}

/*
 * Keep cert i, given whole, in the compact form (provision.h): called
 * in order from 0, into room from provision_sigs_alloc().  What it keeps
 * rebuilds to exactly these bytes, or it refuses: an expiry other than
 * the hour's + 55 (OB_ERR_RANGE), a byte that differs from cert 0's
 * outside expiry and signature (OB_ERR_MISMATCH).
 */
static int
provision_cert_put(struct provision_period *pp, size_t i,
    const uint8_t c[HS_CERT_LEN], int template)
{
	uint8_t	tbs[HS_CERT_TBS_LEN];

	if (provision_expiry_get(c + PROVISION_CERT_EXPIRY_OFF) !=
	    (uint64_t)pp->first_hour + i + PROVISION_CERT_EXPIRY_HOURS)
		return OB_ERR_RANGE;
	provision_cert_shared(tbs, c);
	if (template)
		memcpy(pp->cert_tbs, tbs, sizeof(tbs));
	else if (memcmp(pp->cert_tbs, tbs, sizeof(tbs)) != 0)
		return OB_ERR_MISMATCH;
	memcpy(pp->cert_sigs[i - pp->sigs_first], c + HS_CERT_TBS_LEN,
	    ED25519_SIG_LEN);
	return 0;
}

int
provision_cert_get(const struct provision_period *pp, size_t i,
    uint8_t c[HS_CERT_LEN])
{
	uint32_t	e;

	if (i >= pp->ncerts)
		return OB_ERR_RANGE;
	if (!provision_held(pp, i))
		return OB_ERR_MISSING;
	e = pp->first_hour + (uint32_t)i + PROVISION_CERT_EXPIRY_HOURS;
	memcpy(c, pp->cert_tbs, HS_CERT_TBS_LEN);
	c[PROVISION_CERT_EXPIRY_OFF] = (uint8_t)(e >> 24);
	c[PROVISION_CERT_EXPIRY_OFF + 1] = (uint8_t)(e >> 16);
	c[PROVISION_CERT_EXPIRY_OFF + 2] = (uint8_t)(e >> 8);
	c[PROVISION_CERT_EXPIRY_OFF + 3] = (uint8_t)e;
	memcpy(c + HS_CERT_TBS_LEN, pp->cert_sigs[i - pp->sigs_first],
	    ED25519_SIG_LEN);
	return 0;
}

void
provision_free(struct provision *p)
{
	size_t	i;

	if (p == NULL)
		return;
	for (i = 0; i < p->nperiods; i++)
		provision_period_clear(&p->periods[i]);
	free(p->periods);
	ob_wipe(p, sizeof(*p));
	free(p);
}

int
provision_period_add(struct provision *p, uint64_t tp,
    struct provision_period **out)
{
	struct provision_period	*np;

	if (p->nperiods >= PROVISION_MAX_PERIODS)
		return OB_ERR_LIMIT;
	if (p->nperiods > 0 && p->periods[p->nperiods - 1].tp >= tp)
		return OB_ERR_FORMAT;
	if ((np = reallocarray(p->periods, p->nperiods + 1,
	    sizeof(*np))) == NULL)
		return OB_ERR_NOMEM;
	p->periods = np;
	np = &p->periods[p->nperiods++];
	memset(np, 0, sizeof(*np));
	np->tp = tp;
	*out = np;
	return 0;
}

const struct provision_period *
provision_period_find(const struct provision *p, uint64_t tp)
{
	size_t	i;

	for (i = 0; i < p->nperiods; i++)
		if (p->periods[i].tp == tp)
			return &p->periods[i];
	return NULL;
}

int
provision_window(uint64_t tp, uint64_t period_len, uint64_t rot_offset,
    uint32_t *first_hour, uint32_t *last_hour, time_t *wsp, time_t *wep)
{
	uint64_t	start, ws, we;

	if (provision_params_check(period_len, rot_offset) != 0)
		return OB_ERR_RANGE;
	/* Keep every hour number inside a u32, with room for +55. */
	if (tp > (uint64_t)UINT32_MAX * 60 / period_len)
		return OB_ERR_RANGE;
	/* TP start = (tp * len + rot) minutes ([TIME-PERIODS]). */
	start = (tp * period_len + rot_offset) * 60;
	if (start < rot_offset * 60)
		return OB_ERR_RANGE;
	ws = start - rot_offset * 60;
	we = start + (period_len + rot_offset) * 60;
	if (we / 3600 + PROVISION_CERT_EXPIRY_HOURS > UINT32_MAX ||
	    we > (uint64_t)INT64_MAX)
		return OB_ERR_RANGE;
	if (first_hour != NULL)
		*first_hour = (uint32_t)(ws / 3600);
	if (last_hour != NULL)
		*last_hour = (uint32_t)(we / 3600);
	if (wsp != NULL)
		*wsp = (time_t)ws;
	if (wep != NULL)
		*wep = (time_t)we;
	return 0;
}

int
provision_live(uint64_t tp, uint64_t period_len, uint64_t rot_offset,
    time_t now)
{
	time_t	ws, we;
	int	r;

	if ((r = provision_window(tp, period_len, rot_offset, NULL, NULL, &ws,
	    &we)) != 0)
		return r;
	return now >= ws && now <= we;
}

int
provision_key_label(char label[PROVISION_LABEL_MAX + 1], const char *addr,
    uint64_t tp)
{
	int	n;

	n = snprintf(label, PROVISION_LABEL_MAX + 1,
	    PROVISION_LABEL_PREFIX "%s-%llu", addr,
	    (unsigned long long)tp);
	if (n < 0 || n > PROVISION_LABEL_MAX)
		return OB_ERR_TOO_LARGE;
	return 0;
}

void
provision_key_id(uint8_t id[PROVISION_KEY_ID_LEN],
    const uint8_t id_pk[ED25519_PK_LEN], uint64_t tp)
{
	memcpy(id, id_pk, ED25519_PK_LEN);
	be64_put(id + ED25519_PK_LEN, tp);
}

int
provision_key_id_parse(uint8_t id_pk[ED25519_PK_LEN], uint64_t *tp,
    const uint8_t *id, size_t len)
{
	struct buf	b;
	uint8_t		pk[ED25519_PK_LEN];
	uint64_t	v;
	int		r;

	buf_init_ro(&b, id, len);
	if ((r = buf_get_bytes(&b, pk, sizeof(pk))) != 0 ||
	    (r = buf_get_u64(&b, &v)) != 0 || (r = buf_end(&b)) != 0)
		return OB_ERR_FORMAT;
	memcpy(id_pk, pk, sizeof(pk));
	*tp = v;
	return 0;
}

/* Text parsing. */

struct provision_reader {
	const uint8_t	*base;	/* the text, for offsets */
	struct buf	in;
	size_t		line;
	struct buf	kw;	/* keyword of the current line */
	struct buf	rest;	/* what follows it */
};

/* Next line, split into keyword and the rest; every line ends in \n. */
static int
provision_next(struct provision_reader *rd)
{
	struct buf	l;
	int		had_nl, r;

	rd->line++;
	if ((r = buf_get_line(&rd->in, PROVISION_LINE_MAX, &l,
	    &had_nl)) != 0)
		return r;
	if (!had_nl)
		return OB_ERR_TRUNCATED;
	if ((r = buf_get_word(&l, &rd->kw)) != 0)
		return r;
	rd->rest = l;
	return 0;
}

/* The current line must be "<kw> <one word>". */
static int
provision_arg(struct provision_reader *rd, const char *kw, struct buf *arg)
{
	int	r;

	if (!buf_eq_str(&rd->kw, kw))
		return OB_ERR_MISSING;
	if ((r = buf_get_word(&rd->rest, arg)) != 0)
		return r;
	if (buf_len(&rd->rest) != 0)
		return OB_ERR_FORMAT;
	return 0;
}

static int
provision_expect_u64(struct provision_reader *rd, const char *kw,
    uint64_t *v)
{
	struct buf	a;
	int		r;

	if ((r = provision_next(rd)) != 0 ||
	    (r = provision_arg(rd, kw, &a)) != 0)
		return r;
	return buf_to_u64(&a, v);
}

/*
 * Only the base64 alphabet: libsodium 1.0.18, under b64_decode(), takes
 * bytes >= 0x80 as digits, which would give one value many spellings.
 * XXX until common/encode.c checks this itself.
 */
static int
provision_b64_charset(const struct buf *a, int pad)
{
	const uint8_t	*p;
	size_t		 i, n = buf_len(a);

	/* Nothing to decode is malformed here (and buf_ptr() of an empty
	 * new buffer is NULL plus an offset). */
	if (n == 0)
		return OB_ERR_FORMAT;
	p = buf_ptr(a);
	for (i = 0; i < n; i++) {
		if ((p[i] >= 'A' && p[i] <= 'Z') ||
		    (p[i] >= 'a' && p[i] <= 'z') ||
		    (p[i] >= '0' && p[i] <= '9') || p[i] == '+' ||
		    p[i] == '/' || (pad && p[i] == '='))
			continue;
		return OB_ERR_FORMAT;
	}
	return 0;
}

static int
provision_expect_b64(struct provision_reader *rd, const char *kw,
    uint8_t *out, size_t len)
{
	struct buf	a;
	size_t		n;
	int		r;

	if ((r = provision_next(rd)) != 0 ||
	    (r = provision_arg(rd, kw, &a)) != 0)
		return r;
	if (buf_len(&a) != b64_encoded_len(len, B64_NOPAD) ||
	    provision_b64_charset(&a, 0) != 0)
		return OB_ERR_FORMAT;
	if ((r = b64_decode(out, len, &n, &a, B64_NOPAD)) != 0)
		return r;
	return n == len ? 0 : OB_ERR_FORMAT;
}

/*
 * Structure of cert i of a period, without signature: it parses as a
 * tor cert of exactly 140 bytes, is type 08, certifies the period's
 * token key and expires at its hour + 55.
 */
static int
provision_cert_check(const struct provision_period *pp, size_t i,
    const uint8_t *enc)
{
	struct hs_cert	c;
	int		r;

	if ((r = hs_cert_parse(&c, enc, HS_CERT_LEN)) != 0)
		return r;
	if (c.type != HS_CERT_TYPE_DESC_SIGNING || !c.has_signing_key)
		return OB_ERR_FORMAT;
	if (c.expiry_hours != (uint64_t)pp->first_hour + i +
	    PROVISION_CERT_EXPIRY_HOURS)
		return OB_ERR_RANGE;
	if (memcmp(c.certified_key, pp->token_pk, ED25519_PK_LEN) != 0)
		return OB_ERR_MISMATCH;
	return 0;
}

static int
provision_parse_period(struct provision_reader *rd, struct provision *p,
    uint64_t tp)
{
	struct provision_period	*pp;
	uint8_t			 c[HS_CERT_LEN];
	uint32_t		 first, last;
	size_t			 i, n;
	int			 r;

	if ((r = provision_window(tp, p->period_len, p->rot_offset, &first,
	    &last, NULL, NULL)) != 0)
		return r;
	if ((r = provision_period_add(p, tp, &pp)) != 0)
		return r;
	if ((r = provision_expect_b64(rd, "token-key", pp->token_pk,
	    ED25519_PK_LEN)) != 0)
		return r;
	/* A key used for two periods would link them on the HSDirs. */
	for (i = 0; i + 1 < p->nperiods; i++)
		if (memcmp(p->periods[i].token_pk, pp->token_pk,
		    ED25519_PK_LEN) == 0)
			return OB_ERR_DUPLICATE;
	if (p->kind == PROVISION_REQUEST)
		return 0;
	if ((r = provision_expect_b64(rd, "ope-key", pp->ope_key,
	    HS_OPE_KEY_LEN)) != 0 ||
	    (r = provision_expect_b64(rd, "ope-sig", pp->ope_sig,
	    ED25519_SIG_LEN)) != 0)
		return r;
	n = (size_t)(last - first) + 1;
	if (n > PROVISION_MAX_CERTS_PER_PERIOD)
		return OB_ERR_LIMIT;
	if ((pp->cert_sigs = provision_sigs_alloc(n)) == NULL)
		return OB_ERR_NOMEM;
	pp->first_hour = first;
	pp->cert_off = (uint64_t)(buf_ptr(&rd->in) - rd->base);
	/* Checked as read: an error names the line of the cert at fault. */
	for (i = 0; i < n; i++) {
		if ((r = provision_expect_b64(rd, "cert", c,
		    HS_CERT_LEN)) != 0 ||
		    (r = provision_cert_check(pp, i, c)) != 0 ||
		    (r = provision_cert_put(pp, i, c, i == 0)) != 0)
			return r;
		pp->ncerts++;
		pp->nsigs++;
	}
	return 0;
}

int
provision_parse(struct provision **out, enum provision_kind want,
    const uint8_t *data, size_t len, size_t *linep)
{
	struct provision_reader	 rd;
	struct provision	*p = NULL;
	struct buf		 a;
	char			 addr[HS_ADDR_LEN + 1];
	uint64_t		 v, plen, rot, tp;
	int			 r;

	*out = NULL;
	memset(&rd, 0, sizeof(rd));
	if (want < PROVISION_REQUEST || want > PROVISION_STORE)
		return OB_ERR_INTERNAL;
	if (len > PROVISION_FILE_MAX) {
		r = OB_ERR_TOO_LARGE;
		goto err;
	}
	buf_init_ro(&rd.in, data, len);
	rd.base = data;
	if ((r = provision_next(&rd)) != 0)
		goto err;
	if (!buf_eq_str(&rd.kw, provision_kind_names[want])) {
		r = OB_ERR_FORMAT;
		goto err;
	}
	if ((r = buf_get_word(&rd.rest, &a)) != 0 ||
	    (r = buf_to_u64(&a, &v)) != 0)
		goto err;
	if (v != PROVISION_VERSION || buf_len(&rd.rest) != 0) {
		r = OB_ERR_VERSION;
		goto err;
	}
	if ((r = provision_next(&rd)) != 0 ||
	    (r = provision_arg(&rd, "service", &a)) != 0)
		goto err;
	if (buf_len(&a) != HS_ADDR_LEN) {
		r = OB_ERR_FORMAT;
		goto err;
	}
	memcpy(addr, buf_ptr(&a), HS_ADDR_LEN);
	addr[HS_ADDR_LEN] = '\0';
	if ((r = provision_expect_u64(&rd, "period-length", &plen)) != 0 ||
	    (r = provision_expect_u64(&rd, "rotation-offset", &rot)) != 0)
		goto err;
	if ((r = provision_new(&p, want, addr, plen, rot)) != 0)
		goto err;
	for (;;) {
		if ((r = provision_next(&rd)) != 0)
			goto err;
		if (buf_eq_str(&rd.kw, "end")) {
			if (buf_len(&rd.rest) != 0) {
				r = OB_ERR_FORMAT;
				goto err;
			}
			break;
		}
		if ((r = provision_arg(&rd, "period", &a)) != 0 ||
		    (r = buf_to_u64(&a, &tp)) != 0 ||
		    (r = provision_parse_period(&rd, p, tp)) != 0)
			goto err;
	}
	if (buf_len(&rd.in) != 0) {
		rd.line++;
		r = OB_ERR_LEFTOVER;
		goto err;
	}
	if (p->nperiods == 0 && want != PROVISION_STORE) {
		r = OB_ERR_MISSING;
		goto err;
	}
	*out = p;
	return 0;
 err:
	if (linep != NULL)
		*linep = rd.line;
	provision_free(p);
	return r;
}

static int
provision_put_b64(struct buf *b, const char *kw, const void *p, size_t n)
{
	int	r;

	if ((r = buf_putf(b, "%s ", kw)) != 0 ||
	    (r = b64_encode_buf(b, p, n, B64_NOPAD, 0)) != 0 ||
	    (r = buf_put_u8(b, '\n')) != 0)
		return r;
	return 0;
}

int
provision_encode(struct buf *b, const struct provision *p)
{
	const struct provision_period	*pp;
	uint8_t				 c[HS_CERT_LEN];
	size_t				 i, j;
	int				 r;

	if (p->kind < PROVISION_REQUEST || p->kind > PROVISION_STORE)
		return OB_ERR_INTERNAL;
	if ((r = buf_putf(b, "%s %d\nservice %s\nperiod-length %llu\n"
	    "rotation-offset %llu\n", provision_kind_names[p->kind],
	    PROVISION_VERSION, p->address,
	    (unsigned long long)p->period_len,
	    (unsigned long long)p->rot_offset)) != 0)
		return r;
	for (i = 0; i < p->nperiods; i++) {
		pp = &p->periods[i];
		if ((r = buf_putf(b, "period %llu\n",
		    (unsigned long long)pp->tp)) != 0 ||
		    (r = provision_put_b64(b, "token-key", pp->token_pk,
		    ED25519_PK_LEN)) != 0)
			return r;
		if (p->kind == PROVISION_REQUEST)
			continue;
		/* What we write must parse: a window's worth of certs. */
		if (pp->ncerts == 0)
			return OB_ERR_MISSING;
		if ((r = provision_put_b64(b, "ope-key", pp->ope_key,
		    HS_OPE_KEY_LEN)) != 0 ||
		    (r = provision_put_b64(b, "ope-sig", pp->ope_sig,
		    ED25519_SIG_LEN)) != 0)
			return r;
		for (j = 0; j < pp->ncerts; j++)
			if ((r = provision_cert_get(pp, j, c)) != 0 ||
			    (r = provision_put_b64(b, "cert", c,
			    HS_CERT_LEN)) != 0)
				return r;
	}
	return buf_put_str(b, "end\n");
}

/* Files. */

static int
provision_read_file(uint8_t **out, size_t *lenp, const char *path,
    size_t max, int private)
{
	struct stat	 st;
	uint8_t		*d = NULL;
	size_t		 off = 0;
	ssize_t		 n;
	int		 fd, r = OB_ERR_INTERNAL;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		log_warn("%s: open %s", __func__, path);
		return errno == ENOENT ? OB_ERR_MISSING : OB_ERR_INTERNAL;
	}
	if (fstat(fd, &st) == -1) {
		log_warn("%s: fstat %s", __func__, path);
		goto err;
	}
	if (!S_ISREG(st.st_mode)) {
		log_warnx("%s: %s is not a regular file", __func__, path);
		r = OB_ERR_FORMAT;
		goto err;
	}
	if (private && (st.st_mode & 077) != 0) {
		log_warnx("%s: %s is accessible to group or others (mode "
		    "%03o); chmod 600 it", __func__, path,
		    (unsigned)(st.st_mode & 0777));
		r = OB_ERR_NOT_AUTHORIZED;
		goto err;
	}
	if (st.st_size < 0 || (uint64_t)st.st_size > max) {
		log_warnx("%s: %s is larger than %zu bytes", __func__, path,
		    max);
		r = OB_ERR_TOO_LARGE;
		goto err;
	}
	if ((d = malloc((size_t)st.st_size + 1)) == NULL) {
		r = OB_ERR_NOMEM;
		goto err;
	}
	/* Read one byte more than fstat said, to notice a growing file. */
	while (off < (size_t)st.st_size + 1) {
		n = read(fd, d + off, (size_t)st.st_size + 1 - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			log_warn("%s: read %s", __func__, path);
			goto err;
		}
		if (n == 0)
			break;
		off += (size_t)n;
	}
	if (off != (size_t)st.st_size) {
		log_warnx("%s: %s changed while being read", __func__, path);
		goto err;
	}
	close(fd);
	*out = d;
	*lenp = off;
	return 0;
 err:
	if (d != NULL) {
		ob_wipe(d, (size_t)st.st_size + 1);
		free(d);
	}
	close(fd);
	return r;
}

/* Does line n (from 1) of the text start with "cert "? */
static int
provision_line_is_cert(const uint8_t *d, size_t len, size_t n)
{
	const uint8_t	*nl;

	while (n > 1 && (nl = memchr(d, '\n', len)) != NULL) {
		len -= (size_t)(nl + 1 - d);
		d = nl + 1;
		n--;
	}
	return n == 1 && len >= 5 && memcmp(d, "cert ", 5) == 0;
}

int
provision_load_file(struct provision **out, enum provision_kind kind,
    const char *path)
{
	uint8_t	*d;
	size_t	 len, line = 0;
	int	 r;

	*out = NULL;
	if ((r = provision_read_file(&d, &len, path, PROVISION_FILE_MAX,
	    0)) != 0)
		return r;
	if ((r = provision_parse(out, kind, d, len, &line)) != 0)
		log_warnx("%s: %s: line %zu: %s%s", __func__, path, line,
		    ob_strerror(r), r == OB_ERR_MISMATCH &&
		    provision_line_is_cert(d, len, line) ? " (the cert "
		    "certifies another token key, or differs from the "
		    "period's first cert in more than expiry and signature)" :
		    "");
	free(d);
	return r;
}

static int
provision_write_all(int fd, const void *p, size_t n)
{
	const uint8_t	*c = p;
	ssize_t		 w;

	while (n > 0) {
		w = write(fd, c, n);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Make a rename or a new file in dir durable. */
static int
provision_fsync_dir(const char *dir)
{
	int	fd, r = -1;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		if (fsync(fd) == 0)
			r = 0;
		close(fd);
	}
	return r;
}

static int
provision_fsync_parent(const char *path)
{
	char	*dir, *slash;
	int	 r;

	if ((dir = strdup(path)) == NULL)
		return -1;
	if ((slash = strrchr(dir, '/')) == NULL)
		strcpy(dir, ".");
	else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	r = provision_fsync_dir(dir);
	free(dir);
	return r;
}

int
provision_write_atomic(const char *path, const void *data, size_t len,
    int mode)
{
	char	tmp[PATH_MAX];
	int	fd = -1, n;

	n = snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", path);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		log_warnx("%s: path too long: %s", __func__, path);
		return OB_ERR_TOO_LARGE;
	}
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		log_warn("%s: mkstemp %s", __func__, tmp);
		return OB_ERR_INTERNAL;
	}
	if (fchmod(fd, (mode_t)mode) == -1 ||
	    provision_write_all(fd, data, len) == -1 || fsync(fd) == -1) {
		log_warn("%s: write %s", __func__, tmp);
		goto err;
	}
	if (close(fd) == -1) {
		fd = -1;
		log_warn("%s: close %s", __func__, tmp);
		goto err;
	}
	fd = -1;
	if (rename(tmp, path) == -1) {
		log_warn("%s: rename %s to %s", __func__, tmp, path);
		goto err;
	}
	if (provision_fsync_parent(path) == -1)
		log_warn("%s: fsync of the directory of %s", __func__, path);
	return 0;
 err:
	if (fd != -1)
		close(fd);
	(void)unlink(tmp);
	return OB_ERR_INTERNAL;
}

int
provision_save_file(const char *path, const struct provision *p, int mode)
{
	struct buf	*b;
	int		 r;

	if ((b = buf_new(PROVISION_FILE_MAX)) == NULL)
		return OB_ERR_NOMEM;
	if ((r = provision_encode(b, p)) == 0)
		r = provision_write_atomic(path, buf_ptr(b), buf_len(b), mode);
	buf_free(b);
	return r;
}

/* Certification. */

static int
provision_ope_msg(uint8_t msg[sizeof(PROVISION_OPE_SIG_PREFIX) + 16 +
    HS_OPE_KEY_LEN], uint64_t tp, uint64_t period_len,
    const uint8_t ope_key[HS_OPE_KEY_LEN])
{
	size_t	o = sizeof(PROVISION_OPE_SIG_PREFIX);

	/* The prefix with its NUL, as tor's own key-derivation strings. */
	memcpy(msg, PROVISION_OPE_SIG_PREFIX, o);
	be64_put(msg + o, tp);
	be64_put(msg + o + 8, period_len);
	memcpy(msg + o + 16, ope_key, HS_OPE_KEY_LEN);
	return 0;
}
#define PROVISION_OPE_MSG_LEN \
	(sizeof(PROVISION_OPE_SIG_PREFIX) + 16 + HS_OPE_KEY_LEN)

/*
 * Clip hours [*lo, *hi] to a period's [first, last]: a range outside it
 * becomes its nearest hour.  OB_ERR_RANGE for an empty range.
 */
static int
provision_hours_clip(uint32_t first, uint32_t last, uint32_t *lo,
    uint32_t *hi)
{
	if (*lo > *hi)
		return OB_ERR_RANGE;
	if (*lo < first)
		*lo = first;
	if (*lo > last)
		*lo = last;
	if (*hi > last)
		*hi = last;
	if (*hi < *lo)
		*hi = *lo;
	return 0;
}

/*
 * Certify period pp for its token key, holding the signatures of certs
 * [from, from + count) only (count clipped to the period; SIZE_MAX: all).
 * Signatures pp already holds for the same certs are kept, not made
 * again; the rest are made and checked (hs_cert_build).  Ed25519 is
 * deterministic, so a cert made again is byte for byte the one made
 * before, and the compact form's template must not change.
 */
static int
provision_certify_range(struct provision_period *pp,
    const uint8_t id_sk[ED25519_EXPANDED_LEN],
    const uint8_t id_pk[ED25519_PK_LEN], uint64_t period_len,
    uint64_t rot_offset, size_t from, size_t count)
{
	struct hs_signer	 s;
	uint8_t			 bsk[ED25519_EXPANDED_LEN];
	uint8_t			 bpk[ED25519_PK_LEN];
	uint8_t			 chk[ED25519_PK_LEN];
	uint8_t			 msg[PROVISION_OPE_MSG_LEN];
	uint8_t			 c[HS_CERT_LEN];
	struct provision_period	 np;
	uint32_t		 first, last;
	size_t			 i, n;
	int			 r, have;

	if ((r = provision_window(pp->tp, period_len, rot_offset, &first,
	    &last, NULL, NULL)) != 0)
		return r;
	n = (size_t)(last - first) + 1;
	if (n > PROVISION_MAX_CERTS_PER_PERIOD)
		return OB_ERR_LIMIT;
	if (from >= n || count == 0)
		return OB_ERR_RANGE;
	if (count > n - from)
		count = n - from;
	/* What pp holds is reused only if it is this key's period. */
	have = pp->ncerts == n && pp->first_hour == first && pp->nsigs > 0;
	/* Built aside: pp keeps what it had until all is done. */
	memset(&np, 0, sizeof(np));
	np.first_hour = first;
	np.ncerts = n;
	np.sigs_first = from;
	np.nsigs = count;
	if (have)
		memcpy(np.cert_tbs, pp->cert_tbs, sizeof(np.cert_tbs));
	if ((np.cert_sigs = provision_sigs_alloc(count)) == NULL)
		return OB_ERR_NOMEM;
	if ((r = hs_blind_seckey(bsk, id_sk, id_pk, pp->tp,
	    period_len)) != 0 ||
	    (r = hs_blind_pubkey(bpk, id_pk, pp->tp, period_len)) != 0 ||
	    (r = hs_expanded_pubkey(chk, bsk)) != 0)
		goto err;
	/* The secret and the public blinding must agree (wrong id_pk). */
	if (memcmp(chk, bpk, ED25519_PK_LEN) != 0) {
		r = OB_ERR_MISMATCH;
		goto err;
	}
	hs_signer_expanded(&s, bsk, bpk);
	for (i = from; i < from + count; i++) {
		if (have && provision_cert_get(pp, i, c) == 0) {
			memcpy(np.cert_sigs[i - from], c + HS_CERT_TBS_LEN,
			    ED25519_SIG_LEN);
			continue;
		}
		if ((r = hs_cert_build(c, HS_CERT_TYPE_DESC_SIGNING,
		    first + (uint32_t)i + PROVISION_CERT_EXPIRY_HOURS,
		    pp->token_pk, &s)) != 0)
			goto err;
		/* Ours always share the rest; anything else is a bug. */
		if (provision_cert_put(&np, i, c, !have && i == from) != 0) {
			r = OB_ERR_INTERNAL;
			goto err;
		}
	}
	if ((r = hs_ope_key(np.ope_key, bsk)) != 0 ||
	    (r = provision_ope_msg(msg, pp->tp, period_len,
	    np.ope_key)) != 0 ||
	    (r = hs_expanded_sign(np.ope_sig, msg, sizeof(msg), bsk,
	    bpk)) != 0)
		goto err;
	ob_wipe(bsk, sizeof(bsk));
	ob_wipe(&s, sizeof(s));
	memcpy(pp->ope_key, np.ope_key, sizeof(pp->ope_key));
	memcpy(pp->ope_sig, np.ope_sig, sizeof(pp->ope_sig));
	ob_wipe(np.ope_key, sizeof(np.ope_key));
	free(pp->cert_sigs);
	pp->cert_sigs = np.cert_sigs;
	memcpy(pp->cert_tbs, np.cert_tbs, sizeof(pp->cert_tbs));
	pp->ncerts = n;
	pp->first_hour = first;
	pp->sigs_first = from;
	pp->nsigs = count;
	return 0;
 err:
	/* pp is left as it was: a period in use keeps working. */
	ob_wipe(bsk, sizeof(bsk));
	ob_wipe(&s, sizeof(s));
	ob_wipe(np.ope_key, sizeof(np.ope_key));
	free(np.cert_sigs);
	return r;
}

int
provision_certify_period(struct provision_period *pp,
    const uint8_t id_sk[ED25519_EXPANDED_LEN],
    const uint8_t id_pk[ED25519_PK_LEN], uint64_t period_len,
    uint64_t rot_offset)
{
	return provision_certify_range(pp, id_sk, id_pk, period_len,
	    rot_offset, 0, SIZE_MAX);
}

int
provision_certify_hours(struct provision_period *pp,
    const uint8_t id_sk[ED25519_EXPANDED_LEN],
    const uint8_t id_pk[ED25519_PK_LEN], uint64_t period_len,
    uint64_t rot_offset, uint32_t first_hour, uint32_t last_hour)
{
	uint32_t	first, last;
	int		r;

	if ((r = provision_window(pp->tp, period_len, rot_offset, &first,
	    &last, NULL, NULL)) != 0)
		return r;
	if ((r = provision_hours_clip(first, last, &first_hour,
	    &last_hour)) != 0)
		return r;
	if (pp->ncerts > 0 && pp->first_hour == first &&
	    pp->sigs_first == first_hour - first &&
	    pp->nsigs == (size_t)(last_hour - first_hour) + 1)
		return 0;	/* held already */
	return provision_certify_range(pp, id_sk, id_pk, period_len,
	    rot_offset, first_hour - first,
	    (size_t)(last_hour - first_hour) + 1);
}

/* The lines of certs are all alike: "cert " base64 "\n". */
#define PROVISION_CERT_LINE_LEN \
	(sizeof("cert ") - 1 + (HS_CERT_LEN * 4 + 2) / 3 + 1)

/* provision_hours_clip() to the hours pp has certs for. */
static int
provision_clip_to_certs(const struct provision_period *pp, uint32_t *lo,
    uint32_t *hi)
{
	if (pp->ncerts == 0)
		return OB_ERR_MISSING;
	return provision_hours_clip(pp->first_hour,
	    pp->first_hour + (uint32_t)(pp->ncerts - 1), lo, hi);
}

int
provision_hold_needs_read(const struct provision_period *pp,
    uint32_t first_hour, uint32_t last_hour)
{
	size_t	i;

	if (provision_clip_to_certs(pp, &first_hour, &last_hour) != 0)
		return 0;
	for (i = first_hour - pp->first_hour;
	    i <= last_hour - pp->first_hour; i++)
		if (!provision_held(pp, i))
			return 1;
	return 0;
}

/*
 * Cert i of pp from its line in the text the period was parsed from,
 * checked as the parser and provision_verify_period() check it: the
 * file is read long after it was verified, and may have been replaced.
 * The template was verified then: its signing key is the blinded key.
 */
static int
provision_cert_read(const struct provision_period *pp, int fd, size_t i,
    const uint8_t bpk[ED25519_PK_LEN], uint8_t c[HS_CERT_LEN])
{
	uint8_t		line[PROVISION_CERT_LINE_LEN];
	uint8_t		tbs[HS_CERT_TBS_LEN];
	struct buf	a;
	size_t		n;
	ssize_t		got;
	int		r;

	if (pp->cert_off == 0 || fd == -1)
		return OB_ERR_MISSING;
	got = pread(fd, line, sizeof(line), (off_t)(pp->cert_off +
	    (uint64_t)i * sizeof(line)));
	if (got == -1)
		return OB_ERR_INTERNAL;	/* errno says why */
	if ((size_t)got != sizeof(line) || memcmp(line, "cert ", 5) != 0 ||
	    line[sizeof(line) - 1] != '\n')
		return OB_ERR_FORMAT;
	buf_init_ro(&a, line + 5, sizeof(line) - 6);
	if (provision_b64_charset(&a, 0) != 0 ||
	    (r = b64_decode(c, HS_CERT_LEN, &n, &a, B64_NOPAD)) != 0 ||
	    n != HS_CERT_LEN)
		return OB_ERR_FORMAT;
	if ((r = provision_cert_check(pp, i, c)) != 0)
		return r;
	provision_cert_shared(tbs, c);
	if (memcmp(tbs, pp->cert_tbs, sizeof(tbs)) != 0)
		return OB_ERR_MISMATCH;
	if (ob_ed25519_verify(c + HS_CERT_TBS_LEN, c, HS_CERT_TBS_LEN,
	    bpk) != 0)
		return OB_ERR_SIGNATURE;
	return 0;
}

int
provision_hold_file(struct provision_period *pp, int fd,
    uint32_t first_hour, uint32_t last_hour)
{
	struct hs_cert		 hc;
	uint8_t			 c[HS_CERT_LEN];
	uint8_t			 (*sigs)[ED25519_SIG_LEN];
	size_t			 i, from, count;
	int			 r;

	if ((r = provision_clip_to_certs(pp, &first_hour, &last_hour)) != 0)
		return r;
	from = first_hour - pp->first_hour;
	count = (size_t)(last_hour - first_hour) + 1;
	if (pp->sigs_first == from && pp->nsigs == count)
		return 0;	/* held already */
	/* The blinded key, from the template verified at load. */
	memset(c, 0, sizeof(c));
	memcpy(c, pp->cert_tbs, HS_CERT_TBS_LEN);
	if ((r = hs_cert_parse(&hc, c, HS_CERT_LEN)) != 0 ||
	    !hc.has_signing_key)
		return OB_ERR_INTERNAL;
	if ((sigs = provision_sigs_alloc(count)) == NULL)
		return OB_ERR_NOMEM;
	for (i = from; i < from + count; i++) {
		if ((r = provision_held(pp, i) ? provision_cert_get(pp, i, c) :
		    provision_cert_read(pp, fd, i, hc.signing_key, c)) != 0) {
			free(sigs);
			return r;
		}
		memcpy(sigs[i - from], c + HS_CERT_TBS_LEN, ED25519_SIG_LEN);
	}
	free(pp->cert_sigs);
	pp->cert_sigs = sigs;
	pp->sigs_first = from;
	pp->nsigs = count;
	return 0;
}

int
provision_request_check(const struct provision *req,
    const uint8_t id_pk[ED25519_PK_LEN], time_t now)
{
	time_t	we;
	size_t	i;
	int	r;

	if (memcmp(req->identity_pk, id_pk, ED25519_PK_LEN) != 0) {
		log_warnx("%s: the request is for %s.onion, which is not "
		    "this identity key's address", __func__, req->address);
		return OB_ERR_MISMATCH;
	}
	for (i = 0; i < req->nperiods; i++) {
		if ((r = provision_window(req->periods[i].tp, req->period_len,
		    req->rot_offset, NULL, NULL, NULL, &we)) != 0) {
			log_warnx("%s: period %llu is out of range", __func__,
			    (unsigned long long)req->periods[i].tp);
			return r;
		}
		if (we < now) {
			log_warnx("%s: period %llu is already over", __func__,
			    (unsigned long long)req->periods[i].tp);
			return OB_ERR_RANGE;
		}
	}
	return 0;
}

int
provision_certify(struct provision **out, const struct provision *req,
    const uint8_t id_sk[ED25519_EXPANDED_LEN], time_t now)
{
	struct provision	*b = NULL;
	struct provision_period	*pp;
	uint8_t			 pk[ED25519_PK_LEN];
	size_t			 i;
	int			 r;

	*out = NULL;
	if ((r = hs_expanded_pubkey(pk, id_sk)) != 0 ||
	    (r = provision_request_check(req, pk, now)) != 0)
		return r;
	if ((r = provision_new(&b, PROVISION_BUNDLE, req->address,
	    req->period_len, req->rot_offset)) != 0)
		return r;
	for (i = 0; i < req->nperiods; i++) {
		if ((r = provision_period_add(b, req->periods[i].tp,
		    &pp)) != 0)
			goto err;
		memcpy(pp->token_pk, req->periods[i].token_pk,
		    ED25519_PK_LEN);
		if ((r = provision_certify_period(pp, id_sk, pk,
		    b->period_len, b->rot_offset)) != 0)
			goto err;
	}
	*out = b;
	return 0;
 err:
	provision_free(b);
	return r;
}

int
provision_store_certify(struct provision **storep,
    const uint8_t id_sk[ED25519_EXPANDED_LEN], uint64_t period_len,
    uint64_t rot_offset, uint64_t tp, const uint8_t token_pk[ED25519_PK_LEN])
{
	struct provision	*b = NULL;
	struct provision_period	*pp;
	uint8_t			 pk[ED25519_PK_LEN];
	char			 addr[HS_ADDR_LEN + 1];
	int			 r;

	if ((r = hs_expanded_pubkey(pk, id_sk)) != 0 ||
	    (r = hs_address_encode(addr, pk)) != 0)
		return r;
	if (*storep != NULL) {
		period_len = (*storep)->period_len;
		rot_offset = (*storep)->rot_offset;
	}
	if ((r = provision_new(&b, PROVISION_BUNDLE, addr, period_len,
	    rot_offset)) != 0)
		return r;
	if ((r = provision_period_add(b, tp, &pp)) != 0)
		goto out;
	memcpy(pp->token_pk, token_pk, ED25519_PK_LEN);
	if ((r = provision_certify_period(pp, id_sk, pk, period_len,
	    rot_offset)) != 0 ||
	    (r = provision_verify_period(b, pp, token_pk, NULL)) != 0)
		goto out;
	r = provision_store_merge(storep, b);
 out:
	provision_free(b);
	return r;
}

int
provision_verify(const struct provision *p, size_t *bad)
{
	size_t	i;
	int	r;

	for (i = 0; i < p->nperiods; i++)
		if ((r = provision_verify_period(p, &p->periods[i],
		    p->periods[i].token_pk, NULL)) != 0) {
			if (bad != NULL)
				*bad = i;
			return r;
		}
	return 0;
}

int
provision_verify_period(const struct provision *p,
    const struct provision_period *pp, const uint8_t token_pk[ED25519_PK_LEN],
    size_t *bad)
{
	struct hs_cert	c;
	uint8_t		enc[HS_CERT_LEN];
	uint8_t		bpk[ED25519_PK_LEN];
	uint8_t		msg[PROVISION_OPE_MSG_LEN];
	uint32_t	first, last;
	size_t		i = 0;
	int		r;

	if (bad != NULL)
		*bad = 0;
	if ((r = provision_window(pp->tp, p->period_len, p->rot_offset,
	    &first, &last, NULL, NULL)) != 0)
		return r;
	if (pp->first_hour != first ||
	    pp->ncerts != (size_t)(last - first) + 1)
		return OB_ERR_RANGE;
	if (memcmp(pp->token_pk, token_pk, ED25519_PK_LEN) != 0)
		return OB_ERR_MISMATCH;
	/* The blinded key from the public address: only the identity key's
	 * holder can have signed under it. */
	if ((r = hs_blind_pubkey(bpk, p->identity_pk, pp->tp,
	    p->period_len)) != 0)
		return r;
	for (i = 0; i < pp->ncerts; i++) {
		/* The bytes a user of the period gets, checked whole. */
		if ((r = provision_cert_get(pp, i, enc)) != 0 ||
		    (r = hs_cert_parse(&c, enc, HS_CERT_LEN)) != 0)
			goto err;
		if (c.expiry_hours !=
		    first + i + PROVISION_CERT_EXPIRY_HOURS) {
			r = OB_ERR_RANGE;
			goto err;
		}
		if (memcmp(c.certified_key, token_pk, ED25519_PK_LEN) != 0) {
			r = OB_ERR_MISMATCH;
			goto err;
		}
		/* Expiry is judged by the signer at use, not here. */
		if ((r = hs_cert_verify(&c, HS_CERT_TYPE_DESC_SIGNING, bpk,
		    0)) != 0)
			goto err;
	}
	if ((r = provision_ope_msg(msg, pp->tp, p->period_len,
	    pp->ope_key)) != 0)
		return r;
	i = pp->ncerts;
	if ((r = ob_ed25519_verify(pp->ope_sig, msg, sizeof(msg), bpk)) != 0)
		goto err;
	return 0;
 err:
	if (bad != NULL)
		*bad = i;
	return r;
}

/* The store. */

int
provision_store_path(char *path, size_t len, const char *statedir,
    const char *address)
{
	int	n;

	if (strlen(address) != HS_ADDR_LEN || strchr(address, '/') != NULL)
		return OB_ERR_FORMAT;
	n = snprintf(path, len, "%s/%s.store", statedir, address);
	if (n < 0 || (size_t)n >= len)
		return OB_ERR_TOO_LARGE;
	return 0;
}

int
provision_store_load(struct provision **out, const char *statedir,
    const char *address)
{
	char	path[PATH_MAX];
	int	r;

	*out = NULL;
	if ((r = provision_store_path(path, sizeof(path), statedir,
	    address)) != 0)
		return r;
	if (access(path, F_OK) == -1 && errno == ENOENT)
		return OB_ERR_MISSING;
	if ((r = provision_load_file(out, PROVISION_STORE, path)) != 0)
		return r;
	if (strcmp((*out)->address, address) != 0) {
		log_warnx("%s: %s holds another service", __func__, path);
		provision_free(*out);
		*out = NULL;
		return OB_ERR_MISMATCH;
	}
	return 0;
}

int
provision_store_save(const char *statedir, const struct provision *p)
{
	char	path[PATH_MAX];
	int	r;

	if (p->kind != PROVISION_STORE)
		return OB_ERR_INTERNAL;
	if ((r = provision_store_path(path, sizeof(path), statedir,
	    p->address)) != 0)
		return r;
	return provision_save_file(path, p, 0600);
}

static int
provision_period_copy(struct provision_period *dst,
    const struct provision_period *src)
{
	*dst = *src;
	dst->cert_sigs = NULL;
	dst->cert_off = 0;	/* the offset was in src's text */
	if (src->nsigs == 0)
		return 0;
	if ((dst->cert_sigs = provision_sigs_alloc(src->nsigs)) == NULL)
		return OB_ERR_NOMEM;
	memcpy(dst->cert_sigs, src->cert_sigs,
	    src->nsigs * ED25519_SIG_LEN);
	return 0;
}

int
provision_store_merge(struct provision **storep, const struct provision *b)
{
	struct provision	*old = *storep, *n = NULL;
	const struct provision_period *src;
	struct provision_period	*pp;
	size_t			 i = 0, j = 0;
	int			 r;

	if (b->kind == PROVISION_REQUEST)
		return OB_ERR_INTERNAL;
	if (old != NULL && (strcmp(old->address, b->address) != 0 ||
	    old->period_len != b->period_len ||
	    old->rot_offset != b->rot_offset))
		return OB_ERR_MISMATCH;
	if ((r = provision_new(&n, PROVISION_STORE, b->address,
	    b->period_len, b->rot_offset)) != 0)
		return r;
	/* Merge two sorted lists; the bundle wins on equal periods. */
	while ((old != NULL && i < old->nperiods) || j < b->nperiods) {
		if (j < b->nperiods && (old == NULL || i >= old->nperiods ||
		    b->periods[j].tp <= old->periods[i].tp)) {
			if (old != NULL && i < old->nperiods &&
			    old->periods[i].tp == b->periods[j].tp)
				i++;
			src = &b->periods[j++];
		} else
			src = &old->periods[i++];
		if ((r = provision_period_add(n, src->tp, &pp)) != 0 ||
		    (r = provision_period_copy(pp, src)) != 0)
			goto err;
	}
	/* Two periods sharing one token key would link them. */
	for (i = 0; i < n->nperiods; i++)
		for (j = i + 1; j < n->nperiods; j++)
			if (memcmp(n->periods[i].token_pk,
			    n->periods[j].token_pk, ED25519_PK_LEN) == 0) {
				r = OB_ERR_DUPLICATE;
				goto err;
			}
	provision_free(old);
	*storep = n;
	return 0;
 err:
	provision_free(n);
	return r;
}

int
provision_store_purge(struct provision *p, time_t now, size_t *npurged)
{
	time_t	we;
	size_t	i, k = 0;
	int	r;

	*npurged = 0;
	for (i = 0; i < p->nperiods; i++) {
		if ((r = provision_window(p->periods[i].tp, p->period_len,
		    p->rot_offset, NULL, NULL, NULL, &we)) != 0)
			return r;
		if (we < now) {
			provision_period_clear(&p->periods[i]);
			(*npurged)++;
			continue;
		}
		if (k != i) {
			p->periods[k] = p->periods[i];
			memset(&p->periods[i], 0, sizeof(p->periods[i]));
		}
		k++;
	}
	p->nperiods = k;
	return 0;
}

static int
provision_cert_hour(const struct provision_period *pp, time_t now,
    uint64_t *h)
{
	if (now < 0 || pp->ncerts == 0)
		return OB_ERR_RANGE;
	*h = (uint64_t)now / 3600;
	if (*h < pp->first_hour || *h - pp->first_hour >= pp->ncerts)
		return OB_ERR_RANGE;
	return 0;
}

int
provision_cert_at(uint8_t c[HS_CERT_LEN],
    const struct provision_period *pp, time_t now)
{
	uint64_t	h;
	int		r;

	if ((r = provision_cert_hour(pp, now, &h)) != 0)
		return r;
	return provision_cert_get(pp, (size_t)(h - pp->first_hour), c);
}

time_t
provision_horizon(const struct provision *p)
{
	time_t	we;

	if (p->nperiods == 0 ||
	    provision_window(p->periods[p->nperiods - 1].tp, p->period_len,
	    p->rot_offset, NULL, NULL, NULL, &we) != 0)
		return 0;
	return we;
}

/* Identity keys. */

static int
provision_identity_tor(uint8_t sk[ED25519_EXPANDED_LEN],
    const uint8_t *data, size_t len)
{
	struct buf	b;
	uint8_t		hdr[PROVISION_TOR_HDR_LEN];
	uint8_t		want[PROVISION_TOR_HDR_LEN];
	int		r;

	memset(want, 0, sizeof(want));
	memcpy(want, PROVISION_TOR_SECRET_TAG,
	    strlen(PROVISION_TOR_SECRET_TAG));
	buf_init_ro(&b, data, len);
	if ((r = buf_get_bytes(&b, hdr, sizeof(hdr))) != 0)
		return r;
	if (memcmp(hdr, want, sizeof(hdr)) != 0)
		return OB_ERR_FORMAT;
	if ((r = buf_get_bytes(&b, sk, ED25519_EXPANDED_LEN)) != 0 ||
	    (r = buf_end(&b)) != 0)
		return r;
	/* Tor's identity keys come from a seed, so a is clamped. */
	if ((sk[0] & 7) != 0 || (sk[31] & 0xc0) != 0x40)
		return OB_ERR_KEY;
	return 0;
}

static int
provision_identity_pem(uint8_t sk[ED25519_EXPANDED_LEN],
    uint8_t pk[ED25519_PK_LEN], const uint8_t *data, size_t len)
{
	struct buf	 in, line, *der = NULL, *b64 = NULL;
	uint8_t		 pfx[16], seed[ED25519_SEED_LEN], tail[3];
	uint8_t		 dpk[ED25519_PK_LEN];
	int		 r, had_nl, inside = 0, done = 0;

	buf_init_ro(&in, data, len);
	if ((b64 = buf_new(PROVISION_IDENTITY_FILE_MAX)) == NULL)
		return OB_ERR_NOMEM;
	while (!done && buf_len(&in) > 0) {
		if ((r = buf_get_line(&in, 80, &line, &had_nl)) != 0)
			goto err;
		/* Tolerate files written on Windows. */
		if (buf_len(&line) > 0 &&
		    buf_ptr(&line)[buf_len(&line) - 1] == '\r')
			line.len--;
		if (!inside) {
			if (buf_eq_str(&line, "-----BEGIN PRIVATE KEY-----"))
				inside = 1;
			else if (buf_len(&line) != 0) {
				r = OB_ERR_FORMAT;
				goto err;
			}
		} else if (buf_eq_str(&line, "-----END PRIVATE KEY-----"))
			done = 1;
		else if (buf_len(&line) > 0 && (r = buf_put(b64,
		    buf_ptr(&line), buf_len(&line))) != 0)
			goto err;
	}
	if (!done) {
		r = OB_ERR_TRUNCATED;
		goto err;
	}
	while (buf_len(&in) > 0) {
		if ((r = buf_get_line(&in, 80, &line, &had_nl)) != 0)
			goto err;
		if (buf_len(&line) != 0) {
			r = OB_ERR_LEFTOVER;
			goto err;
		}
	}
	if ((r = provision_b64_charset(b64, 1)) != 0)
		goto err;
	if ((der = buf_new(PROVISION_IDENTITY_FILE_MAX)) == NULL) {
		r = OB_ERR_NOMEM;
		goto err;
	}
	if ((r = b64_decode_buf(der, b64, B64_PAD)) != 0)
		goto err;
	if ((r = buf_get_bytes(der, pfx, sizeof(pfx))) != 0 ||
	    (r = buf_get_bytes(der, seed, sizeof(seed))) != 0)
		goto err;
	if (memcmp(pfx, provision_pkcs8_v1, sizeof(pfx)) == 0) {
		if ((r = buf_end(der)) != 0)
			goto err;
	} else if (memcmp(pfx, provision_pkcs8_v2, sizeof(pfx)) == 0) {
		if ((r = buf_get_bytes(der, tail, sizeof(tail))) != 0 ||
		    (r = buf_get_bytes(der, dpk, sizeof(dpk))) != 0 ||
		    (r = buf_end(der)) != 0)
			goto err;
		if (memcmp(tail, provision_pkcs8_v2_pk, sizeof(tail)) != 0) {
			r = OB_ERR_FORMAT;
			goto err;
		}
	} else {
		/* Another algorithm, or attributes we do not expect. */
		r = OB_ERR_FORMAT;
		goto err;
	}
	if ((r = hs_expanded_from_seed(sk, seed)) != 0 ||
	    (r = hs_expanded_pubkey(pk, sk)) != 0)
		goto err;
	if (memcmp(pfx, provision_pkcs8_v2, sizeof(pfx)) == 0 &&
	    memcmp(dpk, pk, sizeof(dpk)) != 0) {
		r = OB_ERR_MISMATCH;
		goto err;
	}
	r = 0;
 err:
	ob_wipe(seed, sizeof(seed));
	buf_free(der);
	buf_free(b64);
	if (r != 0)
		ob_wipe(sk, ED25519_EXPANDED_LEN);
	return r;
}

int
provision_identity_parse(uint8_t sk[ED25519_EXPANDED_LEN],
    uint8_t pk[ED25519_PK_LEN], const uint8_t *data, size_t len)
{
	struct buf	b;
	int		r;

	buf_init_ro(&b, data, len);
	if (buf_has_prefix(&b, "== ed25519v1-"))
		r = provision_identity_tor(sk, data, len);
	else
		r = provision_identity_pem(sk, pk, data, len);
	if (r == 0)
		r = hs_expanded_pubkey(pk, sk);
	if (r != 0) {
		ob_wipe(sk, ED25519_EXPANDED_LEN);
		ob_wipe(pk, ED25519_PK_LEN);
	}
	return r;
}

int
provision_identity_load(uint8_t sk[ED25519_EXPANDED_LEN],
    uint8_t pk[ED25519_PK_LEN], const char *path)
{
	uint8_t	*d;
	size_t	 len;
	int	 r;

	if ((r = provision_read_file(&d, &len, path,
	    PROVISION_IDENTITY_FILE_MAX, 1)) != 0)
		return r;
	if ((r = provision_identity_parse(sk, pk, d, len)) != 0)
		log_warnx("%s: %s: not a tor hs_ed25519_secret_key nor an "
		    "Ed25519 PKCS#8 PEM key: %s", __func__, path,
		    ob_strerror(r));
	ob_wipe(d, len);
	free(d);
	return r;
}

static int
provision_write_new(const char *dir, const char *name, const void *p,
    size_t n)
{
	char	path[PATH_MAX];
	int	fd, len;

	len = snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (len < 0 || (size_t)len >= sizeof(path))
		return OB_ERR_TOO_LARGE;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1) {
		log_warn("%s: create %s", __func__, path);
		return OB_ERR_INTERNAL;
	}
	if (provision_write_all(fd, p, n) == -1 || fsync(fd) == -1) {
		log_warn("%s: write %s", __func__, path);
		close(fd);
		(void)unlink(path);
		return OB_ERR_INTERNAL;
	}
	close(fd);
	return 0;
}

static void
provision_unlink_in(const char *dir, const char *name)
{
	char	path[PATH_MAX];
	int	len;

	len = snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (len > 0 && (size_t)len < sizeof(path))
		(void)unlink(path);
}

int
provision_identity_write(const char *dir,
    const uint8_t sk[ED25519_EXPANDED_LEN], const uint8_t pk[ED25519_PK_LEN])
{
	uint8_t	sec[PROVISION_TOR_HDR_LEN + ED25519_EXPANDED_LEN];
	uint8_t	pub[PROVISION_TOR_HDR_LEN + ED25519_PK_LEN];
	char	addr[HS_ADDR_LEN + 1], host[HS_ADDR_LEN + 8];
	int	r;

	if ((r = hs_address_encode(addr, pk)) != 0)
		return r;
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		log_warn("%s: mkdir %s", __func__, dir);
		return OB_ERR_INTERNAL;
	}
	memset(sec, 0, sizeof(sec));
	memcpy(sec, PROVISION_TOR_SECRET_TAG,
	    strlen(PROVISION_TOR_SECRET_TAG));
	memcpy(sec + PROVISION_TOR_HDR_LEN, sk, ED25519_EXPANDED_LEN);
	memset(pub, 0, sizeof(pub));
	memcpy(pub, PROVISION_TOR_PUBLIC_TAG,
	    strlen(PROVISION_TOR_PUBLIC_TAG));
	memcpy(pub + PROVISION_TOR_HDR_LEN, pk, ED25519_PK_LEN);
	(void)snprintf(host, sizeof(host), "%s.onion\n", addr);
	if ((r = provision_write_new(dir, PROVISION_TOR_SECRET_FILE, sec,
	    sizeof(sec))) != 0)
		goto out;
	if ((r = provision_write_new(dir, PROVISION_TOR_PUBLIC_FILE, pub,
	    sizeof(pub))) != 0) {
		provision_unlink_in(dir, PROVISION_TOR_SECRET_FILE);
		goto out;
	}
	if ((r = provision_write_new(dir, PROVISION_TOR_HOSTNAME_FILE, host,
	    strlen(host))) != 0) {
		provision_unlink_in(dir, PROVISION_TOR_SECRET_FILE);
		provision_unlink_in(dir, PROVISION_TOR_PUBLIC_FILE);
		goto out;
	}
	(void)provision_fsync_dir(dir);
 out:
	ob_wipe(sec, sizeof(sec));
	return r;
}
