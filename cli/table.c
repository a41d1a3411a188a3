/*
 * table.c - tables, CSV fields, JSON and the progress bar (table.h): how
 * every subcommand prints. Plain text aligns columns by characters, not
 * bytes (names are UTF-8), so "Köln" lines up under "Bonn".
 */
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include "table.h"

struct pb_table {
    int ncols;
    GPtrArray *cols;            /* char * */
    GPtrArray *rows;            /* char ** of ncols (NULL cells allowed) */
    guint64 right;              /* bit i: column i is aligned right in text (numbers) */
};

struct pb_table *pb_table_new(int ncols, const char *const *cols)
{
    struct pb_table *t = g_new0(struct pb_table, 1);

    t->ncols = ncols;
    t->cols = g_ptr_array_new_with_free_func(g_free);
    t->rows = g_ptr_array_new();
    for (int i = 0; i < ncols; i++)
        g_ptr_array_add(t->cols, g_strdup(cols[i]));
    return t;
}

void pb_table_add(struct pb_table *t, const char *const *cells)
{
    char **row = g_new0(char *, t->ncols);

    for (int i = 0; i < t->ncols; i++)
        row[i] = g_strdup(cells[i]);
    g_ptr_array_add(t->rows, row);
}

void pb_table_align_right(struct pb_table *t, int col)
{
    if (col >= 0 && col < 64)
        t->right |= (guint64)1 << col;
}

void pb_table_free(struct pb_table *t)
{
    for (guint r = 0; r < t->rows->len; r++) {
        char **row = g_ptr_array_index(t->rows, r);
        for (int i = 0; i < t->ncols; i++)
            g_free(row[i]);
        g_free(row);
    }
    g_ptr_array_free(t->rows, TRUE);
    g_ptr_array_free(t->cols, TRUE);
    g_free(t);
}

static long width_of(const char *s)
{
    return s ? (long)g_utf8_strlen(s, -1) : 0;
}

static void print_text(const struct pb_table *t, FILE *fp)
{
    long *w = g_new0(long, t->ncols);

    for (int i = 0; i < t->ncols; i++)
        w[i] = width_of(g_ptr_array_index(t->cols, i));
    for (guint r = 0; r < t->rows->len; r++)
        for (int i = 0; i < t->ncols; i++)
            w[i] = MAX(w[i], width_of(((char **)g_ptr_array_index(t->rows, r))[i]));
    for (guint r = 0; r <= t->rows->len; r++) {
        char **row = r == 0 ? (char **)t->cols->pdata : g_ptr_array_index(t->rows, r - 1);
        for (int i = 0; i < t->ncols; i++) {
            const char *s = row[i] ? row[i] : "";
            int pad = (int)(w[i] - width_of(s));
            if (i < 64 && (t->right >> i & 1))
                fprintf(fp, "%*s%s%s", pad, "", s, i == t->ncols - 1 ? "\n" : "  ");
            else if (i == t->ncols - 1)
                fprintf(fp, "%s\n", s);
            else
                fprintf(fp, "%s%*s  ", s, pad, "");
        }
    }
    g_free(w);
}

void pb_csv_field(FILE *fp, const char *s, char sep)
{
    size_t n = s ? strlen(s) : 0;

    if (n > 0 && (strchr(s, sep) || strpbrk(s, "\"\r\n") || s[0] == ' ' || s[n - 1] == ' ')) {
        fputc('"', fp);
        for (const char *p = s; *p; p++) {
            if (*p == '"')
                fputc('"', fp);
            fputc(*p, fp);
        }
        fputc('"', fp);
    } else if (n > 0) {
        fputs(s, fp);
    }
}

static void csv_row(FILE *fp, const char *const *cells, int ncols, char sep)
{
    for (int i = 0; i < ncols; i++) {
        if (i > 0)
            fputc(sep, fp);
        pb_csv_field(fp, cells[i], sep);
    }
    fputs("\r\n", fp);                  /* RFC 4180 */
}

