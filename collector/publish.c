/*
 * Master descriptors: when to publish, what goes in, and the chain of
 * signer requests and uploads that makes one.
 *
 * A publish job for one (service, live period) runs as callbacks:
 *	RECERTIFY (one per distinct descriptor) -> DESC_PARAMS ->
 *	hs_desc_encode_body + SIGN_DESC (one per distinct descriptor) ->
 *	HSPOST SERVER=<its HSDirs> HSADDRESS=<master>
 * and each upload is then tracked through HS_DESC UPLOADED / FAILED.
 * The collector never signs anything: it builds bodies and the signer
 * decides.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collector.h"
#include "crypto.h"
#include "err.h"
#include "hsdir.h"
#include "log.h"
#include "proto.h"
#include "provision.h"
#include "torctl.h"

#define PUBLISH_BACKOFF_MIN	10
#define PUBLISH_BACKOFF_MAX	600
#define UPLOAD_EVENT_TIMEOUT	180	/* s to wait for HS_DESC */
/* Jobs in flight: bounds memory and the signer's queue; the rest wait
 * for the next turn of the loop. */
#define PUBLISH_MAX_JOBS	32

struct pub_job {
	struct collector	*c;
	size_t			 svc;
	int			 which;		/* slot 0 or 1 */
	uint64_t		 tp;
	struct sel_set		*sets;		/* [nsets]; the slot's when
						 * the job succeeds */
	size_t			 nsets;
	/* The chosen intro points' public parts, copied at selection time:
	 * backend descriptors may change while the job runs. */
	/* Set k's at ips + ipbase[k], sets[k].n of them: only what was
	 * chosen (2.7 kB each), not HS_DESC_MAX_INTRO per set. */
	struct hs_intro_point	*ips;
	size_t			 ipbase[SEL_MAX_SETS];
	int			 certified[SEL_MAX_SETS][HS_DESC_MAX_INTRO];
	size_t			 outstanding;
	int			 failed;
	int			 hsm;		/* first refusal: PROTO_R_HSM */
	int			 probe;		/* tries a token that was out */
	time_t			 t0, wall0;	/* scan's clock, time() */
	char			 error[256];
	int			 have_params;
	uint8_t			 blinded_pk[ED25519_PK_LEN];
	uint64_t		 revision;
	struct hs_cert		 cert08;
	uint8_t			*docs[SEL_MAX_SETS];
	size_t			 doclens[SEL_MAX_SETS];
	uint8_t			 client_sk[SEL_MAX_SETS][X25519_KEY_LEN];
};

struct set_arg {
	struct pub_job	*job;
	size_t		 set;
};

size_t
publish_max_unsent(const struct conf *cf)
{
	return cf->upload_max_pending > PUBLISH_MAX_JOBS ?
	    cf->upload_max_pending : PUBLISH_MAX_JOBS;
}

time_t
publish_next_time(const struct conf *cf, time_t now)
{
	uint32_t	r = 0;
	unsigned	span = cf->republish_max - cf->republish_min;

	if (span > 0 && ob_random(&r, sizeof(r)) == 0)
		return now + cf->republish_min + (time_t)(r % (span + 1));
	return now + cf->republish_min;
}

/* ------------------------------------------------------------------ */
/* HSDirs                                                              */

static void
refresh_range(struct collector *c, size_t from, size_t to)
{
	const struct hsdir_periods	*per;
	const struct hsdir_period	*p;
	uint8_t		 fps[COLLECTOR_MAX_HSDIRS][HS_RSA_ID_LEN];
	size_t		 i, n, k, m;
	int		 w, e, same;

	if (c->view == NULL)
		return;
	per = hsdir_view_periods(c->view);
	for (i = from; i < to && i < c->nservices; i++) {
		struct service *s = &c->services[i];

		for (w = 0; w < 2; w++) {
			struct desc_slot *sl = &s->slot[w];
			uint8_t blinded[ED25519_PK_LEN];

			p = w == 0 ? &per->first : &per->second;
			/*
			 * Blinding is the costly step (a scalar
			 * multiplication): consensuses within a period
			 * reuse the key, only the ring is walked again.
			 */
			e = 0;
			if (sl->valid && sl->tp == p->tp)
				memcpy(blinded, sl->blinded, sizeof(blinded));
			else
				e = hs_blind_pubkey(blinded, s->cf->pk, p->tp,
				    per->period_len);
			if (e != 0 ||
			    (e = hsdir_view_responsible(c->view, p, blinded,
			    fps, COLLECTOR_MAX_HSDIRS, &n)) != 0) {
				log_warnx("%s: %s: %s", __func__, s->cf->addr,
				    ob_strerror(e));
				continue;
			}
			if (n > COLLECTOR_MAX_HSDIRS)
				n = COLLECTOR_MAX_HSDIRS;
			if (n == 0)
				continue;
			/* A new period: a new descriptor from scratch. */
			if (!sl->valid || sl->tp != p->tp) {
				sl->have_eph = 0;
				ob_wipe(sl->eph_sk, sizeof(sl->eph_sk));
				for (k = 0; k < SEL_MAX_SETS; k++) {
					free(sl->docs[k]);
					sl->docs[k] = NULL;
				}
				free(sl->sets);
				sl->sets = NULL;
				sl->nsets = 0;
				sl->last_publish = 0;
				sl->nup = 0;
				sl->retry_at = 0;
				sl->failures = 0;
				sl->token_wait = 0;
			}
			same = sl->valid && sl->tp == p->tp && sl->nup == n;
			for (k = 0; same && k < n; k++) {
				for (m = 0; m < sl->nup; m++)
					if (memcmp(sl->up[m].hsdir, fps[k],
					    HS_RSA_ID_LEN) == 0)
						break;
				if (m == sl->nup)
					same = 0;
			}
			if (same)
				continue;
			/* tor uploads at once when the HSDir set changes. */
			if (sl->valid && sl->tp == p->tp)
				sl->hsdirs_changed = 1;
			if (n > sl->nup || sl->up == NULL) {
				struct upload *nu;

				if ((nu = reallocarray(sl->up, n,
				    sizeof(*nu))) == NULL) {
					log_warn("%s", __func__);
					continue;
				}
				sl->up = nu;
			}
			sl->valid = 1;
			sl->tp = p->tp;
			memcpy(sl->blinded, blinded, sizeof(blinded));
			for (k = 0; k < n; k++) {
				memset(&sl->up[k], 0, sizeof(sl->up[k]));
				memcpy(sl->up[k].hsdir, fps[k], HS_RSA_ID_LEN);
			}
			sl->nup = n;
		}
	}
}

