/*
 * report_load.c - which campaigns a report is about and what their hashes
 * say, without reading any stream: the campaign's kind (a postbeacon send
 * with its record <p>send:<c>, a follow-up <workflow>:<step> of
 * scorer.workflows, or mail of other software that only the milter
 * recorded), its A/B variants (campaigns <c>:<v>, counted together and
 * shown side by side), the counters of <p>campaign:<c> and
 * <p>campaign-links:<c> (docs/redis-schema.md), and for a period the
 * states of <p>send:<c>:to (HSCAN). Reads are pipelined per step.
 */
#include <stdlib.h>
#include <string.h>
#include "events.h"
#include "report.h"

#define SEND_KEY "send:"        /* + campaign: the send record (docs/redis-schema.md) */
#define SENDS_KEY "sends"       /* zset of campaigns with due send work */

/* ---- small tables and counts --------------------------------------------- */

GHashTable *pb_rep_count_table(void)
{
    return g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
}

void pb_rep_bump(GHashTable *table, const char *key, long long by)
{
    long long *v = g_hash_table_lookup(table, key);

    if (v == NULL) {
        v = g_new0(long long, 1);
        g_hash_table_insert(table, g_strdup(key), v);
    }
    *v += by;
}

static void link_clear(gpointer p)
{
    g_free(((struct pb_rep_link *)p)->url);
}

struct pb_rep_link *pb_rep_link_of(struct pb_rep_counts *c, int index)
{
    struct pb_rep_link l = { .index = index };

    if (c->links == NULL) {
        c->links = g_array_new(FALSE, TRUE, sizeof(struct pb_rep_link));
        g_array_set_clear_func(c->links, link_clear);
    }
    for (guint i = 0; i < c->links->len; i++)
        if (g_array_index(c->links, struct pb_rep_link, i).index == index)
            return &g_array_index(c->links, struct pb_rep_link, i);
    g_array_append_val(c->links, l);
    return &g_array_index(c->links, struct pb_rep_link, c->links->len - 1);
}

void pb_rep_counts_clear(struct pb_rep_counts *c)
{
    if (c->links)
        g_array_free(c->links, TRUE);
    memset(c, 0, sizeof(*c));
}

static long long min_time(long long a, long long b)
{
    return a == 0 ? b : b == 0 ? a : MIN(a, b);
}

void pb_rep_counts_add(struct pb_rep_counts *a, const struct pb_rep_counts *b)
{
    a->delivered += b->delivered;
    a->recipients += b->recipients;
    a->imputed += b->imputed;
    a->unsubscribes += b->unsubscribes;
    for (int k = 0; k < 2; k++) {
        a->opens[k] += b->opens[k];
        a->uopens[k] += b->uopens[k];
        a->clicks[k] += b->clicks[k];
        a->uclicks[k] += b->uclicks[k];
    }
    a->first_ms = min_time(a->first_ms, b->first_ms);
    a->last_ms = MAX(a->last_ms, b->last_ms);
    for (guint i = 0; b->links && i < b->links->len; i++) {
        const struct pb_rep_link *from = &g_array_index(b->links, struct pb_rep_link, i);
        struct pb_rep_link *to = pb_rep_link_of(a, from->index);
        if (to->url == NULL && from->url)
            to->url = g_strdup(from->url);
        for (int k = 0; k < 2; k++) {
            to->clicks[k] += from->clicks[k];
            to->uclicks[k] += from->uclicks[k];
        }
    }
}

/* ---- campaigns ----------------------------------------------------------- */

static void variant_free(gpointer p)
{
    struct pb_rep_variant *v = p;

    g_free(v->letter);
    g_free(v->campaign);
    g_free(v->subject);
    g_free(v->template);
    pb_rep_counts_clear(&v->c);
    g_free(v);
}

void pb_rep_campaign_free(struct pb_rep_campaign *c)
{
    if (c == NULL)
        return;
    g_free(c->name);
    g_free(c->workflow);
    g_free(c->step);
    if (c->send)
        g_hash_table_destroy(c->send);
    pb_rep_counts_clear(&c->base);
    pb_rep_counts_clear(&c->c);
    g_ptr_array_free(c->variants, TRUE);
    g_hash_table_destroy(c->seg_in);
    g_hash_table_destroy(c->seg_out);
    g_hash_table_destroy(c->followups);
    g_free(c);
}

