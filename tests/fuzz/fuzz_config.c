/*
 * fuzz_config.c - libFuzzer target for the config parser.
 *
 * Any bytes: config_parse_buffer() must either accept them or return an
 * error naming a line, without crashing, leaking or reading out of bounds.
 */
#include <stdint.h>
#include <stdlib.h>

#include "common/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *cfg = NULL;
	char *error = NULL;

	if (config_parse_buffer("fuzz", (const char *)data, size, "/nonexistent",
	    &cfg, &error) == 0) {
		if (cfg == NULL || error != NULL)
			abort();
		config_free(&cfg);
	} else {
		if (cfg != NULL || error == NULL)
			abort();
		free(error);
	}
	return 0;
}
