/*
 * Tests for collector/torctl*.c: the reply parser, the event parsers,
 * SAFECOOKIE, and the client against a real tor in a private network
 * namespace (loopback only, DisableNetwork 1).
 */
#include "config.h"

#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <net/if.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "encode.h"
#include "err.h"
#include "log.h"
#include "tests.h"
#include "torctl.h"

/* ------------------------------------------------------------------ */
/* Parser                                                              */

/* Feed all of s and collect the replies into a canonical string:
 * "code|sep|text|data" per line, "\n--\n" per reply. */
static int
parse_canon(const void *s, size_t n, size_t split, char **out,
    size_t max_line, size_t max_reply)
{
	struct torctl_parser	*p;
	struct torctl_reply	*rp;
	struct buf		*c;
	size_t			 i, off;
	int			 r = 0;

	*out = NULL;
	CU_ASSERT_FATAL((p = torctl_parser_new(max_line, max_reply)) != NULL);
	CU_ASSERT_FATAL((c = buf_new(0)) != NULL);
	for (off = 0; off < n && r == 0; off += split) {
		size_t k = n - off < split ? n - off : split;

		r = torctl_parser_feed(p, (const uint8_t *)s + off, k);
	}
	while (torctl_parser_next(p, &rp) == 1) {
		for (i = 0; i < rp->nlines; i++) {
			struct torctl_line *l = &rp->lines[i];

			CU_ASSERT(l->code == rp->code);
			CU_ASSERT(buf_putf(c, "%d|%c|%s|", l->code, l->sep,
			    l->text) == 0);
			if (l->data != NULL) {
				CU_ASSERT(l->data[l->datalen] == '\0');
				CU_ASSERT(buf_put(c, l->data, l->datalen) == 0);
			}
			CU_ASSERT(buf_put_str(c, "\n") == 0);
		}
		CU_ASSERT(buf_put_str(c, "--\n") == 0);
		torctl_reply_free(rp);
	}
	if (buf_len(c) == 0)
		*out = strdup("");
	else
		CU_ASSERT(buf_dup_cstr(c, out) == 0);
	buf_free(c);
	torctl_parser_free(p);
	return r;
}

/* Real tor 0.4.9.11 output (DisableNetwork 1, captured with a raw
 * socket; paths shortened). */
static const char protocolinfo[] =
    "250-PROTOCOLINFO 1\r\n"
    "250-AUTH METHODS=COOKIE,SAFECOOKIE COOKIEFILE=\"/tmp/x y/data/"
    "control_auth_cookie\"\r\n"
    "250-VERSION Tor=\"0.4.9.11\"\r\n"
    "250 OK\r\n";
static const char getinfo_data[] =
    "250-version=0.4.9.11\r\n"
    "250-sr/current=\r\n"
    "250+config-text=\r\n"
    "ControlPort 127.0.0.1:19051\r\n"
    "CookieAuthentication 1\r\n"
    "DisableNetwork 1\r\n"
    "SocksPort 0\r\n"
    ".\r\n"
    "250 OK\r\n";

static void
test_parser_basic(void)
{
	char	*s;

	CU_ASSERT(parse_canon("250 OK\r\n", 8, 8, &s, 0, 0) == 0);
	CU_ASSERT_STRING_EQUAL(s, "250| |OK|\n--\n");
	free(s);
	CU_ASSERT(parse_canon(protocolinfo, strlen(protocolinfo), 1000, &s,
	    0, 0) == 0);
	CU_ASSERT_STRING_EQUAL(s,
	    "250|-|PROTOCOLINFO 1|\n"
	    "250|-|AUTH METHODS=COOKIE,SAFECOOKIE COOKIEFILE=\"/tmp/x y/"
	    "data/control_auth_cookie\"|\n"
	    "250|-|VERSION Tor=\"0.4.9.11\"|\n"
	    "250| |OK|\n--\n");
	free(s);
	CU_ASSERT(parse_canon(getinfo_data, strlen(getinfo_data), 1000, &s,
	    0, 0) == 0);
	CU_ASSERT_STRING_EQUAL(s,
	    "250|-|version=0.4.9.11|\n"
	    "250|-|sr/current=|\n"
	    "250|+|config-text=|ControlPort 127.0.0.1:19051\n"
	    "CookieAuthentication 1\nDisableNetwork 1\nSocksPort 0\n\n"
	    "250| |OK|\n--\n");
	free(s);
	/* A partial reply stays pending. */
	CU_ASSERT(parse_canon("250-a\r\n250-b", 12, 12, &s, 0, 0) == 0);
	CU_ASSERT_STRING_EQUAL(s, "");
	free(s);
}

static void
test_parser_dotstuff(void)
{
	static const char in[] =
	    "650+HS_DESC_CONTENT x y z\r\n"
	    "..leading dot\r\n"
	    "...two\r\n"
	    ". \r\n"
	    "\r\n"
	    "mid.dle.\r\n"
	    "..\r\n"
	    ".\r\n"
	    "650 OK\r\n"
	    "250+empty=\r\n"
	    ".\r\n"
	    "250 OK\r\n";
	char	*s;

	CU_ASSERT(parse_canon(in, strlen(in), 4096, &s, 0, 0) == 0);
	CU_ASSERT_STRING_EQUAL(s,
	    "650|+|HS_DESC_CONTENT x y z|.leading dot\n..two\n \n\n"
	    "mid.dle.\n.\n\n"
	    "650| |OK|\n--\n"
	    "250|+|empty=|\n250| |OK|\n--\n");
	free(s);
	/* Bare LF line ends are accepted; a CR inside a line is data. */
	CU_ASSERT(parse_canon("250 a\rb\n", 8, 8, &s, 0, 0) == 0);
	CU_ASSERT_STRING_EQUAL(s, "250| |a\rb|\n--\n");
	free(s);
}

