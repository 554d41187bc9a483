/*
 * imap_auth.c - the not-authenticated state: LOGIN (RFC 3501 6.2.3),
 * AUTHENTICATE PLAIN with SASL-IR (RFC 3501 6.2.2, RFC 4959, RFC 4616)
 * and STARTTLS (RFC 3501 6.2.1).
 *
 * Cleartext passwords only under TLS, from loopback or when the config
 * allows (LOGINDISABLED and NO [PRIVACYREQUIRED] otherwise). A failure
 * costs the throttle's delay and is logged as "imap: auth failed:
 * user=... client=[ip]"; the password never reaches a log and is wiped.
 */
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <sodium.h>

#include "common/log.h"
#include "common/sasl.h"
#include "imapd/imap_session.h"

static bool
require_plaintext_ok(struct imap_session *s, struct imap_cmd *cmd)
{
	if (imap_plaintext_ok(s))
		return true;
	imap_reply(cmd, "NO [PRIVACYREQUIRED] Plaintext authentication "
	    "disallowed on non-secure connections: use STARTTLS");
	return false;
}

/* wipe_input: the password also sits in the command buffer; all of it
 * but the tag (still to be answered) is zeroed. */
static void
wipe_input(struct imap_session *s, struct imap_cmd *cmd)
{
	size_t keep = (size_t)(cmd->tag.s + cmd->tag.len - s->input.data);

	sodium_memzero(s->input.data + keep, s->input.len - keep);
}

static void
login(struct imap_session *s, struct imap_cmd *cmd, const char *authzid,
    const char *user, const char *password)
{
	char safe[LIMIT_ADDR_TOTAL + 8], caps[IMAP_CAPABILITY_MAX];
	const char *ip = conn_peer_ip(s->conn);
	int64_t user_id;
	int ret;

	if (authzid[0] != '\0' && strcasecmp(authzid, user) != 0)
		ret = STORE_ERR_AUTH;
	else
		ret = store_user_login(s->st, s->srv->env.auth, user, password,
		    &user_id);
	log_safe(user, safe, sizeof(safe));
	if (ret == STORE_ERR_AUTH) {
		log_warn("imap: auth failed: user=%s client=[%s]", safe, ip);
		usleep(throttle_fail(s->srv->env.throttle, ip) * 1000U);
		imap_reply(cmd, "NO [AUTHENTICATIONFAILED] Authentication "
		    "failed");
		return;
	}
	if (ret != 0) {
		imap_reply(cmd, "NO [UNAVAILABLE] Temporary failure, try "
		    "again later");
		return;
	}
	throttle_success(s->srv->env.throttle, ip);
	log_info("imap: login user=%s client=[%s]", safe, ip);
	s->user_id = user_id;
	strcpy(s->user, safe);
	s->state = IMAP_STATE_AUTH;
	s->bad_commands = 0;
	conn_set_timeout(s->conn, LIMIT_IMAP_TIMEOUT_MS);
	imap_capability(s, caps, sizeof(caps));
	imap_reply(cmd, "OK [CAPABILITY %s] Logged in", caps);
}

void
imap_cmd_login(struct imap_session *s, struct imap_cmd *cmd)
{
	char user[LIMIT_ADDR_TOTAL + 1], password[LIMIT_PASSWORD + 1];
	struct imap_str u, p;

	if (imap_parse_sp(&cmd->ps) != 0 ||
	    imap_parse_astring(&cmd->ps, &u) != 0 ||
	    imap_parse_sp(&cmd->ps) != 0 ||
	    imap_parse_astring(&cmd->ps, &p) != 0 ||
	    imap_parse_end(&cmd->ps) != 0) {
		imap_bad_syntax(cmd);
		return;
	}
	if (!require_plaintext_ok(s, cmd))
		return;
	if (imap_str_copy(&u, user, sizeof(user)) != 0 ||
	    imap_str_copy(&p, password, sizeof(password)) != 0) {
		imap_reply(cmd, "NO [AUTHENTICATIONFAILED] Authentication "
		    "failed");
	} else {
		login(s, cmd, "", user, password);
	}
	sodium_memzero(password, sizeof(password));
	wipe_input(s, cmd);
}

