/*
 * libFuzzer target: both decoders of obhsm-p11proxy (p11proxy.h).
 *
 * First byte even: a request to the server.  The next byte is the op,
 * the rest its payload, decoded by the server's own sv_dispatch()
 * against a small in-process module (below) that answers every call
 * and fills whatever outputs it is given room for.
 *
 * First byte odd: a reply to the client.  The next byte picks one of
 * the client's calls, the rest is the reply after its op (rv, outputs
 * flag, outputs), fed through a socketpair to the client module's own
 * call path.  Every caller buffer is exactly its size, so a write past
 * one is an ASan report.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>

/* The two programs' sources, the server's main renamed (and unused). */
int	p11proxyd_main(int, char **);
#define main	p11proxyd_main
#include "../p11proxy/p11proxyd.c"
#undef main
#include "../p11proxy/p11proxy.c"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/*
 * The module the server talks to: answers CKR_OK and fills every
 * output it has room for, so the server's encoders run on what its
 * decoders let through.
 */
static volatile uint8_t	fm_sink;	/* what the module read */

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"

static CK_RV
fm_init(void *a)
{
	return CKR_OK;
}

static CK_RV
fm_info(CK_INFO *i)
{
	memset(i, ' ', sizeof(*i));
	return CKR_OK;
}

static CK_RV
fm_slots(CK_BBOOL p, CK_SLOT_ID *l, CK_ULONG *n)
{
	if (l != NULL && *n < 2) {
		*n = 2;
		return CKR_BUFFER_TOO_SMALL;
	}
	if (l != NULL) {
		l[0] = 0;
		l[1] = 1;
	}
	*n = 2;
	return CKR_OK;
}

static CK_RV
fm_slot_info(CK_SLOT_ID s, CK_SLOT_INFO *i)
{
	memset(i, ' ', sizeof(*i));
	return CKR_OK;
}

static CK_RV
fm_token_info(CK_SLOT_ID s, CK_TOKEN_INFO *i)
{
	memset(i, ' ', sizeof(*i));
	return CKR_OK;
}

static CK_RV
fm_mech_info(CK_SLOT_ID s, CK_MECHANISM_TYPE t, CK_MECHANISM_INFO *i)
{
	memset(i, 0, sizeof(*i));
	return CKR_OK;
}

static CK_RV
fm_open(CK_SLOT_ID s, CK_FLAGS f, void *a, CK_NOTIFY n,
    CK_SESSION_HANDLE *h)
{
	*h = 1;
	return CKR_OK;
}

static CK_RV
fm_session(CK_SESSION_HANDLE s)
{
	return CKR_OK;
}

static CK_RV
fm_session_info(CK_SESSION_HANDLE s, CK_SESSION_INFO *i)
{
	memset(i, 0, sizeof(*i));
	return CKR_OK;
}

static CK_RV
fm_login(CK_SESSION_HANDLE s, CK_USER_TYPE u, CK_UTF8CHAR *p, CK_ULONG n)
{
	CK_ULONG	i;

	for (i = 0; i < n; i++)
		fm_sink += p[i];
	return CKR_OK;
}

/* Reads every value it is given, as a module would. */
static CK_RV
fm_tmpl(CK_SESSION_HANDLE s, CK_ATTRIBUTE *t, CK_ULONG n)
{
	CK_ULONG	i, j;

	for (i = 0; i < n; i++)
		for (j = 0; t[i].pValue != NULL && j < t[i].ulValueLen; j++)
			fm_sink += ((uint8_t *)t[i].pValue)[j];
	return CKR_OK;
}

static CK_RV
fm_set(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE *t,
    CK_ULONG n)
{
	return fm_tmpl(s, t, n);
}

static CK_RV
fm_find(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE *o, CK_ULONG max,
    CK_ULONG *n)
{
	CK_ULONG	i;

	for (i = 0; i < max && i < 3; i++)
		o[i] = i + 1;
	*n = i;
	return CKR_OK;
}

