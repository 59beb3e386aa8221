/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The last good server policy bundle, on disk (docs/policy.md "Central
 * policy"). A bundle the server sends is checked and kept before it is
 * applied, so that an agent started while the server is away runs the
 * policy it last accepted.
 *
 * Layout, for the directory D (server_policy_dir, default
 * /var/lib/sphinx-agent/policy): D is a symbolic link to the sibling
 * D.v<VERSION>, a directory of the bundle's rule files plus bundle.json
 * ({version, group, note}, which policy_load() ignores). Installing
 * version N writes D.new into place (every file and the directory
 * fsynced), renames it to D.vN, loads the policy from there with
 * policy_load() (the same check as the server's and as SIGHUP's), and
 * only then points D at D.vN by renaming a new link over it and fsyncing
 * the parent: a crash at any point leaves D naming a complete bundle that
 * loaded, or no bundle. The previous version's directory is removed.
 *
 * Owns: nothing between calls (the paths are the caller's). Callers:
 * main.c, on the detection thread. Does not log; errors come back as text.
 */
#ifndef SPHINX_AGENT_BUNDLE_H
#define SPHINX_AGENT_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct policy;

#define BUNDLE_GROUP_MAX 64

struct bundle_info {
	int64_t version; /* 0: none */
	char group[BUNDLE_GROUP_MAX + 1];
};

/*
 * Load the last good bundle kept in dir. 0 with *ret (policy_free()) and
 * *info; -ENOENT when there is none; another -errno with why in err (a
 * bundle that no longer loads, an unreadable bundle.json).
 */
int bundle_load_last_good(const char *dir, struct policy **ret, struct bundle_info *info, char *err,
			  size_t errlen);

/*
 * Check and keep a "policy" message's bundle (msg: {version, group, note,
 * files}) as the last good one in dir, as described above. 0 with *ret
 * (the policy loaded from it; policy_free()) and *info. On failure nothing
 * changes on disk but a removed staging directory, and *ret_error (free())
 * is the exact reason: every "file:line:col: message" joined by '\n', or
 * what was wrong with the message or the disk. -EINVAL: the bundle or the
 * message; another -errno: I/O.
 */
int bundle_install(const char *dir, json_t *msg, struct policy **ret, struct bundle_info *info,
		   char **ret_error);

#endif
