/*
 * send.h - what the files of `postbeacon send` share: the command line
 * as parsed (send.c, the values of its options: send_spec.c), running a
 * campaign in the foreground (send_run.c), the dry run (send_dry.c), and
 * a job's status, summary and cancellation (send_status.c). The work
 * itself is lib/campaign_send.h, shared with the scorer.
 */
#ifndef PB_CLI_SEND_H
#define PB_CLI_SEND_H

#include "campaign_send.h"
#include "cli.h"

struct pb_send_args {
    const char *template;       /* the TEMPLATE operand, or NULL (--resume, --status...) */
    const char *campaign;       /* --campaign, or the campaign of --resume */
    int resume;                 /* --resume: the job's own settings */
    int dry_run;
    int have_rate;              /* --rate given: it changes the job's rate */
    struct pb_csend_spec spec;  /* from the options (template and segment as given) */
};

/* ---- option values (send_spec.c): 0, or a usage error reported ---------- */
struct pb_cli_opts;
int pb_send_opt_ab(const struct pb_cli_opts *o, struct pb_csend_spec *spec, const char *arg);
int pb_send_opt_share(const struct pb_cli_opts *o, struct pb_csend_spec *spec, const char *arg);
int pb_send_opt_after(const struct pb_cli_opts *o, struct pb_csend_spec *spec, const char *arg);
int pb_send_opt_by(const struct pb_cli_opts *o, struct pb_csend_spec *spec, const char *arg);
int pb_send_opt_rate(const struct pb_cli_opts *o, struct pb_csend_spec *spec, const char *arg);
int pb_send_opt_at(const struct pb_cli_opts *o, struct pb_csend_spec *spec, const char *arg);
/* The templates as the job keeps them: a path made absolute (the scorer
 * runs in /), a name left for templates.dir. */
void pb_send_absolute_templates(struct pb_csend_spec *spec);

/* ---- the subcommand's parts (an exit code each) ---------------------------- */
int pb_send_run(struct pb_cli *cli, struct pb_send_args *a);        /* send_run.c */
int pb_send_dry(struct pb_cli *cli, struct pb_send_args *a);        /* send_dry.c */
int pb_send_status(struct pb_cli *cli, const char *campaign);       /* send_status.c */
int pb_send_cancel(struct pb_cli *cli, const char *campaign);

/* Checks before a new job is made or shown: the campaign name, the
 * segment configured, every template loading (into plan). 0, or -1
 * (reported). send_run.c */
int pb_send_check_new(struct pb_cli *cli, const struct pb_send_args *a,
                      struct pb_csend_plan *plan);
/* The job of a.campaign read into job: 1, 0 none, -1 (reported). When
 * the command line names a template, it must send the same as the job
 * (else "campaign X exists ... use another name": -1). send_run.c */
int pb_send_existing(struct pb_cli *cli, const struct pb_send_args *a,
                     struct pb_csend_job *job);

/* What became of a job, a few lines on stdout: the counts, the A/B
 * decision, the uncertain members with their addresses. send_status.c */
void pb_send_summary(struct pb_cli *cli, const char *campaign, const struct pb_csend_job *job);

#endif
