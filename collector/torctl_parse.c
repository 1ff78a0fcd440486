/*
 * The control port reply parser (control-spec 2.3) and the event
 * parsers.  Incremental: bytes arrive in pieces of any size; a partial
 * line waits in a bounded buffer, a partial reply in a bounded array.
 */
#include "config.h"

#include <sys/queue.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "encode.h"
#include "err.h"
#include "torctl.h"

struct reply_entry {
	struct torctl_reply		*reply;
	STAILQ_ENTRY(reply_entry)	 entry;
};

struct torctl_parser {
	size_t			 max_line;
	size_t			 max_reply;
	/* a stream error: refuse input */
	int			 failed;
	struct buf		*partial;	/* a line without its LF yet */
	struct torctl_reply	*cur;		/* reply being assembled */
	size_t			 cursize;	/* its bytes, for max_reply */
	size_t			 linecap;	/* allocated cur->lines */
	/* body of a '+' line, or NULL */
	struct buf		*data;
	STAILQ_HEAD(, reply_entry) done;
};

void
torctl_reply_free(struct torctl_reply *r)
{
	size_t	i;

	if (r == NULL)
		return;
	for (i = 0; i < r->nlines; i++) {
		free(r->lines[i].text);
		free(r->lines[i].data);
	}
	free(r->lines);
	free(r);
}

int
torctl_reply_is_event(const struct torctl_reply *r)
{
	return r != NULL && r->code == 650;
}

struct torctl_parser *
torctl_parser_new(size_t max_line, size_t max_reply)
{
	struct torctl_parser	*p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->max_line = max_line ? max_line : TORCTL_MAX_LINE_DEFAULT;
	p->max_reply = max_reply ? max_reply : TORCTL_MAX_REPLY_DEFAULT;
	/* Room for the line, its CR, and one byte to detect overflow. */
	if ((p->partial = buf_new(p->max_line + 2)) == NULL) {
		free(p);
		return NULL;
	}
	STAILQ_INIT(&p->done);
	return p;
}

void
torctl_parser_reset(struct torctl_parser *p)
{
	struct reply_entry	*e;

	while ((e = STAILQ_FIRST(&p->done)) != NULL) {
		STAILQ_REMOVE_HEAD(&p->done, entry);
		torctl_reply_free(e->reply);
		free(e);
	}
	torctl_reply_free(p->cur);
	p->cur = NULL;
	p->cursize = p->linecap = 0;
	buf_free(p->data);
	p->data = NULL;
	buf_reset(p->partial);
	p->failed = 0;
}

void
torctl_parser_free(struct torctl_parser *p)
{
	if (p == NULL)
		return;
	torctl_parser_reset(p);
	buf_free(p->partial);
	free(p);
}

int
torctl_parser_next(struct torctl_parser *p, struct torctl_reply **out)
{
	struct reply_entry	*e;

	if ((e = STAILQ_FIRST(&p->done)) == NULL)
		return 0;
	STAILQ_REMOVE_HEAD(&p->done, entry);
	*out = e->reply;
	free(e);
	return 1;
}

/* Account n more bytes to the reply being built. */
static int
parser_charge(struct torctl_parser *p, size_t n)
{
	if (n > p->max_reply || p->cursize > p->max_reply - n)
		return OB_ERR_TOO_LARGE;
	p->cursize += n;
	return 0;
}

/* The reply is complete: queue it. */
static int
parser_finish_reply(struct torctl_parser *p)
{
	struct reply_entry	*e;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		return OB_ERR_NOMEM;
	e->reply = p->cur;
	STAILQ_INSERT_TAIL(&p->done, e, entry);
	p->cur = NULL;
	p->cursize = p->linecap = 0;
	return 0;
}

