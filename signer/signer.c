/*
 * obhsm-signer: start-up in the order STYLE.md gives (configuration,
 * directory checks, socket, audit log, privilege drop, token, state,
 * limits, seccomp), then one poll() loop serving collectors.
 *
 * Signals: SIGHUP reloads the configuration and the provisioned stores
 * without closing the token session; SIGTERM and SIGINT finish the
 * request in flight, flush replies for up to a second, and exit.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "crypto.h"
#include "err.h"
#include "hsm.h"
#include "log.h"
#include "msg.h"
#include "proto.h"
#include "sandbox.h"
#include "signer.h"
#include "usock.h"

/* Fairness between collectors, and the most requests one commit (one
 * fsync of the audit log and one of the floors) covers for one of them. */
#define SIGNER_MSGS_PER_TURN	32
#define SIGNER_HORIZON_SECS	3600	/* how often to repeat warnings */

/* No leak check at exit under seccomp: see sandbox.h. */
SANDBOX_SANITIZER_HOOK

static volatile sig_atomic_t	signer_quit;
static volatile sig_atomic_t	signer_reload;

static void
signer_sig(int sig)
{
	if (sig == SIGHUP)
		signer_reload = 1;
	else
		signer_quit = 1;
}

static void
usage(void)
{
	fprintf(stderr, "usage: obhsm-signer [-dnv] [-f config]\n"
	    "  -d  log to stderr even if syslog is configured\n"
	    "  -n  check the configuration and exit\n"
	    "  -v  more verbose (repeat for debug)\n");
	exit(2);
}

/*
 * The socket belongs to the collector's uid (and collector-gid when set),
 * as the man page says, so that it can connect; who may talk is still
 * decided by SO_PEERCRED on every connection.
 */
static int
signer_listen(const struct signer_conf *cf, gid_t gid)
{
	return usock_listen(cf->socket_path, cf->socket_mode,
	    cf->collector_uid, cf->collector_gid != (gid_t)-1 ?
	    cf->collector_gid : gid);
}

static void
signer_conn_close(struct signer_conn *c)
{
	if (c->mc.fd != -1)
		close(c->mc.fd);
	msg_conn_clear(&c->mc);
	memset(c, 0, sizeof(*c));
	c->mc.fd = -1;
}

/* Accept one collector, or refuse a peer that is not allowed. */
static void
signer_accept(struct signer *sg, int lfd, struct signer_conn *conns,
    size_t nconns)
{
	struct ucred	 cred;
	socklen_t	 len = sizeof(cred);
	struct signer_conn *c = NULL;
	size_t		 i;
	int		 fd;

	if ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) ==
	    -1) {
		if (errno != EAGAIN && errno != EINTR &&
		    errno != ECONNABORTED)
			log_warn("%s: accept", __func__);
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1) {
		log_warn("%s: SO_PEERCRED", __func__);
		close(fd);
		return;
	}
	for (i = 0; i < nconns; i++)
		if (conns[i].mc.fd == -1) {
			c = &conns[i];
			break;
		}
	if (c == NULL) {
		log_warnx("%s: too many collectors (max-clients %u); refused "
		    "pid %ld", __func__, sg->conf->max_clients,
		    (long)cred.pid);
		close(fd);
		return;
	}
	memset(c, 0, sizeof(*c));
	if (msg_conn_init(&c->mc, fd) == -1)
		fatal("%s", __func__);
	c->peer.uid = cred.uid;
	c->peer.gid = cred.gid;
	c->peer.pid = cred.pid;
	if (cred.uid != sg->conf->collector_uid ||
	    (sg->conf->collector_gid != (gid_t)-1 &&
	    cred.gid != sg->conf->collector_gid)) {
		log_warnx("%s: peer uid %lu gid %lu pid %ld is not the "
		    "collector; refused", __func__, (unsigned long)cred.uid,
		    (unsigned long)cred.gid, (long)cred.pid);
		signer_reply_error(c, 0, PROTO_R_PEER, "peer uid/gid not "
		    "allowed");
		(void)msg_conn_write(&c->mc);
		signer_conn_close(c);
		return;
	}
	log_debug("%s: collector pid %ld connected", __func__,
	    (long)cred.pid);
}

