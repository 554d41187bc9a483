/*
 * test_config.c - config_parse_buffer, config_load, config_parse_size and
 * the defaults.
 *
 * Every error must read "name:LINE: reason" with the line of the fault, so
 * an administrator can find it; each case below checks the exact prefix and
 * a word of the reason.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "common/config.h"

#define DEFAULT_DIR "/default/data"

static const char full_config[] =
	"# Letterbox test configuration: every key\n"
	"data_dir = /var/lib/letterbox-test\n"
	"hostname = mail.example.org\n"
	"user = letterbox   # drop to this user\n"
	"log_level = debug\n"
	"syslog = yes\n"
	"default_quota = 100M\n"
	"max_message_size = 25M\n"
	"\n"
	"[tls]\n"
	"cert = /etc/letterbox/fullchain.pem\n"
	"key  = /etc/letterbox/privkey.pem\n"
	"\n"
	"[smtp]\n"
	"listen = 0.0.0.0:25, [::]:25\n"
	"[submission]\n"
	"listen = 127.0.0.1:587\n"
	"[submissions]\n"
	"listen = 0.0.0.0:465\n"
	"[imap]\n"
	"listen = [::1]:143\n"
	"[imaps]\n"
	"listen = 0.0.0.0:993\n"
	"[pop3]\n"
	"listen = 192.0.2.1:110\n"
	"[pop3s]\n"
	"listen = 0.0.0.0:995\n"
	"\n"
	"[auth]\n"
	"allow_plaintext_without_tls = true\n"
	"hash_opslimit = 3\n"
	"hash_memlimit = 64M\n";

static struct config *
parse_ok(const char *text, size_t len)
{
	struct config *cfg = NULL;
	char *error = NULL;

	if (config_parse_buffer("t.conf", text, len, DEFAULT_DIR, &cfg,
	    &error) != 0) {
		char why[256];

		/* Copied so that the failing test leaks nothing. */
		snprintf(why, sizeof(why), "%s",
		    error != NULL ? error : "(no error)");
		free(error);
		fail_msg("config_parse_buffer failed: %s", why);
	}
	assert_null(error);
	assert_non_null(cfg);
	return cfg;
}

static struct config *
parse_ok_s(const char *text)
{
	return parse_ok(text, strlen(text));
}

/* expect_error: parsing text fails with "t.conf:LINE: ..." whose reason
 * contains why. */
static void
expect_error_n(const char *text, size_t len, unsigned int line,
    const char *why)
{
	struct config *cfg = NULL;
	char *error = NULL;
	char prefix[64];

	if (config_parse_buffer("t.conf", text, len, DEFAULT_DIR, &cfg,
	    &error) != -1)
		fail_msg("accepted: \"%s\"", text);
	assert_null(cfg);
	assert_non_null(error);
	snprintf(prefix, sizeof(prefix), "t.conf:%u: ", line);
	if (strncmp(error, prefix, strlen(prefix)) != 0)
		fail_msg("error \"%s\" does not start with \"%s\"", error,
		    prefix);
	if (strstr(error + strlen(prefix), why) == NULL)
		fail_msg("error \"%s\" does not say \"%s\"", error, why);
	free(error);
}

static void
expect_error(const char *text, unsigned int line, const char *why)
{
	expect_error_n(text, strlen(text), line, why);
}

static void
assert_listen(const struct config_listen *l, const char *host, uint16_t port,
    bool ipv6)
{
	assert_string_equal(l->host, host);
	assert_int_equal(l->port, port);
	assert_int_equal(l->ipv6, ipv6);
}

