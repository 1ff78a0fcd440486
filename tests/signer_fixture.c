/*
 * The collector's side of obhsm-signer for the tests and obbench; see
 * signer_fixture.h.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
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
#include "log.h"
#include "msg.h"
#include "proto.h"
#include "provision.h"
#include "signer_fixture.h"

#define SFX_POLL_NS	(20 * 1000 * 1000)	/* daemon start and stop */

int
sfx_fmt(char *out, size_t len, const char *f, ...)
{
	va_list	ap;
	int	n;

	va_start(ap, f);
	n = vsnprintf(out, len, f, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len) {
		log_warnx("%s: does not fit in %zu bytes", __func__, len);
		return -1;
	}
	return 0;
}

int
sfx_write_file(const char *path, const char *text, mode_t mode)
{
	FILE	*f;

	if ((f = fopen(path, "w")) == NULL) {
		log_warn("%s: %s", __func__, path);
		return -1;
	}
	if (fputs(text, f) < 0) {
		log_warn("%s: %s", __func__, path);
		(void)fclose(f);
		return -1;
	}
	if (fclose(f) != 0 || chmod(path, mode) != 0) {
		log_warn("%s: %s", __func__, path);
		return -1;
	}
	return 0;
}

int
sfx_file_has(const char *path, const char *s)
{
	FILE	*f;
	char	*d = NULL;
	size_t	 n = 0;
	ssize_t	 got;
	int	 r = 0;

	if ((f = fopen(path, "r")) == NULL)
		return 0;
	/* Whole, as one NUL-terminated string: s may span lines. */
	if ((got = getdelim(&d, &n, '\0', f)) > 0)
		r = strstr(d, s) != NULL;
	free(d);
	(void)fclose(f);
	return r;
}

int
sfx_key_make(struct sfx_key *k, uint64_t tp, uint64_t period_len)
{
	uint8_t	seed[ED25519_SEED_LEN];
	int	r;

	memset(k, 0, sizeof(*k));
	if ((r = ob_random(seed, sizeof(seed))) != 0 ||
	    (r = hs_expanded_from_seed(k->sk, seed)) != 0 ||
	    (r = hs_expanded_pubkey(k->pk, k->sk)) != 0 ||
	    (r = hs_address_encode(k->addr, k->pk)) != 0)
		goto err;
	ob_wipe(seed, sizeof(seed));
	if (period_len == 0)
		return 0;
	if ((r = hs_blind_seckey(k->bl_sk, k->sk, k->pk, tp,
	    period_len)) != 0 ||
	    (r = hs_blind_pubkey(k->bl_pk, k->pk, tp, period_len)) != 0)
		goto err;
	hs_signer_expanded(&k->bl_signer, k->bl_sk, k->bl_pk);
	return 0;
 err:
	log_warnx("%s: %s", __func__, ob_strerror(r));
	ob_wipe(seed, sizeof(seed));
	return -1;
}

int
sfx_cert_make(struct hs_cert *c, uint8_t type, uint32_t expiry,
    const uint8_t certified[ED25519_PK_LEN], const struct hs_signer *s)
{
	uint8_t	raw[HS_CERT_LEN];
	int	r;

	if ((r = hs_cert_build(raw, type, expiry, certified, s)) != 0 ||
	    (r = hs_cert_parse(c, raw, sizeof(raw))) != 0) {
		log_warnx("%s: %s", __func__, ob_strerror(r));
		return -1;
	}
	return 0;
}

/* One intro point as a relay would offer it: IPv4 and legacy id link
 * specifiers, fresh keys, auth and enc certs by ds. */
