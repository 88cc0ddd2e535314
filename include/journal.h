/*
 * journal.h — the durable log of secondary writes (SPEC §9).
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
};

int journal_open(const char *path, struct error *err);
void journal_close(void);
/* Append; the entry's seq (> 0), or -1 when the journal cannot be written
 * (logged; the write then relies on verify/repair). */
int64_t journal_append(const char *resource, int64_t owner, const unsigned char id[16],
                       enum which_store source);
/* The entry is applied: true when this call removed it. */
bool journal_done(int64_t seq);
/* Applying failed: retry later, backing off with each attempt.  false
 * when the entry is no longer there. */
bool journal_failed(int64_t seq, const char *why);
/* Entries due for a retry (up to max); how many. */
size_t journal_due(struct journal_entry *out, size_t max, bool all);
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
