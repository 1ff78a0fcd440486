/*
 * "token keys": on the online host, make sure the token holds one
 * descriptor signing key for each of the next N time periods of a
 * service (one key per (service, period), never shared), and write the
 * request the air-gapped ceremony certifies.  Running it again reuses the
 * keys already there, so it is safe to repeat.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "err.h"
#include "hs_keys.h"
#include "hsm.h"
#include "keytool.h"
#include "log.h"
#include "provision.h"

static void
kt_token_keys_usage(void)
{
	fprintf(stderr,
	    "usage: obhsm-keytool token keys --service ADDR --out REQUEST\n"
	    "           [--count N] [--first TP] [--period-length MIN]\n"
	    "           [--rotation-offset MIN] [--now TIME] "
	    "[token options]\n\n"
	    "Generates (or finds) one non-extractable Ed25519 key per time "
	    "period\n"
	    "TP..TP+N-1 (default: the earliest period in use now, N = 7)\n"
	    "labelled "
	    "obhsm-<address>-<tp>, and writes the request for "
	    "\"obhsm-keytool certify\".\n"
	    "Defaults: --period-length 1440 --rotation-offset 720 "
	    "(the live network).\n\n");
	kt_token_usage();
}

/* Find the key of (service, tp) or generate it. */
static int
kt_token_key(struct hsm *h, struct hsm_key *k, const struct provision *p,
    uint64_t tp, int *created)
{
	char	label[PROVISION_LABEL_MAX + 1];
	uint8_t	id[PROVISION_KEY_ID_LEN], zero[ED25519_PK_LEN];

	*created = 0;
	if (kt_token_key_find(h, k, label, p, tp) != 0) {
		if (hsm_last_status(h) != HSM_E_NOT_FOUND) {
			log_warnx("token keys: period %llu: %s",
			    (unsigned long long)tp, hsm_last_error(h));
			return -1;
		}
		provision_key_id(id, p->identity_pk, tp);
		if (hsm_key_generate(h, k, label, id, sizeof(id)) != 0) {
			log_warnx("token keys: period %llu: generate: %s",
			    (unsigned long long)tp, hsm_last_error(h));
			return -1;
		}
		*created = 1;
	}
	memset(zero, 0, sizeof(zero));
	if (memcmp(k->pk, zero, sizeof(zero)) == 0) {
		log_warnx("token keys: period %llu: the token has no public "
		    "key for %s", (unsigned long long)tp, label);
		return -1;
	}
	return 0;
}

