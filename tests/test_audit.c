/* Tests for common/audit.c: the chain verifies; each kind of damage is
 * pinpointed; a damaged log is refused at open. */
#include "config.h"

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "crypto.h"
#include "encode.h"
#include "floors.h"
#include "tests.h"

#define SVC "pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd"

static const char *
audit_path(const char *name)
{
	static char	path[512];

	(void)snprintf(path, sizeof(path), "%s/%s", test_tmpdir(), name);
	return path;
}

/* Write n records to a fresh log; return its contents. */
static uint8_t *
audit_make(const char *name, int n, size_t *len)
{
	struct audit		*a;
	struct audit_record	 r;
	const char		*path = audit_path(name);
	int			 i;

	(void)unlink(path);
	CU_ASSERT_FATAL(audit_open(&a, path) == 0);
	for (i = 0; i < n; i++) {
		memset(&r, 0, sizeof(r));
		r.time = 1700000000 + i;
		memcpy(r.service, SVC, sizeof(r.service));
		r.tp = 19000 + (uint64_t)i / 3;
		r.kind = i % 3 == 0 ? AUDIT_KIND_DESC :
		    i % 3 == 1 ? AUDIT_KIND_CERT09 : AUDIT_KIND_CERT0B;
		memset(r.digest, i, sizeof(r.digest));
		r.uid = 1000;
		r.pid = 4242;
		CU_ASSERT_FATAL(audit_append(a, &r) == 0);
		CU_ASSERT(r.seq == (uint64_t)i + 1);
	}
	CU_ASSERT(audit_count(a) == (uint64_t)n);
	audit_close(a);
	return test_read_file(path, len);
}

/* Offset of the start of line k (1-based). */
static size_t
line_off(const uint8_t *d, size_t len, int k)
{
	size_t	i, off = 0;
	int	l = 1;

	for (i = 0; i < len && l < k; i++)
		if (d[i] == '\n') {
			l++;
			off = i + 1;
		}
	return off;
}

static void
test_audit_chain(void)
{
	struct audit_result	 res;
	struct audit		*a;
	struct audit_record	 r;
	uint8_t			*d;
	size_t			 len;

	d = audit_make("chain.log", 7, &len);
	CU_ASSERT_FATAL(d != NULL);
	CU_ASSERT(audit_verify(d, len, &res) == 0);
	CU_ASSERT(res.nrecords == 7 && res.last_seq == 7);
	free(d);
	/* Reopen continues the chain. */
	CU_ASSERT_FATAL(audit_open(&a, audit_path("chain.log")) == 0);
	CU_ASSERT(audit_count(a) == 7);
	memset(&r, 0, sizeof(r));
	memcpy(r.service, SVC, sizeof(r.service));
	r.kind = AUDIT_KIND_DESC;
	CU_ASSERT(audit_append(a, &r) == 0 && r.seq == 8);
	audit_close(a);
	CU_ASSERT(audit_verify_file(audit_path("chain.log"), &res) == 0);
	CU_ASSERT(res.nrecords == 8);
	/* Empty log is fine. */
	CU_ASSERT(audit_verify((const uint8_t *)"", 0, &res) == 0);
	CU_ASSERT(res.nrecords == 0);
}

static void
test_audit_flipped(void)
{
	struct audit_result	 res;
	uint8_t			*d;
	size_t			 len, off;

	d = audit_make("flip.log", 6, &len);
	CU_ASSERT_FATAL(d != NULL);
	/* Flip a digit of record 4's digest. */
	off = line_off(d, len, 4) + 30;
	d[off] = d[off] == '1' ? '2' : '1';
	CU_ASSERT(audit_verify(d, len, &res) == -1);
	CU_ASSERT(res.fault == AUDIT_HASH);
	CU_ASSERT(res.bad_line == 4 && res.bad_seq == 4);
	CU_ASSERT(res.nrecords == 3);
	free(d);
}

static void
test_audit_deleted(void)
{
	struct audit_result	 res;
	uint8_t			*d;
	size_t			 len, a, b;

	d = audit_make("del.log", 6, &len);
	CU_ASSERT_FATAL(d != NULL);
	/* Cut record 3 out. */
	a = line_off(d, len, 3);
	b = line_off(d, len, 4);
	memmove(d + a, d + b, len - b);
	len -= b - a;
	CU_ASSERT(audit_verify(d, len, &res) == -1);
	CU_ASSERT(res.fault == AUDIT_SEQ);
	CU_ASSERT(res.bad_line == 3 && res.bad_seq == 3);
	free(d);
}

