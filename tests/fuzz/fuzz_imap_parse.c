/*
 * fuzz_imap_parse.c - libFuzzer target for the IMAP command grammar
 * (imapd/imap_parse.c, imapd/imap_fetch_parse.c) and FETCH body sections
 * (imapd/imap_section.c).
 *
 * The input is one command buffer as imap_reader.c assembles it (lines
 * joined with CRLF after each literal announcement, literal bytes in
 * place), copied into a writable buffer of exactly its size (quoted
 * strings are unescaped in place). It is parsed as the server parses
 * it: tag, SP, command name, SP, then the arguments of that command
 * (LOGIN, SELECT, LIST, FETCH, STORE, APPEND, ...); for a name the server
 * does not know, a byte of the input picks one grammar element to try.
 * Each line of the input also goes through imap_literal_marker.
 *
 * Checked besides memory safety and leaks: the cursor stays in the
 * buffer, a failure has an error text, every string result lies inside
 * the buffer, quoted strings hold no CR, LF or NUL and strings no NUL,
 * sequence numbers are 1..2^32-1 or '*' (or the set is "$"), numbers read back from their
 * digits, flags are known bits and keywords within bounds, a literal
 * announcement reads back from its digits, imap_str_copy agrees with
 * the string it copies, FETCH requests keep their limits; and each body
 * section of a FETCH is extracted from fixed messages with the answer
 * inside the message or the scratch buffer.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/mime.h"
#include "imapd/imap_fetch.h"
#include "imapd/imap_parse.h"
#include "store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ALL_SYSTEM_FLAGS (STORE_FLAG_SEEN | STORE_FLAG_ANSWERED | \
	STORE_FLAG_FLAGGED | STORE_FLAG_DELETED | STORE_FLAG_DRAFT)

/* Messages FETCH sections are taken from: parts 1 (text), 2 (message
 * holding text), 3 (message holding multipart: 3.1, 3.2); and bare LF
 * line ends with a folded field and no blank line before the end. */
static const char msg_multi[] =
    "From: a@example.org\r\nSubject: multi\r\nMIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n"
    "preamble\r\n--XX\r\nContent-Type: text/plain\r\n\r\npart one\r\n"
    "--XX\r\nContent-Type: message/rfc822\r\n\r\n"
    "Subject: inner\r\nFrom: b@example.org\r\n\r\ninner body\r\n"
    "--XX\r\nContent-Type: message/rfc822\r\n\r\n"
    "Subject: nested\r\n"
    "Content-Type: multipart/alternative; boundary=YY\r\n\r\n"
    "--YY\r\nContent-Type: text/plain\r\n\r\nplain\r\n"
    "--YY\r\nContent-Type: text/html\r\n\r\n<p>html</p>\r\n--YY--\r\n"
    "\r\n--XX--\r\nepilogue\r\n";
static const char msg_lf[] =
    "From: a\nSubject: x\n y\nTo: c\nX-Trunc: z";

struct fixed {
	const char *text;
	size_t len;
	char *data;		/* exact-size copy */
	struct mime_message mime;
};

static struct fixed fixed[] = {
	{ msg_multi, sizeof(msg_multi) - 1, NULL, { 0 } },
	{ msg_lf, sizeof(msg_lf) - 1, NULL, { 0 } },
};

static void
load_fixed(void)
{
	static bool loaded;

	if (loaded)
		return;
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		if ((fixed[i].data = malloc(fixed[i].len)) == NULL)
			abort();
		memcpy(fixed[i].data, fixed[i].text, fixed[i].len);
		if (mime_parse(fixed[i].data, fixed[i].len,
		    &fixed[i].mime) != 0)
			abort();
	}
	loaded = true;
}

/* ---- invariants ---- */

static char *buf_start, *buf_end;

static void
check_ps(const struct imap_parser *ps, int rc)
{
	if (rc != 0 && rc != -1)
		abort();
	if (ps->p < buf_start || ps->p > buf_end || ps->end != buf_end)
		abort();
	if (rc != 0 && ps->error == NULL)
		abort();
}