static void
check_full(const struct config *cfg)
{
	const struct config_service_cfg *s = cfg->service;

	assert_string_equal(cfg->data_dir, "/var/lib/letterbox-test");
	assert_string_equal(cfg->hostname, "mail.example.org");
	assert_string_equal(cfg->user, "letterbox");
	assert_string_equal(cfg->log_level, "debug");
	assert_true(cfg->log_syslog);
	assert_int_equal(cfg->default_quota, 100LL * 1024 * 1024);
	assert_int_equal(cfg->max_message_size, 25LL * 1024 * 1024);
	assert_string_equal(cfg->tls_cert, "/etc/letterbox/fullchain.pem");
	assert_string_equal(cfg->tls_key, "/etc/letterbox/privkey.pem");

	assert_int_equal(s[CONFIG_SVC_SMTP].listen_count, 2);
	assert_listen(&s[CONFIG_SVC_SMTP].listen[0], "0.0.0.0", 25, false);
	assert_listen(&s[CONFIG_SVC_SMTP].listen[1], "::", 25, true);
	assert_int_equal(s[CONFIG_SVC_SUBMISSION].listen_count, 1);
	assert_listen(&s[CONFIG_SVC_SUBMISSION].listen[0], "127.0.0.1", 587,
	    false);
	assert_int_equal(s[CONFIG_SVC_SUBMISSIONS].listen_count, 1);
	assert_listen(&s[CONFIG_SVC_SUBMISSIONS].listen[0], "0.0.0.0", 465,
	    false);
	assert_int_equal(s[CONFIG_SVC_IMAP].listen_count, 1);
	assert_listen(&s[CONFIG_SVC_IMAP].listen[0], "::1", 143, true);
	assert_int_equal(s[CONFIG_SVC_IMAPS].listen_count, 1);
	assert_listen(&s[CONFIG_SVC_IMAPS].listen[0], "0.0.0.0", 993, false);
	assert_int_equal(s[CONFIG_SVC_POP3].listen_count, 1);
	assert_listen(&s[CONFIG_SVC_POP3].listen[0], "192.0.2.1", 110, false);
	assert_int_equal(s[CONFIG_SVC_POP3S].listen_count, 1);
	assert_listen(&s[CONFIG_SVC_POP3S].listen[0], "0.0.0.0", 995, false);

	assert_true(cfg->allow_plaintext_without_tls);
	assert_int_equal(cfg->hash_opslimit, 3);
	assert_int_equal(cfg->hash_memlimit, 64ULL * 1024 * 1024);
}

static void
test_full(void **state)
{
	struct config *cfg = parse_ok(full_config, strlen(full_config));

	check_full(cfg);
	config_free(&cfg);
	assert_null(cfg);
}

static void
test_crlf(void **state)
{
	size_t n = strlen(full_config), j = 0;
	char *crlf = malloc(2 * n + 1);
	struct config *cfg;

	assert_non_null(crlf);
	for (size_t i = 0; i < n; i++) {
		if (full_config[i] == '\n')
			crlf[j++] = '\r';
		crlf[j++] = full_config[i];
	}
	crlf[j] = '\0';
	cfg = parse_ok(crlf, j);
	check_full(cfg);	/* no '\r' left in any value */
	config_free(&cfg);

	/* Line numbers still count CRLF lines. */
	expect_error("hostname = a\r\n\r\nbogus = 1\r\n", 3, "unknown key");
	free(crlf);
}

static void
test_defaults(void **state)
{
	struct config *cfg = parse_ok("", 0);
	struct config *def = config_new_defaults(DEFAULT_DIR);

	assert_string_equal(cfg->data_dir, DEFAULT_DIR);
	assert_non_null(cfg->hostname);
	assert_true(strlen(cfg->hostname) > 0);
	assert_string_equal(cfg->hostname, def->hostname);
	assert_null(cfg->user);
	assert_string_equal(cfg->log_level, "info");
	assert_false(cfg->log_syslog);
	assert_null(cfg->tls_cert);
	assert_null(cfg->tls_key);
	for (int i = 0; i < CONFIG_SVC_COUNT; i++)
		assert_int_equal(cfg->service[i].listen_count, 0);
	assert_false(cfg->allow_plaintext_without_tls);
	assert_int_equal(cfg->hash_opslimit, 0);
	assert_int_equal(cfg->hash_memlimit, 0);
	assert_int_equal(cfg->default_quota, 0);
	assert_true(cfg->max_message_size > 0);
	assert_true(cfg->max_message_size <= LIMIT_MESSAGE_SIZE);
	assert_int_equal(def->max_message_size, cfg->max_message_size);
	config_free(&cfg);
	config_free(&def);

	/* A partial file keeps the defaults of what it does not set. */
	cfg = parse_ok_s("hostname = mx.example\n");
	assert_string_equal(cfg->hostname, "mx.example");
	assert_string_equal(cfg->data_dir, DEFAULT_DIR);
	assert_string_equal(cfg->log_level, "info");
	config_free(&cfg);

	/* config_free(NULL) is harmless. */
	config_free(&cfg);
	assert_null(cfg);
}

