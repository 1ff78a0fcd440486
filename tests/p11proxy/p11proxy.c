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
 * C_Initialize connects and C_Finalize closes: the server serves one
 * client at a time, so a connection kept while finalised would lock
 * every other client out.  (The signer re-initialises under its seccomp
 * filter, which allows socket and connect.)  Each read and write waits
 * at most PX_IO_TIMEOUT (poll: the filter has no setsockopt; tests
 * may shorten it with OBHSM_P11PROXY_TIMEOUT_MS), so a stuck server is
 * CKR_DEVICE_ERROR rather than a call that never returns.  A lost or garbled connection, or a
 * reply that lacks what its CK_RV promises, is answered
 * CKR_DEVICE_REMOVED (session calls) or CKR_DEVICE_ERROR, as a pulled
 * token would be, and the connection is closed: never a crash, never a
 * signal (MSG_NOSIGNAL), never an output left unwritten under CKR_OK.
 *
 * After fork() the child does not share the parent's connection: its
 * first call closes the inherited socket without sending anything and
 * answers CKR_CRYPTOKI_NOT_INITIALIZED, as PKCS#11 asks of a child.
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

#define PX_IO_TIMEOUT	30000	/* ms; hsm/'s watchdog covers longer */
#define PX_ENV_TIMEOUT	"OBHSM_P11PROXY_TIMEOUT_MS"	/* tests: shorter */

static struct {
	pthread_mutex_t	 mu;
	pthread_once_t	 once;
	int		 fd;		/* -1: not connected */
	int		 initialized;
	int		 tmo_ms;	/* each wait for the server */
	pid_t		 pid;		/* who initialised */
	struct buf	*rx;		/* the last reply */
} P = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_ONCE_INIT, -1, 0, PX_IO_TIMEOUT,
    0, NULL };

/*
 * Pin this module in memory: a p11-kit unload and reload within one
 * process must find the same statics.
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

/*
 * In a child of the process that initialised us (lock held): the
 * socket is the parent's conversation, closed here unused.
 */
static int
px_forked(void)
{
	if (!P.initialized || P.pid == getpid())
		return 0;
	px_drop();
	P.initialized = 0;
	return 1;
}

