#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The one-command demo (scripts/run.sh calls it after installing and
# building): a headless X display, sphinx-server on embedded SQLite under a
# local data directory, sphinx-agent on this machine pointed at it, a demo
# organiser, a demo attendee and a demo meeting. Prints the lobby URL, the
# credentials and the command that triggers an alert. Ctrl-C stops it all.
#
# Environment:
#   SPHINX_DEMO_DIR   data directory (default ./demo-data); reused by the next run
#   SPHINX_DEMO_PORT  server port (default 8080, or the next free one)
#   SPHINX_DEMO_BIND  listen address (default 127.0.0.1; 0.0.0.0 to show the lobby to other machines)
#   SPHINX_DEMO_USER  the local user who will run the recorder, and so the
#                     attendee's username (default: the user who ran sudo, else the current user)
#   OUTPUT            build directory (default build)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
OUTPUT=${OUTPUT:-build}
server_bin=$root/$OUTPUT/sphinx-server
agent_bin=$root/$OUTPUT/sphinx-agent
data=${SPHINX_DEMO_DIR:-$root/demo-data}
bind=${SPHINX_DEMO_BIND:-127.0.0.1}
recorder_user=${SPHINX_DEMO_USER:-${SUDO_USER:-$(id -un)}}
organiser=organiser
organiser_pw=sphinx-organiser
attendee_pw=sphinx-attendee
machine=demo-lab

say() { printf '%s\n' "$*"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root (the agent loads eBPF programs): su -c 'sh scripts/run.sh'"
for b in "$server_bin" "$agent_bin"; do [ -x "$b" ] || die "$b is missing: run make first"; done
for t in Xvfb curl setsid; do command -v "$t" >/dev/null || die "$t is not installed (scripts/install-deps.sh installs it)"; done
case $recorder_user in
	[a-z0-9]*) ;;
	*) die "SPHINX_DEMO_USER '$recorder_user' cannot be an account name (a-z 0-9 . _ -)";;
esac
attendee=$recorder_user

mkdir -p "$data/logs"
chmod 700 "$data"
data=$(cd "$data" && pwd)

