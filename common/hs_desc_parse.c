/*
 * v3 descriptor decoder: tokenizer, outer document, middle and inner
 * layers.  Every layer is split into tokens by one routine driven by a
 * token table (keyword, arity, object, multiplicity), as tor's
 * parsecommon.c does; the layers' own rules are checked on the tokens.
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

#define TOK_LINE_MAX		1024	/* longest line we accept */
#define TOK_LABEL_MAX		32	/* "ED25519 CERT", "MESSAGE" */
#define TOK_ARGS_ANY		255
#define TOK_MAX_OUTER		32
#define TOK_MAX_MIDDLE		(HS_DESC_MAX_AUTH_CLIENTS + 16)
#define TOK_MAX_INNER		256
/*
 * Tokens on the stack per layer: a descriptor's outer layer has 6, its
 * middle layer 3 plus 16 or 32 auth-client lines, its inner layer 5
 * per intro point (20 at most).  Only a layer with more lines (clients
 * in the hundreds) takes a heap array.
 */
#define TOK_STACK_MIDDLE	64
#define TOK_STACK_INNER		128
#define POW_PARAMS_MAX		1024	/* all pow-params lines together */
#define FLOW_VERSIONS_MAX	31

enum tok_obj { TOK_OBJ_NO, TOK_OBJ_NEED, TOK_OBJ_OK };
enum tok_mult { TOK_ONCE, TOK_OPT, TOK_MANY, TOK_ANY };

struct tok_rule {
	const char	*kw;
	uint8_t		 min_args;
	uint8_t		 max_args;
	uint8_t		 obj;		/* enum tok_obj */
	uint8_t		 mult;		/* enum tok_mult */
	const char	*label;		/* required object type */
};

struct tok {
	int		 rule;		/* index in the table, -1: unknown */
	size_t		 start;		/* offset of the keyword line */
	struct buf	 args;		/* the line after "keyword " */
	size_t		 n_args;
	int		 has_obj;
	struct buf	 label;
	struct buf	 obj;		/* base64 lines, '\n' included */
};

#define CERT_LABEL	"ED25519 CERT"
#define MSG_LABEL	"MESSAGE"

/* rend-spec 2.4 [DESC-OUTER]; tor's hs_desc_v3_token_table.  We also
 * hold the known keywords to this order, the one every writer uses. */
