/*
 * "descriptor decode": verify, decrypt and print a v3 descriptor.  All
 * the checking is hs_desc_decode()'s; this file only reads the inputs and
 * prints what the codec found.  See kt_descriptor.h.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "crypto.h"
#include "encode.h"
#include "err.h"
#include "hs_cert.h"
#include "hs_desc.h"
#include "hs_keys.h"
#include "kt_descriptor.h"

#define KT_DESC_EXIT_OK		0
#define KT_DESC_EXIT_FAIL	1
#define KT_DESC_EXIT_USAGE	64
#define KT_KEYFILE_MAX		1024
#define KT_B32_KEY_LEN		52	/* 32 bytes, 4 spare bits */

static void
kt_descriptor_usage(void)
{
	fprintf(stderr,
	    "usage: obhsm-keytool descriptor decode --address ADDR\n"
	    "           [--time UNIX|YYYY-MM-DDTHH:MM:SS] "
	    "[--client-key FILE] [--strict] FILE\n"
	    "       obhsm-keytool descriptor decode --subcredential HEX "
	    "[...] FILE\n");
}

/* Read a whole file ("-": stdin), at most max bytes. */
static int
kt_read_file(const char *path, size_t max, uint8_t **pp, size_t *lenp)
{
	FILE	*f;
	uint8_t	*p;
	size_t	 n;

	*pp = NULL;
	*lenp = 0;
	if (strcmp(path, "-") == 0)
		f = stdin;
	else if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "descriptor: cannot open %s: %m\n", path);
		return -1;
	}
	if ((p = malloc(max + 1)) == NULL) {
		fprintf(stderr, "descriptor: out of memory\n");
		goto err;
	}
	n = fread(p, 1, max + 1, f);
	if (ferror(f)) {
		fprintf(stderr, "descriptor: cannot read %s\n", path);
		goto err;
	}
	if (n > max) {
		fprintf(stderr, "descriptor: %s is larger than %zu bytes\n",
		    path, max);
		goto err;
	}
	if (f != stdin)
		fclose(f);
	*pp = p;
	*lenp = n;
	return 0;
 err:
	free(p);
	if (f != stdin)
		fclose(f);
	return -1;
}

/* "1700000000", "YYYY-MM-DDTHH:MM:SS" or the same with a final 'Z'. */
static int
kt_descriptor_time(const char *s, time_t *t)
{
	struct tm	 tm;
	const char	*end;
	struct buf	 v;
	uint64_t	 x;

	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) != NULL &&
	    (*end == '\0' || strcmp(end, "Z") == 0)) {
		*t = timegm(&tm);
		return 0;
	}
	buf_init_ro(&v, s, strlen(s));
	if (buf_to_u64(&v, &x) != 0 || x > (uint64_t)INT32_MAX * 4)
		return -1;
	*t = (time_t)x;
	return 0;
}

/* Tor's client-auth base32 (52 characters, 4 zero bits at the end):
 * pad to 56 characters, a whole number of bytes, and drop the 33rd. */
static int
kt_b32_key(uint8_t key[X25519_KEY_LEN], const char *s, size_t n)
{
	char	tmp[KT_B32_KEY_LEN + 4];
	uint8_t	out[35];
	size_t	i;

	if (n != KT_B32_KEY_LEN)
		return -1;
	for (i = 0; i < n; i++)
		tmp[i] = (s[i] >= 'A' && s[i] <= 'Z') ? s[i] - 'A' + 'a' : s[i];
	memset(tmp + n, 'a', 4);
	if (b32_decode(out, sizeof(out), tmp, sizeof(tmp)) != 0 ||
	    out[32] != 0)
		return -1;
	memcpy(key, out, X25519_KEY_LEN);
	ob_wipe(out, sizeof(out));
	ob_wipe(tmp, sizeof(tmp));
	return 0;
}

