/*
 * workflow_variant.c - A/B variants of a workflow's send step
 * (workflows.h): read from the step's `variants` list, each with a name,
 * a share in percent (the shares add up to 100), and its own subject
 * (a template-rendered Subject: lib/template_subject.c) and/or template.
 * Which variant a contact gets follows from its id alone
 * (lib/split.h, salt "<workflow>|<step>"), so a retry, a second scorer
 * and a restart pick the same one without storing anything first; the
 * runner records it (workflow_claim.c) and sends under the campaign
 * <workflow>:<step>:<variant>, which the reports group by.
 * docs/scorer.md ("Workflows").
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "split.h"
#include "template.h"
#include "workflow_variant.h"

static const char *const variant_fields[] = { "name", "share", "subject", "send", NULL };

/* share: a percentage over 0 and at most 100, in basis points. */
static int read_share(struct pb_rule_ctx *r, unsigned *out)
{
    double v = 0, bp;
    int present;

    if (pb_rc_get_number(r, "share", &v, &present) != 0)
        return -1;
    if (!present)
        return pb_rc_fail_member(r, NULL, "%s", "share is required: the percentage of the "
                                 "contacts that get this variant, e.g. share = 50;");
    bp = v * 100.0;
    if (!(v > 0 && v <= 100) || fabs(bp - round(bp)) > 1e-6)
        return pb_rc_fail_member(r, "share", "%s", "a percentage over 0 and at most 100, "
                                 "with at most two decimals (e.g. 50 or 33.34)");
    *out = (unsigned)lround(bp);
    return 0;
}

/* subject and send, both optional (neither: the step as it is, a control). */
static int read_changes(struct pb_rule_ctx *r, struct pb_wf_variant *v)
{
    const char *subject, *send;
    char err[400];

    if (pb_rc_get_str(r, "subject", &subject) != 0 || pb_rc_get_str(r, "send", &send) != 0)
        return -1;
    if (subject != NULL && (v->subject = pb_tpl_subject_new(subject, err, sizeof(err))) == NULL)
        return pb_rc_fail_member(r, "subject", "%s", err);
    if (send != NULL && pb_wf_check_template_name(r, "send", send) != 0)
        return -1;
    v->template_file = g_strdup(send);
    return 0;
}

static int read_variant(struct pb_rule_ctx *sr, const config_setting_t *g, int i,
                        const struct pb_workflow *wf, struct pb_wf_step *st)
{
    struct pb_wf_variant *v = &st->variants[i];
    struct pb_rule_ctx r;
    char what[160], campaign[65], err[200];
    const char *name;

    snprintf(what, sizeof(what), "%s.variants", sr->where);
    if (pb_rc_start(&r, sr->conf, g, what, i, "a variant { name = \"a\"; share = 50; "
                    "subject = \"...\"; }") != 0
        || pb_rc_read_name(&r, "a", &name) != 0)
        return -1;
    v->name = g_strdup(name);
    for (int j = 0; j < i; j++)
        if (strcmp(st->variants[j].name, name) == 0)
            return pb_rc_fail_member(&r, "name", "\"%s\" is used by an earlier variant", name);
    if (pb_tpl_campaign(wf->name, st->name, name, campaign, err, sizeof(err)) != 0)
        return pb_rc_fail_member(&r, "name", "%s", err);
    if (pb_rc_check_members(&r, variant_fields, "name, share, subject, send") != 0
        || read_share(&r, &v->share) != 0)
        return -1;
    return read_changes(&r, v);
}

/* The shares add up to 100 %. */
static int check_shares(struct pb_rule_ctx *r, const struct pb_wf_step *st)
{
    unsigned sum = 0;
    char shown[32];

    for (size_t i = 0; i < st->nvariants; i++)
        sum += st->variants[i].share;
    if (sum == PB_SPLIT_BUCKETS)
        return 0;
    if (sum % 100 == 0)
        snprintf(shown, sizeof(shown), "%u", sum / 100);
    else
        snprintf(shown, sizeof(shown), "%u.%02u", sum / 100, sum % 100);
    return pb_rc_fail_member(r, "variants", "the shares add up to %s %%, not 100 %% (change "
                             "them so that they do, e.g. 50 and 50)", shown);
}

int pb_wf_read_variants(struct pb_rule_ctx *r, const struct pb_workflow *wf,
                        struct pb_wf_step *st)
{
    const config_setting_t *l = config_setting_get_member(r->group, "variants");
    int n = l ? config_setting_length(l) : 0;

    if (l == NULL)
        return 0;
    if (st->kind != PB_WF_SEND)
        return pb_rc_fail_member(r, "variants", "%s", "variants go with a send step only "
                                 "(send = \"offer.eml\"; variants = ( ... );)");
    if (config_setting_type(l) != CONFIG_TYPE_LIST || n < 2 || n > PB_WF_VARIANTS_MAX)
        return pb_rc_fail_member(r, "variants", "%s", "a list of 2 to 20 variants ( { name = "
                                 "\"a\"; share = 50; subject = \"...\"; }, { name = \"b\"; "
                                 "share = 50; send = \"offer-b.eml\"; } )");
    st->variants = g_new0(struct pb_wf_variant, (size_t)n);
    for (int i = 0; i < n; i++) {
        st->nvariants = (size_t)i + 1;
        if (read_variant(r, config_setting_get_elem(l, (unsigned)i), i, wf, st) != 0)
            return -1;
    }
    return check_shares(r, st);
}

void pb_wf_variants_free(struct pb_wf_step *st)
{
    for (size_t i = 0; i < st->nvariants; i++) {
        struct pb_wf_variant *v = &st->variants[i];
        g_free(v->name);
        g_free(v->template_file);
        pb_tpl_subject_free(v->subject);
        if (v->tpl != NULL)
            pb_tpl_free(v->tpl);
    }
    g_free(st->variants);
    st->variants = NULL;
    st->nvariants = 0;
}

const struct pb_wf_variant *pb_wf_variant_pick(const struct pb_workflow *wf,
                                               const struct pb_wf_step *st, const char *cid)
{
    unsigned shares[PB_WF_VARIANTS_MAX];
    char *salt;
    int i;

    if (st->nvariants == 0)
        return NULL;
    for (size_t j = 0; j < st->nvariants; j++)
        shares[j] = st->variants[j].share;
    salt = g_strdup_printf("%s|%s", wf->name, st->name);
    i = pb_split_pick(pb_split_bucket(salt, cid), shares, st->nvariants);
    g_free(salt);
    return i >= 0 ? &st->variants[i] : NULL;   /* the shares add up to all buckets */
}
