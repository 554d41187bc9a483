/*
 * smtp_outbound.c - the submission side of outbound mail: who may send
 * as whom (RFC 6409 8.1), and the copy that is queued for the delivery
 * agent, signed with DKIM.
 *
 * An authenticated user may use as envelope sender and in From: only an
 * address that store_resolve() takes to that user: its own, an alias of
 * it, its +detail forms, or an address of a domain whose catch-all it
 * receives. Anything else is 553 5.7.1, so one account cannot send as
 * another. The null sender is refused: bounces are the server's.
 *
 * The queued copy is the message with our Received header but without
 * Return-Path (the final delivery adds that), headed by one
 * DKIM-Signature per key of the From: domain. A key that cannot be used
 * is logged and the message goes out without its signature rather than
 * not at all.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/ascii.h"
#include "common/log.h"
#include "common/mime.h"
#include "common/xalloc.h"
#include "smtpd/dkim.h"
#include "smtpd/smtp_session.h"

/* The DKIM-Signature fields of one message: a few KiB at most. */
#define DKIM_HEAD_MAX (64 * 1024)

bool
smtp_outbound_allowed(const struct smtp_session *s)
{
	return s->auth_user_id != 0 && s->srv->env.sandbox_user_id == 0 &&
	    s->srv->env.cfg->outbound.enabled;
}

bool
smtp_sender_check(struct smtp_session *s, const char *address,
    const char *what)
{
	int64_t ids[LIMIT_RECIPIENTS];
	size_t n = 0;
	int ret;

	if (address[0] == '\0') {
		smtp_reply(s, "553 5.7.1 The null sender is not allowed on "
		    "submission");
		return false;
	}
	ret = store_resolve(s->st, address, ids, &n);
	if (ret == STORE_ERR_TEMP) {
		smtp_reply(s, "451 4.3.0 Temporary lookup failure");
		return false;
	}
	for (size_t i = 0; ret == 0 && i < n; i++)
		if (ids[i] == s->auth_user_id)
			return true;
	smtp_reply(s, "553 5.7.1 <%s>: %s not owned by user %s", address,
	    what, s->auth_user);
	log_info("smtp: id=%s %s <%s> refused for user %s", s->tx.id, what,
	    address, s->auth_user);
	return false;
}

bool
smtp_from_check(struct smtp_session *s)
{
	struct smtp_tx *tx = &s->tx;
	char **from;
	size_t n = mime_from_addresses(tx->msg.data + tx->header_len,
	    tx->msg.len - tx->header_len, &from);
	bool ok = true;

	/* A message without a From: address (none, a bare group, a
	 * comment) claims no one's address, so it impersonates no one: it
	 * passes, and goes out unsigned (no domain to sign for). Display
	 * names are free text in any case. */
	for (size_t i = 0; i < n && ok; i++)
		ok = smtp_sender_check(s, from[i], "From: address");
	for (size_t i = 0; i < n; i++)
		free(from[i]);
	free(from);
	return ok;
}

/* from_domain: the lower-cased domain of the first From: address into
 * out (LIMIT_ADDR_DOMAIN + 1 bytes); false when there is none. */
static bool
from_domain(const char *msg, size_t len, char *out)
{
	char **from;
	size_t n = mime_from_addresses(msg, len, &from);
	const char *at = n > 0 ? strrchr(from[0], '@') : NULL;
	bool ok = at != NULL && strlen(at + 1) <= LIMIT_ADDR_DOMAIN;

	if (ok) {
		size_t i;

		for (i = 0; at[1 + i] != '\0'; i++)
			out[i] = (char)ascii_lower((unsigned char)at[1 + i]);
		out[i] = '\0';
	}
	for (size_t i = 0; i < n; i++)
		free(from[i]);
	free(from);
	return ok;
}

/* dkim_head: the DKIM-Signature fields for msg into head (empty when the
 * From: domain has no key, or signing failed: logged). */
static void
dkim_head(struct smtp_session *s, const char *msg, size_t len,
    struct buf *head)
{
	struct store_dkim_key *keys = NULL;
	struct dkim_signer *signers[8];
	char domain[LIMIT_ADDR_DOMAIN + 1];
	size_t nkeys = 0, nsigners = 0;
	int ret;

	if (!from_domain(msg, len, domain))
		return;
	if ((ret = store_dkim_key_list(s->st, domain, &keys, &nkeys)) != 0) {
		log_warn("smtp: id=%s DKIM keys of %s: %s; sent unsigned",
		    s->tx.id, domain, store_strerror(ret));
		return;
	}
	for (size_t i = 0; i < nkeys && nsigners < 8; i++) {
		char *error = NULL;
		struct dkim_signer *d = dkim_signer_new(keys[i].domain,
		    keys[i].selector, keys[i].private_pem, &error);

		if (d == NULL) {
			log_warn("smtp: DKIM key %s of %s unusable: %s",
			    keys[i].selector, domain, error);
			free(error);
			continue;
		}
		signers[nsigners++] = d;
	}
	if (nsigners > 0 && dkim_sign(signers, nsigners, msg, len, time(NULL),
	    head) != 0) {
		log_warn("smtp: id=%s DKIM signing for %s failed; sent "
		    "unsigned", s->tx.id, domain);
		buf_reset(head);
	}
	for (size_t i = 0; i < nsigners; i++)
		dkim_signer_free(&signers[i]);
	store_dkim_key_list_free(&keys, nkeys);
}

/* has_8bit: a byte above 127 in data. Clients that send 8-bit text
 * without BODY=8BITMIME are common; the next hop must still be told. */
static bool
has_8bit(const char *data, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)data[i] & 0x80)
			return true;
	return false;
}

int
smtp_outbound_store(struct smtp_session *s, int *results_r)
{
	struct smtp_tx *tx = &s->tx;
	const char *rcpts[LIMIT_RECIPIENTS];
	struct store_queue_new q;
	struct buf head;
	const char *out, *nl;
	size_t n = 0, out_len;
	int ret;

	if (tx->nremote == 0)
		return store_submit(s->st, tx->users, tx->nusers, tx->msg.data,
		    tx->msg.len, (int64_t)time(NULL), results_r, NULL);
	for (size_t i = 0; i < tx->nrcpts; i++)
		if (tx->rcpts[i].remote)
			rcpts[n++] = tx->rcpts[i].address;
	/* smtp_headers_add() put Return-Path first, alone on its line. */
	nl = memchr(tx->msg.data, '\n', tx->header_len);
	out = nl != NULL ? nl + 1 : tx->msg.data;
	out_len = tx->msg.len - (size_t)(out - tx->msg.data);
	buf_init(&head, DKIM_HEAD_MAX);
	dkim_head(s, tx->msg.data + tx->header_len,
	    tx->msg.len - tx->header_len, &head);
	q = (struct store_queue_new){
		.qid = tx->id,
		.sender = tx->mail.from.address,
		.user_id = s->auth_user_id,
		.rcpts = rcpts,
		.nrcpts = n,
		.body_8bit = tx->mail.body == SMTP_BODY_8BITMIME ||
		    has_8bit(out, out_len),
		.smtputf8 = tx->mail.smtputf8,
		.head = head.data,
		.head_len = head.len,
		.data = out,
		.len = out_len,
	};
	ret = store_submit(s->st, tx->users, tx->nusers, tx->msg.data,
	    tx->msg.len, (int64_t)time(NULL), results_r, &q);
	buf_free(&head);
	return ret;
}
