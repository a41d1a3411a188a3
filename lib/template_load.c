/*
 * template_load.c - pb_tpl_load(): read a template file with GMime and
 * check everything a render relies on, so that a template that loads
 * renders for every contact: UTF-8 throughout; the body a text/plain or
 * text/html part, or a multipart/alternative of one of each; a From (the
 * file's or submit.from) and a Subject; no header the renderer writes
 * itself (Date, Message-ID, the campaign header) or that `sendmail -t`
 * would turn into more recipients (Cc, Bcc); every placeholder known.
 * Each mistake is reported as "file:line: what (fix)".
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <gmime/gmime.h>
#include "template_int.h"
#include "unsub_link.h"

#define TEMPLATE_MAX (1024 * 1024)      /* bytes: a mail's text, not a download */

/* One load in progress. */
struct load {
    struct pb_template *t;
    const struct pb_tpl_opts *opts;
    const char *buf;            /* the file */
    size_t len;
    char *err;
    size_t errlen;
    int has_to;                 /* a To header was read */
};

static gpointer init_once(gpointer unused)
{
    (void)unused;
    g_mime_init();
    return NULL;
}

void pb_tpl_gmime_init(void)
{
    static GOnce once = G_ONCE_INIT;
    g_once(&once, init_once, NULL);
}

static unsigned line_at(const struct load *l, gint64 off)
{
    unsigned line = 1;

    for (gint64 i = 0; i < off && (size_t)i < l->len; i++)
        line += l->buf[i] == '\n';
    return line;
}

static int fail(struct load *l, unsigned line, const char *fmt, const char *arg)
{
    int n = line > 0 ? snprintf(l->err, l->errlen, "%s:%u: ", l->t->path, line)
                     : snprintf(l->err, l->errlen, "%s: ", l->t->path);

    if (n >= 0 && (size_t)n < l->errlen)
        snprintf(l->err + n, l->errlen - (size_t)n, fmt, arg);
    return -1;
}

/* ---- addresses --------------------------------------------------------- */

/* One mailbox from value into *name (may be NULL) and *addr. */
static int parse_mailbox(struct load *l, unsigned line, const char *what, const char *value,
                         char **name, char **addr)
{
    InternetAddressList *list = internet_address_list_parse(NULL, value);
    InternetAddress *a = list && internet_address_list_length(list) == 1
        ? internet_address_list_get_address(list, 0) : NULL;
    const char *spec = a && INTERNET_ADDRESS_IS_MAILBOX(a)
        ? internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a)) : NULL;
    int rc = -1;

    if (strstr(value, "{{") != NULL)
        fail(l, line, "%s: no placeholders here (the sender is the same for every "
             "contact)", what);
    else if (spec == NULL || strchr(spec, '@') == NULL || strpbrk(spec, " \t\r\n") != NULL)
        fail(l, line, "%s: not one address (write e.g. \"Shop <news@example.com>\")", what);
    else {
        const char *n = internet_address_get_name(a);
        *name = n && *n ? g_strdup(n) : NULL;
        *addr = g_strdup(spec);
        rc = 0;
    }
    if (list != NULL)
        g_object_unref(list);
    return rc;
}

/* ---- headers ----------------------------------------------------------- */

/* Headers that a template may not have, and why. */
static const char *refused_header(const struct load *l, const char *name)
{
    static const char *const own[] = { "Date", "Message-ID", NULL };
    static const char *const rcpts[] = { "Cc", "Bcc", "Resent-To", "Resent-Cc", "Resent-Bcc",
                                         NULL };

    for (const char *const *p = own; *p; p++)
        if (strcasecmp(name, *p) == 0)
            return "%s is written for each message by the renderer; remove it";
    for (const char *const *p = rcpts; *p; p++)
        if (strcasecmp(name, *p) == 0)
            return "%s would add recipients to every message; remove it";
    if (strcasecmp(name, l->t->campaign_header) == 0)
        return "%s is the campaign header: the caller gives the campaign; remove it";
    if (strcasecmp(name, "Return-Path") == 0 || strcasecmp(name, "Received") == 0
        || strcasecmp(name, "Sender") == 0)
        return "%s is the MTA's to write; remove it";
    return NULL;
}

static int compile_header(struct load *l, unsigned line, const char *name, const char *value,
                          struct pb_tpl_text *out)
{
    char what[96];
    struct pb_tpl_where w = { l->t->path, line, 0, what };

