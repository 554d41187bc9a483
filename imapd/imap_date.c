/*
 * imap_date.c - the day of an RFC 5322 Date: field (RFC 5322 3.3, with
 * 4.3's obsolete forms: two- and three-digit years, missing weekday,
 * comments and odd spacing), for SEARCH SENTBEFORE/SENTON/SENTSINCE.
 *
 * RFC 3501 6.4.4 compares dates "disregarding time and timezone", so
 * only day, month and year are read, in the sender's zone. Untrusted
 * input: a bounded left-to-right scan.
 */
#include "common/ascii.h"
#include "imapd/imap_search.h"

/* skip_cfws: RFC 5322 3.2.2 CFWS: white space, line folds and comments
 * (nested, with quoted-pairs). An unterminated comment runs to the end.
 * Nesting is counted, not recursed into. */
static void
skip_cfws(const char **p, const char *end)
{
	size_t nest = 0;

	while (*p < end) {
		char c = **p;

		if (nest > 0 && c == '\\' && end - *p >= 2) {
			*p += 2;
			continue;
		}
		if (c == '(')
			nest++;
		else if (c == ')' && nest > 0)
			nest--;
		else if (nest == 0 && c != ' ' && c != '\t' && c != '\r' &&
		    c != '\n')
			return;
		(*p)++;
	}
}

static int
read_number(const char **p, const char *end, unsigned int max_digits,
    unsigned int *n_r, unsigned int *digits_r)
{
	unsigned int n = 0, digits = 0;

	while (*p < end && ascii_is_digit((unsigned char)**p) &&
	    digits < max_digits) {
		n = n * 10 + (unsigned int)(**p - '0');
		(*p)++;
		digits++;
	}
	if (digits == 0)
		return -1;
	*n_r = n;
	*digits_r = digits;
	return 0;
}

int
imap_date_parse(const char *s, size_t len, int64_t *day_r)
{
	const char *p = s, *end = s + len;
	static const unsigned char mdays[12] =
	    { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	unsigned int day, year, digits, month = 12;

	skip_cfws(&p, end);
	/* An optional day name and comma. */
	if (p < end && ascii_is_alpha((unsigned char)*p)) {
		while (p < end && ascii_is_alpha((unsigned char)*p))
			p++;
		skip_cfws(&p, end);
		if (p < end && *p == ',')
			p++;
		skip_cfws(&p, end);
	}
	if (read_number(&p, end, 2, &day, &digits) != 0)
		return -1;
	skip_cfws(&p, end);
	if (end - p < 3)
		return -1;
	for (unsigned int i = 0; i < 12; i++)
		if (ascii_ieq(p, 3, imap_months[i]))
			month = i;
	if (month == 12)
		return -1;
	p += 3;
	skip_cfws(&p, end);
	/* RFC 5322 3.3 year is 4*DIGIT, 4.3 obs-year 2*DIGIT: one digit is
	 * no year, and more than four are not read in part. */
	if (read_number(&p, end, 4, &year, &digits) != 0 || digits < 2 ||
	    (p < end && ascii_is_digit((unsigned char)*p)))
		return -1;
	/* RFC 5322 4.3: 00-49 are 2000-2049, 50-99 and three digits add
	 * 1900. */
	if (digits == 2)
		year += year < 50 ? 2000 : 1900;
	else if (digits == 3)
		year += 1900;
	/* A day the month lacks is no date, not a day of the next. */
	if (day < 1 || day > mdays[month] || (month == 1 && day == 29 &&
	    !((year % 4 == 0 && year % 100 != 0) || year % 400 == 0)))
		return -1;
	*day_r = imap_days_from_civil(year, month + 1, day);
	return 0;
}
