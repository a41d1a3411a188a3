/*
 * cli.h - what every subcommand of `postbeacon` shares: the exit codes,
 * the context (configuration, keys and Redis, each loaded when a
 * subcommand first needs it), the options every subcommand takes, and
 * the way errors are reported (once, on stderr, prefixed "postbeacon:").
 */
#ifndef PB_CLI_H
#define PB_CLI_H

#include <getopt.h>
#include <stdio.h>
#include <hiredis/hiredis.h>
#include "conf.h"
#include "keys.h"

#define PB_CLI_NAME "postbeacon"

/* Exit codes (postbeacon(1), "EXIT STATUS"). */
enum { PB_EXIT_OK = 0, PB_EXIT_ERROR = 1, PB_EXIT_USAGE = 2 };

enum pb_out_format { PB_OUT_TEXT, PB_OUT_JSON, PB_OUT_CSV };

struct pb_cli {
    const char *conf_path;      /* -c, default PB_DEFAULT_CONF */
    enum pb_out_format format;  /* --json, --csv */
    int assume_yes;             /* --yes */
    int conf_loaded, keys_loaded;
    struct pb_conf conf;
    struct pb_keyring keys;
    redisContext *redis;
};

/* One subcommand (or group): its name, one line of help, and what runs it
 * with argv[0] = its name. Returns an exit code. */
struct pb_cli_cmd {
    const char *name;
    const char *summary;
    int (*run)(struct pb_cli *cli, int argc, char **argv);
};

/* Run the subcommand argv[0] of cmds (group names it in messages), or
 * print the group's help: exit code. */
int pb_cli_dispatch(struct pb_cli *cli, const char *group, const struct pb_cli_cmd *cmds,
                    int argc, char **argv);

/* ---- options --------------------------------------------------------------
 * Each subcommand parses its argv with pb_cli_getopt: its own options
 * (short string and long table, may be "" / NULL) and the common ones
 * (-c FILE, --json, --csv, -y/--yes, -h/--help). Returns the next option
 * character of the subcommand's own, -1 at the end of the options, or
 * '?' after a usage error (already reported). *help is set on -h. */
struct pb_cli_opts {
    const char *usage;          /* "contacts show [--json] EMAIL": after "usage: postbeacon " */
    const char *help;           /* lines after the usage line on --help */
    const char *shortopts;      /* the subcommand's own, e.g. "s:" */
    const struct option *longopts;      /* its own, NULL-terminated, or NULL */
    int formats;                /* accepts --json / --csv */
};
int pb_cli_getopt(struct pb_cli *cli, const struct pb_cli_opts *o, int argc, char **argv,
                  int *help);
/* Parse all options with pb_cli_getopt when the subcommand has none of its
 * own; PB_EXIT_OK after --help (printed), PB_EXIT_USAGE after a bad one,
 * -1 to go on (optind at the first operand). */
int pb_cli_parse_simple(struct pb_cli *cli, const struct pb_cli_opts *o, int argc,
                        char **argv);
/* The same for a subcommand whose own options are flags: any of them sets
 * *flag to 1. */
int pb_cli_parse_flag(struct pb_cli *cli, const struct pb_cli_opts *o, int argc, char **argv,
                      int *flag);
/* The whole command line of a subcommand that takes one EMAIL and no
 * options of its own: parse it and run fn(cli, email); an exit code. */
int pb_cli_run_email(struct pb_cli *cli, const struct pb_cli_opts *o, int argc, char **argv,
                     int (*fn)(struct pb_cli *cli, const char *email));