static int
sfx_intro_make(struct hs_intro_point *ip, const struct hs_signer *ds,
    time_t now)
{
	uint8_t	k[ED25519_PK_LEN];
	size_t	n = 0;

	ip->linkspec[n++] = 2;		/* two link specifiers */
	ip->linkspec[n++] = 0;		/* IPv4 */
	ip->linkspec[n++] = 6;
	if (ob_random(ip->linkspec + n, 6) != 0)
		return -1;
	n += 6;
	ip->linkspec[n++] = 2;		/* legacy id */
	ip->linkspec[n++] = 20;
	if (ob_random(ip->linkspec + n, 20) != 0)
		return -1;
	n += 20;
	ip->linkspec_len = n;
	if (ob_random(ip->onion_key, sizeof(ip->onion_key)) != 0 ||
	    ob_random(ip->enc_key, sizeof(ip->enc_key)) != 0 ||
	    ob_random(k, sizeof(k)) != 0 ||
	    sfx_cert_make(&ip->auth_key_cert, HS_CERT_TYPE_AUTH_HS_IP_KEY,
	    hs_cert_expiry_intro(now), k, ds) != 0 ||
	    ob_random(k, sizeof(k)) != 0 ||
	    sfx_cert_make(&ip->enc_key_cert, HS_CERT_TYPE_CROSS_HS_IP_KEYS,
	    hs_cert_expiry_intro(now), k, ds) != 0)
		return -1;
	return 0;
}

int
sfx_backend_desc(struct hs_desc *d, const struct sfx_key *backend,
    const struct hs_signer *ds, size_t n_intro, uint64_t revision,
    time_t now)
{
	size_t	i;

	hs_desc_init(d);
	if (n_intro > HS_DESC_MAX_INTRO) {
		log_warnx("%s: %zu intro points", __func__, n_intro);
		return -1;
	}
	d->lifetime_min = HS_DESC_LIFETIME_DEFAULT;
	d->revision_counter = revision;
	if (sfx_cert_make(&d->signing_cert, HS_CERT_TYPE_DESC_SIGNING,
	    hs_cert_expiry_desc_signing(now), ds->pk,
	    &backend->bl_signer) != 0)
		return -1;
	for (i = 0; i < n_intro; i++)
		if (sfx_intro_make(&d->intro[i], ds, now) != 0) {
			log_warnx("%s: intro point %zu", __func__, i);
			return -1;
		}
	d->n_intro = n_intro;
	return 0;
}

int
sfx_backend_make(struct sfx_backend *bk, uint64_t tp, uint64_t period_len,
    size_t n_intro, uint64_t revision, time_t now)
{
	if (sfx_key_make(&bk->key, tp, period_len) != 0 ||
	    sfx_key_make(&bk->ds, 0, 0) != 0)
		return -1;
	hs_signer_expanded(&bk->ds_signer, bk->ds.sk, bk->ds.pk);
	return sfx_backend_desc(&bk->desc, &bk->key, &bk->ds_signer, n_intro,
	    revision, now);
}

int
sfx_identity_write(const char *dir, const struct sfx_key *k)
{
	int	r;

	if (mkdir(dir, 0700) != 0) {
		log_warn("%s: %s", __func__, dir);
		return -1;
	}
	if ((r = provision_identity_write(dir, k->sk, k->pk)) != 0) {
		log_warnx("%s: %s: %s", __func__, dir, ob_strerror(r));
		return -1;
	}
	return 0;
}

struct buf *
sfx_backend_desc_encode(const struct hs_desc *d,
    const struct sfx_key *backend, const struct hs_signer *ds)
{
	struct hs_desc_encode_params	 ep;
	struct buf			*out;
	int				 r;

	memset(&ep, 0, sizeof(ep));
	ep.identity_pk = backend->pk;
	ep.blinded_pk = backend->bl_pk;
	if ((out = buf_new(HS_DESC_MAX_LEN + 1)) == NULL)
		return NULL;
	if ((r = hs_desc_encode(out, d, &ep, ds)) != 0) {
		log_warnx("%s: %s", __func__, ob_strerror(r));
		buf_free(out);
		return NULL;
	}
	return out;
}

