/*
 * milter_client.c - a minimal MTA side of the milter protocol (version 6)
 * for the protocol tests: sends one message to a milter on a unix socket
 * the way Postfix does (OPTNEG, CONNECT, MAIL, RCPT, HEADER..., EOH, BODY
 * chunks, BODYEOB, QUIT, with macros), prints what the milter answers,
 * and writes the message as it would leave the MTA: headers after the
 * milter's add/insert/change/delete, then the replaced body (or the
 * original). Unlike Debian 12's miltertest it copes with large bodies.
 * The message side (parsing, applying changes, writing) is milter_message.c.
 *
 *   milter-client -s SOCKET -i MESSAGE -o OUTPUT [-f SENDER] [-r RCPT]...
 *                 [-d DAEMON_NAME] [-a AUTH_AUTHEN] [-q QUEUE_ID]
 *                 [-M STAGE:NAME=VALUE]... [-b BODY_CHUNK] [-n] [-N] [-A ACTIONS]
 *                 [-t SECONDS]
 *
 * STAGE is a protocol command letter (C connect, M mail, R rcpt, N eoh,
 * E end of body). -n: do not offer SMFIP_HDR_LEADSPC. -N: offer none of
 * the no-reply steps (SMFIP_NR_*), so every step waits for its reply.
 * -A: the actions offered (SMFIF_* bits, e.g. 0x101; default all). The
 * milter's use of an action that was not negotiated ends the dialogue
 * with an error. The message file may
 * have LF or CRLF line endings; the body goes out with CRLF, like an MTA
 * sends it, and the output file is written with CRLF.
 *
 * Output lines: "negotiated version=V actions=0x.. protocol=0x..",
 * "STEP: REPLY" for each step, one line per header action
 * ("addheader NAME:VALUE", "insheader IDX NAME:VALUE",
 * "chgheader NAME IDX:VALUE" / "delheader NAME IDX"), and
 * "replbody chunks=N bytes=N max=N". Exit 0 when the dialogue completed,
 * 1 on a protocol or I/O error, 2 on a usage error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>
#include <libmilter/mfdef.h>
#include "milter_message.h"

/* Offered to the milter by default: every action and every protocol step flag. */
#define ACTIONS_OFFERED 0x1ffUL
#define PROTO_OFFERED 0x001fffffUL
#define MAX_PACKET (64 * 1024 * 1024)

struct macro {
    char stage;
    char *name, *value;
};

struct client {
    int fd;
    unsigned long actions, proto;
    struct mc_message msg;
};

static struct {
    const char *socket, *input, *output, *sender, *daemon_name, *auth, *qid;
    const char *rcpts[64];
    size_t nrcpts;
    struct macro macros[32];
    size_t nmacros;
    size_t body_chunk;
    int no_leadspc, no_noreply, timeout;
    unsigned long actions;
} opt = { .sender = "<sender@example.com>", .body_chunk = 65535, .timeout = 30,
          .actions = ACTIONS_OFFERED };

/* ---- packets ------------------------------------------------------------- */

