/*
 * replay.h - the signatures of custom-event requests (POST /e) the tracker
 * accepted, each remembered until its timestamp leaves the replay window,
 * so that the same signed request sent again within the window is refused
 * (401 replayed). After the window the timestamp alone refuses it. Only
 * in memory, per process: a restarted tracker, or another tracker behind
 * the same load balancer, does not know them, but such a copy still
 * reaches Redis only once, because the event's id comes from the
 * signature (lib/custom_event.h) and Redis writes an id once.
 */
#ifndef PB_TRACKER_REPLAY_H
#define PB_TRACKER_REPLAY_H

#include <stddef.h>

/* 1 if the signature (64 hex, any case) was accepted and has not expired
 * by now_s; forgets the expired ones first. */
int pb_replay_seen(const char *signature, long long now_s);
/* Remember it until expires_s (its timestamp + the window). */
void pb_replay_add(const char *signature, long long expires_s);
size_t pb_replay_count(void);
void pb_replay_free(void);

#endif
