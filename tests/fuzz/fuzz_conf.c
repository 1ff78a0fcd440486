/*
 * libFuzzer target: obhsm-signer.conf, the signer's configuration,
 * through libconfuse and then every check signer_conf.c makes
 * (addresses, ranges, modes, paths).  A configuration is written by the
 * operator, but a typo must give an error, never a crash or a leak.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "log.h"
#include "signer.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static int		 init;
	struct signer_conf	*cf;
	char			*text;

	if (!init) {
		if (ob_crypto_init() != 0)
			abort();
		log_init("fuzz_conf", -1, 0);
		init = 1;
	}
	/* libconfuse reads a C string: stop at the first NUL, as a file
	 * read with it would not, but nothing after it is reachable. */
	if ((text = malloc(len + 1)) == NULL)
		return 0;
	memcpy(text, data, len);
	text[len] = '\0';
	if (signer_conf_load_string(&cf, text) == 0) {
		/* What parsed must hold what the checks promise. */
		if (cf->nservices == 0 || cf->nservices > SIGNER_MAX_SERVICES ||
		    cf->state_dir[0] != '/' || cf->audit_path[0] != '/' ||
		    cf->socket_path[0] != '/')
			abort();
		signer_conf_free(cf);
	}
	free(text);
	return 0;
}
