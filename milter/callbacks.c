/*
 * callbacks.c - libmilter callbacks and the state of one connection and
 * its current message (see callbacks.h).
 *
 * State is private to each connection (smfi_setpriv); the configuration
 * generation a message started with is shared and read-only. A message
 * that is not tracked is let go at the end of its headers (SMFIS_ACCEPT),
 * so its body is never sent to us, let alone buffered - unless its
 * campaign header is to be removed: header changes are only possible at
 * the end of the message, so such a message is seen to its end, its body
 * dropped as it comes. The changes themselves are sent by changes.c.
 */
#include <string.h>
#include <time.h>
#include <libmilter/mfapi.h>
#include <openssl/rand.h>
#include "callbacks.h"
#include "changes.h"
#include "contact.h"
#include "daemon.h"
#include "headers.h"
#include "log.h"
#include "pool.h"
#include "record.h"
#include "rewrite.h"
#include "select.h"

#define SUBJECT_MAX 512
#define MESSAGE_ID_MAX 512

struct message {
    struct pb_generation *gen;  /* NULL: no message in progress */
    char *sender;               /* normalised envelope sender, "" for <> */
    char *auth_authen;
    char *queue_id;
    GPtrArray *rcpts;           /* normalised recipients (char *) */
    struct pb_headers headers;
    GString *buf;               /* rebuilt headers + body, once tracked */
    size_t body_off;
    int per_contact;
    enum pb_campaign_fate fate; /* of the campaign header, from the end of the headers */
    int passing;                /* untouched, seen to its end for the campaign header */
    char pass_why[160];         /* ... and why it passes, for the log line then */
};

struct connection {
    int negotiated;             /* xxfi_negotiate ran for this state */
    int leadspc;                /* header values keep their leading space */
    unsigned long noreply;      /* SMFIP_NR_* steps the MTA sends without waiting */
    int can_modify;             /* the MTA allows header and body changes */
    int can_chghdrs;            /* the MTA allows header changes (removing one) */
    char *daemon_name;
    struct message msg;
};

/* ---- message buffers ---------------------------------------------------------- */

#define BUF_FIRST (192 * 1024)  /* a newsletter with room to grow */
#define BUF_KEEP (1024 * 1024)  /* larger ones are not kept for reuse */

static void buf_free(gpointer buf)
{
    g_string_free(buf, TRUE);
}

/* Message copies and rewritten bodies, two per message in flight: kept
 * across messages and threads, so a message costs no fresh 100 KB
 * allocations (page faults included) and no regrowth copies. At most
 * 32 MB stay allocated while idle. */
static struct pb_pool buf_pool = { .keep = 32, .free_fn = buf_free };

static GString *buf_take(size_t want)
{
    GString *buf = pb_pool_take(&buf_pool);

    if (buf == NULL)
        return g_string_sized_new(MAX(want, (size_t)BUF_FIRST));
    g_string_truncate(buf, 0);
    return buf;
}

static void buf_give(GString *buf)
{
    if (buf != NULL && buf->allocated_len > BUF_KEEP)
        g_string_free(buf, TRUE);
    else
        pb_pool_give(&buf_pool, buf);
}

/* ---- state ----------------------------------------------------------------- */

static struct connection *conn_get(SMFICTX *ctx)
{
    struct connection *c = smfi_getpriv(ctx);

    if (c == NULL) {
        c = g_new0(struct connection, 1);
        c->can_modify = c->can_chghdrs = 1;
        smfi_setpriv(ctx, c);
    }
    return c;
}

static void message_end(struct message *m)
{
    pb_generation_release(m->gen);
    g_free(m->sender);
    g_free(m->auth_authen);
    g_free(m->queue_id);
    if (m->rcpts != NULL)
        g_ptr_array_free(m->rcpts, TRUE);
    pb_headers_clear(&m->headers);
    buf_give(m->buf);
    memset(m, 0, sizeof(*m));
}

static const struct pb_milter_conf *mconf(const struct message *m)
{
    return &m->gen->conf.milter;
}

