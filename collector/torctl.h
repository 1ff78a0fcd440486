/*
 * The collector's tor control port client (torspec control-spec).
 *
 * One struct torctl is one connection to one tor, driven by the
 * collector's single-threaded poll() loop: nothing here blocks, sleeps or
 * starts a thread.  It connects (TCP or Unix socket), authenticates
 * (PROTOCOLINFO, then SAFECOOKIE, COOKIE, HASHEDPASSWORD or NULL),
 * subscribes to the configured events, and then carries commands.  When
 * tor goes away it reconnects with exponential back-off, authenticates and
 * subscribes again; the caller hears about it through the state callback.
 *
 * Replies are matched to commands in the order the commands were sent
 * (tor answers in order); each command carries its own completion
 * callback.  Asynchronous "650" replies go to the event callback.
 *
 * Everything tor sends is parsed by one bounded, incremental parser
 * (torctl_parse.c), on common/buf.h, with caps on line length and on the
 * size of a reply.  A reply that breaks the grammar or a cap ends the
 * connection (it cannot be resynchronised); it never crashes anything.
 *
 * The parser half (torctl_parse.c) is usable on its own (tests, fuzzing).
 */
#ifndef OB_TORCTL_H
#define OB_TORCTL_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#define TORCTL_FP_LEN		20	/* RSA identity digest (SERVER=) */
#define TORCTL_BLINDED_LEN	32	/* ed25519 blinded key (DescId) */
#define TORCTL_ADDR_LEN		56	/* v3 onion address, no ".onion" */
#define TORCTL_COOKIE_LEN	32	/* control_auth_cookie */
#define TORCTL_NONCE_LEN	32	/* SAFECOOKIE client/server nonces */
#define TORCTL_HMAC_LEN		32

/* Defaults for struct torctl_config fields left 0. */
#define TORCTL_MAX_LINE_DEFAULT	(64 * 1024)
#define TORCTL_MAX_REPLY_DEFAULT (16 * 1024 * 1024)	/* md/all, consensus */
#define TORCTL_MAX_OUT_DEFAULT	(32 * 1024 * 1024)
#define TORCTL_BACKOFF_MIN_MS	250
#define TORCTL_BACKOFF_MAX_MS	30000
#define TORCTL_CMD_TIMEOUT_MS	120000

/* ------------------------------------------------------------------ */
/* torctl_parse.c: replies                                             */

/*
 * One line of a reply.  sep is '-' (mid-reply), '+' (data follows) or
 * ' ' (the last line).  text is the rest of the line after the separator,
 * NUL-terminated, CRLF removed.  For '+' lines, data holds the body with
 * CRLF turned back into LF, the leading '.' of dot-stuffed lines removed
 * and the terminating "." line dropped; every body line, the last one
 * included, ends in LF (an empty body has datalen 0).  data is
 * NUL-terminated too (lines with NUL bytes are refused).
 */
struct torctl_line {
	int		 code;
	char		 sep;
	char		*text;
	uint8_t		*data;
	size_t		 datalen;
};

/* A complete reply: code is the status code shared by all its lines. */
struct torctl_reply {
	int			 code;
	size_t			 nlines;
	struct torctl_line	*lines;
};

void	torctl_reply_free(struct torctl_reply *);	/* NULL ok */
/* 1 if this is an asynchronous event (status 650), else 0. */
int	torctl_reply_is_event(const struct torctl_reply *);
/*
 * The first keyword of an event ("HS_DESC", "STATUS_CLIENT", ...) copied
 * into out (size outlen); returns 0 or a negative enum ob_err.
 */
int	torctl_event_name(char *, size_t, const struct torctl_reply *)
	    __attribute__((warn_unused_result));

/*
 * The incremental reply parser.  max_line caps a single line (status
 * lines and data lines alike, without CRLF), max_reply the total bytes
 * of one reply (text and bodies); 0 picks the defaults above.
 */
