/*
 * check_conf.h - shared by the configuration tests: check_conf.c (the
 * file, the milter's settings) and check_conf_tracker.c (the tracker's);
 * helpers in check_conf_util.c.
 */
#ifndef PB_CHECK_CONF_H
#define PB_CHECK_CONF_H

#include <check.h>
#include <stddef.h>
#include "conf.h"

/* The last loader message. */
extern char conf_err[1024];

/* Write `text` to a temporary file; path in a static buffer. */
const char *temp_conf(const char *text);
void remove_conf(const char *path);
/* Load the file at path (relative to tests/) into conf, or fail the test
 * with the loader's message. */
void load_fixture(const char *path, struct pb_conf *conf);
/* Load a base_url line plus `section_text`; 0 or -1, conf_err set. */
int load_text(const char *section_text, struct pb_conf *conf);

/* A section text the loader must refuse, and a part of its message. */
struct reject {
    const char *text, *message;
};
/* Each case is refused, its message names line 2 (the section's line in
 * load_text's file) and holds the expected part. */
void assert_rejected(const struct reject *cases, size_t n);

/* The tracker section's tests (check_conf_tracker.c). */
TCase *tracker_conf_tcase(void);
/* The submit and templates sections' tests (check_conf_submit.c). */
TCase *submit_conf_tcase(void);

#endif
