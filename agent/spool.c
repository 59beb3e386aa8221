// SPDX-License-Identifier: GPL-2.0-only
/*
 * Files are named by their zero-padded spool sequence, so name order is
 * arrival order; an in-memory sorted array of sequences mirrors the
 * directory. The spool's own numbering (not the event ids, which restart
 * low after a reboot) keeps that order across restarts.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "spool.h"
#include "util.h"

#define SPOOL_EVENT_MAX (256 * 1024)	/* one event file, as a sanity bound */

struct spool {
	char *dir;
	uint64_t max;
	uint64_t *seqs;		/* sorted ascending */
	size_t n, cap;
	uint64_t dropped;
	uint64_t next_seq;
	pthread_mutex_t lock;
};

static void event_path(const struct spool *s, uint64_t seq, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%020llu.json", s->dir, (unsigned long long)seq);
}

static int write_file_atomic(const char *path, const char *data, size_t len)
{
	char tmp[4096];
	_cleanup_close_ int fd = -1;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	for (size_t off = 0; off < len; ) {
		ssize_t w = write(fd, data + off, len - off);

		if (w < 0) {
			unlink(tmp);
			return -errno;
		}
		off += w;
	}
	if (fsync(fd) < 0 || rename(tmp, path) < 0) {
		int err = -errno;

		unlink(tmp);
		return err;
	}
	return 0;
}

static void save_dropped(struct spool *s)
{
	char path[4096], num[32];

	snprintf(path, sizeof(path), "%s/dropped", s->dir);
	snprintf(num, sizeof(num), "%llu\n", (unsigned long long)s->dropped);
	write_file_atomic(path, num, strlen(num));
}

static void load_dropped(struct spool *s)
{
	char path[4096], num[32] = "";
	_cleanup_fclose_ FILE *f = NULL;

	snprintf(path, sizeof(path), "%s/dropped", s->dir);
	f = fopen(path, "re");
	if (f && fgets(num, sizeof(num), f)) {
		num[strcspn(num, "\n")] = '\0';
		parse_u64(num, 0, UINT64_MAX, &s->dropped);
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int push_seq(struct spool *s, uint64_t seq)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		uint64_t *bigger = realloc(s->seqs, cap * sizeof(*bigger));

		if (!bigger)
			return -ENOMEM;
		s->seqs = bigger;
		s->cap = cap;
	}
	s->seqs[s->n++] = seq;
	return 0;
}

static int scan_dir(struct spool *s)
{
	_cleanup_closedir_ DIR *d = opendir(s->dir);
	struct dirent *de;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char num[32];
		const char *dot = strchr(de->d_name, '.');
		uint64_t seq;

		if (!dot || strcmp(dot, ".json") != 0 || (size_t)(dot - de->d_name) >= sizeof(num))
			continue;
		memcpy(num, de->d_name, dot - de->d_name);
		num[dot - de->d_name] = '\0';
		if (parse_u64(num, 0, UINT64_MAX, &seq) == 0 && push_seq(s, seq) < 0)
			return -ENOMEM;
	}
	if (s->n > 1)
		qsort(s->seqs, s->n, sizeof(*s->seqs), cmp_u64);
	return 0;
}

int spool_open(const char *dir, uint64_t max, struct spool **ret)
{
	struct spool *s;
	int err;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->dir = strdup(dir);
	s->max = max ? max : 10000;
	pthread_mutex_init(&s->lock, NULL);
	err = s->dir ? scan_dir(s) : -ENOMEM;
	if (err < 0) {
		spool_close(s);
		return err;
	}
	load_dropped(s);
	s->next_seq = s->n ? s->seqs[s->n - 1] + 1 : 1;
	*ret = s;
	return 0;
}

void spool_close(struct spool *s)
{
	if (!s)
		return;
	pthread_mutex_destroy(&s->lock);
	free(s->seqs);
	free(s->dir);
	free(s);
}

/* Drop the oldest until there is room for one more. Lock held. */
static void make_room(struct spool *s)
{
	size_t excess = s->n + 1 > s->max ? s->n + 1 - s->max : 0;
	char path[4096];

	if (!excess)
		return;
	for (size_t i = 0; i < excess; i++) {
		event_path(s, s->seqs[i], path, sizeof(path));
		unlink(path);
	}
	memmove(s->seqs, s->seqs + excess, (s->n - excess) * sizeof(*s->seqs));
	s->n -= excess;
	s->dropped += excess;
	save_dropped(s);
}

int spool_append(struct spool *s, const char *json, uint64_t *ret_seq)
{
	uint64_t seq;
	char path[4096];
	int err;

	pthread_mutex_lock(&s->lock);
	make_room(s);
	seq = s->next_seq;
	event_path(s, seq, path, sizeof(path));
	err = write_file_atomic(path, json, strlen(json));
	if (!err)
		err = push_seq(s, seq);
	if (!err) {
		s->next_seq++;
		if (ret_seq)
			*ret_seq = seq;
	}
	pthread_mutex_unlock(&s->lock);
	return err;
}

void spool_ack(struct spool *s, uint64_t seq)
{
	char path[4096];

	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->n; i++) {
		if (s->seqs[i] == seq) {
			event_path(s, seq, path, sizeof(path));
			unlink(path);
			memmove(s->seqs + i, s->seqs + i + 1, (s->n - i - 1) * sizeof(*s->seqs));
			s->n--;
			break;
		}
	}
	pthread_mutex_unlock(&s->lock);
}

static int read_event(const char *path, char **ret)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *buf;
	ssize_t n;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_size <= 0 || st.st_size > SPOOL_EVENT_MAX)
		return -EFBIG;
	buf = malloc(st.st_size + 1);
	if (!buf)
		return -ENOMEM;
	n = read(fd, buf, st.st_size);
	if (n != st.st_size) {
		free(buf);
		return n < 0 ? -errno : -EIO;
	}
	buf[n] = '\0';
	*ret = buf;
	return 0;
}

int spool_next(struct spool *s, uint64_t after, uint64_t *ret_seq, char **ret_json)
{
	char path[4096];
	int err = -ENOENT;

	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->n; i++) {
		if (s->seqs[i] <= after)
			continue;
		event_path(s, s->seqs[i], path, sizeof(path));
		err = read_event(path, ret_json);
		if (err == 0)
			*ret_seq = s->seqs[i];
		break;
	}
	pthread_mutex_unlock(&s->lock);
	return err;
}

size_t spool_count(struct spool *s)
{
	size_t n;

	pthread_mutex_lock(&s->lock);
	n = s->n;
	pthread_mutex_unlock(&s->lock);
	return n;
}

uint64_t spool_dropped(struct spool *s)
{
	uint64_t n;

	pthread_mutex_lock(&s->lock);
	n = s->dropped;
	pthread_mutex_unlock(&s->lock);
	return n;
}