/* Every split point, and byte by byte, gives the same replies. */
static void
test_parser_splits(void)
{
	struct buf	*all;
	char		*want, *got;
	size_t		 n, i;

	CU_ASSERT_FATAL((all = buf_new(0)) != NULL);
	CU_ASSERT(buf_put_str(all, protocolinfo) == 0);
	CU_ASSERT(buf_put_str(all, getinfo_data) == 0);
	CU_ASSERT(buf_put_str(all,
	    "650 HS_DESC REQUESTED 25njqamcweflpvkl73j4szahhihoc4xt3ktcgjnpai"
	    "ngr5yhkenl5sid NO_AUTH $1111111111111111111111111111111111111111"
	    "~relay1 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\n"
	    "650+HS_DESC_CONTENT a b c\r\nhs-descriptor 3\r\n..x\r\n.\r\n"
	    "650 OK\r\n552 Server \"$00\" not found\r\n") == 0);
	n = buf_len(all);
	CU_ASSERT(parse_canon(buf_ptr(all), n, n, &want, 0, 0) == 0);
	CU_ASSERT(strstr(want, "hs-descriptor 3\n.x\n") != NULL);
	for (i = 1; i < n; i++) {
		CU_ASSERT(parse_canon(buf_ptr(all), n, i, &got, 0, 0) == 0);
		CU_ASSERT_STRING_EQUAL(got, want);
		free(got);
	}
	/* Two pieces, split at every position. */
	for (i = 1; i < n; i++) {
		struct torctl_parser	*p = torctl_parser_new(0, 0);
		struct torctl_reply	*rp;
		int			 k = 0;

		CU_ASSERT(torctl_parser_feed(p, buf_ptr(all), i) == 0);
		CU_ASSERT(torctl_parser_feed(p, buf_ptr(all) + i, n - i) == 0);
		while (torctl_parser_next(p, &rp) == 1) {
			k++;
			torctl_reply_free(rp);
		}
		CU_ASSERT(k == 5);
		torctl_parser_free(p);
	}
	free(want);
	buf_free(all);
}

static void
test_parser_caps(void)
{
	struct torctl_parser	*p;
	char			 line[200], *s;
	size_t			 i;

	/* A line of exactly max_line passes; one more byte fails, whole
	 * or in pieces. */
	memset(line, 'x', sizeof(line));
	memcpy(line, "250 ", 4);
	memcpy(line + 100, "\r\n", 2);
	CU_ASSERT(parse_canon(line, 102, 102, &s, 100, 0) == 0);
	CU_ASSERT(strlen(s) == 100 - 4 + strlen("250| ||\n--\n"));
	free(s);
	memcpy(line + 101, "\r\n", 2);
	line[100] = 'y';
	CU_ASSERT(parse_canon(line, 103, 103, &s, 100, 0) ==
	    OB_ERR_TOO_LARGE);
	free(s);
	CU_ASSERT(parse_canon(line, 103, 7, &s, 100, 0) == OB_ERR_TOO_LARGE);
	free(s);
	/* An endless line without LF fails as soon as it passes the cap. */
	CU_ASSERT_FATAL((p = torctl_parser_new(100, 0)) != NULL);
	for (i = 0; i < 10; i++)
		if (torctl_parser_feed(p, "xxxxxxxxxxxxxxxxxxxx", 20) != 0)
			break;
	CU_ASSERT(i == 5);
	/* Refuses until reset, then works again. */
	CU_ASSERT(torctl_parser_feed(p, "250 OK\r\n", 8) != 0);
	torctl_parser_reset(p);
	CU_ASSERT(torctl_parser_feed(p, "250 OK\r\n", 8) == 0);
	torctl_parser_free(p);
	/* A data body over max_reply. */
	{
		static const char big[] = "250+k=\r\n"
		    "0123456789012345678901234567890123456789\r\n"
		    "0123456789012345678901234567890123456789\r\n.\r\n250 OK\r\n";

		CU_ASSERT(parse_canon(big, strlen(big), 5, &s, 0, 80) ==
		    OB_ERR_TOO_LARGE);
		free(s);
		CU_ASSERT(parse_canon(big, strlen(big), 5, &s, 0, 200) == 0);
		free(s);
	}
}

static void
test_parser_garbage(void)
{
	static const char *bad[] = {
		"abc\r\n", "25 OK\r\n", "250xOK\r\n", "2500OK\r\n",
		"250\r\n", "\r\n", "-250 OK\r\n", "250-a\r\n251 b\r\n",
		"050 OK\r\n", "25a OK\r\n",
		NULL
	};
	char	*s;
	size_t	 i;

	for (i = 0; bad[i] != NULL; i++) {
		CU_ASSERT(parse_canon(bad[i], strlen(bad[i]), 3, &s, 0, 0) ==
		    OB_ERR_FORMAT);
		free(s);
	}
	CU_ASSERT(parse_canon("250 O\0K\r\n", 9, 9, &s, 0, 0) ==
	    OB_ERR_FORMAT);
	free(s);
	CU_ASSERT(parse_canon("250+d=\r\na\0b\r\n.\r\n250 OK\r\n", 23, 23, &s,
	    0, 0) == OB_ERR_FORMAT);
	free(s);
}

/* Random bytes and mutated valid streams: never a crash, never a reply
 * that breaks the invariants. */
static void
test_parser_fuzz(void)
{
	uint8_t		 b[512];
	char		*s;
	size_t		 i, j, n;

	for (i = 0; i < 3000; i++) {
		n = test_rand() % sizeof(b);
		if (i % 2 == 0) {
			for (j = 0; j < n; j++)
				b[j] = (uint8_t)test_rand();
		} else {
			n = strlen(getinfo_data);
			memcpy(b, getinfo_data, n);
			for (j = 0; j < 4; j++)
				b[test_rand() % n] = "\r\n.+- 2\0"[test_rand() % 8];
		}
		(void)parse_canon(b, n, 1 + test_rand() % 64, &s, 64, 256);
		free(s);
	}
}

/* ------------------------------------------------------------------ */
/* Helpers over replies                                                */

static struct torctl_reply *
one_reply(const char *s)
{
	struct torctl_parser	*p;
	struct torctl_reply	*rp = NULL;

	CU_ASSERT_FATAL((p = torctl_parser_new(0, 0)) != NULL);
	CU_ASSERT(torctl_parser_feed(p, s, strlen(s)) == 0);
	CU_ASSERT(torctl_parser_next(p, &rp) == 1);
	torctl_parser_free(p);
	return rp;
}

