/*
 * protos.h - the protocol families letterboxd runs, one worker each.
 */
#ifndef LETTERBOX_DAEMON_PROTOS_H
#define LETTERBOX_DAEMON_PROTOS_H

#include "daemon/worker.h"

extern const struct proto *const daemon_protos[];
extern const size_t daemon_nprotos;

/* daemon_proto_of: the family serving svc, or NULL if none exists yet. */
const struct proto *daemon_proto_of(enum config_service svc);

#endif
