/*
 * relay_bounce.c - the delivery agent's reports to senders (RFC 3464):
 * a bounce once recipients failed for good, a delay notice once a
 * message has waited [outbound] delay_notice.
 *
 * Reports are made by the scheduler thread alone, so a recipient is
 * reported once; the report and the recipients' new state are one
 * transaction (store_queue_report). A local sender gets the report in
 * its INBOX at once; a remote one gets it through the queue, from the
 * null sender <>, so it is never bounced back (RFC 5321 6.1). Mail from
 * <> that fails is only logged.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/xalloc.h"
#include "smtpd/dsn.h"
#include "smtpd/relay.h"

/* The original header copied into a report: at most this much. */
#define REPORT_HEADER_MAX (64 * 1024)
/* A report: the text, the status fields and the header. */
#define REPORT_MAX (REPORT_HEADER_MAX + 256 * 1024)

/* orig_header: the queued message's header (up to its empty line, at
 * most REPORT_HEADER_MAX) into buf; its length. */
static size_t
orig_header(struct store *st, int64_t id, char *buf)
{
	size_t len = 0, n;
	const char *end;

	while (len < REPORT_HEADER_MAX && store_queue_read(st, id,
	    (int64_t)len, buf + len, REPORT_HEADER_MAX - len, &n) == 0 &&
	    n > 0)
		len += n;
	end = memmem(buf, len, "\r\n\r\n", 4);
	return end != NULL ? (size_t)(end - buf) + 2 : len;
}

/* rcpt_status: the RFC 3463 status of a failed or deferred recipient. */
static void
rcpt_status(const struct store_queue_rcpt *rc, char out[16])
{
	if (strncmp(rc->last_answer, RELAY_EXPIRED,
	    sizeof(RELAY_EXPIRED) - 1) == 0)
		strcpy(out, "4.4.7");
	else
		dsn_status_of(rc->last_code, rc->last_answer, out);
}

/* send_report: the report in rep to m's sender, and m's new state. */
static int
send_report(struct store *st, const struct store_queue_msg *m, bool delayed,
    const int64_t *rcpt_ids, size_t n, const struct buf *rep)
{
	int64_t ids[LIMIT_RECIPIENTS];
	size_t nids = 0;
	int ret = store_resolve(st, m->sender, ids, &nids);

	if (ret == 0) {
		struct buf local;

		/* What final delivery adds: the report's null sender. */
		buf_init(&local, REPORT_MAX + 64);
		if (buf_printf(&local, "Return-Path: <>\r\n") != 0 ||
		    buf_append(&local, rep->data, rep->len) != 0) {
			buf_free(&local);
			return STORE_ERR_LIMIT;
		}
		ret = store_queue_report(st, m->id, delayed, rcpt_ids, n, ids,
		    nids, local.data, local.len, NULL);
		buf_free(&local);
		return ret;
	}
	if (ret == STORE_ERR_NOT_LOCAL) {
		unsigned char raw[8];
		char qid[17];
		const char *to[1] = { m->sender };
		struct store_queue_new q = {
			.qid = qid, .sender = "", .rcpts = to, .nrcpts = 1,
			.data = rep->data, .len = rep->len,
		};

		randombytes_buf(raw, sizeof(raw));
		sodium_bin2hex(qid, sizeof(qid), raw, sizeof(raw));
		log_info("relay: id=%s report queued as %s", m->qid, qid);
		return store_queue_report(st, m->id, delayed, rcpt_ids, n, NULL,
		    0, NULL, 0, &q);
	}
	if (ret == STORE_ERR_TEMP)
		return ret;
	/* A local sender that is gone: nobody to tell. */
	log_info("relay: id=%s sender <%s> unknown: report dropped", m->qid,
	    m->sender);
	return store_queue_report(st, m->id, delayed, rcpt_ids, n, NULL, 0,
	    NULL, 0, NULL);
}

