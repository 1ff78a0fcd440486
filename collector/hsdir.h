/*
 * The collector's view of the tor network: the microdescriptor consensus
 * and the microdescriptors, reduced to what placing and fetching v3
 * descriptors needs (tor-v3-notes 1.6, 1.7; rend-spec-v3 [TIME-PERIODS],
 * [WHERE-HSDESC]).
 *
 * Build a view from tor's own documents:
 *	v = hsdir_view_new();
 *	hsdir_view_parse_consensus(v, <GETINFO
 *	    dir/status-vote/current/consensus-microdesc>, len);
 *	hsdir_view_add_mds(v, <GETINFO md/all>, len);	(any number of times)
 *	[ for each hsdir_view_missing(): GETINFO md/id/<hex fp>, add_mds ]
 *	hsdir_view_finish(v, testnet);
 * then ask it which time periods and SRVs the two live descriptors use and
 * which HSDirs are responsible for a blinded key.  A finished view is
 * immutable (const from then on); build a new one on every new
 * consensus (torctl_event_is_new_consensus()) and swap.
 *
 * The ring holds every relay with the HSDir flag, "pr" HSDir=2 and an
 * "id ed25519" line in its microdescriptor, matched by the "m" digest
 * (SHA-256 of the microdescriptor text).  A relay whose microdescriptor
 * is missing is kept aside and reported, never silently dropped.
 *
 * Everything parsed here comes from tor and is still treated as hostile:
 * bounded lines, caps on the relay count, a clear error for bad input.
 * Functions return 0 or a negative enum ob_err.
 */
#ifndef OB_HSDIR_H
#define OB_HSDIR_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "hs_keys.h"

#define HSDIR_MAX_RELAYS	100000	/* far above the real network */
#define HSDIR_MD_DIGEST_LEN	32	/* SHA-256 of a microdescriptor */
#define HSDIR_MAX_RESPONSIBLE	(16 * 128)	/* replicas x spread maxima */

/* Consensus parameters we use, clamped to tor's bounds
 * (hs_common.c, dir-spec "params"); defaults when absent. */
struct hsdir_params {
	uint64_t	hsdir_interval;		/* minutes [5, 14400], 1440 */
	unsigned	n_replicas;		/* [1, 16], 2 */
	unsigned	spread_store;		/* [1, 128], 4 */
	unsigned	spread_fetch;		/* [1, 128], 3 */
	/* HSV3MaxDescriptorSize, 50000 */
	uint32_t	max_desc_size;
	int		cc_sendme_inc;		/* cc_sendme_inc [1,254], 31 */
};

struct hsdir_view_stats {
	size_t		routers;	/* "r" entries in the consensus */
	size_t		hsdir_flag;	/* with the HSDir flag */
	size_t		hsdir_v2;	/* ... and pr HSDir=2 */
	size_t		no_md;		/* ... without a microdescriptor */
	size_t		no_ed;		/* ... whose md has no id ed25519 */
	size_t		ring;		/* on the ring */
};

/* One time period and the SRV its descriptor's HSDir indexes use. */
struct hsdir_period {
	uint64_t	tp;
	uint8_t		srv[HS_SRV_LEN];
	int		srv_is_disaster;	/* the consensus had none */
	time_t		start;			/* when tp begins */
};

/* The two live descriptors' periods and the client fetch period. */
struct hsdir_periods {
	uint64_t		period_len;	/* minutes */
	uint64_t		rot_offset;	/* minutes */
	int			between_tp_and_srv;
	struct hsdir_period	first;
	struct hsdir_period	second;
	struct hsdir_period	fetch;
};

struct hsdir_view;

struct hsdir_view *hsdir_view_new(void);
void	hsdir_view_free(struct hsdir_view *);		/* NULL ok */

/*
 * The microdesc-flavoured consensus text (network-status-version 3
 * microdesc).  Keeps valid-after, fresh-until, valid-until, params, the
 * SRVs, and each router's RSA identity, flags, pr HSDir and "m" digest.
 * Signatures are not checked: tor did that before it served the
 * document.  Call once per view.
 */
