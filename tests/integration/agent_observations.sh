#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Observations end to end (issue 14), with the real agent and server:
#  - an agent with share_observations = yes sends what its policy saw; a
#    NEW rule naming a program no rule names (a renamed copy of a harmless
#    tool) is tried with `sphinx-policy test NEWRULES --server ...`: it would
#    fire on that machine, at that time, for that program; the default rules
#    report what they fired on (xwd -root) and not the harmless tool;
#  - the same through `sphinx-server observations export | sphinx-policy
#    test NEWRULES -`;
#  - a user who is not an admin gets 403 (curl and sphinx-policy);
#  - an agent without share_observations sends nothing: its --record file
#    shows its policy saw the tool, and once the server has its goodbye (the
#    last message of its link, after anything queued) the server holds no
#    observation of that machine;
#  - the purge at start deletes what was received more than
#    observations_retention_days (7) ago and keeps the rest (rows backdated
#    in the database while the server is stopped); with 0 it deletes all.
source "$(dirname "$0")/lib.bash"

require_root
require Xvfb xwd curl python3 openssl sqlite3
SERVER=$OUTPUT/sphinx-server
TOOL=$OUTPUT/sphinx-policy
[ -x "$SERVER" ] && [ -x "$AGENT" ] && [ -x "$TOOL" ] || { not_ok "agent, server and sphinx-policy built in $OUTPUT"; finish; }

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
URL=http://127.0.0.1:$port
admin() { "$SERVER" --data "$TMP/data" -o password_strength=min "$@"; }
printf 'pw-adm-obs14\n' | admin add-user adm --email adm@example.org --admin >/dev/null
printf 'pw-bob-obs14\n' | admin add-user bob --email bob@example.org >/dev/null
tok_share=$(admin enroll-machine obs-share 2>/dev/null)
tok_quiet=$(admin enroll-machine obs-quiet 2>/dev/null)

start_server() {
	"$SERVER" --data "$TMP/data" --port "$port" --bind 127.0.0.1 -o password_strength=min "$@" \
		>>"$TMP/server.log" 2>&1 &
	SERVER_PID=$!
	PIDS_TO_KILL+=($SERVER_PID)
	for _ in $(seq 100); do
		curl -fs "$URL/api/health" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}
check "the server starts" start_server

# a signed-in session's token (the cookie's value), as sphinx-policy --token-file wants it
session_token() {
	curl -fsS -c "$TMP/$1.jar" -H 'content-type: application/json' \
		-d "{\"username\":\"$1\",\"password\":\"$2\"}" "$URL/api/auth/login" >/dev/null &&
		awk '$6 == "sphinx_session" { print $7 }' "$TMP/$1.jar" >"$TMP/$1.token" && [ -s "$TMP/$1.token" ]
}
check "the admin signs in" session_token adm pw-adm-obs14
check "bob (no admin) signs in" session_token bob pw-bob-obs14

start_xvfb
cp /bin/true "$TMP/obs14-harmless"	# a program no rule names
cat >"$TMP/new.yml" <<'EOF'
id: t.obs14.harmless
title: The harmless tool, renamed
level: medium
kind: screenshot
logsource: {category: process_creation}
detection:
  sel: {Image|endswith: /obs14-harmless}
  condition: sel
EOF

# ------------------------------------------- share_observations = no: nothing
write_agent_conf "$TMP/quiet.conf" "server_url = ws://127.0.0.1:$port/agent" "insecure = yes" \
	"token = $tok_quiet" "spool_dir = $TMP/quiet-spool" "machine = obs-quiet"
"$AGENT" --config "$TMP/quiet.conf" --policy "$ROOT/policy/default" --record "$TMP/quiet.record" \
	--status-file "$TMP/quiet.status" >/dev/null 2>"$TMP/quiet.log" &
QUIET_PID=$!
PIDS_TO_KILL+=($QUIET_PID)
check "the agent without share_observations says hello" \
	wait_for "machine 'obs-quiet' hello" "$TMP/server.log" 20
"$AGENT" --status --status-file "$TMP/quiet.status" >"$TMP/quiet.statusout" 2>&1
check_sh "its --status says observations are not shared" \
	'grep -q "^observe not shared (share_observations = no)" "$TMP/quiet.statusout"'
"$TMP/obs14-harmless" quiet-run
check "its policy saw the harmless tool (--record)" \
	wait_for "obs14-harmless\".*quiet-run" "$TMP/quiet.record" 5
check "it stops cleanly" stop_pid "$QUIET_PID" "$TMP/quiet.log"
check "the server has its goodbye (the last message of its link)" \
	wait_for "machine 'obs-quiet' says goodbye" "$TMP/server.log" 5
