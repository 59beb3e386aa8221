/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Find a shared library's file the way the dynamic linker would: the
 * ldconfig cache first (`ldconfig -p`, read once), then the usual
 * multiarch and lib directories. Uprobes attach to the file's inode, so
 * every process mapping it is covered.
 *
 * Owns: the ldconfig cache, read once (libpath_reset() frees it).
 * Callers: layer.c (the api layer's libraries), main.c (reset).
 */
#ifndef SPHINX_LIBPATH_H
#define SPHINX_LIBPATH_H

#include <stddef.h>

/* Resolve @soname into @buf. 0, or -ENOENT when it is not installed. */
int libpath_resolve(const char *soname, char *buf, size_t len);
/* Forget the cached ldconfig listing (after SIGHUP, new packages). */
void libpath_reset(void);

#endif
