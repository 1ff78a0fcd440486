/*
 * obhsm-collector.conf: libconfuse grammar, then checks that libconfuse
 * cannot express (addresses, ranges, references).  The file format is
 * documented option by option in etc/obhsm-collector.conf and
 * doc/obhsm-collector.8.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <confuse.h>

#include "buf.h"
#include "collector.h"
#include "conf.h"
#include "encode.h"
#include "err.h"
#include "hs_keys.h"
#include "log.h"

static cfg_opt_t pool_opts[] = {
	CFG_STR_LIST("backends", NULL, CFGF_NODEFAULT),
	CFG_INT("health-check-port", 0, CFGF_NONE),
	/* Hosting: masters with default settings, one list entry each. */
	CFG_STR_LIST("services", NULL, CFGF_NODEFAULT),
	CFG_END()
};

static cfg_opt_t service_opts[] = {
	CFG_STR("pool", NULL, CFGF_NODEFAULT),
	CFG_STR_LIST("backends", NULL, CFGF_NODEFAULT),
	CFG_STR("intro-policy", "steady", CFGF_NONE),
	CFG_INT("intro-points", 10, CFGF_NONE),
	CFG_INT("intro-points-per-backend", 2, CFGF_NONE),
	CFG_BOOL("distinct-descriptors", cfg_false, CFGF_NONE),
	CFG_STR_LIST("client-auth", NULL, CFGF_NODEFAULT),
	CFG_END()
};

static cfg_opt_t top_opts[] = {
	CFG_STR("control-port", "127.0.0.1:9051", CFGF_NONE),
	CFG_STR("control-cookie-file", NULL, CFGF_NODEFAULT),
	CFG_STR("control-password", NULL, CFGF_NODEFAULT),
	CFG_STR("socks-port", "127.0.0.1:9050", CFGF_NONE),
	CFG_STR("signer-socket", "/run/obhsm/signer.sock",
	    CFGF_NONE),
	CFG_STR("status-socket", "/run/obhsm/collector.sock",
	    CFGF_NONE),
	CFG_INT("fetch-interval", 20, CFGF_NONE),
	CFG_INT("fetch-timeout", 60, CFGF_NONE),
	CFG_INT("descriptor-max-age", 8100, CFGF_NONE),
	CFG_INT("signer-timeout", 10, CFGF_NONE),
	CFG_INT("republish-min", 3600, CFGF_NONE),
	CFG_INT("republish-max", 7200, CFGF_NONE),
	CFG_INT("upload-retry-min", 15, CFGF_NONE),
	CFG_INT("upload-retry-max", 900, CFGF_NONE),
	CFG_INT("upload-max-pending", 24, CFGF_NONE),
	CFG_BOOL("health-check", cfg_false, CFGF_NONE),
	CFG_INT("health-check-interval", 10, CFGF_NONE),
	CFG_INT("health-check-timeout", 15, CFGF_NONE),
	CFG_INT("health-check-failures", 2, CFGF_NONE),
	CFG_INT("health-check-port", 80, CFGF_NONE),
	CFG_BOOL("sandbox", cfg_true, CFGF_NONE),
	CFG_STR("user", NULL, CFGF_NODEFAULT),
	CFG_SEC("pool", pool_opts, CFGF_MULTI | CFGF_TITLE |
	    CFGF_NO_TITLE_DUPES),
	CFG_SEC("service", service_opts, CFGF_MULTI | CFGF_TITLE |
	    CFGF_NO_TITLE_DUPES),
	CFG_END()
};

