/*
 * "import": on the online host, check a bundle against public data and
 * the token, then merge it into the signer's store.  Every cert must be
 * signed by the blinded key computed from the service's address for its
 * period and certify the key the token itself holds for that period;
 * any failure imports nothing.  The store is replaced atomically.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "hsm.h"
#include "keytool.h"
#include "log.h"
#include "provision.h"

static void
kt_import_usage(void)
{
	fprintf(stderr,
	    "usage: obhsm-keytool import --bundle BUNDLE --state-dir DIR "
	    "[--now TIME]\n"
	    "           [token options]\n\n"
	    "Checks every cert of BUNDLE against the address and the "
	    "token's keys\n"
	    "and merges it into DIR/<address>.store, the signer's store.\n"
	    "Periods already over are skipped.\n\n");
	kt_token_usage();
}

static const char *
kt_import_why(int r)
{
	switch (r) {
	case OB_ERR_MISMATCH:
		return "not signed by this address's blinded key for this "
		    "period (a bundle for another address or period?)";
	case OB_ERR_SIGNATURE:
		return "bad signature (tampered with?)";
	case OB_ERR_RANGE:
		return "expiry out of place for this period";
	default:
		return ob_strerror(r);
	}
}

/* Check one period against the token.  0 or -1 (logged). */
static int
kt_import_period(struct hsm *h, const struct provision *b,
    const struct provision_period *pp)
{
	struct hsm_key	k;
	char		label[PROVISION_LABEL_MAX + 1];
	size_t		bad;
	int		r;

	if (kt_token_key_find(h, &k, label, b, pp->tp) != 0) {
		log_warnx("import: period %llu: the token has no key %s (%s); "
		    "was the request made with another token?",
		    (unsigned long long)pp->tp, label, hsm_last_error(h));
		return -1;
	}
	if (memcmp(k.pk, pp->token_pk, ED25519_PK_LEN) != 0) {
		log_warnx("import: period %llu: the bundle certifies another "
		    "key than the token's %s", (unsigned long long)pp->tp,
		    label);
		return -1;
	}
	if ((r = provision_verify_period(b, pp, k.pk, &bad)) != 0) {
		if (bad == pp->ncerts)
			log_warnx("import: period %llu: revision-counter key: "
			    "%s", (unsigned long long)pp->tp,
			    kt_import_why(r));
		else
			log_warnx("import: period %llu: cert %zu: %s",
			    (unsigned long long)pp->tp, bad,
			    kt_import_why(r));
		return -1;
	}
	return 0;
}

int
kt_import(int argc, char **argv)
{
	static const struct option	 longopts[] = {
		{ "bundle", required_argument, NULL, 'b' },
		{ "state-dir", required_argument, NULL, 'S' },
		{ "now", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		KT_TOKEN_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct kt_token_opts		 to;
	struct provision		*b = NULL, *store = NULL;
	struct hsm			*h = NULL;
	const char			*bfile = NULL, *dir = NULL;
	char				 hz[32];
	time_t				 now = time(NULL), we;
	size_t				 i, nskip = 0, npurged;
	int				 ch, r, ret = KT_EXIT_FAIL;

	kt_opts_init(&to, NULL);
	while ((ch = kt_getopt(argc, argv, "b:S:t:h", longopts, &to,
	    NULL)) != -1) {
		switch (ch) {
		case KT_OPT_BAD:
			return KT_EXIT_USAGE;
		case 'b':
			bfile = optarg;
			break;
		case 'S':
			dir = optarg;
			break;
		case 't':
			if (kt_parse_time(optarg, &now) != 0)
				return KT_EXIT_USAGE;
			break;
		case 'h':
			kt_import_usage();
			return KT_EXIT_OK;
		default:
			kt_import_usage();
			return KT_EXIT_USAGE;
		}
	}
	if (optind != argc || bfile == NULL || dir == NULL) {
		kt_import_usage();
		return KT_EXIT_USAGE;
	}
	if ((r = provision_load_file(&b, PROVISION_BUNDLE, bfile)) != 0) {
		log_warnx("import: cannot use the bundle %s (%s; truncated "
		    "or damaged?); nothing imported", bfile, ob_strerror(r));
		return KT_EXIT_FAIL;
	}
	if ((h = kt_token_open(&to)) == NULL)
		goto out;
	for (i = 0; i < b->nperiods; i++) {
		if (kt_import_period(h, b, &b->periods[i]) != 0) {
			log_warnx("import: %s refused; nothing imported",
			    bfile);
			goto out;
		}
		if (provision_window(b->periods[i].tp, b->period_len,
		    b->rot_offset, NULL, NULL, NULL, &we) == 0 && we < now) {
			log_warnx("import: period %llu is already over; "
			    "skipped", (unsigned long long)b->periods[i].tp);
			nskip++;
		}
	}
	r = provision_store_load(&store, dir, b->address);
	if (r != 0 && r != OB_ERR_MISSING) {
		log_warnx("import: the store for %s in %s cannot be read: %s; "
		    "nothing imported", b->address, dir, ob_strerror(r));
		goto out;
	}
	if ((r = provision_store_merge(&store, b)) != 0) {
		log_warnx("import: cannot merge into the store: %s%s; nothing "
		    "imported", ob_strerror(r), r == OB_ERR_MISMATCH ?
		    " (period length or rotation offset changed? purge "
		    "the store first)" : "");
		goto out;
	}
	if ((r = provision_store_purge(store, now, &npurged)) != 0 ||
	    (r = provision_store_save(dir, store)) != 0) {
		log_warnx("import: could not write the store in %s: %s", dir,
		    ob_strerror(r));
		goto out;
	}
	log_fmt_time(hz, sizeof(hz), provision_horizon(store));
	printf("imported %zu period(s) for %s.onion; the store holds %zu, "
	    "horizon %s\n", b->nperiods - nskip, b->address, store->nperiods,
	    hz);
	ret = KT_EXIT_OK;
 out:
	provision_free(store);
	provision_free(b);
	hsm_free(h);
	return ret;
}
