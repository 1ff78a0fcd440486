/*
 * The collector-signer wire contract, and nothing else.  doc/protocol.md
 * explains the flow; this file is the normative list of messages.
 *
 * Framing (common/msg.c): every message is a 12-byte header, then the
 * payload.  All integers are big-endian.
 *
 *	u16 type		one of enum proto_type
 *	u16 flags		0 (nonzero is malformed)
 *	u32 id			request id; a reply carries its request's id
 *	u32 len			payload length, <= PROTO_MAX_PAYLOAD
 *	u8  payload[len]
 *
 * Payload field types (the getters in msg.h check every length):
 *	u8 u16 u32 u64		big-endian integers
 *	fix[N]			exactly N raw bytes
 *	str			u16 n, then n bytes of printable ASCII
 *				(0x20-0x7e), n <= PROTO_STR_MAX, no NUL
 *	data			u32 n, then n raw bytes (each field states
 *				its own cap)
 * A payload must be consumed exactly: leftover bytes are malformed.
 *
 * Rules:
 *  - The collector speaks first with PROTO_HELLO; anything else before it
 *    is refused (PROTO_R_NOT_PERMITTED) and the connection closed.
 *  - The signer answers every request with either its *_OK reply or a
 *    PROTO_ERROR, in order, with the request's id.
 *  - A malformed message, an unknown type, a type the collector may not
 *    send, or another PROTO_VERSION gets a PROTO_ERROR and the connection
 *    is closed.  Policy refusals (PROTO_R_SERVICE and later) leave it open.
 *  - Numbers are never reused: a retired message or reason keeps its
 *    number, commented out with the version that retired it.
 *
 * Onion addresses ("service", "backend") are the 56 base32 characters
 * without ".onion".  "tp" is a time period number as in rend-spec
 * [TIME-PERIODS], with the signer's configured period length.
 */
#ifndef OB_PROTO_H
#define OB_PROTO_H

#define PROTO_VERSION		1

#define PROTO_HDR_LEN		12
#define PROTO_MAX_PAYLOAD	(64 * 1024)	/* a descriptor is < 50000 */
#define PROTO_STR_MAX		255
#define PROTO_MAX_INTRO		20	/* per descriptor (rend-spec) */
#define PROTO_DESC_MAX		50000	/* any descriptor text or body */

/* Peer roles in PROTO_HELLO / PROTO_HELLO_OK. */
#define PROTO_ROLE_COLLECTOR	1
#define PROTO_ROLE_SIGNER	2

/* Intro point certificate shapes (PROTO_HELLO_OK, doc/protocol.md). */
#define PROTO_ICERT_PERIOD	0	/* one cert per period, reused */
#define PROTO_ICERT_HOURLY	1	/* tor's shape: now + 54 h */

/* Horizon states in PROTO_STATUS_OK. */
#define PROTO_HORIZON_OK	0
#define PROTO_HORIZON_WARN	1	/* inside the warning window */
#define PROTO_HORIZON_PAST	2	/* nothing left to sign with */

enum proto_type {
	/* 0x00xx: session. */
	PROTO_HELLO		= 0x0001,
	/*
	 * collector -> signer, first message on a connection.
	 *	u32 version		PROTO_VERSION
	 *	u8  role		PROTO_ROLE_COLLECTOR
	 *	str name		free text for the logs (e.g. host:pid)
	 */
	PROTO_HELLO_OK		= 0x0002,
	/*
	 * signer -> collector.
	 *	u32 version		PROTO_VERSION
	 *	u8  role		PROTO_ROLE_SIGNER
	 *	u32 max_payload		PROTO_MAX_PAYLOAD
	 *	u32 period_len		minutes (hsdir_interval) it uses
	 *	u32 rot_offset		minutes (SR phase) it computes with
	 *	u8  icert_mode		PROTO_ICERT_*
	 */
	PROTO_ERROR		= 0x0003,
	/*
	 * signer -> collector: the request failed, nothing was signed.
	 *	u16 reason		enum proto_reason
	 *	str detail		what exactly, for the operator
	 */

	/* 0x01xx: backend descriptors. */
	PROTO_BACKEND_DESC	= 0x0101,
	/*
	 * collector -> signer: a backend descriptor as fetched.  The signer
	 * verifies it from the backend address down (blinded key for tp,
	 * 08 cert, signature, expiry), decrypts it, and remembers its intro
	 * points for the service (replacing that backend's earlier ones;
	 * an older descriptor than one seen is refused).
	 *	str service		master onion address
	 *	str backend		backend onion address (configured for
	 *				service)
	 *	u64 tp			time period; must be live
	 *	data desc		<= PROTO_DESC_MAX, the document with
	 *				'\n' line ends, not dot-stuffed
	 */
	PROTO_BACKEND_DESC_OK	= 0x0102,
	/*
	 * signer -> collector: the intro points it verified.
	 *	u64 revision		the backend descriptor's counter
	 *	u8  n_skipped		intro points dropped as invalid
	 *	u8  n			<= PROTO_MAX_INTRO, then n times:
	 *	  fix[32] auth_key	certified key of its 09 cert: the
	 *				intro point's name in RECERTIFY
	 *	  fix[32] enc_key	"enc-key ntor" (x25519)
	 *	  data linkspec		<= 256, the link specifiers (NSPEC
	 *				block as in the descriptor, raw)
	 */

