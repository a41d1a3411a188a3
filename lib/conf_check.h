/*
 * conf_check.h - the value checkers of postbeacon.conf settings
 * (conf_check.c), for the settings table (conf_schema.c): each is a
 * pb_conf_check_fn, 0 if the value is fine (perhaps normalised in place),
 * else -1 with what is wrong and the fix in why.
 */
#ifndef PB_CONF_CHECK_H
#define PB_CONF_CHECK_H

#include <stddef.h>

int pb_cc_base_url(char *value, char *why, size_t whylen);
int pb_cc_facility(char *value, char *why, size_t whylen);
int pb_cc_nonempty(char *value, char *why, size_t whylen);
int pb_cc_word(char *value, char *why, size_t whylen);
int pb_cc_timezone(char *value, char *why, size_t whylen);
int pb_cc_abs_path(char *value, char *why, size_t whylen);
int pb_cc_milter_socket(char *value, char *why, size_t whylen);
int pb_cc_header_name(char *value, char *why, size_t whylen);
int pb_cc_attribute_name(char *value, char *why, size_t whylen);
int pb_cc_campaign(char *value, char *why, size_t whylen);
int pb_cc_domain(char *value, char *why, size_t whylen);
int pb_cc_sender(char *value, char *why, size_t whylen);
int pb_cc_mailto(char *value, char *why, size_t whylen);
int pb_cc_listen(char *value, char *why, size_t whylen);
int pb_cc_cidr(char *value, char *why, size_t whylen);
int pb_cc_language(char *value, char *why, size_t whylen);
int pb_cc_command(char *value, char *why, size_t whylen);
int pb_cc_smtp_server(char *value, char *why, size_t whylen);
int pb_cc_mailbox(char *value, char *why, size_t whylen);
int pb_cc_report_language(char *value, char *why, size_t whylen);
int pb_cc_segment_name(char *value, char *why, size_t whylen);

#endif
