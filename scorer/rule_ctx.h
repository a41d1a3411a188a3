/*
 * rule_ctx.h - reading one group of a list in postbeacon.conf (a scoring
 * rule, a fit rule, a segment) with messages that name the file, the
 * line, the item and the fix: what rules.c and segments_conf.c share.
 */
#ifndef PB_SCORER_RULE_CTX_H
#define PB_SCORER_RULE_CTX_H

#include <stddef.h>
#include <libconfig.h>
#include "conf_value.h"

#define PB_NAME_CHARS "abcdefghijklmnopqrstuvwxyz0123456789_-"
#define PB_NAME_MAX 64

/* One item being read: where to report and what it is called so far. */
struct pb_rule_ctx {
    struct pb_conf_ctx *conf;
    const config_setting_t *group;
    char where[128];            /* "scorer.rules[2]" or "scorer.rules[2] (\"name\")" */
};

/* 1 if s is 1..max characters, all in allowed. */
int pb_rc_only_chars(const char *s, const char *allowed, size_t max);
/* A string member of the item, or NULL (absent); -1 if not a string. */
int pb_rc_get_str(struct pb_rule_ctx *r, const char *name, const char **out);
/* A number member into *out (absent: 0 and *out untouched); -1 if not a number. */
int pb_rc_get_number(struct pb_rule_ctx *r, const char *name, double *out, int *present);
/* "FILE:LINE: where: name: <fmt with value>" for member name (or the item). -1. */
int pb_rc_fail_member(struct pb_rule_ctx *r, const char *name, const char *fmt,
                      const char *value);
/* Every member's name is one of fields (NULL-terminated), else -1 naming
 * it and listing them (list: "name, event, points"). */
int pb_rc_check_members(struct pb_rule_ctx *r, const char *const *fields, const char *list);
/* The required name member: PB_NAME_CHARS, at most PB_NAME_MAX; it is
 * appended to r->where. example: a good name for the message. */
int pb_rc_read_name(struct pb_rule_ctx *r, const char *example, const char **out);
/* Start reading element index of list at what ("scorer.segments"). -1 if
 * it is not a group (message names expected). */
int pb_rc_start(struct pb_rule_ctx *r, struct pb_conf_ctx *conf, const config_setting_t *group,
                const char *what, int index, const char *expected);

#endif
