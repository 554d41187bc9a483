/*
 * test_conn.c - the connection layer (line reader, exact reads, writer,
 * timeouts, stop fd, STARTTLS and implicit TLS) and the TLS contexts and
 * self-signed certificates of tls.c.
 *
 * Plain tests run over socketpair(AF_UNIX); TLS tests over a TCP pair on
 * 127.0.0.1 with an ephemeral port, the client side in a thread speaking
 * OpenSSL directly. Threads never call cmocka: they record what happened
 * and the main thread asserts after joining. Timeouts are short (100 ms)
 * where a timeout is the point, and a few seconds elsewhere so that a
 * bug fails the test instead of hanging it.
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
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "common/conn.h"
#include "common/log.h"
#include "common/tls.h"

/* Long enough never to fire on a loaded machine, short enough that a
 * bug ends the test rather than the CI job. */
#define SAFE_TIMEOUT_MS	5000
#define BIG_SIZE	(1024 * 1024)

/* ---- helpers ---------------------------------------------------------- */

static long long
ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* send_all: writes all of data to fd; false on failure. Thread-safe. */
static bool
send_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	ssize_t n;

	while (len > 0) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

static void
feed(int fd, const void *data, size_t len)
{
	assert_true(send_all(fd, data, len));
}

static void
feed_str(int fd, const char *s)
{
	feed(fd, s, strlen(s));
}

/* plain_new: a socketpair; *conn_r owns sv[0], *peer_r is the other end
 * (the test closes it). */
static void
plain_new(struct conn **conn_r, int *peer_r)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	*conn_r = conn_new(sv[0], NULL, 0, -1);
	assert_non_null(*conn_r);
	conn_set_timeout(*conn_r, SAFE_TIMEOUT_MS);
	*peer_r = sv[1];
}

/* expect_line: the next line is want (with its crlf flag). */
static void
expect_line(struct conn *conn, size_t max, const char *want, size_t want_len,
    bool want_crlf)
{
	const char *line = NULL;
	size_t len = 0;
	bool crlf = !want_crlf;

	assert_int_equal(conn_read_line(conn, max, &line, &len, &crlf),
	    CONN_OK);
	assert_int_equal(len, want_len);
	assert_memory_equal(line, want, want_len);
	assert_int_equal(line[len], '\0');
	assert_int_equal(crlf, want_crlf);
}

static void
expect_status(struct conn *conn, size_t max, int want)
{
	const char *line;
	size_t len;
	bool crlf;

	assert_int_equal(conn_read_line(conn, max, &line, &len, &crlf), want);
}

/* pattern: deterministic printable bytes (no '%', no line ends) so that
 * a shifted or dropped byte shows up. */
static void
pattern(char *buf, size_t len, unsigned seed)
{
	size_t i;
	uint32_t x = seed * 2654435761u + 1;

	for (i = 0; i < len; i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (char)('A' + (x >> 16) % 26);
	}
}

/* A thread writing data in chunks of chunk bytes (0: all at once),
 * pausing delay_us between them, then closing fd when asked. */
struct writer {
	pthread_t tid;
	int fd;
	const char *data;
	size_t len;
	size_t chunk;
	unsigned delay_us;
	bool close_after;
	bool ok;
};

static void *
writer_main(void *arg)
{
	struct writer *w = arg;
	size_t off = 0, n;

	w->ok = true;
	while (off < w->len && w->ok) {
		n = w->chunk == 0 || w->len - off < w->chunk ?
		    w->len - off : w->chunk;
		w->ok = send_all(w->fd, w->data + off, n);
		off += n;
		if (w->delay_us != 0)
			usleep(w->delay_us);
	}
	if (w->close_after)
		close(w->fd);
	return NULL;
}

static void
writer_start(struct writer *w)
{
	assert_int_equal(pthread_create(&w->tid, NULL, writer_main, w), 0);
}

static void
writer_join(struct writer *w)
{
	assert_int_equal(pthread_join(w->tid, NULL), 0);
	assert_true(w->ok);
}

/* A thread reading fd until EOF into buf (cap bytes). */
struct reader {
	pthread_t tid;
	int fd;
	char *buf;
	size_t cap;
	size_t got;
	bool overflow;
};

