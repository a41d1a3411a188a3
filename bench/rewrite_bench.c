/*
 * rewrite_bench.c - in-process benchmark of the whole content rewrite,
 * pb_mime_rewrite(): parse, decode, rewrite links and pixel, re-encode,
 * splice. The input is ~85 KB quoted-printable HTML newsletters built from
 * the corpus templates (each starts from one template and repeats the
 * bodies of all of them until the message reaches the size), CRLF line
 * breaks as Postfix hands them to a milter; or message files given on
 * the command line. Reports the median MB/s over several rounds, and for
 * context the floor: copying the message and letting GMime parse it.
 *
 * usage: rewrite-bench [-n ITERATIONS] [-r ROUNDS] [-s BYTES] [-L] [FILE.eml...]
 * See bench/README.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <gmime/gmime.h>
#include "testutil.h"
#include "testutil_mime.h"
#include "rewrite.h"

#define MAX_ROUNDS 101

static const char *const templates[] = {
    "comment-notification", "dunning", "example", "invoice", "password-reset",
    "password-reset-help", "receipt", "trial-expired", "trial-expiring", "user-invitation",
    "welcome",
};
#define N_TEMPLATES (sizeof(templates) / sizeof(templates[0]))

struct message {
    GString *data;
    size_t body_off;
};

struct corpus_html {
    char *head[N_TEMPLATES], *inner[N_TEMPLATES], *tail[N_TEMPLATES], *text[N_TEMPLATES];
};

static double clock_secs(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *read_rendered(const char *name, const char *file, int html)
{
    char rel[256];
    size_t len;
    snprintf(rel, sizeof(rel), "html/postmark-templates/%s/%s", name, file);
    char *raw = tu_read_file(tu_corpus_path(rel), &len);
    if (raw == NULL) {
        fprintf(stderr, "rewrite-bench: cannot read %s\n", tu_corpus_path(rel));
        exit(1);
    }
    char *out = tu_render(raw, html);
    free(raw);
    return out;
}

/* Split a template at <body ...> and </body>. */
static void split_template(const char *html, char **head, char **inner, char **tail)
{
    const char *body = strstr(html, "<body"), *open_end = body ? strchr(body, '>') : NULL;
    const char *close = g_strrstr(html, "</body>");
    if (open_end == NULL || close == NULL || close < open_end) {
        *head = g_strdup("<html><body>");
        *inner = g_strdup(html);
        *tail = g_strdup("</body></html>\n");
        return;
    }
    *head = g_strndup(html, (gsize)(open_end + 1 - html));
    *inner = g_strndup(open_end + 1, (gsize)(close - open_end - 1));
    *tail = g_strdup(close);
}

static void load_corpus(struct corpus_html *c)
{
    for (size_t i = 0; i < N_TEMPLATES; i++) {
        char *html = read_rendered(templates[i], "content.html", 1);
        split_template(html, &c->head[i], &c->inner[i], &c->tail[i]);
        c->text[i] = read_rendered(templates[i], "content.txt", 0);
        g_free(html);
    }
}

static void free_corpus(struct corpus_html *c)
{
    for (size_t i = 0; i < N_TEMPLATES; i++) {
        g_free(c->head[i]);
        g_free(c->inner[i]);
        g_free(c->tail[i]);
        g_free(c->text[i]);
    }
}

/* Newsletter number `first`: its template's frame around the bodies of
 * all templates in turn, until the message holds at least size bytes. */
static struct message build_newsletter(const struct corpus_html *c, size_t first, size_t size,
                                       int crlf)
{
    GString *html = g_string_new(c->head[first]), *text = g_string_new(NULL);
    struct message m = { NULL, 0 };
    for (size_t turn = 0;; turn++) {
        size_t t = (first + turn) % N_TEMPLATES;
        g_string_append(html, c->inner[t]);
        if (turn < 3)
            g_string_append(text, c->text[t]);
        GString *full = g_string_new(html->str);
        g_string_append(full, c->tail[first]);
        if (m.data)
            g_string_free(m.data, TRUE);
        m.data = tu_alternative(text->str, full->str, "quoted-printable", "utf-8", crlf,
                                &m.body_off);
        g_string_free(full, TRUE);
        if (m.data->len >= size)
            break;
    }
    g_string_free(html, TRUE);
    g_string_free(text, TRUE);
    return m;
}

