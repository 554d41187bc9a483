/*
 * test_mime_text.c - the search text of messages (common/mime_text.h):
 * RFC 2047 encoded words, unfolding and raw 8-bit headers, transfer
 * encodings, charsets, HTML, the part tree (alternative, attachments,
 * message/rfc822) and case folding.
 *
 * Each test states its input and the exact UTF-8 expected. The functions
 * work on whole messages, so instead of byte-at-a-time feeding every
 * prefix of a message is decoded (a message cut anywhere), and the
 * corpus under tests/data/mime is run for a smoke test: every output is
 * valid UTF-8 without NULs, and a few known texts appear.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/mime.h"
#include "common/mime_text.h"

#define OUT_MAX (16 * 1024 * 1024)

/* ---- Helpers ----------------------------------------------------------- */

/* valid_utf8: s[0, n) is well-formed UTF-8 (RFC 3629) without NUL. */
static bool
valid_utf8(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, len, k;
	uint32_t cp;

	while (i < n) {
		if (p[i] == 0)
			return false;
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if (p[i] < 0xc2 || p[i] > 0xf4)
			return false;
		len = p[i] < 0xe0 ? 2 : p[i] < 0xf0 ? 3 : 4;
		if (n - i < len)
			return false;
		cp = p[i] & (0x7f >> len);
		for (k = 1; k < len; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 &&
		    cp <= 0xdfff))) || (len == 4 && (cp < 0x10000 ||
		    cp > 0x10ffff)))
			return false;
		i += len;
	}
	return true;
}

/* assert_buf: b holds exactly want; its bytes are valid UTF-8. */
#define assert_buf(b, want) assert_buf_at((b), (want), __LINE__)
static void
assert_buf_at(const struct buf *b, const char *want, int line)
{
	size_t n = strlen(want);

	if (b->len != n || (n > 0 && memcmp(b->data, want, n) != 0))
		fail_msg("line %d: got [%.*s], want [%s]", line, (int)b->len,
		    b->data != NULL ? b->data : "", want);
	if (!valid_utf8(b->data, b->len))
		fail_msg("line %d: output is not valid UTF-8", line);
}

/* header: mime_text_header(in) must give want. */
#define header(in, want) header_n_at((in), strlen(in), (want), __LINE__)
#define header_n(in, n, want) header_n_at((in), (n), (want), __LINE__)
static void
header_n_at(const char *in, size_t n, const char *want, int line)
{
	struct buf b;

	buf_init(&b, OUT_MAX);
	if (mime_text_header(in, n, &b) != 0)
		fail_msg("line %d: mime_text_header failed", line);
	assert_buf_at(&b, want, line);
	buf_free(&b);
}

enum which { HEADERS, BODY };

/* text: mime_text_headers() or mime_text_body() of msg must give want. */
#define text(msg, which, want) text_at((msg), (which), (want), __LINE__)
static void
text_at(const char *msg, enum which which, const char *want, int line)
{
	struct mime_message m;
	struct buf b;
	size_t len = strlen(msg);
	int ret;

	assert_int_equal(mime_parse(msg, len, &m), 0);
	buf_init(&b, OUT_MAX);
	ret = which == HEADERS ? mime_text_headers(msg, len, &m, &b) :
	    mime_text_body(msg, len, &m, &b);
	if (ret != 0)
		fail_msg("line %d: mime_text_%s failed", line,
		    which == HEADERS ? "headers" : "body");
	assert_buf_at(&b, want, line);
	buf_free(&b);
	mime_message_free(&m);
}

#define fold(in, want) fold_at((in), strlen(in), (want), __LINE__)
static void
fold_at(const char *in, size_t n, const char *want, int line)
{
	struct buf b;
	size_t wn = strlen(want);

	buf_init(&b, OUT_MAX);
	assert_int_equal(mime_text_fold(in, n, &b), 0);
	if (b.len != wn || (wn > 0 && memcmp(b.data, want, wn) != 0))
		fail_msg("line %d: got [%.*s], want [%s]", line, (int)b.len,
		    b.data != NULL ? b.data : "", want);
	buf_free(&b);
}

