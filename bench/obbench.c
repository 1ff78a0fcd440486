/*
 * obbench: the descriptor throughput driver of "make bench" (issue 7).
 *
 *   obbench desc SIGNER S ROUNDS   hosting case through the real signer
 *   obbench raw SECONDS LEN        raw C_Sign rate of the same token
 *
 * Both take the token from SOFTHSM2_CONF (token "obbench", PIN file
 * $OBBENCH_DIR/pin) and print "key value" lines for bench/run.sh.
 *
 * desc: S master services in online identity mode (the signer generates
 * and certifies its own token keys) over one pool of 4 backends with 2
 * intro points each, both live periods.  The backend descriptors are
 * built with hs_desc_encode() from generated keys, as a stock tor would
 * publish them.  The driver then does what collector/publish.c does per
 * publish job, over the real Unix socket: BACKEND_DESC (cold only),
 * RECERTIFY, DESC_PARAMS, the body with hs_desc_encode_body(), SIGN_DESC.
 * publish.c itself needs a tor control connection and an HSDir view, so
 * its message sequence is replayed here with the same codec calls rather
 * than linked.  Requests are pipelined over one connection as the
 * collector's signer_client does (several in flight, answered in order).
 * Token signatures are counted from the audit log, which has one record
 * per token signature.
 *
 * OBBENCH_TOKEN=remote: the token (SoftHSM) runs in a process of its own,
 * obhsm-p11proxyd ($OBBENCH_P11PROXYD), started here as a child, and the
 * signer loads the proxy's client module ($OBBENCH_P11PROXY), as it
 * would a real HSM's: the token's object store is then counted as the
 * token server's memory, printed beside the signer's (token_*), not as
 * the signer's.  OBBENCH_ONECORE=1: after the steady rounds, the same
 * rounds again with the signer, the driver and the token server pinned
 * to one CPU, the first of our affinity mask (steady1_*).
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "buf.h"
#include "crypto.h"
#include "err.h"
#include "hs_cert.h"
#include "hs_desc.h"
#include "hs_keys.h"
#include "hsm.h"
#include "log.h"
#include "msg.h"
#include "proto.h"
#include "provision.h"
#include "signer_fixture.h"

#define PERIOD		1440
#define ROT		720
#define N_BACKENDS	4
#define N_INTRO		2	/* per backend */
#define N_IP		(N_BACKENDS * N_INTRO)
#define BATCH		32	/* services in flight at once */
/* Per reply; HELLO_OK waits out the whole start-up (S=10000 takes
 * longer than 10 minutes here).  run.sh's BENCH_TIMEOUT bounds a run. */
#define T_MS		(4 * 3600 * 1000)
#define STOP_MS		10000

#define FMT(...)	do {						\
	if (sfx_fmt(__VA_ARGS__) != 0)					\
		die("path too long");					\
} while (0)

struct master {
	uint8_t		pk[ED25519_PK_LEN];
	char		addr[HS_ADDR_LEN + 1];
	uint8_t		bl_pk[2][ED25519_PK_LEN];
	/* Held per period, as the collector holds them (publish.c). */
	uint8_t		eph_sk[2][X25519_KEY_LEN];
	uint8_t		eph_pk[2][X25519_KEY_LEN];
};

static struct {
	char		 dir[PATH_MAX];
	char		 sock[PATH_MAX];
	char		 audit[PATH_MAX];
	char		 conf[PATH_MAX];
	char		 log[PATH_MAX];
	struct sfx_signer signer;
	uint64_t	 tp[2];
	struct sfx_backend bk[N_BACKENDS];
	struct buf	*bdesc[N_BACKENDS];	/* bk[].desc, encoded */
	struct hs_intro_point ips[N_IP];	/* all of bd's, in order */
	struct master	*m;
	size_t		 nm;
	struct msg_conn	 c;
	uint32_t	 next_id;
	double		 t_body;	/* s in hs_desc_encode_body() */
	size_t		 body_len;
	pid_t		 token_pid;	/* obhsm-p11proxyd, remote only */
	char		 token_sock[PATH_MAX];
} B;