/* A status line "NNNx text": add it to the current reply. */
static int
parser_status_line(struct torctl_parser *p, struct buf *line)
{
	struct torctl_line	*l, *nl;
	uint8_t			 c[4];
	size_t			 ncap;
	int			 code, r, i;

	if ((r = buf_get_bytes(line, c, sizeof(c))) != 0)
		return OB_ERR_FORMAT;
	for (i = 0; i < 3; i++)
		if (c[i] < '0' || c[i] > '9')
			return OB_ERR_FORMAT;
	if (c[0] == '0')
		return OB_ERR_FORMAT;
	code = (c[0] - '0') * 100 + (c[1] - '0') * 10 + (c[2] - '0');
	if (c[3] != ' ' && c[3] != '-' && c[3] != '+')
		return OB_ERR_FORMAT;
	if ((r = parser_charge(p, buf_len(line) + 4 +
	    sizeof(struct torctl_line))) != 0)
		return r;
	if (p->cur == NULL) {
		if ((p->cur = calloc(1, sizeof(*p->cur))) == NULL)
			return OB_ERR_NOMEM;
		p->cur->code = code;
	} else if (p->cur->code != code) {
		/* control-spec 2.3: all lines of a reply share the code. */
		return OB_ERR_FORMAT;
	}
	if (p->cur->nlines == p->linecap) {
		ncap = p->linecap ? p->linecap * 2 : 4;
		if ((nl = reallocarray(p->cur->lines, ncap,
		    sizeof(*nl))) == NULL)
			return OB_ERR_NOMEM;
		p->cur->lines = nl;
		p->linecap = ncap;
	}
	l = &p->cur->lines[p->cur->nlines];
	memset(l, 0, sizeof(*l));
	l->code = code;
	l->sep = (char)c[3];
	if ((r = buf_to_cstr(line, &l->text)) != 0)
		return r;
	p->cur->nlines++;
	if (l->sep == '+') {
		if ((p->data = buf_new(p->max_reply)) == NULL)
			return OB_ERR_NOMEM;
		return 0;
	}
	if (l->sep == ' ')
		return parser_finish_reply(p);
	return 0;
}

/* A line inside a data body: "." ends it; a leading "." is unstuffed. */
static int
parser_data_line(struct torctl_parser *p, struct buf *line)
{
	struct torctl_line	*l;
	char			*s;
	int			 r;

	if (buf_eq_str(line, ".")) {
		l = &p->cur->lines[p->cur->nlines - 1];
		l->datalen = buf_len(p->data);
		/* Lines never carry NULs (parser_line), so a C string copy
		 * is exact; an empty body was never allocated. */
		if (l->datalen == 0) {
			if ((l->data = calloc(1, 1)) == NULL)
				return OB_ERR_NOMEM;
		} else if ((r = buf_dup_cstr(p->data, &s)) != 0)
			return r;
		else
			l->data = (uint8_t *)s;
		buf_free(p->data);
		p->data = NULL;
		return 0;
	}
	if (buf_has_prefix(line, ".") && (r = buf_consume(line, 1)) != 0)
		return r;
	if ((r = parser_charge(p, buf_len(line) + 1)) != 0)
		return r;
	if ((r = buf_put(p->data, buf_ptr(line), buf_len(line))) != 0 ||
	    (r = buf_put_u8(p->data, '\n')) != 0)
		return r;
	return 0;
}

/* One complete line (LF removed): strip the CR and dispatch. */
static int
parser_line(struct torctl_parser *p, struct buf *line)
{
	struct buf	l;
	size_t		n = buf_len(line);

	if (n > 0 && buf_ptr(line)[n - 1] == '\r')
		n--;
	if (n > p->max_line)
		return OB_ERR_TOO_LARGE;
	if (memchr(buf_ptr(line), '\0', n) != NULL)
		return OB_ERR_FORMAT;
	buf_init_ro(&l, buf_ptr(line), n);
	if (p->data != NULL)
		return parser_data_line(p, &l);
	return parser_status_line(p, &l);
}

int
torctl_parser_feed(struct torctl_parser *p, const void *data, size_t len)
{
	struct buf	 in, line;
	const uint8_t	*nl;
	size_t		 n;
	int		 r = 0;

	if (p->failed)
		return OB_ERR_FORMAT;
	buf_init_ro(&in, data, len);
	while (buf_len(&in) > 0) {
		nl = memchr(buf_ptr(&in), '\n', buf_len(&in));
		if (nl == NULL) {
			/* Keep the fragment; the partial buffer's max is the
			 * line cap (plus CR), so overlong lines fail here. */
			if ((r = buf_put(p->partial, buf_ptr(&in),
			    buf_len(&in))) != 0)
				goto err;
			break;
		}
		n = (size_t)(nl - buf_ptr(&in));
		if (buf_len(p->partial) == 0) {
			if ((r = buf_get_view(&in, n, &line)) != 0)
				goto err;
		} else {
			if ((r = buf_put(p->partial, buf_ptr(&in), n)) != 0 ||
			    (r = buf_consume(&in, n)) != 0)
				goto err;
			buf_init_ro(&line, buf_ptr(p->partial),
			    buf_len(p->partial));
		}
		if ((r = buf_consume(&in, 1)) != 0)	/* the LF */
			goto err;
		r = parser_line(p, &line);
		buf_reset(p->partial);
		if (r != 0)
			goto err;
	}
	return 0;
 err:
	p->failed = 1;
	return r;
}

