/*
 * changes.c - sending the milter's changes back to the MTA at the end of
 * a message (see changes.h): added headers, removed headers, the new body
 * in chunks of whole lines.
 */
#include <string.h>
#include "callbacks.h"
#include "changes.h"
#include "log.h"

int pb_change_list_unsubscribe(SMFICTX *ctx, const struct pb_milter_conf *mc,
                               const struct pb_headers *h, const struct pb_link_ctx *link,
                               int leadspc, const char *qid)
{
    GString *value;
    int rc;

    if (pb_headers_count(h, PB_LIST_UNSUBSCRIBE) > 0)
        return 0;
    value = g_string_new(NULL);
    rc = pb_header_list_unsubscribe(link, mc->unsubscribe_mailto, leadspc, value);
    if (rc == 0)
        rc = smfi_addheader(ctx, PB_LIST_UNSUBSCRIBE, value->str) == MI_SUCCESS ? 0 : -1;
    g_string_free(value, TRUE);
    if (rc == 0 && pb_headers_count(h, PB_LIST_UNSUBSCRIBE_POST) == 0)
        rc = smfi_addheader(ctx, PB_LIST_UNSUBSCRIBE_POST,
                            leadspc ? " " PB_ONE_CLICK : PB_ONE_CLICK) == MI_SUCCESS ? 0 : -1;
    if (rc != 0)
        pb_log(LOG_ERR, "%s: cannot add the List-Unsubscribe headers", qid);
    return rc;
}

int pb_change_remove_header(SMFICTX *ctx, const struct pb_headers *h, const char *name)
{
    for (unsigned n = pb_headers_count(h, name); n > 0; n--)     /* earlier indexes stay valid */
        if (smfi_chgheader(ctx, (char *)name, (int)n, NULL) != MI_SUCCESS)
            return -1;
    return 0;
}

/* Bytes of the next smfi_replacebody() call: whole lines where possible. */
static size_t chunk_len(const char *p, size_t left)
{
    const char *nl;
    size_t n = PB_BODY_CHUNK;

    if (left <= PB_BODY_CHUNK)
        return left;
    nl = memrchr(p, '\n', PB_BODY_CHUNK);
    if (nl != NULL)
        return (size_t)(nl - p) + 1;
    if (p[n - 1] == '\r')
        n--;                    /* never split a CRLF pair */
    return n;
}

int pb_change_body(SMFICTX *ctx, const GString *body, const char *qid)
{
    size_t off = 0;

    while (off < body->len) {
        size_t n = chunk_len(body->str + off, body->len - off);
        if (smfi_replacebody(ctx, (unsigned char *)body->str + off, (int)n) != MI_SUCCESS) {
            pb_log(LOG_ERR, "%s: smfi_replacebody failed after %zu of %zu bytes; the MTA "
                   "keeps or fails the message as its milter settings say", qid, off,
                   body->len);
            return -1;
        }
        off += n;
    }
    return 0;
}
