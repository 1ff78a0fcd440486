/*
 * Tests for collector/hsdir.c: consensus and microdescriptor parsing,
 * the period/SRV choice, and the HSDir ring, checked against what a real
 * tor 0.4.9.11 computed (HSDIR_INDEX= and DescId in its HS_DESC events,
 * tests/vectors/torctl/README) and against hs_keys.h.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "buf.h"
#include "encode.h"
#include "err.h"
#include "hs_keys.h"
#include "hsdir.h"
#include "tests.h"
#include "torctl.h"

/* Parse a captured control-port stream into its replies. */
static struct torctl_reply **
load_replies(const char *name, size_t *n)
{
	struct torctl_parser	*p;
	struct torctl_reply	**v = NULL, *rp;
	uint8_t			*raw;
	size_t			 len;

	*n = 0;
	raw = test_read_file(test_vector_path(name), &len);
	CU_ASSERT_FATAL(raw != NULL);
	CU_ASSERT_FATAL((p = torctl_parser_new(0, 0)) != NULL);
	CU_ASSERT(torctl_parser_feed(p, raw, len) == 0);
	while (torctl_parser_next(p, &rp) == 1) {
		v = reallocarray(v, *n + 1, sizeof(*v));
		CU_ASSERT_FATAL(v != NULL);
		v[(*n)++] = rp;
	}
	torctl_parser_free(p);
	free(raw);
	return v;
}

static void
free_replies(struct torctl_reply **v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		torctl_reply_free(v[i]);
	free(v);
}

/* The captured network's view, built exactly as the collector will. */
static struct hsdir_view *
real_view(void)
{
	struct hsdir_view	*v;
	struct torctl_reply	**r;
	const uint8_t		*val;
	size_t			 n, vl;

	CU_ASSERT_FATAL((v = hsdir_view_new()) != NULL);
	r = load_replies("torctl/getinfo-consensus-microdesc.raw", &n);
	CU_ASSERT_FATAL(n == 1);
	CU_ASSERT_FATAL(torctl_getinfo_value(r[0],
	    "dir/status-vote/current/consensus-microdesc", &val, &vl) == 0);
	CU_ASSERT(hsdir_view_parse_consensus(v, val, vl) == 0);
	free_replies(r, n);
	r = load_replies("torctl/getinfo-md-all.raw", &n);
	CU_ASSERT_FATAL(n == 1);
	CU_ASSERT_FATAL(torctl_getinfo_value(r[0], "md/all", &val, &vl) == 0);
	CU_ASSERT(hsdir_view_add_mds(v, val, vl) == 0);
	free_replies(r, n);
	CU_ASSERT(hsdir_view_finish(v, 1) == 0);
	return v;
}

static const struct hs_relay *
relay_by_fp(const struct hsdir_view *v, const uint8_t fp[HS_RSA_ID_LEN])
{
	const struct hs_relay	*rl;
	size_t			 n, i;

	rl = hsdir_view_relays(v, &n);
	for (i = 0; i < n; i++)
		if (memcmp(rl[i].rsa_id, fp, HS_RSA_ID_LEN) == 0)
			return &rl[i];
	return NULL;
}

