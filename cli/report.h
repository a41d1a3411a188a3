/*
 * report.h - what the files of `postbeacon report` share (docs/reports.md):
 * the figures of a campaign (counts, links, A/B variants, what it caused),
 * the funnel, the opens and clicks over time, how far the streams reach
 * back, and the steps: loading (report_load.c: campaign hashes and send
 * records), reading the event stream over a period (report_stream.c), the
 * segment and follow-up logs (report_logs.c), the funnel (report_funnel.c),
 * then printing as text or CSV (report_text.c), JSON (report_json.c) or
 * one HTML file (report_html.c, report_svg.c), with the labels and number
 * formats of report.language (report_fmt.c).
 */
#ifndef PB_CLI_REPORT_H
#define PB_CLI_REPORT_H

#include <stdio.h>
#include <glib.h>
#include "cli.h"
#include "rules.h"

#define PB_REP_HUMAN 0
#define PB_REP_MACHINE 1
#define PB_REP_PAGE 10000               /* stream entries read a round trip */
#define PB_REP_LATE_MS (7 * 86400000LL) /* events reaching Redis this much after they
                                         * happened are still found (PB_EVENT_ID_TTL) */
#define PB_REP_WINDOW_MS (30 * 86400000LL)  /* funnel changes, over-time charts without --since */

/* One tracked link of a campaign (index as in the token, 0-based). */
struct pb_rep_link {
    int index;
    char *url;
    long long clicks[2], uclicks[2];    /* [PB_REP_HUMAN], [PB_REP_MACHINE] */
};

/* What the milter and the tracker counted for a campaign (its hash, or
 * the stream's entries of a period): absent = 0. */
struct pb_rep_counts {
    long long delivered, recipients;    /* the milter's sent and recipients */
    long long opens[2], uopens[2], imputed;
    long long clicks[2], uclicks[2];
    long long unsubscribes;
    long long first_ms, last_ms;        /* first and last send, 0 = none */
    GArray *links;                      /* struct pb_rep_link, by index */
};

/* What a send record says about the mails handed to the MTA (the whole
 * send, or those of the period from <p>send:<c>:to); -1 = not known. */
struct pb_rep_sent {
    long long sent, suppressed, failed, uncertain;
};

struct pb_rep_variant {
    char *letter, *campaign, *subject, *template;
    struct pb_rep_sent sent;
    struct pb_rep_counts c;
};

enum pb_rep_kind {
    PB_REP_SEND,                /* postbeacon send: <p>send:<c> */
    PB_REP_FOLLOWUP,            /* <workflow>:<step> of scorer.workflows */
    PB_REP_OTHER                /* only the milter's record: mail of other software */
};

struct pb_rep_campaign {
    char *name;
    enum pb_rep_kind kind;
    GHashTable *send;           /* the send record's fields (kind PB_REP_SEND) */
    char *workflow, *step;      /* PB_REP_FOLLOWUP */
    struct pb_rep_sent sent;    /* handed to the MTA (postbeacon's own mail) */
    struct pb_rep_counts base;  /* the campaign name alone (the remainder of an A/B test) */
    struct pb_rep_counts c;     /* base and variants together: the campaign's figures */
    GPtrArray *variants;        /* struct pb_rep_variant * */
    GHashTable *seg_in, *seg_out;   /* segment -> long long *: entries and exits it caused */
    GHashTable *followups;      /* "<workflow>:<step>" -> long long *: follow-ups it led to */
    long long followups_total;
    long long start_ms;         /* where its events begin: first send or the job's creation */
};

/* How far back a stream still reaches. */
struct pb_rep_reach {
    int empty;
    long long first_ms;         /* its first entry's id time */
    long long removed;          /* entries trimmed or deleted so far (XINFO: entries-added
                                 * less length), -1 unknown (Redis before 7) */
};

/* Opens and clicks over time, human and machine, in equal buckets. */
struct pb_rep_series {
    long long from_ms, step_ms;
    int n;
    long long *opens[2], *clicks[2];
};

struct pb_rep_stage {
    char *name;                 /* NULL: all contacts */
    long long count;
    long long entered;          /* entries in the window (segment-log) */
    long long median_ms;        /* from the previous stage's entry (or creation), -1 none */
    long long measured;         /* contacts behind the median */
    int sampled;                /* measured on a random sample */
};

