/*
 * test_smtp_client.c - the delivery agent's SMTP client: the reply parser
 * and the EHLO keyword parser on their own, then the whole client
 * against a scripted fake server.
 *
 * The fake server runs in a thread on 127.0.0.1 (ephemeral port) and
 * uses conn.c's server side. Its script is a list of steps: send a
 * reply, expect a command line, read the message text, start TLS, wait
 * for the client to close. It records every line the client sent (with
 * the line end as received) and the message text apart, and notes the
 * first step that went wrong; threads never call cmocka, the main
 * thread asserts after joining. Timeouts are RFC 5321's scaled down
 * (SCALE): seconds for everything but the test that wants a timeout.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "common/conn.h"
#include "common/log.h"
#include "common/tls.h"
#include "smtpd/smtp_client.h"

/* A wait in the fake server that must never fire. */
#define SAFE_TIMEOUT_MS	5000
/* RFC 5321's minutes scaled to seconds: 5 min -> 6 s, QUIT 10 s -> 0.2 s. */
#define SCALE		0.02
#define FAKE_LOG	(256 * 1024)

/* ---- reply parser ------------------------------------------------------ */

/* parse_lines: feeds lines (NULL-terminated) to the parser as one reply.
 * Returns the last result; *used_r: how many lines were taken. */
static int
parse_lines(const char *const *lines, struct smtp_client_reply *r,
    size_t *used_r)
{
	struct smtp_client_reply_state st;
	int ret = 0;
	size_t i;

	memset(&st, 0, sizeof(st));
	memset(r, 0x55, sizeof(*r));
	for (i = 0; lines[i] != NULL; i++) {
		ret = smtp_client_parse_reply(&st, lines[i], strlen(lines[i]),
		    r);
		if (ret != 0)
			break;
	}
	if (used_r != NULL)
		*used_r = lines[i] != NULL ? i + 1 : i;
	return ret;
}

static void
assert_reply(const char *const *lines, int code, const char *text)
{
	struct smtp_client_reply r;
	size_t used;

	assert_int_equal(parse_lines(lines, &r, &used), 1);
	assert_int_equal(r.code, code);
	assert_string_equal(r.text, text);
	/* The reply ends exactly at its last line. */
	assert_null(lines[used]);
}

static void
assert_malformed(const char *const *lines, const char *why)
{
	struct smtp_client_reply r;

	assert_int_equal(parse_lines(lines, &r, NULL), -1);
	assert_int_equal(r.code, 0);
	if (strstr(r.text, why) == NULL)
		fail_msg("\"%s\" does not say \"%s\"", r.text, why);
}

static void
test_parse_single(void **state)
{
	(void)state;
	assert_reply((const char *[]){ "250 OK", NULL }, 250, "250 OK");
	assert_reply((const char *[]){ "550 5.1.1 No such user", NULL }, 550,
	    "550 5.1.1 No such user");
	assert_reply((const char *[]){ "421 4.3.2 Bye now ", NULL }, 421,
	    "421 4.3.2 Bye now ");
	/* RFC 5321 4.2: the text is optional on the last line. */
	assert_reply((const char *[]){ "250", NULL }, 250, "250");
	assert_reply((const char *[]){ "250 ", NULL }, 250, "250");
	/* Second and third digits: any digit. */
	assert_reply((const char *[]){ "299 x", NULL }, 299, "299 x");
	assert_reply((const char *[]){ "200 y", NULL }, 200, "200 y");
	assert_reply((const char *[]){ "599 z", NULL }, 599, "599 z");
}

static void
test_parse_multi(void **state)
{
	(void)state;
	assert_reply((const char *[]){ "250-mx.example.org Hello",
	    "250-PIPELINING", "250 SIZE 1000", NULL }, 250,
	    "250 mx.example.org Hello / PIPELINING / SIZE 1000");
	assert_reply((const char *[]){ "550-5.7.1 Blocked.", "550-",
	    "550 5.7.1 See https://example.org/", NULL }, 550,
	    "550 5.7.1 Blocked. / 5.7.1 See https://example.org/");
	/* Empty continuation lines add nothing. */
	assert_reply((const char *[]){ "250-", "250-", "250 ok", NULL }, 250,
	    "250 ok");
	assert_reply((const char *[]){ "220-", "220", NULL }, 220, "220");
}

static void
test_parse_incremental(void **state)
{
	struct smtp_client_reply_state st;
	struct smtp_client_reply r;

	(void)state;
	memset(&st, 0, sizeof(st));
	assert_int_equal(smtp_client_parse_reply(&st, "354-a", 5, &r), 0);
	assert_int_equal(r.code, 0);
	assert_int_equal(smtp_client_parse_reply(&st, "354-b", 5, &r), 0);
	assert_int_equal(smtp_client_parse_reply(&st, "354 c", 5, &r), 1);
	assert_int_equal(r.code, 354);
	assert_string_equal(r.text, "354 a / b / c");
	assert_int_equal(st.lines, 3);
	/* Zeroed again: a new reply. */
	memset(&st, 0, sizeof(st));
	assert_int_equal(smtp_client_parse_reply(&st, "250 d", 5, &r), 1);
	assert_string_equal(r.text, "250 d");
}

static void
test_parse_code_mismatch(void **state)
{
	struct smtp_client_reply_state st;
	struct smtp_client_reply r;

	(void)state;
	assert_malformed((const char *[]){ "250-a", "251 b", NULL },
	    "code changes");
	assert_malformed((const char *[]){ "250-a", "250-b", "550 c", NULL },
	    "code changes");
	/* After -1, every later line is -1 until the state is zeroed. */
	memset(&st, 0, sizeof(st));
	assert_int_equal(smtp_client_parse_reply(&st, "250-a", 5, &r), 0);
	assert_int_equal(smtp_client_parse_reply(&st, "251 b", 5, &r), -1);
	assert_int_equal(smtp_client_parse_reply(&st, "250 c", 5, &r), -1);
	assert_int_equal(r.code, 0);
}

static void
test_parse_bad_code(void **state)
{
	(void)state;
	assert_malformed((const char *[]){ "099 x", NULL }, "not 2xx-5xx");
	assert_malformed((const char *[]){ "600 x", NULL }, "not 2xx-5xx");
	assert_malformed((const char *[]){ "199 x", NULL }, "not 2xx-5xx");
	assert_malformed((const char *[]){ "999", NULL }, "not 2xx-5xx");
	assert_malformed((const char *[]){ "25x y", NULL }, "no reply code");
	assert_malformed((const char *[]){ "2 50 y", NULL }, "no reply code");
	assert_malformed((const char *[]){ "-250 y", NULL }, "no reply code");
	assert_malformed((const char *[]){ "", NULL }, "no reply code");
	assert_malformed((const char *[]){ "2", NULL }, "no reply code");
	assert_malformed((const char *[]){ "25", NULL }, "no reply code");
	assert_malformed((const char *[]){ "HTTP/1.1 400 Bad Request", NULL },
	    "\"HTTP/1.1 400 Bad Request\"");
	/* A bad line after good ones. */
	assert_malformed((const char *[]){ "250-a", "25", NULL },
	    "no reply code");
}

static void
test_parse_missing_space(void **state)
{
	(void)state;
	assert_malformed((const char *[]){ "250x", NULL }, "no space");
	assert_malformed((const char *[]){ "250OK", NULL }, "no space");
	assert_malformed((const char *[]){ "250\tOK", NULL }, "no space");
	assert_malformed((const char *[]){ "2500 OK", NULL }, "no space");
	assert_malformed((const char *[]){ "250-a", "250_b", NULL },
	    "no space");
}

static void
test_parse_too_long(void **state)
{
	struct smtp_client_reply_state st;
	struct smtp_client_reply r;
	char *line = malloc(SMTP_CLIENT_LINE_MAX + 2);

	(void)state;
	assert_non_null(line);
	memset(line, 'a', SMTP_CLIENT_LINE_MAX + 1);
	memcpy(line, "250 ", 4);

	memset(&st, 0, sizeof(st));
	assert_int_equal(smtp_client_parse_reply(&st, line,
	    SMTP_CLIENT_LINE_MAX, &r), 1);
	assert_int_equal(r.code, 250);
	/* The text is cut to the reply's buffer, and says so. */
	assert_int_equal(strlen(r.text), sizeof(r.text) - 1);
	assert_string_equal(r.text + sizeof(r.text) - 4, "...");

	memset(&st, 0, sizeof(st));
	assert_int_equal(smtp_client_parse_reply(&st, line,
	    SMTP_CLIENT_LINE_MAX + 1, &r), -1);
	assert_int_equal(r.code, 0);
	assert_non_null(strstr(r.text, "too long"));
	assert_true(strlen(r.text) < 200);
	free(line);
}

static void
test_parse_too_many_lines(void **state)
{
	struct smtp_client_reply_state st;
	struct smtp_client_reply r;
	unsigned int i;

	(void)state;
	memset(&st, 0, sizeof(st));
	for (i = 0; i + 1 < SMTP_CLIENT_REPLY_LINES; i++)
		assert_int_equal(smtp_client_parse_reply(&st, "250-x", 5, &r),
		    0);
	/* The 100th line may end it... */
	assert_int_equal(smtp_client_parse_reply(&st, "250 x", 5, &r), 1);
	assert_int_equal(r.code, 250);
	/* ...a 101st may not exist. */
	memset(&st, 0, sizeof(st));
	for (i = 0; i < SMTP_CLIENT_REPLY_LINES; i++)
		assert_int_equal(smtp_client_parse_reply(&st, "250-x", 5, &r),
		    0);
	assert_int_equal(smtp_client_parse_reply(&st, "250 x", 5, &r), -1);
	assert_int_equal(r.code, 0);
	assert_non_null(strstr(r.text, "too many lines"));
}

static void
test_parse_sanitize(void **state)
{
	struct smtp_client_reply_state st;
	struct smtp_client_reply r;
	static const char line[] = "550 a\x01\x1b[31m\x7f\x80\xc3\xa9\0z\r\tq";
	static const char bad[] = "\x02\x03\xff x";
	size_t i;

	(void)state;
	memset(&st, 0, sizeof(st));
	assert_int_equal(smtp_client_parse_reply(&st, line, sizeof(line) - 1,
	    &r), 1);
	assert_int_equal(r.code, 550);
	assert_string_equal(r.text, "550 a??[31m?????z??q");
	memset(&st, 0, sizeof(st));
	assert_int_equal(smtp_client_parse_reply(&st, bad, sizeof(bad) - 1,
	    &r), -1);
	for (i = 0; r.text[i] != '\0'; i++)
		assert_true(r.text[i] >= 0x20 && r.text[i] < 0x7f);
	assert_non_null(strstr(r.text, "\"??? x\""));
}

