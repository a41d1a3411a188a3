/*
 * table.h - the one way `postbeacon` prints what it found: a table of
 * named columns, as plain aligned text, CSV (--csv) or a JSON array of
 * objects (--json); single records and nested data as JSON; CSV fields
 * quoted where they must be (also for contacts export); or row by row
 * for tables too big to hold (pb_rows).
 */
#ifndef PB_CLI_TABLE_H
#define PB_CLI_TABLE_H

#include <stdio.h>
#include <jansson.h>
#include "cli.h"

struct pb_table;

/* A table with ncols columns named by cols (copied). */
struct pb_table *pb_table_new(int ncols, const char *const *cols);
/* One row of ncols cells (copied; NULL prints as empty / JSON null). */
void pb_table_add(struct pb_table *t, const char *const *cells);
/* Column col (0-based, < 64) is aligned right in text (numbers). */
void pb_table_align_right(struct pb_table *t, int col);
/* Print in format to fp. */
void pb_table_print(const struct pb_table *t, enum pb_out_format format, FILE *fp);
void pb_table_free(struct pb_table *t);
/* The rows as a JSON array of objects (column name -> text or null). */
json_t *pb_table_json(const struct pb_table *t);

/* A table printed row by row as the rows are read, none kept (a
 * segment's million members): text with each column but the last padded
 * to widths[i] characters (or its name's), CSV with separator sep, JSON
 * an array of objects, one a line. Fill in the first five, then start. */
struct pb_rows {
    FILE *fp;
    enum pb_out_format format;
    int ncols;
    const char *const *cols;
    const int *widths;          /* text: width of each column, may be NULL */
    char sep;                   /* CSV: ',' or ';' (0 = ',') */
    long count;                 /* rows added */
};
void pb_rows_start(struct pb_rows *r);
void pb_rows_add(struct pb_rows *r, const char *const *cells);
void pb_rows_end(struct pb_rows *r);

/* One CSV field: as it is, or in double quotes (quotes doubled) when it
 * has the separator, a quote, CR or LF, or spaces at either end. */
void pb_csv_field(FILE *fp, const char *s, char sep);

/* v as indented JSON text and a newline on fp; v is released. */
void pb_json_print(json_t *v, FILE *fp);

/* A progress bar on stderr, only when stderr is a terminal. */
struct pb_progress {
    int on;
    long total, shown;
    const char *what;
};
void pb_progress_start(struct pb_progress *p, const char *what, long total);
void pb_progress_update(struct pb_progress *p, long done);
void pb_progress_end(struct pb_progress *p);

#endif
