/* Hash-chained audit log; see audit.h for the format and contract. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "audit.h"
#include "buf.h"
#include "crypto.h"
#include "encode.h"
#include "err.h"
#include "log.h"

#define AUDIT_NFIELDS	10

struct audit {
	int		fd;
	char		*path;
	uint64_t	last_seq;
	uint8_t		last_hash[SHA3_256_LEN];
	uint64_t	synced_seq;	/* last record known on disk */
};

static int
audit_hash(uint8_t out[SHA3_256_LEN], const void *line, size_t n)
{
	struct ob_iov	iov[2];

	iov[0].p = AUDIT_HASH_PREFIX;
	iov[0].n = sizeof(AUDIT_HASH_PREFIX);	/* with the NUL */
	iov[1].p = line;
	iov[1].n = n;
	return ob_sha3_256(out, iov, 2);
}

const char *
audit_fault_name(enum audit_fault f)
{
	switch (f) {
	case AUDIT_OK:		return "ok";
	case AUDIT_TRUNCATED:	return "truncated record";
	case AUDIT_SYNTAX:	return "malformed record";
	case AUDIT_SEQ:		return "missing records (sequence gap)";
	case AUDIT_PREV:	return "chain broken (prev hash)";
	case AUDIT_HASH:	return "record altered (hash mismatch)";
	case AUDIT_IO:		return "cannot read";
	}
	return "unknown";
}

static int
audit_fail(struct audit_result *res, enum audit_fault f, uint64_t line,
    const char *what)
{
	res->fault = f;
	res->bad_line = line;
	res->bad_seq = res->last_seq + 1;
	(void)snprintf(res->detail, sizeof(res->detail), "%s", what);
	return -1;
}

int
audit_digest(uint8_t out[SHA3_256_LEN], const void *msg, size_t len)
{
	return crypto_generichash(out, SHA3_256_LEN, msg, len, NULL, 0) == 0 ?
	    0 : -1;
}

static int
audit_hex32(uint8_t out[SHA3_256_LEN], const struct buf *w)
{
	if (buf_len(w) != 2 * SHA3_256_LEN)
		return OB_ERR_FORMAT;
	return hex_decode(out, SHA3_256_LEN, (const char *)buf_ptr(w),
	    buf_len(w));
}

/*
 * Tagged BLAKE2b-256, or untagged SHA3-256 from before the tag.  A log
 * only ever goes from untagged to tagged (a signer that writes tags
 * never writes the old form, and an older one refuses a tagged log), so
 * an untagged digest after a tagged one (*tagged set) is malformed.
 */
static int
audit_digest_field(uint8_t out[SHA3_256_LEN], const struct buf *w,
    int *tagged)
{
	struct buf	hx = *w;

	if (buf_has_prefix(&hx, AUDIT_DIGEST_TAG)) {
		if (buf_consume(&hx, sizeof(AUDIT_DIGEST_TAG) - 1) != 0)
			return OB_ERR_FORMAT;
		*tagged = 1;
	} else if (*tagged)
		return OB_ERR_FORMAT;
	return audit_hex32(out, &hx);
}

/* Decimal field: buf_to_u64 refuses signs and leading zeros. */
static int
audit_num(uint64_t *v, const struct buf *w)
{
	return buf_to_u64(w, v);
}

