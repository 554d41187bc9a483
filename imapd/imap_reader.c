/*
 * imap_reader.c - reads one IMAP command: its line, and for each literal
 * the line announces ("{n}" or LITERAL+ "{n+}", RFC 3501 7.5, RFC 7888)
 * the n octets and the line that continues the command, into s->input
 * as the wire carries them (imap_parse.h).
 *
 * Bounds: the lines of one command together are at most LIMIT_IMAP_LINE
 * octets (LIMIT_IMAP_PREAUTH_LINE before login; over it: BYE and close);
 * literals at most LIMIT_IMAP_LITERAL in all, except APPEND's message
 * (LIMIT_MESSAGE_SIZE). A synchronizing literal is refused with NO
 * [TOOBIG] (or [OVERQUOTA] for an APPEND over the quota) *before* the "+",
 * so the client never sends it; a non-synchronizing one over the limit is
 * already on its way and cannot be skipped safely (its bytes would be
 * read as commands): BAD [TOOBIG] and close.
 */
#include <string.h>

#include "common/ascii.h"
#include "common/log.h"
#include "imapd/imap_session.h"

/* Literal bytes are read through a buffer of this size. */
#define READ_CHUNK (16 * 1024)

/* The tag at the start of the command, for answers given before it is
 * parsed; "*" when the line does not start with one. */
static void
write_tag(struct imap_session *s, size_t first_len)
{
	const char *line = s->input.data;
	size_t n = 0;

	while (n < first_len && line[n] != ' ' && line[n] != '{' &&
	    !ascii_is_ctl((unsigned char)line[n]))
		n++;
	if (n == 0 || n == first_len)
		conn_write(s->conn, "*", 1);
	else
		conn_write(s->conn, line, n);
}

/* is_append: the first line is "tag APPEND ...". */
static bool
is_append(const char *line, size_t len)
{
	const char *sp = memchr(line, ' ', len);
	size_t rest;

	if (sp == NULL)
		return false;
	rest = len - (size_t)(sp + 1 - line);
	return rest > 7 && ascii_ieq(sp + 1, 6, "APPEND") && sp[7] == ' ';
}

static enum imap_read_result
read_failed(struct imap_session *s, int ret)
{
	switch (ret) {
	case CONN_TOO_LONG:
		conn_printf(s->conn, "* BYE Command line too long (limit %d "
		    "octets)\r\n", s->state == IMAP_STATE_NOT_AUTH ?
		    LIMIT_IMAP_PREAUTH_LINE : LIMIT_IMAP_LINE);
		break;
	case CONN_TIMEOUT:
		conn_printf(s->conn, "* BYE Autologout; idle for too "
		    "long\r\n");
		break;
	case CONN_STOPPED:
		conn_printf(s->conn, "* BYE [UNAVAILABLE] Server shutting "
		    "down\r\n");
		break;
	default:
		break;
	}
	conn_flush(s->conn);
	return IMAP_READ_END;
}

static enum imap_read_result
refuse_literal(struct imap_session *s, size_t first_len, bool nonsync,
    const char *text)
{
	write_tag(s, first_len);
	if (nonsync) {
		conn_printf(s->conn, " BAD %s\r\n* BYE Cannot skip a "
		    "non-synchronizing literal\r\n", text);
		conn_flush(s->conn);
		return IMAP_READ_END;
	}
	conn_printf(s->conn, " NO %s\r\n", text);
	conn_flush(s->conn);
	return IMAP_READ_ANSWERED;
}

static int
read_literal(struct imap_session *s, uint64_t size)
{
	char chunk[READ_CHUNK];
	int ret = CONN_OK;

	/* A literal being received is finished before shutdown. */
	conn_ignore_stop(s->conn, true);
	while (size > 0) {
		size_t n = size < sizeof(chunk) ? (size_t)size : sizeof(chunk);

		if ((ret = conn_read_exact(s->conn, chunk, n)) != CONN_OK)
			break;
		/* IMAP_INPUT_MAX covers every bound the reader enforces. */
		if (buf_append(&s->input, chunk, n) != 0)
			fatal("imap: literal over IMAP_INPUT_MAX");
		size -= n;
	}
	conn_ignore_stop(s->conn, false);
	return ret;
}

enum imap_read_result
imap_read_command(struct imap_session *s)
{
	bool preauth = s->state == IMAP_STATE_NOT_AUTH;
	size_t line_room = preauth ? LIMIT_IMAP_PREAUTH_LINE : LIMIT_IMAP_LINE;
	uint64_t literal_room = preauth ? LIMIT_IMAP_PREAUTH_LITERAL :
	    LIMIT_IMAP_LITERAL;
	uint64_t one_max = literal_room;
	size_t first_len = 0;
	bool append = false;

	for (bool first = true;; first = false) {
		const char *line;
		size_t len;
		bool crlf, nonsync;
		uint64_t size;
		int ret;

		ret = conn_read_line(s->conn, line_room, &line, &len, &crlf);
		if (ret != CONN_OK)
			return read_failed(s, ret);
		if (first && len == 0) {
			/* No tag to answer with (RFC 3501 7.1.5). */
			conn_printf(s->conn, "* BAD Empty command line\r\n");
			conn_flush(s->conn);
			return IMAP_READ_EMPTY;
		}
		line_room -= len;
		if (buf_append(&s->input, line, len) != 0)
			fatal("imap: line over IMAP_INPUT_MAX");
		if (first) {
			first_len = len;
			append = !preauth && is_append(line, len);
			if (append) {
				literal_room += LIMIT_MESSAGE_SIZE;
				one_max = LIMIT_MESSAGE_SIZE;
			}
		}
		if (!imap_literal_marker(s->input.data + s->input.len - len,
		    len, &size, &nonsync))
			return IMAP_READ_OK;
		if (size > literal_room || size > one_max)
			return refuse_literal(s, first_len, nonsync,
			    "[TOOBIG] Literal too large");
		if (append && !nonsync && store_user_quota_room(s->st,
		    s->user_id, (int64_t)size) == STORE_ERR_QUOTA)
			return refuse_literal(s, first_len, nonsync,
			    "[OVERQUOTA] Quota exceeded");
		if (!nonsync) {
			conn_printf(s->conn, "+ Ready for literal data\r\n");
			conn_flush(s->conn);
		}
		if (buf_append(&s->input, "\r\n", 2) != 0)
			fatal("imap: line over IMAP_INPUT_MAX");
		if ((ret = read_literal(s, size)) != CONN_OK)
			return read_failed(s, ret);
		literal_room -= size;
	}
}
