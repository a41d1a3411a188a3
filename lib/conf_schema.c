/*
 * conf_schema.c - every postbeacon.conf section and setting, in one table.
 *
 * Each row says what the setting is, where the loader stores it in struct
 * pb_conf, what values are allowed and the help text errors quote. The
 * value checkers for strings that have a shape (URLs, addresses, header
 * names, ...) are in conf_check.c. Defaults are
 * in conf.c (pb_conf_defaults) and documented in conf.h, the sample
 * config/postbeacon.conf and postbeacon.conf(5).
 */
#include <stddef.h>
#include <glib.h>
#include "conf.h"
#include "conf_check.h"
#include "conf_schema.h"
#include "log.h"
#include "token.h"

/* ---- the table --------------------------------------------------------- */

/* One row of each type; the fields a type does not use stay 0 or NULL. */
#define AT(field) offsetof(struct pb_conf, field)
#define ROW_STR(name, field, flags, check, help) \
    { name, PB_CT_STRING, AT(field), flags, NULL, 0, 0, check, help }
#define ROW_LIST(name, field, check, help) \
    { name, PB_CT_LIST, AT(field), 0, NULL, 0, 0, check, help }
#define ROW_INT(name, field, min, max, help) \
    { name, PB_CT_INT, AT(field), 0, NULL, min, max, NULL, help }
#define ROW_LONG(name, field, min, max, help) \
    { name, PB_CT_LONG, AT(field), 0, NULL, min, max, NULL, help }
#define ROW_BOOL(name, field) \
    { name, PB_CT_BOOL, AT(field), 0, NULL, 0, 0, NULL, "true or false, without quotes" }
#define ROW_ENUM(name, field, words, help) \
    { name, PB_CT_ENUM, AT(field), 0, words, 0, 0, NULL, help }
#define ROW_MODE(name, field, help) \
    { name, PB_CT_MODE, AT(field), 0, NULL, 0, 0777, NULL, help }
#define ROW_SIZE(name, field, min, max, help) \
    { name, PB_CT_SIZE, AT(field), 0, NULL, min, max, NULL, help }
#define END { NULL, 0, 0, 0, NULL, 0, 0, NULL, NULL }

/* The account and pid file rows of each daemon's section. */
#define RUN_AS_ROWS(daemon, pidfile_help) \
    ROW_STR("user", daemon.user, PB_CF_EMPTY_NULL, NULL, \
            "a user name, e.g. \"postbeacon\", or \"\" to keep the starting user"), \
    ROW_STR("group", daemon.group, PB_CF_EMPTY_NULL, NULL, \
            "a group name, or \"\" for the user's primary group"), \
    ROW_STR("pidfile", daemon.pidfile, PB_CF_EMPTY_NULL, pb_cc_abs_path, pidfile_help)

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
    ROW_STR("base_url", tracking_url, PB_CF_REQUIRED, pb_cc_base_url,
            "the tracker's origin, e.g. \"https://t.example.com\""),
    END
};

static const struct pb_conf_setting keys_settings[] = {
    ROW_STR("file", keys_file, 0, pb_cc_nonempty,
            "path of the key file, e.g. \"/etc/postbeacon/keys\""),
    END
};

static const struct pb_conf_setting log_settings[] = {
    ROW_STR("facility", log_facility, 0, pb_cc_facility,
            "a syslog facility such as \"mail\" or \"local0\""),
    END
};

