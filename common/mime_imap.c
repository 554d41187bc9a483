/*
 * mime_imap.c - IMAP BODY, BODYSTRUCTURE and ENVELOPE strings (RFC 3501
 * 7.4.2) from a parsed part tree.
 *
 * Trusts the tree mime.c built (offsets inside the message, depth within
 * LIMIT_MIME_DEPTH, so the recursion is bounded). Strings are written as
 * quoted strings unless they hold CR, LF, 8-bit bytes or many quoted
 * specials, then as literals; white space in subjects and names is
 * cleaned for humans; defaults are "text" "plain" ("charset" "us-ascii")
 * "7bit". These choices are Dovecot 2.3's, so answers match it byte for
 * byte. Output past LIMIT_MIME_STRUCTURE is replaced by a one-part
 * structure of the same size.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MIME_INTERNAL
#include "limits.h"
#include "mime.h"
#include "xalloc.h"

/* Dovecot switches from quoted to literal after this many escapes. */
#define QUOTED_MAX_ESCAPES	4

struct out {
	struct buf b;
	bool overflow;
};

static void
put(struct out *o, const void *p, size_t n)
{
	if (buf_append(&o->b, p, n) < 0)
		o->overflow = true;
}

static void
puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static void
literal(struct out *o, const char *s, size_t n)
{
	char hdr[32];
	int k = snprintf(hdr, sizeof(hdr), "{%zu}\r\n", n);

	put(o, hdr, (size_t)k);
	put(o, s, n);
}

/* RFC 3501 4.3: string as quoted or literal; NULL is NIL. */
static void
nstring(struct out *o, const char *s)
{
	unsigned int escapes = 0;
	size_t i;

	if (s == NULL) {
		puts_(o, "NIL");
		return;
	}
	for (i = 0; s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			if (escapes++ >= QUOTED_MAX_ESCAPES)
				break;
		} else if (c == '\r' || c == '\n' || c >= 0x80) {
			break;
		}
	}
	if (s[i] != '\0') {
		literal(o, s, strlen(s));
		return;
	}
	put(o, "\"", 1);
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] == '"' || s[i] == '\\')
			put(o, "\\", 1);
		put(o, &s[i], 1);
	}
	put(o, "\"", 1);
}

/* nstring without line breaks: a folded value is one line in IMAP. */
static void
nstring_nolf(struct out *o, const char *s)
{
	char *t;
	size_t i, j = 0;

	if (s == NULL || strpbrk(s, "\r\n") == NULL) {
		nstring(o, s);
		return;
	}
	t = xmalloc(strlen(s) + 1);
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] != '\r' && s[i] != '\n')
			t[j++] = s[i];
		else if (s[i + 1] != ' ' && s[i + 1] != '\t' &&
		    s[i + 1] != '\r' && s[i + 1] != '\n' && s[i + 1] != '\0')
			t[j++] = ' ';
	}
	t[j] = '\0';
	nstring(o, t);
	free(t);
}

/* A string for people (subject, display name): tabs and runs of spaces
 * become one space, line breaks go, leading and trailing white space
 * goes; when anything changed it is sent as a literal. */
static void
string_for_humans(struct out *o, const char *s)
{
	size_t i, size = strlen(s), remove = 0, start;
	bool ws_prefix = true, last_lwsp = true, modify = false;

	for (i = 0; i < size; i++) {
		unsigned char c = (unsigned char)s[i];

		switch (c) {
		case '\t':
			modify = true;
			/* FALLTHROUGH */
		case ' ':
			if (last_lwsp) {
				modify = true;
				remove++;
			}
			last_lwsp = true;
			break;
		case '\r':
		case '\n':
			remove++;
			modify = true;
			break;
		case '"':
		case '\\':
			modify = true;
			last_lwsp = false;
			break;
		default:
			if (c >= 0x80)
				modify = true;
			last_lwsp = false;
			break;
		}
		if (!last_lwsp)
			ws_prefix = false;
	}
	if (last_lwsp && i > 0 && !ws_prefix) {
		modify = true;
		remove++;
	}
	if (!modify) {
		put(o, "\"", 1);
		put(o, s, size);
		put(o, "\"", 1);
		return;
	}
	if (size == remove) {
		puts_(o, "\"\"");
		return;
	}
	{
		char hdr[32];
		int k = snprintf(hdr, sizeof(hdr), "{%zu}\r\n", size - remove);

		put(o, hdr, (size_t)k);
	}
	start = o->b.len;
	last_lwsp = true;
	ws_prefix = true;
	for (i = 0; i < size; i++) {
		switch (s[i]) {
		case ' ':
		case '\t':
			if (!last_lwsp)
				put(o, " ", 1);
			last_lwsp = true;
			break;
		case '\r':
		case '\n':
			break;
		default:
			last_lwsp = false;
			put(o, &s[i], 1);
			break;
		}
		if (!last_lwsp)
			ws_prefix = false;
	}
	if (last_lwsp && i > 0 && !ws_prefix && o->b.len > start)
		o->b.len--;
}

