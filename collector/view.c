/*
 * The collector's view of the network: GETINFO the microdesc consensus
 * and the microdescriptors from tor, build an hsdir_view, and swap it in
 * only when it is complete.  Anything short of that (a refused GETINFO,
 * a bad document, the connection dropping midway) keeps the previous
 * view: publishing on an empty or partial ring would send descriptors
 * to the wrong HSDirs.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collector.h"
#include "encode.h"
#include "err.h"
#include "hsdir.h"
#include "log.h"
#include "torctl.h"

#define MD_MISSING_MAX		256	/* md/id requests per consensus */

struct view_load {
	struct collector	*c;
	struct hsdir_view	*v;
	size_t			 md_outstanding;
	int			 failed;	/* keep the old view */
};

static void view_done(struct view_load *);

static void
md_one_cb(struct torctl *tc, const struct torctl_reply *r, void *arg)
{
	struct view_load	*vl = arg;
	const uint8_t		*val;
	size_t			 len;

	/* The connection dropped: the view would lack microdescriptors. */
	if (r == NULL && !vl->failed) {
		log_warnx("%s: control connection lost while loading "
		    "microdescriptors", __func__);
		vl->failed = 1;
	}
	if (r != NULL && r->code == 250 && r->nlines > 0 &&
	    r->lines[0].data != NULL) {
		val = r->lines[0].data;
		len = r->lines[0].datalen;
		if (hsdir_view_add_mds(vl->v, val, len) != 0)
			log_warnx("%s: bad microdescriptor", __func__);
	}
	if (--vl->md_outstanding == 0)
		view_done(vl);
}

static void
md_all_cb(struct torctl *tc, const struct torctl_reply *r, void *arg)
{
	struct view_load	*vl = arg;
	const uint8_t		*val;
	size_t			 len, n, i;
	uint8_t			 (*miss)[HS_RSA_ID_LEN];
	char			 hex[2 * HS_RSA_ID_LEN + 1];
	int			 e;

	if (r == NULL || r->code != 250 ||
	    torctl_getinfo_value(r, "md/all", &val, &len) != 0 ||
	    (e = hsdir_view_add_mds(vl->v, val, len)) != 0) {
		/*
		 * A ring built without microdescriptors would be empty:
		 * keep publishing with the old view until the next try.
		 */
		log_warnx("%s: GETINFO md/all failed; keeping the previous "
		    "consensus", __func__);
		vl->failed = 1;
		goto finish;
	}
	hsdir_view_missing(vl->v, NULL, 0, &n);
	if (n == 0)
		goto finish;
	if (n > MD_MISSING_MAX)
		n = MD_MISSING_MAX;
	if ((miss = calloc(n, sizeof(*miss))) == NULL)
		goto finish;
	hsdir_view_missing(vl->v, miss, n, &len);
	for (i = 0; i < n; i++) {
		if (hex_encode(hex, sizeof(hex), miss[i], HS_RSA_ID_LEN,
		    1) != 0)
			continue;
		if (torctl_sendf(tc, md_one_cb, vl, "GETINFO md/id/%s",
		    hex) == 0)
			vl->md_outstanding++;
	}
	free(miss);
	if (vl->md_outstanding > 0)
		return;
 finish:
	view_done(vl);
}

static void
consensus_cb(struct torctl *tc, const struct torctl_reply *r, void *arg)
{
	struct view_load	*vl = arg;
	const uint8_t		*val;
	size_t			 len;
	int			 e;

	if (r == NULL || r->code != 250 ||
	    torctl_getinfo_value(r,
	    "dir/status-vote/current/consensus-microdesc", &val, &len) != 0) {
		log_warnx("no microdesc consensus from tor yet");
		goto fail;
	}
	if ((e = hsdir_view_parse_consensus(vl->v, val, len)) != 0) {
		log_warnx("consensus from tor rejected: %s", ob_strerror(e));
		goto fail;
	}
	if (torctl_getinfo(tc, "md/all", md_all_cb, vl) != 0)
		goto fail;
	return;
 fail:
	vl->c->view_loading = 0;
	hsdir_view_free(vl->v);
	free(vl);
}

static void
view_done(struct view_load *vl)
{
	struct collector	*c = vl->c;
	struct hsdir_view_stats	 st;
	int			 e;

	c->view_loading = 0;
	if (vl->failed) {
		hsdir_view_free(vl->v);
		free(vl);
		return;
	}
	if ((e = hsdir_view_finish(vl->v, c->testnet)) != 0) {
		log_warnx("cannot use the consensus: %s", ob_strerror(e));
		hsdir_view_free(vl->v);
		free(vl);
		return;
	}
	hsdir_view_stats(vl->v, &st);
	log_info("consensus: %zu relays, %zu on the HSDir ring (%zu without "
	    "microdescriptor), tp %llu/%llu", st.routers, st.ring, st.no_md,
	    (unsigned long long)hsdir_view_periods(vl->v)->first.tp,
	    (unsigned long long)hsdir_view_periods(vl->v)->second.tp);
	hsdir_view_free(c->view);
	c->view = vl->v;
	free(vl);
	/* In steps from the loop: see publish_refresh_step. */
	publish_refresh_start(c);
	(void)publish_refresh_step(c, REFRESH_BATCH);
	/* Fetch at once on a new consensus, like tor and OnionBalance. */
	c->next_fetch = 0;
}

void
collector_view_load(struct collector *c)
{
	struct view_load	*vl;

	if (c->view_loading || torctl_state(c->tc) != TORCTL_READY)
		return;
	if ((vl = calloc(1, sizeof(*vl))) == NULL ||
	    (vl->v = hsdir_view_new()) == NULL) {
		free(vl);
		return;
	}
	vl->c = c;
	if (torctl_getinfo(c->tc,
	    "dir/status-vote/current/consensus-microdesc", consensus_cb,
	    vl) != 0) {
		hsdir_view_free(vl->v);
		free(vl);
		return;
	}
	c->view_loading = 1;
}

