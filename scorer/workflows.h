/*
 * workflows.h - follow-up workflows of postbeacon.conf (scorer.workflows):
 * a trigger (segment entered or left, a new contact, an event type), exit
 * events and steps (send a template to the contact, notify a fixed
 * address, set or remove a tag, POST the contact to a webhook) with delays
 * and a segment condition.
 * Read and checked by workflow_conf.c, started inside the batch script
 * (workflow_lua.c), run from the due-step queue with an atomic claim
 * (workflow_claim.c, workflow_run.c). A send step may have A/B variants
 * (workflow_variant.c). docs/scorer.md ("Workflows").
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

enum pb_wf_trigger { PB_WF_ENTER, PB_WF_LEAVE, PB_WF_SIGNUP, PB_WF_EVENT };

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
    char *campaign, *url;       /* event: fnmatch(3) patterns (url case-insensitive), or NULL */
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

/* The workflows whose event trigger ev matches (type, patterns; a
 * machine open or click never does): their indexes into out (at most
 * max); their number. */
size_t pb_workflows_match(const struct pb_workflows *w, const struct pb_sc_event *ev, int *out,
                          size_t max);

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
 * seg, op, t), called by segment_changed, and wf_entry(ck, cid, kind,
 * type, ts), called for each entry; nseg: the number of segments (the
 * queue and the log follow their sets in KEYS). */
void pb_workflow_lua(const struct pb_workflows *w, size_t nseg, GString *out);

#endif
