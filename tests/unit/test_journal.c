/*
 * test_journal.c — the journal's retry times: an entry whose attempt went
 * unanswered is applied once more after it first succeeds, and a flip's
 * kick does not hurry that second copy; a journal written before that
 * state was kept opens and gains it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "journal.h"

static char path[64];

static int open_fresh(void **state)
{
	struct error err;
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "/tmp/cutover-journal-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	unlink(path);
	assert_int_equal(journal_open(path, &err), 0);
	return 0;
}

static int close_remove(void **state)
{
	char wal[80];

	(void)state;
	journal_close();
	unlink(path);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	unlink(wal);
	snprintf(wal, sizeof(wal), "%s-shm", path);
	unlink(wal);
	return 0;
}

static const unsigned char ID[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static size_t due(enum journal_which which, struct journal_entry *e)
{
	return journal_due(e, 1, which);
}

static void test_refused_retries_when_kicked(void **state)
{
	struct journal_entry e;
	int64_t seq = journal_append("invoices", 1, ID, WS_MONGO);

	(void)state;
	assert_true(seq > 0);
	assert_int_equal(due(DUE_NOW, &e), 0);                 /* the first try is the writer's */
	assert_int_equal(due(DUE_SOON, &e), 1);
	assert_true(journal_failed(seq, "refused", false));
	assert_int_equal(due(DUE_SOON, &e), 1);
	assert_int_equal(e.late, 0);
	assert_int_equal(e.attempts, 1);
	assert_string_equal(e.last_error, "refused");
	assert_false(journal_settling(seq));                    /* nothing to wait for: it may go */
	assert_true(journal_done(seq));
	assert_int_equal(journal_depth(), 0);
}

static void test_unanswered_is_copied_twice(void **state)
{
	struct journal_entry e;
	int64_t seq = journal_append("invoices", 1, ID, WS_MONGO);

	(void)state;
	assert_true(journal_failed(seq, "no answer", true));
	assert_int_equal(due(DUE_SOON, &e), 1);
	assert_int_equal(e.late, 1);
	assert_memory_equal(e.id, ID, 16);
	assert_int_equal(e.source, WS_MONGO);
	/* applied once: stays, and a kick does not bring it forward */
	assert_true(journal_settling(seq));
	assert_int_equal(due(DUE_SOON, &e), 0);
	assert_int_equal(due(DUE_NOW, &e), 0);
	assert_int_equal(journal_depth(), 1);
	assert_int_equal(due(DUE_EVERY, &e), 1);
	assert_int_equal(e.late, 2);
	assert_false(journal_settling(seq));                    /* the second copy ends it */
	assert_true(journal_done(seq));
	assert_false(journal_failed(seq, "gone", true));
}

static void test_older_journal_opens(void **state)
{
	struct journal_entry e;
	struct error err;
	sqlite3 *db;

	(void)state;
	journal_close();
	unlink(path);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
	    "CREATE TABLE journal (seq INTEGER PRIMARY KEY AUTOINCREMENT, resource TEXT NOT NULL,"
	    " owner INTEGER NOT NULL, id BLOB NOT NULL, source INTEGER NOT NULL, created_us INTEGER NOT NULL,"
	    " next_us INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT NOT NULL DEFAULT '');"
	    "INSERT INTO journal (resource, owner, id, source, created_us, next_us)"
	    " VALUES ('invoices', 7, x'0102030405060708090a0b0c0d0e0f10', 0, 0, 0);", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(journal_open(path, &err), 0);
	assert_int_equal(journal_depth(), 1);
	assert_int_equal(due(DUE_NOW, &e), 1);
	assert_int_equal(e.owner, 7);
	assert_int_equal(e.late, 0);
	assert_true(journal_failed(e.seq, "no answer", true));
	assert_int_equal(due(DUE_EVERY, &e), 1);
	assert_int_equal(e.late, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_refused_retries_when_kicked, open_fresh, close_remove),
		cmocka_unit_test_setup_teardown(test_unanswered_is_copied_twice, open_fresh, close_remove),
		cmocka_unit_test_setup_teardown(test_older_journal_opens, open_fresh, close_remove),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
