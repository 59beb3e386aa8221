#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The agent's server link over TLS: wss:// with the server's certificate
# verified against ca_file connects; the same server under a CA the agent
# does not trust is refused, nothing is sent, and the events stay spooled:
# the server sees no hello and no event from that run, and the agent next
# started with the right CA on the same spool delivers the event then.
source "$(dirname "$0")/lib.bash"

require_root
require openssl Xvfb xwd
SERVER=$OUTPUT/sphinx-server
[ -x "$SERVER" ] && [ -x "$AGENT" ] || { not_ok "daemons built in $OUTPUT"; finish; }

# A CA of our own and a server certificate for 127.0.0.1 signed by it.
mkca() {
	openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=$2" \
		-keyout "$TMP/$1.key" -out "$TMP/$1.pem" >/dev/null 2>&1
}
mkca ca "Sphinx test CA"
mkca other "Somebody else's CA"
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$TMP/srv.key" \
	-out "$TMP/srv.csr" >/dev/null 2>&1
printf 'subjectAltName=IP:127.0.0.1\n' >"$TMP/san.ext"
openssl x509 -req -in "$TMP/srv.csr" -CA "$TMP/ca.pem" -CAkey "$TMP/ca.key" -CAcreateserial \
	-days 1 -extfile "$TMP/san.ext" -out "$TMP/srv.pem" >/dev/null 2>&1
check "test certificates made" [ -s "$TMP/srv.pem" ]

start_xvfb
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
token=$("$SERVER" --data "$TMP/data" enroll-machine tls-lab 2>/dev/null | grep -oE '[A-Za-z0-9_-]{20,}' | head -1)
"$SERVER" --data "$TMP/data" --port "$port" --bind 127.0.0.1 -o tls_cert="$TMP/srv.pem" \
	-o tls_key="$TMP/srv.key" >"$TMP/server.log" 2>&1 &
spid=$!
PIDS_TO_KILL+=($spid)
check "server listening" wait_for "listening on 127.0.0.1:$port" "$TMP/server.log" 10
hellos() { grep -c "machine 'tls-lab' hello" "$TMP/server.log"; }
spooled() { find "$TMP/spool" -name '*.json' | grep -c .; }

# start_link NAME CA: the agent with that CA and the spool $TMP/spool; its
# log in $TMP/NAME.log, its pid in $LINK_PID.
start_link() {
	write_agent_conf "$TMP/$1.conf" "server_url = wss://127.0.0.1:$port/agent" "token = $token" \
		"ca_file = $TMP/$2.pem" "spool_dir = $TMP/spool" "machine = tls-lab"
	"$AGENT" --config "$TMP/$1.conf" --policy "$ROOT/policy/default" \
		--status-file "$TMP/$1.status" 2>"$TMP/$1.log" >/dev/null &
	LINK_PID=$!
	PIDS_TO_KILL+=($LINK_PID)
}

start_link trusted ca
check "wss:// with the right CA: connected and welcomed" wait_for "server welcomed this machine" "$TMP/trusted.log" 10
check "the server saw the machine's hello over TLS" grep -q "machine 'tls-lab' hello" "$TMP/server.log"
"$AGENT" --status --status-file "$TMP/trusted.status" >"$TMP/trusted.statusout" 2>&1
check "--status shows the wss:// link and the CA it verifies against" \
	grep -q "^server  wss://127.0.0.1:$port/agent (TLS, certificate verified against $TMP/ca.pem)" \
	"$TMP/trusted.statusout"
check "trusted: the agent exits 0 on SIGTERM, log clean" stop_pid $LINK_PID "$TMP/trusted.log"
before=$(hellos)

start_link untrusted other
check "the refusal is logged with a reason" wait_for "SSL.*retrying the same URL with backoff" "$TMP/untrusted.log" 10
xwd -root -silent -out "$TMP/shot.xwd"
check "untrusted: the screenshot's events wait in the spool" \
	bash -c "for _ in \$(seq 50); do [ \$(find '$TMP/spool' -name '*.json' | grep -c .) -ge 2 ] && exit 0; sleep 0.1; done; exit 1"
check "wss:// with an untrusted CA: never welcomed" bash -c "! grep -q 'server welcomed' '$TMP/untrusted.log'"
check "untrusted: the agent exits 0 on SIGTERM (the refusals are warnings)" stop_pid $LINK_PID "$TMP/untrusted.log"
n_spooled=$(spooled)

# The marker: the same spool with the right CA. Whatever the untrusted run
# had sent would be in the server's log before this run's hello.
start_link again ca
check "again with the right CA: welcomed" wait_for "server welcomed this machine" "$TMP/again.log" 10
check "again: the spooled screenshot reaches the server" wait_for "machine 'tls-lab': screenshot began" "$TMP/server.log" 10
check "nothing was sent by the untrusted run: one hello more, only from this run, and no event before it" \
	bash -c "[ $(hellos) -eq $((before + 1)) ] &&
		 [ \$(grep -nE \"machine 'tls-lab' hello\" '$TMP/server.log' | tail -n 1 | cut -d: -f1) -lt \
		   \$(grep -nE \"machine 'tls-lab': screenshot began\" '$TMP/server.log' | head -n 1 | cut -d: -f1) ]"
check "again: the spool drains ($n_spooled files before)" \
	bash -c "for _ in \$(seq 100); do [ \$(find '$TMP/spool' -name '*.json' | grep -c .) -eq 0 ] && exit 0; sleep 0.1; done; exit 1"
check "again: the agent exits 0 on SIGTERM, log clean" stop_pid $LINK_PID "$TMP/again.log"
check "the server exits 0 on SIGTERM, log clean" stop_pid $spid "$TMP/server.log"
finish