const char *pb_rep_send_field(const struct pb_rep_campaign *c, const char *field)
{
    return c->send ? g_hash_table_lookup(c->send, field) : NULL;
}

static long long send_number(const struct pb_rep_campaign *c, const char *field)
{
    const char *v = pb_rep_send_field(c, field);

    return v ? strtoll(v, NULL, 10) : 0;
}

static struct pb_rep_variant *variant_add(struct pb_rep_campaign *c, const char *letter,
                                          const char *campaign)
{
    struct pb_rep_variant *v = g_new0(struct pb_rep_variant, 1);

    v->letter = g_strdup(letter);
    v->campaign = g_strdup(campaign);
    v->sent = (struct pb_rep_sent){ -1, -1, -1, -1 };
    g_ptr_array_add(c->variants, v);
    return v;
}

/* A send record's figures and variants (docs/redis-schema.md, "send"). */
static void from_send_record(struct pb_rep_campaign *c)
{
    char **letters = g_strsplit(pb_rep_send_field(c, "variants") ?: "", ",", -1);

    c->kind = PB_REP_SEND;
    c->sent = (struct pb_rep_sent){ send_number(c, "sent"), send_number(c, "suppressed"),
                                    send_number(c, "failed"), send_number(c, "uncertain") };
    for (char **l = letters; *l; l++) {
        char *f = g_strdup_printf("variant:%s:campaign", *l), *own = NULL;
        const char *camp = pb_rep_send_field(c, f);
        struct pb_rep_variant *v;
        if (**l == '\0') {
            g_free(f);
            continue;
        }
        if (camp == NULL)
            camp = own = g_strdup_printf("%s:%s", c->name, *l);
        v = variant_add(c, *l, camp);
        g_free(own);
        g_free(f);
        f = g_strdup_printf("variant:%s:subject", *l);
        v->subject = g_strdup(pb_rep_send_field(c, f));
        g_free(f);
        f = g_strdup_printf("variant:%s:template", *l);
        v->template = g_strdup(pb_rep_send_field(c, f));
        g_free(f);
        f = g_strdup_printf("variant:%s:sent", *l);
        v->sent.sent = send_number(c, f);
        g_free(f);
    }
    g_strfreev(letters);
}

/* The step of scorer.workflows that the first len bytes of name,
 * "<workflow>:<step>", name; NULL if none. */
static const struct pb_wf_step *step_of(const struct pb_report *r, const char *name, size_t len)
{
    const char *colon = memchr(name, ':', len);
    char *w, *st;
    const struct pb_workflow *found;
    const struct pb_wf_step *step = NULL;
    size_t index;

    if (colon == NULL || memchr(colon + 1, ':', len - (size_t)(colon + 1 - name)) != NULL)
        return NULL;
    w = g_strndup(name, (gsize)(colon - name));
    st = g_strndup(colon + 1, len - (size_t)(colon + 1 - name));
    if ((found = pb_workflow_find(&r->rules.wf, w)) != NULL)
        step = pb_wf_step_find(found, st, &index);
    g_free(w);
    g_free(st);
    return step;
}

/* "<workflow>:<step>:<variant>" of a step with that variant: the length of
 * its follow-up campaign "<workflow>:<step>", else 0. */
static size_t variant_of(const struct pb_report *r, const char *name)
{
    const char *last = strrchr(name, ':');
    const struct pb_wf_step *st = last ? step_of(r, name, (size_t)(last - name)) : NULL;

    for (size_t i = 0; st && i < st->nvariants; i++)
        if (strcmp(st->variants[i].name, last + 1) == 0)
            return (size_t)(last - name);
    return 0;
}

/* A follow-up campaign: its workflow and step, and the step's A/B
 * variants (campaigns <workflow>:<step>:<variant>, docs/scorer.md). */
