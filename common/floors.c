/* Revision floor journal; see floors.h for the format and contract. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "crypto.h"
#include "encode.h"
#include "err.h"
#include "floors.h"
#include "log.h"

#define FLOORS_CHECK_LEN	8	/* bytes of the hash kept */
#define FLOORS_NFIELDS		5
/* Compact once the journal holds this many records beyond two per
 * floor: the rewrite then costs O(1) per appended record. */
#define FLOORS_SLACK		1024
#define FLOORS_COMPACT_BUF	(64 * 1024)	/* bytes written at a time */

/* 104 bytes: a hosting signer keeps a few per service. */
struct floor_ent {
	uint8_t		blinded[ED25519_PK_LEN];
	uint64_t	tp;
	uint64_t	rev;
	char		service[FLOORS_SERVICE_LEN];	/* no NUL */
};

struct floors {
	int		 fd;		/* O_APPEND */
	char		*path;
	char		*dir;
	/*
	 * The floors in a dense array, found through an index of their
	 * positions + 1 (0: empty) by open addressing, linear probing, a
	 * power of two at most half full: the empty slots cost 4 bytes
	 * each, not a whole entry.
	 */
	struct floor_ent *ent;
	size_t		 count;
	size_t		 ent_alloc;
	uint32_t	*tab;
	size_t		 tabsz;
	size_t		 journal;	/* records in the file */
	uint64_t	 keep_tp;	/* floors_forget_before() */
	int		 broken;	/* tail unknown: only compact */
	int		 torn;
	char		*pend;		/* queued records */
	size_t		 pend_len;
	size_t		 pend_alloc;
	size_t		 npend;
};

static size_t
floors_slot(const struct floors *fl, const uint8_t k[ED25519_PK_LEN])
{
	uint64_t	h = 0;
	size_t		i;

	/*
	 * Blinded keys are uniform; mix anyway so any 8 bytes would do
	 * (a full 64-bit finalizer: the low bits taken below depend on
	 * every input bit, where a bare multiply leaves them clustered
	 * for keys that differ only in their first bytes).
	 */
	for (i = 0; i < 8; i++)
		h = (h << 8) | k[i];
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return (size_t)h & (fl->tabsz - 1);
}

static struct floor_ent *
floors_lookup(const struct floors *fl, const uint8_t k[ED25519_PK_LEN])
{
	size_t		i;
	uint32_t	x;

	if (fl->tabsz == 0)
		return NULL;
	for (i = floors_slot(fl, k); (x = fl->tab[i]) != 0;
	    i = (i + 1) & (fl->tabsz - 1))
		if (memcmp(fl->ent[x - 1].blinded, k, ED25519_PK_LEN) == 0)
			return &fl->ent[x - 1];
	return NULL;
}

/* Index ent[pos], known to be absent from an index with room. */
static void
floors_link(struct floors *fl, size_t pos)
{
	size_t	i;

	for (i = floors_slot(fl, fl->ent[pos].blinded); fl->tab[i] != 0;
	    i = (i + 1) & (fl->tabsz - 1))
		;
	fl->tab[i] = (uint32_t)(pos + 1);
}

/* Rebuild the index with room for want floors, first dropping those
 * before keep_tp when drop is set (nothing changes on failure). */
static int
floors_rehash(struct floors *fl, size_t want, int drop)
{
	uint32_t	*nt;
	size_t		 sz = 64, i, k;

	while (sz < want * 2)
		sz *= 2;
	if ((nt = calloc(sz, sizeof(*nt))) == NULL) {
		log_warn("%s", __func__);
		return -1;
	}
	if (drop) {
		for (i = k = 0; i < fl->count; i++)
			if (fl->ent[i].tp >= fl->keep_tp)
				fl->ent[k++] = fl->ent[i];
		fl->count = k;
	}
	free(fl->tab);
	fl->tab = nt;
	fl->tabsz = sz;
	for (i = 0; i < fl->count; i++)
		floors_link(fl, i);
	return 0;
}

