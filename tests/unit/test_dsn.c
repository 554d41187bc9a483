/*
 * test_dsn.c - delivery status notifications (smtpd/dsn.c).
 *
 * Every DSN built here goes through wire_check() (7-bit, CRLF only,
 * lines within 998 octets, a well-formed top-level header) and, when
 * /usr/bin/python3 exists, through Python's email package, which checks
 * the MIME structure independently of our own reading of it: the type and
 * report-type, three parts, the delivery-status blocks and recipients,
 * the Date and Message-ID, and that no part has a defect.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "smtpd/dsn.h"

#define PYTHON "/usr/bin/python3"
#define OUT_MAX (1024 * 1024)

/* 2023-11-14 22:13:20 UTC, a Tuesday. */
#define NOW ((time_t)1700000000)
#define NOW_DATE "Tue, 14 Nov 2023 22:13:20 +0000"

/* ---- checks on the bytes ---- */

/*
 * wire_check: what any mail system may ask of the message: only ASCII
 * bytes and no NUL, every CR followed by LF and every LF preceded by CR,
 * each line at most 998 octets (RFC 5322 2.1.1), a final CRLF, and a
 * header whose lines are each a field "Name: ..." or a continuation.
 * Returns the number of lines over 78 octets.
 */
static size_t
wire_check(const struct buf *b)
{
	size_t i, col = 0, longer = 0, hdr_end;
	const char *end;

	assert_non_null(b->data);
	/* TEST_DSN_DUMP=1: see what a test built. */
	if (getenv("TEST_DSN_DUMP") != NULL)
		fwrite(b->data, 1, b->len, stderr);
	assert_true(b->len >= 2);
	assert_memory_equal(b->data + b->len - 2, "\r\n", 2);
	for (i = 0; i < b->len; i++) {
		unsigned char c = (unsigned char)b->data[i];

		assert_true(c > 0 && c < 0x80);
		if (c == '\r') {
			assert_true(i + 1 < b->len && b->data[i + 1] == '\n');
			assert_true(col <= 998);
			if (col > 78)
				longer++;
			col = 0;
			i++;
			continue;
		}
		assert_true(c != '\n');
		col++;
	}
	end = memmem(b->data, b->len, "\r\n\r\n", 4);
	assert_non_null(end);
	hdr_end = (size_t)(end - b->data) + 2;
	for (i = 0; i < hdr_end;) {
		const char *nl = memchr(b->data + i, '\n', hdr_end - i);
		size_t n = strspn(b->data + i,
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-");

		assert_non_null(nl);
		if (b->data[i] != ' ' && b->data[i] != '\t')
			assert_true(n > 0 && b->data[i + n] == ':');
		i = (size_t)(nl - b->data) + 1;
	}
	return longer;
}

/* has_line: some line of the message starts with prefix. */
static int
has_line(const struct buf *b, const char *prefix)
{
	size_t i = 0, plen = strlen(prefix);

	while (i < b->len) {
		const char *nl = memchr(b->data + i, '\n', b->len - i);

		if (b->len - i >= plen &&
		    strncmp(b->data + i, prefix, plen) == 0)
			return 1;
		if (nl == NULL)
			break;
		i = (size_t)(nl - b->data) + 1;
	}
	return 0;
}

/* occurrences: how often s is in the message. */
static size_t
occurrences(const struct buf *b, const char *s)
{
	size_t k = 0, n = b->len, slen = strlen(s);
	const char *p = b->data, *q;

	while ((q = memmem(p, n, s, slen)) != NULL) {
		k++;
		n -= (size_t)(q - p) + slen;
		p = q + slen;
	}
	return k;
}

/* contains: the message holds s. */
static int
contains(const struct buf *b, const char *s)
{
	return occurrences(b, s) > 0;
}

/*
 * part: a malloc'd, NUL-terminated copy of the content of the part whose
 * Content-Type is type, found between its part header and the next
 * delimiter. The last part's closing delimiter must end the message.
 */
static char *
part(const struct buf *b, const char *type, size_t *len_r)
{
	char boundary[80], start[80], delim[90], *r;
	const char *p, *s, *e;
	size_t n;

	p = memmem(b->data, b->len, "boundary=\"", 10);
	assert_non_null(p);
	p += 10;
	n = strcspn(p, "\"");
	assert_true(n > 0 && n < 70);
	memcpy(boundary, p, n);
	boundary[n] = '\0';
	snprintf(start, sizeof(start), "Content-Type: %s\r\n\r\n", type);
	snprintf(delim, sizeof(delim), "\r\n--%s", boundary);
	s = memmem(b->data, b->len, start, strlen(start));
	assert_non_null(s);
	s += strlen(start);
	e = memmem(s, b->len - (size_t)(s - b->data), delim, strlen(delim));
	assert_non_null(e);
	if (strcmp(type, "text/rfc822-headers") == 0)
		assert_true((size_t)(e - b->data) + strlen(delim) + 4 ==
		    b->len);
	n = (size_t)(e - s);
	r = malloc(n + 1);
	assert_non_null(r);
	memcpy(r, s, n);
	r[n] = '\0';
	*len_r = n;
	return r;
}

/* part3: the original header as the DSN carries it. */
static char *
part3(const struct buf *b, size_t *len_r)
{
	return part(b, "text/rfc822-headers", len_r);
}

/* ---- the independent check with Python's email package ---- */

static const char py_script[] =
    "import sys, email, email.policy\n"
    "path, action, mta, now = sys.argv[1:5]\n"
    "rcpts = sys.argv[5:]\n"
    "data = open(path, 'rb').read()\n"
    "assert data.endswith(b'\\r\\n'), 'no final CRLF'\n"
    "for i, l in enumerate(data.split(b'\\r\\n')[:-1]):\n"
    "    assert b'\\r' not in l and b'\\n' not in l, 'bare CR/LF %d' % i\n"
    "    assert len(l) < 999, 'line %d: %d octets' % (i, len(l))\n"
    "    assert all(c < 128 for c in l), 'line %d not ASCII' % i\n"
    "m = email.message_from_bytes(data, policy=email.policy.default)\n"
    "assert m.get_content_type() == 'multipart/report', m.get_content_type()\n"
    "assert m.get_param('report-type') == 'delivery-status'\n"
    "assert m['Auto-Submitted'] == 'auto-replied'\n"
    "assert m['MIME-Version'] == '1.0'\n"
    "assert m['To'].addresses, m['To']\n"
    "assert m['From'].addresses[0].username == 'MAILER-DAEMON'\n"
    "assert int(m['Date'].datetime.timestamp()) == int(now), m['Date']\n"
    "assert m['Message-ID'].endswith('@' + mta + '>'), m['Message-ID']\n"
    "for h in ('Bcc', 'Cc', 'X-Evil'):\n"
    "    assert h not in m, h\n"
    "parts = list(m.iter_parts())\n"
    "assert len(parts) == 3, len(parts)\n"
    "assert parts[0].get_content_type() == 'text/plain'\n"
    "assert parts[0].get_content_charset() == 'us-ascii'\n"
    "assert parts[1].get_content_type() == 'message/delivery-status'\n"
    "assert parts[2].get_content_type() == 'text/rfc822-headers'\n"
    "blocks = parts[1].get_payload()\n"
    "assert len(blocks) == 1 + len(rcpts), len(blocks)\n"
    "assert blocks[0]['Reporting-MTA'] == 'dns; ' + mta\n"
    "got = [str(b['Final-Recipient']) for b in blocks[1:]]\n"
    "assert got == ['rfc822; ' + r for r in rcpts], got\n"
    "for b in blocks[1:]:\n"
    "    assert b['Action'] == action, b['Action']\n"
    "    assert b['Status'][0] in '245', b['Status']\n"
    "    assert (b['Will-Retry-Until'] is not None) == (action == 'delayed')\n"
    "for p in m.walk():\n"
    "    assert not p.defects, (p.get_content_type(), p.defects)\n";

/*
 * python_check: writes the DSN to a temporary file and runs the script
 * above on it (no shell: argv is passed as is). The expected Reporting-
 * MTA host, action and recipients are its arguments; a failure prints
 * Python's assertion and fails the test. Skipped, with a note, without
 * /usr/bin/python3.
 */
static void
python_check(const struct buf *b, const char *action, const char *mta,
    const char *const *rcpts, size_t nrcpts)
{
	char path[] = "/tmp/test_dsn.XXXXXX", now[32];
	const char *argv[16];
	size_t i, n = 0;
	pid_t pid;
	int fd, status;

	if (access(PYTHON, X_OK) != 0) {
		fprintf(stderr, "# %s absent: Python structure check "
		    "skipped\n", PYTHON);
		return;
	}
	assert_true(nrcpts + 8 < sizeof(argv) / sizeof(argv[0]));
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, b->data, b->len), (ssize_t)b->len);
	close(fd);
	snprintf(now, sizeof(now), "%lld", (long long)NOW);
	argv[n++] = PYTHON;
	argv[n++] = "-c";
	argv[n++] = py_script;
	argv[n++] = path;
	argv[n++] = action;
	argv[n++] = mta;
	argv[n++] = now;
	for (i = 0; i < nrcpts; i++)
		argv[n++] = rcpts[i];
	argv[n] = NULL;
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		execv(PYTHON, (char *const *)argv);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	unlink(path);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- dsn_status_of ---- */

