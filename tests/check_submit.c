/*
 * check_submit.c - submission (lib/submit*.c): through a command
 * (tests/lib/capture-submit.sh keeps each message in a folder and exits
 * as told: 0, 75, 1, killed, hanging, not reading) and over SMTP to a
 * real smtp-sink on loopback (Postfix's test server: accepting, or
 * rejecting RCPT with 4xx / 5xx). Checks what arrived, byte for byte,
 * and the classification of every failure.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <check.h>
#include <glib.h>
#include "submit.h"
#include "testutil.h"

#define CAPTURE TESTS_DIR "/lib/capture-submit.sh"
#define MSG "From: news@example.com\nTo: max@example.org\nSubject: hi\n\nline\n.\n..dots\n"

static char dir[512];

static void setup(void)
{
    snprintf(dir, sizeof(dir), "%s", tu_tmpdir());
}

/* Run capture-submit.sh with status and pause; the command's outcome. */
static enum pb_submit_status capture(const char *status, const char *pause, int timeout_ms,
                                     const char *msg, size_t len, char *why, size_t whylen)
{
    char cmd[1024];

    snprintf(cmd, sizeof(cmd), CAPTURE " %s %s %s -t -i -f ${sender} -- ${recipient}", dir,
             status, pause);
    return pb_submit_command(cmd, timeout_ms, "bounces@example.com", "max@example.org", msg,
                             len, why, whylen);
}

static char *captured(const char *name)
{
    char path[600];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return tu_read_file(path, NULL);
}

START_TEST(test_command_ok)
{
    char why[256] = "x";

    ck_assert_int_eq(capture("0", "0", 10000, MSG, strlen(MSG), why, sizeof(why)), PB_SUBMIT_OK);
    ck_assert_str_eq(why, "");
    char *msg = captured("1.eml"), *args = captured("1.args");
    ck_assert_str_eq(msg, MSG);
    ck_assert_str_eq(args, "-t\n-i\n-f\nbounces@example.com\n--\nmax@example.org\n");
    free(msg);
    free(args);
}
END_TEST

/* size bytes or a little more of line, again and again. */
static GString *big_message(size_t size, const char *line)
{
    GString *big = g_string_new(NULL);

    while (big->len < size)
        g_string_append(big, line);
    return big;
}

/* A message larger than the socket buffers arrives whole. */
START_TEST(test_command_large)
{
    GString *big = big_message(4 * 1024 * 1024, "0123456789abcdef0123456789abcdef\n");
    char why[256];

    ck_assert_int_eq(capture("0", "0", 20000, big->str, big->len, why, sizeof(why)),
                     PB_SUBMIT_OK);
    char *msg = captured("1.eml");
    ck_assert_str_eq(msg, big->str);
    free(msg);
    g_string_free(big, TRUE);
}
END_TEST

START_TEST(test_command_tempfail)
{
    char why[256];

    ck_assert_int_eq(capture("75", "0", 10000, MSG, strlen(MSG), why, sizeof(why)),
                     PB_SUBMIT_TEMPORARY);
    ck_assert_ptr_nonnull(strstr(why, "exited 75 (temporary): capture-submit: message 1, exit 75"));
}
END_TEST

START_TEST(test_command_permanent)
{
    char why[256];

    ck_assert_int_eq(capture("1", "0", 10000, MSG, strlen(MSG), why, sizeof(why)),
                     PB_SUBMIT_PERMANENT);
    ck_assert_ptr_nonnull(strstr(why, "exited 1 (permanent)"));
    ck_assert_int_eq(capture("67", "0", 10000, MSG, strlen(MSG), why, sizeof(why)),
                     PB_SUBMIT_PERMANENT);
}
END_TEST

START_TEST(test_command_killed)
{
    char why[256];

    ck_assert_int_eq(capture("kill", "0", 10000, MSG, strlen(MSG), why, sizeof(why)),
                     PB_SUBMIT_TEMPORARY);
    ck_assert_ptr_nonnull(strstr(why, "killed by signal 15"));
}
END_TEST

