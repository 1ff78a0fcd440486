/*
 * The PKCS#11 layer: the only code in the project that talks Cryptoki.
 * It holds the per-period descriptor signing keys (KS_hs_desc_sign, see
 * shared/DESIGN.md) in a token: Ed25519 through CKM_EC_EDWARDS_KEY_PAIR_GEN
 * and CKM_EDDSA (pure Ed25519, no mechanism parameter, single-part).
 *
 * This header does not include pkcs11.h: CK_RV values travel as unsigned
 * long, so the signer and keytool never see Cryptoki types.
 *
 * Life cycle:
 *	h = hsm_new(&conf);		copies conf, touches nothing
 *	hsm_open(h);			load, C_Initialize, pick the token,
 *					open a session, log in (once)
 *	hsm_key_generate/find/sign/list/destroy(h, ...)
 *	hsm_free(h);			logout, close, C_Finalize, unload
 *
 * All functions return 0 or -1.  On -1, hsm_last_error() says why in one
 * line ("C_Login: CKR_PIN_INCORRECT (token says: 1 try left)"),
 * hsm_last_rv() / hsm_last_call() give the first CK_RV that failed and
 * the Cryptoki function that returned it (0 and "" when no call failed:
 * a refusal by this layer, such as a locked PIN seen in the token flags),
 * and hsm_last_status() gives the class of failure a caller acts on.
 * Each public call starts with a clean error state, and every failure is
 * logged (log.h) with the CK_RV by name and the call.
 *
 * Robustness (what the caller can count on):
 * - Login happens once.  The PIN is kept in locked memory so that the
 *   layer can log in again after it had to re-initialise the module; it
 *   is wiped by hsm_free().  A wrong PIN is never retried: after
 *   CKR_PIN_INCORRECT the kept PIN is wiped and every later login attempt
 *   fails with HSM_E_PIN until a new hsm_open().  Before C_Login the
 *   token flags are read: CKF_USER_PIN_LOCKED fails at once
 *   (HSM_E_PIN_LOCKED), CKF_USER_PIN_FINAL_TRY fails at once unless
 *   conf.allow_final_try is set (a daemon must not lock the token with a
 *   stale PIN), CKF_USER_PIN_COUNT_LOW is logged.  PKCS#11 tells tries
 *   left only through these flags, so messages say "1 try left",
 *   "count low" or "locked".
 * - CKR_SESSION_HANDLE_INVALID / CKR_SESSION_CLOSED (and, closing the
 *   old session first, CKR_USER_NOT_LOGGED_IN / CKR_OPERATION_ACTIVE):
 *   the session is reopened (the login redone only if the token forgot
 *   it), key handles are found again by label and id and must have the
 *   same public key, and the operation is retried once.
 * - CKR_DEVICE_REMOVED / CKR_TOKEN_NOT_PRESENT / CKR_DEVICE_ERROR: the
 *   operation fails with HSM_E_NO_TOKEN.  The next call finalises and
 *   re-initialises the module, finds the token again by the same URI
 *   (and the same serial and label), reopens the session and logs in
 *   again; if the token is still absent that call fails with
 *   HSM_E_NO_TOKEN without waiting.  The caller just retries later;
 *   hsm_reinit() forces it.
 * - Every signature the token returns is verified against the key's
 *   public key before it is handed out.
 * - Watchdog: when conf.timeout_ms is nonzero, every Cryptoki call runs
 *   in one worker thread owned by the handle, with all its arguments in
 *   buffers the handle owns, and the caller waits at most timeout_ms.  On
 *   timeout the call fails with HSM_E_HUNG and the module is marked
 *   unusable: no further call enters it.  Once the hung call returns, the
 *   next call (or hsm_reinit()) finalises and re-initialises the module
 *   as after a removal.  If it never returns, the handle stays unusable:
 *   a thread cannot be safely killed inside a vendor library, so the
 *   only remedy is a process restart (the signer exits and is restarted
 *   by its supervisor).  hsm_free() on a hung handle leaks the worker
 *   and the handle's buffers on purpose rather than free memory the
 *   module may still write.  timeout_ms = 0 calls the module directly.
 *
 * Threads: one struct hsm is used by one thread at a time.  Load the
 * module after any fork (Cryptoki state does not survive fork).
 */
#ifndef OB_HSM_H
#define OB_HSM_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "hs_keys.h"

#define HSM_LABEL_MAX		128	/* CKA_LABEL bytes, no NUL */
#define HSM_ID_MAX		64	/* CKA_ID bytes */
#define HSM_TIMEOUT_DEFAULT	10000	/* ms; a smartcard signs in 0.1 s */
#define HSM_SO_DEFAULT		"/usr/lib/softhsm/libsofthsm2.so"

