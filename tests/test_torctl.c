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
#include <netinet/in.h>
#include <arpa/inet.h>

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
				CU_ASSERT(buf_put(c, l->data, l->datalen)
				    == 0);
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
		    "0123456789012345678901234567890123456789\r\n"
		    ".\r\n250 OK\r\n";

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
				b[test_rand() % n] =
				    "\r\n.+- 2\0"[test_rand() % 8];
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
	CU_ASSERT(torctl_kv_get("COOKIEFILE=\"/a\\303\\251\\tb\"",
	    "COOKIEFILE", &s) == 0);
	CU_ASSERT_STRING_EQUAL(s, "/a\xc3\xa9\tb");
	free(s);
	CU_ASSERT(torctl_kv_get("K=\"\\000\"", "K", &s) == OB_ERR_FORMAT);
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
	size_t				 f, len, split, nev, ndesc;
	size_t				 nbody, ncons, nrep;

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
					CU_ASSERT(d.has_address &&
					    d.has_hsdir && d.has_blinded);
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
				CU_ASSERT(nrep == 20 && nev == 19 &&
				    ndesc == 12 && nbody == 0 && ncons == 1);
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
/* Against a hostile peer                                              */

/*
 * A scripted control port on 127.0.0.1 (this test's own listener, not
 * tor): one behaviour per accepted connection, in order.  The client
 * must survive each, reconnect, and end up authenticated where the
 * peer is honest.
 */
enum peer_mode {
	PEER_GARBAGE,		/* answers PROTOCOLINFO with a non-reply */
	PEER_LONGLINE,		/* a line over max_line */
	PEER_NULLAUTH,		/* honest NULL auth, then odd replies */
	PEER_SILENT,		/* never answers: command timeout */
	PEER_BADHASH,		/* SAFECOOKIE with a wrong SERVERHASH */
	PEER_SAFECOOKIE,	/* honest SAFECOOKIE */
	PEER_FLOOD,		/* NULL auth, takes HSPOSTs (2nd client) */
	PEER_NMODES
};

struct peer {
	int		 lfd, cfd;
	int		 mode;		/* of the current connection */
	int		 accepted;
	char		 in[4096];
	size_t		 inlen;
	int		 authenticate_in_badhash;
	int		 safecookie_ok;
	int		 in_post;
	int		 nposts;
	int		 noread;	/* stop reading: back-pressure */
	char		 post_head[256];
	char		 post[256];	/* the body, lines joined by LF */
	uint8_t		 cookie[32], cnonce[32], snonce[32];
	char		 cookiefile[300];
};

struct hostile {
	struct peer	*peer;
	int		 ready, down, events, step;
	int		 got_version, got_lost, got_post, got_flood;
};

static void
peer_send(struct peer *pe, const char *s)
{
	(void)!send(pe->cfd, s, strlen(s), MSG_NOSIGNAL);
}

