/*
 * cmd_search.c - SEARCH and UID SEARCH (RFC 3501 6.4.4), with ESEARCH
 * results (RFC 4731) and a saved result for "$" (RFC 5182 SEARCHRES).
 *
 * Flags, sizes, dates and numbers are matched from the message rows.
 * Text keys (HEADER and its FROM/TO/CC/BCC/SUBJECT forms, BODY, TEXT)
 * match case-insensitively anywhere in the decoded text (RFC 2047 words,
 * transfer encodings and charsets undone: common/mime_text.c). To keep
 * that fast on big mailboxes, a term of three characters or more first
 * asks the store's trigram index for candidates; only those messages are
 * read and decoded to confirm, so the answer stays exact.
 */
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/mime.h"
#include "common/mime_text.h"
#include "common/xalloc.h"
#include "imapd/imap_search.h"
#include "imapd/imap_session.h"

/* Decoded text kept per message while it is being matched. */
#define TEXT_MAX (LIMIT_MESSAGE_SIZE * 2)

/* What a text key needs, made once per SEARCH (imap_sk.data). */
struct text_key {
	struct buf term;		/* folded */
	struct buf field;		/* HEADER: folded name and ":" */
	uint32_t *cands;		/* owned: candidate UIDs, or NULL */
	size_t ncands;
	bool use_cands;
};

/* The seqs a SEQSET or UIDSET key names (imap_sk.data). */
struct set_key {
	uint32_t *seqs;
	size_t n;
};

struct search_ctx {
	struct imap_session *s;
	struct imap_cmd *cmd;
	struct store_message *msgs;	/* owned: the view's messages */
	uint32_t *seqs;			/* owned: msgs[i]'s sequence number */
	size_t n;
	/* The current message's decoded, folded text, read on need. */
	size_t cur;
	bool loaded;
	struct buf hdr, body;
	int64_t sent_day;
};

static bool
in_sorted(const uint32_t *v, size_t n, uint32_t x)
{
	return imap_uid_in(v, n, x);
}

/* prepare: per-key state; -1 with the tagged answer set on failure. */
static int
prepare(struct search_ctx *c, struct imap_sk *sk)
{
	for (; sk != NULL; sk = sk->next) {
		if (sk->child != NULL && prepare(c, sk->child) != 0)
			return -1;
		if (sk->type == IMAP_SK_SEQSET || sk->type == IMAP_SK_UIDSET) {
			struct set_key *k = xcalloc(1, sizeof(*k));

			sk->data = k;
			if (imap_view_resolve(c->s, c->cmd, &sk->set,
			    sk->type == IMAP_SK_UIDSET, &k->seqs, &k->n) != 0)
				return -1;
		} else if (sk->type == IMAP_SK_HEADER ||
		    sk->type == IMAP_SK_BODY || sk->type == IMAP_SK_TEXT) {
			struct text_key *k = xcalloc(1, sizeof(*k));
			enum store_search_field field =
			    sk->type == IMAP_SK_BODY ? STORE_SEARCH_BODY :
			    sk->type == IMAP_SK_TEXT ? STORE_SEARCH_TEXT :
			    STORE_SEARCH_HEADER;
			char *term = xstrndup(sk->value.s, sk->value.len);

			sk->data = k;
			buf_init(&k->term, TEXT_MAX);
			buf_init(&k->field, TEXT_MAX);
			(void)mime_text_fold(sk->value.s, sk->value.len,
			    &k->term);
			if (sk->type == IMAP_SK_HEADER) {
				(void)mime_text_fold(sk->field.s,
				    sk->field.len, &k->field);
				(void)buf_append(&k->field, ":", 1);
			}
			k->use_cands = store_search_candidates(c->s->st,
			    c->s->view.mailbox_id, field, term, &k->cands,
			    &k->ncands) == 0;
			free(term);
		}
	}
	return 0;
}

static void
unprepare(struct imap_sk *sk)
{
	for (; sk != NULL; sk = sk->next) {
		unprepare(sk->child);
		if (sk->data == NULL)
			continue;
		if (sk->type == IMAP_SK_SEQSET || sk->type == IMAP_SK_UIDSET) {
			free(((struct set_key *)sk->data)->seqs);
		} else {
			struct text_key *k = sk->data;

			buf_free(&k->term);
			buf_free(&k->field);
			free(k->cands);
		}
		free(sk->data);
		sk->data = NULL;
	}
}

