/*
 * cmd_list.c - LIST and LSUB (RFC 3501 6.3.8, 6.3.9), LIST-EXTENDED
 * (RFC 5258: SUBSCRIBED, SPECIAL-USE and RECURSIVEMATCH selection,
 * several patterns, RETURN options), LIST-STATUS (RFC 5819), the
 * CHILDREN attributes (RFC 3348) and special-use attributes (RFC 6154).
 *
 * The reference and each pattern are concatenated and matched against
 * every name with '*' (anything) and '%' (anything but the separator).
 * Matching is a dynamic programme over (pattern, name): O(pattern *
 * name) per name, with patterns bounded to PATTERN_MAX octets and
 * LIST_PATTERNS of them, so no pattern can make it exponential. "INBOX"
 * matches case-insensitively.
 */
#include <stdlib.h>
#include <string.h>

#include "common/ascii.h"
#include "common/xalloc.h"
#include "imapd/imap_mutf7.h"
#include "imapd/imap_session.h"

#define PATTERN_MAX (LIMIT_MAILBOX_NAME * 2)
/* Patterns in one LIST (RFC 5258 patterns). */
#define LIST_PATTERNS 16

/* One name LIST or LSUB may show. */
struct list_entry {
	const char *name;		/* in the store's lists or owned */
	const struct store_mailbox *mb;	/* NULL: it does not exist */
	bool subscribed;
	bool has_children;		/* an existing child */
	bool child_subscribed;		/* a subscribed descendant */
};

struct list_set {
	struct list_entry *v;		/* owned */
	size_t n, cap;
	char **owned;			/* owned: names of missing parents */
	size_t nowned;
};

/* What a LIST asks. */
struct list_req {
	bool lsub;
	bool sel_subscribed, sel_special, sel_recursive;
	bool ret_subscribed, ret_status;
	struct imap_status_req status;
	char patterns[LIST_PATTERNS][2 * PATTERN_MAX + 1];
	size_t npatterns;
};

static bool
match(const char *pattern, const char *name)
{
	size_t plen = strlen(pattern), nlen = strlen(name);
	bool *prev = xcalloc(nlen + 1, sizeof(bool));
	bool *cur = xcalloc(nlen + 1, sizeof(bool));
	bool result;

	/* prev[j]: pattern[0..i) matches name[0..j). */
	prev[0] = true;
	for (size_t i = 0; i < plen; i++) {
		char pc = pattern[i];
		bool *tmp;

		cur[0] = (pc == '*' || pc == '%') && prev[0];
		for (size_t j = 1; j <= nlen; j++) {
			if (pc == '*')
				cur[j] = prev[j] || cur[j - 1];
			else if (pc == '%')
				cur[j] = prev[j] || (cur[j - 1] &&
				    name[j - 1] != STORE_MAILBOX_SEP);
			else
				cur[j] = prev[j - 1] && name[j - 1] == pc;
		}
		tmp = prev;
		prev = cur;
		cur = tmp;
	}
	result = prev[nlen];
	free(prev);
	free(cur);
	return result;
}

/* make_pattern: reference + pattern with wildcard runs folded ("**",
 * "%*" are "*") and a leading "inbox" level made "INBOX". -1 when too
 * long. */
static int
make_pattern(const char *ref, const char *pat, char *out, size_t size)
{
	char joined[2 * PATTERN_MAX + 2];
	size_t n = 0;

	if (strlen(ref) + strlen(pat) >= sizeof(joined) ||
	    strlen(ref) + strlen(pat) >= size)
		return -1;
	strcpy(joined, ref);
	strcat(joined, pat);
	for (const char *src = joined; *src != '\0'; src++) {
		bool wild = *src == '*' || *src == '%';

		if (wild && n > 0 && (out[n - 1] == '*' || out[n - 1] == '%')) {
			if (*src == '*')
				out[n - 1] = '*';
			continue;
		}
		out[n++] = *src;
	}
	out[n] = '\0';
	if (n >= 5 && ascii_ieq(out, 5, "INBOX") &&
	    (out[5] == '\0' || out[5] == STORE_MAILBOX_SEP))
		memcpy(out, "INBOX", 5);
	return 0;
}

static int
entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct list_entry *)a)->name,
	    ((const struct list_entry *)b)->name);
}

