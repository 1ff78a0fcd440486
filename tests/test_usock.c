/*
 * Tests for common/usock.c: the daemons' listening Unix sockets.  A stale
 * socket is replaced, anything else at the path is refused and kept, the
 * mode holds from the start, root hands the socket to the peer's uid.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "tests.h"
#include "usock.h"

static void
path_make(char *out, size_t len, const char *name)
{
	int	n;

	n = snprintf(out, len, "%s/%s", test_tmpdir(), name);
	CU_ASSERT_FATAL(n > 0 && (size_t)n < len);
}

/* 0 if a client can connect to path. */
static int
try_connect(const char *path)
{
	struct sockaddr_un	sun;
	int			fd, r;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	CU_ASSERT_FATAL(strlen(path) < sizeof(sun.sun_path));
	memcpy(sun.sun_path, path, strlen(path));
	CU_ASSERT_FATAL((fd = socket(AF_UNIX, SOCK_STREAM, 0)) != -1);
	r = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	close(fd);
	return r;
}

static void
test_usock_listen(void)
{
	char		path[PATH_MAX];
	struct stat	st;
	int		fd, fl;

	path_make(path, sizeof(path), "usock.sock");
	CU_ASSERT_FATAL((fd = usock_listen(path, 0600, (uid_t)-1,
	    (gid_t)-1)) != -1);
	CU_ASSERT_FATAL(lstat(path, &st) == 0);
	CU_ASSERT(S_ISSOCK(st.st_mode));
	CU_ASSERT((st.st_mode & 07777) == 0600);
	CU_ASSERT((fl = fcntl(fd, F_GETFL)) != -1 && (fl & O_NONBLOCK));
	CU_ASSERT((fl = fcntl(fd, F_GETFD)) != -1 && (fl & FD_CLOEXEC));
	CU_ASSERT(try_connect(path) == 0);

	/* The daemon died without unlinking: its socket is stale now, and
	 * the next start replaces it, with the new mode (wider than the
	 * umask would give: the mode is exact). */
	close(fd);
	CU_ASSERT(try_connect(path) == -1 && errno == ECONNREFUSED);
	CU_ASSERT_FATAL((fd = usock_listen(path, 0666, (uid_t)-1,
	    (gid_t)-1)) != -1);
	CU_ASSERT_FATAL(lstat(path, &st) == 0);
	CU_ASSERT((st.st_mode & 07777) == 0666);
	CU_ASSERT(try_connect(path) == 0);
	close(fd);
	CU_ASSERT(unlink(path) == 0);
}

static void
test_usock_refuse(void)
{
	char		path[PATH_MAX], dir[PATH_MAX], target[PATH_MAX];
	char		lng[sizeof(((struct sockaddr_un *)0)->sun_path) + 8];
	struct stat	st;
	FILE		*f;

	/* A regular file (a mistyped path, say) is never removed. */
	path_make(path, sizeof(path), "usock.file");
	CU_ASSERT_FATAL((f = fopen(path, "w")) != NULL);
	CU_ASSERT(fputs("keep\n", f) >= 0);
	CU_ASSERT(fclose(f) == 0);
	CU_ASSERT(usock_listen(path, 0600, (uid_t)-1, (gid_t)-1) == -1);
	CU_ASSERT(lstat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    st.st_size == 5);
	CU_ASSERT(unlink(path) == 0);

	/* Nor a directory, nor a symbolic link (even to a socket). */
	path_make(dir, sizeof(dir), "usock.dir");
	CU_ASSERT_FATAL(mkdir(dir, 0700) == 0);
	CU_ASSERT(usock_listen(dir, 0600, (uid_t)-1, (gid_t)-1) == -1);
	CU_ASSERT(lstat(dir, &st) == 0 && S_ISDIR(st.st_mode));
	CU_ASSERT(rmdir(dir) == 0);
	path_make(target, sizeof(target), "usock.target");
	path_make(path, sizeof(path), "usock.link");
	CU_ASSERT(symlink(target, path) == 0);
	CU_ASSERT(usock_listen(path, 0600, (uid_t)-1, (gid_t)-1) == -1);
	CU_ASSERT(lstat(path, &st) == 0 && S_ISLNK(st.st_mode));
	CU_ASSERT(unlink(path) == 0);

	/* No path, an empty one, one longer than sun_path holds, one in a
	 * directory that does not exist. */
	CU_ASSERT(usock_listen(NULL, 0600, (uid_t)-1, (gid_t)-1) == -1);
	CU_ASSERT(usock_listen("", 0600, (uid_t)-1, (gid_t)-1) == -1);
	memset(lng, 'a', sizeof(lng) - 1);
	lng[0] = '/';
	lng[sizeof(lng) - 1] = '\0';
	CU_ASSERT(usock_listen(lng, 0600, (uid_t)-1, (gid_t)-1) == -1);
	path_make(path, sizeof(path), "no-such-dir/usock.sock");
	CU_ASSERT(usock_listen(path, 0600, (uid_t)-1, (gid_t)-1) == -1);
}

/* As root, the socket goes to the peer's uid:gid (the signer's socket
 * to the collector's user). */
static void
test_usock_owner(void)
{
	char		path[PATH_MAX];
	struct stat	st;
	int		fd;

	if (geteuid() != 0)
		TEST_SKIP("needs root to give the socket away");
	path_make(path, sizeof(path), "usock.owned");
	CU_ASSERT_FATAL((fd = usock_listen(path, 0660, 65534, 65533)) != -1);
	CU_ASSERT(lstat(path, &st) == 0 && st.st_uid == 65534 &&
	    st.st_gid == 65533 && (st.st_mode & 07777) == 0660);
	close(fd);
	/* (gid_t)-1 keeps the group. */
	CU_ASSERT_FATAL((fd = usock_listen(path, 0600, 65534,
	    (gid_t)-1)) != -1);
	CU_ASSERT(lstat(path, &st) == 0 && st.st_uid == 65534 &&
	    st.st_gid == getegid());
	close(fd);
	CU_ASSERT(unlink(path) == 0);
}

static const struct test_case usock_tests[] = {
	{ "listen",	test_usock_listen },
	{ "refuse",	test_usock_refuse },
	{ "owner",	test_usock_owner },
	{ NULL, NULL }
};

void
test_register_usock(void)
{
	test_add_suite("usock", usock_tests);
}