enum { O_HSDESC, O_LIFETIME, O_CERT, O_REV, O_SUPERENC, O_SIG, O_N };
static const struct tok_rule outer_rules[] = {
	{ "hs-descriptor", 1, 1, TOK_OBJ_NO, TOK_ONCE, NULL },
	{ "descriptor-lifetime", 1, 1, TOK_OBJ_NO, TOK_ONCE, NULL },
	{ "descriptor-signing-key-cert", 0, 0, TOK_OBJ_NEED, TOK_ONCE,
	    CERT_LABEL },
	{ "revision-counter", 1, 1, TOK_OBJ_NO, TOK_ONCE, NULL },
	{ "superencrypted", 0, 0, TOK_OBJ_NEED, TOK_ONCE, MSG_LABEL },
	/* Once when signed, absent with HS_DESC_F_UNSIGNED: checked apart. */
	{ "signature", 1, 1, TOK_OBJ_NO, TOK_OPT, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};

/* rend-spec 2.5.1.2; tor's hs_desc_superencrypted_v3_token_table. */
enum { M_AUTHTYPE, M_EPHKEY, M_CLIENT, M_ENC, M_N };
static const struct tok_rule middle_rules[] = {
	{ "desc-auth-type", 1, TOK_ARGS_ANY, TOK_OBJ_NO, TOK_ONCE, NULL },
	{ "desc-auth-ephemeral-key", 1, TOK_ARGS_ANY, TOK_OBJ_NO, TOK_ONCE,
	    NULL },
	{ "auth-client", 3, TOK_ARGS_ANY, TOK_OBJ_NO, TOK_MANY, NULL },
	{ "encrypted", 0, 0, TOK_OBJ_NEED, TOK_ONCE, MSG_LABEL },
	{ NULL, 0, 0, 0, 0, NULL }
};

/* rend-spec 2.5.2.2 plus flow-control and pow-params; tor's
 * hs_desc_encrypted_v3_token_table and hs_desc_intro_point_v3_token_table
 * in one table: the first I_N rules count over the whole layer, the rest
 * per introduction point section. */
enum {
	I_CREATE2, I_AUTHREQ, I_SINGLE, I_FLOW, I_POW, I_N,
	P_INTRO = I_N, P_ONION, P_AUTHKEY, P_ENCKEY, P_ENCCERT, P_LEGACY,
	P_LEGACYCERT, P_END
};
static const struct tok_rule inner_rules[] = {
	{ "create2-formats", 1, TOK_ARGS_ANY, TOK_OBJ_NO, TOK_ONCE, NULL },
	{ "intro-auth-required", 1, TOK_ARGS_ANY, TOK_OBJ_NO, TOK_OPT, NULL },
	{ "single-onion-service", 0, TOK_ARGS_ANY, TOK_OBJ_NO, TOK_OPT,
	    NULL },
	{ "flow-control", 2, TOK_ARGS_ANY, TOK_OBJ_NO, TOK_OPT, NULL },
	{ "pow-params", 1, TOK_ARGS_ANY, TOK_OBJ_NO, TOK_ANY, NULL },
	{ "introduction-point", 1, 1, TOK_OBJ_NO, TOK_ONCE, NULL },
	{ "onion-key", 2, TOK_ARGS_ANY, TOK_OBJ_OK, TOK_MANY, NULL },
	{ "auth-key", 0, 0, TOK_OBJ_NEED, TOK_ONCE, CERT_LABEL },
	{ "enc-key", 2, TOK_ARGS_ANY, TOK_OBJ_OK, TOK_ONCE, NULL },
	{ "enc-key-cert", 0, TOK_ARGS_ANY, TOK_OBJ_NEED, TOK_ONCE,
	    CERT_LABEL },
	{ "legacy-key", 0, TOK_ARGS_ANY, TOK_OBJ_OK, TOK_OPT, NULL },
	{ "legacy-key-cert", 0, TOK_ARGS_ANY, TOK_OBJ_OK, TOK_OPT, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};

static int
tok_kw_valid(const struct buf *kw)
{
	const uint8_t	*p = buf_ptr(kw);
	size_t		 i, n = buf_len(kw);

	if (n == 0 || p[0] == '-')
		return 0;
	for (i = 0; i < n; i++)
		if (!((p[i] >= 'a' && p[i] <= 'z') ||
		    (p[i] >= 'A' && p[i] <= 'Z') ||
		    (p[i] >= '0' && p[i] <= '9') || p[i] == '-'))
			return 0;
	return 1;
}

static int
tok_lookup(const struct tok_rule *rules, const struct buf *kw)
{
	int	i;

	for (i = 0; rules[i].kw != NULL; i++)
		if (buf_eq_str(kw, rules[i].kw))
			return i;
	return -1;
}

/*
 * An object: "-----BEGIN <label>-----", base64 lines, "-----END
 * <label>-----".  b is at the BEGIN line.  A document that ends before
 * the END line is truncated.
 */
static int
tok_get_object(struct buf *b, struct tok *t)
{
	struct buf	 line, lab;
	const uint8_t	*body;
	size_t		 n, bodylen = 0;
	int		 r;

	if ((r = buf_get_line_nonul(b, TOK_LINE_MAX, &line)) != 0)
		return r;
	if ((r = buf_consume(&line, strlen("-----BEGIN "))) != 0)
		return OB_ERR_FORMAT;
	n = buf_len(&line);
	if (n <= 5 || n - 5 > TOK_LABEL_MAX ||
	    memcmp(buf_ptr(&line) + n - 5, "-----", 5) != 0)
		return OB_ERR_FORMAT;
	buf_init_ro(&lab, buf_ptr(&line), n - 5);
	body = buf_ptr(b);
	for (;;) {
		if (buf_len(b) == 0)
			return OB_ERR_TRUNCATED;
		if ((r = buf_get_line_nonul(b, TOK_LINE_MAX, &line)) != 0)
			return r;
		/* A base64 line never starts with '-': one byte decides. */
		if (buf_len(&line) > 0 && buf_ptr(&line)[0] == '-' &&
		    buf_has_prefix(&line, "-----"))
			break;
		bodylen += buf_len(&line) + 1;
	}
	if ((r = buf_consume(&line, 5)) != 0 ||
	    !buf_has_prefix(&line, "END ") ||
	    (r = buf_consume(&line, 4)) != 0 ||
	    buf_len(&line) != buf_len(&lab) + 5 ||
	    memcmp(buf_ptr(&line), buf_ptr(&lab), buf_len(&lab)) != 0 ||
	    memcmp(buf_ptr(&line) + buf_len(&lab), "-----", 5) != 0)
		return OB_ERR_FORMAT;
	t->has_obj = 1;
	t->label = lab;
	buf_init_ro(&t->obj, body, bodylen);
	return 0;
}

/*
 * Split text into keyword lines, each with its optional object, checking
 * the arity and object rules of known keywords.  Unknown keywords are kept
 * with rule -1 (tor ignores them: forward compatibility).
 */
static int
tok_split(struct tok *toks, size_t max, size_t *np,
    const struct tok_rule *rules, const uint8_t *p, size_t len)
{
	struct buf		 b, line, kw, w, args;
	struct tok		*t;
	const struct tok_rule	*rule;
	size_t			 n = 0;
	int			 r;

	*np = 0;
	/* One look for a NUL over the whole text, not one per line. */
	if (memchr(p, '\0', len) != NULL)
		return OB_ERR_FORMAT;
	buf_init_ro(&b, p, len);
	while (buf_len(&b) > 0) {
		if (n == max)
			return OB_ERR_LIMIT;
		t = &toks[n];
		memset(t, 0, sizeof(*t));
		t->start = len - buf_len(&b);
		if ((r = buf_get_line_nonul(&b, TOK_LINE_MAX, &line)) != 0)
			return r;
		/* tor's tokenizer ignores trailing blanks; stem writes
		 * "legacy-key " with one. */
		while (buf_len(&line) > 0 &&
		    (buf_ptr(&line)[buf_len(&line) - 1] == ' ' ||
		    buf_ptr(&line)[buf_len(&line) - 1] == '\t'))
			line.len--;
		if (buf_get_word(&line, &kw) != 0 || !tok_kw_valid(&kw))
			return OB_ERR_FORMAT;
		t->rule = tok_lookup(rules, &kw);
		t->args = line;
		args = line;
		while (buf_len(&args) > 0) {
			if (buf_get_word(&args, &w) != 0)
				return OB_ERR_FORMAT;
			t->n_args++;
		}
		if (buf_len(&b) > 0 && buf_ptr(&b)[0] == '-' &&
		    buf_has_prefix(&b, "-----BEGIN ") &&
		    (r = tok_get_object(&b, t)) != 0)
			return r;
		if (t->rule >= 0) {
			rule = &rules[t->rule];
			if (t->n_args < rule->min_args ||
			    (rule->max_args != TOK_ARGS_ANY &&
			    t->n_args > rule->max_args))
				return OB_ERR_FORMAT;
			if ((rule->obj == TOK_OBJ_NEED && !t->has_obj) ||
			    (rule->obj == TOK_OBJ_NO && t->has_obj))
				return OB_ERR_FORMAT;
			if (rule->label != NULL && t->has_obj &&
			    !buf_eq_str(&t->label, rule->label))
				return OB_ERR_FORMAT;
		}
		n++;
	}
	*np = n;
	return 0;
}

/*
 * Room for the tokens of text: one per line at most, capped at max
 * (tok_split() fails with OB_ERR_LIMIT past the room), so that a layer
 * of a few dozen lines does not clear room for hundreds.
 */
static struct tok *
tok_alloc(size_t *room, size_t max, const uint8_t *p, size_t len)
{
	const uint8_t	*nl;
	size_t		 lines = 1;

	while (lines < max && len > 0 &&
	    (nl = memchr(p, '\n', len)) != NULL) {
		lines++;
		len -= (size_t)(nl - p) + 1;
		p = nl + 1;
	}
	*room = lines;
	return calloc(lines, sizeof(struct tok));
}

/*
 * Split text into the caller's array of nstack tokens, which covers a
 * layer as tor writes it without an allocation or a clearing; a layer
 * with more keyword lines is split again into a heap array sized to its
 * lines, up to max.  *toksp is stack or that array, for the caller to
 * free when it is not stack.
 */
static int
tok_split_layer(struct tok **toksp, struct tok *stack, size_t nstack,
    size_t max, size_t *np, const struct tok_rule *rules, const uint8_t *p,
    size_t len)
{
	struct tok	*heap;
	size_t		 room;
	int		 r;

	*toksp = stack;
	r = tok_split(stack, nstack < max ? nstack : max, np, rules, p, len);
	if (r != OB_ERR_LIMIT || nstack >= max)
		return r;
	if ((heap = tok_alloc(&room, max, p, len)) == NULL)
		return OB_ERR_NOMEM;
	*toksp = heap;
	return tok_split(heap, room, np, rules, p, len);
}

/* Multiplicity of rules [lo, hi) over toks[from, to). */
static int
tok_check_counts(const struct tok *toks, size_t from, size_t to,
    const struct tok_rule *rules, int lo, int hi)
{
	size_t	counts[16], i;
	int	k;

	memset(counts, 0, sizeof(counts));
	for (i = from; i < to; i++)
		if (toks[i].rule >= lo && toks[i].rule < hi)
			counts[toks[i].rule - lo]++;
	for (k = lo; k < hi; k++) {
		switch (rules[k].mult) {
		case TOK_ONCE:
			if (counts[k - lo] == 0)
				return OB_ERR_MISSING;
			if (counts[k - lo] > 1)
				return OB_ERR_DUPLICATE;
			break;
		case TOK_OPT:
			if (counts[k - lo] > 1)
				return OB_ERR_DUPLICATE;
			break;
		case TOK_MANY:
			if (counts[k - lo] == 0)
				return OB_ERR_MISSING;
			break;
		default:
			break;
		}
	}
	return 0;
}

static const struct tok *
tok_find(const struct tok *toks, size_t from, size_t to, int rule)
{
	size_t	i;

	for (i = from; i < to; i++)
		if (toks[i].rule == rule)
			return &toks[i];
	return NULL;
}

/* The i-th argument (0-based) of a token, as a view. */
static int
tok_arg(const struct tok *t, size_t i, struct buf *w)
{
	struct buf	args = t->args;
	size_t		k;
	int		r;

	for (k = 0; k <= i; k++)
		if ((r = buf_get_word(&args, w)) != 0)
			return OB_ERR_FORMAT;
	return 0;
}

/*
 * Decode an object's base64 ('=' padded, in lines whose '\n' are
 * skipped).  Everything here is public or ciphertext: the fast decoder.
 */
static int
tok_obj_decode(const struct tok *t, uint8_t *out, size_t outsz,
    size_t *outlen)
{
	return b64_decode_pub(out, outsz, outlen, &t->obj, B64_PAD, 1);
}

/* A 32-byte key in base64, 44 characters padded or 43 without, as tor's
 * curve25519_public_from_base64 accepts. */
static int
b64_key32(const struct buf *w, uint8_t out[32])
{
	size_t	n;
	int	r;

	if (buf_len(w) == 44)
		r = b64_decode_pub(out, 32, &n, w, B64_PAD, 0);
	else if (buf_len(w) == 43)
		r = b64_decode_pub(out, 32, &n, w, B64_NOPAD, 0);
	else
		return OB_ERR_FORMAT;
	if (r != 0 || n != 32)
		return OB_ERR_FORMAT;
	return 0;
}

/* Fixed-size unpadded base64 field (auth-client). */
static int
b64_field(const struct buf *w, uint8_t *out, size_t len)
{
	size_t	n;

	if (buf_len(w) != b64_encoded_len(len, B64_NOPAD) ||
	    b64_decode_pub(out, len, &n, w, B64_NOPAD, 0) != 0 || n != len)
		return OB_ERR_FORMAT;
	return 0;
}

static int
cert_from_tok(struct hs_cert *c, const struct tok *t)
{
	uint8_t	raw[HS_CERT_MAX_LEN];
	size_t	n;
	int	r;

	if (tok_obj_decode(t, raw, sizeof(raw), &n) != 0)
		return OB_ERR_FORMAT;
	r = hs_cert_parse(c, raw, n);
	return r;
}

/*
 * A cert in full, or without its signature when the caller vouches for
 * its exact bytes (hs_desc_decode_params.trusted); params may be NULL.
 */
static int
cert_verify(const struct hs_cert *c, uint8_t type,
    const uint8_t signer[ED25519_PK_LEN], time_t now,
    const struct hs_desc_decode_params *params)
{
	if (params != NULL && params->trusted != NULL &&
	    params->trusted(params->trusted_arg, c->encoded,
	    c->encoded_len) == 1)
		return hs_cert_check(c, type, signer, now);
	return hs_cert_verify(c, type, signer, now);
}

/* One introduction point section, toks[from, to). */
static int
intro_decode(struct hs_intro_point *ip, const struct tok *toks, size_t from,
    size_t to, const uint8_t signing_pk[ED25519_PK_LEN], time_t now,
    const struct hs_desc_decode_params *params)
{
	const struct tok	*t;
	struct buf		 w, w2;
	size_t			 i, n;
	int			 r, found = 0;

	memset(ip, 0, sizeof(*ip));
	if ((r = tok_check_counts(toks, from, to, inner_rules, P_INTRO,
	    P_END)) != 0)
		return r;

	/* "introduction-point" SP link-specifiers, copied verbatim. */
	if ((r = tok_arg(&toks[from], 0, &w)) != 0)
		return r;
	/* Padded as tor writes it; tor's decoder also takes it unpadded. */
	if (buf_len(&w) > b64_encoded_len(HS_LINKSPEC_MAX_LEN, B64_PAD) ||
	    (b64_decode_pub(ip->linkspec, sizeof(ip->linkspec),
	    &ip->linkspec_len, &w, B64_PAD, 0) != 0 &&
	    (buf_len(&w) % 4 == 0 || b64_decode_pub(ip->linkspec,
	    sizeof(ip->linkspec), &ip->linkspec_len, &w, B64_NOPAD, 0) !=
	    0)))
		return OB_ERR_FORMAT;
	if ((r = hs_linkspec_split(NULL, 0, &n, ip->linkspec,
	    ip->linkspec_len)) != 0)
		return r;

	/* The first "onion-key ntor"; other types are for the future. */
	for (i = from; i < to && !found; i++) {
		if (toks[i].rule != P_ONION)
			continue;
		if ((r = tok_arg(&toks[i], 0, &w)) != 0)
			return r;
		if (!buf_eq_str(&w, "ntor"))
			continue;
		if ((r = tok_arg(&toks[i], 1, &w2)) != 0 ||
		    (r = b64_key32(&w2, ip->onion_key)) != 0)
			return r;
		found = 1;
	}
	if (!found)
		return OB_ERR_MISSING;

	t = tok_find(toks, from, to, P_AUTHKEY);
	if ((r = cert_from_tok(&ip->auth_key_cert, t)) != 0 ||
	    (r = cert_verify(&ip->auth_key_cert,
	    HS_CERT_TYPE_AUTH_HS_IP_KEY, signing_pk, now, params)) != 0)
		return r;

	t = tok_find(toks, from, to, P_ENCKEY);
	if ((r = tok_arg(t, 0, &w)) != 0)
		return r;
	if (!buf_eq_str(&w, "ntor"))
		return OB_ERR_FORMAT;
	if ((r = tok_arg(t, 1, &w2)) != 0 ||
	    (r = b64_key32(&w2, ip->enc_key)) != 0)
		return r;

	t = tok_find(toks, from, to, P_ENCCERT);
	if ((r = cert_from_tok(&ip->enc_key_cert, t)) != 0 ||
	    (r = cert_verify(&ip->enc_key_cert,
	    HS_CERT_TYPE_CROSS_HS_IP_KEYS, signing_pk, now, params)) != 0)
		return r;
	return 0;
}

/* "flow-control <versions> <sendme-inc>" (prop 324). */
static int
flow_control_decode(struct hs_desc *d, const struct tok *t)
{
	struct buf	 w;
	const uint8_t	*p;
	uint64_t	 v;
	size_t		 i;
	int		 r;

	if ((r = tok_arg(t, 0, &w)) != 0)
		return r;
	if (buf_len(&w) > FLOW_VERSIONS_MAX)
		return OB_ERR_TOO_LARGE;
	p = buf_ptr(&w);
	for (i = 0; i < buf_len(&w); i++)
		if (!((p[i] >= '0' && p[i] <= '9') || p[i] == '-' ||
		    p[i] == ','))
			return OB_ERR_FORMAT;
	memcpy(d->flow_control_versions, p, buf_len(&w));
	d->flow_control_versions[buf_len(&w)] = '\0';
	if ((r = tok_arg(t, 1, &w)) != 0 || (r = buf_to_u64(&w, &v)) != 0)
		return r == OB_ERR_RANGE ? r : OB_ERR_FORMAT;
	if (v > UINT8_MAX)
		return OB_ERR_RANGE;
	d->flow_control_sendme_inc = (unsigned)v;
	d->has_flow_control = 1;
	return 0;
}

/* Two pow-params lines of one type: tor 0.4.9 rejects the descriptor. */
static int
pow_params_dup(const struct tok *toks, size_t n)
{
	struct buf	w, w2;
	size_t		i, j;

	for (i = 0; i < n; i++) {
		if (toks[i].rule != I_POW || tok_arg(&toks[i], 0, &w) != 0)
			continue;
		for (j = i + 1; j < n; j++)
			if (toks[j].rule == I_POW &&
			    tok_arg(&toks[j], 0, &w2) == 0 &&
			    buf_len(&w) == buf_len(&w2) &&
			    memcmp(buf_ptr(&w), buf_ptr(&w2), buf_len(&w)) == 0)
				return 1;
	}
	return 0;
}

/* pow-params lines are kept raw (DESIGN.md: never re-emitted), capped. */
static int
pow_params_decode(struct hs_desc *d, const struct tok *toks, size_t n)
{
	struct buf	*b;
	size_t		 i;
	int		 r = 0;

	for (i = 0; i < n && toks[i].rule != I_POW; i++)
		;
	if (i == n)
		return 0;	/* the common case: no buffer */
	if (pow_params_dup(toks, n))
		return OB_ERR_DUPLICATE;
	if ((b = buf_new(POW_PARAMS_MAX)) == NULL)
		return OB_ERR_NOMEM;
	for (i = 0; i < n && r == 0; i++) {
		if (toks[i].rule != I_POW)
			continue;
		if ((r = buf_put_str(b, "pow-params ")) != 0 ||
		    (r = buf_put(b, buf_ptr(&toks[i].args),
		    buf_len(&toks[i].args))) != 0 ||
		    (r = buf_put_u8(b, '\n')) != 0)
			r = r == OB_ERR_TOO_LARGE ? OB_ERR_LIMIT : r;
	}
	if (r == 0 && buf_len(b) > 0)
		r = buf_dup_cstr(b, &d->pow_params);
	buf_free(b);
	return r;
}

static int
inner_decode(struct hs_desc *d, const uint8_t *p, size_t len,
    const uint8_t signing_pk[ED25519_PK_LEN], time_t now, int flags,
    const struct hs_desc_decode_params *params)
{
	struct tok		 stack[TOK_STACK_INNER], *toks = stack;
	const struct tok	*t;
	struct hs_intro_point	*ip;
	struct buf		 w, args;
	size_t			 n, i, j, first, n_sect = 0;
	int			 r, has_ntor = 0;

	/* hs_desc_clear() wipes intro points below n_intro only: a
	 * struct decoded into before must not keep any above it. */
	ob_wipe(d->intro, (d->n_intro < HS_DESC_MAX_INTRO ? d->n_intro :
	    HS_DESC_MAX_INTRO) * sizeof(d->intro[0]));
	d->n_intro = d->n_intro_skipped = 0;
	if (len > HS_DESC_MAX_LEN)
		return OB_ERR_TOO_LARGE;
	if ((r = tok_split_layer(&toks, stack, TOK_STACK_INNER,
	    TOK_MAX_INNER, &n, inner_rules, p, len)) != 0)
		goto err;
	if (n == 0 || toks[0].rule != I_CREATE2) {
		r = n == 0 ? OB_ERR_MISSING : OB_ERR_FORMAT;
		goto err;
	}
	/* Cap the intro points before looking at any of them. */
	for (i = 0; i < n; i++)
		if (toks[i].rule == P_INTRO && ++n_sect > HS_DESC_MAX_INTRO) {
			r = OB_ERR_LIMIT;
			goto err;
		}
	if ((r = tok_check_counts(toks, 0, n, inner_rules, 0, I_N)) != 0)
		goto err;

	/* "create2-formats" must offer ntor (2). */
	args = toks[0].args;
	while (buf_len(&args) > 0 && buf_get_word(&args, &w) == 0)
		if (buf_eq_str(&w, "2"))
			has_ntor = 1;
	if (!has_ntor) {
		r = OB_ERR_FORMAT;
		goto err;
	}
	d->single_onion = tok_find(toks, 0, n, I_SINGLE) != NULL;
	if ((t = tok_find(toks, 0, n, I_FLOW)) != NULL &&
	    (r = flow_control_decode(d, t)) != 0)
		goto err;
	if ((r = pow_params_decode(d, toks, n)) != 0)
		goto err;

	/* Sections: each "introduction-point" up to the next one. */
	for (first = 0; first < n && toks[first].rule != P_INTRO; first++)
		;
	for (i = first; i < n; i = j) {
		for (j = i + 1; j < n && toks[j].rule != P_INTRO; j++)
			;
		ip = &d->intro[d->n_intro];
		if ((r = intro_decode(ip, toks, i, j, signing_pk, now,
		    params)) != 0) {
			memset(ip, 0, sizeof(*ip));
			if (flags & HS_DESC_F_STRICT)
				goto err;
			d->n_intro_skipped++;
			continue;
		}
		d->n_intro++;
	}
	r = 0;
 err:
	if (toks != stack)
		free(toks);
	return r;
}

int
hs_desc_decode_inner(struct hs_desc *d, const uint8_t *p, size_t len,
    const uint8_t signing_pk[ED25519_PK_LEN], time_t now, int flags)
{
	return inner_decode(d, p, len, signing_pk, now, flags, NULL);
}

int
hs_desc_decode_middle(struct hs_desc *d, uint8_t **blobp, size_t *bloblenp,
    const uint8_t *p, size_t len)
{
	struct tok		 stack[TOK_STACK_MIDDLE], *toks = stack;
	const struct tok	*t;
	struct hs_auth_client	*ac;
	struct buf		 w;
	uint8_t			*blob = NULL;
	size_t			 n, i, nclients = 0, bloblen = 0;
	int			 r;

	*blobp = NULL;
	*bloblenp = 0;
	if (len > HS_DESC_MAX_LEN)
		return OB_ERR_TOO_LARGE;
	if ((r = tok_split_layer(&toks, stack, TOK_STACK_MIDDLE,
	    TOK_MAX_MIDDLE, &n, middle_rules, p, len)) != 0)
		goto err;
	if (n == 0 || toks[0].rule != M_AUTHTYPE) {
		r = n == 0 ? OB_ERR_MISSING : OB_ERR_FORMAT;
		goto err;
	}
	if ((r = tok_check_counts(toks, 0, n, middle_rules, 0, M_N)) != 0)
		goto err;
	if ((r = tok_arg(&toks[0], 0, &w)) != 0)
		goto err;
	if (!buf_eq_str(&w, "x25519")) {
		r = OB_ERR_VERSION;
		goto err;
	}
	t = tok_find(toks, 0, n, M_EPHKEY);
	if ((r = tok_arg(t, 0, &w)) != 0 ||
	    (r = b64_key32(&w, d->auth_ephemeral_key)) != 0)
		goto err;

	for (i = 0; i < n; i++)
		if (toks[i].rule == M_CLIENT)
			nclients++;
	if (nclients > HS_DESC_MAX_AUTH_CLIENTS) {
		r = OB_ERR_LIMIT;
		goto err;
	}
	if ((d->auth_clients = calloc(nclients, sizeof(*ac))) == NULL) {
		r = OB_ERR_NOMEM;
		goto err;
	}
	for (i = 0; i < n; i++) {
		if (toks[i].rule != M_CLIENT)
			continue;
		ac = &d->auth_clients[d->n_auth_clients++];
		if ((r = tok_arg(&toks[i], 0, &w)) != 0 ||
		    (r = b64_field(&w, ac->client_id,
		    sizeof(ac->client_id))) != 0 ||
		    (r = tok_arg(&toks[i], 1, &w)) != 0 ||
		    (r = b64_field(&w, ac->iv, sizeof(ac->iv))) != 0 ||
		    (r = tok_arg(&toks[i], 2, &w)) != 0 ||
		    (r = b64_field(&w, ac->encrypted_cookie,
		    sizeof(ac->encrypted_cookie))) != 0)
			goto err;
	}

	t = tok_find(toks, 0, n, M_ENC);
	if ((blob = malloc(buf_len(&t->obj) + 1)) == NULL) {
		r = OB_ERR_NOMEM;
		goto err;
	}
	if (tok_obj_decode(t, blob, buf_len(&t->obj) + 1, &bloblen) != 0) {
		r = OB_ERR_FORMAT;
		goto err;
	}
	*blobp = blob;
	*bloblenp = bloblen;
	blob = NULL;
	r = 0;
 err:
	free(blob);
	if (toks != stack)
		free(toks);
	return r;
}

/*
 * Layer 2, decrypted where it lies in blob: with a client key, find our
 * auth-client line and recover the descriptor cookie; then decrypt with
 * KP_blind | cookie.  Without one (or without a matching line) try
 * KP_blind alone, as tor does: a layer that needed a cookie then fails
 * its MAC, which means we are not authorized.
 */
static int
inner_decrypt(struct hs_desc *d, char **pt, size_t *ptlen,
    uint8_t *blob, size_t bloblen, const uint8_t blinded[32],
    const uint8_t subcred[HS_SUBCRED_LEN],
    const struct hs_desc_decode_params *params)
{
	uint8_t	secret[HS_DESC_SECRET_MAX];
	uint8_t	client_id[HS_DESC_CLIENT_ID_LEN], cookie_key[AES256_KEY_LEN];
	size_t	i;
	int	r, found = 0;

	memcpy(secret, blinded, ED25519_PK_LEN);
	if (params->client_auth_sk != NULL) {
		if ((r = hs_desc_client_keys(client_id, cookie_key, subcred,
		    params->client_auth_sk, d->auth_ephemeral_key)) != 0)
			goto err;
		for (i = 0; i < d->n_auth_clients && !found; i++) {
			if (!ob_ct_eq(client_id, d->auth_clients[i].client_id,
			    HS_DESC_CLIENT_ID_LEN))
				continue;
			if ((r = ob_aes256_ctr(secret + ED25519_PK_LEN,
			    d->auth_clients[i].encrypted_cookie,
			    HS_DESC_COOKIE_LEN, cookie_key,
			    d->auth_clients[i].iv)) != 0)
				goto err;
			found = 1;
		}
	}
	if (found) {
		r = hs_desc_layer_decrypt_inplace(pt, ptlen, blob, bloblen,
		    secret, sizeof(secret), subcred, d->revision_counter,
		    HS_DESC_CONST_ENC);
		d->client_auth = 1;
		goto err;
	}
	r = hs_desc_layer_decrypt_inplace(pt, ptlen, blob, bloblen, secret,
	    ED25519_PK_LEN, subcred, d->revision_counter, HS_DESC_CONST_ENC);
	if (r == OB_ERR_MAC)
		r = OB_ERR_NOT_AUTHORIZED;
 err:
	ob_wipe(secret, sizeof(secret));
	ob_wipe(cookie_key, sizeof(cookie_key));
	return r;
}

/* Outer document: tokens, order, fields. */
static int
outer_parse(struct hs_desc *d, const struct tok *toks, size_t n,
    uint8_t **blobp, size_t *bloblenp, int flags)
{
	const struct tok	*t;
	struct buf		 w;
	uint64_t		 v;
	uint8_t			 certraw[HS_CERT_MAX_LEN];
	size_t			 i, clen, bloblen;
	uint8_t			*blob;
	int			 r, prev = -1;

	if ((r = tok_check_counts(toks, 0, n, outer_rules, 0, O_N)) != 0)
		return r;
	t = tok_find(toks, 0, n, O_SIG);
	if (flags & HS_DESC_F_UNSIGNED) {
		if (t != NULL)
			return OB_ERR_FORMAT;
	} else if (t == NULL)
		return OB_ERR_MISSING;
	/* hs-descriptor first, signature last, the rest in tor's order. */
	if (toks[0].rule != O_HSDESC)
		return OB_ERR_FORMAT;
	if (t != NULL && t != &toks[n - 1])
		return OB_ERR_FORMAT;
	for (i = 0; i < n; i++) {
		if (toks[i].rule < 0)
			continue;
		if (toks[i].rule <= prev)
			return OB_ERR_FORMAT;
		prev = toks[i].rule;
	}

	if ((r = tok_arg(&toks[0], 0, &w)) != 0)
		return r;
	if (!buf_eq_str(&w, "3"))
		return OB_ERR_VERSION;

	t = tok_find(toks, 0, n, O_LIFETIME);
	if ((r = tok_arg(t, 0, &w)) != 0 || (r = buf_to_u64(&w, &v)) != 0)
		return r == OB_ERR_RANGE ? r : OB_ERR_FORMAT;
	if (v > HS_DESC_LIFETIME_MAX)
		return OB_ERR_RANGE;
	d->lifetime_min = (uint32_t)v;

	t = tok_find(toks, 0, n, O_CERT);
	if (tok_obj_decode(t, certraw, sizeof(certraw), &clen) != 0)
		return OB_ERR_FORMAT;
	if ((r = hs_cert_parse(&d->signing_cert, certraw, clen)) != 0)
		return r;

	t = tok_find(toks, 0, n, O_REV);
	if ((r = tok_arg(t, 0, &w)) != 0 || (r = buf_to_u64(&w, &v)) != 0)
		return r == OB_ERR_RANGE ? r : OB_ERR_FORMAT;
	d->revision_counter = v;

	t = tok_find(toks, 0, n, O_SUPERENC);
	if ((blob = malloc(buf_len(&t->obj) + 1)) == NULL)
		return OB_ERR_NOMEM;
	if (tok_obj_decode(t, blob, buf_len(&t->obj) + 1, &bloblen) != 0) {
		free(blob);
		return OB_ERR_FORMAT;
	}
	*blobp = blob;
	*bloblenp = bloblen;

	if ((t = tok_find(toks, 0, n, O_SIG)) != NULL) {
		/* Exactly 86 characters: 64 bytes, no padding. */
		if ((r = tok_arg(t, 0, &w)) != 0 ||
		    b64_field(&w, d->signature, sizeof(d->signature)) != 0)
			return OB_ERR_FORMAT;
		d->signed_ = 1;
	}
	return 0;
}

int
hs_desc_decode(struct hs_desc *d, const uint8_t *p, size_t len,
    const struct hs_desc_decode_params *params)
{
	struct tok		 toks[TOK_MAX_OUTER];
	const struct tok	*sig;
	uint8_t			 subcred[HS_SUBCRED_LEN];
	uint8_t			 blinded[ED25519_PK_LEN];
	uint8_t			*blob = NULL, *blob2 = NULL, *msg = NULL;
	char			*mid = NULL, *inner = NULL;
	size_t			 n, bloblen = 0, blob2len = 0, msglen = 0;
	size_t			 midlen = 0, innerlen = 0;
	int			 r, flags = params->flags;

	hs_desc_clear(d);
	if (len == 0)
		return OB_ERR_TRUNCATED;
	if (len > HS_DESC_MAX_LEN)
		return OB_ERR_TOO_LARGE;
	if (memchr(p, '\0', len) != NULL)
		return OB_ERR_FORMAT;
	if ((r = tok_split(toks, TOK_MAX_OUTER, &n, outer_rules, p,
	    len)) != 0)
		goto err;
	if (n == 0) {
		r = OB_ERR_MISSING;
		goto err;
	}
	if ((r = outer_parse(d, toks, n, &blob, &bloblen, flags)) != 0)
		goto err;

	/* The 08 cert binds the signing key to the blinded key. */
	if ((r = cert_verify(&d->signing_cert, HS_CERT_TYPE_DESC_SIGNING,
	    params->blinded_pk, params->now, params)) != 0)
		goto err;
	if (!d->signing_cert.has_signing_key) {
		r = OB_ERR_MISSING;
		goto err;
	}
	memcpy(blinded, d->signing_cert.signing_key, sizeof(blinded));

	if (d->signed_) {
		sig = &toks[n - 1];
		if ((r = hs_desc_sig_message(&msg, &msglen, p,
		    sig->start)) != 0)
			goto err;
		if ((r = ob_ed25519_verify(d->signature, msg, msglen,
		    d->signing_cert.certified_key)) != 0)
			goto err;
	}
	if (flags & HS_DESC_F_OUTER_ONLY) {
		r = 0;
		goto err;
	}

	if (params->subcredential != NULL)
		memcpy(subcred, params->subcredential, sizeof(subcred));
	else if (params->identity_pk == NULL) {
		r = OB_ERR_INTERNAL;
		goto err;
	} else if ((r = hs_subcredential(subcred, params->identity_pk,
	    blinded)) != 0)
		goto err;

	/* Each layer is decrypted where it was decoded, not copied. */
	if ((r = hs_desc_layer_decrypt_inplace(&mid, &midlen, blob, bloblen,
	    blinded, sizeof(blinded), subcred, d->revision_counter,
	    HS_DESC_CONST_SUPERENC)) != 0)
		goto err;
	if ((r = hs_desc_decode_middle(d, &blob2, &blob2len,
	    (const uint8_t *)mid, midlen)) != 0)
		goto err;
	if ((r = inner_decrypt(d, &inner, &innerlen, blob2, blob2len,
	    blinded, subcred, params)) != 0)
		goto err;
	r = inner_decode(d, (const uint8_t *)inner, innerlen,
	    d->signing_cert.certified_key, params->now, flags, params);
 err:
	if (r != 0)
		hs_desc_clear(d);
	/* The blobs hold the plaintexts once decrypted. */
	if (blob != NULL) {
		ob_wipe(blob, bloblen);
		free(blob);
	}
	if (blob2 != NULL) {
		ob_wipe(blob2, blob2len);
		free(blob2);
	}
	free(msg);
	ob_wipe(subcred, sizeof(subcred));
	return r;
}
