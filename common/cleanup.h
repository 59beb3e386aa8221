/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Scope-bound cleanup, in the manner of systemd: a variable declared with
 * _cleanup_free_ is freed when it goes out of scope, so every early return
 * is leak-free. TAKE_PTR() hands ownership out of such a variable.
 *
 * Owns: no state (macros and inline helpers only). Callers: any module of
 * any program, on any thread.
 */
#ifndef SPHINX_CLEANUP_H
#define SPHINX_CLEANUP_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <dirent.h>

static inline void freep(void *p) { free(*(void **)p); }
static inline void closep(int *fd) { if (*fd >= 0) close(*fd); }
static inline void fclosep(FILE **f) { if (*f) fclose(*f); }
static inline void closedirp(DIR **d) { if (*d) closedir(*d); }

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)
#define _cleanup_closedir_ _cleanup_(closedirp)

#define TAKE_PTR(p) ({ __typeof__(p) _p = (p); (p) = NULL; _p; })
#define TAKE_FD(fd) ({ int _fd = (fd); (fd) = -1; _fd; })

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
