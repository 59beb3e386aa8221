// SPDX-License-Identifier: GPL-2.0-only
/*
 * Events: a category plus up to POLICY_EVENT_MAX_FIELDS borrowed
 * name/value string pairs in a fixed array, so building one costs no
 * allocation. Lookups are a linear scan, which at two dozen fields beats
 * any index. The JSON form ({"category": ..., "fields": {...}}) is what
 * `sphinx-agent --record` writes and `sphinx-policy test` reads.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_internal.h"

void policy_event_init(struct policy_event *ev, enum policy_category category)
{
	ev->category = category;
	ev->n_fields = 0;
	ev->argv = NULL;
	ev->argc = 0;
}

void policy_event_set_argv(struct policy_event *ev, const char *const *argv, size_t argc)
{
	ev->argv = argc ? argv : NULL;
	ev->argc = argv ? argc : 0;
}

int policy_event_set(struct policy_event *ev, const char *name, const char *value)
{
	if (!name || !value)
		return -EINVAL;
	for (size_t i = 0; i < ev->n_fields; i++) {
		if (strcmp(ev->fields[i].name, name) == 0) {
			ev->fields[i].value = value;
			return 0;
		}
	}
	if (ev->n_fields >= POLICY_EVENT_MAX_FIELDS)
		return -E2BIG;
	ev->fields[ev->n_fields].name = name;
	ev->fields[ev->n_fields].value = value;
	ev->n_fields++;
	return 0;
}

const char *policy_event_get(const struct policy_event *ev, const char *name)
{
	for (size_t i = 0; i < ev->n_fields; i++)
		if (strcmp(ev->fields[i].name, name) == 0)
			return ev->fields[i].value;
	return NULL;
}

/*
 * JSON strings must be UTF-8, command lines need not be: when jansson
 * refuses a value, send it with every non-ASCII byte replaced by '?'.
 */
static json_t *json_string_lossy(const char *value)
{
	json_t *s = json_string(value);
	char *copy;

	if (s)
		return s;
	copy = strdup(value);
	if (!copy)
		return NULL;
	for (char *p = copy; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	s = json_string(copy);
	free(copy);
	return s;
}

static json_t *argv_to_json(const struct policy_event *ev)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < ev->argc; i++) {
		if (json_array_append_new(arr, json_string_lossy(ev->argv[i])) < 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

json_t *policy_event_to_json(const struct policy_event *ev)
{
	const char *category = policy_category_name(ev->category);
	json_t *obj, *fields;

	if (!category)
		return NULL;
	fields = json_object();
	if (!fields)
		return NULL;
	for (size_t i = 0; i < ev->n_fields; i++) {
		if (json_object_set_new(fields, ev->fields[i].name,
					json_string_lossy(ev->fields[i].value)) < 0) {
			json_decref(fields);
			return NULL;
		}
	}
	obj = json_pack("{s:s, s:o}", "category", category, "fields", fields);
	if (obj && ev->argc && json_object_set_new(obj, "argv", argv_to_json(ev)) < 0) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

/*
 * Numbers and booleans are accepted for convenience ("Uid": 1000) and
 * replaced in @fields by their string form, so the event can borrow it.
 */
static int field_to_string(json_t *fields, void *iter, const char *name, json_t *value,
			   char *err, size_t errlen)
{
	char num[32];

	switch (json_typeof(value)) {
	case JSON_STRING:
		return 0;
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(value));
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		snprintf(num, sizeof(num), "%s", json_is_true(value) ? "true" : "false");
		break;
	default:
		snprintf(err, errlen, "field '%s': expected a string, number or boolean", name);
		return -EINVAL;
	}
	if (json_object_iter_set_new(fields, iter, json_string(num)) < 0) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

int policy_event_from_json(json_t *obj, struct policy_event *ev, char *err, size_t errlen)
{
	const char *category;
	enum policy_category cat;
	json_t *fields;
	void *iter;
	int r;

	if (!json_is_object(obj)) {
		snprintf(err, errlen, "expected a JSON object");
		return -EINVAL;
	}
	category = json_string_value(json_object_get(obj, "category"));
	if (!category) {
		snprintf(err, errlen, "missing string member 'category'");
		return -EINVAL;
	}
	if (policy_category_from_name(category, &cat) < 0) {
		snprintf(err, errlen, "unknown category '%.64s' (expected process_creation, "
			 "file_access or screen_capture)", category);
		return -EINVAL;
	}
	fields = json_object_get(obj, "fields");
	if (fields && !json_is_object(fields)) {
		snprintf(err, errlen, "'fields' must be an object");
		return -EINVAL;
	}
	policy_event_init(ev, cat);
	for (iter = json_object_iter(fields); iter; iter = json_object_iter_next(fields, iter)) {
		const char *name = json_object_iter_key(iter);
		json_t *value = json_object_iter_value(iter);

		if (json_is_null(value))
			continue;	/* an absent field */
		r = field_to_string(fields, iter, name, value, err, errlen);
		if (r < 0)
			return r;
		value = json_object_iter_value(iter);
		r = policy_event_set(ev, name, json_string_value(value));
		if (r == -E2BIG) {
			snprintf(err, errlen, "more than %d fields", POLICY_EVENT_MAX_FIELDS);
			return -EINVAL;
		}
		if (r < 0) {
			snprintf(err, errlen, "field '%s': %s", name, strerror(-r));
			return r;
		}
	}
	return 0;
}

int policy_event_argv_from_json(json_t *obj, struct policy_event *ev, const char **argv_buf,
				size_t max, char *err, size_t errlen)
{
	json_t *arr = json_object_get(obj, "argv"), *item;
	size_t i;

	policy_event_set_argv(ev, NULL, 0);
	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr)) {
		snprintf(err, errlen, "'argv' must be an array of strings");
		return -EINVAL;
	}
	if (json_array_size(arr) > max) {
		snprintf(err, errlen, "'argv' has more than %zu elements", max);
		return -EINVAL;
	}
	json_array_foreach(arr, i, item) {
		argv_buf[i] = json_string_value(item);
		if (!argv_buf[i]) {
			snprintf(err, errlen, "'argv' element %zu is not a string", i);
			return -EINVAL;
		}
	}
	policy_event_set_argv(ev, argv_buf, json_array_size(arr));
	return 0;
}
