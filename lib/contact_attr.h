/*
 * contact_attr.h - the checks of a contact's attribute values
 * (docs/scorer.md, "Contacts") that every way in shares: a signup custom
 * event (lib/custom_event_contact.c) and the CLI's import (cli/import*.c).
 */
#ifndef PB_CONTACT_ATTR_H
#define PB_CONTACT_ATTR_H

#include <stddef.h>

#define PB_ATTR_TEXT_MAX 256    /* bytes of a contact attribute's text */
#define PB_ATTR_TAG_MAX  64     /* bytes of a tag */

/* "YYYY-MM-DD" or "--MM-DD", a real date (29 February without a year is). */
int pb_attr_birthday_valid(const char *s);
/* The same check, with the month (1..12) and day into *month and *day:
 * 1, or 0 (nothing set) if s is no such date. */
int pb_attr_date_md(const char *s, int *month, int *day);
/* An IANA time zone name the system's zoneinfo knows ("Europe/Berlin", "UTC");
 * a name only shaped like one ("Mars/Olympus") is not. */
int pb_attr_timezone_valid(const char *s);
/* 1..max bytes without control characters. */
int pb_attr_text_valid(const char *s, size_t len, size_t max);

#endif
