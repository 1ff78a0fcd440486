/* Privilege drop, limits and seccomp; see sandbox.h for the order. */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stddef.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <seccomp.h>

#include "log.h"
#include "sandbox.h"

int
sandbox_check_dir(const char *dir, uid_t uid, int group_ok)
{
	struct stat	st;

	if (stat(dir, &st) == -1) {
		log_warn("%s: %s", __func__, dir);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		log_warnx("%s: %s is not a directory", __func__, dir);
		return -1;
	}
	if (st.st_uid != uid && st.st_uid != 0) {
		log_warnx("%s: %s is owned by uid %lu, expected %lu or root",
		    __func__, dir, (unsigned long)st.st_uid,
		    (unsigned long)uid);
		return -1;
	}
	if ((st.st_mode & S_IWOTH) || (!group_ok && (st.st_mode & S_IWGRP))) {
		log_warnx("%s: %s is writable by %s (mode %03o)", __func__,
		    dir, (st.st_mode & S_IWOTH) ? "anyone" : "its group",
		    (unsigned)(st.st_mode & 0777));
		return -1;
	}
	return 0;
}

int
sandbox_user(const char *user, uid_t *uid, gid_t *gid)
{
	struct passwd	*pw;

	errno = 0;
	if ((pw = getpwnam(user)) == NULL) {
		if (errno != 0)
			log_warn("%s: getpwnam %s", __func__, user);
		else
			log_warnx("%s: no such user %s", __func__, user);
		return -1;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

int
sandbox_drop(const char *user)
{
	uid_t	uid;
	gid_t	gid;

	if (geteuid() != 0)
		return 0;
	if (user == NULL) {
		/* Allowed (containers, tests), but never quietly. */
		log_warnx("%s: running as root: no user configured to drop "
		    "to", __func__);
		return 0;
	}
	if (sandbox_user(user, &uid, &gid) == -1)
		return -1;
	if (uid == 0) {
		log_warnx("%s: user %s is root", __func__, user);
		return -1;
	}
	if (setgroups(1, &gid) == -1 ||
	    setresgid(gid, gid, gid) == -1 ||
	    setresuid(uid, uid, uid) == -1) {
		log_warn("%s: dropping to %s", __func__, user);
		return -1;
	}
	/* Paranoia: the drop must be permanent. */
	if (setuid(0) != -1 || seteuid(0) != -1 || getuid() != uid ||
	    geteuid() != uid || getgid() != gid || getegid() != gid) {
		log_warnx("%s: privileges could be regained", __func__);
		return -1;
	}
	return 0;
}

int
sandbox_limits(unsigned nofile)
{
	struct rlimit	rl;

	rl.rlim_cur = rl.rlim_max = 0;
	if (setrlimit(RLIMIT_CORE, &rl) == -1) {
		log_warn("%s: RLIMIT_CORE", __func__);
		return -1;
	}
	/* No core files and no ptrace by the same uid: memory holds keys. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1) {
		log_warn("%s: PR_SET_DUMPABLE", __func__);
		return -1;
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
		log_warn("%s: getrlimit", __func__);
		return -1;
	}
	if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max > nofile) {
		rl.rlim_cur = rl.rlim_max = nofile;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1) {
			log_warn("%s: RLIMIT_NOFILE", __func__);
			return -1;
		}
	}
	return 0;
}

/*
 * What both loops need: memory, time, poll, I/O on descriptors they
 * hold, signals, threads (the HSM watchdog; libcrypto), and exiting.
 * Sanitizer builds need a few more (they are harmless in production).
 */
static const int sandbox_common[] = {
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
	SCMP_SYS(pread64), SCMP_SYS(pwrite64), SCMP_SYS(close),
	SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(fcntl), SCMP_SYS(lseek),
	SCMP_SYS(fstat), SCMP_SYS(newfstatat), SCMP_SYS(statx),
	SCMP_SYS(brk), SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap),
	SCMP_SYS(mprotect), SCMP_SYS(madvise), SCMP_SYS(mlock),
	SCMP_SYS(munlock), SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday),
	SCMP_SYS(time), SCMP_SYS(nanosleep), SCMP_SYS(clock_nanosleep),
	SCMP_SYS(getrandom), SCMP_SYS(futex), SCMP_SYS(set_robust_list),
	SCMP_SYS(rseq), SCMP_SYS(clone), SCMP_SYS(clone3),
	SCMP_SYS(sched_yield), SCMP_SYS(sched_getaffinity),
	SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask),
	SCMP_SYS(rt_sigreturn), SCMP_SYS(sigaltstack), SCMP_SYS(getpid),
	SCMP_SYS(gettid), SCMP_SYS(getuid), SCMP_SYS(geteuid),
	SCMP_SYS(getgid), SCMP_SYS(getegid), SCMP_SYS(tgkill),
	SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(restart_syscall),
	SCMP_SYS(sendto), SCMP_SYS(connect), SCMP_SYS(socket),
	SCMP_SYS(getsockopt), SCMP_SYS(prctl), SCMP_SYS(dup), SCMP_SYS(dup3),
	SCMP_SYS(pipe2), SCMP_SYS(sysinfo), SCMP_SYS(getrusage),
	SCMP_SYS(prlimit64), SCMP_SYS(readlink), SCMP_SYS(uname),
	SCMP_SYS(ioctl), SCMP_SYS(shutdown), SCMP_SYS(recvfrom),
};