static void *
reader_main(void *arg)
{
	struct reader *r = arg;
	ssize_t n;

	for (;;) {
		if (r->got == r->cap) {
			char c;

			r->overflow = recv(r->fd, &c, 1, 0) > 0;
			return NULL;
		}
		n = recv(r->fd, r->buf + r->got, r->cap - r->got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return NULL;
		r->got += (size_t)n;
	}
}

/*
 * emit_big: sends data (len bytes) through conn with a mix of every
 * writer path: tiny writes, printf into the free space, printf after a
 * flush, printf longer than the buffer (temporary), writes that fill the
 * buffer and writes larger than it (straight out).
 */
static void
emit_big(struct conn *conn, const char *data, size_t len)
{
	static const size_t sizes[] = { 1, 1, 7, 100, 16383, 1, 16384,
	    40000, 3, 300000, 511, 70000, 16385, 2 };
	size_t off = 0, i = 0, n;

	while (off < len) {
		n = sizes[i % (sizeof(sizes) / sizeof(sizes[0]))];
		if (n > len - off)
			n = len - off;
		if (i % 3 == 1)
			assert_int_equal(conn_printf(conn, "%.*s", (int)n,
			    data + off), CONN_OK);
		else
			assert_int_equal(conn_write(conn, data + off, n),
			    CONN_OK);
		off += n;
		i++;
	}
	assert_int_equal(conn_flush(conn), CONN_OK);
}

/* ---- plain line reading ----------------------------------------------- */

static void
test_line_crlf(void **state)
{
	struct conn *c;
	int peer;

	plain_new(&c, &peer);
	feed_str(peer, "EHLO client.example\r\n");
	expect_line(c, 512, "EHLO client.example", 19, true);
	/* An empty line. */
	feed_str(peer, "\r\n");
	expect_line(c, 512, "", 0, true);
	assert_false(conn_pending(c));
	conn_free(&c);
	assert_null(c);
	conn_free(&c);		/* harmless on NULL */
	close(peer);
}

static void
test_line_bare_lf(void **state)
{
	struct conn *c;
	int peer;

	plain_new(&c, &peer);
	feed_str(peer, "NOOP\n\n");
	expect_line(c, 512, "NOOP", 4, false);
	expect_line(c, 512, "", 0, false);
	conn_free(&c);
	close(peer);
}

static void
test_line_cr_inside(void **state)
{
	struct conn *c;
	int peer;

	plain_new(&c, &peer);
	/* A CR not right before the LF stays in the line; "\r\r\n" is a
	 * line ending in CR, ended by CRLF; a lone "\r" is a 1-byte line. */
	feed_str(peer, "a\rb\r\nx\r\r\n\r\n\rq\n");
	expect_line(c, 512, "a\rb", 3, true);
	expect_line(c, 512, "x\r", 2, true);
	expect_line(c, 512, "", 0, true);
	expect_line(c, 512, "\rq", 2, false);
	conn_free(&c);
	close(peer);
}

static void
test_line_nul(void **state)
{
	struct conn *c;
	int peer;

	plain_new(&c, &peer);
	feed(peer, "a\0b\r\n\0\n", 7);
	expect_line(c, 512, "a\0b", 3, true);
	expect_line(c, 512, "\0", 1, false);
	conn_free(&c);
	close(peer);
}

static void
test_line_pipelined(void **state)
{
	struct conn *c;
	int peer;

	plain_new(&c, &peer);
	feed_str(peer, "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n");
	expect_line(c, 512, "MAIL FROM:<a@b>", 15, true);
	assert_true(conn_pending(c));
	assert_int_equal(conn_wait_input(c, 0), CONN_OK);
	expect_line(c, 512, "RCPT TO:<c@d>", 13, true);
	assert_true(conn_pending(c));
	expect_line(c, 512, "DATA", 4, true);
	assert_false(conn_pending(c));
	/* Bytes in the kernel but not yet read count as pending. */
	feed_str(peer, "QUIT\r\n");
	assert_true(conn_pending(c));
	expect_line(c, 512, "QUIT", 4, true);
	assert_false(conn_pending(c));
	conn_free(&c);
	close(peer);
}

static void
test_line_max(void **state)
{
	struct conn *c;
	int peer;

	/* Exactly max bytes, with CRLF and with a bare LF. */
	plain_new(&c, &peer);
	feed_str(peer, "0123456789\r\n0123456789\n");
	expect_line(c, 10, "0123456789", 10, true);
	expect_line(c, 10, "0123456789", 10, false);
	conn_free(&c);
	close(peer);

	/* max + 1 bytes, CRLF. */
	plain_new(&c, &peer);
	feed_str(peer, "01234567890\r\n");
	expect_status(c, 10, CONN_TOO_LONG);
	conn_free(&c);
	close(peer);

	/* max + 1 bytes, bare LF: the LF is within max + 2, still too
	 * long. */
	plain_new(&c, &peer);
	feed_str(peer, "01234567890\n");
	expect_status(c, 10, CONN_TOO_LONG);
	conn_free(&c);
	close(peer);

	/* max + 2 bytes and nothing more: too long at once, no waiting for
	 * an LF (a 100 ms timeout would say CONN_TIMEOUT). */
	plain_new(&c, &peer);
	conn_set_timeout(c, 100);
	feed_str(peer, "012345678901");
	expect_status(c, 10, CONN_TOO_LONG);
	conn_free(&c);
	close(peer);

	/* max + 1 bytes then a CR, no LF yet: can never fit. */
	plain_new(&c, &peer);
	conn_set_timeout(c, 100);
	feed_str(peer, "01234567890\r");
	expect_status(c, 10, CONN_TOO_LONG);
	conn_free(&c);
	close(peer);

	/* max bytes then CR, no LF yet: it may fit, so wait. */
	plain_new(&c, &peer);
	conn_set_timeout(c, 100);
	feed_str(peer, "0123456789\r");
	expect_status(c, 10, CONN_TIMEOUT);
	feed_str(peer, "\n");
	expect_line(c, 10, "0123456789", 10, true);
	conn_free(&c);
	close(peer);

	/* max = 0 takes only empty lines. */
	plain_new(&c, &peer);
	feed_str(peer, "\r\nx\r\n");
	expect_line(c, 0, "", 0, true);
	expect_status(c, 0, CONN_TOO_LONG);
	conn_free(&c);
	close(peer);
}

/* The whole input buffer: CONN_LINE_MAX bytes and CRLF fit, one more
 * byte does not; after a big line, the buffer is reused from the start. */
static void
test_line_conn_max(void **state)
{
	char *big = malloc(3 * CONN_LINE_MAX);
	struct writer w = { 0 };
	struct conn *c;
	int peer;

	assert_non_null(big);
	pattern(big, CONN_LINE_MAX, 1);
	memcpy(big + CONN_LINE_MAX, "\r\nok\r\n", 6);

	plain_new(&c, &peer);
	w.fd = peer;
	w.data = big;
	w.len = CONN_LINE_MAX + 6;
	w.chunk = 1000;
	writer_start(&w);
	expect_line(c, CONN_LINE_MAX, big, CONN_LINE_MAX, true);
	expect_line(c, CONN_LINE_MAX, "ok", 2, true);
	writer_join(&w);
	conn_free(&c);
	close(peer);

	pattern(big, CONN_LINE_MAX + 1, 2);
	memcpy(big + CONN_LINE_MAX + 1, "\r\n", 2);
	plain_new(&c, &peer);
	w.fd = peer;
	w.len = CONN_LINE_MAX + 3;
	writer_start(&w);
	expect_status(c, CONN_LINE_MAX, CONN_TOO_LONG);
	writer_join(&w);
	conn_free(&c);
	close(peer);

	/* Lines larger than half the buffer in a row: each read leaves a
	 * partial line that must move to the front. */
	plain_new(&c, &peer);
	pattern(big, 120003, 3);
	big[40000] = '\n';
	big[80001] = '\n';
	big[120002] = '\n';
	w.fd = peer;
	w.len = 120003;
	w.chunk = 0;
	writer_start(&w);
	expect_line(c, CONN_LINE_MAX, big, 40000, false);
	expect_line(c, CONN_LINE_MAX, big + 40001, 40000, false);
	expect_line(c, CONN_LINE_MAX, big + 80002, 40000, false);
	writer_join(&w);
	conn_free(&c);
	close(peer);
	free(big);
}

/* The lines of a small SMTP dialogue with every awkward byte. */
static const char dialogue[] =
    "EHLO x\r\nMAIL FROM:<a@b>\nRCPT TO:<c@d>\r\n\r\nDA\rTA\r\n"
    "nul\0here\r\n.\r\n";
static const struct {
	const char *text;
	size_t len;
	bool crlf;
} dialogue_lines[] = {
	{ "EHLO x", 6, true },
	{ "MAIL FROM:<a@b>", 15, false },
	{ "RCPT TO:<c@d>", 13, true },
	{ "", 0, true },
	{ "DA\rTA", 5, true },
	{ "nul\0here", 8, true },
	{ ".", 1, true },
};
#define DIALOGUE_LINES (sizeof(dialogue_lines) / sizeof(dialogue_lines[0]))

/*
 * CONVENTIONS.md: parsers are fed one byte at a time as well as whole.
 * With a zero timeout each call reads what is there and times out; the
 * partial line must survive the timeout and no line may appear early.
 */
static void
test_line_bytewise(void **state)
{
	size_t i, got = 0;
	struct conn *c;
	const char *line;
	size_t len;
	bool crlf;
	int peer, ret;

	plain_new(&c, &peer);
	conn_set_timeout(c, 0);
	for (i = 0; i < sizeof(dialogue) - 1; i++) {
		feed(peer, dialogue + i, 1);
		while ((ret = conn_read_line(c, 64, &line, &len, &crlf)) ==
		    CONN_OK) {
			assert_true(got < DIALOGUE_LINES);
			/* A line appears exactly when its LF arrives. */
			assert_int_equal(dialogue[i], '\n');
			assert_int_equal(len, dialogue_lines[got].len);
			assert_memory_equal(line, dialogue_lines[got].text,
			    len);
			assert_int_equal(crlf, dialogue_lines[got].crlf);
			got++;
		}
		assert_int_equal(ret, CONN_TIMEOUT);
	}
	assert_int_equal(got, DIALOGUE_LINES);
	conn_free(&c);
	close(peer);

	/* Whole, in one write. */
	plain_new(&c, &peer);
	feed(peer, dialogue, sizeof(dialogue) - 1);
	for (i = 0; i < DIALOGUE_LINES; i++)
		expect_line(c, 64, dialogue_lines[i].text,
		    dialogue_lines[i].len, dialogue_lines[i].crlf);
	conn_free(&c);
	close(peer);

	/* One byte at a time from another thread, read by blocking calls. */
	plain_new(&c, &peer);
	{
		struct writer w = { 0 };

		w.fd = peer;
		w.data = dialogue;
		w.len = sizeof(dialogue) - 1;
		w.chunk = 1;
		w.delay_us = 200;
		writer_start(&w);
		for (i = 0; i < DIALOGUE_LINES; i++)
			expect_line(c, 64, dialogue_lines[i].text,
			    dialogue_lines[i].len, dialogue_lines[i].crlf);
		writer_join(&w);
	}
	conn_free(&c);
	close(peer);
}

/* A too-long line fed byte by byte is refused once max + 2 bytes are in,
 * not before. */
static void
test_line_bytewise_too_long(void **state)
{
	struct conn *c;
	int peer, i;

	plain_new(&c, &peer);
	conn_set_timeout(c, 0);
	for (i = 0; i < 11; i++) {
		feed_str(peer, "x");
		expect_status(c, 10, CONN_TIMEOUT);
	}
	feed_str(peer, "x");
	expect_status(c, 10, CONN_TOO_LONG);
	conn_free(&c);
	close(peer);
}

/* ---- end of input, timeouts, stop ------------------------------------- */

static void
test_eof(void **state)
{
	struct conn *c;
	int peer;

	plain_new(&c, &peer);
	feed_str(peer, "last\r\n");
	close(peer);
	expect_line(c, 512, "last", 4, true);
	expect_status(c, 512, CONN_CLOSED);
	expect_status(c, 512, CONN_CLOSED);
	conn_free(&c);

	/* EOF in the middle of a line: the partial line is never seen. */
	plain_new(&c, &peer);
	feed_str(peer, "QUI");
	close(peer);
	expect_status(c, 512, CONN_CLOSED);
	conn_free(&c);

	/* EOF with nothing sent. */
	plain_new(&c, &peer);
	shutdown(peer, SHUT_WR);
	expect_status(c, 512, CONN_CLOSED);
	conn_free(&c);
	close(peer);
}

static void
test_timeout(void **state)
{
	struct conn *c;
	long long t0, dt;
	int peer;

	plain_new(&c, &peer);
	conn_set_timeout(c, 100);
	t0 = ms_now();
	expect_status(c, 512, CONN_TIMEOUT);
	dt = ms_now() - t0;
	assert_true(dt >= 90);
	assert_true(dt < 3000);

	/* Mid-line: times out, keeps the part, finishes later. */
	feed_str(peer, "HE");
	expect_status(c, 512, CONN_TIMEOUT);
	feed_str(peer, "LO\r\n");
	expect_line(c, 512, "HELO", 4, true);

	/* conn_read_exact times out too. */
	{
		char buf[8];

		feed_str(peer, "abc");
		assert_int_equal(conn_read_exact(c, buf, sizeof(buf)),
		    CONN_TIMEOUT);
	}
	conn_free(&c);
	close(peer);
}

struct stopper {
	pthread_t tid;
	int fd;
	unsigned delay_ms;
};

static void *
stopper_main(void *arg)
{
	struct stopper *s = arg;

	usleep(s->delay_ms * 1000);
	if (write(s->fd, "x", 1) != 1)
		abort();
	return NULL;
}

static void
test_stop(void **state)
{
	struct stopper st = { 0 };
	struct conn *c;
	long long t0;
	int sv[2], stop[2];
	const char *line;
	size_t len;
	bool crlf;

	assert_int_equal(pipe(stop), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	c = conn_new(sv[0], NULL, 0, stop[0]);
	conn_set_timeout(c, SAFE_TIMEOUT_MS);

	/* Not stopped yet: input is read as usual. */
	feed_str(sv[1], "A\r\n");
	expect_line(c, 512, "A", 1, true);

	/* Stop arrives while a read waits. */
	st.fd = stop[1];
	st.delay_ms = 50;
	t0 = ms_now();
	assert_int_equal(pthread_create(&st.tid, NULL, stopper_main, &st), 0);
	assert_int_equal(conn_read_line(c, 512, &line, &len, &crlf),
	    CONN_STOPPED);
	assert_true(ms_now() - t0 < 3000);
	assert_int_equal(pthread_join(st.tid, NULL), 0);

	/* Already stopped: every wait for input ends at once. */
	assert_int_equal(conn_wait_input(c, SAFE_TIMEOUT_MS), CONN_STOPPED);
	{
		char buf[4];

		assert_int_equal(conn_read_exact(c, buf, sizeof(buf)),
		    CONN_STOPPED);
	}
	expect_status(c, 512, CONN_STOPPED);
	/* Lines already buffered are still handed out. */
	feed_str(sv[1], "B\r\nC\r\n");
	expect_line(c, 512, "B", 1, true);
	assert_int_equal(conn_wait_input(c, 0), CONN_OK);
	expect_line(c, 512, "C", 1, true);
	/* Writes do not watch the stop fd. */
	assert_int_equal(conn_printf(c, "421 shutting down\r\n"), CONN_OK);
	assert_int_equal(conn_flush(c), CONN_OK);

	conn_free(&c);
	close(sv[1]);
	close(stop[0]);
	close(stop[1]);
}

/* ---- exact reads, pending, waiting ------------------------------------ */

static void
test_read_exact(void **state)
{
	char *big = malloc(BIG_SIZE), *got = malloc(BIG_SIZE);
	struct writer w = { 0 };
	struct conn *c;
	char buf[16];
	int peer;

	assert_non_null(big);
	assert_non_null(got);
	pattern(big, BIG_SIZE, 7);

	/* Buffered part and socket part in one read. */
	plain_new(&c, &peer);
	feed_str(peer, "BDAT 10\r\n0123");
	expect_line(c, 512, "BDAT 10", 7, true);
	assert_true(conn_pending(c));
	feed_str(peer, "456789NEXT\r\n");
	assert_int_equal(conn_read_exact(c, buf, 10), CONN_OK);
	assert_memory_equal(buf, "0123456789", 10);
	expect_line(c, 512, "NEXT", 4, true);
	/* Zero bytes: nothing to do. */
	assert_int_equal(conn_read_exact(c, buf, 0), CONN_OK);
	/* Entirely from the buffer, leaving a line behind. */
	feed_str(peer, "ab\r\ncd\r\nL\r\n");
	assert_int_equal(conn_read_exact(c, buf, 8), CONN_OK);
	assert_memory_equal(buf, "ab\r\ncd\r\n", 8);
	expect_line(c, 512, "L", 1, true);

	/* 1 MiB (far beyond the input buffer), then a line after it. */
	feed_str(peer, "LITERAL\r\n");
	w.fd = peer;
	w.data = big;
	w.len = BIG_SIZE;
	w.chunk = 65536;
	writer_start(&w);
	expect_line(c, 512, "LITERAL", 7, true);
	assert_int_equal(conn_read_exact(c, got, BIG_SIZE), CONN_OK);
	writer_join(&w);
	assert_memory_equal(got, big, BIG_SIZE);

	w.data = "xyz\r\nEND\r\n";
	w.len = 10;
	w.chunk = 1;
	w.delay_us = 200;
	writer_start(&w);
	assert_int_equal(conn_read_exact(c, buf, 5), CONN_OK);
	assert_memory_equal(buf, "xyz\r\n", 5);
	expect_line(c, 512, "END", 3, true);
	writer_join(&w);

	/* EOF before the count is reached. */
	feed_str(peer, "12");
	close(peer);
	assert_int_equal(conn_read_exact(c, buf, 3), CONN_CLOSED);
	conn_free(&c);
	free(big);
	free(got);
}

static void
test_wait_input(void **state)
{
	struct conn *c;
	long long t0, dt;
	int peer;

	plain_new(&c, &peer);
	assert_false(conn_pending(c));
	t0 = ms_now();
	assert_int_equal(conn_wait_input(c, 100), CONN_TIMEOUT);
	dt = ms_now() - t0;
	assert_true(dt >= 90 && dt < 3000);
	assert_int_equal(conn_wait_input(c, 0), CONN_TIMEOUT);

	/* Input in the kernel: OK, and nothing is consumed. */
	feed_str(peer, "EARLY\r\nTALKER\r\n");
	assert_int_equal(conn_wait_input(c, 100), CONN_OK);
	assert_true(conn_pending(c));
	expect_line(c, 512, "EARLY", 5, true);
	/* Input in our buffer: OK without waiting. */
	t0 = ms_now();
	assert_int_equal(conn_wait_input(c, SAFE_TIMEOUT_MS), CONN_OK);
	assert_true(ms_now() - t0 < 1000);
	expect_line(c, 512, "TALKER", 6, true);
	assert_int_equal(conn_wait_input(c, 0), CONN_TIMEOUT);

	/* EOF counts as input: the read that follows says CLOSED. */
	close(peer);
	assert_int_equal(conn_wait_input(c, SAFE_TIMEOUT_MS), CONN_OK);
	expect_status(c, 512, CONN_CLOSED);
	conn_free(&c);
}

/* ---- writing ---------------------------------------------------------- */

static void
test_write_big(void **state)
{
	char *big = malloc(BIG_SIZE), *got = malloc(BIG_SIZE + 64);
	struct reader r = { 0 };
	struct conn *c;
	int peer;

	assert_non_null(big);
	assert_non_null(got);
	pattern(big, BIG_SIZE, 11);
	plain_new(&c, &peer);
	r.fd = peer;
	r.buf = got;
	r.cap = BIG_SIZE + 64;
	assert_int_equal(pthread_create(&r.tid, NULL, reader_main, &r), 0);

	/* Nothing goes out before a flush while it fits. */
	assert_int_equal(conn_printf(c, "%s %d %s\r\n", "250", 42, "ok"),
	    CONN_OK);
	assert_false(r.got > 0);
	emit_big(c, big, BIG_SIZE - 11);
	assert_int_equal(conn_write(c, NULL, 0), CONN_OK);
	assert_int_equal(conn_flush(c), CONN_OK);	/* nothing queued */
	conn_free(&c);	/* closes: the reader sees EOF */
	assert_int_equal(pthread_join(r.tid, NULL), 0);

	assert_false(r.overflow);
	assert_int_equal(r.got, BIG_SIZE);
	assert_memory_equal(got, "250 42 ok\r\n", 11);
	assert_memory_equal(got + 11, big, BIG_SIZE - 11);
	close(peer);
	free(big);
	free(got);
}

static void
test_write_errors(void **state)
{
	char *chunk = calloc(1, 65536);
	struct conn *c;
	long long t0;
	int peer, ret, i;

	assert_non_null(chunk);

	/* A peer that never reads: no progress, CONN_TIMEOUT, and the
	 * failure sticks (the stream is cut mid-reply). */
	plain_new(&c, &peer);
	conn_set_timeout(c, 100);
	t0 = ms_now();
	ret = CONN_OK;
	for (i = 0; i < 1000 && ret == CONN_OK; i++)
		ret = conn_write(c, chunk, 65536);
	assert_int_equal(ret, CONN_TIMEOUT);
	assert_true(ms_now() - t0 < 5000);
	assert_int_equal(conn_printf(c, "x"), CONN_TIMEOUT);
	assert_int_equal(conn_flush(c), CONN_TIMEOUT);
	conn_free(&c);
	close(peer);

	/* A peer that went away: CONN_CLOSED, no SIGPIPE. */
	plain_new(&c, &peer);
	close(peer);
	assert_int_equal(conn_printf(c, "220 hello\r\n"), CONN_OK);
	assert_int_equal(conn_flush(c), CONN_CLOSED);
	assert_int_equal(conn_write(c, "x", 1), CONN_CLOSED);
	conn_free(&c);
	free(chunk);
}

/* ---- peer addresses --------------------------------------------------- */

static struct conn *
conn_with_peer(const struct sockaddr *sa, socklen_t len)
{
	int sv[2];
	struct conn *c;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	close(sv[1]);
	c = conn_new(sv[0], sa, len, -1);
	assert_non_null(c);
	return c;
}

static void
check_v4(const char *ip, const char *want, bool loopback)
{
	struct sockaddr_in sin;
	struct conn *c;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(25);
	assert_int_equal(inet_pton(AF_INET, ip, &sin.sin_addr), 1);
	c = conn_with_peer((struct sockaddr *)&sin, sizeof(sin));
	assert_string_equal(conn_peer_ip(c), want);
	assert_int_equal(conn_peer_loopback(c), loopback);
	conn_free(&c);
}

static void
check_v6(const char *ip, const char *want, bool loopback)
{
	struct sockaddr_in6 sin6;
	struct conn *c;

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(25);
	assert_int_equal(inet_pton(AF_INET6, ip, &sin6.sin6_addr), 1);
	c = conn_with_peer((struct sockaddr *)&sin6, sizeof(sin6));
	assert_string_equal(conn_peer_ip(c), want);
	assert_int_equal(conn_peer_loopback(c), loopback);
	conn_free(&c);
}

static void
test_peer(void **state)
{
	struct sockaddr_un sun;
	struct sockaddr_in sin;
	struct conn *c;

	check_v4("127.0.0.1", "127.0.0.1", true);
	check_v4("127.255.3.4", "127.255.3.4", true);
	check_v4("192.0.2.1", "192.0.2.1", false);
	check_v4("128.0.0.1", "128.0.0.1", false);
	check_v4("0.0.0.0", "0.0.0.0", false);
	check_v6("::1", "::1", true);
	check_v6("::ffff:127.0.0.1", "127.0.0.1", true);
	check_v6("::ffff:127.9.9.9", "127.9.9.9", true);
	check_v6("::ffff:192.0.2.1", "192.0.2.1", false);
	check_v6("2001:db8::1", "2001:db8::1", false);
	check_v6("::2", "::2", false);
	check_v6("::", "::", false);
	/* IPv4-compatible (deprecated) ::127.0.0.1 is not loopback. */
	check_v6("::127.0.0.1", "::127.0.0.1", false);

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	c = conn_with_peer((struct sockaddr *)&sun, sizeof(sun));
	assert_string_equal(conn_peer_ip(c), "unknown");
	assert_false(conn_peer_loopback(c));
	conn_free(&c);

	c = conn_with_peer(NULL, 0);
	assert_string_equal(conn_peer_ip(c), "unknown");
	assert_false(conn_peer_loopback(c));
	assert_false(conn_is_tls(c));
	assert_null(conn_tls_version(c));
	assert_null(conn_tls_cipher(c));
	conn_free(&c);

	/* A truncated address is not read past its length. */
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c = conn_with_peer((struct sockaddr *)&sin, 4);
	assert_string_equal(conn_peer_ip(c), "unknown");
	assert_false(conn_peer_loopback(c));
	conn_free(&c);
}

/* ---- TLS -------------------------------------------------------------- */

struct tls_env {
	char *dir;
	char *cert;
	char *key;
	SSL_CTX *server;
};

static int
tls_setup(void **state)
{
	struct tls_env *env = calloc(1, sizeof(*env));
	char *error = NULL;

	if (env == NULL)
		return -1;
	env->dir = tu_tempdir();
	if (tls_selfsigned_ensure(env->dir, "mail.test", &env->cert,
	    &env->key, &error) != 0) {
		fprintf(stderr, "tls_selfsigned_ensure: %s\n", error);
		return -1;
	}
	env->server = tls_server_ctx_new(env->cert, env->key, &error);
	if (env->server == NULL) {
		fprintf(stderr, "tls_server_ctx_new: %s\n", error);
		return -1;
	}
	*state = env;
	return 0;
}

static int
tls_teardown(void **state)
{
	struct tls_env *env = *state;

	SSL_CTX_free(env->server);
	tu_rmtree(env->dir);
	free(env->dir);
	free(env->cert);
	free(env->key);
	free(env);
	return 0;
}

/* tcp_pair: a connected TCP pair on 127.0.0.1 (ephemeral port); the
 * server end comes with the peer address accept() gave. */
static void
tcp_pair(int *server_r, int *client_r, struct sockaddr_storage *peer,
    socklen_t *peer_len)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int lfd;

	lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(lfd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(lfd, 1), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sin, &len), 0);
	*client_r = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(*client_r >= 0);
	assert_int_equal(connect(*client_r, (struct sockaddr *)&sin,
	    sizeof(sin)), 0);
	*peer_len = sizeof(*peer);
	*server_r = accept(lfd, (struct sockaddr *)peer, peer_len);
	assert_true(*server_r >= 0);
	close(lfd);
}

