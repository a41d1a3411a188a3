/*
 * check_scorer_wf.c - the follow-up tests' shared helpers
 * (check_scorer_wf.h): submission through tests/lib/capture-submit.sh,
 * which keeps every message it is given in a folder, and reading back
 * what the scorer sent and recorded. Part of check_scorer.
 */
#include <stdio.h>
#include <string.h>
#include <glib.h>
#include "check_scorer.h"
#include "check_scorer_wf.h"
#include "testutil.h"

#define CAPTURE TESTS_DIR "/lib/capture-submit.sh"

char outdir[300];

void load_wf_with(const char *status, const char *submit_extra, const char *settings,
                  const char *rules)
{
    char *top;

    snprintf(outdir, sizeof(outdir), "%s/out", cdir);
    ck_assert_int_eq(g_mkdir_with_parents(outdir, 0700), 0);
    top = g_strdup_printf("submit = { command = \"/bin/sh %s %s %s 0 ${recipient}\"; %s };\n"
                          "templates = { dir = \"%s/../config/templates\"; };", CAPTURE, outdir,
                          status, submit_extra, TESTS_DIR);
    load_scorer_with(top, settings, rules);
    g_free(top);
}

int messages(void)
{
    int n = 0;
    char path[400];

    for (;;) {
        snprintf(path, sizeof(path), "%s/%d.eml", outdir, n + 1);
        if (!g_file_test(path, G_FILE_TEST_EXISTS))
            return n;
        n++;
    }
}

char *message(int n)
{
    char path[400];
    char *text;

    snprintf(path, sizeof(path), "%s/%d.eml", outdir, n);
    text = tu_read_file(path, NULL);
    ck_assert_msg(text != NULL, "no %s", path);
    return text;
}

void assert_has(const char *text, const char *want)
{
    ck_assert_msg(strstr(text, want) != NULL, "no \"%s\" in:\n%.600s", want, text);
}

void assert_status(const char *c, const char *wf, const char *step, const char *want)
{
    char *f = g_strdup_printf("wfs:%s|%s", wf, step), *v = contact_field(c, f);

    if (want == NULL)
        ck_assert_msg(v == NULL, "%s of %s is %s, expected none", f, c, v);
    else
        ck_assert_msg(v != NULL && strcmp(v, want) == 0, "%s of %s is %s, expected %s", f, c,
                      v ? v : "(none)", want);
    g_free(f);
    g_free(v);
}

int logged(const char *step, const char *status, char *why, size_t len)
{
    redisReply *r = redisCommand(cc, "XRANGE pb:wf:log - +");
    int n = 0;

    ck_assert_msg(r != NULL && r->type == REDIS_REPLY_ARRAY, "XRANGE pb:wf:log");
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *f = r->element[i]->element[1];
        const char *st = "", *stat = "", *reason = "";
        for (size_t j = 0; j + 1 < f->elements; j += 2) {
            if (strcmp(f->element[j]->str, "step") == 0) st = f->element[j + 1]->str;
            if (strcmp(f->element[j]->str, "status") == 0) stat = f->element[j + 1]->str;
            if (strcmp(f->element[j]->str, "reason") == 0) reason = f->element[j + 1]->str;
        }
        if (strcmp(st, step) == 0 && strcmp(stat, status) == 0) {
            n++;
            if (why != NULL)
                snprintf(why, len, "%s", reason);
        }
    }
    freeReplyObject(r);
    return n;
}
