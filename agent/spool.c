// SPDX-License-Identifier: GPL-2.0-only
/*
 * Files are named by their zero-padded spool sequence, so name order is
 * arrival order; an in-memory sorted array of sequences mirrors the
 * directory. The spool's own numbering (not the event ids, which restart
 * low after a reboot) keeps that order across restarts.
 *
 * Every file operation goes through the directory's descriptor, opened
 * once and checked (openat/renameat/unlinkat with a bare name): a path
 * swapped for a symbolic link after the check changes nothing. Entries are
 * opened with O_NOFOLLOW (and O_NONBLOCK, so a FIFO cannot hang the
 * uplink), created with O_EXCL.
 */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "cleanup.h"
#include "proto_agent.h"
#include "proto_ws.h"
#include "spool.h"
#include "util.h"

#define SEQ_MAX		1000000000000000000ull	/* 10^18: "%020llu" never wraps */
#define NAME_DIGITS	20

struct spool {
	char *dir;
	int dfd, bad_fd;
	uint64_t max;
	uint64_t *seqs;		/* sorted ascending */
	size_t n, cap;
	uint64_t dropped;
	uint64_t next_seq;
	unsigned n_bad;		/* entries in bad/ */
	pthread_mutex_t lock;
};

static void entry_name(uint64_t seq, char *buf, size_t len)
{
	snprintf(buf, len, "%0*llu.json", NAME_DIGITS, (unsigned long long)seq);
}

/* Text from a file we refuse goes into a log line: printable ASCII only. */
static void printable(char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e)
			*s = '?';
}

/* ------------------------------------------------------------ directory */

static int check_dir(int fd, const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		snprintf(err, errlen,
			 "%s: owned by uid %u, not by root: another user could plant or "
			 "remove events (chown root %s)",
			 path, (unsigned)st.st_uid, path);
		return -EPERM;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(err, errlen, "%s: writable by %s (mode %04o): another user could plant or "
			 "remove events (chmod go-w %s)", path,
			 st.st_mode & S_IWOTH ? "everyone" : "its group",
			 (unsigned)(st.st_mode & 07777), path);
		return -EPERM;
	}
	return 0;
}

/*
 * Create (0700) or open the directory @name under @at, never through a
 * symbolic link, and check who may write to it. @shown names it in errors.
 */
static int open_dir(int at, const char *name, const char *shown, int *ret_fd,
		    char *err, size_t errlen)
{
	_cleanup_close_ int fd = -1;
	struct stat st;
	int r;

	if (mkdirat(at, name, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: cannot create: %s", shown, strerror(errno));
		return -errno;
	}
	fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
			snprintf(err, errlen, "%s: is a symbolic link; the spool must be a real "
				 "directory (set spool_dir to the directory itself)", shown);
		else if (r == -ENOTDIR)
			snprintf(err, errlen, "%s: is not a directory", shown);
		else
			snprintf(err, errlen, "%s: %s", shown, strerror(-r));
		return r;
	}
	r = check_dir(fd, shown, err, errlen);
	if (r < 0)
		return r;
	*ret_fd = TAKE_FD(fd);
	return 0;
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

/* NNNNNNNNNNNNNNNNNNNN.json (exactly our names) to its sequence. */
static bool parse_name(const char *name, uint64_t *ret)
{
	char num[NAME_DIGITS + 1];

	if (strlen(name) != NAME_DIGITS + 5 || strcmp(name + NAME_DIGITS, ".json") != 0)
		return false;
	memcpy(num, name, NAME_DIGITS);
	num[NAME_DIGITS] = '\0';
	return parse_u64(num, 1, SEQ_MAX, ret) == 0;
}

static DIR *open_dirstream(int fd)
{
	int copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	DIR *d;

	if (copy < 0)
		return NULL;
	d = fdopendir(copy);
	if (!d)
		close(copy);
	return d;
}

/* Index our entries; remove what a crash left half-written (*.tmp). */
static int scan_dir(struct spool *s)
{
	_cleanup_closedir_ DIR *d = open_dirstream(s->dfd);
	struct dirent *de;
	uint64_t seq;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);

		if (len > 4 && strcmp(de->d_name + len - 4, ".tmp") == 0)
			unlinkat(s->dfd, de->d_name, 0);
		else if (parse_name(de->d_name, &seq) && push_seq(s, seq) < 0)
			return -ENOMEM;
	}
	if (s->n > 1)
		qsort(s->seqs, s->n, sizeof(*s->seqs), cmp_u64);
	return 0;
}

static unsigned count_entries(int fd)
{
	_cleanup_closedir_ DIR *d = open_dirstream(fd);
	struct dirent *de;
	unsigned n = 0;

	while (d && (de = readdir(d)))
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	return n;
}

/* ---------------------------------------------------------------- files */

