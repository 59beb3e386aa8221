#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Central policy end to end, with the real server and real agents (issue 14):
#  - a bundle pushed with `sphinx-server policy push` to a group reaches the
#    connected agent of that group, which applies it within a second (the
#    new rule fires on a real launch of the program it names) and reports
#    it: the server's rollout API shows the machine on that version;
#  - a broken bundle is refused with file:line:col (CLI and API), nothing
#    is stored and nothing reaches the agent;
#  - a group rollout reaches only that group: an agent in group "default"
#    gets nothing from a push to lab-101 (checked against a later push to
#    its own group, which it does get);
#  - a bundle an agent cannot keep (its server_policy_dir is a directory,
#    not the link it manages) is refused there, the old rules stay, the
#    exact error reaches the server;
#  - the API push and `policy rollback` (a new version with the previous
#    files) reach the agent the same way;
#  - an agent started while the server is down runs its last good bundle
#    (the rule still fires), and says so in its log and --status;
#  - policy_source = local: no bundle is sent, the local rules stay.
# Absence is checked against markers: a program every policy here reports,
# or a later message that did arrive. Needs root (BPF).
source "$(dirname "$0")/lib.bash"

require_root
require jq curl python3
SERVER=$OUTPUT/sphinx-server
[ -x "$SERVER" ] && [ -x "$AGENT" ] || { not_ok "daemons built in $OUTPUT"; finish; }

DATA=$TMP/data
srv() { "$SERVER" --data "$DATA" -o password_strength=min "$@"; }
rule() { # rule ID PROGRAM: a rule that reports a launch of PROGRAM as a screenshot
	printf 'id: %s\ntitle: %s started\nlogsource: { category: process_creation, product: linux }\n' "$1" "$2"
	printf 'detection:\n  selection:\n    Image|endswith: /%s\n  condition: selection\nlevel: high\nkind: screenshot\n' "$2"
}
mkdir -p "$TMP/bin" "$TMP/local" "$TMP/b1" "$TMP/b2" "$TMP/bad"
for p in polmark polmark2 marker; do cp /bin/sleep "$TMP/bin/$p"; done
# every policy here reports "marker": the local one and every bundle
rule local.exec.marker marker >"$TMP/local/marker.yml"
cp "$TMP/local/marker.yml" "$TMP/b1/" && rule bundle.exec.polmark polmark >"$TMP/b1/polmark.yml"
cp "$TMP/local/marker.yml" "$TMP/b2/" && rule bundle.exec.polmark2 polmark2 >"$TMP/b2/polmark2.yml"
cp "$TMP/b1/"*.yml "$TMP/bad/"
printf 'id: bundle.bad\ntitle: bad\nlevle: high\n' >"$TMP/bad/zz-bad.yml"

fired() { # fired PROGRAM: a launch of it is reported (begin and end) within 3 s
	"$TMP/bin/$1" 0.1 &
	local p=$!
	wait $p
	wait_event ".type==\"capture.end\" and .pid==$p" 3 >/dev/null
}
not_fired() { # not_fired PROGRAM: a launch of it is not reported, checked after a marker that is
	"$TMP/bin/$1" 0.1 &
	local p=$!
	wait $p
	agent_marker "$TMP/bin/marker" 0.1 && [ "$(count_events ".pid==$p")" -eq 0 ]
}
# ms_since START_US: milliseconds since a now_us reading
ms_since() { echo $((($(now_us) - $1) / 1000)); }
# applied VERSION [LOG]: the agent's log says that version is in force, within 2 s
applied() { wait_for "server bundle v$1 \\(group [^)]*\\) applied" "${2:-$AGENT_LOG}" 2; }

# ------------------------------------------------------------ server, admin
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
URL=http://127.0.0.1:$port
echo admin-password | srv add-user admin --email admin@example.org --admin >/dev/null 2>&1
TOKEN_A=$(srv enroll-machine lab-a 2>/dev/null)
TOKEN_B=$(srv enroll-machine lab-b 2>/dev/null)
check "lab-a goes in group lab-101 (machine-group)" srv machine-group lab-a lab-101 2>>"$TMP/admin.log"
start_server() {
	"$SERVER" --data "$DATA" --port "$port" --bind 127.0.0.1 >>"$TMP/server.log" 2>&1 &
	SERVER_PID=$!
	PIDS_TO_KILL+=($SERVER_PID)
	for _ in $(seq 50); do curl -fs "$URL/api/health" >/dev/null && return 0; sleep 0.1; done
	return 1
}
check "server starts" start_server
api() { # api METHOD PATH [JSON]: prints the body, then the status on its own line
	curl -s -b "$TMP/cookies" -c "$TMP/cookies" -H "X-CSRF-Token: ${CSRF:-}" -X "$1" \
		${3:+-H 'Content-Type: application/json' --data-binary "$3"} -w '\n%{http_code}' "$URL$2"
}
CSRF=$(api POST /api/auth/login '{"username":"admin","password":"admin-password"}' | head -n 1 | jq -r .csrf)
check_sh "the admin signs in" '[ -n "$CSRF" ] && [ "$CSRF" != null ]'
# machine NAME: the machine's entry of the rollout view
machine() { api GET /api/admin/policy/rollout | head -n 1 | jq -c ".groups[].list[] | select(.name==\"$1\")"; }

