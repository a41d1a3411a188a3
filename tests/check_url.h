/*
 * check_url.h - the suites of the check_url test program: URLs and UTM
 * (check_url.c, which has main) and link tracking (check_link.c).
 */
#ifndef PB_CHECK_URL_H
#define PB_CHECK_URL_H

#include <check.h>

Suite *link_suite(void);

#endif