/* Read and answer what a collector sent.  -1: close it now. */
static int
signer_conn_input(struct signer *sg, struct signer_conn *c)
{
	struct msg	m;
	size_t		held;
	int		i, r;

	if ((r = msg_conn_read(&c->mc)) == 0) {
		log_debug("peer pid %ld closed", (long)c->peer.pid);
		return -1;
	}
	if (r == -1) {
		log_warn("peer pid %ld: read", (long)c->peer.pid);
		return -1;
	}
	for (i = 0; i < SIGNER_MSGS_PER_TURN && !c->closing; i++) {
		uint64_t	seq0 = audit_count(sg->audit);

		r = msg_conn_next(&c->mc, &m);
		if (r == 0) {
			/*
			 * The buffer holds about four descriptors: read
			 * again while the socket has more, so that one
			 * commit covers the turn.  End of file and errors
			 * are left to the next poll round, after this
			 * turn's replies.
			 */
			held = c->mc.in_len - c->mc.in_used;
			if (msg_conn_read(&c->mc) != 1 ||
			    c->mc.in_len == held ||
			    (r = msg_conn_next(&c->mc, &m)) == 0)
				break;
		}
		if (r < 0) {
			log_warnx("peer uid %lu pid %ld: bad frame: %s; "
			    "closing", (unsigned long)c->peer.uid,
			    (long)c->peer.pid, ob_strerror(r));
			signer_reply_error(c, 0, PROTO_R_MALFORMED,
			    ob_strerror(r));
			c->closing = 1;
			break;
		}
		if (signer_dispatch(sg, c, &m) == -1)
			c->closing = 1;
		if (audit_count(sg->audit) != seq0)
			c->uncommitted = 1;
	}
	/* Whole frames may be left in the buffer, where poll() cannot see
	 * them: the main loop comes back without waiting. */
	c->backlog = i == SIGNER_MSGS_PER_TURN && !c->closing;
	return 0;
}

/*
 * Group commit: one fsync of the audit log covers every signature made
 * in this poll round, by all collectors, and is done before any reply is
 * written; so are the revision floors raised in the round, with one
 * append and fsync of their journal (signer_floors_commit).  If either
 * fails, the replies that hold those signatures are thrown away with
 * their connections: a signature never leaves without its record and its
 * floor on disk.  After an audit failure the log stays closed and later
 * signing requests are refused with PROTO_R_AUDIT; after a floor failure
 * the next round rewrites the whole journal (common/floors.h).
 */
static void
signer_commit(struct signer *sg, struct signer_conn *conns, size_t n)
{
	size_t	i;
	int	ok = 1;

	if (signer_floors_commit(sg) == -1) {
		log_warnx("revision floors cannot be saved: withholding the "
		    "signatures of this round");
		ok = 0;
	}
	if (audit_pending(sg->audit) > 0 && audit_commit(sg->audit) == -1) {
		log_warnx("audit log cannot be synced: withholding the "
		    "signatures of this round and refusing to sign");
		ok = 0;
	}
	for (i = 0; i < n; i++) {
		if (!conns[i].uncommitted)
			continue;
		conns[i].uncommitted = 0;
		if (!ok) {
			log_warnx("peer pid %ld: closed without its replies",
			    (long)conns[i].peer.pid);
			signer_conn_close(&conns[i]);
		}
	}
}

