/*
 * xalloc.h - allocation that cannot fail.
 *
 * CONVENTIONS.md: allocation failure is fatal. A worker that cannot
 * allocate logs and exits; the master restarts it.
 */
#ifndef LETTERBOX_XALLOC_H
#define LETTERBOX_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
/* xreallocarray: like xrealloc of nmemb * size, fatal on overflow. */
void *xreallocarray(void *ptr, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* xasprintf: a formatted string the caller frees. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
