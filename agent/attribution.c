// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-login.h>

#include "attribution.h"
#include "cleanup.h"
#include "proc_table.h"

/* The value of @key in the process's environment, into @buf. */
static int proc_env(uint32_t pid, const char *key, char *buf, size_t len)
{
	char path[64], env[16384];
	_cleanup_close_ int fd = -1;
	size_t klen = strlen(key);
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%u/environ", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, env, sizeof(env) - 1);
	if (n <= 0)
		return -ENOENT;
	env[n] = '\0';
	for (char *s = env; s < env + n; s += strlen(s) + 1) {
		if (strncmp(s, key, klen) == 0 && s[klen] == '=') {
			snprintf(buf, len, "%s", s + klen + 1);
			return 0;
		}
	}
	return -ENOENT;
}

static int is_graphical(const char *session)
{
	_cleanup_free_ char *type = NULL;

	if (sd_session_get_type(session, &type) < 0)
		return 0;
	return strcmp(type, "x11") == 0 || strcmp(type, "wayland") == 0 || strcmp(type, "mir") == 0;
}

int attribution_user(uint32_t pid, uint32_t uid, char *buf, size_t len)
{
	char display[128];
	char **sessions = NULL;
	int n, found = 0;

	if (proc_env(pid, "DISPLAY", display, sizeof(display)) == 0 &&
	    (n = sd_get_sessions(&sessions)) > 0) {
		for (int i = 0; i < n && !found; i++) {
			_cleanup_free_ char *sdisplay = NULL;
			uid_t owner;

			if (is_graphical(sessions[i]) &&
			    sd_session_get_display(sessions[i], &sdisplay) == 0 &&
			    strcmp(sdisplay, display) == 0 &&
			    sd_session_get_uid(sessions[i], &owner) == 0) {
				snprintf(buf, len, "%s", user_name(owner));
				found = 1;
			}
		}
	}
	for (int i = 0; sessions && sessions[i]; i++)
		free(sessions[i]);
	free(sessions);
	if (!found)
		snprintf(buf, len, "%s", user_name(uid));
	return found;
}

int attribution_session_users(char **names, size_t max)
{
	char **sessions = NULL;
	size_t count = 0;
	int n = sd_get_sessions(&sessions);

	for (int i = 0; i < n && count < max; i++) {
		uid_t owner;
		int dup = 0;

		if (!is_graphical(sessions[i]) || sd_session_get_uid(sessions[i], &owner) < 0)
			continue;
		for (size_t j = 0; j < count; j++)
			dup |= strcmp(names[j], user_name(owner)) == 0;
		if (!dup && (names[count] = strdup(user_name(owner))))
			count++;
	}
	names[count] = NULL;
	for (int i = 0; sessions && sessions[i]; i++)
		free(sessions[i]);
	free(sessions);
	return (int)count;
}

void attribution_free_users(char **names)
{
	for (size_t i = 0; names && names[i]; i++)
		free(names[i]);
}