/* What a caller acts on after -1 (hsm_last_status()). */
enum hsm_status {
	HSM_OK = 0,
	HSM_E_CONFIG,		/* bad module spec, URI or PIN source */
	HSM_E_MODULE,		/* module cannot be loaded/initialised */
	HSM_E_NO_TOKEN,		/* no token matches, or it was pulled */
	HSM_E_AMBIGUOUS,	/* the URI (or label/id) matches several */
	HSM_E_PIN,		/* wrong PIN (never retried) or none given */
	HSM_E_PIN_LOCKED,	/* locked, or final try refused */
	HSM_E_HUNG,		/* the watchdog fired; module unusable */
	HSM_E_NOT_FOUND,	/* no such key */
	HSM_E_EXISTS,		/* a key with that label or id exists */
	HSM_E_UNSUPPORTED,	/* token lacks Ed25519 mechanisms */
	HSM_E_FAILED,		/* any other CK_RV, or a system error */
};

struct hsm_config {
	/*
	 * Which module: a path containing '/' (dlopen'd through
	 * p11_kit_module_load), "p11-kit-proxy" (p11-kit's proxy, which
	 * exposes every registered module), or the name of a module
	 * registered with p11-kit (a "NAME.module" file; e.g. "softhsm2").
	 * NULL: the URI's module-path or module-name attribute, else
	 * HSM_SO_DEFAULT.
	 */
	const char	*module;
	/*
	 * RFC 7512 URI choosing the token ("pkcs11:token=obhsm;serial=...").
	 * Token and slot attributes are matched; object attributes are
	 * ignored.  Exactly one present token must match (else
	 * HSM_E_NO_TOKEN or HSM_E_AMBIGUOUS).  NULL or "pkcs11:" matches
	 * any token, so it works only with one token present.
	 */
	const char	*uri;
	/*
	 * Where the user PIN comes from:
	 *	"file:PATH"	first line of PATH; refused if other users
	 *			may read it (mode & 007)
	 *	"fd:N"		read from descriptor N to newline/EOF,
	 *			then close it
	 *	"env:NAME"	the variable, wiped and unset after reading
	 *	"prompt"	/dev/tty with echo off
	 *	"protected"	CKF_PROTECTED_AUTHENTICATION_PATH (a PIN
	 *			pad): C_Login with a NULL PIN
	 * NULL: the URI's pin-source ("file:" implied for a bare path) or
	 * pin-value, else no login (only public objects are then visible,
	 * so keys are not).
	 */
	const char	*pin_source;
	unsigned	 timeout_ms;	/* watchdog, 0 = none */
	int		 allow_final_try; /* log in even on FINAL_TRY */
	/* Never sign with session copies of the keys (hsm_key_sign): for
	 * tokens whose session memory others need. */
	int		 no_key_copies;
	/* A copy signs only while its token object was seen within this
	 * many seconds (0: looked at before every signature), so that a
	 * key destroyed on the token stops signing within that time. */
	unsigned	 copy_check_s;
};

/*
 * One Ed25519 key pair on the token, named by the caller (label and id:
 * the caller encodes service and time period in them).  pk is read from
 * CKA_EC_POINT of the public key object with the same CKA_ID or, when
 * there is none, from the private key's CKA_PUBLIC_KEY_INFO (what
 * hsm_key_generate leaves).  The
 * fields after the comment are private to hsm.c: cached object handles
 * and the session epoch they were found in (handles are re-found after a
 * session reopen or a re-initialisation).
 */
struct hsm;
struct hsm_key {
	char		 label[HSM_LABEL_MAX + 1];
	uint8_t		 id[HSM_ID_MAX];
	size_t		 id_len;
	uint8_t		 pk[ED25519_PK_LEN];
	/* private */
	struct hsm	*hsm;
	unsigned long	 priv;
	unsigned long	 pub;
	unsigned	 epoch;
};

/*
 * A found or generated key as a process that holds thousands keeps it
 * (the signer: one per service and period): the public key and the
 * private fields, without the label and id, which its holder can name
 * again (the signer's are made from the service and the period).  A
 * fifth of a struct hsm_key.  hsm_key_unpack() gives back the struct
 * hsm_key for any call above; hsm_key_pack() after the call keeps the
 * handles it may have found again.
 */
