/*
 * score.c - the decayed behaviour score (score.h). The scorer's batch
 * script (scorer/apply.c) applies the same formula when it adds points,
 * so a value read here equals what the scorer would compute now.
 */
#include <math.h>
#include "score.h"

double pb_score_at(double score, long long at_ms, long long now_ms, long long half_life_ms)
{
    if (half_life_ms <= 0 || now_ms <= at_ms)
        return score;
    return score * exp2(-(double)(now_ms - at_ms) / (double)half_life_ms);
}
