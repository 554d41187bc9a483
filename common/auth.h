/*
 * auth.h - password hashing and verification (argon2id via libsodium).
 *
 * Enforces LIMIT_PASSWORD and at most max_concurrent hash computations at
 * once (each takes hash_memlimit bytes: a login flood must not exhaust
 * memory). An unknown user costs the same work as a wrong password.
 */
#ifndef LETTERBOX_AUTH_H
#define LETTERBOX_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* crypto_pwhash_STRBYTES of libsodium, checked in auth.c. */
#define AUTH_HASH_MAX 128

struct auth_params {
	uint64_t opslimit;	/* 0: crypto_pwhash_OPSLIMIT_INTERACTIVE */
	uint64_t memlimit;	/* 0: crypto_pwhash_MEMLIMIT_INTERACTIVE */
};

struct auth_ctx;

/* auth_ctx_new: a context hashing with params (clamped to libsodium's
 * bounds), running at most max_concurrent hashes at once (0: one per
 * online CPU). Computes the decoy hash used for unknown users, so it costs
 * one hash. Caller frees with auth_ctx_free(). */
struct auth_ctx *auth_ctx_new(const struct auth_params *params,
    unsigned int max_concurrent);
void auth_ctx_free(struct auth_ctx **ctx);

/* auth_hash: hashes password into hash_r (AUTH_HASH_MAX bytes, a
 * NUL-terminated "$argon2id$..." string). Returns 0, or -1 when the
 * password is empty or longer than LIMIT_PASSWORD, or hashing failed. */
int auth_hash(struct auth_ctx *ctx, const char *password, char *hash_r);

/*
 * auth_verify: checks password against stored_hash. stored_hash NULL means
 * "no such user": the decoy hash is verified instead so the answer takes
 * the same time, and the result is always failure.
 * Returns 0 when the password matches, -1 otherwise. On a match,
 * *rehash_r says whether the hash was made with other limits than ctx's
 * and should be replaced by auth_hash() of the same password.
 */
int auth_verify(struct auth_ctx *ctx, const char *stored_hash,
    const char *password, bool *rehash_r);

#endif
