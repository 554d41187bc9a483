/*
 * test_store.c - the store API of store/store.h, function by function.
 *
 * Each test gets a fresh data directory with a store holding the domain
 * example.org and the users alice, bob and carol (password "secret"), and
 * asserts the exact return codes and the state after. The few checks that
 * need to look under the API (the stored password hash, "nothing was
 * written", the schema version) read the database with SQLite directly,
 * without knowing its tables.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "common/limits.h"
#include "common/mime.h"
#include "common/mime_text.h"

#define DATE 1700000000

/* One hash of "secret" for every user, made once: hashing per test would
 * only slow the suite. */
static struct auth_ctx *g_auth;
static char g_hash[AUTH_HASH_MAX];

struct fx {
	char *dir;		/* owned */
	struct store *st;	/* owned */
	int64_t alice, bob, carol;
};

/* ---- Fixture ---------------------------------------------------------- */

static int
group_setup(void **state)
{
	g_auth = tu_auth_fast();
	if (auth_hash(g_auth, "secret", g_hash) != 0)
		return -1;
	return 0;
}

static int
group_teardown(void **state)
{
	auth_ctx_free(&g_auth);
	return 0;
}

static int
setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	fx->dir = tu_tempdir();
	fx->st = tu_store_open(fx->dir);
	assert_int_equal(store_domain_add(fx->st, "example.org"), 0);
	assert_int_equal(store_user_add(fx->st, "alice@example.org", g_hash, 0,
	    &fx->alice), 0);
	assert_int_equal(store_user_add(fx->st, "bob@example.org", g_hash, 0,
	    &fx->bob), 0);
	assert_int_equal(store_user_add(fx->st, "carol@example.org", g_hash, 0,
	    &fx->carol), 0);
	assert_true(fx->alice > 0 && fx->bob > 0 && fx->carol > 0);
	assert_true(fx->alice != fx->bob && fx->bob != fx->carol &&
	    fx->alice != fx->carol);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	if (fx == NULL)
		return 0;
	store_close(&fx->st);
	tu_rmtree(fx->dir);
	free(fx->dir);
	free(fx);
	return 0;
}

/* ---- Helpers ---------------------------------------------------------- */

static void
check_report(void *arg, const char *text)
{
	int *problems = arg;

	(*problems)++;
	print_message("# store_check: %s\n", text);
}

/* check_clean: store_check finds nothing wrong (the problems it reports
 * are printed above the failure, which names the caller's line). */
static void
check_clean_at(struct store *st, int line)
{
	int problems = 0, ret = store_check(st, check_report, &problems);

	if (ret != 0 || problems != 0)
		fail_msg("store_check from line %d: %d (%s), %d problems", line,
		    ret, store_strerror(ret), problems);
}
#define check_clean(st) check_clean_at((st), __LINE__)

static void
mbox_get(struct fx *fx, int64_t user, const char *name,
    struct store_mailbox *mb)
{
	int ret;

	memset(mb, 0, sizeof(*mb));
	ret = store_mailbox_get(fx->st, user, name, mb);
	if (ret != 0)
		fail_msg("store_mailbox_get(%s): %d", name, ret);
}

static int64_t
mbox_id(struct fx *fx, int64_t user, const char *name)
{
	struct store_mailbox mb;
	int64_t id;

	mbox_get(fx, user, name, &mb);
	id = mb.id;
	store_mailbox_clear(&mb);
	return id;
}

static uint32_t
mbox_messages(struct fx *fx, int64_t user, const char *name)
{
	struct store_mailbox mb;
	uint32_t n;

	mbox_get(fx, user, name, &mb);
	n = mb.messages;
	store_mailbox_clear(&mb);
	return n;
}

static uint64_t
mbox_modseq(struct fx *fx, int64_t user, const char *name)
{
	struct store_mailbox mb;
	uint64_t m;

	mbox_get(fx, user, name, &mb);
	m = mb.highestmodseq;
	store_mailbox_clear(&mb);
	return m;
}

static bool
mbox_exists(struct fx *fx, int64_t user, const char *name)
{
	struct store_mailbox mb;
	int ret;

	memset(&mb, 0, sizeof(mb));
	ret = store_mailbox_get(fx->st, user, name, &mb);
	if (ret == 0) {
		store_mailbox_clear(&mb);
		return true;
	}
	assert_int_equal(ret, STORE_ERR_NOT_FOUND);
	return false;
}

static uint32_t
append_n(struct fx *fx, int64_t mailbox_id, const char *data, size_t len,
    uint32_t flags, const char *keywords)
{
	uint32_t uid = 0;
	int ret;

	ret = store_append(fx->st, mailbox_id, data, len, flags, keywords,
	    DATE, &uid);
	if (ret != 0)
		fail_msg("store_append: %d", ret);
	assert_true(uid > 0);
	return uid;
}

static uint32_t
append(struct fx *fx, int64_t mailbox_id, const char *data, uint32_t flags,
    const char *keywords)
{
	return append_n(fx, mailbox_id, data, strlen(data), flags, keywords);
}

/* deliver1: data into user's INBOX; returns the UID. */
static uint32_t
deliver1(struct fx *fx, int64_t user, const char *data)
{
	int result = 99;
	uint32_t uid = 0;

	assert_int_equal(store_deliver(fx->st, &user, 1, data, strlen(data),
	    DATE, &result, &uid), 0);
	assert_int_equal(result, 0);
	assert_true(uid > 0);
	return uid;
}

static void
msg_get(struct fx *fx, int64_t mailbox_id, uint32_t uid,
    struct store_message *m)
{
	int ret;

	memset(m, 0, sizeof(*m));
	ret = store_message_get(fx->st, mailbox_id, uid, m);
	if (ret != 0)
		fail_msg("store_message_get(uid %u): %d", uid, ret);
}

static int64_t
msg_body_id(struct fx *fx, int64_t mailbox_id, uint32_t uid)
{
	struct store_message m;
	int64_t id;

	msg_get(fx, mailbox_id, uid, &m);
	id = m.body_id;
	store_message_clear(&m);
	return id;
}

static uint64_t
msg_modseq(struct fx *fx, int64_t mailbox_id, uint32_t uid)
{
	struct store_message m;
	uint64_t modseq;

	msg_get(fx, mailbox_id, uid, &m);
	modseq = m.modseq;
	store_message_clear(&m);
	return modseq;
}

static void
assert_body(struct fx *fx, int64_t mailbox_id, uint32_t uid,
    const char *want, size_t want_len)
{
	char *data = NULL;
	size_t len = 12345;

	assert_int_equal(store_body_read(fx->st, mailbox_id, uid, &data,
	    &len), 0);
	assert_non_null(data);
	assert_int_equal(len, want_len);
	if (want_len > 0)
		assert_memory_equal(data, want, want_len);
	assert_int_equal(data[len], '\0');
	free(data);
}

static void
user_usage(struct fx *fx, const char *address, int64_t *used,
    int64_t *messages)
{
	struct store_user u;

	memset(&u, 0, sizeof(u));
	assert_int_equal(store_user_get(fx->st, address, &u), 0);
	*used = u.used_bytes;
	*messages = u.messages;
	store_user_clear(&u);
}

static void
assert_usage(struct fx *fx, const char *address, int64_t used,
    int64_t messages)
{
	int64_t u, m;

	user_usage(fx, address, &u, &m);
	if (u != used || m != messages)
		fail_msg("%s: used %lld bytes in %lld messages, expected "
		    "%lld in %lld", address, (long long)u, (long long)m,
		    (long long)used, (long long)messages);
}

/* list_uids: the UIDs of store_message_list(lo, hi) into out. */
static size_t
list_uids(struct fx *fx, int64_t mailbox_id, uint32_t lo, uint32_t hi,
    uint32_t *out, size_t max)
{
	struct store_message *msgs = NULL;
	size_t count = 999;

	assert_int_equal(store_message_list(fx->st, mailbox_id, lo, hi, &msgs,
	    &count), 0);
	assert_true(count <= max);
	for (size_t i = 0; i < count; i++) {
		out[i] = msgs[i].uid;
		if (i > 0)
			assert_true(out[i] > out[i - 1]);
	}
	store_message_list_free(&msgs, count);
	assert_null(msgs);
	return count;
}

static void
assert_uids(const uint32_t *got, size_t count, const uint32_t *want,
    size_t want_count)
{
	assert_int_equal(count, want_count);
	for (size_t i = 0; i < count; i++)
		assert_int_equal(got[i], want[i]);
}

/* kw_has: keyword kw is in the space-separated list (case-insensitive, as
 * IMAP compares keywords). kw_count: how many keywords the list holds. */
static bool
kw_has(const char *list, const char *kw)
{
	size_t n = strlen(kw);
	const char *p = list;

	while (*p != '\0') {
		size_t len = strcspn(p, " ");

		if (len == n && strncasecmp(p, kw, n) == 0)
			return true;
		p += len;
		while (*p == ' ')
			p++;
	}
	return false;
}

static size_t
kw_count(const char *list)
{
	size_t count = 0;
	const char *p = list;

	while (*p == ' ')
		p++;
	while (*p != '\0') {
		count++;
		p += strcspn(p, " ");
		while (*p == ' ')
			p++;
	}
	return count;
}

static bool
strv_has(char **strv, const char *s)
{
	for (size_t i = 0; strv != NULL && strv[i] != NULL; i++)
		if (strcmp(strv[i], s) == 0)
			return true;
	return false;
}

static size_t
strv_len(char **strv)
{
	size_t n = 0;

	while (strv != NULL && strv[n] != NULL)
		n++;
	return n;
}

/* resolve1: address resolves to exactly one user. */
static int64_t
resolve1(struct fx *fx, const char *address)
{
	int64_t ids[LIMIT_RECIPIENTS];
	size_t count = 0;
	int ret = store_resolve(fx->st, address, ids, &count);

	if (ret != 0)
		fail_msg("store_resolve(%s): %d", address, ret);
	assert_int_equal(count, 1);
	return ids[0];
}

static int
resolve_err(struct fx *fx, const char *address)
{
	int64_t ids[LIMIT_RECIPIENTS];
	size_t count = 0;

	return store_resolve(fx->st, address, ids, &count);
}

/* ---- Direct database access (no knowledge of the schema) -------------- */

static sqlite3 *
db_open(const char *dir)
{
	char *path = tu_path(dir, "letterbox.db");
	sqlite3 *db = NULL;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) !=
	    SQLITE_OK)
		fail_msg("sqlite3_open %s: %s", path, sqlite3_errmsg(db));
	sqlite3_busy_timeout(db, 5000);
	free(path);
	return db;
}

/* db_tables: the names of the ordinary tables, NULL-terminated. */
static char **
db_tables(sqlite3 *db)
{
	sqlite3_stmt *stmt;
	char **names = calloc(1, sizeof(*names));
	size_t n = 0;

	assert_int_equal(sqlite3_prepare_v2(db, "SELECT name FROM "
	    "sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
	    -1, &stmt, NULL), SQLITE_OK);
	while (sqlite3_step(stmt) == SQLITE_ROW) {
		names = realloc(names, (n + 2) * sizeof(*names));
		assert_non_null(names);
		names[n++] = strdup((const char *)sqlite3_column_text(stmt, 0));
		names[n] = NULL;
	}
	sqlite3_finalize(stmt);
	return names;
}

static void
strv_free_plain(char **strv)
{
	for (size_t i = 0; strv != NULL && strv[i] != NULL; i++)
		free(strv[i]);
	free(strv);
}

static sqlite3_stmt *
db_select_all(sqlite3 *db, const char *table)
{
	char *sql = sqlite3_mprintf("SELECT * FROM \"%w\"", table);
	sqlite3_stmt *stmt = NULL;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL),
	    SQLITE_OK);
	sqlite3_free(sql);
	return stmt;
}

/* db_total_rows: rows in all tables: equal before and after an operation
 * that must leave nothing behind. */
static int64_t
db_total_rows(const char *dir)
{
	sqlite3 *db = db_open(dir);
	char **tables = db_tables(db);
	int64_t total = 0;

	for (size_t i = 0; tables[i] != NULL; i++) {
		sqlite3_stmt *stmt = db_select_all(db, tables[i]);

		while (sqlite3_step(stmt) == SQLITE_ROW)
			total++;
		sqlite3_finalize(stmt);
	}
	strv_free_plain(tables);
	sqlite3_close(db);
	return total;
}

/* db_hashes: every text value in the database that is an argon2id hash. */
static char **
db_hashes(const char *dir)
{
	sqlite3 *db = db_open(dir);
	char **tables = db_tables(db);
	char **hashes = calloc(1, sizeof(*hashes));
	size_t n = 0;

	assert_non_null(hashes);
	for (size_t i = 0; tables[i] != NULL; i++) {
		sqlite3_stmt *stmt = db_select_all(db, tables[i]);

		while (sqlite3_step(stmt) == SQLITE_ROW) {
			for (int c = 0; c < sqlite3_column_count(stmt); c++) {
				const char *v;

				if (sqlite3_column_type(stmt, c) != SQLITE_TEXT)
					continue;
				v = (const char *)sqlite3_column_text(stmt, c);
				if (strncmp(v, "$argon2id$", 10) != 0)
					continue;
				hashes = realloc(hashes,
				    (n + 2) * sizeof(*hashes));
				assert_non_null(hashes);
				hashes[n++] = strdup(v);
				hashes[n] = NULL;
			}
		}
		sqlite3_finalize(stmt);
	}
	strv_free_plain(tables);
	sqlite3_close(db);
	return hashes;
}

/* db_int: the first column of the first row sql gives, as an int. */
static int
db_int(const char *dir, const char *sql)
{
	sqlite3 *db = db_open(dir);
	sqlite3_stmt *stmt;
	int v;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	v = sqlite3_column_int(stmt, 0);
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	return v;
}

static int
db_user_version(const char *dir)
{
	return db_int(dir, "PRAGMA user_version");
}

/* ---- Opening ---------------------------------------------------------- */

