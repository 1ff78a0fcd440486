/* Unix socket listening shared by the daemons; see usock.h. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "usock.h"

int
usock_listen(const char *path, mode_t mode, uid_t uid, gid_t gid)
{
	struct sockaddr_un	sun;
	struct stat		st;
	mode_t			old;
	int			fd = -1, bound = 0;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (path == NULL || *path == '\0' ||
	    strlen(path) >= sizeof(sun.sun_path)) {
		log_warnx("%s: socket path missing or too long", __func__);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path));
	/* Remove a stale socket, never anything else. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			log_warnx("%s: %s exists and is not a socket",
			    __func__, path);
			return -1;
		}
		if (unlink(path) == -1) {
			log_warn("%s: unlink %s", __func__, path);
			return -1;
		}
	} else if (errno != ENOENT) {
		log_warn("%s: %s", __func__, path);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		log_warn("%s: socket", __func__);
		return -1;
	}
	/* bind() creates the file: the umask gives it mode from the start,
	 * where a chmod() afterwards would leave a window. */
	old = umask(~mode & 0777);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		umask(old);
		log_warn("%s: bind %s", __func__, path);
		goto err;
	}
	umask(old);
	bound = 1;
	if (geteuid() == 0 && (uid != (uid_t)-1 || gid != (gid_t)-1) &&
	    chown(path, uid, gid) == -1) {
		log_warn("%s: chown %s", __func__, path);
		goto err;
	}
	if (listen(fd, 16) == -1) {
		log_warn("%s: listen %s", __func__, path);
		goto err;
	}
	return fd;
 err:
	if (bound)
		(void)unlink(path);
	close(fd);
	return -1;
}