static void
test_audit_truncated(void)
{
	struct audit_result	 res;
	uint8_t			*d;
	size_t			 len;

	d = audit_make("trunc.log", 5, &len);
	CU_ASSERT_FATAL(d != NULL);
	/* The last record loses its tail: no newline. */
	CU_ASSERT(audit_verify(d, len - 10, &res) == -1);
	CU_ASSERT(res.fault == AUDIT_TRUNCATED);
	CU_ASSERT(res.bad_line == 5 && res.bad_seq == 5);
	/* Cut in the middle of a field but keep a newline. */
	d[line_off(d, len, 5) + 20] = '\n';
	CU_ASSERT(audit_verify(d, line_off(d, len, 5) + 21, &res) == -1);
	CU_ASSERT(res.fault == AUDIT_TRUNCATED || res.fault == AUDIT_SYNTAX);
	CU_ASSERT(res.bad_line == 5);
	free(d);
}

/* A prev field rewritten with a valid-looking hash of its own. */
static void
test_audit_open_refuses(void)
{
	struct audit	*a;
	uint8_t		*d;
	size_t		 len, off;
	FILE		*f;

	d = audit_make("bad.log", 4, &len);
	CU_ASSERT_FATAL(d != NULL);
	off = line_off(d, len, 2) + 2;
	d[off] ^= 1;
	CU_ASSERT_FATAL((f = fopen(audit_path("bad.log"), "w")) != NULL);
	CU_ASSERT(fwrite(d, 1, len, f) == len);
	fclose(f);
	CU_ASSERT(audit_open(&a, audit_path("bad.log")) == -1);
	free(d);
}

static void
audit_rec(struct audit_record *r, int i)
{
	memset(r, 0, sizeof(*r));
	r->time = 1700000000 + i;
	memcpy(r->service, SVC, sizeof(r->service));
	r->tp = 19000;
	r->kind = AUDIT_KIND_CERT09;
	memset(r->digest, i, sizeof(r->digest));
	r->uid = 1000;
	r->pid = 4242;
}

/*
 * Group commit: records written without fsync are in the file, in the
 * chain, and counted as pending until one commit covers them all.
 */
static void
test_audit_group(void)
{
	struct audit_result	 res;
	struct audit		*a;
	struct audit_record	 r;
	const char		*path = audit_path("group.log");
	int			 i;

	(void)unlink(path);
	CU_ASSERT_FATAL(audit_open(&a, path) == 0);
	CU_ASSERT(audit_pending(a) == 0);
	CU_ASSERT(audit_commit(a) == 0);	/* nothing to do */
	for (i = 0; i < 5; i++) {
		audit_rec(&r, i);
		CU_ASSERT_FATAL(audit_write(a, &r) == 0);
		CU_ASSERT(r.seq == (uint64_t)i + 1);
		CU_ASSERT(audit_pending(a) == (uint64_t)i + 1);
	}
	CU_ASSERT(audit_count(a) == 5);
	/* Written, so another process (or a restart) reads them. */
	CU_ASSERT(audit_verify_file(path, &res) == 0 && res.nrecords == 5);
	CU_ASSERT(audit_commit(a) == 0);
	CU_ASSERT(audit_pending(a) == 0);
	audit_rec(&r, 5);
	CU_ASSERT(audit_append(a, &r) == 0 && r.seq == 6);
	CU_ASSERT(audit_pending(a) == 0);
	audit_close(a);
	/* The chain continues across a reopen. */
	CU_ASSERT_FATAL(audit_open(&a, path) == 0);
	CU_ASSERT(audit_count(a) == 6 && audit_pending(a) == 0);
	audit_rec(&r, 6);
	CU_ASSERT(audit_write(a, &r) == 0 && r.seq == 7);
	CU_ASSERT(audit_commit(a) == 0);
	audit_close(a);
	CU_ASSERT(audit_verify_file(path, &res) == 0 && res.nrecords == 7);
}

/*
 * A write that fails half way (the file size limit here) closes the log
 * for good: later writes and commits fail, so the signer withholds every
 * uncommitted signature, and the torn record is what verify reports.
 */