static struct conn *
tls_conn2(int *client_r, int stop_fd, int *server_r)
{
	struct sockaddr_storage peer;
	socklen_t peer_len;
	struct conn *c;
	int sfd;

	tcp_pair(&sfd, client_r, &peer, &peer_len);
	c = conn_new(sfd, (struct sockaddr *)&peer, peer_len, stop_fd);
	conn_set_timeout(c, SAFE_TIMEOUT_MS);
	assert_string_equal(conn_peer_ip(c), "127.0.0.1");
	assert_true(conn_peer_loopback(c));
	if (server_r != NULL)
		*server_r = sfd;	/* still owned by the conn */
	return c;
}

static struct conn *
tls_conn(int *client_r, int stop_fd)
{
	return tls_conn2(client_r, stop_fd, NULL);
}

/*
 * The client side of a TLS test, run in a thread: optional plaintext
 * before the handshake, the handshake, then a scripted exchange.
 */
struct client {
	pthread_t tid;
	int fd;
	SSL_CTX *ctx;
	const char *verify_host;	/* check the certificate for it */
	const char *plain;		/* sent in one write before TLS */
	bool wait_go;			/* read a plaintext line first */
	const char *send;		/* sent after the handshake */
	const char *send_big;		/* then big_len bytes of it */
	size_t big_len;
	bool read_reply;		/* read one line over TLS */
	const char *read_big;		/* read big_len bytes, compare */
	bool close_notify;		/* SSL_shutdown at the end */
	/* Results. */
	char go[64];
	bool connected;
	long verify_result;
	char reply[128];
	bool big_ok;
	bool sent_ok;
};

