/*
 * imap_view.c - the selected mailbox as one session sees it: the map
 * from message sequence numbers to UIDs (RFC 3501 2.3.1.2), kept in step
 * with the store at the points RFC 3501 7.4.1 allows.
 *
 * No polling: before each tagged answer the session compares the store's
 * (uidnext, highestmodseq) with the last seen, one primary-key lookup;
 * only when they moved does it read what changed since (index lookups
 * by MODSEQ and UID, never the whole mailbox) and report it as EXPUNGE,
 * FETCH (FLAGS) and EXISTS. Messages expunged by others while EXPUNGE
 * may not be sent stay in the map ("pending") until it may: their
 * numbers must not shift under the client.
 *
 * \Recent is not kept (IMAP4rev2, RFC 9051, removed it): RECENT is 0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xalloc.h"
#include "imapd/imap_session.h"

static void
view_push(struct imap_view *v, uint32_t uid)
{
	if (v->count == v->cap) {
		v->cap = v->cap == 0 ? 64 : v->cap * 2;
		v->uids = xreallocarray(v->uids, v->cap, sizeof(*v->uids));
	}
	v->uids[v->count++] = uid;
}

/* lower_bound: the first index whose UID is >= uid. */
static uint32_t
lower_bound(const struct imap_view *v, uint32_t uid)
{
	uint32_t lo = 0, hi = v->count;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (v->uids[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int
imap_view_open(struct imap_session *s, const struct store_mailbox *mb,
    bool readonly)
{
	struct imap_view *v = &s->view;
	uint32_t *uids;
	size_t n;
	int ret;

	imap_view_close(s);
	if ((ret = store_message_uids(s->st, mb->id, &uids, &n)) != 0)
		return ret;
	if (n > UINT32_MAX) {
		free(uids);
		return STORE_ERR_LIMIT;
	}
	v->mailbox_id = mb->id;
	snprintf(v->name, sizeof(v->name), "%s", mb->name);
	v->readonly = readonly;
	v->uidvalidity = mb->uidvalidity;
	/* mb was read before the list: a change in between is reported by
	 * the next sync rather than lost. */
	v->uidnext = mb->uidnext;
	v->highestmodseq = mb->highestmodseq;
	/* The store's array becomes the map: no copy. */
	v->uids = uids;
	v->count = v->cap = (uint32_t)n;
	return 0;
}

void
imap_view_close(struct imap_session *s)
{
	free(s->view.pending);
	free(s->view.saved);
	free(s->view.uids);
	memset(&s->view, 0, sizeof(s->view));
}

bool
imap_uid_in(const uint32_t *uids, size_t n, uint32_t uid)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (uids[mid] == uid)
			return true;
		if (uids[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* pending_add: remembers the view's messages among gone[0..n) (ascending)
 * as expunged, to be announced when EXPUNGE may be sent. */
static void
pending_add(struct imap_view *v, const uint32_t *gone, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t at = lower_bound(v, gone[i]);
		size_t k = v->npending;

		if (at == v->count || v->uids[at] != gone[i] ||
		    imap_uid_in(v->pending, v->npending, gone[i]))
			continue;
		v->pending = xreallocarray(v->pending, v->npending + 1,
		    sizeof(*v->pending));
		/* Kept ascending, for imap_uid_in(). */
		while (k > 0 && v->pending[k - 1] > gone[i]) {
			v->pending[k] = v->pending[k - 1];
			k--;
		}
		v->pending[k] = gone[i];
		v->npending++;
	}
}

/* expunge_pending: announces the pending expunges: "* n EXPUNGE",
 * highest number first so the others keep theirs, or with QRESYNC one
 * "* VANISHED uid-set" (RFC 7162 3.2.10); then drops them from the map. */
static void
expunge_pending(struct imap_session *s)
{
	struct imap_view *v = &s->view;
	uint32_t kept = 0;

	if (v->npending == 0)
		return;
	for (uint32_t i = v->count; i > 0 && !s->qresync; i--)
		if (imap_uid_in(v->pending, v->npending, v->uids[i - 1]))
			conn_printf(s->conn, "* %u EXPUNGE\r\n", i);
	if (s->qresync)
		imap_write_vanished(s, v->pending, v->npending, false);
	for (uint32_t i = 0; i < v->count; i++)
		if (!imap_uid_in(v->pending, v->npending, v->uids[i]))
			v->uids[kept++] = v->uids[i];
	v->count = kept;
	free(v->pending);
	v->pending = NULL;
	v->npending = 0;
}

void
imap_write_vanished(struct imap_session *s, uint32_t *uids, size_t n,
    bool earlier)
{
	size_t size = n * 22 + 1;
	char *set = xmalloc(size);

	/* Callers may hand them in either order. */
	if (n > 1 && uids[0] > uids[n - 1])
		for (size_t i = 0; i < n / 2; i++) {
			uint32_t t = uids[i];

			uids[i] = uids[n - 1 - i];
			uids[n - 1 - i] = t;
		}
	if (imap_uidset_format(uids, n, set, size) != 0)
		fatal("imap: VANISHED set larger than its bound");
	conn_printf(s->conn, "* VANISHED %s%s\r\n",
	    earlier ? "(EARLIER) " : "", set);
	free(set);
}

/* report_changed: "* n FETCH (UID FLAGS [MODSEQ])" for the view's
 * messages whose MODSEQ passed the last seen, those in skip aside. */
static void
report_changed(struct imap_session *s, const uint32_t *skip, size_t nskip,
    uint32_t last_uid)
{
	struct imap_view *v = &s->view;
	struct store_message *msgs;
	size_t n;

	if (store_message_changed(s->st, v->mailbox_id, v->highestmodseq,
	    last_uid, &msgs, &n) != 0)
		return;
	for (size_t i = 0; i < n; i++) {
		uint32_t seq = lower_bound(v, msgs[i].uid);

		if (seq == v->count || v->uids[seq] != msgs[i].uid ||
		    imap_uid_in(skip, nskip, msgs[i].uid))
			continue;
		conn_printf(s->conn, "* %u FETCH (UID %u FLAGS ", seq + 1,
		    msgs[i].uid);
		imap_write_flags(s->conn, msgs[i].flags, msgs[i].keywords,
		    false);
		/* RFC 7162 3.1.4.1: with CONDSTORE, FLAGS come with MODSEQ. */
		if (s->condstore)
			conn_printf(s->conn, " MODSEQ (%llu)",
			    (unsigned long long)msgs[i].modseq);
		conn_printf(s->conn, ")\r\n");
	}
	store_message_list_free(&msgs, n);
}

void
imap_view_sync(struct imap_session *s, bool expunges_ok,
    const uint32_t *skip, size_t nskip)
{
	struct imap_view *v = &s->view;
	struct store_mailbox_state state;
	struct store_message *msgs;
	uint32_t last_uid, old_count, *gone;
	size_t n;
	int ret;

	if (s->state != IMAP_STATE_SELECTED)
		return;
	ret = store_mailbox_state(s->st, v->mailbox_id, &state);
	if (ret == STORE_ERR_NOT_FOUND) {
		conn_printf(s->conn, "* BYE Selected mailbox was deleted\r\n");
		s->logout = true;
		return;
	}
	if (ret != 0)
		return;
	/* Only what changed since the last sync is read (index lookups):
	 * a push to many idle sessions costs what changed, not what the
	 * mailbox holds. The state is read first: a change racing with the
	 * reads below is reported now or at the next sync, never lost. */
	if (state.uidnext != v->uidnext ||
	    state.highestmodseq != v->highestmodseq) {
		last_uid = v->count > 0 ? v->uids[v->count - 1] : 0;
		if (store_expunged_since(s->st, v->mailbox_id,
		    v->highestmodseq, &gone, &n) == 0) {
			pending_add(v, gone, n);
			free(gone);
		}
		if (expunges_ok)
			expunge_pending(s);
		report_changed(s, skip, nskip, last_uid);
		old_count = v->count;
		if (store_message_list(s->st, v->mailbox_id, last_uid + 1, 0,
		    &msgs, &n) == 0) {
			for (size_t i = 0; i < n; i++)
				view_push(v, msgs[i].uid);
			store_message_list_free(&msgs, n);
		}
		if (v->count != old_count)
			conn_printf(s->conn, "* %u EXISTS\r\n", v->count);
		v->uidnext = state.uidnext;
		v->highestmodseq = state.highestmodseq;
	}
	/* RFC 3501 7.4.1: not during FETCH, STORE or SEARCH by number;
	 * until then the expunged messages keep their numbers. */
	if (expunges_ok)
		expunge_pending(s);
}

int
imap_view_resolve(struct imap_session *s, struct imap_cmd *cmd,
    const struct imap_seqset *set, bool uid, uint32_t **seqs_r,
    size_t *count_r)
{
	const struct imap_view *v = &s->view;
	uint32_t max = uid ? (v->count > 0 ? v->uids[v->count - 1] : 0) :
	    v->count;
	int32_t *diff = xcalloc((size_t)v->count + 1, sizeof(*diff));
	uint32_t *seqs;
	size_t n = 0;
	int32_t depth = 0;

	/* RFC 5182 2.1: "$" is the saved result, whatever the command. */
	for (size_t i = 0; set->saved && i < v->nsaved; i++) {
		uint32_t at = lower_bound(v, v->saved[i]);

		if (at < v->count && v->uids[at] == v->saved[i]) {
			diff[at]++;
			diff[at + 1]--;
		}
	}
	for (size_t i = 0; i < set->n; i++) {
		uint64_t lo = set->v[i].lo, hi = set->v[i].hi, tmp;
		uint32_t first, end;

		lo = lo == IMAP_SEQ_STAR ? max : lo;
		hi = hi == IMAP_SEQ_STAR ? max : hi;
		if (lo > hi) {
			tmp = lo;
			lo = hi;
			hi = tmp;
		}
		if (!uid) {
			/* RFC 3501 9: a number past EXISTS is invalid. */
			if (lo == 0 || hi > v->count) {
				free(diff);
				imap_reply(cmd, "BAD Invalid sequence number "
				    "(the mailbox has %u messages)", v->count);
				return -1;
			}
			first = (uint32_t)lo - 1;
			end = (uint32_t)hi;
		} else {
			if (lo == 0)
				continue;	/* an empty mailbox's "*" */
			first = lower_bound(v, (uint32_t)lo);
			end = hi >= UINT32_MAX ? v->count :
			    lower_bound(v, (uint32_t)hi + 1);
		}
		if (first >= end)
			continue;
		diff[first]++;
		diff[end]--;
	}
	seqs = xcalloc((size_t)v->count + 1, sizeof(*seqs));
	for (uint32_t i = 0; i < v->count; i++) {
		depth += diff[i];
		if (depth > 0)
			seqs[n++] = i + 1;
	}
	free(diff);
	*seqs_r = seqs;
	*count_r = n;
	return 0;
}

int
imap_view_seqset_arg(struct imap_session *s, struct imap_cmd *cmd,
    uint32_t **seqs_r, size_t *count_r, struct imap_seqset *raw_r)
{
	struct imap_seqset set;
	int ret;

	if (imap_parse_sp(&cmd->ps) != 0 ||
	    imap_parse_seqset(&cmd->ps, &set) != 0) {
		imap_bad_syntax(cmd);
		return -1;
	}
	ret = imap_view_resolve(s, cmd, &set, cmd->uid, seqs_r, count_r);
	if (ret == 0 && raw_r != NULL)
		*raw_r = set;
	else
		imap_seqset_free(&set);
	return ret;
}

void
imap_view_save(struct imap_session *s, const uint32_t *uids, size_t n)
{
	free(s->view.saved);
	s->view.saved = xcalloc(n + 1, sizeof(*uids));
	memcpy(s->view.saved, uids, n * sizeof(*uids));
	s->view.nsaved = n;
}

uint32_t *
imap_view_uids(const struct imap_session *s, const uint32_t *seqs, size_t n)
{
	uint32_t *uids = xcalloc(n + 1, sizeof(*uids));

	for (size_t i = 0; i < n; i++)
		uids[i] = s->view.uids[seqs[i] - 1];
	return uids;
}

bool
imap_view_writable(struct imap_session *s, struct imap_cmd *cmd)
{
	if (!s->view.readonly)
		return true;
	imap_reply(cmd, "NO [READ-ONLY] Mailbox is read-only");
	return false;
}