/* Processes of process group pgid that are not zombies (/proc). */
static int live_in_group(int pgid)
{
    GDir *d = g_dir_open("/proc", 0, NULL);
    const char *name;
    int live = 0;

    while (d != NULL && (name = g_dir_read_name(d)) != NULL) {
        char path[300], *stat, state;
        int group = 0;
        if (name[0] < '0' || name[0] > '9')
            continue;
        snprintf(path, sizeof(path), "/proc/%s/stat", name);
        if ((stat = tu_read_file(path, NULL)) == NULL)
            continue;
        const char *rest = strrchr(stat, ')');     /* after the command name */
        if (rest != NULL && sscanf(rest + 1, " %c %*d %d", &state, &group) == 2
            && group == pgid && state != 'Z')
            live++;
        free(stat);
    }
    if (d != NULL)
        g_dir_close(d);
    return live;
}

/* A command that hangs is killed at the timeout, its children with it. */
START_TEST(test_command_timeout)
{
    char why[256];
    gint64 t0 = g_get_monotonic_time();

    ck_assert_int_eq(capture("0", "30", 500, MSG, strlen(MSG), why, sizeof(why)),
                     PB_SUBMIT_TEMPORARY);
    gint64 ms = (g_get_monotonic_time() - t0) / 1000;
    ck_assert_msg(ms >= 450 && ms < 3000, "took %lld ms", (long long)ms);
    ck_assert_ptr_nonnull(strstr(why, "did not finish within 500 ms"));
    char *pid = captured("pid");
    ck_assert_ptr_nonnull(pid);
    ck_assert_int_eq(kill(atoi(pid), 0), -1);   /* gone */
    /* its sleep(1) child too: nothing but zombies is left in the process group */
    ck_assert_int_eq(live_in_group(atoi(pid)), 0);
    free(pid);
}
END_TEST

/* Exit 0 without reading the message is not a submission. */
START_TEST(test_command_noread)
{
    GString *big = big_message(2 * 1024 * 1024, "x\n");
    char why[256];

    ck_assert_int_eq(capture("noread", "0", 10000, big->str, big->len, why, sizeof(why)),
                     PB_SUBMIT_TEMPORARY);
    ck_assert_ptr_nonnull(strstr(why, "without reading the whole message"));
    g_string_free(big, TRUE);
}
END_TEST

START_TEST(test_command_refused)
{
    char why[256];

    ck_assert_int_eq(pb_submit_command("/nonexistent/sendmail -t", 1000, "a@example.com",
                                       "b@example.com", MSG, strlen(MSG), why, sizeof(why)),
                     PB_SUBMIT_TEMPORARY);
    ck_assert_ptr_nonnull(strstr(why, "cannot run /nonexistent/sendmail: No such file"));
    ck_assert_int_eq(pb_submit_command("sendmail -t", 1000, "a@example.com", "b@example.com",
                                       MSG, strlen(MSG), why, sizeof(why)), PB_SUBMIT_PERMANENT);
    ck_assert_ptr_nonnull(strstr(why, "absolute path"));
    /* an address that would be an option or two words never reaches the command */
    const char *bad[] = { "-oQ/tmp@x", "a b@example.com", "a@example.com\n-X" };
    for (size_t i = 0; i < 3; i++) {
        ck_assert_int_eq(pb_submit_command(CAPTURE " /nonexistent 0 0", 1000, bad[i],
                                           "b@example.com", MSG, strlen(MSG), why, sizeof(why)),
                         PB_SUBMIT_PERMANENT);
        ck_assert_int_eq(pb_submit_command(CAPTURE " /nonexistent 0 0", 1000, "a@example.com",
                                           bad[i], MSG, strlen(MSG), why, sizeof(why)),
                         PB_SUBMIT_PERMANENT);
    }
}
END_TEST

