/*
 * obhsm-signer: the only process that loads the PKCS#11 module and reads
 * the PIN.  It serves collectors over a Unix socket (common/proto.h,
 * doc/protocol.md) and signs only what it has checked itself: it is never
 * a signing oracle (shared/DESIGN.md).  One header for the daemon,
 * grouped by file.
 */
#ifndef OB_SIGNER_H
#define OB_SIGNER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "audit.h"
#include "floors.h"
#include "hs_cert.h"
#include "hs_desc.h"
#include "hs_keys.h"
#include "hsm.h"
#include "msg.h"
#include "proto.h"
#include "provision.h"

#define SIGNER_CONF_DEFAULT	SYSCONFDIR "/obhsm-signer.conf"
#define SIGNER_MAX_BACKENDS	64	/* per service */
#define SIGNER_MAX_SERVICES	100000
#define SIGNER_DETAIL_MAX	PROTO_STR_MAX

/* signer_conf.c */

enum signer_key_mode {
	SIGNER_KEYS_OFFLINE = 0,	/* provisioned store from a bundle */
	SIGNER_KEYS_ONLINE,		/* identity key on this host */
};

struct signer_service_conf {
	char			 address[HS_ADDR_LEN + 1];
	uint8_t			 identity_pk[ED25519_PK_LEN];
	/* nbackends of each, allocated as configured: a host with
	 * thousands of services mostly has a few backends each. */
	size_t			 nbackends;
	char			(*backend)[HS_ADDR_LEN + 1];
	uint8_t			(*backend_pk)[ED25519_PK_LEN];
	/* Both lists are an earlier service's (signer_conf_share). */
	int			 backends_shared;
	enum signer_key_mode	 key_mode;
	char			*identity_key;	/* online mode: file path */
};

struct signer_conf {
	char			*module;	/* hsm_config.module */
	char			*token_uri;
	char			*pin_source;
	unsigned		 hsm_timeout_ms;
	char			*socket_path;
	unsigned		 socket_mode;
	uid_t			 collector_uid;
	gid_t			 collector_gid;	/* (gid_t)-1: any */
	char			*user;		/* drop to it when root */
	char			*state_dir;
	char			*audit_path;
	uint64_t		 period_len;	/* minutes */
	uint64_t		 rot_offset;	/* minutes */
	int			 icert_mode;	/* PROTO_ICERT_* */
	unsigned		 horizon_warn;	/* seconds */
	unsigned		 max_clients;
	unsigned		 max_intro;	/* remembered per service */
	unsigned		 online_periods; /* ahead, online mode */
	int			 use_syslog;
	int			 key_copies;	/* session copies (hsm.h) */
	int			 sandbox;	/* SANDBOX_MODE_* */
	size_t			 nservices;
	struct signer_service_conf *services;
};

/* Parse and check; 0 or -1 (every problem logged with file:line). */
int	signer_conf_load(struct signer_conf **, const char *path)
	    __attribute__((warn_unused_result));
/* The same from a NUL-terminated string (tests, fuzzing). */
int	signer_conf_load_string(struct signer_conf **, const char *text)
	    __attribute__((warn_unused_result));
void	signer_conf_free(struct signer_conf *);

/* signer_policy.c */

/*
 * An intro point read from a verified backend descriptor, held once for
 * every service that lists it (struct signer_ipool): a hosting signer's
 * services mostly share one pool of backends, so they would otherwise
 * keep thousands of copies of the same few intro points.  Each holder
 * (a service's intro list, an intro cert pair) keeps a reference.  The
 * link specifiers are kept at their length (30 to 60 bytes for tor's
 * usual IPv4 + legacy ID + Ed25519 ID, at most HS_LINKSPEC_MAX_LEN).
 * Never changed once made: two services listing it see the same bytes.
 */
struct signer_intro {
	struct signer_intro	*next;		/* in its pool bucket */
	uint32_t		 refs;
	uint16_t		 linkspec_len;
	uint8_t			 auth_key[ED25519_PK_LEN];  /* 09 certified */
	uint8_t			 enc_ed[ED25519_PK_LEN];    /* 0B certified */
	uint8_t			 enc_key[X25519_KEY_LEN];
	uint8_t			 onion_key[X25519_KEY_LEN];
	uint8_t			 linkspec[];
};

/* The intro points a service remembers: which, from which backend. */
struct signer_intro_ref {
	struct signer_intro	*ip;
	uint32_t		 backend;	/* index in the service conf */
};

/* The shared intro points, found by a keyed hash of what they hold. */
struct signer_ipool {
	struct signer_intro	**bucket;
	size_t			  nbucket;	/* a power of 2, or 0 */
	size_t			  n;
	uint8_t			  hkey[16];	/* SipHash key */
};

