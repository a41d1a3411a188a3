/*
 * template_render.c - pb_tpl_render(): one loaded template and one
 * contact's values make one complete message, built and encoded by GMime:
 * From, Reply-To, To (the contact's address, a display name from the
 * template), Subject (RFC 2047 when not ASCII), Date, Message-ID,
 * MIME-Version, the campaign header the milter tracks by, the template's
 * other headers, and the text and/or HTML part (multipart/alternative
 * for both) in UTF-8: 7bit when ASCII with short lines, else
 * quoted-printable. Values never reach a header with a line break in
 * them (template_text.c makes them one line). The body's
 * {{unsubscribe_url}} is the placeholder the milter replaces
 * (unsub_link.h) unless the caller gives the value.
 */
#include <stdio.h>
#include <string.h>
#include <gmime/gmime.h>
#include "events.h"
#include "template_int.h"

/* ---- checks of the caller's input -------------------------------------- */

/* An addr-spec we put in To and give to sendmail: printable ASCII, no
 * spaces or specials, one @ with something on both sides, not starting
 * with '-' (it could be read as an option). */
static int address_ok(const char *a)
{
    const char *at = a ? strrchr(a, '@') : NULL;
    size_t n = a ? strlen(a) : 0;

    if (at == NULL || at == a || at[1] == '\0' || n > 254 || a[0] == '-'
        || strchr(a, '@') != at)
        return 0;
    for (const char *p = a; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || strchr("<>()[]\\,;:\"", *p))
            return 0;
    return 1;
}

/* A campaign name as the milter reads it (milter/headers.c): 1..64
 * printable ASCII, no surrounding space. */
static int campaign_ok(const char *c)
{
    size_t n = c ? strlen(c) : 0;

    if (n == 0 || n > 64 || c[0] == ' ' || c[n - 1] == ' ')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (c[i] < 0x20 || c[i] > 0x7e)
            return 0;
    return 1;
}

static int check_input(const struct pb_tpl_input *in, char *err, size_t errlen)
{
    if (!address_ok(in->to)) {
        snprintf(err, errlen, "recipient \"%s\" is not a plain address (user@example.com)",
                 in->to ? in->to : "");
        return -1;
    }
    if (!campaign_ok(in->campaign)) {
        snprintf(err, errlen, "campaign \"%s\" is not 1..64 printable ASCII characters",
                 in->campaign ? in->campaign : "");
        return -1;
    }
    return 0;
}

/* ---- parts ------------------------------------------------------------- */

/* 7bit when the text is ASCII with lines of at most 998 octets. */
static GMimeContentEncoding encoding_for(const GString *s)
{
    size_t line = 0;

    for (size_t i = 0; i < s->len; i++) {
        unsigned char c = (unsigned char)s->str[i];
        if (c >= 0x80 || c == '\r' || c == '\0')
            return GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE;
        line = c == '\n' ? 0 : line + 1;
        if (line > 998)
            return GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE;
    }
    return GMIME_CONTENT_ENCODING_7BIT;
}

static GMimeObject *make_part(const char *subtype, const GString *content)
{
    GMimeContentEncoding enc = encoding_for(content);
    GMimePart *part = g_mime_part_new_with_type("text", subtype);
    GMimeStream *stream = g_mime_stream_mem_new_with_buffer(content->str, content->len);
    GMimeDataWrapper *wrapper = g_mime_data_wrapper_new_with_stream(stream,
                                                                    GMIME_CONTENT_ENCODING_DEFAULT);

    g_mime_object_set_content_type_parameter(GMIME_OBJECT(part), "charset",
                                             enc == GMIME_CONTENT_ENCODING_7BIT ? "us-ascii"
                                             : "utf-8");
    g_mime_part_set_content(part, wrapper);
    g_mime_part_set_content_encoding(part, enc);
    g_object_unref(wrapper);
    g_object_unref(stream);
    return GMIME_OBJECT(part);
}

static GMimeObject *make_body(const struct pb_template *t, const struct pb_tpl_input *in,
                              GString *scratch)
{
    GMimeObject *text = NULL, *html = NULL;

    if (t->has_text) {
        g_string_truncate(scratch, 0);
        pb_tpl_expand(&t->text, PB_TC_TEXT, in, scratch, NULL);
        text = make_part("plain", scratch);
    }
    if (t->has_html) {
        g_string_truncate(scratch, 0);
        pb_tpl_expand(&t->html, PB_TC_HTML, in, scratch, NULL);
        html = make_part("html", scratch);
    }
    if (text == NULL || html == NULL)
        return text != NULL ? text : html;
    GMimeMultipart *alt = g_mime_multipart_new_with_subtype("alternative");
    char boundary[40] = "=-pb-";

    pb_random_hex(16, boundary + 5);    /* GMime's own reads /dev/urandom each time */
    g_mime_multipart_set_boundary(alt, boundary);
    g_mime_multipart_add(alt, text);    /* the last part is the preferred one */
    g_mime_multipart_add(alt, html);
    g_object_unref(text);
    g_object_unref(html);
    return GMIME_OBJECT(alt);
}

/* The caller's values for the body, into own (g_free it): the
 * unsubscribe placeholder first (the first value of a name is the one
 * used) when the template has one and the caller gives no unsubscribe_url;
 * NULL when in's values stand as they are. Headers keep in's values: the
 * milter replaces the placeholder in the body only and writes
 * List-Unsubscribe itself. */
static struct pb_tpl_value *body_values(const struct pb_template *t,
                                        const struct pb_tpl_input *in,
                                        struct pb_tpl_input *own)
{
    struct pb_tpl_value *v;

