/*
 * log.h - one logging call for every program: syslog when daemonised,
 * stderr in the foreground (-f) and for command-line tools.
 */
#ifndef PB_LOG_H
#define PB_LOG_H

#include <syslog.h>

/* ident: program name; to_stderr: log to stderr instead of syslog;
 * facility: syslog facility name ("mail", "local0", ...), NULL = mail. */
void pb_log_init(const char *ident, int to_stderr, const char *facility);
void pb_log_set_verbose(int verbose);
void pb_log(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Logs at most `per_minute` lines per call site per minute; counts the rest
 * and reports "(N similar messages suppressed)" with the next line. */
struct pb_log_limit { long window; int count; int suppressed; };
void pb_log_limited(struct pb_log_limit *lim, int per_minute, int priority,
                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Map a facility name to LOG_*; -1 if unknown. */
int pb_log_facility(const char *name);

#endif
