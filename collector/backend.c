/*
 * The collector's runtime state: set up from the configuration, torn
 * down, and the rules that decide whether a backend is up.  Kept apart
 * from collector.c (main and the loop) so the tests can build state.
 */
#include "config.h"

#include <sys/types.h>

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

/* ------------------------------------------------------------------ */
/* Runtime state                                                       */

static void
backend_fresh(struct backend *b, const struct conf_backend *cf, time_t now)
{
	memset(b, 0, sizeof(*b));
	b->cf = cf;
	hs_desc_init(&b->desc);
	b->hc_fd = -1;
	b->reason = BR_UNKNOWN;
	b->since = now;
}

static void
backend_drop(struct backend *b)
{
	hs_desc_clear(&b->desc);
	free(b->raw);
	b->raw = NULL;
	if (b->hc_fd != -1)
		close(b->hc_fd);
	b->hc_fd = -1;
}

/* The three per-member arrays in one allocation (verified_gen owns it):
 * one chunk per service, not three. */
static int
service_alloc(struct service *s, size_t n)
{
	if ((s->verified_gen = calloc(3 * (n + 1), sizeof(uint64_t))) == NULL)
		return -1;
	s->rejected_gen = s->verified_gen + (n + 1);
	s->sent_gen = s->verified_gen + 2 * (n + 1);
	return 0;
}

static void
service_drop(struct service *s, size_t nmembers)
{
	size_t	j, k;

	free(s->verified_gen);
	if (s->reject_detail != NULL)
		for (j = 0; j < nmembers; j++)
			free(s->reject_detail[j]);
	free(s->reject_detail);
	for (j = 0; j < 2; j++) {
		free(s->slot[j].sets);
		free(s->slot[j].up);
		free(s->slot[j].error);
		for (k = 0; k < SEL_MAX_SETS; k++)
			free(s->slot[j].docs[k]);
		ob_wipe(s->slot[j].eph_sk, sizeof(s->slot[j].eph_sk));
	}
	memset(s, 0, sizeof(*s));
}

/* Sort keys for the address indexes (qsort has no context argument). */
static const struct collector *index_c;

static int
svc_cmp(const void *a, const void *b)
{
	return strcmp(index_c->services[*(const size_t *)a].cf->addr,
	    index_c->services[*(const size_t *)b].cf->addr);
}

static int
bk_cmp(const void *a, const void *b)
{
	return strcmp(index_c->backends[*(const size_t *)a].cf->addr,
	    index_c->backends[*(const size_t *)b].cf->addr);
}

/* Address -> index in O(log n): HS_DESC events name the service. */
static int
index_build(struct collector *c)
{
	size_t	i;

	free(c->svc_index);
	free(c->bk_index);
	c->svc_index = c->bk_index = NULL;
	if ((c->svc_index = calloc(c->nservices + 1,
	    sizeof(size_t))) == NULL ||
	    (c->bk_index = calloc(c->nbackends + 1, sizeof(size_t))) == NULL)
		return -1;
	for (i = 0; i < c->nservices; i++)
		c->svc_index[i] = i;
	for (i = 0; i < c->nbackends; i++)
		c->bk_index[i] = i;
	index_c = c;
	qsort(c->svc_index, c->nservices, sizeof(size_t), svc_cmp);
	qsort(c->bk_index, c->nbackends, sizeof(size_t), bk_cmp);
	index_c = NULL;
	return 0;
}

