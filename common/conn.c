/*
 * conn.c - one connection: the socket and its buffers. Plain or TLS
 * socket I/O with timeouts, a bounded line reader, exact reads and a
 * buffered writer, as the server (accepted sockets) or the client
 * (conn_connect(), the delivery agent's outgoing connections).
 *
 * The split with conn_tls.c: this file is the one read path and the one
 * write path (io_read(), io_write()); under TLS they call SSL_read_ex()
 * and SSL_write_ex() in place of recv() and send(), inside the same
 * retry-and-poll loops, and leave the meaning of OpenSSL's failures to
 * conn_tls_status(). Starting TLS (either side, the handshake, the
 * server name) and reporting on the session are in conn_tls.c; struct
 * conn and the helpers both use are in conn_internal.h.
 *
 * Trusts nothing the peer sends. Limits: a line is at most the caller's
 * max (<= CONN_LINE_MAX) bytes before its end; input is held in one fixed
 * buffer of CONN_LINE_MAX + 2 bytes, so a peer cannot make us allocate.
 * Every wait for the peer is a poll(2) bounded by the timeout; "no
 * progress within the timeout" ends the operation with CONN_TIMEOUT.
 *
 * The socket is switched to non-blocking mode: the calls here still block
 * for their caller, but only inside poll(), so that OpenSSL can never
 * sleep in read(2) on half a TLS record past our timeout. Plain writes use
 * send(MSG_NOSIGNAL); OpenSSL writes with write(2), so the process must
 * ignore SIGPIPE (letterboxd does).
 *
 * A conn is used by one thread at a time.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#include "conn.h"
#include "conn_internal.h"
#include "log.h"
#include "xalloc.h"

/* RFC 5321 4.5.3.2.7: a server waits at least 5 minutes for a command;
 * the same default serves POP3 and IMAP before their own settings. */
#define CONN_DEFAULT_TIMEOUT_MS	(5 * 60 * 1000)

/* conn_now_ms: see conn_internal.h. */
long long
conn_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * wait_fd2: waits until conn's socket is ready for events (POLLIN or
 * POLLOUT), for at most timeout_ms (negative: no limit), and, when
 * watch_stop, until the stop fd becomes readable, and until wake_fd (-1:
 * none) does. Returns CONN_OK (ready, or an error/hangup the next I/O
 * call will report), CONN_WOKEN (only wake_fd), CONN_TIMEOUT,
 * CONN_STOPPED or CONN_ERROR. EINTR resumes with the time left.
 */
static int
wait_fd2(struct conn *conn, short events, bool watch_stop, int wake_fd,
    int timeout_ms)
{
	struct pollfd pfd[3];
	nfds_t nfds = 1, stop_i = 0, wake_i = 0;
	long long deadline = 0;
	int wait = timeout_ms, ret;

	pfd[0].fd = conn->fd;
	pfd[0].events = events;
	if (watch_stop && conn->stop_fd >= 0 && !conn->stop_ignored) {
		pfd[nfds].fd = conn->stop_fd;
		pfd[nfds].events = POLLIN;
		stop_i = nfds++;
	}
	if (wake_fd >= 0) {
		pfd[nfds].fd = wake_fd;
		pfd[nfds].events = POLLIN;
		wake_i = nfds++;
	}
	if (timeout_ms > 0)
		deadline = conn_now_ms() + timeout_ms;
	for (;;) {
		for (nfds_t i = 0; i < nfds; i++)
			pfd[i].revents = 0;
		ret = poll(pfd, nfds, wait);
		if (ret > 0)
			break;
		if (ret == 0)
			return CONN_TIMEOUT;
		if (errno != EINTR) {
			log_debug("conn %s: poll: %s", conn->peer_ip,
			    strerror(errno));
			return CONN_ERROR;
		}
		if (timeout_ms > 0) {
			long long left = deadline - conn_now_ms();

			if (left <= 0)
				return CONN_TIMEOUT;
			wait = (int)left;
		}
	}
	/* Shutdown wins over input that arrives at the same moment. */
	if (stop_i != 0 && pfd[stop_i].revents != 0)
		return CONN_STOPPED;
	if (pfd[0].revents & POLLNVAL) {
		log_debug("conn %s: poll: invalid descriptor", conn->peer_ip);
		return CONN_ERROR;
	}
	if (pfd[0].revents == 0 && wake_i != 0 && pfd[wake_i].revents != 0)
		return CONN_WOKEN;
	return CONN_OK;
}