struct torctl_parser;
struct torctl_parser *torctl_parser_new(size_t max_line, size_t max_reply);
void	torctl_parser_free(struct torctl_parser *);	/* NULL ok */
/* Forget any partial reply and queued replies (after a reconnect). */
void	torctl_parser_reset(struct torctl_parser *);
/*
 * Feed bytes exactly as read from the socket, in pieces of any size.
 * Returns 0, or a negative enum ob_err when the stream is malformed
 * (OB_ERR_FORMAT), over a cap (OB_ERR_TOO_LARGE) or memory ran out; after
 * an error the parser refuses further input until torctl_parser_reset().
 * Line ends must be CRLF; a bare LF is accepted, a bare CR is data.
 */
int	torctl_parser_feed(struct torctl_parser *, const void *, size_t)
	    __attribute__((warn_unused_result));
/*
 * Take the oldest complete reply: returns 1 and sets *out (the caller
 * frees it), or 0 if none is complete yet.
 */
int	torctl_parser_next(struct torctl_parser *, struct torctl_reply **);

/*
 * Key=value lookup in a reply line's text, as control-spec 2.1 writes
 * them (Key=Value or Key="quoted \"string\""); returns the value (malloc'd,
 * unquoted and unescaped) in *out.  OB_ERR_MISSING if the key is absent.
 */
int	torctl_kv_get(const char *text, const char *key, char **out)
	    __attribute__((warn_unused_result));
/*
 * GETINFO answer for one key: "250-key=value" or a "250+key=" data line.
 * Returns the value in *val (pointing into the reply; not NUL-terminated
 * for data lines: use *vallen).
 */
int	torctl_getinfo_value(const struct torctl_reply *, const char *key,
	    const uint8_t **val, size_t *vallen)
	    __attribute__((warn_unused_result));

/* Events ------------------------------------------------------------ */

enum torctl_hs_action {
	TORCTL_HS_REQUESTED,
	TORCTL_HS_UPLOAD,
	TORCTL_HS_RECEIVED,
	TORCTL_HS_UPLOADED,
	TORCTL_HS_IGNORE,
	TORCTL_HS_FAILED,
	TORCTL_HS_CREATED,
};

/*
 * "650 HS_DESC Action HSAddress AuthType HsDir [DescId] [REASON=]
 * [REPLICA=] [HSDIR_INDEX=]" (control-spec 4.1.25).  Fields tor leaves
 * "UNKNOWN" or omits have their has_ flag 0.  UPLOADED events carry no
 * DescId, so the two live descriptors are told apart by hsdir alone.
 */
struct torctl_hs_desc {
	enum torctl_hs_action	action;
	int		has_address;
	char		address[TORCTL_ADDR_LEN + 1];
	int		has_hsdir;
	uint8_t		hsdir[TORCTL_FP_LEN];
	int		has_blinded;
	uint8_t		blinded[TORCTL_BLINDED_LEN];
	/* "" when absent; else e.g. NOT_FOUND */
	char		reason[32];
	int		has_hsdir_index;
	uint8_t		hsdir_index[32];
};
int	torctl_parse_hs_desc(struct torctl_hs_desc *,
	    const struct torctl_reply *)
	    __attribute__((warn_unused_result));

/*
 * "650+HS_DESC_CONTENT HSAddress DescId HsDir" + body (control-spec
 * 4.1.26).  body/bodylen point into the reply (LF line ends, dot-stuffing
 * undone: the exact text the descriptor signature covers); bodylen 0
 * means the fetch failed (tor 0.4.9 then sends one empty line, and the
 * real onion address, not "UNKNOWN" as control-spec says).
 */
struct torctl_hs_desc_content {
	int		 has_address;
	char		 address[TORCTL_ADDR_LEN + 1];
	int		 has_blinded;
	uint8_t		 blinded[TORCTL_BLINDED_LEN];
	int		 has_hsdir;
	uint8_t		 hsdir[TORCTL_FP_LEN];
	const uint8_t	*body;
	size_t		 bodylen;
};
int	torctl_parse_hs_desc_content(struct torctl_hs_desc_content *,
	    const struct torctl_reply *)
	    __attribute__((warn_unused_result));

/*
 * "650 STATUS_CLIENT|STATUS_GENERAL|STATUS_SERVER Severity Action
 * [args]" (control-spec 4.1.10).  action is e.g. "CONSENSUS_ARRIVED";
 * args points into the reply ("" if none).
 */
