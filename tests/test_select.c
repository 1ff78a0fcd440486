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

static int
no_same_relay(const struct sel_set *s)
{
	size_t	i, j;

	for (i = 0; i < s->n; i++)
		for (j = i + 1; j < s->n; j++)
			if (select_relay_same(&s->relay[i], &s->relay[j]))
				return 0;
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

static const struct test_case tests[] = {
	{ "cap at 20", test_cap_20 },
	{ "spread over backends", test_spread },
	{ "steady count", test_steady },
	{ "same-relay exclusion", test_same_relay },
	{ "sticky selection", test_sticky },
	{ "flow-control and single-onion flags", test_flags },
	{ "distinct descriptors", test_distinct },
	{ NULL, NULL }
};

void
test_register_select(void)
{
	test_add_suite("select", tests);
}