/* decode: the header and body text of the current message decoded from
 * its raw bytes, when the store kept no text for it. */
static void
decode(struct search_ctx *c, struct buf *hdr, struct buf *body)
{
	const struct store_message *m = &c->msgs[c->cur];
	struct mime_message mime;
	char *data;
	size_t len;

	if (store_body_read(c->s->st, c->s->view.mailbox_id, m->uid, &data,
	    &len) != 0)
		return;
	mime_parse(data, len, &mime);
	(void)mime_text_headers(data, len, &mime, hdr);
	(void)mime_text_body(data, len, &mime, body);
	mime_message_free(&mime);
	free(data);
}

/* load: the current message's header and body text, decoded and folded:
 * the store's indexed text, or decoded anew. A message that cannot be
 * read matches no text key. */
static void
load(struct search_ctx *c)
{
	const struct store_message *m = &c->msgs[c->cur];
	struct buf hdr, body;
	char *h, *b;

	if (c->loaded)
		return;
	c->loaded = true;
	buf_reset(&c->hdr);
	buf_reset(&c->body);
	c->sent_day = m->internal_date / 86400;
	buf_init(&hdr, TEXT_MAX);
	buf_init(&body, TEXT_MAX);
	if (store_body_text(c->s->st, m->body_id, &h, &b) == 0) {
		(void)buf_append(&hdr, h, strlen(h));
		(void)buf_append(&body, b, strlen(b));
		free(h);
		free(b);
	} else {
		decode(c, &hdr, &body);
	}
	(void)mime_text_fold(hdr.data, hdr.len, &c->hdr);
	(void)mime_text_fold(body.data, body.len, &c->body);
	buf_free(&hdr);
	buf_free(&body);
}

static bool
contains(const struct buf *text, const struct buf *term)
{
	if (term->len == 0)
		return true;
	if (text->len < term->len)
		return false;
	return memmem(text->data, text->len, term->data, term->len) != NULL;
}

/* header_has: some field named k->field (folded, with ':') whose value
 * holds k->term. The header text is one "name: value\n" line a field. */
static bool
header_has(const struct buf *hdr, const struct text_key *k)
{
	const char *p = hdr->data, *end = hdr->data + hdr->len;

	while (p != NULL && p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t line = eol != NULL ? (size_t)(eol - p) :
		    (size_t)(end - p);

		if (line >= k->field.len &&
		    memcmp(p, k->field.data, k->field.len) == 0) {
			const char *v = p + k->field.len;
			size_t vlen = line - k->field.len;

			if (k->term.len == 0 || (vlen >= k->term.len &&
			    memmem(v, vlen, k->term.data, k->term.len) !=
			    NULL))
				return true;
		}
		p = eol != NULL ? eol + 1 : NULL;
	}
	return false;
}

static bool
text_match(struct search_ctx *c, const struct imap_sk *sk)
{
	const struct text_key *k = sk->data;

	if (k->use_cands && !in_sorted(k->cands, k->ncands,
	    c->msgs[c->cur].uid))
		return false;
	load(c);
	switch (sk->type) {
	case IMAP_SK_HEADER:
		return header_has(&c->hdr, k);
	case IMAP_SK_BODY:
		return contains(&c->body, &k->term);
	default:
		return contains(&c->hdr, &k->term) ||
		    contains(&c->body, &k->term);
	}
}

static int64_t
sent_day(struct search_ctx *c)
{
	static const char date[] = "\ndate:";
	const char *p;

	load(c);
	/* The header text starts with a field: look for "\ndate:" after a
	 * virtual newline. */
	if (c->hdr.len >= 5 && memcmp(c->hdr.data, date + 1, 5) == 0)
		p = c->hdr.data + 5;
	else if ((p = memmem(c->hdr.data != NULL ? c->hdr.data : "",
	    c->hdr.len, date, 6)) != NULL)
		p += 6;
	if (p != NULL) {
		const char *eol = memchr(p, '\n',
		    (size_t)(c->hdr.data + c->hdr.len - p));
		int64_t day;

		if (imap_date_parse(p, eol != NULL ? (size_t)(eol - p) :
		    (size_t)(c->hdr.data + c->hdr.len - p), &day) == 0)
			return day;
	}
	/* No readable Date: the internal date stands in (as Dovecot). */
	return c->sent_day;
}

