/*
 * classify.c - the bots file and the machine/human rules (classify.h).
 *
 * The bots file is line based (format at the top of config/bots.conf):
 *   class NAME [any|all]     starts a class
 *   ua TEXT                  User-Agent contains TEXT (any case)
 *   ua-exact TEXT            User-Agent is exactly TEXT
 *   net CIDR [CIDR ...]      client address in one of these networks
 * "any": one rule of the class matching is enough; "all": the User-Agent
 * must match one of its ua rules AND the address one of its nets.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include "classify.h"

/* The bytes a text holds, as a 256-bit set. */
struct byteset {
    uint64_t bits[4];
};

/* A "ua" rule: its text lowercased, and the bytes in it: a User-Agent that
 * lacks one of them cannot contain the text, and strstr need not run (it
 * does not, for most rules and a browser's User-Agent). */
struct ua_text {
    struct byteset bytes;
    char text[];
};

struct bot_class {
    char name[PB_BOTS_CLASS_MAX];
    int all;                    /* every kind of rule must match */
    GPtrArray *contains;        /* struct ua_text *: substrings, any case */
    GPtrArray *exact;           /* char *: whole User-Agents */
    struct pb_netlist nets;
};

struct pb_bots {
    GPtrArray *classes;         /* struct bot_class * */
};

static void byteset_add(struct byteset *set, unsigned char byte)
{
    set->bits[byte >> 6] |= (uint64_t)1 << (byte & 63);
}

/* Every byte of sub is in set. */
static int byteset_within(const struct byteset *sub, const struct byteset *set)
{
    return ((sub->bits[0] & ~set->bits[0]) | (sub->bits[1] & ~set->bits[1])
            | (sub->bits[2] & ~set->bits[2]) | (sub->bits[3] & ~set->bits[3])) == 0;
}

/* s lowercased (ASCII) into out (strlen(s) + 1 bytes); the bytes of the
 * result into set. */
static void lower_with_bytes(const char *s, char *out, struct byteset *set)
{
    memset(set, 0, sizeof(*set));
    for (;; s++, out++) {
        *out = (char)(*s >= 'A' && *s <= 'Z' ? *s + ('a' - 'A') : *s);
        if (*out == '\0')
            return;
        byteset_add(set, (unsigned char)*out);
    }
}

static struct ua_text *ua_text_new(const char *text)
{
    struct ua_text *t = g_malloc(sizeof(*t) + strlen(text) + 1);

    lower_with_bytes(text, t->text, &t->bytes);
    return t;
}


static void class_free(gpointer p)
{
    struct bot_class *c = p;

    g_ptr_array_free(c->contains, TRUE);
    g_ptr_array_free(c->exact, TRUE);
    pb_netlist_free(&c->nets);
    g_free(c);
}

static struct pb_bots *bots_new(void)
{
    struct pb_bots *bots = g_new0(struct pb_bots, 1);

    bots->classes = g_ptr_array_new_with_free_func(class_free);
    return bots;
}

void pb_bots_free(struct pb_bots *bots)
{
    if (bots == NULL)
        return;
    g_ptr_array_free(bots->classes, TRUE);
    g_free(bots);
}

size_t pb_bots_count(const struct pb_bots *bots)
{
    return bots ? bots->classes->len : 0;
}

/* ---- loading ------------------------------------------------------------- */

struct load_ctx {
    const char *path;
    int line;
    char *err;
    size_t errlen;
    struct pb_bots *bots;
    struct bot_class *cur;
};

static int fail(struct load_ctx *ctx, const char *what)
{
    snprintf(ctx->err, ctx->errlen, "%s:%d: %s", ctx->path, ctx->line, what);
    return -1;
}

static int valid_class_name(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n >= PB_BOTS_CLASS_MAX)
        return 0;
    for (; *s; s++)
        if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) || strchr(":._-", *s)))
            return 0;
    return 1;
}

