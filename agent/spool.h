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
 * Trusted only as far as it is checked. The directory must be a real
 * directory (not a symbolic link) owned by root or by the agent's user and
 * writable by nobody else; files are opened relative to it, never through
 * a symbolic link, and created exclusively. An entry is an agent event the
 * server can acknowledge: a JSON object of at most SPOOL_EVENT_MAX bytes
 * with "v": 1, a "type" of capture.begin or capture.end and an "id" string
 * of 1 to SPOOL_ID_MAX bytes (docs/protocol.md). Anything else found there
 * (a symbolic link, a FIFO, an empty or truncated file, text that is not
 * such an event) could never be acknowledged and would hold the uplink
 * forever, so spool_next() moves it into DIR/bad/ (at most SPOOL_BAD_MAX
 * entries are kept there, later ones are deleted) and goes on.
 *
 * Thread-safe: the main thread appends, the uplink thread reads and acks.
 *
 * Owns: the spool directory and its counters (struct spool). Callers:
 * main.c (open, close), output.c (append, on the main thread), uplink.c
 * (read, delete, on its thread).
 */
#ifndef SPHINX_SPOOL_H
#define SPHINX_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SPOOL_EVENT_MAX	(64 * 1024)	/* the protocol's message limit */
#define SPOOL_ID_MAX	128		/* the server's bound on an event id */
#define SPOOL_BAD_MAX	100		/* entries kept in DIR/bad/ for a post-mortem */

struct spool;

/*
 * Open @dir, creating it (mode 0700) when absent. 0 and *ret, or -errno
 * with a sentence in @err naming @dir and what is wrong with it: a
 * symbolic link, not a directory, owned by another user, writable by the
 * group or by everyone. The caller frees *ret with spool_close().
 */
int spool_open(const char *dir, uint64_t max, struct spool **ret, char *err, size_t errlen);
void spool_close(struct spool *s);

/*
 * Store @json, an event as described above (else -EINVAL, or -EMSGSIZE
 * past SPOOL_EVENT_MAX). The spool numbers events itself, one more than
 * the newest it holds, so replay order is arrival order across agent
 * restarts and reboots. 0 (and the number in *ret_seq) or -errno; an
 * event that could not be written (-ENOSPC, -EIO, ...) counts as dropped.
 */
int spool_append(struct spool *s, const char *json, uint64_t *ret_seq);
/* Forget @seq (acknowledged). Unknown sequences are ignored. */
void spool_ack(struct spool *s, uint64_t seq);

/* An entry spool_next() set aside, for the caller's log line. */
struct spool_reject {
	char name[32];		/* its file name in the spool directory */
	char why[96];		/* "a symbolic link", "not JSON: ...", ... */
	bool kept;		/* moved into DIR/bad/; false: deleted (or left, unremovable) */
};

/*
 * The first stored event with sequence > @after: its sequence in *ret_seq
 * and its text in a malloc'd *ret_json (caller frees). 0, -ENOENT when
 * there is none, or -errno (-ENOMEM: try again later).
 *
 * -EBADMSG: the next entry was malformed; it has been set aside (see
 * above) and forgotten, and *@rej says which and why. Call again for the
 * entries after it: each such call removes one entry, so a loop ends.
 */
int spool_next(struct spool *s, uint64_t after, uint64_t *ret_seq, char **ret_json,
	       struct spool_reject *rej);
size_t spool_count(struct spool *s);
/* Events dropped because the spool was full (spool_max), or because they
 * could not be written (disk full), over its whole life. */
uint64_t spool_dropped(struct spool *s);
/* The spool directory, as given to spool_open(). */
const char *spool_dir(struct spool *s);

#endif