static void
test_hsdir_real_consensus(void)
{
	struct hsdir_view		*v;
	struct hsdir_view_stats		 st;
	const struct hsdir_params	*pr;
	const struct hsdir_periods	*pe;
	uint8_t				 srv[32], dis[32];
	size_t				 n;

	v = real_view();
	hsdir_view_stats(v, &st);
	/* 3 authorities and 5 relays, every one an HSDir with an ed key. */
	CU_ASSERT(st.routers == 8);
	CU_ASSERT(st.hsdir_flag == 8 && st.hsdir_v2 == 8);
	CU_ASSERT(st.no_md == 0 && st.no_ed == 0 && st.ring == 8);
	hsdir_view_missing(v, NULL, 0, &n);
	CU_ASSERT(n == 0);
	/* valid-after 2026-11-22 19:46:40, 20 s voting interval. */
	CU_ASSERT(hsdir_view_valid_after(v) == 1795376800);
	CU_ASSERT(hsdir_view_fresh_until(v) == 1795376820);
	CU_ASSERT(hsdir_view_valid_until(v) == 1795376860);
	pr = hsdir_view_params(v);
	CU_ASSERT(pr->n_replicas == 2 && pr->spread_store == 4 &&
	    pr->spread_fetch == 3 && pr->max_desc_size == 50000);
	CU_ASSERT(hsdir_view_srv(v, 0, srv) == 0);	/* a young network */
	CU_ASSERT(hsdir_view_srv(v, 1, srv) == 0);
	pe = hsdir_view_periods(v);
	/* Test network: 24 x 20 s = 8 min periods, 4 min offset. */
	CU_ASSERT(pe->period_len == 8 && pe->rot_offset == 4);
	/* 19:46:40 is 2 min into an SR run (runs start at minutes = 0
	 * mod 8, TPs at 4 mod 8): between the SRV and the TP. */
	CU_ASSERT(pe->between_tp_and_srv == 0);
	CU_ASSERT(pe->first.tp == 3740367 && pe->second.tp == 3740368);
	CU_ASSERT(pe->fetch.tp == 3740367);
	CU_ASSERT(pe->first.srv_is_disaster && pe->second.srv_is_disaster);
	CU_ASSERT(hs_disaster_srv(dis, 3740367, 8) == 0);
	CU_ASSERT(memcmp(pe->first.srv, dis, 32) == 0);
	CU_ASSERT(memcmp(pe->fetch.srv, dis, 32) == 0);
	CU_ASSERT(hs_disaster_srv(dis, 3740368, 8) == 0);
	CU_ASSERT(memcmp(pe->second.srv, dis, 32) == 0);
	CU_ASSERT(pe->second.start == (time_t)(3740368ULL * 8 * 60 + 240));
	hsdir_view_free(v);
}

/*
 * tor's HS_DESC REQUESTED events carry the HSDir's fetch index and the
 * blinded key: our ring must give the same index for that relay, and
 * every HSDir tor asked must be among our fetch HSDirs.
 */
static void
test_hsdir_matches_tor(void)
{
	struct hsdir_view	*v;
	struct torctl_reply	**r;
	struct torctl_hs_desc	 ev;
	struct torctl_hs_desc_content ct;
	const struct hsdir_periods *pe;
	const struct hs_relay	*rl;
	uint8_t			 idx[HS_INDEX_LEN], pk[32], bl[32];
	uint8_t			 fetch[16][HS_RSA_ID_LEN];
	uint8_t			 asked[16][HS_RSA_ID_LEN];
	size_t			 nasked = 0;
	size_t			 n, i, j, nf, found;
	size_t			 requested = 0, contents = 0;
	const char		*files[] = { "torctl/hsfetch-not-found.raw",
				    "torctl/hsfetch-found.raw" };
	size_t			 f;

	v = real_view();
	pe = hsdir_view_periods(v);
	for (f = 0; f < 2; f++) {
		r = load_replies(files[f], &n);
		CU_ASSERT(n > 3);
		for (i = 0; i < n; i++) {
			if (torctl_parse_hs_desc_content(&ct, r[i]) == 0) {
				contents++;
				/* Failures are empty, the hit is the
				 * descriptor. */
				CU_ASSERT(f == 1 ? ct.bodylen > 1000 :
				    ct.bodylen == 0);
				continue;
			}
			if (torctl_parse_hs_desc(&ev, r[i]) != 0 ||
			    ev.action != TORCTL_HS_REQUESTED)
				continue;
			requested++;
			CU_ASSERT_FATAL(ev.has_hsdir && ev.has_blinded &&
			    ev.has_hsdir_index);
			rl = relay_by_fp(v, ev.hsdir);
			CU_ASSERT_FATAL(rl != NULL);
			CU_ASSERT(hs_hsdir_index(idx, rl->ed_id, pe->fetch.srv,
			    pe->fetch.tp, pe->period_len) == 0);
			CU_ASSERT(memcmp(idx, ev.hsdir_index, 32) == 0);
			CU_ASSERT(hsdir_view_fetch_hsdirs(v, ev.blinded, fetch,
			    16, &nf) == 0);
			CU_ASSERT(nf == 6);
			for (found = 0, j = 0; j < nf; j++)
				found += memcmp(fetch[j], ev.hsdir, 20) == 0;
			CU_ASSERT(found == 1);
			if (f == 0 && found == 1 && nasked < 16)
				memcpy(asked[nasked++], ev.hsdir, 20);
			/* The blinded key is the backend's for our fetch
			 * period: the period choice matches tor's. */
			if (f == 1) {
				CU_ASSERT(hs_address_decode(pk,
				    "z7chsctr5xswqon6cmwghxxjl7ljf5u57gfbu2cyp"
				    "4nuzwvcv5pn4zqd") == 0);
				CU_ASSERT(hs_blind_pubkey(bl, pk, pe->fetch.tp,
				    pe->period_len) == 0);
				CU_ASSERT(memcmp(bl, ev.blinded, 32) == 0);
			}
		}
		free_replies(r, n);
	}
	/* tor asked all six fetch HSDirs for the missing address (each
	 * said NOT_FOUND), and one for the backend, which had it. */
	CU_ASSERT(requested == 7);
	CU_ASSERT(contents == 7);
	CU_ASSERT(nasked == 6);
	for (i = 0; i < nasked; i++)
		for (j = i + 1; j < nasked; j++)
			CU_ASSERT(memcmp(asked[i], asked[j], 20) != 0);
	hsdir_view_free(v);
}