static int
kt_token_keys(int argc, char **argv)
{
	static const struct option	 longopts[] = {
		{ "service", required_argument, NULL, 's' },
		{ "out", required_argument, NULL, 'o' },
		{ "count", required_argument, NULL, 'n' },
		{ "first", required_argument, NULL, 'f' },
		KT_PERIOD_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
		KT_TOKEN_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct kt_token_opts		 to;
	struct kt_period_opts		 po;
	struct provision		*req = NULL, *chk = NULL;
	struct provision_period		*pp;
	struct hsm			*h = NULL;
	struct hsm_key			 k;
	struct buf			*b = NULL;
	char				 addr[HS_ADDR_LEN + 1];
	char				 ws_s[32], we_s[32];
	const char			*service = NULL, *out = NULL;
	uint64_t			 count = 7, first = 0, tp, plen, rot;
	time_t				 now, ws, we;
	int				 ch, r, have_first = 0, created;
	int				 ret = KT_EXIT_FAIL;

	kt_opts_init(&to, &po);
	while ((ch = kt_getopt(argc, argv, "s:o:n:f:l:r:t:h", longopts, &to,
	    &po)) != -1) {
		switch (ch) {
		case KT_OPT_BAD:
			return KT_EXIT_USAGE;
		case 's':
			service = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'n':
			if (kt_parse_u64("--count", optarg, 1,
			    PROVISION_MAX_PERIODS, &count) != 0)
				return KT_EXIT_USAGE;
			break;
		case 'f':
			if (kt_parse_u64("--first", optarg, 0, UINT32_MAX,
			    &first) != 0)
				return KT_EXIT_USAGE;
			have_first = 1;
			break;
		case 'h':
			kt_token_keys_usage();
			return KT_EXIT_OK;
		default:
			kt_token_keys_usage();
			return KT_EXIT_USAGE;
		}
	}
	if (optind != argc || service == NULL || out == NULL) {
		kt_token_keys_usage();
		return KT_EXIT_USAGE;
	}
	if (kt_parse_service(service, addr, sizeof(addr)) != 0)
		return KT_EXIT_USAGE;
	plen = po.period_len;
	rot = po.rot_offset;
	now = po.now;
	if (rot > plen) {
		log_warnx("token keys: the rotation offset cannot exceed the "
		    "period length");
		return KT_EXIT_USAGE;
	}
	/* By default the earliest period live now: from a TP start until
	 * the next rotation offset, the previous period is still in use
	 * (the "first" descriptor). */
	if (!have_first) {
		first = hs_time_period(now, plen, rot);
		if (first > 0 && provision_window(first - 1, plen, rot, NULL,
		    NULL, NULL, &we) == 0 && we >= now)
			first--;
	}
	if ((r = provision_new(&req, PROVISION_REQUEST, addr, plen,
	    rot)) != 0) {
		log_warnx("token keys: %s", ob_strerror(r));
		return KT_EXIT_FAIL;
	}
	if ((r = provision_window(first, plen, rot, NULL, NULL, NULL,
	    &we)) != 0 || (r = provision_window(first + count - 1, plen, rot,
	    NULL, NULL, NULL, NULL)) != 0) {
		log_warnx("token keys: periods out of range");
		goto out;
	}
	if (we < now) {
		log_warnx("token keys: period %llu is already over",
		    (unsigned long long)first);
		goto out;
	}
	if ((h = kt_token_open(&to)) == NULL)
		goto out;
	for (tp = first; tp < first + count; tp++) {
		if (kt_token_key(h, &k, req, tp, &created) != 0)
			goto out;
		if ((r = provision_period_add(req, tp, &pp)) != 0) {
			log_warnx("token keys: %s", ob_strerror(r));
			goto out;
		}
		memcpy(pp->token_pk, k.pk, ED25519_PK_LEN);
		if (provision_window(tp, plen, rot, NULL, NULL, &ws,
		    &we) != 0)
			goto out;
		log_fmt_time(ws_s, sizeof(ws_s), ws);
		log_fmt_time(we_s, sizeof(we_s), we);
		printf("period %llu: %s key %s, in use %s .. %s\n",
		    (unsigned long long)tp, created ? "new" : "existing",
		    k.label, ws_s, we_s);
	}
	/* Re-read what we write: it also refuses a key shared by two
	 * periods, whatever the token did. */
	if ((b = buf_new(PROVISION_FILE_MAX)) == NULL ||
	    (r = provision_encode(b, req)) != 0 ||
	    (r = provision_parse(&chk, PROVISION_REQUEST, buf_ptr(b),
	    buf_len(b), NULL)) != 0) {
		log_warnx("token keys: the request does not check: %s",
		    b == NULL ? "out of memory" : ob_strerror(r));
		goto out;
	}
	if (provision_write_atomic(out, buf_ptr(b), buf_len(b), 0644) != 0) {
		log_warnx("token keys: could not write %s", out);
		goto out;
	}
	printf("request for %s.onion, periods %llu..%llu, written to %s\n",
	    addr, (unsigned long long)first,
	    (unsigned long long)(first + count - 1), out);
	ret = KT_EXIT_OK;
 out:
	buf_free(b);
	provision_free(chk);
	provision_free(req);
	hsm_free(h);
	return ret;
}

int
kt_token(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "keys") == 0)
		return kt_token_keys(argc - 1, argv + 1);
	fprintf(stderr, "usage: obhsm-keytool token keys [options]\n");
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0)) {
		kt_token_keys_usage();
		return KT_EXIT_OK;
	}
	return KT_EXIT_USAGE;
}
