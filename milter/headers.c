/*
 * headers.c - the header block of one message, kept exactly as received,
 * rebuilt for the MIME splicer; the few header values the milter derives
 * (campaign name, clean Message-ID/Subject, List-Unsubscribe); and what
 * becomes of the campaign header, which only a DKIM signature naming it
 * in its h= tag (or an MTA refusing header changes) keeps in the mail.
 */
#include <string.h>
#include <strings.h>
#include "headers.h"

void pb_headers_init(struct pb_headers *h)
{
    h->list = g_array_new(FALSE, FALSE, sizeof(struct pb_header));
    h->bytes = 2;               /* the blank line after the block */
}

void pb_headers_clear(struct pb_headers *h)
{
    if (h->list == NULL)
        return;
    for (guint i = 0; i < h->list->len; i++) {
        struct pb_header *hd = &g_array_index(h->list, struct pb_header, i);
        g_free(hd->name);
        g_free(hd->value);
    }
    g_array_free(h->list, TRUE);
    h->list = NULL;
    h->bytes = 0;
}

void pb_headers_add(struct pb_headers *h, const char *name, const char *value)
{
    struct pb_header hd;

    hd.name = g_strdup(name ? name : "");
    hd.value = g_strdup(value ? value : "");
    g_array_append_val(h->list, hd);
    /* name ':' [space] value CRLF; folded lines may grow by one CR each */
    h->bytes += strlen(hd.name) + strlen(hd.value) + 4;
}

const char *pb_headers_get(const struct pb_headers *h, const char *name)
{
    for (guint i = 0; i < h->list->len; i++) {
        const struct pb_header *hd = &g_array_index(h->list, struct pb_header, i);
        if (strcasecmp(hd->name, name) == 0)
            return hd->value;
    }
    return NULL;
}

unsigned pb_headers_count(const struct pb_headers *h, const char *name)
{
    unsigned n = 0;

    for (guint i = 0; i < h->list->len; i++)
        if (strcasecmp(g_array_index(h->list, struct pb_header, i).name, name) == 0)
            n++;
    return n;
}

int pb_headers_any_leading_space(const struct pb_headers *h)
{
    for (guint i = 0; i < h->list->len; i++) {
        const char *v = g_array_index(h->list, struct pb_header, i).value;
        if (v[0] == ' ' || v[0] == '\t')
            return 1;
    }
    return 0;
}

/* Append value with every bare LF (a fold as the MTA passes it) as CRLF. */
static void append_crlf(GString *out, const char *value)
{
    const char *p = value, *lf;

    while ((lf = strchr(p, '\n')) != NULL) {
        g_string_append_len(out, p, lf - p);
        if (lf == value || lf[-1] != '\r')
            g_string_append_c(out, '\r');
        g_string_append_c(out, '\n');
        p = lf + 1;
    }
    g_string_append(out, p);
}