/* Say loudly, at start and then hourly, when provisioning runs out. */
static void
signer_horizon_log(struct signer *sg)
{
	char		warning[PROTO_STR_MAX + 1];
	uint64_t	horizon;
	size_t		i;

	for (i = 0; i < sg->nservices; i++)
		if (signer_horizon(sg, &sg->services[i], &horizon, warning,
		    sizeof(warning)) != PROTO_HORIZON_OK)
			log_warnx("horizon: %s", warning);
}

/* Equal strings, NULL equal to NULL. */
static int
signer_str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static int
signer_reload_conf(struct signer *sg, const char *path)
{
	struct signer_conf	*ncf, *ocf = sg->conf;
	struct signer		 tmp;

	if (signer_conf_load(&ncf, path) == -1) {
		log_warnx("reload: configuration has errors; keeping the old "
		    "one");
		return -1;
	}
	if (!signer_str_eq(ncf->module, ocf->module) ||
	    !signer_str_eq(ncf->token_uri, ocf->token_uri) ||
	    !signer_str_eq(ncf->pin_source, ocf->pin_source) ||
	    ncf->hsm_timeout_ms != ocf->hsm_timeout_ms)
		log_warnx("reload: token settings change only on restart "
		    "(the session is kept)");
	if (strcmp(ncf->socket_path, ocf->socket_path) != 0 ||
	    strcmp(ncf->state_dir, ocf->state_dir) != 0 ||
	    strcmp(ncf->audit_path, ocf->audit_path) != 0 ||
	    ncf->period_len != ocf->period_len ||
	    ncf->rot_offset != ocf->rot_offset)
		log_warnx("reload: socket, state-dir, audit-log and period "
		    "settings change only on restart");
	/* Those keep their old values; so does the token session. */
	free(ncf->socket_path);
	free(ncf->state_dir);
	free(ncf->audit_path);
	if ((ncf->socket_path = strdup(ocf->socket_path)) == NULL ||
	    (ncf->state_dir = strdup(ocf->state_dir)) == NULL ||
	    (ncf->audit_path = strdup(ocf->audit_path)) == NULL)
		fatal("%s", __func__);
	ncf->period_len = ocf->period_len;
	ncf->rot_offset = ocf->rot_offset;
	tmp = *sg;
	tmp.conf = ncf;
	tmp.services = NULL;
	tmp.nservices = 0;
	/* Keys made since start (obhsm-keytool token-keys before a bundle
	 * import) are seen only after the index is read again. */
	if (hsm_index_load(sg->hsm, PROVISION_LABEL_PREFIX) == -1)
		log_warnx("reload: token: %s", hsm_last_error(sg->hsm));
	if (signer_state_load(&tmp) == -1) {
		signer_state_free(&tmp);
		signer_conf_free(ncf);
		log_warnx("reload: new state does not load; keeping the old "
		    "one");
		return -1;
	}
	signer_state_free(sg);
	signer_conf_free(ocf);
	sg->conf = ncf;
	sg->services = tmp.services;
	sg->nservices = tmp.nservices;
	log_info("reloaded %s: %zu services", path, sg->nservices);
	return 0;
}

static int
signer_audit_dir_check(const char *path, uid_t uid)
{
	char	tmp[PATH_MAX];

	if (strlen(path) >= sizeof(tmp))
		return -1;
	memcpy(tmp, path, strlen(path) + 1);
	return sandbox_check_dir(dirname(tmp), uid, 0);
}