static time_t
utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm	tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	return timegm(&tm);
}

static void
test_hsdir_periods(void)
{
	const time_t		S = 1795376800 - 160;
	struct hsdir_periods	p;
	uint8_t			cur[32], prev[32], dis[32];

	memset(cur, 0xcc, sizeof(cur));
	memset(prev, 0x99, sizeof(prev));
	/* Live network: 1 h votes, 1440 min periods.  2016-04-13 11:00
	 * is TP 16903 (tor test_hs_common.c, notes 1.6), between the SRV
	 * (00:00) and the TP (12:00): first = (cur, prev), second =
	 * (cur+1, current), clients fetch the first. */
	CU_ASSERT(hsdir_periods_compute(&p, utc(2016, 4, 13, 11, 0, 0), 3600,
	    1440, cur, prev) == 0);
	CU_ASSERT(p.rot_offset == 720 && !p.between_tp_and_srv);
	CU_ASSERT(p.first.tp == 16903 && p.second.tp == 16904);
	CU_ASSERT(memcmp(p.first.srv, prev, 32) == 0);
	CU_ASSERT(memcmp(p.second.srv, cur, 32) == 0);
	CU_ASSERT(p.fetch.tp == 16903 && memcmp(p.fetch.srv, prev, 32) == 0);
	CU_ASSERT(p.second.start == utc(2016, 4, 13, 12, 0, 0));
	/* 12:00: TP 16904 begins; now between TP and SRV: first = (cur-1,
	 * prev), second = (cur, current) and clients fetch the second. */
	CU_ASSERT(hsdir_periods_compute(&p, utc(2016, 4, 13, 12, 0, 0), 3600,
	    1440, cur, prev) == 0);
	CU_ASSERT(p.between_tp_and_srv);
	CU_ASSERT(p.first.tp == 16903 && p.second.tp == 16904);
	CU_ASSERT(p.fetch.tp == 16904 && memcmp(p.fetch.srv, cur, 32) == 0);
	CU_ASSERT(p.first.start == utc(2016, 4, 12, 12, 0, 0));
	/* 23:00 still between; 00:00 a new SRV: not between. */
	CU_ASSERT(hsdir_periods_compute(&p, utc(2016, 4, 13, 23, 0, 0), 3600,
	    1440, cur, prev) == 0);
	CU_ASSERT(p.between_tp_and_srv && p.second.tp == 16904);
	CU_ASSERT(hsdir_periods_compute(&p, utc(2016, 4, 14, 0, 0, 0), 3600,
	    1440, cur, prev) == 0);
	CU_ASSERT(!p.between_tp_and_srv);
	CU_ASSERT(p.first.tp == 16904 && p.second.tp == 16905);
	/* 00:00 to 12:00: the "first" descriptor is the one clients use. */
	CU_ASSERT(hsdir_periods_compute(&p, utc(2016, 4, 14, 11, 59, 59),
	    3600, 1440, cur, prev) == 0);
	CU_ASSERT(!p.between_tp_and_srv && p.fetch.tp == 16904);
	/* Missing SRVs: each descriptor's own disaster SRV. */
	CU_ASSERT(hsdir_periods_compute(&p, utc(2016, 4, 13, 11, 0, 0), 3600,
	    1440, NULL, NULL) == 0);
	CU_ASSERT(p.first.srv_is_disaster && p.second.srv_is_disaster);
	CU_ASSERT(hs_disaster_srv(dis, 16903, 1440) == 0);
	CU_ASSERT(memcmp(p.first.srv, dis, 32) == 0);
	CU_ASSERT(hs_disaster_srv(dis, 16904, 1440) == 0);
	CU_ASSERT(memcmp(p.second.srv, dis, 32) == 0);
	/* Test network, 20 s votes: SR runs start at minutes = 0 mod 8
	 * (S = 19:44:00 here), TPs at 4 mod 8. */
	CU_ASSERT(hsdir_periods_compute(&p, S, 20, 8, cur, prev) == 0);
	CU_ASSERT(!p.between_tp_and_srv && p.first.tp == 3740367);
	CU_ASSERT(p.second.start == S + 240);
	CU_ASSERT(hsdir_periods_compute(&p, S + 220, 20, 8, cur, prev) == 0);
	CU_ASSERT(!p.between_tp_and_srv && p.second.tp == 3740368);
	CU_ASSERT(hsdir_periods_compute(&p, S + 240, 20, 8, cur, prev) == 0);
	CU_ASSERT(p.between_tp_and_srv && p.first.tp == 3740367 &&
	    p.second.tp == 3740368 && p.fetch.tp == 3740368);
	CU_ASSERT(hsdir_periods_compute(&p, S - 20, 20, 8, cur, prev) == 0);
	CU_ASSERT(p.between_tp_and_srv && p.first.tp == 3740366 &&
	    p.second.tp == 3740367);
	/* Nonsense. */
	CU_ASSERT(hsdir_periods_compute(&p, 1795376800, 0, 8, cur, prev) != 0);
	CU_ASSERT(hsdir_periods_compute(&p, S, 20, 0, cur, prev) != 0);
	CU_ASSERT(hsdir_periods_compute(&p, 60, 3600, 1440, cur, prev) != 0);
}