static void
test_audit_write_fails(void)
{
	struct audit_result	 res;
	struct audit		*a;
	struct audit_record	 r;
	struct rlimit		 rl;
	struct stat		 st;
	const char		*path = audit_path("torn.log");
	pid_t			 pid;
	int			 i, st_child, bad = 0;

	(void)unlink(path);
	CU_ASSERT_FATAL(audit_open(&a, path) == 0);
	for (i = 0; i < 3; i++) {
		audit_rec(&r, i);
		CU_ASSERT_FATAL(audit_append(a, &r) == 0);
	}
	CU_ASSERT_FATAL(stat(path, &st) == 0);
	fflush(NULL);
	pid = fork();
	CU_ASSERT_FATAL(pid != -1);
	if (pid == 0) {
		/* Room for 10 bytes more: the next record is torn. */
		signal(SIGXFSZ, SIG_IGN);
		rl.rlim_cur = rl.rlim_max = (rlim_t)st.st_size + 10;
		if (setrlimit(RLIMIT_FSIZE, &rl) == -1)
			_exit(10);
		audit_rec(&r, 3);
		if (audit_write(a, &r) != -1)
			bad |= 1;
		if (audit_commit(a) != -1)
			bad |= 2;
		audit_rec(&r, 4);
		if (audit_write(a, &r) != -1)
			bad |= 4;
		_exit(bad);
	}
	CU_ASSERT(waitpid(pid, &st_child, 0) == pid);
	CU_ASSERT(WIFEXITED(st_child) && WEXITSTATUS(st_child) == 0);
	audit_close(a);
	CU_ASSERT(audit_verify_file(path, &res) == -1);
	CU_ASSERT(res.fault == AUDIT_TRUNCATED);
	CU_ASSERT(res.nrecords == 3 && res.bad_seq == 4);
}

/* --- The revision floor journal (common/floors.c). --- */

static void
fkey(uint8_t k[ED25519_PK_LEN], int i)
{
	memset(k, 0, ED25519_PK_LEN);
	k[0] = (uint8_t)i;
	k[31] = 0xa5;
}

/*
 * The digest is BLAKE2b-256 of the signed bytes: checked against
 * coreutils' independent implementation (printf abc | b2sum -l 256),
 * and written tagged.
 */
static void
test_audit_digest(void)
{
	static const char	 abc_b2[] = "bddd813c634239723171ef3fee98579b"
				    "94964e3bb1cb3e427262c8c068d52319";
	struct audit		*a;
	struct audit_record	 r;
	struct audit_result	 res;
	const char		*path = audit_path("digest.log");
	char			 hx[2 * SHA3_256_LEN + 1], want[80];
	uint8_t			 d[SHA3_256_LEN], *data;
	size_t			 len;

	CU_ASSERT_FATAL(audit_digest(d, "abc", 3) == 0);
	CU_ASSERT_FATAL(hex_encode(hx, sizeof(hx), d, sizeof(d), 0) == 0);
	CU_ASSERT_STRING_EQUAL(hx, abc_b2);

	(void)unlink(path);
	CU_ASSERT_FATAL(audit_open(&a, path) == 0);
	memset(&r, 0, sizeof(r));
	r.time = 1700000000;
	memcpy(r.service, SVC, sizeof(r.service));
	r.tp = 19000;
	r.kind = AUDIT_KIND_DESC;
	memcpy(r.digest, d, sizeof(d));
	CU_ASSERT_FATAL(audit_append(a, &r) == 0);
	audit_close(a);
	data = test_read_file(path, &len);
	CU_ASSERT_FATAL(data != NULL);
	(void)snprintf(want, sizeof(want), " desc b2:%s ", abc_b2);
	CU_ASSERT(memmem(data, len, want, strlen(want)) != NULL);
	CU_ASSERT(audit_verify(data, len, &res) == 0 && res.nrecords == 1);
	free(data);
}

/* One record in the untagged SHA3-256 form of earlier logs, chain hash
 * made here independently of audit_write(); prev NULL: all zeros. */
