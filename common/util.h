/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Small helpers every program needs: one checked number parser (no atoi),
 * duration parsing ("3s", "250ms"), clocks.
 *
 * Owns: no state. Callers: any module of any program, on any thread.
 */
#ifndef SPHINX_UTIL_H
#define SPHINX_UTIL_H

#include <stdbool.h>
#include <stdint.h>

/* Parse a whole decimal string into [min, max]. Returns 0 or -EINVAL/-ERANGE. */
int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *ret);

/*
 * Parse a duration: a number followed by "ms", "s", "m" or "h" (a bare
 * number means seconds). Result in milliseconds. 0 or -EINVAL/-ERANGE.
 */
int parse_duration_ms(const char *s, uint64_t *ret_ms);

uint64_t now_realtime_ns(void);
/* Offset to add to a CLOCK_MONOTONIC/BOOTTIME value to get wall-clock ns. */
uint64_t boottime_to_realtime_offset_ns(void);

bool str_has_prefix(const char *s, const char *prefix);

/* A number from a header as a string literal: "up to " STR(PROTO_LOBBY_CHAT_MAX) " bytes". */
#define STR_(x) #x
#define STR(x) STR_(x)

#endif