static const struct pb_conf_setting redis_settings[] = {
    ROW_STR("host", redis.host, 0, pb_cc_word, "a host name or address, e.g. \"127.0.0.1\""),
    ROW_INT("port", redis.port, 1, 65535, "a TCP port, e.g. 6379"),
    ROW_STR("socket", redis.socket, PB_CF_EMPTY_NULL, pb_cc_abs_path,
            "a unix socket path, e.g. \"/run/redis/redis.sock\""),
    ROW_STR("password", redis.password, PB_CF_EMPTY_NULL, NULL, "the AUTH password as a string"),
    ROW_INT("db", redis.db, 0, 65535, "a database number, e.g. 0"),
    ROW_INT("timeout_ms", redis.timeout_ms, 1, 60000, "milliseconds, e.g. 200"),
    ROW_STR("prefix", redis.prefix, 0, pb_cc_word, "a key prefix, e.g. \"pb:\""),
    ROW_STR("journal", redis.journal, PB_CF_EMPTY_NULL, pb_cc_abs_path,
            "a file path, e.g. \"/var/lib/postbeacon/milter.journal\", or \"\" for none"),
    ROW_ENUM("journal_fsync", redis.journal_fsync, fsync_words,
             "how often the journal is synced to disk"),
    ROW_INT("queue_max", redis.queue_max, 0, 10000000, "a number of records, e.g. 10000"),
    ROW_INT("retention_days", redis.retention_days, 1, 3650, "days, e.g. 180"),
    END
};

static const struct pb_conf_setting utm_settings[] = {
    ROW_BOOL("enabled", utm.enabled),
    ROW_STR("source", utm.source, 0, pb_cc_nonempty, "the utm_source value, e.g. \"newsletter\""),
    ROW_STR("medium", utm.medium, 0, pb_cc_nonempty, "the utm_medium value, e.g. \"email\""),
    ROW_STR("term", utm.term, PB_CF_EMPTY_NULL, NULL, "the utm_term value, or \"\" for none"),
    ROW_ENUM("content", utm.content, utm_content_words, "what utm_content holds for each link"),
    ROW_LIST("domains", utm.domains, pb_cc_domain,
             "a list of destination domains, e.g. [ \"example.com\" ]"),
    END
};

static const struct pb_conf_setting milter_settings[] = {
    ROW_STR("socket", milter.socket, 0, pb_cc_milter_socket,
            "e.g. \"unix:/run/postbeacon/milter.sock\""),
    ROW_MODE("socket_mode", milter.socket_mode, "an octal mode as a string, e.g. \"0660\""),
    RUN_AS_ROWS(milter, "a file path, e.g. \"/run/postbeacon/milter.pid\", or \"\" for none"),
    ROW_INT("timeout", milter.workers_timeout, 1, 86400, "seconds, e.g. 30"),
    ROW_LIST("daemon_names", milter.daemon_names, pb_cc_word,
             "a list of Postfix {daemon_name} values, e.g. [ \"submission\" ]"),
    ROW_BOOL("authenticated", milter.authenticated),
    ROW_LIST("senders", milter.senders, pb_cc_sender,
             "a list like [ \"news@example.com\", \"@mail.example.com\" ]"),
    ROW_STR("campaign_header", milter.campaign_header, 0, pb_cc_header_name,
            "a header name, e.g. \"X-Campaign\""),
    ROW_BOOL("strip_campaign_header", milter.strip_campaign_header),
    ROW_STR("skip_header", milter.skip_header, 0, pb_cc_header_name,
            "a header name, e.g. \"X-Postbeacon-Skip\""),
    ROW_LIST("exclude_recipient_domains", milter.exclude_rcpt_domains, pb_cc_domain,
             "a list of domains, e.g. [ \"example.net\" ]"),
    ROW_STR("default_campaign", milter.default_campaign, 0, pb_cc_campaign,
            "a campaign name, e.g. \"newsletter\""),
    ROW_ENUM("multi_recipient", milter.multi_recipient, multi_rcpt_words,
             "what to do with mail to several recipients"),
    ROW_BOOL("track_clicks", milter.track_clicks),
    ROW_BOOL("track_opens", milter.track_opens),
    ROW_BOOL("list_unsubscribe", milter.list_unsubscribe),
    ROW_STR("unsubscribe_mailto", milter.unsubscribe_mailto, PB_CF_EMPTY_NULL, pb_cc_mailto,
            "an address, e.g. \"unsubscribe@example.com\", or \"\""),
    ROW_ENUM("pixel_position", milter.pixel_position, pixel_words, "where the open pixel goes"),
    ROW_BOOL("honeypot_link", milter.honeypot_link),
    ROW_STR("notrack_attribute", milter.notrack_attribute, 0, pb_cc_attribute_name,
            "an HTML attribute name, e.g. \"data-pb-notrack\""),
    ROW_LIST("unsubscribe_patterns", milter.unsubscribe_patterns, pb_cc_nonempty,
             "a list of URL substrings, e.g. [ \"unsubscribe\", \"optout\" ]"),
    ROW_SIZE("max_message_size", milter.max_message_size, 1024, 1LL << 30,
             "bytes, or a string with a K, M or G suffix such as \"10M\""),
    END
};