/* ------------------------------------------------------------------ */
/* A constructed network: exclusions and the ring against hs_keys.h     */

struct synth {
	struct buf	*cons, *mds;
	uint8_t		 ed[64][32];
	uint8_t		 rsa[64][20];
	int		 on_ring[64];
};

static void
b64(char *out, size_t outlen, const uint8_t *p, size_t n)
{
	CU_ASSERT(b64_encode(out, outlen, p, n, B64_NOPAD) == 0);
}

/*
 * n relays: relay i is an HSDir with HSDir=2 and an ed key except that
 * i % 7 == 1 lacks the HSDir flag, i % 7 == 2 has only HSDir=1, i % 7
 * == 3 has no "id ed25519", and i % 7 == 4's microdescriptor is left out
 * of the md text (it comes later, through md/id).
 */
static void
synth_build(struct synth *s, size_t n, struct buf *late)
{
	char		 e[64], d[64], r[64];
	uint8_t		 dig[32];
	unsigned int	 dl;
	size_t		 i, j;
	struct buf	*md;

	memset(s, 0, sizeof(*s));
	CU_ASSERT_FATAL((s->cons = buf_new(0)) != NULL);
	CU_ASSERT_FATAL((s->mds = buf_new(0)) != NULL);
	CU_ASSERT(buf_put_str(s->cons,
	    "network-status-version 3 microdesc\n"
	    "vote-status consensus\n"
	    "valid-after 2016-04-13 11:00:00\n"
	    "fresh-until 2016-04-13 12:00:00\n"
	    "valid-until 2016-04-13 14:00:00\n"
	    "params cc_sendme_inc=33 hsdir_n_replicas=2 "
	    "hsdir_spread_store=3 HSV3MaxDescriptorSize=40000 unknown=-5\n"
	    "shared-rand-previous-value 9 "
	    "mZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZk=\n"
	    "shared-rand-current-value 9 "
	    "zMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMw=\n"
	    "dir-source a 00 127.0.0.1 127.0.0.1 1 1\n") == 0);
	for (i = 0; i < n; i++) {
		for (j = 0; j < 32; j++)
			s->ed[i][j] = (uint8_t)test_rand();
		for (j = 0; j < 20; j++)
			s->rsa[i][j] = (uint8_t)test_rand();
		CU_ASSERT_FATAL((md = buf_new(0)) != NULL);
		b64(e, sizeof(e), s->ed[i], 32);
		CU_ASSERT(buf_putf(md, "onion-key\nntor-onion-key "
		    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"
		    "family $00 $11\n") == 0);
		if (i % 7 != 3)
			CU_ASSERT(buf_putf(md, "id ed25519 %s\n", e) == 0);
		CU_ASSERT(EVP_Digest(buf_ptr(md), buf_len(md), dig, &dl,
		    EVP_sha256(), NULL) == 1);
		b64(d, sizeof(d), dig, 32);
		b64(r, sizeof(r), s->rsa[i], 20);
		CU_ASSERT(buf_putf(s->cons, "r relay%zu %s 2016-04-13 "
		    "10:00:00 127.0.0.1 9001 0\nm %s\ns Fast%s Running Valid\n"
		    "v Tor x\n"
		    "pr Cons=1-2 HSDir=%s Link=1-5\nw Bandwidth=1\n", i, r, d,
		    i % 7 == 1 ? "" : " HSDir", i % 7 == 2 ? "1" : "1-2")
		    == 0);
		if (i % 7 == 4) {
			CU_ASSERT(buf_put(late, buf_ptr(md), buf_len(md))
			    == 0);
		} else {
			/* Annotations, as a cache file would have them. */
			if (i % 5 == 0)
				CU_ASSERT(buf_put_str(s->mds,
				    "@last-listed 2016-04-13\n") == 0);
			CU_ASSERT(buf_put(s->mds, buf_ptr(md), buf_len(md))
			    == 0);
		}
		s->on_ring[i] = i % 7 == 0 || i % 7 >= 4;
		buf_free(md);
	}
	CU_ASSERT(buf_put_str(s->cons, "directory-footer\n"
	    "bandwidth-weights Wbd=0\n"
	    "directory-signature sha256 00 00\n") == 0);
}

