/*
 * The local status socket and "obhsm-collector status [--json]".
 *
 * A client connects to the Unix socket, writes one line ("json" or
 * "text"), and reads the answer until the collector closes.  The socket
 * is created mode 0660 in a directory the operator controls; it tells
 * nothing a local administrator could not read from the logs, but it
 * does name the backends, so it is not world-readable.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "collector.h"
#include "encode.h"
#include "err.h"
#include "hsdir.h"
#include "log.h"
#include "proto.h"
#include "torctl.h"

/* ~7 kB per service with every detail: ask for one (status ADDR) when
 * there are thousands. */
#define STATUS_MAX		(128 * 1024 * 1024)
#define STATUS_IO_TIMEOUT	2000	/* ms */

static const char *
upload_name(int st)
{
	switch (st) {
	case UPLOAD_PENDING:	return "pending";
	case UPLOAD_OK:		return "uploaded";
	case UPLOAD_FAILED:	return "failed";
	}
	return "none";
}

/* JSON string: only our own ASCII text goes here, but escape anyway. */
static int
json_str(struct buf *b, const char *s)
{
	int	e;

	if ((e = buf_put_u8(b, '"')) != 0)
		return e;
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			e = buf_putf(b, "\\%c", ch);
		else if (ch < 0x20 || ch >= 0x7f)
			e = buf_putf(b, "\\u%04x", ch);
		else
			e = buf_put_u8(b, ch);
		if (e != 0)
			return e;
	}
	return buf_put_u8(b, '"');
}

static void
slot_counts(const struct desc_slot *sl, size_t cnt[4])
{
	size_t	k;

	memset(cnt, 0, 4 * sizeof(*cnt));
	for (k = 0; k < sl->nup; k++)
		if (sl->up[k].state <= UPLOAD_FAILED)
			cnt[sl->up[k].state]++;
}

static const char *
horizon_name(uint8_t st)
{
	switch (st) {
	case PROTO_HORIZON_OK:		return "ok";
	case PROTO_HORIZON_WARN:	return "warning";
	case PROTO_HORIZON_PAST:	return "past";
	}
	return "unknown";
}

/* What the signer made of pool member m's current descriptor. */
static const char *
verdict_name(const struct collector *c, const struct service *s, size_t m)
{
	const struct conf_pool	*p = &c->cf.pools[s->cf->pool];
	const struct backend	*bk = &c->backends[p->backends[m]];

	if (!bk->have_desc)
		return "none";
	if (s->verified_gen[m] == bk->gen)
		return "accepted";
	if (s->rejected_gen[m] == bk->gen)
		return "refused";
	if (s->sent_gen[m] == bk->gen)
		return "asked";
	return "not-sent";
}

static const char *
refusal(const struct service *s, size_t m)
{
	if (s->reject_detail == NULL || s->reject_detail[m] == NULL)
		return "";
	return s->reject_detail[m];
}

/* The pool member whose descriptor holds this intro point (and the
 * intro point in *ip), or NULL. */
static const struct backend *
intro_backend(const struct collector *c, const struct service *s,
    const uint8_t auth_key[ED25519_PK_LEN],
    const struct hs_intro_point **ip)
{
	const struct conf_pool	*p = &c->cf.pools[s->cf->pool];
	const struct backend	*bk;
	size_t			 j, k;

	for (j = 0; j < p->nbackends; j++) {
		bk = &c->backends[p->backends[j]];
		if (!bk->have_desc)
			continue;
		for (k = 0; k < bk->desc.n_intro; k++)
			if (memcmp(bk->desc.intro[k].auth_key_cert.
			    certified_key, auth_key, ED25519_PK_LEN) == 0) {
				*ip = &bk->desc.intro[k];
				return bk;
			}
	}
	return NULL;
}

static void
fp_hex(char out[2 * HS_RSA_ID_LEN + 1], const uint8_t *id)
{
	if (hex_encode(out, 2 * HS_RSA_ID_LEN + 1, id, HS_RSA_ID_LEN,
	    1) != 0)
		out[0] = '\0';
}

