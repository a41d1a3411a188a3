/*
 * check_corpus.c - property test of pb_mime_rewrite() over real mail:
 * every file under the corpus's mime/ folder (as it is and with CRLF line
 * breaks, as Postfix hands it to a milter) and every corpus HTML file
 * wrapped in each transfer encoding. The result is either "not rewritten"
 * (nothing in out_body; the caller sends the original) or a valid
 * rewrite: GMime parses it into the same parts, every tracked link
 * verifies and leads to a URL of the original (plus UTM), and every byte
 * outside the text parts is unchanged. The same holds for wrapped corpus
 * messages that were cut short or scribbled on. Prints a summary; set
 * CORPUS_VERBOSE=1 for one line per message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <check.h>
#include "testutil.h"
#include "testutil_mime.h"
#include "check_mime_run.h"
#include "rewrite.h"

struct tally {
    unsigned files, messages, by_result[PB_MIME_ERROR + 1];
};

static const char *const result_names[] = {
    "rewritten", "unchanged", "refused", "malformed", "error"
};

/* The rewrite of msg (name for messages) is valid; returns tracked links. */
static int check_rewrite(const char *name, const GString *msg, size_t body_off,
                         const GString *body)
{
    char why[512];
    struct tu_outline *a;
    GString *new_msg = g_string_new_len(msg->str, (gssize)body_off);
    g_string_append_len(new_msg, body->str, (gssize)body->len);
    int tracked = mime_check_parts(name, msg, new_msg, &a);
    int changed = tu_same_outside_text(msg->str + body_off, msg->len - body_off, body->str,
                                       body->len, (const char *const *)a->boundaries->pdata,
                                       a->top_text, why, sizeof(why));
    ck_assert_msg(changed > 0, "%s: %s", name, changed < 0 ? why : "rewritten, nothing changed");
    tu_outline_free(a);
    g_string_free(new_msg, TRUE);
    return tracked;
}

static enum pb_mime_result check_message(struct tally *t, const char *name, const GString *msg)
{
    struct pb_link_ctx ctx;
    char why[256];
    size_t body_off = tu_body_offset(msg->str, msg->len);
    GString *body = g_string_new(NULL);
    tu_link_ctx(&ctx, &tu_conf, &tu_ring);
    enum pb_mime_result rc = pb_mime_rewrite(&ctx, msg->str, msg->len, body_off, body,
                                             why, sizeof(why));
    ck_assert_msg(rc <= PB_MIME_ERROR, "%s: result %d", name, rc);
    int tracked = 0;
    if (rc == PB_MIME_REWRITTEN) {
        tracked = check_rewrite(name, msg, body_off, body);
    } else {
        ck_assert_msg(body->len == 0 && ctx.links_tracked == 0,
                      "%s: not rewritten, but output left behind", name);
        ck_assert_msg(why[0] != '\0', "%s: no reason given", name);
    }
    if (getenv("CORPUS_VERBOSE"))
        printf("%-9s %3d links  %s  %s\n", result_names[rc], tracked, name, why);
    t->messages++;
    t->by_result[rc]++;
    g_string_free(body, TRUE);
    return rc;
}

/* A corpus file as it is, and with CRLF line breaks if it has LF ones. */
static void check_mime_file(struct tally *t, const char *path, const char *name)
{
    size_t len;
    char *data = tu_read_file(path, &len);
    ck_assert_msg(data != NULL, "cannot read %s", path);
    GString *msg = g_string_new_len(data, (gssize)len);
    free(data);
    t->files++;
    check_message(t, name, msg);
    GString *crlf = g_string_new_len(msg->str, (gssize)msg->len);
    tu_crlf(crlf, 0);
    if (crlf->len != msg->len) {
        char *crlf_name = g_strdup_printf("%s (CRLF)", name);
        check_message(t, crlf_name, crlf);
        g_free(crlf_name);
    }
    g_string_free(crlf, TRUE);
    g_string_free(msg, TRUE);
}

static void walk_dir(struct tally *t, const char *dir, const char *rel)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    ck_assert_msg(d != NULL, "cannot open %s", dir);
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    const char *entry;
    while ((entry = g_dir_read_name(d)) != NULL)
        g_ptr_array_add(names, g_strdup(entry));
    g_dir_close(d);
    g_ptr_array_sort(names, (GCompareFunc)g_strcmp0);
    for (guint i = 0; i < names->len; i++) {
        const char *n = g_ptr_array_index(names, i);
        char *path = g_build_filename(dir, n, NULL);
        char *sub = *rel ? g_strdup_printf("%s/%s", rel, n) : g_strdup(n);
        if (g_file_test(path, G_FILE_TEST_IS_DIR))
            walk_dir(t, path, sub);
        else if (g_file_test(path, G_FILE_TEST_IS_REGULAR))
            check_mime_file(t, path, sub);
        g_free(path);
        g_free(sub);
    }
    g_ptr_array_free(names, TRUE);
}

START_TEST(test_corpus_mime)
{
    struct tally t = { 0 };
    walk_dir(&t, tu_corpus_path("mime"), "mime");
    ck_assert_uint_gt(t.files, 100);
    ck_assert_uint_gt(t.by_result[PB_MIME_REWRITTEN], 0);
    ck_assert_uint_eq(t.by_result[PB_MIME_ERROR], 0);
    printf("corpus mime: %u files, %u messages (as is + CRLF): %u rewritten, %u unchanged, "
           "%u refused, %u malformed, %u errors\n", t.files, t.messages,
           t.by_result[PB_MIME_REWRITTEN], t.by_result[PB_MIME_UNCHANGED],
           t.by_result[PB_MIME_REFUSED], t.by_result[PB_MIME_MALFORMED], t.by_result[PB_MIME_ERROR]);
}
END_TEST

