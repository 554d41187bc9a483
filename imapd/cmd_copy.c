/*
 * cmd_copy.c - COPY (RFC 3501 6.4.7) and MOVE (RFC 6851), by sequence
 * number or UID, answered with COPYUID (RFC 4315 UIDPLUS).
 *
 * Both are one store transaction: all the messages or none. MOVE's
 * "* n EXPUNGE" lines come from the session's sync after the command,
 * preceded by the untagged COPYUID (RFC 6851 4.3).
 */
#include <stdio.h>
#include <stdlib.h>

#include "common/xalloc.h"
#include "imapd/imap_session.h"

/* copyuid: "[COPYUID v src dst] " for the reply, or "" when the sets do
 * not fit (RFC 4315 lets a server leave the code out). */
static void
copyuid(uint32_t uidvalidity, const uint32_t *src, const uint32_t *dst,
    size_t n, char *out, size_t size)
{
	char *src_set = xmalloc(size), *dst_set = xmalloc(size);
	uint32_t *kept = xcalloc(n + 1, sizeof(*kept));

	/* Sources that were gone meanwhile have no destination. */
	for (size_t i = 0; i < n; i++)
		kept[i] = dst[i] != 0 ? src[i] : 0;
	out[0] = '\0';
	if (imap_uidset_format(kept, n, src_set, size) == 0 &&
	    imap_uidset_format(dst, n, dst_set, size) == 0 &&
	    src_set[0] != '\0') {
		int w = snprintf(out, size, "[COPYUID %u %s %s] ", uidvalidity,
		    src_set, dst_set);

		if (w < 0 || (size_t)w >= size)
			out[0] = '\0';
	}
	free(kept);
	free(src_set);
	free(dst_set);
}

static void
copy_or_move(struct imap_session *s, struct imap_cmd *cmd, bool move)
{
	char name[LIMIT_MAILBOX_NAME * 2], code[sizeof(cmd->reply) - 64];
	struct store_mailbox_state mb;
	int64_t dst;
	uint32_t *seqs, *uids, *new_uids;
	size_t n;
	int ret;

	if (imap_view_seqset_arg(s, cmd, &seqs, &n, NULL) != 0)
		return;
	if (imap_mailbox_last_arg(cmd, name, sizeof(name)) != 0) {
		free(seqs);
		return;
	}
	if (move && !imap_view_writable(s, cmd)) {
		free(seqs);
		return;
	}
	ret = store_mailbox_find(s->st, s->user_id, name, &dst, &mb);
	if (ret == STORE_ERR_NOT_FOUND || ret == STORE_ERR_INVALID) {
		free(seqs);
		imap_reply(cmd, "NO [TRYCREATE] Mailbox does not exist");
		return;
	}
	if (ret != 0) {
		free(seqs);
		imap_store_error(cmd, ret);
		return;
	}
	uids = imap_view_uids(s, seqs, n);
	new_uids = xcalloc(n + 1, sizeof(*new_uids));
	if (n == 0)
		ret = 0;
	else if (move)
		ret = store_move(s->st, s->view.mailbox_id, uids, n, dst,
		    new_uids);
	else
		ret = store_copy(s->st, s->view.mailbox_id, uids, n, dst,
		    new_uids);
	if (ret != 0) {
		imap_store_error(cmd, ret);
	} else {
		copyuid(mb.uidvalidity, uids, new_uids, n, code,
		    sizeof(code));
		/* RFC 6851 4.3: MOVE gives COPYUID untagged, before the
		 * EXPUNGEs the session sends next. */
		if (move && code[0] != '\0')
			conn_printf(s->conn, "* OK %sMoved\r\n", code);
		imap_reply(cmd, "OK %s%s completed", move ? "" : code,
		    cmd->name);
	}
	free(new_uids);
	free(uids);
	free(seqs);
}

void
imap_cmd_copy(struct imap_session *s, struct imap_cmd *cmd)
{
	copy_or_move(s, cmd, false);
}

void
imap_cmd_move(struct imap_session *s, struct imap_cmd *cmd)
{
	copy_or_move(s, cmd, true);
}