/* "class NAME [any|all]" */
static int start_class(struct load_ctx *ctx, char *args)
{
    char *save = NULL;
    char *name = strtok_r(args, " \t", &save), *mode = strtok_r(NULL, " \t", &save);
    struct bot_class *c;

    if (name == NULL || !valid_class_name(name))
        return fail(ctx, "class needs a name of lowercase letters, digits and \":._-\" "
                    "(e.g. \"class scanner:proofpoint any\")");
    if (strtok_r(NULL, " \t", &save) != NULL
        || (mode != NULL && strcmp(mode, "any") != 0 && strcmp(mode, "all") != 0))
        return fail(ctx, "write \"class NAME\", \"class NAME any\" or \"class NAME all\"");
    for (guint i = 0; i < ctx->bots->classes->len; i++)
        if (strcmp(((struct bot_class *)g_ptr_array_index(ctx->bots->classes, i))->name,
                   name) == 0)
            return fail(ctx, "this class is already defined above (merge the two)");
    c = g_new0(struct bot_class, 1);
    snprintf(c->name, sizeof(c->name), "%s", name);
    c->all = mode != NULL && strcmp(mode, "all") == 0;
    c->contains = g_ptr_array_new_with_free_func(g_free);
    c->exact = g_ptr_array_new_with_free_func(g_free);
    g_ptr_array_add(ctx->bots->classes, c);
    ctx->cur = c;
    return 0;
}

static int add_nets(struct load_ctx *ctx, char *args)
{
    char msg[200], *save = NULL;
    int n = 0;

    for (char *tok = strtok_r(args, " \t", &save); tok != NULL;
         tok = strtok_r(NULL, " \t", &save), n++) {
        if (pb_netlist_add(&ctx->cur->nets, tok) != 0) {
            snprintf(msg, sizeof(msg), "\"%.80s\" is not a network (write e.g. \"17.0.0.0/8\" "
                     "or \"2620:149::/32\")", tok);
            return fail(ctx, msg);
        }
    }
    return n > 0 ? 0 : fail(ctx, "net needs at least one network");
}

static int parse_line(struct load_ctx *ctx, char *line)
{
    char *word, *rest;
    size_t n;

    line += strspn(line, " \t");
    n = strlen(line);
    while (n > 0 && strchr(" \t\r\n", line[n - 1]))
        line[--n] = '\0';
    if (n == 0 || line[0] == '#')
        return 0;
    word = line;
    rest = line + strcspn(line, " \t");
    if (*rest != '\0')
        *rest++ = '\0';
    rest += strspn(rest, " \t");
    if (strcmp(word, "class") == 0)
        return start_class(ctx, rest);
    if (strcmp(word, "ua") != 0 && strcmp(word, "ua-exact") != 0 && strcmp(word, "net") != 0)
        return fail(ctx, "unknown keyword (use class, ua, ua-exact or net)");
    if (ctx->cur == NULL)
        return fail(ctx, "rule before the first \"class NAME\" line");
    if (strcmp(word, "net") == 0)
        return add_nets(ctx, rest);
    if (*rest == '\0')
        return fail(ctx, "ua and ua-exact need the User-Agent text after them");
    if (strcmp(word, "ua") == 0)
        g_ptr_array_add(ctx->cur->contains, ua_text_new(rest));
    else
        g_ptr_array_add(ctx->cur->exact, g_strdup(rest));
    return 0;
}

struct pb_bots *pb_bots_load(const char *path, char *errbuf, size_t errlen)
{
    struct load_ctx ctx = { path, 0, errbuf, errlen, bots_new(), NULL };
    char line[1024];
    FILE *fp;
    int rc = 0;

