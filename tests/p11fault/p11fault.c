/*
 * obhsm-p11fault: a fault-injecting PKCS#11 module for tests and for
 * operators' own drills.  It loads a real module (OBHSM_P11FAULT_MODULE,
 * default SoftHSM2), passes every call through that module's function
 * list, and injects the failures real tokens show: removal and
 * re-insertion, lost sessions, a PIN try counter that locks, calls that
 * hang, smartcard-slow signing, signatures with a bit flipped, and errors
 * every Nth call.  Counters of calls and signatures are written to a file
 * tests and benchmarks read.
 *
 * Control: OBHSM_P11FAULT_CONTROL names a file of "key value" lines,
 * re-read whenever its mtime, size or inode changes (checked on every
 * call); each key can also be given once, at load, as an environment
 * variable OBHSM_P11FAULT_<KEY> (upper case) holding the value.  The keys
 * are documented in doc/p11fault.md.  Bad lines are reported on stderr and
 * ignored: a test tool must not crash the application under test.
 *
 * Beyond doc/p11fault.md: "copy_exposed 1" makes C_GetAttributeValue
 * answer CKA_SENSITIVE false and CKA_EXTRACTABLE true for any session
 * object (a token whose copies of keys lose their protection; hsm/ must
 * refuse such a copy), and the counter "session_key_signs" counts the
 * C_SignInit calls whose key is a session object (which object hsm/
 * signed with).  A refused C_CopyObject is "fail C_CopyObject RV 0".
 *
 * State (the PIN counter, counters) lives as long as the process: the
 * module pins itself in memory so that a p11-kit unload and reload within
 * one process sees the same "token".
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/syscall.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <p11-kit/pkcs11.h>

#include "buf.h"
#include "hsm.h"

#define FAULT_DEFAULT_MODULE	"/usr/lib/softhsm/libsofthsm2.so"
#define FAULT_CONTROL_MAX	(64 * 1024)
#define FAULT_LINE_MAX		512
#define FAULT_WORD_MAX		128
#define FAULT_SLOTS_MAX		64

/* How "removed" answers a function (by its first argument). */
enum fault_kind {
	FK_GLOBAL,		/* module-wide: never affected */
	FK_SLOT,		/* CKR_TOKEN_NOT_PRESENT */
	FK_SESSION,		/* CKR_DEVICE_REMOVED */
};

enum fault_fn {
	F_C_Initialize,
	F_C_Finalize,
	F_C_GetInfo,
	F_C_GetFunctionList,
	F_C_GetSlotList,
	F_C_GetSlotInfo,
	F_C_GetTokenInfo,
	F_C_WaitForSlotEvent,
	F_C_GetMechanismList,
	F_C_GetMechanismInfo,
	F_C_InitToken,
	F_C_InitPIN,
	F_C_SetPIN,
	F_C_OpenSession,
	F_C_CloseSession,
	F_C_CloseAllSessions,
	F_C_GetSessionInfo,
	F_C_GetOperationState,
	F_C_SetOperationState,
	F_C_Login,
	F_C_Logout,
	F_C_CreateObject,
	F_C_CopyObject,
	F_C_DestroyObject,
	F_C_GetObjectSize,
	F_C_GetAttributeValue,
	F_C_SetAttributeValue,
	F_C_FindObjectsInit,
	F_C_FindObjects,
	F_C_FindObjectsFinal,
	F_C_EncryptInit,
	F_C_Encrypt,
	F_C_EncryptUpdate,
	F_C_EncryptFinal,
	F_C_DecryptInit,
	F_C_Decrypt,
	F_C_DecryptUpdate,
	F_C_DecryptFinal,
	F_C_DigestInit,
	F_C_Digest,
	F_C_DigestUpdate,
	F_C_DigestKey,
	F_C_DigestFinal,
	F_C_SignInit,
	F_C_Sign,
	F_C_SignUpdate,
	F_C_SignFinal,
	F_C_SignRecoverInit,
	F_C_SignRecover,
	F_C_VerifyInit,
	F_C_Verify,
	F_C_VerifyUpdate,
	F_C_VerifyFinal,
	F_C_VerifyRecoverInit,
	F_C_VerifyRecover,
	F_C_DigestEncryptUpdate,
	F_C_DecryptDigestUpdate,
	F_C_SignEncryptUpdate,
	F_C_DecryptVerifyUpdate,
	F_C_GenerateKey,
	F_C_GenerateKeyPair,
	F_C_WrapKey,
	F_C_UnwrapKey,
	F_C_DeriveKey,
	F_C_SeedRandom,
	F_C_GenerateRandom,
	F_C_GetFunctionStatus,
	F_C_CancelFunction,
	F_COUNT
};

static const char *const fault_fn_names[F_COUNT] = {
	"C_Initialize",
	"C_Finalize",
	"C_GetInfo",
	"C_GetFunctionList",
	"C_GetSlotList",
	"C_GetSlotInfo",
	"C_GetTokenInfo",
	"C_WaitForSlotEvent",
	"C_GetMechanismList",
	"C_GetMechanismInfo",
	"C_InitToken",
	"C_InitPIN",
	"C_SetPIN",
	"C_OpenSession",
	"C_CloseSession",
	"C_CloseAllSessions",
	"C_GetSessionInfo",
	"C_GetOperationState",
	"C_SetOperationState",
	"C_Login",
	"C_Logout",
	"C_CreateObject",
	"C_CopyObject",
	"C_DestroyObject",
	"C_GetObjectSize",
	"C_GetAttributeValue",
	"C_SetAttributeValue",
	"C_FindObjectsInit",
	"C_FindObjects",
	"C_FindObjectsFinal",
	"C_EncryptInit",
	"C_Encrypt",
	"C_EncryptUpdate",
	"C_EncryptFinal",
	"C_DecryptInit",
	"C_Decrypt",
	"C_DecryptUpdate",
	"C_DecryptFinal",
	"C_DigestInit",
	"C_Digest",
	"C_DigestUpdate",
	"C_DigestKey",
	"C_DigestFinal",
	"C_SignInit",
	"C_Sign",
	"C_SignUpdate",
	"C_SignFinal",
	"C_SignRecoverInit",
	"C_SignRecover",
	"C_VerifyInit",
	"C_Verify",
	"C_VerifyUpdate",
	"C_VerifyFinal",
	"C_VerifyRecoverInit",
	"C_VerifyRecover",
	"C_DigestEncryptUpdate",
	"C_DecryptDigestUpdate",
	"C_SignEncryptUpdate",
	"C_DecryptVerifyUpdate",
	"C_GenerateKey",
	"C_GenerateKeyPair",
	"C_WrapKey",
	"C_UnwrapKey",
	"C_DeriveKey",
	"C_SeedRandom",
	"C_GenerateRandom",
	"C_GetFunctionStatus",
	"C_CancelFunction",
};

/* What the control file and environment set. */
struct fault_conf {
	int		 removed;
	unsigned long	 invalidate;	/* a change closes sessions */
	unsigned long	 pin_tries;	/* 0: no PIN counter */
	long		 pin_tries_left; /* -1: not given */
	char		 pinpad_pin[FAULT_WORD_MAX];
	int		 hang_fn;	/* -1: none */
	unsigned long	 hang_ms;
	int		 probe_fn;	/* -1: none */
	unsigned long	 sign_rate;	/* per second, 0: unlimited */
	unsigned long	 error_every;
	CK_RV		 error_rv;
	int		 fail_fn;	/* -1: none */
	CK_RV		 fail_rv;
	unsigned long	 fail_count;	/* 0: every call */
	int		 raw_ec_point;	/* CKA_EC_POINT without DER */
	int		 copy_exposed;	/* session keys read extractable */
	int		 ec_params_oid;	/* CKA_EC_PARAMS as the OID */
	int		 corrupt_on;	/* corrupt_sign given */
	unsigned long	 corrupt_count;	/* 0: every signature */
	unsigned long	 corrupt_bit;	/* the bit flipped */
};