/* Fills each buffer it is given; 5-byte values, too small below that. */
static CK_RV
fm_get(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE *t,
    CK_ULONG n)
{
	CK_RV		rv = CKR_OK;
	CK_ULONG	i;

	for (i = 0; i < n; i++) {
		if (t[i].pValue != NULL && t[i].ulValueLen < 5) {
			t[i].ulValueLen = CK_UNAVAILABLE_INFORMATION;
			rv = CKR_BUFFER_TOO_SMALL;
			continue;
		}
		if (t[i].pValue != NULL)
			memset(t[i].pValue, 'v', 5);
		t[i].ulValueLen = 5;
	}
	return rv;
}

static CK_RV
fm_gen(CK_SESSION_HANDLE s, CK_MECHANISM *m, CK_ATTRIBUTE *pub,
    CK_ULONG npub, CK_ATTRIBUTE *priv, CK_ULONG npriv,
    CK_OBJECT_HANDLE *a, CK_OBJECT_HANDLE *b)
{
	(void)fm_tmpl(s, pub, npub);
	(void)fm_tmpl(s, priv, npriv);
	*a = 2;
	*b = 3;
	return CKR_OK;
}

static CK_RV
fm_destroy(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o)
{
	return CKR_OK;
}

static CK_RV
fm_copy(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE *t,
    CK_ULONG n, CK_OBJECT_HANDLE *c)
{
	(void)fm_tmpl(s, t, n);
	*c = 4;
	return CKR_OK;
}

static CK_RV
fm_sign_init(CK_SESSION_HANDLE s, CK_MECHANISM *m, CK_OBJECT_HANDLE k)
{
	return CKR_OK;
}

static CK_RV
fm_sign(CK_SESSION_HANDLE s, CK_BYTE *d, CK_ULONG dl, CK_BYTE *sig,
    CK_ULONG *sl)
{
	if (sig != NULL && *sl < 64) {
		*sl = 64;
		return CKR_BUFFER_TOO_SMALL;
	}
	if (sig != NULL)
		memset(sig, 's', 64);
	*sl = 64;
	return CKR_OK;
}

#pragma GCC diagnostic pop

static CK_FUNCTION_LIST fm_list = {
	.C_Initialize = fm_init,
	.C_Finalize = fm_init,
	.C_GetInfo = fm_info,
	.C_GetSlotList = fm_slots,
	.C_GetSlotInfo = fm_slot_info,
	.C_GetTokenInfo = fm_token_info,
	.C_GetMechanismInfo = fm_mech_info,
	.C_OpenSession = fm_open,
	.C_CloseSession = fm_session,
	.C_GetSessionInfo = fm_session_info,
	.C_Login = fm_login,
	.C_Logout = fm_session,
	.C_FindObjectsInit = fm_tmpl,
	.C_FindObjects = fm_find,
	.C_FindObjectsFinal = fm_session,
	.C_GetAttributeValue = fm_get,
	.C_SetAttributeValue = fm_set,
	.C_GenerateKeyPair = fm_gen,
	.C_DestroyObject = fm_destroy,
	.C_CopyObject = fm_copy,
	.C_SignInit = fm_sign_init,
	.C_Sign = fm_sign,
};

static void
fz_server(uint8_t op, const uint8_t *data, size_t len)
{
	struct buf	*in, *r;

	S.fl = &fm_list;
	if ((in = buf_new(P11P_MSG_MAX)) == NULL)
		return;
	if ((r = p11p_frame_new(op)) != NULL &&
	    (len == 0 || buf_put(in, data, len) == 0))
		(void)sv_dispatch(op, in, r);
	buf_free(r);
	buf_free(in);
}

/* The client's calls, each with its reply's op. */
static const uint32_t fz_ops[] = {
	P11P_GET_INFO, P11P_GET_SLOT_LIST, P11P_GET_SLOT_LIST,
	P11P_GET_SLOT_INFO, P11P_GET_TOKEN_INFO, P11P_GET_MECHANISM_INFO,
	P11P_OPEN_SESSION, P11P_GET_SESSION_INFO, P11P_FIND, P11P_GET_ATTRS,
	P11P_GENERATE_KEY_PAIR, P11P_SIGN, P11P_SIGN, P11P_LOGIN,
	P11P_FINALIZE,
};