void
publish_refresh_hsdirs(struct collector *c, time_t now)
{
	c->refresh_next = c->nservices;
	refresh_range(c, 0, c->nservices);
	(void)now;
}

void
publish_refresh_start(struct collector *c)
{
	c->refresh_next = 0;
}

int
publish_refresh_step(struct collector *c, size_t max)
{
	size_t	to;

	if (c->refresh_next >= c->nservices)
		return 0;
	to = c->refresh_next + max;
	if (to > c->nservices)
		to = c->nservices;
	refresh_range(c, c->refresh_next, to);
	c->refresh_next = to;
	return c->refresh_next < c->nservices;
}

/* ------------------------------------------------------------------ */
/* Uploads                                                             */

static const char upload_result_other[] = "other (see the log)";
/* The process's table: codes are only meaningful against one table. */
static struct upload_results upload_results_all;

uint8_t
upload_results_code(struct upload_results *t, const char *text)
{
	char	buf[UPLOAD_RESULT_LEN];
	size_t	i;

	if (text == NULL || text[0] == '\0')
		return 0;
	(void)snprintf(buf, sizeof(buf), "%s", text);
	for (i = 0; i < t->n; i++)
		if (strcmp(t->text[i], buf) == 0)
			return (uint8_t)(i + 1);
	if (t->n == UPLOAD_RESULTS - 2) {
		if (!t->full)
			log_warnx("%s: more than %d distinct upload results: "
			    "new ones show as \"%s\"", __func__,
			    UPLOAD_RESULTS - 2, upload_result_other);
		t->full = 1;
		return UPLOAD_R_OTHER;
	}
	memcpy(t->text[t->n], buf, sizeof(buf));
	return (uint8_t)++t->n;
}

const char *
upload_results_text(const struct upload_results *t, uint8_t code)
{
	if (code == UPLOAD_R_OTHER)
		return upload_result_other;
	if (code == 0 || code > t->n)
		return "";
	return t->text[code - 1];
}

uint8_t
upload_result_code(const char *text)
{
	return upload_results_code(&upload_results_all, text);
}

const char *
upload_result_text(uint8_t code)
{
	return upload_results_text(&upload_results_all, code);
}

int
publish_slot_keep(struct desc_slot *sl, const struct sel_set *sets,
    size_t nsets)
{
	struct sel_set	*ns;

	if (nsets == 0 || nsets > SEL_MAX_SETS)
		return -1;
	if ((ns = calloc(nsets, sizeof(*ns))) == NULL)
		return -1;
	memcpy(ns, sets, nsets * sizeof(*ns));
	free(sl->sets);
	sl->sets = ns;
	sl->nsets = nsets;
	return 0;
}

void
publish_slot_error(struct desc_slot *sl, const char *text)
{
	free(sl->error);
	sl->error = NULL;
	/* Out of memory: the slot shows no error; the log has it. */
	if (text != NULL && text[0] != '\0')
		sl->error = strdup(text);
}

struct post_arg {
	struct collector	*c;
	size_t			 svc;
	int			 which;
	uint64_t		 tp;
	size_t			 set;
	uint64_t		 revision;
	uint64_t		 epoch;		/* svc is an index of it */
};

static void
upload_fail(struct collector *c, struct upload *u, time_t now)
{
	unsigned	d = c->cf.retry_min;
	unsigned	i;

	u->state = UPLOAD_FAILED;
	u->attempts++;
	u->last_at = now;
	for (i = 1; i < u->attempts && d < c->cf.retry_max; i++)
		d *= 2;
	if (d > c->cf.retry_max)
		d = c->cf.retry_max;
	u->retry_at = now + d;
	c->uploads_failed++;
}

