/*
 * conn.h - one connection: a socket, optionally under TLS, with a
 * bounded buffered line reader, exact-length reads, a buffered writer,
 * per-operation timeouts and the STARTTLS upgrade. Server side (accepted
 * sockets) and client side (conn_connect(), conn_start_tls_client(), for
 * the delivery agent).
 *
 * CONVENTIONS.md: only conn.c reads sockets. A read returns a complete
 * line, "too long", "timeout" or "closed"; callers never see a partial
 * line. Trusts nothing from the peer.
 */
#ifndef LETTERBOX_CONN_H
#define LETTERBOX_CONN_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include <openssl/ssl.h>

/* Largest line conn_read_line() can return (bytes before the line end):
 * the input buffer holds one such line and its CRLF. */
#define CONN_LINE_MAX (64 * 1024)

enum conn_status {
	CONN_OK = 0,
	CONN_TOO_LONG = -1,	/* line longer than the caller's max */
	CONN_TIMEOUT = -2,	/* no progress within the timeout */
	CONN_CLOSED = -3,	/* the peer closed (EOF, or TLS close) */
	CONN_ERROR = -4,	/* I/O or TLS error (logged at debug) */
	CONN_STOPPED = -5,	/* the stop fd became readable (shutdown) */
	CONN_WOKEN = 1,		/* conn_wait_input_or(): the wake fd */
};

struct conn;

/*
 * conn_new: takes ownership of the connected socket fd (closed by
 * conn_free). peer/peer_len: the client's address from accept(). stop_fd:
 * a descriptor that becomes readable when the server shuts down (-1:
 * none); waits for input end with CONN_STOPPED then. Default timeout:
 * 5 minutes.
 */
struct conn *conn_new(int fd, const struct sockaddr *peer, socklen_t peer_len,
    int stop_fd);
/*
 * conn_connect: the client side of conn_new(): a TCP connection to addr
 * (AF_INET or AF_INET6), made without blocking past timeout_ms
 * (negative: the kernel's own limit) and given up when stop_fd (-1:
 * none; borrowed) becomes readable. TCP_NODELAY as for the server side;
 * conn_peer_ip() names the server. Returns CONN_OK with *conn_r (default
 * timeout as conn_new(); conn_free()), or CONN_TIMEOUT, CONN_STOPPED or
 * CONN_ERROR with *conn_r NULL and why (whylen bytes) saying what
 * happened: "connect to 192.0.2.1:25: Connection refused", "...: timed
 * out".
 */
int conn_connect(const struct sockaddr *addr, socklen_t len, int timeout_ms,
    int stop_fd, struct conn **conn_r, char *why, size_t whylen);
/* conn_free: shuts TLS down (best effort), closes the socket, frees. */
void conn_free(struct conn **conn);

/* conn_ignore_stop: while ignore is true, reads do not end with
 * CONN_STOPPED: a message being received is finished before shutdown. */
void conn_ignore_stop(struct conn *conn, bool ignore);

/* conn_set_timeout: ms for each later read or write to make progress. */
void conn_set_timeout(struct conn *conn, int timeout_ms);

/*
 * conn_read_line: the next line, ended by LF. *line_r points into the
 * connection's buffer, valid until the next call on conn; it excludes the
 * line end and is NUL-terminated (it may also hold NUL bytes: use
 * *len_r). *crlf_r says whether the line ended with CRLF (true) or a bare
 * LF (false); a CR elsewhere stays in the line. max (<= CONN_LINE_MAX):
 * a longer line gives CONN_TOO_LONG, after which the connection must be
 * closed (the rest of the line is not consumed).
 */
int conn_read_line(struct conn *conn, size_t max, const char **line_r,
    size_t *len_r, bool *crlf_r);

/* conn_read_exact: exactly len bytes into buf (BDAT chunks, literals). */
int conn_read_exact(struct conn *conn, void *buf, size_t len);

/* conn_pending: true when bytes the client sent are already buffered
 * (PIPELINING; a client that talks before the greeting). */
bool conn_pending(const struct conn *conn);

/* conn_wait_input: waits up to timeout_ms for input. CONN_OK when some
 * arrived (or is buffered), CONN_TIMEOUT when none, or another status. */
int conn_wait_input(struct conn *conn, int timeout_ms);
/* conn_wait_input_or: conn_wait_input(), also ending with CONN_WOKEN when
 * wake_fd becomes readable first (IMAP IDLE's change notifications). */
int conn_wait_input_or(struct conn *conn, int wake_fd, int timeout_ms);

/* conn_write / conn_printf: queue output; it is sent by conn_flush(), or
 * when the output buffer fills. */
int conn_write(struct conn *conn, const void *data, size_t len);
int conn_printf(struct conn *conn, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int conn_flush(struct conn *conn);

/* conn_vreply: one protocol response line (CRLF added), sent at once
 * unless the client has more commands waiting: then it goes with their
 * answers (pipelining, RFC 2920 3.2 / RFC 2449 6.6). */
int conn_vreply(struct conn *conn, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/*
 * conn_start_tls: makes the connection TLS as the server side with ctx
 * and runs the handshake (within the timeout). Any input buffered before
 * it is thrown away (CVE-2011-0411: no plaintext command may be taken as
 * sent under TLS). Used for STARTTLS and right after accept() for
 * implicit TLS. On failure the connection must be closed.
 */
int conn_start_tls(struct conn *conn, SSL_CTX *ctx);

/* Longest server name conn_start_tls_client() takes (RFC 1035 2.3.4:
 * 253 octets of text, without the trailing dot). */
#define CONN_TLS_NAME_MAX 253

/*
 * conn_start_tls_client: makes the connection TLS as the client side with
 * ctx (tls_client_ctx_new()) and runs the handshake within the timeout.
 * servername (NULL: none): sent as SNI when it is a DNS name (not an IP
 * literal) and checked against the certificate (SSL_set1_host) when ctx
 * verifies; a verifying ctx without a servername is refused. Anything
 * the server sent before the handshake and we have not read is thrown
 * away (a server's answer cannot be injected from plaintext). On
 * failure the connection must be closed; conn_tls_verify_result() may
 * say why.
 */
int conn_start_tls_client(struct conn *conn, SSL_CTX *ctx,
    const char *servername);

/* conn_tls_verify_result: after conn_start_tls_client() (success or
 * failure): X509_V_OK when the server's certificate verified against the
 * ctx's trust store and the name, else an X509_V_ERR_* code (whatever
 * the ctx's verify mode: an unverified session says why it would not
 * verify); -1 when TLS was never started. For logs and error texts
 * (X509_verify_cert_error_string()). */
long conn_tls_verify_result(const struct conn *conn);

bool conn_is_tls(const struct conn *conn);
/* conn_tls_version / conn_tls_cipher: e.g. "TLSv1.3",
 * "TLS_AES_256_GCM_SHA384"; NULL when not TLS. */
const char *conn_tls_version(const struct conn *conn);
const char *conn_tls_cipher(const struct conn *conn);

/* conn_peer_ip: the peer's address as text: the client's, or the
 * server's after conn_connect() ("192.0.2.1", "2001:db8::1"; an
 * IPv4-mapped IPv6 address is shown as IPv4). */
const char *conn_peer_ip(const struct conn *conn);
/* conn_peer_loopback: true for 127.0.0.0/8 and ::1. */
bool conn_peer_loopback(const struct conn *conn);

#endif
