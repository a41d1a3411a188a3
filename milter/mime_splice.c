/*
 * mime_splice.c - pb_mime_rewrite(): rewrite the HTML and text bodies of
 * one message without re-serialising it. GMime parses the caller's bytes
 * in place (msg_view) with a persistent stream, so every leaf part's
 * content is a byte range of the message (mime_parts.c picks the parts).
 * Each chosen part is decoded, rewritten, re-encoded in its own transfer
 * encoding and line endings (mime_codec.c), and the new body is the
 * original body with just those ranges replaced: headers, boundaries,
 * preamble, epilogue and all other parts stay byte for byte as they came.
 * A message whose structure GMime finds ambiguous is left alone, with the
 * reason mime_issue.c gives.
 *
 * Scratch buffers are reused from message to message (a pool, pool.h:
 * libmilter's worker threads come and go), so the hot path allocates
 * little beyond what GMime needs for the tree.
 */
#include <stdint.h>
#include <string.h>
#include <gmime/gmime.h>
#include "rewrite.h"
#include "mime_parts.h"
#include "mime_codec.h"
#include "mime_issue.h"
#include "pool.h"

/* Scratch buffers above this size are given back after the message. */
#define SCRATCH_KEEP (1024 * 1024)

struct scratch {
    GString *decoded;           /* one part's decoded content */
    GString *rewritten;         /* one part after the rewriter */
    GString *encoded;           /* every changed part, re-encoded, back to back */
    GMimeParserOptions *options;
    struct pb_parse_issues issues;      /* the warning callback's target */
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
    GByteArray *view;           /* msg itself, as GMime's stream takes it (msg_view) */
    struct scratch *s;
    struct pb_mime_parts parts;
    struct part_result result[PB_MIME_MAX_PARTS];
    unsigned kept;              /* parts whose rewrite could not be encoded */
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
        s->decoded = g_string_sized_new(64 * 1024);
        s->rewritten = g_string_sized_new(64 * 1024);
        s->encoded = g_string_sized_new(64 * 1024);
        s->options = g_mime_parser_options_new();
        g_mime_parser_options_set_warning_callback(s->options, on_parser_warning, &s->issues);
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
    trim_string(&s->decoded);
    trim_string(&s->rewritten);
    trim_string(&s->encoded);
}

/* ---- parsing ----------------------------------------------------------- */

/* msg[0..len) as a byte array for GMime's memory stream, without copying
 * it: the array borrows the bytes (GMime only reads them; the stream does
 * not own the array) and msg_view_end() hands them back unfreed once the
 * tree that refers to them is gone. */
static GByteArray *msg_view(const char *msg, size_t len)
{
    return g_byte_array_new_take((guint8 *)(uintptr_t)msg, len);
}

static void msg_view_end(GByteArray *view)
{
    (void)g_byte_array_free(view, FALSE);       /* the wrapper only */
}

static void on_parser_warning(gint64 offset, GMimeParserWarning code, const gchar *item,
                              gpointer user_data)
{
    pb_issues_note(user_data, offset, code, item);
}

/* The header block GMime read must be the one given: it ends with the
 * empty line just before body_off. 0, or -1 with why set. */
static int check_header_block(const GByteArray *msg, gint64 headers_end, size_t body_off,
                              char *why, size_t whylen)
{
    gint64 blank = headers_end;
    if (blank >= 0 && (size_t)blank < msg->len && msg->data[blank] == '\r')
        blank++;
    if (blank >= 0 && (size_t)blank < msg->len && msg->data[blank] == '\n'
        && (size_t)blank + 1 == body_off)
        return 0;
    g_snprintf(why, whylen, "malformed MIME: the header block ends at byte %" G_GINT64_FORMAT
               ", not at the "
               "empty line before the body (byte %zu)", headers_end, body_off);
    return -1;
}

/* Parse msg; NULL (why set) if GMime finds no message, reports a
 * structural problem, or ends the header block elsewhere than body_off. */
static GMimeMessage *parse_message(struct scratch *s, GByteArray *msg, size_t body_off,
                                   char *why, size_t whylen)
{
    GMimeStream *stream = g_mime_stream_mem_new_with_byte_array(msg);
    g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(stream), FALSE);
    GMimeParser *parser = g_mime_parser_new_with_stream(stream);
    g_mime_parser_set_persist_stream(parser, TRUE);
    g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
    s->issues.count = 0;
    GMimeMessage *message = g_mime_parser_construct_message(parser, s->options);
    gint64 headers_end = g_mime_parser_get_headers_end(parser);
    g_object_unref(parser);
    g_object_unref(stream);
    if (pb_issues_explain(&s->issues, message, msg, why, whylen)
        || check_header_block(msg, headers_end, body_off, why, whylen) != 0) {
        if (message != NULL)
            g_object_unref(message);
        message = NULL;
    }
    return message;
}

/* ---- one part ---------------------------------------------------------- */

static const char *kind_type(const struct pb_mime_part *part)
{
    return part->kind == PB_PART_HTML ? "text/html" : "text/plain";
}

