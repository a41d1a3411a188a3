/*
 * keys_edit.c - changing a key file (keys.h, "editing a key file"): create,
 * rotate (append a new signing key), add an events secret, set (add or
 * replace) a webhook secret, retire a key or a webhook secret.
 *
 * Every change is checked by loading the file first (so a broken file is
 * never made worse), then written whole to a temporary file in the same
 * folder with the old file's mode (0600 for a new one) and owner, fsynced
 * and renamed over the old file; the folder is fsynced too. A reader (a
 * daemon reloading) sees the old file or the new one. Secrets are wiped
 * from memory once written.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include <glib.h>
#include "keys.h"
#include "keys_int.h"

/* A temporary file beside path, with mode and owner like st (or 0600). */
static int open_temp(const char *path, const struct stat *st, char *tmp, size_t tmplen,
                     char *errbuf, size_t errlen)
{
    int fd;

    snprintf(tmp, tmplen, "%s.tmpXXXXXX", path);
    fd = mkstemp(tmp);
    if (fd < 0) {
        snprintf(errbuf, errlen, "%s: cannot create a temporary file beside it: %s", path,
                 strerror(errno));
        return -1;
    }
    if (fchmod(fd, st ? (st->st_mode & 0770) : 0600) != 0
        || (st && geteuid() == 0 && fchown(fd, st->st_uid, st->st_gid) != 0)) {
        snprintf(errbuf, errlen, "%s: cannot set the mode of %s: %s", path, tmp,
                 strerror(errno));
        close(fd);
        unlink(tmp);
        return -1;
    }
    return fd;
}

static void sync_dir(const char *path)
{
    char *copy = g_strdup(path);
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    g_free(copy);
}

/* text as the new content of path (whose stat is st): temp file, fsync, rename. */
static int replace_file(const char *path, const struct stat *st, const char *text,
                        char *errbuf, size_t errlen)
{
    char tmp[4096];
    int fd = open_temp(path, st, tmp, sizeof(tmp), errbuf, errlen), rc;

    if (fd < 0)
        return -1;
    rc = pb_keys_write_text(path, fd, text, errbuf, errlen);
    close(fd);
    if (rc == 0 && rename(tmp, path) != 0) {
        snprintf(errbuf, errlen, "%s: cannot rename %s over it: %s", path, tmp, strerror(errno));
        rc = -1;
    }
    if (rc != 0)
        unlink(tmp);
    if (rc == 0)
        sync_dir(path);
    return rc;
}

int pb_keys_create(const char *path, char *errbuf, size_t errlen)
{
    char tmp[4096];
    struct stat st;
    int fd, rc;

    if (stat(path, &st) == 0) {
        snprintf(errbuf, errlen, "%s: exists already (use \"postbeacon keys rotate\" to add "
                 "a key)", path);
        return -1;
    }
    fd = open_temp(path, NULL, tmp, sizeof(tmp), errbuf, errlen);
    if (fd < 0)
        return -1;
    rc = pb_keys_create_text(path, fd, errbuf, errlen);
    close(fd);
    if (rc == 0 && link(tmp, path) != 0) {
        snprintf(errbuf, errlen, "%s: cannot create: %s", path, strerror(errno));
        rc = -1;
    }
    unlink(tmp);
    if (rc == 0)
        sync_dir(path);
    return rc;
}

/* The whole file (checked: it loads) and its stat; NULL with errbuf. */
static char *read_checked(const char *path, struct pb_keyring *ring, struct stat *st,
                          char *errbuf, size_t errlen)
{
    gchar *text = NULL;
    gsize len = 0;
    GError *gerr = NULL;

    if (pb_keys_load(path, 1, ring, errbuf, errlen) != 0)
        return NULL;
    if (stat(path, st) != 0 || !g_file_get_contents(path, &text, &len, &gerr)) {
        snprintf(errbuf, errlen, "%s: cannot read: %s", path,
                 gerr ? gerr->message : strerror(errno));
        g_clear_error(&gerr);
        pb_keys_free(ring);
        return NULL;
    }
    return text;
}

static void wipe_free(char *text)
{
    if (text) {
        OPENSSL_cleanse(text, strlen(text));
        g_free(text);
    }
}

/* The id after the signing key's, wrapping 255 -> 1 and skipping ids in use. */
static int next_key_id(const struct pb_keyring *ring)
{
    int id = pb_keys_signing(ring)->id;

    for (int tries = 0; tries < 255; tries++) {
        id = id % 255 + 1;
        if (pb_keys_find(ring, (uint8_t)id) == NULL)
            return id;
    }
    return -1;
}

/* Append "<word> <new secret>\n" to the file; word NULL = the next key id. */
static int append_line(const char *path, const char *word, int *new_id, char *errbuf,
                       size_t errlen)
{
    struct pb_keyring ring;
    struct stat st;
    char secret[2 * 32 + 1], head[16];
    char *old = read_checked(path, &ring, &st, errbuf, errlen), *text;
    int id = 0, rc;

    if (old == NULL)
        return -1;
    if (word == NULL && (id = next_key_id(&ring)) < 0) {
        snprintf(errbuf, errlen, "%s: all 255 key ids are in use (retire old keys once "
                 "their tokens no longer matter)", path);
    } else if (word != NULL && ring.events_count >= PB_EVENTS_KEYS_MAX) {
        snprintf(errbuf, errlen, "%s: already %d events lines (retire one first)", path,
                 PB_EVENTS_KEYS_MAX);
        id = -1;
    } else if (pb_keys_random_hex(32, secret) != 0) {
        snprintf(errbuf, errlen, "%s: no random bytes from OpenSSL", path);
        id = -1;
    }
    pb_keys_free(&ring);
    if (id < 0) {
        wipe_free(old);
        return -1;
    }
    if (word == NULL)
        snprintf(head, sizeof(head), "%d", id);
    text = g_strdup_printf("%s%s%s %s\n", old, old[0] && old[strlen(old) - 1] != '\n'
                           ? "\n" : "", word ? word : head, secret);
    rc = replace_file(path, &st, text, errbuf, errlen);
    OPENSSL_cleanse(secret, sizeof(secret));
    wipe_free(text);
    wipe_free(old);
    if (rc == 0 && new_id)
        *new_id = id;
    return rc;
}

