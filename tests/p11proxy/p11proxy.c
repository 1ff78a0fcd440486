/*
 * obhsm-p11proxy: the client PKCS#11 module.  An application loads it
 * as its token module; each call it carries is sent over one Unix stream
 * socket (OBHSM_P11PROXY_SOCKET) to obhsm-p11proxyd, which makes it on
 * the real module in its own process, so the token's object store is
 * not in the application's memory (the point of "make bench"
 * BENCH_TOKEN=remote).  Wire format: p11proxy.h.
 *
 * Only what hsm/ calls is carried; every other function answers
 * CKR_FUNCTION_NOT_SUPPORTED.  Calls are serialised by one mutex.
 *
 * The connection is made by the first C_Initialize and kept across
 * C_Finalize: the signer re-initialises a module after a token removal
 * while it runs under its seccomp filter, and that re-initialisation
 * must not need a new socket.  Only a connection that was lost is made
 * again (by the next C_Initialize).  A lost or garbled connection is
 * answered CKR_DEVICE_REMOVED (session calls) or CKR_DEVICE_ERROR, as a
 * pulled token would be: never a crash, never a signal (MSG_NOSIGNAL).
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "p11proxy.h"

static struct {
	pthread_mutex_t	 mu;
	pthread_once_t	 once;
	int		 fd;		/* -1: not connected */
	int		 initialized;
	struct buf	*rx;		/* the last reply */
} P = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_ONCE_INIT, -1, 0, NULL };

/*
 * Pin this module in memory: the connection (an fd in our statics)
 * must outlive a p11-kit unload and reload within one process.
 */
static void
px_once(void)
{
	Dl_info	di;

	if (dladdr((void *)px_once, &di) != 0 && di.dli_fname != NULL)
		(void)dlopen(di.dli_fname, RTLD_NOW | RTLD_NODELETE |
		    RTLD_NOLOAD);
}

static void
px_drop(void)
{
	if (P.fd != -1)
		close(P.fd);
	P.fd = -1;
}

static CK_RV
px_connect(void)
{
	struct sockaddr_un	 sun;
	const char		*path = getenv(P11P_ENV_SOCKET);
	int			 fd;

	if (path == NULL || *path == '\0') {
		fprintf(stderr, "obhsm-p11proxy: %s not set\n",
		    P11P_ENV_SOCKET);
		return CKR_DEVICE_ERROR;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "obhsm-p11proxy: %s: path too long\n", path);
		return CKR_DEVICE_ERROR;
	}
	memcpy(sun.sun_path, path, strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		goto err;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(fd);
		goto err;
	}
	P.fd = fd;
	return CKR_OK;
 err:
	fprintf(stderr, "obhsm-p11proxy: %s: %s\n", path, strerror(errno));
	return CKR_DEVICE_ERROR;
}

/* A request frame for op, or why there is none (lock held). */
static CK_RV
px_begin(uint32_t op, CK_RV lost, struct buf **q)
{
	*q = NULL;
	if (!P.initialized)
		return CKR_CRYPTOKI_NOT_INITIALIZED;
	if (P.fd == -1)
		return lost;
	if (P.rx == NULL && (P.rx = buf_new(P11P_MSG_MAX + 4)) == NULL)
		return CKR_HOST_MEMORY;
	if ((*q = p11p_frame_new(op)) == NULL)
		return CKR_HOST_MEMORY;
	return CKR_OK;
}

/*
 * Send q (freed), read the reply into P.rx: the callee's CK_RV, and in
 * *out whether its outputs follow in P.rx.  A failure of the connection
 * or a reply that is not one drops the connection and answers lost.
 */
static CK_RV
px_call(uint32_t op, struct buf *q, CK_RV lost, int *out)
{
	uint64_t	rv;
	uint32_t	rop;
	uint8_t		has;
	int		r;

	*out = 0;
	r = p11p_frame_send(P.fd, q);
	buf_free(q);
	if (r == -1 || p11p_frame_recv(P.fd, P.rx, &rop) == -1) {
		fprintf(stderr, "obhsm-p11proxy: connection lost: %s\n",
		    strerror(errno));
		px_drop();
		return lost;
	}
	if (rop != op || buf_get_u64(P.rx, &rv) != 0 ||
	    buf_get_u8(P.rx, &has) != 0 || has > 1 || rv > 0xffffffffUL) {
		fprintf(stderr, "obhsm-p11proxy: malformed reply\n");
		px_drop();
		return lost;
	}
	*out = has;
	return (CK_RV)rv;
}

/* The outputs did not parse: the peer is not speaking our protocol. */
static CK_RV
px_bad(CK_RV lost)
{
	fprintf(stderr, "obhsm-p11proxy: malformed reply\n");
	px_drop();
	return lost;
}

/* An op whose request is a list of CK_ULONGs and whose reply is rv. */
static CK_RV
px_simple(uint32_t op, CK_RV lost, int n, CK_ULONG a, CK_ULONG b)
{
	struct buf	*q;
	CK_RV		 rv;
	int		 out;

	pthread_mutex_lock(&P.mu);
	if ((rv = px_begin(op, lost, &q)) != CKR_OK)
		goto done;
	if ((n > 0 && p11p_put_ulong(q, a) != 0) ||
	    (n > 1 && p11p_put_ulong(q, b) != 0)) {
		buf_free(q);
		rv = CKR_HOST_MEMORY;
		goto done;
	}
	rv = px_call(op, q, lost, &out);
	if (out && buf_end(P.rx) != 0)
		rv = px_bad(lost);
 done:
	pthread_mutex_unlock(&P.mu);
	return rv;
}

