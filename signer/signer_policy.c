/*
 * What the signer checks before the token signs anything (DESIGN.md "The
 * signer is not a signing oracle"; doc/protocol.md), and the state those
 * checks need: per service, the provisioned periods with their token
 * keys and revision floors, the intro points read from verified backend
 * descriptors, and the intro point certs the token made.
 *
 * Every refusal fills a verdict (reason + detail) and returns -1 before
 * any token call; a signature leaves this file only after its audit
 * record is written and, for descriptors, the new revision floor is on
 * disk.  The main loop commits the audit records of a poll round with
 * one fsync before any reply is written (signer.c, signer_commit).
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "audit.h"
#include "buf.h"
#include "crypto.h"
#include "encode.h"
#include "err.h"
#include "hs_cert.h"
#include "hs_desc.h"
#include "hs_keys.h"
#include "hsm.h"
#include "log.h"
#include "provision.h"
#include "signer.h"

#define SIGNER_FLOOR_MAX	64	/* bytes in a revision floor file */
/* A failed read of a period's 08 certs from its store is not tried again
 * before this (signer_certs_hold). */
#define SIGNER_HOLD_RETRY_SECS	60
/* Online mode: 08 certs held past the current hour (signer_certs_hold). */
#define SIGNER_CERT_HOURS_AHEAD	2
#define SIGNER_SIG_LINE_LEN	(sizeof("signature ") - 1 + 86 + 1)

static int verdict(struct signer_verdict *, uint16_t, const char *, ...)
    __attribute__((format(printf, 3, 4)));
static int verdict_quiet(struct signer_verdict *, uint16_t, const char *,
    ...) __attribute__((format(printf, 3, 4)));

/* Refuse: fill the verdict, log it, return -1. */
static int
verdict(struct signer_verdict *v, uint16_t reason, const char *fmt, ...)
{
	va_list	ap;

	v->reason = reason;
	va_start(ap, fmt);
	(void)vsnprintf(v->detail, sizeof(v->detail), fmt, ap);
	va_end(ap);
	log_warnx("refused (%s): %s", msg_reason_name(reason), v->detail);
	return -1;
}

/* The same, for a caller that logs in its own way (a token outage). */
static int
verdict_quiet(struct signer_verdict *v, uint16_t reason, const char *fmt,
    ...)
{
	va_list	ap;

	v->reason = reason;
	va_start(ap, fmt);
	(void)vsnprintf(v->detail, sizeof(v->detail), fmt, ap);
	va_end(ap);
	return -1;
}

static int
signer_live(const struct signer *sg, uint64_t tp, time_t now)
{
	return provision_live(tp, sg->conf->period_len, sg->conf->rot_offset,
	    now) == 1;
}

static int
signer_service_cmp(const void *a, const void *b)
{
	const struct signer_service	*const *x = a, *const *y = b;

	return strcmp((*x)->conf->address, (*y)->conf->address);
}

/*
 * With thousands of services a lookup per request must not be a linear
 * scan: binary search over the address order kept in by_addr (an index
 * inside services[], so it moves with the array on a reload).
 */
