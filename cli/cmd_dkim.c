/*
 * cmd_dkim.c - letterbox dkim generate|list|del: the DKIM signing keys of
 * hosted domains and the DNS TXT records that publish them.
 *
 * Input: a domain (checked and folded like every domain) and a selector
 * from the command line; the store checks the selector's syntax. Output:
 * one zone-file line per key, its TXT value split into the 255-byte
 * character-strings DNS allows (RFC 1035 3.3.14, RFC 6376 3.6.2.2).
 *
 * Selectors: by default "rsa" and "ed" followed by the year and month
 * (rsa202611, ed202611), so that a key made later gets a new name and
 * both can be published during a rollover. --selector NAME names the one
 * key, or with both algorithms NAME-rsa and NAME-ed.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cli/cli.h"
#include "common/dkim_key.h"

/* A DNS name holds 253 bytes; room for a suffix to be refused, not cut. */
#define SELECTOR_BUF	300
/* RFC 1035 3.3.14: a TXT character-string is at most 255 bytes. */
#define TXT_PIECE	255

/* txt_print: "SELECTOR._domainkey.DOMAIN. IN TXT "..." "..."" and a
 * newline. The value is base64 and tags: nothing in it needs quoting. */
static void
txt_print(const char *domain, const char *selector, const char *txt)
{
	size_t len = strlen(txt), off, n;

	printf("%s._domainkey.%s. IN TXT", selector, domain);
	for (off = 0; off < len; off += n) {
		n = len - off < TXT_PIECE ? len - off : TXT_PIECE;
		printf(" \"%.*s\"", (int)n, txt + off);
	}
	printf("\n");
}

/* selector_taken: domain has a key called selector already. */
static bool
selector_taken(const struct store_dkim_key *keys, size_t n,
    const char *selector)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(keys[i].selector, selector) == 0)
			return true;
	return false;
}

/* key_add_error: one line for a failed store_dkim_key_add(). */
static int
key_add_error(struct cli_ctx *ctx, int err, const char *domain,
    const char *selector)
{
	switch (err) {
	case STORE_ERR_NOT_LOCAL:
		return cli_fail(ctx, "%s: domain does not exist", domain);
	case STORE_ERR_EXISTS:
		return cli_fail(ctx, "%s: selector %s is taken", domain,
		    selector);
	case STORE_ERR_INVALID:
		return cli_fail(ctx, "%s: not a valid selector (DNS labels of "
		    "letters, digits and hyphens)", selector);
	default:
		return cli_fail(ctx, "%s: %s", domain, store_strerror(err));
	}
}

/* cli_dkim_generate: "dkim generate DOMAIN [--algorithm rsa|ed25519|both]
 * [--selector NAME]": makes the keys, stores them (all or none), prints
 * their records. */
