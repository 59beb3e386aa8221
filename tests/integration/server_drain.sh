#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Graceful drain of a node (SIGTERM) behind HAProxy running the shipped
# server/deploy/haproxy.cfg, on a private PostgreSQL, with the real agent:
# see tests/node/server_drain.test.js.
. "$(dirname "$0")/lib.bash"
cd "$ROOT" || exit 1
require runuser node haproxy
if [ "$(id -u)" -ne 0 ]; then
	not_ok "running as root (PostgreSQL runs as the postgres user; the agent loads BPF programs)"
	finish
fi
run_tap "server_drain.test.js" bash tests/node/run.sh server_drain.test.js
finish