static struct list_entry *
set_add(struct list_set *set, const char *name)
{
	struct list_entry *e;

	if (set->n == set->cap) {
		set->cap = set->cap == 0 ? 16 : set->cap * 2;
		set->v = xreallocarray(set->v, set->cap, sizeof(*set->v));
	}
	e = &set->v[set->n++];
	memset(e, 0, sizeof(*e));
	e->name = name;
	return e;
}

/* set_sort: sorts by name, merging duplicates. */
static void
set_sort(struct list_set *set)
{
	size_t kept = 0;

	qsort(set->v, set->n, sizeof(*set->v), entry_cmp);
	for (size_t i = 0; i < set->n; i++) {
		struct list_entry *e = &set->v[i], *k;

		if (kept == 0 || strcmp(set->v[kept - 1].name, e->name) != 0) {
			set->v[kept++] = *e;
			continue;
		}
		k = &set->v[kept - 1];
		if (k->mb == NULL)
			k->mb = e->mb;
		k->subscribed |= e->subscribed;
		k->has_children |= e->has_children;
		k->child_subscribed |= e->child_subscribed;
	}
	set->n = kept;
}

/*
 * add_parents: every ancestor of every entry gets has_children (when the
 * entry exists) and child_subscribed (when it is subscribed); missing
 * ancestors are added (mb NULL). Duplicates merge in one final sort.
 */
static void
add_parents(struct list_set *set)
{
	size_t n = set->n;

	for (size_t i = 0; i < n; i++) {
		char *copy = xstrdup(set->v[i].name), *sep;
		bool exists = set->v[i].mb != NULL;
		bool subscribed = set->v[i].subscribed;

		while ((sep = strrchr(copy, STORE_MAILBOX_SEP)) != NULL) {
			struct list_entry *parent;

			*sep = '\0';
			set->owned = xreallocarray(set->owned, set->nowned + 1,
			    sizeof(*set->owned));
			set->owned[set->nowned] = xstrdup(copy);
			parent = set_add(set, set->owned[set->nowned++]);
			parent->has_children = exists;
			parent->child_subscribed = subscribed;
		}
		free(copy);
	}
	set_sort(set);
}

static void
set_free(struct list_set *set)
{
	for (size_t i = 0; i < set->nowned; i++)
		free(set->owned[i]);
	free(set->owned);
	free(set->v);
}

/* add_pattern: reference + pattern (wire form) as a full pattern. */
static int
add_pattern(struct imap_cmd *cmd, struct list_req *req, const char *ref,
    const struct imap_str *p)
{
	char pat[PATTERN_MAX + 1];

	if (req->npatterns == LIST_PATTERNS) {
		imap_reply(cmd, "BAD Too many patterns");
		return -1;
	}
	if (imap_mutf7_to_utf8(p->s, p->len, pat, sizeof(pat)) < 0 ||
	    make_pattern(ref, pat, req->patterns[req->npatterns],
	    sizeof(req->patterns[0])) != 0) {
		imap_reply(cmd, "NO [CANNOT] Invalid or too long pattern");
		return -1;
	}
	req->npatterns++;
	return 0;
}

/* parse_select: RFC 5258 list-select-opts, after the "(". */
static int
parse_select(struct imap_parser *ps, struct list_req *req)
{
	while (!imap_parse_peek(ps, ')')) {
		struct imap_str opt;

		if ((req->sel_subscribed || req->sel_special ||
		    req->sel_recursive) && imap_parse_sp(ps) != 0)
			return -1;
		if (imap_parse_atom(ps, &opt) != 0)
			return -1;
		if (imap_str_is(&opt, "SUBSCRIBED"))
			req->sel_subscribed = true;
		else if (imap_str_is(&opt, "SPECIAL-USE"))
			req->sel_special = true;
		else if (imap_str_is(&opt, "RECURSIVEMATCH"))
			req->sel_recursive = true;
		else if (!imap_str_is(&opt, "REMOTE")) {
			ps->error = "Unknown LIST selection option";
			return -1;
		}
	}
	ps->p++;
	/* RFC 5258 3.1: RECURSIVEMATCH needs another option. */
	if (req->sel_recursive && !req->sel_subscribed && !req->sel_special) {
		ps->error = "RECURSIVEMATCH needs another selection option";
		return -1;
	}
	return imap_parse_sp(ps);
}