/* Write @name under the spool whole or not at all. */
static int write_file_atomic(int dfd, const char *name, const char *data, size_t len)
{
	char tmp[64];
	_cleanup_close_ int fd = -1;

	snprintf(tmp, sizeof(tmp), "%s.tmp", name);
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST) {
		/* A leftover (or a planted link): remove the name itself, then create. */
		unlinkat(dfd, tmp, 0);
		fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	}
	if (fd < 0)
		return -errno;
	for (size_t off = 0; off < len; ) {
		ssize_t w = write(fd, data + off, len - off);

		if (w < 0) {
			int err = -errno;

			unlinkat(dfd, tmp, 0);
			return err;
		}
		off += w;
	}
	if (fsync(fd) < 0 || renameat(dfd, tmp, dfd, name) < 0) {
		int err = -errno;

		unlinkat(dfd, tmp, 0);
		return err;
	}
	return 0;
}

/*
 * Read the regular file @name under @dfd, 1 to @max bytes, never through a
 * link. 0 and a malloc'd NUL-terminated *ret; -EBADMSG (-EFBIG: over @max)
 * with @why; -ENOMEM.
 */
static int read_file(int dfd, const char *name, size_t max, char **ret, size_t *ret_len,
		     char *why, size_t whylen)
{
	_cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	size_t got = 0;

	if (fd < 0) {
		snprintf(why, whylen, "%s", errno == ELOOP ? "a symbolic link" : strerror(errno));
		return -EBADMSG;
	}
	if (fstat(fd, &st) < 0) {
		snprintf(why, whylen, "%s", strerror(errno));
		return -EBADMSG;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "not a regular file");
		return -EBADMSG;
	}
	if (st.st_nlink != 1) {
		snprintf(why, whylen, "a hard link (%lu names)", (unsigned long)st.st_nlink);
		return -EBADMSG;
	}
	if (st.st_size <= 0) {
		snprintf(why, whylen, "empty");
		return -EBADMSG;
	}
	if ((size_t)st.st_size > max) {
		snprintf(why, whylen, "%lld bytes, over the %zu-byte limit", (long long)st.st_size,
			 max);
		return -EFBIG;
	}
	buf = malloc(st.st_size + 1);
	if (!buf)
		return -ENOMEM;
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, st.st_size - got);

		if (n <= 0) {
			snprintf(why, whylen, "%s",
				 n < 0 ? strerror(errno) : "shorter than its size");
			return -EBADMSG;
		}
		got += n;
	}
	buf[got] = '\0';
	*ret = TAKE_PTR(buf);
	if (ret_len)
		*ret_len = got;
	return 0;
}

static_assert(SPOOL_ID_MAX == PROTO_AGENT_ID_MAX, "the spool keeps what the server accepts");

/* An event the server can acknowledge (see spool.h)? 0, or -EBADMSG and @why. */
static int check_event(const char *text, size_t len, char *why, size_t whylen)
{
	json_error_t jerr;
	json_t *obj = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	json_t *v = json_object_get(obj, PROTO_WS_F_VERSION);
	const char *type = json_string_value(json_object_get(obj, PROTO_WS_F_TYPE));
	const char *id = json_string_value(json_object_get(obj, "id"));
	const char *bad = NULL;

	if (!obj)
		snprintf(why, whylen, "not JSON: %.80s", jerr.text);
	else if (!json_is_object(obj))
		bad = "not a JSON object";
	else if (!json_is_integer(v) || json_integer_value(v) != PROTO_AGENT_VERSION)
		bad = "no \"v\": " STR(PROTO_AGENT_VERSION);
	else if (!type || (strcmp(type, PROTO_AGENT_MSG_CAPTURE_BEGIN) != 0 &&
			   strcmp(type, PROTO_AGENT_MSG_CAPTURE_END) != 0))
		bad = "\"type\" is not capture.begin or capture.end";
	else if (!id || !id[0] || strlen(id) > SPOOL_ID_MAX)
		bad = "no \"id\" string of 1 to 128 bytes";
	if (bad)
		snprintf(why, whylen, "%s", bad);
	json_decref(obj);
	if (!obj || bad) {
		printable(why);
		return -EBADMSG;
	}
	return 0;
}

static void save_dropped(struct spool *s)
{
	char num[32];

	snprintf(num, sizeof(num), "%llu\n", (unsigned long long)s->dropped);
	write_file_atomic(s->dfd, "dropped", num, strlen(num));
}

static void load_dropped(struct spool *s)
{
	_cleanup_free_ char *num = NULL;
	char why[64];

	if (read_file(s->dfd, "dropped", 31, &num, NULL, why, sizeof(why)) < 0)
		return;
	num[strcspn(num, "\n")] = '\0';
	parse_u64(num, 0, UINT64_MAX, &s->dropped);
}

/* ----------------------------------------------------------------- spool */

