// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: the request bodies of the JSON API. Every route of the
 * real table (routes.c) that takes a JSON body is reachable: the first
 * byte picks the route, the second who sends it (the organiser, who is an
 * admin, or the attendee), the rest is the body. The body is parsed by the
 * router's own http_parse_json_body() and handed to the route's handler
 * with the meeting's code as the path argument, as the router does after
 * its session and CSRF checks (which read socket headers, and have no body
 * to parse). Slow work a handler defers (password hashing) runs inline
 * here, and so does its finish step.
 *
 * A handler must answer every input with a JSON response: a 500 or no
 * response at all aborts, as does any sanitizer finding.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_server_harness.h"
#include "http.h"
#include "server.h"
#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct route *json_routes[32];
static size_t njson;

static void routes_init(void)
{
	if (njson)
		return;
	for (size_t i = 0; i < routes_count && njson < sizeof(json_routes) / sizeof(json_routes[0]); i++)
		if (routes[i].flags & R_JSON)
			json_routes[njson++] = &routes[i];
	if (!njson)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct route *rt;
	struct http_req *r;
	int ret;

	if (size < 2 || size > HTTP_MAX_BODY + 2)
		return 0;
	harness_init();
	routes_init();
	rt = json_routes[data[0] % njson];
	r = calloc(1, sizeof(*r));
	if (!r)
		abort();
	r->method = rt->method;
	snprintf(r->path, sizeof(r->path), "%s", rt->pattern);
	r->body_len = size - 2;
	r->body = malloc(r->body_len + 1);
	if (!r->body)
		abort();
	memcpy(r->body, data + 2, r->body_len);
	r->body[r->body_len] = '\0';
	r->dispatched = true;
	if (store_call(srv->store, user_get, harness_user(data[1] & 1), &r->user) < 0)
		abort();
	r->authed = true;
	r->sess.user_id = r->user.id;
	if (http_parse_json_body(r) == 0) {
		ret = rt->fn(r, harness_meeting_code());
		if (ret < 0)
			abort();
	}
	if (!r->resp || !r->ctype || strcmp(r->ctype, "application/json") || r->status < 200 || r->status >= 500)
		abort();
	http_req_free(r);
	return 0;
}
