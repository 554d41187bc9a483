/*
 * cmd_message.c - letterbox message list|show: look at stored mail.
 *
 * Input: an address, a mailbox name and a UID from the command line, and
 * the stored messages themselves, which are untrusted: header text is
 * unfolded and filtered (control characters, invalid UTF-8) before it is
 * printed, and only the first CLI_HEADER_MAX bytes of a message are read
 * to find it. "show" writes the stored bytes unchanged.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cli/cli.h"
#include "common/xalloc.h"

/* Bytes asked of the store per read while looking for the header's end. */
#define HEADER_READ_STEP	(16 * 1024)

/* mailbox_get: the user of address and their mailbox name; prints what
 * is missing. On success the caller clears both. */
static int
mailbox_get(struct cli_ctx *ctx, const char *address, const char *name,
    struct store_user *user_r, struct store_mailbox *box_r)
{
	int ret;

	if (cli_user_get(ctx, address, user_r) < 0)
		return CLI_ERR_FAIL;
	ret = store_mailbox_get(ctx->st, user_r->id, name, box_r);
	if (ret == 0)
		return 0;
	if (ret == STORE_ERR_NOT_FOUND || ret == STORE_ERR_INVALID)
		cli_fail(ctx, "%s: no mailbox \"%s\"", user_r->address, name);
	else
		cli_fail(ctx, "%s: \"%s\": %s", user_r->address, name,
		    store_strerror(ret));
	store_user_clear(user_r);
	return CLI_ERR_FAIL;
}

/* header_end: true when the len bytes at s hold the empty line that ends
 * a header section (RFC 5322 2.1), or start with it. */
static bool
header_end(const char *s, size_t len)
{
	if ((len >= 1 && s[0] == '\n') ||
	    (len >= 2 && s[0] == '\r' && s[1] == '\n'))
		return true;
	for (size_t i = 0; i + 1 < len; i++) {
		if (s[i] != '\n')
			continue;
		if (s[i + 1] == '\n' ||
		    (s[i + 1] == '\r' && i + 2 < len && s[i + 2] == '\n'))
			return true;
	}
	return false;
}

/*
 * header_read: the start of body body_id up to the end of its header
 * section or CLI_HEADER_MAX bytes, whichever comes first, in chunks so
 * that a large message is not read whole. *hdr_r is malloc'd.
 */
static int
header_read(struct cli_ctx *ctx, int64_t body_id, char **hdr_r,
    size_t *len_r)
{
	char *buf = xmalloc(CLI_HEADER_MAX);
	size_t len = 0, n;
	int ret;

	while (len < CLI_HEADER_MAX) {
		size_t want = CLI_HEADER_MAX - len;

		if (want > HEADER_READ_STEP)
			want = HEADER_READ_STEP;
		ret = store_body_read_range(ctx->st, body_id, (int64_t)len,
		    buf + len, want, &n);
		if (ret < 0) {
			free(buf);
			return ret;
		}
		if (n == 0)
			break;
		len += n;
		if (header_end(buf, len))
			break;
	}
	*hdr_r = buf;
	*len_r = len;
	return 0;
}

/* line_len: the length of the line at s (len bytes left) without its
 * line end; *next_r is where the next line starts. */
static size_t
line_len(const char *s, size_t len, size_t *next_r)
{
	const char *nl = memchr(s, '\n', len);
	size_t n = nl != NULL ? (size_t)(nl - s) : len;

	*next_r = nl != NULL ? n + 1 : len;
	if (n > 0 && s[n - 1] == '\r')
		n--;
	return n;
}

/* field_name_match: true when the line (n bytes) is field name, with
 * *value_r the offset just past its ':' (RFC 5322 3.6; the obsolete
 * syntax of 4.5.8 allows blanks before the colon). */
static bool
field_name_match(const char *line, size_t n, const char *name,
    size_t *value_r)
{
	size_t k = strlen(name);

	if (n <= k || strncasecmp(line, name, k) != 0)
		return false;
	while (k < n && (line[k] == ' ' || line[k] == '\t'))
		k++;
	if (k == n || line[k] != ':')
		return false;
	*value_r = k + 1;
	return true;
}

/*
 * header_field: the first field called name in the header section hdr
 * (len bytes), unfolded (RFC 5322 2.2.3: a line end before a blank is
 * removed), trimmed and filtered into out (size bytes). Empty when absent.
 */
static void
header_field(const char *hdr, size_t len, const char *name, char *out,
    size_t size)
{
	size_t pos = 0, next, n, start;
	char *value;
	size_t vlen = 0;

	out[0] = '\0';
	while (pos < len) {
		n = line_len(hdr + pos, len - pos, &next);
		if (n == 0)
			return;	/* the end of the header section */
		if (field_name_match(hdr + pos, n, name, &start))
			break;
		pos += next;
	}
	if (pos >= len)
		return;

	value = xmalloc(len + 1);
	memcpy(value, hdr + pos + start, n - start);
	vlen = n - start;
	for (pos += next; pos < len &&
	    (hdr[pos] == ' ' || hdr[pos] == '\t'); pos += next) {
		n = line_len(hdr + pos, len - pos, &next);
		memcpy(value + vlen, hdr + pos, n);
		vlen += n;
	}
	start = 0;
	while (start < vlen && (value[start] == ' ' || value[start] == '\t'))
		start++;
	while (vlen > start &&
	    (value[vlen - 1] == ' ' || value[vlen - 1] == '\t'))
		vlen--;
	cli_text_clean(value + start, vlen - start, CLI_FIELD_WIDTH, out,
	    size);
	free(value);
}

/* flags_format: the flags as Maildir's info letters (D draft, F flagged,
 * R answered, S seen, T deleted), or "-". */
