/*
 * send_run.c - postbeacon send TEMPLATE ... and --resume CAMPAIGN: check
 * what is asked (the segment configured, every template loading, with
 * file:line), make the job or find it again (the same command line run
 * again resumes it; another one under the same name is refused), and,
 * unless it is scheduled for later (--at: the scorer starts it), run it
 * here (lib/campaign_send.h) with a progress bar on a terminal. SIGINT
 * and SIGTERM stop it after the message in hand; run it again to go on.
 */
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "events.h"
#include "send.h"
#include "table.h"
#include "time_text.h"

#define CHUNK 20                /* members between progress updates */
#define FAILURES_SHOWN 20       /* failure lines printed, the rest counted */
#define WAIT_SAID_MS 2000       /* a wait this long is said (a retry, not the rate) */

static volatile int stop_flag;

static void on_stop(int sig)
{
    (void)sig;
    stop_flag = 1;
}

int pb_send_check_new(struct pb_cli *cli, const struct pb_send_args *a,
                      struct pb_csend_plan *plan)
{
    char why[1024];

    if (pb_csend_name_check(a->campaign, why, sizeof(why)) != 0) {
        pb_cli_error("%s", why);
        return -1;
    }
    if (pb_cli_segment_configured(cli, a->spec.segment) != 0)
        return -1;
    if (pb_csend_plan_load(plan, &cli->conf, a->campaign, &a->spec, why, sizeof(why)) != 0) {
        pb_cli_error("%s", why);
        return -1;
    }
    return 0;
}

int pb_send_existing(struct pb_cli *cli, const struct pb_send_args *a,
                     struct pb_csend_job *job)
{
    char why[512];
    int rc = pb_csend_job_read(cli->redis, cli->conf.redis.prefix, a->campaign, job, why,
                               sizeof(why));

    if (rc < 0)
        pb_cli_error("campaign %s: %s", a->campaign, why);
    if (rc == 1 && a->template && !pb_csend_spec_same(&a->spec, &job->spec)) {
        pb_cli_error("campaign %s exists: it sends %s to segment %s%s; give another --campaign "
                     "name (or --resume %s)", a->campaign, job->spec.template, job->spec.segment,
                     job->spec.nvariants ? " as an A/B test" : "", a->campaign);
        pb_csend_job_free(job);
        rc = -1;
    }
    if (rc == 0 && a->template == NULL)
        pb_cli_error("no campaign send \"%s\" (start one with send TEMPLATE --segment NAME "
                     "--campaign %s)", a->campaign, a->campaign);
    return rc == 0 && a->template == NULL ? -1 : rc;
}

/* ---- the foreground run ---------------------------------------------------- */

struct ui {
    const char *campaign;
    struct pb_csend *j;
    struct pb_progress bar;
    long failures;
};

static void clear_bar(struct ui *u)
{
    if (u->bar.on && u->bar.shown >= 0) {
        fputs("\r\033[K", stderr);
        u->bar.shown = -1;
    }
}

static void show_progress(struct ui *u)
{
    const struct pb_csend_job *job = u->j ? pb_csend_job(u->j) : NULL;

    if (job)
        pb_progress_update(&u->bar, (long)(job->sent + job->suppressed + job->failed
                                           + job->uncertain));
}

static void note(void *arg, enum pb_csend_event ev, const char *contact, const char *email,
                 const char *why)
{
    struct ui *u = arg;

    if (ev == PB_CSEND_EV_FAILED && u->failures++ < FAILURES_SHOWN) {
        clear_bar(u);
        pb_cli_error("campaign %s: mail to %s failed: %s", u->campaign, email ? email : contact,
                     why);
    } else if (ev == PB_CSEND_EV_RETRY) {
        clear_bar(u);
        pb_cli_error("campaign %s: mail to %s: temporary failure: %s (tried again later)",
                     u->campaign, email ? email : contact, why);
    } else if (ev == PB_CSEND_EV_UNCERTAIN) {
        clear_bar(u);
        pb_cli_error("campaign %s: %s (%s) was being submitted when a send of it stopped: "
                     "recorded as uncertain, not resent (check the mail log)", u->campaign,
                     email ? email : "?", contact);
    }
    show_progress(u);
}

