/*
 * conf_schema.c - every postbeacon.conf section and setting, in one table.
 *
 * Each row says what the setting is, where conf.c stores it in struct
 * pb_conf, what values are allowed and the help text errors quote. The
 * value checkers for strings that have a shape (URLs, addresses, header
 * names, ...) live here too, beside the rows that use them. Defaults are
 * in conf.c (pb_conf_defaults) and documented in conf.h, the sample
 * config/postbeacon.conf and postbeacon.conf(5).
 */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <uriparser/Uri.h>
#include "conf.h"
#include "conf_schema.h"
#include "log.h"
#include "token.h"

/* ---- value checkers ---------------------------------------------------- */

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
static int check_base_url(char *value, char *why, size_t whylen)
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

static int check_facility(char *value, char *why, size_t whylen)
{
    if (pb_log_facility(value) >= 0)
        return 0;
    snprintf(why, whylen, "\"%s\" is not a syslog facility (use mail, daemon, user "
             "or local0..local7)", value);
    return -1;
}

static int check_nonempty(char *value, char *why, size_t whylen)
{
    if (*value != '\0')
        return 0;
    snprintf(why, whylen, "must not be empty");
    return -1;
}

static int check_word(char *value, char *why, size_t whylen)
{
    if (*value != '\0' && !has_space_or_control(value))
        return 0;
    snprintf(why, whylen, "\"%s\" must be non-empty, without spaces or control characters",
             value);
    return -1;
}

static int check_abs_path(char *value, char *why, size_t whylen)
{
    if (value[0] == '/')
        return 0;
    snprintf(why, whylen, "\"%s\" is not an absolute path (start it with /)", value);
    return -1;
}

/* libmilter connection spec. */
static int check_milter_socket(char *value, char *why, size_t whylen)
{
    static const char *prefixes[] = { "unix:/", "local:/", "inet:", "inet6:", "/" };

    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
        if (strncmp(value, prefixes[i], strlen(prefixes[i])) == 0
            && value[strlen(prefixes[i])] != '\0' && !has_space_or_control(value))
            return 0;
    snprintf(why, whylen, "\"%s\" is not a milter socket (use \"unix:/run/postbeacon/"
             "milter.sock\" or \"inet:8891@127.0.0.1\")", value);
    return -1;
}

/* RFC 5322 field name: printable ASCII except ':' and space. */
static int check_header_name(char *value, char *why, size_t whylen)
{
    const char *s = value;

    for (; *s; s++)
        if (*s <= 0x20 || *s >= 0x7f || *s == ':')
            break;
    if (*value != '\0' && *s == '\0')
        return 0;
    snprintf(why, whylen, "\"%s\" is not a header name (no spaces or ':', e.g. \"X-Campaign\")",
             value);
    return -1;
}

static int check_attribute_name(char *value, char *why, size_t whylen)
{
    size_t n = strspn(value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                             "0123456789-_:.");

    if (n > 0 && value[n] == '\0') {
        lowercase_ascii(value);     /* HTML attribute names are case-insensitive */
        return 0;
    }
    snprintf(why, whylen, "\"%s\" is not an HTML attribute name (e.g. \"data-pb-notrack\")",
             value);
    return -1;
}

static int check_campaign(char *value, char *why, size_t whylen)
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

static int check_domain(char *value, char *why, size_t whylen)
{
    if (*value != '\0' && value[0] != '.' && value[0] != '*'
        && strpbrk(value, "@/:") == NULL && !has_space_or_control(value)) {
        lowercase_ascii(value);
        return 0;
    }
    snprintf(why, whylen, "\"%s\" is not a domain (write e.g. \"example.com\"; its "
             "subdomains are included)", value);
    return -1;
}

/* "user@example.com" or "@example.com" (a whole domain). */
static int check_sender(char *value, char *why, size_t whylen)
{
    const char *at = strrchr(value, '@');

    if (at != NULL && at[1] != '\0' && strchr(at + 1, '.') != NULL
        && strpbrk(value, "<>") == NULL && !has_space_or_control(value)) {
        lowercase_ascii(value);
        return 0;
    }
    snprintf(why, whylen, "\"%s\" is not \"user@example.com\" or \"@example.com\"", value);
    return -1;
}

