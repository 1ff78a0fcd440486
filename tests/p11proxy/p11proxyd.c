/*
 * obhsm-p11proxyd: the server side of obhsm-p11proxy (doc/p11proxy.md).
 *
 *	obhsm-p11proxyd MODULE SOCKET
 *
 * Loads the real PKCS#11 module MODULE (SoftHSM's environment, e.g.
 * SOFTHSM2_CONF, is inherited), listens on the Unix socket SOCKET and
 * makes, for one client at a time, the calls the client module carries
 * (wire format: p11proxy.h).  SOCKET's directory must be the caller's
 * and closed to group and others: whoever can connect can use the token
 * as far as its PIN allows.  The socket appears at SOCKET (by rename)
 * only once it listens, so a starter waits for the path, not a clock.
 * When a client goes, a module it left initialised is finalised, which
 * closes its sessions.  SIGTERM or SIGINT ends the server at once.
 *
 * Everything a client sends is checked against the bounds in
 * p11proxy.h before anything is allocated for it; a request that does
 * not parse ends the connection.  A test and bench tool: not hardened
 * as a production component (doc/p11proxy.md).
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <dlfcn.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "p11proxy.h"

static struct {
	CK_FUNCTION_LIST	*fl;
	int			 initialized;	/* by the current client */
	const char		*path;		/* the socket */
	dev_t			 dev;		/* and what we put there */
	ino_t			 ino;
	CK_SLOT_ID		 slots[P11P_SLOTS_MAX];
	CK_OBJECT_HANDLE	 objs[P11P_FIND_MAX];
	CK_BYTE			 sig[P11P_SIG_MAX];
} S;

/*
 * SIGTERM, SIGINT: gone at once, even in the middle of a client.  The
 * token's own store (SoftHSM's files) is written as each call ends.
 */
static void
sv_signal(int sig)
{
	struct stat	st;

	(void)sig;
	/* Only our own socket: a newer server may have put its own there. */
	if (stat(S.path, &st) == 0 && st.st_dev == S.dev &&
	    st.st_ino == S.ino)
		(void)unlink(S.path);
	_exit(0);
}

/* rv, whether outputs follow: the head of every reply. */
static int
sv_head(struct buf *r, CK_RV rv, int out)
{
	if (buf_put_u64(r, (uint64_t)rv) != 0 || buf_put_u8(r, out != 0) != 0)
		return -1;
	return 0;
}

/*
 * The client's protocol version and sizeof(CK_ULONG) must be ours
 * (attribute values travel raw); ours go back for the client to check.
 */
static int
sv_initialize(struct buf *in, struct buf *r)
{
	CK_C_INITIALIZE_ARGS	ia;
	CK_RV			rv;
	uint32_t		ver;
	uint8_t			ulsz;

	if (buf_get_u32(in, &ver) != 0 || buf_get_u8(in, &ulsz) != 0 ||
	    buf_end(in) != 0)
		return -1;
	if (ver != P11P_VERSION || ulsz != sizeof(CK_ULONG)) {
		log_warnx("client speaks version %u with %u-byte CK_ULONG, "
		    "we %u with %zu", ver, ulsz, P11P_VERSION,
		    sizeof(CK_ULONG));
		return -1;
	}
	if (S.initialized)
		rv = CKR_CRYPTOKI_ALREADY_INITIALIZED;
	else {
		memset(&ia, 0, sizeof(ia));
		ia.flags = CKF_OS_LOCKING_OK;
		if ((rv = S.fl->C_Initialize(&ia)) == CKR_OK)
			S.initialized = 1;
	}
	if (sv_head(r, rv, 1) != 0 || buf_put_u32(r, P11P_VERSION) != 0 ||
	    buf_put_u8(r, sizeof(CK_ULONG)) != 0)
		return -1;
	return 0;
}

static int
sv_finalize(struct buf *in, struct buf *r)
{
	CK_RV	rv;

	if (buf_end(in) != 0)
		return -1;
	if ((rv = S.fl->C_Finalize(NULL)) == CKR_OK)
		S.initialized = 0;
	return sv_head(r, rv, 0);
}

static int
sv_get_info(struct buf *in, struct buf *r)
{
	CK_INFO	info;
	CK_RV	rv;

	if (buf_end(in) != 0)
		return -1;
	memset(&info, 0, sizeof(info));
	rv = S.fl->C_GetInfo(&info);
	if (sv_head(r, rv, rv == CKR_OK) != 0 ||
	    (rv == CKR_OK && p11p_put_info(r, &info) != 0))
		return -1;
	return 0;
}

