/*
 * fuzz_address.c - libFuzzer target for address parsing and folding.
 *
 * Checks invariants as well as memory safety: a parsed address fits its
 * limits, its parts are valid again, and parsing is idempotent.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/address.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	struct address addr, again;
	char base[LIMIT_ADDR_LOCAL + 1];
	const char *why;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	(void)utf8_valid((const char *)data, size);
	(void)address_domain_valid(s);
	if (address_parse(s, &addr, &why) == 0) {
		if (strlen(addr.local) > LIMIT_ADDR_LOCAL ||
		    strlen(addr.domain) > LIMIT_ADDR_DOMAIN ||
		    strlen(addr.full) > LIMIT_ADDR_TOTAL ||
		    !address_domain_valid(addr.domain))
			abort();
		if (address_parse(addr.full, &again, &why) != 0 ||
		    strcmp(again.full, addr.full) != 0)
			abort();
		if (address_strip_detail(addr.local, base) &&
		    (base[0] == '\0' || strlen(base) >= strlen(addr.local)))
			abort();
	}
	free(s);
	return 0;
}
