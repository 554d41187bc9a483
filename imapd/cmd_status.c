/*
 * cmd_status.c - STATUS (RFC 3501 6.3.10) with APPENDLIMIT (RFC 7889)
 * SIZE (RFC 8438) and HIGHESTMODSEQ (RFC 7162); the same items serve LIST RETURN (STATUS ...)
 * (RFC 5819, cmd_list.c).
 */
#include "imapd/imap_session.h"

static const char *const status_names[IMAP_STATUS_ITEMS] = {
	"MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN",
	"APPENDLIMIT", "SIZE", "HIGHESTMODSEQ",
};

int
imap_status_parse(struct imap_parser *ps, struct imap_status_req *req)
{
	req->n = 0;
	if (imap_parse_char(ps, '(') != 0)
		return -1;
	for (;;) {
		struct imap_str atom;
		size_t i;

		if (imap_parse_atom(ps, &atom) != 0)
			return -1;
		for (i = 0; i < IMAP_STATUS_ITEMS; i++)
			if (imap_str_is(&atom, status_names[i]))
				break;
		if (i == IMAP_STATUS_ITEMS) {
			ps->error = "Unknown STATUS item";
			return -1;
		}
		if (req->n < sizeof(req->items) / sizeof(req->items[0]))
			req->items[req->n++] = (unsigned char)i;
		if (!imap_parse_peek(ps, ' '))
			break;
		ps->p++;
	}
	return imap_parse_char(ps, ')');
}

void
imap_status_write(struct imap_session *s, const struct store_mailbox *mb,
    const struct imap_status_req *req)
{
	conn_printf(s->conn, "* STATUS ");
	imap_write_mailbox(s->conn, mb->name);
	conn_printf(s->conn, " (");
	for (size_t i = 0; i < req->n; i++) {
		uint64_t value;

		switch (req->items[i]) {
		case IMAP_STATUS_MESSAGES:
			value = mb->messages;
			break;
		case IMAP_STATUS_RECENT:
			value = 0;	/* \Recent is not kept (imap_view.c) */
			break;
		case IMAP_STATUS_UIDNEXT:
			value = mb->uidnext;
			break;
		case IMAP_STATUS_UIDVALIDITY:
			value = mb->uidvalidity;
			break;
		case IMAP_STATUS_APPENDLIMIT:
			value = LIMIT_MESSAGE_SIZE;
			break;
		case IMAP_STATUS_SIZE:
			value = (uint64_t)mb->size;
			break;
		case IMAP_STATUS_HIGHESTMODSEQ:
			value = mb->highestmodseq;
			break;
		default:
			value = mb->unseen;
			break;
		}
		conn_printf(s->conn, "%s%s %llu", i > 0 ? " " : "",
		    status_names[req->items[i]], (unsigned long long)value);
	}
	conn_printf(s->conn, ")\r\n");
}

void
imap_cmd_status(struct imap_session *s, struct imap_cmd *cmd)
{
	char name[LIMIT_MAILBOX_NAME * 2];
	struct imap_status_req req;
	struct store_mailbox mb;
	int ret;

	if (imap_mailbox_arg(cmd, name, sizeof(name)) != 0)
		return;
	if (imap_parse_sp(&cmd->ps) != 0 ||
	    imap_status_parse(&cmd->ps, &req) != 0 ||
	    imap_parse_end(&cmd->ps) != 0) {
		imap_bad_syntax(cmd);
		return;
	}
	/* RFC 7162 3.1: asking for HIGHESTMODSEQ enables CONDSTORE. */
	for (size_t i = 0; i < req.n; i++)
		if (req.items[i] == IMAP_STATUS_HIGHESTMODSEQ)
			s->condstore = true;
	if ((ret = store_mailbox_get(s->st, s->user_id, name, &mb)) != 0) {
		imap_store_error(cmd, ret);
		return;
	}
	imap_status_write(s, &mb, &req);
	store_mailbox_clear(&mb);
	imap_reply(cmd, "OK STATUS completed");
}
