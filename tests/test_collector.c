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
#include <netinet/in.h>
#include <arpa/inet.h>
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
#include "hsdir.h"
#include "msg.h"
#include "proto.h"
#include "tests.h"
#include "torctl.h"

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

/*
 * Backend number i up with a descriptor of 3 intro points, each with a
 * link specifier (NSPEC 1, legacy id: type 2, 20 bytes) and an auth key
 * of its own (bytes i * 3 + k + 1).
 */
static void
backend_fake_up(struct backend *bk, size_t i)
{
	struct hs_intro_point	*ip;
	size_t			 k;

	bk->have_desc = bk->up = 1;
	bk->reason = BR_NONE;
	bk->gen = 1;
	bk->desc.n_intro = 3;
	for (k = 0; k < 3; k++) {
		ip = &bk->desc.intro[k];
		ip->linkspec[0] = 1;
		ip->linkspec[1] = 2;
		ip->linkspec[2] = HS_RSA_ID_LEN;
		memset(ip->linkspec + 3, (int)(i * 3 + k + 1), HS_RSA_ID_LEN);
		ip->linkspec_len = 3 + HS_RSA_ID_LEN;
		memset(ip->auth_key_cert.certified_key, (int)(i * 3 + k + 1),
		    ED25519_PK_LEN);
	}
}

/*
 * head, then one pool of backends addr[1] and addr[2] serving nsvc
 * services whose keys come from (index, tag), loaded into cf.
 */
static void
load_pool(struct conf *cf, const char *head, size_t nsvc, uint8_t tag)
{
	struct buf	*b;
	char		*text, a[HS_ADDR_LEN + 1];
	uint8_t		 sd[ED25519_SEED_LEN], pk[ED25519_PK_LEN];
	uint8_t		 sk[ED25519_EXPANDED_LEN];
	size_t		 i;

	CU_ASSERT_FATAL((b = buf_new(0)) != NULL);
	CU_ASSERT(buf_putf(b, "%spool web { backends = { %s, %s } services "
	    "= { ", head, addr[1], addr[2]) == 0);
	for (i = 0; i < nsvc; i++) {
		memset(sd, 0, sizeof(sd));
		memcpy(sd, &i, sizeof(i));
		sd[31] = tag;
		CU_ASSERT_FATAL(hs_expanded_from_seed(sk, sd) == 0);
		CU_ASSERT_FATAL(hs_expanded_pubkey(pk, sk) == 0);
		CU_ASSERT_FATAL(hs_address_encode(a, pk) == 0);
		CU_ASSERT(buf_putf(b, "%s%s", i == 0 ? "" : ", ", a) == 0);
	}
	CU_ASSERT(buf_put_str(b, " } }\n") == 0);
	CU_ASSERT_FATAL(buf_dup_cstr(b, &text) == 0);
	buf_free(b);
	CU_ASSERT_FATAL(load(cf, text) == 0);
	free(text);
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
	/*
	 * upload-max-pending, [1, 100000]: 0 would never upload, and a
	 * negative value must not wrap to a huge unsigned one.
	 */
	CU_ASSERT(load(&cf, fmt("upload-max-pending = 0\n%s", svc)) == -1);
	CU_ASSERT(load(&cf, fmt("upload-max-pending = -1\n%s", svc)) == -1);
	CU_ASSERT(load(&cf, fmt("upload-max-pending = 100001\n%s", svc)) ==
	    -1);
	CU_ASSERT(load(&cf, fmt("upload-max-pending = 4294967297\n%s",
	    svc)) == -1);
	CU_ASSERT(load(&cf, fmt("upload-max-pending = \"x\"\n%s", svc)) ==
	    -1);
	CU_ASSERT(load(&cf, fmt("upload-max-pending = 1\n%s", svc)) == 0 &&
	    cf.upload_max_pending == 1);
	conf_clear(&cf);
	CU_ASSERT(load(&cf, fmt("upload-max-pending = 100000\n%s", svc)) ==
	    0 && cf.upload_max_pending == 100000);
	conf_clear(&cf);
	CU_ASSERT(load(&cf, svc) == 0 && cf.upload_max_pending == 24);
	conf_clear(&cf);
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

/* Masters listed in a pool; each master once, whatever the form. */
static void
test_conf_pool_services(void)
{
	struct conf	cf;

	addrs_make();
	CU_ASSERT_FATAL(load(&cf, fmt("pool web { backends = { %s, %s } "
	    "services = { %s, \"%s.onion\" } }\n"
	    "service %s { pool = web intro-points = 3 }\n",
	    addr[0], addr[1], addr[2], addr[3], addr[4])) == 0);
	CU_ASSERT(cf.nservices == 3 && cf.nbackends == 2);
	CU_ASSERT(strcmp(cf.services[0].addr, addr[4]) == 0 &&
	    cf.services[0].sel.target == 3);
	CU_ASSERT(strcmp(cf.services[2].addr, addr[3]) == 0);
	CU_ASSERT(cf.services[1].pool == 0 && cf.services[2].pool == 0);
	CU_ASSERT(cf.services[1].sel.policy == SEL_POLICY_STEADY &&
	    cf.services[1].sel.target == 10);
	conf_clear(&cf);
	/* Twice: in the list and as a section, or twice in a list. */
	CU_ASSERT(load(&cf, fmt("pool web { backends = { %s } "
	    "services = { %s } }\nservice %s { pool = web }\n",
	    addr[0], addr[2], addr[2])) == -1);
	CU_ASSERT(load(&cf, fmt("pool web { backends = { %s } "
	    "services = { %s, %s } }\n", addr[0], addr[2], addr[2])) == -1);
	/* A master that is a backend, a bad address. */
	CU_ASSERT(load(&cf, fmt("pool web { backends = { %s } "
	    "services = { %s } }\n", addr[0], addr[0])) == -1);
	CU_ASSERT(load(&cf, fmt("pool a { backends = { %s } }\n"
	    "pool b { backends = { %s } services = { %s } }\n", addr[0],
	    addr[1], addr[0])) == -1);
	CU_ASSERT(load(&cf, fmt("pool web { backends = { %s } "
	    "services = { nope } }\n", addr[0])) == -1);
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
	CU_ASSERT_FATAL((c.services[0].slot[0].up = calloc(2,
	    sizeof(struct upload))) != NULL);
	c.services[0].slot[0].up[0].state = UPLOAD_OK;
	c.services[0].slot[0].up[0].last_at = time(NULL) - 5;
	memset(c.services[0].slot[0].up[1].hsdir, 0xab, HS_RSA_ID_LEN);
	c.services[0].slot[0].up[1].last_at = time(NULL) - 7;
	c.services[0].slot[0].up[1].attempts = 1;
	/* Through the event path: tor's reason is kept per HSDir. */
	c.services[0].slot[0].up[1].state = UPLOAD_PENDING;
	publish_upload_event(&c, fmt("%s.onion", addr[0]),
	    c.services[0].slot[0].up[1].hsdir, 0, NULL, "UPLOAD_REJECTED",
	    time(NULL));
	CU_ASSERT(c.services[0].slot[0].up[1].state == UPLOAD_FAILED);
	/* The signer refused backend addr[2] for service addr[0] (member
	 * 1 of its pool) and said how far its horizon reaches. */
	c.backends[1].gen = 3;
	c.services[0].rejected_gen[1] = 3;
	c.services[0].sent_gen[1] = 3;
	collector_verdict_set(&c.services[0], 1, 2, "intro point \"x\" bad");
	{
		struct sc_reply *rp;

		CU_ASSERT_FATAL((rp = calloc(1, sizeof(*rp))) != NULL);
		rp->ok = 1;
		rp->u.status.n = 2;
		(void)snprintf(rp->u.status.svc[0].service,
		    sizeof(rp->u.status.svc[0].service), "%s", addr[3]);
		rp->u.status.svc[0].state = PROTO_HORIZON_WARN;
		rp->u.status.svc[0].horizon = (uint64_t)time(NULL) + 7200;
		/* Not ours: ignored. */
		(void)snprintf(rp->u.status.svc[1].service,
		    sizeof(rp->u.status.svc[1].service), "%s", addr[5]);
		collector_horizon_update(&c, rp, time(NULL));
		free(rp);
	}
	CU_ASSERT(c.services[1].hz_known && !c.services[0].hz_known);
	CU_ASSERT(c.services[1].hz_state == PROTO_HORIZON_WARN);

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
	CU_ASSERT(strstr(text, "\"state\":\"failed\",\"last\":") != NULL);
	CU_ASSERT(strstr(text, "\"attempts\":2,\"result\":"
	    "\"UPLOAD_REJECTED\"") != NULL);
	CU_ASSERT(strstr(text, fmt("{\"address\":\"%s.onion\",\"state\":"
	    "\"down\",\"rule\":\"expired\",\"signer\":\"refused\","
	    "\"refusal\":\"intro point \\\"x\\\" bad\"}", addr[2])) != NULL);
	CU_ASSERT(strstr(text, "\"signer_horizon\":{\"state\":\"warning\","
	    "\"horizon\":") != NULL);
	CU_ASSERT(strstr(text, "\"signer_horizon\":null") != NULL);
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
		    "s=d[\"services\"]; "
		    "assert s[1][\"signer_horizon\"][\"left\"]>7000; "
		    "assert s[0][\"backends\"][1][\"signer\"]==\"refused\"; "
		    "u=s[0][\"descriptors\"][0][\"uploads\"]; "
		    "assert u[1][\"result\"]==\"UPLOAD_REJECTED\"; "
		    "assert u[1][\"hsdir\"]==\"AB\"*20; "
		    "assert d[\"backends\"][1][\"state\"]==\"down\"' %s",
		    path);
		CU_ASSERT(system(cmd) == 0);
	}
	free(text);
	buf_reset(b);
	CU_ASSERT_FATAL(status_render(b, &c, 0, time(NULL)) == 0);
	CU_ASSERT_FATAL(buf_dup_cstr(b, &text) == 0);
	CU_ASSERT(strstr(text, "DOWN") != NULL);
	CU_ASSERT(strstr(text, "signer horizon: warning, ") != NULL);
	CU_ASSERT(strstr(text, "signer horizon: not reported yet") != NULL);
	CU_ASSERT(strstr(text, "signer refused: intro point \"x\" bad") !=
	    NULL);
	CU_ASSERT(strstr(text, "hsdir "
	    "$ABABABABABABABABABABABABABABABABABABABAB  failed ") != NULL);
	CU_ASSERT(strstr(text, "ago: UPLOAD_REJECTED") != NULL);
	free(text);
	/* One service only (thousands would make a huge answer). */
	buf_reset(b);
	CU_ASSERT_FATAL(status_render_service(b, &c, 1,
	    fmt("%s.onion", addr[3]), time(NULL)) == 0);
	CU_ASSERT_FATAL(buf_dup_cstr(b, &text) == 0);
	CU_ASSERT(json_balanced(text));
	CU_ASSERT(strstr(text, fmt("\"services\":[{\"address\":\"%s.onion\"",
	    addr[3])) != NULL);
	CU_ASSERT(strstr(text, fmt("\"address\":\"%s.onion\",\"policy",
	    addr[0])) == NULL);
	free(text);
	buf_reset(b);
	CU_ASSERT_FATAL(status_render_service(b, &c, 0, addr[5],
	    time(NULL)) == 0);
	CU_ASSERT_FATAL(buf_dup_cstr(b, &text) == 0);
	CU_ASSERT_STRING_EQUAL(text, "no such service\n");
	free(text);
	buf_free(b);
	collector_clear(&c);
}