static void
assert_status(int code, const char *text, const char *want)
{
	char out[16];

	memset(out, 'x', sizeof(out));
	dsn_status_of(code, text, out);
	assert_string_equal(out, want);
}

static void
test_status_good(void **state)
{
	(void)state;
	assert_status(550, "550 5.1.1 No such user", "5.1.1");
	assert_status(550, "550-5.7.1 Policy, first of two lines", "5.7.1");
	assert_status(451, "451 4.7.1 Greylisted, try later", "4.7.1");
	assert_status(452, "452 4.2.2", "4.2.2");		/* end */
	assert_status(250, "250 2.0.0 Ok: queued", "2.0.0");
	assert_status(554, "554 5.123.456 three digits each", "5.123.456");
	assert_status(554, "554 5.0.0 x", "5.0.0");
	/* Without the reply code in front. */
	assert_status(550, "5.1.1 No such user", "5.1.1");
	assert_status(421, "4.3.2 Shutting down", "4.3.2");
}

static void
test_status_class_mismatch(void **state)
{
	(void)state;
	assert_status(550, "550 4.1.1 transient?", "5.0.0");
	assert_status(450, "450 5.1.1 permanent?", "4.0.0");
	assert_status(550, "550 2.0.0 ok?", "5.0.0");
	assert_status(250, "250 5.0.0 failed?", "2.0.0");
	/* Class 3 does not exist (RFC 3463 3.1), nor do 1 and 6. */
	assert_status(550, "550 3.1.1 x", "5.0.0");
	assert_status(354, "354 3.0.0 go ahead", "5.0.0");
	assert_status(550, "550 6.1.1 x", "5.0.0");
}

