/*
 * crash_helper.c - a delivery process that kills itself with SIGKILL at a
 * chosen point, for test_crash.c.
 *
 * usage: crash_helper DATA_DIR MODE N ADDRESS...
 *   MODE row     SIGKILL at the N-th row change of the delivery
 *   MODE commit  SIGKILL inside COMMIT, before it is durable
 *   MODE after   SIGKILL right after store_deliver() returned
 *   MODE none    no kill; exit 0 when delivered
 * The message is crash_message() of test_crash.c's size, made the same way
 * here and there so the test can compare bytes.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/internal.h"
#include "tests/unit/crash_message.h"

static long kill_at;
static long rows_seen;

static void
on_row(void *arg, int op, const char *db, const char *table, sqlite3_int64 id)
{
	(void)arg; (void)op; (void)db; (void)table; (void)id;
	if (++rows_seen == kill_at)
		raise(SIGKILL);
}

static int
on_commit(void *arg)
{
	(void)arg;
	raise(SIGKILL);
	return 0;
}

int
main(int argc, char **argv)
{
	struct store *st;
	char *error = NULL, *msg;
	int64_t ids[LIMIT_RECIPIENTS];
	int results[LIMIT_RECIPIENTS];
	size_t n = 0, len;
	int ret;

	if (argc < 5 || argc - 4 > LIMIT_RECIPIENTS) {
		fprintf(stderr, "usage: crash_helper DIR MODE N ADDRESS...\n");
		return 2;
	}
	if (store_open(argv[1], &st, &error) != 0) {
		fprintf(stderr, "crash_helper: %s\n", error);
		return 1;
	}
	for (int i = 4; i < argc; i++) {
		size_t got;

		if (store_resolve(st, argv[i], ids + n, &got) != 0) {
			fprintf(stderr, "crash_helper: %s unknown\n", argv[i]);
			return 1;
		}
		n += got;
	}
	kill_at = atol(argv[3]);
	if (strcmp(argv[2], "row") == 0)
		sqlite3_update_hook(st->db, on_row, NULL);
	else if (strcmp(argv[2], "commit") == 0)
		sqlite3_commit_hook(st->db, on_commit, NULL);
	msg = crash_message(&len);
	ret = store_deliver(st, ids, n, msg, len, (int64_t)time(NULL),
	    results, NULL);
	if (strcmp(argv[2], "after") == 0 && ret == 0)
		raise(SIGKILL);
	free(msg);
	store_close(&st);
	return ret == 0 ? 0 : 1;
}
