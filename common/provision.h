/*
 * Provisioning files: the request (token -> air-gapped machine), the
 * bundle (air-gapped machine -> online host) and the store (what the
 * signer reads), plus the identity key files and the certification work
 * itself, shared by obhsm-keytool and obhsm-signer.
 *
 * The three files share one versioned, line-based grammar (see
 * doc/obhsm-keytool.8 for the authoritative description):
 *
 *	obhsm-request 1 | obhsm-bundle 1 | obhsm-store 1
 *	service <56-char onion address, no .onion>
 *	period-length <minutes>
 *	rotation-offset <minutes>
 *	period <time period number>		one block per period,
 *	token-key <base64 Ed25519 pk>		strictly increasing
 *	ope-key <base64 32 bytes>		(bundle, store)
 *	ope-sig <base64 64 bytes>		(bundle, store)
 *	cert <base64 140-byte type-08 cert>	(bundle, store) one per
 *						upload hour, in order
 *	end
 *
 * Base64 is RFC 4648 without padding, as in tor's documents.  Every line
 * ends in '\n'; nothing may follow "end".  Parsing goes through buf.h
 * with caps on the file, the line, the number of periods and certs.
 *
 * The window of use of period tp is [start - rot, start + len + rot]
 * (start = TP start, len = period length, rot = rotation offset), 48
 * hours on the live network.  A period carries one cert per hour h that
 * meets the window, from floor(ws/3600) to floor(we/3600), in order; the
 * cert for hour h expires at hour h + 55, which is what tor's
 * ceil((upload + 54h) / 1h) gives for any upload inside hour h that is
 * not on the exact hour.
 *
 * "ope-key" is tor's revision-counter key for the period,
 * SHA3-256("rev-counter-generation\0" | blinded secret).  It is one-way,
 * so it cannot be checked against the address; "ope-sig" binds it: an
 * Ed25519 signature by the period's blinded key over
 * "obhsm-ope-key-v1\0" | INT_8(tp) | INT_8(period length) | ope-key.
 * The prefix keeps it apart from anything tor signs with that key (only
 * type-08 certs, which begin with 0x01).
 *
 * Token keys are named after (service, period): provision_key_label().
 *
 * Functions return 0 or a negative enum ob_err unless said otherwise.
 */
#ifndef OB_PROVISION_H
#define OB_PROVISION_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "crypto.h"
#include "hs_cert.h"
#include "hs_keys.h"

#define PROVISION_VERSION	1
#define PROVISION_FILE_MAX	(8 * 1024 * 1024)
#define PROVISION_LINE_MAX	512
#define PROVISION_MAX_PERIODS	400
/* (14400 + 2 * 14400) minutes in hours, plus both partial hours. */
#define PROVISION_MAX_CERTS_PER_PERIOD	722
#define PROVISION_CERT_EXPIRY_HOURS	55
/* Tor's bounds on the consensus parameter hsdir_interval. */
#define PROVISION_PERIOD_LEN_MIN	5
#define PROVISION_PERIOD_LEN_MAX	14400
#define PROVISION_LABEL_MAX	80
/* Signed with its NUL; see above. */
#define PROVISION_OPE_SIG_PREFIX	"obhsm-ope-key-v1"

/* Tor's key file names and headers (32 bytes, NUL padded). */
#define PROVISION_TOR_SECRET_FILE	"hs_ed25519_secret_key"
#define PROVISION_TOR_PUBLIC_FILE	"hs_ed25519_public_key"
#define PROVISION_TOR_HOSTNAME_FILE	"hostname"
#define PROVISION_TOR_SECRET_TAG	"== ed25519v1-secret: type0 =="
#define PROVISION_TOR_PUBLIC_TAG	"== ed25519v1-public: type0 =="
#define PROVISION_TOR_HDR_LEN		32

enum provision_kind {
	PROVISION_REQUEST = 1,
	PROVISION_BUNDLE,
	PROVISION_STORE
};

