/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Meeting codes. A code is what an attendee types or follows in a link, so
 * it must be short to read aloud and impossible to guess: ten letters a-z
 * drawn by libsodium, written in groups of three, four and three
 * ("abc-defg-hij", like Google Meet). That is 26^10 = 1.4e14 codes (47
 * bits): with a few thousand meetings going on at once, one guess in about
 * 3e10 lands anywhere, and meeting_join's attempt limits (a handful of
 * wrong codes per account and per address, then a lock-out) keep a
 * patient attacker below one hit in a million years.
 *
 * A code is unique among ongoing meetings only; an ended meeting's code
 * may be drawn again (the store looks up the ongoing meeting first).
 * Meetings created before this scheme keep their six-digit codes, which
 * are still accepted for lookup.
 *
 * Owns: no state (libsodium's randomness). Callers: meeting.c draws codes;
 * api_meetings.c and ws.c normalize what clients send. Pure functions, safe on
 * any thread.
 */
#ifndef SPHINX_MEETING_CODE_H
#define SPHINX_MEETING_CODE_H

#include <stdbool.h>

/* "abc-defg-hij" plus NUL, and room for a legacy six-digit code. */
#define MEETING_CODE_LEN 12
#define MEETING_CODE_SIZE 16

/* Draw a fresh code into out. */
void meeting_code_generate(char out[MEETING_CODE_SIZE]);

/*
 * Canonical form of a code as a person typed it: letters in any case, with
 * or without dashes and spaces ("ABC DEFG HIJ", "abcdefghij"), or a legacy
 * six-digit code. true and out set, or false when in is no code at all.
 */
bool meeting_code_normalize(const char *in, char out[MEETING_CODE_SIZE]);

#endif