struct signer_service *
signer_service_find(struct signer *sg, const char *address)
{
	struct signer_service	*svc;
	size_t			 lo = 0, hi = sg->nservices, mid;
	int			 c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		svc = &sg->services[sg->services[mid].by_addr];
		if ((c = strcmp(address, svc->conf->address)) == 0)
			return svc;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* Fill by_addr; -1 if two services have one address (they would share
 * token keys and revision floors). */
static int
signer_service_index(struct signer *sg)
{
	struct signer_service	**v;
	size_t			  i;
	int			  rv = 0;

	if (sg->nservices == 0)
		return 0;
	if ((v = calloc(sg->nservices, sizeof(*v))) == NULL)
		fatal("%s", __func__);
	for (i = 0; i < sg->nservices; i++)
		v[i] = &sg->services[i];
	qsort(v, sg->nservices, sizeof(*v), signer_service_cmp);
	for (i = 0; i < sg->nservices; i++) {
		sg->services[i].by_addr = (size_t)(v[i] - sg->services);
		if (i > 0 && signer_service_cmp(&v[i - 1], &v[i]) == 0) {
			log_warnx("%s: service %s is configured twice",
			    __func__, v[i]->conf->address);
			rv = -1;
		}
	}
	free(v);
	return rv;
}

/*
 * The intro point pool (signer.h).  The hash is keyed, as backends
 * choose the keys it hashes: no one can fill a bucket on purpose.
 */
static size_t
signer_ipool_slot(const struct signer_ipool *pl, const uint8_t *auth)
{
	uint8_t		h[crypto_shorthash_BYTES];
	uint64_t	x = 0;
	size_t		i;

	(void)crypto_shorthash(h, auth, ED25519_PK_LEN, pl->hkey);
	for (i = 0; i < sizeof(h); i++)
		x = x << 8 | h[i];
	return (size_t)(x & (pl->nbucket - 1));
}

static int
signer_ipool_same(const struct signer_intro *in,
    const struct hs_intro_point *ip)
{
	return in->linkspec_len == ip->linkspec_len &&
	    memcmp(in->auth_key, ip->auth_key_cert.certified_key,
	    ED25519_PK_LEN) == 0 &&
	    memcmp(in->enc_ed, ip->enc_key_cert.certified_key,
	    ED25519_PK_LEN) == 0 &&
	    memcmp(in->enc_key, ip->enc_key, X25519_KEY_LEN) == 0 &&
	    memcmp(in->onion_key, ip->onion_key, X25519_KEY_LEN) == 0 &&
	    memcmp(in->linkspec, ip->linkspec, ip->linkspec_len) == 0;
}

/* At most one intro point per bucket on average. */
static void
signer_ipool_grow(struct signer_ipool *pl)
{
	struct signer_intro	**nb, *in, *next;
	size_t			  n, i, old = pl->nbucket;

	n = old > 0 ? old * 2 : 64;
	if ((nb = calloc(n, sizeof(*nb))) == NULL)
		fatal("%s", __func__);
	pl->nbucket = n;
	for (i = 0; i < old; i++)
		for (in = pl->bucket[i]; in != NULL; in = next) {
			next = in->next;
			in->next = nb[signer_ipool_slot(pl, in->auth_key)];
			nb[signer_ipool_slot(pl, in->auth_key)] = in;
		}
	free(pl->bucket);
	pl->bucket = nb;
}

static struct signer_intro *
signer_ipool_ref(struct signer_intro *in)
{
	if (in->refs == UINT32_MAX)
		fatalx("%s: references", __func__);
	in->refs++;
	return in;
}

/* A reference to the pool's copy of ip, made if there is none. */
static struct signer_intro *
signer_ipool_get(struct signer *sg, const struct hs_intro_point *ip)
{
	struct signer_ipool	*pl;
	struct signer_intro	*in;
	size_t			 b;

	if ((pl = sg->ipool) == NULL) {
		if ((pl = calloc(1, sizeof(*pl))) == NULL)
			fatal("%s", __func__);
		crypto_shorthash_keygen(pl->hkey);
		sg->ipool = pl;
	}
	if (pl->nbucket > 0) {
		b = signer_ipool_slot(pl, ip->auth_key_cert.certified_key);
		for (in = pl->bucket[b]; in != NULL; in = in->next)
			if (signer_ipool_same(in, ip))
				return signer_ipool_ref(in);
	}
	if (pl->n + 1 > pl->nbucket)
		signer_ipool_grow(pl);
	if ((in = calloc(1, sizeof(*in) + ip->linkspec_len)) == NULL)
		fatal("%s", __func__);
	in->refs = 1;
	in->linkspec_len = (uint16_t)ip->linkspec_len;
	memcpy(in->auth_key, ip->auth_key_cert.certified_key, ED25519_PK_LEN);
	memcpy(in->enc_ed, ip->enc_key_cert.certified_key, ED25519_PK_LEN);
	memcpy(in->enc_key, ip->enc_key, X25519_KEY_LEN);
	memcpy(in->onion_key, ip->onion_key, X25519_KEY_LEN);
	memcpy(in->linkspec, ip->linkspec, ip->linkspec_len);
	b = signer_ipool_slot(pl, in->auth_key);
	in->next = pl->bucket[b];
	pl->bucket[b] = in;
	pl->n++;
	return in;
}

/* Drop a reference; the last one takes the intro point out. */
static void
signer_ipool_put(struct signer *sg, struct signer_intro *in)
{
	struct signer_ipool	*pl = sg->ipool;
	struct signer_intro	**pp;

	if (in == NULL)
		return;
	if (pl == NULL || in->refs == 0)
		fatalx("%s: not in the pool", __func__);
	if (--in->refs > 0)
		return;
	pp = &pl->bucket[signer_ipool_slot(pl, in->auth_key)];
	for (; *pp != NULL; pp = &(*pp)->next)
		if (*pp == in) {
			*pp = in->next;
			pl->n--;
			free(in);
			return;
		}
	fatalx("%s: not in its bucket", __func__);
}

void
signer_ipool_free(struct signer *sg)
{
	struct signer_ipool	*pl = sg->ipool;

	if (pl == NULL)
		return;
	if (pl->n != 0)
		fatalx("%s: %zu intro points still held", __func__, pl->n);
	free(pl->bucket);
	ob_wipe(pl->hkey, sizeof(pl->hkey));
	free(pl);
	sg->ipool = NULL;
}

/* The period's intro certs, and their references, dropped. */
static void
signer_icerts_free(struct signer *sg, struct signer_period *p)
{
	size_t	i;

	for (i = 0; i < p->nicerts; i++)
		signer_ipool_put(sg, p->icerts[i].ip);
	free(p->icerts);
	p->icerts = NULL;
	p->nicerts = p->icerts_alloc = 0;
}

static struct signer_period *
signer_period_find(struct signer_service *svc, uint64_t tp)
{
	size_t	i;

	for (i = 0; i < svc->nperiods; i++)
		if (svc->periods[i].tp == tp && svc->periods[i].key_ok)
			return &svc->periods[i];
	return NULL;
}

static int
signer_floor_path(char *path, size_t len, const struct signer *sg,
    const uint8_t blinded[ED25519_PK_LEN])
{
	char	hx[2 * ED25519_PK_LEN + 1];
	int	n;

	if (hex_encode(hx, sizeof(hx), blinded, ED25519_PK_LEN, 0) != 0)
		return -1;
	n = snprintf(path, len, "%s/revision-%s", sg->conf->state_dir, hx);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/*
 * The old layout's floor file for a blinded key (signers before the
 * journal wrote one per period): *found 0 when there is none.  A file
 * that exists but does not parse stops the period: guessing low could
 * sign a counter twice.
 */
static int
signer_floor_legacy_load(const struct signer *sg,
    const uint8_t blinded[ED25519_PK_LEN], uint64_t *rev, int *found)
{
	char		 path[PATH_MAX];
	uint8_t		 data[SIGNER_FLOOR_MAX];
	struct buf	 b, line;
	ssize_t		 n;
	int		 fd, had_nl;

	*rev = 0;
	*found = 0;
	if (signer_floor_path(path, sizeof(path), sg, blinded) == -1)
		return -1;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 0;
		log_warn("%s: %s", __func__, path);
		return -1;
	}
	n = read(fd, data, sizeof(data));
	close(fd);
	if (n <= 0 || (size_t)n >= sizeof(data))
		goto bad;
	buf_init_ro(&b, data, (size_t)n);
	if (buf_get_line(&b, sizeof(data), &line, &had_nl) != 0 || !had_nl ||
	    buf_end(&b) != 0 || buf_to_u64(&line, rev) != 0)
		goto bad;
	*found = 1;
	return 0;
 bad:
	log_warnx("%s: %s is damaged; remove it only if you know the last "
	    "revision counter signed is below the clock's", __func__, path);
	return -1;
}

/* The period's floor: the journal's, or an old file's if higher. */
static int
signer_floor_load(struct signer *sg, const struct signer_service *svc,
    struct signer_period *p)
{
	uint64_t	old;
	int		found;

	p->rev_floor = floors_get(sg->floors, p->blinded_pk);
	if (signer_floor_legacy_load(sg, p->blinded_pk, &old, &found) == -1)
		return -1;
	if (!found)
		return 0;
	/* Into the journal; the file goes once that is durable. */
	p->legacy_floor = 1;
	if (old > p->rev_floor) {
		if (floors_raise(sg->floors, svc->conf->address, p->tp,
		    p->blinded_pk, old) == -1)
			return -1;
		p->rev_floor = old;
	}
	return 0;
}

int
signer_floors_commit(struct signer *sg)
{
	if (sg->floors == NULL)
		return 0;
	return floors_commit(sg->floors);
}

void
signer_floors_close(struct signer *sg)
{
	floors_close(sg->floors);
	sg->floors = NULL;
}

/* The journal keeps SIGNER_FLOORS_KEEP periods behind the current one. */
static void
signer_floors_keep(struct signer *sg, time_t now)
{
	uint64_t	cur;

	cur = hs_time_period(now, sg->conf->period_len, sg->conf->rot_offset);
	floors_forget_before(sg->floors, cur > SIGNER_FLOORS_KEEP ?
	    cur - SIGNER_FLOORS_KEEP : 0);
}

/*
 * First load: compact the journal (dropping a torn tail and the periods
 * long over) with every old floor file taken in, then remove those
 * files, now redundant.
 */
static int
signer_floors_migrate(struct signer *sg, time_t now)
{
	struct signer_period	*p;
	char			 path[PATH_MAX];
	size_t			 i, j, n = 0;

	signer_floors_keep(sg, now);
	if (floors_compact(sg->floors) == -1)
		return -1;
	for (i = 0; i < sg->nservices; i++)
		for (j = 0; j < sg->services[i].nperiods; j++) {
			p = &sg->services[i].periods[j];
			if (!p->legacy_floor)
				continue;
			p->legacy_floor = 0;
			if (signer_floor_path(path, sizeof(path), sg,
			    p->blinded_pk) == -1 || unlink(path) == -1)
				log_warn("%s: %s", __func__, path);
			else
				n++;
		}
	if (n > 0)
		log_info("revision floors: %zu old floor files taken into %s",
		    n, SIGNER_FLOORS_FILE);
	return 0;
}

/*
 * Find (or, online, make) the token key of a provisioned period and
 * check the period against it and the address.  known, when not NULL,
 * is the key the caller has just found or generated for this period:
 * each token lookup costs more as the token's object store grows, so
 * a key is looked up once at start-up, not again here.  made_here says
 * the caller has just certified pp in this process for known's public
 * key (online mode, provision_certify_period): its signatures are then
 * not verified again, which was most of the start-up cost of an online
 * service.  Whatever came from disk or a bundle is always verified.
 */
static int
signer_period_attach(struct signer *sg, struct signer_service *svc,
    const struct provision_period *pp, int generate,
    const struct hsm_key *known, int made_here)
{
	struct signer_period	*p, *np;
	struct hsm_key		 k;
	char			 label[PROVISION_LABEL_MAX + 1];
	uint8_t			 id[PROVISION_KEY_ID_LEN];
	size_t			 bad = 0;
	int			 r;

	if (signer_period_find(svc, pp->tp) != NULL)
		return 0;
	np = reallocarray(svc->periods, svc->nperiods + 1, sizeof(*np));
	if (np == NULL)
		fatal("%s", __func__);
	svc->periods = np;
	p = &svc->periods[svc->nperiods];
	memset(p, 0, sizeof(*p));
	p->tp = pp->tp;
	if (provision_key_label(label, svc->conf->address, pp->tp) != 0)
		return -1;
	provision_key_id(id, svc->conf->identity_pk, pp->tp);
	if (known != NULL) {
		if (strcmp(known->label, label) != 0 ||
		    known->id_len != sizeof(id) ||
		    memcmp(known->id, id, sizeof(id)) != 0) {
			log_warnx("%s: %s period %" PRIu64 ": key %s is not "
			    "the period's", __func__, svc->conf->address,
			    pp->tp, known->label);
			return -1;
		}
		k = *known;
	} else if (hsm_key_find(sg->hsm, &k, label, id, sizeof(id)) == -1) {
		if (!generate || hsm_last_status(sg->hsm) != HSM_E_NOT_FOUND) {
			log_warnx("%s: %s period %" PRIu64 ": no token key "
			    "%s: %s", __func__, svc->conf->address, pp->tp,
			    label, hsm_last_error(sg->hsm));
			return -1;
		}
		if (hsm_key_generate(sg->hsm, &k, label, id, sizeof(id)) ==
		    -1) {
			log_warnx("%s: generating %s: %s", __func__, label,
			    hsm_last_error(sg->hsm));
			return -1;
		}
		log_info("generated token key %s", label);
	}
	hsm_key_pack(&p->key, &k);
	if (made_here && (known == NULL || pp->ncerts == 0 ||
	    memcmp(pp->token_pk, p->key.pk, sizeof(pp->token_pk)) != 0)) {
		log_warnx("%s: %s period %" PRIu64 ": certified for another "
		    "key", __func__, svc->conf->address, pp->tp);
		return -1;
	}
	if (!made_here && pp->ncerts > 0 &&
	    (r = provision_verify_period(svc->store, pp, p->key.pk,
	    &bad)) != 0) {
		log_warnx("%s: %s period %" PRIu64 ": provisioned material "
		    "does not verify against the token key (cert %zu): %s",
		    __func__, svc->conf->address, pp->tp, bad,
		    ob_strerror(r));
		return -1;
	}
	/* The subcredential too: SIGN_DESC needs it for every body. */
	if ((r = hs_blind_pubkey(p->blinded_pk, svc->conf->identity_pk,
	    pp->tp, sg->conf->period_len)) != 0 ||
	    (r = hs_subcredential(p->subcred, svc->conf->identity_pk,
	    p->blinded_pk)) != 0) {
		log_warnx("%s: blinding: %s", __func__, ob_strerror(r));
		return -1;
	}
	if (signer_floor_load(sg, svc, p) == -1)
		return -1;
	p->key_ok = 1;
	svc->nperiods++;
	return 0;
}

/* The store's period tp, to change (online mode). */
static struct provision_period *
signer_store_period(struct signer_service *svc, uint64_t tp)
{
	size_t	i;

	if (svc->store == NULL)
		return NULL;
	for (i = 0; i < svc->store->nperiods; i++)
		if (svc->store->periods[i].tp == tp)
			return &svc->store->periods[i];
	return NULL;
}

/*
 * Offline mode: the store file was replaced since it was loaded (obhsm-
 * keytool import writes a new one, which the signer takes in on
 * SIGHUP): where are the certs of the periods loaded now?  A period
 * keeps its place only if the new file carries it with the same token
 * key and the same certs' shared part; each cert read from there is
 * still verified by provision_hold_file().  Others lose theirs.
 */
static void
signer_store_offsets(const struct signer *sg, struct signer_service *svc)
{
	struct provision		*fresh = NULL;
	const struct provision_period	*np;
	struct provision_period		*pp;
	size_t				 i;
	int				 r;

	if ((r = provision_store_load(&fresh, sg->conf->state_dir,
	    svc->conf->address)) != 0) {
		log_warnx("%s: store of %s: %s", __func__,
		    svc->conf->address, ob_strerror(r));
		fresh = NULL;
	}
	for (i = 0; i < svc->store->nperiods; i++) {
		pp = &svc->store->periods[i];
		np = fresh != NULL ? provision_period_find(fresh,
		    pp->tp) : NULL;
		if (np != NULL && np->first_hour == pp->first_hour &&
		    np->ncerts == pp->ncerts &&
		    memcmp(np->token_pk, pp->token_pk,
		    sizeof(pp->token_pk)) == 0 &&
		    memcmp(np->cert_tbs, pp->cert_tbs,
		    sizeof(pp->cert_tbs)) == 0)
			pp->cert_off = np->cert_off;
		else
			pp->cert_off = 0;
	}
	provision_free(fresh);
}

/*
 * Hold in period pp only the 08 certs that DESC_PARAMS and SIGN_DESC
 * can use until the next refreshes, those of the hours from now -
 * PROTO_REVISION_GRACE to SIGNER_CERT_HOURS_AHEAD after now: a period's
 * 49 certs were a fifth of the signer's memory at hosting scale, and an
 * offline bundle may carry hundreds of periods.  The next ones come as
 * the hours do: online, made again by the identity key (byte for byte
 * the same); offline, read again from the store file and verified.
 * Costs nothing while the hours held are the right ones.
 */
static int
signer_certs_hold(const struct signer *sg, struct signer_service *svc,
    struct provision_period *pp, time_t now)
{
	struct signer_period	*p = NULL;
	struct stat		 st;
	char			 path[PATH_MAX];
	uint64_t		 lo, hi;
	int			 fd = -1, r;

	lo = now > PROTO_REVISION_GRACE ?
	    (uint64_t)(now - PROTO_REVISION_GRACE) / 3600 : 0;
	hi = now > 0 ? (uint64_t)now / 3600 + SIGNER_CERT_HOURS_AHEAD : 0;
	if (hi > UINT32_MAX)
		return -1;
	if (svc->have_id_sk) {
		if ((r = provision_certify_hours(pp, svc->id_sk,
		    svc->conf->identity_pk, sg->conf->period_len,
		    sg->conf->rot_offset, (uint32_t)lo,
		    (uint32_t)hi)) != 0) {
			log_warnx("%s: %s period %" PRIu64 ": 08 certs: %s",
			    __func__, svc->conf->address, pp->tp,
			    ob_strerror(r));
			return -1;
		}
		return 0;
	}
	if (!provision_hold_needs_read(pp, (uint32_t)lo, (uint32_t)hi))
		return provision_hold_file(pp, -1, (uint32_t)lo,
		    (uint32_t)hi) == 0 ? 0 : -1;
	/* Only a period whose checks passed at attach is read for; and
	 * a read that failed is not tried again, by any request, for a
	 * minute (each try may re-parse the whole store). */
	if ((p = signer_period_find(svc, pp->tp)) == NULL)
		return -1;
	if (p->hold_failed != 0 && now >= p->hold_failed &&
	    now - p->hold_failed < SIGNER_HOLD_RETRY_SECS)
		return -1;
	if (provision_store_path(path, sizeof(path), sg->conf->state_dir,
	    svc->conf->address) != 0)
		goto fail;
	/* Not a FIFO or a link put in its place: a blocked open() would
	 * stop the whole signer. */
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC)) == -1) {
		log_warn("%s: %s", __func__, path);
		goto fail;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		log_warnx("%s: %s is not a regular file", __func__, path);
		goto fail;
	}
	r = provision_hold_file(pp, fd, (uint32_t)lo, (uint32_t)hi);
	if (r != 0 && r != OB_ERR_NOMEM) {
		/* Perhaps replaced: the certs may now be elsewhere. */
		signer_store_offsets(sg, svc);
		r = provision_hold_file(pp, fd, (uint32_t)lo, (uint32_t)hi);
	}
	if (r != 0) {
		log_warnx("%s: %s period %" PRIu64 ": 08 certs from the "
		    "store: %s; if it was replaced, reload the signer",
		    __func__, svc->conf->address, pp->tp, ob_strerror(r));
		goto fail;
	}
	close(fd);
	p->hold_failed = 0;
	return 0;
 fail:
	if (fd != -1)
		close(fd);
	p->hold_failed = now;
	return -1;
}