/*
 * A pair of intro point certs the token made for a period, kept for
 * reuse by RECERTIFY and for SIGN_DESC's check that a descriptor
 * carries exactly them.  Only what the token made is kept, the two
 * signatures, with a reference to the intro point whose keys they
 * certify: the certs are rebuilt from it (hs_cert_tbs, signed by the
 * period's token key) byte for byte by signer_icert_certs(), 144 bytes
 * instead of 348 per intro point.
 */
struct signer_icert_made {
	struct signer_intro	*ip;
	uint32_t		 expiry_hours;
	uint8_t			 sig09[ED25519_SIG_LEN];
	uint8_t			 sig0b[ED25519_SIG_LEN];
};

/* Such a pair rebuilt, as a RECERTIFY reply carries it. */
struct signer_icert {
	uint8_t		 auth_key[ED25519_PK_LEN];
	uint8_t		 enc_ed[ED25519_PK_LEN];
	uint32_t	 expiry_hours;
	uint8_t		 cert09[HS_CERT_LEN];
	uint8_t		 cert0b[HS_CERT_LEN];
};

/* What the signer holds for one provisioned (service, period). */
struct signer_period {
	uint64_t		 tp;
	/* The token key for tp, named again when used (its label and id
	 * are the service's and tp's: signer_period_key). */
	struct hsm_keyref	 key;
	int			 key_ok;
	int			 legacy_floor;	/* read from an old file */
	uint8_t			 blinded_pk[ED25519_PK_LEN];
	uint8_t			 subcred[HS_SUBCRED_LEN];	/* of it */
	uint64_t		 rev_floor;	/* last counter signed */
	time_t			 hold_failed;	/* 08 certs not read, when */
	/* Revision counters at now and at now - PROTO_REVISION_GRACE:
	 * each only moves forward, so each costs only the keystream
	 * since its last call (hs_keys.h).  Wiped when tp is dropped. */
	struct hs_ope		 ope_now;
	struct hs_ope		 ope_grace;
	struct signer_icert_made *icerts;
	size_t			 nicerts;
	size_t			 icerts_alloc;
};

struct signer_service {
	const struct signer_service_conf *conf;
	/* services[services[i].by_addr] is the i-th service in address
	 * order (signer_service_find); services[] stays in conf order. */
	size_t			 by_addr;
	struct provision	*store;	/* offline: loaded; online: built */
	uint8_t			 id_sk[ED25519_EXPANDED_LEN];	/* online */
	int			 have_id_sk;
	struct signer_period	*periods;
	size_t			 nperiods;
	/* Online: the last period whose token key is made ahead of its
	 * certs and state (signer_online_fill), 0 if none. */
	uint64_t		 key_ahead;
	/* Newest descriptor seen per backend, against replays
	 * (conf->nbackends of each). */
	uint64_t		*backend_tp;
	uint64_t		*backend_rev;
	struct signer_intro_ref	*intro;
	size_t			 nintro;
	size_t			 intro_alloc;
	uint64_t		 signatures;
};

struct signer {
	struct signer_conf	*conf;
	struct hsm		*hsm;
	struct audit		*audit;
	struct signer_service	*services;
	size_t			 nservices;
	uint64_t		 token_sigs;
	/* The revision floor journal (state-dir/revision-floors), opened
	 * by the first signer_state_load() and kept across reloads. */
	struct floors		*floors;
	/* Shared by the services, kept across reloads like the journal
	 * (signer_ipool_free at exit). */
	struct signer_ipool	*ipool;
	/* Token calls that hung in a row (hsm.h watchdog); at
	 * SIGNER_HUNG_MAX the signer exits for its supervisor to restart
	 * it, the only remedy for a module that never returns. */
	unsigned		 hung;
	/*
	 * A token outage as the log tells it (signer_token_out): when it
	 * began (0: the token is in), when it was last logged, and the
	 * refusals since then.  While the token is out a collector tries
	 * one request every few seconds; one line per refusal would bury
	 * the log, so the outage is logged when it begins, then at most
	 * every SIGNER_OUT_LOG_SECS with a count, and when it ends.
	 */
	time_t			 token_out;
	time_t			 token_out_logged;
	unsigned long		 token_out_refused;	/* since logged */
	unsigned long		 token_out_total;
};
#define SIGNER_HUNG_MAX		2
/* Online mode's new periods, and every period's 08 certs for the coming
 * hours (signer_state_refresh, from the main loop). */
#define SIGNER_REFRESH_SECS	60
/* A key destroyed on the token stops signing through its session copy
 * within this many seconds (hsm_config.copy_check_s). */
#define SIGNER_COPY_CHECK_SECS	60
/* Online mode: a period's certs and state are made when its window opens
 * within this (two refreshes); its token key online-periods ahead. */
