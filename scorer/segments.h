/*
 * segments.h - fit rules, grade bands and segments of postbeacon.conf
 * (scorer.fit, scorer.grade, scorer.segments): read and checked with
 * messages that name file, line and fix (segments_conf.c, cond_conf.c),
 * turned into the batch script's Lua (segment_lua.c) and matched against
 * clicks for interest segments. docs/scorer.md ("Segments").
 */
#ifndef PB_SCORER_SEGMENTS_H
#define PB_SCORER_SEGMENTS_H

#include <stddef.h>
#include "entry.h"

#define PB_GRADE_BANDS 3        /* thresholds: A/B/C above D, 1/2/3 above 4 */

/* An attribute condition: fit rules and attribute segments. */
enum pb_cond_kind {
    PB_COND_EQUALS,             /* attribute = value (ASCII case-insensitive) */
    PB_COND_IN,                 /* attribute is one of values */
    PB_COND_RANGE,              /* attribute is a number in min..max */
    PB_COND_TAG,                /* tags has attribute (the tag) */
    PB_COND_AGE,                /* age from birthday in min..max */
    PB_COND_BIRTHDAY            /* next birthday within days */
};

struct pb_cond {
    enum pb_cond_kind kind;
    char *attribute;            /* the field (tag: the tag; age, birthday: "birthday") */
    char **values;              /* equals, in: lowercased (NULL-terminated) */
    double min, max;            /* range, age */
    int days;                   /* birthday */
};

struct pb_fit_rule {
    char *name;
    struct pb_cond cond;
    double points;
};

enum pb_seg_kind {
    PB_SEG_BEHAVIOUR, PB_SEG_FIT, PB_SEG_GRADE, PB_SEG_INTEREST, PB_SEG_ATTRIBUTE,
    PB_SEG_DORMANT, PB_SEG_ACTIVE, PB_SEG_SUPPRESSED, PB_SEG_COMBINATION
};

struct pb_segment {
    char *name;                 /* [a-z0-9_-]: key <p>segment:<name>, field seg:<name> */
    enum pb_seg_kind kind;
    double threshold;           /* behaviour, fit */
    int below;                  /* behaviour, fit: member when < threshold (else >=) */
    char **grades;              /* grade: "A1", ... (NULL-terminated) */
    char *url, *campaign;       /* interest: fnmatch patterns (either may be NULL) */
    int days;                   /* interest within, dormant, active */
    struct pb_cond cond;        /* attribute */
    int *all, *any, *none;      /* combination: indexes of earlier segments, -1-terminated */
};

struct pb_segdefs {
    struct pb_fit_rule *fit;
    size_t nfit;
    int has_grade;
    double grade_fit[PB_GRADE_BANDS], grade_behaviour[PB_GRADE_BANDS];
    struct pb_segment *items;
    size_t count;
};

struct pb_conf_ctx;
struct config_t;

/* Read scorer.fit, scorer.grade and scorer.segments of the parsed file
 * (each optional). 0, or -1 with "FILE:LINE: where: what (fix)". */
int pb_segdefs_read(struct pb_conf_ctx *ctx, const struct config_t *cfg,
                    struct pb_segdefs *defs);
void pb_segdefs_free(struct pb_segdefs *defs);

/* Interest segments a human click matches: their indexes into out (at most
 * max); their number. */
size_t pb_segdefs_interest(const struct pb_segdefs *defs, const struct pb_sc_event *ev,
                           int *out, size_t max);

/* ---- inside the reader (cond_conf.c) ------------------------------------ */
struct pb_rule_ctx;
/* The condition members of an item into c; 0 if there is one, 1 if the
 * item has none of them, -1 (reported) if one is wrong. birthday: allow
 * birthday_within_days (segments, not fit rules). */
int pb_cond_read(struct pb_rule_ctx *r, struct pb_cond *c, int birthday);
void pb_cond_free(struct pb_cond *c);
/* A whole number of days 1..3650 of member name; -1 (reported) if not. */
int pb_rc_get_days(struct pb_rule_ctx *r, const char *name, int *days);
/* NULL-terminated copy of a list of strings of member name; -1 (reported)
 * if it is not a non-empty list of strings. lower: lowercase them. */
int pb_rc_get_strings(struct pb_rule_ctx *r, const char *name, char ***out, int lower);

#endif
