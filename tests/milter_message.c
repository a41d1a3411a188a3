/*
 * milter_message.c - the message side of tests/milter-client (see
 * milter_message.h): parsing the input file the way an MTA presents a
 * message to a milter, applying header and body modifications the way
 * Postfix does, and writing the result.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <libmilter/mfapi.h>
#include <libmilter/mfdef.h>
#include "milter_message.h"

void *mc_xrealloc(void *p, size_t n)
{
    if ((p = realloc(p, n ? n : 1)) == NULL) {
        perror("milter-client");
        exit(1);
    }
    return p;
}

static char *xstrndup(const char *s, size_t n)
{
    char *p = mc_xrealloc(NULL, n + 1);

    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

unsigned long mc_get_u32(const char *p)
{
    uint32_t v;

    memcpy(&v, p, 4);
    return ntohl(v);
}

char *mc_read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    char *buf;
    long n;

    if (fp == NULL || fseek(fp, 0, SEEK_END) != 0 || (n = ftell(fp)) < 0) {
        if (fp)
            fclose(fp);
        return NULL;
    }
    rewind(fp);
    buf = mc_xrealloc(NULL, (size_t)n + 1);
    *len = fread(buf, 1, (size_t)n, fp);
    buf[*len] = '\0';
    fclose(fp);
    return buf;
}

/* ---- headers and body --------------------------------------------------- */

/* Insert a header at pos (0 = top), taking over name and value. */
static void insert_header(struct mc_message *m, size_t pos, char *name, char *value)
{
    m->hdrs = mc_xrealloc(m->hdrs, (m->nhdrs + 1) * sizeof(*m->hdrs));
    if (pos > m->nhdrs)
        pos = m->nhdrs;
    memmove(m->hdrs + pos + 1, m->hdrs + pos, (m->nhdrs - pos) * sizeof(*m->hdrs));
    m->hdrs[pos].name = name;
    m->hdrs[pos].value = value;
    m->nhdrs++;
}

static void add_header(struct mc_message *m, size_t pos, const char *name, const char *value)
{
    insert_header(m, pos, xstrndup(name, strlen(name)), xstrndup(value, strlen(value)));
}

/* The idx-th (1-based) header called name: changed, or deleted if value is "". */
static void change_header(struct mc_message *m, unsigned long idx, const char *name,
                          const char *value)
{
    unsigned long seen = 0;

    for (size_t i = 0; i < m->nhdrs; i++) {
        if (strcasecmp(m->hdrs[i].name, name) != 0 || ++seen != idx)
            continue;
        free(m->hdrs[i].value);
        if (value[0] == '\0') {
            free(m->hdrs[i].name);
            memmove(m->hdrs + i, m->hdrs + i + 1, (m->nhdrs - i - 1) * sizeof(*m->hdrs));
            m->nhdrs--;
        } else {
            m->hdrs[i].value = xstrndup(value, strlen(value));
        }
        return;
    }
    if (value[0] != '\0')       /* Postfix and sendmail add a missing one */
        add_header(m, m->nhdrs, name, value);
}

static void replace_body(struct mc_message *m, const char *data, size_t len)
{
    if (m->newbody_len + len > m->newbody_cap) {
        m->newbody_cap = (m->newbody_len + len) * 2;
        m->newbody = mc_xrealloc(m->newbody, m->newbody_cap);
    }
    memcpy(m->newbody + m->newbody_len, data, len);
    m->newbody_len += len;
    m->replaced = 1;
    m->replchunks++;
    if (len > m->replmax)
        m->replmax = len;
}

/* SMFIR_INSHEADER / SMFIR_CHGHEADER: index, name, value. */
static int indexed_header(struct mc_message *m, char cmd, const char *data, size_t len)
{
    const char *name = data + 4, *value;
    unsigned long idx;

    if (len < 6 || memchr(name, '\0', len - 4) == NULL)
        return -1;
    idx = mc_get_u32(data);
    value = name + strlen(name) + 1;
    if (cmd == SMFIR_INSHEADER) {
        printf("insheader %lu %s:%s\n", idx, name, value);
        add_header(m, idx, name, value);
    } else if (value[0] == '\0') {
        printf("delheader %s %lu\n", name, idx);
        change_header(m, idx, name, value);
    } else {
        printf("chgheader %s %lu:%s\n", name, idx, value);
        change_header(m, idx, name, value);
    }
    return 0;
}

/* The SMFIF_* action a modification needs; 0 if cmd is none. */
static unsigned long action_of(char cmd)
{
    switch (cmd) {
    case SMFIR_ADDHEADER: return SMFIF_ADDHDRS;
    case SMFIR_INSHEADER: return SMFIF_ADDHDRS;
    case SMFIR_CHGHEADER: return SMFIF_CHGHDRS;
    case SMFIR_REPLBODY: return SMFIF_CHGBODY;
    case SMFIR_ADDRCPT: return SMFIF_ADDRCPT;
    case SMFIR_DELRCPT: return SMFIF_DELRCPT;
    case SMFIR_ADDRCPT_PAR: return SMFIF_ADDRCPT_PAR;
    case SMFIR_CHGFROM: return SMFIF_CHGFROM;
    case SMFIR_QUARANTINE: return SMFIF_QUARANTINE;
    default: return 0;
    }
}