static int check_mailto(char *value, char *why, size_t whylen)
{
    const char *at = strchr(value, '@');

    if (at != NULL && at != value && at[1] != '\0' && strpbrk(value, "<>:?") == NULL
        && !has_space_or_control(value))
        return 0;
    snprintf(why, whylen, "\"%s\" is not a plain address (e.g. \"unsubscribe@example.com\", "
             "without mailto:)", value);
    return -1;
}

/* tracker.listen: "IPv4:port" or "[IPv6]:port", numeric addresses only. */
static int check_listen(char *value, char *why, size_t whylen)
{
    char host[INET6_ADDRSTRLEN + 2];
    unsigned char addr[16];
    const char *colon = strrchr(value, ':');
    char *end;
    long port = colon ? strtol(colon + 1, &end, 10) : 0;
    size_t hlen = colon ? (size_t)(colon - value) : 0;
    int ok = 0;

    if (colon != NULL && colon[1] >= '0' && colon[1] <= '9' && *end == '\0' && port >= 1
        && port <= 65535 && hlen > 0 && hlen < sizeof(host)) {
        memcpy(host, value, hlen);
        host[hlen] = '\0';
        if (host[0] == '[' && host[hlen - 1] == ']') {
            host[hlen - 1] = '\0';
            ok = inet_pton(AF_INET6, host + 1, addr) == 1;
        } else {
            ok = inet_pton(AF_INET, host, addr) == 1;
        }
    }
    if (ok)
        return 0;
    snprintf(why, whylen, "\"%s\" is not an address and port (write \"127.0.0.1:8080\", "
             "\"0.0.0.0:80\" or \"[::1]:8080\")", value);
    return -1;
}

/* tracker.trusted_proxies: "192.0.2.0/24", "2001:db8::/32" or one address. */
static int check_cidr(char *value, char *why, size_t whylen)
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
    snprintf(why, whylen, "\"%s\" is not an address or network (write e.g. \"127.0.0.1\", "
             "\"10.0.0.0/8\" or \"2001:db8::/32\")", value);
    return -1;
}

/* tracker.language: a language the unsubscribe page is written in. */
static int check_language(char *value, char *why, size_t whylen)
{
    static const char *const languages[] = { "en", "de", "fr" };

    lowercase_ascii(value);
    for (size_t i = 0; i < sizeof(languages) / sizeof(languages[0]); i++)
        if (strcmp(value, languages[i]) == 0)
            return 0;
    snprintf(why, whylen, "\"%s\" is not a page language (use \"en\", \"de\" or \"fr\")",
             value);
    return -1;
}

/* ---- the table --------------------------------------------------------- */

#define AT(field) offsetof(struct pb_conf, field)
#define BOOL_HELP "true or false, without quotes"
#define END { NULL, 0, 0, 0, NULL, 0, 0, NULL, NULL }

static const struct pb_conf_word fsync_words[] = {
    { "always", PB_FSYNC_ALWAYS }, { "second", PB_FSYNC_SECOND },
    { "never", PB_FSYNC_NEVER }, { NULL, 0 }
};
static const struct pb_conf_word utm_content_words[] = {
    { "position", PB_UTM_CONTENT_POSITION }, { "anchor", PB_UTM_CONTENT_ANCHOR },
    { "none", PB_UTM_CONTENT_NONE }, { NULL, 0 }
};
static const struct pb_conf_word multi_rcpt_words[] = {
    { "campaign", PB_MULTI_CAMPAIGN }, { "skip", PB_MULTI_SKIP }, { NULL, 0 }
};
static const struct pb_conf_word pixel_words[] = {
    { "after-body", PB_PIXEL_AFTER_BODY }, { "before-body-end", PB_PIXEL_BEFORE_BODY_END },
    { "none", PB_PIXEL_NONE }, { NULL, 0 }
};

static const struct pb_conf_setting tracking_settings[] = {
    { "base_url", PB_CT_STRING, AT(tracking_url), PB_CF_REQUIRED, NULL, 0, 0, check_base_url,
      "the tracker's origin, e.g. \"https://t.example.com\"" },
    END
};

static const struct pb_conf_setting keys_settings[] = {
    { "file", PB_CT_STRING, AT(keys_file), 0, NULL, 0, 0, check_nonempty,
      "path of the key file, e.g. \"/etc/postbeacon/keys\"" },
    END
};

