#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Nothing played by a script: the real agent (BPF programs in this kernel)
# sees a real `ffmpeg -f x11grab` on a private Xvfb display, reports it to
# the real sphinx-server, and the organiser's lobby page in Debian's chromium
# (headless, driven by playwright-core) turns the attendee's card red.
# tests/browser/agent_card.test.js prints the TAP lines and the latency from
# the capture's begin to the red card. The recorder runs as a numeric uid
# with no passwd entry, picked at random, so that no other test's recorder
# on this machine (the agent sees every process) is taken for it: the agent
# names such a user by the number, and the attendee's account has that
# number as its username (agent_user_map=username).
# Needs root (BPF). A missing prerequisite is a failure, never a skip.
source "$(dirname "$0")/lib.bash"

BIN=$OUTPUT/sphinx-server
HERE=$ROOT/tests/browser

require_root
require Xvfb ffmpeg curl setpriv
require_browser
if [ ! -x "$BIN" ] || [ ! -x "$AGENT" ]; then
	not_ok "server and agent built in $OUTPUT (run make first)"
	finish
fi
start_xvfb

DATA=$TMP/data
mkdir -p "$DATA"
chmod 1777 "$TMP"	# ffmpeg runs as another user
ATT_UID=$((40000 + RANDOM % 20000))
while getent passwd "$ATT_UID" >/dev/null; do ATT_UID=$((ATT_UID + 1)); done
admin() { "$BIN" --data "$DATA" -o password_strength=min "$@"; }
if printf 'pw-olga-browser\n' | admin add-user olga --email olga@example.org --name "Olga Organiser" >/dev/null &&
   printf 'pw-nora-browser\n' | admin add-user "$ATT_UID" --email "u$ATT_UID@example.org" --name "Nora Nobody" >/dev/null; then
	ok "accounts olga and $ATT_UID (the recorder's uid) created with add-user"
else
	not_ok "accounts olga and $ATT_UID created with add-user"
	finish
fi
if TOKEN=$(admin enroll-machine lab-7) && [ -n "$TOKEN" ]; then
	ok "machine lab-7 enrolled"
else
	not_ok "machine lab-7 enrolled"
	finish
fi

PORT=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
"$BIN" --data "$DATA" --port "$PORT" --bind 127.0.0.1 --web "$ROOT/server/web" \
	-o password_strength=min -o agent_user_map=username >>"$TMP/server.log" 2>&1 &
SERVER_PID=$!
PIDS_TO_KILL+=($SERVER_PID)
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

mkdir -p "$TMP/spool"
chmod 700 "$TMP/spool"
write_agent_conf "$TMP/agent.conf" \
	"server_url = ws://127.0.0.1:$PORT/agent" \
	"insecure = yes" \
	"token = $TOKEN" \
	"spool_dir = $TMP/spool" \
	"machine = lab-7" \
	"users = $ATT_UID" \
	"policy = $ROOT/policy/default"

mkdir -p "$ROOT/tests/artifacts"
SPHINX_URL=http://127.0.0.1:$PORT \
SPHINX_AGENT=$AGENT \
SPHINX_ATTENDEE_UID=$ATT_UID \
SPHINX_AGENT_CONF=$TMP/agent.conf \
SPHINX_AGENT_STATUS=$TMP/agent.status \
SPHINX_ARTIFACTS=$ROOT/tests/artifacts \
CHROMIUM=$CHROMIUM \
	run_tap agent_card.test.js timeout 180 node "$HERE/agent_card.test.js"
if [ "$N_FAILED" -ne 0 ]; then
	echo "# server log tail:"
	tail -n 30 "$TMP/server.log" | sed 's/^/# /'
fi
finish