static void
test_status_malformed(void **state)
{
	(void)state;
	assert_status(550, NULL, "5.0.0");
	assert_status(550, "", "5.0.0");
	assert_status(550, "550", "5.0.0");
	assert_status(550, "550 ", "5.0.0");
	assert_status(550, "550 5", "5.0.0");
	assert_status(550, "550 5.", "5.0.0");
	assert_status(550, "550 5.1", "5.0.0");
	assert_status(550, "550 5.1.", "5.0.0");
	assert_status(550, "550 5..1 x", "5.0.0");
	assert_status(550, "550 5.1..1 x", "5.0.0");
	assert_status(550, "550 5.1.1234 x", "5.0.0");
	assert_status(550, "550 5.1234.1 x", "5.0.0");
	assert_status(550, "550 5.1.1x", "5.0.0");
	assert_status(550, "550 5.1.1.1 x", "5.0.0");
	assert_status(550, "550 5.1.1\tx", "5.0.0");
	assert_status(550, "550 5.1.1\r\n", "5.0.0");
	assert_status(550, "550 51.1.1 x", "5.0.0");
	assert_status(550, "550 5-1-1 x", "5.0.0");
	assert_status(550, "550  5.1.1 two spaces", "5.0.0");
	assert_status(550, "550 x5.1.1", "5.0.0");
	assert_status(550, "550 +5.1.1", "5.0.0");
	assert_status(550, "550 5.-1.1", "5.0.0");
	assert_status(550, "55 5.1.1", "5.0.0");
	assert_status(550, "550/5.1.1", "5.0.0");
}

static void
test_status_no_reply(void **state)
{
	(void)state;
	assert_status(0, NULL, "4.4.1");
	assert_status(0, "connect to 192.0.2.1:25: Connection refused",
	    "4.4.1");
	/* Code 0 wins over any code in the text. */
	assert_status(0, "550 5.1.1 No such user", "4.4.1");
}

static void
test_status_from_code(void **state)
{
	(void)state;
	assert_status(421, "421 Service not available", "4.0.0");
	assert_status(450, "450 Mailbox busy", "4.0.0");
	assert_status(550, "550 No such user", "5.0.0");
	assert_status(250, "250 Ok", "2.0.0");
	/* Not a reply that delivery can mean anything by. */
	assert_status(354, "354 End data with <CR><LF>.<CR><LF>", "5.0.0");
	assert_status(199, "199 5.1.1 x", "5.0.0");
	assert_status(600, "600 5.1.1 x", "5.0.0");
	assert_status(-1, "5.1.1", "5.0.0");
}

/* ---- dsn_build ---- */

static const char orig_hdr[] =
    "Received: from client.example (client.example [192.0.2.9])\r\n"
    "\tby mail.example.org with ESMTPSA id 4A1B2C3D\r\n"
    "From: Sender <sender@example.org>\r\n"
    "To: alice@example.net, bob@example.com\r\n"
    "Subject: Plans\r\n"
    "Message-ID: <plans-1@example.org>\r\n";

static const struct dsn_rcpt two_rcpts[] = {
	{ "alice@example.net", "5.1.1", "550 5.1.1 <alice@example.net>: "
	  "Recipient address rejected: User unknown", "mx.example.net",
	  NOW - 60 },
	{ "bob@example.com", "5.4.4", "Host or domain name not found",
	  NULL, 0 },
};

