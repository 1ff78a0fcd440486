/*
 * Intro point selection (collector/select.c): the cap of 20, the spread
 * over backends, the steady count, same-relay exclusion, stickiness,
 * flags, distinct descriptors.  Backends are synthetic decoded
 * descriptors: selection never looks past hs_desc.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"
#include "err.h"
#include "tests.h"

#define NB_MAX	40

static struct hs_desc	descs[NB_MAX];
static struct sel_input	in[NB_MAX];

/* Link specs: IPv4 + legacy id (relay r) + ed25519 id (relay r). */
static void
ip_make(struct hs_intro_point *ip, unsigned backend, unsigned i,
    unsigned relay)
{
	uint8_t	*p = ip->linkspec;

	memset(ip, 0, sizeof(*ip));
	*p++ = 3;
	*p++ = 0x00; *p++ = 6;
	*p++ = 127; *p++ = 0; *p++ = 0; *p++ = 1; *p++ = 0x23; *p++ = 0x28;
	*p++ = 0x02; *p++ = 20;
	memset(p, 0, 20);
	p[0] = (uint8_t)(relay >> 8);
	p[1] = (uint8_t)relay;
	p += 20;
	*p++ = 0x03; *p++ = 32;
	memset(p, 0xee, 32);
	p[0] = (uint8_t)(relay >> 8);
	p[1] = (uint8_t)relay;
	p += 32;
	ip->linkspec_len = (size_t)(p - ip->linkspec);
	ip->auth_key_cert.certified_key[0] = (uint8_t)backend;
	ip->auth_key_cert.certified_key[1] = (uint8_t)i;
	ip->auth_key_cert.certified_key[2] = 0xa5;
}

/* nb backends with nip intro points each, all on distinct relays. */
static void
make_backends(size_t nb, size_t nip)
{
	size_t	b, i;

	memset(descs, 0, sizeof(descs));
	for (b = 0; b < nb; b++) {
		descs[b].n_intro = nip;
		descs[b].has_flow_control = 1;
		strcpy(descs[b].flow_control_versions, "1-2");
		descs[b].flow_control_sendme_inc = 31;
		for (i = 0; i < nip; i++)
			ip_make(&descs[b].intro[i], (unsigned)b, (unsigned)i,
			    (unsigned)(b * 100 + i + 1));
		in[b].desc = &descs[b];
		in[b].rank = (uint32_t)b;
	}
}

static size_t
count_backend(const struct sel_set *s, size_t b)
{
	size_t	i, n = 0;

	for (i = 0; i < s->n; i++)
		if (s->pick[i].backend == b)
			n++;
	return n;
}

/* The relay of pick i, from its backend's link specifiers (in[]). */
static int
pick_relay(struct sel_relay *r, const struct sel_set *s, size_t i)
{
	const struct hs_intro_point *ip =
	    &in[s->pick[i].backend].desc->intro[s->pick[i].intro];

	return select_relay_id(r, ip->linkspec, ip->linkspec_len);
}

static int
no_same_relay(const struct sel_set *s)
{
	struct sel_relay	a, b;
	size_t			i, j;

	for (i = 0; i < s->n; i++)
		for (j = i + 1; j < s->n; j++) {
			if (pick_relay(&a, s, i) != 0 ||
			    pick_relay(&b, s, j) != 0 ||
			    select_relay_same(&a, &b))
				return 0;
		}
	return 1;
}

static void
test_cap_20(void)
{
	struct sel_params	p = { SEL_POLICY_PER_BACKEND, 0, 3 };
	struct sel_set		s;

	/* 11 backends x 3: OnionBalance would publish 22 and break. */
	make_backends(11, 3);
	CU_ASSERT_FATAL(select_intro_points(&s, in, 11, &p, NULL, 0) == 0);
	CU_ASSERT(s.n == 20);
	CU_ASSERT(s.n_backends == 11);
	p.per_backend = 2;
	CU_ASSERT_FATAL(select_intro_points(&s, in, 11, &p, NULL, 0) == 0);
	CU_ASSERT(s.n == 20);
	/* Out-of-range parameters are refused, never clamped silently. */
	p.per_backend = 21;
	CU_ASSERT(select_intro_points(&s, in, 11, &p, NULL, 0) ==
	    OB_ERR_RANGE);
	p.policy = SEL_POLICY_STEADY;
	p.target = 0;
	CU_ASSERT(select_intro_points(&s, in, 11, &p, NULL, 0) ==
	    OB_ERR_RANGE);
	p.target = 21;
	CU_ASSERT(select_intro_points(&s, in, 11, &p, NULL, 0) ==
	    OB_ERR_RANGE);
}