static const char *queue_id(SMFICTX *ctx, struct message *m)
{
    if (m->queue_id == NULL) {
        const char *qid = smfi_getsymval(ctx, "i");
        if (qid != NULL && qid[0] != '\0')
            m->queue_id = g_strdup(qid);
    }
    return m->queue_id ? m->queue_id : "NOQUEUE";
}

static void remember_daemon_name(SMFICTX *ctx, struct connection *c)
{
    const char *name = smfi_getsymval(ctx, "{daemon_name}");

    if (name != NULL && name[0] != '\0' && g_strcmp0(name, c->daemon_name) != 0) {
        g_free(c->daemon_name);
        c->daemon_name = g_strdup(name);
    }
}

/* "<Addr@Example.COM>" -> "addr@example.com"; "" for the null sender. */
static char *normalise(const char *address)
{
    size_t cap = strlen(address ? address : "") + 1;
    char *out = g_malloc(cap);

    if (address == NULL || pb_address_normalise(address, out, cap) < 0)
        out[0] = '\0';
    return out;
}

/* ---- connection, envelope, headers ---------------------------------------- */

/* The no-reply steps of the last negotiation: a session that libmilter
 * reuses without negotiating again (sendmail's QUIT_NC) keeps them. */
static unsigned long last_noreply;

/* What a callback that always goes on answers for step nr_flag. */
static sfsistat go_on(const struct connection *c, unsigned long nr_flag)
{
    unsigned long nr = c->negotiated ? c->noreply : __atomic_load_n(&last_noreply, __ATOMIC_RELAXED);

    return (nr & nr_flag) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static sfsistat cb_negotiate(SMFICTX *ctx, unsigned long actions, unsigned long steps,
                             unsigned long f2, unsigned long f3, unsigned long *want_actions,
                             unsigned long *want_steps, unsigned long *pf2, unsigned long *pf3)
{
    const unsigned long needed = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY;
    const unsigned long skipped = SMFIP_NOHELO | SMFIP_NOUNKNOWN | SMFIP_NODATA;
    /* Steps whose callback always goes on: the MTA need not wait for us
     * (one round trip per header otherwise, one per 64 KB body chunk).
     * A message we let go before its end (no configuration, MTA refusing
     * changes, over the size cap) is accepted at the end of the headers
     * or of the body instead; only end of headers, where untracked mail
     * is let go before its body is sent, keeps its reply. */
    const unsigned long noreply = SMFIP_NR_CONN | SMFIP_NR_MAIL | SMFIP_NR_RCPT | SMFIP_NR_HDR
                                  | SMFIP_NR_BODY;
    static struct pb_log_limit limit;
    struct connection *c = conn_get(ctx);

    c->can_modify = (actions & needed) == needed;
    c->can_chghdrs = (actions & SMFIF_CHGHDRS) != 0;
    if (!c->can_modify)
        pb_log_limited(&limit, 5, LOG_WARNING, "the MTA does not allow header and body "
                       "changes: all mail passes untouched%s", c->can_chghdrs
                       ? " but for the removal of the campaign header" : "");
    *want_actions = actions & (needed | SMFIF_SETSYMLIST);
    *want_steps = steps & (skipped | noreply | SMFIP_HDR_LEADSPC);
    c->noreply = *want_steps & noreply;
    __atomic_store_n(&last_noreply, c->noreply, __ATOMIC_RELAXED);
    *pf2 = *pf3 = 0;
    c->leadspc = (*want_steps & SMFIP_HDR_LEADSPC) != 0;
    c->negotiated = 1;
    if (*want_actions & SMFIF_SETSYMLIST) {
        /* Ask for exactly the macros used, whatever milter_*_macros say. */
        smfi_setsymlist(ctx, SMFIM_CONNECT, "{daemon_name}");
        smfi_setsymlist(ctx, SMFIM_ENVFROM, "i {auth_authen} {daemon_name}");
        smfi_setsymlist(ctx, SMFIM_ENVRCPT, "{rcpt_addr}");
        smfi_setsymlist(ctx, SMFIM_EOH, "i");
        smfi_setsymlist(ctx, SMFIM_EOM, "i");
    }
    return SMFIS_CONTINUE;
}

static sfsistat cb_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *addr)
{
    struct connection *c = conn_get(ctx);

    remember_daemon_name(ctx, c);
    return go_on(c, SMFIP_NR_CONN);
}