static void die(const char *, ...)
    __attribute__((format(printf, 1, 2), noreturn));

static void
die(const char *f, ...)
{
	va_list	ap;

	va_start(ap, f);
	fprintf(stderr, "obbench: ");
	vfprintf(stderr, f, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	if (B.signer.pid > 0)
		(void)kill(B.signer.pid, SIGKILL);
	if (B.token_pid > 0)
		(void)kill(B.token_pid, SIGKILL);
	exit(1);
}

static double
now_s(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Backend b's descriptor for period tp, as a stock tor publishes it. */
static void
backend_make(size_t b, uint64_t tp, time_t now)
{
	struct sfx_backend	*bk = &B.bk[b];
	size_t			 i;

	if (sfx_backend_make(bk, tp, PERIOD, N_INTRO, 1000 + b, now) != 0 ||
	    (B.bdesc[b] = sfx_backend_desc_encode(&bk->desc, &bk->key,
	    &bk->ds_signer)) == NULL)
		die("backend descriptor");
	for (i = 0; i < N_INTRO; i++)
		B.ips[b * N_INTRO + i] = bk->desc.intro[i];
	/* Only the published descriptor is needed from here on. */
	ob_wipe(&bk->ds, sizeof(bk->ds));
	ob_wipe(bk->key.bl_sk, sizeof(bk->key.bl_sk));
}

static void
write_file(const char *path, const char *text)
{
	if (sfx_write_file(path, text, 0600) != 0)
		die("%s: %s", path, strerror(errno));
}

/*
 * Records in the audit log, all verified.  In a child: the verifier
 * reads the whole log (10 MB at S=1000), which would otherwise be
 * counted in the driver's peak RSS as if it were the collector's.
 */
static uint64_t
bench_audit_records(void)
{
	struct audit_result	res;
	uint64_t		n = 0;
	pid_t			pid;
	int			fds[2], st;

	if (access(B.audit, F_OK) != 0)
		return 0;
	if (pipe(fds) == -1 || (pid = fork()) == -1)
		die("audit check: %s", strerror(errno));
	if (pid == 0) {
		close(fds[0]);
		if (audit_verify_file(B.audit, &res) != 0) {
			fprintf(stderr, "obbench: audit log does not verify: "
			    "%s\n", audit_fault_name(res.fault));
			_exit(2);
		}
		n = res.nrecords;
		_exit(write(fds[1], &n, sizeof(n)) == (ssize_t)sizeof(n) ?
		    0 : 2);
	}
	close(fds[1]);
	if (read(fds[0], &n, sizeof(n)) != (ssize_t)sizeof(n))
		n = 0;
	close(fds[0]);
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0)
		die("audit log does not verify");
	return n;
}

/* Peak RSS of a process in KiB (VmHWM). */
static long
proc_hwm(pid_t pid)
{
	char	path[64], line[256];
	FILE	*f;
	long	v = -1;

	FMT(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmHWM: %ld", &v) == 1)
			break;
	fclose(f);
	return v;
}

/*
 * CPU seconds a process has used, every thread, from the scheduler's
 * nanosecond counts (/proc/PID/task/TID/schedstat): /proc/PID/stat
 * counts clock ticks, too coarse for a round of 2 descriptors.
 */
static double
proc_cpu(pid_t pid)
{
	char			 path[PATH_MAX];
	struct dirent		*de;
	DIR			*d;
	FILE			*f;
	unsigned long long	 ns, sum = 0;
	int			 ok = 1;

	FMT(path, sizeof(path), "/proc/%ld/task", (long)pid);
	if ((d = opendir(path)) == NULL)
		return -1;
	while (ok && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		FMT(path, sizeof(path), "/proc/%ld/task/%s/schedstat",
		    (long)pid, de->d_name);
		/* A thread that ended meanwhile is simply gone. */
		if ((f = fopen(path, "r")) == NULL)
			continue;
		ok = fscanf(f, "%llu", &ns) == 1;
		fclose(f);
		sum += ns;
	}
	closedir(d);
	return ok ? (double)sum / 1e9 : -1;
}

static double
self_cpu(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The config: every service online, the same 4 backends. */
static void
conf_write(const char *module)
{
	struct sfx_conf	 sc;
	struct buf	*t;
	const char	*backends[N_BACKENDS];
	const char	*sandbox = getenv("OBBENCH_SANDBOX");
	const char	*copies = getenv("OBBENCH_KEY_COPIES");
	char		 id[PATH_MAX];
	size_t		 i, b;

	sc = (struct sfx_conf){ .module = module, .token = "obbench",
	    .dir = B.dir, .sock = B.sock, .audit = B.audit,
	    .socket_mode = 0600, .period_len = PERIOD, .rot_offset = ROT,
	    .hsm_timeout = 0, .online_periods = 1,
	    .sandbox = sandbox != NULL ? sandbox : "kill" };
	/* The signer's key-copies (obhsm-signer(8)): "1" or "0". */
	if (copies != NULL)
		sc.key_copies = strcmp(copies, "1") == 0 ? 1 : -1;
	for (b = 0; b < N_BACKENDS; b++)
		backends[b] = B.bk[b].key.addr;
	/* The head names the module and the paths: up to a few PATH_MAX. */
	if ((t = buf_new(4 * PATH_MAX + B.nm * 600)) == NULL ||
	    sfx_conf_head(t, &sc) != 0)
		die("conf");
	for (i = 0; i < B.nm; i++) {
		FMT(id, sizeof(id), "%s/id/%zu", B.dir, i);
		if (sfx_conf_service(t, B.m[i].addr, backends, N_BACKENDS,
		    id) != 0)
			die("conf");
	}
	if (buf_put_u8(t, 0) != 0)
		die("conf");
	write_file(B.conf, (const char *)buf_ptr(t));
	buf_free(t);
}

static void
signer_start(const char *bin)
{
	int	fd;

	B.signer.bin = bin;
	B.signer.conf = B.conf;
	B.signer.log = B.log;
	B.signer.sock = B.sock;
	/* Profiling: OBBENCH_WRAP="valgrind --tool=callgrind" or
	 * "strace -c -f" runs in front of the signer (with
	 * OBBENCH_SANDBOX=off). */
	B.signer.wrap = getenv("OBBENCH_WRAP");
	/* However long the keys take: run.sh has the timeout. */
	if (sfx_signer_start(&B.signer, -1) != 0)
		die("signer did not start");
	if ((fd = sfx_connect(B.sock)) == -1)
		die("connect: %s", strerror(errno));
	if (msg_conn_init(&B.c, fd) != 0)
		die("msg_conn_init");
}

static void
signer_stop(void)
{
	int	st;

	(void)sfx_signer_reap(&B.signer, &st, STOP_MS);
}

static void
send_req(uint16_t type, struct buf *p)
{
	if (p == NULL)
		die("payload %s", msg_type_name(type));
	/* A full output queue (MSG_OUTQ_MAX): wait for the signer to
	 * take what is queued, as signer_client does. */
	if (msg_conn_send(&B.c, type, ++B.next_id, p) != 0 &&
	    (msg_conn_flush(&B.c, T_MS) != 0 ||
	    msg_conn_send(&B.c, type, B.next_id, p) != 0))
		die("msg_conn_send %s", msg_type_name(type));
	buf_free(p);
	if (msg_conn_write(&B.c) != 0)
		die("write: %s", strerror(errno));
}

/* The next reply, which must be of type want. */
static void
recv_reply(struct msg *m, uint16_t want)
{
	uint16_t	reason = 0;
	char		detail[PROTO_STR_MAX + 1] = "";

	if (msg_conn_flush(&B.c, T_MS) != 0 ||
	    msg_conn_recv(&B.c, m, T_MS) != 0)
		die("recv: %s", strerror(errno));
	if (m->type == want)
		return;
	if (m->type == PROTO_ERROR &&
	    msg_error_get(m, &reason, detail, sizeof(detail)) != 0)
		die("malformed ERROR reply");
	die("want %s, got %s %s: %s", msg_type_name(want),
	    msg_type_name(m->type), msg_reason_name(reason), detail);
}

static void
hello(void)
{
	struct msg	m;

	send_req(PROTO_HELLO, sfx_hello("obbench"));
	recv_reply(&m, PROTO_HELLO_OK);
}

static void
send_backends(size_t i)
{
	size_t	b;

	for (b = 0; b < N_BACKENDS; b++)
		send_req(PROTO_BACKEND_DESC, sfx_backend_desc_msg(B.m[i].addr,
		    B.bk[b].key.addr, B.tp[0], B.bdesc[b]));
}

static void
send_recert(size_t i, int w)
{
	send_req(PROTO_RECERTIFY, sfx_recertify_msg(B.m[i].addr, B.tp[w],
	    B.ips, N_IP));
}

static void
send_params(size_t i, int w)
{
	send_req(PROTO_DESC_PARAMS, sfx_params_msg(B.m[i].addr, B.tp[w]));
}

/* The certs RECERTIFY_OK returns, in request order. */
struct certs {
	uint8_t	c09[N_IP][HS_CERT_LEN];
	uint8_t	c0b[N_IP][HS_CERT_LEN];
};

static uint32_t
recv_recert(struct certs *ce)
{
	struct msg	m;
	uint32_t	sigs;

	recv_reply(&m, PROTO_RECERTIFY_OK);
	if (sfx_recertify_reply(&m, &sigs, B.ips, N_IP, ce->c09,
	    ce->c0b) != 0)
		die("RECERTIFY_OK");
	return sigs;
}

/* DESC_PARAMS_OK in, the master body built and SIGN_DESC sent. */
static void
params_to_sign(size_t i, int w, const struct certs *ce)
{
	struct msg	 m;
	struct buf	*body;
	uint8_t		 bl[32], spk[32], c08[HS_CERT_LEN];
	uint64_t	 rev, now;
	double		 t0;

	recv_reply(&m, PROTO_DESC_PARAMS_OK);
	if (sfx_params_reply(&m, bl, spk, &rev, &now, c08) != 0 ||
	    memcmp(bl, B.m[i].bl_pk[w], 32) != 0)
		die("DESC_PARAMS_OK");
	t0 = now_s();
	if ((body = sfx_master_body(B.m[i].pk, B.m[i].bl_pk[w], B.ips,
	    (const uint8_t (*)[HS_CERT_LEN])ce->c09,
	    (const uint8_t (*)[HS_CERT_LEN])ce->c0b, N_IP, rev, c08, NULL,
	    0, B.m[i].eph_sk[w], B.m[i].eph_pk[w])) == NULL)
		die("hs_desc_encode_body");
	B.t_body += now_s() - t0;
	B.body_len = buf_len(body);
	send_req(PROTO_SIGN_DESC, sfx_sign_msg(B.m[i].addr, B.tp[w],
	    buf_ptr(body), buf_len(body)));
	buf_free(body);
}

static void
recv_sign(void)
{
	struct msg	m;
	uint8_t		sig[64];
	uint64_t	seq;

	recv_reply(&m, PROTO_SIGN_DESC_OK);
	if (msg_get_fixed(&m, sig, 64) != 0 || msg_get_u64(&m, &seq) != 0 ||
	    msg_end(&m) != 0)
		die("SIGN_DESC_OK");
}

/*
 * One publish round over every service and both periods, BATCH services
 * in flight: what a collector does when every descriptor is due.
 */
static uint64_t
round_run(int cold)
{
	static struct certs	ce[BATCH][2];
	struct msg		m;
	size_t			i, j, n, b;
	int			w;
	uint64_t		sigs = 0;

	for (i = 0; i < B.nm; i += n) {
		n = B.nm - i < BATCH ? B.nm - i : BATCH;
		if (cold) {
			for (j = 0; j < n; j++)
				send_backends(i + j);
			for (j = 0; j < n; j++)
				for (b = 0; b < N_BACKENDS; b++)
					recv_reply(&m,
					    PROTO_BACKEND_DESC_OK);
		}
		for (j = 0; j < n; j++)
			for (w = 0; w < 2; w++)
				send_recert(i + j, w);
		for (j = 0; j < n; j++)
			for (w = 0; w < 2; w++) {
				sigs += recv_recert(&ce[j][w]);
				send_params(i + j, w);
			}
		for (j = 0; j < n; j++)
			for (w = 0; w < 2; w++)
				params_to_sign(i + j, w, &ce[j][w]);
		for (j = 0; j < n; j++)
			for (w = 0; w < 2; w++)
				recv_sign();
	}
	return sigs;
}

/* The other live period: tp - 1 early in tp, tp + 1 late. */
static uint64_t
other_live(uint64_t tp, time_t now)
{
	uint32_t	fh, lh;
	time_t		ws, we;

	if (provision_window(tp + 1, PERIOD, ROT, &fh, &lh, &ws, &we) == 0 &&
	    now >= ws + 120)
		return tp + 1;
	return tp - 1;
}

static void
setup_token(void)
{
	char	conf[PATH_MAX];

	if (getenv("OBBENCH_DIR") != NULL)
		FMT(B.dir, sizeof(B.dir), "%s", getenv("OBBENCH_DIR"));
	else
		die("OBBENCH_DIR not set");
	if (sfx_token_init(B.dir, "obbench", conf, sizeof(conf)) != 0)
		die("token in %s", B.dir);
	if (setenv("SOFTHSM2_CONF", conf, 1) != 0)
		die("setenv");
}

/*
 * The module the token is reached through: SoftHSM (or OBBENCH_MODULE)
 * in the process that loads it, or, with OBBENCH_TOKEN=remote, the
 * proxy's client module and a token server started here, which loads
 * the real module with this process's SOFTHSM2_CONF.  The server's
 * socket appears once it listens; 60 s bounds the wait for it.
 */
static const char *
token_module(void)
{
	const char	*real, *mode, *srv, *cli;
	char		 dir[PATH_MAX];
	double		 end;
	int		 st;

	real = getenv("OBBENCH_MODULE") != NULL ?
	    getenv("OBBENCH_MODULE") : "/usr/lib/softhsm/libsofthsm2.so";
	if ((mode = getenv("OBBENCH_TOKEN")) == NULL ||
	    strcmp(mode, "local") == 0)
		return real;
	if (strcmp(mode, "remote") != 0)
		die("OBBENCH_TOKEN: local or remote, not %s", mode);
	if ((srv = getenv("OBBENCH_P11PROXYD")) == NULL ||
	    (cli = getenv("OBBENCH_P11PROXY")) == NULL)
		die("OBBENCH_TOKEN=remote needs OBBENCH_P11PROXYD and "
		    "OBBENCH_P11PROXY");
	FMT(dir, sizeof(dir), "%s/p11proxy", B.dir);
	FMT(B.token_sock, sizeof(B.token_sock), "%s/sock", dir);
	if (mkdir(dir, 0700) != 0)
		die("%s: %s", dir, strerror(errno));
	if ((B.token_pid = fork()) == -1)
		die("fork: %s", strerror(errno));
	if (B.token_pid == 0) {
		execl(srv, "obhsm-p11proxyd", real, B.token_sock,
		    (char *)NULL);
		fprintf(stderr, "obbench: %s: %s\n", srv, strerror(errno));
		_exit(127);
	}
	end = now_s() + 60;
	while (access(B.token_sock, F_OK) != 0) {
		if (waitpid(B.token_pid, &st, WNOHANG) == B.token_pid) {
			B.token_pid = 0;
			die("token server did not start");
		}
		if (now_s() > end)
			die("token server: no socket after 60 s");
		usleep(10000);
	}
	if (setenv("OBHSM_P11PROXY_SOCKET", B.token_sock, 1) != 0)
		die("setenv");
	return cli;
}

static void
token_stop(void)
{
	int	st;

	if (B.token_pid <= 0)
		return;
	(void)kill(B.token_pid, SIGTERM);
	(void)waitpid(B.token_pid, &st, 0);
	B.token_pid = 0;
}

/* CPU of the token server so far; 0 when the token is in the signer. */
static double
token_cpu(void)
{
	return B.token_pid > 0 ? proc_cpu(B.token_pid) : 0;
}

/*
 * Every thread of pid (0: this process) onto one CPU: the first this
 * process may run on (CPU 0 may be outside its cpuset).  A thread that
 * exits between readdir and sched_setaffinity (ESRCH) needs no pinning.
 */
static void
pin_cpu0(pid_t pid)
{
	char		 path[64];
	struct dirent	*de;
	cpu_set_t	 set, mine;
	DIR		*d;
	int		 cpu;

	if (sched_getaffinity(0, sizeof(mine), &mine) != 0)
		die("sched_getaffinity: %s", strerror(errno));
	for (cpu = 0; cpu < CPU_SETSIZE && !CPU_ISSET(cpu, &mine); cpu++)
		;
	if (cpu == CPU_SETSIZE)
		die("sched_getaffinity: no CPU");
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (pid == 0) {
		if (sched_setaffinity(0, sizeof(set), &set) != 0)
			die("sched_setaffinity: %s", strerror(errno));
		return;
	}
	FMT(path, sizeof(path), "/proc/%ld/task", (long)pid);
	if ((d = opendir(path)) == NULL)
		die("%s: %s", path, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (sched_setaffinity((pid_t)strtol(de->d_name, NULL, 10),
		    sizeof(set), &set) != 0 && errno != ESRCH)
			die("sched_setaffinity %s: %s", de->d_name,
			    strerror(errno));
	}
	closedir(d);
}

struct steady {
	double		t, signer_cpu, driver_cpu, token_cpu, body;
	uint64_t	sigs;
};

/*
 * Steady state: republish with the same intro set.  The revision
 * counter moves once a second per period, so a round starts at least
 * 1.1 s after the previous one ended (a slow round, as under a
 * profiler, must not meet its own last second); only busy time is
 * counted.
 */
static void
steady_run(unsigned rounds, struct steady *st)
{
	double		t0, t_last, sc0, dc0, tc0;
	unsigned	r;

	memset(st, 0, sizeof(*st));
	t_last = now_s();
	for (r = 0; r < rounds; r++) {
		double	wait = t_last + 1.1 - now_s();

		if (wait > 0) {
			struct timespec	ts;

			ts.tv_sec = (time_t)wait;
			ts.tv_nsec = (long)((wait - (double)ts.tv_sec) * 1e9);
			nanosleep(&ts, NULL);
		}
		t0 = now_s();
		sc0 = proc_cpu(B.signer.pid);
		tc0 = token_cpu();
		dc0 = self_cpu();
		B.t_body = 0;
		st->sigs += round_run(0);
		t_last = now_s();
		st->t += t_last - t0;
		st->signer_cpu += proc_cpu(B.signer.pid) - sc0;
		st->token_cpu += token_cpu() - tc0;
		st->driver_cpu += self_cpu() - dc0;
		st->body += B.t_body;
	}
}

static int
bench_desc(const char *bin, size_t s, unsigned rounds)
{
	struct rusage	ru;
	char		path[PATH_MAX];
	const char	*module;
	time_t		now = time(NULL);
	struct steady	st, st1;
	double		t0, t_start, t_cold;
	double		sc0, sc1, dc0, dc1, tc0, tc1;
	uint64_t	a0, a1, a2, rsig;
	long		hwm_cold;
	size_t		i, b;

	setup_token();
	module = token_module();
	FMT(B.sock, sizeof(B.sock), "%s/signer.sock", B.dir);
	FMT(B.audit, sizeof(B.audit), "%s/state/audit.log", B.dir);
	FMT(B.conf, sizeof(B.conf), "%s/signer.conf", B.dir);
	FMT(B.log, sizeof(B.log), "%s/signer.log", B.dir);
	FMT(path, sizeof(path), "%s/state", B.dir);
	if (mkdir(path, 0700) != 0)
		die("%s", path);
	FMT(path, sizeof(path), "%s/id", B.dir);
	if (mkdir(path, 0700) != 0)
		die("%s", path);
	B.tp[0] = hs_time_period(now, PERIOD, ROT);
	B.tp[1] = other_live(B.tp[0], now);
	for (b = 0; b < N_BACKENDS; b++)
		backend_make(b, B.tp[0], now);
	B.nm = s;
	if ((B.m = calloc(s, sizeof(*B.m))) == NULL)
		die("calloc");
	for (i = 0; i < s; i++) {
		struct sfx_key	k;

		if (sfx_key_make(&k, 0, 0) != 0)
			die("key_make");
		memcpy(B.m[i].pk, k.pk, 32);
		memcpy(B.m[i].addr, k.addr, sizeof(k.addr));
		if (hs_blind_pubkey(B.m[i].bl_pk[0], k.pk, B.tp[0],
		    PERIOD) != 0 || hs_blind_pubkey(B.m[i].bl_pk[1], k.pk,
		    B.tp[1], PERIOD) != 0)
			die("blind");
		if (hs_desc_auth_keypair(B.m[i].eph_sk[0],
		    B.m[i].eph_pk[0]) != 0 ||
		    hs_desc_auth_keypair(B.m[i].eph_sk[1],
		    B.m[i].eph_pk[1]) != 0)
			die("auth ephemeral key");
		FMT(path, sizeof(path), "%s/id/%zu", B.dir, i);
		if (sfx_identity_write(path, &k) != 0)
			die("identity %s", path);
		ob_wipe(&k, sizeof(k));
	}
	conf_write(module);

	t0 = now_s();
	signer_start(bin);
	/* The socket listens before the keys are loaded and generated:
	 * HELLO_OK is the signer's first answer, so it ends the start. */
	hello();
	t_start = now_s() - t0;

	a0 = bench_audit_records();
	sc0 = proc_cpu(B.signer.pid);
	tc0 = token_cpu();
	dc0 = self_cpu();
	t0 = now_s();
	rsig = round_run(1);
	t_cold = now_s() - t0;
	sc1 = proc_cpu(B.signer.pid);
	tc1 = token_cpu();
	dc1 = self_cpu();
	a1 = bench_audit_records();
	hwm_cold = proc_hwm(B.signer.pid);
	printf("services %zu\n", s);
	printf("token_remote %d\n", B.token_pid > 0);
	printf("descriptor_bytes %zu\n", B.body_len);
	printf("signer_start_s %.3f\n", t_start);
	/* CPU (user + system) the signer spent starting: load on the
	 * machine does not inflate it as it does t_start. */
	printf("signer_start_cpu_s %.4f\n", sc0);
	printf("token_start_cpu_s %.4f\n", tc0);
	printf("cold_desc %zu\n", 2 * s);
	printf("cold_s %.4f\n", t_cold);
	printf("cold_sigs %" PRIu64 "\n", a1 - a0);
	printf("cold_recert_sigs %" PRIu64 "\n", rsig);
	printf("cold_signer_hwm_kb %ld\n", hwm_cold);
	printf("cold_signer_cpu_s %.4f\n", sc1 - sc0);
	printf("cold_driver_cpu_s %.4f\n", dc1 - dc0);
	printf("cold_token_cpu_s %.4f\n", tc1 - tc0);
	fflush(stdout);

	steady_run(rounds, &st);
	rsig += st.sigs;
	a2 = bench_audit_records();
	getrusage(RUSAGE_SELF, &ru);
	printf("steady_desc %zu\n", 2 * s * rounds);
	printf("steady_s %.4f\n", st.t);
	printf("steady_sigs %" PRIu64 "\n", a2 - a1);
	printf("steady_body_s %.4f\n", st.body);
	printf("steady_signer_cpu_s %.4f\n", st.signer_cpu);
	printf("steady_driver_cpu_s %.4f\n", st.driver_cpu);
	printf("steady_token_cpu_s %.4f\n", st.token_cpu);
	printf("signer_hwm_kb %ld\n", proc_hwm(B.signer.pid));
	printf("driver_hwm_kb %ld\n", ru.ru_maxrss);
	printf("token_hwm_kb %ld\n", B.token_pid > 0 ?
	    proc_hwm(B.token_pid) : 0L);
	fflush(stdout);
	/* The same rounds on one core, after the memory peaks are read. */
	if (getenv("OBBENCH_ONECORE") != NULL &&
	    strcmp(getenv("OBBENCH_ONECORE"), "1") == 0) {
		pin_cpu0(0);
		pin_cpu0(B.signer.pid);
		if (B.token_pid > 0)
			pin_cpu0(B.token_pid);
		steady_run(rounds, &st1);
		printf("steady1_desc %zu\n", 2 * s * rounds);
		printf("steady1_s %.4f\n", st1.t);
		printf("steady1_signer_cpu_s %.4f\n", st1.signer_cpu);
		printf("steady1_driver_cpu_s %.4f\n", st1.driver_cpu);
		printf("steady1_token_cpu_s %.4f\n", st1.token_cpu);
	}
	close(B.c.fd);
	msg_conn_clear(&B.c);
	signer_stop();
	token_stop();
	for (b = 0; b < N_BACKENDS; b++) {
		buf_free(B.bdesc[b]);
		hs_desc_clear(&B.bk[b].desc);
	}
	free(B.m);
	return 0;
}

/* Raw CKM_EDDSA C_Sign on a fresh key of the same kind of token. */
static int
bench_raw(double secs, size_t len)
{
	struct hsm_config	 hc;
	struct hsm		*h;
	struct hsm_key		 k;
	char			 pin[PATH_MAX];
	uint8_t			 sig[64], *msg;
	double			 t0, t;
	unsigned long		 n = 0;

	setup_token();
	FMT(pin, sizeof(pin), "file:%s/pin", B.dir);
	memset(&hc, 0, sizeof(hc));
	hc.module = token_module();
	hc.uri = "pkcs11:token=obbench";
	hc.pin_source = pin;
	/* As the signer will sign: copies only with OBBENCH_KEY_COPIES=1. */
	hc.no_key_copies = getenv("OBBENCH_KEY_COPIES") == NULL ||
	    strcmp(getenv("OBBENCH_KEY_COPIES"), "1") != 0;
	hc.copy_check_s = 60;
	if ((msg = calloc(1, len)) == NULL || ob_random(msg, len) != 0)
		die("msg");
	if ((h = hsm_new(&hc)) == NULL || hsm_open(h) != 0 ||
	    hsm_key_generate(h, &k, "obbench-raw", "r", 1) != 0)
		die("token: %s", h != NULL ? hsm_last_error(h) : "hsm_new");
	t0 = now_s();
	do {
		if (hsm_key_sign(h, &k, sig, msg, len) != 0)
			die("sign: %s", hsm_last_error(h));
		n++;
	} while ((t = now_s() - t0) < secs);
	printf("raw_sigs %lu\nraw_s %.4f\nraw_len %zu\n", n, t, len);
	hsm_free(h);
	token_stop();
	free(msg);
	return 0;
}

/*
 * run.sh's timeout, ^C, or a reader that went away (obbench ... | head):
 * never leave a signer or token server behind.
 */
static void
bench_sigterm(int sig)
{
	if (B.signer.pid > 0)
		(void)kill(B.signer.pid, SIGKILL);
	if (B.token_pid > 0)
		(void)kill(B.token_pid, SIGKILL);
	_exit(128 + sig);
}

int
main(int argc, char **argv)
{
	struct sigaction	sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = bench_sigterm;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) == -1 ||
	    sigaction(SIGINT, &sa, NULL) == -1 ||
	    sigaction(SIGHUP, &sa, NULL) == -1 ||
	    sigaction(SIGPIPE, &sa, NULL) == -1)
		die("sigaction");
	log_init("obbench", 1, 0);
	/* As the collector does: algorithms fetched once, not per hash. */
	if (ob_crypto_init() != 0)
		die("crypto init");
	if (argc == 5 && strcmp(argv[1], "desc") == 0)
		return bench_desc(argv[2], strtoul(argv[3], NULL, 10),
		    (unsigned)strtoul(argv[4], NULL, 10));
	if (argc == 4 && strcmp(argv[1], "raw") == 0)
		return bench_raw(strtod(argv[2], NULL),
		    strtoul(argv[3], NULL, 10));
	fprintf(stderr, "usage: obbench desc SIGNER S ROUNDS | "
	    "obbench raw SECONDS LEN\n");
	return 2;
}