static void
fz_client_call(unsigned which)
{
	CK_MECHANISM		mech = { CKM_EDDSA, NULL, 0 };
	CK_INFO			info;
	CK_SLOT_INFO		si;
	CK_TOKEN_INFO		ti;
	CK_MECHANISM_INFO	mi;
	CK_SESSION_INFO		ssi;
	CK_SESSION_HANDLE	h;
	CK_SLOT_ID		slots[4];
	CK_OBJECT_HANDLE	objs[4], a, b;
	CK_ATTRIBUTE		t[3];
	CK_ULONG		n;
	uint8_t			v0[4], v2[16], sig[64];

	switch (which) {
	case 0:
		(void)px_C_GetInfo(&info);
		break;
	case 1:
		n = 4;
		(void)px_C_GetSlotList(CK_TRUE, slots, &n);
		break;
	case 2:
		n = 0;
		(void)px_C_GetSlotList(CK_TRUE, NULL, &n);
		break;
	case 3:
		(void)px_C_GetSlotInfo(0, &si);
		break;
	case 4:
		(void)px_C_GetTokenInfo(0, &ti);
		break;
	case 5:
		(void)px_C_GetMechanismInfo(0, CKM_EDDSA, &mi);
		break;
	case 6:
		(void)px_C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &h);
		break;
	case 7:
		(void)px_C_GetSessionInfo(1, &ssi);
		break;
	case 8:
		(void)px_C_FindObjects(1, objs, 4, &n);
		break;
	case 9:
		t[0].type = CKA_LABEL;
		t[0].pValue = v0;
		t[0].ulValueLen = sizeof(v0);
		t[1].type = CKA_ID;
		t[1].pValue = NULL;
		t[1].ulValueLen = 0;
		t[2].type = CKA_EC_POINT;
		t[2].pValue = v2;
		t[2].ulValueLen = sizeof(v2);
		(void)px_C_GetAttributeValue(1, 2, t, 3);
		break;
	case 10:
		(void)px_C_GenerateKeyPair(1, &mech, NULL, 0, NULL, 0, &a, &b);
		break;
	case 11:
		n = sizeof(sig);
		(void)px_C_Sign(1, (CK_BYTE *)"m", 1, sig, &n);
		break;
	case 12:
		n = 0;
		(void)px_C_Sign(1, (CK_BYTE *)"m", 1, NULL, &n);
		break;
	case 13:
		(void)px_C_Login(1, CKU_USER, (CK_UTF8CHAR *)"1234", 4);
		break;
	default:
		(void)px_C_Finalize(NULL);
		break;
	}
}

static void
fz_client(uint8_t which, const uint8_t *data, size_t len)
{
	uint8_t		hdr[8], junk[4096];
	uint32_t	op, flen;
	int		sv[2];

	which %= sizeof(fz_ops) / sizeof(fz_ops[0]);
	op = fz_ops[which];
	/* The reply waits in the socket before the call is made: keep it
	 * within what a socket buffer takes. */
	if (len > 65536 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		return;
	flen = (uint32_t)len + 4;
	hdr[0] = (uint8_t)(flen >> 24);
	hdr[1] = (uint8_t)(flen >> 16);
	hdr[2] = (uint8_t)(flen >> 8);
	hdr[3] = (uint8_t)flen;
	hdr[4] = (uint8_t)(op >> 24);
	hdr[5] = (uint8_t)(op >> 16);
	hdr[6] = (uint8_t)(op >> 8);
	hdr[7] = (uint8_t)op;
	if (write(sv[1], hdr, sizeof(hdr)) != (ssize_t)sizeof(hdr) ||
	    (len > 0 && write(sv[1], data, len) != (ssize_t)len)) {
		close(sv[0]);
		close(sv[1]);
		return;
	}
	/* A connected, initialised module, as C_Initialize leaves it. */
	P.fd = sv[0];
	P.initialized = 1;
	P.pid = getpid();
	fz_client_call(which);
	while (recv(sv[1], junk, sizeof(junk), MSG_DONTWAIT) > 0)
		;
	close(sv[1]);
	px_drop();
	P.initialized = 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	if (len < 2)
		return 0;
	if ((data[0] & 1) == 0)
		fz_server(data[1], data + 2, len - 2);
	else
		fz_client(data[1], data + 2, len - 2);
	return 0;
}
