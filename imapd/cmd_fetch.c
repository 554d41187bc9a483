/*
 * cmd_fetch.c - FETCH and UID FETCH (RFC 3501 6.4.5, 6.4.8).
 *
 * ENVELOPE, BODY and BODYSTRUCTURE come from the strings the store
 * computed at delivery; BODY[] streams the message from the store in
 * LIMIT_BODY_CHUNK reads; other sections read the message once per
 * message and locate the section with the MIME parser. A non-PEEK body
 * item sets \Seen (not in a read-only mailbox) before the answer, which
 * then carries the new FLAGS.
 */
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xalloc.h"
#include "imapd/imap_fetch.h"
#include "imapd/imap_session.h"

/* Per-FETCH state shared by the messages' answers. */
struct fetch_ctx {
	struct imap_session *s;
	struct imap_cmd *cmd;
	struct imap_fetch_req req;
	char *chunk;			/* owned: LIMIT_BODY_CHUNK bytes */
	struct buf scratch;		/* HEADER.FIELDS answers */
	/* The current message's body, read on first need. */
	char *data;
	size_t len;
	struct mime_message mime;
	bool parsed;
};

static void
write_section_name(struct conn *conn, const struct imap_fetch_body *b)
{
	static const char *const texts[] = {
		"", "HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT", "TEXT",
		"MIME",
	};

	conn_printf(conn, "%s", b->name);
	if (strcmp(b->name, "BODY") != 0)
		return;
	conn_write(conn, "[", 1);
	conn_write(conn, b->part.s, b->part.len);
	if (b->part.len > 0 && b->text != IMAP_SECTION_NONE)
		conn_write(conn, ".", 1);
	conn_printf(conn, "%s", texts[b->text]);
	if (b->nfields > 0) {
		conn_write(conn, " (", 2);
		for (size_t i = 0; i < b->nfields; i++) {
			if (i > 0)
				conn_write(conn, " ", 1);
			imap_write_astring(conn, b->fields[i].s,
			    b->fields[i].len);
		}
		conn_write(conn, ")", 1);
	}
	conn_write(conn, "]", 1);
	if (b->partial)
		conn_printf(conn, "<%u>", b->offset);
}

/* clip: the partial range <offset.count> of len octets. */
static void
clip(const struct imap_fetch_body *b, size_t len, size_t *start_r,
    size_t *count_r)
{
	*start_r = 0;
	*count_r = len;
	if (!b->partial)
		return;
	*start_r = b->offset < len ? b->offset : len;
	*count_r = len - *start_r < b->count ? len - *start_r : b->count;
}

/* stream_body: BODY[] (and its partial ranges) straight from the store.
 * -1 when the body vanished mid-answer: the literal cannot be completed,
 * so the session ends. */
static int
stream_body(struct fetch_ctx *fc, const struct store_message *m,
    const struct imap_fetch_body *b)
{
	size_t start, count;

	clip(b, (size_t)m->size, &start, &count);
	conn_printf(fc->s->conn, " {%zu}\r\n", count);
	while (count > 0) {
		size_t want = count < LIMIT_BODY_CHUNK ? count :
		    LIMIT_BODY_CHUNK, got;

		if (store_body_read_range(fc->s->st, m->body_id,
		    (int64_t)start, fc->chunk, want, &got) != 0 || got == 0) {
			log_warn("imap: body of UID %u vanished while sent",
			    m->uid);
			return -1;
		}
		conn_write(fc->s->conn, fc->chunk, got);
		start += got;
		count -= got;
	}
	return 0;
}

static int
load_message(struct fetch_ctx *fc, const struct store_message *m)
{
	if (fc->parsed)
		return 0;
	if (store_body_read(fc->s->st, fc->s->view.mailbox_id, m->uid,
	    &fc->data, &fc->len) != 0)
		return -1;
	mime_parse(fc->data, fc->len, &fc->mime);
	fc->parsed = true;
	return 0;
}

