/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Where a running X server keeps its clients (`clients[]`,
 * `currentMaxClients`, `LimitClients`, from the binary's dynamic symbols and
 * /proc/PID/maps), written into the BPF map x_servers so the X server
 * layer's probes can find the requesting client. Owns: nothing beyond the
 * map entries it writes. Callers: layer.c (the X server layer).
 */
#ifndef SPHINX_AGENT_XSERVER_H
#define SPHINX_AGENT_XSERVER_H

#include <stddef.h>
#include <stdint.h>

#include "sphinx.h"

/*
 * Tell the BPF side (map @map_fd, struct sphinx_x_server by tgid) where the
 * X server @pid, running binary @path, keeps its clients. 0, or -errno with
 * the reason in @why.
 */
int xserver_register(int map_fd, uint32_t pid, const char *path, char *why, size_t why_len);
/* The server @pid is gone. */
void xserver_forget(int map_fd, uint32_t pid);

#endif
