/*
 * conf.c - read postbeacon.conf with libconfig and check it against the
 * schema table (conf_schema.c) into a struct pb_conf (conf.h): defaults,
 * freeing, the file and its sections, and the error messages. Reading one
 * value of each type into its field is conf_value.c's job.
 *
 * Every mistake stops the load with one message that names the file, the
 * line, the setting and what would fix it:
 *   postbeacon.conf:12: milter.pixel_position: "middle" is not one of
 *   after-body, before-body-end, none
 * Unknown sections and settings are errors too (with a did-you-mean), so a
 * typo never silently falls back to a default.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <libconfig.h>
#include "conf.h"
#include "conf_schema.h"
#include "conf_value.h"

/* ---- defaults and freeing ---------------------------------------------- */

static void set_list(struct pb_strlist *list, const char *const *items)
{
    size_t n = 0;

    while (items[n] != NULL)
        n++;
    list->items = calloc(n + 1, sizeof(char *));
    list->count = 0;
    if (list->items == NULL)
        return;
    for (; list->count < n; list->count++)
        list->items[list->count] = strdup(items[list->count]);
}

static void tracker_defaults(struct pb_tracker_conf *t)
{
    static const char *const listen[] = { "127.0.0.1:8080", NULL };
    static const char *const admin_listen[] = { "127.0.0.1:9464", NULL };

    set_list(&t->listen, listen);
    set_list(&t->admin_listen, admin_listen);
    t->user = strdup("postbeacon");
    t->pidfile = strdup("/run/postbeacon/tracker.pid");
    t->journal = strdup("/var/lib/postbeacon/tracker.journal");
    t->queue_max = 10000;
    t->max_header_size = 16384;     /* the longest token is 11068 characters */
    t->max_body_size = 4096;
    t->timeout = 10;
    t->language = strdup("en");
    t->bots_file = strdup(SYSCONFDIR "/postbeacon/bots.conf");
    t->machine_click_seconds = 5;
    t->stream_max_age_days = 90;
    t->stream_maxlen = 1000000;
    t->events_max_body = 65536;
    t->events_window = 300;
}

static void scorer_defaults(struct pb_scorer_conf *s)
{
    s->user = strdup("postbeacon");
    s->pidfile = strdup("/run/postbeacon/scorer.pid");
    s->consumer_group = strdup("scorer");
    s->batch = 256;
    s->block_ms = 1000;
    s->claim_idle_ms = 60000;
    s->claim_interval_ms = 10000;
    s->half_life_days = 30;
    s->history_days = 90;
    s->history_max = 500;
    s->segment_log_maxlen = 1000000;
    s->workflow_tries = 5;
    s->workflow_retry_s = 300;
    s->workflow_cap_days = 7;
    s->quiet_from = s->quiet_to = -1;
    s->timezone = strdup("UTC");
}

void pb_conf_defaults(struct pb_conf *conf)
{
    static const char *const unsubscribe_patterns[] = { "unsubscribe", "optout", "opt-out",
                                                         NULL };

    memset(conf, 0, sizeof(*conf));
    conf->keys_file = strdup("/etc/postbeacon/keys");
    conf->log_facility = strdup("mail");

    conf->redis.host = strdup("127.0.0.1");
    conf->redis.port = 6379;
    conf->redis.timeout_ms = 200;
    conf->redis.prefix = strdup("pb:");
    conf->redis.journal = strdup("/var/lib/postbeacon/milter.journal");
    conf->redis.journal_fsync = PB_FSYNC_SECOND;
    conf->redis.queue_max = 10000;
    conf->redis.retention_days = 180;

    conf->utm.enabled = 1;
    conf->utm.source = strdup("newsletter");
    conf->utm.medium = strdup("email");
    conf->utm.content = PB_UTM_CONTENT_POSITION;

    conf->milter.socket = strdup("unix:/run/postbeacon/milter.sock");
    conf->milter.socket_mode = 0660;
    conf->milter.user = strdup("postbeacon");
    conf->milter.pidfile = strdup("/run/postbeacon/milter.pid");
    conf->milter.workers_timeout = 30;
    conf->milter.authenticated = 1;
    conf->milter.campaign_header = strdup("X-Campaign");
    conf->milter.strip_campaign_header = 1;
    conf->milter.skip_header = strdup("X-Postbeacon-Skip");
    conf->milter.default_campaign = strdup("newsletter");
    conf->milter.multi_recipient = PB_MULTI_CAMPAIGN;
    conf->milter.track_clicks = 1;
    conf->milter.track_opens = 1;
    conf->milter.list_unsubscribe = 1;
    conf->milter.pixel_position = PB_PIXEL_AFTER_BODY;
    conf->milter.notrack_attribute = strdup("data-pb-notrack");
    set_list(&conf->milter.unsubscribe_patterns, unsubscribe_patterns);
    conf->milter.max_message_size = 10 * 1024 * 1024;
    tracker_defaults(&conf->tracker);
    scorer_defaults(&conf->scorer);
    conf->submit.command = strdup("/usr/sbin/sendmail -t -i -f ${sender}");
    conf->submit.timeout = 60;
    conf->templates.dir = strdup(SYSCONFDIR "/postbeacon/templates");
    conf->report.language = strdup("en");
}

