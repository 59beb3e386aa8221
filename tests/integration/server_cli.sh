#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# sphinx-server command line: --help, --version, --print-config (kept equal
# to server/sphinx-server.conf.example), config errors naming file:line and
# key, overrides, admin commands, a second server refused on a busy port.
set -u
cd "$(dirname "$0")/../.."
BIN=${OUTPUT:-build}/sphinx-server
n=0 fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); fail=1; echo "not ok $n - $1"; [ -n "${2:-}" ] && printf '# %s\n' "$2"; }
check() { local name=$1; shift; if "$@" >/dev/null 2>&1; then ok "$name"; else nok "$name"; fi; }

if [ ! -x "$BIN" ]; then
	printf 'not ok 1 - sphinx-server binary missing at %s (run make)\n1..1\n' "$BIN"
	exit 1
fi
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT

out=$("$BIN" --help)
check "--help names every option and command" grep -q -- "--config FILE" <<<"$out"
for w in --port --data enroll-machine add-user; do
	grep -q -- "$w" <<<"$out" || nok "--help mentions $w"
done
check "--version" bash -c "'$BIN' --version | grep -q '^sphinx-server [0-9]'"
if diff <("$BIN" --print-config) server/sphinx-server.conf.example >"$tmp/diff"; then
	ok "server/sphinx-server.conf.example equals --print-config (every key, its default)"
else
	nok "server/sphinx-server.conf.example is out of date" "$(head -5 "$tmp/diff")"
fi

printf 'port = 8081\nbogus_key = 1\n' >"$tmp/bad.conf"
msg=$("$BIN" --config "$tmp/bad.conf" --data "$tmp/d" 2>&1); rc=$?
if [ $rc -ne 0 ] && grep -q "bad.conf:2: unknown key 'bogus_key'" <<<"$msg"; then ok "unknown key names file:line"; else nok "unknown key names file:line" "$msg"; fi
printf 'port = eighty\n' >"$tmp/bad2.conf"
msg=$("$BIN" --config "$tmp/bad2.conf" --data "$tmp/d" 2>&1)
if grep -q "bad2.conf:1: port: expected a number" <<<"$msg"; then ok "bad value names the key"; else nok "bad value names the key" "$msg"; fi
msg=$("$BIN" --data "$tmp/d" -o tls_cert=/x 2>&1)
if grep -q "tls_cert and tls_key must be set together" <<<"$msg"; then ok "cross-key validation"; else nok "cross-key validation" "$msg"; fi
msg=$("$BIN" --data "$tmp/d" --port 0 2>&1)
if grep -q "port: expected a number from 1 to 65535" <<<"$msg"; then ok "--port range checked"; else nok "--port range" "$msg"; fi
msg=$("$BIN" --data "$tmp/d" frobnicate 2>&1); rc=$?
if [ $rc -eq 2 ] && grep -q "unknown command 'frobnicate'" <<<"$msg"; then ok "unknown command"; else nok "unknown command" "$msg"; fi

# admin commands against a fresh data directory
tok=$("$BIN" --data "$tmp/d" enroll-machine lab-7)
if [ ${#tok} -ge 40 ]; then ok "enroll-machine prints a token"; else nok "enroll-machine prints a token" "$tok"; fi
check "enroll-machine twice is refused" bash -c "! '$BIN' --data '$tmp/d' enroll-machine lab-7"
check "list-machines shows it" bash -c "'$BIN' --data '$tmp/d' list-machines | grep -q '\"lab-7\"'"
check "revoke-machine" "$BIN" --data "$tmp/d" revoke-machine lab-7
check "add-user reads the password from stdin" bash -c "echo 'demo-password' | '$BIN' --data '$tmp/d' -o password_strength=min add-user demo --email demo@example.org --name Demo"
check "add-user refuses a short password" bash -c "! (echo short | '$BIN' --data '$tmp/d' add-user demo2 --email d2@example.org)"
check "set-password" bash -c "echo 'new-password-1' | '$BIN' --data '$tmp/d' -o password_strength=min set-password demo"

# the server starts from a config file, logs its start, refuses a busy port
# a port nobody listens on (other suites may run servers at the same time)
while :; do
	port=$((30000 + RANDOM % 20000))
	(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break
done
printf 'port = %s\nlisten_address = 127.0.0.1\nweb_root = server/web\n' "$port" >"$tmp/good.conf"
"$BIN" --config "$tmp/good.conf" --data "$tmp/d" >"$tmp/log" 2>&1 &
pid=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/api/health" >/dev/null 2>&1 && break; sleep 0.05; done
check "starts from --config and answers" bash -c "kill -0 $pid && curl -fs http://127.0.0.1:$port/api/health"
check "logs its start" grep -q "listening on 127.0.0.1:$port" "$tmp/log"
check "local login works for the add-user account" bash -c "curl -fs -H 'content-type: application/json' -d '{\"username\":\"demo\",\"password\":\"new-password-1\"}' http://127.0.0.1:$port/api/auth/login | grep -q '\"csrf\"'"
"$BIN" --data "$tmp/d2" --port "$port" --bind 127.0.0.1 >"$tmp/log2" 2>&1
rc=$?
if [ $rc -ne 0 ] && grep -q "cannot start" "$tmp/log2"; then ok "a busy port is a clear start failure"; else nok "busy port" "$(cat "$tmp/log2")"; fi
kill "$pid"; wait "$pid"; rc=$?; pid=
check "stops on SIGTERM and says so" grep -q "stopping" "$tmp/log"
check "exits 0 on SIGTERM ($rc), no sanitizer report in its log" \
	bash -c "[ $rc -eq 0 ] && ! grep -qE 'ERROR: [A-Za-z]+Sanitizer|runtime error:' '$tmp/log'"
echo "1..$n"
exit $fail