static int
kt_client_key(uint8_t key[X25519_KEY_LEN], const char *path)
{
	uint8_t		*p = NULL;
	const char	*s, *colon;
	struct buf	 v;
	size_t		 len, n, got;
	int		 r = -1;

	if (kt_read_file(path, KT_KEYFILE_MAX, &p, &len) != 0)
		return -1;
	while (len > 0 && (p[len - 1] == '\n' || p[len - 1] == '\r' ||
	    p[len - 1] == ' '))
		len--;
	if (memchr(p, '\0', len) != NULL)
		goto bad;
	p[len] = '\0';
	s = (const char *)p;
	/* tor's ClientOnionAuthDir line: <addr>:descriptor:x25519:<key> */
	if ((colon = strrchr(s, ':')) != NULL) {
		if (colon - s < 18 ||
		    strncmp(colon - 18, ":descriptor:x25519", 18) != 0)
			goto bad;
		s = colon + 1;
	}
	n = strlen(s);
	buf_init_ro(&v, s, n);
	if (n == KT_B32_KEY_LEN)
		r = kt_b32_key(key, s, n);
	else if (n == 44)
		r = b64_decode(key, X25519_KEY_LEN, &got, &v, B64_PAD) == 0 &&
		    got == X25519_KEY_LEN ? 0 : -1;
	else if (n == 64)
		r = hex_decode(key, X25519_KEY_LEN, s, n) == 0 ? 0 : -1;
 bad:
	if (r != 0)
		fprintf(stderr, "descriptor: %s: not an x25519 client key "
		    "(tor .auth_private line, base32, base64 or hex)\n", path);
	ob_wipe(p, len);
	free(p);
	return r;
}

static void
kt_b64(char *out, size_t outsz, const uint8_t *p, size_t n)
{
	if (b64_encode(out, outsz, p, n, B64_NOPAD) != 0)
		(void)snprintf(out, outsz, "?");
}

static void
kt_hours(char *s, size_t n, uint32_t hours)
{
	struct tm	tm;
	time_t		t = (time_t)hours * 3600;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(s, n, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		(void)snprintf(s, n, "hour %u", hours);
}

static void
kt_print_cert(const char *ind, const char *what, const struct hs_cert *c)
{
	char	key[64], by[64], exp[32];

	kt_b64(key, sizeof(key), c->certified_key, ED25519_PK_LEN);
	kt_b64(by, sizeof(by), c->signing_key, ED25519_PK_LEN);
	kt_hours(exp, sizeof(exp), c->expiry_hours);
	printf("%s%s: type %02x, expires %s\n", ind, what, c->type, exp);
	printf("%s    certified key %s\n%s    signed by     %s\n", ind, key,
	    ind, by);
}

static void
kt_print_linkspecs(const struct hs_intro_point *ip)
{
	struct hs_linkspec	ls[HS_LINKSPEC_MAX_LEN / 2];
	const uint8_t		*d;
	char			 tmp[128];
	size_t			 n, i;
	int			 r;

	if ((r = hs_linkspec_split(ls, sizeof(ls) / sizeof(ls[0]), &n,
	    ip->linkspec, ip->linkspec_len)) != 0) {
		printf("    link specifiers: invalid (%s)\n", ob_strerror(r));
		return;
	}
	printf("    link specifiers: %zu\n", n);
	for (i = 0; i < n; i++) {
		d = ls[i].data;
		switch (ls[i].type) {
		case HS_LINKSPEC_IPV4:
			printf("      ipv4 %u.%u.%u.%u:%u\n", d[0], d[1], d[2],
			    d[3], (unsigned)(d[4] << 8 | d[5]));
			break;
		case HS_LINKSPEC_IPV6:
			printf("      ipv6 [%02x%02x:%02x%02x:%02x%02x:"
			    "%02x%02x:%02x%02x:%02x%02x:%02x%02x:"
			    "%02x%02x]:%u\n",
			    d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7],
			    d[8], d[9], d[10], d[11], d[12], d[13], d[14],
			    d[15], (unsigned)(d[16] << 8 | d[17]));
			break;
		case HS_LINKSPEC_LEGACY_ID:
			if (hex_encode(tmp, sizeof(tmp), d, ls[i].len, 1) != 0)
				tmp[0] = '\0';
			printf("      legacy-id %s\n", tmp);
			break;
		case HS_LINKSPEC_ED25519_ID:
			kt_b64(tmp, sizeof(tmp), d, ls[i].len);
			printf("      ed25519-id %s\n", tmp);
			break;
		default:
			printf("      type %u, %u bytes\n", ls[i].type,
			    ls[i].len);
			break;
		}
	}
}

