/*
 * workflows.h - follow-up workflows of postbeacon.conf (scorer.workflows):
 * a trigger (segment entered or left, a new contact, an event type, a
 * campaign sent and not opened, a date attribute every year), exit
 * events and steps (send a template to the contact, notify a fixed
 * address, set or remove a tag, POST the contact to a webhook) with delays
 * and a segment condition.
 * Read and checked by workflow_conf.c, started inside the batch script
 * (workflow_lua.c), run from the due-step queue with an atomic claim
 * (workflow_claim.c, workflow_run.c). A send step may have A/B variants
 * (workflow_variant.c). The newer triggers have files of their own:
 * workflow_trigger.c (not_opened, opened, clicked), and workflow_date.c
 * (date). docs/scorer.md ("Workflows").
 */
#ifndef PB_SCORER_WORKFLOWS_H
#define PB_SCORER_WORKFLOWS_H

#include <stddef.h>
#include <glib.h>
#include "conf.h"

struct pb_template;
struct pb_tpl_subject;
struct pb_conf_ctx;
struct config_t;
struct pb_segdefs;
struct pb_sc_event;

enum pb_wf_trigger {
    PB_WF_ENTER, PB_WF_LEAVE, PB_WF_SIGNUP, PB_WF_EVENT,
    PB_WF_NOT_OPENED,           /* a sent of campaign, ended by a human open within within_ms */
    PB_WF_DATE                  /* every year on the date of date_attr, at hour local time */
};

/* The letter the claim script is told. */
enum pb_wf_step_kind {
    PB_WF_SEND = 's',           /* a template to the contact */
    PB_WF_NOTIFY = 'n',         /* a template to a fixed address, about the contact */
    PB_WF_TAG = 't',            /* add a tag to the contact's tags */
    PB_WF_UNTAG = 'u',          /* remove one */
    PB_WF_WEBHOOK = 'w'         /* POST the contact as JSON to a URL (workflow_webhook.c) */
};

/* A webhook step's settings (workflow_webhook_conf.c). */
struct pb_wf_webhook {
    char *url;                  /* http:// or https:// */
    char *secret;               /* the name of its "webhook" line in the key file */
    char *secret_at;            /* "FILE:LINE: scorer.workflows[i] ...: secret", for messages */
    int timeout_s;              /* the whole request */
};

/* One A/B variant of a send step (workflow_variant.c): the contacts whose
 * bucket (pb_split_bucket, salt "<workflow>|<step>") falls in its share
 * get it, under the campaign <workflow>:<step>:<name>. */
struct pb_wf_variant {
    char *name;                 /* [a-z0-9_-], unique in the step */
    unsigned share;             /* basis points (0.01 %); a step's add up to 10000 */
    struct pb_tpl_subject *subject; /* its Subject, or NULL: the template's */
    char *template_file;        /* its template in templates.dir, or NULL: the step's */
    struct pb_template *tpl;    /* loaded with the step's; NULL before, and without a file */
};

struct pb_wf_step {
    char *name;                 /* [a-z0-9_-]: part of the campaign name and of the queue member */
    enum pb_wf_step_kind kind;
    long long delay_ms;         /* after the trigger (first step) or the previous step */
    char *template_file;        /* send, notify: a file name in templates.dir */
    struct pb_template *tpl;    /* loaded by pb_workflows_load_templates; NULL before */
    char *to;                   /* notify: the address */
    char *tag;                  /* tag, untag */
    int if_segment;             /* re-checked when due: still a member of it (index), -1 = none */
    struct pb_wf_variant *variants; /* send: A/B variants, or NULL */
    size_t nvariants;
    struct pb_wf_webhook *webhook;  /* webhook steps only, else NULL */
};

struct pb_workflow {
    char *name;                 /* [a-z0-9_-] */
    enum pb_wf_trigger trigger;
    int segment;                /* enter, leave: the segment's index */
    char *segment_name;         /* ... and name */
    char *event;                /* event: the type */
    char *campaign, *url;       /* event, not_opened: fnmatch(3) patterns (url case-insensitive), or NULL */
    long long within_ms;        /* not_opened: the time an open has */
    char *date_attr;            /* date: "birthday" or "attr:<name>" */
    int hour;                   /* date: the local hour 0..23 */
    char **exit_events;         /* event types that end it for the contact (NULL-terminated) */
    struct pb_wf_step *steps;
    size_t nsteps;
};

struct pb_workflows {
    struct pb_workflow *items;
    size_t count;
};

/* Read scorer.workflows of the parsed file (optional), after the segments
 * (d) it may name. 0, or -1 with "FILE:LINE: where: what (fix)". */
int pb_workflows_read(struct pb_conf_ctx *ctx, const struct config_t *cfg,
                      const struct pb_segdefs *d, struct pb_workflows *w);
void pb_workflows_free(struct pb_workflows *w);

/* Load every step's template from conf->templates.dir. 0, or -1 with
 * "file:line: what (fix)" of the first that fails in err. */
int pb_workflows_load_templates(struct pb_workflows *w, const struct pb_conf *conf,
                                char *err, size_t errlen);