static struct message load_message(const char *path, int crlf)
{
    size_t len;
    char *data = tu_read_file(path, &len);
    if (data == NULL) {
        fprintf(stderr, "rewrite-bench: cannot read %s\n", path);
        exit(1);
    }
    struct message m = { g_string_new_len(data, (gssize)len), 0 };
    free(data);
    if (crlf)
        tu_crlf(m.data, 0);
    m.body_off = tu_body_offset(m.data->str, m.data->len);
    return m;
}

/* ---- the two workloads ------------------------------------------------- */

struct bench {
    struct message *msgs;
    size_t count;
    const struct pb_conf *conf;
    const struct pb_keyring *ring;
    GString *out;
    GByteArray *copy;
};

static size_t run_rewrite(struct bench *b, size_t i, unsigned *links)
{
    const struct message *m = &b->msgs[i % b->count];
    struct pb_link_ctx ctx;
    char why[256];
    tu_link_ctx(&ctx, b->conf, b->ring);
    enum pb_mime_result rc = pb_mime_rewrite(&ctx, m->data->str, m->data->len, m->body_off,
                                             b->out, why, sizeof(why));
    if (rc != PB_MIME_REWRITTEN) {
        fprintf(stderr, "rewrite-bench: message %zu not rewritten (%d): %s\n",
                i % b->count, rc, why);
        exit(1);
    }
    if (links)
        *links = ctx.links_tracked;
    return m->data->len;
}

/* The floor: what pb_mime_rewrite does before any rewriting. */
static size_t run_parse(struct bench *b, size_t i, unsigned *unused)
{
    const struct message *m = &b->msgs[i % b->count];
    (void)unused;
    g_byte_array_set_size(b->copy, (guint)m->data->len);
    memcpy(b->copy->data, m->data->str, m->data->len);
    GMimeStream *stream = g_mime_stream_mem_new_with_byte_array(b->copy);
    g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(stream), FALSE);
    GMimeParser *parser = g_mime_parser_new_with_stream(stream);
    g_mime_parser_set_persist_stream(parser, TRUE);
    GMimeMessage *msg = g_mime_parser_construct_message(parser, NULL);
    if (msg == NULL) {
        fprintf(stderr, "rewrite-bench: GMime cannot parse message %zu\n", i % b->count);
        exit(1);
    }
    g_object_unref(msg);
    g_object_unref(parser);
    g_object_unref(stream);
    return m->data->len;
}

typedef size_t (*workload_fn)(struct bench *b, size_t i, unsigned *links);

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median MB/s over rounds of iterations, by the wall clock (min and max
 * too) and by the thread's CPU time, which other load disturbs less. */
