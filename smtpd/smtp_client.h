/*
 * smtp_client.h - the client side of SMTP (RFC 5321) for the delivery
 * agent: connect, EHLO (HELO when refused), STARTTLS (opportunistic or
 * required), AUTH PLAIN/LOGIN, then transactions with PIPELINING (RFC
 * 2920), SIZE (RFC 1870), 8BITMIME (RFC 6152) and SMTPUTF8 (RFC 6531)
 * when the server offers them, dot-stuffing, RSET between messages, QUIT.
 *
 * Timeouts are those of RFC 5321 4.5.3.2: greeting 5 min, MAIL 5 min,
 * RCPT 5 min, DATA 2 min, each data block 3 min, the final dot 10 min
 * (scaled by smtp_client_opts.timeout_scale for tests). A malformed reply
 * (bad code, inconsistent continuation lines, too long) is a temporary
 * failure: code 0 with the text saying what was wrong.
 *
 * Limits on what the server sends: a reply line is at most
 * SMTP_CLIENT_LINE_MAX octets (RFC 5321 4.5.3.1.5 says 512 with CRLF; we
 * are lenient up to this), a reply at most SMTP_CLIENT_REPLY_LINES lines.
 */
#ifndef LETTERBOX_SMTPD_SMTP_CLIENT_H
#define LETTERBOX_SMTPD_SMTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <openssl/ssl.h>

/* Longest reply line taken (octets before the line end). */
#define SMTP_CLIENT_LINE_MAX	4096
/* Most lines in one reply (an EHLO reply has one per extension). */
#define SMTP_CLIENT_REPLY_LINES	100
/* Most recipients in one transaction (RFC 5321 4.5.3.1.8 asks servers to
 * take 100; it also bounds a pipelined batch, RFC 2920 3.1's deadlock
 * warning). More get 452 4.5.3 without being sent: try them again. */
#define SMTP_CLIENT_RCPT_MAX	100
/* Longest AUTH username and password taken from the caller. */
#define SMTP_CLIENT_AUTH_MAX	1024

/* A server's answer, or why there was none. */
struct smtp_client_reply {
	int code;		/* 200..599; 0: no valid reply (network error,
				   timeout, malformed): temporary */
	char text[512];		/* "550 5.1.1 No such user" (continuation
				   lines joined with " / "), or "connect to
				   192.0.2.1:25: Connection refused";
				   control and non-ASCII bytes as '?',
				   truncated: safe to log and to put in a
				   DSN */
	bool tls_failed;	/* smtp_client_open(): the TLS handshake
				   failed (the caller may try without) */
};

enum smtp_client_tls {
	SMTP_CLIENT_TLS_NONE = 0,	/* never STARTTLS */
	SMTP_CLIENT_TLS_MAY,		/* STARTTLS when offered; a failed
					   handshake fails this connection */
	SMTP_CLIENT_TLS_REQUIRE,	/* STARTTLS or fail (temporary) */
	SMTP_CLIENT_TLS_IMPLICIT,	/* TLS from the first byte (465) */
};

struct smtp_client_opts {
	const char *helo;		/* our hostname for EHLO */
	enum smtp_client_tls tls;
	SSL_CTX *tls_ctx;		/* client context (needed unless
					   NONE); its verify mode decides */
	const char *tls_name;		/* SNI and the name verified
					   (NULL: none; required when
					   tls_ctx verifies) */
	const char *auth_user;		/* NULL: no AUTH */
	const char *auth_password;
	int connect_timeout_ms;		/* e.g. 30 s */
	double timeout_scale;		/* 1.0: RFC 5321's; tests use less */
	int stop_fd;			/* readable: give up (shutdown); -1 */
};

struct smtp_client;

/*
 * smtp_client_open: connects to addr, reads the greeting, says EHLO,
 * upgrades with STARTTLS per opts->tls (and says EHLO again), and
 * authenticates when asked (PLAIN, else LOGIN, whichever the server
 * offers; AUTH is never sent without TLS). Returns 0 with *client_r, or
 * -1 with *reply_r: the server's refusal (a 5xx greeting or AUTH answer
 * is permanent for this host; the caller decides what it means for the
 * message) or code 0 for a network/TLS/protocol failure. opts and its
 * strings are only read during the call. A server that refuses EHLO
 * (5xx) gets HELO and is then used without extensions. With auth_user
 * set, a server that offers neither PLAIN nor LOGIN (or no TLS) is a
 * failure (code 0), never an unauthenticated session. On success
 * *reply_r holds the last reply (for logs).
 */
int smtp_client_open(const struct sockaddr *addr, socklen_t addr_len,
    const struct smtp_client_opts *opts, struct smtp_client **client_r,
    struct smtp_client_reply *reply_r);

/* One message to send. */
struct smtp_client_msg {
	const char *sender;		/* "" for the null sender <> */
	const char *const *rcpts;
	size_t nrcpts;
	int64_t size;			/* announced with SIZE= */
	bool body_8bit;			/* needs 8BITMIME */
	bool smtputf8;			/* needs SMTPUTF8 */
	/* read: the next bytes of the message as stored (CRLF lines, not
	 * dot-stuffed), into buf (cap bytes), *len_r = 0 at the end.
	 * 0, or -1 when the message cannot be read (temporary failure:
	 * before any text was sent the transaction is abandoned with RSET;
	 * in the middle of the text the connection is closed instead, as
	 * the only way to stop without delivering part of a message). */
	int (*read)(void *arg, char *buf, size_t cap, size_t *len_r);
	void *read_arg;
};

