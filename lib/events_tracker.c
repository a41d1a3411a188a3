/*
 * events_tracker.c - the Redis write of one tracker event (open, click,
 * unsubscribe) as a single self-contained EVAL, like the milter's `sent`
 * (events.c): built once when the request is answered, then sent at once
 * or kept in the tracker's journal and replayed later, byte for byte.
 *
 * The script claims the event id first (SET <p>eid:<id> NX EX); a second
 * run of the same command returns 0 and changes nothing. It then keeps
 * every counter a report needs current, so no report scans the stream:
 *
 *   campaign hash      opens/clicks, total and unique, human and machine,
 *                      imputed opens, unsubscribes
 *   campaign-links     per link index: url, clicks, unique clicks
 *   uniq:* sets        who has been counted as unique (exact, see below)
 *   msg hash           per-message opens/clicks and first/last times
 *   contact hash       last open/click, unsubscribe time
 *   suppressed         contact ids that unsubscribed
 *
 * "Unique" counts a recipient once per campaign: the contact id, or for
 * campaign-level mail (one body, several recipients, no contact) the
 * message id as "m:<msg>". Exact sets, not HyperLogLog: a counter that
 * reports can quote needs no error bar, and a set member is ~16 bytes.
 *
 * An imputed open: a human click on a message that has no human open yet
 * (a blocked image, or only a privacy proxy's fetch) also writes an `open`
 * entry with imputed=1, before the click, and counts it as a human open.
 *
 * A connection that has loaded the script may send the command as EVALSHA
 * (pb_event_tracker_evalsha, at the end): Redis then reads 40 bytes, not
 * 3 kB, per event. The journal keeps the EVAL form.
 *
 * Key names and fields: docs/redis-schema.md.
 */
#include <string.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include "contact.h"
#include "events.h"

/*
 * KEYS: 1 eid, 2 stream, 3 msg, 4 campaigns, 5 campaign, 6 campaign-links,
 *       7 contact (untouched without one), 8 suppressed, 9 uniq set of
 *       this event (type, class), 10 uniq link set (class), 11 uniq
 *       open-human (imputed opens).
 * ARGV: 1 type, 2 class, 3 eid, 4 ts ms, 5 ts s, 6 msg, 7 contact,
 *       8 campaign, 9 sent_at, 10 link, 11 url, 12 ua, 13 ip, 14 reason,
 *       15 unique member, 16 eid ttl, 17 msg ttl (0 none), 18 maxlen
 *       (0 none), 19 minid ms (0 none), 20 imputed-open eid ('' none).
 *
 * Each redis.call costs Redis 1-3 microseconds (the command and the trip
 * through Lua), most of an event's cost, so the script makes as few as
 * the counters allow. It leans on what the message hash's own counters
 * already say (HINCRBY answers the new count):
 *
 *   - a count of 1 is the message's first event of that kind: only then
 *     can the hash be new (TTL/EXPIRE), first_open or first_click be unset
 *     (opens_human and clicks_human count from the event that sets them;
 *     written with the "last" times in one HSET per hash at the end), and,
 *     for a human click, the message lack a human open (every human click
 *     leaves first_open set: its first HSETNXes it and imputes if new);
 *   - a recipient already in the link set (SADD answers 0) is already in
 *     the campaign's click set, so that SADD is skipped.
 *
 * The stream entry's fields go to XADD as arguments (no table built).
 */
