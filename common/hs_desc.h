/*
 * The v3 onion service descriptor (rend-spec-v3 [DESC-OUTER], the
 * superencrypted middle layer and the encrypted inner layer), decoded,
 * decrypted, verified and built.  Layout and limits:
 * shared/reference/tor-v3-notes.md sections 1.1-1.4, 2.4, 2.5, 8.
 *
 * Everything fed to hs_desc_decode() is hostile: sizes are capped before
 * parsing, every keyword comes from one token table with its arity and
 * multiplicity, and every rejection has its own error code.
 *
 * Building is split so that the key can live in a token, in another
 * process: hs_desc_encode_body() produces the whole document up to and
 * including the '\n' before "signature", hs_desc_sig_message() gives the
 * bytes the signer signs (the "Tor onion service descriptor sig v3"
 * prefix, then the body), and hs_desc_append_signature() finishes it.
 */
#ifndef OB_HS_DESC_H
#define OB_HS_DESC_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "hs_cert.h"
#include "hs_keys.h"

#define HS_DESC_VERSION			3
#define HS_DESC_MAX_LEN			49999	/* tor: strlen < 50000 */
#define HS_DESC_MAX_INTRO		20	/* tor rejects more */
#define HS_DESC_PAD_MULTIPLE		10000	/* middle layer plaintext */
#define HS_DESC_LIFETIME_DEFAULT	180	/* minutes */
#define HS_DESC_LIFETIME_MAX		720
#define HS_DESC_SALT_LEN		16
#define HS_DESC_MAC_LEN			32
#define HS_DESC_COOKIE_LEN		16
#define HS_DESC_CLIENT_ID_LEN		8
#define HS_DESC_AUTH_CLIENT_MULTIPLE	16
#define HS_DESC_MAX_AUTH_CLIENTS	512	/* cap on hostile input */
#define HS_LINKSPEC_MAX_LEN		256	/* NSPEC block, raw */
#define HS_DESC_SIG_PREFIX		"Tor onion service descriptor sig v3"

/* Link specifier types (rend-spec 0.4; tor's link_handshake.trunnel). */
#define HS_LINKSPEC_IPV4	0x00	/* 4-byte address, 2-byte port */
#define HS_LINKSPEC_IPV6	0x01	/* 16-byte address, 2-byte port */
#define HS_LINKSPEC_LEGACY_ID	0x02	/* RSA identity digest, 20 */
#define HS_LINKSPEC_ED25519_ID	0x03	/* Ed25519 identity, 32 */

struct hs_linkspec {
	uint8_t		 type;
	uint8_t		 len;
	const uint8_t	*data;		/* points into the block */
};

/*
 * Split a link specifier block NSPEC | (LSTYPE LSLEN LSPEC)* into its
 * entries (at most max into ls; ls may be NULL to only check it).  The
 * known types must have their fixed lengths and nothing may follow the
 * last entry.
 */
int	hs_linkspec_split(struct hs_linkspec *, size_t max, size_t *,
	    const uint8_t *, size_t)
	    __attribute__((warn_unused_result));

struct hs_intro_point {
	uint8_t		linkspec[HS_LINKSPEC_MAX_LEN];	/* verbatim */
	size_t		linkspec_len;
	uint8_t		onion_key[X25519_KEY_LEN];	/* "onion-key ntor" */
	struct hs_cert	auth_key_cert;	/* 09: certifies the auth key */
	uint8_t		enc_key[X25519_KEY_LEN];	/* "enc-key ntor" */
	struct hs_cert	enc_key_cert;	/* 0B: certifies enc_key's ed form */
};

struct hs_auth_client {
	uint8_t		client_id[HS_DESC_CLIENT_ID_LEN];
	uint8_t		iv[AES_IV_LEN];
	uint8_t		encrypted_cookie[HS_DESC_COOKIE_LEN];
};

struct hs_desc {
	/* Outer layer. */
	uint32_t		 lifetime_min;
	struct hs_cert		 signing_cert;		/* type 08 */
	uint64_t		 revision_counter;
	int			 signed_;	/* had a signature line */
	uint8_t			 signature[ED25519_SIG_LEN];

