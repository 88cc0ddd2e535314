/*
 * tls.h — TLS on the listeners (design.md §11): the certificate and key of
 * tls.cert_file and tls.key_file, TLS 1.2 and later only, read again on
 * SIGHUP; the admin listener may also ask for client certificates signed
 * by tls.admin_client_ca.
 */
#ifndef CUTOVER_TLS_H
#define CUTOVER_TLS_H

#include <stdbool.h>

#include "config.h"
#include "util.h"

typedef struct ssl_st SSL;

/* Once at start-up; -1 with err when the files are unusable. */
int tls_init(const struct config *cfg, struct error *err);
/* SIGHUP: the files read again; new connections get them, open ones keep
 * theirs.  -1 (the old ones stay) when they are unusable. */
int tls_reload(const struct config *cfg);
void tls_fini(void);
/* Is the client listener TLS? */
bool tls_on(void);
/* A server connection's TLS state from the current certificate: the
 * client listener's, or the admin listener's.  NULL without TLS. */
SSL *tls_accept_new(bool admin);

#endif
