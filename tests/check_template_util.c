/*
 * check_template_util.c - the helpers of the template tests
 * (check_template.h): templates written to files, renders read back
 * with GMime, and checks of the raw header block.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <check.h>
#include "check_template.h"
#include "testutil.h"

static char path_buf[512];

const char *ct_write(const char *src)
{
    snprintf(path_buf, sizeof(path_buf), "%s/template.eml", tu_tmpdir());
    ck_assert_int_eq(tu_write_file(path_buf, src, strlen(src)), 0);
    return path_buf;
}

struct pb_template *ct_load_opts(const char *src, const struct pb_tpl_opts *opts)
{
    char err[1024];
    struct pb_template *t = pb_tpl_load(ct_write(src), opts, err, sizeof(err));

    ck_assert_msg(t != NULL, "load: %s", err);
    return t;
}

struct pb_template *ct_load(const char *src)
{
    return ct_load_opts(src, NULL);
}

static char *decode(GMimeObject *obj)
{
    GMimeDataWrapper *w = g_mime_part_get_content(GMIME_PART(obj));
    GByteArray *bytes = g_byte_array_new();
    GMimeStream *mem = g_mime_stream_mem_new_with_byte_array(bytes);

    g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(mem), FALSE);
    g_mime_data_wrapper_write_to_stream(w, mem);
    g_object_unref(mem);
    g_byte_array_append(bytes, (const guint8 *)"", 1);
    return (char *)g_byte_array_free(bytes, FALSE);
}

static void take_part(struct ct_msg *m, GMimeObject *obj)
{
    GMimeContentType *ct = g_mime_object_get_content_type(obj);

    if (g_mime_content_type_is_type(ct, "text", "html"))
        m->html = decode(obj);
    else if (g_mime_content_type_is_type(ct, "text", "plain"))
        m->text = decode(obj);
}

static void read_back(struct ct_msg *m)
{
    GMimeStream *s = g_mime_stream_mem_new_with_buffer(m->raw->str, m->raw->len);
    GMimeParser *p = g_mime_parser_new_with_stream(s);
    const char *blank = strstr(m->raw->str, "\n\n");

    m->msg = g_mime_parser_construct_message(p, NULL);
    g_object_unref(p);
    g_object_unref(s);
    ck_assert_ptr_nonnull(m->msg);
    ck_assert_ptr_nonnull(blank);
    m->header_len = (size_t)(blank - m->raw->str) + 1;
    m->body_off = m->header_len + 1;
    m->subject = g_strdup(g_mime_message_get_subject(m->msg));
    InternetAddressList *to = g_mime_message_get_to(m->msg);
    ck_assert_int_eq(internet_address_list_length(to), 1);
    InternetAddress *a = internet_address_list_get_address(to, 0);
    m->to_name = g_strdup(internet_address_get_name(a) ? internet_address_get_name(a) : "");
    m->to_addr = g_strdup(internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a)));
    GMimeObject *top = g_mime_message_get_mime_part(m->msg);
    if (GMIME_IS_MULTIPART(top))
        for (int i = 0; i < g_mime_multipart_get_count(GMIME_MULTIPART(top)); i++)
            take_part(m, g_mime_multipart_get_part(GMIME_MULTIPART(top), i));
    else
        take_part(m, top);
}

void ct_render(const struct pb_template *t, const char *to, const struct pb_tpl_value *c,
               size_t nc, const struct pb_tpl_value *x, size_t nx, struct ct_msg *m)
{
    struct pb_tpl_input in = { .to = to, .contact = c, .ncontact = nc, .extra = x,
                               .nextra = nx, .campaign = "welcome:1", .date = 1700000000 };
    char err[512];

    memset(m, 0, sizeof(*m));
    m->raw = g_string_new(NULL);
    ck_assert_msg(pb_tpl_render(t, &in, m->raw, &m->info, err, sizeof(err)) == 0, "render: %s",
                  err);
    read_back(m);
}

void ct_msg_free(struct ct_msg *m)
{
    g_string_free(m->raw, TRUE);
    if (m->msg != NULL)
        g_object_unref(m->msg);
    g_free(m->subject);
    g_free(m->to_name);
    g_free(m->to_addr);
    g_free(m->text);
    g_free(m->html);
    memset(m, 0, sizeof(*m));
}

const char *ct_header(const struct ct_msg *m, const char *name)
{
    const char *v = g_mime_object_get_header(GMIME_OBJECT(m->msg), name);

    return v ? v : "";
}

const char *ct_raw_header(const struct ct_msg *m, const char *name)
{
    GMimeHeaderList *list = g_mime_object_get_header_list(GMIME_OBJECT(m->msg));
    GMimeHeader *h = g_mime_header_list_get_header(list, name);

    return h ? g_mime_header_get_raw_value(h) : "";
}

const char *ct_part_header(const struct ct_msg *m, int i, const char *name)
{
    GMimeObject *top = g_mime_message_get_mime_part(m->msg);
    GMimeObject *part = GMIME_IS_MULTIPART(top)
        ? g_mime_multipart_get_part(GMIME_MULTIPART(top), i) : top;
    const char *v = part ? g_mime_object_get_header(part, name) : NULL;

    return v ? v : "";
}

void ct_assert_headers_only(const struct ct_msg *m, const char *names)
{
    char **allowed = g_strsplit(names, " ", -1);
    char *block = g_strndup(m->raw->str, m->header_len);
    char **lines = g_strsplit(block, "\n", -1);

    for (char **l = lines; *l != NULL; l++) {
        ck_assert_msg(strchr(*l, '\r') == NULL, "CR in header line \"%s\"", *l);
        if (**l == '\0' || **l == ' ' || **l == '\t')
            continue;
        const char *colon = strchr(*l, ':');
        ck_assert_msg(colon != NULL, "header line without a name: \"%s\"", *l);
        int ok = 0;
        for (char **a = allowed; *a && !ok; a++)
            ok = strlen(*a) == (size_t)(colon - *l) && strncasecmp(*a, *l, strlen(*a)) == 0;
        ck_assert_msg(ok, "unexpected header line \"%s\"", *l);
    }
    g_strfreev(lines);
    g_strfreev(allowed);
    g_free(block);
}

int ct_count_addresses(const struct ct_msg *m, const char *name)
{
    GMimeAddressType type = strcasecmp(name, "Bcc") == 0 ? GMIME_ADDRESS_TYPE_BCC
        : strcasecmp(name, "Cc") == 0 ? GMIME_ADDRESS_TYPE_CC : GMIME_ADDRESS_TYPE_TO;

    return internet_address_list_length(g_mime_message_get_addresses(m->msg, type));
}
