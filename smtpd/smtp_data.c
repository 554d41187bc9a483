/*
 * smtp_data.c - receiving the message: DATA (RFC 5321 4.1.1.4, 4.5.2) and
 * BDAT (RFC 3030).
 *
 * DATA ends only at <CRLF>.<CRLF>. SMTP smuggling defence: a "." line
 * ended by a bare LF, or following a line ended by one, and any bare CR,
 * make the message refused (550 5.6.0) once it has been read to its real
 * end, so nothing of it is delivered and the session stays in step. Other
 * bare LF line ends become CRLF (bare_lf = normalize, the default) or
 * refuse the message (bare_lf = reject). Limits: the configured message
 * size (552 5.3.4 after the end), LIMIT_SMTP_DATA_LINE per line (552 5.3.4
 * and close: the rest of the line is not read), LIMIT_SMTP_DATA_TIMEOUT_MS
 * per read.
 */
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "smtpd/smtp_session.h"

enum data_fault {
	DATA_FAULT_NONE = 0,
	DATA_FAULT_SIZE,	/* over the size limit */
	DATA_FAULT_SMUGGLE,	/* "." next to a bare LF */
	DATA_FAULT_BARE_CR,
	DATA_FAULT_BARE_LF,	/* bare_lf = reject */
};

static bool
bare_lf_reject(const struct smtp_session *s)
{
	return s->srv->env.cfg->service[s->svc].bare_lf_reject;
}

/* begin: the checks before a message may come, then our headers.
 * Returns NULL, or the reply that refuses the message. */
static const char *
begin(struct smtp_session *s)
{
	struct smtp_tx *tx = &s->tx;

	if (!tx->active)
		return "503 5.5.1 Need MAIL command";
	if (tx->nrcpts == 0)
		return "554 5.5.1 No valid recipients";
	buf_reset(&tx->msg);
	tx->msg.max = s->srv->max_size + 4096;	/* + our headers */
	if (smtp_headers_add(s) != 0)
		return "451 4.3.0 Cannot add headers";
	tx->header_len = tx->msg.len;
	tx->msg.max = tx->header_len + s->srv->max_size;
	return NULL;
}

static void
refuse(struct smtp_session *s, enum data_fault fault)
{
	switch (fault) {
	case DATA_FAULT_SIZE:
		smtp_reply(s, "552 5.3.4 Message size exceeds fixed maximum "
		    "message size");
		smtp_log_tx(s, "552 too big");
		break;
	case DATA_FAULT_SMUGGLE:
		smtp_reply(s, "550 5.6.0 Message refused: a \".\" line next "
		    "to a bare LF (SMTP smuggling)");
		smtp_log_tx(s, "550 smuggling");
		break;
	case DATA_FAULT_BARE_CR:
		smtp_reply(s, "550 5.6.0 Message refused: bare CR");
		smtp_log_tx(s, "550 bare CR");
		break;
	case DATA_FAULT_BARE_LF:
		smtp_reply(s, "550 5.6.0 Message refused: bare LF line end");
		smtp_log_tx(s, "550 bare LF");
		break;
	case DATA_FAULT_NONE:
		break;
	}
	smtp_tx_reset(s);
}

/* append_line: one unstuffed line and CRLF; over the limit, the fault. */
static void
append_line(struct smtp_tx *tx, const char *line, size_t len,
    enum data_fault *fault)
{
	if (*fault == DATA_FAULT_SIZE)
		return;
	if (buf_append(&tx->msg, line, len) < 0 ||
	    buf_append(&tx->msg, "\r\n", 2) < 0)
		*fault = DATA_FAULT_SIZE;
}

/* read_data: lines up to <CRLF>.<CRLF>; returns a conn status. */
static int
read_data(struct smtp_session *s, bool prev_crlf, enum data_fault *fault)
{
	const char *line;
	size_t len;
	bool crlf;
	int ret;

	for (;;) {
		ret = conn_read_line(s->conn, LIMIT_SMTP_DATA_LINE, &line,
		    &len, &crlf);
		if (ret != CONN_OK)
			return ret;
		if (len == 1 && line[0] == '.') {
			if (crlf && prev_crlf)
				return CONN_OK;
			/* \n.\n, \n.\r\n, \r\n.\n: not an end, and no
			 * line a legitimate client sends. */
			if (*fault == DATA_FAULT_NONE)
				*fault = DATA_FAULT_SMUGGLE;
		}
		if (memchr(line, '\r', len) != NULL &&
		    *fault == DATA_FAULT_NONE)
			*fault = DATA_FAULT_BARE_CR;
		if (!crlf && bare_lf_reject(s) && *fault == DATA_FAULT_NONE)
			*fault = DATA_FAULT_BARE_LF;
		/* RFC 5321 4.5.2: a leading dot was doubled by the client. */
		if (len > 0 && line[0] == '.') {
			line++;
			len--;
		}
		append_line(&s->tx, line, len, fault);
		prev_crlf = crlf;
	}
}

