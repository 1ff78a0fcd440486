/*
 * PIN sources.  The PIN is read once, at hsm_open(), from a place the
 * operator chose; it never comes from a command line (ps shows those).
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "buf.h"
#include "crypto.h"
#include "err.h"
#include "hsm.h"
#include "hsm_local.h"
#include "log.h"

/*
 * Read up to cap bytes from fd, stopping early at a newline (so that
 * fd: and prompt sources can be pipes or terminals that stay open).
 * Returns the byte count or -1.
 */
static ssize_t
hsm_pin_read_fd(int fd, uint8_t *raw, size_t cap)
{
	size_t	n = 0;
	ssize_t	r;

	while (n < cap) {
		r = read(fd, raw + n, 1);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return -1;
		if (r == 0)
			break;
		n++;
		if (raw[n - 1] == '\n')
			break;
	}
	return (ssize_t)n;
}

/* The first line of raw[0..n) without "\n" or "\r\n" into pin. */
static int
hsm_pin_line(char *pin, size_t max, const uint8_t *raw, size_t n,
    const char *source)
{
	struct buf	b, line;
	size_t		len;
	int		r;

	buf_init_ro(&b, raw, n);
	if ((r = buf_get_line(&b, max - 1, &line, NULL)) != 0) {
		log_warnx("hsm_pin_read: %s: %s", source, ob_strerror(r));
		return -1;
	}
	len = buf_len(&line);
	if (len > 0 && buf_ptr(&line)[len - 1] == '\r')
		len--;
	if (len == 0) {
		log_warnx("hsm_pin_read: %s: empty PIN", source);
		return -1;
	}
	if ((r = buf_get_bytes(&line, pin, len)) != 0) {
		log_warnx("hsm_pin_read: %s: %s", source, ob_strerror(r));
		return -1;
	}
	pin[len] = '\0';
	return 0;
}

static int
hsm_pin_from_file(char *pin, size_t max, const char *path)
{
	uint8_t		raw[HSM_PIN_MAX + 2];
	struct stat	st;
	ssize_t		n;
	int		fd, ret = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		log_warn("hsm_pin_read: %s", path);
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		log_warn("hsm_pin_read: fstat %s", path);
		goto err;
	}
	if (!S_ISREG(st.st_mode)) {
		log_warnx("hsm_pin_read: %s: not a regular file", path);
		goto err;
	}
	/* Like ssh with private keys: a PIN others can read is no secret. */
	if ((st.st_mode & S_IRWXO) != 0) {
		log_warnx("hsm_pin_read: %s: mode %03o lets other users read "
		    "the PIN; chmod o-rwx", path,
		    (unsigned)(st.st_mode & 0777));
		goto err;
	}
	if ((n = hsm_pin_read_fd(fd, raw, sizeof(raw))) == -1) {
		log_warn("hsm_pin_read: read %s", path);
		goto err;
	}
	ret = hsm_pin_line(pin, max, raw, (size_t)n, path);
 err:
	ob_wipe(raw, sizeof(raw));
	close(fd);
	return ret;
}

static int
hsm_pin_from_fd(char *pin, size_t max, const char *num)
{
	uint8_t		raw[HSM_PIN_MAX + 2];
	struct buf	b;
	uint64_t	v;
	ssize_t		n;
	int		ret = -1;

	buf_init_ro(&b, num, strlen(num));
	if (buf_to_u64(&b, &v) != 0 || v > INT_MAX) {
		log_warnx("hsm_pin_read: fd:%s: not a descriptor number", num);
		return -1;
	}
	if ((n = hsm_pin_read_fd((int)v, raw, sizeof(raw))) == -1) {
		log_warn("hsm_pin_read: read fd %d", (int)v);
		goto err;
	}
	ret = hsm_pin_line(pin, max, raw, (size_t)n, "fd");
 err:
	ob_wipe(raw, sizeof(raw));
	/* The descriptor was handed over for this one read. */
	close((int)v);
	return ret;
}

static int
hsm_pin_from_env(char *pin, size_t max, const char *name)
{
	char	*v;
	size_t	 len;

	if ((v = getenv(name)) == NULL) {
		log_warnx("hsm_pin_read: env:%s: not set", name);
		return -1;
	}
	len = strlen(v);
	if (len == 0 || len >= max) {
		log_warnx("hsm_pin_read: env:%s: empty or too long", name);
		return -1;
	}
	memcpy(pin, v, len + 1);
	/* Children must not inherit it, and a core dump should not show it. */
	ob_wipe(v, len);
	if (unsetenv(name) == -1)
		log_warn("hsm_pin_read: unsetenv %s", name);
	return 0;
}

static int
hsm_pin_from_tty(char *pin, size_t max)
{
	static const char prompt[] = "Token user PIN: ";
	uint8_t		 raw[HSM_PIN_MAX + 2];
	struct termios	 old, noecho;
	ssize_t		 n;
	int		 fd, ret = -1, restore = 0;

	if ((fd = open("/dev/tty", O_RDWR | O_CLOEXEC)) == -1) {
		log_warn("hsm_pin_read: prompt: /dev/tty");
		return -1;
	}
	if (tcgetattr(fd, &old) == 0) {
		noecho = old;
		noecho.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
		noecho.c_lflag |= ICANON;
		if (tcsetattr(fd, TCSAFLUSH, &noecho) == 0)
			restore = 1;
	}
	if (write(fd, prompt, sizeof(prompt) - 1) == -1)
		log_warn("hsm_pin_read: prompt");
	n = hsm_pin_read_fd(fd, raw, sizeof(raw));
	if (restore)
		(void)tcsetattr(fd, TCSAFLUSH, &old);
	if (write(fd, "\n", 1) == -1)
		log_warn("hsm_pin_read: prompt");
	if (n == -1) {
		log_warn("hsm_pin_read: prompt: read");
		goto err;
	}
	ret = hsm_pin_line(pin, max, raw, (size_t)n, "prompt");
 err:
	ob_wipe(raw, sizeof(raw));
	close(fd);
	return ret;
}

int
hsm_pin_read(char *pin, size_t max, const char *source)
{
	if (pin == NULL || max < 2 || source == NULL) {
		log_warnx("hsm_pin_read: no PIN source");
		return -1;
	}
	pin[0] = '\0';
	if (strncmp(source, "file:", 5) == 0)
		return hsm_pin_from_file(pin, max, source + 5);
	if (strncmp(source, "fd:", 3) == 0)
		return hsm_pin_from_fd(pin, max, source + 3);
	if (strncmp(source, "env:", 4) == 0)
		return hsm_pin_from_env(pin, max, source + 4);
	if (strcmp(source, "prompt") == 0)
		return hsm_pin_from_tty(pin, max);
	log_warnx("hsm_pin_read: \"%s\": unknown PIN source (file:PATH, "
	    "fd:N, env:NAME, prompt)", source);
	return -1;
}
