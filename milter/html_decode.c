/*
 * html_decode.c - pb_html_decode_attr(): character references in an
 * attribute value, decoded as the HTML5 tokenizer decodes them inside
 * attributes, so the URL we sign is the URL a browser follows.
 *
 * Rules (HTML5 "character reference state", attribute flavour):
 *  - &#NNN; and &#xHH; with or without ';'; 0, surrogates and values over
 *    U+10FFFF become U+FFFD, 0x80-0x9F are read as windows-1252; "&#"
 *    without digits stays as it is.
 *  - named references: the 106 legacy names (amp, lt, nbsp, copy...) also
 *    match without ';', but not when the next character is '=' or a letter
 *    or digit ("?a=1&copy=2" keeps "&copy"); every other name needs ';'.
 *  - a name followed by ';' that is not in our table may be one of the
 *    2000+ HTML5 names we do not carry: we return -1 and the caller leaves
 *    the link alone rather than sign a URL a browser would read otherwise.
 *  - CR and CRLF become LF, NUL becomes U+FFFD (input stream rules).
 */
#include <string.h>
#include "html_scan.h"

struct named_ref {
    const char *name;
    unsigned cp;
    int legacy;                 /* also matches without ';' */
};

static const struct named_ref named_refs[] = {
    /* legacy: match without ';' too */
    {"AElig", 198, 1}, {"AMP", 38, 1}, {"Aacute", 193, 1}, {"Acirc", 194, 1},
    {"Agrave", 192, 1}, {"Aring", 197, 1}, {"Atilde", 195, 1}, {"Auml", 196, 1},
    {"COPY", 169, 1}, {"Ccedil", 199, 1}, {"ETH", 208, 1}, {"Eacute", 201, 1},
    {"Ecirc", 202, 1}, {"Egrave", 200, 1}, {"Euml", 203, 1}, {"GT", 62, 1},
    {"Iacute", 205, 1}, {"Icirc", 206, 1}, {"Igrave", 204, 1}, {"Iuml", 207, 1},
    {"LT", 60, 1}, {"Ntilde", 209, 1}, {"Oacute", 211, 1}, {"Ocirc", 212, 1},
    {"Ograve", 210, 1}, {"Oslash", 216, 1}, {"Otilde", 213, 1}, {"Ouml", 214, 1},
    {"QUOT", 34, 1}, {"REG", 174, 1}, {"THORN", 222, 1}, {"Uacute", 218, 1},
    {"Ucirc", 219, 1}, {"Ugrave", 217, 1}, {"Uuml", 220, 1}, {"Yacute", 221, 1},
    {"aacute", 225, 1}, {"acirc", 226, 1}, {"acute", 180, 1}, {"aelig", 230, 1},
    {"agrave", 224, 1}, {"amp", 38, 1}, {"aring", 229, 1}, {"atilde", 227, 1},
    {"auml", 228, 1}, {"brvbar", 166, 1}, {"ccedil", 231, 1}, {"cedil", 184, 1},
    {"cent", 162, 1}, {"copy", 169, 1}, {"curren", 164, 1}, {"deg", 176, 1},
    {"divide", 247, 1}, {"eacute", 233, 1}, {"ecirc", 234, 1}, {"egrave", 232, 1},
    {"eth", 240, 1}, {"euml", 235, 1}, {"frac12", 189, 1}, {"frac14", 188, 1},
    {"frac34", 190, 1}, {"gt", 62, 1}, {"iacute", 237, 1}, {"icirc", 238, 1},
    {"iexcl", 161, 1}, {"igrave", 236, 1}, {"iquest", 191, 1}, {"iuml", 239, 1},
    {"laquo", 171, 1}, {"lt", 60, 1}, {"macr", 175, 1}, {"micro", 181, 1},
    {"middot", 183, 1}, {"nbsp", 160, 1}, {"not", 172, 1}, {"ntilde", 241, 1},
    {"oacute", 243, 1}, {"ocirc", 244, 1}, {"ograve", 242, 1}, {"ordf", 170, 1},
    {"ordm", 186, 1}, {"oslash", 248, 1}, {"otilde", 245, 1}, {"ouml", 246, 1},
    {"para", 182, 1}, {"plusmn", 177, 1}, {"pound", 163, 1}, {"quot", 34, 1},
    {"raquo", 187, 1}, {"reg", 174, 1}, {"sect", 167, 1}, {"shy", 173, 1},
    {"sup1", 185, 1}, {"sup2", 178, 1}, {"sup3", 179, 1}, {"szlig", 223, 1},
    {"thorn", 254, 1}, {"times", 215, 1}, {"uacute", 250, 1}, {"ucirc", 251, 1},
    {"ugrave", 249, 1}, {"uml", 168, 1}, {"uuml", 252, 1}, {"yacute", 253, 1},
    {"yen", 165, 1}, {"yuml", 255, 1},
    /* ';' required: ASCII punctuation names (they can hide "javascript&colon;") */
    {"Tab", 9, 0}, {"NewLine", 10, 0}, {"excl", 33, 0}, {"num", 35, 0},
    {"dollar", 36, 0}, {"percnt", 37, 0}, {"apos", 39, 0}, {"lpar", 40, 0},
    {"rpar", 41, 0}, {"ast", 42, 0}, {"midast", 42, 0}, {"plus", 43, 0},
    {"comma", 44, 0}, {"period", 46, 0}, {"sol", 47, 0}, {"colon", 58, 0},
    {"semi", 59, 0}, {"equals", 61, 0}, {"quest", 63, 0}, {"commat", 64, 0},
    {"lsqb", 91, 0}, {"lbrack", 91, 0}, {"bsol", 92, 0}, {"rsqb", 93, 0},
    {"rbrack", 93, 0}, {"Hat", 94, 0}, {"lowbar", 95, 0}, {"UnderBar", 95, 0},
    {"grave", 96, 0}, {"DiacriticalGrave", 96, 0}, {"lcub", 123, 0}, {"lbrace", 123, 0},
    {"verbar", 124, 0}, {"vert", 124, 0}, {"VerticalLine", 124, 0}, {"rcub", 125, 0},
    {"rbrace", 125, 0},
    /* ';' required: typography seen in mail */
    {"OElig", 338, 0}, {"oelig", 339, 0}, {"Scaron", 352, 0}, {"scaron", 353, 0},
    {"Yuml", 376, 0}, {"fnof", 402, 0}, {"circ", 710, 0}, {"tilde", 732, 0},
    {"ensp", 8194, 0}, {"emsp", 8195, 0}, {"thinsp", 8201, 0}, {"ZeroWidthSpace", 8203, 0},
    {"zwnj", 8204, 0}, {"zwj", 8205, 0}, {"lrm", 8206, 0}, {"rlm", 8207, 0},
    {"ndash", 8211, 0}, {"mdash", 8212, 0}, {"lsquo", 8216, 0}, {"rsquo", 8217, 0},
    {"sbquo", 8218, 0}, {"ldquo", 8220, 0}, {"rdquo", 8221, 0}, {"bdquo", 8222, 0},
    {"dagger", 8224, 0}, {"Dagger", 8225, 0}, {"bull", 8226, 0}, {"hellip", 8230, 0},
    {"permil", 8240, 0}, {"prime", 8242, 0}, {"Prime", 8243, 0}, {"lsaquo", 8249, 0},
    {"rsaquo", 8250, 0}, {"euro", 8364, 0}, {"trade", 8482, 0}, {"larr", 8592, 0},
    {"uarr", 8593, 0}, {"rarr", 8594, 0}, {"darr", 8595, 0}, {"starf", 9733, 0},
    {"star", 9734, 0}, {"hearts", 9829, 0}, {"check", 10003, 0},
    {NULL, 0, 0}
};

