/*
 * The tor control port client; see torctl.h for the contract.
 *
 * One connection, a FIFO of commands awaiting replies, one output queue.
 * Authentication runs through the same FIFO as user commands, with
 * internal callbacks, so there is one path for every reply.
 */
#include "config.h"

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "buf.h"
#include "crypto.h"
#include "encode.h"
#include "err.h"
#include "log.h"
#include "torctl.h"

#define TORCTL_READ_CHUNK	65536
/* Read at most this much per torctl_process() so one busy tor cannot
 * starve the rest of the event loop. */
#define TORCTL_READ_BUDGET	(4 * 1024 * 1024)
#define TORCTL_CONNECT_TIMEOUT_MS 10000
#define TORCTL_COOKIE_MAX	64

/* control-spec 3.24: the two HMAC keys. */
static const char safecookie_s2c[] =
    "Tor safe cookie authentication server-to-controller hash";
static const char safecookie_c2s[] =
    "Tor safe cookie authentication controller-to-server hash";

struct pending {
	torctl_reply_cb		*cb;
	void			*arg;
	uint64_t		 end_pos;	/* stream offset after it */
	int64_t			 sent_ms;	/* fully written; 0: not yet */
	STAILQ_ENTRY(pending)	 entry;
};

struct torctl {
	/* configuration (copied) */
	char			*address;
	char			*password;
	char			*cookie_file;
	char			*events;
	enum torctl_auth	 auth;
	size_t			 max_out;
	unsigned		 backoff_min, backoff_max, cmd_timeout;
	struct sockaddr_storage	 sa;
	socklen_t		 salen;

	torctl_state_cb		*state_cb;
	torctl_event_cb		*event_cb;
	void			*cbarg;

	enum torctl_state	 state;
	int			 fd;
	int			 started;
	uint64_t		 gen;		/* bumped on every drop */
	unsigned		 backoff;	/* ms, for the next failure */
	int64_t			 next_ms;	/* DOWN: when to reconnect;
						 * CONNECTING: give up */
	struct torctl_parser	*parser;
	struct buf		*out;
	STAILQ_HEAD(, pending)	 pending;
	size_t			 npending;
	/*
	 * A command's timeout runs from when its last byte reached the
	 * socket, not from when it was queued: a long queue of HSPOSTs
	 * is not a wedged tor.  A queue that does not drain at all is
	 * (progress_ms).
	 */
	struct pending		*unsent;	/* first not fully written */
	uint64_t		 queued_total, written_total;
	int64_t			 progress_ms;

	/* authentication in progress */
	uint8_t			 cookie[TORCTL_COOKIE_LEN];
	uint8_t			 cnonce[TORCTL_NONCE_LEN];

	struct torctl_stats	 stats;
};

static void	torctl_drop(struct torctl *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static int	torctl_queue(struct torctl *, const void *, size_t,
		    torctl_reply_cb *, void *);

static int64_t
mono_ms(void)
{
	struct timespec	ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		fatal("%s: clock_gettime", __func__);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
torctl_safecookie_hmac(uint8_t out[TORCTL_HMAC_LEN], int server_to_ctl,
    const uint8_t cookie[TORCTL_COOKIE_LEN],
    const uint8_t cnonce[TORCTL_NONCE_LEN],
    const uint8_t snonce[TORCTL_NONCE_LEN])
{
	uint8_t		 msg[TORCTL_COOKIE_LEN + 2 * TORCTL_NONCE_LEN];
	const char	*key = server_to_ctl ? safecookie_s2c : safecookie_c2s;
	unsigned int	 outlen = 0;
	int		 r = OB_ERR_INTERNAL;

	memcpy(msg, cookie, TORCTL_COOKIE_LEN);
	memcpy(msg + TORCTL_COOKIE_LEN, cnonce, TORCTL_NONCE_LEN);
	memcpy(msg + TORCTL_COOKIE_LEN + TORCTL_NONCE_LEN, snonce,
	    TORCTL_NONCE_LEN);
	if (HMAC(EVP_sha256(), key, (int)strlen(key), msg, sizeof(msg), out,
	    &outlen) == NULL || outlen != TORCTL_HMAC_LEN)
		goto err;
	r = 0;
 err:
	ob_wipe(msg, sizeof(msg));
	return r;
}

/* "127.0.0.1:9051", "[::1]:9051", "unix:/path". */
static int
torctl_parse_address(struct torctl *tc, const char *addr)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)&tc->sa;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&tc->sa;
	struct sockaddr_un	*sun = (struct sockaddr_un *)&tc->sa;
	char			 host[64], *end;
	const char		*colon, *port;
	unsigned long		 p;
	size_t			 hlen;

	memset(&tc->sa, 0, sizeof(tc->sa));
	if (strncmp(addr, "unix:", 5) == 0) {
		if (strlen(addr + 5) == 0 ||
		    strlen(addr + 5) >= sizeof(sun->sun_path))
			goto bad;
		sun->sun_family = AF_UNIX;
		memcpy(sun->sun_path, addr + 5, strlen(addr + 5) + 1);
		tc->salen = sizeof(*sun);
		return 0;
	}
	if (addr[0] == '[') {
		if ((colon = strstr(addr, "]:")) == NULL)
			goto bad;
		hlen = (size_t)(colon - addr - 1);
		port = colon + 2;
		if (hlen == 0 || hlen >= sizeof(host))
			goto bad;
		memcpy(host, addr + 1, hlen);
	} else {
		if ((colon = strrchr(addr, ':')) == NULL)
			goto bad;
		hlen = (size_t)(colon - addr);
		port = colon + 1;
		if (hlen == 0 || hlen >= sizeof(host))
			goto bad;
		memcpy(host, addr, hlen);
	}
	host[hlen] = '\0';
	errno = 0;
	p = strtoul(port, &end, 10);
	if (*port == '\0' || *end != '\0' || errno != 0 || p == 0 ||
	    p > 65535)
		goto bad;
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)p);
		tc->salen = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)p);
		tc->salen = sizeof(*sin6);
		return 0;
	}
 bad:
	log_warnx("%s: bad control address \"%s\" (want ip:port, [ip6]:port "
	    "or unix:/path)", __func__, addr);
	return -1;
}