/* Set a floor in memory to at least rev. */
static int
floors_put(struct floors *fl, const char *service, uint64_t tp,
    const uint8_t k[ED25519_PK_LEN], uint64_t rev)
{
	struct floor_ent	*e, *ne;
	size_t			 n;

	if ((e = floors_lookup(fl, k)) != NULL) {
		if (rev > e->rev)
			e->rev = rev;
		if (tp > e->tp)
			e->tp = tp;
		return 0;
	}
	if (fl->count == fl->ent_alloc) {
		/* By half again, not double: the array is most of it. */
		n = fl->ent_alloc > 0 ? fl->ent_alloc + fl->ent_alloc / 2 :
		    64;
		if (n >= UINT32_MAX ||
		    (ne = reallocarray(fl->ent, n, sizeof(*ne))) == NULL) {
			log_warnx("%s: out of memory", __func__);
			return -1;
		}
		fl->ent = ne;
		fl->ent_alloc = n;
	}
	if ((fl->count + 1) * 2 > fl->tabsz &&
	    floors_rehash(fl, fl->count + 1, 0) == -1)
		return -1;
	e = &fl->ent[fl->count];
	memset(e, 0, sizeof(*e));
	memcpy(e->blinded, k, ED25519_PK_LEN);
	memcpy(e->service, service, FLOORS_SERVICE_LEN);
	e->tp = tp;
	e->rev = rev;
	floors_link(fl, fl->count);
	fl->count++;
	return 0;
}

static int
floors_service_ok(const char *s, size_t n)
{
	size_t	i;

	if (n != FLOORS_SERVICE_LEN)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '2' && s[i] <= '7')))
			return 0;
	return 1;
}

static int
floors_check(uint8_t out[SHA3_256_LEN], const void *line, size_t n)
{
	struct ob_iov	iov[2];

	iov[0].p = FLOORS_CHECK_PREFIX;
	iov[0].n = sizeof(FLOORS_CHECK_PREFIX);	/* with the NUL */
	iov[1].p = line;
	iov[1].n = n;
	return ob_sha3_256(out, iov, 2);
}

/* Format one record with its '\n' into out; its length, or 0. */
static size_t
floors_format(char out[FLOORS_LINE_MAX], const struct floor_ent *e)
{
	char	hx[2 * ED25519_PK_LEN + 1], ck[2 * FLOORS_CHECK_LEN + 1];
	uint8_t	h[SHA3_256_LEN];
	int	n;

	if (hex_encode(hx, sizeof(hx), e->blinded, ED25519_PK_LEN, 0) != 0)
		return 0;
	n = snprintf(out, FLOORS_LINE_MAX, "%.*s %" PRIu64 " %s %" PRIu64 " ",
	    FLOORS_SERVICE_LEN, e->service, e->tp, hx, e->rev);
	if (n < 0 || (size_t)n + sizeof(ck) + 1 > FLOORS_LINE_MAX ||
	    floors_check(h, out, (size_t)n) != 0 ||
	    hex_encode(ck, sizeof(ck), h, FLOORS_CHECK_LEN, 0) != 0)
		return 0;
	memcpy(out + n, ck, 2 * FLOORS_CHECK_LEN);
	n += 2 * FLOORS_CHECK_LEN;
	out[n++] = '\n';
	return (size_t)n;
}

/* One record (its line without the '\n'); 0 or -1. */
static int
floors_parse(struct floor_ent *e, const struct buf *whole)
{
	struct buf	line = *whole, w[FLOORS_NFIELDS];
	uint8_t		h[SHA3_256_LEN], ck[FLOORS_CHECK_LEN];
	size_t		i;

	memset(e, 0, sizeof(*e));
	for (i = 0; i < FLOORS_NFIELDS; i++)
		if (buf_get_word(&line, &w[i]) != 0)
			return -1;
	if (buf_len(&line) != 0 ||
	    !floors_service_ok((const char *)buf_ptr(&w[0]),
	    buf_len(&w[0])) ||
	    buf_to_u64(&w[1], &e->tp) != 0 ||
	    hex_decode(e->blinded, ED25519_PK_LEN,
	    (const char *)buf_ptr(&w[2]), buf_len(&w[2])) != 0 ||
	    buf_to_u64(&w[3], &e->rev) != 0 ||
	    hex_decode(ck, sizeof(ck), (const char *)buf_ptr(&w[4]),
	    buf_len(&w[4])) != 0)
		return -1;
	if (floors_check(h, buf_ptr(whole), buf_len(whole) - buf_len(&w[4]))
	    != 0 || !ob_ct_eq(h, ck, sizeof(ck)))
		return -1;
	memcpy(e->service, buf_ptr(&w[0]), FLOORS_SERVICE_LEN);
	return 0;
}

