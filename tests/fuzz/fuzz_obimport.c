/*
 * libFuzzer target: the collector's configuration readers, both fed
 * hostile text: collector/ob_import.c (OnionBalance's config.yaml) and
 * collector/conf.c (obhsm-collector.conf through libconfuse, then our
 * checks).  The first byte picks the parser.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "collector.h"
#include "crypto.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static int	 init;
	struct buf	*out;
	struct conf	 cf;
	char		*text;

	if (!init) {
		if (ob_crypto_init() != 0)
			abort();
		log_init("fuzz_obimport", -1, 0);
		init = 1;
	}
	if (len < 1)
		return 0;
	if (data[0] & 1) {
		if ((out = buf_new(0)) == NULL)
			return 0;
		/* No directory: relative key paths stay unresolved. */
		(void)ob_import(out, (const char *)data + 1, len - 1, NULL);
		buf_free(out);
		return 0;
	}
	if ((text = malloc(len)) == NULL)
		return 0;
	memcpy(text, data + 1, len - 1);
	text[len - 1] = '\0';
	memset(&cf, 0, sizeof(cf));
	if (conf_load_string(&cf, text) == 0)
		conf_clear(&cf);
	free(text);
	return 0;
}