int
main(int argc, char **argv)
{
	struct signer		 sg;
	struct signer_conn	*conns;
	struct hsm_config	 hc;
	struct pollfd		*pfd;
	struct sigaction	 sa;
	struct stat		 st;
	const char		*conffile = SIGNER_CONF_DEFAULT;
	time_t			 last_refresh, last_horizon;
	uid_t			 uid;
	gid_t			 gid;
	size_t			 i, n;
	int			 ch, debug = 0, verbose = 0, check = 0;
	int			 lfd, rv, backlog;

	while ((ch = getopt(argc, argv, "df:nv")) != -1) {
		switch (ch) {
		case 'd':
			debug = 1;
			break;
		case 'f':
			conffile = optarg;
			break;
		case 'n':
			check = 1;
			break;
		case 'v':
			verbose++;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	log_init("obhsm-signer", verbose, 0);
	if (ob_crypto_init() != 0)
		fatalx("crypto init failed");
	memset(&sg, 0, sizeof(sg));
	if (signer_conf_load(&sg.conf, conffile) == -1)
		exit(1);
	if (check) {
		fprintf(stderr, "configuration OK\n");
		exit(0);
	}
	log_init("obhsm-signer", verbose, sg.conf->use_syslog && !debug);

	/* 1. Who we will run as, and the directories we write. */
	uid = geteuid();
	gid = getegid();
	if (uid == 0 && sg.conf->user != NULL &&
	    sandbox_user(sg.conf->user, &uid, &gid) == -1)
		exit(1);
	if (sandbox_check_dir(sg.conf->state_dir, uid, 0) == -1 ||
	    signer_audit_dir_check(sg.conf->audit_path, uid) == -1)
		exit(1);
	/* Revision floors are written there after the drop. */
	if (stat(sg.conf->state_dir, &st) == -1 || st.st_uid != uid) {
		log_warnx("state-dir %s must be owned by uid %lu",
		    sg.conf->state_dir, (unsigned long)uid);
		exit(1);
	}

	/* 2. What needs the start-up identity: the socket and the log. */
	if ((lfd = signer_listen(sg.conf, gid)) == -1)
		exit(1);
	if (audit_open(&sg.audit, sg.conf->audit_path) == -1)
		exit(1);

	/* 3. Drop privileges; the token is opened as the signer user. */
	if (sandbox_drop(sg.conf->user) == -1)
		exit(1);
	memset(&hc, 0, sizeof(hc));
	hc.module = sg.conf->module;
	hc.uri = sg.conf->token_uri;
	hc.pin_source = sg.conf->pin_source;
	hc.timeout_ms = sg.conf->hsm_timeout_ms;
	hc.no_key_copies = !sg.conf->key_copies;
	hc.copy_check_s = SIGNER_COPY_CHECK_SECS;
	if ((sg.hsm = hsm_new(&hc)) == NULL)
		fatal("hsm_new");
	if (hsm_open(sg.hsm) == -1) {
		log_warnx("token: %s", hsm_last_error(sg.hsm));
		exit(1);
	}
	/* One enumeration of the token instead of a search per key (each
	 * a scan of the whole token with SoftHSM): start-up in O(keys). */
	if (hsm_index_load(sg.hsm, PROVISION_LABEL_PREFIX) == -1) {
		log_warnx("token: %s", hsm_last_error(sg.hsm));
		exit(1);
	}
	if (signer_state_load(&sg) == -1)
		exit(1);

	/* 4. Limits and the seccomp filter, last. */
	if (sandbox_limits(sg.conf->max_clients + 64) == -1 ||
	    sandbox_enter(SANDBOX_SIGNER, sg.conf->sandbox) == -1)
		exit(1);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = signer_sig;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGHUP, &sa, NULL) == -1 ||
	    sigaction(SIGTERM, &sa, NULL) == -1 ||
	    sigaction(SIGINT, &sa, NULL) == -1)
		fatal("sigaction");
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL) == -1)
		fatal("sigaction");

	n = sg.conf->max_clients;
	if ((conns = calloc(n, sizeof(*conns))) == NULL ||
	    (pfd = calloc(n + 1, sizeof(*pfd))) == NULL)
		fatal("calloc");
	for (i = 0; i < n; i++)
		conns[i].mc.fd = -1;
	log_info("ready on %s (%zu services, audit record %" PRIu64 ")",
	    sg.conf->socket_path, sg.nservices, audit_count(sg.audit));
	last_refresh = last_horizon = time(NULL);
	signer_horizon_log(&sg);

	while (!signer_quit) {
		if (sg.hung >= SIGNER_HUNG_MAX) {
			log_warnx("the token hung %u times in a row; exiting "
			    "so that the supervisor restarts the signer",
			    sg.hung);
			break;
		}
		if (signer_reload) {
			signer_reload = 0;
			(void)signer_reload_conf(&sg, conffile);
		}
		if (time(NULL) - last_refresh >= SIGNER_REFRESH_SECS) {
			last_refresh = time(NULL);
			if (signer_state_refresh(&sg) == -1)
				log_warnx("refreshing periods or their 08 "
				    "certs failed; will retry");
		}
		if (time(NULL) - last_horizon >= SIGNER_HORIZON_SECS) {
			last_horizon = time(NULL);
			signer_horizon_log(&sg);
		}
		pfd[0].fd = lfd;
		pfd[0].events = POLLIN;
		pfd[0].revents = 0;
		backlog = 0;
		for (i = 0; i < n; i++) {
			pfd[i + 1].fd = conns[i].mc.fd;
			pfd[i + 1].events = 0;
			pfd[i + 1].revents = 0;
			if (conns[i].mc.fd == -1)
				continue;
			/*
			 * No new input until the last turn's replies are
			 * out: a collector that does not read its replies
			 * is not given more work, and a turn's replies fit
			 * the output queue.
			 */
			if (!conns[i].closing &&
			    msg_conn_pending(&conns[i].mc) == 0) {
				pfd[i + 1].events |= POLLIN;
				backlog |= conns[i].backlog;
			}
			if (msg_conn_pending(&conns[i].mc) > 0)
				pfd[i + 1].events |= POLLOUT;
		}
		if (poll(pfd, n + 1, backlog ? 0 : 1000) == -1) {
			if (errno == EINTR)
				continue;
			fatal("poll");
		}
		if (pfd[0].revents & POLLIN)
			signer_accept(&sg, lfd, conns, n);
		/* Read and answer everything first, then commit once. */
		for (i = 0; i < n; i++) {
			struct signer_conn *c = &conns[i];

			if (c->mc.fd == -1 || pfd[i + 1].fd != c->mc.fd)
				continue;
			if (((pfd[i + 1].revents & (POLLIN | POLLHUP |
			    POLLERR)) || (c->backlog &&
			    (pfd[i + 1].events & POLLIN))) && !c->closing &&
			    signer_conn_input(&sg, c) == -1)
				signer_conn_close(c);
		}
		signer_commit(&sg, conns, n);
		for (i = 0; i < n; i++) {
			struct signer_conn *c = &conns[i];

			if (c->mc.fd == -1 || pfd[i + 1].fd != c->mc.fd)
				continue;
			if (msg_conn_write(&c->mc) == -1) {
				log_warn("peer pid %ld: write",
				    (long)c->peer.pid);
				signer_conn_close(c);
				continue;
			}
			if (c->closing && msg_conn_pending(&c->mc) == 0)
				signer_conn_close(c);
			else if (c->closing && (pfd[i + 1].revents &
			    (POLLHUP | POLLERR)))
				signer_conn_close(c);
		}
	}

	log_info("exiting");
	rv = sg.hung >= SIGNER_HUNG_MAX ? 3 : 0;
	signer_commit(&sg, conns, n);
	for (i = 0; i < n; i++)
		if (conns[i].mc.fd != -1) {
			(void)msg_conn_flush(&conns[i].mc, 1000);
			signer_conn_close(&conns[i]);
		}
	close(lfd);
	(void)unlink(sg.conf->socket_path);
	signer_state_free(&sg);
	signer_ipool_free(&sg);
	signer_floors_close(&sg);
	hsm_free(sg.hsm);
	audit_close(sg.audit);
	signer_conf_free(sg.conf);
	free(conns);
	free(pfd);
	return rv;
}