static CK_RV
px_C_Initialize(void *args)
{
	CK_C_INITIALIZE_ARGS	*ia = args;
	struct buf		*q;
	CK_RV			 rv = CKR_DEVICE_ERROR;
	int			 out, fns, tries;

	if (ia != NULL) {
		fns = (ia->CreateMutex != NULL) + (ia->DestroyMutex != NULL) +
		    (ia->LockMutex != NULL) + (ia->UnlockMutex != NULL);
		if (ia->pReserved != NULL || (fns != 0 && fns != 4))
			return CKR_ARGUMENTS_BAD;
		/* We lock with pthreads; an application's own mutexes
		 * alone cannot be honoured. */
		if (fns == 4 && !(ia->flags & CKF_OS_LOCKING_OK))
			return CKR_CANT_LOCK;
	}
	pthread_mutex_lock(&P.mu);
	if (P.initialized) {
		rv = CKR_CRYPTOKI_ALREADY_INITIALIZED;
		goto done;
	}
	/*
	 * A kept connection may have died while we were finalised (the
	 * server restarted): found out by this call, it is made again
	 * once.
	 */
	for (tries = P.fd == -1 ? 1 : 2; tries > 0; tries--) {
		if (P.fd == -1 && (rv = px_connect()) != CKR_OK)
			goto done;
		P.initialized = 1;	/* for px_begin; undone on failure */
		if ((rv = px_begin(P11P_INITIALIZE, CKR_DEVICE_ERROR, &q)) ==
		    CKR_OK) {
			rv = px_call(P11P_INITIALIZE, q, CKR_DEVICE_ERROR,
			    &out);
			if (out && buf_end(P.rx) != 0)
				rv = px_bad(CKR_DEVICE_ERROR);
		}
		if (rv != CKR_OK)
			P.initialized = 0;
		if (rv == CKR_OK || P.fd != -1)
			break;
	}
 done:
	pthread_mutex_unlock(&P.mu);
	return rv;
}

static CK_RV
px_C_Finalize(void *reserved)
{
	struct buf	*q;
	CK_RV		 rv;
	int		 out;

	if (reserved != NULL)
		return CKR_ARGUMENTS_BAD;
	pthread_mutex_lock(&P.mu);
	if (!P.initialized) {
		rv = CKR_CRYPTOKI_NOT_INITIALIZED;
		goto done;
	}
	/* With the server gone there is nothing left to finalise. */
	rv = CKR_OK;
	if (P.fd != -1 &&
	    (rv = px_begin(P11P_FINALIZE, CKR_OK, &q)) == CKR_OK) {
		rv = px_call(P11P_FINALIZE, q, CKR_OK, &out);
		if (out && buf_end(P.rx) != 0)
			rv = px_bad(CKR_OK);
	}
	if (rv == CKR_OK)
		P.initialized = 0;
 done:
	pthread_mutex_unlock(&P.mu);
	return rv;
}

static CK_RV
px_C_GetInfo(CK_INFO *info)
{
	struct buf	*q;
	CK_RV		 rv;
	int		 out;

	if (info == NULL)
		return CKR_ARGUMENTS_BAD;
	pthread_mutex_lock(&P.mu);
	if ((rv = px_begin(P11P_GET_INFO, CKR_DEVICE_ERROR, &q)) != CKR_OK)
		goto done;
	rv = px_call(P11P_GET_INFO, q, CKR_DEVICE_ERROR, &out);
	if (out && (p11p_get_info(P.rx, info) != 0 || buf_end(P.rx) != 0))
		rv = px_bad(CKR_DEVICE_ERROR);
 done:
	pthread_mutex_unlock(&P.mu);
	return rv;
}

static CK_RV
px_C_GetSlotList(CK_BBOOL present, CK_SLOT_ID *list, CK_ULONG *count)
{
	struct buf	*q;
	CK_ULONG	 n, i, want;
	CK_RV		 rv;
	uint8_t		 has;
	int		 out;

	if (count == NULL)
		return CKR_ARGUMENTS_BAD;
	want = *count > P11P_SLOTS_MAX ? P11P_SLOTS_MAX : *count;
	pthread_mutex_lock(&P.mu);
	if ((rv = px_begin(P11P_GET_SLOT_LIST, CKR_DEVICE_ERROR, &q)) !=
	    CKR_OK)
		goto done;
	if (buf_put_u8(q, present != CK_FALSE) != 0 ||
	    buf_put_u8(q, list != NULL) != 0 || p11p_put_ulong(q, want) != 0) {
		buf_free(q);
		rv = CKR_HOST_MEMORY;
		goto done;
	}
	rv = px_call(P11P_GET_SLOT_LIST, q, CKR_DEVICE_ERROR, &out);
	if (!out)
		goto done;
	if (p11p_get_ulong(P.rx, &n) != 0 || buf_get_u8(P.rx, &has) != 0 ||
	    has > 1 || (has && (list == NULL || n > want))) {
		rv = px_bad(CKR_DEVICE_ERROR);
		goto done;
	}
	for (i = 0; has && i < n; i++)
		if (p11p_get_ulong(P.rx, &list[i]) != 0) {
			rv = px_bad(CKR_DEVICE_ERROR);
			goto done;
		}
	if (buf_end(P.rx) != 0) {
		rv = px_bad(CKR_DEVICE_ERROR);
		goto done;
	}
	*count = n;
 done:
	pthread_mutex_unlock(&P.mu);
	return rv;
}

