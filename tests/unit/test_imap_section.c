/*
 * test_imap_section.c - FETCH body sections (imapd/imap_section.c, RFC
 * 3501 6.4.5) over messages parsed by common/mime.c.
 *
 * Each request is written as the client writes it ("BODY[2.HEADER]") and
 * parsed by imap_fetch_parse, so the test covers the path FETCH takes.
 * Messages are copied into buffers of exactly their length, so
 * AddressSanitizer catches a read past the message; and, as in
 * test_mime.c, every request is also answered for every prefix of its
 * message (a message cut anywhere): the answer must lie inside the
 * message or the scratch buffer, and nothing may leak.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/mime.h"
#include "imapd/imap_fetch.h"

/* One part, CRLF line ends, a folded Subject. */
static const char msg_plain[] =
    "From: a@example.org\r\n"
    "Subject: hi\r\n"
    "\tthere\r\n"
    "X-Spam: no\r\n"
    "\r\n"
    "body line\r\n";

/*
 * 1: text/plain; 2: message/rfc822 holding one text part;
 * 3: message/rfc822 holding multipart/alternative (3.1 text, 3.2 html).
 */
static const char msg_multi[] =
    "From: a@example.org\r\n"
    "Subject: multi\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"XX\"\r\n"
    "\r\n"
    "preamble\r\n"
    "--XX\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "part one\r\n"
    "--XX\r\n"
    "Content-Type: message/rfc822\r\n"
    "\r\n"
    "Subject: inner\r\n"
    "From: b@example.org\r\n"
    "\r\n"
    "inner body\r\n"
    "--XX\r\n"
    "Content-Type: message/rfc822\r\n"
    "\r\n"
    "Subject: nested\r\n"
    "Content-Type: multipart/alternative; boundary=YY\r\n"
    "\r\n"
    "--YY\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "plain\r\n"
    "--YY\r\n"
    "Content-Type: text/html\r\n"
    "\r\n"
    "<p>html</p>\r\n"
    "--YY--\r\n"
    "\r\n"
    "--XX--\r\n"
    "epilogue\r\n";

/* Bare LF line ends, a folded field. */
static const char msg_lf[] =
    "From: a\n"
    "Subject: x\n"
    " y\n"
    "To: c\n"
    "\n"
    "body\n";

/* extract_len: the answer to spec over msg (len bytes); *out_r is a
 * malloc'd copy (NULL for NIL). */
static int
extract_len(const char *msg, size_t len, const char *spec, char **out_r,
    size_t *out_len_r)
{
	char *data = malloc(len > 0 ? len : 1);
	char *cmd = malloc(strlen(spec));
	struct imap_parser ps;
	struct imap_fetch_req req;
	struct mime_message mime;
	struct buf scratch;
	const char *out = NULL;
	size_t out_len = 0;
	int rc;

	assert_non_null(data);
	assert_non_null(cmd);
	memcpy(data, msg, len);
	memcpy(cmd, spec, strlen(spec));
	imap_parser_init(&ps, cmd, strlen(spec));
	if (imap_fetch_parse(&ps, &req) != 0)
		fail_msg("%s: %s", spec, ps.error);
	assert_int_equal(req.nbodies, 1);
	assert_int_equal(mime_parse(data, len, &mime), 0);
	buf_init(&scratch, 1024 * 1024);
	rc = imap_section_extract(data, len, &mime, &req.bodies[0], &scratch,
	    &out, &out_len);
	assert_true(rc == 0 || rc == 1);
	*out_r = NULL;
	*out_len_r = 0;
	if (rc == 1) {
		assert_non_null(out);
		/* Inside the message, or the scratch buffer, or "". */
		if (out >= data && out <= data + len)
			assert_true(out_len <= (size_t)(data + len - out));
		else if (scratch.data != NULL && out >= scratch.data &&
		    out <= scratch.data + scratch.len)
			assert_true(out_len <= (size_t)(scratch.data +
			    scratch.len - out));
		else
			assert_int_equal(out_len, 0);
		*out_r = malloc(out_len + 1);
		assert_non_null(*out_r);
		memcpy(*out_r, out, out_len);
		(*out_r)[out_len] = '\0';
		*out_len_r = out_len;
	}
	buf_free(&scratch);
	mime_message_free(&mime);
	imap_fetch_req_free(&req);
	free(cmd);
	free(data);
	return rc;
}

