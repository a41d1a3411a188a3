/*
 * mime_splice.c - pb_mime_rewrite(): rewrite the HTML and text bodies of
 * one message without re-serialising it. GMime parses a copy of the
 * message with a persistent stream, so every leaf part's content is a
 * byte range of that copy (mime_parts.c picks the parts). Each chosen part
 * is decoded, rewritten, re-encoded in its own transfer encoding and line
 * endings (mime_codec.c), and the new body is the original body with just
 * those ranges replaced: headers, boundaries, preamble, epilogue and all
 * other parts stay byte for byte as they came.
 *
 * Scratch buffers are reused from message to message (a pool, pool.h:
 * libmilter's worker threads come and go), so the hot path allocates
 * little beyond what GMime needs for the tree.
 */
#include <string.h>
#include <gmime/gmime.h>
#include "rewrite.h"
#include "mime_parts.h"
#include "mime_codec.h"
#include "pool.h"

/* Scratch buffers above this size are given back after the message. */
#define SCRATCH_KEEP (1024 * 1024)

/* The first structural problem the parser reported. */
struct parse_issue {
    GMimeParserWarning code;
    char item[64];
};

struct scratch {
    GByteArray *msg;            /* the copy GMime parses (not owned by the stream) */
    GString *decoded;           /* one part's decoded content */
    GString *rewritten;         /* one part after the rewriter */
    GString *encoded;           /* every changed part, re-encoded, back to back */
    GMimeParserOptions *options;
    struct parse_issue issue;   /* the warning callback's target */
};

/* What happened to one part. */
struct part_result {
    int changed;
    size_t enc_off, enc_len;    /* new content in scratch->encoded */
};

struct job {
    struct pb_link_ctx *ctx;
    const char *msg;
    size_t len, body_off;
    struct scratch *s;
    struct pb_mime_parts parts;
    struct part_result result[PB_MIME_MAX_PARTS];
    unsigned kept;              /* parts whose rewrite could not be encoded */
    char why_kept[160];
};

/* ---- set-up ------------------------------------------------------------ */

static gpointer init_gmime(gpointer unused)
{
    (void)unused;
    g_mime_init();
    return NULL;
}

static void scratch_free(gpointer data)
{
    struct scratch *s = data;
    g_byte_array_unref(s->msg);
    g_string_free(s->decoded, TRUE);
    g_string_free(s->rewritten, TRUE);
    g_string_free(s->encoded, TRUE);
    g_mime_parser_options_free(s->options);
    g_free(s);
}

/* As many as messages are rewritten at once, a few more for bursts. */
static struct pb_pool scratch_pool = { .keep = 32, .free_fn = scratch_free };

static void on_parser_warning(gint64 offset, GMimeParserWarning code, const gchar *item,
                              gpointer user_data);

static struct scratch *scratch_take(void)
{
    struct scratch *s = pb_pool_take(&scratch_pool);
    if (s == NULL) {
        s = g_new0(struct scratch, 1);
        s->msg = g_byte_array_new();
        s->decoded = g_string_sized_new(64 * 1024);
        s->rewritten = g_string_sized_new(64 * 1024);
        s->encoded = g_string_sized_new(64 * 1024);
        s->options = g_mime_parser_options_new();
        g_mime_parser_options_set_warning_callback(s->options, on_parser_warning, &s->issue);
    }
    return s;
}

static void trim_string(GString **str)
{
    if ((*str)->allocated_len > SCRATCH_KEEP) {
        g_string_free(*str, TRUE);
        *str = g_string_sized_new(64 * 1024);
    }
}

static void scratch_trim(struct scratch *s)
{
    if (s->msg->len > SCRATCH_KEEP) {
        g_byte_array_unref(s->msg);
        s->msg = g_byte_array_new();
    }
    trim_string(&s->decoded);
    trim_string(&s->rewritten);
    trim_string(&s->encoded);
}

/* ---- parsing ----------------------------------------------------------- */

/* Problems that make the structure ambiguous: other software may see
 * different parts than GMime does, so we do not touch the message. */
static const char *structural_problem(GMimeParserWarning code, const char *item)
{
    switch (code) {
    case GMIME_WARN_MALFORMED_MULTIPART: return "multipart without parts or end boundary";
    case GMIME_WARN_TRUNCATED_MESSAGE: return "truncated message (missing end boundary)";
    case GMIME_WARN_MALFORMED_MESSAGE: return "malformed message";
    case GMIME_CRIT_INVALID_HEADER_NAME: return "invalid header name";
    case GMIME_CRIT_CONFLICTING_PARAMETER: return "conflicting header parameter";
    case GMIME_CRIT_MULTIPART_WITHOUT_BOUNDARY: return "multipart without boundary";
    case GMIME_CRIT_NESTING_OVERFLOW: return "MIME nesting too deep";
    case GMIME_CRIT_PART_WITHOUT_HEADERS_OR_CONTENT: return "part without headers or content";
    case GMIME_CRIT_CONFLICTING_HEADER:
        if (item && (g_ascii_strncasecmp(item, "Content-", 8) == 0
                     || g_ascii_strcasecmp(item, "MIME-Version") == 0))
            return "conflicting MIME header";
        return NULL;
    default:
        return NULL;
    }
}

