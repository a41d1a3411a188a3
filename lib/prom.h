/*
 * prom.h - the Prometheus text exposition format (version 0.0.4) that the
 * daemons' GET /metrics answer in: the # HELP and # TYPE lines of each
 * metric and its samples, with help text and label values escaped as the
 * format requires (backslash, double quote in labels, newline). Used by
 * the tracker (tracker/metrics.c) and the scorer (scorer/metrics.c).
 */
#ifndef PB_LIB_PROM_H
#define PB_LIB_PROM_H

#include <glib.h>

/* "# HELP name help\n# TYPE name type\n"; type "counter" or "gauge". */
void pb_prom_header(GString *out, const char *name, const char *type, const char *help);

/* A label value as it goes between the double quotes. */
void pb_prom_label_value(GString *out, const char *s);

/* One sample: name{k1="v1",k2="v2"} v. labels: NULL, or name, value, ...,
 * NULL (values escaped). */
void pb_prom_sample(GString *out, const char *name, const char *const *labels,
                    unsigned long long v);
void pb_prom_sample_signed(GString *out, const char *name, const char *const *labels,
                           long long v);

/* A metric of one sample without labels: its header, then the sample. */
void pb_prom_counter(GString *out, const char *name, const char *help, unsigned long long v);
void pb_prom_gauge(GString *out, const char *name, const char *help, long long v);

#endif
