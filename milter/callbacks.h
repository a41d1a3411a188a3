/*
 * callbacks.h - the libmilter callbacks of postbeacon-milter: collect what
 * a message is (macros, envelope, headers), decide at the end of the
 * headers whether it is tracked (select.h), buffer the body only then,
 * and at the end of the message rewrite it (rewrite.h) and send the
 * changes back: header changes first, then the body in chunks.
 *
 * Every failure lets the message go on unchanged (SMFIS_ACCEPT) but for
 * its campaign header, removed from every outgoing message unless a DKIM
 * signature covers it: mail is never delayed or refused because of
 * postbeacon.
 */
#ifndef PB_CALLBACKS_H
#define PB_CALLBACKS_H

#define PB_MILTER_NAME "postbeacon-milter"
/* Largest smfi_replacebody() call: one milter protocol body chunk. */
#define PB_BODY_CHUNK 65535

/* smfi_register() with every callback; 0 on success. */
int pb_callbacks_register(void);

#endif