static void
peer_line(struct peer *pe, const char *line)
{
	char	buf[600], hex[65], hex2[65];
	uint8_t	mac[32];

	if (pe->in_post) {
		if (strcmp(line, ".") == 0) {
			pe->in_post = 0;
			pe->nposts++;
			peer_send(pe, "250 OK\r\n");
		} else if (strlen(pe->post) + strlen(line) + 2 <
		    sizeof(pe->post)) {
			strcat(pe->post, line);
			strcat(pe->post, "\n");
		}
		return;
	}
	if (pe->mode == PEER_FLOOD && strncmp(line, "+HSPOST", 7) == 0) {
		pe->in_post = 1;
		pe->post[0] = '\0';
		return;
	}
	switch (pe->mode) {
	case PEER_GARBAGE:
		peer_send(pe, "garbage\r\n");
		break;
	case PEER_LONGLINE:
		memset(buf, 'x', 590);
		memcpy(buf, "250-", 4);
		memcpy(buf + 590, "\r\n", 3);
		peer_send(pe, buf);
		break;
	case PEER_FLOOD:
		if (strncmp(line, "PROTOCOLINFO", 12) == 0)
			peer_send(pe, "250-PROTOCOLINFO 1\r\n250-AUTH "
			    "METHODS=NULL\r\n250 OK\r\n");
		else if (strcmp(line, "AUTHENTICATE") == 0)
			peer_send(pe, "250 OK\r\n");
		break;
	case PEER_NULLAUTH:
		if (strncmp(line, "+HSPOST", 7) == 0) {
			size_t hl = strlen(line);

			if (hl >= sizeof(pe->post_head))
				hl = sizeof(pe->post_head) - 1;
			memcpy(pe->post_head, line, hl);
			pe->post_head[hl] = '\0';
			pe->in_post = 1;
		} else if (strncmp(line, "PROTOCOLINFO", 12) == 0)
			peer_send(pe, "250-PROTOCOLINFO 1\r\n250-AUTH "
			    "METHODS=NULL\r\n250-VERSION Tor=\"9.9\"\r\n"
			    "250 OK\r\n");
		else if (strcmp(line, "AUTHENTICATE") == 0)
			peer_send(pe, "250 OK\r\n");
		else if (strcmp(line, "GETINFO close") == 0) {
			close(pe->cfd);
			pe->cfd = -1;
		} else if (strncmp(line, "GETINFO", 7) == 0)
			/* An unknown event, the answer, and a stray reply
			 * nothing asked for. */
			peer_send(pe, "650 WEIRD_EVENT a b\r\n"
			    "250-version=9.9\r\n250 OK\r\n250 OK\r\n");
		break;
	case PEER_SILENT:
		break;
	case PEER_BADHASH:
	case PEER_SAFECOOKIE:
		if (strncmp(line, "PROTOCOLINFO", 12) == 0) {
			snprintf(buf, sizeof(buf), "250-PROTOCOLINFO 1\r\n"
			    "250-AUTH METHODS=COOKIE,SAFECOOKIE COOKIEFILE="
			    "\"%s\"\r\n250 OK\r\n", pe->cookiefile);
			peer_send(pe, buf);
		} else if (strncmp(line, "AUTHCHALLENGE SAFECOOKIE ", 25)
		    == 0) {
			if (strlen(line) != 25 + 64 || hex_decode(pe->cnonce,
			    32, line + 25, 64) != 0) {
				peer_send(pe, "512 bad nonce\r\n");
				break;
			}
			memset(pe->snonce, 0x5a, 32);
			memset(mac, 0, sizeof(mac));
			if (pe->mode == PEER_SAFECOOKIE)
				CU_ASSERT(torctl_safecookie_hmac(mac, 1,
				    pe->cookie, pe->cnonce, pe->snonce) == 0);
			CU_ASSERT(hex_encode(hex, sizeof(hex), mac, 32, 1)
			    == 0);
			CU_ASSERT(hex_encode(hex2, sizeof(hex2), pe->snonce,
			    32, 1) == 0);
			snprintf(buf, sizeof(buf), "250 AUTHCHALLENGE "
			    "SERVERHASH=%s SERVERNONCE=%s\r\n", hex, hex2);
			peer_send(pe, buf);
		} else if (strncmp(line, "AUTHENTICATE", 12) == 0) {
			if (pe->mode == PEER_BADHASH) {
				pe->authenticate_in_badhash = 1;
				peer_send(pe, "515 no\r\n");
				break;
			}
			CU_ASSERT(torctl_safecookie_hmac(mac, 0, pe->cookie,
			    pe->cnonce, pe->snonce) == 0);
			CU_ASSERT(hex_encode(hex, sizeof(hex), mac, 32, 1)
			    == 0);
			if (strlen(line) == 13 + 64 &&
			    strcmp(line + 13, hex) == 0) {
				pe->safecookie_ok = 1;
				peer_send(pe, "250 OK\r\n");
			} else
				peer_send(pe, "515 Authentication failed\r\n");
		}
		break;
	}
}