/*
 * A period's 08 certs are 49 on the live network and differ only in
 * their expiry (the hour of the cert + 55, bytes 2-5) and their
 * signature (the last 64 bytes): a signer hosting thousands of services
 * keeps the 76 bytes they share once (cert_tbs, expiry bytes zero) and
 * 64 bytes per hour, and rebuilds the 140 bytes on demand with
 * provision_cert_get(), byte for byte what was parsed or made.  Parsing
 * refuses a period whose certs differ in any other byte (OB_ERR_MISMATCH
 * on the first such cert): each would be a cert by another key or with
 * other flags, which no certification by this design makes.
 */
#define PROVISION_CERT_EXPIRY_OFF	2

struct provision_period {
	uint64_t	 tp;
	uint8_t		 token_pk[ED25519_PK_LEN];
	/* Bundle and store only. */
	uint8_t		 ope_key[HS_OPE_KEY_LEN];
	uint8_t		 ope_sig[ED25519_SIG_LEN];
	size_t		 ncerts;	/* the window's, held or not */
	uint8_t		 cert_tbs[HS_CERT_TBS_LEN];
	uint32_t	 first_hour;	/* hours since epoch, cert 0 */
	/* The signatures held, of certs sigs_first to sigs_first +
	 * nsigs - 1: all ncerts, but in a period that
	 * provision_certify_hours() holds to a few hours. */
	size_t		 sigs_first;
	size_t		 nsigs;
	uint8_t		(*cert_sigs)[ED25519_SIG_LEN];
	/* Parsed periods: where cert 0's line begins in the text, for
	 * provision_hold_file(); 0 when not parsed. */
	uint64_t	 cert_off;
};

struct provision {
	enum provision_kind	 kind;
	char			 address[HS_ADDR_LEN + 1];
	uint8_t			 identity_pk[ED25519_PK_LEN];
	uint64_t		 period_len;	/* minutes */
	uint64_t		 rot_offset;	/* minutes */
	size_t			 nperiods;	/* sorted, unique tp */
	struct provision_period	*periods;
};

/* Lifetime.  provision_new() checks the address (hs_address_decode)
 * and the period parameters (OB_ERR_RANGE); *out is NULL on failure. */
int	provision_new(struct provision **, enum provision_kind,
	    const char *address, uint64_t period_len, uint64_t rot_offset)
	    __attribute__((warn_unused_result));
void	provision_free(struct provision *);	/* NULL ok; wipes */
/*
 * Append an empty period (tp greater than the last one) and return it.
 * It reallocates periods[]: pointers to earlier periods become stale.
 * A bundle or store period must then be certified (or the whole object
 * dropped): provision_encode() refuses one without certs.  The signer
 * is better served by provision_store_certify(), which also keeps order.
 */
int	provision_period_add(struct provision *, uint64_t tp,
	    struct provision_period **)
	    __attribute__((warn_unused_result));
const struct provision_period *
	provision_period_find(const struct provision *, uint64_t tp);

/*
 * The window of use of a period: first and last upload hour (hours since
 * the epoch, inclusive) and its bounds in seconds, ws and we.
 * OB_ERR_RANGE on overflow or parameters out of range.
 */
int	provision_window(uint64_t tp, uint64_t period_len,
	    uint64_t rot_offset, uint32_t *first_hour, uint32_t *last_hour,
	    time_t *ws, time_t *we)
	    __attribute__((warn_unused_result));
/*
 * Whether period tp is in its window of use at now (the signer signs
 * for it only then): 1 yes, 0 no, OB_ERR_RANGE as provision_window().
 */
int	provision_live(uint64_t tp, uint64_t period_len, uint64_t rot_offset,
	    time_t now);

/*
 * Token key names for (service, period): label "obhsm-<address>-<tp>",
 * id = identity public key (32) | INT_8(tp), so that purge can tell
 * service and period from either.  provision_key_id_parse() returns
 * OB_ERR_FORMAT for an id that is not ours.
 */
#define PROVISION_KEY_ID_LEN	(ED25519_PK_LEN + 8)
/* What every such label starts with (the signer's hsm_index_load()). */
#define PROVISION_LABEL_PREFIX	"obhsm-"
int	provision_key_label(char [PROVISION_LABEL_MAX + 1], const char *,
	    uint64_t)
	    __attribute__((warn_unused_result));
void	provision_key_id(uint8_t [PROVISION_KEY_ID_LEN],
	    const uint8_t [ED25519_PK_LEN], uint64_t);