    if (t->unsub_placeholder == NULL)
        return NULL;
    for (size_t i = 0; i < in->nextra; i++)
        if (in->extra[i].name != NULL && strcmp(in->extra[i].name, "unsubscribe_url") == 0
            && !pb_tpl_blank(in->extra[i].value))
            return NULL;
    v = g_new(struct pb_tpl_value, in->nextra + 1);
    v[0].name = "unsubscribe_url";
    v[0].value = t->unsub_placeholder;
    if (in->nextra > 0)
        memcpy(v + 1, in->extra, in->nextra * sizeof(*v));
    *own = *in;
    own->extra = v;
    own->nextra = in->nextra + 1;
    return v;
}

/* ---- headers ----------------------------------------------------------- */

/* Spaces for control characters; how many there were. */
static unsigned blank_controls(char *s)
{
    unsigned n = 0;

    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f) {
            *s = ' ';
            n++;
        }
    return n;
}

/* A value that holds encoded words ("=?utf-8?q?a=0D=0A...?=") would be
 * decoded by readers (and GMime) into what they encode: decode them here,
 * as often as they nest, so that a line break they hide becomes a space
 * like any other. */
static char *decode_words(char *v, unsigned *controls)
{
    for (int i = 0; i < 8 && strstr(v, "=?") != NULL; i++) {
        char *d = g_mime_utils_header_decode_text(NULL, v);
        if (strcmp(d, v) == 0) {
            g_free(d);
            break;
        }
        *controls += blank_controls(d);
        g_free(v);
        v = d;
    }
    return v;
}

/* t rendered as one header line: trimmed, runs of spaces as one. */
static char *header_value(const struct pb_tpl_text *t, const struct pb_tpl_input *in,
                          unsigned *controls)
{
    GString *s = g_string_new(NULL);
    size_t j = 0;

    pb_tpl_expand(t, PB_TC_HEADER, in, s, controls);
    char *v = decode_words(g_string_free(s, FALSE), controls);
    for (size_t i = 0; v[i] != '\0'; i++)
        if (v[i] != ' ' || (j > 0 && v[j - 1] != ' '))
            v[j++] = v[i];
    while (j > 0 && v[j - 1] == ' ')
        j--;
    v[j] = '\0';
    return v;
}

static void add_mailbox(InternetAddressList *list, const char *name, const char *addr)
{
    InternetAddress *a = internet_address_mailbox_new(name && *name ? name : NULL, addr);

    internet_address_set_charset(a, "utf-8");   /* else GMime picks iso-8859-1 where it can */
    internet_address_list_add(list, a);
    g_object_unref(a);
}

static void set_headers(GMimeMessage *m, const struct pb_template *t,
                        const struct pb_tpl_input *in, struct pb_tpl_info *info)
{
    char *to_name = header_value(&t->to_name, in, &info->header_controls);
    char *subject = header_value(in->subject ? &in->subject->text : &t->subject, in,
                                 &info->header_controls);
    time_t when = in->date ? in->date : time(NULL);
    GDateTime *date = g_date_time_new_from_unix_utc(when);
    char hex[33];

    add_mailbox(g_mime_message_get_from(m), t->from_name, t->from_addr);
    if (t->reply_addr != NULL)
        add_mailbox(g_mime_message_get_reply_to(m), t->reply_name, t->reply_addr);
    add_mailbox(g_mime_message_get_addresses(m, GMIME_ADDRESS_TYPE_TO), to_name, in->to);
    g_mime_message_set_subject(m, subject, "utf-8");
    g_mime_message_set_date(m, date);
    pb_random_hex(16, hex);
    snprintf(info->message_id, sizeof(info->message_id), "%s@%s", hex, t->id_domain);
    g_mime_message_set_message_id(m, info->message_id);
    g_mime_object_set_header(GMIME_OBJECT(m), "MIME-Version", "1.0", NULL);
    g_mime_object_set_header(GMIME_OBJECT(m), t->campaign_header, in->campaign, NULL);
    for (size_t i = 0; i < t->nheaders; i++) {
        char *v = header_value(&t->headers[i].value, in, &info->header_controls);
        g_mime_object_append_header(GMIME_OBJECT(m), t->headers[i].name, v, "utf-8");
        g_free(v);
    }
    g_date_time_unref(date);
    g_free(to_name);
    g_free(subject);
}

/* ---- the message ------------------------------------------------------- */

int pb_tpl_render(const struct pb_template *t, const struct pb_tpl_input *in, GString *out,
                  struct pb_tpl_info *info, char *err, size_t errlen)
{
    struct pb_tpl_info own;
    struct pb_tpl_input body_in;
    struct pb_tpl_value *body_extra;
    GString *scratch;
    GMimeMessage *m;
    GMimeObject *body;

    if (info == NULL)
        info = &own;
    memset(info, 0, sizeof(*info));
    g_string_truncate(out, 0);
    if (check_input(in, err, errlen) != 0)
        return -1;
    m = g_mime_message_new(FALSE);
    set_headers(m, t, in, info);
    scratch = g_string_sized_new(4096);
    body_extra = body_values(t, in, &body_in);
    info->unsub_placeholder = body_extra != NULL;
    body = make_body(t, body_extra ? &body_in : in, scratch);
    g_free(body_extra);
    g_mime_message_set_mime_part(m, body);
    g_object_unref(body);

    GByteArray *bytes = g_byte_array_sized_new(8192);
    GMimeStream *mem = g_mime_stream_mem_new_with_byte_array(bytes);
    g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(mem), FALSE);
    g_mime_object_write_to_stream(GMIME_OBJECT(m), NULL, mem);
    g_string_append_len(out, (const char *)bytes->data, (gssize)bytes->len);
    g_object_unref(mem);
    g_byte_array_unref(bytes);
    g_string_free(scratch, TRUE);
    g_object_unref(m);
    return 0;
}
