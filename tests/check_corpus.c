/*
 * check_corpus.c - property test of pb_mime_rewrite() over real mail: a
 * corpus folder (PB_CORPUS_DIR, or the in-tree copy tests/data/corpus)
 * walked in name order, into its subfolders. A file ending in .html is an
 * HTML body (and a .txt file of the same name beside it its text part);
 * every other file is a message.
 *
 * Each message is rewritten as it is and with CRLF line breaks (as
 * Postfix hands it to a milter); each HTML body wrapped in each transfer
 * encoding, LF and CRLF; and wrapped bodies (or messages, when there is
 * no HTML) cut short or scribbled on. The result must be either "not
 * rewritten" (nothing in out_body, a reason given; the caller sends the
 * original) or a valid rewrite: GMime parses it into the same parts, every
 * tracked link verifies and leads to a URL of the original (plus UTM), and
 * every byte outside the text parts is unchanged. A wrapped HTML body
 * must be rewritten. Nothing here knows the corpus's file names or how
 * many there are.
 *
 * A failing message does not stop the walk: each one is printed as
 * "FAIL <name>: <why>" and the test fails with the list of them all
 * (tests/corpus_dir.sh checks that). Prints a summary; set
 * CORPUS_VERBOSE=1 for one line per message.
 */
#include <stdarg.h>
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
    unsigned failed;
    GString *failures;          /* "name: why" lines */
};

static const char *const result_names[] = {
    "rewritten", "unchanged", "refused", "malformed", "error"
};

/* ---- the corpus folder ------------------------------------------------------ */

struct entry {
    char *path, *name;          /* name: the path under the corpus folder */
    char *text_path;            /* an HTML body's .txt twin, or NULL */
};

struct corpus {
    const char *dir;
    GPtrArray *messages, *html; /* struct entry *, in name order */
};

static const char *corpus_dir(void)
{
    const char *dir = getenv("PB_CORPUS_DIR");

    return dir != NULL && *dir ? dir : tu_corpus_path("");
}

static void entry_free(gpointer p)
{
    struct entry *e = p;

    g_free(e->path);
    g_free(e->name);
    g_free(e->text_path);
    g_free(e);
}

static struct entry *entry_new(const char *path, const char *name)
{
    struct entry *e = g_new0(struct entry, 1);

    e->path = g_strdup(path);
    e->name = g_strdup(name);
    return e;
}

/* The .html file whose text twin path is, or NULL (g_free it). */
static char *html_twin(const char *path)
{
    char *html;

    if (!g_str_has_suffix(path, ".txt"))
        return NULL;
    html = g_strdup_printf("%.*s.html", (int)(strlen(path) - 4), path);
    if (!g_file_test(html, G_FILE_TEST_EXISTS)) {
        g_free(html);
        return NULL;
    }
    return html;
}

/* A GPtrArray of strings holds pointers to them: compare what they point at. */
static gint by_name(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static GPtrArray *sorted_names(const char *dir)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    const char *entry;

    ck_assert_msg(d != NULL, "cannot open %s", dir);
    while ((entry = g_dir_read_name(d)) != NULL)
        g_ptr_array_add(names, g_strdup(entry));
    g_dir_close(d);
    g_ptr_array_sort(names, by_name);
    return names;
}

static void add_file(struct corpus *c, const char *path, const char *name)
{
    char *twin = html_twin(path);
    struct entry *e;

    if (twin != NULL) {         /* the text part of an HTML body */
        g_free(twin);
        return;
    }
    e = entry_new(path, name);
    if (g_str_has_suffix(path, ".html")) {
        e->text_path = g_strdup_printf("%.*s.txt", (int)(strlen(path) - 5), path);
        if (!g_file_test(e->text_path, G_FILE_TEST_EXISTS)) {
            g_free(e->text_path);
            e->text_path = NULL;
        }
        g_ptr_array_add(c->html, e);
    } else {
        g_ptr_array_add(c->messages, e);    /* also what cannot be read: it fails */
    }
}