int
conf_client_key(uint8_t pk[X25519_KEY_LEN], const char *s)
{
	struct buf	v;
	size_t		n, got;
	static const char pfx[] = "descriptor:x25519:";

	/* tor's authorized_clients line, or the bare key. */
	if (strncmp(s, pfx, sizeof(pfx) - 1) == 0)
		s += sizeof(pfx) - 1;
	n = strlen(s);
	if (n == 52) {
		char	low[56];
		uint8_t	full[35];
		size_t	i;
		int	e;

		/*
		 * tor writes these in upper case, 52 characters with 4 zero
		 * bits at the end; our decoder wants lower case and whole
		 * bytes, so pad with zero bits to 35 bytes.
		 */
		for (i = 0; i < n; i++)
			low[i] = s[i] >= 'A' && s[i] <= 'Z' ?
			    (char)(s[i] - 'A' + 'a') : s[i];
		memset(low + n, 'a', sizeof(low) - n);
		if ((e = b32_decode(full, sizeof(full), low,
		    sizeof(low))) != 0)
			return e;
		if (full[32] != 0 || full[33] != 0 || full[34] != 0)
			return OB_ERR_FORMAT;
		memcpy(pk, full, X25519_KEY_LEN);
		return 0;
	}
	buf_init_ro(&v, s, n);
	if (n == 44)
		return b64_decode(pk, X25519_KEY_LEN, &got, &v,
		    B64_PAD) != 0 || got != X25519_KEY_LEN ? OB_ERR_FORMAT : 0;
	if (n == 43)
		return b64_decode(pk, X25519_KEY_LEN, &got, &v, B64_NOPAD) !=
		    0 || got != X25519_KEY_LEN ? OB_ERR_FORMAT : 0;
	return OB_ERR_FORMAT;
}

/* Index of backend addr in cf, adding it if new: one fetch per backend,
 * however many services share it. */
static int
backend_intern(struct conf *cf, const char *in, const char *where,
    size_t *idx)
{
	struct conf_backend	 b, *nb;
	size_t			 i;

	if (conf_onion_addr(b.addr, b.pk, in, where) != 0)
		return -1;
	for (i = 0; i < cf->nbackends; i++)
		if (strcmp(cf->backends[i].addr, b.addr) == 0) {
			*idx = i;
			return 0;
		}
	if ((nb = reallocarray(cf->backends, cf->nbackends + 1,
	    sizeof(*nb))) == NULL) {
		log_warn("%s", where);
		return -1;
	}
	cf->backends = nb;
	cf->backends[cf->nbackends] = b;
	*idx = cf->nbackends++;
	return 0;
}

static int
pool_fill(struct conf *cf, struct conf_pool *p, cfg_t *sec,
    const char *where)
{
	size_t	i, j, n = cfg_size(sec, "backends"), idx;

	if (n == 0) {
		log_warnx("%s: no backends", where);
		return -1;
	}
	if (n > SEL_MAX_BACKENDS) {
		log_warnx("%s: %zu backends, at most %d", where, n,
		    SEL_MAX_BACKENDS);
		return -1;
	}
	if ((p->backends = calloc(n, sizeof(*p->backends))) == NULL) {
		log_warn("%s", where);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (backend_intern(cf, cfg_getnstr(sec, "backends",
		    (unsigned)i), where, &idx) != 0)
			return -1;
		for (j = 0; j < p->nbackends; j++)
			if (p->backends[j] == idx) {
				log_warnx("%s: backend %s listed twice", where,
				    cf->backends[idx].addr);
				return -1;
			}
		p->backends[p->nbackends++] = idx;
	}
	return 0;
}

static int
pool_add(struct conf *cf, const char *name, struct conf_pool **pp)
{
	struct conf_pool	*np;

	if ((np = reallocarray(cf->pools, cf->npools + 1,
	    sizeof(*np))) == NULL) {
		log_warn("conf");
		return -1;
	}
	cf->pools = np;
	*pp = &cf->pools[cf->npools++];
	memset(*pp, 0, sizeof(**pp));
	if (name != NULL && ((*pp)->name = strdup(name)) == NULL) {
		log_warn("conf");
		return -1;
	}
	return 0;
}

