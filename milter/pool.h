/*
 * pool.h - a small thread-safe pool of idle objects (buffers, scratch
 * space) that outlive the thread that used them.
 *
 * libmilter hands a session to whichever worker thread is free and lets
 * idle workers exit, so per-thread caches are born and die with almost
 * every message. A pool keeps the big buffers of one message for the
 * next, whatever thread it lands on.
 */
#ifndef PB_POOL_H
#define PB_POOL_H

#include <glib.h>

#define PB_POOL_MAX 64          /* idle objects a pool can hold */

struct pb_pool {
    GMutex lock;                /* zeroed: a valid static GMutex */
    unsigned keep;              /* idle objects kept (<= PB_POOL_MAX); more are freed */
    GDestroyNotify free_fn;     /* frees one object */
    unsigned count;
    void *idle[PB_POOL_MAX];
};

/* An idle object (most recently given back first), or NULL if none. */
void *pb_pool_take(struct pb_pool *pool);

/* Give obj back for reuse; freed with free_fn when the pool is full. */
void pb_pool_give(struct pb_pool *pool, void *obj);

/* Free every idle object (for leak checkers and tests). */
void pb_pool_drain(struct pb_pool *pool);

#endif
