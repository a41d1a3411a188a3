/*
 * headers.h - the header block of one message as the MTA sent it, kept
 * in order and byte for byte so the milter can rebuild the exact message
 * for the MIME splicer, plus the header values the milter itself writes
 * (List-Unsubscribe) and reads (campaign, Message-ID, Subject), and
 * whether the campaign header may be removed (not if a DKIM signature
 * covers it).
 */
#ifndef PB_HEADERS_H
#define PB_HEADERS_H

#include <stddef.h>
#include <glib.h>
#include "link.h"

struct pb_header {
    char *name;
    char *value;                /* as received: leading space kept if negotiated */
};

struct pb_headers {
    GArray *list;               /* struct pb_header, in arrival order */
    size_t bytes;               /* size of the rebuilt block, blank line included */
};

void pb_headers_init(struct pb_headers *h);
void pb_headers_clear(struct pb_headers *h);
/* Copy one header (GLib aborts when memory runs out). */
void pb_headers_add(struct pb_headers *h, const char *name, const char *value);
/* Value of the first header called name (case-insensitive), or NULL. */
const char *pb_headers_get(const struct pb_headers *h, const char *name);
/* How many headers are called name. */
unsigned pb_headers_count(const struct pb_headers *h, const char *name);

/* 1 if some value starts with a space or tab (the MTA kept leading space). */
int pb_headers_any_leading_space(const struct pb_headers *h);

/* Append "Name:value\r\n" for every header, then "\r\n". leadspc: the MTA
 * sent values with their leading space (SMFIP_HDR_LEADSPC); if not, the
 * single space it stripped is put back. Folded lines get CRLF endings. */
void pb_headers_render(const struct pb_headers *h, int leadspc, GString *out);

/* A header value as one clean line: unfolded, control characters dropped,
 * surrounding space trimmed, at most max bytes. Appended to out. */
void pb_header_clean(const char *value, size_t max, GString *out);

/* The campaign named by a campaign header value: trimmed, printable
 * ASCII only, at most PB_CAMPAIGN_MAX characters. 0 if the value holds
 * nothing usable (out is then empty). */
int pb_header_campaign(const char *value, char out[PB_CAMPAIGN_MAX + 1]);

/* The List-Unsubscribe value "<https://.../u/TOKEN>" plus
 * ", <mailto:ADDR?subject=unsubscribe>" when mailto is set, with a leading
 * space when leadspc (the MTA then inserts none). 0 on success. */
int pb_header_list_unsubscribe(const struct pb_link_ctx *ctx, const char *mailto,
                               int leadspc, GString *out);

/* 1 if the DKIM-Signature value's h= tag names the header name: the
 * signature covers it, and removing it would break the signature.
 * RFC 6376 3.5: tags separated by ';', FWS (blanks, folds) around tag
 * names, '=' and the ':'-separated header names, which compare
 * case-insensitively; the tag name "h" is case-sensitive. */
int pb_header_dkim_signs(const char *value, const char *name);
/* 1 if some DKIM-Signature header of h covers the header name. */
int pb_headers_dkim_signs(const struct pb_headers *h, const char *name);

/* What becomes of the campaign header of an outgoing message. */
enum pb_campaign_fate {
    PB_CAMPAIGN_NONE,           /* none there, or strip_campaign_header is off */
    PB_CAMPAIGN_REMOVE,         /* removed at the end of the message */
    PB_CAMPAIGN_KEPT_DKIM,      /* kept: a DKIM signature covers it */
    PB_CAMPAIGN_KEPT_MTA,       /* kept: the MTA does not allow header changes */
    PB_CAMPAIGN_KEPT_FAILED     /* kept: the MTA refused its removal */
};
/* The fate of h's campaign header; can_change: the MTA allows header
 * changes (SMFIF_CHGHDRS was negotiated). */
enum pb_campaign_fate pb_headers_campaign_fate(const struct pb_milter_conf *mc,
                                               const struct pb_headers *h, int can_change);

#define PB_LIST_UNSUBSCRIBE "List-Unsubscribe"
#define PB_LIST_UNSUBSCRIBE_POST "List-Unsubscribe-Post"
#define PB_ONE_CLICK "List-Unsubscribe=One-Click"

#endif
