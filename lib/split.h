/*
 * split.h - deterministic splits of contacts for A/B tests: a contact's
 * bucket (0..9999) from SHA-256 over a salt (the campaign, or the
 * workflow and step) and its id, and the variant its bucket falls in for
 * given shares. The same contact always gets the same variant of one
 * test (a resumed send, a second scorer, a re-run agree without storing
 * anything first), and different tests split independently.
 */
#ifndef PB_SPLIT_H
#define PB_SPLIT_H

#include <stddef.h>

#define PB_SPLIT_BUCKETS 10000   /* basis points: shares of 0.01 % */

/* 0..PB_SPLIT_BUCKETS-1 for contact (its id, 16 hex) in the test salt. */
unsigned pb_split_bucket(const char *salt, const char *contact);

/* The index of the share bucket falls in, the shares (in basis points)
 * laid out one after the other from 0; -1 when it is past their sum
 * (shares summing to less than PB_SPLIT_BUCKETS leave the rest out: the
 * contacts that wait for the winner of a test on a share of a segment). */
int pb_split_pick(unsigned bucket, const unsigned *shares, size_t n);

#endif