static int
floors_replay(struct floors *fl, const uint8_t *data, size_t len)
{
	struct floor_ent	 e;
	struct buf		 b, line;
	const uint8_t		*start;
	uint64_t		 lineno = 0;
	size_t			 left;
	int			 had_nl;

	buf_init_ro(&b, data, len);
	while ((left = buf_len(&b)) > 0) {
		lineno++;
		start = buf_ptr(&b);
		if (buf_get_line(&b, FLOORS_LINE_MAX, &line, &had_nl) == 0 &&
		    had_nl && floors_parse(&e, &line) == 0) {
			if (floors_put(fl, e.service, e.tp, e.blinded,
			    e.rev) == -1)
				return -1;
			fl->journal++;
			continue;
		}
		/*
		 * Only the end of the file can be torn by a crash, and
		 * only records that were never committed (one write() of
		 * whole lines, then fsync): no '\n' from here on.
		 */
		if (memchr(start, '\n', left) == NULL) {
			log_warnx("%s: %s: line %" PRIu64 ": torn last record "
			    "ignored (never committed: written when the "
			    "signer stopped)", __func__, fl->path, lineno);
			fl->torn = 1;
			fl->broken = 1;	/* rewrite before appending */
			return 0;
		}
		log_warnx("%s: %s: line %" PRIu64 " is damaged; the signer "
		    "cannot know its revision floors.  Repair or remove the "
		    "file only if you know every counter signed is below "
		    "the clock's", __func__, fl->path, lineno);
		return -1;
	}
	return 0;
}

