/*
 * relay_dns.c - MX routing for outbound mail (RFC 5321 5.1, RFC 7505)
 * with libunbound.
 *
 * Trusts nothing in DNS answers: MX rdata is parsed here with every
 * length checked, names must be host names (letters, digits, '-', '_')
 * so that they are safe in logs and bounces, and address records of the
 * wrong size are dropped. Limits: RELAY_MX_MAX hosts, RELAY_ADDR_MAX
 * addresses per host (RELAY_ADDR_V4_MIN kept for IPv4), and
 * RELAY_DNS_ROUTE_MS for the lookups of one route.
 *
 * Time: one ub_resolve() to a server that never answers ends in SERVFAIL
 * after about 5 s. What bounds it is libunbound's per-server timeout:
 * each retry doubles it from 376 ms, capped by infra-cache-max-rtt (set
 * to 3000 ms here; the default of 120 s let one query take 17 s), and the
 * iterator gives up after outbound-msg-retry (5) tries. The server is
 * then held to be down and later queries fail at once until
 * infra-host-ttl (60 s here, 900 s by default) has passed; so a route's
 * later lookups cannot each wait again. Both settings are
 * libunbound-wide (globals in the library), which is fine with the one
 * context a process has.
 *
 * Threads: one ub_ctx is shared. ub_resolve() is documented thread-safe:
 * each call runs its own foreground worker and shares only the context's
 * locked caches; the context is finalised under its lock on first use.
 * No async mode is used, so ub_ctx_async() is left alone.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sodium.h>
#include <unbound.h>

#include "common/xalloc.h"
#include "smtpd/relay_dns.h"

#define RR_TYPE_A	1
#define RR_TYPE_MX	15
#define RR_TYPE_AAAA	28
#define RR_CLASS_IN	1

#define RCODE_NOERROR	0
#define RCODE_SERVFAIL	2
#define RCODE_NXDOMAIN	3

/* RFC 1035 2.3.4: 63-octet labels, 255-octet names, i.e. 253 characters
 * in dotted form without the final dot. */
#define LABEL_MAX	63
#define NAME_TEXT_MAX	253

/* libunbound settings, see the file comment. */
#define UB_MAX_RTT_MS	"3000"
#define UB_HOST_TTL_S	"60"

struct relay_dns {
	struct ub_ctx *ctx;	/* owned; immutable after relay_dns_new */
};

/* What one query found. */
enum q_result {
	Q_DATA,		/* records of the type asked */
	Q_NODATA,	/* the name exists, no such records */
	Q_NXDOMAIN,	/* the name does not exist */
	Q_TEMP,		/* no answer, SERVFAIL and the like */
};

/* One MX record, by its index in the answer; sorted by pref, then by a
 * random key so that equal preferences come in random order (RFC 5321
 * 5.1). */
struct mx_cand {
	int pref;
	uint32_t key;
	size_t idx;
};

