/*
 * mime_address.c - address lists with groups (RFC 5322 3.4 and the
 * obsolete forms of 4.4) and the ENVELOPE fields of a message, with the
 * tokenizer of mime_header.c.
 *
 * Input is untrusted header text; every loop advances through a bounded
 * value (LIMIT_MIME_ADDRESSES per field). Where RFC 5322 leaves a choice
 * for broken input, this follows Dovecot 2.3 so that ENVELOPE answers
 * match it byte for byte (MISSING_MAILBOX, MISSING_DOMAIN).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MIME_INTERNAL
#include "ascii.h"
#include "limits.h"
#include "mime.h"
#include "xalloc.h"

/* Address list parsing (RFC 5322 3.4, obsolete forms of 4.4). */
struct addr_ctx {
	struct mime_tok t;
	struct buf str, comment;
	struct mime_addrlist *list;
	struct mime_addr a;	/* the address being read */
};

static void
add_address(struct addr_ctx *c)
{
	struct mime_addrlist *l = c->list;

	if (l->n < LIMIT_MIME_ADDRESSES) {
		l->v = xreallocarray(l->v, l->n + 1, sizeof(*l->v));
		l->v[l->n++] = c->a;
	} else {
		free(c->a.name);
		free(c->a.route);
		free(c->a.mailbox);
		free(c->a.domain);
	}
	memset(&c->a, 0, sizeof(c->a));
}

static void
set_field(char **field, char *value)
{
	free(*field);
	*field = value;
}

static int
parse_local_part(struct addr_ctx *c)
{
	int ret;

	buf_reset(&c->str);
	if (mime_tok_peek(&c->t) == '"')
		ret = mime_tok_quoted(&c->t, &c->str);
	else if (!mime_is_atext(mime_tok_peek(&c->t)) && mime_tok_peek(&c->t) != '.')
		ret = -1;
	else	/* lenient: ".x" and "a..b" happen (RFC 5322 4.4) */
		ret = mime_tok_atom_or_dot(&c->t, &c->str);
	if (ret < 0)
		return -1;
	set_field(&c->a.mailbox, mime_buf_strdup(&c->str));
	return ret;
}

static int
parse_domain(struct addr_ctx *c)
{
	int ret;

	buf_reset(&c->str);
	if ((ret = mime_tok_domain(&c->t, &c->str)) < 0)
		return -1;
	set_field(&c->a.domain, mime_buf_strdup(&c->str));
	return ret;
}

/* obs-domain-list = "@" domain *(*(CFWS / ",") [CFWS] "@" domain) */
static int
parse_domain_list(struct addr_ctx *c)
{
	int ret;

	buf_reset(&c->str);
	for (;;) {
		if (c->t.p == c->t.end)
			return 0;
		if (mime_tok_peek(&c->t) != '@')
			break;
		if (c->str.len > 0)
			mime_buf_put(&c->str, ",", 1);
		mime_buf_put(&c->str, "@", 1);
		if ((ret = mime_tok_domain(&c->t, &c->str)) <= 0)
			return ret;
		while (mime_tok_skip_lwsp(&c->t) > 0 && mime_tok_peek(&c->t) == ',')
			c->t.p++;
	}
	set_field(&c->a.route, mime_buf_strdup(&c->str));
	return 1;
}

static int
parse_angle_addr(struct addr_ctx *c)
{
	int ret;

	c->t.p++;	/* "<" */
	if ((ret = mime_tok_skip_lwsp(&c->t)) <= 0)
		return ret;
	if (mime_tok_peek(&c->t) == '>') {
		/* "<>": RFC 5321 null path; both parts missing */
		c->t.p++;
		return mime_tok_skip_lwsp(&c->t);
	}
	if (mime_tok_peek(&c->t) == '@') {
		if (parse_domain_list(c) <= 0 || mime_tok_peek(&c->t) != ':') {
			set_field(&c->a.route, xstrdup("INVALID_ROUTE"));
			return -1;
		}
		c->t.p++;
		if ((ret = mime_tok_skip_lwsp(&c->t)) <= 0)
			return ret;
	}
	if ((ret = parse_local_part(c)) <= 0)
		return ret;
	if (mime_tok_peek(&c->t) == '@') {
		if ((ret = parse_domain(c)) <= 0)
			return ret;
	}
	if (mime_tok_peek(&c->t) != '>')
		return -1;
	c->t.p++;
	return mime_tok_skip_lwsp(&c->t);
}