int mc_message_apply(struct mc_message *m, char cmd, const char *data, size_t len)
{
    unsigned long needed = action_of(cmd);

    if (needed != 0 && !(m->actions & needed)) {
        printf("unnegotiated action %c\n", cmd);
        return -1;
    }
    switch (cmd) {
    case SMFIR_ADDHEADER:
        if (memchr(data, '\0', len) == NULL)
            return -1;
        printf("addheader %s:%s\n", data, data + strlen(data) + 1);
        add_header(m, m->nhdrs, data, data + strlen(data) + 1);
        return 0;
    case SMFIR_INSHEADER:
    case SMFIR_CHGHEADER:
        return indexed_header(m, cmd, data, len);
    case SMFIR_REPLBODY:
        replace_body(m, data, len);
        return 0;
    case SMFIR_ADDRCPT: case SMFIR_DELRCPT: case SMFIR_ADDRCPT_PAR:
    case SMFIR_CHGFROM: case SMFIR_QUARANTINE: case SMFIR_SETSYMLIST:
        printf("action %c %s\n", cmd, data);
        return 0;
    default:
        return 1;
    }
}

/* ---- reading and writing ---------------------------------------------------- */

/* One header starting at p: its name and value; returns where the next
 * line starts, or NULL if p is not a header line. */
static const char *parse_header(struct mc_message *m, const char *p, const char *end)
{
    const char *line_end = p, *colon;
    char *value;
    size_t vlen = 0;

    for (;;) {                  /* a header runs until a line not starting with SP/TAB */
        line_end = memchr(line_end, '\n', (size_t)(end - line_end));
        line_end = line_end ? line_end + 1 : end;
        if (line_end >= end || (*line_end != ' ' && *line_end != '\t'))
            break;
    }
    colon = memchr(p, ':', (size_t)(line_end - p));
    if (colon == NULL)
        return NULL;
    value = mc_xrealloc(NULL, (size_t)(line_end - colon));
    for (const char *q = colon + 1; q < line_end; q++)
        if (*q != '\r')         /* folds go to the milter as bare LF */
            value[vlen++] = *q;
    while (vlen > 0 && value[vlen - 1] == '\n')
        vlen--;
    value[vlen] = '\0';
    if (!m->leadspc)            /* without HDR_LEADSPC the MTA strips it */
        memmove(value, value + strspn(value, " \t"), strlen(value + strspn(value, " \t")) + 1);
    insert_header(m, m->nhdrs, xstrndup(p, (size_t)(colon - p)), value);
    return line_end;
}

void mc_message_parse(struct mc_message *m, const char *text, size_t len, int leadspc)
{
    const char *p = text, *end = text + len, *next;

    m->leadspc = leadspc;
    while (p < end && *p != '\r' && *p != '\n' && (next = parse_header(m, p, end)) != NULL)
        p = next;
    if (p < end && *p == '\r')
        p++;
    if (p < end && *p == '\n')
        p++;
    m->body = mc_xrealloc(NULL, 2 * (size_t)(end - p) + 1);
    for (m->body_len = 0; p < end; p++) {
        if (*p == '\n' && (m->body_len == 0 || m->body[m->body_len - 1] != '\r'))
            m->body[m->body_len++] = '\r';
        m->body[m->body_len++] = *p;
    }
}

static void put_crlf(FILE *out, const char *s)
{
    for (char prev = '\0'; *s; prev = *s++) {
        if (*s == '\n' && prev != '\r')
            fputc('\r', out);
        fputc(*s, out);
    }
}

int mc_message_write(const struct mc_message *m, const char *path)
{
    FILE *out = fopen(path, "wb");

    if (out == NULL) {
        fprintf(stderr, "milter-client: %s: %s\n", path, strerror(errno));
        return -1;
    }
    for (size_t i = 0; i < m->nhdrs; i++) {
        fprintf(out, "%s:%s", m->hdrs[i].name, m->leadspc ? "" : " ");
        put_crlf(out, m->hdrs[i].value);
        fputs("\r\n", out);
    }
    fputs("\r\n", out);
    if (m->replaced)
        fwrite(m->newbody, 1, m->newbody_len, out);
    else
        fwrite(m->body, 1, m->body_len, out);
    return fclose(out) == 0 ? 0 : -1;
}

void mc_message_free(struct mc_message *m)
{
    for (size_t i = 0; i < m->nhdrs; i++) {
        free(m->hdrs[i].name);
        free(m->hdrs[i].value);
    }
    free(m->hdrs);
    free(m->body);
    free(m->newbody);
}