/* --separator's value into *sep: 0, or PB_EXIT_USAGE (reported). */
int pb_cli_separator(const struct pb_cli_opts *o, const char *arg, char *sep);
/* "usage: ..." and the problem on stderr; PB_EXIT_USAGE. */
int pb_cli_usage_error(const struct pb_cli_opts *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void pb_cli_print_help(const struct pb_cli_opts *o, FILE *fp);

/* ---- errors, context ------------------------------------------------------ */

/* "postbeacon: <message>" on stderr. */
void pb_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Load the configuration / the keys / connect to Redis, once; each reports
 * its own failure and returns -1 (NULL). */
int pb_cli_conf(struct pb_cli *cli);
int pb_cli_keys(struct pb_cli *cli);
redisContext *pb_cli_redis(struct pb_cli *cli);
void pb_cli_free(struct pb_cli *cli);

/* A Redis command (redisCommand's format); NULL after an error (reported,
 * with what: "reading the contact"). An error reply is an error. */
redisReply *pb_cli_cmd(struct pb_cli *cli, const char *what, const char *fmt, ...);
/* The reply of a command appended before (redisAppendCommand); NULL after
 * an error (reported). */
redisReply *pb_cli_reply(struct pb_cli *cli, const char *what);

/* unix ms as "YYYY-MM-DD HH:MM:SSZ" (UTC), how every subcommand prints a time. */
void pb_cli_time(long long ms, char out[32]);
/* The value of field in an HGETALL reply, or NULL. */
const char *pb_cli_field(const redisReply *hash, const char *field);
/* The behaviour score of a contact's HGETALL reply decayed to now
 * (lib/score.c with scorer.half_life_days), as every reader computes it. */
double pb_cli_score_now(const struct pb_cli *cli, const redisReply *hash);

/* prefix + name + id (id may be NULL); g_free it. */
char *pb_cli_key(const struct pb_cli *cli, const char *name, const char *id);

/* The contact id (16 hex) of an address on the command line, normalised
 * and checked as everywhere (custom_event.c); email_out gets the
 * normalised address (PB_CEV_EMAIL_MAX + 1 bytes). -1 with the reason
 * reported. */
int pb_cli_contact_of(struct pb_cli *cli, const char *email, char id[17], char *email_out);
/* The same, and the contact must exist (its hash or mapping): else
 * "no contact <address>" and -1. */
int pb_cli_find_contact(struct pb_cli *cli, const char *email, char id[17], char *email_out);

/* Ask "question [y/N]" on the terminal; 1 for yes. Without a terminal on
 * stdin: 0 (the caller says to use --yes). */
int pb_cli_confirm(const char *question);

/* ---- the subcommand groups (one file each) -------------------------------- */
int pb_cmd_config(struct pb_cli *cli, int argc, char **argv);
int pb_cmd_keys(struct pb_cli *cli, int argc, char **argv);
int pb_cmd_contacts(struct pb_cli *cli, int argc, char **argv);
int pb_cmd_event(struct pb_cli *cli, int argc, char **argv);
struct pb_custom_event;
/* ev written once through the tracker's batch script; its event id into
 * eid. PB_EXIT_OK or PB_EXIT_ERROR (said). event.c */
int pb_cli_write_event(struct pb_cli *cli, const struct pb_custom_event *ev, char eid[33]);

int pb_cmd_segments(struct pb_cli *cli, int argc, char **argv);     /* segments.c */
int pb_cmd_segment(struct pb_cli *cli, int argc, char **argv);      /* segment.c */
/* 0 if name is one of scorer.segments, else -1 with the configured ones
 * said. segment.c */
int pb_cli_segment_configured(struct pb_cli *cli, const char *name);
int pb_cmd_send(struct pb_cli *cli, int argc, char **argv);         /* send.c */
int pb_cmd_template(struct pb_cli *cli, int argc, char **argv);     /* template.c */
int pb_cmd_queue(struct pb_cli *cli, int argc, char **argv);        /* queue.c */
int pb_cmd_report(struct pb_cli *cli, int argc, char **argv);       /* report.c */
struct pb_rules;
/* The scorer's rules and segment definitions (scorer/rules.h) of the
 * configuration file; -1 after an error (reported). segments.c */
int pb_cli_rules(struct pb_cli *cli, struct pb_rules *rules);

/* contacts subcommands */
int pb_contacts_import(struct pb_cli *cli, int argc, char **argv);
int pb_contacts_export(struct pb_cli *cli, int argc, char **argv);
int pb_contacts_show(struct pb_cli *cli, int argc, char **argv);
int pb_contacts_erase(struct pb_cli *cli, int argc, char **argv);
int pb_contacts_export_data(struct pb_cli *cli, int argc, char **argv);
int pb_contacts_unsubscribe(struct pb_cli *cli, int argc, char **argv);
int pb_contacts_resubscribe(struct pb_cli *cli, int argc, char **argv);

#endif
