/*
 * check_mime_run.c - what the pb_mime_rewrite() tests share (see
 * check_mime_run.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <check.h>
#include "testutil.h"
#include "testutil_mime.h"
#include "check_mime_run.h"

int mime_run_suite(Suite *s)
{
    tu_setup_conf = tu_mime_conf;
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

void mime_run(struct mime_run *r)
{
    tu_link_ctx(&r->ctx, &tu_conf, &tu_ring);
    r->out = g_string_new("stale");
    r->rc = pb_mime_rewrite(&r->ctx, r->msg->str, r->msg->len, r->body_off, r->out,
                            r->why, sizeof(r->why));
    size_t head = r->body_off < r->msg->len ? r->body_off : r->msg->len;
    r->new_msg = g_string_new_len(r->msg->str, (gssize)head);
    g_string_append_len(r->new_msg, r->out->str, (gssize)r->out->len);
}

void mime_run_free(struct mime_run *r)
{
    g_string_free(r->msg, TRUE);
    g_string_free(r->out, TRUE);
    g_string_free(r->new_msg, TRUE);
}

size_t mime_body_offset(const GString *m)
{
    return tu_body_offset(m->str, m->len);
}

void mime_load_fixture(struct mime_run *r, const char *name, int variant)
{
    int crlf = variant & 1;
    char rel[128];
    size_t len;
    snprintf(rel, sizeof(rel), "data/mime/%s", name);
    char *data = tu_read_file(tu_test_path(rel), &len);
    ck_assert_msg(data != NULL, "cannot read %s", rel);
    r->msg = g_string_new_len(data, (gssize)len);
    free(data);
    while ((variant & 2) && r->msg->len > 0 && r->msg->str[r->msg->len - 1] == '\n')
        g_string_truncate(r->msg, r->msg->len - 1);
    if (crlf)
        tu_crlf(r->msg, 0);
    r->body_off = mime_body_offset(r->msg);
}

void mime_assert_passed_through(const struct mime_run *r, enum pb_mime_result want,
                                const char *why_has)
{
    ck_assert_msg(r->rc == want, "result %d, want %d (%s)", r->rc, want, r->why);
    ck_assert_uint_eq(r->out->len, 0);
    ck_assert_uint_eq(r->ctx.links_tracked, 0);
    ck_assert_msg(r->why[0] != '\0', "why is empty");
    if (why_has)
        ck_assert_msg(strstr(r->why, why_has) != NULL, "why \"%s\" lacks \"%s\"", r->why, why_has);
}

void mime_assert_lines(const GString *body, size_t max, int crlf)
{
    char why[128];
    ck_assert_msg(tu_lines_ok(body->str, body->len, max, crlf, why, sizeof(why)) == 0, "%s", why);
}

static size_t bare_lf(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += s[i] == '\n' && (i == 0 || s[i - 1] != '\r');
    return n;
}

int mime_assert_rewritten(const struct mime_run *r, const char *const *boundaries, int top_text)
{
    char why[512];
    ck_assert_msg(r->rc == PB_MIME_REWRITTEN, "result %d: %s", r->rc, r->why);
    const char *body = r->msg->str + r->body_off;
    size_t body_len = r->msg->len - r->body_off;
    if (bare_lf(body, body_len) == 0)
        ck_assert_msg(bare_lf(r->out->str, r->out->len) == 0, "bare LF in a CRLF message");
    if (memchr(body, '\r', body_len) == NULL)
        ck_assert_msg(memchr(r->out->str, '\r', r->out->len) == NULL, "CR in an LF message");
    int changed = tu_same_outside_text(body, body_len, r->out->str, r->out->len, boundaries,
                                       top_text, why, sizeof(why));
    ck_assert_msg(changed > 0, "outside bytes: %s", changed < 0 ? why : "nothing changed");
    return mime_check_parts("rewrite", r->msg, r->new_msg, NULL);
}

int mime_compare_parts(const GString *msg, const GString *new_msg, struct tu_outline **orig,
                       char *why, size_t whylen)
{
    char part_why[512];
    struct tu_outline *a = tu_outline(msg->str, msg->len);
    struct tu_outline *b = tu_outline(new_msg->str, new_msg->len);
    int tracked = 0;

    if (a == NULL || b == NULL) {
        snprintf(why, whylen, "GMime cannot parse the %s", a == NULL ? "original" : "rewrite");
        tracked = -1;
    } else if (a->leaves != b->leaves || a->texts->len != b->texts->len) {
        snprintf(why, whylen, "parts changed (%u -> %u)", a->leaves, b->leaves);
        tracked = -1;
    }
    for (guint i = 0; tracked >= 0 && i < a->texts->len; i++) {
        const struct tu_text_part *x = a->texts->pdata[i], *y = b->texts->pdata[i];
        int n = tu_check_tracked(&tu_conf, &tu_ring, x->data->str, x->data->len, y->data->str,
                                 y->data->len, NULL, NULL, part_why, sizeof(part_why));
        if (n < 0) {
            snprintf(why, whylen, "text part %u: %s", i, part_why);
            tracked = -1;
        } else {
            tracked += n;
        }
    }
    if (orig != NULL && tracked >= 0)
        *orig = a;
    else if (a != NULL)
        tu_outline_free(a);
    if (b != NULL)
        tu_outline_free(b);
    return tracked;
}

int mime_check_parts(const char *name, const GString *msg, const GString *new_msg,
                     struct tu_outline **orig)
{
    char why[600];
    int tracked = mime_compare_parts(msg, new_msg, orig, why, sizeof(why));

    ck_assert_msg(tracked >= 0, "%s: %s", name, why);
    return tracked;
}