static const struct pb_conf_setting tracker_settings[] = {
    ROW_LIST("listen", tracker.listen, pb_cc_listen,
             "a list of addresses and ports, e.g. [ \"127.0.0.1:8080\", \"[::1]:8080\" ]"),
    ROW_LIST("admin_listen", tracker.admin_listen, pb_cc_listen,
             "a list of addresses and ports for /healthz and /metrics, e.g. "
             "[ \"127.0.0.1:9464\" ]"),
    ROW_LIST("tls_listen", tracker.tls_listen, pb_cc_listen,
             "a list of addresses and ports for HTTPS, e.g. [ \"0.0.0.0:443\" ]"),
    ROW_STR("tls_cert", tracker.tls_cert, PB_CF_EMPTY_NULL, pb_cc_abs_path,
            "a PEM certificate file path, e.g. \"/etc/postbeacon/tls.crt\", or \"\" for none"),
    ROW_STR("tls_key", tracker.tls_key, PB_CF_EMPTY_NULL, pb_cc_abs_path,
            "a PEM private key file path, e.g. \"/etc/postbeacon/tls.key\", or \"\" for none"),
    RUN_AS_ROWS(tracker, "a file path, e.g. \"/run/postbeacon/tracker.pid\", or \"\" for none"),
    ROW_STR("journal", tracker.journal, PB_CF_EMPTY_NULL, pb_cc_abs_path,
            "a file path, e.g. \"/var/lib/postbeacon/tracker.journal\", or \"\" for none"),
    ROW_INT("queue_max", tracker.queue_max, 0, 10000000, "a number of events, e.g. 10000"),
    ROW_INT("max_header_size", tracker.max_header_size, 1024, 1048576, "bytes, e.g. 8192"),
    ROW_INT("max_body_size", tracker.max_body_size, 64, 1048576, "bytes, e.g. 4096"),
    ROW_INT("timeout", tracker.timeout, 1, 3600, "seconds, e.g. 10"),
    ROW_INT("max_connections", tracker.max_connections, 0, 1000000,
            "public connections at once, e.g. 10000 (0 = as many as the open-file limit allows)"),
    ROW_LIST("trusted_proxies", tracker.trusted_proxies, pb_cc_cidr,
             "a list of proxy addresses or networks, e.g. [ \"127.0.0.1\", \"10.0.0.0/8\" ]"),
    ROW_BOOL("full_ip", tracker.full_ip),
    ROW_STR("language", tracker.language, 0, pb_cc_language, "\"en\", \"de\" or \"fr\""),
    ROW_STR("bots_file", tracker.bots_file, PB_CF_EMPTY_NULL, pb_cc_abs_path,
            "a file path, e.g. \"/etc/postbeacon/bots.conf\", or \"\" for none"),
    ROW_INT("machine_click_seconds", tracker.machine_click_seconds, 0, 86400,
            "seconds after the send, e.g. 5 (0 = off)"),
    ROW_INT("stream_max_age_days", tracker.stream_max_age_days, 0, 3650,
            "days, e.g. 90 (0 = no age limit)"),
    ROW_LONG("stream_maxlen", tracker.stream_maxlen, 0, 2000000000,
             "a number of stream entries, e.g. 1000000 (0 = no length limit)"),
    ROW_LIST("events_listen", tracker.events_listen, pb_cc_listen,
             "a list of addresses and ports for custom events (POST /e only), e.g. "
             "[ \"127.0.0.1:8081\" ]"),
    ROW_BOOL("events_on_public", tracker.events_on_public),
    ROW_INT("events_max_body", tracker.events_max_body, 1024, 16777216,
            "bytes of a custom-event request body, e.g. 65536"),
    ROW_INT("events_window", tracker.events_window, 10, 86400,
            "seconds a signed request's timestamp may differ from the clock, e.g. 300"),
    END
};

