/*
 * "certify": the air-gapped ceremony.  Reads the identity key and a
 * request, checks the request against the key, and writes a bundle: for
 * every period, the hourly type-08 certs over the token's key and the
 * revision-counter key.  The blinded secrets exist only inside
 * provision_certify_period() and are wiped there; the identity key is
 * wiped here.  Nothing secret is written.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "err.h"
#include "keytool.h"
#include "log.h"
#include "provision.h"

static void
kt_certify_usage(void)
{
	fprintf(stderr,
	    "usage: obhsm-keytool certify --identity KEYFILE "
	    "--request REQUEST\n"
	    "           --out BUNDLE [--now TIME]\n\n"
	    "KEYFILE is tor's hs_ed25519_secret_key or OnionBalance's PEM "
	    "key (mode 0600).\n"
	    "Refuses a request for another address or with periods that "
	    "are over\n"
	    "(by this machine's clock, or --now).\n");
}

int
kt_certify(int argc, char **argv)
{
	static const struct option	 longopts[] = {
		{ "identity", required_argument, NULL, 'k' },
		{ "request", required_argument, NULL, 'r' },
		{ "out", required_argument, NULL, 'o' },
		{ "now", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct provision		*req = NULL, *bundle = NULL;
	uint8_t				 sk[ED25519_EXPANDED_LEN];
	uint8_t				 pk[ED25519_PK_LEN];
	const char			*keyfile = NULL, *reqfile = NULL;
	const char			*out = NULL;
	time_t				 now = time(NULL);
	size_t				 i;
	int				 ch, r, ret = KT_EXIT_FAIL;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "k:r:o:t:h", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'k':
			keyfile = optarg;
			break;
		case 'r':
			reqfile = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 't':
			if (kt_parse_time(optarg, &now) != 0)
				return KT_EXIT_USAGE;
			break;
		case 'h':
			kt_certify_usage();
			return KT_EXIT_OK;
		default:
			kt_certify_usage();
			return KT_EXIT_USAGE;
		}
	}
	if (optind != argc || keyfile == NULL || reqfile == NULL ||
	    out == NULL) {
		kt_certify_usage();
		return KT_EXIT_USAGE;
	}
	if ((r = provision_load_file(&req, PROVISION_REQUEST,
	    reqfile)) != 0) {
		log_warnx("certify: cannot use the request %s (%s)", reqfile,
		    ob_strerror(r));
		return KT_EXIT_FAIL;
	}
	if (provision_identity_load(sk, pk, keyfile) != 0)
		goto out;
	if ((r = provision_certify(&bundle, req, sk, now)) != 0) {
		log_warnx("certify: refused: %s", ob_strerror(r));
		goto out;
	}
	ob_wipe(sk, sizeof(sk));
	if (provision_save_file(out, bundle, 0644) != 0) {
		log_warnx("certify: could not write %s", out);
		goto out;
	}
	for (i = 0; i < bundle->nperiods; i++)
		printf("period %llu: %zu certs (hours %u..%zu)\n",
		    (unsigned long long)bundle->periods[i].tp,
		    bundle->periods[i].ncerts, bundle->periods[i].first_hour,
		    bundle->periods[i].first_hour +
		    bundle->periods[i].ncerts - 1);
	printf("bundle for %s.onion written to %s\n", bundle->address, out);
	ret = KT_EXIT_OK;
 out:
	ob_wipe(sk, sizeof(sk));
	provision_free(bundle);
	provision_free(req);
	return ret;
}
