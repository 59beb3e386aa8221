/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * An ELF file opened for its symbols and for turning a symbol's link-time
 * address into a file offset: what uprobes and the X server's client table
 * need. Owns: the open file and its libelf handle (elf_file_close()).
 * Callers: uprobe_site.c, xserver.c.
 */
#ifndef SPHINX_AGENT_ELF_FILE_H
#define SPHINX_AGENT_ELF_FILE_H

#include <stdbool.h>
#include <stdint.h>

#include <libelf.h>

/* An ELF binary opened for its symbols and program headers (libelf). */
struct elf_file {
	int fd;
	Elf *elf;
	bool pie;		/* ET_DYN: addresses are relative to the load base */
	uint64_t link_base;	/* link-time address of file offset 0 */
};

/* 0, or -errno (-ENOEXEC: not an ELF file). */
int elf_file_open(struct elf_file *f, const char *path);
void elf_file_close(struct elf_file *f);

/*
 * Call @fn for each defined symbol of type @type (STT_FUNC, STT_OBJECT) in
 * the dynamic and the static symbol table, until it returns non-zero.
 */
void elf_file_symbols(struct elf_file *f, int type,
		      int (*fn)(const char *name, uint64_t value, void *ctx), void *ctx);

/* The file offset of code at link-time address @value, or 0. */
uint64_t elf_file_code_offset(struct elf_file *f, uint64_t value);

#endif
