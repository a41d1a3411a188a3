/*
 * conf_check.c - the value checkers of postbeacon.conf settings whose
 * strings have a shape (URLs, listen addresses, networks, mail addresses,
 * header names, time zones, commands, ...): each one refuses a value with
 * what is wrong and how to write it, and may normalise it in place. The
 * table that says which setting uses which checker is conf_schema.c.
 */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <glib.h>
#include <uriparser/Uri.h>
#include "conf.h"
#include "conf_check.h"
#include "conf_schema.h"
#include "listen.h"
#include "log.h"
#include "token.h"

static void lowercase_ascii(char *s)
{
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
}

static int has_space_or_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

/* Every checker's refusal: '"value" problem (fix)' in why; returns -1. */
static int reject(char *why, size_t whylen, const char *value, const char *problem)
{
    snprintf(why, whylen, "\"%s\" %s", value, problem);
    return -1;
}

static int range_len(const UriTextRangeA *r)
{
    return r->first ? (int)(r->afterLast - r->first) : 0;
}

/* Why a parsed http(s) URL is not a bare origin, or NULL if it is one. */
static const char *origin_problem(const UriUriA *uri, const char *value)
{
    int scheme_len = range_len(&uri->scheme);

    if (!((scheme_len == 4 && strncasecmp(uri->scheme.first, "http", 4) == 0)
          || (scheme_len == 5 && strncasecmp(uri->scheme.first, "https", 5) == 0)))
        return "is not an http or https URL";
    if (range_len(&uri->hostText) == 0)
        return "has no host name";
    if (uri->userInfo.first != NULL || uri->query.first != NULL
        || uri->fragment.first != NULL || strpbrk(value, "?#") != NULL)
        return "has a user name, query or fragment; give only scheme, host and port";
    if (uri->pathHead != NULL
        && (uri->pathHead->next != NULL || range_len(&uri->pathHead->text) != 0))
        return "has a path; the tracker serves /c/, /o/ and /u/ at the root of its "
               "own host name";
    return NULL;
}

/* tracking.base_url: http(s)://host[:port], normalised to lowercase and
 * no trailing '/'. */
int pb_cc_base_url(char *value, char *why, size_t whylen)
{
    UriUriA uri;
    const char *errpos, *problem = "is not a URL";
    size_t n;

    if (uriParseSingleUriA(&uri, value, &errpos) == URI_SUCCESS) {
        problem = origin_problem(&uri, value);
        uriFreeUriMembersA(&uri);
    }
    if (problem != NULL) {
        snprintf(why, whylen, "\"%s\" %s (use e.g. \"https://t.example.com\")", value,
                 problem);
        return -1;
    }
    n = strlen(value);
    if (n > 0 && value[n - 1] == '/')
        value[n - 1] = '\0';     /* the path is at most one "/" (checked above) */
    lowercase_ascii(value);
    return 0;
}

int pb_cc_facility(char *value, char *why, size_t whylen)
{
    if (pb_log_facility(value) >= 0)
        return 0;
    return reject(why, whylen, value, "is not a syslog facility (use mail, daemon, user "
                  "or local0..local7)");
}

int pb_cc_nonempty(char *value, char *why, size_t whylen)
{
    if (*value != '\0')
        return 0;
    snprintf(why, whylen, "must not be empty");
    return -1;
}

int pb_cc_word(char *value, char *why, size_t whylen)
{
    if (*value != '\0' && !has_space_or_control(value))
        return 0;
    return reject(why, whylen, value, "must be non-empty, without spaces or control characters");
}

int pb_cc_timezone(char *value, char *why, size_t whylen)
{
    GTimeZone *tz = g_time_zone_new_identifier(value);

    if (tz == NULL)
        return reject(why, whylen, value, "is not a time zone (an IANA name such as "
                      "\"Europe/Berlin\", or \"UTC\")");
    g_time_zone_unref(tz);
    return 0;
}

int pb_cc_abs_path(char *value, char *why, size_t whylen)
{
    if (value[0] == '/')
        return 0;
    return reject(why, whylen, value, "is not an absolute path (start it with /)");
}