static void
kt_print_desc(const struct hs_desc *d, const char *addr,
    const uint8_t identity[ED25519_PK_LEN], time_t now)
{
	const struct hs_intro_point	*ip;
	char				 tmp[128];
	uint8_t				 bl[ED25519_PK_LEN];
	uint64_t			 tp;
	size_t				 i;
	int				 found = 0;

	if (identity != NULL)
		printf("address: %s.onion\n", addr);
	else
		printf("address: unknown (decrypted with --subcredential)\n");
	printf("hs-descriptor 3\n");
	printf("descriptor-lifetime: %u minutes\n", d->lifetime_min);
	printf("revision-counter: %llu\n",
	    (unsigned long long)d->revision_counter);
	kt_print_cert("", "descriptor-signing-key-cert", &d->signing_cert);
	/* Which time period the blinded key belongs to (live network
	 * parameters; a test network uses other ones). */
	tp = hs_time_period(now, HS_PERIOD_LEN_DEFAULT, 720);
	for (i = 0; i < 3 && tp + i >= 1 && identity != NULL && !found; i++)
		if (hs_blind_pubkey(bl, identity, tp + i - 1,
		    HS_PERIOD_LEN_DEFAULT) == 0 &&
		    memcmp(bl, d->signing_cert.signing_key, sizeof(bl)) == 0) {
			printf("blinded key: time period %llu (1440-minute "
			    "periods)\n", (unsigned long long)(tp + i - 1));
			found = 1;
		}
	if (identity == NULL) {
		kt_b64(tmp, sizeof(tmp), d->signing_cert.signing_key,
		    ED25519_PK_LEN);
		printf("blinded key: %s (from the cert)\n", tmp);
	} else if (!found)
		printf("blinded key: no 1440-minute period next to the "
		    "time given (test network, or another time)\n");
	printf("signature: valid\n");

	printf("middle layer:\n    desc-auth-type x25519\n");
	kt_b64(tmp, sizeof(tmp), d->auth_ephemeral_key, X25519_KEY_LEN);
	printf("    desc-auth-ephemeral-key %s\n", tmp);
	printf("    auth-client lines: %zu\n", d->n_auth_clients);
	printf("    client authorization: %s\n", d->client_auth ?
	    "required, our key is authorized" : "not required");

	printf("inner layer:\n    create2-formats 2\n");
	printf("    single-onion-service: %s\n",
	    d->single_onion ? "yes" : "no");
	if (d->has_flow_control)
		printf("    flow-control %s %u\n", d->flow_control_versions,
		    d->flow_control_sendme_inc);
	else
		printf("    flow-control: absent\n");
	if (d->pow_params != NULL)
		printf("    %s", d->pow_params);
	printf("introduction points: %zu valid, %zu skipped as invalid\n",
	    d->n_intro, d->n_intro_skipped);
	for (i = 0; i < d->n_intro; i++) {
		ip = &d->intro[i];
		printf("  introduction point %zu:\n", i + 1);
		kt_print_linkspecs(ip);
		kt_b64(tmp, sizeof(tmp), ip->onion_key, X25519_KEY_LEN);
		printf("    onion-key ntor %s\n", tmp);
		kt_b64(tmp, sizeof(tmp), ip->enc_key, X25519_KEY_LEN);
		printf("    enc-key ntor %s\n", tmp);
		kt_print_cert("    ", "auth-key", &ip->auth_key_cert);
		kt_print_cert("    ", "enc-key-cert", &ip->enc_key_cert);
	}
}

/* ADDR or ADDR.onion, checked; addr gets the 56 characters. */
static int
kt_descriptor_address(char addr[HS_ADDR_LEN + 1],
    uint8_t identity[ED25519_PK_LEN], const char *arg)
{
	size_t	n = strlen(arg);
	int	r;

	if (n == HS_ADDR_LEN + 6 && strcmp(arg + HS_ADDR_LEN, ".onion") == 0)
		n = HS_ADDR_LEN;
	if (n != HS_ADDR_LEN) {
		fprintf(stderr, "descriptor: \"%s\" is not a v3 onion "
		    "address\n", arg);
		return -1;
	}
	memcpy(addr, arg, HS_ADDR_LEN);
	addr[HS_ADDR_LEN] = '\0';
	if ((r = hs_address_decode(identity, addr)) != 0) {
		fprintf(stderr, "descriptor: \"%s\" is not a valid v3 onion "
		    "address: %s\n", arg, ob_strerror(r));
		return -1;
	}
	return 0;
}