/*
 * Online identity mode: make sure the periods from the current one to
 * online_periods ahead (and the previous one, still live) have a token
 * key, and those whose window is open or opens within
 * SIGNER_ATTACH_AHEAD_SECS their certs and state too, certifying them
 * with the identity key in memory.
 */
static int
signer_online_fill(struct signer *sg, struct signer_service *svc,
    time_t now)
{
	struct provision_period		*pp;
	const struct provision_period	*have;
	char				 label[PROVISION_LABEL_MAX + 1];
	uint8_t				 id[PROVISION_KEY_ID_LEN];
	struct hsm_key			 key;
	uint64_t			 cur, tp, first;
	time_t				 we, ws;
	int				 r, ahead;

	cur = hs_time_period(now, sg->conf->period_len, sg->conf->rot_offset);
	first = cur > 0 ? cur - 1 : 0;
	for (tp = first; tp <= cur + sg->conf->online_periods; tp++) {
		/* The previous period only while its window lasts: over,
		 * it could sign nothing (signer_gate), and its key, certs
		 * and state, a third of a service's, would be made at
		 * every start only to be forgotten at the next refresh
		 * (signer_periods_prune). */
		if (tp < cur && provision_window(tp, sg->conf->period_len,
		    sg->conf->rot_offset, NULL, NULL, NULL, &we) == 0 &&
		    we < now)
			continue;
		/* A period that fails its checks is left out (logged), and
		 * the later ones are still made. */
		if ((have = provision_period_find(svc->store, tp)) != NULL) {
			(void)signer_period_attach(sg, svc, have, 0, NULL, 0);
			continue;
		}
		if (svc->store->nperiods > 0 &&
		    svc->store->periods[svc->store->nperiods - 1].tp > tp)
			continue;	/* a gap behind: leave it */
		/*
		 * A period whose window opens after the next refreshes
		 * needs only its token key yet, made now (generating one on
		 * a smartcard is slow, and a token that fails is better
		 * found out early): its certs and state, 1.2 kB a service,
		 * are made when its window is near.  A key once made is
		 * not looked up again at every refresh.
		 */
		ahead = provision_window(tp, sg->conf->period_len,
		    sg->conf->rot_offset, NULL, NULL, &ws, NULL) == 0 &&
		    ws > now + SIGNER_ATTACH_AHEAD_SECS;
		if (ahead && tp <= svc->key_ahead)
			continue;
		if (provision_key_label(label, svc->conf->address, tp) != 0)
			return -1;
		provision_key_id(id, svc->conf->identity_pk, tp);
		if (hsm_key_find(sg->hsm, &key, label, id, sizeof(id)) ==
		    -1) {
			if (hsm_last_status(sg->hsm) != HSM_E_NOT_FOUND ||
			    hsm_key_generate(sg->hsm, &key, label, id,
			    sizeof(id)) == -1) {
				log_warnx("%s: token key %s: %s", __func__,
				    label, hsm_last_error(sg->hsm));
				return -1;
			}
			log_info("generated token key %s", label);
		}
		if (ahead) {
			svc->key_ahead = tp;
			continue;
		}
		if ((r = provision_period_add(svc->store, tp, &pp)) != 0) {
			log_warnx("%s: %s", __func__, ob_strerror(r));
			return -1;
		}
		memcpy(pp->token_pk, key.pk, sizeof(pp->token_pk));
		if (signer_certs_hold(sg, svc, pp, now) == -1)
			return -1;
		log_info("%s: certified period %" PRIu64 " (%zu of %zu certs "
		    "held)", svc->conf->address, tp, pp->nsigs, pp->ncerts);
		if (signer_period_attach(sg, svc, pp, 0, &key, 1) == -1)
			return -1;
	}
	return 0;
}