static struct dsn_input
input_failed(void)
{
	struct dsn_input in = {
		.reporting_mta = "mail.example.org",
		.sender = "sender@example.org",
		.queue_id = "0123456789abcdef",
		.arrival = NOW - 3600,
		.now = NOW,
		.retry_until = 0,
		.action = DSN_FAILED,
		.rcpts = two_rcpts,
		.nrcpts = 2,
		.orig_header = orig_hdr,
		.orig_header_len = sizeof(orig_hdr) - 1,
	};

	return in;
}

static void
test_build_failed(void **state)
{
	struct dsn_input in = input_failed();
	const char *rcpts[] = { "alice@example.net", "bob@example.com" };
	struct buf b;
	char *hdr;
	size_t n;

	(void)state;
	buf_init(&b, OUT_MAX);
	assert_int_equal(dsn_build(&in, &b), 0);
	assert_int_equal(wire_check(&b), 0);	/* all within 78 */
	assert_true(has_line(&b, "From: \"Mail Delivery System\" "
	    "<MAILER-DAEMON@mail.example.org>\r\n"));
	assert_true(has_line(&b, "To: <sender@example.org>\r\n"));
	assert_true(has_line(&b, "Subject: Undelivered Mail Returned to "
	    "Sender\r\n"));
	assert_true(has_line(&b, "Date: " NOW_DATE "\r\n"));
	assert_true(has_line(&b, "Auto-Submitted: auto-replied\r\n"));
	assert_true(has_line(&b, "Message-ID: <"));
	assert_true(contains(&b, "@mail.example.org>\r\n"));
	assert_true(has_line(&b, "Content-Type: multipart/report; "
	    "report-type=delivery-status;\r\n"));
	/* The human-readable part. */
	assert_true(has_line(&b, "This is the mail system at host "
	    "mail.example.org.\r\n"));
	assert_true(contains(&b, "I'm sorry to have to inform you that "
	    "your message"));
	assert_true(has_line(&b, "<alice@example.net>: host mx.example.net "
	    "said: 550 5.1.1 <alice@example.net>:\r\n    Recipient address"));
	assert_true(contains(&b, "(the recipient's mailbox does not\r\n"
	    "    exist; status 5.1.1)\r\n"));
	assert_true(has_line(&b, "<bob@example.com>: Host or domain name not "
	    "found (no mail server was found for\r\n    the recipient's "
	    "domain; status 5.4.4)\r\n\r\n--"));
	assert_true(contains(&b, "received on Tue, 14 Nov 2023 21:13:20 +0000 "
	    "with queue ID\r\n0123456789abcdef.\r\n"));
	/* The delivery report. */
	assert_true(has_line(&b, "Reporting-MTA: dns; mail.example.org\r\n"));
	assert_true(has_line(&b, "Arrival-Date: Tue, 14 Nov 2023 21:13:20 "
	    "+0000\r\n"));
	assert_true(has_line(&b, "X-Letterbox-Queue-ID: 0123456789abcdef"));
	assert_true(contains(&b, "\r\n\r\nFinal-Recipient: rfc822; "
	    "alice@example.net\r\nAction: failed\r\nStatus: 5.1.1\r\n"
	    "Remote-MTA: dns; mx.example.net\r\n"
	    "Diagnostic-Code: smtp; 550 5.1.1 <alice@example.net>: Recipient"
	    " address\r\n rejected: User unknown\r\n"
	    "Last-Attempt-Date: Tue, 14 Nov 2023 22:12:20 +0000\r\n"));
	/* Not an SMTP reply: its own type; no host, no date. */
	assert_true(contains(&b, "\r\n\r\nFinal-Recipient: rfc822; "
	    "bob@example.com\r\nAction: failed\r\nStatus: 5.4.4\r\n"
	    "Diagnostic-Code: X-Letterbox; Host or domain name not found\r\n"
	    "\r\n--"));
	assert_int_equal(occurrences(&b, "Action: failed"), 2);
	assert_false(contains(&b, "Will-Retry-Until"));
	/* The original header, as it was. */
	hdr = part3(&b, &n);
	assert_int_equal(n, sizeof(orig_hdr) - 1);
	assert_string_equal(hdr, orig_hdr);
	free(hdr);
	python_check(&b, "failed", "mail.example.org", rcpts, 2);
	buf_free(&b);
}

