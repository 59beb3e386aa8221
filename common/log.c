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

void log_msg(int level, const char *fmt, ...)
{
	char buf[2048];
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
	if (log_to_journal)
		fprintf(stderr, "<%d>%s\n", level, buf);
	else
		fprintf(stderr, "%s: %s: %s\n", log_ident, level_names[level & 7], buf);
}