static void
set_why(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
set_why(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || whylen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

static bool
host_char(unsigned char c)
{
	/* RFC 952/1123 LDH, plus '_' which some MX names carry (Postfix
	 * accepts it too). Never '.', space, control or 8-bit bytes. */
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    c == '-' || c == '_';
}

static unsigned char
lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

int
relay_dns_parse_mx(const unsigned char *rdata, size_t len, int *pref_r,
    char *name)
{
	size_t i = 2, out = 0, lab;

	*pref_r = 0;
	name[0] = '\0';
	if (rdata == NULL || len < 3)
		return -1;
	for (;;) {
		lab = rdata[i++];
		if (lab == 0)
			break;
		/* 0x40, 0x80 and 0xC0 (compression) label types: libunbound
		 * hands rdata over decompressed, so any is malformed here. */
		if (lab > LABEL_MAX || lab > len - i)
			goto bad;
		/* @UNSAFE: out + separator + label must fit NAME_TEXT_MAX. */
		if (out + (out > 0) + lab > NAME_TEXT_MAX)
			goto bad;
		if (out > 0)
			name[out++] = '.';
		for (size_t k = 0; k < lab; k++) {
			unsigned char c = lower(rdata[i + k]);

			if (!host_char(c))
				goto bad;
			name[out++] = (char)c;
		}
		i += lab;
		if (i >= len)
			goto bad;	/* no root label */
	}
	if (i != len)
		goto bad;		/* bytes after the name */
	name[out] = '\0';
	*pref_r = (rdata[0] << 8) | rdata[1];
	return 0;
bad:
	name[0] = '\0';
	return -1;
}

/*
 * norm_name: copies s into out (256 bytes) lowercased, without one final
 * dot, and checks it is a host name: labels of 1..63 host_char bytes,
 * 253 characters in all, and not an IPv4 address (RFC 1123 2.1: a host
 * name never looks like one). false when it is not.
 */
static bool
norm_name(const char *s, char *out)
{
	size_t n = strnlen(s, NAME_TEXT_MAX + 2), lab = 0;
	struct in_addr a4;

	out[0] = '\0';
	if (n > 0 && s[n - 1] == '.')
		n--;
	if (n == 0 || n > NAME_TEXT_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = lower((unsigned char)s[i]);

		if (c == '.') {
			if (lab == 0)
				return false;
			lab = 0;
		} else if (!host_char(c) || ++lab > LABEL_MAX) {
			return false;
		}
		out[i] = (char)c;
	}
	out[n] = '\0';
	if (lab == 0 || inet_pton(AF_INET, out, &a4) == 1) {
		out[0] = '\0';
		return false;
	}
	return true;
}

int
relay_dns_parse_literal(const char *s, struct sockaddr_storage *addr_r,
    socklen_t *len_r)
{
	char buf[INET6_ADDRSTRLEN];
	size_t n = strnlen(s, sizeof(buf) + 8);
	const char *in;
	size_t inlen;

	memset(addr_r, 0, sizeof(*addr_r));
	*len_r = 0;
	if (n < 3 || s[0] != '[' || s[n - 1] != ']')
		return -1;
	in = s + 1;
	inlen = n - 2;
	/* RFC 5321 4.1.3: "IPv6:" tag; ABNF strings ignore case. */
	if (inlen > 5 && strncasecmp(in, "IPv6:", 5) == 0) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)addr_r;

		in += 5;
		inlen -= 5;
		if (inlen >= sizeof(buf))
			return -1;
		memcpy(buf, in, inlen);
		buf[inlen] = '\0';
		if (inet_pton(AF_INET6, buf, &sin6->sin6_addr) != 1)
			goto bad;
		sin6->sin6_family = AF_INET6;
		*len_r = sizeof(*sin6);
		return 0;
	}
	if (inlen >= INET_ADDRSTRLEN)
		return -1;
	memcpy(buf, in, inlen);
	buf[inlen] = '\0';
	{
		struct sockaddr_in *sin = (struct sockaddr_in *)addr_r;

		if (inet_pton(AF_INET, buf, &sin->sin_addr) != 1)
			goto bad;
		sin->sin_family = AF_INET;
		*len_r = sizeof(*sin);
	}
	return 0;
bad:
	memset(addr_r, 0, sizeof(*addr_r));
	return -1;
}

/* parse_port: "1".."65535", digits only; -1 otherwise. */
static int
parse_port(const char *s, uint16_t *port_r)
{
	unsigned long v = 0;
	size_t n = strlen(s);

	if (n == 0 || n > 5 || strspn(s, "0123456789") != n)
		return -1;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (unsigned long)(s[i] - '0');
	if (v == 0 || v > 65535)
		return -1;
	*port_r = (uint16_t)v;
	return 0;
}