/* section: spec over msg answers exactly want (NULL: NIL); and answers
 * something sane for every prefix of msg. */
static void
section(const char *msg, const char *spec, const char *want)
{
	size_t len = strlen(msg), out_len;
	char *out;
	int rc;

	rc = extract_len(msg, len, spec, &out, &out_len);
	if (want == NULL) {
		if (rc != 0)
			fail_msg("%s: \"%s\", want NIL", spec, out);
	} else {
		if (rc != 1)
			fail_msg("%s: NIL, want \"%s\"", spec, want);
		if (out_len != strlen(want) || memcmp(out, want, out_len) != 0)
			fail_msg("%s: \"%s\", want \"%s\"", spec, out, want);
	}
	free(out);
	for (size_t cut = 0; cut < len; cut++) {
		extract_len(msg, cut, spec, &out, &out_len);
		free(out);
	}
}

static void
test_whole(void **state)
{
	(void)state;
	section(msg_plain, "BODY[]", msg_plain);
	section(msg_multi, "BODY.PEEK[]", msg_multi);
	section(msg_lf, "RFC822", msg_lf);
	section("", "BODY[]", "");
}

static void
test_header(void **state)
{
	(void)state;
	section(msg_plain, "BODY[HEADER]",
	    "From: a@example.org\r\nSubject: hi\r\n\tthere\r\nX-Spam: no\r\n"
	    "\r\n");
	section(msg_plain, "RFC822.HEADER",
	    "From: a@example.org\r\nSubject: hi\r\n\tthere\r\nX-Spam: no\r\n"
	    "\r\n");
	section(msg_multi, "BODY[HEADER]",
	    "From: a@example.org\r\nSubject: multi\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n");
	/* No blank line: the header is the whole message. */
	section("Subject: hi", "BODY[HEADER]", "Subject: hi");
	section("\r\nbody", "BODY[HEADER]", "\r\n");
}

static void
test_text(void **state)
{
	(void)state;
	section(msg_plain, "BODY[TEXT]", "body line\r\n");
	section(msg_plain, "RFC822.TEXT", "body line\r\n");
	section(msg_lf, "BODY[TEXT]", "body\n");
	section("Subject: hi", "BODY[TEXT]", "");
	section(msg_multi, "BODY[TEXT]", strstr(msg_multi, "preamble"));
}

static void
test_part_single(void **state)
{
	(void)state;
	/* A non-multipart message has one part, "1": its body. */
	section(msg_plain, "BODY[1]", "body line\r\n");
	section(msg_lf, "BODY[1]", "body\n");
	section(msg_plain, "BODY[1.MIME]",
	    "From: a@example.org\r\nSubject: hi\r\n\tthere\r\nX-Spam: no\r\n"
	    "\r\n");
}

static void
test_part_multi(void **state)
{
	(void)state;
	/* RFC 2046 5.1.1: the CRLF before a boundary is the boundary's. */
	section(msg_multi, "BODY[1]", "part one");
	section(msg_multi, "BODY[3.1]", "plain");
	section(msg_multi, "BODY[3.2]", "<p>html</p>");
}

static void
test_part_mime(void **state)
{
	(void)state;
	section(msg_multi, "BODY[1.MIME]", "Content-Type: text/plain\r\n\r\n");
	section(msg_multi, "BODY[2.MIME]",
	    "Content-Type: message/rfc822\r\n\r\n");
	section(msg_multi, "BODY[3.2.MIME]",
	    "Content-Type: text/html\r\n\r\n");
	/* 2.1 is the body of the embedded one-part message; its MIME
	 * header is that message's header. */
	section(msg_multi, "BODY[2.1.MIME]",
	    "Subject: inner\r\nFrom: b@example.org\r\n\r\n");
}