static struct {
	pthread_mutex_t		 mu;
	pthread_once_t		 once;
	CK_FUNCTION_LIST	*real;
	int			 real_initialized;
	char			*control;
	char			*counters;
	int			 counters_fd;
	struct stat		 control_st;
	int			 control_seen;
	uint8_t			*control_text;	/* as last applied */
	size_t			 control_len;
	time_t			 control_read_at;

	struct fault_conf	 conf;
	int			 removed;	/* applied state */
	unsigned long		 invalidate;
	unsigned long		 pin_tries;
	long			 pin_left;
	long			 pin_left_given;
	unsigned long		 fail_left;
	unsigned long		 corrupt_left;

	struct timespec		 next_sign;
	unsigned long		 calls[F_COUNT];
	unsigned long		 total;
	unsigned long		 signatures;
	unsigned long		 injected;
	unsigned long		 login_failures;
	unsigned long		 sessions_closed;
	unsigned long		 corrupted;
	/* C_SignInit with a session object (CKA_TOKEN false) as key. */
	unsigned long		 session_key_signs;
	unsigned long		 hanging;	/* calls asleep in a hang now */
	unsigned long		 probe_denied;	/* syscall_probe refused */
	unsigned long		 probe_allowed;
} fault = {
	.mu = PTHREAD_MUTEX_INITIALIZER,
	.once = PTHREAD_ONCE_INIT,
	.counters_fd = -1,
};

static CK_FUNCTION_LIST fault_list;

static int
fault_fn_lookup(const struct buf *w)
{
	int	i;

	for (i = 0; i < F_COUNT; i++)
		if (buf_eq_str(w, fault_fn_names[i]))
			return i;
	return -1;
}

/* A word into a C string; -1 if it does not fit. */
static int
fault_word_str(char *out, size_t max, const struct buf *w)
{
	struct buf	c = *w;
	size_t		n = buf_len(w);

	if (n >= max || buf_get_bytes(&c, out, n) != 0)
		return -1;
	out[n] = '\0';
	return 0;
}

static int
fault_word_ulong(const struct buf *w, unsigned long *v)
{
	uint64_t	u;

	if (buf_to_u64(w, &u) != 0 || u > (uint64_t)LONG_MAX)
		return -1;
	*v = (unsigned long)u;
	return 0;
}

static int
fault_word_rv(const struct buf *w, CK_RV *rv)
{
	char		s[FAULT_WORD_MAX];
	unsigned long	v;

	if (fault_word_str(s, sizeof(s), w) == -1 || hsm_rv_parse(s, &v) == -1)
		return -1;
	*rv = v;
	return 0;
}

/*
 * One "key value..." line into c.  Returns 0, or -1 for a bad line
 * (the caller reports it).
 */
static int
fault_conf_line(struct fault_conf *c, struct buf *line)
{
	struct buf	key, w[3];
	unsigned long	v;
	int		n = 0;

	if (buf_get_word(line, &key) != 0)
		return -1;
	while (n < 3 && buf_len(line) > 0)
		if (buf_get_word(line, &w[n++]) != 0)
			return -1;
	if (buf_len(line) > 0)
		return -1;
	if (buf_eq_str(&key, "removed") && n == 1) {
		if (fault_word_ulong(&w[0], &v) == -1 || v > 1)
			return -1;
		c->removed = (int)v;
	} else if (buf_eq_str(&key, "invalidate_sessions") && n == 1) {
		if (fault_word_ulong(&w[0], &c->invalidate) == -1)
			return -1;
	} else if (buf_eq_str(&key, "pin_tries") && n == 1) {
		if (fault_word_ulong(&w[0], &c->pin_tries) == -1)
			return -1;
	} else if (buf_eq_str(&key, "pin_tries_left") && n == 1) {
		if (fault_word_ulong(&w[0], &v) == -1)
			return -1;
		c->pin_tries_left = (long)v;
	} else if (buf_eq_str(&key, "pinpad_pin") && n == 1) {
		if (fault_word_str(c->pinpad_pin, sizeof(c->pinpad_pin),
		    &w[0]) == -1)
			return -1;
	} else if (buf_eq_str(&key, "hang") && n == 2) {
		if ((c->hang_fn = fault_fn_lookup(&w[0])) == -1 ||
		    fault_word_ulong(&w[1], &c->hang_ms) == -1)
			return -1;
	} else if (buf_eq_str(&key, "syscall_probe") && n == 1) {
		if ((c->probe_fn = fault_fn_lookup(&w[0])) == -1)
			return -1;
	} else if (buf_eq_str(&key, "ec_params_oid") && n == 1) {
		if (fault_word_ulong(&w[0], &v) == -1 || v > 1)
			return -1;
		c->ec_params_oid = (int)v;
	} else if (buf_eq_str(&key, "raw_ec_point") && n == 1) {
		if (fault_word_ulong(&w[0], &v) == -1 || v > 1)
			return -1;
		c->raw_ec_point = (int)v;
	} else if (buf_eq_str(&key, "copy_exposed") && n == 1) {
		if (fault_word_ulong(&w[0], &v) == -1 || v > 1)
			return -1;
		c->copy_exposed = (int)v;
	} else if (buf_eq_str(&key, "sign_rate") && n == 1) {
		if (fault_word_ulong(&w[0], &c->sign_rate) == -1)
			return -1;
	} else if (buf_eq_str(&key, "error_every") && (n == 1 || n == 2)) {
		if (fault_word_ulong(&w[0], &c->error_every) == -1 ||
		    (n == 2 && fault_word_rv(&w[1], &c->error_rv) == -1))
			return -1;
	} else if (buf_eq_str(&key, "corrupt_sign") && (n == 1 || n == 2)) {
		c->corrupt_bit = 0;
		if (fault_word_ulong(&w[0], &c->corrupt_count) == -1 ||
		    (n == 2 && fault_word_ulong(&w[1], &c->corrupt_bit) == -1))
			return -1;
		c->corrupt_on = 1;
	} else if (buf_eq_str(&key, "fail") && (n == 2 || n == 3)) {
		c->fail_count = 1;
		if ((c->fail_fn = fault_fn_lookup(&w[0])) == -1 ||
		    fault_word_rv(&w[1], &c->fail_rv) == -1 ||
		    (n == 3 && fault_word_ulong(&w[2], &c->fail_count) == -1))
			return -1;
	} else
		return -1;
	return 0;
}

static void
fault_conf_defaults(struct fault_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->pin_tries_left = -1;
	c->hang_fn = -1;
	c->probe_fn = -1;
	c->fail_fn = -1;
	c->error_rv = CKR_GENERAL_ERROR;
}

/* Parse a whole control text; bad lines are reported and skipped. */
static void
fault_conf_parse(struct fault_conf *c, const uint8_t *text, size_t len,
    const char *what)
{
	struct buf	b, line;
	int		lineno = 0, r;

	buf_init_ro(&b, text, len);
	while (buf_len(&b) > 0) {
		lineno++;
		if ((r = buf_get_line(&b, FAULT_LINE_MAX, &line, NULL)) != 0) {
			fprintf(stderr, "obhsm-p11fault: %s: line %d too long "
			    "or binary; rest ignored\n", what, lineno);
			return;
		}
		if (buf_len(&line) == 0 || buf_ptr(&line)[0] == '#')
			continue;
		if (fault_conf_line(c, &line) == -1)
			fprintf(stderr, "obhsm-p11fault: %s: line %d: not "
			    "understood; ignored\n", what, lineno);
	}
}