/* ------------------------------------------------------------------ */
/* Helpers over a reply's text                                          */

int
torctl_event_name(char *out, size_t outlen, const struct torctl_reply *r)
{
	struct buf	 t, w;
	const char	*s;
	int		 rv;

	if (r == NULL || r->nlines == 0)
		return OB_ERR_FORMAT;
	s = r->lines[0].text;
	buf_init_ro(&t, s, strlen(s));
	if (buf_len(&t) == 0)
		return OB_ERR_FORMAT;
	/* The name ends at a space or at the end of the line. */
	if (memchr(buf_ptr(&t), ' ', buf_len(&t)) != NULL) {
		if ((rv = buf_get_word(&t, &w)) != 0)
			return rv;
	} else
		w = t;
	if (buf_len(&w) + 1 > outlen)
		return OB_ERR_TOO_LARGE;
	memcpy(out, buf_ptr(&w), buf_len(&w));
	out[buf_len(&w)] = '\0';
	return 0;
}

/*
 * Split the next token off a space-separated line: a word, or a
 * Key="quoted string" kept whole.  Empty tokens are errors.
 */
static int
text_next_token(struct buf *t, struct buf *tok)
{
	const uint8_t	*s = buf_ptr(t);
	size_t		 n = buf_len(t), i = 0;
	int		 inq = 0, r;

	if (n == 0)
		return OB_ERR_MISSING;
	while (i < n && (inq || s[i] != ' ')) {
		if (inq && s[i] == '\\' && i + 1 < n)
			i++;
		else if (s[i] == '"')
			inq = !inq;
		i++;
	}
	if (inq || i == 0)
		return OB_ERR_FORMAT;
	if ((r = buf_get_view(t, i, tok)) != 0)
		return r;
	if (buf_len(t) > 0 && (r = buf_consume(t, 1)) != 0)
		return r;
	if (buf_len(t) == 0 && i < n)
		return OB_ERR_FORMAT;	/* trailing space */
	return 0;
}

/* Unquote a control-spec QuotedString (C escapes, \ooo octal). */
static int
text_unquote(const struct buf *v, char **out)
{
	struct buf	*o = NULL;
	struct buf	 in = *v;
	uint8_t		 c;
	int		 r;

	if ((o = buf_new(buf_len(v) + 1)) == NULL)
		return OB_ERR_NOMEM;
	if ((r = buf_get_u8(&in, &c)) != 0 || c != '"') {
		r = OB_ERR_FORMAT;
		goto err;
	}
	for (;;) {
		if ((r = buf_get_u8(&in, &c)) != 0) {
			r = OB_ERR_FORMAT;
			goto err;
		}
		if (c == '"')
			break;
		if (c == '\\') {
			if ((r = buf_get_u8(&in, &c)) != 0) {
				r = OB_ERR_FORMAT;
				goto err;
			}
			switch (c) {
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case 't': c = '\t'; break;
			default: break;
			}
			/* tor's esc_for_log() writes other bytes as \ooo. */
			if (c >= '0' && c <= '7' && buf_len(&in) >= 2 &&
			    buf_ptr(&in)[0] >= '0' && buf_ptr(&in)[0] <= '7' &&
			    buf_ptr(&in)[1] >= '0' && buf_ptr(&in)[1] <= '7') {
				unsigned oct = (unsigned)(c - '0') * 64 +
				    (unsigned)(buf_ptr(&in)[0] - '0') * 8 +
				    (unsigned)(buf_ptr(&in)[1] - '0');

				if (oct > 255 || oct == 0 ||
				    buf_consume(&in, 2) != 0) {
					r = OB_ERR_FORMAT;
					goto err;
				}
				c = (uint8_t)oct;
			}
		}
		if ((r = buf_put_u8(o, c)) != 0)
			goto err;
	}
	if (buf_len(&in) != 0) {
		r = OB_ERR_FORMAT;
		goto err;
	}
	r = buf_dup_cstr(o, out);
 err:
	buf_free(o);
	return r;
}

