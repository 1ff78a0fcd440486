/*
 * Active health checks of the backends: a SOCKS5 CONNECT to
 * <backend>.onion through the local tor's SocksPort, one at a time per
 * backend, driven by the collector's poll loop.
 */

#include "config.h"

#include <sys/socket.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "collector.h"
#include "log.h"

static int
sockaddr_parse(struct sockaddr_storage *ss, socklen_t *len, const char *s)
{
	char		 host[64];
	const char	*colon;
	long		 port;
	char		*end;
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if ((colon = strrchr(s, ':')) == NULL ||
	    (size_t)(colon - s) >= sizeof(host))
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || port < 1 || port > 65535)
		return -1;
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		host[strlen(host) - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &sin6->sin6_addr) != 1)
			return -1;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*sin6);
		return 0;
	}
	if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
		return -1;
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	*len = sizeof(*sin);
	return 0;
}

/*
 * The end of a check.  HC_R_LOCAL: it failed on our side of tor's
 * SocksPort (no socket, tor not listening, refusing us, or closing on
 * us), which says nothing about the backend: not counted against it,
 * or every backend of the pool would be judged down together when only
 * the local tor is in trouble.
 */
void
collector_health_finish(struct collector *c, struct backend *b, int result,
    const char *why, time_t now)
{
	if (b->hc_fd != -1)
		close(b->hc_fd);
	b->hc_fd = -1;
	b->hc_phase = HC_IDLE;
	b->hc_next = now + c->cf.health_interval;
	if (result == HC_R_OK) {
		b->hc_failures = 0;
		b->hc_ever_ok = 1;
		b->hc_error[0] = '\0';
	} else if (result == HC_R_LOCAL) {
		(void)snprintf(b->hc_error, sizeof(b->hc_error),
		    "local tor: %s (not counted)", why);
		log_warnx("health check %s not made: %s", b->cf->addr, why);
	} else {
		b->hc_failures++;
		(void)snprintf(b->hc_error, sizeof(b->hc_error), "%s", why);
		log_info("health check %s failed (%u in a row): %s",
		    b->cf->addr, b->hc_failures, why);
	}
	backend_judge(c, b, now);
}

static unsigned
hc_port(const struct collector *c, size_t bidx)
{
	size_t	i, j;

	for (i = 0; i < c->cf.npools; i++) {
		if (c->cf.pools[i].health_port == 0)
			continue;
		for (j = 0; j < c->cf.pools[i].nbackends; j++)
			if (c->cf.pools[i].backends[j] == bidx)
				return c->cf.pools[i].health_port;
	}
	return c->cf.health_port;
}

void
collector_health_start(struct collector *c, struct backend *b, time_t now)
{
	struct sockaddr_storage	ss;
	socklen_t		len;
	int			fd;

	if (sockaddr_parse(&ss, &len, c->cf.socks) != 0) {
		collector_health_finish(c, b, HC_R_LOCAL, "bad socks-port",
		    now);
		return;
	}
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1) {
		log_warn("%s: socket", __func__);
		b->hc_next = now + c->cf.health_interval;
		return;
	}
	b->hc_fd = fd;
	b->hc_deadline = now + c->cf.health_timeout;
	if (connect(fd, (struct sockaddr *)&ss, len) == -1 &&
	    errno != EINPROGRESS) {
		collector_health_finish(c, b, HC_R_LOCAL,
		    "cannot reach tor's SocksPort", now);
		return;
	}
	b->hc_phase = HC_CONNECTING;
}

void
collector_health_io(struct collector *c, struct backend *b, short revents,
    time_t now)
{
	uint8_t		 req[128], rep[16];
	size_t		 n;
	ssize_t		 r;
	int		 err;
	socklen_t	 el = sizeof(err);
	unsigned	 port = hc_port(c, (size_t)(b - c->backends));

	if (revents & (POLLERR | POLLHUP) && b->hc_phase == HC_CONNECTING) {
		collector_health_finish(c, b, HC_R_LOCAL,
		    "cannot reach tor's SocksPort", now);
		return;
	}
	switch (b->hc_phase) {
	case HC_CONNECTING:
		if (!(revents & POLLOUT))
			return;
		if (getsockopt(b->hc_fd, SOL_SOCKET, SO_ERROR, &err, &el) ==
		    -1 || err != 0) {
			collector_health_finish(c, b, HC_R_LOCAL,
			    "cannot reach tor's SocksPort", now);
			return;
		}
		/* SOCKS5 (RFC 1928), no authentication. */
		if (write(b->hc_fd, "\x05\x01\x00", 3) != 3) {
			collector_health_finish(c, b, HC_R_LOCAL,
			    "SOCKS write failed", now);
			return;
		}
		b->hc_phase = HC_GREETING;
		return;
	case HC_GREETING:
		if (!(revents & (POLLIN | POLLHUP)))
			return;
		if ((r = read(b->hc_fd, rep, 2)) != 2 || rep[0] != 5 ||
		    rep[1] != 0) {
			collector_health_finish(c, b, HC_R_LOCAL,
			    "SOCKS greeting refused", now);
			return;
		}
		n = 0;
		req[n++] = 5; req[n++] = 1; req[n++] = 0; req[n++] = 3;
		req[n++] = HS_ADDR_LEN + 6;
		memcpy(req + n, b->cf->addr, HS_ADDR_LEN);
		n += HS_ADDR_LEN;
		memcpy(req + n, ".onion", 6);
		n += 6;
		req[n++] = (uint8_t)(port >> 8);
		req[n++] = (uint8_t)port;
		if (write(b->hc_fd, req, n) != (ssize_t)n) {
			collector_health_finish(c, b, HC_R_LOCAL,
			    "SOCKS write failed", now);
			return;
		}
		b->hc_phase = HC_REQUEST;
		return;
	case HC_REQUEST:
		if (!(revents & (POLLIN | POLLHUP)))
			return;
		/* VER REP: the rest of the reply does not matter. */
		if ((r = read(b->hc_fd, rep, 2)) != 2 || rep[0] != 5) {
			collector_health_finish(c, b, HC_R_LOCAL,
			    "SOCKS connection closed", now);
			return;
		}
		if (rep[1] != 0) {
			char why[48];

			/* Tor's extended codes: F0 desc not found, F2 intro
			 * failed, F3 rendezvous failed, ... */
			(void)snprintf(why, sizeof(why),
			    "SOCKS reply 0x%02x", rep[1]);
			collector_health_finish(c, b, HC_R_FAIL, why, now);
			return;
		}
		collector_health_finish(c, b, HC_R_OK, NULL, now);
		return;
	}
}
