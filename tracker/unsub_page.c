/*
 * unsub_page.c - texts and markup of the unsubscribe pages (unsub_page.h).
 */
#include <string.h>
#include <openssl/evp.h>
#include "unsub_page.h"

struct page_texts {
    const char *lang;
    const char *ask_title, *ask_text, *campaign_label, *button;
    const char *done_title, *done_text;
    const char *invalid_title, *invalid_text;
    const char *placeholder_title, *placeholder_text;
};

/* U+00A0 (no-break space) and U+2019 (apostrophe) in UTF-8. */
#define NBSP "\xc2\xa0"
#define APOS "\xe2\x80\x99"

static const struct page_texts texts[] = {
    { "en",
      "Unsubscribe", "Do you want to stop receiving these e-mails from us?", "Campaign:",
      "Unsubscribe",
      "You are unsubscribed", "You will not receive any more of these e-mails from us.",
      "This link is not valid",
      "The unsubscribe link is incomplete or no longer valid. Copy the whole link from "
      "the e-mail, or reply to the e-mail and ask to be unsubscribed.",
      "This link was not completed",
      "This e-mail was sent without your personal unsubscribe link, so this page cannot "
      "tell whose subscription to end, and nothing was changed. Please reply to the e-mail "
      "and ask to be unsubscribed." },
    { "de",
      "Abmelden", "M\xc3\xb6" "chten Sie diese E-Mails nicht mehr von uns erhalten?",
      "Kampagne:", "Abmelden",
      "Sie sind abgemeldet", "Sie erhalten diese E-Mails nicht mehr von uns.",
      "Dieser Link ist ung\xc3\xbcltig",
      "Der Abmeldelink ist unvollst\xc3\xa4ndig oder nicht mehr g\xc3\xbcltig. Kopieren Sie "
      "den ganzen Link aus der E-Mail, oder antworten Sie auf die E-Mail und bitten Sie "
      "um Abmeldung.",
      "Dieser Link wurde nicht vervollst\xc3\xa4ndigt",
      "Diese E-Mail wurde ohne Ihren pers\xc3\xb6nlichen Abmeldelink verschickt. Diese Seite "
      "kann daher nicht erkennen, wessen Abonnement enden soll, und es wurde nichts "
      "ge\xc3\xa4ndert. Bitte antworten Sie auf die E-Mail und bitten Sie um Abmeldung." },
    { "fr",
      "Se d\xc3\xa9sabonner",
      "Voulez-vous ne plus recevoir ces e-mails de notre part" NBSP "?", "Campagne" NBSP ":",
      "Me d\xc3\xa9sabonner",
      "Vous \xc3\xaates d\xc3\xa9sabonn\xc3\xa9",
      "Vous ne recevrez plus ces e-mails de notre part.",
      "Ce lien n" APOS "est pas valide",
      "Le lien de d\xc3\xa9sabonnement est incomplet ou n" APOS "est plus valide. Copiez le "
      "lien complet depuis l" APOS "e-mail, ou r\xc3\xa9pondez \xc3\xa0 l" APOS "e-mail pour "
      "demander votre d\xc3\xa9sabonnement.",
      "Ce lien n" APOS "a pas \xc3\xa9t\xc3\xa9 compl\xc3\xa9t\xc3\xa9",
      "Cet e-mail a \xc3\xa9t\xc3\xa9 envoy\xc3\xa9 sans votre lien de "
      "d\xc3\xa9sabonnement personnel" NBSP ": cette page ne peut donc pas savoir quel "
      "abonnement arr\xc3\xaater, et rien n" APOS "a \xc3\xa9t\xc3\xa9 modifi\xc3\xa9. "
      "R\xc3\xa9pondez \xc3\xa0 l" APOS "e-mail pour demander votre "
      "d\xc3\xa9sabonnement." },
};

static const char style[] =
    "body{font-family:system-ui,sans-serif;margin:0;padding:2rem 1rem;line-height:1.5;"
    "color:#1a1a1a;background:#fff}"
    "main{max-width:34rem;margin:0 auto}"
    "button{font:inherit;padding:.6rem 1.4rem;border:0;border-radius:.3rem;"
    "background:#1d4ed8;color:#fff;cursor:pointer}"
    "button:focus-visible{outline:3px solid #b45309;outline-offset:2px}";

static const struct page_texts *texts_for(const char *lang)
{
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
        if (lang != NULL && strcmp(lang, texts[i].lang) == 0)
            return &texts[i];
    return &texts[0];
}

void pb_html_escape(GString *out, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': g_string_append(out, "&amp;"); break;
        case '<': g_string_append(out, "&lt;"); break;
        case '>': g_string_append(out, "&gt;"); break;
        case '"': g_string_append(out, "&quot;"); break;
        case '\'': g_string_append(out, "&#39;"); break;
        default: g_string_append_c(out, *s); break;
        }
    }
}

const char *pb_unsub_page_csp(void)
{
    static char csp[256];
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned char b64[64];
    unsigned int len = 0;

    if (csp[0] != '\0')
        return csp;
    EVP_Digest(style, strlen(style), digest, &len, EVP_sha256(), NULL);
    EVP_EncodeBlock(b64, digest, (int)len);
    g_snprintf(csp, sizeof(csp), "default-src 'none'; style-src 'sha256-%s'; "
               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'", b64);
    return csp;
}

static void page_start(GString *out, const struct page_texts *t, const char *title)
{
    g_string_append_printf(out, "<!DOCTYPE html>\n<html lang=\"%s\">\n<head>\n"
                           "<meta charset=\"utf-8\">\n"
                           "<meta name=\"viewport\" content=\"width=device-width, "
                           "initial-scale=1\">\n"
                           "<meta name=\"robots\" content=\"noindex, nofollow\">\n"
                           "<title>%s</title>\n<style>%s</style>\n</head>\n<body>\n<main>\n"
                           "<h1>%s</h1>\n", t->lang, title, style, title);
}

void pb_unsub_page(GString *out, const char *lang, enum pb_unsub_page which,
                   const char *campaign)
{
    const struct page_texts *t = texts_for(lang);

    switch (which) {
    case PB_UNSUB_ASK:
        page_start(out, t, t->ask_title);
        g_string_append_printf(out, "<p>%s</p>\n", t->ask_text);
        if (campaign != NULL && *campaign != '\0') {
            g_string_append_printf(out, "<p>%s <strong>", t->campaign_label);
            pb_html_escape(out, campaign);
            g_string_append(out, "</strong></p>\n");
        }
        g_string_append_printf(out, "<form method=\"post\">\n"
                               "<input type=\"hidden\" name=\"List-Unsubscribe\" "
                               "value=\"One-Click\">\n"
                               "<button type=\"submit\">%s</button>\n</form>\n", t->button);
        break;
    case PB_UNSUB_DONE:
        page_start(out, t, t->done_title);
        g_string_append_printf(out, "<p>%s</p>\n", t->done_text);
        break;
    case PB_UNSUB_INVALID:
        page_start(out, t, t->invalid_title);
        g_string_append_printf(out, "<p>%s</p>\n", t->invalid_text);
        break;
    case PB_UNSUB_PLACEHOLDER:
        page_start(out, t, t->placeholder_title);
        g_string_append_printf(out, "<p>%s</p>\n", t->placeholder_text);
        break;
    }
    g_string_append(out, "</main>\n</body>\n</html>\n");
}
