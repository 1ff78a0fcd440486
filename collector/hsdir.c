/*
 * The network view: microdesc consensus, microdescriptors, time periods
 * and the HSDir ring.  See hsdir.h for the contract.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "buf.h"
#include "encode.h"
#include "err.h"
#include "hs_keys.h"
#include "hsdir.h"
#include "log.h"

#define HSDIR_MAX_LINE		16384
#define SR_N_ROUNDS		12	/* SHARED_RANDOM_N_ROUNDS */
#define SR_N_PHASES		2

struct router {
	uint8_t		rsa_id[HS_RSA_ID_LEN];
	uint8_t		md_digest[HSDIR_MD_DIGEST_LEN];
	uint8_t		ed_id[ED25519_PK_LEN];
	unsigned	has_m:1, hsdir_flag:1, hsdir_v2:1, has_md:1, has_ed:1;
};

/* One entry of a sorted ring: an hsdir index and the relay it names. */
struct ring_entry {
	uint8_t		index[HS_INDEX_LEN];
	size_t		relay;
};

struct hsdir_view {
	int			 have_consensus;
	int			 finished;
	time_t			 valid_after, fresh_until, valid_until;
	struct hsdir_params	 params;
	int			 have_srv_cur, have_srv_prev;
	uint8_t			 srv_cur[HS_SRV_LEN], srv_prev[HS_SRV_LEN];

	struct router		*routers;	/* sorted by md digest */
	size_t			 nrouters;

	struct hs_relay		*relays;	/* the ring's members */
	size_t			 nrelays;
	struct hsdir_periods	 periods;
	struct ring_entry	*ring_first, *ring_second;
};

struct hsdir_view *
hsdir_view_new(void)
{
	struct hsdir_view	*v;

	if ((v = calloc(1, sizeof(*v))) == NULL)
		return NULL;
	v->params.hsdir_interval = HS_PERIOD_LEN_DEFAULT;
	v->params.n_replicas = HS_N_REPLICAS_DEFAULT;
	v->params.spread_store = HS_SPREAD_STORE_DEFAULT;
	v->params.spread_fetch = HS_SPREAD_FETCH_DEFAULT;
	v->params.max_desc_size = 50000;
	v->params.cc_sendme_inc = 31;
	return v;
}

void
hsdir_view_free(struct hsdir_view *v)
{
	if (v == NULL)
		return;
	free(v->routers);
	free(v->relays);
	free(v->ring_first);
	free(v->ring_second);
	free(v);
}

/* ------------------------------------------------------------------ */
/* Consensus                                                           */

/*
 * Next space-separated word of a line (the rest if it is the last one);
 * consumes it and the one space after it.  An empty word is an error;
 * a trailing space is not (tor writes "client-versions " when empty).
 */
static int
next_word(struct buf *line, struct buf *w)
{
	const uint8_t	*sp;
	size_t		 n;
	int		 r;

	if (buf_len(line) == 0)
		return OB_ERR_MISSING;
	sp = memchr(buf_ptr(line), ' ', buf_len(line));
	n = sp != NULL ? (size_t)(sp - buf_ptr(line)) : buf_len(line);
	if (n == 0)
		return OB_ERR_FORMAT;
	if ((r = buf_get_view(line, n, w)) != 0)
		return r;
	if (sp != NULL && (r = buf_consume(line, 1)) != 0)
		return r;
	return 0;
}

/* "YYYY-MM-DD" "HH:MM:SS" as two words, UTC. */
static int
parse_time(struct buf *line, time_t *out)
{
	struct buf	d, t;
	char		s[20];
	struct tm	tm;
	char		*end;
	int		r;

	if ((r = next_word(line, &d)) != 0 || (r = next_word(line, &t)) != 0)
		return OB_ERR_FORMAT;
	if (buf_len(&d) != 10 || buf_len(&t) != 8)
		return OB_ERR_FORMAT;
	memcpy(s, buf_ptr(&d), 10);
	s[10] = ' ';
	memcpy(s + 11, buf_ptr(&t), 8);
	s[19] = '\0';
	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m-%d %H:%M:%S", &tm)) == NULL ||
	    *end != '\0')
		return OB_ERR_FORMAT;
	*out = timegm(&tm);
	if (*out == (time_t)-1)
		return OB_ERR_RANGE;
	return 0;
}