static void
unload_message(struct fetch_ctx *fc)
{
	if (!fc->parsed)
		return;
	mime_message_free(&fc->mime);
	free(fc->data);
	fc->data = NULL;
	fc->parsed = false;
}

static int
write_body(struct fetch_ctx *fc, const struct store_message *m,
    const struct imap_fetch_body *b, const char *sep)
{
	const char *out;
	size_t out_len, start, count;

	conn_printf(fc->s->conn, "%s", sep);
	write_section_name(fc->s->conn, b);
	if (b->part.len == 0 && b->text == IMAP_SECTION_NONE)
		return stream_body(fc, m, b);
	if (load_message(fc, m) != 0)
		return -1;
	if (!imap_section_extract(fc->data, fc->len, &fc->mime, b,
	    &fc->scratch, &out, &out_len)) {
		conn_write(fc->s->conn, " NIL", 4);
		return 0;
	}
	clip(b, out_len, &start, &count);
	conn_printf(fc->s->conn, " {%zu}\r\n", count);
	conn_write(fc->s->conn, out + start, count);
	return 0;
}

static void
write_mime(struct fetch_ctx *fc, const struct store_message *m,
    unsigned int item)
{
	struct store_body_mime bm;

	if (store_body_mime(fc->s->st, m->body_id, &bm) != 0) {
		conn_printf(fc->s->conn, "NIL");
		return;
	}
	conn_printf(fc->s->conn, "%s", item == IMAP_FETCH_ENVELOPE ?
	    bm.envelope : item == IMAP_FETCH_BODY ? bm.body :
	    bm.bodystructure);
	store_body_mime_clear(&bm);
}

/* write_message: "* seq FETCH (...)"; -1 when the session must end. */
static int
write_message(struct fetch_ctx *fc, uint32_t seq,
    const struct store_message *m, bool flags_changed)
{
	struct conn *conn = fc->s->conn;
	unsigned int items = fc->req.items;
	const char *sep = "";
	int ret = 0;

	conn_printf(conn, "* %u FETCH (", seq);
	if ((items & IMAP_FETCH_UID) != 0) {
		conn_printf(conn, "UID %u", m->uid);
		sep = " ";
	}
	if ((items & IMAP_FETCH_FLAGS) != 0 || flags_changed) {
		conn_printf(conn, "%sFLAGS ", sep);
		imap_write_flags(conn, m->flags, m->keywords, false);
		sep = " ";
	}
	/* RFC 7162 3.1.4.1: with CONDSTORE on, FLAGS come with MODSEQ. */
	if ((items & IMAP_FETCH_MODSEQ) != 0 || (fc->s->condstore &&
	    ((items & IMAP_FETCH_FLAGS) != 0 || flags_changed))) {
		conn_printf(conn, "%sMODSEQ (%llu)", sep,
		    (unsigned long long)m->modseq);
		sep = " ";
	}
	if ((items & IMAP_FETCH_INTERNALDATE) != 0) {
		conn_printf(conn, "%sINTERNALDATE ", sep);
		imap_write_date_time(conn, m->internal_date);
		sep = " ";
	}
	if ((items & IMAP_FETCH_RFC822_SIZE) != 0) {
		conn_printf(conn, "%sRFC822.SIZE %lld", sep,
		    (long long)m->size);
		sep = " ";
	}
	if ((items & IMAP_FETCH_ENVELOPE) != 0) {
		conn_printf(conn, "%sENVELOPE ", sep);
		write_mime(fc, m, IMAP_FETCH_ENVELOPE);
		sep = " ";
	}
	if ((items & IMAP_FETCH_BODY) != 0) {
		conn_printf(conn, "%sBODY ", sep);
		write_mime(fc, m, IMAP_FETCH_BODY);
		sep = " ";
	}
	if ((items & IMAP_FETCH_BODYSTRUCTURE) != 0) {
		conn_printf(conn, "%sBODYSTRUCTURE ", sep);
		write_mime(fc, m, IMAP_FETCH_BODYSTRUCTURE);
		sep = " ";
	}
	for (size_t i = 0; i < fc->req.nbodies && ret == 0; i++) {
		ret = write_body(fc, m, &fc->req.bodies[i], sep);
		sep = " ";
	}
	unload_message(fc);
	if (ret == 0)
		conn_printf(conn, ")\r\n");
	return ret;
}