/*
 * Health checks that fail on our side of tor's SocksPort (here: a
 * socks-port that is no address) say nothing about the backend and are
 * not counted; failures tor reports about the service are.
 */
static void
test_health_local(void)
{
	struct conf		 cf;
	struct collector	 c;
	struct backend		*bk;
	time_t			 now = time(NULL);
	unsigned		 i;

	addrs_make();
	CU_ASSERT_FATAL(load(&cf, fmt("health-check = true\n"
	    "service %s { backends = { %s } }\n", addr[0], addr[1])) == 0);
	CU_ASSERT_FATAL(collector_init(&c, &cf) == 0);
	free(c.cf.socks);
	CU_ASSERT_FATAL((c.cf.socks = strdup("nonsense")) != NULL);
	bk = &c.backends[0];
	bk->have_desc = 1;
	bk->expires = now + 3600;
	bk->rev_changed = now;
	backend_judge(&c, bk, now);
	CU_ASSERT_FATAL(bk->up);
	for (i = 0; i < c.cf.health_failures + 2; i++)
		collector_health_start(&c, bk, now);
	CU_ASSERT(bk->hc_failures == 0);
	CU_ASSERT(bk->up && bk->reason == BR_NONE);
	CU_ASSERT(strstr(bk->hc_error, "local tor") != NULL);
	CU_ASSERT(bk->hc_fd == -1);
	/* What tor says about the service counts... */
	for (i = 0; i < c.cf.health_failures; i++)
		collector_health_finish(&c, bk, HC_R_FAIL, "SOCKS reply 0xf2",
		    now);
	CU_ASSERT(!bk->up && bk->reason == BR_HEALTH);
	/* ...and a local failure neither adds to it nor clears it. */
	collector_health_finish(&c, bk, HC_R_LOCAL, "SOCKS greeting refused",
	    now);
	CU_ASSERT(bk->hc_failures == c.cf.health_failures);
	CU_ASSERT(!bk->up && bk->reason == BR_HEALTH);
	collector_health_finish(&c, bk, HC_R_OK, NULL, now);
	CU_ASSERT(bk->up && bk->hc_failures == 0 && bk->hc_error[0] == '\0');
	collector_clear(&c);
}

/*
 * SIGHUP: what stays keeps its state, what goes is dropped, what changed
 * is republished; settings that need a restart keep their old value.
 * addr[0], addr[3], addr[4] are masters; addr[1], addr[2], addr[5]
 * backends.
 */
static void
test_reload(void)
{
	struct conf		 cf, ncf;
	struct collector	 c;
	struct service		*s;
	struct backend		*b;
	struct upload		*up0;
	uint8_t			*doc;

	addrs_make();
	CU_ASSERT_FATAL(load(&cf, fmt("control-port = \"127.0.0.1:9051\"\n"
	    "fetch-interval = 20\n"
	    "service %s { backends = { %s, %s } }\n"
	    "service %s { backends = { %s } intro-points = 4 }\n",
	    addr[0], addr[1], addr[2], addr[3], addr[1])) == 0);
	CU_ASSERT_FATAL(collector_init(&c, &cf) == 0);
	/* State to carry: backend addr[2]'s descriptor generation and
	 * raw copy, the signer's verdicts, addr[0]'s published slot. */
	b = collector_backend_find(&c, fmt("%s.onion", addr[2]));
	CU_ASSERT_FATAL(b != NULL && b == &c.backends[1]);
	b->gen = 7;
	b->rank = 12345;
	CU_ASSERT_FATAL((b->raw = malloc(4)) != NULL);
	b->rawlen = 4;
	s = collector_service_find(&c, addr[0]);
	CU_ASSERT_FATAL(s == &c.services[0]);
	s->verified_gen[1] = 7;
	s->sent_gen[1] = 7;
	s->sent_gen[0] = 2;	/* in flight: must be asked again */
	s->slot[0].valid = 1;
	s->slot[0].tp = 20001;
	s->slot[0].nup = 1;
	s->slot[0].next_publish = time(NULL) + 3000;
	CU_ASSERT_FATAL((up0 = calloc(1, sizeof(*up0))) != NULL);
	up0->state = UPLOAD_OK;
	s->slot[0].up = up0;
	CU_ASSERT_FATAL((doc = malloc(10)) != NULL);
	s->slot[0].docs[0] = doc;
	c.services[1].slot[0].next_publish = time(NULL) + 3000;
	CU_ASSERT(collector_service_find(&c, "nonsense") == NULL);
	CU_ASSERT(collector_service_find(&c, fmt("%s.onionx", addr[0])) ==
	    NULL);

	/* Not while a publish job runs. */
	CU_ASSERT_FATAL(load(&ncf, fmt("control-port = \"127.0.0.1:1\"\n"
	    "fetch-interval = 40\n"
	    "service %s { backends = { %s, %s } intro-points = 4 }\n"
	    "service %s { backends = { %s, %s } }\n"
	    "service %s { backends = { %s, %s } }\n",
	    addr[3], addr[1], addr[5], addr[4], addr[5], addr[2],
	    addr[0], addr[2], addr[1])) == 0);
	c.jobs = 1;
	CU_ASSERT(collector_reload(&c, &ncf) == -1);
	c.jobs = 0;
	CU_ASSERT_FATAL(collector_reload(&c, &ncf) == 0);
	CU_ASSERT(ncf.services == NULL && ncf.nservices == 0);
	CU_ASSERT(c.epoch == 1);
	CU_ASSERT(c.nservices == 3 && c.nbackends == 3);
	/* Timers take effect; the control port needs a restart. */
	CU_ASSERT(c.cf.fetch_interval == 40);
	CU_ASSERT_STRING_EQUAL(c.cf.control, "127.0.0.1:9051");
	/* addr[2] kept its state at a new index. */
	b = collector_backend_find(&c, addr[2]);
	CU_ASSERT_FATAL(b != NULL);
	CU_ASSERT(b->gen == 7 && b->rank == 12345 && b->rawlen == 4);
	CU_ASSERT(b->cf == &c.cf.backends[b - c.backends]);
	CU_ASSERT(collector_backend_find(&c, addr[5]) != NULL);
	CU_ASSERT(collector_backend_find(&c, addr[5])->gen == 0);
	/* addr[0]: same pool in another order; verdicts follow backends. */
	s = collector_service_find(&c, addr[0]);
	CU_ASSERT_FATAL(s != NULL && s == &c.services[2]);
	CU_ASSERT(s->cf == &c.cf.services[2]);
	CU_ASSERT(strcmp(c.cf.backends[
	    c.cf.pools[s->cf->pool].backends[0]].addr, addr[2]) == 0);
	CU_ASSERT(s->verified_gen[0] == 7 && s->sent_gen[0] == 7);
	CU_ASSERT(s->verified_gen[1] == 0 && s->sent_gen[1] == 0);
	/* Its published state is untouched: not republished. */
	CU_ASSERT(s->slot[0].up == up0 && s->slot[0].nup == 1 &&
	    s->slot[0].docs[0] == doc && s->slot[0].tp == 20001);
	CU_ASSERT(s->slot[0].next_publish > time(NULL));
	/* addr[3] changed pool: republished at the next turn. */
	s = collector_service_find(&c, addr[3]);
	CU_ASSERT_FATAL(s != NULL);
	CU_ASSERT(s->slot[0].next_publish == 0);
	/* addr[4] is new. */
	s = collector_service_find(&c, addr[4]);
	CU_ASSERT_FATAL(s != NULL);
	CU_ASSERT(s->slot[0].up == NULL && s->verified_gen[0] == 0);

	/* A bad file changes nothing (main keeps the running one). */
	CU_ASSERT(load(&ncf, "service x { }\n") == -1);
	/* Removing everything but one service, and its backends. */
	CU_ASSERT_FATAL(load(&ncf, fmt("service %s { backends = { %s } }\n",
	    addr[4], addr[5])) == 0);
	CU_ASSERT_FATAL(collector_reload(&c, &ncf) == 0);
	CU_ASSERT(c.nservices == 1 && c.nbackends == 1 && c.epoch == 2);
	CU_ASSERT(collector_service_find(&c, addr[0]) == NULL);
	CU_ASSERT(collector_backend_find(&c, addr[2]) == NULL);
	CU_ASSERT(collector_service_find(&c, addr[4]) == &c.services[0]);
	collector_clear(&c);
}

/*
 * The hosting case: thousands of masters over one pool.  Everything the
 * collector does per service on a consensus (HSDirs), per second (the
 * publish scheduler) and per HS_DESC event (finding the service) must
 * grow linearly: the test runs S = 1000 and 10000, checks by counting
 * that nothing is redone per service, and prints the times (bench/ is
 * where timing is judged).  The view is the
 * captured test network's (tests/vectors/torctl).
 */
static struct hsdir_view *
scale_view(void)
{
	struct hsdir_view	*v;
	struct torctl_parser	*p;
	struct torctl_reply	*rp;
	const char		*files[2] = {
		"torctl/getinfo-consensus-microdesc.raw",
		"torctl/getinfo-md-all.raw" };
	const char		*keys[2] = {
		"dir/status-vote/current/consensus-microdesc", "md/all" };
	const uint8_t		*val;
	uint8_t			*raw;
	size_t			 len, vl;
	int			 i;

	CU_ASSERT_FATAL((v = hsdir_view_new()) != NULL);
	for (i = 0; i < 2; i++) {
		raw = test_read_file(test_vector_path(files[i]), &len);
		CU_ASSERT_FATAL(raw != NULL);
		CU_ASSERT_FATAL((p = torctl_parser_new(0, 0)) != NULL);
		CU_ASSERT(torctl_parser_feed(p, raw, len) == 0);
		CU_ASSERT_FATAL(torctl_parser_next(p, &rp) == 1);
		CU_ASSERT_FATAL(torctl_getinfo_value(rp, keys[i], &val,
		    &vl) == 0);
		if (i == 0) {
			CU_ASSERT(hsdir_view_parse_consensus(v, val, vl) == 0);
		} else {
			CU_ASSERT(hsdir_view_add_mds(v, val, vl) == 0);
		}
		torctl_reply_free(rp);
		torctl_parser_free(p);
		free(raw);
	}
	CU_ASSERT(hsdir_view_finish(v, 1) == 0);
	return v;
}

