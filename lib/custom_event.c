/*
 * custom_event.c - the fields of a custom event (custom_event.h), each
 * checked where it is set so that a refusal names the field: the type
 * name, the contact address (normalised and turned into the contact id by
 * lib/contact.c, the one way every program does it), the time, the
 * sender's idempotency key and the event id made from it.
 *
 * The event id is the first 16 bytes of SHA-256 over "pbce1", the type
 * and the key that names the event, as 32 hex: a sender that retries an
 * event with the same idempotency key (or a client that replays the same
 * signed request) makes the same id, and the tracker's script writes an
 * id once (<p>eid:<id>, docs/redis-schema.md).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "contact.h"
#include "custom_event.h"

#define MIN_TIME_MS 946684800000LL      /* 2000-01-01T00:00:00Z: older is a mistake */

/* The stream's own event types: a custom event may not pass for one. */
static const char *const reserved_types[] = { "sent", "open", "click", "unsubscribe", NULL };

void pb_cev_error_set(struct pb_cev_error *err, const char *path, const char *fmt, ...)
{
    va_list ap;

    g_strlcpy(err->field, path, sizeof(err->field));
    va_start(ap, fmt);
    g_vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
}

void pb_custom_event_init(struct pb_custom_event *ev)
{
    memset(ev, 0, sizeof(*ev));
    ev->props = g_string_new("[]");
    ev->attrs = g_string_new("");
    ev->attr_names = g_string_new("");
}

void pb_custom_event_clear(struct pb_custom_event *ev)
{
    if (ev->props)
        g_string_free(ev->props, TRUE);
    if (ev->attrs)
        g_string_free(ev->attrs, TRUE);
    if (ev->attr_names)
        g_string_free(ev->attr_names, TRUE);
    memset(ev, 0, sizeof(*ev));
}

static void event_free(gpointer p)
{
    if (p == NULL)
        return;                 /* moved out (g_steal_pointer) */
    pb_custom_event_clear(p);
    g_free(p);
}

GPtrArray *pb_custom_events_new(void)
{
    return g_ptr_array_new_with_free_func(event_free);
}

int pb_cev_set_type(struct pb_custom_event *ev, const char *type, const char *path,
                    struct pb_cev_error *err)
{
    size_t n = strlen(type);

    if (n == 0 || n > PB_CEV_TYPE_MAX || !g_ascii_islower(type[0])) {
        pb_cev_error_set(err, path, "a type is 1 to %d characters and starts with a "
                         "lowercase letter, e.g. \"purchase\"", PB_CEV_TYPE_MAX);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        char c = type[i];
        if (!g_ascii_islower(c) && !g_ascii_isdigit(c) && c != '_' && c != '.' && c != '-') {
            pb_cev_error_set(err, path, "a type has only a-z, 0-9, \"_\", \".\" and \"-\"");
            return -1;
        }
    }
    for (int i = 0; reserved_types[i]; i++) {
        if (strcmp(type, reserved_types[i]) == 0) {
            pb_cev_error_set(err, path, "\"%s\" is one of the tracker's own event types; "
                             "name the custom event differently", type);
            return -1;
        }
    }
    memcpy(ev->type, type, n + 1);
    return 0;
}

/* A plain address: local@domain, no spaces, controls, quotes or brackets
 * (what a shop's form gives; quoted local parts are refused). */
static int plain_address(const char *a)
{
    const char *at = strrchr(a, '@');

    if (at == NULL || at == a || at[1] == '\0' || strchr(at + 1, '.') == NULL
        || at[strlen(at) - 1] == '.' || strchr(a, '@') != at)
        return 0;
    for (const char *p = a; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f || strchr("\"<>(),;:\\[]", *p) != NULL)
            return 0;
    return 1;
}

int pb_cev_set_email(struct pb_custom_event *ev, const struct pb_cev_ctx *ctx,
                     const char *email, const char *path, struct pb_cev_error *err)
{
    uint8_t id[PB_CONTACT_LEN];

    if (strlen(email) > PB_CEV_EMAIL_MAX + 16
        || pb_address_normalise(email, ev->email, sizeof(ev->email)) < 0) {
        pb_cev_error_set(err, path, "an address of 1 to %d characters, e.g. "
                         "\"ann@example.com\"", PB_CEV_EMAIL_MAX);
        ev->email[0] = '\0';
        return -1;
    }
    if (!plain_address(ev->email)) {
        pb_cev_error_set(err, path, "not an address like \"ann@example.com\"");
        ev->email[0] = '\0';
        return -1;
    }
    pb_contact_id(ctx->keys, ev->email, id);
    pb_hex(id, sizeof(id), ev->contact);
    return 0;
}