/* libmilter connection spec. */
int pb_cc_milter_socket(char *value, char *why, size_t whylen)
{
    static const char *prefixes[] = { "unix:/", "local:/", "inet:", "inet6:", "/" };

    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
        if (strncmp(value, prefixes[i], strlen(prefixes[i])) == 0
            && value[strlen(prefixes[i])] != '\0' && !has_space_or_control(value))
            return 0;
    return reject(why, whylen, value, "is not a milter socket (use \"unix:/run/postbeacon/"
                  "milter.sock\" or \"inet:8891@127.0.0.1\")");
}

/* RFC 5322 field name: printable ASCII except ':' and space. */
int pb_cc_header_name(char *value, char *why, size_t whylen)
{
    const char *s = value;

    for (; *s; s++)
        if (*s <= 0x20 || *s >= 0x7f || *s == ':')
            break;
    if (*value != '\0' && *s == '\0')
        return 0;
    return reject(why, whylen, value, "is not a header name (no spaces or ':', e.g. "
                  "\"X-Campaign\")");
}

int pb_cc_attribute_name(char *value, char *why, size_t whylen)
{
    size_t n = strspn(value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                             "0123456789-_:.");

    if (n > 0 && value[n] == '\0') {
        lowercase_ascii(value);     /* HTML attribute names are case-insensitive */
        return 0;
    }
    return reject(why, whylen, value, "is not an HTML attribute name (e.g. \"data-pb-notrack\")");
}

int pb_cc_campaign(char *value, char *why, size_t whylen)
{
    size_t n = strlen(value);

    for (size_t i = 0; i < n; i++)
        if (value[i] < 0x20 || value[i] > 0x7e)
            n = PB_CAMPAIGN_MAX + 1;
    if (n > 0 && n <= PB_CAMPAIGN_MAX)
        return 0;
    snprintf(why, whylen, "\"%s\" must be 1..%d printable ASCII characters", value,
             PB_CAMPAIGN_MAX);
    return -1;
}

int pb_cc_domain(char *value, char *why, size_t whylen)
{
    if (*value != '\0' && value[0] != '.' && value[0] != '*'
        && strpbrk(value, "@/:") == NULL && !has_space_or_control(value)) {
        lowercase_ascii(value);
        return 0;
    }
    return reject(why, whylen, value, "is not a domain (write e.g. \"example.com\"; its "
                  "subdomains are included)");
}

/* "user@example.com" or "@example.com" (a whole domain). */
int pb_cc_sender(char *value, char *why, size_t whylen)
{
    const char *at = strrchr(value, '@');

    if (at != NULL && at[1] != '\0' && strchr(at + 1, '.') != NULL
        && strpbrk(value, "<>") == NULL && !has_space_or_control(value)) {
        lowercase_ascii(value);
        return 0;
    }
    return reject(why, whylen, value, "is not \"user@example.com\" or \"@example.com\"");
}

int pb_cc_mailto(char *value, char *why, size_t whylen)
{
    const char *at = strchr(value, '@');

    if (at != NULL && at != value && at[1] != '\0' && strpbrk(value, "<>:?") == NULL
        && !has_space_or_control(value))
        return 0;
    return reject(why, whylen, value, "is not a plain address (e.g. "
                  "\"unsubscribe@example.com\", without mailto:)");
}

/* tracker.listen, the admin listeners: "IPv4:port" or "[IPv6]:port",
 * numeric addresses only (lib/listen.c). */
int pb_cc_listen(char *value, char *why, size_t whylen)
{
    struct sockaddr_storage ss;
    socklen_t len;

    if (pb_listen_addr(value, &ss, &len) == 0)
        return 0;
    return reject(why, whylen, value, "is not an address and port (write \"127.0.0.1:8080\", "
                  "\"0.0.0.0:80\" or \"[::1]:8080\")");
}