static char *
strdup_or_null(const char *s, int *fail)
{
	char	*d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		*fail = 1;
	return d;
}

struct torctl *
torctl_new(const struct torctl_config *conf, torctl_state_cb *state_cb,
    torctl_event_cb *event_cb, void *arg)
{
	struct torctl	*tc;
	int		 fail = 0;

	if (conf == NULL || conf->address == NULL)
		return NULL;
	if ((tc = calloc(1, sizeof(*tc))) == NULL)
		return NULL;
	tc->fd = -1;
	STAILQ_INIT(&tc->pending);
	tc->address = strdup_or_null(conf->address, &fail);
	tc->password = strdup_or_null(conf->password, &fail);
	tc->cookie_file = strdup_or_null(conf->cookie_file, &fail);
	tc->events = strdup_or_null(conf->events, &fail);
	if (fail)
		goto err;
	if (tc->events != NULL && strpbrk(tc->events, "\r\n") != NULL) {
		log_warnx("%s: event list contains a line break", __func__);
		goto err;
	}
	tc->auth = conf->auth;
	if (tc->auth == TORCTL_AUTH_HASHEDPASSWORD && tc->password == NULL) {
		log_warnx("%s: HASHEDPASSWORD needs a password", __func__);
		goto err;
	}
	tc->max_out = conf->max_out ? conf->max_out : TORCTL_MAX_OUT_DEFAULT;
	tc->backoff_min = conf->backoff_min_ms ? conf->backoff_min_ms :
	    TORCTL_BACKOFF_MIN_MS;
	tc->backoff_max = conf->backoff_max_ms ? conf->backoff_max_ms :
	    TORCTL_BACKOFF_MAX_MS;
	if (tc->backoff_max < tc->backoff_min)
		tc->backoff_max = tc->backoff_min;
	tc->backoff = tc->backoff_min;
	tc->cmd_timeout = conf->cmd_timeout_ms ? conf->cmd_timeout_ms :
	    TORCTL_CMD_TIMEOUT_MS;
	if (torctl_parse_address(tc, tc->address) == -1)
		goto err;
	if ((tc->parser = torctl_parser_new(conf->max_line,
	    conf->max_reply)) == NULL)
		goto err;
	if ((tc->out = buf_new(tc->max_out)) == NULL)
		goto err;
	tc->state_cb = state_cb;
	tc->event_cb = event_cb;
	tc->cbarg = arg;
	return tc;
 err:
	torctl_free(tc);
	return NULL;
}

/* Fail every command still waiting for a reply. */
static void
torctl_fail_pending(struct torctl *tc)
{
	struct pending	*p;

	tc->unsent = NULL;
	while ((p = STAILQ_FIRST(&tc->pending)) != NULL) {
		STAILQ_REMOVE_HEAD(&tc->pending, entry);
		tc->npending--;
		if (p->cb != NULL)
			p->cb(tc, NULL, p->arg);
		free(p);
	}
}

void
torctl_free(struct torctl *tc)
{
	if (tc == NULL)
		return;
	if (tc->fd != -1)
		close(tc->fd);
	tc->fd = -1;
	tc->gen++;
	tc->state_cb = NULL;
	torctl_fail_pending(tc);
	torctl_parser_free(tc->parser);
	buf_free(tc->out);
	free(tc->address);
	if (tc->password != NULL) {
		ob_wipe(tc->password, strlen(tc->password));
		free(tc->password);
	}
	free(tc->cookie_file);
	free(tc->events);
	ob_wipe(tc, sizeof(*tc));
	free(tc);
}