START_TEST(test_classify)
{
    ck_assert_int_eq(pb_submit_classify_exit(0), PB_SUBMIT_OK);
    ck_assert_int_eq(pb_submit_classify_exit(75 << 8), PB_SUBMIT_TEMPORARY);
    ck_assert_int_eq(pb_submit_classify_exit(71 << 8), PB_SUBMIT_TEMPORARY);
    ck_assert_int_eq(pb_submit_classify_exit(74 << 8), PB_SUBMIT_TEMPORARY);
    ck_assert_int_eq(pb_submit_classify_exit(1 << 8), PB_SUBMIT_PERMANENT);
    ck_assert_int_eq(pb_submit_classify_exit(64 << 8), PB_SUBMIT_PERMANENT);
    ck_assert_int_eq(pb_submit_classify_exit(SIGKILL), PB_SUBMIT_TEMPORARY);
    ck_assert_int_eq(pb_submit_classify_smtp(250), PB_SUBMIT_OK);
    ck_assert_int_eq(pb_submit_classify_smtp(421), PB_SUBMIT_TEMPORARY);
    ck_assert_int_eq(pb_submit_classify_smtp(452), PB_SUBMIT_TEMPORARY);
    ck_assert_int_eq(pb_submit_classify_smtp(550), PB_SUBMIT_PERMANENT);
    ck_assert_int_eq(pb_submit_classify_smtp(0), PB_SUBMIT_TEMPORARY);
    ck_assert_str_eq(pb_submit_status_name(PB_SUBMIT_PERMANENT), "permanent");
}
END_TEST

/* pb_submit() takes the way the configuration names. */
START_TEST(test_submit_conf)
{
    struct pb_submit_conf sc = { .timeout = 10 };
    char cmd[700], why[256];

    snprintf(cmd, sizeof(cmd), CAPTURE " %s 0 0 -f ${sender}", dir);
    sc.command = cmd;
    ck_assert_int_eq(pb_submit(&sc, "s@example.com", "r@example.com", MSG, strlen(MSG), why,
                               sizeof(why)), PB_SUBMIT_OK);
    char *args = captured("1.args");
    ck_assert_str_eq(args, "-f\ns@example.com\n");
    free(args);
}
END_TEST

/* ---- SMTP against smtp-sink -------------------------------------------- */

static int free_port(void)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static int accepts(int port)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

    ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    close(fd);
    return ok;
}

/* smtp-sink on a free port, dumping messages into dir/sink/ (reject:
 * "-r rcpt", "-f rcpt" or NULL); *port gets the port. */
static pid_t sink_start(const char *reject_opt, const char *reject_cmd, int *port)
{
    char sink_dir[600], dump[700], listen[64];
    pid_t pid;

    if (access("/usr/sbin/smtp-sink", X_OK) != 0)
        ck_abort_msg("smtp-sink is not installed (scripts/install-deps.sh: postfix)");
    snprintf(sink_dir, sizeof(sink_dir), "%s/sink", dir);
    mkdir(sink_dir, 0777);
    chmod(sink_dir, 0777);
    chmod(dir, 0755);
    snprintf(dump, sizeof(dump), "%s/msg.", sink_dir);
    *port = free_port();
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", *port);
    pid = fork();
    if (pid == 0) {
        const char *argv[12];
        int n = 0;
        argv[n++] = "smtp-sink";
        if (getuid() == 0) {
            argv[n++] = "-u";
            argv[n++] = "postfix";
        }
        argv[n++] = "-d";
        argv[n++] = dump;
        if (reject_opt != NULL) {
            argv[n++] = reject_opt;
            argv[n++] = reject_cmd;
        }
        argv[n++] = listen;
        argv[n++] = "8";
        argv[n] = NULL;
        execv("/usr/sbin/smtp-sink", (char **)argv);
        _exit(127);
    }
    for (int i = 0; i < 200 && !accepts(*port); i++)
        usleep(25 * 1000);
    ck_assert_msg(accepts(*port), "smtp-sink did not start on %s", listen);
    return pid;
}