    snprintf(what, sizeof(what), "the %s header", name);
    return pb_tpl_compile(value, strlen(value), &w, out, l->err, l->errlen);
}

static int add_other_header(struct load *l, unsigned line, const char *name, const char *value)
{
    struct pb_tpl_text text;

    if (compile_header(l, line, name, value, &text) != 0)
        return -1;
    l->t->headers = g_renew(struct pb_tpl_header, l->t->headers, l->t->nheaders + 1);
    l->t->headers[l->t->nheaders].name = g_strdup(name);
    l->t->headers[l->t->nheaders++].value = text;
    return 0;
}

static int one_header(struct load *l, GMimeHeader *h, int *has_subject)
{
    const char *name = g_mime_header_get_name(h);
    const char *value = g_mime_header_get_value(h);
    unsigned line = line_at(l, g_mime_header_get_offset(h));
    const char *why = refused_header(l, name);
    struct pb_template *t = l->t;

    if (value == NULL)
        value = "";
    if (why != NULL)
        return fail(l, line, why, name);
    if (g_ascii_strncasecmp(name, "Content-", 8) == 0 || strcasecmp(name, "MIME-Version") == 0)
        return 0;               /* the structure: the renderer writes its own */
    if (strcasecmp(name, "From") == 0 && t->from_addr == NULL)
        return parse_mailbox(l, line, "From", value, &t->from_name, &t->from_addr);
    if (strcasecmp(name, "Reply-To") == 0 && t->reply_addr == NULL)
        return parse_mailbox(l, line, "Reply-To", value, &t->reply_name, &t->reply_addr);
    if (strcasecmp(name, "From") == 0 || strcasecmp(name, "Reply-To") == 0
        || (strcasecmp(name, "Subject") == 0 && *has_subject)
        || (strcasecmp(name, "To") == 0 && l->has_to))
        return fail(l, line, "a second %s header; remove one", name);
    if (strcasecmp(name, "Subject") == 0) {
        *has_subject = 1;
        return compile_header(l, line, "Subject", value, &t->subject);
    }
    if (strcasecmp(name, "To") == 0) {
        if (strchr(value, '@') != NULL && strstr(value, "{{") == NULL)
            return fail(l, line, "%s: holds the display name only, e.g. To: {{first_name}} "
                        "{{last_name}}; the address is always the contact's", "To");
        l->has_to = 1;
        return compile_header(l, line, "To", value, &t->to_name);
    }
    return add_other_header(l, line, name, value);
}

static int read_headers(struct load *l, GMimeMessage *msg)
{
    GMimeHeaderList *list = g_mime_object_get_header_list(GMIME_OBJECT(msg));
    int has_subject = 0, n = g_mime_header_list_get_count(list);

    for (int i = 0; i < n; i++)
        if (one_header(l, g_mime_header_list_get_header_at(list, i), &has_subject) != 0)
            return -1;
    if (!has_subject)
        return fail(l, 0, "%s", "no Subject header (add e.g. \"Subject: Hello {{first_name}}\")");
    return 0;
}

/* From and Reply-To from the configuration where the file has none. */
static int sender_defaults(struct load *l)
{
    struct pb_template *t = l->t;
    const struct pb_tpl_opts *o = l->opts;

    if (t->from_addr == NULL && (o == NULL || o->from == NULL))
        return fail(l, 0, "%s", "no From header and submit.from is not set (add "
                    "\"From: Shop <news@example.com>\" or set submit.from)");
    if (t->from_addr == NULL
        && parse_mailbox(l, 0, "submit.from", o->from, &t->from_name, &t->from_addr) != 0)
        return -1;
    if (t->reply_addr == NULL && o != NULL && o->reply_to != NULL)
        return parse_mailbox(l, 0, "submit.reply_to", o->reply_to, &t->reply_name,
                             &t->reply_addr);
    return 0;
}

/* ---- the body ---------------------------------------------------------- */

