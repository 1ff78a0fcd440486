/*
 * Intro point choice for master descriptors: which of the live backends'
 * intro points go into each descriptor.  Pure functions over decoded
 * descriptors, so the rules can be tested without tor.  The policy and
 * its privacy trade-offs are in doc/obhsm-collector.8 (INTRO POINTS).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "collector.h"
#include "err.h"

/* rend-spec 0.4: link specifier types. */
#define LS_TYPE_IPV4		0x00
#define LS_TYPE_IPV6		0x01
#define LS_TYPE_LEGACY_ID	0x02
#define LS_TYPE_ED25519_ID	0x03

int
select_relay_id(struct sel_relay *r, const uint8_t *ls, size_t len)
{
	struct buf	b, spec;
	uint8_t		n, type, slen;
	unsigned	i;
	int		e;

	memset(r, 0, sizeof(*r));
	buf_init_ro(&b, ls, len);
	if ((e = buf_get_u8(&b, &n)) != 0)
		return e;
	for (i = 0; i < n; i++) {
		if ((e = buf_get_u8(&b, &type)) != 0 ||
		    (e = buf_get_u8(&b, &slen)) != 0 ||
		    (e = buf_get_view(&b, slen, &spec)) != 0)
			return e;
		if (type == LS_TYPE_LEGACY_ID) {
			if (slen != HS_RSA_ID_LEN || r->has_rsa)
				return OB_ERR_FORMAT;
			if ((e = buf_get_bytes(&spec, r->rsa_id,
			    HS_RSA_ID_LEN)) != 0)
				return e;
			r->has_rsa = 1;
		} else if (type == LS_TYPE_ED25519_ID) {
			if (slen != ED25519_PK_LEN || r->has_ed)
				return OB_ERR_FORMAT;
			if ((e = buf_get_bytes(&spec, r->ed_id,
			    ED25519_PK_LEN)) != 0)
				return e;
			r->has_ed = 1;
		}
	}
	if ((e = buf_end(&b)) != 0)
		return e;
	/* tor requires the legacy id in every intro point's link specs. */
	if (!r->has_rsa)
		return OB_ERR_MISSING;
	return 0;
}

int
select_relay_same(const struct sel_relay *a, const struct sel_relay *b)
{
	if (a->has_rsa && b->has_rsa &&
	    memcmp(a->rsa_id, b->rsa_id, HS_RSA_ID_LEN) == 0)
		return 1;
	if (a->has_ed && b->has_ed &&
	    memcmp(a->ed_id, b->ed_id, ED25519_PK_LEN) == 0)
		return 1;
	return 0;
}

/* The key that names an intro point across descriptors: its auth key. */
static const uint8_t *
intro_key(const struct hs_intro_point *ip)
{
	return ip->auth_key_cert.certified_key;
}

static int
in_prev(const struct hs_intro_point *ip, const uint8_t (*prev)[32],
    size_t nprev)
{
	size_t	i;

	for (i = 0; i < nprev; i++)
		if (memcmp(prev[i], intro_key(ip), 32) == 0)
			return 1;
	return 0;
}

/* Per backend: candidate order (sticky ones first) and a cursor. */
struct cand {
	uint8_t		order[HS_DESC_MAX_INTRO];
	size_t		n;
	size_t		next;
	unsigned	taken;
};

static void
cand_build(struct cand *c, const struct hs_desc *d,
    const uint8_t (*prev)[32], size_t nprev)
{
	size_t	i, n = d->n_intro;

	if (n > HS_DESC_MAX_INTRO)
		n = HS_DESC_MAX_INTRO;
	c->n = c->next = 0;
	c->taken = 0;
	/*
	 * Intro points already published come first, so the set changes
	 * only when it must: every change costs a republish and fresh
	 * intro certs from the token, and tells HSDirs something moved.
	 */
	for (i = 0; i < n; i++)
		if (in_prev(&d->intro[i], prev, nprev))
			c->order[c->n++] = (uint8_t)i;
	for (i = 0; i < n; i++)
		if (!in_prev(&d->intro[i], prev, nprev))
			c->order[c->n++] = (uint8_t)i;
}

