/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The data directory: checked to be a directory before the store opens it,
 * and locked by the serving process. Two servers on one directory would
 * each believe it owns the database (attendance recovery, live lobbies);
 * the second one is refused. The lock is flock(2) on data_dir/sphinx.lock,
 * held by an O_CLOEXEC descriptor for the life of the process, so it goes
 * away with the process however it ends (no stale lock files). The file
 * holds the owner's pid, only to name it in the refusal. Admin commands
 * (enroll-machine, ...) do not take the lock: they run beside a server.
 *
 * Owns: the lock's file descriptor (a file static in datadir.c). Callers:
 * main.c only: once at start, and datadir_server_pid() from the policy
 * admin commands.
 */
#ifndef SPHINX_DATADIR_H
#define SPHINX_DATADIR_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Create dir (0700) if missing and check it is a directory. 0, or -errno
 * with a message naming the directory and the problem in err.
 */
int datadir_check(const char *dir, char *err, size_t errlen);

/*
 * Take the serving lock on dir for the rest of the process's life. 0, or
 * -EBUSY with the holder's pid in err, or another -errno with why in err.
 */
int datadir_lock(const char *dir, char *err, size_t errlen);

/*
 * The pid of the server serving dir (holding its lock), for an admin
 * command that tells it something changed (policy push). 0 and *ret, or
 * -ESRCH when no server holds the lock, another -errno when the lock file
 * cannot be read. Does not take the lock (a shared probe, released at once).
 */
int datadir_server_pid(const char *dir, pid_t *ret);

#endif
