/*
 * table.c - text for the terminal: cleaning untrusted text for display
 * (control characters and bad UTF-8 become '?') and aligned tables.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/address.h"
#include "common/xalloc.h"

/* ---- Text ------------------------------------------------------------- */

/* char_next: the length of the character at s (len > 0 bytes left) and,
 * in *ok_r, whether it may be printed: not a C0 or C1 control, not DEL,
 * valid UTF-8. An invalid byte is a character of length 1. */
static size_t
char_next(const unsigned char *s, size_t len, bool *ok_r)
{
	size_t n;

	if (s[0] < 0x80) {
		*ok_r = s[0] >= 0x20 && s[0] != 0x7f;
		return 1;
	}
	n = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc0 ? 2 : 1;
	if (n == 1 || n > len || !utf8_valid((const char *)s, n)) {
		*ok_r = false;
		return 1;
	}
	*ok_r = !(n == 2 && s[0] == 0xc2 && s[1] < 0xa0);
	return n;
}

const char *
cli_text_clean(const char *str, size_t len, size_t max, char *out,
    size_t size)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, o = 0, chars = 0, limit = max;
	bool ok, cut = false;

	/* Count first, so that a cut string ends in "..." within max. */
	while (i < len && chars <= max) {
		i += char_next(s + i, len - i, &ok);
		chars++;
	}
	if (chars > max) {
		cut = true;
		limit = max > 3 ? max - 3 : 0;
	}
	for (i = 0, chars = 0; i < len && chars < limit; chars++) {
		size_t n = char_next(s + i, len - i, &ok);

		/* @UNSAFE: keeps room for "..." and the NUL. */
		if (o + n + 4 > size)
			break;
		if (!ok) {
			out[o++] = s[i] == '\t' ? ' ' : '?';
		} else {
			memcpy(out + o, s + i, n);
			o += n;
		}
		i += n;
	}
	if (cut) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}

/* ---- Tables ----------------------------------------------------------- */

void
cli_table_init(struct cli_table *t, size_t ncols, const char *const *headers,
    const char *align)
{
	memset(t, 0, sizeof(*t));
	t->ncols = ncols;
	t->headers = headers;
	t->align = align;
}

void
cli_table_add(struct cli_table *t, const char *const *cells)
{
	if (t->nrows == t->cap) {
		t->cap = t->cap == 0 ? 16 : t->cap * 2;
		t->cells = xreallocarray(t->cells, t->cap * t->ncols,
		    sizeof(*t->cells));
	}
	for (size_t c = 0; c < t->ncols; c++)
		t->cells[t->nrows * t->ncols + c] = xstrdup(cells[c]);
	t->nrows++;
}

/* text_width: columns s takes on a terminal, counting a UTF-8 sequence as
 * one (good enough for addresses and mailbox names). */
static size_t
text_width(const char *s)
{
	size_t w = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

/* row_print: one row, cells apart by two spaces, without trailing blanks
 * (empty cells at the end of the row are left out). */
static void
row_print(const struct cli_table *t, const char *const *row,
    const size_t *widths, FILE *out)
{
	size_t ncols = t->ncols;

	while (ncols > 1 && *row[ncols - 1] == '\0')
		ncols--;
	for (size_t c = 0; c < ncols; c++) {
		size_t pad = widths[c] - text_width(row[c]);
		bool last = c + 1 == ncols;

		if (t->align[c] == 'r')
			fprintf(out, "%*s%s", (int)pad, "", row[c]);
		else if (last)
			fputs(row[c], out);
		else
			fprintf(out, "%s%*s", row[c], (int)pad, "");
		fputs(last ? "\n" : "  ", out);
	}
}

void
cli_table_print(const struct cli_table *t, FILE *out)
{
	size_t *widths;

	if (t->nrows == 0)
		return;
	widths = xcalloc(t->ncols, sizeof(*widths));
	for (size_t c = 0; c < t->ncols; c++) {
		widths[c] = text_width(t->headers[c]);
		for (size_t r = 0; r < t->nrows; r++) {
			size_t w = text_width(t->cells[r * t->ncols + c]);

			if (w > widths[c])
				widths[c] = w;
		}
	}
	row_print(t, t->headers, widths, out);
	for (size_t r = 0; r < t->nrows; r++)
		row_print(t, (const char *const *)&t->cells[r * t->ncols],
		    widths, out);
	free(widths);
}

void
cli_table_free(struct cli_table *t)
{
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	t->cells = NULL;
	t->nrows = t->cap = 0;
}
