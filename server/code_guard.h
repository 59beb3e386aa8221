/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Wrong meeting codes, counted. Every place that takes a meeting code from
 * a client — joining, the meeting's pages, the lobby upgrade — answers
 * "no such meeting" differently from "not yours", so each is a place to
 * guess codes. Long random codes (meeting_code.h) make a guess nearly
 * hopeless; this makes guessing slow as well: each account and each peer
 * address may name a few unknown codes (join_attempts, join_attempts_address),
 * then one more every few minutes. While over its limit an account or
 * address gets 429 with Retry-After on every code route, right codes too,
 * so a lucky guess in the flood is not answered either.
 *
 * Only misses are counted: people who type the right code, however often,
 * never meet the limit; a lecture hall behind one NAT has a generous
 * per-address allowance.
 *
 * Owns: no state of its own: the counts are ratelimit.c's buckets, under one
 * rule per account and one per address. Callers, on the event-loop thread:
 * api_meetings.c (join and the meeting's routes) and ws.c (lobby upgrade).
 */
#ifndef SPHINX_CODE_GUARD_H
#define SPHINX_CODE_GUARD_H

#include <stdint.h>

/* 0 when the account (0: none) and the address (may be "") may name a code now, else ms until they may. */
int64_t code_guard_wait(int64_t user_id, const char *addr, int64_t now);
/* Count one unknown code named by the account and the address; logged once per lock-out. */
void code_guard_miss(int64_t user_id, const char *addr, int64_t now);

#endif