static int
parse_name_addr(struct addr_ctx *c)
{
	buf_reset(&c->str);
	if (mime_tok_phrase(&c->t, &c->str) <= 0 || mime_tok_peek(&c->t) != '<')
		return -1;
	set_field(&c->a.name, c->str.len > 0 ? mime_buf_strdup(&c->str) : NULL);
	if (parse_angle_addr(c) < 0)
		set_field(&c->a.domain, xstrdup("SYNTAX_ERROR"));
	return c->t.p != c->t.end;
}

static int
parse_addr_spec(struct addr_ctx *c)
{
	int ret, ret2;

	const unsigned char *start = c->t.p;

	buf_reset(&c->comment);
	ret = parse_local_part(c);
	if (ret > 0 && mime_tok_peek(&c->t) != '@' && mime_tok_peek(&c->t) != ',' &&
	    mime_tok_peek(&c->t) != ';') {
		/* "Name word@host": no angle brackets; keep the words as
		 * the name, the address is missing (Dovecot 2.3.19) */
		c->t.p = start;
		buf_reset(&c->str);
		(void)mime_tok_phrase(&c->t, &c->str);
		set_field(&c->a.mailbox, NULL);
		set_field(&c->a.name, c->str.len > 0 ?
		    mime_buf_strdup(&c->str) : NULL);
		return -1;
	}
	if (ret != 0 && c->t.p < c->t.end && mime_tok_peek(&c->t) == '@') {
		ret2 = parse_domain(c);
		if (ret2 <= 0)
			ret = ret2;
	}
	/* "user@host (Name)": the comment is the only name there is */
	if (c->comment.len > 0)
		set_field(&c->a.name, mime_buf_strdup(&c->comment));
	return ret;
}

static void
add_fixed_address(struct addr_ctx *c)
{
	if (c->a.mailbox == NULL)
		c->a.mailbox = xstrdup("MISSING_MAILBOX");
	if (c->a.domain == NULL)
		c->a.domain = xstrdup("MISSING_DOMAIN");
	add_address(c);
}

static int
parse_mailbox(struct addr_ctx *c)
{
	const unsigned char *start = c->t.p;
	int ret;

	if ((ret = parse_name_addr(c)) < 0) {
		c->t.p = start;
		free(c->a.name);
		free(c->a.route);
		free(c->a.mailbox);
		free(c->a.domain);
		memset(&c->a, 0, sizeof(c->a));
		ret = parse_addr_spec(c);
	}
	add_fixed_address(c);
	return ret;
}

static int
parse_group(struct addr_ctx *c)
{
	int ret;

	buf_reset(&c->str);
	if (mime_tok_phrase(&c->t, &c->str) <= 0 || mime_tok_peek(&c->t) != ':')
		return -1;
	c->t.p++;
	ret = mime_tok_skip_lwsp(&c->t);
	c->a.mailbox = mime_buf_strdup(&c->str);
	add_address(c);
	if (ret > 0 && mime_tok_peek(&c->t) != ';') {
		for (;;) {
			if (parse_mailbox(c) <= 0) {
				ret = -1;
				break;
			}
			if (mime_tok_peek(&c->t) != ',')
				break;
			c->t.p++;
			if (mime_tok_skip_lwsp(&c->t) <= 0) {
				ret = -1;
				break;
			}
		}
	}
	if (ret >= 0) {
		if (mime_tok_peek(&c->t) != ';') {
			ret = -1;
		} else {
			c->t.p++;
			ret = mime_tok_skip_lwsp(&c->t);
		}
	}
	add_address(c);	/* group end: all NULL */
	return ret == 0 ? 0 : 1;
}

static int
parse_address(struct addr_ctx *c)
{
	const unsigned char *start = c->t.p;
	int ret;

	if ((ret = parse_group(c)) < 0) {
		c->t.p = start;
		ret = parse_mailbox(c);
	}
	return ret;
}

