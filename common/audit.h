/*
 * The signer's audit log: append-only, hash-chained, one record per
 * token signature.
 *
 * The file is text, one record per line, fields separated by one space:
 *
 *	seq time service tp kind digest uid pid prev hash
 *
 *	seq	decimal, 1 for the first record, then +1
 *	time	unix seconds when the signature was made
 *	service	56-char onion address (no ".onion")
 *	tp	time period number
 *	kind	"desc" (descriptor), "cert09", "cert0b" (intro point certs)
 *	digest	"b2:" and the hex BLAKE2b-256 (unkeyed, 32-byte output:
 *		`b2sum -l 256`) of the exact bytes the token signed.
 *		Records written before the tag existed carry the hex
 *		SHA3-256 of those bytes, untagged; both verify.  The tag
 *		is covered by the record's hash: it cannot be switched.
 *	uid pid	the requesting peer (SO_PEERCRED)
 *	prev	hex hash of the previous record (64 zeros for the first)
 *	hash	hex SHA3-256("obhsm-audit-v1\0" | the line up to and
 *		including the space before "hash")
 *
 * A flipped byte breaks that record's hash; a deleted record breaks the
 * next one's seq and prev; a truncated record has too few fields or no
 * '\n'.  Deleting records at the tail cannot be seen from the file alone:
 * the signer returns each record's seq to the collector, which logs it.
 *
 * Records are written with one write() on an O_APPEND descriptor and
 * fsync'd before the signature is released, so a crash loses no record
 * of a signature that left the signer.  The fsync may be shared (group
 * commit): audit_write() several records, then one audit_commit(), and
 * release the signatures only once it returned 0.
 */
#ifndef OB_AUDIT_H
#define OB_AUDIT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "crypto.h"

#define AUDIT_LINE_MAX		512
#define AUDIT_FILE_MAX		(1024UL * 1024 * 1024)	/* verify cap */
#define AUDIT_HASH_PREFIX	"obhsm-audit-v1"	/* + its NUL */

/*
 * The digest tag of records written now.  BLAKE2b, not SHA3 as the
 * chain: three times as fast over a 14 kB descriptor (16 against 52 us
 * here), which is a twentieth of a steady descriptor's CPU, for the
 * same collision resistance.
 */
#define AUDIT_DIGEST_TAG	"b2:"

#define AUDIT_KIND_DESC		"desc"
#define AUDIT_KIND_CERT09	"cert09"
#define AUDIT_KIND_CERT0B	"cert0b"

struct audit_record {
	uint64_t	seq;		/* filled by audit_append() */
	time_t		time;
	char		service[57];
	uint64_t	tp;
	const char	*kind;		/* AUDIT_KIND_* */
	uint8_t		digest[SHA3_256_LEN];
	uid_t		uid;
	pid_t		pid;
};

/* Why verification stopped. */
enum audit_fault {
	AUDIT_OK = 0,
	AUDIT_TRUNCATED,	/* last line incomplete or fields missing */
	AUDIT_SYNTAX,		/* a field is malformed */
	AUDIT_SEQ,		/* seq is not previous + 1: records missing */
	AUDIT_PREV,		/* prev is not the previous record's hash */
	AUDIT_HASH,		/* the record's own hash does not match */
	AUDIT_IO,		/* the file cannot be read */
};

struct audit_result {
	enum audit_fault	fault;
	uint64_t		nrecords;	/* good ones before it */
	uint64_t		bad_line;	/* 1-based, or 0 */
	uint64_t		bad_seq;	/* seq expected there */
	uint64_t		last_seq;	/* last good record */
	uint8_t			last_hash[SHA3_256_LEN];
	char			detail[128];
};

struct audit;

/* The digest of a record: BLAKE2b-256 of the bytes the token signed. */
int	audit_digest(uint8_t out[SHA3_256_LEN], const void *, size_t)
	    __attribute__((warn_unused_result));

/*
 * Open (creating with mode 0600) and verify the existing log, to
 * continue its chain.  Refuses (-1, logged) a log that does not verify:
 * the operator must look at it before the signer signs again.
 */
int	audit_open(struct audit **, const char *path)
	    __attribute__((warn_unused_result));
void	audit_close(struct audit *);	/* NULL ok */
/* Append and fsync one record; fills r->seq.  0 or -1 (logged). */
int	audit_append(struct audit *, struct audit_record *)
	    __attribute__((warn_unused_result));
/*
 * Group commit.  audit_write() appends one record without fsync and
 * fills r->seq: the signature it covers must not leave the process yet.
 * audit_commit() makes every record written so far durable (a no-op when
 * none is pending); only after it returns 0 may their signatures be
 * released.  Any failure of either closes the log for good (the chain's
 * state on disk is unknown): later calls fail, and every signature whose
 * record was not committed must be discarded.  0 or -1 (logged).
 */
int	audit_write(struct audit *, struct audit_record *)
	    __attribute__((warn_unused_result));
int	audit_commit(struct audit *) __attribute__((warn_unused_result));
/* Records written but not yet committed. */
uint64_t audit_pending(const struct audit *);
uint64_t audit_count(const struct audit *);	/* last seq */

/*
 * Verify a whole log in memory or in a file.  0 when every record
 * verifies; otherwise -1 with res->fault, res->bad_line and res->bad_seq
 * naming the first broken or missing record.
 */
int	audit_verify(const uint8_t *, size_t, struct audit_result *)
	    __attribute__((warn_unused_result));
int	audit_verify_file(const char *, struct audit_result *)
	    __attribute__((warn_unused_result));
const char *audit_fault_name(enum audit_fault);

#endif /* OB_AUDIT_H */