int
cli_dkim_generate(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *algopt = NULL, *selopt = NULL, *pos[1];
	const struct cli_opt opts[] = {
		{ "--algorithm", CLI_OPT_VALUE, &algopt },
		{ "--selector", CLI_OPT_VALUE, &selopt },
	};
	static const char *const tag[] = { "rsa", "ed" };
	char domain[LIMIT_ADDR_DOMAIN + 1], sel[2][SELECTOR_BUF];
	enum dkim_alg algs[2];
	struct store_dkim_key *keys = NULL;
	char *pem[2] = { NULL, NULL }, *txt[2] = { NULL, NULL }, *error;
	size_t nalgs = 0, nkeys = 0, i, added = 0;
	struct tm tm;
	time_t now = time(NULL);
	int ret, n;

	if ((ret = cli_args_parse(ctx, argc, argv, opts,
	    sizeof(opts) / sizeof(opts[0]), pos, 1, 1)) < 0)
		return ret;
	if (algopt == NULL || strcmp(algopt, "both") == 0) {
		algs[nalgs++] = DKIM_ALG_RSA_SHA256;
		algs[nalgs++] = DKIM_ALG_ED25519_SHA256;
	} else if (strcmp(algopt, "rsa") == 0) {
		algs[nalgs++] = DKIM_ALG_RSA_SHA256;
	} else if (strcmp(algopt, "ed25519") == 0) {
		algs[nalgs++] = DKIM_ALG_ED25519_SHA256;
	} else {
		return cli_usage(ctx, "--algorithm: rsa, ed25519 or both");
	}
	if (cli_domain_fold(ctx, pos[0], domain) < 0)
		return CLI_ERR_FAIL;
	if (selopt == NULL && gmtime_r(&now, &tm) == NULL)
		return cli_fail(ctx, "cannot read the clock");
	for (i = 0; i < nalgs; i++) {
		const char *t = tag[algs[i] == DKIM_ALG_RSA_SHA256 ? 0 : 1];

		if (selopt == NULL)
			n = snprintf(sel[i], SELECTOR_BUF, "%s%04d%02d", t,
			    tm.tm_year + 1900, tm.tm_mon + 1);
		else if (nalgs == 1)
			n = snprintf(sel[i], SELECTOR_BUF, "%s", selopt);
		else
			n = snprintf(sel[i], SELECTOR_BUF, "%s-%s", selopt, t);
		if (n < 0 || n >= SELECTOR_BUF)
			return cli_fail(ctx, "selector too long");
		/* The store folds it so; print what it keeps. */
		for (char *p = sel[i]; *p != '\0'; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
	}
	if (cli_open(ctx) < 0)
		return CLI_ERR_FAIL;
	/* Refuse a taken selector before the (slow) RSA key is made. */
	if ((ret = store_dkim_key_list(ctx->st, domain, &keys, &nkeys)) < 0)
		return cli_fail(ctx, "%s: %s", domain, store_strerror(ret));
	for (i = 0; i < nalgs; i++) {
		if (selector_taken(keys, nkeys, sel[i])) {
			store_dkim_key_list_free(&keys, nkeys);
			return key_add_error(ctx, STORE_ERR_EXISTS, domain,
			    sel[i]);
		}
	}
	store_dkim_key_list_free(&keys, nkeys);

	ret = CLI_ERR_FAIL;
	for (i = 0; i < nalgs; i++) {
		if (dkim_key_generate(algs[i], &pem[i], &error) < 0 ||
		    dkim_key_txt(pem[i], NULL, &txt[i], &error) < 0) {
			cli_fail(ctx, "%s", error);
			free(error);
			goto out;
		}
	}
	for (added = 0; added < nalgs; added++) {
		if ((n = store_dkim_key_add(ctx->st, domain, sel[added],
		    dkim_alg_name(algs[added]), pem[added])) < 0) {
			key_add_error(ctx, n, domain, sel[added]);
			/* All or none: a pair is published together. */
			while (added-- > 0)
				store_dkim_key_del(ctx->st, domain,
				    sel[added]);
			goto out;
		}
	}
	for (i = 0; i < nalgs; i++)
		txt_print(domain, sel[i], txt[i]);
	ret = cli_stdout_flush(ctx);
out:
	for (i = 0; i < nalgs; i++) {
		free(txt[i]);
		free(pem[i]);
	}
	return ret;
}

/* cli_dkim_list: "dkim list [DOMAIN]": a line per key: domain, selector,
 * algorithm, the day it was made (UTC), and its TXT record. */
int
cli_dkim_list(struct cli_ctx *ctx, int argc, char **argv)
{
	char domain[LIMIT_ADDR_DOMAIN + 1], day[16], *txt, *error;
	struct store_dkim_key *keys = NULL;
	const char *pos[1];
	size_t n = 0;
	struct tm tm;
	time_t t;
	int ret;

	if ((ret = cli_args_parse(ctx, argc, argv, NULL, 0, pos, 0, 1)) < 0)
		return ret;
	if ((pos[0] != NULL && cli_domain_fold(ctx, pos[0], domain) < 0) ||
	    cli_open(ctx) < 0)
		return CLI_ERR_FAIL;
	ret = store_dkim_key_list(ctx->st, pos[0] != NULL ? domain : NULL,
	    &keys, &n);
	if (ret < 0)
		return cli_fail(ctx, "%s", store_strerror(ret));
	for (size_t i = 0; i < n; i++) {
		t = (time_t)keys[i].created;
		if (gmtime_r(&t, &tm) == NULL ||
		    strftime(day, sizeof(day), "%Y-%m-%d", &tm) == 0)
			snprintf(day, sizeof(day), "?");
		/* A key that no longer reads is reported, and the others
		 * still listed. */
		if (dkim_key_txt(keys[i].private_pem, NULL, &txt,
		    &error) < 0) {
			ret = cli_fail(ctx, "%s %s: %s", keys[i].domain,
			    keys[i].selector, error);
			free(error);
			continue;
		}
		printf("%s %s %s %s ", keys[i].domain, keys[i].selector,
		    keys[i].algorithm, day);
		txt_print(keys[i].domain, keys[i].selector, txt);
		free(txt);
	}
	store_dkim_key_list_free(&keys, n);
	if (cli_stdout_flush(ctx) < 0)
		return CLI_ERR_FAIL;
	return ret;
}

/* cli_dkim_del: "dkim del DOMAIN SELECTOR". */
int
cli_dkim_del(struct cli_ctx *ctx, int argc, char **argv)
{
	char domain[LIMIT_ADDR_DOMAIN + 1];
	const char *pos[2];
	int ret;

	if ((ret = cli_args_parse(ctx, argc, argv, NULL, 0, pos, 2, 2)) < 0)
		return ret;
	if (cli_domain_fold(ctx, pos[0], domain) < 0 || cli_open(ctx) < 0)
		return CLI_ERR_FAIL;
	ret = store_dkim_key_del(ctx->st, domain, pos[1]);
	if (ret == STORE_ERR_NOT_FOUND)
		return cli_fail(ctx, "%s: no key with selector %s", domain,
		    pos[1]);
	if (ret == STORE_ERR_INVALID)
		return cli_fail(ctx, "%s: not a valid selector", pos[1]);
	if (ret < 0)
		return cli_fail(ctx, "%s: %s", domain, store_strerror(ret));
	return 0;
}