static const char tracker_script[] =
    "if not redis.call('SET',KEYS[1],'1','NX','EX',ARGV[16]) then return 0 end\n"
    "local cl,sec,who,ct,M,C,P=ARGV[2],ARGV[5],ARGV[15],ARGV[7],KEYS[3],KEYS[5],KEYS[7]\n"
    "local ml,mi,ms,ps,new=tonumber(ARGV[18]),tonumber(ARGV[19]),{},{},false\n"
    "local function inc(k,f) return redis.call('HINCRBY',k,f,1) end\n"
    "local function uniq(s,m,k,f) if redis.call('SADD',s,m)==1 then inc(k,f) end end\n"
    "local function put(t,f) t[#t+1]=f t[#t+1]=sec end\n"
    "local function last(f) put(ms,f) if ct~='' then put(ps,f) end end\n"
    "local function xadd(...)\n"
    " if ml>0 then redis.call('XADD',KEYS[2],'MAXLEN','~',ml,'*',...) return end\n"
    " if mi>0 then local r=redis.pcall('XADD',KEYS[2],'MINID','~',ARGV[19],'*',...)\n"
    "  if type(r)~='table' or not r.err then return end end\n"
    " redis.call('XADD',KEYS[2],'*',...) end\n"
    "local function human_open()\n"
    " inc(C,'opens_human') uniq(KEYS[11],who,C,'unique_opens_human')\n"
    " last('last_open') if inc(M,'opens_human')==1 then new=true return true end end\n"
    "if ARGV[1]=='open' then\n"
    " if cl=='human' then if human_open() then put(ms,'first_open') end\n"
    " else inc(C,'opens_machine') uniq(KEYS[9],who,C,'unique_opens_machine')\n"
    "  if inc(M,'opens_machine')==1 then new=true end end\n"
    " xadd('type','open','eid',ARGV[3],'ts',ARGV[4],'msg',ARGV[6],'contact',ct,"
    "'campaign',ARGV[8],'sent_at',ARGV[9],'imputed','0','ua',ARGV[12],'ip',ARGV[13],"
    "'class',cl,'reason',ARGV[14])\n"
    "elseif ARGV[1]=='click' then\n"
    " local L,i=KEYS[6],ARGV[10]\n"
    " if inc(M,'clicks_'..cl)==1 then new=true\n"
    "  if ARGV[20]~='' and redis.call('HSETNX',M,'first_open',sec)==1 then\n"
    "   human_open() inc(C,'imputed_opens')\n"
    "   xadd('type','open','eid',ARGV[20],'ts',ARGV[4],'msg',ARGV[6],'contact',ct,"
    "'campaign',ARGV[8],'sent_at',ARGV[9],'imputed','1','ua',ARGV[12],'ip',ARGV[13],"
    "'class','human','reason','') end\n"
    "  if cl=='human' then put(ms,'first_click') end end\n"
    " inc(C,'clicks_'..cl) inc(L,i..':clicks_'..cl)\n"
    " if redis.call('SADD',KEYS[10],i..':'..who)==1 then inc(L,i..':unique_clicks_'..cl)\n"
    "  redis.call('HSET',L,i..':url',ARGV[11]) uniq(KEYS[9],who,C,'unique_clicks_'..cl) end\n"
    " if cl=='human' then last('last_click') end\n"
    " xadd('type','click','eid',ARGV[3],'ts',ARGV[4],'msg',ARGV[6],'contact',ct,"
    "'campaign',ARGV[8],'sent_at',ARGV[9],'link',i,'url',ARGV[11],'ua',ARGV[12],"
    "'ip',ARGV[13],'class',cl,'reason',ARGV[14])\n"
    "else\n"
    " if ct~='' then redis.call('SADD',KEYS[8],ct) redis.call('HSETNX',P,'unsubscribed_at',sec) end\n"
    " uniq(KEYS[9],who,C,'unsubscribes')\n"
    " if redis.call('HSETNX',M,'unsubscribed_at',sec)==1 then new=true end\n"
    " xadd('type','unsubscribe','eid',ARGV[3],'ts',ARGV[4],'msg',ARGV[6],'contact',ct,"
    "'campaign',ARGV[8],'sent_at',ARGV[9],'ua',ARGV[12],'ip',ARGV[13],'class',cl,"
    "'reason',ARGV[14])\n"
    "end\n"
    "if #ms>0 then redis.call('HSET',M,unpack(ms)) end\n"
    "if #ps>0 then redis.call('HSET',P,unpack(ps)) end\n"
    "if new and tonumber(ARGV[17])>0 and redis.call('TTL',M)==-1 then redis.call('EXPIRE',M,ARGV[17]) end\n"
    "if ml>0 and mi>0 then redis.pcall('XTRIM',KEYS[2],'MINID','~',ARGV[19]) end\n"
    "return 1\n";

static const char *type_word(enum pb_track_type t)
{
    switch (t) {
    case PB_TRACK_OPEN:
        return "open";
    case PB_TRACK_CLICK:
        return "click";
    default:
        return "unsubscribe";
    }
}

