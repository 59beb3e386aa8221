#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# sd_notify for real: both daemons run with NOTIFY_SOCKET pointing at a
# datagram socket of ours (as systemd would give a Type=notify unit) and a
# watchdog interval; READY=1, WATCHDOG=1 and STOPPING=1 must arrive.
source "$(dirname "$0")/lib.bash"

require_root
require /usr/bin/python3 Xvfb
[ -x "$OUTPUT/sphinx-server" ] && [ -x "$AGENT" ] || { not_ok "daemons built in $OUTPUT"; finish; }

# listen SOCKET SECONDS OUT [LOG_FIFO LOG]: collect every datagram for
# SECONDS into OUT. With LOG_FIFO (the daemon's stderr) its lines go to LOG
# and, as "log: LINE", into OUT too, in order: the log is drained before
# each datagram is written, so a line logged before a notification was sent
# comes before it in OUT.
listen() {
	[ -n "${4:-}" ] && mkfifo "$4"
	/usr/bin/python3 - "$@" <<'PY' &
import os, select, socket, sys, time
sock_path, seconds, out_path = sys.argv[1], float(sys.argv[2]), sys.argv[3]
# O_RDWR: the FIFO never reads as closed while the daemon is not yet there
log_fd = os.open(sys.argv[4], os.O_RDWR | os.O_NONBLOCK) if len(sys.argv) > 4 else None
log = open(sys.argv[5], "wb") if log_fd is not None else None
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sock_path)
end = time.time() + seconds
partial = b""
with open(out_path, "w") as out:
    def drain():
        global partial
        while True:
            try:
                b = os.read(log_fd, 65536)
            except BlockingIOError:
                return
            if not b:
                return
            log.write(b)
            log.flush()
            partial += b
            *lines, partial = partial.split(b"\n")
            for l in lines:
                out.write("log: " + l.decode(errors="replace") + "\n")
    while time.time() < end:
        fds = [s] + ([log_fd] if log_fd is not None else [])
        ready, _, _ = select.select(fds, [], [], 0.2)
        if log_fd is not None:
            drain()
        if s in ready:
            out.write(s.recv(4096).decode() + "\n")
        out.flush()
PY
	LISTENER=$!
	for _ in $(seq 50); do [ -S "$1" ] && return 0; sleep 0.1; done
	return 1
}
# first_line PATTERN FILE: the number of the first line matching, or 0.
first_line() { grep -nE "$1" "$2" | head -n 1 | cut -d: -f1 | grep . || echo 0; }

# The server, watchdog 1 s: pings at least every 0.5 s.
listen "$TMP/server.sock" 6 "$TMP/server.msgs"
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
NOTIFY_SOCKET=$TMP/server.sock WATCHDOG_USEC=1000000 "$OUTPUT/sphinx-server" --data "$TMP/data" \
	--port "$port" --bind 127.0.0.1 >"$TMP/server.log" 2>&1 &
spid=$!
PIDS_TO_KILL+=($spid)
check "server: READY=1 once listening" wait_for "READY=1" "$TMP/server.msgs" 5
w0=$(grep -c WATCHDOG=1 "$TMP/server.msgs")
sleep 3	# the watchdog's pings are counted over these 3 s
w1=$(grep -c WATCHDOG=1 "$TMP/server.msgs")
kill -TERM $spid; wait $spid
src=$?
wait $LISTENER
check "server: WATCHDOG=1 keeps coming (>= 4 in 3 s at 1 s WatchdogSec: $((w1 - w0)))" [ $((w1 - w0)) -ge 4 ]
check "server: STOPPING=1 on SIGTERM" grep -q "STOPPING=1" "$TMP/server.msgs"
check "server: exits 0 on SIGTERM ($src)" [ "$src" -eq 0 ]
check "server: no error line, no sanitizer report in its log" log_clean "$TMP/server.log"

# The agent: READY=1 only after every probe is attached (after it logged
# "started:", which it does once they are).
start_xvfb
listen "$TMP/agent.sock" 8 "$TMP/agent.msgs" "$TMP/agent.fifo" "$TMP/agent.log"
NOTIFY_SOCKET=$TMP/agent.sock WATCHDOG_USEC=1000000 "$AGENT" --stdout --policy "$ROOT/policy/default" \
	>/dev/null 2>"$TMP/agent.fifo" &
apid=$!
PIDS_TO_KILL+=($apid)
check "agent: READY=1" wait_for "^READY=1" "$TMP/agent.msgs" 10
ready=$(first_line "^READY=1" "$TMP/agent.msgs")
started=$(first_line "^log: .*started:" "$TMP/agent.msgs")
check "agent: READY=1 only after it logged 'started:' (lines $started, $ready of the merged stream)" \
	[ "$started" -gt 0 -a "$ready" -gt "$started" ]
kill -HUP $apid
check "agent: RELOADING=1 around SIGHUP" wait_for "^RELOADING=1" "$TMP/agent.msgs" 5
check "agent: READY=1 again after the reload" \
	bash -c "for _ in \$(seq 50); do [ \$(grep -c '^READY=1' '$TMP/agent.msgs') -ge 2 ] && exit 0; sleep 0.1; done; exit 1"
sleep 1.5	# WATCHDOG=1 keeps coming meanwhile
kill -TERM $apid; wait $apid
arc=$?
wait $LISTENER
check "agent: WATCHDOG=1 from its loop" grep -q "^WATCHDOG=1" "$TMP/agent.msgs"
check "agent: STOPPING=1 on SIGTERM" grep -q "^STOPPING=1" "$TMP/agent.msgs"
check "agent: exits 0 on SIGTERM ($arc)" [ "$arc" -eq 0 ]
check "agent: no error line, no sanitizer report in its log" log_clean "$TMP/agent.log"
finish
