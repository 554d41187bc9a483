/*
 * test_address.c - address_parse, address_domain_valid, address_domain_fold,
 * address_strip_detail and utf8_valid.
 *
 * The limits are RFC 5321 4.5.3.1: 64 octets of local part, 255 of domain,
 * 254 in all; each test sits just inside and just outside a bound.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "common/address.h"

/* rep: n copies of c into buf (NUL-terminated). */
static char *
rep(char *buf, char c, size_t n)
{
	memset(buf, c, n);
	buf[n] = '\0';
	return buf;
}

static void
assert_parse_ok(const char *s, const char *local, const char *domain)
{
	struct address a;
	const char *error = NULL;

	memset(&a, 0x5a, sizeof(a));
	if (address_parse(s, &a, &error) != 0)
		fail_msg("address_parse(\"%s\") failed: %s", s,
		    error != NULL ? error : "(no error)");
	assert_string_equal(a.local, local);
	assert_string_equal(a.domain, domain);
}

static void
assert_parse_bad(const char *s)
{
	struct address a;
	const char *error = NULL;

	if (address_parse(s, &a, &error) != -1)
		fail_msg("address_parse(\"%s\") accepted", s);
	assert_non_null(error);
	assert_true(strlen(error) > 0);
}

static void
test_parse_valid(void **state)
{
	assert_parse_ok("alice@example.org", "alice", "example.org");
	assert_parse_ok("a@b", "a", "b");
	assert_parse_ok("first.last@sub.example.org", "first.last",
	    "sub.example.org");
	assert_parse_ok("alice+tag@example.org", "alice+tag", "example.org");
	/* RFC 5322 3.2.3 atext, every special. */
	assert_parse_ok("!#$%&'*+-/=?^_`{|}~@x.org", "!#$%&'*+-/=?^_`{|}~",
	    "x.org");
	assert_parse_ok("a1-2_3@xn--bcher-kva.de", "a1-2_3",
	    "xn--bcher-kva.de");
	assert_parse_ok("bob@1.2.3.4", "bob", "1.2.3.4");
}

static void
test_parse_folds_case(void **state)
{
	assert_parse_ok("Alice@Example.ORG", "alice", "example.org");
	assert_parse_ok("ALICE.SMITH@EXAMPLE.ORG", "alice.smith",
	    "example.org");
	/* Only ASCII is folded: non-ASCII octets pass through unchanged. */
	assert_parse_ok("J\xc3\x96RG@B\xc3\x9c" "CHER.DE", "j\xc3\x96rg",
	    "b\xc3\x9c" "cher.de");
}

static void
test_parse_utf8(void **state)
{
	/* RFC 6531: UTF-8 in local part and domain. */
	assert_parse_ok("j\xc3\xb6rg@b\xc3\xbc" "cher.de", "j\xc3\xb6rg",
	    "b\xc3\xbc" "cher.de");
	assert_parse_ok("\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.cn",
	    "\xe7\x94\xa8\xe6\x88\xb7", "\xe4\xbe\x8b\xe5\xad\x90.cn");
	assert_parse_ok("\xf0\x9f\x98\x80@x.org", "\xf0\x9f\x98\x80", "x.org");

	assert_parse_bad("j\xffrg@x.org");		/* never valid */
	assert_parse_bad("j\xc3@x.org");		/* truncated */
	assert_parse_bad("\xc0\xae@x.org");		/* overlong '.' */
	assert_parse_bad("\xed\xa0\x80@x.org");	/* surrogate */
	assert_parse_bad("a@b\xc3.org");		/* truncated in domain */
	assert_parse_bad("a@\xfe.org");
	assert_parse_bad("\x80@x.org");		/* lone continuation */
}