static void
parse_address_list(struct mime_addrlist *list, const char *v, size_t len)
{
	struct addr_ctx c;
	unsigned int max = LIMIT_MIME_ADDRESSES;
	int ret;

	memset(&c, 0, sizeof(c));
	mime_tok_init(&c.t, v, len);
	buf_init(&c.str, MIME_TOKBUF_MAX);
	buf_init(&c.comment, MIME_TOKBUF_MAX);
	c.t.comment = &c.comment;
	c.list = list;
	if (mime_tok_skip_lwsp(&c.t) > 0) {
		while (max-- > 0) {
			const unsigned char *before = c.t.p;

			if ((ret = parse_address(&c)) == 0)
				break;
			if (mime_tok_peek(&c.t) != ',') {
				break;
			}
			c.t.p++;
			if ((ret = mime_tok_skip_lwsp(&c.t)) <= 0) {
				if (ret < 0)
					add_fixed_address(&c);
				break;
			}
			if (c.t.p == before)
				break;
		}
	}
	buf_free(&c.str);
	buf_free(&c.comment);
}

static void
addrlist_free(struct mime_addrlist *l)
{
	unsigned int i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].name);
		free(l->v[i].route);
		free(l->v[i].mailbox);
		free(l->v[i].domain);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/*
 * mime_header_envelope: records one header field for ENVELOPE (RFC 3501
 * 7.4.2). A repeated text field replaces the earlier one; a repeated
 * address field adds its addresses, as in Dovecot 2.3.
 */
void
mime_header_envelope(struct mime_envelope *env, const char *name,
    size_t name_len, const char *v, size_t len)
{
	struct mime_addrlist *list = NULL;
	char **str = NULL;

	if (ascii_ieq(name, name_len, "DATE"))
		str = &env->date;
	else if (ascii_ieq(name, name_len, "SUBJECT"))
		str = &env->subject;
	else if (ascii_ieq(name, name_len, "MESSAGE-ID"))
		str = &env->message_id;
	else if (ascii_ieq(name, name_len, "IN-REPLY-TO"))
		str = &env->in_reply_to;
	else if (ascii_ieq(name, name_len, "FROM"))
		list = &env->from;
	else if (ascii_ieq(name, name_len, "SENDER"))
		list = &env->sender;
	else if (ascii_ieq(name, name_len, "REPLY-TO"))
		list = &env->reply_to;
	else if (ascii_ieq(name, name_len, "TO"))
		list = &env->to;
	else if (ascii_ieq(name, name_len, "CC"))
		list = &env->cc;
	else if (ascii_ieq(name, name_len, "BCC"))
		list = &env->bcc;
	if (str != NULL) {
		free(*str);
		*str = mime_strndup(v, len);
	} else if (list != NULL) {
		/* repeated address fields add up (Dovecot 2.3 does) */
		parse_address_list(list, v, len);
	}
}

void
mime_envelope_free(struct mime_envelope *env)
{
	if (env == NULL)
		return;
	free(env->date);
	free(env->subject);
	free(env->in_reply_to);
	free(env->message_id);
	addrlist_free(&env->from);
	addrlist_free(&env->sender);
	addrlist_free(&env->reply_to);
	addrlist_free(&env->to);
	addrlist_free(&env->cc);
	addrlist_free(&env->bcc);
	free(env);
}

size_t
mime_from_addresses(const char *data, size_t len, char ***addrs_r)
{
	struct mime_envelope *env = xcalloc(1, sizeof(*env));
	struct mime_field f;
	size_t pos = 0, n = 0;
	char **addrs;

	while (mime_header_next(data, len, &pos, &f))
		if (mime_field_is(data, &f, "FROM", 4))
			mime_header_envelope(env, data + f.start, f.name_len,
			    data + f.value_start, f.value_end - f.value_start);
	addrs = xcalloc(env->from.n + 1, sizeof(*addrs));
	for (unsigned int i = 0; i < env->from.n; i++) {
		const struct mime_addr *a = &env->from.v[i];

		/* Group starts and ends carry no address. */
		if (a->mailbox != NULL && a->domain != NULL)
			addrs[n++] = xasprintf("%s@%s", a->mailbox, a->domain);
	}
	mime_envelope_free(env);
	*addrs_r = addrs;
	return n;
}