/* Name of the uniq set this event counts in (before ":<campaign>"). */
static const char *uniq_set(enum pb_track_type t, int machine)
{
    switch (t) {
    case PB_TRACK_OPEN:
        return machine ? "open-machine:" : "open-human:";
    case PB_TRACK_CLICK:
        return machine ? "click-machine:" : "click-human:";
    default:
        return "unsubscribe:";
    }
}

/* Add prefix + "uniq:" + set + campaign as one key. */
static void add_uniq_key(struct pb_argv *a, const char *prefix, const char *set,
                         const char *campaign)
{
    char *name = g_strconcat(PB_KEY_UNIQ, set, NULL);

    pb_argv_addkey(a, prefix, name, campaign);
    g_free(name);
}

/* The User-Agent, at most PB_EVENT_UA_MAX bytes, not cut inside a UTF-8
 * sequence. */
static void add_user_agent(struct pb_argv *a, const char *ua)
{
    size_t n = ua ? strlen(ua) : 0;

    if (n > PB_EVENT_UA_MAX) {
        n = PB_EVENT_UA_MAX;
        while (n > 0 && ((unsigned char)ua[n] & 0xc0) == 0x80)
            n--;
    }
    pb_argv_addlen(a, ua ? ua : "", n);
}

/* The event id, and (if open_eid) the id of an imputed open: one call
 * to the generator for both (it is a good part of the cost of an event). */
static void new_ids(char eid[33], char *open_eid)
{
    uint8_t raw[32];

    if (open_eid == NULL) {
        pb_event_new_id(eid);
    } else if (RAND_bytes(raw, sizeof(raw)) == 1) {
        pb_hex(raw, 16, eid);
        pb_hex(raw + 16, 16, open_eid);
    } else {
        pb_event_new_id(eid);   /* falls back to GLib's generator */
        pb_event_new_id(open_eid);
    }
}

static void add_keys(struct pb_argv *a, const char *prefix, const struct pb_track_record *rec,
                     const char *eid, const char *msg, const char *contact)
{
    const char *campaign = rec->tok->campaign;

    pb_argv_addll(a, 11);
    pb_argv_addkey(a, prefix, PB_KEY_EID, eid);
    pb_argv_addkey(a, prefix, PB_KEY_EVENTS, NULL);
    pb_argv_addkey(a, prefix, PB_KEY_MSG, msg);
    pb_argv_addkey(a, prefix, PB_KEY_CAMPAIGNS, NULL);
    pb_argv_addkey(a, prefix, PB_KEY_CAMPAIGN, campaign);
    pb_argv_addkey(a, prefix, PB_KEY_CAMPAIGN_LINKS, campaign);
    pb_argv_addkey(a, prefix, PB_KEY_CONTACT, contact);
    pb_argv_addkey(a, prefix, PB_KEY_SUPPRESSED, NULL);
    add_uniq_key(a, prefix, uniq_set(rec->type, rec->machine), campaign);
    add_uniq_key(a, prefix, rec->machine ? "link-machine:" : "link-human:", campaign);
    add_uniq_key(a, prefix, "open-human:", campaign);
}

