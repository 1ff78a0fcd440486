/*
 * obhsm-signer.conf: libconfuse grammar, then the checks libconfuse
 * cannot express (addresses, ranges, paths).  Every option is described
 * in etc/obhsm-signer.conf.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <confuse.h>

#include "conf.h"
#include "err.h"
#include "hs_keys.h"
#include "log.h"
#include "sandbox.h"
#include "signer.h"

static cfg_opt_t service_opts[] = {
	CFG_STR_LIST("backends", NULL, CFGF_NODEFAULT),
	CFG_STR("key-mode", "offline", CFGF_NONE),
	CFG_STR("identity-key", NULL, CFGF_NODEFAULT),
	CFG_END()
};

static cfg_opt_t top_opts[] = {
	CFG_STR("pkcs11-module", NULL, CFGF_NODEFAULT),
	CFG_STR("token-uri", NULL, CFGF_NODEFAULT),
	CFG_STR("pin-source", NULL, CFGF_NODEFAULT),
	CFG_INT("hsm-timeout", HSM_TIMEOUT_DEFAULT, CFGF_NONE),
	CFG_STR("socket", "/run/obhsm/signer.sock", CFGF_NONE),
	CFG_INT("socket-mode", 0660, CFGF_NONE),
	CFG_INT("collector-uid", -1, CFGF_NONE),
	CFG_STR("collector-user", NULL, CFGF_NODEFAULT),
	CFG_INT("collector-gid", -1, CFGF_NONE),
	CFG_STR("user", NULL, CFGF_NODEFAULT),
	CFG_STR("state-dir", LOCALSTATEDIR "/lib/obhsm-signer", CFGF_NONE),
	CFG_STR("audit-log", LOCALSTATEDIR "/lib/obhsm-signer/audit.log",
	    CFGF_NONE),
	CFG_INT("period-length", HS_PERIOD_LEN_DEFAULT, CFGF_NONE),
	CFG_INT("rotation-offset", 720, CFGF_NONE),
	CFG_STR("intro-cert-expiry", "period", CFGF_NONE),
	CFG_INT("horizon-warn", 3 * 86400, CFGF_NONE),
	CFG_INT("max-clients", 16, CFGF_NONE),
	CFG_INT("max-intro-points", 256, CFGF_NONE),
	CFG_INT("online-periods", 2, CFGF_NONE),
	CFG_BOOL("syslog", cfg_false, CFGF_NONE),
	CFG_BOOL("key-copies", cfg_false, CFGF_NONE),
	CFG_STR("sandbox", "kill", CFGF_NONE),
	CFG_SEC("service", service_opts, CFGF_MULTI | CFGF_TITLE |
	    CFGF_NO_TITLE_DUPES),
	CFG_END()
};

static char *
signer_conf_dup(cfg_t *c, const char *opt)
{
	const char	*s = cfg_getstr(c, opt);
	char		*d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		fatal("%s", __func__);
	return d;
}

static int
signer_conf_service(struct signer_service_conf *sc, cfg_t *s)
{
	const char	*mode;
	unsigned	 i, j, n;

	if (conf_onion_addr(sc->address, sc->identity_pk, cfg_title(s),
	    "config: service") == -1)
		return -1;
	n = cfg_size(s, "backends");
	if (n == 0 || n > SIGNER_MAX_BACKENDS) {
		log_warnx("config: service %s: needs 1 to %d backends",
		    sc->address, SIGNER_MAX_BACKENDS);
		return -1;
	}
	if ((sc->backend = calloc(n, sizeof(*sc->backend))) == NULL ||
	    (sc->backend_pk = calloc(n, sizeof(*sc->backend_pk))) == NULL)
		fatal("%s", __func__);
	for (i = 0; i < n; i++) {
		if (conf_onion_addr(sc->backend[i], sc->backend_pk[i],
		    cfg_getnstr(s, "backends", i), "config: backend") == -1)
			return -1;
		for (j = 0; j < i; j++)
			if (strcmp(sc->backend[i], sc->backend[j]) == 0) {
				log_warnx("config: service %s: backend %s "
				    "listed twice", sc->address,
				    sc->backend[i]);
				return -1;
			}
		if (strcmp(sc->backend[i], sc->address) == 0) {
			log_warnx("config: service %s is its own backend",
			    sc->address);
			return -1;
		}
	}
	sc->nbackends = n;
	mode = cfg_getstr(s, "key-mode");
	if (strcmp(mode, "offline") == 0)
		sc->key_mode = SIGNER_KEYS_OFFLINE;
	else if (strcmp(mode, "online") == 0)
		sc->key_mode = SIGNER_KEYS_ONLINE;
	else {
		log_warnx("config: service %s: key-mode must be \"offline\" "
		    "or \"online\"", sc->address);
		return -1;
	}
	sc->identity_key = signer_conf_dup(s, "identity-key");
	if (sc->key_mode == SIGNER_KEYS_ONLINE && sc->identity_key == NULL) {
		log_warnx("config: service %s: key-mode online needs "
		    "identity-key", sc->address);
		return -1;
	}
	if (sc->key_mode == SIGNER_KEYS_OFFLINE && sc->identity_key != NULL)
		log_warnx("config: service %s: identity-key ignored in "
		    "offline mode", sc->address);
	return 0;
}

/*
 * A hosting signer's services mostly list one pool of backends, in one
 * order, one service after the other: sc then takes prev's lists (never
 * changed once parsed) and frees its own copy.
 */
