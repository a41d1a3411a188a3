/*
 * metrics.h - the tracker's counters and their Prometheus text rendering
 * for GET /metrics on the admin listener: requests by route and status,
 * rejected tokens, events by type and class, machine events by reason,
 * custom events accepted and requests refused by reason, reloads,
 * connections (open, accepted, refused over the limit, timed
 * out) from pb_http_stats(), and the store's numbers (written, journaled,
 * backlog, Redis up) from pb_store_stats(). Single-threaded, like the
 * whole tracker.
 */
#ifndef PB_TRACKER_METRICS_H
#define PB_TRACKER_METRICS_H

#include <glib.h>
#include "store.h"
#include "token.h"

enum pb_route {
    PB_ROUTE_CLICK, PB_ROUTE_OPEN, PB_ROUTE_UNSUBSCRIBE, PB_ROUTE_EVENT,
    PB_ROUTE_HEALTHZ, PB_ROUTE_METRICS, PB_ROUTE_OTHER,
    PB_ROUTE_COUNT
};

const char *pb_route_name(enum pb_route route);

void pb_metrics_request(enum pb_route route, int status);
void pb_metrics_invalid_token(enum pb_route route, enum pb_token_status st);
/* A click token that verified but signs a URL that may not be redirected to. */
void pb_metrics_unsafe_url(enum pb_route route);
/* reason: why it is machine (NULL for human); copied. */
void pb_metrics_event(enum pb_ev_type type, enum pb_ev_class cls, const char *reason);
void pb_metrics_reload(int ok);

/* Why a custom-event request (POST /e) was refused. */
enum pb_cev_refusal {
    PB_CEV_NO_SECRET, PB_CEV_SIG_MISSING, PB_CEV_BAD_TIMESTAMP, PB_CEV_EXPIRED,
    PB_CEV_SIG_MALFORMED, PB_CEV_SIG_BAD, PB_CEV_REPLAYED, PB_CEV_INVALID,
    PB_CEV_TOO_LARGE, PB_CEV_METHOD, PB_CEV_UNAVAILABLE,
    PB_CEV_REFUSAL_COUNT
};
/* n custom events taken (queued for the store). */
void pb_metrics_custom_accepted(unsigned n);
void pb_metrics_custom_refused(enum pb_cev_refusal why);

struct pb_http_stats;
/* Append every metric in the Prometheus text format (version 0.0.4). */
void pb_metrics_render(GString *out, const struct pb_store_stats *stats,
                       const struct pb_http_stats *http);
/* Forget everything (frees the reason table). */
void pb_metrics_reset(void);

#endif
