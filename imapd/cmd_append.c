/*
 * cmd_append.c - APPEND (RFC 3501 6.3.11): a message, with optional
 * flags and internal date, into a mailbox, answered OK [APPENDUID]
 * (RFC 4315) only after the store committed it.
 *
 * The message is a literal (LITERAL+ allowed) already bounded by
 * imap_reader.c; its size was checked against the quota before the "+".
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/xalloc.h"
#include "imapd/imap_session.h"

/* crlf_copy: data with each bare LF made CRLF (RFC 3501 6.3.11: the
 * message is RFC 5322 text, whose lines end in CRLF), or NULL when it has
 * none. Stored that way, RFC822.SIZE, BODY[] and BODYSTRUCTURE's sizes
 * agree, as SMTP's bare_lf = normalize does for delivered mail. */
static char *
crlf_copy(const char *data, size_t len, size_t *len_r)
{
	size_t bare = 0, n = 0;
	char *out;

	for (size_t i = 0; i < len; i++)
		if (data[i] == '\n' && (i == 0 || data[i - 1] != '\r'))
			bare++;
	if (bare == 0)
		return NULL;
	out = xmalloc(len + bare);
	for (size_t i = 0; i < len; i++) {
		if (data[i] == '\n' && (i == 0 || data[i - 1] != '\r'))
			out[n++] = '\r';
		out[n++] = data[i];
	}
	*len_r = n;
	return out;
}

void
imap_cmd_append(struct imap_session *s, struct imap_cmd *cmd)
{
	char name[LIMIT_MAILBOX_NAME * 2];
	struct imap_flags flags = { 0, "" };
	struct store_mailbox_state mb;
	int64_t mailbox_id;
	struct imap_str data;
	int64_t date = (int64_t)time(NULL);
	char *copy;
	size_t copy_len = 0;
	uint32_t uid;
	int ret;

	if (imap_mailbox_arg(cmd, name, sizeof(name)) != 0)
		return;
	if (imap_parse_sp(&cmd->ps) != 0 ||
	    (imap_parse_peek(&cmd->ps, '(') &&
	    (imap_parse_flag_list(&cmd->ps, &flags) != 0 ||
	    imap_parse_sp(&cmd->ps) != 0)) ||
	    (imap_parse_peek(&cmd->ps, '"') &&
	    (imap_parse_date_time(&cmd->ps, &date) != 0 ||
	    imap_parse_sp(&cmd->ps) != 0)) ||
	    imap_parse_literal(&cmd->ps, &data) != 0 ||
	    imap_parse_end(&cmd->ps) != 0) {
		imap_bad_syntax(cmd);
		return;
	}
	/* RFC 3501 9: a literal is CHAR8, no NUL (that needs BINARY's
	 * literal8, RFC 3516). */
	if (memchr(data.s, '\0', data.len) != NULL) {
		imap_reply(cmd, "BAD NUL octets are not allowed in a message");
		return;
	}
	if (data.len == 0) {
		imap_reply(cmd, "NO [CANNOT] An empty message cannot be "
		    "appended");
		return;
	}
	ret = store_mailbox_find(s->st, s->user_id, name, &mailbox_id, &mb);
	if (ret == STORE_ERR_NOT_FOUND || ret == STORE_ERR_INVALID) {
		/* RFC 3501 6.3.11: the client may CREATE and retry. */
		imap_reply(cmd, "NO [TRYCREATE] Mailbox does not exist");
		return;
	}
	if (ret != 0) {
		imap_store_error(cmd, ret);
		return;
	}
	copy = crlf_copy(data.s, data.len, &copy_len);
	if (copy != NULL) {
		data.s = copy;
		data.len = copy_len;
	}
	ret = store_append(s->st, mailbox_id, data.s, data.len, flags.flags,
	    flags.keywords, date, &uid);
	free(copy);
	if (ret == STORE_ERR_LIMIT)
		imap_reply(cmd, "NO [LIMIT] Message too large or too many "
		    "keywords");
	else if (ret != 0)
		imap_store_error(cmd, ret);
	else
		imap_reply(cmd, "OK [APPENDUID %u %u] APPEND completed",
		    mb.uidvalidity, uid);
}
