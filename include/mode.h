/*
 * mode.h — the modes a route is served in (design.md §3), and what each
 * asks of the stores.
 */
#ifndef CUTOVER_MODE_H
#define CUTOVER_MODE_H

#include <stdbool.h>

/* Which store(s) serve a route (design.md §3), in migration order. */
enum mode {
	MODE_LEGACY,            /* legacy only */
	MODE_DUAL_WRITE,        /* legacy; writes copied to MongoDB */
	MODE_SHADOW,            /* legacy; reads compared against MongoDB */
	MODE_LIVE,              /* MongoDB; reads compared against legacy */
	MODE_RAMPDOWN,          /* MongoDB; writes copied to legacy */
	MODE_MONGODB,           /* MongoDB only */
	MODE_PASSTHROUGH,       /* neither: the application answers (design.md §10) */
	MODE_COUNT,
};

/* What a route's mode may also be: besides the modes themselves. */
enum {
	MODE_GLOBAL = -1,       /* the route follows the global mode */
	MODE_UNCHANGED = -2,    /* a flip's mode left as it is; a route with no flip waiting */
};

/* "legacy" … "passthrough", "dual" for shadow; -1 when unknown. */
int mode_parse(const char *s);
const char *mode_name(enum mode m);
static inline bool mode_mongo_first(enum mode m) { return m >= MODE_LIVE && m <= MODE_MONGODB; }
static inline bool mode_copies_writes(enum mode m) { return m >= MODE_DUAL_WRITE && m <= MODE_RAMPDOWN; }
static inline bool mode_compares(enum mode m) { return m == MODE_SHADOW || m == MODE_LIVE; }
static inline bool mode_uses_mongo(enum mode m) { return m > MODE_LEGACY && m < MODE_PASSTHROUGH; }

#endif
