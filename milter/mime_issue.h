/*
 * mime_issue.h - the parser warnings that make a message's MIME structure
 * ambiguous (other software may see other parts than GMime does), and the
 * log reason for them: what is actually wrong in the message, found from
 * the warning, GMime's tree and the bytes, not GMime's warning name
 * (private to mime_*.c).
 */
#ifndef PB_MIME_ISSUE_H
#define PB_MIME_ISSUE_H

#include <stddef.h>
#include <gmime/gmime.h>

#define PB_ISSUES_MAX 8

struct pb_parse_issue {
    GMimeParserWarning code;
    gint64 offset;              /* in the parsed bytes, -1 if GMime gives none */
    char item[64];              /* header or parameter name, subtype, line... */
};

/* The structural warnings of one parse, the first PB_ISSUES_MAX of them. */
struct pb_parse_issues {
    unsigned count;
    struct pb_parse_issue issue[PB_ISSUES_MAX];
};

/* The parser's warning callback: keep the warning if it is structural. */
void pb_issues_note(struct pb_parse_issues *is, gint64 offset, GMimeParserWarning code,
                    const char *item);

/* After the parse of buf (message: GMime's result, may be NULL): 1 with
 * why set to "malformed MIME: <what is wrong>" if the message is not ours
 * to touch, 0 if GMime read it without a structural problem. */
int pb_issues_explain(const struct pb_parse_issues *is, GMimeMessage *message,
                      const GByteArray *buf, char *why, size_t whylen);

#endif