static void sink_stop(pid_t pid)
{
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

/* The one message smtp-sink dumped (its own lines first), or NULL. */
static char *sink_message(void)
{
    char sink_dir[600];
    GDir *d;
    const char *name;
    char *found = NULL;

    snprintf(sink_dir, sizeof(sink_dir), "%s/sink", dir);
    for (int i = 0; i < 100 && found == NULL; i++) {
        d = g_dir_open(sink_dir, 0, NULL);
        while (d != NULL && (name = g_dir_read_name(d)) != NULL && found == NULL) {
            char *path = g_build_filename(sink_dir, name, NULL);
            found = tu_read_file(path, NULL);
            g_free(path);
        }
        if (d != NULL)
            g_dir_close(d);
        if (found == NULL)
            usleep(20 * 1000);
    }
    return found;
}

START_TEST(test_smtp_ok)
{
    int port;
    pid_t sink = sink_start(NULL, NULL, &port);
    char server[64], why[256] = "x";

    snprintf(server, sizeof(server), "127.0.0.1:%d", port);
    ck_assert_int_eq(pb_submit_smtp(server, 10000, "bounces@example.com", "max@example.org",
                                    MSG, strlen(MSG), why, sizeof(why)), PB_SUBMIT_OK);
    ck_assert_str_eq(why, "");
    char *got = sink_message();
    sink_stop(sink);
    ck_assert_ptr_nonnull(got);
    ck_assert_ptr_nonnull(strstr(got, "X-Mail-Args: <bounces@example.com>"));
    ck_assert_ptr_nonnull(strstr(got, "X-Rcpt-Args: <max@example.org>"));
    /* the message itself, its dot lines intact (smtp-sink dumps with LF) */
    ck_assert_ptr_nonnull(strstr(got, "Subject: hi\n\nline\n.\n..dots\n"));
    free(got);
}
END_TEST

static void smtp_rejected(const char *opt, enum pb_submit_status want, const char *code)
{
    int port;
    pid_t sink = sink_start(opt, "rcpt", &port);
    char server[64], why[256];

    snprintf(server, sizeof(server), "smtp://127.0.0.1:%d", port);
    ck_assert_int_eq(pb_submit_smtp(server, 10000, "bounces@example.com", "max@example.org",
                                    MSG, strlen(MSG), why, sizeof(why)), want);
    sink_stop(sink);
    ck_assert_msg(strstr(why, code) != NULL, "\"%s\" lacks %s", why, code);
}

START_TEST(test_smtp_4xx)
{
    smtp_rejected("-r", PB_SUBMIT_TEMPORARY, "(reply 450)");
}
END_TEST

START_TEST(test_smtp_5xx)
{
    smtp_rejected("-f", PB_SUBMIT_PERMANENT, "(reply 500)");
}
END_TEST

START_TEST(test_smtp_down)
{
    char server[64], why[256];

    snprintf(server, sizeof(server), "127.0.0.1:%d", free_port());
    ck_assert_int_eq(pb_submit_smtp(server, 2000, "a@example.com", "b@example.com", MSG,
                                    strlen(MSG), why, sizeof(why)), PB_SUBMIT_TEMPORARY);
    ck_assert_ptr_nonnull(strstr(why, "(reply 0)"));
    ck_assert_int_eq(pb_submit_smtp(server, 2000, "a@example.com", "<b@example.com>", MSG,
                                    strlen(MSG), why, sizeof(why)), PB_SUBMIT_PERMANENT);
}
END_TEST

static Suite *submit_suite(void)
{
    Suite *s = suite_create("submit");
    TCase *cmd = tcase_create("command"), *smtp = tcase_create("smtp");

    tcase_add_checked_fixture(cmd, setup, NULL);
    tcase_add_checked_fixture(smtp, setup, NULL);
    tcase_set_timeout(cmd, 30);
    tcase_set_timeout(smtp, 30);
    tcase_add_test(cmd, test_command_ok);
    tcase_add_test(cmd, test_command_large);
    tcase_add_test(cmd, test_command_tempfail);
    tcase_add_test(cmd, test_command_permanent);
    tcase_add_test(cmd, test_command_killed);
    tcase_add_test(cmd, test_command_timeout);
    tcase_add_test(cmd, test_command_noread);
    tcase_add_test(cmd, test_command_refused);
    tcase_add_test(cmd, test_classify);
    tcase_add_test(cmd, test_submit_conf);
    tcase_add_test(smtp, test_smtp_ok);
    tcase_add_test(smtp, test_smtp_4xx);
    tcase_add_test(smtp, test_smtp_5xx);
    tcase_add_test(smtp, test_smtp_down);
    suite_add_tcase(s, cmd);
    suite_add_tcase(s, smtp);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(submit_suite());
    int failed;

    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
