/*
 * The collector's configuration (collector/conf.c), the OnionBalance
 * importer (collector/ob_import.c) and the status output
 * (collector/status.c).  Onion addresses are made from fixed seeds so
 * that every one is valid; the YAML samples follow the two shapes
 * OnionBalance users have: what onionbalance-config writes
 * (onionbalance/config_generator/config_generator.py,
 * create_yaml_config_file: yaml.safe_dump, keys sorted) and the
 * hand-written style of its documentation
 * (onionbalance/config_generator/data/config.example.yaml).
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "collector.h"
#include "crypto.h"
#include "encode.h"
#include "err.h"
#include "hs_cert.h"
#include "hs_keys.h"
#include "msg.h"
#include "proto.h"
#include "tests.h"

#define NADDR	6
static char	addr[NADDR][HS_ADDR_LEN + 1];
static uint8_t	seed[NADDR][ED25519_SEED_LEN];

static void
addrs_make(void)
{
	uint8_t	pk[ED25519_PK_LEN], sk[ED25519_EXPANDED_LEN];
	size_t	i;

	for (i = 0; i < NADDR; i++) {
		memset(seed[i], 0x30 + (int)i, ED25519_SEED_LEN);
		CU_ASSERT_FATAL(hs_expanded_from_seed(sk, seed[i]) == 0);
		CU_ASSERT_FATAL(hs_expanded_pubkey(pk, sk) == 0);
		CU_ASSERT_FATAL(hs_address_encode(addr[i], pk) == 0);
	}
}

static char *
fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));

static char *
fmt(const char *f, ...)
{
	static char	out[8192];
	va_list		ap;

	va_start(ap, f);
	(void)vsnprintf(out, sizeof(out), f, ap);
	va_end(ap);
	return out;
}

static int
load(struct conf *cf, const char *text)
{
	memset(cf, 0, sizeof(*cf));
	return conf_load_string(cf, text);
}

static void
test_conf_good(void)
{
	struct conf	cf;
	char		pkb32[64];
	uint8_t		xsk[32], xpk[32];

	addrs_make();
	memset(xsk, 7, sizeof(xsk));
	CU_ASSERT_FATAL(ob_x25519_pubkey(xpk, xsk) == 0);
	CU_ASSERT_FATAL(b32_encode(pkb32, sizeof(pkb32), xpk, 32) == 0);
	CU_ASSERT_FATAL(load(&cf, fmt(
	    "control-port = \"unix:/run/tor/control\"\n"
	    "fetch-interval = 30\n"
	    "health-check = true\n"
	    "pool web { backends = { \"%s.onion\", \"%s\" } "
	    "health-check-port = 443 }\n"
	    "service \"%s.onion\" { pool = web }\n"
	    "service %s { pool = web intro-policy = per-backend "
	    "intro-points-per-backend = 3 distinct-descriptors = true "
	    "client-auth = { \"descriptor:x25519:%s\" } }\n"
	    "service %s { backends = { %s, %s } intro-points = 20 }\n",
	    addr[0], addr[1], addr[2], addr[3], pkb32, addr[4], addr[0],
	    addr[5])) == 0);
	CU_ASSERT(strcmp(cf.control, "unix:/run/tor/control") == 0);
	CU_ASSERT(cf.fetch_interval == 30 && cf.health_check == 1);
	CU_ASSERT(cf.republish_min == 3600 && cf.republish_max == 7200);
	CU_ASSERT(cf.nservices == 3);
	/* Backends are shared: addr[0] appears in two pools, once here. */
	CU_ASSERT(cf.nbackends == 3);
	CU_ASSERT(cf.npools == 2);
	CU_ASSERT(cf.pools[0].health_port == 443);
	CU_ASSERT(strcmp(cf.services[0].addr, addr[2]) == 0);
	CU_ASSERT(cf.services[0].pool == cf.services[1].pool);
	CU_ASSERT(cf.services[0].sel.policy == SEL_POLICY_STEADY &&
	    cf.services[0].sel.target == 10);
	CU_ASSERT(cf.services[1].sel.policy == SEL_POLICY_PER_BACKEND &&
	    cf.services[1].sel.per_backend == 3 && cf.services[1].distinct);
	CU_ASSERT(cf.services[1].n_client_pks == 1 &&
	    memcmp(cf.services[1].client_pks[0], xpk, 32) == 0);
	CU_ASSERT(cf.services[2].sel.target == 20);
	CU_ASSERT(cf.pools[cf.services[2].pool].nbackends == 2);
	conf_clear(&cf);
	/* The shipped example parses once a service is added. */
	CU_ASSERT(conf_load(&cf, "/nonexistent/obhsm-collector.conf") == -1);
}

