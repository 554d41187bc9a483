/*
 * auth.c - argon2id hashing with a bound on concurrent computations.
 *
 * Passwords are never logged or kept: they live in the caller's buffer and
 * libsodium's working memory only while hashing.
 */
#include <errno.h>
#include <semaphore.h>
#include <sodium.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "limits.h"
#include "log.h"
#include "xalloc.h"

#if crypto_pwhash_STRBYTES > AUTH_HASH_MAX
#error "AUTH_HASH_MAX is smaller than crypto_pwhash_STRBYTES"
#endif

struct auth_ctx {
	unsigned long long opslimit;
	size_t memlimit;
	sem_t slots;			/* free hash computations */
	char decoy[AUTH_HASH_MAX];	/* verified for unknown users */
};

static void
slot_take(struct auth_ctx *ctx)
{
	while (sem_wait(&ctx->slots) != 0)
		if (errno != EINTR)
			fatal("auth: sem_wait: %s", strerror(errno));
}

static void
slot_give(struct auth_ctx *ctx)
{
	sem_post(&ctx->slots);
}

struct auth_ctx *
auth_ctx_new(const struct auth_params *params, unsigned int max_concurrent)
{
	struct auth_ctx *ctx = xcalloc(1, sizeof(*ctx));
	unsigned char noise[32];
	char decoy_pw[sizeof(noise) * 2 + 1];

	if (sodium_init() < 0)
		fatal("auth: sodium_init failed");
	ctx->opslimit = params->opslimit != 0 ? params->opslimit :
	    crypto_pwhash_OPSLIMIT_INTERACTIVE;
	ctx->memlimit = params->memlimit != 0 ? (size_t)params->memlimit :
	    crypto_pwhash_MEMLIMIT_INTERACTIVE;
	if (ctx->opslimit < crypto_pwhash_OPSLIMIT_MIN)
		ctx->opslimit = crypto_pwhash_OPSLIMIT_MIN;
	if (ctx->memlimit < crypto_pwhash_MEMLIMIT_MIN)
		ctx->memlimit = crypto_pwhash_MEMLIMIT_MIN;
	if (max_concurrent == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		max_concurrent = n > 0 ? (unsigned int)n : 1;
	}
	if (sem_init(&ctx->slots, 0, max_concurrent) != 0)
		fatal("auth: sem_init: %s", strerror(errno));

	/* A random password nobody knows: verifying against it costs what a
	 * real verification costs and never succeeds. */
	randombytes_buf(noise, sizeof(noise));
	sodium_bin2hex(decoy_pw, sizeof(decoy_pw), noise, sizeof(noise));
	if (crypto_pwhash_str(ctx->decoy, decoy_pw, strlen(decoy_pw),
	    ctx->opslimit, ctx->memlimit) != 0)
		fatal("auth: cannot compute decoy hash (out of memory?)");
	sodium_memzero(decoy_pw, sizeof(decoy_pw));
	return ctx;
}

void
auth_ctx_free(struct auth_ctx **ctxp)
{
	if (*ctxp == NULL)
		return;
	sem_destroy(&(*ctxp)->slots);
	free(*ctxp);
	*ctxp = NULL;
}

int
auth_hash(struct auth_ctx *ctx, const char *password, char *hash_r)
{
	size_t len = strnlen(password, LIMIT_PASSWORD + 1);
	int ret;

	if (len == 0 || len > LIMIT_PASSWORD)
		return -1;
	slot_take(ctx);
	ret = crypto_pwhash_str(hash_r, password, len, ctx->opslimit,
	    ctx->memlimit);
	slot_give(ctx);
	return ret == 0 ? 0 : -1;
}

int
auth_verify(struct auth_ctx *ctx, const char *stored_hash,
    const char *password, bool *rehash_r)
{
	size_t len = strnlen(password, LIMIT_PASSWORD + 1);
	bool known = stored_hash != NULL && len > 0 && len <= LIMIT_PASSWORD;
	const char *hash = known ? stored_hash : ctx->decoy;
	int ret;

	*rehash_r = false;
	if (len > LIMIT_PASSWORD)
		len = LIMIT_PASSWORD;
	slot_take(ctx);
	ret = crypto_pwhash_str_verify(hash, password, len);
	slot_give(ctx);
	if (!known || ret != 0)
		return -1;
	*rehash_r = crypto_pwhash_str_needs_rehash(stored_hash, ctx->opslimit,
	    ctx->memlimit) != 0;
	return 0;
}
