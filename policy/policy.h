/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Signature policy: Sigma-modelled YAML rules, parsed with libyaml, matched
 * against events the agent sees. Shared by sphinx-agent and sphinx-policy.
 *
 * An event is a category plus named string fields (Image, CommandLine,
 * TargetFilename, Api, ...; docs/policy.md lists them per category). A rule
 * has named selections (maps of field|modifier: value(s), or lists of such
 * maps) and a condition over them. Matching is pure: no logging, no I/O.
 *
 * Loading collects every error it finds (file:line:col: message) rather than
 * stopping at the first, so `sphinx-policy check` can show them all at once.
 *
 * Owns: no global state. A loaded struct policy (rules, compiled matchers)
 * belongs to the caller and is freed with policy_free(); matching takes it
 * const and changes nothing. Callers: the agent (main.c loads and reloads;
 * events.c matches; output.c and devices.c read names and device prefixes),
 * sphinx-policy.c, the unit tests and fuzz_policy.
 */
#ifndef SPHINX_POLICY_H
#define SPHINX_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

enum policy_category {
	POLICY_CAT_PROCESS_CREATION,	/* "process_creation": exec */
	POLICY_CAT_FILE_ACCESS,		/* "file_access": capture-device opens, ioctls */
	POLICY_CAT_SCREEN_CAPTURE,	/* "screen_capture": capture-API calls */
	POLICY_CAT__MAX,
};

enum policy_kind {
	POLICY_KIND_RECORDING,
	POLICY_KIND_SCREENSHOT,
	POLICY_KIND_AUTO,		/* decided by call rate (rule's threshold) */
};

enum policy_action {
	POLICY_ACTION_ALERT,
	POLICY_ACTION_KILL,		/* only honoured when the agent enforces */
};

enum policy_level {
	POLICY_LEVEL_INFORMATIONAL,
	POLICY_LEVEL_LOW,
	POLICY_LEVEL_MEDIUM,
	POLICY_LEVEL_HIGH,
	POLICY_LEVEL_CRITICAL,
};

/* Hard caps on what a policy may contain: every input has a bound. */
#define POLICY_MAX_FILE_SIZE	(1u << 20)	/* one YAML file */
#define POLICY_MAX_FILES	1024		/* files in a directory */
#define POLICY_MAX_RULES	4096		/* rules in a whole policy */
#define POLICY_EVENT_MAX_FIELDS	24

/* ---------------------------------------------------------------- events */

struct policy_event_field {
	const char *name;
	const char *value;	/* never NULL once set */
};

/*
 * What the matcher sees. Field names and values are borrowed: the caller
 * keeps them alive for as long as the event is used.
 */
struct policy_event {
	enum policy_category category;
	size_t n_fields;
	struct policy_event_field fields[POLICY_EVENT_MAX_FIELDS];
	/*
	 * process_creation only, optional: the arguments one by one, which
	 * rules written for auditd's EXECVE records read as a0, a1, ... and
	 * argc. Borrowed like the fields; NULL (argc 0) when not set.
	 */
	const char *const *argv;
	size_t argc;
};

void policy_event_init(struct policy_event *ev, enum policy_category category);
/* Set (or replace) a field. -E2BIG when the event is full. */
int policy_event_set(struct policy_event *ev, const char *name, const char *value);
/* Attach @argc arguments (borrowed) to @ev; see struct policy_event. */
void policy_event_set_argv(struct policy_event *ev, const char *const *argv, size_t argc);
/* NULL when the event has no such field. Names compare exactly. */
const char *policy_event_get(const struct policy_event *ev, const char *name);

/* "process_creation" etc.; NULL for an out-of-range value. */
const char *policy_category_name(enum policy_category category);
/* -EINVAL for an unknown name. */
int policy_category_from_name(const char *name, enum policy_category *ret);
const char *policy_kind_name(enum policy_kind kind);
const char *policy_level_name(enum policy_level level);
/* "alert" or "kill"; NULL for an out-of-range value. */
const char *policy_action_name(enum policy_action action);

/*
 * Events as JSON, the format of `sphinx-agent --record` and of
 * `sphinx-policy test`: {"category": "...", "fields": {"Name": "value", ...}}
 * and, when the event has arguments, "argv": ["ffmpeg", "-f", ...]; plus
 * whatever extra members the writer adds (ignored on read).
 * policy_event_to_json() returns a new reference (caller json_decref()s).
 * policy_event_from_json() borrows strings from @obj: keep it alive while
 * the event is used. Field values may be strings, or numbers and booleans,
 * which are replaced in @obj by their string form; null means absent.
 * Returns 0, or -EINVAL with a message in @err.
 */