/* conn_wait_fd: see conn_internal.h (wait_fd2() without a wake fd). */
int
conn_wait_fd(struct conn *conn, short events, bool watch_stop,
    int timeout_ms)
{
	return wait_fd2(conn, events, watch_stop, -1, timeout_ms);
}

/*
 * io_read: reads between 1 and len bytes into buf, waiting for them as
 * the timeout allows. Returns CONN_OK with the count in *got_r, or
 * CONN_CLOSED, CONN_TIMEOUT, CONN_STOPPED or CONN_ERROR. Data already
 * received (in the kernel or in OpenSSL) is taken before any wait.
 */
static int
io_read(struct conn *conn, void *buf, size_t len, size_t *got_r)
{
	ssize_t n;
	int ret, saved;

	if (conn->broken != 0)
		return conn->broken;
	if (conn->ssl != NULL) {
		for (;;) {
			ERR_clear_error();
			errno = 0;
			if (SSL_read_ex(conn->ssl, buf, len, got_r) == 1)
				return CONN_OK;
			saved = errno;
			ret = conn_tls_status(conn, 0, saved, "read", true);
			if (ret != CONN_OK)
				return ret;
		}
	}
	for (;;) {
		n = recv(conn->fd, buf, len, 0);
		if (n > 0) {
			*got_r = (size_t)n;
			return CONN_OK;
		}
		if (n == 0)
			return CONN_CLOSED;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			ret = conn_wait_fd(conn, POLLIN, true,
			    conn->timeout_ms);
			if (ret != CONN_OK)
				return ret;
			continue;
		}
		if (errno == ECONNRESET)
			return CONN_CLOSED;
		log_debug("conn %s: recv: %s", conn->peer_ip, strerror(errno));
		return CONN_ERROR;
	}
}

/*
 * io_write: writes all len bytes of data, waiting as the timeout allows
 * for each bit of progress. Returns CONN_OK, CONN_CLOSED (the peer went
 * away), CONN_TIMEOUT or CONN_ERROR; on failure the connection is marked
 * broken (part of the data may have gone out).
 */
static int
io_write(struct conn *conn, const void *data, size_t len)
{
	const char *p = data;
	size_t done;
	ssize_t n;
	int ret = CONN_OK;

	if (conn->broken != 0)
		return conn->broken;
	while (len > 0 && ret == CONN_OK) {
		if (conn->ssl != NULL) {
			ERR_clear_error();
			errno = 0;
			if (SSL_write_ex(conn->ssl, p, len, &done) == 1) {
				p += done;
				len -= done;
				continue;
			}
			ret = conn_tls_status(conn, 0, errno, "write", false);
			continue;
		}
		n = send(conn->fd, p, len, MSG_NOSIGNAL);
		if (n >= 0) {
			p += n;
			len -= (size_t)n;
		} else if (errno == EINTR) {
			continue;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			ret = conn_wait_fd(conn, POLLOUT, false,
			    conn->timeout_ms);
		} else if (errno == EPIPE || errno == ECONNRESET) {
			ret = CONN_CLOSED;
		} else {
			log_debug("conn %s: send: %s", conn->peer_ip,
			    strerror(errno));
			ret = CONN_ERROR;
		}
	}
	if (ret != CONN_OK)
		conn->broken = ret;
	return ret;
}

