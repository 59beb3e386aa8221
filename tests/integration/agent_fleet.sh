#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The fleet view with the real agent and server: tests/e2e/agent_fleet.test.js
# (the agent's status report reaches the server; the layers the API shows are
# those the agent attached on this kernel; a status change sends a new one).
source "$(dirname "$0")/lib.bash"

require_root
require Xvfb node
[ -x "$AGENT" ] && [ -x "$OUTPUT/sphinx-server" ] || { not_ok "agent and server built in $OUTPUT"; finish; }
if [ ! -f "$ROOT/tests/node/node_modules/ws/package.json" ]; then
	(cd "$ROOT/tests/node" && npm ci --no-audit --no-fund --loglevel=error >&2) ||
		{ not_ok "npm ci in tests/node"; finish; }
fi
run_tap agent_fleet.test.js timeout 120 node "$ROOT/tests/e2e/agent_fleet.test.js"
finish