/* Numeric references 0x80-0x9F name windows-1252 characters. */
static const unsigned short cp1252[32] = {
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
    0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
    0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178
};

static inline int is_alnum(unsigned char c)
{
    return (unsigned char)((c | 0x20) - 'a') < 26 || (unsigned char)(c - '0') < 10;
}

static int hex_value(unsigned char c)
{
    if ((unsigned char)(c - '0') < 10)
        return c - '0';
    if ((unsigned char)((c | 0x20) - 'a') < 6)
        return (c | 0x20) - 'a' + 10;
    return -1;
}

/* "&#..." at s (n bytes): 1 with *cp and *used set, 0 if not a reference. */
static int numeric_ref(const char *s, size_t n, unsigned *cp, size_t *used)
{
    size_t i = 2;
    int base = 10;
    if (i < n && (s[i] == 'x' || s[i] == 'X')) {
        base = 16;
        i++;
    }
    size_t digits_at = i;
    unsigned long value = 0;
    for (; i < n; i++) {
        int d = base == 16 ? hex_value((unsigned char)s[i])
                           : ((unsigned char)(s[i] - '0') < 10 ? s[i] - '0' : -1);
        if (d < 0)
            break;
        value = value > 0x10FFFF ? 0x110000 : value * (unsigned)base + (unsigned)d;
    }
    if (i == digits_at)
        return 0;
    if (i < n && s[i] == ';')
        i++;
    if (value == 0 || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF))
        value = 0xFFFD;
    else if (value >= 0x80 && value <= 0x9F)
        value = cp1252[value - 0x80];
    *cp = (unsigned)value;
    *used = i;
    return 1;
}

