/*
 * PKCS#11 through raw Cryptoki: module loading (p11-kit), token choice by
 * RFC 7512 URI, login, Ed25519 keys and signatures, and recovery from
 * the ways tokens fail (see the contract in hsm.h).
 *
 * Every Cryptoki call goes through hsm_call(), which runs one "job" (one
 * Cryptoki function) either directly or, with the watchdog on, in the
 * handle's worker thread.  A job reads its arguments from and writes its
 * results to h->f, a frame the handle owns, never the caller's stack: if
 * the watchdog gives up on a call, the caller returns while the module
 * may still write into those buffers.
 */
#include "config.h"

#include <sys/mman.h>

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <p11-kit/p11-kit.h>
#include <p11-kit/pkcs11.h>
#include <p11-kit/uri.h>

#include "buf.h"
#include "crypto.h"
#include "err.h"
#include "hsm.h"
#include "hsm_local.h"
#include "log.h"

#define HSM_ATTRS_MAX	12
#define HSM_SLOTS_MAX	256
#define HSM_FIND_CHUNK	16	/* handles per C_FindObjects */
#define HSM_FIND_MAX	4096	/* objects one search may return */
#define HSM_INDEX_MAX	(1UL << 22) /* objects an enumeration may return */
#define HSM_PROXY_NAME	"p11-kit-proxy"
#define HSM_SPKI_LEN	44	/* Ed25519 SubjectPublicKeyInfo (RFC 8410) */
#define HSM_COPY_MAX	4096	/* live session copies of keys */
#define HSM_COPY_BITS0	6	/* copy table: 2^6 slots at first, */
#define HSM_COPY_BITS	13	/* doubled up to 2^13, half full */
_Static_assert(HSM_COPY_MAX <= (1U << HSM_COPY_BITS) / 2,
    "the copy table stays half free");

/* CKA_EC_PARAMS for Ed25519: PrintableString "edwards25519" (what
 * SoftHSM 2.6 and PKCS#11 3.0 "curve name" use) and the RFC 8410 OID
 * 1.3.101.112 (the PKCS#11 3.0 alternative). */
static const uint8_t hsm_ecp_name[] = {
	0x13, 0x0c, 'e', 'd', 'w', 'a', 'r', 'd', 's', '2', '5', '5', '1', '9'
};
static const uint8_t hsm_ecp_oid[] = { 0x06, 0x03, 0x2b, 0x65, 0x70 };
/* SEQUENCE { SEQUENCE { OID 1.3.101.112 } BIT STRING (0 unused) }, then
 * the 32 key bytes. */
static const uint8_t hsm_spki_head[] = {
	0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00
};

/* Everything a Cryptoki call reads or writes (see the file comment). */
struct hsm_frame {
	CK_C_INITIALIZE_ARGS	 init;
	CK_SLOT_ID		 slots[HSM_SLOTS_MAX];
	CK_ULONG		 nslots;
	CK_SLOT_ID		 slot;
	CK_INFO			 info;
	CK_SLOT_INFO		 slot_info;
	CK_TOKEN_INFO		 token_info;
	CK_SESSION_INFO		 session_info;
	CK_MECHANISM_INFO	 mech_info;
	CK_MECHANISM_TYPE	 mech_type;
	CK_SESSION_HANDLE	 session;
	CK_OBJECT_HANDLE	 obj;
	CK_OBJECT_HANDLE	 obj2;
	CK_MECHANISM		 mech;

	CK_ATTRIBUTE		 t1[HSM_ATTRS_MAX];
	CK_ULONG		 n1;
	CK_ATTRIBUTE		 t2[HSM_ATTRS_MAX];
	CK_ULONG		 n2;

	/* Values templates point at. */
	CK_BBOOL		 yes;
	CK_BBOOL		 no;
	CK_OBJECT_CLASS		 cls_priv;
	CK_OBJECT_CLASS		 cls_pub;
	CK_KEY_TYPE		 ktype;
	uint8_t			 label[HSM_LABEL_MAX];
	CK_ULONG		 label_len;
	uint8_t			 id[HSM_ID_MAX];
	CK_ULONG		 id_len;
	uint8_t			 ecparams[sizeof(hsm_ecp_name)];
	CK_ULONG		 ecparams_len;

	/* Attributes read back. */
	CK_OBJECT_CLASS		 rclass;
	CK_KEY_TYPE		 rktype;
	uint8_t			 rlabel[HSM_LABEL_MAX];
	uint8_t			 rid[HSM_ID_MAX];
	uint8_t			 rpoint[64];
	uint8_t			 rparams[32];
	uint8_t			 rspki[64];
	uint8_t			 spki[HSM_SPKI_LEN];
	CK_BBOOL		 rtoken;
	CK_BBOOL		 rsensitive;
	CK_BBOOL		 rextractable;

	/* Search results. */
	CK_OBJECT_HANDLE	 chunk[HSM_FIND_CHUNK];
	CK_ULONG		 nchunk;

	CK_UTF8CHAR		 pin[HSM_PIN_MAX];
	CK_ULONG		 pin_len;
	int			 pin_null;

	uint8_t			*msg;
	size_t			 msg_cap;
	CK_ULONG		 msg_len;
	uint8_t			 sig[128];
	CK_ULONG		 sig_len;
};

struct hsm_worker {
	pthread_t		 tid;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	CK_RV			(*job)(struct hsm *);
	CK_RV			 rv;
	int			 done;
	int			 quit;
	int			 started;
};

/*
 * The key index (hsm_index_load() in hsm.h).  One entry per Ed25519
 * private key whose label starts with the prefix, chained by label and
 * by id; the labels and ids of every other object on the token are kept
 * only as hashes, enough to send a generation whose name might be taken
 * to the exact token searches.
 */
struct hsm_ixkey {
	struct hsm_ixkey	*lnext;		/* same label bucket */
	struct hsm_ixkey	*inext;		/* same id bucket */
	CK_OBJECT_HANDLE	 priv;
	CK_OBJECT_HANDLE	 pub;
	unsigned		 npub;		/* public halves found */
	uint8_t			 pk[ED25519_PK_LEN];
	uint8_t			 have_pk;	/* pk read from pub */
	/* The names at their length (a signer indexes thousands of
	 * keys): the id, then the label and a NUL (IXK_ID, IXK_LABEL). */
	uint8_t			 id_len;	/* <= HSM_ID_MAX */
	uint8_t			 label_len;	/* <= HSM_LABEL_MAX */
	uint8_t			 names[];
};
#define IXK_ID(k)	((k)->names)
#define IXK_LABEL(k)	((char *)(k)->names + (k)->id_len)
_Static_assert(HSM_ID_MAX <= UINT8_MAX && HSM_LABEL_MAX <= UINT8_MAX,
    "struct hsm_ixkey keeps name lengths in a byte");

struct hsm_index {
	int			 on;		/* hsm_index_load() called */
	int			 valid;		/* built in session epoch */
	unsigned		 epoch;
	char			*prefix;	/* NULL: every label */
	struct hsm_ixkey	**keys;		/* in the token's order */
	size_t			 nkeys;
	size_t			 keys_alloc;
	struct hsm_ixkey	**lb;		/* label buckets */
	struct hsm_ixkey	**ib;		/* id buckets */
	size_t			 nb;		/* a power of two, or 0 */
	uint64_t		*other;		/* sorted name hashes */
	size_t			 nother;
	size_t			 other_alloc;
};

/*
 * A token key's session copy (hsm_key_copy()); key 0: a free slot.  pk8
 * (the key's public key's first 8 bytes) catches a handle the token gave
 * to another key; seen is when the token object was last known to exist.
 */
struct hsm_copy {
	CK_OBJECT_HANDLE	 key;
	CK_OBJECT_HANDLE	 copy;
	uint64_t		 pk8;
	time_t			 seen;
};

enum hsm_pin_mode {
	HSM_PIN_NONE,
	HSM_PIN_VALUE,
	HSM_PIN_PROTECTED,
};

struct hsm {
	/* Configuration (copies). */
	char			*module;
	char			*uri_str;
	char			*pin_source;
	unsigned		 timeout_ms;
	int			 allow_final_try;

	P11KitUri		*uri;
	CK_FUNCTION_LIST	*fl;
	CK_FUNCTION_LIST	**mlist;	/* when loaded by name */
	void			*dl;		/* the proxy */
	struct hsm_frame	*f;
	struct hsm_worker	 w;

	/* The PIN, in its own locked page (see hsm_pin_alloc()). */
	char			*pin;
	size_t			 pin_map;
	enum hsm_pin_mode	 pin_mode;
	int			 pin_bad;	/* wrong: never again */

	/* The chosen token, so a re-initialisation finds the same one. */
	char			 tok_label[33];
	char			 tok_serial[17];
	CK_SLOT_ID		 slot;

	int			 opened;
	int			 initialized;
	int			 have_session;
	int			 stale_session;	/* to close first */
	int			 need_reinit;
	int			 hung;
	const char		*hung_call;
	unsigned		 epoch;	/* +1 on every new session */
	CK_SESSION_HANDLE	 session;
	/* Does the token keep CKA_PUBLIC_KEY_INFO on a private key?  0 not
	 * tried yet, 1 yes, -1 no (public keys then stay token objects). */
	int			 spki_ok;
	/*
	 * Session copies of token keys, signed with instead of the token
	 * object (hsm_key_copy()): an open-addressing table by the token
	 * object's handle, holding copies made in session epoch cp_epoch
	 * (a new session has none).  copy_ok: 0 not tried yet, 1 the token
	 * makes them, -1 it cannot (or they are not sensitive): token
	 * objects only, for the life of the handle.
	 */
	struct hsm_copy		*cp;
	unsigned		 cp_bits;	/* 2^cp_bits slots */
	size_t			 ncp;
	size_t			 cp_cap;	/* copies allowed now */
	unsigned		 cp_epoch;
	int			 copy_ok;
	unsigned		 copy_check_s;

	/* The first failure of the current public call. */
	int			 err_set;
	enum hsm_status		 err_status;
	CK_RV			 err_rv;
	const char		*err_call;
	char			 err_msg[384];
	CK_RV			 last_rv;	/* most recent failure */

	/* The last warning logged, to say a repeated one once a minute. */
	char			 warn_msg[384];
	time_t			 warn_at;
	unsigned		 warn_repeats;

	struct hsm_index	 ix;
	struct hsm_stats	 stats;
};

static int	hsm_session_open(struct hsm *, const char *);
static int	hsm_reinit_inner(struct hsm *, const char *);
static void	hsm_cp_destroy(struct hsm *, const char *, CK_OBJECT_HANDLE);

/*
 * Errors.
 */

static void
hsm_error_clear(struct hsm *h)
{
	h->err_set = 0;
	h->err_status = HSM_OK;
	h->err_rv = CKR_OK;
	h->err_call = "";
	h->err_msg[0] = '\0';
	h->last_rv = CKR_OK;
}

/*
 * While the token is out every call fails the same way, and the caller
 * retries every few seconds: the same warning again within
 * HSM_WARN_REPEAT_SECS goes to debug and is counted, and the count is
 * given when the warning is next logged.
 */
#define HSM_WARN_REPEAT_SECS	60

static void
hsm_warn(struct hsm *h, const char *msg)
{
	time_t	now = time(NULL);

	if (h->warn_at != 0 && now >= h->warn_at &&
	    now - h->warn_at < HSM_WARN_REPEAT_SECS &&
	    strcmp(msg, h->warn_msg) == 0) {
		h->warn_repeats++;
		log_debug("%s", msg);
		return;
	}
	if (h->warn_repeats > 0 && strcmp(msg, h->warn_msg) == 0)
		log_warnx("%s (and %u times in the last minute)", msg,
		    h->warn_repeats);
	else {
		if (h->warn_repeats > 0)
			log_warnx("%s (%u times more)", h->warn_msg,
			    h->warn_repeats);
		log_warnx("%s", msg);
	}
	(void)snprintf(h->warn_msg, sizeof(h->warn_msg), "%s", msg);
	h->warn_at = now;
	h->warn_repeats = 0;
}

static void __attribute__((format(printf, 5, 6)))
hsm_fail(struct hsm *h, enum hsm_status st, const char *call, CK_RV rv,
    const char *fmt, ...)
{
	char	msg[sizeof(h->err_msg)];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* "No such key" is an answer, not trouble: callers that expected
	 * the key say so themselves (key generation looks first). */
	if (st == HSM_E_NOT_FOUND)
		log_debug("%s", msg);
	else
		hsm_warn(h, msg);
	h->last_rv = rv;
	if (h->err_set)
		return;
	h->err_set = 1;
	h->err_status = st;
	h->err_rv = rv;
	h->err_call = call != NULL ? call : "";
	memcpy(h->err_msg, msg, sizeof(h->err_msg));
}

static enum hsm_status
hsm_rv_status(CK_RV rv)
{
	switch (rv) {
	case CKR_PIN_INCORRECT:
	case CKR_PIN_INVALID:
	case CKR_PIN_LEN_RANGE:
	case CKR_PIN_EXPIRED:
		return HSM_E_PIN;
	case CKR_PIN_LOCKED:
		return HSM_E_PIN_LOCKED;
	case CKR_DEVICE_REMOVED:
	case CKR_TOKEN_NOT_PRESENT:
	case CKR_TOKEN_NOT_RECOGNIZED:
	case CKR_DEVICE_ERROR:
	case CKR_SLOT_ID_INVALID:
		return HSM_E_NO_TOKEN;
	case CKR_MECHANISM_INVALID:
	case CKR_CURVE_NOT_SUPPORTED:
		return HSM_E_UNSUPPORTED;
	case HSM_RV_TIMEOUT:
	case HSM_RV_UNUSABLE:
		return HSM_E_HUNG;
	default:
		return HSM_E_FAILED;
	}
}

/*
 * A Cryptoki call failed: record it, and change the handle's state so
 * that the next step recovers (hsm.h: session reopen, re-initialisation).
 */
static void
hsm_ckfail(struct hsm *h, const char *where, const char *call, CK_RV rv)
{
	switch (rv) {
	case CKR_SESSION_HANDLE_INVALID:
	case CKR_SESSION_CLOSED:
		h->have_session = 0;
		break;
	case CKR_USER_NOT_LOGGED_IN:
	case CKR_OPERATION_ACTIVE:
		/* The session exists but is in a state we cannot use
		 * (logged out, or an operation a failed call left open):
		 * close it and start over in a new one. */
		h->have_session = 0;
		h->stale_session = 1;
		break;
	case CKR_DEVICE_REMOVED:
	case CKR_TOKEN_NOT_PRESENT:
	case CKR_TOKEN_NOT_RECOGNIZED:
	case CKR_DEVICE_ERROR:
	case CKR_SLOT_ID_INVALID:
	case CKR_CRYPTOKI_NOT_INITIALIZED:
		h->have_session = 0;
		h->need_reinit = 1;
		break;
	}
	hsm_fail(h, hsm_rv_status(rv), call, rv, "%s: %s: %s", where, call,
	    hsm_rv_name(rv));
}

/*
 * The worker thread and the watchdog.
 */

static void *
hsm_worker_main(void *arg)
{
	struct hsm	*h = arg;
	CK_RV		(*job)(struct hsm *);
	CK_RV		 rv;

	pthread_mutex_lock(&h->w.mu);
	for (;;) {
		while (!h->w.quit && (h->w.job == NULL || h->w.done))
			pthread_cond_wait(&h->w.cv, &h->w.mu);
		if (h->w.quit)
			break;
		job = h->w.job;
		pthread_mutex_unlock(&h->w.mu);
		rv = job(h);
		pthread_mutex_lock(&h->w.mu);
		h->w.rv = rv;
		h->w.done = 1;
		pthread_cond_broadcast(&h->w.cv);
	}
	pthread_mutex_unlock(&h->w.mu);
	return NULL;
}

