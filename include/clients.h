/*
 * clients.h — what each client address may have (design.md §11): at most
 * limits.max_connections_per_address open connections, and requests at
 * limits.rate_per_address a second with bursts of limits.burst.  Shared by
 * the event loops; nothing is kept when both limits are off.
 */
#ifndef CUTOVER_CLIENTS_H
#define CUTOVER_CLIENTS_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

struct sockaddr;

/* A client's address as a key: IPv4 as IPv4-mapped IPv6. */
struct client_addr {
	unsigned char b[16];
};

void clients_init(const struct config *cfg);
void clients_fini(void);
/* Are the limits on at all? */
bool clients_limited(void);
void client_addr_of(const struct sockaddr *sa, struct client_addr *out);
/* A new connection from a: false when a has its cap of them already. */
bool clients_connect(const struct client_addr *a);
void clients_disconnect(const struct client_addr *a);
/* A request from a at now_us: 0 when it may go on, else the whole seconds
 * until one may (the answer is 429). */
int clients_request(const struct client_addr *a, int64_t now_us);

struct clients_stats {
	uint64_t throttled, refused_connections;
};
void clients_stats(struct clients_stats *st);

#endif
