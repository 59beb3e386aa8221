// SPDX-License-Identifier: GPL-2.0-only
/* The few ELF questions the agent asks of a binary, through libelf. */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <string.h>
#include <unistd.h>

#include "elf_file.h"

int elf_file_open(struct elf_file *f, const char *path)
{
	GElf_Ehdr ehdr;
	size_t nphdr;

	memset(f, 0, sizeof(*f));
	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0)
		return -errno;
	elf_version(EV_CURRENT);
	f->elf = elf_begin(f->fd, ELF_C_READ, NULL);
	if (!f->elf || !gelf_getehdr(f->elf, &ehdr) || elf_getphdrnum(f->elf, &nphdr)) {
		elf_file_close(f);
		return -ENOEXEC;
	}
	f->pie = ehdr.e_type == ET_DYN;
	for (size_t i = 0; i < nphdr; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(f->elf, i, &ph) && ph.p_type == PT_LOAD && ph.p_offset == 0) {
			f->link_base = ph.p_vaddr;
			break;
		}
	}
	return 0;
}

void elf_file_close(struct elf_file *f)
{
	if (f->elf)
		elf_end(f->elf);
	if (f->fd >= 0)
		close(f->fd);
	f->elf = NULL;
	f->fd = -1;
}

void elf_file_symbols(struct elf_file *f, int type,
		      int (*fn)(const char *name, uint64_t value, void *ctx), void *ctx)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(f->elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &sh) ||
		    (sh.sh_type != SHT_DYNSYM && sh.sh_type != SHT_SYMTAB) || !sh.sh_entsize)
			continue;
		data = elf_getdata(scn, NULL);
		for (size_t i = 0; data && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sym;
			const char *name;

			if (!gelf_getsym(data, i, &sym) || sym.st_shndx == SHN_UNDEF ||
			    GELF_ST_TYPE(sym.st_info) != type)
				continue;
			name = elf_strptr(f->elf, sh.sh_link, sym.st_name);
			if (name && fn(name, sym.st_value, ctx))
				return;
		}
	}
}

uint64_t elf_file_code_offset(struct elf_file *f, uint64_t value)
{
	size_t nphdr;

	if (elf_getphdrnum(f->elf, &nphdr))
		return 0;
	for (size_t i = 0; i < nphdr; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(f->elf, i, &ph) && ph.p_type == PT_LOAD && (ph.p_flags & PF_X) &&
		    value >= ph.p_vaddr && value < ph.p_vaddr + ph.p_filesz)
			return value - ph.p_vaddr + ph.p_offset;
	}
	return 0;
}