static void
test_build_delayed(void **state)
{
	struct dsn_rcpt r = { "carol@example.net", "4.4.1",
		"connect to mx.example.net[192.0.2.25]:25: Connection timed "
		"out", "mx.example.net", NOW - 300 };
	struct dsn_input in = input_failed();
	const char *rcpts[] = { "carol@example.net" };
	struct buf b;

	(void)state;
	in.action = DSN_DELAYED;
	in.rcpts = &r;
	in.nrcpts = 1;
	in.retry_until = NOW + 4 * 86400;
	buf_init(&b, OUT_MAX);
	assert_int_equal(dsn_build(&in, &b), 0);
	assert_int_equal(wire_check(&b), 0);
	assert_true(has_line(&b, "Subject: Delayed Mail (still being "
	    "retried)\r\n"));
	assert_true(contains(&b, "THIS IS A WARNING ONLY"));
	assert_true(has_line(&b, "It will keep retrying until Sat, 18 Nov "
	    "2023 22:13:20 +0000. You will hear\r\n"));
	assert_true(has_line(&b, "Nothing needs doing on your side.\r\n"));
	assert_false(contains(&b, "I'm sorry"));
	assert_true(contains(&b, "\r\n\r\nFinal-Recipient: rfc822; "
	    "carol@example.net\r\nAction: delayed\r\nStatus: 4.4.1\r\n"
	    "Remote-MTA: dns; mx.example.net\r\n"
	    "Diagnostic-Code: X-Letterbox; connect to "
	    "mx.example.net[192.0.2.25]:25:\r\n Connection timed out\r\n"
	    "Last-Attempt-Date: Tue, 14 Nov 2023 22:08:20 +0000\r\n"
	    "Will-Retry-Until: Sat, 18 Nov 2023 22:13:20 +0000\r\n\r\n--"));
	python_check(&b, "delayed", "mail.example.org", rcpts, 1);
	buf_free(&b);
}

/* Every copied string carries an attempt to add a header field. */
static void
test_build_injection(void **state)
{
	struct dsn_rcpt r[] = {
		{ "alice@example.net\r\nBcc: evil@example.com", "5.1.1\r\nX",
		  "550 5.1.1 no\r\nBcc: evil@example.com\r\n\r\n--x",
		  "mx.example.net\nX-Evil: 1", NOW },
		{ "bob\x01@exa\x7fmple.com", "5.0.0",
		  "550 nope\rX-Evil: 2\n.\r\n", "mx\r\n\r\nX-Evil: 3", 0 },
	};
	struct dsn_input in = input_failed();
	const char *rcpts[] = { "alice@example.net Bcc: evil@example.com",
		"bob?@exa?mple.com" };
	static const char *const evil[] = { "Bcc:", "Cc:", "X-Evil:", "X:",
		"--x" };
	struct buf b, head, report;
	size_t i;

	(void)state;
	in.reporting_mta = "mail.example.org\r\nX-Evil: 4";
	in.sender = "sender@example.org>\r\nCc: <evil@example.com";
	in.queue_id = "q\r\nX-Evil: 5";
	in.rcpts = r;
	buf_init(&b, OUT_MAX);
	assert_int_equal(dsn_build(&in, &b), 0);
	wire_check(&b);
	/* No field starts a line where fields are: the message header
	 * and the delivery report (in the text such a line is prose). */
	head.data = b.data;
	head.len = (size_t)((char *)memmem(b.data, b.len, "\r\n\r\n", 4) -
	    b.data) + 2;
	report.data = part(&b, "message/delivery-status", &report.len);
	for (i = 0; i < sizeof(evil) / sizeof(evil[0]); i++) {
		assert_false(has_line(&head, evil[i]));
		assert_false(has_line(&report, evil[i]));
	}
	free(report.data);
	/* The host name is made one dot-atom for From and Message-ID. */
	assert_true(has_line(&b, "Reporting-MTA: dns; "
	    "mail.example.org?X-Evil??4\r\n"));
	assert_true(contains(&b, "<MAILER-DAEMON@mail.example.org?X-Evil??4>"));
	/* A bad status is replaced, the rest kept on one (folded) line. */
	assert_true(has_line(&b, "Status: 5.0.0\r\n"));
	assert_true(contains(&b, "Diagnostic-Code: smtp; 550 5.1.1 no Bcc: "
	    "evil@example.com --x\r\n"));
	assert_true(contains(&b, "Remote-MTA: dns; mx.example.net X-Evil: "
	    "1\r\n"));
	assert_true(contains(&b, "Remote-MTA: dns; mx X-Evil: 3\r\n"));
	assert_true(contains(&b, "Diagnostic-Code: smtp; 550 nope X-Evil: 2 "
	    ".\r\n"));
	assert_true(contains(&b, "X-Letterbox-Queue-ID: q X-Evil: 5\r\n"));
	python_check(&b, "failed", "mail.example.org?X-Evil??4", rcpts, 2);
	buf_free(&b);
}

/* 8-bit, NUL, lone CR, bare LF and control bytes in the original
 * header; its body after the empty line is not copied. */
