/*
 * config.c - parse the INI-style config file.
 *
 * Grammar: lines of "key = value", "[section]", blank, or "# comment"
 * (a '#' after a value also starts a comment: no key takes a '#').
 * Limits: LIMIT_CONFIG_LINE per line, LIMIT_CONFIG_SIZE per file,
 * LIMIT_CONFIG_LISTEN addresses per listen key. A NUL byte is an error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "xalloc.h"

enum key_type {
	KEY_STRING,
	KEY_BOOL,
	KEY_SIZE,
	KEY_UINT,
	KEY_LISTEN,
	KEY_LOGLEVEL,
	KEY_BARE_LF,
	KEY_DURATION,
	KEY_PORT,
	KEY_HOSTPORT,		/* a string config_parse_hostport() takes */
	KEY_RELAY_TLS,
};

struct key_def {
	const char *section;	/* "" for the top, before any [section] */
	const char *key;
	enum key_type type;
	size_t offset;		/* into struct config */
};

#define SVC_OFFSET(svc, field) \
	(offsetof(struct config, service) + \
	 (svc) * sizeof(struct config_service_cfg) + \
	 offsetof(struct config_service_cfg, field))
#define SVC_LISTEN(name, svc) \
	{ name, "listen", KEY_LISTEN, SVC_OFFSET(svc, listen) }
#define SVC_BARE_LF(name, svc) \
	{ name, "bare_lf", KEY_BARE_LF, SVC_OFFSET(svc, bare_lf_reject) }

#define OUT_KEY(name, type, field) \
	{ "outbound", name, type, offsetof(struct config, outbound) + \
	  offsetof(struct config_outbound, field) }

static const struct key_def key_defs[] = {
	{ "", "data_dir", KEY_STRING, offsetof(struct config, data_dir) },
	{ "", "hostname", KEY_STRING, offsetof(struct config, hostname) },
	{ "", "user", KEY_STRING, offsetof(struct config, user) },
	{ "", "log_level", KEY_LOGLEVEL, offsetof(struct config, log_level) },
	{ "", "syslog", KEY_BOOL, offsetof(struct config, log_syslog) },
	{ "", "default_quota", KEY_SIZE,
	  offsetof(struct config, default_quota) },
	{ "", "max_message_size", KEY_SIZE,
	  offsetof(struct config, max_message_size) },
	{ "tls", "cert", KEY_STRING, offsetof(struct config, tls_cert) },
	{ "tls", "key", KEY_STRING, offsetof(struct config, tls_key) },
	SVC_LISTEN("smtp", CONFIG_SVC_SMTP),
	SVC_LISTEN("submission", CONFIG_SVC_SUBMISSION),
	SVC_LISTEN("submissions", CONFIG_SVC_SUBMISSIONS),
	SVC_BARE_LF("smtp", CONFIG_SVC_SMTP),
	SVC_BARE_LF("submission", CONFIG_SVC_SUBMISSION),
	SVC_BARE_LF("submissions", CONFIG_SVC_SUBMISSIONS),
	SVC_LISTEN("imap", CONFIG_SVC_IMAP),
	SVC_LISTEN("imaps", CONFIG_SVC_IMAPS),
	SVC_LISTEN("pop3", CONFIG_SVC_POP3),
	SVC_LISTEN("pop3s", CONFIG_SVC_POP3S),
	{ "auth", "allow_plaintext_without_tls", KEY_BOOL,
	  offsetof(struct config, allow_plaintext_without_tls) },
	{ "auth", "hash_opslimit", KEY_UINT,
	  offsetof(struct config, hash_opslimit) },
	{ "auth", "hash_memlimit", KEY_SIZE,
	  offsetof(struct config, hash_memlimit) },
	OUT_KEY("enabled", KEY_BOOL, enabled),
	OUT_KEY("port", KEY_PORT, port),
	OUT_KEY("dns", KEY_HOSTPORT, dns),
	OUT_KEY("relay", KEY_HOSTPORT, relay),
	OUT_KEY("relay_user", KEY_STRING, relay_user),
	OUT_KEY("relay_password", KEY_STRING, relay_password),
	OUT_KEY("relay_tls", KEY_RELAY_TLS, relay_implicit_tls),
	OUT_KEY("relay_ca", KEY_STRING, relay_ca),
	OUT_KEY("tls", KEY_BOOL, tls),
	OUT_KEY("lifetime", KEY_DURATION, lifetime),
	OUT_KEY("delay_notice", KEY_DURATION, delay_notice),
	OUT_KEY("retry_min", KEY_DURATION, retry_min),
	OUT_KEY("retry_max", KEY_DURATION, retry_max),
	OUT_KEY("connect_timeout", KEY_DURATION, connect_timeout),
	OUT_KEY("connections", KEY_UINT, connections),
	OUT_KEY("per_domain", KEY_UINT, per_domain),
};

