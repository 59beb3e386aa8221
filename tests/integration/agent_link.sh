#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The agent's side of the link to sphinx-server:
#  - a ws:// server_url is refused at start unless 'insecure = yes' says so;
#  - a server answering the upgrade with 302 is not followed: the agent
#    retries the same URL, and the Location's listener sees no connection
#    (lws 4.1 follows by default and would send the token there);
#  - 300 malformed spool entries ahead of 120 good events do not hold the
#    uplink: they are set aside, and the real server acknowledges every good
#    event without the agent tripping its message rate limit (burst 100).
source "$(dirname "$0")/lib.bash"

require_root
require python3
SERVER=$OUTPUT/sphinx-server
[ -x "$SERVER" ] && [ -x "$AGENT" ] || { not_ok "daemons built in $OUTPUT"; finish; }
TOKEN=linktest-token-0123456789abcdef

# ------------------------------------------------- ws:// needs insecure = yes
write_agent_conf "$TMP/plain.conf" "server_url = ws://127.0.0.1:9/agent" "token = $TOKEN" \
	"spool_dir = $TMP/plain-spool"
timeout 10 "$AGENT" --config "$TMP/plain.conf" --policy "$ROOT/policy/default" \
	--status-file "$TMP/plain.status" >/dev/null 2>"$TMP/plain.log"
rc=$?
check_sh "ws:// without insecure = yes: the agent refuses to start (exit 1, got $rc)" '[ $rc -eq 1 ]'
check_sh "the refusal names the key and the way out" \
	'grep -q "server_url = ws://" "$TMP/plain.log" && grep -q "insecure = yes" "$TMP/plain.log" &&
	 grep -q "wss://" "$TMP/plain.log"'
check_sh "nothing was spooled or loaded before the refusal" '[ ! -e "$TMP/plain-spool" ]'
write_agent_conf "$TMP/typo.conf" "server_url = ws://127.0.0.1:9/agent" "token = $TOKEN" "insecure = maybe"
"$AGENT" --config "$TMP/typo.conf" >/dev/null 2>"$TMP/typo.log"
rc=$?
check_sh "insecure takes yes or no, and says so" \
	'[ $rc -eq 1 ] && grep -q "typo.conf:4: insecure: expected .yes. or .no." "$TMP/typo.log"'

# ---------------------------------------------------- redirects not followed
# Two listeners: A answers every upgrade with 302 to B; B records whatever
# reaches it. One line per event in $TMP/redirect.log.
cat >"$TMP/redirect.py" <<'PY'
import socket, sys, threading
log = open(sys.argv[1], "a", buffering=1)
def listener():
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0)); s.listen(16); return s
a, b = listener(), listener()
pa, pb = a.getsockname()[1], b.getsockname()[1]
def request(c):
    data = b""
    c.settimeout(5)
    try:
        while b"\r\n\r\n" not in data and len(data) < 16384:
            chunk = c.recv(4096)
            if not chunk: break
            data += chunk
    except OSError: pass
    head = data.decode("latin-1").split("\r\n")
    auth = any(h.lower().startswith("authorization:") for h in head)
    return head[0], auth
def serve(s, name, answer):
    while True:
        c, _ = s.accept()
        if name == "B": log.write("B connection\n")
        line, auth = request(c)
        log.write("%s %s auth=%s\n" % (name, line, "yes" if auth else "no"))
        try: c.sendall(answer)
        except OSError: pass
        c.close()
redirect = ("HTTP/1.1 302 Found\r\nLocation: ws://127.0.0.1:%d/agent\r\n"
            "Content-Length: 0\r\nConnection: close\r\n\r\n" % pb).encode()