/* Every corpus HTML file (rendered; with its content.txt when there is
 * one) in each transfer encoding, LF and CRLF: always rewritten. */
static const char *const html_files[] = {
    "html/leemunroe/email.html", "html/leemunroe/email-inlined.html",
    "html/postmark-templates/comment-notification/content.html",
    "html/postmark-templates/dunning/content.html", "html/postmark-templates/example/content.html",
    "html/postmark-templates/invoice/content.html",
    "html/postmark-templates/password-reset/content.html",
    "html/postmark-templates/password-reset-help/content.html",
    "html/postmark-templates/receipt/content.html",
    "html/postmark-templates/trial-expired/content.html",
    "html/postmark-templates/trial-expiring/content.html",
    "html/postmark-templates/user-invitation/content.html",
    "html/postmark-templates/welcome/content.html",
};

static char *read_rendered(const char *rel, int html)
{
    size_t len;
    char *raw = tu_read_file(tu_corpus_path(rel), &len);
    if (raw == NULL)
        return NULL;
    char *out = tu_render(raw, html);
    free(raw);
    return out;
}

START_TEST(test_corpus_html)
{
    static const char *const ctes[] = { "quoted-printable", "base64", "8bit", "7bit" };
    struct tally t = { 0 };
    for (size_t f = 0; f < G_N_ELEMENTS(html_files); f++) {
        char *html = read_rendered(html_files[f], 1);
        ck_assert_msg(html != NULL, "cannot read %s", html_files[f]);
        char *txt_rel = g_strdup(html_files[f]);
        char *dot = strstr(txt_rel, "content.html");
        char *text = NULL;
        if (dot) {
            strcpy(dot, "content.txt");
            text = read_rendered(txt_rel, 0);
        }
        t.files++;
        for (size_t c = 0; c < G_N_ELEMENTS(ctes); c++) {
            for (int crlf = 0; crlf < 2; crlf++) {
                size_t body_off;
                GString *msg = tu_alternative(text, html, ctes[c], "utf-8", crlf, &body_off);
                char *name = g_strdup_printf("%s [%s%s]", html_files[f], ctes[c], crlf ? ", CRLF" : "");
                enum pb_mime_result rc = check_message(&t, name, msg);
                /* 7bit with UTF-8 bytes is mislabelled but must still work */
                ck_assert_msg(rc == PB_MIME_REWRITTEN, "%s not rewritten", name);
                g_free(name);
                g_string_free(msg, TRUE);
            }
        }
        g_free(html);
        g_free(text);
        g_free(txt_rel);
    }
    printf("corpus html: %u files, %u wrapped messages: %u rewritten, %u unchanged, "
           "%u refused, %u malformed, %u errors\n", t.files, t.messages,
           t.by_result[PB_MIME_REWRITTEN], t.by_result[PB_MIME_UNCHANGED],
           t.by_result[PB_MIME_REFUSED], t.by_result[PB_MIME_MALFORMED], t.by_result[PB_MIME_ERROR]);
}
END_TEST

/* Cut and scribbled-on corpus messages: never a crash, and still either
 * not rewritten or a valid rewrite (fixed seed, so a failure repeats). */
static void mangle(GRand *rnd, GString *m)
{
    if (g_rand_int_range(rnd, 0, 3) == 0)
        g_string_truncate(m, (gsize)g_rand_int_range(rnd, 0, (gint32)m->len + 1));
    for (int k = g_rand_int_range(rnd, 0, 8); k > 0 && m->len > 0; k--)
        m->str[g_rand_int_range(rnd, 0, (gint32)m->len)] =
            "-\r\n=\"<>Aa0 \x80\xff;:"[g_rand_int_range(rnd, 0, 15)];
}

START_TEST(test_corpus_mangled)
{
    struct tally t = { 0 };
    GRand *rnd = g_rand_new_with_seed(20240601);
    char *html = read_rendered("html/postmark-templates/invoice/content.html", 1);
    char *text = read_rendered("html/postmark-templates/invoice/content.txt", 0);
    ck_assert(html != NULL && text != NULL);
    for (int round = 0; round < 400; round++) {
        size_t body_off;
        GString *m = tu_alternative(text, html, round % 2 ? "base64" : "quoted-printable",
                                    "utf-8", round % 4 < 2, &body_off);
        mangle(rnd, m);
        char *name = g_strdup_printf("mangled invoice, round %d", round);
        check_message(&t, name, m);
        g_free(name);
        g_string_free(m, TRUE);
    }
    printf("corpus mangled: %u messages: %u rewritten, %u unchanged, %u refused, "
           "%u malformed, %u errors\n", t.messages, t.by_result[PB_MIME_REWRITTEN],
           t.by_result[PB_MIME_UNCHANGED], t.by_result[PB_MIME_REFUSED],
           t.by_result[PB_MIME_MALFORMED], t.by_result[PB_MIME_ERROR]);
    ck_assert_uint_eq(t.by_result[PB_MIME_ERROR], 0);
    g_free(html);
    g_free(text);
    g_rand_free(rnd);
}
END_TEST

static Suite *corpus_suite(void)
{
    Suite *s = suite_create("corpus");
    TCase *tc = tcase_create("rewrite");
    tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_corpus_mime);
    tcase_add_test(tc, test_corpus_html);
    tcase_add_test(tc, test_corpus_mangled);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return mime_run_suite(corpus_suite());
}