int
signer_state_load(struct signer *sg)
{
	struct signer_service		*svc;
	const struct signer_service_conf *sc;
	char				 path[PATH_MAX];
	uint8_t				 pk[ED25519_PK_LEN];
	size_t				 i, j;
	int				 r, compact = 0;

	if (sg->floors == NULL) {
		if ((size_t)snprintf(path, sizeof(path), "%s/%s",
		    sg->conf->state_dir, SIGNER_FLOORS_FILE) >= sizeof(path) ||
		    floors_open(&sg->floors, path) == -1) {
			log_warnx("%s: revision floors cannot be read",
			    __func__);
			return -1;
		}
		compact = 1;
	}
	if ((sg->services = calloc(sg->conf->nservices,
	    sizeof(*sg->services))) == NULL)
		fatal("%s", __func__);
	sg->nservices = sg->conf->nservices;
	for (i = 0; i < sg->nservices; i++) {
		svc = &sg->services[i];
		svc->conf = &sg->conf->services[i];
		if ((svc->backend_tp = calloc(svc->conf->nbackends,
		    sizeof(*svc->backend_tp))) == NULL ||
		    (svc->backend_rev = calloc(svc->conf->nbackends,
		    sizeof(*svc->backend_rev))) == NULL)
			fatal("%s", __func__);
	}
	if (signer_service_index(sg) == -1)
		return -1;
	for (i = 0; i < sg->nservices; i++) {
		svc = &sg->services[i];
		sc = svc->conf;
		if (sc->key_mode == SIGNER_KEYS_ONLINE) {
			if ((r = provision_identity_load(svc->id_sk, pk,
			    sc->identity_key)) != 0) {
				log_warnx("%s: %s: %s", __func__,
				    sc->identity_key, ob_strerror(r));
				return -1;
			}
			if (memcmp(pk, sc->identity_pk, sizeof(pk)) != 0) {
				log_warnx("%s: %s is not the key of %s",
				    __func__, sc->identity_key, sc->address);
				return -1;
			}
			svc->have_id_sk = 1;
			if ((r = provision_new(&svc->store, PROVISION_STORE,
			    sc->address, sg->conf->period_len,
			    sg->conf->rot_offset)) != 0) {
				log_warnx("%s: %s", __func__, ob_strerror(r));
				return -1;
			}
			if (signer_online_fill(sg, svc, time(NULL)) == -1)
				return -1;
			continue;
		}
		r = provision_store_load(&svc->store, sg->conf->state_dir,
		    sc->address);
		if (r == OB_ERR_MISSING) {
			log_warnx("%s: no provisioned store for %s in %s: it "
			    "cannot sign until a bundle is imported",
			    __func__, sc->address, sg->conf->state_dir);
			continue;
		}
		if (r != 0) {
			log_warnx("%s: store of %s: %s", __func__,
			    sc->address, ob_strerror(r));
			return -1;
		}
		if (svc->store->period_len != sg->conf->period_len ||
		    svc->store->rot_offset != sg->conf->rot_offset) {
			log_warnx("%s: store of %s was made for period-length "
			    "%" PRIu64 " rotation-offset %" PRIu64 ", not the "
			    "configured ones", __func__, sc->address,
			    svc->store->period_len, svc->store->rot_offset);
			return -1;
		}
		/* A period that fails its checks is skipped, not fatal;
		 * then only the coming hours' certs are kept. */
		for (j = 0; j < svc->store->nperiods; j++)
			(void)signer_period_attach(sg, svc,
			    &svc->store->periods[j], 0, NULL, 0);
		for (j = 0; j < svc->store->nperiods; j++)
			(void)signer_certs_hold(sg, svc,
			    &svc->store->periods[j], time(NULL));
		log_info("%s: %zu of %zu provisioned periods usable",
		    sc->address, svc->nperiods, svc->store->nperiods);
	}
	for (i = 0; i < sg->nservices && !compact; i++)
		for (j = 0; j < sg->services[i].nperiods; j++)
			compact |= sg->services[i].periods[j].legacy_floor;
	if (compact && signer_floors_migrate(sg, time(NULL)) == -1)
		return -1;
	return 0;
}

/* A period that is over: its token key leaves the key index too (it
 * stays on the token until obhsm-keytool purges it). */
static void
signer_key_forget(struct signer *sg, const struct signer_service *svc,
    const struct signer_period *p)
{
	char	label[PROVISION_LABEL_MAX + 1];
	uint8_t	id[PROVISION_KEY_ID_LEN];

	if (sg->hsm == NULL ||
	    provision_key_label(label, svc->conf->address, p->tp) != 0)
		return;
	provision_key_id(id, svc->conf->identity_pk, p->tp);
	hsm_index_forget(sg->hsm, label, id, sizeof(id));
}

/* Forget periods whose window is over: nothing can be signed for them
 * any more, and a long-running signer must not grow. */
static void
signer_periods_prune(struct signer *sg, struct signer_service *svc,
    time_t now)
{
	struct signer_period	*p;
	time_t			 we;
	size_t			 i, k, n;

	for (i = k = 0; i < svc->nperiods; i++) {
		p = &svc->periods[i];
		if (provision_window(p->tp, sg->conf->period_len,
		    sg->conf->rot_offset, NULL, NULL, NULL, &we) == 0 &&
		    we < now) {
			signer_key_forget(sg, svc, p);
			signer_icerts_free(sg, p);
			hs_ope_wipe(&p->ope_now);
			hs_ope_wipe(&p->ope_grace);
			continue;
		}
		if (k != i)
			svc->periods[k] = *p;
		k++;
	}
	/* The slots left behind hold copies of kept periods' OPE keys. */
	for (i = k; i < svc->nperiods; i++)
		ob_wipe(&svc->periods[i], sizeof(svc->periods[i]));
	svc->nperiods = k;
	/* Keep the last period, which dates the horizon. */
	if (svc->store != NULL && svc->store->nperiods > 1 &&
	    svc->have_id_sk &&
	    provision_store_purge(svc->store, now, &n) == 0 && n > 0)
		log_info("%s: forgot %zu periods that are over",
		    svc->conf->address, n);
}

int
signer_state_refresh(struct signer *sg)
{
	struct signer_service	*svc;
	time_t			 now = time(NULL);
	size_t			 i, j;
	int			 rv = 0;

	signer_floors_keep(sg, now);
	for (i = 0; i < sg->nservices; i++) {
		svc = &sg->services[i];
		signer_periods_prune(sg, svc, now);
		if (svc->have_id_sk && signer_online_fill(sg, svc, now) == -1)
			rv = -1;
		for (j = 0; svc->store != NULL && j < svc->store->nperiods;
		    j++)
			if (signer_certs_hold(sg, svc, &svc->store->periods[j],
			    now) == -1)
				rv = -1;
	}
	return rv;
}

void
signer_state_free(struct signer *sg)
{
	struct signer_service	*svc;
	size_t			 i, j;

	for (i = 0; i < sg->nservices; i++) {
		svc = &sg->services[i];
		for (j = 0; j < svc->nperiods; j++) {
			signer_icerts_free(sg, &svc->periods[j]);
			hs_ope_wipe(&svc->periods[j].ope_now);
			hs_ope_wipe(&svc->periods[j].ope_grace);
		}
		free(svc->periods);
		for (j = 0; j < svc->nintro; j++)
			signer_ipool_put(sg, svc->intro[j].ip);
		free(svc->intro);
		free(svc->backend_tp);
		free(svc->backend_rev);
		provision_free(svc->store);
		ob_wipe(svc->id_sk, sizeof(svc->id_sk));
	}
	free(sg->services);
	sg->services = NULL;
	sg->nservices = 0;
}

/*
 * The common gate: service configured, tp live, something provisioned.
 * *pp gets the period (NULL allowed when want_keys is 0).
 */
static int
signer_gate(struct signer *sg, struct signer_verdict *v, const char *service,
    uint64_t tp, time_t now, int want_keys, struct signer_service **svcp,
    struct signer_period **pp)
{
	struct signer_service	*svc;
	char			 hz[32];
	time_t			 horizon;

	if ((svc = signer_service_find(sg, service)) == NULL)
		return verdict(v, PROTO_R_SERVICE, "service %s is not "
		    "configured", service);
	if (!signer_live(sg, tp, now))
		return verdict(v, PROTO_R_PERIOD, "time period %" PRIu64
		    " is not live now (current period %" PRIu64 ")", tp,
		    hs_time_period(now, sg->conf->period_len,
		    sg->conf->rot_offset));
	*svcp = svc;
	if (!want_keys)
		return 0;
	if ((*pp = signer_period_find(svc, tp)) != NULL)
		return 0;
	/* Online mode attaches a period at the refresh tick before its
	 * window; a tick that came late (a slow token) must not refuse
	 * the period's first request. */
	if (svc->have_id_sk && signer_online_fill(sg, svc, now) == 0 &&
	    (*pp = signer_period_find(svc, tp)) != NULL)
		return 0;
	horizon = svc->store != NULL ? provision_horizon(svc->store) : 0;
	/* For operators: UTC, not epoch seconds (windows end on a minute). */
	if (horizon != 0)
		log_fmt_time(hz, sizeof(hz), horizon);
	if (horizon != 0 && now > horizon)
		return verdict(v, PROTO_R_HORIZON, "%s: provisioned periods "
		    "ended at %s; import a new bundle", service, hz);
	/* Beyond the bundle the operator's remedy is the next ceremony. */
	if (horizon != 0 && svc->store->nperiods > 0 &&
	    tp > svc->store->periods[svc->store->nperiods - 1].tp)
		return verdict(v, PROTO_R_NO_KEYS, "%s: time period %" PRIu64
		    " is not provisioned: the bundle ends with period %"
		    PRIu64 " (horizon %s); import a new bundle", service,
		    tp, svc->store->periods[svc->store->nperiods - 1].tp, hz);
	return verdict(v, PROTO_R_NO_KEYS, "%s: time period %" PRIu64
	    " is not provisioned", service, tp);
}