static void
check_inside(const struct imap_str *s)
{
	if (s->len == 0)
		return;
	if (s->s < buf_start || s->s > buf_end ||
	    s->len > (size_t)(buf_end - s->s))
		abort();
}

/* check_string: what imap_parse_string (and astring / list-mailbox on
 * their string forms) may give: no NUL; from a quoted string, no CR/LF. */
static void
check_string(const struct imap_str *s, bool quoted)
{
	check_inside(s);
	if (memchr(s->s, '\0', s->len) != NULL)
		abort();
	if (quoted && (memchr(s->s, '\r', s->len) != NULL ||
	    memchr(s->s, '\n', s->len) != NULL))
		abort();
}

/* check_copy: imap_str_copy gives the string and its NUL, or -1 when
 * it does not fit or holds a NUL. */
static void
check_copy(const struct imap_str *s)
{
	char out[64];
	bool fits = s->len < sizeof(out) &&
	    (s->len == 0 || memchr(s->s, '\0', s->len) == NULL);

	if (imap_str_copy(s, out, sizeof(out)) != (fits ? 0 : -1))
		abort();
	if (fits && (strlen(out) != s->len ||
	    (s->len > 0 && memcmp(out, s->s, s->len) != 0)))
		abort();
	if (imap_str_is(s, "") != (s->len == 0))
		abort();
}

typedef int (*str_fn)(struct imap_parser *, struct imap_str *);

/* parse_str: one string-valued element at the cursor, checked. */
static int
parse_str(struct imap_parser *ps, str_fn fn, struct imap_str *s)
{
	bool quoted = imap_parse_peek(ps, '"');
	bool literal = imap_parse_peek(ps, '{');
	int rc = fn(ps, s);

	check_ps(ps, rc);
	if (rc != 0)
		return rc;
	check_copy(s);
	if (fn == imap_parse_literal) {
		check_inside(s);
	} else if (fn == imap_parse_string || quoted || literal) {
		check_string(s, quoted);
	} else {
		/* An atom-like form is never empty, never holds a CTL or
		 * a space (8-bit bytes are accepted in astrings). */
		check_inside(s);
		if (s->len == 0)
			abort();
		for (size_t i = 0; i < s->len; i++) {
			unsigned char c = (unsigned char)s->s[i];

			if (c <= 0x20 || c == 0x7f)
				abort();
		}
	}
	return 0;
}

/* digits_value: the value of the n digits before p (saturating). */
static uint64_t
digits_value(const char *start, const char *p)
{
	uint64_t v = 0;

	for (const char *q = start; q < p; q++) {
		if (*q < '0' || *q > '9')
			abort();
		if (v > (UINT64_MAX - 9) / 10)
			return UINT64_MAX;
		v = v * 10 + (uint64_t)(*q - '0');
	}
	return v;
}

static int
parse_number(struct imap_parser *ps, bool nz)
{
	const char *start = ps->p;
	uint32_t n;
	int rc;

	rc = nz ? imap_parse_nz_number(ps, &n) : imap_parse_number(ps, &n);
	check_ps(ps, rc);
	if (rc == 0 && (digits_value(start, ps->p) != n || (nz && n == 0)))
		abort();
	return rc;
}

static int
parse_seqset(struct imap_parser *ps)
{
	struct imap_seqset set;
	int rc;

	memset(&set, 0x5a, sizeof(set));
	rc = imap_parse_seqset(ps, &set);
	check_ps(ps, rc);
	if (rc != 0) {
		if (set.v != NULL || set.n != 0)
			abort();
		return rc;
	}
	if (set.saved) {
		/* RFC 5182 "$": no ranges of its own. */
		if (set.n != 0 || set.v != NULL || ps->p[-1] != '$')
			abort();
		return 0;
	}
	if (set.n == 0 || set.v == NULL)
		abort();
	for (size_t i = 0; i < set.n; i++) {
		if (set.v[i].lo == 0 || set.v[i].hi == 0 ||
		    set.v[i].lo > IMAP_SEQ_STAR || set.v[i].hi > IMAP_SEQ_STAR)
			abort();
	}
	imap_seqset_free(&set);
	if (set.v != NULL || set.n != 0)
		abort();
	return 0;
}

