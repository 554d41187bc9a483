/*
 * test_mime.c - mime_parse (part tree, sizes, BODY/BODYSTRUCTURE and
 * ENVELOPE strings), mime_section_find and mime_header_next.
 *
 * Expected strings are what Dovecot 2.3.19 answers for the same message
 * (checked against a running Dovecot); the corpus under tests/data/mime
 * has its own test. The parser works on a whole message, so instead of
 * byte-at-a-time feeding every prefix of each message is parsed and the
 * tree invariants checked (a message cut anywhere).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/mime.h"

/* Tree invariants: offsets ordered and inside the message, children
 * inside their parent's body, siblings in order. */
static void
check_tree(const struct mime_message *m, size_t len)
{
	size_t i;

	assert_true(m->nparts >= 1);
	assert_int_equal(m->parts[0].parent, -1);
	for (i = 0; i < m->nparts; i++) {
		const struct mime_part *p = &m->parts[i];

		assert_true(p->header_start <= p->body_start);
		assert_true(p->body_start <= p->body_end);
		assert_true(p->body_end <= len);
		assert_true(p->body_vsize >= p->body_end - p->body_start);
		if (p->parent >= 0) {
			const struct mime_part *q = &m->parts[p->parent];

			assert_true((size_t)p->parent < i);
			assert_true(p->header_start >= q->body_start);
			assert_true(p->body_end <= q->body_end);
		}
		if (p->next_sibling >= 0) {
			const struct mime_part *s = &m->parts[p->next_sibling];

			assert_true(s->header_start >= p->body_end);
			assert_int_equal(s->parent, p->parent);
		}
	}
	assert_non_null(m->bodystructure);
	assert_non_null(m->body);
	assert_non_null(m->envelope);
}

static void
parse_ok(const char *msg, struct mime_message *m)
{
	assert_int_equal(mime_parse(msg, strlen(msg), m), 0);
	check_tree(m, strlen(msg));
}

static void
expect(const char *msg, const char *bs, const char *body, const char *env)
{
	struct mime_message m;
	size_t cut;

	parse_ok(msg, &m);
	if (bs != NULL)
		assert_string_equal(m.bodystructure, bs);
	if (body != NULL)
		assert_string_equal(m.body, body);
	if (env != NULL)
		assert_string_equal(m.envelope, env);
	mime_message_free(&m);
	/* every prefix still gives a sane tree */
	for (cut = 0; cut < strlen(msg); cut++) {
		assert_int_equal(mime_parse(msg, cut, &m), 0);
		check_tree(&m, cut);
		mime_message_free(&m);
	}
}

static void
test_plain(void **state)
{
	(void)state;
	expect("From: Alice <alice@example.org>\r\nTo: bob@example.org\r\n"
	    "Subject: hi\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n\r\n"
	    "hello\r\n",
	    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" "
	    "7 1 NIL NIL NIL NIL)",
	    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" "
	    "7 1)",
	    "(\"Mon, 1 Jan 2024 10:00:00 +0000\" \"hi\" "
	    "((\"Alice\" NIL \"alice\" \"example.org\")) "
	    "((\"Alice\" NIL \"alice\" \"example.org\")) "
	    "((\"Alice\" NIL \"alice\" \"example.org\")) "
	    "((NIL NIL \"bob\" \"example.org\")) NIL NIL NIL NIL)");
}