int
relay_dns_parse_server(const char *server, char *addr_r, uint16_t *port_r)
{
	char buf[RELAY_DNS_SERVER_MAX + 1];
	const char *host, *port = NULL, *colon;
	unsigned char bin[sizeof(struct in6_addr)];
	size_t n = strnlen(server, sizeof(buf));
	int af;

	addr_r[0] = '\0';
	*port_r = 53;
	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, server, n + 1);
	if (buf[0] == '[') {
		char *end = strchr(buf, ']');

		if (end == NULL)
			return -1;
		*end = '\0';
		host = buf + 1;
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != '\0')
			return -1;
	} else {
		host = buf;
		colon = strchr(buf, ':');
		/* One colon: "ADDR:PORT". More: a bare IPv6 address. */
		if (colon != NULL && strchr(colon + 1, ':') == NULL) {
			buf[colon - buf] = '\0';
			port = colon + 1;
		}
	}
	af = strchr(host, ':') != NULL ? AF_INET6 : AF_INET;
	if (inet_pton(af, host, bin) != 1 ||
	    (port != NULL && parse_port(port, port_r) != 0) ||
	    inet_ntop(af, bin, addr_r, INET6_ADDRSTRLEN) == NULL) {
		addr_r[0] = '\0';
		*port_r = 53;
		return -1;
	}
	return 0;
}

struct relay_dns *
relay_dns_new(const char *server, char **error_r)
{
	struct relay_dns *dns;
	char addr[INET6_ADDRSTRLEN], fwd[INET6_ADDRSTRLEN + 8];
	uint16_t port;
	int rc;

	*error_r = NULL;
	if (server != NULL &&
	    relay_dns_parse_server(server, addr, &port) != 0) {
		*error_r = xstrdup("DNS server must be ADDR, ADDR:PORT or "
		    "[IPv6]:PORT");
		return NULL;
	}
	/* For randombytes_random(); safe to call again and from threads. */
	if (sodium_init() < 0) {
		*error_r = xstrdup("libsodium initialisation failed");
		return NULL;
	}
	dns = xcalloc(1, sizeof(*dns));
	if ((dns->ctx = ub_ctx_create()) == NULL) {
		free(dns);
		*error_r = xstrdup("cannot create the DNS resolver");
		return NULL;
	}
	/* The forwarder is often on loopback (a local resolver, dnsmasq in
	 * tests, 127.0.0.53 from resolv.conf), which unbound skips by
	 * default. */
	if ((rc = ub_ctx_set_option(dns->ctx, "do-not-query-localhost:",
	    "no")) != 0 ||
	    (rc = ub_ctx_set_option(dns->ctx, "infra-cache-max-rtt:",
	    UB_MAX_RTT_MS)) != 0 ||
	    (rc = ub_ctx_set_option(dns->ctx, "infra-host-ttl:",
	    UB_HOST_TTL_S)) != 0 ||
	    /* unbound answers NXDOMAIN for all of "test." itself (RFC 6761
	     * default zone); the resolver we ask should decide, which is how
	     * a test zone can reach us. ("nodefault" cannot be set through
	     * ub_ctx_set_option in 1.17: it keeps "test. nodefault" as the
	     * name; "transparent" with no local data resolves normally.) */
	    (rc = ub_ctx_set_option(dns->ctx, "local-zone:",
	    "test. transparent")) != 0)
		goto fail;
	if (server != NULL) {
		snprintf(fwd, sizeof(fwd), "%s@%u", addr, (unsigned)port);
		if ((rc = ub_ctx_set_fwd(dns->ctx, fwd)) != 0)
			goto fail;
	} else if ((rc = ub_ctx_resolvconf(dns->ctx, NULL)) != 0) {
		/* Without it libunbound would recurse from the root itself:
		 * a change of network behaviour nobody asked for. */
		*error_r = xasprintf("cannot use /etc/resolv.conf (%s); set "
		    "[outbound] dns", ub_strerror(rc));
		ub_ctx_delete(dns->ctx);
		free(dns);
		return NULL;
	}
	/* /etc/hosts is not read: like Postfix (smtp_host_lookup = dns),
	 * mail routing follows DNS alone, and a hosts entry for the
	 * machine's own name would route mail back to it. */
	return dns;
fail:
	*error_r = xasprintf("DNS resolver setup: %s", ub_strerror(rc));
	ub_ctx_delete(dns->ctx);
	free(dns);
	return NULL;
}

