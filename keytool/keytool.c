/*
 * obhsm-keytool: main, command dispatch, and the option helpers every
 * ceremony shares.  See doc/obhsm-keytool.8.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "err.h"
#include "hs_keys.h"
#include "hsm.h"
#include "keytool.h"
#include "kt_audit.h"
#include "kt_descriptor.h"
#include "log.h"
#include "provision.h"

static const struct {
	const char	*name;
	int		(*fn)(int, char **);
	const char	*what;
} kt_commands[] = {
	{ "identity",	kt_identity,
	    "generate or import the onion service identity key" },
	{ "token",	kt_token,
	    "generate the token's signing keys, write a request" },
	{ "certify",	kt_certify,
	    "certify a request with the identity key (air-gapped)" },
	{ "import",	kt_import,
	    "check a bundle against the token, store it for the signer" },
	{ "status",	kt_status,
	    "report the provisioning horizon (Nagios exit codes)" },
	{ "purge",	kt_purge,
	    "remove token keys and certs of periods that are over" },
	{ "descriptor",	kt_descriptor_main,
	    "verify, decrypt and print a v3 descriptor" },
	{ "audit",	kt_audit_main,
	    "verify the signer's hash-chained audit log" },
};

static void
kt_usage(FILE *f)
{
	size_t	i;

	fprintf(f, "usage: obhsm-keytool [-v] <command> [options]\n\n"
	    "commands:\n");
	for (i = 0; i < sizeof(kt_commands) / sizeof(kt_commands[0]); i++)
		fprintf(f, "  %-10s %s\n", kt_commands[i].name,
		    kt_commands[i].what);
	fprintf(f, "\n\"obhsm-keytool <command> --help\" for its options; "
	    "see obhsm-keytool(8).\n");
}

int
kt_parse_u64(const char *what, const char *s, uint64_t min, uint64_t max,
    uint64_t *v)
{
	char			*end;
	unsigned long long	 x;

	if (*s < '0' || *s > '9')
		goto bad;
	errno = 0;
	x = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || x < min || x > max)
		goto bad;
	*v = x;
	return 0;
 bad:
	log_warnx("%s: \"%s\" is not a number in [%llu, %llu]", what, s,
	    (unsigned long long)min, (unsigned long long)max);
	return -1;
}

/* Seconds since the epoch ("1700000000") or "YYYY-MM-DDTHH:MM:SSZ". */
int
kt_parse_time(const char *s, time_t *t)
{
	struct tm	 tm;
	const char	*end;
	uint64_t	 v;

	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm)) != NULL &&
	    *end == '\0') {
		*t = timegm(&tm);
		return 0;
	}
	if (kt_parse_u64("--now", s, 0, (uint64_t)INT32_MAX * 4, &v) != 0)
		return -1;
	*t = (time_t)v;
	return 0;
}

/* An onion address, with or without ".onion", checked; out gets the 56
 * characters. */
int
kt_parse_service(const char *s, char *out, size_t outsz)
{
	uint8_t	pk[ED25519_PK_LEN];
	size_t	n = strlen(s);
	int	r;

	if (n == HS_ADDR_LEN + 6 && strcmp(s + HS_ADDR_LEN, ".onion") == 0)
		n = HS_ADDR_LEN;
	if (n != HS_ADDR_LEN || outsz < HS_ADDR_LEN + 1) {
		log_warnx("\"%s\" is not a v3 onion address", s);
		return -1;
	}
	memcpy(out, s, HS_ADDR_LEN);
	out[HS_ADDR_LEN] = '\0';
	if ((r = hs_address_decode(pk, out)) != 0) {
		log_warnx("\"%s\" is not a valid v3 onion address: %s", s,
		    ob_strerror(r));
		return -1;
	}
	return 0;
}

int
kt_token_opt(struct kt_token_opts *o, int ch, const char *arg)
{
	uint64_t	v;

	switch (ch) {
	case KT_OPT_MODULE:
		o->module = arg;
		return 1;
	case KT_OPT_TOKEN:
		o->uri = arg;
		return 1;
	case KT_OPT_PIN:
		o->pin_source = arg;
		return 1;
	case KT_OPT_TIMEOUT:
		if (kt_parse_u64("--timeout", arg, 0, 600000, &v) != 0)
			return -1;
		o->timeout_ms = (unsigned)v;
		return 1;
	}
	return 0;
}

