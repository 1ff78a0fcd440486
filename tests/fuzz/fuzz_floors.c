/*
 * libFuzzer target: the revision floor journal parser of common/floors.c
 * (floors_open_mem(), the replay floors_open() runs on the file).  Beyond
 * "no crash", it checks what the signer relies on after a crash: bytes
 * without a '\n' appended to any journal (a torn last record) never
 * change whether it opens nor what floors it holds.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "floors.h"
#include "log.h"

int LLVMFuzzerInitialize(int *, char ***);
int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (ob_crypto_init() != 0)
		abort();
	log_init("fuzz_floors", -1, 0);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static const char	 torn[] = "aaaaaaaaaaaaaaaaaaaaaaaa 17 0a";
	struct floors		*fl = NULL, *fl2 = NULL;
	uint8_t			*img, k[ED25519_PK_LEN];
	size_t			 i;
	int			 r, r2;

	if (len > 65536)
		return 0;
	r = floors_open_mem(&fl, data, len);
	if ((img = malloc(len + sizeof(torn))) == NULL)
		abort();
	if (len > 0)
		memcpy(img, data, len);
	memcpy(img + len, torn, sizeof(torn) - 1);
	r2 = floors_open_mem(&fl2, img, len + sizeof(torn) - 1);
	free(img);
	if ((r == 0) != (r2 == 0))
		abort();
	if (r == 0) {
		if (!floors_had_torn_tail(fl2) ||
		    floors_count(fl) != floors_count(fl2) ||
		    floors_journal_records(fl) !=
		    floors_journal_records(fl2))
			abort();
		/* Keys taken from the input: the floors found must agree. */
		for (i = 0; i + ED25519_PK_LEN <= len && i < 256; i += 7) {
			memcpy(k, data + i, ED25519_PK_LEN);
			if (floors_get(fl, k) != floors_get(fl2, k))
				abort();
		}
		/* Held in memory only: nothing may reach a file. */
		if (floors_commit(fl) != -1 || floors_compact(fl) != -1)
			abort();
	}
	floors_close(fl);
	floors_close(fl2);
	return 0;
}