void
relay_dns_free(struct relay_dns **dns)
{
	if (dns == NULL || *dns == NULL)
		return;
	ub_ctx_delete((*dns)->ctx);
	free(*dns);
	*dns = NULL;
}

static const char *
type_name(int type)
{
	switch (type) {
	case RR_TYPE_A:
		return "A";
	case RR_TYPE_AAAA:
		return "AAAA";
	default:
		return "MX";
	}
}

static const char *
rcode_name(int rcode)
{
	switch (rcode) {
	case 1:
		return "FORMERR";
	case RCODE_SERVFAIL:
		return "SERVFAIL";
	case 4:
		return "NOTIMP";
	case 5:
		return "REFUSED";
	default:
		return "error";
	}
}

/*
 * query: asks for type records of name (normalised, no final dot). On
 * Q_DATA *res_r holds the answer, freed by the caller with
 * ub_resolve_free(); otherwise *res_r is NULL. On Q_TEMP, why says so.
 */
static enum q_result
query(struct relay_dns *dns, const char *name, int type,
    struct ub_result **res_r, char *why, size_t whylen)
{
	char fqdn[NAME_TEXT_MAX + 2];
	struct ub_result *res = NULL;
	int rc;

	*res_r = NULL;
	/* The final dot: a fully qualified name, whatever a resolver
	 * might do with search domains. */
	snprintf(fqdn, sizeof(fqdn), "%s.", name);
	rc = ub_resolve(dns->ctx, fqdn, type, RR_CLASS_IN, &res);
	if (rc != 0 || res == NULL) {
		set_why(why, whylen, "DNS error for %s of %s: %s",
		    type_name(type), name, ub_strerror(rc));
		ub_resolve_free(res);
		return Q_TEMP;
	}
	if (res->bogus) {
		set_why(why, whylen, "DNSSEC validation failed for %s of %s",
		    type_name(type), name);
		ub_resolve_free(res);
		return Q_TEMP;
	}
	if (res->rcode == RCODE_NXDOMAIN || res->nxdomain) {
		ub_resolve_free(res);
		return Q_NXDOMAIN;
	}
	if (res->rcode != RCODE_NOERROR) {
		set_why(why, whylen, "DNS %s for %s of %s",
		    rcode_name(res->rcode), type_name(type), name);
		ub_resolve_free(res);
		return Q_TEMP;
	}
	/* data may be NULL rather than an empty list. */
	if (!res->havedata || res->data == NULL || res->data[0] == NULL) {
		ub_resolve_free(res);
		return Q_NODATA;
	}
	*res_r = res;
	return Q_DATA;
}

/* usable: false for addresses no mail can go to. 0.0.0.0 and :: mean
 * "this host" to connect(), so a domain parked on 0.0.0.0 would send
 * mail to ourselves; 224/4 (multicast) and 240/4 (reserved, broadcast)
 * cannot take TCP. */
static bool
usable_v4(const unsigned char *a)
{
	return a[0] != 0 && a[0] < 224;
}

static bool
usable_v6(const struct in6_addr *a)
{
	return !IN6_IS_ADDR_UNSPECIFIED(a) && !IN6_IS_ADDR_MULTICAST(a) &&
	    !(IN6_IS_ADDR_V4MAPPED(a) && !usable_v4(&a->s6_addr[12]));
}

/* collect: the usable addresses of res (type AAAA or A) into out (at
 * most max), with port. Returns how many. */
