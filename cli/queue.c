/*
 * queue.c - postbeacon queue list: the follow-up steps the scorer will
 * run, soonest first (<p>wf:due: member <contact>|<workflow>|<step>,
 * score the due ms), or with --uncertain the steps found in flight after
 * a crash (<p>wf:uncertain, score the ms found), with why from
 * <p>wf:log. The queue is read a page at a time (zpage.h) and each page's
 * contacts with pipelined HMGETs (address, state, tries), so a queue of
 * millions is listed in little memory; --contact reads that contact's
 * steps from its hash instead of the whole queue. Times are shown in the
 * operator's time zone (TZ) and as ISO 8601 UTC. Also the group's
 * dispatch (cancel and resolve: queue_edit.c).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "events.h"
#include "queue.h"
#include "table.h"
#include "zpage.h"

#define PAGE 1000               /* queue members a round trip */
#define LOG_WINDOW_MS 600000LL  /* the uncertain entry is looked for this near the time found */
#define LOG_COUNT 1000          /* log entries read per uncertain step */

static const struct pb_cli_opts list_opts = {
    .usage = "queue list [--uncertain] [--workflow W] [--contact EMAIL] [--limit N] "
             "[--json|--csv]",
    .help = "Lists the follow-up steps the scorer will run, soonest first: due time (local\n"
            "and UTC), workflow, step, state, tries so far, contact id and address.\n"
            "  --uncertain      the steps found in flight after a crash instead, oldest\n"
            "                   first, with why (postbeacon queue resolve settles them)\n"
            "  --workflow W     only workflow W's steps\n"
            "  --contact EMAIL  only that contact's steps\n"
            "  --limit N        the first N only (default all)\n",
    .shortopts = "uw:e:n:",
    .longopts = (const struct option[]){ { "uncertain", no_argument, NULL, 'u' },
                                         { "workflow", required_argument, NULL, 'w' },
                                         { "contact", required_argument, NULL, 'e' },
                                         { "limit", required_argument, NULL, 'n' },
                                         { NULL, 0, NULL, 0 } },
    .formats = 1,
};

static const char *const due_cols[] = {
    "due", "due_utc", "workflow", "step", "state", "tries", "contact", "email"
};
static const int due_widths[] = { 23, 20, 12, 10, 8, 5, 16, 0 };
static const char *const unc_cols[] = {
    "found", "found_utc", "workflow", "step", "contact", "email", "reason"
};
static const int unc_widths[] = { 23, 20, 12, 10, 16, 24, 0 };

struct qlist {
    struct pb_cli *cli;
    int uncertain;
    const char *workflow;       /* only this one, or NULL */
    const char *email;          /* --contact, or NULL */
    char cid[17];               /* its id */
    long long limit;            /* 0 = all */
    char *key;                  /* <p>wf:due or <p>wf:uncertain */
    struct pb_rows out;
};

/* One queued step: its identity and its time (due or found). */
struct qitem {
    char *member;
    long long ms;
};

static void qitem_free(gpointer p)
{
    struct qitem *it = p;

    g_free(it->member);
    g_free(it);
}