/* set_peer: fills peer_ip and peer_loopback from the accept() address. */
static void
set_peer(struct conn *conn, const struct sockaddr *peer, socklen_t peer_len)
{
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;
	struct in_addr v4;

	snprintf(conn->peer_ip, sizeof(conn->peer_ip), "unknown");
	conn->peer_loopback = false;
	if (peer == NULL)
		return;
	if (peer->sa_family == AF_INET &&
	    peer_len >= (socklen_t)sizeof(*sin)) {
		sin = (const struct sockaddr_in *)peer;
		v4 = sin->sin_addr;
	} else if (peer->sa_family == AF_INET6 &&
	    peer_len >= (socklen_t)sizeof(*sin6)) {
		sin6 = (const struct sockaddr_in6 *)peer;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			/* ::ffff:a.b.c.d is an IPv4 client on a dual-stack
			 * listener: show and judge it as a.b.c.d. */
			memcpy(&v4, &sin6->sin6_addr.s6_addr[12], sizeof(v4));
		} else {
			if (inet_ntop(AF_INET6, &sin6->sin6_addr,
			    conn->peer_ip, sizeof(conn->peer_ip)) == NULL)
				snprintf(conn->peer_ip, sizeof(conn->peer_ip),
				    "unknown");
			conn->peer_loopback =
			    IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr);
			return;
		}
	} else {
		return;		/* AF_UNIX, or a family we do not know */
	}
	if (inet_ntop(AF_INET, &v4, conn->peer_ip,
	    sizeof(conn->peer_ip)) == NULL)
		snprintf(conn->peer_ip, sizeof(conn->peer_ip), "unknown");
	/* RFC 1122 3.2.1.3: all of 127.0.0.0/8 is loopback. */
	conn->peer_loopback = (ntohl(v4.s_addr) >> 24) == 127;
}

/*
 * conn_new: takes ownership of fd (made non-blocking here; see the file
 * comment). peer/peer_len: the client's address, may be NULL. stop_fd is
 * borrowed and must outlive the conn. Returns the conn (conn_free()).
 */
struct conn *
conn_new(int fd, const struct sockaddr *peer, socklen_t peer_len,
    int stop_fd)
{
	struct conn *conn = xmalloc(sizeof(*conn));
	int flags, one = 1;

	conn->fd = fd;
	conn->stop_fd = stop_fd;
	conn->stop_ignored = false;
	conn->timeout_ms = CONN_DEFAULT_TIMEOUT_MS;
	conn->broken = 0;
	conn->ssl = NULL;
	conn->tls_up = false;
	conn->tls_fatal = false;
	conn->tls_version = NULL;
	conn->tls_cipher = NULL;
	conn->in_off = conn->in_len = conn->in_scan = 0;
	conn->out_len = 0;
	conn->in_buf[0] = '\0';
	set_peer(conn, peer, peer_len);

	/* Output is buffered here and sent whole (conn_flush): Nagle would
	 * only hold a response's last segment for the client's delayed ACK
	 * (about 40 ms). Not a TCP socket (tests): nothing to do. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if ((flags = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1) {
		/* Only a bad descriptor fails here: the conn reports
		 * CONN_ERROR on first use and the caller closes it. */
		log_debug("conn %s: fcntl O_NONBLOCK: %s", conn->peer_ip,
		    strerror(errno));
		conn->broken = CONN_ERROR;
	}
	return conn;
}

/*
 * format_endpoint: "192.0.2.1:25" or "[2001:db8::1]:25" for addr into
 * buf (size bytes), "unknown" for anything else. For messages only.
 */
static void
format_endpoint(const struct sockaddr *addr, socklen_t len, char *buf,
    size_t size)
{
	char ip[CONN_IP_SIZE];
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;

	if (addr->sa_family == AF_INET &&
	    len >= (socklen_t)sizeof(*sin)) {
		sin = (const struct sockaddr_in *)addr;
		if (inet_ntop(AF_INET, &sin->sin_addr, ip,
		    sizeof(ip)) != NULL) {
			snprintf(buf, size, "%s:%u", ip, ntohs(sin->sin_port));
			return;
		}
	} else if (addr->sa_family == AF_INET6 &&
	    len >= (socklen_t)sizeof(*sin6)) {
		sin6 = (const struct sockaddr_in6 *)addr;
		if (inet_ntop(AF_INET6, &sin6->sin6_addr, ip,
		    sizeof(ip)) != NULL) {
			snprintf(buf, size, "[%s]:%u", ip,
			    ntohs(sin6->sin6_port));
			return;
		}
	}
	snprintf(buf, size, "unknown");
}

/*
 * conn_connect: see conn.h. The socket is non-blocking from the start,
 * so connect(2) returns at once (EINPROGRESS) and the wait is our poll:
 * bounded by timeout_ms and ended early by the stop fd. The result of
 * the attempt is SO_ERROR once the socket is writable. EINTR from
 * connect(2) does not stop the attempt (it goes on in the kernel), so
 * it is waited for like EINPROGRESS.
 */
