/*
 * obhsm-collector: the unprivileged process that follows tor, fetches
 * backend descriptors, chooses intro points, builds master descriptor
 * bodies, has the signer sign them and uploads them.  One header for the
 * whole daemon, grouped by file (OpenBSD style); the control port and
 * the hash ring have their own headers (torctl.h, hsdir.h).
 */
#ifndef OB_COLLECTOR_H
#define OB_COLLECTOR_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "hs_desc.h"
#include "hs_keys.h"
#include "proto.h"

#define COLLECTOR_CONF_DEFAULT	SYSCONFDIR "/obhsm-collector.conf"

/* select.c */

#define SEL_MAX_BACKENDS	4096	/* per pool */
#define SEL_MAX_SETS		8	/* distinct descriptors per period */

enum sel_policy {
	SEL_POLICY_STEADY = 0,	/* a fixed count, spread over backends */
	SEL_POLICY_PER_BACKEND,	/* n per live backend (OnionBalance) */
};

struct sel_params {
	enum sel_policy	policy;
	unsigned	target;		/* STEADY: intro points, 1..20 */
	unsigned	per_backend;	/* PER_BACKEND: 1..20 */
};

/* One live backend as selection sees it. */
struct sel_input {
	const struct hs_desc	*desc;	/* decoded and verified */
	uint32_t		 rank;	/* lower goes first in each round */
};

/* The relay an intro point sits on, from its link specifiers. */
struct sel_relay {
	int		has_rsa;
	uint8_t		rsa_id[HS_RSA_ID_LEN];
	int		has_ed;
	uint8_t		ed_id[ED25519_PK_LEN];
};

struct sel_pick {
	uint16_t	backend;	/* index into the sel_input array */
	uint16_t	intro;		/* index into that desc's intro[] */
};

/*
 * The content of one master descriptor.  Each live descriptor keeps
 * one (two per service), so it holds only what stickiness, the equality
 * check and the status need: the relays are not kept (the status finds
 * them through the backends' link specifiers, by auth key).
 */
struct sel_set {
	struct sel_pick	 pick[HS_DESC_MAX_INTRO];
	uint8_t		 auth_key[HS_DESC_MAX_INTRO][ED25519_PK_LEN];
	size_t		 n;
	size_t		 n_backends;	/* distinct backends among picks */
	int		 flow_control;	/* every chosen backend has it */
	char		 fc_versions[32];
	unsigned	 fc_sendme_inc;
	int		 single_onion;	/* every chosen backend is one */
};

/*
 * Parse a link specifier block (rend-spec 0.4) for the relay's identity.
 * Fails when it is malformed or lacks the legacy RSA id tor requires.
 */
int	select_relay_id(struct sel_relay *, const uint8_t *, size_t)
	    __attribute__((warn_unused_result));
/* 1 if both name the same relay (by RSA or by ed25519 identity). */
int	select_relay_same(const struct sel_relay *, const struct sel_relay *);

/*
 * Choose the intro points of one master descriptor from nb live
 * backends.  Rules, in order:
 *  - never more than 20; never two on the same relay (a tor client uses
 *    only the first intro point it finds on a relay);
 *  - STEADY: exactly min(target, what is available) intro points, dealt
 *    round robin one per backend per round, so the count does not move
 *    as backends come and go; PER_BACKEND: per_backend each, capped at 20;
 *  - intro points whose auth key is in prev[] (the last published set)
 *    are kept before new ones, so a healthy set does not churn;
 *  - flow-control only when every chosen backend advertises it (lowest
 *    versions and sendme-inc); single-onion-service only when every
 *    chosen backend is one; pow-params never.
 * Returns 0 or a negative enum ob_err (bad params: OB_ERR_RANGE).
 */
int	select_intro_points(struct sel_set *, const struct sel_input *,
	    size_t nb, const struct sel_params *,
	    const uint8_t (*prev)[ED25519_PK_LEN], size_t nprev)
	    __attribute__((warn_unused_result));
/*
 * Distinct descriptors: how many sets are needed so that every backend
 * gets at least one intro point (at most maxsets, usually the number of
 * responsible HSDirs), and the sets themselves: backends are split
 * round robin in rank order, and each set is chosen as above.
 */
