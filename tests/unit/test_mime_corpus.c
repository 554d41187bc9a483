/*
 * test_mime_corpus.c - mime_parse() against Dovecot's answers.
 *
 * For every NN-name.eml under $LETTERBOX_SRCDIR/tests/data/mime (one
 * cmocka test case per file, the list built at run time), the ENVELOPE,
 * BODYSTRUCTURE and BODY strings of mime_parse() must equal byte for byte
 * what Dovecot 2.3 sent for `FETCH (ENVELOPE BODYSTRUCTURE BODY)` of the
 * same message, as recorded in NN-name.expected by fetch_dovecot.py (format:
 * tests/data/mime/README.md). Every mismatch is reported with the file
 * name, the item, the expected and the actual value and the first
 * differing offset. A file may differ only when it is listed in
 * KNOWN_DIFFERENCES[] below with the RFC reason; such a file is reported
 * and passes. The bar: at least 30 messages.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/mime.h"

#define CORPUS_SUBDIR "/tests/data/mime"
#define CORPUS_MIN 30

/*
 * Files whose answer may differ from Dovecot's, each with the RFC reason
 * letterbox's answer is as correct as Dovecot's (or more). file is the
 * .eml name (e.g. "36-bare-lf.eml"); item is
 * "ENVELOPE", "BODYSTRUCTURE", "BODY" or NULL for all of them.
 */
struct known_difference {
	const char *file;
	const char *item;
	const char *reason;
};

static const struct known_difference KNOWN_DIFFERENCES[] = {
	{ NULL, NULL, NULL }
};

static char corpus_dir[4096];
static int n_match, n_known, n_differ;

static const char *
known_reason(const char *file, const char *item)
{
	const struct known_difference *k;

	for (k = KNOWN_DIFFERENCES; k->file != NULL; k++)
		if (strcmp(k->file, file) == 0 &&
		    (k->item == NULL || strcmp(k->item, item) == 0))
			return k->reason;
	return NULL;
}

static char *
read_file(const char *path, size_t *len_r)
{
	FILE *fp;
	char *buf = NULL;
	size_t cap = 0, len = 0, n;

	if ((fp = fopen(path, "rb")) == NULL)
		return NULL;
	for (;;) {
		if (len + 65536 + 1 > cap) {
			cap = cap == 0 ? 65536 * 2 : cap * 2;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		n = fread(buf + len, 1, cap - len - 1, fp);
		len += n;
		if (n == 0)
			break;
	}
	fclose(fp);
	buf[len] = '\0';
	*len_r = len;
	return buf;
}

/*
 * skip_value: one past the IMAP value at s[i] (atom, NIL, number, quoted
 * string, literal {n}CRLF<n bytes>, or parenthesized list); len on error.
 */
static size_t
skip_value(const char *s, size_t len, size_t i)
{
	if (i >= len)
		return len;
	if (s[i] == '(') {
		i++;
		while (i < len && s[i] != ')') {
			if (s[i] == ' ') {
				i++;
				continue;
			}
			i = skip_value(s, len, i);
		}
		return i < len ? i + 1 : len;
	}
	if (s[i] == '"') {
		for (i++; i < len && s[i] != '"'; i++)
			if (s[i] == '\\')
				i++;
		return i < len ? i + 1 : len;
	}
	if (s[i] == '{') {
		char *end;
		unsigned long long n = strtoull(s + i + 1, &end, 10);

		if (*end == '+')
			end++;
		if (end[0] != '}' || end[1] != '\r' || end[2] != '\n')
			return len;
		i = (size_t)(end + 3 - s);
		return n > len - i ? len : i + n;
	}
	while (i < len && s[i] != ' ' && s[i] != ')' && s[i] != '\n' &&
	    s[i] != '\r')
		i++;
	return i;
}

/* One "NAME value\n" line of a .expected file. */
struct expected_item {
	char name[32];
	const char *value;
	size_t len;
};

static int
parse_expected(const char *s, size_t len, struct expected_item *items,
    int max)
{
	size_t i = 0, j, v;
	int n = 0;

	while (i < len && n < max) {
		for (j = i; j < len && s[j] != ' ' && s[j] != '\n'; j++)
			;
		if (j >= len || s[j] != ' ' || j - i >= sizeof(items[n].name))
			return -1;
		memcpy(items[n].name, s + i, j - i);
		items[n].name[j - i] = '\0';
		v = j + 1;
		j = skip_value(s, len, v);
		if (j >= len || s[j] != '\n')
			return -1;
		items[n].value = s + v;
		items[n].len = j - v;
		n++;
		i = j + 1;
	}
	return i == len ? n : -1;
}

/* Prints s with control bytes escaped (literals keep their CRLF visible). */
static void
print_escaped(const char *label, const char *s, size_t len)
{
	size_t i;

	fprintf(stderr, "    %s (%zu bytes): ", label, len);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\r')
			fputs("\\r", stderr);
		else if (c == '\n')
			fputs("\\n", stderr);
		else if (c < 0x20 || c == 0x7f)
			fprintf(stderr, "\\x%02x", c);
		else
			fputc(c, stderr);
	}
	fputc('\n', stderr);
}

