/*
 * throttle.c - failed-login delays per client IP.
 *
 * A fixed table of THROTTLE_SLOTS entries under a mutex: an attacker
 * with many addresses evicts old entries but cannot grow memory.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "throttle.h"
#include "xalloc.h"

#define THROTTLE_SLOTS		1024
#define THROTTLE_BASE_MS	2000
#define THROTTLE_MAX_MS		30000
#define THROTTLE_WINDOW_S	(15 * 60)

struct slot {
	char ip[64];
	unsigned int failures;
	time_t last;
};

struct throttle {
	pthread_mutex_t lock;
	struct slot slots[THROTTLE_SLOTS];
};

struct throttle *
throttle_new(void)
{
	struct throttle *t = xcalloc(1, sizeof(*t));

	pthread_mutex_init(&t->lock, NULL);
	return t;
}

void
throttle_free(struct throttle **tp)
{
	if (*tp == NULL)
		return;
	pthread_mutex_destroy(&(*tp)->lock);
	free(*tp);
	*tp = NULL;
}

/* find: ip's slot, or the least recently used one, emptied for it. */
static struct slot *
find(struct throttle *t, const char *ip)
{
	struct slot *oldest = &t->slots[0];

	for (size_t i = 0; i < THROTTLE_SLOTS; i++) {
		struct slot *s = &t->slots[i];

		if (strcmp(s->ip, ip) == 0)
			return s;
		if (s->last < oldest->last)
			oldest = s;
	}
	memset(oldest, 0, sizeof(*oldest));
	strncpy(oldest->ip, ip, sizeof(oldest->ip) - 1);
	return oldest;
}

unsigned int
throttle_fail(struct throttle *t, const char *ip)
{
	time_t now = time(NULL);
	unsigned int ms = THROTTLE_BASE_MS;
	struct slot *s;

	pthread_mutex_lock(&t->lock);
	s = find(t, ip);
	if (now - s->last > THROTTLE_WINDOW_S)
		s->failures = 0;
	s->last = now;
	for (unsigned int i = 0; i < s->failures && ms < THROTTLE_MAX_MS; i++)
		ms *= 2;
	s->failures++;
	pthread_mutex_unlock(&t->lock);
	return ms < THROTTLE_MAX_MS ? ms : THROTTLE_MAX_MS;
}

void
throttle_success(struct throttle *t, const char *ip)
{
	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; i < THROTTLE_SLOTS; i++) {
		if (strcmp(t->slots[i].ip, ip) == 0) {
			memset(&t->slots[i], 0, sizeof(t->slots[i]));
			break;
		}
	}
	pthread_mutex_unlock(&t->lock);
}
