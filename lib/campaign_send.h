/*
 * campaign_send.h - campaign sends (`postbeacon send`): one message per
 * member of a segment, personalised from a template, handed to the MTA
 * (submit.h) at the global rate (send_rate.h), at most once per contact
 * and campaign even across a crash, optionally with an A/B test on a
 * share of the segment whose winner then goes to the rest.
 *
 * The job and its per-contact marks live in Redis (docs/redis-schema.md,
 * "Campaign sends"): `postbeacon send` creates a job and runs it in the
 * foreground; a job scheduled with --at (and the remainder of an A/B test
 * once its winner is due) is run by postbeacon-scorer in bounded chunks
 * between its batches of events. Both run the same code: open a job
 * (which takes its lease: one runner at a time), run it, close it.
 *
 * Exactly once: each contact is claimed in <p>send:<c>:to before its
 * message is submitted and marked sent after; the job names the one
 * contact in flight, so a runner that died mid-submit leaves a claim the
 * next runner records as uncertain: never resent, listed.
 */
#ifndef PB_CAMPAIGN_SEND_H
#define PB_CAMPAIGN_SEND_H

#include <stddef.h>
#include <glib.h>
#include <hiredis/hiredis.h>
#include "conf.h"
#include "events.h"
#include "template.h"

#define PB_CSEND_VARIANTS 26        /* a..z */
#define PB_CSEND_NAME_MAX 62        /* a campaign name, so that "<name>:<v>" fits 64 */

/* ---- what a job sends ---------------------------------------------------- */

struct pb_csend_variant {
    char letter[2];             /* "a", "b", ... */
    char *subject;              /* the Subject it uses instead of the template's, or NULL */
    char *template;             /* the template it uses instead of the job's, or NULL */
};

struct pb_csend_spec {
    char *template;             /* a name in templates.dir, or an absolute path */
    char *segment;
    long rate;                  /* messages per second for this job, 0 = submit.rate alone */
    long long due_at;           /* unix ms to start, 0 = now */
    int nvariants;              /* 0: no A/B test, else 2..26 */
    struct pb_csend_variant var[PB_CSEND_VARIANTS];
    unsigned test_share_bp;     /* basis points of the members in the test */
    int winner_by_opens;        /* 0: unique human clicks, 1: unique human opens */
    long long winner_after_ms;  /* from the end of the test sends to the decision */
};

void pb_csend_spec_free(struct pb_csend_spec *spec);
/* 1 if a and b send the same (template, segment, variants, test): a re-run
 * of the same command line resumes, anything else is another campaign. */
int pb_csend_spec_same(const struct pb_csend_spec *a, const struct pb_csend_spec *b);
/* 0 if name can be a campaign sent by `postbeacon send` ([a-z0-9_-],
 * 1..62 characters), else -1 with why. */
int pb_csend_name_check(const char *name, char *why, size_t whylen);
/* "20" or "12.5": a share in basis points as the job keeps it. */
void pb_csend_share_text(unsigned bp, char out[16]);

/* The job's record as read from <p>send:<campaign>. */
struct pb_csend_job {
    struct pb_csend_spec spec;
    char state[16];             /* scheduled, sending, testing, waiting, done, cancelled */
    long long created_at, started_at, winner_at, decided_at, finished_at;
    long long members, sent, suppressed, failed, uncertain, left;
    long long var_sent[PB_CSEND_VARIANTS];
    int winner;                 /* index into spec.var, -1 while undecided */
    char *decision;             /* NULL while undecided */
    char *uncertain_ids;        /* contact ids, space-separated, or NULL */
    char *cursor;               /* ZSCAN position of the phase, or NULL */
    char *runner;               /* who holds the lease, or NULL */
};

void pb_csend_job_free(struct pb_csend_job *job);
/* Parse an HGETALL reply of a job: 0, or -1 (why) when it is not one. */
int pb_csend_job_parse(const redisReply *hash, struct pb_csend_job *job, char *why,
                       size_t whylen);
/* Read the job of campaign: 1, 0 if there is none, -1 (why) after a
 * Redis failure or a record that is not a job. */
int pb_csend_job_read(redisContext *c, const char *prefix, const char *campaign,
                      struct pb_csend_job *job, char *why, size_t whylen);

/* Create the job for campaign (state scheduled; with spec->due_at after
 * now also put into <p>sends for the scorer). 1 created, 0 it existed
 * already (nothing changed), -1 (why) Redis failed. */
int pb_csend_create(redisContext *c, const char *prefix, const char *campaign,
                    const struct pb_csend_spec *spec, long long now_ms, char *why, size_t whylen);
/* Cancel it: 1 cancelled, 0 it had finished before (state names how), -1
 * no such job or Redis failed (why). */
int pb_csend_cancel(redisContext *c, const char *prefix, const char *campaign,
                    long long now_ms, char state[16], char *why, size_t whylen);

/* ---- what each member gets (templates loaded once) ------------------------ */

struct pb_csend_plan {
    const struct pb_csend_spec *spec;   /* not owned */
    char campaign[PB_CSEND_NAME_MAX + 1];
    struct pb_template *base;           /* the job's template (no A/B test) */
    struct pb_template *tpl[PB_CSEND_VARIANTS];     /* a variant's own, or NULL: base */
    struct pb_tpl_subject *subject[PB_CSEND_VARIANTS];  /* a variant's Subject, or NULL */
    unsigned shares[PB_CSEND_VARIANTS]; /* basis points of each variant in the test */
    const struct pb_conf *conf;
};

