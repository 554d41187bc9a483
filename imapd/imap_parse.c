/*
 * imap_parse.c - the IMAP4rev1 grammar elements (RFC 3501 9) over one
 * complete command buffer (see imap_parse.h).
 *
 * Input is untrusted and already bounded by imap_reader.c (line octets,
 * literal octets). Every read checks ps->end first; numbers are checked
 * for overflow; sequence sets hold at most one range per two input
 * bytes, so their size is bounded by the line.
 */
#include <stdlib.h>
#include <string.h>

#include "common/ascii.h"
#include "common/xalloc.h"
#include "imapd/imap_parse.h"
#include "store/store.h"

int
imap_parse_fail(struct imap_parser *ps, const char *error)
{
	ps->error = error;
	return -1;
}

/* RFC 3501 9: atom-specials are ( ) { SP CTL list-wildcards
 * quoted-specials resp-specials; an ATOM-CHAR is any other 7-bit CHAR. */
bool
imap_is_atom_char(unsigned char c)
{
	if (c == 0 || c >= 0x80 || ascii_is_ctl(c))
		return false;
	return strchr("(){ %*\"\\]", c) == NULL;
}

/* is_astring_char: RFC 3501's ASTRING-CHAR, and 8-bit bytes: clients
 * send UTF-8 search terms and user names unquoted (Python's imaplib
 * does), and refusing them helps no one. */
static bool
is_astring_char(unsigned char c)
{
	return imap_is_atom_char(c) || c == ']' || c >= 0x80;
}

static bool
is_list_char(unsigned char c)
{
	return imap_is_atom_char(c) || c == '%' || c == '*' || c == ']';
}

void
imap_parser_init(struct imap_parser *ps, char *data, size_t len)
{
	ps->p = data;
	ps->end = data + len;
	ps->error = NULL;
}

bool
imap_parse_at_end(const struct imap_parser *ps)
{
	return ps->p == ps->end;
}

int
imap_parse_end(struct imap_parser *ps)
{
	return imap_parse_at_end(ps) ? 0 :
	    imap_parse_fail(ps, "Unexpected characters at the end of the command");
}

bool
imap_parse_peek(const struct imap_parser *ps, char c)
{
	return ps->p < ps->end && *ps->p == c;
}

int
imap_parse_char(struct imap_parser *ps, char c)
{
	if (!imap_parse_peek(ps, c))
		return imap_parse_fail(ps, c == ' ' ? "Missing space" :
		    c == ')' ? "Missing ')'" : c == '(' ? "Missing '('" :
		    "Unexpected character");
	ps->p++;
	return 0;
}

int
imap_parse_sp(struct imap_parser *ps)
{
	return imap_parse_char(ps, ' ');
}

static int
take_while(struct imap_parser *ps, bool (*ok)(unsigned char),
    struct imap_str *out, const char *error)
{
	const char *start = ps->p;

	while (ps->p < ps->end && ok((unsigned char)*ps->p))
		ps->p++;
	if (ps->p == start)
		return imap_parse_fail(ps, error);
	out->s = start;
	out->len = (size_t)(ps->p - start);
	return 0;
}

static bool
is_tag_char(unsigned char c)
{
	return (imap_is_atom_char(c) || c == ']') && c != '+';
}

int
imap_parse_tag(struct imap_parser *ps, struct imap_str *tag_r)
{
	return take_while(ps, is_tag_char, tag_r, "Invalid tag");
}

int
imap_parse_atom(struct imap_parser *ps, struct imap_str *atom_r)
{
	return take_while(ps, imap_is_atom_char, atom_r, "Expected an atom");
}

static bool
is_word_char(unsigned char c)
{
	return imap_is_atom_char(c) && c != '[';
}

int
imap_parse_word(struct imap_parser *ps, struct imap_str *word_r)
{
	return take_while(ps, is_word_char, word_r, "Expected a name");
}

static int
parse_quoted(struct imap_parser *ps, struct imap_str *str_r)
{
	char *out = ps->p + 1;	/* unescaped in place, never ahead of p */

	ps->p++;
	str_r->s = out;
	while (ps->p < ps->end) {
		unsigned char c = (unsigned char)*ps->p++;

		if (c == '"') {
			str_r->len = (size_t)(out - str_r->s);
			return 0;
		}
		if (c == '\\') {
			if (ps->p == ps->end ||
			    (*ps->p != '"' && *ps->p != '\\'))
				return imap_parse_fail(ps, "Invalid escape in a quoted "
				    "string");
			c = (unsigned char)*ps->p++;
		} else if (c == '\r' || c == '\n' || c == 0) {
			return imap_parse_fail(ps, "Invalid character in a quoted "
			    "string");
		}
		*out++ = (char)c;
	}
	return imap_parse_fail(ps, "Unterminated quoted string");
}