admin observations export --machine obs-quiet >"$TMP/quiet.export" 2>"$TMP/quiet.export.err"
check_sh "the server holds no observation of it ($(wc -l <"$TMP/quiet.export") lines)" \
	'[ ! -s "$TMP/quiet.export" ] && grep -q "observations export: 0 lines" "$TMP/quiet.export.err"'

# ------------------------------------------------ share_observations = yes
write_agent_conf "$TMP/share.conf" "server_url = ws://127.0.0.1:$port/agent" "insecure = yes" \
	"token = $tok_share" "spool_dir = $TMP/share-spool" "machine = obs-share" \
	"share_observations = yes"
check "the sharing agent starts" start_agent share --config "$TMP/share.conf" \
	--policy "$ROOT/policy/default" --status-file "$TMP/share.status"
check "it says hello" wait_for "machine 'obs-share' hello" "$TMP/server.log" 20
check_sh "the server's welcome keeps observations: the agent says it shares" \
	'wait_for "share_observations = yes: every event the policy sees goes to the server" "$AGENT_LOG" 5 &&
	 ! grep -q "keeps no observations" "$AGENT_LOG"'
"$AGENT" --status --status-file "$TMP/share.status" >"$TMP/share.statusout" 2>&1
check_sh "its --status says they are shared" \
	'grep -q "^observe shared: every event the policy sees goes to the server" "$TMP/share.statusout"'
t0=$(date -u +%s)
xwd -root -silent -out /dev/null
"$TMP/obs14-harmless" share-run

# The new rule, against the server, until the observations are in (batches go once a second).
tried() {
	"$TOOL" test "$TMP/new.yml" --server "$URL" --token-file "$TMP/adm.token" --since 1h \
		>"$TMP/new.out" 2>"$TMP/new.err" &&
		grep -q "^rule t.obs14.harmless: fired" "$TMP/new.out"
}
for _ in $(seq 50); do tried && break; sleep 0.2; done
check "sphinx-policy test NEWRULES --server: the new rule would fire" tried
line=$(grep " t.obs14.harmless " "$TMP/new.out" | head -n 1)
diag "$line"
check_sh "on machine obs-share, for that program, with its time and pid" \
	'[[ $line =~ ^[0-9]+:\ process_creation\ t\.obs14\.harmless\ \"The\ harmless\ tool,\ renamed\"\ kind=screenshot\ level=medium\ machine=obs-share\ at=([0-9T:-]+)Z\ program=$TMP/obs14-harmless\ pid=[0-9]+$ ]] &&
	 at=$(date -u -d "${BASH_REMATCH[1]}" +%s) && [ $((at - t0)) -ge -1 ] && [ $((at - t0)) -le 10 ]'
check_sh "the summary counts it: one event, one machine" \
	'grep -qx "rule t.obs14.harmless: fired on 1 event, 1 machine: obs-share" "$TMP/new.out"'
check_sh "only what fires is printed (no 'no match' lines for the rest)" \
	'! grep -q "no match" "$TMP/new.out" && grep -qE "^[0-9]+ events, 1 matched, 0 errors$" "$TMP/new.out"'

"$TOOL" test "$ROOT/policy/default" --server "$URL" --token-file "$TMP/adm.token" >"$TMP/default.out" 2>&1
check_sh "the default rules report what they fired on: xwd -root on obs-share" \
	'grep -qE "^[0-9]+: process_creation sphinx.exec.xwd-root .* machine=obs-share .*program=/usr/bin/xwd " "$TMP/default.out" &&
	 grep -qE "^rule sphinx.exec.xwd-root: fired on [0-9]+ events?, 1 machine: obs-share$" "$TMP/default.out"'
check_sh "and not on the harmless tool" '! grep -q "obs14-harmless" "$TMP/default.out"'

admin observations export --since 1h 2>/dev/null | "$TOOL" test "$TMP/new.yml" - >"$TMP/stdin.out" 2>&1
check_sh "observations export | sphinx-policy test NEWRULES -: the same finding" \
	'grep -q " t.obs14.harmless .* machine=obs-share .*program=$TMP/obs14-harmless " "$TMP/stdin.out" &&
	 grep -qx "rule t.obs14.harmless: fired on 1 event, 1 machine: obs-share" "$TMP/stdin.out"'

# ------------------------------------------------------------- admins only
code=$(curl -s -o "$TMP/bob.body" -w '%{http_code}' -b "$TMP/bob.jar" "$URL/api/admin/observations")
check_sh "a user who is not an admin gets 403 (got $code)" \
	'[ "$code" = 403 ] && grep -q "admins_only" "$TMP/bob.body" && ! grep -q obs14 "$TMP/bob.body"'
"$TOOL" test "$TMP/new.yml" --server "$URL" --token-file "$TMP/bob.token" >"$TMP/bob.out" 2>"$TMP/bob.err"
rc=$?
check_sh "sphinx-policy with bob's token fails (exit $rc) and says why" \
	'[ $rc -eq 1 ] && grep -q "HTTP 403: only administrators may read observations" "$TMP/bob.err"'

