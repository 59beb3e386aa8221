#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Agent -> server -> lobby, for real: tests/e2e/e2e_agent.test.js on a
# private Xvfb display (see that file for the scenarios).
source "$(dirname "$0")/lib.bash"

require_root
require Xvfb ffmpeg node setpriv
[ -x "$AGENT" ] && [ -x "$OUTPUT/sphinx-server" ] || { not_ok "agent and server built in $OUTPUT"; finish; }
if [ ! -f "$ROOT/tests/node/node_modules/ws/package.json" ]; then
	(cd "$ROOT/tests/node" && npm ci --no-audit --no-fund --loglevel=error >&2) ||
		{ not_ok "npm ci in tests/node"; finish; }
fi
start_xvfb
run_tap e2e_agent.test.js node "$ROOT/tests/e2e/e2e_agent.test.js"
finish