/* report_one: the report message id owes. */
static void
report_one(struct relay *r, struct store *st, int64_t id, bool delayed,
    int64_t now)
{
	struct store_queue_msg m;
	struct dsn_rcpt *dr;
	int64_t *rcpt_ids;
	char (*status)[16];
	char *header;
	struct buf rep;
	size_t n = 0;
	int ret;

	if (store_queue_get_by_id(st, id, &m) != 0)
		return;
	dr = xcalloc(m.nrcpts, sizeof(*dr));
	rcpt_ids = xcalloc(m.nrcpts, sizeof(*rcpt_ids));
	status = xcalloc(m.nrcpts, sizeof(*status));
	header = xmalloc(REPORT_HEADER_MAX);
	buf_init(&rep, REPORT_MAX);
	for (size_t i = 0; i < m.nrcpts; i++) {
		const struct store_queue_rcpt *rc = &m.rcpts[i];

		if (delayed ? rc->state != STORE_QUEUE_PENDING ||
		    rc->attempts == 0 : rc->state != STORE_QUEUE_FAILED)
			continue;
		rcpt_status(rc, status[n]);
		rcpt_ids[n] = rc->id;
		dr[n] = (struct dsn_rcpt){
			.address = rc->address,
			.status = status[n],
			.diagnostic = rc->last_answer[0] != '\0' ?
			    rc->last_answer : NULL,
			.remote_mta = rc->remote_mta[0] != '\0' ?
			    rc->remote_mta : NULL,
			.last_attempt = (time_t)rc->last_attempt,
		};
		n++;
	}
	if (n == 0 || m.sender[0] == '\0') {
		/* Nothing to say, or nobody to say it to: a failed bounce
		 * is not bounced. */
		if (n > 0)
			log_info("relay: id=%s from <>: %zu recipients failed;"
			    " no report", m.qid, n);
		ret = store_queue_report(st, id, delayed, rcpt_ids, n, NULL, 0,
		    NULL, 0, NULL);
	} else {
		size_t hlen = orig_header(st, id, header);
		struct dsn_input in = {
			.reporting_mta = r->cfg->hostname,
			.sender = m.sender,
			.queue_id = m.qid,
			.arrival = (time_t)m.created,
			.now = (time_t)now,
			.retry_until = (time_t)(m.created + r->out->lifetime),
			.action = delayed ? DSN_DELAYED : DSN_FAILED,
			.rcpts = dr,
			.nrcpts = n,
			.orig_header = header,
			.orig_header_len = hlen,
		};

		ret = dsn_build(&in, &rep) != 0 ? STORE_ERR_LIMIT :
		    send_report(st, &m, delayed, rcpt_ids, n, &rep);
		if (ret == 0)
			log_info("relay: id=%s %s sent to <%s> for %zu "
			    "recipients", m.qid, delayed ? "delay notice" :
			    "bounce", m.sender, n);
	}
	if (ret == STORE_ERR_NOT_FOUND)
		log_info("relay: id=%s report made by another agent meanwhile;"
		    " this one dropped", m.qid);
	else if (ret != 0)
		log_warn("relay: id=%s report: %s", m.qid,
		    store_strerror(ret));
	buf_free(&rep);
	free(header);
	free(status);
	free(rcpt_ids);
	free(dr);
	store_queue_msg_clear(&m);
}

void
relay_reports(struct relay *r, struct store *st)
{
	int64_t now = (int64_t)time(NULL), *ids = NULL;
	bool *delayed = NULL;
	size_t n = 0;
	int ret = store_queue_reports_due(st, now - r->out->delay_notice,
	    &ids, &delayed, &n);

	if (ret != 0) {
		log_warn("relay: reports: %s", store_strerror(ret));
		return;
	}
	for (size_t i = 0; i < n; i++)
		report_one(r, st, ids[i], delayed[i], now);
	free(ids);
	free(delayed);
}
