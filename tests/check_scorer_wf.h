/*
 * check_scorer_wf.h - what the follow-up tests of check_scorer share
 * (check_scorer_workflows.c, check_scorer_variants.c): a configuration
 * whose submission keeps every message in a folder
 * (tests/lib/capture-submit.sh), and reading back those messages, the
 * follow-up log and the steps' states. check_scorer_wf.c
 */
#ifndef PB_CHECK_SCORER_WF_H
#define PB_CHECK_SCORER_WF_H

#include <stddef.h>

extern char outdir[300];        /* the capture folder: 1.eml, 2.eml, ... */

/* The configuration with submission into outdir exiting status (and
 * submit_extra inside submit = { }), the shipped templates, the scorer
 * settings and rules; loaded as load_scorer_with does. */
void load_wf_with(const char *status, const char *submit_extra, const char *settings,
                  const char *rules);
/* Messages captured so far; message n (1-based; g_free it). */
int messages(void);
char *message(int n);
void assert_has(const char *text, const char *want);
/* wfs:<wf>|<step> of contact c is want (NULL: absent). */
void assert_status(const char *c, const char *wf, const char *step, const char *want);
/* Entries of pb:wf:log with this step and status; the last one's reason into why. */
int logged(const char *step, const char *status, char *why, size_t len);

#endif
