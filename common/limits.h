/*
 * limits.h - every hard limit of Letterbox in one place.
 *
 * Each limit names its RFC section or the reason for its value. The config
 * may override a few (noted); these are the defaults.
 */
#ifndef LETTERBOX_LIMITS_H
#define LETTERBOX_LIMITS_H

/* RFC 5321 4.5.3.1.1: local part at most 64 octets. */
#define LIMIT_ADDR_LOCAL	64
/* RFC 5321 4.5.3.1.2: domain at most 255 octets. */
#define LIMIT_ADDR_DOMAIN	255
/* RFC 5321 4.5.3.1.3 path of 256 octets, minus the angle brackets. */
#define LIMIT_ADDR_TOTAL	254

/* Config: a line longer than this is an error, not a truncation. */
#define LIMIT_CONFIG_LINE	4096
/* Config: a file this large is not a config file. */
#define LIMIT_CONFIG_SIZE	(1024 * 1024)
/* Config: at most this many addresses on one listen = line. */
#define LIMIT_CONFIG_LISTEN	16

/* Store: a mailbox name (UTF-8 octets); Dovecot and Cyrus use similar. */
#define LIMIT_MAILBOX_NAME	255
/* Store: hierarchy depth of mailbox names, so rename/list stay cheap. */
#define LIMIT_MAILBOX_DEPTH	16
/* Store: mailboxes per user, so a client cannot grow the list unbounded. */
#define LIMIT_MAILBOXES		10000
/* Store: keywords per message and length of one (IMAP atom). */
#define LIMIT_KEYWORDS		64
#define LIMIT_KEYWORD_LEN	100
/* Store: largest message body accepted (config may lower it). */
#define LIMIT_MESSAGE_SIZE	(64L * 1024 * 1024)
/* Store: bodies are stored in chunks of this size so a reader can stream
 * without holding a transaction or the whole message in memory. */
#define LIMIT_BODY_CHUNK	(128 * 1024)
/* Store: recipients of one delivery; RFC 5321 4.5.3.1.8 asks for >= 100. */
#define LIMIT_RECIPIENTS	100
/* Store: milliseconds a writer waits on a locked database. */
#define LIMIT_BUSY_TIMEOUT_MS	10000
/* Store: text indexed per body column; bounds a delivery's memory and time. */
#define LIMIT_SEARCH_TEXT	(4 * 1024 * 1024)

/* Auth: longest password accepted (argon2 cost is per byte). */
#define LIMIT_PASSWORD		1024
/* SASL: longest base64 response line (PLAIN of two addresses and a
 * LIMIT_PASSWORD password, base64 grows by 4/3). */
#define LIMIT_SASL_LINE		2048

/* SMTP: a command line, RFC 5321 4.5.3.1.4 (512 with CRLF); the SIZE,
 * BODY, SMTPUTF8 and AUTH parameters fit with room. An AUTH response line
 * may be LIMIT_SASL_LINE. */
#define LIMIT_SMTP_LINE		512
/* SMTP: a line of message text, RFC 5321 4.5.3.1.6 says 1000 with CRLF;
 * real mail exceeds it, so we accept up to this and refuse beyond
 * (552 5.3.4 and close). */
#define LIMIT_SMTP_DATA_LINE	(64 * 1024)
/* SMTP: bad commands before "421 4.7.0 Too many errors" and close. */
#define LIMIT_SMTP_BAD_COMMANDS	10
/* SMTP: RFC 5321 4.5.3.2.7 server timeout waiting for a command: 5 min. */
#define LIMIT_SMTP_TIMEOUT_MS	(5 * 60 * 1000)
/* SMTP: RFC 5321 4.5.3.2.6 DATA block (each read): 3 min would do; the
 * RFC asks servers for at least 5 min on command reads, we use it too. */
#define LIMIT_SMTP_DATA_TIMEOUT_MS (5 * 60 * 1000)
/* SMTP: on port 25, wait this long for a client that talks before the
 * greeting (bots that do, do it at once; postscreen's idea, shorter). */