/* Sleep until until (unix ms); -1 if a stop came first. */
static int wait_until(long long until)
{
    while (!stop_flag) {
        long long left = until - pb_event_now_ms();
        if (left <= 0)
            return 0;
        if (left > 100)
            left = 100;
        struct timespec ts = { 0, (long)left * 1000000L };
        nanosleep(&ts, NULL);
    }
    return -1;
}

/* open refused: why, and the exit code. */
static int not_opened(struct pb_cli *cli, const char *campaign, enum pb_csend_status st,
                      long long until, const char *why)
{
    struct pb_csend_job job;
    char at[32], err[256];

    pb_time_text(until, at);
    if (st == PB_CSEND_DONE) {
        printf("campaign %s was sent before: nothing more to send\n", campaign);
        if (pb_csend_job_read(cli->redis, cli->conf.redis.prefix, campaign, &job, err,
                              sizeof(err)) == 1) {
            pb_send_summary(cli, campaign, &job);
            pb_csend_job_free(&job);
        }
        return PB_EXIT_OK;
    }
    if (st == PB_CSEND_TESTED) {
        printf("campaign %s: the test share is out; the winner is decided at %s by "
               "postbeacon-scorer (or run " PB_CLI_NAME " send --resume %s then)\n", campaign, at,
               campaign);
        return PB_EXIT_OK;
    }
    pb_cli_error("%s%s", why, st == PB_CSEND_WAIT && strstr(why, "scheduled")
                 ? " (postbeacon-scorer starts it then)" : "");
    return PB_EXIT_ERROR;
}

static int finished(struct pb_cli *cli, struct ui *u, enum pb_csend_status st,
                    long long until, const char *why)
{
    struct pb_csend_job fresh;
    char at[32], err[256];
    int have = pb_csend_job_read(cli->redis, cli->conf.redis.prefix, u->campaign, &fresh, err,
                                 sizeof(err)) == 1;

    pb_progress_end(&u->bar);
    if (st == PB_CSEND_STOPPED && stop_flag)
        pb_cli_error("campaign %s: interrupted after the message in hand; run " PB_CLI_NAME
                     " send --resume %s to go on", u->campaign, u->campaign);
    else if (st == PB_CSEND_STOPPED || st == PB_CSEND_ERROR)
        pb_cli_error("campaign %s: %s", u->campaign, why);
    if (st == PB_CSEND_TESTED) {
        pb_time_text(until, at);
        printf("campaign %s: test share sent; the winner is decided at %s by "
               "postbeacon-scorer (or run " PB_CLI_NAME " send --resume %s then)\n",
               u->campaign, at, u->campaign);
    }
    pb_send_summary(cli, u->campaign, have ? &fresh : pb_csend_job(u->j));
    if (have)
        pb_csend_job_free(&fresh);
    return st == PB_CSEND_DONE || st == PB_CSEND_TESTED ? PB_EXIT_OK : PB_EXIT_ERROR;
}

static enum pb_csend_status run_all(struct pb_csend *j, struct ui *u, long long *until,
                                    char *why, size_t whylen)
{
    enum pb_csend_status st;
    long n;

    for (;;) {
        st = pb_csend_run(j, CHUNK, 0, until, &n, why, whylen);
        show_progress(u);
        if (st == PB_CSEND_MORE)
            continue;
        if (st != PB_CSEND_WAIT)
            return st;
        if (*until - pb_event_now_ms() > WAIT_SAID_MS) {
            char at[32];
            pb_time_text(*until, at);
            clear_bar(u);
            pb_cli_error("campaign %s: waiting until %s (%s)", u->campaign, at, why);
        }
        if (wait_until(*until) != 0) {
            snprintf(why, whylen, "interrupted");
            return PB_CSEND_STOPPED;
        }
    }
}