/*
 * The signer: accepts collectors, and its files: revision floors (temp
 * file, fsync, rename), the audit log, the provisioned store on SIGHUP,
 * and the PKCS#11 module's own token files and locks (SoftHSM keeps
 * objects in files under its token directory).
 */
static const int sandbox_signer[] = {
	SCMP_SYS(accept), SCMP_SYS(accept4), SCMP_SYS(openat),
	SCMP_SYS(open), SCMP_SYS(rename), SCMP_SYS(renameat),
	SCMP_SYS(renameat2), SCMP_SYS(unlink), SCMP_SYS(unlinkat),
	SCMP_SYS(fsync), SCMP_SYS(fdatasync), SCMP_SYS(ftruncate),
	SCMP_SYS(flock), SCMP_SYS(getdents64), SCMP_SYS(mkdir),
	SCMP_SYS(mkdirat), SCMP_SYS(fchmod), SCMP_SYS(umask),
	SCMP_SYS(access), SCMP_SYS(faccessat), SCMP_SYS(faccessat2),
	SCMP_SYS(stat), SCMP_SYS(lstat), SCMP_SYS(getcwd),
};

static const int sandbox_collector[] = {
	SCMP_SYS(accept), SCMP_SYS(accept4), SCMP_SYS(openat),
	SCMP_SYS(bind), SCMP_SYS(listen), SCMP_SYS(setsockopt),
	SCMP_SYS(getsockname), SCMP_SYS(getpeername), SCMP_SYS(sendmsg),
	SCMP_SYS(recvmsg), SCMP_SYS(rename), SCMP_SYS(renameat),
	SCMP_SYS(unlink), SCMP_SYS(unlinkat), SCMP_SYS(fsync),
};

const char *
sandbox_mode_name(enum sandbox_mode m)
{
	switch (m) {
	case SANDBOX_OFF:	return "off";
	case SANDBOX_KILL:	return "kill";
	case SANDBOX_ERRNO:	return "errno";
	}
	return "unknown";
}

static int
sandbox_add(scmp_filter_ctx ctx, const int *list, size_t n)
{
	size_t	i;
	int	r;

	for (i = 0; i < n; i++) {
		/* A negative number is a syscall this arch does not have. */
		if (list[i] < 0)
			continue;
		if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, list[i], 0)) !=
		    0) {
			log_warnx("%s: rule for syscall %d: %s", __func__,
			    list[i], strerror(-r));
			return -1;
		}
	}
	return 0;
}

int
sandbox_enter(enum sandbox_profile prof, enum sandbox_mode mode)
{
	scmp_filter_ctx	ctx;
	uint32_t	def;
	int		r;

	if (mode == SANDBOX_OFF) {
		log_info("%s: seccomp disabled by configuration", __func__);
		return 0;
	}
	def = mode == SANDBOX_KILL ? SCMP_ACT_KILL_PROCESS :
	    SCMP_ACT_ERRNO(EPERM);
	if ((ctx = seccomp_init(def)) == NULL) {
		log_warnx("%s: seccomp_init failed", __func__);
		return -1;
	}
	if (sandbox_add(ctx, sandbox_common, sizeof(sandbox_common) /
	    sizeof(sandbox_common[0])) == -1)
		goto err;
	if (prof == SANDBOX_SIGNER && sandbox_add(ctx, sandbox_signer,
	    sizeof(sandbox_signer) / sizeof(sandbox_signer[0])) == -1)
		goto err;
	if (prof == SANDBOX_COLLECTOR && sandbox_add(ctx, sandbox_collector,
	    sizeof(sandbox_collector) / sizeof(sandbox_collector[0])) == -1)
		goto err;
	/*
	 * Every thread, not only this one: the signer's HSM watchdog thread
	 * (started with the token, before this filter) makes every PKCS#11
	 * call, the module code the filter is most needed for.
	 */
	if ((r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) != 0) {
		log_warnx("%s: cannot filter every thread: %s", __func__,
		    strerror(-r));
		goto err;
	}
	/* seccomp_load sets no_new_privs (SCMP_FLTATR_CTL_NNP defaults on). */
	if ((r = seccomp_load(ctx)) != 0) {
		log_warnx("%s: seccomp_load: %s", __func__, strerror(-r));
		goto err;
	}
	seccomp_release(ctx);
	return 0;
 err:
	seccomp_release(ctx);
	return -1;
}
