/*
 * submit.c - pb_submit(): the configured way of submitting a message
 * (SMTP when submit.smtp is set, else submit.command), and how a
 * submission's outcome is classified as temporary or permanent, in one
 * place for both ways (submit_cmd.c runs a command, submit_smtp.c talks
 * SMTP).
 */
#include <sys/wait.h>
#include "submit.h"

enum pb_submit_status pb_submit(const struct pb_submit_conf *sc, const char *sender,
                                const char *recipient, const char *msg, size_t len,
                                char *why, size_t whylen)
{
    int timeout_ms = sc->timeout * 1000;

    if (sc->smtp != NULL)
        return pb_submit_smtp(sc->smtp, timeout_ms, sender, recipient, msg, len, why, whylen);
    return pb_submit_command(sc->command, timeout_ms, sender, recipient, msg, len, why, whylen);
}

enum pb_submit_status pb_submit_classify_exit(int wstatus)
{
    if (WIFSIGNALED(wstatus))
        return PB_SUBMIT_TEMPORARY;
    if (!WIFEXITED(wstatus))
        return PB_SUBMIT_TEMPORARY;
    switch (WEXITSTATUS(wstatus)) {
    case 0:
        return PB_SUBMIT_OK;
    case 71:                    /* EX_OSERR: fork failed, ... */
    case 74:                    /* EX_IOERR */
    case 75:                    /* EX_TEMPFAIL: Postfix's sendmail when it cannot queue now */
        return PB_SUBMIT_TEMPORARY;
    default:
        return PB_SUBMIT_PERMANENT;
    }
}

enum pb_submit_status pb_submit_classify_smtp(long code)
{
    if (code >= 200 && code < 400)
        return PB_SUBMIT_OK;
    if (code >= 500 && code < 600)
        return PB_SUBMIT_PERMANENT;
    return PB_SUBMIT_TEMPORARY;     /* 4xx, or no reply at all */
}

const char *pb_submit_status_name(enum pb_submit_status st)
{
    switch (st) {
    case PB_SUBMIT_OK: return "ok";
    case PB_SUBMIT_TEMPORARY: return "temporary";
    case PB_SUBMIT_PERMANENT: return "permanent";
    }
    return "?";
}