static struct signer_intro *
signer_intro_find(struct signer_service *svc,
    const uint8_t auth[ED25519_PK_LEN])
{
	size_t	i;

	for (i = 0; i < svc->nintro; i++)
		if (memcmp(svc->intro[i].ip->auth_key, auth,
		    ED25519_PK_LEN) == 0)
			return svc->intro[i].ip;
	return NULL;
}

int
signer_backend_desc(struct signer *sg, struct signer_verdict *v,
    const char *service, const char *backend, uint64_t tp,
    const uint8_t *desc, size_t len, uint64_t *revision,
    const struct signer_intro **out, size_t *nout, size_t *nskipped)
{
	struct hs_desc_decode_params	 dp;
	struct hs_desc			 d;
	struct signer_service		*svc;
	struct signer_intro_ref		*in, *ni;
	const struct hs_intro_point	*ip;
	uint8_t				 blinded[ED25519_PK_LEN];
	time_t				 now = time(NULL);
	size_t				 b, i, j, keep, na;
	int				 r;

	*nout = *nskipped = 0;
	if (signer_gate(sg, v, service, tp, now, 0, &svc, NULL) == -1)
		return -1;
	for (b = 0; b < svc->conf->nbackends; b++)
		if (strcmp(svc->conf->backend[b], backend) == 0)
			break;
	if (b == svc->conf->nbackends)
		return verdict(v, PROTO_R_BACKEND, "%s is not a backend of %s",
		    backend, service);
	if (len > HS_DESC_MAX_LEN)
		return verdict(v, PROTO_R_BACKEND_DESC, "descriptor of %s is "
		    "%zu bytes", backend, len);
	if ((r = hs_blind_pubkey(blinded, svc->conf->backend_pk[b], tp,
	    sg->conf->period_len)) != 0)
		return verdict(v, PROTO_R_INTERNAL, "blinding: %s",
		    ob_strerror(r));
	memset(&dp, 0, sizeof(dp));
	dp.identity_pk = svc->conf->backend_pk[b];
	dp.blinded_pk = blinded;
	dp.now = now;
	hs_desc_init(&d);
	if ((r = hs_desc_decode(&d, desc, len, &dp)) != 0)
		return verdict(v, PROTO_R_BACKEND_DESC, "descriptor of %s for "
		    "period %" PRIu64 " does not verify: %s", backend, tp,
		    ob_strerror(r));

	/*
	 * A collector must not bring back intro points a backend has
	 * dropped by replaying its older descriptor.
	 */
	if (svc->backend_tp[b] > tp || (svc->backend_tp[b] == tp &&
	    svc->backend_rev[b] > d.revision_counter)) {
		hs_desc_clear(&d);
		return verdict(v, PROTO_R_BACKEND_DESC, "descriptor of %s is "
		    "older than one already seen (period %" PRIu64 ")",
		    backend, svc->backend_tp[b]);
	}
	svc->backend_tp[b] = tp;
	svc->backend_rev[b] = d.revision_counter;

	/* The backend's newest descriptor replaces what it had. */
	for (i = j = 0; i < svc->nintro; i++)
		if (svc->intro[i].backend != b)
			svc->intro[j++] = svc->intro[i];
		else
			signer_ipool_put(sg, svc->intro[i].ip);
	svc->nintro = j;
	keep = svc->nintro;
	/* Sized to what can be kept, no more: a host carries thousands
	 * of services, each with a few intro points per backend. */
	na = keep + d.n_intro < sg->conf->max_intro ? keep + d.n_intro :
	    sg->conf->max_intro;
	if (na > svc->intro_alloc) {
		if ((ni = reallocarray(svc->intro, na, sizeof(*ni))) == NULL)
			fatal("%s", __func__);
		svc->intro = ni;
		svc->intro_alloc = na;
	}
	for (i = 0; i < d.n_intro; i++) {
		ip = &d.intro[i];
		if (signer_intro_find(svc, ip->auth_key_cert.certified_key)
		    != NULL) {
			log_warnx("%s: %s: intro point listed twice or by two "
			    "backends; skipped", __func__, backend);
			(*nskipped)++;
			continue;
		}
		if (svc->nintro >= sg->conf->max_intro) {
			hs_desc_clear(&d);
			return verdict(v, PROTO_R_LIMIT, "%s: more than %u "
			    "intro points remembered", service,
			    sg->conf->max_intro);
		}
		if (svc->nintro == svc->intro_alloc)
			fatalx("%s: intro table full", __func__);
		/* The decoder's bound, checked again where it is relied on:
		 * the copy below is sized by it. */
		if (ip->linkspec_len == 0 ||
		    ip->linkspec_len > HS_LINKSPEC_MAX_LEN) {
			hs_desc_clear(&d);
			return verdict(v, PROTO_R_BACKEND_DESC, "descriptor "
			    "of %s: link specifiers of %zu bytes", backend,
			    ip->linkspec_len);
		}
		in = &svc->intro[svc->nintro++];
		in->ip = signer_ipool_get(sg, ip);
		in->backend = (uint32_t)b;
	}
	*nskipped += d.n_intro_skipped;
	*revision = d.revision_counter;
	*nout = svc->nintro - keep;
	for (i = 0; i < *nout; i++)
		out[i] = svc->intro[keep + i].ip;
	log_info("%s: backend %s period %" PRIu64 ": %zu intro points "
	    "verified, %zu skipped", service, backend, tp, *nout, *nskipped);
	hs_desc_clear(&d);
	return 0;
}

/* The period's token key as hsm/ takes it, named by its service and
 * period as when it was found (signer_period_attach). */
static int
signer_period_key(struct hsm_key *k, const struct signer *sg,
    const struct signer_service *svc, const struct signer_period *p)
{
	char	label[PROVISION_LABEL_MAX + 1];
	uint8_t	id[PROVISION_KEY_ID_LEN];

	if (provision_key_label(label, svc->conf->address, p->tp) != 0)
		return -1;
	provision_key_id(id, svc->conf->identity_pk, p->tp);
	return hsm_key_unpack(k, sg->hsm, &p->key, label, id, sizeof(id));
}

/*
 * Was the token's failure this key's own, or the token's as a whole?
 * The collector reads PROTO_R_HSM as "the token is out": it pauses every
 * service and tries one request every few seconds (collector/publish.c).
 * So only trouble that any key would meet may say so; a key's own
 * failure gets PROTO_R_TOKEN_KEY, and that service alone backs off.
 *
 * The token as a whole (0): no module or token (HSM_E_MODULE;
 * HSM_E_NO_TOKEN, which hsm_rv.c makes of CKR_DEVICE_REMOVED,
 * CKR_TOKEN_NOT_PRESENT, CKR_DEVICE_ERROR ...), the PIN, a hung call,
 * the configuration (HSM_E_CONFIG: the handle is not open), a mechanism
 * the token lost (HSM_E_UNSUPPORTED from CKR_MECHANISM_INVALID or
 * CKR_CURVE_NOT_SUPPORTED: every key is Ed25519), and every
 * HSM_E_FAILED whose CK_RV is not about a key object: CKR_GENERAL_ERROR,
 * CKR_FUNCTION_FAILED, CKR_DEVICE_MEMORY, CKR_HOST_MEMORY, a session the
 * layer could not recover, and a signature that does not verify (the
 * layer's own check after C_Sign's CKR_OK).  That last one is the
 * token's fault, not the key's: the key's public half was checked
 * against the token when it was found, so the token computed wrongly,
 * and such a token is not trusted with any key.
 *
 * The key's own (1): HSM_E_NOT_FOUND (gone, or another public key under
 * its name), HSM_E_AMBIGUOUS (several objects under its name),
 * HSM_E_EXISTS, HSM_E_UNSUPPORTED for its attributes, and HSM_E_FAILED
 * with a CK_RV about the key object (CKR_KEY_*, CKR_ATTRIBUTE_*,
 * CKR_OBJECT_HANDLE_INVALID).  Then the token is asked about itself
 * (C_GetTokenInfo, no key involved): one that cannot answer is out
 * after all, which also covers HSM_E_AMBIGUOUS from re-opening a token
 * that its URI no longer matches alone.  The question replaces the
 * layer's error state: read it before.
 */
static int
signer_key_fault(struct signer *sg)
{
	struct hsm_token_info	 ti;
	const char		*rv = "";

	if (hsm_last_rv(sg->hsm) != 0)
		rv = hsm_rv_name(hsm_last_rv(sg->hsm));
	switch (hsm_last_status(sg->hsm)) {
	case HSM_E_NOT_FOUND:
	case HSM_E_AMBIGUOUS:
	case HSM_E_EXISTS:
		break;
	case HSM_E_UNSUPPORTED:
		if (strcmp(rv, "CKR_MECHANISM_INVALID") == 0 ||
		    strcmp(rv, "CKR_CURVE_NOT_SUPPORTED") == 0)
			return 0;
		break;
	case HSM_E_FAILED:
		if (strncmp(rv, "CKR_KEY_", 8) != 0 &&
		    strncmp(rv, "CKR_ATTRIBUTE_", 14) != 0 &&
		    strcmp(rv, "CKR_OBJECT_HANDLE_INVALID") != 0)
			return 0;
		break;
	default:
		return 0;
	}
	return hsm_token_info(sg->hsm, &ti) == 0;
}

