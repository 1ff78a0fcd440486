/*
 * "obhsm-collector import-onionbalance config.yaml": turn an OnionBalance
 * v3 configuration into an obhsm-collector.conf, so that its users move
 * in one step.
 *
 * OnionBalance reads its file with a full YAML parser, but what it
 * accepts is a fixed shape (onionbalance/hs_v3/onionbalance.py,
 * load_config_file; the sample onionbalance-config writes):
 *
 *	services:
 *	- key: /path/to/key          (or "  - key: ..." indented)
 *	  instances:
 *	  - address: <56 chars>[.onion]
 *	    name: node1
 *
 * plus comments and other top-level keys (REFRESH_INTERVAL,
 * status-socket-location, ...), which are ignored.  This reads exactly
 * that block-style subset, with plain or quoted scalars; anything else
 * (flow style, anchors, multi-line scalars) is refused with its line
 * number rather than guessed at.
 */
#include "config.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "collector.h"
#include "err.h"
#include "hs_keys.h"
#include "log.h"
#include "provision.h"

#define OBI_MAX_LEN		(1024 * 1024)
#define OBI_LINE_MAX		4096
#define OBI_MAX_SERVICES	CONF_MAX_SERVICES
#define OBI_MAX_INSTANCES	SEL_MAX_BACKENDS

struct obi_service {
	char	*key;
	char	*key_path;		/* key, from the YAML's directory */
	char	 addr[HS_ADDR_LEN + 1];	/* master, once known */
	size_t	 line;
	char	 (*inst)[HS_ADDR_LEN + 1];
	size_t	 ninst;
	int	 in_instances;
	size_t	 inst_indent;
	char	 key_hint[HS_ADDR_LEN + 1];	/* from "# <addr>.onion" */
};

struct obi {
	struct obi_service	*svc;
	size_t			 nsvc;
};

static void
obi_clear(struct obi *o)
{
	size_t	i;

	for (i = 0; i < o->nsvc; i++) {
		free(o->svc[i].key);
		free(o->svc[i].key_path);
		free(o->svc[i].inst);
	}
	free(o->svc);
	memset(o, 0, sizeof(*o));
}

/* Leading spaces (tabs are not YAML indentation). */
static int
take_indent(struct buf *v, size_t *n)
{
	*n = 0;
	while (buf_has_prefix(v, " ")) {
		if (buf_consume(v, 1) != 0)
			return OB_ERR_INTERNAL;
		(*n)++;
	}
	return buf_has_prefix(v, "\t") ? OB_ERR_FORMAT : 0;
}

/*
 * Split a view at the start of a comment ("#" at the start or after a
 * space, outside quotes); the comment text goes to *comment.
 */
static void
cut_comment(struct buf *v, struct buf *comment)
{
	const uint8_t	*p = buf_ptr(v);
	size_t		 i, n = buf_len(v);
	uint8_t		 q = 0;

	buf_init_ro(comment, "", 0);
	for (i = 0; i < n; i++) {
		if (q != 0) {
			if (p[i] == q)
				q = 0;
			continue;
		}
		if (p[i] == '\'' || p[i] == '"')
			q = p[i];
		else if (p[i] == '#' && (i == 0 || p[i - 1] == ' ')) {
			buf_init_ro(comment, p + i + 1, n - i - 1);
			buf_init_ro(v, p, i);
			break;
		}
	}
	/* Trailing blanks. */
	n = buf_len(v);
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\r'))
		n--;
	buf_init_ro(v, p, n);
}

/* "key: value" -> key view, value view (unquoted); "key:" -> empty. */
static int
split_kv(struct buf *v, struct buf *k, struct buf *val)
{
	const uint8_t	*p = buf_ptr(v);
	size_t		 i, n = buf_len(v), s;

	for (i = 0; i < n; i++)
		if (p[i] == ':' && (i + 1 == n || p[i + 1] == ' '))
			break;
	if (i == n || i == 0)
		return OB_ERR_FORMAT;
	buf_init_ro(k, p, i);
	for (s = i + 1; s < n && p[s] == ' '; s++)
		;
	buf_init_ro(val, p + s, n - s);
	n = buf_len(val);
	p = buf_ptr(val);
	if (n > 0 && (p[0] == '\'' || p[0] == '"')) {
		if (n < 2 || p[n - 1] != p[0])
			return OB_ERR_FORMAT;
		buf_init_ro(val, p + 1, n - 2);
	}
	return 0;
}

/* Flow collections, anchors, aliases, block scalars: not our subset. */
static int
scalar_plain(const struct buf *val)
{
	static const char *const bad[] = { "{", "[", "&", "*", "|", ">" };
	size_t	i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (buf_has_prefix(val, bad[i]))
			return 0;
	return 1;
}