static int
hsm_worker_start(struct hsm *h)
{
	pthread_condattr_t	ca;
	int			r;

	if (h->w.started)
		return 0;
	if ((r = pthread_mutex_init(&h->w.mu, NULL)) != 0)
		goto err;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	r = pthread_cond_init(&h->w.cv, &ca);
	pthread_condattr_destroy(&ca);
	if (r != 0) {
		pthread_mutex_destroy(&h->w.mu);
		goto err;
	}
	if ((r = pthread_create(&h->w.tid, NULL, hsm_worker_main, h)) != 0) {
		pthread_cond_destroy(&h->w.cv);
		pthread_mutex_destroy(&h->w.mu);
		goto err;
	}
	h->w.started = 1;
	return 0;
 err:
	errno = r;
	log_warn("hsm_open: watchdog thread");
	return -1;
}

/* 1 if no job is pending or running (the worker may take a new one). */
static int
hsm_worker_idle(struct hsm *h)
{
	int	idle;

	pthread_mutex_lock(&h->w.mu);
	idle = h->w.job == NULL || h->w.done;
	if (idle) {
		h->w.job = NULL;
		h->w.done = 0;
	}
	pthread_mutex_unlock(&h->w.mu);
	return idle;
}

/*
 * Run one job.  With the watchdog, wait at most timeout_ms; on timeout
 * the handle becomes "hung" (hsm.h) and HSM_RV_TIMEOUT is returned.
 */
static CK_RV
hsm_call(struct hsm *h, CK_RV (*job)(struct hsm *), const char *name)
{
	struct timespec	dl;
	CK_RV		rv;
	int		r = 0;

	h->stats.calls++;
	if (h->timeout_ms == 0 || !h->w.started)
		return job(h);
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += h->timeout_ms / 1000;
	dl.tv_nsec += (long)(h->timeout_ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&h->w.mu);
	h->w.job = job;
	h->w.done = 0;
	pthread_cond_broadcast(&h->w.cv);
	while (!h->w.done && r != ETIMEDOUT)
		r = pthread_cond_timedwait(&h->w.cv, &h->w.mu, &dl);
	if (!h->w.done) {
		pthread_mutex_unlock(&h->w.mu);
		h->hung = 1;
		h->hung_call = name;
		h->have_session = 0;
		h->stats.timeouts++;
		return HSM_RV_TIMEOUT;
	}
	rv = h->w.rv;
	h->w.job = NULL;
	h->w.done = 0;
	pthread_mutex_unlock(&h->w.mu);
	return rv;
}

/*
 * Jobs: one Cryptoki function each, arguments in h->f.
 */

static CK_RV
job_initialize(struct hsm *h)
{
	return h->fl->C_Initialize(&h->f->init);
}

static CK_RV
job_finalize(struct hsm *h)
{
	return h->fl->C_Finalize(NULL);
}

static CK_RV
job_get_info(struct hsm *h)
{
	return h->fl->C_GetInfo(&h->f->info);
}

static CK_RV
job_get_slot_list(struct hsm *h)
{
	h->f->nslots = HSM_SLOTS_MAX;
	return h->fl->C_GetSlotList(CK_TRUE, h->f->slots, &h->f->nslots);
}

static CK_RV
job_get_slot_info(struct hsm *h)
{
	return h->fl->C_GetSlotInfo(h->f->slot, &h->f->slot_info);
}

static CK_RV
job_get_token_info(struct hsm *h)
{
	return h->fl->C_GetTokenInfo(h->f->slot, &h->f->token_info);
}

static CK_RV
job_get_mechanism_info(struct hsm *h)
{
	return h->fl->C_GetMechanismInfo(h->f->slot, h->f->mech_type,
	    &h->f->mech_info);
}

static CK_RV
job_open_session(struct hsm *h)
{
	return h->fl->C_OpenSession(h->f->slot,
	    CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &h->f->session);
}

static CK_RV
job_close_session(struct hsm *h)
{
	return h->fl->C_CloseSession(h->f->session);
}

static CK_RV
job_get_session_info(struct hsm *h)
{
	return h->fl->C_GetSessionInfo(h->f->session, &h->f->session_info);
}

static CK_RV
job_login(struct hsm *h)
{
	struct hsm_frame	*f = h->f;

	return h->fl->C_Login(f->session, CKU_USER,
	    f->pin_null ? NULL : f->pin, f->pin_null ? 0 : f->pin_len);
}

static CK_RV
job_logout(struct hsm *h)
{
	return h->fl->C_Logout(h->f->session);
}

static CK_RV
job_find_init(struct hsm *h)
{
	return h->fl->C_FindObjectsInit(h->f->session, h->f->t1, h->f->n1);
}

static CK_RV
job_find(struct hsm *h)
{
	return h->fl->C_FindObjects(h->f->session, h->f->chunk,
	    HSM_FIND_CHUNK, &h->f->nchunk);
}

static CK_RV
job_find_final(struct hsm *h)
{
	return h->fl->C_FindObjectsFinal(h->f->session);
}

static CK_RV
job_get_attrs(struct hsm *h)
{
	return h->fl->C_GetAttributeValue(h->f->session, h->f->obj,
	    h->f->t1, h->f->n1);
}

static CK_RV
job_generate(struct hsm *h)
{
	struct hsm_frame	*f = h->f;

	return h->fl->C_GenerateKeyPair(f->session, &f->mech, f->t1, f->n1,
	    f->t2, f->n2, &f->obj, &f->obj2);
}

static CK_RV
job_set_attrs(struct hsm *h)
{
	return h->fl->C_SetAttributeValue(h->f->session, h->f->obj,
	    h->f->t1, h->f->n1);
}

static CK_RV
job_sign_init(struct hsm *h)
{
	return h->fl->C_SignInit(h->f->session, &h->f->mech, h->f->obj);
}

static CK_RV
job_sign(struct hsm *h)
{
	struct hsm_frame	*f = h->f;

	f->sig_len = sizeof(f->sig);
	return h->fl->C_Sign(f->session, f->msg, f->msg_len, f->sig,
	    &f->sig_len);
}

static CK_RV
job_copy(struct hsm *h)
{
	struct hsm_frame	*f = h->f;

	return h->fl->C_CopyObject(f->session, f->obj, f->t1, f->n1,
	    &f->obj2);
}

static CK_RV
job_destroy(struct hsm *h)
{
	return h->fl->C_DestroyObject(h->f->session, h->f->obj);
}

/*
 * Small helpers.
 */

static void
hsm_tmpl_add(CK_ATTRIBUTE *t, CK_ULONG *n, CK_ATTRIBUTE_TYPE type,
    void *p, CK_ULONG len)
{
	if (*n >= HSM_ATTRS_MAX)
		fatalx("hsm_tmpl_add: template overflow");
	t[*n].type = type;
	t[*n].pValue = p;
	t[*n].ulValueLen = len;
	(*n)++;
}

/* A blank-padded Cryptoki string field into a C string. */
static void
hsm_strpad(char *out, size_t outlen, const CK_UTF8CHAR *in, size_t inlen)
{
	size_t	n = inlen < outlen - 1 ? inlen : outlen - 1;

	memcpy(out, in, n);
	while (n > 0 && (out[n - 1] == ' ' || out[n - 1] == '\0'))
		n--;
	out[n] = '\0';
}

static const char *
hsm_tries_left(CK_FLAGS flags)
{
	if (flags & CKF_USER_PIN_LOCKED)
		return "token says: PIN locked, no tries left";
	if (flags & CKF_USER_PIN_FINAL_TRY)
		return "token says: 1 try left";
	if (flags & CKF_USER_PIN_COUNT_LOW)
		return "token says: tries count low";
	return "token gives no try count";
}

/*
 * Module and token.
 */

static char *
hsm_proxy_path(void)
{
	Dl_info		 di;
	const char	*slash;
	char		*p;

	/* The proxy lives next to libp11-kit (it is libp11-kit itself). */
	if (dladdr((void *)p11_kit_module_load, &di) == 0 ||
	    di.dli_fname == NULL ||
	    (slash = strrchr(di.dli_fname, '/')) == NULL)
		return strdup(HSM_PROXY_NAME ".so");
	if (asprintf(&p, "%.*s/" HSM_PROXY_NAME ".so",
	    (int)(slash - di.dli_fname), di.dli_fname) == -1)
		return NULL;
	return p;
}

static int
hsm_proxy_load(struct hsm *h, const char *path)
{
	CK_RV	(*get)(CK_FUNCTION_LIST **);
	CK_RV	 rv;

	if ((h->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		hsm_fail(h, HSM_E_MODULE, NULL, CKR_OK,
		    "hsm_open: cannot load %s: %s", path, dlerror());
		return -1;
	}
	get = (CK_RV (*)(CK_FUNCTION_LIST **))dlsym(h->dl,
	    "C_GetFunctionList");
	if (get == NULL || (rv = get(&h->fl)) != CKR_OK || h->fl == NULL) {
		hsm_fail(h, HSM_E_MODULE, "C_GetFunctionList", CKR_OK,
		    "hsm_open: %s: no PKCS#11 function list", path);
		h->fl = NULL;
		dlclose(h->dl);
		h->dl = NULL;
		return -1;
	}
	return 0;
}

static int
hsm_module_load(struct hsm *h)
{
	const char	*spec = h->module;
	char		*path = NULL;
	int		 ret = -1;

	if (spec == NULL)
		spec = p11_kit_uri_get_module_path(h->uri);
	if (spec == NULL)
		spec = p11_kit_uri_get_module_name(h->uri);
	if (spec == NULL)
		spec = HSM_SO_DEFAULT;

	if (strcmp(spec, HSM_PROXY_NAME) == 0) {
		/* p11-kit will not load its own proxy as a module: it is
		 * libp11-kit itself, so take its function list directly. */
		if ((path = hsm_proxy_path()) == NULL) {
			hsm_fail(h, HSM_E_FAILED, NULL, CKR_HOST_MEMORY,
			    "hsm_open: out of memory");
			return -1;
		}
		if (hsm_proxy_load(h, path) == -1)
			goto err;
	} else if (strchr(spec, '/') != NULL) {
		/* Managed by p11-kit: each load gets its own sessions, so
		 * two handles on one module do not finalise each other. */
		if ((h->fl = p11_kit_module_load(spec, 0)) == NULL) {
			hsm_fail(h, HSM_E_MODULE, NULL, CKR_OK,
			    "hsm_open: cannot load module %s: %s", spec,
			    p11_kit_message() ? p11_kit_message() : "?");
			goto err;
		}
	} else {
		if ((h->mlist = p11_kit_modules_load(NULL, 0)) == NULL ||
		    (h->fl = p11_kit_module_for_name(h->mlist, spec)) ==
		    NULL) {
			hsm_fail(h, HSM_E_MODULE, NULL, CKR_OK,
			    "hsm_open: no p11-kit registered module named "
			    "\"%s\" (see p11-kit list-modules)", spec);
			goto err;
		}
	}
	log_debug("hsm_open: module %s", spec);
	ret = 0;
 err:
	free(path);
	return ret;
}

static void
hsm_module_unload(struct hsm *h)
{
	if (h->mlist != NULL)
		p11_kit_modules_release(h->mlist);
	else if (h->dl != NULL)
		dlclose(h->dl);
	else if (h->fl != NULL)
		p11_kit_module_release(h->fl);
	h->mlist = NULL;
	h->dl = NULL;
	h->fl = NULL;
}

static int
hsm_initialize(struct hsm *h, const char *where)
{
	CK_RV	rv;

	memset(&h->f->init, 0, sizeof(h->f->init));
	h->f->init.flags = CKF_OS_LOCKING_OK;
	rv = hsm_call(h, job_initialize, "C_Initialize");
	/* Already initialised by someone else in this process: usable. */
	if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		hsm_ckfail(h, where, "C_Initialize", rv);
		h->need_reinit = 1;
		return -1;
	}
	h->initialized = 1;
	return 0;
}

static void
hsm_finalize(struct hsm *h, const char *where)
{
	CK_RV	rv;

	if (!h->initialized)
		return;
	h->initialized = 0;
	h->have_session = 0;
	if ((rv = hsm_call(h, job_finalize, "C_Finalize")) != CKR_OK)
		log_warnx("%s: C_Finalize: %s", where, hsm_rv_name(rv));
}

/* Choose the one present token the URI (and, once chosen, its serial
 * and label) match. */
static int
hsm_token_select(struct hsm *h, const char *where)
{
	struct hsm_frame	*f = h->f;
	CK_SLOT_ID		 want_slot, chosen = 0;
	CK_TOKEN_INFO		 chosen_info;
	char			 serial[17], label[33];
	CK_ULONG		 i, n;
	CK_RV			 rv;
	int			 matches = 0;

	if ((rv = hsm_call(h, job_get_info, "C_GetInfo")) != CKR_OK) {
		hsm_ckfail(h, where, "C_GetInfo", rv);
		return -1;
	}
	if (!p11_kit_uri_match_module_info(h->uri, &f->info)) {
		hsm_fail(h, HSM_E_NO_TOKEN, NULL, CKR_OK,
		    "%s: the module does not match %s", where, h->uri_str);
		return -1;
	}
	if ((rv = hsm_call(h, job_get_slot_list, "C_GetSlotList")) !=
	    CKR_OK) {
		hsm_ckfail(h, where, "C_GetSlotList", rv);
		return -1;
	}
	n = f->nslots;
	want_slot = p11_kit_uri_get_slot_id(h->uri);
	memset(&chosen_info, 0, sizeof(chosen_info));
	for (i = 0; i < n && i < HSM_SLOTS_MAX; i++) {
		f->slot = f->slots[i];
		if (want_slot != (CK_SLOT_ID)-1 && f->slot != want_slot)
			continue;
		if ((rv = hsm_call(h, job_get_slot_info, "C_GetSlotInfo")) !=
		    CKR_OK || (rv = hsm_call(h, job_get_token_info,
		    "C_GetTokenInfo")) != CKR_OK) {
			if (rv == HSM_RV_TIMEOUT) {
				hsm_ckfail(h, where, "C_GetTokenInfo", rv);
				return -1;
			}
			/* A token can go away while we look. */
			log_info("%s: slot %lu: %s", where, f->slot,
			    hsm_rv_name(rv));
			continue;
		}
		/* SoftHSM always offers a blank token; it holds no keys. */
		if (!(f->token_info.flags & CKF_TOKEN_INITIALIZED))
			continue;
		if (!p11_kit_uri_match_slot_info(h->uri, &f->slot_info) ||
		    !p11_kit_uri_match_token_info(h->uri, &f->token_info))
			continue;
		hsm_strpad(serial, sizeof(serial), f->token_info.serialNumber,
		    sizeof(f->token_info.serialNumber));
		hsm_strpad(label, sizeof(label), f->token_info.label,
		    sizeof(f->token_info.label));
		if (h->tok_serial[0] != '\0' &&
		    (strcmp(serial, h->tok_serial) != 0 ||
		    strcmp(label, h->tok_label) != 0))
			continue;
		if (matches++ > 0)
			log_warnx("%s: token \"%s\" serial %s in slot %lu "
			    "also matches", where, label, serial, f->slot);
		else {
			chosen = f->slot;
			chosen_info = f->token_info;
		}
	}
	if (matches == 0) {
		hsm_fail(h, HSM_E_NO_TOKEN, NULL, CKR_OK,
		    "%s: no token present matches %s", where,
		    h->uri_str != NULL ? h->uri_str : "pkcs11:");
		return -1;
	}
	if (matches > 1) {
		hsm_fail(h, HSM_E_AMBIGUOUS, NULL, CKR_OK,
		    "%s: %d tokens match %s; add token= or serial=", where,
		    matches, h->uri_str != NULL ? h->uri_str : "pkcs11:");
		return -1;
	}
	h->slot = chosen;
	hsm_strpad(h->tok_serial, sizeof(h->tok_serial),
	    chosen_info.serialNumber, sizeof(chosen_info.serialNumber));
	hsm_strpad(h->tok_label, sizeof(h->tok_label), chosen_info.label,
	    sizeof(chosen_info.label));
	return 0;
}