static CK_RV
px_C_GetSlotInfo(CK_SLOT_ID slot, CK_SLOT_INFO *info)
{
	struct buf	*q;
	CK_RV		 rv;
	int		 out;

	if (info == NULL)
		return CKR_ARGUMENTS_BAD;
	pthread_mutex_lock(&P.mu);
	if ((rv = px_begin(P11P_GET_SLOT_INFO, CKR_DEVICE_ERROR, &q)) !=
	    CKR_OK)
		goto done;
	if (p11p_put_ulong(q, slot) != 0) {
		buf_free(q);
		rv = CKR_HOST_MEMORY;
		goto done;
	}
	rv = px_call(P11P_GET_SLOT_INFO, q, CKR_DEVICE_ERROR, &out);
	if (out && (p11p_get_slot_info(P.rx, info) != 0 ||
	    buf_end(P.rx) != 0))
		rv = px_bad(CKR_DEVICE_ERROR);
 done:
	pthread_mutex_unlock(&P.mu);
	return rv;
}

static CK_RV
px_C_GetTokenInfo(CK_SLOT_ID slot, CK_TOKEN_INFO *info)
{
	struct buf	*q;
	CK_RV		 rv;
	int		 out;

	if (info == NULL)
		return CKR_ARGUMENTS_BAD;
	pthread_mutex_lock(&P.mu);
	if ((rv = px_begin(P11P_GET_TOKEN_INFO, CKR_DEVICE_ERROR, &q)) !=
	    CKR_OK)
		goto done;
	if (p11p_put_ulong(q, slot) != 0) {
		buf_free(q);
		rv = CKR_HOST_MEMORY;
		goto done;
	}
	rv = px_call(P11P_GET_TOKEN_INFO, q, CKR_DEVICE_ERROR, &out);
	if (out && (p11p_get_token_info(P.rx, info) != 0 ||
	    buf_end(P.rx) != 0))
		rv = px_bad(CKR_DEVICE_ERROR);
 done:
	pthread_mutex_unlock(&P.mu);
	return rv;
}

static CK_RV
px_C_GetMechanismInfo(CK_SLOT_ID slot, CK_MECHANISM_TYPE type,
    CK_MECHANISM_INFO *info)
{
	struct buf	*q;
	CK_RV		 rv;
	int		 out;

	if (info == NULL)
		return CKR_ARGUMENTS_BAD;
	pthread_mutex_lock(&P.mu);
	if ((rv = px_begin(P11P_GET_MECHANISM_INFO, CKR_DEVICE_ERROR,
	    &q)) != CKR_OK)
		goto done;
	if (p11p_put_ulong(q, slot) != 0 || p11p_put_ulong(q, type) != 0) {
		buf_free(q);
		rv = CKR_HOST_MEMORY;
		goto done;
	}
	rv = px_call(P11P_GET_MECHANISM_INFO, q, CKR_DEVICE_ERROR, &out);
	if (out && (p11p_get_ulong(P.rx, &info->ulMinKeySize) != 0 ||
	    p11p_get_ulong(P.rx, &info->ulMaxKeySize) != 0 ||
	    p11p_get_ulong(P.rx, &info->flags) != 0 || buf_end(P.rx) != 0))
		rv = px_bad(CKR_DEVICE_ERROR);
 done:
	pthread_mutex_unlock(&P.mu);
	return rv;
}

/* Notification callbacks cannot cross processes; none is made. */
static CK_RV
px_C_OpenSession(CK_SLOT_ID slot, CK_FLAGS flags, void *app,
    CK_NOTIFY notify, CK_SESSION_HANDLE *session)
{
	struct buf	*q;
	CK_RV		 rv;
	int		 out;

	(void)app;
	(void)notify;
	if (session == NULL)
		return CKR_ARGUMENTS_BAD;
	pthread_mutex_lock(&P.mu);
	if ((rv = px_begin(P11P_OPEN_SESSION, CKR_DEVICE_ERROR, &q)) !=
	    CKR_OK)
		goto done;
	if (p11p_put_ulong(q, slot) != 0 || p11p_put_ulong(q, flags) != 0) {
		buf_free(q);
		rv = CKR_HOST_MEMORY;
		goto done;
	}
	rv = px_call(P11P_OPEN_SESSION, q, CKR_DEVICE_ERROR, &out);
	if (out && (p11p_get_ulong(P.rx, session) != 0 ||
	    buf_end(P.rx) != 0))
		rv = px_bad(CKR_DEVICE_ERROR);
 done:
	pthread_mutex_unlock(&P.mu);
	return rv;
}

static CK_RV
px_C_CloseSession(CK_SESSION_HANDLE session)
{
	return px_simple(P11P_CLOSE_SESSION, CKR_DEVICE_REMOVED, 1, session,
	    0);
}

static CK_RV
px_C_GetSessionInfo(CK_SESSION_HANDLE session, CK_SESSION_INFO *info)
{
	struct buf	*q;
	CK_RV		 rv;
	int		 out;

	if (info == NULL)
		return CKR_ARGUMENTS_BAD;
	pthread_mutex_lock(&P.mu);
	if ((rv = px_begin(P11P_GET_SESSION_INFO, CKR_DEVICE_REMOVED, &q)) !=
	    CKR_OK)
		goto done;
	if (p11p_put_ulong(q, session) != 0) {
		buf_free(q);
		rv = CKR_HOST_MEMORY;
		goto done;
	}
	rv = px_call(P11P_GET_SESSION_INFO, q, CKR_DEVICE_REMOVED, &out);
	if (out && (p11p_get_session_info(P.rx, info) != 0 ||
	    buf_end(P.rx) != 0))
		rv = px_bad(CKR_DEVICE_REMOVED);
 done:
	pthread_mutex_unlock(&P.mu);
	return rv;
}

