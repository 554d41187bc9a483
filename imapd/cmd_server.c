/*
 * cmd_server.c - commands about the server rather than the mail:
 * NAMESPACE (RFC 2342), ID (RFC 2971) and ENABLE (RFC 5161: CONDSTORE
 * and QRESYNC, RFC 7162).
 *
 * ID's client values are untrusted: at most 30 pairs (RFC 2971 3.3),
 * bounded by the command line, and only log-safe text reaches the log.
 */
#include <string.h>

#include "common/log.h"
#include "imapd/imap_session.h"

void
imap_cmd_namespace(struct imap_session *s, struct imap_cmd *cmd)
{
	if (imap_parse_end(&cmd->ps) != 0) {
		imap_bad_syntax(cmd);
		return;
	}
	/* One personal namespace, no prefix; no other users' or shared. */
	conn_printf(s->conn, "* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n");
	imap_reply(cmd, "OK NAMESPACE completed");
}

/* parse_nstring: a string, or NIL (*str_r->s == NULL). */
static int
parse_nstring(struct imap_parser *ps, struct imap_str *str_r)
{
	if (imap_parse_peek(ps, '"') || imap_parse_peek(ps, '{'))
		return imap_parse_string(ps, str_r);
	if (imap_parse_atom(ps, str_r) != 0 || !imap_str_is(str_r, "NIL")) {
		ps->error = "Expected a string or NIL";
		return -1;
	}
	str_r->s = NULL;
	return 0;
}

/* safe_copy: the start of a client string, made log-safe, into out. */
static void
safe_copy(const struct imap_str *str, char *out, size_t size)
{
	char tmp[64];
	size_t n = str->len < sizeof(tmp) - 1 ? str->len : sizeof(tmp) - 1;

	memcpy(tmp, str->s, n);
	tmp[n] = '\0';
	log_safe(tmp, out, size);
}

/* parse_id_params: RFC 2971 id-params-list; the client's "name" and
 * "version" are copied out for the log. */
static int
parse_id_params(struct imap_parser *ps, char *name, char *version,
    size_t size)
{
	struct imap_str key, value;
	unsigned int pairs = 0;

	if (!imap_parse_peek(ps, '('))
		return parse_nstring(ps, &value) != 0 || value.s != NULL ? -1 :
		    0;
	ps->p++;
	if (imap_parse_peek(ps, ')')) {
		ps->p++;
		return 0;
	}
	for (;;) {
		if (++pairs > 30 || imap_parse_string(ps, &key) != 0 ||
		    imap_parse_sp(ps) != 0 || parse_nstring(ps, &value) != 0)
			return -1;
		if (value.s != NULL && imap_str_is(&key, "NAME"))
			safe_copy(&value, name, size);
		if (value.s != NULL && imap_str_is(&key, "VERSION"))
			safe_copy(&value, version, size);
		if (imap_parse_peek(ps, ')')) {
			ps->p++;
			return 0;
		}
		if (imap_parse_sp(ps) != 0)
			return -1;
	}
}

void
imap_cmd_id(struct imap_session *s, struct imap_cmd *cmd)
{
	char name[64] = "", version[64] = "";

	if (imap_parse_sp(&cmd->ps) != 0 ||
	    parse_id_params(&cmd->ps, name, version, sizeof(name)) != 0 ||
	    imap_parse_end(&cmd->ps) != 0) {
		imap_bad_syntax(cmd);
		return;
	}
	if (name[0] != '\0')
		log_debug("imap: client %s is %s %s", conn_peer_ip(s->conn),
		    name, version);
	conn_printf(s->conn, "* ID (\"name\" \"Letterbox\" \"version\" \"%s\")"
	    "\r\n", VERSION);
	imap_reply(cmd, "OK ID completed");
}

void
imap_cmd_enable(struct imap_session *s, struct imap_cmd *cmd)
{
	bool condstore = false, qresync = false;
	struct imap_str cap;

	do {
		if (imap_parse_sp(&cmd->ps) != 0 ||
		    imap_parse_atom(&cmd->ps, &cap) != 0) {
			imap_bad_syntax(cmd);
			return;
		}
		/* RFC 7162 3.2.3: QRESYNC implies CONDSTORE. */
		if (imap_str_is(&cap, "QRESYNC"))
			qresync = condstore = true;
		else if (imap_str_is(&cap, "CONDSTORE"))
			condstore = true;
	} while (!imap_parse_at_end(&cmd->ps));
	/* RFC 5161 3.1: list only what this command newly enabled;
	 * unknown extensions are ignored. */
	conn_printf(s->conn, "* ENABLED%s%s\r\n",
	    condstore && !s->condstore ? " CONDSTORE" : "",
	    qresync && !s->qresync ? " QRESYNC" : "");
	s->condstore |= condstore;
	s->qresync |= qresync;
	imap_reply(cmd, "OK ENABLE completed");
}
