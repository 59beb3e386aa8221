// SPDX-License-Identifier: GPL-2.0-only
/*
 * What every store back end shares: freeing the rows and lists the store
 * operations return (store.h). A back end allocates each string with
 * malloc and each list's array with one calloc/realloc; these functions
 * free them whoever filled them.
 */
#include <stdlib.h>
#include <string.h>

#include "store.h"

void user_clear(struct user *u)
{
	if (!u)
		return;
	free(u->username);
	free(u->email);
	free(u->name);
	free(u->picture);
	memset(u, 0, sizeof(*u));
}

void meeting_clear(struct meeting *m)
{
	if (!m)
		return;
	free(m->title);
	free(m->link);
	m->title = m->link = NULL;
}

void person_clear(struct person *p)
{
	if (!p)
		return;
	free(p->name);
	free(p->email);
	free(p->picture);
	memset(p, 0, sizeof(*p));
}

void recording_clear(struct recording *r)
{
	if (!r)
		return;
	free(r->name);
	free(r->local_user);
	free(r->kind);
	free(r->program);
	free(r->exe);
	free(r->argv_json);
	free(r->rule_id);
	free(r->rule_title);
	free(r->layer);
	free(r->detail_json);
	free(r->machine);
	memset(r, 0, sizeof(*r));
}

/* Clear each of the list's rows with clear, free its array, zero it. */
#define LIST_FREE(l, clear)                                \
	do {                                               \
		if (!(l))                                  \
			return;                            \
		for (size_t i_ = 0; i_ < (l)->n; i_++)     \
			clear(&(l)->v[i_]);                \
		free((l)->v);                              \
		memset((l), 0, sizeof(*(l)));              \
	} while (0)

static void meeting_entry_clear(struct meeting_entry *e) { meeting_clear(&e->meeting); }

static void ban_clear(struct ban *b)
{
	free(b->name);
	free(b->reason);
}

static void attendee_clear(struct attendee *a)
{
	free(a->name);
	free(a->email);
}

static void chat_line_clear(struct chat_line *c)
{
	free(c->name);
	free(c->text);
	free(c->cid);
}

static void event_row_clear(struct event_row *e) { free(e->body); }

static void machine_clear(struct machine *m)
{
	free(m->name);
	free(m->boot_id);
	free(m->agent_version);
	free(m->offline_reason);
	free(m->users_json);
	free(m->grp);
	free(m->policy_source);
	free(m->policy_error);
	free(m->kernel);
	free(m->status_json);
}

void policy_bundle_clear(struct policy_bundle *b)
{
	if (!b)
		return;
	free(b->grp);
	free(b->author);
	free(b->note);
	free(b->files_json);
	memset(b, 0, sizeof(*b));
}

static void monitor_row_clear(struct monitor_row *m) { free(m->reason); }

static void id_clear(int64_t *id) { (void)id; }

static void observation_clear(struct observation *o)
{
	free(o->machine);
	free(o->body);
}

void meeting_list_free(struct meeting_list *l) { LIST_FREE(l, meeting_entry_clear); }
void person_list_free(struct person_list *l) { LIST_FREE(l, person_clear); }
void ban_list_free(struct ban_list *l) { LIST_FREE(l, ban_clear); }
void chat_list_free(struct chat_list *l) { LIST_FREE(l, chat_line_clear); }
void event_list_free(struct event_list *l) { LIST_FREE(l, event_row_clear); }
void machine_list_free(struct machine_list *l) { LIST_FREE(l, machine_clear); }
void monitor_list_free(struct monitor_list *l) { LIST_FREE(l, monitor_row_clear); }
void recording_list_free(struct recording_list *l) { LIST_FREE(l, recording_clear); }
void id_list_free(struct id_list *l) { LIST_FREE(l, id_clear); }
void policy_bundle_list_free(struct policy_bundle_list *l) { LIST_FREE(l, policy_bundle_clear); }
void observation_list_free(struct observation_list *l) { LIST_FREE(l, observation_clear); }

void attendance_list_free(struct attendance_list *l)
{
	if (!l)
		return;
	free(l->spans);
	l->spans = NULL;
	l->nspans = 0;
	LIST_FREE(l, attendee_clear);
}
