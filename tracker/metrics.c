/*
 * metrics.c - counters and the Prometheus text format (metrics.h).
 *
 * Every metric is written with # HELP and # TYPE lines; label values are
 * escaped as the format requires (lib/prom.c), although every label here
 * comes from a fixed set or a checked bots file class name.
 */
#include <stdio.h>
#include <string.h>
#include "http.h"
#include "metrics.h"
#include "prom.h"

#define CODES_MAX 16            /* distinct status codes kept per route */
#define UNSAFE_URL (PB_TOKEN_TOO_LONG + 1)  /* index after the token statuses */

struct code_count {
    int code;
    unsigned long count;
};

static struct {
    struct code_count requests[PB_ROUTE_COUNT][CODES_MAX];
    unsigned long invalid[PB_ROUTE_COUNT][UNSAFE_URL + 1];
    unsigned long events[3][2];         /* [pb_ev_type][pb_ev_class] */
    GHashTable *machine_reasons;        /* char * -> unsigned long * */
    unsigned long reloads_ok, reloads_failed;
    unsigned long custom_accepted;
    unsigned long custom_refused[PB_CEV_REFUSAL_COUNT];
} m;

static const char *const route_names[PB_ROUTE_COUNT] = {
    "click", "open", "unsubscribe", "event", "healthz", "metrics", "other"
};
/* Label values for enum pb_cev_refusal. */
static const char *const refusal_labels[PB_CEV_REFUSAL_COUNT] = {
    "no_secret", "signature_missing", "bad_timestamp", "expired", "signature_malformed",
    "bad_signature", "replayed", "invalid", "too_large", "method", "unavailable"
};
/* Label values for the token statuses (pb_token_status order). */
static const char *const status_labels[UNSAFE_URL + 1] = {
    "ok", "malformed", "bad_version", "unknown_key", "bad_mac", "wrong_kind", "too_long",
    "unsafe_url"
};
static const char *const type_names[3] = { "click", "open", "unsubscribe" };
static const char *const class_names[2] = { "human", "machine" };

const char *pb_route_name(enum pb_route route)
{
    return route < PB_ROUTE_COUNT ? route_names[route] : "other";
}

void pb_metrics_request(enum pb_route route, int status)
{
    struct code_count *codes;

    if (route >= PB_ROUTE_COUNT)
        route = PB_ROUTE_OTHER;
    codes = m.requests[route];
    for (int i = 0; i < CODES_MAX; i++) {
        if (codes[i].code == status || codes[i].code == 0) {
            codes[i].code = status;
            codes[i].count++;
            return;
        }
    }
    codes[CODES_MAX - 1].count++;       /* more codes than ever expected: lumped */
}

void pb_metrics_invalid_token(enum pb_route route, enum pb_token_status st)
{
    if (route < PB_ROUTE_COUNT && st <= PB_TOKEN_TOO_LONG)
        m.invalid[route][st]++;
}

void pb_metrics_unsafe_url(enum pb_route route)
{
    if (route < PB_ROUTE_COUNT)
        m.invalid[route][UNSAFE_URL]++;
}

void pb_metrics_event(enum pb_ev_type type, enum pb_ev_class cls, const char *reason)
{
    unsigned long *count;

    if ((int)type < 0 || type > PB_EV_UNSUBSCRIBE || (int)cls < 0 || cls > PB_CLASS_MACHINE)
        return;
    m.events[type][cls]++;
    if (cls != PB_CLASS_MACHINE || reason == NULL)
        return;
    if (m.machine_reasons == NULL)
        m.machine_reasons = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    count = g_hash_table_lookup(m.machine_reasons, reason);
    if (count == NULL) {
        count = g_new0(unsigned long, 1);
        g_hash_table_insert(m.machine_reasons, g_strdup(reason), count);
    }
    (*count)++;
}

void pb_metrics_reload(int ok)
{
    if (ok)
        m.reloads_ok++;
    else
        m.reloads_failed++;
}

void pb_metrics_custom_accepted(unsigned n)
{
    m.custom_accepted += n;
}

void pb_metrics_custom_refused(enum pb_cev_refusal why)
{
    if ((int)why >= 0 && why < PB_CEV_REFUSAL_COUNT)
        m.custom_refused[why]++;
}

void pb_metrics_reset(void)
{
    if (m.machine_reasons != NULL)
        g_hash_table_destroy(m.machine_reasons);
    memset(&m, 0, sizeof(m));
}

/* ---- rendering ----------------------------------------------------------- */

static void render_requests(GString *out)
{
    pb_prom_header(out, "postbeacon_tracker_requests_total", "counter",
                   "HTTP requests answered, by route and status code.");
    for (int r = 0; r < PB_ROUTE_COUNT; r++)
        for (int i = 0; i < CODES_MAX && m.requests[r][i].code != 0; i++)
            g_string_append_printf(out, "postbeacon_tracker_requests_total{route=\"%s\","
                                   "code=\"%d\"} %lu\n", route_names[r],
                                   m.requests[r][i].code, m.requests[r][i].count);
    pb_prom_header(out, "postbeacon_tracker_invalid_tokens_total", "counter",
                   "Tokens that did not verify, by route and reason (malformed, bad_version, "
                   "unknown_key, bad_mac, wrong_kind, too_long; unsafe_url: a click token that "
                   "verifies but signs no plain http(s) URL).");
    for (int r = 0; r < PB_ROUTE_COUNT; r++)
        for (int st = 1; st <= UNSAFE_URL; st++)
            if (m.invalid[r][st] != 0)
                g_string_append_printf(out, "postbeacon_tracker_invalid_tokens_total{route="
                                       "\"%s\",reason=\"%s\"} %lu\n", route_names[r],
                                       status_labels[st],
                                       m.invalid[r][st]);
}

