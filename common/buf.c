/*
 * buf.c - growable buffer with a hard maximum.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "xalloc.h"

void
buf_init(struct buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

static void
buf_reserve(struct buf *b, size_t need)
{
	size_t cap = b->cap ? b->cap : 4096;

	while (cap < need)
		cap = cap > b->max / 2 ? b->max : cap * 2;
	if (cap > b->cap) {
		b->data = xrealloc(b->data, cap + 1);	/* +1: room for NUL */
		b->cap = cap;
	}
}

int
buf_append(struct buf *b, const void *data, size_t len)
{
	if (len > b->max - b->len)
		return -1;
	if (len == 0)
		return 0;
	buf_reserve(b, b->len + len);
	memcpy(b->data + b->len, data, len);
	b->len += len;
	return 0;
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	char small[512], *s = small;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if ((size_t)n >= sizeof(small)) {
		s = xmalloc((size_t)n + 1);
		va_start(ap, fmt);
		vsnprintf(s, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	n = buf_append(b, s, (size_t)n);
	if (s != small)
		free(s);
	return n;
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
}

void
buf_free(struct buf *b)
{
	free(b->data);
	buf_init(b, b->max);
}
