/*
 * test_relay_dns.c - MX routing (smtpd/relay_dns.c).
 *
 * The parsers (MX rdata, address literals, forwarder strings) are fed
 * crafted input copied into heap buffers of exactly its length, and every
 * proper prefix of good rdata is checked to be refused, so
 * AddressSanitizer catches a read past the length given.
 *
 * The routing tests ask a real dnsmasq, started by the group setup on
 * 127.0.0.1 at a free port with the zone below and killed by PID in the
 * teardown (or by the kernel, PR_SET_PDEATHSIG, if the test dies); they
 * are skipped when /usr/sbin/dnsmasq is missing. Servers that answer
 * SERVFAIL or nothing at all are a thread or a socket of this test on
 * other free ports, each with a resolver of its own (a server held to be
 * down would fail later queries). TEST_RELAY_DNS_DEBUG=1 shows
 * dnsmasq's query log on stderr.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "smtpd/relay_dns.h"

#define DNSMASQ		"/usr/sbin/dnsmasq"
#define PORT		2525	/* the port routes are asked for */
/* A server that does not answer must give up well within this (ms). */
#define DEAD_BOUND_MS	20000

struct state {
	bool skip;		/* no dnsmasq */
	pid_t pid;		/* dnsmasq, 0 when not running */
	uint16_t port;
	struct relay_dns *dns;	/* forwarding to it */
};

/* ---- helpers ---------------------------------------------------------- */

static long long
ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* exact: a malloc'd copy of len bytes of p, no terminator. */
static unsigned char *
exact(const void *p, size_t len)
{
	unsigned char *q = malloc(len > 0 ? len : 1);

	assert_non_null(q);
	memcpy(q, p, len);
	return q;
}

/* parse_mx: relay_dns_parse_mx on an exact copy. */
static int
parse_mx(const void *rdata, size_t len, int *pref, char *name)
{
	unsigned char *q = exact(rdata, len);
	int rc = relay_dns_parse_mx(q, len, pref, name);

	free(q);
	return rc;
}

/* wire: the MX rdata for pref and a dotted name ("" for the root). */
static size_t
wire(unsigned char *out, int pref, const char *name)
{
	size_t n = 2;

	out[0] = (unsigned char)(pref >> 8);
	out[1] = (unsigned char)pref;
	while (*name != '\0') {
		const char *dot = strchr(name, '.');
		size_t lab = dot != NULL ? (size_t)(dot - name) : strlen(name);

		out[n++] = (unsigned char)lab;
		memcpy(out + n, name, lab);
		n += lab;
		name += lab + (dot != NULL);
	}
	out[n++] = 0;
	return n;
}

/* label: a string of n copies of c. */
static char *
label(char *buf, char c, size_t n)
{
	memset(buf, c, n);
	buf[n] = '\0';
	return buf;
}

/*
 * free_port: a port that is free on 127.0.0.1 for both UDP and TCP just
 * now (the kernel picks the TCP one, UDP is tried on it). 0 on failure.
 */
static uint16_t
free_port(void)
{
	for (int tries = 0; tries < 50; tries++) {
		struct sockaddr_in sin = { .sin_family = AF_INET };
		socklen_t len = sizeof(sin);
		int t, u, ok;

		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		t = socket(AF_INET, SOCK_STREAM, 0);
		u = socket(AF_INET, SOCK_DGRAM, 0);
		ok = t >= 0 && u >= 0 &&
		    bind(t, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
		    getsockname(t, (struct sockaddr *)&sin, &len) == 0 &&
		    bind(u, (struct sockaddr *)&sin, sizeof(sin)) == 0;
		if (t >= 0)
			close(t);
		if (u >= 0)
			close(u);
		if (ok)
			return ntohs(sin.sin_port);
	}
	return 0;
}

/* udp_socket: a UDP socket bound to 127.0.0.1:port (0: any), or -1. */
static int
udp_socket(uint16_t port, uint16_t *port_r)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(port);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (port_r != NULL)
		*port_r = ntohs(sin.sin_port);
	return fd;
}

/* dns_answers: true when a DNS server on 127.0.0.1:port answers a query
 * (for mx1.a.test A) within ms milliseconds. */
static bool
dns_answers(uint16_t port, int ms)
{
	static const unsigned char q[] = {
		0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
		3, 'm', 'x', '1', 1, 'a', 4, 't', 'e', 's', 't', 0,
		0, 1, 0, 1,
	};
	struct sockaddr_in to = { .sin_family = AF_INET };
	unsigned char buf[512];
	struct pollfd pfd;
	int fd = udp_socket(0, NULL);
	bool ok = false;

	if (fd < 0)
		return false;
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	to.sin_port = htons(port);
	pfd.fd = fd;
	pfd.events = POLLIN;
	if (sendto(fd, q, sizeof(q), 0, (struct sockaddr *)&to,
	    sizeof(to)) == (ssize_t)sizeof(q) && poll(&pfd, 1, ms) == 1)
		ok = recv(fd, buf, sizeof(buf), 0) >= 12 && buf[0] == 0x12 &&
		    buf[1] == 0x34;
	close(fd);
	return ok;
}

/* The zone dnsmasq serves. Unknown names under test. are NXDOMAIN
 * (--local), never forwarded (--no-resolv: there is nowhere to). */
