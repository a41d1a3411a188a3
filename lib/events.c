/*
 * events.c - Redis writes for events, each as one self-contained RESP
 * command (EVAL of a Lua script) that can be sent now or kept in the
 * journal and replayed later with exactly the same effect.
 *
 * Every script first claims the event id with SET <p>eid:<id> NX EX; when
 * the id is already known the script returns 0 and writes nothing, so a
 * command that is replayed twice (journal cut off mid-replay, pipeline
 * retried after a timeout) is counted once. The claim is the script's
 * first write: if Redis refuses writes (OOM, read-only replica) the script
 * fails before anything is written and the command can simply be retried.
 * Times that are kept as first/last values are merged with min/max, so a
 * late replay of an old event never moves "last_sent" backwards.
 *
 * Key names and fields are documented in docs/redis-schema.md.
 */
#include <stdio.h>
#include <string.h>
#include <hiredis/hiredis.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include "contact.h"
#include "events.h"
#include "log.h"

/* One argument of a pb_argv: where it sits in a->bytes. */
struct span {
    size_t off, len;
};

void pb_argv_init(struct pb_argv *a)
{
    a->bytes = g_string_sized_new(1024);
    a->spans = g_array_sized_new(FALSE, FALSE, sizeof(struct span), 32);
}

void pb_argv_free(struct pb_argv *a)
{
    if (a->bytes)
        g_string_free(a->bytes, TRUE);
    if (a->spans)
        g_array_free(a->spans, TRUE);
    a->bytes = NULL;
    a->spans = NULL;
}

void pb_argv_addlen(struct pb_argv *a, const char *s, size_t len)
{
    struct span sp = { a->bytes->len, len };

    g_string_append_len(a->bytes, s, (gssize)len);
    g_array_append_val(a->spans, sp);
}

void pb_argv_add(struct pb_argv *a, const char *s)
{
    if (s == NULL)
        s = "";
    pb_argv_addlen(a, s, strlen(s));
}

void pb_argv_addll(struct pb_argv *a, long long v)
{
    char num[24];
    int n = snprintf(num, sizeof(num), "%lld", v);

    pb_argv_addlen(a, num, (size_t)n);
}

void pb_argv_addkey(struct pb_argv *a, const char *prefix, const char *name, const char *id)
{
    struct span sp = { a->bytes->len, 0 };

    g_string_append(a->bytes, prefix ? prefix : "");
    g_string_append(a->bytes, name);
    if (id)
        g_string_append(a->bytes, id);
    sp.len = a->bytes->len - sp.off;
    g_array_append_val(a->spans, sp);
}

void pb_argv_format(const struct pb_argv *a, GString *out)
{
    int argc = (int)a->spans->len;
    const char **argv = g_new(const char *, (gsize)argc);
    size_t *lens = g_new(size_t, (gsize)argc);
    char *cmd = NULL;
    int n;

    for (int i = 0; i < argc; i++) {
        const struct span *sp = &g_array_index(a->spans, struct span, i);
        argv[i] = a->bytes->str + sp->off;
        lens[i] = sp->len;
    }
    n = redisFormatCommandArgv(&cmd, argc, argv, lens);
    if (n < 0)
        g_error("redisFormatCommandArgv: out of memory");   /* aborts, like g_malloc */
    g_string_append_len(out, cmd, n);
    redisFreeCommand(cmd);
    g_free(argv);
    g_free(lens);
}

long long pb_event_now_ms(void)
{
    return (long long)(g_get_real_time() / 1000);
}

void pb_random_hex(size_t nbytes, char *out)
{
    uint8_t raw[32];

    nbytes = MIN(nbytes, sizeof(raw));
    if (RAND_bytes(raw, (int)nbytes) != 1) {
        /* Only when the OpenSSL generator cannot seed; GLib's generator
         * (seeded from /dev/urandom) still makes collisions unlikely. */
        static struct pb_log_limit lim;
        pb_log_limited(&lim, 1, LOG_WARNING, "RAND_bytes failed; ids from GLib random");
        for (size_t i = 0; i < nbytes; i++)
            raw[i] = (uint8_t)g_random_int();
    }
    pb_hex(raw, nbytes, out);
}

void pb_event_new_id(char out[33])
{
    pb_random_hex(16, out);
}