static size_t
audit_old_record(char *line, size_t sz, uint64_t seq,
    const uint8_t prev[SHA3_256_LEN])
{
	struct ob_iov	 iov[2];
	uint8_t		 h[SHA3_256_LEN];
	char		 hx[2 * SHA3_256_LEN + 1], dig[65], ph[65];
	int		 n;

	memset(dig, '5', 64);
	memset(ph, '0', 64);
	dig[64] = ph[64] = '\0';
	if (prev != NULL)
		CU_ASSERT_FATAL(hex_encode(ph, sizeof(ph), prev, SHA3_256_LEN,
		    0) == 0);
	n = snprintf(line, sz, "%" PRIu64 " 1700000000 %s 19000 desc %s "
	    "1000 4242 %s ", seq, SVC, dig, ph);
	CU_ASSERT_FATAL(n > 0 && (size_t)n + 2 * SHA3_256_LEN + 2 < sz);
	iov[0].p = AUDIT_HASH_PREFIX;
	iov[0].n = sizeof(AUDIT_HASH_PREFIX);
	iov[1].p = line;
	iov[1].n = (size_t)n;
	CU_ASSERT_FATAL(ob_sha3_256(h, iov, 2) == 0);
	CU_ASSERT_FATAL(hex_encode(hx, sizeof(hx), h, sizeof(h), 0) == 0);
	(void)snprintf(line + n, sz - (size_t)n, "%s\n", hx);
	return strlen(line);
}

/*
 * A log begun before the tag existed goes on with tagged records and
 * verifies whole; dropping a tag, a wrong tag or a short digest do not.
 */
static void
test_audit_old_records(void)
{
	struct audit		*a;
	struct audit_record	 r;
	struct audit_result	 res;
	const char		*path = audit_path("old.log");
	char			 line[AUDIT_LINE_MAX], *t;
	uint8_t			*data, *more;
	size_t			 len, n, m;
	int			 fd;

	(void)unlink(path);
	n = audit_old_record(line, sizeof(line), 1, NULL);
	CU_ASSERT_FATAL((fd = open(path, O_WRONLY | O_CREAT | O_EXCL,
	    0600)) != -1);
	CU_ASSERT_FATAL(write(fd, line, n) == (ssize_t)n);
	close(fd);
	CU_ASSERT_FATAL(audit_open(&a, path) == 0);
	CU_ASSERT(audit_count(a) == 1);
	memset(&r, 0, sizeof(r));
	r.time = 1700000001;
	memcpy(r.service, SVC, sizeof(r.service));
	r.tp = 19000;
	r.kind = AUDIT_KIND_CERT09;
	CU_ASSERT_FATAL(audit_digest(r.digest, "x", 1) == 0);
	CU_ASSERT_FATAL(audit_append(a, &r) == 0 && r.seq == 2);
	audit_close(a);
	data = test_read_file(path, &len);
	CU_ASSERT_FATAL(data != NULL && len > n);
	CU_ASSERT(audit_verify(data, len, &res) == 0 && res.nrecords == 2);

	/* An untagged record after a tagged one, its hashes right: a log
	 * never goes back to the old form, so it is malformed. */
	m = audit_old_record(line, sizeof(line), 3, res.last_hash);
	CU_ASSERT_FATAL((more = malloc(len + m)) != NULL);
	memcpy(more, data, len);
	memcpy(more + len, line, m);
	CU_ASSERT(audit_verify(more, len + m, &res) == -1 &&
	    res.fault == AUDIT_SYNTAX && res.bad_line == 3);
	free(more);

	/* The second record without its tag: its hash no longer matches. */
	t = memmem(data + n, len - n, " b2:", 4);
	CU_ASSERT_FATAL(t != NULL);
	memmove(t + 1, t + 4, len - (size_t)(t + 4 - (char *)data));
	CU_ASSERT(audit_verify(data, len - 3, &res) == -1 &&
	    res.fault == AUDIT_HASH && res.bad_line == 2);
	free(data);

	/* Another tag, or a digest one digit short, is malformed. */
	data = test_read_file(path, &len);
	CU_ASSERT_FATAL(data != NULL);
	t = memmem(data + n, len - n, " b2:", 4);
	CU_ASSERT_FATAL(t != NULL);
	t[2] = '3';
	CU_ASSERT(audit_verify(data, len, &res) == -1 &&
	    res.fault == AUDIT_SYNTAX && res.bad_line == 2);
	t[2] = '2';
	memmove(t + 4, t + 5, len - (size_t)(t + 5 - (char *)data));
	CU_ASSERT(audit_verify(data, len - 1, &res) == -1 &&
	    res.fault == AUDIT_SYNTAX && res.bad_line == 2);
	free(data);
}