static sfsistat cb_envfrom(SMFICTX *ctx, char **argv)
{
    struct connection *c = conn_get(ctx);
    struct message *m = &c->msg;
    const char *auth;

    message_end(m);
    m->gen = pb_generation_acquire();
    if (m->gen == NULL) {
        message_end(m);         /* end of headers lets it go */
        return go_on(c, SMFIP_NR_MAIL);
    }
    remember_daemon_name(ctx, c);
    m->sender = normalise(argv ? argv[0] : NULL);
    auth = smfi_getsymval(ctx, "{auth_authen}");
    m->auth_authen = auth ? g_strdup(auth) : NULL;
    m->rcpts = g_ptr_array_new_with_free_func(g_free);
    pb_headers_init(&m->headers);
    queue_id(ctx, m);
    return go_on(c, SMFIP_NR_MAIL);
}

static sfsistat cb_envrcpt(SMFICTX *ctx, char **argv)
{
    struct connection *c = conn_get(ctx);
    struct message *m = &c->msg;
    const char *addr = smfi_getsymval(ctx, "{rcpt_addr}");

    if (m->gen == NULL)
        return go_on(c, SMFIP_NR_RCPT);
    if (addr == NULL || addr[0] == '\0')
        addr = argv ? argv[0] : NULL;
    g_ptr_array_add(m->rcpts, normalise(addr));
    return go_on(c, SMFIP_NR_RCPT);
}

static sfsistat cb_header(SMFICTX *ctx, char *name, char *value)
{
    struct connection *c = conn_get(ctx);
    struct message *m = &c->msg;

    if (m->gen != NULL)
        pb_headers_add(&m->headers, name, value);
    return go_on(c, SMFIP_NR_HDR);
}

/* What became of the campaign header, for the log line ("" if nothing). */
static const char *campaign_note(enum pb_campaign_fate fate)
{
    switch (fate) {
    case PB_CAMPAIGN_REMOVE: return " removed";
    case PB_CAMPAIGN_KEPT_DKIM: return " kept: a DKIM signature covers it (its h= tag names it)";
    case PB_CAMPAIGN_KEPT_MTA: return " kept: the MTA does not allow header changes";
    case PB_CAMPAIGN_KEPT_FAILED: return " kept: the MTA refused its removal";
    case PB_CAMPAIGN_NONE: break;
    }
    return "";
}

/* Let the message go untouched, saying why in one line. Its campaign
 * header is removed first if due (possible at the end of the message
 * only: before it, see pass_at_end). */
static sfsistat pass(SMFICTX *ctx, struct message *m, const char *why)
{
    const char *qid = queue_id(ctx, m), *note;

    if (m->fate == PB_CAMPAIGN_REMOVE
        && pb_change_remove_header(ctx, &m->headers, mconf(m)->campaign_header) != 0)
        m->fate = PB_CAMPAIGN_KEPT_FAILED;
    note = campaign_note(m->fate);
    pb_log(m->fate == PB_CAMPAIGN_KEPT_FAILED ? LOG_WARNING : LOG_INFO, "%s: passed: %s%s%s%s",
           qid, why, note[0] ? "; " : "", note[0] ? mconf(m)->campaign_header : "", note);
    message_end(m);
    return SMFIS_ACCEPT;
}

/* Before the end of the message: 1 if it must still be seen to its end
 * because its campaign header is to be removed (the body is then dropped
 * as it comes, and the end of the message passes it with this reason);
 * 0 if it can go now (pass()). */
