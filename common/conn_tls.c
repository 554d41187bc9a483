/*
 * conn_tls.c - TLS on a connection: starting it as the server
 * (conn_start_tls(): STARTTLS, or implicit TLS right after accept()) or
 * as the client (conn_start_tls_client(): SNI and the name the
 * certificate must match), the handshake both share, the mapping of a
 * failed SSL_* call to a conn status (conn_tls_status(), also used by
 * conn.c's read and write paths), and what the session turned out to be
 * (version, cipher, verify result).
 *
 * The record I/O itself stays in conn.c: SSL_read_ex() and SSL_write_ex()
 * sit inside the same retry-and-poll loops as recv() and send(), so
 * there is one read path and one write path (CONVENTIONS.md: one
 * bounded reader). struct conn is in conn_internal.h.
 *
 * Trusts nothing the peer sends. Input buffered before the handshake is
 * thrown away (CVE-2011-0411 and its client-side twin, response
 * injection). The handshake as a whole is bounded by the conn's timeout;
 * a failed one leaves the conn broken, never readable as plaintext. A
 * server name is at most CONN_TLS_NAME_MAX octets.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "conn.h"
#include "conn_internal.h"
#include "log.h"

/* conn_tls_status: see conn_internal.h. */
int
conn_tls_status(struct conn *conn, int ret, int saved_errno,
    const char *what, bool watch_stop)
{
	unsigned long e;
	char buf[256];

	switch (SSL_get_error(conn->ssl, ret)) {
	case SSL_ERROR_WANT_READ:
		return conn_wait_fd(conn, POLLIN, watch_stop,
		    conn->timeout_ms);
	case SSL_ERROR_WANT_WRITE:
		return conn_wait_fd(conn, POLLOUT, watch_stop,
		    conn->timeout_ms);
	case SSL_ERROR_ZERO_RETURN:
		/* close_notify from the peer. */
		return CONN_CLOSED;
	case SSL_ERROR_SYSCALL:
		conn->tls_fatal = true;
		/* EOF without close_notify, or the peer reset. */
		if (ERR_peek_error() == 0 && (saved_errno == 0 ||
		    saved_errno == ECONNRESET || saved_errno == EPIPE))
			return CONN_CLOSED;
		log_debug("conn %s: TLS %s: %s", conn->peer_ip, what,
		    saved_errno != 0 ? strerror(saved_errno) : "I/O error");
		ERR_clear_error();
		return CONN_ERROR;
	default:
		conn->tls_fatal = true;
		e = ERR_peek_error();
		/* OpenSSL 3 reports EOF without close_notify this way. */
		if (ERR_GET_LIB(e) == ERR_LIB_SSL &&
		    ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
			ERR_clear_error();
			return CONN_CLOSED;
		}
		ERR_error_string_n(e, buf, sizeof(buf));
		log_debug("conn %s: TLS %s: %s", conn->peer_ip, what,
		    e != 0 ? buf : "unknown error");
		ERR_clear_error();
		return CONN_ERROR;
	}
}

/*
 * tls_begin: the part of a TLS start both sides share. Queued output is
 * flushed first (it is the plaintext command or reply that asked for
 * TLS); buffered input is dropped: whatever the peer pipelined after
 * STARTTLS (or after its "220 go ahead") arrived in plaintext and must
 * not be read as if sent under TLS (CVE-2011-0411 and its client-side
 * twin, response injection). Then a new SSL on the socket. Returns
 * CONN_OK, or a failure after which the conn is broken.
 */
