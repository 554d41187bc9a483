/*
 * smtp_tx.c - the mail transaction: MAIL and RCPT (RFC 5321 4.1.1.2-3)
 * with SIZE (RFC 1870), BODY (RFC 6152), SMTPUTF8 (RFC 6531).
 *
 * Recipients are checked at RCPT, never accepted to bounce later:
 * unknown local users 550 5.1.1, other domains 554 5.7.1 (relay denied)
 * or, when authenticated, queued for the delivery agent (550 5.7.1 when
 * [outbound] enabled = no), quota
 * 452 4.2.2 / 552 5.2.2. At most LIMIT_RECIPIENTS recipients and as many
 * distinct users (452 4.5.3).
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "smtpd/smtp_session.h"

void
smtp_tx_reset(struct smtp_session *s)
{
	struct smtp_tx *tx = &s->tx;

	/* A transaction ended by RSET, QUIT, EHLO or a lost connection
	 * without a message gets its log line too. */
	if (tx->active && !tx->logged)
		smtp_log_tx(s, "no message");
	tx->active = false;
	tx->logged = false;
	tx->refused = 0;
	tx->nrcpts = 0;
	tx->nremote = 0;
	tx->nusers = 0;
	tx->bdat = false;
	tx->bdat_failed = false;
	tx->header_len = 0;
	/* Keep a small buffer for the next message; give a big one back. */
	if (tx->msg.cap > 1024 * 1024)
		buf_free(&tx->msg);
	buf_reset(&tx->msg);
}

void
smtp_cmd_mail(struct smtp_session *s, const char *arg, size_t len)
{
	struct smtp_tx *tx = &s->tx;
	unsigned char id[8];
	int ret;

	if (s->helo[0] == '\0') {
		smtp_reply(s, "503 5.5.1 Send EHLO or HELO first");
		smtp_bad_command(s);
		return;
	}
	if (tx->active) {
		smtp_reply(s, "503 5.5.1 Nested MAIL command");
		smtp_bad_command(s);
		return;
	}
	if (smtp_auth_required(s) && s->auth_user_id == 0) {
		smtp_reply(s, "530 5.7.0 Authentication required");
		return;
	}
	ret = smtp_parse_mail(arg, len, &tx->mail);
	switch (ret) {
	case SMTP_PARSE_OK:
		break;
	case SMTP_PARSE_BAD_ADDRESS:
		smtp_reply(s, "553 5.1.7 Bad sender address syntax");
		smtp_bad_command(s);
		return;
	case SMTP_PARSE_BAD_PARAM:
		smtp_reply(s, "555 5.5.4 Unsupported MAIL parameter");
		smtp_bad_command(s);
		return;
	case SMTP_PARSE_UTF8:
		smtp_reply(s, "553 5.6.7 UTF-8 address needs SMTPUTF8");
		smtp_bad_command(s);
		return;
	default:
		smtp_reply(s, "501 5.5.4 Syntax: MAIL FROM:<address>");
		smtp_bad_command(s);
		return;
	}
	if (tx->mail.body == SMTP_BODY_BINARYMIME) {
		/* Not advertised: IMAP clients expect text lines. */
		smtp_reply(s, "555 5.5.4 BODY=BINARYMIME not supported");
		return;
	}
	if (s->auth_user_id != 0 && s->srv->env.sandbox_user_id == 0 &&
	    !smtp_sender_check(s, tx->mail.from.address, "sender"))
		return;
	if (tx->mail.size > s->srv->max_size) {
		smtp_reply(s, "552 5.3.4 Message size exceeds fixed maximum "
		    "message size");
		return;
	}
	randombytes_buf(id, sizeof(id));
	sodium_bin2hex(tx->id, sizeof(tx->id), id, sizeof(id));
	tx->active = true;
	smtp_reply(s, "250 2.1.0 Ok");
}

/* resolve: the users address reaches, into ids (LIMIT_RECIPIENTS). */
static int
resolve(struct smtp_session *s, const char *address, int64_t *ids,
    size_t *n_r)
{
	char postmaster[LIMIT_ADDR_TOTAL + 1];

	if (s->srv->env.sandbox_user_id > 0) {
		/* Sandbox: every address at every domain is one account. */
		ids[0] = s->srv->env.sandbox_user_id;
		*n_r = 1;
		return 0;
	}
	if (strcmp(address, "postmaster") == 0) {
		/* RFC 5321 4.5.1: <postmaster> without a domain is ours. */
		snprintf(postmaster, sizeof(postmaster), "postmaster@%s",
		    s->srv->env.cfg->hostname);
		address = postmaster;
	}
	return store_resolve(s->st, address, ids, n_r);
}

/* ascii_domain: the domain of address is ASCII. */
static bool
ascii_domain(const char *address)
{
	const char *at = strrchr(address, '@');

	for (at = at != NULL ? at : address; *at != '\0'; at++)
		if ((unsigned char)*at & 0x80)
			return false;
	return true;
}

