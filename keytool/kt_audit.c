/* obhsm-keytool audit verify FILE; see kt_audit.h. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "encode.h"
#include "kt_audit.h"

static int
kt_audit_usage(void)
{
	fprintf(stderr, "usage: obhsm-keytool audit verify FILE\n");
	return 2;
}

int
kt_audit_main(int argc, char **argv)
{
	struct audit_result	res;
	char			hx[2 * SHA3_256_LEN + 1];

	if (argc != 3 || strcmp(argv[0], "audit") != 0 ||
	    strcmp(argv[1], "verify") != 0)
		return kt_audit_usage();
	if (audit_verify_file(argv[2], &res) != 0) {
		if (res.fault == AUDIT_IO) {
			fprintf(stderr, "audit verify: %s\n", res.detail);
			return 1;
		}
		fprintf(stderr, "audit verify: %s: line %" PRIu64 ": %s "
		    "(expected record %" PRIu64 "; %" PRIu64 " good records "
		    "before it): %s\n", argv[2], res.bad_line,
		    audit_fault_name(res.fault), res.bad_seq, res.nrecords,
		    res.detail);
		return 1;
	}
	if (hex_encode(hx, sizeof(hx), res.last_hash, sizeof(res.last_hash),
	    0) != 0)
		hx[0] = '\0';
	printf("%s: %" PRIu64 " records, chain intact, last hash %s\n",
	    argv[2], res.nrecords, hx);
	return 0;
}