# ----------------------------------------------------------- agents start
conf() { # conf NAME TOKEN [extra lines]: an agent configuration for this server
	local name=$1 token=$2; shift 2
	write_agent_conf "$TMP/$name.conf" "server_url = ws://127.0.0.1:$port/agent" "insecure = yes" \
		"token = $token" "machine = $name" "spool_dir = $TMP/$name-spool" \
		"server_policy_dir = $TMP/$name-state/policy" "$@"
}
conf lab-a "$TOKEN_A"
conf lab-b "$TOKEN_B"
# lab-b keeps a real directory where its bundle link goes: it cannot keep a bundle
mkdir -p "$TMP/lab-b-state/policy"
check "agent lab-a starts on its local policy" \
	start_agent lab-a --config "$TMP/lab-a.conf" --policy "$TMP/local" --status-file "$TMP/lab-a.status"
check "lab-a: no server bundle yet, the log says so" grep -q "no server bundle in $TMP/lab-a-state/policy yet" "$AGENT_LOG"
"$AGENT" --config "$TMP/lab-b.conf" --policy "$TMP/local" --status-file "$TMP/lab-b.status" 2>"$TMP/lab-b.log" &
B_PID=$!
PIDS_TO_KILL+=($B_PID)
check "lab-b's agent starts" wait_for "started:" "$TMP/lab-b.log" 10
check "both report their policy: lab-a local, no version" \
	wait_for "machine 'lab-a': policy local v0 in force" "$TMP/server.log" 5
check "lab-b too" wait_for "machine 'lab-b': policy local v0 in force" "$TMP/server.log" 5
check "--status: the local policy is in force, no bundle yet" \
	grep -q "^policy: local $TMP/local, 1 rules (no server bundle yet)" "$TMP/lab-a.status"
check "before any push: polmark is not reported" not_fired polmark

# ------------------------------------------------------ push to group lab-101
start=$(now_us)
srv policy push "$TMP/b1" --group lab-101 --note "polmark rule" >"$TMP/push1.out" 2>&1
check "push: stored as v1" grep -q "policy v1 stored for group lab-101 (2 rules)" "$TMP/push1.out"
check "push: the running server was told" grep -q "told the server (pid $SERVER_PID)" "$TMP/push1.out"
check "lab-a applied v1 (its server_policy_dir's parent made on the way)" applied 1
ms=$(ms_since "$start")
check_sh "... within a second of the push command's start ($ms ms, the CLI's own run included)" '[ "$ms" -le 1000 ]' 
check "the new rule fires on a real launch (polmark)" fired polmark
check_sh "the rollout API shows lab-a on v1, from the server, no error" \
	'[ "$(machine lab-a | jq -r "[.version, .source, .error] | @tsv")" = "$(printf "1\tserver\t")" ]'
check "--status: the server bundle is in force" \
	wait_for "^policy: server bundle v1 \\(group lab-101\\), 2 rules" "$TMP/lab-a.status" 2
check "the last good bundle is on disk, as a link to its version" \
	[ "$(readlink "$TMP/lab-a-state/policy")" = policy.v1 -a -f "$TMP/lab-a-state/policy/polmark.yml" ]

# ------------------------------------------------- a broken bundle is refused
srv policy push "$TMP/bad" --group lab-101 >"$TMP/bad.out" 2>&1
rc=$?
check_sh "broken bundle: refused (exit 1, got $rc)" '[ $rc -eq 1 ]'
check "broken bundle: the error is file:line:col" grep -q "^zz-bad.yml:3:1: unknown key 'levle'" "$TMP/bad.out"
check "broken bundle: nothing stored" grep -q "nothing was stored" "$TMP/bad.out"
body=$(jq -n --rawfile a "$TMP/bad/zz-bad.yml" '{group: "lab-101", files: [{name: "zz-bad.yml", text: $a}]}')
out=$(api POST /api/admin/policy "$body")
check_sh "broken bundle by the API: 400 with the file:line:col list" \
	'[ "$(tail -n 1 <<<"$out")" = 400 ] && head -n 1 <<<"$out" | jq -e ".errors | any(startswith(\"zz-bad.yml:3:1: \"))" >/dev/null'

# ------------------------- the API push (v2 for lab-101): nothing was stored in between
body=$(jq -n --rawfile m "$TMP/b2/marker.yml" --rawfile p "$TMP/b2/polmark2.yml" \
	'{group: "lab-101", note: "polmark2 instead", files: [{name: "marker.yml", text: $m}, {name: "polmark2.yml", text: $p}]}')
