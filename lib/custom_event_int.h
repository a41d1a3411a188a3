/*
 * custom_event_int.h - what the two halves of the JSON reading of custom
 * events share: custom_event_json.c (the event, its properties, the body)
 * and custom_event_contact.c (a signup's contact attributes). Private to
 * them; custom_event.h is the interface.
 */
#ifndef PB_CUSTOM_EVENT_INT_H
#define PB_CUSTOM_EVENT_INT_H

#include <stddef.h>
#include <jansson.h>
#include "custom_event.h"

/* "<prefix><a>[.<b>]" into buf: the path of a field, for errors. */
const char *cev_path_of(char *buf, size_t len, const char *prefix, const char *a,
                        const char *b);
/* A JSON value as its stream text (g_free it); NULL for null. */
char *cev_value_text(json_t *v);
/* Append name and value (strings) to the JSON array pairs. */
void cev_add_pair(json_t *pairs, const char *name, const char *value);
/* pairs as compact JSON text into out. */
void cev_dump_into(GString *out, json_t *pairs);
/* A signup's "contact" object into ev->attrs and ev->attr_names; 0 or -1. */
int cev_parse_contact(struct pb_custom_event *ev, json_t *contact, const char *prefix,
                      struct pb_cev_error *err);

#endif
