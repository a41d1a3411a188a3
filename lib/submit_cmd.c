/*
 * submit_cmd.c - pb_submit_command(): submit a message by running a
 * command (sendmail -t -i -f ${sender}) with the message on its standard
 * input. fork/exec without a shell, so no address can become shell
 * syntax; an address that could be read as an option (a leading '-') or
 * holds a space or control character is refused. The message goes
 * through a socket pair written with MSG_NOSIGNAL (a command that exits
 * without reading does not raise SIGPIPE in the caller); the command's
 * output is kept for the reason of a failure; a command running past the
 * timeout is killed with its process group. The exit status is
 * classified by pb_submit_classify_exit().
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <glib.h>
#include "submit.h"

#define OUTPUT_KEEP 2048        /* bytes of the command's output kept for the reason */

/* One command while it runs. */
struct run {
    pid_t pid;
    int in_fd, out_fd, exec_fd;
    const char *msg;
    size_t len, sent;
    int unread;                 /* the command closed its input before the end */
    gint64 deadline;            /* monotonic microseconds */
    GString *output;
};

/* ---- the command line -------------------------------------------------- */

static int address_arg_ok(const char *a)
{
    if (a == NULL || a[0] == '-')
        return 0;
    for (; *a; a++)
        if ((unsigned char)*a <= 0x20 || *a == 0x7f)
            return 0;
    return 1;
}

/* The words of command with ${sender} and ${recipient} replaced; NULL
 * (why set) if there is no absolute program path. */
static char **build_argv(const char *command, const char *sender, const char *recipient,
                         char *why, size_t whylen)
{
    char **words = g_strsplit_set(command ? command : "", " \t", -1);
    GPtrArray *argv = g_ptr_array_new();

    for (char **w = words; *w != NULL; w++) {
        if (**w == '\0')
            continue;
        const char *v = strcmp(*w, "${sender}") == 0 ? sender
            : strcmp(*w, "${recipient}") == 0 ? recipient : *w;
        g_ptr_array_add(argv, g_strdup(v));
    }
    g_ptr_array_add(argv, NULL);
    g_strfreev(words);
    char **out = (char **)g_ptr_array_free(argv, FALSE);
    if (out[0] == NULL || out[0][0] != '/') {
        snprintf(why, whylen, "submit.command \"%s\" does not start with an absolute path",
                 command ? command : "");
        g_strfreev(out);
        return NULL;
    }
    return out;
}

/* ---- starting it ------------------------------------------------------- */

static void child(char **argv, int in_fd, int out_fd, int exec_fd)
{
    sigset_t all;
    int e;

    setpgid(0, 0);              /* a timeout kills the whole group */
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    signal(SIGPIPE, SIG_DFL);
    if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0)
        _exit(71);
    execv(argv[0], argv);
    e = errno;
    if (write(exec_fd, &e, sizeof(e)) < 0)
        _exit(127);
    _exit(127);
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static int spawn(struct run *r, char **argv, char *why, size_t whylen)
{
    int in[2] = { -1, -1 }, out[2] = { -1, -1 }, ex[2] = { -1, -1 };

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) != 0
        || pipe2(out, O_CLOEXEC) != 0 || pipe2(ex, O_CLOEXEC) != 0
        || (r->pid = fork()) < 0) {
        snprintf(why, whylen, "cannot start %s: %s", argv[0], strerror(errno));
        for (int i = 0; i < 2; i++) {
            close_fd(&in[i]);
            close_fd(&out[i]);
            close_fd(&ex[i]);
        }
        return -1;
    }
    if (r->pid == 0)
        child(argv, in[1], out[1], ex[1]);
    close(in[1]);
    close(out[1]);
    close(ex[1]);
    r->in_fd = in[0];
    r->out_fd = out[0];
    r->exec_fd = ex[0];
    fcntl(r->out_fd, F_SETFL, O_NONBLOCK);
    return 0;
}

/* ---- feeding it and reading its output --------------------------------- */

static void write_some(struct run *r)
{
    ssize_t n = send(r->in_fd, r->msg + r->sent, r->len - r->sent, MSG_NOSIGNAL | MSG_DONTWAIT);

    if (n > 0)
        r->sent += (size_t)n;
    else if (n < 0 && errno != EAGAIN && errno != EINTR) {
        r->unread = 1;          /* EPIPE, ECONNRESET: it stopped reading */
        close_fd(&r->in_fd);
    }
    if (r->in_fd >= 0 && r->sent == r->len)
        close_fd(&r->in_fd);    /* end of the message */
}

static void read_some(struct run *r)
{
    char buf[1024];
    ssize_t n = read(r->out_fd, buf, sizeof(buf));

    if (n > 0) {
        g_string_append_len(r->output, buf, n);
        if (r->output->len > OUTPUT_KEEP)
            g_string_erase(r->output, 0, (gssize)(r->output->len - OUTPUT_KEEP));
    } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        close_fd(&r->out_fd);
    }
}