static void
str_copy(char *dst, const char *src, size_t size)
{
	size_t	n = strlen(src);

	if (n >= size)
		n = size - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static int
flags_fill(struct sel_set *s, const struct sel_input *in)
{
	size_t		 i, j;
	int		 seen;
	const struct hs_desc *d;

	s->flow_control = s->single_onion = s->n > 0;
	s->fc_sendme_inc = 0;
	s->fc_versions[0] = '\0';
	s->n_backends = 0;
	for (i = 0; i < s->n; i++) {
		seen = 0;
		for (j = 0; j < i; j++)
			if (s->pick[j].backend == s->pick[i].backend)
				seen = 1;
		if (seen)
			continue;
		s->n_backends++;
		d = in[s->pick[i].backend].desc;
		if (!d->single_onion)
			s->single_onion = 0;
		if (!d->has_flow_control) {
			s->flow_control = 0;
			continue;
		}
		/*
		 * Versions and sendme increment: the lowest any chosen
		 * backend advertises, so no client asks a backend for more
		 * than it offers (prop 324: within a factor of two of the
		 * consensus anyway).
		 */
		if (s->fc_versions[0] == '\0' ||
		    strcmp(d->flow_control_versions, s->fc_versions) < 0)
			str_copy(s->fc_versions, d->flow_control_versions,
			    sizeof(s->fc_versions));
		if (s->fc_sendme_inc == 0 ||
		    d->flow_control_sendme_inc < s->fc_sendme_inc)
			s->fc_sendme_inc = d->flow_control_sendme_inc;
	}
	if (!s->flow_control) {
		s->fc_versions[0] = '\0';
		s->fc_sendme_inc = 0;
	}
	return 0;
}

/*
 * Does ip's relay already appear in the set?  relay[] is parallel to
 * s->pick: only the choice needs the relays (a kept set finds them again
 * through its backends' link specifiers), so they live on fill()'s
 * stack, not in every sel_set.
 */
static int
relay_taken(const struct sel_set *s, const struct sel_relay *relay,
    const struct sel_relay *r)
{
	size_t	i;

	for (i = 0; i < s->n; i++)
		if (select_relay_same(&relay[i], r))
			return 1;
	return 0;
}

/* Take backend b's next acceptable candidate; 1 if one was taken. */
static int
take_one(struct sel_set *s, struct sel_relay *relay,
    const struct sel_input *in, size_t b, struct cand *c)
{
	const struct hs_intro_point	*ip;
	struct sel_relay		 r;

	while (c->next < c->n) {
		ip = &in[b].desc->intro[c->order[c->next++]];
		if (select_relay_id(&r, ip->linkspec, ip->linkspec_len) != 0)
			continue;
		if (relay_taken(s, relay, &r))
			continue;
		s->pick[s->n].backend = (uint16_t)b;
		s->pick[s->n].intro = c->order[c->next - 1];
		relay[s->n] = r;
		memcpy(s->auth_key[s->n], intro_key(ip), 32);
		s->n++;
		c->taken++;
		return 1;
	}
	return 0;
}

/*
 * Round robin over the given backends, one intro point per backend per
 * round, until the target is reached or nobody has anything left: a
 * water-filling spread, so a backend with few intro points leaves its
 * share to the others.
 */
static void
fill(struct sel_set *s, const struct sel_input *in, const size_t *idx,
    size_t nidx, struct cand *cands, unsigned target, unsigned per_cap)
{
	struct sel_relay	relay[HS_DESC_MAX_INTRO];
	size_t			i;
	int			progress;

	do {
		progress = 0;
		for (i = 0; i < nidx && s->n < target; i++) {
			if (per_cap != 0 && cands[i].taken >= per_cap)
				continue;
			if (take_one(s, relay, in, idx[i], &cands[i]))
				progress = 1;
		}
	} while (progress && s->n < target);
}

static unsigned
target_of(const struct sel_params *p, size_t nb)
{
	unsigned long	t;

	if (p->policy == SEL_POLICY_PER_BACKEND)
		t = (unsigned long)p->per_backend * nb;
	else
		t = p->target;
	if (t > HS_DESC_MAX_INTRO)
		t = HS_DESC_MAX_INTRO;
	return (unsigned)t;
}

static int
params_check(const struct sel_params *p, size_t nb)
{
	if (nb > SEL_MAX_BACKENDS)
		return OB_ERR_LIMIT;
	if (p->policy == SEL_POLICY_PER_BACKEND) {
		if (p->per_backend < 1 || p->per_backend > HS_DESC_MAX_INTRO)
			return OB_ERR_RANGE;
	} else if (p->policy == SEL_POLICY_STEADY) {
		if (p->target < 1 || p->target > HS_DESC_MAX_INTRO)
			return OB_ERR_RANGE;
	} else
		return OB_ERR_RANGE;
	return 0;
}

/* Backends in rank order: the caller's rank, then input order. */
static void
rank_sort(size_t *idx, size_t n, const struct sel_input *in)
{
	size_t	i, j, t;

	for (i = 0; i < n; i++)
		idx[i] = i;
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && in[idx[j - 1]].rank > in[idx[j]].rank;
		    j--) {
			t = idx[j];
			idx[j] = idx[j - 1];
			idx[j - 1] = t;
		}
}