void
smtp_cmd_data(struct smtp_session *s, bool eol_crlf)
{
	enum data_fault fault = DATA_FAULT_NONE;
	const char *refusal;
	int ret;

	if (s->tx.bdat) {
		smtp_reply(s, "503 5.5.1 DATA after BDAT");
		smtp_bad_command(s);
		return;
	}
	if ((refusal = begin(s)) != NULL) {
		smtp_reply(s, "%s", refusal);
		return;
	}
	smtp_reply(s, "354 End data with <CR><LF>.<CR><LF>");
	smtp_reply_flush(s);
	/* A shutdown lets a message in progress finish (within the grace
	 * period): its sender gets an answer either way. */
	conn_ignore_stop(s->conn, true);
	conn_set_timeout(s->conn, LIMIT_SMTP_DATA_TIMEOUT_MS);
	ret = read_data(s, eol_crlf, &fault);
	conn_set_timeout(s->conn, LIMIT_SMTP_TIMEOUT_MS);
	conn_ignore_stop(s->conn, false);
	switch (ret) {
	case CONN_OK:
		break;
	case CONN_TOO_LONG:
		smtp_reply(s, "552 5.3.4 Line too long (limit %d octets); "
		    "closing connection", LIMIT_SMTP_DATA_LINE);
		smtp_log_tx(s, "552 line too long");
		s->quit = true;
		smtp_tx_reset(s);
		return;
	case CONN_TIMEOUT:
		smtp_reply(s, "421 4.4.2 %s Timeout, closing connection",
		    s->srv->env.cfg->hostname);
		/* FALLTHROUGH */
	default:
		/* A client gone mid-DATA delivers nothing. */
		smtp_log_tx(s, "aborted: connection lost during DATA");
		s->quit = true;
		smtp_tx_reset(s);
		return;
	}
	if (fault != DATA_FAULT_NONE) {
		refuse(s, fault);
		return;
	}
	smtp_deliver(s);
}

/* normalize_crlf: bare LF -> CRLF in msg from offset on (BDAT carries
 * raw bytes; the store keeps CRLF lines as IMAP expects). With reject,
 * a bare LF is DATA_FAULT_BARE_LF instead. */
static enum data_fault
normalize_crlf(struct buf *msg, size_t from, bool reject)
{
	size_t extra = 0, i;
	struct buf out;

	for (i = from; i < msg->len; i++)
		if (msg->data[i] == '\n' && (i == 0 || msg->data[i - 1] != '\r'))
			extra++;
	if (extra == 0)
		return DATA_FAULT_NONE;
	if (reject)
		return DATA_FAULT_BARE_LF;
	if (extra > msg->max - msg->len)
		return DATA_FAULT_SIZE;
	buf_init(&out, msg->max);
	buf_append(&out, msg->data, from);
	for (i = from; i < msg->len; i++) {
		if (msg->data[i] == '\n' && (i == 0 || msg->data[i - 1] != '\r'))
			buf_append(&out, "\r", 1);
		buf_append(&out, msg->data + i, 1);
	}
	buf_free(msg);
	*msg = out;
	return DATA_FAULT_NONE;
}

/* read_chunk: size bytes of a BDAT chunk into the message (keep), or
 * read and dropped when the message is refused or would be too big. */
static int
read_chunk(struct smtp_session *s, uint64_t size, bool keep, bool *big_r)
{
	char scratch[16384];

	*big_r = keep && size > s->tx.msg.max - s->tx.msg.len;
	keep = keep && !*big_r;
	while (size > 0) {
		size_t n = size > sizeof(scratch) ? sizeof(scratch) :
		    (size_t)size;
		int ret = conn_read_exact(s->conn, scratch, n);

		if (ret != CONN_OK)
			return ret;
		/* Cannot fail: the room was checked above. */
		if (keep)
			(void)buf_append(&s->tx.msg, scratch, n);
		size -= n;
	}
	return CONN_OK;
}

void
smtp_cmd_bdat(struct smtp_session *s, const char *arg, size_t len)
{
	struct smtp_tx *tx = &s->tx;
	enum data_fault fault;
	const char *refusal = NULL;
	uint64_t size;
	bool last, big;
	int ret;

	if (smtp_parse_bdat(arg, len, &size, &last) != SMTP_PARSE_OK) {
		/* The chunk size is unknown: the stream cannot be
		 * followed any more. */
		smtp_reply(s, "501 5.5.4 Syntax: BDAT size [LAST]; closing "
		    "connection");
		s->quit = true;
		return;
	}
	/* RFC 3030 2: the chunk is read whatever the answer. */
	if (!tx->bdat) {
		refusal = begin(s);
		tx->bdat = refusal == NULL;
	}
	conn_ignore_stop(s->conn, true);
	conn_set_timeout(s->conn, LIMIT_SMTP_DATA_TIMEOUT_MS);
	ret = read_chunk(s, size, refusal == NULL && !tx->bdat_failed, &big);
	conn_set_timeout(s->conn, LIMIT_SMTP_TIMEOUT_MS);
	conn_ignore_stop(s->conn, false);
	if (ret != CONN_OK) {
		smtp_log_tx(s, "aborted: connection lost during BDAT");
		s->quit = true;
		smtp_tx_reset(s);
		return;
	}
	if (refusal != NULL) {
		smtp_reply(s, "%s", refusal);
		return;
	}
	if (big)
		tx->bdat_failed = true;
	if (!last) {
		if (tx->bdat_failed)
			smtp_reply(s, "552 5.3.4 Message size exceeds fixed "
			    "maximum message size");
		else
			smtp_reply(s, "250 2.0.0 %llu octets received",
			    (unsigned long long)size);
		return;
	}
	if (tx->bdat_failed) {
		refuse(s, DATA_FAULT_SIZE);
		return;
	}
	fault = normalize_crlf(&tx->msg, tx->header_len, bare_lf_reject(s));
	if (fault != DATA_FAULT_NONE) {
		refuse(s, fault);
		return;
	}
	smtp_deliver(s);
}