/* Onion address from a view, canonical (no ".onion"). */
static int
addr_from_view(char out[HS_ADDR_LEN + 1], const struct buf *v)
{
	uint8_t		pk[ED25519_PK_LEN];
	size_t		n = buf_len(v);
	char		tmp[HS_ADDR_LEN + 1];

	if (n == HS_ADDR_LEN + 6 &&
	    memcmp(buf_ptr(v) + HS_ADDR_LEN, ".onion", 6) == 0)
		n = HS_ADDR_LEN;
	if (n != HS_ADDR_LEN)
		return OB_ERR_FORMAT;
	memcpy(tmp, buf_ptr(v), HS_ADDR_LEN);
	tmp[HS_ADDR_LEN] = '\0';
	if (hs_address_decode(pk, tmp) != 0)
		return OB_ERR_FORMAT;
	memcpy(out, tmp, sizeof(tmp));
	return 0;
}

/* An address anywhere in a comment such as "# <addr>.onion". */
static void
hint_from_comment(char out[HS_ADDR_LEN + 1], const struct buf *c)
{
	struct buf	v, w;

	out[0] = '\0';
	buf_init_ro(&v, buf_ptr(c), buf_len(c));
	while (buf_has_prefix(&v, " "))
		if (buf_consume(&v, 1) != 0)
			return;
	while (buf_len(&v) > 0) {
		if (buf_get_word(&v, &w) != 0) {
			w = v;
			buf_init_ro(&v, "", 0);
		}
		if (addr_from_view(out, &w) == 0)
			return;
	}
	out[0] = '\0';
}

static int
svc_add(struct obi *o, size_t line)
{
	struct obi_service	*n;

	if (o->nsvc == OBI_MAX_SERVICES)
		return OB_ERR_LIMIT;
	if ((n = reallocarray(o->svc, o->nsvc + 1, sizeof(*n))) == NULL)
		return OB_ERR_NOMEM;
	o->svc = n;
	memset(&o->svc[o->nsvc], 0, sizeof(o->svc[o->nsvc]));
	o->svc[o->nsvc].line = line;
	o->nsvc++;
	return 0;
}

static int
inst_add(struct obi_service *s, const struct buf *val)
{
	char	 (*n)[HS_ADDR_LEN + 1];
	char	 a[HS_ADDR_LEN + 1];
	size_t	 i;
	int	 e;

	if ((e = addr_from_view(a, val)) != 0)
		return e;
	for (i = 0; i < s->ninst; i++)
		if (strcmp(s->inst[i], a) == 0)
			return OB_ERR_DUPLICATE;
	if (s->ninst == OBI_MAX_INSTANCES)
		return OB_ERR_LIMIT;
	if ((n = reallocarray(s->inst, s->ninst + 1, sizeof(*n))) == NULL)
		return OB_ERR_NOMEM;
	s->inst = n;
	memcpy(s->inst[s->ninst++], a, sizeof(a));
	return 0;
}

/* One service-level key (after an optional "- "). */
static int
svc_kv(struct obi_service *s, struct buf *k, struct buf *val,
    const struct buf *comment, size_t indent, const char **why)
{
	if (buf_eq_str(k, "key")) {
		if (s->key != NULL) {
			*why = "\"key\" given twice";
			return OB_ERR_DUPLICATE;
		}
		if (buf_len(val) == 0 || !scalar_plain(val) ||
		    buf_to_cstr(val, &s->key) != 0) {
			*why = "\"key\" is not a file name";
			return OB_ERR_FORMAT;
		}
		hint_from_comment(s->key_hint, comment);
		return 0;
	}
	if (buf_eq_str(k, "instances")) {
		if (buf_len(val) != 0) {
			*why = "\"instances\" must be a block list";
			return OB_ERR_FORMAT;
		}
		s->in_instances = 1;
		s->inst_indent = indent;
		return 0;
	}
	return 0;	/* other per-service keys: not ours */
}

