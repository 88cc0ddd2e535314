/*
 * shadow_read.h — comparison reads (design.md §8): a read answered by the
 * authoritative store is served again by the secondary on the shadow
 * workers, off the client's path, and the two answers compared.
 */
#ifndef CUTOVER_SHADOW_READ_H
#define CUTOVER_SHADOW_READ_H

#include "request.h"

/* On the loop, once the answer is final: in a mode that compares, a
 * sampled GET or HEAD is handed to the shadow workers (dropped, and
 * counted, when their queue is full). */
void shadow_compare(struct request *req);

#endif
