/*
 * cmd_mailbox.c - mailbox management: CREATE, DELETE, RENAME, SUBSCRIBE,
 * UNSUBSCRIBE (RFC 3501 6.3.3-6.3.7) and STATUS (6.3.10).
 *
 * Names arrive in modified UTF-7 and are judged by the store
 * (store_mailbox_name_valid); its errors become RFC 5530 response codes
 * in imap_store_error().
 */
#include <stdio.h>
#include <string.h>

#include "common/ascii.h"
#include "imapd/imap_session.h"

/* create_parents: RFC 3501 6.3.3: "CREATE a/b/c" creates "a" and "a/b"
 * too when they do not exist. */
static int
create_parents(struct imap_session *s, char *name)
{
	for (char *sep = strchr(name, STORE_MAILBOX_SEP); sep != NULL;
	    sep = strchr(sep + 1, STORE_MAILBOX_SEP)) {
		int ret;

		*sep = '\0';
		ret = store_mailbox_create(s->st, s->user_id, name, NULL,
		    NULL);
		*sep = STORE_MAILBOX_SEP;
		if (ret != 0 && ret != STORE_ERR_EXISTS)
			return ret;
	}
	return 0;
}

/* exists: 1 when the user has the mailbox, 0 when not, or an error. */
static int
exists(struct imap_session *s, const char *name)
{
	struct store_mailbox mb;
	int ret = store_mailbox_get(s->st, s->user_id, name, &mb);

	if (ret == 0) {
		store_mailbox_clear(&mb);
		return 1;
	}
	return ret == STORE_ERR_NOT_FOUND || ret == STORE_ERR_INVALID ? 0 :
	    ret;
}

static bool
is_inbox(const char *name)
{
	return ascii_ieq(name, strlen(name), "INBOX") && strlen(name) == 5;
}

void
imap_cmd_create(struct imap_session *s, struct imap_cmd *cmd)
{
	char name[LIMIT_MAILBOX_NAME * 2];
	size_t len;
	int ret;

	if (imap_mailbox_last_arg(cmd, name, sizeof(name)) != 0)
		return;
	/* A trailing separator only says children will follow (6.3.3). */
	len = strlen(name);
	if (len > 1 && name[len - 1] == STORE_MAILBOX_SEP)
		name[len - 1] = '\0';
	if (is_inbox(name)) {
		imap_reply(cmd, "NO [ALREADYEXISTS] INBOX always exists");
		return;
	}
	if (!store_mailbox_name_valid(name)) {
		imap_reply(cmd, "NO [CANNOT] Invalid mailbox name");
		return;
	}
	if ((ret = create_parents(s, name)) != 0 ||
	    (ret = store_mailbox_create(s->st, s->user_id, name, NULL,
	    NULL)) != 0) {
		imap_store_error(cmd, ret);
		return;
	}
	imap_reply(cmd, "OK CREATE completed");
}

void
imap_cmd_delete(struct imap_session *s, struct imap_cmd *cmd)
{
	char name[LIMIT_MAILBOX_NAME * 2];
	struct store_mailbox mb;
	int ret;

	if (imap_mailbox_last_arg(cmd, name, sizeof(name)) != 0)
		return;
	if (is_inbox(name)) {
		imap_reply(cmd, "NO [CANNOT] INBOX cannot be deleted");
		return;
	}
	if ((ret = store_mailbox_get(s->st, s->user_id, name, &mb)) != 0) {
		imap_store_error(cmd, ret);
		return;
	}
	ret = store_mailbox_delete(s->st, s->user_id, name);
	if (ret == 0 && s->state == IMAP_STATE_SELECTED &&
	    s->view.mailbox_id == mb.id) {
		/* The selected mailbox is gone: back to authenticated. */
		imap_view_close(s);
		s->state = IMAP_STATE_AUTH;
	}
	store_mailbox_clear(&mb);
	if (ret == STORE_ERR_IN_USE)
		imap_reply(cmd, "NO [INUSE] Delete its child mailboxes first");
	else if (ret != 0)
		imap_store_error(cmd, ret);
	else
		imap_reply(cmd, "OK DELETE completed");
}

void
imap_cmd_rename(struct imap_session *s, struct imap_cmd *cmd)
{
	char from[LIMIT_MAILBOX_NAME * 2], to[LIMIT_MAILBOX_NAME * 2];
	int ret;

	if (imap_mailbox_arg(cmd, from, sizeof(from)) != 0)
		return;
	if (imap_mailbox_last_arg(cmd, to, sizeof(to)) != 0)
		return;
	if (is_inbox(to)) {
		imap_reply(cmd, "NO [ALREADYEXISTS] INBOX always exists");
		return;
	}
	if (!store_mailbox_name_valid(to)) {
		imap_reply(cmd, "NO [CANNOT] Invalid mailbox name");
		return;
	}
	/* RFC 3501 6.3.5: superior names of the new name are created, but
	 * only for a rename that can succeed. */
	if ((ret = exists(s, from)) == 0)
		ret = STORE_ERR_NOT_FOUND;
	else if (ret == 1 && (ret = exists(s, to)) == 1)
		ret = STORE_ERR_EXISTS;
	else if (ret == 0 && (ret = create_parents(s, to)) == 0)
		ret = store_mailbox_rename(s->st, s->user_id, from, to);
	if (ret != 0)
		imap_store_error(cmd, ret);
	else
		imap_reply(cmd, "OK RENAME completed");
}