static void
test_kv_getinfo(void)
{
	struct torctl_reply	*rp;
	const uint8_t		*v;
	size_t			 vl;
	char			*s;

	CU_ASSERT(torctl_kv_get("METHODS=COOKIE,SAFECOOKIE COOKIEFILE="
	    "\"/a \\\"b\\\"\\\\c\"", "COOKIEFILE", &s) == 0);
	CU_ASSERT_STRING_EQUAL(s, "/a \"b\"\\c");
	free(s);
	CU_ASSERT(torctl_kv_get("METHODS=NULL", "METHODS", &s) == 0);
	CU_ASSERT_STRING_EQUAL(s, "NULL");
	free(s);
	CU_ASSERT(torctl_kv_get("METHODS=NULL", "COOKIEFILE", &s) ==
	    OB_ERR_MISSING);
	CU_ASSERT(torctl_kv_get("A=\"unterminated", "A", &s) ==
	    OB_ERR_FORMAT);
	CU_ASSERT(torctl_kv_get("A=1  B=2", "B", &s) == OB_ERR_FORMAT);

	rp = one_reply(getinfo_data);
	CU_ASSERT(torctl_getinfo_value(rp, "version", &v, &vl) == 0);
	CU_ASSERT(vl == 8 && memcmp(v, "0.4.9.11", 8) == 0);
	CU_ASSERT(torctl_getinfo_value(rp, "sr/current", &v, &vl) == 0);
	CU_ASSERT(vl == 0);
	CU_ASSERT(torctl_getinfo_value(rp, "config-text", &v, &vl) == 0);
	CU_ASSERT(vl == 80 && memcmp(v, "ControlPort", 11) == 0);
	CU_ASSERT(torctl_getinfo_value(rp, "config", &v, &vl) ==
	    OB_ERR_MISSING);
	torctl_reply_free(rp);
	rp = one_reply("552 Unrecognized key \"x\"\r\n");
	CU_ASSERT(torctl_getinfo_value(rp, "x", &v, &vl) == OB_ERR_FORMAT);
	torctl_reply_free(rp);
}

/* ------------------------------------------------------------------ */
/* Events                                                              */

#define ADDR	"25njqamcweflpvkl73j4szahhihoc4xt3ktcgjnpaingr5yhkenl5sid"
#define FP	"$F3AE9E6C0F1D1B3B5B4A1E0C84C0B5D96CC3C1A2"
#define DESCID	"Dzxn2fuEXNPYVMxmv8S0nP7svcc0QoXAr/ZF1mSFKtA"

static void
test_event_hs_desc(void)
{
	struct torctl_hs_desc	 ev;
	struct torctl_reply	*rp;
	char			 name[32];
	static const char *bad[] = {
		"650 HS_DESC BOGUS " ADDR " NO_AUTH " FP "\r\n",
		"650 HS_DESC RECEIVED " ADDR "\r\n",
		"650 HS_DESC RECEIVED " ADDR " NO_AUTH $F3AE\r\n",
		"650 HS_DESC RECEIVED " ADDR " NO_AUTH " FP "~bad-nick!\r\n",
		"650 HS_DESC RECEIVED short NO_AUTH " FP "\r\n",
		"650 HS_DESC RECEIVED " ADDR " NO_AUTH " FP " notbase64!\r\n",
		"650 HS_DESC RECEIVED " ADDR " NO_AUTH " FP " " DESCID " "
		    DESCID "\r\n",
		"650 HS_DESC FAILED " ADDR " NO_AUTH " FP " REASON=\r\n",
		"650 HS_DESC UPLOADED " ADDR " NO_AUTH " FP " \r\n",
		"650 HS_DESC UPLOADED " ADDR " NO_AUTH " FP
		    " HSDIR_INDEX=12\r\n",
		"650 STATUS_CLIENT NOTICE CONSENSUS_ARRIVED\r\n",
		"250 OK\r\n",
		NULL
	};
	size_t	i;
	uint8_t	want[32];

	/* Shapes as control_events.c writes them (event_hs_descriptor_*):
	 * "%s %s %s %s%s%s" with " <descid>" and " REASON=" appended. */
	rp = one_reply("650 HS_DESC REQUESTED " ADDR " NO_AUTH " FP "~relay3 "
	    DESCID " HSDIR_INDEX=" "0011223344556677889900112233445566778899"
	    "AABBCCDDEEFF001122334455\r\n");
	CU_ASSERT(torctl_event_name(name, sizeof(name), rp) == 0);
	CU_ASSERT_STRING_EQUAL(name, "HS_DESC");
	CU_ASSERT(torctl_parse_hs_desc(&ev, rp) == 0);
	CU_ASSERT(ev.action == TORCTL_HS_REQUESTED);
	CU_ASSERT(ev.has_address && strcmp(ev.address, ADDR) == 0);
	CU_ASSERT(ev.has_hsdir && ev.hsdir[0] == 0xF3 && ev.hsdir[19] == 0xA2);
	CU_ASSERT(ev.has_blinded);
	test_unhex(want, 32, "0f3c67d9fb845cd3d854cc66bfc4b49c"
	    "feecbdc7344285c0aff645d664852ad0");
	CU_ASSERT(memcmp(ev.blinded, want, 32) == 0);
	CU_ASSERT(ev.has_hsdir_index && ev.hsdir_index[31] == 0x55);
	CU_ASSERT(ev.reason[0] == '\0');
	torctl_reply_free(rp);

	rp = one_reply("650 HS_DESC FAILED " ADDR " NO_AUTH " FP "~r "
	    DESCID " REASON=NOT_FOUND\r\n");
	CU_ASSERT(torctl_parse_hs_desc(&ev, rp) == 0);
	CU_ASSERT(ev.action == TORCTL_HS_FAILED);
	CU_ASSERT_STRING_EQUAL(ev.reason, "NOT_FOUND");
	torctl_reply_free(rp);

	/* QUERY_NO_HSDIR: HsDir is UNKNOWN. */
	rp = one_reply("650 HS_DESC FAILED " ADDR " NO_AUTH UNKNOWN "
	    "REASON=QUERY_NO_HSDIR\r\n");
	CU_ASSERT(torctl_parse_hs_desc(&ev, rp) == 0);
	CU_ASSERT(!ev.has_hsdir && !ev.has_blinded);
	CU_ASSERT_STRING_EQUAL(ev.reason, "QUERY_NO_HSDIR");
	torctl_reply_free(rp);

	/* HSPOST's UPLOADED: no DescId; "UNKNOWN" auth. */
	rp = one_reply("650 HS_DESC UPLOADED " ADDR " UNKNOWN " FP "~r\r\n");
	CU_ASSERT(torctl_parse_hs_desc(&ev, rp) == 0);
	CU_ASSERT(ev.action == TORCTL_HS_UPLOADED && !ev.has_blinded);
	torctl_reply_free(rp);

	rp = one_reply("650 HS_DESC RECEIVED UNKNOWN NO_AUTH " FP "=old "
	    DESCID " FUTURE=1\r\n");
	CU_ASSERT(torctl_parse_hs_desc(&ev, rp) == 0);
	CU_ASSERT(!ev.has_address && ev.has_hsdir && ev.has_blinded);
	torctl_reply_free(rp);

	for (i = 0; bad[i] != NULL; i++) {
		rp = one_reply(bad[i]);
		CU_ASSERT(torctl_parse_hs_desc(&ev, rp) != 0);
		torctl_reply_free(rp);
	}
}

