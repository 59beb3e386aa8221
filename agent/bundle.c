// SPDX-License-Identifier: GPL-2.0-only
/* See bundle.h. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle.h"
#include "cleanup.h"
#include "policy.h"
#include "policy_bundle.h"

/* A group name as the server allows them: it reaches the log and the status file. */
static bool group_ok(const char *grp)
{
	size_t n = grp ? strlen(grp) : 0;

	if (n == 0 || n > BUNDLE_GROUP_MAX)
		return false;
	return strspn(grp, "abcdefghijklmnopqrstuvwxyz"
			   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

/* The version and group of a "policy" message or a bundle.json; -EINVAL when wrong. */
static int read_info(json_t *obj, struct bundle_info *info)
{
	json_t *v = json_object_get(obj, "version");
	const char *grp = json_string_value(json_object_get(obj, "group"));

	if (!json_is_integer(v) || json_integer_value(v) < 1 || !group_ok(grp))
		return -EINVAL;
	info->version = json_integer_value(v);
	snprintf(info->group, sizeof(info->group), "%s", grp);
	return 0;
}

int bundle_load_last_good(const char *dir, struct policy **ret, struct bundle_info *info, char *err,
			  size_t errlen)
{
	_cleanup_free_ char *meta_path = NULL;
	struct policy_diags diags = {};
	struct bundle_info got = {};
	json_error_t jerr;
	json_t *meta;
	int r;

	if (access(dir, F_OK) < 0)
		return -errno;
	if (asprintf(&meta_path, "%s/" POLICY_BUNDLE_META, dir) < 0) {
		meta_path = NULL;
		return -ENOMEM;
	}
	meta = json_load_file(meta_path, 0, &jerr);
	r = meta ? read_info(meta, &got) : -EINVAL;
	json_decref(meta);
	if (r < 0) {
		snprintf(err, errlen, "%s: no valid version and group: %s", meta_path,
			 meta ? "wrong fields" : jerr.text);
		return r;
	}
	r = policy_load(dir, ret, &diags);
	if (r < 0) {
		char line[512] = "";

		if (diags.count)
			policy_diag_format(&diags.items[0], line, sizeof(line));
		snprintf(err, errlen, "%s (v%lld) no longer loads: %s", dir, (long long)got.version,
			 line[0] ? line : strerror(-r));
		policy_diags_clear(&diags);
		return r;
	}
	*info = got;
	return 0;
}

/* "what: why" as a new string; NULL only when out of memory. */
static char *error_of(const char *what, const char *why)
{
	char *s = NULL;

	if (asprintf(&s, "%s: %s", what, why) < 0)
		return NULL;
	return s;
}

/* dir/bundle.json: the bundle's version, group and note, fsynced. */
static int write_meta(const char *dir, json_t *msg, const struct bundle_info *info)
{
	_cleanup_free_ char *path = NULL, *text = NULL;
	_cleanup_close_ int fd = -1;
	const char *note = json_string_value(json_object_get(msg, "note"));
	json_t *meta = json_pack("{s:I, s:s, s:s}", "version", (json_int_t)info->version, "group",
				 info->group, "note", note ? note : "");
	size_t len;

	text = meta ? json_dumps(meta, JSON_COMPACT) : NULL;
	json_decref(meta);
	if (!text || asprintf(&path, "%s/" POLICY_BUNDLE_META, dir) < 0)
		return -ENOMEM;
	len = strlen(text);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len || fsync(fd) < 0)
		return errno ? -errno : -EIO;
	return 0;
}

static int fsync_dir(const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || fsync(fd) < 0)
		return -errno;
	return 0;
}

/* Point the link dir at its sibling target (a name in the same directory), atomically. */
static int publish(const char *dir, const char *target)
{
	_cleanup_free_ char *link_tmp = NULL, *copy = strdup(dir);
	struct stat st;

	if (!copy || asprintf(&link_tmp, "%s.link", dir) < 0)
		return -ENOMEM;
	/* a real directory at dir (made by hand) is not ours to replace */
	if (lstat(dir, &st) == 0 && !S_ISLNK(st.st_mode))
		return -EEXIST;
	unlink(link_tmp);
	if (symlink(target, link_tmp) < 0)
		return -errno;
	if (rename(link_tmp, dir) < 0) {
		int r = -errno;
		unlink(link_tmp);
		return r;
	}
	return fsync_dir(dirname(copy));
}