static void
test_comments_blank(void **state)
{
	static const char text[] =
		"# a comment\n"
		"   # an indented comment\n"
		"; an ini-style comment\n"
		"\n"
		"   \t  \n"
		"hostname = mx.example.org # trailing comment\n"
		"\t user\t=\tmail   \n"
		"[smtp]\n"
		"listen =     # empty: the service is off\n"
		"[ imap ]\n"
		"listen = 127.0.0.1:143 ,  , 127.0.0.2:143\n"
		"# last line without a newline";
	struct config *cfg = parse_ok(text, strlen(text));

	assert_string_equal(cfg->hostname, "mx.example.org");
	assert_string_equal(cfg->user, "mail");
	assert_int_equal(cfg->service[CONFIG_SVC_SMTP].listen_count, 0);
	assert_int_equal(cfg->service[CONFIG_SVC_IMAP].listen_count, 2);
	assert_listen(&cfg->service[CONFIG_SVC_IMAP].listen[1], "127.0.0.2",
	    143, false);
	config_free(&cfg);

	/* No newline at the end of a key line. */
	cfg = parse_ok_s("hostname = last.example");
	assert_string_equal(cfg->hostname, "last.example");
	config_free(&cfg);
}

/* DESIGN.md's own example puts a comment after a section header:
 * "[smtp]      # inbound MX: local recipients, no AUTH needed". */
static void
test_section_comment(void **state)
{
	struct config *cfg = parse_ok_s(
	    "[smtp]                          # inbound MX: local recipients\n"
	    "listen = 0.0.0.0:25, [::]:25    # empty or absent: off\n"
	    "[submission]                    # STARTTLS, AUTH required\n"
	    "listen = 0.0.0.0:587\n");

	assert_int_equal(cfg->service[CONFIG_SVC_SMTP].listen_count, 2);
	assert_int_equal(cfg->service[CONFIG_SVC_SUBMISSION].listen_count, 1);
	config_free(&cfg);
}

static void
test_errors_keys(void **state)
{
	expect_error("bogus = 1\n", 1, "unknown key");
	expect_error("hostname = a\n\n# c\nbogus = 1\n", 4, "unknown key");
	/* A key in the wrong section is unknown there. */
	expect_error("[tls]\nlisten = 0.0.0.0:25\n", 2, "unknown key");
	expect_error("[smtp]\nhostname = a\n", 2, "unknown key");
	expect_error("cert = /x\n", 1, "unknown key");
	expect_error("hostname = a\n[nosuch]\n", 2, "unknown section");
	expect_error("[]\n", 1, "section");
	expect_error("[smtp\n", 1, "section");
	expect_error("[smtp] junk\n", 1, "section");
	expect_error("hostname = a\nuser = b\nhostname = c\n", 3, "twice");
	expect_error("[smtp]\nlisten = 0.0.0.0:25\n[imap]\nlisten = "
	    "0.0.0.0:143\n[smtp]\nlisten = 0.0.0.0:26\n", 6, "twice");
	expect_error("hostname mail.example.org\n", 1, "key = value");
	expect_error("# ok\nhostname\n", 2, "key = value");
	expect_error("hostname =\n", 1, "empty");
	expect_error("user = \n", 1, "empty");
}

static void
test_errors_values(void **state)
{
	expect_error("syslog = maybe\n", 1, "yes or no");
	expect_error("\n[auth]\nallow_plaintext_without_tls = 1\n", 3,
	    "yes or no");
	expect_error("syslog = YESS\n", 1, "yes or no");
	expect_error("default_quota = 10X\n", 1, "size");
	expect_error("max_message_size = -5\n", 1, "size");
	expect_error("max_message_size = M\n", 1, "size");
	expect_error("default_quota = 1.5G\n", 1, "size");
	expect_error("[auth]\nhash_memlimit = lots\n", 2, "size");
	expect_error("[auth]\nhash_opslimit = 3x\n", 2, "whole number");
	expect_error("[auth]\nhash_opslimit = -1\n", 2, "whole number");
	expect_error("log_level = verbose\n", 1, "log_level");
}

