#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The agent's life around detection: refusing to start with a clear reason,
# --status, SIGHUP policy reload (a broken policy keeps the old one, a good
# one takes effect), SIGTERM detaching everything.
source "$(dirname "$0")/lib.bash"

require_root
require Xvfb xwd xlogo jq bpftool setpriv
start_xvfb

# --- refusing to start, with the reason named --------------------------------
out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all \
	"$AGENT" --stdout --policy "$ROOT/policy/default" 2>&1); rc=$?
check "unprivileged: exits non-zero" [ $rc -ne 0 ]
check "unprivileged: says privilege is missing" grep -q "privilege" <<<"$out"

out=$("$AGENT" --stdout --policy "$TMP/no-such-dir" 2>&1); rc=$?
check_sh "missing policy: exits non-zero, names the path" '[ $rc -ne 0 ] && grep -q "$TMP/no-such-dir" <<<"$out"'

mkdir -p "$TMP/broken"
printf 'id: t.broken\ntitle: broken\nlogsource:\n  category: process_creation\ndetection:\n  sel:\n    Image|endwith: /xlogo\n  condition: sel\n' \
	>"$TMP/broken/bad.yml"
out=$("$AGENT" --stdout --policy "$TMP/broken" 2>&1); rc=$?
check "broken policy: exits non-zero" [ $rc -ne 0 ]
check "broken policy: error names file:line:col" grep -q "bad.yml:7:[0-9]*:.*endwith" <<<"$out"

out=$("$AGENT" --idle-timeout banana --stdout 2>&1); rc=$?
check_sh "bad option value: exit 2 and names the option" '[ $rc -eq 2 ] && grep -q "idle-timeout" <<<"$out"'

# --- --status -----------------------------------------------------------------
out=$("$AGENT" --status --status-file "$TMP/none" 2>&1)
check "--status (no agent running): lists layers" grep -q "layers: exec=active device=active api=active" <<<"$out"
check "--status: exec tracepoint attached" grep -qE "^exec +sched_process_exec +attached" <<<"$out"
check "--status: xcb_shm_get_image attached" grep -qE "^api +xcb_shm_get_image +attached" <<<"$out"
check_sh "--status: every probe attached, or absent with the reason" \
	'! grep -E "^(exec|device|api) " <<<"$out" | grep -vE " attached +[^ ]+$" | grep -vqE "(not available|failed) +[^ ]+: [a-z]"'

# --- SIGHUP reload -------------------------------------------------------------
mkdir -p "$TMP/pol"
cp "$ROOT"/policy/default/*.yml "$TMP/pol/"
check "agent starts" start_agent reload --policy "$TMP/pol" --status-file "$TMP/agent.status"
out=$("$AGENT" --status --status-file "$TMP/agent.status" 2>&1)
check "--status of the running agent" grep -q "running agent, pid $AGENT_PID" <<<"$out"

xlogo 2>/dev/null & pid=$!; sleep 1; kill $pid; wait $pid 2>/dev/null
check "before reload: a marker screenshot after xlogo is seen" agent_marker xwd -root -silent -out "$TMP/m.xwd"
check "before reload: xlogo is not a capture" [ "$(count_events ".pid==$pid")" -eq 0 ]

cp "$TMP/broken/bad.yml" "$TMP/pol/zz-local.yml"
kill -HUP "$AGENT_PID"
check "broken policy on SIGHUP: refused and logged" wait_for "reload refused" "$AGENT_LOG" 5
check "broken policy on SIGHUP: agent still running" alive "$AGENT_PID"
xwd -root -silent -out "$TMP/r.xwd" & pid=$!; wait $pid
check "broken policy on SIGHUP: old rules still catch xwd -root" \
	wait_event ".type==\"capture.begin\" and .pid==$pid" 3

sed -i 's/endwith/endswith/' "$TMP/pol/zz-local.yml"
kill -HUP "$AGENT_PID"
check "good policy on SIGHUP: reloaded" wait_for "policy reloaded" "$AGENT_LOG" 5
xlogo 2>/dev/null & pid=$!
check "after reload: the new rule fires" wait_event ".type==\"capture.begin\" and .pid==$pid and .rule.id==\"t.broken\"" 3
kill $pid; wait $pid 2>/dev/null
check "after reload: its capture ends with the process" wait_event ".type==\"capture.end\" and .pid==$pid" 3

# --- SIGTERM -----------------------------------------------------------------
check "SIGTERM: agent exits 0, no error but the refused reload's" stop_agent 'reload refused|zz-local\.yml|has errors' 
check "SIGTERM: status file removed" [ ! -e "$TMP/agent.status" ]
check "SIGTERM: none of its programs left in the kernel" programs_gone
finish