static void
params_write(struct out *o, const struct mime_params *p, bool def_charset)
{
	unsigned int i;
	bool seen = false;

	if (!def_charset && p->n == 0) {
		puts_(o, "NIL");
		return;
	}
	put(o, "(", 1);
	for (i = 0; i < p->n; i++) {
		if (i > 0)
			put(o, " ", 1);
		if (def_charset && strcasecmp(p->v[i].name, "charset") == 0)
			seen = true;
		nstring(o, p->v[i].name);
		put(o, " ", 1);
		nstring(o, p->v[i].value);
	}
	if (def_charset && !seen) {
		if (i > 0)
			put(o, " ", 1);
		puts_(o, "\"charset\" \"us-ascii\"");
	}
	put(o, ")", 1);
}

static void
addresses(struct out *o, const struct mime_addrlist *l)
{
	unsigned int i;

	if (l == NULL || l->n == 0) {
		puts_(o, "NIL");
		return;
	}
	put(o, "(", 1);
	for (i = 0; i < l->n; i++) {
		const struct mime_addr *a = &l->v[i];

		put(o, "(", 1);
		if (a->name == NULL)
			puts_(o, "NIL");
		else
			string_for_humans(o, a->name);
		put(o, " ", 1);
		nstring(o, a->route);
		put(o, " ", 1);
		nstring(o, a->mailbox);
		put(o, " ", 1);
		nstring(o, a->domain);
		put(o, ")", 1);
	}
	put(o, ")", 1);
}

/* The ENVELOPE fields without the outer parentheses. RFC 3501 7.4.2:
 * Sender and Reply-To default to From. */
static void
envelope(struct out *o, const struct mime_envelope *e)
{
	if (e == NULL) {
		puts_(o, "NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL");
		return;
	}
	nstring_nolf(o, e->date);
	put(o, " ", 1);
	if (e->subject == NULL)
		puts_(o, "NIL");
	else
		string_for_humans(o, e->subject);
	put(o, " ", 1);
	addresses(o, &e->from);
	put(o, " ", 1);
	addresses(o, e->sender.n > 0 ? &e->sender : &e->from);
	put(o, " ", 1);
	addresses(o, e->reply_to.n > 0 ? &e->reply_to : &e->from);
	put(o, " ", 1);
	addresses(o, &e->to);
	put(o, " ", 1);
	addresses(o, &e->cc);
	put(o, " ", 1);
	addresses(o, &e->bcc);
	put(o, " ", 1);
	nstring_nolf(o, e->in_reply_to);
	put(o, " ", 1);
	nstring_nolf(o, e->message_id);
}

struct tree {
	const struct mime_part *parts;
	struct mime_pdata *const *pd;
};

static void write_part(struct out *o, const struct tree *t, int i, bool ext);

/* body-ext-1part / body-ext-mpart after the MD5 or parameters. */
static void
ext_common(struct out *o, const struct mime_pdata *d)
{
	unsigned int i;

	put(o, " ", 1);
	if (d->disposition == NULL) {
		puts_(o, "NIL");
	} else {
		put(o, "(", 1);
		nstring(o, d->disposition);
		put(o, " ", 1);
		params_write(o, &d->disp_params, false);
		put(o, ")", 1);
	}
	put(o, " ", 1);
	if (d->nlanguage == 0) {
		puts_(o, "NIL");
	} else {
		put(o, "(", 1);
		for (i = 0; i < d->nlanguage; i++) {
			if (i > 0)
				put(o, " ", 1);
			nstring(o, d->language[i]);
		}
		put(o, ")", 1);
	}
	put(o, " ", 1);
	nstring_nolf(o, d->location);
}

static void
children(struct out *o, const struct tree *t, int first, bool ext)
{
	int c;

	for (c = first; c >= 0; c = t->parts[c].next_sibling) {
		put(o, "(", 1);
		write_part(o, t, c, ext);
		put(o, ")", 1);
	}
}