static void
test_message_part(void **state)
{
	(void)state;
	/* BODY[2] of a message/rfc822 part is the whole embedded message. */
	section(msg_multi, "BODY[2]",
	    "Subject: inner\r\nFrom: b@example.org\r\n\r\ninner body");
	section(msg_multi, "BODY[2.1]", "inner body");
}

static void
test_message_part_header(void **state)
{
	(void)state;
	section(msg_multi, "BODY[2.HEADER]",
	    "Subject: inner\r\nFrom: b@example.org\r\n\r\n");
	section(msg_multi, "BODY.PEEK[3.HEADER]",
	    "Subject: nested\r\nContent-Type: multipart/alternative; "
	    "boundary=YY\r\n\r\n");
}

static void
test_message_part_text(void **state)
{
	(void)state;
	section(msg_multi, "BODY[2.TEXT]", "inner body");
	section(msg_multi, "BODY[3.TEXT]",
	    "--YY\r\nContent-Type: text/plain\r\n\r\nplain\r\n--YY\r\n"
	    "Content-Type: text/html\r\n\r\n<p>html</p>\r\n--YY--\r\n");
}

static void
test_non_message_part_header(void **state)
{
	(void)state;
	/* n.HEADER and n.TEXT of a part that is no message: empty. */
	section(msg_multi, "BODY[1.HEADER]", "");
	section(msg_multi, "BODY[1.TEXT]", "");
	section(msg_multi, "BODY[3.1.HEADER]", "");
	section(msg_multi, "BODY[1.HEADER.FIELDS (CONTENT-TYPE)]", "");
	section(msg_plain, "BODY[1.HEADER]", "");
}

static void
test_header_fields(void **state)
{
	(void)state;
	section(msg_plain, "BODY[HEADER.FIELDS (FROM)]",
	    "From: a@example.org\r\n\r\n");
	section(msg_plain, "BODY[HEADER.FIELDS (x-spam from)]",
	    "From: a@example.org\r\nX-Spam: no\r\n\r\n");
	section(msg_multi, "BODY[HEADER.FIELDS (Content-Type)]",
	    "Content-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n");
	section(msg_multi, "BODY[2.HEADER.FIELDS (FROM)]",
	    "From: b@example.org\r\n\r\n");
	section(msg_plain, "BODY[HEADER.FIELDS (X-NONE)]", "\r\n");
	section(msg_plain, "BODY[HEADER.FIELDS (FRO)]", "\r\n");
	section(msg_plain, "BODY[HEADER.FIELDS (FROM:)]", "\r\n");
}

static void
test_header_fields_folded(void **state)
{
	(void)state;
	/* The folding is kept. */
	section(msg_plain, "BODY[HEADER.FIELDS (SUBJECT)]",
	    "Subject: hi\r\n\tthere\r\n\r\n");
	section(msg_plain, "BODY[HEADER.FIELDS.NOT (X-SPAM)]",
	    "From: a@example.org\r\nSubject: hi\r\n\tthere\r\n\r\n");
}

static void
test_header_fields_not(void **state)
{
	(void)state;
	section(msg_plain, "BODY[HEADER.FIELDS.NOT (\"subject\")]",
	    "From: a@example.org\r\nX-Spam: no\r\n\r\n");
	section(msg_plain, "BODY[HEADER.FIELDS.NOT (FROM SUBJECT X-SPAM)]",
	    "\r\n");
	section(msg_plain, "BODY[HEADER.FIELDS.NOT (X-NONE)]",
	    "From: a@example.org\r\nSubject: hi\r\n\tthere\r\nX-Spam: no\r\n"
	    "\r\n");
	section(msg_multi, "BODY[3.HEADER.FIELDS.NOT (CONTENT-TYPE)]",
	    "Subject: nested\r\n\r\n");
}

