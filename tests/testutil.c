/*
 * testutil.c - helpers shared by the Check unit tests (see testutil.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>
#include "testutil.h"

#ifndef TESTS_DIR
#define TESTS_DIR "tests"
#endif
#ifndef CORPUS_DIR
#define CORPUS_DIR "../shared/corpus"
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
    char path[300], err[512];
    snprintf(path, sizeof(path), "%s/keys", tu_tmpdir());
    if (tu_write_file(path, keys, sizeof(keys) - 1) != 0
        || pb_keys_load(path, 1, ring, err, sizeof(err)) != 0) {
        fprintf(stderr, "test keyring: %s\n", err);
        abort();
    }
    unlink(path);
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
