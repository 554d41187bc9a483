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

static void
skip_space(const char **p, const char *end)
{
	while (*p < end && (**p == ' ' || **p == '\t' || **p == '\r' ||
	    **p == '\n'))
		(*p)++;
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
	unsigned int day, year, digits, month = 12;

	skip_space(&p, end);
	/* An optional day name and comma. */
	if (p < end && ascii_is_alpha((unsigned char)*p)) {
		while (p < end && ascii_is_alpha((unsigned char)*p))
			p++;
		skip_space(&p, end);
		if (p < end && *p == ',')
			p++;
		skip_space(&p, end);
	}
	if (read_number(&p, end, 2, &day, &digits) != 0)
		return -1;
	skip_space(&p, end);
	if (end - p < 3)
		return -1;
	for (unsigned int i = 0; i < 12; i++)
		if (ascii_ieq(p, 3, imap_months[i]))
			month = i;
	if (month == 12)
		return -1;
	p += 3;
	skip_space(&p, end);
	if (read_number(&p, end, 4, &year, &digits) != 0)
		return -1;
	/* RFC 5322 4.3: 00-49 are 2000-2049, 50-99 and three digits add
	 * 1900. */
	if (digits == 2)
		year += year < 50 ? 2000 : 1900;
	else if (digits == 3)
		year += 1900;
	if (day < 1 || day > 31)
		return -1;
	*day_r = imap_days_from_civil(year, month + 1, day);
	return 0;
}