/* Part whose rewrite cannot go out: it stays as it came. */
static void keep_part(struct job *job, const struct pb_mime_part *part, const char *reason)
{
    job->kept++;
    pb_mime_leave_alone(&job->parts, part->num, kind_type(part), "%s", reason);
}

/* Why part's content does not decode: what, where (line of the content,
 * or its end). */
static void bad_content(const struct pb_mime_part *part, const char *src, const char *what,
                        size_t where, char *why, size_t whylen)
{
    unsigned line = 1;
    char shown[16] = "", place[32] = "at the end";
    if (where < part->len) {
        for (size_t i = 0; i < where; i++)
            line += src[i] == '\n';
        g_snprintf(place, sizeof(place), "on line %u", line);
        if (g_str_has_prefix(what, "a byte outside"))
            g_snprintf(shown, sizeof(shown), " (0x%02x)", (unsigned char)src[where]);
    }
    g_snprintf(why, whylen, "malformed MIME: part %s (%s): %s%s %s of its %s content",
               part->num, kind_type(part), what, shown, place, pb_cte_name(part->cte));
}

/* Rewrite part i; 0, or a result code to stop with (why set). */
static int rewrite_part(struct job *job, unsigned i, unsigned first_index, char *why, size_t whylen)
{
    const struct pb_mime_part *part = &job->parts.part[i];
    struct scratch *s = job->s;
    const char *src = job->msg + part->off;
    const char *data, *bad = NULL;
    size_t dlen, where = 0;

    if (pb_mime_decode(part->cte, src, part->len, s->decoded, &data, &dlen, &bad, &where) != 0) {
        bad_content(part, src, bad, where, why, whylen);
        return PB_MIME_MALFORMED;
    }
    if (memmem(data, dlen, "-----BEGIN PGP ", 15) != NULL) {
        keep_part(job, part, "inline PGP");
        return 0;
    }
    unsigned links_before = job->ctx->links_tracked;
    int pixel_before = job->ctx->pixel_placed;
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
        job->ctx->pixel_placed = pixel_before;  /* the next HTML part gets it */
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

/* Why nothing was rewritten in a message where no part was left alone
 * and no rewrite dropped. */
static const char *why_unchanged(const struct pb_mime_parts *parts)
{
    if (parts->count > 0)
        return "no trackable links";
    if (parts->attachments > 0 && parts->empty > 0)
        return "its HTML and text parts are attachments or empty";
    if (parts->attachments > 0)
        return "its HTML and text parts are attachments";
    if (parts->empty > 0)
        return "its HTML and text parts are empty";
    return "no HTML or text part";
}

/* The result and its reason: why names the parts left alone, if any
 * ("left alone: part 1.2 message/rfc822 (attached message), ..."). */
static enum pb_mime_result finish(struct job *job, GString *out_body, char *why, size_t whylen)
{
    unsigned changed = 0;
    char left[sizeof(job->parts.left) + 32];

    for (unsigned i = 0; i < job->parts.count; i++)
        changed += job->result[i].changed;
    pb_mime_left_summary(&job->parts, left, sizeof(left));
    if (changed > 0) {
        splice(job, out_body);
        g_snprintf(why, whylen, "%s", left);
        return PB_MIME_REWRITTEN;
    }
    if (job->kept > 0 || (job->parts.count == 0 && job->parts.left_alone > 0)) {
        g_snprintf(why, whylen, "%s", left);
        return PB_MIME_REFUSED;
    }
    g_snprintf(why, whylen, "%s%s%s", why_unchanged(&job->parts), left[0] ? "; " : "", left);
    return PB_MIME_UNCHANGED;
}

static enum pb_mime_result rewrite_message(struct job *job, GMimeMessage *message,
                                           GString *out_body, char *why, size_t whylen)
{
    GMimeObject *top = g_mime_message_get_mime_part(message);
    switch (pb_mime_collect(top, job->view, job->body_off, &job->parts, why, whylen)) {
    case PB_WALK_REFUSED:
        return PB_MIME_REFUSED;
    case PB_WALK_MALFORMED:
        return PB_MIME_MALFORMED;
    case PB_WALK_ERROR:
        return PB_MIME_ERROR;
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
    g_string_truncate(s->encoded, 0);

    struct job job_store = { .ctx = ctx, .msg = msg, .len = len, .body_off = body_off, .s = s,
                             .view = msg_view(msg, len) };
    struct job *job = &job_store;
    unsigned links_at_start = ctx->links_tracked;
    int pixel_at_start = ctx->pixel_placed;
    enum pb_mime_result result = PB_MIME_MALFORMED;
    GMimeMessage *message = parse_message(s, job->view, body_off, why, whylen);
    if (message != NULL) {
        result = rewrite_message(job, message, out_body, why, whylen);
        g_object_unref(message);
    }
    msg_view_end(job->view);
    if (result != PB_MIME_REWRITTEN) {
        ctx->links_tracked = links_at_start;
        ctx->pixel_placed = pixel_at_start;
        g_string_truncate(out_body, 0);
    }
    scratch_trim(s);
    pb_pool_give(&scratch_pool, s);
    return result;
}