int
conn_connect(const struct sockaddr *addr, socklen_t len, int timeout_ms,
    int stop_fd, struct conn **conn_r, char *why, size_t whylen)
{
	char where[CONN_IP_SIZE + 16];
	struct conn *conn;
	socklen_t errlen;
	int fd, ret, err;

	*conn_r = NULL;
	format_endpoint(addr, len, where, sizeof(where));
	if (!((addr->sa_family == AF_INET &&
	    len >= (socklen_t)sizeof(struct sockaddr_in)) ||
	    (addr->sa_family == AF_INET6 &&
	    len >= (socklen_t)sizeof(struct sockaddr_in6)))) {
		snprintf(why, whylen, "connect to %s: not an IP address",
		    where);
		return CONN_ERROR;
	}
	fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1) {
		snprintf(why, whylen, "connect to %s: socket: %s", where,
		    strerror(errno));
		return CONN_ERROR;
	}
	/* conn_new() owns fd from here; it sets TCP_NODELAY before the
	 * connection exists, which Linux keeps. */
	conn = conn_new(fd, addr, len, stop_fd);
	if (conn->broken != 0) {
		snprintf(why, whylen, "connect to %s: socket setup failed",
		    where);
		conn_free(&conn);
		return CONN_ERROR;
	}
	err = 0;
	if (connect(fd, addr, len) != 0) {
		if (errno != EINPROGRESS && errno != EINTR) {
			err = errno;
		} else {
			ret = conn_wait_fd(conn, POLLOUT, true, timeout_ms);
			if (ret != CONN_OK) {
				snprintf(why, whylen, "connect to %s: %s",
				    where, ret == CONN_TIMEOUT ? "timed out" :
				    ret == CONN_STOPPED ? "stopped" :
				    "poll failed");
				conn_free(&conn);
				return ret == CONN_TIMEOUT ||
				    ret == CONN_STOPPED ? ret : CONN_ERROR;
			}
			errlen = sizeof(err);
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err,
			    &errlen) != 0)
				err = errno;
		}
	}
	if (err != 0) {
		snprintf(why, whylen, "connect to %s: %s", where,
		    strerror(err));
		conn_free(&conn);
		return err == ETIMEDOUT ? CONN_TIMEOUT : CONN_ERROR;
	}
	*conn_r = conn;
	return CONN_OK;
}

/*
 * conn_free: sends a TLS close_notify if it can without waiting (the
 * socket is non-blocking; no answer is awaited), frees the TLS session,
 * closes the socket and frees *connp, setting it to NULL. Output still
 * queued is dropped: callers conn_flush() their last reply.
 */
void
conn_free(struct conn **connp)
{
	struct conn *conn = *connp;

	if (conn == NULL)
		return;
	if (conn->ssl != NULL) {
		/* SSL_shutdown() must not follow a fatal error (OpenSSL's
		 * manual); a half-done handshake has nothing to close. */
		if (conn->tls_up && !conn->tls_fatal) {
			ERR_clear_error();
			(void)SSL_shutdown(conn->ssl);
		}
		ERR_clear_error();
		SSL_free(conn->ssl);
	}
	if (close(conn->fd) != 0 && errno != EINTR)
		log_debug("conn %s: close: %s", conn->peer_ip,
		    strerror(errno));
	free(conn);
	*connp = NULL;
}

/* conn_set_timeout: timeout_ms for each later wait (negative: none). */
void
conn_set_timeout(struct conn *conn, int timeout_ms)
{
	conn->timeout_ms = timeout_ms;
}

/*
 * fill: reads more input after the bytes buffered, first moving them to
 * the start of the buffer. The caller guarantees room (fewer than
 * CONN_IN_SIZE bytes buffered). Returns CONN_OK or io_read()'s status.
 */
static int
fill(struct conn *conn)
{
	size_t avail = conn->in_len - conn->in_off, got = 0;
	int ret;

	if (conn->in_off > 0) {
		memmove(conn->in_buf, conn->in_buf + conn->in_off, avail);
		conn->in_off = 0;
		conn->in_len = avail;
	}
	if (conn->in_len >= CONN_IN_SIZE)
		fatal("conn: fill with a full input buffer");
	ret = io_read(conn, conn->in_buf + conn->in_len,
	    CONN_IN_SIZE - conn->in_len, &got);
	if (ret == CONN_OK)
		conn->in_len += got;
	return ret;
}

