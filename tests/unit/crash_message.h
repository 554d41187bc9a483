/*
 * crash_message.h - the message the crash test delivers: three body
 * chunks' worth of numbered lines, the same bytes in helper and test.
 */
#ifndef LETTERBOX_CRASH_MESSAGE_H
#define LETTERBOX_CRASH_MESSAGE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/limits.h"

#define CRASH_MESSAGE_SIZE (2 * LIMIT_BODY_CHUNK + 4321)

/* crash_message: a malloc'd message of CRASH_MESSAGE_SIZE bytes. */
static inline char *
crash_message(size_t *len_r)
{
	static const char head[] = "From: crash@example.org\r\n"
	    "To: a@example.org\r\nSubject: crash test\r\n\r\n";
	char *msg = malloc(CRASH_MESSAGE_SIZE);
	size_t off = sizeof(head) - 1;

	if (msg == NULL)
		abort();
	memcpy(msg, head, off);
	for (unsigned long line = 0; off < CRASH_MESSAGE_SIZE; line++) {
		char buf[64];
		int n = snprintf(buf, sizeof(buf), "line %08lu of the body\r\n",
		    line);
		size_t k = (size_t)n;

		if (k > CRASH_MESSAGE_SIZE - off)
			k = CRASH_MESSAGE_SIZE - off;
		memcpy(msg + off, buf, k);
		off += k;
	}
	*len_r = CRASH_MESSAGE_SIZE;
	return msg;
}

#endif
