/*
 * fuzz_smtp_reply.c - libFuzzer target for what the SMTP client reads
 * from a server and how it writes message text.
 *
 * The input is split at LF (a CR before it dropped, as conn.c does) into
 * reply lines, fed to smtp_client_parse_reply() one reply after another,
 * and each line is given to smtp_client_parse_ehlo_line(). Checked
 * besides memory safety: a complete reply has a code of 200..599 equal
 * to its lines' first three digits and at most SMTP_CLIENT_REPLY_LINES
 * lines; a malformed one has code 0 and stays malformed; the text is
 * always NUL-terminated, printable ASCII and starts with the code; a
 * SIZE limit is only there when SIZE is.
 *
 * The same input is also message text for the dot-stuffer, whole and in
 * chunks whose sizes come from the first byte: the output must be the
 * same for every chunking, have only CRLF line ends, hold no "." line
 * but the last, and unstuff to the input with its line ends made CRLF
 * (SMTP smuggling needs a line end other than CRLF on the wire).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtpd/smtp_client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Room for the stuffed text of any input libFuzzer gives (-max_len is
 * at most a few KiB here; each input byte yields at most 2 out). */
#define OUT_MAX	(2 * 1024 * 1024)

static void
check_text(const struct smtp_client_reply *r)
{
	size_t n = strnlen(r->text, sizeof(r->text));

	if (n == sizeof(r->text))
		abort();
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)r->text[i] < 0x20 ||
		    (unsigned char)r->text[i] >= 0x7f)
			abort();
	}
}

static void
check_replies(const char *s, size_t size)
{
	struct smtp_client_reply_state st;
	struct smtp_client_reply r;
	struct smtp_client_caps caps;
	size_t start = 0, end, len;
	int ret;

	memset(&st, 0, sizeof(st));
	memset(&caps, 0, sizeof(caps));
	while (start < size) {
		const char *lf = memchr(s + start, '\n', size - start);

		end = lf != NULL ? (size_t)(lf - s) : size;
		len = end - start;
		if (len > 0 && s[start + len - 1] == '\r')
			len--;
		/* Exactly len bytes: a read past them is the sanitizer's. */
		ret = smtp_client_parse_reply(&st, s + start, len, &r);
		smtp_client_parse_ehlo_line(&caps, s + start, len);
		if (ret < -1 || ret > 1)
			abort();
		if (ret == 0 && r.code != 0)
			abort();
		if (ret != 0)
			check_text(&r);
		if (ret == 1) {
			if (r.code < 200 || r.code > 599 || len < 3 ||
			    r.code != (s[start] - '0') * 100 +
			    (s[start + 1] - '0') * 10 + (s[start + 2] - '0') ||
			    memcmp(r.text, s + start, 3) != 0 ||
			    st.lines > SMTP_CLIENT_REPLY_LINES ||
			    len > SMTP_CLIENT_LINE_MAX)
				abort();
			memset(&st, 0, sizeof(st));
		} else if (ret == -1) {
			if (r.code != 0)
				abort();
			/* Stays malformed until zeroed. */
			if (smtp_client_parse_reply(&st, "250 ok", 6, &r) != -1)
				abort();
			memset(&st, 0, sizeof(st));
		}
		start = end + 1;
	}
	if (caps.size_max != 0 && !caps.size)
		abort();
	if ((caps.auth_plain || caps.auth_login) && !caps.auth)
		abort();
}

struct out {
	char *buf;
	size_t len;
};

static int
sink(void *arg, const void *data, size_t len)
{
	struct out *o = arg;

	if (len > OUT_MAX - o->len)
		abort();
	memcpy(o->buf + o->len, data, len);
	o->len += len;
	return 0;
}

static void
stuff(const char *s, size_t size, size_t chunk, struct out *o)
{
	struct smtp_client_dot st;
	size_t off = 0, n;

	o->len = 0;
	smtp_client_dot_init(&st);
	while (off < size) {
		n = size - off < chunk ? size - off : chunk;
		if (smtp_client_dot_stuff(&st, s + off, n, sink, o) != 0)
			abort();
		off += n;
	}
	if (smtp_client_dot_end(&st, sink, o) != 0)
		abort();
}

/* normalize: s with CRLF, bare CR and bare LF as CRLF and a final CRLF
 * when it lacks one (what the wire text must unstuff to). */
static size_t
normalize(const char *s, size_t size, char *out)
{
	size_t i, n = 0;

	for (i = 0; i < size; i++) {
		if (s[i] == '\r' || s[i] == '\n') {
			if (s[i] == '\r' && i + 1 < size && s[i + 1] == '\n')
				i++;
			out[n++] = '\r';
			out[n++] = '\n';
		} else {
			out[n++] = s[i];
		}
	}
	if (n > 0 && !(n >= 2 && out[n - 2] == '\r' && out[n - 1] == '\n')) {
		out[n++] = '\r';
		out[n++] = '\n';
	}
	return n;
}

static void
check_stuffing(const char *s, size_t size)
{
	static char a[OUT_MAX], b[OUT_MAX], norm[OUT_MAX], un[OUT_MAX];
	struct out whole = { a, 0 }, parts = { b, 0 };
	size_t chunk, i, n, u = 0, bol;

	if (size == 0 || size > OUT_MAX / 4)
		return;
	chunk = (unsigned char)s[0] % 8 + 1;
	stuff(s, size, size, &whole);
	stuff(s, size, chunk, &parts);
	if (whole.len != parts.len || memcmp(a, b, whole.len) != 0)
		abort();

	/* Ends with the dot line; CR and LF come only as CRLF. */
	if (whole.len < 3 || memcmp(a + whole.len - 3, ".\r\n", 3) != 0 ||
	    (whole.len > 3 && (whole.len < 5 ||
	    memcmp(a + whole.len - 5, "\r\n", 2) != 0)))
		abort();
	for (i = 0; i < whole.len; i++) {
		if (a[i] == '\r' && (i + 1 == whole.len || a[i + 1] != '\n'))
			abort();
		if (a[i] == '\n' && (i == 0 || a[i - 1] != '\r'))
			abort();
	}

	/* Unstuff every line but the final "."; no other line is ".". */
	for (bol = 0; bol < whole.len - 3; ) {
		const char *line = a + bol;
		const char *crlf = memchr(line, '\n', whole.len - bol) - 1;
		size_t llen = (size_t)(crlf - line);

		if (llen == 1 && line[0] == '.')
			abort();
		if (llen > 0 && line[0] == '.') {
			if (llen < 2 || line[1] != '.')
				abort();	/* a "." left unstuffed */
			line++;
			llen--;
		}
		memcpy(un + u, line, llen);
		u += llen;
		un[u++] = '\r';
		un[u++] = '\n';
		bol = (size_t)(crlf - a) + 2;
	}
	n = normalize(s, size, norm);
	if (n != u || memcmp(norm, un, n) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;

	check_replies(s, size);
	check_stuffing(s, size);
	return 0;
}
