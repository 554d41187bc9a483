/*
 * utf8_fold.c - UTF-8 code points for the search text (encoding and
 * strict decoding, mime_text_internal.h) and the case fold SEARCH
 * compares with (mime_text_fold(), mime_text.h).
 *
 * Input is untrusted bytes; invalid UTF-8 is copied as it is, never
 * decoded. Time is linear in the input; output is bounded by the
 * caller's struct buf.
 */
#include <stdint.h>

#include "mime_text.h"
#include "mime_text_internal.h"

/* ---- UTF-8 ------------------------------------------------------------- */

size_t
utf8_encode(char *o, uint32_t cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

size_t
utf8_decode(const unsigned char *p, size_t n, uint32_t *cp_r)
{
	uint32_t cp;
	size_t len, i;

	if (p[0] < 0x80) {
		*cp_r = p[0];
		return 1;
	}
	if (p[0] < 0xc2 || p[0] > 0xf4)
		return 0;
	len = p[0] < 0xe0 ? 2 : p[0] < 0xf0 ? 3 : 4;
	if (n < len)
		return 0;
	cp = p[0] & (0x7f >> len);
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	*cp_r = cp;
	return len;
}

/* ---- Case folding ------------------------------------------------------ */

/*
 * The case fold of SQLite 3.40's FTS5 (sqlite3Fts5UnicodeFold() with
 * remove_diacritics 0, as the trigram tokenizer calls it), which is
 * Unicode's simple case folding as of Unicode 6.1: code points first to
 * last, every stride-th one, map to itself plus delta. Made by feeding
 * every code point to a trigram table and reading its fts5vocab; the
 * store's index folds the same way, so the two agree on every match.
 */
static const struct fold_rule {
	uint32_t first, last;
	int32_t delta;
	uint32_t stride;
} fold_rules[] = {
	{ 0x0041, 0x005A, 32, 1 }, { 0x00B5, 0x00B5, 775, 1 },
	{ 0x00C0, 0x00D6, 32, 1 }, { 0x00D8, 0x00DE, 32, 1 },
	{ 0x0100, 0x012E, 1, 2 }, { 0x0132, 0x0136, 1, 2 },
	{ 0x0139, 0x0147, 1, 2 }, { 0x014A, 0x0176, 1, 2 },
	{ 0x0178, 0x0178, -121, 1 }, { 0x0179, 0x017D, 1, 2 },
	{ 0x017F, 0x017F, -268, 1 }, { 0x0181, 0x0181, 210, 1 },
	{ 0x0182, 0x0184, 1, 2 }, { 0x0186, 0x0186, 206, 1 },
	{ 0x0187, 0x0187, 1, 1 }, { 0x0189, 0x018A, 205, 1 },
	{ 0x018B, 0x018B, 1, 1 }, { 0x018E, 0x018E, 79, 1 },
	{ 0x018F, 0x018F, 202, 1 }, { 0x0190, 0x0190, 203, 1 },
	{ 0x0191, 0x0191, 1, 1 }, { 0x0193, 0x0193, 205, 1 },
	{ 0x0194, 0x0194, 207, 1 }, { 0x0196, 0x0196, 211, 1 },
	{ 0x0197, 0x0197, 209, 1 }, { 0x0198, 0x0198, 1, 1 },
	{ 0x019C, 0x019C, 211, 1 }, { 0x019D, 0x019D, 213, 1 },
	{ 0x019F, 0x019F, 214, 1 }, { 0x01A0, 0x01A4, 1, 2 },
	{ 0x01A6, 0x01A6, 218, 1 }, { 0x01A7, 0x01A7, 1, 1 },
	{ 0x01A9, 0x01A9, 218, 1 }, { 0x01AC, 0x01AC, 1, 1 },
	{ 0x01AE, 0x01AE, 218, 1 }, { 0x01AF, 0x01AF, 1, 1 },
	{ 0x01B1, 0x01B2, 217, 1 }, { 0x01B3, 0x01B5, 1, 2 },
	{ 0x01B7, 0x01B7, 219, 1 }, { 0x01B8, 0x01B8, 1, 1 },
	{ 0x01BC, 0x01BC, 1, 1 }, { 0x01C4, 0x01C4, 2, 1 },
	{ 0x01C5, 0x01C5, 1, 1 }, { 0x01C7, 0x01C7, 2, 1 },
	{ 0x01C8, 0x01C8, 1, 1 }, { 0x01CA, 0x01CA, 2, 1 },
	{ 0x01CB, 0x01DB, 1, 2 }, { 0x01DE, 0x01EE, 1, 2 },
	{ 0x01F1, 0x01F1, 2, 1 }, { 0x01F2, 0x01F4, 1, 2 },
	{ 0x01F6, 0x01F6, -97, 1 }, { 0x01F7, 0x01F7, -56, 1 },
	{ 0x01F8, 0x021E, 1, 2 }, { 0x0220, 0x0220, -130, 1 },
	{ 0x0222, 0x0232, 1, 2 }, { 0x023A, 0x023A, 10795, 1 },
	{ 0x023B, 0x023B, 1, 1 }, { 0x023D, 0x023D, -163, 1 },
	{ 0x023E, 0x023E, 10792, 1 }, { 0x0241, 0x0241, 1, 1 },
	{ 0x0243, 0x0243, -195, 1 }, { 0x0244, 0x0244, 69, 1 },
	{ 0x0245, 0x0245, 71, 1 }, { 0x0246, 0x024E, 1, 2 },
	{ 0x0345, 0x0345, 116, 1 }, { 0x0370, 0x0372, 1, 2 },
	{ 0x0376, 0x0376, 1, 1 }, { 0x0386, 0x0386, 38, 1 },
	{ 0x0388, 0x038A, 37, 1 }, { 0x038C, 0x038C, 64, 1 },
	{ 0x038E, 0x038F, 63, 1 }, { 0x0391, 0x03A1, 32, 1 },
	{ 0x03A3, 0x03AB, 32, 1 }, { 0x03C2, 0x03C2, 1, 1 },
	{ 0x03CF, 0x03CF, 8, 1 }, { 0x03D0, 0x03D0, -30, 1 },
	{ 0x03D1, 0x03D1, -25, 1 }, { 0x03D5, 0x03D5, -15, 1 },
	{ 0x03D6, 0x03D6, -22, 1 }, { 0x03D8, 0x03EE, 1, 2 },
	{ 0x03F0, 0x03F0, -54, 1 }, { 0x03F1, 0x03F1, -48, 1 },
	{ 0x03F4, 0x03F4, -60, 1 }, { 0x03F5, 0x03F5, -64, 1 },
	{ 0x03F7, 0x03F7, 1, 1 }, { 0x03F9, 0x03F9, -7, 1 },
	{ 0x03FA, 0x03FA, 1, 1 }, { 0x03FD, 0x03FF, -130, 1 },
	{ 0x0400, 0x040F, 80, 1 }, { 0x0410, 0x042F, 32, 1 },
	{ 0x0460, 0x0480, 1, 2 }, { 0x048A, 0x04BE, 1, 2 },
	{ 0x04C0, 0x04C0, 15, 1 }, { 0x04C1, 0x04CD, 1, 2 },
	{ 0x04D0, 0x0526, 1, 2 }, { 0x0531, 0x0556, 48, 1 },
	{ 0x10A0, 0x10C5, 7264, 1 }, { 0x10C7, 0x10C7, 7264, 1 },
	{ 0x10CD, 0x10CD, 7264, 1 }, { 0x1E00, 0x1E94, 1, 2 },
	{ 0x1E9B, 0x1E9B, -58, 1 }, { 0x1E9E, 0x1E9E, -7615, 1 },
	{ 0x1EA0, 0x1EFE, 1, 2 }, { 0x1F08, 0x1F0F, -8, 1 },
	{ 0x1F18, 0x1F1D, -8, 1 }, { 0x1F28, 0x1F2F, -8, 1 },
	{ 0x1F38, 0x1F3F, -8, 1 }, { 0x1F48, 0x1F4D, -8, 1 },
	{ 0x1F59, 0x1F5F, -8, 2 }, { 0x1F68, 0x1F6F, -8, 1 },
	{ 0x1F88, 0x1F8F, -8, 1 }, { 0x1F98, 0x1F9F, -8, 1 },
	{ 0x1FA8, 0x1FAF, -8, 1 }, { 0x1FB8, 0x1FB9, -8, 1 },
	{ 0x1FBA, 0x1FBB, -74, 1 }, { 0x1FBC, 0x1FBC, -9, 1 },
	{ 0x1FBE, 0x1FBE, -7173, 1 }, { 0x1FC8, 0x1FCB, -86, 1 },
	{ 0x1FCC, 0x1FCC, -9, 1 }, { 0x1FD8, 0x1FD9, -8, 1 },
	{ 0x1FDA, 0x1FDB, -100, 1 }, { 0x1FE8, 0x1FE9, -8, 1 },
	{ 0x1FEA, 0x1FEB, -112, 1 }, { 0x1FEC, 0x1FEC, -7, 1 },
	{ 0x1FF8, 0x1FF9, -128, 1 }, { 0x1FFA, 0x1FFB, -126, 1 },
	{ 0x1FFC, 0x1FFC, -9, 1 }, { 0x2126, 0x2126, -7517, 1 },
	{ 0x212A, 0x212A, -8383, 1 }, { 0x212B, 0x212B, -8262, 1 },
	{ 0x2132, 0x2132, 28, 1 }, { 0x2160, 0x216F, 16, 1 },
	{ 0x2183, 0x2183, 1, 1 }, { 0x24B6, 0x24CF, 26, 1 },
	{ 0x2C00, 0x2C2E, 48, 1 }, { 0x2C60, 0x2C60, 1, 1 },
	{ 0x2C62, 0x2C62, -10743, 1 }, { 0x2C63, 0x2C63, -3814, 1 },
	{ 0x2C64, 0x2C64, -10727, 1 }, { 0x2C67, 0x2C6B, 1, 2 },
	{ 0x2C6D, 0x2C6D, -10780, 1 }, { 0x2C6E, 0x2C6E, -10749, 1 },
	{ 0x2C6F, 0x2C6F, -10783, 1 }, { 0x2C70, 0x2C70, -10782, 1 },
	{ 0x2C72, 0x2C72, 1, 1 }, { 0x2C75, 0x2C75, 1, 1 },
	{ 0x2C7E, 0x2C7F, -10815, 1 }, { 0x2C80, 0x2CE2, 1, 2 },
	{ 0x2CEB, 0x2CED, 1, 2 }, { 0x2CF2, 0x2CF2, 1, 1 },
	{ 0xA640, 0xA66C, 1, 2 }, { 0xA680, 0xA696, 1, 2 },
	{ 0xA722, 0xA72E, 1, 2 }, { 0xA732, 0xA76E, 1, 2 },
	{ 0xA779, 0xA77B, 1, 2 }, { 0xA77D, 0xA77D, -35332, 1 },
	{ 0xA77E, 0xA786, 1, 2 }, { 0xA78B, 0xA78B, 1, 1 },
	{ 0xA78D, 0xA78D, -42280, 1 }, { 0xA790, 0xA792, 1, 2 },
	{ 0xA7A0, 0xA7A8, 1, 2 }, { 0xA7AA, 0xA7AA, -42308, 1 },
	{ 0xFF21, 0xFF3A, 32, 1 }, { 0x10400, 0x10427, 40, 1 },
};

static uint32_t
fold_cp(uint32_t cp)
{
	size_t lo = 0, hi = sizeof(fold_rules) / sizeof(fold_rules[0]);

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (fold_rules[mid].last < cp)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < sizeof(fold_rules) / sizeof(fold_rules[0]) &&
	    fold_rules[lo].first <= cp &&
	    (cp - fold_rules[lo].first) % fold_rules[lo].stride == 0)
		return (uint32_t)((int32_t)cp + fold_rules[lo].delta);
	return cp;
}

int
mime_text_fold(const char *in, size_t len, struct buf *out)
{
	const unsigned char *p = (const unsigned char *)in;
	char tmp[512];
	size_t i = 0, o = 0, k;
	uint32_t cp;

	while (i < len) {
		if (p[i] < 0x80) {
			tmp[o++] = (char)(p[i] >= 'A' && p[i] <= 'Z' ?
			    p[i] | 0x20 : p[i]);
			i++;
		} else if ((k = utf8_decode(p + i, len - i, &cp)) == 0) {
			tmp[o++] = (char)p[i++];	/* invalid: as it is */
		} else {
			o += utf8_encode(tmp + o, fold_cp(cp));
			i += k;
		}
		if (o > sizeof(tmp) - 4) {
			if (mime_text_put(out, tmp, o) < 0)
				return -1;
			o = 0;
		}
	}
	return mime_text_put(out, tmp, o);
}