/* Escape text the way tor's write_escaped_data() does: LF -> CRLF, a
 * '.' at the start of a line doubled, then ".\r\n". */
static void
tor_escape(struct buf *out, const uint8_t *p, size_t n)
{
	size_t	i;
	int	sol = 1;

	for (i = 0; i < n; i++) {
		if (sol && p[i] == '.')
			CU_ASSERT(buf_put_u8(out, '.') == 0);
		if (p[i] == '\n')
			CU_ASSERT(buf_put_u8(out, '\r') == 0);
		CU_ASSERT(buf_put_u8(out, p[i]) == 0);
		sol = p[i] == '\n';
	}
	if (!sol)
		CU_ASSERT(buf_put_str(out, "\r\n") == 0);
	CU_ASSERT(buf_put_str(out, ".\r\n") == 0);
}

static void
test_event_hs_desc_content(void)
{
	struct torctl_hs_desc_content	 ev;
	struct torctl_parser		*p;
	struct torctl_reply		*rp;
	struct buf			*s;
	uint8_t				*desc;
	size_t				 dlen, i;

	desc = test_read_file(test_vector_path("hsdesc/arti-hsdesc1.txt"),
	    &dlen);
	CU_ASSERT_FATAL(desc != NULL);
	CU_ASSERT_FATAL((s = buf_new(0)) != NULL);
	CU_ASSERT(buf_put_str(s, "650+HS_DESC_CONTENT " ADDR " " DESCID " "
	    FP "~relay3\r\n") == 0);
	tor_escape(s, desc, dlen);
	CU_ASSERT(buf_put_str(s, "650 OK\r\n") == 0);
	/* Fed in odd pieces, as a socket would deliver it. */
	CU_ASSERT_FATAL((p = torctl_parser_new(0, 0)) != NULL);
	for (i = 0; i < buf_len(s); i += 997)
		CU_ASSERT(torctl_parser_feed(p, buf_ptr(s) + i,
		    buf_len(s) - i < 997 ? buf_len(s) - i : 997) == 0);
	CU_ASSERT_FATAL(torctl_parser_next(p, &rp) == 1);
	CU_ASSERT(torctl_parse_hs_desc_content(&ev, rp) == 0);
	CU_ASSERT(ev.has_address && ev.has_blinded && ev.has_hsdir);
	/* Exactly the file: the signature covers these bytes. */
	CU_ASSERT(ev.bodylen == dlen);
	CU_ASSERT(ev.bodylen == dlen && memcmp(ev.body, desc, dlen) == 0);
	torctl_reply_free(rp);
	torctl_parser_free(p);
	buf_free(s);
	free(desc);

	/* A failed fetch: empty body, UNKNOWN address (control-spec
	 * 4.1.26). */
	rp = one_reply("650+HS_DESC_CONTENT UNKNOWN " DESCID " UNKNOWN\r\n"
	    ".\r\n650 OK\r\n");
	CU_ASSERT(torctl_parse_hs_desc_content(&ev, rp) == 0);
	CU_ASSERT(!ev.has_address && !ev.has_hsdir && ev.bodylen == 0);
	torctl_reply_free(rp);

	rp = one_reply("650+HS_DESC_CONTENT " ADDR " " DESCID "\r\n"
	    ".\r\n650 OK\r\n");
	CU_ASSERT(torctl_parse_hs_desc_content(&ev, rp) != 0);
	torctl_reply_free(rp);
	rp = one_reply("650 HS_DESC_CONTENT " ADDR " " DESCID " UNKNOWN\r\n");
	CU_ASSERT(torctl_parse_hs_desc_content(&ev, rp) != 0);
	torctl_reply_free(rp);
}

static void
test_event_status(void)
{
	struct torctl_status	 ev;
	struct torctl_reply	*rp;

	rp = one_reply("650 STATUS_CLIENT NOTICE CONSENSUS_ARRIVED\r\n");
	CU_ASSERT(torctl_parse_status(&ev, rp) == 0);
	CU_ASSERT_STRING_EQUAL(ev.type, "STATUS_CLIENT");
	CU_ASSERT_STRING_EQUAL(ev.severity, "NOTICE");
	CU_ASSERT_STRING_EQUAL(ev.action, "CONSENSUS_ARRIVED");
	CU_ASSERT_STRING_EQUAL(ev.args, "");
	torctl_reply_free(rp);
	rp = one_reply("650 STATUS_CLIENT NOTICE BOOTSTRAP PROGRESS=100 "
	    "TAG=done SUMMARY=\"Done\"\r\n");
	CU_ASSERT(torctl_parse_status(&ev, rp) == 0);
	CU_ASSERT_STRING_EQUAL(ev.action, "BOOTSTRAP");
	CU_ASSERT_STRING_EQUAL(ev.args, "PROGRESS=100 TAG=done "
	    "SUMMARY=\"Done\"");
	torctl_reply_free(rp);
	rp = one_reply("650 NEWCONSENSUS\r\n");
	CU_ASSERT(torctl_parse_status(&ev, rp) != 0);
	torctl_reply_free(rp);
	rp = one_reply("650 STATUS_CLIENT NOTICE\r\n");
	CU_ASSERT(torctl_parse_status(&ev, rp) != 0);
	torctl_reply_free(rp);
}