struct torctl_status {
	char		 type[16];	/* "STATUS_CLIENT" ... */
	char		 severity[8];	/* "NOTICE", "WARN", "ERR" */
	char		 action[48];
	const char	*args;
};
int	torctl_parse_status(struct torctl_status *,
	    const struct torctl_reply *)
	    __attribute__((warn_unused_result));

/*
 * 1 if the event says a new consensus is in: "650 STATUS_CLIENT NOTICE
 * CONSENSUS_ARRIVED" or "650+NEWCONSENSUS" (either subscription works);
 * time to rebuild the hsdir view.
 */
int	torctl_event_is_new_consensus(const struct torctl_reply *);

/* ------------------------------------------------------------------ */
/* torctl.c: SAFECOOKIE (control-spec 3.24)                            */

/* HMAC-SHA256(key = the server-to-controller or controller-to-server
 * constant, cookie | client nonce | server nonce). */
int	torctl_safecookie_hmac(uint8_t [TORCTL_HMAC_LEN], int server_to_ctl,
	    const uint8_t cookie[TORCTL_COOKIE_LEN],
	    const uint8_t cnonce[TORCTL_NONCE_LEN],
	    const uint8_t snonce[TORCTL_NONCE_LEN])
	    __attribute__((warn_unused_result));

/* ------------------------------------------------------------------ */
/* torctl.c: the client                                                */

enum torctl_auth {
	/* The best that PROTOCOLINFO offers and we can do: SAFECOOKIE,
	 * then HASHEDPASSWORD if a password is configured, then NULL,
	 * then COOKIE. */
	TORCTL_AUTH_AUTO = 0,
	TORCTL_AUTH_NULL,
	TORCTL_AUTH_HASHEDPASSWORD,
	TORCTL_AUTH_COOKIE,
	TORCTL_AUTH_SAFECOOKIE,
};

enum torctl_state {
	TORCTL_DOWN = 0,	/* not connected; waiting out the back-off */
	TORCTL_CONNECTING,	/* connect() in progress */
	TORCTL_AUTHENTICATING,	/* PROTOCOLINFO .. AUTHENTICATE .. SETEVENTS */
	TORCTL_READY,		/* commands may be sent */
};

struct torctl_config {
	/* "127.0.0.1:9051", "[::1]:9051" or "unix:/path/control".  Numeric
	 * addresses only: nothing here resolves names (it would block). */
	const char	*address;
	enum torctl_auth auth;
	const char	*password;	/* HASHEDPASSWORD */
	/* overrides PROTOCOLINFO's COOKIEFILE */
	const char	*cookie_file;
	/* Space-separated event names, subscribed on every (re)connect,
	 * e.g. "HS_DESC HS_DESC_CONTENT STATUS_CLIENT"; NULL for none. */
	const char	*events;
	size_t		 max_line;	/* 0: TORCTL_MAX_LINE_DEFAULT */
	size_t		 max_reply;	/* 0: TORCTL_MAX_REPLY_DEFAULT */
	size_t		 max_out;	/* 0: TORCTL_MAX_OUT_DEFAULT */
	unsigned	 backoff_min_ms; /* 0: TORCTL_BACKOFF_MIN_MS */
	unsigned	 backoff_max_ms; /* 0: TORCTL_BACKOFF_MAX_MS */
	/* A command unanswered this long after its last byte was
	 * written, or an output queue tor has not read from for this long,
	 * means tor is wedged or out of step: the connection is dropped.
	 * 0: TORCTL_CMD_TIMEOUT_MS. */
	unsigned	 cmd_timeout_ms;
};

struct torctl;

/*
 * Called with each command's reply, in order.  reply is NULL when the
 * connection was lost (or torctl_free() ran) before the reply came; the
 * command may or may not have reached tor.  reply is freed after the
 * callback returns.
 */
typedef void	 torctl_reply_cb(struct torctl *,
		    const struct torctl_reply *, void *arg);
/* Each asynchronous event (status 650). */
typedef void	 torctl_event_cb(struct torctl *,
		    const struct torctl_reply *, void *arg);
/*
 * State changes: READY after authentication and SETEVENTS succeeded
 * (on the first connect and after every reconnect: refetch whatever
 * state depends on tor, e.g. the consensus); DOWN when the connection
 * is lost, with a reason for the log.
 */
typedef void	 torctl_state_cb(struct torctl *, enum torctl_state,
		    const char *why, void *arg);