static void
test_spread(void)
{
	struct sel_params	p = { SEL_POLICY_STEADY, 10, 0 };
	struct sel_set		s;
	size_t			b;

	make_backends(4, 10);
	CU_ASSERT_FATAL(select_intro_points(&s, in, 4, &p, NULL, 0) == 0);
	CU_ASSERT(s.n == 10);
	CU_ASSERT(s.n_backends == 4);
	/* 10 over 4: 3,3,2,2 in rank order. */
	CU_ASSERT(count_backend(&s, 0) == 3);
	CU_ASSERT(count_backend(&s, 1) == 3);
	CU_ASSERT(count_backend(&s, 2) == 2);
	CU_ASSERT(count_backend(&s, 3) == 2);
	/* A backend with only one intro point leaves its share to others. */
	descs[1].n_intro = 1;
	CU_ASSERT_FATAL(select_intro_points(&s, in, 4, &p, NULL, 0) == 0);
	CU_ASSERT(s.n == 10);
	CU_ASSERT(count_backend(&s, 1) == 1);
	for (b = 0; b < 4; b++)
		CU_ASSERT(count_backend(&s, b) <= 3);
	/* 25 backends, target 20: 20 different backends, one each. */
	make_backends(25, 3);
	p.target = 20;
	CU_ASSERT_FATAL(select_intro_points(&s, in, 25, &p, NULL, 0) == 0);
	CU_ASSERT(s.n == 20 && s.n_backends == 20);
	/* No backends, nothing chosen, no flags. */
	CU_ASSERT_FATAL(select_intro_points(&s, in, 0, &p, NULL, 0) == 0);
	CU_ASSERT(s.n == 0 && !s.flow_control && !s.single_onion);
}

static void
test_steady(void)
{
	struct sel_params	p = { SEL_POLICY_STEADY, 12, 0 };
	struct sel_set		s;
	size_t			nb;

	/* Count does not move with the number of live backends. */
	for (nb = 2; nb <= 12; nb++) {
		make_backends(nb, 6);
		CU_ASSERT_FATAL(select_intro_points(&s, in, nb, &p, NULL,
		    0) == 0);
		CU_ASSERT(s.n == 12);
		CU_ASSERT(s.n_backends == nb);
	}
	/* Unless there is not enough to choose from. */
	make_backends(1, 6);
	CU_ASSERT_FATAL(select_intro_points(&s, in, 1, &p, NULL, 0) == 0);
	CU_ASSERT(s.n == 6);
	/* The per-backend policy does move: 2 per backend. */
	p.policy = SEL_POLICY_PER_BACKEND;
	p.per_backend = 2;
	make_backends(3, 6);
	CU_ASSERT_FATAL(select_intro_points(&s, in, 3, &p, NULL, 0) == 0);
	CU_ASSERT(s.n == 6);
	CU_ASSERT(count_backend(&s, 0) == 2 && count_backend(&s, 2) == 2);
}