static int pass_at_end(struct message *m, const char *why)
{
    if (m->fate != PB_CAMPAIGN_REMOVE)
        return 0;
    g_strlcpy(m->pass_why, why, sizeof(m->pass_why));
    buf_give(m->buf);
    m->buf = NULL;
    m->passing = 1;
    return 1;
}

/* Whether m is tracked (sel), by the rules of select.h and then by what
 * the MTA allows and the size cap; and the fate of its campaign header. */
static void select_message(const struct connection *c, struct message *m,
                           struct pb_selection *sel)
{
    const struct pb_milter_conf *mc = mconf(m);
    struct pb_msg_facts facts;

    memset(&facts, 0, sizeof(facts));
    facts.daemon_name = c->daemon_name;
    facts.auth_authen = m->auth_authen;
    facts.sender = m->sender;
    facts.rcpts = (const char *const *)m->rcpts->pdata;
    facts.nrcpts = m->rcpts->len;
    facts.has_campaign_header = pb_headers_get(&m->headers, mc->campaign_header) != NULL;
    facts.has_skip_header = pb_headers_get(&m->headers, mc->skip_header) != NULL;
    facts.has_dkim_signature = pb_headers_get(&m->headers, "DKIM-Signature") != NULL;
    facts.content_type = pb_headers_get(&m->headers, "Content-Type");
    pb_select(mc, &facts, sel);
    /* incoming mail is never changed, its campaign header included */
    if (sel->outgoing)
        m->fate = pb_headers_campaign_fate(mc, &m->headers, c->can_chghdrs);
    if (!sel->track)
        return;
    if (!c->can_modify) {
        sel->track = 0;
        snprintf(sel->why, sizeof(sel->why), "the MTA does not allow header and body changes");
    } else if (m->headers.bytes > mc->max_message_size) {
        sel->track = 0;
        snprintf(sel->why, sizeof(sel->why), "message over %zu bytes", mc->max_message_size);
    }
}

static sfsistat cb_eoh(SMFICTX *ctx)
{
    struct connection *c = conn_get(ctx);
    struct message *m = &c->msg;
    struct pb_selection sel;

    if (m->gen == NULL)
        return SMFIS_ACCEPT;
    select_message(c, m, &sel);
    if (!sel.track)
        return pass_at_end(m, sel.why) ? SMFIS_CONTINUE : pass(ctx, m, sel.why);
    m->per_contact = sel.per_contact;
    /* After SMFIC_QUIT_NC (sendmail) libmilter reuses the session without a
     * new negotiation, but our state went with xxfi_close: tell from the
     * values whether the MTA keeps their leading space. */
    if (!c->negotiated)
        c->leadspc = pb_headers_any_leading_space(&m->headers);
    m->buf = buf_take(m->headers.bytes + 64 * 1024);
    pb_headers_render(&m->headers, c->leadspc, m->buf);
    m->body_off = m->buf->len;
    return SMFIS_CONTINUE;
}

/* A body chunk: kept for the rewrite, or dropped when the message passes
 * but is seen to its end for its campaign header (pass_at_end). Over the
 * size cap the message passes: with a reply due it is accepted now
 * (unless seen to its end); without one (NR_BODY) the rest of the body
 * still comes and is dropped, and the end of the message accepts. */
static sfsistat cb_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
    struct connection *c = conn_get(ctx);
    struct message *m = &c->msg;
    char why[96];

    if (m->passing)
        return go_on(c, SMFIP_NR_BODY);
    if (m->gen == NULL || m->buf == NULL)
        return go_on(c, SMFIP_NR_BODY) == SMFIS_NOREPLY ? SMFIS_NOREPLY : SMFIS_ACCEPT;
    if (m->buf->len + len > mconf(m)->max_message_size) {
        snprintf(why, sizeof(why), "message over %zu bytes", mconf(m)->max_message_size);
        if (pass_at_end(m, why))
            return go_on(c, SMFIP_NR_BODY);
        sfsistat accept = pass(ctx, m, why);
        return go_on(c, SMFIP_NR_BODY) == SMFIS_NOREPLY ? SMFIS_NOREPLY : accept;
    }
    g_string_append_len(m->buf, (const char *)chunk, (gssize)len);
    return go_on(c, SMFIP_NR_BODY);
}

