/*
 * Privilege separation steps shared by the daemons, meant to be called
 * in this order, once, after start-up (STYLE.md "Privilege and sandbox"):
 *
 *	sandbox_check_dir()	each directory the daemon writes is owned
 *				by it (or root) and not writable by others
 *	sandbox_drop()		setgroups, setresgid, setresuid to a user
 *				(only when running as root), verified
 *	sandbox_limits()	no core dumps, not dumpable, a file cap
 *	sandbox_enter()		seccomp (libseccomp) allow-list for the
 *				process's profile, with no_new_privs
 *
 * All return 0 or -1 (logged).
 */
#ifndef OB_SANDBOX_H
#define OB_SANDBOX_H

/*
 * Put SANDBOX_SANITIZER_HOOK once at file scope in a daemon's main file.
 * In ASan builds, LeakSanitizer's exit-time check stops the process with
 * a ptrace'ing helper that the seccomp filter forbids, and the process
 * then spins forever instead of exiting.  The hook keeps ASan and UBSan
 * and turns only the leak check off, in the daemons (not in tests/runner).
 */
#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_SANITIZER_HOOK						\
	const char *__asan_default_options(void);			\
	const char *__asan_default_options(void)			\
	{								\
		return "detect_leaks=0";				\
	}
#else
#define SANDBOX_SANITIZER_HOOK
#endif

#include <sys/types.h>

enum sandbox_profile {
	SANDBOX_SIGNER = 1,	/* poll loop, files in its state dir, token */
	SANDBOX_COLLECTOR,	/* poll loop, sockets to tor and the signer */
};

enum sandbox_mode {
	SANDBOX_OFF = 0,	/* no filter (debugging) */
	SANDBOX_KILL,		/* a syscall outside the list kills us */
	SANDBOX_ERRNO,		/* ...fails with EPERM instead */
};

/*
 * dir must exist, be a directory, be owned by uid or root, and not be
 * writable by group or others unless group_ok (then group writable is
 * allowed, others never).
 */
int	sandbox_check_dir(const char *dir, uid_t uid, int group_ok)
	    __attribute__((warn_unused_result));
/* Look up user; fills uid/gid.  -1 if unknown. */
int	sandbox_user(const char *user, uid_t *, gid_t *)
	    __attribute__((warn_unused_result));
/* Drop to user if euid is 0 (else a no-op), then check that regaining
 * root fails.  Root without a user stays root, with a warning. */
int	sandbox_drop(const char *user) __attribute__((warn_unused_result));
/* RLIMIT_CORE 0, PR_SET_DUMPABLE 0, RLIMIT_NOFILE to nofile. */
int	sandbox_limits(unsigned nofile) __attribute__((warn_unused_result));
int	sandbox_enter(enum sandbox_profile, enum sandbox_mode)
	    __attribute__((warn_unused_result));
const char *sandbox_mode_name(enum sandbox_mode);

#endif /* OB_SANDBOX_H */