/* Many lines with text: the joined text stops at the buffer, with "...". */
static void
test_parse_long_multi(void **state)
{
	struct smtp_client_reply_state st;
	struct smtp_client_reply r;
	int i;

	(void)state;
	memset(&st, 0, sizeof(st));
	for (i = 0; i < 60; i++)
		assert_int_equal(smtp_client_parse_reply(&st,
		    "250-0123456789", 14, &r), 0);
	assert_int_equal(smtp_client_parse_reply(&st, "250 end", 7, &r), 1);
	assert_int_equal(r.code, 250);
	assert_int_equal(strlen(r.text), sizeof(r.text) - 1);
	assert_memory_equal(r.text, "250 0123456789 / 0123456789", 27);
	assert_string_equal(r.text + sizeof(r.text) - 4, "...");
}

/* ---- EHLO keywords ----------------------------------------------------- */

static struct smtp_client_caps
ehlo(const char *const *lines)
{
	struct smtp_client_caps caps;

	memset(&caps, 0, sizeof(caps));
	for (size_t i = 0; lines[i] != NULL; i++)
		smtp_client_parse_ehlo_line(&caps, lines[i], strlen(lines[i]));
	return caps;
}

static void
test_ehlo_keywords(void **state)
{
	struct smtp_client_caps c;

	(void)state;
	c = ehlo((const char *[]){ "250-PIPELINING", "250-SIZE 35882577",
	    "250-8BITMIME", "250-STARTTLS", "250-ENHANCEDSTATUSCODES",
	    "250-SMTPUTF8", "250-CHUNKING", "250 AUTH PLAIN LOGIN", NULL });
	assert_true(c.pipelining && c.size && c.eightbitmime && c.starttls &&
	    c.enhancedstatuscodes && c.smtputf8 && c.chunking && c.auth &&
	    c.auth_plain && c.auth_login);
	assert_int_equal(c.size_max, 35882577);

	/* Case, the old AUTH= form, mechanisms we do not use. */
	c = ehlo((const char *[]){ "250-pipelining", "250-auth=cram-md5 login",
	    "250 Size", NULL });
	assert_true(c.pipelining && c.auth && c.auth_login);
	assert_false(c.auth_plain);
	assert_true(c.size);
	assert_int_equal(c.size_max, 0);
	c = ehlo((const char *[]){ "250 AUTH XOAUTH2 PLAINX SCRAM-SHA-256",
	    NULL });
	assert_true(c.auth);
	assert_false(c.auth_plain || c.auth_login);

	/* SIZE: 0, garbage, overflow: no limit; the largest that fits. */
	c = ehlo((const char *[]){ "250 SIZE 0", NULL });
	assert_true(c.size);
	assert_int_equal(c.size_max, 0);
	c = ehlo((const char *[]){ "250 SIZE 12ab", NULL });
	assert_int_equal(c.size_max, 0);
	c = ehlo((const char *[]){ "250 SIZE 99999999999999999999999", NULL });
	assert_int_equal(c.size_max, 0);
	c = ehlo((const char *[]){ "250 SIZE 18446744073709551615", NULL });
	assert_true(c.size_max == UINT64_MAX);
	c = ehlo((const char *[]){ "250 SIZE    100   ", NULL });
	assert_int_equal(c.size_max, 100);

	/* Not keywords: prefixes, longer words, junk, short lines. */
	c = ehlo((const char *[]){ "250-PIPELININGX", "250-STARTTL",
	    "250- STARTTLS", "250-=AUTH PLAIN", "250-", "250", "25", "",
	    "250 8BITMIME2", NULL });
	assert_false(c.pipelining || c.starttls || c.auth || c.eightbitmime);
}

/* ---- dot-stuffing ------------------------------------------------------ */

struct sinkbuf {
	char buf[1024];
	size_t len;
	int fail_after;		/* calls before failing; -1: never */
};

static int
buf_sink(void *arg, const void *data, size_t len)
{
	struct sinkbuf *b = arg;

	if (b->fail_after == 0)
		return -7;
	if (b->fail_after > 0)
		b->fail_after--;
	assert_true(len <= sizeof(b->buf) - 1 - b->len);
	memcpy(b->buf + b->len, data, len);
	b->len += len;
	b->buf[b->len] = '\0';
	return 0;
}

/* stuffed: text through the stuffer in chunks of chunk bytes. */
static const char *
stuffed(struct sinkbuf *b, const char *text, size_t chunk)
{
	struct smtp_client_dot st;
	size_t len = strlen(text), off, n;

	memset(b, 0, sizeof(*b));
	b->fail_after = -1;
	smtp_client_dot_init(&st);
	for (off = 0; off < len; off += n) {
		n = len - off < chunk ? len - off : chunk;
		assert_int_equal(smtp_client_dot_stuff(&st, text + off, n,
		    buf_sink, b), 0);
	}
	assert_int_equal(smtp_client_dot_end(&st, buf_sink, b), 0);
	return b->buf;
}

static void
test_dot_stuff(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "", ".\r\n" },
		{ "a\r\n", "a\r\n.\r\n" },
		{ "a", "a\r\n.\r\n" },
		{ ".", "..\r\n.\r\n" },
		{ ".\r\n", "..\r\n.\r\n" },
		{ "\r\n.\r\n", "\r\n..\r\n.\r\n" },
		{ "x.y\r\n.x\r\n", "x.y\r\n..x\r\n.\r\n" },
		{ "a\n.\n", "a\r\n..\r\n.\r\n" },
		{ "a\r.\r", "a\r\n..\r\n.\r\n" },
		{ "a\r\r\n", "a\r\n\r\n.\r\n" },
		{ "a\n\r", "a\r\n\r\n.\r\n" },
		{ "\r", "\r\n.\r\n" },
		{ "\n", "\r\n.\r\n" },
		{ "...", "....\r\n.\r\n" },
	};
	struct smtp_client_dot st;
	struct sinkbuf b;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* Whole, then fed one byte at a time and in pairs. */
		for (size_t chunk = 1; chunk <= 3; chunk++) {
			const char *got = stuffed(&b, cases[i].in,
			    chunk == 3 ? 1024 : chunk);

			if (strcmp(got, cases[i].out) != 0)
				fail_msg("case %zu chunk %zu: \"%s\"", i,
				    chunk, got);
		}
	}
	/* The sink's failure stops the stuffing and comes back as is. */
	memset(&b, 0, sizeof(b));
	b.fail_after = 1;
	smtp_client_dot_init(&st);
	assert_int_equal(smtp_client_dot_stuff(&st, "ab\r\n.c", 6, buf_sink,
	    &b), -7);
	b.fail_after = 0;
	assert_int_equal(smtp_client_dot_end(&st, buf_sink, &b), -7);
}

/* ---- the fake server --------------------------------------------------- */

/*
 * Script steps, one string each; the first character is the operation:
 *   S<text>  send text (with its own CRLFs)
 *   B<text>  send text one byte at a time
 *   E<line>  the next line is exactly this, ended by CRLF
 *   L<line>  the same, and nothing else has arrived (the client waited
 *            for our reply: no pipelining)
 *   D        message text up to the "." line, kept in data
 *   T        TLS handshake (server side); t: one that must fail
 *   H        read (and log) until the client closes
 */
struct fake {
	const char *const *script;
	SSL_CTX *tls;
	int lfd;
	struct sockaddr_in addr;
	pthread_t tid;
	/* Results. */
	char log[FAKE_LOG];	/* every line received, with its end */
	size_t log_len;
	char data[FAKE_LOG];	/* message text as received */
	size_t data_len;
	char err[512];		/* the first thing that went wrong */
};

static void
fake_err(struct fake *f, const char *step, const char *what)
{
	if (f->err[0] == '\0')
		snprintf(f->err, sizeof(f->err), "step \"%.60s\": %s", step,
		    what);
}

static void
append(char *buf, size_t *len, const char *p, size_t n)
{
	if (n > FAKE_LOG - 1 - *len)
		n = FAKE_LOG - 1 - *len;
	memcpy(buf + *len, p, n);
	*len += n;
	buf[*len] = '\0';
}

/* fake_line: the next line, logged with its end; false on failure. */
static bool
fake_line(struct fake *f, struct conn *conn, const char *step,
    const char **line, size_t *len, bool *crlf)
{
	int ret = conn_read_line(conn, CONN_LINE_MAX, line, len, crlf);
	char why[64];

	if (ret != CONN_OK) {
		snprintf(why, sizeof(why), "read failed (%d)", ret);
		fake_err(f, step, why);
		return false;
	}
	append(f->log, &f->log_len, *line, *len);
	append(f->log, &f->log_len, *crlf ? "\r\n" : "\n", *crlf ? 2 : 1);
	return true;
}

static void
fake_step(struct fake *f, struct conn *conn, const char *step)
{
	const char *arg = step + 1, *line;
	size_t len;
	bool crlf;
	char why[256];

	switch (step[0]) {
	case 'S':
		if (conn_write(conn, arg, strlen(arg)) != CONN_OK ||
		    conn_flush(conn) != CONN_OK)
			fake_err(f, step, "write failed");
		break;
	case 'B':
		for (; *arg != '\0'; arg++) {
			if (conn_write(conn, arg, 1) != CONN_OK ||
			    conn_flush(conn) != CONN_OK) {
				fake_err(f, step, "write failed");
				break;
			}
			usleep(500);
		}
		break;
	case 'E':
	case 'L':
		if (!fake_line(f, conn, step, &line, &len, &crlf))
			break;
		if (len != strlen(arg) || memcmp(line, arg, len) != 0 ||
		    !crlf) {
			snprintf(why, sizeof(why), "got \"%.200s\"", line);
			fake_err(f, step, why);
		} else if (step[0] == 'L' && conn_pending(conn)) {
			fake_err(f, step, "client did not wait for a reply");
		}
		break;
	case 'D':
		for (;;) {
			if (!fake_line(f, conn, step, &line, &len, &crlf))
				break;
			if (len == 1 && line[0] == '.' && crlf)
				break;
			append(f->data, &f->data_len, line, len);
			append(f->data, &f->data_len, crlf ? "\r\n" : "\n",
			    crlf ? 2 : 1);
		}
		break;
	case 'T':
		if (conn_start_tls(conn, f->tls) != CONN_OK)
			fake_err(f, step, "TLS handshake failed");
		break;
	case 't':
		if (conn_start_tls(conn, f->tls) == CONN_OK)
			fake_err(f, step, "TLS handshake succeeded");
		break;
	case 'H':
		for (;;) {
			int ret = conn_read_line(conn, CONN_LINE_MAX, &line,
			    &len, &crlf);

			if (ret == CONN_CLOSED || ret == CONN_ERROR)
				break;
			if (ret != CONN_OK) {
				fake_err(f, step, "client did not close");
				break;
			}
			append(f->log, &f->log_len, line, len);
			append(f->log, &f->log_len, crlf ? "\r\n" : "\n",
			    crlf ? 2 : 1);
		}
		break;
	default:
		fake_err(f, step, "unknown step");
	}
}

