// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "datadir.h"
#include "util.h"

#define LOCK_NAME "sphinx.lock"

int datadir_check(const char *dir, char *err, size_t errlen)
{
	struct stat st;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		int e = errno;
		snprintf(err, errlen, "data directory %s cannot be created: %s", dir, strerror(e));
		return -e;
	}
	if (stat(dir, &st) < 0) {
		int e = errno;
		snprintf(err, errlen, "data directory %s: %s", dir, strerror(e));
		return -e;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "data directory %s is not a directory (set data_dir or --data to a directory)",
			 dir);
		return -ENOTDIR;
	}
	return 0;
}

/* Descriptor holding the lock: never closed, so the lock lives as long as we do. */
static int lock_fd = -1;

int datadir_lock(const char *dir, char *err, size_t errlen)
{
	_cleanup_close_ int fd = -1;
	char path[4096], pid[32];
	ssize_t n;
	int len;

	if (snprintf(path, sizeof(path), "%s/%s", dir, LOCK_NAME) >= (int)sizeof(path)) {
		snprintf(err, errlen, "data directory path too long");
		return -ENAMETOOLONG;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "cannot open lock file %s: %s", path, strerror(e));
		return -e;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		if (e != EWOULDBLOCK) {
			snprintf(err, errlen, "cannot lock %s: %s", path, strerror(e));
			return -e;
		}
		n = pread(fd, pid, sizeof(pid) - 1, 0);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		snprintf(err, errlen, "data directory %s is in use by another sphinx-server (pid %s); "
			 "stop it first or give this one another --data", dir, pid[0] ? pid : "unknown");
		return -EBUSY;
	}
	len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)len, 0) != len) {
		int e = errno ? errno : EIO;
		snprintf(err, errlen, "cannot write lock file %s: %s", path, strerror(e));
		return -e;
	}
	lock_fd = TAKE_FD(fd);
	return 0;
}

int datadir_server_pid(const char *dir, pid_t *ret)
{
	_cleanup_close_ int fd = -1;
	char path[4096], pid[32];
	uint64_t v;
	ssize_t n;

	if (snprintf(path, sizeof(path), "%s/%s", dir, LOCK_NAME) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	/* a shared lock we can take means no server holds its exclusive one (ours goes with fd) */
	if (flock(fd, LOCK_SH | LOCK_NB) == 0)
		return -ESRCH;
	if (errno != EWOULDBLOCK)
		return -errno;
	n = pread(fd, pid, sizeof(pid) - 1, 0);
	pid[n > 0 ? n : 0] = '\0';
	pid[strcspn(pid, "\n")] = '\0';
	if (parse_u64(pid, 1, INT32_MAX, &v) < 0)
		return -ESRCH;
	*ret = (pid_t)v;
	return 0;
}