static long
rss_kb(void)
{
	FILE	*f;
	long	 pages = 0, rss = 0;

	if ((f = fopen("/proc/self/statm", "r")) == NULL)
		return 0;
	if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
		rss = 0;
	fclose(f);
	return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

struct scale_times {
	double	load, init, refresh, refresh2, tick, tick2, tick3, events;
	size_t	nevents, matched;
	long	rss;
};

static void
scale_run(size_t nsvc, struct scale_times *t)
{
	struct conf		 cf;
	struct collector	 c;
	struct buf		*b;
	char			*text, a[HS_ADDR_LEN + 1];
	uint8_t			 sd[ED25519_SEED_LEN], pk[ED25519_PK_LEN];
	uint8_t			 sk[ED25519_EXPANDED_LEN];
	size_t			 i, k;
	long			 rss0;
	double			 t0;
	time_t			 now = time(NULL);
	int			 w;

	CU_ASSERT_FATAL((b = buf_new(0)) != NULL);
	CU_ASSERT(buf_put_str(b, "pool web { backends = { ") == 0);
	for (i = 0; i < 10 + nsvc; i++) {
		memset(sd, 0, sizeof(sd));
		memcpy(sd, &i, sizeof(i));
		sd[31] = 0x5c;
		CU_ASSERT_FATAL(hs_expanded_from_seed(sk, sd) == 0);
		CU_ASSERT_FATAL(hs_expanded_pubkey(pk, sk) == 0);
		CU_ASSERT_FATAL(hs_address_encode(a, pk) == 0);
		/* The hosting form: one list, no titled sections. */
		CU_ASSERT(buf_putf(b, "%s%s", i == 0 ? "" : i == 10 ?
		    " } services = { " : ", ", a) == 0);
	}
	CU_ASSERT(buf_put_str(b, " } }\n") == 0);
	CU_ASSERT_FATAL(buf_dup_cstr(b, &text) == 0);
	buf_free(b);
	rss0 = rss_kb();
	t0 = test_now();
	CU_ASSERT_FATAL(load(&cf, text) == 0);
	CU_ASSERT_FATAL(cf.nservices == nsvc);
	/* libconfuse grows its lists one realloc at a time: timed apart,
	 * not bounded (linear in release builds, not under ASan). */
	t->load = test_now() - t0;
	t0 = test_now();
	CU_ASSERT_FATAL(collector_init(&c, &cf) == 0);
	t->init = test_now() - t0;
	free(text);
	CU_ASSERT_FATAL((c.sc = sc_new("/nonexistent/signer.sock", 1)) !=
	    NULL);
	c.view = scale_view();
	/* Every backend up with 3 intro points the signer accepted for
	 * every service: the scheduler runs selection for each. */
	for (i = 0; i < c.nbackends; i++)
		backend_fake_up(&c.backends[i], i);
	for (i = 0; i < c.nservices; i++)
		for (k = 0; k < c.cf.pools[0].nbackends; k++)
			c.services[i].verified_gen[k] = 1;
	t0 = test_now();
	publish_refresh_hsdirs(&c, now);	/* a consensus arrives */
	t->refresh = test_now() - t0;
	/* The next consensus, same period, in the loop's steps. */
	t0 = test_now();
	publish_refresh_start(&c);
	k = 1;
	while (publish_refresh_step(&c, 500))
		k++;
	t->refresh2 = test_now() - t0;
	CU_ASSERT(k == (nsvc + 499) / 500);
	CU_ASSERT(publish_refresh_step(&c, 500) == 0);
	for (i = 0; i < c.nservices; i++)
		CU_ASSERT(c.services[i].slot[0].valid &&
		    c.services[i].slot[0].nup > 0 &&
		    c.services[i].slot[1].nup > 0);
	t0 = test_now();
	publish_run(&c, now);			/* one scheduler second */
	t->tick = test_now() - t0;
	CU_ASSERT(c.selections == 2 * nsvc);
	/* Steady state: what the scheduler would choose is published. */
	{
		struct sel_input	in[10];
		struct sel_set		kept;
		uint64_t		n0;

		CU_ASSERT_FATAL(c.cf.pools[0].nbackends == 10);
		for (k = 0; k < 10; k++) {
			in[k].desc =
			    &c.backends[c.cf.pools[0].backends[k]].desc;
			in[k].rank =
			    c.backends[c.cf.pools[0].backends[k]].rank;
		}
		for (i = 0; i < c.nservices; i++)
			for (w = 0; w < 2; w++) {
				struct desc_slot *sl = &c.services[i].slot[w];

				sl->last_publish = now;
				sl->next_publish = now + 3600;
				sl->hsdirs_changed = 0;
				CU_ASSERT(select_intro_points(&kept, in, 10,
				    &c.services[i].cf->sel, NULL, 0) == 0);
				CU_ASSERT_FATAL(publish_slot_keep(sl, &kept,
				    1) == 0);
			}
		n0 = c.selections;
		t0 = test_now();
		publish_run(&c, now);	/* chooses, finds nothing new */
		t->tick2 = test_now() - t0;
		CU_ASSERT(c.selections == n0 + 2 * nsvc);
		n0 = c.selections;
		t0 = test_now();
		publish_run(&c, now);	/* nothing moved: no choice */
		t->tick3 = test_now() - t0;
		CU_ASSERT(c.selections == n0);
		/* A backend's newly verified descriptor: all choose again. */
		c.backends[c.cf.pools[0].backends[3]].gen = 2;
		for (i = 0; i < c.nservices; i++)
			c.services[i].verified_gen[3] = 2;
		publish_run(&c, now);
		CU_ASSERT(c.selections == n0 + 2 * nsvc);
	}
	t->rss = rss_kb() - rss0;
	/* One HS_DESC UPLOADED per HSDir of every live descriptor. */
	t->nevents = t->matched = 0;
	for (i = 0; i < c.nservices; i++)
		for (w = 0; w < 2; w++)
			for (k = 0; k < c.services[i].slot[w].nup; k++)
				c.services[i].slot[w].up[k].state =
				    UPLOAD_PENDING;
	t0 = test_now();
	for (i = 0; i < c.nservices; i++)
		for (w = 0; w < 2; w++)
			for (k = 0; k < c.services[i].slot[w].nup; k++) {
				publish_upload_event(&c,
				    c.services[i].cf->addr,
				    c.services[i].slot[w].up[k].hsdir, 1,
				    NULL, NULL, now);
				t->nevents++;
			}
	t->events = test_now() - t0;
	t->matched = (size_t)c.uploads_ok;
	sc_free(c.sc);
	collector_clear(&c);
}

static void
test_scale(void)
{
	struct scale_times	t1, t2;

	scale_run(1000, &t1);
	scale_run(10000, &t2);
	fprintf(stderr, "\n  scale: config parse %.3fs, %.3fs", t1.load,
	    t2.load);
	fprintf(stderr, "\n  scale S=1000:  init %.3fs consensus %.3fs then "
	    "%.3fs tick %.4fs/%.4fs/%.4fs %zu events %.3fs, +%ld kB\n",
	    t1.init, t1.refresh, t1.refresh2, t1.tick, t1.tick2, t1.tick3,
	    t1.nevents, t1.events, t1.rss);
	fprintf(stderr, "  scale S=10000: init %.3fs consensus %.3fs then "
	    "%.3fs tick %.4fs/%.4fs/%.4fs %zu events %.3fs, +%ld kB\n  ",
	    t2.init, t2.refresh, t2.refresh2, t2.tick, t2.tick2, t2.tick3,
	    t2.nevents, t2.events, t2.rss);
	/* Every event found its upload. */
	CU_ASSERT(t1.nevents > 1000 && t1.matched == t1.nevents);
	CU_ASSERT(t2.nevents > 10000 && t2.matched == t2.nevents);
	/*
	 * The figures above are printed, never asserted: timing belongs in
	 * bench/, not in tests on a shared machine.  What must hold for the
	 * curve to be flat is checked by counting: every event was matched
	 * through the index (above), and within a period no key is blinded
	 * again (the counters the scheduler keeps, checked in scale_run).
	 */
}

/*
 * The consensus load against a scripted tor in this process: a complete
 * load swaps the view in; a refused md/all or a connection that drops
 * during it keeps the previous view (an empty ring would send every
 * descriptor to the wrong HSDirs).  The documents are the captured test
 * network's (tests/vectors/torctl).
 */
struct faketor {
	int		 lfd, cfd;
	char		 in[4096];
	size_t		 inlen;
	int		 md_mode;	/* 0 answer, 1 refuse, 2 hang up */
	int		 md_asked;
	int		 in_post;	/* inside a +HSPOST body */
	size_t		 posts, post_servers;
	uint8_t		*cons, *mds;
	size_t		 conslen, mdslen;
};

static void
ft_send(struct faketor *ft, const void *p, size_t n)
{
	const uint8_t	*q = p;
	ssize_t		 w;
	struct pollfd	 pfd;

	while (n > 0 && ft->cfd != -1) {
		pfd.fd = ft->cfd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, 1000) != 1 ||
		    (w = send(ft->cfd, q, n, MSG_NOSIGNAL)) <= 0)
			break;
		q += w;
		n -= (size_t)w;
	}
}

static void
ft_line(struct faketor *ft, const char *line)
{
	static const char pi[] = "250-PROTOCOLINFO 1\r\n250-AUTH "
	    "METHODS=NULL\r\n250-VERSION Tor=\"0.4.9.11\"\r\n250 OK\r\n";

	const char	*p;

	/* +HSPOST SERVER=... HSADDRESS=...: the body up to ".". */
	if (ft->in_post) {
		if (strcmp(line, ".") == 0) {
			ft->in_post = 0;
			ft_send(ft, "250 OK\r\n", 8);
		}
		return;
	}
	if (strncmp(line, "+HSPOST", 7) == 0) {
		ft->in_post = 1;
		ft->posts++;
		for (p = line; (p = strstr(p, "SERVER=")) != NULL; p++)
			ft->post_servers++;
	} else if (strncmp(line, "PROTOCOLINFO", 12) == 0)
		ft_send(ft, pi, sizeof(pi) - 1);
	else if (strcmp(line, "GETINFO "
	    "dir/status-vote/current/consensus-microdesc") == 0)
		ft_send(ft, ft->cons, ft->conslen);
	else if (strcmp(line, "GETINFO md/all") == 0) {
		ft->md_asked++;
		if (ft->md_mode == 0)
			ft_send(ft, ft->mds, ft->mdslen);
		else if (ft->md_mode == 1)
			ft_send(ft, "552 internal error\r\n", 20);
		else {
			close(ft->cfd);
			ft->cfd = -1;
		}
	} else if (strncmp(line, "GETINFO md/id/", 14) == 0)
		ft_send(ft, "552 Unrecognized key\r\n", 22);
	else
		ft_send(ft, "250 OK\r\n", 8);
}

