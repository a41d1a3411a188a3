/*
 * events_tracker.c - the Redis writes of tracker events (open, click,
 * unsubscribe): each event becomes one record when the request is
 * answered (pb_event_tracker_record), the unit the tracker queues and
 * journals; records are written in batches, one run of the script below
 * per batch (pb_track_batch_*), sent as EVALSHA.
 *
 * Exactly once. A record carries its tracker run's id and its number in
 * that run (1, 2, 3... in the order the events happened). Redis keeps one
 * bit per event number: <p>seen:<run>:<block> is a bitmap of 2^20
 * numbers (a block: the number's upper 44 bits, its first 11 hex digits;
 * the bit: its last 5), so a key holds at most 128 kB and a batch never
 * spans two (pb_track_batch_add starts a new batch at a block's end).
 * The script's first write sets the bits of the batch's events with one
 * BITFIELD, which answers their old values: an event whose bit was set
 * is skipped. Consecutive numbers share one field of up to 32 bits,
 * given by the command (a field per event made the script 25% dearer). Order does not matter: a batch refused (out of memory,
 * read-only, a lost connection) and sent again after later batches of
 * its run were written is still written once, and so is a batch that
 * Redis ran but whose reply was lost. Numbers are 16 hex digits (below
 * 2^53 in any real run: exact as Lua numbers). Records of a run of an
 * older tracker (which kept only the last number written, in
 * <p>seq:<run>) are also skipped at or below that number.
 *
 * Custom events (lib/events_custom.c: the shop's cart_abandoned, purchase,
 * signup...) ride in the same records and batches, so they share the
 * journal and the exactly-once bits; the script writes their stream entry,
 * the contact's address (and a signup's attributes) and, when the sender
 * named the event, its id once (<p>eid:<id>: a retry is answered 'D').
 *
 * The script keeps every counter a report needs current, so no report
 * scans the stream (fields: docs/redis-schema.md):
 *
 *   campaign hash      opens/clicks, total and unique, human and machine,
 *                      imputed opens, unsubscribes
 *   campaign-links     per link index: url, clicks, unique clicks
 *   uniq:* sets        who has been counted as unique (exact); open-msg
 *                      (messages with a human open) decides imputed opens
 *   suppressed         contact ids that unsubscribed (and unsubscribed_at
 *                      on the message and the contact)
 *
 * Opens and clicks write nothing to the message's or the contact's hash:
 * that activity is in the stream, which the scorer reads, and a hash
 * write per event was a third of Redis's cost per click.
 *
 * Each redis.call costs Redis about a microsecond, most of an event's
 * cost, so the script makes as few as a batch allows: one SMISMEMBER and
 * one SADD per uniq set, one HINCRBY per campaign or link counter, and one
 * XADD per stream entry; the stream is trimmed once per batch.
 *
 * A write that Redis refuses (a key of the wrong type: a broken event)
 * marks the events it was for 'E' and the others go on; a refusal of the
 * batch's first write, the BITFIELD (out of memory, read-only replica),
 * fails the whole script before it has changed anything, and the batch is
 * sent again later (Redis lets a script that has written go on writing).
 */
#include <string.h>
#include "contact.h"
#include "events.h"

/*
 * KEYS: 1 stream, 2 seen:<run>:<block>, 3 suppressed, 4 seq:<run> (an
 *       older tracker's mark).
 * ARGV: 1 prefix, 2 run id, 3 msg TTL (0 none), 4 maxlen (0 none), 5 minid
 *       ms (0 none), 6 seen key TTL, 7 runs of consecutive bits, then each
 *       run's first bit and width (1-32, the events in order); then 13 per
 *       event: 1 number, 2 type,
 *       3 class, 4 ts ms, 5 msg, 6 contact ('' none), 7 campaign,
 *       8 sent_at, 9 link, 10 url, 11 ua, 12 ip, 13 reason.
 * Other keys are built from the prefix (with a hash tag in the prefix,
 * all of them share one cluster slot).
 */