static int set_time_ms(struct pb_custom_event *ev, const struct pb_cev_ctx *ctx,
                       long long ms, const char *path, struct pb_cev_error *err)
{
    if (ms < MIN_TIME_MS) {
        pb_cev_error_set(err, path, "before 2000-01-01: give unix seconds or RFC 3339 "
                         "time, e.g. \"2026-12-03T17:10:00Z\"");
        return -1;
    }
    if (ms > ctx->now_ms + ctx->max_future_ms) {
        pb_cev_error_set(err, path, "in the future (more than %lld s ahead of the "
                         "tracker's clock)", ctx->max_future_ms / 1000);
        return -1;
    }
    ev->ts_ms = ms;
    return 0;
}

int pb_cev_set_time_text(struct pb_custom_event *ev, const struct pb_cev_ctx *ctx,
                         const char *text, const char *path, struct pb_cev_error *err)
{
    GDateTime *t = NULL;
    long long ms;

    /* RFC 3339: a date, "T", a time and a zone ("Z" or an offset); GLib
     * would take a time without a zone as local time, which a shop's
     * server and the tracker need not share */
    if (strlen(text) >= 20 && (text[10] == 'T' || text[10] == 't')
        && (g_str_has_suffix(text, "Z") || g_str_has_suffix(text, "z")
            || text[strlen(text) - 3] == ':'))
        t = g_date_time_new_from_iso8601(text, NULL);
    if (t == NULL) {
        pb_cev_error_set(err, path, "not an RFC 3339 time like \"2026-12-03T17:10:00Z\" "
                         "or unix seconds");
        return -1;
    }
    ms = g_date_time_to_unix(t) * 1000 + g_date_time_get_microsecond(t) / 1000;
    g_date_time_unref(t);
    return set_time_ms(ev, ctx, ms, path, err);
}

int pb_cev_set_time_seconds(struct pb_custom_event *ev, const struct pb_cev_ctx *ctx,
                            double seconds, const char *path, struct pb_cev_error *err)
{
    if (!(seconds >= 0 && seconds < 1e11)) {
        pb_cev_error_set(err, path, "not a time: give unix seconds or RFC 3339 time");
        return -1;
    }
    return set_time_ms(ev, ctx, (long long)(seconds * 1000.0 + 0.5), path, err);
}

void pb_cev_set_eid(struct pb_custom_event *ev, const char *key, size_t key_len)
{
    GChecksum *c = g_checksum_new(G_CHECKSUM_SHA256);
    uint8_t digest[32];
    gsize n = sizeof(digest);

    g_checksum_update(c, (const guchar *)"pbce1", 6);   /* with its NUL: a separator */
    g_checksum_update(c, (const guchar *)ev->type, (gssize)strlen(ev->type) + 1);
    g_checksum_update(c, (const guchar *)key, (gssize)key_len);
    g_checksum_get_digest(c, digest, &n);
    g_checksum_free(c);
    pb_hex(digest, 16, ev->eid);
}

int pb_cev_check_id(const char *id, const char *path, struct pb_cev_error *err)
{
    size_t n = strlen(id);

    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)id[i] < 0x21 || (unsigned char)id[i] > 0x7e) {
            n = 0;
            break;
        }
    }
    if (n == 0 || n > PB_CEV_ID_MAX) {
        pb_cev_error_set(err, path, "an id is 1 to %d printable ASCII characters without "
                         "spaces, e.g. \"order-1234\"", PB_CEV_ID_MAX);
        return -1;
    }
    return 0;
}

int pb_cev_check_name(const char *name, int attr, const char *path, struct pb_cev_error *err)
{
    size_t n = strlen(name);
    int ok = n > 0 && n <= PB_CEV_NAME_MAX;

    for (size_t i = 0; ok && i < n; i++) {
        char c = name[i];
        ok = attr ? g_ascii_islower(c) || g_ascii_isdigit(c) || c == '_'
                  : g_ascii_isalnum(c) || c == '_' || c == '.' || c == '-';
    }
    if (!ok)
        pb_cev_error_set(err, path, "a name is 1 to %d characters of %s", PB_CEV_NAME_MAX,
                         attr ? "a-z, 0-9 and \"_\"" : "A-Z, a-z, 0-9, \"_\", \".\" and \"-\"");
    return ok ? 0 : -1;
}