static void
ft_pump(struct faketor *ft, struct torctl *tc, int ms)
{
	struct pollfd	pfd[3];
	char		*nl;
	ssize_t		 n;
	size_t		 k;
	int		 to;

	for (; ms > 0; ms -= 10) {
		torctl_pollfd(tc, &pfd[0]);
		pfd[1].fd = ft->lfd;
		pfd[1].events = POLLIN;
		pfd[2].fd = ft->cfd;
		pfd[2].events = POLLIN;
		pfd[1].revents = pfd[2].revents = 0;
		to = torctl_timeout(tc);
		if (to < 0 || to > 10)
			to = 10;
		(void)poll(pfd, 3, to);
		torctl_process(tc, pfd[0].fd == -1 ? 0 : pfd[0].revents);
		if ((pfd[1].revents & POLLIN) && ft->cfd == -1) {
			ft->cfd = accept(ft->lfd, NULL, NULL);
			ft->inlen = 0;
		}
		if (ft->cfd == -1 || !(pfd[2].revents & (POLLIN | POLLHUP)))
			continue;
		if ((n = recv(ft->cfd, ft->in + ft->inlen,
		    sizeof(ft->in) - 1 - ft->inlen, 0)) <= 0) {
			close(ft->cfd);
			ft->cfd = -1;
			continue;
		}
		ft->inlen += (size_t)n;
		ft->in[ft->inlen] = '\0';
		while (ft->cfd != -1 &&
		    (nl = strstr(ft->in, "\r\n")) != NULL) {
			*nl = '\0';
			ft_line(ft, ft->in);
			k = (size_t)(nl + 2 - ft->in);
			memmove(ft->in, ft->in + k, ft->inlen - k + 1);
			ft->inlen -= k;
		}
	}
}

/*
 * A scripted tor on a loopback port, answering with the test vectors'
 * consensus; "where" gets its address.  -1 when no listener can be
 * made here (nothing left open).
 */
