/*
 * import.c - postbeacon contacts import FILE.csv: the command, the file
 * and libcsv (quoted fields, separators and line breaks inside quotes,
 * CRLF). The file is fed to libcsv one physical line at a time, so every
 * row knows the line it starts on, counting the line breaks inside quoted
 * fields; a UTF-8 byte order mark is skipped; the separator is "," or,
 * when the header line has more ";" than "," outside quotes (German
 * spreadsheet exports), ";" (or --separator). Rows are checked in
 * import_row.c and written in import_write.c.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <csv.h>
#include "import.h"
#include "table.h"

static const struct pb_cli_opts opts = {
    .usage = "contacts import [--welcome] [--separator C] FILE.csv",
    .help = "Adds and updates contacts from a CSV file whose first line names the\n"
            "columns: email, first_name, last_name, birthday (YYYY-MM-DD or --MM-DD),\n"
            "city, country, language, timezone (IANA), tags (\",\"-separated), and any\n"
            "other column as a custom attribute attr:<name>. An empty cell keeps what\n"
            "is stored; tags are added to the contact's tags. Rows that are not valid\n"
            "are reported with their line and skipped; the rest is imported. Exit 1\n"
            "if any row was skipped. FILE \"-\" reads standard input.\n"
            "  --welcome       new contacts' signup entries carry welcome=1 (the\n"
            "                  welcome workflow starts for them)\n"
            "  --separator C   \",\" or \";\" (default: from the header line)\n",
    .shortopts = "s:",
    .longopts = (const struct option[]){ { "welcome", no_argument, NULL, 'w' },
                                         { "separator", required_argument, NULL, 's' },
                                         { NULL, 0, NULL, 0 } },
};

struct reader {
    struct importer *imp;
    GPtrArray *cells;           /* the row being read */
    long line;                  /* the physical line being fed */
    long row_line;              /* where the current row started */
    int between_rows;           /* no byte of the next row fed yet */
    int header_done;
    int failed;                 /* a header or Redis error: stop */
    struct pb_progress progress;        /* by bytes read, on a terminal */
};

static void on_field(void *s, size_t len, void *data)
{
    struct reader *rd = data;

    g_ptr_array_add(rd->cells, g_strndup(s ? s : "", len));
}

static void on_row(int term, void *data)
{
    struct reader *rd = data;
    struct importer *imp = rd->imp;

    rd->between_rows = 1;
    if (rd->failed) {
        g_ptr_array_set_size(rd->cells, 0);
        return;
    }
    if (!rd->header_done) {
        rd->header_done = 1;
        rd->failed = imp_header(imp, rd->cells) != 0;
    } else {
        struct imp_row *row = imp_check_row(imp, rd->row_line, rd->cells);
        imp->n.rows++;
        if (row && imp_write_add(imp, row) != 0)
            rd->failed = 1;
    }
    g_ptr_array_set_size(rd->cells, 0);
}

/* "," or ";": whichever the header line has more of outside quotes. */
static char guess_separator(const char *line)
{
    int comma = 0, semi = 0, quoted = 0;

    for (const char *p = line; *p; p++) {
        if (*p == '"')
            quoted = !quoted;
        else if (!quoted)
            comma += *p == ',', semi += *p == ';';
    }
    return semi > comma ? ';' : ',';
}

static int blank(const char *s, ssize_t n)
{
    return n == 0 || (n == 1 && s[0] == '\n') || (n == 2 && s[0] == '\r' && s[1] == '\n');
}

