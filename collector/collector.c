/*
 * obhsm-collector: main, runtime state, the single-threaded poll() loop,
 * and the scheduling of consensus loads, backend fetches, health checks
 * and signer verification.  Publishing is in publish.c, intro point
 * choice in select.c, the status socket in status.c.
 *
 * Nothing here blocks: tor, the signer, the health checks and the status
 * clients are all file descriptors in one poll() set, and every timer is
 * folded into its timeout.  Thousands of master services share one set of
 * backend fetches: a backend is fetched once per round, whatever the
 * number of services that list it.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "collector.h"
#include "crypto.h"
#include "encode.h"
#include "err.h"
#include "hsdir.h"
#include "log.h"
#include "sandbox.h"
#include "torctl.h"
#include "usock.h"

#define FETCH_SERVERS		3	/* HSDirs asked per backend a round */
#define ACTIVE_INTERVAL		600	/* s between SIGNAL ACTIVE */

static volatile sig_atomic_t	got_term, got_hup;

/* No leak check at exit under ASan: it needs ptrace, which the sandbox
 * forbids, and the process would spin instead of exiting. */
SANDBOX_SANITIZER_HOOK

/* ------------------------------------------------------------------ */
/* Backend descriptors: fetch, choose, hand to the signer              */

#define backend_by_addr(c, a)	collector_backend_find((c), (a))

/* Which backend an HSFETCH was for; a reload may renumber them. */
struct fetch_arg {
	struct collector	*c;
	uint64_t		 epoch;
	size_t			 bidx;
};

static void
fetch_reply(struct torctl *tc, const struct torctl_reply *r, void *arg)
{
	struct fetch_arg	*fa = arg;
	struct backend		*b;

	if (fa->epoch != fa->c->epoch) {
		free(fa);
		return;
	}
	b = &fa->c->backends[fa->bidx];
	free(fa);
	if (r == NULL || r->code != 250) {
		b->fetching = 0;
		(void)snprintf(b->fetch_error, sizeof(b->fetch_error),
		    "HSFETCH refused (%d)", r == NULL ? 0 : r->code);
	}
}

static void
fetch_round(struct collector *c, time_t now)
{
	const struct hsdir_periods	*per;
	uint8_t		 blinded[ED25519_PK_LEN];
	uint8_t		 fps[COLLECTOR_MAX_HSDIRS][HS_RSA_ID_LEN];
	uint8_t		 pick[FETCH_SERVERS][HS_RSA_ID_LEN];
	size_t		 i, n, k, j;
	uint32_t	 rnd;
	int		 e;
	struct fetch_arg *fa;

	if (c->view == NULL || torctl_state(c->tc) != TORCTL_READY)
		return;
	per = hsdir_view_periods(c->view);
	for (i = 0; i < c->nbackends; i++) {
		struct backend *b = &c->backends[i];

		if (b->fetching) {
			/* The last round never finished: count it. */
			if (now - b->fetch_started <
			    (time_t)c->cf.fetch_timeout)
				continue;
			if (b->fetch_valid == 0)
				b->empty_rounds++;
			b->fetching = 0;
		}
		if ((e = hs_blind_pubkey(blinded, b->cf->pk, per->fetch.tp,
		    per->period_len)) != 0 ||
		    (e = hsdir_view_fetch_hsdirs(c->view, blinded, fps,
		    COLLECTOR_MAX_HSDIRS, &n)) != 0) {
			log_warnx("%s: %s: %s", __func__, b->cf->addr,
			    ob_strerror(e));
			continue;
		}
		if (n > COLLECTOR_MAX_HSDIRS)
			n = COLLECTOR_MAX_HSDIRS;
		/*
		 * A few of the HSDirs a client would use, picked at random
		 * each round.  Naming them with SERVER= skips tor's
		 * 15-minute re-query limit without NEWNYM.
		 */
		for (k = 0; k < FETCH_SERVERS && n > 0; k++) {
			if (ob_random(&rnd, sizeof(rnd)) != 0)
				break;
			j = rnd % n;
			memcpy(pick[k], fps[j], HS_RSA_ID_LEN);
			memcpy(fps[j], fps[n - 1], HS_RSA_ID_LEN);
			n--;
		}
		if (k == 0)
			continue;
		if ((fa = calloc(1, sizeof(*fa))) == NULL)
			break;
		fa->c = c;
		fa->epoch = c->epoch;
		fa->bidx = i;
		if (torctl_hsfetch(c->tc, b->cf->addr,
		    (const uint8_t (*)[TORCTL_FP_LEN])pick, k, fetch_reply,
		    fa) != 0) {
			free(fa);
			log_warnx("%s: HSFETCH %s not sent", __func__,
			    b->cf->addr);
			continue;
		}
		b->fetching = 1;
		b->fetch_started = now;
		b->fetch_asked = (unsigned)k;
		b->fetch_answers = b->fetch_bodies = b->fetch_valid = 0;
	}
}