/*
 * conn_read_line: see conn.h. The line lies at most max + 2 bytes into
 * the input ("max bytes then CRLF"); when that much is buffered without an
 * LF the answer is CONN_TOO_LONG, without waiting for more. A timeout,
 * stop or error keeps what was buffered: a later call resumes the line.
 */
int
conn_read_line(struct conn *conn, size_t max, const char **line_r,
    size_t *len_r, bool *crlf_r)
{
	size_t limit, avail, span, n, len;
	char *start, *lf;
	bool crlf;
	int ret;

	if (max > CONN_LINE_MAX)
		fatal("conn_read_line: max %zu > CONN_LINE_MAX", max);
	limit = max + 2;
	for (;;) {
		avail = conn->in_len - conn->in_off;
		span = avail < limit ? avail : limit;
		start = conn->in_buf + conn->in_off;
		lf = NULL;
		if (conn->in_scan < span)
			lf = memchr(start + conn->in_scan, '\n',
			    span - conn->in_scan);
		if (lf != NULL)
			break;
		conn->in_scan = span;
		if (avail >= limit)
			return CONN_TOO_LONG;
		if ((ret = fill(conn)) != CONN_OK)
			return ret;
	}

	n = (size_t)(lf - start);	/* bytes before the LF */
	crlf = n > 0 && start[n - 1] == '\r';
	len = crlf ? n - 1 : n;
	if (len > max)
		return CONN_TOO_LONG;	/* max + 1 bytes and a bare LF */
	start[len] = '\0';		/* over the CR or the LF */
	conn->in_off += n + 1;
	conn->in_scan = 0;
	/* The line stays where it is until the next call's fill(). */
	if (conn->in_off == conn->in_len)
		conn->in_off = conn->in_len = 0;
	*line_r = start;
	*len_r = len;
	*crlf_r = crlf;
	return CONN_OK;
}

/*
 * conn_read_exact: fills buf with exactly len bytes: first what is
 * buffered, then straight from the socket (or TLS) into buf, so len is
 * not bounded by the input buffer. Returns CONN_OK or a failure status,
 * after which buf holds an unspecified prefix and the connection should
 * be closed.
 */
int
conn_read_exact(struct conn *conn, void *buf, size_t len)
{
	size_t avail = conn->in_len - conn->in_off, take, got;
	char *p = buf;
	int ret;

	take = avail < len ? avail : len;
	if (take > 0) {
		memcpy(p, conn->in_buf + conn->in_off, take);
		conn->in_off += take;
		conn->in_scan = 0;
		if (conn->in_off == conn->in_len)
			conn->in_off = conn->in_len = 0;
		p += take;
		len -= take;
	}
	while (len > 0) {
		if ((ret = io_read(conn, p, len, &got)) != CONN_OK)
			return ret;
		p += got;
		len -= got;
	}
	return CONN_OK;
}

/*
 * conn_pending: true when input is waiting: in our buffer, in OpenSSL's,
 * or already received by the kernel (a zero-timeout poll; for TLS that
 * may be a record that holds no data). Never blocks or consumes.
 */
bool
conn_pending(const struct conn *conn)
{
	struct pollfd pfd;
	int ret;

	if (conn->in_len > conn->in_off)
		return true;
	if (conn->ssl != NULL && SSL_has_pending(conn->ssl))
		return true;
	if (conn->broken != 0)
		return false;
	pfd.fd = conn->fd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	do {
		ret = poll(&pfd, 1, 0);
	} while (ret < 0 && errno == EINTR);
	return ret > 0 && (pfd.revents & POLLIN) != 0;
}

/*
 * conn_wait_input: CONN_OK at once when input is buffered; otherwise
 * waits up to timeout_ms (negative: no limit) for the socket to become
 * readable (which includes EOF: the next read says CONN_CLOSED), without
 * consuming anything. CONN_TIMEOUT, CONN_STOPPED or CONN_ERROR otherwise.
 */
int
conn_wait_input(struct conn *conn, int timeout_ms)
{
	return conn_wait_input_or(conn, -1, timeout_ms);
}