static CK_RV
px_C_Login(CK_SESSION_HANDLE session, CK_USER_TYPE user, CK_UTF8CHAR *pin,
    CK_ULONG pin_len)
{
	struct buf	*q;
	CK_RV		 rv;
	int		 out;

	if ((pin == NULL && pin_len != 0) || pin_len > P11P_PIN_MAX)
		return CKR_ARGUMENTS_BAD;
	pthread_mutex_lock(&P.mu);
	if ((rv = px_begin(P11P_LOGIN, CKR_DEVICE_REMOVED, &q)) != CKR_OK)
		goto done;
	if (p11p_put_ulong(q, session) != 0 || p11p_put_ulong(q, user) != 0 ||
	    buf_put_u8(q, pin == NULL) != 0 ||
	    p11p_put_string(q, pin, pin_len) != 0) {
		buf_free(q);
		rv = CKR_HOST_MEMORY;
		goto done;
	}
	/* buf_free() wipes the PIN from the request. */
	rv = px_call(P11P_LOGIN, q, CKR_DEVICE_REMOVED, &out);
	if (out && buf_end(P.rx) != 0)
		rv = px_bad(CKR_DEVICE_REMOVED);
 done:
	pthread_mutex_unlock(&P.mu);
	return rv;
}

static CK_RV
px_C_Logout(CK_SESSION_HANDLE session)
{
	return px_simple(P11P_LOGOUT, CKR_DEVICE_REMOVED, 1, session, 0);
}

/* Session, object (if with_obj) and an input template. */
static CK_RV
px_tmpl_call(uint32_t op, CK_SESSION_HANDLE session, int with_obj,
    CK_OBJECT_HANDLE obj, CK_ATTRIBUTE *t, CK_ULONG n)
{
	struct buf	*q;
	CK_RV		 rv;
	int		 out;

	pthread_mutex_lock(&P.mu);
	if ((rv = px_begin(op, CKR_DEVICE_REMOVED, &q)) != CKR_OK)
		goto done;
	if (p11p_put_ulong(q, session) != 0 ||
	    (with_obj && p11p_put_ulong(q, obj) != 0)) {
		buf_free(q);
		rv = CKR_HOST_MEMORY;
		goto done;
	}
	if ((rv = p11p_put_tmpl(q, t, n)) != CKR_OK) {
		buf_free(q);
		goto done;
	}
	rv = px_call(op, q, CKR_DEVICE_REMOVED, &out);
	if (out && buf_end(P.rx) != 0)
		rv = px_bad(CKR_DEVICE_REMOVED);
 done:
	pthread_mutex_unlock(&P.mu);
	return rv;
}

static CK_RV
px_C_FindObjectsInit(CK_SESSION_HANDLE session, CK_ATTRIBUTE *t,
    CK_ULONG n)
{
	return px_tmpl_call(P11P_FIND_INIT, session, 0, 0, t, n);
}

static CK_RV
px_C_FindObjects(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE *objs,
    CK_ULONG max, CK_ULONG *count)
{
	struct buf	*q;
	CK_ULONG	 n, i;
	CK_RV		 rv;
	int		 out;

	if (objs == NULL || count == NULL)
		return CKR_ARGUMENTS_BAD;
	if (max > P11P_FIND_MAX)
		max = P11P_FIND_MAX;
	pthread_mutex_lock(&P.mu);
	if ((rv = px_begin(P11P_FIND, CKR_DEVICE_REMOVED, &q)) != CKR_OK)
		goto done;
	if (p11p_put_ulong(q, session) != 0 || p11p_put_ulong(q, max) != 0) {
		buf_free(q);
		rv = CKR_HOST_MEMORY;
		goto done;
	}
	rv = px_call(P11P_FIND, q, CKR_DEVICE_REMOVED, &out);
	if (!out)
		goto done;
	if (p11p_get_ulong(P.rx, &n) != 0 || n > max) {
		rv = px_bad(CKR_DEVICE_REMOVED);
		goto done;
	}
	for (i = 0; i < n; i++)
		if (p11p_get_ulong(P.rx, &objs[i]) != 0) {
			rv = px_bad(CKR_DEVICE_REMOVED);
			goto done;
		}
	if (buf_end(P.rx) != 0) {
		rv = px_bad(CKR_DEVICE_REMOVED);
		goto done;
	}
	*count = n;
 done:
	pthread_mutex_unlock(&P.mu);
	return rv;
}

static CK_RV
px_C_FindObjectsFinal(CK_SESSION_HANDLE session)
{
	return px_simple(P11P_FIND_FINAL, CKR_DEVICE_REMOVED, 1, session, 0);
}

/*
 * Each attribute's buffer length goes over (pValue NULL: a length
 * query); the reply gives every ulValueLen and the values that fitted,
 * so CKR_BUFFER_TOO_SMALL, CKR_ATTRIBUTE_SENSITIVE and
 * CKR_ATTRIBUTE_TYPE_INVALID come back attribute by attribute.
 */
