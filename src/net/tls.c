/*
 * tls.c — the listeners' TLS contexts (see tls.h).
 *
 * A context holds the certificate; each connection's SSL takes a
 * reference to the context it was made from, so a reload swaps the
 * current pointer and drops ours: open connections keep the old
 * certificate until they close, new ones get the new.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "tls.h"

static struct {
	pthread_mutex_t mu;
	SSL_CTX *client, *admin;        /* NULL: no TLS */
	atomic_bool on;
} T = {PTHREAD_MUTEX_INITIALIZER, NULL, NULL, false};

/* OpenSSL's reasons, oldest first, as one line. */
static void ssl_reasons(char *out, size_t size)
{
	unsigned long e;
	size_t o = 0;

	out[0] = '\0';
	while ((e = ERR_get_error()) && o + 2 < size) {
		char one[256];

		ERR_error_string_n(e, one, sizeof(one));
		o += (size_t)snprintf(out + o, size - o, "%s%s", o ? "; " : "", one);
	}
}

/* HTTP/1.1 only: a client offering ALPN is told so. */
static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
                       unsigned int inlen, void *arg)
{
	static const unsigned char h1[] = "\x08http/1.1";

	(void)ssl;
	(void)arg;
	if (SSL_select_next_proto((unsigned char **)out, outlen, h1, sizeof(h1) - 1, in, inlen) !=
	    OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	return SSL_TLSEXT_ERR_OK;
}

static SSL_CTX *context(const struct config *cfg, const char *client_ca, struct error *err)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	char why[600];

	ERR_clear_error();
	if (!ctx)
		goto fail;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
	if (SSL_CTX_use_certificate_chain_file(ctx, cfg->tls.cert_file) != 1) {
		ssl_reasons(why, sizeof(why));
		error_set(err, 0, "tls.cert_file %s: %s", cfg->tls.cert_file, why);
		goto out;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, cfg->tls.key_file, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		ssl_reasons(why, sizeof(why));
		error_set(err, 0, "tls.key_file %s: %s", cfg->tls.key_file, why);
		goto out;
	}
	if (client_ca && *client_ca) {
		if (SSL_CTX_load_verify_locations(ctx, client_ca, NULL) != 1) {
			ssl_reasons(why, sizeof(why));
			error_set(err, 0, "tls.admin_client_ca %s: %s", client_ca, why);
			goto out;
		}
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	}
	return ctx;
fail:
	ssl_reasons(why, sizeof(why));
	error_set(err, 0, "tls: %s", why);
out:
	SSL_CTX_free(ctx);
	return NULL;
}

/* Both contexts from the files, or neither. */
static int contexts(const struct config *cfg, SSL_CTX **client, SSL_CTX **admin, struct error *err)
{
	*client = context(cfg, NULL, err);
	*admin = *client && *cfg->tls.admin_client_ca ? context(cfg, cfg->tls.admin_client_ca, err) : NULL;
	if (*client && (*admin || !*cfg->tls.admin_client_ca))
		return 0;
	SSL_CTX_free(*client);
	return -1;
}

static void swap_in(SSL_CTX *client, SSL_CTX *admin)
{
	SSL_CTX *old_client, *old_admin;

	pthread_mutex_lock(&T.mu);
	old_client = T.client;
	old_admin = T.admin;
	T.client = client;
	T.admin = admin;
	atomic_store(&T.on, client != NULL);
	pthread_mutex_unlock(&T.mu);
	SSL_CTX_free(old_client);
	SSL_CTX_free(old_admin);
}

int tls_init(const struct config *cfg, struct error *err)
{
	SSL_CTX *client, *admin;

	if (!*cfg->tls.cert_file)
		return 0;
	if (contexts(cfg, &client, &admin, err) < 0)
		return -1;
	swap_in(client, admin);
	return 0;
}

int tls_reload(const struct config *cfg)
{
	struct error err = {0};

	if (!*cfg->tls.cert_file)
		return 0;
	if (tls_init(cfg, &err) < 0) {
		fprintf(stderr, "cutover: reload: the TLS certificate stays as it was: %s\n", err.msg);
		return -1;
	}
	fprintf(stderr, "cutover: reloaded the TLS certificate %s\n", cfg->tls.cert_file);
	return 0;
}

void tls_fini(void)
{
	swap_in(NULL, NULL);
}

bool tls_on(void)
{
	return atomic_load_explicit(&T.on, memory_order_relaxed);
}

SSL *tls_accept_new(bool admin)
{
	SSL *ssl = NULL;

	pthread_mutex_lock(&T.mu);
	if (T.client)
		ssl = SSL_new(admin && T.admin ? T.admin : T.client);
	pthread_mutex_unlock(&T.mu);
	return ssl;
}

/* Configuration ------------------------------------------------------ */

static void check_tls(struct config_loader *l)
{
	const struct config *cfg = config_of(l);
	SSL_CTX *client, *admin;
	struct error err = {0};

	if (!*cfg->tls.cert_file != !*cfg->tls.key_file)
		config_problem(l, NULL, "tls: set both \"cert_file\" and \"key_file\" (or neither)");
	else if (*cfg->tls.admin_client_ca && !*cfg->tls.cert_file)
		config_problem(l, NULL, "tls.admin_client_ca needs TLS on: set \"cert_file\" and \"key_file\"");
	else if (*cfg->tls.cert_file && contexts(cfg, &client, &admin, &err) < 0)
		config_problem(l, NULL, "%s", err.msg);
	else if (*cfg->tls.cert_file) {
		SSL_CTX_free(client);
		SSL_CTX_free(admin);
	}
}

static const struct config_key keys[] = {
	{"tls", "cert_file", CFG_STRING, CFG_FIELD(tls.cert_file), 0, 0, "", "CUTOVER_TLS_CERT", NULL,
	 "a PEM certificate chain: both listeners serve TLS"},
	{"tls", "key_file", CFG_STRING, CFG_FIELD(tls.key_file), 0, 0, "", "CUTOVER_TLS_KEY", NULL,
	 "the certificate's private key (PEM)"},
	{"tls", "admin_client_ca", CFG_STRING, CFG_FIELD(tls.admin_client_ca), 0, 0, "", NULL, NULL,
	 "PEM certificates the admin listener's clients must present one chaining to"},
};

const struct config_module tls_config = {"tls", keys, ARRAY_LEN(keys), check_tls};
