/*
 * pop3_parse.h - the POP3 command line (RFC 1939 3, RFC 2449 4, RFC 5034
 * 4): a case-insensitive keyword (3-4 characters for every POP3 verb) and
 * up to two arguments separated by spaces, each at most 40 octets (RFC
 * 1939 3) unless pop3_parse_command() says otherwise. Pure functions; no
 * allocation, no I/O; input untrusted, taken as pointer and length (no
 * NUL needed).
 */
#ifndef LETTERBOX_POP3_PARSE_H
#define LETTERBOX_POP3_PARSE_H

#include <stddef.h>
#include <stdint.h>

enum pop3_verb {
	POP3_VERB_UNKNOWN = 0,
	POP3_VERB_CAPA,
	POP3_VERB_USER,
	POP3_VERB_PASS,
	POP3_VERB_AUTH,
	POP3_VERB_STLS,
	POP3_VERB_STAT,
	POP3_VERB_LIST,
	POP3_VERB_UIDL,
	POP3_VERB_RETR,
	POP3_VERB_TOP,
	POP3_VERB_DELE,
	POP3_VERB_RSET,
	POP3_VERB_NOOP,
	POP3_VERB_QUIT,
};

#define POP3_ARGS_MAX 2

struct pop3_command {
	enum pop3_verb verb;
	const char *args[POP3_ARGS_MAX];	/* into the line, not
						   NUL-terminated; "" (length
						   0) from nargs on */
	size_t arg_lens[POP3_ARGS_MAX];		/* never 0 below nargs */
	size_t nargs;
	/* PASS takes the rest of the line as one argument (RFC 1939 7:
	 * passwords may hold spaces): args[0] then. */
};

enum pop3_parse_err {
	POP3_PARSE_OK = 0,
	POP3_PARSE_SYNTAX = -1,
};

/*
 * pop3_parse_command: splits line (len bytes, no CRLF). The keyword is
 * everything before the first SP. POP3_PARSE_SYNTAX (and *cmd_r as for
 * an unknown keyword, no arguments) for: a control byte anywhere (0x00-
 * 0x1f, DEL; TAB too), an empty keyword (empty line, leading SP), more
 * than POP3_ARGS_MAX arguments, or an argument over 40 octets. Exempt
 * from the 40 octets, bounded only by the reader's line limit (RFC 2449
 * 4 asks for 255 octets with CRLF; this function takes any length):
 * USER's name (an account is an address of up to 254 octets), PASS's
 * password and AUTH's initial response (RFC 5034 4).
 *
 * Spaces: RFC 1939 3 says one SP; a run of SPs is taken as one and
 * trailing SPs are dropped ("LIST 1 " is "LIST 1", "LIST " is LIST
 * without argument), as no argument but PASS's can hold a space. PASS is
 * the exception: after the one SP that ends the keyword, the rest of the
 * line is the password verbatim, inner, leading and trailing spaces
 * included (RFC 1939 7); "PASS" and "PASS " have no argument.
 *
 * An unknown keyword (any length, any bytes but SP and controls) is
 * POP3_VERB_UNKNOWN with POP3_PARSE_OK and no arguments: its arguments
 * are not looked at. Bytes >= 0x80 pass, in arguments for the session
 * to judge (a non-ASCII password or address). The count of arguments
 * each verb takes is the session's command table's to check.
 */
int pop3_parse_command(const char *line, size_t len,
    struct pop3_command *cmd_r);

/* pop3_parse_msgno: a message number argument: a decimal number from 1
 * to max (the messages in the maildrop; 0 refuses all), digits only,
 * without sign, spaces or leading zeros. Returns 0 with *n_r, or
 * POP3_PARSE_SYNTAX (-1) with *n_r = 0. */
int pop3_parse_msgno(const char *s, size_t len, uint32_t max, uint32_t *n_r);

/* pop3_parse_count: TOP's line count (RFC 1939 7: non-negative): 1 to 9
 * decimal digits (0..999999999), without sign, spaces or leading zeros
 * ("0" itself is fine). Returns 0 with *n_r, or POP3_PARSE_SYNTAX (-1)
 * with *n_r = 0. */
int pop3_parse_count(const char *s, size_t len, uint32_t *n_r);

#endif
