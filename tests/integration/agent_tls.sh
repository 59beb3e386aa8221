#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The agent's server link over TLS: wss:// with the server's certificate
# verified against ca_file connects; the same server under a CA the agent
# does not trust is refused, nothing is sent, and the events stay spooled.
source "$(dirname "$0")/lib.bash"

require_root
require openssl
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

port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
token=$("$SERVER" --data "$TMP/data" enroll-machine tls-lab 2>/dev/null | grep -oE '[A-Za-z0-9_-]{20,}' | head -1)
"$SERVER" --data "$TMP/data" --port "$port" --bind 127.0.0.1 -o tls_cert="$TMP/srv.pem" \
	-o tls_key="$TMP/srv.key" >"$TMP/server.log" 2>&1 &
PIDS_TO_KILL+=($!)
sleep 1

# run_agent NAME CA: the agent for 4 s with that CA; its log in $TMP/NAME.log
run_agent() {
	cat >"$TMP/$1.conf" <<CONF
server_url = wss://127.0.0.1:$port/agent
token = $token
ca_file = $TMP/$2.pem
spool_dir = $TMP/$1-spool
machine = tls-lab
CONF
	"$AGENT" --config "$TMP/$1.conf" --policy "$ROOT/policy/default" \
		--status-file "$TMP/$1.status" 2>"$TMP/$1.log" >/dev/null &
	local p=$!
	sleep 4
	"$AGENT" --status --status-file "$TMP/$1.status" >"$TMP/$1.statusout" 2>&1
	kill -TERM $p; wait $p
}

run_agent trusted ca
check "wss:// with the right CA: connected and welcomed" grep -q "server welcomed this machine" "$TMP/trusted.log"
check "the server saw the machine's hello over TLS" grep -q "machine 'tls-lab' hello" "$TMP/server.log"
check "--status shows the wss:// link and the CA it verifies against" \
	grep -q "^server  wss://127.0.0.1:$port/agent (TLS, certificate verified against $TMP/ca.pem)" \
	"$TMP/trusted.statusout"

run_agent untrusted other
check "wss:// with an untrusted CA: never welcomed" bash -c "! grep -q 'server welcomed' '$TMP/untrusted.log'"
check "the refusal is logged with a reason" grep -qiE "SSL.*retrying the same URL with backoff" "$TMP/untrusted.log"
finish