int	hsdir_view_parse_consensus(struct hsdir_view *, const uint8_t *,
	    size_t) __attribute__((warn_unused_result));
/*
 * Microdescriptors as "GETINFO md/all" or "md/id/<fp>" return them
 * (one or many, each starting at an "onion-key" line; "@" annotations
 * are skipped).  Each is hashed and matched to the consensus by digest;
 * ones nobody references are ignored.
 */
int	hsdir_view_add_mds(struct hsdir_view *, const uint8_t *, size_t)
	    __attribute__((warn_unused_result));
/*
 * Ring candidates (HSDir flag + HSDir=2) whose microdescriptor has not
 * been added yet: writes up to max RSA ids to out and the full count to
 * *n (which may exceed max).  Ask tor for each with GETINFO md/id/<hex>.
 */
void	hsdir_view_missing(const struct hsdir_view *,
	    uint8_t (*out)[HS_RSA_ID_LEN], size_t max, size_t *n);
/*
 * Build the ring and choose the periods.  testnet: tor's
 * TestingTorNetwork rule (period length = one SR run = 24 voting
 * intervals, whatever hsdir_interval says).  The voting interval is
 * fresh-until minus valid-after; the rotation offset is 12 of them.
 */
int	hsdir_view_finish(struct hsdir_view *, int testnet)
	    __attribute__((warn_unused_result));

/* Accessors (valid once finish() succeeded). */
time_t	hsdir_view_valid_after(const struct hsdir_view *);
time_t	hsdir_view_fresh_until(const struct hsdir_view *);
time_t	hsdir_view_valid_until(const struct hsdir_view *);
const struct hsdir_params *hsdir_view_params(const struct hsdir_view *);
const struct hsdir_periods *hsdir_view_periods(const struct hsdir_view *);
void	hsdir_view_stats(const struct hsdir_view *, struct hsdir_view_stats *);
/* SRVs as the consensus gives them: returns 1 and copies, 0 if absent. */
int	hsdir_view_srv(const struct hsdir_view *, int previous,
	    uint8_t [HS_SRV_LEN]);
/* The ring's relays (unordered), e.g. for HSPOST SERVER= lookups. */
const struct hs_relay *hsdir_view_relays(const struct hsdir_view *,
	    size_t *n);

/*
 * The HSDirs responsible for storing the descriptor of blinded key
 * "blinded" in period p (one of view's periods.first / .second):
 * n_replicas x spread_store relays, as tor's hs_get_responsible_hsdirs()
 * picks them.  Writes up to max RSA ids to out and the count to *n.
 * finish() sorts the ring of each live period once, so thousands of
 * services cost one hash and a binary search each.  OB_ERR_MISMATCH if p
 * is not one of the view's periods.
 */
int	hsdir_view_responsible(const struct hsdir_view *,
	    const struct hsdir_period *p,
	    const uint8_t blinded[ED25519_PK_LEN],
	    uint8_t (*out)[HS_RSA_ID_LEN], size_t max, size_t *n)
	    __attribute__((warn_unused_result));
/* Same with spread_fetch: where a client (and HSFETCH) would look for
 * a backend's descriptor in the current period (periods.fetch). */
int	hsdir_view_fetch_hsdirs(const struct hsdir_view *,
	    const uint8_t blinded[ED25519_PK_LEN],
	    uint8_t (*out)[HS_RSA_ID_LEN], size_t max, size_t *n)
	    __attribute__((warn_unused_result));

/* Pure helper for the period choice (tested on its own): fills p from
 * a consensus valid-after, the voting interval (seconds), the period
 * length (minutes) and the SRVs (NULL when absent). */
int	hsdir_periods_compute(struct hsdir_periods *, time_t valid_after,
	    unsigned voting_interval, uint64_t period_len,
	    const uint8_t *srv_cur, const uint8_t *srv_prev)
	    __attribute__((warn_unused_result));

#endif /* OB_HSDIR_H */