# -------------------------------------------------------------- cleanup
# Children run under setsid: Ctrl-C reaches this script only, which stops
# them in order (the agent's goodbye must reach a running server).
pids=()
stopping=0
cleanup() {
	[ "$stopping" -eq 1 ] && return
	stopping=1
	trap - INT TERM EXIT
	say ""
	say "demo: stopping (agent says goodbye first, then the server, then the display)"
	# reverse start order: the agent's goodbye must reach a running server
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		kill -TERM "${pids[i]}" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "${pids[i]}" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "${pids[i]}" 2>/dev/null || true
	done
	wait "${pids[@]}" 2>/dev/null || true
	say "demo: stopped; data kept in $data (delete it for a fresh start)"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------ X display
display=""
for n in $(seq 99 199); do
	if [ ! -e "/tmp/.X11-unix/X$n" ] && [ ! -e "/tmp/.X$n-lock" ]; then display=$n; break; fi
done
[ -n "$display" ] || die "no free X display number between :99 and :199"
# -ac: any local user may record this throwaway display (the recorder runs as $attendee)
setsid Xvfb ":$display" -screen 0 1280x720x24 -nolisten tcp -ac >"$data/logs/xvfb.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -e "/tmp/.X11-unix/X$display" ] && break; sleep 0.1; done
[ -e "/tmp/.X11-unix/X$display" ] || die "Xvfb did not start on :$display (see $data/logs/xvfb.log)"

# --------------------------------------------------------------- server
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port=${SPHINX_DEMO_PORT:-8080}
if [ -z "${SPHINX_DEMO_PORT:-}" ]; then
	while ! port_free "$port"; do port=$((port + 1)); done
elif ! port_free "$port"; then
	die "port $port is in use (unset SPHINX_DEMO_PORT to pick a free one)"
fi
srv() { "$server_bin" --data "$data" "$@"; }

# accounts: created once, passwords reset at every run so the printed ones work
ensure_user() {	# username password display-name
	if ! printf '%s\n' "$2" | srv add-user "$1" --email "$1@sphinx-demo.invalid" --name "$3" >/dev/null 2>"$data/logs/add-user.err"; then
		grep -q "already registered" "$data/logs/add-user.err" || die "add-user $1: $(cat "$data/logs/add-user.err")"
		printf '%s\n' "$2" | srv set-password "$1" || die "set-password $1 failed"
	fi
}
ensure_user "$organiser" "$organiser_pw" "Demo Organiser"
if [ "$attendee" != "$organiser" ]; then ensure_user "$attendee" "$attendee_pw" "Demo Attendee ($attendee)"; fi

# the machine's token is shown once: keep it in the agent's config file
agent_conf=$data/agent.conf
token=""
[ -f "$agent_conf" ] && token=$(sed -n 's/^token = //p' "$agent_conf")
if [ -z "$token" ]; then
	token=$(srv enroll-machine "$machine" 2>"$data/logs/enroll.err") ||
		die "enroll-machine: $(cat "$data/logs/enroll.err") (delete $data to start afresh)"
fi

setsid "$server_bin" --data "$data" --port "$port" --bind "$bind" --web "$root/server/web" \
	>"$data/logs/server.log" 2>&1 &
pids+=($!)
base=http://127.0.0.1:$port
for _ in $(seq 100); do curl -fs "$base/api/health" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fs "$base/api/health" >/dev/null || die "the server did not start (see $data/logs/server.log)"

# ------------------------------------------------ meeting, via the HTTP API
json_str() { sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p"; }
jar_o=$data/.organiser.cookies
jar_a=$data/.attendee.cookies
api() {	# jar csrf method path [json]
	local jar=$1 csrf=$2 method=$3 path=$4 body=${5:-}
	curl -fsS -b "$jar" -c "$jar" -X "$method" -H "Origin: $base" -H 'Content-Type: application/json' \
		${csrf:+-H "X-CSRF-Token: $csrf"} ${body:+--data "$body"} "$base$path"
}
rm -f "$jar_o" "$jar_a"
csrf_o=$(api "$jar_o" "" POST /api/auth/login "{\"username\":\"$organiser\",\"password\":\"$organiser_pw\"}" | json_str csrf) || true
[ -n "$csrf_o" ] || die "organiser login failed (see $data/logs/server.log)"
code=$(api "$jar_o" "$csrf_o" POST /api/meetings '{"title":"Meeting Sphinx demo"}' | json_str code) || true
[ -n "$code" ] || die "creating the demo meeting failed"
if [ "$attendee" != "$organiser" ]; then
	csrf_a=$(api "$jar_a" "" POST /api/auth/login "{\"username\":\"$attendee\",\"password\":\"$attendee_pw\"}" | json_str csrf) || true
	api "$jar_a" "$csrf_a" POST /api/meetings/join "{\"code\":\"$code\"}" >/dev/null || die "the attendee could not join"
fi
rm -f "$jar_o" "$jar_a"

# ---------------------------------------------------------------- agent
umask 077
cat >"$agent_conf" <<EOF
# sphinx-agent configuration written by scripts/demo.sh (key = value, # comments)
server_url = ws://127.0.0.1:$port/agent
# The demo server listens on loopback without TLS: say so explicitly.
insecure = yes
token = $token
policy = $root/policy/default
spool_dir = $data/spool
user_map = username
# Xvfb has no logind session: report the user who will run the recorder as logged in
users = $attendee
machine = $machine
EOF
umask 022
start_agent() {
	setsid "$agent_bin" --config "$agent_conf" --status-file "$data/agent.status" >>"$data/logs/agent.log" 2>&1 &
	agent_pid=$!
	pids+=($agent_pid)
	echo "$agent_pid" >"$data/agent.pid"
}
start_agent
online=""
for _ in $(seq 150); do
	kill -0 "$agent_pid" 2>/dev/null || die "the agent exited (see $data/logs/agent.log)"
	srv list-machines 2>/dev/null | tr -d ' \n' | grep -q "\"name\":\"$machine\",[^}]*\"online\":true" && { online=1; break; }
	sleep 0.2
done
[ -n "$online" ] || say "demo: warning: the agent has not connected yet (see $data/logs/agent.log)"

# ---------------------------------------------------------------- banner
host=localhost
[ "$bind" = 127.0.0.1 ] || host=$(hostname -f 2>/dev/null || hostname)
as_user=""
# In the shell of the user who ran sudo, no prefix; in a root shell, runuser
# (util-linux: a fresh Debian has no sudo).
[ "$attendee" != "${SUDO_USER:-$(id -un)}" ] && as_user="runuser -u $attendee -- "
cat <<EOF

  Meeting Sphinx demo is running.

  Lobby:      http://$host:$port/#/m/$code      (meeting code $code)
  Organiser:  $organiser / $organiser_pw        - sees alerts, the recording log, monitoring notices
  Attendee:   $attendee / $attendee_pw
              (named after the local user '$attendee', because the agent attributes a capture to the
               graphical session's owner and, with no session on this headless display, to the
               recorder's process owner; override with SPHINX_DEMO_USER)
  Server:     $base   data $data   logs $data/logs/
  Display:    :$display (Xvfb)       agent: machine '$machine', $agent_conf

  1. Open the lobby as the organiser; in a private window sign in as the attendee and open it too
     (alerts are about people in the lobby; a recording already running shows the moment they join).
  2. Trigger an alert: record the demo display as $attendee:

       ${as_user}env DISPLAY=:$display ffmpeg -loglevel error -f x11grab -video_size 1280x720 -i :$display -t 10 -y /tmp/sphinx-demo.mp4

     The attendee's card turns red naming ffmpeg within a second; it clears when ffmpeg exits.
     A screenshot: ${as_user}xwd -root -display :$display -out /tmp/sphinx-demo.xwd
  3. Kill the agent (kill -9 \$(cat $data/agent.pid)): the attendee shows as
     unmonitored within 10 s and the organiser gets a chat notice; the demo restarts the agent 15 s later.

  Ctrl-C stops everything.

EOF

# live: what the server hears from the agent (tail ends with this script)
tail --pid=$$ -n0 -F "$data/logs/server.log" 2>/dev/null |
	grep --line-buffered -E "agent: machine .*(began|ended|hello|goodbye|silent)|presence: (user|machine)" &
agent_down=0
while :; do
	for p in "${pids[@]:0:2}"; do	# Xvfb and the server: without them there is no demo
		kill -0 "$p" 2>/dev/null || die "a demo process ($p) exited; logs in $data/logs/"
	done
	if ! kill -0 "$agent_pid" 2>/dev/null; then
		agent_down=$((agent_down + 1))
		[ "$agent_down" -eq 1 ] && say "demo: the agent stopped; restarting it in 15 s (logs: $data/logs/agent.log)"
		if [ "$agent_down" -ge 15 ]; then
			start_agent
			agent_down=0
		fi
	fi
	sleep 1
done
