/*
 * conf.h - postbeacon.conf (libconfig) loaded into one validated struct.
 *
 * Every program reads the same file; each takes the sections it needs.
 * pb_conf_load() fails with "file:line: setting: what is wrong (fix)" in
 * errbuf, so a bad file stops a daemon at start-up, never at run time.
 */
#ifndef PB_CONF_H
#define PB_CONF_H

#include <stddef.h>

#define PB_DEFAULT_CONF "/etc/postbeacon/postbeacon.conf"

/* A list of strings from a libconfig array; NULL-terminated. */
struct pb_strlist {
    char **items;
    size_t count;
};

enum pb_fsync_policy { PB_FSYNC_ALWAYS, PB_FSYNC_SECOND, PB_FSYNC_NEVER };

struct pb_redis_conf {
    char *host;                 /* default "127.0.0.1"; ignored if socket set */
    int port;                   /* default 6379 */
    char *socket;               /* unix socket path, or NULL */
    char *password;             /* AUTH password, or NULL */
    int db;                     /* SELECT db, default 0 */
    int timeout_ms;             /* connect and command timeout, default 200 */
    char *prefix;               /* key prefix, default "pb:" */
    char *journal;              /* local journal file for unwritten events */
    enum pb_fsync_policy journal_fsync;   /* default PB_FSYNC_SECOND */
    int queue_max;              /* in-memory records before the journal takes over, default 10000 */
    int retention_days;         /* TTL of per-message records, default 180 */
};

enum pb_utm_content_mode { PB_UTM_CONTENT_NONE, PB_UTM_CONTENT_POSITION, PB_UTM_CONTENT_ANCHOR };

struct pb_utm_conf {
    int enabled;                /* default 1 */
    char *source;               /* utm_source, default "newsletter" */
    char *medium;               /* utm_medium, default "email" */
    char *term;                 /* utm_term, default NULL (not added) */
    enum pb_utm_content_mode content;   /* default PB_UTM_CONTENT_POSITION */
    struct pb_strlist domains;  /* destination domains that get UTM (and subdomains) */
};

enum pb_multi_rcpt { PB_MULTI_CAMPAIGN, PB_MULTI_SKIP };
enum pb_pixel_position { PB_PIXEL_AFTER_BODY, PB_PIXEL_BEFORE_BODY_END, PB_PIXEL_NONE };

struct pb_milter_conf {
    char *socket;               /* libmilter address, default "unix:/run/postbeacon/milter.sock" */
    int socket_mode;            /* default 0660 */
    char *user;                 /* run as, default "postbeacon" (NULL/"" = stay) */
    char *group;                /* default NULL = user's primary group */
    char *pidfile;              /* default "/run/postbeacon/milter.pid" */
    int workers_timeout;        /* libmilter timeout seconds, default 30 */

    /* which mail is marketing mail */
    struct pb_strlist daemon_names;     /* {daemon_name} values of outgoing services */
    int authenticated;          /* SASL-authenticated submitters are outgoing, default 1 */
    struct pb_strlist senders;  /* "user@dom" or "@dom" envelope senders that are marketing */
    char *campaign_header;      /* default "X-Campaign" */
    int strip_campaign_header;  /* remove it from the sent mail, default 1 */
    char *skip_header;          /* default "X-Postbeacon-Skip" */
    struct pb_strlist exclude_rcpt_domains;
    char *default_campaign;     /* campaign when the header is absent, default "newsletter" */
    enum pb_multi_rcpt multi_recipient;  /* default PB_MULTI_CAMPAIGN */

    /* what is changed */
    int track_clicks;           /* default 1 */
    int track_opens;            /* default 1 */
    int list_unsubscribe;       /* default 1 */
    char *unsubscribe_mailto;   /* e.g. "unsubscribe@example.com", default NULL */
    enum pb_pixel_position pixel_position;
    int honeypot_link;          /* hidden link (index 0xFFFF) next to the pixel, default 0 */
    char *notrack_attribute;    /* default "data-pb-notrack" */
    struct pb_strlist unsubscribe_patterns; /* URL substrings of unsubscribe links, default unsubscribe, optout, opt-out */
    size_t max_message_size;    /* bytes, default 10 MB */
};