/* Per-service detail: its pool as the signer judged it, its horizon. */
static int
json_service_detail(struct buf *b, const struct collector *c,
    const struct service *s, time_t now)
{
	const struct conf_pool	*p = &c->cf.pools[s->cf->pool];
	const struct backend	*bk;
	size_t			 j;
	int			 e;

	if ((e = buf_put_str(b, ",\"backends\":[")) != 0)
		return e;
	for (j = 0; j < p->nbackends; j++) {
		bk = &c->backends[p->backends[j]];
		if ((e = buf_putf(b, "%s{\"address\":\"%s.onion\","
		    "\"state\":\"%s\",\"rule\":\"%s\","
		    "\"signer\":\"%s\",\"refusal\":", j == 0 ? "" : ",",
		    bk->cf->addr, bk->up ? "up" : "down",
		    backend_reason_name(bk->reason),
		    verdict_name(c, s, j))) != 0 ||
		    (e = json_str(b, refusal(s, j))) != 0 ||
		    (e = buf_put_u8(b, '}')) != 0)
			return e;
	}
	if ((e = buf_put_str(b, "],\"signer_horizon\":")) != 0)
		return e;
	if (!s->hz_known)
		e = buf_put_str(b, "null");
	else
		e = buf_putf(b, "{\"state\":\"%s\",\"horizon\":%llu,"
		    "\"left\":%lld,\"as_of\":%lld}", horizon_name(s->hz_state),
		    (unsigned long long)s->horizon,
		    (long long)((time_t)s->horizon - now),
		    (long long)s->hz_at);
	return e;
}

/* An intro point in use, as both renderers show it. */
struct intro_view {
	char			 key[64];	/* auth key, base64 */
	char			 hex[2 * HS_RSA_ID_LEN + 1];	/* relay */
	const struct backend	*bk;		/* NULL: backend gone */
};

/*
 * The relay comes from the backend descriptor that lists the intro
 * point (sets do not keep it): unknown (v->hex empty; JSON null) once
 * no backend of the pool lists it any more, until the republish that
 * this change makes due.
 */
static void
intro_view(struct intro_view *v, const struct collector *c,
    const struct service *s, const struct sel_set *set, size_t i)
{
	const struct hs_intro_point	*ip = NULL;
	struct sel_relay		 r;

	if (b64_encode(v->key, sizeof(v->key), set->auth_key[i],
	    ED25519_PK_LEN, 0) != 0)
		v->key[0] = '\0';
	v->bk = intro_backend(c, s, set->auth_key[i], &ip);
	if (v->bk != NULL &&
	    select_relay_id(&r, ip->linkspec, ip->linkspec_len) == 0)
		fp_hex(v->hex, r.rsa_id);
	else
		v->hex[0] = '\0';
}

static int
json_slot_detail(struct buf *b, const struct collector *c,
    const struct service *s, const struct desc_slot *sl)
{
	struct intro_view	v;
	size_t			k, i;
	int			e;

	if ((e = buf_put_str(b, ",\"intro_points_in_use\":[")) != 0)
		return e;
	for (k = 0; k < sl->nsets; k++)
		for (i = 0; i < sl->sets[k].n; i++) {
			intro_view(&v, c, s, &sl->sets[k], i);
			if ((e = buf_putf(b, "%s{\"set\":%zu,"
			    "\"auth_key\":\"%s\",\"relay\":%s%s%s,"
			    "\"backend\":", k + i == 0 ? "" : ",", k, v.key,
			    v.hex[0] != '\0' ? "\"" : "",
			    v.hex[0] != '\0' ? v.hex : "null",
			    v.hex[0] != '\0' ? "\"" : "")) != 0)
				return e;
			if (v.bk == NULL)
				e = buf_put_str(b, "null}");
			else
				e = buf_putf(b, "\"%s.onion\"}",
				    v.bk->cf->addr);
			if (e != 0)
				return e;
		}
	return buf_put_u8(b, ']');
}

