/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One logging function for every program. Levels are syslog's. Messages go
 * to stderr with a level prefix, or to the journal's stderr protocol
 * ("<N>message") when JOURNAL_STREAM says systemd is listening, so the
 * journal keeps the priority. Library code does not log; callers do, once.
 * Every message is escaped on the way out (log_escape), so text a client
 * sent (a username, a path) can neither forge a log line nor carry
 * terminal control sequences, whichever caller logs it.
 *
 * Owns: the program's name, the level and the journal flag (file statics in
 * log.c), set by main.c at start (log_init, log_set_level) and only read
 * after. Callers: every module except the libraries that do not log (policy,
 * store, json_shape); any thread (one fprintf per message).
 */
#ifndef SPHINX_LOG_H
#define SPHINX_LOG_H

#include <stddef.h>
#include <syslog.h>

void log_init(const char *ident, int max_level);
void log_set_level(int max_level);
int log_get_level(void);
/*
 * Copy in to out (outlen > 0) with backslash written as \\, newline, tab
 * and CR as \n \t \r and every other control byte (0x00-0x1f, 0x7f) as
 * \xHH; bytes from 0x80 up pass unchanged (UTF-8). Cuts at a whole
 * character when out is full; always terminates. Returns strlen(out).
 */
size_t log_escape(const char *in, char *out, size_t outlen);

void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
