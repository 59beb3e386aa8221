// SPDX-License-Identifier: GPL-2.0-only
/*
 * The exec wake-up table (exec_wake.h). A policy name is "obs" (that whole
 * name) or "ffmpeg*" (names that start so); the kernel compares it with
 * the task's comm, which is the exec'd basename cut to 15 bytes: "obs"
 * becomes the 32-bit prefix "obs\0", a longer whole name its first 15
 * bytes and the NUL, "ffmpeg*" the 48-bit prefix "ffmpeg".
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cleanup.h"
#include "exec_wake.h"
#include "loader.h"
#include "log.h"
#include "policy.h"
#include "sphinx.h"
#include "sphinx.skel.h"

static void strv_freep(char ***p)
{
	policy_strv_free(*p);
}

/* The trie key for policy name @name. */
static void key_of(const char *name, struct sphinx_exec_wake_key *key)
{
	size_t len = strlen(name);
	bool prefix = len > 0 && name[len - 1] == '*';

	memset(key, 0, sizeof(*key));
	if (prefix)
		len--;
	if (len > SPHINX_COMM_LEN - 1)
		len = SPHINX_COMM_LEN - 1;
	memcpy(key->name, name, len);
	/* A whole name takes its NUL too: "obs" must not wake for "obsidian". */
	key->prefixlen = (uint32_t)(prefix ? len : len + 1) * 8;
}

/* "a, b, c" into @buf, cut with "..." when it does not fit. */
static const char *join(char **strv, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; strv[i] && used < len; i++) {
		int n = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", strv[i]);

		if (n < 0 || (size_t)n >= len - used) {
			memcpy(buf + len - 4, "...", 4);	/* @len is at least 4 */
			break;
		}
		used += (size_t)n;
	}
	return buf;
}

int exec_wake_fill(const struct policy *policy)
{
	int fd = bpf_map__fd(loader_skel()->maps.exec_wake);
	_cleanup_(strv_freep) char **names = NULL, **batched = NULL;
	struct sphinx_exec_wake_key key, next;
	char list[512];
	__u32 one = 1;
	int n, entered = 0;

	/* Empty the table first: a name the new policy dropped must go. */
	while (bpf_map_get_next_key(fd, NULL, &next) == 0)
		if (bpf_map_delete_elem(fd, &next) < 0)
			break;
	n = policy_exec_names(policy, &names, &batched);
	if (n < 0) {
		log_err("exec wake-up: cannot read the exec rules' program names: %s",
			strerror(-n));
		return n;
	}
	for (int i = 0; i < n && entered < SPHINX_EXEC_WAKE_MAX; i++) {
		key_of(names[i], &key);
		if (bpf_map_update_elem(fd, &key, &one, BPF_ANY) < 0) {
			int err = -errno;

			log_err("exec wake-up: cannot enter '%s': %s", names[i], strerror(errno));
			return err;
		}
		entered++;
	}
	if (n > SPHINX_EXEC_WAKE_MAX)
		log_warn("exec wake-up table full: the exec rules name %d programs, more than "
			 "its %d entries (SPHINX_EXEC_WAKE_MAX); execs of the %d after '%s' wait "
			 "for the next poll (100 ms)",
			 n, SPHINX_EXEC_WAKE_MAX, n - SPHINX_EXEC_WAKE_MAX,
			 names[SPHINX_EXEC_WAKE_MAX - 1]);
	log_info("exec wake-up: %d program names wake the agent at once: %s", entered,
		 join(names, list, sizeof(list)));
	if (batched[0])
		log_info("exec wake-up: rules that also match other programs, "
			 "seen at the next poll (100 ms): %s",
			 join(batched, list, sizeof(list)));
	return n > SPHINX_EXEC_WAKE_MAX ? -E2BIG : entered;
}