static int foreground(struct pb_cli *cli, const char *campaign)
{
    char host[200] = "localhost", runner[256], why[1024];
    struct ui u = { .campaign = campaign };
    struct pb_csend_env env = { .c = cli->redis, .conf = &cli->conf, .runner = runner,
                                .now_ms = pb_event_now_ms, .note = note, .arg = &u,
                                .stop = &stop_flag };
    struct sigaction sa = { .sa_handler = on_stop }, old_int, old_term;
    enum pb_csend_status st;
    long long until;
    int rc;

    gethostname(host, sizeof(host) - 1);
    snprintf(runner, sizeof(runner), "cli %s %ld", host, (long)getpid());
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    u.j = pb_csend_open(&env, campaign, &st, &until, why, sizeof(why));
    if (u.j == NULL)
        rc = not_opened(cli, campaign, st, until, why);
    else {
        pb_progress_start(&u.bar, campaign, (long)pb_csend_job(u.j)->members);
        show_progress(&u);
        st = run_all(u.j, &u, &until, why, sizeof(why));
        rc = finished(cli, &u, st, until, why);
        pb_csend_close(u.j);
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    return rc;
}

/* ---- making the job ------------------------------------------------------------- */

static int set_rate(struct pb_cli *cli, const struct pb_send_args *a)
{
    char *key = pb_cli_key(cli, PB_KEY_SEND, a->campaign);
    redisReply *r = pb_cli_cmd(cli, "changing the campaign's rate", "HSET %s rate %ld", key,
                               a->spec.rate);

    g_free(key);
    if (r != NULL)
        freeReplyObject(r);
    return r ? 0 : -1;
}

/* The job of the command line: 1 it exists (created now or before), 0
 * it is scheduled (nothing more to do here), -1 (reported). */
static int make_job(struct pb_cli *cli, const struct pb_send_args *a)
{
    struct pb_csend_job job;
    char why[512], at[32];
    int rc = pb_send_existing(cli, a, &job), made = 0;

    if (rc == 0) {
        made = pb_csend_create(cli->redis, cli->conf.redis.prefix, a->campaign, &a->spec,
                               pb_event_now_ms(), why, sizeof(why));
        if (made < 0)
            pb_cli_error("campaign %s: %s", a->campaign, why);
        if (made == 0)      /* made by another at the same moment: the same? */
            rc = pb_send_existing(cli, a, &job);
    }
    if (made < 0 || rc < 0)
        return -1;
    if (a->spec.due_at > 0) {
        pb_time_text(made ? a->spec.due_at : job.spec.due_at, at);
        if (made)
            printf("campaign %s scheduled for %s: postbeacon-scorer sends it then (--status %s, "
                   "--cancel %s)\n", a->campaign, at, a->campaign, a->campaign);
        else
            printf("campaign %s was made before (%s, due %s): see --status %s\n", a->campaign,
                   job.state, at, a->campaign);
    }
    if (rc == 1)
        pb_csend_job_free(&job);
    if (a->spec.due_at > 0)
        return 0;
    return a->have_rate && set_rate(cli, a) != 0 ? -1 : 1;
}

int pb_send_run(struct pb_cli *cli, struct pb_send_args *a)
{
    struct pb_csend_plan plan;
    int rc;

    if (pb_cli_conf(cli) != 0 || pb_cli_redis(cli) == NULL)
        return PB_EXIT_ERROR;
    if (a->template != NULL) {
        if (pb_send_check_new(cli, a, &plan) != 0)
            return PB_EXIT_ERROR;
        pb_csend_plan_free(&plan);
    }
    if ((rc = make_job(cli, a)) <= 0)
        return rc < 0 ? PB_EXIT_ERROR : PB_EXIT_OK;
    return foreground(cli, a->campaign);
}
