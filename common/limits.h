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

/* Auth: longest password accepted (argon2 cost is per byte). */
#define LIMIT_PASSWORD		1024

#endif
