/*
 * mime.c - the part tree of a message (RFC 2045-2049): header ends,
 * multipart boundaries (nested, missing, broken, missing final one),
 * message/rfc822 parts, sizes and line counts for IMAP, and section
 * numbers (RFC 3501 6.4.5).
 *
 * Input is untrusted. The whole message is in memory; one pass over it
 * finds every part (boundaries are only looked for at line starts, and
 * each line is looked at once), so time is linear in the message size
 * times the nesting depth. Limits: nesting depth, parts, header fields
 * and header bytes interpreted per part. Past a limit the rest is body
 * text of the part being read: a sane structure, never an error.
 *
 * How a broken message splits follows Dovecot 2.3's message parser, so
 * that BODYSTRUCTURE matches it byte for byte: a boundary matches as a
 * prefix of the line (RFC 2046 5.1.1 asks for the whole line), the
 * longest matching boundary of any enclosing multipart wins, and a
 * boundary line ends every part nested inside its multipart.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MIME_INTERNAL
#include "ascii.h"
#include "limits.h"
#include "mime.h"
#include "xalloc.h"


struct bnd {
	const char *s;		/* owned by the part's type parameters */
	size_t len;
	int part;
};

struct pinfo {
	struct mime_pdata d;
	bool is_mime, digest;
	const char *boundary;	/* points into d.type_params */
	size_t boundary_len;
	int depth;		/* 0 for the root */
};

struct parser {
	const char *d;
	size_t len;
	struct mime_part *parts;
	struct pinfo *info;
	size_t n, cap;
	struct bnd stack[LIMIT_MIME_DEPTH + 2];
	unsigned int nb;
};

enum hdr_end {
	HDR_EOH,	/* blank line */
	HDR_BOUNDARY,	/* a boundary line where a field should be */
	HDR_EOF
};

static int
new_part(struct parser *p, int parent, size_t start)
{
	struct mime_part *m;
	int idx = (int)p->n;

	if (p->n == p->cap) {
		p->cap = p->cap == 0 ? 8 : p->cap * 2;
		p->parts = xreallocarray(p->parts, p->cap, sizeof(*p->parts));
		p->info = xreallocarray(p->info, p->cap, sizeof(*p->info));
	}
	m = &p->parts[p->n];
	memset(m, 0, sizeof(*m));
	memset(&p->info[p->n], 0, sizeof(p->info[p->n]));
	m->header_start = m->body_start = m->body_end = start;
	m->parent = parent;
	m->first_child = m->next_sibling = -1;
	if (parent >= 0) {
		int *link = &p->parts[parent].first_child;

		while (*link != -1)
			link = &p->parts[*link].next_sibling;
		*link = idx;
		p->info[idx].depth = p->info[parent].depth + 1;
	}
	p->n++;
	return idx;
}

/* Longest boundary of an enclosing multipart that the line at pos starts
 * with ("--" boundary), as a stack index, or -1. */
static int
boundary_at(const struct parser *p, size_t pos)
{
	size_t avail;
	unsigned int i;
	int best = -1;

	if (p->nb == 0 || pos + 2 > p->len || p->d[pos] != '-' ||
	    p->d[pos + 1] != '-')
		return -1;
	avail = p->len - pos - 2;
	for (i = 0; i < p->nb; i++) {
		const struct bnd *b = &p->stack[i];

		if (b->len <= avail &&
		    memcmp(b->s, p->d + pos + 2, b->len) == 0 &&
		    (best < 0 || p->stack[best].len < b->len))
			best = (int)i;
	}
	return best;
}

/* End of the line at pos: one past its LF, or the end of the data. */
static size_t
line_end(const struct parser *p, size_t pos)
{
	const char *nl = memchr(p->d + pos, '\n', p->len - pos);

	return nl != NULL ? (size_t)(nl - p->d) + 1 : p->len;
}