/* ---- end of message: rewrite and send the changes back ---------------------- */

/* List-Unsubscribe(-Post) where wanted, the campaign header removed
 * where due. Done before the body, as the protocol wants. 0 on success;
 * -1 after logging (the List-Unsubscribe headers) or with m->fate saying
 * so (the campaign header). */
static int change_headers(SMFICTX *ctx, struct connection *c, const struct pb_link_ctx *link,
                          const char *qid)
{
    struct message *m = &c->msg;
    const struct pb_milter_conf *mc = mconf(m);

    if (link->has_contact && mc->list_unsubscribe
        && pb_change_list_unsubscribe(ctx, mc, &m->headers, link, c->leadspc, qid) != 0)
        return -1;
    if (m->fate == PB_CAMPAIGN_REMOVE) {
        if (pb_change_remove_header(ctx, &m->headers, mc->campaign_header) != 0) {
            m->fate = PB_CAMPAIGN_KEPT_FAILED;
            return -1;
        }
        m->fate = PB_CAMPAIGN_NONE;     /* done */
    }
    return 0;
}

static int setup_link(struct message *m, struct pb_link_ctx *link)
{
    const char *campaign = pb_headers_get(&m->headers, mconf(m)->campaign_header);

    memset(link, 0, sizeof(*link));
    link->conf = &m->gen->conf;
    link->keys = &m->gen->keys;
    if (RAND_bytes(link->msg_id, PB_MSGID_LEN) != 1)
        return -1;
    if (m->per_contact) {
        link->has_contact = 1;
        pb_contact_id(&m->gen->keys, g_ptr_array_index(m->rcpts, 0), link->contact);
    }
    if (campaign == NULL || !pb_header_campaign(campaign, link->campaign))
        g_strlcpy(link->campaign, mconf(m)->default_campaign, sizeof(link->campaign));
    link->sent_at = (uint32_t)time(NULL);
    return 0;
}

static void submit_record(struct message *m, const struct pb_link_ctx *link)
{
    struct pb_sent_record rec;
    GString *message_id = g_string_new(NULL), *subject = g_string_new(NULL);
    const char *v;

    if ((v = pb_headers_get(&m->headers, "Message-ID")) != NULL)
        pb_header_clean(v, MESSAGE_ID_MAX, message_id);
    if ((v = pb_headers_get(&m->headers, "Subject")) != NULL)
        pb_header_clean(v, SUBJECT_MAX, subject);
    memset(&rec, 0, sizeof(rec));
    memcpy(rec.msg_id, link->msg_id, PB_MSGID_LEN);
    rec.has_contact = link->has_contact;
    memcpy(rec.contact, link->contact, PB_CONTACT_LEN);
    rec.email = link->has_contact ? g_ptr_array_index(m->rcpts, 0) : NULL;
    rec.campaign = link->campaign;
    rec.message_id = message_id->len ? message_id->str : NULL;
    rec.queue_id = m->queue_id;
    rec.subject = subject->len ? subject->str : NULL;
    rec.sent_at = link->sent_at;
    rec.links = link->links_tracked;
    rec.recipients = m->rcpts->len;
    pb_record_submit(&rec);
    g_string_free(message_id, TRUE);
    g_string_free(subject, TRUE);
}

/* The tracked line; left_alone: the parts pb_mime_rewrite() left alone
 * ("left alone: part 2 message/rfc822 (attached message), ..."), or "". */
static void log_tracked(const char *qid, const struct pb_link_ctx *link, unsigned rcpts,
                        const char *left_alone)
{
    char contact[2 * PB_CONTACT_LEN + 1] = "none", msg[2 * PB_MSGID_LEN + 1];

    if (link->has_contact)
        pb_hex(link->contact, PB_CONTACT_LEN, contact);
    pb_hex(link->msg_id, PB_MSGID_LEN, msg);
    pb_log(LOG_INFO, "%s: tracked campaign=%s contact=%s links=%u msg=%s recipients=%u%s%s",
           qid, link->campaign, contact, link->links_tracked, msg, rcpts,
           left_alone[0] ? "; " : "", left_alone);
}