/*
 * smtp_client_send: one transaction (MAIL, RCPTs, DATA, pipelined when
 * offered). rcpt_result (nrcpts entries) gets each recipient's outcome:
 * its RCPT reply when refused; otherwise the final reply to the data
 * (or the MAIL/DATA refusal, or code 0 when the connection failed).
 * A message larger than the server's SIZE gets 552 5.3.4 for everyone,
 * one needing 8BITMIME or SMTPUTF8 the server lacks 554 5.6.3 / 553
 * 5.6.7, without being sent. A sender or recipient holding a control
 * character or longer than LIMIT_ADDR_TOTAL gets 553 5.1.7 / 553 5.1.3;
 * recipients past SMTP_CLIENT_RCPT_MAX get 452 4.5.3; neither is sent.
 * SMTPUTF8 is asked for when msg->smtputf8 or an address is not ASCII.
 * Bare CR and LF in the text are sent as CRLF (SMTP smuggling: no
 * server may see a line end other than ours), and a missing final CRLF
 * is added. Returns true when the connection can carry another message
 * (it was reset if needed), false when it must be closed.
 */
bool smtp_client_send(struct smtp_client *c, const struct smtp_client_msg *msg,
    struct smtp_client_reply *rcpt_result);

/* smtp_client_tls: "TLSv1.3" when the session is under TLS, else NULL. */
const char *smtp_client_tls(const struct smtp_client *c);
/* smtp_client_tls_verified: true when under TLS and the server's
 * certificate verified for tls_name against tls_ctx's trust store (in
 * either verify mode: for logs of opportunistic sessions). */
bool smtp_client_tls_verified(const struct smtp_client *c);

/* What the server's EHLO reply offered (RFC 5321 4.1.1.1). */
struct smtp_client_caps {
	bool ehlo;		/* EHLO answered 250 (else HELO: nothing) */
	bool pipelining;	/* RFC 2920 */
	bool size;		/* RFC 1870: SIZE= may be sent */
	uint64_t size_max;	/* its limit; 0: none declared */
	bool eightbitmime;	/* RFC 6152 */
	bool starttls;		/* RFC 3207 */
	bool smtputf8;		/* RFC 6531 */
	bool enhancedstatuscodes; /* RFC 2034 */
	bool chunking;		/* RFC 3030: noted, not used (DATA is) */
	bool auth;		/* RFC 4954, also the old "AUTH=" form */
	bool auth_plain;
	bool auth_login;
};

/* smtp_client_caps: the capabilities of the session (after STARTTLS,
 * those of the second EHLO); valid as long as c. */
const struct smtp_client_caps *smtp_client_caps(const struct smtp_client *c);

/*
 * smtp_client_parse_ehlo_line: adds what one line of a 250 EHLO reply
 * ("250-SIZE 10240000", with its code, without CRLF; not the first
 * line, which is the greeting) offers to *caps. Unknown keywords and
 * lines shorter than a code and a keyword are ignored; a SIZE value that
 * is not a number (or overflows) counts as "no limit declared". For the
 * client, its tests and the fuzzer.
 */
void smtp_client_parse_ehlo_line(struct smtp_client_caps *caps,
    const char *line, size_t len);

/* smtp_client_close: QUIT (best effort, short timeout) and frees. */
void smtp_client_close(struct smtp_client **c);

/*
 * smtp_client_parse_reply: reads one reply from lines (each without its
 * CRLF) as they arrive: call with each line; returns 1 when the reply is
 * complete (into *reply), 0 when more lines are needed, -1 when
 * malformed (reply->code 0, text says why). *state must be zeroed before
 * the first line, and the same reply passed with each line of one reply
 * (its text is built as the lines come); after -1 every later line gets
 * -1 too until *state is zeroed. For the client, its tests and the
 * fuzzer.
 */
struct smtp_client_reply_state {
	int code;
	unsigned int lines;
	size_t text_len;
};
int smtp_client_parse_reply(struct smtp_client_reply_state *state,
    const char *line, size_t len, struct smtp_client_reply *reply);

/*
 * Dot-stuffing of message text (RFC 5321 4.5.2), streamed chunk by
 * chunk, for smtp_client_send(), its tests and the fuzzer. A line that
 * starts with "." gets another; CRLF, bare CR and bare LF all leave as
 * CRLF (a CR at the end of a chunk waits for the next chunk's first
 * byte); smtp_client_dot_end() adds a final CRLF when the text lacks
 * one, then ".\r\n". The sink takes each piece of output and returns 0,
 * or a failure that stops the stuffing and is returned as is.
 */
struct smtp_client_dot {
	bool bol;		/* at the beginning of a line */
	bool cr;		/* a CR seen, not yet written */
};
typedef int smtp_client_sink(void *arg, const void *data, size_t len);
void smtp_client_dot_init(struct smtp_client_dot *st);
int smtp_client_dot_stuff(struct smtp_client_dot *st, const char *p,
    size_t n, smtp_client_sink *sink, void *arg);
int smtp_client_dot_end(struct smtp_client_dot *st, smtp_client_sink *sink,
    void *arg);

#endif