static void
record_field(struct parser *p, int part, const struct mime_field *f,
    bool *mime_version, bool *content_type)
{
	struct pinfo *in = &p->info[part];
	const char *name = p->d + f->start;
	size_t vlen = f->value_end - f->value_start;
	int parent = p->parts[part].parent;

	if (ascii_ieq(name, f->name_len, "MIME-VERSION"))
		*mime_version = true;
	else if (ascii_ieq(name, f->name_len, "CONTENT-TYPE"))
		*content_type = true;
	mime_header_content(&in->d, name, f->name_len,
	    p->d + f->value_start, vlen);
	if (part == 0 || (parent >= 0 &&
	    (p->parts[parent].flags & MIME_PART_MESSAGE) != 0)) {
		if (in->d.env == NULL)
			in->d.env = xcalloc(1, sizeof(*in->d.env));
		mime_header_envelope(in->d.env, name, f->name_len,
		    p->d + f->value_start, vlen);
	}
}

/*
 * Reads the header of part from pos. Sets the part's body_start and,
 * for HDR_BOUNDARY, *bidx_r and *bline_r (the boundary line's start).
 * RFC 5322 2.2: a field is a line and its continuation lines.
 */
static enum hdr_end
parse_header(struct parser *p, int part, size_t pos, int *bidx_r,
    size_t *bline_r)
{
	struct mime_field f;
	size_t prevnl = 0, start = pos;
	unsigned int nfields = 0;
	bool mime_version = false, content_type = false;
	enum hdr_end ret;

	for (;;) {
		int b;

		if (pos >= p->len) {
			p->parts[part].body_start = p->len;
			ret = HDR_EOF;
			break;
		}
		if ((b = boundary_at(p, pos)) >= 0) {
			/* the [CR]LF before a boundary belongs to it */
			p->parts[part].body_start = pos - prevnl;
			*bidx_r = b;
			*bline_r = pos;
			ret = HDR_BOUNDARY;
			break;
		}
		if (p->d[pos] == '\n' || (p->d[pos] == '\r' &&
		    pos + 1 < p->len && p->d[pos + 1] == '\n')) {
			p->parts[part].body_start = pos +
			    (p->d[pos] == '\n' ? 1 : 2);
			ret = HDR_EOH;
			break;
		}
		if (!mime_header_next(p->d, p->len, &pos, &f)) {
			/* cannot happen: pos is not at a blank line */
			p->parts[part].body_start = p->len;
			ret = HDR_EOF;
			break;
		}
		prevnl = 0;
		if (f.end > 0 && p->d[f.end - 1] == '\n')
			prevnl = f.end >= 2 && p->d[f.end - 2] == '\r' ? 2 : 1;
		if (++nfields <= LIMIT_MIME_HEADER_FIELDS &&
		    f.start - start < LIMIT_MIME_HEADER_SIZE) {
			if (f.value_end - start > LIMIT_MIME_HEADER_SIZE)
				f.value_end = start + LIMIT_MIME_HEADER_SIZE;
			if (f.value_start > f.value_end)
				f.value_start = f.value_end;
			record_field(p, part, &f, &mime_version,
			    &content_type);
		}
	}

	/* RFC 2045 4: without MIME-Version, Content-* fields mean nothing;
	 * like Dovecot we accept Content-Type alone as a sign of MIME, and
	 * every part of a multipart is MIME. */
	{
		struct pinfo *in = &p->info[part];
		struct mime_pdata *d = &in->d;
		int parent = p->parts[part].parent;
		bool under_multi = parent >= 0 &&
		    (p->parts[parent].flags & MIME_PART_MULTIPART) != 0;
		unsigned int flags = 0;

		in->is_mime = under_multi || mime_version || content_type;
		if (!in->is_mime) {
			struct mime_envelope *env = d->env;

			mime_pdata_clear(d);
			d->env = env;
		}
		if (d->type != NULL) {
			if (strcasecmp(d->type, "message") == 0 &&
			    d->type_slash &&
			    strcasecmp(d->subtype, "rfc822") == 0)
				flags = MIME_PART_MESSAGE;
			else if (strcasecmp(d->type, "text") == 0)
				flags = MIME_PART_TEXT;
			else if (strcasecmp(d->type, "multipart") == 0 &&
			    d->type_slash) {
				flags = MIME_PART_MULTIPART;
				in->digest =
				    strcasecmp(d->subtype, "digest") == 0;
			}
		} else if (parent >= 0 && p->info[parent].digest) {
			/* RFC 2046 5.1.5: digest parts default to messages */
			flags = MIME_PART_MESSAGE;
		} else {
			flags = MIME_PART_TEXT;
		}
		if (flags == MIME_PART_MULTIPART) {
			unsigned int i;

			for (i = 0; i < d->type_params.n; i++) {
				if (strcasecmp(d->type_params.v[i].name,
				    "boundary") == 0) {
					in->boundary =
					    d->type_params.v[i].value;
					in->boundary_len =
					    strlen(in->boundary);
					break;
				}
			}
		}
		/* Past the nesting or part limit, a container is a leaf. */
		if ((flags & (MIME_PART_MULTIPART | MIME_PART_MESSAGE)) != 0 &&
		    (in->depth >= LIMIT_MIME_DEPTH ||
		    p->n >= LIMIT_MIME_PARTS)) {
			flags = 0;
			in->boundary = NULL;
		}
		p->parts[part].flags = flags;
	}
	return ret;
}