static void
test_build_8bit_header(void **state)
{
	static const char h[] =
	    "Subject: caf\xc3\xa9 \xe2\x82\xac\n"
	    "From: \"J\xc3\xbcrgen\" <j@example.org>\r\n"
	    "X-Odd: a\rb\x01" "c\x00" "d\x7f" "e\tf\r\n"
	    "X-Fold: one\n"
	    " two\n"
	    "\n"
	    "Body: not a header\r\n";
	static const char want[] =
	    "Subject: caf?? ???\r\n"
	    "From: \"J??rgen\" <j@example.org>\r\n"
	    "X-Odd: a?b?c?d?e\tf\r\n"
	    "X-Fold: one\r\n"
	    " two\r\n";
	struct dsn_input in = input_failed();
	const char *rcpts[] = { "alice@example.net", "bob@example.com" };
	struct buf b;
	char *got;
	size_t n;

	(void)state;
	in.orig_header = h;
	in.orig_header_len = sizeof(h) - 1;
	buf_init(&b, OUT_MAX);
	assert_int_equal(dsn_build(&in, &b), 0);
	wire_check(&b);
	got = part3(&b, &n);
	assert_int_equal(n, sizeof(want) - 1);
	assert_memory_equal(got, want, n);
	free(got);
	assert_false(contains(&b, "Body:"));
	python_check(&b, "failed", "mail.example.org", rcpts, 2);

	/* CRLF CRLF ends it too; no header at all is an empty part. */
	in.orig_header = "A: 1\r\n\r\nB: 2\r\n";
	in.orig_header_len = strlen(in.orig_header);
	buf_reset(&b);
	assert_int_equal(dsn_build(&in, &b), 0);
	got = part3(&b, &n);
	assert_string_equal(got, "A: 1\r\n");
	free(got);
	in.orig_header = NULL;
	in.orig_header_len = 0;
	buf_reset(&b);
	assert_int_equal(dsn_build(&in, &b), 0);
	wire_check(&b);
	got = part3(&b, &n);
	assert_int_equal(n, 0);
	free(got);
	/* No final line end, and half a CRLF at the end. */
	in.orig_header = "A: 1\r\nB: 2";
	in.orig_header_len = strlen(in.orig_header);
	buf_reset(&b);
	assert_int_equal(dsn_build(&in, &b), 0);
	got = part3(&b, &n);
	assert_string_equal(got, "A: 1\r\nB: 2\r\n");
	free(got);
	in.orig_header = "A: 1\r\nB: 2\r";
	in.orig_header_len = strlen(in.orig_header);
	buf_reset(&b);
	assert_int_equal(dsn_build(&in, &b), 0);
	got = part3(&b, &n);
	assert_string_equal(got, "A: 1\r\nB: 2\r\n");
	free(got);
	buf_free(&b);
}

/* A header over DSN_ORIG_HEADER_MAX is cut before a field; one huge
 * line is cut at the limit and folded at 998. */
static void
test_build_header_cut(void **state)
{
	struct dsn_input in = input_failed();
	const char *rcpts[] = { "alice@example.net", "bob@example.com" };
	size_t cap = 3 * DSN_ORIG_HEADER_MAX, len = 0, n, i;
	char *h = malloc(cap), *got;
	struct buf b;

	(void)state;
	assert_non_null(h);
	/* Fields of 100 bytes, each folded once: 60 + 40 bytes. */
	while (len + 100 <= 2 * DSN_ORIG_HEADER_MAX) {
		len += (size_t)snprintf(h + len, cap - len,
		    "X-Field-%06zu: %042d\r\n", len / 100, 0);
		len += (size_t)snprintf(h + len, cap - len, "\t%037d\r\n", 1);
	}
	in.orig_header = h;
	in.orig_header_len = len;
	buf_init(&b, OUT_MAX);
	assert_int_equal(dsn_build(&in, &b), 0);
	wire_check(&b);
	assert_true(contains(&b, "longer than 65536 bytes;"));
	got = part3(&b, &n);
	/* 655 whole fields: the 656th would end past 65536. */
	assert_int_equal(n, (DSN_ORIG_HEADER_MAX / 100) * 100);
	assert_memory_equal(got, h, n);
	free(got);
	python_check(&b, "failed", "mail.example.org", rcpts, 2);

	/* Exactly at the limit: whole, no note. */
	in.orig_header_len = (DSN_ORIG_HEADER_MAX / 100) * 100;
	buf_reset(&b);
	assert_int_equal(dsn_build(&in, &b), 0);
	assert_false(contains(&b, "only its first"));

	/* After a 60-byte field the limit falls in a continuation line:
	 * the cut is before that field, not inside it. */
	memcpy(h, "X-Pad: ", 7);
	memset(h + 7, 'p', 51);
	memcpy(h + 58, "\r\n", 2);
	for (len = 60; len + 100 <= 2 * DSN_ORIG_HEADER_MAX; len += 100) {
		snprintf(h + len, cap - len, "X-Field-%06zu: %042d\r\n",
		    len / 100, 0);
		snprintf(h + len + 60, cap - len - 60, "\t%037d\r\n", 1);
	}
	in.orig_header_len = len;
	buf_reset(&b);
	assert_int_equal(dsn_build(&in, &b), 0);
	assert_true(contains(&b, "longer than 65536 bytes;"));
	got = part3(&b, &n);
	assert_int_equal(n, 60 + (DSN_ORIG_HEADER_MAX - 60) / 100 * 100);
	assert_memory_equal(got, h, n);
	assert_memory_equal(got + n - 40, "\t0000", 5);
	free(got);

	/* One line of 3 * 64 KiB, no line end. */
	memcpy(h, "X-Huge: ", 8);
	memset(h + 8, 'a', cap - 8);
	in.orig_header_len = cap;
	buf_reset(&b);
	assert_int_equal(dsn_build(&in, &b), 0);
	assert_true(wire_check(&b) > 0);
	assert_true(contains(&b, "only its first"));
	got = part3(&b, &n);
	/* 998 octets, then CRLF SP and 997 more for each line; without
	 * the folds and the final CRLF, DSN_ORIG_HEADER_MAX octets. */
	assert_memory_equal(got, h, 998);
	for (i = 998; i + 3 < n; i += 1000)
		assert_memory_equal(got + i, "\r\n a", 4);
	for (i = 0, len = 0; i < n; i++)
		if (got[i] == 'a' || got[i] == 'X' || got[i] == '-' ||
		    got[i] == 'H' || got[i] == 'u' || got[i] == 'g' ||
		    got[i] == 'e' || got[i] == ':')
			len++;
	assert_int_equal(len + 1, DSN_ORIG_HEADER_MAX);	/* + the space */
	assert_memory_equal(got + n - 2, "\r\n", 2);
	free(got);
	python_check(&b, "failed", "mail.example.org", rcpts, 2);
	buf_free(&b);
	free(h);
}