threading.Thread(target=serve, args=(b, "B", b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"), daemon=True).start()
print(pa, pb, flush=True)
serve(a, "A", redirect)
PY
: >"$TMP/redirect.log"
python3 "$TMP/redirect.py" "$TMP/redirect.log" >"$TMP/ports" &
PIDS_TO_KILL+=($!)
for _ in $(seq 50); do [ -s "$TMP/ports" ] && break; sleep 0.1; done
read -r port_a port_b <"$TMP/ports"
check_sh "test listeners up (redirector $port_a, Location's port $port_b)" '[ -n "$port_b" ]'

write_agent_conf "$TMP/redirect.conf" "server_url = ws://127.0.0.1:$port_a/agent" "insecure = yes" \
	"token = $TOKEN" "spool_dir = $TMP/redirect-spool" "machine = link-lab"
"$AGENT" --config "$TMP/redirect.conf" --policy "$ROOT/policy/default" \
	--status-file "$TMP/redirect.status" >/dev/null 2>"$TMP/redirect-agent.log" &
agent=$!
PIDS_TO_KILL+=($agent)
# The marker: a second upgrade request on A. It comes after the backoff that
# follows the first 302, and lws follows a redirect at once, so by then B
# would have seen the connection.
for _ in $(seq 300); do
	[ "$(grep -c '^A ' "$TMP/redirect.log")" -ge 2 ] && break
	kill -0 $agent 2>/dev/null || break
	sleep 0.1
done
check_sh "the agent retried the same URL after the 302 (two upgrade requests on it)" \
	'[ "$(grep -c "^A GET /agent HTTP/1.1 auth=yes" "$TMP/redirect.log")" -ge 2 ]'
check_sh "nothing reached the Location's port (the redirect was not followed, the token not sent)" \
	'! grep -q "^B" "$TMP/redirect.log"'
check_sh "the refusal is logged with the status and the Location" \
	'grep -q "answered the upgrade with HTTP 302 (Location: ws://127.0.0.1:$port_b/agent); redirects are never followed" "$TMP/redirect-agent.log"'
check_sh "the ws:// link is a warning at start" \
	'grep -q "is ws:// (insecure = yes).*in clear" "$TMP/redirect-agent.log"'
"$AGENT" --status --status-file "$TMP/redirect.status" >"$TMP/redirect.statusout" 2>&1
check_sh "--status shows the link as INSECURE" \
	'grep -q "^server  ws://127.0.0.1:$port_a/agent INSECURE" "$TMP/redirect.statusout"'
kill -TERM $agent; wait $agent
grep -v '^A GET /agent HTTP/1.1 auth=yes$' "$TMP/redirect.log" | sed 's/^/# listener: /'

# ----------------------------------------- malformed spool entries set aside
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
token=$("$SERVER" --data "$TMP/data" enroll-machine spool-lab 2>/dev/null | grep -oE '[A-Za-z0-9_-]{20,}' | head -1)
"$SERVER" --data "$TMP/data" --port "$port" --bind 127.0.0.1 >"$TMP/server.log" 2>&1 &
PIDS_TO_KILL+=($!)
spool=$TMP/spool-lab-spool
mkdir -m 700 "$spool"
# More malformed entries than the uplink has in-flight slots (256), then
# more events the server accepts than its default message burst (100).
for i in $(seq 1 300); do
	f=$(printf '%s/%020d.json' "$spool" "$i")
	case $((i % 3)) in
	0) printf 'not json %d' "$i" >"$f" ;;
	1) printf '{"type":"capture.begin","v":1,"capture":"c"}' >"$f" ;;
	2) : >"$f" ;;
	esac
done
for i in $(seq 301 420); do
	printf '{"type":"capture.begin","v":1,"id":"linktest:%d","capture":"linktest:%d","kind":"recording","comm":"linktest-recorder","user":"nobody","layer":"exec"}' \
		"$i" "$i" >"$(printf '%s/%020d.json' "$spool" "$i")"
done
write_agent_conf "$TMP/spool-lab.conf" "server_url = ws://127.0.0.1:$port/agent" "insecure = yes" \
	"token = $token" "spool_dir = $spool" "machine = spool-lab"
"$AGENT" --config "$TMP/spool-lab.conf" --policy "$ROOT/policy/default" \
	--status-file "$TMP/spool-lab.status" >/dev/null 2>"$TMP/spool-lab.log" &
agent=$!
PIDS_TO_KILL+=($agent)
for _ in $(seq 300); do
	ls "$spool" | grep -q json || break
	kill -0 $agent 2>/dev/null || break
	sleep 0.1
done
check_sh "the 120 good events after 300 malformed ones were acknowledged (gone from the spool)" \
	'! ls "$spool" | grep -q json'
check_sh "the server stored each of them once" \
	'[ "$(grep -c "machine .spool-lab.: recording began by .nobody. (linktest-recorder" "$TMP/server.log")" -eq 120 ]'
check_sh "the replay kept under the server's message rate limit (never closed for it)" \
	'! grep -q "rate limit" "$TMP/server.log" && ! grep -q "rate_limited" "$TMP/spool-lab.log"'
check_sh "each malformed entry got one log line naming the file and why (300)" \
	'[ "$(grep -c "spool: skipping $spool/[0-9]*.json (" "$TMP/spool-lab.log")" -eq 300 ]'
check_sh "bad/ keeps 100 of them, the spool holds no malformed entry" \
	'[ "$(ls "$spool/bad" | wc -l)" -eq 100 ] && [ -z "$(ls "$spool" | grep -v "^bad$\|^dropped$")" ]'
kill -TERM $agent; wait $agent
grep -m3 "spool: skipping" "$TMP/spool-lab.log" | sed 's/^/# /'
finish