static int
select_among(struct sel_set *s, const struct sel_input *in,
    const size_t *idx, size_t nidx, unsigned target, unsigned per_cap,
    const uint8_t (*prev)[32], size_t nprev)
{
	struct cand	*cands;
	size_t		 i;

	memset(s, 0, sizeof(*s));
	if (nidx == 0)
		return 0;
	if ((cands = calloc(nidx, sizeof(*cands))) == NULL)
		return OB_ERR_NOMEM;
	for (i = 0; i < nidx; i++)
		cand_build(&cands[i], in[idx[i]].desc, prev, nprev);
	fill(s, in, idx, nidx, cands, target, per_cap);
	free(cands);
	return flags_fill(s, in);
}

int
select_intro_points(struct sel_set *s, const struct sel_input *in, size_t nb,
    const struct sel_params *p, const uint8_t (*prev)[32], size_t nprev)
{
	size_t	*idx;
	int	 e;

	memset(s, 0, sizeof(*s));
	if ((e = params_check(p, nb)) != 0)
		return e;
	if (nb == 0)
		return 0;
	if ((idx = calloc(nb, sizeof(*idx))) == NULL)
		return OB_ERR_NOMEM;
	rank_sort(idx, nb, in);
	e = select_among(s, in, idx, nb, target_of(p, nb),
	    p->policy == SEL_POLICY_PER_BACKEND ? p->per_backend : 0,
	    prev, nprev);
	free(idx);
	return e;
}

size_t
select_distinct_count(const struct sel_params *p, size_t nb, size_t maxsets)
{
	unsigned	per_desc;
	size_t		d;

	if (params_check(p, nb) != 0 || nb == 0 || maxsets == 0)
		return 1;
	/* Each backend needs at least one intro point somewhere. */
	per_desc = p->policy == SEL_POLICY_PER_BACKEND ?
	    HS_DESC_MAX_INTRO / p->per_backend : p->target;
	if (per_desc == 0)
		per_desc = 1;
	d = (nb + per_desc - 1) / per_desc;
	if (d < 1)
		d = 1;
	if (d > maxsets)
		d = maxsets;
	return d;
}

int
select_distinct(struct sel_set *sets, size_t nsets, const struct sel_input *in,
    size_t nb, const struct sel_params *p, const uint8_t (*prev)[32],
    size_t nprev)
{
	size_t	*idx, *grp, i, j, ng;
	int	 e = 0;

	if (nsets == 0)
		return OB_ERR_RANGE;
	for (j = 0; j < nsets; j++)
		memset(&sets[j], 0, sizeof(sets[j]));
	if ((e = params_check(p, nb)) != 0)
		return e;
	if (nb == 0)
		return 0;
	if ((idx = calloc(nb, sizeof(*idx))) == NULL)
		return OB_ERR_NOMEM;
	if ((grp = calloc(nb, sizeof(*grp))) == NULL) {
		free(idx);
		return OB_ERR_NOMEM;
	}
	rank_sort(idx, nb, in);
	/*
	 * Descriptor j carries backends j, j + nsets, j + 2*nsets, ... in
	 * rank order: every backend lands in exactly one descriptor, and
	 * the groups differ in size by at most one.
	 */
	for (j = 0; j < nsets && e == 0; j++) {
		ng = 0;
		for (i = j; i < nb; i += nsets)
			grp[ng++] = idx[i];
		e = select_among(&sets[j], in, grp, ng,
		    target_of(p, ng),
		    p->policy == SEL_POLICY_PER_BACKEND ? p->per_backend : 0,
		    prev, nprev);
	}
	free(grp);
	free(idx);
	return e;
}

int
select_set_equal(const struct sel_set *a, const struct sel_set *b)
{
	size_t	i, j;

	if (a->n != b->n || a->flow_control != b->flow_control ||
	    a->single_onion != b->single_onion ||
	    a->fc_sendme_inc != b->fc_sendme_inc ||
	    strcmp(a->fc_versions, b->fc_versions) != 0)
		return 0;
	/* Same intro points, in any order. */
	for (i = 0; i < a->n; i++) {
		for (j = 0; j < b->n; j++)
			if (memcmp(a->auth_key[i], b->auth_key[j], 32) == 0)
				break;
		if (j == b->n)
			return 0;
	}
	return 1;
}
