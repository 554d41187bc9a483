/*
 * password.c - reading a new password for letterbox(1): one line from
 * stdin (--password-stdin) or twice from /dev/tty with echo off, and
 * hashing it.
 *
 * Passwords are read with read(2), not stdio, so that no copy stays in a
 * stdio buffer; callers wipe theirs with sodium_memzero(). Limits:
 * LIMIT_PASSWORD. The terminal is restored if a signal ends the prompt.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

#include "cli/cli.h"
#include "common/auth.h"
#include "common/xalloc.h"

/* ---- Passwords -------------------------------------------------------- */

enum line_result {
	LINE_OK = 0,
	LINE_EOF = -1,		/* end of input before any byte */
	LINE_LONG = -2,		/* the line does not fit */
	LINE_ERROR = -3,	/* read error, errno set */
	LINE_SIGNAL = -4,	/* a caught signal ended the prompt */
};

/* The signal that interrupted a password prompt, 0 if none. */
static volatile sig_atomic_t tty_signo;

static void
tty_catch(int signo)
{
	tty_signo = signo;
}

/*
 * line_read: reads one line from fd a byte at a time, so that nothing
 * after the line is consumed and no copy stays in a stdio buffer. Stores
 * it without the '\n' and NUL-terminated in buf (size bytes), *len_r its
 * length. A last line without '\n' counts.
 */
static enum line_result
line_read(int fd, char *buf, size_t size, size_t *len_r)
{
	size_t len = 0;
	bool any = false;
	char c;

	for (;;) {
		ssize_t n = read(fd, &c, 1);

		if (n < 0) {
			if (errno != EINTR)
				return LINE_ERROR;
			if (tty_signo != 0)
				return LINE_SIGNAL;
			continue;
		}
		if (n == 0) {
			if (!any)
				return LINE_EOF;
			break;
		}
		any = true;
		if (c == '\n')
			break;
		if (len + 1 >= size)
			return LINE_LONG;
		buf[len++] = c;
	}
	buf[len] = '\0';
	*len_r = len;
	return LINE_OK;
}

/* password_check: strips a '\r' the line ended with and applies the rules
 * of cli_password_read(). */
static int
password_check(struct cli_ctx *ctx, enum line_result res, char *buf,
    size_t len, const char *from)
{
	switch (res) {
	case LINE_OK:
		break;
	case LINE_EOF:
		return cli_fail(ctx, "no password on %s", from);
	case LINE_LONG:
		return cli_fail(ctx, "password longer than %d bytes",
		    LIMIT_PASSWORD);
	case LINE_ERROR:
		return cli_fail(ctx, "reading the password from %s: %s", from,
		    strerror(errno));
	case LINE_SIGNAL:
		return cli_fail(ctx, "interrupted");
	}
	if (len > 0 && buf[len - 1] == '\r')
		buf[--len] = '\0';
	if (len == 0)
		return cli_fail(ctx, "empty password refused");
	if (len > LIMIT_PASSWORD)
		return cli_fail(ctx, "password longer than %d bytes",
		    LIMIT_PASSWORD);
	if (strlen(buf) != len)
		return cli_fail(ctx, "password contains a NUL byte");
	return 0;
}

/* tty_write: all of s to fd; a prompt that cannot be shown is not fatal
 * (the read that follows fails or succeeds on its own). */
static void
tty_write(int fd, const char *s)
{
	size_t len = strlen(s);

	while (len > 0) {
		ssize_t n = write(fd, s, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		s += n;
		len -= (size_t)n;
	}
}

/* The signals that would otherwise leave the terminal without echo. */
static const int tty_signals[] = { SIGINT, SIGHUP, SIGQUIT, SIGTERM };
#define TTY_NSIGNALS (sizeof(tty_signals) / sizeof(tty_signals[0]))

/*
 * tty_prompt_twice: prompts on the terminal fd with echo off, reads the
 * password into buf and again into again. Restores the terminal and the
 * signal dispositions before returning; a caught signal is re-raised.
 */
static int
tty_prompt_twice(struct cli_ctx *ctx, int fd, const char *prompt, char *buf,
    char *again)
{
	struct sigaction sa, old[TTY_NSIGNALS];
	struct termios saved, quiet;
	enum line_result res, res2 = LINE_OK;
	size_t len = 0, len2 = 0;
	int signo, ret;

	if (tcgetattr(fd, &saved) != 0)
		return cli_fail(ctx, "/dev/tty: %s (use --password-stdin)",
		    strerror(errno));
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = tty_catch;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;	/* no SA_RESTART: the read must return */
	tty_signo = 0;
	for (size_t k = 0; k < TTY_NSIGNALS; k++)
		sigaction(tty_signals[k], &sa, &old[k]);
	quiet = saved;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	quiet.c_lflag |= ICANON;
	if (tcsetattr(fd, TCSAFLUSH, &quiet) != 0) {
		res = LINE_ERROR;
	} else {
		tty_write(fd, prompt);
		res = line_read(fd, buf, CLI_PASSWORD_BUF, &len);
		tty_write(fd, "\n");
		if (res == LINE_OK) {
			tty_write(fd, "Retype password: ");
			res2 = line_read(fd, again, CLI_PASSWORD_BUF, &len2);
			tty_write(fd, "\n");
		}
		tcsetattr(fd, TCSAFLUSH, &saved);
	}
	for (size_t k = 0; k < TTY_NSIGNALS; k++)
		sigaction(tty_signals[k], &old[k], NULL);
	if ((signo = tty_signo) != 0) {
		sodium_memzero(buf, CLI_PASSWORD_BUF);
		sodium_memzero(again, CLI_PASSWORD_BUF);
		raise(signo);
		return cli_fail(ctx, "interrupted");
	}

	if ((ret = password_check(ctx, res, buf, len, "the terminal")) < 0)
		return ret;
	if (res2 == LINE_EOF)
		return cli_fail(ctx, "password not confirmed");
	if ((ret = password_check(ctx, res2, again, len2, "the terminal")) < 0)
		return ret;
	if (strcmp(buf, again) != 0)
		return cli_fail(ctx, "the passwords do not match");
	return 0;
}

int
cli_password_read(struct cli_ctx *ctx, bool from_stdin, const char *address,
    char *buf)
{
	char again[CLI_PASSWORD_BUF];
	char *prompt;
	size_t len = 0;
	int fd, ret;

	if (from_stdin) {
		enum line_result res;

		res = line_read(STDIN_FILENO, buf, CLI_PASSWORD_BUF, &len);
		return password_check(ctx, res, buf, len, "stdin");
	}
	fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return cli_fail(ctx, "no terminal to ask for the password "
		    "(use --password-stdin)");
	prompt = xasprintf("Password for %s: ", address);
	ret = tty_prompt_twice(ctx, fd, prompt, buf, again);
	free(prompt);
	close(fd);
	sodium_memzero(again, sizeof(again));
	if (ret < 0)
		sodium_memzero(buf, CLI_PASSWORD_BUF);
	return ret;
}

int
cli_password_hash(struct cli_ctx *ctx, const char *password, char *hash_r)
{
	struct auth_params params = {
		.opslimit = ctx->cfg->hash_opslimit,
		.memlimit = ctx->cfg->hash_memlimit,
	};
	struct auth_ctx *actx = auth_ctx_new(&params, 1);
	int ret;

	ret = auth_hash(actx, password, hash_r);
	auth_ctx_free(&actx);
	if (ret < 0)
		return cli_fail(ctx, "cannot hash the password (out of memory? "
		    "see [auth] hash_memlimit)");
	return 0;
}