/* The decoded content of part, LF line breaks, into out. */
static void decoded_content(GMimePart *part, GString *out)
{
    GMimeDataWrapper *wrapper = g_mime_part_get_content(part);
    GByteArray *bytes = g_byte_array_new();
    GMimeStream *mem = g_mime_stream_mem_new_with_byte_array(bytes);

    g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(mem), FALSE);
    if (wrapper != NULL)
        g_mime_data_wrapper_write_to_stream(wrapper, mem);
    g_object_unref(mem);
    for (guint i = 0; i < bytes->len; i++)
        if (!(bytes->data[i] == '\r' && i + 1 < bytes->len && bytes->data[i + 1] == '\n'))
            g_string_append_c(out, (char)bytes->data[i]);
    g_byte_array_unref(bytes);
}

/* Where part's content starts in the file, and whether its bytes are the
 * decoded text (no transfer encoding). */
static unsigned content_line(struct load *l, GMimePart *part, int *mapped)
{
    GMimeDataWrapper *wrapper = g_mime_part_get_content(part);
    GMimeStream *st = wrapper ? g_mime_data_wrapper_get_stream(wrapper) : NULL;
    GMimeContentEncoding enc = g_mime_part_get_content_encoding(part);

    *mapped = enc == GMIME_CONTENT_ENCODING_DEFAULT || enc == GMIME_CONTENT_ENCODING_7BIT
        || enc == GMIME_CONTENT_ENCODING_8BIT || enc == GMIME_CONTENT_ENCODING_BINARY;
    return st != NULL ? line_at(l, st->bound_start) : 1;
}

static int read_part(struct load *l, GMimeObject *obj)
{
    GMimeContentType *ct = g_mime_object_get_content_type(obj);
    const char *sub = ct ? g_mime_content_type_get_media_subtype(ct) : "";
    const char *charset = g_mime_object_get_content_type_parameter(obj, "charset");
    int html = g_mime_content_type_is_type(ct, "text", "html"), mapped = 0;
    struct pb_template *t = l->t;
    unsigned line = GMIME_IS_PART(obj) ? content_line(l, GMIME_PART(obj), &mapped) : 1;

    if (!GMIME_IS_PART(obj) || !(html || g_mime_content_type_is_type(ct, "text", "plain")))
        return fail(l, line, "a %s part: a template has a text/plain and/or a text/html "
                    "part (alone or in multipart/alternative)", sub ? sub : "non-text");
    if ((html && t->has_html) || (!html && t->has_text))
        return fail(l, line, "a second text/%s part; a template has one of each", sub);
    if (charset != NULL && g_ascii_strcasecmp(charset, "utf-8") != 0
        && g_ascii_strcasecmp(charset, "us-ascii") != 0)
        return fail(l, line, "charset %s: templates are UTF-8 (write charset=utf-8)", charset);

    GString *text = g_string_new(NULL);
    char what[32];
    struct pb_tpl_where w = { t->path, line, mapped, what };
    int rc = -1;

    decoded_content(GMIME_PART(obj), text);
    snprintf(what, sizeof(what), "the text/%s part", html ? "html" : "plain");
    if (!g_utf8_validate(text->str, (gssize)text->len, NULL))
        fail(l, line, "%s: its decoded content is not UTF-8", what);
    else
        rc = pb_tpl_compile(text->str, text->len, &w, html ? &t->html : &t->text, l->err,
                            l->errlen);
    if (rc == 0)
        *(html ? &t->has_html : &t->has_text) = 1;
    g_string_free(text, TRUE);
    return rc;
}

static int read_body(struct load *l, GMimeMessage *msg)
{
    GMimeObject *top = g_mime_message_get_mime_part(msg);

    if (top == NULL)
        return fail(l, 0, "%s", "no body (add a blank line after the headers, then the text)");
    if (!GMIME_IS_MULTIPART(top))
        return read_part(l, top);
    GMimeContentType *ct = g_mime_object_get_content_type(top);
    if (!g_mime_content_type_is_type(ct, "multipart", "alternative"))
        return fail(l, 0, "multipart/%s: a template is a text/plain or text/html part, or "
                    "a multipart/alternative of one of each", g_mime_content_type_get_media_subtype(ct));
    int n = g_mime_multipart_get_count(GMIME_MULTIPART(top));
    for (int i = 0; i < n; i++)
        if (read_part(l, g_mime_multipart_get_part(GMIME_MULTIPART(top), i)) != 0)
            return -1;
    if (n == 0)
        return fail(l, 0, "%s", "an empty multipart/alternative (add a text/plain or "
                    "text/html part)");
    return 0;
}