#define SIGNER_ATTACH_AHEAD_SECS (2 * SIGNER_REFRESH_SECS)
#define SIGNER_OUT_LOG_SECS	60

/* Who is asking, for the audit log. */
struct signer_peer {
	uid_t		uid;
	gid_t		gid;
	pid_t		pid;
};

/* The outcome of a policy check: 0 or a proto_reason, and why. */
struct signer_verdict {
	uint16_t	reason;
	char		detail[SIGNER_DETAIL_MAX + 1];
};

/*
 * Build the per-service state from conf (stores, token keys, floors).
 * The first call opens the floor journal and compacts it, taking in the
 * floor files of the old layout (state-dir/revision-<blinded hex>),
 * which are removed once the journal holding them is durable.
 */
int	signer_state_load(struct signer *)
	    __attribute__((warn_unused_result));
/* Frees the services, not the journal or the intro point pool (a
 * reload keeps them). */
void	signer_state_free(struct signer *);
/* After signer_state_free: the pool, empty by then. */
void	signer_ipool_free(struct signer *);
void	signer_floors_close(struct signer *);
#define SIGNER_FLOORS_FILE	"revision-floors"
/* Periods kept in the journal behind the current one: a clock stepped
 * back that far still finds the floors of the periods it revisits.
 * More costs memory and start-up time at hosting scale (each service
 * keeps KEEP + 2 floors), and a period's signing window ends one
 * rotation offset after it does. */
#define SIGNER_FLOORS_KEEP	3
/*
 * Group commit of the revision floors raised in this round: their
 * journal records appended with one write and one fsync (floors.h).
 * 0, or -1 (logged; the replies of the round must be withheld, and the
 * next commit rewrites the journal).
 */
int	signer_floors_commit(struct signer *)
	    __attribute__((warn_unused_result));
/* Online mode: keys and certs for the coming periods; every mode: only
 * the coming hours' 08 certs held (signer_certs_hold). */
int	signer_state_refresh(struct signer *)
	    __attribute__((warn_unused_result));

struct signer_service *signer_service_find(struct signer *, const char *);

/* BACKEND_DESC: verify and remember.  Fills out[] and *n with the intro
 * points kept (pointers into the service's memory). */
int	signer_backend_desc(struct signer *, struct signer_verdict *,
	    const char *service, const char *backend, uint64_t tp,
	    const uint8_t *desc, size_t len, uint64_t *revision,
	    const struct signer_intro **out, size_t *n, size_t *nskipped);
/* RECERTIFY: certs for n remembered auth keys into out[0..n-1];
 * *sigs = token sigs. */
int	signer_recertify(struct signer *, struct signer_verdict *,
	    const struct signer_peer *, const char *service, uint64_t tp,
	    const uint8_t (*auth)[ED25519_PK_LEN], size_t n,
	    struct signer_icert *out, uint32_t *sigs);
/* DESC_PARAMS, with the period's 08 cert for this hour. */
int	signer_desc_params(struct signer *, struct signer_verdict *,
	    const char *service, uint64_t tp, uint8_t blinded[ED25519_PK_LEN],
	    uint8_t signing[ED25519_PK_LEN], uint64_t *revision,
	    uint8_t cert08[HS_CERT_LEN]);
/* SIGN_DESC: every check, then the token, then the audit record. */
int	signer_sign_desc(struct signer *, struct signer_verdict *,
	    const struct signer_peer *, const char *service, uint64_t tp,
	    const uint8_t *client_sk, const uint8_t *body, size_t len,
	    uint8_t sig[ED25519_SIG_LEN], uint64_t *audit_seq);
/* STATUS for one service: PROTO_HORIZON_*, horizon, warning text. */
int	signer_horizon(struct signer *, const struct signer_service *,
	    uint64_t *horizon, char *warning, size_t warnsz);

/* signer_dispatch.c */

struct signer_conn {
	struct msg_conn		 mc;
	struct signer_peer	 peer;
	int			 hello;		/* handshake done */
	int			 closing;	/* flush, then close */
	int			 uncommitted;	/* queued replies hold
						 * signatures whose audit
						 * records await fsync */
	int			 backlog;	/* a turn ended at its cap:
						 * frames may wait in the
						 * buffer, unseen by poll */
	char			 name[PROTO_STR_MAX + 1];
};

/* Handle one message; 0 keep the connection, -1 close it after the
 * queued reply is flushed. */
int	signer_dispatch(struct signer *, struct signer_conn *, struct msg *);
/* Queue a PROTO_ERROR reply. */
void	signer_reply_error(struct signer_conn *, uint32_t id, uint16_t,
	    const char *);

#endif /* OB_SIGNER_H */