static struct imap_flags flags_scratch;

static int
parse_flags(struct imap_parser *ps, bool list_only)
{
	struct imap_flags *f = &flags_scratch;
	int rc;

	memset(f, 0x5a, sizeof(*f));
	rc = list_only ? imap_parse_flag_list(ps, f) : imap_parse_flags(ps, f);
	check_ps(ps, rc);
	if (memchr(f->keywords, '\0', sizeof(f->keywords)) == NULL)
		abort();
	if (rc != 0)
		return rc;
	if ((f->flags & ~(uint32_t)ALL_SYSTEM_FLAGS) != 0)
		abort();
	/* Keywords: atoms of at most LIMIT_KEYWORD_LEN, single SP apart. */
	for (const char *k = f->keywords; *k != '\0';) {
		size_t n = strcspn(k, " ");

		if (n == 0 || n > LIMIT_KEYWORD_LEN)
			abort();
		for (size_t i = 0; i < n; i++)
			if (!imap_is_atom_char((unsigned char)k[i]))
				abort();
		k += n;
		if (*k == ' ')
			k++;
	}
	return 0;
}

static int
parse_date(struct imap_parser *ps, bool with_time)
{
	int64_t t = INT64_MIN;
	int rc;

	rc = with_time ? imap_parse_date_time(ps, &t) : imap_parse_date(ps, &t);
	check_ps(ps, rc);
	/* Years 0000-9999, zones up to +-99:59. */
	if (rc == 0 && (t < -62168000000LL - 400000LL ||
	    t > 253403000000LL + 400000LL))
		abort();
	if (rc == 0 && !with_time && t % 86400 != 0)
		abort();
	return rc;
}

/* ---- FETCH and sections ---- */

static void
check_section(struct fixed *m, const struct imap_fetch_body *b)
{
	struct buf scratch;
	const char *out = NULL;
	size_t out_len = 0;
	int rc;

	buf_init(&scratch, 1024 * 1024);
	rc = imap_section_extract(m->data, m->len, &m->mime, b, &scratch,
	    &out, &out_len);
	if (rc != 0 && rc != 1)
		abort();
	if (rc == 1) {
		volatile unsigned char sum = 0;

		if (out == NULL)
			abort();
		if (out >= m->data && out <= m->data + m->len) {
			if (out_len > (size_t)(m->data + m->len - out))
				abort();
		} else if (scratch.data != NULL && out >= scratch.data &&
		    out <= scratch.data + scratch.len) {
			if (out_len > (size_t)(scratch.data + scratch.len -
			    out))
				abort();
		} else if (out_len != 0) {
			abort();
		}
		/* Touch every byte: ASan checks the range. */
		for (size_t i = 0; i < out_len; i++)
			sum = (unsigned char)(sum + (unsigned char)out[i]);
		(void)sum;
	}
	/* Only a part number can be missing. */
	if (rc == 0 && b->part.len == 0)
		abort();
	buf_free(&scratch);
}