static void
post_cb(struct torctl *tc, const struct torctl_reply *r, void *arg)
{
	struct post_arg		*pa = arg;
	struct desc_slot	*sl;
	size_t			 k;
	time_t			 now = time(NULL);

	/* A reload renumbered the services: HS_DESC still reports it. */
	if (pa->epoch != pa->c->epoch)
		goto out;
	sl = &pa->c->services[pa->svc].slot[pa->which];
	/* The slot moved on (new period or new descriptor) meanwhile. */
	if (sl->tp != pa->tp || sl->revision != pa->revision)
		goto out;
	for (k = 0; k < sl->nup; k++) {
		struct upload *u = &sl->up[k];

		if (u->set != pa->set || u->state != UPLOAD_PENDING)
			continue;
		if (r == NULL || r->code != 250) {
			log_warnx("HSPOST %s refused: %d %s",
			    pa->c->services[pa->svc].cf->addr,
			    r == NULL ? 0 : r->code,
			    r != NULL && r->nlines > 0 ? r->lines[0].text :
			    "(connection lost)");
			u->result = upload_result_code("HSPOST refused");
			upload_fail(pa->c, u, now);
		} else
			u->retry_at = now + UPLOAD_EVENT_TIMEOUT;
	}
 out:
	free(pa);
}

/* HSPOST doc of set "set" to every upload of that set in state want. */
static int
post_set(struct collector *c, size_t svc, int which, size_t set, int want,
    time_t now)
{
	struct desc_slot	*sl = &c->services[svc].slot[which];
	uint8_t			 fps[COLLECTOR_MAX_HSDIRS][HS_RSA_ID_LEN];
	struct post_arg		*pa;
	size_t			 k, n = 0;

	if (sl->docs[set] == NULL)
		return -1;
	for (k = 0; k < sl->nup; k++)
		if (sl->up[k].set == set && sl->up[k].state == want &&
		    (want != UPLOAD_FAILED || now >= sl->up[k].retry_at))
			memcpy(fps[n++], sl->up[k].hsdir, HS_RSA_ID_LEN);
	if (n == 0)
		return 0;
	/*
	 * Each upload is a circuit tor must build, and tor builds 32 at
	 * once by default (MaxClientCircuitsPending), shared with the
	 * health checks' streams.  Handed thousands at once (hosting, a
	 * cold start) it queues and times them out, and the health checks
	 * starve.  Past the cap the rest waits for a later second.
	 */
	if (c->uploads_pending > 0 &&
	    c->uploads_pending + n > c->cf.upload_max_pending)
		return 0;
	if ((pa = calloc(1, sizeof(*pa))) == NULL)
		return -1;
	pa->c = c;
	pa->svc = svc;
	pa->which = which;
	pa->tp = sl->tp;
	pa->set = set;
	pa->revision = sl->revision;
	pa->epoch = c->epoch;
	if (torctl_hspost(c->tc, c->services[svc].cf->addr,
	    (const uint8_t (*)[TORCTL_FP_LEN])fps, n, sl->docs[set],
	    sl->doclens[set], post_cb, pa) != 0) {
		free(pa);
		return -1;
	}
	for (k = 0; k < sl->nup; k++)
		if (sl->up[k].set == set && sl->up[k].state == want &&
		    (want != UPLOAD_FAILED || now >= sl->up[k].retry_at)) {
			sl->up[k].state = UPLOAD_PENDING;
			sl->up[k].retry_at = now + UPLOAD_EVENT_TIMEOUT;
			sl->up[k].last_at = now;
		}
	c->uploads_pending += n;
	/* Every first upload of the set went out at once. */
	if (want == UPLOAD_NONE && !sl->hsdirs_changed && c->docs_unsent > 0)
		c->docs_unsent--;
	return 0;
}

/* Every HSDir of a set has its document: no retry will need it. */
static void
docs_release(struct desc_slot *sl, size_t set)
{
	size_t	k;

	for (k = 0; k < sl->nup; k++)
		if (sl->up[k].set == set && sl->up[k].state != UPLOAD_OK)
			return;
	free(sl->docs[set]);
	sl->docs[set] = NULL;
}

/*
 * Documents of a slot that wait for their first upload: posted by the
 * loop as the upload cap allows.  A slot whose HSDirs just changed is
 * not counted: its documents wait for the republish, which the count
 * must not hold back.
 */
static size_t
slot_unsent(const struct desc_slot *sl)
{
	size_t	k, set, n = 0;

	if (!sl->valid || sl->hsdirs_changed)
		return 0;
	for (set = 0; set < sl->nsets && set < SEL_MAX_SETS; set++) {
		if (sl->docs[set] == NULL)
			continue;
		for (k = 0; k < sl->nup; k++)
			if (sl->up[k].set == set &&
			    sl->up[k].state == UPLOAD_NONE) {
				n++;
				break;
			}
	}
	return n;
}