static const char *const service_names[CONFIG_SVC_COUNT] = {
	"smtp", "submission", "submissions", "imap", "imaps", "pop3", "pop3s",
};

const char *
config_service_name(enum config_service svc)
{
	return service_names[svc];
}

struct config *
config_new_defaults(const char *default_data_dir)
{
	struct config *cfg = xcalloc(1, sizeof(*cfg));
	char host[256];

	cfg->data_dir = xstrdup(default_data_dir);
	if (gethostname(host, sizeof(host)) != 0)
		strcpy(host, "localhost");
	host[sizeof(host) - 1] = '\0';
	cfg->hostname = xstrdup(host);
	cfg->log_level = xstrdup("info");
	cfg->max_message_size = 50L * 1024 * 1024;
	/* RFC 5321 4.5.4.1: retry at least 30 min apart (we start at 5 and
	 * double), give up after 4-5 days. */
	cfg->outbound.enabled = true;
	cfg->outbound.port = 25;
	cfg->outbound.tls = true;
	cfg->outbound.lifetime = 5 * 24 * 3600;
	cfg->outbound.delay_notice = 4 * 3600;
	cfg->outbound.retry_min = 5 * 60;
	cfg->outbound.retry_max = 4 * 3600;
	cfg->outbound.connect_timeout = 30;
	cfg->outbound.connections = 20;
	cfg->outbound.per_domain = 4;
	return cfg;
}

void
config_free(struct config **cfgp)
{
	struct config *cfg = *cfgp;

	if (cfg == NULL)
		return;
	free(cfg->data_dir);
	free(cfg->hostname);
	free(cfg->user);
	free(cfg->log_level);
	free(cfg->tls_cert);
	free(cfg->tls_key);
	free(cfg->outbound.dns);
	free(cfg->outbound.relay);
	free(cfg->outbound.relay_user);
	if (cfg->outbound.relay_password != NULL)
		explicit_bzero(cfg->outbound.relay_password,
		    strlen(cfg->outbound.relay_password));
	free(cfg->outbound.relay_password);
	free(cfg->outbound.relay_ca);
	free(cfg);
	*cfgp = NULL;
}

/* A number's unit suffix and what it multiplies by. */
struct unit {
	char suffix;
	int64_t mult;
};

/* parse_units: digits, then nothing or one suffix of units; at most max
 * in all. -1 when invalid. */
static int64_t
parse_units(const char *s, const struct unit *units, size_t nunits,
    int64_t max)
{
	char *end;
	unsigned long long v;
	int64_t mult = 1;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	if (*end != '\0') {
		size_t i;

		for (i = 0; i < nunits && units[i].suffix != *end; i++)
			;
		if (i == nunits)
			return -1;
		mult = units[i].mult;
		end++;
	}
	if (*end != '\0' || v > (unsigned long long)(max / mult))
		return -1;
	return (int64_t)v * mult;
}

int64_t
config_parse_size(const char *s)
{
	static const struct unit units[] = {
		{ 'k', 1024 }, { 'K', 1024 }, { 'm', 1024 * 1024 },
		{ 'M', 1024 * 1024 }, { 'g', 1024 * 1024 * 1024 },
		{ 'G', 1024 * 1024 * 1024 },
	};

	return parse_units(s, units, sizeof(units) / sizeof(units[0]),
	    INT64_MAX);
}

