// SPDX-License-Identifier: GPL-2.0-only
/* See observations.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libwebsockets.h>

#include "cleanup.h"
#include "log.h"
#include "observations.h"
#include "proto_agent.h"
#include "server.h"
#include "util.h"

#define DAY_MS (24 * 3600 * 1000ll)
#define PURGE_INTERVAL_US (5 * 60 * LWS_US_PER_SEC)

static lws_sorted_usec_list_t purge_sul;
static uint64_t added_since_purge;

/* ---------------------------------------------------------------- purge */

int observations_purge(int64_t now)
{
	int64_t days = (int64_t)srv->cfg->observations_retention_days;
	/* retention 0 keeps nothing: everything received up to now goes */
	int64_t before = days ? now - days * DAY_MS : now + 1;
	int64_t max = days ? (int64_t)srv->cfg->observations_max : 0;
	int r = store_call(srv->store, observations_purge, before, max);

	if (r < 0)
		log_err("observations: purge failed: %s", strerror(-r));
	else if (r > 0)
		log_info("observations: purged %d (older than %lld days, or past observations_max %lld)", r,
			 (long long)days, (long long)max);
	added_since_purge = 0;
	return r;
}

static void purge_tick(lws_sorted_usec_list_t *sul)
{
	observations_purge(now_ms());
	lws_sul_schedule(srv->ctx, 0, &purge_sul, purge_tick, PURGE_INTERVAL_US);
}

void observations_start(void)
{
	/* once at start: a retention shortened while the server was down applies at once */
	lws_sul_schedule(srv->ctx, 0, &purge_sul, purge_tick, 1);
}

/* Many rows since the last purge: purge on the next turn of the loop, not at the next tick. */
static void note_added(size_t n)
{
	added_since_purge += n;
	if (srv->ctx && added_since_purge > srv->cfg->observations_max / 10)
		lws_sul_schedule(srv->ctx, 0, &purge_sul, purge_tick, 1);
}

/* ---------------------------------------------------------------- store */

/* One event of a batch: NULL when acceptable, else what is wrong with it. Its text in *ret_text (caller frees). */
static const char *check_event(json_t *ev, char **ret_text)
{
	const char *cat = json_string_value(json_object_get(ev, "category"));
	json_t *fields = json_object_get(ev, "fields"), *argv = json_object_get(ev, "argv");
	char *text;

	*ret_text = NULL;
	if (!json_is_object(ev))
		return "not a JSON object";
	if (!cat || !*cat || strlen(cat) > PROTO_AGENT_OBS_CATEGORY_MAX)
		return "\"category\" must be a string of 1 to " STR(PROTO_AGENT_OBS_CATEGORY_MAX) " bytes";
	if (fields && !json_is_object(fields))
		return "\"fields\" must be an object";
	if (argv && !json_is_array(argv))
		return "\"argv\" must be an array";
	text = json_dumps(ev, JSON_COMPACT);
	if (!text)
		return "cannot be encoded";
	if (strlen(text) > PROTO_AGENT_OBS_EVENT_MAX) {
		free(text);
		return "larger than " STR(PROTO_AGENT_OBS_EVENT_MAX) " bytes";
	}
	*ret_text = text;
	return NULL;
}

static void free_texts(struct observation_in *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free((char *)v[i].body);
	free(v);
}

int observations_store(int64_t machine_id, json_t *events, size_t *ret_n, char *err, size_t errlen)
{
	struct observation_in *v;
	size_t n = json_array_size(events), i;
	json_t *ev;
	int r;

	if (!srv->cfg->observations_retention_days) {
		snprintf(err, errlen, "this server keeps no observations (observations_retention_days = 0)");
		return -EPERM;
	}
	if (!json_is_array(events) || n == 0 || n > PROTO_AGENT_OBS_BATCH_MAX) {
		snprintf(err, errlen, "\"events\" must be an array of 1 to %d events", PROTO_AGENT_OBS_BATCH_MAX);
		return -EINVAL;
	}
	v = calloc(n, sizeof(*v));
	if (!v) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	json_array_foreach(events, i, ev) {
		char *text;
		const char *why = check_event(ev, &text);

		if (why) {
			snprintf(err, errlen, "event %zu: %s", i, why);
			free_texts(v, i);
			return -EINVAL;
		}
		v[i].body = text;
	}
	r = store_call(srv->store, begin);
	if (r == 0) {
		r = store_call(srv->store, observations_add, machine_id, now_ms(), v, n);
		r = r == 0 ? store_call(srv->store, commit) : (store_call(srv->store, rollback), r);
	}
	free_texts(v, n);
	if (r < 0) {
		snprintf(err, errlen, "not stored: %s", strerror(-r));
		return r;
	}
	note_added(n);
	*ret_n = n;
	return 0;
}

/* --------------------------------------------------------------- export */

char *observations_line(const struct observation *o)
{
	json_t *obj = json_loads(o->body, 0, NULL);
	char *line = NULL;

	if (json_is_object(obj) && json_object_set_new(obj, "machine", json_string(o->machine)) == 0 &&
	    json_object_set_new(obj, "received", json_integer(o->at)) == 0)
		line = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	return line;
}

int observations_parse_since(const char *text, int64_t now, int64_t *ret)
{
	size_t len = text ? strlen(text) : 0;
	uint64_t v;

	if (!len)
		return -EINVAL;
	if (strspn(text, "0123456789") == len) {	/* ms since the epoch */
		if (parse_u64(text, 0, INT64_MAX, &v) < 0)
			return -EINVAL;
		*ret = (int64_t)v;
		return 0;
	}
	if (text[len - 1] == 'd') {
		char num[24];

		if (len - 1 >= sizeof(num) || len == 1)
			return -EINVAL;
		memcpy(num, text, len - 1);
		num[len - 1] = '\0';
		if (parse_u64(num, 0, 100000, &v) < 0)
			return -EINVAL;
		v *= (uint64_t)DAY_MS;
	} else if (parse_duration_ms(text, &v) < 0 || v > 100000 * (uint64_t)DAY_MS) {
		return -EINVAL;
	}
	*ret = now - (int64_t)v;
	return 0;
}