static void on_parser_warning(gint64 offset, GMimeParserWarning code, const gchar *item,
                              gpointer user_data)
{
    struct parse_issue *issue = user_data;
    (void)offset;
    if (issue->code == 0 && structural_problem(code, item) != NULL) {
        issue->code = code;
        g_strlcpy(issue->item, item ? item : "", sizeof(issue->item));
    }
}

/* Parse s->msg; NULL (why set) if GMime finds no message, reports a
 * structural problem, or sees the header block end after body_off. */
static GMimeMessage *parse_message(struct scratch *s, size_t body_off, char *why, size_t whylen)
{
    GMimeStream *stream = g_mime_stream_mem_new_with_byte_array(s->msg);
    g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(stream), FALSE);
    GMimeParser *parser = g_mime_parser_new_with_stream(stream);
    g_mime_parser_set_persist_stream(parser, TRUE);
    g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
    memset(&s->issue, 0, sizeof(s->issue));
    GMimeMessage *message = g_mime_parser_construct_message(parser, s->options);
    gint64 headers_end = g_mime_parser_get_headers_end(parser);
    g_object_unref(parser);
    g_object_unref(stream);
    if (message == NULL) {
        g_snprintf(why, whylen, "GMime cannot parse the message");
    } else if (s->issue.code != 0) {
        const char *what = structural_problem(s->issue.code, s->issue.item);
        if (s->issue.item[0])
            g_snprintf(why, whylen, "malformed MIME: %s (%s)", what, s->issue.item);
        else
            g_snprintf(why, whylen, "malformed MIME: %s", what);
        g_object_unref(message);
        message = NULL;
    } else if (headers_end > (gint64)body_off) {
        g_snprintf(why, whylen, "the header block ends after the given body offset");
        g_object_unref(message);
        message = NULL;
    }
    return message;
}

/* ---- one part ---------------------------------------------------------- */

static void keep_part(struct job *job, const struct pb_mime_part *part, const char *reason)
{
    if (job->kept++ == 0)
        g_snprintf(job->why_kept, sizeof(job->why_kept), "%s part left unchanged: %s",
                   part->kind == PB_PART_HTML ? "text/html" : "text/plain", reason);
}

/* Rewrite part i; 0, or a result code to stop with (why set). */
static int rewrite_part(struct job *job, unsigned i, unsigned first_index, char *why, size_t whylen)
{
    const struct pb_mime_part *part = &job->parts.part[i];
    struct scratch *s = job->s;
    const char *src = job->msg + part->off;
    const char *data;
    size_t dlen;

    if (pb_mime_decode(part->cte, src, part->len, s->decoded, &data, &dlen) != 0) {
        g_snprintf(why, whylen, "malformed MIME: %s content does not decode cleanly",
                   pb_cte_name(part->cte));
        return PB_MIME_MALFORMED;
    }
    if (memmem(data, dlen, "-----BEGIN PGP ", 15) != NULL) {
        keep_part(job, part, "inline PGP");
        return 0;
    }
    unsigned links_before = job->ctx->links_tracked;
    g_string_truncate(s->rewritten, 0);
    int changes = part->kind == PB_PART_HTML
        ? pb_html_rewrite(job->ctx, data, dlen, s->rewritten)
        : pb_text_rewrite(job->ctx, data, dlen, first_index, s->rewritten);
    if (changes < 0) {
        g_snprintf(why, whylen, "%s rewriter failed",
                   part->kind == PB_PART_HTML ? "HTML" : "text");
        return PB_MIME_ERROR;
    }
    if (changes == 0)
        return 0;
    const char *reason = NULL;
    size_t enc_off = s->encoded->len;
    if (pb_mime_encode(part->cte, part->eol, src, part->len, s->rewritten->str,
                       s->rewritten->len, s->encoded, &reason) == 0
        && pb_mime_boundary_line(&job->parts, s->encoded->str + enc_off,
                                 s->encoded->len - enc_off))
        reason = "a line would start like a MIME boundary";
    if (reason != NULL) {
        g_string_truncate(s->encoded, enc_off);
        job->ctx->links_tracked = links_before;
        keep_part(job, part, reason);
        return 0;
    }
    job->result[i].changed = 1;
    job->result[i].enc_off = enc_off;
    job->result[i].enc_len = s->encoded->len - enc_off;
    return 0;
}

/* HTML parts first, then text parts: link indexes continue from the
 * links tracked so far (pb_html_rewrite starts at ctx->links_tracked
 * too), so they are unique across the message. */