static void
signer_conf_share(struct signer_service_conf *sc,
    const struct signer_service_conf *prev)
{
	if (sc->nbackends != prev->nbackends ||
	    memcmp(sc->backend, prev->backend,
	    sc->nbackends * sizeof(*sc->backend)) != 0 ||
	    memcmp(sc->backend_pk, prev->backend_pk,
	    sc->nbackends * sizeof(*sc->backend_pk)) != 0)
		return;
	free(sc->backend);
	free(sc->backend_pk);
	sc->backend = prev->backend;
	sc->backend_pk = prev->backend_pk;
	sc->backends_shared = 1;
}

/*
 * Parse a file (text == NULL) or a string (path only names it in
 * messages), then check.  The daemon and tests/fuzz/fuzz_conf.c share
 * this: the fuzzer reaches every check the daemon makes.
 */
static int
signer_conf_parse(struct signer_conf **out, const char *path,
    const char *text)
{
	struct signer_conf	*cf;
	cfg_t			*c;
	const char		*s;
	long			 v;
	uid_t			 uid;
	gid_t			 gid;
	unsigned		 i, n;
	int			 r;

	*out = NULL;
	if ((cf = calloc(1, sizeof(*cf))) == NULL)
		fatal("%s", __func__);
	if ((c = cfg_init(top_opts, CFGF_NONE)) == NULL)
		fatal("%s: cfg_init", __func__);
	cfg_set_error_function(c, conf_log_error);
	r = text != NULL ? cfg_parse_buf(c, text) : cfg_parse(c, path);
	switch (r) {
	case CFG_SUCCESS:
		break;
	case CFG_FILE_ERROR:
		log_warn("config: %s", path);
		goto err;
	default:
		goto err;
	}
	cf->module = signer_conf_dup(c, "pkcs11-module");
	cf->token_uri = signer_conf_dup(c, "token-uri");
	cf->pin_source = signer_conf_dup(c, "pin-source");
	cf->socket_path = signer_conf_dup(c, "socket");
	cf->user = signer_conf_dup(c, "user");
	cf->state_dir = signer_conf_dup(c, "state-dir");
	cf->audit_path = signer_conf_dup(c, "audit-log");
	if (conf_int_range(c, "config", "hsm-timeout", 0, 600000, &v) == -1)
		goto err;
	cf->hsm_timeout_ms = (unsigned)v;
	if (conf_int_range(c, "config", "socket-mode", 0, 0777, &v) == -1)
		goto err;
	cf->socket_mode = (unsigned)v;
	if (conf_int_range(c, "config", "collector-uid", -1, 0x7fffffff,
	    &v) == -1)
		goto err;
	cf->collector_uid = (uid_t)v;
	if ((s = cfg_getstr(c, "collector-user")) != NULL) {
		if (v != -1) {
			log_warnx("config: collector-uid and collector-user "
			    "both set");
			goto err;
		}
		if (sandbox_user(s, &uid, &gid) == -1)
			goto err;
		cf->collector_uid = uid;
	} else if (v == -1) {
		log_warnx("config: collector-uid or collector-user is "
		    "required");
		goto err;
	}
	if (conf_int_range(c, "config", "collector-gid", -1, 0x7fffffff,
	    &v) == -1)
		goto err;
	cf->collector_gid = (gid_t)v;
	if (conf_int_range(c, "config", "period-length",
	    PROVISION_PERIOD_LEN_MIN, PROVISION_PERIOD_LEN_MAX, &v) == -1)
		goto err;
	cf->period_len = (uint64_t)v;
	if (conf_int_range(c, "config", "rotation-offset", 1,
	    PROVISION_PERIOD_LEN_MAX, &v) == -1)
		goto err;
	cf->rot_offset = (uint64_t)v;
	s = cfg_getstr(c, "intro-cert-expiry");
	if (strcmp(s, "period") == 0)
		cf->icert_mode = PROTO_ICERT_PERIOD;
	else if (strcmp(s, "hourly") == 0)
		cf->icert_mode = PROTO_ICERT_HOURLY;
	else {
		log_warnx("config: intro-cert-expiry must be \"period\" or "
		    "\"hourly\"");
		goto err;
	}
	if (conf_int_range(c, "config", "horizon-warn", 0, 365 * 86400,
	    &v) == -1)
		goto err;
	cf->horizon_warn = (unsigned)v;
	if (conf_int_range(c, "config", "max-clients", 1, 1024, &v) == -1)
		goto err;
	cf->max_clients = (unsigned)v;
	if (conf_int_range(c, "config", "max-intro-points", PROTO_MAX_INTRO,
	    65536, &v) == -1)
		goto err;
	cf->max_intro = (unsigned)v;
	if (conf_int_range(c, "config", "online-periods", 1, 30, &v) == -1)
		goto err;
	cf->online_periods = (unsigned)v;
	cf->use_syslog = cfg_getbool(c, "syslog");
	cf->key_copies = cfg_getbool(c, "key-copies");
	s = cfg_getstr(c, "sandbox");
	if (strcmp(s, "kill") == 0)
		cf->sandbox = SANDBOX_KILL;
	else if (strcmp(s, "errno") == 0)
		cf->sandbox = SANDBOX_ERRNO;
	else if (strcmp(s, "off") == 0)
		cf->sandbox = SANDBOX_OFF;
	else {
		log_warnx("config: sandbox must be \"kill\", \"errno\" or "
		    "\"off\"");
		goto err;
	}
	if (cf->state_dir[0] != '/' || cf->audit_path[0] != '/' ||
	    cf->socket_path[0] != '/') {
		log_warnx("config: state-dir, audit-log and socket must be "
		    "absolute paths");
		goto err;
	}
	n = cfg_size(c, "service");
	if (n == 0 || n > SIGNER_MAX_SERVICES) {
		log_warnx("config: needs 1 to %d service sections",
		    SIGNER_MAX_SERVICES);
		goto err;
	}
	if ((cf->services = calloc(n, sizeof(*cf->services))) == NULL)
		fatal("%s", __func__);
	cf->nservices = n;
	for (i = 0; i < n; i++) {
		if (signer_conf_service(&cf->services[i],
		    cfg_getnsec(c, "service", i)) == -1)
			goto err;
		if (i > 0)
			signer_conf_share(&cf->services[i],
			    &cf->services[i - 1]);
	}
	cfg_free(c);
	*out = cf;
	return 0;
 err:
	cfg_free(c);
	signer_conf_free(cf);
	return -1;
}

int
signer_conf_load(struct signer_conf **out, const char *path)
{
	return signer_conf_parse(out, path, NULL);
}

int
signer_conf_load_string(struct signer_conf **out, const char *text)
{
	return signer_conf_parse(out, "(string)", text);
}

void
signer_conf_free(struct signer_conf *cf)
{
	size_t	i;

	if (cf == NULL)
		return;
	free(cf->module);
	free(cf->token_uri);
	free(cf->pin_source);
	free(cf->socket_path);
	free(cf->user);
	free(cf->state_dir);
	free(cf->audit_path);
	for (i = 0; i < cf->nservices && cf->services != NULL; i++) {
		free(cf->services[i].identity_key);
		if (cf->services[i].backends_shared)
			continue;
		free(cf->services[i].backend);
		free(cf->services[i].backend_pk);
	}
	free(cf->services);
	free(cf);
}
