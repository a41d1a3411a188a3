/*
 * select.h - which mail is marketing mail, and how it is tracked.
 *
 * Outgoing mail is mail from a SASL-authenticated submitter (when
 * milter.authenticated is on) or from a Postfix service named in
 * milter.daemon_names; anything else (incoming mail) is never touched.
 * Outgoing mail is marketing mail when its envelope sender is listed in
 * milter.senders ("user@dom" exactly, or "@dom" for the whole domain) or
 * it carries the campaign header. With an empty senders list only the
 * campaign header marks marketing mail. Marketing mail that is signed or
 * encrypted, or a report (multipart/report: bounce, DSN, feedback
 * report), is not rewritten.
 */
#ifndef PB_SELECT_H
#define PB_SELECT_H

#include <stddef.h>
#include "conf.h"

/* What the milter knows about a message at the end of its headers. */
struct pb_msg_facts {
    const char *daemon_name;    /* {daemon_name}, or NULL */
    const char *auth_authen;    /* {auth_authen}, or NULL */
    const char *sender;         /* normalised envelope sender, "" for <> */
    const char *const *rcpts;   /* normalised recipients */
    size_t nrcpts;
    int has_campaign_header;
    int has_skip_header;
    int has_dkim_signature;
    const char *content_type;   /* top-level Content-Type value, or NULL */
};

struct pb_selection {
    int outgoing;               /* 1: outgoing mail (pb_select_outgoing) */
    int track;                  /* 1: rewrite; 0: pass untouched */
    int per_contact;            /* 1: one recipient, links carry its contact id */
    char why[160];              /* why it passes (track == 0) */
};

void pb_select(const struct pb_milter_conf *mc, const struct pb_msg_facts *facts,
               struct pb_selection *sel);

/* Pieces of the rule, for tests and the log. */
int pb_select_outgoing(const struct pb_milter_conf *mc, const struct pb_msg_facts *facts);
/* sender matches "user@dom" or "@dom" in list. */
int pb_select_sender_listed(const struct pb_strlist *list, const char *sender);
/* the address's domain is a listed domain or one of its subdomains. */
int pb_select_domain_listed(const struct pb_strlist *list, const char *address);
/* Content-Type names a signed or encrypted message. */
int pb_select_is_sealed(const char *content_type);
/* Content-Type is multipart/report: a bounce, DSN or feedback report. */
int pb_select_is_report(const char *content_type);

#endif