static void *
fake_main(void *arg)
{
	struct fake *f = arg;
	struct pollfd pfd = { f->lfd, POLLIN, 0 };
	struct sockaddr_storage peer;
	socklen_t plen = sizeof(peer);
	struct conn *conn;
	int fd;

	if (poll(&pfd, 1, SAFE_TIMEOUT_MS) != 1 ||
	    (fd = accept(f->lfd, (struct sockaddr *)&peer, &plen)) < 0) {
		fake_err(f, "accept", "no connection");
		return NULL;
	}
	conn = conn_new(fd, (struct sockaddr *)&peer, plen, -1);
	conn_set_timeout(conn, SAFE_TIMEOUT_MS);
	for (const char *const *s = f->script; *s != NULL && f->err[0] == '\0';
	    s++)
		fake_step(f, conn, *s);
	conn_free(&conn);
	return NULL;
}

static int
listen_any(struct sockaddr_in *addr)
{
	socklen_t len = sizeof(*addr);
	int lfd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(lfd >= 0);
	memset(addr, 0, sizeof(*addr));
	addr->sin_family = AF_INET;
	addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(lfd, (struct sockaddr *)addr, sizeof(*addr)), 0);
	assert_int_equal(listen(lfd, 4), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)addr, &len), 0);
	return lfd;
}

static struct fake *
fake_start(const char *const *script, SSL_CTX *tls)
{
	struct fake *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->script = script;
	f->tls = tls;
	f->lfd = listen_any(&f->addr);
	assert_int_equal(pthread_create(&f->tid, NULL, fake_main, f), 0);
	return f;
}

/* fake_join: waits for the script to end; it must have gone as planned. */
static void
fake_join(struct fake *f)
{
	assert_int_equal(pthread_join(f->tid, NULL), 0);
	close(f->lfd);
	if (f->err[0] != '\0')
		fail_msg("fake server: %s\nlog:\n%s", f->err, f->log);
}

static void
fake_free(struct fake **f)
{
	free(*f);
	*f = NULL;
}

/* ---- the client against it --------------------------------------------- */

struct tls_env {
	char *dir;
	char *cert;
	char *key;
	SSL_CTX *server;
	SSL_CTX *client;	/* opportunistic: no verification */
	SSL_CTX *verify;	/* trusts the test certificate */
};

static int
group_setup(void **state)
{
	struct tls_env *env = calloc(1, sizeof(*env));
	char *error = NULL;

	if (env == NULL)
		return -1;
	env->dir = tu_tempdir();
	if (tls_selfsigned_ensure(env->dir, "mail.test", &env->cert,
	    &env->key, &error) != 0 ||
	    (env->server = tls_server_ctx_new(env->cert, env->key,
	    &error)) == NULL ||
	    (env->client = tls_client_ctx_new(false, NULL, &error)) == NULL ||
	    (env->verify = tls_client_ctx_new(true, env->cert,
	    &error)) == NULL) {
		fprintf(stderr, "TLS setup: %s\n", error);
		free(error);
		return -1;
	}
	*state = env;
	return 0;
}

static int
group_teardown(void **state)
{
	struct tls_env *env = *state;

	SSL_CTX_free(env->server);
	SSL_CTX_free(env->client);
	SSL_CTX_free(env->verify);
	tu_rmtree(env->dir);
	free(env->dir);
	free(env->cert);
	free(env->key);
	free(env);
	return 0;
}

static struct smtp_client_opts
opts_plain(void)
{
	struct smtp_client_opts o;

	memset(&o, 0, sizeof(o));
	o.helo = "client.test";
	o.tls = SMTP_CLIENT_TLS_NONE;
	o.connect_timeout_ms = SAFE_TIMEOUT_MS;
	o.timeout_scale = SCALE;
	o.stop_fd = -1;
	return o;
}

/* A message as the store hands it: in chunks of a chosen size. */
struct src {
	const char *data;
	size_t len;
	size_t off;
	size_t chunk;
	size_t fail_at;		/* a read starting at or past it fails;
				   0: never */
	unsigned int reads;
};

static int
src_read(void *arg, char *buf, size_t cap, size_t *len_r)
{
	struct src *s = arg;
	size_t n = s->len - s->off;

	s->reads++;
	if (s->fail_at != 0 && s->off >= s->fail_at)
		return -1;
	if (n > s->chunk)
		n = s->chunk;
	if (n > cap)
		n = cap;
	memcpy(buf, s->data + s->off, n);
	s->off += n;
	*len_r = n;
	return 0;
}

#define MSG1 "Subject: t\r\n\r\nhello\r\n"

static struct smtp_client_msg
msg_new(struct src *s, const char *text, const char *const *rcpts,
    size_t nrcpts)
{
	struct smtp_client_msg m;

	memset(s, 0, sizeof(*s));
	s->data = text;
	s->len = strlen(text);
	s->chunk = 7;
	memset(&m, 0, sizeof(m));
	m.sender = "s@a.test";
	m.rcpts = rcpts;
	m.nrcpts = nrcpts;
	m.size = (int64_t)s->len;
	m.read = src_read;
	m.read_arg = s;
	return m;
}

/* open_ok: smtp_client_open() against f that must succeed. */
static struct smtp_client *
open_ok(struct fake *f, const struct smtp_client_opts *o)
{
	struct smtp_client *c = NULL;
	struct smtp_client_reply r;

	if (smtp_client_open((struct sockaddr *)&f->addr, sizeof(f->addr), o,
	    &c, &r) != 0)
		fail_msg("smtp_client_open: %d %s", r.code, r.text);
	assert_non_null(c);
	return c;
}

/* open_fails: smtp_client_open() against f that must fail with code and
 * a text holding want. */
static void
open_fails(struct fake *f, const struct smtp_client_opts *o, int code,
    const char *want)
{
	struct smtp_client *c = (struct smtp_client *)&c;
	struct smtp_client_reply r;

	assert_int_equal(smtp_client_open((struct sockaddr *)&f->addr,
	    sizeof(f->addr), o, &c, &r), -1);
	assert_null(c);
	assert_int_equal(r.code, code);
	if (strstr(r.text, want) == NULL)
		fail_msg("\"%s\" does not say \"%s\"", r.text, want);
}

static void
test_client_pipelining(void **state)
{
	static const char *const script[] = {
		"S220 mx.test ESMTP\r\n",
		"EEHLO client.test",
		"S250-mx.test\r\n250-PIPELINING\r\n250-SIZE 1000000\r\n"
		    "250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n",
		/* All four before any reply: a client that waited for
		 * one would time out here. */
		"EMAIL FROM:<s@a.test> SIZE=21",
		"ERCPT TO:<r1@b.test>",
		"ERCPT TO:<r2@b.test>",
		"EDATA",
		"S250 2.1.0 ok\r\n250 2.1.5 ok\r\n550 5.1.1 no such user\r\n"
		    "354 go ahead\r\n",
		"D",
		"S250 2.0.0 queued as X\r\n",
		"EQUIT",
		"S221 bye\r\n",
		NULL,
	};
	const char *rcpts[] = { "r1@b.test", "r2@b.test" };
	struct smtp_client_opts o = opts_plain();
	struct smtp_client_reply res[2];
	struct smtp_client_msg m;
	struct smtp_client *c;
	struct src s;
	struct fake *f;

	(void)state;
	f = fake_start(script, NULL);
	c = open_ok(f, &o);
	assert_true(smtp_client_caps(c)->ehlo);
	assert_true(smtp_client_caps(c)->pipelining);
	assert_int_equal(smtp_client_caps(c)->size_max, 1000000);
	assert_null(smtp_client_tls(c));
	m = msg_new(&s, MSG1, rcpts, 2);
	assert_true(smtp_client_send(c, &m, res));
	assert_int_equal(res[0].code, 250);
	assert_string_equal(res[0].text, "250 2.0.0 queued as X");
	assert_int_equal(res[1].code, 550);
	assert_string_equal(res[1].text, "550 5.1.1 no such user");
	smtp_client_close(&c);
	assert_null(c);
	fake_join(f);
	assert_string_equal(f->data, MSG1);
	fake_free(&f);
}

static void
test_client_lockstep(void **state)
{
	static const char *const script[] = {
		"B220 mx.test ESMTP\r\n",	/* split reads */
		"EEHLO client.test",
		"S250-mx.test\r\n250 SIZE\r\n",
		"LMAIL FROM:<s@a.test> SIZE=21",
		"S250 ok\r\n",
		"LRCPT TO:<r1@b.test>",
		"S250 ok\r\n",
		"LRCPT TO:<r2@b.test>",
		"S550 no\r\n",
		"LDATA",
		"S354 go\r\n",
		"D",
		"B250 done\r\n",
		"LQUIT",
		"S221 bye\r\n",
		NULL,
	};
	const char *rcpts[] = { "r1@b.test", "r2@b.test" };
	struct smtp_client_opts o = opts_plain();
	struct smtp_client_reply res[2];
	struct smtp_client_msg m;
	struct smtp_client *c;
	struct src s;
	struct fake *f;

	(void)state;
	f = fake_start(script, NULL);
	c = open_ok(f, &o);
	assert_false(smtp_client_caps(c)->pipelining);
	assert_true(smtp_client_caps(c)->size);
	m = msg_new(&s, MSG1, rcpts, 2);
	assert_true(smtp_client_send(c, &m, res));
	assert_int_equal(res[0].code, 250);
	assert_string_equal(res[0].text, "250 done");
	assert_int_equal(res[1].code, 550);
	smtp_client_close(&c);
	fake_join(f);
	assert_string_equal(f->data, MSG1);
	fake_free(&f);
}