void
publish_upload_event(struct collector *c, const char *addr,
    const uint8_t hsdir[HS_RSA_ID_LEN], int ok, const uint8_t *blinded,
    const char *reason, time_t now)
{
	struct service	*s;
	size_t		 k;
	int		 w;

	/* One event per HSDir per upload: no walk over every service. */
	if ((s = collector_service_find(c, addr)) == NULL)
		return;
	/*
	 * UPLOADED names no blinded key: the first pending upload to that
	 * HSDir is the one (both live descriptors rarely share an HSDir).
	 */
	for (w = 0; w < 2; w++) {
		struct desc_slot *sl = &s->slot[w];

		if (blinded != NULL &&
		    memcmp(blinded, sl->blinded, ED25519_PK_LEN) != 0)
			continue;
		for (k = 0; k < sl->nup; k++) {
			struct upload *u = &sl->up[k];

			if (u->state != UPLOAD_PENDING ||
			    memcmp(u->hsdir, hsdir, HS_RSA_ID_LEN) != 0)
				continue;
			if (ok) {
				u->state = UPLOAD_OK;
				u->attempts = 0;
				u->last_at = now;
				u->result = 0;
				c->uploads_ok++;
				docs_release(sl, u->set);
			} else {
				log_warnx("upload of %s to an HSDir failed: "
				    "%s", addr, reason != NULL &&
				    reason[0] != '\0' ? reason : "unknown");
				u->result = upload_result_code(reason !=
				    NULL && reason[0] != '\0' ? reason :
				    "unknown");
				upload_fail(c, u, now);
			}
			return;
		}
	}
}

/* ------------------------------------------------------------------ */
/* The signer's token                                                  */

/*
 * A job refused for the token, not for its descriptor: the slot waits
 * for the token rather than for a back-off of its own, and only the
 * first refusal is worth a warning (with thousands of services, the
 * jobs in flight all fail together, and each probe fails again).
 */
static void
token_refused(struct pub_job *job, time_t now)
{
	struct collector	*c = job->c;
	struct desc_slot	*sl = &c->services[job->svc].slot[job->which];

	sl->token_wait = 1;
	publish_slot_error(sl, job->error);
	if (c->token_out != 0) {
		log_debug("publish %s tp %llu failed: %s",
		    c->services[job->svc].cf->addr,
		    (unsigned long long)job->tp, job->error);
		return;
	}
	c->token_out = now;
	c->token_probe_at = 0;	/* set by the next scan, by its clock */
	c->token_probes = 0;
	log_warnx("publish %s tp %llu failed: %s; the signer's token is out: "
	    "publishing paused, tried again every %d s",
	    c->services[job->svc].cf->addr, (unsigned long long)job->tp,
	    job->error, TOKEN_PROBE_INTERVAL);
}

/* The token signed again: every slot that waited for it is due now
 * (paced as any other job by the job and unsent-document limits). */
static void
token_back(struct collector *c, time_t now)
{
	size_t	i, n = 0;
	int	w;

	for (i = 0; i < c->nservices; i++)
		for (w = 0; w < 2; w++) {
			struct desc_slot *sl = &c->services[i].slot[w];

			if (!sl->token_wait)
				continue;
			sl->token_wait = 0;
			sl->retry_at = 0;
			n++;
		}
	log_info("the signer's token is back after %llds (%llu tries): "
	    "%zu descriptor(s) to publish again",
	    (long long)(now - c->token_out),
	    (unsigned long long)c->token_probes, n);
	c->token_out = 0;
	c->token_probe_at = 0;
	c->token_probes = 0;
	c->token_waiting = 0;
}

/* ------------------------------------------------------------------ */
/* The job                                                             */

static void
job_end(struct pub_job *job)
{
	struct collector	*c = job->c;
	struct desc_slot	*sl = &c->services[job->svc].slot[job->which];
	size_t			 k, unsent;
	unsigned		 d;
	time_t			 now;

	/* The clock of the scan that started the job (tests drive it),
	 * moved on by the job's own duration: time() in the daemon. */
	now = job->t0 + (time(NULL) - job->wall0);

	sl->busy = 0;
	c->jobs--;
	if (job->probe)
		c->token_probing = 0;
	free(job->ips);
	unsent = slot_unsent(sl);
	if (job->failed && job->hsm && sl->tp == job->tp) {
		token_refused(job, now);
		for (k = 0; k < SEL_MAX_SETS; k++)
			free(job->docs[k]);
		goto out;
	}
	/* Any other outcome ends the slot's wait for the token: a policy
	 * refusal after it gets its own back-off (review6). */
	sl->token_wait = 0;
	if (job->failed || sl->tp != job->tp) {
		sl->failures++;
		d = PUBLISH_BACKOFF_MIN;
		for (k = 1; k < sl->failures && d < PUBLISH_BACKOFF_MAX; k++)
			d *= 2;
		if (d > PUBLISH_BACKOFF_MAX)
			d = PUBLISH_BACKOFF_MAX;
		sl->retry_at = now + d;
		if (sl->tp == job->tp) {
			publish_slot_error(sl, job->error);
			log_warnx("publish %s tp %llu failed: %s",
			    c->services[job->svc].cf->addr,
			    (unsigned long long)job->tp, job->error);
		}
		for (k = 0; k < SEL_MAX_SETS; k++)
			free(job->docs[k]);
		goto out;
	}
	free(sl->sets);
	sl->sets = job->sets;
	sl->nsets = job->nsets;
	for (k = 0; k < SEL_MAX_SETS; k++) {
		free(sl->docs[k]);
		sl->docs[k] = job->docs[k];
		sl->doclens[k] = job->doclens[k];
	}
	sl->revision = job->revision;
	sl->sel_sig = 0;
	sl->last_publish = now;
	sl->next_publish = publish_next_time(&c->cf, now);
	sl->hsdirs_changed = 0;
	sl->failures = 0;
	publish_slot_error(sl, NULL);
	sl->publishes++;
	for (k = 0; k < sl->nup; k++) {
		sl->up[k].set = k % job->nsets;
		sl->up[k].state = UPLOAD_NONE;
		sl->up[k].attempts = 0;
	}
	/* The old documents are gone, the new ones wait for tor. */
	c->docs_unsent -= unsent < c->docs_unsent ? unsent : c->docs_unsent;
	c->docs_unsent += slot_unsent(sl);
	for (k = 0; k < job->nsets; k++)
		if (post_set(c, job->svc, job->which, k, UPLOAD_NONE,
		    now) != 0)
			log_warnx("publish %s: HSPOST not sent",
			    c->services[job->svc].cf->addr);
	log_info("published %s tp %llu: %zu descriptor(s), %zu intro points, "
	    "revision %llu", c->services[job->svc].cf->addr,
	    (unsigned long long)job->tp, job->nsets, sl->sets[0].n,
	    (unsigned long long)job->revision);
	job->sets = NULL;	/* the slot's now */
	/* Signed, so the token is in (replies come in request order). */
	if (c->token_out != 0)
		token_back(c, now);
 out:
	free(job->sets);
	ob_wipe(job->client_sk, sizeof(job->client_sk));
	free(job);
}

