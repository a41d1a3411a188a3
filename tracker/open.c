/*
 * open.c - GET/HEAD /o/<token>, /o/<token>.gif, /o/<token>.png: always the
 * same 43-byte transparent 1x1 GIF that no cache keeps, so a bad token
 * leaks nothing and never shows a broken image; an open is recorded only
 * when the token verifies as an open token.
 */
#include <string.h>
#include "routes.h"

static const unsigned char pixel_gif[43] = {
    'G', 'I', 'F', '8', '9', 'a', 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00,
    0x00, 0x00, 0x00, 0xff, 0xff, 0xff,                     /* palette: black, white */
    0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00,         /* colour 0 is transparent */
    0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00,
    0x02, 0x02, 0x44, 0x01, 0x00, 0x3b
};

void pb_route_open(struct pb_request *r)
{
    uint8_t buf[PB_TOKEN_MAX];
    struct pb_token tok;

    if (r->method == HTTP_POST) {
        pb_reply_method_not_allowed(r, "GET, HEAD");
        return;
    }
    if (r->token_len > 4 && (strcmp(r->token + r->token_len - 4, ".gif") == 0
                             || strcmp(r->token + r->token_len - 4, ".png") == 0))
        r->token_len -= 4;
    if (pb_request_token(r, PB_TOKEN_OPEN, buf, &tok) == PB_TOKEN_OK)
        pb_record_event(r, PB_EV_OPEN, &tok);
    pb_reply_header(r, "Cache-Control", "no-store, no-cache, must-revalidate, private");
    pb_reply_header(r, "Pragma", "no-cache");
    pb_reply_header(r, "Expires", "0");
    pb_reply(r, 200, "image/gif", pixel_gif, sizeof(pixel_gif));
}