static void
test_client_helo_fallback(void **state)
{
	static const char *const script[] = {
		"S220 old.test SMTP\r\n",
		"EEHLO client.test",
		"S502 5.5.2 Command not recognized\r\n",
		"EHELO client.test",
		"S250 old.test\r\n",
		/* No extensions: no SIZE=, and not pipelined. */
		"LMAIL FROM:<>",
		"S250 ok\r\n",
		"LRCPT TO:<r1@b.test>",
		"S250 ok\r\n",
		"LDATA",
		"S354 go\r\n",
		"D",
		"S250 done\r\n",
		"EQUIT",
		"S221 bye\r\n",
		NULL,
	};
	const char *rcpts[] = { "r1@b.test" };
	struct smtp_client_opts o = opts_plain();
	struct smtp_client_reply res[1];
	struct smtp_client_msg m;
	struct smtp_client *c;
	struct src s;
	struct fake *f;

	(void)state;
	f = fake_start(script, NULL);
	c = open_ok(f, &o);
	assert_false(smtp_client_caps(c)->ehlo);
	m = msg_new(&s, MSG1, rcpts, 1);
	m.sender = "";
	assert_true(smtp_client_send(c, &m, res));
	assert_int_equal(res[0].code, 250);
	smtp_client_close(&c);
	fake_join(f);
	fake_free(&f);
}

/* HELO refused too: that refusal is the answer. */
static void
test_client_helo_refused(void **state)
{
	static const char *const script[] = {
		"S220 old.test SMTP\r\n",
		"EEHLO client.test",
		"S500 what\r\n",
		"EHELO client.test",
		"S550 5.7.1 not you\r\n",
		"EQUIT",
		"S221 bye\r\n",
		NULL,
	};
	struct smtp_client_opts o = opts_plain();
	struct fake *f;

	(void)state;
	f = fake_start(script, NULL);
	open_fails(f, &o, 550, "550 5.7.1 not you");
	fake_join(f);
	fake_free(&f);
}

/* send_text: the message as it must arrive, for each chunk size. */
static void
check_text(const char *text, const char *want)
{
	static const char *const script[] = {
		"S220 mx.test ESMTP\r\n",
		"EEHLO client.test",
		"S250-mx.test\r\n250 PIPELINING\r\n",
		"EMAIL FROM:<s@a.test>",
		"ERCPT TO:<r1@b.test>",
		"EDATA",
		"S250 ok\r\n250 ok\r\n354 go\r\n",
		"D",
		"S250 done\r\n",
		"EQUIT",
		"S221 bye\r\n",
		NULL,
	};
	static const size_t chunks[] = { 1, 2, 3, 5, 16384 };
	const char *rcpts[] = { "r1@b.test" };
	struct smtp_client_opts o = opts_plain();
	struct smtp_client_reply res[1];

	for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		struct smtp_client_msg m;
		struct smtp_client *c;
		struct src s;
		struct fake *f = fake_start(script, NULL);

		c = open_ok(f, &o);
		m = msg_new(&s, text, rcpts, 1);
		s.chunk = chunks[i];
		m.size = 0;	/* no SIZE= */
		assert_true(smtp_client_send(c, &m, res));
		assert_int_equal(res[0].code, 250);
		smtp_client_close(&c);
		fake_join(f);
		if (strcmp(f->data, want) != 0)
			fail_msg("chunk %zu: got \"%s\"", chunks[i], f->data);
		fake_free(&f);
	}
}

static void
test_client_dot_stuffing(void **state)
{
	(void)state;
	check_text(".foo\r\nbar\r\n..baz\r\n.\r\nx.\r\n. \r\n",
	    "..foo\r\nbar\r\n...baz\r\n..\r\nx.\r\n.. \r\n");
	/* A missing final CRLF is added; an empty message is just ".". */
	check_text("a\r\n.end", "a\r\n..end\r\n");
	check_text("a", "a\r\n");
	check_text("", "");
	check_text(".", "..\r\n");
	/* Bare LF and bare CR leave as CRLF (no smuggling through us), and
	 * a "." after one is stuffed like any other line start. */
	check_text("a\n.\nb\r.\rc\r\r\n.\r", "a\r\n..\r\nb\r\n..\r\nc\r\n\r\n"
	    "..\r\n");
}

/* SIZE: a message the server said it would refuse is not sent. */
static void
test_client_size_refused(void **state)
{
	static const char *const script[] = {
		"S220 mx.test ESMTP\r\n",
		"EEHLO client.test",
		"S250-mx.test\r\n250-PIPELINING\r\n250 SIZE 20\r\n",
		"EQUIT",
		"S221 bye\r\n",
		NULL,
	};
	const char *rcpts[] = { "r1@b.test", "r2@b.test" };
	struct smtp_client_opts o = opts_plain();
	struct smtp_client_reply res[2];
	struct smtp_client_msg m;
	struct smtp_client *c;
	struct src s;
	struct fake *f;

	(void)state;
	f = fake_start(script, NULL);
	c = open_ok(f, &o);
	m = msg_new(&s, MSG1, rcpts, 2);	/* 21 octets */
	assert_true(smtp_client_send(c, &m, res));
	for (int i = 0; i < 2; i++) {
		assert_int_equal(res[i].code, 552);
		assert_non_null(strstr(res[i].text, "552 5.3.4"));
	}
	assert_int_equal(s.reads, 0);
	smtp_client_close(&c);
	fake_join(f);
	fake_free(&f);
}

/* 8BITMIME and SMTPUTF8: refused locally when missing, asked for in
 * MAIL when offered. */
static void
test_client_8bit_utf8(void **state)
{
	static const char *const bare[] = {
		"S220 mx.test ESMTP\r\n",
		"EEHLO client.test",
		"S250 mx.test\r\n",
		"EQUIT",
		"S221 bye\r\n",
		NULL,
	};
	static const char *const full[] = {
		"S220 mx.test ESMTP\r\n",
		"EEHLO client.test",
		"S250-mx.test\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE\r\n",
		"LMAIL FROM:<s@a.test> SIZE=21 BODY=8BITMIME SMTPUTF8",
		"S250 ok\r\n",
		"ERCPT TO:<j\xc3\xbcrgen@b.test>",
		"S250 ok\r\n",
		"EDATA",
		"S354 go\r\n",
		"D",
		"S250 done\r\n",
		"EQUIT",
		"S221 bye\r\n",
		NULL,
	};
	const char *rcpts[] = { "r1@b.test" };
	const char *urcpts[] = { "j\xc3\xbcrgen@b.test" };
	struct smtp_client_opts o = opts_plain();
	struct smtp_client_reply res[1];
	struct smtp_client_msg m;
	struct smtp_client *c;
	struct src s;
	struct fake *f;

	(void)state;
	f = fake_start(bare, NULL);
	c = open_ok(f, &o);
	m = msg_new(&s, MSG1, rcpts, 1);
	m.body_8bit = true;
	assert_true(smtp_client_send(c, &m, res));
	assert_int_equal(res[0].code, 554);
	assert_non_null(strstr(res[0].text, "554 5.6.3"));
	m = msg_new(&s, MSG1, rcpts, 1);
	m.smtputf8 = true;
	assert_true(smtp_client_send(c, &m, res));
	assert_int_equal(res[0].code, 553);
	assert_non_null(strstr(res[0].text, "553 5.6.7"));
	/* A non-ASCII address needs SMTPUTF8 even when not flagged. */
	m = msg_new(&s, MSG1, urcpts, 1);
	assert_true(smtp_client_send(c, &m, res));
	assert_int_equal(res[0].code, 553);
	smtp_client_close(&c);
	fake_join(f);
	fake_free(&f);

	f = fake_start(full, NULL);
	c = open_ok(f, &o);
	m = msg_new(&s, MSG1, urcpts, 1);
	m.body_8bit = true;
	assert_true(smtp_client_send(c, &m, res));
	assert_int_equal(res[0].code, 250);
	smtp_client_close(&c);
	fake_join(f);
	fake_free(&f);
}

/* Addresses that could break a command never reach the server. */
static void
test_client_bad_addresses(void **state)
{
	static const char *const script[] = {
		"S220 mx.test ESMTP\r\n",
		"EEHLO client.test",
		"S250 mx.test\r\n",
		"LMAIL FROM:<s@a.test>",
		"S250 ok\r\n",
		"LRCPT TO:<ok@b.test>",
		"S250 ok\r\n",
		"LDATA",
		"S354 go\r\n",
		"D",
		"S250 done\r\n",
		"EQUIT",
		"S221 bye\r\n",
		NULL,
	};
	char longaddr[300];
	const char *rcpts[] = { "a@b.test>\r\nRCPT TO:<evil@x.test", "",
	    longaddr, "ok@b.test" };
	const char *one[] = { "ok@b.test" };
	struct smtp_client_opts o = opts_plain();
	struct smtp_client_reply res[4];
	struct smtp_client_msg m;
	struct smtp_client *c;
	struct src s;
	struct fake *f;

	(void)state;
	memset(longaddr, 'a', sizeof(longaddr) - 1);
	longaddr[sizeof(longaddr) - 1] = '\0';
	longaddr[10] = '@';
	f = fake_start(script, NULL);
	c = open_ok(f, &o);
	m = msg_new(&s, MSG1, one, 1);
	m.sender = "s@a.test\r\nRSET";
	assert_true(smtp_client_send(c, &m, res));
	assert_int_equal(res[0].code, 553);
	assert_non_null(strstr(res[0].text, "5.1.7"));
	m = msg_new(&s, MSG1, rcpts, 4);
	assert_true(smtp_client_send(c, &m, res));
	for (int i = 0; i < 3; i++) {
		assert_int_equal(res[i].code, 553);
		assert_non_null(strstr(res[i].text, "5.1.3"));
	}
	assert_int_equal(res[3].code, 250);
	smtp_client_close(&c);
	fake_join(f);
	assert_null(strstr(f->log, "evil"));
	fake_free(&f);
}

/* DATA refused with 452: temporary for everyone accepted, then RSET and
 * the connection goes on. */
