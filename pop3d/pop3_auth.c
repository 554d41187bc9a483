/*
 * pop3_auth.c - AUTHORIZATION state: USER/PASS (RFC 1939 7), AUTH PLAIN
 * (RFC 5034, with or without an initial response) and STLS (RFC 2595).
 *
 * Cleartext passwords only under TLS, from loopback or when the config
 * allows (-ERR [AUTH] otherwise, as Dovecot answers). A failure costs the
 * throttle's delay and is logged as "pop3: auth failed: user=...
 * client=[ip]"; the password never reaches a log. APOP is not offered:
 * argon2 hashes cannot serve it.
 */
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <sodium.h>

#include "common/log.h"
#include "common/sasl.h"
#include "pop3d/pop3_session.h"

static bool
require_plaintext_ok(struct pop3_session *s)
{
	if (pop3_plaintext_ok(s))
		return true;
	pop3_reply(s, "-ERR [AUTH] Plaintext authentication disallowed on "
	    "non-secure connections: use STLS");
	pop3_bad_command(s);
	return false;
}

/* login: checks the credentials, then opens the maildrop. */
static void
login(struct pop3_session *s, const char *authzid, const char *user,
    const char *password)
{
	char safe[LIMIT_ADDR_TOTAL + 8];
	const char *ip = conn_peer_ip(s->conn);
	int64_t user_id;
	int ret;

	if (authzid[0] != '\0' && strcasecmp(authzid, user) != 0)
		ret = STORE_ERR_AUTH;
	else
		ret = store_user_login(s->st, s->srv->env.auth, user, password,
		    &user_id);
	log_safe(user, safe, sizeof(safe));
	s->user[0] = '\0';
	if (ret == STORE_ERR_AUTH) {
		log_warn("pop3: auth failed: user=%s client=[%s]", safe, ip);
		usleep(throttle_fail(s->srv->env.throttle, ip) * 1000U);
		pop3_reply(s, "-ERR [AUTH] Authentication failed");
		pop3_bad_command(s);
		return;
	}
	if (ret != 0) {
		pop3_reply(s, "-ERR [SYS/TEMP] Temporary failure, try again "
		    "later");
		return;
	}
	throttle_success(s->srv->env.throttle, ip);
	s->user_id = user_id;
	strcpy(s->user, safe);
	pop3_maildrop_open(s);
}

void
pop3_cmd_user(struct pop3_session *s, const struct pop3_command *cmd)
{
	if (!require_plaintext_ok(s))
		return;
	if (cmd->nargs != 1 || cmd->arg_lens[0] >= sizeof(s->user)) {
		pop3_reply(s, "-ERR Syntax: USER name");
		pop3_bad_command(s);
		return;
	}
	memcpy(s->user, cmd->args[0], cmd->arg_lens[0]);
	s->user[cmd->arg_lens[0]] = '\0';
	pop3_reply(s, "+OK");
}

void
pop3_cmd_pass(struct pop3_session *s, const struct pop3_command *cmd)
{
	char password[LIMIT_PASSWORD + 1];
	char user[LIMIT_ADDR_TOTAL + 1];

	if (!require_plaintext_ok(s))
		return;
	if (s->user[0] == '\0') {
		pop3_reply(s, "-ERR Give USER first");
		pop3_bad_command(s);
		return;
	}
	if (cmd->nargs != 1 || cmd->arg_lens[0] > LIMIT_PASSWORD ||
	    memchr(cmd->args[0], '\0', cmd->arg_lens[0]) != NULL) {
		s->user[0] = '\0';
		pop3_reply(s, "-ERR Syntax: PASS password");
		pop3_bad_command(s);
		return;
	}
	memcpy(password, cmd->args[0], cmd->arg_lens[0]);
	password[cmd->arg_lens[0]] = '\0';
	strcpy(user, s->user);
	login(s, "", user, password);
	sodium_memzero(password, sizeof(password));
}

/* auth_response: the base64 client response after "+ ": 0, or 1 after
 * the session answered (cancelled, too long, gone). */
static int
auth_response(struct pop3_session *s, const char **line_r, size_t *len_r)
{
	pop3_reply(s, "+ ");
	switch (sasl_read_response(s->conn, line_r, len_r)) {
	case SASL_RESPONSE_OK:
		return 0;
	case SASL_RESPONSE_CANCEL:
		pop3_reply(s, "-ERR Authentication cancelled");
		return 1;
	case SASL_RESPONSE_TOO_LONG:
		pop3_reply(s, "-ERR Authentication line too long");
		/* FALLTHROUGH */
	default:
		s->quit = true;
		return 1;
	}
}

void
pop3_cmd_auth(struct pop3_session *s, const struct pop3_command *cmd)
{
	struct sasl_credentials creds;
	const char *ir;
	size_t ir_len;

	if (cmd->nargs == 0) {
		/* RFC 1734 style: list the mechanisms. */
		pop3_reply(s, "+OK\r\nPLAIN\r\n.");
		return;
	}
	if (!require_plaintext_ok(s))
		return;
	if (cmd->arg_lens[0] != 5 ||
	    strncasecmp(cmd->args[0], "PLAIN", 5) != 0) {
		pop3_reply(s, "-ERR Unsupported authentication mechanism");
		pop3_bad_command(s);
		return;
	}
	if (cmd->nargs == 2) {
		ir = cmd->args[1];
		ir_len = cmd->arg_lens[1];
	} else if (auth_response(s, &ir, &ir_len) != 0) {
		return;
	}
	memset(&creds, 0, sizeof(creds));
	if (sasl_plain_decode(ir, ir_len, &creds) != 0) {
		pop3_reply(s, "-ERR Cannot decode AUTH PLAIN response");
		pop3_bad_command(s);
	} else {
		login(s, creds.authzid, creds.authcid, creds.password);
	}
	sasl_credentials_wipe(&creds);
}

void
pop3_cmd_stls(struct pop3_session *s, const struct pop3_command *cmd)
{
	if (cmd->nargs != 0 || conn_is_tls(s->conn)) {
		pop3_reply(s, "-ERR %s", cmd->nargs != 0 ? "Syntax: STLS" :
		    "TLS already active");
		pop3_bad_command(s);
		return;
	}
	pop3_reply(s, "+OK Begin TLS negotiation");
	conn_flush(s->conn);
	/* conn_start_tls() drops pipelined plaintext (CVE-2011-0411). */
	if (conn_start_tls(s->conn, s->srv->env.tls) != CONN_OK) {
		log_info("pop3: TLS handshake with %s failed",
		    conn_peer_ip(s->conn));
		s->quit = true;
		return;
	}
	/* RFC 2595 4: forget what was said before TLS. */
	s->user[0] = '\0';
}