static void walk_dir(struct corpus *c, const char *dir, const char *rel)
{
    GPtrArray *names = sorted_names(dir);

    for (guint i = 0; i < names->len; i++) {
        const char *n = g_ptr_array_index(names, i);
        char *path = g_build_filename(dir, n, NULL);
        char *sub = *rel ? g_strdup_printf("%s/%s", rel, n) : g_strdup(n);

        if (g_file_test(path, G_FILE_TEST_IS_DIR))
            walk_dir(c, path, sub);
        else
            add_file(c, path, sub);
        g_free(path);
        g_free(sub);
    }
    g_ptr_array_free(names, TRUE);
}

static void corpus_open(struct corpus *c)
{
    c->dir = corpus_dir();
    c->messages = g_ptr_array_new_with_free_func(entry_free);
    c->html = g_ptr_array_new_with_free_func(entry_free);
    walk_dir(c, c->dir, "");
    ck_assert_msg(c->messages->len + c->html->len > 0, "no files in %s", c->dir);
}

static void corpus_close(struct corpus *c)
{
    g_ptr_array_free(c->messages, TRUE);
    g_ptr_array_free(c->html, TRUE);
}

/* ---- checking one message ----------------------------------------------------- */

static void failure(struct tally *t, const char *name, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

static void failure(struct tally *t, const char *name, const char *fmt, ...)
{
    va_list ap;
    char *why;

    va_start(ap, fmt);
    why = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    printf("FAIL %s: %s\n", name, why);
    fflush(stdout);
    g_string_append_printf(t->failures, "%s: %s\n", name, why);
    t->failed++;
    g_free(why);
}

/* The rewrite of msg is valid: the tracked links, or -1 with why. */
static int rewrite_problem(const GString *msg, size_t body_off, const GString *body,
                           char *why, size_t whylen)
{
    struct tu_outline *a;
    GString *new_msg = g_string_new_len(msg->str, (gssize)body_off);
    int tracked, changed;

    g_string_append_len(new_msg, body->str, (gssize)body->len);
    tracked = mime_compare_parts(msg, new_msg, &a, why, whylen);
    g_string_free(new_msg, TRUE);
    if (tracked < 0)
        return -1;
    changed = tu_same_outside_text(msg->str + body_off, msg->len - body_off, body->str,
                                   body->len, (const char *const *)a->boundaries->pdata,
                                   a->top_text, why, whylen);
    tu_outline_free(a);
    if (changed == 0)
        snprintf(why, whylen, "rewritten, nothing changed");
    return changed > 0 ? tracked : -1;
}

/* Rewrite msg and check the result; a failure is counted and printed.
 * The result (PB_MIME_ERROR + 1 when it is not one of the results). */
static int check_message(struct tally *t, const char *name, const GString *msg)
{
    struct pb_link_ctx ctx;
    char why[256], problem[600];
    size_t body_off = tu_body_offset(msg->str, msg->len);
    GString *body = g_string_new(NULL);
    enum pb_mime_result rc;
    int tracked = 0;

    tu_link_ctx(&ctx, &tu_conf, &tu_ring);
    rc = pb_mime_rewrite(&ctx, msg->str, msg->len, body_off, body, why, sizeof(why));
    t->messages++;
    if (rc > PB_MIME_ERROR) {
        failure(t, name, "result %d", rc);
        g_string_free(body, TRUE);
        return PB_MIME_ERROR + 1;
    }
    t->by_result[rc]++;
    if (rc == PB_MIME_ERROR)
        failure(t, name, "rewrite error: %s", why);
    else if (rc == PB_MIME_REWRITTEN)
        tracked = rewrite_problem(msg, body_off, body, problem, sizeof(problem));
    else if (body->len != 0 || ctx.links_tracked != 0)
        failure(t, name, "not rewritten (%s), but output left behind", result_names[rc]);
    else if (why[0] == '\0')
        failure(t, name, "not rewritten (%s), no reason given", result_names[rc]);
    if (tracked < 0)
        failure(t, name, "invalid rewrite: %s", problem);
    if (getenv("CORPUS_VERBOSE"))
        printf("%-9s %3d links  %s  %s\n", result_names[rc], tracked, name, why);
    g_string_free(body, TRUE);
    return rc;
}

/* The summary line; the test fails naming every failed message. */
static void finish(struct tally *t, const char *what, const char *dir)
{
    printf("%s (%s): %u files, %u messages: %u rewritten, %u unchanged, %u refused, "
           "%u malformed, %u errors; %u failed\n", what, dir, t->files, t->messages,
           t->by_result[PB_MIME_REWRITTEN], t->by_result[PB_MIME_UNCHANGED],
           t->by_result[PB_MIME_REFUSED], t->by_result[PB_MIME_MALFORMED],
           t->by_result[PB_MIME_ERROR], t->failed);
    fflush(stdout);
    ck_assert_msg(t->failed == 0, "%s: %u of %u messages failed:\n%s", what, t->failed,
                  t->messages, t->failures->str);
    g_string_free(t->failures, TRUE);
}

static GString *read_message(struct tally *t, const struct entry *e)
{
    size_t len;
    char *data = tu_read_file(e->path, &len);
    GString *msg;

    if (data == NULL) {
        failure(t, e->name, "cannot read %s", e->path);
        return NULL;
    }
    msg = g_string_new_len(data, (gssize)len);
    free(data);
    return msg;
}

/* ---- the tests ---------------------------------------------------------------- */

/* Every message as it is, and with CRLF line breaks if it has LF ones. */
START_TEST(test_corpus_messages)
{
    struct tally t = { .failures = g_string_new(NULL) };
    struct corpus c;

    corpus_open(&c);
    for (guint i = 0; i < c.messages->len; i++) {
        const struct entry *e = g_ptr_array_index(c.messages, i);
        GString *msg = read_message(&t, e), *crlf;
        char *crlf_name;

        t.files++;
        if (msg == NULL)
            continue;
        check_message(&t, e->name, msg);
        crlf = g_string_new_len(msg->str, (gssize)msg->len);
        tu_crlf(crlf, 0);
        if (crlf->len != msg->len) {
            crlf_name = g_strdup_printf("%s (CRLF)", e->name);
            check_message(&t, crlf_name, crlf);
            g_free(crlf_name);
        }
        g_string_free(crlf, TRUE);
        g_string_free(msg, TRUE);
    }
    finish(&t, "corpus messages", c.dir);
    corpus_close(&c);
}
END_TEST

/* A file rendered as a sending application renders a template (tu_render). */
static char *read_rendered(const char *path, int html)
{
    size_t len;
    char *raw = tu_read_file(path, &len), *out;

    if (raw == NULL)
        return NULL;
    out = tu_render(raw, html);
    free(raw);
    return out;
}

/* An HTML body and its text twin, rendered; 0, or -1 (a failure counted). */
static int read_body(struct tally *t, const struct entry *e, char **html, char **text)
{
    *html = read_rendered(e->path, 1);
    *text = e->text_path ? read_rendered(e->text_path, 0) : NULL;
    if (*html == NULL || (e->text_path && *text == NULL)) {
        failure(t, e->name, "cannot read %s", *html == NULL ? e->path : e->text_path);
        g_free(*html);
        g_free(*text);
        return -1;
    }
    return 0;
}

/* Every HTML body (with its text twin when there is one) in each transfer
 * encoding, LF and CRLF: always rewritten. */
START_TEST(test_corpus_html)
{
    static const char *const ctes[] = { "quoted-printable", "base64", "8bit", "7bit" };
    struct tally t = { .failures = g_string_new(NULL) };
    struct corpus c;

    corpus_open(&c);
    for (guint f = 0; f < c.html->len; f++) {
        const struct entry *e = g_ptr_array_index(c.html, f);
        char *html, *text;

        t.files++;
        if (read_body(&t, e, &html, &text) != 0)
            continue;
        for (size_t k = 0; k < G_N_ELEMENTS(ctes) * 2; k++) {
            size_t body_off;
            int crlf = (int)(k & 1);
            /* 7bit with UTF-8 bytes is mislabelled but must still work */
            GString *msg = tu_alternative(text, html, ctes[k / 2], "utf-8", crlf, &body_off);
            char *name = g_strdup_printf("%s [%s%s]", e->name, ctes[k / 2], crlf ? ", CRLF" : "");
            int rc = check_message(&t, name, msg);

            if (rc != PB_MIME_REWRITTEN && rc < PB_MIME_ERROR)
                failure(&t, name, "not rewritten (%s)", result_names[rc]);
            g_free(name);
            g_string_free(msg, TRUE);
        }
        g_free(html);
        g_free(text);
    }
    finish(&t, "corpus html", c.dir);
    corpus_close(&c);
}
END_TEST

/* Cut and scribbled-on messages: never a crash, and still either not
 * rewritten or a valid rewrite (fixed seed, so a failure repeats). */
static void mangle(GRand *rnd, GString *m)
{
    if (g_rand_int_range(rnd, 0, 3) == 0)
        g_string_truncate(m, (gsize)g_rand_int_range(rnd, 0, (gint32)m->len + 1));
    for (int k = g_rand_int_range(rnd, 0, 8); k > 0 && m->len > 0; k--)
        m->str[g_rand_int_range(rnd, 0, (gint32)m->len)] =
            "-\r\n=\"<>Aa0 \x80\xff;:"[g_rand_int_range(rnd, 0, 15)];
}

/* Round `round`'s message before mangling (*e: its file): the HTML
 * bodies wrapped in turn, or the messages in turn when there are none;
 * NULL (a failure counted) if its file cannot be read. */
static GString *mangle_source(struct tally *t, const struct corpus *c, int round,
                              const struct entry **e)
{
    const GPtrArray *from = c->html->len > 0 ? c->html : c->messages;
    char *html, *text;
    size_t body_off;
    GString *m;

    *e = g_ptr_array_index(from, (guint)round % from->len);
    if (from == c->messages)
        return read_message(t, *e);
    if (read_body(t, *e, &html, &text) != 0)
        return NULL;
    m = tu_alternative(text, html, round % 2 ? "base64" : "quoted-printable", "utf-8",
                       round % 4 < 2, &body_off);
    g_free(html);
    g_free(text);
    return m;
}

START_TEST(test_corpus_mangled)
{
    struct tally t = { .failures = g_string_new(NULL) };
    GRand *rnd = g_rand_new_with_seed(20240601);
    struct corpus c;

    corpus_open(&c);
    t.files = c.html->len > 0 ? c.html->len : c.messages->len;
    for (int round = 0; round < 400; round++) {
        const struct entry *e;
        GString *m = mangle_source(&t, &c, round, &e);
        char *name;

        if (m == NULL)
            continue;
        mangle(rnd, m);
        name = g_strdup_printf("%s, mangled (round %d)", e->name, round);
        check_message(&t, name, m);
        g_free(name);
        g_string_free(m, TRUE);
    }
    finish(&t, "corpus mangled", c.dir);
    g_rand_free(rnd);
    corpus_close(&c);
}
END_TEST

static Suite *corpus_suite(void)
{
    Suite *s = suite_create("corpus");
    TCase *tc = tcase_create("rewrite");

    tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_corpus_messages);
    tcase_add_test(tc, test_corpus_html);
    tcase_add_test(tc, test_corpus_mangled);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return mime_run_suite(corpus_suite());
}