int64_t
config_parse_duration(const char *s)
{
	static const struct unit units[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 24 * 3600 },
	};

	/* Ten years is more than any mail timer wants. */
	return parse_units(s, units, sizeof(units) / sizeof(units[0]),
	    3650LL * 24 * 3600);
}

int
config_parse_hostport(const char *s, uint16_t default_port, char *host,
    uint16_t *port_r)
{
	const char *colon, *h = s;
	size_t hlen;
	unsigned long port = default_port;
	char *end;

	if (*s == '[') {
		const char *close = strchr(s, ']');
		unsigned char addr[16];

		if (close == NULL || (close[1] != ':' && close[1] != '\0'))
			return -1;
		h = s + 1;
		hlen = (size_t)(close - h);
		colon = close[1] == ':' ? close + 1 : NULL;
		if (hlen == 0 || hlen >= 256)
			return -1;
		memcpy(host, h, hlen);
		host[hlen] = '\0';
		if (inet_pton(AF_INET6, host, addr) != 1)
			return -1;
	} else {
		colon = strchr(s, ':');
		hlen = colon != NULL ? (size_t)(colon - s) : strlen(s);
		if (hlen == 0 || hlen >= 256)
			return -1;
		for (size_t i = 0; i < hlen; i++)
			if (!((s[i] >= 'a' && s[i] <= 'z') ||
			    (s[i] >= 'A' && s[i] <= 'Z') ||
			    (s[i] >= '0' && s[i] <= '9') || s[i] == '.' ||
			    s[i] == '-'))
				return -1;
		memcpy(host, s, hlen);
		host[hlen] = '\0';
	}
	if (colon != NULL) {
		errno = 0;
		port = strtoul(colon + 1, &end, 10);
		if (colon[1] < '0' || colon[1] > '9' || *end != '\0' ||
		    errno != 0)
			return -1;
	}
	if (port == 0 || port > 65535)
		return -1;
	*port_r = (uint16_t)port;
	return 0;
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* parse_listen_one: "1.2.3.4:25" or "[::1]:25" into l. */
static int
parse_listen_one(char *s, struct config_listen *l, const char **why)
{
	char *colon, *host = s, *end;
	unsigned char addr[16];
	unsigned long port;

	if (*s == '[') {
		char *close = strchr(s, ']');

		if (close == NULL || close[1] != ':') {
			*why = "IPv6 listen address must be [ADDR]:PORT";
			return -1;
		}
		*close = '\0';
		host = s + 1;
		colon = close + 1;
		l->ipv6 = true;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL) {
			*why = "listen address must be ADDR:PORT";
			return -1;
		}
		*colon = '\0';
		l->ipv6 = false;
	}
	if (strlen(host) >= sizeof(l->host) ||
	    inet_pton(l->ipv6 ? AF_INET6 : AF_INET, host, addr) != 1) {
		*why = "listen address is not a numeric IPv4 or [IPv6] address";
		return -1;
	}
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (colon[1] < '0' || colon[1] > '9' || *end != '\0' || errno != 0 ||
	    port == 0 || port > 65535) {
		*why = "listen port must be 1-65535";
		return -1;
	}
	strcpy(l->host, host);
	l->port = (uint16_t)port;
	return 0;
}