size_t	select_distinct_count(const struct sel_params *, size_t nb,
	    size_t maxsets);
int	select_distinct(struct sel_set *, size_t nsets,
	    const struct sel_input *, size_t nb, const struct sel_params *,
	    const uint8_t (*prev)[ED25519_PK_LEN], size_t nprev)
	    __attribute__((warn_unused_result));
/* 1 if both sets hold the same intro points (any order) and flags. */
int	select_set_equal(const struct sel_set *, const struct sel_set *);

/* conf.c */

#define CONF_MAX_SERVICES	100000
#define CONF_MAX_CLIENTS	400	/* restricted discovery keys */

struct conf_pool {
	char		*name;
	size_t		*backends;	/* indexes into conf.backends */
	size_t		 nbackends;
	unsigned	 health_port;	/* 0: use the global one */
};

struct conf_service {
	char		 addr[HS_ADDR_LEN + 1];
	uint8_t		 pk[ED25519_PK_LEN];
	size_t		 pool;		/* index into conf.pools */
	struct sel_params sel;
	int		 distinct;	/* distinct descriptors per HSDir */
	uint8_t		(*client_pks)[X25519_KEY_LEN];
	size_t		 n_client_pks;
};

struct conf_backend {
	char		 addr[HS_ADDR_LEN + 1];
	uint8_t		 pk[ED25519_PK_LEN];
};

struct conf {
	char		*control;	/* "host:port" or "unix:/path" */
	char		*control_cookie;	/* cookie file, or NULL: ask */
	char		*control_password;	/* or NULL */
	char		*socks;		/* "host:port" for health checks */
	char		*signer_socket;
	char		*status_socket;
	unsigned	 fetch_interval;	/* s between backend fetches */
	unsigned	 fetch_timeout;
	unsigned	 desc_max_age;	/* s a descriptor stays "fresh" */
	unsigned	 signer_timeout;
	unsigned	 republish_min, republish_max;
	unsigned	 retry_min, retry_max;
	unsigned	 upload_max_pending;	/* HSDir uploads in tor at once */
	int		 health_check;
	unsigned	 health_interval;
	unsigned	 health_timeout;
	unsigned	 health_failures;
	unsigned	 health_port;
	int		 sandbox;
	char		*user;		/* drop to it when started as root */

	struct conf_backend	*backends;
	size_t			 nbackends;
	struct conf_pool	*pools;
	size_t			 npools;
	struct conf_service	*services;
	size_t			 nservices;
};

/*
 * Load and check a libconfuse file.  Every error names the file, line and
 * option and goes to log_warnx; the result is 0, or -1 with *cf untouched.
 */
int	conf_load(struct conf *, const char *path)
	    __attribute__((warn_unused_result));
/* Same from a string (tests, import round trips). */
int	conf_load_string(struct conf *, const char *text)
	    __attribute__((warn_unused_result));
void	conf_clear(struct conf *);
/* Client key from "descriptor:x25519:<base32>", base32 or base64. */
int	conf_client_key(uint8_t [X25519_KEY_LEN], const char *)
	    __attribute__((warn_unused_result));

/* signer_client.c */

struct pollfd;
struct signer_client;

struct sc_hello {
	uint32_t	max_payload;
	uint32_t	period_len;	/* minutes */
	uint32_t	rot_offset;	/* minutes */
	uint8_t		icert_mode;	/* PROTO_ICERT_* */
};

/* An intro point the signer verified (PROTO_BACKEND_DESC_OK). */
struct sc_intro {
	uint8_t		auth_key[ED25519_PK_LEN];
	uint8_t		enc_key[X25519_KEY_LEN];
	uint8_t		linkspec[HS_LINKSPEC_MAX_LEN];
	size_t		linkspec_len;
};

struct sc_icert {
	uint8_t		auth_key[ED25519_PK_LEN];
	struct hs_cert	auth_cert;	/* 09 */
	struct hs_cert	enc_cert;	/* 0B */
};

