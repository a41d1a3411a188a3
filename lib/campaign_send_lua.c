/*
 * campaign_send_lua.c - the one Lua script through which every change of
 * a campaign send goes (campaign_send_int.h), one operation per call
 * (ARGV[1]), so that each change is atomic: creating the job, taking its
 * lease (a claim left in flight by a runner that died becomes uncertain
 * here; a due scheduled job starts and counts its members), claiming a
 * member before its message is submitted, settling it after, moving the
 * scan on, ending a phase, deciding the winner, giving the lease back,
 * cancelling. docs/redis-schema.md ("Campaign sends") has the fields and
 * the keys of each operation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "campaign_send_int.h"
#include "redis_script.h"

static const char send_lua[] =
    "local op, now, JOB = ARGV[1], tonumber(ARGV[2]), KEYS[1]\n"
    "local function get(f) return redis.call('HGET', JOB, f) end\n"
    "local function num(f) return tonumber(get(f) or '0') or 0 end\n"
    "local function mine() return get('runner') == ARGV[3] end\n"
    "local function ms(x) return string.format('%d', x) end\n"
    "local ops = {}\n"
    /* KEYS job, sends; ARGV campaign, due, n, field, value, ... */
    "function ops.create()\n"
    "  if redis.call('EXISTS', JOB) == 1 then return 0 end\n"
    "  for i = 6, 5 + 2 * tonumber(ARGV[5]), 2 do redis.call('HSET', JOB, ARGV[i], ARGV[i + 1]) end\n"
    "  if tonumber(ARGV[4]) > now then redis.call('ZADD', KEYS[2], ARGV[4], ARGV[3]) end\n"
    "  return 1\n"
    "end\n"
    /* the member in flight when its runner stopped: uncertain, never resent */
    "local function uncertain(TO)\n"
    "  local inf = get('inflight')\n"
    "  if not inf then return '' end\n"
    "  redis.call('HDEL', JOB, 'inflight')\n"
    "  local var = string.match(redis.call('HGET', TO, inf) or '', '^claimed (%S+)')\n"
    "  if not var then return '' end\n"
    "  redis.call('HSET', TO, inf, 'uncertain ' .. var .. ' ' .. ARGV[2])\n"
    "  redis.call('HINCRBY', JOB, 'uncertain', 1)\n"
    "  local l = get('uncertain_ids')\n"
    "  redis.call('HSET', JOB, 'uncertain_ids', (l and l ~= '') and (l .. ' ' .. inf) or inf)\n"
    "  return inf\n"
    "end\n"
    /* KEYS job, to, segment; ARGV runner, lease ms, the dead runner to replace */
    "function ops.acquire()\n"
    "  local st = get('state')\n"
    "  if not st then return {'none'} end\n"
    "  if st == 'done' or st == 'cancelled' then return {st} end\n"
    "  local r = get('runner')\n"
    "  if r and r ~= ARGV[3] and r ~= ARGV[5] and num('lease_until') > now then\n"
    "    return {'busy', r, get('lease_until')}\n"
    "  end\n"
    "  local unc = uncertain(KEYS[2])\n"
    "  if st == 'scheduled' then\n"
    "    if num('due_at') > now then\n"
    "      redis.call('HDEL', JOB, 'runner', 'lease_until') return {'early', get('due_at'), unc}\n"
    "    end\n"
    "    st = redis.call('HEXISTS', JOB, 'variants') == 1 and 'testing' or 'sending'\n"
    "    redis.call('HSET', JOB, 'state', st, 'started_at', ARGV[2], 'cursor', '0',\n"
    "               'members', redis.call('ZCOUNT', KEYS[3], '-inf', ARGV[2]))\n"
    "  elseif st == 'waiting' and num('winner_at') > now then\n"
    "    redis.call('HDEL', JOB, 'runner', 'lease_until') return {'waiting', get('winner_at'), unc}\n"
    "  end\n"
    "  redis.call('HSET', JOB, 'runner', ARGV[3], 'lease_until', ms(now + tonumber(ARGV[4])))\n"
    "  return {'ok', st, unc}\n"
    "end\n"
    /* KEYS job, to, suppressed, contact; ARGV runner, lease ms, contact, variant, state */
    "function ops.claim()\n"
    "  if not mine() then return {'l'} end\n"
    "  if get('state') ~= ARGV[7] then return {'g', get('state') or ''} end\n"
    "  redis.call('HSET', JOB, 'lease_until', ms(now + tonumber(ARGV[4])))\n"
    "  local cid = ARGV[5]\n"
    "  if redis.call('HEXISTS', KEYS[2], cid) == 1 then return {'x'} end\n"
    "  local why\n"
    "  if redis.call('SISMEMBER', KEYS[3], cid) == 1 then why = 's'\n"
    "  else\n"
    "    local e = redis.call('HGET', KEYS[4], 'email')\n"
    "    if not e or e == '' then why = 'n' end\n"
    "  end\n"
    "  if why then\n"
    "    redis.call('HSET', KEYS[2], cid, 'suppressed - ' .. ARGV[2])\n"
    "    redis.call('HINCRBY', JOB, 'suppressed', 1)\n"
    "    return {why}\n"
    "  end\n"
    "  redis.call('HSET', KEYS[2], cid, 'claimed ' .. ARGV[6] .. ' ' .. ARGV[2])\n"
    "  redis.call('HSET', JOB, 'inflight', cid)\n"
    "  return {'c', redis.call('HGETALL', KEYS[4])}\n"
    "end\n"
    /* KEYS job, to; ARGV runner, contact, variant, sent|failed|release, test mail 1|0 */
    "function ops.settle()\n"
    "  local cid, out = ARGV[4], ARGV[6]\n"
    "  if get('inflight') ~= cid or not mine() then return 0 end\n"
    "  redis.call('HDEL', JOB, 'inflight')\n"
    "  if out == 'release' then redis.call('HDEL', KEYS[2], cid) return 1 end\n"
    "  redis.call('HSET', KEYS[2], cid, out .. ' ' .. ARGV[5] .. ' ' .. ARGV[2])\n"
    "  redis.call('HINCRBY', JOB, out, 1)\n"
    "  if out == 'sent' and ARGV[7] == '1' then\n"
    "    redis.call('HINCRBY', JOB, 'variant:' .. ARGV[5] .. ':sent', 1)\n"
    "  end\n"
    "  return 1\n"
    "end\n"
    /* KEYS job; ARGV runner, lease ms, cursor */
    "function ops.cursor()\n"
    "  if not mine() then return 0 end\n"
    "  redis.call('HSET', JOB, 'cursor', ARGV[5], 'lease_until', ms(now + tonumber(ARGV[4])))\n"
    "  return 1\n"
    "end\n"
    /* KEYS job, sends; ARGV runner, campaign */
    "function ops.tested()\n"
    "  if not mine() or get('state') ~= 'testing' then return 0 end\n"
    "  local at = ms(now + num('winner_after'))\n"
    "  redis.call('HSET', JOB, 'state', 'waiting', 'winner_at', at, 'cursor', '0')\n"
    "  redis.call('HDEL', JOB, 'runner', 'lease_until')\n"
    "  redis.call('ZADD', KEYS[2], at, ARGV[4])\n"
    "  return at\n"
    "end\n"
    "function ops.done()\n"
    "  if not mine() or get('state') ~= 'sending' then return 0 end\n"
    "  local left = num('members') - num('sent') - num('suppressed') - num('failed')\n"
    "    - num('uncertain')\n"
    "  if left < 0 then left = 0 end\n"
    "  redis.call('HSET', JOB, 'state', 'done', 'finished_at', ARGV[2], 'left', ms(left))\n"
    "  redis.call('HDEL', JOB, 'runner', 'lease_until', 'cursor')\n"
    "  redis.call('ZREM', KEYS[2], ARGV[4])\n"
    "  return 1\n"
    "end\n"
    /* KEYS job; ARGV runner, winner, decision */
    "function ops.decide()\n"
    "  if not mine() or get('state') ~= 'waiting' then return 0 end\n"
    "  redis.call('HSET', JOB, 'winner', ARGV[4], 'decided_at', ARGV[2], 'decision', ARGV[5],\n"
    "             'state', 'sending', 'cursor', '0')\n"
    "  return 1\n"
    "end\n"
    "function ops.release()\n"
    "  if mine() then redis.call('HDEL', JOB, 'runner', 'lease_until') end\n"
    "  return 1\n"
    "end\n"
    /* KEYS job, sends; ARGV campaign */
    "function ops.cancel()\n"
    "  local st = get('state')\n"
    "  if not st then return 'none' end\n"
    "  if st == 'done' or st == 'cancelled' then return st end\n"
    "  redis.call('HSET', JOB, 'state', 'cancelled', 'finished_at', ARGV[2])\n"
    "  redis.call('ZREM', KEYS[2], ARGV[3])\n"
    "  return 'ok'\n"
    "end\n"
    "return ops[op]()\n";