static void
test_same_relay(void)
{
	struct sel_params	p = { SEL_POLICY_STEADY, 20, 0 };
	struct sel_set		s;
	struct sel_relay	r;
	size_t			i;

	/* Backends 0 and 1 share all their relays but the last. */
	make_backends(2, 4);
	for (i = 0; i < 3; i++)
		ip_make(&descs[1].intro[i], 1, (unsigned)i,
		    (unsigned)(0 * 100 + i + 1));
	CU_ASSERT_FATAL(select_intro_points(&s, in, 2, &p, NULL, 0) == 0);
	CU_ASSERT(s.n == 5);
	CU_ASSERT(no_same_relay(&s));
	CU_ASSERT(count_backend(&s, 1) >= 1);
	/* Same ed25519 id but different RSA id: still the same relay. */
	make_backends(2, 1);
	descs[1].intro[0].linkspec[11] ^= 0xff;	/* RSA id byte */
	CU_ASSERT_FATAL(select_intro_points(&s, in, 2, &p, NULL, 0) == 0);
	CU_ASSERT(s.n == 2);
	memcpy(&descs[1].intro[0].linkspec[33],
	    &descs[0].intro[0].linkspec[33], 32);
	CU_ASSERT_FATAL(select_intro_points(&s, in, 2, &p, NULL, 0) == 0);
	CU_ASSERT(s.n == 1);
	/* Two intro points of one backend on one relay: one survives. */
	make_backends(1, 3);
	ip_make(&descs[0].intro[1], 0, 1, 1);
	CU_ASSERT_FATAL(select_intro_points(&s, in, 1, &p, NULL, 0) == 0);
	CU_ASSERT(s.n == 2 && no_same_relay(&s));
	/* Link specs without a legacy id, or malformed: never chosen. */
	make_backends(1, 2);
	descs[0].intro[0].linkspec[9] = 0x09;	/* retype the RSA id */
	CU_ASSERT(select_relay_id(&r, descs[0].intro[0].linkspec,
	    descs[0].intro[0].linkspec_len) == OB_ERR_MISSING);
	descs[0].intro[1].linkspec_len -= 1;
	CU_ASSERT(select_relay_id(&r, descs[0].intro[1].linkspec,
	    descs[0].intro[1].linkspec_len) != 0);
	CU_ASSERT_FATAL(select_intro_points(&s, in, 1, &p, NULL, 0) == 0);
	CU_ASSERT(s.n == 0);
}

static void
test_sticky(void)
{
	struct sel_params	p = { SEL_POLICY_STEADY, 4, 0 };
	struct sel_set		s, s2;
	uint8_t			prev[HS_DESC_MAX_INTRO][ED25519_PK_LEN];
	size_t			i;

	make_backends(2, 6);
	/* Last time we published intro points 4 and 5 of each backend. */
	for (i = 0; i < 4; i++)
		memcpy(prev[i],
		    descs[i / 2].intro[4 + i % 2].auth_key_cert.certified_key,
		    32);
	CU_ASSERT_FATAL(select_intro_points(&s, in, 2, &p,
	    (const uint8_t (*)[32])prev, 4) == 0);
	CU_ASSERT(s.n == 4);
	for (i = 0; i < s.n; i++)
		CU_ASSERT(s.pick[i].intro >= 4);
	/* Same input, same answer: no churn, no republish. */
	CU_ASSERT_FATAL(select_intro_points(&s2, in, 2, &p,
	    (const uint8_t (*)[32])prev, 4) == 0);
	CU_ASSERT(select_set_equal(&s, &s2));
	/* A backend dies: its share moves to the survivor. */
	CU_ASSERT_FATAL(select_intro_points(&s2, in + 1, 1, &p,
	    (const uint8_t (*)[32])prev, 4) == 0);
	CU_ASSERT(s2.n == 4);
	CU_ASSERT(!select_set_equal(&s, &s2));
}

static void
test_flags(void)
{
	struct sel_params	p = { SEL_POLICY_STEADY, 20, 0 };
	struct sel_set		s;

	make_backends(3, 2);
	CU_ASSERT_FATAL(select_intro_points(&s, in, 3, &p, NULL, 0) == 0);
	CU_ASSERT(s.flow_control && strcmp(s.fc_versions, "1-2") == 0 &&
	    s.fc_sendme_inc == 31);
	CU_ASSERT(!s.single_onion);
	/* The lowest sendme-inc any chosen backend advertises. */
	descs[2].flow_control_sendme_inc = 25;
	CU_ASSERT_FATAL(select_intro_points(&s, in, 3, &p, NULL, 0) == 0);
	CU_ASSERT(s.flow_control && s.fc_sendme_inc == 25);
	/* One backend without flow-control: no flow-control line. */
	descs[1].has_flow_control = 0;
	CU_ASSERT_FATAL(select_intro_points(&s, in, 3, &p, NULL, 0) == 0);
	CU_ASSERT(!s.flow_control && s.fc_sendme_inc == 0 &&
	    s.fc_versions[0] == '\0');
	/* ... unless that backend is not chosen at all. */
	p.target = 2;
	CU_ASSERT_FATAL(select_intro_points(&s, in, 3, &p, NULL, 0) == 0);
	CU_ASSERT(s.n_backends == 2 && count_backend(&s, 1) == 1);
	CU_ASSERT(!s.flow_control);
	in[1].rank = 10;
	CU_ASSERT_FATAL(select_intro_points(&s, in, 3, &p, NULL, 0) == 0);
	CU_ASSERT(count_backend(&s, 1) == 0 && s.flow_control);
	/* single-onion-service only when all chosen are single onion. */
	make_backends(2, 2);
	descs[0].single_onion = descs[1].single_onion = 1;
	p.target = 4;
	CU_ASSERT_FATAL(select_intro_points(&s, in, 2, &p, NULL, 0) == 0);
	CU_ASSERT(s.single_onion);
	descs[1].single_onion = 0;
	CU_ASSERT_FATAL(select_intro_points(&s, in, 2, &p, NULL, 0) == 0);
	CU_ASSERT(!s.single_onion);
}

