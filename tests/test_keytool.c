/*
 * End-to-end ceremony: the built obhsm-keytool (OBHSM_BUILDDIR) on
 * throwaway SoftHSM tokens.  identity generate, token keys, certify,
 * import (and every refusal leaving the store untouched), status exit
 * codes, then a descriptor signed through the token with the bundle's 08
 * cert that our decoder (and stem, if present) accepts, whose revision
 * counter is tor's, and finally purge.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "crypto.h"
#include "err.h"
#include "hs_cert.h"
#include "hs_desc.h"
#include "hs_keys.h"
#include "hsm.h"
#include "provision.h"
#include "tests.h"

#define SOFTHSM_UTIL	"/usr/bin/softhsm2-util"

static char	kt_bin[PATH_MAX];
static char	kt_work[PATH_MAX];

/* Run a shell command line in the work directory; its exit status. */
static int
kt_sh(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static int
kt_sh(const char *fmt, ...)
{
	char	cmd[4 * PATH_MAX], full[7 * PATH_MAX];
	va_list	ap;
	int	st, n;

	va_start(ap, fmt);
	(void)vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	n = snprintf(full, sizeof(full), "cd %s && { %s ; } >>%s/log 2>&1",
	    kt_work, cmd, kt_work);
	if (n < 0 || (size_t)n >= sizeof(full))
		return -1;
	st = system(full);
	if (st == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

#define KT_TOKEN(t)	"--token pkcs11:token=" t " --pin file:pin"
/* SoftHSM 2.6.1 leaks inside C_GenerateKeyPair for EdDSA (OpenSSL
 * ASN1 strings, reported after the module is unloaded, so no frame of
 * ours or its can name them): leak checks off for that one step. */
#define KT_NOLEAK	"ASAN_OPTIONS=detect_leaks=0 "

static uint8_t *
kt_read(const char *name, size_t *n)
{
	char	path[2 * PATH_MAX];

	(void)snprintf(path, sizeof(path), "%s/%s", kt_work, name);
	return test_read_file(path, n);
}

static void
kt_write(const char *name, const uint8_t *d, size_t n)
{
	char	 path[2 * PATH_MAX];
	FILE	*f;

	(void)snprintf(path, sizeof(path), "%s/%s", kt_work, name);
	f = fopen(path, "wb");
	CU_ASSERT_FATAL(f != NULL);
	CU_ASSERT(fwrite(d, 1, n, f) == n);
	CU_ASSERT(fclose(f) == 0);
}

static int
kt_setup(void)
{
	const char	*bd = getenv("OBHSM_BUILDDIR");
	char		 conf[2 * PATH_MAX];
	FILE		*f;

	if (bd == NULL)
		return -1;
	(void)snprintf(kt_bin, sizeof(kt_bin), "%s/obhsm-keytool", bd);
	CU_ASSERT_FATAL(access(kt_bin, X_OK) == 0);
	if (access(SOFTHSM_UTIL, X_OK) != 0)
		return -1;
	(void)snprintf(kt_work, sizeof(kt_work), "%s/keytool-e2e",
	    test_tmpdir());
	CU_ASSERT_FATAL(mkdir(kt_work, 0700) == 0);
	(void)snprintf(conf, sizeof(conf), "%s/softhsm2.conf", kt_work);
	f = fopen(conf, "w");
	CU_ASSERT_FATAL(f != NULL);
	fprintf(f, "directories.tokendir = %s\nobjectstore.backend = file\n"
	    "log.level = ERROR\n", kt_work);
	CU_ASSERT_FATAL(fclose(f) == 0);
	CU_ASSERT_FATAL(setenv("SOFTHSM2_CONF", conf, 1) == 0);
	CU_ASSERT_FATAL(kt_sh("echo 1234 >pin && chmod 600 pin && "
	    "mkdir state id-parent") == 0);
	CU_ASSERT_FATAL(kt_sh(SOFTHSM_UTIL " --init-token --free --label "
	    "kt-a --pin 1234 --so-pin 5678 && " SOFTHSM_UTIL " --init-token "
	    "--free --label kt-b --pin 1234 --so-pin 5678") == 0);
	return 0;
}

/* The service's address from the hostname file, without ".onion". */
static void
kt_address(const char *dir, char addr[HS_ADDR_LEN + 1])
{
	char	 name[PATH_MAX];
	uint8_t	*d;
	size_t	 n;

	(void)snprintf(name, sizeof(name), "%s/hostname", dir);
	d = kt_read(name, &n);
	CU_ASSERT_FATAL(d != NULL && n == HS_ADDR_LEN + 7);
	memcpy(addr, d, HS_ADDR_LEN);
	addr[HS_ADDR_LEN] = '\0';
	free(d);
}

/* Import must fail and leave the store byte for byte as it was. */
static void
kt_import_refused(const char *bundle, const char *addr, const char *why)
{
	uint8_t	*before, *after;
	size_t	 nb, na;
	char	 store[PATH_MAX];

	(void)snprintf(store, sizeof(store), "state/%s.store", addr);
	before = kt_read(store, &nb);
	CU_ASSERT_FATAL(before != NULL);
	if (kt_sh("%s import --bundle %s --state-dir state " KT_TOKEN("kt-a"),
	    kt_bin, bundle) != 1)
		CU_FAIL(why);
	after = kt_read(store, &na);
	CU_ASSERT_FATAL(after != NULL);
	CU_ASSERT(nb == na && memcmp(before, after, nb) == 0);
	free(before);
	free(after);
}

/* Replace line number "line" (0-based) of a text file into dst. */
static void
kt_edit_line(const char *src, const char *dst, size_t line,
    const char *repl)
{
	uint8_t		*d;
	size_t		 n, i, l = 0, start = 0, end;
	struct buf	*o;

	d = kt_read(src, &n);
	CU_ASSERT_FATAL(d != NULL);
	for (i = 0; i < n && l < line; i++)
		if (d[i] == '\n') {
			l++;
			start = i + 1;
		}
	CU_ASSERT_FATAL(l == line);
	for (end = start; end < n && d[end] != '\n'; end++)
		;
	o = buf_new(PROVISION_FILE_MAX);
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT(buf_put(o, d, start) == 0 && buf_put_str(o, repl) == 0 &&
	    buf_put(o, d + end, n - end) == 0);
	kt_write(dst, buf_ptr(o), buf_len(o));
	buf_free(o);
	free(d);
}

/* Token kt-a, open.  Usable in a forked child: no CUnit assertions, NULL
 * on failure. */
static struct hsm *
kt_hsm_child(void)
{
	struct hsm_config	 c;
	struct hsm		*h;
	char			 pin[2 * PATH_MAX];

	(void)snprintf(pin, sizeof(pin), "file:%s/pin", kt_work);
	memset(&c, 0, sizeof(c));
	c.uri = "pkcs11:token=kt-a";
	c.pin_source = pin;
	if ((h = hsm_new(&c)) == NULL)
		return NULL;
	if (hsm_open(h) != 0) {
		hsm_free(h);
		return NULL;
	}
	return h;
}

static struct hsm *
kt_hsm(void)
{
	struct hsm	*h;

	h = kt_hsm_child();
	CU_ASSERT_FATAL(h != NULL);
	return h;
}

/* A descriptor for the live period, signed by the token, with the
 * bundle's 08 cert and the store's revision counter. */
static void
kt_descriptor(const char *addr, time_t now)
{
	struct provision		*st = NULL;
	const struct provision_period	*pp = NULL;
	struct hsm			*h;
	struct hsm_key			 key;
	struct hs_signer		 signer;
	struct hs_desc			 d, dec;
	struct hs_desc_encode_params	 ep;
	struct hs_desc_decode_params	 dp;
	struct hs_ope			 ope;
	struct buf			*out;
	uint8_t				 cert[HS_CERT_LEN];
	char				 label[PROVISION_LABEL_MAX + 1];
	char				 path[2 * PATH_MAX];
	char				 cmd[6 * PATH_MAX];
	uint8_t				 id[PROVISION_KEY_ID_LEN];
	uint8_t				 sk[64], pk[32];
	uint8_t				 bsk[64], bpk[32];
	uint8_t				 torkey[32];
	uint32_t			 pt;
	uint64_t			 rev, torrev;
	size_t				 i;
	pid_t				 pid;
	int				 status;

	CU_ASSERT_FATAL(provision_store_load(&st, kt_work, "") ==
	    OB_ERR_FORMAT);
	(void)snprintf(path, sizeof(path), "%s/state", kt_work);
	CU_ASSERT_FATAL(provision_store_load(&st, path, addr) == 0);
	for (i = 0; i < st->nperiods && pp == NULL; i++)
		if (provision_cert_at(cert, &st->periods[i], now) == 0)
			pp = &st->periods[i];
	CU_ASSERT_FATAL(pp != NULL);

	/* Tor's own counter, from the blinded secret. */
	(void)snprintf(path, sizeof(path), "%s/id/hs_ed25519_secret_key",
	    kt_work);
	CU_ASSERT_FATAL(provision_identity_load(sk, pk, path) == 0);
	CU_ASSERT(memcmp(pk, st->identity_pk, 32) == 0);
	CU_ASSERT(hs_blind_seckey(bsk, sk, pk, pp->tp, st->period_len) == 0);
	CU_ASSERT(hs_blind_pubkey(bpk, pk, pp->tp, st->period_len) == 0);
	CU_ASSERT(hs_ope_key(torkey, bsk) == 0);
	CU_ASSERT(memcmp(torkey, pp->ope_key, 32) == 0);
	CU_ASSERT_FATAL(hs_revision_plaintext(&pt, now, pp->tp,
	    st->period_len, st->rot_offset) == 0);
	hs_ope_init(&ope, torkey);
	CU_ASSERT(hs_ope_encrypt(&ope, pt, &torrev) == 0);
	hs_ope_init(&ope, pp->ope_key);
	CU_ASSERT(hs_ope_encrypt(&ope, pt, &rev) == 0);
	CU_ASSERT(rev == torrev);
	ob_wipe(sk, sizeof(sk));
	ob_wipe(bsk, sizeof(bsk));

	/*
	 * Sign through the token's key for the period, in a child that
	 * leaves with _exit(): SoftHSM 2.6.1 leaks 37 bytes (an
	 * ASN1_PRINTABLESTRING "edwards25519") in every EdDSA C_SignInit,
	 * which LeakSanitizer would pin on this runner at exit.
	 */
	out = buf_new(HS_DESC_MAX_LEN + 1);
	CU_ASSERT_FATAL(out != NULL);
	hs_desc_init(&d);
	d.lifetime_min = HS_DESC_LIFETIME_DEFAULT;
	d.revision_counter = rev;
	CU_ASSERT_FATAL(hs_cert_parse(&d.signing_cert, cert,
	    HS_CERT_LEN) == 0);
	memset(&ep, 0, sizeof(ep));
	ep.identity_pk = st->identity_pk;
	ep.blinded_pk = bpk;
	CU_ASSERT(provision_key_label(label, addr, pp->tp) == 0);
	provision_key_id(id, st->identity_pk, pp->tp);
	fflush(NULL);
	if ((pid = fork()) == 0) {
		h = kt_hsm_child();
		if (h == NULL ||
		    hsm_key_find(h, &key, label, id, sizeof(id)) != 0 ||
		    memcmp(key.pk, pp->token_pk, 32) != 0)
			_exit(2);
		hsm_key_signer(&signer, &key);
		if (hs_desc_encode(out, &d, &ep, &signer) != 0)
			_exit(3);
		kt_write("desc.txt", buf_ptr(out), buf_len(out));
		_exit(0);
	}
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_FATAL(waitpid(pid, &status, 0) == pid);
	CU_ASSERT_FATAL(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	{
		uint8_t	*txt;
		size_t	 n;

		txt = kt_read("desc.txt", &n);
		CU_ASSERT_FATAL(txt != NULL);
		CU_ASSERT(buf_put(out, txt, n) == 0);
		free(txt);
	}

	hs_desc_init(&dec);
	memset(&dp, 0, sizeof(dp));
	dp.identity_pk = st->identity_pk;
	dp.blinded_pk = bpk;
	dp.now = now;
	CU_ASSERT(hs_desc_decode(&dec, buf_ptr(out), buf_len(out), &dp) == 0);
	CU_ASSERT(dec.revision_counter == torrev);
	CU_ASSERT(memcmp(dec.signing_cert.certified_key, pp->token_pk,
	    32) == 0);
	CU_ASSERT(dec.signing_cert.expiry_hours ==
	    (uint32_t)(now / 3600) + PROVISION_CERT_EXPIRY_HOURS);
	hs_desc_clear(&dec);

	/* stem, the reference decoder OnionBalance uses. */
	if (test_have_stem()) {
		(void)snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s "
		    "desc.txt %s.onion | grep -qx 'revision %llu'",
		    test_vector_path("../stem/check_ours.py"), addr,
		    (unsigned long long)torrev);
		CU_ASSERT(kt_sh("%s", cmd) == 0);
	} else
		fprintf(stderr, "  (stem not installed: not cross-checked)\n");
	buf_free(out);
	hs_desc_clear(&d);
	provision_free(st);
}

/* Keys of the token labelled for a service. */
static size_t
kt_count_keys(struct hsm *h, const char *addr)
{
	struct hsm_key	*keys = NULL;
	char		 prefix[PROVISION_LABEL_MAX + 1];
	size_t		 nk = 0, j, ours = 0;

	(void)snprintf(prefix, sizeof(prefix), "obhsm-%s-", addr);
	CU_ASSERT_FATAL(hsm_key_list(h, &keys, &nk) == 0);
	for (j = 0; j < nk; j++)
		if (strncmp(keys[j].label, prefix, strlen(prefix)) == 0)
			ours++;
	free(keys);
	return ours;
}

static void
test_ceremony(void)
{
	char		 addr[HS_ADDR_LEN + 1], addr2[HS_ADDR_LEN + 1];
	char		 line[128];
	uint8_t		*d;
	size_t		 n, nl, i;
	time_t		 now = time(NULL);
	struct provision *st = NULL;
	struct hsm	*h;

	if (kt_setup() != 0)
		TEST_SKIP("no OBHSM_BUILDDIR or no softhsm2-util");

	/* identity generate, and refusing to overwrite. */
	CU_ASSERT_FATAL(kt_sh("%s identity generate --dir id", kt_bin) == 0);
	kt_address("id", addr);
	CU_ASSERT(kt_sh("%s identity generate --dir id", kt_bin) == 1);
	CU_ASSERT(kt_sh("%s identity generate", kt_bin) == 64);

	CU_ASSERT_FATAL(kt_sh(KT_NOLEAK "%s token keys --service %s.onion "
	    "--count 3 --out req " KT_TOKEN("kt-a"), kt_bin, addr) == 0);
	/* Again: the same keys, the same request. */
	CU_ASSERT_FATAL(kt_sh("cp req req.1 && %s token keys --service %s "
	    "--count 3 --out req " KT_TOKEN("kt-a") " && cmp req req.1",
	    kt_bin, addr) == 0);
	CU_ASSERT_FATAL(kt_sh("%s certify --identity "
	    "id/hs_ed25519_secret_key --request req --out bundle", kt_bin) ==
	    0);
	CU_ASSERT_FATAL(kt_sh("%s import --bundle bundle --state-dir state "
	    KT_TOKEN("kt-a"), kt_bin) == 0);

	/* Status: 0 ok, 1 warning, 2 critical, 3 unknown. */
	CU_ASSERT(kt_sh("%s status --state-dir state --warn 1 --crit 0",
	    kt_bin) == 0);
	CU_ASSERT(kt_sh("%s status --state-dir state --warn 30 --crit 0",
	    kt_bin) == 1);
	CU_ASSERT(kt_sh("%s status --state-dir state --crit 30", kt_bin) ==
	    2);
	CU_ASSERT(kt_sh("%s status --state-dir state --now %lld", kt_bin,
	    (long long)now + 20 * 86400) == 2);
	CU_ASSERT(kt_sh("%s status --state-dir id-parent", kt_bin) == 3);
	CU_ASSERT(kt_sh("%s status --state-dir state --warn 1 --crit 0 | "
	    "head -1 | grep -q '^OBHSM PROVISION OK - 1 service'", kt_bin) ==
	    0);

	/* Refusals, store untouched.  Tampered: a cert line altered. */
	d = kt_read("bundle", &n);
	CU_ASSERT_FATAL(d != NULL);
	for (i = 0, nl = 0; i < n && nl < 10; i++)
		if (d[i] == '\n')
			nl++;
	CU_ASSERT_FATAL(memcmp(d + i, "cert ", 5) == 0);
	d[i + 40] = d[i + 40] == 'A' ? 'B' : 'A';
	kt_write("bundle.tampered", d, n);
	kt_import_refused("bundle.tampered", addr, "tampered bundle");
	/* Truncated. */
	kt_write("bundle.short", d, n / 2);
	kt_import_refused("bundle.short", addr, "truncated bundle");
	free(d);
	/* A wrong period: the first period relabelled. */
	st = NULL;
	{
		char	spath[PATH_MAX + 16];

		(void)snprintf(spath, sizeof(spath), "%s/state", kt_work);
		CU_ASSERT_FATAL(provision_store_load(&st, spath, addr) == 0);
	}
	(void)snprintf(line, sizeof(line), "period %llu",
	    (unsigned long long)st->periods[0].tp + 7);
	kt_edit_line("bundle", "bundle.period", 4, line);
	kt_import_refused("bundle.period", addr, "wrong period");
	/* Another token's key for the same service and periods. */
	CU_ASSERT_FATAL(kt_sh(KT_NOLEAK "%s token keys --service %s "
	    "--count 3 --out req.b " KT_TOKEN("kt-b"), kt_bin, addr) == 0);
	CU_ASSERT_FATAL(kt_sh("%s certify --identity "
	    "id/hs_ed25519_secret_key --request req.b --out bundle.b",
	    kt_bin) == 0);
	kt_import_refused("bundle.b", addr, "another token's keys");
	/* A bundle for another address, relabelled as ours. */
	CU_ASSERT_FATAL(kt_sh("%s identity generate --dir id2", kt_bin) == 0);
	kt_address("id2", addr2);
	CU_ASSERT_FATAL(kt_sh(KT_NOLEAK "%s token keys --service %s "
	    "--count 3 --out req.2 " KT_TOKEN("kt-a"), kt_bin, addr2) == 0);
	CU_ASSERT_FATAL(kt_sh("%s certify --identity "
	    "id2/hs_ed25519_secret_key --request req.2 --out bundle.2",
	    kt_bin) == 0);
	(void)snprintf(line, sizeof(line), "service %s", addr);
	kt_edit_line("bundle.2", "bundle.2x", 1, line);
	kt_import_refused("bundle.2x", addr, "another address's bundle");
	/* And certify refuses a request for another address. */
	CU_ASSERT(kt_sh("%s certify --identity id/hs_ed25519_secret_key "
	    "--request req.2 --out bundle.3", kt_bin) == 1);
	CU_ASSERT(kt_sh("test ! -e bundle.3") == 0);

	kt_descriptor(addr, now);
	h = kt_hsm();
	CU_ASSERT(kt_count_keys(h, addr) == 3);
	CU_ASSERT(kt_count_keys(h, addr2) == 3);
	hsm_free(h);

	/* Purge once every period is over: certs and token keys go. */
	CU_ASSERT(kt_sh("%s purge --state-dir state --now %lld "
	    KT_TOKEN("kt-a"), kt_bin, (long long)now + 10 * 86400) == 0);
	provision_free(st);
	st = NULL;
	{
		char	spath[PATH_MAX + 16];
		(void)snprintf(spath, sizeof(spath), "%s/state", kt_work);
		CU_ASSERT_FATAL(provision_store_load(&st, spath, addr) == 0);
		CU_ASSERT(st->nperiods == 0);
		h = kt_hsm();
		CU_ASSERT(kt_count_keys(h, addr) == 0);
		/* addr2 has no store: its keys are judged by the defaults
		 * (1440/720) and go too. */
		CU_ASSERT(kt_count_keys(h, addr2) == 0);
		hsm_free(h);
	}
	CU_ASSERT(kt_sh("%s status --state-dir state", kt_bin) == 2);
	provision_free(st);
	unsetenv("SOFTHSM2_CONF");
}

/*
 * OnionBalance interop: a PEM key written by python3-cryptography as
 * OnionBalance's config generator writes it is imported into tor's format
 * with the address stem computes; and OnionBalance's own loader reads the
 * tor file we wrote back to the same key.
 */
#define KT_OB_PY \
	"import sys\n" \
	"from cryptography.hazmat.primitives import serialization as s\n" \
	"from cryptography.hazmat.primitives.asymmetric.ed25519 import " \
	"Ed25519PrivateKey\n" \
	"from stem.descriptor.hidden_service import " \
	"HiddenServiceDescriptorV3 as D\n" \
	"from onionbalance.hs_v3 import tor_ed25519\n" \
	"if sys.argv[1] == 'make':\n" \
	"    k = Ed25519PrivateKey.generate()\n" \
	"    open('ob.pem', 'wb').write(k.private_bytes(s.Encoding.PEM, " \
	"s.PrivateFormat.PKCS8, s.NoEncryption()))\n" \
	"    pk = k.public_key().public_bytes(s.Encoding.Raw, " \
	"s.PublicFormat.Raw)\n" \
	"else:\n" \
	"    k = tor_ed25519.load_tor_key_from_disk(open(sys.argv[1], " \
	"'rb').read())\n" \
	"    pk = k.public_key().public_bytes(s.Encoding.Raw, " \
	"s.PublicFormat.Raw)\n" \
	"print(D.address_from_identity_key(pk))\n"

static void
test_onionbalance_key(void)
{
	if (kt_bin[0] == '\0' && kt_setup() != 0)
		TEST_SKIP("no OBHSM_BUILDDIR or no softhsm2-util");
	if (!test_have_stem() || kt_sh("/usr/bin/python3 -c 'import "
	    "onionbalance.hs_v3.tor_ed25519'") != 0)
		TEST_SKIP("no stem or onionbalance for python3");
	kt_write("ob.py", (const uint8_t *)KT_OB_PY, strlen(KT_OB_PY));
	CU_ASSERT_FATAL(kt_sh("/usr/bin/python3 ob.py make >ob.addr && "
	    "chmod 600 ob.pem") == 0);
	CU_ASSERT_FATAL(kt_sh("%s identity import --in ob.pem --dir ob",
	    kt_bin) == 0);
	CU_ASSERT(kt_sh("cmp ob.addr ob/hostname") == 0);
	CU_ASSERT(kt_sh("/usr/bin/python3 ob.py ob/hs_ed25519_secret_key "
	    ">ob.addr2 && cmp ob.addr ob.addr2") == 0);
	/* A PEM others can read is refused. */
	CU_ASSERT(kt_sh("chmod 644 ob.pem && %s identity import --in ob.pem "
	    "--dir ob3", kt_bin) == 1);
}

static const struct test_case keytool_tests[] = {
	{ "ceremony end to end", test_ceremony },
	{ "OnionBalance key interop", test_onionbalance_key },
	{ NULL, NULL }
};

void
test_register_keytool(void)
{
	test_add_suite("keytool", keytool_tests);
}
