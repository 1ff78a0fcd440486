/* libFuzzer target: the text and binary getters of common/buf.c. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct buf	b, line, word;
	uint64_t	v;
	uint32_t	u;

	buf_init_ro(&b, data, len);
	while (buf_get_line(&b, 4096, &line, NULL) == 0) {
		while (buf_get_word(&line, &word) == 0)
			if (buf_to_u64(&word, &v) == 0 && v == 0)
				break;
		if (buf_get_u32(&b, &u) != 0)
			break;
	}
	return 0;
}
