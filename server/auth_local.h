/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Local accounts: argon2id password hashes (libsodium crypto_pwhash_str,
 * self-describing "$argon2id$v=19$m=...,t=...,p=1$..." strings) and the
 * rules for usernames and passwords. No logging here; callers log.
 *
 * Owns: no state (the hash costs main.c derives with auth_local_costs() live
 * in srv->pw_ops / pw_mem). Callers: api_auth.c (hashing and verifying on a
 * worker thread), oidc.c (username rules), main.c (costs, admin commands).
 * Thread-safe.
 */
#ifndef SPHINX_AUTH_LOCAL_H
#define SPHINX_AUTH_LOCAL_H

#include <stddef.h>
#include <stdint.h>

/* Cost presets: "interactive", "moderate", "min". Sets *ops and *mem. */
int auth_local_costs(const char *strength, unsigned long long *ops, size_t *mem);

/* Hash a password into out (crypto_pwhash_STRBYTES). 0 or -ENOMEM. */
int auth_local_hash(const char *password, unsigned long long ops, size_t mem, char out[128]);

/* 0 when password matches hash, -EACCES when not. A NULL hash burns the same time. */
int auth_local_verify(const char *hash, const char *password, unsigned long long ops, size_t mem);

/* 1..64 of [a-z0-9._-], starting with a letter or digit. NULL or a message. */
const char *auth_local_check_username(const char *u);
/* 8..256 bytes. NULL or a message. */
const char *auth_local_check_password(const char *p);

#endif