/* ---- RFC 2047 encoded words -------------------------------------------- */

static void
test_ew_utf8(void **state)
{
	header("=?UTF-8?B?w4TDlsOc?=", "ÄÖÜ");
	header("=?utf-8?q?Gr=C3=BC=C3=9Fe?=", "Grüße");
	header("Re: =?utf-8?b?5pel5pys6Kqe?= (x)", "Re: 日本語 (x)");
}

static void
test_ew_latin1(void **state)
{
	header("=?ISO-8859-1?Q?caf=E9_au_lait?=", "café au lait");
	header("=?iso-8859-1?b?Z3L8bmU=?=", "grüne");
}

static void
test_ew_iso2022jp(void **state)
{
	header("=?ISO-2022-JP?B?GyRCJEskWyRzJDQbKEI=?=", "にほんご");
	/* each word returns to ASCII; the two are joined */
	header("=?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?= "
	    "=?iso-2022-jp?b?GyRCRnxLXDhsGyhC?=", "テスト日本語");
}

static void
test_ew_windows1252(void **state)
{
	header("=?windows-1252?Q?=80uro_=93quoted=94?=", "€uro “quoted”");
	/* ISO-8859-1 read as Windows-1252, as WHATWG does */
	header("=?iso-8859-1?q?=96?=", "–");
}

static void
test_ew_iconv_charsets(void **state)
{
	header("=?koi8-r?b?8NLJ18XU?=", "Привет");
	header("=?windows-1251?Q?=CF=F0=E8=E2=E5=F2?=", "Привет");
	header("=?ks_c_5601-1987?B?x9GxuQ==?=", "한국");
	header("=?gb2312?B?1tDOxA==?=", "中文");
}

static void
test_ew_q_underscore(void **state)
{
	header("=?utf-8?q?hello_world=5F_?=", "hello world_ ");
	/* "=" not followed by two hex digits is itself */
	header("=?utf-8?q?a=3Db=zz=?=", "a=b=zz=");
}