/* Real tor output (tests/vectors/torctl/README), split at many points:
 * every event parses with its own parser. */
static void
test_event_real_captures(void)
{
	static const char *files[] = { "torctl/hsfetch-found.raw",
	    "torctl/hsfetch-not-found.raw" };
	struct torctl_hs_desc		 d;
	struct torctl_hs_desc_content	 c;
	struct torctl_status		 st;
	struct torctl_parser		*p;
	struct torctl_reply		*rp;
	uint8_t				*raw;
	char				 name[32];
	size_t				 f, len, split, nev, ndesc, nbody, ncons;
	size_t				 nrep;

	for (f = 0; f < 2; f++) {
		raw = test_read_file(test_vector_path(files[f]), &len);
		CU_ASSERT_FATAL(raw != NULL);
		for (split = 1; split < len; split += split < 600 ? 1 : 61) {
			CU_ASSERT_FATAL((p = torctl_parser_new(0, 0)) != NULL);
			CU_ASSERT(torctl_parser_feed(p, raw, split) == 0);
			CU_ASSERT(torctl_parser_feed(p, raw + split,
			    len - split) == 0);
			nev = ndesc = nbody = ncons = nrep = 0;
			while (torctl_parser_next(p, &rp) == 1) {
				nrep++;
				if (!torctl_reply_is_event(rp)) {
					CU_ASSERT(rp->code == 250);
					torctl_reply_free(rp);
					continue;
				}
				nev++;
				CU_ASSERT(torctl_event_name(name, sizeof(name),
				    rp) == 0);
				if (strcmp(name, "HS_DESC") == 0) {
					CU_ASSERT(torctl_parse_hs_desc(&d, rp)
					    == 0);
					CU_ASSERT(d.has_address && d.has_hsdir &&
					    d.has_blinded);
					ndesc++;
				} else if (strcmp(name, "HS_DESC_CONTENT")
				    == 0) {
					CU_ASSERT(torctl_parse_hs_desc_content(
					    &c, rp) == 0);
					if (c.bodylen > 0) {
						nbody++;
						CU_ASSERT(memcmp(c.body,
						    "hs-descriptor 3\n", 16)
						    == 0);
						CU_ASSERT(memchr(c.body, '\r',
						    c.bodylen) == NULL);
						CU_ASSERT(c.body[c.bodylen - 1]
						    == '\n');
					}
				} else {
					CU_ASSERT(torctl_parse_status(&st, rp)
					    == 0);
					CU_ASSERT(
					    torctl_event_is_new_consensus(rp));
					ncons++;
				}
				torctl_reply_free(rp);
			}
			if (f == 0) {
				CU_ASSERT(nrep == 5 && nev == 4 &&
				    ndesc == 2 && nbody == 1 && ncons == 1);
			} else {
				CU_ASSERT(nrep == 19 && nev == 18 &&
				    ndesc == 12 && nbody == 0 && ncons == 0);
			}
			torctl_parser_free(p);
		}
		free(raw);
	}
	rp = one_reply("650+NEWCONSENSUS\r\nr a b c\r\n.\r\n650 OK\r\n");
	CU_ASSERT(torctl_event_is_new_consensus(rp));
	torctl_reply_free(rp);
	rp = one_reply("650 STATUS_CLIENT NOTICE CIRCUIT_ESTABLISHED\r\n");
	CU_ASSERT(!torctl_event_is_new_consensus(rp));
	torctl_reply_free(rp);
}

/* ------------------------------------------------------------------ */
/* SAFECOOKIE                                                          */

static void
test_safecookie_hmac(void)
{
	uint8_t	cookie[32], cn[32], sn[32], out[32], want[32];
	size_t	i;

	/* Expected values from Python's hmac module (an independent
	 * implementation) over the control-spec 3.24 construction. */
	for (i = 0; i < 32; i++) {
		cookie[i] = (uint8_t)i;
		cn[i] = 0xaa;
		sn[i] = (uint8_t)(0x40 + i);
	}
	CU_ASSERT(torctl_safecookie_hmac(out, 1, cookie, cn, sn) == 0);
	test_unhex(want, 32, "965eae5a3dcdd869ce4c421c01e3c763"
	    "e117414fbda902d7ad21bca42d646011");
	CU_ASSERT(memcmp(out, want, 32) == 0);
	CU_ASSERT(torctl_safecookie_hmac(out, 0, cookie, cn, sn) == 0);
	test_unhex(want, 32, "49b2a50f81b4064fc70be64757812e23"
	    "eea13867db225429a13130047ce352a8");
	CU_ASSERT(memcmp(out, want, 32) == 0);
}

/* ------------------------------------------------------------------ */
/* Against a real tor                                                  */


/*
 * The client against a real tor.  The test forks; the child enters a
 * new network namespace (unshare(CLONE_NEWNET) as root, or a user
 * namespace first otherwise), brings up loopback, and runs tor with a
 * private torrc (--defaults-torrc /dev/null, DisableNetwork 1).  The
 * child reports failures on stderr and through its exit status.
 */
#define LIVE_PORT	"127.0.0.1:9051"

static int	live_failures;
static pid_t	live_tor_pid = -1;

#define LCHECK(c) do {							\
	if (!(c)) {							\
		fprintf(stderr, "  live: %s:%d: check failed: %s\n",	\
		    __FILE__, __LINE__, #c);				\
		live_failures++;					\
	}								\
} while (0)

