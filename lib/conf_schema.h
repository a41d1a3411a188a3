/*
 * conf_schema.h - the table that describes every postbeacon.conf setting.
 *
 * conf_schema.c lists each section and setting: its type, where its value
 * goes in struct pb_conf, the allowed words or range, and the help text
 * that error messages quote. conf.c walks the parsed file against this
 * table, so adding a setting means adding one row (plus the struct field
 * and its default in pb_conf_defaults).
 */
#ifndef PB_CONF_SCHEMA_H
#define PB_CONF_SCHEMA_H

#include <stddef.h>

enum pb_conf_type {
    PB_CT_STRING,               /* char * (strdup'd) */
    PB_CT_INT,                  /* int, within [min, max] */
    PB_CT_BOOL,                 /* int 0/1 from true/false */
    PB_CT_ENUM,                 /* int from one of `words` */
    PB_CT_LIST,                 /* struct pb_strlist from an array of strings */
    PB_CT_MODE,                 /* int file mode: "0660", or 0660 read as octal */
    PB_CT_SIZE,                 /* size_t bytes: integer or "512K", "10M", "1G" */
    PB_CT_LONG,                 /* long, within [min, max] */
    PB_CT_EXTERNAL              /* a list ( ... ) read and checked by the program that
                                 * owns it (scorer.rules: scorer/rules.c); no field */
};

/* Flags for string settings and list items. */
#define PB_CF_EMPTY_NULL 0x01   /* "" means unset: stored as NULL */
#define PB_CF_REQUIRED   0x02   /* must be present in the file */
#define PB_CF_GROUP      0x04   /* PB_CT_EXTERNAL: a group { ... }, not a list */

struct pb_conf_word {
    const char *word;
    int value;
};

/* Checks (and may normalise in place, only ever shortening) one string
 * value or list item; 0 if fine, else -1 with why/how to fix in `why`. */
typedef int (*pb_conf_check_fn)(char *value, char *why, size_t whylen);

struct pb_conf_setting {
    const char *name;
    enum pb_conf_type type;
    size_t offset;              /* offsetof(struct pb_conf, ...) */
    int flags;
    const struct pb_conf_word *words;   /* PB_CT_ENUM; ends with word NULL */
    long long min, max;         /* PB_CT_INT, PB_CT_LONG, PB_CT_MODE, PB_CT_SIZE */
    pb_conf_check_fn check;     /* PB_CT_STRING and PB_CT_LIST items, or NULL */
    const char *help;           /* a valid value, e.g. "a TCP port such as 6379" */
};

struct pb_conf_section {
    const char *name;
    const struct pb_conf_setting *settings;     /* ends with name NULL */
    int reserved;               /* accepted but not read yet (tracker, scorer) */
    const char *help;
};

/* NULL-terminated table of all sections. */
extern const struct pb_conf_section pb_conf_sections[];

const struct pb_conf_section *pb_conf_schema_section(const char *name);
const struct pb_conf_setting *pb_conf_schema_setting(const struct pb_conf_section *sec,
                                                     const char *name);

#endif