static void
test_open_creates_dir(void **state)
{
	struct fx *fx = *state;
	char *data = tu_path(fx->dir, "data");
	char *db = tu_path(data, "letterbox.db");
	struct store *st = NULL;
	char *error = NULL;
	struct stat sb;

	assert_int_equal(store_open(data, &st, &error), 0);
	assert_non_null(st);
	assert_int_equal(stat(data, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	assert_int_equal(sb.st_mode & 07777, 0700);
	assert_int_equal(stat(db, &sb), 0);
	assert_true(store_schema_version() >= 1);
	assert_int_equal(db_user_version(data), store_schema_version());
	store_close(&st);
	assert_null(st);
	store_close(&st);	/* harmless on NULL */
	free(error);
	free(db);
	free(data);
}

static void
test_reopen_keeps_data(void **state)
{
	static const char kept[] = "Subject: kept\r\n\r\nbody\r\n";
	struct fx *fx = *state;
	int64_t inbox = mbox_id(fx, fx->alice, "INBOX"), id = 0;
	struct store_alias *aliases = NULL;
	size_t count = 0;
	uint32_t uid, uid2;
	char **names = NULL;

	assert_int_equal(store_alias_add(fx->st, "postmaster@example.org",
	    "alice@example.org"), 0);
	uid = deliver1(fx, fx->alice, kept);
	assert_int_equal(store_mailbox_create(fx->st, fx->alice, "Kept", NULL,
	    NULL), 0);

	store_close(&fx->st);
	fx->st = tu_store_open(fx->dir);

	assert_int_equal(store_domain_list(fx->st, &names), 0);
	assert_int_equal(strv_len(names), 1);
	assert_string_equal(names[0], "example.org");
	store_strv_free(&names);
	assert_null(names);
	assert_int_equal(store_user_login(fx->st, g_auth, "alice@example.org",
	    "secret", &id), 0);
	assert_int_equal(id, fx->alice);
	assert_int_equal(mbox_id(fx, fx->alice, "INBOX"), inbox);
	assert_body(fx, inbox, uid, kept, strlen(kept));
	assert_true(mbox_exists(fx, fx->alice, "Kept"));
	assert_int_equal(store_alias_list(fx->st, &aliases, &count), 0);
	assert_int_equal(count, 1);
	store_alias_list_free(&aliases, count);
	assert_usage(fx, "alice@example.org", (int64_t)strlen(kept), 1);
	/* UIDs go on from where they were. */
	uid2 = deliver1(fx, fx->alice, "second");
	assert_true(uid2 > uid);
	check_clean(fx->st);
}

static void
test_open_too_new(void **state)
{
	struct fx *fx = *state;
	int newer = store_schema_version() + 1;
	struct store *st = NULL;
	char *error = NULL, *sql, want_new[16], want_cur[16];
	sqlite3 *db;

	store_close(&fx->st);
	db = db_open(fx->dir);
	sql = sqlite3_mprintf("PRAGMA user_version = %d", newer);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_free(sql);
	sqlite3_close(db);

	assert_int_equal(store_open(fx->dir, &st, &error), STORE_ERR_TOO_NEW);
	assert_null(st);
	assert_non_null(error);
	snprintf(want_new, sizeof(want_new), "%d", newer);
	snprintf(want_cur, sizeof(want_cur), "%d", store_schema_version());
	if (strstr(error, want_new) == NULL || strstr(error, want_cur) == NULL)
		fail_msg("error does not name versions %s and %s: %s",
		    want_new, want_cur, error);
	free(error);
	/* The database was not touched. */
	assert_int_equal(db_user_version(fx->dir), newer);
}

/* A file that is not a database is damage, reported, not overwritten. */
static void
test_open_garbage(void **state)
{
	struct fx *fx = *state;
	char *data = tu_path(fx->dir, "garbage");
	char *path = tu_path(data, "letterbox.db");
	struct store *st = NULL;
	char *error = NULL;
	char junk[4096];
	FILE *f;

	assert_int_equal(mkdir(data, 0700), 0);
	memset(junk, 'J', sizeof(junk));
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(junk, 1, sizeof(junk), f), sizeof(junk));
	assert_int_equal(fclose(f), 0);
	assert_int_equal(store_open(data, &st, &error), STORE_ERR_CORRUPT);
	assert_null(st);
	assert_non_null(error);
	free(error);
	free(path);
	free(data);
}

static void
test_strerror(void **state)
{
	for (int e = STORE_OK; e >= STORE_ERR_LIMIT; e--) {
		const char *s = store_strerror(e);

		assert_non_null(s);
		assert_true(strlen(s) > 0);
		for (int f = STORE_OK; f > e; f--)
			assert_string_not_equal(s, store_strerror(f));
	}
	assert_non_null(store_strerror(-99));
	assert_non_null(store_strerror(5));
}

/* ---- Domains ---------------------------------------------------------- */

static void
test_domains(void **state)
{
	struct fx *fx = *state;
	char **names = NULL;

	assert_int_equal(store_domain_add(fx->st, "b.example"), 0);
	assert_int_equal(store_domain_add(fx->st, "a.example"), 0);
	assert_int_equal(store_domain_add(fx->st, "a.example"),
	    STORE_ERR_EXISTS);
	/* Domains are case-insensitive (RFC 5321 2.4). */
	assert_int_equal(store_domain_add(fx->st, "A.Example"),
	    STORE_ERR_EXISTS);
	assert_int_equal(store_domain_add(fx->st, "Upper.Example"), 0);
	assert_int_equal(store_domain_add(fx->st, ""), STORE_ERR_INVALID);
	assert_int_equal(store_domain_add(fx->st, "bad..name"),
	    STORE_ERR_INVALID);
	assert_int_equal(store_domain_add(fx->st, "-x.org"),
	    STORE_ERR_INVALID);
	assert_int_equal(store_domain_add(fx->st, "a b.org"),
	    STORE_ERR_INVALID);
	assert_int_equal(store_domain_add(fx->st, "@x.org"),
	    STORE_ERR_INVALID);

	assert_int_equal(store_domain_list(fx->st, &names), 0);
	assert_int_equal(strv_len(names), 4);
	assert_string_equal(names[0], "a.example");
	assert_string_equal(names[1], "b.example");
	assert_string_equal(names[2], "example.org");
	assert_string_equal(names[3], "upper.example");
	store_strv_free(&names);
	assert_null(names);
	store_strv_free(&names);	/* harmless on NULL */

	assert_int_equal(store_domain_del(fx->st, "a.example"), 0);
	assert_int_equal(store_domain_del(fx->st, "a.example"),
	    STORE_ERR_NOT_FOUND);
	assert_int_equal(store_domain_del(fx->st, "UPPER.example"), 0);
	assert_int_equal(store_domain_del(fx->st, "nosuch.example"),
	    STORE_ERR_NOT_FOUND);
	/* Still has users. */
	assert_int_equal(store_domain_del(fx->st, "example.org"),
	    STORE_ERR_IN_USE);

	assert_int_equal(store_domain_list(fx->st, &names), 0);
	assert_int_equal(strv_len(names), 2);
	assert_string_equal(names[0], "b.example");
	assert_string_equal(names[1], "example.org");
	store_strv_free(&names);
	assert_usage(fx, "alice@example.org", 0, 0);
	check_clean(fx->st);
}

static void
test_domain_del_aliases(void **state)
{
	struct fx *fx = *state;
	struct store_alias *aliases = NULL;
	size_t count = 9;

	assert_int_equal(store_domain_add(fx->st, "other.org"), 0);
	assert_int_equal(store_alias_add(fx->st, "postmaster@other.org",
	    "alice@example.org"), 0);
	assert_int_equal(store_alias_add(fx->st, "@other.org",
	    "bob@example.org"), 0);
	assert_int_equal(store_alias_add(fx->st, "postmaster@example.org",
	    "alice@example.org"), 0);
	assert_int_equal(resolve1(fx, "postmaster@other.org"), fx->alice);

	/* Aliases alone do not keep a domain. */
	assert_int_equal(store_domain_del(fx->st, "other.org"), 0);
	assert_int_equal(store_alias_list(fx->st, &aliases, &count), 0);
	assert_int_equal(count, 1);
	assert_string_equal(aliases[0].source, "postmaster@example.org");
	store_alias_list_free(&aliases, count);
	assert_null(aliases);
	assert_int_equal(resolve_err(fx, "postmaster@other.org"),
	    STORE_ERR_NOT_LOCAL);
	check_clean(fx->st);
}

/* ---- Users ------------------------------------------------------------ */

static void
test_user_add_defaults(void **state)
{
	static const struct {
		const char *name, *special_use;
	} want[] = {
		{ "INBOX", NULL },
		{ "Archive", "\\Archive" },
		{ "Drafts", "\\Drafts" },
		{ "Junk", "\\Junk" },
		{ "Sent", "\\Sent" },
		{ "Trash", "\\Trash" },
	};
	struct fx *fx = *state;
	struct store_mailbox *mbs = NULL;
	struct store_user u;
	size_t count = 0;
	int64_t id = 0;

	assert_int_equal(store_mailbox_list(fx->st, fx->alice, &mbs, &count),
	    0);
	assert_int_equal(count, 6);
	for (size_t i = 0; i < count; i++) {
		assert_string_equal(mbs[i].name, want[i].name);
		if (want[i].special_use == NULL)
			assert_null(mbs[i].special_use);
		else
			assert_string_equal(mbs[i].special_use,
			    want[i].special_use);
		assert_true(mbs[i].id > 0);
		assert_true(mbs[i].uidvalidity != 0);
		assert_true(mbs[i].uidnext >= 1);
		assert_int_equal(mbs[i].messages, 0);
		assert_int_equal(mbs[i].unseen, 0);
		assert_int_equal(mbs[i].size, 0);
	}
	store_mailbox_list_free(&mbs, count);
	assert_null(mbs);

	memset(&u, 0, sizeof(u));
	assert_int_equal(store_user_get(fx->st, "alice@example.org", &u), 0);
	assert_int_equal(u.id, fx->alice);
	assert_string_equal(u.address, "alice@example.org");
	assert_int_equal(u.quota_bytes, 0);
	assert_int_equal(u.used_bytes, 0);
	assert_int_equal(u.messages, 0);
	store_user_clear(&u);

	/* Addresses are stored folded and found in any case. */
	assert_int_equal(store_user_add(fx->st, "Dave@Example.ORG", g_hash,
	    5000, &id), 0);
	memset(&u, 0, sizeof(u));
	assert_int_equal(store_user_get(fx->st, "DAVE@example.org", &u), 0);
	assert_int_equal(u.id, id);
	assert_string_equal(u.address, "dave@example.org");
	assert_int_equal(u.quota_bytes, 5000);
	store_user_clear(&u);
	assert_int_equal(store_mailbox_list(fx->st, id, &mbs, &count), 0);
	assert_int_equal(count, 6);
	store_mailbox_list_free(&mbs, count);
	check_clean(fx->st);
}

static void
test_user_add_errors(void **state)
{
	struct fx *fx = *state;
	struct store_user *users = NULL;
	struct store_user u;
	int64_t rows = db_total_rows(fx->dir), id = 0;
	char **names = NULL;
	size_t count = 0;

	/* The domain must exist: nothing is created, not even the domain. */
	assert_int_equal(store_user_add(fx->st, "x@nowhere.org", g_hash, 0,
	    &id), STORE_ERR_NOT_LOCAL);
	memset(&u, 0, sizeof(u));
	assert_int_equal(store_user_get(fx->st, "x@nowhere.org", &u),
	    STORE_ERR_NOT_FOUND);
	assert_int_equal(store_domain_list(fx->st, &names), 0);
	assert_int_equal(strv_len(names), 1);
	store_strv_free(&names);
	assert_int_equal(db_total_rows(fx->dir), rows);

	assert_int_equal(store_user_add(fx->st, "alice@example.org", g_hash, 0,
	    &id), STORE_ERR_EXISTS);
	assert_int_equal(store_user_add(fx->st, "ALICE@Example.Org", g_hash, 0,
	    &id), STORE_ERR_EXISTS);
	assert_int_equal(store_user_add(fx->st, "not-an-address", g_hash, 0,
	    &id), STORE_ERR_INVALID);
	assert_int_equal(store_user_add(fx->st, "a..b@example.org", g_hash, 0,
	    &id), STORE_ERR_INVALID);
	assert_int_equal(store_user_add(fx->st, "@example.org", g_hash, 0,
	    &id), STORE_ERR_INVALID);
	assert_int_equal(store_user_add(fx->st, "neg@example.org", g_hash, -1,
	    &id), STORE_ERR_INVALID);
	assert_int_equal(db_total_rows(fx->dir), rows);

	assert_int_equal(store_user_list(fx->st, &users, &count), 0);
	assert_int_equal(count, 3);
	store_user_list_free(&users, count);
	check_clean(fx->st);
}

static void
test_user_del(void **state)
{
	struct fx *fx = *state;
	int64_t a_inbox = mbox_id(fx, fx->alice, "INBOX");
	int64_t b_inbox = mbox_id(fx, fx->bob, "INBOX");
	int64_t ids[2] = { fx->alice, fx->bob }, body_own, body_shared, id = 0;
	struct store_mailbox new_inbox;
	uint32_t old_uidvalidity;
	struct store_alias *aliases = NULL;
	struct store_user u;
	struct store_mailbox *mbs = NULL;
	int results[2];
	uint32_t uids[2], own;
	size_t count = 0;
	char buf[16];
	size_t len;

	own = deliver1(fx, fx->alice, "only alice has this");
	body_own = msg_body_id(fx, a_inbox, own);
	assert_int_equal(store_deliver(fx->st, ids, 2, "shared", 6, DATE,
	    results, uids), 0);
	body_shared = msg_body_id(fx, a_inbox, uids[0]);
	assert_int_equal(msg_body_id(fx, b_inbox, uids[1]), body_shared);
	assert_int_equal(store_mailbox_create(fx->st, fx->alice, "Projects",
	    NULL, NULL), 0);
	assert_int_equal(store_alias_add(fx->st, "sales@example.org",
	    "alice@example.org"), 0);
	assert_int_equal(store_alias_add(fx->st, "team@example.org",
	    "alice@example.org"), 0);
	assert_int_equal(store_alias_add(fx->st, "team@example.org",
	    "bob@example.org"), 0);
	mbox_get(fx, fx->alice, "INBOX", &new_inbox);
	old_uidvalidity = new_inbox.uidvalidity;
	store_mailbox_clear(&new_inbox);

	assert_int_equal(store_user_del(fx->st, "Alice@Example.org"), 0);
	assert_int_equal(store_user_del(fx->st, "alice@example.org"),
	    STORE_ERR_NOT_FOUND);
	memset(&u, 0, sizeof(u));
	assert_int_equal(store_user_get(fx->st, "alice@example.org", &u),
	    STORE_ERR_NOT_FOUND);
	assert_int_equal(store_user_get_by_id(fx->st, fx->alice, &u),
	    STORE_ERR_NOT_FOUND);
	assert_int_equal(resolve_err(fx, "alice@example.org"),
	    STORE_ERR_NOT_FOUND);
	assert_int_equal(resolve_err(fx, "sales@example.org"),
	    STORE_ERR_NOT_FOUND);
	assert_int_equal(resolve1(fx, "team@example.org"), fx->bob);

	assert_int_equal(store_alias_list(fx->st, &aliases, &count), 0);
	assert_int_equal(count, 1);
	assert_string_equal(aliases[0].source, "team@example.org");
	assert_string_equal(aliases[0].target, "bob@example.org");
	store_alias_list_free(&aliases, count);

	/* Her only body is gone; the shared one stays for bob. */
	assert_int_equal(store_body_read_range(fx->st, body_own, 0, buf,
	    sizeof(buf), &len), STORE_ERR_NOT_FOUND);
	assert_int_equal(store_body_read_range(fx->st, body_shared, 0, buf,
	    sizeof(buf), &len), 0);
	assert_int_equal(len, 6);
	assert_memory_equal(buf, "shared", 6);
	assert_body(fx, b_inbox, uids[1], "shared", 6);
	assert_int_equal(store_mailbox_list(fx->st, fx->alice, &mbs, &count),
	    0);
	assert_int_equal(count, 0);
	store_mailbox_list_free(&mbs, count);
	check_clean(fx->st);

	/* A new alice starts empty, with no old mailbox or UIDVALIDITY. */
	assert_int_equal(store_user_add(fx->st, "alice@example.org", g_hash, 0,
	    &id), 0);
	assert_int_equal(store_mailbox_list(fx->st, id, &mbs, &count), 0);
	assert_int_equal(count, 6);
	store_mailbox_list_free(&mbs, count);
	mbox_get(fx, id, "INBOX", &new_inbox);
	assert_int_equal(new_inbox.messages, 0);
	assert_true(new_inbox.uidvalidity != old_uidvalidity);
	store_mailbox_clear(&new_inbox);
	assert_false(mbox_exists(fx, id, "Projects"));
	assert_usage(fx, "alice@example.org", 0, 0);
	check_clean(fx->st);
}

static void
test_user_set_password(void **state)
{
	struct fx *fx = *state;
	char hash[AUTH_HASH_MAX];
	char **hashes;
	int64_t id = 0;

	assert_int_equal(auth_hash(g_auth, "new password", hash), 0);
	assert_int_equal(store_user_set_password(fx->st, "alice@example.org",
	    hash), 0);
	assert_int_equal(store_user_set_password(fx->st, "nobody@example.org",
	    hash), STORE_ERR_NOT_FOUND);
	hashes = db_hashes(fx->dir);
	assert_true(strv_has(hashes, hash));
	strv_free_plain(hashes);

	assert_int_equal(store_user_login(fx->st, g_auth, "alice@example.org",
	    "new password", &id), 0);
	assert_int_equal(id, fx->alice);
	assert_int_equal(store_user_login(fx->st, g_auth, "alice@example.org",
	    "secret", &id), STORE_ERR_AUTH);
	/* The others keep theirs. */
	assert_int_equal(store_user_login(fx->st, g_auth, "bob@example.org",
	    "secret", &id), 0);
	assert_int_equal(id, fx->bob);
}

static void
test_user_set_quota(void **state)
{
	struct fx *fx = *state;
	struct store_user u;

	assert_int_equal(store_user_set_quota(fx->st, "alice@example.org",
	    1000), 0);
	memset(&u, 0, sizeof(u));
	assert_int_equal(store_user_get(fx->st, "alice@example.org", &u), 0);
	assert_int_equal(u.quota_bytes, 1000);
	store_user_clear(&u);
	assert_int_equal(store_user_set_quota(fx->st, "nobody@example.org",
	    1000), STORE_ERR_NOT_FOUND);
	assert_int_equal(store_user_set_quota(fx->st, "alice@example.org",
	    -5), STORE_ERR_INVALID);
	assert_int_equal(store_user_set_quota(fx->st, "alice@example.org", 0),
	    0);
	assert_int_equal(store_user_get_by_id(fx->st, fx->alice, &u), 0);
	assert_int_equal(u.quota_bytes, 0);
	store_user_clear(&u);
	/* Unlimited again: a large message goes in. */
	{
		size_t n = 5000;
		char *big = malloc(n);

		assert_non_null(big);
		memset(big, 'q', n);
		append_n(fx, mbox_id(fx, fx->alice, "INBOX"), big, n, 0, NULL);
		free(big);
	}
	assert_usage(fx, "alice@example.org", 5000, 1);
}

static void
test_user_get_list(void **state)
{
	struct fx *fx = *state;
	struct store_user *users = NULL;
	struct store_user u;
	size_t count = 0;
	char m100[101], m250[251], m50[51], m30[31];

	memset(m100, 'a', 100); m100[100] = '\0';
	memset(m250, 'b', 250); m250[250] = '\0';
	memset(m50, 'c', 50); m50[50] = '\0';
	memset(m30, 'd', 30); m30[30] = '\0';
	deliver1(fx, fx->alice, m100);
	deliver1(fx, fx->alice, m250);
	deliver1(fx, fx->bob, m50);
	append(fx, mbox_id(fx, fx->alice, "Archive"), m30, 0, NULL);
	assert_int_equal(store_user_set_quota(fx->st, "bob@example.org",
	    1 << 20), 0);

	memset(&u, 0, sizeof(u));
	assert_int_equal(store_user_get_by_id(fx->st, fx->alice, &u), 0);
	assert_int_equal(u.id, fx->alice);
	assert_string_equal(u.address, "alice@example.org");
	assert_int_equal(u.used_bytes, 380);
	assert_int_equal(u.messages, 3);
	store_user_clear(&u);
	assert_int_equal(store_user_get_by_id(fx->st, 999999, &u),
	    STORE_ERR_NOT_FOUND);
	assert_int_equal(store_user_get(fx->st, "nobody@example.org", &u),
	    STORE_ERR_NOT_FOUND);
	assert_int_equal(store_user_get(fx->st, "alice@nowhere.org", &u),
	    STORE_ERR_NOT_FOUND);

	assert_int_equal(store_user_list(fx->st, &users, &count), 0);
	assert_int_equal(count, 3);
	assert_string_equal(users[0].address, "alice@example.org");
	assert_int_equal(users[0].id, fx->alice);
	assert_int_equal(users[0].used_bytes, 380);
	assert_int_equal(users[0].messages, 3);
	assert_string_equal(users[1].address, "bob@example.org");
	assert_int_equal(users[1].used_bytes, 50);
	assert_int_equal(users[1].messages, 1);
	assert_int_equal(users[1].quota_bytes, 1 << 20);
	assert_string_equal(users[2].address, "carol@example.org");
	assert_int_equal(users[2].used_bytes, 0);
	assert_int_equal(users[2].messages, 0);
	store_user_list_free(&users, count);
	assert_null(users);
	check_clean(fx->st);
}

/* ---- Login ------------------------------------------------------------ */

static void
test_login(void **state)
{
	struct fx *fx = *state;
	int64_t id = 0;

	assert_int_equal(store_user_login(fx->st, g_auth, "alice@example.org",
	    "secret", &id), 0);
	assert_int_equal(id, fx->alice);
	id = 0;
	assert_int_equal(store_user_login(fx->st, g_auth, "Bob@EXAMPLE.org",
	    "secret", &id), 0);
	assert_int_equal(id, fx->bob);

	assert_int_equal(store_user_login(fx->st, g_auth, "alice@example.org",
	    "Secret", &id), STORE_ERR_AUTH);
	assert_int_equal(store_user_login(fx->st, g_auth, "alice@example.org",
	    "", &id), STORE_ERR_AUTH);
	assert_int_equal(store_user_login(fx->st, g_auth, "nobody@example.org",
	    "secret", &id), STORE_ERR_AUTH);
	assert_int_equal(store_user_login(fx->st, g_auth, "alice@nowhere.org",
	    "secret", &id), STORE_ERR_AUTH);
}

static void
test_login_rehash(void **state)
{
	struct fx *fx = *state;
	struct auth_params params_b = { 2, 8192 };
	struct auth_ctx *b = auth_ctx_new(&params_b, 1);
	char hash_a[AUTH_HASH_MAX];
	char *hash_b = NULL;
	char **hashes;
	int64_t dave = 0, id = 0;
	bool rehash = false;

	/* dave's hash comes from ctx A (g_auth, the minimum costs). */
	assert_non_null(b);
	assert_int_equal(auth_hash(g_auth, "dave's pw", hash_a), 0);
	assert_int_equal(store_user_add(fx->st, "dave@example.org", hash_a, 0,
	    &dave), 0);
	assert_int_equal(auth_verify(b, hash_a, "dave's pw", &rehash), 0);
	assert_true(rehash);

	/* A wrong password through B changes nothing. */
	assert_int_equal(store_user_login(fx->st, b, "dave@example.org",
	    "wrong", &id), STORE_ERR_AUTH);
	hashes = db_hashes(fx->dir);
	assert_true(strv_has(hashes, hash_a));
	strv_free_plain(hashes);

	/* The right one through B replaces the hash with B's limits. */
	assert_int_equal(store_user_login(fx->st, b, "dave@example.org",
	    "dave's pw", &id), 0);
	assert_int_equal(id, dave);
	hashes = db_hashes(fx->dir);
	assert_false(strv_has(hashes, hash_a));
	for (size_t i = 0; hashes[i] != NULL; i++) {
		if (strcmp(hashes[i], g_hash) != 0) {
			assert_null(hash_b);	/* exactly one new hash */
			hash_b = strdup(hashes[i]);
		}
	}
	strv_free_plain(hashes);
	assert_non_null(hash_b);
	rehash = true;
	assert_int_equal(auth_verify(b, hash_b, "dave's pw", &rehash), 0);
	assert_false(rehash);

	/* Logging in again through B still works and keeps that hash. */
	id = 0;
	assert_int_equal(store_user_login(fx->st, b, "dave@example.org",
	    "dave's pw", &id), 0);
	assert_int_equal(id, dave);
	hashes = db_hashes(fx->dir);
	assert_true(strv_has(hashes, hash_b));
	strv_free_plain(hashes);

	free(hash_b);
	auth_ctx_free(&b);
}

/* ---- Aliases and resolution ------------------------------------------- */

static void
test_alias_add_del_list(void **state)
{
	struct fx *fx = *state;
	struct store_alias *aliases = NULL;
	size_t count = 9;

	assert_int_equal(store_alias_list(fx->st, &aliases, &count), 0);
	assert_int_equal(count, 0);
	store_alias_list_free(&aliases, count);

	assert_int_equal(store_alias_add(fx->st, "postmaster@example.org",
	    "alice@example.org"), 0);
	assert_int_equal(store_alias_add(fx->st, "postmaster@example.org",
	    "alice@example.org"), STORE_ERR_EXISTS);
	assert_int_equal(store_alias_add(fx->st, "PostMaster@Example.ORG",
	    "ALICE@example.org"), STORE_ERR_EXISTS);
	assert_int_equal(resolve1(fx, "postmaster@example.org"), fx->alice);
	assert_int_equal(resolve1(fx, "POSTMASTER@example.org"), fx->alice);

	assert_int_equal(store_alias_list(fx->st, &aliases, &count), 0);
	assert_int_equal(count, 1);
	assert_string_equal(aliases[0].source, "postmaster@example.org");
	assert_string_equal(aliases[0].target, "alice@example.org");
	store_alias_list_free(&aliases, count);
	assert_null(aliases);

	assert_int_equal(store_alias_del(fx->st, "postmaster@example.org",
	    "bob@example.org"), STORE_ERR_NOT_FOUND);
	assert_int_equal(store_alias_del(fx->st, "postmaster@example.org",
	    "alice@example.org"), 0);
	assert_int_equal(store_alias_del(fx->st, "postmaster@example.org",
	    "alice@example.org"), STORE_ERR_NOT_FOUND);
	assert_int_equal(store_alias_del(fx->st, "postmaster@example.org",
	    NULL), STORE_ERR_NOT_FOUND);
	assert_int_equal(store_alias_list(fx->st, &aliases, &count), 0);
	assert_int_equal(count, 0);
	store_alias_list_free(&aliases, count);
	assert_int_equal(resolve_err(fx, "postmaster@example.org"),
	    STORE_ERR_NOT_FOUND);
}

static void
test_alias_two_targets(void **state)
{
	struct fx *fx = *state;
	struct store_alias *aliases = NULL;
	int64_t ids[LIMIT_RECIPIENTS];
	size_t count = 0;
	bool a = false, b = false;

	assert_int_equal(store_alias_add(fx->st, "team@example.org",
	    "alice@example.org"), 0);
	assert_int_equal(store_alias_add(fx->st, "team@example.org",
	    "bob@example.org"), 0);
	assert_int_equal(store_resolve(fx->st, "team@example.org", ids,
	    &count), 0);
	assert_int_equal(count, 2);
	for (size_t i = 0; i < count; i++) {
		a |= ids[i] == fx->alice;
		b |= ids[i] == fx->bob;
	}
	assert_true(a && b);

	assert_int_equal(store_alias_list(fx->st, &aliases, &count), 0);
	assert_int_equal(count, 2);
	for (size_t i = 0; i < count; i++)
		assert_string_equal(aliases[i].source, "team@example.org");
	assert_string_not_equal(aliases[0].target, aliases[1].target);
	store_alias_list_free(&aliases, count);

	/* Removing one target keeps the other. */
	assert_int_equal(store_alias_del(fx->st, "team@example.org",
	    "alice@example.org"), 0);
	assert_int_equal(resolve1(fx, "team@example.org"), fx->bob);
	assert_int_equal(store_alias_add(fx->st, "team@example.org",
	    "alice@example.org"), 0);
	/* NULL removes them all. */
	assert_int_equal(store_alias_del(fx->st, "team@example.org", NULL), 0);
	assert_int_equal(store_alias_list(fx->st, &aliases, &count), 0);
	assert_int_equal(count, 0);
	store_alias_list_free(&aliases, count);
	assert_int_equal(resolve_err(fx, "team@example.org"),
	    STORE_ERR_NOT_FOUND);
}

static void
test_alias_catchall(void **state)
{
	struct fx *fx = *state;
	struct store_alias *aliases = NULL;
	size_t count = 0;

	assert_int_equal(store_alias_add(fx->st, "@example.org",
	    "carol@example.org"), 0);
	assert_int_equal(store_alias_add(fx->st, "postmaster@example.org",
	    "alice@example.org"), 0);
	assert_int_equal(store_alias_list(fx->st, &aliases, &count), 0);
	assert_int_equal(count, 2);
	store_alias_list_free(&aliases, count);

	assert_int_equal(resolve1(fx, "nobody@example.org"), fx->carol);
	assert_int_equal(resolve1(fx, "Anything.At.All@EXAMPLE.org"),
	    fx->carol);
	/* A user, an alias, a plus-address of a user: all beat the
	 * catch-all. */
	assert_int_equal(resolve1(fx, "alice@example.org"), fx->alice);
	assert_int_equal(resolve1(fx, "bob@example.org"), fx->bob);
	assert_int_equal(resolve1(fx, "postmaster@example.org"), fx->alice);
	assert_int_equal(resolve1(fx, "bob+news@example.org"), fx->bob);
	assert_int_equal(resolve1(fx, "postmaster+x@example.org"), fx->alice);
	/* No base: a leading '+' is not a detail. */
	assert_int_equal(resolve1(fx, "+tag@example.org"), fx->carol);
	assert_int_equal(resolve1(fx, "nobody+tag@example.org"), fx->carol);

	assert_int_equal(store_alias_del(fx->st, "@example.org", NULL), 0);
	assert_int_equal(resolve_err(fx, "nobody@example.org"),
	    STORE_ERR_NOT_FOUND);
}

static void
test_alias_plus(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(resolve1(fx, "alice+tag@example.org"), fx->alice);
	assert_int_equal(resolve1(fx, "Alice+Tag@Example.ORG"), fx->alice);
	assert_int_equal(resolve1(fx, "alice+a+b@example.org"), fx->alice);
	assert_int_equal(resolve_err(fx, "nobody+tag@example.org"),
	    STORE_ERR_NOT_FOUND);
	assert_int_equal(resolve_err(fx, "+tag@example.org"),
	    STORE_ERR_NOT_FOUND);
	/* An alias spelled with '+' matches exactly before the base. */
	assert_int_equal(store_alias_add(fx->st, "bob+lists@example.org",
	    "carol@example.org"), 0);
	assert_int_equal(resolve1(fx, "bob+lists@example.org"), fx->carol);
	assert_int_equal(resolve1(fx, "bob+other@example.org"), fx->bob);
	/* Plus-addressing reaches aliases too. */
	assert_int_equal(store_alias_add(fx->st, "sales@example.org",
	    "alice@example.org"), 0);
	assert_int_equal(resolve1(fx, "sales+q3@example.org"), fx->alice);
}

static void
test_alias_errors(void **state)
{
	struct fx *fx = *state;
	struct store_alias *aliases = NULL;
	size_t count = 9;

	assert_int_equal(store_alias_add(fx->st, "x@example.org",
	    "nobody@example.org"), STORE_ERR_NOT_FOUND);
	assert_int_equal(store_alias_add(fx->st, "x@other.org",
	    "alice@example.org"), STORE_ERR_NOT_LOCAL);
	assert_int_equal(store_alias_add(fx->st, "@other.org",
	    "alice@example.org"), STORE_ERR_NOT_LOCAL);
	assert_int_equal(store_alias_add(fx->st, "not an address",
	    "alice@example.org"), STORE_ERR_INVALID);
	assert_int_equal(store_alias_add(fx->st, "@", "alice@example.org"),
	    STORE_ERR_INVALID);
	assert_int_equal(store_alias_add(fx->st, "x@", "alice@example.org"),
	    STORE_ERR_INVALID);
	assert_int_equal(store_alias_add(fx->st, "a..b@example.org",
	    "alice@example.org"), STORE_ERR_INVALID);
	assert_int_equal(store_alias_list(fx->st, &aliases, &count), 0);
	assert_int_equal(count, 0);
	store_alias_list_free(&aliases, count);
}

static void
test_resolve(void **state)
{
	struct fx *fx = *state;
	int64_t ids[LIMIT_RECIPIENTS];
	size_t count = 0;

	assert_int_equal(store_resolve(fx->st, "alice@example.org", ids,
	    &count), 0);
	assert_int_equal(count, 1);
	assert_int_equal(ids[0], fx->alice);
	assert_int_equal(resolve1(fx, "ALICE@EXAMPLE.ORG"), fx->alice);

	assert_int_equal(resolve_err(fx, "someone@gmail.com"),
	    STORE_ERR_NOT_LOCAL);
	assert_int_equal(resolve_err(fx, "alice@sub.example.org"),
	    STORE_ERR_NOT_LOCAL);
	assert_int_equal(resolve_err(fx, "nobody@example.org"),
	    STORE_ERR_NOT_FOUND);
	assert_int_equal(resolve_err(fx, ""), STORE_ERR_INVALID);
	assert_int_equal(resolve_err(fx, "alice"), STORE_ERR_INVALID);
	assert_int_equal(resolve_err(fx, "alice@"), STORE_ERR_INVALID);
	assert_int_equal(resolve_err(fx, "@example.org"), STORE_ERR_INVALID);
	assert_int_equal(resolve_err(fx, "a..b@example.org"),
	    STORE_ERR_INVALID);
	assert_int_equal(resolve_err(fx, "alice@example..org"),
	    STORE_ERR_INVALID);
	assert_int_equal(resolve_err(fx, "<alice@example.org>"),
	    STORE_ERR_INVALID);
}

/* ---- Mailboxes -------------------------------------------------------- */

static void
test_mailbox_create(void **state)
{
	struct fx *fx = *state;
	struct store_mailbox mb;
	int64_t id = 0, id2 = 0;

	assert_int_equal(store_mailbox_create(fx->st, fx->alice, "Projects",
	    NULL, &id), 0);
	assert_true(id > 0);
	mbox_get(fx, fx->alice, "Projects", &mb);
	assert_int_equal(mb.id, id);
	assert_string_equal(mb.name, "Projects");
	assert_null(mb.special_use);
	assert_true(mb.uidvalidity != 0);
	assert_true(mb.uidnext >= 1);
	assert_int_equal(mb.messages, 0);
	assert_int_equal(mb.unseen, 0);
	assert_int_equal(mb.size, 0);
	store_mailbox_clear(&mb);

	assert_int_equal(store_mailbox_create(fx->st, fx->alice, "Projects",
	    NULL, &id2), STORE_ERR_EXISTS);
	assert_int_equal(store_mailbox_create(fx->st, fx->alice, "INBOX", NULL,
	    &id2), STORE_ERR_EXISTS);
	assert_int_equal(store_mailbox_create(fx->st, fx->alice, "inbox", NULL,
	    &id2), STORE_ERR_EXISTS);
	/* Names are per user. */
	assert_int_equal(store_mailbox_create(fx->st, fx->bob, "Projects",
	    NULL, &id2), 0);
	assert_true(id2 != id);
	assert_int_equal(store_mailbox_create(fx->st, fx->alice,
	    "Projects/2024", NULL, NULL), 0);
	assert_int_equal(store_mailbox_create(fx->st, fx->alice,
	    "Entw\xc3\xbcrfe/\xc3\x84rger", NULL, NULL), 0);
	assert_true(mbox_exists(fx, fx->alice, "Entw\xc3\xbcrfe/\xc3\x84rger"));

	assert_int_equal(store_mailbox_create(fx->st, fx->alice, "Starred",
	    "\\Flagged", NULL), 0);
	mbox_get(fx, fx->alice, "Starred", &mb);
	assert_string_equal(mb.special_use, "\\Flagged");
	store_mailbox_clear(&mb);
	assert_int_equal(store_mailbox_create(fx->st, fx->alice, "Every",
	    "\\All", NULL), 0);
	assert_int_equal(store_mailbox_create(fx->st, fx->alice, "Bogus",
	    "\\Bogus", NULL), STORE_ERR_INVALID);
	assert_int_equal(store_mailbox_create(fx->st, fx->alice, "Bogus",
	    "Flagged", NULL), STORE_ERR_INVALID);
	assert_false(mbox_exists(fx, fx->alice, "Bogus"));
	assert_int_equal(store_mailbox_create(fx->st, 999999, "X", NULL, NULL),
	    STORE_ERR_NOT_FOUND);
	assert_int_equal(store_mailbox_get(fx->st, fx->alice, "Nope", &mb),
	    STORE_ERR_NOT_FOUND);
	check_clean(fx->st);
}

static void
test_mailbox_names(void **state)
{
	static const char *const bad[] = {
		"", "/", "a//b", "/a", "a/", "a\x01" "b", "tab\there",
		"new\nline", "cr\rhere", "del\x7f", "\xff", "a\xc3",
		"\xc0\xaf", "\xed\xa0\x80",
	};
	struct fx *fx = *state;
	char name[LIMIT_MAILBOX_NAME + 2];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (store_mailbox_name_valid(bad[i]))
			fail_msg("name %zu accepted", i);
		assert_int_equal(store_mailbox_create(fx->st, fx->alice,
		    bad[i], NULL, NULL), STORE_ERR_INVALID);
	}
	assert_true(store_mailbox_name_valid("a"));
	assert_true(store_mailbox_name_valid("INBOX"));
	assert_true(store_mailbox_name_valid("a/b/c"));
	assert_true(store_mailbox_name_valid("With Space & [brackets]"));
	assert_true(store_mailbox_name_valid("\xe6\x97\xa5\xe6\x9c\xac"));

	memset(name, 'n', LIMIT_MAILBOX_NAME);
	name[LIMIT_MAILBOX_NAME] = '\0';
	assert_true(store_mailbox_name_valid(name));
	assert_int_equal(store_mailbox_create(fx->st, fx->alice, name, NULL,
	    NULL), 0);
	name[LIMIT_MAILBOX_NAME] = 'n';
	name[LIMIT_MAILBOX_NAME + 1] = '\0';
	assert_false(store_mailbox_name_valid(name));
	assert_int_equal(store_mailbox_create(fx->st, fx->alice, name, NULL,
	    NULL), STORE_ERR_INVALID);
}

