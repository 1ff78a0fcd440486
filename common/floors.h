/*
 * Revision floors: the highest revision counter signed for each blinded
 * key (one per service and time period), kept durable in one append-only
 * journal so that a restarted signer never signs a counter twice.
 *
 * The journal is text, one record per line, fields separated by one
 * space:
 *
 *	service tp blinded revision check
 *
 *	service		56-char onion address (no ".onion")
 *	tp		time period number (records of old periods are
 *			dropped at compaction, floors_forget_before())
 *	blinded		hex of the blinded key: the floor's identity
 *	revision	decimal, the last revision counter signed
 *	check		16 hex digits, the first 8 bytes of
 *			SHA3-256("obhsm-floors-v1\0" | the line up to and
 *			including the space before "check")
 *
 * A blinded key's floor is the largest revision among its records.
 *
 * Durability: floors_raise() updates the floor in memory and queues a
 * record; floors_commit() appends the queued records with one write()
 * and makes them durable with one fsync (group commit: one per signer
 * poll round, next to the audit log's).  A signature may leave the
 * signer only after the commit that covers its floor returned 0.  A
 * crash can therefore tear only records that were never committed, and
 * only at the end of the file: a last line without its '\n' is ignored
 * with a warning.  Anything else that does not parse stops the open:
 * guessing a floor low could sign a counter twice.
 *
 * The journal is rewritten from memory (temporary file, fsync, rename,
 * directory fsync) by floors_compact(), and by floors_commit() itself
 * when it has grown past a bound, or when an earlier commit failed (the
 * state of the file's tail is then unknown, so it is never appended to
 * again).
 */
#ifndef OB_FLOORS_H
#define OB_FLOORS_H

#include <stddef.h>
#include <stdint.h>

#include "hs_keys.h"

#define FLOORS_LINE_MAX		256
/*
 * A sanity bound only: the journal this code writes must always open
 * again.  It holds up to 2 * floors + 1024 records of ~150 bytes between
 * compactions, and a signer keeps the floors of SIGNER_FLOORS_KEEP
 * periods per service (3 today; 100,000 services at 31 floors each
 * would reach 900 MB).
 */
#define FLOORS_FILE_MAX		(2UL * 1024 * 1024 * 1024)
#define FLOORS_CHECK_PREFIX	"obhsm-floors-v1"	/* + its NUL */
#define FLOORS_SERVICE_LEN	56

struct floors;

/*
 * Open the journal at path (created, mode 0600, if missing), lock it
 * (flock, exclusive: one signer per state-dir), replay it, and keep it
 * open for appending.  0, or -1 (logged) for a journal that cannot be
 * read, is held by another process, or has a damaged record before its
 * last line.
 */
int	floors_open(struct floors **, const char *path)
	    __attribute__((warn_unused_result));
void	floors_close(struct floors *);		/* NULL ok */
/*
 * Replay a journal image held in memory, with the parser floors_open()
 * uses, into floors that cannot be written (its commits and compactions
 * fail): for tests and the fuzz target.  0, or -1 (logged) for an image
 * floors_open() would refuse.
 */
int	floors_open_mem(struct floors **, const uint8_t *, size_t)
	    __attribute__((warn_unused_result));

/* The floor of a blinded key: 0 when nothing was signed for it. */
uint64_t floors_get(const struct floors *, const uint8_t [ED25519_PK_LEN]);
/*
 * Raise a floor in memory (a lower revision leaves it as it is) and
 * queue its record for the next commit.  service must be 56 characters
 * of the base32 alphabet, in either case (recorded in lower case).  0 or
 * -1 (logged).
 */
int	floors_raise(struct floors *, const char *service, uint64_t tp,
	    const uint8_t [ED25519_PK_LEN], uint64_t revision)
	    __attribute__((warn_unused_result));
/* Records queued and not yet committed. */
size_t	floors_pending(const struct floors *);
/*
 * Make every raise so far durable: append and fsync, or compact (see
 * above).  A no-op when nothing is queued and no compaction is due.
 * 0, or -1 (logged): then none of the queued raises may be relied on,
 * and the next commit rewrites the whole journal.
 */
int	floors_commit(struct floors *) __attribute__((warn_unused_result));
/* Rewrite the journal from memory now; 0 or -1 (logged). */
int	floors_compact(struct floors *) __attribute__((warn_unused_result));
/*
 * From the next compaction on, drop the floors of periods before tp:
 * the signer refuses those periods anyway.  Kept in memory until then.
 */
void	floors_forget_before(struct floors *, uint64_t tp);
/* Floors held, and records appended since the last compaction. */
size_t	floors_count(const struct floors *);
size_t	floors_journal_records(const struct floors *);
/* Set when the open ignored a torn last record (for tests and logs). */
int	floors_had_torn_tail(const struct floors *);

#endif /* OB_FLOORS_H */
