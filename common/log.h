/*
 * Logging in the style of OpenBSD's log.c.
 *
 * log_warn() appends strerror(errno); log_warnx() does not.  fatal() and
 * fatalx() are for broken invariants and a misbehaving peer process only,
 * never for bad input.  Messages start with the function name.
 */
#ifndef OB_LOG_H
#define OB_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <time.h>

void	log_init(const char *progname, int verbose, int use_syslog);
void	log_setverbose(int);
int	log_getverbose(void);
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
/* A time for operators' messages: "2026-11-22 23:04 UTC" ("@<epoch>" if
 * it cannot be formatted). */
void	log_fmt_time(char *, size_t, time_t);

#endif /* OB_LOG_H */