/* A fresh journal with floors 1 -> 9, 2 -> 7 over 4 records. */
static const char *
floors_make(const char *name)
{
	struct floors	*fl;
	const char	*path = audit_path(name);
	uint8_t		 k1[32], k2[32];

	(void)unlink(path);
	fkey(k1, 1);
	fkey(k2, 2);
	CU_ASSERT_FATAL(floors_open(&fl, path) == 0);
	CU_ASSERT(floors_count(fl) == 0 && floors_get(fl, k1) == 0);
	CU_ASSERT(floors_raise(fl, SVC, 100, k1, 5) == 0);
	CU_ASSERT(floors_raise(fl, SVC, 100, k2, 7) == 0);
	CU_ASSERT(floors_raise(fl, SVC, 100, k1, 9) == 0);
	CU_ASSERT(floors_pending(fl) == 3);
	CU_ASSERT(floors_commit(fl) == 0);
	CU_ASSERT(floors_pending(fl) == 0);
	/* A lower counter never lowers a floor. */
	CU_ASSERT(floors_raise(fl, SVC, 100, k1, 3) == 0);
	CU_ASSERT(floors_get(fl, k1) == 9);
	CU_ASSERT(floors_commit(fl) == 0);
	CU_ASSERT(floors_journal_records(fl) == 4);
	floors_close(fl);
	return path;
}

static void
floors_append(const char *path, const void *p, size_t n)
{
	int	fd;

	CU_ASSERT_FATAL((fd = open(path, O_WRONLY | O_APPEND)) != -1);
	CU_ASSERT(write(fd, p, n) == (ssize_t)n);
	close(fd);
}

static void
test_floors_replay(void)
{
	struct floors	*fl;
	const char	*path = floors_make("floors-replay");
	uint8_t		 k1[32], k2[32], k3[32];

	fkey(k1, 1);
	fkey(k2, 2);
	fkey(k3, 3);
	CU_ASSERT_FATAL(floors_open(&fl, path) == 0);
	CU_ASSERT(floors_get(fl, k1) == 9);
	CU_ASSERT(floors_get(fl, k2) == 7);
	CU_ASSERT(floors_get(fl, k3) == 0);
	CU_ASSERT(floors_count(fl) == 2);
	CU_ASSERT(floors_journal_records(fl) == 4);
	CU_ASSERT(!floors_had_torn_tail(fl));
	/* Bad names are refused, not written. */
	CU_ASSERT(floors_raise(fl, "short", 100, k3, 1) == -1);
	CU_ASSERT(floors_raise(fl, SVC "a", 100, k3, 1) == -1);
	CU_ASSERT(floors_pending(fl) == 0);
	floors_close(fl);
}

/* A crash mid-write leaves a partial last line, or zeros: ignored with a
 * warning, and rewritten away by the next commit. */
static void
test_floors_torn(void)
{
	struct floors	*fl;
	const char	*path;
	uint8_t		 k1[32], k2[32], zeros[100], *data;
	size_t		 len;
	int		 pass;

	fkey(k1, 1);
	fkey(k2, 2);
	memset(zeros, 0, sizeof(zeros));
	for (pass = 0; pass < 2; pass++) {
		path = floors_make("floors-torn");
		if (pass == 0)
			floors_append(path, SVC " 100 0101",
			    strlen(SVC " 100 0101"));
		else
			floors_append(path, zeros, sizeof(zeros));
		CU_ASSERT_FATAL(floors_open(&fl, path) == 0);
		CU_ASSERT(floors_had_torn_tail(fl));
		CU_ASSERT(floors_get(fl, k1) == 9 && floors_get(fl, k2) == 7);
		/* Nothing queued, but the tail must go before appending. */
		CU_ASSERT(floors_commit(fl) == 0);
		CU_ASSERT(floors_journal_records(fl) == 2);
		CU_ASSERT(floors_raise(fl, SVC, 100, k2, 11) == 0);
		CU_ASSERT(floors_commit(fl) == 0);
		floors_close(fl);
		data = test_read_file(path, &len);
		CU_ASSERT_FATAL(data != NULL);
		CU_ASSERT(len > 0 && data[len - 1] == '\n' &&
		    memchr(data, '\0', len) == NULL);
		free(data);
		CU_ASSERT_FATAL(floors_open(&fl, path) == 0);
		CU_ASSERT(!floors_had_torn_tail(fl));
		CU_ASSERT(floors_get(fl, k1) == 9 && floors_get(fl, k2) == 11);
		floors_close(fl);
	}
}

