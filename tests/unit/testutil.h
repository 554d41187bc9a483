/*
 * testutil.h - helpers shared by the unit tests that need a store.
 *
 * Include it first in a test file (it asks for _GNU_SOURCE, which nftw()
 * needs), and after <cmocka.h> if the test wants a helper's failure to be a
 * cmocka failure; without cmocka a failing helper prints and aborts.
 *
 * Every directory made here is a fresh mkdtemp() under $TMPDIR (or /tmp),
 * so tests never depend on the machine's own files or on each other.
 */
#ifndef LETTERBOX_TESTUTIL_H
#define LETTERBOX_TESTUTIL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/auth.h"
#include "store/store.h"

#if defined(fail_msg)
#define TU_FAIL(...) fail_msg(__VA_ARGS__)
#else
#define TU_FAIL(...) do { \
	fprintf(stderr, "testutil: " __VA_ARGS__); \
	fputc('\n', stderr); \
	abort(); \
} while (0)
#endif

/* tu_tempdir: a new empty directory (mode 0700); the caller removes it with
 * tu_rmtree() and frees the string. */
static inline char *
tu_tempdir(void)
{
	const char *base = getenv("TMPDIR");
	char *path;
	size_t n;

	if (base == NULL || *base == '\0')
		base = "/tmp";
	n = strlen(base) + sizeof("/letterbox-test.XXXXXX");
	if ((path = malloc(n)) == NULL)
		TU_FAIL("out of memory");
	snprintf(path, n, "%s/letterbox-test.XXXXXX", base);
	if (mkdtemp(path) == NULL)
		TU_FAIL("mkdtemp %s: %s", path, strerror(errno));
	return path;
}

static inline int
tu_rmtree_one(const char *path, const struct stat *sb, int type,
    struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	if (remove(path) != 0 && errno != ENOENT)
		fprintf(stderr, "testutil: remove %s: %s\n", path,
		    strerror(errno));
	return 0;
}

/* tu_rmtree: removes path and everything under it (symlinks not
 * followed). A missing path is not an error. */
static inline void
tu_rmtree(const char *path)
{
	if (path == NULL)
		return;
	if (nftw(path, tu_rmtree_one, 16, FTW_DEPTH | FTW_PHYS) != 0 &&
	    errno != ENOENT)
		fprintf(stderr, "testutil: nftw %s: %s\n", path,
		    strerror(errno));
}

/* tu_path: a malloc'd "dir/name". */
static inline char *
tu_path(const char *dir, const char *name)
{
	size_t n = strlen(dir) + 1 + strlen(name) + 1;
	char *p = malloc(n);

	if (p == NULL)
		TU_FAIL("out of memory");
	snprintf(p, n, "%s/%s", dir, name);
	return p;
}

/* tu_auth_fast: an auth context with libsodium's minimum costs (opslimit
 * 1, memlimit 8 KiB) and one hash at a time, so tests hash in
 * microseconds. Free with auth_ctx_free(). */
static inline struct auth_ctx *
tu_auth_fast(void)
{
	struct auth_params params = { 1, 8192 };
	struct auth_ctx *ctx = auth_ctx_new(&params, 1);

	if (ctx == NULL)
		TU_FAIL("auth_ctx_new failed");
	return ctx;
}

/* tu_store_open: store_open() that must succeed. */
static inline struct store *
tu_store_open(const char *dir)
{
	struct store *st = NULL;
	char *error = NULL;
	int ret = store_open(dir, &st, &error);

	if (ret != 0 || st == NULL)
		TU_FAIL("store_open %s: %d %s", dir, ret,
		    error != NULL ? error : "(no message)");
	free(error);
	return st;
}

/* tu_domain_add: adds name unless it is already there. */
static inline void
tu_domain_add(struct store *st, const char *name)
{
	int ret = store_domain_add(st, name);

	if (ret != 0 && ret != STORE_ERR_EXISTS)
		TU_FAIL("store_domain_add %s: %d", name, ret);
}

/* tu_user_add: adds the domain of address when needed, then the user with
 * password hashed through ctx. Returns the user id. */
static inline int64_t
tu_user_add(struct store *st, struct auth_ctx *ctx, const char *address,
    const char *password, int64_t quota_bytes)
{
	char hash[AUTH_HASH_MAX];
	const char *at = strrchr(address, '@');
	int64_t id = 0;
	int ret;

	if (at == NULL)
		TU_FAIL("tu_user_add: %s has no @", address);
	tu_domain_add(st, at + 1);
	if (auth_hash(ctx, password, hash) != 0)
		TU_FAIL("auth_hash failed");
	ret = store_user_add(st, address, hash, quota_bytes, &id);
	if (ret != 0)
		TU_FAIL("store_user_add %s: %d", address, ret);
	return id;
}

/* A temporary data directory with an open store and a fast auth
 * context: what most store tests start from. */
struct tu_env {
	char *dir;		/* owned; removed by tu_env_free() */
	struct store *st;	/* owned */
	struct auth_ctx *auth;	/* owned */
};

static inline struct tu_env *
tu_env_new(void)
{
	struct tu_env *env = calloc(1, sizeof(*env));

	if (env == NULL)
		TU_FAIL("out of memory");
	env->dir = tu_tempdir();
	env->st = tu_store_open(env->dir);
	env->auth = tu_auth_fast();
	return env;
}

static inline void
tu_env_free(struct tu_env **envp)
{
	struct tu_env *env = *envp;

	if (env == NULL)
		return;
	store_close(&env->st);
	auth_ctx_free(&env->auth);
	tu_rmtree(env->dir);
	free(env->dir);
	free(env);
	*envp = NULL;
}

#endif