/* Feed the file line by line; 0, or -1 (reported). */
static int read_csv(struct reader *rd, FILE *fp, char sep)
{
    struct csv_parser p;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int last_nl = 0;

    if (csv_init(&p, 0) != 0) {
        pb_cli_error("out of memory");
        return -1;
    }
    while (!rd->failed && (n = getline(&line, &cap, fp)) >= 0) {
        char *s = line;
        rd->line++;
        last_nl = n > 0 && line[n - 1] == '\n';
        if (rd->line == 1 && n >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
            s += 3, n -= 3;
        if (rd->line == 1 && sep == 0)
            sep = guess_separator(s);
        if (rd->line == 1)
            csv_set_delim(&p, (unsigned char)sep);
        if (rd->between_rows && blank(s, n))
            continue;
        if (rd->between_rows)
            rd->row_line = rd->line, rd->between_rows = 0;
        if ((rd->line & 1023) == 0)
            pb_progress_update(&rd->progress, ftell(fp));
        if (csv_parse(&p, s, (size_t)n, on_field, on_row, rd) != (size_t)n) {
            pb_cli_error("%s:%ld: %s", rd->imp->file, rd->line, csv_strerror(csv_error(&p)));
            rd->failed = 1;
        }
    }
    if (!rd->failed && ferror(fp)) {
        pb_cli_error("%s: read error: %s", rd->imp->file, strerror(errno));
        rd->failed = 1;
    }
    /* a row still open after a final line break is inside quotes that
     * never close: everything from its line on would be one value */
    if (!rd->failed && !rd->between_rows && last_nl && rd->header_done) {
        fprintf(stderr, "%s:%ld: a quoted field opened on this line is never closed (the "
                "row and the %ld line%s after it skipped)\n", rd->imp->file, rd->row_line,
                rd->line - rd->row_line, rd->line - rd->row_line == 1 ? "" : "s");
        rd->imp->n.rows++;
        rd->imp->n.invalid++;
    } else if (!rd->failed) {
        csv_fini(&p, on_field, on_row, rd);
    }
    csv_free(&p);
    free(line);
    return rd->failed ? -1 : 0;
}

static void summary(const struct importer *imp)
{
    const struct imp_counts *n = &imp->n;

    printf("%s: %ld row%s: %ld new, %ld changed, %ld unchanged, %ld skipped as invalid",
           imp->file, n->rows, n->rows == 1 ? "" : "s", n->created, n->changed, n->unchanged,
           n->invalid);
    if (n->suppressed)
        printf(", %ld erased before and kept suppressed", n->suppressed);
    if (n->refused)
        printf(", %ld refused by Redis", n->refused);
    printf("\n");
}

/* The progress bar follows the bytes read (a row count would need a pass first). */
static int run_import(struct importer *imp, FILE *fp, char sep)
{
    struct reader rd = { .imp = imp, .cells = g_ptr_array_new_with_free_func(g_free),
                         .between_rows = 1 };
    struct stat st;
    int rc;

    pb_progress_start(&rd.progress, "importing", fstat(fileno(fp), &st) == 0
                      && S_ISREG(st.st_mode) ? (long)st.st_size : 0);
    rc = imp_write_start(imp);
    if (rc == 0)
        rc = read_csv(&rd, fp, sep);
    pb_progress_end(&rd.progress);
    if (rc == 0 && !rd.header_done) {
        pb_cli_error("%s: empty file (the first line names the columns)", imp->file);
        rc = -1;
    }
    if (rc == 0)
        rc = imp_write_flush(imp);
    g_ptr_array_free(rd.cells, TRUE);
    return rc;
}

static int import_file(struct pb_cli *cli, const char *file, int welcome, char sep)
{
    struct importer imp = { .cli = cli, .file = file, .welcome = welcome };
    FILE *fp = strcmp(file, "-") == 0 ? stdin : fopen(file, "r");
    int rc;

    if (fp == NULL) {
        pb_cli_error("%s: cannot open: %s", file, strerror(errno));
        return PB_EXIT_ERROR;
    }
    if (pb_cli_keys(cli) != 0) {
        if (fp != stdin)
            fclose(fp);
        return PB_EXIT_ERROR;
    }
    imp.zones = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    imp.rows = g_ptr_array_new_with_free_func((GDestroyNotify)imp_row_free);
    imp.in_batch = g_hash_table_new(g_str_hash, g_str_equal);
    rc = run_import(&imp, fp, sep);
    if (rc == 0 || imp.n.rows > 0)
        summary(&imp);
    if (fp != stdin)
        fclose(fp);
    imp_cols_free(imp.cols);
    g_hash_table_destroy(imp.zones);
    g_hash_table_destroy(imp.in_batch);
    g_ptr_array_free(imp.rows, TRUE);
    return rc != 0 || imp.n.invalid || imp.n.refused ? PB_EXIT_ERROR : PB_EXIT_OK;
}

int pb_contacts_import(struct pb_cli *cli, int argc, char **argv)
{
    int help = 0, welcome = 0, c;
    char sep = 0;

    while ((c = pb_cli_getopt(cli, &opts, argc, argv, &help)) != -1) {
        if (c == '?')
            return PB_EXIT_USAGE;
        if (c == 'w')
            welcome = 1;
        else if (pb_cli_separator(&opts, optarg, &sep) != 0)
            return PB_EXIT_USAGE;
    }
    if (help) {
        pb_cli_print_help(&opts, stdout);
        return PB_EXIT_OK;
    }
    if (argc - optind != 1)
        return pb_cli_usage_error(&opts, "give one CSV file");
    return import_file(cli, argv[optind], welcome, sep);
}