/* Only the service "only" (56 characters, ".onion" optional), if set. */
static int
skip_service(const struct service *s, const char *only)
{
	return only != NULL && strncmp(s->cf->addr, only, HS_ADDR_LEN) != 0;
}

static int
render_json(struct buf *b, const struct collector *c, time_t now,
    const char *only)
{
	size_t		 i, j, k, cnt[4];
	int		 e = 0, w, first = 1;
	const char	*sep;

	if ((e = buf_putf(b, "{\"now\":%lld,\"uptime\":%lld,"
	    "\"tor\":{\"state\":\"%s\"",
	    (long long)now, (long long)(now - c->started),
	    c->tc != NULL && torctl_state(c->tc) == TORCTL_READY ? "ready" :
	    "down")) != 0)
		return e;
	if (c->view != NULL) {
		const struct hsdir_periods *p = hsdir_view_periods(c->view);

		if ((e = buf_putf(b, ",\"valid_after\":%lld,"
		    "\"period_length\":%llu,\"first_tp\":%llu,"
		    "\"second_tp\":%llu",
		    (long long)hsdir_view_valid_after(c->view),
		    (unsigned long long)p->period_len,
		    (unsigned long long)p->first.tp,
		    (unsigned long long)p->second.tp)) != 0)
			return e;
	}
	/* The token as the signer's refusals and the probes tell it. */
	if ((e = buf_putf(b, "},\"signer\":{\"state\":\"%s\","
	    "\"signatures\":%llu,\"token\":\"%s\",\"token_out_since\":%lld,"
	    "\"token_tries\":%llu,\"waiting_for_token\":%zu},"
	    "\"uploads\":{\"ok\":%llu,\"failed\":%llu},\"backends\":[",
	    c->sc != NULL && sc_ready(c->sc) ? "ready" : "down",
	    (unsigned long long)c->token_sigs,
	    c->token_out != 0 ? "out" : "in", (long long)c->token_out,
	    (unsigned long long)c->token_probes, c->token_waiting,
	    (unsigned long long)c->uploads_ok,
	    (unsigned long long)c->uploads_failed)) != 0)
		return e;
	for (i = 0; i < c->nbackends; i++) {
		const struct backend *bk = &c->backends[i];

		if ((e = buf_putf(b, "%s{\"address\":\"%s.onion\","
		    "\"state\":\"%s\",\"reason\":\"%s\",\"since\":%lld,"
		    "\"intro_points\":%zu,\"revision\":%llu,"
		    "\"last_fetch\":%lld,\"health_failures\":%u,\"error\":",
		    i == 0 ? "" : ",", bk->cf->addr, bk->up ? "up" : "down",
		    backend_reason_name(bk->reason), (long long)bk->since,
		    bk->have_desc ? bk->desc.n_intro : 0,
		    (unsigned long long)bk->revision,
		    (long long)bk->last_fetch_ok, bk->hc_failures)) != 0 ||
		    (e = json_str(b, bk->hc_error[0] != '\0' ? bk->hc_error :
		    bk->fetch_error)) != 0 ||
		    (e = buf_put_u8(b, '}')) != 0)
			return e;
	}
	if ((e = buf_put_str(b, "],\"services\":[")) != 0)
		return e;
	for (i = 0; i < c->nservices; i++) {
		const struct service *s = &c->services[i];

		if (skip_service(s, only))
			continue;
		sep = first ? "" : ",";
		first = 0;
		if ((e = buf_putf(b, "%s{\"address\":\"%s.onion\","
		    "\"policy\":\"%s\",\"descriptors\":[", sep,
		    s->cf->addr, s->cf->sel.policy == SEL_POLICY_STEADY ?
		    "steady" : "per-backend")) != 0)
			return e;
		for (w = 0; w < 2; w++) {
			const struct desc_slot *sl = &s->slot[w];
			size_t nip = 0, nb = 0;

			for (k = 0; k < sl->nsets; k++) {
				nip += sl->sets[k].n;
				nb += sl->sets[k].n_backends;
			}
			slot_counts(sl, cnt);
			if ((e = buf_putf(b, "%s{\"which\":\"%s\",\"tp\":%llu,"
			    "\"published\":%lld,\"next\":%lld,"
			    "\"revision\":%llu,\"descriptors\":%zu,"
			    "\"intro_points\":%zu,\"backends\":%zu,"
			    "\"hsdirs\":%zu,\"uploaded\":%zu,\"pending\":%zu,"
			    "\"failed\":%zu,\"flow_control\":%s,"
			    "\"waiting_for_token\":%s,\"error\":",
			    w == 0 ? "" : ",", w == 0 ? "first" : "second",
			    (unsigned long long)sl->tp,
			    (long long)sl->last_publish,
			    (long long)sl->next_publish,
			    (unsigned long long)sl->revision, sl->nsets, nip,
			    nb, sl->nup, cnt[UPLOAD_OK], cnt[UPLOAD_PENDING],
			    cnt[UPLOAD_FAILED], sl->nsets > 0 &&
			    sl->sets[0].flow_control ? "true" : "false",
			    sl->token_wait ? "true" : "false")) != 0 ||
			    (e = json_str(b, sl->error != NULL ? sl->error :
			    "")) != 0 ||
			    (e = buf_put_str(b, ",\"uploads\":[")) != 0)
				return e;
			for (j = 0; j < sl->nup; j++) {
				char hex[2 * HS_RSA_ID_LEN + 1];

				fp_hex(hex, sl->up[j].hsdir);
				if ((e = buf_putf(b, "%s{\"hsdir\":\"%s\","
				    "\"set\":%zu,\"state\":\"%s\","
				    "\"last\":%lld,\"attempts\":%u,"
				    "\"result\":", j == 0 ? "" : ",", hex,
				    (size_t)sl->up[j].set,
				    upload_name(sl->up[j].state),
				    (long long)sl->up[j].last_at,
				    sl->up[j].attempts)) != 0 ||
				    (e = json_str(b, upload_result_text(
				    sl->up[j].result))) != 0 ||
				    (e = buf_put_u8(b, '}')) != 0)
					return e;
			}
			if ((e = buf_put_u8(b, ']')) != 0 ||
			    (e = json_slot_detail(b, c, s, sl)) != 0 ||
			    (e = buf_put_u8(b, '}')) != 0)
				return e;
		}
		if ((e = buf_put_u8(b, ']')) != 0 ||
		    (e = json_service_detail(b, c, s, now)) != 0 ||
		    (e = buf_put_u8(b, '}')) != 0)
			return e;
	}
	return buf_put_str(b, "]}\n");
}