/* Load the job's template and every variant's own template or subject:
 * 0, or -1 with "file:line: what" (or "variant b: subject ...: what") in err. */
int pb_csend_plan_load(struct pb_csend_plan *p, const struct pb_conf *conf,
                       const char *campaign, const struct pb_csend_spec *spec, char *err,
                       size_t errlen);
void pb_csend_plan_free(struct pb_csend_plan *p);
/* The variant (index) a contact gets in the test, -1 when it is not in
 * the test share (or there is no test): pb_split_bucket(campaign, id). */
int pb_csend_plan_variant(const struct pb_csend_plan *p, const char *contact);
/* Render the message for a contact (hash: its HGETALL, field, value,
 * ...): variant v (-1: the job's template), test 1 for a test mail
 * (campaign "<c>:<v>") else the campaign itself. to gets the address.
 * 0, or -1 with "file: what" in err. */
int pb_csend_plan_render(const struct pb_csend_plan *p, int v, int test,
                         const redisReply *hash, long long now_ms, GString *msg,
                         const char **to, char *err, size_t errlen);
/* The template v uses (-1: the job's). */
const struct pb_template *pb_csend_plan_template(const struct pb_csend_plan *p, int v);

/* ---- the winner ------------------------------------------------------------ */

/* Decide among n variants: by[i] of sent[i] is each one's figure (unique
 * human clicks or opens), other[i] the other measure (ties are decided
 * by it, then by the first letter). The winner's index, and the line
 * recorded as the decision ("a: 14 unique human clicks of 120 sent
 * (11.7%); b: 9 of 120 (7.5%); a wins") into out. */
int pb_csend_winner(const struct pb_csend_spec *spec, const long long *sent,
                    const long long *by, const long long *other, GString *out);
/* Read the figures of the variants' campaigns (<p>campaign:<c>:<v>) and
 * decide: the winner's index, or -1 (why) when Redis failed. */
int pb_csend_decide(redisContext *c, const char *prefix, const char *campaign,
                    const struct pb_csend_job *job, GString *decision, char *why,
                    size_t whylen);

/* ---- running a job ----------------------------------------------------------- */

enum pb_csend_status {
    PB_CSEND_MORE,              /* the chunk's budget is used, more to send now */
    PB_CSEND_WAIT,              /* nothing before *until: the rate, a retry, a busy job, --at */
    PB_CSEND_TESTED,            /* the test share is out: the winner is due at *until */
    PB_CSEND_DONE,              /* every member handled (or the job had finished before) */
    PB_CSEND_STOPPED,           /* a stop asked for, the job cancelled or taken over (why) */
    PB_CSEND_ERROR              /* Redis failed, a template does not load, no such job (why) */
};

/* What became of one member, for the runner's caller (a line or a log). */
enum pb_csend_event {
    PB_CSEND_EV_SENT, PB_CSEND_EV_SUPPRESSED, PB_CSEND_EV_FAILED, PB_CSEND_EV_RETRY,
    PB_CSEND_EV_UNCERTAIN       /* found: a claim left by a runner that stopped mid-submit */
};

struct pb_csend_env {
    redisContext *c;
    const struct pb_conf *conf;
    const char *runner;         /* "cli <host> <pid>" or "scorer <consumer>": who holds the lease */
    long long (*now_ms)(void);  /* the clock (the scorer's, injectable in tests) */
    /* called for each member handled (may be NULL); email may be NULL */
    void (*note)(void *arg, enum pb_csend_event ev, const char *contact, const char *email,
                 const char *why);
    void *arg;
    volatile int *stop;         /* when set to non-zero: stop after the message in hand */
};

struct pb_csend;

/* Take the job of campaign to run (its lease; a scheduled job that is due
 * starts: its members are counted, those who entered the segment until
 * now; a waiting one whose winner is due gets its winner decided). NULL
 * when there is nothing to run now, with *st: DONE (finished before),
 * STOPPED (cancelled), WAIT (*until: scheduled for later, or another
 * runner holds it), TESTED (*until: the winner's time) or ERROR; why
 * says which. */
struct pb_csend *pb_csend_open(const struct pb_csend_env *env, const char *campaign,
                               enum pb_csend_status *st, long long *until, char *why,
                               size_t whylen);
/* Send until max messages were handled or budget_ms have passed (0: no
 * limit of that kind), the job needs to wait, or it ends; *handled
 * counts the members handled. */
enum pb_csend_status pb_csend_run(struct pb_csend *j, long max, long budget_ms,
                                  long long *until, long *handled, char *why, size_t whylen);
/* The job as this runner knows it (counters kept current), its campaign. */
const struct pb_csend_job *pb_csend_job(const struct pb_csend *j);
const char *pb_csend_campaign(const struct pb_csend *j);
/* Give the lease back (if still held) and free j. */
void pb_csend_close(struct pb_csend *j);

/* 1 if runner names a `postbeacon send` process of this host that is no
 * longer running ("cli <host> <pid>"): its lease need not be waited for. */
int pb_csend_runner_dead(const char *runner);

#endif