int	provision_key_id_parse(uint8_t [ED25519_PK_LEN], uint64_t *,
	    const uint8_t *, size_t)
	    __attribute__((warn_unused_result));

/*
 * Text form.  provision_parse() checks syntax, the kind (want), caps,
 * ordering, that every cert parses and that each period has exactly the
 * certs its window needs; it checks no signature (see
 * provision_verify()).  On failure *out is NULL, and *line (if not NULL)
 * gets the line number at fault.
 */
int	provision_parse(struct provision **, enum provision_kind want,
	    const uint8_t *, size_t, size_t *line)
	    __attribute__((warn_unused_result));
int	provision_encode(struct buf *, const struct provision *)
	    __attribute__((warn_unused_result));
int	provision_load_file(struct provision **, enum provision_kind,
	    const char *path)
	    __attribute__((warn_unused_result));
/* Write atomically: temp file in the same directory, fsync, rename,
 * fsync of the directory.  mode is the file's permission bits. */
int	provision_save_file(const char *path, const struct provision *,
	    int mode)
	    __attribute__((warn_unused_result));
int	provision_write_atomic(const char *path, const void *, size_t,
	    int mode)
	    __attribute__((warn_unused_result));

/*
 * Certification (the identity key in memory).  certify_period fills
 * period p (whose tp and token_pk are set) with its certs, OPE key and
 * OPE signature; the blinded secret lives only on its stack and is
 * wiped.  This is the code path of both the air-gapped ceremony and the
 * signer's online identity mode.  provision_certify() does a whole
 * request and returns a bundle.
 */
int	provision_certify_period(struct provision_period *,
	    const uint8_t id_sk[ED25519_EXPANDED_LEN],
	    const uint8_t id_pk[ED25519_PK_LEN], uint64_t period_len,
	    uint64_t rot_offset)
	    __attribute__((warn_unused_result));
/*
 * Online identity mode, for the signer: hold only the 08 certs of upload
 * hours first_hour to last_hour (hours since the epoch, clipped to the
 * period's window, at least one), making with the identity key those the
 * period does not hold.  Ed25519 is deterministic: a cert made again is
 * byte for byte the one made before.  The period then holds no other
 * cert: provision_cert_get() gives OB_ERR_MISSING for them, and
 * provision_encode() and provision_verify_period() refuse it.  Nothing
 * is changed on failure.  No token or clock is involved.
 */
int	provision_certify_hours(struct provision_period *,
	    const uint8_t id_sk[ED25519_EXPANDED_LEN],
	    const uint8_t id_pk[ED25519_PK_LEN], uint64_t period_len,
	    uint64_t rot_offset, uint32_t first_hour, uint32_t last_hour)
	    __attribute__((warn_unused_result));
/*
 * Offline mode, for the signer: the same holding, with the certs the
 * period does not hold read again from fd, the file it was parsed from
 * (at the offsets the parser recorded), and checked as parsing and
 * provision_verify_period() check them, signature included: the file is
 * read long after it was verified, and may have been replaced since
 * (then its certs are refused, and the signer must load it again).
 * provision_hold_needs_read() says whether fd will be read (1) or may
 * be -1 (0).  Nothing is changed on failure.
 */
int	provision_hold_needs_read(const struct provision_period *,
	    uint32_t first_hour, uint32_t last_hour);
int	provision_hold_file(struct provision_period *, int fd,
	    uint32_t first_hour, uint32_t last_hour)
	    __attribute__((warn_unused_result));
int	provision_certify(struct provision **bundle,
	    const struct provision *request,
	    const uint8_t id_sk[ED25519_EXPANDED_LEN], time_t now)
	    __attribute__((warn_unused_result));
/*
 * Online identity mode, for the signer: certify the token key token_pk
 * for period tp of the identity key's service, check the result as
 * import would, and merge it into *store (created when NULL, then with
 * period_len and rot_offset).  The caller saves the store.
 */
int	provision_store_certify(struct provision **store,
	    const uint8_t id_sk[ED25519_EXPANDED_LEN], uint64_t period_len,
	    uint64_t rot_offset, uint64_t tp,
	    const uint8_t token_pk[ED25519_PK_LEN])
	    __attribute__((warn_unused_result));