static void
test_mailbox_inbox_case(void **state)
{
	struct fx *fx = *state;
	int64_t inbox = mbox_id(fx, fx->alice, "INBOX");
	struct store_mailbox mb;

	mbox_get(fx, fx->alice, "inbox", &mb);
	assert_int_equal(mb.id, inbox);
	assert_string_equal(mb.name, "INBOX");
	store_mailbox_clear(&mb);
	assert_int_equal(mbox_id(fx, fx->alice, "InBoX"), inbox);
	deliver1(fx, fx->alice, "hi");
	assert_int_equal(mbox_messages(fx, fx->alice, "inbox"), 1);
	assert_int_equal(store_mailbox_delete(fx->st, fx->alice, "inbox"),
	    STORE_ERR_IN_USE);
	assert_int_equal(store_mailbox_delete(fx->st, fx->alice, "INBOX"),
	    STORE_ERR_IN_USE);
	assert_int_equal(mbox_messages(fx, fx->alice, "INBOX"), 1);
}

static void
test_mailbox_delete(void **state)
{
	struct fx *fx = *state;
	int64_t full, body;
	char buf[8];
	size_t len;
	uint32_t uid;

	assert_int_equal(store_mailbox_create(fx->st, fx->alice, "a", NULL,
	    NULL), 0);
	assert_int_equal(store_mailbox_create(fx->st, fx->alice, "a/b", NULL,
	    NULL), 0);
	assert_int_equal(store_mailbox_delete(fx->st, fx->alice, "a"),
	    STORE_ERR_IN_USE);
	assert_true(mbox_exists(fx, fx->alice, "a"));
	assert_int_equal(store_mailbox_delete(fx->st, fx->alice, "a/b"), 0);
	assert_false(mbox_exists(fx, fx->alice, "a/b"));
	assert_int_equal(store_mailbox_delete(fx->st, fx->alice, "a"), 0);
	assert_false(mbox_exists(fx, fx->alice, "a"));
	assert_int_equal(store_mailbox_delete(fx->st, fx->alice, "a"),
	    STORE_ERR_NOT_FOUND);
	assert_int_equal(store_mailbox_delete(fx->st, fx->bob, "Nope"),
	    STORE_ERR_NOT_FOUND);

	/* Its messages go, and with them usage and unshared bodies. */
	assert_int_equal(store_mailbox_create(fx->st, fx->alice, "Full", NULL,
	    &full), 0);
	uid = append(fx, full, "in Full only", 0, NULL);
	append(fx, full, "second", STORE_FLAG_SEEN, NULL);
	body = msg_body_id(fx, full, uid);
	assert_usage(fx, "alice@example.org", 18, 2);
	assert_int_equal(store_mailbox_delete(fx->st, fx->alice, "Full"), 0);
	assert_usage(fx, "alice@example.org", 0, 0);
	assert_int_equal(store_body_read_range(fx->st, body, 0, buf,
	    sizeof(buf), &len), STORE_ERR_NOT_FOUND);
	check_clean(fx->st);
}

static void
test_mailbox_rename_children(void **state)
{
	struct fx *fx = *state;
	struct store_mailbox *mbs = NULL;
	int64_t ax = 0;
	size_t count = 0;
	uint32_t uid;

	assert_int_equal(store_mailbox_create(fx->st, fx->alice, "a", NULL,
	    NULL), 0);
	assert_int_equal(store_mailbox_create(fx->st, fx->alice, "a/x", NULL,
	    &ax), 0);
	assert_int_equal(store_mailbox_create(fx->st, fx->alice, "a/x/y", NULL,
	    NULL), 0);
	/* Shares the prefix but is no child of "a". */
	assert_int_equal(store_mailbox_create(fx->st, fx->alice, "ab", NULL,
	    NULL), 0);
	uid = append(fx, ax, "in a/x", STORE_FLAG_FLAGGED, NULL);

	assert_int_equal(store_mailbox_rename(fx->st, fx->alice, "a", "b"), 0);
	assert_false(mbox_exists(fx, fx->alice, "a"));
	assert_false(mbox_exists(fx, fx->alice, "a/x"));
	assert_false(mbox_exists(fx, fx->alice, "a/x/y"));
	assert_true(mbox_exists(fx, fx->alice, "b"));
	assert_int_equal(mbox_id(fx, fx->alice, "b/x"), ax);
	assert_true(mbox_exists(fx, fx->alice, "b/x/y"));
	assert_true(mbox_exists(fx, fx->alice, "ab"));
	assert_false(mbox_exists(fx, fx->alice, "bb"));
	assert_int_equal(mbox_messages(fx, fx->alice, "b/x"), 1);
	assert_body(fx, ax, uid, "in a/x", 6);

	/* Rename a child alone, into a new level. */
	assert_int_equal(store_mailbox_rename(fx->st, fx->alice, "b/x/y",
	    "top"), 0);
	assert_true(mbox_exists(fx, fx->alice, "top"));
	assert_false(mbox_exists(fx, fx->alice, "b/x/y"));

	assert_int_equal(store_mailbox_list(fx->st, fx->alice, &mbs, &count),
	    0);
	assert_int_equal(count, 6 + 4);
	store_mailbox_list_free(&mbs, count);

	/* '_', which a LIKE pattern would match to any character, is plain
	 * text. */
	assert_int_equal(store_mailbox_create(fx->st, fx->alice, "p_q", NULL,
	    NULL), 0);
	assert_int_equal(store_mailbox_create(fx->st, fx->alice, "p_q/in",
	    NULL, NULL), 0);
	assert_int_equal(store_mailbox_create(fx->st, fx->alice, "pxq/out",
	    NULL, NULL), 0);
	assert_int_equal(store_mailbox_rename(fx->st, fx->alice, "p_q", "r"),
	    0);
	assert_true(mbox_exists(fx, fx->alice, "r/in"));
	assert_true(mbox_exists(fx, fx->alice, "pxq/out"));
	assert_false(mbox_exists(fx, fx->alice, "r/out"));

	/* Non-ASCII parents carry their children along. */
	assert_int_equal(store_mailbox_create(fx->st, fx->alice,
	    "Entw\xc3\xbcrfe", NULL, NULL), 0);
	assert_int_equal(store_mailbox_create(fx->st, fx->alice,
	    "Entw\xc3\xbcrfe/\xc3\xa4lter", NULL, NULL), 0);
	assert_int_equal(store_mailbox_rename(fx->st, fx->alice,
	    "Entw\xc3\xbcrfe", "\xe8\x8d\x89\xe7\xa8\xbf"), 0);
	assert_true(mbox_exists(fx, fx->alice,
	    "\xe8\x8d\x89\xe7\xa8\xbf/\xc3\xa4lter"));
	assert_false(mbox_exists(fx, fx->alice, "Entw\xc3\xbcrfe/\xc3\xa4lter"));
	check_clean(fx->st);
}

static void
test_mailbox_rename_errors(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(store_mailbox_create(fx->st, fx->alice, "a", NULL,
	    NULL), 0);
	assert_int_equal(store_mailbox_create(fx->st, fx->alice, "a/x", NULL,
	    NULL), 0);
	assert_int_equal(store_mailbox_create(fx->st, fx->alice, "c", NULL,
	    NULL), 0);
	assert_int_equal(store_mailbox_rename(fx->st, fx->alice, "a", "c"),
	    STORE_ERR_EXISTS);
	assert_int_equal(store_mailbox_rename(fx->st, fx->alice, "a", "INBOX"),
	    STORE_ERR_EXISTS);
	assert_int_equal(store_mailbox_rename(fx->st, fx->alice, "a",
	    "Trash"), STORE_ERR_EXISTS);
	assert_int_equal(store_mailbox_rename(fx->st, fx->alice, "nope", "z"),
	    STORE_ERR_NOT_FOUND);
	assert_int_equal(store_mailbox_rename(fx->st, fx->alice, "a", "z//"),
	    STORE_ERR_INVALID);
	assert_int_equal(store_mailbox_rename(fx->st, fx->alice, "a", ""),
	    STORE_ERR_INVALID);

	/* "b" is free but a child would land on "b/x", which is taken: the
	 * rename is refused whole. */
	assert_int_equal(store_mailbox_create(fx->st, fx->alice, "b/x", NULL,
	    NULL), 0);
	assert_int_equal(store_mailbox_rename(fx->st, fx->alice, "a", "b"),
	    STORE_ERR_EXISTS);
	assert_true(mbox_exists(fx, fx->alice, "a"));
	assert_true(mbox_exists(fx, fx->alice, "a/x"));
	assert_false(mbox_exists(fx, fx->alice, "b"));
	check_clean(fx->st);
}

static void
test_mailbox_rename_inbox(void **state)
{
	struct fx *fx = *state;
	struct store_mailbox inbox, old;
	uint32_t u1, u2, u3;
	int64_t old_id;

	u1 = deliver1(fx, fx->alice, "first");
	u2 = deliver1(fx, fx->alice, "second!");
	assert_int_equal(store_mailbox_create(fx->st, fx->alice, "INBOX/sub",
	    NULL, NULL), 0);
	mbox_get(fx, fx->alice, "INBOX", &inbox);

	assert_int_equal(store_mailbox_rename(fx->st, fx->alice, "inbox",
	    "Old Inbox"), 0);
	assert_int_equal(mbox_messages(fx, fx->alice, "INBOX"), 0);
	mbox_get(fx, fx->alice, "Old Inbox", &old);
	assert_int_equal(old.messages, 2);
	assert_int_equal(old.size, 12);
	old_id = old.id;
	assert_true(old_id != inbox.id);
	assert_body(fx, old_id, u1, "first", 5);
	assert_body(fx, old_id, u2, "second!", 7);
	assert_usage(fx, "alice@example.org", 12, 2);
	store_mailbox_clear(&old);
	/* RFC 3501 6.3.5: INBOX's children stay where they are. */
	assert_true(mbox_exists(fx, fx->alice, "INBOX/sub"));
	assert_false(mbox_exists(fx, fx->alice, "Old Inbox/sub"));

	/* New mail lands in the (empty) INBOX, and never under a
	 * (UIDVALIDITY, UID) the old INBOX used. */
	u3 = deliver1(fx, fx->alice, "third");
	assert_int_equal(mbox_messages(fx, fx->alice, "INBOX"), 1);
	assert_int_equal(mbox_messages(fx, fx->alice, "Old Inbox"), 2);
	{
		struct store_mailbox now;

		mbox_get(fx, fx->alice, "INBOX", &now);
		assert_true(now.uidvalidity != inbox.uidvalidity ||
		    u3 > u2);
		store_mailbox_clear(&now);
	}
	store_mailbox_clear(&inbox);
	check_clean(fx->st);
}

static void
test_subscriptions(void **state)
{
	struct fx *fx = *state;
	struct store_mailbox mb;
	char **names = NULL;
	size_t n;

	assert_int_equal(store_mailbox_create(fx->st, fx->alice, "Projects",
	    NULL, NULL), 0);
	assert_int_equal(store_mailbox_create(fx->st, fx->alice, "Lists", NULL,
	    NULL), 0);
	/* Whether CREATE subscribes is the store's choice (it does, so
	 * clients see new mailboxes); start from both unsubscribed. */
	assert_int_equal(store_mailbox_subscribe(fx->st, fx->alice, "Projects",
	    false), 0);
	assert_int_equal(store_mailbox_subscribe(fx->st, fx->alice, "Lists",
	    false), 0);
	assert_int_equal(store_subscription_list(fx->st, fx->alice, &names), 0);
	assert_false(strv_has(names, "Projects"));
	assert_false(strv_has(names, "Lists"));
	n = strv_len(names);
	store_strv_free(&names);
	mbox_get(fx, fx->alice, "Projects", &mb);
	assert_false(mb.subscribed);
	store_mailbox_clear(&mb);

	assert_int_equal(store_mailbox_subscribe(fx->st, fx->alice, "Projects",
	    true), 0);
	assert_int_equal(store_mailbox_subscribe(fx->st, fx->alice, "Projects",
	    true), 0);
	assert_int_equal(store_mailbox_subscribe(fx->st, fx->alice, "Lists",
	    true), 0);
	assert_int_equal(store_subscription_list(fx->st, fx->alice, &names), 0);
	assert_int_equal(strv_len(names), n + 2);
	assert_true(strv_has(names, "Projects"));
	assert_true(strv_has(names, "Lists"));
	for (size_t i = 1; names[i] != NULL; i++)
		assert_true(strcmp(names[i - 1], names[i]) < 0);
	store_strv_free(&names);
	assert_null(names);
	mbox_get(fx, fx->alice, "Projects", &mb);
	assert_true(mb.subscribed);
	store_mailbox_clear(&mb);

	/* Subscriptions are per user. */
	assert_int_equal(store_subscription_list(fx->st, fx->bob, &names), 0);
	assert_false(strv_has(names, "Projects"));
	store_strv_free(&names);
	assert_int_equal(store_mailbox_subscribe(fx->st, fx->bob, "Lists",
	    true), 0);
	assert_int_equal(store_mailbox_subscribe(fx->st, fx->bob, "Lists",
	    false), 0);
	assert_int_equal(store_subscription_list(fx->st, fx->alice, &names), 0);
	assert_true(strv_has(names, "Lists"));
	store_strv_free(&names);

	assert_int_equal(store_mailbox_subscribe(fx->st, fx->alice, "Lists",
	    false), 0);
	assert_int_equal(store_subscription_list(fx->st, fx->alice, &names), 0);
	assert_false(strv_has(names, "Lists"));
	store_strv_free(&names);
	mbox_get(fx, fx->alice, "Lists", &mb);
	assert_false(mb.subscribed);
	store_mailbox_clear(&mb);

	/* RFC 3501 6.3.6: deleting the mailbox keeps the subscription. */
	assert_int_equal(store_mailbox_delete(fx->st, fx->alice, "Projects"),
	    0);
	assert_int_equal(store_subscription_list(fx->st, fx->alice, &names), 0);
	assert_true(strv_has(names, "Projects"));
	store_strv_free(&names);

	assert_int_equal(store_mailbox_subscribe(fx->st, fx->alice, "a//b",
	    true), STORE_ERR_INVALID);
}