int pb_keys_rotate(const char *path, int *new_id, char *errbuf, size_t errlen)
{
    return append_line(path, NULL, new_id, errbuf, errlen);
}

int pb_keys_add_events(const char *path, char *errbuf, size_t errlen)
{
    return append_line(path, "events", NULL, errbuf, errlen);
}

/* text with its line number `line` (1-based) replaced by repl (a whole
 * line with its newline), or removed when repl is NULL. */
static char *with_line(const char *text, int line, const char *repl)
{
    GString *out = g_string_new(NULL);
    const char *p = text;

    for (int n = 1; *p; n++) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p + 1) : strlen(p);
        if (n != line)
            g_string_append_len(out, p, (gssize)len);
        else if (repl != NULL)
            g_string_append(out, repl);
        p += len;
    }
    return g_string_free(out, FALSE);
}

int pb_keys_retire(const char *path, int id, char *errbuf, size_t errlen)
{
    struct pb_keyring ring;
    struct stat st;
    char *old = read_checked(path, &ring, &st, errbuf, errlen), *text;
    const struct pb_key *key;
    int line = 0, rc;

    if (old == NULL)
        return -1;
    key = id >= 1 && id <= 255 ? pb_keys_find(&ring, (uint8_t)id) : NULL;
    if (key == NULL)
        snprintf(errbuf, errlen, "%s: no key %d (postbeacon keys list shows the ids)", path, id);
    else if (key == pb_keys_signing(&ring))
        snprintf(errbuf, errlen, "%s:%d: key %d signs new tokens (rotate first: postbeacon "
                 "keys rotate)", path, key->line, id);
    else
        line = key->line;
    pb_keys_free(&ring);
    if (line == 0) {
        wipe_free(old);
        return -1;
    }
    text = with_line(old, line, NULL);
    rc = replace_file(path, &st, text, errbuf, errlen);
    wipe_free(text);
    wipe_free(old);
    return rc;
}

/* The line of webhook secret name in the checked file at path (0: none);
 * -1 with errbuf if the file does not load or the name is not one. */
static int webhook_line(const char *path, const char *name, struct pb_keyring *ring,
                        char **old, struct stat *st, char *errbuf, size_t errlen)
{
    const struct pb_key *key;

    if (!pb_keys_webhook_name_ok(name)) {
        snprintf(errbuf, errlen, "\"%s\" is not a webhook secret name (1 to 64 of a-z, 0-9, "
                 "_ and -)", name);
        return -1;
    }
    if ((*old = read_checked(path, ring, st, errbuf, errlen)) == NULL)
        return -1;
    key = pb_keys_webhook(ring, name);
    return key ? key->line : 0;
}

int pb_keys_set_webhook(const char *path, const char *name, int *replaced, char *errbuf,
                        size_t errlen)
{
    struct pb_keyring ring;
    struct stat st;
    char secret[2 * 32 + 1], *old, *text, *entry;
    int line = webhook_line(path, name, &ring, &old, &st, errbuf, errlen), rc = -1;

    if (line < 0)
        return -1;
    if (line == 0 && ring.webhooks_count >= PB_WEBHOOK_KEYS_MAX)
        snprintf(errbuf, errlen, "%s: already %d webhook lines (retire one first)", path,
                 PB_WEBHOOK_KEYS_MAX);
    else if (pb_keys_random_hex(32, secret) != 0)
        snprintf(errbuf, errlen, "%s: no random bytes from OpenSSL", path);
    else
        rc = 0;
    pb_keys_free(&ring);
    if (rc != 0) {
        wipe_free(old);
        return -1;
    }
    entry = g_strdup_printf("webhook %s %s\n", name, secret);
    if (line > 0)
        text = with_line(old, line, entry);
    else
        text = g_strdup_printf("%s%s%s", old, old[0] && old[strlen(old) - 1] != '\n' ? "\n" : "",
                               entry);
    rc = replace_file(path, &st, text, errbuf, errlen);
    OPENSSL_cleanse(secret, sizeof(secret));
    wipe_free(entry);
    wipe_free(text);
    wipe_free(old);
    if (rc == 0 && replaced)
        *replaced = line > 0;
    return rc;
}

int pb_keys_retire_webhook(const char *path, const char *name, char *errbuf, size_t errlen)
{
    struct pb_keyring ring;
    struct stat st;
    char *old, *text;
    int line = webhook_line(path, name, &ring, &old, &st, errbuf, errlen), rc;

    if (line < 0)
        return -1;
    pb_keys_free(&ring);
    if (line == 0) {
        snprintf(errbuf, errlen, "%s: no webhook secret \"%s\" (postbeacon keys list shows "
                 "them)", path, name);
        wipe_free(old);
        return -1;
    }
    text = with_line(old, line, NULL);
    rc = replace_file(path, &st, text, errbuf, errlen);
    wipe_free(text);
    wipe_free(old);
    return rc;
}