/* client_plain_line: reads up to LF, one byte at a time (so no TLS bytes
 * are taken from the socket by a plaintext read). */
static bool
client_plain_line(int fd, char *buf, size_t size)
{
	size_t n = 0;
	char ch;

	while (n + 1 < size) {
		if (recv(fd, &ch, 1, 0) != 1)
			return false;
		buf[n++] = ch;
		if (ch == '\n')
			break;
	}
	buf[n] = '\0';
	return true;
}

static bool
ssl_write_all(SSL *ssl, const char *p, size_t len)
{
	size_t n;

	while (len > 0) {
		if (SSL_write_ex(ssl, p, len > 50000 ? 50000 : len, &n) != 1)
			return false;
		p += n;
		len -= n;
	}
	return true;
}

static void *
client_main(void *arg)
{
	struct client *cl = arg;
	SSL *ssl = NULL;
	size_t n, got;
	char *buf = NULL;

	if (cl->plain != NULL &&
	    !send_all(cl->fd, cl->plain, strlen(cl->plain)))
		goto out;
	if (cl->wait_go && !client_plain_line(cl->fd, cl->go,
	    sizeof(cl->go)))
		goto out;
	if ((ssl = SSL_new(cl->ctx)) == NULL ||
	    SSL_set_fd(ssl, cl->fd) != 1)
		goto out;
	if (cl->verify_host != NULL) {
		SSL_set_verify(ssl, SSL_VERIFY_PEER, NULL);
		SSL_set1_host(ssl, cl->verify_host);
	}
	cl->connected = SSL_connect(ssl) == 1;
	cl->verify_result = SSL_get_verify_result(ssl);
	if (!cl->connected)
		goto out;
	cl->sent_ok = true;
	if (cl->send != NULL)
		cl->sent_ok = ssl_write_all(ssl, cl->send, strlen(cl->send));
	if (cl->send_big != NULL && cl->sent_ok)
		cl->sent_ok = ssl_write_all(ssl, cl->send_big, cl->big_len);
	if (cl->read_reply) {
		n = 0;
		while (n + 1 < sizeof(cl->reply) &&
		    SSL_read_ex(ssl, cl->reply + n, 1, &got) == 1) {
			if (cl->reply[n++] == '\n')
				break;
		}
		cl->reply[n] = '\0';
	}
	if (cl->read_big != NULL && (buf = malloc(cl->big_len)) != NULL) {
		n = 0;
		while (n < cl->big_len && SSL_read_ex(ssl, buf + n,
		    cl->big_len - n, &got) == 1)
			n += got;
		cl->big_ok = n == cl->big_len &&
		    memcmp(buf, cl->read_big, n) == 0;
		free(buf);
	}
	if (cl->close_notify)
		SSL_shutdown(ssl);
out:
	SSL_free(ssl);
	ERR_clear_error();
	/* Let the server see the end whatever happened here. */
	shutdown(cl->fd, SHUT_WR);
	return NULL;
}

