/*
 * "status": how far ahead each service is provisioned, for monitoring.
 * Nagios plugin conventions: one summary line, details after it, exit 0
 * OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.  A service whose live periods
 * are not all provisioned is critical whatever its horizon: the signer
 * refuses to sign for them.
 */
#include "config.h"

#include <dirent.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "err.h"
#include "hs_keys.h"
#include "keytool.h"
#include "log.h"
#include "provision.h"

#define KT_NAGIOS_OK		0
#define KT_NAGIOS_WARNING	1
#define KT_NAGIOS_CRITICAL	2
#define KT_NAGIOS_UNKNOWN	3

static const char *kt_nagios_names[] = {
	"OK", "WARNING", "CRITICAL", "UNKNOWN"
};

static void
kt_status_usage(void)
{
	fprintf(stderr,
	    "usage: obhsm-keytool status --state-dir DIR [--service ADDR]\n"
	    "           [--warn DAYS] [--crit DAYS] [--now TIME]\n\n"
	    "Exit 0 (OK), 1 (WARNING: horizon within --warn days, default "
	    "7),\n"
	    "2 (CRITICAL: within --crit days, default 2, or a live period "
	    "not\n"
	    "provisioned), 3 (UNKNOWN: no store, unreadable directory).\n");
}

int
kt_store_names(const char *dir, char (**names)[HS_ADDR_LEN + 1],
    size_t *n)
{
	DIR		*d;
	struct dirent	*de;
	char		(*v)[HS_ADDR_LEN + 1] = NULL;
	char		(*nv)[HS_ADDR_LEN + 1];
	size_t		 len;

	*names = NULL;
	*n = 0;
	if ((d = opendir(dir)) == NULL) {
		log_warn("cannot read %s", dir);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len != HS_ADDR_LEN + 6 ||
		    strcmp(de->d_name + HS_ADDR_LEN, ".store") != 0)
			continue;
		if (*n >= PROVISION_MAX_PERIODS * 16 ||
		    (nv = reallocarray(v, *n + 1, sizeof(*v))) == NULL) {
			log_warnx("too many stores in %s", dir);
			free(v);
			closedir(d);
			*n = 0;
			return -1;
		}
		v = nv;
		memcpy(v[*n], de->d_name, HS_ADDR_LEN);
		v[*n][HS_ADDR_LEN] = '\0';
		(*n)++;
	}
	closedir(d);
	*names = v;
	return 0;
}

/* One service: its state, and one line of detail on stdout. */
static int
kt_status_service(struct buf *det, const char *dir, const char *addr,
    time_t now, uint64_t warn_days, uint64_t crit_days, char *summary,
    size_t sumlen, double *daysp)
{
	struct provision	*p = NULL;
	time_t			 horizon, ws, we;
	uint64_t		 cur, tp;
	char			 hz[32];
	double			 days;
	int			 r, st = KT_NAGIOS_OK;

	if ((r = provision_store_load(&p, dir, addr)) != 0) {
		(void)snprintf(summary, sumlen, "%s: store %s", addr,
		    r == OB_ERR_MISSING ? "missing" : "unreadable");
		if (buf_putf(det, "%s.onion: %s, CRITICAL\n", addr,
		    ob_strerror(r)) != 0)
			log_warnx("status: out of memory");
		return KT_NAGIOS_CRITICAL;
	}
	horizon = provision_horizon(p);
	/* The periods live now: every one whose window holds now. */
	cur = hs_time_period(now, p->period_len, p->rot_offset);
	for (tp = cur > 0 ? cur - 1 : 0; tp <= cur + 1; tp++) {
		if (provision_window(tp, p->period_len, p->rot_offset, NULL,
		    NULL, &ws, &we) != 0 || now < ws || now > we)
			continue;
		if (provision_period_find(p, tp) == NULL) {
			(void)snprintf(summary, sumlen, "%s: live period %llu "
			    "not provisioned", addr, (unsigned long long)tp);
			st = KT_NAGIOS_CRITICAL;
		}
	}
	days = horizon > now ? (double)(horizon - now) / 86400 : 0;
	*daysp = days;
	log_fmt_time(hz, sizeof(hz), horizon);
	if (st == KT_NAGIOS_OK) {
		if (horizon <= now + (time_t)(crit_days * 86400))
			st = KT_NAGIOS_CRITICAL;
		else if (horizon <= now + (time_t)(warn_days * 86400))
			st = KT_NAGIOS_WARNING;
		(void)snprintf(summary, sumlen, "%s: provisioned until %s "
		    "(%.1f days)", addr, p->nperiods ? hz : "never", days);
	}
	r = buf_putf(det, "%s.onion: %zu period(s)", addr, p->nperiods);
	if (r == 0 && p->nperiods > 0)
		r = buf_putf(det, " %llu..%llu, horizon %s (%.1f days)",
		    (unsigned long long)p->periods[0].tp,
		    (unsigned long long)p->periods[p->nperiods - 1].tp, hz,
		    days);
	if (r == 0)
		r = buf_putf(det, ", %s\n", kt_nagios_names[st]);
	if (r != 0)
		log_warnx("status: %s", ob_strerror(r));
	provision_free(p);
	return st;
}