struct sc_horizon {
	char		service[256];
	uint8_t		state;		/* PROTO_HORIZON_* */
	uint64_t	horizon;
	char		warning[256];
};

/*
 * A reply: ok and the typed *_OK payload, or ok == 0 with the signer's
 * reason (enum proto_reason; 0 when the connection failed or the request
 * timed out) and detail.
 */
struct sc_reply {
	int		ok;
	uint16_t	reason;
	char		detail[256];
	union {
		struct sc_hello	hello;
		struct {
			uint64_t	revision;
			uint8_t		n_skipped;
			size_t		n;
			struct sc_intro	intro[HS_DESC_MAX_INTRO];
		} bdesc;
		struct {
			uint32_t	token_sigs;
			size_t		n;
			struct sc_icert	cert[HS_DESC_MAX_INTRO];
		} recert;
		struct {
			uint8_t		blinded_pk[ED25519_PK_LEN];
			uint8_t		signing_pk[ED25519_PK_LEN];
			uint64_t	revision;
			uint64_t	now;
			struct hs_cert	cert;	/* 08 */
		} params;
		struct {
			uint8_t		signature[ED25519_SIG_LEN];
			uint64_t	audit_seq;
		} sig;
		struct {
			uint64_t	now;
			uint64_t	token_sigs;
			uint32_t	total;	/* services the signer has */
			uint32_t	first;	/* index of svc[0] */
			size_t		n;
			struct sc_horizon svc[PROTO_STATUS_PAGE];
		} status;
	} u;
};

/* Called exactly once per accepted request; r is freed afterwards. */
typedef void	 sc_cb(const struct sc_reply *r, void *arg);

/* Connects lazily (from sc_pollfd) and again after a back-off. */
struct signer_client *sc_new(const char *path, unsigned timeout_s);
void	 sc_free(struct signer_client *);	/* pending cbs fail */
int	 sc_ready(const struct signer_client *);	/* HELLO_OK seen */
const struct sc_hello *sc_hello_info(const struct signer_client *);
void	 sc_stats(const struct signer_client *, uint64_t *requests,
	    uint64_t *failures, size_t *pending);
/* Poll-loop integration, as torctl.h. */
void	 sc_pollfd(struct signer_client *, struct pollfd *);
int	 sc_timeout(const struct signer_client *);
void	 sc_process(struct signer_client *, short revents);
/*
 * The stubs: 0 once queued (cb will run), -1 if not (not ready, bad
 * argument, queue full).  Payloads are those of proto.h.
 */
int	sc_backend_desc(struct signer_client *, const char *service,
	    const char *backend, uint64_t tp, const uint8_t *desc, size_t len,
	    sc_cb *, void *);
int	sc_recertify(struct signer_client *, const char *service, uint64_t tp,
	    const uint8_t (*auth_keys)[ED25519_PK_LEN], size_t n, sc_cb *,
	    void *);
int	sc_desc_params(struct signer_client *, const char *service,
	    uint64_t tp, sc_cb *, void *);
int	sc_sign_desc(struct signer_client *, const char *service, uint64_t tp,
	    const uint8_t *client_sk, const uint8_t *body, size_t len,
	    sc_cb *, void *);
/* One page of horizons, from service index first (PROTO_STATUS). */
int	sc_status(struct signer_client *, uint32_t first, sc_cb *, void *);

/* Runtime state (backend.c, collector.c, publish.c) */

#define COLLECTOR_MAX_HSDIRS	64	/* responsible HSDirs per descriptor */

/* Why a backend is not used; the status names the rule that fired. */
enum backend_reason {
	BR_NONE = 0,		/* up */
	BR_UNKNOWN,		/* nothing fetched yet */
	BR_MISSING,		/* no HSDir had a descriptor */
	BR_STALE,		/* revision unchanged for descriptor-max-age */
	BR_EXPIRED,		/* its descriptor-signing cert expired */
	BR_INVALID,		/* descriptors fetched but none verified */
	BR_REJECTED,		/* the signer refused its descriptor */
	BR_HEALTH,		/* the active check failed */
};