struct live_client {
	struct torctl	*tc;
	int		 ready;		/* READY transitions */
	int		 down;		/* DOWN transitions */
	int		 events;
	char		 last_event[64];
};

struct live_result {
	int		 done;
	int		 lost;		/* callback with NULL reply */
	int		 code;
	char		 text[256];
	char		 value[256];
};

static void
live_state_cb(struct torctl *tc, enum torctl_state st, const char *why,
    void *arg)
{
	struct live_client	*lc = arg;

	if (st == TORCTL_READY)
		lc->ready++;
	else if (st == TORCTL_DOWN)
		lc->down++;
}

static void
live_event_cb(struct torctl *tc, const struct torctl_reply *rp, void *arg)
{
	struct live_client	*lc = arg;

	lc->events++;
	if (torctl_event_name(lc->last_event, sizeof(lc->last_event), rp)
	    != 0)
		lc->last_event[0] = '\0';
}

static void
live_reply_cb(struct torctl *tc, const struct torctl_reply *rp, void *arg)
{
	struct live_result	*res = arg;
	const uint8_t		*v;
	size_t			 vl;

	res->done = 1;
	if (rp == NULL) {
		res->lost = 1;
		return;
	}
	res->code = rp->code;
	snprintf(res->text, sizeof(res->text), "%s", rp->lines[0].text);
	if (torctl_getinfo_value(rp, "version", &v, &vl) == 0)
		snprintf(res->value, sizeof(res->value), "%.*s",
		    (int)(vl < 200 ? vl : 200), (const char *)v);
}

/* Run the clients' poll loop until cond(arg) or timeout_ms passes. */
static int
live_loop(struct live_client *lc, size_t n, int (*cond)(void *), void *arg,
    int timeout_ms)
{
	struct pollfd	pfd[8];
	struct timespec	t0, t1;
	size_t		i;
	int		to, ms;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if (cond(arg))
			return 0;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ms = (int)((t1.tv_sec - t0.tv_sec) * 1000 +
		    (t1.tv_nsec - t0.tv_nsec) / 1000000);
		if (ms >= timeout_ms)
			return -1;
		to = 100;
		for (i = 0; i < n; i++) {
			int t = torctl_timeout(lc[i].tc);

			torctl_pollfd(lc[i].tc, &pfd[i]);
			if (t >= 0 && t < to)
				to = t;
		}
		if (poll(pfd, n, to) == -1 && errno != EINTR)
			return -1;
		for (i = 0; i < n; i++)
			torctl_process(lc[i].tc, pfd[i].fd == -1 ? 0 :
			    pfd[i].revents);
	}
}

struct live_want {
	struct live_client	*lc;
	size_t			 n;
	int			 ready[8];	/* -1: don't care */
	int			 down[8];
	int			 events[8];
	struct live_result	*res[4];
};

static int
live_cond(void *arg)
{
	struct live_want	*w = arg;
	size_t			 i;

	for (i = 0; i < w->n; i++) {
		if (w->ready[i] >= 0 && w->lc[i].ready < w->ready[i])
			return 0;
		if (w->down[i] >= 0 && w->lc[i].down < w->down[i])
			return 0;
		if (w->events[i] >= 0 && w->lc[i].events < w->events[i])
			return 0;
	}
	for (i = 0; i < 4; i++)
		if (w->res[i] != NULL && !w->res[i]->done)
			return 0;
	return 1;
}

static void
live_alarm(int sig)
{
	(void)sig;
	if (live_tor_pid > 0)
		kill(live_tor_pid, SIGKILL);
	_exit(99);
}

static int
live_enter_netns(void)
{
	struct ifreq	ifr;
	char		map[64];
	uid_t		uid = getuid();
	gid_t		gid = getgid();
	int		s, fd, n;

	if (unshare(CLONE_NEWNET) == -1) {
		if (unshare(CLONE_NEWUSER | CLONE_NEWNET) == -1)
			return -1;
		if ((fd = open("/proc/self/setgroups", O_WRONLY)) != -1) {
			(void)!write(fd, "deny", 4);
			close(fd);
		}
		n = snprintf(map, sizeof(map), "0 %u 1", (unsigned)uid);
		if ((fd = open("/proc/self/uid_map", O_WRONLY)) == -1 ||
		    write(fd, map, (size_t)n) != n)
			return -1;
		close(fd);
		n = snprintf(map, sizeof(map), "0 %u 1", (unsigned)gid);
		if ((fd = open("/proc/self/gid_map", O_WRONLY)) == -1 ||
		    write(fd, map, (size_t)n) != n)
			return -1;
		close(fd);
	}
	if ((s = socket(AF_INET, SOCK_DGRAM, 0)) == -1)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == -1) {
		close(s);
		return -1;
	}
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) == -1) {
		close(s);
		return -1;
	}
	close(s);
	return 0;
}

static void
live_write_torrc(const char *dir, const char *hash, int auth)
{
	char	 path[512];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/torrc", dir);
	if ((f = fopen(path, "w")) == NULL) {
		LCHECK(f != NULL);
		return;
	}
	fprintf(f, "DataDirectory %s/data\nDisableNetwork 1\nSocksPort 0\n"
	    "ControlPort %s\nControlSocket %s/sock/ctl\n"
	    "Log notice file %s/tor.log\n", dir, LIVE_PORT, dir, dir);
	if (auth)
		fprintf(f, "CookieAuthentication 1\nHashedControlPassword %s\n",
		    hash);
	fclose(f);
}

static pid_t
live_tor_start(const char *dir)
{
	char	torrc[512];
	pid_t	pid;
	int	fd;

	snprintf(torrc, sizeof(torrc), "%s/torrc", dir);
	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if ((fd = open("/dev/null", O_RDWR)) != -1) {
			dup2(fd, 0);
			dup2(fd, 1);
		}
		execlp("tor", "tor", "--defaults-torrc", "/dev/null", "-f",
		    torrc, (char *)NULL);
		_exit(127);
	}
	live_tor_pid = pid;
	return pid;
}