enum torctl_state
torctl_state(const struct torctl *tc)
{
	return tc->state;
}

void
torctl_stats(const struct torctl *tc, struct torctl_stats *st)
{
	*st = tc->stats;
	st->pending = tc->npending;
	st->outq = buf_len(tc->out);
}

static void
torctl_set_state(struct torctl *tc, enum torctl_state st, const char *why)
{
	tc->state = st;
	if (tc->state_cb != NULL && (st == TORCTL_READY || st == TORCTL_DOWN))
		tc->state_cb(tc, st, why, tc->cbarg);
}

/*
 * Close the connection, fail what is pending, and schedule a reconnect
 * after the back-off, which doubles on every failure until a connection
 * authenticates again.
 */
static void
torctl_drop(struct torctl *tc, const char *fmt, ...)
{
	char	why[256];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (tc->state == TORCTL_READY)
		tc->stats.disconnects++;
	log_warnx("torctl %s: %s; reconnecting in %u ms", tc->address, why,
	    tc->backoff);
	if (tc->fd != -1)
		close(tc->fd);
	tc->fd = -1;
	tc->gen++;
	torctl_parser_reset(tc->parser);
	buf_reset(tc->out);
	tc->queued_total = tc->written_total = 0;
	ob_wipe(tc->cookie, sizeof(tc->cookie));
	tc->next_ms = mono_ms() + tc->backoff;
	tc->backoff = tc->backoff > tc->backoff_max / 2 ? tc->backoff_max :
	    tc->backoff * 2;
	tc->state = TORCTL_DOWN;
	torctl_fail_pending(tc);
	torctl_set_state(tc, TORCTL_DOWN, why);
}

/* ------------------------------------------------------------------ */
/* Authentication                                                      */

static void	auth_protocolinfo_cb(struct torctl *,
		    const struct torctl_reply *, void *);
static void	auth_challenge_cb(struct torctl *,
		    const struct torctl_reply *, void *);
static void	auth_authenticate_cb(struct torctl *,
		    const struct torctl_reply *, void *);
static void	auth_setevents_cb(struct torctl *,
		    const struct torctl_reply *, void *);

/* Queue one internal command line (adds CRLF). */
static int
torctl_queue_line(struct torctl *tc, const char *line, torctl_reply_cb *cb)
{
	struct buf	*b;
	int		 r;

	if ((b = buf_new(strlen(line) + 3)) == NULL)
		return -1;
	if ((r = buf_put_str(b, line)) != 0 || (r = buf_put_str(b, "\r\n")))
		goto err;
	r = torctl_queue(tc, buf_ptr(b), buf_len(b), cb, NULL);
 err:
	buf_free(b);
	return r == 0 ? 0 : -1;
}

static int
read_cookie(struct torctl *tc, const char *path)
{
	struct stat	st;
	uint8_t		tmp[TORCTL_COOKIE_MAX];
	ssize_t		n;
	int		fd, rv = -1;

	if ((fd = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC)) == -1) {
		log_warn("%s: %s", __func__, path);
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size != TORCTL_COOKIE_LEN) {
		log_warnx("%s: %s is not a %d-byte cookie file", __func__,
		    path, TORCTL_COOKIE_LEN);
		goto err;
	}
	n = read(fd, tmp, sizeof(tmp));
	if (n != TORCTL_COOKIE_LEN) {
		log_warnx("%s: %s: short read", __func__, path);
		goto err;
	}
	memcpy(tc->cookie, tmp, TORCTL_COOKIE_LEN);
	rv = 0;
 err:
	ob_wipe(tmp, sizeof(tmp));
	close(fd);
	return rv;
}

static void
auth_begin(struct torctl *tc)
{
	tc->state = TORCTL_AUTHENTICATING;
	if (torctl_queue_line(tc, "PROTOCOLINFO 1", auth_protocolinfo_cb)
	    == -1)
		torctl_drop(tc, "cannot queue PROTOCOLINFO");
}

/* Is method m in the comma-separated METHODS list? */
static int
method_offered(const char *methods, const char *m)
{
	size_t		 n = strlen(m);
	const char	*s = methods;

	while (s != NULL && *s != '\0') {
		if (strncmp(s, m, n) == 0 && (s[n] == ',' || s[n] == '\0'))
			return 1;
		if ((s = strchr(s, ',')) != NULL)
			s++;
	}
	return 0;
}