/* parse_return: RFC 5258 list-return-opts, after "RETURN (". */
static int
parse_return(struct imap_parser *ps, struct list_req *req)
{
	bool first = true;

	while (!imap_parse_peek(ps, ')')) {
		struct imap_str opt;

		if (!first && imap_parse_sp(ps) != 0)
			return -1;
		first = false;
		if (imap_parse_atom(ps, &opt) != 0)
			return -1;
		if (imap_str_is(&opt, "SUBSCRIBED")) {
			req->ret_subscribed = true;
		} else if (imap_str_is(&opt, "STATUS")) {
			if (imap_parse_sp(ps) != 0 ||
			    imap_status_parse(ps, &req->status) != 0)
				return -1;
			req->ret_status = true;
		} else if (!imap_str_is(&opt, "CHILDREN") &&
		    !imap_str_is(&opt, "SPECIAL-USE")) {
			ps->error = "Unknown LIST return option";
			return -1;
		}
	}
	ps->p++;
	return 0;
}

/* parse_args: the arguments of LIST (extended) or LSUB. Returns 1 for
 * the separator query (LIST "" ""), 0, or -1 answered. */
static int
parse_args(struct imap_cmd *cmd, struct list_req *req)
{
	struct imap_parser *ps = &cmd->ps;
	char ref[PATTERN_MAX + 1];
	struct imap_str r, p;
	bool empty = false;

	if (imap_parse_sp(ps) != 0)
		goto bad;
	if (!req->lsub && imap_parse_peek(ps, '(')) {
		ps->p++;
		if (parse_select(ps, req) != 0)
			goto bad;
	}
	if (imap_parse_astring(ps, &r) != 0 || imap_parse_sp(ps) != 0)
		goto bad;
	if (imap_mutf7_to_utf8(r.s, r.len, ref, sizeof(ref)) < 0) {
		imap_reply(cmd, "NO [CANNOT] Invalid reference");
		return -1;
	}
	if (!req->lsub && imap_parse_peek(ps, '(')) {
		ps->p++;
		do {
			if (req->npatterns > 0 && imap_parse_sp(ps) != 0)
				goto bad;
			if (imap_parse_list_mailbox(ps, &p) != 0)
				goto bad;
			if (add_pattern(cmd, req, ref, &p) != 0)
				return -1;
		} while (!imap_parse_peek(ps, ')'));
		ps->p++;
	} else {
		if (imap_parse_list_mailbox(ps, &p) != 0)
			goto bad;
		empty = p.len == 0;
		if (add_pattern(cmd, req, ref, &p) != 0)
			return -1;
	}
	if (!req->lsub && imap_parse_peek(ps, ' ')) {
		struct imap_str word;

		ps->p++;
		if (imap_parse_atom(ps, &word) != 0 ||
		    !imap_str_is(&word, "RETURN") || imap_parse_sp(ps) != 0 ||
		    imap_parse_char(ps, '(') != 0 || parse_return(ps, req) != 0)
			goto bad;
	}
	if (imap_parse_end(ps) != 0)
		goto bad;
	return empty && !req->sel_subscribed && !req->sel_special ? 1 : 0;
bad:
	imap_bad_syntax(cmd);
	return -1;
}

/* matches: some pattern matches; *wild_r says whether one with '*'
 * did. */
static bool
matches(const struct list_req *req, const char *name, bool *star_r)
{
	bool any = false;

	*star_r = false;
	for (size_t i = 0; i < req->npatterns; i++) {
		if (!match(req->patterns[i], name))
			continue;
		any = true;
		if (strchr(req->patterns[i], '*') != NULL)
			*star_r = true;
	}
	return any;
}

/* shown: whether e is answered, and with CHILDINFO. */
static bool
shown(const struct list_req *req, const struct list_entry *e,
    bool *childinfo_r)
{
	bool star;

	*childinfo_r = false;
	if (!matches(req, e->name, &star))
		return false;
	if (req->sel_subscribed) {
		/* RFC 5258 3.5: RECURSIVEMATCH adds the parents of
		 * matching subscribed names, with CHILDINFO. */
		if (req->sel_recursive && e->child_subscribed)
			*childinfo_r = true;
		return e->subscribed || *childinfo_r;
	}
	if (req->sel_special)
		return e->mb != NULL && e->mb->special_use != NULL;
	/* RFC 3501 6.3.8, 6.3.9: '%' also lists missing levels above what
	 * is listed, as \Noselect; '*' lists only the names themselves. */
	if (req->lsub)
		return e->subscribed || (!star && e->child_subscribed);
	return e->mb != NULL || (!star && e->has_children);
}