static void
test_corpus_file(void **state)
{
	const char *name = *state;
	char path[4096 + 256];
	char *eml, *exp;
	size_t eml_len, exp_len, base;
	struct expected_item items[8];
	struct mime_message msg;
	int nitems, i, bad = 0, known = 0;

	snprintf(path, sizeof(path), "%s/%s", corpus_dir, name);
	eml = read_file(path, &eml_len);
	if (eml == NULL)
		fail_msg("%s: %s", path, strerror(errno));
	base = strlen(path) - strlen(".eml");
	snprintf(path + base, sizeof(path) - base, ".expected");
	exp = read_file(path, &exp_len);
	if (exp == NULL)
		fail_msg("%s: %s (run tests/data/mime/fetch_dovecot.py)",
		    path, strerror(errno));
	nitems = parse_expected(exp, exp_len, items, 8);
	if (nitems < 2)
		fail_msg("%s: malformed (see tests/data/mime/README.md)", path);

	memset(&msg, 0, sizeof(msg));
	assert_int_equal(mime_parse(eml, eml_len, &msg), 0);

	for (i = 0; i < nitems; i++) {
		const char *got = NULL, *reason;
		size_t got_len, off;

		if (strcmp(items[i].name, "ENVELOPE") == 0)
			got = msg.envelope;
		else if (strcmp(items[i].name, "BODYSTRUCTURE") == 0)
			got = msg.bodystructure;
		else if (strcmp(items[i].name, "BODY") == 0)
			got = msg.body;
		else
			continue;
		if (got == NULL)
			got = "";
		got_len = strlen(got);
		if (got_len == items[i].len &&
		    memcmp(got, items[i].value, got_len) == 0)
			continue;
		for (off = 0; off < got_len && off < items[i].len &&
		    got[off] == items[i].value[off]; off++)
			;
		reason = known_reason(name, items[i].name);
		fprintf(stderr, "%s %s: %s %s differs at byte %zu\n",
		    reason != NULL ? "KNOWN" : "MISMATCH", name,
		    items[i].name, reason != NULL ? "(listed)" : "", off);
		if (reason != NULL)
			fprintf(stderr, "    reason: %s\n", reason);
		print_escaped("expected", items[i].value, items[i].len);
		print_escaped("got     ", got, got_len);
		if (reason != NULL)
			known++;
		else
			bad++;
	}
	mime_message_free(&msg);
	free(eml);
	free(exp);
	if (bad > 0) {
		n_differ++;
		fail_msg("%s: %d item(s) differ from Dovecot", name, bad);
	}
	if (known > 0)
		n_known++;
	else
		n_match++;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
main(void)
{
	const char *src = getenv("LETTERBOX_SRCDIR");
	struct CMUnitTest *tests;
	char **names = NULL;
	size_t n = 0, cap = 0, i, l;
	struct dirent *de;
	DIR *d;
	int rc;

	if (src == NULL)
		src = getenv("srcdir");
	if (src == NULL)
		src = ".";
	snprintf(corpus_dir, sizeof(corpus_dir), "%s%s", src, CORPUS_SUBDIR);
	if ((d = opendir(corpus_dir)) == NULL) {
		fprintf(stderr, "%s: %s (set LETTERBOX_SRCDIR)\n", corpus_dir,
		    strerror(errno));
		return 1;
	}
	while ((de = readdir(d)) != NULL) {
		l = strlen(de->d_name);
		if (l <= 4 || strcmp(de->d_name + l - 4, ".eml") != 0)
			continue;
		if (n == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			names = realloc(names, cap * sizeof(*names));
			if (names == NULL)
				return 1;
		}
		if ((names[n++] = strdup(de->d_name)) == NULL)
			return 1;
	}
	closedir(d);
	if (n < CORPUS_MIN) {
		fprintf(stderr, "%s: %zu messages, the bar is %d\n",
		    corpus_dir, n, CORPUS_MIN);
		return 1;
	}
	qsort(names, n, sizeof(*names), cmp_names);
	if ((tests = calloc(n, sizeof(*tests))) == NULL)
		return 1;
	for (i = 0; i < n; i++) {
		tests[i].name = names[i];
		tests[i].test_func = test_corpus_file;
		tests[i].initial_state = names[i];
	}
	rc = _cmocka_run_group_tests("mime_corpus", tests, n, NULL, NULL);
	fprintf(stderr, "mime corpus: %zu files: %d match Dovecot, "
	    "%d differ as listed, %d differ unlisted\n", n, n_match, n_known,
	    n_differ);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(tests);
	return rc;
}
