/*
 * check_conf_util.c - what the configuration tests share (check_conf.h):
 * a temporary postbeacon.conf, loading a section's text, and checking
 * that a list of bad settings is refused with its message.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "conf.h"
#include "testutil.h"
#include "check_conf.h"

char conf_err[1024];

/* Write `text` to a temporary file; path in a static buffer. */
const char *temp_conf(const char *text)
{
    static char path[300];

    snprintf(path, sizeof(path), "%s/postbeacon.conf", tu_tmpdir());
    ck_assert_int_eq(tu_write_file(path, text, strlen(text)), 0);
    return path;
}

void remove_conf(const char *path)
{
    char dir[300];

    snprintf(dir, sizeof(dir), "%s", path);
    unlink(path);
    *strrchr(dir, '/') = '\0';
    rmdir(dir);
}

/* Load a base_url line plus `section_text`; 0 or -1, conf_err set. */
void load_fixture(const char *path, struct pb_conf *conf)
{
    if (pb_conf_load(tu_test_path(path), conf, conf_err, sizeof(conf_err)) != 0)
        ck_abort_msg("%s", conf_err);
}

int load_text(const char *section_text, struct pb_conf *conf)
{
    char text[2048];
    const char *path;
    int rc;

    snprintf(text, sizeof(text), "tracking = { base_url = \"https://t.example.com\"; };\n%s\n",
             section_text);
    path = temp_conf(text);
    rc = pb_conf_load(path, conf, conf_err, sizeof(conf_err));
    remove_conf(path);
    return rc;
}

/* Each case is refused, its message names line 2 (the section's line in
 * load_text's file) and holds the expected part. */
void assert_rejected(const struct reject *cases, size_t n)
{
    struct pb_conf c;

    for (size_t i = 0; i < n; i++) {
        if (load_text(cases[i].text, &c) == 0)
            ck_abort_msg("accepted: %s", cases[i].text);
        if (strstr(conf_err, cases[i].message) == NULL || strstr(conf_err, ":2: ") == NULL)
            ck_abort_msg("%s\n  got  %s\n  want :2: ...%s", cases[i].text, conf_err,
                         cases[i].message);
    }
}