int spool_open(const char *dir, uint64_t max, struct spool **ret, char *err, size_t errlen)
{
	struct spool *s;
	char shown[4096];
	int r;

	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "%s: out of memory", dir);
		return -ENOMEM;
	}
	s->dfd = s->bad_fd = -1;
	pthread_mutex_init(&s->lock, NULL);
	s->max = max ? max : 10000;
	s->dir = strdup(dir);
	r = s->dir ? open_dir(AT_FDCWD, dir, dir, &s->dfd, err, errlen) : -ENOMEM;
	if (r == 0) {
		snprintf(shown, sizeof(shown), "%s/bad", dir);
		r = open_dir(s->dfd, "bad", shown, &s->bad_fd, err, errlen);
	}
	if (r == 0) {
		r = scan_dir(s);
		if (r < 0)
			snprintf(err, errlen, "%s: %s", dir, strerror(-r));
	}
	if (r < 0) {
		spool_close(s);
		return r;
	}
	s->n_bad = count_entries(s->bad_fd);
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
	if (s->dfd >= 0)
		close(s->dfd);
	if (s->bad_fd >= 0)
		close(s->bad_fd);
	free(s->seqs);
	free(s->dir);
	free(s);
}

const char *spool_dir(struct spool *s)
{
	return s->dir;
}

/* The index of the first sequence > @after (s->n when none). Lock held. */
static size_t first_after(const struct spool *s, uint64_t after)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->seqs[mid] <= after)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void forget(struct spool *s, size_t i)
{
	memmove(s->seqs + i, s->seqs + i + 1, (s->n - i - 1) * sizeof(*s->seqs));
	s->n--;
}

/* Drop the oldest until there is room for one more. Lock held. */
static void make_room(struct spool *s)
{
	size_t excess = s->n + 1 > s->max ? s->n + 1 - s->max : 0;
	char name[32];

	if (!excess)
		return;
	for (size_t i = 0; i < excess; i++) {
		entry_name(s->seqs[i], name, sizeof(name));
		unlinkat(s->dfd, name, 0);
	}
	memmove(s->seqs, s->seqs + excess, (s->n - excess) * sizeof(*s->seqs));
	s->n -= excess;
	s->dropped += excess;
	save_dropped(s);
}

int spool_append(struct spool *s, const char *json, uint64_t *ret_seq)
{
	size_t len = strlen(json);
	char name[32], why[96];
	uint64_t seq;
	int err;

	if (len > SPOOL_EVENT_MAX)
		return -EMSGSIZE;
	if (check_event(json, len, why, sizeof(why)) < 0)
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	make_room(s);
	seq = s->next_seq;
	entry_name(seq, name, sizeof(name));
	err = seq <= SEQ_MAX ? write_file_atomic(s->dfd, name, json, len) : -EOVERFLOW;
	if (!err)
		err = push_seq(s, seq);
	if (!err) {
		s->next_seq++;
		if (ret_seq)
			*ret_seq = seq;
	} else {
		/* lost to the server (disk full, I/O error): counted, so that hello says so */
		s->dropped++;
		save_dropped(s);
	}
	pthread_mutex_unlock(&s->lock);
	return err;
}

void spool_ack(struct spool *s, uint64_t seq)
{
	char name[32];
	size_t i;

	pthread_mutex_lock(&s->lock);
	i = first_after(s, seq - 1);
	if (seq && i < s->n && s->seqs[i] == seq) {
		entry_name(seq, name, sizeof(name));
		unlinkat(s->dfd, name, 0);
		forget(s, i);
	}
	pthread_mutex_unlock(&s->lock);
}

/*
 * Move entry @i out of the way: into bad/ while it holds fewer than
 * SPOOL_BAD_MAX and the entry is small, else delete it. Forgotten either
 * way, so it can never hold the uplink again. Lock held.
 */
static void set_aside(struct spool *s, size_t i, bool too_big, struct spool_reject *rej)
{
	struct stat st;
	bool existed;

	entry_name(s->seqs[i], rej->name, sizeof(rej->name));
	rej->kept = false;
	if (!too_big && s->n_bad < SPOOL_BAD_MAX) {
		existed = fstatat(s->bad_fd, rej->name, &st, AT_SYMLINK_NOFOLLOW) == 0;
		if (renameat(s->dfd, rej->name, s->bad_fd, rej->name) == 0) {
			rej->kept = true;
			s->n_bad += !existed;
		}
	}
	if (!rej->kept && unlinkat(s->dfd, rej->name, 0) < 0 && errno == EISDIR)
		unlinkat(s->dfd, rej->name, AT_REMOVEDIR);
	forget(s, i);
}

int spool_next(struct spool *s, uint64_t after, uint64_t *ret_seq, char **ret_json,
	       struct spool_reject *rej)
{
	struct spool_reject scratch;
	char name[32], *text = NULL;
	size_t i, len = 0;
	int err;

	if (!rej)
		rej = &scratch;
	pthread_mutex_lock(&s->lock);
	i = first_after(s, after);
	if (i == s->n) {
		pthread_mutex_unlock(&s->lock);
		return -ENOENT;
	}
	entry_name(s->seqs[i], name, sizeof(name));
	err = read_file(s->dfd, name, SPOOL_EVENT_MAX, &text, &len, rej->why, sizeof(rej->why));
	if (err == 0)
		err = check_event(text, len, rej->why, sizeof(rej->why));
	if (err == -EBADMSG || err == -EFBIG) {
		free(text);
		set_aside(s, i, err == -EFBIG, rej);
		err = -EBADMSG;
	} else if (err == 0) {
		*ret_seq = s->seqs[i];
		*ret_json = text;
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