static void
test_client_data_452(void **state)
{
	static const char *const script[] = {
		"S220 mx.test ESMTP\r\n",
		"EEHLO client.test",
		"S250 mx.test\r\n",
		"EMAIL FROM:<s@a.test>",
		"S250 ok\r\n",
		"ERCPT TO:<r1@b.test>",
		"S250 ok\r\n",
		"ERCPT TO:<r2@b.test>",
		"S551 5.1.6 moved\r\n",
		"EDATA",
		"S452 4.3.1 Insufficient system storage\r\n",
		"ERSET",
		"S250 ok\r\n",
		"EQUIT",
		"S221 bye\r\n",
		NULL,
	};
	const char *rcpts[] = { "r1@b.test", "r2@b.test" };
	struct smtp_client_opts o = opts_plain();
	struct smtp_client_reply res[2];
	struct smtp_client_msg m;
	struct smtp_client *c;
	struct src s;
	struct fake *f;

	(void)state;
	f = fake_start(script, NULL);
	c = open_ok(f, &o);
	m = msg_new(&s, MSG1, rcpts, 2);
	assert_true(smtp_client_send(c, &m, res));
	assert_int_equal(res[0].code, 452);
	assert_string_equal(res[0].text,
	    "452 4.3.1 Insufficient system storage");
	assert_int_equal(res[1].code, 551);
	smtp_client_close(&c);
	fake_join(f);
	fake_free(&f);
}

/* The final reply refuses: everyone accepted gets it; RSET; goes on. */
static void
test_client_final_refused(void **state)
{
	static const char *const script[] = {
		"S220 mx.test ESMTP\r\n",
		"EEHLO client.test",
		"S250-mx.test\r\n250 PIPELINING\r\n",
		"EMAIL FROM:<s@a.test>",
		"ERCPT TO:<r1@b.test>",
		"EDATA",
		"S250 ok\r\n250 ok\r\n354 go\r\n",
		"D",
		"S554-5.7.1 spam\r\n554 5.7.1 go away\r\n",
		"ERSET",
		"S250 ok\r\n",
		"EQUIT",
		"S221 bye\r\n",
		NULL,
	};
	const char *rcpts[] = { "r1@b.test" };
	struct smtp_client_opts o = opts_plain();
	struct smtp_client_reply res[1];
	struct smtp_client_msg m;
	struct smtp_client *c;
	struct src s;
	struct fake *f;

	(void)state;
	f = fake_start(script, NULL);
	c = open_ok(f, &o);
	m = msg_new(&s, MSG1, rcpts, 1);
	assert_true(smtp_client_send(c, &m, res));
	assert_int_equal(res[0].code, 554);
	assert_string_equal(res[0].text, "554 5.7.1 spam / 5.7.1 go away");
	smtp_client_close(&c);
	fake_join(f);
	fake_free(&f);
}

/* 421 in the middle: the server is closing; no RSET, no QUIT. */
static void
test_client_421(void **state)
{
	static const char *const script[] = {
		"S220 mx.test ESMTP\r\n",
		"EEHLO client.test",
		"S250-mx.test\r\n250 PIPELINING\r\n",
		"EMAIL FROM:<s@a.test>",
		"ERCPT TO:<r1@b.test>",
		"ERCPT TO:<r2@b.test>",
		"ERCPT TO:<r3@b.test>",
		"EDATA",
		"S250 ok\r\n250 ok\r\n550 no\r\n421 4.4.2 closing\r\n",
		"H",
		NULL,
	};
	const char *rcpts[] = { "r1@b.test", "r2@b.test", "r3@b.test" };
	struct smtp_client_opts o = opts_plain();
	struct smtp_client_reply res[3];
	struct smtp_client_msg m;
	struct smtp_client *c;
	struct src s;
	struct fake *f;

	(void)state;
	f = fake_start(script, NULL);
	c = open_ok(f, &o);
	m = msg_new(&s, MSG1, rcpts, 3);
	assert_false(smtp_client_send(c, &m, res));
	assert_int_equal(res[0].code, 421);
	assert_int_equal(res[1].code, 550);
	assert_int_equal(res[2].code, 421);
	assert_string_equal(res[2].text, "421 4.4.2 closing");
	/* Not reusable: a second message is refused at once. */
	m = msg_new(&s, MSG1, rcpts, 1);
	assert_false(smtp_client_send(c, &m, res));
	assert_int_equal(res[0].code, 0);
	smtp_client_close(&c);
	fake_join(f);
	assert_null(strstr(f->log, "QUIT"));
	assert_null(strstr(f->log, "RSET"));
	fake_free(&f);
}

/* 421 as the greeting: a temporary refusal, no QUIT. */
static void
test_client_greeting_421(void **state)
{
	static const char *const script[] = {
		"S421 4.3.2 too busy\r\n",
		"H",
		NULL,
	};
	struct smtp_client_opts o = opts_plain();
	struct fake *f;

	(void)state;
	f = fake_start(script, NULL);
	open_fails(f, &o, 421, "421 4.3.2 too busy");
	fake_join(f);
	assert_int_equal(f->log_len, 0);
	fake_free(&f);
}

/* 554 greeting: a refusal; RFC 5321 3.1 has the client say QUIT. */
static void
test_client_greeting_554(void **state)
{
	static const char *const script[] = {
		"S554 5.7.1 no mail from you\r\n",
		"EQUIT",
		"S221 bye\r\n",
		NULL,
	};
	struct smtp_client_opts o = opts_plain();
	struct fake *f;

	(void)state;
	f = fake_start(script, NULL);
	open_fails(f, &o, 554, "554 5.7.1 no mail from you");
	fake_join(f);
	fake_free(&f);
}

static long long
ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A server that never answers: the scaled RFC timeout ends it. */
static void
test_client_timeout(void **state)
{
	static const char *const greet[] = {
		"S220 mx.test ESMTP\r\n",
		"EEHLO client.test",
		"H",
		NULL,
	};
	static const char *const data[] = {
		"S220 mx.test ESMTP\r\n",
		"EEHLO client.test",
		"S250 mx.test\r\n",
		"EMAIL FROM:<s@a.test>",
		"S250 ok\r\n",
		"ERCPT TO:<r1@b.test>",
		"S250 ok\r\n",
		"EDATA",
		"S354 go\r\n",
		"D",
		"H",
		NULL,
	};
	const char *rcpts[] = { "r1@b.test" };
	struct smtp_client_opts o = opts_plain();
	struct smtp_client_reply res[1];
	struct smtp_client_msg m;
	struct smtp_client *c;
	struct src s;
	struct fake *f;
	long long t0;

	(void)state;
	o.timeout_scale = 0.001;	/* EHLO: 300 ms */
	f = fake_start(greet, NULL);
	t0 = ms_now();
	open_fails(f, &o, 0, "timed out while waiting for the reply to EHLO");
	assert_true(ms_now() - t0 < 3000);
	fake_join(f);
	fake_free(&f);

	/* After the final dot (10 min -> 600 ms): temporary, not
	 * reusable. */
	f = fake_start(data, NULL);
	c = open_ok(f, &o);
	m = msg_new(&s, MSG1, rcpts, 1);
	assert_false(smtp_client_send(c, &m, res));
	assert_int_equal(res[0].code, 0);
	assert_non_null(strstr(res[0].text, "timed out"));
	smtp_client_close(&c);
	fake_join(f);
	fake_free(&f);
}

static void
test_client_malformed(void **state)
{
	static const char *const ehlo_bad[] = {
		"S220 mx.test ESMTP\r\n",
		"EEHLO client.test",
		"S250-mx.test\r\n251 PIPELINING\r\n",
		"H",
		NULL,
	};
	static const char *const greet_bad[] = {
		"SHTTP/1.1 400 Bad Request\r\n",
		"H",
		NULL,
	};
	static const char *const rcpt_bad[] = {
		"S220 mx.test ESMTP\r\n",
		"EEHLO client.test",
		"S250 mx.test\r\n",
		"EMAIL FROM:<s@a.test>",
		"S250 ok\r\n",
		"ERCPT TO:<r1@b.test>",
		"S25O ok\r\n",
		"H",
		NULL,
	};
	static const char *const mail_354[] = {
		"S220 mx.test ESMTP\r\n",
		"EEHLO client.test",
		"S250 mx.test\r\n",
		"EMAIL FROM:<s@a.test>",
		"S354 what\r\n",
		"H",
		NULL,
	};
	const char *rcpts[] = { "r1@b.test" };
	struct smtp_client_opts o = opts_plain();
	struct smtp_client_reply res[1];
	struct smtp_client_msg m;
	struct smtp_client *c;
	struct src s;
	struct fake *f;
	char *longline;

	(void)state;
	f = fake_start(ehlo_bad, NULL);
	open_fails(f, &o, 0, "malformed reply: reply code changes");
	fake_join(f);
	fake_free(&f);

	f = fake_start(greet_bad, NULL);
	open_fails(f, &o, 0, "HTTP/1.1 400");
	fake_join(f);
	fake_free(&f);

	f = fake_start(rcpt_bad, NULL);
	c = open_ok(f, &o);
	m = msg_new(&s, MSG1, rcpts, 1);
	assert_false(smtp_client_send(c, &m, res));
	assert_int_equal(res[0].code, 0);
	assert_non_null(strstr(res[0].text, "malformed"));
	smtp_client_close(&c);
	fake_join(f);
	assert_null(strstr(f->log, "QUIT"));
	fake_free(&f);

	/* A reply that makes no sense where it comes. */
	f = fake_start(mail_354, NULL);
	c = open_ok(f, &o);
	m = msg_new(&s, MSG1, rcpts, 1);
	assert_false(smtp_client_send(c, &m, res));
	assert_int_equal(res[0].code, 0);
	assert_non_null(strstr(res[0].text, "unexpected reply to MAIL FROM"));
	smtp_client_close(&c);
	fake_join(f);
	fake_free(&f);

	/* A line past SMTP_CLIENT_LINE_MAX. */
	longline = malloc(SMTP_CLIENT_LINE_MAX + 16);
	assert_non_null(longline);
	memset(longline, 'x', SMTP_CLIENT_LINE_MAX + 10);
	memcpy(longline, "S220 ", 5);
	memcpy(longline + SMTP_CLIENT_LINE_MAX + 10, "\r\n", 3);
	{
		const char *const script[] = { longline, "H", NULL };

		f = fake_start(script, NULL);
		open_fails(f, &o, 0, "line over 4096 octets");
		fake_join(f);
		fake_free(&f);
	}
	free(longline);
}

/* Messages one after another, without pipelining: RSET only after a
 * transaction that failed. */
