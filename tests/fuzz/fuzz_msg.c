/*
 * libFuzzer target: message framing and the typed getters of
 * common/msg.c, read in the shapes the signer reads (str, data with a
 * cap, fixed fields, msg_end).
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "msg.h"
#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct msg	m;
	struct buf	view;
	size_t		used, off = 0;
	uint8_t		fx[32], u8;
	uint16_t	u16;
	uint64_t	u64;
	char		s[PROTO_STR_MAX + 1];

	while (off < len) {
		if (msg_frame_parse(&m, &used, data + off, len - off) != 1)
			break;
		off += used;
		switch (m.type & 3) {
		case 0:
			(void)(msg_get_str(&m, s, sizeof(s)) == 0 &&
			    msg_get_u64(&m, &u64) == 0 &&
			    msg_get_data(&m, &view, PROTO_DESC_MAX) == 0 &&
			    msg_end(&m) == 0);
			break;
		case 1:
			if (msg_get_u8(&m, &u8) != 0)
				break;
			while (u8-- > 0 && msg_get_fixed(&m, fx,
			    sizeof(fx)) == 0)
				;
			(void)msg_end(&m);
			break;
		default:
			(void)(msg_error_get(&m, &u16, s, sizeof(s)) == 0);
			break;
		}
	}
	return 0;
}