/*
 * New client; it copies the config strings (and the password; freed and
 * wiped by torctl_free()).  Nothing happens until torctl_start().
 * Returns NULL on a bad address or out of memory.
 */
struct torctl	*torctl_new(const struct torctl_config *,
		    torctl_state_cb *, torctl_event_cb *, void *arg);
/* Pending callbacks run with reply NULL; then the state callback no
 * more.  NULL ok.  Must not be called from inside a torctl callback. */
void		 torctl_free(struct torctl *);
/* Start connecting (at once, no back-off). */
void		 torctl_start(struct torctl *);
enum torctl_state torctl_state(const struct torctl *);

/*
 * Poll-loop integration.  Each turn of the loop:
 *	torctl_pollfd(tc, &pfds[i]);		fd -1 when there is none
 *	timeout = min(timeout, torctl_timeout(tc));	-1: no timer
 *	poll(...);
 *	torctl_process(tc, pfds[i].revents);	always, even with 0
 * torctl_process() does the reads, writes, timers, reconnects, and runs
 * the callbacks (which may send further commands).
 */
void		 torctl_pollfd(const struct torctl *, struct pollfd *);
int		 torctl_timeout(const struct torctl *);
void		 torctl_process(struct torctl *, short revents);

/*
 * Commands.  Each returns 0 once the command is queued, or -1 if it
 * cannot be (not READY, a malformed argument, the output queue is over
 * max_out); then cb is not called.  cmd is one line without CRLF; it
 * must not contain CR or LF.  cb may be NULL (the reply is dropped, but
 * a non-2xx one is logged).
 */
int	torctl_send(struct torctl *, const char *cmd, torctl_reply_cb *,
	    void *arg) __attribute__((warn_unused_result));
int	torctl_sendf(struct torctl *, torctl_reply_cb *, void *arg,
	    const char *, ...)
	    __attribute__((format(printf, 4, 5), warn_unused_result));
/*
 * Change the event subscription: remembered for every later reconnect
 * (like config->events) and, when READY, sent now as "SETEVENTS ...".
 * events may be NULL or "" for none.  cb gets the SETEVENTS reply if it
 * was sent now, else it is not called.  Returns -1 on a line break in
 * events, out of memory or a full queue (the old subscription stays).
 */
int	torctl_setevents(struct torctl *, const char *events,
	    torctl_reply_cb *, void *arg) __attribute__((warn_unused_result));
/* "GETINFO key"; read the answer with torctl_getinfo_value(). */
int	torctl_getinfo(struct torctl *, const char *key, torctl_reply_cb *,
	    void *arg) __attribute__((warn_unused_result));
/*
 * "HSFETCH addr SERVER=$fp ..."; nservers may be 0 (tor picks).  The
 * reply is 250 OK at once; the descriptor comes as HS_DESC and
 * HS_DESC_CONTENT events.
 */
int	torctl_hsfetch(struct torctl *, const char *addr,
	    const uint8_t (*servers)[TORCTL_FP_LEN], size_t nservers,
	    torctl_reply_cb *, void *arg)
	    __attribute__((warn_unused_result));
/*
 * "+HSPOST SERVER=$fp ... HSADDRESS=addr" with desc (LF or CRLF line
 * ends) as the dot-stuffed CRLF body.  nservers must be at least 1 (see
 * tor-v3-notes 4.3: without SERVER= tor picks the wrong HSDirs for the
 * second descriptor).  Reply: 250 OK, 552 unknown server, 554 invalid
 * descriptor.
 */
int	torctl_hspost(struct torctl *, const char *addr,
	    const uint8_t (*servers)[TORCTL_FP_LEN], size_t nservers,
	    const uint8_t *desc, size_t desclen, torctl_reply_cb *, void *arg)
	    __attribute__((warn_unused_result));

/* Statistics for the status page. */
struct torctl_stats {
	uint64_t	connects;	/* successful authentications */
	uint64_t	disconnects;
	uint64_t	commands;
	uint64_t	events;
	size_t		pending;	/* commands awaiting a reply */
	size_t		outq;		/* bytes waiting to be written */
};
void	torctl_stats(const struct torctl *, struct torctl_stats *);

#endif /* OB_TORCTL_H */
