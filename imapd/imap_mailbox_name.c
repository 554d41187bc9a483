/*
 * imap_mailbox_name.c - mailbox names from the wire (RFC 3501 5.1): an
 * astring in modified UTF-7 (5.1.3), decoded to the store's UTF-8 name.
 *
 * Untrusted: the decoded name must pass store_mailbox_name_valid() (no
 * empty level, no control character, bounded length and depth).
 */
#include <string.h>

#include "imapd/imap_mutf7.h"
#include "imapd/imap_session.h"

int
imap_mailbox_arg(struct imap_cmd *cmd, char *name, size_t size)
{
	struct imap_str str;

	if (imap_parse_sp(&cmd->ps) != 0 ||
	    imap_parse_astring(&cmd->ps, &str) != 0) {
		imap_bad_syntax(cmd);
		return -1;
	}
	if (imap_mutf7_to_utf8(str.s, str.len, name, size) < 0) {
		imap_reply(cmd, "NO [CANNOT] Mailbox name is not valid "
		    "modified UTF-7");
		return -1;
	}
	return 0;
}

int
imap_mailbox_last_arg(struct imap_cmd *cmd, char *name, size_t size)
{
	if (imap_mailbox_arg(cmd, name, size) != 0)
		return -1;
	if (imap_parse_end(&cmd->ps) != 0) {
		imap_bad_syntax(cmd);
		return -1;
	}
	return 0;
}
