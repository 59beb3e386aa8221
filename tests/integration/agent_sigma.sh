#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# SigmaHQ's own rule files (tests/policy-sigma, unchanged) as the agent's
# whole policy, on Xvfb: the auditd xwd rule fires on a real xwd exec, read
# through the exec's argv as a0..a3, and the capture is named after it; a
# near miss (-silent between -root and -out: a2 is not -out) gives nothing
# before the marker. The rule has no kind, so the one grab xwd makes
# classifies it: a screenshot.
source "$(dirname "$0")/lib.bash"

require_root
require Xvfb jq xwd
start_xvfb
XWD_RULE=e2f17c5d-b02a-442b-9052-6eb89c9fec9c

check "agent starts with only the SigmaHQ files as policy" \
	start_agent sigma --policy "$ROOT/tests/policy-sigma"
mark=$(wc -l <"$AGENT_OUT")
xwd -root -silent -out "$TMP/miss.xwd" & miss=$!
wait $miss
check "xwd -root -out FILE.xwd is reported (begin and end)" agent_marker xwd -root -out "$TMP/hit.xwd"
line=$(events ".type==\"capture.begin\" and .pid==$MARKER_PID" | head -1)
check "the capture names the SigmaHQ rule ($XWD_RULE)" [ "$(jq -r .rule.id <<<"$line")" = "$XWD_RULE" ]
check "it was the exec that matched" [ "$(jq -r .layer <<<"$line")" = exec ]
check "kind screenshot: the rule leaves it to the call rate, xwd grabs once" \
	[ "$(jq -r .kind <<<"$line")" = screenshot ]
new=$(new_events "$mark")
check "near miss (xwd -root -silent -out): no event before the marker" [ -z "$new" ]
[ -n "$new" ] && diag "unexpected: $new"
check "agent exits 0, no error in its log" stop_agent
finish