static const char batch_script[] =
    "local call,pc,S,P,run=redis.call,redis.pcall,KEYS[1],ARGV[1],ARGV[2]\n"
    "local mttl,ml,mi,F=tonumber(ARGV[3]),tonumber(ARGV[4]),tonumber(ARGV[5]),13\n"
    "local nc=tonumber(ARGV[7]) local B=7+2*nc\n"
    "local n,st,err,bf,new=(#ARGV-B)/F,{},'',{},0\n"
    /* which events are new: set their bits, the old values answer. The
     * batch's numbers come as runs of consecutive bits (offset, width up
     * to 32), each one BITFIELD field: a few arguments, not four per event */
    "for c=1,nc do local k=4*c bf[k-3]='SET' bf[k-2]='u'..ARGV[7+2*c]\n"
    " bf[k-1]=ARGV[6+2*c] bf[k]=string.format('%d',2^tonumber(ARGV[7+2*c])-1) end\n"
    "local old=call('BITFIELD',KEYS[2],unpack(bf))\n"
    "call('EXPIRE',KEYS[2],ARGV[6])\n"
    "local hw=tonumber(call('GET',KEYS[4]) or '',16) or -1\n"
    "local i=1 for c=1,nc do local v,w=old[c],tonumber(ARGV[7+2*c])\n"
    " for j=w-1,0,-1 do local b=v%2 v=(v-b)/2\n"
    "  if b==0 and (hw<0 or tonumber(ARGV[B+(i+j-1)*F+1],16)>hw) then st[i+j]='1' new=new+1\n"
    "  else st[i+j]='0' end end i=i+w end\n"
    "if new==0 then return {table.concat(st),''} end\n"
    "local ec,C,Cs,Us,imp,uns,cus={},{},{},{},{},{},{}\n"
    /* field names by type and class: counter, unique counter, uniq set */
    "local N={open={human={'opens_human','unique_opens_human','open-human:'},\n"
    " machine={'opens_machine','unique_opens_machine','open-machine:'}},\n"
    " click={human={'clicks_human','unique_clicks_human','click-human:'},\n"
    " machine={'clicks_machine','unique_clicks_machine','click-machine:'}},\n"
    " unsubscribe={human={nil,'unsubscribes','unsubscribe:'},machine={nil,'unsubscribes','unsubscribe:'}}}\n"
    /* a refused write marks its event (or index), or the events of its campaign */
    "local function bad(x,e) err=e for i=1,n do if st[i]=='1' and (i==x or ec[i]==x) then st[i]='E' end end end\n"
    "local function ok(x,r) if type(r)=='table' and r.err then bad(x,r.err) return nil end return r end\n"
    "local function inc(t,f) t[f]=(t[f] or 0)+1 end\n"
    /* the uniq set `name` of campaign c: j members to check (m), each with
     * its event (x: a link set's click, or the click that may impute an
     * open); a new one increments field f of hash h (a link set has no f:
     * its click names the link's counter) */
    "local function uset(c,name,h,f) local s={k=c.u..name..c.n,c=c,h=h,f=f,m={},x={},seen={},j=0}\n"
    " c.s[name]=s Us[#Us+1]=s return s end\n"
    /* which of the n members m of set k are in it (SMISMEMBER, or one by
     * one before Redis 6.2): 1 or 0 each, or an error reply */
    "local function ismember(k,m,n) local r=pc('SMISMEMBER',k,unpack(m,1,n))\n"
    " if type(r)=='table' and r.err then r={} for j=1,n do\n"
    "  local x=pc('SISMEMBER',k,m[j]) if type(x)=='table' and x.err then return x end r[j]=x end end\n"
    " return r end\n"
    /* each event in order: its counters, and what it may add to which
     * uniq set. A human open or click also puts its message in open-msg
     * (the messages with a human open), a click with its event: if the
     * message is new there, the click imputes an open. Written out rather
     * than in helper functions: this loop is most of the script's own time */
    "for i=1,n do if st[i]=='1' then local o=B+(i-1)*F\n"
    " local ty,cl,ct,cn=ARGV[o+2],ARGV[o+3],ARGV[o+6],ARGV[o+7]\n"
    " if ty=='custom' then cus[#cus+1]=i else\n"
    " local c=C[cn] if not c then c={k=P..'campaign:'..cn,l=P..'campaign-links:'..cn,\n"
    "  u=P..'uniq:',n=cn,inc={},linc={},url={},s={},L={}} C[cn]=c Cs[#Cs+1]=c end ec[i]=c\n"
    " local nm,who,ci,cs=N[ty][cl],ct~='' and ct or 'm:'..ARGV[o+5],c.inc,c.s\n"
    " local f=nm[1] if f then ci[f]=(ci[f] or 0)+1 end\n"
    " local s=cs[nm[3]] or uset(c,nm[3],ci,nm[2])\n"
    " if not s.seen[who] then s.seen[who]=true local j=s.j+1 s.j=j s.m[j]=who end\n"
    " if ty=='click' then local li=ARGV[o+9]\n"
    "  local L=c.L[li] if not L then L={p=li..':',url=li..':url',\n"
    "   human={li..':clicks_human',li..':unique_clicks_human','link-human:'},\n"
    "   machine={li..':clicks_machine',li..':unique_clicks_machine','link-machine:'}} c.L[li]=L end\n"
    "  local lc,lm,lw=L[cl],c.linc,L.p..who f=lc[1] lm[f]=(lm[f] or 0)+1\n"
    "  s=cs[lc[3]] or uset(c,lc[3],lm)\n"
    "  if not s.seen[lw] then s.seen[lw]=true local j=s.j+1 s.j=j s.m[j]=lw s.x[j]=i end\n"
    " elseif ty=='unsubscribe' then uns[#uns+1]=i end\n"
    " if cl=='human' and ty~='unsubscribe' then local mg=ARGV[o+5] s=cs['open-msg:'] or uset(c,'open-msg:')\n"
    "  if not s.seen[mg] then s.seen[mg]=true local j=s.j+1 s.j=j s.m[j]=mg\n"
    "   if ty=='click' then s.x[j]=i end end end\n"
    "end end end\n"
    /* uniq sets: check each and add what is new, handing every new
     * member's event (x) to found(s,x). The open-msg sets go first: a
     * click whose message is new there imputes an open, and its recipient
     * joins the campaign's open-human check, which comes after */
    "local function check(s,found) local r=ismember(s.k,s.m,s.j)\n"
    " if r.err then bad(s.c,r.err) return end local add=0\n"
    " for j=1,s.j do if r[j]==0 then add=add+1 s.m[add]=s.m[j] found(s,s.x[j]) end end\n"
    " if add>0 then ok(s.c,pc('SADD',s.k,unpack(s.m,1,add))) end end\n"
    "local function imputes(s,x) if x then local c,o=s.c,B+(x-1)*F local ct=ARGV[o+6]\n"
    " local who=ct~='' and ct or 'm:'..ARGV[o+5]\n"
    " imp[x]=true inc(c.inc,'opens_human') inc(c.inc,'imputed_opens')\n"
    " local h=c.s['open-human:'] or uset(c,'open-human:',c.inc,'unique_opens_human')\n"
    " if not h.seen[who] then h.seen[who]=true local j=h.j+1 h.j=j h.m[j]=who end end end\n"
    "local function counts(s,x) if s.f then inc(s.h,s.f) return end\n"
    " local o=B+(x-1)*F local L=s.c.L[ARGV[o+9]]\n"
    " inc(s.h,L[ARGV[o+3]][2]) s.c.url[L.url]=ARGV[o+10] end\n"
    "for _,s in ipairs(Us) do if not s.h then check(s,imputes) end end\n"
    "for _,s in ipairs(Us) do if s.h then check(s,counts) end end\n"
    /* unsubscribes: the time on the message and the contact, the suppression list */
    "local sup,supi={},{}\n"
    "for _,i in ipairs(uns) do local o=B+(i-1)*F\n"
    " local ct,k,sec=ARGV[o+6],P..'msg:'..ARGV[o+5],string.sub(ARGV[o+4],1,-4)\n"
    " if ok(i,pc('HSETNX',k,'unsubscribed_at',sec))==1 and mttl>0 and pc('TTL',k)==-1 then\n"
    "  ok(i,pc('EXPIRE',k,mttl)) end\n"
    " if ct~='' then ok(i,pc('HSETNX',P..'contact:'..ct,'unsubscribed_at',sec))\n"
    "  sup[#sup+1]=ct supi[#supi+1]=i end\n"
    "end\n"
    "if #sup>0 then local r=pc('SADD',KEYS[3],unpack(sup))\n"
    " if type(r)=='table' and r.err then for _,i in ipairs(supi) do bad(i,r.err) end end end\n"
    /* custom events (events_custom.c): an id of the sender's written once
     * (<p>eid:<id>, 'D' when it was), the contact's address, and a
     * signup's attributes and created_at, before the stream entry */
    "local function dec(i,t) local good,v=pcall(cjson.decode,t)\n"
    " if good and type(v)=='table' then return v end bad(i,'bad custom event record') return {} end\n"
    "local function tagunion(k,new) local old=pc('HGET',k,'tags')\n"
    " if type(old)~='string' or old=='' then return new end local seen,out={},{}\n"
    " for t in string.gmatch(old..','..new,'[^,]+') do if not seen[t] then seen[t]=true out[#out+1]=t end end\n"
    " return table.concat(out,',') end\n"
    "local bm,bmi={},{}\n"
    "for _,i in ipairs(cus) do local o=B+(i-1)*F local e,ct,em=ARGV[o+5],ARGV[o+6],ARGV[o+9]\n"
    " if e~='' then local r=pc('SET',P..'eid:'..e,'1','NX','EX',ARGV[6])\n"
    "  if type(r)=='table' and r.err then bad(i,r.err) elseif not r then st[i]='D' end end\n"
    " if st[i]=='1' then local k,a=P..'contact:'..ct,{'email',em}\n"
    "  bm[#bm+1]=em bm[#bm+1]=ct bmi[#bmi+1]=i\n"
    "  if ARGV[o+11]~='' then local t=dec(i,ARGV[o+11]) for j=1,#t-1,2 do local f,v=t[j],t[j+1]\n"
    "   if f=='tags' then v=tagunion(k,v) end a[#a+1]=f a[#a+1]=v end end\n"
    "  if ARGV[o+3]=='signup' then ok(i,pc('HSETNX',k,'created_at',string.sub(ARGV[o+4],1,-4))) end\n"
    "  if st[i]=='1' then ok(i,pc('HSET',k,unpack(a))) end end end\n"
    /* the batch's addresses in one HSET */
    "if #bm>0 then local r=pc('HSET',P..'contacts:by-email',unpack(bm))\n"
    " if type(r)=='table' and r.err then for _,i in ipairs(bmi) do bad(i,r.err) end end end\n"
    /* the campaign and link counters */
    "local function hset(x,k,t) if #t>0 then ok(x,pc('HSET',k,unpack(t))) end end\n"
    "for _,c in ipairs(Cs) do local h={}\n"
    " for f,v in pairs(c.inc) do ok(c,pc('HINCRBY',c.k,f,v)) end\n"
    " for f,v in pairs(c.linc) do ok(c,pc('HINCRBY',c.l,f,v)) end\n"
    " for f,u in pairs(c.url) do h[#h+1]=f h[#h+1]=u end hset(c,c.l,h)\n"
    "end\n"
    /* the stream entries, in order; an imputed open just before its click */
    "for i=1,n do if st[i]=='1' then local o=B+(i-1)*F\n"
    " local ty,cl,seq,ts,msg,ct,cn,sa,ua,ip=ARGV[o+2],ARGV[o+3],ARGV[o+1],ARGV[o+4],ARGV[o+5],\n"
    "  ARGV[o+6],ARGV[o+7],ARGV[o+8],ARGV[o+11],ARGV[o+12]\n"
    " if imp[i] then ok(i,pc('XADD',S,'*','type','open','eid',run..'8'..string.sub(seq,2),'ts',ts,\n"
    "  'msg',msg,'contact',ct,'campaign',cn,'sent_at',sa,'imputed','1','ua',ua,'ip',ip,\n"
    "  'class','human','reason','')) end\n"
    " if ty=='click' then ok(i,pc('XADD',S,'*','type','click','eid',run..seq,'ts',ts,'msg',msg,\n"
    "  'contact',ct,'campaign',cn,'sent_at',sa,'link',ARGV[o+9],'url',ARGV[o+10],'ua',ua,\n"
    "  'ip',ip,'class',cl,'reason',ARGV[o+13]))\n"
    " elseif ty=='open' then ok(i,pc('XADD',S,'*','type','open','eid',run..seq,'ts',ts,'msg',msg,\n"
    "  'contact',ct,'campaign',cn,'sent_at',sa,'imputed','0','ua',ua,'ip',ip,'class',cl,\n"
    "  'reason',ARGV[o+13]))\n"
    " elseif ty=='custom' then local f={'type',cl,'eid',ARGV[o+5]~='' and ARGV[o+5] or run..seq,\n"
    "  'ts',ts,'msg','','contact',ct,'campaign','','source',cn}\n"
    "  if sa~='' then f[#f+1]='attrs' f[#f+1]=sa end\n"
    "  for _,v in ipairs(dec(i,ARGV[o+10])) do f[#f+1]=v end\n"
    "  if st[i]=='1' then ok(i,pc('XADD',S,'*',unpack(f))) end\n"
    " else ok(i,pc('XADD',S,'*','type','unsubscribe','eid',run..seq,'ts',ts,'msg',msg,\n"
    "  'contact',ct,'campaign',cn,'sent_at',sa,'ua',ua,'ip',ip,'class',cl,'reason',ARGV[o+13]))\n"
    " end end end\n"
    "if ml>0 then pc('XTRIM',S,'MAXLEN','~',ml) end\n"
    "if mi>0 then pc('XTRIM',S,'MINID','~',mi) end\n"
    "return {table.concat(st),err}\n";