struct backend {
	const struct conf_backend *cf;
	uint32_t	 rank;		/* selection tie-break */
	/* The freshest valid descriptor, as fetched and as decoded. */
	int		 have_desc;
	struct hs_desc	 desc;
	uint8_t		*raw;
	size_t		 rawlen;
	uint64_t	 tp;		/* the period it is for */
	uint64_t	 revision;
	uint64_t	 gen;		/* bumped for each new descriptor */
	time_t		 rev_changed;	/* when revision last moved */
	time_t		 expires;	/* its 08 cert's expiry */
	time_t		 last_fetch_ok;
	/* The fetch round in flight. */
	int		 fetching;
	time_t		 fetch_started;
	unsigned	 fetch_asked;	/* HSDirs named in this round */
	unsigned	 fetch_answers;	/* HS_DESC_CONTENT seen this round */
	unsigned	 fetch_bodies;	/* ... that carried a descriptor */
	unsigned	 fetch_valid;
	unsigned	 empty_rounds;	/* rounds with nothing valid */
	char		 fetch_error[96];
	/* Active health check (SOCKS through tor). */
	int		 hc_fd;
	int		 hc_phase;
	time_t		 hc_deadline;
	time_t		 hc_next;
	unsigned	 hc_failures;	/* in a row */
	int		 hc_ever_ok;
	char		 hc_error[64];
	/* Verdict. */
	int		 up;
	enum backend_reason reason;
	time_t		 since;
	uint64_t	 refusal_logged;	/* gen last logged as refused */
};

/*
 * One HSDir of a live descriptor: S x 2 x 8 of them, so packed (36
 * bytes): times in 32 unsigned bits (seconds since the epoch, good until
 * 2106) and the failure reason as a code of the shared table below.
 */
struct upload {
	uint8_t		 hsdir[HS_RSA_ID_LEN];
	uint8_t		 set;		/* which distinct descriptor */
	uint8_t		 state;		/* UPLOAD_* */
	uint8_t		 result;	/* upload_result_code(), 0: none */
	unsigned	 attempts;
	uint32_t	 retry_at;
	uint32_t	 last_at;	/* last HSPOST or its outcome */
};
#define UPLOAD_NONE	0
#define UPLOAD_PENDING	1	/* HSPOST accepted, no event yet */
#define UPLOAD_OK	2
#define UPLOAD_FAILED	3	/* retry at retry_at */

/* One of the two live descriptors of a service. */
struct desc_slot {
	uint8_t		 valid;		/* tp and hsdirs known */
	uint8_t		 hsdirs_changed;
	uint8_t		 busy;		/* a publish job is in flight */
	/* Refused for the signer's token (PROTO_R_HSM), not for itself:
	 * retried when the token is back, not after a back-off. */
	uint8_t		 token_wait;
	uint8_t		 have_eph;	/* eph_sk, eph_pk for eph_tp */
	unsigned	 failures;	/* publish jobs failed in a row */
	uint64_t	 tp;
	uint8_t		 blinded[ED25519_PK_LEN];
	struct upload	*up;		/* [nup], allocated: most services
					 * have 6-8 HSDirs, not 64 */
	size_t		 nup;
	/* What was last published (selection input for stickiness). */
	struct sel_set	*sets;		/* [nsets] */
	size_t		 nsets;
	/* Signed documents, kept for retries until every HSDir has it. */
	uint8_t		*docs[SEL_MAX_SETS];
	uint32_t	 doclens[SEL_MAX_SETS];	/* < HS_DESC_MAX_LEN */
	uint64_t	 revision;
	time_t		 last_publish;
	time_t		 next_publish;
	/* Selection inputs (backend generations, verdicts) when the last
	 * selection matched what is published: until they move, or a
	 * timer or the HSDirs say so, there is nothing to choose again. */
	uint64_t	 sel_sig;
	time_t		 retry_at;
	/* The last job's failure while it stands, else NULL: most slots
	 * have none, and 256 bytes each was a fifth of a service. */
	char		*error;
	uint64_t	 publishes;
	/*
	 * The auth ephemeral key pair of the slot's descriptors for
	 * period eph_tp.  Tor makes one per descriptor and keeps it across
	 * its re-uploads (hs_service.c); a fresh pair per body cost an
	 * X25519 base-point multiplication every time.  A new period gets
	 * a new pair; the secret is wiped with the slot.
	 */
	uint64_t	 eph_tp;
	uint8_t		 eph_sk[X25519_KEY_LEN];
	uint8_t		 eph_pk[X25519_KEY_LEN];
};