int
torctl_kv_get(const char *text, const char *key, char **out)
{
	struct buf	t, tok;
	size_t		klen = strlen(key);
	int		r;

	*out = NULL;
	buf_init_ro(&t, text, strlen(text));
	while (buf_len(&t) > 0) {
		if ((r = text_next_token(&t, &tok)) != 0)
			return r;
		if (buf_len(&tok) <= klen ||
		    memcmp(buf_ptr(&tok), key, klen) != 0 ||
		    buf_ptr(&tok)[klen] != '=')
			continue;
		if ((r = buf_consume(&tok, klen + 1)) != 0)
			return r;
		if (buf_has_prefix(&tok, "\""))
			return text_unquote(&tok, out);
		return buf_to_cstr(&tok, out);
	}
	return OB_ERR_MISSING;
}

int
torctl_getinfo_value(const struct torctl_reply *r, const char *key,
    const uint8_t **val, size_t *vallen)
{
	const struct torctl_line	*l;
	size_t				 i, klen = strlen(key);

	if (r == NULL || r->code != 250)
		return OB_ERR_FORMAT;
	for (i = 0; i < r->nlines; i++) {
		l = &r->lines[i];
		if (strncmp(l->text, key, klen) != 0 || l->text[klen] != '=')
			continue;
		if (l->sep == '+') {
			/* "250+key=" then the body. */
			if (l->text[klen + 1] != '\0' || l->data == NULL)
				return OB_ERR_FORMAT;
			*val = l->data;
			*vallen = l->datalen;
		} else {
			*val = (const uint8_t *)l->text + klen + 1;
			*vallen = strlen(l->text + klen + 1);
		}
		return 0;
	}
	return OB_ERR_MISSING;
}

/* ------------------------------------------------------------------ */
/* Events                                                              */

static int
tok_eq(const struct buf *tok, const char *s)
{
	return buf_eq_str(tok, s);
}

/* HsDir = "$" 40HEX [("~"|"=") Nickname] / "$" 40HEX / "UNKNOWN". */
static int
parse_longname(const struct buf *tok, uint8_t fp[TORCTL_FP_LEN], int *has)
{
	struct buf	t = *tok;
	uint8_t		c;
	int		r;

	*has = 0;
	if (tok_eq(tok, "UNKNOWN"))
		return 0;
	if ((r = buf_get_u8(&t, &c)) != 0 || c != '$' || buf_len(&t) < 40)
		return OB_ERR_FORMAT;
	if ((r = hex_decode(fp, TORCTL_FP_LEN, (const char *)buf_ptr(&t),
	    40)) != 0)
		return OB_ERR_FORMAT;
	if ((r = buf_consume(&t, 40)) != 0)
		return r;
	if (buf_len(&t) > 0) {
		if ((r = buf_get_u8(&t, &c)) != 0 || (c != '~' && c != '=') ||
		    buf_len(&t) < 1 || buf_len(&t) > 19)
			return OB_ERR_FORMAT;
		while (buf_len(&t) > 0) {
			if ((r = buf_get_u8(&t, &c)) != 0 || !isalnum(c))
				return OB_ERR_FORMAT;
		}
	}
	*has = 1;
	return 0;
}

/* HSAddress: 56 base32 chars, or UNKNOWN (v2's 16 are not v3: refuse). */
static int
parse_hsaddr(const struct buf *tok, char out[TORCTL_ADDR_LEN + 1], int *has)
{
	size_t	i;
	uint8_t	c;

	*has = 0;
	out[0] = '\0';
	if (tok_eq(tok, "UNKNOWN"))
		return 0;
	if (buf_len(tok) != TORCTL_ADDR_LEN)
		return OB_ERR_FORMAT;
	for (i = 0; i < TORCTL_ADDR_LEN; i++) {
		c = buf_ptr(tok)[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '2' && c <= '7')))
			return OB_ERR_FORMAT;
		out[i] = (char)c;
	}
	out[TORCTL_ADDR_LEN] = '\0';
	*has = 1;
	return 0;
}

