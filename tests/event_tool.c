/*
 * event_tool.c - writes events into a test's Redis exactly as the milter
 * and the tracker write them, through their own Lua scripts
 * (lib/events.c: the milter's `sent`; lib/events_tracker.c: the tracker's
 * batch of opens, clicks and unsubscribes, with its counters, unique
 * sets, link counters and imputed opens), at the times the test says:
 * the fixture of tests/cli_report.sh. One event a line on stdin:
 *
 *   sent MSG CONTACT|- EMAIL|- CAMPAIGN TS_MS LINKS
 *   open MSG CONTACT|- CAMPAIGN TS_MS human|machine [REASON]
 *   click MSG CONTACT|- CAMPAIGN TS_MS human|machine LINK URL [REASON]
 *   unsubscribe MSG CONTACT|- CAMPAIGN TS_MS
 *
 * MSG and CONTACT are 16 hex digits. A `sent` sets the message's send
 * time (its TS_MS in seconds) for the tokens of later events of it; the
 * milter's script takes its entry's ts from the clock, so the tool puts
 * TS_MS in its place in the command (the script itself is unchanged).
 * Lines starting with # and empty lines are skipped.
 *
 *   event-tool SOCKET PREFIX < events
 *
 * Exit status 0 when every event was written, 1 after a refused one, 2
 * on a usage error or a bad line (named with its number).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include <hiredis/hiredis.h>
#include "contact.h"
#include "events.h"
#include "token.h"

#define SENT_TS_ARG 4           /* ARGV[4] of the sent script: the entry's ts */

static GHashTable *sent_at;     /* msg hex -> send time (seconds) */

/* Send one RESP command and check the reply: 0, or 1 after an error. */
static int send_raw(redisContext *c, const char *cmd, size_t len, int lineno)
{
    redisReply *r = NULL;
    int bad;

    if (redisAppendFormattedCommand(c, cmd, len) != REDIS_OK
        || redisGetReply(c, (void **)&r) != REDIS_OK || r == NULL) {
        fprintf(stderr, "event-tool: line %d: %s\n", lineno, c->errstr);
        return 1;
    }
    bad = r->type == REDIS_REPLY_ERROR
          || (r->type == REDIS_REPLY_ARRAY && r->elements > 0 && r->element[0]->str
              && strchr(r->element[0]->str, 'E') != NULL);
    if (bad)
        fprintf(stderr, "event-tool: line %d: refused: %s\n", lineno,
                r->type == REDIS_REPLY_ERROR ? r->str : r->element[1]->str);
    freeReplyObject(r);
    return bad;
}

/* The milter's command with its entry's ts replaced by ts. */
static int sent_command(const char *cmd, size_t len, long long ts, GString *out)
{
    redisReader *rd = redisReaderCreate();
    redisReply *r = NULL;
    int rc = -1;

    redisReaderFeed(rd, cmd, len);
    if (redisReaderGetReply(rd, (void **)&r) == REDIS_OK && r && r->type == REDIS_REPLY_ARRAY) {
        size_t n = r->elements, at = 3 + (size_t)atoi(r->element[2]->str) + SENT_TS_ARG - 1;
        const char **argv = g_new(const char *, n);
        size_t *lens = g_new(size_t, n);
        char tsbuf[32], *fmt;
        long long flen;
        g_snprintf(tsbuf, sizeof(tsbuf), "%lld", ts);
        for (size_t i = 0; i < n; i++) {
            argv[i] = i == at ? tsbuf : r->element[i]->str;
            lens[i] = i == at ? strlen(tsbuf) : r->element[i]->len;
        }
        flen = redisFormatCommandArgv(&fmt, (int)n, argv, lens);
        if (flen > 0) {
            g_string_append_len(out, fmt, (gssize)flen);
            redisFreeCommand(fmt);
            rc = 0;
        }
        g_free(argv);
        g_free(lens);
    }
    if (r)
        freeReplyObject(r);
    redisReaderFree(rd);
    return rc;
}