static int rewrite_all(struct job *job, char *why, size_t whylen)
{
    for (int pass = 0; pass < 2; pass++) {
        enum pb_part_kind kind = pass == 0 ? PB_PART_HTML : PB_PART_TEXT;
        for (unsigned i = 0; i < job->parts.count; i++) {
            if (job->parts.part[i].kind != kind)
                continue;
            int rc = rewrite_part(job, i, job->ctx->links_tracked, why, whylen);
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}

/* ---- the whole message ------------------------------------------------- */

/* out_body = the original body with every changed part's range replaced. */
static void splice(const struct job *job, GString *out_body)
{
    size_t cursor = job->body_off;
    size_t need = job->len - job->body_off + job->s->encoded->len;
    if (out_body->allocated_len <= need) {
        g_string_set_size(out_body, need);
        g_string_truncate(out_body, 0);
    }
    for (unsigned i = 0; i < job->parts.count; i++) {
        const struct pb_mime_part *part = &job->parts.part[i];
        const struct part_result *res = &job->result[i];
        if (!res->changed)
            continue;
        g_string_append_len(out_body, job->msg + cursor, (gssize)(part->off - cursor));
        g_string_append_len(out_body, job->s->encoded->str + res->enc_off, (gssize)res->enc_len);
        cursor = part->off + part->len;
    }
    g_string_append_len(out_body, job->msg + cursor, (gssize)(job->len - cursor));
}

static enum pb_mime_result finish(struct job *job, GString *out_body, char *why, size_t whylen)
{
    unsigned changed = 0;
    for (unsigned i = 0; i < job->parts.count; i++)
        changed += job->result[i].changed;
    if (changed > 0) {
        splice(job, out_body);
        g_snprintf(why, whylen, "%s", job->kept ? job->why_kept : job->parts.why_left);
        return PB_MIME_REWRITTEN;
    }
    if (job->kept) {
        g_snprintf(why, whylen, "%s", job->why_kept);
        return PB_MIME_REFUSED;
    }
    if (job->parts.count == 0 && job->parts.left_alone) {
        g_snprintf(why, whylen, "%s", job->parts.why_left);
        return PB_MIME_REFUSED;
    }
    g_snprintf(why, whylen, "%s", job->parts.count ? "no trackable links" : "no HTML or text part");
    return PB_MIME_UNCHANGED;
}

static enum pb_mime_result rewrite_message(struct job *job, GMimeMessage *message,
                                           GString *out_body, char *why, size_t whylen)
{
    GMimeObject *top = g_mime_message_get_mime_part(message);
    switch (pb_mime_collect(top, job->s->msg, job->body_off, &job->parts, why, whylen)) {
    case PB_WALK_REFUSED:
        return PB_MIME_REFUSED;
    case PB_WALK_MALFORMED:
        return PB_MIME_MALFORMED;
    case PB_WALK_OK:
        break;
    }
    int rc = rewrite_all(job, why, whylen);
    if (rc != 0)
        return (enum pb_mime_result)rc;
    return finish(job, out_body, why, whylen);
}

enum pb_mime_result pb_mime_rewrite(struct pb_link_ctx *ctx, const char *msg, size_t len,
                                    size_t body_off, GString *out_body,
                                    char *why, size_t whylen)
{
    static GOnce gmime_once = G_ONCE_INIT;
    char no_why[1];
    if (why == NULL || whylen == 0) {
        why = no_why;
        whylen = sizeof(no_why);
    }
    why[0] = '\0';
    if (ctx == NULL || out_body == NULL || (msg == NULL && len > 0) || body_off > len
        || len > G_MAXUINT) {
        g_snprintf(why, whylen, "bad arguments");
        return PB_MIME_ERROR;
    }
    g_string_truncate(out_body, 0);
    g_once(&gmime_once, init_gmime, NULL);

    struct scratch *s = scratch_take();
    g_byte_array_set_size(s->msg, (guint)len);
    if (len > 0)
        memcpy(s->msg->data, msg, len);
    g_string_truncate(s->encoded, 0);

    struct job job_store = { .ctx = ctx, .msg = msg, .len = len, .body_off = body_off, .s = s };
    struct job *job = &job_store;
    unsigned links_at_start = ctx->links_tracked;
    enum pb_mime_result result = PB_MIME_MALFORMED;
    GMimeMessage *message = parse_message(s, body_off, why, whylen);
    if (message != NULL) {
        result = rewrite_message(job, message, out_body, why, whylen);
        g_object_unref(message);
    }
    if (result != PB_MIME_REWRITTEN) {
        ctx->links_tracked = links_at_start;
        g_string_truncate(out_body, 0);
    }
    scratch_trim(s);
    pb_pool_give(&scratch_pool, s);
    return result;
}