check "the sharing agent stops cleanly" stop_agent

# ---------------------------------------- https: __Host- cookie, --ca-file
check "the server stops cleanly" stop_pid "$SERVER_PID" "$TMP/server.log"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=Sphinx obs14 CA" -keyout "$TMP/ca.key" \
	-out "$TMP/ca.pem" >/dev/null 2>&1
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$TMP/srv.key" -out "$TMP/srv.csr" >/dev/null 2>&1
printf 'subjectAltName=IP:127.0.0.1\n' >"$TMP/san.ext"
openssl x509 -req -in "$TMP/srv.csr" -CA "$TMP/ca.pem" -CAkey "$TMP/ca.key" -CAcreateserial -days 1 \
	-extfile "$TMP/san.ext" -out "$TMP/srv.pem" >/dev/null 2>&1
"$SERVER" --data "$TMP/data" --port "$port" --bind 127.0.0.1 -o password_strength=min \
	-o tls_cert="$TMP/srv.pem" -o tls_key="$TMP/srv.key" >>"$TMP/server.log" 2>&1 &
SERVER_PID=$!
PIDS_TO_KILL+=($SERVER_PID)
check "the server starts with TLS" wait_for "serving \(https/wss" "$TMP/server.log" 10
curl -fsS --cacert "$TMP/ca.pem" -c "$TMP/tls.jar" -H 'content-type: application/json' \
	-d '{"username":"adm","password":"pw-adm-obs14"}' "https://127.0.0.1:$port/api/auth/login" >/dev/null
awk '$6 == "__Host-sphinx_session" { print $7 }' "$TMP/tls.jar" >"$TMP/tls.token"
check_sh "the admin signs in over https (a __Host- session cookie)" '[ -s "$TMP/tls.token" ]'
"$TOOL" test "$TMP/new.yml" --server "https://127.0.0.1:$port" --token-file "$TMP/tls.token" \
	--ca-file "$TMP/ca.pem" >"$TMP/tls.out" 2>&1
check_sh "sphinx-policy test --server https://... --ca-file: the same finding" \
	'grep -qx "rule t.obs14.harmless: fired on 1 event, 1 machine: obs-share" "$TMP/tls.out"'
"$TOOL" test "$TMP/new.yml" --server "https://127.0.0.1:$port" --token-file "$TMP/tls.token" \
	>"$TMP/tls-noca.out" 2>"$TMP/tls-noca.err"
rc=$?
check_sh "without --ca-file the unknown CA is refused (exit $rc)" \
	'[ $rc -eq 1 ] && grep -qi "certificate" "$TMP/tls-noca.err"'

# ---------------------------------------------- retention: 7 days, then 0
check "the TLS server stops cleanly" stop_pid "$SERVER_PID" "$TMP/server.log"
# received 6 days ago: the harmless tool's row; 8 days ago: every other one
DB=$TMP/data/sphinx.db
total=$(sqlite3 "$DB" "SELECT count(*) FROM observations")
# (the tool itself: other programs, grep among them, name it in their command lines)
harmless="body LIKE '%\"Image\":\"%/obs14-harmless\"%'"
sqlite3 "$DB" "UPDATE observations SET at = at - 8 * 86400000 WHERE NOT ($harmless);
	UPDATE observations SET at = at - 6 * 86400000 WHERE $harmless"
check_sh "one row is the harmless tool's" '[ "$(sqlite3 "$DB" "SELECT count(*) FROM observations WHERE $harmless")" -eq 1 ]'
purges() { grep -c "observations: purged" "$TMP/server.log"; }
before=$(purges)
check "it starts again (observations_retention_days = 7, the default)" start_server
check_sh "the purge at start deletes the $((total - 1)) rows received 8 days ago" \
	'wait_for "observations: purged $((total - 1)) " "$TMP/server.log" 5'
admin observations export >"$TMP/kept.export" 2>/dev/null
check_sh "and keeps the one received 6 days ago" \
	'[ "$(wc -l <"$TMP/kept.export")" -eq 1 ] && grep -q "\"Image\":\"$TMP/obs14-harmless\"" "$TMP/kept.export"'
check "the server stops cleanly" stop_pid "$SERVER_PID" "$TMP/server.log"
before=$(purges)
check "it starts again with observations_retention_days = 0" start_server -o observations_retention_days=0
check_sh "the purge at start removes every observation" \
	'for _ in $(seq 50); do [ "$(purges)" -gt "$before" ] && break; sleep 0.1; done; [ "$(purges)" -gt "$before" ]'
admin observations export >"$TMP/after.export" 2>/dev/null
check_sh "none is left" '[ ! -s "$TMP/after.export" ]'
check "the server stops cleanly again" stop_pid "$SERVER_PID" "$TMP/server.log"
finish