void
kt_token_usage(void)
{
	fprintf(stderr,
	    "token options:\n"
	    "  --module PATH|NAME   PKCS#11 module (default %s)\n"
	    "  --token URI          RFC 7512 URI of the token "
	    "(\"pkcs11:token=obhsm\")\n"
	    "  --pin SOURCE         file:PATH, fd:N, env:NAME, prompt or "
	    "protected\n"
	    "  --timeout MS         watchdog on token calls (0 = none)\n",
	    HSM_SO_DEFAULT);
}

struct hsm *
kt_token_open(const struct kt_token_opts *o)
{
	struct hsm_config	 conf;
	struct hsm		*h;

	memset(&conf, 0, sizeof(conf));
	conf.module = o->module;
	conf.uri = o->uri;
	conf.pin_source = o->pin_source;
	conf.timeout_ms = o->timeout_ms;
	if ((h = hsm_new(&conf)) == NULL) {
		log_warnx("token: out of memory");
		return NULL;
	}
	if (hsm_open(h) != 0) {
		log_warnx("token: %s", hsm_last_error(h));
		hsm_free(h);
		return NULL;
	}
	return h;
}

/*
 * The token's key for period tp of service p, looked up by both its
 * label (left in label, for messages) and its id, so that only the key
 * made for this (service, period) matches.  0 found; -1 not, and
 * hsm_last_status(h) says why (HSM_E_NOT_FOUND: there is no such key).
 * tp must be one that provision_window() accepts, as every period of a
 * parsed provision is: its label then always fits.
 */
int
kt_token_key_find(struct hsm *h, struct hsm_key *k,
    char label[PROVISION_LABEL_MAX + 1], const struct provision *p,
    uint64_t tp)
{
	uint8_t	id[PROVISION_KEY_ID_LEN];

	if (provision_key_label(label, p->address, tp) != 0)
		fatalx("%s: no label for period %llu", __func__,
		    (unsigned long long)tp);
	provision_key_id(id, p->identity_pk, tp);
	return hsm_key_find(h, k, label, id, sizeof(id)) == 0 ? 0 : -1;
}

void
kt_period_init(struct kt_period_opts *o)
{
	o->period_len = HS_PERIOD_LEN_DEFAULT;
	o->rot_offset = KT_ROT_OFFSET_DEFAULT;
	o->now = time(NULL);
}

int
kt_period_opt(struct kt_period_opts *o, int ch, const char *arg)
{
	switch (ch) {
	case 'l':
		if (kt_parse_u64("--period-length", arg,
		    PROVISION_PERIOD_LEN_MIN, PROVISION_PERIOD_LEN_MAX,
		    &o->period_len) != 0)
			return -1;
		return 1;
	case 'r':
		if (kt_parse_u64("--rotation-offset", arg, 0,
		    PROVISION_PERIOD_LEN_MAX, &o->rot_offset) != 0)
			return -1;
		return 1;
	case 't':
		if (kt_parse_time(arg, &o->now) != 0)
			return -1;
		return 1;
	}
	return 0;
}

void
kt_opts_init(struct kt_token_opts *to, struct kt_period_opts *po)
{
	memset(to, 0, sizeof(*to));
	if (po != NULL)
		kt_period_init(po);
	optind = 1;	/* main() may have parsed before */
}

int
kt_getopt(int argc, char **argv, const char *shortopts,
    const struct option *longopts, struct kt_token_opts *to,
    struct kt_period_opts *po)
{
	int	ch, r;

	while ((ch = getopt_long(argc, argv, shortopts, longopts,
	    NULL)) != -1) {
		r = to != NULL ? kt_token_opt(to, ch, optarg) : 0;
		if (r == 0 && po != NULL)
			r = kt_period_opt(po, ch, optarg);
		if (r == -1)
			return KT_OPT_BAD;
		if (r == 0)
			return ch;
	}
	return -1;
}

int
main(int argc, char **argv)
{
	size_t	i;
	int	verbose = 0;

	while (argc > 1 && strcmp(argv[1], "-v") == 0) {
		verbose++;
		argc--;
		argv++;
	}
	log_init("obhsm-keytool", verbose, 0);
	if (argc < 2) {
		kt_usage(stderr);
		return KT_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		kt_usage(stdout);
		return KT_EXIT_OK;
	}
	if (ob_crypto_init() != 0) {
		log_warnx("crypto initialisation failed");
		return KT_EXIT_FAIL;
	}
	for (i = 0; i < sizeof(kt_commands) / sizeof(kt_commands[0]); i++)
		if (strcmp(argv[1], kt_commands[i].name) == 0)
			return kt_commands[i].fn(argc - 1, argv + 1);
	log_warnx("unknown command \"%s\"", argv[1]);
	kt_usage(stderr);
	return KT_EXIT_USAGE;
}
