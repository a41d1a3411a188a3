/*
 * import_row.c - the columns of an import file and the checks of each row
 * (import.h). Known columns are the contact fields of docs/scorer.md;
 * any other column is a custom attribute attr:<name> (its header
 * lowercased, spaces and "-" made "_"). Values are checked as a signup's
 * are (lib/contact_attr.c; the address through lib/custom_event.c and so
 * lib/contact.c); a row that fails names its line and reason and is
 * skipped. An empty cell gives nothing: the stored value stays.
 */
#include <string.h>
#include "contact.h"
#include "contact_attr.h"
#include "import.h"

static const struct { const char *name; enum imp_kind kind; } known[] = {
    { "email", IMP_EMAIL }, { "first_name", IMP_TEXT }, { "last_name", IMP_TEXT },
    { "birthday", IMP_BIRTHDAY }, { "city", IMP_TEXT }, { "country", IMP_TEXT },
    { "language", IMP_TEXT }, { "timezone", IMP_TIMEZONE }, { "tags", IMP_TAGS },
    { NULL, IMP_TEXT },
};

void imp_cols_free(GArray *cols)
{
    for (guint i = 0; cols && i < cols->len; i++)
        g_free(g_array_index(cols, struct imp_col, i).field);
    if (cols)
        g_array_free(cols, TRUE);
}

/* A header cell as a field name: trimmed, lowercased, " " and "-" as "_". */
static char *field_of(const char *cell)
{
    char *trimmed = g_strstrip(g_strdup(cell)), *s = g_ascii_strdown(trimmed, -1), *t;

    g_free(trimmed);
    for (t = s; *t; t++)
        if (*t == ' ' || *t == '-')
            *t = '_';
    return s;
}

static int add_column(struct importer *imp, const char *cell, int index)
{
    struct pb_cev_error err;
    struct imp_col col = { NULL, IMP_ATTR };
    char *name = field_of(cell);

    for (int i = 0; known[i].name; i++)
        if (strcmp(name, known[i].name) == 0) {
            col.kind = known[i].kind;
            col.field = g_strdup(name);
        }
    if (col.field == NULL && strncmp(name, "attr:", 5) == 0)
        memmove(name, name + 5, strlen(name + 5) + 1);      /* an export's own column */
    if (col.field == NULL && pb_cev_check_name(name, 1, cell, &err) != 0) {
        pb_cli_error("%s:1: column %d \"%s\": %s (rename the column)", imp->file, index + 1,
                     cell, err.message);
        g_free(name);
        return -1;
    }
    if (col.field == NULL)
        col.field = g_strconcat("attr:", name, NULL);
    g_free(name);
    for (guint i = 0; i < imp->cols->len; i++)
        if (strcmp(g_array_index(imp->cols, struct imp_col, i).field, col.field) == 0) {
            pb_cli_error("%s:1: column \"%s\" twice (columns %u and %d)", imp->file, cell,
                         i + 1, index + 1);
            g_free(col.field);
            return -1;
        }
    if (col.kind == IMP_EMAIL)
        imp->email_col = index;
    g_array_append_val(imp->cols, col);
    return 0;
}

int imp_header(struct importer *imp, GPtrArray *cells)
{
    imp->cols = g_array_new(FALSE, FALSE, sizeof(struct imp_col));
    imp->email_col = -1;
    for (guint i = 0; i < cells->len; i++)
        if (add_column(imp, g_ptr_array_index(cells, i), (int)i) != 0)
            return -1;
    if (imp->email_col < 0) {
        pb_cli_error("%s:1: no \"email\" column (the first line names the columns: email, "
                     "first_name, last_name, birthday, city, country, language, timezone, "
                     "tags, and any other as a custom attribute)", imp->file);
        return -1;
    }
    return 0;
}

void imp_row_free(struct imp_row *row)
{
    if (row) {
        g_ptr_array_free(row->pairs, TRUE);
        g_free(row);
    }
}

static int timezone_known(struct importer *imp, const char *tz)
{
    gpointer v = g_hash_table_lookup(imp->zones, tz);

    if (v == NULL) {
        v = GINT_TO_POINTER(pb_attr_timezone_valid(tz) + 1);
        g_hash_table_insert(imp->zones, g_strdup(tz), v);
    }
    return GPOINTER_TO_INT(v) - 1;
}

/* Tags "a, b,a" as "a,b": trimmed, empty ones and repeats dropped. */
static char *tags_of(const char *cell, const char **why)
{
    char **parts = g_strsplit(cell, ",", -1);
    GPtrArray *seen = g_ptr_array_new();
    GString *out = g_string_new(NULL);

    *why = NULL;
    for (int i = 0; parts[i]; i++) {
        char *t = g_strstrip(parts[i]);
        if (*t == '\0' || g_ptr_array_find_with_equal_func(seen, t, g_str_equal, NULL))
            continue;
        if (!pb_attr_text_valid(t, strlen(t), PB_ATTR_TAG_MAX)) {
            *why = "a tag is 1 to 64 bytes without control characters";
            break;
        }
        g_ptr_array_add(seen, t);
        g_string_append_printf(out, "%s%s", out->len ? "," : "", t);
    }
    g_ptr_array_free(seen, TRUE);
    g_strfreev(parts);
    return g_string_free(out, FALSE);
}

