# SPDX-License-Identifier: GPL-2.0-only
# Helpers for integration tests: TAP-style results, a private Xvfb display,
# the real agent started with a policy, and waiting for its JSON lines.
# Source it; a test script reports with check/ok/not_ok ("ok N - name" /
# "not ok N - name") and ends with finish, which prints the plan "1..N":
# a script that stops before finish has no plan, and tests/run counts that
# as a failure.

set -u
shopt -s extglob
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUTPUT=${OUTPUT:-build}
case $OUTPUT in /*) ;; *) OUTPUT=$ROOT/$OUTPUT ;; esac
AGENT=$OUTPUT/sphinx-agent
POLICY_TOOL=$OUTPUT/sphinx-policy
TMP=$(mktemp -d /tmp/sphinx-test.XXXXXX)
N_FAILED=0
N_TESTS=0
PIDS_TO_KILL=()

ok() { N_TESTS=$((N_TESTS + 1)); echo "ok $N_TESTS - $*"; }
not_ok() { N_TESTS=$((N_TESTS + 1)); echo "not ok $N_TESTS - $*"; N_FAILED=$((N_FAILED + 1)); }
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

# require_browser: Debian's chromium at $CHROMIUM (default /usr/bin/chromium)
# and tests/browser's node modules (npm ci when they are missing or older
# than the lock file). A missing piece is a failure that ends the file.
require_browser() {
	CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
	local here=$ROOT/tests/browser
	require node npm
	if [ ! -x "$CHROMIUM" ]; then
		not_ok "chromium is installed at $CHROMIUM (Debian package chromium)"
		finish
	fi
	if [ ! -f "$here/node_modules/playwright-core/package.json" ] ||
	   [ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]; then
		if ! (cd "$here" && npm ci --no-audit --no-fund --loglevel=error >&2); then
			not_ok "npm ci in tests/browser"
			finish
		fi
	fi
}

require_root() {
	if [ "$(id -u)" -ne 0 ]; then
		not_ok "running as root (the agent loads BPF programs)"
		finish
	fi
}

# ours PID: a child of this shell (what the test started; a pid that was
# reaped and reused by somebody else is not).
ours() {
	[ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f2)" = "$$" ]
}

cleanup() {
	local rc=$? p
	[ -n "${FINISHED:-}" ] || echo "# ${0##*/} stopped before finish (exit status $rc): no plan"
	for p in "${PIDS_TO_KILL[@]}"; do
		ours "$p" && kill "$p" 2>/dev/null
	done
	sleep 0.2
	for p in "${PIDS_TO_KILL[@]}"; do
		ours "$p" && alive "$p" && kill -9 "$p" 2>/dev/null
	done
	rm -rf "$TMP"
}
trap cleanup EXIT

finish() {
	FINISHED=1
	echo "1..$N_TESTS"
	exit $((N_FAILED > 0))
}

# run_tap NAME COMMAND...: runs another TAP producer (a Node test file) and
# folds its results into this script's: its "ok"/"not ok" lines are
# renumbered here, its plan is checked (each test it planned and never
# reported is a failure here, named) and so is its exit status.
run_tap() {
	local name=$1 line desc plan='' seen=0 failed_before=$N_FAILED rc=''
	shift
	while IFS= read -r line; do
		case $line in
		"not ok"*)
			desc=${line#not ok}; desc=${desc# }; desc=${desc##+([0-9])}; desc=${desc# - }
			seen=$((seen + 1)); not_ok "$desc" ;;
		"ok "*|ok)
			desc=${line#ok}; desc=${desc# }; desc=${desc##+([0-9])}; desc=${desc# - }
			seen=$((seen + 1)); ok "$desc" ;;
		1..*) plan=${line#1..}; plan=${plan%%[!0-9]*} ;;
		"#run_tap-exit "*) rc=${line#\#run_tap-exit } ;;
		'') ;;
		*) printf '%s\n' "$line" ;;
		esac
	done < <("$@" 2>&1; printf '\n#run_tap-exit %d\n' $?)
	if [ -z "$plan" ]; then
		not_ok "$name: printed no plan (it stopped before its end)"
	elif [ "$seen" -lt "$plan" ]; then
		not_ok "$name: tests $((seen + 1))..$plan of its plan never ran"
	elif [ "$seen" -gt "$plan" ]; then
		not_ok "$name: $seen results for a plan of $plan"
	fi
	if [ "${rc:-1}" -ne 0 ] && [ "$N_FAILED" -eq "$failed_before" ]; then
		not_ok "$name: exited ${rc:-?} without a failing test"
	fi
}

now_us() { echo "${EPOCHREALTIME/./}"; }