static size_t
collect(const struct ub_result *res, int type, uint16_t port,
    struct sockaddr_storage *out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; res->data[i] != NULL && n < max; i++) {
		memset(&out[n], 0, sizeof(out[n]));
		if (type == RR_TYPE_AAAA) {
			struct sockaddr_in6 *s6 =
			    (struct sockaddr_in6 *)&out[n];

			if (res->len[i] != (int)sizeof(s6->sin6_addr))
				continue;
			memcpy(&s6->sin6_addr, res->data[i], 16);
			if (!usable_v6(&s6->sin6_addr))
				continue;
			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons(port);
		} else {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&out[n];

			if (res->len[i] != (int)sizeof(s4->sin_addr) ||
			    !usable_v4((const unsigned char *)res->data[i]))
				continue;
			memcpy(&s4->sin_addr, res->data[i], 4);
			s4->sin_family = AF_INET;
			s4->sin_port = htons(port);
		}
		n++;
	}
	return n;
}

/*
 * host_addrs: looks up name's AAAA and then A records into host (which
 * the caller has zeroed and named). IPv6 first, then IPv4, at most
 * RELAY_ADDR_MAX with RELAY_ADDR_V4_MIN kept for IPv4 when it has that
 * many. Q_DATA when host got an address; Q_TEMP when none and a lookup
 * failed (why says which); else Q_NXDOMAIN or Q_NODATA.
 */
static enum q_result
host_addrs(struct relay_dns *dns, const char *name, uint16_t port,
    struct relay_host *host, char *why, size_t whylen)
{
	struct sockaddr_storage v6[RELAY_ADDR_MAX], v4[RELAY_ADDR_MAX];
	size_t n6 = 0, n4 = 0, room4, keep6;
	struct ub_result *res;
	enum q_result q6, q4;

	q6 = query(dns, name, RR_TYPE_AAAA, &res, why, whylen);
	if (q6 == Q_DATA) {
		n6 = collect(res, RR_TYPE_AAAA, port, v6, RELAY_ADDR_MAX);
		ub_resolve_free(res);
	}
	/* A name that does not exist has no A record either. */
	if (q6 == Q_NXDOMAIN)
		return Q_NXDOMAIN;
	q4 = query(dns, name, RR_TYPE_A, &res, why, whylen);
	if (q4 == Q_DATA) {
		n4 = collect(res, RR_TYPE_A, port, v4, RELAY_ADDR_MAX);
		ub_resolve_free(res);
	}
	/* IPv6 may fill what IPv4 does not claim of its share. */
	room4 = n4 < RELAY_ADDR_V4_MIN ? n4 : RELAY_ADDR_V4_MIN;
	keep6 = n6 < RELAY_ADDR_MAX - room4 ? n6 : RELAY_ADDR_MAX - room4;
	for (size_t i = 0; i < keep6; i++) {
		host->addr[host->naddr] = v6[i];
		host->addr_len[host->naddr++] = sizeof(struct sockaddr_in6);
	}
	for (size_t i = 0; i < n4 && host->naddr < RELAY_ADDR_MAX; i++) {
		host->addr[host->naddr] = v4[i];
		host->addr_len[host->naddr++] = sizeof(struct sockaddr_in);
	}
	if (host->naddr > 0) {
		/* An AAAA failure does not matter when A answered. */
		set_why(why, whylen, "%s", "");
		return Q_DATA;
	}
	if (q6 == Q_TEMP || q4 == Q_TEMP)
		return Q_TEMP;
	return q4 == Q_NXDOMAIN ? Q_NXDOMAIN : Q_NODATA;
}

