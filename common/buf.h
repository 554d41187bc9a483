/*
 * buf.h - a growable byte buffer with a hard maximum (CONVENTIONS.md):
 * appending past it is an error the caller handles.
 */
#ifndef LETTERBOX_BUF_H
#define LETTERBOX_BUF_H

#include <stddef.h>

struct buf {
	char *data;	/* owned; NULL until the first append */
	size_t len;
	size_t cap;
	size_t max;	/* len never exceeds it */
};

/* buf_init: an empty buffer that may grow to max bytes. */
void buf_init(struct buf *b, size_t max);
/* buf_append: adds len bytes; -1 (buffer unchanged) past the maximum. */
int buf_append(struct buf *b, const void *data, size_t len);
/* buf_printf: appends formatted text; -1 past the maximum. */
int buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* buf_reset: empties the buffer, keeping its memory. */
void buf_reset(struct buf *b);
/* buf_free: frees the memory; the buffer is empty afterwards. */
void buf_free(struct buf *b);

#endif