void pb_headers_render(const struct pb_headers *h, int leadspc, GString *out)
{
    for (guint i = 0; i < h->list->len; i++) {
        const struct pb_header *hd = &g_array_index(h->list, struct pb_header, i);
        g_string_append(out, hd->name);
        g_string_append_c(out, ':');
        if (!leadspc)
            g_string_append_c(out, ' ');
        append_crlf(out, hd->value);
        g_string_append(out, "\r\n");
    }
    g_string_append(out, "\r\n");
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

void pb_header_clean(const char *value, size_t max, GString *out)
{
    size_t start = out->len;
    int pending_space = 0;

    for (const char *p = value; *p != '\0' && out->len - start < max; p++) {
        unsigned char c = (unsigned char)*p;
        if (is_blank((char)c)) {
            pending_space = out->len > start;
            continue;
        }
        if (c < 0x20 || c == 0x7f)
            continue;
        if (pending_space && out->len - start + 1 < max)
            g_string_append_c(out, ' ');
        pending_space = 0;
        g_string_append_c(out, (char)c);
    }
}

int pb_header_campaign(const char *value, char out[PB_CAMPAIGN_MAX + 1])
{
    size_t n = 0;
    int pending_space = 0;

    for (const char *p = value ? value : ""; *p != '\0' && n < PB_CAMPAIGN_MAX; p++) {
        unsigned char c = (unsigned char)*p;
        if (is_blank((char)c)) {
            pending_space = n > 0;
            continue;
        }
        if (c < 0x21 || c > 0x7e)
            continue;           /* control or 8-bit: not part of a campaign name */
        if (pending_space && n + 1 < PB_CAMPAIGN_MAX)
            out[n++] = ' ';
        pending_space = 0;
        out[n++] = (char)c;
    }
    out[n] = '\0';
    return n > 0;
}

int pb_header_list_unsubscribe(const struct pb_link_ctx *ctx, const char *mailto,
                               int leadspc, GString *out)
{
    if (leadspc)
        g_string_append_c(out, ' ');
    g_string_append_c(out, '<');
    if (pb_link_unsubscribe_url(ctx, out) != 0)
        return -1;
    g_string_append_c(out, '>');
    if (mailto != NULL && *mailto != '\0')
        g_string_append_printf(out, ", <mailto:%s?subject=unsubscribe>", mailto);
    return 0;
}

/* ---- the campaign header and DKIM signatures ---------------------------- */

/* RFC 6376 3.2 FWS: blanks and line breaks (a fold as the MTA passes it). */
static const char *skip_fws(const char *p, const char *end)
{
    while (p < end && is_blank(*p))
        p++;
    return p;
}

/* 1 if the h= value [p, end) - header names separated by ':', with FWS
 * around them - names name (header names compare case-insensitively). */
static int list_names(const char *p, const char *end, const char *name)
{
    size_t nlen = strlen(name);

    while (p < end) {
        p = skip_fws(p, end);
        const char *start = p;
        while (p < end && *p != ':' && !is_blank(*p))
            p++;
        if ((size_t)(p - start) == nlen && strncasecmp(start, name, nlen) == 0)
            return 1;
        while (p < end && *p != ':')
            p++;                /* FWS after the name, or junk: up to the next ':' */
        if (p < end)
            p++;
    }
    return 0;
}

int pb_header_dkim_signs(const char *value, const char *name)
{
    const char *p = value ? value : "", *end = p + strlen(p);

    /* tag-list: tag-spec *( ";" tag-spec ); tag-spec: [FWS] tag-name
     * [FWS] "=" [FWS] tag-value [FWS]; tag names are case-sensitive and
     * tag values never hold ';' */
    while (p < end) {
        const char *spec_end = memchr(p, ';', (size_t)(end - p));
        if (spec_end == NULL)
            spec_end = end;
        const char *tag = skip_fws(p, spec_end), *q = tag;
        while (q < spec_end && (g_ascii_isalnum(*q) || *q == '_'))
            q++;
        const char *eq = skip_fws(q, spec_end);
        if (q - tag == 1 && tag[0] == 'h' && eq < spec_end && *eq == '='
            && list_names(eq + 1, spec_end, name))
            return 1;
        p = spec_end < end ? spec_end + 1 : end;
    }
    return 0;
}

int pb_headers_dkim_signs(const struct pb_headers *h, const char *name)
{
    for (guint i = 0; i < h->list->len; i++) {
        const struct pb_header *hd = &g_array_index(h->list, struct pb_header, i);
        if (strcasecmp(hd->name, "DKIM-Signature") == 0 && pb_header_dkim_signs(hd->value, name))
            return 1;
    }
    return 0;
}

enum pb_campaign_fate pb_headers_campaign_fate(const struct pb_milter_conf *mc,
                                               const struct pb_headers *h, int can_change)
{
    if (!mc->strip_campaign_header || pb_headers_count(h, mc->campaign_header) == 0)
        return PB_CAMPAIGN_NONE;
    if (pb_headers_dkim_signs(h, mc->campaign_header))
        return PB_CAMPAIGN_KEPT_DKIM;
    return can_change ? PB_CAMPAIGN_REMOVE : PB_CAMPAIGN_KEPT_MTA;
}