# Start Xvfb on a free display; sets DISPLAY and XVFB_PID (this test's X
# server: other sessions may run theirs on the same machine).
start_xvfb() {
	local n
	for n in $(seq 90 140); do
		[ -e /tmp/.X11-unix/X$n ] || [ -e /tmp/.X$n-lock ] && continue
		Xvfb :$n -screen 0 1280x720x24 -nolisten tcp >"$TMP/xvfb.log" 2>&1 &
		XVFB_PID=$!
		PIDS_TO_KILL+=($XVFB_PID)
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

# start_agent NAME [agent args...]: runs the agent with --stdout as a child
# of this shell ($AGENT_PID is its own pid, so stop_agent gets its exit
# status); each line it prints lands in $TMP/NAME.out prefixed with the
# arrival time in µs, its log in $TMP/NAME.log.
start_agent() {
	local name=$1; shift
	AGENT_OUT=$TMP/$name.out
	AGENT_LOG=$TMP/$name.log
	: >"$AGENT_OUT"
	rm -f "$TMP/$name.fifo"
	mkfifo "$TMP/$name.fifo"
	"$AGENT" --stdout "$@" >"$TMP/$name.fifo" 2>"$AGENT_LOG" &
	AGENT_PID=$!
	PIDS_TO_KILL+=($AGENT_PID)
	while IFS= read -r line; do
		printf '%s %s\n' "${EPOCHREALTIME/./}" "$line"
	done <"$TMP/$name.fifo" >>"$AGENT_OUT" &
	AGENT_PIPE_PID=$!
	PIDS_TO_KILL+=($AGENT_PIPE_PID)
	for _ in $(seq 100); do
		grep -q "started:" "$AGENT_LOG" 2>/dev/null && break
		grep -q "error:" "$AGENT_LOG" 2>/dev/null && break
		alive "$AGENT_PID" || break
		sleep 0.1
	done
	AGENT_PROG_IDS=$(prog_ids_of "$AGENT_PID" | tr '\n' ' ')
	grep -q "started:" "$AGENT_LOG"
}

# alive PID: the process runs (a child that exited but was not waited for
# is a zombie, which kill -0 still finds: not alive).
alive() {
	local st
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	[ -n "$st" ] && [ "$st" != Z ]
}

# log_clean FILE [ALLOWED]: FILE has no sanitizer report (ASan, LSan, UBSan)
# and no error line ("PROGRAM: error: ...", the level log.c prints) but
# those matching the extended regex ALLOWED (what the test provoked). Prints what it found as diagnostics.
log_clean() {
	local bad
	bad=$(grep -E 'ERROR: (Address|Leak|Thread|Memory)Sanitizer|runtime error:|SUMMARY: [A-Za-z]+Sanitizer' "$1" 2>/dev/null)
	if [ -z "$bad" ]; then
		bad=$(grep -E '^[^ :]+: error: ' "$1" 2>/dev/null | { [ -n "${2:-}" ] && grep -vE "$2" || cat; })
	fi
	[ -z "$bad" ] && return 0
	diag "${1##*/}: $(head -n 20 <<<"$bad" | tr '\n' '|')" >&2
	return 1
}

# stop_pid PID LOG [ALLOWED]: SIGTERM to a daemon this shell started, which
# must exit 0 within 20 s (a sanitizer build checks for leaks at exit) with
# a clean LOG (log_clean; ALLOWED names the error lines the test provoked).
# A crash, a non-zero exit, a hang or an unexpected error line fails it.
stop_pid() {
	local pid=$1 log=$2 rc
	kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 200); do
		alive "$pid" || break
		sleep 0.1
	done
	if alive "$pid"; then
		diag "pid $pid still runs 20 s after SIGTERM" >&2
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid"
	rc=$?
	[ "$rc" -eq 0 ] || diag "${log##*/}: exited with status $rc$([ "$rc" -gt 128 ] && echo " (signal $((rc - 128)))")" >&2
	log_clean "$log" "${3:-}" && [ "$rc" -eq 0 ]
}

# stop_agent [ALLOWED]: stop_pid for the agent of start_agent.
stop_agent() {
	local r=0
	if [ -z "${AGENT_PID:-}" ]; then
		diag "stop_agent: no agent was started" >&2
		return 1
	fi
	stop_pid "$AGENT_PID" "$AGENT_LOG" "${1:-}" || r=1
	wait "$AGENT_PIPE_PID" 2>/dev/null
	AGENT_PID=
	return $r
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

# wait_for PATTERN FILE SECONDS: a line of FILE matches the extended regex
# within SECONDS.
wait_for() {
	for _ in $(seq $(($3 * 10))); do grep -qE -- "$1" "$2" 2>/dev/null && return 0; sleep 0.1; done
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

# agent_marker COMMAND...: runs COMMAND (a capture the policy in force
# catches) to its end and waits up to 5 s for its begin and end lines: a
# marker in the agent's output. Whatever an earlier action made the agent
# print came before it, so an absence check made after it does not pass
# because a line was merely late. Sets MARKER_PID; fails if it is not seen.
agent_marker() {
	"$@" >/dev/null 2>&1 &
	MARKER_PID=$!
	wait $MARKER_PID
	wait_event ".type==\"capture.begin\" and .pid==$MARKER_PID" 5 >/dev/null &&
		wait_event ".type==\"capture.end\" and .pid==$MARKER_PID" 5 >/dev/null
}

# new_events MARK: the JSON lines after line MARK of $AGENT_OUT, the
# marker's (MARKER_PID) left out.
new_events() {
	tail -n +$(($1 + 1)) "$AGENT_OUT" | sed 's/^[0-9]* //' | jq -c "select(.pid != ${MARKER_PID:-0})"
}

# write_agent_conf FILE 'key = value'...: an agent configuration, one line
# per argument. A ws:// server_url also needs 'insecure = yes' (the agent
# refuses it otherwise); say so explicitly where a test means it.
write_agent_conf() {
	local f=$1; shift
	printf '%s\n' "# written by ${0##*/}" "$@" >"$f"
}