/*
 * sent: KEYS = eid marker, stream, msg hash, campaigns set, campaign hash
 * [, contact hash, by-email hash]  (the last two only for a known contact).
 * ARGV = 1 eid ttl, 2 msg ttl (0 = none), 3 stream maxlen (0 = none),
 * 4 ts ms, 5 eid, 6 msg, 7 contact, 8 campaign, 9 message_id, 10 queue_id,
 * 11 subject, 12 sent_at, 13 links, 14 rcpts, 15 email, 16 stream minid ms
 * (0 = none; absent in commands journaled by older builds).
 *
 * The stream is trimmed as the tracker trims it (events_tracker.c): MAXLEN ~
 * on the XADD when there is a length limit, else MINID ~ (Redis >= 6.2; an
 * older Redis gets a plain XADD), and with both limits an occasional XTRIM
 * MINID ~ (the caller passes a minid on about one command in 16).
 */
static const char sent_script[] =
    "if not redis.call('SET',KEYS[1],'1','NX','EX',ARGV[1]) then return 0 end\n"
    "local function hmax(k,f,v) local c=redis.call('HGET',k,f)\n"
    " if not c or tonumber(c)<tonumber(v) then redis.call('HSET',k,f,v) end end\n"
    "local function hmin(k,f,v) local c=redis.call('HGET',k,f)\n"
    " if not c or tonumber(c)>tonumber(v) then redis.call('HSET',k,f,v) end end\n"
    "local m={'campaign',ARGV[8],'contact',ARGV[7],'sent_at',ARGV[12],"
    "'links',ARGV[13],'rcpts',ARGV[14]}\n"
    "for i,f in ipairs({'message_id','queue_id','subject'}) do\n"
    " if ARGV[8+i]~='' then m[#m+1]=f m[#m+1]=ARGV[8+i] end end\n"
    "redis.call('HSET',KEYS[3],unpack(m))\n"
    "if tonumber(ARGV[2])>0 then redis.call('EXPIRE',KEYS[3],ARGV[2]) end\n"
    "if ARGV[8]~='' then\n"
    " redis.call('SADD',KEYS[4],ARGV[8])\n"
    " redis.call('HINCRBY',KEYS[5],'sent',1)\n"
    " redis.call('HINCRBY',KEYS[5],'recipients',ARGV[14])\n"
    " hmin(KEYS[5],'first_sent',ARGV[12]) hmax(KEYS[5],'last_sent',ARGV[12])\n"
    "end\n"
    "if #KEYS>=7 then\n"
    " redis.call('HSET',KEYS[6],'email',ARGV[15])\n"
    " redis.call('HINCRBY',KEYS[6],'sent',1)\n"
    " hmin(KEYS[6],'first_seen',ARGV[12]) hmax(KEYS[6],'last_sent',ARGV[12])\n"
    " redis.call('HSET',KEYS[7],ARGV[15],ARGV[7])\n"
    "end\n"
    "local ml,mi=tonumber(ARGV[3]),tonumber(ARGV[16] or '0')\n"
    "local e={'type','sent','eid',ARGV[5],'ts',ARGV[4],'msg',ARGV[6],'contact',ARGV[7],"
    "'campaign',ARGV[8],'links',ARGV[13],'rcpts',ARGV[14]}\n"
    "local done=false\n"
    "if ml>0 then redis.call('XADD',KEYS[2],'MAXLEN','~',ml,'*',unpack(e)) done=true\n"
    "elseif mi>0 then local r=redis.pcall('XADD',KEYS[2],'MINID','~',ARGV[16],'*',unpack(e))\n"
    " done=type(r)~='table' or not r.err end\n"
    "if not done then redis.call('XADD',KEYS[2],'*',unpack(e)) end\n"
    "if ml>0 and mi>0 then redis.pcall('XTRIM',KEYS[2],'MINID','~',ARGV[16]) end\n"
    "return 1\n";

void pb_event_sent_command(const char *prefix, int retention_days,
                           const struct pb_sent_record *rec, GString *out)
{
    struct pb_track_retention kept = {
        .msg_days = retention_days, .stream_maxlen = PB_EVENTS_MAXLEN, .stream_max_age_days = 0,
    };

    pb_event_sent_command_kept(prefix, &kept, rec, out);
}