static int
service_fill(struct conf *cf, struct conf_service *s, cfg_t *sec)
{
	char		 where[128];
	const char	*pol, *pname;
	struct conf_pool *p;
	size_t		 i, n;
	int		 e;

	(void)snprintf(where, sizeof(where), "service \"%.70s\"",
	    cfg_title(sec));
	if (conf_onion_addr(s->addr, s->pk, cfg_title(sec), where) != 0)
		return -1;
	pol = cfg_getstr(sec, "intro-policy");
	if (strcmp(pol, "steady") == 0)
		s->sel.policy = SEL_POLICY_STEADY;
	else if (strcmp(pol, "per-backend") == 0)
		s->sel.policy = SEL_POLICY_PER_BACKEND;
	else {
		log_warnx("%s: intro-policy \"%s\": use \"steady\" or "
		    "\"per-backend\"", where, pol);
		return -1;
	}
	if (conf_uint_range(sec, where, "intro-points", 1, HS_DESC_MAX_INTRO,
	    &s->sel.target) != 0 ||
	    conf_uint_range(sec, where, "intro-points-per-backend", 1,
	    HS_DESC_MAX_INTRO, &s->sel.per_backend) != 0)
		return -1;
	s->distinct = cfg_getbool(sec, "distinct-descriptors");

	pname = cfg_getstr(sec, "pool");
	n = cfg_size(sec, "backends");
	if ((pname == NULL) == (n == 0)) {
		log_warnx("%s: needs either \"pool\" or \"backends\", not "
		    "%s", where, n == 0 ? "neither" : "both");
		return -1;
	}
	if (pname != NULL) {
		for (i = 0; i < cf->npools; i++)
			if (cf->pools[i].name != NULL &&
			    strcmp(cf->pools[i].name, pname) == 0)
				break;
		if (i == cf->npools) {
			log_warnx("%s: no pool \"%s\"", where, pname);
			return -1;
		}
		s->pool = i;
	} else {
		/* An inline backend list is a pool of its own. */
		if (pool_add(cf, NULL, &p) != 0)
			return -1;
		s->pool = cf->npools - 1;
		if (pool_fill(cf, p, sec, where) != 0)
			return -1;
	}
	p = &cf->pools[s->pool];
	for (i = 0; i < p->nbackends; i++)
		if (strcmp(cf->backends[p->backends[i]].addr, s->addr) == 0) {
			log_warnx("%s: the master address is also one of its "
			    "backends", where);
			return -1;
		}

	n = cfg_size(sec, "client-auth");
	if (n > CONF_MAX_CLIENTS) {
		log_warnx("%s: %zu client-auth keys, at most %d", where, n,
		    CONF_MAX_CLIENTS);
		return -1;
	}
	if (n > 0 && (s->client_pks = calloc(n,
	    sizeof(*s->client_pks))) == NULL) {
		log_warn("%s", where);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if ((e = conf_client_key(s->client_pks[i],
		    cfg_getnstr(sec, "client-auth", (unsigned)i))) != 0) {
			log_warnx("%s: client-auth \"%s\": not an x25519 "
			    "public key (base32, or descriptor:x25519:...)",
			    where, cfg_getnstr(sec, "client-auth",
			    (unsigned)i));
			return -1;
		}
		s->n_client_pks++;
	}
	return 0;
}

/* Masters listed in pool sections, after the titled ones. */
static int
pool_services(struct conf *cf, cfg_t *c)
{
	cfg_t			*sec;
	struct conf_service	*s;
	struct conf_pool	*p;
	char			 where[128];
	size_t			 i, j, k, n;

	/* Named pools come first in cf->pools, in file order. */
	for (i = 0; i < cfg_size(c, "pool"); i++) {
		sec = cfg_getnsec(c, "pool", (unsigned)i);
		n = cfg_size(sec, "services");
		p = &cf->pools[i];
		for (j = 0; j < n; j++) {
			(void)snprintf(where, sizeof(where), "pool \"%.40s\" "
			    "services entry %zu", cfg_title(sec), j + 1);
			s = &cf->services[cf->nservices];
			memset(s, 0, sizeof(*s));
			if (conf_onion_addr(s->addr, s->pk, cfg_getnstr(sec,
			    "services", (unsigned)j), where) != 0)
				return -1;
			s->pool = i;
			s->sel.policy = SEL_POLICY_STEADY;
			s->sel.target = 10;
			s->sel.per_backend = 2;
			for (k = 0; k < p->nbackends; k++)
				if (strcmp(cf->backends[p->backends[k]].addr,
				    s->addr) == 0) {
					log_warnx("%s: the master address is "
					    "also one of its backends", where);
					return -1;
				}
			cf->nservices++;
		}
	}
	return 0;
}

static int
addr_cmp(const void *a, const void *b)
{
	return strcmp(*(const char * const *)a, *(const char * const *)b);
}

