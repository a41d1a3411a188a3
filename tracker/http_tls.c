/*
 * http_tls.c - native TLS for the tracker's HTTP server (http_tls.h):
 * server contexts from PEM files and the non-blocking TLS reads and
 * writes of a connection. The connection code keeps the buffers, events
 * and timeouts; this file only turns OpenSSL's answers into read()/send()
 * style results plus what a blocked call waits for.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include "http_tls.h"
#include "log.h"

static const unsigned char alpn_http11[] = "\x08http/1.1";

/* The first queued OpenSSL error as text (the queue is cleared). */
static const char *ssl_reason(char *buf, size_t len)
{
    unsigned long e = ERR_peek_last_error();

    if (e == 0)
        snprintf(buf, len, "unknown error");
    else
        ERR_error_string_n(e, buf, len);
    ERR_clear_error();
    return buf;
}

/* ALPN: "http/1.1" when the client offers it; otherwise no ALPN at all. */
static int select_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
    unsigned char *chosen;

    if (SSL_select_next_proto(&chosen, outlen, alpn_http11, sizeof(alpn_http11) - 1,
                              in, inlen) != OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;
    *out = chosen;
    return SSL_TLSEXT_ERR_OK;
}

/* The private key from path, which others may not read or write. */
static EVP_PKEY *load_key(const char *path, char *errbuf, size_t errlen)
{
    char why[256];
    struct stat st;
    EVP_PKEY *pkey;
    FILE *fp;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        snprintf(errbuf, errlen, "tracker.tls_key %s: %s", path, strerror(errno));
        return NULL;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(errbuf, errlen, "tracker.tls_key %s: not a regular file", path);
        close(fd);
        return NULL;
    }
    if (st.st_mode & S_IRWXO) {
        snprintf(errbuf, errlen, "tracker.tls_key %s: mode %04o %s others; run chmod 600 %s",
                 path, (unsigned)(st.st_mode & 07777),
                 (st.st_mode & S_IROTH) ? "is readable by" : "gives access to", path);
        close(fd);
        return NULL;
    }
    fp = fdopen(fd, "r");
    if (fp == NULL) {
        snprintf(errbuf, errlen, "tracker.tls_key %s: %s", path, strerror(errno));
        close(fd);
        return NULL;
    }
    pkey = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
    fclose(fp);
    if (pkey == NULL)
        snprintf(errbuf, errlen, "tracker.tls_key %s: not a PEM private key (%s)", path,
                 ssl_reason(why, sizeof(why)));
    return pkey;
}

static SSL_CTX *ctx_new(char *errbuf, size_t errlen)
{
    char why[256];
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

    if (ctx == NULL) {
        snprintf(errbuf, errlen, "cannot create a TLS context: %s", ssl_reason(why, sizeof(why)));
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION
                        | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER
                     | SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_alpn_select_cb(ctx, select_alpn, NULL);
    return ctx;
}

SSL_CTX *pb_tls_ctx_load(const char *cert, const char *key, char *errbuf, size_t errlen)
{
    char why[256];
    SSL_CTX *ctx;
    EVP_PKEY *pkey;

    if (cert == NULL || key == NULL) {
        snprintf(errbuf, errlen, "tracker.tls_listen needs tracker.tls_cert and tracker.tls_key");
        return NULL;
    }
    ERR_clear_error();
    if ((ctx = ctx_new(errbuf, errlen)) == NULL)
        return NULL;
    if (access(cert, R_OK) != 0) {
        snprintf(errbuf, errlen, "tracker.tls_cert %s: %s", cert, strerror(errno));
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
        snprintf(errbuf, errlen, "tracker.tls_cert %s: cannot load the certificate (%s)", cert,
                 ssl_reason(why, sizeof(why)));
        SSL_CTX_free(ctx);
        return NULL;
    }
    if ((pkey = load_key(key, errbuf, errlen)) == NULL) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (SSL_CTX_use_PrivateKey(ctx, pkey) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
        snprintf(errbuf, errlen, "tracker.tls_key %s does not match the certificate in "
                 "tracker.tls_cert %s (%s)", key, cert, ssl_reason(why, sizeof(why)));
        EVP_PKEY_free(pkey);
        SSL_CTX_free(ctx);
        return NULL;
    }
    EVP_PKEY_free(pkey);
    return ctx;
}

SSL *pb_tls_new(SSL_CTX *ctx, int fd)
{
    SSL *ssl = SSL_new(ctx);

    if (ssl == NULL || SSL_set_fd(ssl, fd) != 1) {
        char why[256];
        pb_log(LOG_ERR, "cannot set up TLS for a connection: %s", ssl_reason(why, sizeof(why)));
        SSL_free(ssl);
        return NULL;
    }
    SSL_set_accept_state(ssl);
    return ssl;
}

/* errno and *wait for a TLS call that returned ret <= 0; -1 (or 0 at a
 * clean end of the input when reading). */
static unsigned long tls_failures;     /* pb_tls_failures() */

static ssize_t failed(SSL *ssl, int ret, int reading, enum pb_tls_wait *wait)
{
    static struct pb_log_limit limit;
    char why[256];
    int err = SSL_get_error(ssl, ret);

    switch (err) {
    case SSL_ERROR_WANT_READ:
        *wait = PB_TLS_WAIT_READ;
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_WANT_WRITE:
        *wait = PB_TLS_WAIT_WRITE;
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_ZERO_RETURN:
        ERR_clear_error();
        if (reading)
            return 0;
        errno = EPIPE;
        return -1;
    case SSL_ERROR_SYSCALL:
        ERR_clear_error();
        if (errno == 0 || errno == EAGAIN)
            errno = ECONNRESET;
        return -1;
    default:
        tls_failures++;
        pb_log_limited(&limit, 20, LOG_INFO, "TLS %s failed: %s",
                       SSL_is_init_finished(ssl) ? "connection" : "handshake",
                       ssl_reason(why, sizeof(why)));
        errno = EPROTO;
        return -1;
    }
}

ssize_t pb_tls_read(SSL *ssl, void *buf, size_t len, enum pb_tls_wait *wait)
{
    size_t got = 0;
    int ret;

    *wait = PB_TLS_WAIT_NONE;
    ERR_clear_error();
    errno = 0;
    ret = SSL_read_ex(ssl, buf, len, &got);
    return ret == 1 ? (ssize_t)got : failed(ssl, ret, 1, wait);
}

ssize_t pb_tls_write(SSL *ssl, const void *buf, size_t len, enum pb_tls_wait *wait)
{
    size_t put = 0;
    int ret;

    *wait = PB_TLS_WAIT_NONE;
    ERR_clear_error();
    errno = 0;
    ret = SSL_write_ex(ssl, buf, len, &put);
    return ret == 1 ? (ssize_t)put : failed(ssl, ret, 0, wait);
}

int pb_tls_pending(SSL *ssl)
{
    return SSL_pending(ssl);
}

void pb_tls_close_notify(SSL *ssl)
{
    if (!SSL_is_init_finished(ssl))
        return;
    ERR_clear_error();
    (void)SSL_shutdown(ssl);
    ERR_clear_error();
}

unsigned long pb_tls_failures(void)
{
    return tls_failures;
}