static int
tls_begin(struct conn *conn, SSL_CTX *ctx)
{
	int ret;

	if (conn->ssl != NULL)
		fatal("conn: TLS started twice on a connection");
	if ((ret = conn_flush(conn)) != CONN_OK)
		return ret;

	conn->in_off = conn->in_len = conn->in_scan = 0;

	ERR_clear_error();
	if ((conn->ssl = SSL_new(ctx)) == NULL ||
	    SSL_set_fd(conn->ssl, conn->fd) != 1) {
		log_debug("conn %s: SSL_new failed", conn->peer_ip);
		ERR_clear_error();
		conn->tls_fatal = true;
		conn->broken = CONN_ERROR;
		return CONN_ERROR;
	}
	/* io_write() (conn.c) takes partial writes and may retry from a
	 * moved pointer (after a flush the same bytes sit elsewhere). */
	SSL_set_mode(conn->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	return CONN_OK;
}

/*
 * tls_handshake: runs the handshake on conn->ssl as the server (accept)
 * or the client (connect). The handshake as a whole must finish within
 * the timeout. On failure the conn is broken: reads and writes return
 * CONN_ERROR (or CONN_CLOSED), never plaintext.
 */
static int
tls_handshake(struct conn *conn, bool client)
{
	long long deadline;
	int ret, saved, err;

	deadline = conn_now_ms() + conn->timeout_ms;
	for (;;) {
		ERR_clear_error();
		errno = 0;
		ret = client ? SSL_connect(conn->ssl) : SSL_accept(conn->ssl);
		if (ret == 1)
			break;
		saved = errno;
		err = SSL_get_error(conn->ssl, ret);
		if (err == SSL_ERROR_WANT_READ ||
		    err == SSL_ERROR_WANT_WRITE) {
			long long left = deadline - conn_now_ms();

			if (conn->timeout_ms >= 0 && left <= 0)
				ret = CONN_TIMEOUT;
			else
				ret = conn_wait_fd(conn,
				    err == SSL_ERROR_WANT_READ ? POLLIN :
				    POLLOUT, true, conn->timeout_ms < 0 ?
				    -1 : (int)left);
		} else {
			ret = conn_tls_status(conn, ret, saved, "handshake",
			    true);
			if (ret == CONN_OK)	/* cannot happen */
				ret = CONN_ERROR;
		}
		if (ret != CONN_OK) {
			conn->tls_fatal = true;
			conn->broken = ret == CONN_CLOSED ? CONN_CLOSED :
			    CONN_ERROR;
			return ret;
		}
	}
	conn->tls_up = true;
	conn->tls_version = SSL_get_version(conn->ssl);
	conn->tls_cipher = SSL_get_cipher_name(conn->ssl);
	return CONN_OK;
}

/*
 * conn_start_tls: see conn.h. Starting TLS twice is a caller bug (the
 * protocol answers a second STARTTLS itself) and fatal.
 */
int
conn_start_tls(struct conn *conn, SSL_CTX *ctx)
{
	int ret;

	if ((ret = tls_begin(conn, ctx)) != CONN_OK)
		return ret;
	return tls_handshake(conn, false);
}

/*
 * conn_start_tls_client: see conn.h. servername is copied without one
 * trailing dot (an MX name from DNS may carry it; certificates do not).
 * An IP literal gets no SNI (RFC 6066 3 forbids it) and is verified
 * against the certificate's IP addresses instead of its DNS names.
 */
int
conn_start_tls_client(struct conn *conn, SSL_CTX *ctx,
    const char *servername)
{
	char name[CONN_TLS_NAME_MAX + 2];
	unsigned char ipbuf[sizeof(struct in6_addr)];
	bool verifying, is_ip = false;
	size_t len = 0;
	int ret;

	verifying = (SSL_CTX_get_verify_mode(ctx) & SSL_VERIFY_PEER) != 0;
	if (servername != NULL) {
		len = strnlen(servername, CONN_TLS_NAME_MAX + 2);
		if (len > 0 && servername[len - 1] == '.')
			len--;
		if (len == 0 || len > CONN_TLS_NAME_MAX) {
			log_debug("conn %s: bad TLS server name",
			    conn->peer_ip);
			conn->broken = CONN_ERROR;
			return CONN_ERROR;
		}
		memcpy(name, servername, len);
		name[len] = '\0';
		is_ip = inet_pton(AF_INET, name, ipbuf) == 1 ||
		    inet_pton(AF_INET6, name, ipbuf) == 1;
	} else if (verifying) {
		/* A verified chain for no name in particular would accept
		 * any certificate a public CA ever issued: refuse. */
		log_debug("conn %s: verifying TLS without a server name",
		    conn->peer_ip);
		conn->broken = CONN_ERROR;
		return CONN_ERROR;
	}

	if ((ret = tls_begin(conn, ctx)) != CONN_OK)
		return ret;
	if (servername != NULL) {
		X509_VERIFY_PARAM *param = SSL_get0_param(conn->ssl);
		int ok;

		/* No "*" matching part of a label (RFC 6125 7.2). */
		X509_VERIFY_PARAM_set_hostflags(param,
		    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (is_ip)
			ok = X509_VERIFY_PARAM_set1_ip_asc(param, name) == 1;
		else
			ok = SSL_set_tlsext_host_name(conn->ssl, name) == 1 &&
			    SSL_set1_host(conn->ssl, name) == 1;
		if (!ok) {
			log_debug("conn %s: cannot set TLS server name",
			    conn->peer_ip);
			ERR_clear_error();
			conn->tls_fatal = true;
			conn->broken = CONN_ERROR;
			return CONN_ERROR;
		}
	}
	return tls_handshake(conn, true);
}

/*
 * conn_tls_verify_result: see conn.h. OpenSSL reports X509_V_OK when
 * the peer sent no certificate at all; that is not "verified".
 */
long
conn_tls_verify_result(const struct conn *conn)
{
	if (conn->ssl == NULL)
		return -1;
	if (conn->tls_up && SSL_get0_peer_certificate(conn->ssl) == NULL)
		return X509_V_ERR_UNSPECIFIED;
	return SSL_get_verify_result(conn->ssl);
}

/* conn_is_tls: true once a TLS handshake has succeeded. */
bool
conn_is_tls(const struct conn *conn)
{
	return conn->tls_up;
}

/* conn_tls_version: e.g. "TLSv1.3" (static), or NULL without TLS. */
const char *
conn_tls_version(const struct conn *conn)
{
	return conn->tls_up ? conn->tls_version : NULL;
}

/* conn_tls_cipher: e.g. "TLS_AES_256_GCM_SHA384" (static), or NULL. */
const char *
conn_tls_cipher(const struct conn *conn)
{
	return conn->tls_up ? conn->tls_cipher : NULL;
}
