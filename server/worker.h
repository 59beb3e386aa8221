/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A small fixed pool of threads for work that must not run on the event
 * loop: argon2id password hashing (64 MiB and ~0.1 s each at the default
 * strength) and blocking outbound HTTP (OIDC token, discovery, JWKS).
 *
 * The loop thread submits a job: work(arg) then runs on a pool thread and
 * done(arg) back on the loop thread, which a finished job wakes with
 * lws_cancel_service() (the loop then sees LWS_CALLBACK_EVENT_WAIT_CANCELLED
 * and calls worker_poll()). The queue is bounded: jobs queued plus running
 * never exceed queue_max, so a flood gets -EBUSY at once (the caller answers
 * 503 busy) instead of piling up memory and latency; and only `threads`
 * jobs run at a time, which caps concurrent argon2 memory at threads x
 * 64 MiB. Pool threads run at nice 10, so the loop thread preempts them
 * when a socket needs it even while hashes keep every CPU busy. work() must
 * touch nothing the loop thread uses (no lws, no store, no jansson object
 * the loop also holds): it gets plain copied inputs in arg and leaves plain
 * outputs there for done().
 *
 * Without worker_start() (the admin commands, unit tests) worker_submit()
 * runs work() and done() inline, so the same code paths work everywhere.
 *
 * Owns: the pool's threads, its job queue and lock, and the wake-up of the
 * loop. Callers: main.c (start, stop), http.c (http_defer() submits), ws.c
 * (worker_poll() on EVENT_WAIT_CANCELLED), all from the event-loop thread.
 */
#ifndef SPHINX_WORKER_H
#define SPHINX_WORKER_H

#include <stddef.h>

struct lws_context;

/*
 * Start threads (0: one per online CPU) with at most queue_max jobs queued
 * or running; ctx is woken when a job finishes. 0 or -errno.
 */
int worker_start(unsigned threads, unsigned queue_max, struct lws_context *ctx);

/*
 * Queue a job. work runs on a pool thread, done on the loop thread (from
 * worker_poll or worker_stop), exactly once each, in that order (but see
 * worker_stop); done owns and frees arg. Returns 0, or -EBUSY when the queue is full (nothing ran,
 * the caller still owns arg).
 */
int worker_submit(void (*work)(void *arg), void (*done)(void *arg), void *arg);

/* Loop thread: run done() of every finished job. */
void worker_poll(void);

/*
 * Loop thread, at shutdown, once every job's owner is gone (the sockets are
 * closed): cancel the jobs not started, let the running ones finish, join
 * the threads, then run every remaining done() — for a cancelled job
 * without its work() having run, so done() must then only free. Safe to
 * call when never started.
 */
void worker_stop(void);

#endif
