// SPDX-License-Identifier: GPL-2.0-only
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "proc_table.h"
#include "util.h"

int proc_table_init(struct proc_table *t)
{
	*t = (struct proc_table){ 0 };
	return 0;
}

static void proc_free(struct proc *p)
{
	if (!p)
		return;
	if (p->argv)
		for (size_t i = 0; i < p->argc; i++)
			free(p->argv[i]);
	free(p->argv);
	free(p->exe);
	free(p->cmdline);
	free(p);
}

static void proc_node_free(struct hashtab_node *n)
{
	proc_free(hashtab_entry(n, struct proc, node));
}

void proc_table_free(struct proc_table *t)
{
	hashtab_clear(&t->procs, proc_node_free);
}

struct proc *proc_table_get(struct proc_table *t, uint32_t pid)
{
	struct hashtab_node *n = hashtab_find(&t->procs, pid);

	return n ? hashtab_entry(n, struct proc, node) : NULL;
}

void proc_table_remove(struct proc_table *t, uint32_t pid)
{
	struct proc *dead = proc_table_get(t, pid);

	if (!dead)
		return;
	hashtab_remove(&t->procs, &dead->node);
	proc_free(dead);
}

/* Split NUL-separated args into argv and a space-joined command line. */
static int set_args(struct proc *p, const char *args, size_t size)
{
	size_t argc = 0;
	char *joined;

	joined = malloc(size + 1);
	p->argv = calloc(PROC_ARGV_MAX + 1, sizeof(char *));
	if (!joined || !p->argv) {
		free(joined);
		return -ENOMEM;
	}
	for (size_t off = 0; off < size && argc < PROC_ARGV_MAX; ) {
		size_t n = strnlen(args + off, size - off);

		p->argv[argc] = strndup(args + off, n);
		if (!p->argv[argc])
			break;
		argc++;
		off += n + 1;
	}
	p->argc = argc;
	/* The joined form keeps every byte the kernel gave, NULs as spaces. */
	memcpy(joined, args, size);
	while (size > 0 && joined[size - 1] == '\0')
		size--;
	for (size_t i = 0; i < size; i++)
		if (joined[i] == '\0')
			joined[i] = ' ';
	joined[size] = '\0';
	p->cmdline = joined;
	return 0;
}

static struct proc *proc_new(struct proc_table *t, uint32_t pid)
{
	struct proc *p;

	proc_table_remove(t, pid);
	if (hashtab_count(&t->procs) >= PROC_TABLE_MAX)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->pid = pid;
	if (hashtab_insert(&t->procs, &p->node, pid) < 0) {
		free(p);
		return NULL;
	}
	return p;
}

struct proc *proc_table_exec(struct proc_table *t, uint32_t pid, uint32_t ppid, uint32_t uid,
			     uint64_t start_ns, const char *comm, const char *exe,
			     const char *args, size_t args_size)
{
	struct proc *p = proc_new(t, pid);

	if (!p)
		return NULL;
	p->ppid = ppid;
	p->uid = uid;
	p->start_ns = start_ns;
	snprintf(p->comm, sizeof(p->comm), "%s", comm);
	snprintf(p->user, sizeof(p->user), "%s", user_name(uid));
	p->exe = strdup(exe);
	if (!p->exe || set_args(p, args, args_size) < 0) {
		proc_table_remove(t, pid);
		return NULL;
	}
	return p;
}

/* Read a small /proc file whole. Returns bytes read or -errno. */
static ssize_t read_proc_file(uint32_t pid, const char *name, char *buf, size_t len)
{
	char path[64];
	_cleanup_close_ int fd = -1;
	size_t n = 0;

	snprintf(path, sizeof(path), "/proc/%u/%s", pid, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (n < len) {
		ssize_t r = read(fd, buf + n, len - n);

		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		n += r;
	}
	return n;
}

static int status_field(const char *status, const char *key, uint64_t *ret)
{
	const char *s = strstr(status, key);
	char num[24];
	size_t n = 0;

	if (!s)
		return -ENOENT;
	s += strlen(key);
	while (*s == ' ' || *s == '\t')
		s++;
	while (isdigit((unsigned char)*s) && n < sizeof(num) - 1)
		num[n++] = *s++;
	num[n] = '\0';
	return parse_u64(num, 0, UINT32_MAX, ret);
}

struct proc *proc_table_load(struct proc_table *t, uint32_t pid)
{
	char status[4096], args[4096], exe[4096] = "";
	char path[64], comm[16] = "";
	uint64_t ppid = 0, uid = 0;
	ssize_t n, args_n;
	const char *name;

	struct proc *p = proc_table_get(t, pid);
	if (p)
		return p;
	n = read_proc_file(pid, "status", status, sizeof(status) - 1);
	if (n <= 0)
		return NULL;
	status[n] = '\0';
	status_field(status, "\nPPid:", &ppid);
	status_field(status, "\nUid:", &uid);
	name = strncmp(status, "Name:", 5) == 0 ? status + 5 : "";
	while (*name == '\t' || *name == ' ')
		name++;
	snprintf(comm, sizeof(comm), "%.*s", (int)strcspn(name, "\n"), name);

	snprintf(path, sizeof(path), "/proc/%u/exe", pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	args_n = read_proc_file(pid, "cmdline", args, sizeof(args));
	if (args_n < 0)
		args_n = 0;
	/* Start time is not needed for matching; exec records carry it. */
	return proc_table_exec(t, pid, ppid, uid, 0, comm, exe, args, args_n);
}

int proc_table_scan(struct proc_table *t)
{
	_cleanup_closedir_ DIR *d = opendir("/proc");
	struct dirent *de;
	int n = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		uint64_t pid;

		if (parse_u64(de->d_name, 1, UINT32_MAX, &pid) < 0)
			continue;
		if (proc_table_load(t, pid))
			n++;
	}
	return n;
}

const char *user_name(uint32_t uid)
{
	/* A tiny direct-mapped cache: lab machines have a handful of users. */
	static struct { uint32_t uid; int valid; char name[64]; } cache[64];
	unsigned slot = uid % 64;
	struct passwd pw, *res = NULL;
	char buf[1024];

	if (cache[slot].valid && cache[slot].uid == uid)
		return cache[slot].name;
	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) != 0 || !res) {
		/* Not cached: the account may be created later. */
		static char number[16];

		snprintf(number, sizeof(number), "%u", uid);
		return number;
	}
	snprintf(cache[slot].name, sizeof(cache[slot].name), "%s", res->pw_name);
	cache[slot].uid = uid;
	cache[slot].valid = 1;
	return cache[slot].name;
}
