/*
 * The collector's runtime state: set up from the configuration, torn
 * down, and the rules that decide whether a backend is up.  Kept apart
 * from collector.c (main and the loop) so the tests can build state.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "collector.h"
#include "crypto.h"
#include "hsdir.h"
#include "log.h"


const char *
backend_reason_name(enum backend_reason r)
{
	switch (r) {
	case BR_NONE:		return "up";
	case BR_UNKNOWN:	return "unknown";
	case BR_MISSING:	return "missing";
	case BR_STALE:		return "stale";
	case BR_EXPIRED:	return "expired";
	case BR_INVALID:	return "invalid";
	case BR_REJECTED:	return "rejected-by-signer";
	case BR_HEALTH:		return "health-check";
	}
	return "unknown";
}

int
collector_init(struct collector *c, const struct conf *cf)
{
	size_t	i, n;
	uint32_t r;

	memset(c, 0, sizeof(*c));
	c->cf = *cf;
	c->status_fd = -1;
	c->started = time(NULL);
	c->nbackends = cf->nbackends;
	if ((c->backends = calloc(c->nbackends + 1,
	    sizeof(*c->backends))) == NULL)
		goto err;
	for (i = 0; i < c->nbackends; i++) {
		struct backend *b = &c->backends[i];

		b->cf = &c->cf.backends[i];
		hs_desc_init(&b->desc);
		b->hc_fd = -1;
		b->reason = BR_UNKNOWN;
		b->since = c->started;
		/* A random rank spreads the "+1" intro points of a steady
		 * set over backends instead of favouring config order. */
		if (ob_random(&r, sizeof(r)) != 0)
			goto err;
		b->rank = r;
	}
	c->nservices = cf->nservices;
	if ((c->services = calloc(c->nservices + 1,
	    sizeof(*c->services))) == NULL)
		goto err;
	for (i = 0; i < c->nservices; i++) {
		struct service *s = &c->services[i];

		s->cf = &c->cf.services[i];
		n = c->cf.pools[s->cf->pool].nbackends;
		if ((s->verified_gen = calloc(n, sizeof(uint64_t))) == NULL ||
		    (s->rejected_gen = calloc(n, sizeof(uint64_t))) == NULL ||
		    (s->sent_gen = calloc(n, sizeof(uint64_t))) == NULL)
			goto err;
	}
	return 0;
 err:
	log_warn("%s", __func__);
	collector_clear(c);
	return -1;
}

void
collector_clear(struct collector *c)
{
	size_t	i, j, k;

	for (i = 0; i < c->nbackends && c->backends != NULL; i++) {
		hs_desc_clear(&c->backends[i].desc);
		free(c->backends[i].raw);
		if (c->backends[i].hc_fd != -1)
			close(c->backends[i].hc_fd);
	}
	free(c->backends);
	for (i = 0; i < c->nservices && c->services != NULL; i++) {
		free(c->services[i].verified_gen);
		free(c->services[i].rejected_gen);
		free(c->services[i].sent_gen);
		for (j = 0; j < 2; j++) {
			free(c->services[i].slot[j].sets);
			for (k = 0; k < SEL_MAX_SETS; k++)
				free(c->services[i].slot[j].docs[k]);
		}
	}
	free(c->services);
	hsdir_view_free(c->view);
	if (c->status_fd != -1)
		close(c->status_fd);
	conf_clear(&c->cf);
	memset(c, 0, sizeof(*c));
	c->status_fd = -1;
}

/* ------------------------------------------------------------------ */
/* Backend verdicts                                                    */

static void
backend_set(struct backend *b, int up, enum backend_reason why, time_t now)
{
	if (b->up == up && b->reason == why)
		return;
	if (up)
		log_info("backend %s is up", b->cf->addr);
	else
		log_warnx("backend %s is down: %s", b->cf->addr,
		    backend_reason_name(why));
	b->up = up;
	b->reason = why;
	b->since = now;
}

void
backend_judge(struct collector *c, struct backend *b, time_t now)
{
	if (!b->have_desc) {
		if (b->fetch_bodies > 0 && b->fetch_valid == 0)
			backend_set(b, 0, BR_INVALID, now);
		else if (b->empty_rounds >= MISSING_ROUNDS)
			backend_set(b, 0, BR_MISSING, now);
		else
			backend_set(b, 0, b->reason == BR_NONE ? BR_UNKNOWN :
			    b->reason, now);
		return;
	}
	if (now >= b->expires) {
		backend_set(b, 0, BR_EXPIRED, now);
		return;
	}
	/*
	 * Tor republishes every 60-120 minutes with a fresh revision
	 * counter; a counter that stops moving means nobody is publishing.
	 * The descriptor itself can stay on the HSDirs for hours.
	 */
	if (now - b->rev_changed > (time_t)c->cf.desc_max_age) {
		backend_set(b, 0, BR_STALE, now);
		return;
	}
	if (b->empty_rounds >= MISSING_ROUNDS) {
		backend_set(b, 0, BR_MISSING, now);
		return;
	}
	if (c->cf.health_check && b->hc_failures >= c->cf.health_failures) {
		backend_set(b, 0, BR_HEALTH, now);
		return;
	}
	backend_set(b, 1, BR_NONE, now);
}
