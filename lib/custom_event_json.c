/*
 * custom_event_json.c - a custom event's JSON (docs/custom-events.md) into
 * struct pb_custom_event, with jansson: one object
 *
 *   {"email": "...", "type": "...", "time": 1764781800 | "2026-12-03T17:10:00Z",
 *    "id": "order-1234", "properties": {...}, "contact": {...}}
 *
 * or a batch {"events": [ ... ]}. Unknown keys are refused (a misspelt
 * "propeties" would otherwise lose the properties without a word), and
 * every refusal names its field. Property values become stream fields:
 * strings as they are, numbers in their shortest exact decimal form,
 * true/false as words, objects and arrays as compact JSON; null leaves the
 * property out. A signup's contact attributes: custom_event_contact.c.
 *
 * The CLI's "name=value" arguments are put into the same JSON object and
 * go through the same checks (pb_custom_event_from_args).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "custom_event.h"
#include "custom_event_int.h"


/* The path of a field below prefix ("events[2]." or ""). */
const char *cev_path_of(char *buf, size_t len, const char *prefix, const char *a,
                           const char *b)
{
    g_snprintf(buf, len, "%s%s%s%s", prefix, a, b ? "." : "", b ? b : "");
    return buf;
}

/* The shortest "%.Ng" that reads back as v. */
static void real_text(double v, char *out, size_t len)
{
    for (int prec = 15; prec <= 17; prec++) {
        g_snprintf(out, len, "%.*g", prec, v);
        if (strtod(out, NULL) == v)
            return;
    }
}

/* A property value as its stream text; NULL for null (left out). */
char *cev_value_text(json_t *v)
{
    char num[40];

    switch (json_typeof(v)) {
    case JSON_STRING:
        return g_strndup(json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        g_snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return g_strdup(num);
    case JSON_REAL:
        real_text(json_real_value(v), num, sizeof(num));
        return g_strdup(num);
    case JSON_TRUE:
        return g_strdup("true");
    case JSON_FALSE:
        return g_strdup("false");
    case JSON_NULL:
        return NULL;
    default: {
        char *dumped = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER), *copy;
        copy = g_strdup(dumped ? dumped : "");
        free(dumped);
        return copy;
    }
    }
}

/* Append name and value to the JSON array pairs. */
void cev_add_pair(json_t *pairs, const char *name, const char *value)
{
    json_array_append_new(pairs, json_string(name));
    json_array_append_new(pairs, json_string(value));
}

void cev_dump_into(GString *out, json_t *pairs)
{
    char *text = json_dumps(pairs, JSON_COMPACT);

    g_string_assign(out, text ? text : "[]");
    free(text);
}

static int parse_properties(struct pb_custom_event *ev, json_t *props, const char *prefix,
                            struct pb_cev_error *err)
{
    json_t *pairs = json_array(), *v;
    const char *name;
    char path[96], field[PB_CEV_NAME_MAX + 8];
    int n = 0, rc = 0;

    json_object_foreach(props, name, v) {
        char *text;

        cev_path_of(path, sizeof(path), prefix, "properties", name);
        if (++n > PB_CEV_PROPS_MAX) {
            pb_cev_error_set(err, path, "more than %d properties", PB_CEV_PROPS_MAX);
            rc = -1;
            break;
        }
        if (pb_cev_check_name(name, 0, path, err) != 0) {
            rc = -1;
            break;
        }
        if ((text = cev_value_text(v)) == NULL)
            continue;           /* null: no such property */
        if (strlen(text) > PB_CEV_VALUE_MAX) {
            pb_cev_error_set(err, path, "a value is at most %d bytes", PB_CEV_VALUE_MAX);
            g_free(text);
            rc = -1;
            break;
        }
        g_snprintf(field, sizeof(field), PB_CEV_PROP_PREFIX "%s", name);
        cev_add_pair(pairs, field, text);
        g_free(text);
    }
    if (rc == 0)
        cev_dump_into(ev->props, pairs);
    json_decref(pairs);
    return rc;
}