static int follow_up(const struct pb_report *r, struct pb_rep_campaign *c)
{
    const struct pb_wf_step *st = step_of(r, c->name, strlen(c->name));
    const char *colon = strchr(c->name, ':');

    if (st == NULL)
        return 0;
    c->kind = PB_REP_FOLLOWUP;
    c->sent = (struct pb_rep_sent){ 0, -1, -1, -1 };   /* from <p>wf:log */
    c->workflow = g_strndup(c->name, (gsize)(colon - c->name));
    c->step = g_strdup(colon + 1);
    for (size_t i = 0; i < st->nvariants; i++) {
        char *camp = g_strdup_printf("%s:%s", c->name, st->variants[i].name);
        struct pb_rep_variant *v = variant_add(c, st->variants[i].name, camp);
        v->sent.sent = 0;
        v->template = g_strdup(st->variants[i].template_file ? st->variants[i].template_file
                                                             : st->template_file);
        g_free(camp);
    }
    return 1;
}

/* The campaign name with its send record's fields (an empty hash: none). */
static struct pb_rep_campaign *campaign_new(struct pb_report *r, const char *name,
                                            const redisReply *send)
{
    struct pb_rep_campaign *c = g_new0(struct pb_rep_campaign, 1);

    c->name = g_strdup(name);
    c->variants = g_ptr_array_new_with_free_func(variant_free);
    c->seg_in = pb_rep_count_table();
    c->seg_out = pb_rep_count_table();
    c->followups = pb_rep_count_table();
    c->sent = (struct pb_rep_sent){ -1, -1, -1, -1 };
    if (send && send->type == REDIS_REPLY_ARRAY && send->elements > 0) {
        c->send = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        for (size_t i = 0; i + 1 < send->elements; i += 2)
            g_hash_table_insert(c->send, g_strdup(send->element[i]->str),
                                g_strdup(send->element[i + 1]->str));
        from_send_record(c);
    } else if (!follow_up(r, c)) {
        c->kind = PB_REP_OTHER;
    }
    return c;
}

struct pb_rep_campaign *pb_rep_campaign_load(struct pb_report *r, const char *name)
{
    char *camps = pb_cli_key(r->cli, PB_KEY_CAMPAIGNS, NULL);
    char *send = pb_cli_key(r->cli, SEND_KEY, name);
    redisReply *member, *record;
    struct pb_rep_campaign *c = NULL;

    redisAppendCommand(r->cli->redis, "SISMEMBER %s %s", camps, name);
    redisAppendCommand(r->cli->redis, "HGETALL %s", send);
    member = pb_cli_reply(r->cli, "reading the campaigns");
    record = pb_cli_reply(r->cli, "reading the send record");
    if (member && record && member->integer == 0 && record->elements == 0
        && step_of(r, name, strlen(name)) == NULL)
        pb_cli_error("no campaign \"%s\": no mail of it was tracked (%s) and postbeacon "
                     "send has no record of it (%s); postbeacon report --all lists them",
                     name, camps, send);
    else if (member && record)
        c = campaign_new(r, name, record);
    if (member)
        freeReplyObject(member);
    if (record)
        freeReplyObject(record);
    g_free(camps);
    g_free(send);
    return c;
}

/* ---- every campaign -------------------------------------------------------- */

/* The names of a reply; a follow-up variant's campaign brings its
 * follow-up's (whose mails may all have gone out as variants). */
