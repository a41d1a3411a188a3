/*
 * submit.h - hand one rendered message (template.h) to the MTA, either
 * through the configured command (default /usr/sbin/sendmail -t -i -f
 * ${sender}: fork/exec, no shell, the message on its standard input) or
 * over SMTP to a configured host:port (libcurl), and say how it went:
 * done, a temporary failure (retry later: the caller's backoff) or a
 * permanent one (retrying cannot help), with the reason in one line.
 *
 * Nothing here retries or logs: the caller (the scorer's send step, the
 * CLI's `send`) owns the retry policy and the log line. The command way
 * waits for its child with waitpid(): a caller must not set SIGCHLD to
 * SIG_IGN (the child would be reaped unseen and count as a timeout), and
 * submissions from several threads at once are fine.
 */
#ifndef PB_SUBMIT_H
#define PB_SUBMIT_H

#include <stddef.h>
#include "conf.h"

enum pb_submit_status {
    PB_SUBMIT_OK = 0,
    PB_SUBMIT_TEMPORARY,        /* EX_TEMPFAIL and the like, SMTP 4xx, timeout, no connection */
    PB_SUBMIT_PERMANENT         /* any other exit status, SMTP 5xx */
};

/* Submit msg[0..len) (LF or CRLF line breaks) from envelope sender (an
 * address, "" for the null sender of a bounce) to recipient, as sc says:
 * SMTP when sc->smtp is set, else sc->command. why gets the reason of a
 * failure (the command's status and last output line, or the server's
 * reply), e.g. "smtp 127.0.0.1:2525: 550 5.1.1 unknown user (RCPT TO)". */
enum pb_submit_status pb_submit(const struct pb_submit_conf *sc, const char *sender,
                                const char *recipient, const char *msg, size_t len,
                                char *why, size_t whylen);

/* The two ways alone. command: words separated by blanks, the first an
 * absolute path; a word "${sender}" or "${recipient}" is replaced by that
 * address (no shell: no quoting, no other expansion). timeout_ms bounds
 * the whole submission; a command still running then is killed (its
 * process group) and it counts as temporary. */
enum pb_submit_status pb_submit_command(const char *command, int timeout_ms,
                                        const char *sender, const char *recipient,
                                        const char *msg, size_t len, char *why, size_t whylen);
/* server: "host:port", or an smtp:// or smtps:// URL. */
enum pb_submit_status pb_submit_smtp(const char *server, int timeout_ms, const char *sender,
                                     const char *recipient, const char *msg, size_t len,
                                     char *why, size_t whylen);

/* The classification alone: a wait(2) status of a submission command
 * (exit 75 EX_TEMPFAIL, 71 EX_OSERR, 74 EX_IOERR, or killed by a signal:
 * temporary; 0: ok; any other exit: permanent), and an SMTP reply code
 * (2xx/3xx ok, 4xx temporary, 5xx permanent, 0 = no reply: temporary). */
enum pb_submit_status pb_submit_classify_exit(int wstatus);
enum pb_submit_status pb_submit_classify_smtp(long code);

/* libcurl's global set-up, done once in the process whichever comes
 * first: an SMTP submission or a webhook (lib/webhook.c). */
void pb_submit_curl_init(void);

/* "ok", "temporary", "permanent". */
const char *pb_submit_status_name(enum pb_submit_status st);

#endif