/* mark_seen: sets \Seen on the listed messages that lack it; their UIDs
 * go to *seen_r (ascending), their rows get the flag. */
static int
mark_seen(struct fetch_ctx *fc, struct store_message *msgs, size_t n,
    uint32_t **seen_r, size_t *nseen_r)
{
	uint32_t *seen = xcalloc(n + 1, sizeof(*seen));
	size_t nseen = 0;
	int ret = 0;

	for (size_t i = 0; i < n; i++)
		if ((msgs[i].flags & STORE_FLAG_SEEN) == 0)
			seen[nseen++] = msgs[i].uid;
	if (nseen > 0 && (ret = store_flags_update(fc->s->st,
	    fc->s->view.mailbox_id, seen, nseen, STORE_FLAGS_ADD,
	    STORE_FLAG_SEEN, NULL)) == 0)
		for (size_t i = 0; i < n; i++)
			msgs[i].flags |= STORE_FLAG_SEEN;
	*seen_r = seen;
	*nseen_r = ret == 0 ? nseen : 0;
	return ret;
}

/* keep_asked: drops from msgs (ascending) the messages seqs does not
 * name: a UID range may hold others. Returns the new count. */
static size_t
keep_asked(const struct imap_session *s, const uint32_t *seqs, size_t n,
    struct store_message *msgs, size_t count)
{
	size_t kept = 0, k = 0;

	for (size_t i = 0; i < count; i++) {
		while (k < n && s->view.uids[seqs[k] - 1] < msgs[i].uid)
			k++;
		if (k < n && s->view.uids[seqs[k] - 1] == msgs[i].uid)
			msgs[kept++] = msgs[i];
		else
			store_message_clear(&msgs[i]);
	}
	return kept;
}

/* load_rows: the rows of the messages seqs[0..n) names, ascending. */
static int
load_rows(struct imap_session *s, const uint32_t *seqs, size_t n,
    struct store_message **msgs_r, size_t *count_r)
{
	int ret;

	*msgs_r = NULL;
	*count_r = 0;
	if (n == 0)
		return 0;
	if ((ret = store_message_list(s->st, s->view.mailbox_id,
	    s->view.uids[seqs[0] - 1], s->view.uids[seqs[n - 1] - 1], msgs_r,
	    count_r)) != 0)
		return ret;
	*count_r = keep_asked(s, seqs, n, *msgs_r, *count_r);
	return 0;
}