static void
test_mailbox_counts(void **state)
{
	struct fx *fx = *state;
	struct store_mailbox mb;
	int64_t id = 0;
	uint32_t u1;

	assert_int_equal(store_mailbox_create(fx->st, fx->alice, "Projects",
	    NULL, &id), 0);
	u1 = append(fx, id, "0123456789", 0, NULL);
	append(fx, id, "01234567890123456789", STORE_FLAG_SEEN, NULL);
	append(fx, id, "012345678901234567890123456789", STORE_FLAG_FLAGGED,
	    "work");
	mbox_get(fx, fx->alice, "Projects", &mb);
	assert_int_equal(mb.messages, 3);
	assert_int_equal(mb.unseen, 2);
	assert_int_equal(mb.size, 60);
	assert_true(mb.uidnext > 3);
	store_mailbox_clear(&mb);

	assert_int_equal(store_flags_update(fx->st, id, &u1, 1, STORE_FLAGS_ADD,
	    STORE_FLAG_SEEN, NULL), 0);
	mbox_get(fx, fx->alice, "Projects", &mb);
	assert_int_equal(mb.unseen, 1);
	store_mailbox_clear(&mb);
	assert_usage(fx, "alice@example.org", 60, 3);
}

static void
test_mailbox_list_order(void **state)
{
	static const char *const want[] = {
		"INBOX", "Apple", "Archive", "Drafts", "Junk", "Projects",
		"Projects/Sub", "Sent", "Trash", "Zeta",
	};
	struct fx *fx = *state;
	struct store_mailbox *mbs = NULL;
	size_t count = 0;
	int64_t zeta = 0;

	assert_int_equal(store_mailbox_create(fx->st, fx->alice, "Zeta", NULL,
	    &zeta), 0);
	assert_int_equal(store_mailbox_create(fx->st, fx->alice, "Apple", NULL,
	    NULL), 0);
	assert_int_equal(store_mailbox_create(fx->st, fx->alice,
	    "Projects/Sub", NULL, NULL), 0);
	assert_int_equal(store_mailbox_create(fx->st, fx->alice, "Projects",
	    NULL, NULL), 0);
	append(fx, zeta, "12345", STORE_FLAG_SEEN, NULL);
	append(fx, zeta, "123", 0, NULL);

	assert_int_equal(store_mailbox_list(fx->st, fx->alice, &mbs, &count),
	    0);
	assert_int_equal(count, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < count; i++)
		assert_string_equal(mbs[i].name, want[i]);
	assert_int_equal(mbs[9].id, zeta);
	assert_int_equal(mbs[9].messages, 2);
	assert_int_equal(mbs[9].unseen, 1);
	assert_int_equal(mbs[9].size, 8);
	store_mailbox_list_free(&mbs, count);
	assert_null(mbs);
}

/* ---- UIDVALIDITY, UIDs, MODSEQ ---------------------------------------- */

static void
test_uidvalidity(void **state)
{
	struct fx *fx = *state;
	struct store_mailbox mb, *mbs = NULL;
	uint32_t v1, v2, vy, vz, u1, u2;
	uint32_t seen[64];
	size_t nseen = 0, count = 0;
	int64_t id = 0;

	assert_int_equal(store_mailbox_create(fx->st, fx->alice, "X", NULL,
	    &id), 0);
	u1 = append(fx, id, "one", 0, NULL);
	mbox_get(fx, fx->alice, "X", &mb);
	v1 = mb.uidvalidity;
	store_mailbox_clear(&mb);
	assert_int_equal(store_flags_update(fx->st, id, &u1, 1,
	    STORE_FLAGS_ADD, STORE_FLAG_DELETED, NULL), 0);
	assert_int_equal(store_expunge(fx->st, id, NULL, 0, NULL, &count), 0);
	assert_int_equal(count, 1);
	assert_int_equal(store_mailbox_delete(fx->st, fx->alice, "X"), 0);

	assert_int_equal(store_mailbox_create(fx->st, fx->alice, "X", NULL,
	    &id), 0);
	u2 = append(fx, id, "one", 0, NULL);
	mbox_get(fx, fx->alice, "X", &mb);
	v2 = mb.uidvalidity;
	store_mailbox_clear(&mb);
	assert_true(v2 != v1);	/* so (v2, u2) != (v1, u1) whatever u2 is */
	(void)u2;

	/* Nor does a restart hand out an old one again. */
	assert_int_equal(store_mailbox_delete(fx->st, fx->alice, "X"), 0);
	store_close(&fx->st);
	fx->st = tu_store_open(fx->dir);
	assert_int_equal(store_mailbox_create(fx->st, fx->alice, "X", NULL,
	    &id), 0);
	mbox_get(fx, fx->alice, "X", &mb);
	assert_true(mb.uidvalidity != v1 && mb.uidvalidity != v2);
	store_mailbox_clear(&mb);

	/* RFC 3501 6.3.5: a name freed by RENAME gets a new UIDVALIDITY. */
	assert_int_equal(store_mailbox_create(fx->st, fx->alice, "Y", NULL,
	    NULL), 0);
	mbox_get(fx, fx->alice, "Y", &mb);
	vy = mb.uidvalidity;
	store_mailbox_clear(&mb);
	assert_int_equal(store_mailbox_rename(fx->st, fx->alice, "Y", "Z"), 0);
	assert_int_equal(store_mailbox_create(fx->st, fx->alice, "Y", NULL,
	    NULL), 0);
	mbox_get(fx, fx->alice, "Y", &mb);
	assert_true(mb.uidvalidity != vy);
	store_mailbox_clear(&mb);
	mbox_get(fx, fx->alice, "Z", &mb);
	vz = mb.uidvalidity;
	store_mailbox_clear(&mb);
	assert_true(vz != v1 && vz != v2);

	/* "A UIDVALIDITY never given before": no two mailboxes share one. */
	for (int64_t u = 0; u < 3; u++) {
		int64_t user = u == 0 ? fx->alice : u == 1 ? fx->bob :
		    fx->carol;

		assert_int_equal(store_mailbox_list(fx->st, user, &mbs,
		    &count), 0);
		for (size_t i = 0; i < count; i++) {
			for (size_t j = 0; j < nseen; j++)
				if (seen[j] == mbs[i].uidvalidity)
					fail_msg("UIDVALIDITY %u given twice "
					    "(%s)", seen[j], mbs[i].name);
			assert_true(nseen < 64);
			seen[nseen++] = mbs[i].uidvalidity;
		}
		store_mailbox_list_free(&mbs, count);
	}
	assert_true(v1 != 0 && v2 != 0);
}

static void
test_uids_ascending(void **state)
{
	struct fx *fx = *state;
	int64_t inbox = mbox_id(fx, fx->alice, "INBOX");
	struct store_mailbox mb;
	uint32_t u[4], next, expunged_uid;
	uint32_t *expunged = NULL;
	size_t count = 0;

	u[0] = deliver1(fx, fx->alice, "m1");
	u[1] = append(fx, inbox, "m2", 0, NULL);
	u[2] = deliver1(fx, fx->alice, "m3");
	assert_true(u[0] >= 1 && u[1] > u[0] && u[2] > u[1]);
	mbox_get(fx, fx->alice, "INBOX", &mb);
	next = mb.uidnext;
	assert_true(next > u[2]);
	store_mailbox_clear(&mb);

	/* Expunge the last message: UIDNEXT does not go down, and its UID is
	 * not given again. */
	assert_int_equal(store_flags_update(fx->st, inbox, &u[2], 1,
	    STORE_FLAGS_ADD, STORE_FLAG_DELETED, NULL), 0);
	assert_int_equal(store_expunge(fx->st, inbox, NULL, 0, &expunged,
	    &count), 0);
	assert_int_equal(count, 1);
	expunged_uid = expunged[0];
	assert_int_equal(expunged_uid, u[2]);
	free(expunged);
	mbox_get(fx, fx->alice, "INBOX", &mb);
	assert_int_equal(mb.uidnext, next);
	store_mailbox_clear(&mb);
	u[3] = append(fx, inbox, "m4", 0, NULL);
	assert_true(u[3] >= next);

	/* Nor after the store is closed and opened again. */
	store_close(&fx->st);
	fx->st = tu_store_open(fx->dir);
	assert_true(deliver1(fx, fx->alice, "m5") > u[3]);
	check_clean(fx->st);
}

static void
test_highestmodseq(void **state)
{
	struct fx *fx = *state;
	int64_t inbox = mbox_id(fx, fx->alice, "INBOX");
	int64_t archive = mbox_id(fx, fx->alice, "Archive");
	uint64_t h0, h1, h2, h3, h4, m;
	uint32_t u1, u2;
	size_t count = 0;

	h0 = mbox_modseq(fx, fx->alice, "INBOX");
	u1 = append(fx, inbox, "one", 0, NULL);
	h1 = mbox_modseq(fx, fx->alice, "INBOX");
	assert_true(h1 > h0);
	assert_true(msg_modseq(fx, inbox, u1) <= h1);
	u2 = deliver1(fx, fx->alice, "two");
	assert_true(mbox_modseq(fx, fx->alice, "INBOX") > h1);
	assert_int_equal(msg_modseq(fx, inbox, u2),
	    mbox_modseq(fx, fx->alice, "INBOX"));
	h1 = mbox_modseq(fx, fx->alice, "INBOX");

	assert_int_equal(store_flags_update(fx->st, inbox, &u1, 1,
	    STORE_FLAGS_ADD, STORE_FLAG_SEEN, NULL), 0);
	h2 = mbox_modseq(fx, fx->alice, "INBOX");
	assert_true(h2 > h1);
	m = msg_modseq(fx, inbox, u1);
	assert_int_equal(m, h2);
	assert_true(msg_modseq(fx, inbox, u2) < h2);

	/* Adding a flag the message already has changes nothing. */
	assert_int_equal(store_flags_update(fx->st, inbox, &u1, 1,
	    STORE_FLAGS_ADD, STORE_FLAG_SEEN, NULL), 0);
	assert_int_equal(msg_modseq(fx, inbox, u1), m);

	assert_int_equal(store_flags_update(fx->st, inbox, &u2, 1,
	    STORE_FLAGS_ADD, STORE_FLAG_DELETED, NULL), 0);
	h2 = mbox_modseq(fx, fx->alice, "INBOX");
	assert_int_equal(store_expunge(fx->st, inbox, NULL, 0, NULL, &count),
	    0);
	assert_int_equal(count, 1);
	h3 = mbox_modseq(fx, fx->alice, "INBOX");
	assert_true(h3 > h2);

	/* COPY grows the destination's, MOVE both. */
	h4 = mbox_modseq(fx, fx->alice, "Archive");
	assert_int_equal(store_copy(fx->st, inbox, &u1, 1, archive, NULL), 0);
	assert_true(mbox_modseq(fx, fx->alice, "Archive") > h4);
	h4 = mbox_modseq(fx, fx->alice, "Archive");
	assert_int_equal(store_move(fx->st, inbox, &u1, 1, archive, NULL), 0);
	assert_true(mbox_modseq(fx, fx->alice, "Archive") > h4);
	assert_true(mbox_modseq(fx, fx->alice, "INBOX") > h3);
}

/* ---- Delivery --------------------------------------------------------- */

static const char msg_text[] =
	"From: sender@example.net\r\n"
	"To: team@example.org\r\n"
	"Subject: hello\r\n"
	"\r\n"
	"Hello, all three of you.\r\n";

static void
test_deliver_three(void **state)
{
	struct fx *fx = *state;
	int64_t ids[3] = { fx->alice, fx->bob, fx->carol };
	const char *addr[3] = { "alice@example.org", "bob@example.org",
	    "carol@example.org" };
	size_t len = strlen(msg_text);
	int results[3] = { 99, 99, 99 };
	uint32_t uids[3] = { 0, 0, 0 };
	int64_t body = -1;
	struct store_message m;

	assert_int_equal(store_deliver(fx->st, ids, 3, msg_text, len, DATE,
	    results, uids), 0);
	for (int i = 0; i < 3; i++) {
		int64_t inbox = mbox_id(fx, ids[i], "INBOX");

		assert_int_equal(results[i], 0);
		assert_true(uids[i] > 0);
		assert_int_equal(mbox_messages(fx, ids[i], "INBOX"), 1);
		msg_get(fx, inbox, uids[i], &m);
		assert_int_equal(m.uid, uids[i]);
		assert_int_equal(m.size, (int64_t)len);
		assert_int_equal(m.internal_date, DATE);
		assert_int_equal(m.flags, 0);
		assert_string_equal(m.keywords, "");
		if (body == -1)
			body = m.body_id;
		assert_int_equal(m.body_id, body);	/* one body row */
		store_message_clear(&m);
		assert_body(fx, inbox, uids[i], msg_text, len);
		assert_usage(fx, addr[i], (int64_t)len, 1);
	}
	check_clean(fx->st);

	/* uids_r may be NULL. */
	assert_int_equal(store_deliver(fx->st, ids, 2, "x", 1, DATE, results,
	    NULL), 0);
	assert_int_equal(results[0], 0);
	assert_int_equal(results[1], 0);
	assert_int_equal(mbox_messages(fx, fx->bob, "INBOX"), 2);
}

static void
test_deliver_atomic(void **state)
{
	struct fx *fx = *state;
	int64_t ids[3] = { fx->alice, 999999, fx->bob };
	int64_t rows = db_total_rows(fx->dir);
	int results[3];
	uint32_t uids[3];

	assert_int_equal(store_deliver(fx->st, ids, 3, msg_text,
	    strlen(msg_text), DATE, results, uids), STORE_ERR_NOT_FOUND);
	assert_int_equal(mbox_messages(fx, fx->alice, "INBOX"), 0);
	assert_int_equal(mbox_messages(fx, fx->bob, "INBOX"), 0);
	assert_usage(fx, "alice@example.org", 0, 0);
	assert_usage(fx, "bob@example.org", 0, 0);
	assert_int_equal(db_total_rows(fx->dir), rows);

	assert_int_equal(store_deliver(fx->st, ids, 0, msg_text,
	    strlen(msg_text), DATE, results, uids), STORE_ERR_INVALID);
	assert_int_equal(db_total_rows(fx->dir), rows);
	check_clean(fx->st);
}

static void
test_deliver_quota_some(void **state)
{
	struct fx *fx = *state;
	int64_t ids[3] = { fx->alice, fx->bob, fx->carol };
	int results[3] = { 99, 99, 99 };
	uint32_t uids[3];
	char msg[500];

	memset(msg, 'm', sizeof(msg));
	assert_int_equal(store_user_set_quota(fx->st, "carol@example.org",
	    100), 0);
	assert_int_equal(store_deliver(fx->st, ids, 3, msg, sizeof(msg), DATE,
	    results, uids), 0);
	assert_int_equal(results[0], 0);
	assert_int_equal(results[1], 0);
	assert_int_equal(results[2], STORE_ERR_QUOTA);
	assert_int_equal(mbox_messages(fx, fx->alice, "INBOX"), 1);
	assert_int_equal(mbox_messages(fx, fx->bob, "INBOX"), 1);
	assert_int_equal(mbox_messages(fx, fx->carol, "INBOX"), 0);
	assert_usage(fx, "alice@example.org", 500, 1);
	assert_usage(fx, "carol@example.org", 0, 0);
	assert_body(fx, mbox_id(fx, fx->bob, "INBOX"), uids[1], msg,
	    sizeof(msg));
	check_clean(fx->st);
}

static void
test_deliver_quota_all(void **state)
{
	struct fx *fx = *state;
	int64_t ids[3] = { fx->alice, fx->bob, fx->carol };
	int results[3] = { 99, 99, 99 };
	uint32_t uids[3];
	int64_t rows;
	char msg[500];

	memset(msg, 'm', sizeof(msg));
	assert_int_equal(store_user_set_quota(fx->st, "alice@example.org", 10),
	    0);
	assert_int_equal(store_user_set_quota(fx->st, "bob@example.org", 10),
	    0);
	assert_int_equal(store_user_set_quota(fx->st, "carol@example.org", 10),
	    0);
	rows = db_total_rows(fx->dir);
	assert_int_equal(store_deliver(fx->st, ids, 3, msg, sizeof(msg), DATE,
	    results, uids), STORE_ERR_QUOTA);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(results[i], STORE_ERR_QUOTA);
		assert_int_equal(mbox_messages(fx, ids[i], "INBOX"), 0);
	}
	assert_int_equal(db_total_rows(fx->dir), rows);	/* no orphan body */
	check_clean(fx->st);
}

/* The quota is "would be exceeded": filling it exactly is allowed. */
static void
test_quota_boundary(void **state)
{
	struct fx *fx = *state;
	int results[1];
	char msg[600];

	memset(msg, 'q', sizeof(msg));
	assert_int_equal(store_user_set_quota(fx->st, "alice@example.org",
	    1000), 0);
	assert_int_equal(store_deliver(fx->st, &fx->alice, 1, msg, 600, DATE,
	    results, NULL), 0);
	assert_int_equal(store_deliver(fx->st, &fx->alice, 1, msg, 400, DATE,
	    results, NULL), 0);
	assert_usage(fx, "alice@example.org", 1000, 2);
	assert_int_equal(store_deliver(fx->st, &fx->alice, 1, msg, 1, DATE,
	    results, NULL), STORE_ERR_QUOTA);
	assert_int_equal(results[0], STORE_ERR_QUOTA);
	assert_usage(fx, "alice@example.org", 1000, 2);
}

static void
test_append_quota(void **state)
{
	struct fx *fx = *state;
	int64_t inbox = mbox_id(fx, fx->alice, "INBOX");
	int64_t rows;
	uint32_t uid = 0;
	char msg[200];

	memset(msg, 'a', sizeof(msg));
	assert_int_equal(store_user_set_quota(fx->st, "alice@example.org",
	    100), 0);
	rows = db_total_rows(fx->dir);
	assert_int_equal(store_append(fx->st, inbox, msg, 200, 0, NULL, DATE,
	    &uid), STORE_ERR_QUOTA);
	assert_int_equal(mbox_messages(fx, fx->alice, "INBOX"), 0);
	assert_int_equal(db_total_rows(fx->dir), rows);
	assert_int_equal(store_append(fx->st, inbox, msg, 100, 0, NULL, DATE,
	    &uid), 0);
	assert_int_equal(store_append(fx->st, inbox, msg, 1, 0, NULL, DATE,
	    &uid), STORE_ERR_QUOTA);
	assert_usage(fx, "alice@example.org", 100, 1);
	check_clean(fx->st);
}

static void
test_append_flags_keywords(void **state)
{
	struct fx *fx = *state;
	int64_t drafts = mbox_id(fx, fx->alice, "Drafts");
	struct store_message m;
	uint32_t uid, uid2 = 0;
	int64_t rows;

	assert_int_equal(store_append(fx->st, drafts, "draft", 5,
	    STORE_FLAG_SEEN | STORE_FLAG_FLAGGED | STORE_FLAG_DRAFT,
	    "$Forwarded Work", 1234567890, &uid), 0);
	msg_get(fx, drafts, uid, &m);
	assert_int_equal(m.uid, uid);
	assert_int_equal(m.flags,
	    STORE_FLAG_SEEN | STORE_FLAG_FLAGGED | STORE_FLAG_DRAFT);
	assert_int_equal(kw_count(m.keywords), 2);
	assert_true(kw_has(m.keywords, "$Forwarded"));
	assert_true(kw_has(m.keywords, "Work"));
	assert_int_equal(m.internal_date, 1234567890);
	assert_int_equal(m.size, 5);
	assert_true(m.modseq > 0);
	assert_true(m.body_id > 0);
	store_message_clear(&m);

	uid2 = append(fx, drafts, "plain", 0, NULL);
	assert_true(uid2 > uid);
	msg_get(fx, drafts, uid2, &m);
	assert_int_equal(m.flags, 0);
	assert_string_equal(m.keywords, "");
	store_message_clear(&m);
	uid2 = append(fx, drafts, "all", STORE_FLAGS_ALL, "");
	msg_get(fx, drafts, uid2, &m);
	assert_int_equal(m.flags, STORE_FLAGS_ALL);
	assert_string_equal(m.keywords, "");
	store_message_clear(&m);

	rows = db_total_rows(fx->dir);
	assert_int_equal(store_append(fx->st, drafts, "bad", 3, 0x20, NULL,
	    DATE, &uid2), STORE_ERR_INVALID);
	assert_int_equal(store_append(fx->st, drafts, "bad", 3, 0, "a(b",
	    DATE, &uid2), STORE_ERR_INVALID);
	assert_int_equal(store_append(fx->st, drafts, "bad", 3, 0, "\\Seen",
	    DATE, &uid2), STORE_ERR_INVALID);
	assert_int_equal(store_append(fx->st, 999999, "bad", 3, 0, NULL,
	    DATE, &uid2), STORE_ERR_NOT_FOUND);
	assert_int_equal(db_total_rows(fx->dir), rows);
	assert_int_equal(mbox_messages(fx, fx->alice, "Drafts"), 3);
}