static void
test_conf_bad(void)
{
	struct conf	cf;
	char		*svc;

	addrs_make();
	/* fmt() reuses its buffer: keep a copy. */
	svc = strdup(fmt("service %s { backends = { %s } }\n", addr[0],
	    addr[1]));
	CU_ASSERT_FATAL(svc != NULL);
	CU_ASSERT(load(&cf, svc) == 0);
	conf_clear(&cf);
	/* Each of these is refused with a message naming the problem. */
	CU_ASSERT(load(&cf, "") == -1);			/* no service */
	CU_ASSERT(load(&cf, fmt("no-such-option = 1\n%s", svc)) == -1);
	CU_ASSERT(load(&cf, fmt("fetch-interval = 1\n%s", svc)) == -1);
	CU_ASSERT(load(&cf, fmt("fetch-interval = \"x\"\n%s", svc)) == -1);
	CU_ASSERT(load(&cf, fmt("republish-min = 7200\nrepublish-max = "
	    "3600\n%s", svc)) == -1);
	CU_ASSERT(load(&cf, fmt("service %s { backends = { %s } } }",
	    addr[0], addr[1])) == -1);			/* syntax */
	CU_ASSERT(load(&cf, fmt("service %s { }\n", addr[0])) == -1);
	CU_ASSERT(load(&cf, fmt("pool p { backends = { %s } }\n"
	    "service %s { pool = p backends = { %s } }\n", addr[1], addr[0],
	    addr[1])) == -1);				/* both */
	CU_ASSERT(load(&cf, fmt("service %s { pool = nope }\n",
	    addr[0])) == -1);
	CU_ASSERT(load(&cf, fmt("service %s { backends = { %s } "
	    "intro-points = 21 }\n", addr[0], addr[1])) == -1);
	CU_ASSERT(load(&cf, fmt("service %s { backends = { %s } "
	    "intro-points = 0 }\n", addr[0], addr[1])) == -1);
	CU_ASSERT(load(&cf, fmt("service %s { backends = { %s } "
	    "intro-policy = random }\n", addr[0], addr[1])) == -1);
	CU_ASSERT(load(&cf, fmt("service %s { backends = { %s } }\n",
	    addr[0], addr[0])) == -1);			/* itself */
	CU_ASSERT(load(&cf, fmt("service %s { backends = { %s, %s } }\n",
	    addr[0], addr[1], addr[1])) == -1);		/* twice */
	CU_ASSERT(load(&cf, fmt("%s%s", svc, svc)) == -1);	/* dup title */
	CU_ASSERT(load(&cf, fmt("service %s { backends = { %s } }\n"
	    "service %s { backends = { %s } }\n", addr[0], addr[1], addr[2],
	    addr[0])) == -1);				/* master as backend */
	CU_ASSERT(load(&cf, fmt("service %s { backends = { %s } "
	    "client-auth = { \"descriptor:x25519:AAAA\" } }\n", addr[0],
	    addr[1])) == -1);
	/* Not an onion address: wrong length, bad checksum, v2. */
	CU_ASSERT(load(&cf, fmt("service %s { backends = { abc } }\n",
	    addr[0])) == -1);
	{
		char bad[HS_ADDR_LEN + 1];

		memcpy(bad, addr[1], sizeof(bad));
		bad[10] = bad[10] == 'a' ? 'b' : 'a';
		CU_ASSERT(load(&cf, fmt("service %s { backends = { %s } }\n",
		    addr[0], bad)) == -1);
	}
	CU_ASSERT(load(&cf, fmt("service %s { backends = { "
	    "o6ff73vmigi4oxka.onion } }\n", addr[0])) == -1);
	free(svc);
}