static int
parse_yaml(struct obi *o, const char *yaml, size_t len, size_t *errline,
    const char **why)
{
	struct buf	 all, line, k, val, comment;
	size_t		 lineno = 0, ind, svc_dash = 0, inst_dash = 0;
	int		 e, in_services = 0, in_inst_item = 0, dash;
	struct obi_service *s = NULL;

	*why = "syntax";
	buf_init_ro(&all, yaml, len);
	while (buf_len(&all) > 0) {
		lineno++;
		*errline = lineno;
		if ((e = buf_get_line(&all, OBI_LINE_MAX, &line, NULL)) != 0) {
			*why = "line too long or has a NUL byte";
			return e;
		}
		if ((e = take_indent(&line, &ind)) != 0) {
			*why = "tab in indentation";
			return e;
		}
		cut_comment(&line, &comment);
		if (buf_len(&line) == 0)
			continue;
		if (buf_eq_str(&line, "---") || buf_eq_str(&line, "...")) {
			continue;
		}
		if (ind == 0 && !buf_has_prefix(&line, "- ")) {
			if ((e = split_kv(&line, &k, &val)) != 0)
				return e;
			in_services = buf_eq_str(&k, "services");
			if (in_services && buf_len(&val) != 0) {
				*why = "\"services\" must be a block list";
				return OB_ERR_FORMAT;
			}
			s = NULL;
			continue;
		}
		if (!in_services)
			continue;	/* inside another top-level key */
		dash = buf_has_prefix(&line, "- ") || buf_eq_str(&line, "-");
		if (dash && (s == NULL || ind <= svc_dash)) {
			/* A new service. */
			if (s != NULL && ind != svc_dash) {
				*why = "bad indentation of a service";
				return OB_ERR_FORMAT;
			}
			if ((e = svc_add(o, lineno)) != 0) {
				*why = "too many services";
				return e;
			}
			s = &o->svc[o->nsvc - 1];
			svc_dash = ind;
			in_inst_item = 0;
			if (buf_consume(&line,
			    buf_len(&line) > 1 ? 2 : 1) != 0)
				return OB_ERR_INTERNAL;
			while (buf_has_prefix(&line, " "))
				if (buf_consume(&line, 1) != 0)
					return OB_ERR_INTERNAL;
			if (buf_len(&line) == 0)
				continue;
			if ((e = split_kv(&line, &k, &val)) != 0)
				return e;
			if ((e = svc_kv(s, &k, &val, &comment, ind + 2,
			    why)) != 0)
				return e;
			continue;
		}
		if (s == NULL) {
			*why = "\"services\" must be a list of maps";
			return OB_ERR_FORMAT;
		}
		if (s->in_instances && ind >= s->inst_indent &&
		    (dash || (in_inst_item && ind > inst_dash))) {
			if (dash) {
				inst_dash = ind;
				in_inst_item = 1;
				if (buf_consume(&line, 2) != 0)
					return OB_ERR_INTERNAL;
				while (buf_has_prefix(&line, " "))
					if (buf_consume(&line, 1) != 0)
						return OB_ERR_INTERNAL;
			}
			if ((e = split_kv(&line, &k, &val)) != 0)
				return e;
			if (buf_eq_str(&k, "address")) {
				if ((e = inst_add(s, &val)) != 0) {
					*why = e == OB_ERR_DUPLICATE ?
					    "instance listed twice" :
					    "not a v3 onion address";
					return e;
				}
			}
			continue;
		}
		if (dash) {
			*why = "list item outside \"instances\"";
			return OB_ERR_FORMAT;
		}
		/* Another key of the service map. */
		s->in_instances = 0;
		in_inst_item = 0;
		if ((e = split_kv(&line, &k, &val)) != 0)
			return e;
		if ((e = svc_kv(s, &k, &val, &comment, ind, why)) != 0)
			return e;
	}
	*errline = 0;
	return 0;
}

/* The master address: from the key file, else from its name or a
 * "# <address>.onion" comment. */
static int
master_addr(struct obi_service *s, const char *dir)
{
	char		 path[PATH_MAX], name[PATH_MAX];
	uint8_t		 sk[ED25519_EXPANDED_LEN], pk[ED25519_PK_LEN];
	struct buf	 v;
	const char	*base;
	size_t		 n;

	/* OnionBalance reads a relative key path from the YAML's
	 * directory; the signer's configuration needs it absolute. */
	if (s->key[0] == '/' || dir == NULL)
		(void)snprintf(path, sizeof(path), "%s", s->key);
	else
		(void)snprintf(path, sizeof(path), "%s/%s", dir, s->key);
	free(s->key_path);
	if ((s->key_path = strdup(path)) == NULL)
		return OB_ERR_NOMEM;
	if (access(path, R_OK) == 0 &&
	    provision_identity_load(sk, pk, path) == 0) {
		ob_wipe(sk, sizeof(sk));
		return hs_address_encode(s->addr, pk);
	}
	/* onionbalance-config names the key "<address>.key". */
	(void)snprintf(name, sizeof(name), "%s", s->key);
	base = strrchr(name, '/') != NULL ? strrchr(name, '/') + 1 : name;
	n = strlen(base);
	if (n > 4 && strcmp(base + n - 4, ".key") == 0) {
		buf_init_ro(&v, base, n - 4);
		if (addr_from_view(s->addr, &v) == 0)
			return 0;
	}
	if (s->key_hint[0] != '\0') {
		memcpy(s->addr, s->key_hint, sizeof(s->addr));
		return 0;
	}
	return OB_ERR_MISSING;
}

