// SPDX-License-Identifier: GPL-2.0-only
/*
 * Where a running X server keeps its clients. The X server layer's probes
 * find the requester of a read or copy in the server's own client table
 * (`ClientPtr clients[]`, `int currentMaxClients`, `int LimitClients`, all
 * exported for driver modules). Their addresses come from the binary's
 * dynamic symbol table plus where /proc/PID/maps says the binary is loaded:
 * no per-request probe is needed to know who is being served.
 */
#include <errno.h>
#include <gelf.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cleanup.h"
#include "elf_file.h"
#include "log.h"
#include "xserver.h"

static const char *const wanted[] = { "clients", "currentMaxClients", "LimitClients" };

struct wanted_objects {
	uint64_t value[ARRAY_SIZE(wanted)];
};

static int match_object(const char *name, uint64_t value, void *ctx)
{
	struct wanted_objects *w = ctx;

	for (size_t i = 0; i < ARRAY_SIZE(wanted); i++)
		if (!w->value[i] && strcmp(name, wanted[i]) == 0)
			w->value[i] = value;
	return 0;
}

/* Where @path is mapped in @pid: the start of its mapping at offset 0. */
static int load_address(uint32_t pid, const char *path, uint64_t *start)
{
	_cleanup_fclose_ FILE *maps = NULL;
	char file[64], line[4096];

	snprintf(file, sizeof(file), "/proc/%u/maps", pid);
	maps = fopen(file, "re");
	if (!maps)
		return -errno;
	while (fgets(line, sizeof(line), maps)) {
		uint64_t lo, hi, offset;
		char *name;

		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %*s %" SCNx64, &lo, &hi, &offset) != 3)
			continue;
		name = strchr(line, '/');
		if (!name || offset != 0)
			continue;
		name[strcspn(name, "\n")] = '\0';
		/* A binary upgraded under a running server reads "(deleted)". */
		if (strncmp(name, path, strlen(path)) == 0) {
			*start = lo;
			return 0;
		}
	}
	return -ENOENT;
}

int xserver_register(int map_fd, uint32_t pid, const char *path, char *why, size_t why_len)
{
	struct wanted_objects w = { { 0 } };
	struct sphinx_x_server where = { 0 };
	uint64_t start = 0, bias = 0;
	struct elf_file f;
	int err;

	err = elf_file_open(&f, path);
	if (err < 0) {
		snprintf(why, why_len, "cannot read %s: %s", path, strerror(-err));
		return err;
	}
	elf_file_symbols(&f, STT_OBJECT, match_object, &w);
	elf_file_close(&f);
	if (!w.value[0] || !w.value[1]) {
		snprintf(why, why_len, "%s exports no client table (clients, currentMaxClients)",
			 path);
		return -ENOENT;
	}
	if (f.pie) {
		err = load_address(pid, path, &start);
		if (err < 0) {
			snprintf(why, why_len, "%s not found in /proc/%u/maps: %s", path, pid,
				 strerror(-err));
			return err;
		}
		bias = start - f.link_base;
	}
	where.clients = w.value[0] + bias;
	where.max_clients = w.value[1] + bias;
	where.limit_clients = w.value[2] ? w.value[2] + bias : 0;
	if (bpf_map_update_elem(map_fd, &pid, &where, BPF_ANY) < 0) {
		err = -errno;
		snprintf(why, why_len, "cannot store the client table: %s", strerror(errno));
		return err;
	}
	log_debug("X server %u: clients at 0x%" PRIx64 ", %s", pid, (uint64_t)where.clients,
		  where.limit_clients ? "LimitClients exported" : "256 clients assumed");
	return 0;
}

void xserver_forget(int map_fd, uint32_t pid)
{
	bpf_map_delete_elem(map_fd, &pid);
}