struct buf *
sfx_master_body(const uint8_t identity_pk[ED25519_PK_LEN],
    const uint8_t blinded_pk[ED25519_PK_LEN],
    const struct hs_intro_point *ips, const uint8_t (*c09)[HS_CERT_LEN],
    const uint8_t (*c0b)[HS_CERT_LEN], size_t n, uint64_t revision,
    const uint8_t cert08[HS_CERT_LEN],
    const uint8_t (*clients)[X25519_KEY_LEN], size_t n_clients,
    const uint8_t *eph_sk, const uint8_t *eph_pk)
{
	struct hs_desc_encode_params	 ep;
	struct hs_desc			 d;
	struct buf			*out = NULL;
	size_t				 i;
	int				 r;

	hs_desc_init(&d);
	if (n > HS_DESC_MAX_INTRO) {
		log_warnx("%s: %zu intro points", __func__, n);
		goto err;
	}
	d.lifetime_min = HS_DESC_LIFETIME_DEFAULT;
	d.revision_counter = revision;
	if ((r = hs_cert_parse(&d.signing_cert, cert08, HS_CERT_LEN)) != 0)
		goto bad;
	for (i = 0; i < n; i++) {
		d.intro[i] = ips[i];
		if ((r = hs_cert_parse(&d.intro[i].auth_key_cert, c09[i],
		    HS_CERT_LEN)) != 0 ||
		    (r = hs_cert_parse(&d.intro[i].enc_key_cert, c0b[i],
		    HS_CERT_LEN)) != 0)
			goto bad;
	}
	d.n_intro = n;
	memset(&ep, 0, sizeof(ep));
	ep.identity_pk = identity_pk;
	ep.blinded_pk = blinded_pk;
	ep.client_pks = clients;
	ep.n_client_pks = n_clients;
	ep.auth_ephemeral_sk = eph_sk;
	ep.auth_ephemeral_pk = eph_pk;
	if ((out = buf_new(HS_DESC_MAX_LEN + 1)) == NULL)
		goto err;
	if ((r = hs_desc_encode_body(out, &d, &ep)) != 0)
		goto bad;
	hs_desc_clear(&d);
	return out;
 bad:
	log_warnx("%s: %s", __func__, ob_strerror(r));
 err:
	buf_free(out);
	hs_desc_clear(&d);
	return NULL;
}

int
sfx_have_softhsm(void)
{
	return access(SFX_SOFTHSM, R_OK) == 0 &&
	    system("command -v softhsm2-util >/dev/null") == 0;
}

int
sfx_token_init(const char *dir, const char *label, char *conf_out,
    size_t conf_len)
{
	char	tokens[PATH_MAX], text[PATH_MAX + 128], cmd[PATH_MAX * 2];
	char	pin[PATH_MAX];

	if (sfx_fmt(tokens, sizeof(tokens), "%s/tokens", dir) != 0 ||
	    sfx_fmt(conf_out, conf_len, "%s/softhsm2.conf", dir) != 0 ||
	    sfx_fmt(pin, sizeof(pin), "%s/pin", dir) != 0 ||
	    sfx_fmt(text, sizeof(text), "directories.tokendir = %s\n"
	    "objectstore.backend = file\nlog.level = ERROR\n", tokens) != 0 ||
	    sfx_fmt(cmd, sizeof(cmd), "SOFTHSM2_CONF='%s' softhsm2-util "
	    "--init-token --free --label '%s' --pin 1234 --so-pin 5678 "
	    ">/dev/null", conf_out, label) != 0)
		return -1;
	if (mkdir(tokens, 0700) != 0) {
		log_warn("%s: %s", __func__, tokens);
		return -1;
	}
	if (sfx_write_file(conf_out, text, 0600) != 0)
		return -1;
	if (system(cmd) != 0) {
		log_warnx("%s: softhsm2-util --init-token failed", __func__);
		return -1;
	}
	return sfx_write_file(pin, "1234\n", 0600);
}

int
sfx_conf_head(struct buf *b, const struct sfx_conf *c)
{
	char	t[PATH_MAX * 4 + 1024], more[128];

	more[0] = '\0';
	if (c->hsm_timeout >= 0 && sfx_fmt(more, sizeof(more),
	    "hsm-timeout = %d\n", c->hsm_timeout) != 0)
		return -1;
	if (c->online_periods > 0 && sfx_fmt(more + strlen(more),
	    sizeof(more) - strlen(more), "online-periods = %u\n",
	    c->online_periods) != 0)
		return -1;
	if (c->key_copies != 0 && sfx_fmt(more + strlen(more),
	    sizeof(more) - strlen(more), "key-copies = %s\n",
	    c->key_copies > 0 ? "true" : "false") != 0)
		return -1;
	if (sfx_fmt(t, sizeof(t),
	    "pkcs11-module = \"%s\"\n"
	    "token-uri = \"pkcs11:token=%s\"\n"
	    "pin-source = \"file:%s/pin\"\n"
	    "socket = \"%s\"\n"
	    "socket-mode = 0%o\n"
	    "collector-uid = %lu\n"
	    "state-dir = \"%s/state\"\n"
	    "audit-log = \"%s\"\n"
	    "period-length = %llu\n"
	    "rotation-offset = %llu\n"
	    "%s"
	    "sandbox = \"%s\"\n",
	    c->module, c->token, c->dir, c->sock, c->socket_mode,
	    (unsigned long)getuid(), c->dir, c->audit,
	    (unsigned long long)c->period_len,
	    (unsigned long long)c->rot_offset, more, c->sandbox) != 0)
		return -1;
	return buf_put_str(b, t) == 0 ? 0 : -1;
}

