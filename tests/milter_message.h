/*
 * milter_message.h - the message side of tests/milter-client: one message
 * as an MTA holds it while talking to a milter (headers the way the milter
 * protocol passes them, a CRLF body), the milter's modifications applied
 * to it, and the message written out as it would leave the MTA.
 */
#ifndef PB_MILTER_MESSAGE_H
#define PB_MILTER_MESSAGE_H

#include <stddef.h>

struct mc_header {
    char *name, *value;
};

struct mc_message {
    int leadspc;                /* values keep their leading space (SMFIP_HDR_LEADSPC) */
    unsigned long actions;      /* negotiated SMFIF_* actions: only these are applied */
    struct mc_header *hdrs;
    size_t nhdrs;
    char *body;                 /* the original body, CRLF */
    size_t body_len;
    char *newbody;              /* what SMFIR_REPLBODY sent */
    size_t newbody_len, newbody_cap;
    unsigned long replchunks, replmax;
    int replaced;
};

/* Split text (LF or CRLF) into headers (folded lines joined with LF; leading
 * space kept only with leadspc) and a CRLF body. */
void mc_message_parse(struct mc_message *m, const char *text, size_t len, int leadspc);
/* Apply one milter reply if it is a modification, printing one line for
 * it: 0 if it was one, 1 if cmd is not a modification, -1 if malformed or
 * not among the negotiated actions (as an MTA, which would fail the
 * message). */
int mc_message_apply(struct mc_message *m, char cmd, const char *data, size_t len);
/* Headers after the changes, blank line, new or original body. 0 on success. */
int mc_message_write(const struct mc_message *m, const char *path);
void mc_message_free(struct mc_message *m);

/* Allocation that exits on failure; a whole file, NUL-terminated. */
void *mc_xrealloc(void *p, size_t n);
char *mc_read_file(const char *path, size_t *len);
/* A 32-bit integer in network byte order. */
unsigned long mc_get_u32(const char *p);

#endif