static void
test_parse_local_length(void **state)
{
	char local[LIMIT_ADDR_LOCAL + 2], addr[LIMIT_ADDR_LOCAL + 32];

	rep(local, 'a', LIMIT_ADDR_LOCAL);
	snprintf(addr, sizeof(addr), "%s@x.org", local);
	assert_parse_ok(addr, local, "x.org");

	rep(local, 'a', LIMIT_ADDR_LOCAL + 1);
	snprintf(addr, sizeof(addr), "%s@x.org", local);
	assert_parse_bad(addr);
}

static void
test_parse_total_length(void **state)
{
	char local[LIMIT_ADDR_LOCAL + 1], domain[LIMIT_ADDR_DOMAIN + 1];
	char a63[64], b63[64], c[64];
	char addr[600];

	/* 64 + 1 + 189 = 254: the longest address. */
	rep(local, 'l', 64);
	rep(a63, 'a', 63);
	rep(b63, 'b', 63);
	rep(c, 'c', 61);
	snprintf(domain, sizeof(domain), "%s.%s.%s", a63, b63, c);
	assert_int_equal(strlen(domain), 189);
	snprintf(addr, sizeof(addr), "%s@%s", local, domain);
	assert_int_equal(strlen(addr), LIMIT_ADDR_TOTAL);
	assert_parse_ok(addr, local, domain);

	/* One more octet in the domain: 255 in all. */
	rep(c, 'c', 62);
	snprintf(domain, sizeof(domain), "%s.%s.%s", a63, b63, c);
	snprintf(addr, sizeof(addr), "%s@%s", local, domain);
	assert_int_equal(strlen(addr), LIMIT_ADDR_TOTAL + 1);
	assert_true(address_domain_valid(domain));
	assert_parse_bad(addr);

	/* Far too long must be refused without trouble. */
	memset(addr, 'x', sizeof(addr) - 1);
	addr[sizeof(addr) - 1] = '\0';
	addr[10] = '@';
	assert_parse_bad(addr);
}

static void
test_parse_structure(void **state)
{
	assert_parse_bad("");
	assert_parse_bad("alice");			/* no @ */
	assert_parse_bad("alice.example.org");
	assert_parse_bad("@example.org");		/* empty local */
	assert_parse_bad("alice@");			/* empty domain */
	assert_parse_bad("@");
	assert_parse_bad(".alice@example.org");	/* leading dot */
	assert_parse_bad("alice.@example.org");	/* trailing dot */
	assert_parse_bad("al..ice@example.org");	/* double dot */
	assert_parse_bad(".@example.org");
	assert_parse_bad("a b@example.org");		/* not atext */
	assert_parse_bad("a\"b@example.org");
	assert_parse_bad("\"alice\"@example.org");	/* no quoted strings */
	assert_parse_bad("a(b)@example.org");
	assert_parse_bad("a,b@example.org");
	assert_parse_bad("a;b@example.org");
	assert_parse_bad("a<b@example.org");
	assert_parse_bad("a\\b@example.org");
	assert_parse_bad("a\tb@example.org");
	assert_parse_bad("a\rb@example.org");
	assert_parse_bad("a@b@example.org");
	assert_parse_bad("<alice@example.org>");
	assert_parse_bad("alice@[1.2.3.4]");		/* no address literals */
}

static void
test_parse_bad_domain(void **state)
{
	char addr[128], label[70];

	assert_parse_bad("a@-x.org");		/* label starts with '-' */
	assert_parse_bad("a@x-.org");		/* label ends with '-' */
	assert_parse_bad("a@x.org-");
	assert_parse_bad("a@x..org");		/* empty label */
	assert_parse_bad("a@.x.org");
	assert_parse_bad("a@x.org.");
	assert_parse_bad("a@x_y.org");
	assert_parse_bad("a@x y.org");
	assert_parse_bad("a@x!y.org");
	assert_parse_bad("a@x/y.org");

	snprintf(addr, sizeof(addr), "a@%s.org", rep(label, 'x', 63));
	assert_parse_ok(addr, "a", addr + 2);
	snprintf(addr, sizeof(addr), "a@%s.org", rep(label, 'x', 64));
	assert_parse_bad(addr);
}