static void
subscribe(struct imap_session *s, struct imap_cmd *cmd, bool on)
{
	char name[LIMIT_MAILBOX_NAME * 2];
	int ret;

	if (imap_mailbox_last_arg(cmd, name, sizeof(name)) != 0)
		return;
	if ((ret = store_mailbox_subscribe(s->st, s->user_id, name, on)) != 0)
		imap_store_error(cmd, ret);
	else
		imap_reply(cmd, "OK %s completed", cmd->name);
}

void
imap_cmd_subscribe(struct imap_session *s, struct imap_cmd *cmd)
{
	subscribe(s, cmd, true);
}

void
imap_cmd_unsubscribe(struct imap_session *s, struct imap_cmd *cmd)
{
	subscribe(s, cmd, false);
}

/* STATUS items (RFC 3501 6.3.10). */
enum status_item {
	STATUS_MESSAGES,
	STATUS_RECENT,
	STATUS_UIDNEXT,
	STATUS_UIDVALIDITY,
	STATUS_UNSEEN,
	STATUS_APPENDLIMIT,	/* RFC 7889 */
	STATUS_SIZE,		/* RFC 8438 */
	STATUS_ITEMS
};

static const char *const status_names[STATUS_ITEMS] = {
	"MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN",
	"APPENDLIMIT", "SIZE",
};

static int
parse_status_items(struct imap_cmd *cmd, enum status_item *items,
    size_t *count_r)
{
	size_t n = 0;

	if (imap_parse_sp(&cmd->ps) != 0 || imap_parse_char(&cmd->ps, '(') != 0)
		return -1;
	for (;;) {
		struct imap_str atom;
		size_t i;

		if (imap_parse_atom(&cmd->ps, &atom) != 0)
			return -1;
		for (i = 0; i < STATUS_ITEMS; i++)
			if (imap_str_is(&atom, status_names[i]))
				break;
		if (i == STATUS_ITEMS) {
			cmd->ps.error = "Unknown STATUS item";
			return -1;
		}
		if (n < STATUS_ITEMS * 2)
			items[n++] = (enum status_item)i;
		if (!imap_parse_peek(&cmd->ps, ' '))
			break;
		cmd->ps.p++;
	}
	*count_r = n;
	return imap_parse_char(&cmd->ps, ')') != 0 ? -1 :
	    imap_parse_end(&cmd->ps);
}

void
imap_cmd_status(struct imap_session *s, struct imap_cmd *cmd)
{
	char name[LIMIT_MAILBOX_NAME * 2];
	enum status_item items[STATUS_ITEMS * 2];
	struct store_mailbox mb;
	size_t n;
	int ret;

	if (imap_mailbox_arg(cmd, name, sizeof(name)) != 0)
		return;
	if (parse_status_items(cmd, items, &n) != 0) {
		imap_bad_syntax(cmd);
		return;
	}
	if ((ret = store_mailbox_get(s->st, s->user_id, name, &mb)) != 0) {
		imap_store_error(cmd, ret);
		return;
	}
	conn_printf(s->conn, "* STATUS ");
	imap_write_mailbox(s->conn, mb.name);
	conn_printf(s->conn, " (");
	for (size_t i = 0; i < n; i++) {
		uint64_t value = 0;

		switch (items[i]) {
		case STATUS_MESSAGES:
			value = mb.messages;
			break;
		case STATUS_RECENT:
			value = 0;	/* \Recent is not kept (imap_view.c) */
			break;
		case STATUS_UIDNEXT:
			value = mb.uidnext;
			break;
		case STATUS_UIDVALIDITY:
			value = mb.uidvalidity;
			break;
		case STATUS_APPENDLIMIT:
			value = LIMIT_MESSAGE_SIZE;
			break;
		case STATUS_SIZE:
			value = (uint64_t)mb.size;
			break;
		default:
			value = mb.unseen;
			break;
		}
		conn_printf(s->conn, "%s%s %llu", i > 0 ? " " : "",
		    status_names[items[i]], (unsigned long long)value);
	}
	conn_printf(s->conn, ")\r\n");
	store_mailbox_clear(&mb);
	imap_reply(cmd, "OK STATUS completed");
}
