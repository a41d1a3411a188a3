/*
 * url.h - what postbeacon needs to know about a link's URL, and adding UTM
 * parameters to it. uriparser checks the syntax and finds host and query;
 * the URL text itself is changed only by inserting parameters before the
 * fragment, so everything else in it survives byte for byte.
 */
#ifndef PB_URL_H
#define PB_URL_H

#include <stddef.h>
#include <glib.h>
#include "conf.h"

/* 1 if url starts with http:// or https:// (any case). Callers trim
 * surrounding ASCII whitespace first: " http://a" is not http. */
int pb_url_is_http(const char *url, size_t len);

/* Host of an http(s) URL, lowercased and percent-decoded, without port or
 * userinfo; 0 on success, -1 if there is no parseable host. */
int pb_url_host(const char *url, size_t len, char *out, size_t outlen);

/* 1 if host equals one of the domains or is a subdomain of one. */
int pb_host_in_domains(const char *host, const struct pb_strlist *domains);

/* Append url to out with every missing utm_* parameter the configuration
 * gives (never replacing one already present), inserted before any
 * fragment. content is this link's utm_content (NULL = none). Only for
 * hosts in utm->domains; otherwise url is appended unchanged.
 * Returns the number of parameters added, or -1 (out untouched) if the
 * URL does not parse. */
int pb_utm_apply(const struct pb_utm_conf *utm, const char *campaign,
                 const char *content, const char *url, size_t len, GString *out);

/* pb_utm_apply for a URL the caller has already checked: pb_url_host
 * accepted it and its host is in utm->domains (and utm->enabled). Adds
 * the parameters without parsing the URL again; returns how many. */
int pb_utm_append(const struct pb_utm_conf *utm, const char *campaign,
                  const char *content, const char *url, size_t len, GString *out);

/* Lowercase ASCII slug of text ("Shop now!" -> "shop-now"), at most
 * outlen-1 chars; returns its length (0 if nothing usable). */
size_t pb_slug(const char *text, size_t len, char *out, size_t outlen);

#endif