	/* Middle layer. */
	uint8_t			 auth_ephemeral_key[X25519_KEY_LEN];
	struct hs_auth_client	*auth_clients;
	size_t			 n_auth_clients;
	int			 client_auth;	/* layer 2 needed a cookie */

	/* Inner layer. */
	int			 single_onion;
	int			 has_flow_control;
	char			 flow_control_versions[32];	/* e.g. "1-2" */
	unsigned		 flow_control_sendme_inc;
	char			*pow_params;	/* raw pow-params, or NULL */
	struct hs_intro_point	 intro[HS_DESC_MAX_INTRO];
	size_t			 n_intro;
	size_t			 n_intro_skipped;	/* invalid, dropped */
};

/* What the caller knows and how strict to be. */
struct hs_desc_decode_params {
	/* The service's identity key (from its onion address). */
	const uint8_t	*identity_pk;
	/*
	 * The blinded key the descriptor must be for, or NULL to accept the
	 * one in the 08 cert (then the caller must check desc->signing_cert
	 * .signing_key against the periods it accepts).
	 */
	const uint8_t	*blinded_pk;
	time_t		 now;			/* for cert expiry */
	const uint8_t	*client_auth_sk;	/* x25519, or NULL */
	int		 flags;
	/*
	 * The subcredential, when the caller has it but not the identity
	 * key (e.g. a test vector); otherwise NULL and it is computed from
	 * identity_pk and the blinded key.
	 */
	const uint8_t	*subcredential;
	/*
	 * Optional (NULL: every cert is verified, the default for anything
	 * read from the network).  For a caller that holds certs it has
	 * verified itself, e.g. the signer with the intro point certs its
	 * token made and the 08 certs it checked at import: when trusted()
	 * returns 1 for a cert's exact encoding (08, 09 or 0B), its Ed25519
	 * signature is not verified again; its type, key type, extension
	 * 04, signing key and expiry still are (hs_cert_check()).  It must
	 * return 1 only for bytes identical to a cert whose signature it
	 * saw verify: identical bytes give the identical verdict.
	 */
	int		(*trusted)(void *arg, const uint8_t *enc, size_t len);
	void		*trusted_arg;
};
#define HS_DESC_F_UNSIGNED	0x01	/* body without "signature" line */
#define HS_DESC_F_STRICT	0x02	/* a bad intro point fails it all */
#define HS_DESC_F_OUTER_ONLY	0x04	/* verify, do not decrypt */

void	hs_desc_init(struct hs_desc *);
/* Frees and wipes: the fields, and the intro points below n_intro (no
 * slot above it holds anything after hs_desc_init() and a decode). */
void	hs_desc_clear(struct hs_desc *);

/*
 * Parse, verify (08 cert from the blinded key, descriptor signature with
 * the prefix, expiry) and decrypt both layers down to the intro points,
 * whose 09/0B certs must be signed by the descriptor signing key and
 * unexpired.  Tor skips an invalid intro point; so do we unless
 * HS_DESC_F_STRICT.  More than 20 intro points fail with OB_ERR_LIMIT.
 *
 * The struct must have been through hs_desc_init(); it is cleared first
 * (so it can be reused) and left cleared on failure.  Needs identity_pk
 * or subcredential unless HS_DESC_F_OUTER_ONLY.  Errors, by check:
 * OB_ERR_TRUNCATED (empty, object or line cut off), OB_ERR_TOO_LARGE
 * (>= 50,000 bytes, a line over 1024), OB_ERR_FORMAT (syntax, NUL byte,
 * arity, keyword out of order, bad base64), OB_ERR_DUPLICATE,
 * OB_ERR_MISSING, OB_ERR_VERSION, OB_ERR_RANGE (lifetime > 720),
 * OB_ERR_LIMIT (a token or count cap), then hs_cert_verify()'s codes for
 * the 08 cert (OB_ERR_MISMATCH: not the expected blinded key,
 * OB_ERR_EXPIRED, OB_ERR_SIGNATURE), OB_ERR_SIGNATURE (descriptor),
 * OB_ERR_MAC (a layer, or layer 2 with our cookie),
 * OB_ERR_NOT_AUTHORIZED (layer 2 needs a cookie we cannot recover: no
 * client key, or one not on the auth-client list; the protocol cannot
 * tell this apart from a corrupt layer 2).
 */
