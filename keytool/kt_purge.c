/*
 * "purge": remove what belongs to periods that are over, once their
 * window of use has ended: their certs from the stores, and their keys
 * from the token.  A key is ours only if both its id (identity key |
 * period) and its label (obhsm-<address>-<period>) say so; nothing else
 * on the token is touched.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "hs_keys.h"
#include "hsm.h"
#include "keytool.h"
#include "log.h"
#include "provision.h"

struct kt_purge_svc {
	uint8_t		id_pk[ED25519_PK_LEN];
	uint64_t	period_len;
	uint64_t	rot_offset;
};

static void
kt_purge_usage(void)
{
	fprintf(stderr,
	    "usage: obhsm-keytool purge --state-dir DIR [--now TIME] "
	    "[--dry-run]\n"
	    "           [--period-length MIN] [--rotation-offset MIN] "
	    "[--no-token]\n"
	    "           [token options]\n\n"
	    "Drops the certs of periods whose window of use is over from "
	    "every store\n"
	    "in DIR and destroys their keys on the token.  Keys of a "
	    "service without\n"
	    "a store are judged with --period-length/--rotation-offset "
	    "(1440/720).\n\n");
	kt_token_usage();
}

static int
kt_purge_stores(const char *dir, time_t now, int dry,
    struct kt_purge_svc **svcp, size_t *nsvcp)
{
	char			(*names)[HS_ADDR_LEN + 1] = NULL;
	struct provision	*p = NULL;
	struct kt_purge_svc	*svc = NULL;
	size_t			 i, n, np;
	int			 r, ret = -1;

	if (kt_store_names(dir, &names, &n) != 0)
		return -1;
	if (n > 0 && (svc = calloc(n, sizeof(*svc))) == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		if ((r = provision_store_load(&p, dir, names[i])) != 0) {
			log_warnx("purge: store of %s: %s", names[i],
			    ob_strerror(r));
			goto out;
		}
		memcpy(svc[i].id_pk, p->identity_pk, ED25519_PK_LEN);
		svc[i].period_len = p->period_len;
		svc[i].rot_offset = p->rot_offset;
		if ((r = provision_store_purge(p, now, &np)) != 0)
			goto out;
		if (np > 0 && !dry &&
		    (r = provision_store_save(dir, p)) != 0) {
			log_warnx("purge: cannot write the store of %s: %s",
			    names[i], ob_strerror(r));
			goto out;
		}
		printf("%s.onion: %s %zu period(s) from the store, %zu "
		    "left\n", names[i], dry ? "would drop" : "dropped", np,
		    p->nperiods);
		provision_free(p);
		p = NULL;
	}
	*svcp = svc;
	*nsvcp = n;
	svc = NULL;
	ret = 0;
 out:
	provision_free(p);
	free(svc);
	free(names);
	return ret;
}

static int
kt_purge_token(const struct kt_token_opts *to,
    const struct kt_period_opts *po, int dry,
    const struct kt_purge_svc *svc, size_t nsvc)
{
	struct hsm	*h;
	struct hsm_key	*keys = NULL;
	char		 addr[HS_ADDR_LEN + 1];
	char		 label[PROVISION_LABEL_MAX + 1];
	uint8_t		 id_pk[ED25519_PK_LEN];
	uint64_t	 tp, l, o;
	time_t		 we;
	size_t		 i, j, nkeys = 0, ndone = 0;
	int		 ret = -1;

	if ((h = kt_token_open(to)) == NULL)
		return -1;
	if (hsm_key_list(h, &keys, &nkeys) != 0) {
		log_warnx("purge: cannot list the token's keys: %s",
		    hsm_last_error(h));
		goto out;
	}
	for (i = 0; i < nkeys; i++) {
		if (provision_key_id_parse(id_pk, &tp, keys[i].id,
		    keys[i].id_len) != 0 ||
		    hs_address_encode(addr, id_pk) != 0 ||
		    provision_key_label(label, addr, tp) != 0 ||
		    strcmp(label, keys[i].label) != 0)
			continue;
		l = po->period_len;
		o = po->rot_offset;
		for (j = 0; j < nsvc; j++)
			if (memcmp(svc[j].id_pk, id_pk, ED25519_PK_LEN) == 0) {
				l = svc[j].period_len;
				o = svc[j].rot_offset;
			}
		if (provision_window(tp, l, o, NULL, NULL, NULL, &we) != 0 ||
		    we >= po->now)
			continue;
		if (!dry && hsm_key_destroy(h, &keys[i]) != 0) {
			log_warnx("purge: cannot destroy %s: %s", label,
			    hsm_last_error(h));
			goto out;
		}
		printf("token: %s %s\n", dry ? "would destroy" : "destroyed",
		    label);
		ndone++;
	}
	printf("token: %zu key(s) %s\n", ndone,
	    dry ? "would be destroyed" : "destroyed");
	ret = 0;
 out:
	free(keys);
	hsm_free(h);
	return ret;
}

int
kt_purge(int argc, char **argv)
{
	static const struct option	 longopts[] = {
		{ "state-dir", required_argument, NULL, 'S' },
		KT_PERIOD_LONGOPTS,
		{ "dry-run", no_argument, NULL, 'n' },
		{ "no-token", no_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		KT_TOKEN_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct kt_token_opts		 to;
	struct kt_period_opts		 po;
	struct kt_purge_svc		*svc = NULL;
	const char			*dir = NULL;
	size_t				 nsvc = 0;
	int				 ch, dry = 0, notoken = 0;
	int				 ret = KT_EXIT_FAIL;

	kt_opts_init(&to, &po);
	while ((ch = kt_getopt(argc, argv, "S:t:l:r:nNh", longopts, &to,
	    &po)) != -1) {
		switch (ch) {
		case KT_OPT_BAD:
			return KT_EXIT_USAGE;
		case 'S':
			dir = optarg;
			break;
		case 'n':
			dry = 1;
			break;
		case 'N':
			notoken = 1;
			break;
		case 'h':
			kt_purge_usage();
			return KT_EXIT_OK;
		default:
			kt_purge_usage();
			return KT_EXIT_USAGE;
		}
	}
	if (optind != argc || dir == NULL) {
		kt_purge_usage();
		return KT_EXIT_USAGE;
	}
	if (kt_purge_stores(dir, po.now, dry, &svc, &nsvc) != 0)
		goto out;
	if (!notoken && kt_purge_token(&to, &po, dry, svc, nsvc) != 0)
		goto out;
	ret = KT_EXIT_OK;
 out:
	free(svc);
	return ret;
}