int
sfx_conf_service(struct buf *b, const char *addr,
    const char *const *backends, size_t n, const char *identity_dir)
{
	char	t[PATH_MAX + 256];
	size_t	i;

	if (sfx_fmt(t, sizeof(t), "service \"%s\" {\n  backends = {", addr) !=
	    0 || buf_put_str(b, t) != 0)
		return -1;
	for (i = 0; i < n; i++)
		if (sfx_fmt(t, sizeof(t), "%s\"%s\"", i > 0 ? ", " : " ",
		    backends[i]) != 0 || buf_put_str(b, t) != 0)
			return -1;
	if (buf_put_str(b, " }\n") != 0)
		return -1;
	if (identity_dir != NULL && (sfx_fmt(t, sizeof(t),
	    "  key-mode = \"online\"\n"
	    "  identity-key = \"%s/hs_ed25519_secret_key\"\n",
	    identity_dir) != 0 || buf_put_str(b, t) != 0))
		return -1;
	return buf_put_str(b, "}\n") == 0 ? 0 : -1;
}

const char *
sfx_signer_binary(char *path, size_t len)
{
	char		 self[PATH_MAX];
	const char	*bd = getenv("OBHSM_BUILDDIR");
	ssize_t		 n;
	char		*slash;

	if (bd != NULL)
		return sfx_fmt(path, len, "%s/obhsm-signer", bd) == 0 ?
		    path : "obhsm-signer";
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) <= 0)
		return "obhsm-signer";
	self[n] = '\0';
	if ((slash = strrchr(self, '/')) != NULL)
		*slash = '\0';	/* .../tests */
	if ((slash = strrchr(self, '/')) != NULL)
		*slash = '\0';
	return sfx_fmt(path, len, "%s/obhsm-signer", self) == 0 ?
	    path : "obhsm-signer";
}

int
sfx_connect(const char *sock)
{
	struct sockaddr_un	sun;
	int			fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(sock) >= sizeof(sun.sun_path))
		return -1;
	memcpy(sun.sun_path, sock, strlen(sock));
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(fd);
		return -1;
	}
	(void)fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

int
sfx_signer_spawn(struct sfx_signer *s)
{
	const char *const	*e;
	int			 logfd;

	if ((s->pid = fork()) == -1) {
		log_warn("%s: fork", __func__);
		s->pid = 0;
		return -1;
	}
	if (s->pid != 0)
		return 0;
	/* The child: only the daemon's environment changes. */
	for (e = s->env; e != NULL && e[0] != NULL; e += 2)
		if (setenv(e[0], e[1], 1) != 0)
			_exit(126);
	if ((logfd = open(s->log, O_WRONLY | O_CREAT | O_APPEND,
	    0600)) != -1) {
		(void)dup2(logfd, 2);
		close(logfd);
	}
	if (s->wrap != NULL) {
		if (setenv("SFX_WRAP", s->wrap, 1) != 0)
			_exit(126);
		execl("/bin/sh", "sh", "-c", "exec $SFX_WRAP \"$@\"", "sh",
		    s->bin, "-d", "-f", s->conf, (char *)NULL);
	} else if (s->verbose)
		execl(s->bin, "obhsm-signer", "-d", "-v", "-f", s->conf,
		    (char *)NULL);
	else
		execl(s->bin, "obhsm-signer", "-d", "-f", s->conf,
		    (char *)NULL);
	_exit(127);
}