int
audit_verify(const uint8_t *data, size_t len, struct audit_result *res)
{
	struct buf	 b, line, whole, w[AUDIT_NFIELDS];
	uint8_t		 prev[SHA3_256_LEN], hash[SHA3_256_LEN];
	uint8_t		 want[SHA3_256_LEN];
	uint64_t	 seq, v, lineno = 0;
	size_t		 i, signed_len;
	int		 had_nl, tagged = 0;

	memset(res, 0, sizeof(*res));
	buf_init_ro(&b, data, len);
	while (buf_len(&b) > 0) {
		lineno++;
		if (buf_get_line(&b, AUDIT_LINE_MAX, &line, &had_nl) != 0)
			return audit_fail(res, AUDIT_SYNTAX, lineno,
			    "line too long or contains NUL");
		if (!had_nl)
			return audit_fail(res, AUDIT_TRUNCATED, lineno,
			    "last record has no newline");
		whole = line;
		for (i = 0; i < AUDIT_NFIELDS; i++)
			if (buf_get_word(&line, &w[i]) != 0)
				break;
		if (i < AUDIT_NFIELDS)
			return audit_fail(res, buf_len(&line) == 0 ?
			    AUDIT_TRUNCATED : AUDIT_SYNTAX, lineno,
			    "too few fields");
		if (buf_len(&line) != 0)
			return audit_fail(res, AUDIT_SYNTAX, lineno,
			    "trailing data");
		/* The hash covers everything before the last field, which
		 * is checked below to be exactly 64 hex digits. */
		signed_len = buf_len(&whole) - buf_len(&w[9]);
		if (audit_num(&seq, &w[0]) != 0 ||
		    audit_num(&v, &w[1]) != 0 ||
		    buf_len(&w[2]) != 56 ||
		    audit_num(&v, &w[3]) != 0 ||
		    !(buf_eq_str(&w[4], AUDIT_KIND_DESC) ||
		    buf_eq_str(&w[4], AUDIT_KIND_CERT09) ||
		    buf_eq_str(&w[4], AUDIT_KIND_CERT0B)) ||
		    audit_digest_field(want, &w[5], &tagged) != 0 ||
		    audit_num(&v, &w[6]) != 0 ||
		    audit_num(&v, &w[7]) != 0 ||
		    audit_hex32(prev, &w[8]) != 0 ||
		    audit_hex32(want, &w[9]) != 0)
			return audit_fail(res, AUDIT_SYNTAX, lineno,
			    "a field is malformed");
		if (audit_hash(hash, buf_ptr(&whole), signed_len) != 0)
			return audit_fail(res, AUDIT_IO, lineno,
			    "hash failed");
		if (!ob_ct_eq(hash, want, sizeof(hash)))
			return audit_fail(res, AUDIT_HASH, lineno,
			    "record hash does not match its contents");
		if (seq != res->last_seq + 1)
			return audit_fail(res, AUDIT_SEQ, lineno,
			    "sequence number skips");
		if (!ob_ct_eq(prev, res->last_hash, sizeof(prev)))
			return audit_fail(res, AUDIT_PREV, lineno,
			    "prev does not match the previous record");
		res->last_seq = seq;
		memcpy(res->last_hash, hash, sizeof(hash));
		res->nrecords++;
	}
	return 0;
}

