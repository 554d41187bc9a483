/*
 * mime_text.h - the text of a message for searching (IMAP SEARCH, RFC 3501
 * 6.4.4, and the store's full-text index): header fields with RFC 2047
 * encoded words decoded, bodies with their Content-Transfer-Encoding
 * undone, everything converted to UTF-8 (glibc iconv), and a case fold
 * for RFC 3501's case-insensitive matching.
 *
 * Input is untrusted; time is linear in it and output is bounded by the
 * struct buf it goes to. Every function appends valid UTF-8 (a NUL byte
 * becomes a space, bytes in no known charset are read as Windows-1252),
 * except mime_text_fold(), which copies invalid UTF-8 bytes as they are.
 * On -1 (out's maximum reached) out holds as much of the text as fitted,
 * cut at a character boundary, and nothing more is appended.
 *
 * Thread-safe: no locale functions, no static state.
 */
#ifndef LETTERBOX_MIME_TEXT_H
#define LETTERBOX_MIME_TEXT_H

#include <stddef.h>

#include "buf.h"
#include "mime.h"

/*
 * mime_text_header: a header field value (the bytes after the colon)
 * decoded for search: unfolded (CRLF + WSP -> the WSP); RFC 2047 encoded
 * words (B and Q, any charset iconv knows, an RFC 2231 "*lang" suffix
 * ignored) to UTF-8, adjacent encoded words separated only by white space
 * joined without it (RFC 2047 6.2); other 8-bit text kept when it is valid
 * UTF-8, else read as Windows-1252 (a superset of ISO-8859-1). Malformed
 * or unknown-charset encoded words are left as they are. Appends to out;
 * 0, or -1 when out's maximum is reached.
 */
int mime_text_header(const char *value, size_t len, struct buf *out);

/*
 * mime_text_headers: every field of the message's top-level header
 * (msg->parts[0] of mime_parse(data, len)) as "Name: value\n", the value
 * decoded by mime_text_header(); a line without a colon as itself. For
 * SEARCH TEXT and the header index. Returns as mime_text_header().
 */
int mime_text_headers(const char *data, size_t len,
    const struct mime_message *msg, struct buf *out);

/*
 * mime_text_body: the text of the message's body for SEARCH BODY: each
 * text/<any> part (and untyped part) with its Content-Transfer-Encoding
 * undone (quoted-printable, base64; others as they are) and its charset
 * converted to UTF-8 (no charset, or one iconv does not know: kept when
 * valid UTF-8, else Windows-1252); text/html with tags, comments, scripts
 * and styles dropped, entities decoded and white space collapsed. Parts
 * are separated by "\n". The part of a message/rfc822 part contributes
 * its decoded header (as mime_text_headers()) and its body; other parts
 * (images, application/<any>) contribute nothing. Returns as
 * mime_text_header().
 */
int mime_text_body(const char *data, size_t len,
    const struct mime_message *msg, struct buf *out);

/*
 * mime_text_fold: appends the UTF-8 text in[0, len) to out case-folded
 * for case-insensitive matching: each character mapped one to one as
 * SQLite's FTS5 (3.40, the trigram tokenizer, case_sensitive 0) folds it,
 * which is Unicode simple case folding (ASCII, Latin-1, Latin Extended,
 * Greek with final sigma, Cyrillic, Armenian, Georgian, full-width Latin,
 * ...), so that a match found here is found by the store's index and the
 * reverse. Invalid UTF-8 bytes are copied as they are. Returns as
 * mime_text_header().
 */
int mime_text_fold(const char *in, size_t len, struct buf *out);

#endif
