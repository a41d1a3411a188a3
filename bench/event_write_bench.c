/*
 * event_write_bench.c - what one tracker event costs Redis: the tracker's
 * store (tracker/store.c) writes click events to a private redis-server
 * the way the tracker does under load, and the program reports Redis' CPU
 * time per event (INFO cpu, used_cpu_user + used_cpu_sys, before and
 * after), the commands Redis ran per event (INFO commandstats: scripts,
 * and the calls made from inside them), and this process' CPU time per
 * event (building, sending, replies: the tracker's share).
 *
 * The events are those of bench/tracker-bench.sh: human clicks rotating
 * over TOKENS tokens (distinct message and contact ids, links 0-9, one
 * campaign), submitted CHUNK at a time with one non-blocking pass of the
 * event loop after each chunk (an HTTP loop pass answering CHUNK
 * requests). A warm-up of WARMUP events first creates the hashes and
 * imputes the opens, so the measured events are the steady state (a
 * message clicked again); -W 0 measures first clicks instead.
 *
 * usage: event-write-bench [-n EVENTS] [-t TOKENS] [-w WARMUP] [-c CHUNK] [-r] [-s]
 *   defaults: 200000 events, 1000 tokens, warm-up 2 x TOKENS, chunks of 32
 *   -r: the default stream retention (MAXLEN ~ 1000000, 90 days) instead
 *       of none (tracker-bench.sh runs without, to count the stream);
 *   -s: also print Redis' INFO commandstats (time per command).
 * Redis' CPU time is steadier than the wall clock on a busy machine, but
 * still moves with it: compare runs side by side.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <glib.h>
#include <hiredis/hiredis.h>
#include "conf.h"
#include "contact.h"
#include "log.h"
#include "store.h"
#include "testutil.h"

struct options {
    long events, tokens, warmup, chunk;
    int retention, commandstats;
};

struct redis_usage {
    double cpu_s;               /* used_cpu_user + used_cpu_sys */
    long long scripts;          /* EVAL + EVALSHA calls */
    long long calls;            /* every other command (run from scripts) */
};

static struct event_base *base;

static void usage(void)
{
    fprintf(stderr, "usage: event-write-bench [-n EVENTS] [-t TOKENS] [-w WARMUP] "
            "[-c CHUNK] [-r] [-s]\n");
    exit(2);
}

static void parse_options(int argc, char **argv, struct options *o)
{
    int ch;

    *o = (struct options){ 200000, 1000, -1, 32, 0, 0 };
    while ((ch = getopt(argc, argv, "n:t:w:c:rs")) != -1) {
        switch (ch) {
        case 'n': o->events = atol(optarg); break;
        case 't': o->tokens = atol(optarg); break;
        case 'w': o->warmup = atol(optarg); break;
        case 'c': o->chunk = atol(optarg); break;
        case 'r': o->retention = 1; break;
        case 's': o->commandstats = 1; break;
        default: usage();
        }
    }
    if (o->warmup < 0)
        o->warmup = 2 * o->tokens;
    if (o->events <= 0 || o->tokens <= 0 || o->chunk <= 0)
        usage();
}

/* ---- Redis' own figures ------------------------------------------------ */

static double info_number(const char *info, const char *name)
{
    const char *p = strstr(info, name);

    return p ? atof(p + strlen(name)) : 0;
}

static void redis_usage(redisContext *c, struct redis_usage *u)
{
    redisReply *r = redisCommand(c, "INFO cpu");
    const char *p;

    u->cpu_s = info_number(r->str, "used_cpu_user:") + info_number(r->str, "used_cpu_sys:");
    freeReplyObject(r);
    r = redisCommand(c, "INFO commandstats");
    u->scripts = u->calls = 0;
    for (p = r->str; (p = strstr(p, "cmdstat_")) != NULL; p++) {
        const char *calls = strstr(p, ":calls=");
        long long n = calls ? atoll(calls + 7) : 0;

        if (strncmp(p, "cmdstat_eval:", 13) == 0 || strncmp(p, "cmdstat_evalsha:", 16) == 0)
            u->scripts += n;
        else if (strncmp(p, "cmdstat_info:", 13) != 0 && strncmp(p, "cmdstat_script", 14) != 0
                 && strncmp(p, "cmdstat_xlen:", 13) != 0)
            u->calls += n;
    }
    freeReplyObject(r);
}