int	hs_desc_decode(struct hs_desc *, const uint8_t *, size_t,
	    const struct hs_desc_decode_params *)
	    __attribute__((warn_unused_result));

/*
 * The decoder's inner steps, exposed for fuzzing and tools: parse a
 * decrypted middle-layer plaintext (fills the middle-layer fields and
 * returns the layer-2 blob, malloc'd, in *blob), and parse a decrypted
 * inner-layer plaintext (fills the inner-layer fields; intro point certs
 * are checked against signing_pk at now; with signing_pk NULL only under
 * their own extension 04 key, for fuzzing and inspection).  Plaintexts
 * are what hs_desc_decode() would see: cut at the first NUL.
 */
int	hs_desc_decode_middle(struct hs_desc *, uint8_t **, size_t *,
	    const uint8_t *, size_t)
	    __attribute__((warn_unused_result));
int	hs_desc_decode_inner(struct hs_desc *, const uint8_t *, size_t,
	    const uint8_t signing_pk[ED25519_PK_LEN], time_t now, int flags)
	    __attribute__((warn_unused_result));

/* What the builder needs beyond the struct hs_desc fields it reads
 * (lifetime_min, signing_cert, revision_counter, single_onion,
 * flow_control, intro[]; pow_params is never emitted: see DESIGN.md). */
struct hs_desc_encode_params {
	const uint8_t	*identity_pk;
	const uint8_t	*blinded_pk;
	/* Restricted discovery: x25519 public keys of authorized clients. */
	const uint8_t	(*client_pks)[X25519_KEY_LEN];
	size_t		 n_client_pks;
	/*
	 * Optional: the x25519 pair behind "desc-auth-ephemeral-key", kept
	 * by the caller for the life of a period's descriptor, as tor keeps
	 * it (hs_service.c makes it once per descriptor, not per upload).
	 * pk must be sk's public key; hs_desc_auth_keypair() makes a pair.
	 * Both NULL: a fresh pair for this body, one scalar multiplication
	 * (about a third of building a body).
	 */
	const uint8_t	*auth_ephemeral_sk;
	const uint8_t	*auth_ephemeral_pk;
};

/* A fresh pair for hs_desc_encode_params.auth_ephemeral_{sk,pk}. */
int	hs_desc_auth_keypair(uint8_t [X25519_KEY_LEN],
	    uint8_t [X25519_KEY_LEN])
	    __attribute__((warn_unused_result));

/*
 * Encrypt and encode everything but the signature line into out (which
 * is reset first).  Fresh salts, ephemeral key (unless the caller holds
 * one), fake auth-client lines (padded to a multiple of 16) and, with
 * clients, a fresh cookie.  OB_ERR_INTERNAL for half an ephemeral pair.
 * Fails with OB_ERR_LIMIT for more than 20 intro points and
 * OB_ERR_TOO_LARGE when the signed document could not be < 50,000 bytes.
 */
int	hs_desc_encode_body(struct buf *, const struct hs_desc *,
	    const struct hs_desc_encode_params *)
	    __attribute__((warn_unused_result));
/* The exact bytes to sign for a body (malloc'd into *msg). */
int	hs_desc_sig_message(uint8_t **, size_t *, const uint8_t *, size_t)
	    __attribute__((warn_unused_result));
/* Append "signature <86 chars>\n". */
int	hs_desc_append_signature(struct buf *,
	    const uint8_t [ED25519_SIG_LEN])
	    __attribute__((warn_unused_result));
/* Body, sign through signer, append: a convenience for tools and tests. */
int	hs_desc_encode(struct buf *, const struct hs_desc *,
	    const struct hs_desc_encode_params *, const struct hs_signer *)
	    __attribute__((warn_unused_result));

#endif /* OB_HS_DESC_H */