void pb_event_tracker_command(const char *prefix, const struct pb_track_retention *ret,
                              const struct pb_track_record *rec, char eid_out[33], GString *out)
{
    const struct pb_token *tok = rec->tok;
    char eid[33], open_eid[33] = "", msg[2 * PB_MSGID_LEN + 1];
    char contact[2 * PB_CONTACT_LEN + 1] = "", member[2 * PB_MSGID_LEN + 3];
    long long ts = rec->ts_ms > 0 ? rec->ts_ms : pb_event_now_ms(), minid = 0;
    int click = rec->type == PB_TRACK_CLICK;
    struct pb_argv a;

    new_ids(eid, click && !rec->machine ? open_eid : NULL);
    pb_hex(tok->msg_id, PB_MSGID_LEN, msg);
    if (tok->has_contact) {
        pb_hex(tok->contact, PB_CONTACT_LEN, contact);
        g_strlcpy(member, contact, sizeof(member));
    } else {
        g_snprintf(member, sizeof(member), "m:%s", msg);
    }
    /* Age limit: on every XADD when it is the only limit; with a length
     * limit as well, an XTRIM on one event in 16 (by its random id) is
     * plenty for a limit counted in days, and spares the other 15 a call. */
    if (ret->stream_max_age_days > 0 && (ret->stream_maxlen <= 0 || eid[0] == '0'))
        minid = MAX(pb_event_now_ms() - (long long)ret->stream_max_age_days * 86400000LL, 1);

    pb_argv_init(&a);
    pb_argv_add(&a, "EVAL");
    pb_argv_addlen(&a, tracker_script, sizeof(tracker_script) - 1);
    add_keys(&a, prefix, rec, eid, msg, contact);
    pb_argv_add(&a, type_word(rec->type));
    pb_argv_add(&a, rec->machine ? "machine" : "human");
    pb_argv_add(&a, eid);
    pb_argv_addll(&a, ts);
    pb_argv_addll(&a, ts / 1000);
    pb_argv_add(&a, msg);
    pb_argv_add(&a, contact);
    pb_argv_add(&a, tok->campaign);
    pb_argv_addll(&a, tok->sent_at);
    if (click) {
        pb_argv_addll(&a, tok->link_index);
        pb_argv_addlen(&a, tok->url ? tok->url : "", tok->url ? tok->url_len : 0);
    } else {
        pb_argv_add(&a, "");
        pb_argv_add(&a, "");
    }
    add_user_agent(&a, rec->user_agent);
    pb_argv_add(&a, rec->client_ip);
    pb_argv_add(&a, rec->machine ? rec->reason : "");
    pb_argv_add(&a, member);
    pb_argv_addll(&a, PB_EVENT_ID_TTL);
    pb_argv_addll(&a, ret->msg_days > 0 ? (long long)ret->msg_days * 86400 : 0);
    pb_argv_addll(&a, ret->stream_maxlen > 0 ? ret->stream_maxlen : 0);
    pb_argv_addll(&a, minid);
    pb_argv_add(&a, open_eid);
    pb_argv_format(&a, out);
    pb_argv_free(&a);
    if (eid_out)
        memcpy(eid_out, eid, sizeof(eid));
}

/* ---- EVALSHA on a live connection -------------------------------------- */

#define EVAL_HEAD "$4\r\nEVAL\r\n"

void pb_event_tracker_script_load(GString *out)
{
    g_string_append(out, "*3\r\n$6\r\nSCRIPT\r\n$4\r\nLOAD\r\n");
    g_string_append_printf(out, "$%zu\r\n", sizeof(tracker_script) - 1);
    g_string_append_len(out, tracker_script, sizeof(tracker_script) - 1);
    g_string_append(out, "\r\n");
}

void pb_event_tracker_sha(char out[41])
{
    uint8_t md[SHA_DIGEST_LENGTH];

    SHA1((const unsigned char *)tracker_script, sizeof(tracker_script) - 1, md);
    pb_hex(md, sizeof(md), out);
}

/* Length of the RESP bulk header of the script ("$<n>\r\n"). */
static size_t script_header(char *buf, size_t len)
{
    return (size_t)g_snprintf(buf, len, "$%zu\r\n", sizeof(tracker_script) - 1);
}

int pb_event_tracker_evalsha(const char *cmd, size_t len, const char sha[41], GString *out)
{
    char bulk[24];
    size_t hlen = script_header(bulk, sizeof(bulk)), body = sizeof(tracker_script) - 1;
    const char *nl = memchr(cmd, '\n', MIN(len, (size_t)16));
    const char *p;
    size_t head, skip;

    if (nl == NULL || cmd[0] != '*')
        return -1;
    head = (size_t)(nl + 1 - cmd);                          /* "*<argc>\r\n" */
    skip = sizeof(EVAL_HEAD) - 1 + hlen + body + 2;         /* EVAL and the script */
    if (len < head + skip)
        return -1;
    p = cmd + head;
    if (memcmp(p, EVAL_HEAD, sizeof(EVAL_HEAD) - 1) != 0
        || memcmp(p += sizeof(EVAL_HEAD) - 1, bulk, hlen) != 0
        || memcmp(p += hlen, tracker_script, body) != 0
        || memcmp(p + body, "\r\n", 2) != 0)
        return -1;
    g_string_truncate(out, 0);
    g_string_append_len(out, cmd, (gssize)head);
    g_string_append(out, "$7\r\nEVALSHA\r\n$40\r\n");
    g_string_append_len(out, sha, 40);
    g_string_append(out, "\r\n");
    g_string_append_len(out, cmd + head + skip, (gssize)(len - head - skip));
    return 0;
}