/* Why pb_mime_rewrite() left the message alone, as one log line. */
static sfsistat pass_rewrite(SMFICTX *ctx, struct message *m, enum pb_mime_result res,
                             const char *why)
{
    static const char *const what[] = {
        [PB_MIME_UNCHANGED] = "nothing to rewrite",
        [PB_MIME_REFUSED] = "not rewritable",
        [PB_MIME_MALFORMED] = "malformed MIME",
        [PB_MIME_ERROR] = "rewrite error",
    };
    const char *label = (unsigned)res < sizeof(what) / sizeof(what[0]) && what[res]
                            ? what[res] : "rewrite error";
    char line[640];

    if (strncmp(why, label, strlen(label)) == 0)
        label = "";             /* the reason already says it */
    snprintf(line, sizeof(line), "%s%s%s", label, label[0] && why[0] ? ": " : "", why);
    return pass(ctx, m, line);
}

static sfsistat cb_eom(SMFICTX *ctx)
{
    struct connection *c = conn_get(ctx);
    struct message *m = &c->msg;
    struct pb_link_ctx link;
    enum pb_mime_result res;
    GString *body;
    const char *qid;
    char why[512] = "";

    if (m->passing)
        return pass(ctx, m, m->pass_why);
    if (m->gen == NULL || m->buf == NULL)
        return SMFIS_ACCEPT;
    qid = queue_id(ctx, m);
    if (setup_link(m, &link) != 0)
        return pass(ctx, m, "no random bytes for a message id");
    body = buf_take(m->buf->len + m->buf->len / 8);
    res = pb_mime_rewrite(&link, m->buf->str, m->buf->len, m->body_off, body, why,
                          sizeof(why));
    if (res != PB_MIME_REWRITTEN) {
        buf_give(body);
        return pass_rewrite(ctx, m, res, why);
    }
    /* Journaled before the first change goes to the MTA: when the milter
     * dies from here on, Postfix keeps the changes it has received
     * (milter_default_action = accept) and the message can go out tracked. */
    submit_record(m, &link);
    if (change_headers(ctx, c, &link, qid) != 0) {
        buf_give(body);
        return pass(ctx, m, "header change refused by the MTA");
    }
    if (pb_change_body(ctx, body, qid) == 0)
        log_tracked(qid, &link, m->rcpts->len, why);
    buf_give(body);
    message_end(m);
    return SMFIS_ACCEPT;
}

static sfsistat cb_abort(SMFICTX *ctx)
{
    message_end(&conn_get(ctx)->msg);
    return SMFIS_CONTINUE;
}

static sfsistat cb_close(SMFICTX *ctx)
{
    struct connection *c = smfi_getpriv(ctx);

    if (c != NULL) {
        message_end(&c->msg);
        g_free(c->daemon_name);
        g_free(c);
        smfi_setpriv(ctx, NULL);
    }
    return SMFIS_CONTINUE;
}

int pb_callbacks_register(void)
{
    struct smfiDesc desc;

    memset(&desc, 0, sizeof(desc));
    desc.xxfi_name = PB_MILTER_NAME;
    desc.xxfi_version = SMFI_VERSION;
    desc.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY;
    desc.xxfi_connect = cb_connect;
    desc.xxfi_envfrom = cb_envfrom;
    desc.xxfi_envrcpt = cb_envrcpt;
    desc.xxfi_header = cb_header;
    desc.xxfi_eoh = cb_eoh;
    desc.xxfi_body = cb_body;
    desc.xxfi_eom = cb_eom;
    desc.xxfi_abort = cb_abort;
    desc.xxfi_close = cb_close;
    desc.xxfi_negotiate = cb_negotiate;
    return smfi_register(desc) == MI_SUCCESS ? 0 : -1;
}