static void
client_start(struct client *cl)
{
	assert_int_equal(pthread_create(&cl->tid, NULL, client_main, cl), 0);
}

static void
client_join(struct client *cl)
{
	assert_int_equal(pthread_join(cl->tid, NULL), 0);
	close(cl->fd);
}

static SSL_CTX *
client_ctx(int min_version, int max_version)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	assert_non_null(ctx);
	if (min_version != 0) {
		/* Let OpenSSL offer old versions at all (its default
		 * security level refuses below TLS 1.2). */
		SSL_CTX_set_security_level(ctx, 0);
		assert_int_equal(SSL_CTX_set_min_proto_version(ctx,
		    min_version), 1);
	}
	if (max_version != 0)
		assert_int_equal(SSL_CTX_set_max_proto_version(ctx,
		    max_version), 1);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	return ctx;
}

static void
test_tls_implicit(void **state)
{
	struct tls_env *env = *state;
	struct client cl = { 0 };
	struct conn *c;
	const char *v;

	c = tls_conn(&cl.fd, -1);
	cl.ctx = client_ctx(0, 0);
	cl.send = "a001 CAPABILITY\r\nb\n";
	cl.read_reply = true;
	cl.close_notify = true;
	client_start(&cl);

	assert_false(conn_is_tls(c));
	assert_int_equal(conn_start_tls(c, env->server), CONN_OK);
	assert_true(conn_is_tls(c));
	v = conn_tls_version(c);
	assert_non_null(v);
	assert_true(strcmp(v, "TLSv1.3") == 0 || strcmp(v, "TLSv1.2") == 0);
	assert_non_null(conn_tls_cipher(c));
	expect_line(c, 512, "a001 CAPABILITY", 15, true);
	assert_true(conn_pending(c));
	assert_int_equal(conn_wait_input(c, 0), CONN_OK);
	expect_line(c, 512, "b", 1, false);
	assert_int_equal(conn_printf(c, "* OK %s\r\n", v), CONN_OK);
	assert_int_equal(conn_flush(c), CONN_OK);
	/* close_notify then EOF: CLOSED. */
	expect_status(c, 512, CONN_CLOSED);
	client_join(&cl);
	assert_true(cl.connected);
	assert_true(cl.sent_ok);
	assert_memory_equal(cl.reply, "* OK TLSv1.", 10);
	conn_free(&c);
	SSL_CTX_free(cl.ctx);
}

/* TLS 1.2 gets one of our ECDHE + AEAD suites (ECDSA: the key is EC). */
static void
test_tls12(void **state)
{
	struct tls_env *env = *state;
	struct client cl = { 0 };
	struct conn *c;

	c = tls_conn(&cl.fd, -1);
	cl.ctx = client_ctx(0, TLS1_2_VERSION);
	cl.send = "hello\r\n";
	client_start(&cl);
	assert_int_equal(conn_start_tls(c, env->server), CONN_OK);
	assert_string_equal(conn_tls_version(c), "TLSv1.2");
	assert_non_null(strstr(conn_tls_cipher(c), "ECDHE-ECDSA-"));
	assert_true(strstr(conn_tls_cipher(c), "GCM") != NULL ||
	    strstr(conn_tls_cipher(c), "CHACHA20") != NULL);
	expect_line(c, 512, "hello", 5, true);
	/* EOF without close_notify is CLOSED too. */
	expect_status(c, 512, CONN_CLOSED);
	client_join(&cl);
	assert_true(cl.connected);
	conn_free(&c);
	SSL_CTX_free(cl.ctx);
}

