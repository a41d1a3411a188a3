/*
 * template_bench.c - how many messages per second one thread renders
 * from a loaded template (what the CLI's campaign send and the scorer's
 * send steps pay per contact before submission): load once, then render
 * N messages for N different contacts, each a complete GMime-encoded
 * message. See bench/README.md.
 *
 *   bench/template-bench [TEMPLATE [N]]   (default config/templates/welcome-1.de.eml, 100000)
 */
#include <stdio.h>
#include <stdlib.h>
#include <glib.h>
#include "template.h"

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "config/templates/welcome-1.de.eml";
    long n = argc > 2 ? atol(argv[2]) : 100000;
    char err[1024], to[64], name[32];
    struct pb_template *t = pb_tpl_load(path, NULL, err, sizeof(err));
    GString *out = g_string_new(NULL);
    size_t bytes = 0;

    if (t == NULL || n <= 0) {
        fprintf(stderr, "template-bench: %s\n", t == NULL ? err : "N must be positive");
        return 1;
    }
    gint64 t0 = g_get_monotonic_time();
    for (long i = 0; i < n; i++) {
        snprintf(to, sizeof(to), "contact%ld@example.org", i);
        snprintf(name, sizeof(name), "Jürgen %ld", i);
        struct pb_tpl_value v[] = { { "first_name", name }, { "last_name", "Müller" },
                                    { "city", "Köln" }, { "email", to } };
        struct pb_tpl_value x[] = { { "unsubscribe_url", "https://t.example.com/u/abc" } };
        struct pb_tpl_input in = { .to = to, .contact = v, .ncontact = 4, .extra = x,
                                   .nextra = 1, .campaign = "welcome:1" };
        if (pb_tpl_render(t, &in, out, NULL, err, sizeof(err)) != 0) {
            fprintf(stderr, "template-bench: %s\n", err);
            return 1;
        }
        bytes += out->len;
    }
    double s = (double)(g_get_monotonic_time() - t0) / 1e6;
    printf("template-bench: %s: %ld renders in %.2f s = %.0f renders/s, %.0f bytes each\n",
           path, n, s, (double)n / s, (double)bytes / (double)n);
    g_string_free(out, TRUE);
    pb_tpl_free(t);
    return 0;
}
