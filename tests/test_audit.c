/* Tests for common/audit.c: the chain verifies; each kind of damage is
 * pinpointed; a damaged log is refused at open. */
#include "config.h"

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
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

static const struct test_case audit_tests[] = {
	{ "chain",		test_audit_chain },
	{ "flipped",		test_audit_flipped },
	{ "deleted",		test_audit_deleted },
	{ "truncated",		test_audit_truncated },
	{ "open_refuses",	test_audit_open_refuses },
	{ "group",		test_audit_group },
	{ "write_fails",	test_audit_write_fails },
	{ NULL, NULL }
};

void
test_register_audit(void)
{
	test_add_suite("audit", audit_tests);
}
