// SPDX-License-Identifier: GPL-2.0-only
/*
 * The cheapest correct place for a function's uprobe: see uprobe_site.h.
 * A whitelist decoder, not a disassembler: it knows the few prologue forms
 * gcc emits (stack adjustment, stack-protector load, pushes of constants,
 * spills and register moves into callee-saved registers) and stops at the
 * first byte it does not know.
 */
#include <errno.h>
#include <gelf.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "elf_file.h"
#include "uprobe_site.h"

#define MAX_STEPS 12

/* rcx=1 rdx=2 rsi=6 rdi=7 r8=8 r9=9: the registers arguments arrive in. */
static bool is_arg_reg(unsigned reg)
{
	return reg == 1 || reg == 2 || reg == 6 || reg == 7 || reg == 8 || reg == 9;
}

/* Length of a ModRM memory operand (ModRM, SIB, displacement) at @p, or 0
 * for forms other than [rsp+disp8/32] and [rip+disp32]. */
static size_t stack_operand_len(const uint8_t *p, size_t left)
{
	unsigned mod, rm;

	if (left < 1)
		return 0;
	mod = p[0] >> 6;
	rm = p[0] & 7;
	if (mod == 0 && rm == 5)
		return left >= 5 ? 5 : 0;			/* [rip+disp32] */
	if (rm != 4 || left < 2 || p[1] != 0x24)
		return 0;					/* SIB must be [rsp] */
	if (mod == 1)
		return left >= 3 ? 3 : 0;
	if (mod == 2)
		return left >= 6 ? 6 : 0;
	return 0;
}

/*
 * Length of the instruction at @p if it is one the kernel emulates (and so
 * a good site), as a negative number; the length of a known harmless one to
 * step over; 0 for anything else.
 */
static long classify(const uint8_t *p, size_t left)
{
	unsigned rex = 0;
	size_t n = 0, m;

	if (left >= 4 && p[0] == 0xf3 && p[1] == 0x0f && p[2] == 0x1e && p[3] == 0xfa)
		return 4;					/* endbr64 */
	if (left >= 9 && p[0] == 0x64 && p[1] == 0x48 && p[2] == 0x8b && p[3] == 0x04 &&
	    p[4] == 0x25)
		return 9;				/* mov %fs:disp32,%rax (canary) */
	if (left >= 1 && (p[0] & 0xf0) == 0x40) {
		rex = p[0];
		n = 1;
	}
	if (n >= left)
		return 0;
	switch (p[n]) {
	case 0x50 ... 0x57:				/* push reg */
		return -(long)(n + 1);
	case 0x90:				/* nop (with a REX: an xchg) */
		return rex ? 0 : -1;
	case 0xe8:					/* call rel32 */
		return !rex && left >= 5 ? -5 : 0;
	case 0x6a:					/* push imm8 */
		return !rex && left >= 2 ? 2 : 0;
	case 0x68:					/* push imm32 */
		return !rex && left >= 5 ? 5 : 0;
	case 0x83:					/* sub $imm8,%rsp */
		return rex == 0x48 && left >= n + 3 && p[n + 1] == 0xec ? (long)(n + 3) : 0;
	case 0x81:					/* sub $imm32,%rsp */
		return rex == 0x48 && left >= n + 6 && p[n + 1] == 0xec ? (long)(n + 6) : 0;
	case 0xff:					/* push disp32(%rip) */
		return !rex && left >= 6 && p[1] == 0x35 ? 6 : 0;
	case 0x89:					/* mov reg,r/m */
	case 0x8b:					/* mov r/m,reg */
	case 0x31:					/* xor reg,r/m */
	case 0x33: {					/* xor r/m,reg */
		unsigned modrm, reg, rm;
		bool to_rm = p[n] == 0x89 || p[n] == 0x31;

		if (n + 1 >= left)
			return 0;
		modrm = p[n + 1];
		reg = ((modrm >> 3) & 7) | (rex & 4 ? 8 : 0);
		rm = (modrm & 7) | (rex & 1 ? 8 : 0);
		if (modrm >> 6 == 3)				/* register to register */
			return is_arg_reg(to_rm ? rm : reg) ? 0 : (long)(n + 2);
		if (p[n] != 0x89 && p[n] != 0x8b)
			return 0;
		m = stack_operand_len(p + n + 1, left - n - 1);
		if (!m || (!to_rm && is_arg_reg(reg)))
			return 0;
		return (long)(n + 1 + m);			/* a spill, or a load */
	}
	default:
		return 0;
	}
}

size_t uprobe_site(const uint8_t *code, size_t len)
{
	size_t at = 0;

	for (int step = 0; step < MAX_STEPS && at < len; step++) {
		long c = classify(code + at, len - at);

		if (c < 0)
			return at;
		if (c == 0)
			return 0;
		at += (size_t)c;
	}
	return 0;
}

struct wanted_function {
	const char *name;
	uint64_t value;
};

static int match_function(const char *name, uint64_t value, void *ctx)
{
	struct wanted_function *w = ctx;

	if (strcmp(name, w->name) != 0)
		return 0;
	w->value = value;
	return 1;
}

int uprobe_site_read(const char *path, const char *function, uint8_t *code, size_t len)
{
	struct wanted_function w = { .name = function };
	struct elf_file f;
	uint64_t offset = 0;
	ssize_t got;
	int err = elf_file_open(&f, path);

	if (err < 0)
		return err;
	elf_file_symbols(&f, STT_FUNC, match_function, &w);
	if (w.value)
		offset = elf_file_code_offset(&f, w.value);
	got = offset ? pread(f.fd, code, len, (off_t)offset) : -1;
	err = got < 0 ? (offset ? -errno : -ENOENT) : (int)got;
	elf_file_close(&f);
	return err;
}