static void
auth_protocolinfo_cb(struct torctl *tc, const struct torctl_reply *rp,
    void *arg)
{
	char			*methods = NULL, *cookiefile = NULL;
	char			 line[32 + 2 * TORCTL_NONCE_LEN + 1];
	char			 hex[2 * TORCTL_COOKIE_LEN + 1];
	char			*cmd = NULL;
	enum torctl_auth	 use = tc->auth;
	const char		*path;
	size_t			 i;
	struct buf		*b = NULL;

	if (rp == NULL)
		return;
	if (rp->code != 250) {
		torctl_drop(tc, "PROTOCOLINFO refused: %d %s", rp->code,
		    rp->lines[rp->nlines - 1].text);
		return;
	}
	for (i = 0; i < rp->nlines; i++) {
		if (strncmp(rp->lines[i].text, "AUTH ", 5) != 0)
			continue;
		if (torctl_kv_get(rp->lines[i].text + 5, "METHODS",
		    &methods) != 0) {
			torctl_drop(tc, "PROTOCOLINFO: AUTH without METHODS");
			goto out;
		}
		/* Absent unless a cookie method is offered; a malformed
		 * one only matters if we need it (then: "no cookie file"). */
		if (torctl_kv_get(rp->lines[i].text + 5, "COOKIEFILE",
		    &cookiefile) != 0)
			cookiefile = NULL;
		break;
	}
	if (methods == NULL) {
		torctl_drop(tc, "PROTOCOLINFO: no AUTH line");
		goto out;
	}
	if (use == TORCTL_AUTH_AUTO) {
		if (method_offered(methods, "SAFECOOKIE"))
			use = TORCTL_AUTH_SAFECOOKIE;
		else if (method_offered(methods, "HASHEDPASSWORD") &&
		    tc->password != NULL)
			use = TORCTL_AUTH_HASHEDPASSWORD;
		else if (method_offered(methods, "NULL"))
			use = TORCTL_AUTH_NULL;
		else if (method_offered(methods, "COOKIE"))
			use = TORCTL_AUTH_COOKIE;
		else {
			torctl_drop(tc, "no usable authentication method in "
			    "\"%s\"", methods);
			goto out;
		}
	} else {
		static const char *names[] = { "", "NULL", "HASHEDPASSWORD",
		    "COOKIE", "SAFECOOKIE" };

		if (!method_offered(methods, names[use])) {
			torctl_drop(tc, "tor does not offer %s (it offers %s)",
			    names[use], methods);
			goto out;
		}
	}
	if (use == TORCTL_AUTH_SAFECOOKIE || use == TORCTL_AUTH_COOKIE) {
		path = tc->cookie_file != NULL ? tc->cookie_file : cookiefile;
		if (path == NULL) {
			torctl_drop(tc, "no cookie file known");
			goto out;
		}
		if (read_cookie(tc, path) == -1) {
			torctl_drop(tc, "cannot read cookie file %s", path);
			goto out;
		}
	}
	switch (use) {
	case TORCTL_AUTH_SAFECOOKIE:
		if (ob_random(tc->cnonce, sizeof(tc->cnonce)) != 0 ||
		    hex_encode(hex, sizeof(hex), tc->cnonce,
		    sizeof(tc->cnonce), 1) != 0) {
			torctl_drop(tc, "cannot make a nonce");
			goto out;
		}
		snprintf(line, sizeof(line), "AUTHCHALLENGE SAFECOOKIE %s",
		    hex);
		if (torctl_queue_line(tc, line, auth_challenge_cb) == -1)
			torctl_drop(tc, "cannot queue AUTHCHALLENGE");
		goto out;
	case TORCTL_AUTH_COOKIE:
		if (hex_encode(hex, sizeof(hex), tc->cookie,
		    sizeof(tc->cookie), 1) != 0) {
			torctl_drop(tc, "cannot encode cookie");
			goto out;
		}
		if ((b = buf_new(0)) == NULL ||
		    buf_putf(b, "AUTHENTICATE %s", hex) != 0 ||
		    buf_dup_cstr(b, &cmd) != 0)
			break;
		ob_wipe(hex, sizeof(hex));
		goto send;
	case TORCTL_AUTH_HASHEDPASSWORD:
		/* Hex, so that no password character needs quoting. */
		if ((b = buf_new(0)) == NULL ||
		    buf_put_str(b, "AUTHENTICATE ") != 0)
			break;
		for (i = 0; tc->password[i] != '\0'; i++)
			if (buf_putf(b, "%02X",
			    (unsigned char)tc->password[i]) != 0)
				break;
		if (tc->password[i] != '\0' || buf_dup_cstr(b, &cmd) != 0)
			break;
		goto send;
	case TORCTL_AUTH_NULL:
	default:
		if ((cmd = strdup("AUTHENTICATE")) == NULL)
			break;
		goto send;
	}
	torctl_drop(tc, "out of memory during authentication");
	goto out;
 send:
	if (torctl_queue_line(tc, cmd, auth_authenticate_cb) == -1)
		torctl_drop(tc, "cannot queue AUTHENTICATE");
 out:
	(void)arg;
	if (cmd != NULL) {
		ob_wipe(cmd, strlen(cmd));
		free(cmd);
	}
	buf_free(b);
	free(methods);
	free(cookiefile);
}

