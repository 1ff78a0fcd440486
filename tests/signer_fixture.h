/*
 * What the suites that drive the real obhsm-signer (tests/test_signer.c,
 * tests/test_signer_fault.c) and the benchmark (bench/obbench.c) share:
 * keys and backend descriptors as a stock tor makes them, a throwaway
 * SoftHSM token, the signer's configuration, the daemon process, and the
 * collector's side of the protocol (payloads built, replies parsed).
 *
 * Nothing here depends on CUnit: every function returns 0 or -1 (or NULL)
 * after saying what failed, and the tests assert on that while obbench
 * dies on it.
 */
#ifndef OB_SIGNER_FIXTURE_H
#define OB_SIGNER_FIXTURE_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "crypto.h"
#include "hs_cert.h"
#include "hs_desc.h"
#include "hs_keys.h"
#include "msg.h"

#define SFX_SOFTHSM	"/usr/lib/softhsm/libsofthsm2.so"

/* An identity key, and its blinded key for one time period. */
struct sfx_key {
	uint8_t			sk[ED25519_EXPANDED_LEN];
	uint8_t			pk[ED25519_PK_LEN];
	char			addr[HS_ADDR_LEN + 1];
	uint8_t			bl_sk[ED25519_EXPANDED_LEN];
	uint8_t			bl_pk[ED25519_PK_LEN];
	struct hs_signer	bl_signer;
};

/* snprintf(); -1 on an error or truncation. */
int	sfx_fmt(char *, size_t, const char *, ...)
	    __attribute__((format(printf, 3, 4), warn_unused_result));
/* Write text to path and give it mode. */
int	sfx_write_file(const char *path, const char *text, mode_t mode)
	    __attribute__((warn_unused_result));

/* 1 if the file at path (a daemon's log) holds s, else 0. */
int	sfx_file_has(const char *path, const char *s);

/* A fresh random key; blinded for period tp when period_len is not 0. */
int	sfx_key_make(struct sfx_key *, uint64_t tp, uint64_t period_len)
	    __attribute__((warn_unused_result));
/* A certificate of certified_key signed by s, built and parsed. */
int	sfx_cert_make(struct hs_cert *, uint8_t type, uint32_t expiry,
	    const uint8_t certified[ED25519_PK_LEN], const struct hs_signer *s)
	    __attribute__((warn_unused_result));
/*
 * A backend's descriptor as a stock tor builds it (d is initialised
 * here): its descriptor signing key ds certified by the backend's
 * blinded key, and n_intro intro points on random IPv4 link specifiers
 * with random keys, their certs signed by ds.
 */
int	sfx_backend_desc(struct hs_desc *d, const struct sfx_key *backend,
	    const struct hs_signer *ds, size_t n_intro, uint64_t revision,
	    time_t now)
	    __attribute__((warn_unused_result));
/* A backend: its identity (blinded for one period), its descriptor
 * signing key, and the descriptor it publishes. */
struct sfx_backend {
	struct sfx_key		key;
	struct sfx_key		ds;
	struct hs_signer	ds_signer;
	struct hs_desc		desc;
};
/* A fresh backend for period tp, its descriptor as sfx_backend_desc()
 * makes it. */
int	sfx_backend_make(struct sfx_backend *, uint64_t tp,
	    uint64_t period_len, size_t n_intro, uint64_t revision, time_t now)
	    __attribute__((warn_unused_result));
/* The identity key k for an online service: dir is made (0700) and
 * gets tor's three files (hs_ed25519_secret_key, public key, hostname). */
int	sfx_identity_write(const char *dir, const struct sfx_key *k)
	    __attribute__((warn_unused_result));
/* Encoded and signed by ds, as the backend would publish it (new buf). */
struct buf *sfx_backend_desc_encode(const struct hs_desc *,
	    const struct sfx_key *backend, const struct hs_signer *ds);
/*
 * A master body (unsigned) for the identity and blinded keys, from the
 * intro points ips[0..n), each with the 09 and 0B certs the signer issued
 * for it, the 08 cert and the revision counter the signer gave, for
 * clients when n_clients > 0.  eph_sk/eph_pk: the auth ephemeral pair
 * held for the period, as the collector holds it, or both NULL for a
 * fresh one.  New buf.
 */
struct buf *sfx_master_body(const uint8_t identity_pk[ED25519_PK_LEN],
	    const uint8_t blinded_pk[ED25519_PK_LEN],
	    const struct hs_intro_point *ips,
	    const uint8_t (*c09)[HS_CERT_LEN],
	    const uint8_t (*c0b)[HS_CERT_LEN], size_t n, uint64_t revision,
	    const uint8_t cert08[HS_CERT_LEN],
	    const uint8_t (*clients)[X25519_KEY_LEN], size_t n_clients,
	    const uint8_t *eph_sk, const uint8_t *eph_pk);

/* 1 if SoftHSM (module and softhsm2-util) is installed: else the suites
 * skip. */
int	sfx_have_softhsm(void);
/*
 * A throwaway SoftHSM token under dir: dir/tokens, the SoftHSM config
 * written to conf_out (its path), a token labelled label with user PIN
 * 1234 (in dir/pin, for "pin-source = file:...").  The caller points
 * SOFTHSM2_CONF at conf_out wherever the token is opened.
 */