/* Damage anywhere but a torn tail stops the open: a floor read low could
 * sign a counter twice. */
static void
test_floors_damaged(void)
{
	struct floors	*fl;
	const char	*path;
	uint8_t		*data;
	char		*sp;
	size_t		 len;
	int		 fd;

	/* One digit of the first record's revision changed. */
	path = floors_make("floors-damaged");
	data = test_read_file(path, &len);
	CU_ASSERT_FATAL(data != NULL && len > 0);
	sp = strchr((char *)data, '\n');
	CU_ASSERT_FATAL(sp != NULL);
	while (*sp != ' ')
		sp--;		/* before the check */
	sp--;			/* last digit of the revision */
	*sp = *sp == '5' ? '4' : '5';
	CU_ASSERT_FATAL((fd = open(path, O_WRONLY | O_TRUNC)) != -1);
	CU_ASSERT(write(fd, data, len) == (ssize_t)len);
	close(fd);
	free(data);
	CU_ASSERT(floors_open(&fl, path) == -1);

	/* A whole last line (with its newline) that does not parse. */
	path = floors_make("floors-damaged");
	floors_append(path, "garbage\n", 8);
	CU_ASSERT(floors_open(&fl, path) == -1);
	/* Nor does a torn line followed by good ones. */
	path = floors_make("floors-damaged");
	data = test_read_file(path, &len);
	CU_ASSERT_FATAL(data != NULL);
	CU_ASSERT_FATAL((fd = open(path, O_WRONLY | O_TRUNC)) != -1);
	CU_ASSERT(write(fd, "x\0y", 3) == 3);
	CU_ASSERT(write(fd, data, len) == (ssize_t)len);
	close(fd);
	free(data);
	CU_ASSERT(floors_open(&fl, path) == -1);
}

/* The journal is rewritten once it grows past its bound, and the floors
 * of periods long over are dropped then. */
static void
test_floors_compact(void)
{
	struct floors	*fl;
	struct stat	 st;
	const char	*path = audit_path("floors-compact");
	uint8_t		 k1[32], k2[32], k3[32];
	uint64_t	 i;

	(void)unlink(path);
	fkey(k1, 1);
	fkey(k2, 2);
	fkey(k3, 3);
	CU_ASSERT_FATAL(floors_open(&fl, path) == 0);
	CU_ASSERT(floors_raise(fl, SVC, 10, k3, 77) == 0);
	CU_ASSERT(floors_commit(fl) == 0);
	for (i = 1; i <= 1500; i++)
		CU_ASSERT_FATAL(floors_raise(fl, SVC, 20, k1, i) == 0);
	CU_ASSERT(floors_raise(fl, SVC, 20, k2, 5) == 0);
	CU_ASSERT(floors_commit(fl) == 0);
	/* One record per floor, not 1502. */
	CU_ASSERT(floors_journal_records(fl) == 3);
	CU_ASSERT(stat(path, &st) == 0 && st.st_size < 3 * FLOORS_LINE_MAX);
	floors_forget_before(fl, 15);
	CU_ASSERT(floors_get(fl, k3) == 77);	/* until the rewrite */
	CU_ASSERT(floors_compact(fl) == 0);
	CU_ASSERT(floors_get(fl, k3) == 0);
	CU_ASSERT(floors_count(fl) == 2 && floors_journal_records(fl) == 2);
	floors_close(fl);
	CU_ASSERT_FATAL(floors_open(&fl, path) == 0);
	CU_ASSERT(floors_get(fl, k1) == 1500);
	CU_ASSERT(floors_get(fl, k2) == 5);
	CU_ASSERT(floors_get(fl, k3) == 0);
	floors_close(fl);
}

/*
 * kill -9 between rounds loses nothing committed: a child commits five
 * rounds, raises a sixth without committing, and is killed; what it
 * committed is all there, and nothing breaks on what it did not.
 */