static void
write_part(struct out *o, const struct tree *t, int i, bool ext)
{
	const struct mime_part *m = &t->parts[i];
	const struct mime_pdata *d = t->pd[i];
	char num[64];
	bool text;

	if ((m->flags & MIME_PART_MULTIPART) != 0) {
		if (m->first_child >= 0) {
			children(o, t, m->first_child, ext);
		} else {
			/* RFC 2046 5.1.1 needs one part; write an empty one */
			puts_(o, "(\"text\" \"plain\" (\"charset\" "
			    "\"us-ascii\") NIL NIL \"7bit\" 0 0");
			puts_(o, ext ? " NIL NIL NIL NIL)" : ")");
		}
		put(o, " ", 1);
		nstring(o, d->subtype != NULL ? d->subtype : "");
		if (!ext)
			return;
		put(o, " ", 1);
		params_write(o, &d->type_params, false);
		ext_common(o, d);
		return;
	}
	if ((m->flags & MIME_PART_MESSAGE) != 0) {
		puts_(o, "\"message\" \"rfc822\"");
		text = false;
	} else if (d->type == NULL) {
		puts_(o, "\"text\" \"plain\"");
		text = true;
	} else {
		text = strcasecmp(d->type, "text") == 0;
		nstring(o, d->type);
		put(o, " ", 1);
		nstring(o, d->subtype != NULL ? d->subtype : "");
	}
	put(o, " ", 1);
	params_write(o, &d->type_params, text);
	put(o, " ", 1);
	nstring_nolf(o, d->id);
	put(o, " ", 1);
	nstring_nolf(o, d->description);
	put(o, " ", 1);
	if (d->cte != NULL)
		nstring(o, d->cte);
	else
		puts_(o, "\"7bit\"");
	snprintf(num, sizeof(num), " %" PRIu64, m->body_vsize);
	puts_(o, num);
	if (text) {
		snprintf(num, sizeof(num), " %" PRIu32, m->body_lines);
		puts_(o, num);
	} else if ((m->flags & MIME_PART_MESSAGE) != 0 &&
	    m->first_child >= 0) {
		put(o, " (", 2);
		envelope(o, t->pd[m->first_child]->env);
		put(o, ") ", 2);
		children(o, t, m->first_child, ext);
		snprintf(num, sizeof(num), " %" PRIu32, m->body_lines);
		puts_(o, num);
	}
	if (!ext)
		return;
	put(o, " ", 1);
	nstring_nolf(o, d->md5);
	ext_common(o, d);
}

static char *
finish(struct out *o)
{
	char *s;

	if (o->overflow) {
		buf_free(&o->b);
		return NULL;
	}
	s = mime_strndup(o->b.data != NULL ? o->b.data : "", o->b.len);
	buf_free(&o->b);
	return s;
}

static char *
structure(const struct tree *t, bool ext)
{
	struct out o;
	char *s;

	memset(&o, 0, sizeof(o));
	buf_init(&o.b, LIMIT_MIME_STRUCTURE);
	put(&o, "(", 1);
	write_part(&o, t, 0, ext);
	put(&o, ")", 1);
	if ((s = finish(&o)) != NULL)
		return s;
	/* over the limit: the message as one opaque part of its size */
	return xasprintf("(\"application\" \"octet-stream\" NIL NIL NIL "
	    "\"7bit\" %" PRIu64 "%s)", t->parts[0].body_vsize,
	    ext ? " NIL NIL NIL NIL" : "");
}

/*
 * mime_imap_write: fills msg->bodystructure, body and envelope from the
 * tree (called by mime_parse()).
 */
void mime_imap_write(struct mime_message *msg, const char *data, size_t len,
    const struct mime_part *parts, struct mime_pdata *const *pdata);

void
mime_imap_write(struct mime_message *msg, const char *data, size_t len,
    const struct mime_part *parts, struct mime_pdata *const *pdata)
{
	struct tree t = { parts, pdata };
	struct out o;

	(void)data;
	(void)len;
	msg->bodystructure = structure(&t, true);
	msg->body = structure(&t, false);
	memset(&o, 0, sizeof(o));
	buf_init(&o.b, LIMIT_MIME_STRUCTURE);
	put(&o, "(", 1);
	envelope(&o, pdata[0]->env);
	put(&o, ")", 1);
	msg->envelope = finish(&o);
	if (msg->envelope == NULL)
		msg->envelope = xstrdup("(NIL NIL NIL NIL NIL NIL NIL NIL NIL "
		    "NIL)");
}

/* mime_imap_nstring: appends s as an IMAP nstring (for callers such as
 * HEADER.FIELDS answers); -1 past the buffer's maximum. */
void
mime_imap_nstring(struct buf *b, const char *s)
{
	struct out o;

	o.b = *b;
	o.overflow = false;
	nstring(&o, s);
	*b = o.b;
}

/* mime_imap_envelope: appends an ENVELOPE's fields to b. */
void
mime_imap_envelope(struct buf *b, const struct mime_envelope *env)
{
	struct out o;

	o.b = *b;
	o.overflow = false;
	envelope(&o, env);
	*b = o.b;
}