/* LIMIT_MESSAGE_SIZE is a bound: one octet more is refused, whole. */
static void
test_message_too_large(void **state)
{
	struct fx *fx = *state;
	size_t len = (size_t)LIMIT_MESSAGE_SIZE + 1;
	char *big = calloc(1, len);	/* zero pages, never touched */
	int64_t rows = db_total_rows(fx->dir);
	int results[1] = { 99 };
	uint32_t uid = 0;

	assert_non_null(big);
	assert_int_equal(store_append(fx->st, mbox_id(fx, fx->alice, "INBOX"),
	    big, len, 0, NULL, DATE, &uid), STORE_ERR_LIMIT);
	assert_int_equal(store_deliver(fx->st, &fx->alice, 1, big, len, DATE,
	    results, NULL), STORE_ERR_LIMIT);
	assert_int_equal(mbox_messages(fx, fx->alice, "INBOX"), 0);
	assert_int_equal(db_total_rows(fx->dir), rows);
	free(big);
}

/* ---- Reading ---------------------------------------------------------- */

static void
test_message_list_ranges(void **state)
{
	struct fx *fx = *state;
	int64_t inbox = mbox_id(fx, fx->alice, "INBOX");
	struct store_message *msgs = NULL;
	uint32_t u[5], got[8], del;
	size_t count = 0, n;

	for (int i = 0; i < 5; i++) {
		char body[16];

		snprintf(body, sizeof(body), "message %d", i + 1);
		u[i] = append(fx, inbox, body, i == 0 ? STORE_FLAG_SEEN : 0,
		    i == 1 ? "kw" : NULL);
	}
	del = u[2];
	assert_int_equal(store_flags_update(fx->st, inbox, &del, 1,
	    STORE_FLAGS_ADD, STORE_FLAG_DELETED, NULL), 0);
	assert_int_equal(store_expunge(fx->st, inbox, &del, 1, NULL, &count),
	    0);
	assert_int_equal(count, 1);

	n = list_uids(fx, inbox, 1, 0, got, 8);
	assert_uids(got, n, (uint32_t[]){ u[0], u[1], u[3], u[4] }, 4);
	n = list_uids(fx, inbox, 0, 0, got, 8);
	assert_uids(got, n, (uint32_t[]){ u[0], u[1], u[3], u[4] }, 4);
	n = list_uids(fx, inbox, u[1], u[3], got, 8);
	assert_uids(got, n, (uint32_t[]){ u[1], u[3] }, 2);
	n = list_uids(fx, inbox, u[2], u[2], got, 8);
	assert_int_equal(n, 0);
	n = list_uids(fx, inbox, u[4], u[4], got, 8);
	assert_uids(got, n, (uint32_t[]){ u[4] }, 1);
	n = list_uids(fx, inbox, u[3], 0, got, 8);
	assert_uids(got, n, (uint32_t[]){ u[3], u[4] }, 2);
	n = list_uids(fx, inbox, u[4] + 1, 0, got, 8);
	assert_int_equal(n, 0);
	n = list_uids(fx, inbox, 1, UINT32_MAX, got, 8);
	assert_int_equal(n, 4);

	/* The fields come with the list. */
	assert_int_equal(store_message_list(fx->st, inbox, 1, 0, &msgs,
	    &count), 0);
	assert_int_equal(count, 4);
	assert_int_equal(msgs[0].flags, STORE_FLAG_SEEN);
	assert_string_equal(msgs[0].keywords, "");
	assert_string_equal(msgs[1].keywords, "kw");
	for (size_t i = 0; i < count; i++) {
		assert_int_equal(msgs[i].size, 9);
		assert_int_equal(msgs[i].internal_date, DATE);
		assert_true(msgs[i].modseq > 0);
		assert_true(msgs[i].body_id > 0);
		assert_true(msgs[i].id > 0);
	}
	store_message_list_free(&msgs, count);
	assert_null(msgs);
}

static void
test_message_get(void **state)
{
	struct fx *fx = *state;
	int64_t inbox = mbox_id(fx, fx->alice, "INBOX");
	struct store_message m;
	uint32_t uid;

	uid = append(fx, inbox, "get me", STORE_FLAG_ANSWERED, "a b");
	msg_get(fx, inbox, uid, &m);
	assert_int_equal(m.uid, uid);
	assert_int_equal(m.flags, STORE_FLAG_ANSWERED);
	assert_int_equal(kw_count(m.keywords), 2);
	assert_int_equal(m.size, 6);
	store_message_clear(&m);
	memset(&m, 0, sizeof(m));
	assert_int_equal(store_message_get(fx->st, inbox, uid + 1, &m),
	    STORE_ERR_NOT_FOUND);
	/* Another user's mailbox does not hold it. */
	assert_int_equal(store_message_get(fx->st, mbox_id(fx, fx->bob,
	    "INBOX"), uid, &m), STORE_ERR_NOT_FOUND);
}

/* A reproducible byte soup with every octet value. */
static char *
make_bytes(size_t n, uint32_t seed)
{
	char *p = malloc(n + 1);
	uint32_t x = seed;

	assert_non_null(p);
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (char)(x >> 24);
	}
	p[n] = '\0';
	return p;
}

static void
test_body_exact(void **state)
{
	struct fx *fx = *state;
	int64_t inbox = mbox_id(fx, fx->alice, "INBOX");
	char small[300], *big, *data = NULL;
	size_t big_len = 1024 * 1024 + 17, len = 0;
	uint32_t uid;
	int64_t body;
	int results[2];
	uint32_t uids[2];
	int64_t ids[2] = { fx->alice, fx->bob };

	/* Every octet, NULs and bare CR/LF included. */
	for (size_t i = 0; i < sizeof(small); i++)
		small[i] = (char)(i % 256);
	uid = append_n(fx, inbox, small, sizeof(small), 0, NULL);
	assert_body(fx, inbox, uid, small, sizeof(small));
	assert_int_equal(store_body_read(fx->st, inbox, uid + 100, &data,
	    &len), STORE_ERR_NOT_FOUND);
	free(data);

	/* Bigger than several LIMIT_BODY_CHUNKs, not a multiple of one. */
	assert_true(big_len > 4 * LIMIT_BODY_CHUNK);
	big = make_bytes(big_len, 0x1234567);
	assert_int_equal(store_deliver(fx->st, ids, 2, big, big_len, DATE,
	    results, uids), 0);
	assert_body(fx, inbox, uids[0], big, big_len);
	assert_body(fx, mbox_id(fx, fx->bob, "INBOX"), uids[1], big, big_len);
	body = msg_body_id(fx, inbox, uids[0]);
	assert_int_equal(msg_body_id(fx, mbox_id(fx, fx->bob, "INBOX"),
	    uids[1]), body);
	assert_usage(fx, "alice@example.org", (int64_t)(big_len + 300), 2);
	check_clean(fx->st);
	free(big);
}

static void
test_body_read_range(void **state)
{
	struct fx *fx = *state;
	int64_t inbox = mbox_id(fx, fx->alice, "INBOX");
	size_t n = 3 * LIMIT_BODY_CHUNK + 4321, off = 0, len;
	char *data = make_bytes(n, 42), *back = malloc(n + 1000);
	char *buf = malloc(LIMIT_BODY_CHUNK + 5000);
	uint32_t uid;
	int64_t body;
	int calls = 0;

	assert_non_null(back);
	assert_non_null(buf);
	uid = append_n(fx, inbox, data, n, 0, NULL);
	body = msg_body_id(fx, inbox, uid);

	/* Pieces of 1000 octets, straddling chunk edges. */
	for (;;) {
		assert_int_equal(store_body_read_range(fx->st, body,
		    (int64_t)off, buf, 1000, &len), 0);
		if (len == 0)
			break;
		assert_true(len <= 1000);
		assert_true(off + len <= n);
		memcpy(back + off, buf, len);
		off += len;
		assert_true(++calls < 10000);
	}
	assert_int_equal(off, n);
	assert_memory_equal(back, data, n);

	/* One read across a chunk boundary, and reads at the end. */
	assert_int_equal(store_body_read_range(fx->st, body,
	    LIMIT_BODY_CHUNK - 10, buf, LIMIT_BODY_CHUNK + 20, &len), 0);
	assert_true(len > 0 && len <= LIMIT_BODY_CHUNK + 20);
	assert_memory_equal(buf, data + LIMIT_BODY_CHUNK - 10, len);
	assert_int_equal(store_body_read_range(fx->st, body, (int64_t)n - 3,
	    buf, 1000, &len), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(buf, data + n - 3, 3);
	assert_int_equal(store_body_read_range(fx->st, body, (int64_t)n, buf,
	    1000, &len), 0);
	assert_int_equal(len, 0);

	/* Once the message is expunged, the body is gone. */
	assert_int_equal(store_flags_update(fx->st, inbox, &uid, 1,
	    STORE_FLAGS_ADD, STORE_FLAG_DELETED, NULL), 0);
	assert_int_equal(store_expunge(fx->st, inbox, NULL, 0, NULL, &len), 0);
	assert_int_equal(len, 1);
	assert_int_equal(store_body_read_range(fx->st, body, 0, buf, 1000,
	    &len), STORE_ERR_NOT_FOUND);
	{
		char *gone = NULL;

		assert_int_equal(store_body_read(fx->st, inbox, uid, &gone,
		    &len), STORE_ERR_NOT_FOUND);
		free(gone);
	}
	check_clean(fx->st);
	free(buf);
	free(back);
	free(data);
}

/* ---- Flags ------------------------------------------------------------ */

static void
assert_flags(struct fx *fx, int64_t mailbox, uint32_t uid, uint32_t flags,
    size_t nkw, const char *const *kws)
{
	struct store_message m;

	msg_get(fx, mailbox, uid, &m);
	if (m.flags != flags)
		fail_msg("uid %u: flags 0x%x, expected 0x%x", uid, m.flags,
		    flags);
	if (kw_count(m.keywords) != nkw)
		fail_msg("uid %u: keywords \"%s\", expected %zu", uid,
		    m.keywords, nkw);
	for (size_t i = 0; i < nkw; i++)
		if (!kw_has(m.keywords, kws[i]))
			fail_msg("uid %u: keywords \"%s\" lack %s", uid,
			    m.keywords, kws[i]);
	store_message_clear(&m);
}

static void
test_flags_update(void **state)
{
	struct fx *fx = *state;
	int64_t inbox = mbox_id(fx, fx->alice, "INBOX");
	uint32_t u1, u2, both[2], absent[2];
	uint64_t m1, m2;

	u1 = append(fx, inbox, "one", 0, NULL);
	u2 = append(fx, inbox, "two", STORE_FLAG_SEEN, NULL);
	both[0] = u1;
	both[1] = u2;

	m1 = msg_modseq(fx, inbox, u1);
	assert_int_equal(store_flags_update(fx->st, inbox, &u1, 1,
	    STORE_FLAGS_REPLACE, STORE_FLAG_SEEN | STORE_FLAG_ANSWERED,
	    "work $label1"), 0);
	assert_flags(fx, inbox, u1, STORE_FLAG_SEEN | STORE_FLAG_ANSWERED, 2,
	    (const char *[]){ "work", "$label1" });
	assert_true(msg_modseq(fx, inbox, u1) > m1);

	m2 = msg_modseq(fx, inbox, u2);
	assert_int_equal(store_flags_update(fx->st, inbox, both, 2,
	    STORE_FLAGS_ADD, STORE_FLAG_FLAGGED, "urgent"), 0);
	assert_flags(fx, inbox, u1,
	    STORE_FLAG_SEEN | STORE_FLAG_ANSWERED | STORE_FLAG_FLAGGED, 3,
	    (const char *[]){ "work", "$label1", "urgent" });
	assert_flags(fx, inbox, u2, STORE_FLAG_SEEN | STORE_FLAG_FLAGGED, 1,
	    (const char *[]){ "urgent" });
	assert_true(msg_modseq(fx, inbox, u2) > m2);

	assert_int_equal(store_flags_update(fx->st, inbox, &u1, 1,
	    STORE_FLAGS_REMOVE, STORE_FLAG_SEEN, "work"), 0);
	assert_flags(fx, inbox, u1, STORE_FLAG_ANSWERED | STORE_FLAG_FLAGGED,
	    2, (const char *[]){ "$label1", "urgent" });

	/* Duplicates collapse, in one list and against what is there. */
	assert_int_equal(store_flags_update(fx->st, inbox, &u2, 1,
	    STORE_FLAGS_ADD, 0, "dup dup urgent"), 0);
	assert_flags(fx, inbox, u2, STORE_FLAG_SEEN | STORE_FLAG_FLAGGED, 2,
	    (const char *[]){ "urgent", "dup" });
	assert_int_equal(store_flags_update(fx->st, inbox, &u2, 1,
	    STORE_FLAGS_REPLACE, STORE_FLAG_DRAFT, "x x"), 0);
	assert_flags(fx, inbox, u2, STORE_FLAG_DRAFT, 1,
	    (const char *[]){ "x" });

	/* REPLACE with nothing clears everything. */
	assert_int_equal(store_flags_update(fx->st, inbox, &u1, 1,
	    STORE_FLAGS_REPLACE, 0, NULL), 0);
	assert_flags(fx, inbox, u1, 0, 0, NULL);

	/* Absent UIDs are skipped. */
	absent[0] = u1;
	absent[1] = u2 + 1000;
	assert_int_equal(store_flags_update(fx->st, inbox, absent, 2,
	    STORE_FLAGS_ADD, STORE_FLAG_SEEN, NULL), 0);
	assert_flags(fx, inbox, u1, STORE_FLAG_SEEN, 0, NULL);
}

static void
test_flags_invalid(void **state)
{
	static const char *const bad[] = {
		"a b(", "\\Foo", "\\Seen", "x%", "x*", "x]", "x{1}",
		"say\"what", "ctl\x01", "x)",
	};
	struct fx *fx = *state;
	int64_t inbox = mbox_id(fx, fx->alice, "INBOX");
	char kws[64 * 8 + 16], long_kw[LIMIT_KEYWORD_LEN + 2];
	uint32_t uid;
	uint64_t m;
	size_t n = 0;

	uid = append(fx, inbox, "one", STORE_FLAG_SEEN, "keep");
	m = msg_modseq(fx, inbox, uid);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ret = store_flags_update(fx->st, inbox, &uid, 1,
		    STORE_FLAGS_ADD, STORE_FLAG_FLAGGED, bad[i]);

		if (ret != STORE_ERR_INVALID)
			fail_msg("keywords \"%s\": %d", bad[i], ret);
	}
	assert_int_equal(store_flags_update(fx->st, inbox, &uid, 1,
	    STORE_FLAGS_REPLACE, 0x20, NULL), STORE_ERR_INVALID);
	/* Refused means untouched. */
	assert_flags(fx, inbox, uid, STORE_FLAG_SEEN, 1,
	    (const char *[]){ "keep" });
	assert_int_equal(msg_modseq(fx, inbox, uid), m);

	/* LIMIT_KEYWORD_LEN octets is a keyword; one more is past a bound. */
	memset(long_kw, 'k', LIMIT_KEYWORD_LEN);
	long_kw[LIMIT_KEYWORD_LEN] = '\0';
	assert_int_equal(store_flags_update(fx->st, inbox, &uid, 1,
	    STORE_FLAGS_REPLACE, 0, long_kw), 0);
	long_kw[LIMIT_KEYWORD_LEN] = 'k';
	long_kw[LIMIT_KEYWORD_LEN + 1] = '\0';
	{
		/* store.h does not say whether an over-long keyword is a bad
		 * keyword or a passed bound; either refusal will do. */
		int ret = store_flags_update(fx->st, inbox, &uid, 1,
		    STORE_FLAGS_REPLACE, 0, long_kw);

		if (ret != STORE_ERR_INVALID && ret != STORE_ERR_LIMIT)
			fail_msg("over-long keyword: %d", ret);
	}

	/* LIMIT_KEYWORDS per message, then no more. */
	for (int i = 0; i < LIMIT_KEYWORDS; i++)
		n += (size_t)snprintf(kws + n, sizeof(kws) - n, "%sk%d",
		    i > 0 ? " " : "", i);
	assert_int_equal(store_flags_update(fx->st, inbox, &uid, 1,
	    STORE_FLAGS_REPLACE, 0, kws), 0);
	assert_int_equal(store_flags_update(fx->st, inbox, &uid, 1,
	    STORE_FLAGS_ADD, 0, "one-more"), STORE_ERR_LIMIT);
}

/* ---- Copy, move, expunge ---------------------------------------------- */

static void
test_copy(void **state)
{
	struct fx *fx = *state;
	int64_t inbox = mbox_id(fx, fx->alice, "INBOX");
	int64_t archive = mbox_id(fx, fx->alice, "Archive");
	uint32_t src[3], dst[3] = { 7, 7, 7 };
	struct store_message m;
	uint32_t u1, u2;

	assert_int_equal(store_append(fx->st, inbox, "aaa", 3, STORE_FLAG_SEEN,
	    "kw1", 1000, &u1), 0);
	assert_int_equal(store_append(fx->st, inbox, "bbbb", 4,
	    STORE_FLAG_FLAGGED, NULL, 2000, &u2), 0);
	src[0] = u1;
	src[1] = u2;
	src[2] = u2 + 50;	/* absent */

	assert_int_equal(store_copy(fx->st, inbox, src, 3, archive, dst), 0);
	assert_true(dst[0] > 0);
	assert_true(dst[1] > dst[0]);
	assert_int_equal(dst[2], 0);
	assert_int_equal(mbox_messages(fx, fx->alice, "Archive"), 2);
	assert_int_equal(mbox_messages(fx, fx->alice, "INBOX"), 2);

	msg_get(fx, archive, dst[0], &m);
	assert_int_equal(m.flags, STORE_FLAG_SEEN);
	assert_string_equal(m.keywords, "kw1");
	assert_int_equal(m.internal_date, 1000);
	assert_int_equal(m.size, 3);
	assert_int_equal(m.body_id, msg_body_id(fx, inbox, u1));
	store_message_clear(&m);
	msg_get(fx, archive, dst[1], &m);
	assert_int_equal(m.flags, STORE_FLAG_FLAGGED);
	assert_int_equal(m.internal_date, 2000);
	store_message_clear(&m);
	assert_body(fx, archive, dst[1], "bbbb", 4);
	/* A copy counts against the quota like any message. */
	assert_usage(fx, "alice@example.org", 14, 4);

	/* Over quota: nothing is copied. */
	assert_int_equal(store_user_set_quota(fx->st, "alice@example.org",
	    14 + 6), 0);
	assert_int_equal(store_copy(fx->st, inbox, src, 2, archive, dst),
	    STORE_ERR_QUOTA);
	assert_int_equal(mbox_messages(fx, fx->alice, "Archive"), 2);
	assert_usage(fx, "alice@example.org", 14, 4);
	/* Exactly to the limit is fine. */
	assert_int_equal(store_user_set_quota(fx->st, "alice@example.org",
	    14 + 7), 0);
	assert_int_equal(store_copy(fx->st, inbox, src, 2, archive, NULL), 0);
	assert_usage(fx, "alice@example.org", 21, 6);

	assert_int_equal(store_copy(fx->st, inbox, src, 2, 999999, dst),
	    STORE_ERR_NOT_FOUND);
	check_clean(fx->st);
}

static void
test_move(void **state)
{
	struct fx *fx = *state;
	int64_t inbox = mbox_id(fx, fx->alice, "INBOX");
	int64_t trash = mbox_id(fx, fx->alice, "Trash");
	uint32_t src[2], dst[2] = { 0, 0 }, got[4];
	struct store_message m;
	int64_t body;
	size_t n;

	src[0] = append(fx, inbox, "move me", STORE_FLAG_SEEN, "kw");
	src[1] = append(fx, inbox, "and me", 0, NULL);
	body = msg_body_id(fx, inbox, src[0]);
	/* A full quota does not stop a move. */
	assert_int_equal(store_user_set_quota(fx->st, "alice@example.org", 13),
	    0);

	assert_int_equal(store_move(fx->st, inbox, src, 2, trash, dst), 0);
	assert_true(dst[0] > 0 && dst[1] > dst[0]);
	assert_int_equal(mbox_messages(fx, fx->alice, "INBOX"), 0);
	n = list_uids(fx, inbox, 1, 0, got, 4);
	assert_int_equal(n, 0);
	assert_int_equal(mbox_messages(fx, fx->alice, "Trash"), 2);
	msg_get(fx, trash, dst[0], &m);
	assert_int_equal(m.flags, STORE_FLAG_SEEN);
	assert_string_equal(m.keywords, "kw");
	assert_int_equal(m.internal_date, DATE);
	assert_int_equal(m.body_id, body);
	store_message_clear(&m);
	assert_body(fx, trash, dst[1], "and me", 6);
	assert_usage(fx, "alice@example.org", 13, 2);
	memset(&m, 0, sizeof(m));
	assert_int_equal(store_message_get(fx->st, inbox, src[0], &m),
	    STORE_ERR_NOT_FOUND);

	/* Absent source UIDs get 0. */
	src[0] = dst[0];
	src[1] = dst[1] + 100;
	assert_int_equal(store_move(fx->st, trash, src, 2, inbox, dst), 0);
	assert_true(dst[0] > 0);
	assert_int_equal(dst[1], 0);
	assert_int_equal(mbox_messages(fx, fx->alice, "INBOX"), 1);
	assert_int_equal(mbox_messages(fx, fx->alice, "Trash"), 1);
	assert_usage(fx, "alice@example.org", 13, 2);
	check_clean(fx->st);
}

