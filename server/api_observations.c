// SPDX-License-Identifier: GPL-2.0-only
/*
 * GET /api/admin/observations?since=7d&machine=NAME&group=G&after=ID: the stored
 * observations (observations.h) as JSON lines (application/x-ndjson), for
 * `sphinx-policy test --server`. Admins only: the lines hold programs,
 * command lines and paths of the machines that opted in.
 *
 * Paged, so no answer is built past a bound: one answer holds the rows
 * after the cursor `after` (an observation id, 0 by default) up to about
 * PAGE_BYTES of text, read from the store OBSERVATIONS_PAGE_ROWS at a time;
 * when more rows follow, the header X-Sphinx-Next-After names the cursor of
 * the next page, and its absence says this was the last one.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "cleanup.h"
#include "log.h"
#include "observations.h"
#include "proto_agent.h"
#include "server.h"
#include "util.h"

/* one answer's text, at most this plus one line */
#define PAGE_BYTES (1024 * 1024)

struct page {
	char *text;
	size_t len, cap;
};

/* Append line and a newline: 0 or -ENOMEM. */
static int page_add(struct page *p, const char *line)
{
	size_t n = strlen(line);

	if (p->len + n + 2 > p->cap) {
		size_t cap = p->cap ? p->cap : 64 * 1024;
		char *t;

		while (cap < p->len + n + 2)
			cap *= 2;
		if (!(t = realloc(p->text, cap)))
			return -ENOMEM;
		p->text = t;
		p->cap = cap;
	}
	memcpy(p->text + p->len, line, n);
	p->len += n;
	p->text[p->len++] = '\n';
	p->text[p->len] = '\0';
	return 0;
}

/*
 * Rows after *after into p until PAGE_BYTES or the end: 1 when more rows
 * follow (*after is then the last one written), 0 at the end, -errno.
 */
static int fill(struct page *p, int64_t since, const char *machine, const char *grp, int64_t *after)
{
	for (;;) {
		struct observation_list l = { 0 };
		int r = store_call(srv->store, observations_page, since, machine, grp, *after, OBSERVATIONS_PAGE_ROWS,
				   &l);

		if (r < 0)
			return r;
		for (size_t i = 0; i < l.n; i++) {
			_cleanup_free_ char *line = observations_line(&l.v[i]);

			*after = l.v[i].id;
			if (!line) {
				log_warn("observations: row %lld is not a JSON object: left out of the export",
					 (long long)l.v[i].id);
				continue;
			}
			if ((r = page_add(p, line)) < 0 || p->len >= PAGE_BYTES) {
				observation_list_free(&l);
				return r < 0 ? r : 1;
			}
		}
		if (l.n < OBSERVATIONS_PAGE_ROWS) {
			observation_list_free(&l);
			return 0;
		}
		observation_list_free(&l);
	}
}

int api_admin_observations(struct http_req *r, const char *arg)
{
	char since_s[32] = "", machine[PROTO_AGENT_MACHINE_MAX + 1] = "", after_s[24] = "", next[24];
	char grp[PROTO_AGENT_MACHINE_MAX + 1] = "";
	struct page p = { 0 };
	int64_t since = 0, after = 0;
	uint64_t v;
	int e;

	if (!api_is_admin(&r->user))
		return http_error(r, 403, "admins_only", "only administrators may read observations");
	e = http_query(r, "since", since_s, sizeof(since_s));
	if (e == -E2BIG || (e == 0 && observations_parse_since(since_s, now_ms(), &since) < 0))
		return http_error(r, 400, "bad_request",
				  "\"since\" is a duration back from now (7d, 12h, 30m) or ms since the epoch");
	if (http_query(r, "machine", machine, sizeof(machine)) == -E2BIG)
		return http_error(r, 400, "bad_request", "\"machine\" is a machine name of at most 64 bytes");
	if (http_query(r, "group", grp, sizeof(grp)) == -E2BIG)
		return http_error(r, 400, "bad_request", "\"group\" is a group name of at most 64 bytes");
	e = http_query(r, "after", after_s, sizeof(after_s));
	if (e == -E2BIG || (e == 0 && parse_u64(after_s, 0, INT64_MAX, &v) < 0))
		return http_error(r, 400, "bad_request", "\"after\" is the X-Sphinx-Next-After of the previous page");
	if (e == 0)
		after = (int64_t)v;
	e = fill(&p, since, machine[0] ? machine : NULL, grp[0] ? grp : NULL, &after);
	if (e < 0) {
		free(p.text);
		log_err("observations: export failed: %s", strerror(-e));
		return http_error(r, e == -ENOMEM ? 500 : 503, "unavailable", "cannot read the observations now");
	}
	if (e == 1) {
		snprintf(next, sizeof(next), "%lld", (long long)after);
		http_add_header(r, "x-sphinx-next-after:", next);
	}
	free(r->resp);
	r->status = 200;
	r->ctype = "application/x-ndjson";
	r->resp = p.text ? p.text : strdup("");
	r->resp_len = p.len;
	r->resp_off = 0;
	return r->resp ? 0 : -ENOMEM;
}
