/*
 * sandbox.c - sandbox mode: loopback high ports, data in ./letterbox-data,
 * and one catch-all account whose login is printed at start. Nothing is
 * ever relayed (there is no outbound delivery in sandbox mode).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/auth.h"
#include "common/paths.h"
#include "common/xalloc.h"
#include "daemon/sandbox.h"
#include "store/store.h"

/* DESIGN.md's sandbox ports, in enum config_service order. */
static const uint16_t sandbox_ports[CONFIG_SVC_COUNT] = {
	2525, 2587, 2465, 1143, 1993, 1110, 1995,
};

struct config *
sandbox_config(void)
{
	struct config *cfg = config_new_defaults(PATH_SANDBOX_DIR);

	free(cfg->hostname);
	cfg->hostname = xstrdup("localhost");
	for (int s = 0; s < CONFIG_SVC_COUNT; s++) {
		struct config_service_cfg *sc = &cfg->service[s];

		strcpy(sc->listen[0].host, "127.0.0.1");
		sc->listen[0].port = sandbox_ports[s];
		sc->listen[0].ipv6 = false;
		sc->listen_count = 1;
	}
	cfg->allow_plaintext_without_tls = true;
	return cfg;
}

int
sandbox_prepare(const struct config *cfg, int64_t *user_id_r, char **error_r)
{
	struct auth_params ap = { cfg->hash_opslimit, cfg->hash_memlimit };
	struct auth_ctx *auth;
	struct store *st;
	unsigned char noise[12];
	char password[sizeof(noise) * 2 + 1], hash[AUTH_HASH_MAX];
	struct store_user user;
	int ret;

	if ((ret = store_open(cfg->data_dir, &st, error_r)) != 0)
		return -1;
	randombytes_buf(noise, sizeof(noise));
	sodium_bin2hex(password, sizeof(password), noise, sizeof(noise));
	auth = auth_ctx_new(&ap, 1);
	ret = auth_hash(auth, password, hash);
	auth_ctx_free(&auth);
	if (ret != 0) {
		*error_r = xstrdup("cannot hash the sandbox password");
		goto fail;
	}
	ret = store_domain_add(st, "localhost");
	if (ret != 0 && ret != STORE_ERR_EXISTS)
		goto store_fail;
	ret = store_user_set_password(st, SANDBOX_ADDRESS, hash);
	if (ret == STORE_ERR_NOT_FOUND)
		ret = store_user_add(st, SANDBOX_ADDRESS, hash, 0, NULL);
	if (ret != 0 || (ret = store_user_get(st, SANDBOX_ADDRESS,
	    &user)) != 0)
		goto store_fail;
	*user_id_r = user.id;
	store_user_clear(&user);
	store_close(&st);
	/* The one place a password is printed: the sandbox's own, made
	 * just now, for the developer at the terminal. */
	printf("letterboxd sandbox: every message to any address is "
	    "delivered to one account\n  login: %s\n  password: %s\n",
	    SANDBOX_ADDRESS, password);
	fflush(stdout);
	sodium_memzero(password, sizeof(password));
	return 0;
store_fail:
	*error_r = xasprintf("sandbox account: %s", store_strerror(ret));
fail:
	store_close(&st);
	return -1;
}