static void
test_domain_valid(void **state)
{
	char label[70], name[400];

	assert_true(address_domain_valid("example.org"));
	assert_true(address_domain_valid("localhost"));
	assert_true(address_domain_valid("a-b.c-d.e"));
	assert_true(address_domain_valid("xn--bcher-kva.de"));
	assert_true(address_domain_valid("b\xc3\xbc" "cher.de"));
	assert_true(address_domain_valid("Example.ORG"));
	assert_true(address_domain_valid("123.example"));

	assert_false(address_domain_valid(""));
	assert_false(address_domain_valid("."));
	assert_false(address_domain_valid("a..b"));
	assert_false(address_domain_valid(".a"));
	assert_false(address_domain_valid("a."));
	assert_false(address_domain_valid("-a.b"));
	assert_false(address_domain_valid("a-.b"));
	assert_false(address_domain_valid("a_b.c"));
	assert_false(address_domain_valid("a b"));
	assert_false(address_domain_valid("[1.2.3.4]"));
	assert_false(address_domain_valid("a@b"));
	assert_false(address_domain_valid("b\xff.de"));
	assert_false(address_domain_valid("b\xc3.de"));

	assert_true(address_domain_valid(rep(label, 'x', 63)));
	assert_false(address_domain_valid(rep(label, 'x', 64)));

	/* 63+1+63+1+63+1+63 = 255 octets: the longest domain. */
	rep(label, 'x', 63);
	snprintf(name, sizeof(name), "%s.%s.%s.%s", label, label, label,
	    label);
	assert_int_equal(strlen(name), 255);
	assert_true(address_domain_valid(name));
	/* 63+1+63+1+63+1+62+1+1 = 256 octets, every label short enough. */
	{
		char l62[64];

		rep(l62, 'y', 62);
		snprintf(name, sizeof(name), "%s.%s.%s.%s.z", label, label,
		    label, l62);
	}
	assert_int_equal(strlen(name), 256);
	assert_false(address_domain_valid(name));
}

static void
test_domain_fold(void **state)
{
	char out[LIMIT_ADDR_DOMAIN + 1];
	const char *error = NULL;

	assert_int_equal(address_domain_fold("Mail.Example.ORG", out, &error),
	    0);
	assert_string_equal(out, "mail.example.org");
	assert_int_equal(address_domain_fold("a..b", out, &error), -1);
	assert_non_null(error);
	error = NULL;
	assert_int_equal(address_domain_fold("", out, &error), -1);
	assert_non_null(error);
}

static void
test_strip_detail(void **state)
{
	char out[LIMIT_ADDR_LOCAL + 1];
	char local[LIMIT_ADDR_LOCAL + 1];

	assert_true(address_strip_detail("alice+tag", out));
	assert_string_equal(out, "alice");
	assert_true(address_strip_detail("alice+", out));
	assert_string_equal(out, "alice");
	assert_true(address_strip_detail("a+b+c", out));
	assert_string_equal(out, "a");
	assert_true(address_strip_detail("first.last+lists", out));
	assert_string_equal(out, "first.last");

	/* No detail, or a leading '+': false, out untouched. */
	strcpy(out, "untouched");
	assert_false(address_strip_detail("alice", out));
	assert_string_equal(out, "untouched");
	assert_false(address_strip_detail("+tag", out));
	assert_string_equal(out, "untouched");
	assert_false(address_strip_detail("", out));
	assert_string_equal(out, "untouched");

	/* The longest local part still fits out. */
	rep(local, 'a', LIMIT_ADDR_LOCAL);
	local[LIMIT_ADDR_LOCAL - 1] = '+';
	assert_true(address_strip_detail(local, out));
	assert_int_equal(strlen(out), LIMIT_ADDR_LOCAL - 1);
}

#define U8(s) (s), (sizeof(s) - 1)