static void
desc_content(struct collector *c, const struct torctl_reply *r, time_t now)
{
	struct torctl_hs_desc_content	 ct;
	struct hs_desc_decode_params	 dp;
	struct hs_desc			 d;
	const struct hsdir_periods	*per;
	struct backend			*b;
	uint8_t				 blinded[ED25519_PK_LEN];
	uint8_t				*raw;
	int				 e;

	if ((e = torctl_parse_hs_desc_content(&ct, r)) != 0 ||
	    !ct.has_address) {
		log_warnx("%s: bad HS_DESC_CONTENT event", __func__);
		return;
	}
	if ((b = backend_by_addr(c, ct.address)) == NULL || c->view == NULL)
		return;
	b->fetch_answers++;
	if (ct.bodylen == 0)
		goto done;
	b->fetch_bodies++;
	per = hsdir_view_periods(c->view);
	if (hs_blind_pubkey(blinded, b->cf->pk, per->fetch.tp,
	    per->period_len) != 0)
		goto done;
	memset(&dp, 0, sizeof(dp));
	dp.identity_pk = b->cf->pk;
	dp.blinded_pk = blinded;
	dp.now = now;
	hs_desc_init(&d);
	if ((e = hs_desc_decode(&d, ct.body, ct.bodylen, &dp)) != 0) {
		(void)snprintf(b->fetch_error, sizeof(b->fetch_error),
		    "descriptor rejected: %s", ob_strerror(e));
		log_warnx("backend %s: descriptor from an HSDir rejected: %s",
		    b->cf->addr, ob_strerror(e));
		hs_desc_clear(&d);
		goto done;
	}
	b->fetch_valid++;
	b->fetch_error[0] = '\0';
	b->empty_rounds = 0;
	b->last_fetch_ok = now;
	/* Keep the freshest: a higher counter, or a new period. */
	if (b->have_desc && b->tp == per->fetch.tp &&
	    d.revision_counter <= b->revision) {
		hs_desc_clear(&d);
		goto done;
	}
	if ((raw = malloc(ct.bodylen)) == NULL) {
		hs_desc_clear(&d);
		goto done;
	}
	memcpy(raw, ct.body, ct.bodylen);
	free(b->raw);
	b->raw = raw;
	b->rawlen = ct.bodylen;
	hs_desc_clear(&b->desc);
	b->desc = d;
	if (!b->have_desc || b->revision != d.revision_counter ||
	    b->tp != per->fetch.tp)
		b->rev_changed = now;
	b->have_desc = 1;
	b->tp = per->fetch.tp;
	b->revision = d.revision_counter;
	b->expires = (time_t)d.signing_cert.expiry_hours * 3600;
	b->gen++;
	c->verify_dirty = 1;
	log_debug("backend %s: descriptor revision %llu, %zu intro points",
	    b->cf->addr, (unsigned long long)b->revision, b->desc.n_intro);
 done:
	/* A round is complete when every asked HSDir has answered. */
	if (b->fetching && b->fetch_answers >= b->fetch_asked) {
		b->fetching = 0;
		if (b->fetch_valid == 0)
			b->empty_rounds++;
	}
	backend_judge(c, b, now);
}

static void
testnet_cb(struct torctl *tc, const struct torctl_reply *r, void *arg)
{
	struct collector	*c = arg;

	if (r != NULL && r->code == 250 && r->nlines > 0 &&
	    strcmp(r->lines[0].text, "TestingTorNetwork=1") == 0) {
		if (!c->testnet)
			log_info("tor runs a test network: periods follow "
			    "its voting interval");
		c->testnet = 1;
	}
	collector_view_load(c);
}

/* ------------------------------------------------------------------ */
/* torctl callbacks                                                    */