/* Each master once: the runtime finds services by address. */
static int
services_unique(struct conf *cf)
{
	const char	**v;
	size_t		  i;
	int		  rv = 0;

	if ((v = calloc(cf->nservices + 1, sizeof(*v))) == NULL) {
		log_warn("conf");
		return -1;
	}
	for (i = 0; i < cf->nservices; i++)
		v[i] = cf->services[i].addr;
	qsort(v, cf->nservices, sizeof(*v), addr_cmp);
	for (i = 1; i < cf->nservices; i++)
		if (strcmp(v[i - 1], v[i]) == 0) {
			log_warnx("config: service %s is configured twice",
			    v[i]);
			rv = -1;
			break;
		}
	free(v);
	return rv;
}

/* Sorted backend addresses, searched once per master: S log B. */
static int
masters_not_backends(struct conf *cf)
{
	const char	**v, *key;
	size_t		  i;
	int		  rv = 0;

	if ((v = calloc(cf->nbackends + 1, sizeof(*v))) == NULL) {
		log_warn("conf");
		return -1;
	}
	for (i = 0; i < cf->nbackends; i++)
		v[i] = cf->backends[i].addr;
	qsort(v, cf->nbackends, sizeof(*v), addr_cmp);
	for (i = 0; i < cf->nservices; i++) {
		key = cf->services[i].addr;
		if (bsearch(&key, v, cf->nbackends, sizeof(*v),
		    addr_cmp) != NULL) {
			log_warnx("service \"%s\" is also configured as a "
			    "backend", key);
			rv = -1;
			break;
		}
	}
	free(v);
	return rv;
}

static int
strdup_opt(char **out, cfg_t *c, const char *opt)
{
	const char	*v = cfg_getstr(c, opt);

	*out = NULL;
	if (v == NULL)
		return 0;
	if ((*out = strdup(v)) == NULL) {
		log_warn("conf");
		return -1;
	}
	return 0;
}

static int
conf_from_cfg(struct conf *cf, cfg_t *c)
{
	cfg_t		*sec;
	struct conf_pool *p;
	char		 where[128];
	size_t		 i, n;

	if (strdup_opt(&cf->control, c, "control-port") != 0 ||
	    strdup_opt(&cf->control_cookie, c, "control-cookie-file") != 0 ||
	    strdup_opt(&cf->control_password, c, "control-password") != 0 ||
	    strdup_opt(&cf->socks, c, "socks-port") != 0 ||
	    strdup_opt(&cf->signer_socket, c, "signer-socket") != 0 ||
	    strdup_opt(&cf->status_socket, c, "status-socket") != 0 ||
	    strdup_opt(&cf->user, c, "user") != 0)
		return -1;
	if (conf_uint_range(c, "config", "fetch-interval", 5, 3600,
	    &cf->fetch_interval) != 0 ||
	    conf_uint_range(c, "config", "fetch-timeout", 5, 600,
	    &cf->fetch_timeout) != 0 ||
	    conf_uint_range(c, "config", "descriptor-max-age", 60, 86400,
	    &cf->desc_max_age) != 0 ||
	    conf_uint_range(c, "config", "signer-timeout", 1, 300,
	    &cf->signer_timeout) != 0 ||
	    conf_uint_range(c, "config", "republish-min", 60, 86400,
	    &cf->republish_min) != 0 ||
	    conf_uint_range(c, "config", "republish-max", 60, 86400,
	    &cf->republish_max) != 0 ||
	    conf_uint_range(c, "config", "upload-retry-min", 1, 3600,
	    &cf->retry_min) != 0 ||
	    conf_uint_range(c, "config", "upload-retry-max", 1, 86400,
	    &cf->retry_max) != 0 ||
	    conf_uint_range(c, "config", "upload-max-pending", 1, 100000,
	    &cf->upload_max_pending) != 0 ||
	    conf_uint_range(c, "config", "health-check-interval", 5, 3600,
	    &cf->health_interval) != 0 ||
	    conf_uint_range(c, "config", "health-check-timeout", 5, 600,
	    &cf->health_timeout) != 0 ||
	    conf_uint_range(c, "config", "health-check-failures", 1, 100,
	    &cf->health_failures) != 0 ||
	    conf_uint_range(c, "config", "health-check-port", 1, 65535,
	    &cf->health_port) != 0)
		return -1;
	if (cf->republish_min > cf->republish_max) {
		log_warnx("config: republish-min > republish-max");
		return -1;
	}
	if (cf->retry_min > cf->retry_max) {
		log_warnx("config: upload-retry-min > upload-retry-max");
		return -1;
	}
	cf->health_check = cfg_getbool(c, "health-check");
	cf->sandbox = cfg_getbool(c, "sandbox");

	n = cfg_size(c, "pool");
	for (i = 0; i < n; i++) {
		sec = cfg_getnsec(c, "pool", (unsigned)i);
		(void)snprintf(where, sizeof(where), "pool \"%.70s\"",
		    cfg_title(sec));
		if (pool_add(cf, cfg_title(sec), &p) != 0 ||
		    pool_fill(cf, p, sec, where) != 0 ||
		    conf_uint_range(sec, where, "health-check-port", 0, 65535,
		    &p->health_port) != 0)
			return -1;
	}

	/*
	 * Titled "service" sections cost libconfuse a search over the
	 * earlier titles each (quadratic); a pool's "services" list does
	 * not, and is what thousands of masters should use.
	 */
	n = cfg_size(c, "service");
	for (i = 0; i < cfg_size(c, "pool"); i++)
		n += cfg_size(cfg_getnsec(c, "pool", (unsigned)i),
		    "services");
	if (n == 0) {
		log_warnx("config: no service configured");
		return -1;
	}
	if (n > CONF_MAX_SERVICES) {
		log_warnx("config: %zu services, at most %d", n,
		    CONF_MAX_SERVICES);
		return -1;
	}
	if ((cf->services = calloc(n, sizeof(*cf->services))) == NULL) {
		log_warn("conf");
		return -1;
	}
	for (i = 0; i < cfg_size(c, "service"); i++) {
		if (service_fill(cf, &cf->services[i],
		    cfg_getnsec(c, "service", (unsigned)i)) != 0) {
			cf->nservices = i + 1;
			return -1;
		}
		cf->nservices = i + 1;
	}
	if (pool_services(cf, c) != 0 || services_unique(cf) != 0)
		return -1;
	/* A master address must not reappear as another's backend. */
	return masters_not_backends(cf);
}