/* Keep the first reason: later ones are consequences. */
static void
job_fail(struct pub_job *job, const char *what, const char *detail)
{
	/* Truncation is fine: it is for the log and the status. */
	if (!job->failed && snprintf(job->error, sizeof(job->error),
	    "%s%s%s", what, detail != NULL ? ": " : "",
	    detail != NULL ? detail : "") < 0)
		job->error[0] = '\0';
	job->failed = 1;
}

/* The signer said no: the same, remembering whether for its token. */
static void
job_refused(struct pub_job *job, const char *what, const struct sc_reply *r)
{
	if (!job->failed && r->reason == PROTO_R_HSM)
		job->hsm = 1;
	job_fail(job, what, r->detail);
}

static void
sign_cb(const struct sc_reply *r, void *arg)
{
	struct set_arg	*sa = arg;
	struct pub_job	*job = sa->job;
	struct buf	*b = NULL;
	char		*doc;
	int		 e;

	if (!r->ok)
		job_refused(job, "signer refused the descriptor", r);
	else if (!job->failed) {
		if ((b = buf_new(HS_DESC_MAX_LEN + 1)) == NULL ||
		    buf_put(b, job->docs[sa->set],
		    job->doclens[sa->set]) != 0 ||
		    (e = hs_desc_append_signature(b,
		    r->u.sig.signature)) != 0 ||
		    buf_dup_cstr(b, &doc) != 0)
			job_fail(job, "cannot append the signature", NULL);
		else {
			free(job->docs[sa->set]);
			job->docs[sa->set] = (uint8_t *)doc;
			job->doclens[sa->set] = buf_len(b);
			job->c->token_sigs++;
		}
	}
	buf_free(b);
	free(sa);
	if (--job->outstanding == 0)
		job_end(job);
}

int
publish_eph_key(struct desc_slot *sl, uint64_t tp)
{
	if (sl->have_eph && sl->eph_tp == tp)
		return 0;
	sl->have_eph = 0;
	ob_wipe(sl->eph_sk, sizeof(sl->eph_sk));
	if (hs_desc_auth_keypair(sl->eph_sk, sl->eph_pk) != 0)
		return -1;
	sl->have_eph = 1;
	sl->eph_tp = tp;
	return 0;
}