int
ob_import(struct buf *out, const char *yaml, size_t len, const char *dir)
{
	struct obi	 o;
	const char	*why = "";
	size_t		 line = 0, i, j;
	int		 e;

	memset(&o, 0, sizeof(o));
	if (len > OBI_MAX_LEN) {
		log_warnx("ob_import: file too large");
		return -1;
	}
	if ((e = parse_yaml(&o, yaml, len, &line, &why)) != 0) {
		log_warnx("ob_import: line %zu: %s (%s)", line, why,
		    ob_strerror(e));
		goto err;
	}
	if (o.nsvc == 0) {
		log_warnx("ob_import: no \"services\" list");
		goto err;
	}
	for (i = 0; i < o.nsvc; i++) {
		struct obi_service *s = &o.svc[i];

		if (s->key == NULL) {
			log_warnx("ob_import: service at line %zu: \"key\" "
			    "is missing", s->line);
			goto err;
		}
		if (s->ninst == 0) {
			log_warnx("ob_import: service at line %zu: no "
			    "instances", s->line);
			goto err;
		}
		if (master_addr(s, dir) != 0) {
			log_warnx("ob_import: service at line %zu: cannot "
			    "tell the onion address of key %s: make it "
			    "readable, or add \"# <address>.onion\" after "
			    "the key", s->line, s->key);
			goto err;
		}
		for (j = 0; j < s->ninst; j++)
			if (strcmp(s->inst[j], s->addr) == 0) {
				log_warnx("ob_import: service %s lists itself "
				    "as an instance", s->addr);
				goto err;
			}
		for (j = 0; j < i; j++)
			if (strcmp(o.svc[j].addr, s->addr) == 0) {
				log_warnx("ob_import: service %s appears "
				    "twice", s->addr);
				goto err;
			}
	}
	if (buf_put_str(out, "# obhsm-collector.conf imported from an "
	    "OnionBalance config.yaml\n# (obhsm-collector "
	    "import-onionbalance).  Global options keep their\n"
	    "# defaults: see obhsm-collector(8) and the shipped\n"
	    "# obhsm-collector.conf.\n#\n# The identity keys stay with "
	    "the signer (online identity mode), or go\n# through an "
	    "obhsm-keytool ceremony (offline identity):\n") != 0)
		goto nomem;
	for (i = 0; i < o.nsvc; i++)
		if (buf_putf(out, "#   %s.onion  key %s\n", o.svc[i].addr,
		    o.svc[i].key_path) != 0)
			goto nomem;
	for (i = 0; i < o.nsvc; i++) {
		struct obi_service *s = &o.svc[i];

		if (buf_putf(out, "\nservice \"%s\" {\n"
		    "\t# OnionBalance put 2 intro points per instance and no "
		    "cap;\n\t# \"steady\" keeps the count fixed (see the "
		    "man page).\n\tintro-policy = \"steady\"\n"
		    "\tintro-points = %zu\n\tbackends = {\n",
		    s->addr, s->ninst * 2 > HS_DESC_MAX_INTRO ?
		    (size_t)HS_DESC_MAX_INTRO : s->ninst * 2) != 0)
			goto nomem;
		for (j = 0; j < s->ninst; j++)
			if (buf_putf(out, "\t\t\"%s.onion\"%s\n", s->inst[j],
			    j + 1 < s->ninst ? "," : "") != 0)
				goto nomem;
		if (buf_put_str(out, "\t}\n}\n") != 0)
			goto nomem;
	}
	obi_clear(&o);
	return 0;
 nomem:
	log_warnx("ob_import: output too large");
 err:
	obi_clear(&o);
	return -1;
}

int
ob_import_file(struct buf *out, const char *path)
{
	FILE	*f;
	char	*data = NULL, *dcopy = NULL;
	size_t	 len = 0;
	long	 sz;
	int	 r = -1;

	if ((f = fopen(path, "r")) == NULL) {
		log_warn("%s", path);
		return -1;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (sz = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		log_warn("%s", path);
		goto out;
	}
	if (sz > OBI_MAX_LEN) {
		log_warnx("%s: larger than %d bytes", path, OBI_MAX_LEN);
		goto out;
	}
	if ((data = malloc((size_t)sz + 1)) == NULL ||
	    (len = fread(data, 1, (size_t)sz, f)) != (size_t)sz) {
		log_warn("%s", path);
		goto out;
	}
	if ((dcopy = strdup(path)) == NULL)
		goto out;
	r = ob_import(out, data, len, dirname(dcopy));
 out:
	free(dcopy);
	free(data);
	fclose(f);
	return r;
}