struct hsm_keyref {
	uint8_t		 pk[ED25519_PK_LEN];
	/* private */
	unsigned long	 priv;
	unsigned long	 pub;
	unsigned	 epoch;
};
void	hsm_key_pack(struct hsm_keyref *, const struct hsm_key *);
/* 0, or -1 if the label or id is too long for a struct hsm_key. */
int	hsm_key_unpack(struct hsm_key *, struct hsm *,
	    const struct hsm_keyref *, const char *label, const void *id,
	    size_t id_len) __attribute__((warn_unused_result));

struct hsm_token_info {
	char		 label[33];	/* blank padding removed */
	char		 manufacturer[33];
	char		 model[17];
	char		 serial[17];
	unsigned long	 slot;
	unsigned long	 flags;		/* CK_TOKEN_INFO.flags */
	int		 tries_left;	/* 1 final try, 0 locked, -1 ? */
	int		 protected_path;
};

/* Counters for tests, benchmarks and the status page. */
struct hsm_stats {
	unsigned long	 signatures;
	unsigned long	 calls;		/* Cryptoki calls made */
	unsigned long	 session_reopens;
	unsigned long	 reinits;	/* C_Finalize + C_Initialize */
	unsigned long	 logins;	/* C_Login calls */
	unsigned long	 timeouts;
	unsigned long	 searches;	/* C_FindObjectsInit calls */
	unsigned long	 index_builds;	/* token enumerations (index) */
	unsigned long	 copies_made;	/* session copies of keys made */
	unsigned long	 copies;	/* of which alive now */
};

/* hsm.c */
struct hsm	*hsm_new(const struct hsm_config *);
void		 hsm_free(struct hsm *);
/* After a failure (e.g. HSM_E_NO_TOKEN) it may be called again. */
int		 hsm_open(struct hsm *) __attribute__((warn_unused_result));
/* Finalise and re-initialise now (after removal or a hung call). */
int		 hsm_reinit(struct hsm *)
		    __attribute__((warn_unused_result));
int		 hsm_token_info(struct hsm *, struct hsm_token_info *)
		    __attribute__((warn_unused_result));
void		 hsm_stats_get(const struct hsm *, struct hsm_stats *);

/*
 * Generate a key pair in the token: CKA_TOKEN, CKA_PRIVATE,
 * CKA_SENSITIVE, !CKA_EXTRACTABLE, CKA_SIGN (private); CKA_VERIFY
 * (public); both with the caller's label (1..HSM_LABEL_MAX bytes) and id
 * (1..HSM_ID_MAX bytes).  The public half is a session object: its key
 * is written to the private key as CKA_PUBLIC_KEY_INFO (SPKI, RFC 8410)
 * and it is destroyed, so the token holds one object per key.  A token
 * that refuses that attribute (tried once per handle) gets its private
 * key destroyed and the pair made again with a token public key.  EC_PARAMS is first the PrintableString
 * "edwards25519", then, if the token refuses it, the OID 1.3.101.112.
 * Fails with HSM_E_EXISTS if any key has this label or id.  Fills *key
 * (here and in hsm_key_find, *key is written only on success).
 */
int	hsm_key_generate(struct hsm *, struct hsm_key *, const char *label,
	    const void *id, size_t id_len) __attribute__((warn_unused_result));
/*
 * Find the one Ed25519 private key whose label (if label != NULL) and id
 * (if id != NULL) match, and read its public key.  At least one of the
 * two is given.  HSM_E_NOT_FOUND, or HSM_E_AMBIGUOUS if several match.
 */
int	hsm_key_find(struct hsm *, struct hsm_key *, const char *label,
	    const void *id, size_t id_len) __attribute__((warn_unused_result));
/*
 * CKM_EDDSA over msg (len <= HSM_SIGN_MAX): a 64-byte signature, checked
 * against key->pk before it is written to sig (only on success): a token
 * fault never hands out a bad signature (tests/p11fault corrupt_sign).
 *
 * The signature is made with a session copy of the key where the token
 * can make one (C_CopyObject with CKA_TOKEN false, at the key's first
 * signature in a session): SoftHSM reads files on every signature with
 * a token object, not with a session object.  A copy is used only if
 * it reads back sensitive and non-extractable; it is destroyed with
 * the key (hsm_key_destroy()), when the index forgets the key, and by
 * hsm_index_load(), and dies with the session (after a new session or a
 * re-initialisation the key is found and copied again).  A key destroyed
 * by another process stops signing within copy_check_s (hsm_config):
 * the token object is looked at before a signature when it was last
 * seen longer ago.  A copy is also dropped when it is not the key's (a
 * handle the token gave to another key: its public key differs, or its
 * signature does not verify, and the token object then signs).  At most
 * 4096 are alive; beyond, and on a token that refuses copies
 * (remembered for the handle's life) or is out of memory (for the
 * session), the token object signs.  hsm_stats counts them.
 */
