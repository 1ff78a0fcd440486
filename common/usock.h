/*
 * The listening Unix stream sockets of the daemons (the signer's socket,
 * the collector's status socket): one place that decides what may be
 * removed at the path and with which permissions the socket appears.
 */
#ifndef OB_USOCK_H
#define OB_USOCK_H

#include <sys/types.h>

/*
 * Listen on path (non-blocking, close-on-exec); the descriptor, or -1
 * (logged).  A socket already at path is taken as stale (a crashed
 * daemon's) and removed; anything else there is refused and left alone.
 * The socket is created with permissions mode, never wider even for a
 * moment.  When running as root it is then given to uid:gid ((uid_t)-1
 * or (gid_t)-1 keeps that part), so that an unprivileged peer can
 * connect; who may talk is still the daemon's check on each connection.
 */
int	usock_listen(const char *path, mode_t mode, uid_t uid, gid_t gid)
	    __attribute__((warn_unused_result));

#endif /* OB_USOCK_H */
