// SPDX-License-Identifier: GPL-2.0-only
/*
 * Loading a policy: paths → files → policy_parse_buffer(), then the
 * per-category index (policy_rules.c, which owns the rule set).
 *
 * A directory's *.yml / *.yaml files (not hidden ones, not recursively)
 * are read in strcmp() order, so the load order — which breaks ties
 * between equally-levelled matches — is the files' names. Each file is
 * read whole (at most POLICY_MAX_FILE_SIZE bytes) and handed to libyaml
 * as a string. Errors never stop the load early, except running out of
 * memory or of the POLICY_MAX_RULES budget: everything found goes to the
 * diagnostics, and any error fails the load.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "policy_internal.h"

static void policy_freep(struct policy **p)
{
	policy_free(*p);
}

/* -------------------------------------------------------------- files */

/* Read @path whole (NUL-terminated) if it is a regular file within the cap. */
static int read_file(struct policy_loader *l, const char *path, char **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, cap;
	struct stat st;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 || fstat(fd, &st) < 0) {
		int r = -errno;

		policy_error(l, path, 0, 0, "cannot read: %s", strerror(-r));
		return r;
	}
	if (!S_ISREG(st.st_mode)) {
		policy_error(l, path, 0, 0, "not a regular file");
		return -EINVAL;
	}
	if (st.st_size > (off_t)POLICY_MAX_FILE_SIZE)
		goto too_big;
	/* One byte beyond the cap, to notice a file that grew since fstat(). */
	cap = (size_t)st.st_size + 2;
	if (cap > POLICY_MAX_FILE_SIZE + 2)
		cap = POLICY_MAX_FILE_SIZE + 2;
	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n;

		if (len == cap - 1) {
			char *bigger;

			if (cap >= POLICY_MAX_FILE_SIZE + 2)
				goto too_big;
			cap *= 2;
			if (cap > POLICY_MAX_FILE_SIZE + 2)
				cap = POLICY_MAX_FILE_SIZE + 2;
			bigger = realloc(buf, cap);
			if (!bigger)
				return -ENOMEM;
			buf = bigger;
		}
		n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int r = -errno;

			policy_error(l, path, 0, 0, "cannot read: %s", strerror(-r));
			return r;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > POLICY_MAX_FILE_SIZE)
		goto too_big;
	buf[len] = '\0';
	*ret = TAKE_PTR(buf);
	*ret_len = len;
	return 0;
too_big:
	policy_error(l, path, 0, 0, "file is larger than the limit of %u bytes",
		     POLICY_MAX_FILE_SIZE);
	return -EFBIG;
}

static int load_file(struct policy_loader *l, struct policy *policy, const char *path)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	int r;

	r = read_file(l, path, &buf, &len);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		/* Reported; an I/O failure also decides the load's return value. */
		if (r != -EINVAL && r != -EFBIG && !l->io_error)
			l->io_error = r;
		return 0;
	}
	return policy_parse_buffer(l, policy, path, buf, len);
}

static bool is_policy_file_name(const char *name)
{
	size_t n = strlen(name);

	if (name[0] == '.')
		return false;
	return (n > 4 && strcmp(name + n - 4, ".yml") == 0) ||
	       (n > 5 && strcmp(name + n - 5, ".yaml") == 0);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* The directory's policy file names, sorted; at most POLICY_MAX_FILES. */
static int list_dir(struct policy_loader *l, const char *path, char ***ret, size_t *ret_n)
{
	_cleanup_closedir_ DIR *dir = opendir(path);
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;

	if (!dir) {
		int r = -errno;

		policy_error(l, path, 0, 0, "cannot read directory: %s", strerror(-r));
		return r;
	}
	while ((errno = 0, de = readdir(dir))) {
		if (!is_policy_file_name(de->d_name))
			continue;
		if (n == POLICY_MAX_FILES) {
			policy_error(l, path, 0, 0, "more than %d policy files in the directory",
				     POLICY_MAX_FILES);
			free_names(names, n);
			return -EINVAL;
		}
		if (n == cap) {
			char **bigger;

			cap = cap ? cap * 2 : 16;
			bigger = realloc(names, cap * sizeof(*names));
			if (!bigger) {
				free_names(names, n);
				return -ENOMEM;
			}
			names = bigger;
		}
		names[n] = strdup(de->d_name);
		if (!names[n]) {
			free_names(names, n);
			return -ENOMEM;
		}
		n++;
	}
	if (errno) {
		int r = -errno;

		policy_error(l, path, 0, 0, "cannot read directory: %s", strerror(-r));
		free_names(names, n);
		return r;
	}
	if (n)
		qsort(names, n, sizeof(*names), cmp_names);
	*ret = names;
	*ret_n = n;
	return 0;
}

static int load_dir(struct policy_loader *l, struct policy *policy, const char *path)
{
	char **names = NULL;
	size_t n = 0;
	int r;

	r = list_dir(l, path, &names, &n);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		if (r != -EINVAL && !l->io_error)
			l->io_error = r;
		return 0;
	}
	for (size_t i = 0; i < n && r >= 0; i++) {
		_cleanup_free_ char *file = NULL;
		size_t len = strlen(path);

		if (asprintf(&file, "%s%s%s", path, len && path[len - 1] == '/' ? "" : "/",
			     names[i]) < 0) {
			file = NULL;
			r = -ENOMEM;
			break;
		}
		r = load_file(l, policy, file);
	}
	free_names(names, n);
	return r == -ENOMEM ? r : 0;
}

static int load_path(struct policy_loader *l, struct policy *policy, const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		int r = -errno;

		policy_error(l, path, 0, 0, "cannot read: %s", strerror(-r));
		if (!l->io_error)
			l->io_error = r;
		return 0;
	}
	if (S_ISDIR(st.st_mode))
		return load_dir(l, policy, path);
	return load_file(l, policy, path);
}

int policy_load_paths(const char *const *paths, size_t n_paths, struct policy **ret,
		      struct policy_diags *diags)
{
	_cleanup_(policy_freep) struct policy *policy = NULL;
	struct policy_loader l = { .diags = diags };
	int r;

	policy = calloc(1, sizeof(*policy));
	if (!policy)
		return -ENOMEM;
	for (size_t i = 0; i < n_paths; i++) {
		r = load_path(&l, policy, paths[i]);
		if (r < 0)
			return r;
	}
	if (l.io_error)
		return l.io_error;
	if (l.n_errors)
		return -EINVAL;
	r = policy_build_index(policy);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(policy);
	return 0;
}

int policy_load(const char *path, struct policy **ret, struct policy_diags *diags)
{
	return policy_load_paths(&path, 1, ret, diags);
}
