/*
 * test_crash.c - a delivery killed with SIGKILL leaves the whole message or
 * nothing, and the store passes store_check() afterwards.
 *
 * Runs crash_helper (a real separate process) that kills itself at every
 * row change of a delivery in turn, inside COMMIT, and after the commit;
 * then reopens the store and checks every user's INBOX byte for byte.
 */
#include "tests/unit/testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <signal.h>
#include <sys/wait.h>

#include "tests/unit/crash_message.h"

struct crash_env {
	struct tu_env *env;
	char *helper;
	size_t expected;	/* messages each user's INBOX should hold */
};

static const char *const users[] = { "a@example.org", "b@example.org" };

static int
setup(void **state)
{
	struct crash_env *c = calloc(1, sizeof(*c));
	const char *builddir = getenv("LETTERBOX_BUILDDIR");

	c->env = tu_env_new();
	for (size_t i = 0; i < 2; i++)
		tu_user_add(c->env->st, c->env->auth, users[i], "pw", 0);
	/* The helper opens the database itself; ours stays closed meanwhile
	 * so nothing here holds a lock or a snapshot. */
	store_close(&c->env->st);
	c->helper = tu_path(builddir != NULL ? builddir : ".",
	    "tests/unit/crash_helper");
	*state = c;
	return 0;
}

static int
teardown(void **state)
{
	struct crash_env *c = *state;

	tu_env_free(&c->env);
	free(c->helper);
	free(c);
	return 0;
}

/* run_helper: runs crash_helper MODE N for both users; returns the raw
 * wait status. */
static int
run_helper(struct crash_env *c, const char *mode, long n)
{
	char nbuf[32];
	pid_t pid;
	int status;

	snprintf(nbuf, sizeof(nbuf), "%ld", n);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		execl(c->helper, c->helper, c->env->dir, mode, nbuf, users[0],
		    users[1], (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void
report(void *arg, const char *text)
{
	(void)arg;
	print_error("store_check: %s\n", text);
}

/* verify: every user's INBOX holds exactly c->expected copies of the
 * crash message, and the store checks clean. */
static void
verify(struct crash_env *c)
{
	struct store *st = tu_store_open(c->env->dir);
	size_t len;
	char *want = crash_message(&len);

	for (size_t u = 0; u < 2; u++) {
		struct store_user user;
		struct store_mailbox mb;
		struct store_message *msgs;
		size_t n;

		assert_int_equal(store_user_get(st, users[u], &user), 0);
		assert_int_equal(store_mailbox_get(st, user.id, "INBOX", &mb),
		    0);
		assert_int_equal(store_message_list(st, mb.id, 1, 0, &msgs,
		    &n), 0);
		assert_int_equal(n, c->expected);
		assert_int_equal(user.messages, (int64_t)c->expected);
		for (size_t i = 0; i < n; i++) {
			char *data;
			size_t dlen;

			assert_int_equal(store_body_read(st, mb.id,
			    msgs[i].uid, &data, &dlen), 0);
			assert_int_equal(dlen, len);
			assert_memory_equal(data, want, len);
			free(data);
		}
		store_message_list_free(&msgs, n);
		store_mailbox_clear(&mb);
		store_user_clear(&user);
	}
	assert_int_equal(store_check(st, report, NULL), 0);
	free(want);
	store_close(&st);
}

static void
test_kill_at_every_row(void **state)
{
	struct crash_env *c = *state;
	long n;
	int status;

	for (n = 1; n < 1000; n++) {
		status = run_helper(c, "row", n);
		if (WIFEXITED(status)) {
			/* The delivery has fewer row changes than n: it ran
			 * to the end and committed. */
			assert_int_equal(WEXITSTATUS(status), 0);
			c->expected++;
			verify(c);
			break;
		}
		assert_true(WIFSIGNALED(status));
		assert_int_equal(WTERMSIG(status), SIGKILL);
		verify(c);	/* nothing of the killed delivery */
	}
	/* Body, chunks, two messages and their trigger updates at least. */
	assert_true(n > 6);
}

static void
test_kill_in_commit(void **state)
{
	struct crash_env *c = *state;
	int status = run_helper(c, "commit", 0);

	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
	verify(c);
	/* The store takes the next delivery normally. */
	status = run_helper(c, "none", 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	c->expected++;
	verify(c);
}

static void
test_kill_after_commit(void **state)
{
	struct crash_env *c = *state;
	int status;

	for (int i = 0; i < 3; i++) {
		status = run_helper(c, "after", 0);
		assert_true(WIFSIGNALED(status));
		assert_int_equal(WTERMSIG(status), SIGKILL);
		c->expected++;
		verify(c);	/* acknowledged, so it must be there */
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_kill_at_every_row, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_kill_in_commit, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_kill_after_commit, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