struct service {
	const struct conf_service *cf;
	/* Per pool member: the backend gen the signer has verified for this
	 * service (0: none), or the gen it refused. */
	uint64_t	*verified_gen;
	uint64_t	*rejected_gen;
	uint64_t	*sent_gen;
	char		**reject_detail;	/* why, or NULL; lazily */
	struct desc_slot slot[2];	/* first, second */
	/* The signer's PROTO_STATUS_OK line for this service. */
	int		 hz_known;
	uint8_t		 hz_state;	/* PROTO_HORIZON_* */
	uint64_t	 horizon;
	time_t		 hz_at;		/* when the signer said so */
};

struct torctl;
struct hsdir_view;

struct collector {
	struct conf		 cf;
	struct torctl		*tc;
	struct signer_client	*sc;
	struct hsdir_view	*view;		/* finished, or NULL */
	int			 view_loading;
	int			 testnet;
	time_t			 started;
	struct backend		*backends;	/* parallel to cf.backends */
	size_t			 nbackends;
	struct service		*services;	/* parallel to cf.services */
	size_t			 nservices;
	time_t			 next_fetch;
	int			 status_fd;
	uint64_t		 token_sigs;	/* reported by the signer */
	uint64_t		 uploads_ok, uploads_failed;
	size_t			 uploads_pending; /* in tor, no event yet */
	/* Signed documents no HSDir was handed yet (publish.c). */
	size_t			 docs_unsent;
	unsigned		 jobs;		/* publish jobs in flight */
	/* Where publish_run's next scan starts: the first service a job
	 * limit held back last time, so low indexes are not favoured. */
	size_t			 publish_next;
	/*
	 * The signer's token (publish.c).  token_out: when a job was first
	 * refused for it (PROTO_R_HSM), 0 while it works as far as we
	 * know.  Meanwhile one job at most per TOKEN_PROBE_INTERVAL tries
	 * it; the first to succeed brings every slot waiting for it back.
	 */
	time_t			 token_out;
	time_t			 token_probe_at;	/* next probe from */
	int			 token_probing;	/* a probe job in flight */
	uint64_t		 token_probes;	/* since it went out */
	size_t			 token_waiting;	/* slots, at the last run */
	uint64_t		 selections;	/* intro point choices run */
	size_t			 refresh_next;	/* next service to refresh */
	/* Backend descriptors for the signer (collector.c verify_sync). */
	int			 verify_dirty;	/* something may be unsent */
	int			 verify_busy;	/* a busy service was skipped */
	size_t			 verify_next;	/* where the walk resumes */
	/* Bumped by each reload: callbacks that hold indexes from an
	 * older epoch drop their answer. */
	uint64_t		 epoch;
	int			 reload_wanted;	/* no new jobs meanwhile */
	size_t			*svc_index;	/* services sorted by addr */
	size_t			*bk_index;	/* backends sorted by addr */
};

/* backend.c */

/* Empty fetch rounds in a row before a backend counts as "missing". */
#define MISSING_ROUNDS		2

/* Sets up runtime state for cf (taken over); 0 or -1. */
int	collector_init(struct collector *, const struct conf *);
void	collector_clear(struct collector *);
/*
 * Take over a newly loaded configuration (SIGHUP) without touching the
 * control connection or the signer session: backends and services that
 * stay keep their state (descriptors, verdicts, published documents and
 * uploads); removed ones are dropped; a service whose pool, selection or
 * clients changed is republished at the next turn.  Settings that need
 * a restart (sockets, user, sandbox) keep their old value, with a
 * warning.  Only when no publish job runs (c->jobs == 0): -1 otherwise.
 * On 0, ncf is taken over (and zeroed); on -1 it is left to the caller.
 */
int	collector_reload(struct collector *, struct conf *ncf)
	    __attribute__((warn_unused_result));