static int
parse_fetch(struct imap_parser *ps)
{
	struct imap_fetch_req req;
	int rc;

	memset(&req, 0x5a, sizeof(req));
	rc = imap_fetch_parse(ps, &req);
	check_ps(ps, rc);
	if (rc != 0) {
		if (req.nbodies != 0)
			abort();
		imap_fetch_req_free(&req);
		return rc;
	}
	if (!imap_parse_at_end(ps) || req.nbodies > LIMIT_IMAP_FETCH_BODIES ||
	    (req.items & ~0x7fu) != 0)
		abort();
	for (size_t i = 0; i < req.nbodies; i++) {
		const struct imap_fetch_body *b = &req.bodies[i];

		check_inside(&b->part);
		for (size_t j = 0; j < b->part.len; j++)
			if (b->part.s[j] != '.' &&
			    (b->part.s[j] < '0' || b->part.s[j] > '9'))
				abort();
		if (b->text == IMAP_SECTION_MIME && b->part.len == 0)
			abort();
		if ((b->nfields > 0) != (b->text ==
		    IMAP_SECTION_HEADER_FIELDS ||
		    b->text == IMAP_SECTION_HEADER_FIELDS_NOT))
			abort();
		for (size_t j = 0; j < b->nfields; j++) {
			check_inside(&b->fields[j]);
			if (b->fields[j].len == 0)
				abort();
		}
		if (b->partial && b->count == 0)
			abort();
		for (size_t k = 0; k < sizeof(fixed) / sizeof(fixed[0]); k++)
			check_section(&fixed[k], b);
	}
	{
		bool seen = false;

		for (size_t i = 0; i < req.nbodies; i++)
			seen = seen || !req.bodies[i].peek;
		if (imap_fetch_sets_seen(&req) != seen)
			abort();
	}
	imap_fetch_req_free(&req);
	if (req.nbodies != 0)
		abort();
	return 0;
}

/* ---- literal announcements ---- */

static void
check_marker(const char *line, size_t len)
{
	uint64_t size = 0;
	bool nonsync = false;
	size_t i;

	if (!imap_literal_marker(line, len, &size, &nonsync))
		return;
	if (len < 3 || line[len - 1] != '}')
		abort();
	i = len - 1;
	if (nonsync != (line[i - 1] == '+'))
		abort();
	if (nonsync)
		i--;
	{
		size_t digits = i;

		while (i > 0 && line[i - 1] >= '0' && line[i - 1] <= '9')
			i--;
		if (i == 0 || i == digits || line[i - 1] != '{')
			abort();
		if (digits - i <= 19 &&
		    digits_value(line + i, line + digits) != size)
			abort();
		if (digits - i > 19 && size != UINT64_MAX)
			abort();
	}
}

/* each_line: the marker over every CRLF-separated line, and over every
 * prefix of the first line (the reader never sees a partial line, but a
 * marker must not depend on what follows it). */
static void
each_line(const char *s, size_t n)
{
	size_t start = 0;

	for (size_t i = 0; i + 1 < n; i++) {
		if (s[i] == '\r' && s[i + 1] == '\n') {
			check_marker(s + start, i - start);
			start = i + 2;
		}
	}
	check_marker(s + start, n - start);
	check_marker(s, n);
}

/* ---- commands ---- */

static bool
is(const struct imap_str *s, const char *word)
{
	return imap_str_is(s, word);
}

/* fallback: one grammar element, picked by sel, at the cursor. */
static void
fallback(struct imap_parser *ps, unsigned char sel)
{
	struct imap_str s;

	switch (sel % 14) {
	case 0:
		(void)parse_str(ps, imap_parse_astring, &s);
		break;
	case 1:
		(void)parse_str(ps, imap_parse_list_mailbox, &s);
		break;
	case 2:
		(void)parse_seqset(ps);
		break;
	case 3:
		(void)parse_flags(ps, true);
		break;
	case 4:
		(void)parse_flags(ps, false);
		break;
	case 5:
		(void)parse_date(ps, true);
		break;
	case 6:
		(void)parse_date(ps, false);
		break;
	case 7:
		(void)parse_str(ps, imap_parse_literal, &s);
		break;
	case 8:
		(void)parse_fetch(ps);
		break;
	case 9:
		(void)parse_str(ps, imap_parse_string, &s);
		break;
	case 10:
		(void)parse_number(ps, false);
		break;
	case 11:
		(void)parse_number(ps, true);
		break;
	case 12:
		(void)parse_str(ps, imap_parse_word, &s);
		break;
	default:
		/* A sequence of astrings, as a list of arguments. */
		while (parse_str(ps, imap_parse_astring, &s) == 0 &&
		    imap_parse_sp(ps) == 0)
			;
		check_ps(ps, 0);
		break;
	}
	(void)imap_parse_end(ps);
	check_ps(ps, 0);
}

