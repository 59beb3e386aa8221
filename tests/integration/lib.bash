# SPDX-License-Identifier: GPL-2.0-only
# Helpers for integration tests: TAP-style results, a private Xvfb display,
# the real agent started with a policy, and waiting for its JSON lines.
# Source it; every test script prints "ok - name" / "not ok - name".

set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUTPUT=${OUTPUT:-build}
case $OUTPUT in /*) ;; *) OUTPUT=$ROOT/$OUTPUT ;; esac
AGENT=$OUTPUT/sphinx-agent
POLICY_TOOL=$OUTPUT/sphinx-policy
TMP=$(mktemp -d /tmp/sphinx-test.XXXXXX)
N_FAILED=0
PIDS_TO_KILL=()

ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; N_FAILED=$((N_FAILED + 1)); }
check() { # check NAME COMMAND...
	local name=$1; shift
	if "$@" >/dev/null; then ok "$name"; else not_ok "$name"; fi
}
# check_sh NAME 'shell condition': for compound conditions (&&, ||, pipes).
check_sh() {
	local name=$1; shift
	if eval "$1"; then ok "$name"; else not_ok "$name"; fi
}
diag() { echo "# $*"; }

# A missing prerequisite is a failure, never a skip.
require() {
	for c in "$@"; do
		if ! command -v "$c" >/dev/null 2>&1; then
			not_ok "prerequisite '$c' is installed (run scripts/install-deps.sh --test)"
			finish
		fi
	done
}

require_root() {
	if [ "$(id -u)" -ne 0 ]; then
		not_ok "running as root (the agent loads BPF programs)"
		finish
	fi
}

cleanup() {
	for p in "${PIDS_TO_KILL[@]}"; do
		kill "$p" 2>/dev/null
	done
	sleep 0.2
	for p in "${PIDS_TO_KILL[@]}"; do
		kill -9 "$p" 2>/dev/null
	done
	rm -rf "$TMP"
}
trap cleanup EXIT

finish() {
	exit $((N_FAILED > 0))
}

now_us() { echo "${EPOCHREALTIME/./}"; }

# Start Xvfb on a free display; sets DISPLAY.
start_xvfb() {
	local n
	for n in $(seq 90 140); do
		[ -e /tmp/.X11-unix/X$n ] || [ -e /tmp/.X$n-lock ] && continue
		Xvfb :$n -screen 0 1280x720x24 -nolisten tcp >"$TMP/xvfb.log" 2>&1 &
		PIDS_TO_KILL+=($!)
		for _ in $(seq 50); do
			[ -S /tmp/.X11-unix/X$n ] && break
			sleep 0.1
		done
		if [ -S /tmp/.X11-unix/X$n ]; then
			export DISPLAY=:$n
			return 0
		fi
	done
	not_ok "Xvfb started"
	finish
}

# start_agent NAME [agent args...]: runs the agent with --stdout; each line
# it prints lands in $TMP/NAME.out prefixed with the arrival time in µs.
start_agent() {
	local name=$1; shift
	AGENT_OUT=$TMP/$name.out
	AGENT_LOG=$TMP/$name.log
	: >"$AGENT_OUT"
	( "$AGENT" --stdout "$@" 2>"$AGENT_LOG" | while IFS= read -r line; do
		printf '%s %s\n' "${EPOCHREALTIME/./}" "$line"
	done >>"$AGENT_OUT" ) &
	AGENT_PIPE_PID=$!
	PIDS_TO_KILL+=($AGENT_PIPE_PID)
	for _ in $(seq 100); do
		grep -q "started:" "$AGENT_LOG" 2>/dev/null && break
		if grep -q "error:" "$AGENT_LOG" 2>/dev/null; then break; fi
		sleep 0.1
	done
	AGENT_PID=$(pgrep -n -f "^$AGENT --stdout" || true)
	[ -n "$AGENT_PID" ] && PIDS_TO_KILL+=($AGENT_PID)
	AGENT_PROG_IDS=$([ -n "$AGENT_PID" ] && prog_ids_of "$AGENT_PID" | tr '\n' ' ')
	grep -q "started:" "$AGENT_LOG"
}

stop_agent() {
	[ -n "${AGENT_PID:-}" ] && kill -TERM "$AGENT_PID" 2>/dev/null
	for _ in $(seq 50); do
		kill -0 "$AGENT_PID" 2>/dev/null || break
		sleep 0.1
	done
	wait "$AGENT_PIPE_PID" 2>/dev/null
	! kill -0 "$AGENT_PID" 2>/dev/null
}

# The ids of the BPF programs process $1 holds (from its fds' fdinfo).
prog_ids_of() {
	grep -h '^prog_id:' /proc/"$1"/fdinfo/* 2>/dev/null | awk '{ print $2 }' | sort -u
}

# None of the programs the agent held at start ($AGENT_PROG_IDS) is still
# in the kernel, within 5 s (the kernel frees detached uprobes after an RCU
# grace period). Fails when there were none to begin with.
programs_gone() {
	[ -n "${AGENT_PROG_IDS:-}" ] || return 1
	for _ in $(seq 50); do
		local left=0
		for id in $AGENT_PROG_IDS; do
			bpftool prog show id "$id" >/dev/null 2>&1 && left=$((left + 1))
		done
		[ $left -eq 0 ] && return 0
		sleep 0.1
	done
	return 1
}

# Lines (JSON only, arrival stripped) matching a jq filter.
events() { sed 's/^[0-9]* //' "$AGENT_OUT" | jq -c "select($1)" 2>/dev/null; }
count_events() { events "$1" | grep -c . ; }

# wait_event FILTER TIMEOUT_S: the first matching line, with arrival time.
wait_event() {
	local filter=$1 timeout=${2:-5} deadline line
	deadline=$(( $(now_us) + timeout * 1000000 ))
	while [ "$(now_us)" -lt "$deadline" ]; do
		while IFS= read -r line; do
			if printf '%s' "${line#* }" | jq -e "select($filter)" >/dev/null 2>&1; then
				echo "$line"
				return 0
			fi
		done <"$AGENT_OUT"
		sleep 0.05
	done
	return 1
}

# write_agent_conf FILE 'key = value'...: an agent configuration, one line
# per argument. A ws:// server_url also needs 'insecure = yes' (the agent
# refuses it otherwise); say so explicitly where a test means it.
write_agent_conf() {
	local f=$1; shift
	printf '%s\n' "# written by ${0##*/}" "$@" >"$f"
}
