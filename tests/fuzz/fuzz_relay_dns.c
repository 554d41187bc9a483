/*
 * fuzz_relay_dns.c - libFuzzer target for the parsers of relay_dns.c: MX
 * rdata (from DNS answers), address literals (from envelope domains)
 * and forwarder strings (from the config).
 *
 * Checks invariants as well as memory safety: a parsed MX name is a
 * dotted host name of at most 253 characters that encodes back to
 * exactly the input (up to case), and a failure leaves preference 0 and
 * name ""; an address literal or forwarder that parses, written out in
 * canonical form, parses again to the same address (and port).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "smtpd/relay_dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned char
lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

static void
check_mx(const uint8_t *data, size_t size)
{
	unsigned char wire[2 + 256];
	char name[256];
	size_t n, w = 2, lab = 0;
	int pref = -1;

	memset(name, 'x', sizeof(name));
	if (relay_dns_parse_mx(data, size, &pref, name) != 0) {
		if (pref != 0 || name[0] != '\0')
			abort();
		return;
	}
	n = strnlen(name, sizeof(name));
	if (n > 253 || pref != ((data[0] << 8) | data[1]))
		abort();
	if (n > 0 && (name[0] == '.' || name[n - 1] == '.'))
		abort();
	/* Encode it back: labels between the dots, then the root. */
	wire[0] = data[0];
	wire[1] = data[1];
	for (size_t i = 0; i <= n; i++) {
		if (i == n || name[i] == '.') {
			if (n > 0 && (lab == 0 || lab > 63))
				abort();
			if (n > 0) {
				wire[w++] = (unsigned char)lab;
				memcpy(wire + w, name + i - lab, lab);
				w += lab;
			}
			lab = 0;
			continue;
		}
		if (strchr("abcdefghijklmnopqrstuvwxyz0123456789-_",
		    name[i]) == NULL)
			abort();
		lab++;
	}
	wire[w++] = 0;
	if (w != size)
		abort();
	for (size_t i = 0; i < size; i++) {
		if (lower(data[i]) != wire[i] &&
		    !(i < 2 && data[i] == wire[i]))
			abort();
	}
}

static void
check_literal(const char *s)
{
	struct sockaddr_storage ss, again;
	socklen_t len, len2;
	char buf[INET6_ADDRSTRLEN], lit[INET6_ADDRSTRLEN + 8];

	if (relay_dns_parse_literal(s, &ss, &len) != 0) {
		if (len != 0 || ss.ss_family != 0)
			abort();
		return;
	}
	if (s[0] != '[' || s[strlen(s) - 1] != ']')
		abort();
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)&ss;

		if (len != sizeof(*s4) || s4->sin_port != 0 ||
		    inet_ntop(AF_INET, &s4->sin_addr, buf, sizeof(buf)) == NULL)
			abort();
		snprintf(lit, sizeof(lit), "[%s]", buf);
	} else if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)&ss;

		if (len != sizeof(*s6) || s6->sin6_port != 0 ||
		    inet_ntop(AF_INET6, &s6->sin6_addr, buf,
		    sizeof(buf)) == NULL)
			abort();
		snprintf(lit, sizeof(lit), "[IPv6:%s]", buf);
	} else {
		abort();
	}
	if (relay_dns_parse_literal(lit, &again, &len2) != 0 || len2 != len ||
	    memcmp(&ss, &again, len) != 0)
		abort();
}

static void
check_server(const char *s)
{
	char addr[INET6_ADDRSTRLEN], addr2[INET6_ADDRSTRLEN];
	char out[RELAY_DNS_SERVER_MAX + 8];
	uint16_t port, port2;
	unsigned char bin[16];

	if (relay_dns_parse_server(s, addr, &port) != 0) {
		if (addr[0] != '\0' || port != 53)
			abort();
		return;
	}
	if (port == 0 || strlen(s) > RELAY_DNS_SERVER_MAX)
		abort();
	if (strchr(addr, ':') != NULL) {
		if (inet_pton(AF_INET6, addr, bin) != 1)
			abort();
		snprintf(out, sizeof(out), "[%s]:%u", addr, (unsigned)port);
	} else {
		if (inet_pton(AF_INET, addr, bin) != 1)
			abort();
		snprintf(out, sizeof(out), "%s:%u", addr, (unsigned)port);
	}
	if (relay_dns_parse_server(out, addr2, &port2) != 0 ||
	    strcmp(addr, addr2) != 0 || port != port2)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	/* data is exactly size bytes, no NUL after it: the sanitizer
	 * catches a parser that reads past its length. */
	check_mx(data, size);

	/* The string parsers take C strings: up to the first NUL. */
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	check_literal(s);
	check_server(s);
	free(s);
	return 0;
}