static const char *const zone_args[] = {
	"--local=/test/",
	/* two MX hosts; mx2 has IPv6 and IPv4 */
	"--mx-host=a.test,mx1.a.test,10",
	"--mx-host=a.test,mx2.a.test,20",
	"--host-record=mx1.a.test,127.0.0.2",
	"--host-record=mx2.a.test,127.0.0.3,::1",
	/* no MX: the implicit MX; and a CNAME to it */
	"--host-record=nomx.test,127.0.0.4",
	"--cname=alias.test,nomx.test",
	/* null MX, RFC 7505: preference 0, the root (type 15 = MX) */
	"--dns-rr=null.test,15,000000",
	/* a null MX beside a real one */
	"--mx-host=mixed.test,mx1.a.test,10",
	"--dns-rr=mixed.test,15,000000",
	/* MX to a name that does not exist, and to one with no address */
	"--mx-host=noaddr.test,nowhere.test,10",
	"--mx-host=noaddr.test,a.test,20",
	/* MX to an IP address (broken) before a real one; and alone */
	"--mx-host=lit.test,192.0.2.1,10",
	"--mx-host=lit.test,mx1.a.test,20",
	"--mx-host=litonly.test,192.0.2.1,10",
	/* three hosts of equal preference */
	"--mx-host=eq.test,e1.eq.test,10",
	"--mx-host=eq.test,e2.eq.test,10",
	"--mx-host=eq.test,e3.eq.test,10",
	"--host-record=e1.eq.test,127.0.0.11",
	"--host-record=e2.eq.test,127.0.0.12",
	"--host-record=e3.eq.test,127.0.0.13",
	/* the same host twice */
	"--mx-host=dup.test,mx1.a.test,10",
	"--mx-host=dup.test,mx1.a.test,20",
	/* parked on 0.0.0.0 */
	"--host-record=zero.test,0.0.0.0",
	/* six addresses of each family */
	"--host-record=many.test,127.0.1.1,::1:1",
	"--host-record=many.test,127.0.1.2,::1:2",
	"--host-record=many.test,127.0.1.3,::1:3",
	"--host-record=many.test,127.0.1.4,::1:4",
	"--host-record=many.test,127.0.1.5,::1:5",
	"--host-record=many.test,127.0.1.6,::1:6",
};

/* start_dnsmasq: starts dnsmasq on 127.0.0.1:port; its pid, or -1. It
 * gets SIGTERM if this test dies, so a crash leaves no server behind. */
static pid_t
start_dnsmasq(uint16_t port, bool debug)
{
	const char *argv[16 + sizeof(zone_args) / sizeof(zone_args[0])];
	char port_arg[32];
	pid_t parent = getpid(), pid;
	size_t n = 0;
	int null;

	snprintf(port_arg, sizeof(port_arg), "--port=%u", (unsigned)port);
	argv[n++] = DNSMASQ;
	argv[n++] = "--keep-in-foreground";	/* no fork: we hold its pid */
	argv[n++] = "--conf-file=/dev/null";	/* not /etc/dnsmasq.conf */
	argv[n++] = "--no-resolv";
	argv[n++] = "--no-hosts";
	argv[n++] = port_arg;
	argv[n++] = "--listen-address=127.0.0.1";
	argv[n++] = "--bind-interfaces";
	argv[n++] = "--pid-file=";		/* empty: none written */
	argv[n++] = "--log-facility=-";		/* stderr */
	/* Started as root, dnsmasq changes to nobody/dip, and the kernel
	 * then drops PR_SET_PDEATHSIG: so it stays root (uid and gid 0). */
	if (geteuid() == 0) {
		argv[n++] = "--user=root";
		argv[n++] = "--group=root";
	}
	if (debug)
		argv[n++] = "--log-queries";
	for (size_t i = 0; i < sizeof(zone_args) / sizeof(zone_args[0]); i++)
		argv[n++] = zone_args[i];
	argv[n] = NULL;

	if ((pid = fork()) != 0)
		return pid;
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent)
		_exit(127);
	if ((null = open("/dev/null", O_RDWR)) >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		if (!debug)
			dup2(null, 2);
		if (null > 2)
			close(null);
	}
	execv(DNSMASQ, (char *const *)argv);
	_exit(127);
}

