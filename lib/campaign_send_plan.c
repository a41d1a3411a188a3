/*
 * campaign_send_plan.c - what each member of a campaign send gets
 * (campaign_send.h): the job's template and each A/B variant's (another
 * template, or the job's with another Subject: template_subject.c) loaded
 * once, the variant
 * of a contact in the test (its bucket: split.h, salted with the
 * campaign, so a resumed send and the dry run agree), and the message
 * rendered for it with the campaign header the milter tracks: the
 * campaign itself, or "<campaign>:<v>" for a test mail.
 */
#include <stdio.h>
#include <string.h>
#include "campaign_send.h"
#include "score.h"
#include "split.h"

static struct pb_template *load(const struct pb_conf *conf, const char *name, char *err,
                                size_t errlen)
{
    struct pb_tpl_opts o = {
        .from = conf->submit.from, .reply_to = conf->submit.reply_to,
        .campaign_header = conf->milter.campaign_header, .tracking_url = conf->tracking_url,
    };
    char *path = pb_tpl_resolve(conf->templates.dir, name);
    struct pb_template *t = pb_tpl_load(path, &o, err, errlen);

    g_free(path);
    return t;
}

static int load_variant(struct pb_csend_plan *p, int i, char *err, size_t errlen)
{
    const struct pb_csend_variant *v = &p->spec->var[i];
    char why[512];

    if (v->template && (p->tpl[i] = load(p->conf, v->template, err, errlen)) == NULL)
        return -1;
    if (v->subject && (p->subject[i] = pb_tpl_subject_new(v->subject, why, sizeof(why))) == NULL) {
        snprintf(err, errlen, "variant %s: subject \"%s\": %s", v->letter, v->subject, why);
        return -1;
    }
    return 0;
}

/* The test share split equally; what does not divide goes to the first. */
static void shares(struct pb_csend_plan *p)
{
    unsigned n = (unsigned)p->spec->nvariants, bp = p->spec->test_share_bp;

    for (unsigned i = 0; i < n; i++)
        p->shares[i] = bp / n + (i < bp % n);
}

int pb_csend_plan_load(struct pb_csend_plan *p, const struct pb_conf *conf,
                       const char *campaign, const struct pb_csend_spec *spec, char *err,
                       size_t errlen)
{
    memset(p, 0, sizeof(*p));
    p->spec = spec;
    p->conf = conf;
    snprintf(p->campaign, sizeof(p->campaign), "%s", campaign);
    if ((p->base = load(conf, spec->template, err, errlen)) == NULL)
        return -1;
    for (int i = 0; i < spec->nvariants; i++)
        if (load_variant(p, i, err, errlen) != 0) {
            pb_csend_plan_free(p);
            return -1;
        }
    shares(p);
    return 0;
}

void pb_csend_plan_free(struct pb_csend_plan *p)
{
    pb_tpl_free(p->base);
    for (int i = 0; i < PB_CSEND_VARIANTS; i++) {
        pb_tpl_free(p->tpl[i]);
        pb_tpl_subject_free(p->subject[i]);
    }
    memset(p, 0, sizeof(*p));
}

int pb_csend_plan_variant(const struct pb_csend_plan *p, const char *contact)
{
    if (p->spec->nvariants == 0)
        return -1;
    return pb_split_pick(pb_split_bucket(p->campaign, contact), p->shares,
                         (size_t)p->spec->nvariants);
}

const struct pb_template *pb_csend_plan_template(const struct pb_csend_plan *p, int v)
{
    return v >= 0 && p->tpl[v] ? p->tpl[v] : p->base;
}

static const char *field(const redisReply *hash, const char *name)
{
    for (size_t i = 0; i + 1 < hash->elements; i += 2)
        if (hash->element[i]->str && strcmp(hash->element[i]->str, name) == 0)
            return hash->element[i + 1]->str;
    return NULL;
}

int pb_csend_plan_render(const struct pb_csend_plan *p, int v, int test,
                         const redisReply *hash, long long now_ms, GString *msg,
                         const char **to, char *err, size_t errlen)
{
    const struct pb_template *t = pb_csend_plan_template(p, v);
    const char *score = field(hash, "score"), *at = field(hash, "score_at");
    size_t n = hash->elements / 2;
    struct pb_tpl_value *cv = g_new0(struct pb_tpl_value, n + 1);
    char campaign[72], shown[32];
    struct pb_tpl_info info;
    int rc;

    for (size_t i = 0; i < n; i++) {
        cv[i].name = hash->element[2 * i]->str ? hash->element[2 * i]->str : "";
        cv[i].value = hash->element[2 * i + 1]->str ? hash->element[2 * i + 1]->str : "";
    }
    snprintf(shown, sizeof(shown), "%.0f", pb_score_at(score ? g_ascii_strtod(score, NULL) : 0,
             at ? g_ascii_strtoll(at, NULL, 10) : now_ms, now_ms,
             (long long)p->conf->scorer.half_life_days * 86400000LL));
    if (test && v >= 0)
        snprintf(campaign, sizeof(campaign), "%s:%s", p->campaign, p->spec->var[v].letter);
    else
        snprintf(campaign, sizeof(campaign), "%s", p->campaign);
    *to = field(hash, "email");
    struct pb_tpl_value extra[3] = { { "score", shown }, { "segment", p->spec->segment },
                                     { "grade", field(hash, "grade") } };
    struct pb_tpl_input in = { .to = *to, .contact = cv, .ncontact = n, .extra = extra,
                               .nextra = extra[2].value ? 3 : 2, .campaign = campaign,
                               .subject = v >= 0 ? p->subject[v] : NULL, .date = now_ms / 1000 };
    if (*to == NULL || !**to) {
        snprintf(err, errlen, "the contact has no email address");
        rc = -1;
    } else if ((rc = pb_tpl_render(t, &in, msg, &info, err, errlen)) != 0) {
        char why[512];
        snprintf(why, sizeof(why), "%s", err);
        snprintf(err, errlen, "%s: %s", pb_tpl_path(t), why);
    }
    g_free(cv);
    return rc;
}
