// SPDX-License-Identifier: GPL-2.0-only
#include <string.h>
#include <sodium.h>

#include "meeting_code.h"

#define LETTERS 10
#define LEGACY_DIGITS 6

/* Where the dashes go in the canonical form: after the 3rd and the 7th letter. */
static bool dash_after(int i) { return i == 3 || i == 7; }

void meeting_code_generate(char out[MEETING_CODE_SIZE])
{
	char *p = out;

	for (int i = 0; i < LETTERS; i++) {
		if (dash_after(i))
			*p++ = '-';
		*p++ = (char)('a' + randombytes_uniform(26));
	}
	*p = '\0';
}

static bool legacy(const char *in, char out[MEETING_CODE_SIZE])
{
	if (strlen(in) != LEGACY_DIGITS || strspn(in, "0123456789") != LEGACY_DIGITS)
		return false;
	memcpy(out, in, LEGACY_DIGITS + 1);
	return true;
}

bool meeting_code_normalize(const char *in, char out[MEETING_CODE_SIZE])
{
	char letters[LETTERS];
	int n = 0;

	if (!in || strlen(in) > 32)
		return false;
	if (legacy(in, out))
		return true;
	for (const char *s = in; *s; s++) {
		char c = *s;
		if (c == '-' || c == ' ')
			continue;
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c < 'a' || c > 'z' || n == LETTERS)
			return false;
		letters[n++] = c;
	}
	if (n != LETTERS)
		return false;
	char *p = out;
	for (int i = 0; i < LETTERS; i++) {
		if (dash_after(i))
			*p++ = '-';
		*p++ = letters[i];
	}
	*p = '\0';
	return true;
}
