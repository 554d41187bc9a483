/*
 * cmd_mailbox.c - mailbox management: CREATE (with CREATE-SPECIAL-USE,
 * RFC 6154 3), DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE (RFC 3501
 * 6.3.3-6.3.7).
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
	int64_t id;
	int ret = store_mailbox_find(s->st, s->user_id, name, &id, NULL);

	if (ret == 0)
		return 1;
	return ret == STORE_ERR_NOT_FOUND || ret == STORE_ERR_INVALID ? 0 :
	    ret;
}

static bool
is_inbox(const char *name)
{
	return ascii_ieq(name, strlen(name), "INBOX") && strlen(name) == 5;
}

/* parse_use: RFC 6154 3: " (USE (\\Sent))" after CREATE's name. The
 * store keeps one attribute a mailbox; \\All and \\Flagged would be
 * virtual mailboxes, which Letterbox does not have. Returns 0 with
 * *use_r (NULL when none), -1 with the answer set. */
static int
parse_use(struct imap_cmd *cmd, const char **use_r)
{
	static const char *const uses[] = {
		"\\Archive", "\\Drafts", "\\Junk", "\\Sent", "\\Trash",
	};
	struct imap_parser *ps = &cmd->ps;
	struct imap_str word, attr;

	*use_r = NULL;
	if (imap_parse_at_end(ps))
		return 0;
	if (imap_parse_sp(ps) != 0 || imap_parse_char(ps, '(') != 0 ||
	    imap_parse_atom(ps, &word) != 0 || !imap_str_is(&word, "USE") ||
	    imap_parse_sp(ps) != 0 || imap_parse_char(ps, '(') != 0 ||
	    imap_parse_char(ps, '\\') != 0 || imap_parse_atom(ps, &attr) != 0 ||
	    imap_parse_char(ps, ')') != 0 || imap_parse_char(ps, ')') != 0 ||
	    imap_parse_end(ps) != 0) {
		imap_bad_syntax(cmd);
		return -1;
	}
	attr.s--;
	attr.len++;
	for (size_t i = 0; i < sizeof(uses) / sizeof(uses[0]); i++) {
		char upper[16];
		size_t n = strlen(uses[i]);

		for (size_t k = 0; k <= n; k++)
			upper[k] = (char)ascii_upper((unsigned char)uses[i][k]);
		if (imap_str_is(&attr, upper)) {
			*use_r = uses[i];
			return 0;
		}
	}
	imap_reply(cmd, "NO [USEATTR] Unsupported special-use attribute");
	return -1;
}

void
imap_cmd_create(struct imap_session *s, struct imap_cmd *cmd)
{
	char name[LIMIT_MAILBOX_NAME * 2];
	const char *use;
	size_t len;
	int ret;

	if (imap_mailbox_arg(cmd, name, sizeof(name)) != 0 ||
	    parse_use(cmd, &use) != 0)
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
	    (ret = store_mailbox_create(s->st, s->user_id, name, use,
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