static void
peer_io(struct peer *pe, short lrev, short crev)
{
	char	*nl;
	ssize_t	 n;
	size_t	 k;

	if (pe->cfd != -1 && !pe->noread &&
	    (crev & (POLLIN | POLLHUP | POLLERR))) {
		n = recv(pe->cfd, pe->in + pe->inlen,
		    sizeof(pe->in) - 1 - pe->inlen, 0);
		if (n <= 0) {
			close(pe->cfd);
			pe->cfd = -1;
		} else {
			pe->inlen += (size_t)n;
			pe->in[pe->inlen] = '\0';
			while (pe->cfd != -1 &&
			    (nl = strstr(pe->in, "\r\n")) != NULL) {
				*nl = '\0';
				peer_line(pe, pe->in);
				k = (size_t)(nl + 2 - pe->in);
				memmove(pe->in, pe->in + k, pe->inlen - k + 1);
				pe->inlen -= k;
			}
		}
	}
	if ((lrev & POLLIN) && pe->cfd == -1 && pe->accepted < PEER_NMODES) {
		if ((pe->cfd = accept(pe->lfd, NULL, NULL)) != -1) {
			pe->mode = pe->accepted++;
			pe->inlen = 0;
		}
	}
}

static void
hostile_state_cb(struct torctl *tc, enum torctl_state st, const char *why,
    void *arg)
{
	struct hostile	*h = arg;

	if (st == TORCTL_DOWN) {
		h->down++;
		return;
	}
	h->ready++;
}

static void
hostile_event_cb(struct torctl *tc, const struct torctl_reply *rp,
    void *arg)
{
	struct hostile	*h = arg;
	char		 name[32];

	if (torctl_event_name(name, sizeof(name), rp) == 0 &&
	    strcmp(name, "WEIRD_EVENT") == 0)
		h->events++;
}

static void
hostile_reply_cb(struct torctl *tc, const struct torctl_reply *rp,
    void *arg)
{
	struct hostile	*h = arg;
	const uint8_t	*v;
	size_t		 vl;

	if (rp == NULL) {
		h->got_lost++;
		return;
	}
	if (torctl_getinfo_value(rp, "version", &v, &vl) == 0 && vl == 3 &&
	    memcmp(v, "9.9", 3) == 0)
		h->got_version++;
	else if (rp->code == 250 && rp->nlines == 1 &&
	    strcmp(rp->lines[0].text, "OK") == 0)
		h->got_post++;
}

static void
hostile_flood_cb(struct torctl *tc, const struct torctl_reply *rp,
    void *arg)
{
	struct hostile	*h = arg;

	if (rp != NULL && rp->code == 250)
		h->got_flood++;
}

/* Run client and peer until *flag reaches want or ms pass. */
static void
hostile_loop(struct torctl *tc, struct peer *pe, int *flag, int want, int ms)
{
	struct pollfd	pfd[3];
	struct timespec	t0, t1;
	int		to;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (*flag < want) {
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if ((t1.tv_sec - t0.tv_sec) * 1000 +
		    (t1.tv_nsec - t0.tv_nsec) / 1000000 > ms)
			break;
		torctl_pollfd(tc, &pfd[0]);
		pfd[1].fd = pe->lfd;
		pfd[1].events = POLLIN;
		pfd[2].fd = pe->noread ? -1 : pe->cfd;
		pfd[2].events = POLLIN;
		pfd[1].revents = pfd[2].revents = 0;
		to = torctl_timeout(tc);
		if (to < 0 || to > 20)
			to = 20;
		(void)poll(pfd, 3, to);
		torctl_process(tc, pfd[0].fd == -1 ? 0 : pfd[0].revents);
		peer_io(pe, pfd[1].revents, pfd[2].fd == -1 ? 0 :
		    pfd[2].revents);
	}
}