/*
 * Finds the next boundary line at or after from (from itself only when
 * first_line). Returns the stack index or -1; sets *line_r and
 * *content_end_r (where the text before it ends, without the [CR]LF).
 */
static int
find_boundary(const struct parser *p, size_t from, bool first_line,
    size_t *line_r, size_t *content_end_r)
{
	size_t i = from;
	int b;

	if (p->nb == 0)
		return -1;
	if (first_line && (b = boundary_at(p, from)) >= 0) {
		*line_r = *content_end_r = from;
		return b;
	}
	while (i < p->len) {
		const char *nl = memchr(p->d + i, '\n', p->len - i);
		size_t at;

		if (nl == NULL)
			break;
		at = (size_t)(nl - p->d);
		i = at + 1;
		if ((b = boundary_at(p, i)) >= 0) {
			*line_r = i;
			if (at > from && p->d[at - 1] == '\r')
				at--;
			*content_end_r = at;
			return b;
		}
	}
	return -1;
}

static void
close_to(struct parser *p, int cur, int stop, size_t end)
{
	for (; cur != stop && cur >= 0; cur = p->parts[cur].parent)
		p->parts[cur].body_end = end;
}

static void
parse_tree(struct parser *p)
{
	int cur = new_part(p, -1, 0), b = -1;
	size_t pos = 0, line = 0, content_end = 0, scan_from;
	enum hdr_end he;

	for (;;) {
		he = parse_header(p, cur, pos, &b, &line);
		scan_from = p->parts[cur].body_start;
		if (he == HDR_BOUNDARY) {
			if ((p->parts[cur].flags & MIME_PART_MESSAGE) != 0) {
				/* the embedded message is empty */
				int child = new_part(p, cur, scan_from);

				p->parts[child].body_start = scan_from;
				p->parts[child].flags = MIME_PART_TEXT;
				p->info[child].is_mime = false;
				cur = child;
			}
			content_end = scan_from;
		} else {
			if ((p->parts[cur].flags & MIME_PART_MESSAGE) != 0) {
				cur = new_part(p, cur, scan_from);
				pos = scan_from;
				continue;
			}
			if (he == HDR_EOH && p->info[cur].boundary != NULL &&
			    p->info[cur].is_mime &&
			    p->nb < LIMIT_MIME_DEPTH + 1) {
				struct bnd *nb = &p->stack[p->nb++];

				nb->s = p->info[cur].boundary;
				nb->len = p->info[cur].boundary_len;
				nb->part = cur;
			}
			b = find_boundary(p, scan_from, true, &line,
			    &content_end);
		}
		for (;;) {
			int owner;
			size_t eol, blen;
			bool epilogue;

			if (b < 0) {
				close_to(p, cur, -1, p->len);
				return;
			}
			owner = p->stack[b].part;
			close_to(p, cur, owner, content_end);
			cur = owner;
			blen = p->stack[b].len;
			eol = line_end(p, line);
			epilogue = line + 2 + blen + 2 <= p->len &&
			    p->d[line + 2 + blen] == '-' &&
			    p->d[line + 3 + blen] == '-';
			/* RFC 2046 5.1.1: the close delimiter ends the
			 * multipart; a delimiter of an outer multipart
			 * ends the inner ones too */
			p->nb = epilogue ? (unsigned int)b :
			    (unsigned int)b + 1;
			pos = eol;
			if (!epilogue && p->n < LIMIT_MIME_PARTS) {
				cur = new_part(p, owner, pos);
				break;
			}
			if (!epilogue)
				p->nb = (unsigned int)b;
			b = find_boundary(p, pos, true, &line, &content_end);
		}
	}
}

