/*
 * template_tool.c - render a template for one contact and submit it, for
 * the shell tests (tests/submit_postfix.sh) until the CLI's `send` exists:
 *
 *   template-tool [-s host:port | -c command] [-o file] TEMPLATE TO CAMPAIGN [name=value...]
 *
 * name=value pairs are the contact's fields (first_name=Max, attr:plan=pro)
 * or the caller's (unsubscribe_url=..., event:cart_url=...): names that
 * template.h lists as the caller's go to extra, the rest to contact.
 * -o writes the rendered message to file instead of submitting it.
 * Prints "ok <message-id>" or "<temporary|permanent>: <why>"; exits 0,
 * 75 (temporary) or 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include "submit.h"
#include "template.h"

static int is_extra(const char *name)
{
    static const char *const extra[] = { "unsubscribe_url", "score", "grade", "segment",
                                         "history", NULL };
    for (const char *const *e = extra; *e; e++)
        if (strcmp(name, *e) == 0)
            return 1;
    return strncmp(name, "event:", 6) == 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: template-tool [-s host:port | -c command] [-o file] TEMPLATE TO "
            "CAMPAIGN [name=value...]\n");
    return 2;
}

static int submit(const char *server, const char *command, const struct pb_template *t,
                  const char *to, const GString *msg, const char *id)
{
    char why[1024];
    enum pb_submit_status st = server
        ? pb_submit_smtp(server, 30000, pb_tpl_from_address(t), to, msg->str, msg->len, why,
                         sizeof(why))
        : pb_submit_command(command, 30000, pb_tpl_from_address(t), to, msg->str, msg->len,
                            why, sizeof(why));
    if (st == PB_SUBMIT_OK) {
        printf("ok %s\n", id);
        return 0;
    }
    printf("%s: %s\n", pb_submit_status_name(st), why);
    return st == PB_SUBMIT_TEMPORARY ? 75 : 1;
}

int main(int argc, char **argv)
{
    const char *server = NULL, *command = "/usr/sbin/sendmail -t -i -f ${sender}", *out = NULL;
    char err[1024];
    int c;

    while ((c = getopt(argc, argv, "s:c:o:")) != -1) {
        if (c == 's')
            server = optarg;
        else if (c == 'c')
            command = optarg;
        else if (c == 'o')
            out = optarg;
        else
            return usage();
    }
    if (argc - optind < 3)
        return usage();
    struct pb_template *t = pb_tpl_load(argv[optind], NULL, err, sizeof(err));
    if (t == NULL) {
        fprintf(stderr, "template-tool: %s\n", err);
        return 1;
    }
    int n = argc - optind - 3, nc = 0, nx = 0;
    struct pb_tpl_value *contact = g_new0(struct pb_tpl_value, n + 1);
    struct pb_tpl_value *extra = g_new0(struct pb_tpl_value, n + 1);
    for (int i = 0; i < n; i++) {
        char *arg = argv[optind + 3 + i], *eq = strchr(arg, '=');
        if (eq == NULL)
            return usage();
        *eq = '\0';
        struct pb_tpl_value v = { arg, eq + 1 };
        if (is_extra(arg))
            extra[nx++] = v;
        else
            contact[nc++] = v;
    }
    struct pb_tpl_input in = { .to = argv[optind + 1], .contact = contact, .ncontact = nc,
                               .extra = extra, .nextra = nx, .campaign = argv[optind + 2] };
    struct pb_tpl_info info;
    GString *msg = g_string_new(NULL);
    int rc = 1;
    if (pb_tpl_render(t, &in, msg, &info, err, sizeof(err)) != 0)
        fprintf(stderr, "template-tool: %s\n", err);
    else if (out != NULL)
        rc = g_file_set_contents(out, msg->str, (gssize)msg->len, NULL) ? 0 : 1;
    else
        rc = submit(server, command, t, in.to, msg, info.message_id);
    g_string_free(msg, TRUE);
    g_free(contact);
    g_free(extra);
    pb_tpl_free(t);
    return rc;
}
