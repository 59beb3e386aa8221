#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The lobby of a 1 000-person lecture in a real browser (issue 18):
# tests/browser/lobby_large.test.js against the real sphinx-server started
# here on a free port with a fresh data directory, default limits, sign-up
# open (the test signs its 1 000 people up over HTTP, each from its own
# loopback address) and argon2id at its minimum cost so that takes seconds.
# Screenshot: tests/artifacts/lobby-1000-organiser.png (not committed).
# A missing chromium, node or npm is a failure, never a skip.
source "$(dirname "$0")/lib.bash"

BIN=$OUTPUT/sphinx-server
HERE=$ROOT/tests/browser

require curl
require_browser
if [ ! -x "$BIN" ]; then
	not_ok "$BIN exists (run make first)"
	finish
fi
# above max_connections (default 20 000): with less, the server does not start
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

DATA=$TMP/data
mkdir -p "$DATA"
if TOKEN=$("$BIN" --data "$DATA" enroll-machine lab-hall) && [ -n "$TOKEN" ]; then
	ok "machine enrolled for the agent socket"
else
	not_ok "machine enrolled for the agent socket"
	finish
fi

# a port below the ephemeral range: after a run with thousands of loopback
# connections, ports in that range can sit in TIME_WAIT and fail the bind
while :; do
	PORT=$((20000 + RANDOM % 12000))
	(exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null || break
done
"$BIN" --data "$DATA" --port "$PORT" --bind 127.0.0.1 --web "$ROOT/server/web" \
	-o signup=yes -o password_strength=min >>"$TMP/server.log" 2>&1 &
SERVER_PID=$!
trap 'kill "$SERVER_PID" 2>/dev/null; cleanup' EXIT
up=0
for _ in $(seq 100); do
	curl -fsS "http://127.0.0.1:$PORT/api/health" >/dev/null 2>&1 && { up=1; break; }
	sleep 0.05
done
if [ $up -ne 1 ]; then
	not_ok "sphinx-server answers on port $PORT"
	sed 's/^/# /' "$TMP/server.log"
	finish
fi

mkdir -p "$ROOT/tests/artifacts"
SPHINX_URL=http://127.0.0.1:$PORT \
SPHINX_TOKEN=$TOKEN \
SPHINX_ARTIFACTS=$ROOT/tests/artifacts \
CHROMIUM=$CHROMIUM \
	run_tap "${HERE##*/}/lobby_large.test.js" timeout 300 node "$HERE/lobby_large.test.js"
if [ "$N_FAILED" -ne 0 ]; then
	echo "# server log tail:"
	tail -n 30 "$TMP/server.log" | sed 's/^/# /'
fi
finish
