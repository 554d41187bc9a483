/*
 * cmd_quota.c - QUOTA (RFC 9208): GETQUOTAROOT and GETQUOTA report the
 * user's storage quota, one root "" for all their mailboxes. Quotas are
 * set by the administrator (letterbox quota), so SETQUOTA is not offered
 * (no QUOTASET capability).
 */
#include "imapd/imap_session.h"

/* write_quota: "* QUOTA "" (STORAGE used limit)" in KiB (RFC 9208 5.1),
 * or nothing for a user without a limit. */
static int
write_quota(struct imap_session *s, bool *limited_r)
{
	struct store_user user;
	int ret;

	if ((ret = store_user_get_by_id(s->st, s->user_id, &user)) != 0)
		return ret;
	*limited_r = user.quota_bytes > 0;
	if (*limited_r)
		conn_printf(s->conn, "* QUOTA \"\" (STORAGE %lld %lld)\r\n",
		    (long long)((user.used_bytes + 1023) / 1024),
		    (long long)(user.quota_bytes / 1024));
	store_user_clear(&user);
	return 0;
}

void
imap_cmd_getquotaroot(struct imap_session *s, struct imap_cmd *cmd)
{
	char name[LIMIT_MAILBOX_NAME * 2];
	struct store_mailbox mb;
	struct store_user user;
	bool limited;
	int ret;

	if (imap_mailbox_last_arg(cmd, name, sizeof(name)) != 0)
		return;
	if ((ret = store_mailbox_get(s->st, s->user_id, name, &mb)) != 0 ||
	    (ret = store_user_get_by_id(s->st, s->user_id, &user)) != 0) {
		if (ret == 0)
			store_mailbox_clear(&mb);
		imap_store_error(cmd, ret);
		return;
	}
	conn_printf(s->conn, "* QUOTAROOT ");
	imap_write_mailbox(s->conn, mb.name);
	/* A user without a limit has no quota root (RFC 9208 4.3.2). */
	conn_printf(s->conn, "%s\r\n", user.quota_bytes > 0 ? " \"\"" : "");
	store_user_clear(&user);
	store_mailbox_clear(&mb);
	if ((ret = write_quota(s, &limited)) != 0)
		imap_store_error(cmd, ret);
	else
		imap_reply(cmd, "OK GETQUOTAROOT completed");
}

void
imap_cmd_getquota(struct imap_session *s, struct imap_cmd *cmd)
{
	struct imap_str root;
	bool limited = false;
	int ret;

	if (imap_parse_sp(&cmd->ps) != 0 ||
	    imap_parse_astring(&cmd->ps, &root) != 0 ||
	    imap_parse_end(&cmd->ps) != 0) {
		imap_bad_syntax(cmd);
		return;
	}
	if (root.len != 0) {
		imap_reply(cmd, "NO [NONEXISTENT] No such quota root");
		return;
	}
	if ((ret = write_quota(s, &limited)) != 0)
		imap_store_error(cmd, ret);
	else if (!limited)
		imap_reply(cmd, "NO [NONEXISTENT] No quota for this user");
	else
		imap_reply(cmd, "OK GETQUOTA completed");
}