/* Below the size the DSN needs, every maximum gives -1 and leaves what
 * out held before; at it, 0. */
static void
test_build_limit(void **state)
{
	struct dsn_input in = input_failed();
	struct buf b;
	size_t need, max;

	(void)state;
	buf_init(&b, OUT_MAX);
	assert_int_equal(dsn_build(&in, &b), 0);
	need = b.len;
	buf_free(&b);
	for (max = 0; max < need + 5; max++) {
		buf_init(&b, max + 5);
		assert_int_equal(buf_append(&b, "keep:", 5), 0);
		assert_int_equal(dsn_build(&in, &b), max < need ? -1 : 0);
		if (max < need)
			assert_int_equal(b.len, 5);
		else
			assert_int_equal(b.len, 5 + need);
		assert_memory_equal(b.data, "keep:", 5);
		buf_free(&b);
	}
}

/* Missing or empty optional strings: no field for them; a status that
 * is not one is the action's default. */
static void
test_build_empty(void **state)
{
	struct dsn_rcpt r[] = {
		{ "a@example.net", NULL, "", NULL, 0 },
		{ "b@example.net", "5.1", NULL, "", 0 },
		{ "c@example.net", "", " \r\n ", " ", 0 },
	};
	struct dsn_input in = input_failed();
	const char *rcpts[] = { "a@example.net", "b@example.net",
		"c@example.net" };
	struct buf b;

	(void)state;
	in.rcpts = r;
	in.nrcpts = 3;
	in.queue_id = NULL;
	in.arrival = 0;
	buf_init(&b, OUT_MAX);
	assert_int_equal(dsn_build(&in, &b), 0);
	assert_int_equal(wire_check(&b), 0);
	assert_false(contains(&b, "Remote-MTA"));
	assert_false(contains(&b, "Diagnostic-Code"));
	assert_false(contains(&b, "Last-Attempt-Date"));
	assert_false(contains(&b, "Arrival-Date"));
	assert_false(contains(&b, "Queue"));
	assert_int_equal(occurrences(&b, "Status: 5.0.0\r\n"), 3);
	assert_true(has_line(&b, "<a@example.net>: an unspecified problem "
	    "(status 5.0.0)\r\n"));
	python_check(&b, "failed", "mail.example.org", rcpts, 3);

	/* DELAYED without a retry date, and its default status. */
	in.action = DSN_DELAYED;
	in.retry_until = 0;
	buf_reset(&b);
	assert_int_equal(dsn_build(&in, &b), 0);
	assert_int_equal(occurrences(&b, "Status: 4.0.0\r\n"), 3);
	assert_false(contains(&b, "Will-Retry-Until"));
	assert_true(contains(&b, "You will hear again only if it gives up."));
	buf_free(&b);
}

/* Long values fold at spaces within 78 columns; a word longer than a
 * line is broken at 998; past DSN_VALUE_MAX the value is cut. */