static int
sv_get_slot_list(struct buf *in, struct buf *r)
{
	CK_ULONG	n, i;
	CK_RV		rv;
	uint8_t		present, has;
	int		list;

	if (buf_get_u8(in, &present) != 0 || buf_get_u8(in, &has) != 0 ||
	    has > 1 || p11p_get_ulong(in, &n) != 0 || n > P11P_SLOTS_MAX ||
	    buf_end(in) != 0)
		return -1;
	rv = S.fl->C_GetSlotList(present ? CK_TRUE : CK_FALSE,
	    has ? S.slots : NULL, &n);
	if (rv != CKR_OK && rv != CKR_BUFFER_TOO_SMALL)
		return sv_head(r, rv, 0);
	list = has && rv == CKR_OK;
	if (list && n > P11P_SLOTS_MAX)
		return sv_head(r, CKR_DEVICE_ERROR, 0);
	if (sv_head(r, rv, 1) != 0 || p11p_put_ulong(r, n) != 0 ||
	    buf_put_u8(r, list) != 0)
		return -1;
	for (i = 0; list && i < n; i++)
		if (p11p_put_ulong(r, S.slots[i]) != 0)
			return -1;
	return 0;
}

static int
sv_get_slot_info(struct buf *in, struct buf *r)
{
	CK_SLOT_INFO	info;
	CK_SLOT_ID	slot;
	CK_RV		rv;

	if (p11p_get_ulong(in, &slot) != 0 || buf_end(in) != 0)
		return -1;
	memset(&info, 0, sizeof(info));
	rv = S.fl->C_GetSlotInfo(slot, &info);
	if (sv_head(r, rv, rv == CKR_OK) != 0 ||
	    (rv == CKR_OK && p11p_put_slot_info(r, &info) != 0))
		return -1;
	return 0;
}

static int
sv_get_token_info(struct buf *in, struct buf *r)
{
	CK_TOKEN_INFO	info;
	CK_SLOT_ID	slot;
	CK_RV		rv;

	if (p11p_get_ulong(in, &slot) != 0 || buf_end(in) != 0)
		return -1;
	memset(&info, 0, sizeof(info));
	rv = S.fl->C_GetTokenInfo(slot, &info);
	if (sv_head(r, rv, rv == CKR_OK) != 0 ||
	    (rv == CKR_OK && p11p_put_token_info(r, &info) != 0))
		return -1;
	return 0;
}

static int
sv_get_mechanism_info(struct buf *in, struct buf *r)
{
	CK_MECHANISM_INFO	info;
	CK_SLOT_ID		slot;
	CK_MECHANISM_TYPE	type;
	CK_RV			rv;

	if (p11p_get_ulong(in, &slot) != 0 || p11p_get_ulong(in, &type) != 0 ||
	    buf_end(in) != 0)
		return -1;
	memset(&info, 0, sizeof(info));
	rv = S.fl->C_GetMechanismInfo(slot, type, &info);
	if (sv_head(r, rv, rv == CKR_OK) != 0 || (rv == CKR_OK &&
	    (p11p_put_ulong(r, info.ulMinKeySize) != 0 ||
	    p11p_put_ulong(r, info.ulMaxKeySize) != 0 ||
	    p11p_put_ulong(r, info.flags) != 0)))
		return -1;
	return 0;
}

static int
sv_open_session(struct buf *in, struct buf *r)
{
	CK_SESSION_HANDLE	session = 0;
	CK_SLOT_ID		slot;
	CK_FLAGS		flags;
	CK_RV			rv;

	if (p11p_get_ulong(in, &slot) != 0 ||
	    p11p_get_ulong(in, &flags) != 0 || buf_end(in) != 0)
		return -1;
	rv = S.fl->C_OpenSession(slot, flags, NULL, NULL, &session);
	if (sv_head(r, rv, rv == CKR_OK) != 0 ||
	    (rv == CKR_OK && p11p_put_ulong(r, session) != 0))
		return -1;
	return 0;
}