static void
test_empty(void **state)
{
	struct mime_message m;

	(void)state;
	assert_int_equal(mime_parse("", 0, &m), 0);
	check_tree(&m, 0);
	assert_string_equal(m.bodystructure, "(\"text\" \"plain\" "
	    "(\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL)");
	assert_string_equal(m.envelope,
	    "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
	mime_message_free(&m);
	assert_int_equal(mime_parse(NULL, 0, &m), 0);
	mime_message_free(&m);
	assert_null(m.parts);
}

/* Header ended by a boundary; nested boundary with the same prefix. */
static void
test_broken_multipart(void **state)
{
	(void)state;
	expect("Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\n"
	    "Content-Type: text/plain\r\n--a\r\n\r\nbody\r\n--a--\r\n",
	    "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL "
	    "\"7bit\" 0 0 NIL NIL NIL NIL)(\"text\" \"plain\" "
	    "(\"charset\" \"us-ascii\") NIL NIL \"7bit\" 4 0 NIL NIL "
	    "NIL NIL) \"mixed\" (\"boundary\" \"a\") NIL NIL NIL)", NULL, NULL);
	expect("Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\n"
	    "Content-Type: multipart/alternative; boundary=ab\r\n\r\n--ab\r\n"
	    "\r\nx\r\n--a\r\n\r\ny\r\n--ab\r\nz\r\n--a--\r\nepi\r\n",
	    "(((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL "
	    "\"7bit\" 1 0 NIL NIL NIL NIL) \"alternative\" "
	    "(\"boundary\" \"ab\") NIL NIL NIL)(\"text\" \"plain\" "
	    "(\"charset\" \"us-ascii\") NIL NIL \"7bit\" 1 0 NIL NIL "
	    "NIL NIL)(\"text\" \"plain\" (\"charset\" \"us-ascii\") "
	    "NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL) \"mixed\" "
	    "(\"boundary\" \"a\") NIL NIL NIL)", NULL, NULL);
	/* no parts at all: an empty text part stands in */
	expect("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b--\r\n",
	    "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL "
	    "\"7bit\" 0 0 NIL NIL NIL NIL) \"mixed\" (\"boundary\" \"b\") "
	    "NIL NIL NIL)",
	    "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL "
	    "\"7bit\" 0 0) \"mixed\")", NULL);
	/* missing final boundary, bare LF */
	expect("Content-Type: multipart/mixed; boundary=b\n\n--b\n"
	    "Content-Type: text/html\n\n<p>\n\n--b\n\n--b--",
	    "((\"text\" \"html\" (\"charset\" \"us-ascii\") NIL NIL "
	    "\"7bit\" 5 1 NIL NIL NIL NIL)(\"text\" \"plain\" "
	    "(\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL "
	    "NIL NIL) \"mixed\" (\"boundary\" \"b\") NIL NIL NIL)", NULL, NULL);
}

static void
test_rfc822_digest(void **state)
{
	struct mime_message m;
	const char *msg = "Content-Type: multipart/digest; boundary=d\r\n\r\n"
	    "--d\r\n\r\nSubject: s1\r\nFrom: a@b\r\n\r\nm1\r\n--d\r\n"
	    "Content-Type: text/plain\r\n\r\nt\r\n--d--\r\n";

	(void)state;
	expect(msg,
	    "((\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 28 (NIL \"s1\" "
	    "((NIL NIL \"a\" \"b\")) ((NIL NIL \"a\" \"b\")) ((NIL NIL \"a\" "
	    "\"b\")) NIL NIL NIL NIL NIL) (\"text\" \"plain\" (\"charset\" "
	    "\"us-ascii\") NIL NIL \"7bit\" 2 0 NIL NIL NIL NIL) 3 NIL NIL "
	    "NIL NIL)(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL "
	    "\"7bit\" 1 0 NIL NIL NIL NIL) \"digest\" (\"boundary\" \"d\") "
	    "NIL NIL NIL)", NULL, NULL);
	parse_ok(msg, &m);
	assert_int_equal(m.nparts, 4);
	assert_true((m.parts[1].flags & MIME_PART_MESSAGE) != 0);
	assert_memory_equal(msg + m.parts[2].body_start, "m1", 2);
	mime_message_free(&m);
}

static void
test_params_rfc2231(void **state)
{
	(void)state;
	/* continuations merge; a bare "f*" after "title*1" stays apart
	 * (Dovecot keeps the last index); "foo/bar" stops at "/" */
	expect("MIME-Version: 1.0\r\nContent-Type: Application/Octet-Stream;"
	    " Name=foo/bar.pdf; X-A=\"q\\\"x\"; title*0*=utf-8''%E2%82%AC; "
	    "title*1=\" rates\"; f*=iso-8859-1'en'%A3x\r\n"
	    "Content-Disposition: Attachment; FileName=\"a b.txt\"\r\n"
	    "Content-Language: en, de-DE\r\nContent-Location: http://x/y\r\n"
	    "Content-MD5: abc\r\nContent-Description: a\r\n  b\r\n"
	    "Content-Transfer-Encoding: BASE64\r\n\r\nxx\n\n",
	    "(\"Application\" \"Octet-Stream\" (\"Name\" \"foo\" \"X-A\" "
	    "\"q\\\"x\" \"f*1*\" \"iso-8859-1'en'%A3x\" \"title*\" "
	    "\"utf-8''%E2%82%AC rates\") NIL \"a  b\" \"BASE64\" 6 \"abc\" "
	    "(\"Attachment\" (\"FileName\" \"a b.txt\")) (\"en\" \"de-DE\") "
	    "\"http://x/y\")", NULL, NULL);
	/* without MIME-Version or Content-Type, Content-* mean nothing */
	expect("Content-Description: x\r\n\r\nbody",
	    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" "
	    "4 0 NIL NIL NIL NIL)", NULL, NULL);
}

static void
test_envelope_addresses(void **state)
{
	(void)state;
	expect("Subject:   multi\r\n  line\t subj  \r\nTo: bob, \"Q \\\" x\" "
	    "<a@b>, undisclosed-recipients:;, grp: c@d, e@f;, "
	    "<@r1,@r2:g@h>, i@j (Comment Name)\r\nCc:\r\nBcc: @\r\n"
	    "Reply-To: <>\r\nSender: x@\r\nDate: \r\n"
	    "Message-ID: <a\r\n b@c>\r\nIn-Reply-To: a \"b\\c\"\r\n\r\n",
	    NULL, NULL,
	    "(\"\" {15}\r\nmulti line subj NIL ((NIL NIL \"x\" "
	    "\"MISSING_DOMAIN\")) ((NIL NIL \"MISSING_MAILBOX\" "
	    "\"MISSING_DOMAIN\")) ((NIL NIL \"bob\" \"MISSING_DOMAIN\")"
	    "({5}\r\nQ \" x NIL \"a\" \"b\")(NIL NIL "
	    "\"undisclosed-recipients\" NIL)(NIL NIL NIL NIL)(NIL NIL \"grp\" "
	    "NIL)(NIL NIL \"c\" \"d\")(NIL NIL \"e\" \"f\")(NIL NIL NIL NIL)"
	    "(NIL \"@r1,@r2\" \"g\" \"h\")(\"Comment Name\" NIL \"i\" \"j\")) "
	    "NIL ((NIL NIL \"MISSING_MAILBOX\" \"MISSING_DOMAIN\")) "
	    "\"a \\\"b\\\\c\\\"\" \"<a b@c>\")");
	/* repeated fields: text ones replace, address ones add up */
	expect("Subject: one\r\nSubject: two\r\nFrom: a@b\r\nFrom: c@d\r\n"
	    "To:\r\nTo: e@f\r\n\r\n", NULL, NULL,
	    "(NIL \"two\" ((NIL NIL \"a\" \"b\")(NIL NIL \"c\" \"d\")) "
	    "((NIL NIL \"a\" \"b\")(NIL NIL \"c\" \"d\")) ((NIL NIL \"a\" "
	    "\"b\")(NIL NIL \"c\" \"d\")) ((NIL NIL \"e\" \"f\")) NIL NIL NIL "
	    "NIL)");
	/* 8-bit text goes out as a literal */
	expect("Subject: caf\xc3\xa9\r\n\r\n", NULL, NULL,
	    "(NIL {5}\r\ncaf\xc3\xa9 NIL NIL NIL NIL NIL NIL NIL NIL)");
}

static void
test_sections(void **state)
{
	struct mime_message m;
	size_t i;
	const char *msg = "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
	    "--b\r\n\r\none\r\n--b\r\nContent-Type: message/rfc822\r\n\r\n"
	    "Content-Type: multipart/alternative; boundary=c\r\n\r\n--c\r\n"
	    "\r\nA\r\n--c\r\n\r\nB\r\n--c--\r\n--b--\r\n";

	(void)state;
	parse_ok(msg, &m);
	assert_int_equal(mime_section_find(&m, "1", 1, &i), 0);
	assert_memory_equal(msg + m.parts[i].body_start, "one", 3);
	assert_int_equal(mime_section_find(&m, "2", 1, &i), 0);
	assert_true((m.parts[i].flags & MIME_PART_MESSAGE) != 0);
	assert_int_equal(mime_section_find(&m, "2.2", 3, &i), 0);
	assert_memory_equal(msg + m.parts[i].body_start, "B", 1);
	assert_int_equal(m.parts[i].body_end - m.parts[i].body_start, 1);
	assert_int_equal(mime_section_find(&m, "3", 1, &i), -1);
	assert_int_equal(mime_section_find(&m, "0", 1, &i), -1);
	assert_int_equal(mime_section_find(&m, "1.", 2, &i), -1);
	assert_int_equal(mime_section_find(&m, "01", 2, &i), -1);
	assert_int_equal(mime_section_find(&m, "2.3", 3, &i), -1);
	assert_int_equal(mime_section_find(&m, "1.1", 3, &i), -1);
	assert_int_equal(mime_section_find(&m, "", 0, &i), -1);
	mime_message_free(&m);

	/* a non-multipart message has part 1 only: itself */
	parse_ok("Subject: x\r\n\r\nbody", &m);
	assert_int_equal(mime_section_find(&m, "1", 1, &i), 0);
	assert_int_equal(i, 0);
	assert_int_equal(mime_section_find(&m, "2", 1, &i), -1);
	mime_message_free(&m);
}

static void
test_header_next(void **state)
{
	const char *h = "Subject : a\r\n b\r\nX-No-Colon\r\nTo:x\r\n\r\nbody";
	struct mime_field f;
	size_t pos = 0, end = strlen(h);

	(void)state;
	assert_true(mime_header_next(h, end, &pos, &f));
	assert_true(mime_field_is(h, &f, "SUBJECT", 7));
	assert_int_equal(f.value_end - f.value_start, 5);
	assert_memory_equal(h + f.value_start, "a\r\n b", 5);
	assert_true(mime_header_next(h, end, &pos, &f));
	assert_true(mime_field_is(h, &f, "x-no-colon", 10));
	assert_int_equal(f.value_start, f.value_end);
	assert_true(mime_header_next(h, end, &pos, &f));
	assert_true(mime_field_is(h, &f, "to", 2));
	assert_false(mime_field_is(h, &f, "t", 1));
	assert_false(mime_header_next(h, end, &pos, &f));
	assert_memory_equal(h + pos, "\r\nbody", 6);
}

/* Limits: deep nesting, many parts, huge header. Each must stay a sane
 * tree and finish (speed lives in bench/ and the fuzzer). */
static void
test_limits(void **state)
{
	struct mime_message m;
	size_t cap = 4 * 1024 * 1024, len = 0, i;
	char *s = malloc(cap);

	(void)state;
	assert_non_null(s);
	for (i = 0; i < 200; i++)
		len += (size_t)snprintf(s + len, cap - len,
		    "Content-Type: multipart/mixed; boundary=b%zu\r\n\r\n"
		    "--b%zu\r\n", i, i);
	assert_int_equal(mime_parse(s, len, &m), 0);
	check_tree(&m, len);
	assert_true(m.nparts <= 1000);
	mime_message_free(&m);

	len = (size_t)snprintf(s, cap, "Content-Type: multipart/mixed; "
	    "boundary=x\r\n\r\n");
	for (i = 0; i < 5000; i++)
		len += (size_t)snprintf(s + len, cap - len,
		    "--x\r\n\r\n%zu\r\n", i);
	assert_int_equal(mime_parse(s, len, &m), 0);
	check_tree(&m, len);
	assert_int_equal(m.nparts, 1000);
	mime_message_free(&m);

	len = (size_t)snprintf(s, cap, "Subject: ");
	for (i = 0; i < 100000; i++)
		len += (size_t)snprintf(s + len, cap - len, "word\r\n ");
	len += (size_t)snprintf(s + len, cap - len, "\r\nTo: ");
	for (i = 0; i < 20000; i++)
		len += (size_t)snprintf(s + len, cap - len, "a%zu@b, ", i);
	len += (size_t)snprintf(s + len, cap - len, "\r\n\r\nbody\r\n");
	assert_int_equal(mime_parse(s, len, &m), 0);
	check_tree(&m, len);
	mime_message_free(&m);
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_broken_multipart),
		cmocka_unit_test(test_rfc822_digest),
		cmocka_unit_test(test_params_rfc2231),
		cmocka_unit_test(test_envelope_addresses),
		cmocka_unit_test(test_sections),
		cmocka_unit_test(test_header_next),
		cmocka_unit_test(test_limits),
	};

	return cmocka_run_group_tests_name("mime", tests, NULL, NULL);
}
