/*
 * import.h - what the three parts of `postbeacon contacts import` share:
 * import.c (the command, the file, libcsv and physical line numbers),
 * import_row.c (the header's columns, a row checked into a contact's
 * fields) and import_write.c (rows compared with Redis and the changes
 * written as signup/profile events, pipelined).
 */
#ifndef PB_CLI_IMPORT_H
#define PB_CLI_IMPORT_H

#include <glib.h>
#include "cli.h"
#include "custom_event.h"
#include "events.h"

enum imp_kind { IMP_EMAIL, IMP_TEXT, IMP_BIRTHDAY, IMP_TIMEZONE, IMP_TAGS, IMP_ATTR };

struct imp_col {
    char *field;                /* the contact hash's field: "city", "attr:plan" */
    enum imp_kind kind;
};

/* A checked row: the contact and the fields it gives (empty cells left out). */
struct imp_row {
    long line;                  /* physical line of the file where the row starts */
    char email[PB_CEV_EMAIL_MAX + 1];
    char contact[17];
    char erased[33];            /* pb_contact_erased_id of the address */
    GPtrArray *pairs;           /* field, value, field, value ... (g_free'd) */
};

struct imp_counts {
    long rows, created, changed, unchanged, invalid, suppressed, refused;
};

struct importer {
    struct pb_cli *cli;
    const char *file;
    int welcome;                /* --welcome: new contacts' entries say so */
    GArray *cols;               /* struct imp_col, from the header */
    int email_col;
    GHashTable *zones;          /* time zone name -> GINT_TO_POINTER(valid + 1) */
    GPtrArray *rows;            /* struct imp_row * of the batch being filled */
    GHashTable *in_batch;       /* contact ids of rows */
    struct pb_track_run run;
    struct imp_counts n;
    char sha[41];
};

/* The header row: columns into imp->cols. -1 with the problem reported. */
int imp_header(struct importer *imp, GPtrArray *cells);
/* A data row: a new struct imp_row, or NULL with why (line and reason)
 * reported and counted. */
struct imp_row *imp_check_row(struct importer *imp, long line, GPtrArray *cells);
void imp_row_free(struct imp_row *row);
void imp_cols_free(GArray *cols);

/* Start (load the script), add a row (the batch is written when full),
 * finish (write what is left). -1 after a Redis error (reported). */
int imp_write_start(struct importer *imp);
int imp_write_add(struct importer *imp, struct imp_row *row);
int imp_write_flush(struct importer *imp);

#define IMP_BATCH 1000          /* rows compared with Redis in one round trip */

#endif