/* The ops whose arguments are one session handle and whose reply is rv. */
static int
sv_session_op(uint32_t op, struct buf *in, struct buf *r)
{
	CK_SESSION_HANDLE	session;
	CK_RV			rv;

	if (p11p_get_ulong(in, &session) != 0 || buf_end(in) != 0)
		return -1;
	switch (op) {
	case P11P_CLOSE_SESSION:
		rv = S.fl->C_CloseSession(session);
		break;
	case P11P_LOGOUT:
		rv = S.fl->C_Logout(session);
		break;
	case P11P_FIND_FINAL:
		rv = S.fl->C_FindObjectsFinal(session);
		break;
	default:
		return -1;
	}
	return sv_head(r, rv, 0);
}

static int
sv_get_session_info(struct buf *in, struct buf *r)
{
	CK_SESSION_INFO		info;
	CK_SESSION_HANDLE	session;
	CK_RV			rv;

	if (p11p_get_ulong(in, &session) != 0 || buf_end(in) != 0)
		return -1;
	memset(&info, 0, sizeof(info));
	rv = S.fl->C_GetSessionInfo(session, &info);
	if (sv_head(r, rv, rv == CKR_OK) != 0 ||
	    (rv == CKR_OK && p11p_put_session_info(r, &info) != 0))
		return -1;
	return 0;
}

static int
sv_login(struct buf *in, struct buf *r)
{
	CK_SESSION_HANDLE	 session;
	CK_USER_TYPE		 user;
	const uint8_t		*pin;
	size_t			 len;
	uint8_t			 null;

	if (p11p_get_ulong(in, &session) != 0 ||
	    p11p_get_ulong(in, &user) != 0 || buf_get_u8(in, &null) != 0 ||
	    null > 1 || p11p_get_string(in, &pin, &len, P11P_PIN_MAX) != 0 ||
	    (null && len != 0) || buf_end(in) != 0)
		return -1;
	/* The PIN stays in the request buffer, wiped by its next reset. */
	return sv_head(r, S.fl->C_Login(session, user,
	    null ? NULL : (CK_UTF8CHAR *)(uintptr_t)pin, len), 0);
}

static int
sv_find_init(struct buf *in, struct buf *r)
{
	CK_ATTRIBUTE		t[P11P_ATTRS_MAX];
	CK_SESSION_HANDLE	session;
	CK_ULONG		n;

	if (p11p_get_ulong(in, &session) != 0 ||
	    p11p_get_tmpl(in, t, &n) != 0 || buf_end(in) != 0)
		return -1;
	return sv_head(r, S.fl->C_FindObjectsInit(session, t, n), 0);
}

static int
sv_find(struct buf *in, struct buf *r)
{
	CK_SESSION_HANDLE	session;
	CK_ULONG		max, n = 0, i;
	CK_RV			rv;

	if (p11p_get_ulong(in, &session) != 0 ||
	    p11p_get_ulong(in, &max) != 0 || max > P11P_FIND_MAX ||
	    buf_end(in) != 0)
		return -1;
	rv = S.fl->C_FindObjects(session, S.objs, max, &n);
	if (rv != CKR_OK)
		return sv_head(r, rv, 0);
	if (n > max)
		return sv_head(r, CKR_DEVICE_ERROR, 0);
	if (sv_head(r, rv, 1) != 0 || p11p_put_ulong(r, n) != 0)
		return -1;
	for (i = 0; i < n; i++)
		if (p11p_put_ulong(r, S.objs[i]) != 0)
			return -1;
	return 0;
}

/*
 * C_GetAttributeValue: one block for every buffer the client announced
 * (bounded by P11P_QUERY_MAX in sum), the callee's per-attribute
 * answers sent back whatever the rv says about the whole.
 */