static void
test_hsdir_synthetic_ring(void)
{
	struct synth		 s;
	struct hsdir_view	*v;
	struct hsdir_view_stats	 st;
	struct buf		*late;
	const struct hsdir_periods *pe;
	const struct hs_relay	*rl;
	struct hs_relay		*copy;
	uint8_t			 miss[64][20], out[64][20], bl[32];
	size_t			 n = 60, nm, nr, no, idx[64], nidx, i, j, k;
	size_t			 want_ring = 0, want_miss = 0, want_noed = 0;

	CU_ASSERT_FATAL((late = buf_new(0)) != NULL);
	synth_build(&s, n, late);
	for (i = 0; i < n; i++) {
		want_ring += s.on_ring[i];
		want_miss += i % 7 == 4;
		want_noed += i % 7 == 3;
	}
	CU_ASSERT_FATAL((v = hsdir_view_new()) != NULL);
	CU_ASSERT(hsdir_view_parse_consensus(v, buf_ptr(s.cons),
	    buf_len(s.cons)) == 0);
	CU_ASSERT(hsdir_view_parse_consensus(v, buf_ptr(s.cons),
	    buf_len(s.cons)) == OB_ERR_DUPLICATE);
	CU_ASSERT(hsdir_view_add_mds(v, buf_ptr(s.mds), buf_len(s.mds)) == 0);
	/* The relays whose md is missing are reported, not dropped... */
	hsdir_view_missing(v, miss, 64, &nm);
	CU_ASSERT(nm == want_miss);		/* i%7 == 4 */
	for (i = 0, k = 0; i < nm; i++)
		for (j = 0; j < n; j++)
			if (memcmp(miss[i], s.rsa[j], 20) == 0)
				k += j % 7 == 4;
	CU_ASSERT(k == nm);
	/* ...and picked up when their md arrives (GETINFO md/id/<fp>). */
	CU_ASSERT(hsdir_view_add_mds(v, buf_ptr(late), buf_len(late)) == 0);
	hsdir_view_missing(v, miss, 64, &nm);
	CU_ASSERT(nm == 0);	/* i%7 == 3 has an md, just no ed key */
	CU_ASSERT(hsdir_view_finish(v, 0) == 0);
	CU_ASSERT(hsdir_view_add_mds(v, buf_ptr(late), buf_len(late)) != 0);
	hsdir_view_stats(v, &st);
	CU_ASSERT(st.routers == n);
	CU_ASSERT(st.ring == want_ring);
	CU_ASSERT(st.no_ed == want_noed && st.no_md == 0);
	CU_ASSERT(hsdir_view_params(v)->spread_store == 3);
	CU_ASSERT(hsdir_view_params(v)->cc_sendme_inc == 33);
	CU_ASSERT(hsdir_view_params(v)->max_desc_size == 40000);
	pe = hsdir_view_periods(v);
	CU_ASSERT(pe->first.tp == 16903 && pe->first.srv[0] == 0x99);
	CU_ASSERT(pe->second.tp == 16904 && pe->second.srv[0] == 0xcc);
	rl = hsdir_view_relays(v, &nr);
	CU_ASSERT_FATAL(nr == want_ring);
	for (i = 0; i < nr; i++)
		for (j = 0; j < n; j++)
			if (memcmp(rl[i].rsa_id, s.rsa[j], 20) == 0) {
				CU_ASSERT(s.on_ring[j]);
				CU_ASSERT(memcmp(rl[i].ed_id, s.ed[j], 32)
				    == 0);
			}
	/* The same choice as hs_responsible_hsdirs() for both periods. */
	CU_ASSERT_FATAL((copy = calloc(nr, sizeof(*copy))) != NULL);
	for (k = 0; k < 200; k++) {
		const struct hsdir_period *p;

		p = k % 2 ? &pe->first : &pe->second;

		for (i = 0; i < 32; i++)
			bl[i] = (uint8_t)test_rand();
		memcpy(copy, rl, nr * sizeof(*copy));
		CU_ASSERT(hs_responsible_hsdirs(idx, 64, &nidx, copy, nr, bl,
		    p->tp, pe->period_len, p->srv, 2, 3) == 0);
		CU_ASSERT(hsdir_view_responsible(v, p, bl, out, 64, &no) == 0);
		CU_ASSERT(no == 6 && no == nidx);
		for (i = 0; i < no && i < nidx; i++)
			CU_ASSERT(memcmp(out[i], rl[idx[i]].rsa_id, 20) == 0);
	}
	free(copy);
	/* Too small an output array; an unknown period. */
	CU_ASSERT(hsdir_view_responsible(v, &pe->first, bl, out, 5, &no) ==
	    OB_ERR_TOO_LARGE);
	{
		struct hsdir_period	other = pe->first;

		other.tp += 7;
		CU_ASSERT(hsdir_view_responsible(v, &other, bl, out, 64, &no)
		    == OB_ERR_MISMATCH);
	}
	hsdir_view_free(v);
	buf_free(s.cons);
	buf_free(s.mds);
	buf_free(late);
}

