// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "libpath.h"

static char *ldconfig_listing;	/* output of `ldconfig -p`, NUL-terminated */

static const char *const lib_dirs[] = {
	"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
	"/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
	"/usr/lib64", "/lib64", "/usr/lib", "/lib", "/usr/local/lib",
};

static void load_listing(void)
{
	static const size_t cap = 4u << 20;
	FILE *p;
	size_t n = 0, size = 65536;
	char *buf;

	if (ldconfig_listing)
		return;
	p = popen("/sbin/ldconfig -p 2>/dev/null", "re");
	if (!p)
		return;
	buf = malloc(size);
	while (buf) {
		size_t got = fread(buf + n, 1, size - n - 1, p);

		n += got;
		if (got == 0 || size >= cap)
			break;
		if (n + 1 == size) {
			char *bigger = realloc(buf, size * 2);

			if (!bigger)
				break;
			buf = bigger;
			size *= 2;
		}
	}
	pclose(p);
	if (buf)
		buf[n] = '\0';
	ldconfig_listing = buf;
}

/* Lines look like: "\tlibxcb.so.1 (libc6,x86-64) => /lib/x86_64-linux-gnu/libxcb.so.1" */
static int from_listing(const char *soname, char *buf, size_t len)
{
	size_t sl = strlen(soname);
	const char *line;

	load_listing();
	for (line = ldconfig_listing; line && *line; ) {
		const char *end = strchr(line, '\n');
		const char *s = line;

		while (*s == '\t' || *s == ' ')
			s++;
		if (strncmp(s, soname, sl) == 0 && s[sl] == ' ') {
			const char *arrow = strstr(s, "=> ");

			if (arrow && (!end || arrow < end)) {
				size_t n = (end ? (size_t)(end - arrow) : strlen(arrow)) - 3;

				if (n < len) {
					memcpy(buf, arrow + 3, n);
					buf[n] = '\0';
					if (access(buf, R_OK) == 0)
						return 0;
				}
			}
		}
		line = end ? end + 1 : NULL;
	}
	return -ENOENT;
}

int libpath_resolve(const char *soname, char *buf, size_t len)
{
	if (from_listing(soname, buf, len) == 0)
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(lib_dirs); i++) {
		int n = snprintf(buf, len, "%s/%s", lib_dirs[i], soname);

		if (n > 0 && (size_t)n < len && access(buf, R_OK) == 0)
			return 0;
	}
	return -ENOENT;
}

void libpath_reset(void)
{
	free(ldconfig_listing);
	ldconfig_listing = NULL;
}