/* The environment: OBHSM_P11FAULT_<KEY>=value, read once at load. */
static void
fault_conf_env(struct fault_conf *c)
{
	static const char *const keys[] = {
		"removed", "invalidate_sessions", "pin_tries",
		"pin_tries_left", "pinpad_pin", "hang", "sign_rate",
		"error_every", "fail", "raw_ec_point", "ec_params_oid",
		"corrupt_sign", "syscall_probe", "copy_exposed",
	};
	char		 var[64], text[FAULT_LINE_MAX];
	const char	*v;
	size_t		 i, j;
	int		 n;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		n = snprintf(var, sizeof(var), "OBHSM_P11FAULT_");
		for (j = 0; keys[i][j] != '\0' && (size_t)n + 1 < sizeof(var);
		    j++)
			var[n++] = (char)(keys[i][j] >= 'a' &&
			    keys[i][j] <= 'z' ? keys[i][j] - 'a' + 'A' :
			    keys[i][j]);
		var[n] = '\0';
		if ((v = getenv(var)) == NULL)
			continue;
		n = snprintf(text, sizeof(text), "%s %s", keys[i], v);
		if (n < 0 || (size_t)n >= sizeof(text)) {
			fprintf(stderr, "obhsm-p11fault: %s too long\n", var);
			continue;
		}
		fault_conf_parse(c, (const uint8_t *)text, (size_t)n, var);
	}
}

/* Real sessions go away, as when a token is pulled. */
static void
fault_close_all(void)
{
	CK_SLOT_ID	slots[FAULT_SLOTS_MAX];
	CK_ULONG	n = FAULT_SLOTS_MAX, i;

	if (!fault.real_initialized)
		return;
	if (fault.real->C_GetSlotList(CK_FALSE, slots, &n) != CKR_OK)
		return;
	for (i = 0; i < n && i < FAULT_SLOTS_MAX; i++)
		if (fault.real->C_CloseAllSessions(slots[i]) == CKR_OK)
			fault.sessions_closed++;
}

/* Apply a (re)read configuration: transitions act once. */
static void
fault_conf_apply(const struct fault_conf *c)
{
	if (c->removed && !fault.removed)
		fault_close_all();
	fault.removed = c->removed;
	if (c->invalidate != fault.invalidate) {
		fault_close_all();
		fault.invalidate = c->invalidate;
	}
	if (c->pin_tries != fault.pin_tries) {
		fault.pin_tries = c->pin_tries;
		fault.pin_left = (long)c->pin_tries;
	}
	if (c->pin_tries_left != fault.pin_left_given) {
		fault.pin_left_given = c->pin_tries_left;
		if (c->pin_tries_left >= 0)
			fault.pin_left = c->pin_tries_left;
	}
	fault.fail_left = c->fail_count;
	fault.corrupt_left = c->corrupt_count;
	fault.conf = *c;
}

/* Re-read the control file if it changed (called with fault.mu held). */
static void
fault_control_check(void)
{
	struct fault_conf	 c;
	struct stat		 st;
	uint8_t			*text;
	ssize_t			 n;
	size_t			 len = 0;
	int			 fd, same;

	if (fault.control == NULL)
		return;
	if (stat(fault.control, &st) == -1) {
		/* No file: the environment's settings alone. */
		if (fault.control_seen) {
			fault.control_seen = 0;
			fault_conf_defaults(&c);
			fault_conf_env(&c);
			fault_conf_apply(&c);
		}
		return;
	}
	same = fault.control_seen && st.st_ino == fault.control_st.st_ino &&
	    st.st_size == fault.control_st.st_size &&
	    st.st_mtim.tv_sec == fault.control_st.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == fault.control_st.st_mtim.tv_nsec;
	/*
	 * The same inode number, size and mtime do not prove the same file:
	 * a replacement made within the file system's timestamp tick can
	 * reuse the old inode number (a test writes "removed 0" then
	 * "removed 1" in a few ms).  As git does with racy entries, a file
	 * changed within 2 s of our last read is read again and compared.
	 */
	if (same && st.st_mtim.tv_sec < fault.control_read_at - 2)
		return;
	if ((fd = open(fault.control, O_RDONLY | O_CLOEXEC)) == -1)
		return;
	if ((text = malloc(FAULT_CONTROL_MAX)) == NULL) {
		close(fd);
		return;
	}
	while (len < FAULT_CONTROL_MAX && (n = read(fd, text + len,
	    FAULT_CONTROL_MAX - len)) > 0)
		len += (size_t)n;
	close(fd);
	fault.control_read_at = time(NULL);
	/* Unchanged: applying it again would restart its counts. */
	if (same && len == fault.control_len &&
	    memcmp(text, fault.control_text, len) == 0) {
		free(text);
		return;
	}
	fault.control_st = st;
	fault.control_seen = 1;
	/* Kept, to tell a racy re-read of the same text from a change. */
	free(fault.control_text);
	fault.control_text = text;
	fault.control_len = len;
	fault_conf_defaults(&c);
	fault_conf_env(&c);
	fault_conf_parse(&c, text, len, fault.control);
	fault_conf_apply(&c);
}

/*
 * Rewrite the counters file in place (called with fault.mu held).  One
 * pwrite and an ftruncate on a descriptor kept open: cheap enough to do
 * after every call, so a test reads exact numbers once a call returns.
 */
static void
fault_counters_write(void)
{
	char	text[8192];
	size_t	len = 0;
	int	i, n;

	if (fault.counters == NULL)
		return;
	if (fault.counters_fd == -1 && (fault.counters_fd =
	    open(fault.counters, O_WRONLY | O_CREAT | O_CLOEXEC, 0644)) == -1)
		return;
	n = snprintf(text, sizeof(text), "calls %lu\nsignatures %lu\n"
	    "injected %lu\nlogin_failures %lu\nsessions_closed %lu\n"
	    "pin_tries_left %ld\nremoved %d\ncorrupted %lu\nhanging %lu\n"
	    "probe_denied %lu\nprobe_allowed %lu\nsession_key_signs %lu\n",
	    fault.total, fault.signatures, fault.injected,
	    fault.login_failures, fault.sessions_closed,
	    fault.pin_tries > 0 ? fault.pin_left : -1L, fault.removed,
	    fault.corrupted, fault.hanging, fault.probe_denied,
	    fault.probe_allowed, fault.session_key_signs);
	if (n < 0 || (size_t)n >= sizeof(text))
		return;
	len = (size_t)n;
	for (i = 0; i < F_COUNT; i++) {
		if (fault.calls[i] == 0)
			continue;
		n = snprintf(text + len, sizeof(text) - len, "%s %lu\n",
		    fault_fn_names[i], fault.calls[i]);
		if (n < 0 || (size_t)n >= sizeof(text) - len)
			return;
		len += (size_t)n;
	}
	if (pwrite(fault.counters_fd, text, len, 0) == (ssize_t)len)
		(void)ftruncate(fault.counters_fd, (off_t)len);
}

