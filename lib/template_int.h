/*
 * template_int.h - inside the templates: what template_load.c (reading a
 * file), template_text.c (placeholders) and template_render.c (building a
 * message) share. Programs use template.h.
 */
#ifndef PB_TEMPLATE_INT_H
#define PB_TEMPLATE_INT_H

#include <stddef.h>
#include <glib.h>
#include "template.h"

/* Where a value of a placeholder comes from. */
enum pb_tpl_source {
    PB_TS_CONTACT,              /* a field of the contact's hash */
    PB_TS_EMAIL,                /* the contact's email field, else the To address */
    PB_TS_EXTRA,                /* one of the caller's values */
    PB_TS_CAMPAIGN              /* pb_tpl_input.campaign */
};

/* How a value is written where it goes. */
enum pb_tpl_context {
    PB_TC_TEXT,                 /* as it is */
    PB_TC_HTML,                 /* & < > " ' as entities */
    PB_TC_HEADER                /* one line: every control character a space */
};

/* One piece of a text: literal bytes, or a placeholder (name set). */
struct pb_tpl_seg {
    char *lit;                  /* literal text (NULL for a placeholder) */
    size_t len;
    char *name;                 /* placeholder name, as looked up */
    char *def;                  /* its default, or NULL */
    enum pb_tpl_source source;
};

/* A text with placeholders, split once at load time. */
struct pb_tpl_text {
    struct pb_tpl_seg *seg;
    size_t n;
};

/* Where a text was read from, for error messages: line numbers of the
 * bytes of the text when it is the file's bytes as they are (mapped),
 * else every error is reported at `line`. */
struct pb_tpl_where {
    const char *path;           /* NULL: errors without a place (the caller adds it) */
    unsigned line;
    int mapped;
    const char *what;           /* "the Subject header", "the text/html part" */
};

struct pb_tpl_header {
    char *name;
    struct pb_tpl_text value;
};

struct pb_template {
    char *path;
    char *from_name, *from_addr;        /* from_name may be NULL */
    char *reply_name, *reply_addr;      /* reply_addr NULL: no Reply-To */
    char *campaign_header;
    char *id_domain;
    char *unsub_placeholder;            /* "<tracking_url>/u/-" when the body has
                                         * {{unsubscribe_url}}, else NULL */
    struct pb_tpl_text subject;
    struct pb_tpl_text to_name;         /* n == 0: the bare address */
    struct pb_tpl_header *headers;      /* other headers, in the file's order */
    size_t nheaders;
    struct pb_tpl_text text, html;
    int has_text, has_html;
};

/* A Subject of its own (an A/B variant's), in place of the template's. */
struct pb_tpl_subject {
    struct pb_tpl_text text;
};

/* Split s[0..len) into literals and placeholders; every placeholder's name
 * must be known. 0, or -1 with "path:line: what (fix)" in err. */
int pb_tpl_compile(const char *s, size_t len, const struct pb_tpl_where *w,
                   struct pb_tpl_text *out, char *err, size_t errlen);
/* Append t rendered for in to out, written for ctx; *controls counts the
 * control characters made spaces (PB_TC_HEADER). */
void pb_tpl_expand(const struct pb_tpl_text *t, enum pb_tpl_context ctx,
                   const struct pb_tpl_input *in, GString *out, unsigned *controls);
/* 1 if v is NULL or only white space: the placeholder's default is used. */
int pb_tpl_blank(const char *v);
/* 1 if t has a placeholder named name. */
int pb_tpl_uses(const struct pb_tpl_text *t, const char *name);
/* 1 if t has a placeholder. */
int pb_tpl_has_placeholders(const struct pb_tpl_text *t);
void pb_tpl_text_free(struct pb_tpl_text *t);

/* GMime is set up once per process. */
void pb_tpl_gmime_init(void);

#endif