/* A client that verifies: the certificate is for mail.test (SAN). */
static void
test_tls_verify(void **state)
{
	struct tls_env *env = *state;
	const char *hosts[] = { "mail.test", "other.test" };
	int i;

	for (i = 0; i < 2; i++) {
		struct client cl = { 0 };
		struct conn *c = tls_conn(&cl.fd, -1);
		int ret;

		cl.ctx = client_ctx(0, 0);
		assert_int_equal(SSL_CTX_load_verify_locations(cl.ctx,
		    env->cert, NULL), 1);
		X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(cl.ctx),
		    X509_V_FLAG_PARTIAL_CHAIN);
		cl.verify_host = hosts[i];
		client_start(&cl);
		ret = conn_start_tls(c, env->server);
		client_join(&cl);
		if (i == 0) {
			assert_int_equal(ret, CONN_OK);
			assert_true(cl.connected);
			assert_int_equal(cl.verify_result, X509_V_OK);
		} else {
			assert_int_not_equal(ret, CONN_OK);
			assert_false(cl.connected);
			assert_int_equal(cl.verify_result,
			    X509_V_ERR_HOSTNAME_MISMATCH);
		}
		conn_free(&c);
		SSL_CTX_free(cl.ctx);
	}
}

/*
 * CVE-2011-0411: the client pipelines a command after STARTTLS in the
 * same packet. It must be thrown away with the plaintext buffer; the
 * first line under TLS is what the client sent under TLS.
 */
static void
test_tls_starttls_injection(void **state)
{
	struct tls_env *env = *state;
	struct client cl = { 0 };
	struct conn *c;

	c = tls_conn(&cl.fd, -1);
	cl.ctx = client_ctx(0, 0);
	cl.plain = "STARTTLS\r\nINJECTED\r\n";
	cl.wait_go = true;
	cl.send = "AFTER\r\n";
	cl.read_reply = true;
	client_start(&cl);

	expect_line(c, 512, "STARTTLS", 8, true);
	/* The injected line is in our buffer (one write, one segment):
	 * the test really tests something. */
	assert_true(conn_pending(c));
	/* Queued, not flushed: conn_start_tls() must send it in plaintext
	 * before the handshake. */
	assert_int_equal(conn_printf(c, "220 2.0.0 go ahead\r\n"), CONN_OK);
	assert_int_equal(conn_start_tls(c, env->server), CONN_OK);
	assert_true(conn_is_tls(c));
	expect_line(c, 512, "AFTER", 5, true);
	assert_int_equal(conn_printf(c, "250 got it\r\n"), CONN_OK);
	assert_int_equal(conn_flush(c), CONN_OK);
	client_join(&cl);
	assert_string_equal(cl.go, "220 2.0.0 go ahead\r\n");
	assert_true(cl.connected);
	assert_string_equal(cl.reply, "250 got it\r\n");
	expect_status(c, 512, CONN_CLOSED);
	conn_free(&c);
	SSL_CTX_free(cl.ctx);
}

/* The same with a partial command fed one byte at a time behind
 * STARTTLS, each byte pulled into the buffer by its own read: were it
 * kept, the first line under TLS would be "MAIL FROM:<evil>\rREAL". */
static void
test_tls_starttls_injection_split(void **state)
{
	struct tls_env *env = *state;
	struct client cl = { 0 };
	const char *inject = "MAIL FROM:<evil>\r";
	struct pollfd pfd;
	struct conn *c;
	size_t i;
	int sfd;

	c = tls_conn2(&cl.fd, -1, &sfd);
	conn_set_timeout(c, 0);
	assert_true(send_all(cl.fd, "STARTTLS\r\n", 10));
	pfd.fd = sfd;
	pfd.events = POLLIN;
	assert_int_equal(poll(&pfd, 1, SAFE_TIMEOUT_MS), 1);
	expect_line(c, 512, "STARTTLS", 8, true);
	for (i = 0; i < strlen(inject); i++) {
		assert_true(send_all(cl.fd, inject + i, 1));
		/* The byte is in the kernel; the read takes it. */
		assert_int_equal(poll(&pfd, 1, SAFE_TIMEOUT_MS), 1);
		expect_status(c, 512, CONN_TIMEOUT);
	}
	assert_true(conn_pending(c));
	conn_set_timeout(c, SAFE_TIMEOUT_MS);
	cl.ctx = client_ctx(0, 0);
	cl.send = "REAL\r\n";
	client_start(&cl);
	assert_int_equal(conn_start_tls(c, env->server), CONN_OK);
	expect_line(c, 512, "REAL", 4, true);
	client_join(&cl);
	assert_true(cl.connected);
	conn_free(&c);
	SSL_CTX_free(cl.ctx);
}

static void
test_tls11_refused(void **state)
{
	struct tls_env *env = *state;
	struct client cl = { 0 };
	struct conn *c;
	char buf[4];

	c = tls_conn(&cl.fd, -1);
	cl.ctx = client_ctx(TLS1_VERSION, TLS1_1_VERSION);
	client_start(&cl);
	assert_int_equal(conn_start_tls(c, env->server), CONN_ERROR);
	client_join(&cl);
	assert_false(cl.connected);
	assert_false(conn_is_tls(c));
	assert_null(conn_tls_version(c));
	/* After a failed handshake nothing is read or written in
	 * plaintext. */
	expect_status(c, 512, CONN_ERROR);
	assert_int_equal(conn_read_exact(c, buf, 1), CONN_ERROR);
	assert_int_equal(conn_wait_input(c, 0), CONN_ERROR);
	assert_int_equal(conn_printf(c, "x\r\n"), CONN_ERROR);
	conn_free(&c);
	SSL_CTX_free(cl.ctx);
}

/* Handshake failures: garbage instead of a ClientHello, a silent
 * client, a client that hangs up, a stop request. */
static void
test_tls_handshake_fail(void **state)
{
	struct tls_env *env = *state;
	struct conn *c;
	long long t0;
	int cfd, stop[2];

	c = tls_conn(&cfd, -1);
	assert_true(send_all(cfd, "EHLO plaintext\r\n", 16));
	assert_int_equal(conn_start_tls(c, env->server), CONN_ERROR);
	expect_status(c, 512, CONN_ERROR);
	conn_free(&c);
	close(cfd);

	c = tls_conn(&cfd, -1);
	conn_set_timeout(c, 100);
	t0 = ms_now();
	assert_int_equal(conn_start_tls(c, env->server), CONN_TIMEOUT);
	assert_true(ms_now() - t0 >= 90);
	expect_status(c, 512, CONN_ERROR);
	conn_free(&c);
	close(cfd);

	c = tls_conn(&cfd, -1);
	close(cfd);
	assert_int_equal(conn_start_tls(c, env->server), CONN_CLOSED);
	conn_free(&c);

	assert_int_equal(pipe(stop), 0);
	c = tls_conn(&cfd, stop[0]);
	assert_int_equal(write(stop[1], "x", 1), 1);
	assert_int_equal(conn_start_tls(c, env->server), CONN_STOPPED);
	conn_free(&c);
	close(cfd);
	close(stop[0]);
	close(stop[1]);
}

/* 1 MiB each way under TLS: the writer paths (partial writes, retries
 * on WANT_WRITE) and exact reads across OpenSSL's buffer. */