static void
test_client_two_messages(void **state)
{
	static const char *const script[] = {
		"S220 mx.test ESMTP\r\n",
		"EEHLO client.test",
		"S250 mx.test\r\n",
		"LMAIL FROM:<s@a.test>",
		"S250 ok\r\n",
		"LRCPT TO:<bad@b.test>",
		"S550 no\r\n",
		/* Every recipient refused: no DATA. */
		"LRSET",
		"S250 ok\r\n",
		"LMAIL FROM:<s@a.test>",
		"S250 ok\r\n",
		"LRCPT TO:<r1@b.test>",
		"S250 ok\r\n",
		"LDATA",
		"S354 go\r\n",
		"D",
		"S250 first\r\n",
		/* Delivered: straight to the next MAIL. */
		"LMAIL FROM:<s2@a.test>",
		"S250 ok\r\n",
		"LRCPT TO:<r1@b.test>",
		"S250 ok\r\n",
		"LDATA",
		"S354 go\r\n",
		"D",
		"S250 second\r\n",
		"LMAIL FROM:<s@a.test>",
		"S451 4.7.1 greylisted\r\n",
		"LRSET",
		"S250 ok\r\n",
		"EQUIT",
		"S221 bye\r\n",
		NULL,
	};
	const char *bad[] = { "bad@b.test" };
	const char *good[] = { "r1@b.test" };
	struct smtp_client_opts o = opts_plain();
	struct smtp_client_reply res[1];
	struct smtp_client_msg m;
	struct smtp_client *c;
	struct src s;
	struct fake *f;

	(void)state;
	f = fake_start(script, NULL);
	c = open_ok(f, &o);
	m = msg_new(&s, MSG1, bad, 1);
	assert_true(smtp_client_send(c, &m, res));
	assert_int_equal(res[0].code, 550);
	m = msg_new(&s, MSG1, good, 1);
	assert_true(smtp_client_send(c, &m, res));
	assert_string_equal(res[0].text, "250 first");
	m = msg_new(&s, "x\r\n", good, 1);
	m.sender = "s2@a.test";
	assert_true(smtp_client_send(c, &m, res));
	assert_string_equal(res[0].text, "250 second");
	m = msg_new(&s, MSG1, good, 1);
	assert_true(smtp_client_send(c, &m, res));
	assert_int_equal(res[0].code, 451);
	smtp_client_close(&c);
	fake_join(f);
	assert_string_equal(f->data, MSG1 "x\r\n");
	fake_free(&f);
}

/* Pipelined: every RCPT refused (DATA then fails, 554) and a refused
 * MAIL (the RCPTs and DATA say 503): RSET, and on to the next. */
static void
test_client_pipelined_refusals(void **state)
{
	static const char *const script[] = {
		"S220 mx.test ESMTP\r\n",
		"EEHLO client.test",
		"S250-mx.test\r\n250 PIPELINING\r\n",
		"EMAIL FROM:<s@a.test>",
		"ERCPT TO:<r1@b.test>",
		"ERCPT TO:<r2@b.test>",
		"EDATA",
		"S250 ok\r\n550 no\r\n450 later\r\n554 5.5.1 no valid "
		    "recipients\r\n",
		"LRSET",
		"S250 ok\r\n",
		"EMAIL FROM:<s@a.test>",
		"ERCPT TO:<r1@b.test>",
		"ERCPT TO:<r2@b.test>",
		"EDATA",
		"S553 5.7.1 sender refused\r\n503 5.5.1 need MAIL\r\n"
		    "503 5.5.1 need MAIL\r\n503 5.5.1 need MAIL\r\n",
		"LRSET",
		"S250 ok\r\n",
		/* A server that says 354 with nobody to deliver to gets a
		 * lone dot. */
		"EMAIL FROM:<s@a.test>",
		"ERCPT TO:<r1@b.test>",
		"ERCPT TO:<r2@b.test>",
		"EDATA",
		"S250 ok\r\n550 no\r\n550 no\r\n354 go\r\n",
		"E.",
		"S554 no recipients\r\n",
		"LRSET",
		"S250 ok\r\n",
		"EQUIT",
		"S221 bye\r\n",
		NULL,
	};
	const char *rcpts[] = { "r1@b.test", "r2@b.test" };
	struct smtp_client_opts o = opts_plain();
	struct smtp_client_reply res[2];
	struct smtp_client_msg m;
	struct smtp_client *c;
	struct src s;
	struct fake *f;

	(void)state;
	f = fake_start(script, NULL);
	c = open_ok(f, &o);
	m = msg_new(&s, MSG1, rcpts, 2);
	assert_true(smtp_client_send(c, &m, res));
	assert_int_equal(res[0].code, 550);
	assert_int_equal(res[1].code, 450);
	assert_true(smtp_client_send(c, &m, res));
	assert_int_equal(res[0].code, 553);
	assert_int_equal(res[1].code, 553);
	assert_string_equal(res[1].text, "553 5.7.1 sender refused");
	assert_true(smtp_client_send(c, &m, res));
	assert_int_equal(res[0].code, 550);
	assert_int_equal(res[1].code, 550);
	smtp_client_close(&c);
	fake_join(f);
	assert_int_equal(f->data_len, 0);
	fake_free(&f);
}

/* Recipients past SMTP_CLIENT_RCPT_MAX wait for another transaction. */
static void
test_client_rcpt_max(void **state)
{
	enum { N = SMTP_CLIENT_RCPT_MAX + 3 };
	const char *script[SMTP_CLIENT_RCPT_MAX + 16];
	char *lines[SMTP_CLIENT_RCPT_MAX];
	char *addrs[N];
	char *replies;
	struct smtp_client_opts o = opts_plain();
	struct smtp_client_reply res[N];
	struct smtp_client_msg m;
	struct smtp_client *c;
	struct src s;
	struct fake *f;
	size_t k = 0, i;

	(void)state;
	replies = malloc(16 * (SMTP_CLIENT_RCPT_MAX + 3));
	assert_non_null(replies);
	strcpy(replies, "S250 ok\r\n");
	for (i = 0; i < N; i++)
		assert_true(asprintf(&addrs[i], "r%zu@b.test", i) > 0);
	script[k++] = "S220 mx.test ESMTP\r\n";
	script[k++] = "EEHLO client.test";
	script[k++] = "S250-mx.test\r\n250 PIPELINING\r\n";
	script[k++] = "EMAIL FROM:<s@a.test>";
	for (i = 0; i < SMTP_CLIENT_RCPT_MAX; i++) {
		assert_true(asprintf(&lines[i], "ERCPT TO:<%s>",
		    addrs[i]) > 0);
		script[k++] = lines[i];
		strcat(replies, "250 ok\r\n");
	}
	strcat(replies, "354 go\r\n");
	script[k++] = "EDATA";
	script[k++] = replies;
	script[k++] = "D";
	script[k++] = "S250 done\r\n";
	script[k++] = "EQUIT";
	script[k++] = "S221 bye\r\n";
	script[k] = NULL;

	f = fake_start(script, NULL);
	c = open_ok(f, &o);
	m = msg_new(&s, MSG1, (const char *const *)addrs, N);
	assert_true(smtp_client_send(c, &m, res));
	for (i = 0; i < N; i++) {
		if (i < SMTP_CLIENT_RCPT_MAX) {
			assert_int_equal(res[i].code, 250);
		} else {
			assert_int_equal(res[i].code, 452);
			assert_non_null(strstr(res[i].text, "4.5.3"));
		}
	}
	smtp_client_close(&c);
	fake_join(f);
	fake_free(&f);
	for (i = 0; i < N; i++)
		free(addrs[i]);
	for (i = 0; i < SMTP_CLIENT_RCPT_MAX; i++)
		free(lines[i]);
	free(replies);
}

/* The message cannot be read: before MAIL, nothing happens and the
 * connection goes on; in the middle, the connection is dropped without
 * the final dot (a cut message must not be delivered). */
static void
test_client_read_fails(void **state)
{
	static const char *const script[] = {
		"S220 mx.test ESMTP\r\n",
		"EEHLO client.test",
		"S250 mx.test\r\n",
		"EMAIL FROM:<s@a.test>",
		"S250 ok\r\n",
		"ERCPT TO:<r1@b.test>",
		"S250 ok\r\n",
		"EDATA",
		"S354 go\r\n",
		"H",
		NULL,
	};
	const char *rcpts[] = { "r1@b.test" };
	struct smtp_client_opts o = opts_plain();
	struct smtp_client_reply res[1];
	struct smtp_client_msg m;
	struct smtp_client *c;
	struct src s;
	struct fake *f;

	(void)state;
	f = fake_start(script, NULL);
	c = open_ok(f, &o);
	m = msg_new(&s, "line one\r\nline two\r\n", rcpts, 1);
	s.fail_at = 1;
	s.off = 1;		/* fails at once */
	assert_true(smtp_client_send(c, &m, res));
	assert_int_equal(res[0].code, 0);
	assert_non_null(strstr(res[0].text, "cannot read"));
	m = msg_new(&s, "line one\r\nline two\r\n", rcpts, 1);
	s.chunk = 4;
	s.fail_at = 8;
	assert_false(smtp_client_send(c, &m, res));
	assert_int_equal(res[0].code, 0);
	assert_non_null(strstr(res[0].text, "cannot read"));
	smtp_client_close(&c);
	fake_join(f);
	assert_null(strstr(f->log, "\r\n.\r\n"));
	assert_null(strstr(f->log, "QUIT"));
	fake_free(&f);
}

static void
test_client_connect_refused(void **state)
{
	struct smtp_client_opts o = opts_plain();
	struct smtp_client_reply r;
	struct smtp_client *c = NULL;
	struct sockaddr_in sin;
	char want[64];
	int lfd;

	(void)state;
	/* A port nobody listens on: bound, then closed. */
	lfd = listen_any(&sin);
	close(lfd);
	snprintf(want, sizeof(want), "connect to 127.0.0.1:%u: Connection "
	    "refused", ntohs(sin.sin_port));
	assert_int_equal(smtp_client_open((struct sockaddr *)&sin,
	    sizeof(sin), &o, &c, &r), -1);
	assert_null(c);
	assert_int_equal(r.code, 0);
	assert_string_equal(r.text, want);
}

/* IPv6 endpoints are named with brackets. Skipped without ::1. */
static void
test_client_connect_refused6(void **state)
{
	struct smtp_client_opts o = opts_plain();
	struct smtp_client_reply r;
	struct smtp_client *c = NULL;
	struct sockaddr_in6 sin6;
	socklen_t len = sizeof(sin6);
	char want[80];
	int fd;

	(void)state;
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_addr = in6addr_loopback;
	fd = socket(AF_INET6, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)) != 0) {
		if (fd >= 0)
			close(fd);
		skip();
	}
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin6, &len), 0);
	close(fd);
	snprintf(want, sizeof(want), "connect to [::1]:%u: Connection "
	    "refused", ntohs(sin6.sin6_port));
	assert_int_equal(smtp_client_open((struct sockaddr *)&sin6,
	    sizeof(sin6), &o, &c, &r), -1);
	assert_int_equal(r.code, 0);
	assert_string_equal(r.text, want);
}