/* ---- one event ------------------------------------------------------------ */

static int need_string(json_t *obj, const char *key, const char *prefix, const char **out,
                       struct pb_cev_error *err)
{
    json_t *v = json_object_get(obj, key);
    char path[96];

    *out = json_string_value(v);
    if (*out != NULL)
        return 0;
    pb_cev_error_set(err, cev_path_of(path, sizeof(path), prefix, key, NULL),
                     v ? "must be a string" : "missing");
    return -1;
}

static int check_keys(json_t *obj, const char *prefix, struct pb_cev_error *err)
{
    static const char *const known[] = { "email", "type", "time", "id", "properties",
                                         "contact", NULL };
    const char *key;
    char path[96];
    json_t *v;

    json_object_foreach(obj, key, v) {
        int ok = 0;
        for (int i = 0; known[i] && !ok; i++)
            ok = strcmp(key, known[i]) == 0;
        if (!ok) {
            pb_cev_error_set(err, cev_path_of(path, sizeof(path), prefix, key, NULL),
                             "unknown field (an event has email, type, time, id, properties "
                             "and, for a signup, contact)");
            return -1;
        }
    }
    return 0;
}

static int parse_time(struct pb_custom_event *ev, const struct pb_cev_ctx *ctx, json_t *t,
                      const char *prefix, struct pb_cev_error *err)
{
    char path[96];

    cev_path_of(path, sizeof(path), prefix, "time", NULL);
    if (t == NULL) {
        ev->ts_ms = ctx->now_ms;
        return 0;
    }
    if (json_is_number(t))
        return pb_cev_set_time_seconds(ev, ctx, json_number_value(t), path, err);
    if (json_is_string(t))
        return pb_cev_set_time_text(ev, ctx, json_string_value(t), path, err);
    pb_cev_error_set(err, path, "unix seconds or an RFC 3339 time text");
    return -1;
}

/* The optional parts: properties and the signup's contact object. */
static int parse_extras(struct pb_custom_event *ev, json_t *obj, const char *prefix,
                        struct pb_cev_error *err)
{
    json_t *props = json_object_get(obj, "properties"), *contact = json_object_get(obj, "contact");
    char path[96];

    if (props && !json_is_object(props)) {
        pb_cev_error_set(err, cev_path_of(path, sizeof(path), prefix, "properties", NULL),
                         "must be an object of names and values");
        return -1;
    }
    if (props && parse_properties(ev, props, prefix, err) != 0)
        return -1;
    if (contact == NULL)
        return 0;
    cev_path_of(path, sizeof(path), prefix, "contact", NULL);
    if (strcmp(ev->type, "signup") != 0) {
        pb_cev_error_set(err, path, "only a signup event carries contact attributes");
        return -1;
    }
    if (!json_is_object(contact)) {
        pb_cev_error_set(err, path, "must be an object of attributes");
        return -1;
    }
    return cev_parse_contact(ev, contact, prefix, err);
}

static int parse_event(const struct pb_cev_ctx *ctx, json_t *obj, const char *prefix,
                       struct pb_custom_event *ev, struct pb_cev_error *err)
{
    const char *email, *type, *id = NULL;
    json_t *idv;
    char path[96];

    if (!json_is_object(obj)) {
        pb_cev_error_set(err, prefix[0] ? prefix : "body", "an event is a JSON object");
        return -1;
    }
    if (check_keys(obj, prefix, err) != 0
        || need_string(obj, "email", prefix, &email, err) != 0
        || need_string(obj, "type", prefix, &type, err) != 0
        || pb_cev_set_email(ev, ctx, email, cev_path_of(path, sizeof(path), prefix, "email", NULL),
                            err) != 0
        || pb_cev_set_type(ev, type, cev_path_of(path, sizeof(path), prefix, "type", NULL), err) != 0
        || parse_time(ev, ctx, json_object_get(obj, "time"), prefix, err) != 0)
        return -1;
    if ((idv = json_object_get(obj, "id")) != NULL
        && (need_string(obj, "id", prefix, &id, err) != 0
            || pb_cev_check_id(id, cev_path_of(path, sizeof(path), prefix, "id", NULL), err) != 0))
        return -1;
    if (id != NULL)
        pb_cev_set_eid(ev, id, strlen(id));
    return parse_extras(ev, obj, prefix, err);
}