static void
write_entry(struct imap_session *s, const struct list_req *req,
    const struct list_entry *e, bool childinfo)
{
	const char *sep = "";

	conn_printf(s->conn, "* %s (", req->lsub ? "LSUB" : "LIST");
	if (req->lsub ? !e->subscribed : e->mb == NULL) {
		/* RFC 5258: a subscribed name that does not exist;
		 * RFC 3501 6.3.9: LSUB's unsubscribed levels. */
		conn_printf(s->conn, "%s", e->subscribed && !req->lsub ?
		    "\\NonExistent" : "\\Noselect");
		sep = " ";
	}
	if (e->mb != NULL && e->mb->special_use != NULL && !req->lsub) {
		conn_printf(s->conn, "%s%s", sep, e->mb->special_use);
		sep = " ";
	}
	if (e->subscribed && !req->lsub &&
	    (req->ret_subscribed || req->sel_subscribed)) {
		conn_printf(s->conn, "%s\\Subscribed", sep);
		sep = " ";
	}
	/* RFC 3348 attributes belong to LIST. */
	if (!req->lsub)
		conn_printf(s->conn, "%s%s", sep, e->has_children ?
		    "\\HasChildren" : "\\HasNoChildren");
	conn_printf(s->conn, ") \"/\" ");
	imap_write_mailbox(s->conn, e->name);
	if (childinfo)
		conn_printf(s->conn, " (\"CHILDINFO\" (\"SUBSCRIBED\"))");
	conn_printf(s->conn, "\r\n");
	/* RFC 5819: the STATUS of each selectable mailbox listed. */
	if (req->ret_status && e->mb != NULL)
		imap_status_write(s, e->mb, &req->status);
}

static void
list_run(struct imap_session *s, struct imap_cmd *cmd, struct list_req *req)
{
	struct store_mailbox *mbs = NULL;
	struct list_set set;
	char **subs = NULL;
	size_t nmbs = 0;
	int ret;

	memset(&set, 0, sizeof(set));
	if ((ret = store_mailbox_list(s->st, s->user_id, &mbs, &nmbs)) != 0 ||
	    (ret = store_subscription_list(s->st, s->user_id, &subs)) != 0) {
		store_mailbox_list_free(&mbs, nmbs);
		imap_store_error(cmd, ret);
		return;
	}
	for (size_t i = 0; i < nmbs; i++) {
		struct list_entry *e = set_add(&set, mbs[i].name);

		e->mb = &mbs[i];
	}
	/* Subscribed names, existing or not (RFC 3501 6.3.6). */
	for (size_t i = 0; subs[i] != NULL; i++)
		set_add(&set, subs[i])->subscribed = true;
	set_sort(&set);
	add_parents(&set);
	for (size_t i = 0; i < set.n; i++) {
		const struct list_entry *e = &set.v[i];
		bool childinfo;

		if (shown(req, e, &childinfo))
			write_entry(s, req, e, childinfo);
	}
	set_free(&set);
	store_strv_free(&subs);
	store_mailbox_list_free(&mbs, nmbs);
	imap_reply(cmd, "OK %s completed", cmd->name);
}

static void
list_or_lsub(struct imap_session *s, struct imap_cmd *cmd, bool lsub)
{
	struct list_req *req = xcalloc(1, sizeof(*req));
	int ret;

	req->lsub = lsub;
	if ((ret = parse_args(cmd, req)) == 1) {
		conn_printf(s->conn, "* %s (\\Noselect) \"/\" \"\"\r\n",
		    lsub ? "LSUB" : "LIST");
		imap_reply(cmd, "OK %s completed", cmd->name);
	} else if (ret == 0) {
		list_run(s, cmd, req);
	}
	free(req);
}

void
imap_cmd_list(struct imap_session *s, struct imap_cmd *cmd)
{
	list_or_lsub(s, cmd, false);
}

void
imap_cmd_lsub(struct imap_session *s, struct imap_cmd *cmd)
{
	list_or_lsub(s, cmd, true);
}
