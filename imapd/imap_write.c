/*
 * imap_write.c - the response writer's pieces (RFC 3501 9): strings as
 * quoted strings or literals, NIL, flag lists, dates, mailbox names.
 *
 * Whatever the string holds (CR, LF, 8-bit, quotes), what is written
 * parses back to the same bytes: anything a quoted string cannot carry
 * goes as a literal.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "imapd/imap_mutf7.h"
#include "imapd/imap_session.h"

/* Longer strings go as literals: easier on clients' line buffers. */
#define QUOTED_MAX 1024

static bool
quotable(const char *s, size_t len)
{
	if (len > QUOTED_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == 0 || c == '\r' || c == '\n' || c >= 0x80)
			return false;
	}
	return true;
}

void
imap_write_string(struct conn *conn, const char *s, size_t len)
{
	size_t start = 0;

	if (!quotable(s, len)) {
		conn_printf(conn, "{%zu}\r\n", len);
		conn_write(conn, s, len);
		return;
	}
	conn_write(conn, "\"", 1);
	for (size_t i = 0; i < len; i++) {
		if (s[i] != '"' && s[i] != '\\')
			continue;
		conn_write(conn, s + start, i - start);
		conn_write(conn, "\\", 1);
		start = i;
	}
	conn_write(conn, s + start, len - start);
	conn_write(conn, "\"", 1);
}

void
imap_write_astring(struct conn *conn, const char *s, size_t len)
{
	bool atom = len > 0;

	for (size_t i = 0; i < len && atom; i++)
		atom = imap_is_atom_char((unsigned char)s[i]);
	if (atom)
		conn_write(conn, s, len);
	else
		imap_write_string(conn, s, len);
}

void
imap_write_nstring(struct conn *conn, const char *s)
{
	if (s == NULL)
		conn_write(conn, "NIL", 3);
	else
		imap_write_string(conn, s, strlen(s));
}

void
imap_write_flags(struct conn *conn, uint32_t flags, const char *keywords,
    bool recent)
{
	static const struct {
		uint32_t bit;
		const char *name;
	} names[] = {
		{ STORE_FLAG_ANSWERED, "\\Answered" },
		{ STORE_FLAG_FLAGGED, "\\Flagged" },
		{ STORE_FLAG_DELETED, "\\Deleted" },
		{ STORE_FLAG_SEEN, "\\Seen" },
		{ STORE_FLAG_DRAFT, "\\Draft" },
	};
	const char *sep = "";

	conn_write(conn, "(", 1);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if ((flags & names[i].bit) == 0)
			continue;
		conn_printf(conn, "%s%s", sep, names[i].name);
		sep = " ";
	}
	if (recent) {
		conn_printf(conn, "%s\\Recent", sep);
		sep = " ";
	}
	if (keywords != NULL && keywords[0] != '\0')
		conn_printf(conn, "%s%s", sep, keywords);
	conn_write(conn, ")", 1);
}

void
imap_write_date_time(struct conn *conn, int64_t t)
{
	static const char *const months[12] = {
		"Jan", "Feb", "Mar", "Apr", "May", "Jun",
		"Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
	};
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	conn_printf(conn, "\"%02d-%s-%04d %02d:%02d:%02d +0000\"",
	    tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour,
	    tm.tm_min, tm.tm_sec);
}

int
imap_uidset_format(const uint32_t *uids, size_t n, char *out, size_t size)
{
	size_t len = 0;

	if (size == 0)
		return -1;
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		size_t j = i;
		int w;

		if (uids[i] == 0)
			continue;
		while (j + 1 < n && uids[j + 1] == uids[j] + 1)
			j++;
		if (j > i)
			w = snprintf(out + len, size - len, "%s%u:%u",
			    len > 0 ? "," : "", uids[i], uids[j]);
		else
			w = snprintf(out + len, size - len, "%s%u",
			    len > 0 ? "," : "", uids[i]);
		if (w < 0 || (size_t)w >= size - len)
			return -1;
		len += (size_t)w;
		i = j;
	}
	return 0;
}

void
imap_write_mailbox(struct conn *conn, const char *name)
{
	/* Modified UTF-7 is at most 8/3 of UTF-8's length, plus shifts. */
	char wire[LIMIT_MAILBOX_NAME * 3 + 16];
	int len = imap_utf8_to_mutf7(name, strlen(name), wire, sizeof(wire));

	/* The store only holds valid UTF-8 names. */
	if (len < 0)
		fatal("imap: mailbox name not UTF-8 in the store");
	imap_write_string(conn, wire, (size_t)len);
}
