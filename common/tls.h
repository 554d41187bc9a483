/*
 * tls.h - OpenSSL server contexts: TLS 1.2 and 1.3 only, modern ciphers,
 * and a self-signed certificate when none is configured.
 */
#ifndef LETTERBOX_TLS_H
#define LETTERBOX_TLS_H

#include <stdbool.h>

#include <openssl/ssl.h>

/*
 * tls_server_ctx_new: a server SSL_CTX with the certificate chain and key
 * from PEM files (the key must match the certificate). Minimum version
 * TLS 1.2, no compression, no renegotiation, server cipher preference.
 * Returns the context (SSL_CTX_free()), or NULL with a malloc'd *error_r
 * naming the file and OpenSSL's reason.
 */
SSL_CTX *tls_server_ctx_new(const char *cert_file, const char *key_file,
    char **error_r);

/*
 * tls_selfsigned_ensure: makes data_dir/tls-cert.pem and
 * data_dir/tls-key.pem (key mode 0600, EC P-256, valid 10 years,
 * CN and subjectAltName hostname) unless both exist already. Returns 0
 * with malloc'd paths in *cert_r and *key_r, or -1 with *error_r.
 */
int tls_selfsigned_ensure(const char *data_dir, const char *hostname,
    char **cert_r, char **key_r, char **error_r);

/*
 * tls_client_ctx_new: a client SSL_CTX for the delivery agent, TLS 1.2+.
 * verify false: opportunistic TLS (RFC 7435: encrypt, do not
 * authenticate; what MX delivery does without DANE/MTA-STS). verify
 * true: the peer's chain must verify against ca_file (PEM; NULL: the
 * system's CA store) and its name (set per connection with
 * SSL_set1_host) must match. NULL with a malloc'd *error_r.
 */
SSL_CTX *tls_client_ctx_new(bool verify, const char *ca_file, char **error_r);

#endif