int
sfx_signer_wait(struct sfx_signer *s, int timeout_ms)
{
	struct timespec	ts = { 0, SFX_POLL_NS };
	long		waited;
	int		fd;

	for (waited = 0; timeout_ms < 0 || waited <= timeout_ms;
	    waited += SFX_POLL_NS / 1000000) {
		if ((fd = sfx_connect(s->sock)) != -1) {
			close(fd);
			return 0;
		}
		if (s->pid <= 0 || waitpid(s->pid, NULL, WNOHANG) == s->pid) {
			s->pid = 0;
			return -1;
		}
		nanosleep(&ts, NULL);
	}
	return -1;
}

int
sfx_signer_start(struct sfx_signer *s, int timeout_ms)
{
	if (sfx_signer_spawn(s) == 0 && sfx_signer_wait(s, timeout_ms) == 0)
		return 0;
	fprintf(stderr, "obhsm-signer did not start; see %s\n", s->log);
	return -1;
}

int
sfx_signer_reap(struct sfx_signer *s, int *status, int timeout_ms)
{
	struct timespec	ts = { 0, SFX_POLL_NS };
	long		waited;

	if (s->pid <= 0)
		return -1;
	(void)kill(s->pid, SIGTERM);
	for (waited = 0; waited <= timeout_ms;
	    waited += SFX_POLL_NS / 1000000) {
		if (waitpid(s->pid, status, WNOHANG) == s->pid) {
			s->pid = 0;
			return 0;
		}
		nanosleep(&ts, NULL);
	}
	fprintf(stderr, "obhsm-signer %ld did not exit; killed\n",
	    (long)s->pid);
	(void)kill(s->pid, SIGKILL);
	(void)waitpid(s->pid, status, 0);
	s->pid = 0;
	return -1;
}

int
sfx_conn_open(struct msg_conn *c, const char *sock, const char *name,
    struct msg *reply, int timeout_ms)
{
	struct buf	*p;
	int		 fd, r;

	if ((fd = sfx_connect(sock)) == -1) {
		log_warn("%s: %s", __func__, sock);
		return -1;
	}
	if (msg_conn_init(c, fd) != 0) {
		close(fd);
		return -1;
	}
	if (name == NULL)
		return 0;
	if ((p = sfx_hello(name)) == NULL)
		goto err;
	r = msg_conn_call(c, PROTO_HELLO, p, reply, timeout_ms);
	buf_free(p);
	if (r != 0) {
		log_warn("%s: HELLO", __func__);
		goto err;
	}
	if (reply->type != PROTO_HELLO_OK) {
		log_warnx("%s: HELLO answered with %s", __func__,
		    msg_type_name(reply->type));
		goto err;
	}
	return 0;
 err:
	sfx_conn_close(c);
	return -1;
}

void
sfx_conn_close(struct msg_conn *c)
{
	if (c->fd != -1)
		close(c->fd);
	msg_conn_clear(c);
}

int
sfx_error_is(struct msg *m, uint16_t want, char *detail, size_t len)
{
	uint16_t	reason = 0;

	if (len > 0)
		detail[0] = '\0';
	if (m->type != PROTO_ERROR) {
		fprintf(stderr, "\n    want ERROR %s, got %s ",
		    msg_reason_name(want), msg_type_name(m->type));
		return 0;
	}
	if (msg_error_get(m, &reason, detail, len) != 0) {
		fprintf(stderr, "\n    malformed ERROR ");
		return 0;
	}
	if (reason != want) {
		fprintf(stderr, "\n    want %s, got %s: %s ",
		    msg_reason_name(want), msg_reason_name(reason), detail);
		return 0;
	}
	return 1;
}

struct buf *
sfx_hello(const char *name)
{
	struct buf	*p;

	if ((p = msg_payload_new()) == NULL)
		return NULL;
	if (msg_put_u32(p, PROTO_VERSION) != 0 ||
	    msg_put_u8(p, PROTO_ROLE_COLLECTOR) != 0 ||
	    msg_put_str(p, name) != 0) {
		buf_free(p);
		return NULL;
	}
	return p;
}

struct buf *
sfx_backend_desc_msg(const char *svc, const char *backend, uint64_t tp,
    const struct buf *desc)
{
	struct buf	*p;

	if ((p = msg_payload_new()) == NULL)
		return NULL;
	if (msg_put_str(p, svc) != 0 || msg_put_str(p, backend) != 0 ||
	    msg_put_u64(p, tp) != 0 ||
	    msg_put_data(p, buf_ptr(desc), buf_len(desc)) != 0) {
		buf_free(p);
		return NULL;
	}
	return p;
}

