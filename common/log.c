/* Logging to stderr or syslog; see log.h. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static const char	*log_prog = "obhsm";
static int		 log_verbose;
static int		 log_syslog;

void
log_init(const char *progname, int verbose, int use_syslog)
{
	log_prog = progname;
	log_verbose = verbose;
	log_syslog = use_syslog;
	if (use_syslog)
		openlog(progname, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	tzset();
}

void
log_setverbose(int v)
{
	log_verbose = v;
}

int
log_getverbose(void)
{
	return log_verbose;
}

static void vlog(int, const char *, va_list, const char *)
    __attribute__((format(printf, 2, 0)));

static void
vlog(int pri, const char *fmt, va_list ap, const char *suffix)
{
	char	msg[2048];

	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_syslog) {
		if (suffix != NULL)
			syslog(pri, "%s: %s", msg, suffix);
		else
			syslog(pri, "%s", msg);
		return;
	}
	/* A log file (not a terminal) needs the time of each line. */
	if (!isatty(STDERR_FILENO)) {
		char		ts[32];
		struct tm	tm;
		time_t		now = time(NULL);

		if (gmtime_r(&now, &tm) != NULL &&
		    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm) > 0)
			fprintf(stderr, "%s ", ts);
	}
	if (suffix != NULL)
		fprintf(stderr, "%s: %s: %s\n", log_prog, msg, suffix);
	else
		fprintf(stderr, "%s: %s\n", log_prog, msg);
	fflush(stderr);
}

void
log_warn(const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno;

	va_start(ap, fmt);
	vlog(LOG_ERR, fmt, ap, strerror(saved));
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog(LOG_ERR, fmt, ap, NULL);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	ap;

	if (log_verbose < 1 && !log_syslog)
		return;
	va_start(ap, fmt);
	vlog(LOG_INFO, fmt, ap, NULL);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	ap;

	if (log_verbose < 2)
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, fmt, ap, NULL);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, strerror(saved));
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, NULL);
	va_end(ap);
	exit(1);
}

void
log_fmt_time(char *s, size_t n, time_t t)
{
	struct tm	tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(s, n, "%Y-%m-%d %H:%M UTC", &tm) == 0)
		(void)snprintf(s, n, "@%lld", (long long)t);
}
