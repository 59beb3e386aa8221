// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: the Cookie header parser (web_session_cookie_parse), the
 * only code that reads a browser's cookies. The first byte picks the
 * output buffer size (0 to 255 bytes), the second the cookie name looked
 * for (the session cookie under TLS or not, the OIDC state cookie, a
 * one-letter name); the rest is the header value. Besides the sanitizers,
 * the contract is checked: a value found fits its buffer, holds no ';' and
 * is trimmed of blanks, and a value is copied from the header itself.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "web_session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "sphinx_session", "__Host-sphinx_session", "sphinx_oidc_state", "a" };
	char *header, *out;
	size_t outlen;
	const char *name;
	int r;

	if (size < 2 || size > 8192)
		return 0;
	outlen = data[0];
	name = names[data[1] % (sizeof(names) / sizeof(names[0]))];
	header = strndup((const char *)data + 2, size - 2);	/* a header value ends at its first NUL */
	out = malloc(outlen ? outlen : 1);	/* exactly outlen bytes for ASan to guard */
	if (!header || !out)
		abort();
	r = web_session_cookie_parse(header, name, out, outlen);
	if (r == 0) {
		size_t n = strlen(out);
		if (n >= outlen || strchr(out, ';'))
			abort();
		if (n && (out[0] == ' ' || out[0] == '\t' || out[n - 1] == ' ' || out[n - 1] == '\t'))
			abort();
		if (!strstr(header, out))
			abort();
	} else if (r != -ENOENT && r != -E2BIG) {
		abort();
	}
	free(out);
	free(header);
	return 0;
}