static void
test_expunge(void **state)
{
	struct fx *fx = *state;
	int64_t inbox = mbox_id(fx, fx->alice, "INBOX");
	uint32_t u[5], sel[2], got[8], *expunged = NULL;
	size_t count = 99, n;

	for (int i = 0; i < 4; i++)
		u[i] = append(fx, inbox, "1234567890", 0, NULL);

	/* Nothing \Deleted: nothing goes. */
	assert_int_equal(store_expunge(fx->st, inbox, NULL, 0, &expunged,
	    &count), 0);
	assert_int_equal(count, 0);
	free(expunged);
	expunged = NULL;

	sel[0] = u[0];
	sel[1] = u[2];
	assert_int_equal(store_flags_update(fx->st, inbox, sel, 2,
	    STORE_FLAGS_ADD, STORE_FLAG_DELETED, NULL), 0);
	assert_int_equal(store_expunge(fx->st, inbox, NULL, 0, &expunged,
	    &count), 0);
	assert_int_equal(count, 2);
	assert_int_equal(expunged[0], u[0]);
	assert_int_equal(expunged[1], u[2]);
	free(expunged);
	expunged = NULL;
	n = list_uids(fx, inbox, 1, 0, got, 8);
	assert_uids(got, n, (uint32_t[]){ u[1], u[3] }, 2);
	assert_usage(fx, "alice@example.org", 20, 2);

	/* RFC 4315 UID EXPUNGE: only the given UIDs that are \Deleted. */
	u[4] = append(fx, inbox, "1234567890", 0, NULL);
	sel[0] = u[1];
	sel[1] = u[3];
	assert_int_equal(store_flags_update(fx->st, inbox, sel, 2,
	    STORE_FLAGS_ADD, STORE_FLAG_DELETED, NULL), 0);
	{
		uint32_t which[3] = { u[3], u[4], u[4] + 100 };

		assert_int_equal(store_expunge(fx->st, inbox, which, 3,
		    &expunged, &count), 0);
	}
	assert_int_equal(count, 1);
	assert_int_equal(expunged[0], u[3]);
	free(expunged);
	n = list_uids(fx, inbox, 1, 0, got, 8);
	assert_uids(got, n, (uint32_t[]){ u[1], u[4] }, 2);
	assert_flags(fx, inbox, u[1], STORE_FLAG_DELETED, 0, NULL);

	/* expunged_r may be NULL. */
	assert_int_equal(store_expunge(fx->st, inbox, NULL, 0, NULL, &count),
	    0);
	assert_int_equal(count, 1);
	n = list_uids(fx, inbox, 1, 0, got, 8);
	assert_uids(got, n, (uint32_t[]){ u[4] }, 1);
	assert_usage(fx, "alice@example.org", 10, 1);
	check_clean(fx->st);
}

static void
test_single_instance(void **state)
{
	struct fx *fx = *state;
	int64_t inbox = mbox_id(fx, fx->alice, "INBOX");
	int64_t body, rows_one, rows_two;
	uint32_t u1, u2, u3, which;
	size_t count, len;
	char buf[64];

	u1 = deliver1(fx, fx->alice, msg_text);
	rows_one = db_total_rows(fx->dir);
	u2 = deliver1(fx, fx->alice, msg_text);
	rows_two = db_total_rows(fx->dir);
	assert_true(u2 > u1);
	body = msg_body_id(fx, inbox, u1);
	assert_int_equal(msg_body_id(fx, inbox, u2), body);
	/* A second reference adds a message row, not body rows: at most one
	 * row more (the message) plus bookkeeping that is not the body. */
	assert_true(rows_two - rows_one < 3);
	u3 = append(fx, mbox_id(fx, fx->alice, "Archive"), msg_text, 0, NULL);
	assert_int_equal(msg_body_id(fx, mbox_id(fx, fx->alice, "Archive"),
	    u3), body);
	assert_usage(fx, "alice@example.org", 3 * (int64_t)strlen(msg_text),
	    3);
	check_clean(fx->st);

	/* Expunging one reference keeps the body. */
	which = u1;
	assert_int_equal(store_flags_update(fx->st, inbox, &which, 1,
	    STORE_FLAGS_ADD, STORE_FLAG_DELETED, NULL), 0);
	assert_int_equal(store_expunge(fx->st, inbox, NULL, 0, NULL, &count),
	    0);
	assert_int_equal(store_body_read_range(fx->st, body, 0, buf, 4, &len),
	    0);
	assert_int_equal(len, 4);
	assert_memory_equal(buf, "From", 4);
	check_clean(fx->st);

	/* Expunging the last ones frees it. */
	which = u2;
	assert_int_equal(store_flags_update(fx->st, inbox, &which, 1,
	    STORE_FLAGS_ADD, STORE_FLAG_DELETED, NULL), 0);
	assert_int_equal(store_expunge(fx->st, inbox, NULL, 0, NULL, &count),
	    0);
	which = u3;
	assert_int_equal(store_flags_update(fx->st, mbox_id(fx, fx->alice,
	    "Archive"), &which, 1, STORE_FLAGS_ADD, STORE_FLAG_DELETED, NULL),
	    0);
	assert_int_equal(store_expunge(fx->st, mbox_id(fx, fx->alice,
	    "Archive"), NULL, 0, NULL, &count), 0);
	assert_int_equal(count, 1);
	assert_int_equal(store_body_read_range(fx->st, body, 0, buf, 4, &len),
	    STORE_ERR_NOT_FOUND);
	assert_usage(fx, "alice@example.org", 0, 0);
	check_clean(fx->st);
}

/* ---- What IMAP reads without the body --------------------------------- */

static const char multipart_text[] =
	"From: \"Ann Example\" <ann@example.net>\r\n"
	"To: alice@example.org, bob@example.org\r\n"
	"Cc: group: carol@example.org;\r\n"
	"Subject: =?UTF-8?Q?r=C3=A9sum=C3=A9?=\r\n"
	"Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
	"Message-ID: <m1@example.net>\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
	"\r\n"
	"preamble\r\n"
	"--b1\r\n"
	"Content-Type: text/plain; charset=utf-8\r\n"
	"\r\n"
	"two\r\nlines\r\n"
	"--b1\r\n"
	"Content-Type: message/rfc822\r\n"
	"\r\n"
	"Subject: inner\r\n"
	"\r\n"
	"inner body\r\n"
	"--b1\r\n"
	"Content-Type: application/octet-stream; name=x.bin\r\n"
	"Content-Disposition: attachment; filename=x.bin\r\n"
	"Content-Transfer-Encoding: base64\r\n"
	"\r\n"
	"AAEC\r\n"
	"--b1--\r\n";

/* assert_mime: what store_body_mime() gives for body_id is what
 * mime_parse() makes of data. */
static void
assert_mime(struct fx *fx, int64_t body_id, const char *data, size_t len)
{
	struct store_body_mime got = { NULL, NULL, NULL };
	struct mime_message want;

	assert_int_equal(mime_parse(data, len, &want), 0);
	assert_int_equal(store_body_mime(fx->st, body_id, &got), 0);
	assert_true(got.envelope[0] == '(' && got.bodystructure[0] == '(' &&
	    got.body[0] == '(');
	assert_string_equal(got.envelope, want.envelope);
	assert_string_equal(got.bodystructure, want.bodystructure);
	assert_string_equal(got.body, want.body);
	store_body_mime_clear(&got);
	assert_null(got.envelope);
	assert_null(got.bodystructure);
	assert_null(got.body);
	mime_message_free(&want);
}

static int
body_mime_err(struct fx *fx, int64_t body_id)
{
	struct store_body_mime got = { NULL, NULL, NULL };
	int ret = store_body_mime(fx->st, body_id, &got);

	store_body_mime_clear(&got);
	return ret;
}

/* remove1: removes message uid whatever its flags. */
static void
remove1(struct fx *fx, int64_t mailbox_id, uint32_t uid)
{
	size_t count = 0;

	assert_int_equal(store_remove(fx->st, mailbox_id, &uid, 1, NULL,
	    &count), 0);
	assert_int_equal(count, 1);
}

/* Delivery and append store mime_parse()'s strings with a new body. */
static void
test_body_mime_stored(void **state)
{
	struct fx *fx = *state;
	int64_t inbox = mbox_id(fx, fx->alice, "INBOX");
	int64_t archive = mbox_id(fx, fx->alice, "Archive");
	int64_t drafts = mbox_id(fx, fx->alice, "Drafts");
	int64_t ids[2] = { fx->bob, fx->carol };
	int64_t b_text, b_multi, b_empty, b_big, b_two, b_last, b_new;
	size_t big_len = 3 * LIMIT_BODY_CHUNK + 5;
	char *big = make_bytes(big_len, 42);
	int results[2];
	uint32_t uids[2], u_last;

	b_text = msg_body_id(fx, inbox, deliver1(fx, fx->alice, msg_text));
	assert_mime(fx, b_text, msg_text, strlen(msg_text));
	b_multi = msg_body_id(fx, archive, append(fx, archive, multipart_text,
	    STORE_FLAG_SEEN, NULL));
	assert_mime(fx, b_multi, multipart_text, strlen(multipart_text));
	b_empty = msg_body_id(fx, drafts, append_n(fx, drafts, "", 0, 0,
	    NULL));
	assert_mime(fx, b_empty, "", 0);
	/* Arbitrary bytes over several chunks still get their strings. */
	b_big = msg_body_id(fx, inbox, append_n(fx, inbox, big, big_len, 0,
	    NULL));
	assert_mime(fx, b_big, big, big_len);
	/* Several recipients: one body. */
	assert_int_equal(store_deliver(fx->st, ids, 2, multipart_text + 1,
	    strlen(multipart_text) - 1, DATE, results, uids), 0);
	b_two = msg_body_id(fx, mbox_id(fx, fx->bob, "INBOX"), uids[0]);
	assert_int_equal(msg_body_id(fx, mbox_id(fx, fx->carol, "INBOX"),
	    uids[1]), b_two);
	assert_mime(fx, b_two, multipart_text + 1,
	    strlen(multipart_text) - 1);
	check_clean(fx->st);

	/* A body that went is not found, and its id (the largest) is not
	 * given to the next new body. */
	u_last = append(fx, inbox, "last", 0, NULL);
	b_last = msg_body_id(fx, inbox, u_last);
	assert_int_equal(body_mime_err(fx, b_last + 1), STORE_ERR_NOT_FOUND);
	remove1(fx, inbox, u_last);
	assert_int_equal(body_mime_err(fx, b_last), STORE_ERR_NOT_FOUND);
	b_new = msg_body_id(fx, inbox, deliver1(fx, fx->alice, "new one"));
	assert_true(b_new > b_last);
	assert_int_equal(body_mime_err(fx, b_last), STORE_ERR_NOT_FOUND);
	assert_mime(fx, b_new, "new one", 7);
	check_clean(fx->st);
	free(big);
}

/* db_exec: runs sql on the database of dir with the store closed. */
static void
db_exec(struct fx *fx, const char *sql)
{
	sqlite3 *db;

	store_close(&fx->st);
	db = db_open(fx->dir);
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	sqlite3_close(db);
	fx->st = tu_store_open(fx->dir);
}

/* A body stored again (same bytes) is not parsed again: its strings stay
 * as they were, here replaced by hand to tell. */
static void
test_body_mime_dedup(void **state)
{
	struct fx *fx = *state;
	int64_t inbox = mbox_id(fx, fx->alice, "INBOX");
	int64_t archive = mbox_id(fx, fx->alice, "Archive");
	struct store_body_mime got = { NULL, NULL, NULL };
	int64_t body, bob = fx->bob;
	int results[1];
	uint32_t first, uid;

	first = deliver1(fx, fx->alice, multipart_text);
	body = msg_body_id(fx, inbox, first);
	assert_mime(fx, body, multipart_text, strlen(multipart_text));
	db_exec(fx, "UPDATE bodies SET envelope = '(E)',"
	    " bodystructure = '(S)', body = '(B)'");

	assert_int_equal(msg_body_id(fx, archive, append(fx, archive,
	    multipart_text, 0, NULL)), body);
	assert_int_equal(store_deliver(fx->st, &bob, 1, multipart_text,
	    strlen(multipart_text), DATE, results, &uid), 0);
	assert_int_equal(msg_body_id(fx, mbox_id(fx, fx->bob, "INBOX"), uid),
	    body);
	assert_int_equal(store_copy(fx->st, inbox, &first, 1,
	    archive, NULL), 0);
	assert_int_equal(store_body_mime(fx->st, body, &got), 0);
	assert_string_equal(got.envelope, "(E)");
	assert_string_equal(got.bodystructure, "(S)");
	assert_string_equal(got.body, "(B)");
	store_body_mime_clear(&got);
	check_clean(fx->st);
}

/* store_check reports a body without its strings. */
static void
test_check_detects_missing_mime(void **state)
{
	struct fx *fx = *state;
	int problems = 0;

	deliver1(fx, fx->alice, msg_text);
	check_clean(fx->st);
	db_exec(fx, "UPDATE bodies SET bodystructure = ''");
	assert_int_equal(store_check(fx->st, check_report, &problems),
	    STORE_ERR_CORRUPT);
	assert_int_equal(problems, 1);
}

#define BODIES_COLUMNS "SELECT count(*) FROM pragma_table_info('bodies')"
/* What schemas 5 and 4 added, taken away again. */
#define TAKE_BACK_TO_V4 \
	"DROP TABLE queue_rcpts; DROP TABLE queue_chunks; DROP TABLE queue;" \
	" DROP TABLE dkim_keys;"
#define TAKE_BACK_TO_V3 TAKE_BACK_TO_V4 \
	"DROP INDEX messages_modseq; DROP INDEX expunged_modseq;"
#define TAKE_BACK_TO_V2 TAKE_BACK_TO_V3 \
	"DROP TRIGGER bodies_delete; DROP INDEX bodies_text_partial;" \
	" DROP TABLE body_text; ALTER TABLE bodies DROP COLUMN text_partial;"

/* want_text: what mime_text_headers() and mime_text_body() make of
 * data (malloc'd). */
static void
want_text(const char *data, size_t len, char **hdr_r, char **body_r)
{
	struct mime_message m;
	struct buf h, b;

	assert_int_equal(mime_parse(data, len, &m), 0);
	buf_init(&h, 1 << 24);
	buf_init(&b, 1 << 24);
	assert_int_equal(mime_text_headers(data, len, &m, &h), 0);
	assert_int_equal(mime_text_body(data, len, &m, &b), 0);
	*hdr_r = strndup(h.data != NULL ? h.data : "", h.len);
	*body_r = strndup(b.data != NULL ? b.data : "", b.len);
	assert_non_null(*hdr_r);
	assert_non_null(*body_r);
	buf_free(&h);
	buf_free(&b);
	mime_message_free(&m);
}

/* index_all: store_index_pending() until no body waits; returns how
 * many were indexed. */
static unsigned int
index_all(struct fx *fx)
{
	unsigned int done, total = 0;

	do {
		assert_int_equal(store_index_pending(fx->st, 16, &done), 0);
		total += done;
	} while (done == 16);
	return total;
}

/* assert_text: store_body_text() gives what mime_text_*() make of
 * data. */
static void
assert_text(struct fx *fx, int64_t body_id, const char *data, size_t len)
{
	char *hdr = NULL, *body = NULL, *want_hdr, *want_body;

	want_text(data, len, &want_hdr, &want_body);
	(void)index_all(fx);
	assert_int_equal(store_body_text(fx->st, body_id, &hdr, &body), 0);
	assert_string_equal(hdr, want_hdr);
	assert_string_equal(body, want_body);
	free(hdr);
	free(body);
	free(want_hdr);
	free(want_body);
}

/*
 * A version 1 database (made here by taking a current one back: the
 * columns version 2 added dropped, its meta counters removed) is migrated
 * on open, and its bodies get their strings.
 */
