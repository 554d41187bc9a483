/*
 * throttle.h - failed-login delays per client IP (DESIGN.md: about 2 s,
 * growing for an IP that keeps failing). Thread-safe; bounded memory
 * (THROTTLE_SLOTS addresses, the least recent forgotten first).
 */
#ifndef LETTERBOX_THROTTLE_H
#define LETTERBOX_THROTTLE_H

struct throttle;

struct throttle *throttle_new(void);
void throttle_free(struct throttle **t);

/* throttle_fail: records a failed login from ip and returns how many ms
 * to wait before answering it: 2 s, doubling with each failure in the
 * last 15 minutes, at most 30 s. */
unsigned int throttle_fail(struct throttle *t, const char *ip);

/* throttle_success: a successful login from ip clears its record. */
void throttle_success(struct throttle *t, const char *ip);

#endif