static void add_names(const struct pb_report *r, GHashTable *names, const redisReply *rep)
{
    for (size_t i = 0; rep && i < rep->elements; i++) {
        const char *name = rep->element[i]->str;
        size_t base = variant_of(r, name);
        g_hash_table_add(names, g_strdup(name));
        if (base > 0)
            g_hash_table_add(names, g_strndup(name, base));
    }
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char **pb_rep_sorted_keys(GHashTable *t, guint *n)
{
    char **k = (char **)g_hash_table_get_keys_as_array(t, n);

    qsort(k, *n, sizeof(char *), by_name);
    return k;
}

/* The names of <p>campaigns and <p>sends, sorted. */
static char **all_names(struct pb_report *r, guint *n)
{
    char *camps = pb_cli_key(r->cli, PB_KEY_CAMPAIGNS, NULL);
    char *sends = pb_cli_key(r->cli, SENDS_KEY, NULL);
    GHashTable *names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    redisReply *a, *b;
    char **out = NULL;

    redisAppendCommand(r->cli->redis, "SMEMBERS %s", camps);
    redisAppendCommand(r->cli->redis, "ZRANGE %s 0 -1", sends);
    a = pb_cli_reply(r->cli, "reading the campaigns");
    b = pb_cli_reply(r->cli, "reading the send jobs");
    if (a && b) {
        add_names(r, names, a);
        add_names(r, names, b);
        out = pb_rep_sorted_keys(names, n);
        g_hash_table_steal_all(names);      /* the array owns the names now */
    }
    if (a)
        freeReplyObject(a);
    if (b)
        freeReplyObject(b);
    g_hash_table_destroy(names);
    g_free(camps);
    g_free(sends);
    return out;
}

int pb_rep_campaigns_all(struct pb_report *r)
{
    guint n = 0;
    char **names = all_names(r, &n);
    GHashTable *folded = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    int rc = 0;

    if (names == NULL)
        return -1;
    for (guint i = 0; i < n; i++)
        redisAppendCommand(r->cli->redis, "HGETALL %s%s%s", r->cli->conf.redis.prefix,
                           SEND_KEY, names[i]);
    for (guint i = 0; i < n; i++) {
        redisReply *rec = pb_cli_reply(r->cli, "reading the send records");
        struct pb_rep_campaign *c;
        if (rec == NULL) {
            rc = -1;
            continue;
        }
        c = campaign_new(r, names[i], rec);
        for (guint v = 0; v < c->variants->len; v++) {
            const struct pb_rep_variant *var = c->variants->pdata[v];
            g_hash_table_add(folded, g_strdup(var->campaign));
        }
        g_ptr_array_add(r->campaigns, c);
        freeReplyObject(rec);
    }
    /* a variant is shown in its campaign, not as one of its own */
    for (guint i = r->campaigns->len; i-- > 0;) {
        struct pb_rep_campaign *c = r->campaigns->pdata[i];
        if (g_hash_table_contains(folded, c->name))
            g_ptr_array_remove_index(r->campaigns, i);
    }
    g_hash_table_destroy(folded);
    g_strfreev(names);
    return rc;
}

/* ---- the counters ---------------------------------------------------------- */

static void counts_from_hash(struct pb_rep_counts *c, const redisReply *h)
{
    static const struct { const char *field; size_t off; } fields[] = {
#define F(name, member) { name, offsetof(struct pb_rep_counts, member) }
        F("sent", delivered), F("recipients", recipients),
        F("opens_human", opens[0]), F("opens_machine", opens[1]),
        F("unique_opens_human", uopens[0]), F("unique_opens_machine", uopens[1]),
        F("imputed_opens", imputed),
        F("clicks_human", clicks[0]), F("clicks_machine", clicks[1]),
        F("unique_clicks_human", uclicks[0]), F("unique_clicks_machine", uclicks[1]),
        F("unsubscribes", unsubscribes),
        F("first_sent", first_ms), F("last_sent", last_ms),
#undef F
    };

    for (size_t i = 0; i + 1 < h->elements; i += 2)
        for (size_t f = 0; f < G_N_ELEMENTS(fields); f++)
            if (strcmp(h->element[i]->str, fields[f].field) == 0)
                *(long long *)((char *)c + fields[f].off) = strtoll(h->element[i + 1]->str,
                                                                    NULL, 10);
    c->first_ms *= 1000;                /* the milter keeps seconds */
    c->last_ms *= 1000;
}

/* "<i>:url", "<i>:clicks_human", ... of <p>campaign-links:<c>. */
static void links_from_hash(struct pb_rep_counts *c, const redisReply *h)
{
    static const char *const names[] = { "clicks_human", "clicks_machine",
                                         "unique_clicks_human", "unique_clicks_machine" };

    for (size_t i = 0; i + 1 < h->elements; i += 2) {
        char *end;
        long index = strtol(h->element[i]->str, &end, 10);
        struct pb_rep_link *l;
        if (end == h->element[i]->str || *end != ':' || index < 0 || index > 65535)
            continue;
        l = pb_rep_link_of(c, (int)index);
        if (strcmp(end + 1, "url") == 0) {
            g_free(l->url);
            l->url = g_strdup(h->element[i + 1]->str);
        }
        for (int k = 0; k < 4; k++)
            if (strcmp(end + 1, names[k]) == 0)
                (k < 2 ? l->clicks : l->uclicks)[k % 2] = strtoll(h->element[i + 1]->str,
                                                                  NULL, 10);
    }
}

/* Read the hash of one campaign name into c: appended before, in order. */
static int read_counts(struct pb_report *r, struct pb_rep_counts *c, int links)
{
    redisReply *h = pb_cli_reply(r->cli, "reading a campaign's counters");
    redisReply *l = links ? pb_cli_reply(r->cli, "reading a campaign's links") : NULL;
    int rc = h && (!links || l) ? 0 : -1;

    if (h)
        counts_from_hash(c, h);
    if (l)
        links_from_hash(c, l);
    if (h)
        freeReplyObject(h);
    if (l)
        freeReplyObject(l);
    return rc;
}

static void ask_counts(struct pb_report *r, const char *name, int links)
{
    const char *p = r->cli->conf.redis.prefix;

    redisAppendCommand(r->cli->redis, "HGETALL %s%s%s", p, PB_KEY_CAMPAIGN, name);
    if (links)
        redisAppendCommand(r->cli->redis, "HGETALL %s%s%s", p, PB_KEY_CAMPAIGN_LINKS, name);
}

int pb_rep_counters(struct pb_report *r, int links)
{
    int rc = 0;

    for (guint i = 0; i < r->campaigns->len; i++) {
        struct pb_rep_campaign *c = r->campaigns->pdata[i];
        ask_counts(r, c->name, links);
        for (guint v = 0; v < c->variants->len; v++)
            ask_counts(r, ((struct pb_rep_variant *)c->variants->pdata[v])->campaign, links);
    }
    for (guint i = 0; i < r->campaigns->len; i++) {
        struct pb_rep_campaign *c = r->campaigns->pdata[i];
        rc |= read_counts(r, &c->base, links);
        pb_rep_counts_add(&c->c, &c->base);
        for (guint v = 0; v < c->variants->len; v++) {
            struct pb_rep_variant *var = c->variants->pdata[v];
            rc |= read_counts(r, &var->c, links);
            pb_rep_counts_add(&c->c, &var->c);
        }
        c->start_ms = c->c.first_ms ? c->c.first_ms : send_number(c, "created_at");
    }
    return rc ? -1 : 0;
}

/* ---- the period's sends ------------------------------------------------------- */

/* "<state> <variant or -> <unix ms>" (docs/redis-schema.md, send:<c>:to). */
static void count_to(struct pb_report *r, struct pb_rep_campaign *c, const char *value)
{
    char **f = g_strsplit(value, " ", 3);
    long long at = g_strv_length(f) == 3 ? strtoll(f[2], NULL, 10) : -1;

    if (at >= r->since && at < pb_rep_until(r)) {
        c->sent.sent += strcmp(f[0], "sent") == 0;
        c->sent.suppressed += strcmp(f[0], "suppressed") == 0;
        c->sent.failed += strcmp(f[0], "failed") == 0;
        c->sent.uncertain += strcmp(f[0], "uncertain") == 0;
        for (guint v = 0; strcmp(f[0], "sent") == 0 && v < c->variants->len; v++) {
            struct pb_rep_variant *var = c->variants->pdata[v];
            var->sent.sent += strcmp(var->letter, f[1]) == 0;
        }
    }
    g_strfreev(f);
}

int pb_rep_sent_in_period(struct pb_report *r, struct pb_rep_campaign *c)
{
    char *key = g_strconcat(r->cli->conf.redis.prefix, SEND_KEY, c->name, ":to", NULL);
    char cursor[32] = "0";
    int rc = 0;

    c->sent = (struct pb_rep_sent){ 0, 0, 0, 0 };
    for (guint v = 0; v < c->variants->len; v++)
        ((struct pb_rep_variant *)c->variants->pdata[v])->sent.sent = 0;
    do {
        redisReply *rep = pb_cli_cmd(r->cli, "reading the send's recipients",
                                     "HSCAN %s %s COUNT 1000", key, cursor);
        if (rep == NULL) {
            rc = -1;
            break;
        }
        g_strlcpy(cursor, rep->element[0]->str, sizeof(cursor));
        for (size_t i = 0; i + 1 < rep->element[1]->elements; i += 2)
            count_to(r, c, rep->element[1]->element[i + 1]->str);
        freeReplyObject(rep);
    } while (strcmp(cursor, "0") != 0);
    g_free(key);
    return rc;
}