static int
sv_get_attrs(struct buf *in, struct buf *r)
{
	CK_ATTRIBUTE		 t[P11P_ATTRS_MAX];
	CK_ULONG		 cap[P11P_ATTRS_MAX];
	CK_SESSION_HANDLE	 session;
	CK_OBJECT_HANDLE	 obj;
	CK_ULONG		 len;
	CK_RV			 rv;
	uint8_t			*store = NULL, has;
	uint32_t		 n, i;
	size_t			 total = 0, off = 0;
	int			 ret = -1, val;

	if (p11p_get_ulong(in, &session) != 0 ||
	    p11p_get_ulong(in, &obj) != 0 ||
	    buf_get_u32(in, &n) != 0 || n > P11P_ATTRS_MAX)
		return -1;
	for (i = 0; i < n; i++) {
		if (p11p_get_ulong(in, &t[i].type) != 0 ||
		    buf_get_u8(in, &has) != 0 || has > 1 ||
		    p11p_get_ulong(in, &len) != 0 || len > P11P_VALUE_MAX ||
		    (!has && len != 0) || (t[i].type & CKF_ARRAY_ATTRIBUTE))
			return -1;
		t[i].pValue = has ? t : NULL;	/* placed below */
		t[i].ulValueLen = cap[i] = len;
		total += len;
	}
	if (buf_end(in) != 0 || total > P11P_QUERY_MAX)
		return -1;
	if ((store = calloc(1, total + 1)) == NULL)
		return sv_head(r, CKR_HOST_MEMORY, 0);
	for (i = 0; i < n; i++)
		if (t[i].pValue != NULL) {
			t[i].pValue = store + off;
			off += cap[i];
		}
	rv = S.fl->C_GetAttributeValue(session, obj, t, n);
	if (rv != CKR_OK && rv != CKR_ATTRIBUTE_SENSITIVE &&
	    rv != CKR_ATTRIBUTE_TYPE_INVALID && rv != CKR_BUFFER_TOO_SMALL) {
		ret = sv_head(r, rv, 0);
		goto done;
	}
	if (sv_head(r, rv, 1) != 0 || buf_put_u32(r, n) != 0)
		goto done;
	for (i = 0; i < n; i++) {
		val = t[i].pValue != NULL &&
		    t[i].ulValueLen != CK_UNAVAILABLE_INFORMATION &&
		    t[i].ulValueLen <= cap[i];
		if (p11p_put_ulong(r, t[i].ulValueLen) != 0 ||
		    buf_put_u8(r, val) != 0 ||
		    (val && p11p_put_string(r, t[i].pValue,
		    t[i].ulValueLen) != 0))
			goto done;
	}
	ret = 0;
 done:
	explicit_bzero(store, total + 1);
	free(store);
	return ret;
}

static int
sv_set_attrs(struct buf *in, struct buf *r)
{
	CK_ATTRIBUTE		t[P11P_ATTRS_MAX];
	CK_SESSION_HANDLE	session;
	CK_OBJECT_HANDLE	obj;
	CK_ULONG		n;

	if (p11p_get_ulong(in, &session) != 0 ||
	    p11p_get_ulong(in, &obj) != 0 ||
	    p11p_get_tmpl(in, t, &n) != 0 || buf_end(in) != 0)
		return -1;
	return sv_head(r, S.fl->C_SetAttributeValue(session, obj, t, n), 0);
}

static int
sv_generate_key_pair(struct buf *in, struct buf *r)
{
	CK_ATTRIBUTE		pub[P11P_ATTRS_MAX], priv[P11P_ATTRS_MAX];
	CK_MECHANISM		mech;
	CK_SESSION_HANDLE	session;
	CK_OBJECT_HANDLE	hpub = 0, hpriv = 0;
	CK_ULONG		npub, npriv;
	CK_RV			rv;

	memset(&mech, 0, sizeof(mech));
	if (p11p_get_ulong(in, &session) != 0 ||
	    p11p_get_ulong(in, &mech.mechanism) != 0 ||
	    p11p_get_tmpl(in, pub, &npub) != 0 ||
	    p11p_get_tmpl(in, priv, &npriv) != 0 || buf_end(in) != 0)
		return -1;
	rv = S.fl->C_GenerateKeyPair(session, &mech, pub, npub, priv, npriv,
	    &hpub, &hpriv);
	if (sv_head(r, rv, rv == CKR_OK) != 0 || (rv == CKR_OK &&
	    (p11p_put_ulong(r, hpub) != 0 || p11p_put_ulong(r, hpriv) != 0)))
		return -1;
	return 0;
}

static int
sv_copy_object(struct buf *in, struct buf *r)
{
	CK_ATTRIBUTE		t[P11P_ATTRS_MAX];
	CK_SESSION_HANDLE	session;
	CK_OBJECT_HANDLE	obj, hnew = 0;
	CK_ULONG		n;
	CK_RV			rv;

	if (p11p_get_ulong(in, &session) != 0 ||
	    p11p_get_ulong(in, &obj) != 0 ||
	    p11p_get_tmpl(in, t, &n) != 0 || buf_end(in) != 0)
		return -1;
	/* A module's list should be full; one without copies refuses. */
	rv = S.fl->C_CopyObject == NULL ? CKR_FUNCTION_NOT_SUPPORTED :
	    S.fl->C_CopyObject(session, obj, t, n, &hnew);
	if (sv_head(r, rv, rv == CKR_OK) != 0 ||
	    (rv == CKR_OK && p11p_put_ulong(r, hnew) != 0))
		return -1;
	return 0;
}

