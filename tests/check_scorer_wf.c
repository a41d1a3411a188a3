/*
 * check_scorer_wf.c - what the workflow tests share (check_scorer_wf.h):
 * the configuration with submission into a capture folder, contacts,
 * the fake clock's runs, the messages captured, the steps' states and
 * the follow-up log. Used by check_scorer_workflows.c,
 * check_scorer_variants.c and
 * check_scorer_triggers.c. Part of check_scorer (check_scorer.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include "check_redis.h"
#include "check_scorer_wf.h"
#include "testutil.h"

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

void load_wf(const char *status, const char *settings)
{
    char *all = g_strconcat(SEGS, " ", settings, NULL);

    load_wf_with(status, "", all, CLICK80);
    g_free(all);
}

void contact(const char *c, const char *email, const char *first)
{
    redisReply *r = redisCommand(cc, "HSET pb:contact:%s email %s first_name %s", c, email, first);

    ck_assert_ptr_nonnull(r);
    freeReplyObject(r);
}

/* load_wf(status, settings) and contacts c1..cn: Anna, Ben, Cleo, Dan. */
void load_with(const char *status, const char *settings, int n)
{
    static const char *const people[][2] = {
        { "anna@example.org", "Anna" }, { "ben@example.org", "Ben" },
        { "cleo@example.org", "Cleo" }, { "dan@example.org", "Dan" },
    };

    load_wf(status, settings);
    for (int i = 0; i < n && i < 4; i++) {
        char id[8];
        snprintf(id, sizeof(id), "c%d", i + 1);
        contact(id, people[i][0], people[i][1]);
    }
}

void run_at(long long now)
{
    fake_now = now;
    drain_as("t1");
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

/* Message n (capture folder) has each of the NULL-terminated lines. */
void assert_message(int n, const char *const *want)
{
    char *m = message(n);

    for (size_t i = 0; want[i] != NULL; i++)
        assert_has(m, want[i]);
    g_free(m);
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

/* Entries of pb:wf:log with this step and status; the last one's reason into why. */
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

void event(const char *type, const char *c, long long ts)
{
    g_free(xadd(type, c, "shop", "00000000000000aa", ts, NULL, NULL));
}

/* XREADGROUP as consumer who without processing. */
static redisReply *read_as(const char *who, int count)
{
    redisReply *r = redisCommand(cc, "XGROUP CREATE pb:events scorer 0");

    freeReplyObject(r);
    r = redisCommand(cc, "XREADGROUP GROUP scorer %s COUNT %d STREAMS pb:events >", who, count);
    ck_assert_msg(r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 1, "XREADGROUP");
    return r;
}

void batch_twice(void)
{
    struct pb_scorer s;
    redisReply *r = read_as("a", 10);

    scorer_open(&s, "a");
    ck_assert_int_eq(pb_scorer_batch(&s, r->element[0]->element[1]), 0);
    ck_assert_int_eq(pb_scorer_batch(&s, r->element[0]->element[1]), 0);
    ck_assert_uint_eq(s.stats.duplicates, r->element[0]->element[1]->elements);
    freeReplyObject(r);
    pb_scorer_free(&s);
}