static void
test_migrate_v1(void **state)
{
	struct fx *fx = *state;
	int64_t inbox = mbox_id(fx, fx->alice, "INBOX");
	int64_t drafts = mbox_id(fx, fx->alice, "Drafts");
	int64_t ids[2] = { fx->alice, fx->bob }, b_text, b_multi, b_empty;
	int64_t b_new;
	int results[2];
	uint32_t uids[2];
	sqlite3 *db;

	assert_int_equal(store_schema_version(), 5);
	assert_int_equal(store_deliver(fx->st, ids, 2, msg_text,
	    strlen(msg_text), DATE, results, uids), 0);
	b_text = msg_body_id(fx, inbox, uids[0]);
	b_multi = msg_body_id(fx, drafts, append(fx, drafts, multipart_text,
	    0, NULL));
	b_empty = msg_body_id(fx, drafts, append_n(fx, drafts, "", 0, 0,
	    NULL));
	store_close(&fx->st);
	db = db_open(fx->dir);
	assert_int_equal(sqlite3_exec(db, TAKE_BACK_TO_V2
	    "ALTER TABLE bodies DROP COLUMN envelope;"
	    "ALTER TABLE bodies DROP COLUMN bodystructure;"
	    "ALTER TABLE bodies DROP COLUMN body;"
	    "DELETE FROM meta WHERE key IN ('mailbox_id', 'body_id');"
	    "PRAGMA user_version = 1;", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(db_user_version(fx->dir), 1);
	assert_int_equal(db_int(fx->dir, BODIES_COLUMNS), 4);

	fx->st = tu_store_open(fx->dir);
	assert_int_equal(db_user_version(fx->dir), 5);
	assert_int_equal(db_int(fx->dir, BODIES_COLUMNS), 8);
	assert_mime(fx, b_text, msg_text, strlen(msg_text));
	assert_mime(fx, b_multi, multipart_text, strlen(multipart_text));
	assert_mime(fx, b_empty, "", 0);
	assert_text(fx, b_text, msg_text, strlen(msg_text));
	assert_text(fx, b_multi, multipart_text, strlen(multipart_text));
	assert_text(fx, b_empty, "", 0);
	assert_body(fx, inbox, uids[0], msg_text, strlen(msg_text));
	assert_usage(fx, "alice@example.org", (int64_t)(strlen(msg_text) +
	    strlen(multipart_text)), 3);
	check_clean(fx->st);

	/* Reopening does not migrate again, and new bodies work. */
	store_close(&fx->st);
	fx->st = tu_store_open(fx->dir);
	assert_mime(fx, b_multi, multipart_text, strlen(multipart_text));
	b_new = msg_body_id(fx, inbox, deliver1(fx, fx->alice, "after"));
	assert_true(b_new > b_empty);
	assert_mime(fx, b_new, "after", 5);
	check_clean(fx->st);
}

/* ---- Search ----------------------------------------------------------- */

/* cands_at: store_search_candidates() must give the UIDs listed in want
 * (ended by 0). */
static void
cands_at(struct fx *fx, int64_t mailbox_id, enum store_search_field field,
    const char *term, const uint32_t *want, int line)
{
	uint32_t *uids = NULL;
	size_t count = 999, n = 0, i;
	int ret;

	while (want[n] != 0)
		n++;
	(void)index_all(fx);
	ret = store_search_candidates(fx->st, mailbox_id, field, term, &uids,
	    &count);
	if (ret != 0)
		fail_msg("line %d: [%s]: %d (%s)", line, term, ret,
		    store_strerror(ret));
	if (count != n)
		fail_msg("line %d: [%s]: %zu candidates, want %zu", line, term,
		    count, n);
	for (i = 0; i < n; i++)
		if (uids[i] != want[i])
			fail_msg("line %d: [%s]: candidate %zu is UID %u, want "
			    "%u", line, term, i, uids[i], want[i]);
	free(uids);
}
#define cands(fx, mb, field, term, ...) cands_at((fx), (mb), (field), \
	(term), (const uint32_t[]){ __VA_ARGS__ }, __LINE__)

static int
search_err(struct fx *fx, int64_t mailbox_id, enum store_search_field field,
    const char *term)
{
	uint32_t *uids = (uint32_t *)&uids;
	size_t count = 999;
	int ret = store_search_candidates(fx->st, mailbox_id, field, term,
	    &uids, &count);

	if (ret != 0) {
		assert_null(uids);
		assert_int_equal(count, 0);
	} else {
		free(uids);
	}
	return ret;
}

static int
body_text_err(struct fx *fx, int64_t body_id)
{
	char *hdr = NULL, *body = NULL;
	int ret;

	(void)index_all(fx);
	ret = store_body_text(fx->st, body_id, &hdr, &body);
	if (ret != 0) {
		assert_null(hdr);
		assert_null(body);
	}
	free(hdr);
	free(body);
	return ret;
}

/* assert_fts_sound: FTS5's own check of the index against the stored
 * text, and one index row per body. */
static void
assert_fts_sound(struct fx *fx)
{
	sqlite3 *db = db_open(fx->dir);

	if (sqlite3_exec(db, "INSERT INTO body_text (body_text)"
	    " VALUES ('integrity-check')", NULL, NULL, NULL) != SQLITE_OK)
		fail_msg("integrity-check: %s", sqlite3_errmsg(db));
	sqlite3_close(db);
	assert_int_equal(db_int(fx->dir, "SELECT count(*) FROM body_text"),
	    db_int(fx->dir, "SELECT count(*) FROM bodies"));
}

/* Delivery and append index a new body's decoded text. */
static void
test_search_indexed(void **state)
{
	struct fx *fx = *state;
	int64_t inbox = mbox_id(fx, fx->alice, "INBOX");
	int64_t archive = mbox_id(fx, fx->alice, "Archive");
	int64_t b_text, b_multi, b_empty;
	char *hdr = NULL, *body = NULL;

	b_text = msg_body_id(fx, inbox, deliver1(fx, fx->alice, msg_text));
	assert_text(fx, b_text, msg_text, strlen(msg_text));
	b_multi = msg_body_id(fx, archive, append(fx, archive, multipart_text,
	    0, NULL));
	assert_text(fx, b_multi, multipart_text, strlen(multipart_text));
	(void)index_all(fx);
	assert_int_equal(store_body_text(fx->st, b_multi, &hdr, &body), 0);
	assert_non_null(strstr(hdr, "Subject: résumé\n"));
	assert_non_null(strstr(body, "two\r\nlines"));
	assert_non_null(strstr(body, "Subject: inner\n"));
	assert_non_null(strstr(body, "inner body"));
	assert_null(strstr(body, "AAEC"));
	free(hdr);
	free(body);
	b_empty = msg_body_id(fx, archive, append_n(fx, archive, "", 0, 0,
	    NULL));
	assert_text(fx, b_empty, "", 0);
	assert_int_equal(body_text_err(fx, b_empty + 1), STORE_ERR_NOT_FOUND);
	assert_fts_sound(fx);
	check_clean(fx->st);
}

/* A body stored again is not indexed again: its text stays as it was,
 * here replaced by hand to tell. */
static void
test_search_dedup(void **state)
{
	struct fx *fx = *state;
	int64_t inbox = mbox_id(fx, fx->alice, "INBOX");
	int64_t archive = mbox_id(fx, fx->alice, "Archive");
	int64_t body, bob = fx->bob;
	char *hdr = NULL, *body_text = NULL;
	int results[1];
	uint32_t first, uid;

	first = deliver1(fx, fx->alice, multipart_text);
	body = msg_body_id(fx, inbox, first);
	assert_int_equal(index_all(fx), 1);
	db_exec(fx, "UPDATE body_text SET hdr = 'H', body = 'B'");
	assert_int_equal(msg_body_id(fx, archive, append(fx, archive,
	    multipart_text, 0, NULL)), body);
	assert_int_equal(store_deliver(fx->st, &bob, 1, multipart_text,
	    strlen(multipart_text), DATE, results, &uid), 0);
	assert_int_equal(store_copy(fx->st, inbox, &first, 1, archive, NULL),
	    0);
	(void)index_all(fx);
	assert_int_equal(store_body_text(fx->st, body, &hdr, &body_text), 0);
	assert_string_equal(hdr, "H");
	assert_string_equal(body_text, "B");
	free(hdr);
	free(body_text);
	assert_int_equal(db_int(fx->dir, "SELECT count(*) FROM body_text"),
	    1);
	assert_fts_sound(fx);
	check_clean(fx->st);
}

/* A body's index row goes with the body, whatever removes its last
 * message: remove, expunge, mailbox or user deletion. */
static void
test_search_delete(void **state)
{
	struct fx *fx = *state;
	int64_t ids[2] = { fx->alice, fx->bob };
	int64_t a_inbox = mbox_id(fx, fx->alice, "INBOX");
	int64_t b_inbox = mbox_id(fx, fx->bob, "INBOX");
	int64_t c_inbox = mbox_id(fx, fx->carol, "INBOX");
	int64_t shared, b_exp, b_mbox, b_user, mb;
	uint32_t uids[2], u;
	int results[2];
	size_t n;

	assert_int_equal(store_deliver(fx->st, ids, 2, "Subject: shared\r\n"
	    "\r\nzebra crossing\r\n", 33, DATE, results, uids), 0);
	shared = msg_body_id(fx, a_inbox, uids[0]);
	remove1(fx, a_inbox, uids[0]);
	/* bob still has it */
	cands(fx, b_inbox, STORE_SEARCH_BODY, "zebra", uids[1], 0);
	assert_int_equal(body_text_err(fx, shared), 0);
	remove1(fx, b_inbox, uids[1]);
	assert_int_equal(body_text_err(fx, shared), STORE_ERR_NOT_FOUND);
	cands(fx, b_inbox, STORE_SEARCH_BODY, "zebra", 0);

	/* expunge */
	u = append(fx, a_inbox, "\r\nexpunged text", STORE_FLAG_DELETED, NULL);
	b_exp = msg_body_id(fx, a_inbox, u);
	assert_int_equal(store_expunge(fx->st, a_inbox, NULL, 0, NULL, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(body_text_err(fx, b_exp), STORE_ERR_NOT_FOUND);

	/* mailbox deletion */
	assert_int_equal(store_mailbox_create(fx->st, fx->alice, "Old", NULL,
	    &mb), 0);
	b_mbox = msg_body_id(fx, mb, append(fx, mb, "\r\nin a mailbox", 0,
	    NULL));
	assert_int_equal(store_mailbox_delete(fx->st, fx->alice, "Old"), 0);
	assert_int_equal(body_text_err(fx, b_mbox), STORE_ERR_NOT_FOUND);

	/* user deletion */
	b_user = msg_body_id(fx, c_inbox, deliver1(fx, fx->carol,
	    "\r\ncarol's own"));
	assert_int_equal(store_user_del(fx->st, "carol@example.org"), 0);
	assert_int_equal(body_text_err(fx, b_user), STORE_ERR_NOT_FOUND);

	assert_int_equal(db_int(fx->dir, "SELECT count(*) FROM body_text"),
	    0);
	assert_fts_sound(fx);
	check_clean(fx->st);
}

/* HEADER, BODY and TEXT look in the header fields, the body's text, or
 * both, of the one mailbox, decoded. */
static void
test_search_fields(void **state)
{
	struct fx *fx = *state;
	int64_t inbox = mbox_id(fx, fx->alice, "INBOX");
	int64_t archive = mbox_id(fx, fx->alice, "Archive");
	uint32_t u1, u2, u3, u4, u5;

	u1 = deliver1(fx, fx->alice, "Subject: apple\r\n\r\nbanana\r\n");
	u2 = deliver1(fx, fx->alice, "Subject: other\r\n\r\napple pie\r\n");
	u3 = deliver1(fx, fx->alice, "X-Tag: cherry\r\n\r\ncherry\r\n");
	u4 = deliver1(fx, fx->alice, "Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?="
	    "\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: text/html; charset=iso-8859-1\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
	    "<p>caf=E9 &amp; cr&egrave;me</p>\r\n");
	u5 = deliver1(fx, fx->alice, multipart_text);
	/* elsewhere: not candidates */
	append(fx, archive, "Subject: apple\r\n\r\napple cherry\r\n", 0, NULL);
	deliver1(fx, fx->bob, "Subject: apple\r\n\r\napple\r\n");

	cands(fx, inbox, STORE_SEARCH_HEADER, "apple", u1, 0);
	cands(fx, inbox, STORE_SEARCH_BODY, "apple", u2, 0);
	cands(fx, inbox, STORE_SEARCH_TEXT, "apple", u1, u2, 0);
	cands(fx, inbox, STORE_SEARCH_TEXT, "cherry", u3, 0);
	cands(fx, inbox, STORE_SEARCH_HEADER, "X-Tag: cherry", u3, 0);
	cands(fx, inbox, STORE_SEARCH_HEADER, "subject: apple", u1, 0);
	cands(fx, inbox, STORE_SEARCH_BODY, "banana", u1, 0);
	cands(fx, inbox, STORE_SEARCH_HEADER, "banana", 0);
	cands(fx, inbox, STORE_SEARCH_HEADER, "grüße", u4, 0);
	cands(fx, inbox, STORE_SEARCH_BODY, "café & crème", u4, 0);
	cands(fx, inbox, STORE_SEARCH_BODY, "<p>", 0);
	cands(fx, inbox, STORE_SEARCH_HEADER, "résumé", u5, 0);
	cands(fx, inbox, STORE_SEARCH_BODY, "inner body", u5, 0);
	cands(fx, inbox, STORE_SEARCH_BODY, "Subject: inner", u5, 0);
	cands(fx, inbox, STORE_SEARCH_BODY, "two\r\nlines", u5, 0);
	cands(fx, inbox, STORE_SEARCH_TEXT, "nowhere at all", 0);
	cands(fx, mbox_id(fx, fx->alice, "Junk"), STORE_SEARCH_TEXT, "apple",
	    0);
	cands(fx, 999999, STORE_SEARCH_TEXT, "apple", 0);
}

/* Case is ignored as mime_text_fold() ignores it. */
static void
test_search_case(void **state)
{
	struct fx *fx = *state;
	int64_t inbox = mbox_id(fx, fx->alice, "INBOX");
	uint32_t u;
	static const char *const terms[] = {
		"HELLO", "hello", "wORLD", "äöü", "ÄÖÜ", "ΣΑΣ", "σας", "σασ",
		"ПРИВЕТ", "Привет", "ՀԱՅ", "ＡＢＣ",
	};
	size_t i;

	u = deliver1(fx, fx->alice, "Subject: x\r\n\r\n"
	    "hello World ÄÖÜ σας привет հայ ａｂｃ\r\n");
	for (i = 0; i < sizeof(terms) / sizeof(terms[0]); i++) {
		struct buf a, b;

		cands(fx, inbox, STORE_SEARCH_BODY, terms[i], u, 0);
		/* and mime_text_fold() agrees */
		buf_init(&a, 1024);
		buf_init(&b, 1024);
		assert_int_equal(mime_text_fold(terms[i], strlen(terms[i]),
		    &a), 0);
		assert_int_equal(mime_text_fold("hello World ÄÖÜ σας привет "
		    "հայ ａｂｃ", strlen("hello World ÄÖÜ σας привет հայ ａｂｃ"),
		    &b), 0);
		assert_non_null(memmem(b.data, b.len, a.data, a.len));
		buf_free(&a);
		buf_free(&b);
	}
}

/* A term is literal: FTS5 syntax in it is text, never an operator or a
 * syntax error. */
static void
test_search_literal(void **state)
{
	struct fx *fx = *state;
	int64_t inbox = mbox_id(fx, fx->alice, "INBOX");
	uint32_t u1, u2, u3, u4;

	u1 = deliver1(fx, fx->alice, "\r\nsay \"hi\" now\r\n");
	u2 = deliver1(fx, fx->alice, "\r\na*b and c\r\n");
	u3 = deliver1(fx, fx->alice, "\r\nx AND y\r\n");
	u4 = deliver1(fx, fx->alice, "\r\nf(x) NEAR(a b) hdr:z ^q -w +v {c}\r\n");

	cands(fx, inbox, STORE_SEARCH_BODY, "\"hi\"", u1, 0);
	cands(fx, inbox, STORE_SEARCH_BODY, "\"hi", u1, 0);
	cands(fx, inbox, STORE_SEARCH_BODY, "\"\"\"", 0);
	cands(fx, inbox, STORE_SEARCH_BODY, "a*b", u2, 0);
	cands(fx, inbox, STORE_SEARCH_BODY, "*b ", u2, 0);
	cands(fx, inbox, STORE_SEARCH_BODY, "and", u2, u3, 0);
	cands(fx, inbox, STORE_SEARCH_BODY, "x AND y", u3, 0);
	cands(fx, inbox, STORE_SEARCH_BODY, "x OR y", 0);
	cands(fx, inbox, STORE_SEARCH_BODY, "say NOT now", 0);
	cands(fx, inbox, STORE_SEARCH_BODY, "(x)", u4, 0);
	cands(fx, inbox, STORE_SEARCH_BODY, "NEAR(a", u4, 0);
	cands(fx, inbox, STORE_SEARCH_BODY, "NEAR(a b)", u4, 0);
	cands(fx, inbox, STORE_SEARCH_BODY, "hdr:z", u4, 0);
	cands(fx, inbox, STORE_SEARCH_BODY, "^q -w +v", u4, 0);
	cands(fx, inbox, STORE_SEARCH_BODY, "{c}", u4, 0);
	cands(fx, inbox, STORE_SEARCH_HEADER, "\" OR \"", 0);
	cands(fx, inbox, STORE_SEARCH_TEXT, "body : now", 0);
	cands(fx, inbox, STORE_SEARCH_TEXT, "*)\"(", 0);
}

/* Candidates are a superset: every trigram of the term in the field,
 * not necessarily together (schema.c: detail=column). */
static void
test_search_superset(void **state)
{
	struct fx *fx = *state;
	int64_t inbox = mbox_id(fx, fx->alice, "INBOX");
	uint32_t u1, u2;

	u1 = deliver1(fx, fx->alice, "Subject: world\r\n\r\nworld\r\n");
	u2 = deliver1(fx, fx->alice, "Subject: a sword\r\n\r\norlando's "
	    "rld\r\n");
	cands(fx, inbox, STORE_SEARCH_TEXT, "world", u1, u2, 0);
	cands(fx, inbox, STORE_SEARCH_HEADER, "world", u1, 0);
	cands(fx, inbox, STORE_SEARCH_BODY, "world", u1, 0);
	cands(fx, inbox, STORE_SEARCH_BODY, "orld", u1, u2, 0);
}

/* Fewer than three characters (trigrams), or not UTF-8: the caller
 * scans. */
static void
test_search_short_term(void **state)
{
	struct fx *fx = *state;
	int64_t inbox = mbox_id(fx, fx->alice, "INBOX");
	uint32_t u = deliver1(fx, fx->alice, "\r\nab äö abc\r\n");

	assert_int_equal(search_err(fx, inbox, STORE_SEARCH_TEXT, "ab"),
	    STORE_ERR_INVALID);
	assert_int_equal(search_err(fx, inbox, STORE_SEARCH_TEXT, "äö"),
	    STORE_ERR_INVALID);
	assert_int_equal(search_err(fx, inbox, STORE_SEARCH_TEXT, ""),
	    STORE_ERR_INVALID);
	assert_int_equal(search_err(fx, inbox, STORE_SEARCH_TEXT, NULL),
	    STORE_ERR_INVALID);
	assert_int_equal(search_err(fx, inbox, STORE_SEARCH_TEXT,
	    "\xff\xfe\xfd"), STORE_ERR_INVALID);
	assert_int_equal(search_err(fx, inbox, STORE_SEARCH_TEXT,
	    "ab\xc3"), STORE_ERR_INVALID);
	assert_int_equal(search_err(fx, inbox, (enum store_search_field)7,
	    "abc"), STORE_ERR_INVALID);
	cands(fx, inbox, STORE_SEARCH_TEXT, "abc", u, 0);
	cands(fx, inbox, STORE_SEARCH_TEXT, "äö ", u, 0);
}

/* Only the first 64 characters of a term are looked up: more
 * candidates, never fewer. */
static void
test_search_long_term(void **state)
{
	struct fx *fx = *state;
	int64_t inbox = mbox_id(fx, fx->alice, "INBOX");
	char text[300], term[200];
	uint32_t u;

	for (size_t i = 0; i < 100; i++)
		term[i] = (char)('a' + (i * 7) % 26);
	term[100] = '\0';
	snprintf(text, sizeof(text), "\r\nsee %s here\r\n", term);
	u = deliver1(fx, fx->alice, text);
	cands(fx, inbox, STORE_SEARCH_BODY, term, u, 0);
	term[99] = '!';		/* past the 64th: still a candidate */
	cands(fx, inbox, STORE_SEARCH_BODY, term, u, 0);
	term[10] = '!';
	cands(fx, inbox, STORE_SEARCH_BODY, term, 0);
}

/* A body whose text passes LIMIT_SEARCH_TEXT is indexed in part: a candidate
 * for every term, and its text is not given out. */
static void
test_search_partial(void **state)
{
	struct fx *fx = *state;
	int64_t inbox = mbox_id(fx, fx->alice, "INBOX");
	size_t len = 0, cap = 4600 * 1024;
	char *big = malloc(cap);
	uint32_t u_big, u_small;
	int64_t b_big;

	assert_non_null(big);
	len += (size_t)snprintf(big, cap, "Subject: big\r\n\r\n");
	for (unsigned int i = 0; len + 64 < cap; i++)
		len += (size_t)snprintf(big + len, cap - len,
		    "line %u of a long log file\r\n", i);
	memcpy(big + len - 12, "needle zzz\r\n", 12);
	u_small = deliver1(fx, fx->alice, "Subject: small\r\n\r\nsmall\r\n");
	assert_int_equal(store_append(fx->st, inbox, big, len, 0, NULL, DATE,
	    &u_big), 0);
	b_big = msg_body_id(fx, inbox, u_big);
	assert_int_equal(body_text_err(fx, b_big), STORE_ERR_LIMIT);
	assert_int_equal(db_int(fx->dir, "SELECT count(*) FROM bodies"
	    " WHERE text_partial != 0"), 1);
	cands(fx, inbox, STORE_SEARCH_BODY, "needle zzz", u_big, 0);
	cands(fx, inbox, STORE_SEARCH_BODY, "no such thing", u_big, 0);
	cands(fx, inbox, STORE_SEARCH_HEADER, "small", u_small, u_big, 0);
	cands(fx, inbox, STORE_SEARCH_HEADER, "line 1", u_big, 0);
	check_clean(fx->st);
	free(big);
}

/* store_check reports a body missing from the index, and a row of the
 * index without its body. */
static void
test_check_detects_missing_index(void **state)
{
	struct fx *fx = *state;
	int problems = 0;

	deliver1(fx, fx->alice, msg_text);
	check_clean(fx->st);
	(void)index_all(fx);
	check_clean(fx->st);
	db_exec(fx, "DELETE FROM body_text");
	assert_int_equal(store_check(fx->st, check_report, &problems),
	    STORE_ERR_CORRUPT);
	assert_int_equal(problems, 1);
	db_exec(fx, "INSERT INTO body_text (rowid, hdr, body)"
	    " SELECT id, '', '' FROM bodies;"
	    "INSERT INTO body_text (rowid, hdr, body) VALUES (9999, 'a', 'b')");
	problems = 0;
	assert_int_equal(store_check(fx->st, check_report, &problems),
	    STORE_ERR_CORRUPT);
	assert_int_equal(problems, 1);
}

/* Delivery stores a body unindexed; until store_index_pending() indexes
 * it, it is a candidate of every search and its text must be decoded
 * (STORE_ERR_LIMIT); a second indexer finds nothing left to do. */
static void
test_index_pending(void **state)
{
	struct fx *fx = *state;
	int64_t inbox = mbox_id(fx, fx->alice, "INBOX");
	uint32_t uid = deliver1(fx, fx->alice, msg_text);
	int64_t body = msg_body_id(fx, inbox, uid);
	char *hdr = NULL, *text = NULL;
	uint32_t *uids = NULL;
	unsigned int done;
	int problems = 0;
	size_t n = 0;

	assert_int_equal(store_body_text(fx->st, body, &hdr, &text),
	    STORE_ERR_LIMIT);
	assert_int_equal(store_search_candidates(fx->st, inbox,
	    STORE_SEARCH_TEXT, "no such words here", &uids, &n), 0);
	assert_int_equal(n, 1);
	free(uids);
	check_clean(fx->st);
	assert_int_equal(db_int(fx->dir, "SELECT count(*) FROM body_text"),
	    0);
	assert_int_equal(store_index_pending(fx->st, 16, &done), 0);
	assert_int_equal(done, 1);
	assert_int_equal(store_index_pending(fx->st, 16, &done), 0);
	assert_int_equal(done, 0);
	assert_int_equal(db_int(fx->dir, "SELECT count(*) FROM body_text"),
	    1);
	uids = NULL;
	assert_int_equal(store_search_candidates(fx->st, inbox,
	    STORE_SEARCH_TEXT, "no such words here", &uids, &n), 0);
	assert_int_equal(n, 0);
	free(uids);
	assert_int_equal(store_body_text(fx->st, body, &hdr, &text), 0);
	free(hdr);
	free(text);
	/* A body marked pending yet indexed is inconsistent. */
	db_exec(fx, "UPDATE bodies SET text_partial = 2");
	assert_int_equal(store_check(fx->st, check_report, &problems),
	    STORE_ERR_CORRUPT);
	assert_int_equal(problems, 1);
}

/* A version 3 database gets the MODSEQ indexes IMAP syncs by, and
 * store_message_changed() finds what changed through them. */
static void
test_migrate_v3(void **state)
{
	struct fx *fx = *state;
	int64_t inbox = mbox_id(fx, fx->alice, "INBOX");
	struct store_message *msgs;
	uint32_t u1, u2;
	uint64_t before;
	char sql[128];
	size_t n;
	sqlite3 *db;

	u1 = deliver1(fx, fx->alice, msg_text);
	u2 = deliver1(fx, fx->alice, multipart_text);
	store_close(&fx->st);
	db = db_open(fx->dir);
	assert_int_equal(sqlite3_exec(db, TAKE_BACK_TO_V3
	    "PRAGMA user_version = 3;", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	fx->st = tu_store_open(fx->dir);
	assert_int_equal(db_user_version(fx->dir), 5);
	assert_int_equal(db_int(fx->dir, "SELECT count(*) FROM sqlite_master"
	    " WHERE name IN ('messages_modseq', 'expunged_modseq')"), 2);
	snprintf(sql, sizeof(sql), "SELECT highestmodseq FROM mailboxes"
	    " WHERE id = %lld", (long long)inbox);
	before = (uint64_t)db_int(fx->dir, sql);
	assert_int_equal(store_flags_update(fx->st, inbox, &u2, 1,
	    STORE_FLAGS_ADD, STORE_FLAG_SEEN, NULL), 0);
	assert_int_equal(store_message_changed(fx->st, inbox, before, u2,
	    &msgs, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(msgs[0].uid, u2);
	store_message_list_free(&msgs, n);
	/* uid_hi bounds it: u1 did not change, u2 is above u1. */
	assert_int_equal(store_message_changed(fx->st, inbox, before, u1,
	    &msgs, &n), 0);
	assert_int_equal(n, 0);
	store_message_list_free(&msgs, n);
	check_clean(fx->st);
}

/* A version 2 database (this one taken back) is migrated on open and
 * its bodies indexed; removal then takes their rows. */
static void
test_migrate_v2(void **state)
{
	struct fx *fx = *state;
	int64_t inbox = mbox_id(fx, fx->alice, "INBOX");
	int64_t drafts = mbox_id(fx, fx->alice, "Drafts");
	int64_t b_text, b_multi, b_empty;
	uint32_t u_text, u_multi;
	sqlite3 *db;

	u_text = deliver1(fx, fx->alice, msg_text);
	b_text = msg_body_id(fx, inbox, u_text);
	u_multi = append(fx, drafts, multipart_text, 0, NULL);
	b_multi = msg_body_id(fx, drafts, u_multi);
	b_empty = msg_body_id(fx, drafts, append_n(fx, drafts, "", 0, 0,
	    NULL));
	store_close(&fx->st);
	db = db_open(fx->dir);
	assert_int_equal(sqlite3_exec(db, TAKE_BACK_TO_V2
	    "PRAGMA user_version = 2;", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(db_int(fx->dir, BODIES_COLUMNS), 7);

	fx->st = tu_store_open(fx->dir);
	assert_int_equal(db_user_version(fx->dir), 5);
	assert_int_equal(db_int(fx->dir, BODIES_COLUMNS), 8);
	assert_text(fx, b_text, msg_text, strlen(msg_text));
	assert_text(fx, b_multi, multipart_text, strlen(multipart_text));
	assert_text(fx, b_empty, "", 0);
	cands(fx, inbox, STORE_SEARCH_TEXT, "all three", u_text, 0);
	cands(fx, drafts, STORE_SEARCH_HEADER, "RÉSUMÉ", u_multi, 0);
	assert_fts_sound(fx);
	check_clean(fx->st);

	/* the trigger came with the migration */
	remove1(fx, inbox, u_text);
	assert_int_equal(body_text_err(fx, b_text), STORE_ERR_NOT_FOUND);
	assert_fts_sound(fx);
	check_clean(fx->st);
}

/* state_get: store_mailbox_state() that must succeed. */
static struct store_mailbox_state
state_get(struct fx *fx, int64_t mailbox_id)
{
	struct store_mailbox_state s = { 0, 0, 0 };

	assert_int_equal(store_mailbox_state(fx->st, mailbox_id, &s), 0);
	return s;
}

static bool
state_changed_at(struct store_mailbox_state a, struct store_mailbox_state b,
    int line)
{
	if (a.uidvalidity != b.uidvalidity)
		fail_msg("line %d: UIDVALIDITY changed", line);
	if (b.uidnext < a.uidnext || b.highestmodseq < a.highestmodseq)
		fail_msg("line %d: counters went down", line);
	return a.uidnext != b.uidnext || a.highestmodseq != b.highestmodseq;
}
#define changed(a, b) state_changed_at((a), (b), __LINE__)

/* Every change to a mailbox's messages shows in its (UIDNEXT,
 * HIGHESTMODSEQ); what does not change it leaves them; a deleted mailbox
 * is not found, and its id is not given to another. */
static void
test_mailbox_state(void **state)
{
	struct fx *fx = *state;
	int64_t inbox = mbox_id(fx, fx->alice, "INBOX");
	int64_t archive = mbox_id(fx, fx->alice, "Archive");
	int64_t carol_inbox = mbox_id(fx, fx->carol, "INBOX");
	struct store_mailbox_state s, t, a, b;
	struct store_mailbox mb;
	int64_t tmp, tmp2, bobs;
	uint32_t u1, u2, u3, cu;
	size_t count;

	s = state_get(fx, inbox);
	mbox_get(fx, fx->alice, "INBOX", &mb);
	assert_int_equal(s.uidvalidity, mb.uidvalidity);
	assert_int_equal(s.uidnext, mb.uidnext);
	assert_int_equal(s.highestmodseq, mb.highestmodseq);
	store_mailbox_clear(&mb);
	assert_false(changed(s, state_get(fx, inbox)));

	u1 = deliver1(fx, fx->alice, "one");
	assert_true(changed(s, t = state_get(fx, inbox)));
	u2 = append(fx, inbox, "two", 0, NULL);
	assert_true(changed(t, s = state_get(fx, inbox)));
	u3 = append(fx, inbox, "three", 0, NULL);
	s = state_get(fx, inbox);

	/* Flags; setting what is set already is no change. */
	assert_int_equal(store_flags_update(fx->st, inbox, &u1, 1,
	    STORE_FLAGS_ADD, STORE_FLAG_SEEN, "$Label1"), 0);
	assert_true(changed(s, t = state_get(fx, inbox)));
	assert_int_equal(store_flags_update(fx->st, inbox, &u1, 1,
	    STORE_FLAGS_ADD, STORE_FLAG_SEEN, "$label1"), 0);
	assert_false(changed(t, s = state_get(fx, inbox)));
	assert_int_equal(store_flags_update(fx->st, inbox, &u1, 1,
	    STORE_FLAGS_REMOVE, 0, "$Label1"), 0);
	assert_true(changed(s, t = state_get(fx, inbox)));

	/* Expunge (nothing \Deleted: no change), remove. */
	assert_int_equal(store_expunge(fx->st, inbox, NULL, 0, NULL, &count),
	    0);
	assert_int_equal(count, 0);
	assert_false(changed(t, s = state_get(fx, inbox)));
	assert_int_equal(store_flags_update(fx->st, inbox, &u2, 1,
	    STORE_FLAGS_ADD, STORE_FLAG_DELETED, NULL), 0);
	s = state_get(fx, inbox);
	assert_int_equal(store_expunge(fx->st, inbox, NULL, 0, NULL, &count),
	    0);
	assert_int_equal(count, 1);
	assert_true(changed(s, t = state_get(fx, inbox)));
	remove1(fx, inbox, u3);
	assert_true(changed(t, s = state_get(fx, inbox)));

	/* Copy changes the destination only; move both. */
	a = state_get(fx, archive);
	assert_int_equal(store_copy(fx->st, inbox, &u1, 1, archive, NULL), 0);
	assert_false(changed(s, state_get(fx, inbox)));
	assert_true(changed(a, b = state_get(fx, archive)));
	assert_int_equal(store_move(fx->st, inbox, &u1, 1, archive, NULL), 0);
	assert_true(changed(s, t = state_get(fx, inbox)));
	assert_true(changed(b, a = state_get(fx, archive)));
	/* Into another user's mailbox, and out of it. */
	cu = deliver1(fx, fx->carol, "carol's");
	b = state_get(fx, carol_inbox);
	assert_int_equal(store_move(fx->st, carol_inbox, &cu, 1, inbox, NULL),
	    0);
	assert_true(changed(b, state_get(fx, carol_inbox)));
	assert_true(changed(t, s = state_get(fx, inbox)));

	/* Renaming INBOX moves its messages out; renaming another mailbox
	 * changes no message of it. */
	assert_int_equal(store_mailbox_rename(fx->st, fx->alice, "INBOX",
	    "Old"), 0);
	assert_true(changed(s, state_get(fx, inbox)));
	a = state_get(fx, archive);
	assert_int_equal(store_mailbox_rename(fx->st, fx->alice, "Archive",
	    "Archive2"), 0);
	assert_false(changed(a, state_get(fx, archive)));
	check_clean(fx->st);

	/* Deleted: not found, and the id is never given again, even when it
	 * was the largest. */
	assert_int_equal(store_mailbox_create(fx->st, fx->alice, "Tmp", NULL,
	    &tmp), 0);
	state_get(fx, tmp);
	assert_int_equal(store_mailbox_delete(fx->st, fx->alice, "Tmp"), 0);
	assert_int_equal(store_mailbox_state(fx->st, tmp, &s),
	    STORE_ERR_NOT_FOUND);
	assert_int_equal(store_mailbox_create(fx->st, fx->bob, "Tmp", NULL,
	    &bobs), 0);
	assert_true(bobs > tmp);
	assert_int_equal(store_mailbox_create(fx->st, fx->alice, "Tmp", NULL,
	    &tmp2), 0);
	assert_true(tmp2 > bobs);
	assert_int_equal(store_mailbox_state(fx->st, tmp, &s),
	    STORE_ERR_NOT_FOUND);
	assert_int_equal(store_mailbox_delete(fx->st, fx->alice, "Archive2"),
	    0);
	assert_int_equal(store_mailbox_state(fx->st, archive, &s),
	    STORE_ERR_NOT_FOUND);
	assert_int_equal(store_user_del(fx->st, "alice@example.org"), 0);
	assert_int_equal(store_mailbox_state(fx->st, inbox, &s),
	    STORE_ERR_NOT_FOUND);
	assert_int_equal(store_mailbox_state(fx->st, 0, &s),
	    STORE_ERR_NOT_FOUND);
	check_clean(fx->st);
}

/* ---- Several handles -------------------------------------------------- */

/* DESIGN.md: a message SMTP accepted is readable through IMAP at once;
 * each worker has its own handle. */
static void
test_two_handles(void **state)
{
	struct fx *fx = *state;
	struct store *st2 = tu_store_open(fx->dir);
	struct store_mailbox mb;
	int64_t inbox = mbox_id(fx, fx->alice, "INBOX");
	uint32_t u1, u2 = 0;
	int results[1];

	u1 = deliver1(fx, fx->alice, "from handle one");
	memset(&mb, 0, sizeof(mb));
	assert_int_equal(store_mailbox_get(st2, fx->alice, "INBOX", &mb), 0);
	assert_int_equal(mb.messages, 1);
	store_mailbox_clear(&mb);
	assert_int_equal(store_deliver(st2, &fx->alice, 1, "from two", 8, DATE,
	    results, &u2), 0);
	assert_true(u2 > u1);
	assert_int_equal(mbox_messages(fx, fx->alice, "INBOX"), 2);
	assert_body(fx, inbox, u2, "from two", 8);
	store_close(&st2);
	check_clean(fx->st);
}

struct writer {
	const char *dir;
	int64_t user;
	int failures;
	uint32_t uids[25];
};

static void *
writer_run(void *arg)
{
	struct writer *w = arg;
	struct store *st = NULL;
	char *error = NULL, msg[64];
	int result;

	if (store_open(w->dir, &st, &error) != 0) {
		free(error);
		w->failures = 1000;
		return NULL;
	}
	for (int i = 0; i < 25; i++) {
		snprintf(msg, sizeof(msg), "writer %p message %d", (void *)w,
		    i);
		if (store_deliver(st, &w->user, 1, msg, strlen(msg), DATE,
		    &result, &w->uids[i]) != 0 || result != 0)
			w->failures++;
	}
	store_close(&st);
	return NULL;
}

/* Two threads with their own handles deliver to one INBOX at once: every
 * delivery waits its turn (BEGIN IMMEDIATE, busy timeout), none fails,
 * and no UID is given twice. */
static void
test_concurrent_delivery(void **state)
{
	struct fx *fx = *state;
	struct writer w[2];
	pthread_t tid[2];

	for (int i = 0; i < 2; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].dir = fx->dir;
		w[i].user = fx->alice;
		assert_int_equal(pthread_create(&tid[i], NULL, writer_run,
		    &w[i]), 0);
	}
	for (int i = 0; i < 2; i++) {
		assert_int_equal(pthread_join(tid[i], NULL), 0);
		assert_int_equal(w[i].failures, 0);
	}
	for (int i = 0; i < 25; i++)
		for (int j = 0; j < 25; j++)
			assert_true(w[0].uids[i] != w[1].uids[j]);
	assert_int_equal(mbox_messages(fx, fx->alice, "INBOX"), 50);
	check_clean(fx->st);
}

/* ---- Integrity -------------------------------------------------------- */

static void
test_check_clean(void **state)
{
	struct fx *fx = *state;
	struct tu_env *env = tu_env_new();

	/* An empty store, and one with users. */
	check_clean(env->st);
	tu_user_add(env->st, env->auth, "x@y.example", "pw", 0);
	check_clean(env->st);
	tu_env_free(&env);
	assert_null(env);
	check_clean(fx->st);
}

/* db_replace_value: wherever a column holds exactly from (as text or
 * blob), writes to instead; returns how many values changed. */
static int
db_replace_value(const char *dir, const char *from, const char *to,
    size_t len)
{
	sqlite3 *db = db_open(dir);
	char **tables = db_tables(db);
	int changed = 0;

	for (size_t i = 0; tables[i] != NULL; i++) {
		sqlite3_stmt *stmt = db_select_all(db, tables[i]);
		int ncol = sqlite3_column_count(stmt);
		char **cols = calloc((size_t)ncol + 1, sizeof(*cols));

		assert_non_null(cols);
		for (int c = 0; c < ncol; c++)
			cols[c] = strdup(sqlite3_column_name(stmt, c));
		sqlite3_finalize(stmt);
		for (int c = 0; c < ncol; c++) {
			char *sql = sqlite3_mprintf("UPDATE \"%w\" SET \"%w\" ="
			    " CAST(? AS BLOB) WHERE CAST(\"%w\" AS BLOB) ="
			    " CAST(? AS BLOB)", tables[i], cols[c], cols[c]);

			assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt,
			    NULL), SQLITE_OK);
			sqlite3_bind_blob(stmt, 1, to, (int)len, SQLITE_STATIC);
			sqlite3_bind_blob(stmt, 2, from, (int)len,
			    SQLITE_STATIC);
			assert_int_equal(sqlite3_step(stmt), SQLITE_DONE);
			changed += sqlite3_changes(db);
			sqlite3_finalize(stmt);
			sqlite3_free(sql);
		}
		strv_free_plain(cols);
	}
	strv_free_plain(tables);
	sqlite3_close(db);
	return changed;
}

/* store_check notices a body whose bytes no longer match their SHA-256. */
static void
test_check_detects_damage(void **state)
{
	static const char good[] = "a body nobody else has, 0123456789";
	static const char evil[] = "A body nobody else has, 0123456789";
	struct fx *fx = *state;
	int problems = 0;

	deliver1(fx, fx->alice, good);
	check_clean(fx->st);
	store_close(&fx->st);
	assert_int_equal(db_replace_value(fx->dir, good, evil,
	    strlen(good)), 1);
	fx->st = tu_store_open(fx->dir);
	assert_int_equal(store_check(fx->st, check_report, &problems),
	    STORE_ERR_CORRUPT);
	assert_true(problems >= 1);
}

/* ---- Change notification ---------------------------------------------- */

/* drain: every pending notification; returns how many, ids into out. */
static size_t
drain(int fd, int64_t *out, size_t max)
{
	size_t n = 0;
	int64_t id;
	int ret;

	while ((ret = store_notify_recv(fd, &id)) == 0) {
		if (n < max)
			out[n] = id;
		n++;
		assert_true(n < 1000);
	}
	assert_int_equal(ret, STORE_ERR_NOT_FOUND);
	return n;
}

static bool
has_id(const int64_t *ids, size_t n, int64_t id)
{
	for (size_t i = 0; i < n && i < 16; i++)
		if (ids[i] == id)
			return true;
	return false;
}

static void
test_notify(void **state)
{
	struct fx *fx = *state;
	int64_t ids[2] = { fx->alice, fx->bob }, got[16], id;
	char *sock = tu_path(fx->dir, "notify.sock");
	char *error = NULL;
	struct sockaddr_un sun;
	struct stat sb;
	int fd = -1, results[2], s;
	uint32_t uid;
	size_t n;

	assert_int_equal(store_notify_listen(fx->dir, &fd, &error), 0);
	assert_true(fd >= 0);
	assert_int_equal(stat(sock, &sb), 0);
	assert_true(S_ISSOCK(sb.st_mode));
	assert_int_equal(store_notify_recv(fd, &id), STORE_ERR_NOT_FOUND);
	/* Non-blocking: the call above returned instead of waiting. */
	assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);

	uid = deliver1(fx, fx->alice, "notify me");
	n = drain(fd, got, 16);
	assert_true(n >= 1);
	assert_true(has_id(got, n, fx->alice));
	assert_false(has_id(got, n, fx->bob));

	assert_int_equal(store_deliver(fx->st, ids, 2, "both", 4, DATE,
	    results, NULL), 0);
	n = drain(fd, got, 16);
	assert_true(has_id(got, n, fx->alice));
	assert_true(has_id(got, n, fx->bob));
	assert_false(has_id(got, n, fx->carol));

	/* Other changes to a mailbox notify as well. */
	append(fx, mbox_id(fx, fx->carol, "INBOX"), "append", 0, NULL);
	n = drain(fd, got, 16);
	assert_true(has_id(got, n, fx->carol));
	assert_int_equal(store_flags_update(fx->st, mbox_id(fx, fx->alice,
	    "INBOX"), &uid, 1, STORE_FLAGS_ADD, STORE_FLAG_SEEN, NULL), 0);
	n = drain(fd, got, 16);
	assert_true(has_id(got, n, fx->alice));

	/* Malformed datagrams are skipped. */
	s = socket(AF_UNIX, SOCK_DGRAM, 0);
	assert_true(s >= 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	assert_true(strlen(sock) < sizeof(sun.sun_path));
	strcpy(sun.sun_path, sock);
	assert_int_equal(sendto(s, "garbage", 7, 0, (struct sockaddr *)&sun,
	    sizeof(sun)), 7);
	assert_int_equal(sendto(s, "-5\n", 3, 0, (struct sockaddr *)&sun,
	    sizeof(sun)), 3);
	assert_int_equal(sendto(s, "", 0, 0, (struct sockaddr *)&sun,
	    sizeof(sun)), 0);
	close(s);
	deliver1(fx, fx->bob, "after garbage");
	n = drain(fd, got, 16);
	assert_true(n >= 1);
	assert_true(has_id(got, n, fx->bob));
	for (size_t i = 0; i < n && i < 16; i++)
		assert_true(got[i] == fx->bob);

	store_notify_unlisten(fx->dir, &fd);
	assert_int_equal(fd, -1);
	/* The file stays for whoever listens next (a reloaded worker). */
	assert_int_equal(stat(sock, &sb), 0);
	/* Nobody listening now: delivery still works. */
	deliver1(fx, fx->alice, "unheard");
	free(error);
	free(sock);
}

static void
test_notify_no_listener(void **state)
{
	struct fx *fx = *state;
	char *error = NULL;
	int64_t got[16];
	int fd = -1;

	/* Never listened. */
	deliver1(fx, fx->alice, "nobody hears");
	assert_int_equal(mbox_messages(fx, fx->alice, "INBOX"), 1);

	/* A stale socket file (its listener gone without unlisten). */
	assert_int_equal(store_notify_listen(fx->dir, &fd, &error), 0);
	close(fd);
	deliver1(fx, fx->alice, "stale socket");
	assert_int_equal(mbox_messages(fx, fx->alice, "INBOX"), 2);

	/* Listening again replaces the stale socket. */
	fd = -1;
	assert_int_equal(store_notify_listen(fx->dir, &fd, &error), 0);
	deliver1(fx, fx->bob, "heard again");
	assert_true(has_id(got, drain(fd, got, 16), fx->bob));
	store_notify_unlisten(fx->dir, &fd);
	free(error);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_open_creates_dir),
		T(test_reopen_keeps_data),
		T(test_open_too_new),
		T(test_open_garbage),
		T(test_strerror),
		T(test_domains),
		T(test_domain_del_aliases),
		T(test_user_add_defaults),
		T(test_user_add_errors),
		T(test_user_del),
		T(test_user_set_password),
		T(test_user_set_quota),
		T(test_user_get_list),
		T(test_login),
		T(test_login_rehash),
		T(test_alias_add_del_list),
		T(test_alias_two_targets),
		T(test_alias_catchall),
		T(test_alias_plus),
		T(test_alias_errors),
		T(test_resolve),
		T(test_mailbox_create),
		T(test_mailbox_names),
		T(test_mailbox_inbox_case),
		T(test_mailbox_delete),
		T(test_mailbox_rename_children),
		T(test_mailbox_rename_errors),
		T(test_mailbox_rename_inbox),
		T(test_subscriptions),
		T(test_mailbox_counts),
		T(test_mailbox_list_order),
		T(test_uidvalidity),
		T(test_uids_ascending),
		T(test_highestmodseq),
		T(test_deliver_three),
		T(test_deliver_atomic),
		T(test_deliver_quota_some),
		T(test_deliver_quota_all),
		T(test_quota_boundary),
		T(test_append_quota),
		T(test_append_flags_keywords),
		T(test_message_too_large),
		T(test_message_list_ranges),
		T(test_message_get),
		T(test_body_exact),
		T(test_body_read_range),
		T(test_flags_update),
		T(test_flags_invalid),
		T(test_copy),
		T(test_move),
		T(test_expunge),
		T(test_single_instance),
		T(test_body_mime_stored),
		T(test_body_mime_dedup),
		T(test_check_detects_missing_mime),
		T(test_migrate_v1),
		T(test_search_indexed),
		T(test_search_dedup),
		T(test_search_delete),
		T(test_search_fields),
		T(test_search_case),
		T(test_search_literal),
		T(test_search_superset),
		T(test_search_short_term),
		T(test_search_long_term),
		T(test_search_partial),
		T(test_index_pending),
		T(test_check_detects_missing_index),
		T(test_migrate_v2),
		T(test_migrate_v3),
		T(test_mailbox_state),
		T(test_two_handles),
		T(test_concurrent_delivery),
		T(test_check_clean),
		T(test_check_detects_damage),
		T(test_notify),
		T(test_notify_no_listener),
	};
#undef T

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
