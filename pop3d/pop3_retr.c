/*
 * pop3_retr.c - RETR and TOP (RFC 1939 7): the message as a multi-line
 * response, byte-exact with CRLF line ends and dot-stuffing, streamed
 * from the store in LIMIT_BODY_CHUNK reads (never the whole message in
 * memory, no transaction held while the client reads).
 *
 * A message removed meanwhile by another session answers -ERR. If its
 * body vanishes in the middle of the response (a race with an IMAP
 * expunge after the first read), the response cannot be completed and
 * the connection is closed.
 */
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xalloc.h"
#include "pop3d/pop3_session.h"

/* The state of one multi-line response being written. */
struct dotout {
	struct conn *conn;
	char out[8192];		/* batched writes */
	size_t len;
	bool bol;		/* at the start of a line */
	bool cr;		/* a CR waits for its LF */
	size_t line_len;	/* bytes of the line so far, no CR */
	bool top;		/* TOP: stop after the headers + lines */
	bool in_body;		/* past the empty line */
	uint32_t lines_left;
	bool done;		/* TOP has all it wants */
};

static void
put(struct dotout *o, const char *p, size_t n)
{
	if (o->len + n > sizeof(o->out)) {
		conn_write(o->conn, o->out, o->len);
		o->len = 0;
	}
	memcpy(o->out + o->len, p, n);
	o->len += n;
}

/* line_end: a line ended (its CRLF is written). */
static void
line_end(struct dotout *o)
{
	bool empty = o->line_len == 0;

	o->bol = true;
	o->line_len = 0;
	if (!o->top)
		return;
	if (!o->in_body) {
		if (empty) {
			o->in_body = true;
			o->done = o->lines_left == 0;
		}
	} else if (--o->lines_left == 0) {
		o->done = true;
	}
}

/* feed: n bytes of the message into the response. */
static void
feed(struct dotout *o, const char *p, size_t n)
{
	for (size_t i = 0; i < n && !o->done; i++) {
		char c = p[i];

		if (c == '\n') {
			/* CRLF stays; a bare LF becomes CRLF. */
			put(o, "\r\n", 2);
			o->cr = false;
			line_end(o);
			continue;
		}
		if (o->cr) {	/* a bare CR: sent as it is */
			put(o, "\r", 1);
			o->cr = false;
			o->line_len++;
		}
		if (c == '\r') {
			o->cr = true;
			continue;
		}
		/* RFC 1939 3: a line starting with "." gets one more. */
		if (o->bol && c == '.')
			put(o, ".", 1);
		o->bol = false;
		put(o, &c, 1);
		o->line_len++;
	}
}

/* finish: the last line's end if missing, then the terminator. */
static int
finish(struct dotout *o)
{
	if (o->cr && !o->done)
		put(o, "\r", 1);
	if (!o->bol)
		put(o, "\r\n", 2);
	put(o, ".\r\n", 3);
	conn_write(o->conn, o->out, o->len);
	return conn_flush(o->conn);
}

/* send_message: RETR (top false) or TOP with lines. */
static void
send_message(struct pop3_session *s, struct pop3_msg *m, bool top,
    uint32_t lines)
{
	struct store_message sm;
	struct dotout *o;
	char *chunk;
	int64_t off = 0;
	size_t got;
	int ret;

	ret = store_message_get(s->st, s->mailbox_id, m->uid, &sm);
	if (ret == STORE_ERR_NOT_FOUND) {
		pop3_reply(s, "-ERR Message %u was removed by another session",
		    (uint32_t)(m - s->msgs) + 1);
		return;
	}
	if (ret != 0) {
		pop3_reply(s, "-ERR [SYS/TEMP] Cannot read the message");
		return;
	}
	store_message_clear(&sm);
	chunk = xmalloc(LIMIT_BODY_CHUNK);
	ret = store_body_read_range(s->st, m->body_id, 0, chunk,
	    LIMIT_BODY_CHUNK, &got);
	if (ret != 0) {
		pop3_reply(s, "-ERR %s", ret == STORE_ERR_NOT_FOUND ?
		    "Message was removed by another session" :
		    "[SYS/TEMP] Cannot read the message");
		free(chunk);
		return;
	}
	o = xcalloc(1, sizeof(*o));
	o->conn = s->conn;
	o->bol = true;
	o->top = top;
	o->lines_left = lines;
	conn_printf(s->conn, "+OK %lld octets\r\n", (long long)m->size);
	while (got > 0 && !o->done) {
		feed(o, chunk, got);
		off += (int64_t)got;
		if (got < LIMIT_BODY_CHUNK)
			break;
		ret = store_body_read_range(s->st, m->body_id, off, chunk,
		    LIMIT_BODY_CHUNK, &got);
		if (ret != 0) {
			log_warn("pop3: message body of uid %u vanished while "
			    "sending it; closing", m->uid);
			s->quit = true;
			goto out;
		}
	}
	if (finish(o) != CONN_OK)
		s->quit = true;
	if (!top)
		s->retrieved++;
out:
	free(o);
	free(chunk);
}

void
pop3_cmd_retr(struct pop3_session *s, const struct pop3_command *cmd)
{
	struct pop3_msg *m;

	if (cmd->nargs != 1) {
		pop3_reply(s, "-ERR Syntax: RETR msg");
		pop3_bad_command(s);
		return;
	}
	if ((m = pop3_msg_arg(s, cmd, 0)) != NULL)
		send_message(s, m, false, 0);
}

void
pop3_cmd_top(struct pop3_session *s, const struct pop3_command *cmd)
{
	struct pop3_msg *m;
	uint32_t lines;

	if (cmd->nargs != 2 || pop3_parse_count(cmd->args[1],
	    cmd->arg_lens[1], &lines) != 0) {
		pop3_reply(s, "-ERR Syntax: TOP msg lines");
		pop3_bad_command(s);
		return;
	}
	if ((m = pop3_msg_arg(s, cmd, 0)) != NULL)
		send_message(s, m, true, lines);
}
