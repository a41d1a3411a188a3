/*
 * testutil.c - helpers shared by the Check unit tests (see testutil.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <glib.h>
#include "testutil.h"
#include "link.h"

#ifndef TESTS_DIR
#define TESTS_DIR "tests"
#endif
#ifndef CORPUS_DIR
#define CORPUS_DIR TESTS_DIR "/data/corpus"
#endif

char *tu_read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return NULL;
    if (fseek(fp, 0, SEEK_END) != 0) {
        fclose(fp);
        return NULL;
    }
    long size = ftell(fp);
    rewind(fp);
    char *buf = malloc((size_t)size + 1);
    if (buf == NULL || fread(buf, 1, (size_t)size, fp) != (size_t)size) {
        free(buf);
        fclose(fp);
        return NULL;
    }
    buf[size] = '\0';
    fclose(fp);
    if (len)
        *len = (size_t)size;
    return buf;
}

int tu_write_file(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, data, len);
    close(fd);
    return n == (ssize_t)len ? 0 : -1;
}

const char *tu_tmpdir(void)
{
    static char path[256];
    const char *base = getenv("TMPDIR");
    snprintf(path, sizeof(path), "%s/pbtest.XXXXXX", base ? base : "/tmp");
    if (mkdtemp(path) == NULL) {
        perror("mkdtemp");
        abort();
    }
    return path;
}

void tu_test_keyring(struct pb_keyring *ring)
{
    static const char keys[] =
        "# test keys\n"
        "contact 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n"
        "1 1111111111111111111111111111111111111111111111111111111111111111\n"
        "2 2222222222222222222222222222222222222222222222222222222222222222\n";
    char dir[256], path[300], err[512];
    snprintf(dir, sizeof(dir), "%s", tu_tmpdir());
    snprintf(path, sizeof(path), "%s/keys", dir);
    if (tu_write_file(path, keys, sizeof(keys) - 1) != 0
        || pb_keys_load(path, 1, ring, err, sizeof(err)) != 0) {
        fprintf(stderr, "test keyring: %s\n", err);
        abort();
    }
    unlink(path);
    rmdir(dir);
}

void tu_test_conf(struct pb_conf *conf)
{
    static char *domains[] = { "example.com", "shop.example.org", NULL };
    pb_conf_defaults(conf);
    free(conf->tracking_url);
    conf->tracking_url = strdup("https://t.example.net");
    conf->utm.domains.items = malloc(sizeof(domains));
    conf->utm.domains.count = 2;
    for (size_t i = 0; i < 3; i++)
        conf->utm.domains.items[i] = domains[i] ? strdup(domains[i]) : NULL;
}

const char *tu_test_path(const char *rel)
{
    static char path[1024];
    snprintf(path, sizeof(path), "%s/%s", TESTS_DIR, rel);
    return path;
}

const char *tu_corpus_path(const char *rel)
{
    static char path[1024];
    snprintf(path, sizeof(path), "%s/%s", CORPUS_DIR, rel);
    return path;
}

/* ---- a private redis-server for tests --------------------------------- */

static char *find_redis_server(void)
{
    static const char *const fallback[] = { "/usr/bin/redis-server", "/usr/sbin/redis-server",
                                            "/usr/local/bin/redis-server", NULL };
    char *path = g_find_program_in_path("redis-server");

    for (size_t i = 0; path == NULL && fallback[i]; i++)
        if (access(fallback[i], X_OK) == 0)
            path = g_strdup(fallback[i]);
    return path;
}

static int unix_socket_accepts(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;

    if (fd < 0)
        return 0;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    close(fd);
    return ok;
}

int tu_redis_start(const char *socket_path)
{
    return tu_redis_start_with(socket_path, NULL);
}