#define HSM_SIGN_MAX	(1U << 20)
int	hsm_key_sign(struct hsm *, struct hsm_key *,
	    uint8_t [ED25519_SIG_LEN], const void *msg, size_t len)
	    __attribute__((warn_unused_result));
/*
 * All Ed25519 private keys on the token, in the token's order, each with
 * its public key (a key whose public half is missing is listed with pk
 * all zero and logged).  *keys is malloc'd; free() it.  Purging expired
 * periods is the caller's loop over this list with hsm_key_destroy().
 */
int	hsm_key_list(struct hsm *, struct hsm_key **keys, size_t *nkeys)
	    __attribute__((warn_unused_result));
/* Destroy the private and the public object of the pair. */
int	hsm_key_destroy(struct hsm *, struct hsm_key *)
	    __attribute__((warn_unused_result));

/*
 * The key index, for a process that holds many keys (the signer: one
 * per service and period).  Tokens such as SoftHSM's file store answer
 * every search by scanning all their objects, so a start-up that looks
 * up or generates one key per service would cost O(N^2).
 * hsm_index_load() enumerates the token once (one search, one
 * C_GetAttributeValue per object) and keeps, for every Ed25519 private
 * key whose label starts with label_prefix (NULL: every label), its
 * names and handles; of every other object only hashes of its label and
 * id.  From then on:
 * - hsm_key_find() by a label with the prefix, or by an id no other
 *   object carries, is answered from the index (the public key is read
 *   from the token at the first find); anything else searches the token.
 * - hsm_key_generate() skips its two existence searches when the index
 *   knows both names are free, and fails with HSM_E_EXISTS when an
 *   indexed key has one; the new pair joins the index.
 * - hsm_key_destroy() removes the key from the index.
 * - After a new session or a re-initialisation (recovery, see above)
 *   handles are stale: the next call that needs the index rebuilds it.
 * Keys another process creates or destroys after the load are not seen
 * until the next hsm_index_load() (the signer calls it at start and on
 * every reload, which is when it expects new keys).  Two keys under
 * one name are then found ambiguous, as without the index.  If
 * hsm_index_load() fails the index is still on, and is built by the
 * next call that needs it.  hsm_index_drop() returns to token searches.
 * hsm_key_list() enumerates once in any case.
 */
int	hsm_index_load(struct hsm *, const char *label_prefix)
	    __attribute__((warn_unused_result));
void	hsm_index_drop(struct hsm *);
/*
 * Forget the indexed key with this label and id, which the caller will
 * not use again (the signer: a period whose window is over), leaving the
 * token as it is: a process that runs for months must not keep an entry
 * for every key it ever made.  Its names are kept as taken, as those of
 * objects outside the index (8 bytes each, not an entry's 200), so that
 * hsm_key_find() and hsm_key_generate() ask the token about them; the
 * next hsm_index_load() indexes the key again if it is still there.
 */
void	hsm_index_forget(struct hsm *, const char *label, const void *id,
	    size_t id_len);
/* Keys in the index (0 when it is off or not built yet). */
size_t	hsm_index_count(const struct hsm *);

/*
 * The codec's signature oracle over a token key: sign() calls
 * hsm_key_sign(key->hsm, key, ...).  key must stay alive (and found or
 * generated) as long as the hs_signer is used.
 */
void	hsm_key_signer(struct hs_signer *, struct hsm_key *);

/* Errors: the first failure of the last public call. */
enum hsm_status	 hsm_last_status(const struct hsm *);
unsigned long	 hsm_last_rv(const struct hsm *);	/* 0: none */
const char	*hsm_last_call(const struct hsm *);	/* "" if none */
const char	*hsm_last_error(const struct hsm *);	/* one line */
const char	*hsm_status_name(enum hsm_status);

/* hsm_rv.c */
/* "CKR_PIN_INCORRECT", or "CKR_0x%08lx" (static buffer) if unknown. */
const char	*hsm_rv_name(unsigned long);
/* The reverse, for configuration and tests: a name, or "0x" and hex. */
int		 hsm_rv_parse(const char *, unsigned long *)
		    __attribute__((warn_unused_result));

/* hsm_pin.c */
/*
 * Read a PIN from a source as described for hsm_config.pin_source
 * ("protected" is not a source here).  Writes a NUL-terminated PIN of at
 * most max - 1 bytes; the caller wipes it.  0 or -1 (logged).
 */
int	hsm_pin_read(char *pin, size_t max, const char *source)
	    __attribute__((warn_unused_result));

#endif /* OB_HSM_H */