/* By onion address (56 characters, with or without ".onion"): O(log n). */
struct service *collector_service_find(const struct collector *,
	    const char *addr);
struct backend *collector_backend_find(const struct collector *,
	    const char *addr);
/*
 * Send the signer every (service, backend descriptor) pair it has not
 * judged, at most 64 in flight; resumes where it stopped.  Called from
 * the loop after every round of I/O; cheap when c->verify_dirty is 0.
 */
void	collector_verify_sync(struct collector *);

/* health.c */

/* Phases of a backend's check (struct backend hc_phase). */
#define HC_IDLE		0
#define HC_CONNECTING	1
#define HC_GREETING	2
#define HC_REQUEST	3
/* Results. */
#define HC_R_OK		0
#define HC_R_FAIL	1	/* counted against the backend */
#define HC_R_LOCAL	2	/* our side of tor failed: not counted */
/* Start one check through tor's SocksPort; advance it on poll events;
 * record its end (and judge the backend again). */
void	collector_health_start(struct collector *, struct backend *,
	    time_t now);
void	collector_health_io(struct collector *, struct backend *,
	    short revents, time_t now);
void	collector_health_finish(struct collector *, struct backend *,
	    int result, const char *why, time_t now);
/* Record the signer's PROTO_STATUS_OK horizons per service. */
void	collector_horizon_update(struct collector *, const struct sc_reply *,
	    time_t now);
/* The signer refused (detail) or accepted (NULL) a backend's descriptor
 * for a service: pool member m of nmembers. */
void	collector_verdict_set(struct service *, size_t m, size_t nmembers,
	    const char *detail);
const char *backend_reason_name(enum backend_reason);
/* Re-evaluate one backend's verdict at now (rules in the man page). */
void	backend_judge(struct collector *, struct backend *, time_t now);

/* publish.c */

/*
 * While the signer's token is out, seconds between jobs that try it: an
 * operator who puts the card back sees publication resume within this
 * (plus a job's round trip), and thousands of services cost the signer
 * one request chain per interval meanwhile, not one per service.
 */
#define TOKEN_PROBE_INTERVAL	5

/* Start publish jobs that are due (intro set or HSDirs changed, timer,
 * retries) for every service, from where the last scan was held back;
 * called from the loop. */
void	publish_run(struct collector *, time_t now);
/*
 * How many signed documents may wait for their first upload before no
 * new publish job starts: uploads are paced (upload-max-pending), so a
 * document built much sooner than tor can take it only holds memory
 * (about 10 kB each with 10 intro points).  upload-max-pending, at
 * least 32 (the jobs in flight at most).
 */
size_t	publish_max_unsent(const struct conf *);
/* Compute both slots' periods, blinded keys and HSDirs from the view;
 * marks slots whose HSDir set changed. */
void	publish_refresh_hsdirs(struct collector *, time_t now);
/*
 * The same in steps, for thousands of services: a new period costs a
 * key blinding per slot (~0.15 ms each), which must not stall the loop
 * for seconds.  Start, then step up to max services per call; step
 * returns 1 while services are left.  Until a service's turn comes it
 * keeps its previous HSDirs.
 */
void	publish_refresh_start(struct collector *);
int	publish_refresh_step(struct collector *, size_t max);
/* HS_DESC UPLOADED / FAILED for one of our masters. */
void	publish_upload_event(struct collector *, const char *addr,
	    const uint8_t hsdir[HS_RSA_ID_LEN], int ok,
	    const uint8_t *blinded, const char *reason, time_t now);
/* Next republish time: now + uniform [min, max] (tor: 60-120 min). */
time_t	publish_next_time(const struct conf *, time_t now);
/*
 * 1 if period tp is in its window of use at now by the clock (the
 * signer's rule, provision_window()), 0 if not.  Consensus time lags the
 * clock by up to one consensus interval: right after a window closes,
 * tor's view may still list the period; asking the signer then only
 * earns a refusal.
 */
int	publish_period_live(uint64_t tp, uint32_t period_len,
	    uint32_t rot_offset, time_t now);