int tu_redis_start_with(const char *socket_path, const char *const *extra)
{
    char *server = find_redis_server(), *logfile;
    GPtrArray *argv;
    pid_t pid;

    if (server == NULL)
        return 0;
    logfile = g_strconcat(socket_path, ".log", NULL);
    const char *const fixed[] = {
        server, "--port", "0", "--unixsocket", socket_path, "--unixsocketperm", "700",
        "--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", logfile,
    };

    argv = g_ptr_array_new();
    for (size_t i = 0; i < G_N_ELEMENTS(fixed); i++)
        g_ptr_array_add(argv, (gpointer)fixed[i]);
    for (; extra && *extra; extra++)
        g_ptr_array_add(argv, (gpointer)*extra);
    g_ptr_array_add(argv, NULL);
    pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        for (int fd = 3; fd < 1024; fd++)
            close(fd);
        execv(server, (char *const *)argv->pdata);
        _exit(127);
    }
    g_ptr_array_free(argv, TRUE);
    g_free(server);
    g_free(logfile);
    if (pid < 0)
        return -1;
    for (int i = 0; i < 500; i++) {     /* up to 5 s */
        int status;
        if (unix_socket_accepts(socket_path))
            return (int)pid;
        if (waitpid(pid, &status, WNOHANG) == pid)
            return -1;
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

void tu_redis_stop(int pid)
{
    if (pid <= 0)
        return;
    kill((pid_t)pid, SIGTERM);
    waitpid((pid_t)pid, NULL, 0);
}

/* ---- tracked links ---------------------------------------------------- */

void tu_link_ctx(struct pb_link_ctx *ctx, const struct pb_conf *conf,
                 const struct pb_keyring *ring)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->conf = conf;
    ctx->keys = ring;
    for (int i = 0; i < PB_MSGID_LEN; i++)
        ctx->msg_id[i] = (uint8_t)(i + 1);
    ctx->has_contact = 1;
    for (int i = 0; i < PB_CONTACT_LEN; i++)
        ctx->contact[i] = (uint8_t)(0xc0 + i);
    snprintf(ctx->campaign, sizeof(ctx->campaign), "spring-sale");
    ctx->sent_at = 1700000000;
}

char *tu_click_dest(const struct pb_conf *conf, const struct pb_keyring *ring,
                    const char *url, size_t len, unsigned *index)
{
    struct pb_link_ctx want;
    struct pb_token tok;
    size_t base = strlen(conf->tracking_url);
    if (len <= base + 3 || memcmp(url, conf->tracking_url, base) != 0
        || memcmp(url + base, "/c/", 3) != 0)
        return NULL;
    uint8_t *buf = malloc(len);
    if (buf == NULL
        || pb_token_decode(ring, url + base + 3, len - base - 3, PB_TOKEN_CLICK, buf, &tok)
           != PB_TOKEN_OK) {
        free(buf);
        return NULL;
    }
    tu_link_ctx(&want, conf, ring);
    char *dest = NULL;
    if (memcmp(tok.msg_id, want.msg_id, PB_MSGID_LEN) == 0 && tok.has_contact
        && memcmp(tok.contact, want.contact, PB_CONTACT_LEN) == 0
        && strcmp(tok.campaign, want.campaign) == 0 && tok.sent_at == want.sent_at) {
        dest = strndup(tok.url, tok.url_len);
        if (index)
            *index = tok.link_index;
    }
    free(buf);
    return dest;
}

/* Where a "/" for an empty path goes in url ("scheme://authority" with no
 * path before the query or fragment at end), or 0 when it has a path. */
size_t tu_empty_path_at(const char *url, size_t end)
{
    const char *auth = strstr(url, "://");
    size_t i;

    if (auth == NULL || (size_t)(auth - url) + 3 > end)
        return 0;
    for (i = (size_t)(auth - url) + 3; i < end; i++)
        if (url[i] == '/')
            return 0;
    return end;
}