int
imap_parse_literal(struct imap_parser *ps, struct imap_str *data_r)
{
	uint64_t size = 0;
	const char *digits;

	if (imap_parse_char(ps, '{') != 0)
		return imap_parse_fail(ps, "Expected a literal");
	digits = ps->p;
	while (ps->p < ps->end && ascii_is_digit((unsigned char)*ps->p)) {
		size = size * 10 + (uint64_t)(*ps->p++ - '0');
		if (size > UINT32_MAX)
			return imap_parse_fail(ps, "Literal too large");
	}
	if (ps->p == digits)
		return imap_parse_fail(ps, "Invalid literal size");
	if (imap_parse_peek(ps, '+'))
		ps->p++;
	if (imap_parse_char(ps, '}') != 0 || ps->end - ps->p < 2 ||
	    ps->p[0] != '\r' || ps->p[1] != '\n')
		return imap_parse_fail(ps, "Invalid literal announcement");
	ps->p += 2;
	if ((uint64_t)(ps->end - ps->p) < size)
		return imap_parse_fail(ps, "Literal shorter than announced");
	data_r->s = ps->p;
	data_r->len = (size_t)size;
	ps->p += size;
	return 0;
}

int
imap_parse_string(struct imap_parser *ps, struct imap_str *str_r)
{
	if (imap_parse_peek(ps, '"'))
		return parse_quoted(ps, str_r);
	if (!imap_parse_peek(ps, '{'))
		return imap_parse_fail(ps, "Expected a string");
	if (imap_parse_literal(ps, str_r) != 0)
		return -1;
	if (memchr(str_r->s, '\0', str_r->len) != NULL)
		return imap_parse_fail(ps, "NUL in a literal");
	return 0;
}

int
imap_parse_astring(struct imap_parser *ps, struct imap_str *str_r)
{
	if (imap_parse_peek(ps, '"') || imap_parse_peek(ps, '{'))
		return imap_parse_string(ps, str_r);
	return take_while(ps, is_astring_char, str_r, "Expected a string");
}

int
imap_parse_list_mailbox(struct imap_parser *ps, struct imap_str *str_r)
{
	if (imap_parse_peek(ps, '"') || imap_parse_peek(ps, '{'))
		return imap_parse_string(ps, str_r);
	return take_while(ps, is_list_char, str_r,
	    "Expected a mailbox pattern");
}

int
imap_parse_number(struct imap_parser *ps, uint32_t *n_r)
{
	uint64_t n = 0;
	const char *start = ps->p;

	while (ps->p < ps->end && ascii_is_digit((unsigned char)*ps->p)) {
		n = n * 10 + (uint64_t)(*ps->p++ - '0');
		if (n > UINT32_MAX)
			return imap_parse_fail(ps, "Number too large");
	}
	if (ps->p == start)
		return imap_parse_fail(ps, "Expected a number");
	*n_r = (uint32_t)n;
	return 0;
}

int
imap_parse_number64(struct imap_parser *ps, uint64_t *n_r)
{
	uint64_t n = 0;
	const char *start = ps->p;

	while (ps->p < ps->end && ascii_is_digit((unsigned char)*ps->p)) {
		uint64_t digit = (uint64_t)(*ps->p++ - '0');

		/* RFC 7162 7: mod-sequence-value is below 2^63. */
		if (n > ((uint64_t)INT64_MAX - digit) / 10)
			return imap_parse_fail(ps, "Number too large");
		n = n * 10 + digit;
	}
	if (ps->p == start)
		return imap_parse_fail(ps, "Expected a number");
	*n_r = n;
	return 0;
}

int
imap_parse_nz_number(struct imap_parser *ps, uint32_t *n_r)
{
	if (imap_parse_number(ps, n_r) != 0)
		return -1;
	return *n_r == 0 ? imap_parse_fail(ps, "Zero is not a valid number here") : 0;
}

static int
parse_seq_number(struct imap_parser *ps, uint64_t *n_r)
{
	uint32_t n;

	if (imap_parse_peek(ps, '*')) {
		ps->p++;
		*n_r = IMAP_SEQ_STAR;
		return 0;
	}
	if (imap_parse_nz_number(ps, &n) != 0)
		return imap_parse_fail(ps, "Invalid sequence set");
	*n_r = n;
	return 0;
}