int
audit_verify_file(const char *path, struct audit_result *res)
{
	struct stat	 st;
	uint8_t		*data = NULL;
	size_t		 off = 0;
	ssize_t		 n;
	int		 fd, rv = -1;

	memset(res, 0, sizeof(*res));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		(void)snprintf(res->detail, sizeof(res->detail), "%s: %s",
		    path, strerror(errno));
		res->fault = AUDIT_IO;
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size > AUDIT_FILE_MAX) {
		(void)snprintf(res->detail, sizeof(res->detail),
		    "%s: not a regular file of sane size", path);
		res->fault = AUDIT_IO;
		goto err;
	}
	if ((data = malloc((size_t)st.st_size + 1)) == NULL)
		goto err;
	while (off < (size_t)st.st_size) {
		n = read(fd, data + off, (size_t)st.st_size - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	rv = audit_verify(data, off, res);
 err:
	free(data);
	close(fd);
	return rv;
}

int
audit_open(struct audit **out, const char *path)
{
	struct audit		*a;
	struct audit_result	 res;

	*out = NULL;
	if ((a = calloc(1, sizeof(*a))) == NULL ||
	    (a->path = strdup(path)) == NULL) {
		log_warn("%s", __func__);
		free(a);
		return -1;
	}
	a->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (a->fd == -1) {
		log_warn("%s: %s", __func__, path);
		goto err;
	}
	if (audit_verify_file(path, &res) != 0) {
		log_warnx("%s: %s: line %" PRIu64 " (record %" PRIu64 "): "
		    "%s: %s", __func__, path, res.bad_line, res.bad_seq,
		    audit_fault_name(res.fault), res.detail);
		goto err;
	}
	a->last_seq = res.last_seq;
	memcpy(a->last_hash, res.last_hash, sizeof(a->last_hash));
	/* What verified may still sit in the page cache after a crash of
	 * an earlier signer: make it durable before adding to it. */
	if (fsync(a->fd) == -1) {
		log_warn("%s: fsync %s", __func__, path);
		goto err;
	}
	a->synced_seq = a->last_seq;
	*out = a;
	return 0;
 err:
	audit_close(a);
	return -1;
}

void
audit_close(struct audit *a)
{
	if (a == NULL)
		return;
	if (a->fd != -1)
		close(a->fd);
	free(a->path);
	free(a);
}

uint64_t
audit_count(const struct audit *a)
{
	return a->last_seq;
}

uint64_t
audit_pending(const struct audit *a)
{
	return a->last_seq - a->synced_seq;
}

int
audit_commit(struct audit *a)
{
	if (a->fd == -1) {
		log_warnx("%s: log is closed after an earlier failure",
		    __func__);
		return -1;
	}
	if (a->synced_seq == a->last_seq)
		return 0;
	if (fsync(a->fd) == -1) {
		/*
		 * After a failed fsync the kernel may have dropped the
		 * dirty pages and a retry can report success: nothing
		 * written since the last good fsync can be trusted.
		 */
		log_warn("%s: %s", __func__, a->path);
		close(a->fd);
		a->fd = -1;
		return -1;
	}
	a->synced_seq = a->last_seq;
	return 0;
}

int
audit_append(struct audit *a, struct audit_record *r)
{
	if (audit_write(a, r) == -1)
		return -1;
	return audit_commit(a);
}

int
audit_write(struct audit *a, struct audit_record *r)
{
	char		 dig[2 * SHA3_256_LEN + 1], prev[2 * SHA3_256_LEN + 1];
	char		 hx[2 * SHA3_256_LEN + 1];
	char		 line[AUDIT_LINE_MAX];
	uint8_t		 hash[SHA3_256_LEN];
	size_t		 off = 0;
	ssize_t		 n;
	int		 len;

	if (a->fd == -1) {
		log_warnx("%s: log is closed after an earlier failure",
		    __func__);
		return -1;
	}
	if (strlen(r->service) != 56 || hex_encode(dig, sizeof(dig),
	    r->digest, sizeof(r->digest), 0) != 0 || hex_encode(prev,
	    sizeof(prev), a->last_hash, sizeof(a->last_hash), 0) != 0) {
		log_warnx("%s: bad record", __func__);
		return -1;
	}
	len = snprintf(line, sizeof(line), "%" PRIu64 " %lld %s %" PRIu64
	    " %s " AUDIT_DIGEST_TAG "%s %lu %lu %s ", a->last_seq + 1,
	    (long long)r->time, r->service, r->tp, r->kind, dig,
	    (unsigned long)r->uid,
	    (unsigned long)r->pid, prev);
	if (len < 0 || (size_t)len + sizeof(hx) + 1 > sizeof(line) ||
	    audit_hash(hash, line, (size_t)len) != 0 ||
	    hex_encode(hx, sizeof(hx), hash, sizeof(hash), 0) != 0) {
		log_warnx("%s: cannot format record", __func__);
		return -1;
	}
	memcpy(line + len, hx, 2 * SHA3_256_LEN);
	len += 2 * SHA3_256_LEN;
	line[len++] = '\n';
	while (off < (size_t)len) {
		n = write(a->fd, line + off, (size_t)len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			goto fail;
		off += (size_t)n;
	}
	a->last_seq++;
	memcpy(a->last_hash, hash, sizeof(hash));
	r->seq = a->last_seq;
	return 0;
 fail:
	/*
	 * A partial record would break the chain for every later one; stop
	 * signing instead of guessing what reached the disk.
	 */
	log_warn("%s: %s", __func__, a->path);
	close(a->fd);
	a->fd = -1;
	return -1;
}