static void
test_tls_big(void **state)
{
	struct tls_env *env = *state;
	struct client cl = { 0 };
	char *up = malloc(BIG_SIZE), *down = malloc(BIG_SIZE);
	char *got = malloc(BIG_SIZE);
	struct conn *c;

	assert_non_null(up);
	assert_non_null(down);
	assert_non_null(got);
	pattern(up, BIG_SIZE, 21);
	pattern(down, BIG_SIZE, 22);

	c = tls_conn(&cl.fd, -1);
	cl.ctx = client_ctx(0, 0);
	cl.send = "APPEND {1048576}\r\n";
	cl.send_big = up;
	cl.big_len = BIG_SIZE;
	cl.read_big = down;
	cl.close_notify = true;
	client_start(&cl);
	assert_int_equal(conn_start_tls(c, env->server), CONN_OK);
	expect_line(c, 512, "APPEND {1048576}", 16, true);
	assert_int_equal(conn_read_exact(c, got, BIG_SIZE), CONN_OK);
	assert_memory_equal(got, up, BIG_SIZE);
	emit_big(c, down, BIG_SIZE);
	expect_status(c, 512, CONN_CLOSED);
	client_join(&cl);
	assert_true(cl.connected);
	assert_true(cl.sent_ok);
	assert_true(cl.big_ok);
	conn_free(&c);
	SSL_CTX_free(cl.ctx);
	free(up);
	free(down);
	free(got);
}

/* Timeout and stop while waiting for TLS input. */
static void
test_tls_wait(void **state)
{
	struct tls_env *env = *state;
	struct client cl = { 0 };
	struct stopper st = { 0 };
	struct conn *c;
	int stop[2];

	assert_int_equal(pipe(stop), 0);
	c = tls_conn(&cl.fd, stop[0]);
	cl.ctx = client_ctx(0, 0);
	cl.send = "two\r\n";
	cl.read_reply = true;	/* holds the connection open */
	client_start(&cl);
	assert_int_equal(conn_start_tls(c, env->server), CONN_OK);
	expect_line(c, 512, "two", 3, true);
	conn_set_timeout(c, 100);
	expect_status(c, 512, CONN_TIMEOUT);
	assert_int_equal(conn_wait_input(c, 100), CONN_TIMEOUT);
	st.fd = stop[1];
	st.delay_ms = 50;
	assert_int_equal(pthread_create(&st.tid, NULL, stopper_main, &st), 0);
	conn_set_timeout(c, SAFE_TIMEOUT_MS);
	expect_status(c, 512, CONN_STOPPED);
	assert_int_equal(pthread_join(st.tid, NULL), 0);
	assert_int_equal(conn_printf(c, "* BYE\r\n"), CONN_OK);
	assert_int_equal(conn_flush(c), CONN_OK);
	client_join(&cl);
	assert_string_equal(cl.reply, "* BYE\r\n");
	conn_free(&c);
	SSL_CTX_free(cl.ctx);
	close(stop[0]);
	close(stop[1]);
}

/* ---- tls.c: contexts and self-signed certificates --------------------- */

static char *
slurp(const char *path, size_t *len_r)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;

	assert_non_null(f);
	buf = malloc(65536);
	assert_non_null(buf);
	n = fread(buf, 1, 65536, f);
	fclose(f);
	*len_r = n;
	return buf;
}

static void
expect_pair_usable(const char *cert, const char *key)
{
	char *error = NULL;
	SSL_CTX *ctx = tls_server_ctx_new(cert, key, &error);

	if (ctx == NULL)
		fail_msg("tls_server_ctx_new: %s", error);
	assert_null(error);
	SSL_CTX_free(ctx);
}

static int
count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void
check_cert_fields(const char *path, const char *host)
{
	FILE *f = fopen(path, "r");
	X509 *x;
	X509_NAME *name;
	GENERAL_NAMES *san;
	const GENERAL_NAME *gen;
	BASIC_CONSTRAINTS *bc;
	EVP_PKEY *pub;
	char cn[256];
	const ASN1_INTEGER *serial;
	int days, secs;

	assert_non_null(f);
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(x);
	assert_int_equal(X509_get_version(x), X509_VERSION_3);
	name = X509_get_subject_name(x);
	assert_true(X509_NAME_get_text_by_NID(name, NID_commonName, cn,
	    sizeof(cn)) > 0);
	assert_string_equal(cn, host);
	assert_int_equal(X509_NAME_cmp(name, X509_get_issuer_name(x)), 0);

	san = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	assert_non_null(san);
	assert_int_equal(sk_GENERAL_NAME_num(san), 1);
	gen = sk_GENERAL_NAME_value(san, 0);
	assert_int_equal(gen->type, GEN_DNS);
	assert_int_equal(ASN1_STRING_length(gen->d.dNSName), strlen(host));
	assert_memory_equal(ASN1_STRING_get0_data(gen->d.dNSName), host,
	    strlen(host));
	GENERAL_NAMES_free(san);

	bc = X509_get_ext_d2i(x, NID_basic_constraints, NULL, NULL);
	assert_non_null(bc);
	assert_false(bc->ca);
	BASIC_CONSTRAINTS_free(bc);
	assert_true(X509_get_key_usage(x) & KU_DIGITAL_SIGNATURE);
	assert_false(X509_get_key_usage(x) & KU_KEY_CERT_SIGN);
	assert_true(X509_get_extended_key_usage(x) & XKU_SSL_SERVER);
	assert_int_equal(X509_get_signature_nid(x),
	    NID_ecdsa_with_SHA256);

	pub = X509_get0_pubkey(x);
	assert_non_null(pub);
	assert_true(EVP_PKEY_is_a(pub, "EC"));
	assert_int_equal(EVP_PKEY_get_bits(pub), 256);
	assert_int_equal(X509_verify(x, pub), 1);

	/* Valid now (from an hour back), for about ten years. */
	assert_true(X509_cmp_current_time(X509_get0_notBefore(x)) < 0);
	assert_true(X509_cmp_current_time(X509_get0_notAfter(x)) > 0);
	assert_int_equal(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x),
	    X509_get0_notAfter(x)), 1);
	assert_true(days >= 3652 && days <= 3654);
	/* A serial with at least 64 bits. */
	serial = X509_get0_serialNumber(x);
	assert_true(ASN1_STRING_length(serial) >= 8);
	X509_free(x);
}

