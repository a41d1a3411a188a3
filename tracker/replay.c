/*
 * replay.c - remembered signatures (replay.h): a hash set for the look-up
 * and a queue in the order they were accepted, from whose head the expired
 * ones are dropped. Timestamps of accepted requests are within the window
 * of the time they came, so the queue is nearly in expiry order; one that
 * expires before the head waits for it, which costs memory for at most
 * twice the window, never a wrong answer (an expired timestamp is refused
 * before this is asked). Single-threaded, like the tracker.
 */
#include <glib.h>
#include "replay.h"

struct seen {
    long long expires_s;
    char sig[65];
};

static GHashTable *set;         /* sig -> its struct seen (owned by the queue) */
static GQueue order = G_QUEUE_INIT;

static void forget_expired(long long now_s)
{
    struct seen *s;

    while ((s = g_queue_peek_head(&order)) != NULL && s->expires_s < now_s) {
        g_queue_pop_head(&order);
        g_hash_table_remove(set, s->sig);
        g_free(s);
    }
}

int pb_replay_seen(const char *signature, long long now_s)
{
    char key[65];
    struct seen *s;

    if (set == NULL)
        return 0;
    forget_expired(now_s);
    g_strlcpy(key, signature, sizeof(key));
    for (char *p = key; *p; p++)
        *p = g_ascii_tolower(*p);
    s = g_hash_table_lookup(set, key);
    return s != NULL && s->expires_s >= now_s;
}

void pb_replay_add(const char *signature, long long expires_s)
{
    struct seen *s = g_new(struct seen, 1);

    if (set == NULL)
        set = g_hash_table_new(g_str_hash, g_str_equal);
    s->expires_s = expires_s;
    g_strlcpy(s->sig, signature, sizeof(s->sig));
    for (char *p = s->sig; *p; p++)
        *p = g_ascii_tolower(*p);
    if (g_hash_table_contains(set, s->sig)) {
        g_free(s);
        return;
    }
    g_hash_table_add(set, s->sig);
    g_queue_push_tail(&order, s);
}

size_t pb_replay_count(void)
{
    return order.length;
}

void pb_replay_free(void)
{
    struct seen *s;

    while ((s = g_queue_pop_head(&order)) != NULL)
        g_free(s);
    if (set != NULL)
        g_hash_table_destroy(set);
    set = NULL;
}
