/*
 * sandbox.h - the sandbox account of "letterboxd --sandbox" (DESIGN.md):
 * one account that receives mail for every address at every domain.
 */
#ifndef LETTERBOX_DAEMON_SANDBOX_H
#define LETTERBOX_DAEMON_SANDBOX_H

#include <stdint.h>

#include "common/config.h"

#define SANDBOX_ADDRESS "sandbox@localhost"

/* sandbox_prepare: makes the account (and domain "localhost") when
 * missing, gives it a new random password, and prints the login on
 * stdout. Returns 0 with its user id, or -1 with a malloc'd *error_r. */
int sandbox_prepare(const struct config *cfg, int64_t *user_id_r,
    char **error_r);

/* sandbox_config: the defaults of sandbox mode without a config file:
 * data in ./letterbox-data, loopback high ports. Caller frees. */
struct config *sandbox_config(void);

#endif