int
conn_wait_input_or(struct conn *conn, int wake_fd, int timeout_ms)
{
	if (conn->in_len > conn->in_off)
		return CONN_OK;
	if (conn->ssl != NULL && SSL_has_pending(conn->ssl))
		return CONN_OK;
	if (conn->broken != 0)
		return conn->broken;
	return wait_fd2(conn, POLLIN, true, wake_fd, timeout_ms);
}

/* flush_out: sends the output buffer; CONN_OK or io_write()'s status. */
static int
flush_out(struct conn *conn)
{
	int ret;

	if (conn->out_len == 0)
		return conn->broken;
	ret = io_write(conn, conn->out_buf, conn->out_len);
	conn->out_len = 0;
	return ret;
}

/*
 * conn_write: queues len bytes of data (copied). Data that does not fit
 * flushes the queue first; a write at least as large as the buffer goes
 * straight out. Returns CONN_OK, or a write failure (sticky: later writes
 * return it too).
 */
int
conn_write(struct conn *conn, const void *data, size_t len)
{
	int ret;

	if (conn->broken != 0)
		return conn->broken;
	if (len == 0)
		return CONN_OK;
	if (len <= CONN_OUT_SIZE - conn->out_len) {
		memcpy(conn->out_buf + conn->out_len, data, len);
		conn->out_len += len;
		return CONN_OK;
	}
	if ((ret = flush_out(conn)) != CONN_OK)
		return ret;
	if (len >= CONN_OUT_SIZE)
		return io_write(conn, data, len);
	memcpy(conn->out_buf, data, len);
	conn->out_len = len;
	return CONN_OK;
}

/*
 * conn_printf: queues printf-formatted text: formatted in place when it
 * fits the buffer's free space, else after a flush, else (longer than the
 * whole buffer) through a temporary. Returns as conn_write().
 */
int
conn_printf(struct conn *conn, const char *fmt, ...)
{
	va_list ap;
	size_t room;
	char *tmp;
	int n, ret;

	if (conn->broken != 0)
		return conn->broken;
	room = CONN_OUT_SIZE - conn->out_len;
	va_start(ap, fmt);
	n = vsnprintf(conn->out_buf + conn->out_len, room, fmt, ap);
	va_end(ap);
	if (n < 0) {
		log_debug("conn %s: vsnprintf failed", conn->peer_ip);
		return CONN_ERROR;
	}
	/* @UNSAFE: n excludes the NUL vsnprintf needs room for. */
	if ((size_t)n < room) {
		conn->out_len += (size_t)n;
		return CONN_OK;
	}
	if ((ret = flush_out(conn)) != CONN_OK)
		return ret;
	if ((size_t)n < CONN_OUT_SIZE) {
		va_start(ap, fmt);
		vsnprintf(conn->out_buf, CONN_OUT_SIZE, fmt, ap);
		va_end(ap);
		conn->out_len = (size_t)n;
		return CONN_OK;
	}
	tmp = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(tmp, (size_t)n + 1, fmt, ap);
	va_end(ap);
	ret = io_write(conn, tmp, (size_t)n);
	free(tmp);
	return ret;
}

/* conn_flush: sends everything queued. CONN_OK or the failure. */
int
conn_flush(struct conn *conn)
{
	return flush_out(conn);
}

/* conn_peer_ip: the client's address ("unknown" for AF_UNIX or none);
 * lives as long as conn. */
const char *
conn_peer_ip(const struct conn *conn)
{
	return conn->peer_ip;
}

/* conn_peer_loopback: 127.0.0.0/8, ::1 or ::ffff:127.0.0.0/104. */
bool
conn_peer_loopback(const struct conn *conn)
{
	return conn->peer_loopback;
}

void
conn_ignore_stop(struct conn *conn, bool ignore)
{
	conn->stop_ignored = ignore;
}

int
conn_vreply(struct conn *conn, const char *fmt, va_list ap)
{
	char line[1024];
	int ret;

	vsnprintf(line, sizeof(line), fmt, ap);
	if ((ret = conn_printf(conn, "%s\r\n", line)) != CONN_OK)
		return ret;
	return conn_pending(conn) ? CONN_OK : conn_flush(conn);
}
