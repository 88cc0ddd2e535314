/*
 * journal.c — the durable log of secondary writes (see journal.h).
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "journal.h"
#include "json.h"
#include "value.h"

#define BACKOFF_MAX_US (60 * 1000000LL)
/* The first try happens at once on the shadow workers; the background
 * retry leaves an entry alone for this long before taking it up. */
#define FIRST_RETRY_US (3 * 1000000LL)
/* A store that did not answer may still make the write when it resumes
 * (a stalled server does, in whatever order its connections come back).
 * An entry one of whose attempts went unanswered is applied once more
 * this long after it first succeeds, and stays pending until then. */
#define SETTLE_US (2 * 1000000LL)

static struct {
	pthread_mutex_t mu;
	sqlite3 *db;
	sqlite3_stmt *append, *done, *failed, *settling, *due, *count, *oldest;
	int64_t depth;
	uint64_t drained, failures;     /* entries applied and removed; attempts that failed */
} J = {.mu = PTHREAD_MUTEX_INITIALIZER};

static const char schema[] =
	"PRAGMA journal_mode=WAL;"
	"PRAGMA synchronous=FULL;"
	"CREATE TABLE IF NOT EXISTS journal ("
	" seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	" resource TEXT NOT NULL, owner INTEGER NOT NULL, id BLOB NOT NULL, source INTEGER NOT NULL,"
	" created_us INTEGER NOT NULL, next_us INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
	" last_error TEXT NOT NULL DEFAULT '', late INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX IF NOT EXISTS journal_next ON journal (next_us);";

/* Journals written before the late column get it. */
static int add_late(char **msg)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(J.db, "SELECT late FROM journal LIMIT 0", -1, &st, NULL) == SQLITE_OK)
		return sqlite3_finalize(st);
	return sqlite3_exec(J.db, "ALTER TABLE journal ADD COLUMN late INTEGER NOT NULL DEFAULT 0", NULL, NULL, msg);
}

