/*
 * arena.h — region allocator for request- and config-scoped memory.
 *
 * Everything a request allocates comes from its arena and is released at
 * once when the request ends, so request code never frees piecemeal.
 * Allocation failure aborts: a gateway that cannot allocate a few KiB has
 * no sensible way to answer anyway.
 */
#ifndef CUTOVER_ARENA_H
#define CUTOVER_ARENA_H

#include <stddef.h>

struct arena_chunk;

struct arena {
	struct arena_chunk *head;
	size_t chunk_size;
};

/* Initialise an empty arena whose chunks are at least chunk_size bytes. */
void arena_init(struct arena *a, size_t chunk_size);
/* Release every chunk; the arena may be reused afterwards. */
void arena_reset(struct arena *a);

/* Memory owned by the arena, 16-byte aligned, never NULL. */
void *arena_alloc(struct arena *a, size_t n);
void *arena_zalloc(struct arena *a, size_t n);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_strdup(struct arena *a, const char *s);
/* x, sep and y end to end: what "%s%s%s" would print, without printf. */
char *arena_join(struct arena *a, const char *x, const char *sep, const char *y);
char *arena_printf(struct arena *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define ARENA_NEW(a, type) ((type *)arena_zalloc((a), sizeof(type)))
#define ARENA_ARRAY(a, type, n) ((type *)arena_zalloc((a), sizeof(type) * (n)))

#endif