static void
test_errors_listen(void **state)
{
	struct config *cfg;
	char text[2048];
	size_t n;

	expect_error("[smtp]\nlisten = localhost:25\n", 2, "numeric");
	expect_error("[smtp]\nlisten = 0.0.0.0\n", 2, "ADDR:PORT");
	expect_error("[smtp]\nlisten = 0.0.0.0:\n", 2, "port");
	expect_error("[smtp]\nlisten = 0.0.0.0:0\n", 2, "port");
	expect_error("[smtp]\nlisten = 0.0.0.0:65536\n", 2, "port");
	expect_error("[smtp]\nlisten = 0.0.0.0:25x\n", 2, "port");
	expect_error("[smtp]\nlisten = 0.0.0.0:-25\n", 2, "port");
	expect_error("[smtp]\nlisten = 999.0.0.1:25\n", 2, "numeric");
	expect_error("[smtp]\nlisten = ::1:25\n", 2, "numeric");
	expect_error("[smtp]\nlisten = [::1]25\n", 2, "[ADDR]:PORT");
	expect_error("[smtp]\nlisten = [::1\n", 2, "[ADDR]:PORT");
	expect_error("[smtp]\nlisten = [127.0.0.1]:25\n", 2, "numeric");
	expect_error("[smtp]\nlisten = 0.0.0.0:25, bad\n", 2, "ADDR:PORT");

	/* The bounds themselves are fine. */
	cfg = parse_ok_s("[smtp]\nlisten = 0.0.0.0:1, [::1]:143, "
	    "[fe80::1]:65535\n");
	assert_int_equal(cfg->service[CONFIG_SVC_SMTP].listen_count, 3);
	assert_listen(&cfg->service[CONFIG_SVC_SMTP].listen[0], "0.0.0.0", 1,
	    false);
	assert_listen(&cfg->service[CONFIG_SVC_SMTP].listen[1], "::1", 143,
	    true);
	assert_listen(&cfg->service[CONFIG_SVC_SMTP].listen[2], "fe80::1",
	    65535, true);
	config_free(&cfg);

	/* LIMIT_CONFIG_LISTEN addresses are fine, one more is not. */
	n = (size_t)snprintf(text, sizeof(text), "[imap]\nlisten = ");
	for (int i = 0; i < LIMIT_CONFIG_LISTEN; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n,
		    "%s127.0.0.%d:143", i > 0 ? ", " : "", i + 1);
	snprintf(text + n, sizeof(text) - n, "\n");
	cfg = parse_ok(text, strlen(text));
	assert_int_equal(cfg->service[CONFIG_SVC_IMAP].listen_count,
	    LIMIT_CONFIG_LISTEN);
	config_free(&cfg);
	snprintf(text + n, sizeof(text) - n, ", 127.0.1.1:143\n");
	expect_error(text, 2, "too many");
}

static void
test_errors_line(void **state)
{
	char *text = malloc(LIMIT_CONFIG_LINE + 64);
	struct config *cfg;
	size_t n;

	assert_non_null(text);

	/* A comment of exactly LIMIT_CONFIG_LINE octets is a line. */
	memset(text, '#', LIMIT_CONFIG_LINE);
	text[LIMIT_CONFIG_LINE] = '\n';
	cfg = parse_ok(text, LIMIT_CONFIG_LINE + 1);
	config_free(&cfg);

	/* One more is an error naming its line. */
	n = (size_t)sprintf(text, "hostname = a\n");
	memset(text + n, '#', LIMIT_CONFIG_LINE + 1);
	n += LIMIT_CONFIG_LINE + 1;
	text[n++] = '\n';
	text[n] = '\0';
	expect_error_n(text, n, 2, "too long");

	/* Too long without a newline at the end. */
	memset(text, 'x', LIMIT_CONFIG_LINE + 1);
	expect_error_n(text, LIMIT_CONFIG_LINE + 1, 1, "too long");

	/* A NUL byte anywhere in a line. */
	expect_error_n("hostname = a\0b\n", 15, 1, "NUL");
	expect_error_n("# ok\n# com\0ment\n", 16, 2, "NUL");
	free(text);
}

