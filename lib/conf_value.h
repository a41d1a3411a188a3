/*
 * conf_value.h - inside the config loader: what conf.c and conf_value.c
 * share. Not for programs; they use conf.h.
 *
 * conf.c owns the load (file, sections, error messages); conf_value.c
 * turns one setting into its field of struct pb_conf by its schema type
 * and reports a bad value through pb_conf_fail_at().
 */
#ifndef PB_CONF_VALUE_H
#define PB_CONF_VALUE_H

#include <stddef.h>
#include <libconfig.h>
#include "conf.h"
#include "conf_schema.h"

/* One load in progress. */
struct pb_conf_ctx {
    const char *path;
    struct pb_conf *conf;
    char *err;
    size_t errlen;
    char dir[1024];             /* the file's directory, for @include names */
};

/* Store `set`'s value from s into ctx->conf; `where` is "section.name". 0,
 * or -1 with the message in ctx->err. */
int pb_conf_apply_setting(struct pb_conf_ctx *ctx, const config_setting_t *s, const char *where,
                          const struct pb_conf_setting *set);

/* "FILE:LINE: " + message in ctx->err, for the place where setting s was
 * written (s NULL: the main file, no line); always returns -1. */
int pb_conf_fail_at(struct pb_conf_ctx *ctx, const config_setting_t *s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* "where: expected <expected>, got <what s is> (<set->help>)"; returns -1. */
int pb_conf_wrong_type(struct pb_conf_ctx *ctx, const config_setting_t *s, const char *where,
                       const char *expected, const struct pb_conf_setting *set);

/* What a libconfig type is called in messages, e.g. "an integer". */
const char *pb_conf_type_name(int type);

/* Free a list's items and leave it empty. */
void pb_conf_free_list(struct pb_strlist *list);

#endif