/* tracker.trusted_proxies: "192.0.2.0/24", "2001:db8::/32" or one address. */
int pb_cc_cidr(char *value, char *why, size_t whylen)
{
    char host[INET6_ADDRSTRLEN];
    unsigned char addr[16];
    const char *slash = strchr(value, '/');
    size_t hlen = slash ? (size_t)(slash - value) : strlen(value);
    int family = strchr(value, ':') ? AF_INET6 : AF_INET;
    long bits = family == AF_INET6 ? 128 : 32, max = bits;
    char *end = NULL;

    if (hlen > 0 && hlen < sizeof(host)) {
        memcpy(host, value, hlen);
        host[hlen] = '\0';
        if (slash != NULL && slash[1] >= '0' && slash[1] <= '9')
            bits = strtol(slash + 1, &end, 10);
        else if (slash != NULL)
            bits = -1;
        if (inet_pton(family, host, addr) == 1 && bits >= 0 && bits <= max
            && (end == NULL || *end == '\0'))
            return 0;
    }
    return reject(why, whylen, value, "is not an address or network (write e.g. "
                  "\"127.0.0.1\", \"10.0.0.0/8\" or \"2001:db8::/32\")");
}

/* tracker.language: a language the unsubscribe page is written in. */
int pb_cc_language(char *value, char *why, size_t whylen)
{
    static const char *const languages[] = { "en", "de", "fr" };

    lowercase_ascii(value);
    for (size_t i = 0; i < sizeof(languages) / sizeof(languages[0]); i++)
        if (strcmp(value, languages[i]) == 0)
            return 0;
    return reject(why, whylen, value, "is not a page language (use \"en\", \"de\" or \"fr\")");
}

/* submit.command: an absolute program path, then its words (no shell). */
int pb_cc_command(char *value, char *why, size_t whylen)
{
    for (const char *p = value; *p; p++)
        if ((unsigned char)*p < 0x20 && *p != '\t')
            return reject(why, whylen, value, "has a control character");
    if (value[0] == '/')
        return 0;
    return reject(why, whylen, value, "does not start with an absolute program path (e.g. "
                  "\"/usr/sbin/sendmail -t -i -f ${sender}\"; no shell is used)");
}

/* submit.smtp: "host:port", or an smtp:// or smtps:// URL. */
int pb_cc_smtp_server(char *value, char *why, size_t whylen)
{
    const char *colon = strrchr(value, ':');
    int url = strncmp(value, "smtp://", 7) == 0 || strncmp(value, "smtps://", 8) == 0;

    if (!has_space_or_control(value) && (url || (colon != NULL && colon != value
                                                 && strspn(colon + 1, "0123456789") > 0
                                                 && colon[1 + strspn(colon + 1, "0123456789")]
                                                    == '\0')))
        return 0;
    return reject(why, whylen, value, "is not \"host:port\" or an smtp:// URL (e.g. "
                  "\"127.0.0.1:25\" or \"smtps://mail.example.com:465\")");
}

/* submit.from, submit.reply_to: one mailbox, e.g. "Shop <news@example.com>". */
int pb_cc_mailbox(char *value, char *why, size_t whylen)
{
    for (const char *p = value; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return reject(why, whylen, value, "has a control character");
    if (strchr(value, '@') != NULL && strchr(value, ',') == NULL)
        return 0;
    return reject(why, whylen, value, "is not one address (e.g. \"Shop <news@example.com>\")");
}

/* report.language: the languages postbeacon report writes. */
int pb_cc_report_language(char *value, char *why, size_t whylen)
{
    lowercase_ascii(value);
    if (strcmp(value, "en") == 0 || strcmp(value, "de") == 0)
        return 0;
    return reject(why, whylen, value, "is not a report language (use \"en\" or \"de\")");
}

/* report.funnel, report.dormant: a segment's name as scorer.segments
 * spells them (whether it is one is checked against them: cli/report_conf.c). */
int pb_cc_segment_name(char *value, char *why, size_t whylen)
{
    size_t n = strspn(value, "abcdefghijklmnopqrstuvwxyz0123456789_-");

    if (n > 0 && n <= 64 && value[n] == '\0')
        return 0;
    return reject(why, whylen, value, "is not a segment name (1-64 of a-z, 0-9, _ and -, "
                  "as in scorer.segments)");
}