static CK_RV
px_C_GetAttributeValue(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE obj,
    CK_ATTRIBUTE *t, CK_ULONG n)
{
	struct buf	*q;
	const uint8_t	*v;
	size_t		 vlen, total = 0;
	CK_ULONG	 i, len;
	CK_RV		 rv;
	uint32_t	 rn;
	uint8_t		 has;
	int		 out;

	if (n > P11P_ATTRS_MAX || (n > 0 && t == NULL))
		return CKR_ARGUMENTS_BAD;
	for (i = 0; i < n; i++) {
		if (t[i].type & CKF_ARRAY_ATTRIBUTE)
			return CKR_ATTRIBUTE_TYPE_INVALID;
		if (t[i].pValue != NULL) {
			len = t[i].ulValueLen > P11P_VALUE_MAX ?
			    P11P_VALUE_MAX : t[i].ulValueLen;
			total += len;
		}
	}
	if (total > P11P_QUERY_MAX)
		return CKR_HOST_MEMORY;
	pthread_mutex_lock(&P.mu);
	if ((rv = px_begin(P11P_GET_ATTRS, CKR_DEVICE_REMOVED, &q)) != CKR_OK)
		goto done;
	if (p11p_put_ulong(q, session) != 0 || p11p_put_ulong(q, obj) != 0 ||
	    buf_put_u32(q, (uint32_t)n) != 0) {
		buf_free(q);
		rv = CKR_HOST_MEMORY;
		goto done;
	}
	for (i = 0; i < n; i++) {
		len = t[i].ulValueLen > P11P_VALUE_MAX ? P11P_VALUE_MAX :
		    t[i].ulValueLen;
		if (p11p_put_ulong(q, t[i].type) != 0 ||
		    buf_put_u8(q, t[i].pValue != NULL) != 0 ||
		    p11p_put_ulong(q, t[i].pValue != NULL ? len : 0) != 0) {
			buf_free(q);
			rv = CKR_HOST_MEMORY;
			goto done;
		}
	}
	rv = px_call(P11P_GET_ATTRS, q, CKR_DEVICE_REMOVED, &out);
	if (!out)
		goto done;
	if (buf_get_u32(P.rx, &rn) != 0 || rn != n)
		goto bad;
	for (i = 0; i < n; i++) {
		if (p11p_get_ulong(P.rx, &len) != 0 ||
		    buf_get_u8(P.rx, &has) != 0 || has > 1)
			goto bad;
		if (has) {
			/* A value only where we gave room, only as
			 * long as the length it claims. */
			if (t[i].pValue == NULL ||
			    p11p_get_string(P.rx, &v, &vlen,
			    t[i].ulValueLen) != 0 || vlen != len)
				goto bad;
			memcpy(t[i].pValue, v, vlen);
		}
		t[i].ulValueLen = len;
	}
	if (buf_end(P.rx) != 0)
		goto bad;
 done:
	pthread_mutex_unlock(&P.mu);
	return rv;
 bad:
	rv = px_bad(CKR_DEVICE_REMOVED);
	pthread_mutex_unlock(&P.mu);
	return rv;
}

static CK_RV
px_C_SetAttributeValue(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE obj,
    CK_ATTRIBUTE *t, CK_ULONG n)
{
	return px_tmpl_call(P11P_SET_ATTRS, session, 1, obj, t, n);
}

/* Mechanism parameters are not carried: none of our calls has any. */
static int
px_mech_ok(const CK_MECHANISM *m)
{
	return m != NULL && m->pParameter == NULL && m->ulParameterLen == 0;
}

static CK_RV
px_C_GenerateKeyPair(CK_SESSION_HANDLE session, CK_MECHANISM *mech,
    CK_ATTRIBUTE *pub, CK_ULONG npub, CK_ATTRIBUTE *priv, CK_ULONG npriv,
    CK_OBJECT_HANDLE *hpub, CK_OBJECT_HANDLE *hpriv)
{
	struct buf	*q;
	CK_RV		 rv;
	int		 out;

	if (mech == NULL || hpub == NULL || hpriv == NULL)
		return CKR_ARGUMENTS_BAD;
	if (!px_mech_ok(mech))
		return CKR_MECHANISM_PARAM_INVALID;
	pthread_mutex_lock(&P.mu);
	if ((rv = px_begin(P11P_GENERATE_KEY_PAIR, CKR_DEVICE_REMOVED, &q)) !=
	    CKR_OK)
		goto done;
	if (p11p_put_ulong(q, session) != 0 ||
	    p11p_put_ulong(q, mech->mechanism) != 0) {
		buf_free(q);
		rv = CKR_HOST_MEMORY;
		goto done;
	}
	if ((rv = p11p_put_tmpl(q, pub, npub)) != CKR_OK ||
	    (rv = p11p_put_tmpl(q, priv, npriv)) != CKR_OK) {
		buf_free(q);
		goto done;
	}
	rv = px_call(P11P_GENERATE_KEY_PAIR, q, CKR_DEVICE_REMOVED, &out);
	if (out && (p11p_get_ulong(P.rx, hpub) != 0 ||
	    p11p_get_ulong(P.rx, hpriv) != 0 || buf_end(P.rx) != 0))
		rv = px_bad(CKR_DEVICE_REMOVED);
 done:
	pthread_mutex_unlock(&P.mu);
	return rv;
}

static CK_RV
px_C_DestroyObject(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE obj)
{
	return px_simple(P11P_DESTROY_OBJECT, CKR_DEVICE_REMOVED, 2, session,
	    obj);
}

