#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Central policy (issue 14): how long from a push to the agent applying it.
# One sphinx-server (fresh data directory, random port, default
# configuration) and one real sphinx-agent connected to it over ws://
# (insecure = yes, loopback). Each run pushes a new bundle (two small rule
# files, alternating between two contents so every push is a new version)
# and times, with a 1 ms poll of the agent's log, from the moment the push
# starts to the agent's "server bundle vN ... applied" line:
#   - cli: `sphinx-server policy push DIR` (a process of its own: it opens
#     the store, checks the bundle with policy_load, stores it and sends
#     SIGUSR1 to the server), so its own start-up is in the figure;
#     cli_process is that command's run alone;
#   - api: POST /api/admin/policy with the same files (curl).
# RUNS runs each (default 10). Needs root (the agent loads BPF).
#   bench/policy_push.sh
# The raw output is saved to bench/results/policy-push-<date>.txt (RESULTS=file to change).
set -eu
cd "$(dirname "$0")/.."
source bench/lib.sh
OUTPUT=${OUTPUT:-build}
RUNS=${RUNS:-10}
SERVER=$OUTPUT/sphinx-server
AGENT=$OUTPUT/sphinx-agent
[ -x "$SERVER" ] && [ -x "$AGENT" ] || { echo "build first: make" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "run as root (the agent loads BPF)" >&2; exit 1; }
TMP=$(mktemp -d /tmp/sphinx-policybench.XXXXXX)
SPID= APID=
trap '[ -n "$APID" ] && kill "$APID" 2>/dev/null; [ -n "$SPID" ] && kill "$SPID" 2>/dev/null; sleep 0.3; rm -rf "$TMP"' EXIT

BENCH_COMMAND="bench/policy_push.sh (RUNS=$RUNS)"
bench_begin policy-push

rule() {
	printf 'id: %s\ntitle: %s started\nlogsource: { category: process_creation, product: linux }\n' "$1" "$2"
	printf 'detection:\n  selection:\n    Image|endswith: /%s\n  condition: selection\nlevel: high\nkind: screenshot\n' "$2"
}
mkdir -p "$TMP/local" "$TMP/b0" "$TMP/b1"
rule local.exec.marker marker >"$TMP/local/marker.yml"
for i in 0 1; do
	cp "$TMP/local/marker.yml" "$TMP/b$i/"
	rule "bench.exec.prog$i" "prog$i" >"$TMP/b$i/prog.yml"
done

DATA=$TMP/data
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
echo bench-password | "$SERVER" --data "$DATA" -o password_strength=min add-user admin --email a@example.org \
	--admin >/dev/null 2>&1
token=$("$SERVER" --data "$DATA" enroll-machine bench-lab 2>/dev/null)
"$SERVER" --data "$DATA" --port "$port" --bind 127.0.0.1 >"$TMP/server.log" 2>&1 &
SPID=$!
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/api/health" >/dev/null && break; sleep 0.1; done
printf '%s\n' "server_url = ws://127.0.0.1:$port/agent" "insecure = yes" "token = $token" \
	"machine = bench-lab" "spool_dir = $TMP/spool" "server_policy_dir = $TMP/state/policy" >"$TMP/agent.conf"
mkdir -p "$TMP/state"
"$AGENT" --config "$TMP/agent.conf" --policy "$TMP/local" --status-file "$TMP/agent.status" \
	>/dev/null 2>"$TMP/agent.log" &
APID=$!
for _ in $(seq 300); do grep -q "policy local v0 in force" "$TMP/server.log" && break; sleep 0.1; done
grep -q "policy local v0 in force" "$TMP/server.log" || bench_fail "the agent did not connect"
csrf=$(curl -s -c "$TMP/cookies" -H 'Content-Type: application/json' \
	--data '{"username":"admin","password":"bench-password"}' "http://127.0.0.1:$port/api/auth/login" | jq -r .csrf)

# timed VERSION COMMAND...: runs COMMAND, prints "total_ms command_ms": from
# its start to the agent's applied line for VERSION, and its own run.
cat >"$TMP/timed.py" <<'PY'
import re, subprocess, sys, time
log, version, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
want = re.compile(r"server bundle v%s \(group [^)]*\) applied" % version)
f = open(log); f.seek(0, 2)
t0 = time.monotonic()
p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
done = None; buf = ""
while time.monotonic() - t0 < 10:
    if done is None and p.poll() is not None: done = time.monotonic()
    buf += f.read()
    if want.search(buf):
        t1 = time.monotonic()
        if done is None: p.wait(); done = time.monotonic()
        print("%.1f %.1f" % ((t1 - t0) * 1000, (done - t0) * 1000)); sys.exit(0)
    time.sleep(0.001)
sys.exit("version %s not applied within 10 s" % version)
PY
cli=() cli_proc=() api=()
v=0
for run in $(seq "$RUNS"); do
	v=$((v + 1))
	read -r total proc < <(python3 "$TMP/timed.py" "$TMP/agent.log" $v \
		"$SERVER" --data "$DATA" policy push "$TMP/b$((v % 2))" --note "bench run $run") ||
		bench_fail "cli run $run"
	echo "run $run cli v$v: push -> applied $total ms (the command itself $proc ms)"
	cli+=("$total") cli_proc+=("$proc")
	v=$((v + 1))
	body=$(jq -n --rawfile m "$TMP/b$((v % 2))/marker.yml" --rawfile p "$TMP/b$((v % 2))/prog.yml" \
		'{files: [{name: "marker.yml", text: $m}, {name: "prog.yml", text: $p}]}')
	read -r total proc < <(python3 "$TMP/timed.py" "$TMP/agent.log" $v \
		curl -s -b "$TMP/cookies" -H "X-CSRF-Token: $csrf" -H 'Content-Type: application/json' \
		--data-binary "$body" "http://127.0.0.1:$port/api/admin/policy") || bench_fail "api run $run"
	echo "run $run api v$v: push -> applied $total ms (curl itself $proc ms)"
	api+=("$total")
done
grep -c "applied" "$TMP/agent.log" | sed 's/^/agent log: applied lines: /'
kill "$APID" "$SPID"
wait "$APID" "$SPID" 2>/dev/null || true
APID= SPID=
bench_result policy_push_cli_applied_ms ms "${cli[@]}"
bench_result policy_push_cli_process_ms ms "${cli_proc[@]}"
bench_result policy_push_api_applied_ms ms "${api[@]}"
bench_end