static void
live_tor_stop(pid_t pid)
{
	int	st;

	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	if (waitpid(pid, &st, 0) == -1)
		fprintf(stderr, "  live: waitpid tor: %s\n", strerror(errno));
	live_tor_pid = -1;
}

/* tor --hash-password: the "16:..." line. */
static int
live_hash_password(const char *pw, char *out, size_t outlen)
{
	char	 cmd[128], line[200];
	FILE	*p;
	int	 ok = -1;

	snprintf(cmd, sizeof(cmd), "tor --hash-password %s 2>/dev/null", pw);
	if ((p = popen(cmd, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), p) != NULL) {
		if (strncmp(line, "16:", 3) == 0) {
			line[strcspn(line, "\r\n")] = '\0';
			snprintf(out, outlen, "%s", line);
			ok = 0;
		}
	}
	pclose(p);
	return ok;
}

static struct torctl *
live_client_new(struct live_client *lc, const char *addr,
    enum torctl_auth auth, const char *pw, const char *events)
{
	struct torctl_config	c;

	memset(lc, 0, sizeof(*lc));
	memset(&c, 0, sizeof(c));
	c.address = addr;
	c.auth = auth;
	c.password = pw;
	c.events = events;
	c.backoff_min_ms = 50;
	c.backoff_max_ms = 400;
	c.cmd_timeout_ms = 5000;
	lc->tc = torctl_new(&c, live_state_cb, live_event_cb, lc);
	if (lc->tc != NULL)
		torctl_start(lc->tc);
	return lc->tc;
}

static void
live_want_init(struct live_want *w, struct live_client *lc, size_t n)
{
	size_t	i;

	memset(w, 0, sizeof(*w));
	w->lc = lc;
	w->n = n;
	for (i = 0; i < 8; i++)
		w->ready[i] = w->down[i] = w->events[i] = -1;
}

static int
live_run(const char *dir, const char *hash)
{
	struct live_client	 lc[5];
	struct live_want	 w;
	struct live_result	 r1, r2, r3, r4;
	char			 sock[320], sockdir[300];
	uint8_t			 fp[1][TORCTL_FP_LEN];
	static const char	 junk[] = "hs-descriptor 3\n.leading\nnot a "
				    "descriptor\n";
	pid_t			 tor;
	int			 events;

	snprintf(sockdir, sizeof(sockdir), "%s/sock", dir);
	snprintf(sock, sizeof(sock), "unix:%s/ctl", sockdir);
	if (mkdir(sockdir, 0700) == -1)
		return 1;
	live_write_torrc(dir, hash, 1);
	if ((tor = live_tor_start(dir)) == -1)
		return 1;
	/* 0: SAFECOOKIE over TCP, with events; 1: COOKIE over the Unix
	 * socket; 2: HASHEDPASSWORD; 3: a wrong password. */
	LCHECK(live_client_new(&lc[0], LIVE_PORT, TORCTL_AUTH_SAFECOOKIE,
	    NULL, "CONF_CHANGED HS_DESC HS_DESC_CONTENT") != NULL);
	LCHECK(live_client_new(&lc[1], sock, TORCTL_AUTH_COOKIE, NULL,
	    NULL) != NULL);
	LCHECK(live_client_new(&lc[2], LIVE_PORT, TORCTL_AUTH_HASHEDPASSWORD,
	    "s3cret pass", NULL) != NULL);
	LCHECK(live_client_new(&lc[3], LIVE_PORT, TORCTL_AUTH_HASHEDPASSWORD,
	    "wrong", NULL) != NULL);
	if (live_failures)
		goto out;
	live_want_init(&w, lc, 4);
	w.ready[0] = w.ready[1] = w.ready[2] = 1;
	/* Connection refused while tor starts counts as "down" too, so
	 * wait for several failures of the wrong password. */
	w.down[3] = 6;
	LCHECK(live_loop(lc, 4, live_cond, &w, 15000) == 0);
	LCHECK(lc[3].ready == 0);
	if (live_failures)
		goto out;

	/* Commands: GETINFO on two transports, HSFETCH and HSPOST naming
	 * an unknown HSDir (552, after tor read the whole +data body), and
	 * a follow-up that shows the stream stayed in step. */
	memset(&r1, 0, sizeof(r1));
	memset(&r2, 0, sizeof(r2));
	memset(&r3, 0, sizeof(r3));
	memset(&r4, 0, sizeof(r4));
	memset(fp, 0x11, sizeof(fp));
	LCHECK(torctl_getinfo(lc[0].tc, "version", live_reply_cb, &r1) == 0);
	LCHECK(torctl_hsfetch(lc[1].tc, ADDR, fp, 1, live_reply_cb, &r2)
	    == 0);
	LCHECK(torctl_hspost(lc[2].tc, ADDR, fp, 1, (const uint8_t *)junk,
	    strlen(junk), live_reply_cb, &r3) == 0);
	LCHECK(torctl_getinfo(lc[2].tc, "version", live_reply_cb, &r4) == 0);
	live_want_init(&w, lc, 4);
	w.res[0] = &r1;
	w.res[1] = &r2;
	w.res[2] = &r3;
	w.res[3] = &r4;
	LCHECK(live_loop(lc, 4, live_cond, &w, 5000) == 0);
	LCHECK(r1.code == 250 && strncmp(r1.value, "0.4.", 4) == 0);
	LCHECK(r2.code == 552);
	LCHECK(r3.code == 552 && strstr(r3.text, "not found") != NULL);
	LCHECK(r4.code == 250 && strcmp(r4.value, r1.value) == 0);
	fprintf(stderr, "  live: tor %s; HSFETCH: %d %s; HSPOST: %d %s\n",
	    r1.value, r2.code, r2.text, r3.code, r3.text);
	/* Refused locally: not a v3 address, no SERVER=. */
	LCHECK(torctl_hsfetch(lc[1].tc, "short", fp, 1, NULL, NULL) == -1);
	LCHECK(torctl_hspost(lc[1].tc, ADDR, fp, 0, (const uint8_t *)junk,
	    strlen(junk), NULL, NULL) == -1);
	LCHECK(torctl_send(lc[1].tc, "GETINFO a\r\nQUIT", NULL, NULL) == -1);

	/* Events: a SETCONF from client 1 makes tor send CONF_CHANGED to
	 * client 0, which subscribed. */
	memset(&r1, 0, sizeof(r1));
	events = lc[0].events;
	LCHECK(torctl_send(lc[1].tc, "SETCONF MaxCircuitDirtiness=700",
	    live_reply_cb, &r1) == 0);
	live_want_init(&w, lc, 4);
	w.res[0] = &r1;
	w.events[0] = events + 1;
	LCHECK(live_loop(lc, 4, live_cond, &w, 5000) == 0);
	LCHECK(r1.code == 250);
	LCHECK(lc[0].events == events + 1);
	LCHECK(strcmp(lc[0].last_event, "CONF_CHANGED") == 0);

	/* Kill tor: every client notices; a command in flight fails. */
	memset(&r1, 0, sizeof(r1));
	live_tor_stop(tor);
	LCHECK(torctl_getinfo(lc[0].tc, "version", live_reply_cb, &r1) == 0);
	live_want_init(&w, lc, 4);
	w.down[0] = w.down[1] = w.down[2] = 1;
	w.res[0] = &r1;
	LCHECK(live_loop(lc, 4, live_cond, &w, 5000) == 0);
	LCHECK(r1.lost == 1);
	LCHECK(torctl_state(lc[0].tc) != TORCTL_READY);
	LCHECK(torctl_getinfo(lc[0].tc, "version", NULL, NULL) == -1);

	/* Restart it (a new cookie): they reconnect, authenticate again
	 * and client 0 is subscribed again. */
	if ((tor = live_tor_start(dir)) == -1)
		return 1;
	live_want_init(&w, lc, 4);
	w.ready[0] = w.ready[1] = w.ready[2] = 2;
	LCHECK(live_loop(lc, 4, live_cond, &w, 15000) == 0);
	memset(&r1, 0, sizeof(r1));
	events = lc[0].events;
	LCHECK(torctl_send(lc[1].tc, "SETCONF MaxCircuitDirtiness=800",
	    live_reply_cb, &r1) == 0);
	live_want_init(&w, lc, 4);
	w.res[0] = &r1;
	w.events[0] = events + 1;
	LCHECK(live_loop(lc, 4, live_cond, &w, 5000) == 0);
	LCHECK(r1.code == 250);
	LCHECK(lc[0].events == events + 1);
	LCHECK(lc[3].ready == 0);
	live_tor_stop(tor);

	/* A tor without authentication: AUTO picks NULL; the SAFECOOKIE
	 * client refuses to fall back. */
	live_write_torrc(dir, hash, 0);
	if ((tor = live_tor_start(dir)) == -1)
		return 1;
	LCHECK(live_client_new(&lc[4], LIVE_PORT, TORCTL_AUTH_AUTO, NULL,
	    NULL) != NULL);
	live_want_init(&w, lc, 5);
	w.ready[4] = 1;
	w.down[0] = lc[0].down + 2;
	LCHECK(live_loop(lc, 5, live_cond, &w, 15000) == 0);
	LCHECK(lc[0].ready == 2);
	memset(&r1, 0, sizeof(r1));
	LCHECK(torctl_getinfo(lc[4].tc, "version", live_reply_cb, &r1) == 0);
	live_want_init(&w, lc, 5);
	w.res[0] = &r1;
	LCHECK(live_loop(lc, 5, live_cond, &w, 5000) == 0);
	LCHECK(r1.code == 250);
	live_tor_stop(tor);
	tor = -1;
	torctl_free(lc[4].tc);
 out:
	live_tor_stop(tor);
	torctl_free(lc[0].tc);
	torctl_free(lc[1].tc);
	torctl_free(lc[2].tc);
	torctl_free(lc[3].tc);
	return live_failures;
}