/*
 * Sanity of a request before certifying: the identity key matches the
 * address, and no period's window is over at now.
 */
int	provision_request_check(const struct provision *,
	    const uint8_t id_pk[ED25519_PK_LEN], time_t now)
	    __attribute__((warn_unused_result));

/*
 * Verification against public data: every cert of the period is type
 * 08, signed by the blinded key computed from the address for that
 * period, certifies token_pk (the caller passes the key read from the
 * token, not the one in the file), expires at its hour + 55, and the OPE
 * signature verifies.  Expiry against the clock is not checked here.
 * OB_ERR_MISMATCH for another key, OB_ERR_SIGNATURE for a bad signature,
 * OB_ERR_RANGE for a cert out of its place.  *bad_cert (may be NULL)
 * gets the index of the cert at fault.
 */
int	provision_verify_period(const struct provision *,
	    const struct provision_period *,
	    const uint8_t token_pk[ED25519_PK_LEN], size_t *bad_cert)
	    __attribute__((warn_unused_result));
/* Every period against the token key it names (for a loaded store;
 * the signer still compares that key with the token's).  *bad_period
 * (may be NULL) gets the index of the period at fault. */
int	provision_verify(const struct provision *, size_t *bad_period)
	    __attribute__((warn_unused_result));

/*
 * The store: <statedir>/<address>.store, mode 0600.
 * provision_store_load() fails with OB_ERR_MISSING if there is none.
 * provision_store_merge() adds or replaces the bundle's periods in the
 * store (creating it when *store is NULL).  provision_store_purge()
 * drops periods whose window ended before now and reports how many.
 */
int	provision_store_path(char *, size_t, const char *statedir,
	    const char *address)
	    __attribute__((warn_unused_result));
int	provision_store_load(struct provision **, const char *statedir,
	    const char *address)
	    __attribute__((warn_unused_result));
int	provision_store_save(const char *statedir, const struct provision *)
	    __attribute__((warn_unused_result));
int	provision_store_merge(struct provision **store,
	    const struct provision *bundle)
	    __attribute__((warn_unused_result));
int	provision_store_purge(struct provision *, time_t now, size_t *)
	    __attribute__((warn_unused_result));

/* Rebuild 08 cert i of the period (OB_ERR_RANGE past the last,
 * OB_ERR_MISSING for one not held). */
int	provision_cert_get(const struct provision_period *, size_t i,
	    uint8_t [HS_CERT_LEN])
	    __attribute__((warn_unused_result));
/*
 * What the signer needs at signing time: the 08 cert of period p for an
 * upload at now (OB_ERR_RANGE outside the window, OB_ERR_MISSING for an
 * hour not held), and the horizon: the
 * end (we) of the last provisioned period's window, 0 if none.
 * provision_cert_at() rebuilds the cert into the caller's buffer.
 */
int	provision_cert_at(uint8_t [HS_CERT_LEN],
	    const struct provision_period *, time_t now)
	    __attribute__((warn_unused_result));
time_t	provision_horizon(const struct provision *);

/*
 * Identity keys.  provision_identity_parse() accepts tor's
 * hs_ed25519_secret_key (header + 64-byte expanded key, clamped) and
 * OnionBalance's PEM (PKCS#8 Ed25519, "BEGIN PRIVATE KEY"; the seed is
 * expanded as tor does).  provision_identity_load() refuses a file that
 * others can read or write.  provision_identity_write() writes tor's
 * three files (secret key, public key, hostname) into dir, mode 0600,
 * never overwriting one.
 */
int	provision_identity_parse(uint8_t sk[ED25519_EXPANDED_LEN],
	    uint8_t pk[ED25519_PK_LEN], const uint8_t *, size_t)
	    __attribute__((warn_unused_result));
int	provision_identity_load(uint8_t sk[ED25519_EXPANDED_LEN],
	    uint8_t pk[ED25519_PK_LEN], const char *path)
	    __attribute__((warn_unused_result));
int	provision_identity_write(const char *dir,
	    const uint8_t sk[ED25519_EXPANDED_LEN],
	    const uint8_t pk[ED25519_PK_LEN])
	    __attribute__((warn_unused_result));

#endif /* OB_PROVISION_H */