/* Until the command has exited (1, *wstatus set) or the deadline (0). */
static int run_until_exit(struct run *r, int *wstatus)
{
    for (;;) {
        struct pollfd p[2] = { { r->in_fd, POLLOUT, 0 }, { r->out_fd, POLLIN, 0 } };
        gint64 left = (r->deadline - g_get_monotonic_time()) / 1000;
        /* with both pipes closed nothing wakes poll: look for the exit every ms */
        int step = r->in_fd < 0 && r->out_fd < 0 ? 1 : 20;
        if (left <= 0)
            return 0;
        if (poll(p, 2, left < step ? (int)left : step) < 0 && errno != EINTR)
            return 0;
        if (p[0].revents & (POLLOUT | POLLERR | POLLHUP))
            write_some(r);
        if (p[1].revents & (POLLIN | POLLERR | POLLHUP))
            read_some(r);
        if (r->in_fd < 0 && waitpid(r->pid, wstatus, WNOHANG) == r->pid) {
            if (r->out_fd >= 0)
                read_some(r);   /* what it wrote last */
            return 1;
        }
    }
}

/* ---- the outcome ------------------------------------------------------- */

/* The last non-empty line the command wrote, one line of printable text. */
static void last_line(const GString *out, char *line, size_t linelen)
{
    size_t end = out->len, start;

    while (end > 0 && g_ascii_isspace(out->str[end - 1]))
        end--;
    start = end;
    while (start > 0 && out->str[start - 1] != '\n')
        start--;
    snprintf(line, linelen, "%.*s", (int)(end - start), out->str + start);
    for (char *p = line; *p; p++)
        if ((unsigned char)*p < 0x20)
            *p = ' ';
}

static enum pb_submit_status outcome(struct run *r, const char *prog, int wstatus,
                                     char *why, size_t whylen)
{
    enum pb_submit_status st = pb_submit_classify_exit(wstatus);
    char line[256];
    int e = 0;

    last_line(r->output, line, sizeof(line));
    if (read(r->exec_fd, &e, sizeof(e)) == (ssize_t)sizeof(e)) {
        snprintf(why, whylen, "cannot run %s: %s", prog, strerror(e));
        return PB_SUBMIT_TEMPORARY;     /* the system's fault, not the message's */
    }
    if (st == PB_SUBMIT_OK && r->unread) {
        snprintf(why, whylen, "%s exited 0 without reading the whole message (%zu of %zu "
                 "bytes)", prog, r->sent, r->len);
        return PB_SUBMIT_TEMPORARY;
    }
    if (WIFSIGNALED(wstatus))
        snprintf(why, whylen, "%s killed by signal %d%s%s", prog, WTERMSIG(wstatus),
                 line[0] ? ": " : "", line);
    else if (st != PB_SUBMIT_OK)
        snprintf(why, whylen, "%s exited %d (%s)%s%s", prog, WEXITSTATUS(wstatus),
                 pb_submit_status_name(st), line[0] ? ": " : "", line);
    else
        why[0] = '\0';
    return st;
}

enum pb_submit_status pb_submit_command(const char *command, int timeout_ms,
                                        const char *sender, const char *recipient,
                                        const char *msg, size_t len, char *why, size_t whylen)
{
    struct run r = { .in_fd = -1, .out_fd = -1, .exec_fd = -1, .msg = msg, .len = len };
    enum pb_submit_status st = PB_SUBMIT_TEMPORARY;
    char **argv;
    int wstatus = 0;

    if (!address_arg_ok(sender) || !address_arg_ok(recipient)) {
        snprintf(why, whylen, "envelope address \"%s\" or \"%s\" has a space or control "
                 "character or starts with '-'", sender ? sender : "",
                 recipient ? recipient : "");
        return PB_SUBMIT_PERMANENT;
    }
    if ((argv = build_argv(command, sender, recipient, why, whylen)) == NULL)
        return PB_SUBMIT_PERMANENT;
    r.deadline = g_get_monotonic_time() + (gint64)(timeout_ms > 0 ? timeout_ms : 60000) * 1000;
    r.output = g_string_new(NULL);
    if (spawn(&r, argv, why, whylen) == 0) {
        if (run_until_exit(&r, &wstatus)) {
            st = outcome(&r, argv[0], wstatus, why, whylen);
        } else {
            kill(-r.pid, SIGKILL);
            kill(r.pid, SIGKILL);
            waitpid(r.pid, &wstatus, 0);
            snprintf(why, whylen, "%s did not finish within %d ms (killed)", argv[0],
                     timeout_ms);
        }
        close_fd(&r.in_fd);
        close_fd(&r.out_fd);
        close_fd(&r.exec_fd);
    }
    g_string_free(r.output, TRUE);
    g_strfreev(argv);
    return st;
}