int journal_open(const char *path, struct error *err)
{
	char *msg = NULL;

	if (sqlite3_open_v2(path, &J.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	                    SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK ||
	    sqlite3_busy_timeout(J.db, 5000) != SQLITE_OK ||
	    sqlite3_exec(J.db, schema, NULL, NULL, &msg) != SQLITE_OK ||
	    add_late(&msg) != SQLITE_OK ||
	    sqlite3_prepare_v2(J.db, "INSERT INTO journal (resource, owner, id, source, created_us, next_us)"
	                       " VALUES (?,?,?,?,?,?)", -1, &J.append, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(J.db, "DELETE FROM journal WHERE seq=?", -1, &J.done, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(J.db, "UPDATE journal SET attempts=attempts+1, last_error=?1, next_us=?2,"
	                       " late=CASE WHEN ?4 THEN 1 ELSE late END WHERE seq=?3 RETURNING attempts", -1,
	                       &J.failed, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(J.db, "UPDATE journal SET late=2, next_us=? WHERE seq=? AND late=1", -1, &J.settling,
	                       NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(J.db, "SELECT seq, resource, owner, id, source, attempts, last_error, late"
	                       " FROM journal WHERE next_us<=?1 OR (?2 AND late<2) OR ?3 ORDER BY seq LIMIT ?4", -1,
	                       &J.due, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(J.db, "SELECT COUNT(*) FROM journal", -1, &J.count, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(J.db, "SELECT created_us FROM journal ORDER BY seq LIMIT 1", -1, &J.oldest,
	                       NULL) != SQLITE_OK) {
		error_set(err, 0, "journal %s: %s", path, msg ? msg : sqlite3_errmsg(J.db));
		sqlite3_free(msg);
		journal_close();
		return -1;
	}
	if (sqlite3_step(J.count) == SQLITE_ROW)
		J.depth = sqlite3_column_int64(J.count, 0);
	sqlite3_reset(J.count);
	return 0;
}

void journal_close(void)
{
	sqlite3_finalize(J.append);
	sqlite3_finalize(J.done);
	sqlite3_finalize(J.failed);
	sqlite3_finalize(J.settling);
	sqlite3_finalize(J.due);
	sqlite3_finalize(J.count);
	sqlite3_finalize(J.oldest);
	sqlite3_close(J.db);
	J.db = NULL;
	J.append = J.done = J.failed = J.settling = J.due = J.count = J.oldest = NULL;
}

int64_t journal_append(const char *resource, int64_t owner, const unsigned char id[16],
                       enum which_store source)
{
	int64_t seq = -1, now = now_wall_us();

	pthread_mutex_lock(&J.mu);
	if (J.db) {
		sqlite3_bind_text(J.append, 1, resource, -1, SQLITE_STATIC);
		sqlite3_bind_int64(J.append, 2, owner);
		sqlite3_bind_blob(J.append, 3, id, 16, SQLITE_STATIC);
		sqlite3_bind_int(J.append, 4, (int)source);
		sqlite3_bind_int64(J.append, 5, now);
		sqlite3_bind_int64(J.append, 6, now + FIRST_RETRY_US);
		if (sqlite3_step(J.append) == SQLITE_DONE) {
			seq = sqlite3_last_insert_rowid(J.db);
			J.depth++;
		} else {
			fprintf(stderr, "cutover: journal: cannot append: %s\n", sqlite3_errmsg(J.db));
		}
		sqlite3_reset(J.append);
		sqlite3_clear_bindings(J.append);
	}
	pthread_mutex_unlock(&J.mu);
	return seq;
}

bool journal_done(int64_t seq)
{
	bool removed = false;

	pthread_mutex_lock(&J.mu);
	if (J.db) {
		sqlite3_bind_int64(J.done, 1, seq);
		if (sqlite3_step(J.done) == SQLITE_DONE && sqlite3_changes(J.db) > 0) {
			J.depth--;
			J.drained++;
			removed = true;
		}
		sqlite3_reset(J.done);
	}
	pthread_mutex_unlock(&J.mu);
	return removed;
}

bool journal_failed(int64_t seq, const char *why, bool unanswered)
{
	bool found = false;

	pthread_mutex_lock(&J.mu);
	if (J.db) {
		int64_t now = now_wall_us();

		/* The next try is set after the count is known: first a guess,
		 * then the backoff for the attempt it really is. */
		sqlite3_bind_text(J.failed, 1, why, -1, SQLITE_STATIC);
		sqlite3_bind_int64(J.failed, 2, now + 250000);
		sqlite3_bind_int64(J.failed, 3, seq);
		sqlite3_bind_int(J.failed, 4, unanswered);
		if (sqlite3_step(J.failed) == SQLITE_ROW) {
			int attempts = sqlite3_column_int(J.failed, 0);

			found = true;
			J.failures++;
			int64_t wait = 250000LL << (attempts < 8 ? attempts - 1 : 8);
			char sql[96];

			sqlite3_reset(J.failed);
			if (wait > BACKOFF_MAX_US)
				wait = BACKOFF_MAX_US;
			snprintf(sql, sizeof(sql), "UPDATE journal SET next_us=%lld WHERE seq=%lld",
			         (long long)(now + wait), (long long)seq);
			sqlite3_exec(J.db, sql, NULL, NULL, NULL);
		}
		sqlite3_reset(J.failed);
		sqlite3_clear_bindings(J.failed);
	}
	pthread_mutex_unlock(&J.mu);
	return found;
}

bool journal_settling(int64_t seq)
{
	bool again = false;

	pthread_mutex_lock(&J.mu);
	if (J.db) {
		sqlite3_bind_int64(J.settling, 1, now_wall_us() + SETTLE_US);
		sqlite3_bind_int64(J.settling, 2, seq);
		again = sqlite3_step(J.settling) == SQLITE_DONE && sqlite3_changes(J.db) > 0;
		sqlite3_reset(J.settling);
	}
	pthread_mutex_unlock(&J.mu);
	return again;
}

size_t journal_due(struct journal_entry *out, size_t max, enum journal_which which)
{
	size_t n = 0;

	pthread_mutex_lock(&J.mu);
	if (J.db) {
		sqlite3_bind_int64(J.due, 1, now_wall_us());
		sqlite3_bind_int(J.due, 2, which == DUE_SOON);
		sqlite3_bind_int(J.due, 3, which == DUE_EVERY);
		sqlite3_bind_int64(J.due, 4, (int64_t)max);
		while (n < max && sqlite3_step(J.due) == SQLITE_ROW) {
			struct journal_entry *e = &out[n];
			const void *id = sqlite3_column_blob(J.due, 3);

			memset(e, 0, sizeof(*e));
			e->seq = sqlite3_column_int64(J.due, 0);
			snprintf(e->resource, sizeof(e->resource), "%s", (const char *)sqlite3_column_text(J.due, 1));
			e->owner = sqlite3_column_int64(J.due, 2);
			if (id && sqlite3_column_bytes(J.due, 3) == 16)
				memcpy(e->id, id, 16);
			e->source = sqlite3_column_int(J.due, 4) ? WS_MONGO : WS_LEGACY;
			e->attempts = sqlite3_column_int(J.due, 5);
			snprintf(e->last_error, sizeof(e->last_error), "%s",
			         (const char *)sqlite3_column_text(J.due, 6));
			e->late = sqlite3_column_int(J.due, 7);
			n++;
		}
		sqlite3_reset(J.due);
	}
	pthread_mutex_unlock(&J.mu);
	return n;
}

int64_t journal_last_seq(void)
{
	sqlite3_stmt *st;
	int64_t seq = 0;

	pthread_mutex_lock(&J.mu);
	if (J.db && sqlite3_prepare_v2(J.db, "SELECT COALESCE(MAX(seq), 0) FROM journal", -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			seq = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&J.mu);
	return seq;
}

int64_t journal_pending_upto(const char *resource, int64_t seq)
{
	sqlite3_stmt *st;
	int64_t n = 0;

	pthread_mutex_lock(&J.mu);
	if (J.db && sqlite3_prepare_v2(J.db, "SELECT COUNT(*) FROM journal WHERE resource=? AND seq<=?", -1, &st,
	                               NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, resource, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, seq);
		if (sqlite3_step(st) == SQLITE_ROW)
			n = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&J.mu);
	return n;
}

int64_t journal_depth(void)
{
	int64_t d;

	pthread_mutex_lock(&J.mu);
	d = J.depth;
	pthread_mutex_unlock(&J.mu);
	return d;
}

void journal_stats(struct journal_stats *st)
{
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&J.mu);
	st->depth = J.depth;
	st->drained = J.drained;
	st->failures = J.failures;
	if (J.db && sqlite3_step(J.oldest) == SQLITE_ROW)
		st->oldest_us = sqlite3_column_int64(J.oldest, 0);
	if (J.oldest)
		sqlite3_reset(J.oldest);
	pthread_mutex_unlock(&J.mu);
}

void journal_json(struct buf *b, int limit)
{
	struct journal_entry e[50];
	struct journal_stats st;
	size_t n, i;

	if (limit > 50)
		limit = 50;
	journal_stats(&st);
	n = journal_due(e, (size_t)limit, true);
	buf_printf(b, "{\"depth\":%lld,\"oldest_age_seconds\":%.3f,\"drained\":%llu,\"failed_attempts\":%llu,"
	           "\"entries\":[", (long long)st.depth,
	           st.oldest_us ? (double)(now_wall_us() - st.oldest_us) / 1e6 : 0.0,
	           (unsigned long long)st.drained, (unsigned long long)st.failures);
	for (i = 0; i < n; i++) {
		char id[UUID_STR_LEN + 1];

		uuid_format(e[i].id, id);
		buf_printf(b, "%s{\"seq\":%lld,\"route\":", i ? "," : "", (long long)e[i].seq);
		json_put_cstr(b, e[i].resource);
		buf_printf(b, ",\"id\":\"%s\",\"owner\":%lld,\"from\":\"%s\",\"attempts\":%d,\"last_error\":",
		           id, (long long)e[i].owner, e[i].source == WS_MONGO ? "mongodb" : "legacy",
		           e[i].attempts);
		json_put_cstr(b, e[i].last_error);
		buf_putc(b, '}');
	}
	buf_puts(b, "]}");
}

static const struct config_key keys[] = {
	{NULL, "journal", CFG_STRING, CFG_FIELD(journal), 0, 0, "cutover-journal.sqlite3", NULL, NULL,
	 "the journal's SQLite file (the writes still to copy)"},
};

const struct config_module journal_config = {"journal", keys, ARRAY_LEN(keys), NULL};
