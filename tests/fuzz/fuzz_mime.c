/*
 * fuzz_mime.c - libFuzzer target for the MIME parser (mime_parse,
 * mime_section_find, mime_header_next, mime_from_addresses).
 *
 * Checks invariants as well as memory safety: part offsets lie inside
 * the message and nest (children inside their parent's body, siblings
 * in order), the part count stays within the limit, and the IMAP strings
 * have balanced parentheses outside quoted strings and literals, which
 * are themselves well formed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/mime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Walks an IMAP string: quoted strings, {n}\r\n literals, parentheses. */
static void
check_imap(const char *s)
{
	long depth = 0;
	size_t i = 0, n = strlen(s);

	if (n == 0 || s[0] != '(' || s[n - 1] != ')')
		abort();
	while (i < n) {
		if (s[i] == '"') {
			for (i++; i < n && s[i] != '"'; i++) {
				if (s[i] == '\\')
					i++;
				if (s[i] == '\r' || s[i] == '\n' ||
				    (unsigned char)s[i] >= 0x80)
					abort();
			}
			if (i >= n)
				abort();
			i++;
		} else if (s[i] == '{') {
			char *end;
			unsigned long len = strtoul(s + i + 1, &end, 10);

			if (*end != '}' || end[1] != '\r' || end[2] != '\n')
				abort();
			i = (size_t)(end + 3 - s) + len;
			if (i > n)
				abort();
		} else {
			if (s[i] == '(')
				depth++;
			else if (s[i] == ')' && --depth < 0)
				abort();
			i++;
		}
	}
	if (depth != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *d = (const char *)data;
	struct mime_message m;
	struct mime_field f;
	size_t i, idx, pos = 0, nfrom;
	char sec[32], **from;

	/* The submission From: check: every address has an '@'. */
	nfrom = mime_from_addresses(d, size, &from);
	for (i = 0; i < nfrom; i++) {
		if (strchr(from[i], '@') == NULL)
			abort();
		free(from[i]);
	}
	if (from[nfrom] != NULL)
		abort();
	free(from);
	if (mime_parse(d, size, &m) != 0)
		abort();
	if (m.nparts < 1 || m.nparts > 1000 || m.parts[0].parent != -1)
		abort();
	for (i = 0; i < m.nparts; i++) {
		const struct mime_part *p = &m.parts[i];

		if (p->header_start > p->body_start ||
		    p->body_start > p->body_end || p->body_end > size)
			abort();
		if (p->parent >= 0) {
			const struct mime_part *q = &m.parts[p->parent];

			if ((size_t)p->parent >= i ||
			    p->header_start < q->body_start ||
			    p->body_end > q->body_end)
				abort();
		}
		if (p->next_sibling >= 0 &&
		    m.parts[p->next_sibling].header_start < p->body_end)
			abort();
	}
	check_imap(m.bodystructure);
	check_imap(m.body);
	check_imap(m.envelope);
	for (i = 1; i <= 3; i++) {
		snprintf(sec, sizeof(sec), "%zu.%zu", i, i);
		if (mime_section_find(&m, sec, strlen(sec), &idx) == 0 &&
		    idx >= m.nparts)
			abort();
		snprintf(sec, sizeof(sec), "%zu", i);
		if (mime_section_find(&m, sec, strlen(sec), &idx) == 0 &&
		    idx >= m.nparts)
			abort();
	}
	while (mime_header_next(d, m.parts[0].body_start, &pos, &f)) {
		if (f.value_start > f.value_end || f.end > size ||
		    f.start + f.name_len > f.value_end + 1)
			abort();
	}
	mime_message_free(&m);
	return 0;
}