static bool
has_keyword(const char *keywords, const struct imap_str *kw)
{
	const char *p = keywords;

	while (p != NULL && *p != '\0') {
		const char *sp = strchr(p, ' ');
		size_t len = sp != NULL ? (size_t)(sp - p) : strlen(p);

		if (len == kw->len && strncasecmp(p, kw->s, len) == 0)
			return true;
		p = sp != NULL ? sp + 1 : NULL;
	}
	return false;
}

static bool
eval(struct search_ctx *c, const struct imap_sk *sk)
{
	const struct store_message *m = &c->msgs[c->cur];
	int64_t day = m->internal_date / 86400;

	switch (sk->type) {
	case IMAP_SK_ALL:
		return true;
	case IMAP_SK_NONE:
		return false;
	case IMAP_SK_AND:
		for (const struct imap_sk *k = sk->child; k != NULL;
		    k = k->next)
			if (!eval(c, k))
				return false;
		return true;
	case IMAP_SK_OR:
		return eval(c, sk->child) || eval(c, sk->child->next);
	case IMAP_SK_NOT:
		return !eval(c, sk->child);
	case IMAP_SK_SEQSET:
	case IMAP_SK_UIDSET: {
		const struct set_key *k = sk->data;

		return in_sorted(k->seqs, k->n, c->seqs[c->cur]);
	}
	case IMAP_SK_FLAG:
		return (m->flags & sk->flag) != 0;
	case IMAP_SK_NOFLAG:
		return (m->flags & sk->flag) == 0;
	case IMAP_SK_KEYWORD:
		return has_keyword(m->keywords, &sk->value);
	case IMAP_SK_UNKEYWORD:
		return !has_keyword(m->keywords, &sk->value);
	case IMAP_SK_BEFORE:
		return day < sk->day;
	case IMAP_SK_ON:
		return day == sk->day;
	case IMAP_SK_SINCE:
		return day >= sk->day;
	case IMAP_SK_SENTBEFORE:
		return sent_day(c) < sk->day;
	case IMAP_SK_SENTON:
		return sent_day(c) == sk->day;
	case IMAP_SK_SENTSINCE:
		return sent_day(c) >= sk->day;
	case IMAP_SK_LARGER:
		return m->size > (int64_t)sk->size;
	case IMAP_SK_SMALLER:
		return m->size < (int64_t)sk->size;
	case IMAP_SK_MODSEQ:
		return m->modseq >= sk->modseq;
	default:
		return text_match(c, sk);
	}
}

/* load_view: the rows of the view's messages, those expunged meanwhile
 * left out. */
static int
load_view(struct search_ctx *c)
{
	const struct imap_view *v = &c->s->view;
	struct store_message *all;
	size_t count, j = 0;
	int ret;

	if ((ret = store_message_list(c->s->st, v->mailbox_id, 1,
	    v->count > 0 ? v->uids[v->count - 1] : 1, &all, &count)) != 0)
		return ret;
	c->msgs = all;
	c->seqs = xcalloc(count + 1, sizeof(*c->seqs));
	for (size_t i = 0; i < count; i++) {
		while (j < v->count && v->uids[j] < all[i].uid)
			j++;
		if (j == v->count || v->uids[j] != all[i].uid) {
			store_message_clear(&all[i]);	/* not announced */
			continue;
		}
		c->msgs[c->n] = all[i];
		c->seqs[c->n++] = (uint32_t)j + 1;
	}
	return 0;
}