static void
fault_sleep_ms(unsigned long ms)
{
	struct timespec	ts;

	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/*
 * A hang of call fn: up to ms, in slices, ending early once the control
 * no longer hangs fn.  Counted in "hanging" while it lasts, so a test
 * can tell "the application gave up while the call was still stuck" by
 * the counter instead of by the clock, which a loaded machine bends.
 */
#define FAULT_HANG_SLICE_MS	20
static void
fault_hang(int fn, unsigned long ms)
{
	unsigned long	slept = 0, step;
	int		still = 1;

	pthread_mutex_lock(&fault.mu);
	fault.hanging++;
	fault_counters_write();
	pthread_mutex_unlock(&fault.mu);
	while (still && slept < ms) {
		step = ms - slept < FAULT_HANG_SLICE_MS ? ms - slept :
		    FAULT_HANG_SLICE_MS;
		fault_sleep_ms(step);
		slept += step;
		pthread_mutex_lock(&fault.mu);
		fault_control_check();
		still = fault.conf.hang_fn == fn;
		pthread_mutex_unlock(&fault.mu);
	}
	pthread_mutex_lock(&fault.mu);
	fault.hanging--;
	fault_counters_write();
	pthread_mutex_unlock(&fault.mu);
}

/*
 * Before every call: count it, re-read the control, decide whether to
 * hang and whether to fail.  Returns CKR_OK to go on to the real module.
 */
static CK_RV
fault_pre(int fn, enum fault_kind kind)
{
	unsigned long	hang = 0;
	CK_RV		rv = CKR_OK;
	long		pr;

	pthread_mutex_lock(&fault.mu);
	fault_control_check();
	fault.calls[fn]++;
	fault.total++;
	/*
	 * getppid(2): harmless, and allowed by no sandbox of the project.
	 * Refused (-1) only if this thread runs under a seccomp filter that
	 * returns errors; a filter that kills ends the process here.
	 */
	if (fault.conf.probe_fn == fn) {
		pr = syscall(SYS_getppid);
		if (pr == -1)
			fault.probe_denied++;
		else
			fault.probe_allowed++;
	}
	if (fault.conf.hang_fn == fn)
		hang = fault.conf.hang_ms;
	if (fault.conf.fail_fn == fn && (fault.conf.fail_count == 0 ||
	    fault.fail_left > 0)) {
		rv = fault.conf.fail_rv;
		if (fault.fail_left > 0)
			fault.fail_left--;
		if (fault.conf.fail_count != 0 && fault.fail_left == 0)
			fault.conf.fail_fn = -1;
	} else if (fault.conf.error_every > 0 &&
	    fault.total % fault.conf.error_every == 0)
		rv = fault.conf.error_rv;
	else if (fault.removed && kind == FK_SLOT)
		rv = CKR_TOKEN_NOT_PRESENT;
	else if (fault.removed && kind == FK_SESSION)
		rv = CKR_DEVICE_REMOVED;
	if (rv != CKR_OK && !(fault.removed && kind != FK_GLOBAL))
		fault.injected++;
	fault_counters_write();
	pthread_mutex_unlock(&fault.mu);
	if (hang > 0)
		fault_hang(fn, hang);
	return rv;
}

static CK_RV
fault_post(int fn, CK_RV rv)
{
	(void)fn;
	return rv;
}

/*
 * In a process built with LeakSanitizer, what the real module allocates
 * is not leak-checked: it is not our code (SoftHSM 2.6 leaks an ASN.1
 * string per EdDSA C_SignInit).  The hooks are weak so the module still
 * loads into processes without sanitizers.
 */
extern void	__lsan_disable(void) __attribute__((weak));
extern void	__lsan_enable(void) __attribute__((weak));

static void
fault_lsan_off(void)
{
	if (__lsan_disable != NULL)
		__lsan_disable();
}

static void
fault_lsan_on(void)
{
	if (__lsan_enable != NULL)
		__lsan_enable();
}

#define REAL(fn, args, rvp) do {					\
	fault_lsan_off();						\
	*(rvp) = fault.real->fn args;					\
	fault_lsan_on();						\
} while (0)