/* "&name" at s: 1 decoded, 0 literal text, -1 a name we do not know. */
static int named_ref(const char *s, size_t n, unsigned *cp, size_t *used)
{
    size_t run = 1;
    while (run < n && is_alnum((unsigned char)s[run]))
        run++;
    size_t name_len = run - 1;
    if (name_len == 0)
        return 0;
    if (run < n && s[run] == ';') {
        for (const struct named_ref *r = named_refs; r->name; r++)
            if (r->name[0] == s[1] && strlen(r->name) == name_len
                && memcmp(r->name, s + 1, name_len) == 0) {
                *cp = r->cp;
                *used = run + 1;
                return 1;
            }
        return -1;
    }
    /* Without ';' only a legacy name can match, and in an attribute only
     * if the run of letters and digits ends with it and no '=' follows. */
    for (const struct named_ref *r = named_refs; r->legacy; r++)
        if (r->name[0] == s[1] && strlen(r->name) == name_len
            && memcmp(r->name, s + 1, name_len) == 0) {
            if (run < n && s[run] == '=')
                return 0;
            *cp = r->cp;
            *used = run;
            return 1;
        }
    return 0;
}

static size_t put_utf8(char *out, unsigned cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

int pb_html_decode_attr(const char *s, size_t len, char *out, size_t outlen, size_t *outlen_used)
{
    size_t o = 0, i = 0;
    while (i < len) {
        size_t run = i;                 /* plain bytes: copied in one go */
        while (run < len && s[run] != '&' && s[run] != '\r' && s[run] != '\0')
            run++;
        if (run > i) {
            if (outlen - o < run - i)
                return -1;
            memcpy(out + o, s + i, run - i);
            o += run - i;
            i = run;
            continue;
        }
        unsigned char c = (unsigned char)s[i];
        char buf[4];
        size_t n = 1, used = 1;
        unsigned cp;
        int r = 0;
        if (c == '&') {
            r = (i + 1 < len && s[i + 1] == '#') ? numeric_ref(s + i, len - i, &cp, &used)
                                                 : named_ref(s + i, len - i, &cp, &used);
            if (r < 0)
                return -1;
        }
        if (r > 0) {
            n = put_utf8(buf, cp);
        } else if (c == '\r') {
            buf[0] = '\n';
            used = (i + 1 < len && s[i + 1] == '\n') ? 2 : 1;
        } else if (c == '\0') {
            n = put_utf8(buf, 0xFFFD);
        } else {
            buf[0] = (char)c;           /* '&' that starts no reference */
        }
        if (outlen - o < n)
            return -1;
        memcpy(out + o, buf, n);
        o += n;
        i += used;
    }
    if (o < outlen)
        out[o] = '\0';
    if (outlen_used)
        *outlen_used = o;
    return 0;
}
