/*
 * accept.h — the loops' listening sockets (accept.c, which also caps and
 * pauses what they accept).
 */
#ifndef CUTOVER_ACCEPT_H
#define CUTOVER_ACCEPT_H

#include <stdbool.h>
#include <stddef.h>

/* host:port → a socket bound with SO_REUSEPORT; port 0 picks a free one,
 * written back so the other loops bind the same.  first: the first loop's,
 * refused when another process serves the port (unless shared).  -1 after
 * saying why on stderr. */
int listen_socket(const char *host, int *port, bool first, bool shared);
/* host:port → host and port (brackets of an IPv6 address dropped). */
void split_address(const char *addr, char *host, size_t size, int *port);

#endif