static int
parse_listen(char *value, struct config_service_cfg *svc, const char **why)
{
	char *save = NULL, *tok;

	svc->listen_count = 0;
	for (tok = strtok_r(value, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		tok = trim(tok);
		if (*tok == '\0')
			continue;
		if (svc->listen_count == LIMIT_CONFIG_LISTEN) {
			*why = "too many listen addresses";
			return -1;
		}
		if (parse_listen_one(tok, &svc->listen[svc->listen_count],
		    why) < 0)
			return -1;
		svc->listen_count++;
	}
	return 0;
}

static int
set_value(struct config *cfg, const struct key_def *def, char *value,
    const char **why)
{
	char *field = (char *)cfg + def->offset;
	int64_t size;
	char *end;
	unsigned long long u;

	switch (def->type) {
	case KEY_STRING:
		if (*value == '\0') {
			*why = "empty value";
			return -1;
		}
		free(*(char **)field);
		*(char **)field = xstrdup(value);
		return 0;
	case KEY_LOGLEVEL:
		if (log_level_parse(value) < 0) {
			*why = "log_level must be error, warn, info or debug";
			return -1;
		}
		free(*(char **)field);
		*(char **)field = xstrdup(value);
		return 0;
	case KEY_BOOL:
		if (strcmp(value, "yes") == 0 || strcmp(value, "true") == 0) {
			*(bool *)field = true;
		} else if (strcmp(value, "no") == 0 ||
		    strcmp(value, "false") == 0) {
			*(bool *)field = false;
		} else {
			*why = "expected yes or no";
			return -1;
		}
		return 0;
	case KEY_SIZE:
		if ((size = config_parse_size(value)) < 0) {
			*why = "expected a size such as 1024, 512K, 50M or 2G";
			return -1;
		}
		*(int64_t *)field = size;
		return 0;
	case KEY_UINT:
		errno = 0;
		u = strtoull(value, &end, 10);
		if (*value < '0' || *value > '9' || *end != '\0' ||
		    errno != 0) {
			*why = "expected a whole number";
			return -1;
		}
		*(uint64_t *)field = u;
		return 0;
	case KEY_LISTEN:
		return parse_listen(value, (struct config_service_cfg *)
		    (field - offsetof(struct config_service_cfg, listen)), why);
	case KEY_BARE_LF:
		if (strcmp(value, "normalize") == 0) {
			*(bool *)field = false;
		} else if (strcmp(value, "reject") == 0) {
			*(bool *)field = true;
		} else {
			*why = "bare_lf must be normalize or reject";
			return -1;
		}
		return 0;
	case KEY_DURATION:
		if ((size = config_parse_duration(value)) < 0) {
			*why = "expected a duration such as 90s, 5m, 4h or 5d";
			return -1;
		}
		*(int64_t *)field = size;
		return 0;
	case KEY_PORT:
		errno = 0;
		u = strtoull(value, &end, 10);
		if (*value < '0' || *value > '9' || *end != '\0' ||
		    errno != 0 || u == 0 || u > 65535) {
			*why = "expected a port, 1-65535";
			return -1;
		}
		*(uint16_t *)field = (uint16_t)u;
		return 0;
	case KEY_HOSTPORT: {
		char host[256];
		uint16_t port;

		if (config_parse_hostport(value, 0, host, &port) < 0) {
			*why = "expected HOST:PORT (or [IPv6]:PORT)";
			return -1;
		}
		free(*(char **)field);
		*(char **)field = xstrdup(value);
		return 0;
	}
	case KEY_RELAY_TLS:
		if (strcmp(value, "starttls") == 0) {
			*(bool *)field = false;
		} else if (strcmp(value, "implicit") == 0) {
			*(bool *)field = true;
		} else {
			*why = "relay_tls must be starttls or implicit";
			return -1;
		}
		return 0;
	}
	fatal("config: unknown key type %d", (int)def->type);
}

static const struct key_def *
find_key(const char *section, const char *key, size_t *index_r)
{
	for (size_t i = 0; i < sizeof(key_defs) / sizeof(key_defs[0]); i++) {
		if (strcmp(key_defs[i].section, section) == 0 &&
		    strcmp(key_defs[i].key, key) == 0) {
			*index_r = i;
			return &key_defs[i];
		}
	}
	return NULL;
}

static bool
section_known(const char *section)
{
	for (size_t i = 0; i < sizeof(key_defs) / sizeof(key_defs[0]); i++)
		if (strcmp(key_defs[i].section, section) == 0)
			return true;
	return false;
}

/* parse_line: one line (NUL-terminated, no newline) into cfg. */
static int
parse_line(struct config *cfg, char *line, char *section, size_t section_size,
    bool *seen, const char **why)
{
	char *s = trim(line), *eq, *key, *value, *hash;
	const struct key_def *def;
	size_t index;

	if (*s == '\0' || *s == '#' || *s == ';')
		return 0;
	if (*s == '[') {
		char *close = strchr(s, ']'), *rest;

		/* DESIGN.md's own example comments after a section line. */
		rest = close != NULL ? trim(close + 1) : NULL;
		if (close == NULL || (*rest != '\0' && *rest != '#')) {
			*why = "a section line must be [name]";
			return -1;
		}
		*close = '\0';
		s = trim(s + 1);
		if (*s == '\0' || !section_known(s) || strlen(s) >= section_size) {
			*why = "unknown section";
			return -1;
		}
		strcpy(section, s);
		return 0;
	}
	if ((eq = strchr(s, '=')) == NULL) {
		*why = "expected key = value";
		return -1;
	}
	*eq = '\0';
	key = trim(s);
	value = eq + 1;
	if ((hash = strchr(value, '#')) != NULL)
		*hash = '\0';
	value = trim(value);
	if ((def = find_key(section, key, &index)) == NULL) {
		*why = "unknown key";
		return -1;
	}
	if (seen[index]) {
		*why = "key given twice";
		return -1;
	}
	seen[index] = true;
	return set_value(cfg, def, value, why);
}

int
config_parse_buffer(const char *name, const char *text, size_t len,
    const char *default_data_dir, struct config **cfg_r, char **error_r)
{
	bool seen[sizeof(key_defs) / sizeof(key_defs[0])] = { false };
	char section[32] = "";
	char line[LIMIT_CONFIG_LINE + 1];
	struct config *cfg = config_new_defaults(default_data_dir);
	size_t pos = 0, lineno = 0;
	const char *why = NULL;

	if (len > LIMIT_CONFIG_SIZE) {
		*error_r = xasprintf("%s: file too large", name);
		config_free(&cfg);
		return -1;
	}
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl != NULL ? (size_t)(nl - (text + pos)) : len - pos;

		lineno++;
		if (n > LIMIT_CONFIG_LINE)
			why = "line too long";
		else if (memchr(text + pos, '\0', n) != NULL)
			why = "NUL byte in line";
		if (why == NULL) {
			memcpy(line, text + pos, n);
			line[n] = '\0';
			if (parse_line(cfg, line, section, sizeof(section),
			    seen, &why) < 0 && why == NULL)
				why = "invalid line";
		}
		if (why != NULL) {
			*error_r = xasprintf("%s:%zu: %s", name, lineno, why);
			config_free(&cfg);
			return -1;
		}
		pos += n + 1;
	}
	if ((cfg->outbound.relay_user == NULL) !=
	    (cfg->outbound.relay_password == NULL)) {
		*error_r = xasprintf("%s: [outbound] relay_user and "
		    "relay_password go together", name);
		config_free(&cfg);
		return -1;
	}
	if (cfg->outbound.retry_min == 0 ||
	    cfg->outbound.retry_max < cfg->outbound.retry_min ||
	    cfg->outbound.connections == 0 || cfg->outbound.per_domain == 0) {
		*error_r = xasprintf("%s: [outbound] retry_min must be above 0 "
		    "and at most retry_max; connections and per_domain above "
		    "0", name);
		config_free(&cfg);
		return -1;
	}
	*cfg_r = cfg;
	return 0;
}

int
config_load(const char *path, const char *default_data_dir,
    struct config **cfg_r, char **error_r)
{
	FILE *f = fopen(path, "r");
	char *text;
	size_t len;
	int ret;

	if (f == NULL) {
		*error_r = xasprintf("%s: %s", path, strerror(errno));
		return -1;
	}
	text = xmalloc(LIMIT_CONFIG_SIZE + 1);
	len = fread(text, 1, LIMIT_CONFIG_SIZE + 1, f);
	if (ferror(f)) {
		*error_r = xasprintf("%s: read error", path);
		ret = -1;
	} else {
		ret = config_parse_buffer(path, text, len, default_data_dir,
		    cfg_r, error_r);
	}
	fclose(f);
	free(text);
	return ret;
}
