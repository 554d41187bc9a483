/*
 * test_auth.c - auth_hash, auth_verify, rehash detection and the
 * unknown-user decoy.
 *
 * Costs are libsodium's minimums wherever the cost does not matter, so the
 * suite runs in well under a second (and tolerably under valgrind). The
 * timing test compares two paths of equal work with a generous factor and
 * the best of several runs, so that a busy machine does not make it flaky.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/auth.h"
#include "common/limits.h"

static struct auth_ctx *
ctx_new(uint64_t opslimit, uint64_t memlimit, unsigned int max_concurrent)
{
	struct auth_params params = { opslimit, memlimit };
	struct auth_ctx *ctx = auth_ctx_new(&params, max_concurrent);

	assert_non_null(ctx);
	return ctx;
}

static void
test_hash_verify(void **state)
{
	struct auth_ctx *ctx = ctx_new(1, 8192, 1);
	char hash[AUTH_HASH_MAX], hash2[AUTH_HASH_MAX];
	bool rehash = true;

	assert_int_equal(auth_hash(ctx, "correct horse", hash), 0);
	assert_memory_equal(hash, "$argon2id$", 10);
	assert_true(strlen(hash) < AUTH_HASH_MAX);
	/* A fresh salt each time. */
	assert_int_equal(auth_hash(ctx, "correct horse", hash2), 0);
	assert_string_not_equal(hash, hash2);

	assert_int_equal(auth_verify(ctx, hash, "correct horse", &rehash), 0);
	assert_false(rehash);
	assert_int_equal(auth_verify(ctx, hash2, "correct horse", &rehash),
	    0);

	/* Wrong password, in every near miss. */
	assert_int_equal(auth_verify(ctx, hash, "correct horsE", &rehash), -1);
	assert_int_equal(auth_verify(ctx, hash, "correct horse ", &rehash),
	    -1);
	assert_int_equal(auth_verify(ctx, hash, "correct hors", &rehash), -1);
	assert_int_equal(auth_verify(ctx, hash, "", &rehash), -1);
	/* Unknown user: the decoy is checked, and always fails. */
	assert_int_equal(auth_verify(ctx, NULL, "correct horse", &rehash), -1);
	assert_int_equal(auth_verify(ctx, NULL, "", &rehash), -1);
	/* A damaged stored hash fails rather than matching anything. */
	assert_int_equal(auth_verify(ctx, "$argon2id$garbage", "correct horse",
	    &rehash), -1);
	assert_int_equal(auth_verify(ctx, "", "correct horse", &rehash), -1);

	auth_ctx_free(&ctx);
	assert_null(ctx);
	auth_ctx_free(&ctx);	/* harmless on NULL */
}

static void
test_hash_bounds(void **state)
{
	struct auth_ctx *ctx = ctx_new(1, 8192, 1);
	char *pw = malloc(LIMIT_PASSWORD + 2);
	char hash[AUTH_HASH_MAX];
	bool rehash;

	assert_non_null(pw);
	assert_int_equal(auth_hash(ctx, "", hash), -1);

	memset(pw, 'p', LIMIT_PASSWORD + 1);
	pw[LIMIT_PASSWORD + 1] = '\0';
	assert_int_equal(auth_hash(ctx, pw, hash), -1);

	/* Exactly LIMIT_PASSWORD is accepted and verifies. */
	pw[LIMIT_PASSWORD] = '\0';
	assert_int_equal(auth_hash(ctx, pw, hash), 0);
	assert_int_equal(auth_verify(ctx, hash, pw, &rehash), 0);
	/* The same prefix with one octet more must not match. */
	pw[LIMIT_PASSWORD] = 'p';
	assert_int_equal(auth_verify(ctx, hash, pw, &rehash), -1);

	/* Any octets but NUL: UTF-8 and controls. */
	assert_int_equal(auth_hash(ctx, "p\xc3\xa4ss\x01w\xffrd", hash), 0);
	assert_int_equal(auth_verify(ctx, hash, "p\xc3\xa4ss\x01w\xffrd",
	    &rehash), 0);

	free(pw);
	auth_ctx_free(&ctx);
}