static void
test_ew_malformed(void **state)
{
	static const char *const kept[] = {
		"=?UTF-8?B?bad base64?=",
		"=?utf-8?b?!!!!?=",
		"=?utf-8?b?QQ=Q?=",
		"=?utf-8?b?Q?=",
		"=?x-no-such-charset?q?abc?=",
		"=?utf-8?x?abc?=",
		"=??q?abc?=",
		"=?utf-8/TRANSLIT?q?abc?=",
		"=?utf-8?q?unterminated",
		"=?utf-8?q",
		"=?",
		"=?utf-8?q?a b?=",
	};
	size_t i;

	for (i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
		header(kept[i], kept[i]);
	/* one bad word does not spoil the good ones around it */
	header("=?bogus?q?x?= =?utf-8?q?ok?= =?utf-8?b?!!!?=",
	    "=?bogus?q?x?= ok =?utf-8?b?!!!?=");
	header("=?=?utf-8?q?x?=", "=?x");
	header("=?x?y?z?= =?=?", "=?x?y?z?= =?=?");
	/* a charset name longer than 40 characters is none */
	header("=?aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa?q?x?=",
	    "=?aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa?q?x?=");
}

static void
test_ew_adjacent_joined(void **state)
{
	header("=?utf-8?q?a?= =?utf-8?q?b?=\r\n =?utf-8?q?c?= d "
	    "=?utf-8?q?e?=", "abc d e");
	header("=?utf-8?q?a?==?utf-8?q?b?=", "ab");
	/* different charsets: joined too */
	header("=?iso-8859-1?q?=E9?=\t=?utf-8?q?=C3=A9?=", "éé");
	/* a character split between two words (RFC 2047 5 forbids it,
	 * senders do it) */
	header("=?utf-8?b?ww==?= =?utf-8?b?hA==?=", "Ä");
	/* white space next to text stays */
	header("x =?utf-8?q?a?= y", "x a y");
}

static void
test_ew_lang_suffix(void **state)
{
	header("=?US-ASCII*EN?Q?Keith_Moore?=", "Keith Moore");
	header("=?utf-8*de-DE?b?w6Q=?=", "ä");
}

static void
test_ew_embedded(void **state)
{
	/* words inside other text are decoded too (search is lenient) */
	header("a=?utf-8?q?b?=c", "abc");
	header("\"=?utf-8?q?J=C3=BCrgen?=\" <j@example.org>",
	    "\"Jürgen\" <j@example.org>");
}

/* ---- Raw header text --------------------------------------------------- */

static void
test_header_8bit_raw(void **state)
{
	header("Grüße aus Köln", "Grüße aus Köln");
	header("caf\xe9 cr\xe8me", "café crème");
	header("\x93quoted\x94", "“quoted”");
	/* raw text and encoded words side by side */
	header("J\xfcrgen =?utf-8?q?M=C3=BCller?=", "Jürgen Müller");
}

static void
test_header_unfold(void **state)
{
	header("a\r\n b\r\n\tc", "a b\tc");
	header("a\n b", "a b");
	header("a\rb", "a b");
	header_n("a\0b", 3, "a b");
	header("", "");
}

static void
test_headers_fields(void **state)
{
	text("From: =?utf-8?q?J=C3=BCrgen?= <j@example.org>\r\n"
	    "Subject: =?iso-8859-1?q?K=F6ln?=\r\n"
	    " und Bonn\r\n"
	    "X-Raw: caf\xe9\r\n"
	    "no colon here\r\n"
	    "Empty:\r\n"
	    "\r\n"
	    "Subject: not a header\r\n",
	    HEADERS,
	    "From: Jürgen <j@example.org>\n"
	    "Subject: Köln und Bonn\n"
	    "X-Raw: café\n"
	    "no colon here\n"
	    "Empty: \n");
	text("", HEADERS, "");
	text("\r\nbody only", HEADERS, "");
}

/* ---- Bodies ------------------------------------------------------------ */

static void
test_body_plain(void **state)
{
	text("Subject: x\r\n\r\nHello\r\nworld\r\n", BODY,
	    "Hello\r\nworld\r\n");
	text("Subject: x\r\n\r\nGr\xc3\xbc\xc3\x9f" "e", BODY, "Grüße");
	/* no charset, not UTF-8: Windows-1252 */
	text("Subject: x\r\n\r\nGr\xfc\xdf" "e", BODY, "Grüße");
	text("Subject: x\r\n", BODY, "");
}

static void
test_body_qp_soft_breaks(void **state)
{
	text("MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n"
	    "\r\n"
	    /* "=" before a line break, even after spaces, is a soft break */
	    "Gr=C3=BC=\r\n"
	    "=C3=9Fe, soft=  \r\n"
	    "break=0D=0Aline =3D=3d =XY=\n"
	    "end=", BODY,
	    "Grüße, softbreak\r\nline == =XYend");
}

static void
test_body_base64_garbage(void **state)
{
	text("MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: BASE64\r\n"
	    "\r\n"
	    "SGVs\r\n"
	    "bG8g!!d2\r\n"
	    " 9ybGQ=\r\n"
	    "IQ==\r\n"
	    "*** !!! ***\r\n", BODY, "Hello world!");
	/* a NUL decoded is a space; bits left over are dropped */
	text("Content-Type: text/plain\r\n"
	    "Content-Transfer-Encoding: base64\r\n"
	    "\r\n"
	    "YQBiYw", BODY, "a bc");
}

static void
test_body_latin1(void **state)
{
	text("MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=\"ISO-8859-1\"\r\n"
	    "Content-Transfer-Encoding: 8bit\r\n"
	    "\r\n"
	    "Gr\xfc\xdf" "e aus K\xf6ln, 10 \x80\r\n", BODY,
	    "Grüße aus Köln, 10 €\r\n");
	text("MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=iso-8859-1\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n"
	    "\r\n"
	    "=E4=F6=FC", BODY, "äöü");
}

static void
test_body_charsets(void **state)
{
	text("Content-Type: text/plain; charset=koi8-r\r\n\r\n"
	    "\xf0\xd2\xc9\xd7\xc5\xd4", BODY, "Привет");
	text("Content-Type: text/plain; charset=utf-16le\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n"
	    "SABpAA==", BODY, "Hi");
	/* unknown charset: kept when UTF-8, else Windows-1252 */
	text("Content-Type: text/plain; charset=x-unknown\r\n\r\n"
	    "K\xc3\xb6ln", BODY, "Köln");
	text("Content-Type: text/plain; charset=x-unknown\r\n\r\n"
	    "K\xf6ln", BODY, "Köln");
	/* declared UTF-8 that is not */
	text("Content-Type: text/plain; charset=utf-8\r\n\r\n"
	    "K\xf6ln", BODY, "Köln");
	/* bytes the charset does not define */
	text("Content-Type: text/plain; charset=shift_jis\r\n\r\n"
	    "a\xa0" "b", BODY, "a\xef\xbf\xbd" "b");
	/* without MIME-Version and Content-Type, no transfer encoding */
	text("Content-Transfer-Encoding: base64\r\n\r\nSGk=", BODY, "SGk=");
}

static void
test_body_html(void **state)
{
	text("Content-Type: text/html; charset=utf-8\r\n\r\n"
	    "<html><head><title>T</title>\r\n"
	    "<style>p { color: red }</style>"
	    "<script type=\"x\">if (a < b) alert('no')</script></head>\r\n"
	    "<body><p>Caf&eacute; &amp; cr&#232;me&nbsp;br&#xFB;l&eacute;e"
	    "</p><!-- a <b>comment</b> -->"
	    "<div>wo<b>r</b>d &unknown; &amp</div>a < b &#150; "
	    "<SCRIPT>x</Script >end</body></html>", BODY,
	    /* "&amp" without ";" is text, as any unknown entity */
	    "T Café & crème brûlée word &unknown; &amp a < b – end ");
}

static const char alternative[] =
	"MIME-Version: 1.0\r\n"
	"Content-Type: multipart/alternative; boundary=\"alt\"\r\n"
	"\r\n"
	"preamble\r\n"
	"--alt\r\n"
	"Content-Type: text/plain; charset=iso-8859-1\r\n"
	"Content-Transfer-Encoding: quoted-printable\r\n"
	"\r\n"
	"Gr=FC=DFe\r\n"
	"--alt\r\n"
	"Content-Type: text/html; charset=utf-8\r\n"
	"\r\n"
	"<p>Gr&uuml;&szlig;e</p>\r\n"
	"--alt--\r\n"
	"epilogue\r\n";

static void
test_body_alternative(void **state)
{
	text(alternative, BODY, "Grüße\nGrüße ");
}

static void
test_body_attachment(void **state)
{
	text("MIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed; boundary=b\r\n"
	    "\r\n"
	    "--b\r\n"
	    "Content-Type: text/plain\r\n"
	    "\r\n"
	    "See attached.\r\n"
	    "--b\r\n"
	    "Content-Type: application/pdf; name=r.pdf\r\n"
	    "Content-Disposition: attachment; filename=r.pdf\r\n"
	    "Content-Transfer-Encoding: base64\r\n"
	    "\r\n"
	    "JVBERi0xLjQKc2VjcmV0\r\n"
	    "--b\r\n"
	    "Content-Type: image/png\r\n"
	    "Content-Transfer-Encoding: base64\r\n"
	    "\r\n"
	    "iVBORw0KGgo=\r\n"
	    "--b--\r\n", BODY, "See attached.");
}

static void
test_body_nested_rfc822(void **state)
{
	text("MIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed; boundary=o\r\n"
	    "\r\n"
	    "--o\r\n"
	    "Content-Type: text/plain\r\n"
	    "\r\n"
	    "Forwarded.\r\n"
	    "--o\r\n"
	    "Content-Type: message/rfc822\r\n"
	    "\r\n"
	    "From: Carol <c@example.com>\r\n"
	    "Subject: =?utf-8?q?Innen_=C3=BC?=\r\n"
	    "Content-Type: message/rfc822\r\n"
	    "\r\n"
	    "Subject: deepest\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: base64\r\n"
	    "\r\n"
	    "w6R1w59lcnN0\r\n"
	    "--o--\r\n", BODY,
	    "Forwarded.\n"
	    "From: Carol <c@example.com>\n"
	    "Subject: Innen ü\n"
	    "Content-Type: message/rfc822\n"
	    "\n"
	    "Subject: deepest\n"
	    "Content-Type: text/plain; charset=utf-8\n"
	    "Content-Transfer-Encoding: base64\n"
	    "\n"
	    "äußerst");
}

/* ---- Folding ----------------------------------------------------------- */

static void
test_fold_scripts(void **state)
{
	fold("ÄÖÜ ΣΑΣ Привет", "äöü σασ привет");
	fold("HELLO, World 123", "hello, world 123");
	fold("ŁÓDŹ ŒUVRE Ǆ ǅ ÆØÅ Ÿ", "łódź œuvre ǆ ǆ æøå ÿ");
	fold("ΆΈΉΊΌΎΏ ς Ϊ", "άέήίόύώ σ ϊ");
	fold("ЁЖЇҐ Ӂ", "ёжїґ ӂ");
	fold("ԱՐՄԵՆԻԱ", "արմենիա");
	fold("ẞ ＡＢＣ Ω K", "ß ａｂｃ ω k");
	/* unchanged: already lower case, no case, or not folded by the
	 * index (İ) */
	fold("ß 日本語 ı İ", "ß 日本語 ı İ");
}

static void
test_fold_invalid(void **state)
{
	fold_at("A\xff" "B\xc3(\xe2\x82" "C\xc0\xaf", 10,
	    "a\xff" "b\xc3(\xe2\x82" "c\xc0\xaf", __LINE__);
	fold_at("\xed\xa0\x80Z", 4, "\xed\xa0\x80z", __LINE__);
	fold_at("", 0, "", __LINE__);
}

/* ---- Bounds ------------------------------------------------------------ */

static void
test_max_reached(void **state)
{
	struct mime_message m;
	struct buf b;
	const char *msg = "Subject: äöüäöü\r\n\r\näöüäöüäöü";
	size_t max;

	/* Every maximum: -1 once it is too small, the prefix is valid
	 * UTF-8 and no longer than the maximum. */
	assert_int_equal(mime_parse(msg, strlen(msg), &m), 0);
	for (max = 0; max < 40; max++) {
		int r1, r2, r3;

		buf_init(&b, max);
		r1 = mime_text_headers(msg, strlen(msg), &m, &b);
		assert_true(b.len <= max && valid_utf8(b.data, b.len));
		assert_int_equal(r1, max >= strlen("Subject: äöüäöü\n") ?
		    0 : -1);
		buf_free(&b);
		buf_init(&b, max);
		r2 = mime_text_body(msg, strlen(msg), &m, &b);
		assert_true(b.len <= max && valid_utf8(b.data, b.len));
		assert_int_equal(r2, max >= strlen("äöüäöüäöü") ? 0 : -1);
		buf_free(&b);
		buf_init(&b, max);
		r3 = mime_text_fold("ÄÖÜÄÖÜ", strlen("ÄÖÜÄÖÜ"), &b);
		assert_true(b.len <= max && valid_utf8(b.data, b.len));
		assert_int_equal(r3, max >= 12 ? 0 : -1);
		buf_free(&b);
	}
	mime_message_free(&m);
}

/* Inputs made to be quadratic for a naive scanner finish at once. */
static void
test_linear_inputs(void **state)
{
	static const char *const units[] = {
		"=?", "=?a", "=?utf-8?q?", "=?utf-8?q?=?", "<", "&#", "=?u?b?",
	};
	size_t u, i, n = 200000;
	struct buf b;
	char *s = malloc(n + 16);

	assert_non_null(s);
	for (u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
		size_t ul = strlen(units[u]);

		for (i = 0; i + ul <= n; i += ul)
			memcpy(s + i, units[u], ul);
		buf_init(&b, OUT_MAX);
		assert_int_equal(mime_text_header(s, i, &b), 0);
		assert_true(valid_utf8(b.data, b.len));
		buf_free(&b);
	}
	free(s);
}

/* Every prefix of a message (cut anywhere) decodes to valid UTF-8. */
static void
test_prefixes(void **state)
{
	static const char *const msgs[] = {
		alternative,
		"Subject: =?utf-8?b?w6TDtsO8?= =?iso-2022-jp?b?GyRCJEsbKEI=?=\r\n"
		"Content-Type: text/html; charset=iso-2022-jp\r\n"
		"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
		"<b>=1B$B$K=1B(B</b> &eacute;&#x41;\r\n",
	};
	size_t k, len;

	for (k = 0; k < sizeof(msgs) / sizeof(msgs[0]); k++) {
		for (len = 0; len <= strlen(msgs[k]); len++) {
			struct mime_message m;
			struct buf b;

			assert_int_equal(mime_parse(msgs[k], len, &m), 0);
			buf_init(&b, OUT_MAX);
			assert_int_equal(mime_text_headers(msgs[k], len, &m,
			    &b), 0);
			assert_int_equal(mime_text_body(msgs[k], len, &m, &b),
			    0);
			assert_true(valid_utf8(b.data, b.len));
			buf_free(&b);
			mime_message_free(&m);
		}
	}
}

/* ---- Corpus ------------------------------------------------------------ */

static char *
read_file(const char *path, size_t *len_r)
{
	FILE *fp = fopen(path, "rb");
	char *data = NULL;
	size_t cap = 0, len = 0, n;

	if (fp == NULL)
		return NULL;
	do {
		if (cap - len < 65536) {
			cap = cap == 0 ? 65536 : cap * 2;
			data = realloc(data, cap);
			assert_non_null(data);
		}
		n = fread(data + len, 1, cap - len, fp);
		len += n;
	} while (n > 0);
	fclose(fp);
	*len_r = len;
	return data;
}

/* contains: haystack b holds needle. */
static bool
contains(const struct buf *b, const char *needle)
{
	return b->data != NULL &&
	    memmem(b->data, b->len, needle, strlen(needle)) != NULL;
}

static void
test_corpus_smoke(void **state)
{
	static const struct {
		const char *file, *hdr, *body;
	} known[] = {
		{ "03-quoted-printable.eml", NULL, "Grüße aus Köln" },
		{ "04-base64-text.eml", NULL, "Base64 encoded text body." },
		{ "06-mixed-pdf.eml", NULL, "See the attached report." },
		{ "08-rfc822-forward.eml", NULL, "Subject: Original message" },
		{ "09-rfc822-in-rfc822.eml", NULL, "Innermost body." },
		{ "10-subject-utf8-b.eml", "Subject: Grüße aus Köln — 日本語",
		  NULL },
		{ "11-subject-utf8-q.eml",
		  "Subject: Café crème brûlée and  more €", NULL },
		{ "12-subject-iso-8859-1.eml", "Subject: Grüße aus Köln",
		  NULL },
		{ "13-subject-iso-2022-jp.eml", "Subject: テスト日本語", NULL },
		{ "14-subject-malformed-ew.eml",
		  "Subject: =?UTF-8?B?bad base64?=", NULL },
		{ "27-8bit-headers.eml", "From: Jürgen Müller", "Körper." },
	};
	const char *src = getenv("LETTERBOX_SRCDIR");
	char dir[4096], path[4096 + 256];
	struct dirent *de;
	DIR *d;
	size_t files = 0, checked = 0, k;

	snprintf(dir, sizeof(dir), "%s/tests/data/mime",
	    src != NULL ? src : ".");
	if ((d = opendir(dir)) == NULL)
		fail_msg("%s: %s (set LETTERBOX_SRCDIR)", dir,
		    strerror(errno));
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name), len = 0;
		struct mime_message m;
		struct buf hdr, body;
		char *data;

		if (l <= 4 || strcmp(de->d_name + l - 4, ".eml") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		data = read_file(path, &len);
		assert_non_null(data);
		assert_int_equal(mime_parse(data, len, &m), 0);
		buf_init(&hdr, OUT_MAX);
		buf_init(&body, OUT_MAX);
		assert_int_equal(mime_text_headers(data, len, &m, &hdr), 0);
		assert_int_equal(mime_text_body(data, len, &m, &body), 0);
		if (!valid_utf8(hdr.data, hdr.len) ||
		    !valid_utf8(body.data, body.len))
			fail_msg("%s: output is not valid UTF-8", de->d_name);
		/* decoding never makes much more text than was there */
		assert_true(hdr.len + body.len <= 3 * len + m.nparts);
		if (len > 0 && data[0] != '\r' && data[0] != '\n' &&
		    hdr.len == 0)
			fail_msg("%s: no header text", de->d_name);
		for (k = 0; k < sizeof(known) / sizeof(known[0]); k++) {
			if (strcmp(known[k].file, de->d_name) != 0)
				continue;
			if (known[k].hdr != NULL && !contains(&hdr,
			    known[k].hdr))
				fail_msg("%s: header text lacks [%s]:\n%.*s",
				    de->d_name, known[k].hdr, (int)hdr.len,
				    hdr.data);
			if (known[k].body != NULL && !contains(&body,
			    known[k].body))
				fail_msg("%s: body text lacks [%s]:\n%.*s",
				    de->d_name, known[k].body, (int)body.len,
				    body.data);
			checked++;
		}
		buf_free(&hdr);
		buf_free(&body);
		mime_message_free(&m);
		free(data);
		files++;
	}
	closedir(d);
	assert_true(files >= 30);
	assert_int_equal(checked, sizeof(known) / sizeof(known[0]));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ew_utf8),
		cmocka_unit_test(test_ew_latin1),
		cmocka_unit_test(test_ew_iso2022jp),
		cmocka_unit_test(test_ew_windows1252),
		cmocka_unit_test(test_ew_iconv_charsets),
		cmocka_unit_test(test_ew_q_underscore),
		cmocka_unit_test(test_ew_malformed),
		cmocka_unit_test(test_ew_adjacent_joined),
		cmocka_unit_test(test_ew_lang_suffix),
		cmocka_unit_test(test_ew_embedded),
		cmocka_unit_test(test_header_8bit_raw),
		cmocka_unit_test(test_header_unfold),
		cmocka_unit_test(test_headers_fields),
		cmocka_unit_test(test_body_plain),
		cmocka_unit_test(test_body_qp_soft_breaks),
		cmocka_unit_test(test_body_base64_garbage),
		cmocka_unit_test(test_body_latin1),
		cmocka_unit_test(test_body_charsets),
		cmocka_unit_test(test_body_html),
		cmocka_unit_test(test_body_alternative),
		cmocka_unit_test(test_body_attachment),
		cmocka_unit_test(test_body_nested_rfc822),
		cmocka_unit_test(test_fold_scripts),
		cmocka_unit_test(test_fold_invalid),
		cmocka_unit_test(test_max_reached),
		cmocka_unit_test(test_linear_inputs),
		cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_corpus_smoke),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
