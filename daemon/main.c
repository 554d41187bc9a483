/*
 * main.c - letterboxd: command line, config, then the master.
 *
 *   letterboxd [--config FILE] [--foreground] [--sandbox]
 *
 * Without --config and without --sandbox, PATH_CONFIG is
 * read. --sandbox alone needs no config (DESIGN.md sandbox mode, in the
 * foreground); with --config it keeps that file's listeners and data
 * directory and adds the catch-all account.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "common/log.h"
#include "common/paths.h"
#include "daemon/master.h"
#include "daemon/sandbox.h"
#include "store/store.h"


static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: letterboxd [--config FILE] [--foreground] [--sandbox]\n"
	    "\n"
	    "  --config FILE   read FILE (default " PATH_CONFIG ")\n"
	    "  --foreground    stay attached and log to stderr\n"
	    "  --sandbox       catch every message into one account, on "
	    "loopback\n"
	    "                  high ports with data in ./letterbox-data "
	    "unless\n"
	    "                  --config says otherwise; prints the login\n"
	    "  --version       print the version\n"
	    "\n"
	    "Signals: HUP reloads config and certificates, TERM and INT "
	    "stop\ngracefully. See letterboxd(8).\n");
}

int
main(int argc, char **argv)
{
	struct master_opts opts = { NULL, false, false };
	struct config *cfg = NULL;
	char *error = NULL;
	int level;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
			opts.config_path = argv[++i];
		} else if (strcmp(argv[i], "--foreground") == 0) {
			opts.foreground = true;
		} else if (strcmp(argv[i], "--sandbox") == 0) {
			opts.sandbox = true;
		} else if (strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("letterboxd %s (schema %d)\n", PACKAGE_VERSION,
			    store_schema_version());
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (opts.sandbox && opts.config_path == NULL) {
		opts.foreground = true;
		cfg = sandbox_config();
	} else {
		if (opts.config_path == NULL)
			opts.config_path = PATH_CONFIG;
		if (config_load(opts.config_path,
		    PATH_DATA_DIR, &cfg, &error) < 0) {
			fprintf(stderr, "letterboxd: %s\n", error);
			free(error);
			return 1;
		}
	}
	level = log_level_parse(cfg->log_level);
	log_init("letterboxd", !opts.foreground || cfg->log_syslog,
	    level < 0 ? LOG_LEVEL_INFO : (enum log_level)level);
	return master_run(cfg, &opts);
}