static CK_RV
px_C_SignInit(CK_SESSION_HANDLE session, CK_MECHANISM *mech,
    CK_OBJECT_HANDLE key)
{
	struct buf	*q;
	CK_RV		 rv;
	int		 out;

	if (mech == NULL)
		return CKR_ARGUMENTS_BAD;
	if (!px_mech_ok(mech))
		return CKR_MECHANISM_PARAM_INVALID;
	pthread_mutex_lock(&P.mu);
	if ((rv = px_begin(P11P_SIGN_INIT, CKR_DEVICE_REMOVED, &q)) != CKR_OK)
		goto done;
	if (p11p_put_ulong(q, session) != 0 ||
	    p11p_put_ulong(q, mech->mechanism) != 0 ||
	    p11p_put_ulong(q, key) != 0) {
		buf_free(q);
		rv = CKR_HOST_MEMORY;
		goto done;
	}
	rv = px_call(P11P_SIGN_INIT, q, CKR_DEVICE_REMOVED, &out);
	if (out && buf_end(P.rx) != 0)
		rv = px_bad(CKR_DEVICE_REMOVED);
 done:
	pthread_mutex_unlock(&P.mu);
	return rv;
}

static CK_RV
px_C_Sign(CK_SESSION_HANDLE session, CK_BYTE *data, CK_ULONG data_len,
    CK_BYTE *sig, CK_ULONG *sig_len)
{
	struct buf	*q;
	const uint8_t	*v;
	size_t		 vlen;
	CK_ULONG	 len, room;
	CK_RV		 rv;
	uint8_t		 has;
	int		 out;

	if ((data == NULL && data_len != 0) || sig_len == NULL)
		return CKR_ARGUMENTS_BAD;
	if (data_len > P11P_DATA_MAX)
		return CKR_DATA_LEN_RANGE;
	room = *sig_len > P11P_SIG_MAX ? P11P_SIG_MAX : *sig_len;
	pthread_mutex_lock(&P.mu);
	if ((rv = px_begin(P11P_SIGN, CKR_DEVICE_REMOVED, &q)) != CKR_OK)
		goto done;
	if (p11p_put_ulong(q, session) != 0 ||
	    p11p_put_string(q, data, data_len) != 0 ||
	    buf_put_u8(q, sig != NULL) != 0 ||
	    p11p_put_ulong(q, sig != NULL ? room : 0) != 0) {
		buf_free(q);
		rv = CKR_HOST_MEMORY;
		goto done;
	}
	rv = px_call(P11P_SIGN, q, CKR_DEVICE_REMOVED, &out);
	if (!out)
		goto done;
	if (p11p_get_ulong(P.rx, &len) != 0 || buf_get_u8(P.rx, &has) != 0 ||
	    has > 1 || (has && (sig == NULL ||
	    p11p_get_string(P.rx, &v, &vlen, room) != 0 || vlen != len)) ||
	    buf_end(P.rx) != 0) {
		rv = px_bad(CKR_DEVICE_REMOVED);
		goto done;
	}
	if (has)
		memcpy(sig, v, vlen);
	*sig_len = len;
 done:
	pthread_mutex_unlock(&P.mu);
	return rv;
}