static const struct pb_conf_setting scorer_settings[] = {
    RUN_AS_ROWS(scorer, "a file path, e.g. \"/run/postbeacon/scorer.pid\", or \"\" for none"),
    ROW_LIST("admin_listen", scorer.admin_listen, pb_cc_listen,
             "a list of addresses and ports for /healthz and /metrics, e.g. "
             "[ \"127.0.0.1:9465\" ]"),
    ROW_STR("consumer_group", scorer.consumer_group, 0, pb_cc_word,
            "a consumer group name, e.g. \"scorer\""),
    ROW_STR("consumer", scorer.consumer, PB_CF_EMPTY_NULL, pb_cc_word,
            "a consumer name unique in the group, e.g. \"scorer-1\", or \"\" for the host name"),
    ROW_INT("batch", scorer.batch, 1, 10000, "entries per batch, e.g. 256"),
    ROW_INT("block_ms", scorer.block_ms, 10, 60000, "milliseconds, e.g. 1000"),
    ROW_INT("claim_idle_ms", scorer.claim_idle_ms, 1000, 86400000,
            "milliseconds an entry is pending before another scorer takes it, e.g. 60000"),
    ROW_INT("claim_interval_ms", scorer.claim_interval_ms, 100, 3600000,
            "milliseconds between looks for such entries, e.g. 10000"),
    ROW_INT("half_life_days", scorer.half_life_days, 0, 3650, "days, e.g. 30 (0 = no decay)"),
    ROW_INT("score_floor", scorer.score_floor, -1000000000, 1000000000,
            "the lowest score, e.g. 0"),
    ROW_INT("score_cap", scorer.score_cap, 0, 1000000000,
            "the highest score, e.g. 500 (0 = no cap)"),
    ROW_INT("history_days", scorer.history_days, 1, 3650, "days, e.g. 90"),
    ROW_INT("history_max", scorer.history_max, 1, 100000,
            "entries per contact, e.g. 500"),
    { "rules", PB_CT_EXTERNAL, 0, 0, NULL, 0, 0, NULL,
      "a list of rules ( { name = \"pricing\"; event = \"click\"; points = 10; }, ... )" },
    ROW_LONG("segment_log_maxlen", scorer.segment_log_maxlen, 1000, 2000000000,
             "entries of <prefix>segment-log kept, e.g. 1000000"),
    { "fit", PB_CT_EXTERNAL, 0, 0, NULL, 0, 0, NULL,
      "a list of fit rules ( { name = \"berlin\"; attribute = \"city\"; equals = \"Berlin\"; "
      "points = 10; }, ... )" },
    { "grade", PB_CT_EXTERNAL, 0, PB_CF_GROUP, NULL, 0, 0, NULL,
      "{ fit = [ 60, 40, 20 ]; behaviour = [ 100, 50, 20 ]; }" },
    { "segments", PB_CT_EXTERNAL, 0, 0, NULL, 0, 0, NULL,
      "a list of segments ( { name = \"mql\"; behaviour_at_least = 50; }, ... )" },
    { "workflows", PB_CT_EXTERNAL, 0, 0, NULL, 0, 0, NULL,
      "a list of workflows ( { name = \"welcome\"; trigger = { signup = true; }; "
      "steps = ( ... ); }, ... )" },
    ROW_INT("workflow_tries", scorer.workflow_tries, 1, 100,
            "submissions of a follow-up before it is recorded as failed, e.g. 5"),
    ROW_INT("workflow_retry_s", scorer.workflow_retry_s, 1, 86400,
            "seconds to the first retry after a temporary failure (then doubling), e.g. 300"),
    ROW_INT("workflow_cap", scorer.workflow_cap, 0, 1000,
            "follow-ups sent to one contact per workflow_cap_days at most, e.g. 3 (0 = no cap)"),
    ROW_INT("workflow_cap_days", scorer.workflow_cap_days, 1, 365,
            "days of the frequency cap's period, e.g. 7"),
    ROW_INT("quiet_from", scorer.quiet_from, -1, 23,
            "the hour quiet hours start in the contact's time zone, e.g. 21 (-1 = none)"),
    ROW_INT("quiet_to", scorer.quiet_to, -1, 23,
            "the hour quiet hours end in the contact's time zone, e.g. 8 (-1 = none)"),
    ROW_STR("timezone", scorer.timezone, 0, pb_cc_timezone,
            "the time zone of contacts without one, e.g. \"Europe/Berlin\""),
    END
};