/* ms as local time with its zone and as ISO 8601 UTC. */
static void times(long long ms, char local[40], char utc[32])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    localtime_r(&t, &tm);
    strftime(local, 40, "%Y-%m-%d %H:%M:%S %Z", &tm);
    gmtime_r(&t, &tm);
    strftime(utc, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The reason of the newest uncertain entry of member in an XRANGE reply, or NULL. */
static const char *uncertain_reason(const redisReply *log, char **parts)
{
    const char *why = NULL;

    for (size_t i = 0; log->type == REDIS_REPLY_ARRAY && i < log->elements; i++) {
        const redisReply *f = log->element[i]->element[1];
        const char *c = pb_cli_field(f, "contact"), *w = pb_cli_field(f, "workflow");
        const char *s = pb_cli_field(f, "step"), *st = pb_cli_field(f, "status");
        if (c && w && s && st && strcmp(st, "uncertain") == 0 && strcmp(c, parts[0]) == 0
            && strcmp(w, parts[1]) == 0 && strcmp(s, parts[2]) == 0)
            why = pb_cli_field(f, "reason");
    }
    return why;
}

/* One row from the contact's HMGET (email, state, tries) and, for an
 * uncertain step, the log around the time it was found. */
static void add_row(struct qlist *q, const struct qitem *it, const redisReply *h,
                    const redisReply *log)
{
    char **p = g_strsplit(it->member, "|", 3), local[40], utc[32];
    const char *email = h->element[0]->str, *state = h->element[1]->str;
    const char *tries = h->element[2]->str ? h->element[2]->str : "0";

    times(it->ms, local, utc);
    if (q->uncertain) {
        const char *row[7] = { local, utc, p[1], p[2], p[0], email, uncertain_reason(log, p) };
        pb_rows_add(&q->out, row);
    } else {
        const char *row[8] = { local, utc, p[1], p[2], state, tries, p[0], email };
        pb_rows_add(&q->out, row);
    }
    g_strfreev(p);
}

/* Print the rows of items: their contacts' fields (and log) pipelined. */
static int emit(struct qlist *q, GPtrArray *items)
{
    redisContext *c = q->cli->redis;
    const char *prefix = q->cli->conf.redis.prefix;
    int rc = 0;

    for (guint i = 0; i < items->len; i++) {
        const struct qitem *it = items->pdata[i];
        char **p = g_strsplit(it->member, "|", 3);
        redisAppendCommand(c, "HMGET %s%s%s email wfs:%s|%s wft:%s|%s", prefix, PB_KEY_CONTACT,
                           p[0], p[1], p[2], p[1], p[2]);
        if (q->uncertain)
            redisAppendCommand(c, "XRANGE %s%s %lld %lld COUNT %d", prefix, PB_KEY_WF_LOG,
                               it->ms - LOG_WINDOW_MS, it->ms + LOG_WINDOW_MS, LOG_COUNT);
        g_strfreev(p);
    }
    for (guint i = 0; i < items->len; i++) {
        redisReply *h = pb_cli_reply(q->cli, "reading the contacts of the queue");
        redisReply *log = q->uncertain ? pb_cli_reply(q->cli, "reading the follow-up log") : NULL;
        if (h == NULL || (q->uncertain && log == NULL))
            rc = -1;            /* the other replies are still read */
        else if (rc == 0)
            add_row(q, items->pdata[i], h, log);
        if (h)
            freeReplyObject(h);
        if (log)
            freeReplyObject(log);
    }
    return rc;
}

/* Whether member (<contact>|<workflow>|<step>) is one to list. */
static int wanted(const struct qlist *q, const char *member)
{
    const char *bar = strchr(member, '|'), *bar2 = bar ? strchr(bar + 1, '|') : NULL;

    if (bar2 == NULL)
        return 0;
    return q->workflow == NULL || ((size_t)(bar2 - bar - 1) == strlen(q->workflow)
                                   && strncmp(bar + 1, q->workflow, strlen(q->workflow)) == 0);
}

static int room(const struct qlist *q)
{
    return q->limit == 0 || q->out.count < q->limit;
}

/* The whole queue, a page at a time. */
static int list_queue(struct qlist *q)
{
    struct pb_zpage page;
    redisReply *r;
    size_t n;
    int rc = 0;

    pb_zpage_init(&page, q->cli, q->key, 0);
    do {
        GPtrArray *items = g_ptr_array_new_with_free_func(qitem_free);
        if ((r = pb_zpage_next(&page, PAGE, "reading the follow-up queue")) == NULL) {
            g_ptr_array_free(items, TRUE);
            return -1;
        }
        n = r->elements / 2;
        for (size_t i = 0; i < n && (q->limit == 0 || q->out.count + items->len < q->limit); i++)
            if (wanted(q, r->element[2 * i]->str)) {
                struct qitem *it = g_new0(struct qitem, 1);
                it->member = g_strdup(r->element[2 * i]->str);
                it->ms = (long long)strtod(r->element[2 * i + 1]->str, NULL);
                g_ptr_array_add(items, it);
            }
        freeReplyObject(r);
        rc = emit(q, items);
        g_ptr_array_free(items, TRUE);
    } while (rc == 0 && n == PAGE && room(q));
    return rc;
}

static gint by_time(gconstpointer a, gconstpointer b)
{
    const struct qitem *x = *(const struct qitem *const *)a, *y = *(const struct qitem *const *)b;

    return x->ms < y->ms ? -1 : x->ms > y->ms ? 1 : strcmp(x->member, y->member);
}

/* One contact's steps: its hash's wfs: fields in the state the list
 * shows, with their times from the queue. */
static int list_contact(struct qlist *q)
{
    const char *want = q->uncertain ? "uncertain" : "queued";
    char *ck = pb_cli_key(q->cli, PB_KEY_CONTACT, q->cid);
    redisReply *h = pb_cli_cmd(q->cli, "reading the contact", "HGETALL %s", ck);
    GPtrArray *items = g_ptr_array_new_with_free_func(qitem_free), *names = g_ptr_array_new();
    int rc = h ? 0 : -1;

    for (size_t i = 0; h && i + 1 < h->elements; i += 2)
        if (g_str_has_prefix(h->element[i]->str, "wfs:")
            && strcmp(h->element[i + 1]->str, want) == 0) {
            char *m = g_strdup_printf("%s|%s", q->cid, h->element[i]->str + 4);
            if (wanted(q, m)) {
                redisAppendCommand(q->cli->redis, "ZSCORE %s %s", q->key, m);
                g_ptr_array_add(names, m);
            } else
                g_free(m);
        }
    for (guint i = 0; i < names->len; i++) {
        redisReply *z = pb_cli_reply(q->cli, "reading the follow-up queue");
        struct qitem *it;
        if (z == NULL || z->type != REDIS_REPLY_STRING) {
            rc = z ? rc : -1;
            g_free(names->pdata[i]);
        } else {
            it = g_new0(struct qitem, 1);
            it->member = names->pdata[i];
            it->ms = (long long)strtod(z->str, NULL);
            g_ptr_array_add(items, it);
        }
        if (z)
            freeReplyObject(z);
    }
    g_ptr_array_sort(items, by_time);
    if (q->limit > 0 && items->len > q->limit)
        g_ptr_array_set_size(items, (guint)q->limit);
    if (rc == 0)
        rc = emit(q, items);
    g_ptr_array_free(names, TRUE);
    g_ptr_array_free(items, TRUE);
    if (h)
        freeReplyObject(h);
    g_free(ck);
    return rc;
}

/* "2 of 10 follow-up steps queued" after a text listing. */
static int total(struct qlist *q)
{
    redisReply *r = pb_cli_cmd(q->cli, "reading the queue's size", "ZCARD %s", q->key);
    const char *what = q->uncertain ? "uncertain" : "queued";

    if (r == NULL)
        return -1;
    if (r->integer != q->out.count)
        printf("%ld of %lld follow-up steps %s\n", q->out.count, r->integer, what);
    else
        printf("%ld follow-up step%s %s\n", q->out.count, q->out.count == 1 ? "" : "s", what);
    freeReplyObject(r);
    return 0;
}

static int list(struct pb_cli *cli, struct qlist *q)
{
    struct pb_rules rules = { 0 };
    char addr[300];
    int rc;

    if (pb_queue_rules(cli, &rules, q->workflow, NULL, NULL, NULL, NULL) != 0)
        return PB_EXIT_ERROR;
    pb_rules_free(&rules);
    if ((q->email && pb_cli_find_contact(cli, q->email, q->cid, addr) != 0)
        || pb_cli_redis(cli) == NULL)
        return PB_EXIT_ERROR;
    q->cli = cli;
    q->key = pb_cli_key(cli, q->uncertain ? PB_KEY_WF_UNCERTAIN : PB_KEY_WF_DUE, NULL);
    q->out = (struct pb_rows){ .fp = stdout, .format = cli->format,
                               .ncols = q->uncertain ? 7 : 8,
                               .cols = q->uncertain ? unc_cols : due_cols,
                               .widths = q->uncertain ? unc_widths : due_widths };
    pb_rows_start(&q->out);
    rc = q->email ? list_contact(q) : list_queue(q);
    pb_rows_end(&q->out);
    if (rc == 0 && cli->format == PB_OUT_TEXT)
        rc = total(q);
    if (fflush(stdout) != 0) {
        pb_cli_error("cannot write to standard output: %m");
        rc = -1;
    }
    g_free(q->key);
    return rc == 0 ? PB_EXIT_OK : PB_EXIT_ERROR;
}

int pb_queue_list(struct pb_cli *cli, int argc, char **argv)
{
    struct qlist q = { 0 };
    int help = 0, c;
    char *end;

    while ((c = pb_cli_getopt(cli, &list_opts, argc, argv, &help)) != -1) {
        if (c == '?')
            return PB_EXIT_USAGE;
        if (c == 'u')
            q.uncertain = 1;
        else if (c == 'w')
            q.workflow = optarg;
        else if (c == 'e')
            q.email = optarg;
        else if ((q.limit = strtoll(optarg, &end, 10)) <= 0 || *end != '\0')
            return pb_cli_usage_error(&list_opts, "--limit: a number of steps, 1 or more");
    }
    if (help) {
        pb_cli_print_help(&list_opts, stdout);
        return PB_EXIT_OK;
    }
    if (optind < argc)
        return pb_cli_usage_error(&list_opts, "unexpected argument %s", argv[optind]);
    return list(cli, &q);
}

/* "configured: a, b" or "scorer.workflows defines none". */
static char *configured(const struct pb_rules *rules, const struct pb_workflow *w)
{
    GString *s = g_string_new(NULL);

    if (w != NULL)
        for (size_t i = 0; i < w->nsteps; i++)
            g_string_append_printf(s, "%s%s", i ? ", " : "its steps: ", w->steps[i].name);
    else
        for (size_t i = 0; i < rules->wf.count; i++)
            g_string_append_printf(s, "%s%s", i ? ", " : "configured: ", rules->wf.items[i].name);
    if (s->len == 0)
        g_string_assign(s, "scorer.workflows defines none");
    return g_string_free(s, FALSE);
}

int pb_queue_rules(struct pb_cli *cli, struct pb_rules *rules, const char *wf, const char *step,
                   const struct pb_workflow **w, const struct pb_wf_step **st, size_t *index)
{
    const struct pb_workflow *found;
    size_t i;
    int year;
    char *names;

    if (pb_cli_rules(cli, rules) != 0)
        return -1;
    if (wf == NULL)
        return 0;
    /* a date workflow's occurrence is named <workflow>@<year> in the queue */
    if ((found = pb_wf_instance_find(&rules->wf, wf, &year)) == NULL) {
        names = configured(rules, NULL);
        pb_cli_error("no workflow \"%s\" in %s (%s)", wf, cli->conf_path, names);
    } else if (step != NULL && pb_wf_step_find(found, step, &i) == NULL) {
        names = configured(rules, found);
        pb_cli_error("workflow %s has no step \"%s\" (%s)", wf, step, names);
    } else {
        if (w != NULL)
            *w = found;
        if (step != NULL) {
            *st = pb_wf_step_find(found, step, &i);
            *index = i;
        }
        return 0;
    }
    g_free(names);
    pb_rules_free(rules);
    return -1;
}

int pb_cmd_queue(struct pb_cli *cli, int argc, char **argv)
{
    static const struct pb_cli_cmd cmds[] = {
        { "list", "the follow-up steps due (or --uncertain ones)", pb_queue_list },
        { "cancel", "take a contact's queued steps out, for good", pb_queue_cancel },
        { "resolve", "settle an uncertain step: --sent or --not-sent", pb_queue_resolve },
        { NULL, NULL, NULL },
    };
    return pb_cli_dispatch(cli, "queue", cmds, argc, argv);
}