static void
test_file_too_large(void **state)
{
	size_t n = LIMIT_CONFIG_SIZE + 1;
	char *text = malloc(n);
	struct config *cfg = NULL;
	char *error = NULL;

	assert_non_null(text);
	/* Short comment lines: only the size is wrong. */
	for (size_t i = 0; i < n; i++)
		text[i] = (i % 64 == 63) ? '\n' : '#';
	assert_int_equal(config_parse_buffer("big.conf", text, n, DEFAULT_DIR,
	    &cfg, &error), -1);
	assert_null(cfg);
	assert_non_null(error);
	assert_non_null(strstr(error, "big.conf"));
	assert_non_null(strstr(error, "too large"));
	free(error);
	free(text);
}

static void
test_parse_size(void **state)
{
	assert_int_equal(config_parse_size("0"), 0);
	assert_int_equal(config_parse_size("1024"), 1024);
	assert_int_equal(config_parse_size("10K"), 10 * 1024);
	assert_int_equal(config_parse_size("10k"), 10 * 1024);
	assert_int_equal(config_parse_size("5M"), 5LL * 1024 * 1024);
	assert_int_equal(config_parse_size("5m"), 5LL * 1024 * 1024);
	assert_int_equal(config_parse_size("2G"), 2LL * 1024 * 1024 * 1024);
	assert_int_equal(config_parse_size("2g"), 2LL * 1024 * 1024 * 1024);
	/* The largest number of G that fits an int64_t, and one more. */
	assert_int_equal(config_parse_size("8589934591G"),
	    8589934591LL * 1024 * 1024 * 1024);
	assert_int_equal(config_parse_size("8589934592G"), -1);
	assert_int_equal(config_parse_size("9223372036854775807"),
	    INT64_MAX);
	assert_int_equal(config_parse_size("9223372036854775808"), -1);
	assert_int_equal(config_parse_size("99999999999999999999999"), -1);

	assert_int_equal(config_parse_size(""), -1);
	assert_int_equal(config_parse_size("K"), -1);
	assert_int_equal(config_parse_size("-1"), -1);
	assert_int_equal(config_parse_size("+1"), -1);
	assert_int_equal(config_parse_size(" 5"), -1);
	assert_int_equal(config_parse_size("5 "), -1);
	assert_int_equal(config_parse_size("10KB"), -1);
	assert_int_equal(config_parse_size("10T"), -1);
	assert_int_equal(config_parse_size("1.5M"), -1);
	assert_int_equal(config_parse_size("0x10"), -1);
}

static void
test_load(void **state)
{
	char *dir = tu_tempdir();
	char *path = tu_path(dir, "letterbox.conf");
	char *missing = tu_path(dir, "missing.conf");
	struct config *cfg = NULL;
	char *error = NULL;
	FILE *f;

	/* A missing file: -1 with the path and the reason. */
	assert_int_equal(config_load(missing, DEFAULT_DIR, &cfg, &error), -1);
	assert_null(cfg);
	assert_non_null(error);
	assert_non_null(strstr(error, missing));
	assert_non_null(strstr(error, "No such file"));
	free(error);
	error = NULL;

	/* A real file reads like the buffer. */
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(full_config, 1, strlen(full_config), f),
	    strlen(full_config));
	assert_int_equal(fclose(f), 0);
	assert_int_equal(config_load(path, DEFAULT_DIR, &cfg, &error), 0);
	assert_null(error);
	check_full(cfg);
	config_free(&cfg);

	/* Errors in a file name the file. */
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("hostname = a\nsyslog = perhaps\n", f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(config_load(path, DEFAULT_DIR, &cfg, &error), -1);
	assert_non_null(error);
	{
		char *want = malloc(strlen(path) + 8);

		assert_non_null(want);
		sprintf(want, "%s:2: ", path);
		assert_memory_equal(error, want, strlen(want));
		free(want);
	}
	free(error);

	tu_rmtree(dir);
	free(missing);
	free(path);
	free(dir);
}