/* DescId: a 43-char unpadded base64 blinded key (v3). */
static int
parse_descid(const struct buf *tok, uint8_t out[TORCTL_BLINDED_LEN])
{
	size_t	n;

	if (buf_len(tok) != 43)
		return OB_ERR_FORMAT;
	if (b64_decode(out, TORCTL_BLINDED_LEN, &n, tok, B64_NOPAD) != 0 ||
	    n != TORCTL_BLINDED_LEN)
		return OB_ERR_FORMAT;
	return 0;
}

static const struct {
	const char		*name;
	enum torctl_hs_action	 action;
} hs_actions[] = {
	{ "REQUESTED",	TORCTL_HS_REQUESTED },
	{ "UPLOAD",	TORCTL_HS_UPLOAD },
	{ "RECEIVED",	TORCTL_HS_RECEIVED },
	{ "UPLOADED",	TORCTL_HS_UPLOADED },
	{ "IGNORE",	TORCTL_HS_IGNORE },
	{ "FAILED",	TORCTL_HS_FAILED },
	{ "CREATED",	TORCTL_HS_CREATED },
};

int
torctl_parse_hs_desc(struct torctl_hs_desc *ev, const struct torctl_reply *rp)
{
	struct buf	t, tok;
	size_t		i, n;
	int		r, found = 0;

	memset(ev, 0, sizeof(*ev));
	if (rp == NULL || rp->code != 650 || rp->nlines != 1)
		return OB_ERR_FORMAT;
	buf_init_ro(&t, rp->lines[0].text, strlen(rp->lines[0].text));
	if ((r = text_next_token(&t, &tok)) != 0 || !tok_eq(&tok, "HS_DESC"))
		return OB_ERR_FORMAT;
	if ((r = text_next_token(&t, &tok)) != 0)
		return OB_ERR_FORMAT;
	for (i = 0; i < sizeof(hs_actions) / sizeof(hs_actions[0]); i++) {
		if (tok_eq(&tok, hs_actions[i].name)) {
			ev->action = hs_actions[i].action;
			found = 1;
		}
	}
	if (!found)
		return OB_ERR_FORMAT;
	/* HSAddress AuthType HsDir */
	if ((r = text_next_token(&t, &tok)) != 0 ||
	    (r = parse_hsaddr(&tok, ev->address, &ev->has_address)) != 0)
		return OB_ERR_FORMAT;
	if ((r = text_next_token(&t, &tok)) != 0)
		return OB_ERR_FORMAT;
	if ((r = text_next_token(&t, &tok)) != 0 ||
	    (r = parse_longname(&tok, ev->hsdir, &ev->has_hsdir)) != 0)
		return OB_ERR_FORMAT;
	/* [DescId] then keyword arguments, in any order; unknown keywords
	 * are skipped (control-spec 4.1: extensions add fields). */
	while (buf_len(&t) > 0) {
		if ((r = text_next_token(&t, &tok)) != 0)
			return OB_ERR_FORMAT;
		if (memchr(buf_ptr(&tok), '=', buf_len(&tok)) == NULL) {
			if (ev->has_blinded ||
			    parse_descid(&tok, ev->blinded) != 0)
				return OB_ERR_FORMAT;
			ev->has_blinded = 1;
		} else if (buf_has_prefix(&tok, "REASON=")) {
			n = buf_len(&tok) - 7;
			if (n == 0 || n >= sizeof(ev->reason))
				return OB_ERR_FORMAT;
			memcpy(ev->reason, buf_ptr(&tok) + 7, n);
			ev->reason[n] = '\0';
		} else if (buf_has_prefix(&tok, "HSDIR_INDEX=")) {
			if (buf_len(&tok) != 12 + 64 ||
			    hex_decode(ev->hsdir_index,
			    sizeof(ev->hsdir_index),
			    (const char *)buf_ptr(&tok) + 12, 64) != 0)
				return OB_ERR_FORMAT;
			ev->has_hsdir_index = 1;
		}
	}
	return 0;
}