#define PASS(fn, kind, args) do {					\
	CK_RV	rv_;							\
									\
	if ((rv_ = fault_pre(F_##fn, (kind))) != CKR_OK)		\
		return rv_;						\
	REAL(fn, args, &rv_);						\
	return fault_post(F_##fn, rv_);					\
} while (0)

/*
 * Loading.
 */

static void
fault_load(void)
{
	CK_RV		(*get)(CK_FUNCTION_LIST **);
	Dl_info		 di;
	const char	*path, *v;
	void		*dl;

	/* Stay loaded for the life of the process (see the top comment). */
	if (dladdr((void *)fault_load, &di) != 0 && di.dli_fname != NULL)
		(void)dlopen(di.dli_fname, RTLD_NOW | RTLD_NODELETE |
		    RTLD_NOLOAD);
	if ((path = getenv("OBHSM_P11FAULT_MODULE")) == NULL)
		path = FAULT_DEFAULT_MODULE;
	if ((dl = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE)) ==
	    NULL) {
		fprintf(stderr, "obhsm-p11fault: %s\n", dlerror());
		return;
	}
	get = (CK_RV (*)(CK_FUNCTION_LIST **))dlsym(dl, "C_GetFunctionList");
	if (get == NULL || get(&fault.real) != CKR_OK || fault.real == NULL) {
		fprintf(stderr, "obhsm-p11fault: %s: no function list\n",
		    path);
		fault.real = NULL;
		return;
	}
	if ((v = getenv("OBHSM_P11FAULT_CONTROL")) != NULL)
		fault.control = strdup(v);
	if ((v = getenv("OBHSM_P11FAULT_COUNTERS")) != NULL)
		fault.counters = strdup(v);
	fault.pin_left_given = -1;
	{
		struct fault_conf	c;

		fault_conf_defaults(&c);
		fault_conf_env(&c);
		fault_conf_apply(&c);
	}
}

/*
 * The calls that do more than pass through.
 */

static CK_RV
fw_C_Initialize(void *args)
{
	CK_RV	rv;

	if ((rv = fault_pre(F_C_Initialize, FK_GLOBAL)) != CKR_OK)
		return rv;
	REAL(C_Initialize, (args), &rv);
	pthread_mutex_lock(&fault.mu);
	if (rv == CKR_OK)
		fault.real_initialized = 1;
	pthread_mutex_unlock(&fault.mu);
	return rv;
}

static CK_RV
fw_C_Finalize(void *reserved)
{
	CK_RV	rv;

	if ((rv = fault_pre(F_C_Finalize, FK_GLOBAL)) != CKR_OK)
		return rv;
	REAL(C_Finalize, (reserved), &rv);
	pthread_mutex_lock(&fault.mu);
	if (rv == CKR_OK)
		fault.real_initialized = 0;
	fault_counters_write();
	pthread_mutex_unlock(&fault.mu);
	return rv;
}

static CK_RV
fw_C_GetFunctionList(CK_FUNCTION_LIST **list)
{
	if (list == NULL)
		return CKR_ARGUMENTS_BAD;
	*list = &fault_list;
	return CKR_OK;
}

/* A removed token is absent from the list of slots with tokens. */
static CK_RV
fw_C_GetSlotList(CK_BBOOL present, CK_SLOT_ID *slots, CK_ULONG *count)
{
	CK_RV	rv;
	int	removed;

	if ((rv = fault_pre(F_C_GetSlotList, FK_GLOBAL)) != CKR_OK)
		return rv;
	pthread_mutex_lock(&fault.mu);
	removed = fault.removed;
	pthread_mutex_unlock(&fault.mu);
	if (removed && present) {
		if (count == NULL)
			return CKR_ARGUMENTS_BAD;
		*count = 0;
		return CKR_OK;
	}
	REAL(C_GetSlotList, (present, slots, count), &rv);
	return rv;
}

static CK_RV
fw_C_GetSlotInfo(CK_SLOT_ID slot, CK_SLOT_INFO *info)
{
	CK_RV	rv;

	if ((rv = fault_pre(F_C_GetSlotInfo, FK_GLOBAL)) != CKR_OK)
		return rv;
	REAL(C_GetSlotInfo, (slot, info), &rv);
	if (rv != CKR_OK)
		return rv;
	pthread_mutex_lock(&fault.mu);
	if (fault.removed)
		info->flags &= ~CKF_TOKEN_PRESENT;
	pthread_mutex_unlock(&fault.mu);
	return CKR_OK;
}

/* PIN flags from our counter; a protected path when a PIN pad is set. */
static CK_RV
fw_C_GetTokenInfo(CK_SLOT_ID slot, CK_TOKEN_INFO *info)
{
	CK_RV	rv;

	if ((rv = fault_pre(F_C_GetTokenInfo, FK_SLOT)) != CKR_OK)
		return rv;
	REAL(C_GetTokenInfo, (slot, info), &rv);
	if (rv != CKR_OK)
		return rv;
	pthread_mutex_lock(&fault.mu);
	if (fault.pin_tries > 0) {
		info->flags &= ~(CKF_USER_PIN_COUNT_LOW |
		    CKF_USER_PIN_FINAL_TRY | CKF_USER_PIN_LOCKED);
		if (fault.pin_left <= 0)
			info->flags |= CKF_USER_PIN_LOCKED;
		else if (fault.pin_left == 1)
			info->flags |= CKF_USER_PIN_FINAL_TRY;
		if (fault.pin_left < (long)fault.pin_tries)
			info->flags |= CKF_USER_PIN_COUNT_LOW;
	}
	if (fault.conf.pinpad_pin[0] != '\0')
		info->flags |= CKF_PROTECTED_AUTHENTICATION_PATH;
	pthread_mutex_unlock(&fault.mu);
	return CKR_OK;
}

static CK_RV
fw_C_Login(CK_SESSION_HANDLE session, CK_USER_TYPE user, CK_UTF8CHAR *pin,
    CK_ULONG len)
{
	char	pad[FAULT_WORD_MAX];
	CK_RV	rv;

	if ((rv = fault_pre(F_C_Login, FK_SESSION)) != CKR_OK)
		return rv;
	pthread_mutex_lock(&fault.mu);
	if (user == CKU_USER && fault.pin_tries > 0 && fault.pin_left <= 0) {
		fault_counters_write();
		pthread_mutex_unlock(&fault.mu);
		return CKR_PIN_LOCKED;
	}
	/* The "PIN pad" supplies the PIN when the application sends none. */
	memcpy(pad, fault.conf.pinpad_pin, sizeof(pad));
	pthread_mutex_unlock(&fault.mu);
	if (pin == NULL && pad[0] != '\0') {
		pin = (CK_UTF8CHAR *)pad;
		len = strlen(pad);
	}
	REAL(C_Login, (session, user, pin, len), &rv);
	pthread_mutex_lock(&fault.mu);
	if (user == CKU_USER && rv == CKR_PIN_INCORRECT) {
		fault.login_failures++;
		if (fault.pin_tries > 0 && fault.pin_left > 0)
			fault.pin_left--;
	} else if (user == CKU_USER && (rv == CKR_OK ||
	    rv == CKR_USER_ALREADY_LOGGED_IN))
		fault.pin_left = (long)fault.pin_tries;
	fault_counters_write();
	pthread_mutex_unlock(&fault.mu);
	return rv;
}

/* 1 if the real module says obj is a session object (CKA_TOKEN false). */
static int
fault_session_obj(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE obj)
{
	CK_BBOOL	on = CK_TRUE;
	CK_ATTRIBUTE	a = { CKA_TOKEN, &on, sizeof(on) };
	CK_RV		rv;

	REAL(C_GetAttributeValue, (session, obj, &a, 1), &rv);
	return rv == CKR_OK && a.ulValueLen == sizeof(on) && on == CK_FALSE;
}

/*
 * Some tokens return CKA_EC_POINT as the bare 32 bytes instead of a DER
 * OCTET STRING, and some name the curve in CKA_EC_PARAMS by the RFC 8410
 * OID rather than the PrintableString "edwards25519"; raw_ec_point and
 * ec_params_oid mimic them.
 */
static CK_RV
fw_C_GetAttributeValue(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE obj,
    CK_ATTRIBUTE *t, CK_ULONG n)
{
	static const CK_BYTE	name[] = { 0x13, 0x0c, 'e', 'd', 'w', 'a',
	    'r', 'd', 's', '2', '5', '5', '1', '9' };
	static const CK_BYTE	oid[] = { 0x06, 0x03, 0x2b, 0x65, 0x70 };
	CK_ULONG		i;
	CK_BYTE			*p;
	CK_RV			rv;
	int			raw, asoid, exposed;

	if ((rv = fault_pre(F_C_GetAttributeValue, FK_SESSION)) != CKR_OK)
		return rv;
	REAL(C_GetAttributeValue, (session, obj, t, n), &rv);
	pthread_mutex_lock(&fault.mu);
	raw = fault.conf.raw_ec_point;
	asoid = fault.conf.ec_params_oid;
	exposed = fault.conf.copy_exposed;
	pthread_mutex_unlock(&fault.mu);
	/* A token whose session copies of keys lose their protection:
	 * the application must check them before it signs with one. */
	if (exposed && rv == CKR_OK && fault_session_obj(session, obj))
		for (i = 0; t != NULL && i < n; i++) {
			p = t[i].pValue;
			if (p == NULL || t[i].ulValueLen != sizeof(CK_BBOOL))
				continue;
			if (t[i].type == CKA_SENSITIVE)
				*p = CK_FALSE;
			else if (t[i].type == CKA_EXTRACTABLE)
				*p = CK_TRUE;
		}
	if ((!raw && !asoid) || (rv != CKR_OK &&
	    rv != CKR_ATTRIBUTE_SENSITIVE &&
	    rv != CKR_ATTRIBUTE_TYPE_INVALID && rv != CKR_BUFFER_TOO_SMALL))
		return rv;
	for (i = 0; t != NULL && i < n; i++) {
		p = t[i].pValue;
		if (asoid && t[i].type == CKA_EC_PARAMS && p != NULL &&
		    t[i].ulValueLen == sizeof(name) &&
		    memcmp(p, name, sizeof(name)) == 0) {
			memcpy(p, oid, sizeof(oid));
			t[i].ulValueLen = sizeof(oid);
		}
		if (!raw || t[i].type != CKA_EC_POINT || t[i].ulValueLen != 34)
			continue;
		/* A size query keeps 34: the real module wants room. */
		if (p != NULL && p[0] == 0x04 && p[1] == 0x20) {
			memmove(p, p + 2, 32);
			t[i].ulValueLen = 32;
		}
	}
	return rv;
}

/*
 * A token that signs wrongly (a fault in its firmware or memory): one
 * bit of a signature the real module made is flipped, so the caller's
 * own check is what stands between it and the network.  Called with
 * fault.mu held, only for a real signature (not a size query).
 */
static void
fault_corrupt(CK_BYTE *sig, CK_ULONG siglen)
{
	unsigned long	bit;

	if (!fault.conf.corrupt_on || siglen == 0)
		return;
	if (fault.conf.corrupt_count != 0) {
		if (fault.corrupt_left == 0)
			return;
		fault.corrupt_left--;
	}
	bit = fault.conf.corrupt_bit % (8UL * siglen);
	sig[bit / 8] ^= (CK_BYTE)(1U << (bit % 8));
	fault.corrupted++;
}

/* Slow signing: at most sign_rate signatures a second, evenly spaced. */
static CK_RV
fw_C_Sign(CK_SESSION_HANDLE session, CK_BYTE *data, CK_ULONG len,
    CK_BYTE *sig, CK_ULONG *siglen)
{
	struct timespec	now, at;
	unsigned long	rate, wait_ms = 0;
	long long	gap, d;
	CK_RV		rv;

	if ((rv = fault_pre(F_C_Sign, FK_SESSION)) != CKR_OK)
		return rv;
	pthread_mutex_lock(&fault.mu);
	rate = fault.conf.sign_rate;
	if (rate > 0 && sig != NULL) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		at = fault.next_sign;
		d = (long long)(at.tv_sec - now.tv_sec) * 1000000000LL +
		    (at.tv_nsec - now.tv_nsec);
		if (d > 0)
			wait_ms = (unsigned long)((d + 999999) / 1000000);
		else
			at = now;
		gap = 1000000000LL / (long long)rate;
		at.tv_sec += (time_t)(gap / 1000000000LL);
		at.tv_nsec += (long)(gap % 1000000000LL);
		if (at.tv_nsec >= 1000000000L) {
			at.tv_sec++;
			at.tv_nsec -= 1000000000L;
		}
		fault.next_sign = at;
	}
	pthread_mutex_unlock(&fault.mu);
	if (wait_ms > 0)
		fault_sleep_ms(wait_ms);
	REAL(C_Sign, (session, data, len, sig, siglen), &rv);
	pthread_mutex_lock(&fault.mu);
	if (rv == CKR_OK && sig != NULL) {
		fault.signatures++;
		fault_corrupt(sig, *siglen);
	}
	fault_counters_write();
	pthread_mutex_unlock(&fault.mu);
	return rv;
}

/*
 * Everything else passes through.
 */

static CK_RV
fw_C_GetInfo(CK_INFO *info)
{
	PASS(C_GetInfo, FK_GLOBAL, (info));
}

static CK_RV
fw_C_WaitForSlotEvent(CK_FLAGS flags, CK_SLOT_ID *slot, void *reserved)
{
	PASS(C_WaitForSlotEvent, FK_GLOBAL, (flags, slot, reserved));
}

static CK_RV
fw_C_GetMechanismList(CK_SLOT_ID slot_id,
    CK_MECHANISM_TYPE *mechanism_list, unsigned long *count)
{
	PASS(C_GetMechanismList, FK_SLOT, (slot_id, mechanism_list, count));
}

static CK_RV
fw_C_GetMechanismInfo(CK_SLOT_ID slot_id, CK_MECHANISM_TYPE type,
    CK_MECHANISM_INFO *info)
{
	PASS(C_GetMechanismInfo, FK_SLOT, (slot_id, type, info));
}

static CK_RV
fw_C_InitToken(CK_SLOT_ID slot_id, unsigned char *pin, unsigned long pin_len,
    unsigned char *label)
{
	PASS(C_InitToken, FK_SLOT, (slot_id, pin, pin_len, label));
}

static CK_RV
fw_C_InitPIN(CK_SESSION_HANDLE session, unsigned char *pin,
    unsigned long pin_len)
{
	PASS(C_InitPIN, FK_SESSION, (session, pin, pin_len));
}

static CK_RV
fw_C_SetPIN(CK_SESSION_HANDLE session, unsigned char *old_pin,
    unsigned long old_len, unsigned char *new_pin, unsigned long new_len)
{
	PASS(C_SetPIN, FK_SESSION, (session, old_pin, old_len, new_pin,
	    new_len));
}

static CK_RV
fw_C_OpenSession(CK_SLOT_ID slot_id, CK_FLAGS flags, void *application,
    CK_NOTIFY notify, CK_SESSION_HANDLE *session)
{
	PASS(C_OpenSession, FK_SLOT, (slot_id, flags, application, notify,
	    session));
}

static CK_RV
fw_C_CloseSession(CK_SESSION_HANDLE session)
{
	PASS(C_CloseSession, FK_SESSION, (session));
}

static CK_RV
fw_C_CloseAllSessions(CK_SLOT_ID slot_id)
{
	PASS(C_CloseAllSessions, FK_SLOT, (slot_id));
}

static CK_RV
fw_C_GetSessionInfo(CK_SESSION_HANDLE session, CK_SESSION_INFO *info)
{
	PASS(C_GetSessionInfo, FK_SESSION, (session, info));
}

static CK_RV
fw_C_GetOperationState(CK_SESSION_HANDLE session,
    unsigned char *operation_state, unsigned long *operation_state_len)
{
	PASS(C_GetOperationState, FK_SESSION, (session, operation_state,
	    operation_state_len));
}

static CK_RV
fw_C_SetOperationState(CK_SESSION_HANDLE session,
    unsigned char *operation_state, unsigned long operation_state_len,
    CK_OBJECT_HANDLE encryption_key, CK_OBJECT_HANDLE authentiation_key)
{
	PASS(C_SetOperationState, FK_SESSION, (session, operation_state,
	    operation_state_len, encryption_key, authentiation_key));
}

static CK_RV
fw_C_Logout(CK_SESSION_HANDLE session)
{
	PASS(C_Logout, FK_SESSION, (session));
}

static CK_RV
fw_C_CreateObject(CK_SESSION_HANDLE session, CK_ATTRIBUTE *templ,
    unsigned long count, CK_OBJECT_HANDLE *object)
{
	PASS(C_CreateObject, FK_SESSION, (session, templ, count, object));
}

static CK_RV
fw_C_CopyObject(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object,
    CK_ATTRIBUTE *templ, unsigned long count,
    CK_OBJECT_HANDLE *new_object)
{
	PASS(C_CopyObject, FK_SESSION, (session, object, templ, count,
	    new_object));
}

static CK_RV
fw_C_DestroyObject(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object)
{
	PASS(C_DestroyObject, FK_SESSION, (session, object));
}

static CK_RV
fw_C_GetObjectSize(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object,
    unsigned long *size)
{
	PASS(C_GetObjectSize, FK_SESSION, (session, object, size));
}

static CK_RV
fw_C_SetAttributeValue(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object,
    CK_ATTRIBUTE *templ, unsigned long count)
{
	PASS(C_SetAttributeValue, FK_SESSION, (session, object, templ, count));
}

static CK_RV
fw_C_FindObjectsInit(CK_SESSION_HANDLE session, CK_ATTRIBUTE *templ,
    unsigned long count)
{
	PASS(C_FindObjectsInit, FK_SESSION, (session, templ, count));
}

static CK_RV
fw_C_FindObjects(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE *object,
    unsigned long max_object_count, unsigned long *object_count)
{
	PASS(C_FindObjects, FK_SESSION, (session, object, max_object_count,
	    object_count));
}

static CK_RV
fw_C_FindObjectsFinal(CK_SESSION_HANDLE session)
{
	PASS(C_FindObjectsFinal, FK_SESSION, (session));
}

static CK_RV
fw_C_EncryptInit(CK_SESSION_HANDLE session, CK_MECHANISM *mechanism,
    CK_OBJECT_HANDLE key)
{
	PASS(C_EncryptInit, FK_SESSION, (session, mechanism, key));
}

static CK_RV
fw_C_Encrypt(CK_SESSION_HANDLE session, unsigned char *data,
    unsigned long data_len, unsigned char *encrypted_data,
    unsigned long *encrypted_data_len)
{
	PASS(C_Encrypt, FK_SESSION, (session, data, data_len, encrypted_data,
	    encrypted_data_len));
}

static CK_RV
fw_C_EncryptUpdate(CK_SESSION_HANDLE session, unsigned char *part,
    unsigned long part_len, unsigned char *encrypted_part,
    unsigned long *encrypted_part_len)
{
	PASS(C_EncryptUpdate, FK_SESSION, (session, part, part_len,
	    encrypted_part, encrypted_part_len));
}

static CK_RV
fw_C_EncryptFinal(CK_SESSION_HANDLE session,
    unsigned char *last_encrypted_part, unsigned long *last_encrypted_part_len)
{
	PASS(C_EncryptFinal, FK_SESSION, (session, last_encrypted_part,
	    last_encrypted_part_len));
}

static CK_RV
fw_C_DecryptInit(CK_SESSION_HANDLE session, CK_MECHANISM *mechanism,
    CK_OBJECT_HANDLE key)
{
	PASS(C_DecryptInit, FK_SESSION, (session, mechanism, key));
}

static CK_RV
fw_C_Decrypt(CK_SESSION_HANDLE session, unsigned char *encrypted_data,
    unsigned long encrypted_data_len, unsigned char *data,
    unsigned long *data_len)
{
	PASS(C_Decrypt, FK_SESSION, (session, encrypted_data,
	    encrypted_data_len, data, data_len));
}

static CK_RV
fw_C_DecryptUpdate(CK_SESSION_HANDLE session, unsigned char *encrypted_part,
    unsigned long encrypted_part_len, unsigned char *part,
    unsigned long *part_len)
{
	PASS(C_DecryptUpdate, FK_SESSION, (session, encrypted_part,
	    encrypted_part_len, part, part_len));
}

static CK_RV
fw_C_DecryptFinal(CK_SESSION_HANDLE session, unsigned char *last_part,
    unsigned long *last_part_len)
{
	PASS(C_DecryptFinal, FK_SESSION, (session, last_part, last_part_len));
}

static CK_RV
fw_C_DigestInit(CK_SESSION_HANDLE session, CK_MECHANISM *mechanism)
{
	PASS(C_DigestInit, FK_SESSION, (session, mechanism));
}

static CK_RV
fw_C_Digest(CK_SESSION_HANDLE session, unsigned char *data,
    unsigned long data_len, unsigned char *digest, unsigned long *digest_len)
{
	PASS(C_Digest, FK_SESSION, (session, data, data_len, digest,
	    digest_len));
}

static CK_RV
fw_C_DigestUpdate(CK_SESSION_HANDLE session, unsigned char *part,
    unsigned long part_len)
{
	PASS(C_DigestUpdate, FK_SESSION, (session, part, part_len));
}

static CK_RV
fw_C_DigestKey(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE key)
{
	PASS(C_DigestKey, FK_SESSION, (session, key));
}

static CK_RV
fw_C_DigestFinal(CK_SESSION_HANDLE session, unsigned char *digest,
    unsigned long *digest_len)
{
	PASS(C_DigestFinal, FK_SESSION, (session, digest, digest_len));
}

/* Counts signatures begun with a session object (a copy of a token
 * key), so that tests see which object hsm/ signs with. */
static CK_RV
fw_C_SignInit(CK_SESSION_HANDLE session, CK_MECHANISM *mechanism,
    CK_OBJECT_HANDLE key)
{
	CK_RV	rv;

	if ((rv = fault_pre(F_C_SignInit, FK_SESSION)) != CKR_OK)
		return rv;
	REAL(C_SignInit, (session, mechanism, key), &rv);
	if (rv == CKR_OK && fault_session_obj(session, key)) {
		pthread_mutex_lock(&fault.mu);
		fault.session_key_signs++;
		fault_counters_write();
		pthread_mutex_unlock(&fault.mu);
	}
	return fault_post(F_C_SignInit, rv);
}

static CK_RV
fw_C_SignUpdate(CK_SESSION_HANDLE session, unsigned char *part,
    unsigned long part_len)
{
	PASS(C_SignUpdate, FK_SESSION, (session, part, part_len));
}

static CK_RV
fw_C_SignFinal(CK_SESSION_HANDLE session, unsigned char *signature,
    unsigned long *signature_len)
{
	PASS(C_SignFinal, FK_SESSION, (session, signature, signature_len));
}

static CK_RV
fw_C_SignRecoverInit(CK_SESSION_HANDLE session,
    CK_MECHANISM *mechanism, CK_OBJECT_HANDLE key)
{
	PASS(C_SignRecoverInit, FK_SESSION, (session, mechanism, key));
}

static CK_RV
fw_C_SignRecover(CK_SESSION_HANDLE session, unsigned char *data,
    unsigned long data_len, unsigned char *signature,
    unsigned long *signature_len)
{
	PASS(C_SignRecover, FK_SESSION, (session, data, data_len, signature,
	    signature_len));
}

static CK_RV
fw_C_VerifyInit(CK_SESSION_HANDLE session, CK_MECHANISM *mechanism,
    CK_OBJECT_HANDLE key)
{
	PASS(C_VerifyInit, FK_SESSION, (session, mechanism, key));
}

static CK_RV
fw_C_Verify(CK_SESSION_HANDLE session, unsigned char *data,
    unsigned long data_len, unsigned char *signature,
    unsigned long signature_len)
{
	PASS(C_Verify, FK_SESSION, (session, data, data_len, signature,
	    signature_len));
}

static CK_RV
fw_C_VerifyUpdate(CK_SESSION_HANDLE session, unsigned char *part,
    unsigned long part_len)
{
	PASS(C_VerifyUpdate, FK_SESSION, (session, part, part_len));
}

static CK_RV
fw_C_VerifyFinal(CK_SESSION_HANDLE session, unsigned char *signature,
    unsigned long signature_len)
{
	PASS(C_VerifyFinal, FK_SESSION, (session, signature, signature_len));
}

static CK_RV
fw_C_VerifyRecoverInit(CK_SESSION_HANDLE session,
    CK_MECHANISM *mechanism, CK_OBJECT_HANDLE key)
{
	PASS(C_VerifyRecoverInit, FK_SESSION, (session, mechanism, key));
}

static CK_RV
fw_C_VerifyRecover(CK_SESSION_HANDLE session, unsigned char *signature,
    unsigned long signature_len, unsigned char *data, unsigned long *data_len)
{
	PASS(C_VerifyRecover, FK_SESSION, (session, signature, signature_len,
	    data, data_len));
}

static CK_RV
fw_C_DigestEncryptUpdate(CK_SESSION_HANDLE session, unsigned char *part,
    unsigned long part_len, unsigned char *encrypted_part,
    unsigned long *encrypted_part_len)
{
	PASS(C_DigestEncryptUpdate, FK_SESSION, (session, part, part_len,
	    encrypted_part, encrypted_part_len));
}

static CK_RV
fw_C_DecryptDigestUpdate(CK_SESSION_HANDLE session,
    unsigned char *encrypted_part, unsigned long encrypted_part_len,
    unsigned char *part, unsigned long *part_len)
{
	PASS(C_DecryptDigestUpdate, FK_SESSION, (session, encrypted_part,
	    encrypted_part_len, part, part_len));
}

static CK_RV
fw_C_SignEncryptUpdate(CK_SESSION_HANDLE session, unsigned char *part,
    unsigned long part_len, unsigned char *encrypted_part,
    unsigned long *encrypted_part_len)
{
	PASS(C_SignEncryptUpdate, FK_SESSION, (session, part, part_len,
	    encrypted_part, encrypted_part_len));
}

static CK_RV
fw_C_DecryptVerifyUpdate(CK_SESSION_HANDLE session,
    unsigned char *encrypted_part, unsigned long encrypted_part_len,
    unsigned char *part, unsigned long *part_len)
{
	PASS(C_DecryptVerifyUpdate, FK_SESSION, (session, encrypted_part,
	    encrypted_part_len, part, part_len));
}

static CK_RV
fw_C_GenerateKey(CK_SESSION_HANDLE session, CK_MECHANISM *mechanism,
    CK_ATTRIBUTE *templ, unsigned long count, CK_OBJECT_HANDLE *key)
{
	PASS(C_GenerateKey, FK_SESSION, (session, mechanism, templ, count,
	    key));
}

static CK_RV
fw_C_GenerateKeyPair(CK_SESSION_HANDLE session,
    CK_MECHANISM *mechanism, CK_ATTRIBUTE *public_key_template,
    unsigned long public_key_attribute_count,
    CK_ATTRIBUTE *private_key_template,
    unsigned long private_key_attribute_count, CK_OBJECT_HANDLE *public_key,
    CK_OBJECT_HANDLE *private_key)
{
	PASS(C_GenerateKeyPair, FK_SESSION, (session, mechanism,
	    public_key_template, public_key_attribute_count,
	    private_key_template, private_key_attribute_count, public_key,
	    private_key));
}

static CK_RV
fw_C_WrapKey(CK_SESSION_HANDLE session, CK_MECHANISM *mechanism,
    CK_OBJECT_HANDLE wrapping_key, CK_OBJECT_HANDLE key,
    unsigned char *wrapped_key, unsigned long *wrapped_key_len)
{
	PASS(C_WrapKey, FK_SESSION, (session, mechanism, wrapping_key, key,
	    wrapped_key, wrapped_key_len));
}

static CK_RV
fw_C_UnwrapKey(CK_SESSION_HANDLE session, CK_MECHANISM *mechanism,
    CK_OBJECT_HANDLE unwrapping_key, unsigned char *wrapped_key,
    unsigned long wrapped_key_len, CK_ATTRIBUTE *templ,
    unsigned long attribute_count, CK_OBJECT_HANDLE *key)
{
	PASS(C_UnwrapKey, FK_SESSION, (session, mechanism, unwrapping_key,
	    wrapped_key, wrapped_key_len, templ, attribute_count, key));
}

static CK_RV
fw_C_DeriveKey(CK_SESSION_HANDLE session, CK_MECHANISM *mechanism,
    CK_OBJECT_HANDLE base_key, CK_ATTRIBUTE *templ,
    unsigned long attribute_count, CK_OBJECT_HANDLE *key)
{
	PASS(C_DeriveKey, FK_SESSION, (session, mechanism, base_key, templ,
	    attribute_count, key));
}

static CK_RV
fw_C_SeedRandom(CK_SESSION_HANDLE session, unsigned char *seed,
    unsigned long seed_len)
{
	PASS(C_SeedRandom, FK_SESSION, (session, seed, seed_len));
}

static CK_RV
fw_C_GenerateRandom(CK_SESSION_HANDLE session, unsigned char *random_data,
    unsigned long random_len)
{
	PASS(C_GenerateRandom, FK_SESSION, (session, random_data, random_len));
}

static CK_RV
fw_C_GetFunctionStatus(CK_SESSION_HANDLE session)
{
	PASS(C_GetFunctionStatus, FK_SESSION, (session));
}

static CK_RV
fw_C_CancelFunction(CK_SESSION_HANDLE session)
{
	PASS(C_CancelFunction, FK_SESSION, (session));
}


static CK_FUNCTION_LIST fault_list = {
	.version = { 2, 40 },
	.C_Initialize = fw_C_Initialize,
	.C_Finalize = fw_C_Finalize,
	.C_GetInfo = fw_C_GetInfo,
	.C_GetFunctionList = fw_C_GetFunctionList,
	.C_GetSlotList = fw_C_GetSlotList,
	.C_GetSlotInfo = fw_C_GetSlotInfo,
	.C_GetTokenInfo = fw_C_GetTokenInfo,
	.C_WaitForSlotEvent = fw_C_WaitForSlotEvent,
	.C_GetMechanismList = fw_C_GetMechanismList,
	.C_GetMechanismInfo = fw_C_GetMechanismInfo,
	.C_InitToken = fw_C_InitToken,
	.C_InitPIN = fw_C_InitPIN,
	.C_SetPIN = fw_C_SetPIN,
	.C_OpenSession = fw_C_OpenSession,
	.C_CloseSession = fw_C_CloseSession,
	.C_CloseAllSessions = fw_C_CloseAllSessions,
	.C_GetSessionInfo = fw_C_GetSessionInfo,
	.C_GetOperationState = fw_C_GetOperationState,
	.C_SetOperationState = fw_C_SetOperationState,
	.C_Login = fw_C_Login,
	.C_Logout = fw_C_Logout,
	.C_CreateObject = fw_C_CreateObject,
	.C_CopyObject = fw_C_CopyObject,
	.C_DestroyObject = fw_C_DestroyObject,
	.C_GetObjectSize = fw_C_GetObjectSize,
	.C_GetAttributeValue = fw_C_GetAttributeValue,
	.C_SetAttributeValue = fw_C_SetAttributeValue,
	.C_FindObjectsInit = fw_C_FindObjectsInit,
	.C_FindObjects = fw_C_FindObjects,
	.C_FindObjectsFinal = fw_C_FindObjectsFinal,
	.C_EncryptInit = fw_C_EncryptInit,
	.C_Encrypt = fw_C_Encrypt,
	.C_EncryptUpdate = fw_C_EncryptUpdate,
	.C_EncryptFinal = fw_C_EncryptFinal,
	.C_DecryptInit = fw_C_DecryptInit,
	.C_Decrypt = fw_C_Decrypt,
	.C_DecryptUpdate = fw_C_DecryptUpdate,
	.C_DecryptFinal = fw_C_DecryptFinal,
	.C_DigestInit = fw_C_DigestInit,
	.C_Digest = fw_C_Digest,
	.C_DigestUpdate = fw_C_DigestUpdate,
	.C_DigestKey = fw_C_DigestKey,
	.C_DigestFinal = fw_C_DigestFinal,
	.C_SignInit = fw_C_SignInit,
	.C_Sign = fw_C_Sign,
	.C_SignUpdate = fw_C_SignUpdate,
	.C_SignFinal = fw_C_SignFinal,
	.C_SignRecoverInit = fw_C_SignRecoverInit,
	.C_SignRecover = fw_C_SignRecover,
	.C_VerifyInit = fw_C_VerifyInit,
	.C_Verify = fw_C_Verify,
	.C_VerifyUpdate = fw_C_VerifyUpdate,
	.C_VerifyFinal = fw_C_VerifyFinal,
	.C_VerifyRecoverInit = fw_C_VerifyRecoverInit,
	.C_VerifyRecover = fw_C_VerifyRecover,
	.C_DigestEncryptUpdate = fw_C_DigestEncryptUpdate,
	.C_DecryptDigestUpdate = fw_C_DecryptDigestUpdate,
	.C_SignEncryptUpdate = fw_C_SignEncryptUpdate,
	.C_DecryptVerifyUpdate = fw_C_DecryptVerifyUpdate,
	.C_GenerateKey = fw_C_GenerateKey,
	.C_GenerateKeyPair = fw_C_GenerateKeyPair,
	.C_WrapKey = fw_C_WrapKey,
	.C_UnwrapKey = fw_C_UnwrapKey,
	.C_DeriveKey = fw_C_DeriveKey,
	.C_SeedRandom = fw_C_SeedRandom,
	.C_GenerateRandom = fw_C_GenerateRandom,
	.C_GetFunctionStatus = fw_C_GetFunctionStatus,
	.C_CancelFunction = fw_C_CancelFunction,
};

static void
fault_once(void)
{
	fault_load();
}

CK_RV
C_GetFunctionList(CK_FUNCTION_LIST **list)
{
	pthread_once(&fault.once, fault_once);
	if (fault.real == NULL)
		return CKR_GENERAL_ERROR;
	return fw_C_GetFunctionList(list);
}