static long long
ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
cand_cmp(const void *a, const void *b)
{
	const struct mx_cand *x = a, *y = b;

	if (x->pref != y->pref)
		return x->pref < y->pref ? -1 : 1;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* literal_host: an address literal as the one host of a route. */
static int
literal_host(const char *literal, uint16_t port, struct relay_host *host,
    char *why, size_t whylen)
{
	struct sockaddr_storage ss;
	socklen_t len;

	if (relay_dns_parse_literal(literal, &ss, &len) != 0) {
		set_why(why, whylen, "invalid address literal");
		return RELAY_DNS_NO_DOMAIN;
	}
	if (ss.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(port);
	else
		((struct sockaddr_in *)&ss)->sin_port = htons(port);
	/* parse_literal bounds it to fit, with the brackets. */
	snprintf(host->name, sizeof(host->name), "%s", literal);
	host->addr[0] = ss;
	host->addr_len[0] = len;
	host->naddr = 1;
	return RELAY_DNS_OK;
}

/* route_mx: fills route from the MX answer res for domain, looking up
 * no further host after deadline (ms_now() clock). */
static int
route_mx(struct relay_dns *dns, const char *domain, uint16_t port,
    const struct ub_result *res, long long deadline,
    struct relay_route *route, char *why, size_t whylen)
{
	struct mx_cand *cand;
	size_t n = 0, ncand = 0, nroot = 0, nnamed = 0;
	bool temp = false, late = false;
	char name[256], twhy[200];
	int pref;

	while (res->data[n] != NULL)
		n++;
	cand = xcalloc(n, sizeof(*cand));
	for (size_t i = 0; i < n; i++) {
		if (res->len[i] < 0 || relay_dns_parse_mx(
		    (const unsigned char *)res->data[i], (size_t)res->len[i],
		    &pref, name) != 0)
			continue;
		/* RFC 7505 3: the root as target means "no mail". We treat
		 * every root target so, whatever its preference; beside
		 * real hosts (which 7505 forbids) it is ignored. */
		if (name[0] == '\0') {
			nroot++;
			continue;
		}
		cand[ncand].pref = pref;
		cand[ncand].key = randombytes_random();
		cand[ncand].idx = i;
		ncand++;
	}
	if (ncand == 0 && nroot > 0) {
		free(cand);
		set_why(why, whylen, "null MX: %s accepts no mail", domain);
		return RELAY_DNS_NULL_MX;
	}
	qsort(cand, ncand, sizeof(*cand), cand_cmp);

	for (size_t c = 0; c < ncand && route->nhost < RELAY_MX_MAX; c++) {
		struct relay_host *h = &route->host[route->nhost];
		struct in_addr a4;
		bool dup = false;

		(void)relay_dns_parse_mx(
		    (const unsigned char *)res->data[cand[c].idx],
		    (size_t)res->len[cand[c].idx], &pref, name);
		/* RFC 1123 2.1: an MX target must be a name; a bare address
		 * is a broken record (Postfix skips it too). */
		if (inet_pton(AF_INET, name, &a4) == 1)
			continue;
		nnamed++;
		for (size_t k = 0; k < route->nhost; k++)
			dup |= strcmp(route->host[k].name, name) == 0;
		if (dup)
			continue;
		if (ms_now() > deadline) {
			late = true;
			break;
		}
		memset(h, 0, sizeof(*h));
		memcpy(h->name, name, strlen(name) + 1);
		h->preference = pref;
		switch (host_addrs(dns, name, port, h, twhy, sizeof(twhy))) {
		case Q_DATA:
			route->nhost++;
			continue;
		case Q_TEMP:
			/* Keep the first failure's words for the log. */
			if (!temp)
				set_why(why, whylen, "%s", twhy);
			temp = true;
			break;
		default:
			break;	/* no address: skip it (RFC 5321 5.1) */
		}
		memset(h, 0, sizeof(*h));
	}
	free(cand);
	if (route->nhost > 0) {
		set_why(why, whylen, "%s", "");
		return RELAY_DNS_OK;
	}
	if (late) {
		set_why(why, whylen, "DNS lookups for MX hosts of %s took "
		    "too long", domain);
		return RELAY_DNS_TEMP;
	}
	if (temp)
		return RELAY_DNS_TEMP;
	if (nnamed == 0) {
		set_why(why, whylen, "no usable MX host name for %s", domain);
		return RELAY_DNS_NO_ADDRESS;
	}
	set_why(why, whylen, "no MX host of %s has an address", domain);
	return RELAY_DNS_NO_ADDRESS;
}

int
relay_dns_route(struct relay_dns *dns, const char *domain, uint16_t port,
    struct relay_route *route, char *why, size_t whylen)
{
	char name[256];
	struct ub_result *res;
	struct relay_host *h;
	long long deadline = ms_now() + RELAY_DNS_ROUTE_MS;
	int rc;

	memset(route, 0, sizeof(*route));
	set_why(why, whylen, "%s", "");
	if (domain[0] == '[') {
		rc = literal_host(domain, port, &route->host[0], why, whylen);
		if (rc == RELAY_DNS_OK)
			route->nhost = 1;
		return rc;
	}
	if (!norm_name(domain, name)) {
		/* Not echoed: it may hold anything. */
		set_why(why, whylen, "invalid domain name");
		return RELAY_DNS_NO_DOMAIN;
	}
	switch (query(dns, name, RR_TYPE_MX, &res, why, whylen)) {
	case Q_DATA:
		rc = route_mx(dns, name, port, res, deadline, route, why,
		    whylen);
		ub_resolve_free(res);
		return rc;
	case Q_NXDOMAIN:
		set_why(why, whylen, "domain %s does not exist", name);
		return RELAY_DNS_NO_DOMAIN;
	case Q_TEMP:
		return RELAY_DNS_TEMP;
	case Q_NODATA:
		break;
	}
	/* RFC 5321 5.1: no MX, so the domain itself is the one host. */
	h = &route->host[0];
	memcpy(h->name, name, strlen(name) + 1);
	h->preference = -1;
	switch (host_addrs(dns, name, port, h, why, whylen)) {
	case Q_DATA:
		route->nhost = 1;
		return RELAY_DNS_OK;
	case Q_TEMP:
		memset(h, 0, sizeof(*h));
		return RELAY_DNS_TEMP;
	case Q_NXDOMAIN:
		memset(h, 0, sizeof(*h));
		set_why(why, whylen, "domain %s does not exist", name);
		return RELAY_DNS_NO_DOMAIN;
	case Q_NODATA:
		break;
	}
	memset(h, 0, sizeof(*h));
	set_why(why, whylen, "no MX or A record for %s", name);
	return RELAY_DNS_NO_DOMAIN;
}

int
relay_dns_host(struct relay_dns *dns, const char *name, uint16_t port,
    struct relay_host *host, char *why, size_t whylen)
{
	char norm[256], lit[INET6_ADDRSTRLEN + 8];
	unsigned char bin[sizeof(struct in6_addr)];
	enum q_result q;

	memset(host, 0, sizeof(*host));
	set_why(why, whylen, "%s", "");
	if (name[0] == '[')
		return literal_host(name, port, host, why, whylen);
	/* A bare address, as a config file would name a smarthost. */
	if (strnlen(name, INET6_ADDRSTRLEN) < INET6_ADDRSTRLEN) {
		if (inet_pton(AF_INET, name, bin) == 1) {
			snprintf(lit, sizeof(lit), "[%s]", name);
			return literal_host(lit, port, host, why, whylen);
		}
		if (inet_pton(AF_INET6, name, bin) == 1) {
			snprintf(lit, sizeof(lit), "[IPv6:%s]", name);
			return literal_host(lit, port, host, why, whylen);
		}
	}
	if (!norm_name(name, norm)) {
		set_why(why, whylen, "invalid host name");
		return RELAY_DNS_NO_DOMAIN;
	}
	memcpy(host->name, norm, strlen(norm) + 1);
	q = host_addrs(dns, norm, port, host, why, whylen);
	if (q == Q_DATA)
		return RELAY_DNS_OK;
	memset(host, 0, sizeof(*host));
	switch (q) {
	case Q_TEMP:
		return RELAY_DNS_TEMP;
	case Q_NXDOMAIN:
		set_why(why, whylen, "host %s does not exist", norm);
		return RELAY_DNS_NO_DOMAIN;
	default:
		set_why(why, whylen, "no A or AAAA record for %s", norm);
		return RELAY_DNS_NO_ADDRESS;
	}
}