int
imap_parse_seqset(struct imap_parser *ps, struct imap_seqset *set_r)
{
	size_t cap = 0;

	set_r->v = NULL;
	set_r->n = 0;
	set_r->saved = false;
	if (imap_parse_peek(ps, '$')) {
		ps->p++;
		set_r->saved = true;
		return 0;
	}
	for (;;) {
		struct imap_range r;

		if (parse_seq_number(ps, &r.lo) != 0)
			goto fail;
		r.hi = r.lo;
		if (imap_parse_peek(ps, ':')) {
			ps->p++;
			if (parse_seq_number(ps, &r.hi) != 0)
				goto fail;
		}
		if (set_r->n == cap) {
			cap = cap == 0 ? 8 : cap * 2;
			set_r->v = xreallocarray(set_r->v, cap,
			    sizeof(*set_r->v));
		}
		set_r->v[set_r->n++] = r;
		if (!imap_parse_peek(ps, ','))
			return 0;
		ps->p++;
	}
fail:
	imap_seqset_free(set_r);
	return -1;
}

bool
imap_seqset_has(const struct imap_seqset *set, uint32_t x, uint32_t star)
{
	for (size_t i = 0; i < set->n; i++) {
		uint64_t lo = set->v[i].lo == IMAP_SEQ_STAR ? star :
		    set->v[i].lo;
		uint64_t hi = set->v[i].hi == IMAP_SEQ_STAR ? star :
		    set->v[i].hi;

		if ((x >= lo && x <= hi) || (x >= hi && x <= lo))
			return true;
	}
	return false;
}

void
imap_seqset_free(struct imap_seqset *set)
{
	free(set->v);
	set->v = NULL;
	set->n = 0;
}

static const struct {
	const char *name;
	uint32_t bit;
} system_flags[] = {
	{ "\\SEEN", STORE_FLAG_SEEN },
	{ "\\ANSWERED", STORE_FLAG_ANSWERED },
	{ "\\FLAGGED", STORE_FLAG_FLAGGED },
	{ "\\DELETED", STORE_FLAG_DELETED },
	{ "\\DRAFT", STORE_FLAG_DRAFT },
};

static int
parse_flag(struct imap_parser *ps, struct imap_flags *f)
{
	struct imap_str atom;
	size_t used;

	if (imap_parse_peek(ps, '\\')) {
		ps->p++;
		if (imap_parse_atom(ps, &atom) != 0)
			return imap_parse_fail(ps, "Invalid system flag");
		atom.s--;
		atom.len++;
		for (size_t i = 0; i < sizeof(system_flags) /
		    sizeof(system_flags[0]); i++) {
			if (imap_str_is(&atom, system_flags[i].name)) {
				f->flags |= system_flags[i].bit;
				return 0;
			}
		}
		/* RFC 3501 2.3.2: \Recent is the server's to set. */
		return imap_parse_fail(ps, "Invalid system flag");
	}
	if (imap_parse_atom(ps, &atom) != 0)
		return imap_parse_fail(ps, "Invalid flag");
	if (atom.len > LIMIT_KEYWORD_LEN)
		return imap_parse_fail(ps, "Keyword too long");
	used = strlen(f->keywords);
	/* @UNSAFE: room for a separator, the atom and the NUL. */
	if (used + 1 + atom.len >= sizeof(f->keywords))
		return imap_parse_fail(ps, "Too many keywords");
	if (used > 0)
		f->keywords[used++] = ' ';
	memcpy(f->keywords + used, atom.s, atom.len);
	f->keywords[used + atom.len] = '\0';
	return 0;
}

int
imap_parse_flag_list(struct imap_parser *ps, struct imap_flags *flags_r)
{
	flags_r->flags = 0;
	flags_r->keywords[0] = '\0';
	if (imap_parse_char(ps, '(') != 0)
		return imap_parse_fail(ps, "Expected a flag list");
	if (imap_parse_peek(ps, ')')) {
		ps->p++;
		return 0;
	}
	for (;;) {
		if (parse_flag(ps, flags_r) != 0)
			return -1;
		if (imap_parse_peek(ps, ')')) {
			ps->p++;
			return 0;
		}
		if (imap_parse_sp(ps) != 0)
			return imap_parse_fail(ps, "Invalid flag list");
	}
}

int
imap_parse_flags(struct imap_parser *ps, struct imap_flags *flags_r)
{
	if (imap_parse_peek(ps, '('))
		return imap_parse_flag_list(ps, flags_r);
	flags_r->flags = 0;
	flags_r->keywords[0] = '\0';
	for (;;) {
		if (parse_flag(ps, flags_r) != 0)
			return -1;
		if (!imap_parse_peek(ps, ' '))
			return 0;
		ps->p++;
	}
}

/* ---- Dates ------------------------------------------------------------ */

const char *const imap_months[12] = {
	"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
	"JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
};

