/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The on-disk spool between detection and delivery: every event is written
 * here first (one file per event, written to a temporary name, fsync'd and
 * renamed, so a crash leaves either the whole event or none) and deleted
 * only when the server acknowledges it. It survives agent restarts and
 * reboots; at start the directory is read back in sequence order.
 *
 * Bounded: past `max` events the oldest are deleted and counted; the count
 * is kept on disk too and reported to the server.
 *
 * Thread-safe: the main thread appends, the uplink thread reads and acks.
 */
#ifndef SPHINX_SPOOL_H
#define SPHINX_SPOOL_H

#include <stddef.h>
#include <stdint.h>

struct spool;

/* Open (creating) @dir. 0 and *ret, or -errno. */
int spool_open(const char *dir, uint64_t max, struct spool **ret);
void spool_close(struct spool *s);

/*
 * Store @json (a complete message). The spool numbers events itself, one
 * more than the newest it holds, so replay order is arrival order across
 * agent restarts and reboots. 0 (and the number in *ret_seq) or -errno.
 */
int spool_append(struct spool *s, const char *json, uint64_t *ret_seq);
/* Forget @seq (acknowledged). Unknown sequences are ignored. */
void spool_ack(struct spool *s, uint64_t seq);
/*
 * The first stored event with sequence > @after: its sequence in *ret_seq
 * and its text in a malloc'd *ret_json (caller frees). 0, -ENOENT when
 * there is none, or -errno.
 */
int spool_next(struct spool *s, uint64_t after, uint64_t *ret_seq, char **ret_json);
size_t spool_count(struct spool *s);
/* Events dropped because the spool was full, over its whole life. */
uint64_t spool_dropped(struct spool *s);

#endif