/* The version directory dir currently points at (a new string), or NULL. */
static char *current_target(const char *dir)
{
	char buf[4096];
	ssize_t n = readlink(dir, buf, sizeof(buf) - 1);

	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	return strdup(buf);
}

int bundle_install(const char *dir, json_t *msg, struct policy **ret, struct bundle_info *info,
		   char **ret_error)
{
	_cleanup_free_ char *staging = NULL, *final = NULL, *old = NULL, *copy = NULL;
	_cleanup_free_ char *parent = NULL;	/* a copy of dir for dirname() */
	const char *pdir;
	struct policy_diags diags = {};
	struct bundle_info got = {};
	json_t *files = json_object_get(msg, "files");
	const char *name;
	char err[512];
	int r;

	*ret_error = NULL;
	if (read_info(msg, &got) < 0) {
		*ret_error =
			strdup("policy message: \"version\" (>= 1) and \"group\" (1 to 64 of "
			       "A-Z a-z 0-9 . _ -) are required");
		return -EINVAL;
	}
	if ((r = policy_bundle_validate(files, err, sizeof(err))) < 0) {
		*ret_error = strdup(err);
		return r;
	}
	if (asprintf(&staging, "%s.new", dir) < 0 ||
	    asprintf(&final, "%s.v%lld", dir, (long long)got.version) < 0)
		return -ENOMEM;
	old = current_target(dir);
	copy = strdup(final);
	if (!copy)
		return -ENOMEM;
	name = basename(copy);
	/* this very version is the one kept (sent again): load it as it is */
	if (old && strcmp(old, name) == 0) {
		r = bundle_load_last_good(dir, ret, info, err, sizeof(err));
		if (r < 0)
			*ret_error = strdup(err);
		return r;
	}
	/* its parent, made the first time (/var/lib/sphinx-agent) */
	if (!(parent = strdup(dir)))
		return -ENOMEM;
	pdir = dirname(parent);
	mkdir(pdir, 0755);
	/* a crash may have left either behind */
	policy_bundle_remove(staging);
	policy_bundle_remove(final);
	r = policy_bundle_write(staging, files, true, err, sizeof(err));
	if (r == 0 && ((r = write_meta(staging, msg, &got)) < 0 || (r = fsync_dir(staging)) < 0))
		snprintf(err, sizeof(err), "%s/" POLICY_BUNDLE_META ": %s", staging, strerror(-r));
	if (r == 0 && rename(staging, final) < 0) {
		r = -errno;
		snprintf(err, sizeof(err), "%s: cannot rename to %s: %s", staging, final,
			 strerror(-r));
	}
	if (r < 0) {
		policy_bundle_remove(staging);
		*ret_error = strdup(err);
		return r;
	}
	r = policy_bundle_load(final, ret, &diags);
	if (r < 0) {
		*ret_error =
			diags.count ? policy_diags_join(&diags) : error_of(final, strerror(-r));
		policy_diags_clear(&diags);
		policy_bundle_remove(final);
		return r;
	}
	r = publish(dir, name);
	if (r < 0) {
		*ret_error =
			error_of(dir, r == -EEXIST ? "a directory, not the link the agent keeps: "
						     "cannot point it at the new bundle"
						   : strerror(-r));
		policy_free(*ret);
		*ret = NULL;
		policy_bundle_remove(final);
		return r;
	}
	/* the version replaced, unless the same version came again */
	if (old && strcmp(old, name) != 0 && !strchr(old, '/')) {
		_cleanup_free_ char *path = NULL;

		if (asprintf(&path, "%s/%s", pdir, old) >= 0)
			policy_bundle_remove(path);
	}
	*info = got;
	return 0;
}