static double self_cpu(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6
        + (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* ---- events ------------------------------------------------------------ */

struct click {
    struct pb_token tok;
    char url[160];
};

static struct click *make_clicks(long n)
{
    struct click *clicks = g_new0(struct click, n);

    for (long i = 0; i < n; i++) {
        struct pb_token *tok = &clicks[i].tok;
        uint64_t id = 0x5eed000000000000ULL + (uint64_t)i;

        for (int b = 0; b < PB_MSGID_LEN; b++)
            tok->msg_id[b] = tok->contact[b] = (uint8_t)(id >> (56 - 8 * b));
        tok->kind = PB_TOKEN_CLICK;
        tok->has_contact = 1;
        tok->sent_at = (uint32_t)(time(NULL) - 86400);
        g_strlcpy(tok->campaign, "bench", sizeof(tok->campaign));
        tok->link_index = (uint16_t)(i % 10);
        snprintf(clicks[i].url, sizeof(clicks[i].url), "https://shop.example.com/product/%ld"
                 "?utm_source=newsletter&utm_medium=email&utm_campaign=bench"
                 "&utm_content=link-%ld", i, i % 10 + 1);
        tok->url = clicks[i].url;
        tok->url_len = strlen(clicks[i].url);
    }
    return clicks;
}

static void run_until_idle(void)
{
    struct pb_store_stats s;

    for (;;) {
        pb_store_stats(&s);
        if (s.redis_up && s.queued == 0 && s.backlog == 0)
            return;
        event_base_loop(base, EVLOOP_ONCE);
    }
}

/* Submit n clicks, chunk by chunk, as an HTTP loop would. */
static void submit_clicks(const struct click *clicks, long ntok, long from, long n, long chunk,
                          unsigned queue_max)
{
    struct pb_tracker_event ev = {
        .type = PB_EV_CLICK, .client_ip = "127.0.0.0", .class = PB_CLASS_HUMAN,
        .user_agent = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    };
    struct pb_store_stats s;

    for (long i = from; i < from + n;) {
        for (long k = 0; k < chunk && i < from + n; k++, i++) {
            ev.tok = &clicks[i % ntok].tok;
            pb_store_submit(&ev);
        }
        event_base_loop(base, EVLOOP_NONBLOCK);
        for (pb_store_stats(&s); s.queued > queue_max / 2; pb_store_stats(&s))
            event_base_loop(base, EVLOOP_ONCE);     /* Redis behind: wait for it */
    }
    run_until_idle();
}

static void start_store(const char *dir, const char *sock, const struct options *o)
{
    struct pb_conf conf;
    char err[512];

    pb_conf_defaults(&conf);
    free(conf.redis.socket);
    conf.redis.socket = strdup(sock);
    free(conf.tracker.journal);
    conf.tracker.journal = g_strdup_printf("%s/tracker.journal", dir);
    conf.redis.timeout_ms = 2000;
    if (!o->retention) {
        conf.tracker.stream_maxlen = 0;
        conf.tracker.stream_max_age_days = 0;
    }
    if (pb_store_start(base, &conf, err, sizeof(err)) != 0) {
        fprintf(stderr, "event-write-bench: %s\n", err);
        exit(1);
    }
    pb_conf_free(&conf);
}

int main(int argc, char **argv)
{
    struct options o;
    struct redis_usage before, after;
    struct pb_store_stats s;
    char sock[300], *cmd;
    const char *dir;
    struct click *clicks;
    redisContext *c;
    double self0, wall0, self_s, wall_s;
    int pid;

    parse_options(argc, argv, &o);
    pb_log_init("event-write-bench", 1, NULL);
    dir = tu_tmpdir();
    snprintf(sock, sizeof(sock), "%s/redis.sock", dir);
    if ((pid = tu_redis_start(sock)) <= 0) {
        fprintf(stderr, "event-write-bench: redis-server did not start\n");
        return 1;
    }
    base = event_base_new();
    start_store(dir, sock, &o);
    clicks = make_clicks(o.tokens);
    c = redisConnectUnix(sock);
    run_until_idle();
    submit_clicks(clicks, o.tokens, 0, o.warmup, o.chunk, 10000);

    redis_usage(c, &before);
    self0 = self_cpu();
    wall0 = (double)g_get_monotonic_time() / 1e6;
    submit_clicks(clicks, o.tokens, o.warmup, o.events, o.chunk, 10000);
    wall_s = (double)g_get_monotonic_time() / 1e6 - wall0;
    self_s = self_cpu() - self0;
    redis_usage(c, &after);
    pb_store_stats(&s);

    printf("event-write-bench: %ld human clicks over %ld tokens, chunks of %ld, "
           "after %ld warm-up events, stream retention %s\n", o.events, o.tokens, o.chunk,
           o.warmup, o.retention ? "default" : "off");
    printf("  Redis CPU      %7.2f us/event\n", (after.cpu_s - before.cpu_s) * 1e6 / (double)o.events);
    printf("  Redis scripts  %7.3f per event, calls from scripts %.2f per event\n",
           (double)(after.scripts - before.scripts) / (double)o.events,
           (double)(after.calls - before.calls) / (double)o.events);
    printf("  store CPU      %7.2f us/event (this process)\n", self_s * 1e6 / (double)o.events);
    printf("  wall           %7.0f events/s\n", (double)o.events / wall_s);
    printf("  written %lu, dropped %lu, journaled %lu\n", s.written, s.dropped, s.journaled);

    if (o.commandstats) {
        redisReply *r = redisCommand(c, "INFO commandstats");
        fputs(r->str, stdout);
        freeReplyObject(r);
    }
    pb_store_stop(1000);
    redisFree(c);
    event_base_free(base);
    g_free(clicks);
    tu_redis_stop(pid);
    cmd = g_strdup_printf("rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
    g_free(cmd);
    return s.dropped == 0 ? 0 : 1;
}
