#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# pw_stream_connect through the real libpipewire: a video input stream is
# seen (its format's mediaType, in the kernel) but, reading no compositor's
# screen-cast node, it is a plain "stream" the default policy does not
# report (a camera); an audio input stream gives no record at all. The
# screen-cast case, with a real compositor, is agent_gnome.sh.
source "$(dirname "$0")/lib.bash"

require_root
require jq
CLIENT=$OUTPUT/tests/pw_stream_client
[ -x "$CLIENT" ] || { not_ok "test helper built at $CLIENT (make test builds it)"; finish; }
# A client configuration of our own: no PipeWire daemon is needed for the
# call to be made (it then fails to connect, which is fine here).
mkdir -p "$TMP/pw"
cat >"$TMP/pw/client.conf" <<'CONF'
context.properties = { log.level = 0 }
context.spa-libs = { support.* = support/libspa-support }
context.modules = [
  { name = libpipewire-module-protocol-native }
  { name = libpipewire-module-client-node }
  { name = libpipewire-module-adapter }
]
CONF
export PIPEWIRE_CONFIG_DIR=$TMP/pw PIPEWIRE_RUNTIME_DIR=$TMP/pw

check "agent starts" start_agent pw --policy "$ROOT/policy/default" --record "$TMP/record.jsonl"
out=$("$AGENT" --status --status-file "$TMP/none" 2>&1)
check "--status: pw_stream_connect attached" grep -qE "^api +pw_stream_connect +attached" <<<"$out"

"$CLIENT" audio >/dev/null 2>&1 & apid=$!
wait $apid
"$CLIENT" video >/dev/null 2>&1 & vpid=$!
wait $vpid
# The policy was asked about the video stream: what it decided is final
# (a begin is printed in the same step), so this is the marker.
rec() { jq -c "select(.pid==$1 and .category==\"screen_capture\")" "$TMP/record.jsonl" 2>/dev/null; }
for _ in $(seq 30); do [ -n "$(rec $vpid)" ] && break; sleep 0.1; done
check "video input stream: seen (pw_stream_connect, target stream)" \
	[ "$(rec $vpid | jq -r '.fields.Api + " " + .fields.Target' | head -1)" = "pw_stream_connect stream" ]
check "video input stream of no screen cast: no event" [ "$(count_events ".pid==$vpid")" -eq 0 ]
check "audio input stream: no record" [ -z "$(rec $apid)" ]
check "audio input stream: no event" [ "$(count_events ".pid==$apid")" -eq 0 ]
check "agent exits 0, no error or sanitizer report in its log" stop_agent
finish
