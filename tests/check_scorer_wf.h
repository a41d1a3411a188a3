/*
 * check_scorer_wf.h - the helpers of the workflow tests
 * (check_scorer_wf.c), shared by check_scorer_workflows.c,
 * check_scorer_variants.c and
 * check_scorer_triggers.c: follow-ups are submitted through
 * tests/lib/capture-submit.sh into the folder outdir (1.eml, 2.eml, ...).
 */
#ifndef PB_CHECK_SCORER_WF_H
#define PB_CHECK_SCORER_WF_H

#include <stddef.h>
#include "check_scorer.h"

#define HOUR_MS 3600000LL
#define CAPTURE TESTS_DIR "/lib/capture-submit.sh"
/* the rules and segments every workflow test has: 80 points a click, -80
 * a refund, mql at 50 */
#define CLICK80 "{ name = \"click\"; event = \"click\"; points = 80; }, " \
    "{ name = \"refund\"; event = \"refund\"; points = -80; class = \"any\"; }"
#define SEGS "half_life_days = 0; segments = ( { name = \"mql\"; behaviour_at_least = 50; } );"

extern char outdir[300];

/* The configuration with submission into outdir exiting status (and
 * submit_extra inside submit = { }), the shipped templates, the scorer
 * settings and rules; loaded as load_scorer_with does. */
void load_wf_with(const char *status, const char *submit_extra, const char *settings,
                  const char *rules);
/* The configuration (SEGS, settings, CLICK80; the shipped templates) with
 * submission into outdir, the command exiting status ("0", "75", ...). */
void load_wf(const char *status, const char *settings);
/* pb:contact:<c> with email and first_name. */
void contact(const char *c, const char *email, const char *first);
/* load_wf(status, settings) and contacts c1..cn: Anna, Ben, Cleo, Dan. */
void load_with(const char *status, const char *settings, int n);
/* The clock at now, and a scorer that processes everything due. */
void run_at(long long now);
/* The messages captured so far; message n's text (g_free it). */
int messages(void);
char *message(int n);
void assert_has(const char *text, const char *want);
/* Message n has each of the NULL-terminated lines. */
void assert_message(int n, const char *const *want);
#define MESSAGE(n, ...) assert_message(n, (const char *const[]){ __VA_ARGS__, NULL })
/* wfs:<wf>|<step> of contact c is want (NULL: absent). */
void assert_status(const char *c, const char *wf, const char *step, const char *want);
/* Entries of pb:wf:log with this step and status; the last one's reason into why. */
int logged(const char *step, const char *status, char *why, size_t len);
/* An event of type for contact c at ts (campaign "shop"). */
void event(const char *type, const char *c, long long ts);
/* The entries not yet read, read by consumer "a" and run twice by one
 * scorer: the second run finds each done before (a duplicate). */
void batch_twice(void);

#endif
