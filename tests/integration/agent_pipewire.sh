#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# pw_stream_connect through the real libpipewire: a video input stream is a
# screen cast (caught in the kernel by its format's mediaType), an audio
# input stream (a voice recorder) is not.
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

check "agent starts" start_agent pw --policy "$ROOT/policy/default"
out=$("$AGENT" --status --status-file "$TMP/none" 2>&1)
check "--status: pw_stream_connect attached" grep -qE "^api +pw_stream_connect +attached" <<<"$out"

"$CLIENT" audio >/dev/null 2>&1 & apid=$!
wait $apid
"$CLIENT" video >/dev/null 2>&1 & vpid=$!
wait $vpid
line=$(wait_event ".type==\"capture.begin\" and .pid==$vpid" 3)
check "video input stream: capture.begin" [ -n "$line" ]
check "video input stream: api pw_stream_connect" \
	[ "$(printf '%s' "${line#* }" | jq -r .api)" = pw_stream_connect ]
# the video stream's begin (a later process) is the marker
check "audio input stream: no event up to the video stream's begin" [ "$(count_events ".pid==$apid")" -eq 0 ]
check "agent exits 0, no error or sanitizer report in its log" stop_agent
finish
