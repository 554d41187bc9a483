/*
 * smtp_deliver.c - the trace headers we add (Return-Path, Received: RFC
 * 5321 4.4, RFC 3848 and RFC 6531 3.7.3 protocol names), the delivery
 * into the store, its reply, and the transaction's one log line.
 *
 * 250 is sent only after the store committed (synchronous=FULL), so an
 * acknowledged message is on disk. The Received header names the client
 * by its EHLO name and IP and the TLS version and cipher, never the
 * authenticated user.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "smtpd/smtp_session.h"

/* protocol: the "with" keyword of RFC 3848 / RFC 6531. */
static const char *
protocol(const struct smtp_session *s)
{
	static const char *const names[2][2][2][2] = {
		/* [utf8][esmtp][tls][auth] */
		{ { { "SMTP", "SMTP" }, { "SMTP", "SMTP" } },
		  { { "ESMTP", "ESMTPA" }, { "ESMTPS", "ESMTPSA" } } },
		{ { { "UTF8SMTP", "UTF8SMTPA" }, { "UTF8SMTPS", "UTF8SMTPSA" } },
		  { { "UTF8SMTP", "UTF8SMTPA" },
		    { "UTF8SMTPS", "UTF8SMTPSA" } } },
	};

	return names[s->tx.mail.smtputf8][s->esmtp][conn_is_tls(s->conn)]
	    [s->auth_user_id != 0];
}

int
smtp_headers_add(struct smtp_session *s)
{
	struct smtp_tx *tx = &s->tx;
	char date[64];
	struct tm tm;
	time_t now = time(NULL);
	int ret;

	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
	ret = buf_printf(&tx->msg, "Return-Path: <%s>\r\n"
	    "Received: from %s ([%s])\r\n", tx->mail.from.address, s->helo,
	    conn_peer_ip(s->conn));
	if (ret == 0 && conn_is_tls(s->conn))
		ret = buf_printf(&tx->msg, "\t(using %s with cipher %s)\r\n",
		    conn_tls_version(s->conn), conn_tls_cipher(s->conn));
	if (ret == 0)
		ret = buf_printf(&tx->msg, "\tby %s (Letterbox) with %s id %s",
		    s->srv->env.cfg->hostname, protocol(s), tx->id);
	/* "for" only with one recipient: others must not see Bcc. */
	if (ret == 0 && tx->nrcpts == 1)
		ret = buf_printf(&tx->msg, "\r\n\tfor <%s>",
		    tx->rcpts[0].address);
	if (ret == 0)
		ret = buf_printf(&tx->msg, "; %s\r\n", date);
	return ret;
}

void
smtp_log_tx(struct smtp_session *s, const char *result)
{
	struct smtp_tx *tx = &s->tx;
	char to[512], from[LIMIT_ADDR_TOTAL + 8], helo[LIMIT_ADDR_DOMAIN + 8];
	size_t off = 0;

	to[0] = '\0';
	for (size_t i = 0; i < tx->nrcpts && off < sizeof(to) - 1; i++) {
		int n = snprintf(to + off, sizeof(to) - off, "%s<%s>",
		    i ? "," : "", tx->rcpts[i].address);

		if (n < 0)
			break;
		off += (size_t)n;
	}
	log_safe(tx->mail.from.address, from, sizeof(from));
	log_safe(s->helo, helo, sizeof(helo));
	tx->logged = true;
	log_info("smtp: id=%s client=[%s] helo=%s from=<%s> to=%s refused=%u "
	    "size=%zu tls=%s auth=%s result=%s", tx->id, conn_peer_ip(s->conn),
	    helo, from, to, tx->refused, tx->msg.len > tx->header_len ?
	    tx->msg.len - tx->header_len : 0,
	    conn_is_tls(s->conn) ? conn_tls_version(s->conn) : "no",
	    s->auth_user_id != 0 ? s->auth_user : "-", result);
}

/* quota_permanent: some recipient's whole quota is below the message. */
static bool
quota_permanent(struct smtp_session *s, const int *results)
{
	for (size_t i = 0; i < s->tx.nusers; i++) {
		struct store_user u;
		bool perm;

		if (results[i] != STORE_ERR_QUOTA ||
		    store_user_get_by_id(s->st, s->tx.users[i], &u) != 0)
			continue;
		perm = u.quota_bytes > 0 &&
		    (int64_t)s->tx.msg.len > u.quota_bytes;
		store_user_clear(&u);
		if (perm)
			return true;
	}
	return false;
}

void
smtp_deliver(struct smtp_session *s)
{
	struct smtp_tx *tx = &s->tx;
	int results[LIMIT_RECIPIENTS];
	int ret;

	if (s->auth_user_id != 0 && s->srv->env.sandbox_user_id == 0 &&
	    !smtp_from_check(s)) {
		smtp_log_tx(s, "553 From: not the user's");
		smtp_tx_reset(s);
		return;
	}
	ret = smtp_outbound_store(s, results);
	switch (ret) {
	case 0:
		if (tx->nremote > 0) {
			smtp_reply(s, "250 2.0.0 Ok: queued as %s", tx->id);
			smtp_log_tx(s, tx->nusers > 0 ? "250 delivered and "
			    "queued" : "250 queued");
		} else {
			smtp_reply(s, "250 2.0.0 Ok: delivered as %s", tx->id);
			smtp_log_tx(s, "250 delivered");
		}
		break;
	case STORE_ERR_QUOTA:
		if (quota_permanent(s, results)) {
			smtp_reply(s, "552 5.2.2 Mailbox full");
			smtp_log_tx(s, "552 over quota");
		} else {
			smtp_reply(s, "452 4.2.2 Mailbox full, try again "
			    "later");
			smtp_log_tx(s, "452 over quota");
		}
		break;
	case STORE_ERR_LIMIT:
		smtp_reply(s, "552 5.3.4 Message too big");
		smtp_log_tx(s, "552 too big");
		break;
	default:
		smtp_reply(s, "451 4.3.0 Temporary storage failure, try "
		    "again later");
		smtp_log_tx(s, "451 storage failure");
		break;
	}
	smtp_tx_reset(s);
}
