// SPDX-License-Identifier: GPL-2.0-only
/*
 * See policy_bundle.h. Files are written with O_EXCL into a directory made
 * here, so a bundle never overwrites anything; a name is checked before it
 * becomes a path, so it cannot leave the directory.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "policy_bundle.h"

static bool has_suffix(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);

	return n > k && strcmp(s + n - k, suffix) == 0;
}

bool policy_bundle_name_ok(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n > POLICY_BUNDLE_NAME_MAX || name[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
		      (name[i] >= '0' && name[i] <= '9') || strchr("._-", name[i])))
			return false;
	return has_suffix(name, n, ".yml") || has_suffix(name, n, ".yaml");
}

int policy_bundle_validate(json_t *files, char *err, size_t errlen)
{
	size_t i, n = json_array_size(files), total;
	json_t *f;

	if (!json_is_array(files) || n == 0 || n > POLICY_MAX_FILES) {
		snprintf(err, errlen, "a bundle is an array of 1 to %u files", POLICY_MAX_FILES);
		return -EINVAL;
	}
	json_array_foreach(files, i, f) {
		const char *name = json_string_value(json_object_get(f, "name"));
		json_t *text = json_object_get(f, "text");

		if (!json_is_object(f) || !policy_bundle_name_ok(name)) {
			snprintf(err, errlen,
				 "file %zu: \"name\" must be 1 to %d of A-Z a-z 0-9 . _ - "
				 "ending in .yml or .yaml, not starting with '.'",
				 i + 1, POLICY_BUNDLE_NAME_MAX);
			return -EINVAL;
		}
		if (!json_is_string(text) || json_string_length(text) > POLICY_MAX_FILE_SIZE) {
			snprintf(err, errlen, "%s: \"text\" must be a string of at most %u bytes",
				 name, POLICY_MAX_FILE_SIZE);
			return -EINVAL;
		}
		if (memchr(json_string_value(text), '\0', json_string_length(text))) {
			snprintf(err, errlen, "%s: the text holds a NUL byte", name);
			return -EINVAL;
		}
		for (size_t j = 0; j < i; j++) {
			if (strcmp(name, json_string_value(json_object_get(json_array_get(files, j),
									   "name"))) == 0) {
				snprintf(err, errlen, "%s: named twice", name);
				return -EINVAL;
			}
		}
	}
	total = json_dumpb(files, NULL, 0, JSON_COMPACT);
	if (total == 0 || total > POLICY_BUNDLE_MAX_JSON) {
		snprintf(err, errlen, "the bundle is %zu bytes as JSON, over the limit of %u",
			 total, POLICY_BUNDLE_MAX_JSON);
		return -EINVAL;
	}
	return 0;
}

/* ------------------------------------------------------------ reading */

/* The whole of path, at most POLICY_MAX_FILE_SIZE bytes, as a JSON string (new reference). */
static int read_text(int dirfd, const char *name, json_t **ret, char *err, size_t errlen)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0) {
		int r = -errno;
		snprintf(err, errlen, "%s: cannot read: %s", name, strerror(-r));
		return r;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", name);
		return -EINVAL;
	}
	if (st.st_size > (off_t)POLICY_MAX_FILE_SIZE) {
		snprintf(err, errlen, "%s: larger than the limit of %u bytes", name,
			 POLICY_MAX_FILE_SIZE);
		return -EFBIG;
	}
	buf = malloc(POLICY_MAX_FILE_SIZE + 1);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n = read(fd, buf + len, POLICY_MAX_FILE_SIZE + 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int r = -errno;
			snprintf(err, errlen, "%s: cannot read: %s", name, strerror(-r));
			return r;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > POLICY_MAX_FILE_SIZE) {
			snprintf(err, errlen, "%s: larger than the limit of %u bytes", name,
				 POLICY_MAX_FILE_SIZE);
			return -EFBIG;
		}
	}
	*ret = json_stringn(buf, len);
	if (!*ret || !json_string_value(*ret)) {
		json_decref(*ret);
		snprintf(err, errlen, "%s: not UTF-8 text", name);
		return -EINVAL;
	}
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int policy_bundle_from_dir(const char *dir, json_t **ret, char *err, size_t errlen)
{
	_cleanup_closedir_ DIR *d = opendir(dir);
	json_auto_t *files = json_array();
	char *names[POLICY_MAX_FILES];
	size_t n = 0;
	struct dirent *de;
	int r = 0;

	if (!d) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", dir, strerror(-r));
		return r;
	}
	if (!files)
		return -ENOMEM;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);

		if (de->d_name[0] == '.' ||
		    !(has_suffix(de->d_name, len, ".yml") || has_suffix(de->d_name, len, ".yaml")))
			continue;
		if (!policy_bundle_name_ok(de->d_name)) {
			snprintf(err, errlen,
				 "%s/%s: a bundle's file names are 1 to %d of A-Z a-z 0-9 . _ -",
				 dir, de->d_name, POLICY_BUNDLE_NAME_MAX);
			r = -EINVAL;
			break;
		}
		if (n == POLICY_MAX_FILES) {
			snprintf(err, errlen, "%s: more than %u rule files", dir, POLICY_MAX_FILES);
			r = -EINVAL;
			break;
		}
		if (!(names[n] = strdup(de->d_name))) {
			r = -ENOMEM;
			break;
		}
		n++;
	}
	if (r == 0 && n == 0) {
		snprintf(err, errlen, "%s: no *.yml or *.yaml file", dir);
		r = -EINVAL;
	}
	qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; r == 0 && i < n; i++) {
		json_t *text = NULL;

		r = read_text(dirfd(d), names[i], &text, err, errlen);
		if (r == 0 && json_array_append_new(files, json_pack("{s:s, s:o}", "name", names[i],
								     "text", text)))
			r = -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	if (r == 0)
		r = policy_bundle_validate(files, err, errlen);
	if (r < 0)
		return r;
	*ret = json_incref(files);
	return 0;
}