/* Binary search over idx; key is 56 characters, maybe with ".onion". */
static ssize_t
index_find(const size_t *idx, size_t n, const char *key,
    const char *(*name)(const struct collector *, size_t),
    const struct collector *c)
{
	size_t	lo = 0, hi = n, mid;
	int	r;

	if (key == NULL || strlen(key) < HS_ADDR_LEN ||
	    (key[HS_ADDR_LEN] != '\0' && strcmp(key + HS_ADDR_LEN,
	    ".onion") != 0))
		return -1;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		r = strncmp(key, name(c, idx[mid]), HS_ADDR_LEN);
		if (r == 0)
			return (ssize_t)idx[mid];
		if (r < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

static const char *
svc_name(const struct collector *c, size_t i)
{
	return c->services[i].cf->addr;
}

static const char *
bk_name(const struct collector *c, size_t i)
{
	return c->backends[i].cf->addr;
}

struct service *
collector_service_find(const struct collector *c, const char *addr)
{
	ssize_t	i;

	if (c->svc_index == NULL ||
	    (i = index_find(c->svc_index, c->nservices, addr, svc_name,
	    c)) < 0)
		return NULL;
	return &c->services[i];
}

struct backend *
collector_backend_find(const struct collector *c, const char *addr)
{
	ssize_t	i;

	if (c->bk_index == NULL ||
	    (i = index_find(c->bk_index, c->nbackends, addr, bk_name,
	    c)) < 0)
		return NULL;
	return &c->backends[i];
}

int
collector_init(struct collector *c, const struct conf *cf)
{
	size_t	i;
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

		backend_fresh(b, &c->cf.backends[i], c->started);
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
		if (service_alloc(s, c->cf.pools[s->cf->pool].nbackends) != 0)
			goto err;
	}
	if (index_build(c) != 0)
		goto err;
	return 0;
 err:
	log_warn("%s", __func__);
	collector_clear(c);
	return -1;
}

void
collector_clear(struct collector *c)
{
	size_t	i;

	for (i = 0; i < c->nbackends && c->backends != NULL; i++)
		backend_drop(&c->backends[i]);
	free(c->backends);
	for (i = 0; i < c->nservices && c->services != NULL; i++)
		service_drop(&c->services[i], c->services[i].cf == NULL ? 0 :
		    c->cf.pools[c->services[i].cf->pool].nbackends);
	free(c->services);
	free(c->svc_index);
	free(c->bk_index);
	hsdir_view_free(c->view);
	if (c->status_fd != -1)
		close(c->status_fd);
	conf_clear(&c->cf);
	memset(c, 0, sizeof(*c));
	c->status_fd = -1;
}

void
collector_verdict_set(struct service *s, size_t m, size_t nmembers,
    const char *detail)
{
	if (s->reject_detail != NULL) {
		free(s->reject_detail[m]);
		s->reject_detail[m] = NULL;
	}
	if (detail == NULL)
		return;
	/* Allocated on the first refusal only: most services never see
	 * one, and there may be thousands of them. */
	if (s->reject_detail == NULL &&
	    (s->reject_detail = calloc(nmembers + 1, sizeof(char *))) == NULL)
		return;
	s->reject_detail[m] = strdup(detail);
}

void
collector_horizon_update(struct collector *c, const struct sc_reply *r,
    time_t now)
{
	struct service	*s;
	size_t		 i;

	if (!r->ok)
		return;
	for (i = 0; i < r->u.status.n && i < PROTO_STATUS_PAGE; i++) {
		if ((s = collector_service_find(c,
		    r->u.status.svc[i].service)) == NULL)
			continue;
		s->hz_known = 1;
		s->hz_state = r->u.status.svc[i].state;
		s->horizon = r->u.status.svc[i].horizon;
		s->hz_at = now;
	}
}

/* Settings that only a restart can change: keep ours, say so. */
static void
reload_keep(char **ours, char **theirs, const char *what)
{
	char	*t;

	if ((*ours == NULL) != (*theirs == NULL) ||
	    (*ours != NULL && strcmp(*ours, *theirs) != 0))
		log_warnx("reload: \"%s\" changed; it takes effect at the "
		    "next restart", what);
	t = *ours;
	*ours = *theirs;
	*theirs = t;
}

/* Pool member index of backend addr in pool p of cf, or -1. */
static ssize_t
pool_member(const struct conf *cf, const struct conf_pool *p,
    const char *addr)
{
	size_t	j;

	for (j = 0; j < p->nbackends; j++)
		if (strcmp(cf->backends[p->backends[j]].addr, addr) == 0)
			return (ssize_t)j;
	return -1;
}

static int
service_conf_same(const struct conf *oc, const struct conf_service *o,
    const struct conf *nc, const struct conf_service *n)
{
	const struct conf_pool	*op = &oc->pools[o->pool];
	const struct conf_pool	*np = &nc->pools[n->pool];
	size_t			 j;

	if (o->sel.policy != n->sel.policy || o->sel.target != n->sel.target ||
	    o->sel.per_backend != n->sel.per_backend ||
	    o->distinct != n->distinct ||
	    o->n_client_pks != n->n_client_pks ||
	    (o->n_client_pks > 0 && memcmp(o->client_pks, n->client_pks,
	    o->n_client_pks * sizeof(*o->client_pks)) != 0) ||
	    op->nbackends != np->nbackends)
		return 0;
	for (j = 0; j < np->nbackends; j++)
		if (pool_member(oc, op, nc->backends[np->backends[j]].addr) <
		    0)
			return 0;
	return 1;
}

int
collector_reload(struct collector *c, struct conf *ncf)
{
	struct backend	*nb = NULL;
	struct service	*ns = NULL;
	struct conf	 old;
	uint8_t		*bmoved = NULL, *smoved = NULL;
	size_t		 i, j, nn = 0, added = 0, changed = 0, kept = 0;
	time_t		 now = time(NULL);
	uint32_t	 r;

	if (c->jobs != 0) {
		log_warnx("%s: publish jobs in flight", __func__);
		return -1;
	}
	if ((nb = calloc(ncf->nbackends + 1, sizeof(*nb))) == NULL ||
	    (ns = calloc(ncf->nservices + 1, sizeof(*ns))) == NULL ||
	    (bmoved = calloc(c->nbackends + 1, 1)) == NULL ||
	    (smoved = calloc(c->nservices + 1, 1)) == NULL)
		goto err;
	/* Allocate everything first: past this loop nothing can fail. */
	for (i = 0; i < ncf->nservices; i++) {
		ns[i].cf = &ncf->services[i];
		if (service_alloc(&ns[i],
		    ncf->pools[ns[i].cf->pool].nbackends) != 0)
			goto err;
		nn = i + 1;
	}

	/* Backends: keep the state of those that stay. */
	for (i = 0; i < ncf->nbackends; i++) {
		struct backend *ob;

		if ((ob = collector_backend_find(c, ncf->backends[i].addr)) !=
		    NULL && !bmoved[ob - c->backends]) {
			nb[i] = *ob;
			nb[i].cf = &ncf->backends[i];
			bmoved[ob - c->backends] = 1;
			continue;
		}
		backend_fresh(&nb[i], &ncf->backends[i], now);
		nb[i].rank = ob_random(&r, sizeof(r)) == 0 ? r : (uint32_t)i;
	}
	for (i = 0; i < c->nbackends; i++)
		if (!bmoved[i])
			backend_drop(&c->backends[i]);

	/* Services: move slots and the signer's verdicts per backend. */
	for (i = 0; i < ncf->nservices; i++) {
		struct service		*os, *s = &ns[i];
		const struct conf_pool	*op, *np = &ncf->pools[s->cf->pool];
		ssize_t			 m;
		int			 w;

		if ((os = collector_service_find(c, s->cf->addr)) == NULL ||
		    smoved[os - c->services]) {
			added++;
			continue;
		}
		smoved[os - c->services] = 1;
		op = &c->cf.pools[os->cf->pool];
		for (j = 0; j < np->nbackends; j++) {
			m = pool_member(&c->cf, op,
			    ncf->backends[np->backends[j]].addr);
			if (m < 0)
				continue;
			s->verified_gen[j] = os->verified_gen[m];
			s->rejected_gen[j] = os->rejected_gen[m];
			/* A verdict in flight is dropped (old epoch): ask
			 * again. */
			if (os->sent_gen[m] == os->verified_gen[m] ||
			    os->sent_gen[m] == os->rejected_gen[m])
				s->sent_gen[j] = os->sent_gen[m];
			if (os->reject_detail != NULL &&
			    os->reject_detail[m] != NULL) {
				if (s->reject_detail == NULL)
					s->reject_detail = calloc(
					    np->nbackends + 1, sizeof(char *));
				if (s->reject_detail != NULL) {
					s->reject_detail[j] =
					    os->reject_detail[m];
					os->reject_detail[m] = NULL;
				}
			}
		}
		memcpy(s->slot, os->slot, sizeof(s->slot));
		memset(os->slot, 0, sizeof(os->slot));
		s->hz_known = os->hz_known;
		s->hz_state = os->hz_state;
		s->horizon = os->horizon;
		s->hz_at = os->hz_at;
		if (service_conf_same(&c->cf, os->cf, ncf, s->cf)) {
			kept++;
			continue;
		}
		changed++;
		for (w = 0; w < 2; w++)
			s->slot[w].next_publish = 0;
	}
	for (i = 0; i < c->nservices; i++)
		service_drop(&c->services[i],
		    c->cf.pools[c->services[i].cf->pool].nbackends);
	free(c->services);
	free(c->backends);

	reload_keep(&ncf->control, &c->cf.control, "control");
	reload_keep(&ncf->control_cookie, &c->cf.control_cookie,
	    "control-cookie");
	reload_keep(&ncf->control_password, &c->cf.control_password,
	    "control-password");
	reload_keep(&ncf->signer_socket, &c->cf.signer_socket,
	    "signer-socket");
	reload_keep(&ncf->status_socket, &c->cf.status_socket,
	    "status-socket");
	reload_keep(&ncf->user, &c->cf.user, "user");
	if (ncf->sandbox != c->cf.sandbox)
		log_warnx("reload: \"sandbox\" changed; it takes effect at "
		    "the next restart");
	ncf->sandbox = c->cf.sandbox;
	if (ncf->signer_timeout != c->cf.signer_timeout)
		log_warnx("reload: \"signer-timeout\" changed; it takes "
		    "effect at the next restart");
	ncf->signer_timeout = c->cf.signer_timeout;
	old = c->cf;
	c->cf = *ncf;
	memset(ncf, 0, sizeof(*ncf));
	conf_clear(&old);
	log_info("reloaded: %zu services (%zu new, %zu changed, %zu "
	    "unchanged, %zu removed) over %zu backends", c->cf.nservices,
	    added, changed, kept, c->nservices - changed - kept,
	    c->cf.nbackends);
	c->backends = nb;
	c->nbackends = c->cf.nbackends;
	c->services = ns;
	c->nservices = c->cf.nservices;
	c->epoch++;
	c->verify_dirty = 1;		/* new pairs, and dropped verdicts */
	c->verify_next = 0;
	free(bmoved);
	free(smoved);
	if (index_build(c) != 0) {
		/* Lookups by address fail until the next reload. */
		log_warn("%s: index", __func__);
	}
	for (i = 0; i < c->nbackends; i++)
		backend_judge(c, &c->backends[i], now);
	/* New services get their HSDirs from the loop, in steps (kept
	 * ones keep theirs and their blinded keys: cheap). */
	publish_refresh_start(c);
	(void)publish_refresh_step(c, REFRESH_BATCH);
	return 0;
 err:
	log_warn("%s", __func__);
	for (i = 0; i < nn; i++)
		service_drop(&ns[i], ncf->pools[ns[i].cf->pool].nbackends);
	free(nb);
	free(ns);
	free(bmoved);
	free(smoved);
	return -1;
}

/* ------------------------------------------------------------------ */
/* The signer's verdicts on backend descriptors, per service           */

/* Hand new backend descriptors to the signer, for each service. */
struct verify_arg {
	struct collector	*c;
	size_t			 svc, member;
	uint64_t		 gen;
	uint64_t		 epoch;		/* svc, member are of it */
};

static void
verify_cb(const struct sc_reply *r, void *arg)
{
	struct verify_arg	*va = arg;
	struct service		*s;
	struct conf_pool	*p;
	struct backend		*b;

	/* Reloaded meanwhile: collector_reload asks again. */
	if (va->epoch != va->c->epoch) {
		free(va);
		return;
	}
	s = &va->c->services[va->svc];
	p = &va->c->cf.pools[s->cf->pool];
	b = &va->c->backends[p->backends[va->member]];
	if (r->ok) {
		s->verified_gen[va->member] = va->gen;
		s->rejected_gen[va->member] = 0;
		collector_verdict_set(s, va->member, p->nbackends, NULL);
	} else if (r->reason != 0) {
		s->rejected_gen[va->member] = va->gen;
		collector_verdict_set(s, va->member, p->nbackends,
		    r->detail[0] != '\0' ? r->detail : "refused");
		/* Once per descriptor, not once per service: the status
		 * lists every service it was refused for. */
		if (b->refusal_logged != va->gen) {
			b->refusal_logged = va->gen;
			log_warnx("signer refused backend %s for %s: %s",
			    b->cf->addr, s->cf->addr, r->detail);
		} else
			log_debug("signer refused backend %s for %s: %s",
			    b->cf->addr, s->cf->addr, r->detail);
	} else {
		s->sent_gen[va->member] = 0;	/* lost: send again */
		va->c->verify_dirty = 1;
	}
	free(va);
}

/*
 * Send what the signer has not judged yet, a queue's worth at a time.
 * Every (service, backend) pair is a request, so with thousands of
 * services a new backend descriptor means thousands of them: the walk
 * resumes where the queue filled up (c->verify_next), and the loop calls
 * again as replies free the queue, not once a second.  Returns once the
 * queue is full (work left) or a whole pass found nothing (clean).
 */
void
collector_verify_sync(struct collector *c)
{
	struct verify_arg	*va;
	size_t			 n, i, j, pending;
	uint64_t		 req, fail;

	if (!sc_ready(c->sc) || !c->verify_dirty || c->nservices == 0)
		return;
	sc_stats(c->sc, &req, &fail, &pending);
	for (n = 0; n < c->nservices; n++) {
		struct service		*s;
		const struct conf_pool	*p;

		if (c->verify_next >= c->nservices)
			c->verify_next = 0;
		i = c->verify_next;
		s = &c->services[i];
		p = &c->cf.pools[s->cf->pool];

		/*
		 * The signer replaces a backend's intro points with each new
		 * descriptor: not while a publish job of this service may
		 * still ask it to certify the old ones.
		 */
		if (s->slot[0].busy || s->slot[1].busy) {
			c->verify_next++;
			c->verify_busy = 1;
			continue;
		}
		for (j = 0; j < p->nbackends; j++) {
			struct backend *b = &c->backends[p->backends[j]];

			if (!b->have_desc || s->sent_gen[j] == b->gen)
				continue;
			/* Keep the signer's queue short. */
			if (pending >= 64)
				return;
			if ((va = calloc(1, sizeof(*va))) == NULL)
				return;
			va->c = c;
			va->svc = i;
			va->member = j;
			va->gen = b->gen;
			va->epoch = c->epoch;
			if (sc_backend_desc(c->sc, s->cf->addr, b->cf->addr,
			    b->tp, b->raw, b->rawlen, verify_cb, va) != 0) {
				free(va);
				/* Still dirty: tried again from here. */
				return;
			}
			s->sent_gen[j] = b->gen;
			pending++;
		}
		c->verify_next++;
	}
	/* A full pass: clean.  Services skipped as busy are looked at
	 * again from the next tick, not on every event. */
	c->verify_dirty = 0;
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
