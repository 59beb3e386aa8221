#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Several sphinx-server nodes on one PostgreSQL database behind HAProxy
# (issue 13): every tests/node/cluster_*.test.js in turn. Each file starts
# its own private PostgreSQL, nodes and balancer with tests/node/cluster.js
# and stops them, by pid, at its end.
. "$(dirname "$0")/lib.bash"
cd "$ROOT" || exit 1
require runuser node haproxy
if [ "$(id -u)" -ne 0 ]; then
	not_ok "running as root (PostgreSQL runs as the postgres user, started with runuser)"
	finish
fi
for f in tests/node/cluster_*.test.js; do
	run_tap "$(basename "$f")" bash tests/node/run.sh "$(basename "$f")"
done
finish