	/* 0x02xx: intro point recertification. */
	PROTO_RECERTIFY		= 0x0201,
	/*
	 * collector -> signer: certify these intro points with the token
	 * key of (service, tp).  Each must come from the latest verified
	 * descriptor of a backend of the service.
	 *	str service
	 *	u64 tp
	 *	u8  n			1..PROTO_MAX_INTRO, then n times:
	 *	  fix[32] auth_key
	 */
	PROTO_RECERTIFY_OK	= 0x0202,
	/*
	 * signer -> collector, in request order:
	 *	u32 token_sigs		signatures this request cost (0 when
	 *				every cert came from the cache)
	 *	u8  n, then n times:
	 *	  fix[32] auth_key
	 *	  data auth_cert	<= 1024, type 09 cert of auth_key
	 *	  data enc_cert		<= 1024, type 0B cert of enc_key's
	 *				ed25519 form
	 */

	/* 0x03xx: master descriptors. */
	PROTO_DESC_PARAMS	= 0x0301,
	/*
	 * collector -> signer: what a body for (service, tp) must carry now.
	 *	str service
	 *	u64 tp
	 */
	PROTO_DESC_PARAMS_OK	= 0x0302,
	/*
	 *	fix[32] blinded_pk	KP_hs_blind_id for tp
	 *	fix[32] signing_pk	the token's KP_hs_desc_sign for tp
	 *	u64 revision		the counter to put in the body; the
	 *				signer accepts it for
	 *				PROTO_REVISION_GRACE seconds
	 *	u64 now			the signer's clock (unix seconds)
	 *	data cert		<= 1024, the type 08 cert for this hour
	 */
	PROTO_SIGN_DESC		= 0x0303,
	/*
	 * collector -> signer: sign a master descriptor body, i.e.
	 * hs_desc_encode_body()'s output (everything up to the "signature"
	 * line).
	 *	str service
	 *	u64 tp
	 *	u8  has_client_sk	0 or 1; 1 for restricted discovery
	 *	fix[32] client_sk	only if has_client_sk: an x25519
	 *				secret whose public key the body lists
	 *				as an authorized client (make a fresh
	 *				one per body), so that the signer can
	 *				decrypt the inner layer
	 *	data body		<= PROTO_DESC_MAX
	 */
	PROTO_SIGN_DESC_OK	= 0x0304,
	/*
	 *	fix[64] signature	Ed25519 over HS_DESC_SIG_PREFIX | body
	 *	u64 audit_seq		its record number in the audit log
	 */

	/* 0x04xx: status. */
	PROTO_STATUS		= 0x0401,
	/*
	 * collector -> signer:
	 *	[u32 first]		index of the first service wanted;
	 *				absent means 0
	 */
	PROTO_STATUS_OK		= 0x0402,
	/*
	 * One page of at most PROTO_STATUS_PAGE services (a hosting signer
	 * has thousands: one reply could not hold them).  The collector
	 * asks again with first + n until it has all total.
	 *	u64 now			the signer's clock
	 *	u64 token_sigs		token signatures since start
	 *	u32 total		services configured
	 *	u32 first		index of the first entry below
	 *	u16 n, then n times:
	 *	  str service
	 *	  u8  state		PROTO_HORIZON_*
	 *	  u64 horizon		unix time after which it cannot sign
	 *				for this service (0: nothing usable)
	 *	  str warning		empty when state is PROTO_HORIZON_OK
	 */
};

/* Services per PROTO_STATUS_OK page: 128 entries of at most ~330 bytes
 * stay well under PROTO_MAX_PAYLOAD. */
#define PROTO_STATUS_PAGE	128

/* How long a revision counter from PROTO_DESC_PARAMS_OK stays valid. */
#define PROTO_REVISION_GRACE	600	/* seconds */

enum proto_reason {
	/* The connection is closed after these. */
	PROTO_R_MALFORMED	= 1,	/* framing or payload syntax */
	PROTO_R_VERSION		= 2,	/* another PROTO_VERSION */
	PROTO_R_ROLE		= 3,	/* the peer is not a collector */
	PROTO_R_NOT_PERMITTED	= 4,	/* type not allowed now (no HELLO) */
	PROTO_R_UNKNOWN_TYPE	= 5,
	PROTO_R_PEER		= 6,	/* SO_PEERCRED uid/gid not allowed */

	/* Policy: the request is refused, the connection stays. */
	PROTO_R_SERVICE		= 16,	/* not a configured service */
	PROTO_R_BACKEND		= 17,	/* not a backend of that service */
	PROTO_R_PERIOD		= 18,	/* tp is not live now */
	PROTO_R_NO_KEYS		= 19,	/* nothing provisioned for tp */
	PROTO_R_HORIZON		= 20,	/* past the provisioned horizon */
	PROTO_R_BACKEND_DESC	= 21,	/* backend descriptor fails checks */
	PROTO_R_INTRO		= 22,	/* intro point not verified by us, or
					   certs we did not issue */
	PROTO_R_TOO_MANY_INTRO	= 23,	/* > 20 */
	PROTO_R_TOO_LARGE	= 24,	/* descriptor size limit */
	PROTO_R_DESC		= 25,	/* body does not parse or decrypt */
	PROTO_R_CERT		= 26,	/* 08 cert is not ours for this hour */
	PROTO_R_REVISION	= 27,	/* counter stale, future or reused */
	PROTO_R_LIMIT		= 28,	/* a resource limit of the signer */

	/* The signer's own trouble. */
	PROTO_R_HSM		= 40,	/* the token failed as a whole (no
					   token, module, PIN, hung): every
					   service would fail alike */
	PROTO_R_AUDIT		= 41,	/* audit log not writable */
	PROTO_R_INTERNAL	= 42,
	PROTO_R_TOKEN_KEY	= 43,	/* the token answers, but this
					   service's key for tp failed
					   (gone, ambiguous, refused by
					   the token); the other services
					   are not affected.  A peer that
					   does not know it takes it as a
					   policy refusal (>= 16) */
};

#endif /* OB_PROTO_H */