static int
hsm_mechanisms_check(struct hsm *h, const char *where)
{
	static const struct {
		CK_MECHANISM_TYPE	 type;
		CK_FLAGS		 need;
		const char		*name;
	} mechs[] = {
		{ CKM_EC_EDWARDS_KEY_PAIR_GEN, CKF_GENERATE_KEY_PAIR,
		    "CKM_EC_EDWARDS_KEY_PAIR_GEN" },
		{ CKM_EDDSA, CKF_SIGN, "CKM_EDDSA" },
	};
	size_t	i;
	CK_RV	rv;

	for (i = 0; i < sizeof(mechs) / sizeof(mechs[0]); i++) {
		h->f->slot = h->slot;
		h->f->mech_type = mechs[i].type;
		rv = hsm_call(h, job_get_mechanism_info,
		    "C_GetMechanismInfo");
		if (rv == CKR_MECHANISM_INVALID ||
		    (rv == CKR_OK &&
		    !(h->f->mech_info.flags & mechs[i].need))) {
			hsm_fail(h, HSM_E_UNSUPPORTED, "C_GetMechanismInfo",
			    rv, "%s: token \"%s\" does not support %s", where,
			    h->tok_label, mechs[i].name);
			return -1;
		}
		if (rv != CKR_OK) {
			hsm_ckfail(h, where, "C_GetMechanismInfo", rv);
			return -1;
		}
	}
	return 0;
}

static int
hsm_login(struct hsm *h, const char *where)
{
	struct hsm_frame	*f = h->f;
	CK_FLAGS		 flags;
	CK_RV			 rv;

	if (h->pin_mode == HSM_PIN_NONE)
		return 0;
	if (h->pin_bad) {
		hsm_fail(h, HSM_E_PIN, "C_Login", CKR_PIN_INCORRECT,
		    "%s: the PIN was wrong before; not trying it again "
		    "(tokens lock)", where);
		return -1;
	}
	f->slot = h->slot;
	if ((rv = hsm_call(h, job_get_token_info, "C_GetTokenInfo")) !=
	    CKR_OK) {
		hsm_ckfail(h, where, "C_GetTokenInfo", rv);
		return -1;
	}
	flags = f->token_info.flags;
	if (flags & CKF_USER_PIN_LOCKED) {
		hsm_fail(h, HSM_E_PIN_LOCKED, NULL, CKR_OK,
		    "%s: token \"%s\": user PIN is locked; unlock it with the "
		    "SO PIN", where, h->tok_label);
		return -1;
	}
	if ((flags & CKF_USER_PIN_FINAL_TRY) && !h->allow_final_try) {
		hsm_fail(h, HSM_E_PIN_LOCKED, NULL, CKR_OK,
		    "%s: token \"%s\": only 1 PIN try left; refusing to risk "
		    "locking it (log in interactively to reset the count)",
		    where, h->tok_label);
		return -1;
	}
	if (flags & CKF_USER_PIN_COUNT_LOW)
		log_warnx("%s: token \"%s\": a wrong PIN was tried before "
		    "(%s)", where, h->tok_label, hsm_tries_left(flags));
	if (h->pin_mode == HSM_PIN_PROTECTED &&
	    !(flags & CKF_PROTECTED_AUTHENTICATION_PATH)) {
		hsm_fail(h, HSM_E_CONFIG, NULL, CKR_OK,
		    "%s: token \"%s\" has no protected authentication path "
		    "(PIN pad)", where, h->tok_label);
		return -1;
	}
	f->session = h->session;
	f->pin_null = h->pin_mode == HSM_PIN_PROTECTED;
	f->pin_len = 0;
	if (!f->pin_null) {
		f->pin_len = strlen(h->pin);
		memcpy(f->pin, h->pin, f->pin_len);
	}
	h->stats.logins++;
	rv = hsm_call(h, job_login, "C_Login");
	if (rv != HSM_RV_TIMEOUT)
		ob_wipe(f->pin, sizeof(f->pin));
	if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN)
		return 0;
	if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LOCKED ||
	    rv == CKR_PIN_INVALID || rv == CKR_PIN_LEN_RANGE) {
		/* Never again with this PIN: each try counts down. */
		h->pin_bad = 1;
		if (h->pin != NULL)
			ob_wipe(h->pin, HSM_PIN_MAX);
		f->slot = h->slot;
		flags = hsm_call(h, job_get_token_info, "C_GetTokenInfo") ==
		    CKR_OK ? f->token_info.flags : 0;
		hsm_fail(h, hsm_rv_status(rv), "C_Login", rv,
		    "%s: C_Login: %s (%s); not retried", where,
		    hsm_rv_name(rv), hsm_tries_left(flags));
		return -1;
	}
	hsm_ckfail(h, where, "C_Login", rv);
	return -1;
}

/* Open a R/W session on the chosen token; log in if the token does not
 * already consider us logged in. */
static int
hsm_session_open(struct hsm *h, const char *where)
{
	struct hsm_frame	*f = h->f;
	CK_RV			 rv;

	if (h->stale_session) {
		h->stale_session = 0;
		f->session = h->session;
		if ((rv = hsm_call(h, job_close_session, "C_CloseSession")) !=
		    CKR_OK)
			log_info("%s: C_CloseSession: %s", where,
			    hsm_rv_name(rv));
	}
	f->slot = h->slot;
	if ((rv = hsm_call(h, job_open_session, "C_OpenSession")) !=
	    CKR_OK) {
		hsm_ckfail(h, where, "C_OpenSession", rv);
		return -1;
	}
	h->session = f->session;
	h->epoch++;
	if ((rv = hsm_call(h, job_get_session_info, "C_GetSessionInfo")) !=
	    CKR_OK) {
		hsm_ckfail(h, where, "C_GetSessionInfo", rv);
		goto err;
	}
	if (f->session_info.state != CKS_RW_USER_FUNCTIONS &&
	    hsm_login(h, where) == -1)
		goto err;
	h->have_session = 1;
	return 0;
 err:
	/* A session that is not logged in would hide the private keys. */
	if (!h->hung) {
		f->session = h->session;
		(void)hsm_call(h, job_close_session, "C_CloseSession");
	}
	return -1;
}

static int
hsm_reinit_inner(struct hsm *h, const char *where)
{
	h->stats.reinits++;
	h->have_session = 0;
	h->stale_session = 0;
	hsm_finalize(h, where);
	if (h->hung) {
		hsm_fail(h, HSM_E_HUNG, "C_Finalize", HSM_RV_TIMEOUT,
		    "%s: C_Finalize: %s", where, hsm_rv_name(HSM_RV_TIMEOUT));
		return -1;
	}
	if (hsm_initialize(h, where) == -1 ||
	    hsm_token_select(h, where) == -1)
		return -1;
	h->need_reinit = 0;
	if (hsm_session_open(h, where) == -1)
		return -1;
	log_info("%s: token \"%s\" serial %s back after re-initialisation",
	    where, h->tok_label, h->tok_serial);
	return 0;
}

/* Make the handle usable: wait out nothing, recover what can be. */
static int
hsm_ready(struct hsm *h, const char *where)
{
	if (!h->opened) {
		hsm_fail(h, HSM_E_CONFIG, NULL, CKR_OK, "%s: not open", where);
		return -1;
	}
	if (h->hung) {
		if (!hsm_worker_idle(h)) {
			hsm_fail(h, HSM_E_HUNG, h->hung_call, HSM_RV_UNUSABLE,
			    "%s: module unusable: %s has not returned", where,
			    h->hung_call);
			return -1;
		}
		log_info("%s: the hung %s returned; re-initialising", where,
		    h->hung_call);
		h->hung = 0;
		h->need_reinit = 1;
	}
	if (h->need_reinit)
		return hsm_reinit_inner(h, where);
	if (!h->have_session)
		return hsm_session_open(h, where);
	return 0;
}

/*
 * Run an operation; retry it once after the session was lost.
 */
static int
hsm_run(struct hsm *h, const char *where, int (*op)(struct hsm *, void *),
    void *arg)
{
	int	attempt;

	for (attempt = 0; ; attempt++) {
		if (hsm_ready(h, where) == -1)
			return -1;
		if (op(h, arg) == 0)
			return 0;
		if (attempt > 0 || h->have_session || h->need_reinit ||
		    h->hung || (h->last_rv != CKR_SESSION_HANDLE_INVALID &&
		    h->last_rv != CKR_SESSION_CLOSED &&
		    h->last_rv != CKR_USER_NOT_LOGGED_IN &&
		    h->last_rv != CKR_OPERATION_ACTIVE))
			return -1;
		log_info("%s: %s; reopening the session", where,
		    hsm_rv_name(h->last_rv));
		h->stats.session_reopens++;
		hsm_error_clear(h);
	}
}

/*
 * Searching and reading keys.
 */

/* Run the search in f->t1; at most max handles in a malloc'd array. */
static int
hsm_find_max(struct hsm *h, const char *where, CK_OBJECT_HANDLE **out,
    size_t *nout, size_t max)
{
	struct hsm_frame	*f = h->f;
	CK_OBJECT_HANDLE	*v = NULL, *nv;
	size_t			 n = 0;
	CK_RV			 rv;
	int			 ret = -1;

	f->session = h->session;
	h->stats.searches++;
	if ((rv = hsm_call(h, job_find_init, "C_FindObjectsInit")) !=
	    CKR_OK) {
		hsm_ckfail(h, where, "C_FindObjectsInit", rv);
		return -1;
	}
	for (;;) {
		if ((rv = hsm_call(h, job_find, "C_FindObjects")) != CKR_OK) {
			hsm_ckfail(h, where, "C_FindObjects", rv);
			goto err;
		}
		if (f->nchunk == 0)
			break;
		if (f->nchunk > HSM_FIND_CHUNK || n + f->nchunk > max) {
			hsm_fail(h, HSM_E_FAILED, "C_FindObjects", CKR_OK,
			    "%s: C_FindObjects: more than %zu objects", where,
			    max);
			goto err;
		}
		if ((nv = reallocarray(v, n + f->nchunk, sizeof(*v))) ==
		    NULL) {
			hsm_fail(h, HSM_E_FAILED, NULL, CKR_HOST_MEMORY,
			    "%s: out of memory", where);
			goto err;
		}
		v = nv;
		memcpy(v + n, f->chunk, f->nchunk * sizeof(*v));
		n += f->nchunk;
	}
	ret = 0;
 err:
	if (!h->hung && (rv = hsm_call(h, job_find_final,
	    "C_FindObjectsFinal")) != CKR_OK && ret == 0) {
		hsm_ckfail(h, where, "C_FindObjectsFinal", rv);
		ret = -1;
	}
	if (ret == -1) {
		free(v);
		return -1;
	}
	*out = v;
	*nout = n;
	return 0;
}

static int
hsm_find(struct hsm *h, const char *where, CK_OBJECT_HANDLE **out,
    size_t *nout)
{
	return hsm_find_max(h, where, out, nout, HSM_FIND_MAX);
}

/* A template for Ed25519 keys of a class, optionally by label and id. */
static void
hsm_tmpl_key(struct hsm *h, CK_OBJECT_CLASS *cls, const char *label,
    const void *id, size_t id_len)
{
	struct hsm_frame	*f = h->f;

	f->n1 = 0;
	f->ktype = CKK_EC_EDWARDS;
	/* Token objects only: not our session copies (hsm_key_copy()). */
	f->yes = CK_TRUE;
	hsm_tmpl_add(f->t1, &f->n1, CKA_TOKEN, &f->yes, sizeof(f->yes));
	if (cls != NULL)
		hsm_tmpl_add(f->t1, &f->n1, CKA_CLASS, cls, sizeof(*cls));
	hsm_tmpl_add(f->t1, &f->n1, CKA_KEY_TYPE, &f->ktype,
	    sizeof(f->ktype));
	if (label != NULL) {
		f->label_len = strlen(label);
		memcpy(f->label, label, f->label_len);
		hsm_tmpl_add(f->t1, &f->n1, CKA_LABEL, f->label, f->label_len);
	}
	if (id != NULL) {
		f->id_len = id_len;
		memcpy(f->id, id, id_len);
		hsm_tmpl_add(f->t1, &f->n1, CKA_ID, f->id, f->id_len);
	}
}

static int
hsm_check_name(struct hsm *h, const char *where, const char *label,
    const void *id, size_t id_len, int need_both)
{
	size_t	llen = label != NULL ? strlen(label) : 0;

	if ((label == NULL && id == NULL) ||
	    (need_both && (label == NULL || id == NULL)) ||
	    (label != NULL && (llen == 0 || llen > HSM_LABEL_MAX)) ||
	    (id != NULL && (id_len == 0 || id_len > HSM_ID_MAX))) {
		hsm_fail(h, HSM_E_CONFIG, NULL, CKR_OK,
		    "%s: key label must be 1..%d bytes and id 1..%d bytes",
		    where, HSM_LABEL_MAX, HSM_ID_MAX);
		return -1;
	}
	return 0;
}

/* CKA_EC_POINT: DER OCTET STRING 04 20 <32 bytes>, or the raw 32. */
static int
hsm_point_parse(uint8_t pk[ED25519_PK_LEN], const uint8_t *p, size_t len)
{
	struct buf	b;
	uint8_t		tag, n;

	buf_init_ro(&b, p, len);
	if (len == ED25519_PK_LEN)
		return buf_get_bytes(&b, pk, ED25519_PK_LEN);
	if (buf_get_u8(&b, &tag) != 0 || tag != 0x04 ||
	    buf_get_u8(&b, &n) != 0 || n != ED25519_PK_LEN ||
	    buf_get_bytes(&b, pk, ED25519_PK_LEN) != 0 || buf_end(&b) != 0)
		return -1;
	return 0;
}

static int
hsm_params_ok(const uint8_t *p, size_t len)
{
	return (len == sizeof(hsm_ecp_name) &&
	    memcmp(p, hsm_ecp_name, len) == 0) ||
	    (len == sizeof(hsm_ecp_oid) && memcmp(p, hsm_ecp_oid, len) == 0);
}

/* Read the public key of a public-key object into pk. */
static int
hsm_pub_read(struct hsm *h, const char *where, CK_OBJECT_HANDLE obj,
    uint8_t pk[ED25519_PK_LEN])
{
	struct hsm_frame	*f = h->f;
	CK_RV			 rv;

	f->n1 = 0;
	hsm_tmpl_add(f->t1, &f->n1, CKA_EC_POINT, f->rpoint,
	    sizeof(f->rpoint));
	hsm_tmpl_add(f->t1, &f->n1, CKA_EC_PARAMS, f->rparams,
	    sizeof(f->rparams));
	f->obj = obj;
	f->session = h->session;
	rv = hsm_call(h, job_get_attrs, "C_GetAttributeValue");
	if (rv == CKR_BUFFER_TOO_SMALL || rv == CKR_ATTRIBUTE_TYPE_INVALID) {
		hsm_fail(h, HSM_E_UNSUPPORTED, "C_GetAttributeValue", rv,
		    "%s: C_GetAttributeValue: %s: not an Ed25519 public key",
		    where, hsm_rv_name(rv));
		return -1;
	}
	if (rv != CKR_OK) {
		hsm_ckfail(h, where, "C_GetAttributeValue", rv);
		return -1;
	}
	if (!hsm_params_ok(f->rparams, f->t1[1].ulValueLen) ||
	    hsm_point_parse(pk, f->rpoint, f->t1[0].ulValueLen) == -1) {
		hsm_fail(h, HSM_E_UNSUPPORTED, NULL, CKR_OK,
		    "%s: public key is not Ed25519 (EC_PARAMS %lu bytes, "
		    "EC_POINT %lu bytes)", where, f->t1[1].ulValueLen,
		    f->t1[0].ulValueLen);
		return -1;
	}
	return 0;
}