/* Build every body and send them to be signed. */
static void
job_sign(struct pub_job *job)
{
	struct collector		*c = job->c;
	const struct conf_service	*cs = c->services[job->svc].cf;
	struct desc_slot		*sl;
	struct hs_desc_encode_params	 ep;
	struct hs_desc			*d = NULL;
	struct buf			*b = NULL;
	struct set_arg			*sa;
	uint8_t			 (*pks)[X25519_KEY_LEN] = NULL;
	size_t				 k, i;
	int				 e;
	char				*body;

	if ((d = calloc(1, sizeof(*d))) == NULL ||
	    (pks = calloc(cs->n_client_pks + 1, sizeof(*pks))) == NULL ||
	    (b = buf_new(HS_DESC_MAX_LEN + 1)) == NULL) {
		job_fail(job, "out of memory", NULL);
		goto done;
	}
	sl = &c->services[job->svc].slot[job->which];
	if (publish_eph_key(sl, job->tp) != 0) {
		job_fail(job, "no randomness", NULL);
		goto done;
	}
	for (k = 0; k < job->nsets && !job->failed; k++) {
		const struct sel_set *s = &job->sets[k];

		hs_desc_init(d);
		d->lifetime_min = HS_DESC_LIFETIME_DEFAULT;
		d->signing_cert = job->cert08;
		d->revision_counter = job->revision;
		d->single_onion = s->single_onion;
		d->has_flow_control = s->flow_control;
		(void)snprintf(d->flow_control_versions,
		    sizeof(d->flow_control_versions), "%s", s->fc_versions);
		d->flow_control_sendme_inc = s->fc_sendme_inc;
		d->pow_params = NULL;	/* never: see the man page */
		for (i = 0; i < s->n; i++)
			d->intro[i] = job->ips[job->ipbase[k] + i];
		d->n_intro = s->n;

		memset(&ep, 0, sizeof(ep));
		ep.identity_pk = cs->pk;
		ep.blinded_pk = job->blinded_pk;
		ep.auth_ephemeral_sk = sl->eph_sk;
		ep.auth_ephemeral_pk = sl->eph_pk;
		if (cs->n_client_pks > 0) {
			/*
			 * Restricted discovery: the configured clients, plus
			 * a throwaway one whose secret goes to the signer so
			 * it can read the inner layer it signs.
			 */
			memcpy(pks, cs->client_pks,
			    cs->n_client_pks * sizeof(*pks));
			if (ob_random(job->client_sk[k],
			    X25519_KEY_LEN) != 0 ||
			    ob_x25519_pubkey(pks[cs->n_client_pks],
			    job->client_sk[k]) != 0) {
				job_fail(job, "no randomness", NULL);
				break;
			}
			ep.client_pks = (const uint8_t (*)[X25519_KEY_LEN])pks;
			ep.n_client_pks = cs->n_client_pks + 1;
		}
		buf_reset(b);
		if ((e = hs_desc_encode_body(b, d, &ep)) != 0) {
			job_fail(job, "cannot build the descriptor",
			    ob_strerror(e));
			break;
		}
		if (buf_dup_cstr(b, &body) != 0) {
			job_fail(job, "out of memory", NULL);
			break;
		}
		job->docs[k] = (uint8_t *)body;
		job->doclens[k] = buf_len(b);
		if ((sa = calloc(1, sizeof(*sa))) == NULL) {
			job_fail(job, "out of memory", NULL);
			break;
		}
		sa->job = job;
		sa->set = k;
		if (sc_sign_desc(c->sc, cs->addr, job->tp,
		    cs->n_client_pks > 0 ? job->client_sk[k] : NULL,
		    job->docs[k], job->doclens[k], sign_cb, sa) != 0) {
			free(sa);
			job_fail(job, "signer not reachable", NULL);
			break;
		}
		job->outstanding++;
	}
 done:
	free(d);	/* its intro certs and keys are public */
	free(pks);
	buf_free(b);
	/* In the bodies now; the rest of the job waits for the token. */
	free(job->ips);
	job->ips = NULL;
	if (job->outstanding == 0)
		job_end(job);
}

static void
params_cb(const struct sc_reply *r, void *arg)
{
	struct pub_job		*job = arg;
	struct desc_slot	*sl;

	sl = &job->c->services[job->svc].slot[job->which];
	job->outstanding--;
	if (!r->ok) {
		job_refused(job, "signer has no parameters", r);
		job_end(job);
		return;
	}
	if (memcmp(r->u.params.blinded_pk, sl->blinded,
	    ED25519_PK_LEN) != 0) {
		/* The two processes disagree on the period length. */
		job_fail(job, "signer's blinded key differs from ours "
		    "(period length mismatch?)", NULL);
		job_end(job);
		return;
	}
	memcpy(job->blinded_pk, r->u.params.blinded_pk, ED25519_PK_LEN);
	job->revision = r->u.params.revision;
	job->cert08 = r->u.params.cert;
	job->have_params = 1;
	if (job->failed)
		job_end(job);
	else
		job_sign(job);
}

static void
job_params(struct pub_job *job)
{
	if (job->failed) {
		job_end(job);
		return;
	}
	job->outstanding = 1;
	if (sc_desc_params(job->c->sc, job->c->services[job->svc].cf->addr,
	    job->tp, params_cb, job) != 0) {
		job->outstanding = 0;
		job_fail(job, "signer not reachable", NULL);
		job_end(job);
	}
}

static void
recert_cb(const struct sc_reply *r, void *arg)
{
	struct set_arg	*sa = arg;
	struct pub_job	*job = sa->job;
	const struct sel_set *s = &job->sets[sa->set];
	size_t		 i, j;

	if (!r->ok)
		job_refused(job, "signer refused to certify intro points",
		    r);
	else {
		for (i = 0; i < r->u.recert.n; i++) {
			for (j = 0; j < s->n; j++)
				if (memcmp(s->auth_key[j],
				    r->u.recert.cert[i].auth_key, 32) == 0)
					break;
			if (j == s->n)
				continue;
			job->ips[job->ipbase[sa->set] + j].auth_key_cert =
			    r->u.recert.cert[i].auth_cert;
			job->ips[job->ipbase[sa->set] + j].enc_key_cert =
			    r->u.recert.cert[i].enc_cert;
			job->certified[sa->set][j] = 1;
		}
		for (j = 0; j < s->n; j++)
			if (!job->certified[sa->set][j])
				job_fail(job, "signer left an intro point "
				    "uncertified", NULL);
	}
	free(sa);
	if (--job->outstanding == 0)
		job_params(job);
}

