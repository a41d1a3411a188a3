/*
 * workflow_webhook_conf.c - a workflow's webhook step in postbeacon.conf
 * (workflows.h): webhook = "https://crm.example.com/hooks/postbeacon";
 * secret = "crm"; timeout = 10;. The URL is checked with libcurl's own
 * parser (http and https only); the secret is the name of a "webhook"
 * line of the key file (docs/tokens.md), never the secret itself, which
 * stays out of postbeacon.conf. Whether the key file has it is checked
 * once the key file is read (pb_workflows_check_secrets: the scorer's
 * start, SIGHUP and -n, postbeacon config check), with the step's file
 * and line.
 */
#include <stdio.h>
#include <string.h>
#include <glib.h>
#include "keys.h"
#include "rule_ctx.h"
#include "webhook.h"
#include "workflows.h"

#define TIMEOUT_DEFAULT 10      /* seconds */
#define TIMEOUT_MAX 300

/* Where the step's secret is written, as messages begin: "FILE:LINE: where: secret". */
static char *secret_place(struct pb_rule_ctx *r)
{
    const config_setting_t *s = config_setting_get_member(r->group, "secret");
    struct pb_conf_ctx c = *r->conf;
    char buf[512];

    c.err = buf;
    c.errlen = sizeof(buf);
    pb_conf_fail_at(&c, s ? s : r->group, "%s: secret", r->where);
    return g_strdup(buf);
}

static int read_timeout(struct pb_rule_ctx *r, int *out)
{
    double v = TIMEOUT_DEFAULT;
    int present;

    if (pb_rc_get_number(r, "timeout", &v, &present) != 0)
        return -1;
    if (present && (v != (int)v || v < 1 || v > TIMEOUT_MAX))
        return pb_rc_fail_member(r, "timeout", "%s", "whole seconds, 1..300 (the whole "
                                 "request; default 10)");
    *out = (int)v;
    return 0;
}

int pb_wf_read_webhook(struct pb_rule_ctx *r, struct pb_wf_step *st, const char *url)
{
    const char *secret;
    char why[300];

    if (pb_rc_get_str(r, "secret", &secret) != 0)
        return -1;
    if (url == NULL) {
        const char *extra = secret ? "secret" : "timeout";
        if (secret != NULL || config_setting_get_member(r->group, "timeout") != NULL)
            return pb_rc_fail_member(r, extra, "%s", "goes with webhook = \"https://...\"; only");
        return 0;
    }
    if (pb_webhook_url_check(url, why, sizeof(why)) != 0)
        return pb_rc_fail_member(r, "webhook", "%s (write e.g. webhook = "
                                 "\"https://crm.example.com/hooks/postbeacon\";)", why);
    if (secret == NULL)
        return pb_rc_fail_member(r, NULL, "%s", "a webhook is signed: add secret = \"crm\"; "
                                 "naming a \"webhook crm <hex>\" line of the key file "
                                 "(postbeacon keys rotate --webhook crm)");
    if (!pb_keys_webhook_name_ok(secret))
        return pb_rc_fail_member(r, "secret", "\"%s\" is not a webhook secret name (1 to 64 "
                                 "of a-z, 0-9, _ and -; the secret itself goes into the key "
                                 "file)", secret);
    st->kind = PB_WF_WEBHOOK;
    st->webhook = g_new0(struct pb_wf_webhook, 1);
    st->webhook->url = g_strdup(url);
    st->webhook->secret = g_strdup(secret);
    st->webhook->secret_at = secret_place(r);
    return read_timeout(r, &st->webhook->timeout_s);
}

void pb_wf_webhook_free(struct pb_wf_webhook *h)
{
    if (h == NULL)
        return;
    g_free(h->url);
    g_free(h->secret);
    g_free(h->secret_at);
    g_free(h);
}

int pb_workflows_have_webhooks(const struct pb_workflows *w)
{
    for (size_t i = 0; i < w->count; i++)
        for (size_t j = 0; j < w->items[i].nsteps; j++)
            if (w->items[i].steps[j].webhook != NULL)
                return 1;
    return 0;
}

int pb_workflows_check_secrets(const struct pb_workflows *w, const struct pb_keyring *ring,
                               const char *keys_file, const char *why, char *err,
                               size_t errlen)
{
    for (size_t i = 0; i < w->count; i++)
        for (size_t j = 0; j < w->items[i].nsteps; j++) {
            const struct pb_wf_webhook *h = w->items[i].steps[j].webhook;
            if (h == NULL || (ring != NULL && pb_keys_webhook(ring, h->secret) != NULL))
                continue;
            if (ring == NULL)
                snprintf(err, errlen, "%s: the key file is needed for the signature: %s",
                         h->secret_at, why ? why : keys_file);
            else
                snprintf(err, errlen, "%s: no \"webhook %s\" line in %s (add one: postbeacon "
                         "keys rotate --webhook %s; then give its secret to the receiver)",
                         h->secret_at, h->secret, keys_file, h->secret);
            return -1;
        }
    return 0;
}