/* A ring smaller than replicas x spread: every relay once, no loop. */
static void
test_hsdir_small_ring(void)
{
	struct synth		 s;
	struct hsdir_view	*v;
	struct buf		*late;
	uint8_t			 out[16][20], bl[32];
	size_t			 no;

	CU_ASSERT_FATAL((late = buf_new(0)) != NULL);
	synth_build(&s, 1, late);
	CU_ASSERT_FATAL((v = hsdir_view_new()) != NULL);
	CU_ASSERT(hsdir_view_parse_consensus(v, buf_ptr(s.cons),
	    buf_len(s.cons)) == 0);
	CU_ASSERT(hsdir_view_add_mds(v, buf_ptr(s.mds), buf_len(s.mds)) == 0);
	CU_ASSERT(hsdir_view_finish(v, 0) == 0);
	memset(bl, 7, sizeof(bl));
	CU_ASSERT(hsdir_view_responsible(v, &hsdir_view_periods(v)->first,
	    bl, out, 16, &no) == 0);
	CU_ASSERT(no == 1 && memcmp(out[0], s.rsa[0], 20) == 0);
	CU_ASSERT(hsdir_view_fetch_hsdirs(v, bl, out, 16, &no) == 0);
	CU_ASSERT(no == 1);
	hsdir_view_free(v);
	buf_free(s.cons);
	buf_free(s.mds);
	buf_free(late);
}