static int do_sent(redisContext *c, const char *prefix, char **f, int n, int lineno)
{
    struct pb_sent_record rec = { 0 };
    struct pb_track_retention kept = { .msg_days = 180, .stream_maxlen = 0 };
    GString *cmd = g_string_new(NULL), *fixed = g_string_new(NULL);
    long long ts;
    int rc;

    if (n != 7 || pb_unhex(f[1], rec.msg_id, PB_MSGID_LEN) != 0
        || (strcmp(f[2], "-") != 0 && pb_unhex(f[2], rec.contact, PB_CONTACT_LEN) != 0))
        return 2;
    ts = strtoll(f[5], NULL, 10);
    rec.has_contact = strcmp(f[2], "-") != 0;
    rec.email = strcmp(f[3], "-") != 0 ? f[3] : NULL;
    rec.campaign = f[4];
    rec.sent_at = (uint32_t)(ts / 1000);
    rec.links = (unsigned)atoi(f[6]);
    rec.recipients = 1;
    rec.subject = "fixture";
    g_hash_table_insert(sent_at, g_strdup(f[1]), GUINT_TO_POINTER(rec.sent_at));
    pb_event_sent_command_kept(prefix, &kept, &rec, cmd);
    rc = sent_command(cmd->str, cmd->len, ts, fixed) == 0
         ? send_raw(c, fixed->str, fixed->len, lineno) : 2;
    g_string_free(cmd, TRUE);
    g_string_free(fixed, TRUE);
    return rc;
}

static int do_tracked(redisContext *c, const char *prefix, struct pb_track_run *run, char **f,
                      int n, int lineno)
{
    struct pb_token tok = { 0 };
    struct pb_track_record rec = { .tok = &tok, .user_agent = "Mozilla/5.0 (fixture)",
                                   .client_ip = "192.0.2.0" };
    struct pb_track_batch b;
    struct pb_track_retention ret = { .msg_days = 180 };
    GString *r = g_string_new(NULL), *cmd = g_string_new(NULL);
    int click = strcmp(f[0], "click") == 0, unsub = strcmp(f[0], "unsubscribe") == 0, rc = 2;
    int need = unsub ? 5 : click ? 8 : 6;

    if (n < need || pb_unhex(f[1], tok.msg_id, PB_MSGID_LEN) != 0
        || (strcmp(f[2], "-") != 0 && pb_unhex(f[2], tok.contact, PB_CONTACT_LEN) != 0)
        || strlen(f[3]) > PB_CAMPAIGN_MAX)
        goto out;
    tok.has_contact = strcmp(f[2], "-") != 0;
    g_strlcpy(tok.campaign, f[3], sizeof(tok.campaign));
    tok.sent_at = GPOINTER_TO_UINT(g_hash_table_lookup(sent_at, f[1]));
    rec.type = click ? PB_TRACK_CLICK : unsub ? PB_TRACK_UNSUBSCRIBE : PB_TRACK_OPEN;
    rec.ts_ms = strtoll(f[4], NULL, 10);
    rec.machine = !unsub && strcmp(f[5], "machine") == 0;
    if (click) {
        tok.link_index = (uint16_t)atoi(f[6]);
        tok.url = f[7];
        tok.url_len = strlen(f[7]);
    }
    rec.reason = n > need ? f[need] : (rec.machine ? "scanner:fixture" : NULL);
    pb_event_tracker_record(prefix, run, &rec, NULL, r);
    pb_track_batch_init(&b);
    if (pb_track_batch_add(&b, r->str, r->len) == 1) {
        pb_track_batch_command(&b, &ret, NULL, cmd);
        rc = send_raw(c, cmd->str, cmd->len, lineno);
    }
    pb_track_batch_free(&b);
out:
    g_string_free(r, TRUE);
    g_string_free(cmd, TRUE);
    return rc;
}

int main(int argc, char **argv)
{
    char line[4096];
    struct pb_track_run run;
    redisContext *c;
    int lineno = 0, rc = 0;

    if (argc != 3) {
        fprintf(stderr, "usage: event-tool SOCKET PREFIX < events\n");
        return 2;
    }
    c = redisConnectUnix(argv[1]);
    if (c == NULL || c->err) {
        fprintf(stderr, "event-tool: %s: %s\n", argv[1], c ? c->errstr : "out of memory");
        return 2;
    }
    sent_at = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    pb_event_tracker_run_init(&run);
    while (rc < 2 && fgets(line, sizeof(line), stdin)) {
        char **f;
        int n;
        lineno++;
        g_strstrip(line);
        if (line[0] == '\0' || line[0] == '#')
            continue;
        f = g_strsplit_set(line, " \t", -1);
        n = (int)g_strv_length(f);
        if (strcmp(f[0], "sent") == 0)
            rc |= do_sent(c, argv[2], f, n, lineno);
        else if (strcmp(f[0], "open") == 0 || strcmp(f[0], "click") == 0
                 || strcmp(f[0], "unsubscribe") == 0)
            rc |= do_tracked(c, argv[2], &run, f, n, lineno);
        else
            rc = 2;
        if (rc >= 2)
            fprintf(stderr, "event-tool: line %d: not an event line: %s\n", lineno, line);
        g_strfreev(f);
    }
    g_hash_table_destroy(sent_at);
    redisFree(c);
    return rc;
}
