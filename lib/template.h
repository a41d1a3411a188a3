/*
 * template.h - mail templates: load an RFC 5322 file with a text and/or
 * an HTML part and {{placeholders}} once, render it for many contacts
 * into a complete, encoded message (GMime 3) ready for submission
 * (submit.h). The scorer's send and notify steps and the CLI's `send`
 * and `template render` use this; the format is in postbeacon.conf(5)
 * ("TEMPLATES") and docs/templates.md.
 *
 * Placeholders: {{name}} or {{name|default}}; the default is used when the
 * value is missing or blank. Names: the contact fields email, first_name,
 * last_name, city, country, language, birthday, timezone, attr:<name>;
 * the caller's values campaign, unsubscribe_url, score, grade, segment,
 * history, event:<name>. Without the caller's unsubscribe_url the body's
 * {{unsubscribe_url}} is "<tracking.base_url>/u/-" (pb_tpl_opts.tracking_url,
 * unsub_link.h), which the milter replaces by each message's own
 * unsubscribe URL. A value is HTML-escaped in the HTML part, as it
 * is in the text part, and in a header made one line (every control
 * character, CR and LF included, becomes a space) and RFC 2047-encoded
 * when it is not ASCII, so no value can start a header of its own.
 * Anything wrong in a template is found at load time, with file:line.
 */
#ifndef PB_TEMPLATE_H
#define PB_TEMPLATE_H

#include <stddef.h>
#include <time.h>
#include <glib.h>

struct pb_template;
struct pb_tpl_subject;

/* What a template may take from the configuration. */
struct pb_tpl_opts {
    const char *from;           /* From when the template has none (submit.from), or NULL */
    const char *reply_to;       /* Reply-To when the template has none, or NULL */
    const char *campaign_header; /* the milter's campaign header, NULL = "X-Campaign" */
    const char *id_domain;      /* Message-ID domain, NULL = the From address's domain */
    const char *tracking_url;   /* tracking.base_url: {{unsubscribe_url}} in the body is
                                 * its placeholder (unsub_link.h) when the caller gives
                                 * none; NULL = the placeholder's default */
};

/* One named value: a contact hash field as Redis holds it ("first_name",
 * "attr:plan") or one of the caller's ("unsubscribe_url", "event:cart_url"). */
struct pb_tpl_value {
    const char *name;
    const char *value;
};

/* What one message is rendered from. */
struct pb_tpl_input {
    const char *to;             /* the contact's address: the To header (required) */
    const struct pb_tpl_value *contact;     /* its fields (HGETALL of <p>contact:<id>) */
    size_t ncontact;
    const struct pb_tpl_value *extra;       /* the caller's values */
    size_t nextra;
    const char *campaign;       /* the campaign header's value (required; pb_tpl_campaign) */
    time_t date;                /* the Date header, 0 = now */
    const struct pb_tpl_subject *subject;   /* a Subject in place of the template's, or NULL */
};

/* What a render did besides the message. */
struct pb_tpl_info {
    char message_id[160];       /* without <> */
    unsigned header_controls;   /* control characters (CR, LF, ...) of values made spaces in headers */
    int unsub_placeholder;      /* the body's {{unsubscribe_url}} is the placeholder URL
                                 * (unsub_link.h): the milter makes it the real one */
};

/* Load and check one template. NULL with "file:line: what (fix)" in err. */
struct pb_template *pb_tpl_load(const char *path, const struct pb_tpl_opts *opts,
                                char *err, size_t errlen);
void pb_tpl_free(struct pb_template *t);

/* Render t for one contact: the whole message (LF line breaks) into out,
 * replacing its contents. 0, or -1 with the reason in err (a bad
 * address or campaign: the input is wrong, a retry cannot help). Thread
 * safe: a loaded template is only read. */
int pb_tpl_render(const struct pb_template *t, const struct pb_tpl_input *in, GString *out,
                  struct pb_tpl_info *info, char *err, size_t errlen);

/* A Subject of its own for pb_tpl_input.subject (an A/B variant's, from
 * postbeacon.conf): the same placeholders as a template's and the same
 * header safety when rendered. NULL with the reason in err, without a
 * place (the caller names the file and line): not one line of UTF-8, empty,
 * an unknown or malformed placeholder. template_subject.c */
struct pb_tpl_subject *pb_tpl_subject_new(const char *text, char *err, size_t errlen);
void pb_tpl_subject_free(struct pb_tpl_subject *s);

/* The template's From address (addr-spec): the default envelope sender. */
const char *pb_tpl_from_address(const struct pb_template *t);
const char *pb_tpl_path(const struct pb_template *t);

/* The campaign name of a workflow's step: "<workflow>:<step>" or, with a
 * variant, "<workflow>:<step>:<variant>" (each [a-z0-9_-]+); what the
 * milter records and the reports group by. 0, or -1 (err) when a part is
 * not such a name or the whole is over 64 characters. */
int pb_tpl_campaign(const char *workflow, const char *step, const char *variant,
                    char out[65], char *err, size_t errlen);

/* The file of a template named name: name itself when it has a '/', else
 * dir/name with ".eml" added when missing. g_free it. template_names.c */
char *pb_tpl_resolve(const char *dir, const char *name);

/* Load every "*.eml" file of dir (`config check`, the scorer's -n); 0 if
 * all load, else the number that failed (1 if dir cannot be read), every
 * message in err, one a line. */
int pb_tpl_check_dir(const char *dir, const struct pb_tpl_opts *opts, char *err, size_t errlen);

#endif