static void
test_distinct(void)
{
	struct sel_params	p = { SEL_POLICY_STEADY, 20, 0 };
	struct sel_set		sets[SEL_MAX_SETS];
	size_t			n, j, b, seen[NB_MAX];

	/* 30 backends, 20 per descriptor: two sets cover them all. */
	make_backends(30, 3);
	n = select_distinct_count(&p, 30, 8);
	CU_ASSERT_FATAL(n == 2);
	CU_ASSERT_FATAL(select_distinct(sets, n, in, 30, &p, NULL, 0) == 0);
	memset(seen, 0, sizeof(seen));
	for (j = 0; j < n; j++) {
		CU_ASSERT(sets[j].n == 20);
		CU_ASSERT(no_same_relay(&sets[j]));
		for (b = 0; b < 30; b++)
			seen[b] += count_backend(&sets[j], b) > 0;
	}
	for (b = 0; b < 30; b++)
		CU_ASSERT(seen[b] == 1);
	/* Few backends: one descriptor is enough. */
	CU_ASSERT(select_distinct_count(&p, 5, 8) == 1);
	/* Never more sets than HSDirs to put them on. */
	p.target = 1;
	CU_ASSERT(select_distinct_count(&p, 30, 8) == 8);
	p.policy = SEL_POLICY_PER_BACKEND;
	p.per_backend = 5;
	CU_ASSERT(select_distinct_count(&p, 9, 8) == 3);
}

/*
 * The upload results' shared text (publish.c; here because
 * test_collector.c had another owner this session): one code per
 * distinct string, codes that stay valid for the table's life, bounded.
 * A table of its own, so the process's is not filled up for the suites
 * after this one.
 */