/* [outbound]: defaults, every key, and what is refused. */
static void
test_outbound(void **state)
{
	struct config *cfg = parse_ok_s("");
	struct config *o;
	char host[256];
	uint16_t port;
	char *error = NULL;
	const char *text;

	(void)state;
	assert_true(cfg->outbound.enabled);
	assert_int_equal(cfg->outbound.port, 25);
	assert_null(cfg->outbound.relay);
	assert_int_equal(cfg->outbound.lifetime, 5 * 24 * 3600);
	assert_int_equal(cfg->outbound.delay_notice, 4 * 3600);
	assert_int_equal(cfg->outbound.retry_min, 300);
	assert_int_equal(cfg->outbound.retry_max, 4 * 3600);
	config_free(&cfg);

	o = parse_ok_s("[outbound]\nenabled = no\nport = 2525\n"
	    "dns = [::1]:5353\nrelay = smtp.example.org:587\n"
	    "relay_user = u@example.org\nrelay_password = pw\n"
	    "relay_tls = implicit\nlifetime = 2d\ndelay_notice = 90m\n"
	    "retry_min = 30s\nretry_max = 1h\nconnections = 5\n"
	    "per_domain = 2\ntls = no\n");
	assert_false(o->outbound.enabled);
	assert_int_equal(o->outbound.port, 2525);
	assert_string_equal(o->outbound.dns, "[::1]:5353");
	assert_string_equal(o->outbound.relay, "smtp.example.org:587");
	assert_true(o->outbound.relay_implicit_tls);
	assert_int_equal(o->outbound.lifetime, 2 * 24 * 3600);
	assert_int_equal(o->outbound.delay_notice, 90 * 60);
	assert_int_equal(o->outbound.retry_min, 30);
	assert_int_equal(o->outbound.connections, 5);
	assert_false(o->outbound.tls);
	config_free(&o);

	expect_error("[outbound]\nlifetime = 5y\n", 2, "duration");
	expect_error("[outbound]\nlifetime = 99999d\n", 2, "duration");
	expect_error("[outbound]\nport = 0\n", 2, "port");
	expect_error("[outbound]\nport = 65536\n", 2, "port");
	expect_error("[outbound]\nrelay = smtp.example.org\n", 2, "HOST:PORT");
	expect_error("[outbound]\nrelay = bad_host:25\n", 2, "HOST:PORT");
	expect_error("[outbound]\ndns = [::1:53\n", 2, "HOST:PORT");
	expect_error("[outbound]\nrelay_tls = maybe\n", 2, "relay_tls");
	text = "[outbound]\nrelay_user = u\n";
	assert_int_equal(config_parse_buffer("t.conf", text, strlen(text),
	    DEFAULT_DIR, &o, &error), -1);
	assert_non_null(strstr(error, "relay_password"));
	free(error);
	error = NULL;
	text = "[outbound]\nretry_min = 2h\nretry_max = 1h\n";
	assert_int_equal(config_parse_buffer("t.conf", text, strlen(text),
	    DEFAULT_DIR, &o, &error), -1);
	assert_non_null(strstr(error, "retry_min"));
	free(error);

	assert_int_equal(config_parse_hostport("mx.example:25", 0, host,
	    &port), 0);
	assert_string_equal(host, "mx.example");
	assert_int_equal(port, 25);
	assert_int_equal(config_parse_hostport("[2001:db8::1]", 53, host,
	    &port), 0);
	assert_string_equal(host, "2001:db8::1");
	assert_int_equal(port, 53);
	assert_int_equal(config_parse_hostport("mx.example", 0, host, &port),
	    -1);
	assert_int_equal(config_parse_duration("0"), 0);
	assert_int_equal(config_parse_duration("4h"), 4 * 3600);
	assert_int_equal(config_parse_duration("4H"), -1);
	assert_int_equal(config_parse_duration("h"), -1);
}

static void
test_service_names(void **state)
{
	static const char *const names[CONFIG_SVC_COUNT] = {
		"smtp", "submission", "submissions", "imap", "imaps", "pop3",
		"pop3s",
	};

	for (int i = 0; i < CONFIG_SVC_COUNT; i++)
		assert_string_equal(config_service_name(
		    (enum config_service)i), names[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_crlf),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_comments_blank),
		cmocka_unit_test(test_section_comment),
		cmocka_unit_test(test_errors_keys),
		cmocka_unit_test(test_errors_values),
		cmocka_unit_test(test_errors_listen),
		cmocka_unit_test(test_errors_line),
		cmocka_unit_test(test_file_too_large),
		cmocka_unit_test(test_outbound),
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_service_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
