/*
 * sasl.h - decoding the SASL mechanisms Letterbox offers: PLAIN
 * (RFC 4616) and LOGIN (draft-murchison-sasl-login), from base64
 * (RFC 4648) as SMTP, IMAP and POP3 carry them.
 *
 * Input is untrusted: lengths are bounded by LIMIT_SASL_LINE and
 * LIMIT_PASSWORD; NUL bytes are only accepted where PLAIN puts them.
 */
#ifndef LETTERBOX_SASL_H
#define LETTERBOX_SASL_H

#include <stddef.h>

#include "conn.h"
#include "limits.h"

struct sasl_credentials {
	char authzid[LIMIT_ADDR_TOTAL + 1];	/* "" when none */
	char authcid[LIMIT_ADDR_TOTAL + 1];
	char password[LIMIT_PASSWORD + 1];
};

/*
 * sasl_plain_decode: base64 text (len bytes, no line end) of
 * "[authzid] NUL authcid NUL password" into creds. Returns 0, or -1 for
 * bad base64 (strict: padding required, no whitespace), text over
 * LIMIT_SASL_LINE, a missing part, an empty authcid or password, a part
 * too long or holding NUL or a line break, or an authzid/authcid that is
 * not UTF-8 or holds a control character (they reach the log). On -1
 * creds is wiped. Wipe creds with sasl_credentials_wipe() after use.
 */
int sasl_plain_decode(const char *b64, size_t len,
    struct sasl_credentials *creds);

/* sasl_base64_decode_text: base64 text into out (size bytes) as a
 * NUL-terminated string (LOGIN's username and password). -1 for bad
 * base64, text over LIMIT_SASL_LINE, too long for out, or NUL, CR or LF
 * bytes inside (out is then wiped to ""). "=" alone and the empty line
 * (both the empty response, RFC 4954 4) decode to "". */
int sasl_base64_decode_text(const char *b64, size_t len, char *out,
    size_t size);

/* sasl_base64_encode: text into out (size bytes), NUL-terminated, for
 * server challenges such as LOGIN's "VXNlcm5hbWU6". -1 if out is small. */
int sasl_base64_encode(const char *text, size_t len, char *out, size_t size);

enum sasl_response {
	SASL_RESPONSE_OK = 0,
	SASL_RESPONSE_CANCEL = -1,	/* the client sent "*" */
	SASL_RESPONSE_TOO_LONG = -2,	/* over LIMIT_SASL_LINE: close */
	SASL_RESPONSE_GONE = -3,	/* closed, timed out, stopped */
};

/* sasl_read_response: the client's next response line after a
 * challenge the caller sent (SMTP "334", POP3 "+ ", IMAP "+"), at most
 * LIMIT_SASL_LINE octets. *line_r points into conn's buffer. */
int sasl_read_response(struct conn *conn, const char **line_r,
    size_t *len_r);

/* sasl_credentials_wipe: zeroes creds (sodium_memzero). */
void sasl_credentials_wipe(struct sasl_credentials *creds);

#endif
