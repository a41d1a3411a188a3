/*
 * rules.h - the behaviour scoring rules of postbeacon.conf (scorer.rules):
 * loaded and checked with messages that name file, line and fix, and
 * matched against one event. docs/scorer.md, postbeacon.conf(5).
 */
#ifndef PB_SCORER_RULES_H
#define PB_SCORER_RULES_H

#include <stddef.h>
#include "entry.h"
#include "segments.h"
#include "workflows.h"

enum pb_rule_class { PB_RULE_HUMAN, PB_RULE_MACHINE, PB_RULE_ANY };

/* The repeat policy; its letter is what the batch script is told. */
enum pb_rule_repeat {
    PB_REPEAT_EVERY = 'e',      /* every matching event */
    PB_REPEAT_MESSAGE = 'm',    /* once per message */
    PB_REPEAT_CAMPAIGN = 'c',   /* once per campaign */
    PB_REPEAT_ONCE = 'o',       /* once ever */
    PB_REPEAT_DAILY = 'd'       /* at most per_day per UTC day */
};

struct pb_rule {
    char *name;                 /* [a-z0-9_-], unique: repeat state and history use it */
    char *event;                /* event type */
    double points;              /* may be negative, never 0 */
    char *campaign;             /* fnmatch(3) pattern, or NULL = any */
    char *url;                  /* fnmatch(3) pattern on click URLs (case-insensitive), or NULL */
    enum pb_rule_class cls;     /* default human; events without a class count as human */
    enum pb_rule_repeat repeat; /* default every time */
    int per_day;                /* PB_REPEAT_DAILY: the limit */
};

struct pb_rules {
    struct pb_rule *items;
    size_t count;
    struct pb_segdefs segs;     /* scorer.fit, scorer.grade, scorer.segments */
    struct pb_workflows wf;     /* scorer.workflows (templates not loaded by pb_rules_load) */
};

/* Read scorer.rules, and scorer.fit, scorer.grade and scorer.segments
 * (segments.h), from the configuration file at path (and what it
 * @includes), and check what pb_conf_load cannot (score_cap not below
 * score_floor). 0, or -1 with "FILE:LINE: scorer.rules[i]: what (fix)"
 * in err. No scorer.rules: 0 rules. */
int pb_rules_load(const char *path, struct pb_rules *rules, char *err, size_t errlen);
void pb_rules_free(struct pb_rules *rules);

/* The rules that ev matches, at most max of them into out; their number. */
size_t pb_rules_match(const struct pb_rules *rules, const struct pb_sc_event *ev,
                      const struct pb_rule **out, size_t max);

#endif
