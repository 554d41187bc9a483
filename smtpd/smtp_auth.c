/*
 * smtp_auth.c - AUTH (RFC 4954) with PLAIN (RFC 4616) and LOGIN, with an
 * initial response or after a 334 challenge.
 *
 * Offered on submission only, and there only under TLS, from loopback or
 * when the config allows plaintext (538 5.7.11 otherwise). A failure is
 * answered after the throttle's delay (2 s and growing per IP) and logged
 * as "smtp: auth failed: user=... client=[ip]" for fail2ban-style tools;
 * the password never reaches a log. Responses are at most
 * LIMIT_SASL_LINE octets.
 */
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <sodium.h>

#include "common/log.h"
#include "common/sasl.h"
#include "smtpd/smtp_session.h"

/* read_response: one client response line to a 334 challenge. Returns 0,
 * 1 when the client cancelled ("*") or the session ended (replied). */
static int
read_response(struct smtp_session *s, const char *challenge,
    const char **line_r, size_t *len_r)
{
	smtp_reply(s, "334 %s", challenge);
	switch (sasl_read_response(s->conn, line_r, len_r)) {
	case SASL_RESPONSE_OK:
		return 0;
	case SASL_RESPONSE_CANCEL:
		smtp_reply(s, "501 5.0.0 Authentication cancelled");
		return 1;
	case SASL_RESPONSE_TOO_LONG:
		smtp_reply(s, "500 5.5.6 Authentication exchange line is too "
		    "long");
		/* FALLTHROUGH */
	default:
		s->quit = true;
		return 1;
	}
}

/* get_plain: PLAIN credentials from the initial response or a 334. */
static int
get_plain(struct smtp_session *s, const char *ir, size_t ir_len,
    struct sasl_credentials *creds)
{
	if (ir == NULL && read_response(s, "", &ir, &ir_len) != 0)
		return 1;
	if (sasl_plain_decode(ir, ir_len, creds) != 0) {
		smtp_reply(s, "501 5.5.2 Cannot decode AUTH PLAIN response");
		return 1;
	}
	return 0;
}

/* get_login: LOGIN's user name (initial response or a 334) and password. */
static int
get_login(struct smtp_session *s, const char *ir, size_t ir_len,
    struct sasl_credentials *creds)
{
	/* base64 of "Username:" and "Password:", as clients expect. */
	if (ir == NULL && read_response(s, "VXNlcm5hbWU6", &ir, &ir_len) != 0)
		return 1;
	if (sasl_base64_decode_text(ir, ir_len, creds->authcid,
	    sizeof(creds->authcid)) != 0) {
		smtp_reply(s, "501 5.5.2 Cannot decode AUTH LOGIN response");
		return 1;
	}
	if (read_response(s, "UGFzc3dvcmQ6", &ir, &ir_len) != 0)
		return 1;
	if (sasl_base64_decode_text(ir, ir_len, creds->password,
	    sizeof(creds->password)) != 0) {
		smtp_reply(s, "501 5.5.2 Cannot decode AUTH LOGIN response");
		return 1;
	}
	return 0;
}

static void
verify(struct smtp_session *s, const struct sasl_credentials *creds)
{
	char user[LIMIT_ADDR_TOTAL + 8];
	const char *ip = conn_peer_ip(s->conn);
	int64_t user_id;
	int ret;

	/* Acting as someone else (authzid) is not supported. */
	if (creds->authzid[0] != '\0' &&
	    strcasecmp(creds->authzid, creds->authcid) != 0)
		ret = STORE_ERR_AUTH;
	else
		ret = store_user_login(s->st, s->srv->env.auth,
		    creds->authcid, creds->password, &user_id);
	log_safe(creds->authcid, user, sizeof(user));
	if (ret == 0) {
		throttle_success(s->srv->env.throttle, ip);
		s->auth_user_id = user_id;
		strcpy(s->auth_user, user);
		log_info("smtp: auth ok: user=%s client=[%s]", user, ip);
		smtp_reply(s, "235 2.7.0 Authentication successful");
		return;
	}
	if (ret != STORE_ERR_AUTH) {
		smtp_reply(s, "454 4.7.0 Temporary authentication failure");
		return;
	}
	log_warn("smtp: auth failed: user=%s client=[%s]", user, ip);
	usleep(throttle_fail(s->srv->env.throttle, ip) * 1000U);
	smtp_reply(s, "535 5.7.8 Authentication credentials invalid");
	smtp_bad_command(s);
}

void
smtp_cmd_auth(struct smtp_session *s, const char *arg, size_t len)
{
	struct sasl_credentials creds;
	const char *ir;
	size_t ir_len;
	char mech[21];
	int ret;

	if (!smtp_auth_required(s)) {
		smtp_reply(s, "503 5.5.1 AUTH not available on this service");
		smtp_bad_command(s);
		return;
	}
	if (!smtp_auth_offered(s)) {
		smtp_reply(s, "538 5.7.11 Encryption required for requested "
		    "authentication mechanism");
		smtp_bad_command(s);
		return;
	}
	if (s->auth_user_id != 0 || s->tx.active || s->helo[0] == '\0') {
		smtp_reply(s, "503 5.5.1 %s", s->auth_user_id != 0 ?
		    "Already authenticated" : s->tx.active ?
		    "AUTH not allowed during a mail transaction" :
		    "Send EHLO first");
		smtp_bad_command(s);
		return;
	}
	if (smtp_parse_auth(arg, len, mech, &ir, &ir_len) != SMTP_PARSE_OK) {
		smtp_reply(s, "501 5.5.4 Syntax: AUTH mechanism "
		    "[initial-response]");
		smtp_bad_command(s);
		return;
	}
	memset(&creds, 0, sizeof(creds));
	if (strcmp(mech, "PLAIN") == 0) {
		ret = get_plain(s, ir, ir_len, &creds);
	} else if (strcmp(mech, "LOGIN") == 0) {
		ret = get_login(s, ir, ir_len, &creds);
	} else {
		smtp_reply(s, "504 5.5.4 Unrecognized authentication type");
		smtp_bad_command(s);
		return;
	}
	if (ret == 0)
		verify(s, &creds);
	sasl_credentials_wipe(&creds);
}
