/*
 * cmd_idle.c - IDLE (RFC 2177): the session waits for the client's DONE
 * and, meanwhile, reports what changes in the selected mailbox as soon as
 * the store says so (imap_notify.c) — no polling.
 *
 * The waiter is registered before the first sync, so a change committed
 * in between wakes it rather than being missed. The autologout timer
 * (LIMIT_IMAP_TIMEOUT_MS) runs from the IDLE command; clients renew IDLE
 * well within it.
 */
#include <string.h>

#include "common/ascii.h"
#include "imapd/imap_session.h"

/* The client's DONE, with some room for the curious. */
#define IDLE_LINE_MAX 64

static void
read_done(struct imap_session *s, struct imap_cmd *cmd)
{
	const char *line;
	size_t len;
	bool crlf;
	int ret = conn_read_line(s->conn, IDLE_LINE_MAX, &line, &len, &crlf);

	if (ret == CONN_TOO_LONG) {
		conn_printf(s->conn, "* BYE Expected DONE\r\n");
		s->logout = true;
	} else if (ret != CONN_OK) {
		s->logout = true;
	}
	if (ret == CONN_OK && len == 4 && ascii_ieq(line, 4, "DONE"))
		imap_reply(cmd, "OK IDLE terminated");
	else
		imap_reply(cmd, "BAD Expected DONE");
}

void
imap_cmd_idle(struct imap_session *s, struct imap_cmd *cmd)
{
	if (imap_parse_end(&cmd->ps) != 0) {
		imap_bad_syntax(cmd);
		return;
	}
	if (imap_notify_register(s->srv->notify, &s->waiter, s->user_id) != 0) {
		imap_reply(cmd, "NO [UNAVAILABLE] Cannot idle now");
		return;
	}
	conn_printf(s->conn, "+ idling\r\n");
	imap_view_sync(s, true, NULL, 0);
	conn_flush(s->conn);
	/* Idling sessions are many and long-lived: no cache while idle. */
	store_release_memory(s->st);
	while (!s->logout) {
		int ret = conn_wait_input_or(s->conn, s->waiter.pipe[0],
		    LIMIT_IMAP_TIMEOUT_MS);

		if (ret == CONN_WOKEN) {
			imap_waiter_drain(&s->waiter);
			imap_view_sync(s, true, NULL, 0);
			conn_flush(s->conn);
			store_release_memory(s->st);
			continue;
		}
		if (ret == CONN_OK) {
			read_done(s, cmd);
			break;
		}
		if (ret == CONN_TIMEOUT)
			conn_printf(s->conn, "* BYE Autologout; idle for too "
			    "long\r\n");
		else if (ret == CONN_STOPPED)
			conn_printf(s->conn, "* BYE [UNAVAILABLE] Server "
			    "shutting down\r\n");
		s->logout = true;
	}
	imap_notify_unregister(s->srv->notify, &s->waiter);
	if (cmd->reply[0] == '\0')
		imap_reply(cmd, "NO IDLE ended");
}