struct pb_rep_funnel {
    size_t n;                   /* stages, the first is all contacts */
    struct pb_rep_stage *stages;
    long long dormant, active;  /* -1: not configured */
    long long reactivated;      /* left report.dormant through an event in the window */
};

/* The whole report being made. */
struct pb_report {
    struct pb_cli *cli;
    struct pb_rules rules;
    const char *lang;           /* "en" or "de" */
    long long now;
    int has_since, has_until;
    long long since, until;     /* ms; until exclusive */
    int all;
    const char *html;           /* --html FILE, or NULL */
    char sep;                   /* CSV separator */
    GPtrArray *campaigns;       /* struct pb_rep_campaign * */
    struct pb_rep_funnel funnel;
    struct pb_rep_series series;    /* HTML only (n = 0 without) */
    struct pb_rep_reach events, seglog, wflog;
    long long events_need, seglog_need, wflog_need;     /* where each was read from, -1 not read */
    long long window_from, window_to;   /* the funnel's changes (reactivated, entered) */
};

/* ---- report.c ------------------------------------------------------------ */
/* The period's end (until, or now), exclusive. */
long long pb_rep_until(const struct pb_report *r);

/* ---- report_load.c: campaigns, counters, send records -------------------- */
/* The campaign named name (kind, send record, variants); NULL with the
 * reason said when there is none. */
struct pb_rep_campaign *pb_rep_campaign_load(struct pb_report *r, const char *name);
/* Every campaign (<p>campaigns and <p>sends), variants folded into their
 * campaign, newest first; -1 after an error (said). */
int pb_rep_campaigns_all(struct pb_report *r);
/* The counters of every campaign of the report from their hashes (links
 * too when links is set); -1 after an error. */
int pb_rep_counters(struct pb_report *r, int links);
/* What <p>send:<c>:to says about the period's mails (HSCAN); -1 after an error. */
int pb_rep_sent_in_period(struct pb_report *r, struct pb_rep_campaign *c);
void pb_rep_campaign_free(struct pb_rep_campaign *c);
void pb_rep_counts_clear(struct pb_rep_counts *c);
/* The link of that index in c, added (zero) if new. */
struct pb_rep_link *pb_rep_link_of(struct pb_rep_counts *c, int index);
/* a += b (links by index). */
void pb_rep_counts_add(struct pb_rep_counts *a, const struct pb_rep_counts *b);
/* The field of a send record, or NULL. */
const char *pb_rep_send_field(const struct pb_rep_campaign *c, const char *field);
/* table[key] += by (a long long * value, created at 0). */
void pb_rep_bump(GHashTable *table, const char *key, long long by);
GHashTable *pb_rep_count_table(void);
/* The keys of t in strcmp order (g_free the array only). */
char **pb_rep_sorted_keys(GHashTable *t, guint *n);

/* ---- report_stream.c: the event stream ----------------------------------- */
/* Calls fn for the fields of each entry of stream <p>name with an id from
 * from_ms up to to_ms + PB_REP_LATE_MS, PB_REP_PAGE a round trip; -1
 * after an error (said, with what). */
int pb_rep_read(struct pb_report *r, const char *name, const char *what, long long from_ms,
                long long to_ms, void (*fn)(void *arg, const redisReply *fields), void *arg);
/* How far back key reaches; -1 after an error. */
int pb_rep_reach(struct pb_report *r, const char *name, struct pb_rep_reach *out);
/* Whether a stream that reaches back as far as `reach` holds everything since from_ms. */
int pb_rep_covers(const struct pb_rep_reach *reach, long long from_ms);
/* The events of the period into each campaign's counts (period set) and
 * the series (its buckets set); -1 after an error. */
int pb_rep_scan_events(struct pb_report *r, int counts);
/* Buckets for from..to (at most about 60). */
void pb_rep_series_init(struct pb_rep_series *s, long long from_ms, long long to_ms);
void pb_rep_series_free(struct pb_rep_series *s);

/* ---- report_logs.c: segment-log and wf:log ------------------------------- */
/* Per campaign: segment entries and exits, follow-ups sent (and a
 * follow-up campaign's own sends); the funnel's entries and
 * reactivations in the window. -1 after an error. */
int pb_rep_scan_logs(struct pb_report *r);