static void
test_hsdir_bad_input(void)
{
	static const char *bad[] = {
		"",
		"network-status-version 3\nvalid-after 2016-04-13 11:00:00\n",
		"network-status-version 3 microdesc\n",
		"network-status-version 3 microdesc\nvalid-after 2016-04-13\n",
		"network-status-version 3 microdesc\n"
		    "valid-after 2016-04-13 11:00:00\n"
		    "fresh-until 2016-04-13 10:00:00\n"
		    "valid-until 2016-04-13 14:00:00\n",
		"network-status-version 3 microdesc\n"
		    "valid-after 2016-04-13 11:00:00\n"
		    "fresh-until 2016-04-13 12:00:00\n"
		    "valid-until 2016-04-13 14:00:00\n"
		    "r relay0 !!!! 2016-04-13 10:00:00 127.0.0.1 9001 0\n",
		"network-status-version 3 microdesc\n"
		    "valid-after 2016-04-13 11:00:00\n"
		    "fresh-until 2016-04-13 12:00:00\n"
		    "valid-until 2016-04-13 14:00:00\n"
		    "params hsdir_interval\n",
		"network-status-version 3 microdesc\n"
		    "valid-after 2016-04-13 11:00:00\n"
		    "fresh-until 2016-04-13 12:00:00\n"
		    "valid-until 2016-04-13 14:00:00\n"
		    "shared-rand-current-value 9 short=\n",
		"network-status-version 3 microdesc\n"
		    "valid-after 2016-04-13 11:00:00\n"
		    "fresh-until 2016-04-13 12:00:00\n"
		    "valid-until 2016-04-13 14:00:00\n"
		    "r relay0 AAAAAAAAAAAAAAAAAAAAAAAAAAA 2016-04-13 10:00:00 "
		    "127.0.0.1 9001 0\nm short\n",
		NULL
	};
	struct hsdir_view	*v;
	struct synth		 s;
	struct buf		*late;
	uint8_t			*m;
	size_t			 i, j, len;

	for (i = 0; bad[i] != NULL; i++) {
		CU_ASSERT_FATAL((v = hsdir_view_new()) != NULL);
		CU_ASSERT(hsdir_view_parse_consensus(v,
		    (const uint8_t *)bad[i], strlen(bad[i])) != 0);
		CU_ASSERT(hsdir_view_finish(v, 0) != 0);
		hsdir_view_free(v);
	}
	/* A consensus without routers, then microdescriptors (found by
	 * fuzz_torctl: bsearch() on an empty array). */
	{
		static const char empty[] =
		    "network-status-version 3 microdesc\n"
		    "valid-after 2016-04-13 11:00:00\n"
		    "fresh-until 2016-04-13 12:00:00\n"
		    "valid-until 2016-04-13 14:00:00\n";
		static const char md[] = "onion-key\nid ed25519 "
		    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n";
		uint8_t	out[8][20], bl[32] = { 0 };
		size_t	no;

		CU_ASSERT_FATAL((v = hsdir_view_new()) != NULL);
		CU_ASSERT(hsdir_view_parse_consensus(v,
		    (const uint8_t *)empty, strlen(empty)) == 0);
		CU_ASSERT(hsdir_view_add_mds(v, (const uint8_t *)md,
		    strlen(md)) == 0);
		CU_ASSERT(hsdir_view_finish(v, 0) == 0);
		CU_ASSERT(hsdir_view_responsible(v,
		    &hsdir_view_periods(v)->first, bl, out, 8, &no) == 0);
		CU_ASSERT(no == 0);
		hsdir_view_free(v);
	}
	/* Mutations of a good consensus and md set: errors or a view,
	 * never a crash (ASan/UBSan watch). */
	CU_ASSERT_FATAL((late = buf_new(0)) != NULL);
	synth_build(&s, 20, late);
	len = buf_len(s.cons);
	CU_ASSERT_FATAL((m = malloc(len)) != NULL);
	for (i = 0; i < 400; i++) {
		memcpy(m, buf_ptr(s.cons), len);
		for (j = 0; j < 3; j++)
			m[test_rand() % len] = " \n=-0aA+/"[test_rand() % 9];
		CU_ASSERT_FATAL((v = hsdir_view_new()) != NULL);
		if (hsdir_view_parse_consensus(v, m, len) == 0 &&
		    hsdir_view_add_mds(v, buf_ptr(s.mds), buf_len(s.mds)) == 0)
			CU_ASSERT(hsdir_view_finish(v, i % 2) <= 0);
		hsdir_view_free(v);
	}
	free(m);
	buf_free(s.cons);
	buf_free(s.mds);
	buf_free(late);
}

static const struct test_case tests[] = {
	{ "real consensus and mds", test_hsdir_real_consensus },
	{ "ring matches tor's HSDIR_INDEX", test_hsdir_matches_tor },
	{ "period and SRV choice", test_hsdir_periods },
	{ "constructed network ring", test_hsdir_synthetic_ring },
	{ "ring smaller than the spread", test_hsdir_small_ring },
	{ "bad input", test_hsdir_bad_input },
	{ NULL, NULL }
};

void
test_register_hsdir(void)
{
	test_add_suite("hsdir", tests);
}
