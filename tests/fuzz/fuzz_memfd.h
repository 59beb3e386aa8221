/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * For the fuzz targets of file parsers (policy, server and agent config):
 * the input becomes an anonymous file (memfd) read through its /proc path,
 * so the parser's own fopen/getline path runs, with no disk involved.
 */
#ifndef FUZZ_MEMFD_H
#define FUZZ_MEMFD_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* Write data to a new memfd and its path into path; returns the fd (abort on failure). */
static inline int fuzz_memfd(const uint8_t *data, size_t size, const char *name, char *path, size_t pathlen)
{
	int fd = memfd_create(name, MFD_CLOEXEC);

	if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size))
		abort();
	snprintf(path, pathlen, "/proc/self/fd/%d", fd);
	return fd;
}

#endif