/* ---- report_funnel.c ----------------------------------------------------- */
/* Sizes, conversion and median times of report.funnel; -1 after an error. */
int pb_rep_funnel(struct pb_report *r);
void pb_rep_funnel_free(struct pb_rep_funnel *f);
/* report.funnel and report.dormant name segments of scorer.segments, with
 * file and line when not; -1 (said). report_conf.c */
int pb_rep_conf_check(const char *path, const struct pb_conf *conf, const struct pb_segdefs *d,
                      char *err, size_t errlen);

/* ---- report_fmt.c: labels and numbers ------------------------------------ */
/* The label key (its English text) in report.language. */
const char *pb_rep_t(const struct pb_report *r, const char *en);
/* Numbers for people: 12,345 / 12.345; 12.5% / 12,5 %; "–" when den is 0. */
char *pb_rep_int(const struct pb_report *r, long long v);
char *pb_rep_pct(const struct pb_report *r, long long num, long long den);
/* The same rate, rounded to 0.1, for JSON and CSV (NAN when den is 0). */
double pb_rep_rate(long long num, long long den);
/* A CSV cell of a rate: one decimal with the language's decimal mark, "" when none. */
char *pb_rep_csv_rate(const struct pb_report *r, long long num, long long den);
/* A duration (3 h, 2.5 days / 2,5 Tage). */
char *pb_rep_duration(const struct pb_report *r, long long ms);
/* unix ms in local time with the zone: "2026-12-01 10:00 CET". */
char *pb_rep_time(long long ms);
/* A --since/--until value (YYYY-MM-DD or an ISO 8601 date and time, local
 * unless it has a zone) in ms; a date alone means its start, or with
 * end set the start of the next day. -1 if it is not one. */
long long pb_rep_parse_time(const char *s, int end);
/* What kind of campaign, in words. */
const char *pb_rep_kind_name(const struct pb_report *r, const struct pb_rep_campaign *c);

/* ---- output -------------------------------------------------------------- */
/* One table of the report, as every output gets it (report_text.c makes
 * them): text cells formatted for people, CSV cells plain. */
struct pb_rep_table {
    const struct pb_report *r;
    const char *id;             /* "header", "mailing", "engagement", "rates", "links", "ab",
                                 * "winner", "segments", "follow_ups", "funnel", "dormant",
                                 * "campaigns" */
    const char *title;          /* English label (pb_rep_t), NULL for none */
    int ncols, kv;              /* kv: label and value lines rather than a table */
    const char *const *labels;  /* English column labels */
    const char *const *keys;    /* CSV column names */
    guint64 right;              /* columns aligned right (numbers) */
    GPtrArray *text, *csv;      /* char ** rows of ncols cells */
};
struct pb_rep_emit {
    void (*fn)(const struct pb_rep_table *t, void *arg);
    void *arg;
};
/* Every table of the report, in order, to e. */
void pb_rep_tables(struct pb_report *r, const struct pb_rep_emit *e);
void pb_rep_print_text(struct pb_report *r, FILE *fp);     /* text and CSV: report_text.c */
void pb_rep_print_json(struct pb_report *r, FILE *fp);     /* report_json.c */
int pb_rep_write_html(struct pb_report *r, const char *path);  /* report_html.c: -1 said */
/* The warnings the report must carry (a stream that no longer reaches
 * back far enough, mail of other software); each a line, NULL-terminated,
 * g_strfreev it. report_text.c */
char **pb_rep_notes(const struct pb_report *r);

/* s with <, >, &, quotes escaped, appended to out (HTML and SVG text). */
void pb_rep_esc(GString *out, const char *s);
/* The SVG charts (report_svg.c) into out. */
void pb_svg_series(GString *out, const struct pb_report *r, const char *title, int clicks);
struct pb_svg_bar {
    const char *label;          /* left of the bar */
    double value;               /* length */
    const char *text;           /* right of the bar (the figure) */
    int part;                   /* colour: 0 human/main, 1 machine/second, 2 third */
};
void pb_svg_bars(GString *out, const char *title, const struct pb_svg_bar *bars, size_t n);
/* Pairs of bars per group (e.g. open rate and CTR per variant). */
void pb_svg_grouped(GString *out, const char *title, const char *const *groups, size_t ngroups,
                    const char *const *series, size_t nseries, const double *values,
                    const char *const *texts);
void pb_svg_stack(GString *out, const char *title, const struct pb_svg_bar *parts, size_t n);

#endif
