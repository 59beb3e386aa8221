// SPDX-License-Identifier: GPL-2.0-only
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static const char *log_ident = "sphinx";
static int log_max_level = LOG_INFO;
static int log_to_journal;

static const char *const level_names[] = {
	[LOG_EMERG] = "emerg", [LOG_ALERT] = "alert", [LOG_CRIT] = "crit",
	[LOG_ERR] = "error", [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
	[LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

void log_init(const char *ident, int max_level)
{
	log_ident = ident;
	log_max_level = max_level;
	/* systemd sets JOURNAL_STREAM when stderr is connected to the journal. */
	log_to_journal = getenv("JOURNAL_STREAM") != NULL;
}

void log_set_level(int max_level) { log_max_level = max_level; }
int log_get_level(void) { return log_max_level; }

size_t log_escape(const char *in, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (!outlen)
		return 0;
	for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
		char esc[4];
		size_t n = 0;

		if (*p == '\\') {
			esc[n++] = '\\';
			esc[n++] = '\\';
		} else if (*p == '\n' || *p == '\t' || *p == '\r') {
			esc[n++] = '\\';
			esc[n++] = *p == '\n' ? 'n' : *p == '\t' ? 't' : 'r';
		} else if (*p < 0x20 || *p == 0x7f) {
			esc[n++] = '\\';
			esc[n++] = 'x';
			esc[n++] = hex[*p >> 4];
			esc[n++] = hex[*p & 15];
		} else {
			esc[n++] = (char)*p;
		}
		if (o + n >= outlen)
			break;	/* cut at a whole character or escape */
		memcpy(out + o, esc, n);
		o += n;
	}
	out[o] = '\0';
	return o;
}

void log_msg(int level, const char *fmt, ...)
{
	char buf[2048], line[4096];
	va_list ap;

	if (level > log_max_level)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* Strip one trailing newline so callers (libbpf) may or may not add it. */
	size_t n = strlen(buf);
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	/* one message, one line, whatever a client put into it */
	log_escape(buf, line, sizeof(line));
	if (log_to_journal)
		fprintf(stderr, "<%d>%s\n", level, line);
	else
		fprintf(stderr, "%s: %s: %s\n", log_ident, level_names[level & 7], line);
}