/* quota: 0 when every user in ids has room for the announced size. */
static int
quota(struct smtp_session *s, const int64_t *ids, size_t n, bool *perm_r)
{
	int64_t size = (int64_t)s->tx.mail.size;

	*perm_r = false;
	for (size_t i = 0; i < n; i++) {
		int ret = store_user_quota_room(s->st, ids[i], size);

		if (ret == STORE_ERR_QUOTA) {
			struct store_user u;

			/* Larger than the whole quota: it will never fit. */
			if (store_user_get_by_id(s->st, ids[i], &u) == 0) {
				*perm_r = u.quota_bytes > 0 &&
				    size > u.quota_bytes;
				store_user_clear(&u);
			}
		}
		if (ret != 0)
			return ret;
	}
	return 0;
}

/* add_users: merges ids into the transaction's distinct users. */
static bool
add_users(struct smtp_tx *tx, const int64_t *ids, size_t n)
{
	int64_t merged[LIMIT_RECIPIENTS];
	size_t count = tx->nusers;

	memcpy(merged, tx->users, count * sizeof(merged[0]));
	for (size_t i = 0; i < n; i++) {
		size_t k;

		for (k = 0; k < count && merged[k] != ids[i]; k++)
			;
		if (k < count)
			continue;
		if (count == LIMIT_RECIPIENTS)
			return false;
		merged[count++] = ids[i];
	}
	memcpy(tx->users, merged, count * sizeof(merged[0]));
	tx->nusers = count;
	return true;
}

void
smtp_cmd_rcpt(struct smtp_session *s, const char *arg, size_t len)
{
	struct smtp_tx *tx = &s->tx;
	struct smtp_path path;
	int64_t ids[LIMIT_RECIPIENTS];
	size_t n = 0;
	bool perm;
	int ret;

	if (!tx->active || tx->bdat) {
		smtp_reply(s, "503 5.5.1 Need MAIL command");
		smtp_bad_command(s);
		return;
	}
	ret = smtp_parse_rcpt(arg, len, tx->mail.smtputf8, &path);
	if (ret == SMTP_PARSE_BAD_ADDRESS || ret == SMTP_PARSE_UTF8) {
		smtp_reply(s, "553 5.1.3 Bad recipient address syntax");
		smtp_bad_command(s);
		return;
	} else if (ret == SMTP_PARSE_BAD_PARAM) {
		smtp_reply(s, "555 5.5.4 Unsupported RCPT parameter");
		smtp_bad_command(s);
		return;
	} else if (ret != SMTP_PARSE_OK) {
		smtp_reply(s, "501 5.5.4 Syntax: RCPT TO:<address>");
		smtp_bad_command(s);
		return;
	}
	if (tx->nrcpts == LIMIT_RECIPIENTS) {
		smtp_reply(s, "452 4.5.3 Too many recipients");
		goto refused;
	}
	switch (resolve(s, path.address, ids, &n)) {
	case 0:
		break;
	case STORE_ERR_NOT_FOUND:
	case STORE_ERR_INVALID:
		smtp_reply(s, "550 5.1.1 <%s>: Recipient address rejected: "
		    "User unknown", path.address);
		goto refused;
	case STORE_ERR_NOT_LOCAL:
		if (smtp_outbound_allowed(s) && !ascii_domain(path.address)) {
			/* The resolver needs A-labels (RFC 5890); we do not
			 * convert U-labels yet: refused now, not bounced. */
			smtp_reply(s, "553 5.6.7 <%s>: Internationalized "
			    "domain names are not supported for remote "
			    "delivery", path.address);
			goto refused;
		}
		if (smtp_outbound_allowed(s)) {
			struct smtp_rcpt *r = &tx->rcpts[tx->nrcpts++];

			strcpy(r->address, path.address);
			r->remote = true;
			tx->nremote++;
			smtp_reply(s, "250 2.1.5 Ok");
			return;
		}
		if (s->auth_user_id != 0)
			smtp_reply(s, "550 5.7.1 <%s>: Outbound delivery is "
			    "not enabled on this server: only local "
			    "recipients", path.address);
		else
			smtp_reply(s, "554 5.7.1 <%s>: Relay access denied",
			    path.address);
		goto refused;
	default:
		smtp_reply(s, "451 4.3.0 Temporary lookup failure");
		goto refused;
	}
	if ((ret = quota(s, ids, n, &perm)) == STORE_ERR_QUOTA) {
		if (perm)
			smtp_reply(s, "552 5.2.2 <%s>: Mailbox full",
			    path.address);
		else
			smtp_reply(s, "452 4.2.2 <%s>: Mailbox full",
			    path.address);
		goto refused;
	} else if (ret != 0) {
		smtp_reply(s, "451 4.3.0 Temporary lookup failure");
		goto refused;
	}
	if (!add_users(tx, ids, n)) {
		smtp_reply(s, "452 4.5.3 Too many recipients");
		goto refused;
	}
	tx->rcpts[tx->nrcpts].remote = false;
	strcpy(tx->rcpts[tx->nrcpts++].address, path.address);
	smtp_reply(s, "250 2.1.5 Ok");
	return;
refused:
	tx->refused++;
}