void
conf_clear(struct conf *cf)
{
	size_t	i;

	free(cf->control);
	free(cf->control_cookie);
	if (cf->control_password != NULL) {
		explicit_bzero(cf->control_password,
		    strlen(cf->control_password));
		free(cf->control_password);
	}
	free(cf->socks);
	free(cf->signer_socket);
	free(cf->status_socket);
	free(cf->user);
	for (i = 0; i < cf->npools; i++) {
		free(cf->pools[i].name);
		free(cf->pools[i].backends);
	}
	free(cf->pools);
	for (i = 0; i < cf->nservices; i++)
		free(cf->services[i].client_pks);
	free(cf->services);
	free(cf->backends);
	memset(cf, 0, sizeof(*cf));
}

static int
conf_load_common(struct conf *out, const char *path, const char *text)
{
	cfg_t		*c;
	struct conf	 cf;
	int		 r;

	memset(&cf, 0, sizeof(cf));
	if ((c = cfg_init(top_opts, CFGF_NONE)) == NULL) {
		log_warn("cfg_init");
		return -1;
	}
	cfg_set_error_function(c, conf_log_error);
	if (path != NULL)
		r = cfg_parse(c, path);
	else
		r = cfg_parse_buf(c, text);
	if (r == CFG_FILE_ERROR) {
		log_warn("%s", path != NULL ? path : "config");
		goto err;
	}
	if (r != CFG_SUCCESS)
		goto err;	/* conf_log_error said where */
	if (conf_from_cfg(&cf, c) != 0)
		goto err;
	cfg_free(c);
	*out = cf;
	return 0;
 err:
	cfg_free(c);
	conf_clear(&cf);
	return -1;
}

int
conf_load(struct conf *cf, const char *path)
{
	return conf_load_common(cf, path, NULL);
}

int
conf_load_string(struct conf *cf, const char *text)
{
	return conf_load_common(cf, NULL, text);
}
