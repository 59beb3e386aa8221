#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The web app in a real browser: playwright-core (npm, pinned in
# tests/browser/package-lock.json) drives Debian's chromium, headless, with
# fake camera and microphone, against the real sphinx-server started here on
# a free port with a fresh data directory. Two users made with add-user (an
# organiser and an attendee, plus a third without a camera), one machine
# enrolled for the agent socket. tests/browser/lobby.test.js prints the TAP
# lines; screenshots land in tests/artifacts/ (not committed).
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

DATA=$TMP/data
mkdir -p "$DATA"
admin() { "$BIN" --data "$DATA" -o password_strength=min "$@"; }
add_user() { # add_user USERNAME "Full Name"
	printf '%s\n' "pw-$1-browser" | admin add-user "$1" --email "$1@example.org" --name "$2" >/dev/null
}
if add_user olga "Olga Organiser" && add_user alice "Alice Attendee" && add_user carol "Carol Nocam"; then
	ok "users created with sphinx-server add-user"
else
	not_ok "users created with sphinx-server add-user"
	finish
fi
if TOKEN=$(admin enroll-machine lab-12) && [ -n "$TOKEN" ]; then
	ok "machine enrolled for the agent socket"
else
	not_ok "machine enrolled for the agent socket"
	finish
fi

PORT=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
PIDFILE=$TMP/server.pid
SERVER_ARGS=(--data "$DATA" --port "$PORT" --bind 127.0.0.1 --web "$ROOT/server/web" -o password_strength=min)
"$BIN" "${SERVER_ARGS[@]}" >>"$TMP/server.log" 2>&1 &
echo $! >"$PIDFILE"
# the test may restart the server (reconnection test): kill whatever runs now
trap 'kill "$(cat "$PIDFILE" 2>/dev/null)" 2>/dev/null; cleanup' EXIT
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
SPHINX_BIN=$BIN \
SPHINX_SERVER_ARGS=$(printf '%s\0' "${SERVER_ARGS[@]}" | base64 -w0) \
SPHINX_SERVER_LOG=$TMP/server.log \
SPHINX_PIDFILE=$PIDFILE \
SPHINX_ARTIFACTS=$ROOT/tests/artifacts \
CHROMIUM=$CHROMIUM \
	run_tap "${HERE##*/}/lobby.test.js" timeout 240 node "$HERE/lobby.test.js"
if [ "$N_FAILED" -ne 0 ]; then
	echo "# server log tail:"
	tail -n 30 "$TMP/server.log" | sed 's/^/# /'
fi
finish
