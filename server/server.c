// SPDX-License-Identifier: GPL-2.0-only
/* The server-wide context (server.h) and the wall clock every module uses. */
#include "server.h"
#include "util.h"

struct server *srv;

int64_t now_ms(void) { return (int64_t)(now_realtime_ns() / 1000000); }