struct pb_tracker_conf {
    struct pb_strlist listen;   /* "127.0.0.1:8080", "[::1]:8080"; default ["127.0.0.1:8080"] */
    struct pb_strlist admin_listen; /* /healthz and /metrics; default ["127.0.0.1:9464"] */
    char *user;                 /* run as, default "postbeacon" ("" = stay) */
    char *group;
    char *pidfile;              /* default "/run/postbeacon/tracker.pid" */
    char *journal;              /* default "/var/lib/postbeacon/tracker.journal" */
    int queue_max;              /* events in memory before the journal takes over, default 10000 */
    int max_header_size;        /* bytes, default 16384 (request line included) */
    int max_body_size;          /* bytes, default 4096 */
    int timeout;                /* seconds per request/keep-alive, default 10 */
    int max_connections;        /* public connections at once, default 0 = from the open-file limit */
    struct pb_strlist trusted_proxies;  /* CIDRs whose X-Forwarded-For is believed; default none */
    int full_ip;                /* store the whole client IP, default 0 (v4 /24, v6 /48) */
    char *language;             /* unsubscribe page language, "en" (default), "de", "fr" */
    char *bots_file;            /* machine-traffic data file, default SYSCONFDIR "/postbeacon/bots.conf" */
    int machine_click_seconds;  /* clicks this soon after the send are machine, default 5 */
    int stream_max_age_days;    /* events stream retention by age (MINID), default 90; 0 = off */
    long stream_maxlen;         /* approximate MAXLEN, default 1000000; 0 = off */
    char *tls_cert;             /* native TLS: PEM certificate (chain), default none */
    char *tls_key;              /* PEM private key (not world-readable), default none */
    struct pb_strlist tls_listen;   /* HTTPS addresses, default none; needs tls_cert and tls_key */
    /* custom events, POST /e (docs/custom-events.md); off unless one of the first two is set */
    struct pb_strlist events_listen;    /* addresses serving only /e, default none */
    int events_on_public;       /* also serve /e on listen and tls_listen, default 0 */
    int events_max_body;        /* bytes of a POST /e body, default 65536 */
    int events_window;          /* seconds a signed timestamp is good either way, default 300 */
};

struct pb_scorer_conf {
    char *user;                 /* run as, default "postbeacon" ("" = stay) */
    char *group;
    char *pidfile;              /* default "/run/postbeacon/scorer.pid" */
    char *consumer_group;       /* consumer group on <p>events, default "scorer" */
    char *consumer;             /* consumer name, default NULL = the host name */
    int batch;                  /* entries per batch (one script), default 256 */
    int block_ms;               /* XREADGROUP BLOCK, default 1000 */
    int claim_idle_ms;          /* claim another consumer's entries pending this long, default 60000 */
    int claim_interval_ms;      /* how often to look for them, default 10000 */
    int half_life_days;         /* behaviour score half-life, default 30; 0 = no decay */
    int score_floor;            /* lowest score, default 0 */
    int score_cap;              /* highest score, default 0 = no cap */
    int history_days;           /* score history kept, default 90 */
    int history_max;            /* at most this many history entries per contact, default 500 */
    long segment_log_maxlen;    /* <p>segment-log kept (~ entries), default 1000000 */
    int workflow_tries;         /* submissions of a follow-up before it fails, default 5 */
    int workflow_retry_s;       /* first retry after a temporary failure (doubling), default 300 */
    int workflow_cap;           /* at most this many follow-ups per contact per period, 0 = none */
    int workflow_cap_days;      /* ... the period, default 7 */
    int quiet_from, quiet_to;   /* no follow-up to a contact from..to o'clock its time, -1 = none */
    char *timezone;             /* of contacts without one, default "UTC" */
    struct pb_strlist admin_listen; /* /healthz and /metrics (scorer/admin.c); default none */
    /* scorer.rules, fit, grade and segments are read by postbeacon-scorer
     * itself (scorer/rules.c, scorer/segments_conf.c). */
};

/* How follow-up mail is made and handed to the MTA (template.h, submit.h). */
struct pb_submit_conf {
    char *command;              /* default "/usr/sbin/sendmail -t -i -f ${sender}" */
    char *smtp;                 /* "host:port" or smtp(s):// URL: SMTP instead of the command; NULL */
    char *from;                 /* From of templates without one, e.g. "Shop <news@example.com>"; NULL */
    char *reply_to;             /* Reply-To of templates without one; NULL */
    char *envelope_sender;      /* MAIL FROM / -f; NULL = the message's From address */
    int timeout;                /* seconds one submission may take, default 60 */
    int rate;                   /* messages per second over all senders (send_rate.h), 0 = no limit */
};

struct pb_templates_conf {
    char *dir;                  /* default SYSCONFDIR "/postbeacon/templates" */
};

/* postbeacon report (docs/reports.md). */
struct pb_report_conf {
    char *language;             /* labels and number formats: "en" (default) or "de" */
    struct pb_strlist funnel;   /* segment names, the funnel's stages after all contacts; default none */
    char *dormant;              /* the segment of dormant contacts, NULL = none (default) */
};

struct pb_conf {
    char *path;                 /* the file this came from */
    char *keys_file;            /* keys.file, default "/etc/postbeacon/keys" */
    char *tracking_url;         /* tracking.base_url, e.g. "https://t.example.com" (no trailing /) */
    char *log_facility;         /* syslog facility name, default "mail" */
    struct pb_redis_conf redis;
    struct pb_utm_conf utm;
    struct pb_milter_conf milter;
    struct pb_tracker_conf tracker;
    struct pb_scorer_conf scorer;
    struct pb_submit_conf submit;
    struct pb_templates_conf templates;
    struct pb_report_conf report;
};

/* Load and validate; 0 on success, -1 with a message in errbuf. On failure
 * conf is already released and zeroed (pb_conf_free on it is a no-op). */
int pb_conf_load(const char *path, struct pb_conf *conf, char *errbuf, size_t errlen);

/* Defaults only (used by tests and before a file is read). String lists
 * start empty (items NULL), except unsubscribe_patterns (the three above). */
void pb_conf_defaults(struct pb_conf *conf);

void pb_conf_free(struct pb_conf *conf);

/* 1 if s equals an item (case-insensitive). */
int pb_strlist_has(const struct pb_strlist *list, const char *s);

#endif