#define LIMIT_SMTP_PREGREET_MS	300

/* POP3: a command line, RFC 2449 4: 255 octets with CRLF. AUTH responses
 * may be LIMIT_SASL_LINE. */
#define LIMIT_POP3_LINE		253
/* POP3: RFC 1939 3: the autologout timer is at least 10 minutes. */
#define LIMIT_POP3_TIMEOUT_MS	(10 * 60 * 1000)
/* POP3: bad commands before "-ERR Too many bad commands" and close. */
#define LIMIT_POP3_BAD_COMMANDS	10

/* IMAP: command line octets, literals excluded (CONVENTIONS.md: 64 KiB
 * after login); continuation lines of one command count together. */
#define LIMIT_IMAP_LINE		(64 * 1024)
/* IMAP: before login a line may carry AUTHENTICATE's initial response
 * (LIMIT_SASL_LINE) and a tag, nothing larger. */
#define LIMIT_IMAP_PREAUTH_LINE	(LIMIT_SASL_LINE + 128)
/* IMAP: literal octets of one command (APPEND's message aside), and
 * before login (a user name or password). */
#define LIMIT_IMAP_LITERAL	(64 * 1024)
#define LIMIT_IMAP_PREAUTH_LITERAL (LIMIT_PASSWORD + 64)
/* IMAP: RFC 3501 5.4: the autologout timer is at least 30 minutes once
 * authenticated; before login a client has one minute per command. */
#define LIMIT_IMAP_TIMEOUT_MS	(30 * 60 * 1000)
#define LIMIT_IMAP_PREAUTH_TIMEOUT_MS (60 * 1000)
/* IMAP: bad commands before "* BYE" (CONVENTIONS.md: fewer before login). */
#define LIMIT_IMAP_BAD_COMMANDS	10
#define LIMIT_IMAP_PREAUTH_BAD_COMMANDS 3
/* IMAP: parenthesized list nesting (SEARCH, BODYSTRUCTURE-like input). */
#define LIMIT_IMAP_LIST_DEPTH	16
/* IMAP: BODY[...] items in one FETCH. */
#define LIMIT_IMAP_FETCH_BODIES	32

/* MIME: multipart and message/rfc822 nesting; real mail stays under 10,
 * and BODYSTRUCTURE is written recursively (Dovecot allows 100). */
#define LIMIT_MIME_DEPTH	20
/* MIME: parts per message, bounding BODYSTRUCTURE and the stored tree. */
#define LIMIT_MIME_PARTS	1000
/* MIME: header fields interpreted per part (RFC 5322 sets no limit). */
#define LIMIT_MIME_HEADER_FIELDS 1000
/* MIME: header bytes interpreted per part; the rest is skipped. */
#define LIMIT_MIME_HEADER_SIZE	(256 * 1024)
/* MIME: parameters per Content-Type/-Disposition (Dovecot also 128). */
#define LIMIT_MIME_PARAMS	128
/* MIME: addresses kept per ENVELOPE address field. */
#define LIMIT_MIME_ADDRESSES	1000
/* MIME: Content-Language tags kept per part. */
#define LIMIT_MIME_LANGUAGES	64
/* MIME: largest BODYSTRUCTURE/BODY/ENVELOPE string stored; larger ones
 * become one application/octet-stream part of the message's size. */
#define LIMIT_MIME_STRUCTURE	(4 * 1024 * 1024)

/* Daemon: concurrent connections per worker and per client IP. */
#define LIMIT_CONNECTIONS	1000
#define LIMIT_CONNECTIONS_PER_IP 20
/* Daemon: stack of a connection thread (DESIGN.md: small stacks). */
#define LIMIT_THREAD_STACK	(256 * 1024)
/* Daemon: seconds sessions get to finish after SIGTERM. */
#define LIMIT_SHUTDOWN_GRACE	30

#endif