out=$(api POST /api/admin/policy "$body")
check_sh "API push: 201, v2 (the refused bundles took no version)" \
	'[ "$(tail -n 1 <<<"$out")" = 201 ] && [ "$(head -n 1 <<<"$out" | jq .version)" = 2 ]'
check "lab-a applied v2" applied 2
check "v2's rule fires (polmark2)" fired polmark2
check "v1's rule is gone (polmark)" not_fired polmark

# ----------------------------------------- a push to group default: lab-b only
srv policy push "$TMP/b1" --note "for the default group" >"$TMP/push3.out" 2>&1
check "push to default: v3" grep -q "policy v3 stored for group default" "$TMP/push3.out"
check "lab-b was sent v3" wait_for "server sent policy bundle v3" "$TMP/lab-b.log" 3
check_sh "lab-b was never sent lab-101's bundles (v1, v2)" '! grep -qE "server sent policy bundle v(1|2)$" "$TMP/lab-b.log"'
check_sh "lab-a was never sent the default group's (v3)" '! grep -q "server sent policy bundle v3" "$AGENT_LOG"'
check "lab-b could not keep it: refused, naming why" \
	wait_for "server bundle v3 refused, the 1 rules of $TMP/local stay in force: .*a directory, not the link" "$TMP/lab-b.log" 3
check "lab-b's --status says the local policy is in force and why the bundle was refused" \
	grep -q "^policy error: the last server bundle was refused: .*not the link" "$TMP/lab-b.status"
check_sh "lab-b's error reached the server (rollout: an error in group default, lab-b on no version)" \
	'r=$(api GET /api/admin/policy/rollout | head -n 1); 
	 [ "$(jq ".groups[] | select(.group==\"default\") | .errors" <<<"$r")" = 1 ] &&
	 jq -e ".groups[].list[] | select(.name==\"lab-b\") | (.version == null and (.error | contains(\"not the link\")))" <<<"$r" >/dev/null'
check_sh "the rollout shows lab-101 at v2 with lab-a on it" \
	'api GET /api/admin/policy/rollout | head -n 1 | jq -e ".groups[] | select(.group==\"lab-101\") | .latest == 2 and .versions == [{\"version\": 2, \"machines\": 1}]" >/dev/null'

# ------------------------------------------------------------------ rollback
srv policy rollback --group lab-101 --note "back to polmark" >"$TMP/rb.out" 2>&1
check "rollback: v4 with the files of v1" grep -q "policy v4 stored for group lab-101: the files of v1" "$TMP/rb.out"
check_sh "policy list shows v4 rolling v2 back" 'srv policy list --group lab-101 2>/dev/null | grep -q "^v4 .*back to polmark (rolls v2 back)"'
check "lab-a applied v4" applied 4
check "v4 (v1's files) fires polmark again" fired polmark
check_sh "the previous version's directory is gone" '[ ! -e "$TMP/lab-a-state/policy.v2" ] && [ -d "$TMP/lab-a-state/policy.v4" ]'

# ---------------------------- no server: the agent starts on its last good bundle
check "lab-a stops cleanly" stop_agent
kill -TERM "$B_PID" && wait "$B_PID"
check "the server stops cleanly" stop_pid "$SERVER_PID" "$TMP/server.log"
check "lab-a starts with the server down" \
	start_agent lab-a2 --config "$TMP/lab-a.conf" --policy "$TMP/local" --status-file "$TMP/lab-a.status"
check "its log says the last good bundle is in force" \
	grep -q "the last good server bundle v4 (group lab-101) from $TMP/lab-a-state/policy: 2 rules" "$AGENT_LOG"
check "the bundle's rule still fires (polmark)" fired polmark
"$AGENT" --status --status-file "$TMP/lab-a.status" >"$TMP/status.out" 2>&1
check "--status: server bundle v4 (group lab-101)" grep -q "^policy: server bundle v4 (group lab-101), 2 rules" "$TMP/status.out"
check "lab-a stops cleanly" stop_agent

# ------------------------------------------------------ policy_source = local
check "the server starts again" start_server
conf lab-a "$TOKEN_A" "policy_source = local"
check "lab-a starts with policy_source = local" \
	start_agent lab-a3 --config "$TMP/lab-a.conf" --policy "$TMP/local" --status-file "$TMP/lab-a.status"
check "it reports the local policy to the server" \
	wait_for "machine 'lab-a': policy local v0 in force" "$TMP/server.log" 5
check "--status: local, server bundles ignored" \
	grep -q "^policy: local $TMP/local, 1 rules (policy_source = local: server bundles ignored)" "$TMP/lab-a.status"
check "the bundle's rule does not fire (polmark)" not_fired polmark
check_sh "no bundle was sent to it" '! grep -q "server sent policy bundle" "$AGENT_LOG"'
check "lab-a stops cleanly" stop_agent
check "the server stops cleanly" stop_pid "$SERVER_PID" "$TMP/server.log"
finish
