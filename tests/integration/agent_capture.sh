#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The real agent, loaded into this kernel, watching real recorders and
# screenshot tools on a private Xvfb display — and staying silent for
# benign work. Needs root (BPF) and the test packages.
source "$(dirname "$0")/lib.bash"

require_root
require Xvfb ffmpeg gst-launch-1.0 xwd xlogo import jq bpftool setpriv
[ -x "$AGENT" ] || { not_ok "agent binary at $AGENT"; finish; }
start_xvfb
diag "display $DISPLAY"

begin_of() { echo ".type==\"capture.begin\" and .pid==$1"; }
end_of() { echo ".type==\"capture.end\" and .pid==$1"; }
field() { printf '%s' "${1#* }" | jq -r "$2"; }

# A recorder already running when the agent starts is reported at once.
ffmpeg -nostdin -loglevel error -f x11grab -framerate 10 -i "$DISPLAY" -t 4 -f null - &
early=$!
sleep 0.5
check "agent starts with the default policy" start_agent main --policy "$ROOT/policy/default"
line=$(wait_event "$(begin_of $early)" 2)
check "recorder started before the agent: recording begin at agent start" \
	[ -n "$line" -a "$(field "$line" .kind)" = recording ]
wait $early
check "recorder started before the agent: end when it exits" wait_event "$(end_of $early)" 3

# --- ffmpeg -f x11grab for 3 s: one recording begin, then an end ------------
t0=$(now_us)
ffmpeg -nostdin -loglevel error -f x11grab -framerate 30 -i "$DISPLAY" -t 3 -f null - &
pid=$!
line=$(wait_event "$(begin_of $pid)" 3)
check "ffmpeg x11grab: capture.begin" [ -n "$line" ]
if [ -n "$line" ]; then
	lat_ms=$(( (${line%% *} - t0) / 1000 ))
	diag "ffmpeg x11grab: start -> begin line ${lat_ms} ms"
	check "ffmpeg x11grab: begin within 250 ms (${lat_ms} ms)" [ "$lat_ms" -ge 0 -a "$lat_ms" -lt 250 ]
else
	not_ok "ffmpeg x11grab: begin within 250 ms (no begin line in 3 s)"
fi
check "ffmpeg x11grab: kind recording" [ "$(field "$line" .kind)" = recording ]
check "ffmpeg x11grab: layer exec, rule named" \
	[ "$(field "$line" .layer)" = exec -a -n "$(field "$line" .rule.id)" ]
check "ffmpeg x11grab: process named (exe, argv, user)" \
	[ "$(field "$line" .exe)" = /usr/bin/ffmpeg -a "$(field "$line" '.argv | any(. == "x11grab")')" = true \
	  -a "$(field "$line" .user)" = root ]
wait $pid
line=$(wait_event "$(end_of $pid)" 5)
check "ffmpeg x11grab: capture.end after exit" [ -n "$line" ]
dur=$(field "$line" .duration_ms); calls=$(field "$line" .calls)
diag "ffmpeg x11grab: duration_ms=$dur calls=$calls"
check "ffmpeg x11grab: duration about 3 s ($dur ms)" [ "${dur:-0}" -ge 2500 -a "${dur:-0}" -le 4500 ]
check "ffmpeg x11grab: calls counted by the api layer ($calls)" [ "${calls:-0}" -ge 30 ]
check "ffmpeg x11grab: exactly one begin and one end" \
	[ "$(count_events "(.pid==$pid)")" -eq 2 ]

# --- latency over repeated runs ----------------------------------------------
lats=()
for i in 1 2 3 4 5; do
	t0=$(now_us)
	ffmpeg -nostdin -loglevel error -f x11grab -framerate 30 -i "$DISPLAY" -t 0.5 -f null - &
	pid=$!
	line=$(wait_event "$(begin_of $pid)" 3) && lats+=($(( (${line%% *} - t0) / 1000 )))
	wait $pid
done
sorted=$(printf '%s\n' "${lats[@]}" | sort -n | tr '\n' ' ')
diag "start -> begin latency over ${#lats[@]} runs (ms, sorted): $sorted"
check "latency: every run under 250 ms" [ "${#lats[@]}" -eq 5 -a "$(printf '%s\n' "${lats[@]}" | sort -n | tail -1)" -lt 250 ]

# --- gst-launch ximagesrc ---------------------------------------------------
gst-launch-1.0 -q ximagesrc num-buffers=20 ! video/x-raw,framerate=10/1 ! fakesink &
pid=$!
line=$(wait_event "$(begin_of $pid)" 3)
check "gst-launch ximagesrc: recording begin" [ -n "$line" -a "$(field "$line" .kind)" = recording ]
wait $pid
check "gst-launch ximagesrc: end" wait_event "$(end_of $pid)" 5