/* A server whose accept queue is full never answers the SYN: the
 * connect timeout ends the wait (Linux drops the SYN then). */
static void
test_client_connect_timeout(void **state)
{
	struct smtp_client_opts o = opts_plain();
	struct smtp_client_reply r;
	struct smtp_client *c = NULL;
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	char want[64];
	int lfd, fill[2], i;
	long long t0;

	(void)state;
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(lfd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(lfd, 0), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sin, &len), 0);
	for (i = 0; i < 2; i++) {
		fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		assert_true(fill[i] >= 0);
		(void)connect(fill[i], (struct sockaddr *)&sin, sizeof(sin));
	}
	usleep(100 * 1000);
	snprintf(want, sizeof(want), "connect to 127.0.0.1:%u: timed out",
	    ntohs(sin.sin_port));
	o.connect_timeout_ms = 200;
	t0 = ms_now();
	assert_int_equal(smtp_client_open((struct sockaddr *)&sin,
	    sizeof(sin), &o, &c, &r), -1);
	assert_true(ms_now() - t0 < 2000);
	assert_int_equal(r.code, 0);
	assert_string_equal(r.text, want);
	for (i = 0; i < 2; i++)
		close(fill[i]);
	close(lfd);
}

/* The stop fd ends a wait for the server. */
static void
test_client_stop(void **state)
{
	struct smtp_client_opts o = opts_plain();
	struct smtp_client_reply r;
	struct smtp_client *c = NULL;
	struct sockaddr_in sin;
	int lfd, pfd[2];
	long long t0;

	(void)state;
	/* The kernel completes the handshake; nobody ever greets. */
	lfd = listen_any(&sin);
	assert_int_equal(pipe(pfd), 0);
	assert_int_equal(write(pfd[1], "x", 1), 1);
	o.stop_fd = pfd[0];
	o.timeout_scale = 1.0;
	t0 = ms_now();
	assert_int_equal(smtp_client_open((struct sockaddr *)&sin,
	    sizeof(sin), &o, &c, &r), -1);
	assert_true(ms_now() - t0 < 3000);
	assert_int_equal(r.code, 0);
	assert_non_null(strstr(r.text, "stopped"));
	close(pfd[0]);
	close(pfd[1]);
	close(lfd);
}

static const char *const tls_script[] = {
	"S220 mx.test ESMTP\r\n",
	"EEHLO client.test",
	"S250-mx.test\r\n250-STARTTLS\r\n250 PIPELINING\r\n",
	"ESTARTTLS",
	"S220 go ahead\r\n",
	"T",
	"EEHLO client.test",
	"S250-mx.test\r\n250 PIPELINING\r\n",
	"EMAIL FROM:<s@a.test>",
	"ERCPT TO:<r1@b.test>",
	"EDATA",
	"S250 ok\r\n250 ok\r\n354 go\r\n",
	"D",
	"S250 done\r\n",
	"EQUIT",
	"S221 bye\r\n",
	NULL,
};

/* Opportunistic: STARTTLS when offered, no verification, EHLO again. */
static void
test_client_starttls_may(void **state)
{
	struct tls_env *env = *state;
	const char *rcpts[] = { "r1@b.test" };
	struct smtp_client_opts o = opts_plain();
	struct smtp_client_reply res[1];
	struct smtp_client_msg m;
	struct smtp_client *c;
	struct src s;
	struct fake *f;
	const char *v;

	o.tls = SMTP_CLIENT_TLS_MAY;
	o.tls_ctx = env->client;
	o.tls_name = "mx.example.org";	/* not the certificate's name */
	f = fake_start(tls_script, env->server);
	c = open_ok(f, &o);
	v = smtp_client_tls(c);
	assert_non_null(v);
	assert_true(strcmp(v, "TLSv1.3") == 0 || strcmp(v, "TLSv1.2") == 0);
	assert_false(smtp_client_tls_verified(c));
	/* The second EHLO's capabilities: no STARTTLS any more. */
	assert_false(smtp_client_caps(c)->starttls);
	assert_true(smtp_client_caps(c)->pipelining);
	m = msg_new(&s, MSG1, rcpts, 1);
	assert_true(smtp_client_send(c, &m, res));
	assert_int_equal(res[0].code, 250);
	smtp_client_close(&c);
	fake_join(f);
	assert_string_equal(f->data, MSG1);
	fake_free(&f);
}

/* MAY without STARTTLS offered, or refused: on in plaintext. */
static void
test_client_starttls_may_plain(void **state)
{
	static const char *const script[] = {
		"S220 mx.test ESMTP\r\n",
		"EEHLO client.test",
		"S250-mx.test\r\n250 STARTTLS\r\n",
		"ESTARTTLS",
		"S454 4.7.0 TLS not available\r\n",
		"EQUIT",
		"S221 bye\r\n",
		NULL,
	};
	struct tls_env *env = *state;
	struct smtp_client_opts o = opts_plain();
	struct smtp_client *c;
	struct fake *f;

	o.tls = SMTP_CLIENT_TLS_MAY;
	o.tls_ctx = env->client;
	f = fake_start(script, env->server);
	c = open_ok(f, &o);
	assert_null(smtp_client_tls(c));
	smtp_client_close(&c);
	fake_join(f);
	fake_free(&f);
}

/* Required: not offered, or refused, fails (temporary); never in
 * plaintext. */
static void
test_client_starttls_required(void **state)
{
	static const char *const absent[] = {
		"S220 mx.test ESMTP\r\n",
		"EEHLO client.test",
		"S250-mx.test\r\n250 PIPELINING\r\n",
		"EQUIT",
		"S221 bye\r\n",
		NULL,
	};
	static const char *const refused[] = {
		"S220 mx.test ESMTP\r\n",
		"EEHLO client.test",
		"S250-mx.test\r\n250 STARTTLS\r\n",
		"ESTARTTLS",
		"S554 5.7.0 not for you\r\n",
		"EQUIT",
		"S221 bye\r\n",
		NULL,
	};
	struct tls_env *env = *state;
	struct smtp_client_opts o = opts_plain();
	struct fake *f;

	o.tls = SMTP_CLIENT_TLS_REQUIRE;
	o.tls_ctx = env->client;
	f = fake_start(absent, env->server);
	open_fails(f, &o, 0, "does not offer STARTTLS");
	fake_join(f);
	fake_free(&f);

	f = fake_start(refused, env->server);
	open_fails(f, &o, 0, "refused STARTTLS: 554 5.7.0 not for you");
	fake_join(f);
	fake_free(&f);

	/* Offered: it works as with MAY. */
	f = fake_start(tls_script, env->server);
	{
		struct smtp_client *c = open_ok(f, &o);
		const char *rcpts[] = { "r1@b.test" };
		struct smtp_client_reply res[1];
		struct smtp_client_msg m;
		struct src s;

		m = msg_new(&s, MSG1, rcpts, 1);
		assert_true(smtp_client_send(c, &m, res));
		assert_non_null(smtp_client_tls(c));
		smtp_client_close(&c);
	}
	fake_join(f);
	fake_free(&f);
}

/* A verifying context: the name must match the certificate. */
static void
test_client_tls_verify(void **state)
{
	static const char *const works[] = {
		"S220 mx.test ESMTP\r\n",
		"EEHLO client.test",
		"S250-mx.test\r\n250 STARTTLS\r\n",
		"ESTARTTLS",
		"S220 go ahead\r\n",
		"T",
		"EEHLO client.test",
		"S250 mx.test\r\n",
		"EQUIT",
		"S221 bye\r\n",
		NULL,
	};
	static const char *const fails[] = {
		"S220 mx.test ESMTP\r\n",
		"EEHLO client.test",
		"S250-mx.test\r\n250 STARTTLS\r\n",
		"ESTARTTLS",
		"S220 go ahead\r\n",
		"t",
		NULL,
	};
	struct tls_env *env = *state;
	struct smtp_client_opts o = opts_plain();
	struct smtp_client *c;
	struct fake *f;

	o.tls = SMTP_CLIENT_TLS_REQUIRE;
	o.tls_ctx = env->verify;
	o.tls_name = "mail.test.";	/* a trailing dot is fine */
	f = fake_start(works, env->server);
	c = open_ok(f, &o);
	assert_true(smtp_client_tls_verified(c));
	smtp_client_close(&c);
	fake_join(f);
	fake_free(&f);

	o.tls_name = "other.test";
	f = fake_start(fails, env->server);
	open_fails(f, &o, 0, "hostname mismatch");
	fake_join(f);
	fake_free(&f);

	/* Verifying without a name to check is refused. */
	o.tls_name = NULL;
	f = fake_start(fails, env->server);
	open_fails(f, &o, 0, "TLS handshake with 127.0.0.1 failed");
	fake_join(f);
	fake_free(&f);
}

/* Implicit TLS (port 465): the handshake comes before the greeting. */
static void
test_client_implicit_tls(void **state)
{
	static const char *const script[] = {
		"T",
		"S220 mx.test ESMTP\r\n",
		"EEHLO client.test",
		"S250-mx.test\r\n250 AUTH PLAIN\r\n",
		"EAUTH PLAIN AHVzZXIAc2VjcmV0",
		"S235 2.7.0 ok\r\n",
		"EQUIT",
		"S221 bye\r\n",
		NULL,
	};
	struct tls_env *env = *state;
	struct smtp_client_opts o = opts_plain();
	struct smtp_client *c;
	struct fake *f;

	o.tls = SMTP_CLIENT_TLS_IMPLICIT;
	o.tls_ctx = env->client;
	o.auth_user = "user";
	o.auth_password = "secret";
	f = fake_start(script, env->server);
	c = open_ok(f, &o);
	assert_non_null(smtp_client_tls(c));
	smtp_client_close(&c);
	fake_join(f);
	fake_free(&f);
}