static void
command(struct imap_parser *ps, unsigned char sel)
{
	struct imap_str tag, verb, a, b;

	if (parse_str(ps, imap_parse_tag, &tag) != 0)
		return;
	for (size_t i = 0; i < tag.len; i++)
		if (tag.s[i] == '+')
			abort();
	if (imap_parse_sp(ps) != 0 || parse_str(ps, imap_parse_atom,
	    &verb) != 0)
		return;
	if (imap_parse_at_end(ps) || imap_parse_sp(ps) != 0)
		return;
	if (is(&verb, "LOGIN")) {
		if (parse_str(ps, imap_parse_astring, &a) == 0 &&
		    imap_parse_sp(ps) == 0)
			(void)parse_str(ps, imap_parse_astring, &b);
	} else if (is(&verb, "SELECT") || is(&verb, "EXAMINE") ||
	    is(&verb, "CREATE") || is(&verb, "DELETE") ||
	    is(&verb, "SUBSCRIBE") || is(&verb, "STATUS")) {
		(void)parse_str(ps, imap_parse_astring, &a);
	} else if (is(&verb, "LIST") || is(&verb, "LSUB")) {
		if (parse_str(ps, imap_parse_astring, &a) == 0 &&
		    imap_parse_sp(ps) == 0)
			(void)parse_str(ps, imap_parse_list_mailbox, &b);
	} else if (is(&verb, "FETCH") || is(&verb, "UID")) {
		if (is(&verb, "UID") && (parse_str(ps, imap_parse_atom,
		    &a) != 0 || imap_parse_sp(ps) != 0))
			return;
		if (parse_seqset(ps) == 0 && imap_parse_sp(ps) == 0) {
			if (is(&verb, "UID") && is(&a, "STORE")) {
				if (parse_str(ps, imap_parse_atom, &b) == 0 &&
				    imap_parse_sp(ps) == 0)
					(void)parse_flags(ps, false);
			} else {
				(void)parse_fetch(ps);
			}
		}
	} else if (is(&verb, "STORE")) {
		if (parse_seqset(ps) == 0 && imap_parse_sp(ps) == 0 &&
		    parse_str(ps, imap_parse_atom, &a) == 0 &&
		    imap_parse_sp(ps) == 0)
			(void)parse_flags(ps, false);
	} else if (is(&verb, "APPEND")) {
		if (parse_str(ps, imap_parse_astring, &a) != 0 ||
		    imap_parse_sp(ps) != 0)
			return;
		if (imap_parse_peek(ps, '(') && (parse_flags(ps, true) != 0 ||
		    imap_parse_sp(ps) != 0))
			return;
		if (imap_parse_peek(ps, '"') && (parse_date(ps, true) != 0 ||
		    imap_parse_sp(ps) != 0))
			return;
		(void)parse_str(ps, imap_parse_literal, &a);
	} else if (is(&verb, "SEARCH")) {
		if (parse_str(ps, imap_parse_atom, &a) == 0 &&
		    imap_parse_sp(ps) == 0)
			(void)parse_date(ps, false);
	} else {
		fallback(ps, sel);
		return;
	}
	(void)imap_parse_end(ps);
	check_ps(ps, 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_parser ps;
	char *buf;

	load_fixed();
	/* Writable, exactly size bytes: the sanitizer catches a parser
	 * that reads past its length. */
	if ((buf = malloc(size > 0 ? size : 1)) == NULL)
		abort();
	memcpy(buf, data, size);
	buf_start = buf;
	buf_end = buf + size;
	each_line(buf, size);
	imap_parser_init(&ps, buf, size);
	command(&ps, size > 0 ? (unsigned char)buf[size - 1] : 0);

	/* The whole buffer through the selected element, from its start. */
	memcpy(buf, data, size);
	imap_parser_init(&ps, buf, size);
	fallback(&ps, size > 0 ? (unsigned char)buf[0] : 0);
	free(buf);
	return 0;
}