/*
 * The token failed as a whole: say so when the outage begins, then at
 * most every SIGNER_OUT_LOG_SECS with the refusals since (a collector
 * tries one request every few seconds meanwhile), and when it ends
 * (signer_token_in).
 */
static void
signer_token_out(struct signer *sg, const char *why, time_t now)
{
	sg->token_out_total++;
	if (sg->token_out == 0) {
		sg->token_out = now;
		sg->token_out_logged = now;
		sg->token_out_refused = 0;
		log_warnx("token out: %s; every request that needs it is "
		    "refused with reason hsm until it is back (logged "
		    "every %d s meanwhile)", why, SIGNER_OUT_LOG_SECS);
		return;
	}
	sg->token_out_refused++;
	/* (A clock stepped back must not silence it.) */
	if (now >= sg->token_out_logged &&
	    now - sg->token_out_logged < SIGNER_OUT_LOG_SECS)
		return;
	log_warnx("token still out after %llds: %lu requests refused in "
	    "the last %llds: %s", (long long)(now - sg->token_out),
	    sg->token_out_refused, (long long)(now - sg->token_out_logged),
	    why);
	sg->token_out_logged = now;
	sg->token_out_refused = 0;
}

/* The token signed: an outage is over. */
static void
signer_token_in(struct signer *sg, time_t now)
{
	if (sg->token_out == 0)
		return;
	log_info("token back after %llds: %lu requests refused meanwhile",
	    (long long)(now - sg->token_out), sg->token_out_total);
	sg->token_out = 0;
	sg->token_out_logged = 0;
	sg->token_out_refused = 0;
	sg->token_out_total = 0;
}

/* A failed token signature refused, for the key or for the token. */
static int
signer_token_refuse(struct signer *sg, struct signer_verdict *v,
    const struct signer_service *svc)
{
	char	why[SIGNER_DETAIL_MAX + 1];

	(void)snprintf(why, sizeof(why), "%s", hsm_last_error(sg->hsm));
	if (signer_key_fault(sg))
		return verdict(v, PROTO_R_TOKEN_KEY, "token key of %s: %s",
		    svc->conf->address, why);
	(void)verdict_quiet(v, PROTO_R_HSM, "token: %s", why);
	signer_token_out(sg, why, time(NULL));
	return -1;
}

/* One token signature, checked and audited before it is used. */
static int
signer_token_sign(struct signer *sg, struct signer_verdict *v,
    const struct signer_peer *peer, const struct signer_service *svc,
    struct signer_period *p, const char *kind, const uint8_t *msg,
    size_t len, uint8_t sig[ED25519_SIG_LEN], uint64_t *seq)
{
	struct audit_record	ar;
	struct hsm_key		k;
	int			r;

	if (signer_period_key(&k, sg, svc, p) == -1)
		return verdict(v, PROTO_R_INTERNAL, "token key name");
	r = hsm_key_sign(sg->hsm, &k, sig, msg, len);
	/* Handles found again after a new session are kept. */
	hsm_key_pack(&p->key, &k);
	if (r == -1) {
		if (hsm_last_status(sg->hsm) == HSM_E_HUNG)
			sg->hung++;
		return signer_token_refuse(sg, v, svc);
	}
	sg->hung = 0;
	signer_token_in(sg, time(NULL));
	sg->token_sigs++;
	/*
	 * A token fault must not put a bad signature on the network:
	 * hsm_key_sign() has verified it under p->key.pk, the key the
	 * period's 08 certs certify (hsm.h), so it is not verified twice
	 * (an Ed25519 check over a 14 kB body is a fifth of SIGN_DESC).
	 */
	memset(&ar, 0, sizeof(ar));
	ar.time = time(NULL);
	memcpy(ar.service, svc->conf->address, sizeof(ar.service));
	ar.tp = p->tp;
	ar.kind = kind;
	if (audit_digest(ar.digest, msg, len) != 0)
		return verdict(v, PROTO_R_INTERNAL, "hash failed");
	ar.uid = peer->uid;
	ar.pid = peer->pid;
	/* Committed by the main loop (signer_commit) before any reply
	 * carrying this signature is written. */
	if (audit_write(sg->audit, &ar) == -1) {
		ob_wipe(sig, ED25519_SIG_LEN);
		return verdict(v, PROTO_R_AUDIT, "audit log not writable: "
		    "signature withheld");
	}
	if (seq != NULL)
		*seq = ar.seq;
	return 0;
}

/* Expiry of intro point certs made now for period p. */
static uint32_t
signer_icert_expiry(const struct signer *sg, uint64_t tp, time_t now)
{
	uint32_t	last;

	if (sg->conf->icert_mode == PROTO_ICERT_HOURLY ||
	    provision_window(tp, sg->conf->period_len, sg->conf->rot_offset,
	    NULL, &last, NULL, NULL) != 0)
		return hs_cert_expiry_intro(now);
	return last + HS_CERT_LIFETIME_HOURS;
}

/*
 * One cert of a pair the token made, rebuilt: the same hs_cert_tbs()
 * over the same fields under the same period key as when it was signed,
 * then the token's signature, so the bytes are those the token signed
 * and the audit log covers.
 */
static int
signer_icert_cert(uint8_t c[HS_CERT_LEN], const struct signer_period *p,
    const struct signer_icert_made *m, uint8_t type)
{
	int	is09 = type == HS_CERT_TYPE_AUTH_HS_IP_KEY;

	if (hs_cert_tbs(c, type, m->expiry_hours, is09 ? m->ip->auth_key :
	    m->ip->enc_ed, p->key.pk) != 0)
		return -1;
	memcpy(c + HS_CERT_TBS_LEN, is09 ? m->sig09 : m->sig0b,
	    ED25519_SIG_LEN);
	return 0;
}

static int
signer_icert_certs(struct signer_icert *out, const struct signer_period *p,
    const struct signer_icert_made *m)
{
	memcpy(out->auth_key, m->ip->auth_key, ED25519_PK_LEN);
	memcpy(out->enc_ed, m->ip->enc_ed, ED25519_PK_LEN);
	out->expiry_hours = m->expiry_hours;
	if (signer_icert_cert(out->cert09, p, m,
	    HS_CERT_TYPE_AUTH_HS_IP_KEY) == -1 ||
	    signer_icert_cert(out->cert0b, p, m,
	    HS_CERT_TYPE_CROSS_HS_IP_KEYS) == -1)
		return -1;
	return 0;
}

/*
 * Is enc, all len bytes, the 09 or 0B cert of a pair the token made for
 * period p?  The signature is compared first, as it is where two certs
 * differ most; on a match the whole cert is rebuilt and compared.
 */
static int
signer_icert_match(const struct signer_period *p,
    const struct signer_icert_made *m, const uint8_t *enc, size_t len,
    uint8_t type)
{
	uint8_t	c[HS_CERT_LEN];

	if (len != HS_CERT_LEN || memcmp(enc + HS_CERT_TBS_LEN,
	    type == HS_CERT_TYPE_AUTH_HS_IP_KEY ? m->sig09 : m->sig0b,
	    ED25519_SIG_LEN) != 0)
		return 0;
	if (signer_icert_cert(c, p, m, type) == -1)
		return 0;
	return memcmp(c, enc, HS_CERT_LEN) == 0;
}

static const struct signer_icert_made *
signer_icert_find(const struct signer_period *p,
    const uint8_t auth[ED25519_PK_LEN], const uint8_t enc[ED25519_PK_LEN],
    uint32_t expiry)
{
	size_t	i;

	for (i = 0; i < p->nicerts; i++)
		if (p->icerts[i].expiry_hours == expiry &&
		    memcmp(p->icerts[i].ip->auth_key, auth,
		    ED25519_PK_LEN) == 0 &&
		    memcmp(p->icerts[i].ip->enc_ed, enc, ED25519_PK_LEN) == 0)
			return &p->icerts[i];
	return NULL;
}

/* Drop certs that have expired: they can never be used again. */
static void
signer_icert_prune(struct signer *sg, struct signer_period *p, time_t now)
{
	size_t	i, j;

	for (i = j = 0; i < p->nicerts; i++)
		if ((uint64_t)p->icerts[i].expiry_hours * 3600 >
		    (uint64_t)now)
			p->icerts[j++] = p->icerts[i];
		else
			signer_ipool_put(sg, p->icerts[i].ip);
	p->nicerts = j;
}

int
signer_recertify(struct signer *sg, struct signer_verdict *v,
    const struct signer_peer *peer, const char *service, uint64_t tp,
    const uint8_t (*auth)[ED25519_PK_LEN], size_t n,
    struct signer_icert *out, uint32_t *sigs)
{
	struct signer_service		*svc;
	struct signer_period		*p = NULL;
	struct signer_intro		*in[PROTO_MAX_INTRO];
	const struct signer_icert_made	*have;
	struct signer_icert_made	 ic, *nc;
	uint8_t			 tbs[HS_CERT_TBS_LEN];
	uint8_t			 sig[ED25519_SIG_LEN];
	time_t			 now = time(NULL);
	uint32_t		 expiry;
	size_t			 i, j, na;

