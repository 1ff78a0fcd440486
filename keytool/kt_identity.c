/*
 * "identity generate" and "identity import": the onion service identity
 * key, written in tor's own files (hs_ed25519_secret_key,
 * hs_ed25519_public_key, hostname) so that tor, OnionBalance and our
 * signer all read it.  Run offline: this is the one key that must never
 * be on the online host in offline-identity mode.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "err.h"
#include "hs_keys.h"
#include "keytool.h"
#include "log.h"
#include "provision.h"

static void
kt_identity_usage(void)
{
	fprintf(stderr,
	    "usage: obhsm-keytool identity generate --dir DIR\n"
	    "       obhsm-keytool identity import --in FILE --dir DIR\n\n"
	    "generate: a new v3 identity key in tor's format in DIR\n"
	    "  (hs_ed25519_secret_key, hs_ed25519_public_key, hostname; "
	    "mode 0600;\n"
	    "  DIR is created 0700 if missing, no file is overwritten).\n"
	    "import: read tor's hs_ed25519_secret_key or OnionBalance's "
	    "PEM key\n"
	    "  (Ed25519 PKCS#8) from FILE and write tor's files in DIR.\n"
	    "Both print the onion address.\n");
}

static int
kt_identity_write(const char *dir, uint8_t sk[ED25519_EXPANDED_LEN],
    const uint8_t pk[ED25519_PK_LEN])
{
	char	addr[HS_ADDR_LEN + 1];
	int	r;

	if ((r = hs_address_encode(addr, pk)) != 0) {
		log_warnx("identity: cannot encode the address: %s",
		    ob_strerror(r));
		return KT_EXIT_FAIL;
	}
	if (provision_identity_write(dir, sk, pk) != 0) {
		log_warnx("identity: could not write the key files in %s "
		    "(existing files are never overwritten)", dir);
		return KT_EXIT_FAIL;
	}
	printf("%s.onion\n", addr);
	return KT_EXIT_OK;
}

int
kt_identity(int argc, char **argv)
{
	static const struct option	 longopts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "in", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	uint8_t				 seed[ED25519_SEED_LEN];
	uint8_t				 sk[ED25519_EXPANDED_LEN];
	uint8_t				 pk[ED25519_PK_LEN];
	const char			*dir = NULL, *in = NULL, *sub;
	int				 ch, r, ret = KT_EXIT_FAIL;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		kt_identity_usage();
		return argc < 2 ? KT_EXIT_USAGE : KT_EXIT_OK;
	}
	sub = argv[1];
	argc--;
	argv++;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "d:i:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			dir = optarg;
			break;
		case 'i':
			in = optarg;
			break;
		case 'h':
			kt_identity_usage();
			return KT_EXIT_OK;
		default:
			kt_identity_usage();
			return KT_EXIT_USAGE;
		}
	}
	if (optind != argc || dir == NULL) {
		kt_identity_usage();
		return KT_EXIT_USAGE;
	}
	if (strcmp(sub, "generate") == 0 && in == NULL) {
		if ((r = ob_random(seed, sizeof(seed))) != 0 ||
		    (r = hs_expanded_from_seed(sk, seed)) != 0 ||
		    (r = hs_expanded_pubkey(pk, sk)) != 0) {
			log_warnx("identity generate: %s", ob_strerror(r));
			goto out;
		}
		ret = kt_identity_write(dir, sk, pk);
	} else if (strcmp(sub, "import") == 0 && in != NULL) {
		if (provision_identity_load(sk, pk, in) != 0) {
			log_warnx("identity import: %s is not a usable "
			    "identity key", in);
			goto out;
		}
		ret = kt_identity_write(dir, sk, pk);
	} else {
		kt_identity_usage();
		ret = KT_EXIT_USAGE;
	}
 out:
	ob_wipe(seed, sizeof(seed));
	ob_wipe(sk, sizeof(sk));
	return ret;
}