char *tu_strip_utm(const char *url)
{
    size_t frag = strcspn(url, "#"), query = strcspn(url, "?");
    size_t path_end = query < frag ? query : frag, slash = tu_empty_path_at(url, path_end);
    GString *out = g_string_new_len(url, (gssize)path_end);
    if (slash > 0)              /* the rewriter adds "/" to an empty path */
        g_string_append_c(out, '/');
    if (query < frag) {
        char *params = g_strndup(url + query + 1, frag - query - 1);
        char **parts = g_strsplit(params, "&", -1);
        int kept = 0;
        for (char **p = parts; *p; p++) {
            if (g_str_has_prefix(*p, "utm_"))
                continue;
            g_string_append_c(out, kept++ ? '&' : '?');
            g_string_append(out, *p);
        }
        g_strfreev(parts);
        g_free(params);
    }
    g_string_append(out, url + frag);
    char *s = strdup(out->str);
    g_string_free(out, TRUE);
    return s;
}

int tu_redis_available(void)
{
    char *server = find_redis_server();

    g_free(server);
    return server != NULL;
}

/* ---- the configuration and key ring of a test ------------------------- */

struct pb_conf tu_conf;
struct pb_keyring tu_ring;
void (*tu_setup_conf)(struct pb_conf *conf) = tu_test_conf;

void tu_setup(void)
{
    tu_setup_conf(&tu_conf);
    tu_test_keyring(&tu_ring);
}

void tu_teardown(void)
{
    pb_conf_free(&tu_conf);
    pb_keys_free(&tu_ring);
}

/* ---- undoing a rewrite link by link ----------------------------------- */

void tu_undo_start(struct tu_undo *u, const struct pb_conf *conf,
                   const struct pb_keyring *ring, const char *out)
{
    u->conf = conf;
    u->ring = ring;
    u->out = out;
    u->pos = 0;
    u->text = g_string_new(NULL);
    u->why[0] = '\0';
}

char *tu_undo_link(struct tu_undo *u, size_t at, size_t end, const char *url, const char *want,
                   const char *orig, size_t orig_len, unsigned *index)
{
    const char *link = url ? url : u->out + at;
    size_t link_len = url ? strlen(url) : end - at;
    char *dest = tu_click_dest(u->conf, u->ring, link, link_len, index);

    if (dest == NULL) {
        snprintf(u->why, sizeof(u->why), "%.*s is not a valid click URL", (int)link_len, link);
        return NULL;
    }
    char *got = tu_strip_utm(dest), *wanted = tu_strip_utm(want);
    int same = strcmp(got, wanted) == 0;
    if (!same)
        snprintf(u->why, sizeof(u->why), "%.*s leads to %s, not %s", (int)link_len, link, got,
                 wanted);
    free(got);
    free(wanted);
    if (!same) {
        free(dest);
        return NULL;
    }
    g_string_append_len(u->text, u->out + u->pos, (gssize)(at - u->pos));
    g_string_append_len(u->text, orig, (gssize)orig_len);
    u->pos = end;
    return dest;
}

GString *tu_undo_finish(struct tu_undo *u, size_t out_len)
{
    g_string_append_len(u->text, u->out + u->pos, (gssize)(out_len - u->pos));
    return u->text;
}

/* ---- Redis streams ----------------------------------------------------- */
#include <hiredis/hiredis.h>

redisReply *tu_stream_range(redisContext *c, const char *key)
{
    redisReply *r = redisCommand(c, "XRANGE %s - +", key);

    if (r != NULL && r->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(r);
        r = NULL;
    }
    return r;
}

const char *tu_stream_field(const redisReply *entry, const char *name)
{
    const redisReply *kv = entry->type == REDIS_REPLY_ARRAY && entry->elements == 2
        ? entry->element[1] : NULL;

    for (size_t i = 0; kv && i + 1 < kv->elements; i += 2)
        if (strcmp(kv->element[i]->str, name) == 0)
            return kv->element[i + 1]->str;
    return NULL;
}