/* ---- the file ---------------------------------------------------------- */

static GMimeMessage *parse_file(struct load *l)
{
    GMimeStream *stream = g_mime_stream_mem_new_with_buffer(l->buf, l->len);
    GMimeParser *parser = g_mime_parser_new_with_stream(stream);
    GMimeMessage *msg;

    g_mime_parser_set_persist_stream(parser, TRUE);
    msg = g_mime_parser_construct_message(parser, NULL);
    g_object_unref(parser);
    g_object_unref(stream);
    return msg;
}

/* The first line that is not UTF-8, or 0. */
static unsigned bad_utf8_line(const struct load *l)
{
    const char *end = NULL;

    if (g_utf8_validate(l->buf, (gssize)l->len, &end))
        return 0;
    return line_at(l, end - l->buf);
}

static int load_file(struct load *l)
{
    GMimeMessage *msg;
    unsigned bad = bad_utf8_line(l);
    int rc;

    if (bad > 0)
        return fail(l, bad, "%s", "not UTF-8 (save the file as UTF-8)");
    if (memchr(l->buf, '\0', l->len) != NULL)
        return fail(l, line_at(l, (const char *)memchr(l->buf, '\0', l->len) - l->buf),
                    "%s", "a NUL byte (a template is a text file)");
    msg = parse_file(l);
    if (msg == NULL)
        return fail(l, 0, "%s", "not an RFC 5322 message (headers, a blank line, the text)");
    rc = read_headers(l, msg);
    if (rc == 0)
        rc = sender_defaults(l);
    if (rc == 0)
        rc = read_body(l, msg);
    g_object_unref(msg);
    return rc;
}

struct pb_template *pb_tpl_load(const char *path, const struct pb_tpl_opts *opts,
                                char *err, size_t errlen)
{
    struct pb_template *t = g_new0(struct pb_template, 1);
    struct load l = { t, opts, NULL, 0, err, errlen, 0 };
    GError *gerr = NULL;
    gchar *buf = NULL;
    gsize len = 0;

    pb_tpl_gmime_init();
    t->path = g_strdup(path);
    t->campaign_header = g_strdup(opts && opts->campaign_header ? opts->campaign_header
                                  : "X-Campaign");
    if (!g_file_get_contents(path, &buf, &len, &gerr)) {
        snprintf(err, errlen, "%s: cannot read: %s", path, gerr->message);
        g_error_free(gerr);
        pb_tpl_free(t);
        return NULL;
    }
    l.buf = buf;
    l.len = len;
    int rc = len > TEMPLATE_MAX ? fail(&l, 0, "%s", "over 1 MB (a template is one mail's "
                                       "text; link to large content instead)")
                                : load_file(&l);
    g_free(buf);
    if (rc != 0) {
        pb_tpl_free(t);
        return NULL;
    }
    t->id_domain = g_strdup(opts && opts->id_domain ? opts->id_domain
                            : strrchr(t->from_addr, '@') + 1);
    if (opts && opts->tracking_url && *opts->tracking_url
        && (pb_tpl_uses(&t->text, "unsubscribe_url") || pb_tpl_uses(&t->html, "unsubscribe_url"))) {
        GString *u = g_string_new(NULL);
        pb_unsub_placeholder(opts->tracking_url, u);
        t->unsub_placeholder = g_string_free(u, FALSE);
    }
    return t;
}

void pb_tpl_free(struct pb_template *t)
{
    if (t == NULL)
        return;
    g_free(t->path);
    g_free(t->from_name);
    g_free(t->from_addr);
    g_free(t->reply_name);
    g_free(t->reply_addr);
    g_free(t->campaign_header);
    g_free(t->id_domain);
    g_free(t->unsub_placeholder);
    pb_tpl_text_free(&t->subject);
    pb_tpl_text_free(&t->to_name);
    for (size_t i = 0; i < t->nheaders; i++) {
        g_free(t->headers[i].name);
        pb_tpl_text_free(&t->headers[i].value);
    }
    g_free(t->headers);
    pb_tpl_text_free(&t->text);
    pb_tpl_text_free(&t->html);
    g_free(t);
}

const char *pb_tpl_from_address(const struct pb_template *t)
{
    return t->from_addr;
}

const char *pb_tpl_path(const struct pb_template *t)
{
    return t->path;
}