int
torctl_parse_hs_desc_content(struct torctl_hs_desc_content *ev,
    const struct torctl_reply *rp)
{
	struct buf	t, tok;
	int		r;

	memset(ev, 0, sizeof(*ev));
	/* 650+HS_DESC_CONTENT ... <body> . 650 OK */
	if (rp == NULL || rp->code != 650 || rp->nlines != 2 ||
	    rp->lines[0].sep != '+' || rp->lines[0].data == NULL ||
	    strcmp(rp->lines[1].text, "OK") != 0)
		return OB_ERR_FORMAT;
	buf_init_ro(&t, rp->lines[0].text, strlen(rp->lines[0].text));
	if ((r = text_next_token(&t, &tok)) != 0 ||
	    !tok_eq(&tok, "HS_DESC_CONTENT"))
		return OB_ERR_FORMAT;
	if ((r = text_next_token(&t, &tok)) != 0 ||
	    (r = parse_hsaddr(&tok, ev->address, &ev->has_address)) != 0)
		return OB_ERR_FORMAT;
	if ((r = text_next_token(&t, &tok)) != 0)
		return OB_ERR_FORMAT;
	if (!tok_eq(&tok, "UNKNOWN")) {
		if (parse_descid(&tok, ev->blinded) != 0)
			return OB_ERR_FORMAT;
		ev->has_blinded = 1;
	}
	if ((r = text_next_token(&t, &tok)) != 0 ||
	    (r = parse_longname(&tok, ev->hsdir, &ev->has_hsdir)) != 0)
		return OB_ERR_FORMAT;
	if (buf_len(&t) != 0)
		return OB_ERR_FORMAT;
	ev->body = rp->lines[0].data;
	ev->bodylen = rp->lines[0].datalen;
	/* tor 0.4.9 escapes an empty descriptor as one empty line
	 * ("\r\n.\r\n"): that is the failure case, not a body. */
	if (ev->bodylen == 1 && ev->body[0] == '\n')
		ev->bodylen = 0;
	return 0;
}

static int
copy_token(char *out, size_t outlen, const struct buf *tok)
{
	if (buf_len(tok) == 0 || buf_len(tok) >= outlen)
		return OB_ERR_FORMAT;
	memcpy(out, buf_ptr(tok), buf_len(tok));
	out[buf_len(tok)] = '\0';
	return 0;
}

int
torctl_parse_status(struct torctl_status *ev, const struct torctl_reply *rp)
{
	struct buf	t, tok;
	const char	*text;
	int		r;

	memset(ev, 0, sizeof(*ev));
	if (rp == NULL || rp->code != 650 || rp->nlines != 1)
		return OB_ERR_FORMAT;
	text = rp->lines[0].text;
	buf_init_ro(&t, text, strlen(text));
	if ((r = text_next_token(&t, &tok)) != 0 ||
	    (r = copy_token(ev->type, sizeof(ev->type), &tok)) != 0)
		return OB_ERR_FORMAT;
	if (strcmp(ev->type, "STATUS_CLIENT") != 0 &&
	    strcmp(ev->type, "STATUS_GENERAL") != 0 &&
	    strcmp(ev->type, "STATUS_SERVER") != 0)
		return OB_ERR_FORMAT;
	if ((r = text_next_token(&t, &tok)) != 0 ||
	    (r = copy_token(ev->severity, sizeof(ev->severity), &tok)) != 0)
		return OB_ERR_FORMAT;
	if ((r = text_next_token(&t, &tok)) != 0 ||
	    (r = copy_token(ev->action, sizeof(ev->action), &tok)) != 0)
		return OB_ERR_FORMAT;
	/* The rest, as a C string inside the reply's own text. */
	ev->args = text + (strlen(text) - buf_len(&t));
	return 0;
}

int
torctl_event_is_new_consensus(const struct torctl_reply *rp)
{
	struct torctl_status	st;
	char			name[32];

	if (!torctl_reply_is_event(rp) ||
	    torctl_event_name(name, sizeof(name), rp) != 0)
		return 0;
	if (strcmp(name, "NEWCONSENSUS") == 0)
		return 1;
	return torctl_parse_status(&st, rp) == 0 &&
	    strcmp(st.type, "STATUS_CLIENT") == 0 &&
	    strcmp(st.action, "CONSENSUS_ARRIVED") == 0;
}
