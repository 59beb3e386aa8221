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
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cleanup.h"
#include "log.h"
#include "xserver.h"

static const char *const wanted[] = { "clients", "currentMaxClients", "LimitClients" };

/* Link-time values of the wanted symbols (0 when absent) and the lowest
 * address the binary is linked at (0 for a PIE). */
static int read_symbols(const char *path, uint64_t value[ARRAY_SIZE(wanted)], uint64_t *link_base,
			bool *pie, char *why, size_t why_len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	Elf *elf;
	Elf_Scn *scn = NULL;
	GElf_Ehdr ehdr;
	size_t nphdr;
	int found = 0;

	if (fd < 0) {
		snprintf(why, why_len, "cannot open %s: %s", path, strerror(errno));
		return -errno;
	}
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf || !gelf_getehdr(elf, &ehdr) || elf_getphdrnum(elf, &nphdr)) {
		snprintf(why, why_len, "%s is not an ELF file", path);
		if (elf)
			elf_end(elf);
		return -ENOEXEC;
	}
	*pie = ehdr.e_type == ET_DYN;
	*link_base = UINT64_MAX;
	for (size_t i = 0; i < nphdr; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(elf, i, &ph) && ph.p_type == PT_LOAD && ph.p_vaddr < *link_base)
			*link_base = ph.p_vaddr - ph.p_offset;
	}
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &sh) || (sh.sh_type != SHT_DYNSYM && sh.sh_type != SHT_SYMTAB))
			continue;
		data = elf_getdata(scn, NULL);
		for (size_t i = 0; data && sh.sh_entsize && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sym;
			const char *name;

			if (!gelf_getsym(data, i, &sym) || sym.st_shndx == SHN_UNDEF ||
			    GELF_ST_TYPE(sym.st_info) != STT_OBJECT)
				continue;
			name = elf_strptr(elf, sh.sh_link, sym.st_name);
			for (size_t w = 0; name && w < ARRAY_SIZE(wanted); w++)
				if (!value[w] && strcmp(name, wanted[w]) == 0) {
					value[w] = sym.st_value;
					found++;
				}
		}
	}
	elf_end(elf);
	if (!value[0] || !value[1]) {
		snprintf(why, why_len, "%s exports no client table (clients, currentMaxClients)",
			 path);
		return -ENOENT;
	}
	return found;
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
	uint64_t value[ARRAY_SIZE(wanted)] = { 0 }, link_base = 0, start = 0, bias = 0;
	struct sphinx_x_server where = { 0 };
	bool pie = false;
	int err;

	err = read_symbols(path, value, &link_base, &pie, why, why_len);
	if (err < 0)
		return err;
	if (pie) {
		err = load_address(pid, path, &start);
		if (err < 0) {
			snprintf(why, why_len, "%s not found in /proc/%u/maps: %s", path, pid,
				 strerror(-err));
			return err;
		}
		bias = start - link_base;
	}
	where.clients = value[0] + bias;
	where.max_clients = value[1] + bias;
	where.limit_clients = value[2] ? value[2] + bias : 0;
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
