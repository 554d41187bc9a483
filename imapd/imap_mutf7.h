/*
 * imap_mutf7.h - IMAP mailbox names between the wire's modified UTF-7
 * (RFC 3501 5.1.3) and the store's UTF-8. Pure functions; no allocation,
 * no I/O; input untrusted, taken as pointer and length (no NUL needed).
 *
 * Both directions accept only the canonical form, so a name has exactly
 * one spelling on the wire and one in the store: decoding then encoding
 * gives back the input byte for byte, and so does encoding then
 * decoding.
 *
 * Control characters (U+0000-U+001F, U+007F) are refused in both
 * directions, direct or shifted: a mailbox name has no place for one and
 * a name that holds one would reach LIST replies and log lines. C1
 * controls (U+0080-U+009F) and noncharacters are ordinary non-ASCII
 * characters here.
 */
#ifndef LETTERBOX_IMAP_MUTF7_H
#define LETTERBOX_IMAP_MUTF7_H

#include <stddef.h>

/*
 * imap_mutf7_to_utf8: decodes a wire mailbox name (len bytes) into out
 * (size bytes, NUL-terminated). Returns the length, or -1 when the input
 * is not valid modified UTF-7 (RFC 3501 5.1.3: printable US-ASCII
 * 0x20-0x7e only; "&-" is "&"; a shifted run is modified base64 with ','
 * for '/', no '=' padding, must end with '-', must not be empty ("&-"
 * aside), must encode UTF-16 that is well-formed (surrogates paired) and
 * whose chars are not printable US-ASCII (those must be direct, RFC says
 * so: reject "&AGE-" for "a"), leftover bits must be zero and fewer than
 * 6; two shifted runs back to back ("&AOQ-&AOQ-") are not canonical:
 * reject), or when out is too small. Controls are refused (see above).
 *
 * out needs room for the result and its NUL: size > length. On -1, out
 * holds "" when size > 0 (out may be NULL when size is 0). The result is
 * at most len bytes and holds no NUL; it never passes INT_MAX.
 */
int imap_mutf7_to_utf8(const char *in, size_t len, char *out, size_t size);

/*
 * imap_utf8_to_mutf7: encodes a UTF-8 name (len bytes) for the wire.
 * Returns the length, or -1 for invalid UTF-8 (overlongs, surrogates,
 * > U+10FFFF, stray or missing continuation bytes), a control character
 * (see above), or out too small. Printable US-ASCII goes direct, '&' as
 * "&-"; each maximal run of other characters is one shifted run.
 *
 * out as for imap_mutf7_to_utf8: size > length, "" on -1 when size > 0.
 * The result is printable US-ASCII, at most 5 * len / 2 bytes (a 2-byte
 * character alone is 5: "&AOQ-"), and never passes INT_MAX.
 */
int imap_utf8_to_mutf7(const char *in, size_t len, char *out, size_t size);

#endif
