#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# sd_notify for real: both daemons run with NOTIFY_SOCKET pointing at a
# datagram socket of ours (as systemd would give a Type=notify unit) and a
# watchdog interval; READY=1, WATCHDOG=1 and STOPPING=1 must arrive.
source "$(dirname "$0")/lib.bash"

require_root
require /usr/bin/python3 Xvfb
[ -x "$OUTPUT/sphinx-server" ] && [ -x "$AGENT" ] || { not_ok "daemons built in $OUTPUT"; finish; }

# listen SOCKET SECONDS OUT: collect every datagram for SECONDS into OUT.
listen() {
	/usr/bin/python3 - "$1" "$2" "$3" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(0.2)
end = time.time() + float(sys.argv[2])
with open(sys.argv[3], "w") as out:
    while time.time() < end:
        try:
            out.write(s.recv(4096).decode() + "\n")
            out.flush()
        except socket.timeout:
            pass
PY
	LISTENER=$!
	for _ in $(seq 50); do [ -S "$1" ] && return 0; sleep 0.1; done
	return 1
}

# The server, watchdog 1 s: pings at least every 0.5 s.
listen "$TMP/server.sock" 6 "$TMP/server.msgs"
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
NOTIFY_SOCKET=$TMP/server.sock WATCHDOG_USEC=1000000 "$OUTPUT/sphinx-server" --data "$TMP/data" \
	--port "$port" --bind 127.0.0.1 >"$TMP/server.log" 2>&1 &
spid=$!
sleep 3
kill -TERM $spid; wait $spid
wait $LISTENER
check "server: READY=1 once listening" grep -q "READY=1" "$TMP/server.msgs"
check "server: WATCHDOG=1 keeps coming (>= 4 in 3 s at 1 s WatchdogSec)" \
	[ "$(grep -c WATCHDOG=1 "$TMP/server.msgs")" -ge 4 ]
check "server: STOPPING=1 on SIGTERM" grep -q "STOPPING=1" "$TMP/server.msgs"

# The agent: READY=1 only after every probe is attached.
start_xvfb
listen "$TMP/agent.sock" 8 "$TMP/agent.msgs"
NOTIFY_SOCKET=$TMP/agent.sock WATCHDOG_USEC=1000000 "$AGENT" --stdout --policy "$ROOT/policy/default" \
	>/dev/null 2>"$TMP/agent.log" &
apid=$!
for _ in $(seq 100); do grep -q "READY=1" "$TMP/agent.msgs" 2>/dev/null && break; sleep 0.1; done
check "agent: READY=1" grep -q "READY=1" "$TMP/agent.msgs"
check "agent: READY=1 only after it logged 'started'" grep -q "started:" "$TMP/agent.log"
kill -HUP $apid; sleep 1
check "agent: RELOADING=1 around SIGHUP" grep -q "RELOADING=1" "$TMP/agent.msgs"
sleep 1.5
kill -TERM $apid; wait $apid
wait $LISTENER
check "agent: WATCHDOG=1 from its loop" grep -q "WATCHDOG=1" "$TMP/agent.msgs"
check "agent: STOPPING=1 on SIGTERM" grep -q "STOPPING=1" "$TMP/agent.msgs"
finish