/*
 * The public key kept on the private key object as CKA_PUBLIC_KEY_INFO
 * (hsm_op_generate).  HSM_E_NOT_FOUND if it has none.
 */
static int
hsm_spki_read(struct hsm *h, const char *where, CK_OBJECT_HANDLE obj,
    const char *label, uint8_t pk[ED25519_PK_LEN])
{
	struct hsm_frame	*f = h->f;
	CK_RV			 rv;

	f->n1 = 0;
	hsm_tmpl_add(f->t1, &f->n1, CKA_PUBLIC_KEY_INFO, f->rspki,
	    sizeof(f->rspki));
	f->obj = obj;
	f->session = h->session;
	rv = hsm_call(h, job_get_attrs, "C_GetAttributeValue");
	if (rv == CKR_ATTRIBUTE_TYPE_INVALID || (rv == CKR_OK &&
	    f->t1[0].ulValueLen == 0)) {
		hsm_fail(h, HSM_E_NOT_FOUND, NULL, CKR_OK, "%s: key \"%s\": "
		    "no public half", where, label);
		return -1;
	}
	if (rv == CKR_BUFFER_TOO_SMALL || (rv == CKR_OK &&
	    (f->t1[0].ulValueLen != HSM_SPKI_LEN ||
	    memcmp(f->rspki, hsm_spki_head, sizeof(hsm_spki_head)) != 0))) {
		hsm_fail(h, HSM_E_UNSUPPORTED, NULL, CKR_OK, "%s: key \"%s\": "
		    "CKA_PUBLIC_KEY_INFO is not an Ed25519 key", where, label);
		return -1;
	}
	if (rv != CKR_OK) {
		hsm_ckfail(h, where, "C_GetAttributeValue", rv);
		return -1;
	}
	memcpy(pk, f->rspki + sizeof(hsm_spki_head), ED25519_PK_LEN);
	return 0;
}

/* Label and id of a private key object into key. */
static int
hsm_name_read(struct hsm *h, const char *where, CK_OBJECT_HANDLE obj,
    struct hsm_key *key)
{
	struct hsm_frame	*f = h->f;
	CK_RV			 rv;

	f->n1 = 0;
	hsm_tmpl_add(f->t1, &f->n1, CKA_LABEL, f->rlabel, sizeof(f->rlabel));
	hsm_tmpl_add(f->t1, &f->n1, CKA_ID, f->rid, sizeof(f->rid));
	f->obj = obj;
	f->session = h->session;
	if ((rv = hsm_call(h, job_get_attrs, "C_GetAttributeValue")) !=
	    CKR_OK) {
		hsm_ckfail(h, where, "C_GetAttributeValue", rv);
		return -1;
	}
	if (f->t1[0].ulValueLen > HSM_LABEL_MAX ||
	    f->t1[1].ulValueLen > HSM_ID_MAX) {
		hsm_fail(h, HSM_E_FAILED, NULL, CKR_OK,
		    "%s: key label or id too long", where);
		return -1;
	}
	memset(key->label, 0, sizeof(key->label));
	memcpy(key->label, f->rlabel, f->t1[0].ulValueLen);
	memcpy(key->id, f->rid, f->t1[1].ulValueLen);
	key->id_len = f->t1[1].ulValueLen;
	return 0;
}

/*
 * Given key->priv with label and id filled: find its public half and
 * read the public key.  Public half found by id (or by label when the
 * id is empty, as some tools create keys).
 */
static int
hsm_key_complete(struct hsm *h, const char *where, struct hsm_key *key)
{
	struct hsm_frame	*f = h->f;
	CK_OBJECT_HANDLE	*objs = NULL;
	size_t			 n = 0;
	int			 ret = -1;

	f->cls_pub = CKO_PUBLIC_KEY;
	if (key->id_len > 0)
		hsm_tmpl_key(h, &f->cls_pub, NULL, key->id, key->id_len);
	else
		hsm_tmpl_key(h, &f->cls_pub, key->label, NULL, 0);
	if (hsm_find(h, where, &objs, &n) == -1)
		return -1;
	if (n > 1) {
		hsm_fail(h, HSM_E_AMBIGUOUS, NULL, CKR_OK, "%s: key \"%s\": "
		    "%zu public halves", where, key->label, n);
		goto err;
	}
	if (n == 0) {
		/* Our own keys keep it on the private object. */
		key->pub = CK_INVALID_HANDLE;
		if (hsm_spki_read(h, where, key->priv, key->label, key->pk) ==
		    -1)
			goto err;
	} else {
		key->pub = objs[0];
		if (hsm_pub_read(h, where, key->pub, key->pk) == -1)
			goto err;
	}
	key->hsm = h;
	key->epoch = h->epoch;
	ret = 0;
 err:
	free(objs);
	return ret;
}

/*
 * The key index (hsm.h, hsm_index_load()).
 */

/* FNV-1a, tagged so that a label and an equal id hash apart. */
static uint64_t
hsm_hash(int tag, const void *p, size_t len)
{
	const uint8_t	*b = p;
	uint64_t	 x = 0xcbf29ce484222325ULL;
	size_t		 i;

	x = (x ^ (uint8_t)tag) * 0x100000001b3ULL;
	for (i = 0; i < len; i++)
		x = (x ^ b[i]) * 0x100000001b3ULL;
	return x;
}

static void
hsm_ix_clear(struct hsm_index *ix)
{
	size_t	i;

	for (i = 0; i < ix->nkeys; i++)
		free(ix->keys[i]);
	free(ix->keys);
	free(ix->lb);
	free(ix->ib);
	free(ix->other);
	ix->keys = ix->lb = ix->ib = NULL;
	ix->other = NULL;
	ix->nkeys = ix->keys_alloc = ix->nb = 0;
	ix->nother = ix->other_alloc = 0;
	ix->valid = 0;
}

static size_t
hsm_ix_lbucket(const struct hsm_index *ix, const void *label, size_t len)
{
	return hsm_hash('L', label, len) & (ix->nb - 1);
}

static size_t
hsm_ix_ibucket(const struct hsm_index *ix, const void *id, size_t len)
{
	return hsm_hash('I', id, len) & (ix->nb - 1);
}

static void
hsm_ix_link(struct hsm_index *ix, struct hsm_ixkey *k)
{
	size_t	lb, ib;

	lb = hsm_ix_lbucket(ix, IXK_LABEL(k), k->label_len);
	ib = hsm_ix_ibucket(ix, IXK_ID(k), k->id_len);
	k->lnext = ix->lb[lb];
	ix->lb[lb] = k;
	k->inext = ix->ib[ib];
	ix->ib[ib] = k;
}

/* Take k into the index, which owns it from then on.  0 or -1 (ENOMEM,
 * k not taken). */
static int
hsm_ix_insert(struct hsm_index *ix, struct hsm_ixkey *k)
{
	struct hsm_ixkey	**nk, **nlb, **nib;
	size_t			  n, i;

	if (ix->nkeys == ix->keys_alloc) {
		n = ix->keys_alloc > 0 ? ix->keys_alloc * 2 : 64;
		if ((nk = reallocarray(ix->keys, n, sizeof(*nk))) == NULL)
			return -1;
		ix->keys = nk;
		ix->keys_alloc = n;
	}
	/* At most one key per bucket on average. */
	if (ix->nkeys + 1 > ix->nb) {
		n = ix->nb > 0 ? ix->nb * 2 : 64;
		nlb = calloc(n, sizeof(*nlb));
		nib = calloc(n, sizeof(*nib));
		if (nlb == NULL || nib == NULL) {
			free(nlb);
			free(nib);
			return -1;
		}
		free(ix->lb);
		free(ix->ib);
		ix->lb = nlb;
		ix->ib = nib;
		ix->nb = n;
		for (i = 0; i < ix->nkeys; i++)
			hsm_ix_link(ix, ix->keys[i]);
	}
	ix->keys[ix->nkeys++] = k;
	hsm_ix_link(ix, k);
	return 0;
}

static struct hsm_ixkey *
hsm_ix_key_new(const void *label, size_t label_len, const void *id,
    size_t id_len)
{
	struct hsm_ixkey	*k;

	if (label_len > HSM_LABEL_MAX || id_len > HSM_ID_MAX ||
	    (k = calloc(1, sizeof(*k) + id_len + label_len + 1)) == NULL)
		return NULL;
	k->id_len = (uint8_t)id_len;
	k->label_len = (uint8_t)label_len;
	if (id_len > 0)
		memcpy(IXK_ID(k), id, id_len);
	memcpy(IXK_LABEL(k), label, label_len);
	k->priv = CK_INVALID_HANDLE;
	k->pub = CK_INVALID_HANDLE;
	return k;
}

/* Forget the entry of a destroyed private key. */
static void
hsm_ix_remove(struct hsm_index *ix, CK_OBJECT_HANDLE priv)
{
	struct hsm_ixkey	**pp, *k = NULL;
	size_t			  i;

	for (i = 0; i < ix->nkeys; i++)
		if (ix->keys[i]->priv == priv) {
			k = ix->keys[i];
			break;
		}
	if (k == NULL)
		return;
	memmove(&ix->keys[i], &ix->keys[i + 1],
	    (ix->nkeys - i - 1) * sizeof(*ix->keys));
	ix->nkeys--;
	pp = &ix->lb[hsm_ix_lbucket(ix, IXK_LABEL(k), k->label_len)];
	for (; *pp != NULL; pp = &(*pp)->lnext)
		if (*pp == k) {
			*pp = k->lnext;
			break;
		}
	pp = &ix->ib[hsm_ix_ibucket(ix, IXK_ID(k), k->id_len)];
	for (; *pp != NULL; pp = &(*pp)->inext)
		if (*pp == k) {
			*pp = k->inext;
			break;
		}
	free(k);
}

static int
hsm_ix_other_add(struct hsm_index *ix, int tag, const void *p, size_t len)
{
	uint64_t	*no;
	size_t		 n;

	if (len == 0)
		return 0;
	if (ix->nother == ix->other_alloc) {
		n = ix->other_alloc > 0 ? ix->other_alloc * 2 : 64;
		if ((no = reallocarray(ix->other, n, sizeof(*no))) == NULL)
			return -1;
		ix->other = no;
		ix->other_alloc = n;
	}
	ix->other[ix->nother++] = hsm_hash(tag, p, len);
	return 0;
}