static void
test_rehash(void **state)
{
	struct auth_ctx *a = ctx_new(1, 8192, 1);
	struct auth_ctx *b = ctx_new(2, 8192, 1);		/* other ops */
	struct auth_ctx *c = ctx_new(1, 16384, 1);		/* other mem */
	char hash_a[AUTH_HASH_MAX], hash_b[AUTH_HASH_MAX];
	bool rehash;

	assert_int_equal(auth_hash(a, "secret", hash_a), 0);

	rehash = true;
	assert_int_equal(auth_verify(a, hash_a, "secret", &rehash), 0);
	assert_false(rehash);

	rehash = false;
	assert_int_equal(auth_verify(b, hash_a, "secret", &rehash), 0);
	assert_true(rehash);
	rehash = false;
	assert_int_equal(auth_verify(c, hash_a, "secret", &rehash), 0);
	assert_true(rehash);

	/* What b would store instead no longer needs a rehash under b. */
	assert_int_equal(auth_hash(b, "secret", hash_b), 0);
	rehash = true;
	assert_int_equal(auth_verify(b, hash_b, "secret", &rehash), 0);
	assert_false(rehash);
	rehash = false;
	assert_int_equal(auth_verify(a, hash_b, "secret", &rehash), 0);
	assert_true(rehash);

	/* A failure never asks for a rehash. */
	rehash = true;
	assert_int_equal(auth_verify(b, hash_a, "wrong", &rehash), -1);
	assert_false(rehash);

	auth_ctx_free(&a);
	auth_ctx_free(&b);
	auth_ctx_free(&c);
}

/* Parameters below libsodium's minimums are raised to them, not refused. */
static void
test_params_clamped(void **state)
{
	struct auth_ctx *low = ctx_new(1, 1, 1);
	struct auth_ctx *min = ctx_new(1, 8192, 1);
	char hash[AUTH_HASH_MAX];
	bool rehash = true;

	assert_int_equal(auth_hash(low, "secret", hash), 0);
	assert_non_null(strstr(hash, "m=8,t=1,"));
	assert_int_equal(auth_verify(min, hash, "secret", &rehash), 0);
	assert_false(rehash);
	auth_ctx_free(&low);
	auth_ctx_free(&min);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * DESIGN.md: an unknown user and a wrong password get the same answer after
 * the same work. Both paths run one argon2id verification of equal cost, so
 * the best times of a few runs must be close; a factor of 3 only catches a
 * path that skips the work (which would be hundreds of times faster).
 */
static void
test_timing_unknown_user(void **state)
{
	struct auth_ctx *ctx = ctx_new(2, 1024 * 1024, 1);
	char hash[AUTH_HASH_MAX];
	double best_unknown = 1e9, best_wrong = 1e9, t;
	bool rehash;

	assert_int_equal(auth_hash(ctx, "the right one", hash), 0);
	for (int i = 0; i < 7; i++) {
		t = now_s();
		assert_int_equal(auth_verify(ctx, NULL, "guess", &rehash), -1);
		t = now_s() - t;
		if (t < best_unknown)
			best_unknown = t;

		t = now_s();
		assert_int_equal(auth_verify(ctx, hash, "guess", &rehash), -1);
		t = now_s() - t;
		if (t < best_wrong)
			best_wrong = t;
	}
	print_message("# unknown user %.6f s, wrong password %.6f s\n",
	    best_unknown, best_wrong);
	assert_true(best_unknown > 0 && best_wrong > 0);
	if (best_unknown > 3 * best_wrong || best_wrong > 3 * best_unknown)
		fail_msg("unknown user %.6f s vs wrong password %.6f s",
		    best_unknown, best_wrong);
	auth_ctx_free(&ctx);
}

struct worker {
	struct auth_ctx *ctx;
	int failures;
};

static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	char hash[AUTH_HASH_MAX], pw[32];
	bool rehash;

	for (int i = 0; i < 8; i++) {
		snprintf(pw, sizeof(pw), "pw-%p-%d", (void *)w, i);
		if (auth_hash(w->ctx, pw, hash) != 0 ||
		    auth_verify(w->ctx, hash, pw, &rehash) != 0 ||
		    auth_verify(w->ctx, hash, "nope", &rehash) != -1 ||
		    auth_verify(w->ctx, NULL, pw, &rehash) != -1)
			w->failures++;
	}
	return NULL;
}

/* One context shared by threads (as the workers share it), with fewer
 * slots than threads: every answer is still right and nothing deadlocks. */
static void
test_threads(void **state)
{
	struct auth_ctx *ctx = ctx_new(1, 8192, 2);
	struct worker w[4];
	pthread_t tid[4];

	for (int i = 0; i < 4; i++) {
		w[i].ctx = ctx;
		w[i].failures = 0;
		assert_int_equal(pthread_create(&tid[i], NULL, worker_run,
		    &w[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(tid[i], NULL), 0);
		assert_int_equal(w[i].failures, 0);
	}
	auth_ctx_free(&ctx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_verify),
		cmocka_unit_test(test_hash_bounds),
		cmocka_unit_test(test_rehash),
		cmocka_unit_test(test_params_clamped),
		cmocka_unit_test(test_timing_unknown_user),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
