/*
 * http_tls.h - native TLS for the tracker's HTTP server (http.h) with
 * OpenSSL: loading a server context from a PEM certificate and key, and
 * the non-blocking reads and writes the connection code (http_conn.c)
 * calls instead of read() and send() when a connection has an SSL object.
 *
 * The contexts allow TLS 1.2 and later only, with OpenSSL's default
 * ciphers, no renegotiation, no compression, and ALPN "http/1.1".
 */
#ifndef PB_TRACKER_HTTP_TLS_H
#define PB_TRACKER_HTTP_TLS_H

#include <stddef.h>
#include <sys/types.h>
#include <openssl/ssl.h>

/* What a TLS call that could not finish waits for. */
enum pb_tls_wait {
    PB_TLS_WAIT_NONE = 0,
    PB_TLS_WAIT_READ,           /* the socket to become readable */
    PB_TLS_WAIT_WRITE,          /* the socket to become writable */
};

/* A server context from the PEM files cert (the certificate, then any
 * chain) and key (a private key that others may not read). NULL with
 * errbuf naming the file that is wrong. */
SSL_CTX *pb_tls_ctx_load(const char *cert, const char *key, char *errbuf, size_t errlen);

/* A server-side SSL object for the accepted socket fd; NULL on failure. */
SSL *pb_tls_new(SSL_CTX *ctx, int fd);

/* Like read(): bytes read (> 0), 0 at the end of the input (close_notify
 * or EOF), or -1 with errno EAGAIN (*wait says for what: the handshake or
 * a key update may need to write) or another errno when the connection is
 * broken or the client does not speak TLS. */
ssize_t pb_tls_read(SSL *ssl, void *buf, size_t len, enum pb_tls_wait *wait);

/* Like send(): bytes written (> 0), or -1 with errno EAGAIN (and *wait)
 * or another errno. */
ssize_t pb_tls_write(SSL *ssl, const void *buf, size_t len, enum pb_tls_wait *wait);

/* Decrypted bytes buffered inside ssl (no socket event will announce them). */
int pb_tls_pending(SSL *ssl);

/* Connections closed on a TLS protocol error so far: failed handshakes
 * (a client that does not speak TLS, or only TLS 1.1 or older), bad records. */
unsigned long pb_tls_failures(void);

/* Send close_notify, best effort (never waits). */
void pb_tls_close_notify(SSL *ssl);

#endif
