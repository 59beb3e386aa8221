/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Policy bundles: a policy directory carried as data, the way the server
 * stores it and sends it to agents (issue 14, docs/policy.md "Central
 * policy"). A bundle's files are a JSON array of {"name": "x.yml", "text":
 * "..."}: flat names (no directories), each a file policy_load() would read
 * from a directory, so a bundle means exactly what the same files in
 * /etc/sphinx/policy.d mean.
 *
 * Checking is policy_load() itself: the files are written into a fresh
 * directory and loaded from there, by the server when an admin pushes (the
 * bundle is refused with every file:line:col: message) and by the agent
 * before it applies one. Diagnostics name the files as the bundle does
 * ("x.yml:3:1: ..."), never the temporary directory.
 *
 * Owns: no state. Callers: server/policy_admin.c (push, rollback),
 * agent/bundle.c (the last good bundle on disk), the unit tests.
 * Functions do not log; they return -errno and say why in err.
 */
#ifndef SPHINX_POLICY_BUNDLE_H
#define SPHINX_POLICY_BUNDLE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "policy.h"

/* a file name: 1..POLICY_BUNDLE_NAME_MAX bytes */
#define POLICY_BUNDLE_NAME_MAX 128
/*
 * The files of one bundle as compact JSON, at most: what the server sends
 * in one "policy" message (with room for its envelope) and stores per
 * version. The shipped default policy is about 34 KiB.
 */
#define POLICY_BUNDLE_MAX_JSON (512u * 1024)
/* The agent's description of the bundle in force, beside its rule files. */
#define POLICY_BUNDLE_META "bundle.json"

/*
 * True when name may be a file of a bundle: 1..POLICY_BUNDLE_NAME_MAX bytes
 * of A-Z a-z 0-9 . _ -, not starting with '.', ending in .yml or .yaml.
 */
bool policy_bundle_name_ok(const char *name);

/*
 * Check the shape of files: an array of 1..POLICY_MAX_FILES objects with a
 * "name" (policy_bundle_name_ok, unique) and a "text" string of at most
 * POLICY_MAX_FILE_SIZE bytes, POLICY_BUNDLE_MAX_JSON in all. Not the rules
 * (that is policy_bundle_load). 0, or -EINVAL with what is wrong in err.
 */
int policy_bundle_validate(json_t *files, char *err, size_t errlen);

/*
 * The *.yml / *.yaml files of directory dir (not hidden ones, not
 * recursively: what policy_load() reads) as a new files array, in name
 * order; *ret to json_decref(). -EINVAL with err when a file's name cannot
 * be in a bundle or the bundle breaks a limit; another -errno with err
 * when dir or a file cannot be read.
 */
int policy_bundle_from_dir(const char *dir, json_t **ret, char *err, size_t errlen);

/*
 * Write files (already validated) into the new directory dir (created
 * 0755; it must not exist). With sync, each file and then the directory
 * are fsynced, so that a rename of dir after this returns publishes
 * complete files (the agent's last good bundle); a directory only read
 * and removed again (a check) needs no sync. On failure whatever was
 * written is removed. 0, or -errno with err.
 */
int policy_bundle_write(const char *dir, json_t *files, bool sync, char *err, size_t errlen);

/*
 * policy_load(dir), with each diagnostic's file named relative to dir, as
 * the bundle names it. As policy_load(): 0 and *ret, or -EINVAL (content:
 * diags say what) or another -errno.
 */
int policy_bundle_load(const char *dir, struct policy **ret, struct policy_diags *diags);

/*
 * Check a bundle as an agent would load it: validate, write into a new
 * temporary directory under tmp_parent, load, remove the directory. 0 and
 * *ret_rules; -EINVAL with the problems in diags (rule errors) or in err
 * (shape); another -errno with err (I/O).
 */
int policy_bundle_check(json_t *files, const char *tmp_parent, size_t *ret_rules,
			struct policy_diags *diags, char *err, size_t errlen);

/* Remove dir's files and then dir (not recursive). 0 or -errno (-ENOENT: dir was not there). */
int policy_bundle_remove(const char *dir);

/*
 * Every diagnostic as "file:line:col: message" lines joined by '\n', a new
 * string (NULL when out of memory) to free().
 */
char *policy_diags_join(const struct policy_diags *diags);

#endif