static void
tc_state(struct torctl *tc, enum torctl_state st, const char *why,
    void *arg)
{
	struct collector	*c = arg;

	if (st == TORCTL_READY) {
		log_info("control port ready");
		if (torctl_send(tc, "GETCONF TestingTorNetwork", testnet_cb,
		    c) != 0)
			collector_view_load(c);
	} else if (st == TORCTL_DOWN) {
		log_warnx("control port down: %s", why != NULL ? why : "?");
		c->view_loading = 0;
	}
}

static void
tc_event(struct torctl *tc, const struct torctl_reply *r, void *arg)
{
	struct collector	*c = arg;
	struct torctl_hs_desc	 ev;
	struct torctl_status	 st;
	char			 name[32];
	time_t			 now = time(NULL);

	if (torctl_event_name(name, sizeof(name), r) != 0)
		return;
	if (strcmp(name, "HS_DESC_CONTENT") == 0) {
		desc_content(c, r, now);
	} else if (strcmp(name, "HS_DESC") == 0) {
		if (torctl_parse_hs_desc(&ev, r) != 0 || !ev.has_address ||
		    !ev.has_hsdir)
			return;
		if (ev.action == TORCTL_HS_UPLOADED)
			publish_upload_event(c, ev.address, ev.hsdir, 1, NULL,
			    NULL, now);
		else if (ev.action == TORCTL_HS_FAILED &&
		    backend_by_addr(c, ev.address) == NULL)
			publish_upload_event(c, ev.address, ev.hsdir, 0,
			    ev.has_blinded ? ev.blinded : NULL, ev.reason,
			    now);
	} else if (strncmp(name, "STATUS_", 7) == 0) {
		if (torctl_parse_status(&st, r) == 0 &&
		    strcmp(st.action, "CONSENSUS_ARRIVED") == 0)
			collector_view_load(c);
	}
}

/* ------------------------------------------------------------------ */
/* The loop                                                            */

static int
ms_to_next_second(void)
{
	struct timespec	ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) == -1)
		return 1000;
	return 1000 - (int)(ts.tv_nsec / 1000000) + 1;
}

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		got_hup = 1;
	else
		got_term = 1;
}

static void
horizon_cb(const struct sc_reply *r, void *arg)
{
	struct collector	*c = arg;
	uint32_t		 next;

	collector_horizon_update(c, r, time(NULL));
	/* The signer answers a page at a time: ask for the next one. */
	if (!r->ok)
		return;
	next = r->u.status.first + (uint32_t)r->u.status.n;
	if (r->u.status.n > 0 && next < r->u.status.total &&
	    sc_status(c->sc, next, horizon_cb, c) != 0)
		log_warnx("signer status: page at %u not requested", next);
}

/*
 * SIGHUP: read the file again and take it over once no publish job is
 * in flight (jobs hold service indexes); meanwhile none is started.
 */
static void
reload_try(struct collector *c, const char *conffile)
{
	struct conf	ncf;

	if (got_hup) {
		got_hup = 0;
		c->reload_wanted = 1;
		log_info("SIGHUP: reloading %s", conffile);
	}
	if (!c->reload_wanted || c->jobs != 0)
		return;
	c->reload_wanted = 0;
	if (conf_load(&ncf, conffile) != 0) {
		log_warnx("reload: %s has errors; keeping the running "
		    "configuration", conffile);
		return;
	}
	if (collector_reload(c, &ncf) != 0) {
		log_warnx("reload failed; keeping the running configuration");
		conf_clear(&ncf);
		return;
	}
	c->next_fetch = 0;
}

#define HORIZON_INTERVAL	60	/* s between signer STATUS requests */