int
kt_status(int argc, char **argv)
{
	static const struct option	 longopts[] = {
		{ "state-dir", required_argument, NULL, 'S' },
		{ "service", required_argument, NULL, 's' },
		{ "warn", required_argument, NULL, 'w' },
		{ "crit", required_argument, NULL, 'c' },
		{ "now", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	char				(*names)[HS_ADDR_LEN + 1] = NULL;
	struct buf			*det;
	char				 one[HS_ADDR_LEN + 1];
	char				 sum[256], worst_sum[256];
	double				 days, min_days = 0;
	const char			*dir = NULL, *service = NULL;
	uint64_t			 warn = 7, crit = 2;
	time_t				 now = time(NULL);
	size_t				 i, n = 0;
	int				 ch, st, worst = KT_NAGIOS_OK;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "S:s:w:c:t:h", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'S':
			dir = optarg;
			break;
		case 's':
			service = optarg;
			break;
		case 'w':
			if (kt_parse_u64("--warn", optarg, 0, 3650,
			    &warn) != 0)
				return KT_NAGIOS_UNKNOWN;
			break;
		case 'c':
			if (kt_parse_u64("--crit", optarg, 0, 3650,
			    &crit) != 0)
				return KT_NAGIOS_UNKNOWN;
			break;
		case 't':
			if (kt_parse_time(optarg, &now) != 0)
				return KT_NAGIOS_UNKNOWN;
			break;
		case 'h':
			kt_status_usage();
			return KT_NAGIOS_OK;
		default:
			kt_status_usage();
			return KT_NAGIOS_UNKNOWN;
		}
	}
	if (optind != argc || dir == NULL) {
		kt_status_usage();
		return KT_NAGIOS_UNKNOWN;
	}
	if (service != NULL) {
		if (kt_parse_service(service, one, sizeof(one)) != 0)
			return KT_NAGIOS_UNKNOWN;
		if ((names = malloc(sizeof(*names))) == NULL)
			return KT_NAGIOS_UNKNOWN;
		memcpy(names[0], one, sizeof(one));
		n = 1;
	} else if (kt_store_names(dir, &names, &n) != 0) {
		printf("OBHSM PROVISION UNKNOWN - cannot read %s\n", dir);
		return KT_NAGIOS_UNKNOWN;
	}
	if (n == 0) {
		printf("OBHSM PROVISION UNKNOWN - no service provisioned in "
		    "%s\n", dir);
		free(names);
		return KT_NAGIOS_UNKNOWN;
	}
	/* Details go into a buffer so that the summary line leads. */
	if ((det = buf_new(BUF_MAX_DEFAULT)) == NULL) {
		free(names);
		return KT_NAGIOS_UNKNOWN;
	}
	worst_sum[0] = '\0';
	for (i = 0; i < n; i++) {
		sum[0] = '\0';
		days = 0;
		st = kt_status_service(det, dir, names[i], now, warn, crit,
		    sum, sizeof(sum), &days);
		if (i == 0 || days < min_days)
			min_days = days;
		if (i == 0 || st > worst) {
			worst = st;
			memcpy(worst_sum, sum, sizeof(sum));
		}
	}
	/* Performance data: the shortest horizon, with the thresholds. */
	printf("OBHSM PROVISION %s - %zu service(s); %s | horizon_days="
	    "%.2f;%llu;%llu;0\n%.*s", kt_nagios_names[worst], n, worst_sum,
	    min_days, (unsigned long long)warn, (unsigned long long)crit,
	    (int)buf_len(det),
	    (const char *)buf_ptr(det));
	buf_free(det);
	free(names);
	return worst;
}
