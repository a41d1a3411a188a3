/*
 * pool.c - a small thread-safe pool of idle objects (see pool.h).
 */
#include "pool.h"

void *pb_pool_take(struct pb_pool *pool)
{
    void *obj = NULL;

    g_mutex_lock(&pool->lock);
    if (pool->count > 0)
        obj = pool->idle[--pool->count];
    g_mutex_unlock(&pool->lock);
    return obj;
}

void pb_pool_give(struct pb_pool *pool, void *obj)
{
    unsigned keep = MIN(pool->keep, (unsigned)PB_POOL_MAX);

    if (obj == NULL)
        return;
    g_mutex_lock(&pool->lock);
    if (pool->count < keep) {
        pool->idle[pool->count++] = obj;
        obj = NULL;
    }
    g_mutex_unlock(&pool->lock);
    if (obj != NULL)
        pool->free_fn(obj);
}

void pb_pool_drain(struct pb_pool *pool)
{
    for (void *obj; (obj = pb_pool_take(pool)) != NULL;)
        pool->free_fn(obj);
}