static void
stop_child(pid_t *pid)
{
	if (*pid > 0) {
		kill(*pid, SIGTERM);
		while (waitpid(*pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	*pid = 0;
}

static int
group_setup(void **state)
{
	struct state *st = calloc(1, sizeof(*st));
	bool debug = getenv("TEST_RELAY_DNS_DEBUG") != NULL;
	char *err = NULL;

	if (st == NULL)
		return -1;
	*state = st;
	if (access(DNSMASQ, X_OK) != 0) {
		st->skip = true;
		return 0;
	}
	/* A port free a moment ago may be taken by the time dnsmasq binds
	 * it: then dnsmasq exits, and we try another. */
	for (int tries = 0; tries < 5 && st->pid == 0; tries++) {
		long long until;

		if ((st->port = free_port()) == 0 ||
		    (st->pid = start_dnsmasq(st->port, debug)) < 0) {
			st->pid = 0;
			continue;
		}
		for (until = ms_now() + 5000; ms_now() < until;) {
			if (waitpid(st->pid, NULL, WNOHANG) == st->pid) {
				st->pid = 0;
				break;
			}
			if (dns_answers(st->port, 100))
				break;
		}
		if (st->pid > 0 && !dns_answers(st->port, 1000))
			stop_child(&st->pid);
	}
	if (st->pid == 0) {
		fprintf(stderr, "test_relay_dns: dnsmasq did not start\n");
		return -1;
	}
	{
		char server[32];

		snprintf(server, sizeof(server), "127.0.0.1:%u",
		    (unsigned)st->port);
		st->dns = relay_dns_new(server, &err);
	}
	if (st->dns == NULL) {
		fprintf(stderr, "test_relay_dns: %s\n", err);
		free(err);
		stop_child(&st->pid);
		return -1;
	}
	return 0;
}

static int
group_teardown(void **state)
{
	struct state *st = *state;

	if (st != NULL) {
		relay_dns_free(&st->dns);
		stop_child(&st->pid);
		free(st);
	}
	return 0;
}

/* dns_of: the shared resolver, or skip the test. */
static struct relay_dns *
dns_of(void **state)
{
	struct state *st = *state;

	if (st->skip)
		skip();
	assert_non_null(st->dns);
	return st->dns;
}

/* assert_addr: the address of host h at index i is text, with port. */
static void
assert_addr(const struct relay_host *h, size_t i, const char *text,
    uint16_t port)
{
	char buf[INET6_ADDRSTRLEN];
	const struct sockaddr_storage *ss;

	assert_true(i < h->naddr);
	ss = &h->addr[i];
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)ss;

		assert_int_equal(h->addr_len[i], sizeof(*s6));
		assert_int_equal(ntohs(s6->sin6_port), port);
		inet_ntop(AF_INET6, &s6->sin6_addr, buf, sizeof(buf));
	} else {
		const struct sockaddr_in *s4 = (const void *)ss;

		assert_int_equal(ss->ss_family, AF_INET);
		assert_int_equal(h->addr_len[i], sizeof(*s4));
		assert_int_equal(ntohs(s4->sin_port), port);
		inet_ntop(AF_INET, &s4->sin_addr, buf, sizeof(buf));
	}
	assert_string_equal(buf, text);
}

/* ---- relay_dns_parse_mx ---------------------------------------------- */

static void
test_parse_mx_good(void **state)
{
	unsigned char rd[300];
	char name[256];
	int pref = -1;
	size_t n;

	(void)state;
	n = wire(rd, 10, "mx1.example.org");
	assert_int_equal(parse_mx(rd, n, &pref, name), 0);
	assert_int_equal(pref, 10);
	assert_string_equal(name, "mx1.example.org");

	/* Lowercased; '-', '_' and digits kept; the largest preference. */
	n = wire(rd, 65535, "MX-1.Ex_Ample.ORG");
	assert_int_equal(parse_mx(rd, n, &pref, name), 0);
	assert_int_equal(pref, 65535);
	assert_string_equal(name, "mx-1.ex_ample.org");

	/* One label. */
	n = wire(rd, 1, "localhost");
	assert_int_equal(parse_mx(rd, n, &pref, name), 0);
	assert_string_equal(name, "localhost");
}

static void
test_parse_mx_root(void **state)
{
	static const unsigned char nullmx[] = { 0, 0, 0 };
	static const unsigned char root10[] = { 0, 10, 0 };
	char name[256];
	int pref = -1;

	(void)state;
	/* RFC 7505: "MX 0 ." */
	assert_int_equal(parse_mx(nullmx, sizeof(nullmx), &pref, name), 0);
	assert_int_equal(pref, 0);
	assert_string_equal(name, "");
	assert_int_equal(parse_mx(root10, sizeof(root10), &pref, name), 0);
	assert_int_equal(pref, 10);
	assert_string_equal(name, "");
}

static void
test_parse_mx_truncated(void **state)
{
	static const unsigned char nolast[] = { 0, 10, 1, 'a' };
	static const unsigned char over[] = { 0, 10, 5, 'a', 'b', 0 };
	unsigned char rd[300];
	char name[256];
	int pref;
	size_t n;

	(void)state;
	n = wire(rd, 10, "mx1.example.org");
	/* Every proper prefix, down to nothing at all. */
	for (size_t len = 0; len < n; len++) {
		pref = -1;
		strcpy(name, "x");
		assert_int_equal(parse_mx(rd, len, &pref, name), -1);
		assert_int_equal(pref, 0);
		assert_string_equal(name, "");
	}
	assert_int_equal(relay_dns_parse_mx(NULL, 0, &pref, name), -1);
	assert_int_equal(parse_mx(nolast, sizeof(nolast), &pref, name), -1);
	assert_int_equal(parse_mx(over, sizeof(over), &pref, name), -1);
}

static void
test_parse_mx_label_long(void **state)
{
	unsigned char rd[300];
	char name[256], lab[80], text[160];
	int pref;
	size_t n;

	(void)state;
	snprintf(text, sizeof(text), "%s.org", label(lab, 'a', 63));
	n = wire(rd, 5, text);
	assert_int_equal(parse_mx(rd, n, &pref, name), 0);
	assert_string_equal(name, text);

	/* 64: the length byte is 0x40, the reserved extended label type. */
	snprintf(text, sizeof(text), "%s.org", label(lab, 'a', 64));
	n = wire(rd, 5, text);
	assert_int_equal(parse_mx(rd, n, &pref, name), -1);
	assert_string_equal(name, "");
	/* 0x80: the other reserved type. */
	rd[2] = 0x80;
	assert_int_equal(parse_mx(rd, n, &pref, name), -1);
}

static void
test_parse_mx_name_long(void **state)
{
	unsigned char rd[300];
	char name[256], a[64], b[64], text[300];
	int pref;
	size_t n;

	(void)state;
	label(a, 'a', 63);
	/* 63+1+63+1+63+1+61 = 253 characters, 255 octets on the wire. */
	snprintf(text, sizeof(text), "%s.%s.%s.%s", a, a, a, label(b, 'b', 61));
	assert_int_equal(strlen(text), 253);
	n = wire(rd, 5, text);
	assert_int_equal(n, 2 + 255);
	assert_int_equal(parse_mx(rd, n, &pref, name), 0);
	assert_string_equal(name, text);

	/* One more octet. */
	snprintf(text, sizeof(text), "%s.%s.%s.%s", a, a, a, label(b, 'b', 62));
	n = wire(rd, 5, text);
	assert_int_equal(parse_mx(rd, n, &pref, name), -1);
	assert_string_equal(name, "");

	/* Many one-letter labels: 127 of them is 253 characters. */
	text[0] = '\0';
	for (int i = 0; i < 127; i++)
		strcat(text, i == 0 ? "x" : ".x");
	n = wire(rd, 5, text);
	assert_int_equal(parse_mx(rd, n, &pref, name), 0);
	strcat(text, ".y");
	n = wire(rd, 5, text);
	assert_int_equal(parse_mx(rd, n, &pref, name), -1);
}

static void
test_parse_mx_pointer(void **state)
{
	/* "mx" then a pointer to offset 12 (the question name). */
	static const unsigned char ptr[] = { 0, 10, 2, 'm', 'x', 0xc0, 12 };
	static const unsigned char ptr0[] = { 0, 10, 0xc0, 12 };
	char name[256];
	int pref;

	(void)state;
	assert_int_equal(parse_mx(ptr, sizeof(ptr), &pref, name), -1);
	assert_int_equal(parse_mx(ptr0, sizeof(ptr0), &pref, name), -1);
	assert_string_equal(name, "");
}

static void
test_parse_mx_trailing(void **state)
{
	static const unsigned char root_more[] = { 0, 0, 0, 0 };
	unsigned char rd[300];
	char name[256];
	int pref;
	size_t n;

	(void)state;
	n = wire(rd, 10, "mx.example.org");
	rd[n] = 'x';
	assert_int_equal(parse_mx(rd, n + 1, &pref, name), -1);
	rd[n] = 0;
	assert_int_equal(parse_mx(rd, n + 1, &pref, name), -1);
	assert_int_equal(parse_mx(root_more, sizeof(root_more), &pref, name),
	    -1);
}

static void
test_parse_mx_bad_bytes(void **state)
{
	static const char *const bad[] = {
		"a.b", "a b", "a\tb", "a\nb", "a\rb", "a\0b", "a\x7f",
		"\xc3\xa9t\xc3\xa9", "a:b", "[1]", "a/b", "a@b", "a%b",
	};
	static const size_t badlen[] = {
		3, 3, 3, 3, 3, 3, 2, 6, 3, 3, 3, 3, 3,
	};
	unsigned char rd[64];
	char name[256];
	int pref;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		/* One label holding the bytes, then "org". */
		size_t n = 2;

		rd[0] = 0;
		rd[1] = 1;
		rd[n++] = (unsigned char)badlen[i];
		memcpy(rd + n, bad[i], badlen[i]);
		n += badlen[i];
		rd[n++] = 3;
		memcpy(rd + n, "org", 3);
		n += 3;
		rd[n++] = 0;
		assert_int_equal(parse_mx(rd, n, &pref, name), -1);
		assert_string_equal(name, "");
	}
	/* An empty label inside a name is the root: bytes follow it. */
	{
		static const unsigned char empty[] = { 0, 1, 1, 'a', 0, 1, 'b',
		    0 };

		assert_int_equal(parse_mx(empty, sizeof(empty), &pref, name),
		    -1);
	}
}