/* The slot's auth ephemeral key pair for period tp: kept while tp stays
 * the same, a fresh one (the old secret wiped) when it changes. */
int	publish_eph_key(struct desc_slot *, uint64_t tp);
/*
 * Record sets[0..nsets) as what the slot published (a copy; the old
 * record freed): the selection's stickiness and equality input and the
 * status's intro points.  Callers outside publish.c (tests, tools) use
 * this rather than sl->sets, so the record's layout can change.
 */
int	publish_slot_keep(struct desc_slot *, const struct sel_set *,
	    size_t nsets) __attribute__((warn_unused_result));
/* Set the slot's error (a copy; NULL or "" clears it) or free it. */
void	publish_slot_error(struct desc_slot *, const char *);
/*
 * Why uploads failed, held once: tor's REASON words (control-spec
 * HS_DESC) and our own few are a handful of distinct strings shared by
 * thousands of uploads, so an upload keeps a one-byte code.  Entries are
 * only ever added: a code stays valid for the table's life, nothing to
 * count or to dangle.  _code() gives the code of s (truncated to
 * UPLOAD_RESULT_LEN - 1 bytes), adding it when new; 0 for NULL or "";
 * once UPLOAD_RESULTS - 2 strings are in, new ones get UPLOAD_R_OTHER
 * (a fixed text; the log has the full reason).  _text() gives "" for 0
 * and for codes never given.  A zeroed table is empty and ready.
 */
#define UPLOAD_RESULTS		64
#define UPLOAD_RESULT_LEN	24
#define UPLOAD_R_OTHER		(UPLOAD_RESULTS - 1)
struct upload_results {
	char		text[UPLOAD_RESULTS - 2][UPLOAD_RESULT_LEN];
	size_t		n;		/* codes 1..n given */
	int		full;		/* warned once */
};
uint8_t	upload_results_code(struct upload_results *, const char *);
const char *upload_results_text(const struct upload_results *, uint8_t);
/* The same on the collector's one table. */
uint8_t	upload_result_code(const char *);
const char *upload_result_text(uint8_t);

/* view.c */

/* Services whose HSDirs are recomputed per loop tick after a consensus. */
#define REFRESH_BATCH		500

/* Load the consensus and microdescriptors from tor (c->tc) into a new
 * view; swapped in when complete, else the old one stays.  No-op while
 * a load runs or tor is not ready. */
void	collector_view_load(struct collector *);

/* status.c */

/* Render the status as JSON (json = 1) or text into out. */
int	status_render(struct buf *, const struct collector *, int json,
	    time_t now) __attribute__((warn_unused_result));
/* The same for one service (56 characters, ".onion" optional), or all
 * when only is NULL; an unknown one renders as an error object/line. */
int	status_render_service(struct buf *, const struct collector *,
	    int json, const char *only, time_t now)
	    __attribute__((warn_unused_result));
/* Listening socket for the status clients; -1 on failure. */
int	status_listen(const char *path);
/* Answer one waiting client (non-blocking accept, bounded write). */
void	status_accept(struct collector *, int fd);
/* "obhsm-collector status [--json] [address]", the client: exit
 * status.  The request is one line: "json" or "text", then optionally a
 * space and a service address. */
int	status_client(const char *path, int json, const char *only);

/* ob_import.c */

/*
 * Read an OnionBalance v3 config.yaml (the block-style YAML subset its
 * onionbalance-config writes and its docs show: a "services" list of maps
 * with "key" and an "instances" list of maps with "address" and an
 * optional "name"; comments; other top-level keys are ignored) and
 * write an equivalent obhsm-collector.conf to out.  The master address
 * of each service is derived from its key file (OnionBalance's PEM or
 * tor's hs_ed25519_secret_key; relative paths are from the YAML file's
 * directory) unless the key file is named "<address>.key"; the key
 * paths are listed in comments for the signer's configuration.
 */
int	ob_import(struct buf *out, const char *yaml, size_t len,
	    const char *yaml_dir)
	    __attribute__((warn_unused_result));
int	ob_import_file(struct buf *out, const char *path)
	    __attribute__((warn_unused_result));

#endif /* OB_COLLECTOR_H */
