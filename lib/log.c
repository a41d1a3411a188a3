/*
 * log.c - the one logging call every postbeacon program uses.
 *
 * Daemons log to syslog with the configured facility; in the foreground
 * (-f) and in command-line tools lines go to stderr as
 * "ident[pid]: level: message". Each line is written with a single
 * write(2) so lines from concurrent milter threads never interleave.
 * pb_log_limited() caps noisy call sites (e.g. Redis down) per minute.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include "log.h"

static struct {
    char ident[64];
    int to_stderr;
    int verbose;
    int facility;
} log_state = { "postbeacon", 1, 0, LOG_MAIL };

/* Serialises the rate-limit counters of all call sites. */
static pthread_mutex_t limit_lock = PTHREAD_MUTEX_INITIALIZER;

static const struct {
    const char *name;
    int value;
} facility_names[] = {
    { "auth", LOG_AUTH },     { "authpriv", LOG_AUTHPRIV },
    { "cron", LOG_CRON },     { "daemon", LOG_DAEMON },
    { "ftp", LOG_FTP },       { "kern", LOG_KERN },
    { "lpr", LOG_LPR },       { "mail", LOG_MAIL },
    { "news", LOG_NEWS },     { "syslog", LOG_SYSLOG },
    { "user", LOG_USER },     { "uucp", LOG_UUCP },
    { "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
    { "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
    { "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
    { "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
};

int pb_log_facility(const char *name)
{
    if (name == NULL)
        return -1;
    for (size_t i = 0; i < sizeof(facility_names) / sizeof(facility_names[0]); i++)
        if (strcasecmp(name, facility_names[i].name) == 0)
            return facility_names[i].value;
    return -1;
}

void pb_log_init(const char *ident, int to_stderr, const char *facility)
{
    int fac = facility ? pb_log_facility(facility) : LOG_MAIL;

    snprintf(log_state.ident, sizeof(log_state.ident), "%s",
             ident ? ident : "postbeacon");
    log_state.to_stderr = to_stderr;
    log_state.facility = fac >= 0 ? fac : LOG_MAIL;
    if (!to_stderr)
        openlog(log_state.ident, LOG_PID | LOG_NDELAY, log_state.facility);
    if (fac < 0)
        pb_log(LOG_WARNING, "unknown syslog facility \"%s\"; using mail", facility);
}

void pb_log_set_verbose(int verbose)
{
    log_state.verbose = verbose;
}

static const char *level_name(int priority)
{
    switch (LOG_PRI(priority)) {
    case LOG_EMERG:   return "emergency";
    case LOG_ALERT:   return "alert";
    case LOG_CRIT:    return "critical";
    case LOG_ERR:     return "error";
    case LOG_WARNING: return "warning";
    case LOG_NOTICE:  return "notice";
    case LOG_INFO:    return "info";
    default:          return "debug";
    }
}

/* Format and emit one line; `suffix` (may be "") is appended to it. */
static void log_emit(int priority, const char *suffix, const char *fmt, va_list ap)
{
    char msg[2048];
    int saved_errno = errno;    /* callers may log strerror(errno) after us */

    if (LOG_PRI(priority) == LOG_DEBUG && !log_state.verbose)
        return;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (!log_state.to_stderr) {
        syslog(LOG_PRI(priority) | log_state.facility, "%s%s", msg, suffix);
    } else {
        char line[2300];
        int n = snprintf(line, sizeof(line), "%s[%ld]: %s: %s%s\n", log_state.ident,
                         (long)getpid(), level_name(priority), msg, suffix);
        if (n >= (int)sizeof(line)) {
            n = sizeof(line) - 1;
            line[n - 1] = '\n';
        }
        if (n > 0 && write(STDERR_FILENO, line, (size_t)n) < 0) {
            /* nowhere left to report a failing stderr */
        }
    }
    errno = saved_errno;
}

void pb_log(int priority, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_emit(priority, "", fmt, ap);
    va_end(ap);
}

void pb_log_limited(struct pb_log_limit *lim, int per_minute, int priority,
                    const char *fmt, ...)
{
    long window = (long)(time(NULL) / 60);
    int suppressed = 0;
    int emit;
    char suffix[64] = "";
    va_list ap;

    pthread_mutex_lock(&limit_lock);
    if (lim->window != window) {
        lim->window = window;
        lim->count = 0;
    }
    emit = lim->count < per_minute;
    if (emit) {
        lim->count++;
        suppressed = lim->suppressed;
        lim->suppressed = 0;
    } else {
        lim->suppressed++;
    }
    pthread_mutex_unlock(&limit_lock);

    if (!emit)
        return;
    if (suppressed > 0)
        snprintf(suffix, sizeof(suffix), " (%d similar message%s suppressed)",
                 suppressed, suppressed == 1 ? "" : "s");
    va_start(ap, fmt);
    log_emit(priority, suffix, fmt, ap);
    va_end(ap);
}