/* ---- webhook steps (workflow_webhook_conf.c) ---------------------------- */
struct pb_rule_ctx;
struct pb_keyring;
/* The step's webhook = "URL" (url; NULL: not a webhook step, and then
 * secret and timeout must not be there), secret and timeout into
 * st->webhook. 0, or -1 with "FILE:LINE: where: what (fix)". */
int pb_wf_read_webhook(struct pb_rule_ctx *r, struct pb_wf_step *st, const char *url);
void pb_wf_webhook_free(struct pb_wf_webhook *h);
/* 1 if a step of w is a webhook step (it needs the key file). */
int pb_workflows_have_webhooks(const struct pb_workflows *w);
/* Every webhook step's secret is a "webhook" line of ring (the key file
 * keys_file; ring NULL: it could not be read, why says why). 0, or -1
 * with "FILE:LINE: ...: secret: ... (fix)" of the first that is not. */
int pb_workflows_check_secrets(const struct pb_workflows *w, const struct pb_keyring *ring,
                               const char *keys_file, const char *why, char *err,
                               size_t errlen);

/* The workflows ev starts: event triggers it matches (type, patterns; a
 * machine open or click never does), not_opened ones whose campaign it
 * sends: their indexes into out (at most max); their number. */
size_t pb_workflows_match(const struct pb_workflows *w, const struct pb_sc_event *ev, int *out,
                          size_t max);

/* ---- the newer triggers (workflow_trigger.c) ------------------------------ */
struct pb_rule_ctx;
/* The trigger kinds not_opened, opened, clicked and date of the trigger
 * group r: 0 read into w, 1 if r has none of them (the caller reads the
 * others), -1 reported. */
int pb_wf_read_trigger_kind(struct pb_rule_ctx *r, struct pb_workflow *w);
/* What the trigger asks of the steps, once they are read (a date
 * workflow starts with a send or notify step): 0, or -1 reported. */
int pb_wf_check_trigger_steps(struct pb_rule_ctx *r, const struct pb_workflow *wf);
/* Whether ev starts wf, an event or not_opened workflow (a machine open
 * or click never does). */
int pb_wf_starts(const struct pb_workflow *wf, const struct pb_sc_event *ev);
/* The not_opened workflows that ev, a human open or click, may end (its
 * campaign matches): their indexes into out (at most max); their number. */
size_t pb_workflows_opened(const struct pb_workflows *w, const struct pb_sc_event *ev, int *out,
                           size_t max);
/* The Lua of the not_opened ends: WFNO and wf_opened(ck, cid, ts,
 * campaign, base, n), which wf_entry calls (needs wf_log). */
void pb_wf_opened_lua(const struct pb_workflows *w, GString *out);

/* Whether local hour h is within the quiet hours from..to (the window may
 * wrap midnight; from or to -1, or from == to: none). workflow_quiet.c */
int pb_wf_quiet_hour(int h, int from, int to);

/* ---- date workflows (workflow_date.c) --------------------------------------- */
/* The number of date workflows. */
size_t pb_workflows_dates(const struct pb_workflows *w);
/* The Lua that starts their occurrences from a contact's evaluation
 * (inserted into the segments' Lua: segment_lua.h), or NULL when there
 * are none (g_free it). */
char *pb_wf_date_lua(const struct pb_workflows *w);
/* The workflow of a queue member's instance: "name", or "name@year" for
 * an occurrence of a date workflow (its year into *occurrence, else 0).
 * NULL if none is configured so. */
const struct pb_workflow *pb_wf_instance_find(const struct pb_workflows *w, const char *instance,
                                              int *occurrence);

/* The workflow and step of these names, or NULL. */
const struct pb_workflow *pb_workflow_find(const struct pb_workflows *w, const char *name);
const struct pb_wf_step *pb_wf_step_find(const struct pb_workflow *wf, const char *name,
                                         size_t *index);

/* The variant of step st of wf that contact cid gets (the same one every
 * time, in every scorer: pb_split_pick), or NULL when st has none.
 * workflow_variant.c */
const struct pb_wf_variant *pb_wf_variant_pick(const struct pb_workflow *wf,
                                               const struct pb_wf_step *st, const char *cid);
/* The Lua every script that moves a step shares (workflow_script.c):
 * now (ARGV[1]), log(cid, wf, step, status, why[, variant]) into WLOG
 * (ARGV[2] its length), split(member) and queue_next(ck, cid, wf, step, next, delay)
 * into DUE; the script sets the locals DUE and WLOG before it. */
extern const char pb_wf_script_common[];

/* The Lua the batch script needs (workflow_lua.c): wf_segment(ck, cid,
 * seg, op, t), called by segment_changed, wf_start (also used by the
 * date workflows' Lua), and wf_entry(ck, cid, kind, type, ts, b), called
 * for each entry with b the index of its workflow arguments in ARGV;
 * nseg: the number of segments (the queue and the log follow their sets
 * in KEYS). */
void pb_workflow_lua(const struct pb_workflows *w, size_t nseg, GString *out);

#endif