/* ---- address literals and forwarder strings ------------------------- */

static void
test_parse_literal(void **state)
{
	static const char *const bad[] = {
		"", "[", "[]", "[1.2.3.4", "1.2.3.4]", "1.2.3.4", "[300.1.1.1]",
		"[1.2.3]", "[2001:db8::1]", "[IPv6:1.2.3.4]", "[IPv6:]",
		"[IPv6:2001:db8::g]", "[IPv6:2001:db8::1%eth0]", "[ 1.2.3.4]",
		"[1.2.3.4 ]", "[IPv5:1.2.3.4]", "[x:1]",
		"[IPv6:1111:2222:3333:4444:5555:6666:7777:8888:9999]",
		"[IPv6:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000]",
	};
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	char buf[INET6_ADDRSTRLEN];
	socklen_t len;

	(void)state;
	assert_int_equal(relay_dns_parse_literal("[192.0.2.1]", &ss, &len), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(len, sizeof(*s4));
	assert_int_equal(s4->sin_port, 0);
	assert_string_equal(inet_ntop(AF_INET, &s4->sin_addr, buf,
	    sizeof(buf)), "192.0.2.1");

	assert_int_equal(relay_dns_parse_literal("[IPv6:2001:DB8::1]", &ss,
	    &len), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(len, sizeof(*s6));
	assert_string_equal(inet_ntop(AF_INET6, &s6->sin6_addr, buf,
	    sizeof(buf)), "2001:db8::1");
	/* The tag ignores case; IPv4-embedded forms are IPv6-addr. */
	assert_int_equal(relay_dns_parse_literal("[ipv6:::ffff:192.0.2.1]",
	    &ss, &len), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	/* The longest one. */
	assert_int_equal(relay_dns_parse_literal(
	    "[IPv6:ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]", &ss, &len),
	    0);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		len = 99;
		assert_int_equal(relay_dns_parse_literal(bad[i], &ss, &len),
		    -1);
		assert_int_equal(len, 0);
		assert_int_equal(ss.ss_family, 0);
	}
}

static void
test_parse_server(void **state)
{
	static const struct {
		const char *in, *addr;
		uint16_t port;
	} good[] = {
		{ "127.0.0.1", "127.0.0.1", 53 },
		{ "127.0.0.1:5353", "127.0.0.1", 5353 },
		{ "[::1]:5353", "::1", 5353 },
		{ "[::1]", "::1", 53 },
		{ "::1", "::1", 53 },
		{ "2001:DB8::53", "2001:db8::53", 53 },
		{ "[192.0.2.53]:1", "192.0.2.53", 1 },
		{ "192.0.2.53:65535", "192.0.2.53", 65535 },
	};
	static const char *const bad[] = {
		"", ":53", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536",
		"127.0.0.1:99999", "127.0.0.1:+53", "127.0.0.1:-1",
		"127.0.0.1: 53", "127.0.0.1:53 ", "localhost", "localhost:53",
		"dns.example.org", "[::1", "[::1]x", "[::1]:", "::1]:53",
		"[localhost]:53", "1.2.3", "300.0.0.1", "127.0.0.1:53:53",
		"[::1]:53:53", " 127.0.0.1",
		"[0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000]:53",
	};
	char addr[INET6_ADDRSTRLEN];
	uint16_t port;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(relay_dns_parse_server(good[i].in, addr,
		    &port), 0);
		assert_string_equal(addr, good[i].addr);
		assert_int_equal(port, good[i].port);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		port = 7;
		if (relay_dns_parse_server(bad[i], addr, &port) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_string_equal(addr, "");
		assert_int_equal(port, 53);
	}
}

static void
test_new_errors(void **state)
{
	struct relay_dns *dns;
	char *err = NULL;

	(void)state;
	dns = relay_dns_new("dns.example.org:53", &err);
	assert_null(dns);
	assert_non_null(err);
	assert_non_null(strstr(err, "ADDR"));
	free(err);
	/* relay_dns_free of nothing is fine. */
	relay_dns_free(&dns);
	relay_dns_free(NULL);
}

/* ---- routes through dnsmasq ------------------------------------------ */

static void
test_route_order(void **state)
{
	struct relay_dns *dns = dns_of(state);
	struct relay_route r;
	char why[256];

	assert_int_equal(relay_dns_route(dns, "a.test", PORT, &r, why,
	    sizeof(why)), RELAY_DNS_OK);
	assert_string_equal(why, "");
	assert_int_equal(r.nhost, 2);
	assert_string_equal(r.host[0].name, "mx1.a.test");
	assert_int_equal(r.host[0].preference, 10);
	assert_int_equal(r.host[0].naddr, 1);
	assert_addr(&r.host[0], 0, "127.0.0.2", PORT);
	assert_string_equal(r.host[1].name, "mx2.a.test");
	assert_int_equal(r.host[1].preference, 20);
	/* IPv6 first. */
	assert_int_equal(r.host[1].naddr, 2);
	assert_addr(&r.host[1], 0, "::1", PORT);
	assert_addr(&r.host[1], 1, "127.0.0.3", PORT);

	/* Case and a final dot do not matter; another port. */
	assert_int_equal(relay_dns_route(dns, "A.Test.", 25, &r, why,
	    sizeof(why)), RELAY_DNS_OK);
	assert_int_equal(r.nhost, 2);
	assert_string_equal(r.host[0].name, "mx1.a.test");
	assert_addr(&r.host[0], 0, "127.0.0.2", 25);
	assert_addr(&r.host[1], 1, "127.0.0.3", 25);
}

static void
test_route_shuffle(void **state)
{
	struct relay_dns *dns = dns_of(state);
	struct relay_route r;
	char why[256];
	int first[3] = { 0, 0, 0 };

	/* Each of three equal hosts comes first sometimes: 60 tries miss
	 * one with probability 3 * (2/3)^60, about 1e-10. */
	for (int i = 0; i < 60; i++) {
		assert_int_equal(relay_dns_route(dns, "eq.test", PORT, &r,
		    why, sizeof(why)), RELAY_DNS_OK);
		assert_int_equal(r.nhost, 3);
		for (size_t k = 0; k < 3; k++)
			assert_int_equal(r.host[k].preference, 10);
		assert_true(strncmp(r.host[0].name, "e", 1) == 0);
		first[r.host[0].name[1] - '1']++;
		/* All three, once each. */
		assert_true(strcmp(r.host[0].name, r.host[1].name) != 0 &&
		    strcmp(r.host[1].name, r.host[2].name) != 0 &&
		    strcmp(r.host[0].name, r.host[2].name) != 0);
	}
	assert_true(first[0] > 0 && first[1] > 0 && first[2] > 0);
}

static void
test_route_implicit(void **state)
{
	struct relay_dns *dns = dns_of(state);
	struct relay_route r;
	char why[256];

	assert_int_equal(relay_dns_route(dns, "nomx.test", PORT, &r, why,
	    sizeof(why)), RELAY_DNS_OK);
	assert_int_equal(r.nhost, 1);
	assert_string_equal(r.host[0].name, "nomx.test");
	assert_int_equal(r.host[0].preference, -1);
	assert_int_equal(r.host[0].naddr, 1);
	assert_addr(&r.host[0], 0, "127.0.0.4", PORT);

	/* Through a CNAME (RFC 5321 5.1), named as asked. */
	assert_int_equal(relay_dns_route(dns, "alias.test", PORT, &r, why,
	    sizeof(why)), RELAY_DNS_OK);
	assert_int_equal(r.nhost, 1);
	assert_string_equal(r.host[0].name, "alias.test");
	assert_addr(&r.host[0], 0, "127.0.0.4", PORT);

	/* Only 0.0.0.0: nowhere to go. */
	assert_int_equal(relay_dns_route(dns, "zero.test", PORT, &r, why,
	    sizeof(why)), RELAY_DNS_NO_DOMAIN);
	assert_int_equal(r.nhost, 0);
	assert_string_equal(why, "no MX or A record for zero.test");
}

static void
test_route_null_mx(void **state)
{
	struct relay_dns *dns = dns_of(state);
	struct relay_route r;
	char why[256];

	assert_int_equal(relay_dns_route(dns, "null.test", PORT, &r, why,
	    sizeof(why)), RELAY_DNS_NULL_MX);
	assert_int_equal(r.nhost, 0);
	assert_string_equal(why, "null MX: null.test accepts no mail");

	/* Beside a real MX (RFC 7505 3 forbids it), the null one is
	 * ignored. */
	assert_int_equal(relay_dns_route(dns, "mixed.test", PORT, &r, why,
	    sizeof(why)), RELAY_DNS_OK);
	assert_int_equal(r.nhost, 1);
	assert_string_equal(r.host[0].name, "mx1.a.test");
}

static void
test_route_nxdomain(void **state)
{
	struct relay_dns *dns = dns_of(state);
	struct relay_route r;
	char why[256];

	assert_int_equal(relay_dns_route(dns, "nosuch.test", PORT, &r, why,
	    sizeof(why)), RELAY_DNS_NO_DOMAIN);
	assert_int_equal(r.nhost, 0);
	assert_string_equal(why, "domain nosuch.test does not exist");
}

static void
test_route_no_address(void **state)
{
	struct relay_dns *dns = dns_of(state);
	struct relay_route r;
	char why[256];

	/* One MX target does not exist, the other has no A/AAAA. */
	assert_int_equal(relay_dns_route(dns, "noaddr.test", PORT, &r, why,
	    sizeof(why)), RELAY_DNS_NO_ADDRESS);
	assert_int_equal(r.nhost, 0);
	assert_string_equal(why, "no MX host of noaddr.test has an address");

	/* An MX target that is an IP address is skipped... */
	assert_int_equal(relay_dns_route(dns, "lit.test", PORT, &r, why,
	    sizeof(why)), RELAY_DNS_OK);
	assert_int_equal(r.nhost, 1);
	assert_string_equal(r.host[0].name, "mx1.a.test");
	assert_int_equal(r.host[0].preference, 20);
	/* ...and when it is all there is, nothing is left. */
	assert_int_equal(relay_dns_route(dns, "litonly.test", PORT, &r, why,
	    sizeof(why)), RELAY_DNS_NO_ADDRESS);
	assert_string_equal(why, "no usable MX host name for litonly.test");
}

static void
test_route_dup_and_many(void **state)
{
	struct relay_dns *dns = dns_of(state);
	struct relay_route r;
	struct relay_host h;
	char why[256];
	size_t n6 = 0;

	assert_int_equal(relay_dns_route(dns, "dup.test", PORT, &r, why,
	    sizeof(why)), RELAY_DNS_OK);
	assert_int_equal(r.nhost, 1);
	assert_int_equal(r.host[0].preference, 10);

	/* Six of each family: IPv6 first, but four IPv4 kept. */
	assert_int_equal(relay_dns_host(dns, "many.test", PORT, &h, why,
	    sizeof(why)), RELAY_DNS_OK);
	assert_int_equal(h.naddr, RELAY_ADDR_MAX);
	for (size_t i = 0; i < h.naddr; i++) {
		if (h.addr[i].ss_family == AF_INET6) {
			assert_int_equal(n6, i);	/* all before IPv4 */
			n6++;
		}
	}
	assert_int_equal(n6, RELAY_ADDR_MAX - RELAY_ADDR_V4_MIN);
}

static void
test_route_literal(void **state)
{
	struct relay_dns *dns = dns_of(state);
	struct relay_route r;
	char why[256];

	assert_int_equal(relay_dns_route(dns, "[192.0.2.1]", PORT, &r, why,
	    sizeof(why)), RELAY_DNS_OK);
	assert_int_equal(r.nhost, 1);
	assert_string_equal(r.host[0].name, "[192.0.2.1]");
	assert_int_equal(r.host[0].naddr, 1);
	assert_addr(&r.host[0], 0, "192.0.2.1", PORT);

	assert_int_equal(relay_dns_route(dns, "[IPv6:2001:db8::1]", PORT, &r,
	    why, sizeof(why)), RELAY_DNS_OK);
	assert_int_equal(r.nhost, 1);
	assert_addr(&r.host[0], 0, "2001:db8::1", PORT);

	assert_int_equal(relay_dns_route(dns, "[2001:db8::1]", PORT, &r, why,
	    sizeof(why)), RELAY_DNS_NO_DOMAIN);
	assert_int_equal(r.nhost, 0);
	assert_string_equal(why, "invalid address literal");
}

static void
test_route_invalid(void **state)
{
	static const char *const bad[] = {
		"", ".", "..", "a..test", ".a.test", "a test", "a\ntest",
		"192.0.2.1", "a.test..", "caf\xc3\xa9.test", "a/b.test",
	};
	struct relay_dns *dns = dns_of(state);
	struct relay_route r;
	char why[256], lab[80], big[300];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(relay_dns_route(dns, bad[i], PORT, &r, why,
		    sizeof(why)), RELAY_DNS_NO_DOMAIN);
		assert_string_equal(why, "invalid domain name");
		assert_int_equal(r.nhost, 0);
	}
	snprintf(big, sizeof(big), "%s.test", label(lab, 'a', 64));
	assert_int_equal(relay_dns_route(dns, big, PORT, &r, why,
	    sizeof(why)), RELAY_DNS_NO_DOMAIN);
	/* 254 characters. */
	memset(big, 'a', 254);
	for (size_t i = 50; i < 254; i += 50)
		big[i] = '.';
	big[254] = '\0';
	assert_int_equal(relay_dns_route(dns, big, PORT, &r, why,
	    sizeof(why)), RELAY_DNS_NO_DOMAIN);

	/* A why too small is cut, not overrun; none at all is fine. */
	assert_int_equal(relay_dns_route(dns, "nosuch.test", PORT, &r, why,
	    8), RELAY_DNS_NO_DOMAIN);
	assert_string_equal(why, "domain ");
	assert_int_equal(relay_dns_route(dns, "nosuch.test", PORT, &r, NULL,
	    0), RELAY_DNS_NO_DOMAIN);
}

static void
test_host(void **state)
{
	struct relay_dns *dns = dns_of(state);
	struct relay_host h;
	char why[256];

	assert_int_equal(relay_dns_host(dns, "mx2.a.test", 587, &h, why,
	    sizeof(why)), RELAY_DNS_OK);
	assert_string_equal(h.name, "mx2.a.test");
	assert_int_equal(h.naddr, 2);
	assert_addr(&h, 0, "::1", 587);
	assert_addr(&h, 1, "127.0.0.3", 587);

	assert_int_equal(relay_dns_host(dns, "127.0.0.9", 587, &h, why,
	    sizeof(why)), RELAY_DNS_OK);
	assert_string_equal(h.name, "[127.0.0.9]");
	assert_addr(&h, 0, "127.0.0.9", 587);
	assert_int_equal(relay_dns_host(dns, "::1", 587, &h, why,
	    sizeof(why)), RELAY_DNS_OK);
	assert_string_equal(h.name, "[IPv6:::1]");
	assert_addr(&h, 0, "::1", 587);
	assert_int_equal(relay_dns_host(dns, "[IPv6:::1]", 587, &h, why,
	    sizeof(why)), RELAY_DNS_OK);
	assert_addr(&h, 0, "::1", 587);

	assert_int_equal(relay_dns_host(dns, "nowhere.test", 587, &h, why,
	    sizeof(why)), RELAY_DNS_NO_DOMAIN);
	assert_string_equal(why, "host nowhere.test does not exist");
	assert_int_equal(h.naddr, 0);
	assert_int_equal(relay_dns_host(dns, "a.test", 587, &h, why,
	    sizeof(why)), RELAY_DNS_NO_ADDRESS);
	assert_string_equal(why, "no A or AAAA record for a.test");
	assert_int_equal(relay_dns_host(dns, "bad host", 587, &h, why,
	    sizeof(why)), RELAY_DNS_NO_DOMAIN);
}

/* Threads share one resolver: each routes a.test many times and counts
 * the answers that were not the expected ones. */
struct thread_arg {
	struct relay_dns *dns;
	int bad;
	char why[256];		/* the first bad answer's */
};

static void *
route_thread(void *p)
{
	struct thread_arg *a = p;
	struct relay_route r;
	char why[256];

	for (int i = 0; i < 25; i++) {
		int rc = relay_dns_route(a->dns, i % 2 ? "a.test" :
		    "nomx.test", PORT, &r, why, sizeof(why));

		if (rc != RELAY_DNS_OK || r.nhost != (i % 2 ? 2u : 1u)) {
			if (a->bad++ == 0)
				snprintf(a->why, sizeof(a->why),
				    "%d %zu %.200s", rc, r.nhost, why);
		}
	}
	return NULL;
}

static void
test_threads(void **state)
{
	struct relay_dns *dns = dns_of(state);
	struct thread_arg arg[8];
	pthread_t t[8];

	for (int i = 0; i < 8; i++) {
		arg[i].dns = dns;
		arg[i].bad = 0;
		arg[i].why[0] = '\0';
		if (pthread_create(&t[i], NULL, route_thread, &arg[i]) != 0)
			abort();	/* the threads made so far use arg */
	}
	/* Join them all before any assert: a failing one jumps out of
	 * this frame, and the threads hold pointers into it. */
	for (int i = 0; i < 8; i++) {
		if (pthread_join(t[i], NULL) != 0)
			abort();
	}
	for (int i = 0; i < 8; i++) {
		if (arg[i].bad != 0)
			fail_msg("thread %d: %d bad, first: %s", i, arg[i].bad,
			    arg[i].why);
	}
}

/* ---- servers that fail ----------------------------------------------- */

/* A DNS server that answers every query SERVFAIL, until stop. */
struct servfail {
	int fd;
	atomic_bool stop;
};

static void *
servfail_thread(void *p)
{
	struct servfail *sf = p;
	unsigned char buf[512];
	struct sockaddr_storage from;
	struct pollfd pfd = { .fd = sf->fd, .events = POLLIN };

	while (!atomic_load(&sf->stop)) {
		socklen_t flen = sizeof(from);
		ssize_t n;
		size_t q;

		if (poll(&pfd, 1, 50) != 1)
			continue;
		n = recvfrom(sf->fd, buf, sizeof(buf), 0,
		    (struct sockaddr *)&from, &flen);
		if (n < 12)
			continue;
		/* The question only: skip its name, then type and class. */
		for (q = 12; q < (size_t)n && buf[q] != 0; q += 1 + buf[q])
			;
		q += 5;
		if (q > (size_t)n)
			continue;
		buf[2] = (unsigned char)(0x80 | (buf[2] & 0x79)); /* QR, RD */
		buf[3] = 0x80 | 2;		/* RA, SERVFAIL */
		memset(buf + 4, 0, 8);
		buf[5] = 1;			/* QDCOUNT 1 */
		sendto(sf->fd, buf, q, 0, (struct sockaddr *)&from, flen);
	}
	return NULL;
}

static struct relay_dns *
dns_at(uint16_t port)
{
	struct relay_dns *dns;
	char server[32], *err = NULL;

	snprintf(server, sizeof(server), "127.0.0.1:%u", (unsigned)port);
	dns = relay_dns_new(server, &err);
	if (dns == NULL) {
		fprintf(stderr, "relay_dns_new: %s\n", err);
		abort();	/* not fail_msg: callers hold a thread */
	}
	return dns;
}

static void
test_servfail(void **state)
{
	struct servfail sf;
	struct relay_dns *dns;
	struct relay_route r;
	struct relay_host h;
	pthread_t t;
	uint16_t port;
	char why[256], why2[256];
	int rc, rc2;

	(void)state;
	atomic_init(&sf.stop, false);
	sf.fd = udp_socket(0, &port);
	assert_true(sf.fd >= 0);
	if (pthread_create(&t, NULL, servfail_thread, &sf) != 0)
		abort();
	/* Asserts wait until the thread, which uses sf, has ended. */
	dns = dns_at(port);
	rc = relay_dns_route(dns, "a.test", PORT, &r, why, sizeof(why));
	rc2 = relay_dns_host(dns, "mx1.a.test", PORT, &h, why2, sizeof(why2));
	relay_dns_free(&dns);
	atomic_store(&sf.stop, true);
	pthread_join(t, NULL);
	close(sf.fd);

	assert_null(dns);
	assert_int_equal(rc, RELAY_DNS_TEMP);
	assert_int_equal(r.nhost, 0);
	assert_string_equal(why, "DNS SERVFAIL for MX of a.test");
	assert_int_equal(rc2, RELAY_DNS_TEMP);
	assert_int_equal(h.naddr, 0);
	assert_string_equal(why2, "DNS SERVFAIL for A of mx1.a.test");
}

/* dead: a route through a server that never answers ends TEMP within
 * DEAD_BOUND_MS; so does a second one (the server is then known down). */
static void
dead(uint16_t port, const char *what)
{
	struct relay_dns *dns = dns_at(port);
	struct relay_route r;
	char why[256];
	long long t0, t1, t2;

	t0 = ms_now();
	assert_int_equal(relay_dns_route(dns, "a.test", PORT, &r, why,
	    sizeof(why)), RELAY_DNS_TEMP);
	t1 = ms_now();
	assert_int_equal(r.nhost, 0);
	assert_string_equal(why, "DNS SERVFAIL for MX of a.test");
	assert_int_equal(relay_dns_route(dns, "nomx.test", PORT, &r, why,
	    sizeof(why)), RELAY_DNS_TEMP);
	t2 = ms_now();
	printf("# %s: TEMP after %lld ms, then %lld ms\n", what, t1 - t0,
	    t2 - t1);
	assert_true(t1 - t0 < DEAD_BOUND_MS);
	assert_true(t2 - t1 < DEAD_BOUND_MS);
	relay_dns_free(&dns);
}

static void
test_dead_silent(void **state)
{
	uint16_t port;
	int fd;

	(void)state;
	/* Bound but never read: no ICMP error, only silence. */
	fd = udp_socket(0, &port);
	assert_true(fd >= 0);
	dead(port, "silent server");
	close(fd);
}

static void
test_dead_nobody(void **state)
{
	uint16_t port;
	int fd;

	(void)state;
	/* Nobody on the port at all. */
	fd = udp_socket(0, &port);
	assert_true(fd >= 0);
	close(fd);
	dead(port, "no server");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_mx_good),
		cmocka_unit_test(test_parse_mx_root),
		cmocka_unit_test(test_parse_mx_truncated),
		cmocka_unit_test(test_parse_mx_label_long),
		cmocka_unit_test(test_parse_mx_name_long),
		cmocka_unit_test(test_parse_mx_pointer),
		cmocka_unit_test(test_parse_mx_trailing),
		cmocka_unit_test(test_parse_mx_bad_bytes),
		cmocka_unit_test(test_parse_literal),
		cmocka_unit_test(test_parse_server),
		cmocka_unit_test(test_new_errors),
		cmocka_unit_test(test_route_order),
		cmocka_unit_test(test_route_shuffle),
		cmocka_unit_test(test_route_implicit),
		cmocka_unit_test(test_route_null_mx),
		cmocka_unit_test(test_route_nxdomain),
		cmocka_unit_test(test_route_no_address),
		cmocka_unit_test(test_route_dup_and_many),
		cmocka_unit_test(test_route_literal),
		cmocka_unit_test(test_route_invalid),
		cmocka_unit_test(test_host),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_servfail),
		cmocka_unit_test(test_dead_silent),
		cmocka_unit_test(test_dead_nobody),
	};

	/* A wait that never ends is a failure, not a hung CI job (generous
	 * for valgrind: the suite takes about 15 s). */
	alarm(600);
	return cmocka_run_group_tests_name("relay_dns", tests, group_setup,
	    group_teardown);
}
