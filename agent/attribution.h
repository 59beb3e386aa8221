/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Who is recording: the owner of the graphical login session (logind, via
 * sd-login) whose display the capturing process uses, falling back to the
 * process owner — a recorder started over ssh or by a service still names
 * the person at the screen when it captures their display.
 *
 * Owns: nothing (asks logind on each call). Callers: events.c (at a
 * capture's begin), main.c (the users for the hello message).
 */
#ifndef SPHINX_ATTRIBUTION_H
#define SPHINX_ATTRIBUTION_H

#include <stddef.h>
#include <stdint.h>

/*
 * The user name for a capture by @pid (owner @uid) into @buf. Returns 1
 * when a graphical session's owner was found, 0 for the process owner.
 */
int attribution_user(uint32_t pid, uint32_t uid, char *buf, size_t len);

/*
 * Owners of the graphical (x11, wayland, mir) sessions on this machine,
 * NULL-terminated, at most @max names, into @names (strings malloc'd:
 * free with attribution_free_users()). Returns the count (0 without
 * logind).
 */
int attribution_session_users(char **names, size_t max);
void attribution_free_users(char **names);

#endif