struct buf *
sfx_recertify_msg(const char *svc, uint64_t tp,
    const struct hs_intro_point *ips, size_t n)
{
	struct buf	*p;
	size_t		 i;

	if (n > UINT8_MAX || (p = msg_payload_new()) == NULL)
		return NULL;
	if (msg_put_str(p, svc) != 0 || msg_put_u64(p, tp) != 0 ||
	    msg_put_u8(p, (uint8_t)n) != 0)
		goto err;
	for (i = 0; i < n; i++)
		if (msg_put_fixed(p, ips[i].auth_key_cert.certified_key,
		    ED25519_PK_LEN) != 0)
			goto err;
	return p;
 err:
	buf_free(p);
	return NULL;
}

struct buf *
sfx_params_msg(const char *svc, uint64_t tp)
{
	struct buf	*p;

	if ((p = msg_payload_new()) == NULL)
		return NULL;
	if (msg_put_str(p, svc) != 0 || msg_put_u64(p, tp) != 0) {
		buf_free(p);
		return NULL;
	}
	return p;
}

struct buf *
sfx_sign_msg(const char *svc, uint64_t tp, const uint8_t *body, size_t len)
{
	struct buf	*p;

	if ((p = msg_payload_new()) == NULL)
		return NULL;
	/* has_client_sk 0: no restricted discovery key for the signer. */
	if (msg_put_str(p, svc) != 0 || msg_put_u64(p, tp) != 0 ||
	    msg_put_u8(p, 0) != 0 || msg_put_data(p, body, len) != 0) {
		buf_free(p);
		return NULL;
	}
	return p;
}

int
sfx_params_reply(struct msg *m, uint8_t bl_pk[ED25519_PK_LEN],
    uint8_t signing_pk[ED25519_PK_LEN], uint64_t *revision, uint64_t *now,
    uint8_t cert08[HS_CERT_LEN])
{
	struct buf	cert;

	if (m->type != PROTO_DESC_PARAMS_OK ||
	    msg_get_fixed(m, bl_pk, ED25519_PK_LEN) != 0 ||
	    msg_get_fixed(m, signing_pk, ED25519_PK_LEN) != 0 ||
	    msg_get_u64(m, revision) != 0 || msg_get_u64(m, now) != 0 ||
	    msg_get_data(m, &cert, HS_CERT_MAX_LEN) != 0 ||
	    buf_len(&cert) != HS_CERT_LEN || msg_end(m) != 0) {
		log_warnx("%s: malformed %s", __func__,
		    msg_type_name(m->type));
		return -1;
	}
	memcpy(cert08, buf_ptr(&cert), HS_CERT_LEN);
	return 0;
}

int
sfx_recertify_reply(struct msg *m, uint32_t *sigs,
    const struct hs_intro_point *ips, size_t n, uint8_t (*c09)[HS_CERT_LEN],
    uint8_t (*c0b)[HS_CERT_LEN])
{
	struct buf	cert;
	uint8_t		auth[ED25519_PK_LEN], got;
	size_t		i;

	if (m->type != PROTO_RECERTIFY_OK || msg_get_u32(m, sigs) != 0 ||
	    msg_get_u8(m, &got) != 0 || got != n)
		goto err;
	for (i = 0; i < n; i++) {
		if (msg_get_fixed(m, auth, sizeof(auth)) != 0 ||
		    (ips != NULL && memcmp(auth,
		    ips[i].auth_key_cert.certified_key, sizeof(auth)) != 0) ||
		    msg_get_data(m, &cert, HS_CERT_MAX_LEN) != 0 ||
		    buf_len(&cert) != HS_CERT_LEN)
			goto err;
		memcpy(c09[i], buf_ptr(&cert), HS_CERT_LEN);
		if (msg_get_data(m, &cert, HS_CERT_MAX_LEN) != 0 ||
		    buf_len(&cert) != HS_CERT_LEN)
			goto err;
		memcpy(c0b[i], buf_ptr(&cert), HS_CERT_LEN);
	}
	if (msg_end(m) != 0)
		goto err;
	return 0;
 err:
	log_warnx("%s: malformed %s", __func__, msg_type_name(m->type));
	return -1;
}