static const struct pb_conf_setting log_settings[] = {
    { "facility", PB_CT_STRING, AT(log_facility), 0, NULL, 0, 0, check_facility,
      "a syslog facility such as \"mail\" or \"local0\"" },
    END
};

static const struct pb_conf_setting redis_settings[] = {
    { "host", PB_CT_STRING, AT(redis.host), 0, NULL, 0, 0, check_word,
      "a host name or address, e.g. \"127.0.0.1\"" },
    { "port", PB_CT_INT, AT(redis.port), 0, NULL, 1, 65535, NULL, "a TCP port, e.g. 6379" },
    { "socket", PB_CT_STRING, AT(redis.socket), PB_CF_EMPTY_NULL, NULL, 0, 0, check_abs_path,
      "a unix socket path, e.g. \"/run/redis/redis.sock\"" },
    { "password", PB_CT_STRING, AT(redis.password), PB_CF_EMPTY_NULL, NULL, 0, 0, NULL,
      "the AUTH password as a string" },
    { "db", PB_CT_INT, AT(redis.db), 0, NULL, 0, 65535, NULL, "a database number, e.g. 0" },
    { "timeout_ms", PB_CT_INT, AT(redis.timeout_ms), 0, NULL, 1, 60000, NULL,
      "milliseconds, e.g. 200" },
    { "prefix", PB_CT_STRING, AT(redis.prefix), 0, NULL, 0, 0, check_word,
      "a key prefix, e.g. \"pb:\"" },
    { "journal", PB_CT_STRING, AT(redis.journal), 0, NULL, 0, 0, check_abs_path,
      "a file path, e.g. \"/var/lib/postbeacon/milter.journal\"" },
    { "journal_fsync", PB_CT_ENUM, AT(redis.journal_fsync), 0, fsync_words, 0, 0, NULL,
      "how often the journal is synced to disk" },
    { "queue_max", PB_CT_INT, AT(redis.queue_max), 0, NULL, 0, 10000000, NULL,
      "a number of records, e.g. 10000" },
    { "retention_days", PB_CT_INT, AT(redis.retention_days), 0, NULL, 1, 3650, NULL,
      "days, e.g. 180" },
    END
};

static const struct pb_conf_setting utm_settings[] = {
    { "enabled", PB_CT_BOOL, AT(utm.enabled), 0, NULL, 0, 0, NULL, BOOL_HELP },
    { "source", PB_CT_STRING, AT(utm.source), 0, NULL, 0, 0, check_nonempty,
      "the utm_source value, e.g. \"newsletter\"" },
    { "medium", PB_CT_STRING, AT(utm.medium), 0, NULL, 0, 0, check_nonempty,
      "the utm_medium value, e.g. \"email\"" },
    { "term", PB_CT_STRING, AT(utm.term), PB_CF_EMPTY_NULL, NULL, 0, 0, NULL,
      "the utm_term value, or \"\" for none" },
    { "content", PB_CT_ENUM, AT(utm.content), 0, utm_content_words, 0, 0, NULL,
      "what utm_content holds for each link" },
    { "domains", PB_CT_LIST, AT(utm.domains), 0, NULL, 0, 0, check_domain,
      "a list of destination domains, e.g. [ \"example.com\" ]" },
    END
};

