/*
 * score.h - the value of a lazily decayed behaviour score: what every
 * reader (scorer, CLI, reports) shows and compares. Stored in Redis as a
 * pair (score, score_at); docs/scorer.md.
 */
#ifndef PB_SCORE_H
#define PB_SCORE_H

/* score (as of at_ms) decayed to now_ms with the given half-life
 * (milliseconds; 0 or less = no decay). A time before at_ms gives score
 * unchanged: the stored value is never decayed backwards. */
double pb_score_at(double score, long long at_ms, long long now_ms, long long half_life_ms);

#endif