static const char *
flags_format(uint32_t flags, char *buf)
{
	static const struct {
		uint32_t flag;
		char letter;
	} letters[] = {
		{ STORE_FLAG_DRAFT, 'D' },
		{ STORE_FLAG_FLAGGED, 'F' },
		{ STORE_FLAG_ANSWERED, 'R' },
		{ STORE_FLAG_SEEN, 'S' },
		{ STORE_FLAG_DELETED, 'T' },
	};
	size_t o = 0;

	for (size_t i = 0; i < sizeof(letters) / sizeof(letters[0]); i++)
		if (flags & letters[i].flag)
			buf[o++] = letters[i].letter;
	if (o == 0)
		buf[o++] = '-';
	buf[o] = '\0';
	return buf;
}

/* date_format: seconds since the epoch as local "YYYY-MM-DD HH:MM". */
static const char *
date_format(int64_t when, char *buf, size_t size)
{
	time_t t = (time_t)when;
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL ||
	    strftime(buf, size, "%Y-%m-%d %H:%M", &tm) == 0)
		snprintf(buf, size, "%" PRId64, when);
	return buf;
}

/* message_row: one line of the listing for message m. */
static int
message_row(struct cli_ctx *ctx, const struct store_message *m,
    struct cli_table *table)
{
	/* Each field: CLI_FIELD_WIDTH characters of up to 4 bytes. */
	char from[4 * CLI_FIELD_WIDTH + 4], subject[4 * CLI_FIELD_WIDTH + 4];
	char uid[16], flags[8], size[32], date[64];
	const char *row[6] = { uid, flags, size, date, from, subject };
	char *hdr;
	size_t len;
	int ret;

	if ((ret = header_read(ctx, m->body_id, &hdr, &len)) < 0)
		return cli_fail(ctx, "UID %" PRIu32 ": %s", m->uid,
		    store_strerror(ret));
	header_field(hdr, len, "From", from, sizeof(from));
	header_field(hdr, len, "Subject", subject, sizeof(subject));
	free(hdr);
	snprintf(uid, sizeof(uid), "%" PRIu32, m->uid);
	flags_format(m->flags, flags);
	snprintf(size, sizeof(size), "%" PRId64, m->size);
	date_format(m->internal_date, date, sizeof(date));
	cli_table_add(table, row);
	return 0;
}

/* cli_message_list: "message list ADDRESS [MAILBOX]" (INBOX by
 * default). */
int
cli_message_list(struct cli_ctx *ctx, int argc, char **argv)
{
	static const char *const headers[] = {
		"UID", "FLAGS", "SIZE", "DATE", "FROM", "SUBJECT",
	};
	struct store_message *msgs = NULL;
	struct store_mailbox box;
	struct store_user user;
	struct cli_table table;
	const char *pos[2], *name;
	size_t n = 0;
	int ret;

	if ((ret = cli_args_parse(ctx, argc, argv, NULL, 0, pos, 1, 2)) < 0)
		return ret;
	name = pos[1] != NULL ? pos[1] : "INBOX";
	if (cli_open(ctx) < 0 ||
	    mailbox_get(ctx, pos[0], name, &user, &box) < 0)
		return CLI_ERR_FAIL;
	ret = store_message_list(ctx->st, box.id, 1, 0, &msgs, &n);
	if (ret < 0) {
		ret = cli_fail(ctx, "%s: \"%s\": %s", user.address, box.name,
		    store_strerror(ret));
	} else {
		cli_table_init(&table, 6, headers, "rlrlll");
		for (size_t i = 0; i < n && ret == 0; i++)
			ret = message_row(ctx, &msgs[i], &table);
		if (ret == 0)
			cli_table_print(&table, stdout);
		cli_table_free(&table);
		store_message_list_free(&msgs, n);
	}
	store_mailbox_clear(&box);
	store_user_clear(&user);
	return ret;
}

/* uid_parse: a UID, 1 to 4294967295 (RFC 3501 2.3.1.1), digits only. */
static int
uid_parse(const char *s, uint32_t *uid_r)
{
	unsigned long long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v == 0 || v > UINT32_MAX)
		return -1;
	*uid_r = (uint32_t)v;
	return 0;
}

/* cli_message_show: "message show ADDRESS MAILBOX UID": the exact stored
 * bytes on stdout. */
int
cli_message_show(struct cli_ctx *ctx, int argc, char **argv)
{
	struct store_mailbox box;
	struct store_user user;
	const char *pos[3];
	char *data = NULL;
	size_t len = 0;
	uint32_t uid;
	int ret;

	if ((ret = cli_args_parse(ctx, argc, argv, NULL, 0, pos, 3, 3)) < 0)
		return ret;
	if (uid_parse(pos[2], &uid) < 0)
		return cli_fail(ctx, "\"%s\": a UID is a number from 1 to "
		    "4294967295", pos[2]);
	if (cli_open(ctx) < 0 ||
	    mailbox_get(ctx, pos[0], pos[1], &user, &box) < 0)
		return CLI_ERR_FAIL;
	ret = store_body_read(ctx->st, box.id, uid, &data, &len);
	if (ret == STORE_ERR_NOT_FOUND)
		ret = cli_fail(ctx, "%s: no message with UID %" PRIu32
		    " in \"%s\"", user.address, uid, box.name);
	else if (ret < 0)
		ret = cli_fail(ctx, "%s: \"%s\" UID %" PRIu32 ": %s",
		    user.address, box.name, uid, store_strerror(ret));
	else if (fwrite(data, 1, len, stdout) != len)
		ret = cli_fail(ctx, "writing to stdout: %s", strerror(errno));
	free(data);
	store_mailbox_clear(&box);
	store_user_clear(&user);
	return ret;
}
