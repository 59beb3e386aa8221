#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# SIGHUP while captures run, on the real agent: a capture begun under the old
# policy keeps its begin/end pairing (one begin, one end, same capture id)
# even when the reload removed the rule that matched it; the new rules apply
# to what starts after the reload (a rule added is matched, a rule removed is
# not); a broken policy on reload is refused with its file:line:col named,
# the agent keeps running with the rules in force, and a capture running
# across the refused reload still ends once. Absence is checked against a
# marker (xwd -root, a screenshot every policy here reports) started after
# the process that must not be reported. Needs root (BPF).
source "$(dirname "$0")/lib.bash"

require_root
require Xvfb ffmpeg xwd jq
[ -x "$AGENT" ] || { not_ok "agent binary at $AGENT"; finish; }
start_xvfb
diag "display $DISPLAY"

begin_of() { echo ".type==\"capture.begin\" and .pid==$1"; }
end_of() { echo ".type==\"capture.end\" and .pid==$1"; }
field() { printf '%s' "${1#* }" | jq -r "$2"; }
reloads() { grep -c "$1" "$AGENT_LOG"; }
# wait_log PATTERN COUNT: until the agent log has COUNT lines matching, 5 s
wait_log() {
	for _ in $(seq 50); do
		[ "$(grep -c "$1" "$AGENT_LOG")" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}
# marker: an xwd -root screenshot, reported under every policy used here;
# returns once its begin line is out. Every process started before it has
# been matched by then (exec records are taken in order).
marker() {
	xwd -root -silent -out "$TMP/marker.xwd" &
	local m=$!
	wait_event "$(begin_of $m)" 3 >/dev/null
	local rc=$?
	wait $m
	return $rc
}

mkdir -p "$TMP/policy" "$TMP/bin"
cp "$ROOT/policy/default/exec-recorders.yml" "$ROOT/policy/default/exec-screenshot.yml" "$TMP/policy/"
cp /bin/sleep "$TMP/bin/hupmark"
HUPMARK_RULE='id: local.exec.hupmark
title: The hupmark test program started
logsource: { category: process_creation, product: linux }
detection:
  selection:
    Image|endswith: /hupmark
  condition: selection
level: high
kind: screenshot'

check "agent starts with the exec recorder and screenshot rules" start_agent reload --policy "$TMP/policy"

# --- before the reload -------------------------------------------------------
ffmpeg -nostdin -loglevel error -f x11grab -framerate 10 -i "$DISPLAY" -t 5 -f null - &
FF1=$!
line=$(wait_event "$(begin_of $FF1)" 3)
check "before reload: ffmpeg x11grab begins (exec rule)" [ -n "$line" -a "$(field "$line" .layer)" = exec ]
FF1_CAPTURE=$(field "$line" .capture)

"$TMP/bin/hupmark" 0.2
check "before reload: marker reported" marker
check "before reload: hupmark (no rule names it yet) is not reported" [ "$(count_events '(.exe // "" | endswith("/hupmark"))')" -eq 0 ]

# --- reload: the ffmpeg rules go, a hupmark rule comes ------------------------
rm "$TMP/policy/exec-recorders.yml"
printf '%s\n' "$HUPMARK_RULE" >"$TMP/policy/local-hupmark.yml"
kill -HUP "$AGENT_PID"
check "SIGHUP: policy reloaded" wait_log "policy reloaded" 1
check "SIGHUP: the agent is running" kill -0 "$AGENT_PID"

"$TMP/bin/hupmark" 0.2 &
HM=$!
line=$(wait_event "$(begin_of $HM)" 3)
check "after reload: the added rule applies (hupmark reported under local.exec.hupmark)" \
	[ -n "$line" -a "$(field "$line" .rule.id)" = local.exec.hupmark ]
wait $HM

ffmpeg -nostdin -loglevel error -f x11grab -framerate 10 -i "$DISPLAY" -t 0.5 -f null - &
FF2=$!
wait $FF2
check "after reload: marker reported" marker
check "after reload: the removed rule no longer applies (a new ffmpeg x11grab is not reported)" \
	[ "$(count_events "(.pid==$FF2)")" -eq 0 ]

wait $FF1
line=$(wait_event "$(end_of $FF1)" 5)
check "the capture begun before the reload ends once, with its capture id, though its rule is gone" \
	[ -n "$line" -a "$(field "$line" .capture)" = "$FF1_CAPTURE" -a "$(count_events "(.pid==$FF1)")" -eq 2 ]

# --- a broken policy on reload: refused, the rules in force kept --------------
"$TMP/bin/hupmark" 3 &
HM_LONG=$!
line=$(wait_event "$(begin_of $HM_LONG)" 3)
check "a capture is running before the broken reload" [ -n "$line" ]
HM_CAPTURE=$(field "$line" .capture)
cat >"$TMP/policy/zz-broken.yml" <<'EOF'
id: local.broken
title: Broken rule
logsource: { category: process_creaton }
detection: { sel: { Image|endswith: /x }, condition: sel }
EOF
kill -HUP "$AGENT_PID"
check "broken policy: reload refused" wait_log "reload refused" 1
check "broken policy: the error names the file, line and column" grep -q "zz-broken.yml:[0-9]*:[0-9]*:" "$AGENT_LOG"
check "broken policy: the log says the rules in force are kept" grep -q "reload refused; keeping the [0-9]* rules in force" "$AGENT_LOG"
check "broken policy: the agent is running" kill -0 "$AGENT_PID"
check "broken policy: only the first reload took effect" [ "$(reloads "policy reloaded")" -eq 1 ]

"$TMP/bin/hupmark" 0.2 &
HM=$!
line=$(wait_event "$(begin_of $HM)" 3)
check "broken policy: the rules in force still apply (hupmark reported)" [ -n "$line" ]
wait $HM
ffmpeg -nostdin -loglevel error -f x11grab -framerate 10 -i "$DISPLAY" -t 0.5 -f null - &
FF3=$!
wait $FF3
check "broken policy: marker reported" marker
check "broken policy: the old-old rules did not come back (ffmpeg not reported)" [ "$(count_events "(.pid==$FF3)")" -eq 0 ]

wait $HM_LONG
line=$(wait_event "$(end_of $HM_LONG)" 5)
check "the capture running across the refused reload ends once, with its capture id" \
	[ -n "$line" -a "$(field "$line" .capture)" = "$HM_CAPTURE" -a "$(count_events "(.pid==$HM_LONG)")" -eq 2 ]

# --- the fixed policy loads again ---------------------------------------------
rm "$TMP/policy/zz-broken.yml"
kill -HUP "$AGENT_PID"
check "fixed policy: reloaded" wait_log "policy reloaded" 2

check "agent stops cleanly (its only errors: the broken policy it refused)" stop_agent "zz-broken.yml|has errors \(above\)|policy reload refused"
# Over the whole run: every capture that began ended exactly once, and no
# capture id has two begins.
unpaired=$(sed 's/^[0-9]* //' "$AGENT_OUT" | jq -rs 'group_by(.capture)[] |
	select((map(select(.type=="capture.begin")) | length) != 1 or (map(select(.type=="capture.end")) | length) != 1) | .[0].capture')
check "every capture in the run has exactly one begin and one end" [ -z "$unpaired" ]
[ -n "$unpaired" ] && diag "unpaired: $unpaired"
finish