	*sigs = 0;
	if (signer_gate(sg, v, service, tp, now, 1, &svc, &p) == -1)
		return -1;
	if (n == 0 || n > PROTO_MAX_INTRO)
		return verdict(v, PROTO_R_TOO_MANY_INTRO, "%zu intro points",
		    n);
	/* Check them all before the first signature. */
	for (i = 0; i < n; i++) {
		if ((in[i] = signer_intro_find(svc, auth[i])) == NULL)
			return verdict(v, PROTO_R_INTRO, "intro point %zu is "
			    "not from a verified backend descriptor", i);
		for (j = 0; j < i; j++)
			if (in[j] == in[i])
				return verdict(v, PROTO_R_INTRO, "intro point "
				    "%zu listed twice", i);
	}
	signer_icert_prune(sg, p, now);
	expiry = signer_icert_expiry(sg, tp, now);
	/* Sized to the certs kept: most calls find every one made. */
	for (i = na = 0; i < n; i++)
		if (signer_icert_find(p, in[i]->auth_key, in[i]->enc_ed,
		    expiry) == NULL)
			na++;
	if (p->nicerts + na > p->icerts_alloc) {
		if ((nc = reallocarray(p->icerts, p->nicerts + na,
		    sizeof(*nc))) == NULL)
			fatal("%s", __func__);
		p->icerts = nc;
		p->icerts_alloc = p->nicerts + na;
	}
	for (i = 0; i < n; i++) {
		if (signer_icert_find(p, in[i]->auth_key, in[i]->enc_ed,
		    expiry) != NULL)
			continue;
		memset(&ic, 0, sizeof(ic));
		ic.expiry_hours = expiry;
		/* Build each cert from its tbs so the audit sees exactly
		 * the bytes the token signs. */
		if (hs_cert_tbs(tbs, HS_CERT_TYPE_AUTH_HS_IP_KEY, expiry,
		    in[i]->auth_key, p->key.pk) != 0)
			return verdict(v, PROTO_R_INTERNAL, "cert layout");
		if (signer_token_sign(sg, v, peer, svc, p, AUDIT_KIND_CERT09,
		    tbs, sizeof(tbs), sig, NULL) == -1)
			return -1;
		(*sigs)++;
		memcpy(ic.sig09, sig, sizeof(sig));
		if (hs_cert_tbs(tbs, HS_CERT_TYPE_CROSS_HS_IP_KEYS, expiry,
		    in[i]->enc_ed, p->key.pk) != 0)
			return verdict(v, PROTO_R_INTERNAL, "cert layout");
		if (signer_token_sign(sg, v, peer, svc, p, AUDIT_KIND_CERT0B,
		    tbs, sizeof(tbs), sig, NULL) == -1)
			return -1;
		(*sigs)++;
		memcpy(ic.sig0b, sig, sizeof(sig));
		if (p->nicerts == p->icerts_alloc)
			fatalx("%s: intro cert table full", __func__);
		ic.ip = signer_ipool_ref(in[i]);
		p->icerts[p->nicerts++] = ic;
	}
	svc->signatures += *sigs;
	/* Made or found, every pair is rebuilt from what is kept. */
	for (i = 0; i < n; i++) {
		if ((have = signer_icert_find(p, in[i]->auth_key,
		    in[i]->enc_ed, expiry)) == NULL ||
		    signer_icert_certs(&out[i], p, have) == -1)
			return verdict(v, PROTO_R_INTERNAL, "intro point %zu: "
			    "cert not rebuilt", i);
	}
	return 0;
}

/*
 * The OPE counter for period pp at time t, through the period's cached
 * state ope (one per clock: now, now - grace), so that successive calls
 * cost only the keystream for the seconds since the last one, never a
 * loop from the window's start.  A clock stepped back costs one loop.
 */
static int
signer_ope(const struct signer *sg, const struct provision_period *pp,
    struct hs_ope *ope, time_t t, uint64_t *rev)
{
	uint32_t	pt;
	int		r;

	if ((r = hs_revision_plaintext(&pt, t, pp->tp, sg->conf->period_len,
	    sg->conf->rot_offset)) != 0)
		return r;
	/* Zeroed at attach; the store's key is fixed per period, but a
	 * store reloaded with another one must not reuse the cache. */
	if (memcmp(ope->key, pp->ope_key, HS_OPE_KEY_LEN) != 0)
		hs_ope_init(ope, pp->ope_key);
	return hs_ope_encrypt(ope, pt, rev);
}

int
signer_desc_params(struct signer *sg, struct signer_verdict *v,
    const char *service, uint64_t tp, uint8_t blinded[ED25519_PK_LEN],
    uint8_t signing[ED25519_PK_LEN], uint64_t *revision,
    uint8_t cert08[HS_CERT_LEN])
{
	struct signer_service		*svc;
	struct signer_period		*p = NULL;
	struct provision_period		*pp;
	time_t				 now = time(NULL);
	int				 r;

	if (signer_gate(sg, v, service, tp, now, 1, &svc, &p) == -1)
		return -1;
	if ((pp = signer_store_period(svc, tp)) == NULL)
		return verdict(v, PROTO_R_NO_KEYS, "period vanished");
	/* Online: the hour may have turned since the last refresh. */
	(void)signer_certs_hold(sg, svc, pp, now);
	if (provision_cert_at(cert08, pp, now) != 0)
		return verdict(v, PROTO_R_NO_KEYS, "%s: no 08 cert for this "
		    "hour in period %" PRIu64, service, tp);
	if ((r = signer_ope(sg, pp, &p->ope_now, now, revision)) != 0)
		return verdict(v, PROTO_R_REVISION, "revision counter: %s",
		    ob_strerror(r));
	if (*revision <= p->rev_floor)
		return verdict(v, PROTO_R_REVISION, "the clock is behind the "
		    "last revision counter signed (%" PRIu64 " <= %" PRIu64
		    ")", *revision, p->rev_floor);
	memcpy(blinded, p->blinded_pk, ED25519_PK_LEN);
	memcpy(signing, p->key.pk, ED25519_PK_LEN);
	return 0;
}

/* Is ip exactly an intro point we verified, with certs we issued? */
static int
signer_intro_check(struct signer_service *svc, const struct signer_period *p,
    const struct hs_intro_point *ip, const char **why)
{
	const struct signer_intro	*in;
	size_t				 i;

	if ((in = signer_intro_find(svc,
	    ip->auth_key_cert.certified_key)) == NULL) {
		*why = "not from a verified backend descriptor";
		return -1;
	}
	if (in->linkspec_len != ip->linkspec_len ||
	    memcmp(in->linkspec, ip->linkspec, ip->linkspec_len) != 0 ||
	    memcmp(in->onion_key, ip->onion_key, X25519_KEY_LEN) != 0 ||
	    memcmp(in->enc_key, ip->enc_key, X25519_KEY_LEN) != 0 ||
	    memcmp(in->enc_ed, ip->enc_key_cert.certified_key,
	    ED25519_PK_LEN) != 0) {
		*why = "differs from what its backend published";
		return -1;
	}
	for (i = 0; i < p->nicerts; i++)
		if (memcmp(p->icerts[i].ip->auth_key, in->auth_key,
		    ED25519_PK_LEN) == 0 &&
		    signer_icert_match(p, &p->icerts[i],
		    ip->auth_key_cert.encoded, ip->auth_key_cert.encoded_len,
		    HS_CERT_TYPE_AUTH_HS_IP_KEY) &&
		    signer_icert_match(p, &p->icerts[i],
		    ip->enc_key_cert.encoded, ip->enc_key_cert.encoded_len,
		    HS_CERT_TYPE_CROSS_HS_IP_KEYS))
			return 0;
	*why = "carries certs this signer did not issue for this period";
	return -1;
}

/*
 * What SIGN_DESC's decoder may take as verified (hs_desc_decode_params
 * .trusted): the period's 08 certs for now and for the grace time, each
 * verified against the blinded key when the period was attached
 * (provision_verify_period), and the intro point certs this period's
 * token key made, each verified right after signing (signer_token_sign).
 * Only their signatures are skipped: the decoder still checks type,
 * signer and expiry.
 */
struct signer_trust {
	const struct signer_period	*p;
	uint8_t				 c08[2][HS_CERT_LEN];
	int				 have08[2];
};

/* Is this cert, byte for byte, our 08 cert for now or the grace time? */
static int
signer_cert08_ours(const struct signer_trust *t, const uint8_t *enc,
    size_t len)
{
	size_t	i;

	if (len != HS_CERT_LEN)
		return 0;
	for (i = 0; i < 2; i++)
		if (t->have08[i] &&
		    memcmp(enc, t->c08[i], HS_CERT_LEN) == 0)
			return 1;
	return 0;
}

