/*
 * custom_event_contact.c - a signup's contact attributes (the "contact"
 * object of a custom event, docs/custom-events.md), checked against what
 * docs/scorer.md says each field of <p>contact:<id> holds: texts without
 * control characters, a real birthday ("YYYY-MM-DD" or "--MM-DD"), an
 * IANA time zone name the system knows (lib/contact_attr.c), tags without ",", custom attributes named
 * [a-z0-9_] (stored as attr:<name>). They become ev->attrs, the pairs the
 * tracker's script writes into the contact's hash, and ev->attr_names,
 * the names the stream entry carries (never the values).
 */
#include <stdio.h>
#include <string.h>
#include "contact_attr.h"
#include "custom_event_int.h"

#define ATTR_TEXT_MAX PB_ATTR_TEXT_MAX
#define TAG_MAX PB_ATTR_TAG_MAX

/* Text without control characters, 1..max bytes. */
static int attr_text(json_t *v, size_t max, const char *path, struct pb_cev_error *err)
{
    const char *s = json_string_value(v);

    if (s == NULL || !pb_attr_text_valid(s, json_string_length(v), max)) {
        pb_cev_error_set(err, path, "a text of 1 to %zu bytes without control characters",
                         max);
        return -1;
    }
    return 0;
}

static int parse_tags(json_t *tags, const char *path, json_t *pairs, struct pb_cev_error *err)
{
    GString *joined = g_string_new(NULL);
    json_t *t;
    size_t i;

    if (!json_is_array(tags) || json_array_size(tags) > PB_CEV_PROPS_MAX) {
        pb_cev_error_set(err, path, "a list of at most %d tags", PB_CEV_PROPS_MAX);
        g_string_free(joined, TRUE);
        return -1;
    }
    json_array_foreach(tags, i, t) {
        if (attr_text(t, TAG_MAX, path, err) != 0 || strchr(json_string_value(t), ',')) {
            pb_cev_error_set(err, path, "a tag is 1 to %d bytes without \",\" or control "
                             "characters", TAG_MAX);
            g_string_free(joined, TRUE);
            return -1;
        }
        g_string_append_printf(joined, "%s%s", i ? "," : "", json_string_value(t));
    }
    cev_add_pair(pairs, "tags", joined->str);
    g_string_free(joined, TRUE);
    return 0;
}

static int parse_custom_attrs(json_t *custom, const char *prefix, json_t *pairs,
                              struct pb_cev_error *err)
{
    const char *name;
    char path[96], field[PB_CEV_NAME_MAX + 8];
    json_t *v;

    json_object_foreach(custom, name, v) {
        char *text;

        cev_path_of(path, sizeof(path), prefix, "contact.custom", name);
        if (pb_cev_check_name(name, 1, path, err) != 0)
            return -1;
        if (json_is_object(v) || json_is_array(v) || json_is_null(v)
            || (json_is_string(v) && attr_text(v, ATTR_TEXT_MAX, path, err) != 0)) {
            pb_cev_error_set(err, path, "a custom attribute is a text, number, true or false");
            return -1;
        }
        text = cev_value_text(v);
        g_snprintf(field, sizeof(field), "attr:%s", name);
        cev_add_pair(pairs, field, text);
        g_free(text);
    }
    return 0;
}

static const char *const text_attrs[] = {
    "first_name", "last_name", "birthday", "city", "country", "language", "timezone", NULL
};

static int parse_text_attr(const char *name, json_t *v, const char *path, json_t *pairs,
                           struct pb_cev_error *err)
{
    for (int i = 0; text_attrs[i]; i++) {
        if (strcmp(name, text_attrs[i]) != 0)
            continue;
        if (attr_text(v, ATTR_TEXT_MAX, path, err) != 0)
            return -1;
        if (strcmp(name, "birthday") == 0 && !pb_attr_birthday_valid(json_string_value(v))) {
            pb_cev_error_set(err, path, "a birthday is \"YYYY-MM-DD\" or \"--MM-DD\"");
            return -1;
        }
        if (strcmp(name, "timezone") == 0 && !pb_attr_timezone_valid(json_string_value(v))) {
            pb_cev_error_set(err, path, "an IANA time zone name, e.g. \"Europe/Berlin\"");
            return -1;
        }
        cev_add_pair(pairs, name, json_string_value(v));
        return 0;
    }
    pb_cev_error_set(err, path, "not a contact attribute (first_name, last_name, birthday, "
                     "city, country, language, timezone, tags, custom)");
    return -1;
}

int cev_parse_contact(struct pb_custom_event *ev, json_t *contact, const char *prefix,
                         struct pb_cev_error *err)
{
    json_t *pairs = json_array(), *v;
    const char *name;
    char path[96];
    int rc = 0;

    json_object_foreach(contact, name, v) {
        cev_path_of(path, sizeof(path), prefix, "contact", name);
        if (strcmp(name, "tags") == 0)
            rc = parse_tags(v, path, pairs, err);
        else if (strcmp(name, "custom") == 0 && json_is_object(v))
            rc = parse_custom_attrs(v, prefix, pairs, err);
        else
            rc = parse_text_attr(name, v, path, pairs, err);
        if (rc != 0)
            break;
    }
    for (size_t i = 0; rc == 0 && i < json_array_size(pairs); i += 2)
        g_string_append_printf(ev->attr_names, "%s%s", i ? "," : "",
                               json_string_value(json_array_get(pairs, i)));
    if (rc == 0 && json_array_size(pairs) > 2 * PB_CEV_PROPS_MAX) {
        pb_cev_error_set(err, cev_path_of(path, sizeof(path), prefix, "contact", NULL),
                         "more than %d attributes", PB_CEV_PROPS_MAX);
        rc = -1;
    }
    if (rc == 0 && json_array_size(pairs) > 0)
        cev_dump_into(ev->attrs, pairs);
    json_decref(pairs);
    return rc;
}

