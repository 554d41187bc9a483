/*
 * relay_dns.h - where mail for a domain goes (RFC 5321 5.1): its MX
 * hosts in preference order (equal preferences shuffled), each with its
 * IPv6 and IPv4 addresses; the domain's own A/AAAA when it has no MX
 * (the implicit MX); a null MX (RFC 7505) refused at once. Resolved with
 * libunbound, asking the servers of /etc/resolv.conf
 * or forwarding to one configured server ([outbound] dns = ADDR:PORT).
 */
#ifndef LETTERBOX_SMTPD_RELAY_DNS_H
#define LETTERBOX_SMTPD_RELAY_DNS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define RELAY_MX_MAX	10	/* MX hosts tried per domain */
#define RELAY_ADDR_MAX	8	/* addresses tried per host */
/* Of RELAY_ADDR_MAX, slots kept for IPv4 when a host has both families,
 * so a host with many AAAA records stays reachable without IPv6. */
#define RELAY_ADDR_V4_MIN	(RELAY_ADDR_MAX / 2)
/* A route stops looking up further MX hosts after this long (ms); one
 * query is bounded by libunbound's settings (see relay_dns.c, ~5 s). */
#define RELAY_DNS_ROUTE_MS	30000
/* Longest forwarder string: "[" IPv6 "]:" port. */
#define RELAY_DNS_SERVER_MAX	64

enum relay_dns_status {
	RELAY_DNS_OK = 0,
	RELAY_DNS_TEMP = -1,		/* SERVFAIL, timeout, no answer */
	RELAY_DNS_NO_DOMAIN = -2,	/* NXDOMAIN, or no MX and no A/AAAA */
	RELAY_DNS_NULL_MX = -3,		/* "MX 0 ." (RFC 7505) */
	RELAY_DNS_NO_ADDRESS = -4,	/* MX hosts exist, none has an
					   address (temporary, RFC 5321 5.1) */
};

struct relay_host {
	char name[256];			/* the MX target or the domain */
	int preference;			/* -1 for the implicit MX */
	struct sockaddr_storage addr[RELAY_ADDR_MAX];	/* port set */
	socklen_t addr_len[RELAY_ADDR_MAX];
	size_t naddr;
};

struct relay_route {
	struct relay_host host[RELAY_MX_MAX];
	size_t nhost;
};

struct relay_dns;

/*
 * relay_dns_new: a resolver; server NULL for the system's, else
 * "ADDR:PORT" / "[ADDR]:PORT" (IPv6) / "ADDR" (port 53) of one server
 * that answers recursive queries (loopback allowed). Thread-safe: the
 * delivery threads share one. Make one per process, in the process that
 * uses it (after fork): some libunbound settings it makes are
 * process-wide. NULL with a malloc'd *error_r.
 */
struct relay_dns *relay_dns_new(const char *server, char **error_r);
void relay_dns_free(struct relay_dns **dns);

/*
 * relay_dns_route: the hosts for mail to domain (an A-label domain
 * name, or an address literal "[192.0.2.1]" / "[IPv6:2001:db8::1]"
 * taken as is), each address with port. why (whylen bytes) says what
 * failed, for logs and bounces ("no MX or A record for x.test",
 * "null MX: x.test accepts no mail", "DNS SERVFAIL for MX of x.test").
 * route->nhost > 0 exactly when RELAY_DNS_OK is returned.
 */
int relay_dns_route(struct relay_dns *dns, const char *domain, uint16_t port,
    struct relay_route *route, char *why, size_t whylen);

/* relay_dns_host: one host's addresses (the smarthost), into host. name
 * is a host name, an IP address, or an address literal ("[192.0.2.1]",
 * "[IPv6:2001:db8::1]"). RELAY_DNS_NO_DOMAIN when the name does not
 * exist, RELAY_DNS_NO_ADDRESS when it has no A/AAAA. */
int relay_dns_host(struct relay_dns *dns, const char *name, uint16_t port,
    struct relay_host *host, char *why, size_t whylen);

/* relay_dns_parse_mx: reads MX rdata (2-byte preference, then an
 * uncompressed wire-format name) into *pref_r and name (256 bytes, dotted,
 * lowercased, no final dot; "" for the root). -1 when malformed:
 * truncated, trailing bytes, a compression pointer or other label type,
 * a name over 255 octets, or a label byte other than a letter, digit,
 * '-' or '_' (no host name holds one, and the name goes to logs). On -1,
 * *pref_r is 0 and name "". For the tests and the fuzzer. */
int relay_dns_parse_mx(const unsigned char *rdata, size_t len, int *pref_r,
    char *name);

/* relay_dns_parse_literal: an RFC 5321 4.1.3 address literal
 * ("[192.0.2.1]", "[IPv6:2001:db8::1]", tag case-insensitive) into
 * *addr_r / *len_r, port 0. -1 when s is not one. */
int relay_dns_parse_literal(const char *s, struct sockaddr_storage *addr_r,
    socklen_t *len_r);

/* relay_dns_parse_server: a forwarder as relay_dns_new takes it, into
 * addr_r (INET6_ADDRSTRLEN bytes, the address in canonical form) and
 * *port_r (53 when absent). -1 when malformed (a host name is: the
 * resolver cannot resolve its own address). */
int relay_dns_parse_server(const char *server, char *addr_r,
    uint16_t *port_r);

#endif