void pb_conf_free_list(struct pb_strlist *list)
{
    for (size_t i = 0; i < list->count; i++)
        free(list->items[i]);
    free(list->items);
    list->items = NULL;
    list->count = 0;
}

void pb_conf_free(struct pb_conf *conf)
{
    char **strings[] = {
        &conf->path, &conf->keys_file, &conf->tracking_url, &conf->log_facility,
        &conf->redis.host, &conf->redis.socket, &conf->redis.password, &conf->redis.prefix,
        &conf->redis.journal, &conf->utm.source, &conf->utm.medium, &conf->utm.term,
        &conf->milter.socket, &conf->milter.user, &conf->milter.group, &conf->milter.pidfile,
        &conf->milter.campaign_header, &conf->milter.skip_header,
        &conf->milter.default_campaign, &conf->milter.unsubscribe_mailto,
        &conf->milter.notrack_attribute, &conf->tracker.user, &conf->tracker.group,
        &conf->tracker.pidfile, &conf->tracker.journal, &conf->tracker.language,
        &conf->tracker.bots_file, &conf->tracker.tls_cert, &conf->tracker.tls_key,
        &conf->scorer.user, &conf->scorer.group, &conf->scorer.pidfile,
        &conf->scorer.consumer_group, &conf->scorer.consumer, &conf->scorer.timezone,
        &conf->submit.command, &conf->submit.smtp, &conf->submit.from, &conf->submit.reply_to,
        &conf->submit.envelope_sender, &conf->templates.dir,
        &conf->report.language, &conf->report.dormant,
    };

    for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
        free(*strings[i]);
    pb_conf_free_list(&conf->utm.domains);
    pb_conf_free_list(&conf->milter.daemon_names);
    pb_conf_free_list(&conf->milter.senders);
    pb_conf_free_list(&conf->milter.exclude_rcpt_domains);
    pb_conf_free_list(&conf->milter.unsubscribe_patterns);
    pb_conf_free_list(&conf->tracker.listen);
    pb_conf_free_list(&conf->tracker.admin_listen);
    pb_conf_free_list(&conf->tracker.tls_listen);
    pb_conf_free_list(&conf->tracker.events_listen);
    pb_conf_free_list(&conf->tracker.trusted_proxies);
    pb_conf_free_list(&conf->scorer.admin_listen);
    pb_conf_free_list(&conf->report.funnel);
    memset(conf, 0, sizeof(*conf));
}

int pb_strlist_has(const struct pb_strlist *list, const char *s)
{
    for (size_t i = 0; i < list->count; i++)
        if (strcasecmp(list->items[i], s) == 0)
            return 1;
    return 0;
}

/* ---- error messages ---------------------------------------------------- */

/* The name of `file` (the main file or an @include) as the user can find
 * it; returns the length written to ctx->err. */
static int put_file_name(struct pb_conf_ctx *ctx, const char *file)
{
    if (file == NULL || strcmp(file, ctx->path) == 0)
        return snprintf(ctx->err, ctx->errlen, "%s", ctx->path);
    if (file[0] == '/' || strcmp(ctx->dir, ".") == 0)
        return snprintf(ctx->err, ctx->errlen, "%s", file);
    return snprintf(ctx->err, ctx->errlen, "%s/%s", ctx->dir, file);
}