static void
test_client_live(void)
{
	char		 dir[256], hash[256];
	struct timespec	 t0, t1;
	pid_t		 pid;
	int		 st;

	if (access("/usr/sbin/tor", X_OK) != 0 &&
	    access("/usr/bin/tor", X_OK) != 0)
		TEST_SKIP("tor is not installed");
	if (live_hash_password("'s3cret pass'", hash, sizeof(hash)) != 0)
		TEST_SKIP("tor --hash-password failed");
	snprintf(dir, sizeof(dir), "%s/torctl-live", test_tmpdir());
	CU_ASSERT_FATAL(mkdir(dir, 0700) == 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	fflush(NULL);
	if ((pid = fork()) == -1) {
		CU_FAIL("fork");
		return;
	}
	if (pid == 0) {
		signal(SIGALRM, live_alarm);
		alarm(60);
		if (live_enter_netns() == -1) {
			fprintf(stderr, "  SKIP %s: no network namespace: %s\n",
			    __func__, strerror(errno));
			_exit(77);
		}
		_exit(live_run(dir, hash) == 0 ? 0 : 1);
	}
	if (waitpid(pid, &st, 0) == -1) {
		CU_FAIL("waitpid");
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	fprintf(stderr, "  live: %.1f s\n", (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 77)
		return;
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fprintf(stderr, "  live: failed, tor log in %s/tor.log\n", dir);
}

static const struct test_case tests[] = {
	{ "parser basic", test_parser_basic },
	{ "parser dot-stuffing and CRLF", test_parser_dotstuff },
	{ "parser split at every byte", test_parser_splits },
	{ "parser caps", test_parser_caps },
	{ "parser garbage", test_parser_garbage },
	{ "parser fuzz", test_parser_fuzz },
	{ "key=value and GETINFO", test_kv_getinfo },
	{ "event HS_DESC", test_event_hs_desc },
	{ "event HS_DESC_CONTENT", test_event_hs_desc_content },
	{ "event STATUS_CLIENT", test_event_status },
	{ "events captured from tor", test_event_real_captures },
	{ "SAFECOOKIE HMAC", test_safecookie_hmac },
	{ "client against real tor", test_client_live },
	{ NULL, NULL }
};

void
test_register_torctl(void)
{
	test_add_suite("torctl", tests);
}