static void
test_floors_kill9(void)
{
	struct floors	*fl;
	const char	*path = audit_path("floors-kill9");
	uint8_t		 k1[32], k2[32];
	pid_t		 pid;
	int		 st, r;

	(void)unlink(path);
	fkey(k1, 1);
	fkey(k2, 2);
	fflush(NULL);
	pid = fork();
	CU_ASSERT_FATAL(pid != -1);
	if (pid == 0) {
		if (floors_open(&fl, path) == -1)
			_exit(1);
		for (r = 1; r <= 5; r++)
			if (floors_raise(fl, SVC, 100, k1, 10 * r) == -1 ||
			    floors_raise(fl, SVC, 100, k2, 10 * r + 1) == -1 ||
			    floors_commit(fl) == -1)
				_exit(2);
		if (floors_raise(fl, SVC, 100, k1, 1000) == -1)
			_exit(3);
		kill(getpid(), SIGKILL);
		_exit(4);
	}
	CU_ASSERT_FATAL(waitpid(pid, &st, 0) == pid);
	CU_ASSERT(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	CU_ASSERT_FATAL(floors_open(&fl, path) == 0);
	CU_ASSERT(floors_get(fl, k1) == 50);
	CU_ASSERT(floors_get(fl, k2) == 51);
	CU_ASSERT(floors_journal_records(fl) == 10);
	floors_close(fl);
}

/* A failed commit (disk full) is reported, the journal is never appended
 * to after it, and the next commit rewrites it whole. */
static void
test_floors_commit_fails(void)
{
	struct floors	*fl;
	struct rlimit	 rl, old;
	const char	*path = floors_make("floors-fail");
	uint8_t		 k1[32], k2[32];
	pid_t		 pid;
	int		 st_child, bad = 0;

	fkey(k1, 1);
	fkey(k2, 2);
	fflush(NULL);
	pid = fork();
	CU_ASSERT_FATAL(pid != -1);
	if (pid == 0) {
		signal(SIGXFSZ, SIG_IGN);
		if (floors_open(&fl, path) == -1 ||
		    getrlimit(RLIMIT_FSIZE, &old) == -1)
			_exit(10);
		/* Below the file and below its rewrite. */
		rl = old;
		rl.rlim_cur = 100;
		if (setrlimit(RLIMIT_FSIZE, &rl) == -1)
			_exit(11);
		if (floors_raise(fl, SVC, 100, k1, 20) == -1)
			_exit(12);
		if (floors_commit(fl) != -1)
			bad |= 1;
		/* Still full: the rewrite fails too. */
		if (floors_raise(fl, SVC, 100, k2, 30) == -1 ||
		    floors_commit(fl) != -1)
			bad |= 2;
		if (setrlimit(RLIMIT_FSIZE, &old) == -1)
			_exit(13);
		if (floors_commit(fl) != 0)
			bad |= 4;
		_exit(bad);
	}
	CU_ASSERT(waitpid(pid, &st_child, 0) == pid);
	CU_ASSERT(WIFEXITED(st_child) && WEXITSTATUS(st_child) == 0);
	CU_ASSERT_FATAL(floors_open(&fl, path) == 0);
	CU_ASSERT(!floors_had_torn_tail(fl));
	CU_ASSERT(floors_get(fl, k1) == 20 && floors_get(fl, k2) == 30);
	CU_ASSERT(floors_journal_records(fl) == 2);
	floors_close(fl);
}

/* A journal image in memory replays as the file does, and stays there. */
static void
test_floors_mem(void)
{
	struct floors	*fl;
	const char	*path = floors_make("floors-mem");
	uint8_t		 k1[32], k2[32], *data, *img;
	size_t		 len;

	fkey(k1, 1);
	fkey(k2, 2);
	data = test_read_file(path, &len);
	CU_ASSERT_FATAL(data != NULL && len > 0);
	CU_ASSERT_FATAL(floors_open_mem(&fl, data, len) == 0);
	CU_ASSERT(floors_get(fl, k1) == 9 && floors_get(fl, k2) == 7);
	CU_ASSERT(floors_journal_records(fl) == 4);
	CU_ASSERT(!floors_had_torn_tail(fl));
	CU_ASSERT(floors_raise(fl, SVC, 100, k2, 8) == 0);
	CU_ASSERT(floors_get(fl, k2) == 8);
	CU_ASSERT(floors_commit(fl) == -1);
	CU_ASSERT(floors_compact(fl) == -1);
	floors_close(fl);
	/* Without its last '\n' the last record is torn: k1 stays 9 only
	 * because an earlier record says so. */
	CU_ASSERT_FATAL(floors_open_mem(&fl, data, len - 1) == 0);
	CU_ASSERT(floors_had_torn_tail(fl));
	CU_ASSERT(floors_journal_records(fl) == 3);
	CU_ASSERT(floors_get(fl, k1) == 9 && floors_get(fl, k2) == 7);
	floors_close(fl);
	/* One byte changed in the first record stops it. */
	CU_ASSERT_FATAL((img = malloc(len)) != NULL);
	memcpy(img, data, len);
	img[0] = img[0] == 'a' ? 'b' : 'a';
	CU_ASSERT(floors_open_mem(&fl, img, len) == -1);
	CU_ASSERT(fl == NULL);
	CU_ASSERT(floors_open_mem(&fl, NULL, 0) == 0);
	CU_ASSERT(fl != NULL && floors_count(fl) == 0);
	floors_close(fl);
	free(img);
	free(data);
}

/*
 * One signer per journal: a second open fails while the first holds it,
 * before and after a compaction replaced the file, and succeeds once it
 * is closed.
 */
static void
test_floors_locked(void)
{
	struct floors	*fl, *fl2 = NULL;
	const char	*path = floors_make("floors-locked");
	uint8_t		 k1[32];

	fkey(k1, 1);
	CU_ASSERT_FATAL(floors_open(&fl, path) == 0);
	CU_ASSERT(floors_open(&fl2, path) == -1 && fl2 == NULL);
	CU_ASSERT(floors_raise(fl, SVC, 100, k1, 12) == 0);
	CU_ASSERT(floors_compact(fl) == 0);
	CU_ASSERT(floors_open(&fl2, path) == -1 && fl2 == NULL);
	CU_ASSERT(floors_raise(fl, SVC, 100, k1, 13) == 0);
	CU_ASSERT(floors_commit(fl) == 0);
	floors_close(fl);
	CU_ASSERT_FATAL(floors_open(&fl2, path) == 0);
	CU_ASSERT(floors_get(fl2, k1) == 13);
	floors_close(fl2);
}

/* A service spelled in capitals (tor takes either case) is recorded in
 * lower case and reads back; other names are still refused. */
static void
test_floors_case(void)
{
	struct floors	*fl;
	const char	*path = floors_make("floors-case");
	char		 up[sizeof(SVC)];
	uint8_t		 k3[32], *data;
	size_t		 i, len;

	fkey(k3, 3);
	for (i = 0; i < sizeof(SVC); i++)
		up[i] = (SVC[i] >= 'a' && SVC[i] <= 'z') ?
		    (char)(SVC[i] - 'a' + 'A') : SVC[i];
	CU_ASSERT_FATAL(floors_open(&fl, path) == 0);
	CU_ASSERT(floors_raise(fl, up, 100, k3, 44) == 0);
	up[3] = '1';	/* not base32 */
	CU_ASSERT(floors_raise(fl, up, 100, k3, 45) == -1);
	CU_ASSERT(floors_commit(fl) == 0);
	floors_close(fl);
	data = test_read_file(path, &len);
	CU_ASSERT_FATAL(data != NULL);
	for (i = 0; i < len; i++)
		CU_ASSERT_FATAL(!(data[i] >= 'A' && data[i] <= 'Z'));
	free(data);
	CU_ASSERT_FATAL(floors_open(&fl, path) == 0);
	CU_ASSERT(floors_get(fl, k3) == 44);
	floors_close(fl);
}

static const struct test_case audit_tests[] = {
	{ "chain",		test_audit_chain },
	{ "flipped",		test_audit_flipped },
	{ "deleted",		test_audit_deleted },
	{ "truncated",		test_audit_truncated },
	{ "open_refuses",	test_audit_open_refuses },
	{ "group",		test_audit_group },
	{ "write_fails",	test_audit_write_fails },
	{ "digest",		test_audit_digest },
	{ "old_records",	test_audit_old_records },
	{ "floors_replay",	test_floors_replay },
	{ "floors_torn",	test_floors_torn },
	{ "floors_damaged",	test_floors_damaged },
	{ "floors_compact",	test_floors_compact },
	{ "floors_kill9",	test_floors_kill9 },
	{ "floors_commit_fails", test_floors_commit_fails },
	{ "floors_mem",		test_floors_mem },
	{ "floors_locked",	test_floors_locked },
	{ "floors_case",	test_floors_case },
	{ NULL, NULL }
};

void
test_register_audit(void)
{
	test_add_suite("audit", audit_tests);
}