static int
ft_open(struct faketor *ft, char *where, size_t wlen)
{
	struct sockaddr_in	sin;
	socklen_t		sl = sizeof(sin);

	memset(ft, 0, sizeof(*ft));
	ft->cfd = -1;
	ft->cons = test_read_file(test_vector_path(
	    "torctl/getinfo-consensus-microdesc.raw"), &ft->conslen);
	ft->mds = test_read_file(test_vector_path("torctl/getinfo-md-all.raw"),
	    &ft->mdslen);
	CU_ASSERT_FATAL(ft->cons != NULL && ft->mds != NULL);
	CU_ASSERT_FATAL((ft->lfd = socket(AF_INET, SOCK_STREAM, 0)) != -1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(ft->lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(ft->lfd, 4) == -1 ||
	    getsockname(ft->lfd, (struct sockaddr *)&sin, &sl) == -1) {
		close(ft->lfd);
		free(ft->cons);
		free(ft->mds);
		return -1;
	}
	(void)snprintf(where, wlen, "127.0.0.1:%u", ntohs(sin.sin_port));
	return 0;
}

/* The collector's control connection to it, started. */
static void
ft_connect(struct collector *c, const char *where)
{
	struct torctl_config	tcc;

	c->testnet = 1;
	memset(&tcc, 0, sizeof(tcc));
	tcc.address = where;
	tcc.auth = TORCTL_AUTH_AUTO;
	tcc.backoff_min_ms = 10;
	tcc.backoff_max_ms = 20;
	CU_ASSERT_FATAL((c->tc = torctl_new(&tcc, NULL, NULL, c)) != NULL);
	torctl_start(c->tc);
}

static void
ft_close(struct faketor *ft, struct collector *c)
{
	torctl_free(c->tc);
	c->tc = NULL;
	collector_clear(c);
	if (ft->cfd != -1)
		close(ft->cfd);
	close(ft->lfd);
	free(ft->cons);
	free(ft->mds);
}

/* Load once more; returns once the load has ended (or 5 s). */
static void
ft_load(struct faketor *ft, struct collector *c)
{
	int	i;

	for (i = 0; i < 500 && torctl_state(c->tc) != TORCTL_READY; i++)
		ft_pump(ft, c->tc, 10);
	CU_ASSERT_FATAL(torctl_state(c->tc) == TORCTL_READY);
	collector_view_load(c);
	CU_ASSERT(c->view_loading == 1);
	for (i = 0; i < 500 && c->view_loading; i++)
		ft_pump(ft, c->tc, 10);
	CU_ASSERT(c->view_loading == 0);
}

/*
 * The collector asks the signer only for periods in their window of use
 * by the clock (the signer's own rule), not for one tor's older
 * consensus still lists: 24 h periods, 12 h offset, window 48 h.
 */
static void
test_period_live(void)
{
	const uint64_t	tp = 20000;
	const time_t	ws = (time_t)tp * 86400, we = ws + 48 * 3600;

	CU_ASSERT(publish_period_live(tp, 1440, 720, ws) == 1);
	CU_ASSERT(publish_period_live(tp, 1440, 720, ws + 3600) == 1);
	CU_ASSERT(publish_period_live(tp, 1440, 720, we) == 1);
	CU_ASSERT(publish_period_live(tp, 1440, 720, ws - 1) == 0);
	CU_ASSERT(publish_period_live(tp, 1440, 720, we + 1) == 0);
	/* The next period overlaps it by its offset on each side. */
	CU_ASSERT(publish_period_live(tp + 1, 1440, 720, we - 1) == 1);
	CU_ASSERT(publish_period_live(tp - 1, 1440, 720, ws + 24 * 3600) ==
	    1);
	CU_ASSERT(publish_period_live(tp - 1, 1440, 720,
	    ws + 24 * 3600 + 1) == 0);
	/* Parameters the signer would refuse are left to it to refuse. */
	CU_ASSERT(publish_period_live(tp, 0, 720, ws - 10) == 1);
}

/*
 * A slot's descriptors share one auth ephemeral key pair per period, as
 * tor's do across re-uploads; a new period gets a new pair.
 */
static void
test_eph_key(void)
{
	struct desc_slot	sl;
	uint8_t			sk[X25519_KEY_LEN], pk[X25519_KEY_LEN];
	uint8_t			zero[X25519_KEY_LEN];

	memset(&sl, 0, sizeof(sl));
	memset(zero, 0, sizeof(zero));
	CU_ASSERT_FATAL(publish_eph_key(&sl, 100) == 0);
	CU_ASSERT(sl.have_eph && sl.eph_tp == 100);
	CU_ASSERT(memcmp(sl.eph_sk, zero, sizeof(zero)) != 0);
	CU_ASSERT_FATAL(ob_x25519_pubkey(pk, sl.eph_sk) == 0);
	CU_ASSERT(memcmp(pk, sl.eph_pk, sizeof(pk)) == 0);
	memcpy(sk, sl.eph_sk, sizeof(sk));
	CU_ASSERT(publish_eph_key(&sl, 100) == 0);
	CU_ASSERT(memcmp(sk, sl.eph_sk, sizeof(sk)) == 0 &&
	    memcmp(pk, sl.eph_pk, sizeof(pk)) == 0);
	CU_ASSERT(publish_eph_key(&sl, 101) == 0);
	CU_ASSERT(sl.eph_tp == 101);
	CU_ASSERT(memcmp(sk, sl.eph_sk, sizeof(sk)) != 0 &&
	    memcmp(pk, sl.eph_pk, sizeof(pk)) != 0);
	CU_ASSERT_FATAL(ob_x25519_pubkey(pk, sl.eph_sk) == 0);
	CU_ASSERT(memcmp(pk, sl.eph_pk, sizeof(pk)) == 0);
	ob_wipe(sl.eph_sk, sizeof(sl.eph_sk));
	ob_wipe(sk, sizeof(sk));
}

/*
 * Uploads are paced: with upload-max-pending N, tor is never handed
 * more than N uploads without an event back (beyond one set when none
 * is in flight), and every upload is still made, once each.
 */
static void
test_upload_pacing(void)
{
	struct conf		 cf;
	struct collector	 c;
	struct faketor		 ft;
	char			 where[64];
	size_t			 i, k, total = 0, pending, most = 0, ok;
	size_t			 rounds, firstmost = 0;
	time_t			 now = time(NULL);
	int			 w;

	addrs_make();
	if (ft_open(&ft, where, sizeof(where)) == -1)
		TEST_SKIP("no loopback listener");
	CU_ASSERT_FATAL(load(&cf, fmt("upload-max-pending = 10\n"
	    "pool web { backends = { %s } services = { %s, %s, %s, %s, %s "
	    "} }\n", addr[0], addr[1], addr[2], addr[3], addr[4],
	    addr[5])) == 0);
	CU_ASSERT_FATAL(cf.upload_max_pending == 10);
	CU_ASSERT_FATAL(collector_init(&c, &cf) == 0);
	ft_connect(&c, where);
	ft_load(&ft, &c);
	CU_ASSERT_FATAL(c.view != NULL);
	/* Every live descriptor signed and waiting for its first upload. */
	for (i = 0; i < c.nservices; i++)
		for (w = 0; w < 2; w++) {
			struct desc_slot *s = &c.services[i].slot[w];

			if (!s->valid)
				continue;
			CU_ASSERT_FATAL(s->nup <= 10);
			CU_ASSERT_FATAL((s->docs[0] = (uint8_t *)strdup(
			    "hs-descriptor 3\n")) != NULL);
			s->doclens[0] = strlen((char *)s->docs[0]);
			s->nsets = 1;
			s->revision = 1;
			total += s->nup;
		}
	CU_ASSERT_FATAL(total > 20);
	for (rounds = 0; rounds < 100; rounds++) {
		publish_run(&c, now);
		ft_pump(&ft, c.tc, 30);
		pending = ok = 0;
		for (i = 0; i < c.nservices; i++)
			for (w = 0; w < 2; w++)
				for (k = 0; k < c.services[i].slot[w].nup;
				    k++) {
					struct upload *u =
					    &c.services[i].slot[w].up[k];

					pending += u->state == UPLOAD_PENDING;
					ok += u->state == UPLOAD_OK;
				}
		if (rounds == 0)
			firstmost = pending;
		if (pending > most)
			most = pending;
		if (ok == total)
			break;
		/* tor reports every upload in flight as done. */
		for (i = 0; i < c.nservices; i++)
			for (w = 0; w < 2; w++)
				for (k = 0; k < c.services[i].slot[w].nup;
				    k++)
					if (c.services[i].slot[w].up[k].state ==
					    UPLOAD_PENDING)
						publish_upload_event(&c,
						    c.services[i].cf->addr,
						    c.services[i].slot[w].up[k].
						    hsdir, 1, NULL, NULL, now);
	}
	fprintf(stderr, "\n  %zu uploads in %zu rounds, at most %zu pending ",
	    total, rounds + 1, most);
	CU_ASSERT(firstmost > 0 && firstmost <= 10);
	CU_ASSERT(most <= 10);
	CU_ASSERT(ok == total);
	CU_ASSERT(rounds >= (total + 9) / 10 - 1);
	CU_ASSERT(ft.post_servers == total);
	ft_close(&ft, &c);
}

static void
test_view_load(void)
{
	struct conf		 cf;
	struct collector	 c;
	struct faketor		 ft;
	struct hsdir_view	*v1;
	char			 where[64];

	addrs_make();
	if (ft_open(&ft, where, sizeof(where)) == -1)
		TEST_SKIP("no loopback listener");
	CU_ASSERT_FATAL(load(&cf, fmt("service %s { backends = { %s } }\n",
	    addr[0], addr[1])) == 0);
	CU_ASSERT_FATAL(collector_init(&c, &cf) == 0);
	ft_connect(&c, where);

	/* A complete load: swapped in, services get their HSDirs (in
	 * steps, the first at once). */
	ft_load(&ft, &c);
	CU_ASSERT_FATAL((v1 = c.view) != NULL);
	CU_ASSERT(c.services[0].slot[0].nup > 0);
	CU_ASSERT(ft.md_asked == 1);
	/* md/all refused: the old view stays. */
	ft.md_mode = 1;
	ft_load(&ft, &c);
	CU_ASSERT(ft.md_asked == 2);
	CU_ASSERT(c.view == v1);
	/* The connection drops during md/all: the old view stays. */
	ft.md_mode = 2;
	ft_load(&ft, &c);
	CU_ASSERT(ft.md_asked == 3);
	CU_ASSERT(c.view == v1);
	/* And a good one later replaces it. */
	ft.md_mode = 0;
	ft_load(&ft, &c);
	CU_ASSERT(ft.md_asked == 4);
	CU_ASSERT(c.view != NULL && c.view != v1);
	ft_close(&ft, &c);
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

/* A scripted signer's listening socket, test_tmpdir()/name; its path. */
static int
srv_listen(const char *name, char *path, size_t plen)
{
	struct sockaddr_un	sun;
	int			lfd;

	(void)snprintf(path, plen, "%s/%s", test_tmpdir(), name);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	CU_ASSERT_FATAL(strlen(path) < sizeof(sun.sun_path));
	memcpy(sun.sun_path, path, strlen(path));
	(void)unlink(path);
	CU_ASSERT_FATAL((lfd = socket(AF_UNIX, SOCK_STREAM, 0)) != -1);
	CU_ASSERT_FATAL(bind(lfd, (struct sockaddr *)&sun,
	    sizeof(sun)) == 0 && listen(lfd, 4) == 0);
	return lfd;
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

/*
 * Backend descriptors to the signer for many services: every (service,
 * backend) pair is asked exactly once, never more than 64 at a time, and
 * the queue refills as replies come (no one-second tick in between:
 * 2 x 300 pairs here, 2 x 10000 in the hosting case).  The scripted
 * signer refuses each, and the refusal is kept per service.
 */
static void
test_verify_sync(void)
{
	struct conf		 cf;
	struct collector	 c;
	struct msg_conn		 srv;
	struct msg		 m;
	struct buf		*p;
	char			 path[256];
	size_t			 i, k, pending, maxpend = 0, asked = 0;
	uint64_t		 req, fail;
	int			 lfd, round;
	const size_t		 nsvc = 300;

	addrs_make();
	load_pool(&cf, "", nsvc, 0x77);
	CU_ASSERT_FATAL(collector_init(&c, &cf) == 0);
	for (k = 0; k < 2; k++) {
		c.backends[k].have_desc = 1;
		c.backends[k].gen = 5;
		c.backends[k].tp = 100;
		CU_ASSERT_FATAL((c.backends[k].raw = malloc(8)) != NULL);
		memcpy(c.backends[k].raw, "hs-desc!", 8);
		c.backends[k].rawlen = 8;
	}

	lfd = srv_listen("signer-v.sock", path, sizeof(path));
	CU_ASSERT_FATAL((c.sc = sc_new(path, 10)) != NULL);
	sc_pump(c.sc, 20, NULL);
	CU_ASSERT_FATAL(srv_accept(lfd, &srv) == 0);
	CU_ASSERT_FATAL(srv_hello(c.sc, &srv) == 0);
	CU_ASSERT_FATAL((p = msg_payload_new()) != NULL);

	c.verify_dirty = 1;
	for (round = 0; round < 200 && asked < 2 * nsvc; round++) {
		collector_verify_sync(&c);
		sc_stats(c.sc, &req, &fail, &pending);
		if (pending > maxpend)
			maxpend = pending;
		sc_pump(c.sc, 10, NULL);
		/* Answer everything that arrived. */
		while (msg_conn_recv(&srv, &m, 20) == 0) {
			CU_ASSERT(m.type == PROTO_BACKEND_DESC);
			asked++;
			buf_reset(p);
			CU_ASSERT(msg_error_put(p, PROTO_R_BACKEND_DESC,
			    "no intro point verifies") == 0 &&
			    msg_conn_send(&srv, PROTO_ERROR, m.id, p) == 0);
		}
		CU_ASSERT(msg_conn_flush(&srv, 2000) == 0);
		sc_pump(c.sc, 20, NULL);
	}
	/* The last replies. */
	for (i = 0; i < 50; i++) {
		sc_stats(c.sc, &req, &fail, &pending);
		if (pending == 0)
			break;
		sc_pump(c.sc, 20, NULL);
	}
	fprintf(stderr, "%zu pairs in %d rounds, at most %zu in flight ",
	    asked, round, maxpend);
	CU_ASSERT(asked == 2 * nsvc);
	CU_ASSERT(maxpend <= 64 && maxpend > 0);
	/* 64 a round at worst, a round being one loop pass. */
	CU_ASSERT(round <= (int)(2 * nsvc / 64 + 3));
	for (i = 0; i < c.nservices; i++)
		for (k = 0; k < 2; k++) {
			CU_ASSERT(c.services[i].rejected_gen[k] == 5);
			CU_ASSERT(c.services[i].reject_detail != NULL &&
			    strcmp(c.services[i].reject_detail[k],
			    "backend-desc: no intro point verifies") == 0);
		}
	/* Nothing more to send: clean, and nothing is sent again. */
	collector_verify_sync(&c);
	CU_ASSERT(c.verify_dirty == 0);
	sc_stats(c.sc, &req, &fail, &pending);
	CU_ASSERT(pending == 0 && req == 2 * nsvc + 1);
	buf_free(p);
	srv_close(&srv);
	sc_free(c.sc);
	c.sc = NULL;
	close(lfd);
	(void)unlink(path);
	collector_clear(&c);
}

/*
 * Signed documents are built no faster than tor can take them: while
 * publish_max_unsent() documents wait for their first upload (the cap
 * holds them back), no publish job starts, since each would only hold
 * its document (~10 kB) in memory: S x 2 of them on a cold start, the
 * most of the collector's size on the test network.  As tor takes
 * them, jobs start again, never more than that bound at once.  The
 * scripted signer counts the RECERTIFY each job opens with.
 */
static void
test_publish_backlog(void)
{
	struct conf		 cf;
	struct collector	 c;
	struct faketor		 ft;
	struct msg_conn		 srv;
	struct msg		 m;
	struct sel_input	 in[2];
	struct sel_set		 kept;
	char			 where[64], path[256];
	size_t			 i, k, max, nfill, recert = 0, most = 0;
	size_t			 rounds, left;
	time_t			 now;
	int			 lfd, w;
	const size_t		 nsvc = 48;

	addrs_make();
	if (ft_open(&ft, where, sizeof(where)) == -1)
		TEST_SKIP("no loopback listener");
	load_pool(&cf, "upload-max-pending = 1\n", nsvc, 0x3b);
	CU_ASSERT_FATAL(collector_init(&c, &cf) == 0);
	max = publish_max_unsent(&c.cf);
	CU_ASSERT_FATAL(max >= 2 && max < nsvc);
	ft_connect(&c, where);
	ft_load(&ft, &c);
	CU_ASSERT_FATAL(c.view != NULL);
	while (publish_refresh_step(&c, 500))
		;
	/* Both backends up, 3 intro points each, verified for all. */
	for (i = 0; i < 2; i++) {
		struct backend *bk = &c.backends[c.cf.pools[0].backends[i]];

		backend_fake_up(bk, i);
		in[i].desc = &bk->desc;
		in[i].rank = bk->rank;
	}
	for (i = 0; i < c.nservices; i++)
		for (k = 0; k < 2; k++)
			c.services[i].verified_gen[k] = 1;
	/* A time both live periods are in their window of use by the
	 * scripted signer's 24 h periods (test_period_live). */
	CU_ASSERT_FATAL(c.services[0].slot[0].valid &&
	    c.services[0].slot[1].valid);
	now = (time_t)(c.services[0].slot[0].tp < c.services[0].slot[1].tp ?
	    c.services[0].slot[0].tp : c.services[0].slot[1].tp) * 86400 +
	    25 * 3600;
	/*
	 * The first nfill services: both descriptors signed, current, and
	 * not yet handed to tor; more of them than the bound.
	 */
	nfill = max / 2 + 2;
	for (i = 0; i < nfill; i++)
		for (w = 0; w < 2; w++) {
			struct desc_slot *sl = &c.services[i].slot[w];

			CU_ASSERT_FATAL(sl->valid && sl->nup > 0);
			CU_ASSERT_FATAL((sl->docs[0] = (uint8_t *)strdup(
			    "hs-descriptor 3\n")) != NULL);
			sl->doclens[0] = strlen((char *)sl->docs[0]);
			CU_ASSERT(select_intro_points(&kept, in, 2,
			    &c.services[i].cf->sel, NULL, 0) == 0);
			CU_ASSERT_FATAL(publish_slot_keep(sl, &kept, 1) == 0);
			sl->revision = 1;
			sl->last_publish = now;
			sl->next_publish = now + 3600;
			sl->hsdirs_changed = 0;
		}
	lfd = srv_listen("signer-b.sock", path, sizeof(path));
	CU_ASSERT_FATAL((c.sc = sc_new(path, 3600)) != NULL);
	sc_pump(c.sc, 20, NULL);
	CU_ASSERT_FATAL(srv_accept(lfd, &srv) == 0);
	CU_ASSERT_FATAL(srv_hello(c.sc, &srv) == 0);

	/* One turn: one document goes to tor, the rest wait; no job. */
	publish_run(&c, now);
	ft_pump(&ft, c.tc, 50);
	sc_pump(c.sc, 50, NULL);
	while (msg_conn_recv(&srv, &m, 20) == 0)
		recert += m.type == PROTO_RECERTIFY;
	CU_ASSERT(ft.posts == 1);
	CU_ASSERT(c.docs_unsent == 2 * nfill - 1);
	CU_ASSERT(c.jobs == 0 && recert == 0);

	/* tor takes them one a turn (the cap): jobs start as room opens. */
	for (rounds = 0; rounds < 4 * nfill; rounds++) {
		for (i = 0, left = 0; i < nfill; i++)
			for (w = 0; w < 2; w++) {
				struct desc_slot *sl = &c.services[i].slot[w];

				for (k = 0; k < sl->nup; k++)
					if (sl->up[k].state == UPLOAD_PENDING)
						publish_upload_event(&c,
						    c.services[i].cf->addr,
						    sl->up[k].hsdir, 1, NULL,
						    NULL, now);
				left += sl->docs[0] != NULL;
			}
		if (left == 0)
			break;
		publish_run(&c, now);
		ft_pump(&ft, c.tc, 30);
		sc_pump(c.sc, 30, NULL);
		while (msg_conn_recv(&srv, &m, 10) == 0)
			recert += m.type == PROTO_RECERTIFY;
		/* Jobs start only below the bound (the prepared
		 * documents alone begin above it). */
		if (c.jobs > 0 && c.jobs + c.docs_unsent > most)
			most = c.jobs + c.docs_unsent;
	}
	fprintf(stderr, "\n  %zu documents to tor in %zu turns, %zu jobs, "
	    "at most %zu unsent or in the making with jobs ", 2 * nfill,
	    rounds, recert, most);
	CU_ASSERT(left == 0);
	CU_ASSERT(ft.posts == 2 * nfill);
	CU_ASSERT(recert > 0 && recert == c.jobs);
	CU_ASSERT(most <= max);
	/* Every upload of the prepared documents was made and confirmed. */
	for (i = 0; i < nfill; i++)
		for (w = 0; w < 2; w++)
			for (k = 0; k < c.services[i].slot[w].nup; k++)
				CU_ASSERT(c.services[i].slot[w].up[k].state ==
				    UPLOAD_OK);
	/* The jobs in flight fail when the signer goes away. */
	sc_free(c.sc);
	c.sc = NULL;
	CU_ASSERT(c.jobs == 0);
	srv_close(&srv);
	close(lfd);
	(void)unlink(path);
	ft_close(&ft, &c);
}

static void
test_signer_client(void)
{
	struct signer_client	*sc;
	struct msg_conn		 srv;
	struct msg		 m;
	struct sc_result	 r1, r2, r3;
	struct buf		*p;
	uint8_t			 cert[HS_CERT_LEN], key[32];
	char			 path[256], str[64];
	uint64_t		 tp;
	int			 lfd;

	lfd = srv_listen("signer.sock", path, sizeof(path));
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
	/* The reason's name leads the detail, for the log and the status. */
	CU_ASSERT(r2.calls == 1 && !r2.ok && r2.reason == PROTO_R_REVISION &&
	    strcmp(r2.detail, "revision: stale") == 0);
	CU_ASSERT(sc_ready(sc));

	/* Past the horizon, with the longest detail the wire allows: the
	 * name still leads and the rest is cut, not overrun. */
	memset(&r2, 0, sizeof(r2));
	CU_ASSERT_FATAL(sc_recertify(sc, "svc", 78,
	    (const uint8_t (*)[ED25519_PK_LEN])key, 1, sc_test_cb, &r2) == 0);
	sc_pump(sc, 50, NULL);
	CU_ASSERT_FATAL(msg_conn_recv(&srv, &m, 2000) == 0);
	CU_ASSERT(m.type == PROTO_RECERTIFY);
	buf_reset(p);
	{
		char long_detail[PROTO_STR_MAX + 1];

		memset(long_detail, 'e', PROTO_STR_MAX);
		long_detail[PROTO_STR_MAX] = '\0';
		CU_ASSERT_FATAL(msg_error_put(p, PROTO_R_HORIZON,
		    long_detail) == 0);
	}
	CU_ASSERT_FATAL(msg_conn_send(&srv, PROTO_ERROR, m.id, p) == 0 &&
	    msg_conn_flush(&srv, 2000) == 0);
	sc_pump(sc, 2000, &r2.calls);
	CU_ASSERT(r2.calls == 1 && !r2.ok && r2.reason == PROTO_R_HORIZON &&
	    strncmp(r2.detail, "horizon: eee", 12) == 0 &&
	    strlen(r2.detail) == sizeof(r2.detail) - 1);
	CU_ASSERT(sc_ready(sc));

	/* A malformed reply (a byte too many) ends the session; every
	 * pending request fails, once. */
	memset(&r2, 0, sizeof(r2));
	memset(&r3, 0, sizeof(r3));
	CU_ASSERT_FATAL(sc_status(sc, 0, sc_test_cb, &r2) == 0);
	CU_ASSERT_FATAL(sc_status(sc, 0, sc_test_cb, &r3) == 0);
	sc_pump(sc, 50, NULL);
	CU_ASSERT_FATAL(msg_conn_recv(&srv, &m, 2000) == 0);
	buf_reset(p);
	CU_ASSERT_FATAL(msg_put_u64(p, 1) == 0 && msg_put_u64(p, 2) == 0 &&
	    msg_put_u32(p, 0) == 0 && msg_put_u32(p, 0) == 0 &&
	    msg_put_u16(p, 0) == 0 && msg_put_u8(p, 0) == 0 &&
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
	CU_ASSERT_FATAL(sc_status(sc, 0, sc_test_cb, &r1) == 0);
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

/*
 * Hosting scale: more requests at once than the connection's output
 * queue holds (MSG_OUTQ_MAX, a few full messages).  Each is accepted,
 * reaches the signer once, in order, and gets its own reply.
 */
#define SC_BACKLOG_N	40
#define SC_BACKLOG_LEN	40000
static void
test_signer_client_backlog(void)
{
	struct signer_client	*sc;
	struct msg_conn		 srv;
	struct msg		 m;
	struct sc_result	 res[SC_BACKLOG_N];
	struct buf		*p, body;
	uint8_t			*big, has_sk;
	char			 path[256], str[64], want[32];
	uint64_t		 tp;
	uint32_t		 first_id = 0;
	size_t			 i, got = 0, inorder = 0, answered = 0;
	int			 lfd, tries;

	lfd = srv_listen("backlog.sock", path, sizeof(path));
	CU_ASSERT_FATAL((sc = sc_new(path, 60)) != NULL);
	sc_pump(sc, 20, NULL);
	CU_ASSERT_FATAL(srv_accept(lfd, &srv) == 0);
	CU_ASSERT_FATAL(srv_hello(sc, &srv) == 0);
	CU_ASSERT_FATAL((big = malloc(SC_BACKLOG_LEN)) != NULL);
	CU_ASSERT_FATAL((p = msg_payload_new()) != NULL);
	/* All at once, as 32 publish jobs and a verify pass may. */
	CU_ASSERT(SC_BACKLOG_N * SC_BACKLOG_LEN > MSG_OUTQ_MAX);
	memset(res, 0, sizeof(res));
	for (i = 0; i < SC_BACKLOG_N; i++) {
		memset(big, (int)i, SC_BACKLOG_LEN);
		CU_ASSERT(sc_sign_desc(sc, "svc", 77, NULL, big,
		    SC_BACKLOG_LEN, sc_test_cb, &res[i]) == 0);
	}
	/* The scripted signer reads each, checks it, refuses it by name. */
	for (tries = 0; got < SC_BACKLOG_N && tries < 3000; tries++) {
		sc_pump(sc, 10, NULL);
		while (got < SC_BACKLOG_N && msg_conn_recv(&srv, &m, 10) == 0) {
			if (got == 0)
				first_id = m.id;
			if (m.type == PROTO_SIGN_DESC && m.id == first_id + got &&
			    msg_get_str(&m, str, sizeof(str)) == 0 &&
			    msg_get_u64(&m, &tp) == 0 &&
			    msg_get_u8(&m, &has_sk) == 0 && has_sk == 0 &&
			    msg_get_data(&m, &body, PROTO_MAX_PAYLOAD) == 0 &&
			    buf_len(&body) == SC_BACKLOG_LEN &&
			    buf_ptr(&body)[0] == (uint8_t)got &&
			    buf_ptr(&body)[SC_BACKLOG_LEN - 1] == (uint8_t)got)
				inorder++;
			(void)snprintf(want, sizeof(want), "n%zu", got);
			buf_reset(p);
			CU_ASSERT_FATAL(msg_error_put(p, PROTO_R_REVISION,
			    want) == 0 && msg_conn_send(&srv, PROTO_ERROR,
			    m.id, p) == 0 && msg_conn_flush(&srv, 2000) == 0);
			got++;
		}
	}
	CU_ASSERT(got == SC_BACKLOG_N);
	CU_ASSERT(inorder == SC_BACKLOG_N);
	sc_pump(sc, 2000, &res[SC_BACKLOG_N - 1].calls);
	for (i = 0; i < SC_BACKLOG_N; i++) {
		(void)snprintf(want, sizeof(want), "revision: n%zu", i);
		if (res[i].calls == 1 && !res[i].ok &&
		    strcmp(res[i].detail, want) == 0)
			answered++;
	}
	CU_ASSERT(answered == SC_BACKLOG_N);
	CU_ASSERT(sc_ready(sc));
	srv_close(&srv);
	buf_free(p);
	free(big);
	sc_free(sc);
	close(lfd);
	(void)unlink(path);
}

/* ------------------------------------------------------------------ */
/* Publish scheduling against a scripted tor and a scripted signer.    */

/*
 * nsvc services over the two fake backends (up, verified for every
 * service), the scripted tor's view loaded and the HSDirs computed, a
 * scripted signer connected; now: a time both live periods are in
 * their window of use by its 24 h periods (test_period_live).
 */
struct pubenv {
	struct conf		 cf;
	struct collector	 c;
	struct faketor		 ft;
	struct msg_conn		 srv;
	char			 where[64], path[256];
	int			 lfd;
	time_t			 now;
};

static int
pubenv_open(struct pubenv *pe, const char *head, size_t nsvc, uint8_t tag,
    const char *sock)
{
	const struct desc_slot	*sl;
	size_t			 i, k;

	addrs_make();
	if (ft_open(&pe->ft, pe->where, sizeof(pe->where)) == -1)
		return -1;
	load_pool(&pe->cf, head, nsvc, tag);
	CU_ASSERT_FATAL(collector_init(&pe->c, &pe->cf) == 0);
	ft_connect(&pe->c, pe->where);
	ft_load(&pe->ft, &pe->c);
	CU_ASSERT_FATAL(pe->c.view != NULL);
	while (publish_refresh_step(&pe->c, 500))
		;
	for (i = 0; i < 2; i++)
		backend_fake_up(&pe->c.backends[pe->c.cf.pools[0].backends[i]],
		    i);
	for (i = 0; i < pe->c.nservices; i++)
		for (k = 0; k < 2; k++)
			pe->c.services[i].verified_gen[k] = 1;
	sl = pe->c.services[0].slot;
	CU_ASSERT_FATAL(sl[0].valid && sl[1].valid);
	pe->now = (time_t)(sl[0].tp < sl[1].tp ? sl[0].tp : sl[1].tp) *
	    86400 + 25 * 3600;
	pe->lfd = srv_listen(sock, pe->path, sizeof(pe->path));
	CU_ASSERT_FATAL((pe->c.sc = sc_new(pe->path, 3600)) != NULL);
	sc_pump(pe->c.sc, 20, NULL);
	CU_ASSERT_FATAL(srv_accept(pe->lfd, &pe->srv) == 0);
	CU_ASSERT_FATAL(srv_hello(pe->c.sc, &pe->srv) == 0);
	return 0;
}

static void
pubenv_close(struct pubenv *pe)
{
	sc_free(pe->c.sc);
	pe->c.sc = NULL;
	srv_close(&pe->srv);
	close(pe->lfd);
	(void)unlink(pe->path);
	ft_close(&pe->ft, &pe->c);
}

/* How the scripted signer answers the publish chain. */
#define PS_TOKEN_OUT	0	/* every request: PROTO_R_HSM */
#define PS_POLICY	1	/* every RECERTIFY: PROTO_R_INTRO */
#define PS_SIGN		2	/* certs, parameters, signatures */

struct pubsigner {
	int		 mode;
	const char	*refuse;	/* this service: always PROTO_R_INTRO */
	const char	*keysvc;	/* this one: PROTO_R_TOKEN_KEY */
	size_t		 recert, params, sign;
	size_t		 refused;	/* RECERTIFYs of that service */
	size_t		 keytries;	/* RECERTIFYs of keysvc */
	uint8_t		*seen;		/* [2 x nservices]: RECERTIFY came */
	uint8_t		 sk[ED25519_EXPANDED_LEN];
	struct hs_signer ds;		/* a stand-in for the token key */
};

static void
ps_init(struct pubsigner *ps, size_t nsvc)
{
	uint8_t	pk[ED25519_PK_LEN];

	memset(ps, 0, sizeof(*ps));
	CU_ASSERT_FATAL((ps->seen = calloc(2 * nsvc, 1)) != NULL);
	CU_ASSERT_FATAL(hs_expanded_from_seed(ps->sk, seed[5]) == 0);
	CU_ASSERT_FATAL(hs_expanded_pubkey(pk, ps->sk) == 0);
	hs_signer_expanded(&ps->ds, ps->sk, pk);
}

static void
ps_cert(struct buf *p, uint8_t type, const uint8_t *key, time_t now,
    const struct hs_signer *ds)
{
	uint8_t	cert[HS_CERT_LEN];

	CU_ASSERT_FATAL(hs_cert_build(cert, type, hs_cert_expiry_intro(now),
	    key, ds) == 0);
	CU_ASSERT_FATAL(msg_put_data(p, cert, sizeof(cert)) == 0);
}

/* One request of the chain, answered as ps->mode says. */
static void
ps_answer(struct pubenv *pe, struct pubsigner *ps, struct msg *m,
    struct buf *p)
{
	const struct service	*s;
	char			 svc[PROTO_STR_MAX + 1];
	uint8_t			 keys[PROTO_MAX_INTRO][ED25519_PK_LEN];
	uint8_t			 n = 0, sig[ED25519_SIG_LEN];
	uint64_t		 tp;
	size_t			 i;
	int			 w;

	buf_reset(p);
	CU_ASSERT_FATAL(msg_get_str(m, svc, sizeof(svc)) == 0 &&
	    msg_get_u64(m, &tp) == 0);
	CU_ASSERT_FATAL((s = collector_service_find(&pe->c, svc)) != NULL);
	w = s->slot[0].tp == tp ? 0 : 1;
	CU_ASSERT_FATAL(s->slot[w].tp == tp);
	if (m->type == PROTO_RECERTIFY) {
		ps->recert++;
		if (ps->refuse != NULL && strcmp(svc, ps->refuse) == 0)
			ps->refused++;
		ps->seen[2 * (size_t)(s - pe->c.services) + (size_t)w] = 1;
		CU_ASSERT_FATAL(msg_get_u8(m, &n) == 0 && n > 0 &&
		    n <= PROTO_MAX_INTRO);
		for (i = 0; i < n; i++)
			CU_ASSERT_FATAL(msg_get_fixed(m, keys[i], 32) == 0);
	} else if (m->type == PROTO_DESC_PARAMS)
		ps->params++;
	else {
		CU_ASSERT_FATAL(m->type == PROTO_SIGN_DESC);
		ps->sign++;
	}
	/* Its token key is gone, the token is fine (signer_key_fault). */
	if (ps->keysvc != NULL && strcmp(svc, ps->keysvc) == 0) {
		if (m->type == PROTO_RECERTIFY)
			ps->keytries++;
		CU_ASSERT_FATAL(msg_error_put(p, PROTO_R_TOKEN_KEY, fmt("token "
		    "key of %s: hsm_key_sign: C_SignInit: "
		    "CKR_OBJECT_HANDLE_INVALID", svc)) == 0);
		goto error;
	}
	if (m->type == PROTO_RECERTIFY && (ps->mode == PS_POLICY ||
	    (ps->refuse != NULL && strcmp(svc, ps->refuse) == 0))) {
		CU_ASSERT_FATAL(msg_error_put(p, PROTO_R_INTRO, "intro point "
		    "not verified") == 0);
		goto error;
	}
	if (ps->mode == PS_TOKEN_OUT) {
		CU_ASSERT_FATAL(msg_error_put(p, PROTO_R_HSM, "token: "
		    "hsm_key_sign: C_SignInit: CKR_DEVICE_REMOVED") == 0);
		goto error;
	}
	switch (m->type) {
	case PROTO_RECERTIFY:
		CU_ASSERT_FATAL(msg_put_u32(p, 2 * n) == 0 &&
		    msg_put_u8(p, n) == 0);
		for (i = 0; i < n; i++) {
			CU_ASSERT_FATAL(msg_put_fixed(p, keys[i], 32) == 0);
			ps_cert(p, HS_CERT_TYPE_AUTH_HS_IP_KEY, keys[i],
			    pe->now, &ps->ds);
			ps_cert(p, HS_CERT_TYPE_CROSS_HS_IP_KEYS, keys[i],
			    pe->now, &ps->ds);
		}
		CU_ASSERT_FATAL(msg_conn_send(&pe->srv, PROTO_RECERTIFY_OK,
		    m->id, p) == 0);
		break;
	case PROTO_DESC_PARAMS:
		CU_ASSERT_FATAL(msg_put_fixed(p, s->slot[w].blinded, 32) == 0 &&
		    msg_put_fixed(p, ps->ds.pk, 32) == 0 &&
		    msg_put_u64(p, 1000 + ps->params) == 0 &&
		    msg_put_u64(p, (uint64_t)pe->now) == 0);
		ps_cert(p, HS_CERT_TYPE_DESC_SIGNING, ps->ds.pk, pe->now,
		    &ps->ds);
		CU_ASSERT_FATAL(msg_conn_send(&pe->srv, PROTO_DESC_PARAMS_OK,
		    m->id, p) == 0);
		break;
	default:
		/* The collector does not check it (the signer is trusted
		 * with its own signatures): any 64 bytes do. */
		memset(sig, 0x5a, sizeof(sig));
		CU_ASSERT_FATAL(msg_put_fixed(p, sig, sizeof(sig)) == 0 &&
		    msg_put_u64(p, ps->sign) == 0);
		CU_ASSERT_FATAL(msg_conn_send(&pe->srv, PROTO_SIGN_DESC_OK,
		    m->id, p) == 0);
	}
	return;
 error:
	CU_ASSERT_FATAL(msg_conn_send(&pe->srv, PROTO_ERROR, m->id, p) == 0);
}

/* Answer every request until no job is left in flight; the uploads of
 * what got signed go to the scripted tor and are reported done. */
static void
ps_serve(struct pubenv *pe, struct pubsigner *ps)
{
	struct buf	*p;
	struct msg	 m;
	size_t		 i, k;
	int		 round, got, w;

	CU_ASSERT_FATAL((p = msg_payload_new()) != NULL);
	for (round = 0; round < 200; round++) {
		sc_pump(pe->c.sc, 10, NULL);
		for (got = 0; msg_conn_recv(&pe->srv, &m, 10) == 0; got++)
			ps_answer(pe, ps, &m, p);
		CU_ASSERT(msg_conn_flush(&pe->srv, 2000) == 0);
		sc_pump(pe->c.sc, 10, NULL);
		if (got == 0 && pe->c.jobs == 0)
			break;
	}
	CU_ASSERT(pe->c.jobs == 0);
	buf_free(p);
	ft_pump(&pe->ft, pe->c.tc, 20);
	for (i = 0; i < pe->c.nservices; i++)
		for (w = 0; w < 2; w++) {
			struct desc_slot *sl = &pe->c.services[i].slot[w];

			for (k = 0; k < sl->nup; k++)
				if (sl->up[k].state == UPLOAD_PENDING)
					publish_upload_event(&pe->c,
					    pe->c.services[i].cf->addr,
					    sl->up[k].hsdir, 1, NULL, NULL,
					    pe->now);
		}
}

/*
 * Fairness under sustained churn: every slot is due again at each run
 * (its back-off over), more of them than the job limit lets start.  A
 * scan that always began at service 0 served the first ones every time;
 * resuming where the last one was held back gives every slot its turn
 * within ceil(due / limit) runs.
 */
static void
test_publish_round_robin(void)
{
	struct pubenv		 pe;
	struct pubsigner	 ps;
	size_t			 i, limit = 0, runs, r, nseen = 0;
	int			 w;
	const size_t		 nsvc = 40;

	if (pubenv_open(&pe, "", nsvc, 0x5c, "signer-rr.sock") == -1)
		TEST_SKIP("no loopback listener");
	ps_init(&ps, nsvc);
	ps.mode = PS_POLICY;
	for (r = 0, runs = 1; r < runs; r++) {
		for (i = 0; i < pe.c.nservices; i++)
			for (w = 0; w < 2; w++)
				pe.c.services[i].slot[w].retry_at = 0;
		publish_run(&pe.c, pe.now + (time_t)r);
		if (r == 0) {
			/* The limit, as the first run met it. */
			limit = pe.c.jobs;
			CU_ASSERT_FATAL(limit > 0 && limit < 2 * nsvc);
			runs = (2 * nsvc + limit - 1) / limit;
		}
		CU_ASSERT(pe.c.jobs <= limit);
		ps_serve(&pe, &ps);
	}
	for (i = 0; i < 2 * nsvc; i++)
		nseen += ps.seen[i];
	fprintf(stderr, "\n  %zu of %zu slots served in %zu runs of at most "
	    "%zu jobs ", nseen, 2 * nsvc, runs, limit);
	CU_ASSERT(nseen == 2 * nsvc);
	CU_ASSERT(ps.recert <= runs * limit);
	free(ps.seen);
	pubenv_close(&pe);
}

/* Slots by state: waiting for the token, and published. */
static void
token_counts(const struct collector *c, size_t *waiting, size_t *published)
{
	size_t	i;
	int	w;

	*waiting = *published = 0;
	for (i = 0; i < c->nservices; i++)
		for (w = 0; w < 2; w++) {
			*waiting += c->services[i].slot[w].token_wait != 0;
			*published += c->services[i].slot[w].publishes > 0;
		}
}

/*
 * The signer's token pulled and put back.  Refusals for the token
 * (PROTO_R_HSM) pause publishing: the collector says so on its status
 * page, and tries one job per TOKEN_PROBE_INTERVAL, not one per slot
 * per back-off.  The first job the token signs again brings every slot
 * that waited back at once (within the interval, paced by the job
 * limit), not after each slot's back-off.  A slot refused for its own
 * sake (policy) keeps its back-off throughout.
 */
static void
test_publish_token_out(void)
{
	struct pubenv		 pe;
	struct pubsigner	 ps;
	struct buf		*b;
	struct desc_slot	*bad;
	time_t			 t, back = 0, retry[2], last = 0;
	size_t			 jobs, waiting, published, recert0, most = 0;
	size_t			 refused0, due;
	unsigned		 fails[2];
	int			 w;
	const size_t		 nsvc = 20;
	const time_t		 hold = 6 * TOKEN_PROBE_INTERVAL;

	if (pubenv_open(&pe, "upload-max-pending = 1000\n", nsvc, 0x6d,
	    "signer-t.sock") == -1)
		TEST_SKIP("no loopback listener");
	ps_init(&ps, nsvc);
	ps.refuse = pe.c.services[3].cf->addr;

	/* Out: every job in flight is refused for it. */
	ps.mode = PS_TOKEN_OUT;
	publish_run(&pe.c, pe.now);
	jobs = pe.c.jobs;
	CU_ASSERT_FATAL(jobs > 8 && jobs < 2 * nsvc);
	ps_serve(&pe, &ps);
	token_counts(&pe.c, &waiting, &published);
	CU_ASSERT(pe.c.token_out != 0);
	CU_ASSERT(waiting == jobs - 2 && published == 0);
	/* Service 3, refused by policy: a back-off of its own. */
	bad = pe.c.services[3].slot;
	for (w = 0; w < 2; w++)
		CU_ASSERT(bad[w].token_wait == 0 && bad[w].failures == 1 &&
		    bad[w].retry_at > pe.now);

	/* The status page says so. */
	CU_ASSERT_FATAL((b = buf_new(0)) != NULL);
	publish_run(&pe.c, pe.now + 1);		/* (counts the waiting) */
	CU_ASSERT(pe.c.jobs == 0);
	CU_ASSERT(status_render(b, &pe.c, 1, pe.now + 1) == 0 &&
	    buf_put_u8(b, 0) == 0);
	CU_ASSERT(strstr((char *)buf_ptr(b), "\"token\":\"out\"") != NULL);
	CU_ASSERT(strstr((char *)buf_ptr(b), fmt("\"waiting_for_token\":%zu",
	    jobs - 2)) != NULL);
	buf_reset(b);
	CU_ASSERT(status_render(b, &pe.c, 0, pe.now + 1) == 0 &&
	    buf_put_u8(b, 0) == 0);
	CU_ASSERT(strstr((char *)buf_ptr(b), "signer's token: OUT") != NULL);
	CU_ASSERT(strstr((char *)buf_ptr(b), "waiting for the token") !=
	    NULL);

	/* While out: one job at a time, one per interval, whatever is
	 * due (the slots never tried included). */
	recert0 = ps.recert;
	for (t = 2; t <= hold; t++) {
		publish_run(&pe.c, pe.now + t);
		if (pe.c.jobs > most)
			most = pe.c.jobs;
		ps_serve(&pe, &ps);
	}
	fprintf(stderr, "\n  token out %llds: %zu jobs tried it, at most %zu "
	    "at once ", (long long)hold, ps.recert - recert0, most);
	CU_ASSERT(most == 1);
	CU_ASSERT(ps.recert - recert0 >= (size_t)(hold /
	    TOKEN_PROBE_INTERVAL) - 1);
	CU_ASSERT(ps.recert - recert0 <= (size_t)(hold /
	    TOKEN_PROBE_INTERVAL) + 1);
	CU_ASSERT(pe.c.token_out != 0);
	for (w = 0; w < 2; w++) {
		CU_ASSERT(bad[w].token_wait == 0);
		retry[w] = bad[w].retry_at;
		fails[w] = bad[w].failures;
	}
	refused0 = ps.refused;

	/* Back: the next try is signed, every waiting slot follows. */
	ps.mode = PS_SIGN;
	for (t = hold + 1; t <= hold + 3 * TOKEN_PROBE_INTERVAL; t++) {
		publish_run(&pe.c, pe.now + t);
		ps_serve(&pe, &ps);
		if (pe.c.token_out == 0 && back == 0)
			back = t;
		token_counts(&pe.c, &waiting, &published);
		if (published == 2 * nsvc - 2) {
			last = t;
			break;
		}
	}
	fprintf(stderr, "\n  token back at +%llds, %zu of %zu published "
	    "%llds later ", (long long)(back - hold), published, 2 * nsvc,
	    (long long)(last - back));
	CU_ASSERT(back > hold && back <= hold + TOKEN_PROBE_INTERVAL);
	CU_ASSERT(waiting == 0);
	CU_ASSERT(published == 2 * nsvc - 2);
	CU_ASSERT(last != 0 && last - back < TOKEN_PROBE_INTERVAL);
	/* Service 3 was not swept along: tried again only if its own
	 * back-off ran out meanwhile. */
	for (w = 0, due = 0; w < 2; w++) {
		CU_ASSERT(bad[w].publishes == 0 && bad[w].token_wait == 0);
		if (retry[w] <= pe.now + last)
			due++;
		else
			CU_ASSERT(bad[w].failures == fails[w] &&
			    bad[w].retry_at == retry[w]);
	}
	CU_ASSERT(ps.refused - refused0 <= due);
	buf_reset(b);
	CU_ASSERT(status_render(b, &pe.c, 1, pe.now + t) == 0 &&
	    buf_put_u8(b, 0) == 0);
	CU_ASSERT(strstr((char *)buf_ptr(b), "\"token\":\"in\"") != NULL);
	buf_free(b);
	free(ps.seen);
	pubenv_close(&pe);
}

/*
 * One service's token key fails on a token that works (review6 finding
 * 1a): the signer refuses that service alone with PROTO_R_TOKEN_KEY.  Read
 * as PROTO_R_HSM, it paused every service (the token "out", one job per
 * TOKEN_PROBE_INTERVAL, 125 tries of the broken service in 600 s and
 * the others never republished).  Now the token stays in, another
 * service due again is republished at once, and the broken service's
 * slots get their own back-off: PUBLISH_BACKOFF 10, 20, 40, 80, 160 s
 * after tries at 0, 10, 30, 70, 150 and 310 s, so six tries each in 600
 * simulated seconds (fewer if a job's own duration moves them on).
 */
static void
test_publish_one_key(void)
{
	struct pubenv		 pe;
	struct pubsigner	 ps;
	struct desc_slot	*bad, *o;
	struct buf		*b;
	size_t			 waiting, published, outs = 0;
	time_t			 t, pub_at = 0;
	uint64_t		 p0 = 0;
	int			 w;
	const size_t		 nsvc = 20;
	const time_t		 span = 600, due_at = 300;

	if (pubenv_open(&pe, "upload-max-pending = 1000\n", nsvc, 0x6e,
	    "signer-k.sock") == -1)
		TEST_SKIP("no loopback listener");
	ps_init(&ps, nsvc);
	ps.mode = PS_SIGN;
	ps.keysvc = pe.c.services[3].cf->addr;
	bad = pe.c.services[3].slot;
	o = &pe.c.services[7].slot[0];
	for (t = 0; t <= span; t++) {
		if (t == due_at) {
			o->hsdirs_changed = 1;	/* another service due */
			p0 = o->publishes;
		}
		publish_run(&pe.c, pe.now + t);
		ps_serve(&pe, &ps);
		if (pe.c.token_out != 0)
			outs++;
		if (t >= due_at && pub_at == 0 && o->publishes > p0)
			pub_at = t;
	}
	token_counts(&pe.c, &waiting, &published);
	fprintf(stderr, "\n  %llds: the broken service tried %zu times "
	    "(slots %u + %u), token out %zu s, service 7 due at %lld "
	    "republished at %lld, %zu of %zu published ", (long long)span,
	    ps.keytries, bad[0].failures, bad[1].failures, outs,
	    (long long)due_at, (long long)pub_at, published, 2 * nsvc);
	CU_ASSERT(outs == 0 && pe.c.token_out == 0);
	CU_ASSERT(waiting == 0);
	CU_ASSERT(published == 2 * nsvc - 2);
	CU_ASSERT(pub_at >= due_at && pub_at - due_at < TOKEN_PROBE_INTERVAL);
	/* Each of its slots backed off on its own, every try counted. */
	CU_ASSERT(ps.keytries == (size_t)bad[0].failures + bad[1].failures);
	for (w = 0; w < 2; w++) {
		CU_ASSERT(bad[w].failures >= 5 && bad[w].failures <= 6);
		CU_ASSERT(bad[w].token_wait == 0 && bad[w].publishes == 0);
		CU_ASSERT(bad[w].retry_at > pe.now + span);
		CU_ASSERT(bad[w].error != NULL &&
		    strstr(bad[w].error, "token-key") != NULL);
	}
	/* The status page: the token is in. */
	CU_ASSERT_FATAL((b = buf_new(0)) != NULL);
	CU_ASSERT(status_render(b, &pe.c, 1, pe.now + span) == 0 &&
	    buf_put_u8(b, 0) == 0);
	CU_ASSERT(strstr((char *)buf_ptr(b), "\"token\":\"in\"") != NULL);
	buf_free(b);
	free(ps.seen);
	pubenv_close(&pe);
}

static const struct test_case tests[] = {
	{ "config: a good file", test_conf_good },
	{ "config: bad files are refused", test_conf_bad },
	{ "config: client keys", test_client_key },
	{ "config: masters listed in a pool", test_conf_pool_services },
	{ "import: onionbalance-config output", test_import_generated },
	{ "import: documentation style, key files", test_import_docstyle },
	{ "import: bad input", test_import_bad },
	{ "status: JSON and text", test_status_json },
	{ "reload: state kept, dropped, republished", test_reload },
	{ "consensus: a failed load keeps the old view", test_view_load },
	{ "signer: backend descriptors for many services", test_verify_sync },
	{ "hosting: 1000 and 10000 services scale linearly", test_scale },
	{ "signer client: replies, refusals, bad peers", test_signer_client },
	{ "uploads paced (upload-max-pending)", test_upload_pacing },
	{ "documents built no faster than tor takes them",
	    test_publish_backlog },
	{ "periods asked for only in their window", test_period_live },
	{ "one auth ephemeral key per slot and period", test_eph_key },
	{ "health checks: the local tor's failures not counted",
	    test_health_local },
	{ "signer client: more requests than its output queue holds",
	    test_signer_client_backlog },
	{ "publish: the scan resumes where it was held back",
	    test_publish_round_robin },
	{ "publish: token out, probed, back at once", test_publish_token_out },
	{ "publish: one service's token key fails, the others go on",
	    test_publish_one_key },
	{ NULL, NULL }
};

void
test_register_collector(void)
{
	test_add_suite("collector", tests);
}