int pb_conf_fail_at(struct pb_conf_ctx *ctx, const config_setting_t *s, const char *fmt, ...)
{
    const char *file = s ? config_setting_source_file(s) : NULL;
    int line = s ? config_setting_source_line(s) : 0;
    int n;
    va_list ap;

    /* List items carry no line of their own in some libconfig versions. */
    while (s != NULL && line == 0 && (s = config_setting_parent(s)) != NULL) {
        line = config_setting_source_line(s);
        file = config_setting_source_file(s);
    }
    n = put_file_name(ctx, file);
    if (n >= 0 && (size_t)n < ctx->errlen && line > 0)
        n += snprintf(ctx->err + n, ctx->errlen - (size_t)n, ":%d: ", line);
    else if (n >= 0 && (size_t)n < ctx->errlen)
        n += snprintf(ctx->err + n, ctx->errlen - (size_t)n, ": ");
    if (n < 0 || (size_t)n >= ctx->errlen)
        return -1;
    va_start(ap, fmt);
    vsnprintf(ctx->err + n, ctx->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

const char *pb_conf_type_name(int type)
{
    switch (type) {
    case CONFIG_TYPE_GROUP:  return "a group { ... }";
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64:  return "an integer";
    case CONFIG_TYPE_FLOAT:  return "a number with a fraction";
    case CONFIG_TYPE_STRING: return "a string";
    case CONFIG_TYPE_BOOL:   return "true/false";
    case CONFIG_TYPE_ARRAY:  return "an array [ ... ]";
    case CONFIG_TYPE_LIST:   return "a list ( ... )";
    default:                 return "nothing";
    }
}

int pb_conf_wrong_type(struct pb_conf_ctx *ctx, const config_setting_t *s, const char *where,
                       const char *expected, const struct pb_conf_setting *set)
{
    return pb_conf_fail_at(ctx, s, "%s: expected %s, got %s (%s)", where, expected,
                           pb_conf_type_name(config_setting_type(s)), set->help);
}

/* Edit distance, for "did you mean"; names are short. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), prev[64], cur[64];

    if (la >= 63 || lb >= 63)
        return 64;
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, (lb + 1) * sizeof(size_t));
    }
    return prev[lb];
}

/* Fill `out` with "did you mean X?" or the list of candidates. */
static void suggest(const char *name, const char *const *candidates, size_t n,
                    const char *what, char *out, size_t outlen)
{
    size_t best = (size_t)-1, best_dist = strlen(name) < 5 ? 2 : 3, len;

    for (size_t i = 0; i < n; i++) {
        size_t d = edit_distance(name, candidates[i]);
        if (d < best_dist) {
            best = i;
            best_dist = d;
        }
    }
    if (best != (size_t)-1) {
        snprintf(out, outlen, " (did you mean %s?)", candidates[best]);
        return;
    }
    len = (size_t)snprintf(out, outlen, "; known %s:", what);
    for (size_t i = 0; i < n && len < outlen; i++)
        len += (size_t)snprintf(out + len, outlen - len, "%s %s", i ? "," : "", candidates[i]);
}

static int unknown_setting(struct pb_conf_ctx *ctx, const config_setting_t *s,
                           const struct pb_conf_section *sec)
{
    const char *names[64];
    char hint[1024], what[80];
    size_t n = 0;

    for (const struct pb_conf_setting *set = sec->settings; set->name && n < 64; set++)
        names[n++] = set->name;
    snprintf(what, sizeof(what), "settings in %s", sec->name);
    suggest(config_setting_name(s), names, n, what, hint, sizeof(hint));
    return pb_conf_fail_at(ctx, s, "unknown setting %s.%s%s", sec->name, config_setting_name(s),
                           hint);
}

static int unknown_section(struct pb_conf_ctx *ctx, const config_setting_t *s)
{
    const char *names[16];
    char hint[512];
    size_t n = 0;

    for (const struct pb_conf_section *sec = pb_conf_sections; sec->name && n < 16; sec++)
        names[n++] = sec->name;
    suggest(config_setting_name(s), names, n, "sections", hint, sizeof(hint));
    return pb_conf_fail_at(ctx, s, "unknown section %s%s", config_setting_name(s), hint);
}

/* ---- sections and the file --------------------------------------------- */

static int load_section(struct pb_conf_ctx *ctx, const config_setting_t *group,
                        const struct pb_conf_section *sec)
{
    int n = config_setting_length(group);
    char where[128];

    if (config_setting_type(group) != CONFIG_TYPE_GROUP)
        return pb_conf_fail_at(ctx, group, "%s: expected a group, got %s (write %s)", sec->name,
                               pb_conf_type_name(config_setting_type(group)), sec->help);
    if (sec->reserved)
        return 0;               /* read by a later program */
    for (int i = 0; i < n; i++) {
        const config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
        const struct pb_conf_setting *set = pb_conf_schema_setting(sec, config_setting_name(s));
        if (set == NULL)
            return unknown_setting(ctx, s, sec);
        snprintf(where, sizeof(where), "%s.%s", sec->name, set->name);
        if (pb_conf_apply_setting(ctx, s, where, set) != 0)
            return -1;
    }
    return 0;
}

static int check_required(struct pb_conf_ctx *ctx, const config_t *cfg)
{
    char where[128];

    for (const struct pb_conf_section *sec = pb_conf_sections; sec->name; sec++) {
        const config_setting_t *group = config_lookup(cfg, sec->name);
        for (const struct pb_conf_setting *set = sec->settings; set->name; set++) {
            if (!(set->flags & PB_CF_REQUIRED))
                continue;
            snprintf(where, sizeof(where), "%s.%s", sec->name, set->name);
            if (group == NULL)
                return pb_conf_fail_at(ctx, NULL, "%s is required (add %s)", where, sec->help);
            if (config_setting_get_member(group, set->name) == NULL)
                return pb_conf_fail_at(ctx, group, "%s is required (%s)", where, set->help);
        }
    }
    return 0;
}

static int load_tree(struct pb_conf_ctx *ctx, const config_t *cfg)
{
    const config_setting_t *root = config_root_setting(cfg);
    int n = config_setting_length(root);

    for (int i = 0; i < n; i++) {
        const config_setting_t *s = config_setting_get_elem(root, (unsigned)i);
        const struct pb_conf_section *sec = pb_conf_schema_section(config_setting_name(s));
        if (sec == NULL)
            return unknown_section(ctx, s);
        if (load_section(ctx, s, sec) != 0)
            return -1;
    }
    return check_required(ctx, cfg);
}

/* Parse the file; on a syntax error report where libconfig stopped. */
static int read_file(struct pb_conf_ctx *ctx, config_t *cfg)
{
    const char *slash = strrchr(ctx->path, '/');
    FILE *fp = fopen(ctx->path, "r");
    int ok, n;

    if (fp == NULL) {
        snprintf(ctx->err, ctx->errlen, "%s: cannot open: %s", ctx->path, strerror(errno));
        return -1;
    }
    if (slash == NULL)
        snprintf(ctx->dir, sizeof(ctx->dir), ".");
    else if (slash == ctx->path)
        snprintf(ctx->dir, sizeof(ctx->dir), "/");
    else
        snprintf(ctx->dir, sizeof(ctx->dir), "%.*s", (int)(slash - ctx->path), ctx->path);
    config_set_include_dir(cfg, ctx->dir);
    ok = config_read(cfg, fp);
    fclose(fp);
    if (ok)
        return 0;
    n = put_file_name(ctx, config_error_file(cfg));
    if (n < 0 || (size_t)n >= ctx->errlen)
        return -1;
    if (strcmp(config_error_text(cfg), "syntax error") == 0)
        snprintf(ctx->err + n, ctx->errlen - (size_t)n, ":%d: syntax error (check this line "
                 "and the one before; settings are written name = value;)",
                 config_error_line(cfg));
    else
        snprintf(ctx->err + n, ctx->errlen - (size_t)n, ":%d: syntax error: %s",
                 config_error_line(cfg), config_error_text(cfg));
    return -1;
}

int pb_conf_load(const char *path, struct pb_conf *conf, char *errbuf, size_t errlen)
{
    struct pb_conf_ctx ctx = { path, conf, errbuf, errlen, "." };
    config_t cfg;
    int rc;

    pb_conf_defaults(conf);
    conf->path = strdup(path);
    config_init(&cfg);
    rc = read_file(&ctx, &cfg);
    if (rc == 0)
        rc = load_tree(&ctx, &cfg);
    config_destroy(&cfg);
    if (rc != 0)
        pb_conf_free(conf);
    return rc;
}
