/*
 * obhsm-p11proxy: PKCS#11 over one Unix stream socket, for tests and
 * "make bench" (doc/p11proxy.md).  The client module (p11proxy.c) is
 * what an application loads; the server (p11proxyd.c) loads the real
 * module in another process, so the token's memory is not counted as the
 * application's.  Only the calls hsm/ makes are carried.
 *
 * Wire: every message is a frame
 *	u32	length of what follows (<= P11P_MSG_MAX)
 *	u32	op (enum p11p_op)
 * then, in a request, the op's arguments, and in a reply
 *	u64	CK_RV
 *	u8	1 if the op's outputs follow, else 0
 *	...	outputs
 * A reply carries outputs exactly where its op says (p11proxy.c
 * checks each op's rule); one that does not ends the connection.
 * Integers are big-endian (buf.c); CK_ULONGs travel as u64, and one
 * beyond ULONG_MAX other than all-ones (CK_UNAVAILABLE_INFORMATION) is
 * refused.  Byte
 * strings are u32 length + bytes.  Attribute values are carried as
 * opaque bytes: client and server run on the same host and ABI, so a
 * CK_ULONG value (CKA_CLASS) has the same layout on both sides; the
 * INITIALIZE exchange checks that (version and sizeof(CK_ULONG)).
 * Attributes whose value is itself a template (CKF_ARRAY_ATTRIBUTE) and
 * mechanism parameters are not carried (no call of ours uses them).
 *
 * Templates, input (values the callee reads):
 *	u32 n (<= P11P_ATTRS_MAX), n x { u64 type, u8 has_value,
 *	u32 len, has_value ? len bytes : nothing }
 * Templates, query (C_GetAttributeValue):
 *	u32 n, n x { u64 type, u8 has_buffer, u64 buffer length }
 *	reply: u32 n, n x { u64 ulValueLen, u8 has_value,
 *	has_value ? bytes (u32 len + bytes) : nothing }
 */
#ifndef OB_P11PROXY_H
#define OB_P11PROXY_H

#include <p11-kit/pkcs11.h>

#include "buf.h"

#define P11P_VERSION	3	/* in INITIALIZE, both ways */
#define P11P_ENV_SOCKET	"OBHSM_P11PROXY_SOCKET"
#define P11P_MSG_MAX	(2U * 1024 * 1024)	/* one frame, either way */
#define P11P_ATTRS_MAX	64
#define P11P_VALUE_MAX	(64U * 1024)	/* one attribute value */
#define P11P_QUERY_MAX	(256U * 1024)	/* sum of queried buffers */
#define P11P_DATA_MAX	(1U << 20)	/* C_Sign input (HSM_SIGN_MAX) */
#define P11P_SIG_MAX	8192		/* C_Sign output buffer */
#define P11P_SLOTS_MAX	256
#define P11P_FIND_MAX	1024		/* handles per C_FindObjects */
#define P11P_PIN_MAX	256

enum p11p_op {
	P11P_INITIALIZE = 1,	/* u32 version, u8 sizeof(CK_ULONG);
				 * the reply carries the same */
	P11P_FINALIZE,
	P11P_GET_INFO,
	P11P_GET_SLOT_LIST,		/* u8 present, u8 has_list, u64 n */
	P11P_GET_SLOT_INFO,		/* u64 slot */
	P11P_GET_TOKEN_INFO,		/* u64 slot */
	P11P_GET_MECHANISM_INFO,	/* u64 slot, u64 mechanism */
	P11P_OPEN_SESSION,		/* u64 slot, u64 flags */
	P11P_CLOSE_SESSION,		/* u64 session */
	P11P_GET_SESSION_INFO,		/* u64 session */
	P11P_LOGIN,		/* u64 session, u64 user, u8 null, pin */
	P11P_LOGOUT,			/* u64 session */
	P11P_FIND_INIT,			/* u64 session, template */
	P11P_FIND,			/* u64 session, u64 max */
	P11P_FIND_FINAL,		/* u64 session */
	P11P_GET_ATTRS,		/* u64 session, u64 object, query */
	P11P_SET_ATTRS,		/* u64 session, u64 object, template */
	P11P_GENERATE_KEY_PAIR,	/* u64 session, u64 mech, pub, priv */
	P11P_DESTROY_OBJECT,		/* u64 session, u64 object */
	P11P_SIGN_INIT,		/* u64 session, u64 mech, u64 key */
	P11P_SIGN,		/* u64 session, data, u8 has_buf, u64 len */
	P11P_COPY_OBJECT,	/* u64 session, u64 object, template;
				 * the reply: u64 the new object */
	P11P_OP_MAX
};

/* p11proxy_wire.c: framing and the encodings both sides share. */
struct buf	*p11p_frame_new(uint32_t op);
int		 p11p_frame_send(int fd, struct buf *, int tmo_ms);
int		 p11p_frame_recv(int fd, struct buf *, uint32_t *op,
		    int tmo_ms);
int		 p11p_get_ulong(struct buf *, CK_ULONG *)
		    __attribute__((warn_unused_result));
int		 p11p_put_ulong(struct buf *, CK_ULONG)
		    __attribute__((warn_unused_result));
int		 p11p_get_string(struct buf *, const uint8_t **, size_t *,
		    size_t max) __attribute__((warn_unused_result));
int		 p11p_put_string(struct buf *, const void *, size_t)
		    __attribute__((warn_unused_result));
CK_RV		 p11p_put_tmpl(struct buf *, const CK_ATTRIBUTE *,
		    CK_ULONG);
int		 p11p_get_tmpl(struct buf *, CK_ATTRIBUTE *, CK_ULONG *)
		    __attribute__((warn_unused_result));
int		 p11p_put_info(struct buf *, const CK_INFO *)
		    __attribute__((warn_unused_result));
int		 p11p_get_info(struct buf *, CK_INFO *)
		    __attribute__((warn_unused_result));
int		 p11p_put_slot_info(struct buf *, const CK_SLOT_INFO *)
		    __attribute__((warn_unused_result));
int		 p11p_get_slot_info(struct buf *, CK_SLOT_INFO *)
		    __attribute__((warn_unused_result));
int		 p11p_put_token_info(struct buf *, const CK_TOKEN_INFO *)
		    __attribute__((warn_unused_result));
int		 p11p_get_token_info(struct buf *, CK_TOKEN_INFO *)
		    __attribute__((warn_unused_result));
int		 p11p_put_session_info(struct buf *,
		    const CK_SESSION_INFO *)
		    __attribute__((warn_unused_result));
int		 p11p_get_session_info(struct buf *, CK_SESSION_INFO *)
		    __attribute__((warn_unused_result));

#endif
