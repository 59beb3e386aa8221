/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Where in a function a uprobe costs least (below). Owns: nothing; pure
 * over the bytes given, plus a reader of a function's first bytes.
 * Callers: layer.c when it attaches a uprobe; tests/unit/test_uprobe_site.c.
 */
#ifndef SPHINX_AGENT_UPROBE_SITE_H
#define SPHINX_AGENT_UPROBE_SITE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Where in a function to put its uprobe so that the kernel emulates the
 * probed instruction instead of single-stepping it. On x86-64 a probed
 * `push reg`, `nop` or `call rel32` costs one trap (~0.9 us here); anything
 * else (`sub $n,%rsp`, the usual first instruction of a -O2 function)
 * costs a trap plus a single-step trap (~10 us here).
 *
 * @code is the function's first @len bytes. Steps over a short prologue of
 * instructions known not to write the argument registers (rdi, rsi, rdx,
 * rcx, r8, r9: what the BPF programs read) and returns the offset of the
 * first emulated instruction after them, or 0 (the entry) when it meets
 * anything else first. Never a wrong place: an unknown byte stops it.
 */
size_t uprobe_site(const uint8_t *code, size_t len);

/* The function's first @len bytes in the ELF file at @path; bytes read or
 * -errno. */
int uprobe_site_read(const char *path, const char *function, uint8_t *code, size_t len);

#endif