static int
kt_descriptor_decode(int argc, char **argv)
{
	static const struct option	 longopts[] = {
		{ "address", required_argument, NULL, 'a' },
		{ "time", required_argument, NULL, 't' },
		{ "client-key", required_argument, NULL, 'k' },
		{ "strict", no_argument, NULL, 's' },
		{ "subcredential", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct hs_desc_decode_params	 dp;
	struct hs_desc			*d = NULL;
	const char			*addr_arg = NULL, *keyfile = NULL;
	const char			*subcred_arg = NULL;
	char				 addr[HS_ADDR_LEN + 1];
	uint8_t				 identity[ED25519_PK_LEN];
	uint8_t				 subcred[HS_SUBCRED_LEN];
	uint8_t				 client_sk[X25519_KEY_LEN];
	uint8_t				*p = NULL;
	size_t				 len;
	time_t				 now = time(NULL);
	int				 ch, r, flags = 0;
	int				 ret = KT_DESC_EXIT_FAIL;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			addr_arg = optarg;
			break;
		case 't':
			if (kt_descriptor_time(optarg, &now) != 0) {
				fprintf(stderr, "descriptor: --time \"%s\" is "
				    "neither seconds since the epoch nor "
				    "YYYY-MM-DDTHH:MM:SS\n", optarg);
				return KT_DESC_EXIT_USAGE;
			}
			break;
		case 'k':
			keyfile = optarg;
			break;
		case 's':
			flags |= HS_DESC_F_STRICT;
			break;
		case 'c':
			subcred_arg = optarg;
			if (hex_decode(subcred, sizeof(subcred), optarg,
			    strlen(optarg)) != 0) {
				fprintf(stderr, "descriptor: --subcredential "
				    "wants 64 hex digits\n");
				return KT_DESC_EXIT_USAGE;
			}
			break;
		case 'h':
			kt_descriptor_usage();
			return KT_DESC_EXIT_OK;
		default:
			kt_descriptor_usage();
			return KT_DESC_EXIT_USAGE;
		}
	}
	if ((addr_arg == NULL && subcred_arg == NULL) || optind != argc - 1) {
		kt_descriptor_usage();
		return KT_DESC_EXIT_USAGE;
	}
	/* A known subcredential stands in for the address (test vectors
	 * published without their identity key). */
	if (addr_arg == NULL) {
		(void)snprintf(addr, sizeof(addr), "(unknown)");
		memset(identity, 0, sizeof(identity));
	} else if (kt_descriptor_address(addr, identity, addr_arg) != 0)
		return KT_DESC_EXIT_USAGE;
	if (keyfile != NULL && kt_client_key(client_sk, keyfile) != 0)
		goto out;
	/* One byte more than a descriptor may have, to report it. */
	if (kt_read_file(argv[optind], HS_DESC_MAX_LEN + 1, &p, &len) != 0)
		goto out;
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		fprintf(stderr, "descriptor: out of memory\n");
		goto out;
	}
	memset(&dp, 0, sizeof(dp));
	dp.identity_pk = identity;
	dp.subcredential = subcred_arg != NULL ? subcred : NULL;
	dp.now = now;
	dp.client_auth_sk = keyfile != NULL ? client_sk : NULL;
	dp.flags = flags;
	hs_desc_init(d);
	if ((r = hs_desc_decode(d, p, len, &dp)) != 0) {
		fprintf(stderr, "descriptor: %s: invalid descriptor for %s: "
		    "%s\n", argv[optind], addr, ob_strerror(r));
		if (r == OB_ERR_MAC)
			fprintf(stderr, "descriptor: its layers do not "
			    "decrypt: is it for another address?\n");
		if (r == OB_ERR_NOT_AUTHORIZED && keyfile == NULL)
			fprintf(stderr, "descriptor: the inner layer needs "
			    "client authorization (--client-key)\n");
		goto out;
	}
	kt_print_desc(d, addr, addr_arg != NULL ? identity : NULL, now);
	ret = KT_DESC_EXIT_OK;
 out:
	if (d != NULL) {
		hs_desc_clear(d);
		free(d);
	}
	free(p);
	ob_wipe(client_sk, sizeof(client_sk));
	return ret;
}

int
kt_descriptor_main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "decode") == 0)
		return kt_descriptor_decode(argc - 1, argv + 1);
	kt_descriptor_usage();
	return argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) ? KT_DESC_EXIT_OK : KT_DESC_EXIT_USAGE;
}