/* 0 once the job runs (job_end will see it), -1 if it never began. */
static int
job_start(struct collector *c, size_t svc, int which,
    const struct sel_input *in, const struct sel_set *sets, size_t nsets,
    int probe, time_t now)
{
	struct desc_slot	*sl = &c->services[svc].slot[which];
	struct pub_job		*job;
	struct set_arg		*sa;
	size_t			 k, i, nip = 0;

	if (nsets > SEL_MAX_SETS)
		return -1;
	for (k = 0; k < nsets; k++)
		nip += sets[k].n;
	if ((job = calloc(1, sizeof(*job))) == NULL)
		return -1;
	if ((job->ips = calloc(nip + 1, sizeof(*job->ips))) == NULL ||
	    (job->sets = calloc(nsets, sizeof(*job->sets))) == NULL) {
		free(job->ips);
		free(job);
		return -1;
	}
	c->jobs++;
	if ((job->probe = probe))
		c->token_probing = 1;
	job->t0 = now;
	job->wall0 = time(NULL);
	job->c = c;
	job->svc = svc;
	job->which = which;
	job->tp = sl->tp;
	job->nsets = nsets;
	for (nip = 0, k = 0; k < nsets; k++) {
		job->sets[k] = sets[k];
		job->ipbase[k] = nip;
		for (i = 0; i < sets[k].n; i++) {
			const struct sel_pick *pk = &sets[k].pick[i];

			job->ips[nip++] =
			    in[pk->backend].desc->intro[pk->intro];
		}
	}
	sl->busy = 1;
	for (k = 0; k < nsets; k++) {
		if ((sa = calloc(1, sizeof(*sa))) == NULL) {
			job_fail(job, "out of memory", NULL);
			break;
		}
		sa->job = job;
		sa->set = k;
		if (sc_recertify(c->sc, c->services[svc].cf->addr, job->tp,
		    (const uint8_t (*)[ED25519_PK_LEN])job->sets[k].auth_key,
		    job->sets[k].n, recert_cb, sa) != 0) {
			free(sa);
			job_fail(job, "signer not reachable", NULL);
			break;
		}
		job->outstanding++;
	}
	if (job->outstanding == 0)
		job_params(job);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Scheduling                                                          */

static int
sets_differ(const struct desc_slot *sl, const struct sel_set *sets,
    size_t nsets)
{
	size_t	k;

	if (sl->nsets != nsets)
		return 1;
	for (k = 0; k < nsets; k++)
		if (!select_set_equal(&sl->sets[k], &sets[k]))
			return 1;
	return 0;
}

/*
 * One service's turn.  A due slot that a limit holds back (jobs in
 * flight, unsent documents, the token) is recorded in *held, the first
 * one only: the next scan starts there.
 */
static void
publish_service(struct collector *c, size_t svc, time_t now,
    struct sel_input *in, struct sel_set *sets, size_t *held)
{
	struct service		*s = &c->services[svc];
	const struct conf_pool	*p = &c->cf.pools[s->cf->pool];
	const struct sc_hello	*h;
	uint8_t			 prev[HS_DESC_MAX_INTRO * SEL_MAX_SETS][32];
	size_t			 nin = 0, nprev, nsets, j, k;
	int			 w, e, due, waiting = 0, probe;
	uint64_t		 sig = 0xcbf29ce484222325ULL;

	for (j = 0; j < p->nbackends; j++) {
		struct backend *b = &c->backends[p->backends[j]];

		/*
		 * A live backend's new descriptor is on its way to the
		 * signer: wait for the verdict (milliseconds) rather than
		 * publish without that backend and again with it.
		 */
		if (b->up && b->have_desc && s->verified_gen[j] != b->gen &&
		    s->rejected_gen[j] != b->gen && sc_ready(c->sc))
			waiting = 1;
		if (b->up && b->have_desc && s->verified_gen[j] == b->gen) {
			in[nin].desc = &b->desc;
			in[nin].rank = b->rank;
			nin++;
			/* FNV-1a over (member, generation) of the inputs. */
			sig = (sig ^ (j + 1)) * 0x100000001b3ULL;
			sig = (sig ^ b->gen) * 0x100000001b3ULL;
		}
	}
	for (w = 0; w < 2; w++) {
		struct desc_slot *sl = &s->slot[w];

		if (!sl->valid)
			continue;
		/* Upload retries of the current documents. */
		for (k = 0; k < sl->nup; k++)
			if (sl->up[k].state == UPLOAD_PENDING &&
			    now >= sl->up[k].retry_at) {
				sl->up[k].result =
				    upload_result_code("no event from tor");
				upload_fail(c, &sl->up[k], now);
			}
		/* First uploads the cap held back, then retries. */
		for (k = 0; k < sl->nsets && !sl->busy; k++) {
			/* (Not to HSDirs just changed: a republish is due.) */
			if (!sl->hsdirs_changed)
				(void)post_set(c, svc, w, k, UPLOAD_NONE, now);
			(void)post_set(c, svc, w, k, UPLOAD_FAILED, now);
		}
		/* (A slot waiting for the token has no back-off of its own:
		 * the token's probes pace it.) */
		if (sl->busy || nin == 0 || waiting ||
		    (now < sl->retry_at && !sl->token_wait))
			continue;
		/* Thousands of services, once a second: skip the choice
		 * when nothing it depends on has moved. */
		if (sl->sel_sig == sig && sl->last_publish != 0 &&
		    !sl->hsdirs_changed && now < sl->next_publish)
			continue;
		sl->sel_sig = 0;
		c->selections++;
		nprev = 0;
		for (k = 0; k < sl->nsets; k++)
			for (j = 0; j < sl->sets[k].n; j++)
				memcpy(prev[nprev++], sl->sets[k].auth_key[j],
				    32);
		nsets = 1;
		if (s->cf->distinct)
			nsets = select_distinct_count(&s->cf->sel, nin,
			    sl->nup < SEL_MAX_SETS ? sl->nup : SEL_MAX_SETS);
		if (nsets == 1)
			e = select_intro_points(&sets[0], in, nin, &s->cf->sel,
			    (const uint8_t (*)[32])prev, nprev);
		else
			e = select_distinct(sets, nsets, in, nin, &s->cf->sel,
			    (const uint8_t (*)[32])prev, nprev);
		if (e != 0 || sets[0].n == 0)
			continue;
		due = sl->last_publish == 0 || sl->hsdirs_changed ||
		    now >= sl->next_publish ||
		    sets_differ(sl, sets, nsets);
		if (!due)
			sl->sel_sig = sig;
		if (!due || c->reload_wanted ||
		    (h = sc_hello_info(c->sc)) == NULL ||
		    torctl_state(c->tc) != TORCTL_READY ||
		    !publish_period_live(sl->tp, h->period_len, h->rot_offset,
		    now))
			continue;
		/*
		 * Past publish_max_unsent() documents (built or being
		 * built) waiting for their first upload, a new one would
		 * only wait in memory: the next turn may start it.  While
		 * the token is out, only one job per interval tries it.
		 */
		if (c->jobs >= PUBLISH_MAX_JOBS ||
		    c->jobs + c->docs_unsent >= publish_max_unsent(&c->cf) ||
		    (c->token_out != 0 && (c->token_probing ||
		    now < c->token_probe_at))) {
			if (*held == SIZE_MAX)
				*held = svc;
			continue;
		}
		probe = c->token_out != 0;
		if (job_start(c, svc, w, in, sets, nsets, probe, now) == 0 &&
		    probe) {
			c->token_probe_at = now + TOKEN_PROBE_INTERVAL;
			c->token_probes++;
			/* The next probe goes to the next service: one whose
			 * own key fails (also PROTO_R_HSM) must not be the
			 * only one ever tried (review6). */
			*held = (svc + 1) % c->nservices;
		}
	}
}

int
publish_period_live(uint64_t tp, uint32_t period_len, uint32_t rot_offset,
    time_t now)
{
	/* Parameters the signer would refuse (< 0): let it say why. */
	return provision_live(tp, period_len, rot_offset, now) != 0;
}

void
publish_run(struct collector *c, time_t now)
{
	struct sel_input	*in;
	struct sel_set		*sets;
	size_t			 i, k, n, maxb = 1, held = SIZE_MAX;
	int			 w;

	if (c->view == NULL)
		return;
	for (i = 0; i < c->cf.npools; i++)
		if (c->cf.pools[i].nbackends > maxb)
			maxb = c->cf.pools[i].nbackends;
	if ((in = calloc(maxb, sizeof(*in))) == NULL ||
	    (sets = calloc(SEL_MAX_SETS, sizeof(*sets))) == NULL) {
		free(in);
		return;
	}
	/* Recounted each second rather than tracked through every state
	 * change: S x 2 x 8 compares, nothing to drift. */
	c->uploads_pending = 0;
	c->docs_unsent = 0;
	c->token_waiting = 0;
	for (i = 0; i < c->nservices; i++)
		for (w = 0; w < 2; w++) {
			const struct desc_slot *sl = &c->services[i].slot[w];

			for (k = 0; k < sl->nup; k++)
				if (sl->up[k].state == UPLOAD_PENDING)
					c->uploads_pending++;
			c->docs_unsent += slot_unsent(sl);
			c->token_waiting += sl->token_wait != 0;
		}
	/* The first probe comes an interval after the refusal. */
	if (c->token_out != 0 && c->token_probe_at == 0)
		c->token_probe_at = now + TOKEN_PROBE_INTERVAL;
	/*
	 * Round robin: under sustained churn more slots are due than the
	 * limits let start, and a scan from service 0 would serve low
	 * indexes first every time.  Resuming where the last scan was held
	 * back gives every due slot its turn within due / limit runs.
	 */
	if (c->publish_next >= c->nservices)
		c->publish_next = 0;
	for (n = 0, i = c->publish_next; n < c->nservices; n++) {
		publish_service(c, i, now, in, sets, &held);
		if (++i == c->nservices)
			i = 0;
	}
	if (held != SIZE_MAX)
		c->publish_next = held;
	free(sets);
	free(in);
}