static int
hsm_u64_cmp(const void *a, const void *b)
{
	uint64_t	x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* 1 if some object outside the index may carry this name. */
static int
hsm_ix_other_has(const struct hsm_index *ix, int tag, const void *p,
    size_t len)
{
	uint64_t	x = hsm_hash(tag, p, len);

	return ix->nother > 0 && bsearch(&x, ix->other, ix->nother,
	    sizeof(x), hsm_u64_cmp) != NULL;
}

/* Add a name's hash to ix->other, which stays sorted (hsm_index_forget:
 * the index is searched between additions). */
static int
hsm_ix_other_insert(struct hsm_index *ix, int tag, const void *p,
    size_t len)
{
	uint64_t	x = hsm_hash(tag, p, len);
	size_t		lo = 0, hi, mid;

	if (len == 0 || hsm_ix_other_has(ix, tag, p, len))
		return 0;
	if (hsm_ix_other_add(ix, tag, p, len) == -1)
		return -1;
	/* Appended last: move it to its place. */
	hi = ix->nother - 1;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (ix->other[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	memmove(&ix->other[lo + 1], &ix->other[lo],
	    (ix->nother - 1 - lo) * sizeof(*ix->other));
	ix->other[lo] = x;
	return 0;
}

static int
hsm_ix_prefixed(const struct hsm_index *ix, const void *label, size_t len)
{
	size_t	plen;

	if (ix->prefix == NULL)
		return 1;
	plen = strlen(ix->prefix);
	return len >= plen && memcmp(label, ix->prefix, plen) == 0;
}

static int
hsm_ix_label_eq(const struct hsm_ixkey *k, const void *label, size_t len)
{
	return k->label_len == len && memcmp(IXK_LABEL(k), label, len) == 0;
}

static int
hsm_ix_id_eq(const struct hsm_ixkey *k, const void *id, size_t len)
{
	return k->id_len == len && memcmp(IXK_ID(k), id, len) == 0;
}

/*
 * Class, key type, label and id of one object into f->t1[0..3].  An
 * absent attribute (a data object has no CKA_KEY_TYPE), or a label or id
 * too long for our buffers (so not one of our names), gets length
 * CK_UNAVAILABLE_INFORMATION.  0, 1 if the object went away, or -1.
 */
static int
hsm_obj_names(struct hsm *h, const char *where, CK_OBJECT_HANDLE obj)
{
	struct hsm_frame	*f = h->f;
	CK_ULONG		 cap[4], i;
	CK_RV			 rv;

	f->n1 = 0;
	hsm_tmpl_add(f->t1, &f->n1, CKA_CLASS, &f->rclass,
	    sizeof(f->rclass));
	hsm_tmpl_add(f->t1, &f->n1, CKA_KEY_TYPE, &f->rktype,
	    sizeof(f->rktype));
	hsm_tmpl_add(f->t1, &f->n1, CKA_LABEL, f->rlabel, sizeof(f->rlabel));
	hsm_tmpl_add(f->t1, &f->n1, CKA_ID, f->rid, sizeof(f->rid));
	for (i = 0; i < 4; i++)
		cap[i] = f->t1[i].ulValueLen;
	f->obj = obj;
	f->session = h->session;
	rv = hsm_call(h, job_get_attrs, "C_GetAttributeValue");
	if (rv == CKR_OBJECT_HANDLE_INVALID)
		return 1;
	/* These still fill every attribute they can (PKCS#11 2.40
	 * C_GetAttributeValue). */
	if (rv != CKR_OK && rv != CKR_ATTRIBUTE_TYPE_INVALID &&
	    rv != CKR_ATTRIBUTE_SENSITIVE && rv != CKR_BUFFER_TOO_SMALL) {
		hsm_ckfail(h, where, "C_GetAttributeValue", rv);
		return -1;
	}
	for (i = 0; i < 4; i++)
		if (f->t1[i].ulValueLen > cap[i] ||
		    (i < 2 && f->t1[i].ulValueLen != cap[i]))
			f->t1[i].ulValueLen = CK_UNAVAILABLE_INFORMATION;
	return 0;
}

/* Pair public half pub with the index's private keys, as
 * hsm_key_complete() would: by id, or by label for a key without id.
 * Names it does not share with a private key go to ix->other. */
static int
hsm_ix_pair(struct hsm_index *ix, const struct hsm_ixkey *pub)
{
	struct hsm_ixkey	*q;
	int			 same_label = 0, same_id = 0;

	if (ix->nb > 0 && pub->id_len > 0)
		for (q = ix->ib[hsm_ix_ibucket(ix, IXK_ID(pub),
		    pub->id_len)]; q != NULL; q = q->inext)
			if (hsm_ix_id_eq(q, IXK_ID(pub), pub->id_len)) {
				q->pub = pub->pub;
				q->npub++;
				same_id = 1;
				same_label |= hsm_ix_label_eq(q,
				    IXK_LABEL(pub), pub->label_len);
			}
	if (ix->nb > 0)
		for (q = ix->lb[hsm_ix_lbucket(ix, IXK_LABEL(pub),
		    pub->label_len)]; q != NULL; q = q->lnext)
			if (q->id_len == 0 && hsm_ix_label_eq(q,
			    IXK_LABEL(pub), pub->label_len)) {
				q->pub = pub->pub;
				q->npub++;
				same_label = 1;
			}
	if ((!same_label && hsm_ix_other_add(ix, 'L', IXK_LABEL(pub),
	    pub->label_len) == -1) || (!same_id && hsm_ix_other_add(ix, 'I',
	    IXK_ID(pub), pub->id_len) == -1))
		return -1;
	return 0;
}

/*
 * Enumerate the token into ix: one search over every object (all) or
 * every Ed25519 key (!all), then one C_GetAttributeValue per object for
 * its names.  Ed25519 private keys whose label has ix->prefix become
 * entries, Ed25519 public keys are paired with them, and the names of
 * everything else go to ix->other.  Public keys are read when a key is
 * used (hsm_ix_key_out), not here.
 */
static int
hsm_ix_build(struct hsm *h, const char *where, struct hsm_index *ix,
    int all)
{
	struct hsm_frame	*f = h->f;
	CK_OBJECT_HANDLE	*objs = NULL;
	struct hsm_ixkey	**pubs = NULL, *k;
	CK_ULONG		 llen, ilen;
	size_t			 n = 0, npubs = 0, i;
	int			 r, ret = -1, ed;

	hsm_ix_clear(ix);
	h->stats.index_builds++;
	f->n1 = 0;
	f->yes = CK_TRUE;
	hsm_tmpl_add(f->t1, &f->n1, CKA_TOKEN, &f->yes, sizeof(f->yes));
	if (!all) {
		f->ktype = CKK_EC_EDWARDS;
		hsm_tmpl_add(f->t1, &f->n1, CKA_KEY_TYPE, &f->ktype,
		    sizeof(f->ktype));
	}
	if (hsm_find_max(h, where, &objs, &n, HSM_INDEX_MAX) == -1)
		return -1;
	if ((pubs = calloc(n > 0 ? n : 1, sizeof(*pubs))) == NULL)
		goto nomem;
	for (i = 0; i < n; i++) {
		if ((r = hsm_obj_names(h, where, objs[i])) == -1)
			goto err;
		if (r == 1)
			continue;	/* destroyed meanwhile */
		llen = f->t1[2].ulValueLen;
		ilen = f->t1[3].ulValueLen;
		if (llen == CK_UNAVAILABLE_INFORMATION)
			llen = 0;
		if (ilen == CK_UNAVAILABLE_INFORMATION)
			ilen = 0;
		ed = f->t1[0].ulValueLen != CK_UNAVAILABLE_INFORMATION &&
		    f->t1[1].ulValueLen != CK_UNAVAILABLE_INFORMATION &&
		    f->rktype == CKK_EC_EDWARDS;
		if (ed && (f->rclass == CKO_PUBLIC_KEY ||
		    (f->rclass == CKO_PRIVATE_KEY &&
		    hsm_ix_prefixed(ix, f->rlabel, llen)))) {
			if ((k = hsm_ix_key_new(f->rlabel, llen, f->rid,
			    ilen)) == NULL)
				goto nomem;
			if (f->rclass == CKO_PUBLIC_KEY) {
				k->pub = objs[i];
				pubs[npubs++] = k;
				continue;
			}
			k->priv = objs[i];
			if (hsm_ix_insert(ix, k) == -1) {
				free(k);
				goto nomem;
			}
			continue;
		}
		if (hsm_ix_other_add(ix, 'L', f->rlabel, llen) == -1 ||
		    hsm_ix_other_add(ix, 'I', f->rid, ilen) == -1)
			goto nomem;
	}
	for (i = 0; i < npubs; i++)
		if (hsm_ix_pair(ix, pubs[i]) == -1)
			goto nomem;
	if (ix->nother > 1)
		qsort(ix->other, ix->nother, sizeof(*ix->other), hsm_u64_cmp);
	ret = 0;
	goto out;
 nomem:
	hsm_fail(h, HSM_E_FAILED, NULL, CKR_HOST_MEMORY, "%s: out of memory",
	    where);
 err:
	hsm_ix_clear(ix);
 out:
	for (i = 0; i < npubs; i++)
		free(pubs[i]);
	free(pubs);
	free(objs);
	return ret;
}

/* Make the handle's index hold this session's handles. */
static int
hsm_ix_ready(struct hsm *h, const char *where)
{
	if (h->ix.valid && h->ix.epoch == h->epoch)
		return 0;
	if (hsm_ix_build(h, where, &h->ix, 1) == -1)
		return -1;
	h->ix.valid = 1;
	h->ix.epoch = h->epoch;
	log_debug("%s: key index: %zu keys, %zu other names", where,
	    h->ix.nkeys, h->ix.nother);
	return 0;
}

void
hsm_index_forget(struct hsm *h, const char *label, const void *id,
    size_t id_len)
{
	struct hsm_index	*ix = &h->ix;
	struct hsm_ixkey	*q;
	size_t			 llen = strlen(label);

	if (!ix->on || !ix->valid || ix->nb == 0)
		return;
	for (q = ix->lb[hsm_ix_lbucket(ix, label, llen)]; q != NULL;
	    q = q->lnext)
		if (hsm_ix_label_eq(q, label, llen) &&
		    hsm_ix_id_eq(q, id, id_len))
			break;
	if (q == NULL)
		return;
	/* Out of memory: the entry stays rather than names be lost. */
	if (hsm_ix_other_insert(ix, 'L', label, llen) == -1 ||
	    hsm_ix_other_insert(ix, 'I', id, id_len) == -1)
		return;
	/* Handles of an older session are stale, and its copies gone. */
	if (ix->epoch == h->epoch)
		hsm_cp_destroy(h, "hsm_index_forget", q->priv);
	hsm_ix_remove(ix, q->priv);
}

/* An entry as a struct hsm_key, its public key read if not yet. */
static int
hsm_ix_key_out(struct hsm *h, const char *where, struct hsm_ixkey *k,
    struct hsm_key *out)
{
	if (k->npub > 1) {
		hsm_fail(h, HSM_E_AMBIGUOUS, NULL, CKR_OK, "%s: key \"%s\": "
		    "%u public halves", where, IXK_LABEL(k), k->npub);
		return -1;
	}
	if (!k->have_pk) {
		if ((k->npub == 1 ? hsm_pub_read(h, where, k->pub, k->pk) :
		    hsm_spki_read(h, where, k->priv, IXK_LABEL(k), k->pk)) ==
		    -1)
			return -1;
		k->have_pk = 1;
	}
	memset(out, 0, sizeof(*out));
	memcpy(out->label, IXK_LABEL(k), k->label_len);
	memcpy(out->id, IXK_ID(k), k->id_len);
	out->id_len = k->id_len;
	memcpy(out->pk, k->pk, sizeof(out->pk));
	out->priv = k->priv;
	out->pub = k->pub;
	out->hsm = h;
	out->epoch = h->epoch;
	return 0;
}

/*
 * hsm_key_find from the index: 0 found, -1 not (or failed), 1 the index
 * cannot answer (a label outside the prefix, or an id that only other
 * objects may carry): search the token.
 */
static int
hsm_ix_find(struct hsm *h, const char *label, const void *id,
    size_t id_len, struct hsm_key *out)
{
	static const char	 where[] = "hsm_key_find";
	struct hsm_index	*ix = &h->ix;
	struct hsm_ixkey	*q, *hit = NULL;
	size_t			 llen = label != NULL ? strlen(label) : 0;
	size_t			 n = 0;

	if (label != NULL && (!hsm_ix_prefixed(ix, label, llen) ||
	    hsm_ix_other_has(ix, 'L', label, llen)))
		return 1;
	if (label == NULL && hsm_ix_other_has(ix, 'I', id, id_len))
		return 1;
	if (ix->nb > 0 && label != NULL) {
		for (q = ix->lb[hsm_ix_lbucket(ix, label, llen)]; q != NULL;
		    q = q->lnext)
			if (hsm_ix_label_eq(q, label, llen) &&
			    (id == NULL || hsm_ix_id_eq(q, id, id_len))) {
				hit = q;
				n++;
			}
	} else if (ix->nb > 0) {
		for (q = ix->ib[hsm_ix_ibucket(ix, id, id_len)]; q != NULL;
		    q = q->inext)
			if (hsm_ix_id_eq(q, id, id_len)) {
				hit = q;
				n++;
			}
	}
	if (n != 1) {
		hsm_fail(h, n == 0 ? HSM_E_NOT_FOUND : HSM_E_AMBIGUOUS, NULL,
		    CKR_OK, "%s: %zu Ed25519 private keys match label "
		    "\"%s\"%s", where, n, label != NULL ? label : "*",
		    id != NULL ? " and the id" : "");
		return -1;
	}
	return hsm_ix_key_out(h, where, hit, out);
}

/*
 * Before a generation: 0 the index knows both names are free, -1 one
 * is taken (HSM_E_EXISTS), 1 some other object may carry one (a hash
 * matched): ask the token.
 */
static int
hsm_ix_name_free(struct hsm *h, const char *where, const char *label,
    const void *id, size_t id_len)
{
	struct hsm_index	*ix = &h->ix;
	struct hsm_ixkey	*q;
	size_t			 llen = strlen(label);

	if (ix->nb > 0) {
		for (q = ix->lb[hsm_ix_lbucket(ix, label, llen)]; q != NULL;
		    q = q->lnext)
			if (hsm_ix_label_eq(q, label, llen))
				goto taken;
		for (q = ix->ib[hsm_ix_ibucket(ix, id, id_len)]; q != NULL;
		    q = q->inext)
			if (hsm_ix_id_eq(q, id, id_len))
				goto taken;
	}
	if (hsm_ix_other_has(ix, 'L', label, llen) ||
	    hsm_ix_other_has(ix, 'I', id, id_len))
		return 1;
	return 0;
 taken:
	hsm_fail(h, HSM_E_EXISTS, NULL, CKR_OK, "%s: a key with this label "
	    "or id exists (label \"%s\")", where, label);
	return -1;
}

/* After a generation: the new pair joins the index.  If memory runs
 * out the index is rebuilt from the token on its next use instead. */
static void
hsm_ix_add_generated(struct hsm *h, const struct hsm_key *key)
{
	struct hsm_ixkey	*k;

	if (!h->ix.on || !h->ix.valid || h->ix.epoch != h->epoch)
		return;
	if ((k = hsm_ix_key_new(key->label, strlen(key->label), key->id,
	    key->id_len)) == NULL || hsm_ix_insert(&h->ix, k) == -1) {
		free(k);
		log_warnx("hsm_key_generate: key index: out of memory; "
		    "rebuilding it later");
		h->ix.valid = 0;
		return;
	}
	k->priv = key->priv;
	k->pub = key->pub;
	k->npub = key->pub != CK_INVALID_HANDLE ? 1 : 0;
	memcpy(k->pk, key->pk, sizeof(k->pk));
	k->have_pk = 1;
}

struct hsm_find_args {
	struct hsm_key	*key;
	const char	*label;
	const void	*id;
	size_t		 id_len;
};

static int
hsm_op_find(struct hsm *h, void *arg)
{
	struct hsm_find_args	*a = arg;
	struct hsm_frame	*f = h->f;
	struct hsm_key		 key;
	CK_OBJECT_HANDLE	*objs = NULL;
	size_t			 n = 0;
	int			 ret = -1, r;

	/* The caller's key is written only on success. */
	memset(&key, 0, sizeof(key));
	if (h->ix.on) {
		if (hsm_ix_ready(h, "hsm_key_find") == -1)
			return -1;
		r = hsm_ix_find(h, a->label, a->id, a->id_len, &key);
		if (r == 0)
			*a->key = key;
		if (r != 1)
			return r;
	}
	f->cls_priv = CKO_PRIVATE_KEY;
	hsm_tmpl_key(h, &f->cls_priv, a->label, a->id, a->id_len);
	if (hsm_find(h, "hsm_key_find", &objs, &n) == -1)
		return -1;
	if (n != 1) {
		hsm_fail(h, n == 0 ? HSM_E_NOT_FOUND : HSM_E_AMBIGUOUS, NULL,
		    CKR_OK, "hsm_key_find: %zu Ed25519 private keys match "
		    "label \"%s\"%s", n, a->label != NULL ? a->label : "*",
		    a->id != NULL ? " and the id" : "");
		goto err;
	}
	key.priv = objs[0];
	if (hsm_name_read(h, "hsm_key_find", key.priv, &key) == -1 ||
	    hsm_key_complete(h, "hsm_key_find", &key) == -1)
		goto err;
	*a->key = key;
	ret = 0;
 err:
	free(objs);
	return ret;
}

int
hsm_key_find(struct hsm *h, struct hsm_key *key, const char *label,
    const void *id, size_t id_len)
{
	struct hsm_find_args	a = { key, label, id, id_len };

	hsm_error_clear(h);
	if (hsm_check_name(h, "hsm_key_find", label, id, id_len, 0) == -1)
		return -1;
	return hsm_run(h, "hsm_key_find", hsm_op_find, &a);
}

/*
 * Handles are per session: after a reopen, find the key again and make
 * sure it is the same key (same public key) before using it.
 */
static int
hsm_key_refresh(struct hsm *h, const char *where, struct hsm_key *key)
{
	struct hsm_key		 fresh;
	struct hsm_find_args	 a;

	if (key->epoch == h->epoch && key->priv != CK_INVALID_HANDLE)
		return 0;
	a.key = &fresh;
	a.label = key->label;
	a.id = key->id_len > 0 ? key->id : NULL;
	a.id_len = key->id_len;
	if (hsm_op_find(h, &a) == -1)
		return -1;
	if (memcmp(fresh.pk, key->pk, ED25519_PK_LEN) != 0) {
		hsm_fail(h, HSM_E_NOT_FOUND, NULL, CKR_OK,
		    "%s: key \"%s\" now has another public key", where,
		    key->label);
		return -1;
	}
	key->priv = fresh.priv;
	key->pub = fresh.pub;
	key->epoch = fresh.epoch;
	key->hsm = h;
	return 0;
}

/*
 * Generating.
 */

struct hsm_gen_args {
	struct hsm_key	*key;
	const char	*label;
	const void	*id;
	size_t		 id_len;
};

/* Any object (of any class) with this label, or with this id? */
static int
hsm_name_taken(struct hsm *h, const char *where, const char *label,
    const void *id, size_t id_len)
{
	struct hsm_frame	*f = h->f;
	CK_OBJECT_HANDLE	*objs = NULL;
	size_t			 n = 0;
	int			 pass;

	for (pass = 0; pass < 2; pass++) {
		f->n1 = 0;
		f->yes = CK_TRUE;
		hsm_tmpl_add(f->t1, &f->n1, CKA_TOKEN, &f->yes,
		    sizeof(f->yes));
		if (pass == 0) {
			f->label_len = strlen(label);
			memcpy(f->label, label, f->label_len);
			hsm_tmpl_add(f->t1, &f->n1, CKA_LABEL, f->label,
			    f->label_len);
		} else {
			f->id_len = id_len;
			memcpy(f->id, id, id_len);
			hsm_tmpl_add(f->t1, &f->n1, CKA_ID, f->id, f->id_len);
		}
		if (hsm_find(h, where, &objs, &n) == -1)
			return -1;
		free(objs);
		objs = NULL;
		if (n > 0) {
			hsm_fail(h, HSM_E_EXISTS, NULL, CKR_OK,
			    "%s: an object with this %s exists (label \"%s\")",
			    where, pass == 0 ? "label" : "id", label);
			return -1;
		}
	}
	return 0;
}

static void
hsm_tmpl_gen(struct hsm *h, const uint8_t *params, size_t plen,
    int token_pub)
{
	struct hsm_frame	*f = h->f;

	f->yes = CK_TRUE;
	f->no = CK_FALSE;
	f->cls_pub = CKO_PUBLIC_KEY;
	f->cls_priv = CKO_PRIVATE_KEY;
	f->ktype = CKK_EC_EDWARDS;
	memcpy(f->ecparams, params, plen);
	f->ecparams_len = plen;

	f->n1 = 0;
	hsm_tmpl_add(f->t1, &f->n1, CKA_CLASS, &f->cls_pub,
	    sizeof(f->cls_pub));
	hsm_tmpl_add(f->t1, &f->n1, CKA_KEY_TYPE, &f->ktype, sizeof(f->ktype));
	hsm_tmpl_add(f->t1, &f->n1, CKA_TOKEN, token_pub ? &f->yes : &f->no,
	    sizeof(f->yes));
	hsm_tmpl_add(f->t1, &f->n1, CKA_PRIVATE, &f->no, sizeof(f->no));
	hsm_tmpl_add(f->t1, &f->n1, CKA_VERIFY, &f->yes, sizeof(f->yes));
	hsm_tmpl_add(f->t1, &f->n1, CKA_LABEL, f->label, f->label_len);
	hsm_tmpl_add(f->t1, &f->n1, CKA_ID, f->id, f->id_len);
	hsm_tmpl_add(f->t1, &f->n1, CKA_EC_PARAMS, f->ecparams,
	    f->ecparams_len);

	f->n2 = 0;
	hsm_tmpl_add(f->t2, &f->n2, CKA_CLASS, &f->cls_priv,
	    sizeof(f->cls_priv));
	hsm_tmpl_add(f->t2, &f->n2, CKA_KEY_TYPE, &f->ktype, sizeof(f->ktype));
	hsm_tmpl_add(f->t2, &f->n2, CKA_TOKEN, &f->yes, sizeof(f->yes));
	hsm_tmpl_add(f->t2, &f->n2, CKA_PRIVATE, &f->yes, sizeof(f->yes));
	hsm_tmpl_add(f->t2, &f->n2, CKA_SENSITIVE, &f->yes, sizeof(f->yes));
	hsm_tmpl_add(f->t2, &f->n2, CKA_EXTRACTABLE, &f->no, sizeof(f->no));
	hsm_tmpl_add(f->t2, &f->n2, CKA_SIGN, &f->yes, sizeof(f->yes));
	hsm_tmpl_add(f->t2, &f->n2, CKA_LABEL, f->label, f->label_len);
	hsm_tmpl_add(f->t2, &f->n2, CKA_ID, f->id, f->id_len);

	f->mech.mechanism = CKM_EC_EDWARDS_KEY_PAIR_GEN;
	f->mech.pParameter = NULL;
	f->mech.ulParameterLen = 0;
}

/*
 * C_GenerateKeyPair, and the public key read back.  The public half is
 * made a session object and its key kept on the private object as
 * CKA_PUBLIC_KEY_INFO, then destroyed: one token object per key instead
 * of two halves the token's memory and writes (SoftHSM keeps every
 * object in memory and rewrites its file per attribute).  A token that
 * refuses the attribute gets its private key destroyed and 1 returned:
 * the caller sets spki_ok = -1 and generates with a token public key,
 * as tokens that do not take CKA_PUBLIC_KEY_INFO expect.
 */
static int
hsm_generate_pair(struct hsm *h, const char *where,
    const struct hsm_gen_args *a, struct hsm_key *key)
{
	struct hsm_frame	*f = h->f;
	CK_OBJECT_HANDLE	 pub, priv;
	CK_RV			 rv;
	int			 token_pub = h->spki_ok < 0;

	f->label_len = strlen(a->label);
	memcpy(f->label, a->label, f->label_len);
	f->id_len = a->id_len;
	memcpy(f->id, a->id, a->id_len);
	f->session = h->session;
	hsm_tmpl_gen(h, hsm_ecp_name, sizeof(hsm_ecp_name), token_pub);
	rv = hsm_call(h, job_generate, "C_GenerateKeyPair");
	if (rv == CKR_ATTRIBUTE_VALUE_INVALID ||
	    rv == CKR_TEMPLATE_INCONSISTENT ||
	    rv == CKR_DOMAIN_PARAMS_INVALID || rv == CKR_CURVE_NOT_SUPPORTED) {
		/* Tokens before PKCS#11 3.0's curve names want the OID. */
		log_info("%s: C_GenerateKeyPair: %s with the curve name; "
		    "trying OID 1.3.101.112", where, hsm_rv_name(rv));
		hsm_tmpl_gen(h, hsm_ecp_oid, sizeof(hsm_ecp_oid), token_pub);
		rv = hsm_call(h, job_generate, "C_GenerateKeyPair");
	}
	if (rv != CKR_OK) {
		hsm_ckfail(h, where, "C_GenerateKeyPair", rv);
		return -1;
	}
	memset(key, 0, sizeof(*key));
	memcpy(key->label, a->label, f->label_len);
	memcpy(key->id, a->id, a->id_len);
	key->id_len = a->id_len;
	/* C_GenerateKeyPair writes the public handle first. */
	pub = key->pub = f->obj;
	priv = key->priv = f->obj2;
	if (hsm_pub_read(h, where, pub, key->pk) == -1)
		return -1;
	if (token_pub)
		return 0;
	memcpy(f->spki, hsm_spki_head, sizeof(hsm_spki_head));
	memcpy(f->spki + sizeof(hsm_spki_head), key->pk, ED25519_PK_LEN);
	f->n1 = 0;
	hsm_tmpl_add(f->t1, &f->n1, CKA_PUBLIC_KEY_INFO, f->spki,
	    sizeof(f->spki));
	f->obj = priv;
	f->session = h->session;
	rv = hsm_call(h, job_set_attrs, "C_SetAttributeValue");
	/* The session object would go with the session anyway. */
	f->obj = pub;
	f->session = h->session;
	if (rv != HSM_RV_TIMEOUT && hsm_call(h, job_destroy,
	    "C_DestroyObject") != CKR_OK)
		log_info("%s: the session public key stays until the session "
		    "ends", where);
	key->pub = CK_INVALID_HANDLE;
	if (rv == CKR_OK) {
		h->spki_ok = 1;
		return 0;
	}
	if (rv == CKR_ATTRIBUTE_READ_ONLY || rv == CKR_ATTRIBUTE_TYPE_INVALID ||
	    rv == CKR_ATTRIBUTE_VALUE_INVALID ||
	    rv == CKR_TEMPLATE_INCONSISTENT || rv == CKR_ACTION_PROHIBITED) {
		f->obj = priv;
		f->session = h->session;
		if ((rv = hsm_call(h, job_destroy, "C_DestroyObject")) ==
		    CKR_OK)
			return 1;
	}
	/*
	 * XXX A private key without a recorded public key stays behind
	 * when the token fails here (removal): its name is then taken
	 * and finds say "no public half" until it is purged.
	 */
	hsm_ckfail(h, where, "C_SetAttributeValue", rv);
	return -1;
}

static int
hsm_op_generate(struct hsm *h, void *arg)
{
	static const char	 where[] = "hsm_key_generate";
	struct hsm_gen_args	*a = arg;
	struct hsm_key		 k, *key = &k;
	int			 r = 1;

	/* With the index, the two token searches (each a scan of the
	 * whole token in SoftHSM) only when an unindexed object may have
	 * one of the names. */
	if (h->ix.on && (hsm_ix_ready(h, where) == -1 ||
	    (r = hsm_ix_name_free(h, where, a->label, a->id, a->id_len)) ==
	    -1))
		return -1;
	if (r == 1 && hsm_name_taken(h, where, a->label, a->id, a->id_len) ==
	    -1)
		return -1;
	for (;;) {
		if ((r = hsm_generate_pair(h, where, a, key)) != 1)
			break;
		/* The token will not keep the public key on the private
		 * object: start again with a public key object. */
		log_info("%s: token \"%s\" does not keep CKA_PUBLIC_KEY_INFO; "
		    "public keys stay on it as objects", where, h->tok_label);
		h->spki_ok = -1;
	}
	if (r == -1)
		return -1;
	key->hsm = h;
	key->epoch = h->epoch;
	hsm_ix_add_generated(h, key);
	*a->key = k;
	log_info("%s: generated key \"%s\" on token \"%s\"", where,
	    key->label, h->tok_label);
	return 0;
}

int
hsm_key_generate(struct hsm *h, struct hsm_key *key, const char *label,
    const void *id, size_t id_len)
{
	struct hsm_gen_args	a = { key, label, id, id_len };

	hsm_error_clear(h);
	if (hsm_check_name(h, "hsm_key_generate", label, id, id_len, 1) ==
	    -1)
		return -1;
	return hsm_run(h, "hsm_key_generate", hsm_op_generate, &a);
}

/*
 * Session copies of token keys.  SoftHSM reads its token's generation
 * file and the key's object file on every signature with a token
 * object; a copy made with CKA_TOKEN false lives in the session's memory
 * and signs without touching the disk.  Copies are made lazily, at a
 * key's first signature, and die with the session, so the table is
 * emptied whenever the session epoch moves on: old handles are never
 * used again.
 */

static size_t
hsm_cp_home(const struct hsm *h, CK_OBJECT_HANDLE key)
{
	return (size_t)(((uint64_t)key * 0x9e3779b97f4a7c15ULL) >>
	    (64 - h->cp_bits));
}

#define HSM_CP_SLOTS(h)	((size_t)1 << (h)->cp_bits)

/* A new session has none of the old one's copies. */
static void
hsm_cp_sync(struct hsm *h)
{
	if (h->cp_epoch == h->epoch)
		return;
	if (h->cp != NULL)
		memset(h->cp, 0, HSM_CP_SLOTS(h) * sizeof(*h->cp));
	h->ncp = 0;
	h->cp_cap = HSM_COPY_MAX;
	h->cp_epoch = h->epoch;
}

/* key's slot, or the free slot where it would go (one is always free). */
static size_t
hsm_cp_slot(const struct hsm *h, CK_OBJECT_HANDLE key)
{
	size_t	i = hsm_cp_home(h, key);

	while (h->cp[i].key != CK_INVALID_HANDLE && h->cp[i].key != key)
		i = (i + 1) & (HSM_CP_SLOTS(h) - 1);
	return i;
}

static CK_OBJECT_HANDLE
hsm_cp_get(struct hsm *h, CK_OBJECT_HANDLE key)
{
	hsm_cp_sync(h);
	if (h->cp == NULL || h->ncp == 0 || key == CK_INVALID_HANDLE)
		return CK_INVALID_HANDLE;
	return h->cp[hsm_cp_slot(h, key)].copy;
}

/*
 * Take key's copy out of the table and return it (CK_INVALID_HANDLE if
 * it has none).  Later entries of the probe run move back into the hole
 * unless their home lies cyclically in (hole, them], so no run breaks.
 */
static CK_OBJECT_HANDLE
hsm_cp_take(struct hsm *h, CK_OBJECT_HANDLE key)
{
	CK_OBJECT_HANDLE	copy;
	size_t			i, j, home;

	if ((copy = hsm_cp_get(h, key)) == CK_INVALID_HANDLE)
		return CK_INVALID_HANDLE;
	i = j = hsm_cp_slot(h, key);
	h->ncp--;
	for (;;) {
		h->cp[i].key = h->cp[i].copy = CK_INVALID_HANDLE;
		for (;;) {
			j = (j + 1) & (HSM_CP_SLOTS(h) - 1);
			if (h->cp[j].key == CK_INVALID_HANDLE)
				return copy;
			home = hsm_cp_home(h, h->cp[j].key);
			if (i <= j ? (home <= i || home > j) :
			    (home <= i && home > j))
				break;
		}
		h->cp[i] = h->cp[j];
		i = j;
	}
}

static int	hsm_rv_recovers(CK_RV);

/* Destroy a copy in the live session; a lost session took it along.
 * Returns 1 when the session needs recovery (no use going on). */
static int
hsm_cp_destroy_obj(struct hsm *h, const char *where, CK_OBJECT_HANDLE copy)
{
	CK_RV	rv;

	if (copy == CK_INVALID_HANDLE || !h->have_session || h->hung ||
	    h->cp_epoch != h->epoch)
		return 0;
	h->f->session = h->session;
	h->f->obj = copy;
	if ((rv = hsm_call(h, job_destroy, "C_DestroyObject")) != CKR_OK) {
		log_info("%s: C_DestroyObject (a session copy): %s", where,
		    hsm_rv_name(rv));
		return hsm_rv_recovers(rv);
	}
	return 0;
}

/* The token object key goes (destroyed or forgotten): so does its copy. */
static void
hsm_cp_destroy(struct hsm *h, const char *where, CK_OBJECT_HANDLE key)
{
	(void)hsm_cp_destroy_obj(h, where, hsm_cp_take(h, key));
}

static void
hsm_cp_destroy_all(struct hsm *h, const char *where)
{
	size_t	i;

	hsm_cp_sync(h);
	if (h->cp == NULL || h->ncp == 0)
		return;
	for (i = 0; i < HSM_CP_SLOTS(h); i++)
		if (h->cp[i].key != CK_INVALID_HANDLE &&
		    hsm_cp_destroy_obj(h, where, h->cp[i].copy))
			break;	/* the session is gone, the copies with it */
	memset(h->cp, 0, HSM_CP_SLOTS(h) * sizeof(*h->cp));
	h->ncp = 0;
	h->cp_cap = HSM_COPY_MAX;
}

/*
 * Room for one more copy: the table doubles when it would be over half
 * full (a signer with few services keeps a small one).  -1 if memory
 * runs out (the caller then signs with the token object).
 */
static int
hsm_cp_room(struct hsm *h)
{
	struct hsm_copy	*old = h->cp, *nt;
	unsigned	 obits = h->cp_bits, bits;
	size_t		 i, n;

	if (h->cp != NULL && (h->ncp + 1) * 2 <= HSM_CP_SLOTS(h))
		return 0;
	bits = h->cp == NULL ? HSM_COPY_BITS0 : obits + 1;
	if (bits > HSM_COPY_BITS ||
	    (nt = calloc((size_t)1 << bits, sizeof(*nt))) == NULL)
		return -1;
	n = old != NULL ? (size_t)1 << obits : 0;
	h->cp = nt;
	h->cp_bits = bits;
	for (i = 0; i < n; i++)
		if (old[i].key != CK_INVALID_HANDLE)
			h->cp[hsm_cp_slot(h, old[i].key)] = old[i];
	free(old);
	return 0;
}

/* A CK_RV after which the session or the module needs recovery. */
static int
hsm_rv_recovers(CK_RV rv)
{
	switch (rv) {
	case CKR_SESSION_HANDLE_INVALID:
	case CKR_SESSION_CLOSED:
	case CKR_USER_NOT_LOGGED_IN:
	case CKR_OPERATION_ACTIVE:
	case CKR_DEVICE_REMOVED:
	case CKR_TOKEN_NOT_PRESENT:
	case CKR_TOKEN_NOT_RECOGNIZED:
	case CKR_DEVICE_ERROR:
	case CKR_SLOT_ID_INVALID:
	case CKR_CRYPTOKI_NOT_INITIALIZED:
	case HSM_RV_TIMEOUT:
	case HSM_RV_UNUSABLE:
		return 1;
	default:
		return 0;
	}
}

/*
 * The object to sign with for the token key priv: its session copy,
 * made now if it has none, or priv itself when the token cannot copy
 * (no session objects, refused attributes: remembered, never asked
 * again), is out of room (not asked again in this session), or
 * HSM_COPY_MAX copies are alive.  A copy must read back CKA_TOKEN false,
 * CKA_SENSITIVE true and CKA_EXTRACTABLE false, else it is destroyed
 * and the token is not asked again: a copy never weakens the key.
 * CK_INVALID_HANDLE, the failure recorded, when the session or the token
 * is lost (hsm_run() recovers as for any call).
 */
static uint64_t
hsm_pk8(const uint8_t pk[ED25519_PK_LEN])
{
	uint64_t	v;

	memcpy(&v, pk, sizeof(v));
	return v;
}

/*
 * The copy of key, if it may sign: made for this key (not for another
 * that the token gave the same handle), and its token object seen within
 * copy_check_s seconds, so that a key destroyed on the token (revoked,
 * purged by another process) stops signing through its copy within that
 * time.  The token object is looked at then, one attribute read.
 * CK_INVALID_HANDLE with *lost set: the session needs recovery.
 */
static CK_OBJECT_HANDLE
hsm_cp_valid(struct hsm *h, const char *where, const struct hsm_key *key,
    int *lost)
{
	struct hsm_frame	*f = h->f;
	struct hsm_copy		*slot;
	CK_OBJECT_HANDLE	 copy;
	time_t			 now;
	CK_RV			 rv;

	*lost = 0;
	if ((copy = hsm_cp_get(h, key->priv)) == CK_INVALID_HANDLE)
		return CK_INVALID_HANDLE;
	slot = &h->cp[hsm_cp_slot(h, key->priv)];
	if (slot->pk8 != hsm_pk8(key->pk)) {
		hsm_cp_destroy(h, where, key->priv);
		return CK_INVALID_HANDLE;
	}
	now = time(NULL);
	if (now >= slot->seen && now - slot->seen < (time_t)h->copy_check_s)
		return copy;
	f->n1 = 0;
	hsm_tmpl_add(f->t1, &f->n1, CKA_TOKEN, &f->rtoken,
	    sizeof(f->rtoken));
	f->session = h->session;
	f->obj = key->priv;
	rv = hsm_call(h, job_get_attrs, "C_GetAttributeValue");
	if (rv == CKR_OK) {
		/* The slot did not move: no call here changes the table. */
		slot->seen = now;
		return copy;
	}
	if (hsm_rv_recovers(rv)) {
		hsm_ckfail(h, where, "C_GetAttributeValue", rv);
		*lost = 1;
		return CK_INVALID_HANDLE;
	}
	/* Gone (or unreadable): the copy goes, the token object answers. */
	hsm_cp_destroy(h, where, key->priv);
	return CK_INVALID_HANDLE;
}

/* A C_CopyObject failure that says the token will never make copies. */
static int
hsm_rv_no_copies(CK_RV rv)
{
	switch (rv) {
	case CKR_FUNCTION_NOT_SUPPORTED:
	case CKR_ACTION_PROHIBITED:
	case CKR_ATTRIBUTE_READ_ONLY:
	case CKR_ATTRIBUTE_TYPE_INVALID:
	case CKR_ATTRIBUTE_VALUE_INVALID:
	case CKR_TEMPLATE_INCONSISTENT:
	case CKR_TEMPLATE_INCOMPLETE:
		return 1;
	default:
		return 0;
	}
}

static CK_OBJECT_HANDLE
hsm_key_copy(struct hsm *h, const char *where, const struct hsm_key *key)
{
	struct hsm_frame	*f = h->f;
	struct hsm_copy		*slot;
	CK_OBJECT_HANDLE	 copy, priv = key->priv;
	CK_RV			 rv;
	int			 lost;

	if (h->copy_ok < 0)
		return priv;
	if ((copy = hsm_cp_valid(h, where, key, &lost)) != CK_INVALID_HANDLE)
		return copy;
	if (lost)
		return CK_INVALID_HANDLE;
	if (h->ncp >= h->cp_cap)
		return priv;
	if (hsm_cp_room(h) == -1)
		return priv;
	f->n1 = 0;
	f->no = CK_FALSE;
	hsm_tmpl_add(f->t1, &f->n1, CKA_TOKEN, &f->no, sizeof(f->no));
	f->session = h->session;
	f->obj = priv;
	f->obj2 = CK_INVALID_HANDLE;
	rv = hsm_call(h, job_copy, "C_CopyObject");
	if (rv == CKR_DEVICE_MEMORY || rv == CKR_HOST_MEMORY) {
		h->cp_cap = h->ncp;
		log_info("%s: C_CopyObject: %s; no more session copies in "
		    "this session (%zu alive)", where, hsm_rv_name(rv),
		    h->ncp);
		return priv;
	}
	if (rv == CKR_OBJECT_HANDLE_INVALID || rv == CKR_KEY_HANDLE_INVALID)
		return priv;	/* C_SignInit says it, as without copies */
	if (hsm_rv_recovers(rv)) {
		hsm_ckfail(h, where, "C_CopyObject", rv);
		return CK_INVALID_HANDLE;
	}
	if (rv != CKR_OK || (copy = f->obj2) == CK_INVALID_HANDLE) {
		/* Only a refusal is for good; another failure, this once. */
		if (rv != CKR_OK && !hsm_rv_no_copies(rv))
			return priv;
		h->copy_ok = -1;
		log_info("%s: C_CopyObject: %s; signing with token objects",
		    where, hsm_rv_name(rv));
		return priv;
	}
	f->n1 = 0;
	hsm_tmpl_add(f->t1, &f->n1, CKA_TOKEN, &f->rtoken,
	    sizeof(f->rtoken));
	hsm_tmpl_add(f->t1, &f->n1, CKA_SENSITIVE, &f->rsensitive,
	    sizeof(f->rsensitive));
	hsm_tmpl_add(f->t1, &f->n1, CKA_EXTRACTABLE, &f->rextractable,
	    sizeof(f->rextractable));
	f->obj = copy;
	rv = hsm_call(h, job_get_attrs, "C_GetAttributeValue");
	if (hsm_rv_recovers(rv)) {
		hsm_ckfail(h, where, "C_GetAttributeValue", rv);
		return CK_INVALID_HANDLE;
	}
	if (rv == CKR_OBJECT_HANDLE_INVALID) {
		/* The copy went at once (another session's doing?): the
		 * token object signs, and copies are tried again later. */
		return priv;
	}
	if (rv != CKR_OK || f->t1[0].ulValueLen != sizeof(CK_BBOOL) ||
	    f->t1[1].ulValueLen != sizeof(CK_BBOOL) ||
	    f->t1[2].ulValueLen != sizeof(CK_BBOOL) ||
	    f->rtoken != CK_FALSE || f->rsensitive != CK_TRUE ||
	    f->rextractable != CK_FALSE) {
		log_warnx("%s: the token's session copy of a key is not a "
		    "sensitive, non-extractable session object (%s); "
		    "destroyed, signing with token objects", where,
		    hsm_rv_name(rv));
		h->copy_ok = -1;
		f->session = h->session;
		f->obj = copy;
		if ((rv = hsm_call(h, job_destroy, "C_DestroyObject")) !=
		    CKR_OK) {
			hsm_ckfail(h, where, "C_DestroyObject", rv);
			return CK_INVALID_HANDLE;
		}
		return priv;
	}
	h->copy_ok = 1;
	slot = &h->cp[hsm_cp_slot(h, priv)];
	slot->key = priv;
	slot->copy = copy;
	slot->pk8 = hsm_pk8(key->pk);
	slot->seen = time(NULL);
	h->ncp++;
	h->stats.copies_made++;
	return copy;
}

/*
 * Signing.
 */

struct hsm_sign_args {
	struct hsm_key	*key;
	uint8_t		*sig;
	const void	*msg;
	size_t		 len;
};

static int
hsm_op_sign(struct hsm *h, void *arg)
{
	static const char	 where[] = "hsm_key_sign";
	struct hsm_sign_args	*a = arg;
	struct hsm_frame	*f = h->f;
	CK_OBJECT_HANDLE	 obj;
	uint8_t			*m;
	CK_RV			 rv;
	int			 r;

	if (hsm_key_refresh(h, where, a->key) == -1)
		return -1;
	if ((obj = hsm_key_copy(h, where, a->key)) == CK_INVALID_HANDLE)
		return -1;
	if (f->msg_cap < a->len || f->msg == NULL) {
		if ((m = realloc(f->msg, a->len > 0 ? a->len : 1)) == NULL) {
			hsm_fail(h, HSM_E_FAILED, NULL, CKR_HOST_MEMORY,
			    "%s: out of memory", where);
			return -1;
		}
		f->msg = m;
		f->msg_cap = a->len;
	}
	if (a->len > 0)
		memcpy(f->msg, a->msg, a->len);
	f->msg_len = a->len;
	f->mech.mechanism = CKM_EDDSA;
	f->mech.pParameter = NULL;
	f->mech.ulParameterLen = 0;
	f->obj = obj;
	f->session = h->session;
	rv = hsm_call(h, job_sign_init, "C_SignInit");
	if (obj != a->key->priv && (rv == CKR_KEY_HANDLE_INVALID ||
	    rv == CKR_OBJECT_HANDLE_INVALID)) {
		/* The copy went behind our back: the token object, once. */
		(void)hsm_cp_take(h, a->key->priv);
		obj = f->obj = a->key->priv;
		rv = hsm_call(h, job_sign_init, "C_SignInit");
	}
	if (rv != CKR_OK) {
		hsm_ckfail(h, where, "C_SignInit", rv);
		return -1;
	}
	if ((rv = hsm_call(h, job_sign, "C_Sign")) != CKR_OK) {
		hsm_ckfail(h, where, "C_Sign", rv);
		return -1;
	}
	if (f->sig_len != ED25519_SIG_LEN) {
		hsm_fail(h, HSM_E_FAILED, "C_Sign", CKR_OK,
		    "%s: C_Sign: %lu-byte signature", where, f->sig_len);
		return -1;
	}
	/* A token that signs wrongly (fault, bug) must not publish it. */
	if ((r = ob_ed25519_verify(f->sig, a->msg, a->len, a->key->pk)) !=
	    0) {
		/* A copy that is not this key's (a handle the token gave
		 * to another key) goes, or it would fail every request. */
		if (obj != a->key->priv)
			hsm_cp_destroy(h, where, a->key->priv);
		hsm_fail(h, HSM_E_FAILED, "C_Sign", CKR_OK,
		    "%s: the token's signature does not verify: %s", where,
		    ob_strerror(r));
		return -1;
	}
	memcpy(a->sig, f->sig, ED25519_SIG_LEN);
	h->stats.signatures++;
	return 0;
}

int
hsm_key_sign(struct hsm *h, struct hsm_key *key, uint8_t sig[ED25519_SIG_LEN],
    const void *msg, size_t len)
{
	struct hsm_sign_args	a = { key, sig, msg, len };

	hsm_error_clear(h);
	if (key == NULL || (msg == NULL && len > 0) || len > HSM_SIGN_MAX ||
	    key->label[0] == '\0') {
		hsm_fail(h, HSM_E_CONFIG, NULL, CKR_OK,
		    "hsm_key_sign: no key, or message over %u bytes",
		    HSM_SIGN_MAX);
		return -1;
	}
	return hsm_run(h, "hsm_key_sign", hsm_op_sign, &a);
}

void
hsm_key_pack(struct hsm_keyref *r, const struct hsm_key *key)
{
	memset(r, 0, sizeof(*r));
	memcpy(r->pk, key->pk, sizeof(r->pk));
	r->priv = key->priv;
	r->pub = key->pub;
	r->epoch = key->epoch;
}

int
hsm_key_unpack(struct hsm_key *key, struct hsm *h,
    const struct hsm_keyref *r, const char *label, const void *id,
    size_t id_len)
{
	size_t	llen = strlen(label);

	if (llen == 0 || llen > HSM_LABEL_MAX || id_len > HSM_ID_MAX ||
	    (id == NULL && id_len > 0))
		return -1;
	memset(key, 0, sizeof(*key));
	memcpy(key->label, label, llen);
	if (id_len > 0)
		memcpy(key->id, id, id_len);
	key->id_len = id_len;
	memcpy(key->pk, r->pk, sizeof(key->pk));
	key->hsm = h;
	key->priv = r->priv;
	key->pub = r->pub;
	key->epoch = r->epoch;
	return 0;
}

static int
hsm_signer_cb(void *ctx, uint8_t sig[ED25519_SIG_LEN], const uint8_t *msg,
    size_t len)
{
	struct hsm_key	*key = ctx;

	if (key == NULL || key->hsm == NULL)
		return -1;
	return hsm_key_sign(key->hsm, key, sig, msg, len) == 0 ? 0 : -1;
}

void
hsm_key_signer(struct hs_signer *s, struct hsm_key *key)
{
	s->sign = hsm_signer_cb;
	s->ctx = key;
	memcpy(s->pk, key->pk, ED25519_PK_LEN);
}

/*
 * Listing and destroying.
 */

struct hsm_list_args {
	struct hsm_key	*keys;
	size_t		 n;
};

/*
 * One enumeration (hsm_ix_build) rather than a search per key for its
 * public half: with a token that scans all objects per search, listing
 * N keys is then O(N), not O(N^2), and is not capped at HSM_FIND_MAX.
 */
static int
hsm_op_list(struct hsm *h, void *arg)
{
	static const char	 where[] = "hsm_key_list";
	struct hsm_list_args	*a = arg;
	struct hsm_index	 ix;
	struct hsm_ixkey	*e;
	struct hsm_key		*k;
	size_t			 i, out = 0;
	int			 ret = -1;

	free(a->keys);
	a->keys = NULL;
	a->n = 0;
	memset(&ix, 0, sizeof(ix));
	if (hsm_ix_build(h, where, &ix, 0) == -1)
		return -1;
	if ((a->keys = calloc(ix.nkeys > 0 ? ix.nkeys : 1,
	    sizeof(*a->keys))) == NULL) {
		hsm_fail(h, HSM_E_FAILED, NULL, CKR_HOST_MEMORY,
		    "%s: out of memory", where);
		goto err;
	}
	for (i = 0; i < ix.nkeys; i++) {
		e = ix.keys[i];
		k = &a->keys[out];
		if (hsm_ix_key_out(h, where, e, k) == -1) {
			/* A lone private key (or an Ed448 one) is listed
			 * without a public key rather than hiding it from
			 * a purge; a lost session is not. */
			if (!h->have_session || h->need_reinit || h->hung)
				goto err;
			log_warnx("%s: key \"%s\" listed without public key",
			    where, IXK_LABEL(e));
			memset(k, 0, sizeof(*k));
			memcpy(k->label, IXK_LABEL(e), e->label_len);
			memcpy(k->id, IXK_ID(e), e->id_len);
			k->id_len = e->id_len;
			k->priv = e->priv;
			k->pub = CK_INVALID_HANDLE;
			k->hsm = h;
			k->epoch = h->epoch;
			hsm_error_clear(h);
		}
		out++;
	}
	a->n = out;
	ret = 0;
 err:
	if (ret == -1) {
		free(a->keys);
		a->keys = NULL;
	}
	hsm_ix_clear(&ix);
	return ret;
}

int
hsm_key_list(struct hsm *h, struct hsm_key **keys, size_t *nkeys)
{
	struct hsm_list_args	a = { NULL, 0 };

	hsm_error_clear(h);
	*keys = NULL;
	*nkeys = 0;
	if (hsm_run(h, "hsm_key_list", hsm_op_list, &a) == -1) {
		free(a.keys);
		return -1;
	}
	*keys = a.keys;
	*nkeys = a.n;
	return 0;
}

static int
hsm_op_destroy(struct hsm *h, void *arg)
{
	static const char	 where[] = "hsm_key_destroy";
	struct hsm_key		*key = arg;
	struct hsm_frame	*f = h->f;
	uint8_t			 zero[ED25519_PK_LEN] = { 0 };
	CK_RV			 rv;

	if (key->epoch != h->epoch || key->priv == CK_INVALID_HANDLE) {
		/* A key listed without public half has no pk to check. */
		if (memcmp(key->pk, zero, sizeof(zero)) == 0) {
			hsm_fail(h, HSM_E_NOT_FOUND, NULL, CKR_OK,
			    "%s: key \"%s\": list it again first", where,
			    key->label);
			return -1;
		}
		if (hsm_key_refresh(h, where, key) == -1)
			return -1;
	}
	hsm_cp_destroy(h, where, key->priv);
	f->session = h->session;
	f->obj = key->priv;
	if ((rv = hsm_call(h, job_destroy, "C_DestroyObject")) != CKR_OK) {
		hsm_ckfail(h, where, "C_DestroyObject", rv);
		return -1;
	}
	if (h->ix.on && h->ix.valid && h->ix.epoch == h->epoch)
		hsm_ix_remove(&h->ix, key->priv);
	key->priv = CK_INVALID_HANDLE;
	if (key->pub != CK_INVALID_HANDLE) {
		f->obj = key->pub;
		if ((rv = hsm_call(h, job_destroy, "C_DestroyObject")) !=
		    CKR_OK) {
			hsm_ckfail(h, where, "C_DestroyObject", rv);
			return -1;
		}
		key->pub = CK_INVALID_HANDLE;
	}
	log_info("%s: destroyed key \"%s\"", where, key->label);
	return 0;
}

int
hsm_key_destroy(struct hsm *h, struct hsm_key *key)
{
	hsm_error_clear(h);
	return hsm_run(h, "hsm_key_destroy", hsm_op_destroy, key);
}

/*
 * Token information.
 */

static int
hsm_op_token_info(struct hsm *h, void *arg)
{
	struct hsm_token_info	*ti = arg;
	struct hsm_frame	*f = h->f;
	CK_TOKEN_INFO		*t = &f->token_info;
	CK_RV			 rv;

	f->slot = h->slot;
	if ((rv = hsm_call(h, job_get_token_info, "C_GetTokenInfo")) !=
	    CKR_OK) {
		hsm_ckfail(h, "hsm_token_info", "C_GetTokenInfo", rv);
		return -1;
	}
	memset(ti, 0, sizeof(*ti));
	hsm_strpad(ti->label, sizeof(ti->label), t->label, sizeof(t->label));
	hsm_strpad(ti->manufacturer, sizeof(ti->manufacturer),
	    t->manufacturerID, sizeof(t->manufacturerID));
	hsm_strpad(ti->model, sizeof(ti->model), t->model, sizeof(t->model));
	hsm_strpad(ti->serial, sizeof(ti->serial), t->serialNumber,
	    sizeof(t->serialNumber));
	ti->slot = h->slot;
	ti->flags = t->flags;
	ti->tries_left = (t->flags & CKF_USER_PIN_LOCKED) ? 0 :
	    (t->flags & CKF_USER_PIN_FINAL_TRY) ? 1 : -1;
	ti->protected_path = (t->flags & CKF_PROTECTED_AUTHENTICATION_PATH) !=
	    0;
	return 0;
}

int
hsm_token_info(struct hsm *h, struct hsm_token_info *ti)
{
	hsm_error_clear(h);
	return hsm_run(h, "hsm_token_info", hsm_op_token_info, ti);
}

/*
 * Life cycle.
 */

/* The PIN gets a page of its own, locked (no swap) and out of cores. */
static int
hsm_pin_alloc(struct hsm *h)
{
	long	pg = sysconf(_SC_PAGESIZE);
	void	*p;

	h->pin_map = pg > HSM_PIN_MAX ? (size_t)pg : HSM_PIN_MAX;
	p = mmap(NULL, h->pin_map, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		log_warn("hsm_open: mmap");
		return -1;
	}
	if (mlock(p, h->pin_map) == -1)
		log_warn("hsm_open: mlock (PIN may be swapped)");
#ifdef MADV_DONTDUMP
	(void)madvise(p, h->pin_map, MADV_DONTDUMP);
#endif
	h->pin = p;
	return 0;
}

static void
hsm_pin_release(struct hsm *h)
{
	if (h->pin == NULL)
		return;
	ob_wipe(h->pin, h->pin_map);
	munlock(h->pin, h->pin_map);
	munmap(h->pin, h->pin_map);
	h->pin = NULL;
}

static int
hsm_pin_setup(struct hsm *h)
{
	const char	*src = h->pin_source, *v;
	char		*tmp = NULL;
	int		 ret = -1;

	if (src == NULL && (v = p11_kit_uri_get_pin_source(h->uri)) != NULL) {
		/* RFC 7512: pin-source is a URI; a bare path means file:. */
		if (v[0] == '/') {
			if (asprintf(&tmp, "file:%s", v) == -1)
				goto nomem;
			src = tmp;
		} else
			src = v;
	}
	if (src != NULL && strcmp(src, "protected") == 0) {
		h->pin_mode = HSM_PIN_PROTECTED;
		ret = 0;
		goto out;
	}
	if (src == NULL && (v = p11_kit_uri_get_pin_value(h->uri)) == NULL) {
		h->pin_mode = HSM_PIN_NONE;
		ret = 0;
		goto out;
	}
	if (hsm_pin_alloc(h) == -1)
		goto nomem;
	if (src == NULL) {
		v = p11_kit_uri_get_pin_value(h->uri);
		if (strlen(v) == 0 || strlen(v) >= HSM_PIN_MAX) {
			hsm_fail(h, HSM_E_CONFIG, NULL, CKR_OK,
			    "hsm_open: pin-value in the URI is empty or too "
			    "long");
			goto out;
		}
		log_warnx("hsm_open: the PIN is in the token URI; prefer "
		    "pin_source file:PATH");
		memcpy(h->pin, v, strlen(v) + 1);
	} else if (hsm_pin_read(h->pin, HSM_PIN_MAX, src) == -1) {
		hsm_fail(h, HSM_E_CONFIG, NULL, CKR_OK,
		    "hsm_open: cannot read the PIN from %s", src);
		goto out;
	}
	h->pin_mode = HSM_PIN_VALUE;
	ret = 0;
	goto out;
 nomem:
	hsm_fail(h, HSM_E_FAILED, NULL, CKR_HOST_MEMORY,
	    "hsm_open: out of memory");
 out:
	free(tmp);
	return ret;
}

struct hsm *
hsm_new(const struct hsm_config *conf)
{
	struct hsm	*h;

	if ((h = calloc(1, sizeof(*h))) == NULL ||
	    (h->f = calloc(1, sizeof(*h->f))) == NULL)
		goto err;
	if (conf != NULL) {
		if ((conf->module != NULL &&
		    (h->module = strdup(conf->module)) == NULL) ||
		    (conf->uri != NULL &&
		    (h->uri_str = strdup(conf->uri)) == NULL) ||
		    (conf->pin_source != NULL &&
		    (h->pin_source = strdup(conf->pin_source)) == NULL))
			goto err;
		h->timeout_ms = conf->timeout_ms;
		h->allow_final_try = conf->allow_final_try;
		if (conf->no_key_copies)
			h->copy_ok = -1;
		h->copy_check_s = conf->copy_check_s;
	}
	hsm_error_clear(h);
	return h;
 err:
	log_warn("hsm_new");
	if (h != NULL) {
		free(h->module);
		free(h->uri_str);
		free(h->pin_source);
		free(h->f);
		free(h);
	}
	return NULL;
}

int
hsm_open(struct hsm *h)
{
	static const char	where[] = "hsm_open";
	int			r;

	hsm_error_clear(h);
	if (h->opened || h->fl != NULL) {
		hsm_fail(h, HSM_E_CONFIG, NULL, CKR_OK, "%s: already open",
		    where);
		return -1;
	}
	h->tok_serial[0] = '\0';
	h->tok_label[0] = '\0';
	h->pin_bad = 0;
	if ((h->uri = p11_kit_uri_new()) == NULL) {
		hsm_fail(h, HSM_E_FAILED, NULL, CKR_HOST_MEMORY,
		    "%s: out of memory", where);
		return -1;
	}
	if (h->uri_str != NULL && (r = p11_kit_uri_parse(h->uri_str,
	    P11_KIT_URI_FOR_ANY, h->uri)) != P11_KIT_URI_OK) {
		hsm_fail(h, HSM_E_CONFIG, NULL, CKR_OK,
		    "%s: token URI \"%s\": %s", where, h->uri_str,
		    p11_kit_uri_message(r));
		goto err;
	}
	if (hsm_pin_setup(h) == -1 || hsm_module_load(h) == -1)
		goto err;
	if (h->timeout_ms > 0 && hsm_worker_start(h) == -1) {
		hsm_fail(h, HSM_E_FAILED, NULL, CKR_OK,
		    "%s: cannot start the watchdog thread", where);
		goto err;
	}
	if (hsm_initialize(h, where) == -1 ||
	    hsm_token_select(h, where) == -1 ||
	    hsm_mechanisms_check(h, where) == -1 ||
	    hsm_session_open(h, where) == -1)
		goto err;
	h->need_reinit = 0;
	h->opened = 1;
	log_info("%s: token \"%s\" serial %s in slot %lu%s", where,
	    h->tok_label, h->tok_serial, h->slot,
	    h->pin_mode == HSM_PIN_NONE ? " (not logged in)" : "");
	return 0;
 err:
	/* Leave the handle as hsm_new() made it, apart from the error. */
	if (!h->hung) {
		hsm_finalize(h, where);
		hsm_module_unload(h);
	}
	hsm_pin_release(h);
	p11_kit_uri_free(h->uri);
	h->uri = NULL;
	h->need_reinit = 0;
	return -1;
}

int
hsm_reinit(struct hsm *h)
{
	hsm_error_clear(h);
	if (!h->opened) {
		hsm_fail(h, HSM_E_CONFIG, NULL, CKR_OK,
		    "hsm_reinit: not open");
		return -1;
	}
	if (h->hung) {
		if (!hsm_worker_idle(h)) {
			hsm_fail(h, HSM_E_HUNG, h->hung_call, HSM_RV_UNUSABLE,
			    "hsm_reinit: module unusable: %s has not returned",
			    h->hung_call);
			return -1;
		}
		h->hung = 0;
	}
	h->need_reinit = 1;
	return hsm_reinit_inner(h, "hsm_reinit");
}

void
hsm_free(struct hsm *h)
{
	if (h == NULL)
		return;
	if (h->hung && h->w.started && !hsm_worker_idle(h)) {
		/* hsm.h: leak rather than free what the module may write. */
		log_warnx("hsm_free: %s still hung; leaking the module",
		    h->hung_call);
		hsm_pin_release(h);
		pthread_detach(h->w.tid);
		return;
	}
	h->hung = 0;
	if (h->have_session && h->pin_mode != HSM_PIN_NONE) {
		h->f->session = h->session;
		(void)hsm_call(h, job_logout, "C_Logout");
	}
	if (h->have_session) {
		h->f->session = h->session;
		(void)hsm_call(h, job_close_session, "C_CloseSession");
	}
	hsm_finalize(h, "hsm_free");
	if (h->w.started) {
		pthread_mutex_lock(&h->w.mu);
		h->w.quit = 1;
		pthread_cond_broadcast(&h->w.cv);
		pthread_mutex_unlock(&h->w.mu);
		pthread_join(h->w.tid, NULL);
		pthread_cond_destroy(&h->w.cv);
		pthread_mutex_destroy(&h->w.mu);
	}
	hsm_module_unload(h);
	hsm_pin_release(h);
	hsm_ix_clear(&h->ix);
	free(h->ix.prefix);
	free(h->cp);
	if (h->uri != NULL)
		p11_kit_uri_free(h->uri);
	if (h->f != NULL) {
		ob_wipe(h->f->pin, sizeof(h->f->pin));
		free(h->f->msg);
		free(h->f);
	}
	free(h->module);
	free(h->uri_str);
	free(h->pin_source);
	free(h);
}

static int
hsm_op_index(struct hsm *h, void *arg)
{
	(void)arg;
	/* A key destroyed by another process since the last load must not
	 * go on signing through its copy; the rest are copied again. */
	hsm_cp_destroy_all(h, "hsm_index_load");
	return hsm_ix_ready(h, "hsm_index_load");
}

int
hsm_index_load(struct hsm *h, const char *prefix)
{
	char	*p = NULL;

	hsm_error_clear(h);
	if (prefix != NULL && (strlen(prefix) > HSM_LABEL_MAX ||
	    (p = strdup(prefix)) == NULL)) {
		hsm_fail(h, HSM_E_CONFIG, NULL, CKR_OK, "hsm_index_load: "
		    "label prefix too long, or out of memory");
		return -1;
	}
	hsm_ix_clear(&h->ix);
	free(h->ix.prefix);
	h->ix.prefix = p;
	h->ix.on = 1;
	if (hsm_run(h, "hsm_index_load", hsm_op_index, NULL) == -1)
		return -1;
	log_info("hsm_index_load: token \"%s\": %zu keys%s%s%s", h->tok_label,
	    h->ix.nkeys, p != NULL ? " labelled \"" : "", p != NULL ? p : "",
	    p != NULL ? "...\"" : "");
	return 0;
}

void
hsm_index_drop(struct hsm *h)
{
	hsm_ix_clear(&h->ix);
	free(h->ix.prefix);
	h->ix.prefix = NULL;
	h->ix.on = 0;
}

size_t
hsm_index_count(const struct hsm *h)
{
	return h->ix.on && h->ix.valid ? h->ix.nkeys : 0;
}

void
hsm_stats_get(const struct hsm *h, struct hsm_stats *st)
{
	*st = h->stats;
	st->copies = h->have_session && h->cp_epoch == h->epoch ? h->ncp : 0;
}

enum hsm_status
hsm_last_status(const struct hsm *h)
{
	return h->err_status;
}

unsigned long
hsm_last_rv(const struct hsm *h)
{
	return h->err_rv;
}

const char *
hsm_last_call(const struct hsm *h)
{
	return h->err_call;
}

const char *
hsm_last_error(const struct hsm *h)
{
	return h->err_set ? h->err_msg : "no error";
}

const char *
hsm_status_name(enum hsm_status st)
{
	static const char *const names[] = {
		[HSM_OK] = "ok",
		[HSM_E_CONFIG] = "configuration error",
		[HSM_E_MODULE] = "module cannot be loaded",
		[HSM_E_NO_TOKEN] = "token not present",
		[HSM_E_AMBIGUOUS] = "more than one match",
		[HSM_E_PIN] = "wrong or missing PIN",
		[HSM_E_PIN_LOCKED] = "PIN locked",
		[HSM_E_HUNG] = "token call hung",
		[HSM_E_NOT_FOUND] = "key not found",
		[HSM_E_EXISTS] = "key exists",
		[HSM_E_UNSUPPORTED] = "not supported by the token",
		[HSM_E_FAILED] = "token operation failed",
	};

	if ((unsigned)st >= sizeof(names) / sizeof(names[0]) ||
	    names[st] == NULL)
		return "unknown";
	return names[st];
}
