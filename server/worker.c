// SPDX-License-Identifier: GPL-2.0-only
/*
 * Thread pool with a bounded queue: see worker.h. One mutex guards the
 * to-do queue (a FIFO list), the done list and the counters; a condition
 * variable wakes idle threads. Jobs are allocated by the loop thread and
 * freed by it after done(), so no allocation crosses threads twice.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <libwebsockets.h>

#include "log.h"
#include "worker.h"

#define MAX_THREADS 64
#define WORKER_NICE 10

struct job {
	void (*work)(void *arg);
	void (*done)(void *arg);
	void *arg;
	struct job *next;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct job *todo, **todo_tail, *finished;
	size_t backlog, queue_max;
	pthread_t threads[MAX_THREADS];
	unsigned nthreads;
	bool stop, started;
	struct lws_context *ctx;
} pool = { .lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER };

static void *run(void *unused)
{
	/*
	 * Below the loop thread: on a small machine the hashes would otherwise
	 * share the CPU evenly with it and every socket would wait its turn.
	 * Linux applies nice to the calling thread alone.
	 */
	if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), WORKER_NICE) < 0)
		log_debug("worker: cannot lower the thread's priority: %m");
	for (;;) {
		struct job *j;

		pthread_mutex_lock(&pool.lock);
		while (!pool.todo && !pool.stop)
			pthread_cond_wait(&pool.wake, &pool.lock);
		j = pool.todo;
		if (!j) {	/* stopping and nothing left */
			pthread_mutex_unlock(&pool.lock);
			return NULL;
		}
		pool.todo = j->next;
		if (!pool.todo)
			pool.todo_tail = &pool.todo;
		pthread_mutex_unlock(&pool.lock);

		j->work(j->arg);

		pthread_mutex_lock(&pool.lock);
		j->next = pool.finished;
		pool.finished = j;
		pthread_mutex_unlock(&pool.lock);
		if (pool.ctx)
			lws_cancel_service(pool.ctx);
	}
}

int worker_start(unsigned threads, unsigned queue_max, struct lws_context *ctx)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int r;

	if (!threads)
		threads = cpus > 0 ? (unsigned)cpus : 1;
	if (threads > MAX_THREADS)
		threads = MAX_THREADS;
	pool.todo = NULL;
	pool.todo_tail = &pool.todo;
	pool.queue_max = queue_max ? queue_max : 1;
	pool.ctx = ctx;
	pool.stop = false;
	for (pool.nthreads = 0; pool.nthreads < threads; pool.nthreads++) {
		r = pthread_create(&pool.threads[pool.nthreads], NULL, run, NULL);
		if (r) {
			worker_stop();
			return -r;
		}
	}
	pool.started = true;
	return 0;
}

int worker_submit(void (*work)(void *arg), void (*done)(void *arg), void *arg)
{
	struct job *j;

	if (!pool.started) {
		work(arg);
		done(arg);
		return 0;
	}
	pthread_mutex_lock(&pool.lock);
	if (pool.backlog >= pool.queue_max || pool.stop) {
		pthread_mutex_unlock(&pool.lock);
		return -EBUSY;
	}
	pool.backlog++;
	pthread_mutex_unlock(&pool.lock);
	j = calloc(1, sizeof(*j));
	if (!j) {
		pthread_mutex_lock(&pool.lock);
		pool.backlog--;
		pthread_mutex_unlock(&pool.lock);
		return -ENOMEM;
	}
	j->work = work;
	j->done = done;
	j->arg = arg;
	pthread_mutex_lock(&pool.lock);
	*pool.todo_tail = j;
	pool.todo_tail = &j->next;
	pthread_cond_signal(&pool.wake);
	pthread_mutex_unlock(&pool.lock);
	return 0;
}

void worker_poll(void)
{
	struct job *list, *next;

	pthread_mutex_lock(&pool.lock);
	list = pool.finished;
	pool.finished = NULL;
	pthread_mutex_unlock(&pool.lock);
	/* the list is newest first: run done()s in finishing order */
	struct job *rev = NULL;
	for (; list; list = next) {
		next = list->next;
		list->next = rev;
		rev = list;
	}
	for (; rev; rev = next) {
		next = rev->next;
		rev->done(rev->arg);
		free(rev);
		pthread_mutex_lock(&pool.lock);
		pool.backlog--;
		pthread_mutex_unlock(&pool.lock);
	}
}

void worker_stop(void)
{
	struct job *never, *next;

	pthread_mutex_lock(&pool.lock);
	pool.stop = true;
	/* jobs not started are not worth a shutdown's wait: cancel them */
	never = pool.todo;
	pool.todo = NULL;
	pool.todo_tail = &pool.todo;
	pthread_cond_broadcast(&pool.wake);
	pthread_mutex_unlock(&pool.lock);
	for (unsigned i = 0; i < pool.nthreads; i++)
		pthread_join(pool.threads[i], NULL);
	pool.nthreads = 0;
	pool.ctx = NULL;
	worker_poll();
	for (; never; never = next) {
		next = never->next;
		never->done(never->arg);
		free(never);
		pool.backlog--;
	}
	pool.started = false;
}