static void
test_utf8(void **state)
{
	assert_true(utf8_valid("", 0));
	assert_true(utf8_valid(U8("plain ascii")));
	assert_true(utf8_valid(U8("\x00")));			/* U+0000 */
	assert_true(utf8_valid(U8("\x7f")));
	assert_true(utf8_valid(U8("\xc2\x80")));		/* U+0080 */
	assert_true(utf8_valid(U8("\xc3\xa9")));		/* é */
	assert_true(utf8_valid(U8("\xdf\xbf")));		/* U+07FF */
	assert_true(utf8_valid(U8("\xe0\xa0\x80")));		/* U+0800 */
	assert_true(utf8_valid(U8("\xe2\x82\xac")));		/* € */
	assert_true(utf8_valid(U8("\xed\x9f\xbf")));		/* U+D7FF */
	assert_true(utf8_valid(U8("\xee\x80\x80")));		/* U+E000 */
	assert_true(utf8_valid(U8("\xef\xbf\xbf")));		/* U+FFFF */
	assert_true(utf8_valid(U8("\xf0\x90\x80\x80")));	/* U+10000 */
	assert_true(utf8_valid(U8("\xf0\x9f\x98\x80")));	/* 😀 */
	assert_true(utf8_valid(U8("\xf4\x8f\xbf\xbf")));	/* U+10FFFF */
	assert_true(utf8_valid(U8("a\xc3\xa9z\xe2\x82\xac")));

	/* Overlong forms. */
	assert_false(utf8_valid(U8("\xc0\x80")));
	assert_false(utf8_valid(U8("\xc0\xaf")));
	assert_false(utf8_valid(U8("\xc1\xbf")));
	assert_false(utf8_valid(U8("\xe0\x80\x80")));
	assert_false(utf8_valid(U8("\xe0\x9f\xbf")));
	assert_false(utf8_valid(U8("\xf0\x80\x80\x80")));
	assert_false(utf8_valid(U8("\xf0\x8f\xbf\xbf")));
	/* Surrogates U+D800..U+DFFF. */
	assert_false(utf8_valid(U8("\xed\xa0\x80")));
	assert_false(utf8_valid(U8("\xed\xbf\xbf")));
	assert_false(utf8_valid(U8("\xed\xb0\x80")));
	/* Above U+10FFFF, and bytes that never occur. */
	assert_false(utf8_valid(U8("\xf4\x90\x80\x80")));
	assert_false(utf8_valid(U8("\xf5\x80\x80\x80")));
	assert_false(utf8_valid(U8("\xf8\x88\x80\x80\x80")));
	assert_false(utf8_valid(U8("\xfe")));
	assert_false(utf8_valid(U8("\xff")));
	/* Truncated sequences, at the end and in the middle. */
	assert_false(utf8_valid(U8("\xc3")));
	assert_false(utf8_valid(U8("\xe2\x82")));
	assert_false(utf8_valid(U8("\xf0\x9f\x98")));
	assert_false(utf8_valid(U8("a\xe2\x82z")));
	assert_false(utf8_valid(U8("\xf0\x9f\x98z")));
	/* A length that cuts a valid sequence. */
	assert_false(utf8_valid("\xc3\xa9", 1));
	assert_false(utf8_valid("\xf0\x9f\x98\x80", 3));
	/* Lone continuation bytes. */
	assert_false(utf8_valid(U8("\x80")));
	assert_false(utf8_valid(U8("a\xbf")));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_valid),
		cmocka_unit_test(test_parse_folds_case),
		cmocka_unit_test(test_parse_utf8),
		cmocka_unit_test(test_parse_local_length),
		cmocka_unit_test(test_parse_total_length),
		cmocka_unit_test(test_parse_structure),
		cmocka_unit_test(test_parse_bad_domain),
		cmocka_unit_test(test_domain_valid),
		cmocka_unit_test(test_domain_fold),
		cmocka_unit_test(test_strip_detail),
		cmocka_unit_test(test_utf8),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