int	sfx_token_init(const char *dir, const char *label, char *conf_out,
	    size_t conf_len)
	    __attribute__((warn_unused_result));

/* The signer's configuration: the options every caller sets. */
struct sfx_conf {
	const char	*module;	/* PKCS#11 module */
	const char	*token;		/* its label */
	const char	*dir;		/* holds pin and state/ */
	const char	*sock;
	const char	*audit;
	unsigned	 socket_mode;
	uint64_t	 period_len, rot_offset;
	int		 hsm_timeout;	/* ms; -1 leaves the default */
	unsigned	 online_periods;	/* 0 leaves the default */
	int		 key_copies;	/* -1 false, 1 true, 0 default */
	const char	*sandbox;
};
/* The top of the configuration, appended to b (no NUL). */
int	sfx_conf_head(struct buf *b, const struct sfx_conf *)
	    __attribute__((warn_unused_result));
/* A service block: online with the identity key in identity_dir when it
 * is not NULL, else offline (the default key mode).  Backends are
 * written as given (with or without ".onion"). */
int	sfx_conf_service(struct buf *b, const char *addr,
	    const char *const *backends, size_t n, const char *identity_dir)
	    __attribute__((warn_unused_result));

/* Path of the obhsm-signer to test: $OBHSM_BUILDDIR/obhsm-signer, else
 * next to the running program's directory (the build tree's tests/). */
const char *sfx_signer_binary(char *, size_t);

/* A connected, non-blocking client socket, or -1 (quietly: callers
 * poll for the daemon's socket with this). */
int	sfx_connect(const char *sock);

/* The daemon, started with "-d [-v] -f conf", stderr appended to log. */
struct sfx_signer {
	pid_t		 pid;		/* 0 when not running */
	const char	*bin;
	const char	*conf;
	const char	*log;
	const char	*sock;
	int		 verbose;
	/* Set in the child only: NULL-terminated name, value pairs. */
	const char *const *env;
	/* A command run in front of the signer ("valgrind ..."), or NULL. */
	const char	*wrap;
};
int	sfx_signer_spawn(struct sfx_signer *)
	    __attribute__((warn_unused_result));
/* Until the socket takes connections: 0; -1 if the daemon exited (pid
 * becomes 0) or timeout_ms (< 0: no limit) passed. */
int	sfx_signer_wait(struct sfx_signer *, int timeout_ms)
	    __attribute__((warn_unused_result));
/* Both: spawned and taking connections, or -1 with the log named. */
int	sfx_signer_start(struct sfx_signer *, int timeout_ms)
	    __attribute__((warn_unused_result));
/* SIGTERM and wait up to timeout_ms for the exit status (0), then
 * SIGKILL (-1, said on stderr): never leave a daemon behind. */
int	sfx_signer_reap(struct sfx_signer *, int *status, int timeout_ms);

/* A connection to sock (msg_conn_init'd); when name is not NULL, after
 * a HELLO in that name answered by HELLO_OK (in reply, unread). */
int	sfx_conn_open(struct msg_conn *, const char *sock, const char *name,
	    struct msg *reply, int timeout_ms)
	    __attribute__((warn_unused_result));
void	sfx_conn_close(struct msg_conn *);
/* 1 if m is a PROTO_ERROR with reason want and a detail (copied out);
 * else 0, with what came instead on stderr. */
int	sfx_error_is(struct msg *m, uint16_t want, char *detail, size_t len);

/* Payloads of the collector's requests (new bufs, NULL on failure). */
struct buf *sfx_hello(const char *name);
struct buf *sfx_backend_desc_msg(const char *svc, const char *backend,
	    uint64_t tp, const struct buf *desc);
/* RECERTIFY for the auth keys of ips[0..n). */
struct buf *sfx_recertify_msg(const char *svc, uint64_t tp,
	    const struct hs_intro_point *ips, size_t n);
struct buf *sfx_params_msg(const char *svc, uint64_t tp);
struct buf *sfx_sign_msg(const char *svc, uint64_t tp, const uint8_t *body,
	    size_t len);

/* DESC_PARAMS_OK: blinded key, token key, counter, time, the 08 cert. */
int	sfx_params_reply(struct msg *, uint8_t bl_pk[ED25519_PK_LEN],
	    uint8_t signing_pk[ED25519_PK_LEN], uint64_t *revision,
	    uint64_t *now, uint8_t cert08[HS_CERT_LEN])
	    __attribute__((warn_unused_result));
/* RECERTIFY_OK for exactly n auth keys: the token signatures it cost,
 * and the 09 and 0B certs in request order (auth keys checked against
 * ips when ips is not NULL). */
int	sfx_recertify_reply(struct msg *, uint32_t *sigs,
	    const struct hs_intro_point *ips, size_t n,
	    uint8_t (*c09)[HS_CERT_LEN], uint8_t (*c0b)[HS_CERT_LEN])
	    __attribute__((warn_unused_result));

#endif /* OB_SIGNER_FIXTURE_H */
