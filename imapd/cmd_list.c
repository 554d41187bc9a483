/*
 * cmd_list.c - LIST and LSUB (RFC 3501 6.3.8, 6.3.9) with the CHILDREN
 * attributes (RFC 3348) and special-use attributes (RFC 6154).
 *
 * The reference and pattern are concatenated and matched against every
 * name with '*' (anything) and '%' (anything but the separator). Matching
 * is a dynamic programme over (pattern, name): O(pattern * name) per
 * name, with the pattern bounded to PATTERN_MAX octets, so no pattern can
 * make it exponential. "INBOX" matches case-insensitively.
 */
#include <stdlib.h>
#include <string.h>

#include "common/ascii.h"
#include "common/xalloc.h"
#include "imapd/imap_mutf7.h"
#include "imapd/imap_session.h"

#define PATTERN_MAX (LIMIT_MAILBOX_NAME * 2)

/* One name LIST may show. */
struct list_entry {
	const char *name;		/* points into the store's list */
	const char *special_use;	/* or NULL */
	bool exists;			/* false: a missing parent */
	bool has_children;
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
entry_find(struct list_entry *v, size_t n, const char *name)
{
	struct list_entry key = { .name = name };

	return bsearch(&key, v, n, sizeof(*v), entry_cmp);
}

/*
 * build_entries: the names to consider, sorted: each of names[], plus,
 * when with_parents, the missing parents of any of them ("a" for a lone
 * "a/b"). Parents are strdup'd into *owned_r (free each, then it).
 */
static struct list_entry *
build_entries(const char *const *names, const char *const *uses, size_t n,
    bool with_parents, size_t *count_r, char ***owned_r, size_t *nowned_r)
{
	struct list_entry *v = xcalloc(n + 1, sizeof(*v));
	size_t count = n, cap = n + 1, nowned = 0;
	char **owned = NULL;

	for (size_t i = 0; i < n; i++) {
		v[i].name = names[i];
		v[i].special_use = uses != NULL ? uses[i] : NULL;
		v[i].exists = true;
	}
	qsort(v, count, sizeof(*v), entry_cmp);
	for (size_t i = 0; i < n; i++) {
		char *copy = xstrdup(names[i]);
		char *sep;

		while ((sep = strrchr(copy, STORE_MAILBOX_SEP)) != NULL) {
			struct list_entry *parent;

			*sep = '\0';
			parent = entry_find(v, count, copy);
			if (parent != NULL) {
				parent->has_children = true;
				continue;
			}
			if (!with_parents)
				continue;
			if (count == cap) {
				cap *= 2;
				v = xreallocarray(v, cap, sizeof(*v));
			}
			owned = xreallocarray(owned, nowned + 1,
			    sizeof(*owned));
			owned[nowned] = xstrdup(copy);
			v[count].name = owned[nowned++];
			v[count].special_use = NULL;
			v[count].exists = false;
			v[count].has_children = true;
			count++;
			qsort(v, count, sizeof(*v), entry_cmp);
		}
		free(copy);
	}
	*count_r = count;
	*owned_r = owned;
	*nowned_r = nowned;
	return v;
}

/* parse_args: "LIST reference pattern" decoded into the full pattern.
 * 1 for the empty pattern (the separator query), 0, or -1 answered. */
static int
parse_args(struct imap_cmd *cmd, char *full, size_t size)
{
	char ref[PATTERN_MAX + 1], pat[PATTERN_MAX + 1];
	struct imap_str r, p;

	if (imap_parse_sp(&cmd->ps) != 0 ||
	    imap_parse_astring(&cmd->ps, &r) != 0 ||
	    imap_parse_sp(&cmd->ps) != 0 ||
	    imap_parse_list_mailbox(&cmd->ps, &p) != 0 ||
	    imap_parse_end(&cmd->ps) != 0) {
		imap_bad_syntax(cmd);
		return -1;
	}
	if (imap_mutf7_to_utf8(r.s, r.len, ref, sizeof(ref)) < 0 ||
	    imap_mutf7_to_utf8(p.s, p.len, pat, sizeof(pat)) < 0 ||
	    make_pattern(ref, pat, full, size) != 0) {
		imap_reply(cmd, "NO [CANNOT] Invalid or too long pattern");
		return -1;
	}
	return p.len == 0 ? 1 : 0;
}

static void
write_entry(struct imap_session *s, const char *verb,
    const struct list_entry *e)
{
	const char *sep = "";

	conn_printf(s->conn, "* %s (", verb);
	if (!e->exists) {
		conn_printf(s->conn, "\\Noselect");
		sep = " ";
	}
	if (e->special_use != NULL) {
		conn_printf(s->conn, "%s%s", sep, e->special_use);
		sep = " ";
	}
	/* RFC 3348 attributes belong to LIST. */
	if (strcmp(verb, "LIST") == 0)
		conn_printf(s->conn, "%s%s", sep, e->has_children ?
		    "\\HasChildren" : "\\HasNoChildren");
	conn_printf(s->conn, ") \"/\" ");
	imap_write_mailbox(s->conn, e->name);
	conn_printf(s->conn, "\r\n");
}

static void
list_names(struct imap_session *s, const char *verb, const char *pattern,
    const char *const *names, const char *const *uses, size_t n)
{
	/* RFC 3501 6.3.8: '%' also lists missing levels as \Noselect;
	 * '*' lists only what exists. */
	bool with_parents = strchr(pattern, '*') == NULL;
	struct list_entry *v;
	char **owned;
	size_t count, nowned;

	v = build_entries(names, uses, n, with_parents, &count, &owned,
	    &nowned);
	for (size_t i = 0; i < count; i++)
		if (match(pattern, v[i].name))
			write_entry(s, verb, &v[i]);
	for (size_t i = 0; i < nowned; i++)
		free(owned[i]);
	free(owned);
	free(v);
}

void
imap_cmd_list(struct imap_session *s, struct imap_cmd *cmd)
{
	char pattern[2 * PATTERN_MAX + 1];
	struct store_mailbox *mbs;
	const char **names, **uses;
	size_t n;
	int ret;

	if ((ret = parse_args(cmd, pattern, sizeof(pattern))) < 0)
		return;
	if (ret == 1) {
		conn_printf(s->conn, "* LIST (\\Noselect) \"/\" \"\"\r\n");
		imap_reply(cmd, "OK LIST completed");
		return;
	}
	if ((ret = store_mailbox_list(s->st, s->user_id, &mbs, &n)) != 0) {
		imap_store_error(cmd, ret);
		return;
	}
	names = xcalloc(n + 1, sizeof(*names));
	uses = xcalloc(n + 1, sizeof(*uses));
	for (size_t i = 0; i < n; i++) {
		names[i] = mbs[i].name;
		uses[i] = mbs[i].special_use;
	}
	list_names(s, "LIST", pattern, names, uses, n);
	free(names);
	free(uses);
	store_mailbox_list_free(&mbs, n);
	imap_reply(cmd, "OK LIST completed");
}

void
imap_cmd_lsub(struct imap_session *s, struct imap_cmd *cmd)
{
	char pattern[2 * PATTERN_MAX + 1];
	char **subs;
	size_t n = 0;
	int ret;

	if ((ret = parse_args(cmd, pattern, sizeof(pattern))) < 0)
		return;
	if (ret == 1) {
		conn_printf(s->conn, "* LSUB (\\Noselect) \"/\" \"\"\r\n");
		imap_reply(cmd, "OK LSUB completed");
		return;
	}
	if ((ret = store_subscription_list(s->st, s->user_id, &subs)) != 0) {
		imap_store_error(cmd, ret);
		return;
	}
	while (subs[n] != NULL)
		n++;
	list_names(s, "LSUB", pattern, (const char *const *)subs, NULL, n);
	store_strv_free(&subs);
	imap_reply(cmd, "OK LSUB completed");
}