static void
test_client_key(void)
{
	uint8_t	k[32];

	/* tor's authorized_clients files write base32 in upper case. */
	CU_ASSERT(conf_client_key(k, "descriptor:x25519:"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA") == 0);
	CU_ASSERT(conf_client_key(k, "descriptor:ed25519:"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA") != 0);
	/* Nonzero padding bits: not what tor writes. */
	CU_ASSERT(conf_client_key(k,
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB") != 0);
	CU_ASSERT(conf_client_key(k,
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa") == 0);
	CU_ASSERT(conf_client_key(k,
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=") == 0);
	CU_ASSERT(conf_client_key(k, "short") != 0);
	CU_ASSERT(conf_client_key(k, "") != 0);
}

/* onionbalance-config's output: keys sorted, "- instances:" first. */
static const char *
yaml_generated(void)
{
	return fmt("# Onionbalance Config File\n"
	    "services:\n"
	    "- instances:\n"
	    "  - address: %s.onion\n"
	    "    name: node1\n"
	    "  - address: %s.onion\n"
	    "    name: node2\n"
	    "  key: %s.key\n", addr[1], addr[2], addr[0]);
}

static void
test_import_generated(void)
{
	struct buf	*out;
	struct conf	 cf;
	char		*text;

	addrs_make();
	CU_ASSERT_FATAL((out = buf_new(0)) != NULL);
	CU_ASSERT_FATAL(ob_import(out, yaml_generated(),
	    strlen(yaml_generated()), "/nonexistent") == 0);
	CU_ASSERT_FATAL(buf_dup_cstr(out, &text) == 0);
	CU_ASSERT(strstr(text, addr[0]) != NULL);
	/* What it writes is a configuration we accept. */
	CU_ASSERT_FATAL(load(&cf, text) == 0);
	CU_ASSERT(cf.nservices == 1 && cf.nbackends == 2);
	CU_ASSERT(strcmp(cf.services[0].addr, addr[0]) == 0);
	CU_ASSERT(strcmp(cf.backends[0].addr, addr[1]) == 0);
	CU_ASSERT(strcmp(cf.backends[1].addr, addr[2]) == 0);
	CU_ASSERT(cf.services[0].sel.target == 4);
	conf_clear(&cf);
	free(text);
	buf_free(out);
}

/* The documentation's style, several services, keys read from disk. */
static void
test_import_docstyle(void)
{
	struct buf	*out;
	struct conf	 cf;
	char		*text, *y, keypath[512];
	uint8_t		 sk[ED25519_EXPANDED_LEN], file[96];
	FILE		*f;

	addrs_make();
	/* A tor hs_ed25519_secret_key for addr[3]. */
	CU_ASSERT_FATAL(hs_expanded_from_seed(sk, seed[3]) == 0);
	memset(file, 0, sizeof(file));
	memcpy(file, "== ed25519v1-secret: type0 ==", 29);
	memcpy(file + 32, sk, sizeof(sk));
	(void)snprintf(keypath, sizeof(keypath), "%s/svc2_key",
	    test_tmpdir());
	CU_ASSERT_FATAL((f = fopen(keypath, "wb")) != NULL);
	CU_ASSERT_FATAL(fwrite(file, 1, sizeof(file), f) == sizeof(file));
	fclose(f);
	/* Key readers refuse a key others can read, as tor does. */
	CU_ASSERT_FATAL(chmod(keypath, 0600) == 0);

	y = strdup(fmt("# Onion Load Balancer Config File\n"
	    "---\n"
	    "REFRESH_INTERVAL: 600 # How often to poll\n"
	    "status-socket-location: /var/run/onionbalance/control\n"
	    "services:\n"
	    "    - key: /etc/ob/private_key   # %s.onion\n"
	    "      instances:\n"
	    "        - address: '%s' # web1\n"
	    "        - address: \"%s.onion\"\n"
	    "          name: web2\n"
	    "    - key: svc2_key\n"
	    "      instances:\n"
	    "        - address: %s\n"
	    "other: {a: 1}\n", addr[0], addr[1], addr[2], addr[1]));
	CU_ASSERT_FATAL(y != NULL);
	CU_ASSERT_FATAL((out = buf_new(0)) != NULL);
	CU_ASSERT_FATAL(ob_import(out, y, strlen(y), test_tmpdir()) == 0);
	CU_ASSERT_FATAL(buf_dup_cstr(out, &text) == 0);
	CU_ASSERT_FATAL(load(&cf, text) == 0);
	CU_ASSERT(cf.nservices == 2 && cf.nbackends == 2);
	CU_ASSERT(strcmp(cf.services[0].addr, addr[0]) == 0);
	CU_ASSERT(strcmp(cf.services[1].addr, addr[3]) == 0);
	/* Key paths are listed resolved, for the signer's config. */
	CU_ASSERT(strstr(text, keypath) != NULL);
	CU_ASSERT(strstr(text, "/etc/ob/private_key") != NULL);
	conf_clear(&cf);
	free(text);
	buf_free(out);
	free(y);
	ob_wipe(sk, sizeof(sk));
}

/* shape with each '@' replaced by a (static storage). */
static const char *
subst(const char *shape, const char *a)
{
	static char	out[4096];
	size_t		o = 0, n = strlen(a);

	for (; *shape != '\0' && o + n + 1 < sizeof(out); shape++) {
		if (*shape == '@') {
			memcpy(out + o, a, n);
			o += n;
		} else
			out[o++] = *shape;
	}
	out[o] = '\0';
	return out;
}

static void
test_import_bad(void)
{
	struct buf	*out;
	const char	*y;
	size_t		 i, nok = 0;
	static const char alpha[] = "services:- key address instances#'\" "
	    "\n\t.abcdefghijklmnopqrstuvwxyz234567";
	static const char *const shapes[] = {
	    "services: []\n",
	    "services:\n- key: @.key\n",		/* no instances */
	    "services:\n- instances:\n  - address: @.onion\n",	/* no key */
	    "services:\n- key: nokey\n  instances:\n  - address: @\n",
	    "services:\n- key: @.key\n  instances:\n  - address: x\n",
	    "services:\n- key: @.key\n  instances: [a, b]\n",
	    "services:\n- key: @.key\n  key: x.key\n",
	    "services:\n\t- key: @.key\n",
	    "nothing: here # @\n",
	    "services:\n- key: @.key\n  instances:\n"
	    "  - address: 'unterminated\n",
	};

	addrs_make();
	CU_ASSERT_FATAL((out = buf_new(0)) != NULL);
	for (i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		y = subst(shapes[i], addr[0]);
		buf_reset(out);
		CU_ASSERT(ob_import(out, y, strlen(y), NULL) == -1);
	}
	/* The master as its own instance. */
	y = fmt("services:\n- key: %s.key\n  instances:\n  - address: %s\n",
	    addr[0], addr[0]);
	CU_ASSERT(ob_import(out, y, strlen(y), NULL) == -1);
	/* A NUL byte inside. */
	CU_ASSERT(ob_import(out, "services:\n\0", 11, NULL) == -1);
	/* Random bytes never crash it. */
	for (i = 0; i < 2000; i++) {
		char	rnd[256];
		size_t	j, n = test_rand() % sizeof(rnd);

		for (j = 0; j < n; j++)
			rnd[j] = alpha[test_rand() % (sizeof(alpha) - 1)];
		buf_reset(out);
		if (ob_import(out, rnd, n, NULL) == 0)
			nok++;
	}
	CU_ASSERT(nok < 2000);
	buf_free(out);
}

/* Only syntax: balanced brackets outside strings, valid escapes. */
static int
json_balanced(const char *s)
{
	int	depth = 0, instr = 0;

	for (; *s != '\0'; s++) {
		if (instr) {
			if (*s == '\\') {
				if (s[1] == '\0')
					return 0;
				s++;
			} else if (*s == '"')
				instr = 0;
			else if ((unsigned char)*s < 0x20)
				return 0;
			continue;
		}
		if (*s == '"')
			instr = 1;
		else if (*s == '{' || *s == '[')
			depth++;
		else if (*s == '}' || *s == ']') {
			if (--depth < 0)
				return 0;
		}
	}
	return depth == 0 && !instr;
}

static void
test_status_json(void)
{
	struct conf		 cf;
	struct collector	 c;
	struct buf		*b;
	char			*text, cmd[1024], path[512];
	FILE			*f;

	addrs_make();
	CU_ASSERT_FATAL(load(&cf, fmt("service %s { backends = { %s, %s } }\n"
	    "service %s { backends = { %s } }\n", addr[0], addr[1], addr[2],
	    addr[3], addr[1])) == 0);
	CU_ASSERT_FATAL(collector_init(&c, &cf) == 0);
	CU_ASSERT(c.nbackends == 2 && c.nservices == 2);
	/* One backend down by the health rule, with an error to escape. */
	c.backends[1].have_desc = 1;
	c.backends[1].expires = time(NULL) + 3600;
	c.backends[1].rev_changed = time(NULL);
	c.cf.health_check = 1;
	c.backends[1].hc_failures = c.cf.health_failures;
	(void)snprintf(c.backends[1].hc_error, sizeof(c.backends[1].hc_error),
	    "SOCKS \"reply\"\\0xf2\n");
	backend_judge(&c, &c.backends[1], time(NULL));
	backend_judge(&c, &c.backends[0], time(NULL));
	CU_ASSERT(!c.backends[1].up && c.backends[1].reason == BR_HEALTH);
	c.backends[1].hc_failures = 0;
	backend_judge(&c, &c.backends[1], time(NULL));
	CU_ASSERT(c.backends[1].up && c.backends[1].reason == BR_NONE);
	/* Stale: the revision has not moved for too long. */
	c.backends[1].rev_changed = time(NULL) - c.cf.desc_max_age - 1;
	backend_judge(&c, &c.backends[1], time(NULL));
	CU_ASSERT(!c.backends[1].up && c.backends[1].reason == BR_STALE);
	c.backends[1].rev_changed = time(NULL);
	c.backends[1].expires = time(NULL) - 1;
	backend_judge(&c, &c.backends[1], time(NULL));
	CU_ASSERT(c.backends[1].reason == BR_EXPIRED);
	c.backends[1].hc_failures = c.cf.health_failures;
	/* No descriptor: bodies that never verified, or none at all. */
	c.backends[0].fetch_bodies = 2;
	backend_judge(&c, &c.backends[0], time(NULL));
	CU_ASSERT(c.backends[0].reason == BR_INVALID);
	c.backends[0].fetch_bodies = 0;
	c.backends[0].empty_rounds = MISSING_ROUNDS;
	backend_judge(&c, &c.backends[0], time(NULL));
	CU_ASSERT(c.backends[0].reason == BR_MISSING);
	/* Nothing for a while before that: unknown, not "missing". */
	c.backends[0].empty_rounds = 0;
	c.backends[0].reason = BR_NONE;
	backend_judge(&c, &c.backends[0], time(NULL));
	CU_ASSERT(c.backends[0].reason == BR_UNKNOWN && !c.backends[0].up);
	c.services[0].slot[0].valid = 1;
	c.services[0].slot[0].tp = 20000;
	c.services[0].slot[0].nup = 2;
	c.services[0].slot[0].up[0].state = UPLOAD_OK;
	c.services[0].slot[0].up[1].state = UPLOAD_FAILED;

	CU_ASSERT_FATAL((b = buf_new(0)) != NULL);
	CU_ASSERT_FATAL(status_render(b, &c, 1, time(NULL)) == 0);
	CU_ASSERT_FATAL(buf_dup_cstr(b, &text) == 0);
	CU_ASSERT(json_balanced(text));
	CU_ASSERT(strstr(text, fmt("\"address\":\"%s.onion\"", addr[1])) !=
	    NULL);
	CU_ASSERT(strstr(text, "\"reason\":\"expired\"") != NULL);
	CU_ASSERT(strstr(text, "\"reason\":\"unknown\"") != NULL);
	CU_ASSERT(strstr(text, "\"state\":\"up\"") == NULL);
	CU_ASSERT(strstr(text, "\"tp\":20000") != NULL);
	CU_ASSERT(strstr(text, "\"uploaded\":1,\"pending\":0,\"failed\":1") !=
	    NULL);
	CU_ASSERT(strstr(text, "\\\"reply\\\"\\\\0xf2\\u000a") != NULL);
	/* And a real JSON parser agrees, when there is one. */
	if (access("/usr/bin/python3", X_OK) == 0) {
		(void)snprintf(path, sizeof(path), "%s/status.json",
		    test_tmpdir());
		CU_ASSERT_FATAL((f = fopen(path, "w")) != NULL);
		fputs(text, f);
		fclose(f);
		(void)snprintf(cmd, sizeof(cmd), "/usr/bin/python3 -c 'import "
		    "json,sys; d=json.load(open(sys.argv[1])); "
		    "assert len(d[\"services\"])==2; "
		    "assert d[\"backends\"][1][\"state\"]==\"down\"' %s",
		    path);
		CU_ASSERT(system(cmd) == 0);
	}
	free(text);
	buf_reset(b);
	CU_ASSERT_FATAL(status_render(b, &c, 0, time(NULL)) == 0);
	CU_ASSERT_FATAL(buf_dup_cstr(b, &text) == 0);
	CU_ASSERT(strstr(text, "DOWN") != NULL);
	free(text);
	buf_free(b);
	collector_clear(&c);
}

/* ------------------------------------------------------------------ */
/* The signer client against a scripted signer in this process.       */

struct sc_result {
	int		calls;
	int		ok;
	uint16_t	reason;
	uint64_t	revision;
	char		detail[256];
};

static void
sc_test_cb(const struct sc_reply *r, void *arg)
{
	struct sc_result	*res = arg;

	res->calls++;
	res->ok = r->ok;
	res->reason = r->reason;
	(void)snprintf(res->detail, sizeof(res->detail), "%s", r->detail);
	if (r->ok)
		res->revision = r->u.params.revision;
}

/* Run the client's side of the loop for up to ms, or until *stop. */
static void
sc_pump(struct signer_client *sc, int ms, const int *stop)
{
	struct pollfd	pfd;
	int		i;

	for (i = 0; i < ms / 10 && (stop == NULL || !*stop); i++) {
		sc_pollfd(sc, &pfd);
		if (pfd.fd == -1) {
			(void)poll(NULL, 0, 10);
			continue;
		}
		(void)poll(&pfd, 1, 10);
		sc_process(sc, pfd.revents);
	}
}

static int
srv_accept(int lfd, struct msg_conn *srv)
{
	struct pollfd	pfd = { lfd, POLLIN, 0 };
	int		fd;

	if (poll(&pfd, 1, 3000) != 1 || (fd = accept(lfd, NULL, NULL)) == -1)
		return -1;
	(void)fcntl(fd, F_SETFL, O_NONBLOCK);
	if (msg_conn_init(srv, fd) != 0) {
		close(fd);
		return -1;
	}
	srv->fd = fd;
	return 0;
}

/* Receive the HELLO and answer it. */
static int
srv_hello(struct signer_client *sc, struct msg_conn *srv)
{
	struct msg	 m;
	struct buf	*p;
	int		 ok;

	sc_pump(sc, 50, NULL);
	if (msg_conn_recv(srv, &m, 2000) != 0 || m.type != PROTO_HELLO)
		return -1;
	CU_ASSERT_FATAL((p = msg_payload_new()) != NULL);
	ok = msg_put_u32(p, PROTO_VERSION) == 0 &&
	    msg_put_u8(p, PROTO_ROLE_SIGNER) == 0 &&
	    msg_put_u32(p, PROTO_MAX_PAYLOAD) == 0 &&
	    msg_put_u32(p, 1440) == 0 && msg_put_u32(p, 720) == 0 &&
	    msg_put_u8(p, PROTO_ICERT_PERIOD) == 0 &&
	    msg_conn_send(srv, PROTO_HELLO_OK, m.id, p) == 0 &&
	    msg_conn_flush(srv, 2000) == 0;
	buf_free(p);
	if (!ok)
		return -1;
	sc_pump(sc, 2000, NULL);
	return sc_ready(sc) ? 0 : -1;
}

static void
srv_close(struct msg_conn *srv)
{
	close(srv->fd);
	msg_conn_clear(srv);
}

static void
test_signer_client(void)
{
	struct sockaddr_un	 sun;
	struct signer_client	*sc;
	struct msg_conn		 srv;
	struct msg		 m;
	struct sc_result	 r1, r2, r3;
	struct buf		*p;
	uint8_t			 cert[HS_CERT_LEN], key[32];
	char			 path[256], str[64];
	uint64_t		 tp;
	int			 lfd;

	(void)snprintf(path, sizeof(path), "%s/signer.sock", test_tmpdir());
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	CU_ASSERT_FATAL(strlen(path) < sizeof(sun.sun_path));
	memcpy(sun.sun_path, path, strlen(path));
	CU_ASSERT_FATAL((lfd = socket(AF_UNIX, SOCK_STREAM, 0)) != -1);
	CU_ASSERT_FATAL(bind(lfd, (struct sockaddr *)&sun,
	    sizeof(sun)) == 0 && listen(lfd, 4) == 0);
	CU_ASSERT_FATAL((sc = sc_new(path, 1)) != NULL);
	CU_ASSERT(sc_desc_params(sc, "x", 1, sc_test_cb, &r1) == -1);

	/* Handshake, then a request answered with typed fields. */
	sc_pump(sc, 20, NULL);
	CU_ASSERT_FATAL(srv_accept(lfd, &srv) == 0);
	CU_ASSERT_FATAL(srv_hello(sc, &srv) == 0);
	CU_ASSERT(sc_hello_info(sc)->period_len == 1440);
	memset(&r1, 0, sizeof(r1));
	CU_ASSERT_FATAL(sc_desc_params(sc, "svc", 77, sc_test_cb, &r1) == 0);
	sc_pump(sc, 50, NULL);
	CU_ASSERT_FATAL(msg_conn_recv(&srv, &m, 2000) == 0);
	CU_ASSERT(m.type == PROTO_DESC_PARAMS);
	CU_ASSERT(msg_get_str(&m, str, sizeof(str)) == 0 &&
	    strcmp(str, "svc") == 0);
	CU_ASSERT(msg_get_u64(&m, &tp) == 0 && tp == 77 && msg_end(&m) == 0);
	memset(key, 0x11, sizeof(key));
	memset(cert, 0, sizeof(cert));
	CU_ASSERT_FATAL(hs_cert_tbs(cert, HS_CERT_TYPE_DESC_SIGNING, 500000,
	    key, key) == 0);
	CU_ASSERT_FATAL((p = msg_payload_new()) != NULL);
	CU_ASSERT_FATAL(msg_put_fixed(p, key, 32) == 0 &&
	    msg_put_fixed(p, key, 32) == 0 && msg_put_u64(p, 4242) == 0 &&
	    msg_put_u64(p, 1) == 0 &&
	    msg_put_data(p, cert, sizeof(cert)) == 0);
	CU_ASSERT_FATAL(msg_conn_send(&srv, PROTO_DESC_PARAMS_OK, m.id,
	    p) == 0 && msg_conn_flush(&srv, 2000) == 0);
	sc_pump(sc, 2000, &r1.calls);
	CU_ASSERT(r1.calls == 1 && r1.ok && r1.revision == 4242);

	/* A policy refusal: the request fails, the session stays. */
	memset(&r2, 0, sizeof(r2));
	CU_ASSERT_FATAL(sc_sign_desc(sc, "svc", 77, NULL,
	    (const uint8_t *)"body", 4, sc_test_cb, &r2) == 0);
	sc_pump(sc, 50, NULL);
	CU_ASSERT_FATAL(msg_conn_recv(&srv, &m, 2000) == 0);
	buf_reset(p);
	CU_ASSERT_FATAL(msg_error_put(p, PROTO_R_REVISION, "stale") == 0 &&
	    msg_conn_send(&srv, PROTO_ERROR, m.id, p) == 0 &&
	    msg_conn_flush(&srv, 2000) == 0);
	sc_pump(sc, 2000, &r2.calls);
	CU_ASSERT(r2.calls == 1 && !r2.ok && r2.reason == PROTO_R_REVISION &&
	    strcmp(r2.detail, "stale") == 0);
	CU_ASSERT(sc_ready(sc));

	/* A malformed reply (a byte too many) ends the session; every
	 * pending request fails, once. */
	memset(&r2, 0, sizeof(r2));
	memset(&r3, 0, sizeof(r3));
	CU_ASSERT_FATAL(sc_status(sc, sc_test_cb, &r2) == 0);
	CU_ASSERT_FATAL(sc_status(sc, sc_test_cb, &r3) == 0);
	sc_pump(sc, 50, NULL);
	CU_ASSERT_FATAL(msg_conn_recv(&srv, &m, 2000) == 0);
	buf_reset(p);
	CU_ASSERT_FATAL(msg_put_u64(p, 1) == 0 && msg_put_u64(p, 2) == 0 &&
	    msg_put_u8(p, 0) == 0 && msg_put_u8(p, 0) == 0 &&
	    msg_conn_send(&srv, PROTO_STATUS_OK, m.id, p) == 0 &&
	    msg_conn_flush(&srv, 2000) == 0);
	sc_pump(sc, 2000, &r3.calls);
	CU_ASSERT(r2.calls == 1 && !r2.ok && r2.reason == 0);
	CU_ASSERT(r3.calls == 1 && !r3.ok);
	CU_ASSERT(!sc_ready(sc));
	srv_close(&srv);

	/* It reconnects after a back-off; then a signer that never answers
	 * is timed out. */
	sc_pump(sc, 1500, NULL);
	CU_ASSERT_FATAL(srv_accept(lfd, &srv) == 0);
	CU_ASSERT_FATAL(srv_hello(sc, &srv) == 0);
	memset(&r1, 0, sizeof(r1));
	CU_ASSERT_FATAL(sc_status(sc, sc_test_cb, &r1) == 0);
	sc_pump(sc, 3000, &r1.calls);
	CU_ASSERT(r1.calls == 1 && !r1.ok &&
	    strstr(r1.detail, "timed out") != NULL);
	CU_ASSERT(!sc_ready(sc));
	srv_close(&srv);

	buf_free(p);
	sc_free(sc);
	close(lfd);
	(void)unlink(path);
}

static const struct test_case tests[] = {
	{ "config: a good file", test_conf_good },
	{ "config: bad files are refused", test_conf_bad },
	{ "config: client keys", test_client_key },
	{ "import: onionbalance-config output", test_import_generated },
	{ "import: documentation style, key files", test_import_docstyle },
	{ "import: bad input", test_import_bad },
	{ "status: JSON and text", test_status_json },
	{ "signer client: replies, refusals, bad peers", test_signer_client },
	{ NULL, NULL }
};

void
test_register_collector(void)
{
	test_add_suite("collector", tests);
}