/* Segment sums over the sorted part offsets: one pass over the data. */
struct seg {
	size_t off;
	uint64_t lines, bare;	/* LFs and LFs without CR before offset */
};

static int
size_cmp(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : (x > y);
}

static const struct seg *
seg_find(const struct seg *s, size_t n, size_t off)
{
	size_t lo = 0, hi = n;

	while (lo + 1 < hi) {
		size_t mid = (lo + hi) / 2;

		if (s[mid].off <= off)
			lo = mid;
		else
			hi = mid;
	}
	return &s[lo];
}

static void
compute_sizes(struct parser *p)
{
	size_t *offs, nofs = 0, i, j, nseg = 0;
	struct seg *seg;
	uint64_t lines = 0, bare = 0;

	offs = xreallocarray(NULL, p->n * 3 + 2, sizeof(*offs));
	offs[nofs++] = 0;
	offs[nofs++] = p->len;
	for (i = 0; i < p->n; i++) {
		offs[nofs++] = p->parts[i].header_start;
		offs[nofs++] = p->parts[i].body_start;
		offs[nofs++] = p->parts[i].body_end;
	}
	qsort(offs, nofs, sizeof(*offs), size_cmp);
	seg = xreallocarray(NULL, nofs, sizeof(*seg));
	for (i = 0, j = 0; i < nofs; i++) {
		if (nseg > 0 && seg[nseg - 1].off == offs[i])
			continue;
		/* count LFs in [previous offset, offs[i]) */
		for (; j < offs[i]; j++) {
			const char *nl = memchr(p->d + j, '\n', offs[i] - j);

			if (nl == NULL) {
				j = offs[i];
				break;
			}
			j = (size_t)(nl - p->d);
			lines++;
			if (j == 0 || p->d[j - 1] != '\r')
				bare++;
		}
		seg[nseg].off = offs[i];
		seg[nseg].lines = lines;
		seg[nseg].bare = bare;
		nseg++;
	}
	for (i = 0; i < p->n; i++) {
		struct mime_part *m = &p->parts[i];
		const struct seg *h = seg_find(seg, nseg, m->header_start);
		const struct seg *bs = seg_find(seg, nseg, m->body_start);
		const struct seg *be = seg_find(seg, nseg, m->body_end);

		m->header_vsize = (m->body_start - m->header_start) +
		    (bs->bare - h->bare);
		m->body_vsize = (m->body_end - m->body_start) +
		    (be->bare - bs->bare);
		m->body_lines = (uint32_t)(be->lines - bs->lines);
	}
	free(seg);
	free(offs);
}

/* Implemented in mime_imap.c. */
void mime_imap_write(struct mime_message *msg, const char *data, size_t len,
    const struct mime_part *parts, struct mime_pdata *const *pdata);

int
mime_parse(const char *data, size_t len, struct mime_message *msg_r)
{
	struct parser p;
	struct mime_pdata **pd;
	size_t i;

	memset(&p, 0, sizeof(p));
	memset(msg_r, 0, sizeof(*msg_r));
	p.d = data != NULL ? data : "";
	p.len = data != NULL ? len : 0;
	parse_tree(&p);
	compute_sizes(&p);

	pd = xreallocarray(NULL, p.n, sizeof(*pd));
	for (i = 0; i < p.n; i++)
		pd[i] = &p.info[i].d;
	msg_r->parts = p.parts;
	msg_r->nparts = p.n;
	mime_imap_write(msg_r, p.d, p.len, p.parts, pd);
	for (i = 0; i < p.n; i++) {
		mime_pdata_clear(&p.info[i].d);
		mime_envelope_free(p.info[i].d.env);
	}
	free(pd);
	free(p.info);
	return 0;
}