static int
signer_cert_trusted(void *arg, const uint8_t *enc, size_t len)
{
	const struct signer_trust	*t = arg;
	size_t				 i;

	if (signer_cert08_ours(t, enc, len))
		return 1;
	if (len != HS_CERT_LEN)
		return 0;
	for (i = 0; i < t->p->nicerts; i++)
		if (signer_icert_match(t->p, &t->p->icerts[i], enc, len,
		    HS_CERT_TYPE_AUTH_HS_IP_KEY) ||
		    signer_icert_match(t->p, &t->p->icerts[i], enc, len,
		    HS_CERT_TYPE_CROSS_HS_IP_KEYS))
			return 1;
	return 0;
}

int
signer_sign_desc(struct signer *sg, struct signer_verdict *v,
    const struct signer_peer *peer, const char *service, uint64_t tp,
    const uint8_t *client_sk, const uint8_t *body, size_t len,
    uint8_t sig[ED25519_SIG_LEN], uint64_t *audit_seq)
{
	struct hs_desc_decode_params	 dp;
	struct hs_desc			 d;
	struct signer_service		*svc;
	struct signer_period		*p = NULL;
	struct provision_period		*pp;
	struct signer_trust		 trust;
	const char			*why;
	uint8_t				*msg = NULL;
	uint64_t			 lo = 0, hi;
	time_t				 now = time(NULL);
	size_t				 i, j, mlen;
	int				 r, r2;

	hs_desc_init(&d);
	if (signer_gate(sg, v, service, tp, now, 1, &svc, &p) == -1)
		return -1;
	if ((pp = signer_store_period(svc, tp)) == NULL)
		return verdict(v, PROTO_R_NO_KEYS, "period vanished");
	(void)signer_certs_hold(sg, svc, pp, now);
	if (len + SIGNER_SIG_LINE_LEN > HS_DESC_MAX_LEN)
		return verdict(v, PROTO_R_TOO_LARGE, "body of %zu bytes: the "
		    "signed descriptor would reach %zu bytes (max %d)", len,
		    len + SIGNER_SIG_LINE_LEN, HS_DESC_MAX_LEN);
	trust.p = p;
	trust.have08[0] = provision_cert_at(trust.c08[0], pp, now) == 0;
	trust.have08[1] = provision_cert_at(trust.c08[1], pp,
	    now - PROTO_REVISION_GRACE) == 0;
	/*
	 * One full decode, for our blinded key only, verifying only the
	 * certs we have not verified ourselves already.
	 */
	memset(&dp, 0, sizeof(dp));
	dp.identity_pk = svc->conf->identity_pk;
	dp.blinded_pk = p->blinded_pk;
	dp.subcredential = p->subcred;
	dp.now = now;
	dp.client_auth_sk = client_sk;
	dp.flags = HS_DESC_F_UNSIGNED | HS_DESC_F_STRICT;
	dp.trusted = signer_cert_trusted;
	dp.trusted_arg = &trust;
	if ((r = hs_desc_decode(&d, body, len, &dp)) != 0) {
		/*
		 * Only now the outer layer alone, accepting whatever
		 * blinded key its 08 cert names, so that a foreign cert is
		 * refused as such and a broken outer layer as that.
		 */
		dp.blinded_pk = NULL;
		dp.client_auth_sk = NULL;
		dp.flags = HS_DESC_F_UNSIGNED | HS_DESC_F_OUTER_ONLY;
		if ((r2 = hs_desc_decode(&d, body, len, &dp)) != 0)
			return verdict(v, PROTO_R_DESC, "body does not "
			    "decode: %s", ob_strerror(r2));
	}
	/* Either decode filled the 08 cert: a foreign one is named first. */
	if (!signer_cert08_ours(&trust, d.signing_cert.encoded,
	    d.signing_cert.encoded_len)) {
		verdict(v, PROTO_R_CERT, "the 08 cert is not this signer's "
		    "for period %" PRIu64 " and this hour", tp);
		goto err;
	}
	if (r != 0) {
		hs_desc_clear(&d);
		if (r == OB_ERR_LIMIT)
			return verdict(v, PROTO_R_TOO_MANY_INTRO, "more than "
			    "%d intro points", HS_DESC_MAX_INTRO);
		if (r == OB_ERR_TOO_LARGE)
			return verdict(v, PROTO_R_TOO_LARGE, "body too large");
		return verdict(v, PROTO_R_DESC, "body does not decode: %s",
		    ob_strerror(r));
	}
	/* Redundant with the byte comparison, kept as a second lock. */
	if (memcmp(d.signing_cert.signing_key, p->blinded_pk,
	    ED25519_PK_LEN) != 0 || memcmp(d.signing_cert.certified_key,
	    p->key.pk, ED25519_PK_LEN) != 0) {
		verdict(v, PROTO_R_CERT, "08 cert keys mismatch");
		goto err;
	}
	if ((r = signer_ope(sg, pp, &p->ope_now, now, &hi)) != 0) {
		verdict(v, PROTO_R_REVISION, "revision counter: %s",
		    ob_strerror(r));
		goto err;
	}
	if (signer_ope(sg, pp, &p->ope_grace, now - PROTO_REVISION_GRACE,
	    &lo) != 0)
		lo = 0;
	if (d.revision_counter < lo || d.revision_counter > hi ||
	    d.revision_counter <= p->rev_floor) {
		verdict(v, PROTO_R_REVISION, "revision counter %" PRIu64
		    " is not one this signer hands out now (%" PRIu64 "..%"
		    PRIu64 ", above %" PRIu64 ")", d.revision_counter, lo, hi,
		    p->rev_floor);
		goto err;
	}
	/* Backends could not check a proof of work bound to the master's
	 * key (DESIGN.md): such a body would only make clients work. */
	if (d.pow_params != NULL) {
		verdict(v, PROTO_R_DESC, "pow-params cannot pass through a "
		    "frontend");
		goto err;
	}
	if (d.n_intro > HS_DESC_MAX_INTRO || d.n_intro_skipped > 0) {
		verdict(v, PROTO_R_TOO_MANY_INTRO, "%zu intro points",
		    d.n_intro + d.n_intro_skipped);
		goto err;
	}
	for (i = 0; i < d.n_intro; i++) {
		if (signer_intro_check(svc, p, &d.intro[i], &why) == -1) {
			verdict(v, PROTO_R_INTRO, "intro point %zu %s", i,
			    why);
			goto err;
		}
		for (j = 0; j < i; j++)
			if (memcmp(d.intro[j].auth_key_cert.certified_key,
			    d.intro[i].auth_key_cert.certified_key,
			    ED25519_PK_LEN) == 0) {
				verdict(v, PROTO_R_INTRO, "intro point %zu "
				    "listed twice", i);
				goto err;
			}
	}
	if ((r = hs_desc_sig_message(&msg, &mlen, body, len)) != 0) {
		verdict(v, PROTO_R_INTERNAL, "%s", ob_strerror(r));
		goto err;
	}
	/*
	 * The floor goes to disk before the signature can be used: the
	 * main loop writes it with the round's commit (signer_commit), and
	 * withholds the reply if that fails.  Raised first, so that a
	 * failure below skips a counter rather than reusing one.
	 */
	if (floors_raise(sg->floors, svc->conf->address, tp, p->blinded_pk,
	    d.revision_counter) == -1) {
		verdict(v, PROTO_R_INTERNAL, "revision floor not recorded");
		goto err;
	}
	p->rev_floor = d.revision_counter;
	if (signer_token_sign(sg, v, peer, svc, p, AUDIT_KIND_DESC, msg, mlen,
	    sig, audit_seq) == -1)
		goto err;
	svc->signatures++;
	log_info("%s: signed descriptor for period %" PRIu64 ", revision %"
	    PRIu64 ", %zu intro points, audit record %" PRIu64, service, tp,
	    d.revision_counter, d.n_intro, *audit_seq);
	free(msg);
	hs_desc_clear(&d);
	return 0;
 err:
	free(msg);
	hs_desc_clear(&d);
	return -1;
}

int
signer_horizon(struct signer *sg, const struct signer_service *svc,
    uint64_t *horizon, char *warning, size_t warnsz)
{
	time_t	now = time(NULL), h, we;

	warning[0] = '\0';
	h = svc->store != NULL ? provision_horizon(svc->store) : 0;
	/* Online: the periods whose token key is made ahead count, as
	 * when they were certified at once. */
	if (svc->have_id_sk && svc->key_ahead > 0 &&
	    provision_window(svc->key_ahead, sg->conf->period_len,
	    sg->conf->rot_offset, NULL, NULL, NULL, &we) == 0 && we > h)
		h = we;
	*horizon = h > 0 ? (uint64_t)h : 0;
	if (svc->have_id_sk)
		return PROTO_HORIZON_OK;	/* it certifies as it goes */
	if (h == 0 || now > h) {
		(void)snprintf(warning, warnsz, "%s: nothing provisioned past "
		    "now: signing refused until a bundle is imported",
		    svc->conf->address);
		return PROTO_HORIZON_PAST;
	}
	if ((uint64_t)(h - now) < sg->conf->horizon_warn) {
		/* Minutes below two hours: "0 hours" tells nothing. */
		(void)snprintf(warning, warnsz, "%s: provisioned periods end "
		    "in %lld %s: import a new bundle", svc->conf->address,
		    h - now < 7200 ? (long long)(h - now) / 60 :
		    (long long)(h - now) / 3600,
		    h - now < 7200 ? "minutes" : "hours");
		return PROTO_HORIZON_WARN;
	}
	return PROTO_HORIZON_OK;
}