static const struct pb_conf_setting milter_settings[] = {
    { "socket", PB_CT_STRING, AT(milter.socket), 0, NULL, 0, 0, check_milter_socket,
      "e.g. \"unix:/run/postbeacon/milter.sock\"" },
    { "socket_mode", PB_CT_MODE, AT(milter.socket_mode), 0, NULL, 0, 0777, NULL,
      "an octal mode as a string, e.g. \"0660\"" },
    { "user", PB_CT_STRING, AT(milter.user), PB_CF_EMPTY_NULL, NULL, 0, 0, NULL,
      "a user name, e.g. \"postbeacon\", or \"\" to keep the starting user" },
    { "group", PB_CT_STRING, AT(milter.group), PB_CF_EMPTY_NULL, NULL, 0, 0, NULL,
      "a group name, or \"\" for the user's primary group" },
    { "pidfile", PB_CT_STRING, AT(milter.pidfile), PB_CF_EMPTY_NULL, NULL, 0, 0,
      check_abs_path, "a file path, e.g. \"/run/postbeacon/milter.pid\", or \"\" for none" },
    { "timeout", PB_CT_INT, AT(milter.workers_timeout), 0, NULL, 1, 86400, NULL,
      "seconds, e.g. 30" },
    { "daemon_names", PB_CT_LIST, AT(milter.daemon_names), 0, NULL, 0, 0, check_word,
      "a list of Postfix {daemon_name} values, e.g. [ \"submission\" ]" },
    { "authenticated", PB_CT_BOOL, AT(milter.authenticated), 0, NULL, 0, 0, NULL,
      BOOL_HELP },
    { "senders", PB_CT_LIST, AT(milter.senders), 0, NULL, 0, 0, check_sender,
      "a list like [ \"news@example.com\", \"@mail.example.com\" ]" },
    { "campaign_header", PB_CT_STRING, AT(milter.campaign_header), 0, NULL, 0, 0,
      check_header_name, "a header name, e.g. \"X-Campaign\"" },
    { "strip_campaign_header", PB_CT_BOOL, AT(milter.strip_campaign_header), 0, NULL, 0, 0,
      NULL, BOOL_HELP },
    { "skip_header", PB_CT_STRING, AT(milter.skip_header), 0, NULL, 0, 0, check_header_name,
      "a header name, e.g. \"X-Postbeacon-Skip\"" },
    { "exclude_recipient_domains", PB_CT_LIST, AT(milter.exclude_rcpt_domains), 0, NULL, 0, 0,
      check_domain, "a list of domains, e.g. [ \"example.net\" ]" },
    { "default_campaign", PB_CT_STRING, AT(milter.default_campaign), 0, NULL, 0, 0,
      check_campaign, "a campaign name, e.g. \"newsletter\"" },
    { "multi_recipient", PB_CT_ENUM, AT(milter.multi_recipient), 0, multi_rcpt_words, 0, 0,
      NULL, "what to do with mail to several recipients" },
    { "track_clicks", PB_CT_BOOL, AT(milter.track_clicks), 0, NULL, 0, 0, NULL,
      BOOL_HELP },
    { "track_opens", PB_CT_BOOL, AT(milter.track_opens), 0, NULL, 0, 0, NULL,
      BOOL_HELP },
    { "list_unsubscribe", PB_CT_BOOL, AT(milter.list_unsubscribe), 0, NULL, 0, 0, NULL,
      BOOL_HELP },
    { "unsubscribe_mailto", PB_CT_STRING, AT(milter.unsubscribe_mailto), PB_CF_EMPTY_NULL,
      NULL, 0, 0, check_mailto, "an address, e.g. \"unsubscribe@example.com\", or \"\"" },
    { "pixel_position", PB_CT_ENUM, AT(milter.pixel_position), 0, pixel_words, 0, 0, NULL,
      "where the open pixel goes" },
    { "notrack_attribute", PB_CT_STRING, AT(milter.notrack_attribute), 0, NULL, 0, 0,
      check_attribute_name, "an HTML attribute name, e.g. \"data-pb-notrack\"" },
    { "unsubscribe_patterns", PB_CT_LIST, AT(milter.unsubscribe_patterns), 0, NULL, 0, 0,
      check_nonempty, "a list of URL substrings, e.g. [ \"unsubscribe\", \"optout\" ]" },
    { "max_message_size", PB_CT_SIZE, AT(milter.max_message_size), 0, NULL, 1024,
      1LL << 30, NULL, "bytes, or a string with a K, M or G suffix such as \"10M\"" },
    END
};