/* AUTH PLAIN goes only after TLS, with the EHLO after it. */
static void
test_client_auth_plain(void **state)
{
	static const char *const script[] = {
		"S220 mx.test ESMTP\r\n",
		"EEHLO client.test",
		"S250-mx.test\r\n250-AUTH PLAIN LOGIN\r\n250 STARTTLS\r\n",
		"ESTARTTLS",
		"S220 go ahead\r\n",
		"T",
		"EEHLO client.test",
		"S250-mx.test\r\n250-AUTH LOGIN PLAIN\r\n250 PIPELINING\r\n",
		"EAUTH PLAIN AHVzZXIAc2VjcmV0",
		"S235 2.7.0 Authentication successful\r\n",
		"EQUIT",
		"S221 bye\r\n",
		NULL,
	};
	struct tls_env *env = *state;
	struct smtp_client_opts o = opts_plain();
	struct smtp_client *c;
	struct fake *f;

	o.tls = SMTP_CLIENT_TLS_MAY;
	o.tls_ctx = env->client;
	o.auth_user = "user";
	o.auth_password = "secret";
	f = fake_start(script, env->server);
	c = open_ok(f, &o);
	smtp_client_close(&c);
	fake_join(f);
	fake_free(&f);
}

static void
test_client_auth_login(void **state)
{
	static const char *const script[] = {
		"S220 mx.test ESMTP\r\n",
		"EEHLO client.test",
		"S250-mx.test\r\n250 STARTTLS\r\n",
		"ESTARTTLS",
		"S220 go ahead\r\n",
		"T",
		"EEHLO client.test",
		"S250-mx.test\r\n250 AUTH=LOGIN\r\n",
		"EAUTH LOGIN",
		"S334 VXNlcm5hbWU6\r\n",
		"EdXNlcg==",
		"S334 UGFzc3dvcmQ6\r\n",
		"Ec2VjcmV0",
		"S235 ok\r\n",
		"EQUIT",
		"S221 bye\r\n",
		NULL,
	};
	struct tls_env *env = *state;
	struct smtp_client_opts o = opts_plain();
	struct smtp_client *c;
	struct fake *f;

	o.tls = SMTP_CLIENT_TLS_REQUIRE;
	o.tls_ctx = env->client;
	o.auth_user = "user";
	o.auth_password = "secret";
	f = fake_start(script, env->server);
	c = open_ok(f, &o);
	smtp_client_close(&c);
	fake_join(f);
	fake_free(&f);
}

/* AUTH failures: refused (the reply), no TLS (never sent), no usable
 * mechanism (code 0). */
static void
test_client_auth_fails(void **state)
{
	static const char *const refused[] = {
		"S220 mx.test ESMTP\r\n",
		"EEHLO client.test",
		"S250-mx.test\r\n250 STARTTLS\r\n",
		"ESTARTTLS",
		"S220 go ahead\r\n",
		"T",
		"EEHLO client.test",
		"S250-mx.test\r\n250 AUTH PLAIN\r\n",
		"EAUTH PLAIN AHVzZXIAc2VjcmV0",
		"S535 5.7.8 Authentication credentials invalid\r\n",
		"EQUIT",
		"S221 bye\r\n",
		NULL,
	};
	static const char *const no_tls[] = {
		"S220 mx.test ESMTP\r\n",
		"EEHLO client.test",
		"S250-mx.test\r\n250 AUTH PLAIN LOGIN\r\n",
		"EQUIT",
		"S221 bye\r\n",
		NULL,
	};
	static const char *const no_mech[] = {
		"S220 mx.test ESMTP\r\n",
		"EEHLO client.test",
		"S250-mx.test\r\n250 STARTTLS\r\n",
		"ESTARTTLS",
		"S220 go ahead\r\n",
		"T",
		"EEHLO client.test",
		"S250-mx.test\r\n250 AUTH CRAM-MD5 XOAUTH2\r\n",
		"EQUIT",
		"S221 bye\r\n",
		NULL,
	};
	struct tls_env *env = *state;
	struct smtp_client_opts o = opts_plain();
	struct fake *f;

	o.tls = SMTP_CLIENT_TLS_MAY;
	o.tls_ctx = env->client;
	o.auth_user = "user";
	o.auth_password = "secret";
	f = fake_start(refused, env->server);
	open_fails(f, &o, 535, "535 5.7.8 Authentication credentials invalid");
	fake_join(f);
	fake_free(&f);

	f = fake_start(no_tls, env->server);
	open_fails(f, &o, 0, "without TLS");
	fake_join(f);
	assert_null(strstr(f->log, "AUTH"));
	fake_free(&f);

	/* Not even when TLS is off altogether. */
	o.tls = SMTP_CLIENT_TLS_NONE;
	f = fake_start(no_tls, env->server);
	open_fails(f, &o, 0, "without TLS");
	fake_join(f);
	assert_null(strstr(f->log, "AUTH"));
	fake_free(&f);

	o.tls = SMTP_CLIENT_TLS_MAY;
	f = fake_start(no_mech, env->server);
	open_fails(f, &o, 0, "no AUTH mechanism");
	fake_join(f);
	fake_free(&f);
}

/* After STARTTLS, a reply the server had queued in plaintext is thrown
 * away, not read as if it came under TLS. */
static void
test_client_starttls_injection(void **state)
{
	static const char *const script[] = {
		"S220 mx.test ESMTP\r\n",
		"EEHLO client.test",
		"S250-mx.test\r\n250 STARTTLS\r\n",
		"ESTARTTLS",
		"S220 go ahead\r\n250-injected\r\n250 AUTH PLAIN\r\n",
		"T",
		"EEHLO client.test",
		"S250 mx.test\r\n",
		"EQUIT",
		"S221 bye\r\n",
		NULL,
	};
	struct tls_env *env = *state;
	struct smtp_client_opts o = opts_plain();
	struct smtp_client *c;
	struct fake *f;

	o.tls = SMTP_CLIENT_TLS_MAY;
	o.tls_ctx = env->client;
	f = fake_start(script, env->server);
	c = open_ok(f, &o);
	assert_false(smtp_client_caps(c)->auth);
	smtp_client_close(&c);
	fake_join(f);
	fake_free(&f);
}

/* tls_client_ctx_new: the modes and a CA file that is not there. */
static void
test_tls_client_ctx(void **state)
{
	struct tls_env *env = *state;
	char *error = NULL, *missing;
	SSL_CTX *ctx;

	ctx = tls_client_ctx_new(false, NULL, &error);
	assert_non_null(ctx);
	assert_null(error);
	assert_int_equal(SSL_CTX_get_verify_mode(ctx), SSL_VERIFY_NONE);
	assert_int_equal(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION);
	SSL_CTX_free(ctx);
	/* The system store: whatever the machine holds, a context. */
	ctx = tls_client_ctx_new(true, NULL, &error);
	assert_non_null(ctx);
	assert_int_equal(SSL_CTX_get_verify_mode(ctx), SSL_VERIFY_PEER);
	SSL_CTX_free(ctx);
	assert_int_equal(SSL_CTX_get_verify_mode(env->verify),
	    SSL_VERIFY_PEER);

	missing = tu_path(env->dir, "no-such-ca.pem");
	assert_null(tls_client_ctx_new(true, missing, &error));
	assert_non_null(error);
	assert_non_null(strstr(error, missing));
	free(error);
	free(missing);
}

/* Options the client refuses before connecting. */
static void
test_client_bad_opts(void **state)
{
	struct sockaddr_in sin;
	struct smtp_client_opts o = opts_plain();
	struct smtp_client_reply r;
	struct smtp_client *c = NULL;

	(void)state;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	o.helo = "bad name";
	assert_int_equal(smtp_client_open((struct sockaddr *)&sin,
	    sizeof(sin), &o, &c, &r), -1);
	assert_int_equal(r.code, 0);
	assert_non_null(strstr(r.text, "EHLO name"));
	o = opts_plain();
	o.tls = SMTP_CLIENT_TLS_REQUIRE;
	assert_int_equal(smtp_client_open((struct sockaddr *)&sin,
	    sizeof(sin), &o, &c, &r), -1);
	assert_non_null(strstr(r.text, "TLS context"));
	assert_null(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_single),
		cmocka_unit_test(test_parse_multi),
		cmocka_unit_test(test_parse_incremental),
		cmocka_unit_test(test_parse_code_mismatch),
		cmocka_unit_test(test_parse_bad_code),
		cmocka_unit_test(test_parse_missing_space),
		cmocka_unit_test(test_parse_too_long),
		cmocka_unit_test(test_parse_too_many_lines),
		cmocka_unit_test(test_parse_sanitize),
		cmocka_unit_test(test_parse_long_multi),
		cmocka_unit_test(test_ehlo_keywords),
		cmocka_unit_test(test_dot_stuff),
		cmocka_unit_test(test_client_pipelining),
		cmocka_unit_test(test_client_lockstep),
		cmocka_unit_test(test_client_helo_fallback),
		cmocka_unit_test(test_client_helo_refused),
		cmocka_unit_test(test_client_dot_stuffing),
		cmocka_unit_test(test_client_size_refused),
		cmocka_unit_test(test_client_8bit_utf8),
		cmocka_unit_test(test_client_bad_addresses),
		cmocka_unit_test(test_client_data_452),
		cmocka_unit_test(test_client_final_refused),
		cmocka_unit_test(test_client_421),
		cmocka_unit_test(test_client_greeting_421),
		cmocka_unit_test(test_client_greeting_554),
		cmocka_unit_test(test_client_timeout),
		cmocka_unit_test(test_client_malformed),
		cmocka_unit_test(test_client_two_messages),
		cmocka_unit_test(test_client_pipelined_refusals),
		cmocka_unit_test(test_client_rcpt_max),
		cmocka_unit_test(test_client_read_fails),
		cmocka_unit_test(test_client_connect_refused),
		cmocka_unit_test(test_client_connect_refused6),
		cmocka_unit_test(test_client_connect_timeout),
		cmocka_unit_test(test_client_stop),
		cmocka_unit_test(test_client_starttls_may),
		cmocka_unit_test(test_client_starttls_may_plain),
		cmocka_unit_test(test_client_starttls_required),
		cmocka_unit_test(test_client_tls_verify),
		cmocka_unit_test(test_client_implicit_tls),
		cmocka_unit_test(test_client_auth_plain),
		cmocka_unit_test(test_client_auth_login),
		cmocka_unit_test(test_client_auth_fails),
		cmocka_unit_test(test_client_starttls_injection),
		cmocka_unit_test(test_tls_client_ctx),
		cmocka_unit_test(test_client_bad_opts),
	};

	/* As letterboxd does: a write to a closed peer is an error. */
	signal(SIGPIPE, SIG_IGN);
	log_init("test_smtp_client", false,
	    getenv("TEST_SMTP_CLIENT_DEBUG") != NULL ? LOG_LEVEL_DEBUG :
	    LOG_LEVEL_WARN);
	/* A wait that never ends is a failure, not a hung CI job. */
	alarm(600);
	return cmocka_run_group_tests_name("smtp_client", tests, group_setup,
	    group_teardown);
}