static int
loop(struct collector *c, const char *conffile)
{
	struct pollfd	*pfd, *np;
	size_t		 npfd, i, base;
	int		 timeout, t, sc_was_ready = 0;
	time_t		 now, last_tick = 0, next_active = 0, next_hz = 0;
	size_t		 j;

	npfd = 3 + c->nbackends;
	if ((pfd = calloc(npfd, sizeof(*pfd))) == NULL)
		return -1;
	while (!got_term) {
		if (got_hup || c->reload_wanted) {
			reload_try(c, conffile);
			if (npfd != 3 + c->nbackends) {
				if ((np = reallocarray(pfd, 3 + c->nbackends,
				    sizeof(*pfd))) == NULL) {
					log_warn("poll set");
					free(pfd);
					return -1;
				}
				pfd = np;
				npfd = 3 + c->nbackends;
			}
		}
		now = time(NULL);
		/*
		 * The schedulers walk every backend and service: once a
		 * second, not on every event (thousands of services).
		 */
		if (now == last_tick)
			goto wait;
		last_tick = now;
		/* A new signer session knows nothing: send everything. */
		if (sc_ready(c->sc) && !sc_was_ready)
			for (i = 0; i < c->nservices; i++)
				for (j = 0; j < c->cf.pools[
				    c->services[i].cf->pool].nbackends; j++)
					c->services[i].sent_gen[j] = 0;
		if ((sc_ready(c->sc) && !sc_was_ready) || c->verify_busy) {
			c->verify_dirty = 1;
			c->verify_busy = 0;
		}
		sc_was_ready = sc_ready(c->sc);
		(void)publish_refresh_step(c, REFRESH_BATCH);
		if (sc_ready(c->sc) && now >= next_hz &&
		    sc_status(c->sc, 0, horizon_cb, c) == 0)
			next_hz = now + HORIZON_INTERVAL;
		if (c->view != NULL && now >= c->next_fetch) {
			fetch_round(c, now);
			c->next_fetch = now + c->cf.fetch_interval;
		}
		/* Keep tor from going dormant (DormantClientTimeout): our
		 * control-port traffic is not client activity to it. */
		if (now >= next_active &&
		    torctl_state(c->tc) == TORCTL_READY &&
		    torctl_send(c->tc, "SIGNAL ACTIVE", NULL, NULL) == 0)
			next_active = now + ACTIVE_INTERVAL;
		for (i = 0; i < c->nbackends; i++) {
			struct backend *b = &c->backends[i];

			if (c->cf.health_check && b->hc_phase == HC_IDLE &&
			    now >= b->hc_next && b->have_desc &&
			    torctl_state(c->tc) == TORCTL_READY)
				collector_health_start(c, b, now);
			if (b->hc_phase != HC_IDLE && now >= b->hc_deadline)
				collector_health_finish(c, b, HC_R_FAIL,
				    "timed out", now);
			backend_judge(c, b, now);
		}
		collector_verify_sync(c);
		publish_run(c, now);
 wait:
		/* Wake for the next second's tick at the latest. */
		timeout = ms_to_next_second();
		torctl_pollfd(c->tc, &pfd[0]);
		if ((t = torctl_timeout(c->tc)) >= 0 && t < timeout)
			timeout = t;
		sc_pollfd(c->sc, &pfd[1]);
		if ((t = sc_timeout(c->sc)) >= 0 && t < timeout)
			timeout = t;
		pfd[2].fd = c->status_fd;
		pfd[2].events = POLLIN;
		base = 3;
		for (i = 0; i < c->nbackends; i++) {
			struct backend *b = &c->backends[i];

			pfd[base + i].fd = b->hc_phase == HC_IDLE ? -1 :
			    b->hc_fd;
			pfd[base + i].events = b->hc_phase == HC_CONNECTING ?
			    POLLOUT : POLLIN;
			pfd[base + i].revents = 0;
		}
		pfd[2].revents = 0;
		if (poll(pfd, npfd, timeout) == -1) {
			if (errno == EINTR)
				continue;
			log_warn("poll");
			free(pfd);
			return -1;
		}
		now = time(NULL);
		torctl_process(c->tc, pfd[0].revents);
		sc_process(c->sc, pfd[1].revents);
		/* Replies free the signer's queue: refill it now. */
		collector_verify_sync(c);
		if (pfd[2].revents & POLLIN)
			status_accept(c, c->status_fd);
		for (i = 0; i < c->nbackends; i++)
			if (pfd[base + i].revents != 0 &&
			    c->backends[i].hc_phase != HC_IDLE)
				collector_health_io(c, &c->backends[i],
				    pfd[base + i].revents, now);
	}
	free(pfd);
	log_info("terminating");
	return 0;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: obhsm-collector [-dnv] [-f config]\n"
	    "       obhsm-collector [-f config] status [--json] [address]\n"
	    "       obhsm-collector import-onionbalance config.yaml\n");
	exit(2);
}