static void measure(struct bench *b, workload_fn fn, const char *label, long iterations,
                    int rounds)
{
    double mbps[MAX_ROUNDS], cpu_mbps[MAX_ROUNDS], per_msg[MAX_ROUNDS];
    for (long i = 0; i < iterations / 10 + 1; i++)        /* warm-up */
        fn(b, (size_t)i, NULL);
    for (int r = 0; r < rounds; r++) {
        size_t bytes = 0;
        double t0 = clock_secs(CLOCK_MONOTONIC), c0 = clock_secs(CLOCK_THREAD_CPUTIME_ID);
        for (long i = 0; i < iterations; i++)
            bytes += fn(b, (size_t)i, NULL);
        double secs = clock_secs(CLOCK_MONOTONIC) - t0;
        double cpu = clock_secs(CLOCK_THREAD_CPUTIME_ID) - c0;
        mbps[r] = (double)bytes / secs / 1e6;
        cpu_mbps[r] = (double)bytes / cpu / 1e6;
        per_msg[r] = secs / (double)iterations * 1e3;
    }
    qsort(mbps, (size_t)rounds, sizeof(double), cmp_double);
    qsort(cpu_mbps, (size_t)rounds, sizeof(double), cmp_double);
    qsort(per_msg, (size_t)rounds, sizeof(double), cmp_double);
    printf("%-26s median %7.1f MB/s %6.3f ms/message (rounds %.1f-%.1f), CPU time %7.1f MB/s\n",
           label, mbps[rounds / 2], per_msg[rounds / 2], mbps[0], mbps[rounds - 1],
           cpu_mbps[rounds / 2]);
}

static void usage(void)
{
    fprintf(stderr, "usage: rewrite-bench [-n ITERATIONS] [-r ROUNDS] [-s BYTES] [-L] [FILE.eml...]\n"
            "  -n  messages per round (default 2000)\n"
            "  -r  rounds, the median is reported (default 7)\n"
            "  -s  size of the built newsletters (default 87000 bytes)\n"
            "  -L  keep LF line breaks (default: CRLF, as a milter gets them)\n"
            "  FILE.eml  messages to use instead of the built newsletters\n");
    exit(2);
}

int main(int argc, char **argv)
{
    long iterations = 2000;
    int rounds = 7, crlf = 1, opt;
    size_t size = 87000;
    while ((opt = getopt(argc, argv, "n:r:s:Lh")) != -1) {
        switch (opt) {
        case 'n': iterations = atol(optarg); break;
        case 'r': rounds = atoi(optarg); break;
        case 's': size = (size_t)atol(optarg); break;
        case 'L': crlf = 0; break;
        default: usage();
        }
    }
    if (iterations < 1 || rounds < 1 || rounds > MAX_ROUNDS)
        usage();

    struct pb_conf conf;
    struct pb_keyring ring;
    tu_mime_conf(&conf);
    tu_test_keyring(&ring);
    g_mime_init();

    struct bench b = { .conf = &conf, .ring = &ring, .out = g_string_sized_new(256 * 1024),
                       .copy = g_byte_array_new() };
    struct corpus_html corpus;
    if (optind < argc) {
        b.count = (size_t)(argc - optind);
        b.msgs = calloc(b.count, sizeof(*b.msgs));
        for (size_t i = 0; i < b.count; i++)
            b.msgs[i] = load_message(argv[optind + (int)i], crlf);
    } else {
        load_corpus(&corpus);
        b.count = N_TEMPLATES;
        b.msgs = calloc(b.count, sizeof(*b.msgs));
        for (size_t i = 0; i < b.count; i++)
            b.msgs[i] = build_newsletter(&corpus, i, size, crlf);
        free_corpus(&corpus);
    }

    size_t total = 0, links_total = 0;
    for (size_t i = 0; i < b.count; i++) {
        unsigned links = 0;
        total += run_rewrite(&b, i, &links);
        links_total += links;
    }
    printf("rewrite-bench: %zu messages, %.1f KB average, %s, %.1f tracked links each; "
           "%ld messages a round, %d rounds\n", b.count, (double)total / (double)b.count / 1024,
           crlf ? "CRLF" : "as given", (double)links_total / (double)b.count, iterations, rounds);
    measure(&b, run_rewrite, "pb_mime_rewrite", iterations, rounds);
    measure(&b, run_parse, "floor: copy + GMime parse", iterations, rounds);

    for (size_t i = 0; i < b.count; i++)
        g_string_free(b.msgs[i].data, TRUE);
    free(b.msgs);
    g_string_free(b.out, TRUE);
    g_byte_array_unref(b.copy);
    pb_conf_free(&conf);
    pb_keys_free(&ring);
    return 0;
}