static void
test_client_hostile(void)
{
	struct torctl_config	 c;
	struct sockaddr_in	 sin;
	socklen_t		 sl = sizeof(sin);
	struct peer		 pe;
	struct hostile		 h;
	struct torctl		*tc;
	struct pollfd		 pfd[3];
	struct timespec		 t0, t1;
	char			 addr[64];
	static const char	 post[] = "a\n.b\r\n..\n\nlast";
	uint8_t			 fps[2][TORCTL_FP_LEN];
	FILE			*f;
	int			 to, ms, one = 1;

	memset(&pe, 0, sizeof(pe));
	memset(&h, 0, sizeof(h));
	h.peer = &pe;
	pe.cfd = -1;
	memset(pe.cookie, 0xc0, sizeof(pe.cookie));
	snprintf(pe.cookiefile, sizeof(pe.cookiefile), "%s/hostile-cookie",
	    test_tmpdir());
	CU_ASSERT_FATAL((f = fopen(pe.cookiefile, "wb")) != NULL);
	CU_ASSERT(fwrite(pe.cookie, 1, 32, f) == 32);
	fclose(f);
	CU_ASSERT_FATAL((pe.lfd = socket(AF_INET, SOCK_STREAM, 0)) != -1);
	(void)setsockopt(pe.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(pe.lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(pe.lfd, 4) == -1 ||
	    getsockname(pe.lfd, (struct sockaddr *)&sin, &sl) == -1) {
		close(pe.lfd);
		TEST_SKIP("no loopback listener");
	}
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", ntohs(sin.sin_port));
	memset(&c, 0, sizeof(c));
	c.address = addr;
	c.max_line = 512;
	c.backoff_min_ms = 10;
	c.backoff_max_ms = 40;
	c.cmd_timeout_ms = 300;
	c.max_out = 2 * 1024 * 1024;
	CU_ASSERT_FATAL((tc = torctl_new(&c, hostile_state_cb,
	    hostile_event_cb, &h)) != NULL);
	torctl_start(tc);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		/* Drive the honest NULL-auth connection through its odd
		 * replies, then make the peer hang up mid-command. */
		if (torctl_state(tc) == TORCTL_READY &&
		    pe.mode == PEER_NULLAUTH) {
			if (h.step == 0 ||
			    (h.step == 1 && h.got_version == 1)) {
				CU_ASSERT(torctl_getinfo(tc, "version",
				    hostile_reply_cb, &h) == 0);
				h.step++;
			} else if (h.step == 2 && h.got_version == 2) {
				/* Dot-stuffing and CRLF on the wire. */
				memset(fps[0], 0x11, 20);
				memset(fps[1], 0xab, 20);
				CU_ASSERT(torctl_hspost(tc, ADDR, fps, 2,
				    (const uint8_t *)post, strlen(post),
				    hostile_reply_cb, &h) == 0);
				CU_ASSERT(torctl_hspost(tc, ADDR, fps, 2,
				    (const uint8_t *)"bare\rcr\n", 8, NULL,
				    NULL) == -1);
				h.step++;
			} else if (h.step == 3 && h.got_post == 1) {
				CU_ASSERT(torctl_getinfo(tc, "close",
				    hostile_reply_cb, &h) == 0);
				h.step++;
			}
		}
		if (pe.safecookie_ok && h.ready == 2 &&
		    pe.accepted == PEER_FLOOD)
			break;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ms = (int)((t1.tv_sec - t0.tv_sec) * 1000 +
		    (t1.tv_nsec - t0.tv_nsec) / 1000000);
		if (ms > 10000)
			break;
		torctl_pollfd(tc, &pfd[0]);
		pfd[1].fd = pe.lfd;
		pfd[1].events = POLLIN;
		pfd[2].fd = pe.cfd;
		pfd[2].events = POLLIN;
		pfd[1].revents = pfd[2].revents = 0;
		to = torctl_timeout(tc);
		if (to < 0 || to > 50)
			to = 50;
		(void)poll(pfd, 3, to);
		torctl_process(tc, pfd[0].fd == -1 ? 0 : pfd[0].revents);
		peer_io(&pe, pfd[1].revents, pe.cfd == -1 ? 0 :
		    pfd[2].revents);
	}
	CU_ASSERT(pe.accepted == PEER_FLOOD);
	CU_ASSERT(h.ready == 2);
	CU_ASSERT(h.down >= PEER_FLOOD - 1);
	CU_ASSERT(h.got_version == 2);
	CU_ASSERT(h.got_lost == 1);
	CU_ASSERT(h.got_post == 1);
	CU_ASSERT_STRING_EQUAL(pe.post_head, "+HSPOST "
	    "SERVER=$1111111111111111111111111111111111111111 "
	    "SERVER=$ABABABABABABABABABABABABABABABABABABABAB "
	    "HSADDRESS=" ADDR);
	CU_ASSERT_STRING_EQUAL(pe.post, "a\n..b\n...\n\nlast\n");
	CU_ASSERT(h.events == 2);
	CU_ASSERT(pe.authenticate_in_badhash == 0);
	CU_ASSERT(pe.safecookie_ok == 1);
	CU_ASSERT(torctl_state(tc) == TORCTL_READY);
	torctl_free(tc);

	/*
	 * Back-pressure, with a second client whose command timeout is
	 * long: a peer that stops reading.  The queue takes descriptors up
	 * to max_out, then refuses; once the peer reads again every one
	 * arrives whole and is answered, in order, and the queue (moved
	 * down as it drains) takes more.
	 */
	c.cmd_timeout_ms = 5000;
	CU_ASSERT_FATAL((tc = torctl_new(&c, hostile_state_cb,
	    hostile_event_cb, &h)) != NULL);
	torctl_start(tc);
	hostile_loop(tc, &pe, &h.ready, 3, 5000);
	CU_ASSERT_FATAL(torctl_state(tc) == TORCTL_READY);
	CU_ASSERT(pe.mode == PEER_FLOOD);
	{
		struct buf	*big;
		int		 nq = 0, zero = 0, i;

		CU_ASSERT_FATAL((big = buf_new(0)) != NULL);
		for (i = 0; i < 800; i++)
			CU_ASSERT(buf_putf(big, "%c%062d\n", i % 9 ? 'x' : '.',
			    i) == 0);
		pe.noread = 1;
		while (nq < 1000 && torctl_hspost(tc, ADDR, fps, 1,
		    buf_ptr(big), buf_len(big), hostile_flood_cb, &h) == 0) {
			nq++;
			/* Let some of it reach the socket buffers (well
			 * inside the 300 ms command timeout). */
			if (nq % 10 == 0)
				hostile_loop(tc, &pe, &zero, 1, 10);
		}
		fprintf(stderr, "  hostile: %d x %zu-byte HSPOSTs queued "
		    "before the %u-byte cap\n", nq, buf_len(big),
		    (unsigned)(2 * 1024 * 1024));
		CU_ASSERT(nq >= 20 && nq < 1000);
		pe.noread = 0;
		hostile_loop(tc, &pe, &h.got_flood, nq, 10000);
		CU_ASSERT(h.got_flood == nq);
		CU_ASSERT(pe.nposts == nq + 1);	/* + the one above */
		CU_ASSERT(torctl_state(tc) == TORCTL_READY);
		/* And the queue takes more again. */
		CU_ASSERT(torctl_hspost(tc, ADDR, fps, 1, buf_ptr(big),
		    buf_len(big), hostile_flood_cb, &h) == 0);
		hostile_loop(tc, &pe, &h.got_flood, nq + 1, 5000);
		CU_ASSERT(h.got_flood == nq + 1);
		buf_free(big);
	}
	torctl_free(tc);
	if (pe.cfd != -1)
		close(pe.cfd);
	close(pe.lfd);
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
		fprintf(f, "CookieAuthentication 1\n"
		    "HashedControlPassword %s\n", hash);
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

	/* Subscribe client 1 at run time: it hears the next change too. */
	memset(&r1, 0, sizeof(r1));
	memset(&r2, 0, sizeof(r2));
	LCHECK(torctl_setevents(lc[1].tc, "CONF_CHANGED", live_reply_cb,
	    &r1) == 0);
	LCHECK(torctl_setevents(lc[1].tc, "BAD\r\nQUIT", NULL, NULL) == -1);
	events = lc[0].events;
	LCHECK(torctl_send(lc[2].tc, "SETCONF MaxCircuitDirtiness=750",
	    live_reply_cb, &r2) == 0);
	live_want_init(&w, lc, 4);
	w.res[0] = &r1;
	w.res[1] = &r2;
	w.events[0] = events + 1;
	w.events[1] = 1;
	LCHECK(live_loop(lc, 4, live_cond, &w, 5000) == 0);
	LCHECK(r1.code == 250 && r2.code == 250);
	LCHECK(lc[1].events == 1);

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
			fprintf(stderr, "  SKIP %s: no network namespace: "
			    "%s\n", __func__, strerror(errno));
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
		fprintf(stderr, "  live: failed, tor log in %s/tor.log\n",
		    dir);
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
	{ "client against a hostile peer", test_client_hostile },
	{ "client against real tor", test_client_live },
	{ NULL, NULL }
};

void
test_register_torctl(void)
{
	test_add_suite("torctl", tests);
}