#define RECORD_MAGIC "pbev1"
#define RECORD_FIELDS 13        /* event fields after magic, prefix and run */
#define SEEN_TTL 604800         /* seconds <p>seen:<run>:<block> outlives its last batch */
#define BLOCK_DIGITS 11         /* hex digits of an event number that name its block */

/* ---- RESP ---------------------------------------------------------------- */

/* The decimal digits of v, written backwards from end; where they start.
 * (snprintf was a good part of the cost of building an event.) */
static char *decimal(char *end, unsigned long long v)
{
    do {
        *--end = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
    return end;
}

/* "$<len>\r\n<s>\r\n", grown once (three appends were a tenth of the
 * tracker's own work per click). */
static void append_bulk(GString *out, const char *s, size_t len)
{
    char head[24], *p = decimal(head + sizeof(head) - 2, len);
    size_t head_len, at = out->len;

    head[sizeof(head) - 2] = '\r';
    head[sizeof(head) - 1] = '\n';
    *--p = '$';
    head_len = (size_t)(head + sizeof(head) - p);
    g_string_set_size(out, at + head_len + len + 2);
    memcpy(out->str + at, p, head_len);
    if (len > 0)
        memcpy(out->str + at + head_len, s, len);
    memcpy(out->str + at + head_len + len, "\r\n", 2);
}

static void append_str(GString *out, const char *s)
{
    append_bulk(out, s ? s : "", s ? strlen(s) : 0);
}

static void append_ll(GString *out, long long v)
{
    char num[24], *p = decimal(num + sizeof(num), v < 0 ? 0ULL - (unsigned long long)v
                                                       : (unsigned long long)v);

    if (v < 0)
        *--p = '-';
    append_bulk(out, p, (size_t)(num + sizeof(num) - p));
}

/* Read one bulk string "$<len>\r\n<bytes>\r\n" at *p (before end); 0 and
 * its bytes, or -1 if there is none. */
static int read_bulk(const char **p, const char *end, const char **s, size_t *len)
{
    const char *q = *p;
    size_t n = 0;

    if (q >= end || *q++ != '$' || q >= end || !g_ascii_isdigit(*q))
        return -1;
    for (; q < end && g_ascii_isdigit(*q) && n < ((size_t)1 << 40); q++)
        n = n * 10 + (size_t)(*q - '0');
    if (end - q < 2 || q[0] != '\r' || q[1] != '\n' || (size_t)(end - q - 2) < n + 2
        || q[2 + n] != '\r' || q[3 + n] != '\n')
        return -1;
    *s = q + 2;
    *len = n;
    *p = q + 4 + n;
    return 0;
}

/* ---- records ------------------------------------------------------------- */

void pb_event_tracker_run_init(struct pb_track_run *run)
{
    pb_random_hex(8, run->id);
    run->seq = 0;
}

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

/* The User-Agent, at most PB_EVENT_UA_MAX bytes, not cut inside a UTF-8
 * sequence. */
static void append_user_agent(GString *out, const char *ua)
{
    size_t n = ua ? strlen(ua) : 0;

    if (n > PB_EVENT_UA_MAX) {
        n = PB_EVENT_UA_MAX;
        while (n > 0 && ((unsigned char)ua[n] & 0xc0) == 0x80)
            n--;
    }
    append_bulk(out, ua ? ua : "", n);
}

void pb_event_tracker_number(struct pb_track_run *run, char seq[17])
{
    /* below 2^60: the first digit is 0, and "8" in its place names the
     * event's imputed open */
    uint64_t number = ++run->seq & 0x0fffffffffffffffULL;
    uint8_t raw[8];

    for (int i = 0; i < 8; i++)
        raw[i] = (uint8_t)(number >> (56 - 8 * i));
    pb_hex(raw, sizeof(raw), seq);
}

void pb_event_tracker_record(const char *prefix, struct pb_track_run *run,
                             const struct pb_track_record *rec, char eid[33], GString *out)
{
    const struct pb_token *tok = rec->tok;
    char seq[17], msg[2 * PB_MSGID_LEN + 1], contact[2 * PB_CONTACT_LEN + 1] = "";
    int click = rec->type == PB_TRACK_CLICK;

    pb_event_tracker_number(run, seq);
    pb_hex(tok->msg_id, PB_MSGID_LEN, msg);
    if (tok->has_contact)
        pb_hex(tok->contact, PB_CONTACT_LEN, contact);
    g_string_append_len(out, "*16\r\n", 5);
    append_str(out, RECORD_MAGIC);
    append_str(out, prefix);
    append_bulk(out, run->id, 16);
    append_bulk(out, seq, 16);
    append_str(out, type_word(rec->type));
    append_str(out, rec->machine ? "machine" : "human");
    append_ll(out, rec->ts_ms > 0 ? rec->ts_ms : pb_event_now_ms());
    append_str(out, msg);
    append_str(out, contact);
    append_str(out, tok->campaign);
    append_ll(out, tok->sent_at);
    if (click) {
        append_ll(out, tok->link_index);
        append_bulk(out, tok->url ? tok->url : "", tok->url ? tok->url_len : 0);
    } else {
        append_str(out, "");
        append_str(out, "");
    }
    append_user_agent(out, rec->user_agent);
    append_str(out, rec->client_ip);
    append_str(out, rec->machine ? rec->reason : "");
    if (eid) {
        memcpy(eid, run->id, 16);
        memcpy(eid + 16, seq, 17);
    }
}

/* ---- batches ------------------------------------------------------------- */

void pb_track_batch_init(struct pb_track_batch *b)
{
    b->events = g_string_sized_new(16384);
    b->prefix = g_string_new(NULL);
    b->run[0] = '\0';
    b->n = 0;
    b->nruns = 0;
}

void pb_track_batch_reset(struct pb_track_batch *b)
{
    g_string_truncate(b->events, 0);
    b->n = 0;
    b->nruns = 0;
}

void pb_track_batch_free(struct pb_track_batch *b)
{
    if (b->events)
        g_string_free(b->events, TRUE);
    if (b->prefix)
        g_string_free(b->prefix, TRUE);
    b->events = b->prefix = NULL;
}

/* The bit of a 16-hex event number in its block's bitmap: its last 5 digits. */
static uint32_t block_bit(const char *number)
{
    uint32_t bit = 0;

    for (int i = BLOCK_DIGITS; i < 16; i++)
        bit = bit << 4 | (uint32_t)g_ascii_xdigit_value(number[i]);
    return bit;
}

/* The next event's bit: it extends the last run of consecutive bits, or
 * starts one. */
static void add_bit(struct pb_track_batch *b, uint32_t bit)
{
    if (b->nruns > 0) {         /* 0 exactly when the batch is empty (init, reset) */
        struct pb_track_bits *r = &b->runs[b->nruns - 1];
        if (r->first + r->width == bit && r->width < PB_TRACK_RUN_MAX) {
            r->width++;
            return;
        }
    }
    b->runs[b->nruns].first = bit;
    b->runs[b->nruns].width = 1;
    b->nruns++;
}

int pb_track_batch_add(struct pb_track_batch *b, const char *rec, size_t len)
{
    static const char head[] = "*16\r\n$5\r\n" RECORD_MAGIC "\r\n";
    const char *p = rec + sizeof(head) - 1, *end = rec + len, *fields, *prefix, *run, *s;
    const char *number = NULL;
    size_t prefix_len, run_len, n;

    if (len < sizeof(head) - 1 || memcmp(rec, head, sizeof(head) - 1) != 0
        || read_bulk(&p, end, &prefix, &prefix_len) != 0
        || read_bulk(&p, end, &run, &run_len) != 0 || run_len != 16)
        return -1;
    fields = p;
    for (int i = 0; i < RECORD_FIELDS; i++) {
        if (read_bulk(&p, end, &s, &n) != 0 || (i == 0 && n != 16))
            return -1;
        if (i == 0)
            number = s;
    }
    if (p != end)
        return -1;
    if (b->n > 0 && (b->n >= PB_TRACK_BATCH_MAX || memcmp(b->run, run, 16) != 0
                     || memcmp(b->seen + 17, number, BLOCK_DIGITS) != 0
                     || b->prefix->len != prefix_len
                     || memcmp(b->prefix->str, prefix, prefix_len) != 0))
        return 0;
    if (b->n == 0) {
        g_string_truncate(b->prefix, 0);
        g_string_append_len(b->prefix, prefix, (gssize)prefix_len);
        memcpy(b->run, run, 16);
        b->run[16] = '\0';
        /* "<run>:<block>" */
        memcpy(b->seen, run, 16);
        b->seen[16] = ':';
        memcpy(b->seen + 17, number, BLOCK_DIGITS);
        b->seen[17 + BLOCK_DIGITS] = '\0';
    }
    g_string_append_len(b->events, fields, end - fields);
    add_bit(b, block_bit(number));
    b->n++;
    return 1;
}

static void append_key(GString *out, const GString *prefix, const char *name, const char *id)
{
    char key[256];
    int n = g_snprintf(key, sizeof(key), "%s%s%s", prefix->str, name, id ? id : "");

    if (n >= (int)sizeof(key)) {
        char *big = g_strconcat(prefix->str, name, id, NULL);
        append_str(out, big);
        g_free(big);
        return;
    }
    append_bulk(out, key, (size_t)n);
}

void pb_track_batch_command(const struct pb_track_batch *b, const struct pb_track_retention *ret,
                            const char *sha, GString *out)
{
    long long minid = 0;

    if (ret->stream_max_age_days > 0)
        minid = MAX(pb_event_now_ms() - (long long)ret->stream_max_age_days * 86400000LL, 1);
    g_string_truncate(out, 0);
    g_string_append_printf(out, "*%u\r\n", 3 + 4 + 7 + 2 * b->nruns + RECORD_FIELDS * b->n);
    if (sha) {
        append_str(out, "EVALSHA");
        append_bulk(out, sha, 40);
    } else {
        append_str(out, "EVAL");
        append_bulk(out, batch_script, sizeof(batch_script) - 1);
    }
    append_str(out, "4");
    append_key(out, b->prefix, PB_KEY_EVENTS, NULL);
    append_key(out, b->prefix, PB_KEY_SEEN, b->seen);
    append_key(out, b->prefix, PB_KEY_SUPPRESSED, NULL);
    append_key(out, b->prefix, PB_KEY_SEQ, b->run);
    append_bulk(out, b->prefix->str, b->prefix->len);
    append_bulk(out, b->run, 16);
    append_ll(out, ret->msg_days > 0 ? (long long)ret->msg_days * 86400 : 0);
    append_ll(out, ret->stream_maxlen > 0 ? ret->stream_maxlen : 0);
    append_ll(out, minid);
    append_ll(out, SEEN_TTL);
    append_ll(out, b->nruns);
    for (unsigned i = 0; i < b->nruns; i++) {
        append_ll(out, b->runs[i].first);
        append_ll(out, b->runs[i].width);
    }
    g_string_append_len(out, b->events->str, (gssize)b->events->len);
}

/* ---- the script ------------------------------------------------------------ */

void pb_event_tracker_script_load(GString *out)
{
    g_string_append(out, "*3\r\n$6\r\nSCRIPT\r\n$4\r\nLOAD\r\n");
    append_bulk(out, batch_script, sizeof(batch_script) - 1);
}

void pb_event_tracker_sha(char out[41])
{
    pb_event_script_sha(batch_script, sizeof(batch_script) - 1, out);
}
