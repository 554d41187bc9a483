/*
 * config.h - the INI-style configuration of DESIGN.md.
 *
 * The file is trusted no more than any input: every line is bounded, an
 * unknown section or key, a repeated key or a bad value is an error naming
 * file:line and the reason.
 */
#ifndef LETTERBOX_CONFIG_H
#define LETTERBOX_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "limits.h"

enum config_service {
	CONFIG_SVC_SMTP = 0,
	CONFIG_SVC_SUBMISSION,
	CONFIG_SVC_SUBMISSIONS,
	CONFIG_SVC_IMAP,
	CONFIG_SVC_IMAPS,
	CONFIG_SVC_POP3,
	CONFIG_SVC_POP3S,
	CONFIG_SVC_COUNT
};

/* One address to listen on: host is a numeric IPv4 or IPv6 address
 * (without brackets), checked with inet_pton. */
struct config_listen {
	char host[64];
	uint16_t port;
	bool ipv6;
};

struct config_service_cfg {
	struct config_listen listen[LIMIT_CONFIG_LISTEN];
	size_t listen_count;	/* 0: the service is off */
	/* SMTP services: bare_lf = reject refuses a message with a bare LF
	 * line end; normalize (default) stores it as CRLF. */
	bool bare_lf_reject;
};

/* [outbound]: the delivery agent (smtpd/relay_*.c). */
struct config_outbound {
	bool enabled;		/* no: remote recipients are refused */
	uint16_t port;		/* of MX hosts (25; tests use others) */
	char *dns;		/* "ADDR:PORT" resolver; NULL: the system's */
	char *relay;		/* "host:port" smarthost; NULL: MX delivery */
	char *relay_user;	/* AUTH to the smarthost; NULL: none */
	char *relay_password;
	bool relay_implicit_tls;	/* relay_tls = implicit (port 465) */
	char *relay_ca;		/* PEM CAs to verify the smarthost; NULL:
				   the system's */
	bool tls;		/* STARTTLS to MX hosts when offered */
	int64_t lifetime;	/* seconds until a message bounces */
	int64_t delay_notice;	/* seconds until the sender is told */
	int64_t retry_min;	/* first retry interval, doubling... */
	int64_t retry_max;	/* ...up to this */
	int64_t connect_timeout;	/* seconds */
	uint64_t connections;	/* at once, in all */
	uint64_t per_domain;	/* at once, to one domain */
};

/* All strings are owned by the struct and freed by config_free(). */
struct config {
	char *data_dir;
	char *hostname;
	char *user;		/* NULL: do not change user */
	char *log_level;	/* "error" | "warn" | "info" | "debug" */
	bool log_syslog;
	char *tls_cert;		/* NULL: self-signed in data_dir */
	char *tls_key;
	struct config_service_cfg service[CONFIG_SVC_COUNT];
	bool allow_plaintext_without_tls;
	uint64_t hash_opslimit;	/* argon2id cost; 0: libsodium INTERACTIVE */
	uint64_t hash_memlimit;	/* bytes; 0: libsodium INTERACTIVE */
	int64_t default_quota;	/* bytes for new users; 0: unlimited */
	int64_t max_message_size; /* bytes */
	struct config_outbound outbound;
};

/* config_service_name: "smtp", "imaps"... for a service. */
const char *config_service_name(enum config_service svc);

/* config_new_defaults: a config with every default filled in; data_dir is
 * default_data_dir. Caller frees with config_free(). */
struct config *config_new_defaults(const char *default_data_dir);

/*
 * config_load: reads path over the defaults (data_dir default_data_dir).
 * Returns 0 with *cfg_r (caller frees), or -1 with *error_r, an allocated
 * "file:line: reason" string the caller frees.
 */
int config_load(const char *path, const char *default_data_dir,
    struct config **cfg_r, char **error_r);

/* config_parse_buffer: config_load over len bytes of text; name is used in
 * error messages. For tests and the fuzzer. */
int config_parse_buffer(const char *name, const char *text, size_t len,
    const char *default_data_dir, struct config **cfg_r, char **error_r);

/* config_parse_duration: "90", "90s", "5m", "4h", "5d" -> seconds; -1
 * when invalid. */
int64_t config_parse_duration(const char *s);

/* config_parse_hostport: "host:port", "[v6addr]:port", or "host" with
 * default_port (0: a port is required). host: a DNS name or an address,
 * into host (256 bytes, brackets removed). -1 when invalid. */
int config_parse_hostport(const char *s, uint16_t default_port, char *host,
    uint16_t *port_r);

/* config_parse_size: "1024", "10K", "5M", "2G" -> bytes; -1 when invalid. */
int64_t config_parse_size(const char *s);

void config_free(struct config **cfg);

#endif