/* fetch_run: answers for seqs[0..n); the tagged answer is set. */
static void
fetch_run(struct fetch_ctx *fc, const uint32_t *seqs, size_t n)
{
	struct imap_session *s = fc->s;
	struct store_message *msgs = NULL;
	uint32_t *seen = NULL;
	size_t count = 0, nseen = 0, j = 0;
	bool missing = false;
	int ret;

	if ((ret = load_rows(s, seqs, n, &msgs, &count)) != 0) {
		imap_store_error(fc->cmd, ret);
		return;
	}
	if (!s->view.readonly && imap_fetch_sets_seen(&fc->req)) {
		ret = mark_seen(fc, msgs, count, &seen, &nseen);
		/* Their MODSEQ changed with \Seen: read them again. */
		if (ret == 0 && nseen > 0 && s->condstore) {
			store_message_list_free(&msgs, count);
			ret = load_rows(s, seqs, n, &msgs, &count);
		}
		if (ret != 0) {
			store_message_list_free(&msgs, count);
			free(seen);
			imap_store_error(fc->cmd, ret);
			return;
		}
	}
	for (size_t i = 0; i < n && !s->logout; i++) {
		uint32_t uid = s->view.uids[seqs[i] - 1];

		while (j < count && msgs[j].uid < uid)
			j++;
		if (j == count || msgs[j].uid != uid) {
			missing = true;	/* expunged by another session */
			continue;
		}
		/* RFC 7162 3.1.4.2: only what changed since the given. */
		if (fc->req.changedsince && msgs[j].modseq <= fc->req.modseq)
			continue;
		if (write_message(fc, seqs[i], &msgs[j],
		    imap_uid_in(seen, nseen, uid)) != 0)
			s->logout = true;
	}
	store_message_list_free(&msgs, count);
	if (nseen > 0)
		imap_view_sync(s, fc->cmd->uid, seen, nseen);
	free(seen);
	if (missing)
		imap_reply(fc->cmd, "NO [EXPUNGEISSUED] Some of the requested "
		    "messages no longer exist");
	else
		imap_reply(fc->cmd, "OK FETCH completed");
}

/* vanished_earlier: RFC 7162 3.2.6: the UIDs of set expunged since
 * modseq, before the FETCH answers. */
static void
vanished_earlier(struct imap_session *s, const struct imap_seqset *set,
    uint64_t modseq)
{
	uint32_t *gone;
	size_t ngone, n = 0;

	if (store_expunged_since(s->st, s->view.mailbox_id, modseq, &gone,
	    &ngone) != 0)
		return;
	for (size_t i = 0; i < ngone; i++)
		if (imap_seqset_has(set, gone[i], UINT32_MAX))
			gone[n++] = gone[i];
	if (n > 0)
		imap_write_vanished(s, gone, n, true);
	free(gone);
}

void
imap_cmd_fetch(struct imap_session *s, struct imap_cmd *cmd)
{
	struct fetch_ctx fc;
	struct imap_seqset set;
	uint32_t *seqs;
	size_t n;

	memset(&fc, 0, sizeof(fc));
	fc.s = s;
	fc.cmd = cmd;
	if (imap_view_seqset_arg(s, cmd, &seqs, &n, &set) != 0)
		return;
	if (imap_parse_sp(&cmd->ps) != 0 ||
	    imap_fetch_parse(&cmd->ps, &fc.req) != 0) {
		imap_seqset_free(&set);
		free(seqs);
		imap_bad_syntax(cmd);
		return;
	}
	/* RFC 7162 3.2.6: VANISHED is for UID FETCH with QRESYNC on. */
	if (fc.req.vanished && (!cmd->uid || !s->qresync)) {
		imap_seqset_free(&set);
		imap_fetch_req_free(&fc.req);
		free(seqs);
		imap_reply(cmd, "BAD VANISHED needs UID FETCH and QRESYNC");
		return;
	}
	if (fc.req.vanished)
		vanished_earlier(s, &set, fc.req.modseq);
	imap_seqset_free(&set);
	/* RFC 3501 6.4.8: UID FETCH answers always carry the UID. */
	if (cmd->uid)
		fc.req.items |= IMAP_FETCH_UID;
	/* RFC 7162 3.1: MODSEQ or CHANGEDSINCE enables CONDSTORE. */
	if ((fc.req.items & IMAP_FETCH_MODSEQ) != 0)
		s->condstore = true;
	fc.chunk = xmalloc(LIMIT_BODY_CHUNK);
	buf_init(&fc.scratch, LIMIT_MIME_HEADER_SIZE + LIMIT_MESSAGE_SIZE);
	fetch_run(&fc, seqs, n);
	buf_free(&fc.scratch);
	free(fc.chunk);
	free(seqs);
	imap_fetch_req_free(&fc.req);
}