int64_t
imap_days_from_civil(int64_t y, unsigned int m, unsigned int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static bool
leap_year(unsigned int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
parse_digits(struct imap_parser *ps, size_t count, unsigned int *n_r)
{
	unsigned int n = 0;

	if ((size_t)(ps->end - ps->p) < count)
		return -1;
	for (size_t i = 0; i < count; i++) {
		if (!ascii_is_digit((unsigned char)ps->p[i]))
			return -1;
		n = n * 10 + (unsigned int)(ps->p[i] - '0');
	}
	ps->p += count;
	*n_r = n;
	return 0;
}

/* parse_day_month_year: "d-Mon-yyyy"; fixed says the day has two
 * characters (date-day-fixed: a leading space or digit). */
static int
parse_day_month_year(struct imap_parser *ps, bool fixed, int64_t *days_r)
{
	static const unsigned char mdays[12] =
	    { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	unsigned int day, year, month = 12;

	if (fixed && imap_parse_peek(ps, ' ')) {
		ps->p++;
		if (parse_digits(ps, 1, &day) != 0)
			return -1;
	} else if (parse_digits(ps, 1, &day) != 0) {
		return -1;
	} else if (ps->p < ps->end && ascii_is_digit((unsigned char)*ps->p)) {
		day = day * 10 + (unsigned int)(*ps->p++ - '0');
	} else if (fixed) {
		return -1;
	}
	if (imap_parse_char(ps, '-') != 0 || ps->end - ps->p < 4)
		return -1;
	for (unsigned int i = 0; i < 12; i++)
		if (ascii_ieq(ps->p, 3, imap_months[i]))
			month = i;
	if (month == 12 || ps->p[3] != '-')
		return -1;
	ps->p += 4;
	if (parse_digits(ps, 4, &year) != 0 || day < 1 ||
	    day > mdays[month] || (month == 1 && day == 29 &&
	    !leap_year(year)))
		return -1;
	*days_r = imap_days_from_civil(year, month + 1, day);
	return 0;
}

int
imap_parse_date_time(struct imap_parser *ps, int64_t *time_r)
{
	unsigned int hh, mm, ss, zh, zm;
	int64_t days, zone;
	char sign;

	if (imap_parse_char(ps, '"') != 0 ||
	    parse_day_month_year(ps, true, &days) != 0 ||
	    imap_parse_sp(ps) != 0 || parse_digits(ps, 2, &hh) != 0 ||
	    imap_parse_char(ps, ':') != 0 || parse_digits(ps, 2, &mm) != 0 ||
	    imap_parse_char(ps, ':') != 0 || parse_digits(ps, 2, &ss) != 0 ||
	    imap_parse_sp(ps) != 0 || ps->p == ps->end)
		return imap_parse_fail(ps, "Invalid date-time");
	sign = *ps->p++;
	if ((sign != '+' && sign != '-') || parse_digits(ps, 2, &zh) != 0 ||
	    parse_digits(ps, 2, &zm) != 0 || imap_parse_char(ps, '"') != 0 ||
	    hh > 23 || mm > 59 || ss > 60 || zm > 59)
		return imap_parse_fail(ps, "Invalid date-time");
	zone = (int64_t)(zh * 60 + zm) * 60;
	*time_r = days * 86400 + hh * 3600 + mm * 60 + ss -
	    (sign == '+' ? zone : -zone);
	return 0;
}

int
imap_parse_date(struct imap_parser *ps, int64_t *time_r)
{
	bool quoted = imap_parse_peek(ps, '"');
	int64_t days;

	if (quoted)
		ps->p++;
	if (parse_day_month_year(ps, false, &days) != 0 ||
	    (quoted && imap_parse_char(ps, '"') != 0))
		return imap_parse_fail(ps, "Invalid date");
	*time_r = days * 86400;
	return 0;
}

/* ---- Helpers ---------------------------------------------------------- */

bool
imap_literal_marker(const char *line, size_t len, uint64_t *size_r,
    bool *nonsync_r)
{
	size_t i, digits;
	uint64_t size = 0;

	if (len < 3 || line[len - 1] != '}')
		return false;
	i = len - 1;
	*nonsync_r = line[i - 1] == '+';
	if (*nonsync_r)
		i--;
	digits = i;
	while (i > 0 && ascii_is_digit((unsigned char)line[i - 1]))
		i--;
	if (i == digits || i == 0 || line[i - 1] != '{')
		return false;
	/* More than 20 digits cannot fit: report it as too large. */
	if (digits - i > 19) {
		*size_r = UINT64_MAX;
		return true;
	}
	for (; i < digits; i++)
		size = size * 10 + (uint64_t)(line[i] - '0');
	*size_r = size;
	return true;
}

bool
imap_str_is(const struct imap_str *str, const char *word)
{
	return strlen(word) == str->len && ascii_ieq(str->s, str->len, word);
}

int
imap_str_copy(const struct imap_str *str, char *out, size_t size)
{
	if (str->len >= size || memchr(str->s, '\0', str->len) != NULL)
		return -1;
	memcpy(out, str->s, str->len);
	out[str->len] = '\0';
	return 0;
}