void
mime_message_free(struct mime_message *msg)
{
	free(msg->parts);
	free(msg->bodystructure);
	free(msg->body);
	free(msg->envelope);
	memset(msg, 0, sizeof(*msg));
}

/* i-th child (1-based) of part, or -1. */
static int
nth_child(const struct mime_message *msg, int part, unsigned long n)
{
	int c = msg->parts[part].first_child;

	while (c >= 0 && --n > 0)
		c = msg->parts[c].next_sibling;
	return c;
}

int
mime_section_find(const struct mime_message *msg, const char *s, size_t len,
    size_t *index_r)
{
	int cur = 0;
	size_t i = 0;

	if (msg->nparts == 0 || len == 0)
		return -1;
	while (i < len) {
		unsigned long n = 0;
		size_t start = i;

		for (; i < len && ascii_is_digit((unsigned char)s[i]); i++) {
			n = n * 10 + (unsigned long)(s[i] - '0');
			if (n > LIMIT_MIME_PARTS)
				return -1;
		}
		/* RFC 3501 9: nz-number, no leading zero */
		if (i == start || n == 0 || s[start] == '0')
			return -1;
		if (i < len && (s[i] != '.' || i + 1 == len))
			return -1;
		if (i < len)
			i++;
		/* a message part's numbers address its embedded message */
		if ((msg->parts[cur].flags & MIME_PART_MESSAGE) != 0 &&
		    cur != 0)
			cur = msg->parts[cur].first_child;
		if (cur < 0)
			return -1;
		if ((msg->parts[cur].flags & MIME_PART_MULTIPART) != 0) {
			cur = nth_child(msg, cur, n);
			if (cur < 0)
				return -1;
		} else if (n != 1 || (cur != 0 && (msg->parts[msg->parts[cur]
		    .parent].flags & MIME_PART_MESSAGE) == 0)) {
			/* only a message's own body is its part 1 */
			return -1;
		}
	}
	*index_r = (size_t)cur;
	return 0;
}

bool
mime_header_next(const char *d, size_t end, size_t *pos,
    struct mime_field *f)
{
	size_t i = *pos, eol, colon;
	const char *nl;

	if (i >= end || d[i] == '\n' ||
	    (d[i] == '\r' && i + 1 < end && d[i + 1] == '\n'))
		return false;
	f->start = i;
	/* the field runs to the first LF not followed by SP or HT */
	for (;;) {
		nl = memchr(d + i, '\n', end - i);
		if (nl == NULL) {
			eol = end;
			break;
		}
		i = (size_t)(nl - d) + 1;
		if (i >= end || (d[i] != ' ' && d[i] != '\t')) {
			eol = i;
			break;
		}
	}
	f->end = eol;
	f->value_end = eol;
	if (f->value_end > f->start && d[f->value_end - 1] == '\n') {
		f->value_end--;
		if (f->value_end > f->start && d[f->value_end - 1] == '\r')
			f->value_end--;
	}
	nl = memchr(d + f->start, ':', f->value_end - f->start);
	if (nl == NULL) {
		f->name_len = f->value_end - f->start;
		f->value_start = f->value_end;
	} else {
		colon = (size_t)(nl - d);
		/* RFC 5322 4.5: obsolete white space before the colon */
		f->name_len = colon - f->start;
		while (f->name_len > 0 && (d[f->start + f->name_len - 1] == ' '
		    || d[f->start + f->name_len - 1] == '\t'))
			f->name_len--;
		f->value_start = colon + 1;
		while (f->value_start < f->value_end &&
		    (d[f->value_start] == ' ' || d[f->value_start] == '\t'))
			f->value_start++;
	}
	*pos = eol;
	return true;
}

bool
mime_field_is(const char *d, const struct mime_field *f, const char *name,
    size_t name_len)
{
	return f->name_len == name_len &&
	    strncasecmp(d + f->start, name, name_len) == 0;
}