    if (path == NULL)
        return ctx.bots;
    if ((fp = fopen(path, "r")) == NULL) {
        snprintf(errbuf, errlen, "%s: cannot open: %s (set tracker.bots_file = \"\" to run "
                 "without one)", path, strerror(errno));
        pb_bots_free(ctx.bots);
        return NULL;
    }
    while (rc == 0 && fgets(line, sizeof(line), fp) != NULL) {
        ctx.line++;
        if (strchr(line, '\n') == NULL && !feof(fp))
            rc = fail(&ctx, "line longer than 1000 characters");
        else
            rc = parse_line(&ctx, line);
    }
    fclose(fp);
    if (rc != 0) {
        pb_bots_free(ctx.bots);
        return NULL;
    }
    return ctx.bots;
}

/* ---- matching ------------------------------------------------------------- */

/* "ua" rules compare the User-Agent lowercased once (lower) with
 * lowercased texts: strstr, not strcasestr, which prepares its needle
 * again on every call (it was ~5% of a click's CPU with the shipped
 * bots file). */
static int ua_matches(const struct bot_class *c, const char *ua, const char *lower,
                      const struct byteset *ua_bytes)
{
    if (ua == NULL)
        return 0;
    for (guint i = 0; i < c->exact->len; i++)
        if (strcmp(ua, g_ptr_array_index(c->exact, i)) == 0)
            return 1;
    for (guint i = 0; i < c->contains->len; i++) {
        const struct ua_text *t = g_ptr_array_index(c->contains, i);
        if (byteset_within(&t->bytes, ua_bytes) && strstr(lower, t->text) != NULL)
            return 1;
    }
    return 0;
}

static int class_matches(const struct bot_class *c, const char *ua, const char *lower,
                         const struct byteset *ua_bytes, const struct pb_ipaddr *addr)
{
    int has_ua_rules = c->exact->len + c->contains->len > 0;
    int has_nets = c->nets.count > 0;
    int ua_hit = has_ua_rules && ua_matches(c, ua, lower, ua_bytes);

    if (!c->all && ua_hit)
        return 1;
    if (c->all && has_ua_rules && !ua_hit)
        return 0;
    if (!has_nets)
        return c->all && has_ua_rules;
    return addr != NULL && pb_netlist_match(&c->nets, addr);
}

const char *pb_bots_match(const struct pb_bots *bots, const char *ua,
                          const struct pb_ipaddr *addr)
{
    char stack[512], *lower = NULL;
    struct byteset ua_bytes = { { 0 } };
    const char *match = NULL;
    size_t len = ua ? strlen(ua) : 0;

    if (bots == NULL)
        return NULL;
    if (ua != NULL) {
        lower = len < sizeof(stack) ? stack : g_malloc(len + 1);
        lower_with_bytes(ua, lower, &ua_bytes);
    }
    for (guint i = 0; i < bots->classes->len && match == NULL; i++) {
        const struct bot_class *c = g_ptr_array_index(bots->classes, i);
        if (class_matches(c, ua, lower, &ua_bytes, addr))
            match = c->name;
    }
    if (lower != stack)
        g_free(lower);
    return match;
}

/* ---- the rules --------------------------------------------------------------- */

enum pb_ev_class pb_classify(const struct pb_bots *bots, const struct pb_classify_input *in,
                             const char **reason)
{
    const char *bot;

    *reason = NULL;
    if (in->kind == PB_TOKEN_UNSUB)
        return PB_CLASS_HUMAN;
    if (in->head) {
        *reason = "head";
        return PB_CLASS_MACHINE;
    }
    if (in->kind == PB_TOKEN_CLICK && in->link_index == PB_HONEYPOT_LINK) {
        *reason = "honeypot";
        return PB_CLASS_MACHINE;
    }
    if ((bot = pb_bots_match(bots, in->user_agent, in->addr)) != NULL) {
        *reason = bot;
        return PB_CLASS_MACHINE;
    }
    if (in->kind == PB_TOKEN_CLICK && in->machine_click_seconds > 0
        && in->now_ms - (long long)in->sent_at * 1000
               < (long long)in->machine_click_seconds * 1000) {
        *reason = "too-fast";
        return PB_CLASS_MACHINE;
    }
    return PB_CLASS_HUMAN;
}