static void
test_selfsigned(void **state)
{
	char *dir = tu_tempdir(), *cert, *key, *cert2, *key2, *error = NULL;
	char *c1, *k1, *c2, *k2;
	size_t c1n, k1n, c2n, k2n;
	struct stat st;

	assert_int_equal(tls_selfsigned_ensure(dir, "mx.example.org", &cert,
	    &key, &error), 0);
	assert_null(error);
	assert_non_null(strstr(cert, "/tls-cert.pem"));
	assert_non_null(strstr(key, "/tls-key.pem"));
	assert_int_equal(stat(key, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(stat(cert, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	/* The pair, the lock file, no temporary files. */
	assert_int_equal(count_entries(dir), 3);
	check_cert_fields(cert, "mx.example.org");
	expect_pair_usable(cert, key);
	c1 = slurp(cert, &c1n);
	k1 = slurp(key, &k1n);
	assert_non_null(memmem(k1, k1n, "BEGIN PRIVATE KEY", 17));

	/* Again: the same files, untouched (another hostname or not). */
	assert_int_equal(tls_selfsigned_ensure(dir, "other.example", &cert2,
	    &key2, &error), 0);
	assert_string_equal(cert, cert2);
	assert_string_equal(key, key2);
	c2 = slurp(cert2, &c2n);
	k2 = slurp(key2, &k2n);
	assert_int_equal(c1n, c2n);
	assert_memory_equal(c1, c2, c1n);
	assert_int_equal(k1n, k2n);
	assert_memory_equal(k1, k2, k1n);
	free(c2);
	free(k2);
	free(cert2);
	free(key2);

	/* Only the key left (say, a crash between the renames): a new,
	 * matching pair. */
	assert_int_equal(unlink(cert), 0);
	assert_int_equal(tls_selfsigned_ensure(dir, "mx.example.org", &cert2,
	    &key2, &error), 0);
	expect_pair_usable(cert2, key2);
	k2 = slurp(key2, &k2n);
	assert_false(k1n == k2n && memcmp(k1, k2, k1n) == 0);
	free(k2);
	free(cert2);
	free(key2);

	/* Only the certificate left: likewise. */
	assert_int_equal(unlink(key), 0);
	assert_int_equal(tls_selfsigned_ensure(dir, "mx.example.org", &cert2,
	    &key2, &error), 0);
	expect_pair_usable(cert2, key2);
	assert_int_equal(count_entries(dir), 3);
	free(cert2);
	free(key2);

	free(c1);
	free(k1);
	free(cert);
	free(key);
	tu_rmtree(dir);
	free(dir);
}

static void
test_selfsigned_long_name(void **state)
{
	char *dir = tu_tempdir(), *cert, *key, *error = NULL;
	char host[200];

	/* Longer than a CN may be: the name still goes in the SAN. */
	memset(host, 'a', sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	host[60] = '.';
	host[120] = '.';
	assert_int_equal(tls_selfsigned_ensure(dir, host, &cert, &key,
	    &error), 0);
	expect_pair_usable(cert, key);
	free(cert);
	free(key);
	tu_rmtree(dir);
	free(dir);
}

static void
test_selfsigned_errors(void **state)
{
	char *dir = tu_tempdir(), *cert = NULL, *key = NULL, *error = NULL;
	char *missing;

	/* A hostname that is not a DNS name never reaches a
	 * certificate. */
	assert_int_equal(tls_selfsigned_ensure(dir, "bad host,DNS:evil",
	    &cert, &key, &error), -1);
	assert_non_null(error);
	assert_null(cert);
	assert_null(key);
	free(error);
	error = NULL;
	assert_int_equal(tls_selfsigned_ensure(dir, "", &cert, &key, &error),
	    -1);
	free(error);
	error = NULL;

	/* A data directory that is not there. */
	missing = tu_path(dir, "nope");
	assert_int_equal(tls_selfsigned_ensure(missing, "mail.test", &cert,
	    &key, &error), -1);
	assert_non_null(error);
	assert_non_null(strstr(error, missing));
	free(error);
	free(missing);
	tu_rmtree(dir);
	free(dir);
}

/* Processes racing to make the pair end with one matching pair. */
static void
test_selfsigned_race(void **state)
{
	char *dir = tu_tempdir(), *cert, *key, *error = NULL;
	pid_t pids[6];
	int i, status, round;

	for (round = 0; round < 3; round++) {
		char *sub, name[16];

		snprintf(name, sizeof(name), "r%d", round);
		sub = tu_path(dir, name);
		assert_int_equal(mkdir(sub, 0700), 0);
		for (i = 0; i < 6; i++) {
			pids[i] = fork();
			assert_true(pids[i] >= 0);
			if (pids[i] == 0) {
				char *c = NULL, *k = NULL, *e = NULL;
				int ret = tls_selfsigned_ensure(sub,
				    "mail.test", &c, &k, &e);

				free(c);
				free(k);
				free(e);
				free(sub);
				free(dir);
				_exit(ret == 0 ? 0 : 1);
			}
		}
		for (i = 0; i < 6; i++) {
			assert_int_equal(waitpid(pids[i], &status, 0),
			    pids[i]);
			assert_true(WIFEXITED(status));
			assert_int_equal(WEXITSTATUS(status), 0);
		}
		assert_int_equal(tls_selfsigned_ensure(sub, "mail.test",
		    &cert, &key, &error), 0);
		expect_pair_usable(cert, key);
		assert_int_equal(count_entries(sub), 3);
		free(cert);
		free(key);
		free(sub);
	}
	tu_rmtree(dir);
	free(dir);
}

static void
test_ctx_errors(void **state)
{
	char *dir = tu_tempdir(), *dir2, *cert, *key, *cert2, *key2;
	char *missing, *error = NULL;
	SSL_CTX *ctx;

	assert_int_equal(tls_selfsigned_ensure(dir, "a.test", &cert, &key,
	    &error), 0);
	dir2 = tu_path(dir, "second");
	assert_int_equal(mkdir(dir2, 0700), 0);
	assert_int_equal(tls_selfsigned_ensure(dir2, "b.test", &cert2,
	    &key2, &error), 0);
	missing = tu_path(dir, "no-such-file.pem");

	ctx = tls_server_ctx_new(missing, key, &error);
	assert_null(ctx);
	assert_non_null(error);
	assert_non_null(strstr(error, missing));
	free(error);

	ctx = tls_server_ctx_new(cert, missing, &error);
	assert_null(ctx);
	assert_non_null(strstr(error, missing));
	free(error);

	/* The key is not a certificate. */
	ctx = tls_server_ctx_new(key, key, &error);
	assert_null(ctx);
	assert_non_null(strstr(error, key));
	free(error);

	/* Certificate and key of two different pairs. */
	ctx = tls_server_ctx_new(cert, key2, &error);
	assert_null(ctx);
	assert_non_null(strstr(error, "match"));
	free(error);

	/* The queue is left empty for the next caller. */
	assert_int_equal(ERR_peek_error(), 0);

	ctx = tls_server_ctx_new(cert2, key2, &error);
	assert_non_null(ctx);
	assert_null(error);
	/* TLS 1.2 at least. */
	assert_int_equal(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION);
	assert_true(SSL_CTX_get_options(ctx) & SSL_OP_NO_COMPRESSION);
	assert_true(SSL_CTX_get_options(ctx) & SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_free(ctx);

	free(missing);
	free(cert);
	free(key);
	free(cert2);
	free(key2);
	free(dir2);
	tu_rmtree(dir);
	free(dir);
}

int
main(void)
{
	/* One group (one TAP plan for make check); the TLS tests' group
	 * setup makes a certificate the others simply do not use. */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line_crlf),
		cmocka_unit_test(test_line_bare_lf),
		cmocka_unit_test(test_line_cr_inside),
		cmocka_unit_test(test_line_nul),
		cmocka_unit_test(test_line_pipelined),
		cmocka_unit_test(test_line_max),
		cmocka_unit_test(test_line_conn_max),
		cmocka_unit_test(test_line_bytewise),
		cmocka_unit_test(test_line_bytewise_too_long),
		cmocka_unit_test(test_eof),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_stop),
		cmocka_unit_test(test_read_exact),
		cmocka_unit_test(test_wait_input),
		cmocka_unit_test(test_write_big),
		cmocka_unit_test(test_write_errors),
		cmocka_unit_test(test_peer),
		cmocka_unit_test(test_tls_implicit),
		cmocka_unit_test(test_tls12),
		cmocka_unit_test(test_tls_verify),
		cmocka_unit_test(test_tls_starttls_injection),
		cmocka_unit_test(test_tls_starttls_injection_split),
		cmocka_unit_test(test_tls11_refused),
		cmocka_unit_test(test_tls_handshake_fail),
		cmocka_unit_test(test_tls_big),
		cmocka_unit_test(test_tls_wait),
		cmocka_unit_test(test_selfsigned),
		cmocka_unit_test(test_selfsigned_long_name),
		cmocka_unit_test(test_selfsigned_errors),
		cmocka_unit_test(test_selfsigned_race),
		cmocka_unit_test(test_ctx_errors),
	};

	/* As letterboxd does: a write to a closed peer is an error, not a
	 * death (OpenSSL writes with write(2)). */
	signal(SIGPIPE, SIG_IGN);
	/* conn.c logs its I/O failures at debug level. */
	log_init("test_conn", false, getenv("TEST_CONN_DEBUG") != NULL ?
	    LOG_LEVEL_DEBUG : LOG_LEVEL_WARN);
	/* A wait that never ends is a failure, not a hung CI job (generous:
	 * the suite takes about a second, a minute under valgrind). */
	alarm(600);
	return cmocka_run_group_tests_name("conn", tests, tls_setup,
	    tls_teardown);
}
