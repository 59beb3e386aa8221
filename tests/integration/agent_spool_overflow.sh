#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Events the agent could not keep reach the server as a number, end to end:
# the real agent (spool_max = 3) sees 4 screenshots (8 events) while its
# server is down and drops the 5 oldest; when the real server comes up, the
# agent's hello says spool_dropped 5, the server logs it naming the machine,
# stores it on the machine (list-machines, GET /api/admin/machines) and gets
# the 3 kept events. Then the spool directory is a full tmpfs: a capture is
# still printed, the agent logs that it cannot spool it and counts it, and
# the count reaches the server at the next hello. Needs root (BPF, mount).
source "$(dirname "$0")/lib.bash"

BIN=$OUTPUT/sphinx-server
require_root
require Xvfb xwd jq curl node
[ -x "$AGENT" ] && [ -x "$BIN" ] || { not_ok "agent and server built in $OUTPUT"; finish; }
start_xvfb

DATA=$TMP/data
# One rule, for this run's screenshot program only: the agent sees every
# process on the machine, and other tests' screenshots would change the counts.
SHOT=spoolshot-$$
mkdir -p "$DATA" "$TMP/policy" "$TMP/bin"
cp "$(command -v xwd)" "$TMP/bin/$SHOT"
cat >"$TMP/policy/shot.yml" <<EOF
id: local.exec.spoolshot
title: This test's screenshot program started
logsource: { category: process_creation, product: linux }
detection:
  selection:
    Image|endswith: /$SHOT
  condition: selection
level: high
kind: screenshot
EOF
admin() { "$BIN" --data "$DATA" -o password_strength=min "$@"; }
printf 'pw-adm-spool\n' | admin add-user adm --email adm@example.org --admin >/dev/null
TOKEN=$(admin enroll-machine lab-spool)
check "machine enrolled" [ -n "$TOKEN" ]
PORT=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')

SERVER_PID=
start_server() {
	"$BIN" --data "$DATA" --port "$PORT" --bind 127.0.0.1 --web "$ROOT/server/web" \
		-o password_strength=min >>"$TMP/server.log" 2>&1 &
	SERVER_PID=$!
	PIDS_TO_KILL+=($SERVER_PID)
	for _ in $(seq 100); do
		curl -fsS "http://127.0.0.1:$PORT/api/health" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	return 1
}
stop_server() { kill -TERM "$SERVER_PID"; wait "$SERVER_PID"; }
machine_field() { admin list-machines | jq -r ".[] | select(.name==\"lab-spool\") | .$1"; }
# wait_for SECONDS 'condition'
wait_for() {
	local end=$(( $(now_us) + $1 * 1000000 ))
	while [ "$(now_us)" -lt "$end" ]; do
		eval "$2" && return 0
		sleep 0.2
	done
	return 1
}
screenshot() { # one xwd -root (renamed); returns once its end line is out
	"$TMP/bin/$SHOT" -root -silent -out "$TMP/shot.xwd" &
	local p=$!
	wait $p
	wait_event ".type==\"capture.end\" and .pid==$p" 5 >/dev/null
}
agent_conf() { # agent_conf SPOOL_DIR
	write_agent_conf "$TMP/agent.conf" \
		"server_url = ws://127.0.0.1:$PORT/agent" "insecure = yes" "token = $TOKEN" \
		"spool_dir = $1" "spool_max = 3" "machine = lab-spool" "policy = $TMP/policy"
}

# --- spool overflow while the server is down ----------------------------------
agent_conf "$TMP/spool"
check "agent starts with spool_max = 3 and its server down" start_agent overflow --config "$TMP/agent.conf"
ok4=0
for i in 1 2 3 4; do screenshot && ok4=$((ok4 + 1)); done
check "4 screenshots seen while the server is down (8 events)" [ $ok4 -eq 4 ]
check_sh "the spool keeps the newest 3 and counts 5 dropped" \
	'[ "$(ls "$TMP/spool"/*.json 2>/dev/null | wc -l)" -eq 3 ] && [ "$(cat "$TMP/spool/dropped")" = 5 ]'

check "server starts" start_server
# the agent's backoff is at most 30 s (+25 %)
check "the agent's hello brings spool_dropped 5 to the server (list-machines)" \
	wait_for 45 '[ "$(machine_field spool_dropped)" = 5 ]'
check "the server logs it, naming the machine" \
	grep -q "agent: machine 'lab-spool': its spool dropped 5 more event(s), 5 in all" "$TMP/server.log"
check "the 3 kept events are delivered (the spool drains)" \
	wait_for 10 '[ "$(ls "$TMP/spool"/*.json 2>/dev/null | wc -l)" -eq 0 ]'
n=$(grep -c "agent: machine 'lab-spool': screenshot \(began\|ended\)" "$TMP/server.log")
check "exactly 3 of the 8 reached the server ($n)" [ "$n" -eq 3 ]
curl -fsS -c "$TMP/cookies" -H 'content-type: application/json' \
	-d '{"username":"adm","password":"pw-adm-spool"}' "http://127.0.0.1:$PORT/api/auth/login" >/dev/null
api=$(curl -fsS -b "$TMP/cookies" "http://127.0.0.1:$PORT/api/admin/machines" |
	jq -r '.machines[] | select(.name=="lab-spool") | .spool_dropped')
check "GET /api/admin/machines shows spool_dropped 5 ($api)" [ "$api" = 5 ]
check "agent stops" stop_agent

# --- the spool on a full disk ---------------------------------------------------
mkdir -p "$TMP/small"
if ! mount -t tmpfs -o size=256k,mode=0700 sphinx-test-spool "$TMP/small"; then
	not_ok "a 256 KiB tmpfs for the spool"
	finish
fi
trap 'umount -l "$TMP/small"; cleanup' EXIT
agent_conf "$TMP/small"
check "agent starts with its spool on a small tmpfs" start_agent fulldisk --config "$TMP/agent.conf"
check "it connects" wait_for 10 'grep -q "server welcomed this machine" "$AGENT_LOG"'
dd if=/dev/zero of="$TMP/small/filler" bs=4k 2>/dev/null
check "the spool's disk is full" [ "$(df --output=avail "$TMP/small" | tail -1 | tr -d ' ')" -eq 0 ]
check "a screenshot on a full disk is still seen (stdout)" screenshot
check "the agent logs that it cannot spool it, and why" grep -q "cannot spool an event (No space left on device)" "$AGENT_LOG"
check "the agent is running" kill -0 "$AGENT_PID"
rm "$TMP/small/filler"
# the count goes with the next hello: make the agent reconnect
stop_server
check "server restarts" start_server
check "the next hello brings the 2 lost events (spool_dropped 2)" wait_for 45 '[ "$(machine_field spool_dropped)" = 2 ]'
check "space back: the next screenshot is spooled and delivered" screenshot
check "... and reaches the server" wait_for 10 '[ "$(ls "$TMP/small"/*.json 2>/dev/null | wc -l)" -eq 0 ] && grep -q "screenshot ended" "$TMP/server.log"'
check "agent stops cleanly (its only errors: the events it could not spool)" stop_agent "cannot spool an event"
check "no error in the server log but the expected ones" sh -c "! grep 'error:' '$TMP/server.log' | grep -v 'not stored'"
finish