static void
write_results(struct imap_session *s, struct imap_cmd *cmd,
    const struct imap_search *search, const uint32_t *ids, size_t n,
    uint64_t modseq)
{
	char *set;
	size_t size;

	if (!search->esearch) {
		conn_printf(s->conn, "* SEARCH");
		for (size_t i = 0; i < n; i++)
			conn_printf(s->conn, " %u", ids[i]);
		/* RFC 7162 3.1.5: the highest MODSEQ of what matched. */
		if (search->modseq && n > 0)
			conn_printf(s->conn, " (MODSEQ %llu)",
			    (unsigned long long)modseq);
		conn_printf(s->conn, "\r\n");
		return;
	}
	/* RFC 5182 2.1: SAVE alone gives no ESEARCH response. */
	if (search->ret == IMAP_SEARCH_RET_SAVE)
		return;
	conn_printf(s->conn, "* ESEARCH (TAG \"");
	conn_write(s->conn, cmd->tag.s, cmd->tag.len);
	conn_printf(s->conn, "\")%s", cmd->uid ? " UID" : "");
	if (n > 0 && (search->ret & IMAP_SEARCH_RET_MIN) != 0)
		conn_printf(s->conn, " MIN %u", ids[0]);
	if (n > 0 && (search->ret & IMAP_SEARCH_RET_MAX) != 0)
		conn_printf(s->conn, " MAX %u", ids[n - 1]);
	if ((search->ret & IMAP_SEARCH_RET_COUNT) != 0)
		conn_printf(s->conn, " COUNT %zu", n);
	if (n > 0 && (search->ret & IMAP_SEARCH_RET_ALL) != 0) {
		size = n * 22 + 1;
		set = xmalloc(size);
		if (imap_uidset_format(ids, n, set, size) != 0)
			fatal("imap: result set larger than its bound");
		conn_printf(s->conn, " ALL %s", set);
		free(set);
	}
	if (search->modseq && n > 0)
		conn_printf(s->conn, " MODSEQ %llu", (unsigned long long)modseq);
	conn_printf(s->conn, "\r\n");
}

/* save_result: RFC 5182 2.1: with MIN and/or MAX but neither ALL nor
 * COUNT, only those are saved; otherwise every match. */
static void
save_result(struct imap_session *s, const struct imap_search *search,
    const uint32_t *uids, size_t n)
{
	unsigned int ret = search->ret;
	uint32_t picked[2];
	size_t k = 0;

	if ((ret & (IMAP_SEARCH_RET_ALL | IMAP_SEARCH_RET_COUNT)) != 0 ||
	    (ret & (IMAP_SEARCH_RET_MIN | IMAP_SEARCH_RET_MAX)) == 0 ||
	    n == 0) {
		imap_view_save(s, uids, n);
		return;
	}
	if ((ret & IMAP_SEARCH_RET_MIN) != 0)
		picked[k++] = uids[0];
	if ((ret & IMAP_SEARCH_RET_MAX) != 0 && (k == 0 || uids[n - 1] !=
	    picked[0]))
		picked[k++] = uids[n - 1];
	imap_view_save(s, picked, k);
}

void
imap_cmd_search(struct imap_session *s, struct imap_cmd *cmd)
{
	struct imap_search search;
	struct search_ctx c;
	uint32_t *ids, *uids;
	uint64_t modseq = 0;
	size_t nids = 0;
	int ret;

	ret = imap_search_parse(&cmd->ps, &search);
	if (ret == IMAP_SEARCH_BADCHARSET) {
		imap_reply(cmd, "NO [BADCHARSET (%s)] Unsupported charset",
		    IMAP_SEARCH_CHARSETS);
		return;
	}
	if (ret != IMAP_SEARCH_OK) {
		imap_bad_syntax(cmd);
		return;
	}
	/* RFC 7162 3.1.5: a MODSEQ key enables CONDSTORE. */
	search.modseq = imap_search_uses_modseq(search.root);
	if (search.modseq)
		s->condstore = true;
	memset(&c, 0, sizeof(c));
	c.s = s;
	c.cmd = cmd;
	buf_init(&c.hdr, TEXT_MAX);
	buf_init(&c.body, TEXT_MAX);
	if (prepare(&c, search.root) != 0)
		goto out;
	if ((ret = load_view(&c)) != 0) {
		imap_store_error(cmd, ret);
		goto out;
	}
	ids = xcalloc(c.n + 1, sizeof(*ids));
	uids = xcalloc(c.n + 1, sizeof(*uids));
	for (c.cur = 0; c.cur < c.n; c.cur++) {
		c.loaded = false;
		if (!eval(&c, search.root))
			continue;
		uids[nids] = c.msgs[c.cur].uid;
		if (c.msgs[c.cur].modseq > modseq)
			modseq = c.msgs[c.cur].modseq;
		ids[nids++] = cmd->uid ? c.msgs[c.cur].uid : c.seqs[c.cur];
	}
	if ((search.ret & IMAP_SEARCH_RET_SAVE) != 0)
		save_result(s, &search, uids, nids);
	write_results(s, cmd, &search, ids, nids, modseq);
	free(uids);
	free(ids);
	imap_reply(cmd, "OK %s completed", cmd->name);
out:
	unprepare(search.root);
	imap_search_free(&search);
	store_message_list_free(&c.msgs, c.n);
	free(c.seqs);
	buf_free(&c.hdr);
	buf_free(&c.body);
}