static int
sv_destroy_object(struct buf *in, struct buf *r)
{
	CK_SESSION_HANDLE	session;
	CK_OBJECT_HANDLE	obj;

	if (p11p_get_ulong(in, &session) != 0 ||
	    p11p_get_ulong(in, &obj) != 0 ||
	    buf_end(in) != 0)
		return -1;
	return sv_head(r, S.fl->C_DestroyObject(session, obj), 0);
}

static int
sv_sign_init(struct buf *in, struct buf *r)
{
	CK_MECHANISM		mech;
	CK_SESSION_HANDLE	session;
	CK_OBJECT_HANDLE	key;

	memset(&mech, 0, sizeof(mech));
	if (p11p_get_ulong(in, &session) != 0 ||
	    p11p_get_ulong(in, &mech.mechanism) != 0 ||
	    p11p_get_ulong(in, &key) != 0 || buf_end(in) != 0)
		return -1;
	return sv_head(r, S.fl->C_SignInit(session, &mech, key), 0);
}

static int
sv_sign(struct buf *in, struct buf *r)
{
	CK_SESSION_HANDLE	 session;
	const uint8_t		*data;
	size_t			 dlen;
	CK_ULONG		 len;
	CK_RV			 rv;
	uint8_t			 has;
	int			 val;

	if (p11p_get_ulong(in, &session) != 0 ||
	    p11p_get_string(in, &data, &dlen, P11P_DATA_MAX) != 0 ||
	    buf_get_u8(in, &has) != 0 || has > 1 ||
	    p11p_get_ulong(in, &len) != 0 || len > P11P_SIG_MAX ||
	    (!has && len != 0) || buf_end(in) != 0)
		return -1;
	rv = S.fl->C_Sign(session, (CK_BYTE *)(uintptr_t)data, dlen,
	    has ? S.sig : NULL, &len);
	if (rv != CKR_OK && rv != CKR_BUFFER_TOO_SMALL)
		return sv_head(r, rv, 0);
	val = has && rv == CKR_OK;
	if (val && len > P11P_SIG_MAX)
		return sv_head(r, CKR_DEVICE_ERROR, 0);
	if (sv_head(r, rv, 1) != 0 || p11p_put_ulong(r, len) != 0 ||
	    buf_put_u8(r, val) != 0 || (val && p11p_put_string(r, S.sig,
	    len) != 0))
		return -1;
	return 0;
}

/* One request in, its reply built in r; -1 ends the connection. */
static int
sv_dispatch(uint32_t op, struct buf *in, struct buf *r)
{
	switch (op) {
	case P11P_INITIALIZE:
		return sv_initialize(in, r);
	case P11P_FINALIZE:
		return sv_finalize(in, r);
	case P11P_GET_INFO:
		return sv_get_info(in, r);
	case P11P_GET_SLOT_LIST:
		return sv_get_slot_list(in, r);
	case P11P_GET_SLOT_INFO:
		return sv_get_slot_info(in, r);
	case P11P_GET_TOKEN_INFO:
		return sv_get_token_info(in, r);
	case P11P_GET_MECHANISM_INFO:
		return sv_get_mechanism_info(in, r);
	case P11P_OPEN_SESSION:
		return sv_open_session(in, r);
	case P11P_CLOSE_SESSION:
	case P11P_LOGOUT:
	case P11P_FIND_FINAL:
		return sv_session_op(op, in, r);
	case P11P_GET_SESSION_INFO:
		return sv_get_session_info(in, r);
	case P11P_LOGIN:
		return sv_login(in, r);
	case P11P_FIND_INIT:
		return sv_find_init(in, r);
	case P11P_FIND:
		return sv_find(in, r);
	case P11P_GET_ATTRS:
		return sv_get_attrs(in, r);
	case P11P_SET_ATTRS:
		return sv_set_attrs(in, r);
	case P11P_GENERATE_KEY_PAIR:
		return sv_generate_key_pair(in, r);
	case P11P_COPY_OBJECT:
		return sv_copy_object(in, r);
	case P11P_DESTROY_OBJECT:
		return sv_destroy_object(in, r);
	case P11P_SIGN_INIT:
		return sv_sign_init(in, r);
	case P11P_SIGN:
		return sv_sign(in, r);
	default:
		return -1;
	}
}