static void print_csv(const struct pb_table *t, FILE *fp)
{
    csv_row(fp, (const char *const *)t->cols->pdata, t->ncols, ',');
    for (guint r = 0; r < t->rows->len; r++)
        csv_row(fp, g_ptr_array_index(t->rows, r), t->ncols, ',');
}

void pb_json_print(json_t *v, FILE *fp)
{
    json_dumpf(v, fp, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputc('\n', fp);
    json_decref(v);
}

static json_t *row_json(const char *const *cols, const char *const *cells, int ncols)
{
    json_t *obj = json_object();

    for (int i = 0; i < ncols; i++)
        json_object_set_new(obj, cols[i], cells[i] ? json_string(cells[i]) : json_null());
    return obj;
}

json_t *pb_table_json(const struct pb_table *t)
{
    json_t *arr = json_array();

    for (guint r = 0; r < t->rows->len; r++)
        json_array_append_new(arr, row_json((const char *const *)t->cols->pdata,
                                            g_ptr_array_index(t->rows, r), t->ncols));
    return arr;
}

void pb_table_print(const struct pb_table *t, enum pb_out_format format, FILE *fp)
{
    if (format == PB_OUT_JSON)
        pb_json_print(pb_table_json(t), fp);
    else if (format == PB_OUT_CSV)
        print_csv(t, fp);
    else
        print_text(t, fp);
}

/* ---- row by row ------------------------------------------------------------ */

static void text_row(const struct pb_rows *r, const char *const *cells)
{
    for (int i = 0; i < r->ncols; i++) {
        const char *s = cells[i] ? cells[i] : "";
        long w = MAX(width_of(r->cols[i]), r->widths ? r->widths[i] : 0);
        if (i == r->ncols - 1)
            fprintf(r->fp, "%s\n", s);
        else
            fprintf(r->fp, "%s%*s  ", s, (int)MAX(w - width_of(s), 0), "");
    }
}

void pb_rows_start(struct pb_rows *r)
{
    r->count = 0;
    if (r->format == PB_OUT_JSON)
        fputc('[', r->fp);
    else if (r->format == PB_OUT_CSV)
        csv_row(r->fp, r->cols, r->ncols, r->sep ? r->sep : ',');
    else
        text_row(r, r->cols);
}

void pb_rows_add(struct pb_rows *r, const char *const *cells)
{
    if (r->format == PB_OUT_JSON) {
        json_t *obj = row_json(r->cols, cells, r->ncols);
        fputs(r->count ? ",\n  " : "\n  ", r->fp);
        json_dumpf(obj, r->fp, JSON_PRESERVE_ORDER);
        json_decref(obj);
    } else if (r->format == PB_OUT_CSV) {
        csv_row(r->fp, cells, r->ncols, r->sep ? r->sep : ',');
    } else {
        text_row(r, cells);
    }
    r->count++;
}

void pb_rows_end(struct pb_rows *r)
{
    if (r->format == PB_OUT_JSON)
        fputs(r->count ? "\n]\n" : "]\n", r->fp);
}

/* ---- progress ---------------------------------------------------------------- */

#define BAR 30

void pb_progress_start(struct pb_progress *p, const char *what, long total)
{
    p->on = isatty(STDERR_FILENO) && total > 0;
    p->total = total;
    p->shown = -1;
    p->what = what;
}

void pb_progress_update(struct pb_progress *p, long done)
{
    long pct;
    char bar[BAR + 1];

    if (!p->on)
        return;
    pct = done >= p->total ? 100 : done * 100 / p->total;
    if (pct == p->shown)
        return;
    p->shown = pct;
    for (int i = 0; i < BAR; i++)
        bar[i] = i < pct * BAR / 100 ? '#' : '.';
    bar[BAR] = '\0';
    fprintf(stderr, "\r%s [%s] %3ld%%", p->what, bar, pct);
    fflush(stderr);
}

void pb_progress_end(struct pb_progress *p)
{
    if (p->on && p->shown >= 0)
        fputs("\r\033[K", stderr);
    p->on = 0;
}
