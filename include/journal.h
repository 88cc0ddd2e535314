/*
 * journal.h — the durable log of secondary writes (design.md §9).
 *
 * Every write that must reach the secondary store is appended here, synced
 * to disk, before the client gets its answer; it leaves the journal only
 * once the secondary holds the record.  An entry names the record, not the
 * change: applying it copies the record as it is now in the store that was
 * authoritative for the write (or deletes it there when it is gone), so
 * entries are idempotent and may be applied in any order or twice.
 *
 * A local SQLite file in WAL mode with synchronous=FULL; one connection
 * behind a mutex.  Safe from any thread.
 */
#ifndef CUTOVER_JOURNAL_H
#define CUTOVER_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "util.h"

struct journal_entry {
	int64_t seq;
	char resource[64];
	int64_t owner;
	unsigned char id[16];
	enum which_store source;    /* the store holding the truth */
	int attempts;
	char last_error[200];
	int late;                   /* 1: an attempt went unanswered; 2: applied once since, again when due */
};

int journal_open(const char *path, struct error *err);
void journal_close(void);
/* Append; the entry's seq (> 0), or -1 when the journal cannot be written
 * (logged; the write then relies on verify/repair). */
int64_t journal_append(const char *resource, int64_t owner, const unsigned char id[16],
                       enum which_store source);
/* The entry is applied: true when this call removed it. */
bool journal_done(int64_t seq);
/* Applying failed: retry later, backing off with each attempt; when the
 * store gave no answer (unanswered), it may make the write yet, so the
 * entry is applied once more a while after it first succeeds.  false
 * when the entry is no longer there. */
bool journal_failed(int64_t seq, const char *why, bool unanswered);
/* An entry with an unanswered attempt was applied: true when it stays to
 * be applied again later (see SETTLE_US), false when it may go. */
bool journal_settling(int64_t seq);
enum journal_which {
	DUE_NOW,                    /* whose retry time has come */
	DUE_SOON,                   /* and every other, but those applied once and settling */
	DUE_EVERY,                  /* every entry */
};
/* Entries due (up to max); how many. */
size_t journal_due(struct journal_entry *out, size_t max, enum journal_which which);
/* {"depth":…,"failing":…,"oldest":…,"entries":[…]} for the admin API. */
void journal_json(struct buf *b, int limit);
struct journal_stats {
	int64_t depth;
	int64_t oldest_us;          /* when the oldest entry was made (wall clock); 0: none */
	uint64_t drained;           /* entries applied and removed since the start */
	uint64_t failures;          /* attempts that failed since the start */
};
void journal_stats(struct journal_stats *st);
int64_t journal_depth(void);
/* The last seq appended (0: none); entries of resource up to seq still there. */
int64_t journal_last_seq(void);
int64_t journal_pending_upto(const char *resource, int64_t seq);

#endif