static struct pb_script send_script;

redisReply *pb_csend_script(redisContext *c, const char *op, long long now_ms, int nkeys,
                            const char *const *keys, int nargs, const char *const *args,
                            char *why, size_t whylen)
{
    const char **argv = g_new(const char *, nkeys + nargs + 2);
    char now[32];
    redisReply *r;

    if (send_script.text == NULL)
        pb_script_init(&send_script, send_lua);
    snprintf(now, sizeof(now), "%lld", now_ms);
    memcpy(argv, keys, sizeof(*keys) * (size_t)nkeys);
    argv[nkeys] = op;
    argv[nkeys + 1] = now;
    memcpy(argv + nkeys + 2, args, sizeof(*args) * (size_t)nargs);
    r = pb_script_run(c, &send_script, nkeys, nkeys + nargs + 2, argv);
    g_free(argv);
    if (r == NULL)
        snprintf(why, whylen, "Redis: %s (campaign send %s)", c->errstr[0] ? c->errstr
                 : "connection lost", op);
    else if (r->type == REDIS_REPLY_ERROR) {
        snprintf(why, whylen, "Redis: %s (campaign send %s)", r->str, op);
        freeReplyObject(r);
        r = NULL;
    }
    return r;
}

char *pb_csend_key(const char *prefix, const char *name, const char *id)
{
    return g_strconcat(prefix, name, id, NULL);
}

long long pb_csend_reply_ll(const redisReply *r)
{
    if (r == NULL)
        return 0;
    if (r->type == REDIS_REPLY_INTEGER)
        return r->integer;
    if (r->type == REDIS_REPLY_STRING)
        return strtoll(r->str, NULL, 10);
    return 0;
}