static int
text_service_detail(struct buf *b, const struct collector *c,
    const struct service *s, time_t now)
{
	const struct conf_pool	*p = &c->cf.pools[s->cf->pool];
	const struct backend	*bk;
	const char		*why;
	size_t			 j;
	int			 e;

	if (!s->hz_known)
		e = buf_put_str(b, "    signer horizon: not reported yet\n");
	else
		e = buf_putf(b, "    signer horizon: %s, %llds left\n",
		    horizon_name(s->hz_state),
		    (long long)((time_t)s->horizon - now));
	if (e != 0)
		return e;
	for (j = 0; j < p->nbackends; j++) {
		bk = &c->backends[p->backends[j]];
		why = refusal(s, j);
		if ((e = buf_putf(b, "    backend %s.onion  %-4s rule %-18s "
		    "signer %s%s%s\n", bk->cf->addr, bk->up ? "up" : "DOWN",
		    backend_reason_name(bk->reason), verdict_name(c, s, j),
		    why[0] != '\0' ? ": " : "", why)) != 0)
			return e;
	}
	return 0;
}

static int
text_slot_detail(struct buf *b, const struct collector *c,
    const struct service *s, const struct desc_slot *sl, time_t now)
{
	struct intro_view	 v;
	char			 hex[2 * HS_RSA_ID_LEN + 1];
	size_t			 k, i;
	int			 e;

	for (k = 0; k < sl->nsets; k++)
		for (i = 0; i < sl->sets[k].n; i++) {
			intro_view(&v, c, s, &sl->sets[k], i);
			e = buf_putf(b, "      intro %s via %s%s from %s%s\n",
			    v.key, v.hex[0] != '\0' ? "$" : "",
			    v.hex[0] != '\0' ? v.hex : "(relay unknown)",
			    v.bk != NULL ? v.bk->cf->addr :
			    "(backend gone)", v.bk != NULL ? ".onion" : "");
			if (e != 0)
				return e;
		}
	for (k = 0; k < sl->nup; k++) {
		fp_hex(hex, sl->up[k].hsdir);
		if (sl->up[k].last_at == 0)
			e = buf_putf(b, "      hsdir $%s  %s\n", hex,
			    upload_name(sl->up[k].state));
		else
			e = buf_putf(b, "      hsdir $%s  %s %llds ago%s%s\n",
			    hex, upload_name(sl->up[k].state),
			    (long long)(now - sl->up[k].last_at),
			    sl->up[k].result != 0 ? ": " : "",
			    upload_result_text(sl->up[k].result));
		if (e != 0)
			return e;
	}
	return 0;
}