static void
auth_challenge_cb(struct torctl *tc, const struct torctl_reply *rp,
    void *arg)
{
	uint8_t	 snonce[TORCTL_NONCE_LEN], shash[TORCTL_HMAC_LEN];
	uint8_t	 want[TORCTL_HMAC_LEN], mine[TORCTL_HMAC_LEN];
	char	 hex[2 * TORCTL_HMAC_LEN + 1];
	char	 line[16 + sizeof(hex)];
	char	*h = NULL, *n = NULL;
	const char *t;

	if (rp == NULL)
		return;
	t = rp->lines[rp->nlines - 1].text;
	if (rp->code != 250 || rp->nlines != 1 ||
	    strncmp(t, "AUTHCHALLENGE ", 14) != 0) {
		torctl_drop(tc, "AUTHCHALLENGE refused: %d %s", rp->code, t);
		goto out;
	}
	if (torctl_kv_get(t + 14, "SERVERHASH", &h) != 0 ||
	    torctl_kv_get(t + 14, "SERVERNONCE", &n) != 0 ||
	    strlen(h) != 2 * TORCTL_HMAC_LEN ||
	    strlen(n) != 2 * TORCTL_NONCE_LEN ||
	    hex_decode(shash, sizeof(shash), h, strlen(h)) != 0 ||
	    hex_decode(snonce, sizeof(snonce), n, strlen(n)) != 0) {
		torctl_drop(tc, "AUTHCHALLENGE: malformed reply");
		goto out;
	}
	if (torctl_safecookie_hmac(want, 1, tc->cookie, tc->cnonce,
	    snonce) != 0 ||
	    torctl_safecookie_hmac(mine, 0, tc->cookie, tc->cnonce,
	    snonce) != 0) {
		torctl_drop(tc, "AUTHCHALLENGE: HMAC failed");
		goto out;
	}
	/* The server proves it knows the cookie before we reveal anything
	 * derived from it: this is SAFECOOKIE's point. */
	if (!ob_ct_eq(want, shash, sizeof(want))) {
		torctl_drop(tc, "AUTHCHALLENGE: SERVERHASH does not match the "
		    "cookie (not our tor, or a stale cookie file)");
		goto out;
	}
	if (hex_encode(hex, sizeof(hex), mine, sizeof(mine), 1) != 0) {
		torctl_drop(tc, "AUTHCHALLENGE: encoding failed");
		goto out;
	}
	snprintf(line, sizeof(line), "AUTHENTICATE %s", hex);
	if (torctl_queue_line(tc, line, auth_authenticate_cb) == -1)
		torctl_drop(tc, "cannot queue AUTHENTICATE");
 out:
	(void)arg;
	ob_wipe(tc->cookie, sizeof(tc->cookie));
	ob_wipe(mine, sizeof(mine));
	free(h);
	free(n);
}

static void
torctl_become_ready(struct torctl *tc)
{
	tc->backoff = tc->backoff_min;
	tc->stats.connects++;
	log_info("torctl %s: connected and authenticated", tc->address);
	torctl_set_state(tc, TORCTL_READY, "authenticated");
}

static void
auth_authenticate_cb(struct torctl *tc, const struct torctl_reply *rp,
    void *arg)
{
	struct buf	*b;
	char		*cmd = NULL;

	(void)arg;
	ob_wipe(tc->cookie, sizeof(tc->cookie));
	if (rp == NULL)
		return;
	if (rp->code != 250) {
		torctl_drop(tc, "authentication failed: %d %s", rp->code,
		    rp->lines[rp->nlines - 1].text);
		return;
	}
	if (tc->events == NULL || tc->events[0] == '\0') {
		torctl_become_ready(tc);
		return;
	}
	if ((b = buf_new(0)) == NULL || buf_putf(b, "SETEVENTS %s",
	    tc->events) != 0 || buf_dup_cstr(b, &cmd) != 0 ||
	    torctl_queue_line(tc, cmd, auth_setevents_cb) == -1)
		torctl_drop(tc, "cannot queue SETEVENTS");
	buf_free(b);
	free(cmd);
}

static void
auth_setevents_cb(struct torctl *tc, const struct torctl_reply *rp,
    void *arg)
{
	(void)arg;
	if (rp == NULL)
		return;
	if (rp->code != 250) {
		torctl_drop(tc, "SETEVENTS %s refused: %d %s", tc->events,
		    rp->code, rp->lines[rp->nlines - 1].text);
		return;
	}
	torctl_become_ready(tc);
}

/* ------------------------------------------------------------------ */
/* Connection                                                          */