static int
cmd_import(const char *path)
{
	struct buf	*out;

	if ((out = buf_new(16 * 1024 * 1024)) == NULL)
		return 1;
	if (ob_import_file(out, path) != 0) {
		buf_free(out);
		return 1;
	}
	fwrite(buf_ptr(out), 1, buf_len(out), stdout);
	buf_free(out);
	return fflush(stdout) == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	struct conf		 cf;
	struct collector	 c;
	struct torctl_config	 tcc;
	struct sigaction	 sa;
	const char		*conffile = COLLECTOR_CONF_DEFAULT;
	char			*abspath = NULL;
	int			 ch, foreground = 0, verbose = 0, check = 0;
	int			 json = 0, rv;

	while ((ch = getopt(argc, argv, "+df:nv")) != -1) {
		switch (ch) {
		case 'd':
			foreground = 1;
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
	argc -= optind;
	argv += optind;
	log_init("obhsm-collector", verbose + foreground, !foreground &&
	    argc == 0 && !check);
	if (ob_crypto_init() != 0)
		fatalx("crypto initialisation failed");

	if (argc >= 1 && strcmp(argv[0], "import-onionbalance") == 0) {
		if (argc != 2)
			usage();
		return cmd_import(argv[1]);
	}
	if (conf_load(&cf, conffile) != 0)
		return 1;
	if (argc >= 1 && strcmp(argv[0], "status") == 0) {
		const char *only = NULL;

		for (ch = 1; ch < argc; ch++) {
			if (strcmp(argv[ch], "--json") == 0)
				json = 1;
			else if (only == NULL && argv[ch][0] != '-')
				only = argv[ch];
			else
				usage();
		}
		rv = status_client(cf.status_socket, json, only);
		conf_clear(&cf);
		return rv;
	}
	if (argc != 0)
		usage();
	if (check) {
		fprintf(stderr, "configuration OK: %zu services, %zu "
		    "backends\n", cf.nservices, cf.nbackends);
		conf_clear(&cf);
		return 0;
	}
	if (geteuid() == 0 && cf.user == NULL)
		fatalx("refusing to run as root: set \"user\" in %s, or "
		    "start obhsm-collector as its own user", conffile);

	/* daemon() moves to "/": SIGHUP must find the same file. */
	if ((abspath = realpath(conffile, NULL)) == NULL)
		fatal("%s", conffile);
	conffile = abspath;
	if (collector_init(&c, &cf) != 0)
		return 1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);

	/* Owner and group may ask for status, nobody else. */
	if ((c.status_fd = usock_listen(c.cf.status_socket, 0660, (uid_t)-1,
	    (gid_t)-1)) == -1)
		log_warnx("no status socket; continuing without");
	/* The only privileged step; everything after runs as "user". */
	if (c.cf.user != NULL && sandbox_drop(c.cf.user) != 0)
		fatalx("cannot become user \"%s\"", c.cf.user);
	memset(&tcc, 0, sizeof(tcc));
	tcc.address = c.cf.control;
	tcc.auth = TORCTL_AUTH_AUTO;
	tcc.password = c.cf.control_password;
	tcc.cookie_file = c.cf.control_cookie;
	tcc.events = "HS_DESC HS_DESC_CONTENT STATUS_CLIENT";
	if ((c.tc = torctl_new(&tcc, tc_state, tc_event, &c)) == NULL)
		fatalx("bad control-port \"%s\"", c.cf.control);
	if ((c.sc = sc_new(c.cf.signer_socket, c.cf.signer_timeout)) == NULL)
		fatalx("out of memory");
	if (!foreground && daemon(0, 0) == -1)
		fatal("daemon");
	/*
	 * Everything opened; from here on the process only talks on
	 * sockets (and rereads tor's cookie file on reconnect).
	 */
	if (sandbox_limits(1024 + (unsigned)c.nbackends) != 0 ||
	    sandbox_enter(SANDBOX_COLLECTOR, c.cf.sandbox ? SANDBOX_KILL :
	    SANDBOX_OFF) != 0)
		fatalx("cannot enter the sandbox");
	log_info("started: %zu services over %zu backends", c.nservices,
	    c.nbackends);
	torctl_start(c.tc);
	rv = loop(&c, conffile);
	torctl_free(c.tc);
	sc_free(c.sc);
	if (c.cf.status_socket != NULL)
		(void)unlink(c.cf.status_socket);
	collector_clear(&c);
	/*
	 * _exit, not return: inside the seccomp filter, exit handlers
	 * that need more than the allow-list (LeakSanitizer's ptrace in
	 * sanitizer builds) would hang or kill us instead of exiting.
	 */
	fflush(stdout);
	fflush(stderr);
	_exit(rv == 0 ? 0 : 1);
}