/* A signed decimal. */
static int
word_to_i64(const struct buf *w, int64_t *out)
{
	struct buf	t = *w;
	uint64_t	u;
	int		neg = 0, r;

	if (buf_has_prefix(&t, "-")) {
		neg = 1;
		if ((r = buf_consume(&t, 1)) != 0)
			return r;
	}
	if (buf_eq_str(&t, "0")) {
		*out = 0;
		return 0;
	}
	if ((r = buf_to_u64(&t, &u)) != 0 || u > INT32_MAX)
		return OB_ERR_FORMAT;
	*out = neg ? -(int64_t)u : (int64_t)u;
	return 0;
}

/* Clamp as networkstatus_get_param() does: out of range -> bound. */
static int64_t
clamp(int64_t v, int64_t lo, int64_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

static int
parse_params(struct hsdir_view *v, struct buf *line)
{
	struct buf	w, k;
	const uint8_t	*eq;
	int64_t		val;
	int		r;

	while (buf_len(line) > 0) {
		if ((r = next_word(line, &w)) != 0)
			return OB_ERR_FORMAT;
		if ((eq = memchr(buf_ptr(&w), '=', buf_len(&w))) == NULL)
			return OB_ERR_FORMAT;
		if ((r = buf_get_view(&w, (size_t)(eq - buf_ptr(&w)),
		    &k)) != 0 ||
		    (r = buf_consume(&w, 1)) != 0 ||
		    (r = word_to_i64(&w, &val)) != 0)
			return OB_ERR_FORMAT;
		/* Bounds from tor: hs_common.c, hs_descriptor.c,
		 * congestion_control_common.c. */
		if (buf_eq_str(&k, "hsdir_interval"))
			v->params.hsdir_interval = (uint64_t)clamp(val, 5,
			    14400);
		else if (buf_eq_str(&k, "hsdir_n_replicas"))
			v->params.n_replicas = (unsigned)clamp(val, 1, 16);
		else if (buf_eq_str(&k, "hsdir_spread_store"))
			v->params.spread_store = (unsigned)clamp(val, 1, 128);
		else if (buf_eq_str(&k, "hsdir_spread_fetch"))
			v->params.spread_fetch = (unsigned)clamp(val, 1, 128);
		else if (buf_eq_str(&k, "HSV3MaxDescriptorSize"))
			v->params.max_desc_size = (uint32_t)clamp(val, 1,
			    INT32_MAX);
		else if (buf_eq_str(&k, "cc_sendme_inc"))
			v->params.cc_sendme_inc = (int)clamp(val, 1, 254);
	}
	return 0;
}

/* "<NumReveals> <base64 32 bytes, padded>". */
static int
parse_srv(struct buf *line, uint8_t out[HS_SRV_LEN])
{
	struct buf	n, val;
	uint64_t	u;
	size_t		got;
	int		r;

	if ((r = next_word(line, &n)) != 0 || buf_to_u64(&n, &u) != 0 ||
	    (r = next_word(line, &val)) != 0 || buf_len(line) != 0)
		return OB_ERR_FORMAT;
	if (b64_decode(out, HS_SRV_LEN, &got, &val, B64_PAD) != 0 ||
	    got != HS_SRV_LEN)
		return OB_ERR_FORMAT;
	return 0;
}

/* "pr" line: is HSDir=2 among the supported ranges? */
static int
pr_has_hsdir2(struct buf *line)
{
	struct buf	w, range;
	const uint8_t	*c, *dash;
	uint64_t	lo, hi;

	while (buf_len(line) > 0) {
		if (next_word(line, &w) != 0)
			return 0;
		if (!buf_has_prefix(&w, "HSDir=") || buf_consume(&w, 6) != 0)
			continue;
		while (buf_len(&w) > 0) {
			c = memchr(buf_ptr(&w), ',', buf_len(&w));
			if (buf_get_view(&w, c != NULL ?
			    (size_t)(c - buf_ptr(&w)) : buf_len(&w),
			    &range) != 0)
				return 0;
			if (c != NULL && buf_consume(&w, 1) != 0)
				return 0;
			dash = memchr(buf_ptr(&range), '-', buf_len(&range));
			if (dash == NULL) {
				if (buf_to_u64(&range, &lo) != 0)
					return 0;
				hi = lo;
			} else {
				struct buf	a, b = range;

				if (buf_get_view(&b, (size_t)(dash -
				    buf_ptr(&b)), &a) != 0 ||
				    buf_consume(&b, 1) != 0 ||
				    buf_to_u64(&a, &lo) != 0 ||
				    buf_to_u64(&b, &hi) != 0)
					return 0;
			}
			if (lo <= 2 && 2 <= hi)
				return 1;
		}
	}
	return 0;
}

static int
cmp_router_digest(const void *a, const void *b)
{
	const struct router	*ra = a, *rb = b;

	if (ra->has_m != rb->has_m)
		return ra->has_m ? 1 : -1;
	return memcmp(ra->md_digest, rb->md_digest, HSDIR_MD_DIGEST_LEN);
}

int
hsdir_view_parse_consensus(struct hsdir_view *v, const uint8_t *text,
    size_t len)
{
	struct buf	 in, line, kw;
	struct router	*rt = NULL, *nr;
	size_t		 cap = 0, got;
	size_t		 lineno = 0;
	int		 r, in_footer = 0, seen_version = 0;
	int		 have_va = 0, have_fu = 0, have_vu = 0;

	if (v->have_consensus)
		return OB_ERR_DUPLICATE;
	buf_init_ro(&in, text, len);
	while (buf_len(&in) > 0) {
		lineno++;
		if ((r = buf_get_line(&in, HSDIR_MAX_LINE, &line, NULL)) != 0)
			goto err;
		if (buf_len(&line) == 0)
			continue;
		if ((r = next_word(&line, &kw)) != 0) {
			r = OB_ERR_FORMAT;
			goto err;
		}
		if (!seen_version) {
			if (!buf_eq_str(&kw, "network-status-version") ||
			    !buf_eq_str(&line, "3 microdesc")) {
				log_warnx("%s: not a microdesc consensus",
				    __func__);
				r = OB_ERR_FORMAT;
				goto err;
			}
			seen_version = 1;
			continue;
		}
		if (in_footer)
			continue;
		if (buf_eq_str(&kw, "directory-footer")) {
			in_footer = 1;
			continue;
		}
		if (buf_eq_str(&kw, "r")) {
			struct buf	nick, id;

			if (v->nrouters == HSDIR_MAX_RELAYS) {
				r = OB_ERR_LIMIT;
				goto err;
			}
			if (v->nrouters == cap) {
				cap = cap ? cap * 2 : 1024;
				if ((nr = reallocarray(v->routers, cap,
				    sizeof(*nr))) == NULL) {
					r = OB_ERR_NOMEM;
					goto err;
				}
				v->routers = nr;
			}
			rt = &v->routers[v->nrouters++];
			memset(rt, 0, sizeof(*rt));
			if (next_word(&line, &nick) != 0 ||
			    next_word(&line, &id) != 0 ||
			    b64_decode(rt->rsa_id, HS_RSA_ID_LEN, &got, &id,
			    B64_NOPAD) != 0 || got != HS_RSA_ID_LEN) {
				r = OB_ERR_FORMAT;
				goto err;
			}
			continue;
		}
		if (rt != NULL) {
			/* Inside a router entry. */
			if (buf_eq_str(&kw, "m")) {
				if (rt->has_m || b64_decode(rt->md_digest,
				    HSDIR_MD_DIGEST_LEN, &got, &line,
				    B64_NOPAD) != 0 ||
				    got != HSDIR_MD_DIGEST_LEN) {
					r = OB_ERR_FORMAT;
					goto err;
				}
				rt->has_m = 1;
			} else if (buf_eq_str(&kw, "s")) {
				struct buf	f;

				while (next_word(&line, &f) == 0)
					if (buf_eq_str(&f, "HSDir"))
						rt->hsdir_flag = 1;
			} else if (buf_eq_str(&kw, "pr"))
				rt->hsdir_v2 = pr_has_hsdir2(&line);
			continue;
		}
		/* Header. */
		if (buf_eq_str(&kw, "valid-after")) {
			if ((r = parse_time(&line, &v->valid_after)) != 0)
				goto err;
			have_va = 1;
		} else if (buf_eq_str(&kw, "fresh-until")) {
			if ((r = parse_time(&line, &v->fresh_until)) != 0)
				goto err;
			have_fu = 1;
		} else if (buf_eq_str(&kw, "valid-until")) {
			if ((r = parse_time(&line, &v->valid_until)) != 0)
				goto err;
			have_vu = 1;
		} else if (buf_eq_str(&kw, "params")) {
			if ((r = parse_params(v, &line)) != 0)
				goto err;
		} else if (buf_eq_str(&kw, "shared-rand-current-value")) {
			if ((r = parse_srv(&line, v->srv_cur)) != 0)
				goto err;
			v->have_srv_cur = 1;
		} else if (buf_eq_str(&kw, "shared-rand-previous-value")) {
			if ((r = parse_srv(&line, v->srv_prev)) != 0)
				goto err;
			v->have_srv_prev = 1;
		}
	}
	if (!seen_version || !have_va || !have_fu || !have_vu) {
		r = OB_ERR_MISSING;
		goto err;
	}
	if (v->fresh_until <= v->valid_after ||
	    v->valid_until < v->fresh_until) {
		r = OB_ERR_RANGE;
		goto err;
	}
	if (v->nrouters > 0)
		qsort(v->routers, v->nrouters, sizeof(*v->routers),
		    cmp_router_digest);
	v->have_consensus = 1;
	return 0;
 err:
	log_warnx("%s: consensus rejected at line %zu: %s", __func__, lineno,
	    ob_strerror(r));
	free(v->routers);
	v->routers = NULL;
	v->nrouters = 0;
	return r;
}

/* ------------------------------------------------------------------ */
/* Microdescriptors                                                    */

static struct router *
find_router_by_md(struct hsdir_view *v, const uint8_t d[HSDIR_MD_DIGEST_LEN])
{
	struct router	key;

	if (v->nrouters == 0)
		return NULL;	/* bsearch() wants a real array */
	memset(&key, 0, sizeof(key));
	key.has_m = 1;
	memcpy(key.md_digest, d, HSDIR_MD_DIGEST_LEN);
	return bsearch(&key, v->routers, v->nrouters, sizeof(*v->routers),
	    cmp_router_digest);
}

/* One microdescriptor: its exact text (what the "m" digest covers). */
static int
md_one(struct hsdir_view *v, const uint8_t *p, size_t n)
{
	struct buf	 in, line, kw, w;
	struct router	*rt;
	uint8_t		 d[HSDIR_MD_DIGEST_LEN], ed[ED25519_PK_LEN];
	unsigned int	 dlen = 0;
	size_t		 got;
	int		 has_ed = 0, r;

	if (EVP_Digest(p, n, d, &dlen, EVP_sha256(), NULL) != 1 ||
	    dlen != sizeof(d))
		return OB_ERR_INTERNAL;
	if ((rt = find_router_by_md(v, d)) == NULL)
		return 0;	/* not in this consensus */
	buf_init_ro(&in, p, n);
	while (buf_len(&in) > 0) {
		if ((r = buf_get_line(&in, HSDIR_MAX_LINE, &line, NULL)) != 0)
			return r;
		if (next_word(&line, &kw) != 0 || !buf_eq_str(&kw, "id"))
			continue;
		if (next_word(&line, &w) != 0 || !buf_eq_str(&w, "ed25519"))
			continue;
		if (next_word(&line, &w) != 0 || buf_eq_str(&w, "none"))
			continue;
		if (has_ed || b64_decode(ed, sizeof(ed), &got, &w,
		    B64_NOPAD) != 0 || got != sizeof(ed))
			return OB_ERR_FORMAT;
		has_ed = 1;
	}
	/* Several relays may share one md (rare); fill every match. */
	while (rt > v->routers && cmp_router_digest(rt - 1, rt) == 0)
		rt--;
	for (; rt < v->routers + v->nrouters &&
	    rt->has_m && memcmp(rt->md_digest, d, sizeof(d)) == 0; rt++) {
		rt->has_md = 1;
		rt->has_ed = has_ed;
		if (has_ed)
			memcpy(rt->ed_id, ed, sizeof(ed));
	}
	return 0;
}

int
hsdir_view_add_mds(struct hsdir_view *v, const uint8_t *text, size_t len)
{
	struct buf	 in, line;
	const uint8_t	*start = NULL;
	size_t		 startoff = 0, off;
	int		 r;

	if (!v->have_consensus || v->finished)
		return OB_ERR_INTERNAL;
	/*
	 * A microdescriptor runs from its "onion-key" line to the next
	 * "onion-key" or "@" annotation line (tor's
	 * find_start_of_next_microdesc()).
	 */
	buf_init_ro(&in, text, len);
	for (;;) {
		off = len - buf_len(&in);
		if (buf_len(&in) == 0 || buf_has_prefix(&in, "onion-key") ||
		    buf_has_prefix(&in, "@")) {
			if (start != NULL &&
			    (r = md_one(v, start, off - startoff)) != 0)
				goto err;
			start = NULL;
			if (buf_len(&in) == 0)
				break;
			if (buf_has_prefix(&in, "onion-key")) {
				start = buf_ptr(&in);
				startoff = off;
			}
		}
		if ((r = buf_get_line(&in, HSDIR_MAX_LINE, &line, NULL)) != 0)
			goto err;
	}
	return 0;
 err:
	log_warnx("%s: microdescriptors rejected: %s", __func__,
	    ob_strerror(r));
	return r;
}

void
hsdir_view_missing(const struct hsdir_view *v,
    uint8_t (*out)[HS_RSA_ID_LEN], size_t max, size_t *n)
{
	size_t	i;

	*n = 0;
	for (i = 0; i < v->nrouters; i++) {
		const struct router *rt = &v->routers[i];

		if (!rt->hsdir_flag || !rt->hsdir_v2 || rt->has_md)
			continue;
		if (*n < max)
			memcpy(out[*n], rt->rsa_id, HS_RSA_ID_LEN);
		(*n)++;
	}
}

/* ------------------------------------------------------------------ */
/* Periods and rings                                                   */

int
hsdir_periods_compute(struct hsdir_periods *p, time_t valid_after,
    unsigned vi, uint64_t period_len, const uint8_t *srv_cur,
    const uint8_t *srv_prev)
{
	uint64_t	cur, phase_s;
	time_t		srv_start, tp_start;
	int		r;

	memset(p, 0, sizeof(*p));
	if (vi == 0 || period_len == 0 || valid_after <= 0)
		return OB_ERR_RANGE;
	/* sr_state_get_phase_duration(): 12 voting rounds. */
	phase_s = (uint64_t)SR_N_ROUNDS * vi;
	p->period_len = period_len;
	p->rot_offset = phase_s / 60;
	if ((uint64_t)valid_after / 60 <= p->rot_offset)
		return OB_ERR_RANGE;
	cur = hs_time_period(valid_after, period_len, p->rot_offset);

	/*
	 * hs_in_period_between_tp_and_srv(): the current SR run began at
	 * the round slot 0 at or before valid-after; the first TP to start
	 * after that is the boundary.
	 */
	srv_start = valid_after - (time_t)(((uint64_t)valid_after / vi) %
	    (SR_N_ROUNDS * SR_N_PHASES)) * (time_t)vi;
	tp_start = (time_t)((hs_time_period(srv_start, period_len,
	    p->rot_offset) + 1) * period_len * 60 + phase_s);
	p->between_tp_and_srv = !(valid_after >= srv_start &&
	    valid_after < tp_start);

	if (p->between_tp_and_srv) {
		if (cur == 0)
			return OB_ERR_RANGE;
		p->first.tp = cur - 1;
		p->second.tp = cur;
	} else {
		p->first.tp = cur;
		p->second.tp = cur + 1;
	}
	/* The first descriptor uses the previous SRV, the second the
	 * current one; each falls back to the disaster SRV of its own TP
	 * (hs_get_previous_srv / hs_get_current_srv). */
	if (srv_prev != NULL)
		memcpy(p->first.srv, srv_prev, HS_SRV_LEN);
	else if ((r = hs_disaster_srv(p->first.srv, p->first.tp,
	    period_len)) != 0)
		return r;
	p->first.srv_is_disaster = srv_prev == NULL;
	if (srv_cur != NULL)
		memcpy(p->second.srv, srv_cur, HS_SRV_LEN);
	else if ((r = hs_disaster_srv(p->second.srv, p->second.tp,
	    period_len)) != 0)
		return r;
	p->second.srv_is_disaster = srv_cur == NULL;
	p->first.start = (time_t)(p->first.tp * period_len * 60 + phase_s);
	p->second.start = (time_t)(p->second.tp * period_len * 60 + phase_s);
	/* Clients fetch in the current TP: that is the second descriptor
	 * between TP and SRV, the first one otherwise. */
	p->fetch = p->between_tp_and_srv ? p->second : p->first;
	return 0;
}

static int
cmp_ring(const void *a, const void *b)
{
	return memcmp(((const struct ring_entry *)a)->index,
	    ((const struct ring_entry *)b)->index, HS_INDEX_LEN);
}

static int
ring_build(struct hsdir_view *v, const struct hsdir_period *p,
    struct ring_entry **out)
{
	struct ring_entry	*ring;
	size_t			 i;
	int			 r;

	*out = NULL;
	if (v->nrelays == 0)
		return 0;
	if ((ring = calloc(v->nrelays, sizeof(*ring))) == NULL)
		return OB_ERR_NOMEM;
	for (i = 0; i < v->nrelays; i++) {
		if ((r = hs_hsdir_index(ring[i].index, v->relays[i].ed_id,
		    p->srv, p->tp, v->periods.period_len)) != 0) {
			free(ring);
			return r;
		}
		ring[i].relay = i;
	}
	qsort(ring, v->nrelays, sizeof(*ring), cmp_ring);
	*out = ring;
	return 0;
}

int
hsdir_view_finish(struct hsdir_view *v, int testnet)
{
	uint64_t	vi, period_len, rot;
	size_t		i, n = 0;
	int		r;

	if (!v->have_consensus || v->finished)
		return OB_ERR_INTERNAL;
	vi = (uint64_t)(v->fresh_until - v->valid_after);
	if (vi > 86400) {
		log_warnx("%s: voting interval of %llu s", __func__,
		    (unsigned long long)vi);
		return OB_ERR_RANGE;
	}
	/* get_time_period_length(): a test network rotates once per SR
	 * run, whatever hsdir_interval says (hs_keys.h). */
	if ((r = hs_period_params(&period_len, &rot, v->valid_after,
	    v->fresh_until, testnet, (int64_t)v->params.hsdir_interval)) != 0)
		return r;
	if ((r = hsdir_periods_compute(&v->periods, v->valid_after,
	    (unsigned)vi, period_len, v->have_srv_cur ? v->srv_cur : NULL,
	    v->have_srv_prev ? v->srv_prev : NULL)) != 0)
		return r;
	if (v->periods.rot_offset != rot)
		return OB_ERR_INTERNAL;

	for (i = 0; i < v->nrouters; i++)
		if (v->routers[i].hsdir_flag && v->routers[i].hsdir_v2 &&
		    v->routers[i].has_ed)
			n++;
	if (n > 0 && (v->relays = calloc(n, sizeof(*v->relays))) == NULL)
		return OB_ERR_NOMEM;
	for (i = 0; i < v->nrouters; i++) {
		const struct router *rt = &v->routers[i];

		if (!rt->hsdir_flag || !rt->hsdir_v2 || !rt->has_ed)
			continue;
		memcpy(v->relays[v->nrelays].ed_id, rt->ed_id, ED25519_PK_LEN);
		memcpy(v->relays[v->nrelays].rsa_id, rt->rsa_id,
		    HS_RSA_ID_LEN);
		v->nrelays++;
	}
	if ((r = ring_build(v, &v->periods.first, &v->ring_first)) != 0 ||
	    (r = ring_build(v, &v->periods.second, &v->ring_second)) != 0)
		return r;
	v->finished = 1;
	return 0;
}

time_t
hsdir_view_valid_after(const struct hsdir_view *v)
{
	return v->valid_after;
}

time_t
hsdir_view_fresh_until(const struct hsdir_view *v)
{
	return v->fresh_until;
}

time_t
hsdir_view_valid_until(const struct hsdir_view *v)
{
	return v->valid_until;
}

const struct hsdir_params *
hsdir_view_params(const struct hsdir_view *v)
{
	return &v->params;
}

const struct hsdir_periods *
hsdir_view_periods(const struct hsdir_view *v)
{
	return &v->periods;
}

int
hsdir_view_srv(const struct hsdir_view *v, int previous,
    uint8_t out[HS_SRV_LEN])
{
	if (previous ? !v->have_srv_prev : !v->have_srv_cur)
		return 0;
	memcpy(out, previous ? v->srv_prev : v->srv_cur, HS_SRV_LEN);
	return 1;
}

void
hsdir_view_stats(const struct hsdir_view *v, struct hsdir_view_stats *st)
{
	size_t	i;

	memset(st, 0, sizeof(*st));
	st->routers = v->nrouters;
	for (i = 0; i < v->nrouters; i++) {
		const struct router *rt = &v->routers[i];

		if (!rt->hsdir_flag)
			continue;
		st->hsdir_flag++;
		if (!rt->hsdir_v2)
			continue;
		st->hsdir_v2++;
		if (!rt->has_m || !rt->has_md)
			st->no_md++;
		else if (!rt->has_ed)
			st->no_ed++;
	}
	st->ring = v->nrelays;
}

const struct hs_relay *
hsdir_view_relays(const struct hsdir_view *v, size_t *n)
{
	*n = v->nrelays;
	return v->relays;
}

/* First ring position whose index is >= key (n if none). */
static size_t
ring_lower_bound(const struct ring_entry *ring, size_t n,
    const uint8_t key[HS_INDEX_LEN])
{
	size_t	lo = 0, hi = n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (memcmp(ring[mid].index, key, HS_INDEX_LEN) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* hs_get_responsible_hsdirs() over a sorted ring. */
static int
ring_pick(const struct hsdir_view *v, const struct ring_entry *ring,
    const struct hsdir_period *p, const uint8_t blinded[ED25519_PK_LEN],
    unsigned spread, uint8_t (*out)[HS_RSA_ID_LEN], size_t max, size_t *n)
{
	uint8_t		 key[HS_INDEX_LEN];
	uint8_t		*chosen = NULL;
	size_t		 idx, start, added;
	unsigned	 replica;
	int		 r = 0;

	*n = 0;
	if (v->nrelays == 0)
		return 0;
	if ((chosen = calloc(v->nrelays, 1)) == NULL)
		return OB_ERR_NOMEM;
	for (replica = 1; replica <= v->params.n_replicas; replica++) {
		if ((r = hs_service_index(key, blinded, replica,
		    v->periods.period_len, p->tp)) != 0)
			goto err;
		start = idx = ring_lower_bound(ring, v->nrelays, key);
		if (idx == v->nrelays)
			start = idx = 0;
		added = 0;
		while (added < spread) {
			size_t rel = ring[idx].relay;

			if (!chosen[rel]) {
				chosen[rel] = 1;
				added++;
				if (*n < max)
					memcpy(out[*n], v->relays[rel].rsa_id,
					    HS_RSA_ID_LEN);
				(*n)++;
			}
			if (++idx == v->nrelays)
				idx = 0;
			if (idx == start)
				break;
		}
	}
	if (*n > max) {
		r = OB_ERR_TOO_LARGE;
		goto err;
	}
 err:
	free(chosen);
	return r;
}

int
hsdir_view_responsible(const struct hsdir_view *v,
    const struct hsdir_period *p, const uint8_t blinded[ED25519_PK_LEN],
    uint8_t (*out)[HS_RSA_ID_LEN], size_t max, size_t *n)
{
	const struct ring_entry	*ring;

	*n = 0;
	if (!v->finished)
		return OB_ERR_INTERNAL;
	if (p->tp == v->periods.first.tp &&
	    memcmp(p->srv, v->periods.first.srv, HS_SRV_LEN) == 0)
		ring = v->ring_first;
	else if (p->tp == v->periods.second.tp &&
	    memcmp(p->srv, v->periods.second.srv, HS_SRV_LEN) == 0)
		ring = v->ring_second;
	else
		return OB_ERR_MISMATCH;
	return ring_pick(v, ring, p, blinded, v->params.spread_store, out,
	    max, n);
}

int
hsdir_view_fetch_hsdirs(const struct hsdir_view *v,
    const uint8_t blinded[ED25519_PK_LEN], uint8_t (*out)[HS_RSA_ID_LEN],
    size_t max, size_t *n)
{
	*n = 0;
	if (!v->finished)
		return OB_ERR_INTERNAL;
	return ring_pick(v, v->periods.between_tp_and_srv ? v->ring_second :
	    v->ring_first, &v->periods.fetch, blinded,
	    v->params.spread_fetch, out, max, n);
}