static CK_RV
px_connect(void)
{
	struct sockaddr_un	 sun;
	const char		*path = getenv(P11P_ENV_SOCKET);
	const char		*tmo = getenv(PX_ENV_TIMEOUT);
	char			*end;
	long			 ms;
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
	P.tmo_ms = PX_IO_TIMEOUT;
	if (tmo != NULL && *tmo != '\0') {
		errno = 0;
		ms = strtol(tmo, &end, 10);
		if (errno != 0 || *end != '\0' || ms < 1 ||
		    ms > PX_IO_TIMEOUT) {
			fprintf(stderr, "obhsm-p11proxy: %s: not 1..%d\n",
			    PX_ENV_TIMEOUT, PX_IO_TIMEOUT);
			return CKR_DEVICE_ERROR;
		}
		P.tmo_ms = (int)ms;
	}
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

/* A request frame for op in *q, or why there is none (lock held). */
static CK_RV
px_begin(uint32_t op, CK_RV lost, struct buf **q)
{
	if (px_forked() || !P.initialized)
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
 * Send q (the caller frees it), read the reply into P.rx: the callee's
 * CK_RV in *rv, and whether its outputs follow in P.rx (0 or 1).  -1: no
 * reply (the connection is dropped, *rv says why: lost, or
 * CKR_DEVICE_ERROR for a server that did not answer in time).
 */
static int
px_call(uint32_t op, struct buf *q, CK_RV lost, CK_RV *rv)
{
	uint64_t	v;
	uint32_t	rop;
	uint8_t		has;

	if (p11p_frame_send(P.fd, q, P.tmo_ms) == -1 ||
	    p11p_frame_recv(P.fd, P.rx, &rop, P.tmo_ms) == -1) {
		fprintf(stderr, "obhsm-p11proxy: connection lost: %s\n",
		    strerror(errno));
		*rv = errno == EAGAIN || errno == EWOULDBLOCK ?
		    CKR_DEVICE_ERROR : lost;
		px_drop();
		return -1;
	}
	if (rop != op || buf_get_u64(P.rx, &v) != 0 ||
	    buf_get_u8(P.rx, &has) != 0 || has > 1 || v > 0xffffffffUL) {
		fprintf(stderr, "obhsm-p11proxy: malformed reply\n");
		*rv = lost;
		px_drop();
		return -1;
	}
	*rv = (CK_RV)v;
	return has;
}

/* The reply broke its op's rules: the peer is not speaking our protocol. */
static CK_RV
px_bad(CK_RV lost)
{
	fprintf(stderr, "obhsm-p11proxy: malformed reply\n");
	px_drop();
	return lost;
}

/*
 * An op whose request is a list of CK_ULONGs and whose reply is rv
 * alone.
 */
static CK_RV
px_simple(uint32_t op, CK_RV lost, int n, CK_ULONG a, CK_ULONG b)
{
	struct buf	*q = NULL;
	CK_RV		 rv;
	int		 out;

	pthread_mutex_lock(&P.mu);
	if ((rv = px_begin(op, lost, &q)) != CKR_OK)
		goto done;
	rv = CKR_HOST_MEMORY;
	if ((n > 0 && p11p_put_ulong(q, a) != 0) ||
	    (n > 1 && p11p_put_ulong(q, b) != 0))
		goto done;
	if ((out = px_call(op, q, lost, &rv)) == -1)
		goto done;
	if (out || buf_end(P.rx) != 0)
		goto bad;
	goto done;
 bad:
	rv = px_bad(lost);
 done:
	buf_free(q);
	pthread_mutex_unlock(&P.mu);
	return rv;
}

/*
 * INITIALIZE carries the protocol version and sizeof(CK_ULONG) both
 * ways: attribute values travel raw, so both ends must share the ABI.
 */
static CK_RV
px_C_Initialize(void *args)
{
	CK_C_INITIALIZE_ARGS	*ia = args;
	struct buf		*q = NULL;
	CK_RV			 rv;
	uint32_t		 ver;
	uint8_t			 ulsz;
	int			 out;

	if (ia != NULL) {
		out = (ia->CreateMutex != NULL) + (ia->DestroyMutex != NULL) +
		    (ia->LockMutex != NULL) + (ia->UnlockMutex != NULL);
		if (ia->pReserved != NULL || (out != 0 && out != 4))
			return CKR_ARGUMENTS_BAD;
		/* We lock with pthreads; an application's own mutexes
		 * alone cannot be honoured. */
		if (out == 4 && !(ia->flags & CKF_OS_LOCKING_OK))
			return CKR_CANT_LOCK;
	}
	pthread_mutex_lock(&P.mu);
	(void)px_forked();
	if (P.initialized) {
		rv = CKR_CRYPTOKI_ALREADY_INITIALIZED;
		goto done;
	}
	px_drop();
	if ((rv = px_connect()) != CKR_OK)
		goto done;
	P.initialized = 1;	/* for px_begin; undone on failure */
	P.pid = getpid();
	if ((rv = px_begin(P11P_INITIALIZE, CKR_DEVICE_ERROR, &q)) != CKR_OK)
		goto done;
	rv = CKR_HOST_MEMORY;
	if (buf_put_u32(q, P11P_VERSION) != 0 ||
	    buf_put_u8(q, sizeof(CK_ULONG)) != 0)
		goto done;
	if ((out = px_call(P11P_INITIALIZE, q, CKR_DEVICE_ERROR, &rv)) == -1)
		goto done;
	if (!out || buf_get_u32(P.rx, &ver) != 0 ||
	    buf_get_u8(P.rx, &ulsz) != 0 || buf_end(P.rx) != 0)
		goto bad;
	if (ver != P11P_VERSION || ulsz != sizeof(CK_ULONG)) {
		fprintf(stderr, "obhsm-p11proxy: server speaks version %u "
		    "with %u-byte CK_ULONG, we %u with %zu\n", ver, ulsz,
		    P11P_VERSION, sizeof(CK_ULONG));
		goto bad;
	}
	goto done;
 bad:
	rv = px_bad(CKR_DEVICE_ERROR);
 done:
	if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		P.initialized = 0;
		px_drop();
	}
	buf_free(q);
	pthread_mutex_unlock(&P.mu);
	return rv;
}

static CK_RV
px_C_Finalize(void *reserved)
{
	struct buf	*q = NULL;
	CK_RV		 rv;
	int		 out;

	if (reserved != NULL)
		return CKR_ARGUMENTS_BAD;
	pthread_mutex_lock(&P.mu);
	if (px_forked() || !P.initialized) {
		rv = CKR_CRYPTOKI_NOT_INITIALIZED;
		goto done;
	}
	/* With the server gone there is nothing left to finalise. */
	rv = CKR_OK;
	if (P.fd == -1)
		goto done;
	if ((rv = px_begin(P11P_FINALIZE, CKR_OK, &q)) != CKR_OK)
		goto done;
	if ((out = px_call(P11P_FINALIZE, q, CKR_OK, &rv)) == -1) {
		rv = CKR_OK;	/* dropped: nothing left to finalise */
		goto done;
	}
	if (out || buf_end(P.rx) != 0)
		rv = px_bad(CKR_OK);
 done:
	if (rv == CKR_OK) {
		P.initialized = 0;
		px_drop();
	}
	buf_free(q);
	pthread_mutex_unlock(&P.mu);
	return rv;
}

/*
 * The ops whose outputs come exactly with CKR_OK: the request's
 * CK_ULONGs (n of them), the reply read by get into dst.
 */
static CK_RV
px_info(uint32_t op, CK_RV lost, int n, CK_ULONG a, CK_ULONG b,
    int (*get)(struct buf *, void *), void *dst)
{
	struct buf	*q = NULL;
	CK_RV		 rv;
	int		 out;

	if (dst == NULL)
		return CKR_ARGUMENTS_BAD;
	pthread_mutex_lock(&P.mu);
	if ((rv = px_begin(op, lost, &q)) != CKR_OK)
		goto done;
	rv = CKR_HOST_MEMORY;
	if ((n > 0 && p11p_put_ulong(q, a) != 0) ||
	    (n > 1 && p11p_put_ulong(q, b) != 0))
		goto done;
	if ((out = px_call(op, q, lost, &rv)) == -1)
		goto done;
	if (out != (rv == CKR_OK) ||
	    (out && (get(P.rx, dst) != 0 || buf_end(P.rx) != 0)))
		goto bad;
	goto done;
 bad:
	rv = px_bad(lost);
 done:
	buf_free(q);
	pthread_mutex_unlock(&P.mu);
	return rv;
}

static int
px_get_info(struct buf *b, void *dst)
{
	return p11p_get_info(b, dst);
}

static int
px_get_slot_info(struct buf *b, void *dst)
{
	return p11p_get_slot_info(b, dst);
}

static int
px_get_token_info(struct buf *b, void *dst)
{
	return p11p_get_token_info(b, dst);
}

static int
px_get_session_info(struct buf *b, void *dst)
{
	return p11p_get_session_info(b, dst);
}

static int
px_get_mech_info(struct buf *b, void *dst)
{
	CK_MECHANISM_INFO	*info = dst, tmp;
	struct buf		 save = *b;

	if (p11p_get_ulong(b, &tmp.ulMinKeySize) != 0 ||
	    p11p_get_ulong(b, &tmp.ulMaxKeySize) != 0 ||
	    p11p_get_ulong(b, &tmp.flags) != 0) {
		*b = save;
		return -1;
	}
	*info = tmp;
	return 0;
}

static int
px_get_handle(struct buf *b, void *dst)
{
	return p11p_get_ulong(b, dst);
}

static CK_RV
px_C_GetInfo(CK_INFO *info)
{
	return px_info(P11P_GET_INFO, CKR_DEVICE_ERROR, 0, 0, 0, px_get_info,
	    info);
}

/*
 * A list only where the caller gave one and only as long as it is;
 * without one (or with CKR_BUFFER_TOO_SMALL) the count alone.
 */
static CK_RV
px_C_GetSlotList(CK_BBOOL present, CK_SLOT_ID *list, CK_ULONG *count)
{
	CK_SLOT_ID	 got[P11P_SLOTS_MAX];
	struct buf	*q = NULL;
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
	rv = CKR_HOST_MEMORY;
	if (buf_put_u8(q, present != CK_FALSE) != 0 ||
	    buf_put_u8(q, list != NULL) != 0 || p11p_put_ulong(q, want) != 0)
		goto done;
	if ((out = px_call(P11P_GET_SLOT_LIST, q, CKR_DEVICE_ERROR, &rv)) ==
	    -1)
		goto done;
	if (rv != CKR_OK && rv != CKR_BUFFER_TOO_SMALL) {
		if (out)
			goto bad;
		goto done;
	}
	if (!out || p11p_get_ulong(P.rx, &n) != 0 ||
	    buf_get_u8(P.rx, &has) != 0 ||
	    has != (list != NULL && rv == CKR_OK) || (has && n > want))
		goto bad;
	for (i = 0; has && i < n; i++)
		if (p11p_get_ulong(P.rx, &got[i]) != 0)
			goto bad;
	if (buf_end(P.rx) != 0)
		goto bad;
	if (has && n > 0)
		memcpy(list, got, n * sizeof(got[0]));
	*count = n;
	goto done;
 bad:
	rv = px_bad(CKR_DEVICE_ERROR);
 done:
	buf_free(q);
	pthread_mutex_unlock(&P.mu);
	return rv;
}

static CK_RV
px_C_GetSlotInfo(CK_SLOT_ID slot, CK_SLOT_INFO *info)
{
	return px_info(P11P_GET_SLOT_INFO, CKR_DEVICE_ERROR, 1, slot, 0,
	    px_get_slot_info, info);
}

static CK_RV
px_C_GetTokenInfo(CK_SLOT_ID slot, CK_TOKEN_INFO *info)
{
	return px_info(P11P_GET_TOKEN_INFO, CKR_DEVICE_ERROR, 1, slot, 0,
	    px_get_token_info, info);
}

static CK_RV
px_C_GetMechanismInfo(CK_SLOT_ID slot, CK_MECHANISM_TYPE type,
    CK_MECHANISM_INFO *info)
{
	return px_info(P11P_GET_MECHANISM_INFO, CKR_DEVICE_ERROR, 2, slot,
	    type, px_get_mech_info, info);
}

/* Notification callbacks cannot cross processes; none is made. */
static CK_RV
px_C_OpenSession(CK_SLOT_ID slot, CK_FLAGS flags, void *app,
    CK_NOTIFY notify, CK_SESSION_HANDLE *session)
{
	(void)app;
	(void)notify;
	return px_info(P11P_OPEN_SESSION, CKR_DEVICE_ERROR, 2, slot, flags,
	    px_get_handle, session);
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
	return px_info(P11P_GET_SESSION_INFO, CKR_DEVICE_REMOVED, 1, session,
	    0, px_get_session_info, info);
}

/*
 * Request frames are wiped when freed (buf_free), and with them the
 * PIN.
 */
static CK_RV
px_C_Login(CK_SESSION_HANDLE session, CK_USER_TYPE user, CK_UTF8CHAR *pin,
    CK_ULONG pin_len)
{
	struct buf	*q = NULL;
	CK_RV		 rv;
	int		 out;

	if ((pin == NULL && pin_len != 0) || pin_len > P11P_PIN_MAX)
		return CKR_ARGUMENTS_BAD;
	pthread_mutex_lock(&P.mu);
	if ((rv = px_begin(P11P_LOGIN, CKR_DEVICE_REMOVED, &q)) != CKR_OK)
		goto done;
	rv = CKR_HOST_MEMORY;
	if (p11p_put_ulong(q, session) != 0 || p11p_put_ulong(q, user) != 0 ||
	    buf_put_u8(q, pin == NULL) != 0 ||
	    p11p_put_string(q, pin, pin_len) != 0)
		goto done;
	if ((out = px_call(P11P_LOGIN, q, CKR_DEVICE_REMOVED, &rv)) == -1)
		goto done;
	if (out || buf_end(P.rx) != 0)
		rv = px_bad(CKR_DEVICE_REMOVED);
 done:
	buf_free(q);
	pthread_mutex_unlock(&P.mu);
	return rv;
}

static CK_RV
px_C_Logout(CK_SESSION_HANDLE session)
{
	return px_simple(P11P_LOGOUT, CKR_DEVICE_REMOVED, 1, session, 0);
}

/* Session, object (if with_obj) and an input template; reply rv alone. */
static CK_RV
px_tmpl_call(uint32_t op, CK_SESSION_HANDLE session, int with_obj,
    CK_OBJECT_HANDLE obj, CK_ATTRIBUTE *t, CK_ULONG n)
{
	struct buf	*q = NULL;
	CK_RV		 rv;
	int		 out;

	pthread_mutex_lock(&P.mu);
	if ((rv = px_begin(op, CKR_DEVICE_REMOVED, &q)) != CKR_OK)
		goto done;
	rv = CKR_HOST_MEMORY;
	if (p11p_put_ulong(q, session) != 0 ||
	    (with_obj && p11p_put_ulong(q, obj) != 0))
		goto done;
	if ((rv = p11p_put_tmpl(q, t, n)) != CKR_OK)
		goto done;
	if ((out = px_call(op, q, CKR_DEVICE_REMOVED, &rv)) == -1)
		goto done;
	if (out || buf_end(P.rx) != 0)
		rv = px_bad(CKR_DEVICE_REMOVED);
 done:
	buf_free(q);
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
	struct buf	*q = NULL;
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
	rv = CKR_HOST_MEMORY;
	if (p11p_put_ulong(q, session) != 0 || p11p_put_ulong(q, max) != 0)
		goto done;
	if ((out = px_call(P11P_FIND, q, CKR_DEVICE_REMOVED, &rv)) == -1)
		goto done;
	if (out != (rv == CKR_OK))
		goto bad;
	if (!out)
		goto done;
	/* Only as many handles as the caller has room for. */
	if (p11p_get_ulong(P.rx, &n) != 0 || n > max ||
	    buf_len(P.rx) != n * 8)
		goto bad;
	for (i = 0; i < n; i++)
		if (p11p_get_ulong(P.rx, &objs[i]) != 0)
			goto bad;
	*count = n;
	goto done;
 bad:
	rv = px_bad(CKR_DEVICE_REMOVED);
 done:
	buf_free(q);
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
 * CKR_ATTRIBUTE_TYPE_INVALID come back attribute by attribute.  The
 * reply is checked whole before t is touched: an attribute with a
 * buffer but no value must say why (CK_UNAVAILABLE_INFORMATION, or a
 * length the buffer cannot hold), so CKR_OK never leaves a buffer
 * unwritten.
 */
static CK_RV
px_C_GetAttributeValue(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE obj,
    CK_ATTRIBUTE *t, CK_ULONG n)
{
	struct buf	*q = NULL, view;
	const uint8_t	*v = NULL;
	size_t		 vlen = 0, total = 0;
	CK_ULONG	 i, len, room;
	CK_RV		 rv;
	uint32_t	 rn;
	uint8_t		 has;
	int		 out, pass;

	if (n > P11P_ATTRS_MAX || (n > 0 && t == NULL))
		return CKR_ARGUMENTS_BAD;
	for (i = 0; i < n; i++) {
		if (t[i].type & CKF_ARRAY_ATTRIBUTE)
			return CKR_ATTRIBUTE_TYPE_INVALID;
		if (t[i].pValue != NULL)
			total += t[i].ulValueLen > P11P_VALUE_MAX ?
			    P11P_VALUE_MAX : t[i].ulValueLen;
	}
	if (total > P11P_QUERY_MAX)
		return CKR_HOST_MEMORY;
	pthread_mutex_lock(&P.mu);
	if ((rv = px_begin(P11P_GET_ATTRS, CKR_DEVICE_REMOVED, &q)) != CKR_OK)
		goto done;
	rv = CKR_HOST_MEMORY;
	if (p11p_put_ulong(q, session) != 0 || p11p_put_ulong(q, obj) != 0 ||
	    buf_put_u32(q, (uint32_t)n) != 0)
		goto done;
	for (i = 0; i < n; i++) {
		room = t[i].ulValueLen > P11P_VALUE_MAX ? P11P_VALUE_MAX :
		    t[i].ulValueLen;
		if (p11p_put_ulong(q, t[i].type) != 0 ||
		    buf_put_u8(q, t[i].pValue != NULL) != 0 ||
		    p11p_put_ulong(q, t[i].pValue != NULL ? room : 0) != 0)
			goto done;
	}
	if ((out = px_call(P11P_GET_ATTRS, q, CKR_DEVICE_REMOVED, &rv)) == -1)
		goto done;
	if (rv != CKR_OK && rv != CKR_ATTRIBUTE_SENSITIVE &&
	    rv != CKR_ATTRIBUTE_TYPE_INVALID && rv != CKR_BUFFER_TOO_SMALL) {
		if (out)
			goto bad;
		goto done;
	}
	if (!out || buf_get_u32(P.rx, &rn) != 0 || rn != n)
		goto bad;
	/* Pass 0 checks, pass 1 writes. */
	for (pass = 0; pass < 2; pass++) {
		view = *P.rx;
		for (i = 0; i < n; i++) {
			room = t[i].pValue == NULL ? 0 :
			    t[i].ulValueLen > P11P_VALUE_MAX ?
			    P11P_VALUE_MAX : t[i].ulValueLen;
			if (p11p_get_ulong(&view, &len) != 0 ||
			    buf_get_u8(&view, &has) != 0 || has > 1)
				goto bad;
			if (has) {
				/* A value only where we gave room, only
				 * as long as the length it claims. */
				if (t[i].pValue == NULL ||
				    p11p_get_string(&view, &v, &vlen,
				    room) != 0 || vlen != len)
					goto bad;
			} else if (t[i].pValue != NULL &&
			    len != CK_UNAVAILABLE_INFORMATION && len <= room)
				goto bad;
			if (pass == 1) {
				if (has && vlen > 0)
					memcpy(t[i].pValue, v, vlen);
				t[i].ulValueLen = len;
			}
		}
		if (buf_end(&view) != 0)
			goto bad;
	}
	goto done;
 bad:
	rv = px_bad(CKR_DEVICE_REMOVED);
 done:
	buf_free(q);
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
	struct buf		*q = NULL;
	CK_OBJECT_HANDLE	 a, b;
	CK_RV			 rv;
	int			 out;

	if (mech == NULL || hpub == NULL || hpriv == NULL)
		return CKR_ARGUMENTS_BAD;
	if (!px_mech_ok(mech))
		return CKR_MECHANISM_PARAM_INVALID;
	pthread_mutex_lock(&P.mu);
	if ((rv = px_begin(P11P_GENERATE_KEY_PAIR, CKR_DEVICE_REMOVED, &q)) !=
	    CKR_OK)
		goto done;
	rv = CKR_HOST_MEMORY;
	if (p11p_put_ulong(q, session) != 0 ||
	    p11p_put_ulong(q, mech->mechanism) != 0)
		goto done;
	if ((rv = p11p_put_tmpl(q, pub, npub)) != CKR_OK ||
	    (rv = p11p_put_tmpl(q, priv, npriv)) != CKR_OK)
		goto done;
	if ((out = px_call(P11P_GENERATE_KEY_PAIR, q, CKR_DEVICE_REMOVED,
	    &rv)) == -1)
		goto done;
	if (out != (rv == CKR_OK) || (out && (p11p_get_ulong(P.rx, &a) != 0 ||
	    p11p_get_ulong(P.rx, &b) != 0 || buf_end(P.rx) != 0)))
		goto bad;
	if (out) {
		*hpub = a;
		*hpriv = b;
	}
	goto done;
 bad:
	rv = px_bad(CKR_DEVICE_REMOVED);
 done:
	buf_free(q);
	pthread_mutex_unlock(&P.mu);
	return rv;
}

/* hsm/ signs with session copies of token keys (hsm_key_copy()). */
static CK_RV
px_C_CopyObject(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE obj,
    CK_ATTRIBUTE *t, CK_ULONG n, CK_OBJECT_HANDLE *hnew)
{
	struct buf		*q = NULL;
	CK_OBJECT_HANDLE	 a;
	CK_RV			 rv;
	int			 out;

	if (hnew == NULL || (n > 0 && t == NULL))
		return CKR_ARGUMENTS_BAD;
	pthread_mutex_lock(&P.mu);
	if ((rv = px_begin(P11P_COPY_OBJECT, CKR_DEVICE_REMOVED, &q)) !=
	    CKR_OK)
		goto done;
	rv = CKR_HOST_MEMORY;
	if (p11p_put_ulong(q, session) != 0 || p11p_put_ulong(q, obj) != 0)
		goto done;
	if ((rv = p11p_put_tmpl(q, t, n)) != CKR_OK)
		goto done;
	if ((out = px_call(P11P_COPY_OBJECT, q, CKR_DEVICE_REMOVED, &rv)) ==
	    -1)
		goto done;
	if (out != (rv == CKR_OK) || (out && (p11p_get_ulong(P.rx, &a) != 0 ||
	    buf_end(P.rx) != 0)))
		goto bad;
	if (out)
		*hnew = a;
	goto done;
 bad:
	rv = px_bad(CKR_DEVICE_REMOVED);
 done:
	buf_free(q);
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
	struct buf	*q = NULL;
	CK_RV		 rv;
	int		 out;

	if (mech == NULL)
		return CKR_ARGUMENTS_BAD;
	if (!px_mech_ok(mech))
		return CKR_MECHANISM_PARAM_INVALID;
	pthread_mutex_lock(&P.mu);
	if ((rv = px_begin(P11P_SIGN_INIT, CKR_DEVICE_REMOVED, &q)) != CKR_OK)
		goto done;
	rv = CKR_HOST_MEMORY;
	if (p11p_put_ulong(q, session) != 0 ||
	    p11p_put_ulong(q, mech->mechanism) != 0 ||
	    p11p_put_ulong(q, key) != 0)
		goto done;
	if ((out = px_call(P11P_SIGN_INIT, q, CKR_DEVICE_REMOVED, &rv)) == -1)
		goto done;
	if (out || buf_end(P.rx) != 0)
		rv = px_bad(CKR_DEVICE_REMOVED);
 done:
	buf_free(q);
	pthread_mutex_unlock(&P.mu);
	return rv;
}

/*
 * CKR_OK and CKR_BUFFER_TOO_SMALL come with the length; the signature
 * comes exactly when the caller gave a buffer and CKR_OK, and only as
 * long as the room the caller gave.
 */
static CK_RV
px_C_Sign(CK_SESSION_HANDLE session, CK_BYTE *data, CK_ULONG data_len,
    CK_BYTE *sig, CK_ULONG *sig_len)
{
	struct buf	*q = NULL;
	const uint8_t	*v = NULL;
	size_t		 vlen = 0;
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
	rv = CKR_HOST_MEMORY;
	if (p11p_put_ulong(q, session) != 0 ||
	    p11p_put_string(q, data, data_len) != 0 ||
	    buf_put_u8(q, sig != NULL) != 0 ||
	    p11p_put_ulong(q, sig != NULL ? room : 0) != 0)
		goto done;
	if ((out = px_call(P11P_SIGN, q, CKR_DEVICE_REMOVED, &rv)) == -1)
		goto done;
	if (rv != CKR_OK && rv != CKR_BUFFER_TOO_SMALL) {
		if (out)
			goto bad;
		goto done;
	}
	if (!out || p11p_get_ulong(P.rx, &len) != 0 ||
	    buf_get_u8(P.rx, &has) != 0 ||
	    has != (sig != NULL && rv == CKR_OK))
		goto bad;
	if (has && (p11p_get_string(P.rx, &v, &vlen, room) != 0 ||
	    vlen != len))
		goto bad;
	/* Too small means longer than the room we gave. */
	if (rv == CKR_BUFFER_TOO_SMALL && (sig == NULL || len <= room))
		goto bad;
	if (buf_end(P.rx) != 0)
		goto bad;
	if (has && vlen > 0)
		memcpy(sig, v, vlen);
	*sig_len = len;
	goto done;
 bad:
	rv = px_bad(CKR_DEVICE_REMOVED);
 done:
	buf_free(q);
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
	.C_CopyObject = px_C_CopyObject,
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