static int
render_text(struct buf *b, const struct collector *c, time_t now,
    const char *only)
{
	size_t	i, k, cnt[4];
	char	when[32];
	int	e, w;

	if ((e = buf_putf(b, "tor: %s   signer: %s   signatures: %llu   "
	    "uploads ok/failed: %llu/%llu\n",
	    c->tc != NULL && torctl_state(c->tc) == TORCTL_READY ? "ready" :
	    "down", c->sc != NULL && sc_ready(c->sc) ? "ready" : "down",
	    (unsigned long long)c->token_sigs,
	    (unsigned long long)c->uploads_ok,
	    (unsigned long long)c->uploads_failed)) != 0)
		return e;
	if (c->token_out != 0 && (e = buf_putf(b, "signer's token: OUT for "
	    "%llds: publishing paused, %zu descriptor(s) waiting; tried "
	    "every %d s (%llu so far)\n", (long long)(now - c->token_out),
	    c->token_waiting, TOKEN_PROBE_INTERVAL,
	    (unsigned long long)c->token_probes)) != 0)
		return e;
	if ((e = buf_put_str(b, "\nbackends:\n")) != 0)
		return e;
	for (i = 0; i < c->nbackends; i++) {
		const struct backend *bk = &c->backends[i];

		if ((e = buf_putf(b, "  %s.onion  %-4s %-18s %2zu intro "
		    "points, for %llds\n", bk->cf->addr,
		    bk->up ? "up" : "DOWN", bk->up ? "" :
		    backend_reason_name(bk->reason),
		    bk->have_desc ? bk->desc.n_intro : 0,
		    (long long)(now - bk->since))) != 0)
			return e;
	}
	if ((e = buf_put_str(b, "\nservices:\n")) != 0)
		return e;
	for (i = 0; i < c->nservices; i++) {
		const struct service *s = &c->services[i];

		if (skip_service(s, only))
			continue;
		if ((e = buf_putf(b, "  %s.onion\n", s->cf->addr)) != 0 ||
		    (e = text_service_detail(b, c, s, now)) != 0)
			return e;
		for (w = 0; w < 2; w++) {
			const struct desc_slot *sl = &s->slot[w];
			size_t nip = 0;

			for (k = 0; k < sl->nsets; k++)
				nip += sl->sets[k].n;
			slot_counts(sl, cnt);
			if (sl->last_publish == 0)
				(void)snprintf(when, sizeof(when), "never");
			else
				(void)snprintf(when, sizeof(when), "%llds ago",
				    (long long)(now - sl->last_publish));
			if ((e = buf_putf(b, "    %-6s tp %-6llu %zu intro "
			    "points, published %s, HSDirs "
			    "%zu/%zu uploaded, %zu failed%s%s%s\n",
			    w == 0 ? "first" : "second",
			    (unsigned long long)sl->tp, nip, when,
			    cnt[UPLOAD_OK], sl->nup, cnt[UPLOAD_FAILED],
			    sl->token_wait ? "; waiting for the token" : "",
			    sl->error != NULL ? "; last error: " : "",
			    sl->error != NULL ? sl->error : "")) != 0 ||
			    (e = text_slot_detail(b, c, s, sl, now)) != 0)
				return e;
		}
	}
	return 0;
}