static void
test_build_long_values(void **state)
{
	char diag[4000], addr[301];
	struct dsn_rcpt r = { addr, "5.2.2", diag, "mx.example.net", 0 };
	struct dsn_input in = input_failed();
	const char *rcpts[] = { addr };
	struct buf b;
	size_t i;

	(void)state;
	/* "550 5.2.2 ", a 1500-letter word, then words of 8 letters. */
	strcpy(diag, "550 5.2.2 ");
	memset(diag + 10, 'z', 1500);
	for (i = 1510; i + 10 < sizeof(diag); i += 9)
		memcpy(diag + i, " mailfull", 9);
	diag[i] = '\0';
	/* A long address (RFC 5321 allows 256), still one word. */
	memset(addr, 'x', sizeof(addr));
	memcpy(addr + sizeof(addr) - 13, "@example.net", 13);
	in.rcpts = &r;
	in.nrcpts = 1;
	buf_init(&b, OUT_MAX);
	assert_int_equal(dsn_build(&in, &b), 0);
	/* Over 78: the address in the text and in Final-Recipient, and
	 * the two pieces of the long word in the text and the report. */
	assert_int_equal(wire_check(&b), 6);
	assert_true(has_line(&b, "Final-Recipient: rfc822;\r\n xxxx"));
	/* 998 octets: the fold's space and 997 letters. */
	assert_true(contains(&b, "550 5.2.2\r\n zzzz"));
	for (i = 0; i < b.len; i++)
		if (memcmp(b.data + i, "\r\n z", 4) == 0)
			break;
	assert_true(i < b.len);
	assert_memory_equal(b.data + i + 2 + 998, "\r\n zzz", 6);
	/* DSN_VALUE_MAX: 10 + 1500 + 59 * 9 + 7 bytes, a word cut. */
	assert_true(contains(&b, " mailfull mailfu...\r\n"));
	assert_true(contains(&b, " mailfull mailfu... (the recipient's "
	    "mailbox is full;\r\n"));
	python_check(&b, "failed", "mail.example.org", rcpts, 1);
	buf_free(&b);
}

/* A null sender gets no DSN (RFC 5321 6.1). */
static void
test_build_null_sender(void **state)
{
	struct dsn_input in = input_failed();
	struct buf b;

	(void)state;
	in.sender = "";
	buf_init(&b, OUT_MAX);
	assert_int_equal(dsn_build(&in, &b), -1);
	assert_int_equal(b.len, 0);
	buf_free(&b);
}

/* Each DSN has its own boundary and Message-ID; the Date is the
 * input's, whatever the locale. */
static void
test_build_random_and_date(void **state)
{
	struct dsn_input in = input_failed();
	struct buf a, b;
	const char *pa, *pb;

	(void)state;
	buf_init(&a, OUT_MAX);
	buf_init(&b, OUT_MAX);
	assert_int_equal(dsn_build(&in, &a), 0);
	assert_int_equal(dsn_build(&in, &b), 0);
	pa = memmem(a.data, a.len, "boundary=\"lb-dsn-", 17);
	pb = memmem(b.data, b.len, "boundary=\"lb-dsn-", 17);
	assert_non_null(pa);
	assert_non_null(pb);
	assert_memory_not_equal(pa, pb, 17 + 32);
	pa = memmem(a.data, a.len, "Message-ID: <", 13);
	pb = memmem(b.data, b.len, "Message-ID: <", 13);
	assert_non_null(pa);
	assert_non_null(pb);
	assert_memory_not_equal(pa, pb, 13 + 32);
	assert_memory_equal(pa + 13 + 32, "@mail.example.org>\r\n", 20);
	buf_free(&a);

	in.now = 0;
	in.arrival = 0;
	buf_reset(&b);
	assert_int_equal(dsn_build(&in, &b), 0);
	assert_true(has_line(&b, "Date: Thu, 1 Jan 1970 00:00:00 +0000\r\n"));
	/* Before 1900 there is no RFC 5322 date: no DSN. */
	in.now = (time_t)-2300000000LL;
	buf_reset(&b);
	assert_int_equal(dsn_build(&in, &b), -1);
	assert_int_equal(b.len, 0);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_good),
		cmocka_unit_test(test_status_class_mismatch),
		cmocka_unit_test(test_status_malformed),
		cmocka_unit_test(test_status_no_reply),
		cmocka_unit_test(test_status_from_code),
		cmocka_unit_test(test_build_failed),
		cmocka_unit_test(test_build_delayed),
		cmocka_unit_test(test_build_injection),
		cmocka_unit_test(test_build_8bit_header),
		cmocka_unit_test(test_build_header_cut),
		cmocka_unit_test(test_build_limit),
		cmocka_unit_test(test_build_empty),
		cmocka_unit_test(test_build_long_values),
		cmocka_unit_test(test_build_null_sender),
		cmocka_unit_test(test_build_random_and_date),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