/* ---- a body ------------------------------------------------------------------ */

/* The event objects of a body: the object itself, or its "events" array. */
static int event_list(json_t *root, json_t **list, struct pb_cev_error *err)
{
    json_t *events = json_is_object(root) ? json_object_get(root, "events") : NULL;

    if (!json_is_object(root)) {
        pb_cev_error_set(err, "body", "must be a JSON object: one event or {\"events\": [...]}");
        return -1;
    }
    if (events == NULL) {
        *list = json_array();
        json_array_append(*list, root);
        return 0;
    }
    if (json_object_size(root) != 1 || !json_is_array(events) || json_array_size(events) == 0
        || json_array_size(events) > PB_CEV_BATCH_MAX) {
        pb_cev_error_set(err, "events", "a batch is {\"events\": [...]} with 1 to %d events "
                         "and nothing else", PB_CEV_BATCH_MAX);
        return -1;
    }
    *list = json_incref(events);
    return 0;
}

int pb_custom_events_parse(const struct pb_cev_ctx *ctx, const char *body, size_t len,
                           const char *sig_key, GPtrArray *out, struct pb_cev_error *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    json_t *list = NULL, *obj;
    GPtrArray *got = pb_custom_events_new();
    int batch, rc = 0;
    size_t i;

    if (root == NULL) {
        pb_cev_error_set(err, "body", "not JSON: %s (line %d, column %d)", jerr.text,
                         jerr.line, jerr.column);
        g_ptr_array_unref(got);
        return -1;
    }
    batch = json_is_object(root) && json_object_get(root, "events") != NULL;
    if (event_list(root, &list, err) != 0)
        rc = -1;
    json_array_foreach(list, i, obj) {
        struct pb_custom_event *ev = g_new(struct pb_custom_event, 1);
        char prefix[32], key[128];

        pb_custom_event_init(ev);
        g_ptr_array_add(got, ev);
        prefix[0] = '\0';
        if (batch)
            g_snprintf(prefix, sizeof(prefix), "events[%zu].", i);
        if (parse_event(ctx, obj, prefix, ev, err) != 0) {
            rc = -1;
            break;
        }
        if (ev->eid[0] == '\0' && sig_key != NULL) {
            int n = g_snprintf(key, sizeof(key), "sig:%s:%zu", sig_key, i);
            pb_cev_set_eid(ev, key, (size_t)n);
        }
    }
    for (i = 0; rc == 0 && i < got->len; i++)
        g_ptr_array_add(out, g_steal_pointer(&got->pdata[i]));
    g_ptr_array_unref(got);
    json_decref(list);
    json_decref(root);
    return rc;
}

int pb_custom_event_from_args(const struct pb_cev_ctx *ctx, const char *email,
                              const char *type, int nprops, char *const *props,
                              struct pb_custom_event *ev, struct pb_cev_error *err)
{
    json_t *obj = json_object(), *p = json_object();
    int rc = 0;

    json_object_set_new(obj, "email", json_string(email ? email : ""));
    json_object_set_new(obj, "type", json_string(type ? type : ""));
    for (int i = 0; i < nprops && rc == 0; i++) {
        const char *eq = strchr(props[i], '=');
        char *name = eq ? g_strndup(props[i], (gsize)(eq - props[i])) : NULL;

        if (name == NULL || json_object_set_new(p, name, json_string(eq + 1)) != 0) {
            pb_cev_error_set(err, props[i], "a property is name=value (UTF-8)");
            rc = -1;
        }
        g_free(name);
    }
    json_object_set_new(obj, "properties", p);
    if (rc == 0)
        rc = parse_event(ctx, obj, "", ev, err);
    json_decref(obj);
    return rc;
}