static const struct pb_conf_setting tracker_settings[] = {
    { "listen", PB_CT_LIST, AT(tracker.listen), 0, NULL, 0, 0, check_listen,
      "a list of addresses and ports, e.g. [ \"127.0.0.1:8080\", \"[::1]:8080\" ]" },
    { "admin_listen", PB_CT_LIST, AT(tracker.admin_listen), 0, NULL, 0, 0, check_listen,
      "a list of addresses and ports for /healthz and /metrics, e.g. [ \"127.0.0.1:9464\" ]" },
    { "user", PB_CT_STRING, AT(tracker.user), PB_CF_EMPTY_NULL, NULL, 0, 0, NULL,
      "a user name, e.g. \"postbeacon\", or \"\" to keep the starting user" },
    { "group", PB_CT_STRING, AT(tracker.group), PB_CF_EMPTY_NULL, NULL, 0, 0, NULL,
      "a group name, or \"\" for the user's primary group" },
    { "pidfile", PB_CT_STRING, AT(tracker.pidfile), PB_CF_EMPTY_NULL, NULL, 0, 0,
      check_abs_path, "a file path, e.g. \"/run/postbeacon/tracker.pid\", or \"\" for none" },
    { "journal", PB_CT_STRING, AT(tracker.journal), 0, NULL, 0, 0, check_abs_path,
      "a file path, e.g. \"/var/lib/postbeacon/tracker.journal\"" },
    { "queue_max", PB_CT_INT, AT(tracker.queue_max), 0, NULL, 0, 10000000, NULL,
      "a number of events, e.g. 10000" },
    { "max_header_size", PB_CT_INT, AT(tracker.max_header_size), 0, NULL, 1024, 1048576,
      NULL, "bytes, e.g. 8192" },
    { "max_body_size", PB_CT_INT, AT(tracker.max_body_size), 0, NULL, 64, 1048576, NULL,
      "bytes, e.g. 4096" },
    { "timeout", PB_CT_INT, AT(tracker.timeout), 0, NULL, 1, 3600, NULL, "seconds, e.g. 10" },
    { "trusted_proxies", PB_CT_LIST, AT(tracker.trusted_proxies), 0, NULL, 0, 0, check_cidr,
      "a list of proxy addresses or networks, e.g. [ \"127.0.0.1\", \"10.0.0.0/8\" ]" },
    { "full_ip", PB_CT_BOOL, AT(tracker.full_ip), 0, NULL, 0, 0, NULL, BOOL_HELP },
    { "language", PB_CT_STRING, AT(tracker.language), 0, NULL, 0, 0, check_language,
      "\"en\", \"de\" or \"fr\"" },
    { "bots_file", PB_CT_STRING, AT(tracker.bots_file), PB_CF_EMPTY_NULL, NULL, 0, 0,
      check_abs_path, "a file path, e.g. \"/etc/postbeacon/bots.conf\", or \"\" for none" },
    { "machine_click_seconds", PB_CT_INT, AT(tracker.machine_click_seconds), 0, NULL, 0,
      86400, NULL, "seconds after the send, e.g. 5 (0 = off)" },
    { "stream_max_age_days", PB_CT_INT, AT(tracker.stream_max_age_days), 0, NULL, 0, 3650,
      NULL, "days, e.g. 90 (0 = no age limit)" },
    { "stream_maxlen", PB_CT_LONG, AT(tracker.stream_maxlen), 0, NULL, 0, 2000000000,
      NULL, "a number of stream entries, e.g. 1000000 (0 = no length limit)" },
    END
};

static const struct pb_conf_setting no_settings[] = { END };

const struct pb_conf_section pb_conf_sections[] = {
    { "tracking", tracking_settings, 0, "tracking = { base_url = \"https://t.example.com\"; };" },
    { "keys", keys_settings, 0, "keys = { file = \"/etc/postbeacon/keys\"; };" },
    { "log", log_settings, 0, "log = { facility = \"mail\"; };" },
    { "redis", redis_settings, 0, "redis = { host = \"127.0.0.1\"; port = 6379; };" },
    { "utm", utm_settings, 0, "utm = { enabled = true; domains = [ \"example.com\" ]; };" },
    { "milter", milter_settings, 0,
      "milter = { socket = \"unix:/run/postbeacon/milter.sock\"; };" },
    { "tracker", tracker_settings, 0, "tracker = { listen = [ \"127.0.0.1:8080\" ]; };" },
    { "scorer", no_settings, 1, "scorer = { ... };" },
    { NULL, NULL, 0, NULL }
};

const struct pb_conf_section *pb_conf_schema_section(const char *name)
{
    for (const struct pb_conf_section *sec = pb_conf_sections; sec->name; sec++)
        if (strcmp(sec->name, name) == 0)
            return sec;
    return NULL;
}

const struct pb_conf_setting *pb_conf_schema_setting(const struct pb_conf_section *sec,
                                                     const char *name)
{
    for (const struct pb_conf_setting *set = sec->settings; set->name; set++)
        if (strcmp(set->name, name) == 0)
            return set;
    return NULL;
}