static void render_events(GString *out)
{
    GHashTableIter iter;
    gpointer key, value;

    pb_prom_header(out, "postbeacon_tracker_events_total", "counter",
                   "Events recorded, by type and class.");
    for (int t = 0; t < 3; t++)
        for (int c = 0; c < 2; c++)
            g_string_append_printf(out, "postbeacon_tracker_events_total{type=\"%s\","
                                   "class=\"%s\"} %lu\n", type_names[t], class_names[c],
                                   m.events[t][c]);
    pb_prom_header(out, "postbeacon_tracker_machine_events_total", "counter",
                   "Events classified as machine traffic, by reason (bots file class, head, "
                   "honeypot, too-fast).");
    if (m.machine_reasons == NULL)
        return;
    g_hash_table_iter_init(&iter, m.machine_reasons);
    while (g_hash_table_iter_next(&iter, &key, &value)) {
        const char *labels[] = { "reason", key, NULL };
        pb_prom_sample(out, "postbeacon_tracker_machine_events_total", labels,
                       *(unsigned long *)value);
    }
}

static void render_custom(GString *out, const struct pb_store_stats *st)
{
    pb_prom_counter(out, "postbeacon_tracker_custom_events_accepted_total",
                    "Custom events accepted by POST /e (answered 202, queued and journaled).",
                    m.custom_accepted);
    pb_prom_counter(out, "postbeacon_tracker_custom_events_duplicate_total",
                    "Custom events Redis skipped because their id was written before (a retry).",
                    st->duplicates);
    pb_prom_header(out, "postbeacon_tracker_custom_requests_refused_total", "counter",
                   "POST /e requests refused, by reason (401: signature_missing, "
                   "bad_timestamp, expired, signature_malformed, bad_signature, replayed, "
                   "no_secret; 400: invalid; 413: too_large; 405: method; 503: unavailable).");
    for (int i = 0; i < PB_CEV_REFUSAL_COUNT; i++)
        g_string_append_printf(out, "postbeacon_tracker_custom_requests_refused_total{reason="
                               "\"%s\"} %lu\n", refusal_labels[i], m.custom_refused[i]);
}

static void render_store(GString *out, const struct pb_store_stats *st)
{
    pb_prom_counter(out, "postbeacon_tracker_events_written_total",
                    "Events written to Redis (directly or from the journal), each once.",
                    st->written);
    pb_prom_counter(out, "postbeacon_tracker_events_journaled_total",
                    "Events appended to the local journal (each event, before its answer leaves).",
                    st->journaled);
    pb_prom_counter(out, "postbeacon_tracker_events_replayed_total",
                    "Journaled events replayed into Redis.", st->replayed);
    pb_prom_counter(out, "postbeacon_tracker_journal_errors_total",
                    "Events the journal could not take (e.g. disk full): kept in memory only.",
                    st->journal_errors);
    pb_prom_counter(out, "postbeacon_tracker_events_dropped_total",
                    "Events lost: refused by Redis as broken, or no room in memory nor journal.",
                    st->dropped);
    pb_prom_gauge(out, "postbeacon_tracker_queue_events",
                  "Events waiting in memory for Redis.", (long long)st->queued);
    pb_prom_gauge(out, "postbeacon_tracker_journal_backlog",
                  "Events in the journal that Redis has not confirmed yet.",
                  (long long)st->backlog);
    pb_prom_gauge(out, "postbeacon_tracker_events_pending",
                  "Events answered and not yet in Redis (in memory, the journal or both).",
                  (long long)st->pending);
    pb_prom_gauge(out, "postbeacon_tracker_redis_up",
                  "1 if the Redis connection is up, else 0.", st->redis_up ? 1 : 0);
    pb_prom_gauge(out, "postbeacon_tracker_redis_refusing_writes",
                  "1 while Redis refuses writes for now (out of memory, read-only, busy...).",
                  st->refusing ? 1 : 0);
}

static void render_connections(GString *out, const struct pb_http_stats *http)
{
    pb_prom_gauge(out, "postbeacon_tracker_connections_open",
                  "HTTP connections open (public and admin).", (long long)http->open);
    pb_prom_gauge(out, "postbeacon_tracker_connections_max",
                  "Public HTTP connections allowed at once (tracker.max_connections, or the "
                  "open-file limit).",
                  (long long)http->max_connections);
    pb_prom_counter(out, "postbeacon_tracker_connections_accepted_total",
                    "HTTP connections accepted.", http->accepted);
    pb_prom_counter(out, "postbeacon_tracker_connections_refused_total",
                    "HTTP connections refused with 503 because the limit was reached.",
                    http->refused);
    pb_prom_counter(out, "postbeacon_tracker_connections_timed_out_total",
                    "HTTP connections closed because a request or an answer did not finish "
                    "within tracker.timeout.", http->timed_out);
    pb_prom_counter(out, "postbeacon_tracker_tls_failures_total",
                    "TLS connections closed on a protocol error: failed handshakes (not TLS, "
                    "or TLS older than 1.2) and bad records.", http->tls_failed);
}

void pb_metrics_render(GString *out, const struct pb_store_stats *stats,
                       const struct pb_http_stats *http)
{
    render_requests(out);
    render_events(out);
    pb_prom_header(out, "postbeacon_tracker_reloads_total", "counter",
                   "Configuration reloads (SIGHUP), by result.");
    g_string_append_printf(out, "postbeacon_tracker_reloads_total{result=\"ok\"} %lu\n"
                           "postbeacon_tracker_reloads_total{result=\"failed\"} %lu\n",
                           m.reloads_ok, m.reloads_failed);
    render_connections(out, http);
    render_store(out, stats);
    render_custom(out, stats);
}