static const struct pb_conf_setting submit_settings[] = {
    ROW_STR("command", submit.command, 0, pb_cc_command,
            "a command line, e.g. \"/usr/sbin/sendmail -t -i -f ${sender}\""),
    ROW_STR("smtp", submit.smtp, PB_CF_EMPTY_NULL, pb_cc_smtp_server,
            "\"host:port\" of an SMTP server, e.g. \"127.0.0.1:25\", or \"\" for the command"),
    ROW_STR("from", submit.from, PB_CF_EMPTY_NULL, pb_cc_mailbox,
            "an address, e.g. \"Shop <news@example.com>\", or \"\""),
    ROW_STR("reply_to", submit.reply_to, PB_CF_EMPTY_NULL, pb_cc_mailbox,
            "an address, e.g. \"Service <service@example.com>\", or \"\""),
    ROW_STR("envelope_sender", submit.envelope_sender, PB_CF_EMPTY_NULL, pb_cc_mailto,
            "an address, e.g. \"bounces@example.com\", or \"\" for the From address"),
    ROW_INT("timeout", submit.timeout, 1, 3600, "seconds, e.g. 60"),
    ROW_INT("rate", submit.rate, 0, 100000,
            "messages per second over every sender, e.g. 50, or 0 for no limit"),
    END
};

static const struct pb_conf_setting templates_settings[] = {
    ROW_STR("dir", templates.dir, 0, pb_cc_abs_path,
            "a folder, e.g. \"/etc/postbeacon/templates\""),
    END
};

static const struct pb_conf_setting report_settings[] = {
    ROW_STR("language", report.language, 0, pb_cc_report_language, "\"en\" or \"de\""),
    ROW_LIST("funnel", report.funnel, pb_cc_segment_name,
             "a list of segment names of scorer.segments, e.g. [ \"active\", \"mql\", \"sql\" ]"),
    ROW_STR("dormant", report.dormant, PB_CF_EMPTY_NULL, pb_cc_segment_name,
            "the name of a segment of scorer.segments, e.g. \"dormant\", or \"\" for none"),
    END
};

const struct pb_conf_section pb_conf_sections[] = {
    { "tracking", tracking_settings, 0, "tracking = { base_url = \"https://t.example.com\"; };" },
    { "keys", keys_settings, 0, "keys = { file = \"/etc/postbeacon/keys\"; };" },
    { "log", log_settings, 0, "log = { facility = \"mail\"; };" },
    { "redis", redis_settings, 0, "redis = { host = \"127.0.0.1\"; port = 6379; };" },
    { "utm", utm_settings, 0, "utm = { enabled = true; domains = [ \"example.com\" ]; };" },
    { "milter", milter_settings, 0,
      "milter = { socket = \"unix:/run/postbeacon/milter.sock\"; };" },
    { "tracker", tracker_settings, 0, "tracker = { listen = [ \"127.0.0.1:8080\" ]; };" },
    { "scorer", scorer_settings, 0, "scorer = { rules = ( ... ); };" },
    { "submit", submit_settings, 0, "submit = { from = \"Shop <news@example.com>\"; };" },
    { "templates", templates_settings, 0,
      "templates = { dir = \"/etc/postbeacon/templates\"; };" },
    { "report", report_settings, 0,
      "report = { language = \"de\"; funnel = [ \"active\", \"mql\", \"sql\" ]; };" },
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
