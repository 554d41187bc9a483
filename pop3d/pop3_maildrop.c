/*
 * pop3_maildrop.c - the maildrop: the user's INBOX as it was at login
 * (RFC 1939 8: numbering is stable for the session), locked against a
 * second POP3 session ([IN-USE], RFC 2449 8.1.2); STAT, LIST, UIDL, DELE,
 * RSET, and the UPDATE state at QUIT, which removes the DELE'd messages
 * in one transaction. A dropped connection removes nothing.
 *
 * Unique ids (UIDL) are "<UIDVALIDITY>.<UID>": stable across sessions and
 * never reused while the mailbox lives (RFC 1939 7: 1-70 printable
 * characters).
 */
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xalloc.h"
#include "pop3d/pop3_session.h"

static int
load(struct pop3_session *s)
{
	struct store_mailbox mb;
	struct store_message *list;
	size_t n;
	int ret;

	if ((ret = store_mailbox_get(s->st, s->user_id, "INBOX", &mb)) != 0)
		return ret;
	s->mailbox_id = mb.id;
	s->uidvalidity = mb.uidvalidity;
	store_mailbox_clear(&mb);
	if ((ret = store_message_list(s->st, s->mailbox_id, 1, 0, &list,
	    &n)) != 0)
		return ret;
	s->msgs = xcalloc(n ? n : 1, sizeof(*s->msgs));
	for (size_t i = 0; i < n; i++) {
		s->msgs[i].uid = list[i].uid;
		s->msgs[i].size = list[i].size;
		s->msgs[i].body_id = list[i].body_id;
	}
	s->nmsgs = (uint32_t)n;
	store_message_list_free(&list, n);
	return 0;
}

void
pop3_maildrop_open(struct pop3_session *s)
{
	int64_t total = 0;
	int ret;

	ret = store_maildrop_lock(s->st, s->user_id, &s->lock);
	if (ret == STORE_ERR_IN_USE) {
		pop3_reply(s, "-ERR [IN-USE] Mailbox is in use by another POP3 "
		    "session");
		return;
	}
	if (ret == 0 && (ret = load(s)) != 0)
		store_maildrop_unlock(&s->lock);
	if (ret != 0) {
		pop3_reply(s, "-ERR [SYS/TEMP] Cannot open the mailbox, try "
		    "again later");
		return;
	}
	for (uint32_t i = 0; i < s->nmsgs; i++)
		total += s->msgs[i].size;
	s->state = POP3_STATE_TRANSACTION;
	log_info("pop3: login user=%s client=[%s] messages=%u",
	    s->user, conn_peer_ip(s->conn), s->nmsgs);
	pop3_reply(s, "+OK Logged in: %u messages (%lld octets)", s->nmsgs,
	    (long long)total);
}

void
pop3_maildrop_close(struct pop3_session *s)
{
	free(s->msgs);
	s->msgs = NULL;
	s->nmsgs = 0;
	store_maildrop_unlock(&s->lock);
}

struct pop3_msg *
pop3_msg_arg(struct pop3_session *s, const struct pop3_command *cmd,
    size_t i)
{
	uint32_t n;

	if (i >= cmd->nargs || pop3_parse_msgno(cmd->args[i],
	    cmd->arg_lens[i], UINT32_MAX, &n) != 0) {
		pop3_reply(s, "-ERR Invalid message number");
		pop3_bad_command(s);
		return NULL;
	}
	if (n > s->nmsgs) {
		pop3_reply(s, "-ERR No such message");
		return NULL;
	}
	if (s->msgs[n - 1].deleted) {
		pop3_reply(s, "-ERR Message %u is deleted", n);
		return NULL;
	}
	return &s->msgs[n - 1];
}

void
pop3_cmd_stat(struct pop3_session *s, const struct pop3_command *cmd)
{
	int64_t total = 0;
	uint32_t count = 0;

	(void)cmd;
	for (uint32_t i = 0; i < s->nmsgs; i++) {
		if (!s->msgs[i].deleted) {
			count++;
			total += s->msgs[i].size;
		}
	}
	pop3_reply(s, "+OK %u %lld", count, (long long)total);
}

/* listing: LIST and UIDL, with one argument or all undeleted. */
static void
listing(struct pop3_session *s, const struct pop3_command *cmd, bool uidl)
{
	struct pop3_msg *m;

	if (cmd->nargs > 1) {
		pop3_reply(s, "-ERR Syntax: %s [msg]", uidl ? "UIDL" : "LIST");
		pop3_bad_command(s);
		return;
	}
	if (cmd->nargs == 1) {
		if ((m = pop3_msg_arg(s, cmd, 0)) == NULL)
			return;
		if (uidl)
			pop3_reply(s, "+OK %u %u.%u",
			    (uint32_t)(m - s->msgs) + 1, s->uidvalidity,
			    m->uid);
		else
			pop3_reply(s, "+OK %u %lld",
			    (uint32_t)(m - s->msgs) + 1, (long long)m->size);
		return;
	}
	conn_printf(s->conn, "+OK\r\n");
	for (uint32_t i = 0; i < s->nmsgs; i++) {
		if (s->msgs[i].deleted)
			continue;
		if (uidl)
			conn_printf(s->conn, "%u %u.%u\r\n", i + 1,
			    s->uidvalidity, s->msgs[i].uid);
		else
			conn_printf(s->conn, "%u %lld\r\n", i + 1,
			    (long long)s->msgs[i].size);
	}
	pop3_reply(s, ".");
}

void
pop3_cmd_list(struct pop3_session *s, const struct pop3_command *cmd)
{
	listing(s, cmd, false);
}

void
pop3_cmd_uidl(struct pop3_session *s, const struct pop3_command *cmd)
{
	listing(s, cmd, true);
}

void
pop3_cmd_dele(struct pop3_session *s, const struct pop3_command *cmd)
{
	struct pop3_msg *m;

	if (cmd->nargs != 1) {
		pop3_reply(s, "-ERR Syntax: DELE msg");
		pop3_bad_command(s);
		return;
	}
	if ((m = pop3_msg_arg(s, cmd, 0)) == NULL)
		return;
	m->deleted = true;
	pop3_reply(s, "+OK Message %u deleted", (uint32_t)(m - s->msgs) + 1);
}

void
pop3_cmd_rset(struct pop3_session *s, const struct pop3_command *cmd)
{
	(void)cmd;
	for (uint32_t i = 0; i < s->nmsgs; i++)
		s->msgs[i].deleted = false;
	pop3_reply(s, "+OK %u messages", s->nmsgs);
}

void
pop3_update(struct pop3_session *s)
{
	uint32_t *uids = xcalloc(s->nmsgs ? s->nmsgs : 1, sizeof(*uids));
	size_t n = 0, removed = 0;
	int ret = 0;

	for (uint32_t i = 0; i < s->nmsgs; i++)
		if (s->msgs[i].deleted)
			uids[n++] = s->msgs[i].uid;
	/* RFC 1939 6: all or nothing; messages expunged meanwhile by
	 * another session are simply gone already. */
	if (n > 0)
		ret = store_remove(s->st, s->mailbox_id, uids, n, NULL,
		    &removed);
	free(uids);
	log_info("pop3: logout user=%s client=[%s] retrieved=%u deleted=%zu%s",
	    s->user, conn_peer_ip(s->conn), s->retrieved, removed,
	    ret != 0 ? " (delete failed)" : "");
	if (ret != 0) {
		pop3_reply(s, "-ERR [SYS/TEMP] Could not delete the messages; "
		    "none were deleted");
		return;
	}
	pop3_reply(s, "+OK Bye: %zu messages deleted", removed);
}