int
status_render(struct buf *b, const struct collector *c, int json,
    time_t now)
{
	return status_render_service(b, c, json, NULL, now);
}

int
status_render_service(struct buf *b, const struct collector *c, int json,
    const char *only, time_t now)
{
	if (only != NULL && collector_service_find(c, only) == NULL)
		return json ? buf_put_str(b, "{\"error\":\"no such service\"}"
		    "\n") : buf_put_str(b, "no such service\n");
	return json ? render_json(b, c, now, only) :
	    render_text(b, c, now, only);
}

int
status_listen(const char *path)
{
	struct sockaddr_un	sun;
	int			fd;
	mode_t			old;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (path == NULL || strlen(path) >= sizeof(sun.sun_path)) {
		log_warnx("%s: bad status socket path", __func__);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		log_warn("%s: socket", __func__);
		return -1;
	}
	if (unlink(path) == -1 && errno != ENOENT) {
		log_warn("%s: unlink %s", __func__, path);
		close(fd);
		return -1;
	}
	old = umask(0117);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		umask(old);
		log_warn("%s: bind %s", __func__, path);
		close(fd);
		return -1;
	}
	umask(old);
	if (listen(fd, 16) == -1) {
		log_warn("%s: listen", __func__);
		close(fd);
		return -1;
	}
	return fd;
}

/* Write all of p within the deadline; 0 or -1. */
static int
write_all(int fd, const uint8_t *p, size_t n, int timeout_ms)
{
	struct pollfd	pfd;
	ssize_t		w;

	while (n > 0) {
		pfd.fd = fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, timeout_ms) <= 0)
			return -1;
		if ((w = write(fd, p, n)) == -1) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

void
status_accept(struct collector *c, int lfd)
{
	struct pollfd	 pfd;
	struct buf	*b;
	char		 req[128], *sp, *only = NULL;
	ssize_t		 n;
	int		 fd, json = 0;

	if ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) ==
	    -1)
		return;
	/*
	 * XXX a slow client holds the loop for up to two timeouts; fine
	 * for a local admin tool, but a queue of clients would be better.
	 */
	pfd.fd = fd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, STATUS_IO_TIMEOUT) == 1 &&
	    (n = read(fd, req, sizeof(req) - 1)) > 0) {
		req[n] = '\0';
		req[strcspn(req, "\r\n")] = '\0';
		json = strncmp(req, "json", 4) == 0;
		if ((sp = strchr(req, ' ')) != NULL && sp[1] != '\0')
			only = sp + 1;
	}
	if ((b = buf_new(STATUS_MAX)) != NULL &&
	    status_render_service(b, c, json, only, time(NULL)) == 0)
		(void)write_all(fd, buf_ptr(b), buf_len(b), STATUS_IO_TIMEOUT);
	buf_free(b);
	close(fd);
}

int
status_client(const char *path, int json, const char *only)
{
	struct sockaddr_un	sun;
	char			buf[4096], req[128];
	ssize_t			n;
	int			fd, len;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_warnx("%s: path too long", path);
		return 1;
	}
	memcpy(sun.sun_path, path, strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		log_warn("status socket %s (is obhsm-collector running?)",
		    path);
		if (fd != -1)
			close(fd);
		return 1;
	}
	len = snprintf(req, sizeof(req), "%s%s%s\n", json ? "json" : "text",
	    only != NULL ? " " : "", only != NULL ? only : "");
	if (len < 0 || (size_t)len >= sizeof(req) ||
	    write(fd, req, (size_t)len) != len) {
		log_warn("%s", path);
		close(fd);
		return 1;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
			break;
	close(fd);
	return n == 0 && fflush(stdout) == 0 ? 0 : 1;
}