/*
 * The rest: not carried.
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"

static CK_RV
ns_C_WaitForSlotEvent(CK_FLAGS flags, CK_SLOT_ID *slot, void *reserved)
{
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static CK_RV
ns_C_GetMechanismList(CK_SLOT_ID slot_id, CK_MECHANISM_TYPE *mechanism_list,
    unsigned long *count)
{
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static CK_RV
ns_C_InitToken(CK_SLOT_ID slot_id, unsigned char *pin, unsigned long pin_len,
    unsigned char *label)
{
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static CK_RV
ns_C_InitPIN(CK_SESSION_HANDLE session, unsigned char *pin, unsigned long
    pin_len)
{
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static CK_RV
ns_C_SetPIN(CK_SESSION_HANDLE session, unsigned char *old_pin, unsigned long
    old_len, unsigned char *new_pin, unsigned long new_len)
{
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static CK_RV
ns_C_CloseAllSessions(CK_SLOT_ID slot_id)
{
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static CK_RV
ns_C_GetOperationState(CK_SESSION_HANDLE session, unsigned char
    *operation_state, unsigned long *operation_state_len)
{
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static CK_RV
ns_C_SetOperationState(CK_SESSION_HANDLE session, unsigned char
    *operation_state, unsigned long operation_state_len, CK_OBJECT_HANDLE
    encryption_key, CK_OBJECT_HANDLE authentiation_key)
{
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static CK_RV
ns_C_CreateObject(CK_SESSION_HANDLE session, CK_ATTRIBUTE *templ, unsigned long
    count, CK_OBJECT_HANDLE *object)
{
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static CK_RV
ns_C_CopyObject(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object,
    CK_ATTRIBUTE *templ, unsigned long count, CK_OBJECT_HANDLE *new_object)
{
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static CK_RV
ns_C_GetObjectSize(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object, unsigned
    long *size)
{
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static CK_RV
ns_C_EncryptInit(CK_SESSION_HANDLE session, CK_MECHANISM *mechanism,
    CK_OBJECT_HANDLE key)
{
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static CK_RV
ns_C_Encrypt(CK_SESSION_HANDLE session, unsigned char *data, unsigned long
    data_len, unsigned char *encrypted_data, unsigned long *encrypted_data_len)
{
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static CK_RV
ns_C_EncryptUpdate(CK_SESSION_HANDLE session, unsigned char *part, unsigned
    long part_len, unsigned char *encrypted_part, unsigned long
    *encrypted_part_len)
{
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static CK_RV
ns_C_EncryptFinal(CK_SESSION_HANDLE session, unsigned char
    *last_encrypted_part, unsigned long *last_encrypted_part_len)
{
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static CK_RV
ns_C_DecryptInit(CK_SESSION_HANDLE session, CK_MECHANISM *mechanism,
    CK_OBJECT_HANDLE key)
{
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static CK_RV
ns_C_Decrypt(CK_SESSION_HANDLE session, unsigned char *encrypted_data, unsigned
    long encrypted_data_len, unsigned char *data, unsigned long *data_len)
{
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static CK_RV
ns_C_DecryptUpdate(CK_SESSION_HANDLE session, unsigned char *encrypted_part,
    unsigned long encrypted_part_len, unsigned char *part, unsigned long
    *part_len)
{
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static CK_RV
ns_C_DecryptFinal(CK_SESSION_HANDLE session, unsigned char *last_part, unsigned
    long *last_part_len)
{
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static CK_RV
ns_C_DigestInit(CK_SESSION_HANDLE session, CK_MECHANISM *mechanism)
{
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static CK_RV
ns_C_Digest(CK_SESSION_HANDLE session, unsigned char *data, unsigned long
    data_len, unsigned char *digest, unsigned long *digest_len)
{
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static CK_RV
ns_C_DigestUpdate(CK_SESSION_HANDLE session, unsigned char *part, unsigned long
    part_len)
{
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static CK_RV
ns_C_DigestKey(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE key)
{
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static CK_RV
ns_C_DigestFinal(CK_SESSION_HANDLE session, unsigned char *digest, unsigned
    long *digest_len)
{
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static CK_RV
ns_C_SignUpdate(CK_SESSION_HANDLE session, unsigned char *part, unsigned long
    part_len)
{
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static CK_RV
ns_C_SignFinal(CK_SESSION_HANDLE session, unsigned char *signature, unsigned
    long *signature_len)
{
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static CK_RV
ns_C_SignRecoverInit(CK_SESSION_HANDLE session, CK_MECHANISM *mechanism,
    CK_OBJECT_HANDLE key)
{
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static CK_RV
ns_C_SignRecover(CK_SESSION_HANDLE session, unsigned char *data, unsigned long
    data_len, unsigned char *signature, unsigned long *signature_len)
{
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static CK_RV
ns_C_VerifyInit(CK_SESSION_HANDLE session, CK_MECHANISM *mechanism,
    CK_OBJECT_HANDLE key)
{
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static CK_RV
ns_C_Verify(CK_SESSION_HANDLE session, unsigned char *data, unsigned long
    data_len, unsigned char *signature, unsigned long signature_len)
{
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static CK_RV
ns_C_VerifyUpdate(CK_SESSION_HANDLE session, unsigned char *part, unsigned long
    part_len)
{
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static CK_RV
ns_C_VerifyFinal(CK_SESSION_HANDLE session, unsigned char *signature, unsigned
    long signature_len)
{
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static CK_RV
ns_C_VerifyRecoverInit(CK_SESSION_HANDLE session, CK_MECHANISM *mechanism,
    CK_OBJECT_HANDLE key)
{
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static CK_RV
ns_C_VerifyRecover(CK_SESSION_HANDLE session, unsigned char *signature,
    unsigned long signature_len, unsigned char *data, unsigned long *data_len)
{
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static CK_RV
ns_C_DigestEncryptUpdate(CK_SESSION_HANDLE session, unsigned char *part,
    unsigned long part_len, unsigned char *encrypted_part, unsigned long
    *encrypted_part_len)
{
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static CK_RV
ns_C_DecryptDigestUpdate(CK_SESSION_HANDLE session, unsigned char
    *encrypted_part, unsigned long encrypted_part_len, unsigned char *part,
    unsigned long *part_len)
{
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static CK_RV
ns_C_SignEncryptUpdate(CK_SESSION_HANDLE session, unsigned char *part, unsigned
    long part_len, unsigned char *encrypted_part, unsigned long
    *encrypted_part_len)
{
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static CK_RV
ns_C_DecryptVerifyUpdate(CK_SESSION_HANDLE session, unsigned char
    *encrypted_part, unsigned long encrypted_part_len, unsigned char *part,
    unsigned long *part_len)
{
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static CK_RV
ns_C_GenerateKey(CK_SESSION_HANDLE session, CK_MECHANISM *mechanism,
    CK_ATTRIBUTE *templ, unsigned long count, CK_OBJECT_HANDLE *key)
{
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static CK_RV
ns_C_WrapKey(CK_SESSION_HANDLE session, CK_MECHANISM *mechanism,
    CK_OBJECT_HANDLE wrapping_key, CK_OBJECT_HANDLE key, unsigned char
    *wrapped_key, unsigned long *wrapped_key_len)
{
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static CK_RV
ns_C_UnwrapKey(CK_SESSION_HANDLE session, CK_MECHANISM *mechanism,
    CK_OBJECT_HANDLE unwrapping_key, unsigned char *wrapped_key, unsigned long
    wrapped_key_len, CK_ATTRIBUTE *templ, unsigned long attribute_count,
    CK_OBJECT_HANDLE *key)
{
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static CK_RV
ns_C_DeriveKey(CK_SESSION_HANDLE session, CK_MECHANISM *mechanism,
    CK_OBJECT_HANDLE base_key, CK_ATTRIBUTE *templ, unsigned long
    attribute_count, CK_OBJECT_HANDLE *key)
{
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static CK_RV
ns_C_SeedRandom(CK_SESSION_HANDLE session, unsigned char *seed, unsigned long
    seed_len)
{
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static CK_RV
ns_C_GenerateRandom(CK_SESSION_HANDLE session, unsigned char *random_data,
    unsigned long random_len)
{
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static CK_RV
ns_C_GetFunctionStatus(CK_SESSION_HANDLE session)
{
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static CK_RV
ns_C_CancelFunction(CK_SESSION_HANDLE session)
{
	return CKR_FUNCTION_NOT_SUPPORTED;
}

#pragma GCC diagnostic pop

static CK_RV px_C_GetFunctionList(CK_FUNCTION_LIST **);

static CK_FUNCTION_LIST px_list = {
	.version = { CRYPTOKI_VERSION_MAJOR, CRYPTOKI_VERSION_MINOR },
	.C_Initialize = px_C_Initialize,
	.C_Finalize = px_C_Finalize,
	.C_GetInfo = px_C_GetInfo,
	.C_GetFunctionList = px_C_GetFunctionList,
	.C_GetSlotList = px_C_GetSlotList,
	.C_GetSlotInfo = px_C_GetSlotInfo,
	.C_GetTokenInfo = px_C_GetTokenInfo,
	.C_GetMechanismList = ns_C_GetMechanismList,
	.C_GetMechanismInfo = px_C_GetMechanismInfo,
	.C_InitToken = ns_C_InitToken,
	.C_InitPIN = ns_C_InitPIN,
	.C_SetPIN = ns_C_SetPIN,
	.C_OpenSession = px_C_OpenSession,
	.C_CloseSession = px_C_CloseSession,
	.C_CloseAllSessions = ns_C_CloseAllSessions,
	.C_GetSessionInfo = px_C_GetSessionInfo,
	.C_GetOperationState = ns_C_GetOperationState,
	.C_SetOperationState = ns_C_SetOperationState,
	.C_Login = px_C_Login,
	.C_Logout = px_C_Logout,
	.C_CreateObject = ns_C_CreateObject,
	.C_CopyObject = ns_C_CopyObject,
	.C_DestroyObject = px_C_DestroyObject,
	.C_GetObjectSize = ns_C_GetObjectSize,
	.C_GetAttributeValue = px_C_GetAttributeValue,
	.C_SetAttributeValue = px_C_SetAttributeValue,
	.C_FindObjectsInit = px_C_FindObjectsInit,
	.C_FindObjects = px_C_FindObjects,
	.C_FindObjectsFinal = px_C_FindObjectsFinal,
	.C_EncryptInit = ns_C_EncryptInit,
	.C_Encrypt = ns_C_Encrypt,
	.C_EncryptUpdate = ns_C_EncryptUpdate,
	.C_EncryptFinal = ns_C_EncryptFinal,
	.C_DecryptInit = ns_C_DecryptInit,
	.C_Decrypt = ns_C_Decrypt,
	.C_DecryptUpdate = ns_C_DecryptUpdate,
	.C_DecryptFinal = ns_C_DecryptFinal,
	.C_DigestInit = ns_C_DigestInit,
	.C_Digest = ns_C_Digest,
	.C_DigestUpdate = ns_C_DigestUpdate,
	.C_DigestKey = ns_C_DigestKey,
	.C_DigestFinal = ns_C_DigestFinal,
	.C_SignInit = px_C_SignInit,
	.C_Sign = px_C_Sign,
	.C_SignUpdate = ns_C_SignUpdate,
	.C_SignFinal = ns_C_SignFinal,
	.C_SignRecoverInit = ns_C_SignRecoverInit,
	.C_SignRecover = ns_C_SignRecover,
	.C_VerifyInit = ns_C_VerifyInit,
	.C_Verify = ns_C_Verify,
	.C_VerifyUpdate = ns_C_VerifyUpdate,
	.C_VerifyFinal = ns_C_VerifyFinal,
	.C_VerifyRecoverInit = ns_C_VerifyRecoverInit,
	.C_VerifyRecover = ns_C_VerifyRecover,
	.C_DigestEncryptUpdate = ns_C_DigestEncryptUpdate,
	.C_DecryptDigestUpdate = ns_C_DecryptDigestUpdate,
	.C_SignEncryptUpdate = ns_C_SignEncryptUpdate,
	.C_DecryptVerifyUpdate = ns_C_DecryptVerifyUpdate,
	.C_GenerateKey = ns_C_GenerateKey,
	.C_GenerateKeyPair = px_C_GenerateKeyPair,
	.C_WrapKey = ns_C_WrapKey,
	.C_UnwrapKey = ns_C_UnwrapKey,
	.C_DeriveKey = ns_C_DeriveKey,
	.C_SeedRandom = ns_C_SeedRandom,
	.C_GenerateRandom = ns_C_GenerateRandom,
	.C_GetFunctionStatus = ns_C_GetFunctionStatus,
	.C_CancelFunction = ns_C_CancelFunction,
	.C_WaitForSlotEvent = ns_C_WaitForSlotEvent,
};

static CK_RV
px_C_GetFunctionList(CK_FUNCTION_LIST **list)
{
	if (list == NULL)
		return CKR_ARGUMENTS_BAD;
	pthread_once(&P.once, px_once);
	*list = &px_list;
	return CKR_OK;
}

/* The one exported symbol. */
CK_RV
C_GetFunctionList(CK_FUNCTION_LIST **list)
{
	return px_C_GetFunctionList(list);
}