/* read_response: the base64 client response after "+ ": 0, or -1 after
 * the answer was set (cancelled) or the session must end. */
static int
read_response(struct imap_session *s, struct imap_cmd *cmd,
    const char **line_r, size_t *len_r)
{
	conn_printf(s->conn, "+ \r\n");
	conn_flush(s->conn);
	switch (sasl_read_response(s->conn, line_r, len_r)) {
	case SASL_RESPONSE_OK:
		return 0;
	case SASL_RESPONSE_CANCEL:
		/* RFC 3501 6.2.2: a cancelled exchange is answered BAD. */
		imap_reply(cmd, "BAD Authentication cancelled");
		return -1;
	case SASL_RESPONSE_TOO_LONG:
		conn_printf(s->conn, "* BYE Authentication line too "
		    "long\r\n");
		/* FALLTHROUGH */
	default:
		imap_reply(cmd, "BAD Authentication aborted");
		s->logout = true;
		return -1;
	}
}

void
imap_cmd_authenticate(struct imap_session *s, struct imap_cmd *cmd)
{
	struct sasl_credentials creds;
	struct imap_str mech, ir = { NULL, 0 };
	const char *resp;
	size_t resp_len;

	if (imap_parse_sp(&cmd->ps) != 0 ||
	    imap_parse_atom(&cmd->ps, &mech) != 0) {
		imap_bad_syntax(cmd);
		return;
	}
	if (imap_parse_peek(&cmd->ps, ' ')) {
		cmd->ps.p++;
		if (imap_parse_atom(&cmd->ps, &ir) != 0) {
			imap_bad_syntax(cmd);
			return;
		}
	}
	if (imap_parse_end(&cmd->ps) != 0) {
		imap_bad_syntax(cmd);
		return;
	}
	if (!imap_str_is(&mech, "PLAIN")) {
		imap_reply(cmd, "NO [CANNOT] Unsupported authentication "
		    "mechanism");
		return;
	}
	if (!require_plaintext_ok(s, cmd))
		return;
	if (ir.s != NULL) {
		/* RFC 4959: "=" is an empty initial response. */
		resp = ir.s;
		resp_len = ir.len == 1 && ir.s[0] == '=' ? 0 : ir.len;
	} else if (read_response(s, cmd, &resp, &resp_len) != 0) {
		return;
	}
	memset(&creds, 0, sizeof(creds));
	if (sasl_plain_decode(resp, resp_len, &creds) != 0)
		imap_reply(cmd, "NO [AUTHENTICATIONFAILED] Authentication "
		    "failed");
	else
		login(s, cmd, creds.authzid, creds.authcid, creds.password);
	sasl_credentials_wipe(&creds);
	wipe_input(s, cmd);
}

void
imap_cmd_starttls(struct imap_session *s, struct imap_cmd *cmd)
{
	if (imap_parse_end(&cmd->ps) != 0) {
		imap_bad_syntax(cmd);
		return;
	}
	if (conn_is_tls(s->conn) || s->svc != CONFIG_SVC_IMAP) {
		imap_reply(cmd, "BAD TLS is already active");
		return;
	}
	imap_reply(cmd, "OK Begin TLS negotiation now");
	imap_reply_now(s, cmd);
	/* conn_start_tls() drops pipelined plaintext (CVE-2011-0411). */
	if (conn_start_tls(s->conn, s->srv->env.tls) != CONN_OK) {
		log_info("imap: TLS handshake with %s failed",
		    conn_peer_ip(s->conn));
		s->logout = true;
		return;
	}
	/* RFC 3501 6.2.1: the client asks CAPABILITY again. */
}