/* A custom attribute's value may span lines (a quoted cell with line
 * breaks, CRLF kept as LF); other controls are refused. */
static int attr_value_ok(char *v)
{
    char *w = v;

    for (char *p = v; *p; p++) {
        if (*p == '\r' && p[1] == '\n')
            continue;
        if (((unsigned char)*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7f)
            return 0;
        *w++ = *p;
    }
    *w = '\0';
    return w > v && (size_t)(w - v) <= PB_CEV_VALUE_MAX;
}

/* Why value (of col) is not good, or NULL; *out gets what to store. */
static const char *check_value(struct importer *imp, const struct imp_col *col, char *value,
                               char **out)
{
    const char *why = NULL;

    *out = NULL;
    switch (col->kind) {
    case IMP_BIRTHDAY:
        if (!pb_attr_birthday_valid(value))
            return "not a date YYYY-MM-DD or --MM-DD";
        break;
    case IMP_TIMEZONE:
        if (!timezone_known(imp, value))
            return "not an IANA time zone this system knows (e.g. Europe/Berlin)";
        break;
    case IMP_TAGS:
        *out = tags_of(value, &why);
        if (why)
            g_clear_pointer(out, g_free);
        return why;
    case IMP_ATTR:
        if (!attr_value_ok(value))
            return "a custom attribute of at most 4096 bytes without control characters";
        break;
    default:
        if (!pb_attr_text_valid(value, strlen(value), PB_ATTR_TEXT_MAX))
            return "a text of at most 256 bytes without control characters or line breaks";
    }
    *out = g_strdup(value);
    return NULL;
}

/* A value for a message: line breaks and other controls written as \n, \x01. */
static char *shown_value(const char *v)
{
    GString *o = g_string_new(NULL);

    for (const char *p = v; *p; p++)
        if (*p == '\n' || *p == '\r' || *p == '\t')
            g_string_append(o, *p == '\n' ? "\\n" : *p == '\r' ? "\\r" : "\\t");
        else if ((unsigned char)*p < 0x20 || *p == 0x7f)
            g_string_append_printf(o, "\\x%02x", (unsigned char)*p);
        else
            g_string_append_c(o, *p);
    return g_string_free(o, FALSE);
}

static struct imp_row *refuse(struct importer *imp, struct imp_row *row, long line,
                              const char *field, const char *value, const char *why)
{
    char *shown = value ? shown_value(value) : NULL;

    fprintf(stderr, "%s:%ld: %s%s%s%s%s%s (row skipped)\n", imp->file, line,
            field ? field : "", shown ? " \"" : "", shown ? shown : "", shown ? "\"" : "",
            field ? ": " : "", why);
    g_free(shown);
    imp->n.invalid++;
    imp_row_free(row);
    return NULL;
}

static int set_address(struct importer *imp, struct imp_row *row, const char *cell,
                       struct pb_cev_error *err)
{
    struct pb_custom_event ev;
    struct pb_cev_ctx ctx = { .keys = &imp->cli->keys };
    int rc;

    pb_custom_event_init(&ev);
    rc = pb_cev_set_email(&ev, &ctx, cell, "email", err);
    if (rc == 0) {
        memcpy(row->email, ev.email, sizeof(row->email));
        memcpy(row->contact, ev.contact, sizeof(row->contact));
        pb_contact_erased_id(&imp->cli->keys, ev.email, row->erased);
    }
    pb_custom_event_clear(&ev);
    return rc;
}

struct imp_row *imp_check_row(struct importer *imp, long line, GPtrArray *cells)
{
    struct imp_row *row = g_new0(struct imp_row, 1);
    struct pb_cev_error err;

    row->line = line;
    row->pairs = g_ptr_array_new_with_free_func(g_free);
    if (cells->len > imp->cols->len)
        return refuse(imp, row, line, NULL, NULL, "more fields than the header has columns "
                      "(a separator inside a value that is not in quotes?)");
    if ((guint)imp->email_col >= cells->len
        || set_address(imp, row, g_ptr_array_index(cells, imp->email_col), &err) != 0)
        return refuse(imp, row, line, "email", (guint)imp->email_col >= cells->len ? NULL
                      : g_ptr_array_index(cells, imp->email_col),
                      (guint)imp->email_col >= cells->len ? "missing" : err.message);
    for (guint i = 0; i < cells->len; i++) {
        const struct imp_col *col = &g_array_index(imp->cols, struct imp_col, i);
        char *value = g_ptr_array_index(cells, i), *out;
        const char *why;
        if (col->kind == IMP_EMAIL || *value == '\0')
            continue;
        if (!g_utf8_validate(value, -1, NULL))
            return refuse(imp, row, line, col->field, NULL, "not UTF-8 (a spreadsheet's "
                          "\"CSV\" may be Windows-1252: save as \"CSV UTF-8\", or convert "
                          "with iconv -f cp1252 -t utf-8)");
        if (col->kind != IMP_ATTR)
            g_strstrip(value);
        if (*value == '\0')
            continue;
        if ((why = check_value(imp, col, value, &out)) != NULL)
            return refuse(imp, row, line, col->field, value, why);
        if (*out == '\0') {
            g_free(out);
            continue;
        }
        g_ptr_array_add(row->pairs, g_strdup(col->field));
        g_ptr_array_add(row->pairs, out);
    }
    return row;
}