json_t *policy_event_to_json(const struct policy_event *ev);
int policy_event_from_json(json_t *obj, struct policy_event *ev, char *err, size_t errlen);
/*
 * The "argv" member of @obj into @ev (policy_event_set_argv), its strings
 * borrowed through @argv_buf of @max slots, which must live as long as @ev.
 * No "argv" (or null) leaves @ev without arguments. 0, or -EINVAL with a
 * message in @err (not an array of strings, more than @max elements).
 */
int policy_event_argv_from_json(json_t *obj, struct policy_event *ev, const char **argv_buf,
				size_t max, char *err, size_t errlen);

/* ----------------------------------------------------------------- rules */

struct policy_rule {
	char *id;
	char *title;
	char *description;	/* may be NULL */
	char *file;		/* where it was defined, for messages */
	unsigned line;
	enum policy_category category;
	enum policy_level level;
	enum policy_kind kind;
	enum policy_action action;
	/*
	 * For kind auto: a capture is a recording when it makes at least
	 * threshold_calls counted calls within threshold_window_ms of its first
	 * call; fewer is a screenshot. Defaults 5 calls in 2000 ms.
	 */
	unsigned threshold_calls;
	uint64_t threshold_window_ms;
	/*
	 * NULL for a rule that can fire. Otherwise the rule loaded but never
	 * fires, and this says the log source it needs that the agent does not
	 * produce ("product windows", "category network_connection", "auditd
	 * SYSCALL records"): not in policy_match(), shown by `sphinx-policy
	 * check`. The rule's category is then meaningless.
	 */
	char *needs;
	struct policy_detection *detection;	/* opaque, owned by the rule */
};

struct policy;

/* One error found while loading. */
struct policy_diag {
	char *file;
	unsigned line, column;	/* 1-based; 0 when not known */
	char *message;
};

struct policy_diags {
	struct policy_diag *items;
	size_t count;
};

/*
 * Load every rule from @path: a YAML file (one or more documents separated
 * by ---, one rule each), or a directory whose *.yml / *.yaml files are read
 * in name order (not recursively). Rule ids must be unique across the set.
 *
 * On success returns 0 and *ret owns the policy (free with policy_free()).
 * On failure returns a negative errno (-EINVAL for content errors, others
 * for I/O), *ret is untouched, and every problem found is appended to @diags
 * (may be NULL) as file:line:column: message. The caller frees @diags with
 * policy_diags_clear().
 */
int policy_load(const char *path, struct policy **ret, struct policy_diags *diags);
/*
 * As policy_load(), for several files or directories loaded as one set
 * (e.g. the shipped defaults plus /etc/sphinx/policy.d): rules keep the
 * order of @paths, ids must be unique across all of them.
 */
int policy_load_paths(const char *const *paths, size_t n_paths, struct policy **ret,
		      struct policy_diags *diags);
void policy_free(struct policy *policy);
void policy_diags_clear(struct policy_diags *diags);
/* "file:line:col: message" into @buf; returns @buf. */
const char *policy_diag_format(const struct policy_diag *d, char *buf, size_t len);

size_t policy_rule_count(const struct policy *policy);
const struct policy_rule *policy_rule_at(const struct policy *policy, size_t i);
/* The rule with this id, or NULL. */
const struct policy_rule *policy_find_rule(const struct policy *policy, const char *id);

/*
 * The best rule matching @ev, or NULL: only rules of the event's category
 * are tried; among several matches the highest level wins, then the first
 * loaded. policy_match_all() stores up to @max matches in load order and
 * returns how many matched in all.
 */
const struct policy_rule *policy_match(const struct policy *policy, const struct policy_event *ev);
size_t policy_match_all(const struct policy *policy, const struct policy_event *ev,
			const struct policy_rule **out, size_t max);

/*
 * The path prefixes the kernel should watch for opens: every value of a
 * TargetFilename|startswith (and plain TargetFilename, with any trailing
 * '*' wildcard removed) in a file_access rule, de-duplicated. Returns the
 * count (>= 0) and a NULL-terminated array in *ret that the caller frees
 * with policy_strv_free(); or a negative errno.
 */
int policy_device_prefixes(const struct policy *policy, char ***ret);
void policy_strv_free(char **strv);

/*
 * The program names an exec must have for the process_creation rules to
 * match it, read from what they say of Image's basename and of Comm (the
 * forms are listed atop policy_exec_names.c): lower-case, "obs" for that
 * exact name, "ffmpeg*" for names that start so. A rule that can also
 * match an exec of any name (a CommandLine-only selection, a `not`,
 * Image|contains, a regex outside the simple forms) has its id in
 * *ret_batched; its branches that do name programs still give names.
 * Returns the count of names (>= 0) and two NULL-terminated arrays the
 * caller frees with policy_strv_free(); or a negative errno.
 */
int policy_exec_names(const struct policy *policy, char ***ret_names, char ***ret_batched);

#endif