# --- xwd -root once: a screenshot, not a recording --------------------------
xwd -root -silent -out "$TMP/root.xwd" &
pid=$!
line=$(wait_event "$(begin_of $pid)" 3)
check "xwd -root: screenshot" [ -n "$line" -a "$(field "$line" .kind)" = screenshot ]
wait $pid
check "xwd -root: end" wait_event "$(end_of $pid)" 5

# --- more that users expect to be caught -------------------------------------
import -window root "$TMP/root.png" &
pid=$!
line=$(wait_event "$(begin_of $pid)" 5)
check "import -window root: screenshot" [ -n "$line" -a "$(field "$line" .kind)" = screenshot ]
wait $pid

# A screenshot by another user is attributed to that user.
chmod 1777 "$TMP"
setpriv --reuid=nobody --regid=nogroup --clear-groups xwd -root -silent -out "$TMP/nobody.xwd" &
pid=$!
line=$(wait_event "$(begin_of $pid)" 3)
check "xwd by user nobody: attributed to nobody" [ -n "$line" -a "$(field "$line" .user)" = nobody ]
wait $pid

# --- benign work: no event at all --------------------------------------------
mark=$(wc -l <"$AGENT_OUT")
ffmpeg -nostdin -loglevel error -f lavfi -i testsrc=duration=1:size=320x240:rate=10 -y "$TMP/in.mkv"
ffmpeg -nostdin -loglevel error -i "$TMP/in.mkv" -vf scale=160:120 -y "$TMP/out.mkv"
printf 'int main(void){return 0;}\n' >"$TMP/hello.c"
cc -o "$TMP/hello" "$TMP/hello.c" && "$TMP/hello"
ls -R /usr >/dev/null 2>&1
xlogo -render 2>/dev/null & xpid=$!
sleep 2	# xlogo draws meanwhile
xwininfo -root >/dev/null 2>&1
kill $xpid; wait $xpid 2>/dev/null
sleep 3.5	# past the classification window and the idle timeout
# The marker: a screenshot taken now. Whatever the burst caused was printed
# before its lines; nothing but the marker's own may be there.
check "benign burst: the marker screenshot after it is seen" agent_marker xwd -root -silent -out "$TMP/marker.xwd"
new=$(new_events "$mark")
check "benign burst (transcode, compile, ls -R /usr, X client drawing): no event up to the marker" [ -z "$new" ]
[ -n "$new" ] && diag "unexpected: $new"

# --- clean stop: every probe detached -----------------------------------------
check "SIGTERM: agent exits 0, no error or sanitizer report in its log" stop_agent
check "SIGTERM: none of its programs left in the kernel" programs_gone

# --- the capture-API layer alone catches what exec signatures cannot ---------
mkdir -p "$TMP/api-policy"
cp "$ROOT"/policy/default/*api*.yml "$TMP/api-policy/"
check "agent starts with only the capture-API rules" start_agent api --policy "$TMP/api-policy"

mkdir -p "$TMP/bin"
cp /usr/bin/ffmpeg "$TMP/bin/vidconv"
"$TMP/bin/vidconv" -nostdin -loglevel error -f x11grab -framerate 30 -i "$DISPLAY" -t 2 -f null - &
pid=$!
line=$(wait_event "$(begin_of $pid)" 3)
check "renamed ffmpeg: detected by the api layer" [ -n "$line" -a "$(field "$line" .layer)" = api ]
check "renamed ffmpeg: recording of the root window" \
	[ "$(field "$line" .kind)" = recording -a "$(field "$line" .target)" = root ]
check "renamed ffmpeg: names the renamed program" [ "$(field "$line" .exe)" = "$TMP/bin/vidconv" ]
wait $pid
check "renamed ffmpeg: end" wait_event "$(end_of $pid)" 5

gst-launch-1.0 -q ximagesrc num-buffers=30 ! video/x-raw,framerate=10/1 ! fakesink &
pid=$!
line=$(wait_event "$(begin_of $pid)" 4)
check "ximagesrc (damage-driven) by api layer: recording" [ -n "$line" -a "$(field "$line" .kind)" = recording ]
wait $pid

xwd -root -silent -out "$TMP/root2.xwd" &
pid=$!
line=$(wait_event "$(begin_of $pid)" 4)
check "xwd -root by api layer: screenshot" [ -n "$line" -a "$(field "$line" .kind)" = screenshot ]
wait $pid

check "api policy: agent exits 0, no error or sanitizer report in its log" stop_agent
finish
