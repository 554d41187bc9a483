/*
 * conn_internal.h - what conn.c (the socket, its buffers, the read and
 * write paths, connect) and conn_tls.c (starting TLS, the handshake,
 * OpenSSL's errors) share: struct conn and a few helpers. Private to
 * those two files; everyone else uses conn.h.
 */
#ifndef LETTERBOX_CONN_INTERNAL_H
#define LETTERBOX_CONN_INTERNAL_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

#include "conn.h"

/* Input: one line of CONN_LINE_MAX bytes and its CRLF (the line end is
 * overwritten with the terminating NUL; one spare byte anyway). */
#define CONN_IN_SIZE		(CONN_LINE_MAX + 2)
/* Output queued before a write: a screenful of IMAP FETCH responses or a
 * TLS record's worth (16 KiB) of message text per system call. */
#define CONN_OUT_SIZE		(16 * 1024)
/* Room for "unknown" or any address inet_ntop() writes. */
#define CONN_IP_SIZE		INET6_ADDRSTRLEN

/* One connection; made by conn_new() or conn_connect(), owns everything
 * it points to, freed by conn_free(). */
struct conn {
	int fd;			/* owned: closed by conn_free() */
	int stop_fd;		/* not owned; -1: none */
	bool stop_ignored;	/* conn_ignore_stop(): finish the work at
				   hand */
	int timeout_ms;		/* per wait; negative: no limit */
	/* Sticky failure: once the stream is in an unknown state (a failed
	 * handshake, a write that did not finish) every later read and
	 * write returns this instead of touching the socket. */
	int broken;

	SSL *ssl;		/* owned; NULL before conn_start_tls() */
	bool tls_up;		/* handshake finished */
	bool tls_fatal;		/* fatal TLS error: no SSL_shutdown() */
	const char *tls_version; /* OpenSSL's static strings */
	const char *tls_cipher;

	char peer_ip[CONN_IP_SIZE];
	bool peer_loopback;

	/* Input not yet returned: in_buf[in_off .. in_len). The first
	 * in_scan bytes of it are known to hold no LF. */
	size_t in_off;
	size_t in_len;
	size_t in_scan;
	/* Output queued: out_buf[0 .. out_len). */
	size_t out_len;
	char in_buf[CONN_IN_SIZE + 1];
	char out_buf[CONN_OUT_SIZE];
};

/* conn_now_ms: a monotonic clock in milliseconds. */
long long conn_now_ms(void);

/*
 * conn_wait_fd: waits until conn's socket is ready for events (POLLIN or
 * POLLOUT), for at most timeout_ms (negative: no limit), and, when
 * watch_stop, until the stop fd becomes readable. Returns CONN_OK
 * (ready, or an error/hangup the next I/O call will report),
 * CONN_TIMEOUT, CONN_STOPPED or CONN_ERROR. (conn.c)
 */
int conn_wait_fd(struct conn *conn, short events, bool watch_stop,
    int timeout_ms);

/*
 * conn_tls_status: maps a failed SSL_* call's result on conn (ret, with
 * errno as the call left it in saved_errno; what: "read", "write",
 * "handshake" for the debug log) to a status, or to CONN_OK after
 * waiting for the direction OpenSSL asked for (the caller retries).
 * Marks the connection when OpenSSL says the session is dead.
 * (conn_tls.c)
 */
int conn_tls_status(struct conn *conn, int ret, int saved_errno,
    const char *what, bool watch_stop);

#endif