static void
test_header_fields_bare_lf(void **state)
{
	(void)state;
	/* A field ending in a bare LF is given its CR; the blank line is
	 * CRLF. (A bare LF inside a folded field is kept as it is.) */
	section(msg_lf, "BODY[HEADER.FIELDS (FROM TO)]",
	    "From: a\r\nTo: c\r\n\r\n");
	section(msg_lf, "BODY[HEADER.FIELDS.NOT (SUBJECT)]",
	    "From: a\r\nTo: c\r\n\r\n");
	section(msg_lf, "BODY[HEADER.FIELDS (SUBJECT)]",
	    "Subject: x\n y\r\n\r\n");
	section("A: 1\nB: 2\r\nC: 3\n\r\nbody", "BODY[HEADER.FIELDS.NOT (B)]",
	    "A: 1\r\nC: 3\r\n\r\n");
	section(msg_lf, "BODY[HEADER]", "From: a\nSubject: x\n y\nTo: c\n\n");
}

static void
test_header_fields_no_blank_line(void **state)
{
	(void)state;
	section("", "BODY[HEADER.FIELDS (A)]", "\r\n");
	section("\r\nbody", "BODY[HEADER.FIELDS (A)]", "\r\n");
}

static void
test_nonexistent_part(void **state)
{
	(void)state;
	section(msg_plain, "BODY[2]", NULL);
	section(msg_plain, "BODY[2.MIME]", NULL);
	section(msg_multi, "BODY[4]", NULL);
	section(msg_multi, "BODY[1.1]", NULL);
	section(msg_multi, "BODY[2.2]", NULL);
	section(msg_multi, "BODY[3.3]", NULL);
	section(msg_multi, "BODY[3.1.1]", NULL);
	section(msg_multi, "BODY[4.HEADER]", NULL);
	section(msg_multi, "BODY[4.HEADER.FIELDS (A)]", NULL);
	section(msg_multi, "BODY[999999999]", NULL);
	section("", "BODY[2]", NULL);
}

/* The answer does not depend on a previous answer left in scratch. */
static void
test_scratch_reused(void **state)
{
	char *cmd = strdup("(BODY[HEADER.FIELDS (X-SPAM FROM)] "
	    "BODY[HEADER.FIELDS (SUBJECT)])");
	struct imap_parser ps;
	struct imap_fetch_req req;
	struct mime_message mime;
	struct buf scratch;
	const char *out;
	size_t out_len;

	(void)state;
	assert_non_null(cmd);
	imap_parser_init(&ps, cmd, strlen(cmd));
	assert_int_equal(imap_fetch_parse(&ps, &req), 0);
	assert_int_equal(mime_parse(msg_plain, strlen(msg_plain), &mime), 0);
	buf_init(&scratch, 4096);
	assert_int_equal(imap_section_extract(msg_plain, strlen(msg_plain),
	    &mime, &req.bodies[0], &scratch, &out, &out_len), 1);
	assert_int_equal(out_len, strlen("From: a@example.org\r\nX-Spam: "
	    "no\r\n\r\n"));
	assert_int_equal(imap_section_extract(msg_plain, strlen(msg_plain),
	    &mime, &req.bodies[1], &scratch, &out, &out_len), 1);
	assert_int_equal(out_len, strlen("Subject: hi\r\n\tthere\r\n\r\n"));
	assert_memory_equal(out, "Subject: hi\r\n\tthere\r\n\r\n", out_len);
	buf_free(&scratch);
	mime_message_free(&mime);
	imap_fetch_req_free(&req);
	free(cmd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole),
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_part_single),
		cmocka_unit_test(test_part_multi),
		cmocka_unit_test(test_part_mime),
		cmocka_unit_test(test_message_part),
		cmocka_unit_test(test_message_part_header),
		cmocka_unit_test(test_message_part_text),
		cmocka_unit_test(test_non_message_part_header),
		cmocka_unit_test(test_header_fields),
		cmocka_unit_test(test_header_fields_folded),
		cmocka_unit_test(test_header_fields_not),
		cmocka_unit_test(test_header_fields_bare_lf),
		cmocka_unit_test(test_header_fields_no_blank_line),
		cmocka_unit_test(test_nonexistent_part),
		cmocka_unit_test(test_scratch_reused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
