// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sodium.h>

#include "auth_local.h"

int auth_local_costs(const char *strength, unsigned long long *ops, size_t *mem)
{
	if (strcmp(strength, "moderate") == 0) {
		*ops = crypto_pwhash_OPSLIMIT_MODERATE;
		*mem = crypto_pwhash_MEMLIMIT_MODERATE;
	} else if (strcmp(strength, "min") == 0) {
		*ops = crypto_pwhash_OPSLIMIT_MIN;
		*mem = crypto_pwhash_MEMLIMIT_MIN;
	} else if (strcmp(strength, "interactive") == 0) {
		*ops = crypto_pwhash_OPSLIMIT_INTERACTIVE;
		*mem = crypto_pwhash_MEMLIMIT_INTERACTIVE;
	} else {
		return -EINVAL;
	}
	return 0;
}

int auth_local_hash(const char *password, unsigned long long ops, size_t mem, char out[128])
{
	_Static_assert(crypto_pwhash_STRBYTES <= 128, "hash buffer");
	if (crypto_pwhash_str_alg(out, password, strlen(password), ops, mem, crypto_pwhash_ALG_ARGON2ID13) != 0)
		return -ENOMEM;
	return 0;
}

int auth_local_verify(const char *hash, const char *password, unsigned long long ops, size_t mem)
{
	if (!hash) {
		/* unknown user: spend the same time so timing does not reveal it */
		char dummy[128];
		auth_local_hash(password, ops, mem, dummy);
		return -EACCES;
	}
	return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0 ? 0 : -EACCES;
}

const char *auth_local_check_username(const char *u)
{
	size_t n = strlen(u);

	if (n < 1 || n > 64)
		return "username must be 1 to 64 characters";
	for (size_t i = 0; i < n; i++) {
		char c = u[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			  (i > 0 && (c == '.' || c == '_' || c == '-'));
		if (!ok)
			return "username may hold only a-z, 0-9, '.', '_' and '-', starting with a letter or digit";
	}
	return NULL;
}

const char *auth_local_check_password(const char *p)
{
	size_t n = strlen(p);

	if (n < 8)
		return "password must be at least 8 characters";
	if (n > 256)
		return "password must be at most 256 characters";
	return NULL;
}
