/*
 * select.c - the rule that says which mail the milter rewrites (see
 * select.h). Every "no" comes with a short reason for the log line.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "select.h"

int pb_select_outgoing(const struct pb_milter_conf *mc, const struct pb_msg_facts *facts)
{
    if (mc->authenticated && facts->auth_authen != NULL && facts->auth_authen[0] != '\0')
        return 1;
    return facts->daemon_name != NULL && pb_strlist_has(&mc->daemon_names, facts->daemon_name);
}

static const char *domain_of(const char *address)
{
    const char *at = address ? strrchr(address, '@') : NULL;

    return at != NULL && at[1] != '\0' ? at + 1 : NULL;
}

int pb_select_sender_listed(const struct pb_strlist *list, const char *sender)
{
    const char *domain = domain_of(sender);

    if (sender == NULL || sender[0] == '\0')
        return 0;
    for (size_t i = 0; i < list->count; i++) {
        const char *item = list->items[i];
        if (item[0] == '@') {
            if (domain != NULL && strcasecmp(item + 1, domain) == 0)
                return 1;
        } else if (strcasecmp(item, sender) == 0) {
            return 1;
        }
    }
    return 0;
}

int pb_select_domain_listed(const struct pb_strlist *list, const char *address)
{
    const char *domain = domain_of(address);
    size_t dlen = domain ? strlen(domain) : 0;

    if (domain == NULL)
        return 0;
    for (size_t i = 0; i < list->count; i++) {
        const char *item = list->items[i];
        size_t ilen = strlen(item);
        if (dlen == ilen && strcasecmp(domain, item) == 0)
            return 1;
        if (dlen > ilen && domain[dlen - ilen - 1] == '.'
            && strcasecmp(domain + dlen - ilen, item) == 0)
            return 1;
    }
    return 0;
}

/* 1 if the Content-Type value's type/subtype is one of names. */
static int type_is_one_of(const char *content_type, const char *const *names, size_t count)
{
    const char *p = content_type;
    size_t n;

    if (p == NULL)
        return 0;
    p += strspn(p, " \t\r\n");
    n = strcspn(p, "; \t\r\n(");
    for (size_t i = 0; i < count; i++)
        if (n == strlen(names[i]) && strncasecmp(p, names[i], n) == 0)
            return 1;
    return 0;
}

int pb_select_is_sealed(const char *content_type)
{
    static const char *const sealed[] = {
        "multipart/signed", "multipart/encrypted",
        "application/pkcs7-mime", "application/x-pkcs7-mime",
    };
    return type_is_one_of(content_type, sealed, sizeof(sealed) / sizeof(sealed[0]));
}

int pb_select_is_report(const char *content_type)
{
    static const char *const report[] = { "multipart/report" };
    return type_is_one_of(content_type, report, 1);
}

static void pass(struct pb_selection *sel, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void pass(struct pb_selection *sel, const char *fmt, ...)
{
    va_list ap;

    sel->track = 0;
    va_start(ap, fmt);
    vsnprintf(sel->why, sizeof(sel->why), fmt, ap);
    va_end(ap);
}

/* Recipient rules: exclusions, none at all, several. 1 if tracking may go on. */
static int check_recipients(const struct pb_milter_conf *mc, const struct pb_msg_facts *facts,
                            struct pb_selection *sel)
{
    for (size_t i = 0; i < facts->nrcpts; i++)
        if (pb_select_domain_listed(&mc->exclude_rcpt_domains, facts->rcpts[i])) {
            pass(sel, "recipient %s is in exclude_recipient_domains", facts->rcpts[i]);
            return 0;
        }
    if (facts->nrcpts == 0) {
        pass(sel, "no recipients");
        return 0;
    }
    if (facts->nrcpts > 1 && mc->multi_recipient == PB_MULTI_SKIP) {
        pass(sel, "%zu recipients and multi_recipient = skip", facts->nrcpts);
        return 0;
    }
    sel->per_contact = facts->nrcpts == 1;
    return 1;
}

void pb_select(const struct pb_milter_conf *mc, const struct pb_msg_facts *facts,
               struct pb_selection *sel)
{
    memset(sel, 0, sizeof(*sel));
    sel->outgoing = pb_select_outgoing(mc, facts);
    if (!sel->outgoing) {
        pass(sel, "not outgoing mail (not authenticated, service \"%s\" not in daemon_names)",
             facts->daemon_name ? facts->daemon_name : "unknown");
        return;
    }
    if (!facts->has_campaign_header && !pb_select_sender_listed(&mc->senders, facts->sender)) {
        pass(sel, "not marketing mail (sender not in senders, no %s header)",
             mc->campaign_header);
        return;
    }
    if (facts->has_skip_header) {
        pass(sel, "%s header present", mc->skip_header);
        return;
    }
    if (facts->has_dkim_signature) {
        pass(sel, "already DKIM-signed: rewriting would break the signature");
        return;
    }
    if (pb_select_is_sealed(facts->content_type)) {
        pass(sel, "signed or encrypted message");
        return;
    }
    if (pb_select_is_report(facts->content_type)) {
        pass(sel, "a delivery or feedback report (multipart/report)");
        return;
    }
    if (!check_recipients(mc, facts, sel))
        return;
    sel->track = 1;
}
