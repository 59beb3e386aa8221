#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The fleet page in a real browser: playwright-core drives Debian's chromium,
# headless, against the real sphinx-server started here on a free port with a
# fresh data directory: an admin and a user made with add-user, five machines
# enrolled, one of them put in group room-b (machine-group). The agents are
# tests/browser/fleet.test.js's own protocol clients (see there); it prints
# the TAP lines, screenshots land in tests/artifacts/ (not committed).
# A missing chromium, node or npm is a failure, never a skip.
source "$(dirname "$0")/lib.bash"

BIN=$OUTPUT/sphinx-server
HERE=$ROOT/tests/browser

require curl
require_browser
[ -x "$BIN" ] || { not_ok "$BIN exists (run make first)"; finish; }

DATA=$TMP/data
mkdir -p "$DATA"
admin() { "$BIN" --data "$DATA" -o password_strength=min "$@"; }
if printf 'pw-root-admin-browser\n' | admin add-user root-admin --email admin@example.org --name "Root Admin" --admin >/dev/null &&
   printf 'pw-alice-browser\n' | admin add-user alice --email alice@example.org --name "Alice Attendee" >/dev/null; then
	ok "an admin and a user created with add-user"
else
	not_ok "an admin and a user created with add-user"
	finish
fi
tokens={}
for m in lab-ok lab-degraded lab-dropping lab-down lab-room-b; do
	t=$(admin enroll-machine "$m") && [ -n "$t" ] || { not_ok "machine $m enrolled"; finish; }
	tokens=$(node -e 'const o=JSON.parse(process.argv[1]); o[process.argv[2]]=process.argv[3]; console.log(JSON.stringify(o))' \
		"$tokens" "$m" "$t")
done
check "five machines enrolled, lab-room-b in group room-b" admin machine-group lab-room-b room-b

PORT=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
"$BIN" --data "$DATA" --port "$PORT" --bind 127.0.0.1 --web "$ROOT/server/web" -o password_strength=min \
	>>"$TMP/server.log" 2>&1 &
PIDS_TO_KILL+=($!)
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
SPHINX_TOKENS=$tokens \
SPHINX_ARTIFACTS=$ROOT/tests/artifacts \
CHROMIUM=$CHROMIUM \
	run_tap "${HERE##*/}/fleet.test.js" timeout 120 node "$HERE/fleet.test.js"
if [ "$N_FAILED" -ne 0 ]; then
	echo "# server log tail:"
	tail -n 30 "$TMP/server.log" | sed 's/^/# /'
fi
finish