/* ------------------------------------------------------------ writing */

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int policy_bundle_remove(const char *dir)
{
	_cleanup_closedir_ DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return -errno;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			unlinkat(dirfd(d), de->d_name, 0);
	return rmdir(dir) < 0 ? -errno : 0;
}

int policy_bundle_write(const char *dir, json_t *files, bool sync, char *err, size_t errlen)
{
	_cleanup_close_ int dfd = -1;
	size_t i;
	json_t *f;
	int r = 0;

	if (mkdir(dir, 0755) < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: cannot create: %s", dir, strerror(-r));
		return r;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		r = -errno;
	json_array_foreach(files, i, f) {
		const char *name = json_string_value(json_object_get(f, "name"));
		json_t *text = json_object_get(f, "text");
		_cleanup_close_ int fd = -1;

		if (r < 0)
			break;
		if (!policy_bundle_name_ok(name) || !json_is_string(text)) {
			r = -EINVAL;
			break;
		}
		fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
		if (fd < 0 ||
		    (r = write_all(fd, json_string_value(text), json_string_length(text))) < 0 ||
		    (sync && fsync(fd) < 0))
			r = r < 0 ? r : -errno;
	}
	if (r == 0 && sync && fsync(dfd) < 0)
		r = -errno;
	if (r < 0) {
		snprintf(err, errlen, "%s: cannot write the bundle: %s", dir, strerror(-r));
		policy_bundle_remove(dir);
	}
	return r;
}

/* ------------------------------------------------------------ loading */

int policy_bundle_load(const char *dir, struct policy **ret, struct policy_diags *diags)
{
	size_t first = diags ? diags->count : 0, len = strlen(dir);
	int r = policy_load(dir, ret, diags);

	for (size_t i = first; diags && i < diags->count; i++) {
		char *file = diags->items[i].file;

		/* "dir/x.yml" -> "x.yml"; the directory itself keeps its name */
		if (file && strncmp(file, dir, len) == 0 && file[len] == '/')
			memmove(file, file + len + 1, strlen(file + len + 1) + 1);
	}
	return r;
}

int policy_bundle_check(json_t *files, const char *tmp_parent, size_t *ret_rules,
			struct policy_diags *diags, char *err, size_t errlen)
{
	_cleanup_free_ char *dir = NULL;
	struct policy *p = NULL;
	int r;

	r = policy_bundle_validate(files, err, errlen);
	if (r < 0)
		return r;
	if (asprintf(&dir, "%s/.policy-check-XXXXXX", tmp_parent) < 0) {
		dir = NULL;
		return -ENOMEM;
	}
	if (!mkdtemp(dir)) {
		r = -errno;
		snprintf(err, errlen, "%s: cannot make a directory to check the bundle in: %s",
			 tmp_parent, strerror(-r));
		return r;
	}
	/* policy_bundle_write() makes the directory itself; read once and removed: no fsync */
	rmdir(dir);
	r = policy_bundle_write(dir, files, false, err, errlen);
	if (r < 0)
		return r;
	r = policy_bundle_load(dir, &p, diags);
	policy_bundle_remove(dir);
	if (r == 0)
		*ret_rules = policy_rule_count(p);
	else if (r != -EINVAL)
		snprintf(err, errlen, "cannot load the bundle: %s", strerror(-r));
	else
		snprintf(err, errlen, "the bundle has errors");
	policy_free(p);
	return r;
}

char *policy_diags_join(const struct policy_diags *diags)
{
	char *out = NULL, line[1024];
	size_t size = 0;
	FILE *f = open_memstream(&out, &size);

	if (!f)
		return NULL;
	for (size_t i = 0; i < diags->count; i++)
		fprintf(f, "%s%s", i ? "\n" : "",
			policy_diag_format(&diags->items[i], line, sizeof(line)));
	if (fclose(f) != 0) {
		free(out);
		return NULL;
	}
	return out;
}