static void
torctl_connect(struct torctl *tc)
{
	int	fd;

	tc->next_ms = mono_ms() + TORCTL_CONNECT_TIMEOUT_MS;
	if ((fd = socket(tc->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1) {
		tc->state = TORCTL_CONNECTING;
		torctl_drop(tc, "socket: %s", strerror(errno));
		return;
	}
	tc->fd = fd;
	tc->state = TORCTL_CONNECTING;
	if (connect(fd, (struct sockaddr *)&tc->sa, tc->salen) == 0) {
		auth_begin(tc);
		return;
	}
	if (errno != EINPROGRESS) {
		torctl_drop(tc, "connect: %s", strerror(errno));
		return;
	}
}

void
torctl_start(struct torctl *tc)
{
	if (tc->started)
		return;
	tc->started = 1;
	torctl_connect(tc);
}

void
torctl_pollfd(const struct torctl *tc, struct pollfd *pfd)
{
	pfd->fd = tc->fd;
	pfd->events = 0;
	pfd->revents = 0;
	if (tc->fd == -1)
		return;
	if (tc->state == TORCTL_CONNECTING)
		pfd->events = POLLOUT;
	else {
		pfd->events = POLLIN;
		if (buf_len(tc->out) > 0)
			pfd->events |= POLLOUT;
	}
}

int
torctl_timeout(const struct torctl *tc)
{
	const struct pending	*p;
	int64_t			 now = mono_ms(), due = -1;

	if (!tc->started)
		return -1;
	if (tc->state == TORCTL_DOWN || tc->state == TORCTL_CONNECTING)
		due = tc->next_ms;
	else if ((p = STAILQ_FIRST(&tc->pending)) != NULL && p->sent_ms != 0)
		due = p->sent_ms + tc->cmd_timeout;
	else if (buf_len(tc->out) > 0)
		due = tc->progress_ms + tc->cmd_timeout;
	if (due == -1)
		return -1;
	if (due <= now)
		return 0;
	return due - now > INT_MAX ? INT_MAX : (int)(due - now);
}

/* Queue bytes with a reply callback; compacts the output queue. */
static int
torctl_queue(struct torctl *tc, const void *p, size_t n, torctl_reply_cb *cb,
    void *arg)
{
	struct pending	*pd;
	struct buf	*nb;

	if (tc->fd == -1)
		return -1;
	/* Written bytes stay at the front of the buffer until it is
	 * emptied; move the rest down once they dominate. */
	if (tc->out->off > 65536 && tc->out->off > buf_len(tc->out)) {
		if ((nb = buf_new(tc->max_out)) == NULL ||
		    buf_put(nb, buf_ptr(tc->out), buf_len(tc->out)) != 0) {
			buf_free(nb);
			return -1;
		}
		buf_free(tc->out);
		tc->out = nb;
	}
	if ((pd = calloc(1, sizeof(*pd))) == NULL)
		return -1;
	if (buf_put(tc->out, p, n) != 0) {
		log_warnx("torctl %s: output queue full (%zu bytes)",
		    tc->address, buf_len(tc->out));
		free(pd);
		return -1;
	}
	if (buf_len(tc->out) == n)	/* it was empty: the clock starts */
		tc->progress_ms = mono_ms();
	tc->queued_total += n;
	pd->cb = cb;
	pd->arg = arg;
	pd->end_pos = tc->queued_total;
	pd->sent_ms = 0;
	STAILQ_INSERT_TAIL(&tc->pending, pd, entry);
	if (tc->unsent == NULL)
		tc->unsent = pd;
	tc->npending++;
	tc->stats.commands++;
	return 0;
}

static void
torctl_dispatch(struct torctl *tc)
{
	struct torctl_reply	*rp;
	struct pending		*pd;
	uint64_t		 gen = tc->gen;

	while (tc->gen == gen && torctl_parser_next(tc->parser, &rp) == 1) {
		if (torctl_reply_is_event(rp)) {
			tc->stats.events++;
			if (tc->event_cb != NULL && tc->state == TORCTL_READY)
				tc->event_cb(tc, rp, tc->cbarg);
			torctl_reply_free(rp);
			continue;
		}
		if ((pd = STAILQ_FIRST(&tc->pending)) == NULL) {
			/* e.g. "514 Authentication required" before tor
			 * closes: nothing to match it with. */
			log_warnx("torctl %s: unexpected reply %d %s",
			    tc->address, rp->code,
			    rp->lines[rp->nlines - 1].text);
			torctl_reply_free(rp);
			continue;
		}
		STAILQ_REMOVE_HEAD(&tc->pending, entry);
		tc->npending--;
		if (tc->unsent == pd)	/* answered before fully sent? */
			tc->unsent = STAILQ_FIRST(&tc->pending);
		if (pd->cb != NULL)
			pd->cb(tc, rp, pd->arg);
		else if (rp->code / 100 != 2)
			log_warnx("torctl %s: command failed: %d %s",
			    tc->address, rp->code,
			    rp->lines[rp->nlines - 1].text);
		free(pd);
		torctl_reply_free(rp);
	}
}

static void
torctl_read(struct torctl *tc)
{
	uint8_t		buf[TORCTL_READ_CHUNK];
	size_t		total = 0;
	ssize_t		n;
	uint64_t	gen = tc->gen;
	int		r;

	while (tc->gen == gen && total < TORCTL_READ_BUDGET) {
		n = recv(tc->fd, buf, sizeof(buf), 0);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			torctl_drop(tc, "read: %s", strerror(errno));
			return;
		}
		if (n == 0) {
			torctl_drop(tc, "connection closed by tor");
			return;
		}
		total += (size_t)n;
		r = torctl_parser_feed(tc->parser, buf, (size_t)n);
		if (r != 0) {
			torctl_drop(tc, "bad reply from tor: %s",
			    ob_strerror(r));
			return;
		}
		torctl_dispatch(tc);
	}
}

static void
torctl_write(struct torctl *tc)
{
	ssize_t	n;

	while (buf_len(tc->out) > 0) {
		n = send(tc->fd, buf_ptr(tc->out), buf_len(tc->out),
		    MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			torctl_drop(tc, "write: %s", strerror(errno));
			return;
		}
		if (buf_consume(tc->out, (size_t)n) != 0)
			fatalx("%s: wrote more than queued", __func__);
		tc->written_total += (uint64_t)n;
		tc->progress_ms = mono_ms();
		while (tc->unsent != NULL &&
		    tc->unsent->end_pos <= tc->written_total) {
			tc->unsent->sent_ms = tc->progress_ms;
			tc->unsent = STAILQ_NEXT(tc->unsent, entry);
		}
	}
	buf_reset(tc->out);
}

void
torctl_process(struct torctl *tc, short revents)
{
	struct pending	*p;
	int64_t		 now;
	socklen_t	 len;
	int		 err;

	if (!tc->started)
		return;
	now = mono_ms();
	switch (tc->state) {
	case TORCTL_DOWN:
		if (now >= tc->next_ms)
			torctl_connect(tc);
		return;
	case TORCTL_CONNECTING:
		if (revents & (POLLOUT | POLLERR | POLLHUP)) {
			err = 0;
			len = sizeof(err);
			if (getsockopt(tc->fd, SOL_SOCKET, SO_ERROR, &err,
			    &len) == -1)
				err = errno;
			if (err != 0) {
				torctl_drop(tc, "connect: %s", strerror(err));
				return;
			}
			auth_begin(tc);
			break;
		}
		if (now >= tc->next_ms)
			torctl_drop(tc, "connect timed out");
		return;
	case TORCTL_AUTHENTICATING:
	case TORCTL_READY:
		if (revents & (POLLIN | POLLHUP | POLLERR))
			torctl_read(tc);
		break;
	}
	if (tc->fd == -1)
		return;
	if (buf_len(tc->out) > 0)
		torctl_write(tc);
	if (tc->fd == -1)
		return;
	now = mono_ms();
	if ((p = STAILQ_FIRST(&tc->pending)) != NULL && p->sent_ms != 0 &&
	    now - p->sent_ms >= (int64_t)tc->cmd_timeout)
		torctl_drop(tc, "no reply in %u ms", tc->cmd_timeout);
	else if (buf_len(tc->out) > 0 &&
	    now - tc->progress_ms >= (int64_t)tc->cmd_timeout)
		torctl_drop(tc, "tor read nothing in %u ms", tc->cmd_timeout);
}

/* ------------------------------------------------------------------ */
/* Commands                                                            */

int
torctl_send(struct torctl *tc, const char *cmd, torctl_reply_cb *cb,
    void *arg)
{
	struct buf	*b;
	int		 r;

	if (tc->state != TORCTL_READY)
		return -1;
	if (strpbrk(cmd, "\r\n") != NULL || cmd[0] == '\0') {
		log_warnx("%s: refusing a command with a line break",
		    __func__);
		return -1;
	}
	if ((b = buf_new(strlen(cmd) + 3)) == NULL)
		return -1;
	if ((r = buf_put_str(b, cmd)) == 0 &&
	    (r = buf_put_str(b, "\r\n")) == 0)
		r = torctl_queue(tc, buf_ptr(b), buf_len(b), cb, arg);
	buf_free(b);
	return r == 0 ? 0 : -1;
}

int
torctl_sendf(struct torctl *tc, torctl_reply_cb *cb, void *arg,
    const char *fmt, ...)
{
	char	*cmd;
	va_list	 ap;
	int	 r;

	va_start(ap, fmt);
	r = vasprintf(&cmd, fmt, ap);
	va_end(ap);
	if (r == -1)
		return -1;
	r = torctl_send(tc, cmd, cb, arg);
	free(cmd);
	return r;
}

int
torctl_setevents(struct torctl *tc, const char *events, torctl_reply_cb *cb,
    void *arg)
{
	char	*copy = NULL;

	if (events != NULL && strpbrk(events, "\r\n") != NULL)
		return -1;
	if (events != NULL && events[0] != '\0' &&
	    (copy = strdup(events)) == NULL)
		return -1;
	if (tc->state == TORCTL_READY &&
	    torctl_sendf(tc, cb, arg, "SETEVENTS%s%s", copy != NULL ? " " :
	    "", copy != NULL ? copy : "") == -1) {
		free(copy);
		return -1;
	}
	free(tc->events);
	tc->events = copy;
	return 0;
}

int
torctl_getinfo(struct torctl *tc, const char *key, torctl_reply_cb *cb,
    void *arg)
{
	if (strchr(key, ' ') != NULL || key[0] == '\0')
		return -1;
	return torctl_sendf(tc, cb, arg, "GETINFO %s", key);
}

static int
valid_onion(const char *a)
{
	size_t	i;

	if (strlen(a) != TORCTL_ADDR_LEN)
		return 0;
	for (i = 0; i < TORCTL_ADDR_LEN; i++)
		if (!((a[i] >= 'a' && a[i] <= 'z') ||
		    (a[i] >= '2' && a[i] <= '7')))
			return 0;
	return 1;
}

static int
put_servers(struct buf *b, const uint8_t (*servers)[TORCTL_FP_LEN],
    size_t n)
{
	char	hex[2 * TORCTL_FP_LEN + 1];
	size_t	i;
	int	r;

	for (i = 0; i < n; i++) {
		if ((r = hex_encode(hex, sizeof(hex), servers[i],
		    TORCTL_FP_LEN, 1)) != 0 ||
		    (r = buf_putf(b, " SERVER=$%s", hex)) != 0)
			return r;
	}
	return 0;
}

int
torctl_hsfetch(struct torctl *tc, const char *addr,
    const uint8_t (*servers)[TORCTL_FP_LEN], size_t nservers,
    torctl_reply_cb *cb, void *arg)
{
	struct buf	*b;
	int		 r = -1;

	if (tc->state != TORCTL_READY || !valid_onion(addr))
		return -1;
	if ((b = buf_new(0)) == NULL)
		return -1;
	if (buf_putf(b, "HSFETCH %s", addr) != 0 ||
	    put_servers(b, servers, nservers) != 0 ||
	    buf_put_str(b, "\r\n") != 0)
		goto err;
	r = torctl_queue(tc, buf_ptr(b), buf_len(b), cb, arg);
 err:
	buf_free(b);
	return r == 0 ? 0 : -1;
}

/*
 * Append desc as a CmdData body: CRLF line ends, a '.' doubled at the
 * start of a line, then "." CRLF.  A bare CR or NUL is refused: it
 * would change meaning on the way through tor.
 */
static int
put_dotted(struct buf *b, const uint8_t *d, size_t n)
{
	struct buf	in, line;
	size_t		k;
	int		r, had_nl;

	buf_init_ro(&in, d, n);
	while (buf_len(&in) > 0) {
		if ((r = buf_get_line(&in, n, &line, &had_nl)) != 0)
			return r;
		k = buf_len(&line);
		if (k > 0 && buf_ptr(&line)[k - 1] == '\r')
			k--;
		if (k > 0 && memchr(buf_ptr(&line), '\r', k) != NULL)
			return OB_ERR_FORMAT;
		if (k > 0 && buf_ptr(&line)[0] == '.' &&
		    (r = buf_put_u8(b, '.')) != 0)
			return r;
		if ((k > 0 && (r = buf_put(b, buf_ptr(&line), k)) != 0) ||
		    (r = buf_put_str(b, "\r\n")) != 0)
			return r;
	}
	return buf_put_str(b, ".\r\n");
}

int
torctl_hspost(struct torctl *tc, const char *addr,
    const uint8_t (*servers)[TORCTL_FP_LEN], size_t nservers,
    const uint8_t *desc, size_t desclen, torctl_reply_cb *cb, void *arg)
{
	struct buf	*b;
	int		 r = -1;

	if (tc->state != TORCTL_READY || !valid_onion(addr) ||
	    nservers == 0 || desclen == 0)
		return -1;
	if ((b = buf_new(tc->max_out)) == NULL)
		return -1;
	if (buf_put_str(b, "+HSPOST") != 0 ||
	    put_servers(b, servers, nservers) != 0 ||
	    buf_putf(b, " HSADDRESS=%s\r\n", addr) != 0)
		goto err;
	if ((r = put_dotted(b, desc, desclen)) != 0) {
		log_warnx("%s: descriptor for %s not postable: %s", __func__,
		    addr, ob_strerror(r));
		r = -1;
		goto err;
	}
	r = torctl_queue(tc, buf_ptr(b), buf_len(b), cb, arg);
 err:
	buf_free(b);
	return r == 0 ? 0 : -1;
}