static int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;

    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int read_all(int fd, void *buf, size_t len)
{
    char *p = buf;

    while (len > 0) {
        ssize_t n = read(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int send_packet(struct client *c, char cmd, const void *data, size_t len)
{
    uint32_t n = htonl((uint32_t)(len + 1));

    if (write_all(c->fd, &n, 4) != 0 || write_all(c->fd, &cmd, 1) != 0
        || (len > 0 && write_all(c->fd, data, len) != 0)) {
        fprintf(stderr, "milter-client: write: %s\n", strerror(errno));
        return -1;
    }
    return 0;
}

/* One reply packet; *data is malloc'd (NUL-terminated for convenience). */
static int read_packet(struct client *c, char *cmd, char **data, size_t *len)
{
    uint32_t n;

    if (read_all(c->fd, &n, 4) != 0) {
        fprintf(stderr, "milter-client: read: %s\n", errno ? strerror(errno) : "EOF");
        return -1;
    }
    n = ntohl(n);
    if (n < 1 || n > MAX_PACKET) {
        fprintf(stderr, "milter-client: bad packet length %u\n", n);
        return -1;
    }
    *data = mc_xrealloc(NULL, n);
    if (read_all(c->fd, cmd, 1) != 0 || read_all(c->fd, *data, n - 1) != 0) {
        fprintf(stderr, "milter-client: short packet\n");
        free(*data);
        return -1;
    }
    (*data)[n - 1] = '\0';
    *len = n - 1;
    return 0;
}

/* Append "a\0b\0..." strings to buf at *off. */
static void put_str(char *buf, size_t *off, const char *s)
{
    size_t n = strlen(s) + 1;

    memcpy(buf + *off, s, n);
    *off += n;
}

static const char *reply_name(char cmd)
{
    switch (cmd) {
    case SMFIR_CONTINUE: return "continue";
    case SMFIR_ACCEPT: return "accept";
    case SMFIR_REJECT: return "reject";
    case SMFIR_TEMPFAIL: return "tempfail";
    case SMFIR_DISCARD: return "discard";
    case SMFIR_SKIP: return "skip";
    case SMFIR_REPLYCODE: return "replycode";
    case SMFIR_CONN_FAIL: return "connfail";
    case SMFIR_SHUTDOWN: return "shutdown";
    default: return "unknown";
    }
}

/* Read until a final reply; header/body actions are applied on the way.
 * Returns the reply letter or 0 on error. */
static char await_reply(struct client *c, const char *step)
{
    for (;;) {
        char cmd, *data;
        size_t len;
        int rc;

        if (read_packet(c, &cmd, &data, &len) != 0)
            return 0;
        if (cmd == SMFIR_PROGRESS) {           /* progress: keep waiting */
            free(data);
            continue;
        }
        rc = mc_message_apply(&c->msg, cmd, data, len);
        if (rc == 1)
            printf("%s: %s%s%s\n", step, reply_name(cmd), cmd == SMFIR_REPLYCODE ? " " : "",
                   cmd == SMFIR_REPLYCODE ? data : "");
        free(data);
        if (rc < 0) {
            fprintf(stderr, "milter-client: malformed action '%c'\n", cmd);
            return 0;
        }
        if (rc == 1)
            return cmd;
    }
}

/* ---- the dialogue --------------------------------------------------------- */

static int negotiate(struct client *c)
{
    uint32_t v[3];
    char cmd, *data;
    size_t len;

    const unsigned long noreply = SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL | SMFIP_NR_RCPT
                                  | SMFIP_NR_DATA | SMFIP_NR_UNKN | SMFIP_NR_EOH | SMFIP_NR_BODY
                                  | SMFIP_NR_HDR;
    unsigned long proto = PROTO_OFFERED;

    if (opt.no_leadspc)
        proto &= ~SMFIP_HDR_LEADSPC;
    if (opt.no_noreply)
        proto &= ~noreply;
    v[0] = htonl(SMFI_PROT_VERSION);
    v[1] = htonl((uint32_t)opt.actions);
    v[2] = htonl((uint32_t)proto);
    if (send_packet(c, SMFIC_OPTNEG, v, sizeof(v)) != 0 || read_packet(c, &cmd, &data, &len) != 0)
        return -1;
    if (cmd != SMFIC_OPTNEG || len < 12) {
        fprintf(stderr, "milter-client: bad OPTNEG reply '%c'\n", cmd);
        free(data);
        return -1;
    }
    c->actions = mc_get_u32(data + 4);
    c->msg.actions = c->actions;
    c->proto = mc_get_u32(data + 8);
    printf("negotiated version=%lu actions=0x%lx protocol=0x%lx\n", mc_get_u32(data), c->actions,
           c->proto);
    free(data);
    return 0;
}

/* Send the macros of one stage (those given with -M plus the built-in ones). */
static int send_macros(struct client *c, char stage, const char *const *builtin)
{
    char buf[8192];
    size_t off = 1;

    buf[0] = stage;
    for (size_t i = 0; builtin != NULL && builtin[i] != NULL; i += 2)
        if (builtin[i + 1] != NULL && off + strlen(builtin[i]) + strlen(builtin[i + 1]) + 2
                                          < sizeof(buf)) {
            put_str(buf, &off, builtin[i]);
            put_str(buf, &off, builtin[i + 1]);
        }
    for (size_t i = 0; i < opt.nmacros; i++)
        if (opt.macros[i].stage == stage
            && off + strlen(opt.macros[i].name) + strlen(opt.macros[i].value) + 2 < sizeof(buf)) {
            put_str(buf, &off, opt.macros[i].name);
            put_str(buf, &off, opt.macros[i].value);
        }
    return off > 1 ? send_packet(c, SMFIC_MACRO, buf, off) : 0;
}

/* Send one command and, unless the milter waived it, read its reply.
 * Returns the reply letter, SMFIR_CONTINUE when none is due, 0 on error. */
static char step(struct client *c, const char *name, char cmd, const void *data, size_t len,
                 unsigned long noreply)
{
    if (send_packet(c, cmd, data, len) != 0)
        return 0;
    if (c->proto & noreply)
        return SMFIR_CONTINUE;
    return await_reply(c, name);
}

static char envelope(struct client *c)
{
    char buf[4096], r = SMFIR_CONTINUE;
    size_t off = 0;
    const char *conn_macros[] = { "{daemon_name}", opt.daemon_name, NULL };
    const char *mail_macros[] = { "i", opt.qid, "{auth_authen}", opt.auth, NULL };
    uint16_t port = htons(25);

    if (!(c->proto & SMFIP_NOCONNECT)) {
        put_str(buf, &off, "client.example");
        buf[off++] = SMFIA_INET;
        memcpy(buf + off, &port, 2);
        off += 2;
        put_str(buf, &off, "127.0.0.1");
        if (send_macros(c, SMFIC_CONNECT, conn_macros) != 0
            || (r = step(c, "connect", SMFIC_CONNECT, buf, off, SMFIP_NR_CONN)) != SMFIR_CONTINUE)
            return r;
    }
    if (!(c->proto & SMFIP_NOHELO) && (r = step(c, "helo", SMFIC_HELO, "client.example", 15,
                                            SMFIP_NR_HELO)) != SMFIR_CONTINUE)
        return r;
    if (!(c->proto & SMFIP_NOMAIL)
        && (send_macros(c, SMFIC_MAIL, mail_macros) != 0
            || (r = step(c, "mail", SMFIC_MAIL, opt.sender, strlen(opt.sender) + 1,
                          SMFIP_NR_MAIL)) != SMFIR_CONTINUE))
        return r;
    for (size_t i = 0; i < opt.nrcpts && !(c->proto & SMFIP_NORCPT); i++) {
        const char *rcpt_macros[] = { "{rcpt_addr}", opt.rcpts[i], NULL };
        char addr[1024];
        snprintf(addr, sizeof(addr), "<%s>", opt.rcpts[i]);
        if (send_macros(c, SMFIC_RCPT, rcpt_macros) != 0
            || (r = step(c, "rcpt", SMFIC_RCPT, addr, strlen(addr) + 1, SMFIP_NR_RCPT)) == 0)
            return 0;
        if (r != SMFIR_CONTINUE)
            printf("rcpt %s: %s\n", opt.rcpts[i], reply_name(r));
    }
    if (!(c->proto & SMFIP_NODATA) && (r = step(c, "data", SMFIC_DATA, NULL, 0, SMFIP_NR_DATA)) != SMFIR_CONTINUE)
        return r;
    return SMFIR_CONTINUE;
}

static char content(struct client *c)
{
    const char *eoh_macros[] = { "i", opt.qid, NULL };
    char r = SMFIR_CONTINUE;
    size_t off;

    for (size_t i = 0; i < c->msg.nhdrs && !(c->proto & SMFIP_NOHDRS); i++) {
        size_t n = strlen(c->msg.hdrs[i].name) + strlen(c->msg.hdrs[i].value) + 2;
        char *buf = mc_xrealloc(NULL, n);
        off = 0;
        put_str(buf, &off, c->msg.hdrs[i].name);
        put_str(buf, &off, c->msg.hdrs[i].value);
        r = step(c, "header", SMFIC_HEADER, buf, off, SMFIP_NR_HDR);
        free(buf);
        if (r != SMFIR_CONTINUE)
            return r;
    }
    if (!(c->proto & SMFIP_NOEOH)
        && (send_macros(c, SMFIC_EOH, eoh_macros) != 0
            || (r = step(c, "eoh", SMFIC_EOH, NULL, 0, SMFIP_NR_EOH)) != SMFIR_CONTINUE))
        return r;
    for (off = 0; off < c->msg.body_len && !(c->proto & SMFIP_NOBODY);) {
        size_t n = c->msg.body_len - off < opt.body_chunk ? c->msg.body_len - off : opt.body_chunk;
        if ((r = step(c, "body", SMFIC_BODY, c->msg.body + off, n, SMFIP_NR_BODY)) == SMFIR_SKIP)
            break;
        if (r != SMFIR_CONTINUE)
            return r;
        off += n;
    }
    if (send_macros(c, SMFIC_BODYEOB, eoh_macros) != 0)
        return 0;
    return step(c, "eom", SMFIC_BODYEOB, NULL, 0, 0);
}

/* ---- command line ----------------------------------------------------------- */

static int usage(void)
{
    fprintf(stderr, "usage: milter-client -s SOCKET -i MESSAGE -o OUTPUT [-f SENDER] "
                    "[-r RCPT]... [-d DAEMON_NAME]\n"
                    "       [-a AUTH_AUTHEN] [-q QUEUE_ID] [-M STAGE:NAME=VALUE]... "
                    "[-b BODY_CHUNK] [-n] [-N] [-A ACTIONS] [-t SECONDS]\n");
    return 2;
}

static int add_macro(char *arg)
{
    char *eq = strchr(arg, '=');

    if (opt.nmacros >= sizeof(opt.macros) / sizeof(opt.macros[0]) || strlen(arg) < 4
        || arg[1] != ':' || eq == NULL)
        return -1;
    *eq = '\0';
    opt.macros[opt.nmacros].stage = arg[0];
    opt.macros[opt.nmacros].name = arg + 2;
    opt.macros[opt.nmacros].value = eq + 1;
    opt.nmacros++;
    return 0;
}

static int parse_args(int argc, char **argv)
{
    int ch;

    while ((ch = getopt(argc, argv, "s:i:o:f:r:d:a:q:M:b:nNA:t:")) != -1) {
        switch (ch) {
        case 's': opt.socket = optarg; break;
        case 'i': opt.input = optarg; break;
        case 'o': opt.output = optarg; break;
        case 'f': opt.sender = optarg; break;
        case 'd': opt.daemon_name = optarg; break;
        case 'a': opt.auth = optarg; break;
        case 'q': opt.qid = optarg; break;
        case 'n': opt.no_leadspc = 1; break;
        case 'N': opt.no_noreply = 1; break;
        case 'A': opt.actions = strtoul(optarg, NULL, 0); break;
        case 't': opt.timeout = atoi(optarg); break;
        case 'b':
            opt.body_chunk = (size_t)strtoul(optarg, NULL, 10);
            if (opt.body_chunk == 0 || opt.body_chunk > 65535)
                return -1;
            break;
        case 'r':
            if (opt.nrcpts >= sizeof(opt.rcpts) / sizeof(opt.rcpts[0]))
                return -1;
            opt.rcpts[opt.nrcpts++] = optarg;
            break;
        case 'M':
            if (add_macro(optarg) != 0)
                return -1;
            break;
        default:
            return -1;
        }
    }
    return opt.socket && opt.input && opt.output && optind == argc ? 0 : -1;
}

static int connect_unix(const char *path)
{
    struct sockaddr_un sun;
    struct timeval tv = { .tv_sec = opt.timeout };
    int fd;

    if (strncmp(path, "unix:", 5) == 0)
        path += 5;
    if (strlen(path) >= sizeof(sun.sun_path))
        return -1;
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    strcpy(sun.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int main(int argc, char **argv)
{
    struct client c;
    char *msg, r;
    size_t len = 0;
    int status = 1;

    if (parse_args(argc, argv) != 0)
        return usage();
    if ((msg = mc_read_file(opt.input, &len)) == NULL) {
        fprintf(stderr, "milter-client: cannot read %s: %s\n", opt.input, strerror(errno));
        return 2;
    }
    memset(&c, 0, sizeof(c));
    c.fd = connect_unix(opt.socket);
    if (c.fd < 0) {
        fprintf(stderr, "milter-client: cannot connect to %s: %s\n", opt.socket,
                strerror(errno));
        free(msg);
        return 1;
    }
    if (negotiate(&c) == 0) {
        mc_message_parse(&c.msg, msg, len, (c.proto & SMFIP_HDR_LEADSPC) != 0);
        r = envelope(&c);
        if (r == SMFIR_CONTINUE)
            r = content(&c);
        if (r != 0) {
            send_packet(&c, SMFIC_QUIT, NULL, 0);
            if (c.msg.replaced)
                printf("replbody chunks=%lu bytes=%zu max=%lu\n", c.msg.replchunks,
                       c.msg.newbody_len, c.msg.replmax);
            status = mc_message_write(&c.msg, opt.output) == 0 ? 0 : 1;
        }
    }
    free(msg);
    mc_message_free(&c.msg);
    close(c.fd);
    return status;
}