void pb_event_sent_command_kept(const char *prefix, const struct pb_track_retention *kept,
                                const struct pb_sent_record *rec, GString *out)
{
    char eid[33], msg[2 * PB_MSGID_LEN + 1], contact[2 * PB_CONTACT_LEN + 1] = "";
    char email[512];            /* RFC 5321 caps a path at 256 octets */
    int with_contact = rec->has_contact && rec->email != NULL
                       && pb_address_normalise(rec->email, email, sizeof(email)) > 0;
    long long minid = 0;
    struct pb_argv a;

    pb_event_new_id(eid);
    /* Age limit on every XADD when it is the only limit; with a length
     * limit too, an XTRIM on one command in 16 (by the random id). */
    if (kept->stream_max_age_days > 0 && (kept->stream_maxlen <= 0 || eid[0] == '0'))
        minid = MAX(pb_event_now_ms() - (long long)kept->stream_max_age_days * 86400000LL, 1);
    pb_hex(rec->msg_id, PB_MSGID_LEN, msg);
    if (rec->has_contact)
        pb_hex(rec->contact, PB_CONTACT_LEN, contact);

    pb_argv_init(&a);
    pb_argv_add(&a, "EVAL");
    pb_argv_addlen(&a, sent_script, sizeof(sent_script) - 1);
    pb_argv_addll(&a, with_contact ? 7 : 5);
    pb_argv_addkey(&a, prefix, PB_KEY_EID, eid);
    pb_argv_addkey(&a, prefix, PB_KEY_EVENTS, NULL);
    pb_argv_addkey(&a, prefix, PB_KEY_MSG, msg);
    pb_argv_addkey(&a, prefix, PB_KEY_CAMPAIGNS, NULL);
    pb_argv_addkey(&a, prefix, PB_KEY_CAMPAIGN, rec->campaign ? rec->campaign : "");
    if (with_contact) {
        pb_argv_addkey(&a, prefix, PB_KEY_CONTACT, contact);
        pb_argv_addkey(&a, prefix, PB_KEY_BY_EMAIL, NULL);
    }
    pb_argv_addll(&a, PB_EVENT_ID_TTL);
    pb_argv_addll(&a, kept->msg_days > 0 ? (long long)kept->msg_days * 86400 : 0);
    pb_argv_addll(&a, kept->stream_maxlen > 0 ? kept->stream_maxlen : 0);
    pb_argv_addll(&a, pb_event_now_ms());
    pb_argv_add(&a, eid);
    pb_argv_add(&a, msg);
    pb_argv_add(&a, contact);
    pb_argv_add(&a, rec->campaign);
    pb_argv_add(&a, rec->message_id);
    pb_argv_add(&a, rec->queue_id);
    pb_argv_add(&a, rec->subject);
    pb_argv_addll(&a, rec->sent_at);
    pb_argv_addll(&a, rec->links);
    pb_argv_addll(&a, rec->recipients);
    pb_argv_add(&a, with_contact ? email : "");
    pb_argv_addll(&a, minid);
    pb_argv_format(&a, out);
    pb_argv_free(&a);
}

/* ---- EVALSHA on a live connection -------------------------------------- */

void pb_event_sent_sha(char sha[41])
{
    pb_event_script_sha(sent_script, sizeof(sent_script) - 1, sha);
}

int pb_event_sent_evalsha(const char *cmd, size_t len, const char sha[41], GString *out)
{
    return pb_event_evalsha_of(sent_script, sizeof(sent_script) - 1, cmd, len, sha, out);
}

void pb_event_script_sha(const char *script, size_t script_len, char sha[41])
{
    uint8_t md[SHA_DIGEST_LENGTH];

    SHA1((const unsigned char *)script, script_len, md);
    pb_hex(md, sizeof(md), sha);
}

#define EVAL_HEAD "$4\r\nEVAL\r\n"

int pb_event_evalsha_of(const char *script, size_t script_len, const char *cmd, size_t len,
                        const char sha[41], GString *out)
{
    char bulk[24];
    size_t hlen = (size_t)g_snprintf(bulk, sizeof(bulk), "$%zu\r\n", script_len);
    const char *nl = memchr(cmd, '\n', MIN(len, (size_t)16));
    const char *p;
    size_t head, skip;

    if (nl == NULL || cmd[0] != '*')
        return -1;
    head = (size_t)(nl + 1 - cmd);                          /* "*<argc>\r\n" */
    skip = sizeof(EVAL_HEAD) - 1 + hlen + script_len + 2;   /* EVAL and the script */
    if (len < head + skip)
        return -1;
    p = cmd + head;
    if (memcmp(p, EVAL_HEAD, sizeof(EVAL_HEAD) - 1) != 0
        || memcmp(p += sizeof(EVAL_HEAD) - 1, bulk, hlen) != 0
        || memcmp(p += hlen, script, script_len) != 0
        || memcmp(p + script_len, "\r\n", 2) != 0)
        return -1;
    g_string_truncate(out, 0);
    g_string_append_len(out, cmd, (gssize)head);
    g_string_append(out, "$7\r\nEVALSHA\r\n$40\r\n");
    g_string_append_len(out, sha, 40);
    g_string_append(out, "\r\n");
    g_string_append_len(out, cmd + head + skip, (gssize)(len - head - skip));
    return 0;
}