static void
test_upload_results(void)
{
	struct upload_results	*t;
	char			 s[32];
	uint8_t			 rej, post, c;
	size_t			 i;

	CU_ASSERT_FATAL((t = calloc(1, sizeof(*t))) != NULL);
	/* Nothing: code 0, text "". */
	CU_ASSERT(upload_results_code(t, NULL) == 0);
	CU_ASSERT(upload_results_code(t, "") == 0);
	CU_ASSERT(strcmp(upload_results_text(t, 0), "") == 0);
	CU_ASSERT(t->n == 0);
	/* Codes never given have no text (not another string's). */
	CU_ASSERT(strcmp(upload_results_text(t, 1), "") == 0);
	CU_ASSERT(strcmp(upload_results_text(t, 255), "") == 0);
	/* Same string, same code; another string, another code. */
	rej = upload_results_code(t, "UPLOAD_REJECTED");
	post = upload_results_code(t, "HSPOST refused");
	CU_ASSERT(rej != 0 && post != 0 && rej != post);
	CU_ASSERT(upload_results_code(t, "UPLOAD_REJECTED") == rej);
	CU_ASSERT(strcmp(upload_results_text(t, rej), "UPLOAD_REJECTED") == 0);
	CU_ASSERT(strcmp(upload_results_text(t, post), "HSPOST refused") == 0);
	CU_ASSERT(t->n == 2);
	/* Case matters (tor's words are upper case; ours are not). */
	CU_ASSERT(upload_results_code(t, "upload_rejected") != rej);
	/* Long reasons are cut to what the status shows, so two that
	 * differ only past the cut share one entry. */
	c = upload_results_code(t, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA1");
	CU_ASSERT(c != 0 && strlen(upload_results_text(t, c)) ==
	    UPLOAD_RESULT_LEN - 1);
	CU_ASSERT(upload_results_code(t,
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA2") == c);
	/* Filled up: new strings get the fixed "other" code, and every
	 * code given before still names its own string. */
	for (i = t->n; i < UPLOAD_RESULTS - 2; i++) {
		(void)snprintf(s, sizeof(s), "R%zu", i);
		CU_ASSERT(upload_results_code(t, s) == i + 1);
	}
	CU_ASSERT(t->n == UPLOAD_RESULTS - 2);
	c = upload_results_code(t, "NEW_REASON");
	CU_ASSERT(c == UPLOAD_R_OTHER);
	CU_ASSERT(upload_results_code(t, "NEW_REASON_2") == UPLOAD_R_OTHER);
	CU_ASSERT(strcmp(upload_results_text(t, c), "") != 0);
	CU_ASSERT(strcmp(upload_results_text(t, c), "NEW_REASON") != 0);
	CU_ASSERT(upload_results_code(t, "UPLOAD_REJECTED") == rej);
	CU_ASSERT(strcmp(upload_results_text(t, rej), "UPLOAD_REJECTED") == 0);
	CU_ASSERT(strcmp(upload_results_text(t, post), "HSPOST refused") == 0);
	CU_ASSERT(strcmp(upload_results_text(t, UPLOAD_RESULTS - 2),
	    "R61") == 0);
	CU_ASSERT(t->n == UPLOAD_RESULTS - 2);
	free(t);
}

/*
 * A kept set does not carry relays: the ones it was chosen with are the
 * ones its picks' link specifiers name, and none is repeated.
 */
static void
test_set_relays(void)
{
	struct sel_params	p = { SEL_POLICY_STEADY, 10, 0 };
	struct sel_relay	r;
	struct sel_set		s;
	size_t			i;

	make_backends(3, 5);
	/* Backend 2's intro point 0 sits on backend 0's first relay. */
	ip_make(&descs[2].intro[0], 2, 0, 1);
	CU_ASSERT(select_intro_points(&s, in, 3, &p, NULL, 0) == 0);
	CU_ASSERT(s.n == 10 && no_same_relay(&s));
	for (i = 0; i < s.n; i++) {
		CU_ASSERT(pick_relay(&r, &s, i) == 0);
		CU_ASSERT(!(s.pick[i].backend == 2 && s.pick[i].intro == 0));
	}
	/* A link specifier block without the legacy id names no relay. */
	descs[1].intro[0].linkspec[0] = 0;
	descs[1].intro[0].linkspec_len = 1;
	CU_ASSERT(select_relay_id(&r, descs[1].intro[0].linkspec,
	    descs[1].intro[0].linkspec_len) == OB_ERR_MISSING);
	CU_ASSERT(select_intro_points(&s, in, 3, &p, NULL, 0) == 0);
	for (i = 0; i < s.n; i++)
		CU_ASSERT(!(s.pick[i].backend == 1 && s.pick[i].intro == 0));
	CU_ASSERT(no_same_relay(&s));
}

/*
 * The status names a kept set's relays from the backend descriptor that
 * lists each intro point (status.c): the relay of the link specifiers
 * while it is listed, unknown (JSON null) and no backend once it is not.
 */
static void
test_status_relays(void)
{
	uint8_t			 seed[ED25519_SEED_LEN];
	uint8_t			 sk[ED25519_EXPANDED_LEN];
	uint8_t			 pk[ED25519_PK_LEN];
	char			 addr[2][HS_ADDR_LEN + 1], conftext[256];
	char			*text = NULL;
	struct sel_params	 p = { SEL_POLICY_STEADY, 10, 0 };
	struct sel_input	 one;
	struct sel_set		 set;
	struct conf		 cf;
	struct collector	 c;
	struct desc_slot	*sl;
	struct backend		*bk;
	struct buf		*b;
	size_t			 i;

	for (i = 0; i < 2; i++) {
		memset(seed, 0x61 + (int)i, sizeof(seed));
		CU_ASSERT_FATAL(hs_expanded_from_seed(sk, seed) == 0);
		CU_ASSERT_FATAL(hs_expanded_pubkey(pk, sk) == 0);
		CU_ASSERT_FATAL(hs_address_encode(addr[i], pk) == 0);
	}
	(void)snprintf(conftext, sizeof(conftext),
	    "service %s { backends = { %s } }\n", addr[0], addr[1]);
	memset(&cf, 0, sizeof(cf));
	CU_ASSERT_FATAL(conf_load_string(&cf, conftext) == 0);
	CU_ASSERT_FATAL(collector_init(&c, &cf) == 0);
	CU_ASSERT_FATAL((b = buf_new(0)) != NULL);
	bk = &c.backends[0];
	bk->have_desc = bk->up = 1;
	bk->desc.n_intro = 2;
	ip_make(&bk->desc.intro[0], 0, 0, 0x0102);
	ip_make(&bk->desc.intro[1], 0, 1, 0x0304);
	one.desc = &bk->desc;
	one.rank = 0;
	sl = &c.services[0].slot[0];
	sl->valid = 1;
	sl->tp = 20000;
	CU_ASSERT_FATAL(select_intro_points(&set, &one, 1, &p, NULL, 0) == 0);
	CU_ASSERT_FATAL(set.n == 2);
	/* Not a slot's record: nothing, or more sets than a slot keeps. */
	CU_ASSERT(publish_slot_keep(sl, &set, 0) != 0);
	CU_ASSERT(publish_slot_keep(sl, &set, SEL_MAX_SETS + 1) != 0);
	CU_ASSERT(sl->sets == NULL && sl->nsets == 0);
	CU_ASSERT_FATAL(publish_slot_keep(sl, &set, 1) == 0);
	/* A copy: the caller's set may go. */
	memset(&set, 0, sizeof(set));
	CU_ASSERT(sl->nsets == 1 && sl->sets[0].n == 2);

	CU_ASSERT_FATAL(status_render(b, &c, 1, time(NULL)) == 0);
	CU_ASSERT_FATAL(buf_dup_cstr(b, &text) == 0);
	CU_ASSERT(strstr(text, "\"relay\":\"0102000000000000000000000000000"
	    "000000000\"") != NULL);
	CU_ASSERT(strstr(text, "\"relay\":\"0304000000000000000000000000000"
	    "000000000\",\"backend\":\"") != NULL);
	CU_ASSERT(strstr(text, "\"relay\":null") == NULL);
	free(text);
	/* The backend's new descriptor no longer lists the second one. */
	bk->desc.n_intro = 1;
	buf_reset(b);
	CU_ASSERT_FATAL(status_render(b, &c, 1, time(NULL)) == 0);
	CU_ASSERT_FATAL(buf_dup_cstr(b, &text) == 0);
	CU_ASSERT(strstr(text, "\"relay\":\"0102000000000000000000000000000"
	    "000000000\"") != NULL);
	CU_ASSERT(strstr(text, "\"relay\":null,\"backend\":null") != NULL);
	CU_ASSERT(strstr(text, "0304000000") == NULL);
	free(text);
	/* A listed intro point whose link specifiers name no relay. */
	bk->desc.intro[0].linkspec[0] = 0;
	bk->desc.intro[0].linkspec_len = 1;
	buf_reset(b);
	CU_ASSERT_FATAL(status_render(b, &c, 0, time(NULL)) == 0);
	CU_ASSERT_FATAL(buf_dup_cstr(b, &text) == 0);
	CU_ASSERT(strstr(text, "via (relay unknown) from (backend gone)") !=
	    NULL);
	(void)snprintf(conftext, sizeof(conftext),
	    "via (relay unknown) from %s.onion", addr[1]);
	CU_ASSERT(strstr(text, conftext) != NULL);
	free(text);
	buf_free(b);
	collector_clear(&c);
}

static const struct test_case tests[] = {
	{ "cap at 20", test_cap_20 },
	{ "spread over backends", test_spread },
	{ "steady count", test_steady },
	{ "same-relay exclusion", test_same_relay },
	{ "sticky selection", test_sticky },
	{ "flow-control and single-onion flags", test_flags },
	{ "distinct descriptors", test_distinct },
	{ "kept sets find their relays", test_set_relays },
	{ "upload results held once", test_upload_results },
	{ "status names the relays of kept sets", test_status_relays },
	{ NULL, NULL }
};

void
test_register_select(void)
{
	test_add_suite("select", tests);
}