/* One client, until it goes or breaks the protocol. */
static void
sv_serve(int fd, struct buf *in)
{
	struct buf	*r;
	uint32_t	 op;
	int		 ok;

	for (;;) {
		if (p11p_frame_recv(fd, in, &op, -1) == -1) {
			if (errno != ECONNRESET)
				log_warnx("client: %s", strerror(errno));
			break;
		}
		if ((r = p11p_frame_new(op)) == NULL) {
			log_warnx("out of memory");
			break;
		}
		if ((ok = sv_dispatch(op, in, r)) == -1)
			log_warnx("malformed request (op %u): connection "
			    "closed", op);
		if (ok == -1 || p11p_frame_send(fd, r, -1) == -1) {
			buf_free(r);
			break;
		}
		buf_free(r);
	}
	buf_reset(in);
	/* What the client left open is closed with the module. */
	if (S.initialized && S.fl->C_Finalize(NULL) == CKR_OK)
		S.initialized = 0;
}

/* SOCKET's directory: ours and closed to everyone else. */
static int
sv_check_dir(const char *path)
{
	char		tmp[PATH_MAX];
	struct stat	st;

	if (strlen(path) >= sizeof(tmp))
		return -1;
	memcpy(tmp, path, strlen(path) + 1);
	if (stat(dirname(tmp), &st) == -1) {
		log_warnx("%s: %s", tmp, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 077) != 0) {
		log_warnx("%s: must be a directory of uid %ld with mode 0700",
		    tmp, (long)geteuid());
		return -1;
	}
	return 0;
}

/*
 * Listen on a temporary name, then rename it to path: the path exists
 * only once connecting to it works.
 */
static int
sv_listen(const char *path)
{
	struct sockaddr_un	sun;
	struct stat		st;
	char			tmp[sizeof(sun.sun_path)];
	int			fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (snprintf(tmp, sizeof(tmp), "%s.%ld", path, (long)getpid()) >=
	    (int)sizeof(tmp)) {
		log_warnx("%s: path too long", path);
		return -1;
	}
	memcpy(sun.sun_path, tmp, strlen(tmp));
	(void)unlink(tmp);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    listen(fd, 1) == -1 || stat(tmp, &st) == -1 ||
	    rename(tmp, path) == -1) {
		log_warnx("%s: %s", path, strerror(errno));
		if (fd != -1)
			close(fd);
		(void)unlink(tmp);
		return -1;
	}
	S.dev = st.st_dev;
	S.ino = st.st_ino;
	return fd;
}

static CK_FUNCTION_LIST *
sv_load(const char *module)
{
	CK_RV			(*get)(CK_FUNCTION_LIST **);
	CK_FUNCTION_LIST	*fl = NULL;
	void			*dl;

	if ((dl = dlopen(module, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		log_warnx("%s", dlerror());
		return NULL;
	}
	get = (CK_RV (*)(CK_FUNCTION_LIST **))dlsym(dl, "C_GetFunctionList");
	if (get == NULL || get(&fl) != CKR_OK || fl == NULL) {
		log_warnx("%s: no function list", module);
		return NULL;
	}
	return fl;
}

int
main(int argc, char **argv)
{
	struct sigaction	 sa;
	struct buf		*in;
	int			 lfd, fd;

	if (argc != 3) {
		fprintf(stderr, "usage: obhsm-p11proxyd MODULE SOCKET\n");
		return 2;
	}
	log_init("obhsm-p11proxyd", 0, 0);
	umask(077);
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = SIG_IGN;
	(void)sigaction(SIGPIPE, &sa, NULL);
	S.path = argv[2];
	if (sv_check_dir(argv[2]) == -1 || (S.fl = sv_load(argv[1])) == NULL ||
	    (in = buf_new(P11P_MSG_MAX + 4)) == NULL ||
	    (lfd = sv_listen(argv[2])) == -1)
		return 1;
	sa.sa_handler = sv_signal;
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGINT, &sa, NULL);
	for (;;) {
		if ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			log_warnx("accept: %s", strerror(errno));
			/* Out of fds or memory: the pending client
			 * stays queued; try again in a while, not in
			 * a loop. */
			sleep(1);
			continue;
		}
		sv_serve(fd, in);
		close(fd);
	}
}