static int
floors_sync_dir(const struct floors *fl)
{
	int	fd, r;

	if ((fd = open(fl->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	r = fsync(fd);
	close(fd);
	return r;
}

int
floors_open(struct floors **out, const char *path)
{
	struct floors	*fl;
	struct stat	 st;
	uint8_t		*data = NULL;
	char		*tmp = NULL;
	size_t		 off = 0;
	ssize_t		 n;

	*out = NULL;
	if ((fl = calloc(1, sizeof(*fl))) == NULL) {
		log_warn("%s", __func__);
		return -1;
	}
	fl->fd = -1;	/* not 0: floors_close() would close stdin */
	if ((fl->path = strdup(path)) == NULL ||
	    (tmp = strdup(path)) == NULL ||
	    (fl->dir = strdup(dirname(tmp))) == NULL) {
		log_warn("%s", __func__);
		goto err;
	}
	fl->fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW, 0600);
	if (fl->fd == -1) {
		log_warn("%s: %s", __func__, path);
		goto err;
	}
	/*
	 * One writer: a second signer on this state-dir would compact the
	 * journal (rename) under the first, whose later appends would then
	 * go to the unlinked file and be lost at the next start.
	 */
	if (flock(fl->fd, LOCK_EX | LOCK_NB) == -1) {
		log_warn("%s: %s: locked by another signer", __func__, path);
		goto err;
	}
	if (fstat(fl->fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size > FLOORS_FILE_MAX) {
		log_warnx("%s: %s: not a regular file of sane size", __func__,
		    path);
		goto err;
	}
	if ((data = malloc((size_t)st.st_size + 1)) == NULL) {
		log_warn("%s", __func__);
		goto err;
	}
	while (off < (size_t)st.st_size) {
		n = pread(fl->fd, data + off, (size_t)st.st_size - off,
		    (off_t)off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_warn("%s: read %s", __func__, path);
			goto err;
		}
		off += (size_t)n;
	}
	if (floors_rehash(fl, 64, 0) == -1 ||
	    floors_replay(fl, data, off) == -1)
		goto err;
	/* What replayed may sit only in the page cache after a crash of
	 * an earlier signer, and a journal just created may lack its
	 * directory entry: make both durable before relying on them. */
	if (fsync(fl->fd) == -1 || floors_sync_dir(fl) == -1) {
		log_warn("%s: fsync %s", __func__, path);
		goto err;
	}
	free(data);
	free(tmp);
	*out = fl;
	return 0;
 err:
	free(data);
	free(tmp);
	floors_close(fl);
	return -1;
}

int
floors_open_mem(struct floors **out, const uint8_t *data, size_t len)
{
	struct floors	*fl;

	*out = NULL;
	if ((fl = calloc(1, sizeof(*fl))) == NULL ||
	    (fl->path = strdup("(memory)")) == NULL) {
		log_warn("%s", __func__);
		free(fl);
		return -1;
	}
	/* No file and no directory: floors_compact() refuses dir NULL. */
	fl->fd = -1;
	if (len > FLOORS_FILE_MAX) {
		log_warnx("%s: image of %zu bytes", __func__, len);
		goto err;
	}
	if (floors_rehash(fl, 64, 0) == -1 ||
	    floors_replay(fl, data, len) == -1)
		goto err;
	*out = fl;
	return 0;
 err:
	floors_close(fl);
	return -1;
}

void
floors_close(struct floors *fl)
{
	if (fl == NULL)
		return;
	if (fl->fd != -1)
		close(fl->fd);
	free(fl->path);
	free(fl->dir);
	free(fl->ent);
	free(fl->tab);
	free(fl->pend);
	free(fl);
}

uint64_t
floors_get(const struct floors *fl, const uint8_t k[ED25519_PK_LEN])
{
	const struct floor_ent	*e;

	return (e = floors_lookup(fl, k)) != NULL ? e->rev : 0;
}

int
floors_raise(struct floors *fl, const char *service, uint64_t tp,
    const uint8_t k[ED25519_PK_LEN], uint64_t rev)
{
	struct floor_ent	 e;
	char			 line[FLOORS_LINE_MAX], *np;
	char			 svc[FLOORS_SERVICE_LEN + 1];
	size_t			 n, want, i;

	/* Addresses are case-blind (tor, hs_address_decode()) and a
	 * configuration may spell one in capitals: records are lower. */
	memset(&e, 0, sizeof(e));
	memset(svc, 0, sizeof(svc));
	for (i = 0; i < FLOORS_SERVICE_LEN && service[i] != '\0'; i++)
		svc[i] = (service[i] >= 'A' && service[i] <= 'Z') ?
		    (char)(service[i] - 'A' + 'a') : service[i];
	if (service[i] != '\0' || !floors_service_ok(svc, strlen(svc))) {
		log_warnx("%s: bad service name", __func__);
		return -1;
	}
	memcpy(e.service, svc, FLOORS_SERVICE_LEN);
	memcpy(e.blinded, k, ED25519_PK_LEN);
	e.tp = tp;
	e.rev = rev;
	if ((n = floors_format(line, &e)) == 0) {
		log_warnx("%s: cannot format record", __func__);
		return -1;
	}
	if (fl->pend_len + n > fl->pend_alloc) {
		want = fl->pend_alloc > 0 ? fl->pend_alloc * 2 : 4096;
		while (want < fl->pend_len + n)
			want *= 2;
		if ((np = realloc(fl->pend, want)) == NULL) {
			log_warn("%s", __func__);
			return -1;
		}
		fl->pend = np;
		fl->pend_alloc = want;
	}
	if (floors_put(fl, e.service, tp, k, rev) == -1)
		return -1;
	memcpy(fl->pend + fl->pend_len, line, n);
	fl->pend_len += n;
	fl->npend++;
	return 0;
}

size_t
floors_pending(const struct floors *fl)
{
	return fl->npend;
}

size_t
floors_count(const struct floors *fl)
{
	return fl->count;
}

size_t
floors_journal_records(const struct floors *fl)
{
	return fl->journal;
}

int
floors_had_torn_tail(const struct floors *fl)
{
	return fl->torn;
}

void
floors_forget_before(struct floors *fl, uint64_t tp)
{
	fl->keep_tp = tp;
}

static int
floors_write_all(int fd, const char *p, size_t len)
{
	size_t	off = 0;
	ssize_t	n;

	while (off < len) {
		n = write(fd, p + off, len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		off += (size_t)n;
	}
	return 0;
}

int
floors_compact(struct floors *fl)
{
	char	 tmp[PATH_MAX], *out = NULL;
	size_t	 i, n, len = 0, records = 0;
	int	 fd = -1, rv = -1;

	if (fl->dir == NULL || fl->fd == -1) {
		log_warnx("%s: %s cannot be written", __func__, fl->path);
		return -1;
	}
	if (floors_rehash(fl, fl->count, 1) == -1)
		return -1;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", fl->path) >=
	    sizeof(tmp)) {
		log_warnx("%s: path too long", __func__);
		return -1;
	}
	/* Written a chunk at a time: the whole file at once was a peak
	 * of 256 bytes per floor. */
	if ((out = malloc(FLOORS_COMPACT_BUF)) == NULL) {
		log_warn("%s", __func__);
		return -1;
	}
	if ((fd = open(tmp, O_WRONLY | O_APPEND | O_CREAT | O_TRUNC |
	    O_CLOEXEC | O_NOFOLLOW, 0600)) == -1) {
		log_warn("%s: %s", __func__, tmp);
		goto err;
	}
	/* Locked before the rename: the lock must pass to the new file. */
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		log_warn("%s: lock %s", __func__, tmp);
		(void)unlink(tmp);
		goto err;
	}
	for (i = 0; i <= fl->count; i++) {
		if (len > 0 && (i == fl->count ||
		    len + FLOORS_LINE_MAX > FLOORS_COMPACT_BUF)) {
			if (floors_write_all(fd, out, len) == -1) {
				log_warn("%s: %s", __func__, tmp);
				(void)unlink(tmp);
				goto err;
			}
			len = 0;
		}
		if (i == fl->count)
			break;
		if ((n = floors_format(out + len, &fl->ent[i])) == 0) {
			log_warnx("%s: cannot format record", __func__);
			(void)unlink(tmp);
			goto err;
		}
		len += n;
		records++;
	}
	if (fsync(fd) == -1) {
		log_warn("%s: %s", __func__, tmp);
		(void)unlink(tmp);
		goto err;
	}
	if (rename(tmp, fl->path) == -1) {
		log_warn("%s: rename %s", __func__, tmp);
		(void)unlink(tmp);
		goto err;
	}
	/* The new file is the journal now, and holds the lock. */
	close(fl->fd);
	fl->fd = fd;
	fd = -1;
	fl->journal = records;
	/* The rename is durable only once the directory is (until then
	 * broken stays set: the next commit compacts again). */
	if (floors_sync_dir(fl) == -1) {
		log_warn("%s: fsync %s", __func__, fl->dir);
		goto err;
	}
	/* Everything queued is in the new file. */
	fl->pend_len = 0;
	fl->npend = 0;
	fl->broken = 0;
	rv = 0;
 err:
	if (rv == -1)
		fl->broken = 1;
	if (fd != -1)
		close(fd);
	free(out);
	return rv;
}

int
floors_commit(struct floors *fl)
{
	if (fl->fd == -1) {
		log_warnx("%s: %s cannot be written", __func__, fl->path);
		return -1;
	}
	if (fl->broken || fl->journal + fl->npend >
	    FLOORS_SLACK + 2 * fl->count)
		return floors_compact(fl);
	if (fl->npend == 0)
		return 0;
	if (floors_write_all(fl->fd, fl->pend, fl->pend_len) == -1 ||
	    fsync(fl->fd) == -1) {
		/*
		 * The tail of the file is unknown now (a partial write, or
		 * pages the kernel dropped after a failed fsync): never
		 * append to it again; the next commit rewrites it all.
		 */
		log_warn("%s: %s", __func__, fl->path);
		fl->broken = 1;
		return -1;
	}
	fl->journal += fl->npend;
	fl->pend_len = 0;
	fl->npend = 0;
	return 0;
}
