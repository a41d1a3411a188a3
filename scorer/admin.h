/*
 * admin.h - the scorer's admin listener (scorer.admin_listen): GET
 * /metrics (Prometheus text format) and GET /healthz, served by a thread
 * of its own on a libevent evhttp server, so that the scorer's blocking
 * loop (XREADGROUP BLOCK) is never disturbed. The scorer thread hands its
 * counters over as a snapshot under a mutex after each step; the admin
 * thread reads the gauges that live in Redis (the group's pending entries
 * and lag, segment sizes, the follow-up queues) with a connection of its
 * own when scraped (gauges.c). postbeacon-scorer(8), METRICS.
 */
#ifndef PB_SCORER_ADMIN_H
#define PB_SCORER_ADMIN_H

#include <glib.h>
#include "scorer.h"

/* The counters as the admin thread renders them. */
struct pb_sc_snapshot {
    struct pb_sc_stats stats;
    struct pb_sc_counts counts;
    char *const *types, *const *segnames;   /* the labels' names (the scorer's) */
    size_t ntypes, nsegnames;
    int connected;              /* the scorer's own Redis connection is up */
    const char *consumer, *group;
};

/* Every counter of snap, and the info and connected gauges
 * (metrics_render.c). */
void pb_sc_render_counters(const struct pb_sc_snapshot *snap, GString *out);

/* ---- gauges read from Redis on a scrape (gauges.c) ------------------------ */

struct pb_sc_gauges;
struct pb_sc_gauges *pb_sc_gauges_new(const struct pb_conf *conf);
void pb_sc_gauges_free(struct pb_sc_gauges *g);
/* Read them again unless they were read less than a second ago for the
 * same segments (NULL-terminated); each Redis call is bounded by
 * redis.timeout_ms. 1 if Redis answered, else 0. */
int pb_sc_gauges_update(struct pb_sc_gauges *g, char *const *segments);
void pb_sc_gauges_render(const struct pb_sc_gauges *g, GString *out);
/* Why Redis did not answer the last update ("" if it did). */
const char *pb_sc_gauges_error(const struct pb_sc_gauges *g);

/* ---- the listener and its thread (admin.c) ------------------------------- */

struct pb_sc_admin;
/* Open the listening sockets of addrs (before privileges are dropped).
 * *out NULL when addrs is empty. 0, or -1 with "cannot listen on ..." in
 * err. */
int pb_sc_admin_bind(const struct pb_strlist *addrs, struct pb_sc_admin **out, char *err,
                     size_t errlen);
/* Start serving (after detaching: threads do not survive a fork). conf
 * (the redis section, prefix and group) must outlive the admin. 0, or -1
 * with why in err. */
int pb_sc_admin_start(struct pb_sc_admin *a, const struct pb_conf *conf, const char *consumer,
                      char *err, size_t errlen);
/* The scorer thread's counters into the snapshot (a == NULL: nothing). */
void pb_sc_admin_publish(struct pb_sc_admin *a, const struct pb_scorer *s);
/* Stop the thread, close the sockets, free a (NULL: nothing). */
void pb_sc_admin_stop(struct pb_sc_admin *a);

#endif
